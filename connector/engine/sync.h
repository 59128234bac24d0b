/*
 * The per-order state machine: the only place that sequences Moneybird
 * calls. For one claimed job it resolves the buyer's contact, then (in the
 * invoice issue) creates, sends and pays the invoice, committing each
 * intent and each Moneybird id to PostgreSQL as it goes, so a retry after a
 * crash or an unknown outcome looks before it creates. It returns a verdict;
 * the worker turns the verdict into the queue transition.
 */
#ifndef BM_SYNC_H
#define BM_SYNC_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "queue.h"
#include "runtime.h"

/* Process-wide state shared by all sync workers; read-only once built. */
struct sync_shared {
	const struct config *config;
	const struct runtime *runtime;   /* the connections: ids, mappings */
	const char *worker_owner_prefix; /* host:pid, for lease owners */
};

enum sync_verdict {
	SYNC_DONE,       /* synced */
	SYNC_SKIPPED,    /* deliberately not synced (test order policy) */
	SYNC_RETRY,      /* transient; retry_at or backoff */
	SYNC_PARK,       /* needs a person; reason says why */
	SYNC_PAUSE,      /* the connection's token was refused (401): pause it */
	SYNC_LEASE_LOST, /* another worker owns the job now; do nothing */
};

struct sync_outcome {
	enum sync_verdict verdict;
	int64_t retry_at; /* epoch seconds for SYNC_RETRY; 0 = use the backoff */
	bool waiting;     /* SYNC_RETRY for the rate limit only: not a failed attempt */
	char reason[512];
};

struct sync_worker;

/* One per worker thread; owns that thread's Moneybird clients. */
int sync_worker_create(const struct sync_shared *shared, struct sync_worker **out,
                       struct cn_error *err) MUST_CHECK;
void sync_worker_free(struct sync_worker *worker);

/* Runs one claimed job to a verdict. conn is the worker's own connection. */
void sync_run_job(struct sync_worker *worker, PGconn *conn, const struct queue_job *job,
                  const char *owner, struct sync_outcome *outcome);

/* Cheap authenticated call for a paused connection: 0 when the token works
 * again, CN_INVALID while it is still refused, CN_RETRYABLE otherwise. */
int sync_probe_connection(struct sync_worker *worker, PGconn *conn, size_t connection_index,
                          struct cn_error *err) MUST_CHECK;

#endif
