/*
 * libmicrohttpd front end: body capture with a cap, routing, the request log
 * (one stderr line per request; API writes also kept for GET /_sim/requests),
 * auth, the sliding-window rate limit and fault injection around each handler.
 */
#include "mbsim.h"

#include "hex.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct route {
	const char *method;
	const char *pattern; /* ":id" = one segment, "*" = the rest of the path */
	const char *name;    /* what faults match and /_sim/state counts */
	mbsim_handler handler;
};

/* A route whose name is its method and pattern. */
#define ROUTE(method, pattern, handler)                                                            \
	{                                                                                          \
		method, pattern, method " " pattern, handler                                       \
	}

static const struct route routes[] = {
    ROUTE("GET", "contacts", mbsim_api_contacts_list),
    ROUTE("POST", "contacts", mbsim_api_contacts_create),
    ROUTE("GET", "contacts/synchronization", mbsim_api_contacts_sync_get),
    ROUTE("POST", "contacts/synchronization", mbsim_api_contacts_sync_post),
    ROUTE("GET", "contacts/:id", mbsim_api_contacts_get),
    ROUTE("GET", "sales_invoices", mbsim_api_invoices_list),
    ROUTE("POST", "sales_invoices", mbsim_api_invoices_create),
    ROUTE("GET", "sales_invoices/synchronization", mbsim_api_invoices_sync_get),
    ROUTE("POST", "sales_invoices/synchronization", mbsim_api_invoices_sync_post),
    ROUTE("GET", "sales_invoices/:id", mbsim_api_invoices_get),
    ROUTE("DELETE", "sales_invoices/:id", mbsim_api_invoices_delete),
    ROUTE("PATCH", "sales_invoices/:id/send_invoice", mbsim_api_invoices_send),
    ROUTE("POST", "sales_invoices/:id/payments", mbsim_api_payments_create),
    ROUTE("DELETE", "sales_invoices/:id/payments/:id", mbsim_api_payments_delete),
    ROUTE("GET", "tax_rates", mbsim_api_reference),
    ROUTE("GET", "ledger_accounts", mbsim_api_reference),
    ROUTE("GET", "financial_accounts", mbsim_api_reference),
    ROUTE("GET", "workflows", mbsim_api_reference),
    ROUTE("GET", "document_styles", mbsim_api_reference),
    ROUTE("GET", "webhooks", mbsim_api_webhooks_list),
    ROUTE("POST", "webhooks", mbsim_api_webhooks_create),
    ROUTE("DELETE", "webhooks/:id", mbsim_api_webhooks_delete),
    /* named by the spec's parameter; no other pattern of theirs matches the same paths */
    {"GET", "contacts/customer_id/*", "GET contacts/customer_id/:customer_id",
     mbsim_api_contacts_by_customer_id},
    {"GET", "sales_invoices/find_by_reference/:id",
     "GET sales_invoices/find_by_reference/:reference", mbsim_api_invoices_by_reference},
};

bool mbsim_route_known(const char *name)
{
	size_t i;

	if (strcmp(name, "*") == 0 || strcmp(name, "GET administrations") == 0)
		return true;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].name, name) == 0)
			return true;
	return false;
}

struct request_ctx {
	char *body;
	size_t len;
	size_t cap;
	bool too_big;
};

#define MAX_PATH 2048

/*
 * libmicrohttpd unescapes the path before the handler sees it, which would
 * let an unescaped "/" inside a path segment pass for "%2F". A server
 * routes on the raw path, so the path keeps its "%2F" (undone per segment
 * after routing, segment_unescape); everything else, and query strings,
 * are unescaped as usual.
 */
static size_t unescape_keep_slash(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;

	(void)cls;
	(void)conn;
	if (s[0] != '/')
		return MHD_http_unescape(s);
	for (const char *r = s; *r != '\0';) {
		int high = r[0] == '%' ? hex_digit_value(r[1]) : -1;
		int low = high >= 0 ? hex_digit_value(r[2]) : -1;

		if (low >= 0 && !(high == 2 && low == 15)) {
			*w++ = (char)(high * 16 + low);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* "%2F" (kept by unescape_keep_slash) back to "/" inside one segment. */
static void segment_unescape(char *segment)
{
	char *w = segment;

	for (const char *r = segment; *r != '\0';) {
		if (r[0] == '%' && r[1] == '2' && (r[2] == 'F' || r[2] == 'f')) {
			*w++ = '/';
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Matches rest ("sales_invoices/1/payments") against a pattern; fills params. */
static bool route_match(const char *pattern, const char *rest, char params[2][MAX_PATH])
{
	int nparam = 0;

	params[0][0] = params[1][0] = '\0';
	while (*pattern != '\0') {
		const char *pseg_end = strchr(pattern, '/');
		size_t plen = pseg_end ? (size_t)(pseg_end - pattern) : strlen(pattern);
		const char *rseg_end = strchr(rest, '/');
		size_t rlen = rseg_end ? (size_t)(rseg_end - rest) : strlen(rest);

		if (plen == 1 && pattern[0] == '*') {
			if (rest[0] == '\0' || nparam == 2)
				return false;
			snprintf(params[nparam++], MAX_PATH, "%s", rest);
			return true;
		}
		if (rlen == 0)
			return false;
		if (plen == 3 && strncmp(pattern, ":id", 3) == 0) {
			if (nparam == 2)
				return false;
			snprintf(params[nparam++], MAX_PATH, "%.*s", (int)rlen, rest);
		} else if (plen != rlen || strncmp(pattern, rest, plen) != 0) {
			return false;
		}
		pattern += plen;
		rest += rlen;
		if (*pattern == '/')
			pattern++;
		if (*rest == '/')
			rest++;
		else if (*pattern != '\0')
			return false;
	}
	return *rest == '\0';
}

static bool rule_take(struct mbsim_fault_rule *rule, const char *route)
{
	if (rule->match[0] == '\0' || rule->count == 0)
		return false;
	if (strcmp(rule->match, "*") != 0 && strcmp(rule->match, route) != 0)
		return false;
	if (rule->count > 0)
		rule->count--;
	return true;
}

static void html_error(struct mbsim_response *r, unsigned status, const char *reason)
{
	char page[512];

	snprintf(page, sizeof(page),
	         "<html>\r\n<head><title>%u %s</title></head>\r\n<body>\r\n<center><h1>%u "
	         "%s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
	         status, reason, status, reason);
	free(r->body);
	r->body = strdup(page);
	r->status = status;
	r->content_type = "text/html";
}

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Temporarily Unavailable";
	case 504:
		return "Gateway Time-out";
	case 429:
		return "Too Many Requests";
	default:
		return "Error";
	}
}

/* 429 as the spec documents it (JSON "Retry later") or as nginx answers (HTML). */
static void too_many(struct mbsim *sim, struct mbsim_response *r, int64_t reset_epoch)
{
	bool html;

	if (strcmp(sim->faults.rate_limit_body, "json") == 0)
		html = false;
	else if (strcmp(sim->faults.rate_limit_body, "html") == 0)
		html = true;
	else
		html = (sim->rate_429_count % 2) == 1; /* alternate: JSON first, then HTML */
	sim->rate_429_count++;
	if (html) {
		html_error(r, 429, "Too Many Requests");
	} else {
		free(r->body);
		r->body = strdup("\"Retry later\"");
		r->status = 429;
		r->content_type = "application/json; charset=utf-8";
	}
	snprintf(r->retry_after, sizeof(r->retry_after), "%lld", (long long)reset_epoch);
	snprintf(r->ratelimit_reset, sizeof(r->ratelimit_reset), "%lld", (long long)reset_epoch);
	snprintf(r->ratelimit_limit, sizeof(r->ratelimit_limit), "%u", sim->opt.rate_requests);
}

/* Sliding window log: admit when fewer than N requests in the last S seconds. */
static bool rate_admit(struct mbsim *sim, int64_t *reset_epoch)
{
	int64_t now = mbsim_now_ms();
	int64_t window = (int64_t)sim->opt.rate_seconds * 1000;
	size_t cap = sim->opt.rate_requests;

	while (sim->rate_len > 0 && sim->rate_log[sim->rate_head] <= now - window) {
		sim->rate_head = (sim->rate_head + 1) % cap;
		sim->rate_len--;
	}
	if (sim->rate_len >= cap) {
		int64_t wait_ms = sim->rate_log[sim->rate_head] + window - now;

		*reset_epoch = mbsim_wall_seconds() + (wait_ms + 999) / 1000;
		return false;
	}
	sim->rate_log[(sim->rate_head + sim->rate_len) % cap] = now;
	sim->rate_len++;
	return true;
}

static void forced_status(struct mbsim *sim, struct mbsim_response *r, unsigned status)
{
	switch (status) {
	case 401:
		mbsim_err_symbolic(r, 401, "Token is invalid", "token", "invalid");
		break;
	case 402:
		mbsim_err_symbolic(r, 402, "creating sales invoices is limited", "administration",
		                   "limit_reached");
		break;
	case 404:
		mbsim_err_symbolic(r, 404, "record not found", "id", "not_found");
		break;
	case 422:
		mbsim_err_validation(r, "base", "simulated validation failure", "invalid");
		break;
	case 429:
		too_many(sim, r, mbsim_wall_seconds() + 5);
		break;
	default:
		if (status >= 500)
			html_error(r, status, reason_phrase(status));
		else
			mbsim_err_plain(r, status, "simulated failure");
	}
}

static bool authorized(struct MHD_Connection *conn, const struct mbsim *sim,
                       struct mbsim_response *r)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
		mbsim_err_symbolic(r, 401, "No access token given", "authorization", "missing");
		return false;
	}
	if (strcmp(auth + 7, sim->opt.token) != 0) {
		mbsim_err_symbolic(r, 401, "Token is invalid", "token", "invalid");
		return false;
	}
	return true;
}

/* The registration check: a POST without payload to the URL (done without the lock). */
static int webhook_check(const struct request_ctx *ctx)
{
	cJSON *body = cJSON_ParseWithLength(ctx->body != NULL ? ctx->body : "", ctx->len);
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(body, "url");
	int status = 0;

	if (cJSON_IsString(url) && strncmp(url->valuestring, "http://", 7) == 0) {
		static const char *const headers[] = {"User-Agent: MoneyBird Webhook", NULL};
		char answer[64];

		status = mbsim_http_post(url->valuestring, headers, "", answer, sizeof(answer));
	}
	cJSON_Delete(body);
	return status;
}

static void api_request(struct mbsim *sim, struct MHD_Connection *conn, const char *method,
                        const char *url, struct request_ctx *ctx, struct mbsim_response *resp,
                        const char **route_name)
{
	char rest[MAX_PATH], admin[64], params[2][MAX_PATH], host[64];
	const struct route *route = NULL;
	const char *p = url + strlen("/api/v2/");
	const char *slash;
	struct mbsim_request req;
	bool admin_ok = true, is_administrations = false, fail = false;
	unsigned latency;
	size_t i, n;
	int64_t reset_epoch = 0;
	int check_status = 0;

	params[0][0] = params[1][0] = '\0';
	if (strcmp(p, "administrations.json") == 0 || strcmp(p, "administrations") == 0) {
		is_administrations = strcmp(method, "GET") == 0;
		rest[0] = '\0';
	} else {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		snprintf(admin, sizeof(admin), "%.*s", (int)(n < 63 ? n : 63), p);
		admin_ok = strcmp(admin, sim->opt.administration_id) == 0;
		snprintf(rest, sizeof(rest), "%s", slash != NULL ? slash + 1 : "");
		n = strlen(rest);
		/* The format suffix: ".json" or none ([OAS] format pattern). */
		if (n > 5 && strcmp(rest + n - 5, ".json") == 0)
			rest[n - 5] = '\0';
		for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
			if (strcmp(routes[i].method, method) == 0 &&
			    route_match(routes[i].pattern, rest, params)) {
				route = &routes[i];
				segment_unescape(params[0]);
				segment_unescape(params[1]);
				break;
			}
		}
	}
	if (is_administrations)
		*route_name = "GET administrations";
	else if (route != NULL)
		*route_name = route->name;
	else if (strcmp(method, "GET") == 0)
		*route_name = "GET unknown";
	else if (strcmp(method, "POST") == 0)
		*route_name = "POST unknown";
	else if (strcmp(method, "PATCH") == 0)
		*route_name = "PATCH unknown";
	else if (strcmp(method, "DELETE") == 0)
		*route_name = "DELETE unknown";
	else
		*route_name = "OTHER unknown";

	pthread_mutex_lock(&sim->lock);
	sim->request_total++;
	{
		cJSON *count = cJSON_GetObjectItemCaseSensitive(sim->request_counts, *route_name);

		if (count == NULL)
			cJSON_AddNumberToObject(sim->request_counts, *route_name, 1);
		else
			cJSON_SetNumberValue(count, count->valuedouble + 1);
	}
	if (!rate_admit(sim, &reset_epoch)) {
		too_many(sim, resp, reset_epoch);
		fail = true;
	}
	latency = sim->faults.latency_ms;
	pthread_mutex_unlock(&sim->lock);
	if (fail)
		return;
	if (!authorized(conn, sim, resp))
		return;
	if (!admin_ok) {
		mbsim_err_symbolic(resp, 404, "record not found", "administration_id", "not_found");
		return;
	}
	if (route == NULL && !is_administrations) {
		mbsim_err_plain(resp, 404, "Not Found");
		return;
	}
	if (ctx->too_big) {
		mbsim_err_plain(resp, 413, "Request body is too large");
		return;
	}
	if (latency > 0) {
		struct timespec ts = {(time_t)(latency / 1000), (long)(latency % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
	if (route != NULL && route->handler == mbsim_api_webhooks_create)
		check_status = webhook_check(ctx);

	pthread_mutex_lock(&sim->lock);
	if (sim->faults.error_rate > 0 &&
	    (double)(mbsim_random(sim) % 1000000) / 1000000.0 < sim->faults.error_rate) {
		static const unsigned codes[] = {500, 502, 503};

		forced_status(sim, resp, codes[mbsim_random(sim) % 3]);
		goto unlock;
	}
	if (rule_take(&sim->faults.force_status, *route_name)) {
		forced_status(sim, resp, sim->faults.force_status.status);
		goto unlock;
	}
	snprintf(host, sizeof(host), "127.0.0.1:%u", sim->bound_port);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.route = *route_name;
	req.param1 = params[0];
	req.param2 = params[1];
	req.body = ctx->body != NULL ? ctx->body : "";
	req.body_len = ctx->len;
	req.connection = conn;
	req.host = host;
	req.path = url;
	req.webhook_check_status = check_status;
	if (is_administrations)
		mbsim_api_administrations(sim, &req, resp);
	else
		route->handler(sim, &req, resp);
	/* The write is applied; now lose or spoil the answer if a fault says so. */
	if (rule_take(&sim->faults.apply_then_drop, *route_name))
		resp->drop_connection = true;
	else if (rule_take(&sim->faults.apply_then_status, *route_name))
		forced_status(sim, resp, sim->faults.apply_then_status.status);
unlock:
	pthread_mutex_unlock(&sim->lock);
}

static bool is_write_method(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/*
 * Appends one API write request to the log served by GET /_sim/requests, so
 * a test can compare the exact bodies a client sent: the body as parsed JSON
 * (null when empty; the raw text under "body_text" when it is not JSON) and
 * the status answered (null when the connection was dropped). Logged when the
 * answer is known, so the order is the order of answers. Only the newest
 * MBSIM_MAX_REQUEST_LOG entries are kept.
 */
static void log_write_request(struct mbsim *sim, const char *method, const char *url,
                              const char *route_name, const struct request_ctx *ctx,
                              const struct mbsim_response *resp)
{
	cJSON *entry = cJSON_CreateObject();
	cJSON *body = NULL;

	if (entry == NULL)
		return;
	if (ctx->body != NULL && ctx->len > 0 && !ctx->too_big)
		body = cJSON_ParseWithLength(ctx->body, ctx->len);
	pthread_mutex_lock(&sim->lock);
	cJSON_AddNumberToObject(entry, "seq", (double)++sim->request_log_seq);
	cJSON_AddStringToObject(entry, "method", method);
	cJSON_AddStringToObject(entry, "route", route_name);
	cJSON_AddStringToObject(entry, "path", url);
	if (resp->drop_connection)
		cJSON_AddNullToObject(entry, "status");
	else
		cJSON_AddNumberToObject(entry, "status", resp->status);
	if (body != NULL)
		cJSON_AddItemToObject(entry, "body", body);
	else
		cJSON_AddNullToObject(entry, "body");
	if (body == NULL && ctx->body != NULL && ctx->len > 0 && !ctx->too_big)
		cJSON_AddStringToObject(entry, "body_text", ctx->body);
	cJSON_AddItemToArray(sim->request_log, entry);
	if (++sim->request_log_count > MBSIM_MAX_REQUEST_LOG) {
		cJSON_Delete(cJSON_DetachItemViaPointer(sim->request_log, sim->request_log->child));
		sim->request_log_count--;
	}
	pthread_mutex_unlock(&sim->lock);
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct mbsim_response *r)
{
	struct MHD_Response *response;
	enum MHD_Result ret;
	size_t len = r->body != NULL ? strlen(r->body) : 0;

	response = MHD_create_response_from_buffer(len, r->body != NULL ? r->body : (void *)"",
	                                           MHD_RESPMEM_MUST_COPY);
	if (response == NULL)
		return MHD_NO;
	if (r->status != 204)
		MHD_add_response_header(
		    response, "Content-Type",
		    r->content_type != NULL ? r->content_type : "application/json; charset=utf-8");
	if (r->retry_after[0] != '\0') {
		MHD_add_response_header(response, "Retry-After", r->retry_after);
		MHD_add_response_header(response, "RateLimit-Limit", r->ratelimit_limit);
		MHD_add_response_header(response, "RateLimit-Remaining", "0");
		MHD_add_response_header(response, "RateLimit-Reset", r->ratelimit_reset);
	}
	if (r->signature[0] != '\0')
		MHD_add_response_header(response, "Moneybird-Signature", r->signature);
	if (r->idempotency_key[0] != '\0')
		MHD_add_response_header(response, "Idempotency-Key", r->idempotency_key);
	if (r->link[0] != '\0')
		MHD_add_response_header(response, "Link", r->link);
	ret = MHD_queue_response(conn, r->status, response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct mbsim *sim = cls;
	struct request_ctx *ctx = *con_cls;
	struct mbsim_response resp;
	const char *route_name = "-";
	int64_t started;
	enum MHD_Result ret;

	(void)version;
	if (ctx == NULL) {
		ctx = calloc(1, sizeof(*ctx));
		if (ctx == NULL)
			return MHD_NO;
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		if (!ctx->too_big && ctx->len + n > MBSIM_MAX_BODY_BYTES) {
			ctx->too_big = true;
		} else if (!ctx->too_big) {
			if (ctx->len + n + 1 > ctx->cap) {
				size_t cap = (ctx->len + n + 1) * 2;
				char *grown = realloc(ctx->body, cap);

				if (grown == NULL)
					return MHD_NO;
				ctx->body = grown;
				ctx->cap = cap;
			}
			memcpy(ctx->body + ctx->len, upload_data, n);
			ctx->len += n;
			ctx->body[ctx->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	started = mbsim_now_ms();
	memset(&resp, 0, sizeof(resp));
	resp.status = 500;
	if (strncmp(url, "/_sim/", 6) == 0) {
		struct mbsim_request req;

		memset(&req, 0, sizeof(req));
		req.method = method;
		req.body = ctx->body != NULL ? ctx->body : "";
		req.body_len = ctx->len;
		req.connection = conn;
		route_name = "control";
		if (ctx->too_big)
			mbsim_err_plain(&resp, 413, "Request body is too large");
		else
			mbsim_control(sim, method, url + 6, &req, &resp);
	} else if (strncmp(url, "/api/v2/", 8) == 0) {
		api_request(sim, conn, method, url, ctx, &resp, &route_name);
		/* POST .../synchronization is a query (x-query in the spec), not a write. */
		if (is_write_method(method) && strstr(route_name, "synchronization") == NULL)
			log_write_request(sim, method, url, route_name, ctx, &resp);
	} else {
		mbsim_err_plain(&resp, 404, "Not Found");
	}
	if (resp.drop_connection) {
		fprintf(stderr, "mbsim: %s %s -> dropped after applying (%s) %lldms\n", method, url,
		        route_name, (long long)(mbsim_now_ms() - started));
		free(resp.body);
		return MHD_NO; /* closes the connection without an answer */
	}
	fprintf(stderr, "mbsim: %s %s -> %u (%s) %lldms\n", method, url, resp.status, route_name,
	        (long long)(mbsim_now_ms() - started));
	ret = queue(conn, &resp);
	free(resp.body);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct request_ctx *ctx = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (ctx != NULL) {
		free(ctx->body);
		free(ctx);
		*con_cls = NULL;
	}
}

void *mbsim_http_start(struct mbsim *sim, unsigned *bound_port)
{
	struct sockaddr_in addr;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)sim->opt.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handle, sim, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_UNESCAPE_CALLBACK,
	    unescape_keep_slash, NULL, MHD_OPTION_END);
	if (d == NULL)
		return NULL;
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info != NULL ? info->port : sim->opt.port;
	return d;
}

void mbsim_http_stop(void *daemon)
{
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
}
