#include "store_sync.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_locks.h"

static char *dup_value(PGresult *res, int column)
{
	return strdup(PQgetisnull(res, 0, column) ? "" : PQgetvalue(res, 0, column));
}

static void copy_value(char *dst, size_t size, PGresult *res, int column)
{
	snprintf(dst, size, "%s", PQgetisnull(res, 0, column) ? "" : PQgetvalue(res, 0, column));
}

static int load_custom_fields(struct bookto_order *order, const char *json)
{
	cJSON *array = cJSON_Parse(json);
	int count = cJSON_GetArraySize(array);
	int rc = 0;

	if (count > 0) {
		order->custom_fields = calloc((size_t)count, sizeof(*order->custom_fields));
		if (order->custom_fields == NULL)
			rc = -1;
		for (int i = 0; rc == 0 && i < count; i++) {
			cJSON *item = cJSON_GetArrayItem(array, i);
			const char *label =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "label"));
			const char *value =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "value"));

			order->custom_fields[i].label = strdup(label != NULL ? label : "");
			order->custom_fields[i].value = strdup(value != NULL ? value : "");
			order->custom_field_count = (size_t)i + 1;
		}
	}
	cJSON_Delete(array);
	return rc;
}

int store_sync_load(PGconn *conn, int64_t order_pk, struct store_sync_order *out,
                    struct cn_error *err)
{
	char pk[24];
	const char *values[1] = {pk};
	struct bookto_order *order = NULL;
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	rc = store_query_row(
	    conn,
	    "SELECT order_id, order_number, is_test_order, payment_provider,"
	    " coalesce(extract(epoch FROM paid_at)::bigint, 0), paid_at IS NOT NULL,"
	    " currency, total_incl_cents, excl_vat_cents, vat_cents, vat_rate, vat_treatment,"
	    " product_name, product_description, buyer_first_name, buyer_last_name,"
	    " buyer_email, buyer_company, buyer_vat_number, buyer_peppol_id, buyer_address,"
	    " buyer_address2, buyer_postal_code, buyer_city, buyer_country,"
	    " custom_fields::text, match_ref, match_ref_derived,"
	    " moneybird_contact_id, moneybird_invoice_id, invoice_state, invoice_reference,"
	    " invoice_intent_at IS NOT NULL, sent_at IS NOT NULL,"
	    " payment_intent_at IS NOT NULL, moneybird_payment_id,"
	    " coalesce((SELECT extract(epoch FROM max(a.at))::bigint FROM audit_log a"
	    " WHERE a.order_pk = orders.id AND a.action = 'retry'), 0)"
	    " FROM orders WHERE id = $1",
	    1, values, "loading the order", &res, err);
	if (rc == CN_NOT_FOUND)
		error_set(err, "order %" PRId64 " does not exist", order_pk);
	if (rc != CN_OK)
		return rc;
	order = calloc(1, sizeof(*order));
	if (order == NULL)
		goto oom;
	order->event = strdup("order.paid");
	order->order_id = dup_value(res, 0);
	order->order_number = dup_value(res, 1);
	order->is_test_order = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	order->payment_provider = dup_value(res, 3);
	order->paid_at_epoch = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	order->paid_at_valid = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	order->status = strdup("paid");
	order->created_at_text = strdup("");
	order->paid_at_text = strdup("");
	order->currency = dup_value(res, 6);
	order->total_incl_cents = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	order->excl_vat_cents = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
	order->vat_cents = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
	order->vat_rate_text = dup_value(res, 10);
	order->vat_treatment = dup_value(res, 11);
	order->product_name = dup_value(res, 12);
	order->product_description = dup_value(res, 13);
	order->buyer_first_name = dup_value(res, 14);
	order->buyer_last_name = dup_value(res, 15);
	order->buyer_email = dup_value(res, 16);
	order->buyer_company = dup_value(res, 17);
	order->buyer_vat_number = dup_value(res, 18);
	order->buyer_peppol_id = dup_value(res, 19);
	order->buyer_address = dup_value(res, 20);
	order->buyer_address2 = dup_value(res, 21);
	order->buyer_postal_code = dup_value(res, 22);
	order->buyer_city = dup_value(res, 23);
	order->buyer_country = dup_value(res, 24);
	if (load_custom_fields(order, PQgetvalue(res, 0, 25)) != 0)
		goto oom;
	order->match_ref = dup_value(res, 26);
	order->match_ref_derived = strcmp(PQgetvalue(res, 0, 27), "t") == 0;
	order->seller_id = strdup("");
	if (order->order_id == NULL || order->match_ref == NULL || order->seller_id == NULL ||
	    order->buyer_country == NULL || order->vat_treatment == NULL)
		goto oom;
	copy_value(out->contact_id, sizeof(out->contact_id), res, 28);
	copy_value(out->invoice_id, sizeof(out->invoice_id), res, 29);
	copy_value(out->invoice_state, sizeof(out->invoice_state), res, 30);
	copy_value(out->invoice_reference, sizeof(out->invoice_reference), res, 31);
	out->invoice_intent = strcmp(PQgetvalue(res, 0, 32), "t") == 0;
	out->sent = strcmp(PQgetvalue(res, 0, 33), "t") == 0;
	out->payment_intent = strcmp(PQgetvalue(res, 0, 34), "t") == 0;
	copy_value(out->payment_id, sizeof(out->payment_id), res, 35);
	out->retried_at = strtoll(PQgetvalue(res, 0, 36), NULL, 10);
	out->order = order;
	out->order_pk = order_pk;
	PQclear(res);
	return CN_OK;
oom:
	bookto_order_free(order);
	PQclear(res);
	error_set(err, "out of memory loading order %" PRId64, order_pk);
	return CN_ERR;
}

void store_sync_order_clear(struct store_sync_order *order)
{
	if (order == NULL)
		return;
	bookto_order_free(order->order);
	order->order = NULL;
}

int store_contact_find(PGconn *conn, const char *administration_id, const char *match_ref,
                       char contact_id[STORE_ID_MAX], struct cn_error *err)
{
	const char *values[2] = {administration_id, match_ref};
	PGresult *res = NULL;
	int rc;

	rc = store_query(conn,
	                 "SELECT moneybird_contact_id FROM contacts"
	                 " WHERE administration_id = $1 AND match_ref = $2",
	                 2, values, "looking up the contact map", &res, err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) == 1)
		copy_value(contact_id, STORE_ID_MAX, res, 0);
	else
		rc = CN_NOT_FOUND;
	PQclear(res);
	return rc;
}

/* One 64-bit lock key per buyer per administration. */
static const char contact_lock_key[] =
    "hashtextextended($1 || '/' || $2, " STORE_LOCK_CONTACT_SEED ")";

int store_contact_lock(PGconn *conn, const char *administration_id, const char *match_ref,
                       struct cn_error *err)
{
	const char *values[2] = {administration_id, match_ref};

	return store_advisory_lock(conn, contact_lock_key, 2, values, "locking the buyer's contact",
	                           err);
}

void store_contact_unlock(PGconn *conn, const char *administration_id, const char *match_ref)
{
	const char *values[2] = {administration_id, match_ref};

	store_advisory_unlock(conn, contact_lock_key, 2, values, "unlocking the buyer's contact");
}

int store_contact_record(PGconn *conn, int64_t order_pk, const char *administration_id,
                         const char *match_ref, const char *customer_id, const char *contact_id,
                         const char *resolution, struct cn_error *err)
{
	char pk[24];
	const char *values[6] = {pk,          administration_id, match_ref,
	                         customer_id, contact_id,        resolution};

	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	return store_query(
	    conn,
	    "WITH mapped AS (INSERT INTO contacts (administration_id, match_ref,"
	    " customer_id, moneybird_contact_id, resolution)"
	    " VALUES ($2, $3, $4, $5, $6) ON CONFLICT (administration_id, match_ref)"
	    " DO NOTHING),"
	    " changed AS (UPDATE orders SET moneybird_contact_id = $5, updated_at = now()"
	    " WHERE id = $1 RETURNING connection_id)"
	    " " STORE_AUDIT_INSERT " SELECT 'worker', 'contact_resolved', connection_id, $1,"
	    " NULL, NULL, jsonb_build_object('moneybird_contact_id', $5::text, 'resolution', "
	    "$6::text)"
	    " FROM changed",
	    6, values, "recording the contact", NULL, err);
}

/* Updates the order and appends one audit row with the given detail. */
static int order_step(PGconn *conn, int64_t order_pk, const char *set_clause, const char *action,
                      const char *detail_sql, int n_extra, const char *const *extra,
                      const char *what, struct cn_error *err)
{
	char pk[24];
	const char *values[6] = {pk, NULL, NULL, NULL, NULL, NULL};
	char sql[1024];

	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	for (int i = 0; i < n_extra && i < 5; i++)
		values[i + 1] = extra[i];
	snprintf(sql, sizeof(sql),
	         "WITH changed AS (UPDATE orders SET %s, updated_at = now() WHERE id = $1"
	         " RETURNING connection_id)"
	         " " STORE_AUDIT_INSERT " SELECT 'worker', '%s', connection_id, $1,"
	         " NULL, NULL, %s FROM changed",
	         set_clause, action, detail_sql);
	return store_query(conn, sql, 1 + n_extra, values, what, NULL, err);
}

int store_order_set_contact(PGconn *conn, int64_t order_pk, const char *contact_id,
                            struct cn_error *err)
{
	const char *extra[1] = {contact_id};

	return order_step(conn, order_pk, "moneybird_contact_id = $2", "contact_resolved",
	                  "jsonb_build_object('moneybird_contact_id', $2::text,"
	                  " 'resolution', 'mapped')",
	                  1, extra, "setting the contact", err);
}

/*
 * order_step behind the fence: the job row is updated (lease extended) only
 * while it carries fence's owner and generation, and the order only when
 * that happened, all in one statement. The job row is locked first, as in
 * every queue transition. $1 order, $2..$5 the fence, $6 extra.
 */
static int fenced_step(PGconn *conn, int64_t order_pk, const struct store_fence *fence,
                       const char *set_clause, const char *action, const char *detail_sql,
                       const char *extra, const char *what, struct cn_error *err)
{
	char pk[24], job_id[24], generation[24], lease[16];
	const char *values[6] = {pk, job_id, fence->owner, generation, lease, extra};
	PGresult *res = NULL;
	char sql[1400];
	int rc;

	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	snprintf(job_id, sizeof(job_id), "%" PRId64, fence->job_id);
	snprintf(generation, sizeof(generation), "%" PRId64, fence->generation);
	snprintf(lease, sizeof(lease), "%d", fence->lease_seconds);
	snprintf(sql, sizeof(sql),
	         "WITH lease AS (UPDATE jobs SET"
	         " lease_expires_at = now() + make_interval(secs => $5::int), updated_at = now()"
	         " WHERE id = $2 AND lease_owner = $3 AND lease_generation = $4 RETURNING id),"
	         " changed AS (UPDATE orders SET %s, updated_at = now()"
	         " WHERE id = $1 AND EXISTS (SELECT 1 FROM lease) RETURNING connection_id),"
	         " audited AS (" STORE_AUDIT_INSERT " SELECT 'worker', '%s', connection_id, $1,"
	         " NULL, NULL, %s FROM changed)"
	         " SELECT count(*) FROM lease",
	         set_clause, action, detail_sql);
	rc = store_query(conn, sql, extra != NULL ? 6 : 5, values, what, &res, err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
		error_set(err, "%s: the lease on job %" PRId64 " was lost", what, fence->job_id);
		rc = CN_NOT_FOUND;
	}
	PQclear(res);
	return rc;
}

int store_invoice_intent(PGconn *conn, int64_t order_pk, const char *reference,
                         const struct store_fence *fence, struct cn_error *err)
{
	return fenced_step(conn, order_pk, fence,
	                   "invoice_reference = $6,"
	                   " invoice_intent_at = coalesce(invoice_intent_at, now())",
	                   "invoice_intent", "jsonb_build_object('reference', $6::text)", reference,
	                   "recording the invoice intent", err);
}

int store_invoice_recorded(PGconn *conn, int64_t order_pk, const char *invoice_id,
                           const char *state, int64_t total_cents, const char *how,
                           struct cn_error *err)
{
	char total[24];
	const char *extra[4] = {invoice_id, state, total, how};

	snprintf(total, sizeof(total), "%" PRId64, total_cents);
	return order_step(conn, order_pk,
	                  "moneybird_invoice_id = $2, invoice_state = $3, invoice_total_cents = $4",
	                  "invoice_recorded",
	                  "jsonb_build_object('moneybird_invoice_id', $2::text, 'state', $3::text,"
	                  " 'how', $5::text)",
	                  4, extra, "recording the invoice", err);
}

int store_invoice_sent(PGconn *conn, int64_t order_pk, const char *state,
                       const char *delivery_method, struct cn_error *err)
{
	const char *extra[2] = {state, delivery_method};

	return order_step(conn, order_pk, "invoice_state = $2, sent_at = coalesce(sent_at, now())",
	                  "invoice_sent",
	                  "jsonb_build_object('state', $2::text, 'delivery_method', $3::text)", 2,
	                  extra, "recording the sending", err);
}

int store_payment_intent(PGconn *conn, int64_t order_pk, const struct store_fence *fence,
                         struct cn_error *err)
{
	return fenced_step(
	    conn, order_pk, fence, "payment_intent_at = coalesce(payment_intent_at, now())",
	    "payment_intent", "'{}'::jsonb", NULL, "recording the payment intent", err);
}

int store_invoice_intent_withdraw(PGconn *conn, int64_t order_pk, struct cn_error *err)
{
	return order_step(conn, order_pk, "invoice_intent_at = NULL", "invoice_intent_withdrawn",
	                  "'{}'::jsonb", 0, NULL, "withdrawing the invoice intent", err);
}

int store_payment_intent_withdraw(PGconn *conn, int64_t order_pk, struct cn_error *err)
{
	return order_step(conn, order_pk, "payment_intent_at = NULL", "payment_intent_withdrawn",
	                  "'{}'::jsonb", 0, NULL, "withdrawing the payment intent", err);
}

int store_payment_recorded(PGconn *conn, int64_t order_pk, const char *payment_id,
                           const char *invoice_state, const char *how, struct cn_error *err)
{
	const char *extra[3] = {payment_id, invoice_state, how};

	return order_step(conn, order_pk, "moneybird_payment_id = $2, invoice_state = $3",
	                  "payment_recorded",
	                  "jsonb_build_object('moneybird_payment_id', $2::text, 'state', $3::text,"
	                  " 'how', $4::text)",
	                  3, extra, "recording the payment", err);
}

int store_call_record(PGconn *conn, int64_t order_pk, int64_t connection_id, int job_attempt,
                      const char *endpoint, const char *outcome, long http_status, int duration_ms,
                      const char *error, struct cn_error *err)
{
	struct store_number pk, connection, attempt, status, duration;
	const char *values[8] = {store_number_text(&pk, order_pk),
	                         store_number_text(&attempt, job_attempt),
	                         endpoint,
	                         outcome,
	                         http_status > 0 ? store_number_text(&status, http_status) : NULL,
	                         store_number_text(&duration, duration_ms),
	                         error,
	                         store_number_text(&connection, connection_id)};

	return store_query(
	    conn,
	    "WITH recorded AS (INSERT INTO attempts (order_pk, job_attempt, endpoint,"
	    " outcome, http_status, duration_ms, error)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id)"
	    " " STORE_AUDIT_INSERT " SELECT 'worker', 'moneybird_call', $8, $1, NULL, NULL,"
	    " jsonb_build_object('endpoint', $3::text, 'outcome', $4::text,"
	    " 'http_status', $5::int, 'duration_ms', $6::int, 'attempt_id', id)"
	    " FROM recorded",
	    8, values, "recording the Moneybird call", NULL, err);
}

int store_invoice_version(PGconn *conn, int64_t order_pk, int64_t *version, struct cn_error *err)
{
	char pk[24];
	const char *values[1] = {pk};
	PGresult *res = NULL;
	int rc;

	snprintf(pk, sizeof(pk), "%" PRId64, order_pk);
	rc = store_query(conn, "SELECT coalesce(invoice_version, 0) FROM orders WHERE id = $1", 1,
	                 values, "reading the invoice version", &res, err);
	if (rc != CN_OK)
		return rc;
	*version = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return CN_OK;
}
