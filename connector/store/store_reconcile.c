#include "store_reconcile.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_locks.h"
#include "store_orders.h"

static void copy_value(char *dst, size_t size, PGresult *res, int row, int column)
{
	snprintf(dst, size, "%s",
	         PQgetisnull(res, row, column) ? "" : PQgetvalue(res, row, column));
}

/* ---- webhook keys ---- */

int store_reconcile_webhook_keys(PGconn *conn, int64_t connection_id, int max_previous_age_seconds,
                                 struct store_webhook_keys *out, struct cn_error *err)
{
	char id[24], age[16];
	const char *values[2] = {id, age};
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	snprintf(age, sizeof(age), "%d", max_previous_age_seconds);
	rc = store_query(
	    conn,
	    "SELECT moneybird_webhook_token, moneybird_webhook_secret,"
	    " moneybird_webhook_previous_token, moneybird_webhook_previous_secret,"
	    " moneybird_webhook_previous_secret IS NOT NULL AND moneybird_webhook_rotated_at >"
	    " now() - make_interval(secs => $2::int)"
	    " FROM connections WHERE id = $1",
	    2, values, "reading the Moneybird webhook keys", &res, err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) == 1) {
		copy_value(out->token, sizeof(out->token), res, 0, 0);
		copy_value(out->secret, sizeof(out->secret), res, 0, 1);
		out->registered = out->secret[0] != '\0';
		if (strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
			copy_value(out->previous_token, sizeof(out->previous_token), res, 0, 2);
			copy_value(out->previous_secret, sizeof(out->previous_secret), res, 0, 3);
			out->has_previous = out->previous_secret[0] != '\0';
		}
	}
	PQclear(res);
	return CN_OK;
}

void store_reconcile_webhook_keys_clear(struct store_webhook_keys *keys)
{
	if (keys != NULL)
		OPENSSL_cleanse(keys, sizeof(*keys));
}

/* ---- stored pushes ---- */

int store_reconcile_event_insert(PGconn *conn, const struct store_mb_event_new *event,
                                 bool *duplicate, struct cn_error *err)
{
	char id[24], ts[24];
	const char *values[10] = {id,
	                          event->idempotency_key,
	                          event->signature_timestamp > 0 ? ts : NULL,
	                          event->webhook_id,
	                          event->action,
	                          event->entity_type,
	                          event->entity_id,
	                          event->payload_state,
	                          (const char *)event->body,
	                          event->body_sha256};
	int lengths[10] = {0, 0, 0, 0, 0, 0, 0, 0, (int)event->body_len, 0};
	int formats[10] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	PGresult *res;
	int rc = CN_OK;

	*duplicate = false;
	snprintf(id, sizeof(id), "%" PRId64, event->connection_id);
	snprintf(ts, sizeof(ts), "%" PRId64, event->signature_timestamp);
	res = PQexecParams(conn,
	                   "INSERT INTO moneybird_events (connection_id, idempotency_key,"
	                   " signature_timestamp, webhook_id, action, entity_type, entity_id,"
	                   " payload_state, body, body_sha256)"
	                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
	                   " ON CONFLICT DO NOTHING RETURNING id",
	                   10, NULL, values, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_result_error(conn, res, "storing the Moneybird push", err);
	else
		*duplicate = PQntuples(res) == 0;
	PQclear(res);
	return rc;
}

void store_mb_event_clear(struct store_mb_event *event)
{
	if (event == NULL)
		return;
	free(event->body);
	event->body = NULL;
	event->body_len = 0;
}

int store_reconcile_event_claim(PGconn *conn, struct store_mb_event *out, struct cn_error *err)
{
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_exec(conn, "BEGIN", err);
	if (rc != CN_OK)
		return rc;
	rc = store_query(
	    conn,
	    "SELECT id, connection_id, action, entity_type, entity_id, status, attempts,"
	    " extract(epoch FROM now() - received_at)::bigint"
	    " FROM moneybird_events"
	    " WHERE status IN ('pending', 'waiting') AND next_attempt_at <= now()"
	    " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
	    0, NULL, "claiming a Moneybird push", &res, err);
	if (rc != CN_OK) {
		store_rollback(conn);
		return rc;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		rc = store_exec(conn, "COMMIT", err);
		return rc == CN_OK ? CN_NOT_FOUND : rc;
	}
	out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	out->connection_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	copy_value(out->action, sizeof(out->action), res, 0, 2);
	copy_value(out->entity_type, sizeof(out->entity_type), res, 0, 3);
	copy_value(out->entity_id, sizeof(out->entity_id), res, 0, 4);
	copy_value(out->status, sizeof(out->status), res, 0, 5);
	out->attempts = (int)strtol(PQgetvalue(res, 0, 6), NULL, 10);
	out->age_seconds = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	PQclear(res);
	/* The raw bytes, read back in binary so nothing is re-encoded. */
	{
		char id[24];
		const char *values[1] = {id};

		snprintf(id, sizeof(id), "%" PRId64, out->id);
		res = PQexecParams(conn, "SELECT body FROM moneybird_events WHERE id = $1", 1, NULL,
		                   values, NULL, NULL, 1);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			rc = store_result_error(conn, res, "reading the Moneybird push", err);
			PQclear(res);
			store_rollback(conn);
			return rc == CN_OK ? CN_ERR : rc;
		}
		out->body_len = (size_t)PQgetlength(res, 0, 0);
		out->body = malloc(out->body_len + 1);
		if (out->body == NULL) {
			PQclear(res);
			store_rollback(conn);
			error_set(err, "out of memory reading a Moneybird push");
			return CN_ERR;
		}
		memcpy(out->body, PQgetvalue(res, 0, 0), out->body_len);
		out->body[out->body_len] = '\0';
		PQclear(res);
	}
	return CN_OK;
}

int store_reconcile_event_finish(PGconn *conn, int64_t event_id, const char *status,
                                 int64_t order_pk, const char *note, int retry_seconds,
                                 struct cn_error *err)
{
	char id[24], pk[24], retry[16];
	const char *values[5] = {id, status, order_pk > 0 ? pk : NULL, note, retry};
	int rc;

	snprintf(id, sizeof(id), "%" PRId64, event_id);
	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	snprintf(retry, sizeof(retry), "%d", retry_seconds);
	rc = store_query(
	    conn,
	    "UPDATE moneybird_events SET status = $2, order_pk = coalesce($3, order_pk),"
	    " note = $4, attempts = attempts + 1,"
	    " next_attempt_at = now() + make_interval(secs => $5::int),"
	    " processed_at = CASE WHEN $2 IN ('applied', 'ignored') THEN now() END"
	    " WHERE id = $1",
	    5, values, "recording what became of a Moneybird push", NULL, err);
	if (rc != CN_OK) {
		store_rollback(conn);
		return rc;
	}
	return store_exec(conn, "COMMIT", err);
}

/* ---- orders and their invoices ---- */

static int order_lookup(PGconn *conn, const char *sql, int64_t connection_id, const char *key,
                        struct store_invoice_order *out, struct cn_error *err)
{
	char id[24];
	const char *values[2] = {id, key};
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	rc = store_query(conn, sql, 2, values, "looking up the order of a Moneybird invoice", &res,
	                 err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return CN_NOT_FOUND;
	}
	out->order_pk = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	copy_value(out->order_id, sizeof(out->order_id), res, 0, 1);
	copy_value(out->state, sizeof(out->state), res, 0, 2);
	copy_value(out->invoice_id, sizeof(out->invoice_id), res, 0, 3);
	PQclear(res);
	return CN_OK;
}

int store_reconcile_order_by_invoice(PGconn *conn, int64_t connection_id, const char *invoice_id,
                                     struct store_invoice_order *out, struct cn_error *err)
{
	return order_lookup(conn,
	                    "SELECT id, order_id, state, moneybird_invoice_id FROM orders"
	                    " WHERE connection_id = $1 AND moneybird_invoice_id = $2"
	                    " ORDER BY id LIMIT 1",
	                    connection_id, invoice_id, out, err);
}

int store_reconcile_order_by_reference(PGconn *conn, int64_t connection_id, const char *reference,
                                       struct store_invoice_order *out, struct cn_error *err)
{
	return order_lookup(conn,
	                    "SELECT id, order_id, state, moneybird_invoice_id FROM orders"
	                    " WHERE connection_id = $1 AND invoice_reference = $2"
	                    " ORDER BY id LIMIT 1",
	                    connection_id, reference, out, err);
}

int store_reconcile_invoice_seen(PGconn *conn, int64_t order_pk, const char *actor,
                                 const struct store_invoice_seen *seen, enum store_paid_move move,
                                 const char *why, bool *moved, struct cn_error *err)
{
	char paid[24], unpaid[24], version[24];
	const char *from_state = move == STORE_PAID_CONFIRM     ? "synced"
	                         : move == STORE_PAID_WITHDRAWN ? "reconciled"
	                                                        : "";
	const char *to_state = move == STORE_PAID_CONFIRM     ? "reconciled"
	                       : move == STORE_PAID_WITHDRAWN ? "synced"
	                                                      : "";
	const char *params[8] = {seen->state, paid,     unpaid, seen->version > 0 ? version : NULL,
	                         from_state,  to_state, actor,  why != NULL ? why : ""};
	/* Every check updates the invoice columns; the state moves (and the
	 * audit row is written) only when the expected move applies, or always
	 * for a webhook, whose delivery is worth a record. */
	struct store_order_transition checked = {
	    order_pk,
	    "CASE WHEN $6 <> '' AND o.state = $6 THEN $7 ELSE o.state END",
	    "invoice_state = $2, invoice_total_paid_cents = $3, invoice_total_unpaid_cents = $4,"
	    " invoice_version = coalesce($5, o.invoice_version), invoice_checked_at = now(),"
	    " paid_confirmed_at = CASE WHEN $6 <> '' AND o.state = $6"
	    "   THEN (CASE WHEN $7 = 'reconciled' THEN now() END) ELSE o.paid_confirmed_at END",
	    true,
	    {"$8",
	     "CASE WHEN from_state <> to_state THEN (CASE WHEN to_state = 'reconciled'"
	     " THEN 'paid_confirmed' ELSE 'paid_withdrawn' END) ELSE 'invoice_checked' END",
	     NULL,
	     "jsonb_build_object('invoice_state', $2::text, 'total_paid_cents', $3::bigint,"
	     " 'total_unpaid_cents', $4::bigint, 'why', $9::text)",
	     "from_state <> to_state OR $8 = 'webhook'"},
	    8,
	    params,
	    "recording the invoice's state"};

	snprintf(paid, sizeof(paid), "%" PRId64, seen->total_paid_cents);
	snprintf(unpaid, sizeof(unpaid), "%" PRId64, seen->total_unpaid_cents);
	snprintf(version, sizeof(version), "%" PRId64, seen->version);
	return store_order_transition(conn, &checked, moved, err);
}

/* ---- differences ---- */

int store_reconcile_difference_add(PGconn *conn, int64_t run_id, int64_t connection_id,
                                   const char *source, const char *kind, int64_t order_pk,
                                   const char *invoice_id, const char *detail, bool repair_queued,
                                   struct cn_error *err)
{
	char run_text[24], connection[24], pk[24];
	const char *values[8] = {run_id > 0 ? run_text : NULL,
	                         connection,
	                         source,
	                         kind,
	                         order_pk > 0 ? pk : NULL,
	                         invoice_id != NULL && invoice_id[0] != '\0' ? invoice_id : NULL,
	                         detail != NULL ? detail : "",
	                         repair_queued ? "queued" : "none"};

	snprintf(run_text, sizeof(run_text), "%" PRId64, run_id);
	snprintf(connection, sizeof(connection), "%" PRId64, connection_id);
	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	return store_query(conn,
	                   "INSERT INTO reconcile_differences (run_id, connection_id, source, kind,"
	                   " order_pk, moneybird_invoice_id, detail, repair)"
	                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	                   8, values, "recording a difference", NULL, err);
}

/* ---- reconciliation runs ---- */

int store_reconcile_known_load(PGconn *conn, int64_t connection_id, const char *since, size_t limit,
                               struct store_rc_known **out, size_t *count, long *parked,
                               long *skipped, struct cn_error *err)
{
	char id[24], max[24];
	const char *values[3] = {id, since, max};
	PGresult *res = NULL;
	struct store_rc_known *known = NULL;
	int rows;
	int rc;

	*out = NULL;
	*count = 0;
	*parked = 0;
	*skipped = 0;
	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	snprintf(max, sizeof(max), "%zu", limit);
	/* Every row carries both counts; the rows themselves are capped. */
	rc = store_query(
	    conn,
	    "WITH known AS (SELECT id, order_id, state, coalesce(last_error, '') AS reason"
	    "  FROM orders WHERE connection_id = $1"
	    "  AND state IN ('needs_attention', 'skipped')"
	    "  AND ($2::date IS NULL OR received_at >= $2::date))"
	    " SELECT c.parked, c.skipped, k.order_id, k.state, k.reason"
	    " FROM (SELECT count(*) FILTER (WHERE state = 'needs_attention') AS parked,"
	    "  count(*) FILTER (WHERE state = 'skipped') AS skipped FROM known) c"
	    " LEFT JOIN LATERAL (SELECT * FROM known ORDER BY id LIMIT $3::int) k ON true",
	    3, values, "loading the parked and skipped orders", &res, err);
	if (rc != CN_OK)
		return rc;
	rows = PQntuples(res);
	if (rows > 0) {
		*parked = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		*skipped = strtol(PQgetvalue(res, 0, 1), NULL, 10);
		known = calloc((size_t)rows, sizeof(*known));
		if (known == NULL) {
			PQclear(res);
			error_set(err, "out of memory loading %d parked orders", rows);
			return CN_ERR;
		}
	}
	for (int i = 0; i < rows; i++) {
		if (PQgetisnull(res, i, 2))
			continue; /* the counts' row when there is none */
		copy_value(known[*count].order_id, sizeof(known[*count].order_id), res, i, 2);
		copy_value(known[*count].state, sizeof(known[*count].state), res, i, 3);
		copy_value(known[*count].reason, sizeof(known[*count].reason), res, i, 4);
		(*count)++;
	}
	PQclear(res);
	*out = known;
	return CN_OK;
}

int store_reconcile_orders_page(PGconn *conn, int64_t connection_id, const char *since,
                                int64_t run_id, int64_t after_pk, struct store_rc_order *out,
                                size_t limit, size_t *count, struct cn_error *err)
{
	char id[24], run[24], after[24], lim[24];
	const char *values[5] = {id, since, run, after, lim};
	PGresult *res = NULL;
	int rows;
	int rc;

	*count = 0;
	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	snprintf(run, sizeof(run), "%" PRId64, run_id);
	snprintf(after, sizeof(after), "%" PRId64, after_pk);
	snprintf(lim, sizeof(lim), "%zu", limit);
	/* Keyset pagination on the primary key: each page is an index range
	 * scan, however many pages came before it. */
	rc = store_query(
	    conn,
	    "SELECT id, order_id, state, is_test_order,"
	    " ($2::date IS NULL OR received_at >= $2::date), total_incl_cents,"
	    " extract(epoch FROM now() - received_at)::bigint, moneybird_contact_id,"
	    " moneybird_invoice_id, invoice_reference, moneybird_payment_id,"
	    " sent_at IS NOT NULL,"
	    " updated_at >= coalesce((SELECT started_at FROM reconcile_runs WHERE id = $3),"
	    "   'infinity')"
	    " FROM orders WHERE connection_id = $1 AND id > $4::bigint"
	    " ORDER BY id LIMIT $5::bigint",
	    5, values, "loading the orders to reconcile", &res, err);
	if (rc != CN_OK)
		return rc;
	rows = PQntuples(res);
	if ((size_t)rows > limit)
		rows = (int)limit;
	for (int i = 0; i < rows; i++) {
		struct store_rc_order *o = &out[i];

		memset(o, 0, sizeof(*o));
		o->order_pk = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		copy_value(o->order_id, sizeof(o->order_id), res, i, 1);
		copy_value(o->state, sizeof(o->state), res, i, 2);
		o->is_test_order = strcmp(PQgetvalue(res, i, 3), "t") == 0;
		o->in_scope = strcmp(PQgetvalue(res, i, 4), "t") == 0;
		o->total_incl_cents = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		o->age_seconds = strtoll(PQgetvalue(res, i, 6), NULL, 10);
		copy_value(o->contact_id, sizeof(o->contact_id), res, i, 7);
		copy_value(o->invoice_id, sizeof(o->invoice_id), res, i, 8);
		copy_value(o->invoice_reference, sizeof(o->invoice_reference), res, i, 9);
		copy_value(o->payment_id, sizeof(o->payment_id), res, i, 10);
		o->sent = strcmp(PQgetvalue(res, i, 11), "t") == 0;
		o->changed_during_run = strcmp(PQgetvalue(res, i, 12), "t") == 0;
	}
	PQclear(res);
	*count = (size_t)rows;
	return CN_OK;
}

int store_reconcile_contacts_load(PGconn *conn, const char *administration_id,
                                  char (**out)[STORE_RECONCILE_ID_MAX], size_t *count,
                                  struct cn_error *err)
{
	const char *values[1] = {administration_id};
	char(*ids)[STORE_RECONCILE_ID_MAX] = NULL;
	PGresult *res = NULL;
	int rows;
	int rc;

	*out = NULL;
	*count = 0;
	rc = store_query(conn,
	                 "SELECT DISTINCT moneybird_contact_id COLLATE \"C\" AS id FROM contacts"
	                 " WHERE administration_id = $1 ORDER BY 1",
	                 1, values, "loading the connector's contacts", &res, err);
	if (rc != CN_OK)
		return rc;
	rows = PQntuples(res);
	if (rows > 0 && (ids = calloc((size_t)rows, sizeof(*ids))) == NULL) {
		PQclear(res);
		error_set(err, "out of memory loading contacts");
		return CN_ERR;
	}
	for (int i = 0; i < rows; i++)
		copy_value(ids[i], sizeof(ids[i]), res, i, 0);
	PQclear(res);
	*out = ids;
	*count = (size_t)rows;
	return CN_OK;
}

int store_reconcile_last_run_age(PGconn *conn, int64_t connection_id, int64_t *age_seconds,
                                 struct cn_error *err)
{
	*age_seconds = -1;
	/* -1 when no run has finished. */
	return store_query_int64_by_id(
	    conn,
	    "SELECT coalesce(extract(epoch FROM now() - max(finished_at))::bigint, -1)"
	    " FROM reconcile_runs WHERE connection_id = $1 AND status = 'done'",
	    connection_id, "reading the last reconciliation", age_seconds, err);
}

int store_reconcile_run_begin(PGconn *conn, int64_t connection_id, const char *trigger, bool repair,
                              const char *since, int64_t *run_id, struct cn_error *err)
{
	char id[24];
	const char *values[4] = {id, trigger, repair ? "t" : "f", since};

	*run_id = 0;
	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	return store_query_int64(
	    conn,
	    "INSERT INTO reconcile_runs (connection_id, trigger, repair, since)"
	    " VALUES ($1, $2, $3, $4::date) RETURNING id",
	    4, values, "recording the reconciliation run", run_id, err);
}

int store_reconcile_run_end(PGconn *conn, int64_t run_id, const struct store_rc_run_totals *totals,
                            struct cn_error *err)
{
	char id[24], invoices[24], orders[24], calls[24], differences[24], repairs[24];
	const char *values[8] = {id,    totals->status, invoices, orders,
	                         calls, differences,    repairs,  totals->error};

	snprintf(id, sizeof(id), "%" PRId64, run_id);
	snprintf(invoices, sizeof(invoices), "%ld", totals->invoices_checked);
	snprintf(orders, sizeof(orders), "%ld", totals->orders_checked);
	snprintf(calls, sizeof(calls), "%ld", totals->moneybird_calls);
	snprintf(differences, sizeof(differences), "%ld", totals->differences);
	snprintf(repairs, sizeof(repairs), "%ld", totals->repairs_queued);
	return store_query(conn,
	                   "UPDATE reconcile_runs SET status = $2, invoices_checked = $3,"
	                   " orders_checked = $4, moneybird_calls = $5, differences = $6,"
	                   " repairs_queued = $7, error = $8, finished_at = now() WHERE id = $1",
	                   8, values, "recording the end of the reconciliation run", NULL, err);
}

int store_reconcile_repair(PGconn *conn, int64_t order_pk, const char *kind, bool *queued,
                           struct cn_error *err)
{
	char state[24];
	int rc;

	*queued = false;
	rc = store_order_begin_locked(conn, order_pk, "locking the order to repair", state, err);
	if (rc == CN_NOT_FOUND)
		return CN_OK; /* gone: nothing to repair */
	if (rc != CN_OK)
		return rc;
	if (strcmp(state, "in_progress") == 0 || strcmp(state, "skipped") == 0) {
		store_rollback(conn); /* a worker holds it, or it is deliberately not synced */
		return CN_OK;
	}
	{
		/* The audit row now comes with the order's update, before the job;
		 * the locks are taken in the same order as before (the order's row
		 * above, the audit chain's by the update, then the job's). */
		const char *params[2] = {kind, state};
		struct store_order_transition repaired = {
		    order_pk,
		    "'queued'",
		    "sent_at = CASE WHEN $2 = 'not_sent' THEN NULL ELSE sent_at END,"
		    " moneybird_payment_id = CASE WHEN $2 IN ('not_sent', 'not_paid') THEN NULL"
		    "   ELSE moneybird_payment_id END, last_error = NULL, paid_confirmed_at = NULL",
		    false,
		    {"'reconcile'", "'repair_queued'", "$3",
		     "jsonb_build_object('difference', $2::text)", NULL},
		    2,
		    params,
		    "preparing the order's repair"};

		rc = store_order_transition(conn, &repaired, NULL, err);
	}
	if (rc == CN_OK)
		rc = store_order_requeue(conn, order_pk, "queueing the order's repair", err);
	rc = store_commit_or_rollback(conn, rc, err);
	if (rc == CN_OK)
		*queued = true;
	return rc;
}

int store_reconcile_count_unsettled(PGconn *conn, const int64_t *order_pks, size_t count,
                                    size_t *unsettled, struct cn_error *err)
{
	char *list = NULL;
	size_t cap = count * 21 + 3, used = 0;
	const char *values[1];
	int64_t counted = 0;
	int rc;

	*unsettled = 0;
	if (count == 0)
		return CN_OK;
	list = malloc(cap);
	if (list == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	list[used++] = '{';
	for (size_t i = 0; i < count; i++) {
		int n =
		    snprintf(list + used, cap - used, "%s%" PRId64, i > 0 ? "," : "", order_pks[i]);
		if (n > 0)
			used += (size_t)n;
	}
	snprintf(list + used, cap - used, "}");
	values[0] = list;
	rc = store_query_int64(conn,
	                       "SELECT count(*) FROM orders WHERE id = ANY($1::bigint[])"
	                       " AND state IN ('queued', 'in_progress', 'retrying')",
	                       1, values, "checking the queued repairs", &counted, err);
	free(list);
	*unsettled = (size_t)counted;
	return rc;
}

int store_reconcile_try_lock(PGconn *conn, int64_t connection_id, bool *locked,
                             struct cn_error *err)
{
	char id[24];
	const char *values[1] = {id};
	PGresult *res = NULL;
	int rc;

	*locked = false;
	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	rc = store_query(conn,
	                 "SELECT pg_try_advisory_lock(" STORE_LOCK_RECONCILE_BASE " + $1::bigint)",
	                 1, values, "locking the reconciliation", &res, err);
	if (rc != CN_OK)
		return rc;
	*locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return CN_OK;
}

void store_reconcile_unlock(PGconn *conn, int64_t connection_id)
{
	char id[24];
	const char *values[1] = {id};
	struct cn_error ignored;

	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	/* A failed unlock means the connection is gone, and the lock with it. */
	if (store_query(conn,
	                "SELECT pg_advisory_unlock(" STORE_LOCK_RECONCILE_BASE " + $1::bigint)", 1,
	                values, "unlocking the reconciliation", NULL, &ignored) != CN_OK)
		return;
}
