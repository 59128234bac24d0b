#include "mb_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dynbuf.h"
#include "mb_json.h"

#define URL_MAX 4096
#define QUERY_MAX 2048
#define PER_PAGE 100
#define MAX_PAGES 10 /* 1000 entries: more than any administration's reference data */
#define MAX_LIST_ITEMS 10000

struct response {
	struct dynbuf body; /* capped at options->max_response_bytes */
	bool too_large;
};

struct headers_seen {
	char retry_after[48];
	char ratelimit_reset[48];
	bool link_next;
};

struct mb_client {
	CURL *curl;
	char *base_url; /* without a trailing slash */
	char *administration_id;
	struct curl_slist *headers_get;
	struct curl_slist *headers_body;
	long connect_timeout_ms;
	long timeout_ms;
	long stall_seconds;
	struct response response;
	struct headers_seen seen;
	struct mb_client_hooks hooks;
	struct mb_call last;
	char curl_error[CURL_ERROR_SIZE];
};

/* One HTTP exchange as the operations describe it. */
struct request {
	const char *endpoint; /* static template for metrics and messages */
	const char *resource; /* prefix of error sentences: "contact", ... */
	const char *method;
	const char *path;  /* after the administration id, without ".json" */
	bool global;       /* path directly under base_url (administrations) */
	const char *query; /* already escaped, or NULL */
	const char *body;  /* JSON, or NULL */
	bool is_write;     /* may change state: decides unknown vs transient */
};

enum mb_outcome mb_classify(long http_status, bool transport_failed, bool request_sent,
                            bool is_write)
{
	if (transport_failed || http_status == 0) {
		/* Nothing reached Moneybird: safe to repeat. After the request
		 * went out, a write may have been applied. */
		if (!request_sent)
			return MB_TRANSIENT;
		return is_write ? MB_UNKNOWN_OUTCOME : MB_TRANSIENT;
	}
	if (http_status >= 200 && http_status < 300)
		return MB_OK;
	if (http_status == 404)
		return MB_NOT_FOUND;
	if (http_status == 400 || http_status == 422)
		return MB_VALIDATION;
	if (http_status == 429)
		return MB_RATE_LIMITED;
	if (http_status == 408)
		return MB_TRANSIENT; /* the server says it never got the whole request */
	if (http_status >= 500)
		return is_write ? MB_UNKNOWN_OUTCOME : MB_TRANSIENT;
	return MB_PERMANENT;
}

const struct mb_call *mb_client_last_call(const struct mb_client *client)
{
	return &client->last;
}

/* ---- creation ---- */

int mb_client_global_init(struct cn_error *err)
{
	CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (code != CURLE_OK) {
		error_set(err, "cannot initialise libcurl: %s", curl_easy_strerror(code));
		return CN_ERR;
	}
	return 0;
}

void mb_client_global_cleanup(void)
{
	curl_global_cleanup();
}

static char *dup_text(const char *text)
{
	size_t length = strlen(text);
	char *copy = malloc(length + 1);

	if (copy != NULL)
		memcpy(copy, text, length + 1);
	return copy;
}

static void wipe_headers(struct curl_slist *list)
{
	for (; list != NULL; list = list->next)
		explicit_bzero(list->data, strlen(list->data));
}

static int build_headers(struct mb_client *client, const char *token, struct cn_error *err)
{
	char auth[1024];
	struct curl_slist *get = NULL;
	struct curl_slist *body = NULL;
	struct curl_slist *next;
	const char *common[] = {auth, "Accept: application/json",
	                        "Expect:", "User-Agent: bookto-moneybird/" BM_VERSION};
	size_t i;
	int written;
	int rc = CN_ERR;

	written = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	if (written < 0 || (size_t)written >= sizeof(auth)) {
		error_set(err, "the Moneybird API token is too long");
		rc = CN_INVALID;
		goto out;
	}
	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		next = curl_slist_append(get, common[i]);
		if (next == NULL)
			goto oom;
		get = next;
		next = curl_slist_append(body, common[i]);
		if (next == NULL)
			goto oom;
		body = next;
	}
	next = curl_slist_append(body, "Content-Type: application/json");
	if (next == NULL)
		goto oom;
	body = next;
	client->headers_get = get;
	client->headers_body = body;
	get = NULL;
	body = NULL;
	rc = 0;
	goto out;
oom:
	error_set(err, "out of memory creating the Moneybird client");
out:
	explicit_bzero(auth, sizeof(auth));
	wipe_headers(get);
	wipe_headers(body);
	curl_slist_free_all(get);
	curl_slist_free_all(body);
	return rc;
}

int mb_client_create(const struct mb_client_options *options, struct mb_client **out,
                     struct cn_error *err)
{
	struct mb_client *client = NULL;
	size_t length;
	int rc = CN_INVALID;

	*out = NULL;
	if (options->base_url == NULL || (strncmp(options->base_url, "https://", 8) != 0 &&
	                                  strncmp(options->base_url, "http://", 7) != 0)) {
		error_set(err, "the Moneybird base_url must start with https:// (or http:// for a "
		               "local test)");
		goto out;
	}
	if (!mb_id_valid(options->administration_id)) {
		error_set(err, "the Moneybird administration_id must be digits");
		goto out;
	}
	if (options->api_token == NULL || options->api_token[0] == '\0' ||
	    strpbrk(options->api_token, "\r\n") != NULL) {
		error_set(err, "the Moneybird API token is empty or contains a line break");
		goto out;
	}
	rc = CN_ERR;
	client = calloc(1, sizeof(*client));
	if (client == NULL) {
		error_set(err, "out of memory creating the Moneybird client");
		goto out;
	}
	client->curl = curl_easy_init();
	client->base_url = dup_text(options->base_url);
	client->administration_id = dup_text(options->administration_id);
	if (client->curl == NULL || client->base_url == NULL || client->administration_id == NULL) {
		error_set(err, "could not create the Moneybird client (libcurl or memory)");
		goto out;
	}
	length = strlen(client->base_url);
	while (length > 0 && client->base_url[length - 1] == '/')
		client->base_url[--length] = '\0';
	if (build_headers(client, options->api_token, err) != 0)
		goto out;
	client->connect_timeout_ms =
	    options->connect_timeout_ms > 0 ? options->connect_timeout_ms : 5000;
	client->timeout_ms = options->timeout_ms > 0 ? options->timeout_ms : 30000;
	client->stall_seconds = options->stall_seconds > 0 ? options->stall_seconds : 15;
	dynbuf_init(&client->response.body, options->max_response_bytes > 0
	                                        ? options->max_response_bytes
	                                        : MB_MAX_RESPONSE_BYTES_DEFAULT);
	client->hooks = options->hooks;
	*out = client;
	client = NULL;
	rc = 0;
out:
	mb_client_free(client);
	return rc;
}

void mb_client_free(struct mb_client *client)
{
	if (client == NULL)
		return;
	if (client->curl != NULL)
		curl_easy_cleanup(client->curl);
	wipe_headers(client->headers_get);
	wipe_headers(client->headers_body);
	curl_slist_free_all(client->headers_get);
	curl_slist_free_all(client->headers_body);
	free(client->base_url);
	free(client->administration_id);
	dynbuf_free(&client->response.body);
	free(client);
}

/* ---- the HTTP exchange ---- */

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
	struct response *response = userdata;
	size_t bytes = size * count;
	int status = dynbuf_add(&response->body, data, bytes);

	if (status == CN_INVALID)
		response->too_large = true;
	/* 0 makes libcurl stop with CURLE_WRITE_ERROR */
	return status == CN_OK ? bytes : 0;
}

/* Copies a header's value (trimmed) when its name matches. */
static bool header_value(const char *line, size_t length, const char *name, char *out, size_t size)
{
	size_t name_length = strlen(name);
	size_t start;
	size_t end;
	size_t copy;

	if (length <= name_length || line[name_length] != ':' ||
	    strncasecmp(line, name, name_length) != 0)
		return false;
	start = name_length + 1;
	while (start < length && (line[start] == ' ' || line[start] == '\t'))
		start++;
	end = length;
	while (end > start &&
	       (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
		end--;
	copy = end - start < size - 1 ? end - start : size - 1;
	memcpy(out, line + start, copy);
	out[copy] = '\0';
	return true;
}

static size_t on_header(char *data, size_t size, size_t count, void *userdata)
{
	struct headers_seen *seen = userdata;
	size_t bytes = size * count;
	char link[1024];

	if (header_value(data, bytes, "Retry-After", seen->retry_after, sizeof(seen->retry_after)))
		return bytes;
	if (header_value(data, bytes, "RateLimit-Reset", seen->ratelimit_reset,
	                 sizeof(seen->ratelimit_reset)))
		return bytes;
	if (header_value(data, bytes, "Link", link, sizeof(link))) {
		if (strcasestr(link, "rel=\"next\"") != NULL ||
		    strcasestr(link, "rel=next") != NULL)
			seen->link_next = true;
	}
	return bytes;
}

/* Whether any part of the request may have reached the server. */
static bool request_was_sent(CURL *curl, CURLcode code)
{
	long request_size = 0;

	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return false;
	default:
		break;
	}
	if (curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size) != CURLE_OK)
		return true; /* cannot tell: assume the worst */
	return request_size > 0;
}

static void set_retry_at(struct mb_client *client)
{
	int64_t now = (int64_t)time(NULL);
	int64_t epoch = 0;

	if (client->seen.ratelimit_reset[0] != '\0' &&
	    mb_parse_reset_epoch(client->seen.ratelimit_reset, now, &epoch) == 0) {
		client->last.retry_at = epoch;
		return;
	}
	if (client->seen.retry_after[0] != '\0' &&
	    mb_parse_reset_epoch(client->seen.retry_after, now, &epoch) == 0)
		client->last.retry_at = epoch;
}

static void describe_failure(struct mb_client *client, const struct request *req, CURLcode code,
                             struct cn_error *err)
{
	const struct mb_call *call = &client->last;
	char sentence[400];
	const char *reason;

	if (client->response.too_large) {
		error_set(err, "Moneybird's answer to %s exceeds %zu bytes%s", req->endpoint,
		          client->response.body.max,
		          call->outcome == MB_UNKNOWN_OUTCOME
		              ? "; the change may have been applied, look it up before repeating"
		              : "");
		return;
	}
	if (call->http_status == 0 || code != CURLE_OK) {
		reason =
		    client->curl_error[0] != '\0' ? client->curl_error : curl_easy_strerror(code);
		if (call->outcome == MB_UNKNOWN_OUTCOME)
			error_set(err,
			          "%s may have been applied: the connection failed after the "
			          "request was sent (%s); look it up before repeating",
			          req->endpoint, reason);
		else
			error_set(err, "could not reach Moneybird for %s: %s", req->endpoint,
			          reason);
		return;
	}
	mb_error_sentence(req->resource, call->http_status, client->response.body.data,
	                  client->response.body.len, sentence, sizeof(sentence));
	switch (call->outcome) {
	case MB_VALIDATION:
	case MB_NOT_FOUND:
		error_set(err, "%s", sentence);
		break;
	case MB_PERMANENT:
		error_set(err, "Moneybird refused %s with HTTP %ld%s: %s", req->endpoint,
		          call->http_status,
		          call->http_status == 401   ? " (check the API token and its scopes)"
		          : call->http_status == 402 ? " (the Moneybird plan's limit is reached)"
		          : call->http_status == 403 ? " (no permission)"
		                                     : "",
		          sentence);
		break;
	case MB_RATE_LIMITED:
		error_set(err, "Moneybird's rate limit was hit on %s; retry after epoch %lld",
		          req->endpoint, (long long)call->retry_at);
		break;
	case MB_UNKNOWN_OUTCOME:
		error_set(err,
		          "%s may have been applied: Moneybird answered HTTP %ld (%s); look it up "
		          "before repeating",
		          req->endpoint, call->http_status, sentence);
		break;
	default:
		error_set(err, "Moneybird answered %s with HTTP %ld: %s", req->endpoint,
		          call->http_status, sentence);
		break;
	}
}

static bool setopts(struct mb_client *client, const struct request *req, const char *url)
{
	CURL *curl = client->curl;
	bool ok = true;

	curl_easy_reset(curl); /* keeps live connections and caches */
	ok = ok && curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, client->connect_timeout_ms) ==
	               CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, client->timeout_ms) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK;
	ok =
	    ok && curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, client->stall_seconds) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
	/* On a reused connection that dies before any answer byte, libcurl
	 * silently sends the request again on a new one. For a write that
	 * may already have been applied, that is a duplicate invoice: writes
	 * get a connection of their own, so a drop surfaces as unknown. */
	if (req->is_write)
		ok = ok && curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, client->curl_error) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_WRITEDATA, &client->response) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_HEADERDATA, &client->seen) == CURLE_OK;
	ok = ok && curl_easy_setopt(curl, CURLOPT_HTTPHEADER,
	                            req->body != NULL ? client->headers_body
	                                              : client->headers_get) == CURLE_OK;
	if (strcmp(req->method, "GET") == 0) {
		ok = ok && curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	} else {
		if (strcmp(req->method, "POST") != 0)
			ok = ok &&
			     curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method) == CURLE_OK;
		if (req->body != NULL) {
			ok =
			    ok && curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body) == CURLE_OK;
			ok = ok && curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
			                            (curl_off_t)strlen(req->body)) == CURLE_OK;
		} else if (strcmp(req->method, "POST") == 0) {
			ok = ok && curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "") == CURLE_OK;
		}
	}
	return ok;
}

/* Runs one request; on MB_OK with json_out, *json_out is the parsed body
 * (the caller deletes it). */
static enum mb_outcome perform(struct mb_client *client, const struct request *req,
                               cJSON **json_out, struct cn_error *err)
{
	char url[URL_MAX];
	CURLcode code;
	int written;
	int gate;
	double seconds = 0;

	if (json_out != NULL)
		*json_out = NULL;
	memset(&client->last, 0, sizeof(client->last));
	memset(&client->seen, 0, sizeof(client->seen));
	client->last.endpoint = req->endpoint;
	dynbuf_reset(&client->response.body);
	client->response.too_large = false;
	client->curl_error[0] = '\0';

	if (req->global)
		written =
		    snprintf(url, sizeof(url), "%s/%s.json%s%s", client->base_url, req->path,
		             req->query != NULL ? "?" : "", req->query != NULL ? req->query : "");
	else
		written =
		    snprintf(url, sizeof(url), "%s/%s/%s.json%s%s", client->base_url,
		             client->administration_id, req->path, req->query != NULL ? "?" : "",
		             req->query != NULL ? req->query : "");
	if (written < 0 || (size_t)written >= sizeof(url)) {
		client->last.outcome = MB_VALIDATION;
		error_set(err, "the URL for %s would be longer than %d bytes", req->endpoint,
		          URL_MAX);
		return MB_VALIDATION;
	}

	if (client->hooks.before_call != NULL) {
		int64_t retry_at = 0;

		gate = client->hooks.before_call(client->hooks.ctx, req->endpoint, &retry_at, err);
		if (gate != 0) {
			client->last.budget_refused = true;
			client->last.retry_at = retry_at;
			client->last.outcome =
			    gate == CN_RETRYABLE ? MB_RATE_LIMITED : MB_TRANSIENT;
			goto done;
		}
	}

	if (!setopts(client, req, url)) {
		client->last.outcome = MB_TRANSIENT;
		error_set(err, "could not set up the request for %s", req->endpoint);
		goto done;
	}
	code = curl_easy_perform(client->curl);
	curl_easy_getinfo(client->curl, CURLINFO_RESPONSE_CODE, &client->last.http_status);
	curl_easy_getinfo(client->curl, CURLINFO_TOTAL_TIME, &seconds);
	client->last.seconds = seconds;
	client->last.request_sent = request_was_sent(client->curl, code);
	if (client->response.too_large) {
		client->last.outcome = req->is_write ? MB_UNKNOWN_OUTCOME : MB_PERMANENT;
		describe_failure(client, req, code, err);
		goto done;
	}
	client->last.outcome = mb_classify(client->last.http_status, code != CURLE_OK,
	                                   client->last.request_sent, req->is_write);
	if (client->last.outcome == MB_RATE_LIMITED)
		set_retry_at(client);
	if (client->last.outcome != MB_OK) {
		describe_failure(client, req, code, err);
		goto done;
	}
	if (json_out != NULL) {
		*json_out = cJSON_ParseWithLength(dynbuf_ptr(&client->response.body),
		                                  dynbuf_len(&client->response.body));
		if (*json_out == NULL) {
			client->last.outcome = req->is_write ? MB_UNKNOWN_OUTCOME : MB_TRANSIENT;
			error_set(
			    err, "Moneybird's answer to %s is not valid JSON%s", req->endpoint,
			    req->is_write
			        ? "; the change may have been applied, look it up before repeating"
			        : "");
		}
	}
done:
	if (client->hooks.after_call != NULL)
		client->hooks.after_call(client->hooks.ctx, &client->last);
	return client->last.outcome;
}

/* A parsed 2xx answer that does not have the documented shape. */
static enum mb_outcome bad_shape(struct mb_client *client, const struct request *req,
                                 struct cn_error *err)
{
	enum mb_outcome outcome = req->is_write ? MB_UNKNOWN_OUTCOME : MB_TRANSIENT;

	client->last.outcome = outcome;
	error_prefix(err, "Moneybird's answer to %s%s", req->endpoint,
	             req->is_write ? " (the change may have been applied)" : "");
	return outcome;
}

static enum mb_outcome refuse_locally(struct mb_client *client, const char *endpoint,
                                      struct cn_error *err, const char *message)
{
	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = endpoint;
	client->last.outcome = MB_VALIDATION;
	error_set(err, "%s", message);
	return MB_VALIDATION;
}

/* ---- lists ---- */

typedef int (*item_parser)(const cJSON *obj, void *out, struct cn_error *err);

#define PARSER_ADAPTER(name, type, fn)                                                             \
	static int name(const cJSON *obj, void *out, struct cn_error *err)                         \
	{                                                                                          \
		return fn(obj, (type *)out, err);                                                  \
	}

PARSER_ADAPTER(parse_administration, struct mb_administration, mb_json_administration)
PARSER_ADAPTER(parse_sales_invoice, struct mb_sales_invoice, mb_json_sales_invoice)
PARSER_ADAPTER(parse_tax_rate, struct mb_tax_rate, mb_json_tax_rate)
PARSER_ADAPTER(parse_ledger_account, struct mb_ledger_account, mb_json_ledger_account)
PARSER_ADAPTER(parse_financial_account, struct mb_financial_account, mb_json_financial_account)
PARSER_ADAPTER(parse_workflow, struct mb_workflow, mb_json_workflow)
PARSER_ADAPTER(parse_document_style, struct mb_document_style, mb_json_document_style)
PARSER_ADAPTER(parse_webhook, struct mb_webhook, mb_json_webhook)
PARSER_ADAPTER(parse_sync_entry, struct mb_sync_entry, mb_json_sync_entry)

struct list {
	char *items;
	size_t count;
	size_t capacity;
	size_t item_size;
};

/* Appends every element of array; CN_INVALID on a malformed element. */
static int list_append(struct list *list, const cJSON *array, item_parser parse,
                       struct cn_error *err)
{
	const cJSON *element;

	cJSON_ArrayForEach(element, array)
	{
		if (list->count >= MAX_LIST_ITEMS) {
			error_set(err, "more than %d entries", MAX_LIST_ITEMS);
			return CN_INVALID;
		}
		if (list->count == list->capacity) {
			size_t capacity = list->capacity > 0 ? list->capacity * 2 : 16;
			char *grown = realloc(list->items, capacity * list->item_size);

			if (grown == NULL) {
				error_set(err, "out of memory");
				return CN_ERR;
			}
			list->items = grown;
			list->capacity = capacity;
		}
		if (parse(element, list->items + list->count * list->item_size, err) != 0)
			return CN_INVALID;
		list->count++;
	}
	return 0;
}

/* GETs every page of a list (or the one answer when paginate is false). */
static enum mb_outcome fetch_list(struct mb_client *client, struct request *req,
                                  const char *base_query, bool paginate, item_parser parse,
                                  size_t item_size, void **out, size_t *count, struct cn_error *err)
{
	struct list list = {NULL, 0, 0, item_size};
	enum mb_outcome outcome = MB_OK;
	char query[QUERY_MAX];
	cJSON *root = NULL;
	int page;

	*out = NULL;
	*count = 0;
	for (page = 1; page <= MAX_PAGES; page++) {
		int written = 0;

		if (paginate)
			written = snprintf(query, sizeof(query), "%s%spage=%d&per_page=%d",
			                   base_query != NULL ? base_query : "",
			                   base_query != NULL ? "&" : "", page, PER_PAGE);
		else if (base_query != NULL)
			written = snprintf(query, sizeof(query), "%s", base_query);
		if (written < 0 || (size_t)written >= sizeof(query)) {
			outcome = refuse_locally(client, req->endpoint, err,
			                         "the list filter is too long");
			goto out;
		}
		req->query = (paginate || base_query != NULL) ? query : NULL;
		outcome = perform(client, req, &root, err);
		if (outcome != MB_OK)
			goto out;
		if (!cJSON_IsArray(root)) {
			error_set(err, "not a list");
			outcome = bad_shape(client, req, err);
			goto out;
		}
		if (list_append(&list, root, parse, err) != 0) {
			outcome = bad_shape(client, req, err);
			goto out;
		}
		cJSON_Delete(root);
		root = NULL;
		if (!paginate || !client->seen.link_next)
			break;
	}
	*out = list.items;
	*count = list.count;
	list.items = NULL;
out:
	cJSON_Delete(root);
	free(list.items);
	return outcome;
}

/* Escapes text for a URL path segment or query value; NULL on failure. */
static char *escape(struct mb_client *client, const char *text)
{
	return curl_easy_escape(client->curl, text, 0);
}

/* ---- operations ---- */

enum mb_outcome mb_administrations_list(struct mb_client *client, struct mb_administration **out,
                                        size_t *count, struct cn_error *err)
{
	struct request req = {"GET administrations",
	                      "administration",
	                      "GET",
	                      "administrations",
	                      true,
	                      NULL,
	                      NULL,
	                      false};

	return fetch_list(client, &req, NULL, false, parse_administration, sizeof(**out),
	                  (void **)out, count, err);
}

/* GETs one object at path and parses it with parse. */
static enum mb_outcome fetch_one(struct mb_client *client, struct request *req, item_parser parse,
                                 void *out, struct cn_error *err)
{
	cJSON *root = NULL;
	enum mb_outcome outcome = perform(client, req, &root, err);

	if (outcome == MB_OK && parse(root, out, err) != 0)
		outcome = bad_shape(client, req, err);
	cJSON_Delete(root);
	return outcome;
}

PARSER_ADAPTER(parse_contact, struct mb_contact, mb_json_contact)
PARSER_ADAPTER(parse_payment, struct mb_payment, mb_json_payment)

enum mb_outcome mb_contact_get_by_customer_id(struct mb_client *client, const char *customer_id,
                                              struct mb_contact *out, struct cn_error *err)
{
	static const char endpoint[] = "GET contacts/customer_id/{customer_id}";
	struct request req = {endpoint, "contact", "GET", NULL, false, NULL, NULL, false};
	char path[128];

	if (!mb_id_valid(customer_id))
		return refuse_locally(client, endpoint, err,
		                      "contact: customer_id for a lookup must be 1 to 20 digits");
	snprintf(path, sizeof(path), "contacts/customer_id/%s", customer_id);
	req.path = path;
	return fetch_one(client, &req, parse_contact, out, err);
}

enum mb_outcome mb_contact_get(struct mb_client *client, const char *id, struct mb_contact *out,
                               struct cn_error *err)
{
	static const char endpoint[] = "GET contacts/{id}";
	struct request req = {endpoint, "contact", "GET", NULL, false, "include_archived=true",
	                      NULL,     false};
	char path[128];

	if (!mb_id_valid(id))
		return refuse_locally(client, endpoint, err,
		                      "contact: the id is not a Moneybird id");
	snprintf(path, sizeof(path), "contacts/%s", id);
	req.path = path;
	return fetch_one(client, &req, parse_contact, out, err);
}

enum mb_outcome mb_contact_search(struct mb_client *client, const char *query,
                                  enum mb_contact_field which, bool include_archived,
                                  struct mb_contact *out, size_t *matches, struct cn_error *err)
{
	static const char endpoint[] = "GET contacts?query";
	struct request req = {endpoint, "contact", "GET", "contacts", false, NULL, NULL, false};
	enum mb_outcome outcome = MB_NOT_FOUND;
	char *escaped = NULL;
	char query_string[QUERY_MAX];
	cJSON *root = NULL;
	size_t found = 0;
	int page;

	if (matches != NULL)
		*matches = 0;
	if (query == NULL || query[0] == '\0' || strlen(query) > 512)
		return refuse_locally(client, endpoint, err,
		                      "contact: the search text is empty or too long");
	escaped = escape(client, query);
	if (escaped == NULL) {
		outcome = refuse_locally(client, endpoint, err,
		                         "contact: could not encode the search text");
		goto out;
	}
	/* Three pages: an exact key rarely hides behind 300 fuzzier hits. */
	for (page = 1; page <= 3; page++) {
		const cJSON *contact;

		snprintf(query_string, sizeof(query_string), "query=%s%s&page=%d&per_page=%d",
		         escaped, include_archived ? "&include_archived=true" : "", page, PER_PAGE);
		req.query = query_string;
		outcome = perform(client, &req, &root, err);
		if (outcome != MB_OK)
			goto out;
		if (!cJSON_IsArray(root)) {
			error_set(err, "not a list");
			outcome = bad_shape(client, &req, err);
			goto out;
		}
		cJSON_ArrayForEach(contact, root)
		{
			if (!mb_json_contact_matches(contact, which, query))
				continue;
			if (found == 0 && mb_json_contact(contact, out, err) != 0) {
				outcome = bad_shape(client, &req, err);
				goto out;
			}
			found++;
		}
		cJSON_Delete(root);
		root = NULL;
		if (!client->seen.link_next)
			break;
	}
	outcome = found > 0 ? MB_OK : MB_NOT_FOUND;
	if (found == 0)
		error_set(err, "contact: no contact matches %s exactly", query);
	if (matches != NULL)
		*matches = found;
out:
	cJSON_Delete(root);
	curl_free(escaped);
	return outcome;
}

/* POST/PATCH with a JSON body, answer parsed with parse. */
static enum mb_outcome write_one(struct mb_client *client, struct request *req, char *body,
                                 item_parser parse, void *out, struct cn_error *err)
{
	enum mb_outcome outcome;

	if (body == NULL) {
		client->last.outcome = MB_VALIDATION;
		return MB_VALIDATION; /* err set by the body builder */
	}
	req->body = body;
	outcome = fetch_one(client, req, parse, out, err);
	cJSON_free(body);
	return outcome;
}

enum mb_outcome mb_contact_create(struct mb_client *client, const struct mb_contact_request *req,
                                  struct mb_contact *out, struct cn_error *err)
{
	struct request r = {"POST contacts", "contact", "POST", "contacts",
	                    false,           NULL,      NULL,   true};

	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = r.endpoint;
	if (req->customer_id != NULL && req->customer_id[0] != '\0' &&
	    !mb_id_valid(req->customer_id))
		return refuse_locally(
		    client, r.endpoint, err,
		    "contact: customer_id must be 1 to 20 digits so it can be looked up");
	return write_one(client, &r, mb_json_contact_body(req, err), parse_contact, out, err);
}

enum mb_outcome mb_sales_invoice_create(struct mb_client *client,
                                        const struct mb_invoice_request *req,
                                        struct mb_sales_invoice *out, struct cn_error *err)
{
	struct request r = {"POST sales_invoices",
	                    "sales_invoice",
	                    "POST",
	                    "sales_invoices",
	                    false,
	                    NULL,
	                    NULL,
	                    true};

	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = r.endpoint;
	return write_one(client, &r, mb_json_invoice_body(req, err), parse_sales_invoice, out, err);
}

enum mb_outcome mb_sales_invoice_get(struct mb_client *client, const char *id,
                                     struct mb_sales_invoice *out, struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices/{id}";
	struct request req = {endpoint, "sales_invoice", "GET", NULL, false, NULL, NULL, false};
	char path[128];

	if (!mb_id_valid(id))
		return refuse_locally(client, endpoint, err,
		                      "sales_invoice: the id is not a Moneybird id");
	snprintf(path, sizeof(path), "sales_invoices/%s", id);
	req.path = path;
	return fetch_one(client, &req, parse_sales_invoice, out, err);
}

enum mb_outcome mb_sales_invoice_find_by_reference(struct mb_client *client, const char *reference,
                                                   struct mb_sales_invoice *out,
                                                   struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices/find_by_reference/{reference}";
	struct request req = {endpoint, "sales_invoice", "GET", NULL, false, NULL, NULL, false};
	enum mb_outcome outcome;
	char *escaped;
	char path[1024];
	int written;

	if (reference == NULL || reference[0] == '\0')
		return refuse_locally(client, endpoint, err,
		                      "sales_invoice: the reference is empty");
	escaped = escape(client, reference);
	if (escaped == NULL)
		return refuse_locally(client, endpoint, err,
		                      "sales_invoice: could not encode the reference");
	written = snprintf(path, sizeof(path), "sales_invoices/find_by_reference/%s", escaped);
	curl_free(escaped);
	if (written < 0 || (size_t)written >= sizeof(path))
		return refuse_locally(client, endpoint, err,
		                      "sales_invoice: the reference is too long");
	req.path = path;
	outcome = fetch_one(client, &req, parse_sales_invoice, out, err);
	return outcome;
}

enum mb_outcome mb_sales_invoice_list(struct mb_client *client, const char *filter,
                                      struct mb_sales_invoice **out, size_t *count,
                                      struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices?filter";
	struct request req = {endpoint, "sales_invoice", "GET", "sales_invoices", false, NULL, NULL,
	                      false};
	enum mb_outcome outcome;
	char base_query[QUERY_MAX];
	char *escaped = NULL;

	*out = NULL;
	*count = 0;
	if (filter != NULL && filter[0] != '\0') {
		escaped = escape(client, filter);
		if (escaped == NULL || strlen(escaped) + 8 >= sizeof(base_query)) {
			curl_free(escaped);
			return refuse_locally(client, endpoint, err,
			                      "sales_invoice: the filter is too long");
		}
		snprintf(base_query, sizeof(base_query), "filter=%s", escaped);
		curl_free(escaped);
	}
	outcome = fetch_list(client, &req, filter != NULL && filter[0] != '\0' ? base_query : NULL,
	                     true, parse_sales_invoice, sizeof(**out), (void **)out, count, err);
	return outcome;
}

bool mb_filter_value_safe(const char *value)
{
	return value != NULL && value[0] != '\0' && strpbrk(value, ",|:") == NULL;
}

enum mb_outcome mb_sales_invoice_drafts_by_reference(struct mb_client *client,
                                                     const char *reference,
                                                     struct mb_sales_invoice **out, size_t *count,
                                                     struct cn_error *err)
{
	bool safe = mb_filter_value_safe(reference);
	char filter[1100];
	enum mb_outcome outcome;
	size_t kept = 0;
	int written;

	*out = NULL;
	*count = 0;
	if (reference == NULL || reference[0] == '\0')
		return refuse_locally(client, "GET sales_invoices?filter", err,
		                      "sales_invoice: the reference is empty");
	/* Any filter replaces the default period, so drafts of any date count. */
	if (safe)
		written = snprintf(filter, sizeof(filter), "state:draft,reference:%s", reference);
	else
		written = snprintf(filter, sizeof(filter), "state:draft");
	if (written < 0 || (size_t)written >= sizeof(filter))
		return refuse_locally(client, "GET sales_invoices?filter", err,
		                      "sales_invoice: the reference is too long");
	outcome = mb_sales_invoice_list(client, filter, out, count, err);
	if (outcome != MB_OK)
		return outcome;
	if (!safe && client->seen.link_next) {
		free(*out);
		*out = NULL;
		*count = 0;
		return refuse_locally(
		    client, "GET sales_invoices?filter", err,
		    "sales_invoice: more than 1000 draft invoices; a reference with "
		    "`,`, `|` or `:` cannot be searched among them");
	}
	for (size_t i = 0; i < *count; i++)
		if (strcmp((*out)[i].reference, reference) == 0)
			(*out)[kept++] = (*out)[i];
	*count = kept;
	return MB_OK;
}

enum mb_outcome mb_sales_invoice_send(struct mb_client *client, const char *id,
                                      const char *delivery_method, struct mb_sales_invoice *out,
                                      struct cn_error *err)
{
	static const char endpoint[] = "PATCH sales_invoices/{id}/send_invoice";
	struct request req = {endpoint, "sales_invoice_sending", "PATCH", NULL, false, NULL, NULL,
	                      true};
	char path[128];

	if (!mb_id_valid(id))
		return refuse_locally(client, endpoint, err,
		                      "sales_invoice: the id is not a Moneybird id");
	snprintf(path, sizeof(path), "sales_invoices/%s/send_invoice", id);
	req.path = path;
	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = endpoint;
	return write_one(client, &req, mb_json_send_body(delivery_method, err), parse_sales_invoice,
	                 out, err);
}

enum mb_outcome mb_payment_create(struct mb_client *client, const char *invoice_id,
                                  const struct mb_payment_request *payment, struct mb_payment *out,
                                  struct cn_error *err)
{
	static const char endpoint[] = "POST sales_invoices/{id}/payments";
	struct request req = {endpoint, "payment", "POST", NULL, false, NULL, NULL, true};
	char path[128];

	if (!mb_id_valid(invoice_id))
		return refuse_locally(client, endpoint, err,
		                      "payment: the invoice id is not a Moneybird id");
	snprintf(path, sizeof(path), "sales_invoices/%s/payments", invoice_id);
	req.path = path;
	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = endpoint;
	return write_one(client, &req, mb_json_payment_body(payment, err), parse_payment, out, err);
}

enum mb_outcome mb_sales_invoice_sync_list(struct mb_client *client, const char *filter,
                                           struct mb_sync_entry **out, size_t *count,
                                           struct cn_error *err)
{
	static const char endpoint[] = "GET sales_invoices/synchronization";
	struct request req = {
	    endpoint, "sales_invoice", "GET", "sales_invoices/synchronization", false, NULL, NULL,
	    false};
	char base_query[QUERY_MAX];
	char *escaped;

	*out = NULL;
	*count = 0;
	if (filter == NULL || filter[0] == '\0')
		return fetch_list(client, &req, NULL, false, parse_sync_entry, sizeof(**out),
		                  (void **)out, count, err);
	escaped = escape(client, filter);
	if (escaped == NULL || strlen(escaped) + 8 >= sizeof(base_query)) {
		curl_free(escaped);
		return refuse_locally(client, endpoint, err,
		                      "sales_invoice: the filter is too long");
	}
	snprintf(base_query, sizeof(base_query), "filter=%s", escaped);
	curl_free(escaped);
	return fetch_list(client, &req, base_query, false, parse_sync_entry, sizeof(**out),
	                  (void **)out, count, err);
}

enum mb_outcome mb_sales_invoice_sync_fetch(struct mb_client *client, const char *const *ids,
                                            size_t id_count, struct mb_sales_invoice **out,
                                            size_t *count, struct cn_error *err)
{
	static const char endpoint[] = "POST sales_invoices/synchronization";
	/* A read that happens to be a POST: repeating it is harmless. */
	struct request req = {
	    endpoint, "sales_invoice", "POST", "sales_invoices/synchronization", false, NULL, NULL,
	    false};
	enum mb_outcome outcome;
	char *body;

	*out = NULL;
	*count = 0;
	body = mb_json_ids_body(ids, id_count, err);
	if (body == NULL) {
		memset(&client->last, 0, sizeof(client->last));
		client->last.endpoint = endpoint;
		client->last.outcome = MB_VALIDATION;
		return MB_VALIDATION;
	}
	req.body = body;
	outcome = fetch_list(client, &req, NULL, false, parse_sales_invoice, sizeof(**out),
	                     (void **)out, count, err);
	cJSON_free(body);
	return outcome;
}

enum mb_outcome mb_contact_sync_list(struct mb_client *client, struct mb_sync_entry **out,
                                     size_t *count, struct cn_error *err)
{
	struct request req = {"GET contacts/synchronization",
	                      "contact",
	                      "GET",
	                      "contacts/synchronization",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	*out = NULL;
	*count = 0;
	return fetch_list(client, &req, NULL, false, parse_sync_entry, sizeof(**out), (void **)out,
	                  count, err);
}

enum mb_outcome mb_contact_sync_fetch(struct mb_client *client, const char *const *ids,
                                      size_t id_count, struct mb_contact **out, size_t *count,
                                      struct cn_error *err)
{
	static const char endpoint[] = "POST contacts/synchronization";
	/* A read that happens to be a POST: repeating it is harmless. */
	struct request req = {endpoint, "contact", "POST", "contacts/synchronization",
	                      false,    NULL,      NULL,   false};
	enum mb_outcome outcome;
	char *body;

	*out = NULL;
	*count = 0;
	body = mb_json_ids_body(ids, id_count, err);
	if (body == NULL) {
		memset(&client->last, 0, sizeof(client->last));
		client->last.endpoint = endpoint;
		client->last.outcome = MB_VALIDATION;
		return MB_VALIDATION;
	}
	req.body = body;
	outcome = fetch_list(client, &req, NULL, false, parse_contact, sizeof(**out), (void **)out,
	                     count, err);
	cJSON_free(body);
	return outcome;
}

enum mb_outcome mb_tax_rates_list(struct mb_client *client, struct mb_tax_rate **out, size_t *count,
                                  struct cn_error *err)
{
	struct request req = {"GET tax_rates", "tax_rate", "GET", "tax_rates",
	                      false,           NULL,       NULL,  false};

	return fetch_list(client, &req, NULL, true, parse_tax_rate, sizeof(**out), (void **)out,
	                  count, err);
}

enum mb_outcome mb_ledger_accounts_list(struct mb_client *client, struct mb_ledger_account **out,
                                        size_t *count, struct cn_error *err)
{
	/* Documented as not paginated. */
	struct request req = {"GET ledger_accounts",
	                      "ledger_account",
	                      "GET",
	                      "ledger_accounts",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	return fetch_list(client, &req, NULL, false, parse_ledger_account, sizeof(**out),
	                  (void **)out, count, err);
}

enum mb_outcome mb_financial_accounts_list(struct mb_client *client,
                                           struct mb_financial_account **out, size_t *count,
                                           struct cn_error *err)
{
	struct request req = {"GET financial_accounts",
	                      "financial_account",
	                      "GET",
	                      "financial_accounts",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	return fetch_list(client, &req, NULL, true, parse_financial_account, sizeof(**out),
	                  (void **)out, count, err);
}

enum mb_outcome mb_workflows_list(struct mb_client *client, struct mb_workflow **out, size_t *count,
                                  struct cn_error *err)
{
	struct request req = {"GET workflows", "workflow", "GET", "workflows",
	                      false,           NULL,       NULL,  false};

	return fetch_list(client, &req, NULL, true, parse_workflow, sizeof(**out), (void **)out,
	                  count, err);
}

enum mb_outcome mb_document_styles_list(struct mb_client *client, struct mb_document_style **out,
                                        size_t *count, struct cn_error *err)
{
	struct request req = {"GET document_styles",
	                      "document_style",
	                      "GET",
	                      "document_styles",
	                      false,
	                      NULL,
	                      NULL,
	                      false};

	return fetch_list(client, &req, NULL, true, parse_document_style, sizeof(**out),
	                  (void **)out, count, err);
}

enum mb_outcome mb_webhook_create(struct mb_client *client, const char *url,
                                  const char *const *events, size_t event_count,
                                  struct mb_webhook *out, struct cn_error *err)
{
	struct request req = {"POST webhooks", "webhook", "POST", "webhooks",
	                      false,           NULL,      NULL,   true};

	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = req.endpoint;
	return write_one(client, &req, mb_json_webhook_body(url, events, event_count, err),
	                 parse_webhook, out, err);
}

enum mb_outcome mb_webhooks_list(struct mb_client *client, struct mb_webhook **out, size_t *count,
                                 struct cn_error *err)
{
	struct request req = {"GET webhooks", "webhook", "GET", "webhooks",
	                      false,          NULL,      NULL,  false};

	return fetch_list(client, &req, NULL, false, parse_webhook, sizeof(**out), (void **)out,
	                  count, err);
}

enum mb_outcome mb_webhook_delete(struct mb_client *client, const char *id, struct cn_error *err)
{
	static const char endpoint[] = "DELETE webhooks/{id}";
	struct request req = {endpoint, "webhook", "DELETE", NULL, false, NULL, NULL, true};
	char path[128];

	if (!mb_id_valid(id))
		return refuse_locally(client, endpoint, err,
		                      "webhook: the id is not a Moneybird id");
	snprintf(path, sizeof(path), "webhooks/%s", id);
	req.path = path;
	return perform(client, &req, NULL, err);
}
