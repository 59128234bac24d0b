/*
 * Prometheus metrics for GET /metrics, in the text exposition format
 * (version 0.0.4), written by hand. Two kinds of numbers: counters kept in
 * this process as atomics and bumped where the event happens (deliveries by
 * outcome, Moneybird calls by endpoint and outcome, 429s, reconcile
 * differences), and gauges read from PostgreSQL at scrape time
 * (store_metrics.h: orders per state, pauses, queue depth and the oldest
 * ready job's wait, the received -> synced latency histogram, the rate budget
 * left), so every host of a scaled-out deployment reports the same state.
 * Counters start at zero with the process, as Prometheus expects.
 */
#ifndef BM_METRICS_H
#define BM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mb_types.h"
#include "order_state.h"

#define METRICS_MAX_CONNECTIONS 64 /* counters beyond this connection index are dropped */
#define METRICS_MAX_ENDPOINTS 64   /* distinct Moneybird endpoint templates */
#define METRICS_MAX_TEXT (1024 * 1024)
#define METRICS_LATENCY_BUCKETS 10

/* The delivery outcomes counted, in exposition order. */
#define METRICS_DELIVERY_OUTCOMES 10
extern const char *const metrics_delivery_outcomes[METRICS_DELIVERY_OUTCOMES];

/* Upper bounds (seconds) of the latency histogram's finite buckets. */
extern const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS];

/*
 * One delivery for the connection at that index: outcome is one of
 * "accepted", "duplicate", "duplicate_differs", "ignored", "invalid_json"
 * (stored), "spooled" (answered from the spool; counted again with its
 * stored outcome when drained), "rejected" (missing header, bad signature or
 * timestamp), "refused" (503), "unusable" (signed, kept raw: PostgreSQL
 * cannot hold it as an order) or "replay" (the very same signed request
 * again, not stored again). Unknown outcomes are ignored.
 */
void metrics_delivery(size_t connection_index, const char *outcome);

/* One Moneybird call (the mb_client after_call hook): counted per endpoint
 * template and outcome when sent; a 429 also counts as rate limited; a call
 * the shared budget held back counts as a budget wait. */
void metrics_moneybird_call(const struct mb_call *call);

/* A reconciliation of the connection finished with this many differences. */
void metrics_reconcile_differences(size_t connection_index, int64_t differences);

/* notifications_total is rendered once the notifier has started (notify
 * configured); then each send on a channel ("webhook" or "email") counts as
 * sent or failed. */
void metrics_notifications_enable(void);
void metrics_notification(const char *channel, bool sent);

/* Zeroes every counter (tests only). */
void metrics_reset(void);

/* What PostgreSQL (and the spool folder) said at scrape time. */
struct metrics_connection_gauges {
	const char *name;
	int64_t orders[ORDER_STATE_COUNT]; /* parallel to order_state_names */
	bool paused;
	bool budget_known;
	int64_t budget_remaining;
	int64_t budget_limit;
};

struct metrics_gauges {
	bool database_up; /* false: only counters and the spool are reported */
	size_t connection_count;
	struct metrics_connection_gauges *connections; /* by config index */
	int64_t queue_depth;                           /* pending jobs, due or later */
	int64_t queue_ready;                           /* pending jobs due now */
	double queue_oldest_ready_seconds; /* how long the longest-waiting due job waits */
	uint64_t latency_buckets[METRICS_LATENCY_BUCKETS]; /* cumulative counts */
	uint64_t latency_count;
	double latency_sum_seconds;
	int64_t spooled_deliveries;
	int64_t spool_rejected_files; /* set aside in spool.dir/rejected/ */
};

/*
 * Renders the whole exposition (counters + gauges) into *out (malloc'd,
 * NUL-terminated, caller frees) of *len bytes. Returns CN_OK, or CN_ERR
 * without memory or past METRICS_MAX_TEXT. Deterministic: same inputs, same
 * bytes (endpoints are listed in byte order).
 */
int metrics_render(const struct metrics_gauges *gauges, char **out, size_t *len) MUST_CHECK;

#endif
