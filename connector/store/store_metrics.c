#include "store_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "order_state.h"
#include "store_budget.h"
#include "text.h"

static double parse_double(const char *text)
{
	char *end = NULL;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (errno != 0 || end == text)
		return 0;
	return value;
}

static int query(PGconn *conn, const char *sql, const char *what, PGresult **out,
                 struct cn_error *err)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		int rc = store_result_error(conn, res, what, err);

		PQclear(res);
		*out = NULL;
		return rc;
	}
	*out = res;
	return CN_OK;
}

static long connection_index(const struct config *config, const int64_t *ids, int64_t id)
{
	for (size_t i = 0; i < config->connection_count; i++)
		if (ids[i] == id)
			return (long)i;
	return -1;
}

/* The histogram from its maintained counters (migration 0010): a few rows,
 * however many orders there are. A row's le is its bucket's upper bound;
 * buckets are cumulative, so each row counts in every bucket at or above
 * its bound. */
static int read_latency(PGconn *conn, struct metrics_gauges *gauges, struct cn_error *err)
{
	PGresult *res = NULL;
	int rc;

	rc = query(conn, "SELECT le, sum(n), sum(sum_seconds) FROM sync_latency_counts GROUP BY le",
	           "reading the sync latency", &res, err);
	if (rc != CN_OK)
		return rc;
	gauges->latency_count = 0;
	gauges->latency_sum_seconds = 0;
	for (int r = 0; r < PQntuples(res); r++) {
		double le = parse_double(PQgetvalue(res, r, 0));
		int64_t n = text_int64(PQgetvalue(res, r, 1));

		if (n <= 0)
			continue;
		gauges->latency_count += (uint64_t)n;
		gauges->latency_sum_seconds += parse_double(PQgetvalue(res, r, 2));
		for (size_t b = 0; b < METRICS_LATENCY_BUCKETS; b++)
			if (le <= metrics_latency_bounds[b])
				gauges->latency_buckets[b] += (uint64_t)n;
	}
	PQclear(res);
	return CN_OK;
}

/* Orders per state of every configured connection, one statement. */
static int read_orders(PGconn *conn, const struct config *config, const int64_t *connection_ids,
                       const struct store_metrics_inputs *inputs, struct metrics_gauges *gauges,
                       struct cn_error *err)
{
	size_t count = config->connection_count;
	int64_t(*orders)[ORDER_STATE_COUNT] = calloc(count + 1, sizeof(*orders));
	int64_t *totals = calloc(count + 1, sizeof(*totals));
	int rc = CN_ERR;

	if (orders == NULL || totals == NULL)
		error_set(err, "out of memory");
	else
		rc = inputs->read_orders(conn, connection_ids, count, orders, totals, err);
	for (size_t c = 0; rc == CN_OK && c < count; c++)
		memcpy(gauges->connections[c].orders, orders[c], sizeof(orders[c]));
	free(orders);
	free(totals);
	return rc;
}

/* The rate budget left of every configured connection, one statement; a
 * connection without a token key fails the database part, as before. */
static int read_budgets(PGconn *conn, size_t count, const struct store_metrics_budget *budgets,
                        struct metrics_gauges *gauges, struct cn_error *err)
{
	const char **keys = calloc(count + 1, sizeof(*keys));
	int64_t *windows = calloc(count + 1, sizeof(*windows));
	int64_t *paused = calloc(count + 1, sizeof(*paused));
	int *used = calloc(count + 1, sizeof(*used));
	int rc = CN_ERR;

	if (keys == NULL || windows == NULL || paused == NULL || used == NULL) {
		error_set(err, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < count; c++) {
		gauges->connections[c].budget_limit = budgets[c].requests;
		if (budgets[c].token_key[0] == '\0') {
			error_set(err, "reading the Moneybird rate budget: no token key");
			goto out;
		}
		keys[c] = budgets[c].token_key;
		windows[c] = budgets[c].window_ms;
	}
	rc = store_budget_read_many(conn, keys, windows, count, used, paused, err);
	for (size_t c = 0; rc == CN_OK && c < count; c++) {
		gauges->connections[c].budget_known = true;
		gauges->connections[c].budget_remaining =
		    store_budget_remaining(budgets[c].requests, used[c], paused[c]);
	}
out:
	free(keys);
	free(windows);
	free(paused);
	free(used);
	return rc;
}

int store_metrics_read(PGconn *conn, const struct config *config, const int64_t *connection_ids,
                       const struct store_metrics_inputs *inputs, struct metrics_gauges *gauges,
                       struct cn_error *err)
{
	PGresult *res = NULL;
	char timeout[64];
	int rc;

	rc = store_exec(conn, "BEGIN READ ONLY", err);
	if (rc != CN_OK)
		return rc;
	snprintf(timeout, sizeof(timeout), "SET LOCAL statement_timeout = %d",
	         STORE_METRICS_TIMEOUT_MS);
	rc = store_exec(conn, timeout, err);
	if (rc != CN_OK)
		goto out;

	/* The status model's numbers, from the trigger-kept counters (no scan),
	 * every connection in one statement. */
	rc = read_orders(conn, config, connection_ids, inputs, gauges, err);
	if (rc != CN_OK)
		goto out;

	rc = query(conn, "SELECT id, paused_at IS NOT NULL FROM connections", "reading pauses",
	           &res, err);
	if (rc != CN_OK)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		long c =
		    connection_index(config, connection_ids, text_int64(PQgetvalue(res, r, 0)));

		if (c >= 0)
			gauges->connections[c].paused = strcmp(PQgetvalue(res, r, 1), "t") == 0;
	}
	PQclear(res);

	/* The partial index jobs_ready_idx covers exactly these rows. */
	rc = query(conn,
	           "SELECT count(*), count(*) FILTER (WHERE next_attempt_at <= now()),"
	           " coalesce(extract(epoch FROM now() - min(next_attempt_at)"
	           " FILTER (WHERE next_attempt_at <= now())), 0)::float8"
	           " FROM jobs WHERE state = 'pending'",
	           "reading the queue", &res, err);
	if (rc != CN_OK)
		goto out;
	gauges->queue_depth = text_int64(PQgetvalue(res, 0, 0));
	gauges->queue_ready = text_int64(PQgetvalue(res, 0, 1));
	gauges->queue_oldest_ready_seconds = parse_double(PQgetvalue(res, 0, 2));
	PQclear(res);

	rc = read_latency(conn, gauges, err);
	if (rc != CN_OK)
		goto out;

	rc = read_budgets(conn, config->connection_count, inputs->budgets, gauges, err);
out:
	rc = store_commit_or_rollback(conn, rc, err);
	if (rc == CN_OK)
		gauges->database_up = true;
	return rc;
}

int store_metrics_scrape(struct store_pool *pool, const struct config *config,
                         const int64_t *connection_ids, const struct store_metrics_inputs *inputs,
                         char **out, size_t *len, struct cn_error *err)
{
	struct metrics_gauges gauges;
	PGconn *conn = NULL;
	int rc;

	memset(&gauges, 0, sizeof(gauges));
	gauges.connection_count = config->connection_count;
	gauges.connections = calloc(config->connection_count, sizeof(*gauges.connections));
	if (gauges.connections == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	for (size_t c = 0; c < config->connection_count; c++)
		gauges.connections[c].name = config->connections[c].name;
	gauges.spooled_deliveries = inputs->spooled_deliveries;
	gauges.spool_rejected_files = inputs->spool_rejected_files;

	rc = store_pool_acquire(pool, STORE_METRICS_TIMEOUT_MS, &conn, err);
	if (rc == CN_OK) {
		/* statement_timeout cannot end a wait on a stalled server. */
		struct store_deadline deadline;
		bool gave_up;

		store_deadline_arm(&deadline, conn, STORE_METRICS_TIMEOUT_MS + 1000);
		rc = store_metrics_read(conn, config, connection_ids, inputs, &gauges, err);
		gave_up = store_deadline_disarm(&deadline);
		if (gave_up && rc == CN_OK) {
			gauges.database_up = false;
			rc = CN_RETRYABLE;
			error_set(err, "PostgreSQL did not answer the metrics queries in time");
		}
		store_pool_release(pool, conn, gave_up || (rc != CN_OK && store_conn_broken(conn)));
	}
	if (rc != CN_OK) {
		/* Counters are still worth reporting; database_up says the rest. */
		log_warn("metrics_database_unavailable", "error", err->message, NULL);
		for (size_t c = 0; c < config->connection_count; c++) {
			const char *name = gauges.connections[c].name;

			memset(&gauges.connections[c], 0, sizeof(gauges.connections[c]));
			gauges.connections[c].name = name;
		}
		gauges.database_up = false;
	}
	rc = metrics_render(&gauges, out, len);
	if (rc != CN_OK)
		error_set(err, "the metrics text could not be built (out of memory or too large)");
	free(gauges.connections);
	return rc;
}
