/*
 * What the files of the sync engine share (sync_job.c runs a job and its
 * invoice, send and payment steps; sync_contact.c resolves the buyer's
 * contact; sync_plan.c plans the invoice before the first write). Not for
 * use outside engine/sync*.c.
 */
#ifndef BM_SYNC_INTERNAL_H
#define BM_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mb_session.h"
#include "plan.h"
#include "runtime.h"
#include "store_sync.h"
#include "sync.h"

/* Per connection, per worker thread: the client and what it has cached. */
struct sync_connection {
	struct mb_session session;
	struct mb_tax_rate *tax_rates;
	size_t tax_rate_count;
	time_t tax_rates_fetched_at;
	char currency[8];         /* the administration's ("" if it names none) */
	bool administration_read; /* currency is known */
};

/* The job being run: where each Moneybird call is recorded. */
struct sync_job_context {
	PGconn *conn;
	const struct queue_job *job;
	const char *owner; /* the lease owner */
};

struct sync_worker {
	const struct sync_shared *shared;
	struct sync_connection *connections; /* parallel to config->connections */
	PGconn *budget_conn;                 /* the worker's connection, set per job */
	struct sync_job_context current;     /* valid while a job runs */
};

/* The runtime of the connection at index (settings, mapping, zone). */
const struct connection_runtime *sync_connection_of(const struct sync_worker *worker, size_t index);
/* The Moneybird administration the connection at index writes to: named once,
 * as every step of a job addresses it. */
const char *sync_administration_of(const struct sync_worker *worker, size_t index);
void sync_set_outcome(struct sync_outcome *outcome, enum sync_verdict verdict, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
/* A failed Moneybird call as the job's verdict (see sync_job.c). */
void sync_call_failed(struct sync_worker *worker, size_t index, enum mb_outcome result,
                      const char *what, const struct cn_error *err, struct sync_outcome *outcome);
void sync_database_failed(const char *what, const struct cn_error *err,
                          struct sync_outcome *outcome);
/* Renews the lease right before a write that follows lookups. */
bool sync_lease_before_write(struct sync_worker *worker, struct sync_outcome *outcome);

/* The buyer's contact, found or created (sync_contact.c); false with the
 * outcome set when the job stops. */
bool sync_resolve_contact(struct sync_worker *worker, PGconn *conn, size_t index,
                          struct store_sync_order *so, struct sync_outcome *outcome);
/* The invoice planned and checked before the first write (sync_plan.c);
 * NULL with the outcome set when the job stops. */
struct plan_invoice *sync_plan_before_writes(struct sync_worker *worker, size_t index,
                                             const struct store_sync_order *so,
                                             struct sync_outcome *outcome);

/* Whether a refused invoice create names a tax rate or a ledger account
 * (Moneybird's 422: one no longer active, or deleted). */
bool sync_refusal_names_reference(enum mb_outcome result, const char *message);
/* After such a refusal (nothing was created): drops the cached tax rates
 * (takes a copy read since, or reads them once) and plans again. The new plan when it differs from
 * the refused one (the caller retries the create with it), else NULL with the order parked, naming
 * the rate and the ledger account. */
struct plan_invoice *sync_replan_after_refusal(struct sync_worker *worker, size_t index,
                                               const struct store_sync_order *so,
                                               const struct plan_invoice *refused,
                                               const char *refusal, struct sync_outcome *outcome);

#endif
