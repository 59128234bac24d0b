#include "sync.h"
#include "sync_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "contact_index.h"
#include "knobs.h"
#include "log.h"
#include "mapping.h"
#include "mb_client.h"
#include "mb_session.h"
#include "metrics.h"
#include "plan.h"
#include "reference_cache.h"
#include "store.h"
#include "store_sync.h"

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

const struct connection_runtime *sync_connection_of(const struct sync_worker *worker, size_t index)
{
	return &worker->shared->runtime->connections[index];
}

const char *sync_administration_of(const struct sync_worker *worker, size_t index)
{
	return worker->shared->config->connections[index].moneybird_administration_id;
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
	if (sync_connection_of(worker, index)->zone == NULL) {
		error_set(err, "the time zone of connection %s is not loaded", cc->name);
		return CN_ERR;
	}
	rc = mb_session_open(&sc->session, cc, conn, &options, err);
	if (rc != CN_OK)
		return rc;
	*out = sc;
	return CN_OK;
}

void sync_set_outcome(struct sync_outcome *outcome, enum sync_verdict verdict, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

void sync_set_outcome(struct sync_outcome *outcome, enum sync_verdict verdict, const char *fmt, ...)
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
void sync_call_failed(struct sync_worker *worker, size_t index, enum mb_outcome result,
                      const char *what, const struct cn_error *err, struct sync_outcome *outcome)
{
	const struct mb_call *call = mb_client_last_call(worker->connections[index].session.client);

	switch (result) {
	case MB_RATE_LIMITED:
		sync_set_outcome(outcome, SYNC_RETRY, "%s: Moneybird rate limit reached", what);
		outcome->retry_at = call != NULL ? call->retry_at : 0;
		outcome->waiting = true;
		return;
	case MB_TRANSIENT:
	case MB_UNKNOWN_OUTCOME:
		sync_set_outcome(outcome, SYNC_RETRY, "%s: %s", what, err->message);
		return;
	case MB_PERMANENT:
		if (call != NULL && call->http_status == 401) {
			sync_set_outcome(outcome, SYNC_PAUSE,
			                 "Moneybird refused the API token (401): check "
			                 "moneybird.api_token of connection %s",
			                 worker->shared->config->connections[index].name);
			return;
		}
		if (call != NULL && call->http_status == 402) {
			/* The plan limit holds for every order: pause the connection
			 * rather than spend each order's attempts on it. */
			sync_set_outcome(
			    outcome, SYNC_PAUSE,
			    "%s: Moneybird's plan limit refused it (402: %s); raise the plan "
			    "of administration %s; the connection is paused and tried again "
			    "periodically",
			    what, err->message, sync_administration_of(worker, index));
			return;
		}
		sync_set_outcome(outcome, SYNC_PARK, "%s: Moneybird refused it: %s", what,
		                 err->message);
		return;
	case MB_VALIDATION:
	case MB_NOT_FOUND:
		sync_set_outcome(outcome, SYNC_PARK, "%s: Moneybird refused it: %s", what,
		                 err->message);
		return;
	case MB_OK:
		break;
	}
	sync_set_outcome(outcome, SYNC_RETRY, "%s: %s", what, err->message);
}

void sync_database_failed(const char *what, const struct cn_error *err,
                          struct sync_outcome *outcome)
{
	sync_set_outcome(outcome, SYNC_RETRY, "%s: %s", what, err->message);
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
		sync_set_outcome(outcome, SYNC_LEASE_LOST, "%s", err.message);
	else
		sync_database_failed("extending the lease", &err, outcome);
	return false;
}

/*
 * Renews the lease right before a write that follows lookups, so a step's
 * lookups plus its write never outlast the lease: another worker can only
 * take the job over between writes, after the intent or the id is recorded.
 */
bool sync_lease_before_write(struct sync_worker *worker, struct sync_outcome *outcome)
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
		sync_set_outcome(outcome, SYNC_LEASE_LOST, "%s", err.message);
	else
		sync_database_failed(payment ? "recording the payment intent"
		                             : "recording the invoice intent",
		                     &err, outcome);
	return false;
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
		sync_call_failed(worker, index, result, "looking for the invoice", &err, outcome);
		return false;
	}
	/* Exact, whatever the reference holds (`,`, `:`, `|` cannot be filtered). */
	result = mb_sales_invoice_drafts_by_reference(client, reference, &drafts, &count, &err);
	if (result != MB_OK && result != MB_NOT_FOUND) {
		sync_call_failed(worker, index, result, "looking for the draft invoice", &err,
		                 outcome);
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
		sync_set_outcome(
		    outcome, SYNC_PARK,
		    "%zu draft invoices with reference %s exist for this buyer; delete the "
		    "extra ones in Moneybird, then retry",
		    mine, reference);
		return false;
	}
	*found = mine == 1;
	return true;
}

/*
 * The create; when Moneybird refuses a tax rate or ledger account of the plan
 * (a rate deactivated or replaced since the rates were read), nothing was
 * made: the rates are read again once and a changed plan is created in
 * this same attempt (*planp replaced), else the order parks naming the rate.
 */
static enum mb_outcome create_invoice(struct sync_worker *worker, size_t index,
                                      const struct store_sync_order *so,
                                      struct plan_invoice **planp, struct mb_sales_invoice *invoice,
                                      struct cn_error *err, struct sync_outcome *outcome)
{
	struct mb_client *client = worker->connections[index].session.client;
	enum mb_outcome result = mb_sales_invoice_create(client, &(*planp)->request, invoice, err);
	struct plan_invoice *replanned;

	if (!sync_refusal_names_reference(result, err->message))
		return result;
	replanned = sync_replan_after_refusal(worker, index, so, *planp, err->message, outcome);
	if (replanned == NULL)
		return MB_VALIDATION; /* outcome set */
	plan_invoice_free(*planp);
	*planp = replanned;
	if (plan_invoice_set_contact(replanned, so->contact_id, err) != CN_OK) {
		sync_set_outcome(outcome, SYNC_RETRY, "%s", err->message);
		return MB_VALIDATION;
	}
	if (!sync_lease_before_write(worker, outcome))
		return MB_VALIDATION;
	result = mb_sales_invoice_create(client, &replanned->request, invoice, err);
	if (result != MB_OK)
		sync_call_failed(worker, index, result,
		                 "creating the invoice with the tax rates read again", err,
		                 outcome);
	return result;
}

/* Creates (or, after an unknown outcome, adopts) the order's invoice. */
static bool ensure_invoice(struct sync_worker *worker, PGconn *conn, size_t index,
                           struct store_sync_order *so, struct plan_invoice **planp,
                           struct sync_outcome *outcome)
{
	struct mb_client *client = worker->connections[index].session.client;
	struct plan_invoice *plan = *planp;
	struct mb_sales_invoice invoice;
	struct cn_error err = {""};
	char *park_reason = NULL;
	const char *how = "created";
	bool settled = false;
	bool found = false;
	enum mb_outcome result;

	if (plan_invoice_set_contact(plan, so->contact_id, &err) != CN_OK) {
		sync_set_outcome(outcome, SYNC_RETRY, "%s", err.message);
		return false;
	}
	if (so->invoice_intent) {
		if (!find_existing_invoice(worker, conn, index, so, plan->reference, &invoice,
		                           &found, outcome))
			goto out;
		how = "adopted";
	}
	if (!found) {
		if (so->invoice_intent && !sync_lease_before_write(worker, outcome))
			goto out;
		/* The intent is durable (and fenced) before the request leaves. */
		if (!commit_intent(worker, so->order_pk, plan->reference, false, outcome))
			goto out;
		result = create_invoice(worker, index, so, planp, &invoice, &err, outcome);
		plan = *planp;
		if (result != MB_OK && outcome->verdict != SYNC_DONE)
			goto out; /* the refusal's second round said why */
		if (result != MB_OK) {
			const struct mb_call *call = mb_client_last_call(client);
			/* a 402 (plan limit) refused the create too: nothing was made */
			bool refused =
			    result == MB_RATE_LIMITED || (call != NULL && call->http_status == 402);

			sync_call_failed(worker, index, result, "creating the invoice", &err,
			                 outcome);
			if (refused && !so->invoice_intent)
				withdraw_intent(conn, so->order_pk, false);
			goto out;
		}
		so->invoice_intent = true;
		how = "created";
	}
	if (store_invoice_recorded(conn, so->order_pk, invoice.id, invoice.state,
	                           invoice.total_price_incl_tax_cents, how, &err) != CN_OK) {
		sync_database_failed("recording the invoice", &err, outcome);
		goto out;
	}
	snprintf(so->invoice_id, sizeof(so->invoice_id), "%s", invoice.id);
	snprintf(so->invoice_state, sizeof(so->invoice_state), "%s", invoice.state);
	if (plan_check_created_total(plan, invoice.total_price_incl_tax_cents,
	                             invoice.total_price_excl_tax_cents, invoice.id,
	                             &park_reason) != CN_OK) {
		sync_set_outcome(outcome, SYNC_PARK, "%s", park_reason != NULL ? park_reason : "");
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
			sync_call_failed(worker, index, result, "reading the invoice", &err,
			                 outcome);
			return false;
		}
		snprintf(so->invoice_state, sizeof(so->invoice_state), "%s", invoice.state);
	}
	if (strcmp(so->invoice_state, "draft") == 0) {
		if (!invoice_fresh && !sync_lease_before_write(worker, outcome))
			return false;
		plan_delivery(so->order, sync_connection_of(worker, index)->mapping, &delivery);
		result =
		    mb_sales_invoice_send(client, so->invoice_id, delivery.method, &invoice, &err);
		if (result != MB_OK) {
			/* Names the method and the rule, so a refusal (e.g. an
			 * administration not on Peppol) parks with a reason that says
			 * which mapping rule to change; nothing falls back silently. */
			char what[sizeof(delivery.why) + 64];

			snprintf(what, sizeof(what), "sending the invoice by %s, chosen by %s",
			         delivery.method, delivery.why);
			sync_call_failed(worker, index, result, what, &err, outcome);
			return false;
		}
		snprintf(so->invoice_state, sizeof(so->invoice_state), "%s", invoice.state);
		sent_now = true;
	}
	if (store_invoice_sent(conn, so->order_pk, so->invoice_state,
	                       sent_now ? delivery.method : NULL, &err) != CN_OK) {
		sync_database_failed("recording the sending", &err, outcome);
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

	if (plan_payment(so->order, sync_connection_of(worker, index)->mapping,
	                 sync_connection_of(worker, index)->zone, &plan, &park_reason,
	                 &err) != CN_OK) {
		sync_set_outcome(outcome, park_reason != NULL ? SYNC_PARK : SYNC_RETRY, "%s",
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
			sync_call_failed(worker, index, result, "reading the invoice's payments",
			                 &err, outcome);
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
		if (so->payment_intent && !sync_lease_before_write(worker, outcome))
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
			sync_set_outcome(
			    outcome, SYNC_PARK,
			    "registering the payment: the invoice is in %s, not the "
			    "administration's currency, so Moneybird needs price_base (the "
			    "amount in the administration's currency); register the payment "
			    "of invoice %s in Moneybird by hand (Moneybird said: %s)",
			    so->order->currency, so->invoice_id, err.message);
			goto out;
		}
		if (result != MB_OK) {
			sync_call_failed(worker, index, result, "registering the payment", &err,
			                 outcome);
			goto out;
		}
		how = "created";
		snprintf(state, sizeof(state), "paid");
	}
	if (store_payment_recorded(conn, so->order_pk, payment.id, state, how, &err) != CN_OK) {
		sync_database_failed("recording the payment", &err, outcome);
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
	bool completed = false;
	struct timespec started;

	clock_gettime(CLOCK_MONOTONIC, &started);
	memset(&so, 0, sizeof(so));
	memset(outcome, 0, sizeof(*outcome));
	if (index == config->connection_count) {
		sync_set_outcome(outcome, SYNC_PARK,
		                 "the order belongs to a connection that is no longer configured");
		return;
	}
	if (strcmp(job->kind, "sync_order") != 0) {
		sync_set_outcome(outcome, SYNC_PARK, "unknown job kind %s", job->kind);
		return;
	}
	if (store_sync_load(conn, job->order_pk, &so, &err) != CN_OK) {
		sync_database_failed("loading the order", &err, outcome);
		return;
	}
	if (plan_test_order_policy(so.order, sync_connection_of(worker, index)->mapping) ==
	    PLAN_SKIP) {
		sync_set_outcome(outcome, SYNC_SKIPPED, "test order (test_orders = \"skip\")");
		goto out;
	}
	if (connection_client(worker, conn, index, &sc, &err) != CN_OK) {
		sync_set_outcome(outcome, SYNC_PARK, "%s", err.message);
		goto out;
	}
	worker->current.conn = conn;
	worker->current.job = job;
	worker->current.owner = owner;

	/* Decided before the first write: an order parked here wrote nothing. */
	if (so.invoice_id[0] == '\0' &&
	    (plan = sync_plan_before_writes(worker, index, &so, outcome)) == NULL)
		goto out;
	if (so.contact_id[0] == '\0' && (!keep_lease(conn, job, owner, outcome) ||
	                                 !sync_resolve_contact(worker, conn, index, &so, outcome)))
		goto out;
	if (so.invoice_id[0] == '\0') {
		if (!keep_lease(conn, job, owner, outcome) ||
		    !ensure_invoice(worker, conn, index, &so, &plan, outcome))
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
	completed = true;
out:
	/* A step that stopped must have said why; never report it done. */
	if (!completed && outcome->verdict == SYNC_DONE)
		sync_set_outcome(outcome, SYNC_RETRY, "a sync step stopped without a verdict");
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
