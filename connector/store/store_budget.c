#include "store_budget.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "store.h"
#include "store_array.h"
#include "text.h"

int store_budget_take(PGconn *conn, const char *token_key, int allowed, int64_t window_ms,
                      int priority, bool *granted, int64_t *retry_at_ms, int *used,
                      char stamp[STORE_BUDGET_STAMP_MAX], struct cn_error *err)
{
	char allowed_text[16];
	char window_text[32];
	char priority_text[16];
	const char *params[4] = {token_key, allowed_text, window_text, priority_text};
	PGresult *res;
	int rc = CN_OK;

	snprintf(allowed_text, sizeof(allowed_text), "%d", allowed);
	snprintf(window_text, sizeof(window_text), "%lld milliseconds", (long long)window_ms);
	snprintf(priority_text, sizeof(priority_text), "%d", priority);
	rc = store_query_row(
	    conn,
	    "SELECT granted, ceil(extract(epoch FROM retry_at) * 1000)::bigint, used, "
	    "retry_at::text "
	    "FROM rate_budget_take($1, $2::integer, $3::interval, $4::smallint)",
	    4, params, "taking from the Moneybird rate budget", &res, err);
	if (rc != CN_OK)
		return rc;
	*granted = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	*retry_at_ms = text_int64(PQgetvalue(res, 0, 1));
	*used = (int)text_int64(PQgetvalue(res, 0, 2));
	if (stamp != NULL)
		snprintf(stamp, STORE_BUDGET_STAMP_MAX, "%s",
		         *granted ? PQgetvalue(res, 0, 3) : "");
	PQclear(res);
	return CN_OK;
}

int store_budget_stamp(PGconn *conn, const char *token_key, const char *stamp, struct cn_error *err)
{
	const char *params[2] = {token_key, stamp};

	/* The text came from this server, so it names the entry exactly; two
	 * entries of the same microsecond both moving later is harmless. */
	return store_query(conn,
	                   "UPDATE rate_budget_calls SET at = greatest(at, clock_timestamp()) "
	                   "WHERE token_key = $1 AND at = $2::timestamptz",
	                   2, params, "stamping a Moneybird call in the rate budget", NULL, err);
}

int store_budget_next_free(PGconn *conn, const char *token_key, int allowed, int64_t window_ms,
                           int64_t *at_ms, struct cn_error *err)
{
	char allowed_text[16];
	char window_text[32];
	const char *params[3] = {token_key, allowed_text, window_text};

	snprintf(allowed_text, sizeof(allowed_text), "%d", allowed);
	snprintf(window_text, sizeof(window_text), "%lld milliseconds", (long long)window_ms);
	/* The same arithmetic as rate_budget_take's refusal, without the lock:
	 * the (used - allowed + 1)-th oldest call leaving the window frees a slot. */
	return store_query_int64(
	    conn,
	    "WITH now AS (SELECT clock_timestamp() AS t), "
	    "live AS (SELECT c.at FROM rate_budget_calls c, now "
	    "         WHERE c.token_key = $1 AND c.at > now.t - $3::interval), "
	    "frees AS (SELECT at + $3::interval AS t FROM live ORDER BY at "
	    "          OFFSET greatest((SELECT count(*) FROM live) - $2::integer, 0) LIMIT 1) "
	    "SELECT ceil(extract(epoch FROM greatest(now.t, "
	    "  CASE WHEN (SELECT count(*) FROM live) >= $2::integer THEN (SELECT t FROM frees) "
	    "END, "
	    "  (SELECT b.paused_until FROM rate_budgets b WHERE b.token_key = $1))) * "
	    "1000)::bigint "
	    "FROM now",
	    3, params, "reading when the Moneybird rate budget frees", at_ms, err);
}

int store_budget_pause(PGconn *conn, const char *token_key, int64_t until_epoch,
                       int default_seconds, int max_seconds, struct cn_error *err)
{
	struct store_number until, default_wait, max_wait;
	const char *params[4] = {token_key,
	                         until_epoch > 0 ? store_number_text(&until, until_epoch) : NULL,
	                         store_number_text(&default_wait, default_seconds),
	                         store_number_text(&max_wait, max_seconds)};

	/* The reset epoch is Moneybird's clock; clamp it into a sane range of ours. */
	return store_query(
	    conn,
	    "WITH p AS (SELECT least(greatest(coalesce(to_timestamp($2::bigint), "
	    "clock_timestamp() + make_interval(secs => $3::integer)), "
	    "clock_timestamp() + interval '1 second'), "
	    "clock_timestamp() + make_interval(secs => $4::integer)) AS until) "
	    "INSERT INTO rate_budgets (token_key, paused_until, last_rate_limited_at) "
	    "SELECT $1, p.until, clock_timestamp() FROM p "
	    "ON CONFLICT (token_key) DO UPDATE SET "
	    "paused_until = greatest(rate_budgets.paused_until, EXCLUDED.paused_until), "
	    "last_rate_limited_at = EXCLUDED.last_rate_limited_at",
	    4, params, "pausing the Moneybird rate budget", NULL, err);
}

int store_budget_remaining(int requests, int used, int64_t paused_until_ms)
{
	if (paused_until_ms > 0 || used >= requests)
		return 0;
	return requests - used;
}

int store_budget_read(PGconn *conn, const char *token_key, int64_t window_ms, int *used,
                      int64_t *paused_until_ms, struct cn_error *err)
{
	return store_budget_read_many(conn, &token_key, &window_ms, 1, used, paused_until_ms, err);
}

int store_budget_read_many(PGconn *conn, const char *const *token_keys, const int64_t *window_ms,
                           size_t count, int *used, int64_t *paused_until_ms, struct cn_error *err)
{
	struct dynbuf keys, windows;
	const char *params[2];
	PGresult *res = NULL;
	int rc;

	memset(used, 0, count * sizeof(*used));
	memset(paused_until_ms, 0, count * sizeof(*paused_until_ms));
	if (count == 0)
		return CN_OK;
	/* keys are hex digits: no quoting */
	rc = store_array_literal(&keys, (size_t)1 << 26, token_keys, count,
	                         store_array_add_plain_text,
	                         "reading the Moneybird rate budget: out of memory", err);
	if (rc != CN_OK)
		return rc;
	rc = store_array_literal(&windows, (size_t)1 << 26, window_ms, count, store_array_add_int64,
	                         "reading the Moneybird rate budget: out of memory", err);
	if (rc != CN_OK) {
		dynbuf_free(&keys);
		return rc;
	}
	params[0] = dynbuf_ptr(&keys);
	params[1] = dynbuf_ptr(&windows);
	rc = store_query(
	    conn,
	    "SELECT u.i, (SELECT count(*) FROM rate_budget_calls c WHERE c.token_key = u.key"
	    "        AND c.at > clock_timestamp() - u.window_ms * interval '1 millisecond'),"
	    "       (SELECT CASE WHEN b.paused_until > clock_timestamp()"
	    "        THEN floor(extract(epoch FROM b.paused_until) * 1000)::bigint END"
	    "        FROM rate_budgets b WHERE b.token_key = u.key)"
	    " FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(key, window_ms, i)",
	    2, params, "reading the Moneybird rate budget", &res, err);
	dynbuf_free(&keys);
	dynbuf_free(&windows);
	if (rc != CN_OK)
		return rc;
	if ((size_t)PQntuples(res) != count) {
		PQclear(res);
		error_set(err, "reading the Moneybird rate budget: no row");
		return CN_ERR;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t i = text_int64(PQgetvalue(res, r, 0)) - 1;

		if (i < 0 || (size_t)i >= count)
			continue;
		used[i] = (int)text_int64(PQgetvalue(res, r, 1));
		if (!PQgetisnull(res, r, 2))
			paused_until_ms[i] = text_int64(PQgetvalue(res, r, 2));
	}
	PQclear(res);
	return CN_OK;
}
