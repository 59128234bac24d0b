/*
 * The knobs tests and unusual deployments turn through the environment,
 * read in this one place (see knobs.h).
 */
#include "knobs.h"

#include <stdlib.h>

#include "queue.h"

#define DEFAULT_BUDGET_WAIT_MS 5000
#define BUDGET_WAIT_MAX_MS 60000
#define PAUSE_PROBE_SECONDS 30
#define DEFAULT_LEASE_SECONDS 120
#define CONTACT_INDEX_MAX_AGE_SECONDS 300

/* A positive number of seconds from the environment, else fallback. */
static int env_seconds(const char *name, int fallback, long max)
{
	const char *text = getenv(name);
	char *end = NULL;
	long value;

	if (text == NULL || text[0] == '\0')
		return fallback;
	value = strtol(text, &end, 10);
	if (*end != '\0' || value < 1 || value > max)
		return fallback;
	return (int)value;
}

int knobs_lease_seconds(void)
{
	return env_seconds("BOOKTO_MONEYBIRD_LEASE_SECONDS", DEFAULT_LEASE_SECONDS, 86400);
}

int knobs_backoff_base_seconds(void)
{
	return env_seconds("BOOKTO_MONEYBIRD_BACKOFF_BASE_SECONDS", QUEUE_BACKOFF_BASE_SECONDS,
	                   QUEUE_BACKOFF_CAP_SECONDS);
}

int knobs_budget_wait_ms(void)
{
	const char *text = getenv("BOOKTO_MONEYBIRD_BUDGET_WAIT_MS");
	long quarter_lease_ms = (long)knobs_lease_seconds() * 250;
	long value = DEFAULT_BUDGET_WAIT_MS;
	char *end = NULL;

	if (text != NULL && text[0] != '\0') {
		long parsed = strtol(text, &end, 10);

		if (*end == '\0' && parsed >= 0 && parsed <= BUDGET_WAIT_MAX_MS)
			value = parsed;
	}
	return (int)(value < quarter_lease_ms ? value : quarter_lease_ms);
}

int knobs_test_stall_before_intent_ms(void)
{
	return env_seconds("BOOKTO_MONEYBIRD_TEST_STALL_BEFORE_INTENT_MS", 0, 600000);
}

int knobs_pause_probe_seconds(void)
{
	return env_seconds("BOOKTO_MONEYBIRD_PAUSE_PROBE_SECONDS", PAUSE_PROBE_SECONDS, 86400);
}

int knobs_contact_index_max_age_seconds(void)
{
	return env_seconds("BOOKTO_MONEYBIRD_CONTACT_INDEX_MAX_AGE_SECONDS",
	                   CONTACT_INDEX_MAX_AGE_SECONDS, 86400);
}
