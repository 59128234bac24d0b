#include "sync.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "knobs.h"
#include "log.h"
#include "mapping.h"
#include "mb_client.h"
#include "mb_session.h"
#include "metrics.h"
#include "plan.h"
#include "store.h"
#include "store_sync.h"

/* Tax rates are refetched at most this often, e.g. after a bookkeeper adds
 * one that an order needs. */
#define TAX_RATE_REFRESH_SECONDS 300

/* Per connection, per worker thread: the client and what it has cached. */
struct sync_connection {
	struct mb_session session;
	struct mb_tax_rate *tax_rates;
	size_t tax_rate_count;
	time_t tax_rates_fetched_at;
	char currency[8];         /* the administration's ("" if it names none) */
	bool administration_read; /* currency is known */
};

/* The job being run: where each Moneybird call is recorded. */
struct sync_job_context {
	PGconn *conn;
	const struct queue_job *job;
	const char *owner; /* the lease owner */
};

struct sync_worker {
	const struct sync_shared *shared;
	struct sync_connection *connections; /* parallel to config->connections */
	PGconn *budget_conn;                 /* the worker's connection, set per job */
	struct sync_job_context current;     /* valid while a job runs */
};

int sync_worker_create(const struct sync_shared *shared, struct sync_worker **out,
                       struct cn_error *err)
{
	struct sync_worker *worker = calloc(1, sizeof(*worker));

	*out = NULL;
	if (worker == NULL ||
	    (worker->connections =
	         calloc(shared->config->connection_count, sizeof(*worker->connections))) == NULL) {
		free(worker);
		error_set(err, "out of memory creating a sync worker");
		return CN_ERR;
	}
	worker->shared = shared;
	*out = worker;
	return CN_OK;
}

void sync_worker_free(struct sync_worker *worker)
{
	if (worker == NULL)
		return;
	for (size_t i = 0; i < worker->shared->config->connection_count; i++) {
		mb_session_close(&worker->connections[i].session);
		free(worker->connections[i].tax_rates);
	}
	free(worker->connections);
	free(worker);
}

/* The runtime of the connection at index (settings, mapping, zone). */
static const struct connection_runtime *connection_of(const struct sync_worker *worker,
                                                      size_t index)
{
	return &worker->shared->runtime->connections[index];
}

/* Records every Moneybird call of the running job (attempts + audit). */
static void record_call(void *ctx, const struct mb_call *call)
{
	struct sync_worker *worker = ctx;
	struct sync_job_context *current = &worker->current;
	struct cn_error err = {""};

	metrics_moneybird_call(call);
	if (current->job == NULL || call->budget_refused)
		return;
	if (store_call_record(current->conn, current->job->order_pk, current->job->connection_id,
	                      current->job->attempts, call->endpoint,
	                      mb_outcome_name(call->outcome), call->http_status,
	                      (int)(call->seconds * 1000.0), NULL, &err) != CN_OK)
		log_warn("call_record_failed", "endpoint", call->endpoint, "error", err.message,
		         NULL);
}

/* The connection's client, created on first use with the shared budget. */
static int connection_client(struct sync_worker *worker, PGconn *conn, size_t index,
                             struct sync_connection **out, struct cn_error *err)
{
	const struct connection_config *cc = &worker->shared->config->connections[index];
	struct sync_connection *sc = &worker->connections[index];
	/* Waits in-process for a budget slot (bounded, within the lease) rather
	 * than deferring the job and repeating its lookups later. */
	struct mb_session_options options = {.priority = BUDGET_LIVE,
	                                     .max_wait_ms = knobs_budget_wait_ms(),
	                                     .after_call = record_call,
	                                     .after_ctx = worker};
	int rc;

	/* The budget gate borrows the worker's connection, which can change
	 * after a reconnect; point it at the current one on every job. */
	if (sc->session.client != NULL) {
		mb_session_set_conn(&sc->session, conn);
		*out = sc;
		return CN_OK;
	}
	if (connection_of(worker, index)->zone == NULL) {
		error_set(err, "the time zone of connection %s is not loaded", cc->name);
		return CN_ERR;
	}
	rc = mb_session_open(&sc->session, cc, conn, &options, err);
	if (rc != CN_OK)
		return rc;
	*out = sc;
	return CN_OK;
}

static void set_outcome(struct sync_outcome *outcome, enum sync_verdict verdict, const char *fmt,
                        ...) PRINTF_LIKE(3, 4);

static void set_outcome(struct sync_outcome *outcome, enum sync_verdict verdict, const char *fmt,
                        ...)
{
	va_list ap;

	outcome->verdict = verdict;
	va_start(ap, fmt);
	vsnprintf(outcome->reason, sizeof(outcome->reason), fmt, ap);
	va_end(ap);
}

/*
 * Turns a failed Moneybird call into the verdict: rate limits and transient
 * failures retry (an unknown outcome too: the intent is committed, so the
 * next attempt looks before it creates), a refused token pauses the
 * connection, and refusals a person must resolve park the order.
 */
static void call_failed(struct sync_worker *worker, size_t index, enum mb_outcome result,
                        const char *what, const struct cn_error *err, struct sync_outcome *outcome)
{
	const struct mb_call *call = mb_client_last_call(worker->connections[index].session.client);

	switch (result) {
	case MB_RATE_LIMITED:
		set_outcome(outcome, SYNC_RETRY, "%s: Moneybird rate limit reached", what);
		outcome->retry_at = call != NULL ? call->retry_at : 0;
		outcome->waiting = true;
		return;
	case MB_TRANSIENT:
	case MB_UNKNOWN_OUTCOME:
		set_outcome(outcome, SYNC_RETRY, "%s: %s", what, err->message);
		return;
	case MB_PERMANENT:
		if (call != NULL && call->http_status == 401) {
			set_outcome(outcome, SYNC_PAUSE,
			            "Moneybird refused the API token (401): check "
			            "moneybird.api_token of connection %s",
			            worker->shared->config->connections[index].name);
			return;
		}
		if (call != NULL && call->http_status == 402) {
			/* The plan limit holds for every order: pause the connection
			 * rather than spend each order's attempts on it. */
			set_outcome(
			    outcome, SYNC_PAUSE,
			    "%s: Moneybird's plan limit refused it (402: %s); raise the plan "
			    "of administration %s; the connection is paused and tried again "
			    "periodically",
			    what, err->message,
			    worker->shared->config->connections[index].moneybird_administration_id);
			return;
		}
		set_outcome(outcome, SYNC_PARK, "%s: Moneybird refused it: %s", what, err->message);
		return;
	case MB_VALIDATION:
	case MB_NOT_FOUND:
		set_outcome(outcome, SYNC_PARK, "%s: Moneybird refused it: %s", what, err->message);
		return;
	case MB_OK:
		break;
	}
	set_outcome(outcome, SYNC_RETRY, "%s: %s", what, err->message);
}

static void database_failed(const char *what, const struct cn_error *err,
                            struct sync_outcome *outcome)
{
	set_outcome(outcome, SYNC_RETRY, "%s: %s", what, err->message);
}

/* Keeps the lease alive before each step; false when another worker owns it. */
static bool keep_lease(PGconn *conn, const struct queue_job *job, const char *owner,
                       struct sync_outcome *outcome)
{
	struct cn_error err = {""};
	int rc = queue_extend_lease(conn, job, owner, knobs_lease_seconds(), &err);

	if (rc == CN_OK)
		return true;
	if (rc == CN_NOT_FOUND)
		set_outcome(outcome, SYNC_LEASE_LOST, "%s", err.message);
	else
		database_failed("extending the lease", &err, outcome);
	return false;
}

/*
 * Renews the lease right before a write that follows lookups, so a step's
 * lookups plus its write never outlast the lease: another worker can only
 * take the job over between writes, after the intent or the id is recorded.
 */
static bool lease_before_write(struct sync_worker *worker, struct sync_outcome *outcome)
{
	return keep_lease(worker->current.conn, worker->current.job, worker->current.owner,
	                  outcome);
}

/*
 * A create refused by the rate budget or answered 429 never reached
 * Moneybird: withdrawing the intent this attempt set spares the next attempt
 * its lookups, which behind a busy budget would cost slots for nothing. A
 * failure to withdraw only costs those lookups.
 */
static void withdraw_intent(PGconn *conn, int64_t order_pk, bool payment)
{
	struct cn_error err = {""};
	int rc = payment ? store_payment_intent_withdraw(conn, order_pk, &err)
	                 : store_invoice_intent_withdraw(conn, order_pk, &err);

	if (rc != CN_OK)
		log_warn("intent_withdraw_failed", "error", err.message, NULL);
}

/*
 * Commits an intent fenced by the running job's claim: refused (lease lost,
 * nothing written) when another claim took the job over, e.g. after this
 * worker stalled past its lease, so a stale worker never starts a create.
 */
static bool commit_intent(struct sync_worker *worker, int64_t order_pk, const char *reference,
                          bool payment, struct sync_outcome *outcome)
{
	const struct sync_job_context *current = &worker->current;
	struct store_fence fence = {current->job->id, current->owner,
	                            current->job->lease_generation, knobs_lease_seconds()};
	struct cn_error err = {""};
	int stall_ms = payment ? 0 : knobs_test_stall_before_intent_ms();
	int rc;

	if (stall_ms > 0) {
		struct timespec pause = {stall_ms / 1000, (long)(stall_ms % 1000) * 1000000L};

		nanosleep(&pause, NULL);
	}
	rc = payment ? store_payment_intent(current->conn, order_pk, &fence, &err)
	             : store_invoice_intent(current->conn, order_pk, reference, &fence, &err);
	if (rc == CN_OK)
		return true;
	if (rc == CN_NOT_FOUND)
		set_outcome(outcome, SYNC_LEASE_LOST, "%s", err.message);
	else
		database_failed(payment ? "recording the payment intent"
		                        : "recording the invoice intent",
		                &err, outcome);
	return false;
}

/* Adopts contact as the buyer's: mapped locally and set on the order. */
static bool adopt_contact(PGconn *conn, const struct store_sync_order *so,
                          const char *administration_id, const char *customer_id,
                          const char *contact_id, const char *resolution, char *contact_out,
                          struct sync_outcome *outcome)
{
	struct cn_error err = {""};

	if (store_contact_record(conn, so->order_pk, administration_id, so->order->match_ref,
	                         customer_id, contact_id, resolution, &err) != CN_OK) {
		database_failed("recording the contact", &err, outcome);
		return false;
	}
	snprintf(contact_out, STORE_ID_MAX, "%s", contact_id);
	return true;
}

/* Searches for a hand-made contact by one exact field. Returns true when the
 * search settled the question (adopted, or the order is parked/retried). */
static bool search_and_adopt(struct sync_worker *worker, PGconn *conn, size_t index,
                             const struct store_sync_order *so,
                             const struct plan_contact_search *search, const char *customer_id,
                             char *contact_out, bool *adopted, struct sync_outcome *outcome)
{
	const char *administration_id =
	    worker->shared->config->connections[index].moneybird_administration_id;
	struct mb_client *client = worker->connections[index].session.client;
	struct mb_contact found;
	struct cn_error err = {""};
	size_t matches = 0;
	enum mb_outcome result;

	*adopted = false;
	if (search->query == NULL)
		return false;
	result =
	    mb_contact_search(client, search->query, search->field, false, &found, &matches, &err);
	if (result == MB_NOT_FOUND)
		return false;
	if (result != MB_OK) {
		call_failed(worker, index, result, "searching for an existing contact", &err,
		            outcome);
		return true;
	}
	if (matches > 1) {
		char *reason = plan_ambiguous_contact_reason(matches, search, customer_id);

		set_outcome(outcome, SYNC_PARK, "%s",
		            reason != NULL ? reason
		                           : "several Moneybird contacts match this buyer");
		free(reason);
		return true;
	}
	if (!adopt_contact(conn, so, administration_id, customer_id, found.id, "adopted_by_search",
	                   contact_out, outcome))
		return true;
	*adopted = true;
	return true;
}

/*
 * Finds or creates the buyer's contact: the local map first (a returning
 * buyer costs no call), then Moneybird by the derived customer_id, then an
 * exact search for a hand-made contact, then a create. A create refused
 * because the customer_id is taken (an earlier create whose answer was lost,
 * or an archived contact) resolves by lookup, never by a second contact.
 */
static bool resolve_contact(struct sync_worker *worker, PGconn *conn, size_t index,
                            struct store_sync_order *so, struct sync_outcome *outcome)
{
	const struct connection_config *cc = &worker->shared->config->connections[index];
	const struct mapping *mapping = connection_of(worker, index)->mapping;
	struct mb_client *client = worker->connections[index].session.client;
	struct plan_contact *plan = NULL;
	struct plan_contact_search search;
	struct mb_contact contact;
	struct cn_error err = {""};
	char *park_reason = NULL;
	enum mb_outcome result;
	bool locked = false;
	bool settled = false;
	bool adopted = false;

	if (store_contact_find(conn, cc->moneybird_administration_id, so->order->match_ref,
	                       so->contact_id, &err) == CN_OK) {
		if (store_order_set_contact(conn, so->order_pk, so->contact_id, &err) != CN_OK) {
			database_failed("setting the contact", &err, outcome);
			return false;
		}
		return true;
	}
	if (plan_contact(so->order, mapping, &plan, &park_reason, &err) != CN_OK) {
		set_outcome(outcome, park_reason != NULL ? SYNC_PARK : SYNC_RETRY, "%s",
		            park_reason != NULL ? park_reason : err.message);
		free(park_reason);
		return false;
	}
	/* One resolution per buyer at a time, across workers and hosts. */
	if (store_contact_lock(conn, cc->moneybird_administration_id, so->order->match_ref, &err) !=
	    CN_OK) {
		database_failed("locking the buyer", &err, outcome);
		goto out;
	}
	locked = true;
	/* Another worker may have resolved it while we waited for the lock. */
	if (store_contact_find(conn, cc->moneybird_administration_id, so->order->match_ref,
	                       so->contact_id, &err) == CN_OK) {
		settled =
		    store_order_set_contact(conn, so->order_pk, so->contact_id, &err) == CN_OK;
		if (!settled)
			database_failed("setting the contact", &err, outcome);
		goto out;
	}

	result = mb_contact_get_by_customer_id(client, plan->customer_id, &contact, &err);
	if (result == MB_OK) {
		settled =
		    adopt_contact(conn, so, cc->moneybird_administration_id, plan->customer_id,
		                  contact.id, "found_by_customer_id", so->contact_id, outcome);
		goto out;
	}
	if (result != MB_NOT_FOUND) {
		call_failed(worker, index, result, "looking up the contact", &err, outcome);
		goto out;
	}

	/* One search (every call costs rate budget); see plan_contact_search. */
	search = plan_contact_search(plan);
	if (search_and_adopt(worker, conn, index, so, &search, plan->customer_id, so->contact_id,
	                     &adopted, outcome)) {
		settled = adopted;
		goto out;
	}

	result = mb_contact_create(client, &plan->request, &contact, &err);
	if (result == MB_OK) {
		settled =
		    adopt_contact(conn, so, cc->moneybird_administration_id, plan->customer_id,
		                  contact.id, "created", so->contact_id, outcome);
		goto out;
	}
	if (result == MB_VALIDATION && strstr(err.message, "customer_id") != NULL) {
		/* Taken: by our own earlier create, possibly archived since. */
		size_t matches = 0;
		struct cn_error search_err = {""};

		result = mb_contact_search(client, plan->customer_id, MB_CONTACT_FIELD_CUSTOMER_ID,
		                           true, &contact, &matches, &search_err);
		if (result == MB_OK) {
			settled = adopt_contact(conn, so, cc->moneybird_administration_id,
			                        plan->customer_id, contact.id,
			                        "found_after_conflict", so->contact_id, outcome);
			goto out;
		}
		call_failed(worker, index, result == MB_NOT_FOUND ? MB_TRANSIENT : result,
		            "finding the contact whose customer_id is taken", &search_err, outcome);
		goto out;
	}
	call_failed(worker, index, result, "creating the contact", &err, outcome);
out:
	if (locked)
		store_contact_unlock(conn, cc->moneybird_administration_id, so->order->match_ref);
	plan_contact_free(plan);
	return settled;
}

/* The connection's tax rates, fetched once and refreshed when stale. */
static bool tax_rates(struct sync_worker *worker, size_t index, bool refresh,
                      struct sync_outcome *outcome)
{
	struct sync_connection *sc = &worker->connections[index];
	struct mb_tax_rate *rates = NULL;
	struct cn_error err = {""};
	size_t count = 0;
	enum mb_outcome result;

	if (sc->tax_rates_fetched_at != 0 &&
	    (!refresh || time(NULL) - sc->tax_rates_fetched_at < TAX_RATE_REFRESH_SECONDS))
		return true;
	result = mb_tax_rates_list(sc->session.client, &rates, &count, &err);
	if (result != MB_OK) {
		call_failed(worker, index, result, "fetching the tax rates", &err, outcome);
		return false;
	}
	free(sc->tax_rates);
	sc->tax_rates = rates;
	sc->tax_rate_count = count;
	sc->tax_rates_fetched_at = time(NULL);
	return true;
}

/* Plans the invoice; a missing tax rate is retried once with fresh rates. */
static struct plan_invoice *plan_the_invoice(struct sync_worker *worker, size_t index,
                                             const struct store_sync_order *so,
                                             struct sync_outcome *outcome)
{
	struct sync_connection *sc = &worker->connections[index];
	struct plan_invoice *plan = NULL;
	struct cn_error err = {""};
	char *park_reason = NULL;
	int rc;

	for (int round = 0; round < 2; round++) {
		if (!tax_rates(worker, index, round == 1, outcome))
			return NULL;
		rc = plan_invoice(so->order, connection_of(worker, index)->mapping, sc->tax_rates,
		                  sc->tax_rate_count, connection_of(worker, index)->zone, NULL,
		                  &plan, &park_reason, &err);
		if (rc == CN_OK)
			return plan;
		/* A person retried it after the rates were read (having just made
		 * the missing rate in Moneybird, say): read them again now. */
		if (so->retried_at >= (int64_t)sc->tax_rates_fetched_at)
			sc->tax_rates_fetched_at = 0;
		else if (rc != CN_INVALID || round == 1 ||
		         time(NULL) - sc->tax_rates_fetched_at < TAX_RATE_REFRESH_SECONDS)
			break;
		if (rc != CN_INVALID || round == 1)
			break;
		free(park_reason);
		park_reason = NULL;
	}
	set_outcome(outcome, park_reason != NULL ? SYNC_PARK : SYNC_RETRY, "%s",
	            park_reason != NULL ? park_reason : err.message);
	free(park_reason);
	return NULL;
}

/* The administration's currency, read once per connection (and worker). */
static bool administration_currency(struct sync_worker *worker, size_t index,
                                    struct sync_outcome *outcome)
{
	const struct connection_config *cc = &worker->shared->config->connections[index];
	struct sync_connection *sc = &worker->connections[index];
	struct mb_administration *administrations = NULL;
	struct cn_error err = {""};
	size_t count = 0;
	bool found = false;
	enum mb_outcome result;

	if (sc->administration_read)
		return true;
	result = mb_administrations_list(sc->session.client, &administrations, &count, &err);
	if (result != MB_OK) {
		call_failed(worker, index, result, "reading the administration's currency", &err,
		            outcome);
		return false;
	}
	for (size_t i = 0; i < count && !found; i++) {
		if (strcmp(administrations[i].id, cc->moneybird_administration_id) != 0)
			continue;
		snprintf(sc->currency, sizeof(sc->currency), "%s", administrations[i].currency);
		found = true;
	}
	free(administrations);
	if (!found) {
		set_outcome(outcome, SYNC_PARK,
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
		set_outcome(outcome, SYNC_PARK, "%s; nothing was written to Moneybird", reason);
	else
		set_outcome(outcome, SYNC_PARK,
		            "%s; the buyer's contact %s is in Moneybird, no invoice was written",
		            reason, so->contact_id);
}

/*
 * Everything that can be decided locally, before the order's first
 * Moneybird write: the invoice (basis and totals, tax rate, ledger account),
 * the currency against the administration's and the send method's
 * preconditions. Returns the plan, or NULL with the outcome set.
 */
static struct plan_invoice *plan_before_writes(struct sync_worker *worker, size_t index,
                                               const struct store_sync_order *so,
                                               struct sync_outcome *outcome)
{
	struct plan_invoice *plan = NULL;
	struct plan_delivery delivery;
	struct cn_error err = {""};
	char *park_reason = NULL;
	int rc;

	plan = plan_the_invoice(worker, index, so, outcome);
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
		plan_delivery(so->order, connection_of(worker, index)->mapping, &delivery);
		rc = plan_check_delivery(so->order, &delivery, &park_reason, &err);
	}
	if (rc == CN_OK)
		return plan;
	if (park_reason != NULL)
		park_before_invoice(so, park_reason, outcome);
	else
		set_outcome(outcome, SYNC_RETRY, "%s", err.message);
	free(park_reason);
fail:
	plan_invoice_free(plan);
	return NULL;
}

/*
 * After an unknown outcome the invoice may exist: find it by reference
 * (find_by_reference, which may not see drafts, then the draft list) and
 * adopt it if it is this buyer's. Returns true when the lookup settled the
 * question; *found tells whether an invoice was adopted.
 */
static bool find_existing_invoice(struct sync_worker *worker, PGconn *conn, size_t index,
                                  struct store_sync_order *so, const char *reference,
                                  struct mb_sales_invoice *invoice, bool *found,
                                  struct sync_outcome *outcome)
{
	struct mb_client *client = worker->connections[index].session.client;
	struct mb_sales_invoice *drafts = NULL;
	struct cn_error err = {""};
	size_t count = 0, mine = 0;
	enum mb_outcome result;

	(void)conn;
	*found = false;
	result = mb_sales_invoice_find_by_reference(client, reference, invoice, &err);
	if (result == MB_OK && strcmp(invoice->contact_id, so->contact_id) == 0) {
		*found = true;
		return true;
	}
	if (result != MB_OK && result != MB_NOT_FOUND) {
		call_failed(worker, index, result, "looking for the invoice", &err, outcome);
		return false;
	}
	/* Exact, whatever the reference holds (`,`, `:`, `|` cannot be filtered). */
	result = mb_sales_invoice_drafts_by_reference(client, reference, &drafts, &count, &err);
	if (result != MB_OK && result != MB_NOT_FOUND) {
		call_failed(worker, index, result, "looking for the draft invoice", &err, outcome);
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (strcmp(drafts[i].reference, reference) != 0 ||
		    strcmp(drafts[i].contact_id, so->contact_id) != 0)
			continue;
		if (mine++ == 0)
			*invoice = drafts[i];
	}
	free(drafts);
	if (mine > 1) {
		set_outcome(outcome, SYNC_PARK,
		            "%zu draft invoices with reference %s exist for this buyer; delete the "
		            "extra ones in Moneybird, then retry",
		            mine, reference);
		return false;
	}
	*found = mine == 1;
	return true;
}

/* Creates (or, after an unknown outcome, adopts) the order's invoice. */
static bool ensure_invoice(struct sync_worker *worker, PGconn *conn, size_t index,
                           struct store_sync_order *so, struct plan_invoice *plan,
                           struct sync_outcome *outcome)
{
	struct mb_client *client = worker->connections[index].session.client;
	struct mb_sales_invoice invoice;
	struct cn_error err = {""};
	char *park_reason = NULL;
	const char *how = "created";
	bool settled = false;
	bool found = false;
	enum mb_outcome result;

	if (plan_invoice_set_contact(plan, so->contact_id, &err) != CN_OK) {
		set_outcome(outcome, SYNC_RETRY, "%s", err.message);
		return false;
	}
	if (so->invoice_intent) {
		if (!find_existing_invoice(worker, conn, index, so, plan->reference, &invoice,
		                           &found, outcome))
			goto out;
		how = "adopted";
	}
	if (!found) {
		if (so->invoice_intent && !lease_before_write(worker, outcome))
			goto out;
		/* The intent is durable (and fenced) before the request leaves. */
		if (!commit_intent(worker, so->order_pk, plan->reference, false, outcome))
			goto out;
		result = mb_sales_invoice_create(client, &plan->request, &invoice, &err);
		if (result != MB_OK) {
			const struct mb_call *call = mb_client_last_call(client);
			/* a 402 (plan limit) refused the create too: nothing was made */
			bool refused =
			    result == MB_RATE_LIMITED || (call != NULL && call->http_status == 402);

			call_failed(worker, index, result, "creating the invoice", &err, outcome);
			if (refused && !so->invoice_intent)
				withdraw_intent(conn, so->order_pk, false);
			goto out;
		}
		so->invoice_intent = true;
		how = "created";
	}
	if (store_invoice_recorded(conn, so->order_pk, invoice.id, invoice.state,
	                           invoice.total_price_incl_tax_cents, how, &err) != CN_OK) {
		database_failed("recording the invoice", &err, outcome);
		goto out;
	}
	snprintf(so->invoice_id, sizeof(so->invoice_id), "%s", invoice.id);
	snprintf(so->invoice_state, sizeof(so->invoice_state), "%s", invoice.state);
	if (plan_check_created_total(plan, invoice.total_price_incl_tax_cents,
	                             invoice.total_price_excl_tax_cents, invoice.id,
	                             &park_reason) != CN_OK) {
		set_outcome(outcome, SYNC_PARK, "%s", park_reason != NULL ? park_reason : "");
		free(park_reason);
		goto out;
	}
	settled = true;
out:
	return settled;
}

/* Sends the draft; a later run checks first whether an earlier send went
 * through (its answer may have been lost), so an invoice is never sent twice. */
static bool ensure_sent(struct sync_worker *worker, PGconn *conn, size_t index,
                        struct store_sync_order *so, bool invoice_fresh,
                        struct sync_outcome *outcome)
{
	struct mb_client *client = worker->connections[index].session.client;
	struct mb_sales_invoice invoice;
	struct cn_error err = {""};
	enum mb_outcome result;
	struct plan_delivery delivery = {.method = NULL};
	bool sent_now = false;

	/* An invoice created in this very run is known to be a draft. */
	if (!invoice_fresh) {
		result = mb_sales_invoice_get(client, so->invoice_id, &invoice, &err);
		if (result != MB_OK) {
			call_failed(worker, index, result, "reading the invoice", &err, outcome);
			return false;
		}
		snprintf(so->invoice_state, sizeof(so->invoice_state), "%s", invoice.state);
	}
	if (strcmp(so->invoice_state, "draft") == 0) {
		if (!invoice_fresh && !lease_before_write(worker, outcome))
			return false;
		plan_delivery(so->order, connection_of(worker, index)->mapping, &delivery);
		result =
		    mb_sales_invoice_send(client, so->invoice_id, delivery.method, &invoice, &err);
		if (result != MB_OK) {
			/* Names the method and the rule, so a refusal (e.g. an
			 * administration not on Peppol) parks with a reason that says
			 * which mapping rule to change; nothing falls back silently. */
			char what[sizeof(delivery.why) + 64];

			snprintf(what, sizeof(what), "sending the invoice by %s, chosen by %s",
			         delivery.method, delivery.why);
			call_failed(worker, index, result, what, &err, outcome);
			return false;
		}
		snprintf(so->invoice_state, sizeof(so->invoice_state), "%s", invoice.state);
		sent_now = true;
	}
	if (store_invoice_sent(conn, so->order_pk, so->invoice_state,
	                       sent_now ? delivery.method : NULL, &err) != CN_OK) {
		database_failed("recording the sending", &err, outcome);
		return false;
	}
	so->sent = true;
	return true;
}

/* Registers the payment once: after an unknown outcome the invoice's
 * payments are searched for this order's transaction_identifier first. */
static bool ensure_paid(struct sync_worker *worker, PGconn *conn, size_t index,
                        struct store_sync_order *so, struct sync_outcome *outcome)
{
	struct sync_connection *sc = &worker->connections[index];
	struct plan_payment *plan = NULL;
	struct mb_payment payment;
	struct cn_error err = {""};
	char *park_reason = NULL;
	const char *how = "created";
	char state[24] = "paid"; /* a copy: the invoice read below is block-scoped */
	bool found = false;
	bool settled = false;
	enum mb_outcome result;

	if (plan_payment(so->order, connection_of(worker, index)->mapping,
	                 connection_of(worker, index)->zone, &plan, &park_reason, &err) != CN_OK) {
		set_outcome(outcome, park_reason != NULL ? SYNC_PARK : SYNC_RETRY, "%s",
		            park_reason != NULL ? park_reason : err.message);
		free(park_reason);
		return false;
	}
	/* Look first after an unknown outcome, and when the invoice is paid
	 * already (an adopted invoice the bookkeeper settled): never pay twice. */
	if (so->payment_intent || strcmp(so->invoice_state, "paid") == 0) {
		struct mb_sales_invoice invoice;

		result = mb_sales_invoice_get(sc->session.client, so->invoice_id, &invoice, &err);
		if (result != MB_OK) {
			call_failed(worker, index, result, "reading the invoice's payments", &err,
			            outcome);
			goto out;
		}
		for (size_t i = 0; i < invoice.payment_count && !found; i++) {
			if (strcmp(invoice.payments[i].transaction_identifier,
			           plan->transaction_identifier) == 0) {
				payment = invoice.payments[i];
				found = true;
			}
		}
		snprintf(state, sizeof(state), "%s", invoice.state);
		how = "adopted";
		if (!found && strcmp(invoice.state, "paid") == 0) {
			/* Paid in Moneybird by other means: nothing left to register. */
			memset(&payment, 0, sizeof(payment));
			found = true;
			how = "already_paid";
		}
	}
	if (!found) {
		if (so->payment_intent && !lease_before_write(worker, outcome))
			goto out;
		if (!commit_intent(worker, so->order_pk, NULL, true, outcome))
			goto out;
		result = mb_payment_create(sc->session.client, so->invoice_id, &plan->request,
		                           &payment, &err);
		if (result == MB_RATE_LIMITED && !so->payment_intent)
			withdraw_intent(conn, so->order_pk, true);
		else
			so->payment_intent = true;
		if (result == MB_VALIDATION && strstr(err.message, "price_base") != NULL) {
			/* Moneybird needs the amount in its own currency, which
			 * bookto does not send: only a person can know it. */
			set_outcome(
			    outcome, SYNC_PARK,
			    "registering the payment: the invoice is in %s, not the "
			    "administration's currency, so Moneybird needs price_base (the "
			    "amount in the administration's currency); register the payment "
			    "of invoice %s in Moneybird by hand (Moneybird said: %s)",
			    so->order->currency, so->invoice_id, err.message);
			goto out;
		}
		if (result != MB_OK) {
			call_failed(worker, index, result, "registering the payment", &err,
			            outcome);
			goto out;
		}
		how = "created";
		snprintf(state, sizeof(state), "paid");
	}
	if (store_payment_recorded(conn, so->order_pk, payment.id, state, how, &err) != CN_OK) {
		database_failed("recording the payment", &err, outcome);
		goto out;
	}
	settled = true;
out:
	plan_payment_free(plan);
	return settled;
}

static const char *verdict_name(enum sync_verdict verdict)
{
	switch (verdict) {
	case SYNC_DONE:
		return "done";
	case SYNC_SKIPPED:
		return "skipped";
	case SYNC_RETRY:
		return "retry";
	case SYNC_PARK:
		return "park";
	case SYNC_PAUSE:
		return "pause";
	case SYNC_LEASE_LOST:
		return "lease_lost";
	}
	return "unknown";
}

void sync_run_job(struct sync_worker *worker, PGconn *conn, const struct queue_job *job,
                  const char *owner, struct sync_outcome *outcome)
{
	const struct config *config = worker->shared->config;
	const struct connection_runtime *connection =
	    runtime_find(worker->shared->runtime, job->connection_id);
	size_t index = connection != NULL ? connection->index : config->connection_count;
	struct store_sync_order so;
	struct sync_connection *sc = NULL;
	struct plan_invoice *plan = NULL;
	struct cn_error err = {""};
	bool invoice_fresh = false;
	struct timespec started;

	clock_gettime(CLOCK_MONOTONIC, &started);
	memset(&so, 0, sizeof(so));
	memset(outcome, 0, sizeof(*outcome));
	if (index == config->connection_count) {
		set_outcome(outcome, SYNC_PARK,
		            "the order belongs to a connection that is no longer configured");
		return;
	}
	if (strcmp(job->kind, "sync_order") != 0) {
		set_outcome(outcome, SYNC_PARK, "unknown job kind %s", job->kind);
		return;
	}
	if (store_sync_load(conn, job->order_pk, &so, &err) != CN_OK) {
		database_failed("loading the order", &err, outcome);
		return;
	}
	if (plan_test_order_policy(so.order, connection_of(worker, index)->mapping) == PLAN_SKIP) {
		set_outcome(outcome, SYNC_SKIPPED, "test order (test_orders = \"skip\")");
		goto out;
	}
	if (connection_client(worker, conn, index, &sc, &err) != CN_OK) {
		set_outcome(outcome, SYNC_PARK, "%s", err.message);
		goto out;
	}
	worker->current.conn = conn;
	worker->current.job = job;
	worker->current.owner = owner;

	/* Decided before the first write: an order parked here wrote nothing. */
	if (so.invoice_id[0] == '\0' &&
	    (plan = plan_before_writes(worker, index, &so, outcome)) == NULL)
		goto out;
	if (so.contact_id[0] == '\0' && (!keep_lease(conn, job, owner, outcome) ||
	                                 !resolve_contact(worker, conn, index, &so, outcome)))
		goto out;
	if (so.invoice_id[0] == '\0') {
		if (!keep_lease(conn, job, owner, outcome) ||
		    !ensure_invoice(worker, conn, index, &so, plan, outcome))
			goto out;
		invoice_fresh = true;
	}
	if (!so.sent && (!keep_lease(conn, job, owner, outcome) ||
	                 !ensure_sent(worker, conn, index, &so, invoice_fresh, outcome)))
		goto out;
	if (so.payment_id[0] == '\0' && (!keep_lease(conn, job, owner, outcome) ||
	                                 !ensure_paid(worker, conn, index, &so, outcome)))
		goto out;
	outcome->verdict = SYNC_DONE;
out:
	plan_invoice_free(plan);
	worker->current.job = NULL;
	worker->current.conn = NULL;
	worker->current.owner = NULL;
	if (log_enabled(LOG_LEVEL_INFO)) {
		struct timespec finished;
		char job_id[24], duration_ms[24];

		clock_gettime(CLOCK_MONOTONIC, &finished);
		snprintf(job_id, sizeof(job_id), "%" PRId64, job->id);
		snprintf(duration_ms, sizeof(duration_ms), "%.1f",
		         (double)(finished.tv_sec - started.tv_sec) * 1000.0 +
		             (double)(finished.tv_nsec - started.tv_nsec) / 1e6);
		if (outcome->verdict != SYNC_DONE)
			log_info("sync_stopped", "connection", config->connections[index].name,
			         "order_id", so.order != NULL ? so.order->order_id : "", "job",
			         job_id, "verdict", verdict_name(outcome->verdict), "reason",
			         outcome->reason, "duration_ms", duration_ms, NULL);
		else
			log_info("order_synced", "connection", config->connections[index].name,
			         "order_id", so.order->order_id, "job", job_id,
			         "moneybird_invoice_id", so.invoice_id, "duration_ms", duration_ms,
			         NULL);
	}
	store_sync_order_clear(&so);
}

int sync_probe_connection(struct sync_worker *worker, PGconn *conn, size_t connection_index_arg,
                          struct cn_error *err)
{
	struct sync_connection *sc = NULL;
	struct mb_administration *administrations = NULL;
	size_t count = 0;
	enum mb_outcome result;
	int rc = connection_client(worker, conn, connection_index_arg, &sc, err);

	if (rc != CN_OK)
		return rc;
	result = mb_administrations_list(sc->session.client, &administrations, &count, err);
	free(administrations);
	if (result == MB_OK)
		return CN_OK;
	return result == MB_PERMANENT ? CN_INVALID : CN_RETRYABLE;
}
