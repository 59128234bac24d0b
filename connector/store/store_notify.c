#include "store_notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define COLLECT_BATCH 1000 /* the LIMIT of collect_audit's query */

static int commit_or_rollback(PGconn *conn, int rc, struct cn_error *err)
{
	if (rc != CN_OK) {
		store_rollback(conn);
		return rc;
	}
	return store_exec(conn, "COMMIT", err);
}

/* A message waits per cause; events join it (its first 10 lines are kept),
 * and a new one is due no sooner than the interval after the last sent. */
static int enqueue(PGconn *conn, const char *cause, const char *line, const char *interval,
                   struct cn_error *err)
{
	const char *values[3] = {cause, line, interval};

	return store_query(
	    conn,
	    "INSERT INTO notifications (cause, due_at, lines)"
	    " SELECT $1, greatest(now(), coalesce(max(sent_at) + make_interval(secs => $3::int),"
	    " now())), ARRAY[$2::text] FROM notifications WHERE cause = $1 AND sent_at IS NOT NULL"
	    " ON CONFLICT (cause) WHERE sent_at IS NULL AND given_up_at IS NULL"
	    " DO UPDATE SET events = notifications.events + 1,"
	    " lines = CASE WHEN cardinality(notifications.lines) < 10"
	    " THEN notifications.lines || EXCLUDED.lines ELSE notifications.lines END",
	    3, values, "queueing a notification", NULL, err);
}

/* The event's cause and line from one row of collect_audit's query. */
static void audit_event(PGresult *res, int row, char *cause, size_t cause_size, char *line,
                        size_t line_size)
{
	const char *action = PQgetvalue(res, row, 1);
	const char *name = PQgetvalue(res, row, 2);

	if (strcmp(action, "connection_paused") == 0) {
		snprintf(cause, cause_size, "paused:%s", name);
		snprintf(line, line_size, "%s", PQgetvalue(res, row, 5));
	} else if (strcmp(action, "connection_resumed") == 0) {
		snprintf(cause, cause_size, "resumed:%s", name);
		snprintf(line, line_size, "its token works again");
	} else {
		snprintf(cause, cause_size, "parked:%s", name);
		snprintf(line, line_size, "%s: %s", PQgetvalue(res, row, 3),
		         PQgetvalue(res, row, 4));
	}
}

/* Parks (transitions into needs_attention), pauses and resumes after the
 * cursor, up to the newest settled row. The chains commit side by side, so a
 * lower id may become visible after a higher one; audit_settled_id()
 * (migration 0018) waits out the transactions that may still commit one. */
static int collect_audit(PGconn *conn, const char *cursor, const char *interval, char *next,
                         size_t next_size, int *queued, struct cn_error *err)
{
	const char *values[2] = {cursor, next};
	PGresult *res = NULL;
	int rc, rows;

	rc = store_query(conn, "SELECT audit_settled_id()", 0, NULL, "reading the audit log's end",
	                 &res, err);
	if (rc != CN_OK)
		return rc;
	snprintf(next, next_size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	rc = store_query(
	    conn,
	    "SELECT a.id, a.action, c.name, coalesce(o.order_id, ''),"
	    " left(regexp_replace(coalesce(o.last_error, ''), '[[:cntrl:]]+', ' ', 'g'), 300),"
	    " left(regexp_replace(coalesce(c.paused_reason, ''), '[[:cntrl:]]+', ' ', 'g'), 300)"
	    " FROM audit_log a JOIN connections c ON c.id = a.connection_id"
	    " LEFT JOIN orders o ON o.id = a.order_pk"
	    " WHERE a.id > $1::bigint AND a.id <= $2::bigint"
	    " AND ((a.to_state = 'needs_attention'"
	    " AND a.from_state IS DISTINCT FROM 'needs_attention')"
	    " OR a.action IN ('connection_paused', 'connection_resumed'))"
	    " ORDER BY a.id LIMIT 1000",
	    2, values, "reading the audit log for notifications", &res, err);
	if (rc != CN_OK)
		return rc;
	rows = PQntuples(res);
	for (int row = 0; row < rows && rc == CN_OK; row++) {
		char cause[STORE_NOTIFY_CAUSE_MAX], line[512];

		audit_event(res, row, cause, sizeof(cause), line, sizeof(line));
		rc = enqueue(conn, cause, line, interval, err);
		if (rc == CN_OK)
			(*queued)++;
	}
	/* A full batch may have left events before the end: continue after it. */
	if (rc == CN_OK && rows >= COLLECT_BATCH)
		snprintf(next, next_size, "%s", PQgetvalue(res, rows - 1, 0));
	PQclear(res);
	return rc;
}

/* Finished reconcile runs after the cursor, in id order; stops at a run
 * still going, so a slow run is not skipped, unless it started over an hour
 * ago (taken to have died). */
static int collect_reconcile(PGconn *conn, const char *cursor, const char *interval, char *next,
                             size_t next_size, int *queued, struct cn_error *err)
{
	const char *values[1] = {cursor};
	PGresult *res = NULL;
	int rc;

	snprintf(next, next_size, "%s", cursor);
	rc = store_query(conn,
	                 "SELECT r.id, c.name, r.status, r.differences, r.trigger,"
	                 " r.started_at < now() - make_interval(secs => 3600)"
	                 " FROM reconcile_runs r JOIN connections c ON c.id = r.connection_id"
	                 " WHERE r.id > $1::bigint ORDER BY r.id LIMIT 100",
	                 1, values, "reading the reconcile runs for notifications", &res, err);
	if (rc != CN_OK)
		return rc;
	for (int row = 0; row < PQntuples(res) && rc == CN_OK; row++) {
		const char *status = PQgetvalue(res, row, 2);
		char cause[STORE_NOTIFY_CAUSE_MAX], line[160];

		if (strcmp(status, "running") == 0 && strcmp(PQgetvalue(res, row, 5), "t") != 0)
			break;
		if (strcmp(status, "done") == 0 && strcmp(PQgetvalue(res, row, 3), "0") != 0) {
			snprintf(cause, sizeof(cause), "reconcile:%s", PQgetvalue(res, row, 1));
			snprintf(line, sizeof(line), "run %s (%s): %s difference(s)",
			         PQgetvalue(res, row, 0), PQgetvalue(res, row, 4),
			         PQgetvalue(res, row, 3));
			rc = enqueue(conn, cause, line, interval, err);
			if (rc == CN_OK)
				(*queued)++;
		}
		snprintf(next, next_size, "%s", PQgetvalue(res, row, 0));
	}
	PQclear(res);
	return rc;
}

int store_notify_collect(PGconn *conn, int interval_seconds, int *queued, struct cn_error *err)
{
	char interval[16], audit_next[24] = "", run_next[24] = "";
	const char *values[2] = {audit_next, run_next};
	PGresult *res = NULL;
	int rc;

	*queued = 0;
	snprintf(interval, sizeof(interval), "%d", interval_seconds);
	rc = store_exec(conn, "BEGIN", err);
	if (rc != CN_OK)
		return rc;
	rc = store_query(conn,
	                 "SELECT audit_id, reconcile_run_id FROM notify_cursor"
	                 " FOR UPDATE SKIP LOCKED",
	                 0, NULL, "locking the notification cursor", &res, err);
	if (rc != CN_OK)
		goto out;
	if (PQntuples(res) == 1) {
		char audit_cursor[24], run_cursor[24];

		snprintf(audit_cursor, sizeof(audit_cursor), "%s", PQgetvalue(res, 0, 0));
		snprintf(run_cursor, sizeof(run_cursor), "%s", PQgetvalue(res, 0, 1));
		rc = collect_audit(conn, audit_cursor, interval, audit_next, sizeof(audit_next),
		                   queued, err);
		if (rc == CN_OK)
			rc = collect_reconcile(conn, run_cursor, interval, run_next,
			                       sizeof(run_next), queued, err);
		if (rc == CN_OK)
			rc = store_query(conn,
			                 "UPDATE notify_cursor SET audit_id = $1::bigint,"
			                 " reconcile_run_id = $2::bigint",
			                 2, values, "moving the notification cursor", NULL, err);
	}
out:
	PQclear(res);
	return commit_or_rollback(conn, rc, err);
}

int store_notify_claim(PGconn *conn, int interval_seconds, struct store_notification *out,
                       bool *found, struct cn_error *err)
{
	char interval[16];
	const char *values[1] = {interval};
	PGresult *res = NULL;
	int rc;

	snprintf(interval, sizeof(interval), "%d", interval_seconds);
	memset(out, 0, sizeof(*out));
	*found = false;
	rc = store_exec(conn, "BEGIN", err);
	if (rc != CN_OK)
		return rc;
	rc = store_query(conn,
	                 "SELECT id, cause, events, attempts, webhook_sent_at IS NOT NULL,"
	                 " email_sent_at IS NOT NULL, array_to_string(lines, E'\\n')"
	                 " FROM notifications WHERE sent_at IS NULL AND given_up_at IS NULL"
	                 " AND due_at <= now() AND next_attempt_at <= now()"
	                 /* The interval holds here too: a message queued while the
	                  * previous one of its cause was being sent computed its
	                  * due time before that send committed. */
	                 " AND NOT EXISTS (SELECT 1 FROM notifications s"
	                 "  WHERE s.cause = notifications.cause"
	                 "  AND s.sent_at > now() - make_interval(secs => $1::int))"
	                 " ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
	                 1, values, "claiming a notification", &res, err);
	if (rc != CN_OK) {
		store_rollback(conn);
		return rc;
	}
	if (PQntuples(res) == 1) {
		out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		snprintf(out->cause, sizeof(out->cause), "%s", PQgetvalue(res, 0, 1));
		out->events = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
		out->attempts = (int)strtol(PQgetvalue(res, 0, 3), NULL, 10);
		out->webhook_done = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
		out->email_done = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
		snprintf(out->lines, sizeof(out->lines), "%s", PQgetvalue(res, 0, 6));
		*found = true;
	}
	PQclear(res);
	if (!*found)
		return commit_or_rollback(conn, CN_OK, err);
	return CN_OK;
}

int store_notify_finish(PGconn *conn, const struct store_notification *message, bool webhook_done,
                        bool email_done, bool all_done, const char *error, int retry_cap_seconds,
                        int max_attempts, bool *given_up, struct cn_error *err)
{
	char id[24], cap[16], max[16];
	const char *values[7] = {id,
	                         webhook_done ? "t" : "f",
	                         email_done ? "t" : "f",
	                         all_done ? "t" : "f",
	                         error != NULL ? error : "",
	                         cap,
	                         max};
	PGresult *res = NULL;
	int rc;

	*given_up = false;
	snprintf(id, sizeof(id), "%" PRId64, message->id);
	snprintf(cap, sizeof(cap), "%d", retry_cap_seconds);
	snprintf(max, sizeof(max), "%d", max_attempts);
	rc = store_query(
	    conn,
	    "UPDATE notifications SET attempts = attempts + 1,"
	    " webhook_sent_at = CASE WHEN $2::boolean THEN coalesce(webhook_sent_at, now())"
	    " ELSE webhook_sent_at END,"
	    " email_sent_at = CASE WHEN $3::boolean THEN coalesce(email_sent_at, now())"
	    " ELSE email_sent_at END,"
	    " sent_at = CASE WHEN $4::boolean THEN now() END,"
	    " last_error = nullif($5, ''),"
	    " next_attempt_at = now() + make_interval(secs => least($6::int,"
	    " 5 * power(2, least(attempts, 16))::int)),"
	    " given_up_at = CASE WHEN NOT $4::boolean AND attempts + 1 >= $7::int THEN now() END"
	    " WHERE id = $1::bigint RETURNING given_up_at IS NOT NULL",
	    7, values, "recording the notification's outcome", &res, err);
	if (rc == CN_OK && PQntuples(res) == 1)
		*given_up = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return commit_or_rollback(conn, rc, err);
}
