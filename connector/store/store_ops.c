#include "store_ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_orders.h"

/* Timestamps are shown as ISO 8601 in UTC: to_char((x) AT TIME ZONE 'UTC', ...). */

const char *store_ops_cell(const struct store_ops_table *table, size_t row, size_t column)
{
	if (table == NULL || row >= table->rows || column >= table->columns)
		return NULL;
	return table->cells[row * table->columns + column];
}

void store_ops_table_free(struct store_ops_table *table)
{
	if (table == NULL)
		return;
	for (size_t i = 0; table->names != NULL && i < table->columns; i++)
		free(table->names[i]);
	for (size_t i = 0; table->cells != NULL && i < table->rows * table->columns; i++)
		free(table->cells[i]);
	free(table->names);
	free(table->cells);
	memset(table, 0, sizeof(*table));
}

/* Copies a result into a table (the result stays the caller's). */
static int table_from_result(PGresult *res, struct store_ops_table *out, struct cn_error *err)
{
	size_t rows = (size_t)PQntuples(res);
	size_t columns = (size_t)PQnfields(res);

	memset(out, 0, sizeof(*out));
	out->names = calloc(columns > 0 ? columns : 1, sizeof(char *));
	out->cells = calloc(rows * columns > 0 ? rows * columns : 1, sizeof(char *));
	if (out->names == NULL || out->cells == NULL)
		goto oom;
	out->columns = columns;
	for (size_t c = 0; c < columns; c++) {
		out->names[c] = strdup(PQfname(res, (int)c));
		if (out->names[c] == NULL)
			goto oom;
	}
	out->rows = rows;
	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < columns; c++) {
			if (PQgetisnull(res, (int)r, (int)c))
				continue;
			out->cells[r * columns + c] = strdup(PQgetvalue(res, (int)r, (int)c));
			if (out->cells[r * columns + c] == NULL)
				goto oom;
		}
	return CN_OK;
oom:
	store_ops_table_free(out);
	error_set(err, "out of memory reading a query result");
	return CN_ERR;
}

static int query_table(PGconn *conn, const char *sql, int n, const char *const *values,
                       const char *what, struct store_ops_table *out, struct cn_error *err)
{
	PGresult *res = NULL;
	int rc = store_query(conn, sql, n, values, what, &res, err);

	memset(out, 0, sizeof(*out));
	if (rc != CN_OK)
		return rc;
	rc = table_from_result(res, out, err);
	PQclear(res);
	return rc;
}

int store_ops_query(PGconn *conn, const char *sql, int n, const char *const *values,
                    const char *what, struct store_ops_table *out, struct cn_error *err)
{
	return query_table(conn, sql, n, values, what, out, err);
}

int store_ops_find_orders(PGconn *conn, const char *connection, const char *key,
                          struct store_ops_table *out, struct cn_error *err)
{
	const char *values[2] = {key, connection};

	return query_table(
	    conn,
	    "SELECT o.id AS pk, c.name AS connection, o.order_id, o.order_number, o.state,"
	    " o.is_test_order, o.total_incl_cents, o.excl_vat_cents, o.vat_cents, o.currency,"
	    " o.vat_rate, o.vat_treatment, o.match_ref, o.moneybird_contact_id,"
	    " o.moneybird_invoice_id, o.invoice_state, o.moneybird_payment_id,"
	    " o.invoice_reference, o.attempts, o.last_error, "
	    "to_char((o.paid_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS paid_at,"
	    "to_char((o.received_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS received_at,"
	    "to_char((o.synced_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS synced_at,"
	    "to_char((o.paid_confirmed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS paid_confirmed_at,"
	    "to_char((o.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS updated_at, j.state AS job_state, "
	    "to_char((j.next_attempt_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS job_next_attempt_at, j.priority AS job_priority"
	    " FROM orders o JOIN connections c ON c.id = o.connection_id"
	    " LEFT JOIN jobs j ON j.order_pk = o.id AND j.kind = 'sync_order'"
	    " WHERE (o.order_id = $1 OR o.order_number = $1)"
	    " AND ($2::text IS NULL OR c.name = $2)"
	    " ORDER BY c.name, o.id LIMIT 100",
	    2, values, "finding the order", out, err);
}

static int order_list(PGconn *conn, const char *sql, int64_t order_pk, const char *what,
                      struct store_ops_table *out, struct cn_error *err)
{
	struct store_number pk, limit;
	const char *values[2] = {store_number_text(&pk, order_pk),
	                         store_number_text(&limit, STORE_OPS_MAX_LIST_ROWS)};

	return query_table(conn, sql, 2, values, what, out, err);
}

int store_ops_order_deliveries(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                               struct cn_error *err)
{
	return order_list(
	    conn,
	    "SELECT * FROM (SELECT d.id, "
	    "to_char((d.received_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS received_at,"
	    " d.source, d.outcome, d.event, d.body_sha256,"
	    " octet_length(d.body) AS body_bytes"
	    " FROM deliveries d JOIN orders o ON "
	    "o.connection_id = d.connection_id"
	    " AND o.order_id = d.order_id WHERE o.id = $1"
	    " ORDER BY d.id DESC LIMIT $2) newest ORDER BY id",
	    order_pk, "reading the deliveries", out, err);
}

int store_ops_order_attempts(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                             struct cn_error *err)
{
	return order_list(
	    conn,
	    "SELECT at, job_attempt, endpoint, outcome, http_status, duration_ms, error"
	    " FROM (SELECT id, "
	    "to_char((at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS at, job_attempt, endpoint, outcome,"
	    " http_status, duration_ms, error FROM attempts WHERE order_pk = $1"
	    " ORDER BY id DESC LIMIT $2) newest ORDER BY id",
	    order_pk, "reading the attempts", out, err);
}

int store_ops_order_audit(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                          struct cn_error *err)
{
	return order_list(conn,
	                  "SELECT * FROM (SELECT id, "
	                  "to_char((at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	                  " AS at, actor, action,"
	                  " from_state, to_state, detail::text AS detail FROM audit_log"
	                  " WHERE order_pk = $1 ORDER BY id DESC LIMIT $2) newest ORDER BY id",
	                  order_pk, "reading the audit log", out, err);
}

int store_ops_parked_orders(PGconn *conn, const char *connection, struct store_ops_table *out,
                            struct cn_error *err)
{
	const char *values[1] = {connection};

	return query_table(
	    conn,
	    "SELECT o.id AS pk, c.name AS connection, o.order_id FROM orders o"
	    " JOIN connections c ON c.id = o.connection_id"
	    " WHERE o.state = 'needs_attention' AND ($1::text IS NULL OR c.name = $1)"
	    " ORDER BY o.received_at, o.id",
	    1, values, "listing the parked orders", out, err);
}

int store_ops_retry_order(PGconn *conn, int64_t order_pk, const char *os_user,
                          enum store_ops_retry_result *result, char state_out[24],
                          struct cn_error *err)
{
	return store_ops_retry_order_by(conn, order_pk, "operator", "os_user", os_user, result,
	                                state_out, err);
}

int store_ops_retry_order_by(PGconn *conn, int64_t order_pk, const char *actor, const char *who_key,
                             const char *who, enum store_ops_retry_result *result,
                             char state_out[24], struct cn_error *err)
{
	const char *audit_params[3] = {who, actor, who_key};
	struct store_order_transition retried = {order_pk,
	                                         "'queued'",
	                                         NULL,
	                                         false,
	                                         {"$3::text", "'retry'", "'needs_attention'",
	                                          "jsonb_build_object($4::text, $2::text)", NULL},
	                                         3,
	                                         audit_params,
	                                         "auditing the retry"};
	int rc;

	rc = store_order_begin_locked(conn, order_pk, "locking the order", state_out, err);
	if (rc != CN_OK)
		return rc;
	if (strcmp(state_out, "needs_attention") != 0) {
		*result = STORE_OPS_RETRY_NOT_PARKED;
		store_rollback(conn); /* nothing was changed */
		return CN_OK;
	}
	/* The intent (step, intent) stays: the next attempt looks before it
	 * creates, exactly as after a crash. */
	rc = store_order_requeue(conn, order_pk, "queueing the order again", err);
	if (rc == CN_OK)
		rc = store_order_transition(conn, &retried, NULL, err);
	rc = store_commit_or_rollback(conn, rc, err);
	if (rc == CN_OK)
		*result = STORE_OPS_RETRY_QUEUED;
	return rc;
}

int store_ops_order_state(PGconn *conn, int64_t connection_id, const char *order_id,
                          char state_out[24], struct cn_error *err)
{
	char id[24];
	const char *values[2] = {id, order_id};
	PGresult *res = NULL;
	int rc;

	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	state_out[0] = '\0';
	rc =
	    store_query(conn, "SELECT state FROM orders WHERE connection_id = $1 AND order_id = $2",
	                2, values, "reading the order's state", &res, err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return CN_NOT_FOUND;
	}
	snprintf(state_out, 24, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return CN_OK;
}
