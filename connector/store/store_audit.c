#include "store_audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* A value too long for a hash (never written by the chain) becomes "!",
 * which equals no hash, instead of being cut to one that might. */
static void copy_hex(char out[STORE_AUDIT_HASH_HEX], const PGresult *res, int row, int column)
{
	if (PQgetlength(res, row, column) >= STORE_AUDIT_HASH_HEX)
		snprintf(out, STORE_AUDIT_HASH_HEX, "!");
	else
		snprintf(out, STORE_AUDIT_HASH_HEX, "%s", PQgetvalue(res, row, column));
}

int store_audit_heads(PGconn *conn, struct store_audit_head *out, int *count, struct cn_error *err)
{
	PGresult *res = NULL;
	int rows;
	int rc;

	*count = 0;
	rc = store_query(conn,
	                 "SELECT chain, id, encode(row_hash, 'hex') FROM audit_chain_heads()"
	                 " ORDER BY chain",
	                 0, NULL, "reading the audit log's heads", &res, err);
	if (rc != CN_OK)
		return rc;
	rows = PQntuples(res);
	if (rows > STORE_AUDIT_CHAIN_COUNT)
		rows = STORE_AUDIT_CHAIN_COUNT;
	for (int i = 0; i < rows; i++) {
		out[i].chain = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
		out[i].id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		copy_hex(out[i].hash, res, i, 2);
	}
	PQclear(res);
	*count = rows;
	return CN_OK;
}

int store_audit_walk_begin(PGconn *conn, struct cn_error *err)
{
	return store_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
}

int store_audit_page(PGconn *conn, int64_t after_id, struct store_audit_link *out, int *count,
                     struct cn_error *err)
{
	char after[24], size[16];
	const char *values[2] = {after, size};
	PGresult *res = NULL;
	int rows;
	int rc;

	*count = 0;
	snprintf(after, sizeof(after), "%" PRId64, after_id);
	snprintf(size, sizeof(size), "%d", STORE_AUDIT_PAGE);
	rc = store_query(conn,
	                 "SELECT id, chain, digest_version, encode(prev_hash, 'hex'),"
	                 " encode(row_hash, 'hex'), digest_ok"
	                 " FROM audit_chain_page($1::bigint, $2::integer)",
	                 2, values, "reading the audit log", &res, err);
	if (rc != CN_OK)
		return rc;
	rows = PQntuples(res);
	if (rows > STORE_AUDIT_PAGE)
		rows = STORE_AUDIT_PAGE;
	for (int i = 0; i < rows; i++) {
		struct store_audit_link *link = &out[i];

		link->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		link->chain = (int)strtol(PQgetvalue(res, i, 1), NULL, 10);
		link->digest_version = (int)strtol(PQgetvalue(res, i, 2), NULL, 10);
		copy_hex(link->prev_hash, res, i, 3);
		copy_hex(link->row_hash, res, i, 4);
		link->digest_ok = strcmp(PQgetvalue(res, i, 5), "t") == 0;
	}
	PQclear(res);
	*count = rows;
	return CN_OK;
}
