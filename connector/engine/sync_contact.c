#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contact_events.h"
#include "contact_index.h"
#include "mapping.h"
#include "mb_client.h"
#include "store.h"
#include "store_contact_index.h"
#include "store_webhook.h"
#include "sync_internal.h"

/* Adopts contact as the buyer's: mapped locally and set on the order. */
static bool adopt_contact(PGconn *conn, const struct store_sync_order *so,
                          const char *administration_id, const char *customer_id,
                          const char *contact_id, const char *resolution, char *contact_out,
                          struct sync_outcome *outcome)
{
	struct cn_error err = {""};

	if (store_contact_record(conn, so->order_pk, administration_id, so->order->match_ref,
	                         customer_id, contact_id, resolution, &err) != CN_OK) {
		sync_database_failed("recording the contact", &err, outcome);
		return false;
	}
	snprintf(contact_out, STORE_ID_MAX, "%s", contact_id);
	return true;
}

/* Creates the contact with the derived customer_id: if an earlier create
 * went through (its answer lost), or an archived contact holds it, Moneybird
 * refuses this one (422) and that contact is adopted. */
static bool create_contact(struct sync_worker *worker, PGconn *conn, size_t index,
                           struct store_sync_order *so, const struct plan_contact *plan,
                           struct sync_outcome *outcome)
{
	const char *administration_id = sync_administration_of(worker, index);
	struct mb_client *client = worker->connections[index].session.client;
	struct mb_contact contact;
	struct cn_error err = {""};
	enum mb_outcome result;
	result = mb_contact_create(client, &plan->request, &contact, &err);
	if (result == MB_OK) {
		contact_index_note(conn, administration_id, &contact);
		return adopt_contact(conn, so, administration_id, plan->customer_id, contact.id,
		                     "created", so->contact_id, outcome);
	}
	if (result == MB_VALIDATION && strstr(err.message, "customer_id") != NULL) {
		/* Taken: by our own earlier create, possibly archived since. */
		size_t matches = 0;
		struct cn_error search_err = {""};

		result = mb_contact_search(client, plan->customer_id, MB_CONTACT_FIELD_CUSTOMER_ID,
		                           true, &contact, &matches, &search_err);
		if (result == MB_OK) {
			return adopt_contact(conn, so, administration_id, plan->customer_id,
			                     contact.id, "found_after_conflict", so->contact_id,
			                     outcome);
		}
		sync_call_failed(worker, index, result == MB_NOT_FOUND ? MB_TRANSIENT : result,
		                 "finding the contact whose customer_id is taken", &search_err,
		                 outcome);
		return false;
	}
	sync_call_failed(worker, index, result, "creating the contact", &err, outcome);
	return false;
}

/*
 * The moment the contact index must hold every contact from: the order's
 * arrival (a refresh is due when the index's last one started before it),
 * unless Moneybird's contact pushes keep the index current. They are
 * trusted when this connection's webhook is registered and has delivered a
 * contact push to this process, the push grace has passed since the order
 * arrived (waited for here, at most the grace: only an order picked up
 * within it waits), and no contact push waits to be applied. Then -1: only
 * the index's maximum age still calls for a refresh.
 */
static bool index_complete_since(struct sync_worker *worker, PGconn *conn, size_t index,
                                 const struct store_sync_order *so, int64_t *since_ms,
                                 struct sync_outcome *outcome)
{
	const struct connection_config *cc = &worker->shared->config->connections[index];
	int64_t connection_id = worker->current.job->connection_id;
	int64_t grace_ms = (int64_t)cc->moneybird_contact_push_grace_seconds * 1000;
	int64_t pending = 0, wait_ms;
	char webhook_id[64] = "";
	struct cn_error err = {""};
	bool due = false;

	if (store_contact_index_order_received_ms(conn, so->order_pk, since_ms, &err) != CN_OK ||
	    contact_index_refresh_due(conn, cc->moneybird_administration_id, *since_ms,
	                              CONTACT_INDEX_MAX_AGE_SECONDS, &due, &err) != CN_OK) {
		sync_database_failed("reading the contact index's state", &err, outcome);
		return false;
	}
	if (!due || grace_ms == 0 || !contact_events_delivered(connection_id))
		return true;
	if (store_webhook_get(conn, connection_id, webhook_id, sizeof(webhook_id), &err) != CN_OK) {
		sync_database_failed("reading the Moneybird webhook", &err, outcome);
		return false;
	}
	if (webhook_id[0] == '\0')
		return true;
	wait_ms = *since_ms + grace_ms - contact_index_now_ms();
	if (wait_ms > grace_ms)
		wait_ms = grace_ms; /* a clock step: never wait longer than the grace */
	if (wait_ms > 0) {
		struct timespec pause = {(time_t)(wait_ms / 1000),
		                         (long)(wait_ms % 1000) * 1000000L};

		nanosleep(&pause, NULL);
	}
	if (store_contact_index_pending_pushes(conn, connection_id, &pending, &err) != CN_OK) {
		sync_database_failed("counting the contact pushes", &err, outcome);
		return false;
	}
	if (pending == 0)
		*since_ms = -1;
	return true;
}

/* The buyer's contact when Moneybird has one (by customer_id after a
 * retry, else from the contact index), else a new one. */
static bool find_or_create(struct sync_worker *worker, PGconn *conn, size_t index,
                           struct store_sync_order *so, const struct plan_contact *plan,
                           struct sync_outcome *outcome)
{
	const struct mapping *mapping = sync_connection_of(worker, index)->mapping;
	const char *administration_id = sync_administration_of(worker, index);
	struct mb_client *client = worker->connections[index].session.client;
	struct mb_contact contact;
	struct cn_error err = {""};
	enum mb_outcome result;
	struct contact_index_match match;
	int64_t complete_since_ms = 0;

	/* A retry may follow a create whose answer was lost (a crash, a
	 * timeout): one lookup then spares a refused create. */
	if (worker->current.job->attempts > 1) {
		result = mb_contact_get_by_customer_id(client, plan->customer_id, &contact, &err);
		if (result == MB_OK) {
			return adopt_contact(conn, so, administration_id, plan->customer_id,
			                     contact.id, "found_by_customer_id", so->contact_id,
			                     outcome);
		}
		if (result != MB_NOT_FOUND) {
			sync_call_failed(worker, index, result, "looking up the contact", &err,
			                 outcome);
			return false;
		}
	}
	/* A hand-made contact with the buyer's VAT number, Peppol id or email,
	 * from the local index, refreshed first unless it already holds every
	 * contact made before this order arrived. */
	if (!index_complete_since(worker, conn, index, so, &complete_since_ms, outcome))
		return false;
	result = contact_index_refresh(client, conn, administration_id, complete_since_ms,
	                               CONTACT_INDEX_MAX_AGE_SECONDS, &err);
	if (result != MB_OK) {
		sync_call_failed(worker, index, result, "refreshing the contact index", &err,
		                 outcome);
		return false;
	}
	if (contact_index_match(conn, administration_id, plan,
	                        mapping == NULL || mapping->search_existing_contacts, &match,
	                        &err) != CN_OK) {
		sync_database_failed("looking up the contact index", &err, outcome);
		return false;
	}
	if (match.matches > 1) {
		char *reason =
		    plan_ambiguous_contact_reason(match.matches, &match.search, plan->customer_id);

		sync_set_outcome(outcome, SYNC_PARK, "%s",
		                 reason != NULL ? reason
		                                : "several Moneybird contacts match this buyer");
		free(reason);
		return false;
	}
	if (match.matches == 1) {
		return adopt_contact(
		    conn, so, administration_id, plan->customer_id, match.contact_id,
		    match.by_customer_id ? "found_by_customer_id" : "adopted_by_search",
		    so->contact_id, outcome);
	}

	return create_contact(worker, conn, index, so, plan, outcome);
}

/*
 * Finds or creates the buyer's contact: the local map first (a returning
 * buyer costs no call), then the contact index for a hand-made contact
 * (contact_index.h: no call unless the index is due a refresh), then a
 * create with the derived customer_id (one call). A create refused
 * because the customer_id is taken (an earlier create whose answer was lost,
 * or an archived contact) resolves by lookup, never by a second contact.
 */
bool sync_resolve_contact(struct sync_worker *worker, PGconn *conn, size_t index,
                          struct store_sync_order *so, struct sync_outcome *outcome)
{
	const struct connection_config *cc = &worker->shared->config->connections[index];
	const struct mapping *mapping = sync_connection_of(worker, index)->mapping;
	struct plan_contact *plan = NULL;
	struct cn_error err = {""};
	char *park_reason = NULL;
	bool locked = false;
	bool settled = false;

	if (store_contact_find(conn, cc->moneybird_administration_id, so->order->match_ref,
	                       so->contact_id, &err) == CN_OK) {
		if (store_order_set_contact(conn, so->order_pk, so->contact_id, &err) != CN_OK) {
			sync_database_failed("setting the contact", &err, outcome);
			return false;
		}
		return true;
	}
	if (plan_contact(so->order, mapping, &plan, &park_reason, &err) != CN_OK) {
		sync_set_outcome(outcome, park_reason != NULL ? SYNC_PARK : SYNC_RETRY, "%s",
		                 park_reason != NULL ? park_reason : err.message);
		free(park_reason);
		return false;
	}
	/* One resolution per buyer at a time, across workers and hosts. */
	if (store_contact_lock(conn, cc->moneybird_administration_id, so->order->match_ref, &err) !=
	    CN_OK) {
		sync_database_failed("locking the buyer", &err, outcome);
		goto out;
	}
	locked = true;
	/* Another worker may have resolved it while we waited for the lock. */
	if (store_contact_find(conn, cc->moneybird_administration_id, so->order->match_ref,
	                       so->contact_id, &err) == CN_OK) {
		settled =
		    store_order_set_contact(conn, so->order_pk, so->contact_id, &err) == CN_OK;
		if (!settled)
			sync_database_failed("setting the contact", &err, outcome);
		goto out;
	}

	settled = find_or_create(worker, conn, index, so, plan, outcome);
out:
	if (locked)
		store_contact_unlock(conn, cc->moneybird_administration_id, so->order->match_ref);
	plan_contact_free(plan);
	return settled;
}
