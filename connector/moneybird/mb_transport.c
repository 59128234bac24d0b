#include "mb_transport.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dynbuf.h"
#include "mb_json.h"

#define URL_MAX 4096
#define MAX_PAGES 10 /* 1000 entries: more than any administration's reference data */
#define MAX_LIST_ITEMS 10000

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
enum mb_outcome mb_transport_perform(struct mb_client *client, const struct request *req,
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
enum mb_outcome mb_transport_bad_shape(struct mb_client *client, const struct request *req,
                                       struct cn_error *err)
{
	enum mb_outcome outcome = req->is_write ? MB_UNKNOWN_OUTCOME : MB_TRANSIENT;

	client->last.outcome = outcome;
	error_prefix(err, "Moneybird's answer to %s%s", req->endpoint,
	             req->is_write ? " (the change may have been applied)" : "");
	return outcome;
}

/* A call refused before anything was sent: last names it, MB_VALIDATION. */
static enum mb_outcome refused_locally(struct mb_client *client, const char *endpoint)
{
	memset(&client->last, 0, sizeof(client->last));
	client->last.endpoint = endpoint;
	client->last.outcome = MB_VALIDATION;
	return MB_VALIDATION;
}

enum mb_outcome mb_transport_refuse_locally(struct mb_client *client, const char *endpoint,
                                            struct cn_error *err, const char *message)
{
	error_set(err, "%s", message);
	return refused_locally(client, endpoint);
}

/* ---- lists ---- */

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
enum mb_outcome mb_transport_fetch_list(struct mb_client *client, struct request *req,
                                        const char *base_query, bool paginate, item_parser parse,
                                        size_t item_size, void **out, size_t *count,
                                        struct cn_error *err)
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
			outcome = mb_transport_refuse_locally(client, req->endpoint, err,
			                                      "the list filter is too long");
			goto out;
		}
		req->query = (paginate || base_query != NULL) ? query : NULL;
		outcome = mb_transport_perform(client, req, &root, err);
		if (outcome != MB_OK)
			goto out;
		if (!cJSON_IsArray(root)) {
			error_set(err, "not a list");
			outcome = mb_transport_bad_shape(client, req, err);
			goto out;
		}
		if (list_append(&list, root, parse, err) != 0) {
			outcome = mb_transport_bad_shape(client, req, err);
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
char *mb_transport_escape(struct mb_client *client, const char *text)
{
	return curl_easy_escape(client->curl, text, 0);
}

/* GETs one object at path and parses it with parse. */
enum mb_outcome mb_transport_fetch_one(struct mb_client *client, struct request *req,
                                       item_parser parse, void *out, struct cn_error *err)
{
	cJSON *root = NULL;
	enum mb_outcome outcome = mb_transport_perform(client, req, &root, err);

	if (outcome == MB_OK && parse(root, out, err) != 0)
		outcome = mb_transport_bad_shape(client, req, err);
	cJSON_Delete(root);
	return outcome;
}

/* POST/PATCH with a JSON body, answer parsed with parse. */
enum mb_outcome mb_transport_write_one(struct mb_client *client, struct request *req, char *body,
                                       item_parser parse, void *out, struct cn_error *err)
{
	enum mb_outcome outcome;

	if (body == NULL) /* err set by the body builder */
		return refused_locally(client, req->endpoint);
	req->body = body;
	outcome = mb_transport_fetch_one(client, req, parse, out, err);
	cJSON_free(body);
	return outcome;
}

enum mb_outcome mb_transport_sync_fetch(struct mb_client *client, struct request *req,
                                        const char *const *ids, size_t id_count, item_parser parse,
                                        size_t item_size, void **out, size_t *count,
                                        struct cn_error *err)
{
	enum mb_outcome outcome;
	char *body;

	*out = NULL;
	*count = 0;
	body = mb_json_ids_body(ids, id_count, err);
	if (body == NULL) /* err set by the body builder */
		return refused_locally(client, req->endpoint);
	req->body = body;
	outcome =
	    mb_transport_fetch_list(client, req, NULL, false, parse, item_size, out, count, err);
	req->body = NULL;
	cJSON_free(body);
	return outcome;
}
