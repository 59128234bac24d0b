/*
 * The console's SQL: its users (name, role, password hash), their
 * server-side sessions (the SHA-256 of the browser's session id, the CSRF
 * token, the expiry), failed logins for the rate limit, the audit rows of
 * console actions, and the reads its pages need beyond `status` and `show`
 * (a filtered, paged order list; a buyer's and product's text; recent
 * reconcile runs and their differences). Tables: migrations/0013_console.sql.
 */
#ifndef BM_STORE_CONSOLE_H
#define BM_STORE_CONSOLE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "store_ops.h"

#define STORE_CONSOLE_NAME_MAX 65
#define STORE_CONSOLE_HASH_MAX 200

struct store_console_user {
	int64_t id;
	char name[STORE_CONSOLE_NAME_MAX];
	char role[16]; /* viewer | operator */
	char password_hash[STORE_CONSOLE_HASH_MAX];
};

/* CN_DUPLICATE when the name is taken. */
int store_console_user_add(PGconn *conn, const char *name, const char *role,
                           const char *password_hash, struct cn_error *err) MUST_CHECK;
/* Sets the hash and ends the user's sessions, in one transaction;
 * CN_NOT_FOUND for an unknown name. */
int store_console_user_passwd(PGconn *conn, const char *name, const char *password_hash,
                              struct cn_error *err) MUST_CHECK;
/* Removes the user and (cascade) their sessions; CN_NOT_FOUND when unknown. */
int store_console_user_remove(PGconn *conn, const char *name, struct cn_error *err) MUST_CHECK;
/* Columns: name, role, created_at, last_login_at (ISO UTC), by name. */
int store_console_user_list(PGconn *conn, struct store_ops_table *out,
                            struct cn_error *err) MUST_CHECK;
/* CN_NOT_FOUND for an unknown name. */
int store_console_user_get(PGconn *conn, const char *name, struct store_console_user *out,
                           struct cn_error *err) MUST_CHECK;

/* A new session for user_id lasting `minutes`; stamps last_login_at and
 * prunes expired sessions. */
int store_console_session_create(PGconn *conn, int64_t user_id, const char *id_sha256,
                                 const char *csrf_token, int minutes,
                                 struct cn_error *err) MUST_CHECK;

struct store_console_session {
	int64_t user_id;
	char user[STORE_CONSOLE_NAME_MAX];
	char role[16];
	char csrf_token[80];
};
/* The unexpired session with that id hash; CN_NOT_FOUND otherwise. */
int store_console_session_get(PGconn *conn, const char *id_sha256,
                              struct store_console_session *out, struct cn_error *err) MUST_CHECK;
int store_console_session_delete(PGconn *conn, const char *id_sha256,
                                 struct cn_error *err) MUST_CHECK;

/* Failed logins in the last window_seconds naming username, and from
 * address. */
int store_console_login_failures(PGconn *conn, const char *username, const char *address,
                                 int window_seconds, int64_t *by_user, int64_t *by_address,
                                 struct cn_error *err) MUST_CHECK;
/* Records one failed login (and prunes rows older than a day). */
int store_console_login_failed(PGconn *conn, const char *username, const char *address,
                               struct cn_error *err) MUST_CHECK;

/* One audit row of a console action not tied to one order (e.g. a
 * reconcile started): actor "console:NAME", detail {"connection": ...}. */
int store_console_audit(PGconn *conn, const char *actor, const char *action, int64_t connection_id,
                        const char *connection_name, struct cn_error *err) MUST_CHECK;

#endif
