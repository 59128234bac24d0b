/*
 * The knobs of the config's test-only `testing` group, set once at start
 * (knobs_init) and read by the sync engine and the workers without passing
 * the config through every call.
 */
#include "knobs.h"

#include <pthread.h>

static struct config_testing knobs;
static pthread_once_t knobs_once = PTHREAD_ONCE_INIT;

static void knobs_defaults(void)
{
	config_testing_defaults(&knobs);
}

/* The knobs: knobs_init's, or the table's defaults before it. */
static const struct config_testing *knobs_get(void)
{
	pthread_once(&knobs_once, knobs_defaults);
	return &knobs;
}

void knobs_init(const struct config_testing *testing)
{
	pthread_once(&knobs_once, knobs_defaults);
	knobs = *testing;
}

int knobs_lease_seconds(void)
{
	return knobs_get()->lease_seconds;
}

int knobs_backoff_base_seconds(void)
{
	return knobs_get()->backoff_base_seconds;
}

int knobs_budget_wait_ms(void)
{
	long quarter_lease_ms = (long)knobs_get()->lease_seconds * 250;
	long value = knobs_get()->budget_wait_ms;

	return (int)(value < quarter_lease_ms ? value : quarter_lease_ms);
}

int knobs_test_stall_before_intent_ms(void)
{
	return knobs_get()->stall_before_intent_ms;
}

int knobs_pause_probe_seconds(void)
{
	return knobs_get()->pause_probe_seconds;
}
