/*
 * Reconciliation: proves that the connector's orders and Moneybird's sales
 * invoices agree, and says where they do not. It reads Moneybird through
 * the synchronization endpoints (one GET for every id and version, then one
 * POST per 100 invoices), so checking a thousand invoices costs about a dozen
 * calls, made at background priority in the shared rate budget. Each
 * difference has a kind (missing_invoice, not_sent, not_paid,
 * amount_differs, invoice_deleted, invoice_changed, duplicate_invoice,
 * orphan_invoice, stuck). Orders the connector knows it did not sync
 * (parked needs_attention, skipped) are not differences: a run counts and
 * lists them apart, with their reasons. A run also records what Moneybird
 * says about each invoice and moves orders between synced and reconciled.
 * With repair, the
 * safe fixes (create the missing invoice, send it, register the missing
 * payment) are queued as sync jobs; nothing is ever deleted. Runs are the
 * `reconcile` command and, inside `serve`, a periodic run.
 */
#ifndef BM_RECONCILE_H
#define BM_RECONCILE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "runtime.h"
#include "store_reconcile.h"

#define RECONCILE_STUCK_SECONDS 3600 /* a non-terminal order older than this is stuck */

struct reconcile_difference {
	const char *kind; /* static */
	int64_t order_pk; /* 0 = none */
	char order_id[128];
	char invoice_id[40];
	char detail[300];
	bool repairable;
	bool repair_queued;
};

#define RECONCILE_KNOWN_LISTED 200 /* parked/skipped orders listed per run */

struct reconcile_report {
	int64_t run_id;
	long invoices_checked;
	long orders_checked;
	long moneybird_calls;
	long repairs_queued;
	struct reconcile_difference *items; /* owned (reconcile_report_clear) */
	size_t count;
	size_t cap;
	/* Orders the connector knows it did not sync: not differences. */
	long parked;                  /* needs_attention */
	long skipped;                 /* skipped */
	struct store_rc_known *known; /* the first RECONCILE_KNOWN_LISTED (owned) */
	size_t known_count;
};
void reconcile_report_clear(struct reconcile_report *report);

/* Called after each batch of invoices read (done <= total). */
typedef void (*reconcile_progress_fn)(void *ctx, size_t done, size_t total);

struct reconcile_options {
	const char *since;   /* "YYYY-MM-DD": orders received since, invoices changed since */
	bool repair;         /* queue the safe repairs */
	const char *trigger; /* "command" or "periodic" */
	int budget_wait_ms;  /* how long a call may wait for the rate budget */
	reconcile_progress_fn progress;
	void *progress_ctx;
	/* When set and true, the run stops before its next Moneybird call
	 * (serve shutting down); it is recorded failed, CN_RETRYABLE. */
	bool (*stop_requested)(void *ctx);
	void *stop_ctx;
};

/* Pure: true for a valid YYYY-MM-DD date. */
bool reconcile_date_valid(const char *text);

/*
 * One run for connection `index` (row id connection_id): conn for the
 * database (not inside a transaction), budget_conn for the rate budget. The
 * report is filled and the run recorded in reconcile_runs and
 * reconcile_differences. CN_RETRYABLE when Moneybird or the budget could not
 * be read now (the run is recorded failed).
 */
int reconcile_connection(const struct config *config, size_t index, int64_t connection_id,
                         PGconn *conn, PGconn *budget_conn, const struct reconcile_options *options,
                         struct reconcile_report *report, struct cn_error *err) MUST_CHECK;

/* The periodic run inside serve, every reconcile.interval_seconds (0 = off);
 * with several processes, one runs it per interval. It reports (log,
 * metrics, reconcile_runs/reconcile_differences) and repairs nothing. The
 * test-only config key testing.reconcile_interval_seconds (1..604800)
 * replaces a non-zero interval, for tests. */
struct reconcile_periodic;
int reconcile_periodic_start(const struct runtime *ctx, struct reconcile_periodic **out,
                             struct cn_error *err) MUST_CHECK;
void reconcile_periodic_stop(struct reconcile_periodic *periodic);

#endif
