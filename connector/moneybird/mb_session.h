/*
 * One connection's Moneybird session: the HTTP client of that connection
 * with every request gated by the shared rate budget (the token's limits
 * from the connection's moneybird.rate_limit). Built here only, so each
 * caller states just what differs: the priority, how long a call may wait
 * in-process for a slot, and who else hears about each call (metrics,
 * audit). The session is used in place: the client's hooks point into it.
 */
#ifndef BM_MB_SESSION_H
#define BM_MB_SESSION_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "budget.h"
#include "config.h"
#include "error.h"
#include "mb_client.h"

struct mb_session_options {
	enum budget_priority priority;
	int max_wait_ms; /* > 0: wait in-process that long for a budget slot */
	long timeout_ms; /* total per request; 0 = the client's default */
	/* Called after every call, sent or not (metrics, audit); may be NULL. */
	void (*after_call)(void *ctx, const struct mb_call *call);
	void *after_ctx;
};

struct mb_session {
	const struct connection_config *connection;
	bool gated; /* false: calls go out without the shared budget */
	struct budget_gate gate;
	struct mb_client *client;
};

/* The budget limits of a connection (its moneybird.rate_limit). */
void mb_session_limits(const struct connection_config *connection, struct budget_limits *out);

/*
 * Creates the connection's client in *session (which must stay where it
 * is until mb_session_close). budget_conn is borrowed for the budget and
 * must outlive the session; NULL sends without the shared budget (an
 * operator command when PostgreSQL is not reachable).
 */
int mb_session_open(struct mb_session *session, const struct connection_config *connection,
                    PGconn *budget_conn, const struct mb_session_options *options,
                    struct cn_error *err) MUST_CHECK;

/* Points the budget at another database connection (after a reconnect). */
void mb_session_set_conn(struct mb_session *session, PGconn *budget_conn);

/* Frees the client; the session may be opened again. NULL is fine. */
void mb_session_close(struct mb_session *session);

#endif
