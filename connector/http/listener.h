/*
 * One HTTP listener (GNU libmicrohttpd) that clients who do nothing cannot
 * starve: a few event threads (epoll) hold every connection, so an idle or
 * slow one costs memory, not a thread; connections are capped in total and
 * per client address; a request must arrive whole (headers and body) within
 * a deadline, however slowly it trickles; the body is captured with a hard
 * cap. Answers that may block (a commit, a database query) run on a bounded
 * set of handler threads while their connection is suspended, so the event
 * threads never wait on PostgreSQL and /healthz-like answers stay instant.
 *
 * The routes are the application's (struct listener_app); the intake's are
 * in httpd.c. Several listeners, each with its own limits, may run at once.
 */
#ifndef BM_LISTENER_H
#define BM_LISTENER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct listener;

/* Every limit of one listener. */
struct listener_limits {
	const char *host;                /* IPv4, localhost, or IPv6 (bracketed or not) */
	int port;                        /* 0 = any free port */
	int event_threads;               /* epoll threads holding the connections */
	int handler_threads;             /* threads running blocking answers */
	int max_connections;             /* open connections in total */
	int max_connections_per_address; /* open connections from one client address */
	int idle_timeout_seconds;        /* an idle keep-alive connection is closed */
	int request_deadline_seconds;    /* a request must arrive whole within it */
	long max_body_bytes;             /* larger bodies: too_large */
};

/* What the application decided about a request once its headers arrived. */
enum listener_verdict {
	LISTENER_ANSWERED, /* answer was filled: send it, discard any body */
	LISTENER_INLINE,   /* take the body, then call answer on the event thread */
	LISTENER_BLOCKING, /* take the body, then call answer on a handler thread */
};

/* An answer: status, content type (static) and a body (malloc'd, owned). */
struct listener_answer {
	unsigned int status;
	const char *content_type;
	char *body;
	size_t body_len;
};

/* One request as the application sees it. */
struct listener_call {
	struct MHD_Connection *connection; /* headers: MHD_lookup_connection_value */
	const char *url;
	const char *method;
	int route;    /* the application's, set by begin */
	size_t index; /* the application's, set by begin */
	const unsigned char *body;
	size_t body_len;
	bool too_large; /* the body went past max_body_bytes (and was dropped) */
};

struct listener_app {
	void *cls;
	/* Headers are complete: route the request, or answer it at once. */
	enum listener_verdict (*begin)(void *cls, struct listener_call *call,
	                               struct listener_answer *answer);
	/* The whole request is there: answer it. On a handler thread the
	 * connection is suspended and its headers can still be read. */
	void (*answer)(void *cls, const struct listener_call *call, struct listener_answer *answer);
	const char *log_name; /* the listener's name in log lines */
};

/* Fills answer with a JSON body (copied). */
void listener_answer_json(struct listener_answer *answer, unsigned int status, const char *json);

/* Fills answer with {"error":"<sentence>"}. */
void listener_answer_error(struct listener_answer *answer, unsigned int status,
                           const char *sentence);

/* Starts listening; *out is owned by the caller (listener_stop). The app
 * must outlive the listener. */
int listener_start(const struct listener_limits *limits, const struct listener_app *app,
                   struct listener **out, struct cn_error *err) MUST_CHECK;

/* The port actually bound (useful with port 0). */
unsigned int listener_port(const struct listener *listener);

/* Requests closed for missing their deadline so far. */
unsigned long listener_deadline_closes(const struct listener *listener);

/* Stops accepting, lets the answers in progress finish and be sent (for a
 * few seconds at most), closes everything and frees it. */
void listener_stop(struct listener *listener);

#endif
