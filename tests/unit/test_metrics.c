/*
 * metrics module: the Prometheus text exposition, byte for byte, for a
 * process with no events and the database down, and for one with counters
 * and gauges on two connections (one name needing label escaping); endpoint
 * slots (same template text from another pointer, overflow), monotonic
 * histogram buckets, and counters bumped from several threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(const struct metrics_gauges *gauges)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(gauges, &text, &len), CN_OK);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* Prints the first differing line, which cmocka's string compare does not. */
static void assert_text(const char *actual, const char *expected)
{
	if (strcmp(actual, expected) != 0) {
		size_t i = 0, line_start = 0;

		while (actual[i] != '\0' && actual[i] == expected[i]) {
			if (actual[i] == '\n')
				line_start = i + 1;
			i++;
		}
		fprintf(stderr,
		        "first difference at byte %zu, in the line:\n  got:  %.120s\n"
		        "  want: %.120s\n",
		        i, actual + line_start, expected + line_start);
	}
	assert_string_equal(actual, expected);
}

static const char counters_idle_shop[] =
    "# HELP bookto_moneybird_deliveries_total bookto deliveries by outcome since this "
    "process started.\n"
    "# TYPE bookto_moneybird_deliveries_total counter\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"accepted\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"duplicate\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"duplicate_differs\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"ignored\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"invalid_json\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"spooled\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"rejected\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"refused\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"unusable\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"replay\"} 0\n"
    "# HELP bookto_moneybird_moneybird_calls_total Moneybird API calls sent, by endpoint "
    "template and outcome.\n"
    "# TYPE bookto_moneybird_moneybird_calls_total counter\n"
    "# HELP bookto_moneybird_moneybird_rate_limited_total Moneybird answers with HTTP 429 "
    "Too Many Requests.\n"
    "# TYPE bookto_moneybird_moneybird_rate_limited_total counter\n"
    "bookto_moneybird_moneybird_rate_limited_total 0\n"
    "# HELP bookto_moneybird_moneybird_budget_waits_total Calls the shared rate budget held "
    "back (nothing was sent).\n"
    "# TYPE bookto_moneybird_moneybird_budget_waits_total counter\n"
    "bookto_moneybird_moneybird_budget_waits_total 0\n"
    "# HELP bookto_moneybird_reconcile_differences Differences the last reconciliation of "
    "this process found (-1: none ran yet).\n"
    "# TYPE bookto_moneybird_reconcile_differences gauge\n"
    "bookto_moneybird_reconcile_differences{connection=\"shop\"} -1\n"
    "# HELP bookto_moneybird_reconcile_differences_total Differences found by "
    "reconciliations since this process started.\n"
    "# TYPE bookto_moneybird_reconcile_differences_total counter\n"
    "bookto_moneybird_reconcile_differences_total{connection=\"shop\"} 0\n";

static void test_idle_database_down(void **state)
{
	struct metrics_connection_gauges shop = {.name = "shop"};
	struct metrics_gauges gauges = {.database_up = false,
	                                .connection_count = 1,
	                                .connections = &shop,
	                                .spooled_deliveries = 2};
	char expected[8192];
	char *text;

	(void)state;
	metrics_reset();
	snprintf(expected, sizeof(expected), "%s%s", counters_idle_shop,
	         "# HELP bookto_moneybird_database_up 1 when PostgreSQL answered this scrape's "
	         "queries, else 0.\n"
	         "# TYPE bookto_moneybird_database_up gauge\n"
	         "bookto_moneybird_database_up 0\n"
	         "# HELP bookto_moneybird_spooled_deliveries Verified deliveries waiting in the "
	         "local spool for PostgreSQL.\n"
	         "# TYPE bookto_moneybird_spooled_deliveries gauge\n"
	         "bookto_moneybird_spooled_deliveries 2\n"
	         "# HELP bookto_moneybird_spool_rejected_files Spool files set aside in "
	         "spool.dir/rejected/ (unreadable, unsigned, tampered, refused): a person must "
	         "look at them.\n"
	         "# TYPE bookto_moneybird_spool_rejected_files gauge\n"
	         "bookto_moneybird_spool_rejected_files 0\n");
	text = render(&gauges);
	assert_text(text, expected);
	free(text);
}

/* In three parts: ISO C caps one string literal at 4095 bytes. */
static const char busy_expected_1[] =
    "# HELP bookto_moneybird_deliveries_total bookto deliveries by outcome since this "
    "process started.\n"
    "# TYPE bookto_moneybird_deliveries_total counter\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"accepted\"} 2\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"duplicate\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"duplicate_differs\"} 1\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"ignored\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"invalid_json\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"spooled\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"rejected\"} 1\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"refused\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"unusable\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"shop\",outcome=\"replay\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"accepted\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"duplicate\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"duplicate_"
    "differs\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"ignored\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"invalid_json\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"spooled\"} 1\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"rejected\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"refused\"} 1\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"unusable\"} 0\n"
    "bookto_moneybird_deliveries_total{connection=\"a\\\"b\\\\c\\nd\",outcome=\"replay\"} 0\n"
    "# HELP bookto_moneybird_moneybird_calls_total Moneybird API calls sent, by endpoint "
    "template and outcome.\n"
    "# TYPE bookto_moneybird_moneybird_calls_total counter\n"
    "bookto_moneybird_moneybird_calls_total{endpoint=\"GET tax_rates\",outcome=\"ok\"} 1\n"
    "bookto_moneybird_moneybird_calls_total{endpoint=\"POST contacts\",outcome=\"rate_limited\"} "
    "1\n"
    "bookto_moneybird_moneybird_calls_total{endpoint=\"POST sales_invoices\",outcome=\"ok\"} 2\n"
    "bookto_moneybird_moneybird_calls_total{endpoint=\"POST "
    "sales_invoices\",outcome=\"unknown_outcome\"} 1\n"
    "# HELP bookto_moneybird_moneybird_rate_limited_total Moneybird answers with HTTP 429 "
    "Too Many Requests.\n"
    "# TYPE bookto_moneybird_moneybird_rate_limited_total counter\n"
    "bookto_moneybird_moneybird_rate_limited_total 1\n"
    "# HELP bookto_moneybird_moneybird_budget_waits_total Calls the shared rate budget held "
    "back (nothing was sent).\n"
    "# TYPE bookto_moneybird_moneybird_budget_waits_total counter\n"
    "bookto_moneybird_moneybird_budget_waits_total 1\n"
    "# HELP bookto_moneybird_reconcile_differences Differences the last reconciliation of "
    "this process found (-1: none ran yet).\n"
    "# TYPE bookto_moneybird_reconcile_differences gauge\n"
    "bookto_moneybird_reconcile_differences{connection=\"shop\"} 0\n"
    "bookto_moneybird_reconcile_differences{connection=\"a\\\"b\\\\c\\nd\"} -1\n"
    "# HELP bookto_moneybird_reconcile_differences_total Differences found by "
    "reconciliations since this process started.\n"
    "# TYPE bookto_moneybird_reconcile_differences_total counter\n"
    "bookto_moneybird_reconcile_differences_total{connection=\"shop\"} 3\n"
    "bookto_moneybird_reconcile_differences_total{connection=\"a\\\"b\\\\c\\nd\"} 0\n";
static const char busy_expected_2[] =
    "# HELP bookto_moneybird_database_up 1 when PostgreSQL answered this scrape's queries, "
    "else 0.\n"
    "# TYPE bookto_moneybird_database_up gauge\n"
    "bookto_moneybird_database_up 1\n"
    "# HELP bookto_moneybird_spooled_deliveries Verified deliveries waiting in the local "
    "spool for PostgreSQL.\n"
    "# TYPE bookto_moneybird_spooled_deliveries gauge\n"
    "bookto_moneybird_spooled_deliveries 0\n"
    "# HELP bookto_moneybird_spool_rejected_files Spool files set aside in "
    "spool.dir/rejected/ (unreadable, unsigned, tampered, refused): a person must look at "
    "them.\n"
    "# TYPE bookto_moneybird_spool_rejected_files gauge\n"
    "bookto_moneybird_spool_rejected_files 0\n"
    "# HELP bookto_moneybird_orders Orders per sync state.\n"
    "# TYPE bookto_moneybird_orders gauge\n"
    "bookto_moneybird_orders{connection=\"shop\",state=\"queued\"} 1\n"
    "bookto_moneybird_orders{connection=\"shop\",state=\"in_progress\"} 2\n"
    "bookto_moneybird_orders{connection=\"shop\",state=\"retrying\"} 3\n"
    "bookto_moneybird_orders{connection=\"shop\",state=\"needs_attention\"} 4\n"
    "bookto_moneybird_orders{connection=\"shop\",state=\"skipped\"} 5\n"
    "bookto_moneybird_orders{connection=\"shop\",state=\"synced\"} 6\n"
    "bookto_moneybird_orders{connection=\"shop\",state=\"reconciled\"} 7\n"
    "bookto_moneybird_orders{connection=\"a\\\"b\\\\c\\nd\",state=\"queued\"} 0\n"
    "bookto_moneybird_orders{connection=\"a\\\"b\\\\c\\nd\",state=\"in_progress\"} 0\n"
    "bookto_moneybird_orders{connection=\"a\\\"b\\\\c\\nd\",state=\"retrying\"} 0\n"
    "bookto_moneybird_orders{connection=\"a\\\"b\\\\c\\nd\",state=\"needs_attention\"} 0\n"
    "bookto_moneybird_orders{connection=\"a\\\"b\\\\c\\nd\",state=\"skipped\"} 0\n"
    "bookto_moneybird_orders{connection=\"a\\\"b\\\\c\\nd\",state=\"synced\"} 0\n"
    "bookto_moneybird_orders{connection=\"a\\\"b\\\\c\\nd\",state=\"reconciled\"} 0\n";
static const char busy_expected_3[] =
    "# HELP bookto_moneybird_connection_paused 1 while the connection's work is paused "
    "(Moneybird refused its token).\n"
    "# TYPE bookto_moneybird_connection_paused gauge\n"
    "bookto_moneybird_connection_paused{connection=\"shop\"} 0\n"
    "bookto_moneybird_connection_paused{connection=\"a\\\"b\\\\c\\nd\"} 1\n"
    "# HELP bookto_moneybird_rate_budget_remaining Moneybird calls left in the current "
    "window of the connection's token.\n"
    "# TYPE bookto_moneybird_rate_budget_remaining gauge\n"
    "bookto_moneybird_rate_budget_remaining{connection=\"shop\"} 147\n"
    "# HELP bookto_moneybird_rate_budget_limit Moneybird calls allowed per window.\n"
    "# TYPE bookto_moneybird_rate_budget_limit gauge\n"
    "bookto_moneybird_rate_budget_limit{connection=\"shop\"} 150\n"
    "bookto_moneybird_rate_budget_limit{connection=\"a\\\"b\\\\c\\nd\"} 300\n"
    "# HELP bookto_moneybird_queue_depth Pending sync jobs, due now or scheduled later.\n"
    "# TYPE bookto_moneybird_queue_depth gauge\n"
    "bookto_moneybird_queue_depth 9\n"
    "# HELP bookto_moneybird_queue_ready_jobs Pending sync jobs that are due now.\n"
    "# TYPE bookto_moneybird_queue_ready_jobs gauge\n"
    "bookto_moneybird_queue_ready_jobs 4\n"
    "# HELP bookto_moneybird_queue_oldest_job_age_seconds How long the longest-waiting due "
    "job has been due (0 when none is).\n"
    "# TYPE bookto_moneybird_queue_oldest_job_age_seconds gauge\n"
    "bookto_moneybird_queue_oldest_job_age_seconds 12.250\n"
    "# HELP bookto_moneybird_sync_latency_seconds Time from receiving an order to its sync, "
    "over every synced order.\n"
    "# TYPE bookto_moneybird_sync_latency_seconds histogram\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"1\"} 2\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"5\"} 5\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"15\"} 8\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"60\"} 9\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"300\"} 10\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"900\"} 10\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"3600\"} 12\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"21600\"} 12\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"86400\"} 12\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"604800\"} 13\n"
    "bookto_moneybird_sync_latency_seconds_bucket{le=\"+Inf\"} 13\n"
    "bookto_moneybird_sync_latency_seconds_sum 7321.500\n"
    "bookto_moneybird_sync_latency_seconds_count 13\n";

static void test_busy_database_up(void **state)
{
	static const char post_invoices[] = "POST sales_invoices";
	char post_invoices_copy[sizeof(post_invoices)];
	struct metrics_connection_gauges connections[2] = {
	    {.name = "shop",
	     .orders = {1, 2, 3, 4, 5, 6, 7},
	     .budget_known = true,
	     .budget_remaining = 147,
	     .budget_limit = 150},
	    {.name = "a\"b\\c\nd", .paused = true, .budget_known = false, .budget_limit = 300},
	};
	struct metrics_gauges gauges = {
	    .database_up = true,
	    .connection_count = 2,
	    .connections = connections,
	    .queue_depth = 9,
	    .queue_ready = 4,
	    .queue_oldest_ready_seconds = 12.25,
	    .latency_buckets = {2, 5, 8, 9, 10, 10, 12, 12, 12, 13},
	    .latency_count = 13,
	    .latency_sum_seconds = 7321.5,
	    .spooled_deliveries = 0,
	};
	struct mb_call call = {0};
	static char expected[16384];
	char *text;

	(void)state;
	metrics_reset();
	metrics_delivery(0, "accepted");
	metrics_delivery(0, "accepted");
	metrics_delivery(0, "duplicate_differs");
	metrics_delivery(0, "rejected");
	metrics_delivery(0, "no_such_outcome"); /* ignored */
	metrics_delivery(1, "spooled");
	metrics_delivery(1, "refused");
	metrics_delivery(METRICS_MAX_CONNECTIONS, "accepted"); /* out of range: dropped */

	call.endpoint = post_invoices;
	call.outcome = MB_OK;
	call.http_status = 201;
	metrics_moneybird_call(&call);
	/* The same template from another pointer shares the slot. */
	memcpy(post_invoices_copy, post_invoices, sizeof(post_invoices));
	call.endpoint = post_invoices_copy;
	metrics_moneybird_call(&call);
	call.endpoint = post_invoices;
	call.outcome = MB_UNKNOWN_OUTCOME;
	call.http_status = 0;
	metrics_moneybird_call(&call);
	call.endpoint = "GET tax_rates";
	call.outcome = MB_OK;
	call.http_status = 200;
	metrics_moneybird_call(&call);
	call.endpoint = "POST contacts";
	call.outcome = MB_RATE_LIMITED;
	call.http_status = 429;
	metrics_moneybird_call(&call);
	call.endpoint = "POST payments";
	call.budget_refused = true; /* nothing sent: a budget wait, no call */
	call.http_status = 0;
	metrics_moneybird_call(&call);
	metrics_moneybird_call(NULL);

	metrics_reconcile_differences(0, 1);
	metrics_reconcile_differences(0, 2);
	metrics_reconcile_differences(0, 0);
	metrics_reconcile_differences(0, -5); /* ignored */

	snprintf(expected, sizeof(expected), "%s%s%s", busy_expected_1, busy_expected_2,
	         busy_expected_3);
	text = render(&gauges);
	assert_text(text, expected);
	free(text);

	/* The same inputs render the same bytes. */
	text = render(&gauges);
	assert_text(text, expected);
	free(text);
}

static void test_histogram_stays_cumulative(void **state)
{
	struct metrics_connection_gauges shop = {.name = "shop"};
	struct metrics_gauges gauges = {.database_up = true,
	                                .connection_count = 1,
	                                .connections = &shop,
	                                .latency_buckets = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3},
	                                .latency_count = 2};
	char *text;

	(void)state;
	metrics_reset();
	text = render(&gauges);
	assert_non_null(strstr(text,
	                       "_bucket{le=\"1\"} 3\n"
	                       "bookto_moneybird_sync_latency_seconds_bucket{le=\"5\"} 3\n"
	                       "bookto_moneybird_sync_latency_seconds_bucket{le=\"15\"} 4\n"));
	assert_non_null(strstr(text, "_bucket{le=\"+Inf\"} 9\n"));
	free(text);
}

static void test_endpoint_overflow(void **state)
{
	static char names[METRICS_MAX_ENDPOINTS + 5][32];
	struct metrics_connection_gauges shop = {.name = "shop"};
	struct metrics_gauges gauges = {.connection_count = 1, .connections = &shop};
	struct mb_call call = {0};
	char *text;
	size_t lines = 0;

	(void)state;
	metrics_reset();
	for (size_t i = 0; i < METRICS_MAX_ENDPOINTS + 5; i++) {
		snprintf(names[i], sizeof(names[i]), "GET e%03zu", i);
		call.endpoint = names[i];
		metrics_moneybird_call(&call);
	}
	text = render(&gauges);
	for (const char *p = text; (p = strstr(p, "moneybird_calls_total{")) != NULL; p++)
		lines++;
	assert_int_equal(lines, METRICS_MAX_ENDPOINTS);
	assert_non_null(strstr(text, "{endpoint=\"GET e000\",outcome=\"ok\"} 1\n"));
	assert_null(strstr(text, "GET e064"));
	free(text);
}

#define THREADS 4
#define BUMPS 20000

static void *bump(void *arg)
{
	static const char *const endpoints[] = {"GET a", "GET b", "GET c"};
	struct mb_call call = {0};

	(void)arg;
	for (int i = 0; i < BUMPS; i++) {
		metrics_delivery(0, "accepted");
		call.endpoint = endpoints[i % 3];
		call.outcome = MB_OK;
		metrics_moneybird_call(&call);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics_connection_gauges shop = {.name = "shop"};
	struct metrics_gauges gauges = {.connection_count = 1, .connections = &shop};
	pthread_t threads[THREADS];
	char expected[128];
	char *text;

	(void)state;
	metrics_reset();
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&threads[t], NULL, bump, NULL), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	text = render(&gauges);
	snprintf(expected, sizeof(expected), "{connection=\"shop\",outcome=\"accepted\"} %d\n",
	         THREADS * BUMPS);
	assert_non_null(strstr(text, expected));
	/* 20000 = 3 * 6666 + 2: "GET a" and "GET b" get one more per thread. */
	snprintf(expected, sizeof(expected), "{endpoint=\"GET a\",outcome=\"ok\"} %d\n",
	         THREADS * 6667);
	assert_non_null(strstr(text, expected));
	snprintf(expected, sizeof(expected), "{endpoint=\"GET c\",outcome=\"ok\"} %d\n",
	         THREADS * 6666);
	assert_non_null(strstr(text, expected));
	assert_int_equal(strstr(text, "{endpoint=\"GET a\"") < strstr(text, "{endpoint=\"GET b\""),
	                 1);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_database_down),
	    cmocka_unit_test(test_busy_database_up),
	    cmocka_unit_test(test_histogram_stays_cumulative),
	    cmocka_unit_test(test_endpoint_overflow),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
