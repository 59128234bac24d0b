/*
 * The SQL behind the shared Moneybird rate budget (see budget.h): a sliding
 * log of granted calls per token key in rate_budget_calls, a per-token row in
 * rate_budgets whose lock serialises grants and which holds the pause set by
 * a 429. Call these outside an open transaction so the row lock is held only
 * for the one statement.
 */
#ifndef BM_STORE_BUDGET_H
#define BM_STORE_BUDGET_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define STORE_BUDGET_STAMP_MAX 64 /* a timestamptz as PostgreSQL prints it */
#define STORE_BUDGET_KEY_SIZE 65  /* a token key: 64 hex digits + NUL */

/* Calls left in the window: requests - used, at least 0; 0 while paused. */
int store_budget_remaining(int requests, int used, int64_t paused_until_ms);

/* Grants one call if fewer than `allowed` were granted in the last window_ms.
 * *granted tells which; *retry_at_ms is the epoch ms (rounded up) when a slot
 * frees (or the pause ends) when not granted; *used is the count in the
 * window. When granted, stamp (may be NULL) receives the log entry's exact
 * time, for store_budget_stamp. */
int store_budget_take(PGconn *conn, const char *token_key, int allowed, int64_t window_ms,
                      int priority, bool *granted, int64_t *retry_at_ms, int *used,
                      char stamp[STORE_BUDGET_STAMP_MAX], struct cn_error *err) MUST_CHECK;

/* The call logged at stamp has finished: its entry moves to now, so the
 * window counts from when Moneybird certainly had it (it arrived there
 * between the grant and now), not from the grant. Moving an entry later only
 * ever makes the budget stricter. */
int store_budget_stamp(PGconn *conn, const char *token_key, const char *stamp,
                       struct cn_error *err) MUST_CHECK;

/* When a call of `allowed` per window_ms could be granted next, as epoch ms
 * of the database's clock (rounded up; now when a slot is free), the pause
 * included. Takes nothing. */
int store_budget_next_free(PGconn *conn, const char *token_key, int allowed, int64_t window_ms,
                           int64_t *at_ms, struct cn_error *err) MUST_CHECK;

/* Pauses the token until until_epoch (0 = unknown: default_seconds from now),
 * never longer than max_seconds from now; an existing later pause stays. */
int store_budget_pause(PGconn *conn, const char *token_key, int64_t until_epoch,
                       int default_seconds, int max_seconds, struct cn_error *err) MUST_CHECK;

/* Calls in the last window_ms and the pause end (epoch ms, 0 = none). */
int store_budget_read(PGconn *conn, const char *token_key, int64_t window_ms, int *used,
                      int64_t *paused_until_ms, struct cn_error *err) MUST_CHECK;

/* The same for count keys in one statement: used[i] and paused_until_ms[i]
 * of token_keys[i] over window_ms[i] (status and /metrics read every
 * connection's budget at once). */
int store_budget_read_many(PGconn *conn, const char *const *token_keys, const int64_t *window_ms,
                           size_t count, int *used, int64_t *paused_until_ms,
                           struct cn_error *err) MUST_CHECK;

#endif
