/*
 * The Moneybird reference data every worker needs, read once per process
 * and administration rather than once per worker: the sales tax rates and
 * the administration's currency. A worker that finds a copy newer than its
 * own takes it; one that must refetch (a rate an order needs is missing and
 * the copy is old enough, or Moneybird refused a rate of the copy: see
 * sync_replan_after_refusal) publishes what it fetched for the others.
 */
#ifndef BM_REFERENCE_CACHE_H
#define BM_REFERENCE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mb_types.h"

/* Copies the shared tax rates of administration_id when they were fetched
 * after `newer_than`: *rates (free()) and *count, *fetched_at. */
bool reference_tax_rates_get(const char *administration_id, time_t newer_than,
                             struct mb_tax_rate **rates, size_t *count, time_t *fetched_at);
/* Publishes a fetched copy (copied). */
void reference_tax_rates_put(const char *administration_id, const struct mb_tax_rate *rates,
                             size_t count, time_t fetched_at);

/* The administration's currency, when some worker read it. */
bool reference_currency_get(const char *administration_id, char *currency, size_t size);
void reference_currency_put(const char *administration_id, const char *currency);

/* Serialises the fetches of reference data in this process, so that
 * workers starting together make one request, not one each. */
void reference_fetch_lock(void);
void reference_fetch_unlock(void);

#endif
