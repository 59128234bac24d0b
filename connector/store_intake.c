#include "store_intake.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define ORDER_PARAMS 32

/* Runs one parameterised statement that returns at most one row. */
static int query_row(PGconn *conn, const char *sql, int n_params, const char *const *values,
		     const int *lengths, const int *formats, const char *what, PGresult **out,
		     struct cn_error *err)
{
	PGresult *res = PQexecParams(conn, sql, n_params, NULL, values, lengths, formats, 0);
	ExecStatusType status = PQresultStatus(res);

	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
		int rc = store_result_error(conn, res, what, err);
		PQclear(res);
		*out = NULL;
		return rc;
	}
	*out = res;
	return CN_OK;
}

static char *custom_fields_json(const struct bookto_order *order)
{
	cJSON *array = cJSON_CreateArray();
	char *text;

	if (array == NULL)
		return NULL;
	for (size_t i = 0; i < order->custom_field_count; i++) {
		cJSON *item = cJSON_CreateObject();
		if (item == NULL)
			break;
		cJSON_AddStringToObject(item, "label", order->custom_fields[i].label);
		cJSON_AddStringToObject(item, "value", order->custom_fields[i].value);
		cJSON_AddItemToArray(array, item);
	}
	text = cJSON_PrintUnformatted(array);
	cJSON_Delete(array);
	return text;
}

static int insert_delivery(PGconn *conn, const struct store_delivery_row *row, char *id_out,
			   size_t id_size, bool *inserted, struct cn_error *err)
{
	char connection_id[24], received_ms[24], signature_ts[24];
	const char *values[10];
	int lengths[10] = {0};
	int formats[10] = {0};
	PGresult *res = NULL;
	int rc;

	snprintf(connection_id, sizeof(connection_id), "%" PRId64, row->connection_id);
	snprintf(received_ms, sizeof(received_ms), "%" PRId64, row->received_at_ms);
	snprintf(signature_ts, sizeof(signature_ts), "%" PRId64, row->signature_timestamp);
	values[0] = row->delivery_key;
	values[1] = connection_id;
	values[2] = row->source;
	values[3] = received_ms;
	values[4] = row->event;
	values[5] = signature_ts;
	values[6] = (const char *)row->body;
	lengths[6] = (int)row->body_len;
	formats[6] = 1;
	values[7] = row->body_sha256_hex;
	values[8] = row->outcome;
	values[9] = row->order_id;

	rc = query_row(conn,
		       "INSERT INTO deliveries (delivery_key, connection_id, source, received_at, "
		       "event, signature_timestamp, body, body_sha256, outcome, order_id) "
		       "VALUES ($1, $2, $3, to_timestamp($4::double precision / 1000), $5, $6, $7, "
		       "$8, $9, $10) ON CONFLICT (delivery_key) DO NOTHING RETURNING id",
		       10, values, lengths, formats, "storing the delivery", &res, err);
	if (rc != CN_OK)
		return rc;
	*inserted = PQntuples(res) == 1;
	if (*inserted)
		snprintf(id_out, id_size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return CN_OK;
}

static int insert_order(PGconn *conn, const struct store_delivery_row *row,
			const struct bookto_order *order, const char *delivery_id,
			char *order_pk_out, size_t order_pk_size, bool *created,
			struct cn_error *err)
{
	char connection_id[24], received_ms[24], paid_at[24];
	char total[24], excl[24], vat[24];
	char *custom_fields = custom_fields_json(order);
	const char *state = order->park_reason != NULL ? "needs_attention" : "queued";
	const char *values[ORDER_PARAMS];
	PGresult *res = NULL;
	int rc;

	if (custom_fields == NULL) {
		error_set(err, "out of memory encoding custom fields");
		return CN_ERR;
	}
	snprintf(connection_id, sizeof(connection_id), "%" PRId64, row->connection_id);
	snprintf(received_ms, sizeof(received_ms), "%" PRId64, row->received_at_ms);
	snprintf(paid_at, sizeof(paid_at), "%" PRId64, order->paid_at_epoch);
	snprintf(total, sizeof(total), "%" PRId64, order->total_incl_cents);
	snprintf(excl, sizeof(excl), "%" PRId64, order->excl_vat_cents);
	snprintf(vat, sizeof(vat), "%" PRId64, order->vat_cents);

	values[0] = connection_id;
	values[1] = order->order_id;
	values[2] = order->order_number;
	values[3] = order->is_test_order ? "true" : "false";
	values[4] = order->payment_provider;
	values[5] = order->paid_at_valid ? paid_at : NULL;
	values[6] = order->currency;
	values[7] = total;
	values[8] = excl;
	values[9] = vat;
	values[10] = order->vat_rate_text;
	values[11] = order->vat_treatment;
	values[12] = order->product_name;
	values[13] = order->product_description;
	values[14] = order->buyer_first_name;
	values[15] = order->buyer_last_name;
	values[16] = order->buyer_email;
	values[17] = order->buyer_company;
	values[18] = order->buyer_vat_number;
	values[19] = order->buyer_peppol_id;
	values[20] = order->buyer_address;
	values[21] = order->buyer_address2;
	values[22] = order->buyer_postal_code;
	values[23] = order->buyer_city;
	values[24] = order->buyer_country;
	values[25] = custom_fields;
	values[26] = order->match_ref;
	values[27] = order->match_ref_derived ? "true" : "false";
	values[28] = delivery_id;
	values[29] = state;
	values[30] = order->park_reason;
	values[31] = received_ms;

	rc = query_row(conn,
		       "INSERT INTO orders (connection_id, order_id, order_number, is_test_order, "
		       "payment_provider, paid_at, currency, total_incl_cents, excl_vat_cents, "
		       "vat_cents, vat_rate, vat_treatment, product_name, product_description, "
		       "buyer_first_name, buyer_last_name, buyer_email, buyer_company, "
		       "buyer_vat_number, buyer_peppol_id, buyer_address, buyer_address2, "
		       "buyer_postal_code, buyer_city, buyer_country, custom_fields, match_ref, "
		       "match_ref_derived, first_delivery_id, state, last_error, received_at) "
		       "VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision), $7, $8, $9, "
		       "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, "
		       "$25, $26::jsonb, $27, $28, $29, $30, $31, "
		       "to_timestamp($32::double precision / 1000)) "
		       "ON CONFLICT (connection_id, order_id) DO NOTHING RETURNING id",
		       ORDER_PARAMS, values, NULL, NULL, "storing the order", &res, err);
	free(custom_fields);
	if (rc != CN_OK)
		return rc;
	*created = PQntuples(res) == 1;
	if (*created)
		snprintf(order_pk_out, order_pk_size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return CN_OK;
}

static int record_new_order(PGconn *conn, const struct store_delivery_row *row,
			    const struct bookto_order *order, const char *order_pk,
			    const char *delivery_id, struct cn_error *err)
{
	const char *state = order->park_reason != NULL ? "needs_attention" : "queued";
	char connection_id[24];
	PGresult *res = NULL;
	int rc;

	snprintf(connection_id, sizeof(connection_id), "%" PRId64, row->connection_id);
	if (order->park_reason == NULL) {
		const char *job_values[2] = {order_pk, strcmp(row->source, "replay") == 0 ? "10" : "0"};

		rc = query_row(conn, "INSERT INTO jobs (order_pk, priority) VALUES ($1, $2)", 2,
			       job_values, NULL, NULL, "queueing the order", &res, err);
		if (rc != CN_OK)
			return rc;
		PQclear(res);
	}
	{
		const char *audit_values[6] = {row->source, connection_id, order_pk, state,
					       delivery_id, order->order_id};

		rc = query_row(conn,
			       "INSERT INTO audit_log (actor, action, connection_id, order_pk, "
			       "to_state, detail) VALUES ('intake', 'order_received', $2, $3, $4, "
			       "jsonb_build_object('delivery_id', $5::bigint, 'order_id', $6::text, "
			       "'source', $1::text))",
			       6, audit_values, NULL, NULL, "auditing the order", &res, err);
		if (rc != CN_OK)
			return rc;
		PQclear(res);
	}
	return CN_OK;
}

/* A known order was delivered again: compare bodies, mark and report. */
static int record_redelivery(PGconn *conn, const struct store_delivery_row *row,
			     const char *delivery_id, bool *differs, struct cn_error *err)
{
	char connection_id[24];
	const char *values[3] = {connection_id, row->order_id, row->body_sha256_hex};
	PGresult *res = NULL;
	int rc;

	snprintf(connection_id, sizeof(connection_id), "%" PRId64, row->connection_id);
	rc = query_row(conn,
		       "SELECT o.id, d.body_sha256 <> $3 FROM orders o "
		       "JOIN deliveries d ON d.id = o.first_delivery_id "
		       "WHERE o.connection_id = $1 AND o.order_id = $2",
		       3, values, NULL, NULL, "finding the known order", &res, err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		error_set(err, "order %s vanished while storing its redelivery", row->order_id);
		return CN_RETRYABLE;
	}
	{
		char order_pk[24];
		const char *update_values[2];
		const char *audit_values[4];

		snprintf(order_pk, sizeof(order_pk), "%s", PQgetvalue(res, 0, 0));
		*differs = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
		PQclear(res);

		update_values[0] = delivery_id;
		update_values[1] = *differs ? "duplicate_differs" : "duplicate";
		rc = query_row(conn, "UPDATE deliveries SET outcome = $2 WHERE id = $1", 2,
			       update_values, NULL, NULL, "marking the duplicate", &res, err);
		if (rc != CN_OK)
			return rc;
		PQclear(res);
		if (!*differs)
			return CN_OK;
		audit_values[0] = connection_id;
		audit_values[1] = order_pk;
		audit_values[2] = delivery_id;
		audit_values[3] = row->source;
		rc = query_row(conn,
			       "INSERT INTO audit_log (actor, action, connection_id, order_pk, detail) "
			       "VALUES ('intake', 'redelivery_differs', $1, $2, "
			       "jsonb_build_object('delivery_id', $3::bigint, 'source', $4::text))",
			       4, audit_values, NULL, NULL, "auditing the redelivery", &res, err);
		if (rc != CN_OK)
			return rc;
		PQclear(res);
	}
	return CN_OK;
}

int store_intake_apply(PGconn *conn, const struct store_delivery_row *row,
		       const struct bookto_order *order, enum store_delivery_result *result_out,
		       struct cn_error *err)
{
	char delivery_id[24] = "";
	char order_pk[24] = "";
	bool inserted = false;
	bool created = false;
	bool differs = false;
	int rc;

	rc = insert_delivery(conn, row, delivery_id, sizeof(delivery_id), &inserted, err);
	if (rc != CN_OK)
		return rc;
	if (!inserted) {
		*result_out = STORE_DELIVERY_ALREADY_STORED;
		return CN_OK;
	}
	if (order == NULL) {
		*result_out = STORE_DELIVERY_KEPT;
		return CN_OK;
	}
	rc = insert_order(conn, row, order, delivery_id, order_pk, sizeof(order_pk), &created, err);
	if (rc != CN_OK)
		return rc;
	if (created) {
		rc = record_new_order(conn, row, order, order_pk, delivery_id, err);
		*result_out = STORE_DELIVERY_NEW_ORDER;
	} else {
		rc = record_redelivery(conn, row, delivery_id, &differs, err);
		*result_out = differs ? STORE_DELIVERY_DUPLICATE_DIFFERS : STORE_DELIVERY_DUPLICATE;
	}
	return rc;
}

int store_intake_lock_audit(PGconn *conn, struct cn_error *err)
{
	return store_exec(conn, "SELECT pg_advisory_xact_lock(7262818452)", err);
}

int store_intake_notify_workers(PGconn *conn, struct cn_error *err)
{
	return store_exec(conn, "NOTIFY bookto_moneybird_jobs", err);
}

int store_intake_delivery(PGconn *conn, const struct store_delivery_row *row,
			  const struct bookto_order *order, enum store_delivery_result *result_out,
			  struct cn_error *err)
{
	int rc;

	rc = store_exec(conn, "BEGIN", err);
	if (rc != CN_OK)
		return rc;
	rc = store_intake_apply(conn, row, order, result_out, err);
	if (rc == CN_OK && *result_out == STORE_DELIVERY_NEW_ORDER)
		rc = store_intake_notify_workers(conn, err);
	if (rc == CN_OK)
		rc = store_exec(conn, "COMMIT", err);
	if (rc != CN_OK && !store_conn_broken(conn))
		store_rollback(conn);
	return rc;
}
