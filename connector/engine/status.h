/*
 * The status model: what the connector knows about its connections and
 * orders, read from PostgreSQL (and the spool folder) into plain structs.
 * `status` and `show` print it (human or --json), and the coming web console
 * reads the same structs; nothing here prints. The order states and their
 * order are order_state.h's, the same list the /metrics gauges count.
 *
 * status_read: per connection the orders per state, the oldest unsynced
 * order, the last error, the rate budget left, the pause, redeliveries that
 * differed and the last finished reconciliation; and the spool.
 * status_orders_find + status_order_read: one order's story (its record,
 * deliveries, Moneybird calls and ids, audit history).
 */
#ifndef BM_STATUS_H
#define BM_STATUS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"
#include "error.h"
#include "order_state.h"
#include "store_ops.h"

struct status_connection {
	const struct connection_config *connection; /* from the config, not owned */
	/* Orders per state (parallel to order_state_names), oldest unsynced,
	 * last error, pause, redeliveries that differ; db.exists is false when
	 * `serve` never registered the connection. */
	struct store_ops_connection_status db;
	bool budget_known; /* false: budget_error says why */
	struct budget_state budget;
	char budget_error[512];
	int64_t last_reconcile_age_seconds; /* since the last finished run; -1 = never */
};

struct status_report {
	char generated_at[32]; /* ISO 8601 UTC, when it was read */
	size_t connection_count;
	struct status_connection *connections; /* by config index (owned) */
	size_t spooled;                        /* deliveries waiting in the spool */
	size_t spool_set_aside;                /* files in spool.dir/rejected/ */
	const char *spool_dir;                 /* the config's, not owned */
};

/* Reads the whole status of every configured connection in a fixed number
 * of statements (three), however many connections there are. A failed read
 * fails it; a budget that cannot be read is reported per connection instead.
 * *out is owned by the caller (status_report_free), also after a failure. */
int status_read(PGconn *conn, const struct config *config, struct status_report *out,
                struct cn_error *err) MUST_CHECK;
void status_report_free(struct status_report *report);

/* Orders per state (parallel to order_state_names) and in total of count
 * connections, in one statement: orders[i] and totals[i] of
 * connection_ids[i]; the numbers `status`, `show` and the /metrics gauges
 * all show. */
int status_order_counts_many(PGconn *conn, const int64_t *connection_ids, size_t count,
                             int64_t (*orders)[ORDER_STATE_COUNT], int64_t *totals,
                             struct cn_error *err) MUST_CHECK;

/* Orders whose order_id or order_number is `key`, optionally only of the
 * connection named `connection` (NULL = all): a table of store_ops.h's
 * OPS_ORDER_* columns; zero rows = not found. */
int status_orders_find(PGconn *conn, const char *connection, const char *key,
                       struct store_ops_table *out, struct cn_error *err) MUST_CHECK;

/* One order's story: its record (row `row` of a status_orders_find table,
 * not owned) and its deliveries, Moneybird calls and audit rows, oldest
 * first (columns as in store_ops.h). */
struct status_order {
	const struct store_ops_table *orders;
	size_t row;
	struct store_ops_table deliveries;
	struct store_ops_table attempts;
	struct store_ops_table audit;
};

int status_order_read(PGconn *conn, const struct store_ops_table *orders, size_t row,
                      struct status_order *out, struct cn_error *err) MUST_CHECK;
void status_order_free(struct status_order *order);

/* ---- the console's reads (the same model, more of it) ---- */

#include "store_console_reads.h"

/* Orders newest first with the console's filters (store_console_reads.h). */
int status_orders_list(PGconn *conn, const struct store_console_order_filter *filter,
                       struct store_ops_table *out, struct cn_error *err) MUST_CHECK;

/* An order's buyer and product as label/value rows. */
int status_order_party(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                       struct cn_error *err) MUST_CHECK;

/* The newest `limit` reconcile runs and the differences of those runs. */
int status_reconcile_history(PGconn *conn, int limit, struct store_ops_table *runs,
                             struct store_ops_table *differences, struct cn_error *err) MUST_CHECK;

/* What a bookkeeper can do about a parked order, from its reason (a
 * sentence; never NULL). */
const char *status_parked_advice(const char *last_error);

#endif
