#include "console_internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "random_token.h"

/* The console's own limits, apart from the intake's: few people use it. */
#define CONSOLE_MAX_CONNECTIONS 64
#define CONSOLE_TIMEOUT_SECONDS 30
#define CONSOLE_POOL_SIZE 4
#define CONSOLE_POOL_WAIT_MS 5000

/* What every page answers with: no script at all, no framing, no referrer. */
static const char *const security_headers[][2] = {
    {"Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Content-Type-Options", "nosniff"},
    {"Cache-Control", "no-store"},
};

struct connection_state {
	struct dynbuf body;
	bool too_large;
};

static void client_address(struct MHD_Connection *mhd, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;
	const char *real_ip = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, "X-Real-IP");

	snprintf(out, size, "unknown");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)size);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          out, (socklen_t)size);
	/* Behind the nginx site the peer is loopback: its X-Real-IP names the
	 * browser (only a local process could forge it). */
	if (real_ip != NULL && real_ip[0] != '\0' && strlen(real_ip) < size &&
	    (strcmp(out, "127.0.0.1") == 0 || strcmp(out, "::1") == 0))
		snprintf(out, size, "%s", real_ip);
}

/* Loads the session named by the cookie, if any and unexpired. */
static int load_session(struct console_request *req, struct cn_error *err)
{
	const char *cookies = MHD_lookup_connection_value(req->mhd, MHD_HEADER_KIND, "Cookie");
	char id[RANDOM_TOKEN_HEX + 8];
	int rc;

	if (!html_cookie_value(cookies, CONSOLE_COOKIE, id, sizeof(id)) ||
	    strlen(id) != RANDOM_TOKEN_HEX - 1)
		return CN_OK;
	random_sha256_hex(id, req->session_hash);
	rc = store_console_session_get(req->db, req->session_hash, &req->session, err);
	if (rc == CN_NOT_FOUND)
		return CN_OK;
	if (rc == CN_OK)
		req->signed_in = true;
	return rc;
}

/* A POST must carry the session's CSRF token in its form. */
static bool csrf_ok(const struct console_request *req)
{
	char token[128];

	return html_form_field(req->body, "csrf", token, sizeof(token)) &&
	       html_token_equal(token, req->session.csrf_token);
}

/* Splits "/orders/{connection}/{order_id}[/retry]". */
static bool order_path(const char *path, char *connection, size_t connection_size, char *order_id,
                       size_t order_id_size, bool *retry)
{
	const char *p = path + strlen("/orders/");
	const char *slash = strchr(p, '/');
	const char *end;

	if (strncmp(path, "/orders/", 8) != 0 || slash == NULL || slash == p ||
	    (size_t)(slash - p) >= connection_size)
		return false;
	snprintf(connection, connection_size, "%.*s", (int)(slash - p), p);
	p = slash + 1;
	end = strchr(p, '/');
	*retry = end != NULL && strcmp(end, "/retry") == 0;
	if (end != NULL && !*retry)
		return false;
	if (end == NULL)
		end = p + strlen(p);
	if (end == p || (size_t)(end - p) >= order_id_size)
		return false;
	snprintf(order_id, order_id_size, "%.*s", (int)(end - p), p);
	return true;
}

/* Pages that need a signed-in user. */
static int route_signed_in(struct console_request *req, struct console_reply *reply)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	bool post = strcmp(req->method, "POST") == 0;
	char connection[64], order_id[256];
	bool retry = false;

	if (post && !csrf_ok(req))
		return console_error_page(req, reply, 403,
		                          "This form is out of date or was not sent by the console "
		                          "(its security token is missing or wrong). Go back, "
		                          "reload the page and try again.");
	if (post && strcmp(req->path, "/logout") == 0)
		return console_logout(req, reply);
	if (get && strcmp(req->path, "/") == 0)
		return console_page_overview(req, reply);
	if (get && strcmp(req->path, "/orders") == 0)
		return console_page_orders(req, reply);
	if (strcmp(req->path, "/reconcile") == 0 && (get || post))
		return get ? console_page_reconcile(req, reply)
		           : console_reconcile_submit(req, reply);
	if (order_path(req->path, connection, sizeof(connection), order_id, sizeof(order_id),
	               &retry)) {
		if (retry && post)
			return console_retry(req, reply, connection, order_id);
		if (!retry && get)
			return console_page_order(req, reply, connection, order_id);
		return console_error_page(req, reply, 405, "That method is not allowed here.");
	}
	return console_error_page(req, reply, 404, "There is no such page.");
}

static int route(struct console_request *req, struct console_reply *reply)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	struct cn_error err = {""};

	if (get && strcmp(req->path, "/static/console.css") == 0) {
		reply->content_type = "text/css; charset=utf-8";
		return dynbuf_add(&reply->html, console_css, console_css_len);
	}
	if (strcmp(req->path, "/favicon.ico") == 0)
		return console_error_page(req, reply, 404, "There is no such file.");
	if (load_session(req, &err) != CN_OK) {
		log_warn("console_database_error", "error", err.message, NULL);
		return console_error_page(req, reply, 503,
		                          "The database cannot be reached just now; try again in a "
		                          "minute.");
	}
	if (strcmp(req->path, "/login") == 0) {
		if (get)
			return console_page_login(req, reply);
		if (strcmp(req->method, "POST") == 0)
			return console_login_submit(req, reply);
		return console_error_page(req, reply, 405, "That method is not allowed here.");
	}
	if (!req->signed_in) {
		console_redirect(reply, "/login");
		return CN_OK;
	}
	return route_signed_in(req, reply);
}

static enum MHD_Result send_reply(struct MHD_Connection *mhd, struct console_reply *reply)
{
	struct MHD_Response *response = MHD_create_response_from_buffer(
	    dynbuf_len(&reply->html), (void *)dynbuf_ptr(&reply->html), MHD_RESPMEM_MUST_COPY);
	enum MHD_Result result;

	if (response == NULL)
		return MHD_NO;
	for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
		MHD_add_response_header(response, security_headers[i][0], security_headers[i][1]);
	MHD_add_response_header(response, "Content-Type",
	                        reply->content_type != NULL ? reply->content_type
	                                                    : "text/html; charset=utf-8");
	if (reply->location[0] != '\0')
		MHD_add_response_header(response, "Location", reply->location);
	for (size_t i = 0; i < 2; i++)
		if (reply->cookie[i][0] != '\0')
			MHD_add_response_header(response, "Set-Cookie", reply->cookie[i]);
	result = MHD_queue_response(mhd, reply->status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result handle(struct console *console, struct MHD_Connection *mhd, const char *url,
                              const char *method, const char *body)
{
	struct console_request req = {
	    .console = console, .mhd = mhd, .method = method, .path = url, .body = body};
	struct console_reply reply = {.status = 200};
	struct cn_error err = {""};
	enum MHD_Result result;
	bool broken = false;
	int rc;

	client_address(mhd, req.address, sizeof(req.address));
	dynbuf_init(&reply.html, CONSOLE_PAGE_MAX);
	if (store_pool_acquire(console->pool, CONSOLE_POOL_WAIT_MS, &req.db, &err) != CN_OK) {
		log_warn("console_database_error", "error", err.message, NULL);
		rc = console_error_page(&req, &reply, 503,
		                        "The database cannot be reached just now; try again in a "
		                        "minute.");
	} else {
		rc = route(&req, &reply);
		broken = store_conn_broken(req.db);
		store_pool_release(console->pool, req.db, broken);
	}
	if (rc != CN_OK) {
		dynbuf_reset(&reply.html);
		reply.status = 500;
		reply.location[0] = '\0';
		reply.content_type = "text/plain; charset=utf-8";
		if (dynbuf_adds(&reply.html, "The console could not build this page.\n") != CN_OK)
			reply.html.len = 0;
	}
	result = send_reply(mhd, &reply);
	dynbuf_free(&reply.html);
	return result;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mhd, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct connection_state *state = *con_cls;

	(void)version;
	if (state == NULL) {
		state = calloc(1, sizeof(*state));
		if (state == NULL)
			return MHD_NO;
		dynbuf_init(&state->body, CONSOLE_BODY_MAX);
		*con_cls = state;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (dynbuf_add(&state->body, upload_data, *upload_data_size) != CN_OK)
			state->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (state->too_large) {
		struct console_reply reply = {.status = 413};

		dynbuf_init(&reply.html, 256);
		reply.content_type = "text/plain; charset=utf-8";
		if (dynbuf_adds(&reply.html, "The form is too large.\n") != CN_OK)
			return MHD_NO;
		enum MHD_Result result = send_reply(mhd, &reply);
		dynbuf_free(&reply.html);
		return result;
	}
	return handle(cls, mhd, url, method, dynbuf_ptr(&state->body));
}

static void on_completed(void *cls, struct MHD_Connection *mhd, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
	struct connection_state *state = *con_cls;

	(void)cls;
	(void)mhd;
	(void)code;
	if (state == NULL)
		return;
	dynbuf_free(&state->body);
	free(state);
	*con_cls = NULL;
}

static int bind_address(const struct config *config, struct addrinfo **out, struct cn_error *err)
{
	struct addrinfo hints;
	char host[256], port[16];
	size_t len;
	int gai;

	snprintf(host, sizeof(host), "%s", config->console_listen_host);
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		memmove(host, host + 1, len - 2);
		host[len - 2] = '\0';
	}
	snprintf(port, sizeof(port), "%d", config->console_listen_port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, out);
	if (gai != 0) {
		error_set(err, "cannot resolve console.listen host %s: %s", host,
		          gai_strerror(gai));
		return CN_INVALID;
	}
	return CN_OK;
}

int console_start(const struct runtime *runtime, struct console **out, struct cn_error *err)
{
	const struct config *config = runtime->config;
	unsigned int flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	struct addrinfo *address = NULL;
	const union MHD_DaemonInfo *info;
	struct console *console;

	*out = NULL;
	if (config->console_listen_host == NULL)
		return CN_OK;
	console = error_calloc_start(sizeof(*console), "the console", err);
	if (console == NULL)
		return CN_ERR;
	console->runtime = runtime;
	console->config = config;
	pthread_mutex_init(&console->mutex, NULL);
	pthread_cond_init(&console->wake, NULL);
	if (store_pool_create(config->database_conninfo, CONSOLE_POOL_SIZE, &console->pool, err) !=
	        CN_OK ||
	    console_runner_start(console, err) != CN_OK ||
	    bind_address(config, &address, err) != CN_OK)
		goto fail;
	if (address->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	console->daemon =
	    MHD_start_daemon(flags, (uint16_t)config->console_listen_port, NULL, NULL, on_request,
	                     console, MHD_OPTION_SOCK_ADDR, address->ai_addr,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONSOLE_MAX_CONNECTIONS,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONSOLE_TIMEOUT_SECONDS,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, console, MHD_OPTION_END);
	freeaddrinfo(address);
	if (console->daemon == NULL) {
		error_set(err, "cannot listen on console.listen %s:%d (is the port in use?)",
		          config->console_listen_host, config->console_listen_port);
		goto fail;
	}
	info = MHD_get_daemon_info(console->daemon, MHD_DAEMON_INFO_BIND_PORT);
	console->port = info != NULL ? info->port : (unsigned int)config->console_listen_port;
	*out = console;
	return CN_OK;
fail:
	console_stop(console);
	return CN_ERR;
}

unsigned int console_port(const struct console *console)
{
	return console != NULL ? console->port : 0;
}

void console_stop(struct console *console)
{
	if (console == NULL)
		return;
	if (console->daemon != NULL)
		MHD_stop_daemon(console->daemon);
	console_runner_stop(console);
	store_pool_free(console->pool);
	pthread_mutex_destroy(&console->mutex);
	pthread_cond_destroy(&console->wake);
	free(console->reconcile_wanted);
	free(console->reconcile_running);
	free(console);
}
