#include "store_intake.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "log.h"
#include "store.h"

/* Prepared once per connection; recreated when a connection lacks it. */
#define BATCH_STATEMENT "bm_intake_batch"
#define BATCH_SQL "SELECT idx, result FROM intake_store_batch($1::json, $2::bytea[])"
#define BYTEA_OID 17 /* pg_type.h; stable across PostgreSQL versions */
#define SQLSTATE_NO_SUCH_STATEMENT "26000"

/* The delivery fields and the batch as JSON text; `failed` once out of
 * memory or past the cap (inputs are bounded by http.max_body_bytes, so the
 * cap is only a backstop). */
#define JSON_TEXT_MAX ((size_t)1 << 30)

struct json_buf {
	struct dynbuf text;
	bool failed;
};

static void buf_init(struct json_buf *buf)
{
	dynbuf_init(&buf->text, JSON_TEXT_MAX);
	buf->failed = false;
}

static void buf_append(struct json_buf *buf, const char *text, size_t len)
{
	if (!buf->failed && dynbuf_add(&buf->text, text, len) != CN_OK)
		buf->failed = true;
}

static void buf_text(struct json_buf *buf, const char *text)
{
	buf_append(buf, text, strlen(text));
}

/* A JSON string (or null). Bytes from 0x80 pass through: the values come from
 * parsed JSON, and PostgreSQL checks the encoding as it did for parameters.
 * Runs of plain bytes are appended whole (this is the intake's hot path). */
static void buf_string(struct json_buf *buf, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)text;

	if (text == NULL) {
		buf_text(buf, "null");
		return;
	}
	buf_append(buf, "\"", 1);
	while (*p != '\0') {
		size_t plain = 0;

		while (p[plain] != '\0' && p[plain] != '"' && p[plain] != '\\' && p[plain] >= 0x20)
			plain++;
		buf_append(buf, (const char *)p, plain);
		p += plain;
		if (*p == '"' || *p == '\\') {
			char escaped[2] = {'\\', (char)*p};

			buf_append(buf, escaped, sizeof(escaped));
			p++;
		} else if (*p != '\0') {
			char escaped[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0x0f]};

			buf_append(buf, escaped, sizeof(escaped));
			p++;
		}
	}
	buf_append(buf, "\"", 1);
}

static void buf_int(struct json_buf *buf, int64_t value)
{
	char text[24];
	int len = snprintf(text, sizeof(text), "%" PRId64, value);

	buf_append(buf, text, (size_t)len);
}

/* ,"key": -- every member but the first of an object. */
static void buf_key(struct json_buf *buf, const char *key)
{
	buf_text(buf, ",\"");
	buf_text(buf, key);
	buf_text(buf, "\":");
}

static void member_string(struct json_buf *buf, const char *key, const char *value)
{
	buf_key(buf, key);
	buf_string(buf, value);
}

static void member_int(struct json_buf *buf, const char *key, int64_t value)
{
	buf_key(buf, key);
	buf_int(buf, value);
}

static void member_bool(struct json_buf *buf, const char *key, bool value)
{
	buf_key(buf, key);
	buf_text(buf, value ? "true" : "false");
}

static void write_custom_fields(struct json_buf *buf, const struct bookto_order *order)
{
	buf_key(buf, "custom_fields");
	buf_text(buf, "[");
	for (size_t i = 0; i < order->custom_field_count; i++) {
		buf_text(buf, i == 0 ? "{\"label\":" : ",{\"label\":");
		buf_string(buf, order->custom_fields[i].label);
		buf_text(buf, ",\"value\":");
		buf_string(buf, order->custom_fields[i].value);
		buf_text(buf, "}");
	}
	buf_text(buf, "]");
}

/* The order's members of an intake_delivery record. */
static void write_order(struct json_buf *buf, const struct bookto_order *order)
{
	member_bool(buf, "has_order", true);
	member_string(buf, "order_number", order->order_number);
	member_bool(buf, "is_test_order", order->is_test_order);
	member_string(buf, "payment_provider", order->payment_provider);
	if (order->paid_at_valid)
		member_int(buf, "paid_at_epoch", order->paid_at_epoch);
	member_string(buf, "currency", order->currency);
	member_int(buf, "total_incl_cents", order->total_incl_cents);
	member_int(buf, "excl_vat_cents", order->excl_vat_cents);
	member_int(buf, "vat_cents", order->vat_cents);
	member_string(buf, "vat_rate", order->vat_rate_text);
	member_string(buf, "vat_treatment", order->vat_treatment);
	member_string(buf, "product_name", order->product_name);
	member_string(buf, "product_description", order->product_description);
	member_string(buf, "buyer_first_name", order->buyer_first_name);
	member_string(buf, "buyer_last_name", order->buyer_last_name);
	member_string(buf, "buyer_email", order->buyer_email);
	member_string(buf, "buyer_company", order->buyer_company);
	member_string(buf, "buyer_vat_number", order->buyer_vat_number);
	member_string(buf, "buyer_peppol_id", order->buyer_peppol_id);
	member_string(buf, "buyer_address", order->buyer_address);
	member_string(buf, "buyer_address2", order->buyer_address2);
	member_string(buf, "buyer_postal_code", order->buyer_postal_code);
	member_string(buf, "buyer_city", order->buyer_city);
	member_string(buf, "buyer_country", order->buyer_country);
	write_custom_fields(buf, order);
	member_string(buf, "match_ref", order->match_ref);
	member_bool(buf, "match_ref_derived", order->match_ref_derived);
	if (order->park_reason != NULL)
		member_string(buf, "park_reason", order->park_reason);
}

/* One intake_delivery record's members after idx; members left out are NULL. */
static void write_fields(struct json_buf *buf, const struct store_delivery_row *row,
                         const struct bookto_order *order)
{
	member_string(buf, "delivery_key", row->delivery_key);
	member_int(buf, "connection_id", row->connection_id);
	member_string(buf, "source", row->source);
	member_int(buf, "received_at_ms", row->received_at_ms);
	member_string(buf, "event", row->event);
	member_int(buf, "signature_timestamp", row->signature_timestamp);
	member_string(buf, "body_sha256", row->body_sha256_hex);
	member_string(buf, "outcome", row->outcome);
	member_string(buf, "order_id", row->order_id);
	if (order != NULL)
		write_order(buf, order);
	buf_text(buf, "}");
}

struct store_intake_record *store_intake_record_new(const struct store_delivery_row *row,
                                                    const struct bookto_order *order)
{
	struct json_buf buf;
	struct store_intake_record *record = calloc(1, sizeof(*record));

	if (record == NULL)
		return NULL;
	buf_init(&buf);
	write_fields(&buf, row, order);
	record->body = malloc(row->body_len > 0 ? row->body_len : 1);
	record->fields_len = dynbuf_len(&buf.text);
	record->fields = buf.failed ? NULL : dynbuf_take(&buf.text);
	dynbuf_free(&buf.text);
	if (record->fields == NULL || record->body == NULL) {
		free(record->fields);
		free(record->body);
		free(record);
		return NULL;
	}
	if (row->body_len > 0)
		memcpy(record->body, row->body, row->body_len);
	record->body_len = row->body_len;
	return record;
}

void store_intake_record_free(struct store_intake_record *record)
{
	if (record == NULL)
		return;
	free(record->fields);
	free(record->body);
	free(record);
}

static char *batch_json(struct store_intake_record *const *records, size_t count)
{
	struct json_buf buf;

	buf_init(&buf);
	buf_text(&buf, "[");
	for (size_t i = 0; i < count; i++) {
		buf_text(&buf, i == 0 ? "{\"idx\":" : ",{\"idx\":");
		buf_int(&buf, (int64_t)i);
		buf_append(&buf, records[i]->fields, records[i]->fields_len);
	}
	buf_text(&buf, "]");
	if (buf.failed) {
		dynbuf_free(&buf.text);
		return NULL;
	}
	return dynbuf_take(&buf.text);
}

static void put_uint32(unsigned char *out, uint32_t value)
{
	out[0] = (unsigned char)(value >> 24);
	out[1] = (unsigned char)(value >> 16);
	out[2] = (unsigned char)(value >> 8);
	out[3] = (unsigned char)value;
}

/*
 * The raw bodies as a bytea[] in PostgreSQL's binary array format (they need
 * be neither JSON nor UTF-8, and sent as they are they cost the server no
 * parsing): ndim, has-nulls flag, element type, then length and lower bound
 * of the one dimension, then each element as its length and its bytes.
 */
static unsigned char *bodies_array(struct store_intake_record *const *records, size_t count,
                                   size_t *len_out)
{
	size_t len = 20 + 4 * count;
	unsigned char *array, *p;

	for (size_t i = 0; i < count; i++)
		len += records[i]->body_len;
	if (len > INT32_MAX)
		return NULL;
	array = malloc(len);
	if (array == NULL)
		return NULL;
	put_uint32(array, 1);
	put_uint32(array + 4, 0);
	put_uint32(array + 8, BYTEA_OID);
	put_uint32(array + 12, (uint32_t)count);
	put_uint32(array + 16, 1);
	p = array + 20;
	for (size_t i = 0; i < count; i++) {
		put_uint32(p, (uint32_t)records[i]->body_len);
		if (records[i]->body_len > 0)
			memcpy(p + 4, records[i]->body, records[i]->body_len);
		p += 4 + records[i]->body_len;
	}
	*len_out = len;
	return array;
}

static bool result_is(const PGresult *res, const char *sqlstate)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return state != NULL && strcmp(state, sqlstate) == 0;
}

/* Runs the prepared batch statement, preparing it on a connection that has
 * not seen it yet. A failed statement outside a transaction leaves nothing
 * behind, so trying first costs nothing. */
static PGresult *exec_batch(PGconn *conn, const char *json, const unsigned char *bodies,
                            size_t bodies_len)
{
	const char *values[2] = {json, (const char *)bodies};
	const int lengths[2] = {0, (int)bodies_len};
	const int formats[2] = {0, 1};
	PGresult *res = PQexecPrepared(conn, BATCH_STATEMENT, 2, values, lengths, formats, 0);
	PGresult *prepared;

	if (PQresultStatus(res) != PGRES_FATAL_ERROR || !result_is(res, SQLSTATE_NO_SUCH_STATEMENT))
		return res;
	PQclear(res);
	prepared = PQprepare(conn, BATCH_STATEMENT, BATCH_SQL, 2, NULL);
	if (PQresultStatus(prepared) != PGRES_COMMAND_OK)
		return prepared;
	PQclear(prepared);
	return PQexecPrepared(conn, BATCH_STATEMENT, 2, values, lengths, formats, 0);
}

static int parse_result(const char *text, enum store_delivery_result *out)
{
	static const struct {
		const char *name;
		enum store_delivery_result result;
	} names[] = {
	    {"new_order", STORE_DELIVERY_NEW_ORDER},
	    {"duplicate", STORE_DELIVERY_DUPLICATE},
	    {"duplicate_differs", STORE_DELIVERY_DUPLICATE_DIFFERS},
	    {"already_stored", STORE_DELIVERY_ALREADY_STORED},
	    {"kept", STORE_DELIVERY_KEPT},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(text, names[i].name) == 0) {
			*out = names[i].result;
			return CN_OK;
		}
	}
	return CN_ERR;
}

/* One (idx, result) row per item, in idx order. */
static int read_results(PGresult *res, enum store_delivery_result *results, size_t count,
                        struct cn_error *err)
{
	if ((size_t)PQntuples(res) != count || PQnfields(res) != 2) {
		error_set(err, "storing the deliveries: %d results for %zu deliveries",
		          PQntuples(res), count);
		return CN_ERR;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		char *end = NULL;
		long idx = strtol(PQgetvalue(res, i, 0), &end, 10);

		if (end == PQgetvalue(res, i, 0) || idx < 0 || (size_t)idx >= count ||
		    parse_result(PQgetvalue(res, i, 1), &results[idx]) != CN_OK) {
			error_set(err, "storing the deliveries: unexpected result row %d", i);
			return CN_ERR;
		}
	}
	return CN_OK;
}

/* A refusal caused by the data sent, not by the database's state. */
static bool data_refused(PGconn *conn, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return !store_conn_broken(conn) && state != NULL &&
	       (strncmp(state, "22", 2) == 0 || strncmp(state, "54", 2) == 0);
}

int store_intake_records(PGconn *conn, struct store_intake_record *const *records, size_t count,
                         enum store_delivery_result *results, struct cn_error *err)
{
	unsigned char *bodies;
	size_t bodies_len = 0;
	PGresult *res;
	char *json;
	int rc;

	if (count == 0)
		return CN_OK;
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		error_set(err, "storing the deliveries: the connection is inside a transaction");
		return CN_ERR;
	}
	json = batch_json(records, count);
	bodies = bodies_array(records, count, &bodies_len);
	if (json == NULL || bodies == NULL) {
		free(json);
		free(bodies);
		error_set(err, "out of memory encoding %zu deliveries", count);
		return CN_ERR;
	}
	res = exec_batch(conn, json, bodies, bodies_len);
	free(json);
	free(bodies);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_result_error(conn, res, "storing the deliveries", err);
		if (data_refused(conn, res))
			rc = CN_INVALID;
	} else {
		rc = read_results(res, results, count, err);
	}
	PQclear(res);
	return rc;
}

int store_intake_batch(PGconn *conn, struct store_intake_item *items, size_t count,
                       struct cn_error *err)
{
	struct store_intake_record **records = calloc(count > 0 ? count : 1, sizeof(*records));
	enum store_delivery_result *results = calloc(count > 0 ? count : 1, sizeof(*results));
	struct cn_error ring_err = {""};
	bool new_orders = false;
	int rc = CN_ERR;

	if (records == NULL || results == NULL) {
		error_set(err, "out of memory encoding %zu deliveries", count);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		records[i] = store_intake_record_new(items[i].row, items[i].order);
		if (records[i] == NULL) {
			error_set(err, "out of memory encoding %zu deliveries", count);
			goto out;
		}
	}
	rc = store_intake_records(conn, records, count, results, err);
	for (size_t i = 0; rc == CN_OK && i < count; i++) {
		items[i].result = results[i];
		new_orders = new_orders || results[i] == STORE_DELIVERY_NEW_ORDER;
	}
	/* Stored: a failed ring only delays the workers until their next poll. */
	if (new_orders && store_ring_jobs(conn, &ring_err) != CN_OK)
		log_warn("jobs_not_announced", "error", ring_err.message, NULL);
out:
	for (size_t i = 0; records != NULL && i < count; i++)
		store_intake_record_free(records[i]);
	free(records);
	free(results);
	return rc;
}

int store_intake_delivery(PGconn *conn, const struct store_delivery_row *row,
                          const struct bookto_order *order, enum store_delivery_result *result_out,
                          struct cn_error *err)
{
	struct store_intake_item item = {row, order, STORE_DELIVERY_KEPT};
	int rc = store_intake_batch(conn, &item, 1, err);

	if (rc == CN_OK)
		*result_out = item.result;
	return rc;
}
