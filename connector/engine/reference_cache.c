#include "reference_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reference_entry {
	char administration_id[MB_ID_MAX];
	struct mb_tax_rate *rates;
	size_t rate_count;
	time_t rates_fetched_at;
	char currency[8];
	bool currency_known;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fetch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reference_entry *entries;
static size_t entry_count;

/* The entry of administration_id, added when missing (lock held). */
static struct reference_entry *entry_of(const char *administration_id, bool add)
{
	struct reference_entry *grown;

	for (size_t i = 0; i < entry_count; i++)
		if (strcmp(entries[i].administration_id, administration_id) == 0)
			return &entries[i];
	if (!add || (grown = realloc(entries, (entry_count + 1) * sizeof(*grown))) == NULL)
		return NULL;
	entries = grown;
	memset(&entries[entry_count], 0, sizeof(*entries));
	snprintf(entries[entry_count].administration_id,
	         sizeof(entries[entry_count].administration_id), "%s", administration_id);
	return &entries[entry_count++];
}

bool reference_tax_rates_get(const char *administration_id, time_t newer_than,
                             struct mb_tax_rate **rates, size_t *count, time_t *fetched_at)
{
	struct reference_entry *entry;
	bool found = false;

	pthread_mutex_lock(&lock);
	entry = entry_of(administration_id, false);
	if (entry != NULL && entry->rates_fetched_at > newer_than) {
		struct mb_tax_rate *copy = NULL;

		if (entry->rate_count == 0 ||
		    (copy = malloc(entry->rate_count * sizeof(*copy))) != NULL) {
			if (copy != NULL)
				memcpy(copy, entry->rates, entry->rate_count * sizeof(*copy));
			*rates = copy;
			*count = entry->rate_count;
			*fetched_at = entry->rates_fetched_at;
			found = true;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void reference_tax_rates_put(const char *administration_id, const struct mb_tax_rate *rates,
                             size_t count, time_t fetched_at)
{
	struct mb_tax_rate *copy = NULL;
	struct reference_entry *entry;

	if (count > 0 && (copy = malloc(count * sizeof(*copy))) == NULL)
		return;
	if (copy != NULL)
		memcpy(copy, rates, count * sizeof(*copy));
	pthread_mutex_lock(&lock);
	entry = entry_of(administration_id, true);
	if (entry != NULL && fetched_at >= entry->rates_fetched_at) {
		free(entry->rates);
		entry->rates = copy;
		entry->rate_count = count;
		entry->rates_fetched_at = fetched_at;
		copy = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(copy);
}

bool reference_currency_get(const char *administration_id, char *currency, size_t size)
{
	struct reference_entry *entry;
	bool found = false;

	pthread_mutex_lock(&lock);
	entry = entry_of(administration_id, false);
	if (entry != NULL && entry->currency_known) {
		snprintf(currency, size, "%s", entry->currency);
		found = true;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void reference_currency_put(const char *administration_id, const char *currency)
{
	struct reference_entry *entry;

	pthread_mutex_lock(&lock);
	entry = entry_of(administration_id, true);
	if (entry != NULL) {
		snprintf(entry->currency, sizeof(entry->currency), "%s", currency);
		entry->currency_known = true;
	}
	pthread_mutex_unlock(&lock);
}

void reference_fetch_lock(void)
{
	pthread_mutex_lock(&fetch_lock);
}

void reference_fetch_unlock(void)
{
	pthread_mutex_unlock(&fetch_lock);
}
