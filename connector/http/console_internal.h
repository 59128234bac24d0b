/*
 * What the console's files share (not for the rest of the connector): the
 * console itself, one request as a page sees it, the reply a page builds,
 * and the page and layout functions. One page per file
 * (console_page_*.c); console_server.c routes and guards them.
 */
#ifndef BM_CONSOLE_INTERNAL_H
#define BM_CONSOLE_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "console.h"
#include "dynbuf.h"
#include "html.h"
#include "runtime.h"
#include "store.h"
#include "store_console.h"

#define CONSOLE_COOKIE "bm_console"
#define CONSOLE_LOGIN_COOKIE "bm_login"
#define CONSOLE_PAGE_MAX (4 * 1024 * 1024)
#define CONSOLE_BODY_MAX 16384
#define CONSOLE_ORDERS_PER_PAGE 50

struct console {
	const struct runtime *runtime;
	const struct config *config;
	struct store_pool *pool;
	struct MHD_Daemon *daemon;
	unsigned int port;
	/* The reconcile runner: one request per connection at a time. */
	pthread_t runner;
	bool runner_started;
	pthread_mutex_t mutex;
	pthread_cond_t wake;
	bool stopping;          /* guarded by mutex */
	bool *reconcile_wanted; /* per connection, guarded by mutex */
	bool *reconcile_running;
};

struct console_request {
	struct console *console;
	struct MHD_Connection *mhd;
	const char *method;
	const char *path;
	const char *body; /* the form body of a POST ("" otherwise) */
	PGconn *db;
	bool signed_in;
	struct store_console_session session;
	char session_hash[65];
	char address[64];
};

struct console_reply {
	unsigned int status;
	struct dynbuf html;
	char location[1024]; /* a redirect's target ("" = none) */
	char cookie[2][320]; /* Set-Cookie values ("" = none) */
	const char *content_type;
};

/* The reply is a 303 to location. */
void console_redirect(struct console_reply *reply, const char *location);
/* The reply is a small error page (status, one sentence). */
int console_error_page(struct console_request *req, struct console_reply *reply,
                       unsigned int status, const char *sentence) MUST_CHECK;

/* Layout: the page's head, navigation (with the signed-in user and the
 * logout form) and its end. */
int console_page_begin(struct console_request *req, struct dynbuf *out,
                       const char *title) MUST_CHECK;
int console_page_end(struct dynbuf *out) MUST_CHECK;
/* A hidden input carrying the session's CSRF token. */
int console_csrf_field(struct console_request *req, struct dynbuf *out) MUST_CHECK;
/* Money "EUR 121.00" from cents text. */
int console_money(struct dynbuf *out, const char *cents, const char *currency) MUST_CHECK;
/* An ISO UTC time shown in the connection's zone ("2024-05-02 12:15"); the
 * zone of connection name `connection` (NULL or unknown: UTC). */
int console_time(struct console_request *req, struct dynbuf *out, const char *connection,
                 const char *iso_utc) MUST_CHECK;
/* The path of an order's page, "/orders/{connection}/{order_id}", each
 * part percent-encoded. */
int console_order_href(struct dynbuf *out, const char *connection, const char *order_id) MUST_CHECK;
/* A state as a small labelled badge. */
int console_state(struct dynbuf *out, const char *state) MUST_CHECK;
/* A row of a facts list: <dt>label</dt><dd>text</dd>, text escaped. */
int console_fact(struct dynbuf *out, const char *label, const char *text) MUST_CHECK;
/* The connection's zone name, "UTC" when unknown. */
const char *console_zone_name(struct console_request *req, const char *connection);
bool console_is_operator(const struct console_request *req);

/* The pages. */
int console_page_login(struct console_request *req, struct console_reply *reply) MUST_CHECK;
int console_login_submit(struct console_request *req, struct console_reply *reply) MUST_CHECK;
int console_logout(struct console_request *req, struct console_reply *reply) MUST_CHECK;
int console_page_overview(struct console_request *req, struct console_reply *reply) MUST_CHECK;
int console_page_orders(struct console_request *req, struct console_reply *reply) MUST_CHECK;
int console_page_order(struct console_request *req, struct console_reply *reply,
                       const char *connection, const char *order_id) MUST_CHECK;
int console_retry(struct console_request *req, struct console_reply *reply, const char *connection,
                  const char *order_id) MUST_CHECK;
int console_page_reconcile(struct console_request *req, struct console_reply *reply) MUST_CHECK;
int console_reconcile_submit(struct console_request *req, struct console_reply *reply) MUST_CHECK;

/* The reconcile runner (console_reconcile.c). */
int console_runner_start(struct console *console, struct cn_error *err) MUST_CHECK;
void console_runner_stop(struct console *console);
/* Asks the runner to reconcile connection `index`; false when one is
 * already waiting or running for it. */
bool console_runner_request(struct console *console, size_t index);

/* The embedded stylesheet (deploy/console/console.css). */
extern const char console_css[];
extern const size_t console_css_len;

#endif
