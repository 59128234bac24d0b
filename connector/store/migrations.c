#include "migrations.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_locks.h"

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char digest[32];
	unsigned int digest_len = 0;

	EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < digest_len; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static int ensure_table(PGconn *conn, struct cn_error *err)
{
	return store_exec(conn,
	                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
	                  " version integer PRIMARY KEY,"
	                  " name text NOT NULL,"
	                  " checksum text NOT NULL,"
	                  " applied_at timestamptz NOT NULL DEFAULT now())",
	                  err);
}

static int is_applied(PGconn *conn, int version, bool *applied, struct cn_error *err)
{
	char version_text[16];
	const char *params[1] = {version_text};
	PGresult *res;
	int rc = CN_OK;

	snprintf(version_text, sizeof(version_text), "%d", version);
	res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
	                   params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_result_error(conn, res, "reading schema_migrations", err);
	else
		*applied = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

static int apply_one(PGconn *conn, const struct migration *m, struct cn_error *err)
{
	char checksum[65];
	char version_text[16];
	const char *params[3] = {version_text, m->name, checksum};
	PGresult *res = NULL;
	int rc;

	sha256_hex(m->sql, m->sql_len, checksum);
	snprintf(version_text, sizeof(version_text), "%d", m->version);

	rc = store_exec(conn, "BEGIN", err);
	if (rc != CN_OK)
		return rc;
	res = PQexec(conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_result_error(conn, res, m->name, err);
		goto out;
	}
	PQclear(res);
	res = PQexecParams(
	    conn, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = store_result_error(conn, res, "recording the migration", err);
		goto out;
	}
	rc = store_exec(conn, "COMMIT", err);
out:
	PQclear(res);
	if (rc != CN_OK)
		store_rollback(conn);
	return rc;
}

static const struct migration *find_embedded(int version)
{
	for (size_t i = 0; i < migrations_embedded_count; i++)
		if (migrations_embedded[i].version == version)
			return &migrations_embedded[i];
	return NULL;
}

static int check_recorded(PGconn *conn, size_t *recorded_out, struct cn_error *err);

int migrations_apply(PGconn *conn, int *applied_out, struct cn_error *err)
{
	size_t recorded = 0;
	int rc;
	int applied = 0;
	bool locked = false;

	*applied_out = 0;
	rc = store_exec(conn, "SELECT pg_advisory_lock(" STORE_LOCK_MIGRATIONS ")", err);
	if (rc != CN_OK)
		goto out;
	locked = true;
	rc = ensure_table(conn, err);
	if (rc != CN_OK)
		goto out;
	/* Never build on a schema this binary does not know or that was edited. */
	rc = check_recorded(conn, &recorded, err);
	if (rc != CN_OK)
		goto out;
	for (size_t i = 0; i < migrations_embedded_count; i++) {
		const struct migration *m = &migrations_embedded[i];
		bool done = false;

		rc = is_applied(conn, m->version, &done, err);
		if (rc != CN_OK)
			goto out;
		if (done)
			continue;
		rc = apply_one(conn, m, err);
		if (rc != CN_OK) {
			error_prefix(err, "migration %s failed", m->name);
			goto out;
		}
		log_info("migration_applied", "migration", m->name, NULL);
		applied++;
	}
	*applied_out = applied;
out:
	/* Session locks also end with the connection; unlock for tidiness. */
	if (locked &&
	    store_exec(conn, "SELECT pg_advisory_unlock(" STORE_LOCK_MIGRATIONS ")", err) != CN_OK)
		log_warn("migration_unlock_failed", "error", err->message, NULL);
	return rc;
}

/* Every recorded migration must be one of ours, unchanged. */
static int check_recorded(PGconn *conn, size_t *recorded_out, struct cn_error *err)
{
	PGresult *res;
	int rc = CN_OK;
	size_t recorded = 0;

	*recorded_out = 0;
	res =
	    PQexec(conn, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state != NULL && strcmp(state, "42P01") == 0) {
			error_set(err,
			          "the database has no schema yet: run `bookto-moneybird migrate`");
			rc = CN_INVALID;
		} else {
			rc = store_result_error(conn, res, "reading schema_migrations", err);
		}
		goto out;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		int version = (int)strtol(PQgetvalue(res, row, 0), NULL, 10);
		const struct migration *m = find_embedded(version);
		char checksum[65];

		if (m == NULL) {
			error_set(err,
			          "the database schema is newer than this binary (migration %s is "
			          "unknown to it): upgrade bookto-moneybird to the version that "
			          "applied it",
			          PQgetvalue(res, row, 1));
			rc = CN_INVALID;
			goto out;
		}
		sha256_hex(m->sql, m->sql_len, checksum);
		if (strcmp(checksum, PQgetvalue(res, row, 2)) != 0) {
			error_set(
			    err,
			    "migration %s in the database differs from the one this binary was "
			    "built with (checksum mismatch): restore the original migration "
			    "file or the database from a backup",
			    m->name);
			rc = CN_INVALID;
			goto out;
		}
		recorded++;
	}
	*recorded_out = recorded;
out:
	PQclear(res);
	return rc;
}

int migrations_check(PGconn *conn, struct cn_error *err)
{
	size_t recorded = 0;
	int rc = check_recorded(conn, &recorded, err);

	if (rc == CN_OK && recorded < migrations_embedded_count) {
		error_set(err,
		          "the database schema is out of date (%zu of %zu migrations applied): "
		          "run `bookto-moneybird migrate`",
		          recorded, migrations_embedded_count);
		rc = CN_INVALID;
	}
	return rc;
}
