#include "store_contact_index.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "store.h"
#include "store_array.h"
#include "store_locks.h"

/* One normalisation for stored keys and looked-up values. */
#define TAX_KEY(x) "lower(regexp_replace(" x ", '[ .-]', '', 'g'))"
#define EMAIL_KEYS(x)                                                                              \
	"ARRAY(SELECT DISTINCT lower(btrim(e)) FROM unnest(string_to_array(" x ", ',')) e "        \
	"WHERE btrim(e) <> '')"

/* An older version never replaces a newer one. */
static const char put_sql[] =
    "INSERT INTO mb_contact_index AS i (administration_id, contact_id, version, tax_key,"
    " peppol_key, email_keys, customer_id)"
    " VALUES ($1, $2, $3::bigint, " TAX_KEY(
        "$4") ","
              " CASE WHEN $5 <> '' AND $6 <> '' THEN lower($5 || ':' || $6) ELSE '' END,"
              " " EMAIL_KEYS(
                  "$7") ", $8)"
                        " ON CONFLICT (administration_id, contact_id) DO UPDATE"
                        " SET version = EXCLUDED.version, tax_key = EXCLUDED.tax_key,"
                        " peppol_key = EXCLUDED.peppol_key, email_keys = EXCLUDED.email_keys,"
                        " customer_id = EXCLUDED.customer_id"
                        " WHERE i.version <= EXCLUDED.version";

static const char lock_key[] = "hashtextextended($1, " STORE_LOCK_CONTACT_INDEX_SEED ")";

int store_contact_index_refreshed_ms(PGconn *conn, const char *administration_id,
                                     int64_t *refreshed_ms, struct cn_error *err)
{
	const char *values[1] = {administration_id};

	/* -1 when the index was never refreshed. */
	return store_query_int64(
	    conn,
	    "SELECT coalesce((SELECT floor(extract(epoch FROM refreshed_at) * 1000)::bigint"
	    " FROM mb_contact_index_state WHERE administration_id = $1), -1)",
	    1, values, "reading when the contact index was refreshed", refreshed_ms, err);
}

int store_contact_index_refreshed(PGconn *conn, const char *administration_id, int64_t started_ms,
                                  struct cn_error *err)
{
	char started[24];
	const char *values[2] = {administration_id, started};

	snprintf(started, sizeof(started), "%" PRId64, started_ms);
	/* Never moves back: a slow refresh finishing after a quicker, later one. */
	return store_query(
	    conn,
	    "INSERT INTO mb_contact_index_state AS s (administration_id, refreshed_at)"
	    " VALUES ($1, to_timestamp($2::bigint / 1000.0))"
	    " ON CONFLICT (administration_id) DO UPDATE"
	    " SET refreshed_at = greatest(s.refreshed_at, EXCLUDED.refreshed_at)",
	    2, values, "recording the contact index's refresh", NULL, err);
}

int store_contact_index_order_received_ms(PGconn *conn, int64_t order_pk, int64_t *received_ms,
                                          struct cn_error *err)
{
	return store_query_int64_by_id(
	    conn,
	    "SELECT coalesce((SELECT floor(extract(epoch FROM received_at) * 1000)::bigint"
	    " FROM orders WHERE id = $1::bigint), 0)",
	    order_pk, "reading when the order was received", received_ms, err);
}

int store_contact_index_versions(PGconn *conn, const char *administration_id,
                                 struct mb_sync_entry **out, size_t *count, struct cn_error *err)
{
	const char *values[1] = {administration_id};
	PGresult *res = NULL;
	int rc = store_query(conn,
	                     "SELECT contact_id, version FROM mb_contact_index"
	                     " WHERE administration_id = $1",
	                     1, values, "reading the contact index", &res, err);
	int rows;

	*out = NULL;
	*count = 0;
	if (rc != CN_OK)
		return rc;
	rows = PQntuples(res);
	if (rows > 0 && (*out = calloc((size_t)rows, sizeof(**out))) == NULL) {
		PQclear(res);
		error_set(err, "out of memory reading the contact index");
		return CN_ERR;
	}
	for (int i = 0; i < rows; i++) {
		snprintf((*out)[i].id, sizeof((*out)[i].id), "%s", PQgetvalue(res, i, 0));
		(*out)[i].version = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	}
	*count = (size_t)rows;
	PQclear(res);
	return CN_OK;
}

int store_contact_index_put(PGconn *conn, const char *administration_id,
                            const struct mb_contact *contact, struct cn_error *err)
{
	char version[24];
	const char *values[8] = {administration_id,
	                         contact->id,
	                         version,
	                         contact->tax_number,
	                         contact->si_identifier_type,
	                         contact->si_identifier,
	                         contact->send_invoices_to_email,
	                         contact->customer_id};

	snprintf(version, sizeof(version), "%" PRId64, contact->version);
	return store_query(conn, put_sql, 8, values, "indexing a contact", NULL, err);
}

int store_contact_index_forget(PGconn *conn, const char *administration_id, const char *contact_id,
                               struct cn_error *err)
{
	const char *values[2] = {administration_id, contact_id};

	return store_query(conn,
	                   "INSERT INTO mb_contact_index (administration_id, contact_id, version)"
	                   " VALUES ($1, $2, 9223372036854775807)"
	                   " ON CONFLICT (administration_id, contact_id) DO UPDATE"
	                   " SET version = EXCLUDED.version, customer_id = '', tax_key = '',"
	                   " peppol_key = '', email_keys = '{}'",
	                   2, values, "forgetting a contact", NULL, err);
}

/* ids are digits: no quoting needed in an array literal */
static int add_entry_id(struct dynbuf *out, const void *items, size_t i)
{
	return dynbuf_adds(out, ((const struct mb_sync_entry *)items)[i].id);
}

int store_contact_index_retain(PGconn *conn, const char *administration_id,
                               const struct mb_sync_entry *entries, size_t count,
                               struct cn_error *err)
{
	struct dynbuf ids;
	const char *values[2] = {administration_id, NULL};
	int rc = CN_OK;

	rc = store_array_literal(&ids, count * (MB_ID_MAX + 1) + 8, entries, count, add_entry_id,
	                         "out of memory pruning the contact index", err);
	if (rc != CN_OK)
		return rc;
	values[1] = dynbuf_ptr(&ids);
	rc = store_query(conn,
	                 "DELETE FROM mb_contact_index WHERE administration_id = $1"
	                 " AND NOT (contact_id = ANY ($2::text[]))",
	                 2, values, "pruning the contact index", NULL, err);
	dynbuf_free(&ids);
	return rc;
}

int store_contact_index_find(PGconn *conn, const char *administration_id,
                             enum store_contact_key key, const char *value, char ids[2][MB_ID_MAX],
                             size_t *matches, struct cn_error *err)
{
	static const char *const sql[] = {
	    [STORE_CONTACT_KEY_CUSTOMER_ID] =
	        "SELECT contact_id, count(*) OVER () FROM mb_contact_index"
	        " WHERE administration_id = $1 AND customer_id = $2 AND customer_id <> ''"
	        " ORDER BY contact_id LIMIT 2",
	    [STORE_CONTACT_KEY_TAX] = "SELECT contact_id, count(*) OVER () FROM mb_contact_index"
	                              " WHERE administration_id = $1 AND tax_key = " TAX_KEY(
	                                  "$2") " AND tax_key <> '' ORDER BY contact_id LIMIT 2",
	    [STORE_CONTACT_KEY_PEPPOL] = "SELECT contact_id, count(*) OVER () FROM mb_contact_index"
	                                 " WHERE administration_id = $1 AND peppol_key = lower($2)"
	                                 " AND peppol_key <> '' ORDER BY contact_id LIMIT 2",
	    [STORE_CONTACT_KEY_EMAIL] = "SELECT contact_id, count(*) OVER () FROM mb_contact_index"
	                                " WHERE administration_id = $1 AND email_keys @>"
	                                " ARRAY[lower(btrim($2))] ORDER BY contact_id LIMIT 2",
	};
	const char *values[2] = {administration_id, value};
	PGresult *res = NULL;
	int rc = store_query(conn, sql[key], 2, values, "looking up the contact index", &res, err);

	*matches = 0;
	if (rc != CN_OK)
		return rc;
	for (int i = 0; i < PQntuples(res) && i < 2; i++) {
		snprintf(ids[i], MB_ID_MAX, "%s", PQgetvalue(res, i, 0));
		*matches = (size_t)strtoull(PQgetvalue(res, i, 1), NULL, 10);
	}
	PQclear(res);
	return CN_OK;
}

int store_contact_index_pending_pushes(PGconn *conn, int64_t connection_id, int64_t *count,
                                       struct cn_error *err)
{
	return store_query_int64_by_id(
	    conn,
	    "SELECT count(*) FROM moneybird_events WHERE connection_id = $1::bigint"
	    " AND status IN ('pending', 'waiting')"
	    " AND action ~ '^contact_(created|changed|destroyed|archived|activated)$'",
	    connection_id, "counting the contact pushes not applied yet", count, err);
}

int store_contact_index_lock(PGconn *conn, const char *administration_id, struct cn_error *err)
{
	const char *values[1] = {administration_id};

	return store_advisory_lock(conn, lock_key, 1, values, "locking the contact index", err);
}

void store_contact_index_unlock(PGconn *conn, const char *administration_id)
{
	const char *values[1] = {administration_id};

	store_advisory_unlock(conn, lock_key, 1, values, "unlocking the contact index");
}
