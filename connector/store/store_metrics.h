/*
 * The metrics gauges that live in PostgreSQL, read at scrape time in one
 * short read-only transaction with a statement timeout (a slow database
 * makes a scrape report database_up 0, never hang): orders per state and
 * connection (read through the caller's reader), pauses, the job queue, the received -> synced
 * latency histogram and the rate budget left per token. Orders per state and the histogram come
 * from counters that triggers keep (migration 0010), so a scrape costs the same at any number of
 * orders. store_metrics_scrape puts them together with the process counters into the exposition
 * text. What lives outside PostgreSQL (the spool's files, the budget's key and window) the caller
 * gathers and passes in (http/metrics_page.c).
 */
#ifndef BM_STORE_METRICS_H
#define BM_STORE_METRICS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "metrics.h"
#include "store.h"
#include "store_budget.h"

#define STORE_METRICS_TIMEOUT_MS 2000

/* One connection's rate budget as the budget computes it (budget.h): the
 * token's key (empty: it could not be computed), the window it enforces and
 * the calls allowed in it. */
struct store_metrics_budget {
	char token_key[STORE_BUDGET_KEY_SIZE];
	int64_t window_ms;
	int requests;
};

/* Reads the connections' orders per state inside the scrape's transaction,
 * all in one statement (orders[i] and totals[i] of connection_ids[i]): the
 * status model's reader (engine/status.h status_order_counts_many), so the
 * gauges are the numbers `status` shows. */
typedef int (*store_metrics_orders_fn)(PGconn *conn, const int64_t *connection_ids, size_t count,
                                       int64_t (*orders)[ORDER_STATE_COUNT], int64_t *totals,
                                       struct cn_error *err);

/* What a scrape reports besides the database: the spool's counts, one
 * budget per configured connection, and the orders' reader. */
struct store_metrics_inputs {
	int64_t spooled_deliveries;
	int64_t spool_rejected_files;
	const struct store_metrics_budget *budgets;
	store_metrics_orders_fn read_orders;
};

/* Fills gauges from the database; gauges->connections[i] must already have
 * its name and corresponds to config->connections[i] / connection_ids[i] /
 * budgets[i]. */
int store_metrics_read(PGconn *conn, const struct config *config, const int64_t *connection_ids,
                       const struct store_metrics_inputs *inputs, struct metrics_gauges *gauges,
                       struct cn_error *err) MUST_CHECK;

/* A whole scrape: the inputs, gauges (database_up 0 when PostgreSQL does
 * not answer within the timeout), counters. *out is malloc'd (caller frees). */
int store_metrics_scrape(struct store_pool *pool, const struct config *config,
                         const int64_t *connection_ids, const struct store_metrics_inputs *inputs,
                         char **out, size_t *len, struct cn_error *err) MUST_CHECK;

#endif
