/*
 * queue module, pure part: the retry backoff. Exponential from the base,
 * capped at an hour, "equal jitter" (never below half the step, never above
 * it), clamped random input, and the worker's environment overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "knobs.h"
#include "queue.h"

static void test_backoff_doubles_from_the_base(void **state)
{
	(void)state;
	/* random 0 gives half the step; just under 1 gives (almost) the step. */
	assert_int_equal(queue_backoff_seconds(10, 1, 0.0), 5);
	assert_int_equal(queue_backoff_seconds(10, 2, 0.0), 10);
	assert_int_equal(queue_backoff_seconds(10, 3, 0.0), 20);
	assert_int_equal(queue_backoff_seconds(10, 4, 0.0), 40);
	assert_int_equal(queue_backoff_seconds(10, 1, 0.999), 9);
	assert_int_equal(queue_backoff_seconds(10, 2, 0.999), 19);
	assert_int_equal(queue_backoff_seconds(10, 2, 0.5), 15);
}

static void test_backoff_is_capped(void **state)
{
	(void)state;
	assert_int_equal(queue_backoff_seconds(10, 9, 0.0), 1280);
	assert_int_equal(queue_backoff_seconds(10, 10, 0.0), QUEUE_BACKOFF_CAP_SECONDS / 2);
	assert_int_equal(queue_backoff_seconds(10, 15, 0.0), QUEUE_BACKOFF_CAP_SECONDS / 2);
	/* Huge attempt counts must not overflow the step. */
	assert_int_equal(queue_backoff_seconds(10, 1000000, 0.0), QUEUE_BACKOFF_CAP_SECONDS / 2);
	assert_true(queue_backoff_seconds(10, 1000000, 0.999999) <= QUEUE_BACKOFF_CAP_SECONDS);
	assert_int_equal(queue_backoff_seconds(7200, 1, 0.0), QUEUE_BACKOFF_CAP_SECONDS / 2);
}

static void test_backoff_jitter_bounds(void **state)
{
	(void)state;
	for (int attempt = 1; attempt <= 20; attempt++) {
		int64_t step = 10;

		for (int i = 1; i < attempt && step < QUEUE_BACKOFF_CAP_SECONDS; i++)
			step *= 2;
		if (step > QUEUE_BACKOFF_CAP_SECONDS)
			step = QUEUE_BACKOFF_CAP_SECONDS;
		for (int r = 0; r < 100; r++) {
			int64_t delay = queue_backoff_seconds(10, attempt, r / 100.0);

			assert_true(delay >= step / 2);
			assert_true(delay <= step);
		}
	}
}

static void test_backoff_clamps_odd_input(void **state)
{
	(void)state;
	/* Out-of-range random input is clamped, not extrapolated. */
	assert_int_equal(queue_backoff_seconds(10, 1, -3.0), 5);
	assert_true(queue_backoff_seconds(10, 1, 7.0) <= 10);
	/* A base below 1 s is taken as 1 s. */
	assert_int_equal(queue_backoff_seconds(0, 1, 0.999), 0);
	assert_int_equal(queue_backoff_seconds(0, 2, 0.0), 1);
	assert_int_equal(queue_backoff_seconds(1, 4, 0.0), 4);
	/* attempt 0 or negative behaves like the first attempt. */
	assert_int_equal(queue_backoff_seconds(10, 0, 0.0), 5);
	assert_int_equal(queue_backoff_seconds(10, -5, 0.0), 5);
}

static void test_worker_knobs(void **state)
{
	struct config_testing testing;

	(void)state;
	/* Before knobs_init: the config table's defaults. */
	assert_int_equal(knobs_backoff_base_seconds(), QUEUE_BACKOFF_BASE_SECONDS);
	assert_int_equal(knobs_pause_probe_seconds(), 30);
	assert_int_equal(knobs_lease_seconds(), 120);
	assert_int_equal(knobs_budget_wait_ms(), 5000);
	assert_int_equal(knobs_test_stall_before_intent_ms(), 0);

	config_testing_defaults(&testing);
	testing.backoff_base_seconds = 1;
	testing.pause_probe_seconds = 2;
	testing.lease_seconds = 3;
	knobs_init(&testing);
	assert_int_equal(knobs_backoff_base_seconds(), 1);
	assert_int_equal(knobs_pause_probe_seconds(), 2);
	assert_int_equal(knobs_lease_seconds(), 3);
	/* The budget wait is capped at a quarter of the lease. */
	assert_int_equal(knobs_budget_wait_ms(), 750);
	config_testing_defaults(&testing);
	knobs_init(&testing);
	assert_int_equal(knobs_lease_seconds(), 120);
}

static void test_owner_has_a_random_part(void **state)
{
	char owner[QUEUE_OWNER_MAX];
	char other[QUEUE_OWNER_MAX];
	char long_host[200];

	(void)state;
	queue_owner_format(owner, "web", 1, "0123456789abcdef", 3);
	assert_string_equal(owner, "web:1:0123456789abcdef:3");
	/* Two processes that are both PID 1 on "web" differ by the nonce. */
	queue_owner_format(other, "web", 1, "fedcba9876543210", 3);
	assert_string_not_equal(owner, other);
	/* A long hostname is cut, never the nonce or the thread. */
	memset(long_host, 'h', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	queue_owner_format(owner, long_host, 2147483647L, "0123456789abcdef", 63);
	assert_true(strlen(owner) < QUEUE_OWNER_MAX);
	assert_non_null(strstr(owner, ":2147483647:0123456789abcdef:63"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_doubles_from_the_base),
	    cmocka_unit_test(test_backoff_is_capped),
	    cmocka_unit_test(test_backoff_jitter_bounds),
	    cmocka_unit_test(test_backoff_clamps_odd_input),
	    cmocka_unit_test(test_worker_knobs),
	    cmocka_unit_test(test_owner_has_a_random_part),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
