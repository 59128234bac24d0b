/*
 * The job queue on top of PostgreSQL. A worker claims one ready job with
 * FOR UPDATE SKIP LOCKED and holds it under a lease (expired leases are
 * claimed again, so a crashed worker loses nothing), then finishes it:
 * done, skipped, retry later (backoff with jitter, persisted as
 * next_attempt_at), parked for a person, or released untouched. Each finish
 * moves the order's state and writes one audit row in the same transaction.
 */
#ifndef BM_QUEUE_H
#define BM_QUEUE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define QUEUE_OWNER_MAX 96
#define QUEUE_OWNER_NONCE_BYTES 8 /* the per-process random part of an owner */

struct queue_job {
	int64_t id;
	int64_t order_pk;
	int64_t connection_id;
	char kind[32];
	int attempts; /* including this one */
	char step[32];
	int64_t lease_generation; /* the fencing token of this claim */
};

/*
 * Pure: the lease owner of worker thread index in this process,
 * "host:pid:nonce:index" (host cut to 40 bytes). nonce is random per
 * process (hex), so two processes never share a name even when both are PID
 * 1 of containers with the same hostname; a shutdown releases only the
 * leases it holds itself.
 */
void queue_owner_format(char out[QUEUE_OWNER_MAX], const char *host, long pid, const char *nonce,
                        int index);

/* Calls a claimed job is expected to spend: a connection is claimed from only
 * while its budget has this many calls free for each of its jobs already in
 * flight, and one more. So a budget-bound connection keeps one job waiting
 * for its next slot, not every worker, and a backlog behind an exhausted
 * budget is not claimed at all. */
#define QUEUE_CLAIM_CALLS_PER_JOB 4
#define QUEUE_CLAIM_TRIES 3 /* picks per claim when concurrent claims race */

/* Claims the next ready job for owner; CN_NOT_FOUND when none is ready, a
 * failure as store_query reports it (CN_RETRYABLE: the connection is lost,
 * and the caller must reconnect). Fair and budget-aware: among the
 * connections with a due job and rate budget to spend now (see
 * QUEUE_CLAIM_CALLS_PER_JOB and queue_register_budgets), the one claimed
 * from longest ago, then its job by priority and due time; max_in_flight > 0
 * skips a connection that already has that many jobs under this process's
 * leases (owner's "host:pid:nonce:" part), so one connection's backlog never
 * holds every worker. The order becomes in_progress and its attempts counter
 * grows by one; the job's lease generation grows by one
 * (job->lease_generation), so every write fenced by an older claim is
 * refused from then on. */
int queue_claim(PGconn *conn, const char *owner, int lease_seconds, int max_in_flight,
                struct queue_job *job, struct cn_error *err) MUST_CHECK;

/* Extends the lease before a long step; CN_NOT_FOUND when it was lost
 * (another claim took the job: the owner or the generation differs). Every
 * transition below is guarded the same way. */
int queue_extend_lease(PGconn *conn, const struct queue_job *job, const char *owner,
                       int lease_seconds, struct cn_error *err) MUST_CHECK;

/* The order reached its final state: "synced" or "skipped". */
int queue_finish(PGconn *conn, const struct queue_job *job, const char *owner,
                 const char *order_state, const char *reason, struct cn_error *err) MUST_CHECK;

/* Transient failure: retry after delay_seconds (state retrying). */
int queue_retry_later(PGconn *conn, const struct queue_job *job, const char *owner,
                      int64_t delay_seconds, const char *reason, struct cn_error *err) MUST_CHECK;

/* Not a failure, only not yet (the rate budget or a 429): ready again at
 * until_ms (epoch ms of the database's clock, e.g. when the budget frees; a
 * moment past is at once) without counting the attempt, so a backlog waiting
 * for the budget never reaches max_attempts (state retrying). */
int queue_defer(PGconn *conn, const struct queue_job *job, const char *owner, int64_t until_ms,
                const char *reason, struct cn_error *err) MUST_CHECK;

/* How long (ms, >= 0) until the next pending job of an unpaused connection
 * can be claimed (its next_attempt_at, or the end of a lease it is still
 * under, but not before its connection's budget can pay for it);
 * a connection at queue_claim's max_in_flight for owner's process counts
 * only once one of its jobs finishes; CN_NOT_FOUND when no job is pending. Lets an idle worker wake
 * exactly when deferred work is due instead of polling. */
int queue_next_ready_ms(PGconn *conn, const char *owner, int max_in_flight, int64_t *delay_ms,
                        struct cn_error *err) MUST_CHECK;

/* One connection's rate budget as the claim sees it. */
struct queue_budget {
	int64_t connection_id;
	const char *budget_key; /* hex SHA-256 of the token; NULL or "" = unknown */
	int requests;           /* live calls per window */
	int64_t window_ms;
};

/* Stores the budgets of count connections in one statement (serve's start),
 * so the claim can tell which connections can spend now. */
int queue_register_budgets(PGconn *conn, const struct queue_budget *budgets, size_t count,
                           struct cn_error *err) MUST_CHECK;

/* The ids of the paused connections (one query whatever their number);
 * *ids is the caller's to free, NULL when there are none. */
int queue_paused_connections(PGconn *conn, int64_t **ids, size_t *count,
                             struct cn_error *err) MUST_CHECK;

/* Needs a person: state needs_attention with reason as last_error. */
int queue_park(PGconn *conn, const struct queue_job *job, const char *owner, const char *reason,
               struct cn_error *err) MUST_CHECK;

/* Gives the job back without counting the attempt (shutdown, paused
 * connection); the order returns to queued. */
int queue_release(PGconn *conn, const struct queue_job *job, const char *owner, const char *why,
                  struct cn_error *err) MUST_CHECK;

/* Releases every lease this owner still holds (clean shutdown). */
int queue_release_all(PGconn *conn, const char *owner, struct cn_error *err) MUST_CHECK;

#define QUEUE_BACKOFF_BASE_SECONDS 10 /* the first step; doubles per attempt */
#define QUEUE_BACKOFF_CAP_SECONDS 3600

/* Pure: capped exponential backoff with jitter. The step starts at
 * base_seconds (at least 1) and doubles per attempt up to an hour;
 * attempt >= 1; random_unit in [0, 1) picks a delay between half and all of
 * the step. */
int64_t queue_backoff_seconds(int64_t base_seconds, int attempt, double random_unit);

#endif
