#include "httpd.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "mb_webhook.h"
#include "metrics_page.h"
#include "migrations.h"

#define BOOKTO_PREFIX "/webhooks/bookto"
#define MONEYBIRD_PREFIX "/webhooks/moneybird"
#define DISCARD_BYTES_MAX (4LL * 1024 * 1024)

struct httpd {
	struct listener *listener;
	struct intake_context *intake;
	struct mb_webhook_keys *mb_keys; /* the Moneybird webhook keys, cached */
};

enum route {
	ROUTE_NONE,
	ROUTE_BOOKTO,
	ROUTE_MONEYBIRD,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_METRICS
};

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
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

static void answer_readyz(struct httpd *httpd, struct listener_answer *answer)
{
	PGconn *conn = NULL;
	struct cn_error err = {""};
	int rc;

	rc = store_pool_acquire(httpd->intake->pool, 1000, &conn, &err);
	if (rc == CN_OK) {
		struct store_deadline deadline;
		bool gave_up;

		/* A stalled database must not hold this handler thread. */
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
		listener_answer_json(answer, MHD_HTTP_SERVICE_UNAVAILABLE, json);
		return;
	}
	listener_answer_json(answer, MHD_HTTP_OK, "{\"status\":\"ready\"}");
}

/* Prometheus text: counters of this process, gauges read from PostgreSQL. */
static void answer_metrics(struct httpd *httpd, struct listener_answer *answer)
{
	const struct runtime *runtime = httpd->intake->runtime;
	struct cn_error err = {""};
	char *text = NULL;
	size_t len = 0;
	/* The store takes the ids in configuration order. */
	int64_t *ids = calloc(runtime->count > 0 ? runtime->count : 1, sizeof(*ids));
	int rc = CN_ERR;

	for (size_t i = 0; ids != NULL && i < runtime->count; i++)
		ids[i] = runtime->connections[i].id;
	if (ids != NULL)
		rc = metrics_page_render(httpd->intake->pool, httpd->intake->config, ids, &text,
		                         &len, &err);
	free(ids);
	if (rc != CN_OK) {
		listener_answer_error(answer, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                      "the metrics could not be rendered");
		return;
	}
	free(answer->body);
	answer->status = MHD_HTTP_OK;
	answer->content_type = "text/plain; version=0.0.4; charset=utf-8";
	answer->body = text;
	answer->body_len = len;
}

/* A webhook POST: method, connection and declared size. */
static enum listener_verdict begin_webhook(const struct config *config, struct listener_call *call,
                                           const char *prefix, struct listener_answer *answer)
{
	long index;
	const char *length_header;

	if (strcmp(call->method, MHD_HTTP_METHOD_POST) != 0) {
		listener_answer_error(answer, MHD_HTTP_METHOD_NOT_ALLOWED,
		                      "only POST is allowed on this path");
		return LISTENER_ANSWERED;
	}
	index = find_connection(config, call->url, prefix);
	if (index < 0) {
		listener_answer_error(answer, MHD_HTTP_NOT_FOUND,
		                      strcmp(prefix, BOOKTO_PREFIX) == 0 &&
		                              config->connection_count > 1 &&
		                              strlen(call->url) <= strlen(BOOKTO_PREFIX) + 1
		                          ? "several connections are configured: post to "
		                            "/webhooks/bookto/{connection}"
		                          : "no connection of that name is configured");
		return LISTENER_ANSWERED;
	}
	call->index = (size_t)index;
	length_header = MHD_lookup_connection_value(call->connection, MHD_HEADER_KIND,
	                                            MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (length_header != NULL &&
	    strtoll(length_header, NULL, 10) > config->http_max_body_bytes) {
		long long declared = strtoll(length_header, NULL, 10);

		/* Answered before the body is read, libmicrohttpd closes the
		 * connection on a client still sending, which may then see the
		 * reset instead of the 413: a body up to 8 times the cap (or
		 * 4 MiB) is read and dropped first, within the request deadline. */
		if (declared / 8 <= config->http_max_body_bytes || declared <= DISCARD_BYTES_MAX) {
			call->too_large = true;
			return LISTENER_INLINE;
		}
		listener_answer_error(answer, MHD_HTTP_CONTENT_TOO_LARGE,
		                      "the body is larger than http.max_body_bytes");
		return LISTENER_ANSWERED;
	}
	return LISTENER_BLOCKING; /* verifying is quick, committing is not */
}

/* Headers are complete: route, method, connection and declared size. */
static enum listener_verdict begin_request(void *cls, struct listener_call *call,
                                           struct listener_answer *answer)
{
	struct httpd *httpd = cls;
	const char *url = call->url;

	if (has_prefix(url, BOOKTO_PREFIX)) {
		call->route = ROUTE_BOOKTO;
		return begin_webhook(httpd->intake->config, call, BOOKTO_PREFIX, answer);
	}
	if (has_prefix(url, MONEYBIRD_PREFIX)) {
		call->route = ROUTE_MONEYBIRD;
		return begin_webhook(httpd->intake->config, call, MONEYBIRD_PREFIX, answer);
	}
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
	    strcmp(url, "/metrics") == 0) {
		call->route = strcmp(url, "/healthz") == 0  ? ROUTE_HEALTHZ
		              : strcmp(url, "/readyz") == 0 ? ROUTE_READYZ
		                                            : ROUTE_METRICS;
		if (strcmp(call->method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(call->method, MHD_HTTP_METHOD_HEAD) != 0) {
			listener_answer_error(answer, MHD_HTTP_METHOD_NOT_ALLOWED,
			                      "only GET is allowed on this path");
			return LISTENER_ANSWERED;
		}
		/* /healthz answers on the event thread: it never waits. */
		return call->route == ROUTE_HEALTHZ ? LISTENER_INLINE : LISTENER_BLOCKING;
	}
	listener_answer_error(answer, MHD_HTTP_NOT_FOUND, "no such path");
	return LISTENER_ANSWERED;
}

static void answer_bookto(struct httpd *httpd, const struct listener_call *call,
                          struct listener_answer *answer)
{
	struct intake_response response;

	intake_handle_bookto(
	    httpd->intake, call->index,
	    MHD_lookup_connection_value(call->connection, MHD_HEADER_KIND, "X-Bookto-Timestamp"),
	    MHD_lookup_connection_value(call->connection, MHD_HEADER_KIND, "X-Bookto-Signature"),
	    call->body, call->body_len, now_ms(), &response);
	listener_answer_json(answer, response.status, response.body);
}

static void answer_moneybird(struct httpd *httpd, const struct listener_call *call,
                             struct listener_answer *answer)
{
	struct mb_webhook_response response;

	mb_webhook_handle(
	    httpd->intake, httpd->mb_keys, call->index,
	    MHD_lookup_connection_value(call->connection, MHD_HEADER_KIND, "Moneybird-Signature"),
	    MHD_lookup_connection_value(call->connection, MHD_HEADER_KIND, "Idempotency-Key"),
	    call->body, call->body_len, now_ms(), &response);
	listener_answer_json(answer, response.status, response.body);
}

static void answer_request(void *cls, const struct listener_call *call,
                           struct listener_answer *answer)
{
	struct httpd *httpd = cls;

	if (call->too_large && (call->route == ROUTE_BOOKTO || call->route == ROUTE_MONEYBIRD)) {
		listener_answer_error(answer, MHD_HTTP_CONTENT_TOO_LARGE,
		                      "the body is larger than http.max_body_bytes");
		return;
	}
	switch (call->route) {
	case ROUTE_HEALTHZ:
		listener_answer_json(answer, MHD_HTTP_OK, "{\"status\":\"ok\"}");
		return;
	case ROUTE_READYZ:
		answer_readyz(httpd, answer);
		return;
	case ROUTE_METRICS:
		answer_metrics(httpd, answer);
		return;
	case ROUTE_BOOKTO:
		answer_bookto(httpd, call, answer);
		return;
	case ROUTE_MONEYBIRD:
		answer_moneybird(httpd, call, answer);
		return;
	case ROUTE_NONE:
		break;
	}
	listener_answer_error(answer, MHD_HTTP_NOT_FOUND, "no such path");
}

void httpd_limits_from_config(const struct config *config, struct listener_limits *limits)
{
	memset(limits, 0, sizeof(*limits));
	limits->host = config->http_listen_host;
	limits->port = config->http_listen_port;
	limits->event_threads = config->http_event_threads;
	limits->handler_threads = config->http_handler_threads;
	limits->max_connections = config->http_max_connections;
	limits->max_connections_per_address = config->http_per_address_max;
	limits->idle_timeout_seconds = config->http_request_timeout_seconds;
	limits->request_deadline_seconds = config->http_deadline_seconds;
	limits->max_body_bytes = config->http_max_body_bytes;
}

int httpd_start(struct intake_context *intake, struct httpd **out, struct cn_error *err)
{
	struct listener_limits limits;
	struct listener_app app;
	struct httpd *httpd = calloc(1, sizeof(*httpd));

	*out = NULL;
	if (httpd == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	httpd->intake = intake;
	if (mb_webhook_keys_create(intake->config->connection_count, &httpd->mb_keys, err) !=
	    CN_OK) {
		free(httpd);
		return CN_ERR;
	}
	httpd_limits_from_config(intake->config, &limits);
	app.cls = httpd;
	app.begin = begin_request;
	app.answer = answer_request;
	app.log_name = "webhooks";
	if (listener_start(&limits, &app, &httpd->listener, err) != CN_OK) {
		mb_webhook_keys_free(httpd->mb_keys);
		free(httpd);
		return CN_ERR;
	}
	*out = httpd;
	return CN_OK;
}

unsigned int httpd_port(const struct httpd *httpd)
{
	return listener_port(httpd->listener);
}

void httpd_stop(struct httpd *httpd)
{
	if (httpd == NULL)
		return;
	listener_stop(httpd->listener);
	mb_webhook_keys_free(httpd->mb_keys);
	free(httpd);
}
