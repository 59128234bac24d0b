/*
 * The orders per state of one connection, from the counters the triggers of
 * migration 0010 keep (order_state_counts): a few rows however many orders
 * there are. The status model (engine/status.c) reads them here, and
 * `status`, `show` and the /metrics gauges all take them from there.
 */
#ifndef BM_STORE_COUNTS_H
#define BM_STORE_COUNTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "order_state.h"

/* orders[] (parallel to order_state_names) and *total (every state, also
 * one not in the list) of connection_id; zeros for an unknown id. */
int store_counts_orders(PGconn *conn, int64_t connection_id, int64_t orders[ORDER_STATE_COUNT],
                        int64_t *total, struct cn_error *err) MUST_CHECK;

/* The same for count connections in one statement: orders[i] and totals[i]
 * of connection_ids[i] (status and /metrics read every connection at once). */
int store_counts_orders_many(PGconn *conn, const int64_t *connection_ids, size_t count,
                             int64_t (*orders)[ORDER_STATE_COUNT], int64_t *totals,
                             struct cn_error *err) MUST_CHECK;

#endif
