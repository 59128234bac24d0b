#include "listener.h"

#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dynbuf.h"
#include "listener_guard.h"
#include "listener_pool.h"
#include "log.h"

#define STOP_FLUSH_MS 3000 /* longest wait for answers in progress at stop */

struct listener {
	struct MHD_Daemon *daemon;
	struct listener_limits limits;
	struct listener_app app;
	struct listener_guard *guard;
	struct listener_pool *pool;
	unsigned int port;
};

/* Per-request state, from the first callback to the completion callback. */
struct request {
	struct listener *listener;
	struct listener_call call;
	struct listener_answer answer;
	enum listener_verdict verdict;
	struct dynbuf body; /* capped at max_body_bytes */
	bool answer_ready;  /* answer is filled (a handler thread is done with it) */
	bool sent;          /* the answer was queued */
	bool in_handler;    /* given to a handler thread */
	struct guard_entry *entry;
	struct pool_job job;
};

void listener_answer_json(struct listener_answer *answer, unsigned int status, const char *json)
{
	free(answer->body);
	answer->status = status;
	answer->content_type = "application/json";
	answer->body = strdup(json);
	answer->body_len = answer->body != NULL ? strlen(json) : 0;
}

void listener_answer_error(struct listener_answer *answer, unsigned int status,
                           const char *sentence)
{
	char json[512];

	snprintf(json, sizeof(json), "{\"error\":\"%s\"}", sentence);
	listener_answer_json(answer, status, json);
}

static enum MHD_Result queue_answer(struct MHD_Connection *connection, struct request *request)
{
	struct listener_answer *answer = &request->answer;
	struct MHD_Response *response;
	enum MHD_Result result;

	request->sent = true;
	if (answer->body == NULL)
		return MHD_NO; /* out of memory: close the connection */
	response =
	    MHD_create_response_from_buffer(answer->body_len, answer->body, MHD_RESPMEM_MUST_FREE);
	if (response == NULL)
		return MHD_NO;
	answer->body = NULL; /* the response owns it */
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer->content_type);
	result = MHD_queue_response(connection, answer->status, response);
	MHD_destroy_response(response);
	return result;
}

/* Runs on a handler thread while the connection is suspended; resuming it
 * is the last touch: the event thread may finish the request at once. */
static void answer_on_handler(struct pool_job *job)
{
	struct request *request = (struct request *)((char *)job - offsetof(struct request, job));
	struct listener *listener = request->listener;

	listener->app.answer(listener->app.cls, &request->call, &request->answer);
	request->answer_ready = true;
	MHD_resume_connection(request->call.connection);
}

static struct guard_entry *entry_of(struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info != NULL ? info->socket_context : NULL;
}

static enum MHD_Result first_call(struct listener *listener, struct MHD_Connection *connection,
                                  const char *url, const char *method, void **con_cls)
{
	struct request *request = calloc(1, sizeof(*request));

	if (request == NULL)
		return MHD_NO;
	request->listener = listener;
	request->entry = entry_of(connection);
	request->call.connection = connection;
	request->call.url = url;
	request->call.method = method;
	dynbuf_init(&request->body, (size_t)listener->limits.max_body_bytes);
	*con_cls = request;
	request->verdict = listener->app.begin(listener->app.cls, &request->call, &request->answer);
	if (request->verdict == LISTENER_ANSWERED)
		return queue_answer(connection, request);
	return MHD_YES;
}

/* The whole request is there: answer it here or on a handler thread. */
static enum MHD_Result last_call(struct listener *listener, struct MHD_Connection *connection,
                                 struct request *request)
{
	if (request->answer_ready)
		return queue_answer(connection, request);
	if (request->in_handler)
		return MHD_YES; /* not resumed by us: nothing to do yet */
	request->call.body = (const unsigned char *)dynbuf_ptr(&request->body);
	request->call.body_len = dynbuf_len(&request->body);
	guard_answering(listener->guard, request->entry);
	if (request->verdict == LISTENER_INLINE) {
		listener->app.answer(listener->app.cls, &request->call, &request->answer);
		return queue_answer(connection, request);
	}
	request->in_handler = true;
	request->job.run = answer_on_handler;
	MHD_suspend_connection(connection);
	listener_pool_submit(listener->pool, &request->job);
	return MHD_YES;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
	struct listener *listener = cls;
	struct request *request = *con_cls;

	(void)version;
	if (request == NULL)
		return first_call(listener, connection, url, method, con_cls);
	if (request->sent) {
		*upload_data_size = 0; /* discard the rest of a refused body */
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!request->call.too_large &&
		    dynbuf_add(&request->body, upload_data, *upload_data_size) != CN_OK) {
			request->call.too_large = true;
			dynbuf_free(&request->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return last_call(listener, connection, request);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode code)
{
	struct listener *listener = cls;
	struct request *request = *con_cls;

	(void)code;
	guard_request_done(listener->guard, entry_of(connection));
	if (request == NULL)
		return;
	dynbuf_free(&request->body);
	free(request->answer.body);
	free(request);
	*con_cls = NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
	struct listener *listener = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
		    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context =
		    info != NULL ? guard_add(listener->guard, info->connect_fd) : NULL;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		guard_remove(listener->guard, *socket_context);
		*socket_context = NULL;
	}
}

static void mhd_log(void *cls, const char *format, va_list ap)
{
	const struct listener *listener = cls;
	char message[512];
	size_t len;

	vsnprintf(message, sizeof(message), format, ap);
	len = strlen(message);
	while (len > 0 && message[len - 1] == '\n')
		message[--len] = '\0';
	log_warn("http_server", "listener", listener->app.log_name, "message", message, NULL);
}

/* Every connection is a file descriptor: make sure the limit allows them
 * all (systemd's default soft limit is 1024), as far as the hard limit goes. */
static void raise_fd_limit(int connections)
{
	struct rlimit limit;
	rlim_t wanted = (rlim_t)connections + 256;

	if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted)
		return;
	limit.rlim_cur =
	    limit.rlim_max == RLIM_INFINITY || limit.rlim_max > wanted ? wanted : limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < wanted) {
		char have[24];

		snprintf(have, sizeof(have), "%lu", (unsigned long)limit.rlim_cur);
		log_warn("http_fd_limit_low", "open_files", have, "hint",
		         "raise LimitNOFILE: the connection limit cannot be reached", NULL);
	}
}

static int resolve(const char *host_text, int port, struct addrinfo **out, struct cn_error *err)
{
	struct addrinfo hints;
	char host[256], port_text[16];
	size_t host_len;
	int gai;

	snprintf(host, sizeof(host), "%s", host_text);
	host_len = strlen(host);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		memmove(host, host + 1, host_len - 2);
		host[host_len - 2] = '\0';
	}
	snprintf(port_text, sizeof(port_text), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host, port_text, &hints, out);
	if (gai != 0) {
		error_set(err, "cannot resolve listen host %s: %s", host, gai_strerror(gai));
		return CN_INVALID;
	}
	return CN_OK;
}

static struct MHD_Daemon *start_daemon(struct listener *listener, const struct addrinfo *address)
{
	const struct listener_limits *limits = &listener->limits;
	unsigned int flags =
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (address->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(
	    flags, (uint16_t)limits->port, NULL, NULL, handle_request, listener,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, listener, MHD_OPTION_SOCK_ADDR, address->ai_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)limits->event_threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)limits->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)limits->max_connections_per_address,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)limits->idle_timeout_seconds,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, listener, MHD_OPTION_NOTIFY_CONNECTION,
	    notify_connection, listener, MHD_OPTION_END);
}

int listener_start(const struct listener_limits *limits, const struct listener_app *app,
                   struct listener **out, struct cn_error *err)
{
	struct addrinfo *address = NULL;
	struct listener *listener;
	const union MHD_DaemonInfo *info;
	int rc;

	*out = NULL;
	rc = resolve(limits->host, limits->port, &address, err);
	if (rc != CN_OK)
		return rc;
	listener = calloc(1, sizeof(*listener));
	if (listener == NULL) {
		freeaddrinfo(address);
		error_set(err, "out of memory");
		return CN_ERR;
	}
	listener->limits = *limits;
	listener->app = *app;
	raise_fd_limit(limits->max_connections);
	if (guard_start(limits->request_deadline_seconds * 1000, app->log_name, &listener->guard,
	                err) != CN_OK ||
	    listener_pool_start(limits->handler_threads, &listener->pool, err) != CN_OK) {
		freeaddrinfo(address);
		guard_stop(listener->guard);
		free(listener);
		return CN_ERR;
	}
	listener->daemon = start_daemon(listener, address);
	freeaddrinfo(address);
	if (listener->daemon == NULL) {
		error_set(err, "cannot listen on %s:%d (is the port in use?)", limits->host,
		          limits->port);
		listener_pool_stop(listener->pool);
		listener_pool_free(listener->pool);
		guard_stop(listener->guard);
		free(listener);
		return CN_ERR;
	}
	info = MHD_get_daemon_info(listener->daemon, MHD_DAEMON_INFO_BIND_PORT);
	listener->port = info != NULL ? info->port : (unsigned int)limits->port;
	*out = listener;
	return CN_OK;
}

unsigned int listener_port(const struct listener *listener)
{
	return listener->port;
}

unsigned long listener_deadline_closes(const struct listener *listener)
{
	return guard_closes(listener->guard);
}

void listener_stop(struct listener *listener)
{
	MHD_socket listen_fd;

	if (listener == NULL)
		return;
	/* No new connections; the answers in progress run to their end, and
	 * the event threads get a moment to send them before all is closed. */
	listen_fd = MHD_quiesce_daemon(listener->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	listener_pool_stop(listener->pool);
	for (int waited = 0; waited < STOP_FLUSH_MS && guard_answering_count(listener->guard) > 0;
	     waited += 10) {
		struct timespec pause = {0, 10 * 1000000L};

		nanosleep(&pause, NULL);
	}
	MHD_stop_daemon(listener->daemon);
	listener_pool_free(listener->pool);
	guard_stop(listener->guard);
	free(listener);
}
