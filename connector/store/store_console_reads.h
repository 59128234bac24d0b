/*
 * The console's reads beyond what `status` and `show` already read: the
 * order list with its filters and pages, an order's buyer and product text
 * (shown escaped; never in the audit log), and recent reconcile runs with
 * their differences. Small string tables as in store_ops.h; timestamps ISO
 * 8601 UTC.
 */
#ifndef BM_STORE_CONSOLE_READS_H
#define BM_STORE_CONSOLE_READS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "error.h"
#include "store_ops.h"

struct store_console_order_filter {
	const char *state;      /* NULL or "" = any */
	const char *connection; /* NULL or "" = any */
	const char *query;      /* matches number, id, match_ref, buyer name or email */
	size_t offset;
	size_t limit; /* rows read: the page plus one, to know of a next page */
};

/* Orders newest first. Columns: connection, order_id, order_number, state,
 * total_incl_cents, currency, buyer (name and company), buyer_email,
 * last_error, received_at, is_test_order. */
int store_console_orders(PGconn *conn, const struct store_console_order_filter *filter,
                         struct store_ops_table *out, struct cn_error *err) MUST_CHECK;
enum {
	CONSOLE_ORDER_CONNECTION,
	CONSOLE_ORDER_ID,
	CONSOLE_ORDER_NUMBER,
	CONSOLE_ORDER_STATE,
	CONSOLE_ORDER_TOTAL,
	CONSOLE_ORDER_CURRENCY,
	CONSOLE_ORDER_BUYER,
	CONSOLE_ORDER_EMAIL,
	CONSOLE_ORDER_LAST_ERROR,
	CONSOLE_ORDER_RECEIVED_AT,
	CONSOLE_ORDER_IS_TEST
};

/* One order's buyer and product, as label/value rows (columns: label,
 * value), empty values left out; custom fields as "label: value". */
int store_console_order_party(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                              struct cn_error *err) MUST_CHECK;

/* The newest `limit` reconcile runs. Columns: id, connection, trigger,
 * repair, started_at, finished_at, status, invoices_checked,
 * orders_checked, differences, repairs_queued, error. */
int store_console_reconcile_runs(PGconn *conn, int limit, struct store_ops_table *out,
                                 struct cn_error *err) MUST_CHECK;

/* The differences of the newest `runs` runs (at most 500). Columns: run_id,
 * kind, order_id, order_number, connection, moneybird_invoice_id, detail,
 * repair. */
int store_console_reconcile_differences(PGconn *conn, int runs, struct store_ops_table *out,
                                        struct cn_error *err) MUST_CHECK;

#endif
