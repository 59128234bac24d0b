#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock_after.h"
#include "text.h"

struct store_pool {
	pthread_mutex_t mutex;
	pthread_cond_t released;
	char *conninfo;
	int size;
	int open_count; /* connections handed out or idle */
	PGconn **idle;  /* stack of idle connections */
	int idle_count;
};

static void notice_ignore(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int store_connect(const char *conninfo, PGconn **out, struct cn_error *err)
{
	/* Our defaults come first so a conninfo that sets its own wins. TCP
	 * keepalives and tcp_user_timeout notice a peer that went away (a
	 * network partition, a dead host) within about 20 s, where the
	 * kernel's defaults would wait for two hours or a quarter of one. */
	const char *keywords[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
	                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	                          "application_name",    "dbname",           NULL};
	const char *values[] = {"5",      "1", "10", "3", "3", "20000", "bookto-moneybird",
	                        conninfo, NULL};
	PGconn *conn;

	*out = NULL;
	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL) {
		error_set(err, "cannot allocate a database connection");
		return CN_ERR;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		char message[300];
		size_t len;

		snprintf(message, sizeof(message), "%s", PQerrorMessage(conn));
		len = strlen(message);
		while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' '))
			message[--len] = '\0';
		error_set(err, "cannot connect to PostgreSQL: %s", message);
		PQfinish(conn);
		return CN_RETRYABLE;
	}
	PQsetNoticeProcessor(conn, notice_ignore, NULL);
	*out = conn;
	return CN_OK;
}

int store_pool_create(const char *conninfo, int size, struct store_pool **out, struct cn_error *err)
{
	struct store_pool *pool = calloc(1, sizeof(*pool));

	*out = NULL;
	if (pool == NULL || size < 1)
		goto fail;
	pool->conninfo = strdup(conninfo);
	pool->idle = calloc((size_t)size, sizeof(*pool->idle));
	if (pool->conninfo == NULL || pool->idle == NULL)
		goto fail;
	pool->size = size;
	pthread_mutex_init(&pool->mutex, NULL);
	pthread_cond_init(&pool->released, NULL);
	*out = pool;
	return CN_OK;
fail:
	if (pool != NULL) {
		free(pool->conninfo);
		free(pool->idle);
		free(pool);
	}
	error_set(err, "cannot create the database pool");
	return CN_ERR;
}

void store_pool_free(struct store_pool *pool)
{
	if (pool == NULL)
		return;
	for (int i = 0; i < pool->idle_count; i++)
		PQfinish(pool->idle[i]);
	pthread_mutex_destroy(&pool->mutex);
	pthread_cond_destroy(&pool->released);
	free(pool->idle);
	free(pool->conninfo);
	free(pool);
}

/* ---- deadlines ---- */

static pthread_mutex_t deadline_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct store_deadline *deadline_list; /* guarded by deadline_mutex */
static bool deadline_thread_started;         /* guarded by deadline_mutex */

static bool time_reached(const struct timespec *now, const struct timespec *at)
{
	return now->tv_sec > at->tv_sec ||
	       (now->tv_sec == at->tv_sec && now->tv_nsec >= at->tv_nsec);
}

/* Checks the armed deadlines ten times a second, for the life of the process. */
static void *deadline_main(void *arg)
{
	const struct timespec tick = {0, 100000000L};

	(void)arg;
	for (;;) {
		struct timespec now;
		struct store_deadline **link;

		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&deadline_mutex);
		link = &deadline_list;
		while (*link != NULL) {
			struct store_deadline *deadline = *link;

			if (!time_reached(&now, &deadline->at)) {
				link = &deadline->next;
				continue;
			}
			/* shutdown, not close: the descriptor stays libpq's. */
			if (PQsocket(deadline->conn) >= 0)
				(void)shutdown(PQsocket(deadline->conn), SHUT_RDWR);
			deadline->fired = true;
			deadline->armed = false;
			*link = deadline->next;
		}
		pthread_mutex_unlock(&deadline_mutex);
	}
	return NULL;
}

void store_deadline_arm(struct store_deadline *deadline, PGconn *conn, int ms)
{
	memset(deadline, 0, sizeof(*deadline));
	if (conn == NULL)
		return;
	deadline->conn = conn;
	deadline->at = clock_after_ms(CLOCK_MONOTONIC, ms);
	pthread_mutex_lock(&deadline_mutex);
	if (!deadline_thread_started) {
		pthread_t thread;
		pthread_attr_t attributes;

		pthread_attr_init(&attributes);
		pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
		deadline_thread_started =
		    pthread_create(&thread, &attributes, deadline_main, NULL) == 0;
		pthread_attr_destroy(&attributes);
	}
	deadline->armed = true;
	deadline->next = deadline_list;
	deadline_list = deadline;
	pthread_mutex_unlock(&deadline_mutex);
}

bool store_deadline_disarm(struct store_deadline *deadline)
{
	bool fired;

	pthread_mutex_lock(&deadline_mutex);
	if (deadline->armed) {
		for (struct store_deadline **link = &deadline_list; *link != NULL;
		     link = &(*link)->next) {
			if (*link == deadline) {
				*link = deadline->next;
				break;
			}
		}
		deadline->armed = false;
	}
	fired = deadline->fired;
	pthread_mutex_unlock(&deadline_mutex);
	return fired;
}

bool store_conn_broken(PGconn *conn)
{
	return conn == NULL || PQstatus(conn) != CONNECTION_OK;
}

int store_pool_acquire(struct store_pool *pool, int wait_ms, PGconn **out, struct cn_error *err)
{
	struct timespec deadline = clock_after_ms(CLOCK_REALTIME, wait_ms);
	PGconn *conn = NULL;
	int rc;

	*out = NULL;

	pthread_mutex_lock(&pool->mutex);
	while (pool->idle_count == 0 && pool->open_count >= pool->size) {
		if (pthread_cond_timedwait(&pool->released, &pool->mutex, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&pool->mutex);
			error_set(err, "all %d database connections are busy", pool->size);
			return CN_RETRYABLE;
		}
	}
	if (pool->idle_count > 0)
		conn = pool->idle[--pool->idle_count];
	else
		pool->open_count++;
	pthread_mutex_unlock(&pool->mutex);

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		*out = conn;
		return CN_OK;
	}
	if (conn != NULL)
		PQfinish(conn);
	rc = store_connect(pool->conninfo, &conn, err);
	if (rc != CN_OK) {
		pthread_mutex_lock(&pool->mutex);
		pool->open_count--;
		pthread_cond_signal(&pool->released);
		pthread_mutex_unlock(&pool->mutex);
		return rc;
	}
	*out = conn;
	return CN_OK;
}

void store_pool_release(struct store_pool *pool, PGconn *conn, bool broken)
{
	if (conn == NULL)
		return;
	/* A connection left inside a transaction must not be reused as is. */
	if (!broken && PQtransactionStatus(conn) != PQTRANS_IDLE)
		broken = true;
	pthread_mutex_lock(&pool->mutex);
	if (broken || store_conn_broken(conn)) {
		PQfinish(conn);
		pool->open_count--;
	} else {
		pool->idle[pool->idle_count++] = conn;
	}
	pthread_cond_signal(&pool->released);
	pthread_mutex_unlock(&pool->mutex);
}

int store_result_error(PGconn *conn, PGresult *result, const char *what, struct cn_error *err)
{
	const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
	const char *primary =
	    result != NULL ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (primary == NULL || primary[0] == '\0')
		primary = conn != NULL ? PQerrorMessage(conn) : "no connection";
	error_set(err, "%s: %s", what, primary);
	/* Drop a trailing newline libpq leaves in connection-level messages. */
	if (err != NULL) {
		size_t len = strlen(err->message);
		while (len > 0 && err->message[len - 1] == '\n')
			err->message[--len] = '\0';
	}
	if (store_conn_broken(conn))
		return CN_RETRYABLE;
	if (state == NULL)
		return CN_RETRYABLE;
	if (strcmp(state, "23505") == 0)
		return CN_DUPLICATE;
	/* serialization failure, deadlock, admin shutdown, cannot connect now */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "08", 2) == 0)
		return CN_RETRYABLE;
	return CN_ERR;
}

int store_query(PGconn *conn, const char *sql, int n, const char *const *values, const char *what,
                PGresult **out, struct cn_error *err)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
	ExecStatusType status = PQresultStatus(res);

	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
		int rc = store_result_error(conn, res, what, err);

		PQclear(res);
		if (out != NULL)
			*out = NULL;
		return rc;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return CN_OK;
}

int store_query_row(PGconn *conn, const char *sql, int n, const char *const *values,
                    const char *what, PGresult **out, struct cn_error *err)
{
	int rc = store_query(conn, sql, n, values, what, out, err);

	if (rc != CN_OK)
		return rc;
	if (PQntuples(*out) != 1) {
		PQclear(*out);
		*out = NULL;
		error_set(err, "%s: no row", what);
		return CN_NOT_FOUND;
	}
	return CN_OK;
}

int store_query_int64(PGconn *conn, const char *sql, int n, const char *const *values,
                      const char *what, int64_t *out, struct cn_error *err)
{
	PGresult *res = NULL;
	int rc = store_query(conn, sql, n, values, what, &res, err);

	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) < 1) {
		error_set(err, "%s: no row", what);
		rc = CN_ERR;
	} else {
		*out = text_int64(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

const char *store_number_text(struct store_number *number, int64_t n)
{
	snprintf(number->text, sizeof(number->text), "%" PRId64, n);
	return number->text;
}

int store_query_int64_by_id(PGconn *conn, const char *sql, int64_t id, const char *what,
                            int64_t *out, struct cn_error *err)
{
	struct store_number number;
	const char *values[1] = {store_number_text(&number, id)};

	return store_query_int64(conn, sql, 1, values, what, out, err);
}

int store_command(PGconn *conn, const char *sql, int n, const char *const *values, const char *what,
                  int64_t *rows, struct cn_error *err)
{
	PGresult *res = NULL;
	int rc = store_query(conn, sql, n, values, what, &res, err);

	if (rc != CN_OK)
		return rc;
	if (rows != NULL)
		*rows = text_int64(PQcmdTuples(res));
	PQclear(res);
	return CN_OK;
}

int store_advisory_lock(PGconn *conn, const char *key, int n, const char *const *values,
                        const char *what, struct cn_error *err)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%s)", key);
	return store_query(conn, sql, n, values, what, NULL, err);
}

void store_advisory_unlock(PGconn *conn, const char *key, int n, const char *const *values,
                           const char *what)
{
	struct cn_error ignored;
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%s)", key);
	if (store_query(conn, sql, n, values, what, NULL, &ignored) != CN_OK)
		return;
}

int store_exec(PGconn *conn, const char *sql, struct cn_error *err)
{
	PGresult *res = PQexec(conn, sql);
	int rc = CN_OK;
	ExecStatusType status = PQresultStatus(res);

	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
		rc = store_result_error(conn, res, sql, err);
	PQclear(res);
	return rc;
}

void store_rollback(PGconn *conn)
{
	PGresult *res = PQexec(conn, "ROLLBACK");

	PQclear(res);
}

int store_commit_or_rollback(PGconn *conn, int rc, struct cn_error *err)
{
	if (rc == CN_OK)
		return store_exec(conn, "COMMIT", err);
	if (!store_conn_broken(conn))
		store_rollback(conn);
	return rc;
}

int store_connection_ensure(PGconn *conn, const char *name, const char *administration_id,
                            int64_t *id_out, struct cn_error *err)
{
	const char *params[2] = {name, administration_id};
	PGresult *res;
	int rc = CN_OK;

	res = PQexecParams(
	    conn,
	    "INSERT INTO connections (name, moneybird_administration_id) VALUES ($1, $2) "
	    "ON CONFLICT (name) DO UPDATE SET moneybird_administration_id = $2, "
	    "updated_at = CASE WHEN connections.moneybird_administration_id = $2 "
	    "THEN connections.updated_at ELSE now() END "
	    "RETURNING id",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_result_error(conn, res, "registering the connection", err);
		goto out;
	}
	*id_out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
out:
	PQclear(res);
	return rc;
}

/* Runs a statement on one connection id (plus optional text); no rows back. */
static int connection_update(PGconn *conn, const char *sql, int64_t connection_id, const char *text,
                             const char *what, struct cn_error *err)
{
	char id[24];
	const char *params[2] = {id, text};
	PGresult *res;
	int rc = CN_OK;

	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	res = PQexecParams(conn, sql, text != NULL ? 2 : 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = store_result_error(conn, res, what, err);
	PQclear(res);
	return rc;
}

int store_connection_pause(PGconn *conn, int64_t connection_id, const char *reason,
                           struct cn_error *err)
{
	return connection_update(
	    conn,
	    "WITH paused AS (UPDATE connections SET paused_at = coalesce(paused_at, now()),"
	    " paused_reason = $2, updated_at = now() WHERE id = $1 AND paused_at IS NULL"
	    " RETURNING id)"
	    " " STORE_AUDIT_INSERT " SELECT 'worker', 'connection_paused', id, NULL, NULL, NULL,"
	    " '{}'::jsonb FROM paused",
	    connection_id, reason, "pausing the connection", err);
}

int store_connection_resume(PGconn *conn, int64_t connection_id, struct cn_error *err)
{
	return connection_update(
	    conn,
	    "WITH resumed AS (UPDATE connections SET paused_at = NULL, paused_reason = NULL,"
	    " updated_at = now() WHERE id = $1 AND paused_at IS NOT NULL RETURNING id)"
	    " " STORE_AUDIT_INSERT " SELECT 'worker', 'connection_resumed', id, NULL, NULL, NULL,"
	    " '{}'::jsonb FROM resumed",
	    connection_id, NULL, "resuming the connection", err);
}

int store_connection_is_paused(PGconn *conn, int64_t connection_id, bool *paused,
                               struct cn_error *err)
{
	char id[24];
	const char *params[1] = {id};
	PGresult *res;
	int rc = CN_OK;

	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	res = PQexecParams(conn, "SELECT paused_at IS NOT NULL FROM connections WHERE id = $1", 1,
	                   NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_result_error(conn, res, "reading the connection", err);
	else
		*paused = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

int store_listen_jobs(PGconn *conn, struct cn_error *err)
{
	return store_exec(conn, "LISTEN " STORE_JOBS_CHANNEL, err);
}

int store_ring_jobs(PGconn *conn, struct cn_error *err)
{
	return store_exec(conn, "NOTIFY " STORE_JOBS_CHANNEL, err);
}

int store_set_statement_timeout(PGconn *conn, int ms, struct cn_error *err)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SET statement_timeout = %d", ms);
	return store_exec(conn, sql, err);
}
