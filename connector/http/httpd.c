#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dynbuf.h"
#include "log.h"
#include "mb_webhook.h"
#include "metrics_page.h"
#include "migrations.h"

#define BOOKTO_PREFIX "/webhooks/bookto"
#define MONEYBIRD_PREFIX "/webhooks/moneybird"
#define JSON_TYPE "application/json"

struct httpd {
	struct MHD_Daemon *daemon;
	struct intake_context *intake;
	struct mb_webhook_keys *mb_keys; /* the Moneybird webhook keys, cached */
	unsigned int port;
};

enum route {
	ROUTE_NONE,
	ROUTE_BOOKTO,
	ROUTE_MONEYBIRD,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_METRICS
};

/* Per-request state, from the first callback to the completion callback. */
struct request {
	enum route route;
	size_t connection_index;
	struct dynbuf body; /* capped at http.max_body_bytes */
	bool too_large;
	bool answered;
};

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static enum MHD_Result send_json(struct MHD_Connection *connection, unsigned int status,
                                 const char *json)
{
	struct MHD_Response *response = MHD_create_response_from_buffer(
	    strlen(json), (void *)(uintptr_t)json, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result result;

	if (response == NULL)
		return MHD_NO;
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
	result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result send_error(struct MHD_Connection *connection, struct request *request,
                                  unsigned int status, const char *sentence)
{
	char json[512];

	request->answered = true;
	snprintf(json, sizeof(json), "{\"error\":\"%s\"}", sentence);
	return send_json(connection, status, json);
}

/* Finds the connection a webhook path names; -1 when unknown. */
static long find_connection(const struct config *config, const char *url, const char *prefix)
{
	size_t prefix_len = strlen(prefix);
	const char *rest = url + prefix_len;

	if (rest[0] == '\0' || strcmp(rest, "/") == 0)
		return config->connection_count == 1 ? 0 : -1;
	if (rest[0] != '/')
		return -1;
	rest++;
	for (size_t i = 0; i < config->connection_count; i++)
		if (strcmp(config->connections[i].name, rest) == 0)
			return (long)i;
	return -1;
}

static bool has_prefix(const char *url, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(url, prefix, len) == 0 && (url[len] == '\0' || url[len] == '/');
}

static enum MHD_Result answer_readyz(struct httpd *httpd, struct MHD_Connection *connection,
                                     struct request *request)
{
	PGconn *conn = NULL;
	struct cn_error err = {""};
	int rc;

	request->answered = true;
	rc = store_pool_acquire(httpd->intake->pool, 1000, &conn, &err);
	if (rc == CN_OK) {
		struct store_deadline deadline;
		bool gave_up;

		/* A stalled database must not hold this connection thread. */
		store_deadline_arm(&deadline, conn, 2000);
		rc = migrations_check(conn, &err);
		gave_up = store_deadline_disarm(&deadline);
		if (gave_up && rc == CN_OK) {
			rc = CN_RETRYABLE;
			error_set(&err, "PostgreSQL did not answer within 2 s");
		}
		store_pool_release(httpd->intake->pool, conn, rc == CN_RETRYABLE || gave_up);
	}
	if (rc != CN_OK) {
		char json[700];
		char detail[600];
		size_t j = 0;

		for (size_t i = 0; err.message[i] != '\0' && j + 2 < sizeof(detail); i++) {
			char c = err.message[i];
			if (c == '"' || c == '\\')
				detail[j++] = '\\';
			detail[j++] = (unsigned char)c < 0x20 ? ' ' : c;
		}
		detail[j] = '\0';
		snprintf(json, sizeof(json), "{\"status\":\"not ready\",\"error\":\"%s\"}", detail);
		return send_json(connection, MHD_HTTP_SERVICE_UNAVAILABLE, json);
	}
	return send_json(connection, MHD_HTTP_OK, "{\"status\":\"ready\"}");
}

/* Prometheus text: counters of this process, gauges read from PostgreSQL. */
static enum MHD_Result answer_metrics(struct httpd *httpd, struct MHD_Connection *connection,
                                      struct request *request)
{
	const struct runtime *runtime = httpd->intake->runtime;
	struct MHD_Response *response;
	struct cn_error err = {""};
	enum MHD_Result result;
	char *text = NULL;
	size_t len = 0;
	/* The store takes the ids in configuration order. */
	int64_t *ids = calloc(runtime->count > 0 ? runtime->count : 1, sizeof(*ids));
	int rc = CN_ERR;

	request->answered = true;
	for (size_t i = 0; ids != NULL && i < runtime->count; i++)
		ids[i] = runtime->connections[i].id;
	if (ids != NULL)
		rc = metrics_page_render(httpd->intake->pool, httpd->intake->config, ids, &text,
		                         &len, &err);
	free(ids);
	if (rc != CN_OK)
		return send_error(connection, request, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                  "the metrics could not be rendered");
	response = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (response == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        "text/plain; version=0.0.4; charset=utf-8");
	result = MHD_queue_response(connection, MHD_HTTP_OK, response);
	MHD_destroy_response(response);
	return result;
}

/* First callback of a request: route, method, connection and declared size. */
static enum MHD_Result begin_request(struct httpd *httpd, struct MHD_Connection *connection,
                                     const char *url, const char *method, struct request *request)
{
	const struct config *config = httpd->intake->config;

	if (has_prefix(url, BOOKTO_PREFIX)) {
		long index;
		const char *length_header;

		request->route = ROUTE_BOOKTO;
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return send_error(connection, request, MHD_HTTP_METHOD_NOT_ALLOWED,
			                  "only POST is allowed on this path");
		index = find_connection(config, url, BOOKTO_PREFIX);
		if (index < 0)
			return send_error(connection, request, MHD_HTTP_NOT_FOUND,
			                  config->connection_count > 1 &&
			                          strlen(url) <= strlen(BOOKTO_PREFIX) + 1
			                      ? "several connections are configured: post to "
			                        "/webhooks/bookto/{connection}"
			                      : "no connection of that name is configured");
		request->connection_index = (size_t)index;
		length_header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
		                                            MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (length_header != NULL &&
		    strtoll(length_header, NULL, 10) > config->http_max_body_bytes)
			return send_error(connection, request, MHD_HTTP_CONTENT_TOO_LARGE,
			                  "the body is larger than http.max_body_bytes");
		return MHD_YES;
	}
	if (has_prefix(url, MONEYBIRD_PREFIX)) {
		long index;
		const char *length_header;

		request->route = ROUTE_MONEYBIRD;
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return send_error(connection, request, MHD_HTTP_METHOD_NOT_ALLOWED,
			                  "only POST is allowed on this path");
		index = find_connection(config, url, MONEYBIRD_PREFIX);
		if (index < 0)
			return send_error(connection, request, MHD_HTTP_NOT_FOUND,
			                  "no connection of that name is configured");
		request->connection_index = (size_t)index;
		length_header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
		                                            MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (length_header != NULL &&
		    strtoll(length_header, NULL, 10) > config->http_max_body_bytes)
			return send_error(connection, request, MHD_HTTP_CONTENT_TOO_LARGE,
			                  "the body is larger than http.max_body_bytes");
		return MHD_YES;
	}
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
	    strcmp(url, "/metrics") == 0) {
		request->route = strcmp(url, "/healthz") == 0  ? ROUTE_HEALTHZ
		                 : strcmp(url, "/readyz") == 0 ? ROUTE_READYZ
		                                               : ROUTE_METRICS;
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
			return send_error(connection, request, MHD_HTTP_METHOD_NOT_ALLOWED,
			                  "only GET is allowed on this path");
		return MHD_YES;
	}
	return send_error(connection, request, MHD_HTTP_NOT_FOUND, "no such path");
}

/* Copies upload data into the request, up to the configured cap (413 past it). */
static void take_upload(struct request *request, const char *data, size_t size)
{
	if (request->too_large)
		return;
	if (dynbuf_add(&request->body, data, size) != CN_OK) {
		request->too_large = true;
		dynbuf_free(&request->body);
	}
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
	struct httpd *httpd = cls;
	struct request *request = *con_cls;

	(void)version;
	if (request == NULL) {
		request = calloc(1, sizeof(*request));
		if (request == NULL)
			return MHD_NO;
		dynbuf_init(&request->body, (size_t)httpd->intake->config->http_max_body_bytes);
		*con_cls = request;
		return begin_request(httpd, connection, url, method, request);
	}
	if (request->answered) {
		*upload_data_size = 0; /* discard the rest of a refused body */
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		take_upload(request, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}

	switch (request->route) {
	case ROUTE_HEALTHZ:
		request->answered = true;
		return send_json(connection, MHD_HTTP_OK, "{\"status\":\"ok\"}");
	case ROUTE_READYZ:
		return answer_readyz(httpd, connection, request);
	case ROUTE_METRICS:
		return answer_metrics(httpd, connection, request);
	case ROUTE_BOOKTO: {
		struct intake_response response;

		if (request->too_large)
			return send_error(connection, request, MHD_HTTP_CONTENT_TOO_LARGE,
			                  "the body is larger than http.max_body_bytes");
		intake_handle_bookto(
		    httpd->intake, request->connection_index,
		    MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Bookto-Timestamp"),
		    MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Bookto-Signature"),
		    (const unsigned char *)dynbuf_ptr(&request->body), dynbuf_len(&request->body),
		    now_ms(), &response);
		request->answered = true;
		return send_json(connection, response.status, response.body);
	}
	case ROUTE_MONEYBIRD: {
		struct mb_webhook_response response;

		if (request->too_large)
			return send_error(connection, request, MHD_HTTP_CONTENT_TOO_LARGE,
			                  "the body is larger than http.max_body_bytes");
		mb_webhook_handle(
		    httpd->intake, httpd->mb_keys, request->connection_index,
		    MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Moneybird-Signature"),
		    MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Idempotency-Key"),
		    (const unsigned char *)dynbuf_ptr(&request->body), dynbuf_len(&request->body),
		    now_ms(), &response);
		request->answered = true;
		return send_json(connection, response.status, response.body);
	}
	case ROUTE_NONE:
		break;
	}
	return send_error(connection, request, MHD_HTTP_NOT_FOUND, "no such path");
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode code)
{
	struct request *request = *con_cls;

	(void)cls;
	(void)connection;
	(void)code;
	if (request == NULL)
		return;
	dynbuf_free(&request->body);
	free(request);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *format, va_list ap)
{
	char message[512];
	size_t len;

	(void)cls;
	vsnprintf(message, sizeof(message), format, ap);
	len = strlen(message);
	while (len > 0 && message[len - 1] == '\n')
		message[--len] = '\0';
	log_warn("http_server", "message", message, NULL);
}

int httpd_start(struct intake_context *intake, struct httpd **out, struct cn_error *err)
{
	const struct config *config = intake->config;
	struct addrinfo hints, *address = NULL;
	char host[256], port_text[16];
	struct httpd *httpd = NULL;
	unsigned int flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	size_t host_len;
	int gai;

	*out = NULL;
	snprintf(host, sizeof(host), "%s", config->http_listen_host);
	host_len = strlen(host);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		memmove(host, host + 1, host_len - 2);
		host[host_len - 2] = '\0';
	}
	snprintf(port_text, sizeof(port_text), "%d", config->http_listen_port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host, port_text, &hints, &address);
	if (gai != 0) {
		error_set(err, "cannot resolve http.listen host %s: %s", host, gai_strerror(gai));
		return CN_INVALID;
	}
	if (address->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	httpd = calloc(1, sizeof(*httpd));
	if (httpd == NULL) {
		freeaddrinfo(address);
		error_set(err, "out of memory");
		return CN_ERR;
	}
	httpd->intake = intake;
	if (mb_webhook_keys_create(config->connection_count, &httpd->mb_keys, err) != CN_OK) {
		freeaddrinfo(address);
		free(httpd);
		return CN_ERR;
	}
	httpd->daemon = MHD_start_daemon(
	    flags, (uint16_t)config->http_listen_port, NULL, NULL, handle_request, httpd,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, httpd, MHD_OPTION_SOCK_ADDR, address->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)config->http_max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)config->http_request_timeout_seconds,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, httpd, MHD_OPTION_END);
	freeaddrinfo(address);
	if (httpd->daemon == NULL) {
		error_set(err, "cannot listen on %s:%d (is the port in use?)",
		          config->http_listen_host, config->http_listen_port);
		mb_webhook_keys_free(httpd->mb_keys);
		free(httpd);
		return CN_ERR;
	}
	info = MHD_get_daemon_info(httpd->daemon, MHD_DAEMON_INFO_BIND_PORT);
	httpd->port = info != NULL ? info->port : (unsigned int)config->http_listen_port;
	*out = httpd;
	return CN_OK;
}

unsigned int httpd_port(const struct httpd *httpd)
{
	return httpd->port;
}

void httpd_stop(struct httpd *httpd)
{
	if (httpd == NULL)
		return;
	MHD_stop_daemon(httpd->daemon);
	mb_webhook_keys_free(httpd->mb_keys);
	free(httpd);
}
