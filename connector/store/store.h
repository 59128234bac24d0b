/*
 * PostgreSQL access. Every SQL statement of the connector lives in a store_*.c
 * file; callers get typed functions, never SQL. A small pool hands out
 * connections to handler and worker threads. Connection failures are reported
 * as CN_RETRYABLE so callers can fall back (the intake spools) or back off.
 */
#ifndef BM_STORE_H
#define BM_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

struct store_pool;

/* Opens one connection (connect_timeout 5 s, TCP keepalives 10 s idle then
 * every 3 s, 3 probes, tcp_user_timeout 20 s, each unless the conninfo sets
 * its own).
 * *out is owned by the caller (PQfinish). CN_RETRYABLE when unreachable. */
int store_connect(const char *conninfo, PGconn **out, struct cn_error *err) MUST_CHECK;

/* A pool of up to `size` lazily opened connections. */
int store_pool_create(const char *conninfo, int size, struct store_pool **out,
                      struct cn_error *err) MUST_CHECK;
void store_pool_free(struct store_pool *pool);

/* Borrows a healthy connection (reconnecting a broken one); waits at most
 * wait_ms for a free slot. CN_RETRYABLE when the database is unreachable. */
int store_pool_acquire(struct store_pool *pool, int wait_ms, PGconn **out,
                       struct cn_error *err) MUST_CHECK;
/* Returns a connection; a broken one (or broken=true) is closed instead. */
void store_pool_release(struct store_pool *pool, PGconn *conn, bool broken);

/*
 * A bound on blocking statements. libpq waits for an answer without limit,
 * and a stalled server (frozen backends; a peer that still ACKs but never
 * answers) defeats both statement_timeout and TCP keepalives. Armed, a
 * watchdog thread shuts the connection's socket down once ms have passed, so
 * whatever libpq call is blocked on it returns with the connection broken.
 * Disarm returns true when it fired (the caller must then drop conn).
 */
struct store_deadline {
	PGconn *conn;
	struct timespec at; /* CLOCK_MONOTONIC */
	bool fired;
	bool armed;
	struct store_deadline *next;
};

void store_deadline_arm(struct store_deadline *deadline, PGconn *conn, int ms);
bool store_deadline_disarm(struct store_deadline *deadline);

/* True when the last failure on conn means the connection itself is gone. */
bool store_conn_broken(PGconn *conn);

/*
 * Runs one parameterised statement (text parameters). On success *out (if
 * not NULL) is the TUPLES_OK or COMMAND_OK result for the caller to PQclear;
 * on failure it is NULL and err reads "what: PostgreSQL's message", with the
 * status of store_result_error.
 */
int store_query(PGconn *conn, const char *sql, int n, const char *const *values, const char *what,
                PGresult **out, struct cn_error *err) MUST_CHECK;

/* store_query for a statement that yields one row whose first column is an
 * integer (a count, an id, an age); no row is an error "what: no row". */
int store_query_int64(PGconn *conn, const char *sql, int n, const char *const *values,
                      const char *what, int64_t *out, struct cn_error *err) MUST_CHECK;

/* Room for an integer written out as a statement's text parameter. */
struct store_number {
	char text[24];
};

/* n as decimal text in number; returns number->text for a values[] slot. */
const char *store_number_text(struct store_number *number, int64_t n);

/* store_query_int64 for a statement whose one parameter ($1) is a row id
 * (an order, a connection): spares each caller formatting the id as text. */
int store_query_int64_by_id(PGconn *conn, const char *sql, int64_t id, const char *what,
                            int64_t *out, struct cn_error *err) MUST_CHECK;

/* store_query for a statement that must yield exactly one row: any other
 * count is CN_NOT_FOUND with err "what: no row" and *out NULL; on CN_OK *out
 * is the result for the caller to PQclear. */
int store_query_row(PGconn *conn, const char *sql, int n, const char *const *values,
                    const char *what, PGresult **out, struct cn_error *err) MUST_CHECK;

/* store_query for a statement whose success is all that matters; *rows (if
 * not NULL) gets the number of rows it touched. */
int store_command(PGconn *conn, const char *sql, int n, const char *const *values, const char *what,
                  int64_t *rows, struct cn_error *err) MUST_CHECK;

/* Takes (waiting) the session advisory lock whose bigint key is the SQL
 * expression key over values; store_advisory_unlock gives it back (a failed
 * unlock means the connection is gone, and the lock with it). */
int store_advisory_lock(PGconn *conn, const char *key, int n, const char *const *values,
                        const char *what, struct cn_error *err) MUST_CHECK;
void store_advisory_unlock(PGconn *conn, const char *key, int n, const char *const *values,
                           const char *what);

/* Runs a statement without parameters or results (BEGIN, COMMIT, ...). */
int store_exec(PGconn *conn, const char *sql, struct cn_error *err) MUST_CHECK;

/*
 * The one place the connector's C code appends to the audit log: a statement
 * writes STORE_AUDIT_INSERT followed by a SELECT of these seven columns, in
 * this order (NULL where a column does not apply). The trigger
 * audit_log_chain() (migrations 0001, 0010) stamps id, time and hashes. The
 * intake's rows are appended in SQL by intake_store_batch() (migrations
 * 0006, 0007). Order transitions append theirs through store_orders.c.
 */
#define STORE_AUDIT_INSERT                                                                         \
	"INSERT INTO audit_log (actor, action, connection_id, order_pk, from_state, to_state,"     \
	" detail)"

/* The channel new jobs are announced on (NOTIFY from store_ops.c,
 * store_reconcile.c and store_ring_jobs()). */
#define STORE_JOBS_CHANNEL "bookto_moneybird_jobs"

/* Subscribes conn to STORE_JOBS_CHANNEL (PQnotifies then reports them). */
int store_listen_jobs(PGconn *conn, struct cn_error *err) MUST_CHECK;

/* Announces new jobs on STORE_JOBS_CHANNEL, in a transaction of its own (see
 * http/job_bell.h: the intake rings after its commits, not in them). */
int store_ring_jobs(PGconn *conn, struct cn_error *err) MUST_CHECK;

/* Sets the session's statement_timeout: the server cancels a statement that
 * runs longer than ms. */
int store_set_statement_timeout(PGconn *conn, int ms, struct cn_error *err) MUST_CHECK;

/* Rolls back an open transaction; a failure only matters if the connection
 * is broken, which store_pool_release notices. */
void store_rollback(PGconn *conn);
/* Ends the open transaction by how its statements went: COMMIT when rc is
 * CN_OK (its failure is the result), else ROLLBACK and rc again; a broken
 * connection has nothing to roll back. */
int store_commit_or_rollback(PGconn *conn, int rc, struct cn_error *err) MUST_CHECK;

/*
 * Makes sure each configured connection has its row (by name) and records the
 * Moneybird administration it books into. Sets *id_out to the row's id.
 */
int store_connection_ensure(PGconn *conn, const char *name, const char *administration_id,
                            int64_t *id_out, struct cn_error *err) MUST_CHECK;

/* A 401 from Moneybird pauses a connection's work until its token works. */
int store_connection_pause(PGconn *conn, int64_t connection_id, const char *reason,
                           struct cn_error *err) MUST_CHECK;
int store_connection_resume(PGconn *conn, int64_t connection_id, struct cn_error *err) MUST_CHECK;
int store_connection_is_paused(PGconn *conn, int64_t connection_id, bool *paused,
                               struct cn_error *err) MUST_CHECK;

/* Converts a failed PGresult/connection into err; returns CN_RETRYABLE when
 * the connection is broken or the error is a serialization/deadlock/shutdown
 * one, CN_DUPLICATE for unique violations, CN_ERR otherwise. */
int store_result_error(PGconn *conn, PGresult *result, const char *what,
                       struct cn_error *err) MUST_CHECK;

#endif
