#include "store_ops_status.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dynbuf.h"
#include "store.h"
#include "text.h"

#define ISO_UTC(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/*
 * One row per wanted connection that is registered, with its position in the
 * caller's list (u.i, from 1). The oldest unsynced order and the last error
 * are each one pass over the unsynced orders (orders_state_idx), not a probe
 * per connection; the redeliveries that differed and the last finished run
 * are an index probe per connection (deliveries_differ_idx of migration 0017,
 * reconcile_runs_connection_idx) inside the same statement.
 */
static const char connections_status_sql[] =
    "WITH wanted AS ("
    " SELECT u.i, c.id, c.paused_at, c.paused_reason"
    " FROM unnest($1::text[]) WITH ORDINALITY AS u(name, i)"
    " JOIN connections c ON c.name = u.name),"
    " oldest AS ("
    " SELECT DISTINCT ON (o.connection_id) o.connection_id, o.order_id, o.order_number,"
    " o.state, o.received_at FROM orders o"
    " WHERE o.state IN ('queued', 'in_progress', 'retrying', 'needs_attention')"
    " AND o.connection_id IN (SELECT id FROM wanted)"
    " ORDER BY o.connection_id, o.received_at, o.id),"
    " failed AS ("
    " SELECT DISTINCT ON (o.connection_id) o.connection_id, o.order_id, o.state,"
    " o.last_error, o.updated_at FROM orders o"
    " WHERE o.last_error IS NOT NULL AND o.state IN ('retrying', 'needs_attention')"
    " AND o.connection_id IN (SELECT id FROM wanted)"
    " ORDER BY o.connection_id, o.updated_at DESC, o.id DESC)"
    " SELECT w.i, w.id, w.paused_at IS NOT NULL, " ISO_UTC(
        "w.paused_at") ", w.paused_reason,"
                       " o.order_id, o.order_number, o.state, " ISO_UTC(
                           "o.received_at") ","
                                            " floor(extract(epoch FROM now() - "
                                            "o.received_at))::bigint,"
                                            " f.order_id, f.state, f.last_error, " ISO_UTC(
                                                "f.updated_at") ","
                                                                " (SELECT count(*) FROM deliveries "
                                                                "d WHERE d.connection_id = w.id"
                                                                " AND d.outcome = "
                                                                "'duplicate_differs'),"
                                                                " (SELECT coalesce(extract(epoch "
                                                                "FROM now() - "
                                                                "max(r.finished_at))::bigint, -1)"
                                                                " FROM reconcile_runs r WHERE "
                                                                "r.connection_id = w.id AND "
                                                                "r.status = 'done')"
                                                                " FROM wanted w LEFT JOIN oldest o "
                                                                "ON o.connection_id = w.id"
                                                                " LEFT JOIN failed f ON "
                                                                "f.connection_id = w.id";

enum {
	COL_INDEX,
	COL_ID,
	COL_PAUSED,
	COL_PAUSED_AT,
	COL_PAUSED_REASON,
	COL_OLDEST_ORDER_ID,
	COL_OLDEST_ORDER_NUMBER,
	COL_OLDEST_STATE,
	COL_OLDEST_RECEIVED_AT,
	COL_OLDEST_AGE,
	COL_ERROR_ORDER_ID,
	COL_ERROR_STATE,
	COL_ERROR,
	COL_ERROR_AT,
	COL_REDELIVERIES_DIFFER,
	COL_RECONCILE_AGE
};

static void copy_cell(char *out, size_t size, PGresult *res, int row, int column)
{
	snprintf(out, size, "%s", PQgetvalue(res, row, column));
}

/* A PostgreSQL text[] literal of the names, each element quoted. */
static int names_array(const char *const *names, size_t count, struct dynbuf *out)
{
	int rc = dynbuf_adds(out, "{");

	for (size_t i = 0; rc == 0 && i < count; i++) {
		rc = dynbuf_adds(out, i > 0 ? ",\"" : "\"");
		for (const char *p = names[i]; rc == 0 && *p != '\0'; p++)
			rc = dynbuf_addf(out, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
		if (rc == 0)
			rc = dynbuf_adds(out, "\"");
	}
	return rc == 0 ? dynbuf_adds(out, "}") : rc;
}

static void fill_row(PGresult *res, int r, struct store_ops_connection_status *out,
                     int64_t *reconcile_age)
{
	out->exists = true;
	out->id = text_int64(PQgetvalue(res, r, COL_ID));
	out->paused = strcmp(PQgetvalue(res, r, COL_PAUSED), "t") == 0;
	copy_cell(out->paused_at, sizeof(out->paused_at), res, r, COL_PAUSED_AT);
	copy_cell(out->paused_reason, sizeof(out->paused_reason), res, r, COL_PAUSED_REASON);
	out->has_oldest_unsynced = !PQgetisnull(res, r, COL_OLDEST_ORDER_ID);
	if (out->has_oldest_unsynced) {
		copy_cell(out->oldest_order_id, sizeof(out->oldest_order_id), res, r,
		          COL_OLDEST_ORDER_ID);
		copy_cell(out->oldest_order_number, sizeof(out->oldest_order_number), res, r,
		          COL_OLDEST_ORDER_NUMBER);
		copy_cell(out->oldest_state, sizeof(out->oldest_state), res, r, COL_OLDEST_STATE);
		copy_cell(out->oldest_received_at, sizeof(out->oldest_received_at), res, r,
		          COL_OLDEST_RECEIVED_AT);
		out->oldest_age_seconds = text_int64(PQgetvalue(res, r, COL_OLDEST_AGE));
	}
	out->has_last_error = !PQgetisnull(res, r, COL_ERROR_ORDER_ID);
	if (out->has_last_error) {
		copy_cell(out->last_error_order_id, sizeof(out->last_error_order_id), res, r,
		          COL_ERROR_ORDER_ID);
		copy_cell(out->last_error_state, sizeof(out->last_error_state), res, r,
		          COL_ERROR_STATE);
		copy_cell(out->last_error, sizeof(out->last_error), res, r, COL_ERROR);
		copy_cell(out->last_error_at, sizeof(out->last_error_at), res, r, COL_ERROR_AT);
	}
	out->redeliveries_differ = text_int64(PQgetvalue(res, r, COL_REDELIVERIES_DIFFER));
	*reconcile_age = text_int64(PQgetvalue(res, r, COL_RECONCILE_AGE));
}

int store_ops_connections_status(PGconn *conn, const char *const *names, size_t count,
                                 struct store_ops_connection_status *out,
                                 int64_t *last_reconcile_age_seconds, struct cn_error *err)
{
	struct dynbuf array;
	const char *values[1];
	PGresult *res = NULL;
	int rc;

	memset(out, 0, count * sizeof(*out));
	for (size_t i = 0; i < count; i++)
		last_reconcile_age_seconds[i] = -1;
	if (count == 0)
		return CN_OK;
	dynbuf_init(&array, (size_t)1 << 26);
	if (names_array(names, count, &array) != 0) {
		dynbuf_free(&array);
		error_set(err, "out of memory listing the connections");
		return CN_ERR;
	}
	values[0] = dynbuf_ptr(&array);
	rc = store_query(conn, connections_status_sql, 1, values, "reading the connections' status",
	                 &res, err);
	dynbuf_free(&array);
	if (rc != CN_OK)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t i = text_int64(PQgetvalue(res, r, COL_INDEX)) - 1;

		if (i >= 0 && (size_t)i < count)
			fill_row(res, r, &out[i], &last_reconcile_age_seconds[i]);
	}
	PQclear(res);
	return CN_OK;
}
