/*
 * The order states, written once: the sync states an order moves through
 * (migrations define the same set as a CHECK), in the order `status`, `show`,
 * the /metrics gauges and the web console list them. The status model
 * (engine/status.h) counts orders per state in this order.
 */
#ifndef BM_ORDER_STATE_H
#define BM_ORDER_STATE_H

#include <stddef.h>

#define ORDER_STATE_COUNT 7

/* "queued", "in_progress", "retrying", "needs_attention", "skipped",
 * "synced", "reconciled". */
extern const char *const order_state_names[ORDER_STATE_COUNT];

/* The index of the state called `name` in order_state_names, or -1. */
int order_state_index(const char *name);

#endif
