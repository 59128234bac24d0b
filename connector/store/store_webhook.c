#include "store_webhook.h"

#include <stdio.h>

#include "store.h"

/* Sets the webhook's id, token and secret on the connection row $1 (when
 * guard, an extra condition, holds). */
#define WEBHOOK_COLUMNS(id, token, secret, guard)                                                  \
	"UPDATE connections SET moneybird_webhook_id = " id ", moneybird_webhook_token = " token   \
	", moneybird_webhook_secret = " secret ", updated_at = now() WHERE id = $1::bigint" guard

/* Writes the webhook columns of connection_id's row ($1) with sql, taking
 * n of the webhook's id, token and secret as $2..$4: saving and forgetting a
 * webhook differ only in the statement. */
static int update_webhook_columns(PGconn *conn, int64_t connection_id, const char *sql, int n,
                                  const char *webhook_id, const char *token, const char *secret,
                                  const char *what, int64_t *rows, struct cn_error *err)
{
	char id_text[32];
	const char *params[4] = {id_text, webhook_id, token, secret};

	snprintf(id_text, sizeof(id_text), "%lld", (long long)connection_id);
	return store_command(conn, sql, n, params, what, rows, err);
}

int store_webhook_save(PGconn *conn, int64_t connection_id, const char *webhook_id,
                       const char *token, const char *secret, struct cn_error *err)
{
	int64_t rows = 0;
	int rc = update_webhook_columns(conn, connection_id, WEBHOOK_COLUMNS("$2", "$3", "$4", ""),
	                                4, webhook_id, token, secret,
	                                "storing the Moneybird webhook", &rows, err);

	if (rc == CN_OK && rows != 1) {
		error_set(err, "storing the Moneybird webhook: connection row %lld is missing",
		          (long long)connection_id);
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
	int64_t rows = 0;
	int rc = update_webhook_columns(
	    conn, connection_id,
	    WEBHOOK_COLUMNS("NULL", "NULL", "NULL", " AND moneybird_webhook_id = $2"), 2,
	    webhook_id, NULL, NULL, "forgetting the Moneybird webhook", &rows, err);

	*cleared = rc == CN_OK && rows == 1;
	return rc;
}
