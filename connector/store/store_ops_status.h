/*
 * The status model's reads of every configured connection at once: one
 * statement for what `status` shows of the connections (their row, the
 * oldest unsynced order, the last error, redeliveries that differed, the
 * last finished reconciliation), however many connections there are. A
 * round trip per connection made `status` take seconds at 1,000 connections;
 * the orders per state (store_counts.h) and the rate budgets
 * (store_budget.h) are read the same way, one statement each.
 */
#ifndef BM_STORE_OPS_STATUS_H
#define BM_STORE_OPS_STATUS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store_ops.h"

/* out[i] and last_reconcile_age_seconds[i] (seconds since the last finished
 * reconciliation, -1 = never) for the connection named names[i]; out[i].exists
 * is false when no such connection is registered. orders[] and orders_total
 * are left at zero (store_counts_orders_many fills them). */
int store_ops_connections_status(PGconn *conn, const char *const *names, size_t count,
                                 struct store_ops_connection_status *out,
                                 int64_t *last_reconcile_age_seconds,
                                 struct cn_error *err) MUST_CHECK;

#endif
