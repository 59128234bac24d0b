#include "mb_events.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "contact_events.h"
#include "log.h"
#include "mb_client.h"
#include "mb_json.h"
#include "mb_session.h"
#include "metrics.h"
#include "stop_flag.h"
#include "store.h"
#include "store_audit_chain.h"
#include "store_reconcile.h"
#include "store_sync.h"

#define IDLE_POLL_MS 500
#define RECONNECT_WAIT_MS 2000
#define WAITING_RETRY_FAST_SECONDS 2 /* the sync worker usually stores the id within seconds */
#define WAITING_FAST_ATTEMPTS 60
#define WAITING_RETRY_SLOW_SECONDS 30
#define WAITING_GIVE_UP_SECONDS (24 * 3600) /* reconcile covers anything older */
#define FETCH_RETRY_SECONDS 30
#define FETCH_MAX_ATTEMPTS 50

struct events_connection {
	struct mb_session session;
};

struct mb_events {
	const struct runtime *runtime;
	pthread_t thread;
	struct stop_flag stop;
	PGconn *conn;                          /* event transactions */
	PGconn *budget_conn;                   /* the rate budget: never inside a transaction */
	struct events_connection *connections; /* parallel to config->connections */
};

/* What becomes of one event. */
struct event_result {
	const char *status; /* applied, ignored, waiting, pending */
	int64_t order_pk;
	int retry_seconds;
	char note[300];
};

static void result_set(struct event_result *result, const char *status, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static void result_set(struct event_result *result, const char *status, const char *fmt, ...)
{
	va_list ap;

	result->status = status;
	va_start(ap, fmt);
	vsnprintf(result->note, sizeof(result->note), fmt, ap);
	va_end(ap);
}

static void disconnect(struct mb_events *events)
{
	PQfinish(events->conn);
	PQfinish(events->budget_conn);
	events->conn = NULL;
	events->budget_conn = NULL;
}

static int connect_database(struct mb_events *events, struct cn_error *err)
{
	const char *conninfo = events->runtime->config->database_conninfo;
	int rc;

	if (events->conn != NULL && PQstatus(events->conn) == CONNECTION_OK &&
	    events->budget_conn != NULL && PQstatus(events->budget_conn) == CONNECTION_OK)
		return CN_OK;
	disconnect(events);
	rc = store_connect_on_chain(conninfo, STORE_AUDIT_CHAIN_MB_EVENTS, &events->conn, err);
	if (rc == CN_OK)
		rc = store_connect(conninfo, &events->budget_conn, err);
	if (rc != CN_OK)
		disconnect(events);
	return rc;
}

/* The connection's client, gated by the shared budget as live work. */
/* Every call the event thread makes is counted in /metrics. */
static void count_call_metrics(void *ctx, const struct mb_call *call)
{
	(void)ctx;
	metrics_moneybird_call(call);
}

static int connection_client(struct mb_events *events, size_t index, struct mb_client **out,
                             struct cn_error *err)
{
	const struct connection_config *cc = &events->runtime->config->connections[index];
	struct events_connection *ec = &events->connections[index];
	struct mb_session_options options = {.priority = BUDGET_LIVE,
	                                     .after_call = count_call_metrics};
	int rc;

	if (ec->session.client != NULL) {
		mb_session_set_conn(&ec->session, events->budget_conn);
		*out = ec->session.client;
		return CN_OK;
	}
	rc = mb_session_open(&ec->session, cc, events->budget_conn, &options, err);
	if (rc != CN_OK)
		return rc;
	*out = ec->session.client;
	return CN_OK;
}

static size_t connection_index(const struct runtime *runtime, int64_t connection_id)
{
	const struct connection_runtime *connection = runtime_find(runtime, connection_id);

	return connection != NULL ? connection->index : runtime->count;
}

static bool is_payment_action(const char *action)
{
	return strcmp(action, "payment_registered") == 0 ||
	       strcmp(action, "payment_destroyed") == 0;
}

/* The sales invoice an event is about: the entity itself, or for a Payment
 * entity (Moneybird does not document which one it sends) its invoice. */
static bool event_invoice_id(const struct store_mb_event *event, const cJSON *entity, char *out,
                             size_t size)
{
	out[0] = '\0';
	if (strcmp(event->entity_type, "SalesInvoice") == 0) {
		snprintf(out, size, "%s", event->entity_id);
	} else if (strcmp(event->entity_type, "Payment") == 0 && entity != NULL) {
		const char *type =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entity, "invoice_type"));

		if (type == NULL || strcmp(type, "SalesInvoice") == 0)
			if (mb_json_id(cJSON_GetObjectItemCaseSensitive(entity, "invoice_id"), out,
			               size) != CN_OK)
				out[0] = '\0';
	}
	return mb_id_valid(out);
}

static void waiting(struct event_result *result, const struct store_mb_event *event,
                    const char *why)
{
	if (event->age_seconds > WAITING_GIVE_UP_SECONDS) {
		result_set(result, "ignored", "gave up waiting after a day: %s", why);
		return;
	}
	result_set(result, "waiting", "%s", why);
	result->retry_seconds = event->attempts < WAITING_FAST_ATTEMPTS
	                            ? WAITING_RETRY_FAST_SECONDS
	                            : WAITING_RETRY_SLOW_SECONDS;
}

/* Re-fetches the invoice; false with result set when it could not. */
static bool fetch_invoice(struct mb_events *events, size_t index, const char *invoice_id,
                          const struct store_mb_event *event, struct mb_sales_invoice *invoice,
                          bool *gone, struct event_result *result)
{
	struct mb_client *client = NULL;
	struct cn_error err = {""};
	enum mb_outcome outcome;

	*gone = false;
	if (connection_client(events, index, &client, &err) != CN_OK) {
		result_set(result, "pending", "%s", err.message);
		result->retry_seconds = FETCH_RETRY_SECONDS;
		return false;
	}
	outcome = mb_sales_invoice_get(client, invoice_id, invoice, &err);
	if (outcome == MB_OK)
		return true;
	if (outcome == MB_NOT_FOUND) {
		*gone = true;
		return false;
	}
	if (event->attempts >= FETCH_MAX_ATTEMPTS) {
		result_set(result, "ignored", "gave up re-fetching the invoice: %s", err.message);
		return false;
	}
	result_set(result, "pending", "re-fetching the invoice: %s", err.message);
	result->retry_seconds = FETCH_RETRY_SECONDS;
	if (outcome == MB_RATE_LIMITED) {
		const struct mb_call *call = mb_client_last_call(client);
		int64_t wait = call != NULL && call->retry_at > 0 ? call->retry_at - time(NULL) : 0;

		result->retry_seconds = wait < 1 ? 1 : wait > 3600 ? 3600 : (int)wait;
	}
	return false;
}

/* The invoice the push carries, when it is this invoice and complete
 * (a state and a version to compare with what is stored). */
static bool pushed_invoice(const struct store_mb_event *event, const cJSON *entity,
                           const char *invoice_id, struct mb_sales_invoice *invoice)
{
	struct cn_error parse_err = {""};

	if (strcmp(event->entity_type, "SalesInvoice") != 0 || entity == NULL)
		return false;
	return mb_json_sales_invoice(entity, invoice, &parse_err) == CN_OK &&
	       strcmp(invoice->id, invoice_id) == 0 && invoice->state[0] != '\0' &&
	       invoice->version > 0;
}

/*
 * The order the event is about, by invoice id or (before the id is stored)
 * by the pushed reference. False with the result set when there is none to
 * apply it to yet (or ever), or on a database failure (*rc).
 */
static bool event_order(struct mb_events *events, const struct store_mb_event *event,
                        const char *invoice_id, const char *reference,
                        struct store_invoice_order *order, struct event_result *result, int *rc,
                        struct cn_error *err)
{
	*rc = store_reconcile_order_by_invoice(events->conn, event->connection_id, invoice_id,
	                                       order, err);
	if (*rc == CN_NOT_FOUND) {
		*rc = reference[0] != '\0'
		          ? store_reconcile_order_by_reference(events->conn, event->connection_id,
		                                               reference, order, err)
		          : CN_NOT_FOUND;
		if (*rc == CN_NOT_FOUND) {
			*rc = CN_OK;
			result_set(result, "ignored", "invoice %s was not created by the connector",
			           invoice_id);
			return false;
		}
		if (*rc != CN_OK)
			return false;
		result->order_pk = order->order_pk;
		if (order->invoice_id[0] != '\0')
			result_set(
			    result, "ignored",
			    "invoice %s carries the reference of order %s, whose invoice is %s "
			    "(a duplicate; reconcile reports it)",
			    invoice_id, order->order_id, order->invoice_id);
		else
			waiting(result, event, "the order's invoice id is not stored yet");
		return false;
	}
	if (*rc != CN_OK)
		return false;
	result->order_pk = order->order_pk;
	if (strcmp(order->state, "synced") != 0 && strcmp(order->state, "reconciled") != 0) {
		char why[64];

		snprintf(why, sizeof(why), "the order is %s", order->state);
		waiting(result, event, why);
		return false;
	}
	return true;
}

/*
 * The invoice as it is now: the signed push's own entity when it is complete
 * and not older than what is stored (no call), else a fresh GET. False with
 * the result set when neither gave one, or on a database failure (*rc).
 */
static bool current_invoice(struct mb_events *events, size_t index,
                            const struct store_mb_event *event, const char *invoice_id,
                            int64_t order_pk, bool pushed, struct mb_sales_invoice *invoice,
                            struct event_result *result, int *rc, struct cn_error *err)
{
	int64_t stored = 0;
	bool gone = false;

	if (pushed) {
		*rc = store_invoice_version(events->conn, order_pk, &stored, err);
		if (*rc != CN_OK)
			return false;
		if (invoice->version >= stored)
			return true;
	}
	if (fetch_invoice(events, index, invoice_id, event, invoice, &gone, result))
		return true;
	if (gone)
		result_set(result, "applied",
		           "invoice %s no longer exists in Moneybird (reconcile reports it)",
		           invoice_id);
	return false;
}

/* Records what the invoice says and moves the order when it changed. */
static int record_invoice(struct mb_events *events, size_t index,
                          const struct store_mb_event *event,
                          const struct store_invoice_order *order, const char *invoice_id,
                          const struct mb_sales_invoice *invoice, struct event_result *result,
                          struct cn_error *err)
{
	const char *connection_name = events->runtime->config->connections[index].name;
	struct store_invoice_seen seen = {invoice->state, invoice->total_paid_cents,
	                                  invoice->total_unpaid_cents, invoice->version};
	enum store_paid_move move =
	    strcmp(invoice->state, "paid") == 0 ? STORE_PAID_CONFIRM : STORE_PAID_WITHDRAWN;
	bool moved = false;
	int rc = store_reconcile_invoice_seen(events->conn, order->order_pk, "webhook", &seen, move,
	                                      event->action, &moved, err);

	if (rc != CN_OK)
		return rc;
	if (moved && move == STORE_PAID_WITHDRAWN) {
		char detail[200];

		snprintf(detail, sizeof(detail),
		         "a payment was removed in Moneybird (%s); the invoice is %s with %" PRId64
		         " cents unpaid",
		         event->action, invoice->state, invoice->total_unpaid_cents);
		rc = store_reconcile_difference_add(events->conn, 0, event->connection_id,
		                                    "webhook", "payment_removed", order->order_pk,
		                                    invoice_id, detail, false, err);
		if (rc != CN_OK)
			return rc;
		log_warn("order_payment_removed", "connection", connection_name, "order_id",
		         order->order_id, "moneybird_invoice_id", invoice_id, NULL);
	} else if (moved) {
		log_info("order_reconciled", "connection", connection_name, "order_id",
		         order->order_id, "moneybird_invoice_id", invoice_id, NULL);
	}
	result_set(
	    result, "applied", "invoice %s is %s%s", invoice_id, invoice->state,
	    moved ? (move == STORE_PAID_CONFIRM ? "; order reconciled" : "; order back to synced")
	          : "");
	return CN_OK;
}

/* A contact push: its entity kept in the contact index (contact_events.h). */
static int apply_contact_event(struct mb_events *events, size_t index,
                               const struct store_mb_event *event, struct event_result *result,
                               struct cn_error *err)
{
	const char *administration_id =
	    events->runtime->config->connections[index].moneybird_administration_id;
	cJSON *root = cJSON_ParseWithLength(event->body, event->body_len);
	const cJSON *entity = cJSON_GetObjectItemCaseSensitive(root, "entity");
	int rc;

	if (strcmp(event->entity_type, "Contact") != 0) {
		cJSON_Delete(root);
		result_set(result, "ignored", "%s about a %s, not a Contact", event->action,
		           event->entity_type);
		return CN_OK;
	}
	rc = contact_event_apply(events->conn, administration_id, event->action, event->entity_id,
	                         cJSON_IsObject(entity) ? entity : NULL, result->note,
	                         sizeof(result->note), err);
	cJSON_Delete(root);
	if (rc == CN_OK)
		contact_events_note_delivered(event->connection_id);
	result->status = rc == CN_OK ? "applied" : "ignored";
	return rc == CN_INVALID ? CN_OK : rc;
}

/* Applies one claimed event inside its transaction. The push is verified
 * (signature and token) before it is stored, so its entity can be trusted
 * as of its version. */
static int apply_event(struct mb_events *events, const struct store_mb_event *event,
                       struct event_result *result, struct cn_error *err)
{
	size_t index = connection_index(events->runtime, event->connection_id);
	struct store_invoice_order order;
	struct mb_sales_invoice invoice;
	const cJSON *entity = NULL;
	cJSON *root = NULL;
	char invoice_id[STORE_RECONCILE_ID_MAX];
	bool pushed = false;
	int rc = CN_OK;

	memset(&invoice, 0, sizeof(invoice));
	if (index == events->runtime->config->connection_count) {
		result_set(result, "ignored", "the connection is no longer configured");
		return CN_OK;
	}
	if (contact_event_is_index_action(event->action))
		return apply_contact_event(events, index, event, result, err);
	if (strcmp(event->action, "sales_invoice_state_changed_to_paid") != 0 &&
	    !is_payment_action(event->action)) {
		result_set(result, "ignored", "the connector does not use %s", event->action);
		return CN_OK;
	}
	root = cJSON_ParseWithLength(event->body, event->body_len);
	entity = cJSON_GetObjectItemCaseSensitive(root, "entity");
	if (!cJSON_IsObject(entity))
		entity = NULL;
	if (!event_invoice_id(event, entity, invoice_id, sizeof(invoice_id))) {
		result_set(result, "ignored", "not about a sales invoice (%s)", event->entity_type);
		goto out;
	}
	pushed = pushed_invoice(event, entity, invoice_id, &invoice);
	if (event_order(events, event, invoice_id, pushed ? invoice.reference : "", &order, result,
	                &rc, err) &&
	    current_invoice(events, index, event, invoice_id, order.order_pk, pushed, &invoice,
	                    result, &rc, err))
		rc =
		    record_invoice(events, index, event, &order, invoice_id, &invoice, result, err);
out:
	cJSON_Delete(root);
	return rc;
}

/* Claims and applies one event: 1 when one was handled, 0 when none was
 * ready, negative on a database failure. */
static int process_one(struct mb_events *events)
{
	struct store_mb_event event;
	struct event_result result;
	struct cn_error err = {""};
	int rc;

	rc = store_reconcile_event_claim(events->conn, &event, &err);
	if (rc == CN_NOT_FOUND)
		return 0;
	if (rc != CN_OK) {
		log_error("moneybird_event_claim_failed", "error", err.message, NULL);
		return rc;
	}
	memset(&result, 0, sizeof(result));
	rc = apply_event(events, &event, &result, &err);
	if (rc != CN_OK) {
		store_rollback(events->conn);
		log_error("moneybird_event_failed", "action", event.action, "entity_id",
		          event.entity_id, "error", err.message, NULL);
		store_mb_event_clear(&event);
		return rc;
	}
	rc = store_reconcile_event_finish(events->conn, event.id, result.status, result.order_pk,
	                                  result.note, result.retry_seconds, &err);
	if (rc != CN_OK)
		log_error("moneybird_event_failed", "action", event.action, "entity_id",
		          event.entity_id, "error", err.message, NULL);
	else
		log_info("moneybird_event", "action", event.action, "entity_id", event.entity_id,
		         "status", result.status, "note", result.note, NULL);
	store_mb_event_clear(&event);
	return rc == CN_OK ? 1 : rc;
}

static void *events_main(void *arg)
{
	struct mb_events *events = arg;

	while (!stop_flag_raised(&events->stop)) {
		struct cn_error err = {""};
		int rc;

		if (connect_database(events, &err) != CN_OK) {
			log_warn("moneybird_events_waiting_for_database", "error", err.message,
			         NULL);
			stop_flag_sleep_ms(&events->stop, RECONNECT_WAIT_MS);
			continue;
		}
		rc = process_one(events);
		if (rc == 1)
			continue;
		if (rc < 0 && (PQstatus(events->conn) != CONNECTION_OK ||
		               PQstatus(events->budget_conn) != CONNECTION_OK))
			disconnect(events);
		stop_flag_sleep_ms(&events->stop, rc < 0 ? RECONNECT_WAIT_MS : IDLE_POLL_MS);
	}
	disconnect(events);
	return NULL;
}

int mb_events_start(const struct runtime *runtime, struct mb_events **out, struct cn_error *err)
{
	struct mb_events *events = calloc(1, sizeof(*events));

	*out = NULL;
	if (events == NULL ||
	    (events->connections = calloc(runtime->count, sizeof(*events->connections))) == NULL) {
		free(events);
		error_set(err, "out of memory starting the Moneybird event thread");
		return CN_ERR;
	}
	events->runtime = runtime;
	if (!stop_flag_thread_start(&events->stop, &events->thread, events_main, events)) {
		free(events->connections);
		free(events);
		error_set(err, "cannot start the Moneybird event thread");
		return CN_ERR;
	}
	*out = events;
	return CN_OK;
}

void mb_events_stop(struct mb_events *events)
{
	if (events == NULL)
		return;
	stop_flag_thread_stop(&events->stop, events->thread);
	for (size_t i = 0; i < events->runtime->config->connection_count; i++)
		mb_session_close(&events->connections[i].session);
	free(events->connections);
	free(events);
}
