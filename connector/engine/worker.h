/*
 * The sync workers of one process: `workers.count` threads, each with its
 * own PostgreSQL connection, claiming jobs from the shared queue. A listener
 * thread LISTENs for new work and wakes them; a slow fallback poll and a
 * catch-up scan after every reconnect mean a lost notification only delays
 * work. Any number of processes may run against one database.
 */
#ifndef BM_WORKER_H
#define BM_WORKER_H

#include "error.h"
#include "sync.h"

struct worker_pool;

int worker_pool_start(const struct sync_shared *shared, int count, struct worker_pool **out,
                      struct cn_error *err) MUST_CHECK;

/* Stops claiming, lets each worker finish its current job, releases leases
 * and joins the threads. */
void worker_pool_stop(struct worker_pool *pool);

/* The lease a worker holds a job under; BOOKTO_MONEYBIRD_LEASE_SECONDS
 * overrides the default (120 s) for tests and unusual deployments. */
int worker_lease_seconds(void);

/* The first retry delay of the backoff; BOOKTO_MONEYBIRD_BACKOFF_BASE_SECONDS
 * (1..3600) overrides the default (10 s), so tests that provoke retries do
 * not wait long. */
int worker_backoff_base_seconds(void);

/* How long a worker may wait in-process for a slot of the shared rate
 * budget before a call (the budget gate's max_wait_ms) instead of deferring
 * the job: BOOKTO_MONEYBIRD_BUDGET_WAIT_MS (0..60000, 0 = always defer), by
 * default 5000; never more than a quarter of the lease, so a write renewed
 * just before its call still goes out well inside the lease. */
int worker_budget_wait_ms(void);

/* For tests only: how long a worker sleeps right before it commits an
 * invoice intent, to play a worker frozen past its lease;
 * BOOKTO_MONEYBIRD_TEST_STALL_BEFORE_INTENT_MS (1..600000), by default 0. */
int worker_test_stall_before_intent_ms(void);

/* How often a paused connection (401) is probed;
 * BOOKTO_MONEYBIRD_PAUSE_PROBE_SECONDS (1..86400) overrides the default (30 s). */
int worker_pause_probe_seconds(void);

#endif
