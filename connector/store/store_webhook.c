#include "store_webhook.h"

#include <stdio.h>

#include "store.h"

int store_webhook_save(PGconn *conn, int64_t connection_id, const char *webhook_id,
                       const char *token, const char *secret, struct cn_error *err)
{
	char id_text[32];
	const char *params[4] = {id_text, webhook_id, token, secret};
	int64_t rows = 0;
	int rc;

	snprintf(id_text, sizeof(id_text), "%lld", (long long)connection_id);
	rc = store_command(conn,
	                   "UPDATE connections SET moneybird_webhook_id = $2, "
	                   "moneybird_webhook_token = $3, moneybird_webhook_secret = $4, "
	                   "updated_at = now() WHERE id = $1::bigint",
	                   4, params, "storing the Moneybird webhook", &rows, err);
	if (rc == CN_OK && rows != 1) {
		error_set(err, "storing the Moneybird webhook: connection row %s is missing",
		          id_text);
		rc = CN_NOT_FOUND;
	}
	return rc;
}

int store_webhook_get(PGconn *conn, int64_t connection_id, char *id, size_t size,
                      struct cn_error *err)
{
	char id_text[32];
	const char *params[1] = {id_text};
	PGresult *res;
	int rc = CN_OK;

	if (size > 0)
		id[0] = '\0';
	snprintf(id_text, sizeof(id_text), "%lld", (long long)connection_id);
	res = PQexecParams(
	    conn,
	    "SELECT coalesce(moneybird_webhook_id, '') FROM connections WHERE id = $1::bigint", 1,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_result_error(conn, res, "reading the Moneybird webhook", err);
		goto out;
	}
	if (PQntuples(res) == 1 && size > 0)
		snprintf(id, size, "%s", PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return rc;
}

int store_webhook_clear(PGconn *conn, int64_t connection_id, const char *webhook_id, bool *cleared,
                        struct cn_error *err)
{
	char id_text[32];
	const char *params[2] = {id_text, webhook_id};
	int64_t rows = 0;
	int rc;

	*cleared = false;
	snprintf(id_text, sizeof(id_text), "%lld", (long long)connection_id);
	rc = store_command(conn,
	                   "UPDATE connections SET moneybird_webhook_id = NULL, "
	                   "moneybird_webhook_token = NULL, moneybird_webhook_secret = NULL, "
	                   "updated_at = now() WHERE id = $1::bigint AND moneybird_webhook_id = $2",
	                   2, params, "forgetting the Moneybird webhook", &rows, err);
	*cleared = rc == CN_OK && rows == 1;
	return rc;
}
