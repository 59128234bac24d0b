#include "queue.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "store.h"
#include "store_orders.h"

int64_t queue_backoff_seconds(int64_t base_seconds, int attempt, double random_unit)
{
	int64_t step = base_seconds < 1 ? 1 : base_seconds;

	for (int i = 1; i < attempt && step < QUEUE_BACKOFF_CAP_SECONDS; i++)
		step *= 2;
	if (step > QUEUE_BACKOFF_CAP_SECONDS)
		step = QUEUE_BACKOFF_CAP_SECONDS;
	if (random_unit < 0.0)
		random_unit = 0.0;
	if (random_unit >= 1.0)
		random_unit = 0.999999;
	/* "Equal jitter": never less than half the step, so retries still
	 * spread out without collapsing onto each other. */
	return step / 2 + (int64_t)((double)(step - step / 2) * random_unit);
}

/*
 * The connections with a pending job, found by skipping through
 * jobs_connection_due_idx one connection at a time (a loose index scan): the
 * cost follows the connections with work, not all configured ones, nor the
 * size of any backlog.
 */
/* The job row only while this worker still holds its lease (owner and
 * generation match): a lease that expired and was taken over is never
 * touched, and no row back tells the caller so. */
#define STILL_LEASED " WHERE id = $1 AND lease_owner = $2 AND lease_generation = $3 RETURNING id"

/* A job's step ends by giving the lease back, with set (ending in a comma)
 * saying what else the step changes on the job. */
#define GIVE_BACK_LEASE(set)                                                                       \
	"UPDATE jobs SET " set                                                                     \
	" lease_owner = NULL, lease_expires_at = NULL, updated_at = now()" STILL_LEASED

#define ACTIVE_CONNECTIONS_SQL                                                                     \
	"active(cid) AS ("                                                                         \
	" (SELECT connection_id FROM jobs WHERE state = 'pending' AND connection_id IS NOT NULL"   \
	"  ORDER BY connection_id LIMIT 1)"                                                        \
	" UNION ALL SELECT (SELECT j.connection_id FROM jobs j WHERE j.state = 'pending'"          \
	"  AND j.connection_id > a.cid ORDER BY j.connection_id LIMIT 1)"                          \
	" FROM active a WHERE a.cid IS NOT NULL)"

/*
 * The claim's two steps as one statement. First the connection: among the
 * unpaused ones with a due job whose rate budget can pay for one more job
 * (calls free now, less QUEUE_CLAIM_CALLS_PER_JOB for each job of it already
 * in flight, leaves at least one), the one claimed from longest ago
 * (round-robin). Then its next job by priority and due time. Every probe is
 * an index lookup per connection (jobs_connection_*_idx, rate_budget_calls'
 * window), so a backlog waiting for its budget is neither read nor written.
 */
static const char CLAIM_SQL[] =
    "WITH RECURSIVE " ACTIVE_CONNECTIONS_SQL ","
    " pick AS ("
    " SELECT w.id FROM ("
    /* Connections with a due job: LIMIT 1 per connection keeps it an index
     * probe (a semi-join would hash the whole backlog); OFFSET 0 keeps the
     * budget check, the dearest condition, for these alone. */
    "  SELECT c.id, cc.budget_key, cc.budget_requests, cc.budget_window,"
    "  coalesce(cc.last_claimed_at, '-infinity') AS last_claimed_at"
    "  FROM active a JOIN connections c ON c.id = a.cid"
    "  LEFT JOIN connection_claims cc ON cc.connection_id = c.id"
    "  CROSS JOIN LATERAL (SELECT 1 FROM jobs r WHERE r.connection_id = c.id"
    "   AND r.state = 'pending' AND r.next_attempt_at <= now()"
    "   AND (r.lease_expires_at IS NULL OR r.lease_expires_at < now())"
    "   ORDER BY r.connection_id, r.next_attempt_at LIMIT 1) due"
    "  WHERE c.paused_at IS NULL OFFSET 0) w"
    " WHERE ($4::int = 0 OR (SELECT count(*) FROM jobs m WHERE m.connection_id = w.id"
    "   AND m.state = 'pending' AND m.lease_owner IS NOT NULL"
    "   AND m.lease_expires_at >= now() AND starts_with(m.lease_owner, $5)) < $4::int)"
    " AND claim_budget_free(w.budget_key, w.budget_requests, w.budget_window)"
    "  - $3::int * (SELECT count(*) FROM jobs l WHERE l.connection_id = w.id"
    "   AND l.state = 'pending' AND l.lease_owner IS NOT NULL"
    "   AND l.lease_expires_at >= now()) >= 1"
    " ORDER BY w.last_claimed_at, w.id LIMIT 1),"
    " candidate AS ("
    " SELECT j.id FROM jobs j"
    " WHERE j.connection_id = (SELECT id FROM pick) AND j.state = 'pending'"
    " AND j.next_attempt_at <= now()"
    " AND (j.lease_expires_at IS NULL OR j.lease_expires_at < now())"
    " ORDER BY j.connection_id, j.priority, j.next_attempt_at"
    " LIMIT 1 FOR UPDATE OF j SKIP LOCKED),"
    " claimed AS (UPDATE jobs j SET lease_owner = $1,"
    " lease_expires_at = now() + make_interval(secs => $2::int),"
    " attempts = j.attempts + 1, lease_generation = j.lease_generation + 1,"
    " updated_at = now()"
    " FROM candidate WHERE j.id = candidate.id"
    " RETURNING j.id, j.order_pk, j.kind, j.attempts, coalesce(j.step, '') AS step,"
    " j.connection_id, j.lease_generation)"
    /* Always one row: the job claimed, if any, and whether a connection was
     * picked at all (when it was but its jobs were taken, look again). */
    " SELECT u.id, u.order_pk, u.kind, u.attempts, u.step, u.connection_id,"
    " u.lease_generation, (SELECT count(*) FROM pick) AS picked"
    " FROM (SELECT 1) one LEFT JOIN claimed u ON true";

/* The claimed job's connection goes to the back of the round-robin. */
static int rotate_connection(PGconn *conn, int64_t connection_id, struct cn_error *err)
{
	char id[24];
	const char *values[1] = {id};

	snprintf(id, sizeof(id), "%" PRId64, connection_id);
	return store_query(conn,
	                   "INSERT INTO connection_claims (connection_id, last_claimed_at)"
	                   " VALUES ($1, clock_timestamp()) ON CONFLICT (connection_id)"
	                   " DO UPDATE SET last_claimed_at = EXCLUDED.last_claimed_at",
	                   1, values, "rotating the claim order", NULL, err);
}

static int mark_claimed(PGconn *conn, const char *owner, const struct queue_job *job,
                        struct cn_error *err)
{
	char job_id[24];
	const char *params[2] = {owner, job_id};
	struct store_order_transition claimed = {
	    job->order_pk,
	    "'in_progress'",
	    "attempts = attempts + 1",
	    false,
	    {"'worker'", "'claimed'", NULL,
	     "jsonb_build_object('job_id', $3::bigint, 'worker', $2::text)", NULL},
	    2,
	    params,
	    "marking the order in progress"};
	int rc = rotate_connection(conn, job->connection_id, err);

	if (rc != CN_OK)
		return rc;
	snprintf(job_id, sizeof(job_id), "%" PRId64, job->id);
	return store_order_transition(conn, &claimed, NULL, err);
}

/* The process's part of an owner ("host:pid:nonce:"), which prefixes the
 * owner of every lease this process holds. */
static void owner_process(const char *owner, char out[QUEUE_OWNER_MAX])
{
	const char *last_colon = strrchr(owner, ':');

	snprintf(out, QUEUE_OWNER_MAX, "%.*s",
	         last_colon != NULL ? (int)(last_colon - owner + 1) : (int)strlen(owner), owner);
}

/* One claim attempt; CN_NOT_FOUND when none is ready, with *look_again set
 * when the picked connection's due jobs were all taken by concurrent claims.
 * A failure is returned as it is: CN_RETRYABLE then means the database
 * connection is lost, never "look again". */
static int claim_once(PGconn *conn, const char *owner, int lease_seconds, int max_in_flight,
                      struct queue_job *job, bool *look_again, struct cn_error *err)
{
	char lease[16], calls[16], cap[16], process[QUEUE_OWNER_MAX];
	const char *values[5] = {owner, lease, calls, cap, process};
	PGresult *res = NULL;
	int rc;

	snprintf(lease, sizeof(lease), "%d", lease_seconds);
	snprintf(calls, sizeof(calls), "%d", QUEUE_CLAIM_CALLS_PER_JOB);
	snprintf(cap, sizeof(cap), "%d", max_in_flight > 0 ? max_in_flight : 0);
	owner_process(owner, process);
	memset(job, 0, sizeof(*job));
	*look_again = false;
	rc = store_exec(conn, "BEGIN", err);
	if (rc != CN_OK)
		return rc;
	rc = store_query(conn, CLAIM_SQL, 5, values, "claiming a job", &res, err);
	if (rc != CN_OK)
		goto out;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		/* Nothing due with budget to spend: final. A picked connection
		 * whose due jobs concurrent claims took: worth another look. */
		bool picked = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 7), "0") != 0;

		PQclear(res);
		rc = store_exec(conn, "COMMIT", err);
		if (rc != CN_OK)
			return rc;
		*look_again = picked;
		return CN_NOT_FOUND;
	}
	job->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	job->order_pk = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	snprintf(job->kind, sizeof(job->kind), "%s", PQgetvalue(res, 0, 2));
	job->attempts = (int)strtol(PQgetvalue(res, 0, 3), NULL, 10);
	snprintf(job->step, sizeof(job->step), "%s", PQgetvalue(res, 0, 4));
	job->connection_id = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	job->lease_generation = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	PQclear(res);
	rc = mark_claimed(conn, owner, job, err);
out:
	return store_commit_or_rollback(conn, rc, err);
}

int queue_claim(PGconn *conn, const char *owner, int lease_seconds, int max_in_flight,
                struct queue_job *job, struct cn_error *err)
{
	int rc = CN_NOT_FOUND;
	bool look_again = false;

	/* Concurrent claims may pick the same connection and find its last due
	 * job locked; a second look picks again from the others. */
	for (int i = 0; i < QUEUE_CLAIM_TRIES; i++) {
		rc = claim_once(conn, owner, lease_seconds, max_in_flight, job, &look_again, err);
		if (!look_again)
			return rc;
	}
	return CN_NOT_FOUND;
}

int queue_extend_lease(PGconn *conn, const struct queue_job *job, const char *owner,
                       int lease_seconds, struct cn_error *err)
{
	char job_id[24], lease[16], generation[24];
	const char *values[4] = {job_id, owner, generation, lease};
	PGresult *res = NULL;
	int rc;

	snprintf(job_id, sizeof(job_id), "%" PRId64, job->id);
	snprintf(generation, sizeof(generation), "%" PRId64, job->lease_generation);
	snprintf(lease, sizeof(lease), "%d", lease_seconds);
	rc = store_query(conn,
	                 "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => "
	                 "$4::int)" STILL_LEASED,
	                 4, values, "extending the lease", &res, err);
	if (rc != CN_OK)
		return rc;
	rc = PQntuples(res) == 1 ? CN_OK : CN_NOT_FOUND;
	if (rc == CN_NOT_FOUND)
		error_set(err, "the lease on job %" PRId64 " was lost", job->id);
	PQclear(res);
	return rc;
}

void queue_owner_format(char out[QUEUE_OWNER_MAX], const char *host, long pid, const char *nonce,
                        int index)
{
	snprintf(out, QUEUE_OWNER_MAX, "%.40s:%ld:%.32s:%d", host, pid, nonce, index);
}

/*
 * One transition: updates the job (guarded by the lease and its generation) and the order, and
 * appends the audit row, in one transaction. CN_NOT_FOUND when the lease was
 * lost (another worker took the job after it expired): nothing is changed.
 * give_back undoes the claim's count on the order too (the job SQL does it
 * for the job).
 */
static int transition(PGconn *conn, const struct queue_job *job, const char *owner,
                      const char *job_sql, const char *job_param, const char *order_state,
                      const char *action, const char *reason, bool give_back, struct cn_error *err)
{
	char job_id[24], generation[24];
	const char *job_values[4] = {job_id, owner, generation, job_param};
	const char *order_values[5] = {order_state, reason, action, job_id, give_back ? "1" : "0"};
	struct store_order_transition moved = {
	    job->order_pk,
	    "$2",
	    "last_error = $3, synced_at = CASE WHEN $2 = 'synced' THEN now() ELSE synced_at END,"
	    " attempts = greatest(attempts - $6::int, 0)",
	    false,
	    {"'worker'", "$4", NULL, "jsonb_build_object('job_id', $5::bigint)", NULL},
	    5,
	    order_values,
	    "updating the order"};
	PGresult *res = NULL;
	int rc;

	snprintf(job_id, sizeof(job_id), "%" PRId64, job->id);
	snprintf(generation, sizeof(generation), "%" PRId64, job->lease_generation);
	rc = store_exec(conn, "BEGIN", err);
	if (rc != CN_OK)
		return rc;
	rc = store_query(conn, job_sql, job_param != NULL ? 4 : 3, job_values, "updating the job",
	                 &res, err);
	if (rc != CN_OK)
		goto out;
	if (PQntuples(res) != 1) {
		PQclear(res);
		error_set(err, "the lease on job %" PRId64 " was lost", job->id);
		rc = CN_NOT_FOUND;
		goto out;
	}
	PQclear(res);
	rc = store_order_transition(conn, &moved, NULL, err);
out:
	return store_commit_or_rollback(conn, rc, err);
}

int queue_finish(PGconn *conn, const struct queue_job *job, const char *owner,
                 const char *order_state, const char *reason, struct cn_error *err)
{
	return transition(conn, job, owner, GIVE_BACK_LEASE("state = 'done',"), NULL, order_state,
	                  strcmp(order_state, "skipped") == 0 ? "skipped" : "synced", reason, false,
	                  err);
}

int queue_retry_later(PGconn *conn, const struct queue_job *job, const char *owner,
                      int64_t delay_seconds, const char *reason, struct cn_error *err)
{
	char delay[24];

	snprintf(delay, sizeof(delay), "%" PRId64, delay_seconds);
	return transition(
	    conn, job, owner,
	    GIVE_BACK_LEASE("next_attempt_at = now() + make_interval(secs => $4::bigint),"), delay,
	    "retrying", "retry_scheduled", reason, false, err);
}

int queue_defer(PGconn *conn, const struct queue_job *job, const char *owner, int64_t until_ms,
                const char *reason, struct cn_error *err)
{
	char until[24];

	snprintf(until, sizeof(until), "%" PRId64, until_ms);
	return transition(conn, job, owner,
	                  GIVE_BACK_LEASE("attempts = greatest(attempts - 1, 0),"
	                                  " next_attempt_at = 'epoch'::timestamptz"
	                                  " + $4::bigint * interval '1 millisecond',"),
	                  until, "retrying", "deferred", reason, true, err);
}

int queue_next_ready_ms(PGconn *conn, const char *owner, int max_in_flight, int64_t *delay_ms,
                        struct cn_error *err)
{
	char calls[16], cap[16], process[QUEUE_OWNER_MAX];
	const char *values[3] = {calls, cap, process};
	PGresult *res = NULL;
	int rc;

	*delay_ms = 0;
	snprintf(calls, sizeof(calls), "%d", QUEUE_CLAIM_CALLS_PER_JOB);
	snprintf(cap, sizeof(cap), "%d", max_in_flight > 0 ? max_in_flight : 0);
	owner_process(owner, process);
	/* The claim's conditions as a time, per connection: its earliest due
	 * job (or a lease that ends), but not before its budget can pay for one
	 * more job. Index lookups per connection, never a scan of a backlog. */
	rc = store_query(
	    conn,
	    "WITH RECURSIVE " ACTIVE_CONNECTIONS_SQL
	    " SELECT ceil(extract(epoch FROM min(CASE WHEN $2::int > 0 AND p.mine >= $2::int"
	    " THEN NULL WHEN least(p.due, p.ends) IS NOT NULL"
	    " THEN greatest(least(p.due, p.ends), claim_budget_at(p.budget_key,"
	    " p.budget_requests, p.budget_window, $1::int * p.inflight::int + 1)) END)"
	    " - clock_timestamp()) * 1000)::bigint"
	    " FROM (SELECT cc.budget_key, cc.budget_requests, cc.budget_window, l.ends, l.inflight,"
	    "  l.mine,"
	    "  (SELECT r.next_attempt_at FROM jobs r"
	    "   WHERE r.connection_id = c.id AND r.state = 'pending'"
	    "   AND (r.lease_expires_at IS NULL OR r.lease_expires_at < now())"
	    "   ORDER BY r.connection_id, r.next_attempt_at LIMIT 1) AS due"
	    " FROM active a JOIN connections c ON c.id = a.cid"
	    " LEFT JOIN connection_claims cc ON cc.connection_id = c.id"
	    " CROSS JOIN LATERAL (SELECT min(x.lease_expires_at) AS ends, count(*) AS inflight,"
	    "  count(*) FILTER (WHERE starts_with(x.lease_owner, $3)) AS mine"
	    "  FROM jobs x WHERE x.connection_id = c.id AND x.state = 'pending'"
	    "  AND x.lease_owner IS NOT NULL AND x.lease_expires_at >= now()) l"
	    " WHERE c.paused_at IS NULL) p",
	    3, values, "finding when the next job is due", &res, err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return CN_NOT_FOUND;
	}
	*delay_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (*delay_ms < 0)
		*delay_ms = 0;
	PQclear(res);
	return CN_OK;
}

int queue_park(PGconn *conn, const struct queue_job *job, const char *owner, const char *reason,
               struct cn_error *err)
{
	return transition(conn, job, owner, GIVE_BACK_LEASE("state = 'parked',"), NULL,
	                  "needs_attention", "parked", reason, false, err);
}

int queue_release(PGconn *conn, const struct queue_job *job, const char *owner, const char *why,
                  struct cn_error *err)
{
	return transition(conn, job, owner,
	                  GIVE_BACK_LEASE("attempts = greatest(attempts - 1, 0),"), NULL, "queued",
	                  "released", why, true, err);
}

int queue_release_all(PGconn *conn, const char *owner, struct cn_error *err)
{
	const char *values[1] = {owner};

	return store_query(
	    conn,
	    "WITH released AS (UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL,"
	    " attempts = greatest(attempts - 1, 0), updated_at = now()"
	    " WHERE lease_owner = $1 RETURNING order_pk)"
	    " UPDATE orders SET state = 'queued', attempts = greatest(attempts - 1, 0),"
	    " updated_at = now()"
	    " WHERE id IN (SELECT order_pk FROM released) AND state = 'in_progress'",
	    1, values, "releasing leases", NULL, err);
}

/* Appends one element to a PostgreSQL array literal being built in buf. */
static int array_add(struct dynbuf *buf, bool first, const char *element)
{
	return dynbuf_addf(buf, "%s%s", first ? "" : ",", element);
}

int queue_register_budgets(PGconn *conn, const struct queue_budget *budgets, size_t count,
                           struct cn_error *err)
{
	struct dynbuf arrays[4];
	const char *values[4];
	int rc = CN_OK;

	for (int a = 0; a < 4; a++) {
		dynbuf_init(&arrays[a], (size_t)1 << 26);
		if (dynbuf_adds(&arrays[a], "{") != 0)
			rc = CN_ERR;
	}
	for (size_t i = 0; i < count && rc == CN_OK; i++) {
		const struct queue_budget *b = &budgets[i];
		bool known = b->budget_key != NULL && b->budget_key[0] != '\0';
		char id[24], requests[16], window[24];

		snprintf(id, sizeof(id), "%" PRId64, b->connection_id);
		snprintf(requests, sizeof(requests), "%d", b->requests);
		snprintf(window, sizeof(window), "%" PRId64, b->window_ms);
		/* Keys are hex digits: no quoting needed inside the literal. */
		if (array_add(&arrays[0], i == 0, id) != 0 ||
		    array_add(&arrays[1], i == 0, known ? b->budget_key : "NULL") != 0 ||
		    array_add(&arrays[2], i == 0, known ? requests : "NULL") != 0 ||
		    array_add(&arrays[3], i == 0, known ? window : "NULL") != 0)
			rc = CN_ERR;
	}
	for (int a = 0; a < 4 && rc == CN_OK; a++) {
		if (dynbuf_adds(&arrays[a], "}") != 0)
			rc = CN_ERR;
		values[a] = dynbuf_ptr(&arrays[a]);
	}
	if (rc != CN_OK)
		error_set(err, "out of memory listing the connections' budgets");
	else
		rc = store_query(
		    conn,
		    "INSERT INTO connection_claims (connection_id, budget_key, budget_requests,"
		    " budget_window)"
		    " SELECT u.id, u.key, u.requests, u.window_ms * interval '1 millisecond'"
		    " FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[])"
		    " AS u(id, key, requests, window_ms)"
		    " ON CONFLICT (connection_id) DO UPDATE SET budget_key = EXCLUDED.budget_key,"
		    " budget_requests = EXCLUDED.budget_requests,"
		    " budget_window = EXCLUDED.budget_window",
		    4, values, "storing the connections' rate budgets", NULL, err);
	for (int a = 0; a < 4; a++)
		dynbuf_free(&arrays[a]);
	return rc;
}

int queue_paused_connections(PGconn *conn, int64_t **ids, size_t *count, struct cn_error *err)
{
	PGresult *res = NULL;
	int rc;

	*ids = NULL;
	*count = 0;
	rc = store_query(conn, "SELECT id FROM connections WHERE paused_at IS NOT NULL ORDER BY id",
	                 0, NULL, "listing the paused connections", &res, err);
	if (rc != CN_OK)
		return rc;
	if (PQntuples(res) > 0) {
		*ids = calloc((size_t)PQntuples(res), sizeof(**ids));
		if (*ids == NULL) {
			PQclear(res);
			error_set(err, "out of memory listing the paused connections");
			return CN_ERR;
		}
	}
	for (int i = 0; i < PQntuples(res); i++)
		(*ids)[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	*count = (size_t)PQntuples(res);
	PQclear(res);
	return CN_OK;
}
