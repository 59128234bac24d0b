#include "store_console.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "text.h"

/* Who a read found, a user or a session's user: row 0 of res is (id,
 * name, role, secret), the secret being the password hash or the CSRF
 * token. Copies the texts, clears res and returns the id. */
static int64_t take_identity(PGresult *res, char *name, size_t name_size, char *role,
                             size_t role_size, char *secret, size_t secret_size)
{
	int64_t id = text_int64(PQgetvalue(res, 0, 0));

	snprintf(name, name_size, "%s", PQgetvalue(res, 0, 1));
	snprintf(role, role_size, "%s", PQgetvalue(res, 0, 2));
	snprintf(secret, secret_size, "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return id;
}

int store_console_user_add(PGconn *conn, const char *name, const char *role,
                           const char *password_hash, struct cn_error *err)
{
	const char *values[3] = {name, role, password_hash};

	return store_command(
	    conn, "INSERT INTO console_users (name, role, password_hash) VALUES ($1, $2, $3)", 3,
	    values, "adding the console user", NULL, err);
}

int store_console_user_passwd(PGconn *conn, const char *name, const char *password_hash,
                              struct cn_error *err)
{
	const char *values[2] = {name, password_hash};
	int64_t rows = 0;
	int rc = store_exec(conn, "BEGIN", err);

	if (rc != CN_OK)
		return rc;
	rc = store_command(
	    conn,
	    "UPDATE console_users SET password_hash = $2, password_at = now() WHERE name = $1", 2,
	    values, "setting the password", &rows, err);
	if (rc == CN_OK && rows == 0) {
		error_set(err, "there is no console user named %s", name);
		rc = CN_NOT_FOUND;
	}
	if (rc == CN_OK)
		rc = store_command(conn,
		                   "DELETE FROM console_sessions WHERE user_id = "
		                   "(SELECT id FROM console_users WHERE name = $1)",
		                   1, values, "ending the user's sessions", NULL, err);
	return store_commit_or_rollback(conn, rc, err);
}

int store_console_user_remove(PGconn *conn, const char *name, struct cn_error *err)
{
	const char *values[1] = {name};
	int64_t rows = 0;
	int rc = store_command(conn, "DELETE FROM console_users WHERE name = $1", 1, values,
	                       "removing the console user", &rows, err);

	if (rc == CN_OK && rows == 0) {
		error_set(err, "there is no console user named %s", name);
		return CN_NOT_FOUND;
	}
	return rc;
}

int store_console_user_list(PGconn *conn, struct store_ops_table *out, struct cn_error *err)
{
	return store_ops_query(
	    conn,
	    "SELECT name, role, "
	    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS "
	    "created_at, "
	    "to_char(last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " AS last_login_at FROM console_users ORDER BY name",
	    0, NULL, "listing the console users", out, err);
}

int store_console_user_get(PGconn *conn, const char *name, struct store_console_user *out,
                           struct cn_error *err)
{
	const char *values[1] = {name};
	PGresult *res = NULL;
	int rc = store_query_row(
	    conn, "SELECT id, name, role, password_hash FROM console_users WHERE name = $1", 1,
	    values, "reading the console user", &res, err);

	memset(out, 0, sizeof(*out));
	if (rc == CN_OK)
		out->id =
		    take_identity(res, out->name, sizeof(out->name), out->role, sizeof(out->role),
		                  out->password_hash, sizeof(out->password_hash));
	return rc;
}

int store_console_session_create(PGconn *conn, int64_t user_id, const char *id_sha256,
                                 const char *csrf_token, int minutes, struct cn_error *err)
{
	char user[24], minutes_text[24];
	const char *values[4] = {user, id_sha256, csrf_token, minutes_text};
	int rc;

	snprintf(user, sizeof(user), "%" PRId64, user_id);
	snprintf(minutes_text, sizeof(minutes_text), "%d", minutes);
	rc = store_command(conn, "DELETE FROM console_sessions WHERE expires_at < now()", 0, NULL,
	                   "pruning expired sessions", NULL, err);
	if (rc == CN_OK)
		rc = store_command(
		    conn,
		    "WITH s AS (INSERT INTO console_sessions (id_sha256, user_id, csrf_token,"
		    " expires_at) VALUES ($2, $1, $3, now() + make_interval(mins => $4::int))"
		    " RETURNING user_id)"
		    " UPDATE console_users SET last_login_at = now() WHERE id IN "
		    "(SELECT user_id FROM s)",
		    4, values, "creating the session", NULL, err);
	return rc;
}

int store_console_session_get(PGconn *conn, const char *id_sha256,
                              struct store_console_session *out, struct cn_error *err)
{
	const char *values[1] = {id_sha256};
	PGresult *res = NULL;
	int rc = store_query_row(conn,
	                         "SELECT u.id, u.name, u.role, s.csrf_token FROM console_sessions s"
	                         " JOIN console_users u ON u.id = s.user_id"
	                         " WHERE s.id_sha256 = $1 AND s.expires_at > now()",
	                         1, values, "reading the session", &res, err);

	memset(out, 0, sizeof(*out));
	if (rc == CN_OK)
		out->user_id =
		    take_identity(res, out->user, sizeof(out->user), out->role, sizeof(out->role),
		                  out->csrf_token, sizeof(out->csrf_token));
	return rc;
}

int store_console_session_delete(PGconn *conn, const char *id_sha256, struct cn_error *err)
{
	const char *values[1] = {id_sha256};

	return store_command(conn, "DELETE FROM console_sessions WHERE id_sha256 = $1", 1, values,
	                     "ending the session", NULL, err);
}

int store_console_login_failures(PGconn *conn, const char *username, const char *address,
                                 int window_seconds, int64_t *by_user, int64_t *by_address,
                                 struct cn_error *err)
{
	char window[24];
	const char *values[3] = {username, address, window};
	PGresult *res = NULL;
	int rc;

	snprintf(window, sizeof(window), "%d", window_seconds);
	rc = store_query(conn,
	                 "SELECT count(*) FILTER (WHERE username = $1),"
	                 " count(*) FILTER (WHERE address = $2) FROM console_login_failures"
	                 " WHERE at > now() - make_interval(secs => $3::int)"
	                 " AND (username = $1 OR address = $2)",
	                 3, values, "counting failed logins", &res, err);
	if (rc != CN_OK)
		return rc;
	*by_user = text_int64(PQgetvalue(res, 0, 0));
	*by_address = text_int64(PQgetvalue(res, 0, 1));
	PQclear(res);
	return CN_OK;
}

int store_console_login_failed(PGconn *conn, const char *username, const char *address,
                               struct cn_error *err)
{
	const char *values[2] = {username, address};
	int rc = store_command(
	    conn, "DELETE FROM console_login_failures WHERE at < now() - interval '1 day'", 0, NULL,
	    "pruning failed logins", NULL, err);

	if (rc == CN_OK)
		rc = store_command(
		    conn, "INSERT INTO console_login_failures (username, address) VALUES ($1, $2)",
		    2, values, "recording a failed login", NULL, err);
	return rc;
}

int store_console_audit(PGconn *conn, const char *actor, const char *action, int64_t connection_id,
                        const char *connection_name, struct cn_error *err)
{
	char id[24];
	const char *values[4] = {actor, action, id, connection_name};

	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	return store_command(conn,
	                     STORE_AUDIT_INSERT
	                     " SELECT $1, $2, NULLIF($3::bigint, 0), NULL, NULL, NULL,"
	                     " jsonb_build_object('connection', $4::text)",
	                     4, values, "auditing the console action", NULL, err);
}
