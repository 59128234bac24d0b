#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mapping.h"
#include "mb_client.h"
#include "reference_cache.h"
#include "sync_internal.h"

/* Tax rates are refetched at most this often, e.g. after a bookkeeper adds
 * one that an order needs. */
#define TAX_RATE_REFRESH_SECONDS 300

/* tax_rates() with the process's reference fetch lock held. */
static bool tax_rates_locked(struct sync_worker *worker, size_t index, time_t newer_than,
                             struct sync_outcome *outcome)
{
	struct sync_connection *sc = &worker->connections[index];
	struct mb_tax_rate *rates = NULL;
	struct cn_error err = {""};
	size_t count = 0;
	enum mb_outcome result;

	const char *administration_id = sync_administration_of(worker, index);
	time_t fetched_at = 0;

	/* Another worker's copy, when it is newer than what is asked for. */
	if (reference_tax_rates_get(administration_id, newer_than, &rates, &count, &fetched_at)) {
		free(sc->tax_rates);
		sc->tax_rates = rates;
		sc->tax_rate_count = count;
		sc->tax_rates_fetched_at = fetched_at;
		return true;
	}
	free(rates);
	rates = NULL;
	result = mb_tax_rates_list(sc->session.client, &rates, &count, &err);
	if (result != MB_OK) {
		sync_call_failed(worker, index, result, "fetching the tax rates", &err, outcome);
		return false;
	}
	free(sc->tax_rates);
	sc->tax_rates = rates;
	sc->tax_rate_count = count;
	sc->tax_rates_fetched_at = time(NULL);
	reference_tax_rates_put(administration_id, rates, count, sc->tax_rates_fetched_at);
	return true;
}

/* Replaces the worker's tax rates by the process's copy when that is newer. */
static void take_newer_copy(struct sync_worker *worker, size_t index)
{
	struct sync_connection *sc = &worker->connections[index];
	struct mb_tax_rate *rates = NULL;
	size_t count = 0;
	time_t fetched_at = 0;

	if (!reference_tax_rates_get(sync_administration_of(worker, index),
	                             sc->tax_rates_fetched_at, &rates, &count, &fetched_at))
		return;
	free(sc->tax_rates);
	sc->tax_rates = rates;
	sc->tax_rate_count = count;
	sc->tax_rates_fetched_at = fetched_at;
}

/* The connection's tax rates as fetched after `newer_than` (0: any copy),
 * fetched once per process; one worker fetches while the others wait for
 * its copy. */
static bool tax_rates(struct sync_worker *worker, size_t index, time_t newer_than,
                      struct sync_outcome *outcome)
{
	const struct sync_connection *sc = &worker->connections[index];
	bool ok;

	if (sc->tax_rates_fetched_at != 0 && sc->tax_rates_fetched_at > newer_than) {
		/* A newer copy another worker read (after Moneybird refused a
		 * rate of the older one, say) replaces this one. */
		take_newer_copy(worker, index);
		return true;
	}
	reference_fetch_lock();
	ok = tax_rates_locked(worker, index, newer_than, outcome);
	reference_fetch_unlock();
	return ok;
}

/* Plans the invoice with rates read after `newer_than` (0: any copy); a
 * missing tax rate is retried once with fresh rates. */
static struct plan_invoice *plan_the_invoice(struct sync_worker *worker, size_t index,
                                             const struct store_sync_order *so, time_t newer_than,
                                             struct sync_outcome *outcome)
{
	struct sync_connection *sc = &worker->connections[index];
	struct plan_invoice *plan = NULL;
	struct cn_error err = {""};
	char *park_reason = NULL;
	int rc;

	for (int round = 0; round < 2; round++) {
		if (!tax_rates(worker, index, newer_than, outcome))
			return NULL;
		rc = plan_invoice(so->order, sync_connection_of(worker, index)->mapping,
		                  sc->tax_rates, sc->tax_rate_count,
		                  sync_connection_of(worker, index)->zone, NULL, &plan,
		                  &park_reason, &err);
		if (rc == CN_OK)
			return plan;
		if (rc != CN_INVALID || round == 1)
			break;
		/* A person retried it after the rates were read (having just made
		 * the missing rate in Moneybird, say): read them again now;
		 * otherwise only when the copy is old enough. */
		if (so->retried_at >= (int64_t)sc->tax_rates_fetched_at)
			newer_than = (time_t)so->retried_at;
		else if (time(NULL) - sc->tax_rates_fetched_at >= TAX_RATE_REFRESH_SECONDS)
			newer_than = sc->tax_rates_fetched_at;
		else
			break;
		free(park_reason);
		park_reason = NULL;
	}
	sync_set_outcome(outcome, park_reason != NULL ? SYNC_PARK : SYNC_RETRY, "%s",
	                 park_reason != NULL ? park_reason : err.message);
	free(park_reason);
	return NULL;
}

/* The administration's currency, read once per process. */
static bool administration_currency(struct sync_worker *worker, size_t index,
                                    struct sync_outcome *outcome)
{
	const struct connection_config *cc = &worker->shared->config->connections[index];
	struct sync_connection *sc = &worker->connections[index];
	struct mb_administration *administrations = NULL;
	struct cn_error err = {""};
	size_t count = 0;
	bool found = false;
	enum mb_outcome result = MB_OK;

	if (sc->administration_read)
		return true;
	reference_fetch_lock();
	found = reference_currency_get(cc->moneybird_administration_id, sc->currency,
	                               sizeof(sc->currency));
	if (!found)
		result =
		    mb_administrations_list(sc->session.client, &administrations, &count, &err);
	for (size_t i = 0; result == MB_OK && i < count && !found; i++) {
		if (strcmp(administrations[i].id, cc->moneybird_administration_id) != 0)
			continue;
		snprintf(sc->currency, sizeof(sc->currency), "%s", administrations[i].currency);
		reference_currency_put(cc->moneybird_administration_id, sc->currency);
		found = true;
	}
	reference_fetch_unlock();
	free(administrations);
	if (result != MB_OK) {
		sync_call_failed(worker, index, result, "reading the administration's currency",
		                 &err, outcome);
		return false;
	}
	if (!found) {
		sync_set_outcome(outcome, SYNC_PARK,
		                 "the API token does not reach Moneybird administration %s; check "
		                 "moneybird.administration_id of connection %s",
		                 cc->moneybird_administration_id, cc->name);
		return false;
	}
	sc->administration_read = true;
	return true;
}

/*
 * Parks an order stopped before its invoice was written, saying truthfully
 * what Moneybird already holds for it.
 */
static void park_before_invoice(const struct store_sync_order *so, const char *reason,
                                struct sync_outcome *outcome)
{
	if (so->contact_id[0] == '\0')
		sync_set_outcome(outcome, SYNC_PARK, "%s; nothing was written to Moneybird",
		                 reason);
	else
		sync_set_outcome(
		    outcome, SYNC_PARK,
		    "%s; the buyer's contact %s is in Moneybird, no invoice was written", reason,
		    so->contact_id);
}

/*
 * Everything that can be decided locally, before the order's first
 * Moneybird write: the invoice (basis and totals, tax rate, ledger account),
 * the currency against the administration's and the send method's
 * preconditions. Returns the plan, or NULL with the outcome set.
 */
struct plan_invoice *sync_plan_before_writes(struct sync_worker *worker, size_t index,
                                             const struct store_sync_order *so,
                                             struct sync_outcome *outcome)
{
	struct plan_invoice *plan = NULL;
	struct plan_delivery delivery;
	struct cn_error err = {""};
	char *park_reason = NULL;
	int rc;

	plan = plan_the_invoice(worker, index, so, 0, outcome);
	if (plan == NULL) {
		if (outcome->verdict == SYNC_PARK) {
			char reason[sizeof(outcome->reason)];

			snprintf(reason, sizeof(reason), "%s", outcome->reason);
			park_before_invoice(so, reason, outcome);
		}
		return NULL;
	}
	if (!administration_currency(worker, index, outcome))
		goto fail;
	rc =
	    plan_check_currency(so->order, worker->connections[index].currency, &park_reason, &err);
	if (rc == CN_OK) {
		plan_delivery(so->order, sync_connection_of(worker, index)->mapping, &delivery);
		rc = plan_check_delivery(so->order, &delivery, &park_reason, &err);
	}
	if (rc == CN_OK)
		return plan;
	if (park_reason != NULL)
		park_before_invoice(so, park_reason, outcome);
	else
		sync_set_outcome(outcome, SYNC_RETRY, "%s", err.message);
	free(park_reason);
fail:
	plan_invoice_free(plan);
	return NULL;
}

bool sync_refusal_names_reference(enum mb_outcome result, const char *message)
{
	return result == MB_VALIDATION && message != NULL &&
	       (strstr(message, "tax_rate") != NULL || strstr(message, "ledger_account") != NULL);
}

static bool same_id(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

struct plan_invoice *sync_replan_after_refusal(struct sync_worker *worker, size_t index,
                                               const struct store_sync_order *so,
                                               const struct plan_invoice *refused,
                                               const char *refusal, struct sync_outcome *outcome)
{
	struct sync_connection *sc = &worker->connections[index];
	struct plan_invoice *plan = NULL;
	char reason[sizeof(outcome->reason)];

	/* The refused copy is dropped: rates read after it, by another worker
	 * since (no call) or now (one call, then shared with the others). */
	plan = plan_the_invoice(worker, index, so, sc->tax_rates_fetched_at, outcome);
	if (plan == NULL) {
		if (outcome->verdict != SYNC_PARK)
			return NULL;
		snprintf(reason, sizeof(reason),
		         "Moneybird refused tax rate \"%s\" (id %s) of the invoice (%s); with the "
		         "tax rates read again: %s",
		         refused->tax_rate_name != NULL ? refused->tax_rate_name : "",
		         refused->tax_rate_id != NULL ? refused->tax_rate_id : "default", refusal,
		         outcome->reason);
		park_before_invoice(so, reason, outcome);
		return NULL;
	}
	if (!same_id(plan->tax_rate_id, refused->tax_rate_id) ||
	    !same_id(plan->ledger_account_id, refused->ledger_account_id))
		return plan;
	snprintf(reason, sizeof(reason),
	         "Moneybird refused the invoice (%s) with tax rate \"%s\" (id %s) and ledger "
	         "account %s, which the tax rates read again and the mapping still choose; make "
	         "the rate active in Moneybird or change the mapping, then retry",
	         refusal, plan->tax_rate_name != NULL ? plan->tax_rate_name : "",
	         plan->tax_rate_id != NULL ? plan->tax_rate_id : "default",
	         plan->ledger_account_id != NULL ? plan->ledger_account_id : "default");
	plan_invoice_free(plan);
	park_before_invoice(so, reason, outcome);
	return NULL;
}
