#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"

const char *const metrics_delivery_outcomes[METRICS_DELIVERY_OUTCOMES] = {
    "accepted", "duplicate", "duplicate_differs", "ignored",  "invalid_json",
    "spooled",  "rejected",  "refused",           "unusable", "replay",
};

const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS] = {
    1, 5, 15, 60, 300, 900, 3600, 21600, 86400, 604800,
};

/* The process's counters: atomics only, so any thread may bump them. */
static atomic_ullong delivery_counts[METRICS_MAX_CONNECTIONS][METRICS_DELIVERY_OUTCOMES];
static _Atomic(const char *) endpoint_names[METRICS_MAX_ENDPOINTS];
static atomic_ullong call_counts[METRICS_MAX_ENDPOINTS][MB_OUTCOME_COUNT];
static atomic_ullong endpoints_dropped;
static atomic_ullong rate_limited_count;
static atomic_ullong budget_wait_count;
/* notifications_total: [0 webhook, 1 email][0 sent, 1 failed] */
static atomic_ullong notification_counts[2][2];
static atomic_bool notifications_enabled;
static atomic_llong reconcile_last[METRICS_MAX_CONNECTIONS]; /* differences + 1; 0 = never */
static atomic_ullong reconcile_total[METRICS_MAX_CONNECTIONS];

void metrics_delivery(size_t connection_index, const char *outcome)
{
	if (connection_index >= METRICS_MAX_CONNECTIONS || outcome == NULL)
		return;
	for (size_t i = 0; i < METRICS_DELIVERY_OUTCOMES; i++)
		if (strcmp(outcome, metrics_delivery_outcomes[i]) == 0) {
			atomic_fetch_add(&delivery_counts[connection_index][i], 1);
			return;
		}
}

/* The slot of an endpoint template, claimed on first use without a lock. */
static long endpoint_slot(const char *endpoint)
{
	for (size_t i = 0; i < METRICS_MAX_ENDPOINTS; i++) {
		const char *name = atomic_load(&endpoint_names[i]);

		if (name == NULL) {
			const char *expected = NULL;

			if (atomic_compare_exchange_strong(&endpoint_names[i], &expected, endpoint))
				return (long)i;
			name = expected; /* another thread claimed it first */
		}
		if (name == endpoint || strcmp(name, endpoint) == 0)
			return (long)i;
	}
	return -1;
}

void metrics_moneybird_call(const struct mb_call *call)
{
	long slot;

	if (call == NULL || call->endpoint == NULL)
		return;
	if (call->budget_refused) {
		atomic_fetch_add(&budget_wait_count, 1);
		return;
	}
	if (call->http_status == 429)
		atomic_fetch_add(&rate_limited_count, 1);
	slot = endpoint_slot(call->endpoint);
	if (slot < 0 || (unsigned)call->outcome >= MB_OUTCOME_COUNT) {
		atomic_fetch_add(&endpoints_dropped, 1);
		return;
	}
	atomic_fetch_add(&call_counts[slot][call->outcome], 1);
}

void metrics_reconcile_differences(size_t connection_index, int64_t differences)
{
	if (connection_index >= METRICS_MAX_CONNECTIONS || differences < 0)
		return;
	atomic_store(&reconcile_last[connection_index], differences + 1);
	atomic_fetch_add(&reconcile_total[connection_index], (unsigned long long)differences);
}

void metrics_reset(void)
{
	for (size_t c = 0; c < METRICS_MAX_CONNECTIONS; c++) {
		for (size_t o = 0; o < METRICS_DELIVERY_OUTCOMES; o++)
			atomic_store(&delivery_counts[c][o], 0);
		atomic_store(&reconcile_last[c], 0);
		atomic_store(&reconcile_total[c], 0);
	}
	for (size_t e = 0; e < METRICS_MAX_ENDPOINTS; e++) {
		atomic_store(&endpoint_names[e], NULL);
		for (size_t o = 0; o < MB_OUTCOME_COUNT; o++)
			atomic_store(&call_counts[e][o], 0);
	}
	atomic_store(&endpoints_dropped, 0);
	atomic_store(&rate_limited_count, 0);
	atomic_store(&budget_wait_count, 0);
	for (size_t c = 0; c < 2; c++)
		for (size_t o = 0; o < 2; o++)
			atomic_store(&notification_counts[c][o], 0);
	atomic_store(&notifications_enabled, false);
}

void metrics_notifications_enable(void)
{
	atomic_store(&notifications_enabled, true);
}

void metrics_notification(const char *channel, bool sent)
{
	atomic_fetch_add(&notification_counts[strcmp(channel, "email") == 0][sent ? 0 : 1], 1);
}

/* ---- rendering ---- */

struct text {
	struct dynbuf buf; /* capped at METRICS_MAX_TEXT with its NUL */
	bool failed;
};

static void put(struct text *text, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void put(struct text *text, const char *fmt, ...)
{
	va_list ap;

	if (text->failed)
		return;
	va_start(ap, fmt);
	if (dynbuf_vaddf(&text->buf, fmt, ap) != CN_OK)
		text->failed = true;
	va_end(ap);
}

/* A label value with \, " and newlines escaped, as the format requires. */
static void put_label(struct text *text, const char *value)
{
	for (const char *p = value != NULL ? value : ""; *p != '\0'; p++) {
		if (*p == '\\')
			put(text, "\\\\");
		else if (*p == '"')
			put(text, "\\\"");
		else if (*p == '\n')
			put(text, "\\n");
		else
			put(text, "%c", *p);
	}
}

static void header(struct text *text, const char *name, const char *type, const char *help)
{
	put(text, "# HELP bookto_moneybird_%s %s\n# TYPE bookto_moneybird_%s %s\n", name, help,
	    name, type);
}

static void connection_sample(struct text *text, const char *name, const char *connection)
{
	put(text, "bookto_moneybird_%s{connection=\"", name);
	put_label(text, connection);
	put(text, "\"}");
}

static int compare_names(const void *a, const void *b)
{
	const char *const *left = a;
	const char *const *right = b;

	return strcmp(*left, *right);
}

static void render_counters(struct text *text, const struct metrics_gauges *gauges)
{
	size_t order[METRICS_MAX_ENDPOINTS];
	const char *names[METRICS_MAX_ENDPOINTS];
	size_t endpoint_count = 0;

	header(text, "deliveries_total", "counter",
	       "bookto deliveries by outcome since this process started.");
	for (size_t c = 0; c < gauges->connection_count && c < METRICS_MAX_CONNECTIONS; c++)
		for (size_t o = 0; o < METRICS_DELIVERY_OUTCOMES; o++) {
			put(text, "bookto_moneybird_deliveries_total{connection=\"");
			put_label(text, gauges->connections[c].name);
			put(text, "\",outcome=\"%s\"} %llu\n", metrics_delivery_outcomes[o],
			    atomic_load(&delivery_counts[c][o]));
		}

	for (size_t i = 0; i < METRICS_MAX_ENDPOINTS; i++) {
		const char *name = atomic_load(&endpoint_names[i]);

		if (name != NULL)
			names[endpoint_count++] = name;
	}
	qsort(names, endpoint_count, sizeof(names[0]), compare_names);
	for (size_t n = 0; n < endpoint_count; n++)
		for (size_t i = 0; i < METRICS_MAX_ENDPOINTS; i++)
			if (atomic_load(&endpoint_names[i]) == names[n])
				order[n] = i;
	header(text, "moneybird_calls_total", "counter",
	       "Moneybird API calls sent, by endpoint template and outcome.");
	for (size_t n = 0; n < endpoint_count; n++)
		for (size_t o = 0; o < MB_OUTCOME_COUNT; o++) {
			unsigned long long count = atomic_load(&call_counts[order[n]][o]);

			if (count == 0)
				continue;
			put(text, "bookto_moneybird_moneybird_calls_total{endpoint=\"");
			put_label(text, names[n]);
			put(text, "\",outcome=\"%s\"} %llu\n", mb_outcome_name((enum mb_outcome)o),
			    count);
		}
	header(text, "moneybird_rate_limited_total", "counter",
	       "Moneybird answers with HTTP 429 Too Many Requests.");
	put(text, "bookto_moneybird_moneybird_rate_limited_total %llu\n",
	    atomic_load(&rate_limited_count));
	header(text, "moneybird_budget_waits_total", "counter",
	       "Calls the shared rate budget held back (nothing was sent).");
	put(text, "bookto_moneybird_moneybird_budget_waits_total %llu\n",
	    atomic_load(&budget_wait_count));

	if (atomic_load(&notifications_enabled))
		header(text, "notifications_total", "counter",
		       "Notification sends by channel and outcome (notify config section).");
	for (size_t c = 0; c < 2 && atomic_load(&notifications_enabled); c++)
		for (size_t o = 0; o < 2; o++)
			put(text,
			    "bookto_moneybird_notifications_total{channel=\"%s\",outcome=\"%s\"} "
			    "%llu\n",
			    c == 0 ? "webhook" : "email", o == 0 ? "sent" : "failed",
			    atomic_load(&notification_counts[c][o]));

	header(text, "reconcile_differences", "gauge",
	       "Differences the last reconciliation of this process found (-1: none ran yet).");
	for (size_t c = 0; c < gauges->connection_count && c < METRICS_MAX_CONNECTIONS; c++) {
		connection_sample(text, "reconcile_differences", gauges->connections[c].name);
		put(text, " %lld\n", atomic_load(&reconcile_last[c]) - 1);
	}
	header(text, "reconcile_differences_total", "counter",
	       "Differences found by reconciliations since this process started.");
	for (size_t c = 0; c < gauges->connection_count && c < METRICS_MAX_CONNECTIONS; c++) {
		connection_sample(text, "reconcile_differences_total", gauges->connections[c].name);
		put(text, " %llu\n", atomic_load(&reconcile_total[c]));
	}
}

static void render_gauges(struct text *text, const struct metrics_gauges *gauges)
{
	uint64_t previous = 0;

	header(text, "database_up", "gauge",
	       "1 when PostgreSQL answered this scrape's queries, else 0.");
	put(text, "bookto_moneybird_database_up %d\n", gauges->database_up ? 1 : 0);
	header(text, "spooled_deliveries", "gauge",
	       "Verified deliveries waiting in the local spool for PostgreSQL.");
	put(text, "bookto_moneybird_spooled_deliveries %lld\n",
	    (long long)gauges->spooled_deliveries);
	header(text, "spool_rejected_files", "gauge",
	       "Spool files set aside in spool.dir/rejected/ (unreadable, unsigned, tampered, "
	       "refused): a person must look at them.");
	put(text, "bookto_moneybird_spool_rejected_files %lld\n",
	    (long long)gauges->spool_rejected_files);
	if (!gauges->database_up)
		return;

	header(text, "orders", "gauge", "Orders per sync state.");
	for (size_t c = 0; c < gauges->connection_count; c++)
		for (size_t s = 0; s < ORDER_STATE_COUNT; s++) {
			put(text, "bookto_moneybird_orders{connection=\"");
			put_label(text, gauges->connections[c].name);
			put(text, "\",state=\"%s\"} %lld\n", order_state_names[s],
			    (long long)gauges->connections[c].orders[s]);
		}
	header(text, "connection_paused", "gauge",
	       "1 while the connection's work is paused (Moneybird refused its token).");
	for (size_t c = 0; c < gauges->connection_count; c++) {
		connection_sample(text, "connection_paused", gauges->connections[c].name);
		put(text, " %d\n", gauges->connections[c].paused ? 1 : 0);
	}
	header(text, "rate_budget_remaining", "gauge",
	       "Moneybird calls left in the current window of the connection's token.");
	for (size_t c = 0; c < gauges->connection_count; c++) {
		if (!gauges->connections[c].budget_known)
			continue;
		connection_sample(text, "rate_budget_remaining", gauges->connections[c].name);
		put(text, " %lld\n", (long long)gauges->connections[c].budget_remaining);
	}
	header(text, "rate_budget_limit", "gauge", "Moneybird calls allowed per window.");
	for (size_t c = 0; c < gauges->connection_count; c++) {
		connection_sample(text, "rate_budget_limit", gauges->connections[c].name);
		put(text, " %lld\n", (long long)gauges->connections[c].budget_limit);
	}
	header(text, "queue_depth", "gauge", "Pending sync jobs, due now or scheduled later.");
	put(text, "bookto_moneybird_queue_depth %lld\n", (long long)gauges->queue_depth);
	header(text, "queue_ready_jobs", "gauge", "Pending sync jobs that are due now.");
	put(text, "bookto_moneybird_queue_ready_jobs %lld\n", (long long)gauges->queue_ready);
	header(text, "queue_oldest_job_age_seconds", "gauge",
	       "How long the longest-waiting due job has been due (0 when none is).");
	put(text, "bookto_moneybird_queue_oldest_job_age_seconds %.3f\n",
	    gauges->queue_oldest_ready_seconds);

	header(text, "sync_latency_seconds", "histogram",
	       "Time from receiving an order to its sync, over every synced order.");
	for (size_t b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
		uint64_t count =
		    gauges->latency_buckets[b] < previous ? previous : gauges->latency_buckets[b];

		put(text, "bookto_moneybird_sync_latency_seconds_bucket{le=\"%g\"} %llu\n",
		    metrics_latency_bounds[b], (unsigned long long)count);
		previous = count;
	}
	put(text, "bookto_moneybird_sync_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)(gauges->latency_count < previous ? previous
	                                                          : gauges->latency_count));
	put(text, "bookto_moneybird_sync_latency_seconds_sum %.3f\n", gauges->latency_sum_seconds);
	put(text, "bookto_moneybird_sync_latency_seconds_count %llu\n",
	    (unsigned long long)gauges->latency_count);
}

int metrics_render(const struct metrics_gauges *gauges, char **out, size_t *len)
{
	struct text text = {.failed = false};

	*out = NULL;
	*len = 0;
	dynbuf_init(&text.buf, METRICS_MAX_TEXT - 1);
	render_counters(&text, gauges);
	render_gauges(&text, gauges);
	if (text.failed) {
		dynbuf_free(&text.buf);
		return CN_ERR;
	}
	*len = dynbuf_len(&text.buf);
	*out = dynbuf_take(&text.buf);
	return *out != NULL ? CN_OK : CN_ERR;
}
