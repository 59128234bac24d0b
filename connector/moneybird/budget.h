/*
 * The shared Moneybird rate budget. Moneybird allows a fixed number of calls
 * per window (150 per 300 s); every thread, process and host using one API
 * token must together stay under it, so the budget is a sliding log of calls
 * kept in PostgreSQL per token (keyed by the token's SHA-256, never the token).
 * Unlike a refilling bucket, a sliding log never lets more than `requests`
 * calls into ANY window. A small margin is added to the window because a
 * granted call reaches Moneybird a little later than it was logged. A 429
 * pauses the token until its reset epoch. Live order work may use the whole
 * budget; background work (reconciliation, replay) only while more than the
 * reserved share is left, so live orders are never starved.
 */
#ifndef BM_BUDGET_H
#define BM_BUDGET_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "mb_client.h"

#define BUDGET_KEY_SIZE 65 /* 64 hex digits + NUL */
#define BUDGET_DEFAULT_RESERVE_PERCENT 20

enum budget_priority {
	BUDGET_LIVE = 0,       /* live order work */
	BUDGET_BACKGROUND = 1, /* reconciliation, replay, operator listings */
};

struct budget_limits {
	int requests;                   /* calls allowed per window, >= 1 */
	int per_seconds;                /* the window, >= 1 */
	int background_reserve_percent; /* share kept for live work; 0 = default 20 */
};

/* Hex SHA-256 of the token: the budget's key. */
int budget_token_key(const char *api_token, char key[BUDGET_KEY_SIZE],
                     struct cn_error *err) MUST_CHECK;

/* Calls a priority may have in one window (live: all; background: what is
 * left above the reserve, at least 1). Pure. */
int budget_allowed(const struct budget_limits *limits, enum budget_priority priority);

/* The window the log enforces: per_seconds plus a margin of 1 % (>= 50 ms)
 * for clocks and for calls whose finish could not be stamped (a crash). */
int64_t budget_window_ms(const struct budget_limits *limits);

/* Records one call and returns 0 when it may be made now; CN_RETRYABLE with
 * *retry_at_ms (epoch ms) when no slot is free or the token is paused. Use a
 * connection that is not inside a transaction. */
int budget_acquire(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                   enum budget_priority priority, int64_t *retry_at_ms,
                   struct cn_error *err) MUST_CHECK;

/* budget_acquire, sleeping until the moment a slot frees (the oldest call
 * leaving the window, or the pause's end) as long as that is at most
 * max_wait_ms away; CN_RETRYABLE at once when it is further. */
int budget_acquire_wait(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                        enum budget_priority priority, int max_wait_ms, int64_t *retry_at_ms,
                        struct cn_error *err) MUST_CHECK;

/* A 429 arrived: pause the token until reset_epoch (0 = not given). */
int budget_rate_limited(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                        int64_t reset_epoch, struct cn_error *err) MUST_CHECK;

struct budget_state {
	int requests;            /* per window */
	int used;                /* calls in the current window */
	int remaining;           /* requests - used, >= 0; 0 while paused */
	int64_t paused_until_ms; /* epoch ms, 0 = not paused */
};

/* When a call of this priority could be granted next (epoch ms of the
 * database's clock; now when a slot is free), the pause included: for
 * rescheduling work that could not wait in-process. Takes nothing. */
int budget_next_free_ms(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                        enum budget_priority priority, int64_t *at_ms,
                        struct cn_error *err) MUST_CHECK;

/* What is left now (for `status`). */
int budget_read(PGconn *conn, const char *token_key, const struct budget_limits *limits,
                struct budget_state *out, struct cn_error *err) MUST_CHECK;

#define BUDGET_STAMP_SIZE 64

/*
 * Glue for struct mb_client_hooks: gates every request of a client through
 * the budget, moves the call's log entry to when it finished (so the window
 * counts from when Moneybird had it, whatever the latency), and pauses the
 * token on a 429. conn is borrowed and must outlive the client; max_wait_ms
 * > 0 lets the gate wait that long in-process for a slot (see
 * budget_acquire_wait) instead of refusing the call.
 */
struct budget_gate {
	PGconn *conn;
	char token_key[BUDGET_KEY_SIZE];
	struct budget_limits limits;
	enum budget_priority priority;
	int max_wait_ms;
	char granted_stamp[BUDGET_STAMP_SIZE]; /* the call in flight, "" = none */
	/* Chained after_call (metrics), may be NULL. */
	void (*next_after_call)(void *ctx, const struct mb_call *call);
	void *next_ctx;
};

int budget_gate_init(struct budget_gate *gate, PGconn *conn, const char *api_token,
                     const struct budget_limits *limits, enum budget_priority priority,
                     int max_wait_ms, struct cn_error *err) MUST_CHECK;
/* Fills hooks so the client calls through gate. */
void budget_gate_hooks(struct budget_gate *gate, struct mb_client_hooks *hooks);

#endif
