#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool.h"
#include "store_budget.h"
#include "store_counts.h"
#include "store_ops_status.h"

/* A budget that cannot be read: why, on one line. */
static void budget_unknown(struct status_connection *row, const char *why)
{
	snprintf(row->budget_error, sizeof(row->budget_error), "%s", why);
	for (char *p = row->budget_error; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

/* Every connection's rate budget in one statement; a connection whose key
 * cannot be computed, or all of them when the read fails, get budget_error
 * instead (the rest of the status is still shown). */
static void read_budgets(PGconn *conn, struct status_report *out)
{
	size_t count = out->connection_count, known = 0;
	char(*keys)[BUDGET_KEY_SIZE] = calloc(count + 1, sizeof(*keys));
	const char **key_list = calloc(count + 1, sizeof(*key_list));
	int64_t *windows = calloc(count + 1, sizeof(*windows));
	int64_t *paused = calloc(count + 1, sizeof(*paused));
	size_t *rows = calloc(count + 1, sizeof(*rows));
	int *used = calloc(count + 1, sizeof(*used));
	struct cn_error err = {""};
	int rc;

	if (keys == NULL || key_list == NULL || windows == NULL || paused == NULL || rows == NULL ||
	    used == NULL) {
		for (size_t i = 0; i < count; i++)
			budget_unknown(&out->connections[i], "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		struct status_connection *row = &out->connections[i];
		const struct connection_config *cc = row->connection;
		struct budget_limits limits = {cc->moneybird_rate_limit_requests,
		                               cc->moneybird_rate_limit_per_seconds, 0};

		err.message[0] = '\0';
		if (budget_token_key(cc->moneybird_api_token, keys[known], &err) != CN_OK) {
			budget_unknown(row, err.message);
			continue;
		}
		key_list[known] = keys[known];
		windows[known] = budget_window_ms(&limits);
		rows[known++] = i;
	}
	err.message[0] = '\0';
	rc = store_budget_read_many(conn, key_list, windows, known, used, paused, &err);
	for (size_t k = 0; k < known; k++) {
		struct status_connection *row = &out->connections[rows[k]];

		if (rc != CN_OK) {
			budget_unknown(row, err.message);
			continue;
		}
		row->budget_known = true;
		row->budget.requests = row->connection->moneybird_rate_limit_requests;
		row->budget.used = used[k];
		row->budget.paused_until_ms = paused[k];
		row->budget.remaining =
		    store_budget_remaining(row->budget.requests, used[k], paused[k]);
	}
out:
	free(keys);
	free(key_list);
	free(windows);
	free(paused);
	free(rows);
	free(used);
}

int status_order_counts_many(PGconn *conn, const int64_t *connection_ids, size_t count,
                             int64_t (*orders)[ORDER_STATE_COUNT], int64_t *totals,
                             struct cn_error *err)
{
	return store_counts_orders_many(conn, connection_ids, count, orders, totals, err);
}

/* The connections' rows and their orders per state: two statements. */
static int read_connections(PGconn *conn, struct status_report *out, struct cn_error *err)
{
	size_t count = out->connection_count;
	const char **names = calloc(count + 1, sizeof(*names));
	struct store_ops_connection_status *db = calloc(count + 1, sizeof(*db));
	int64_t *ages = calloc(count + 1, sizeof(*ages));
	int64_t *ids = calloc(count + 1, sizeof(*ids));
	int64_t(*orders)[ORDER_STATE_COUNT] = calloc(count + 1, sizeof(*orders));
	int64_t *totals = calloc(count + 1, sizeof(*totals));
	int rc = CN_ERR;

	if (names == NULL || db == NULL || ages == NULL || ids == NULL || orders == NULL ||
	    totals == NULL) {
		error_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		names[i] = out->connections[i].connection->name;
	rc = store_ops_connections_status(conn, names, count, db, ages, err);
	for (size_t i = 0; rc == CN_OK && i < count; i++)
		ids[i] = db[i].exists ? db[i].id : 0; /* 0: no row, no counts */
	if (rc == CN_OK)
		rc = store_counts_orders_many(conn, ids, count, orders, totals, err);
	for (size_t i = 0; rc == CN_OK && i < count; i++) {
		struct status_connection *row = &out->connections[i];

		row->db = db[i];
		memcpy(row->db.orders, orders[i], sizeof(row->db.orders));
		row->db.orders_total = totals[i];
		row->last_reconcile_age_seconds = ages[i];
	}
out:
	free(names);
	free(db);
	free(ages);
	free(ids);
	free(orders);
	free(totals);
	return rc;
}

int status_read(PGconn *conn, const struct config *config, struct status_report *out,
                struct cn_error *err)
{
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	memset(out, 0, sizeof(*out));
	gmtime_r(&now, &tm);
	strftime(out->generated_at, sizeof(out->generated_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out->spool_dir = config->spool_dir;
	out->connections = calloc(config->connection_count + 1, sizeof(*out->connections));
	if (out->connections == NULL) {
		error_set(err, "out of memory");
		return CN_ERR;
	}
	out->connection_count = config->connection_count;
	for (size_t i = 0; i < config->connection_count; i++) {
		out->connections[i].connection = &config->connections[i];
		out->connections[i].last_reconcile_age_seconds = -1;
	}
	/* A fixed number of statements, however many connections. */
	rc = read_connections(conn, out, err);
	if (rc != CN_OK)
		return rc;
	read_budgets(conn, out);
	out->spooled = spool_count(config->spool_dir);
	out->spool_set_aside = spool_rejected_count(config->spool_dir);
	return CN_OK;
}

void status_report_free(struct status_report *report)
{
	if (report == NULL)
		return;
	free(report->connections);
	report->connections = NULL;
	report->connection_count = 0;
}

int status_orders_find(PGconn *conn, const char *connection, const char *key,
                       struct store_ops_table *out, struct cn_error *err)
{
	return store_ops_find_orders(conn, connection, key, out, err);
}

int status_order_read(PGconn *conn, const struct store_ops_table *orders, size_t row,
                      struct status_order *out, struct cn_error *err)
{
	const char *pk_text = store_ops_cell(orders, row, OPS_ORDER_PK);
	int64_t pk = pk_text != NULL ? (int64_t)strtoll(pk_text, NULL, 10) : 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->orders = orders;
	out->row = row;
	rc = store_ops_order_deliveries(conn, pk, &out->deliveries, err);
	if (rc == CN_OK)
		rc = store_ops_order_attempts(conn, pk, &out->attempts, err);
	if (rc == CN_OK)
		rc = store_ops_order_audit(conn, pk, &out->audit, err);
	return rc;
}

void status_order_free(struct status_order *order)
{
	if (order == NULL)
		return;
	store_ops_table_free(&order->deliveries);
	store_ops_table_free(&order->attempts);
	store_ops_table_free(&order->audit);
}

int status_orders_list(PGconn *conn, const struct store_console_order_filter *filter,
                       struct store_ops_table *out, struct cn_error *err)
{
	return store_console_orders(conn, filter, out, err);
}

int status_order_party(PGconn *conn, int64_t order_pk, struct store_ops_table *out,
                       struct cn_error *err)
{
	return store_console_order_party(conn, order_pk, out, err);
}

int status_reconcile_history(PGconn *conn, int limit, struct store_ops_table *runs,
                             struct store_ops_table *differences, struct cn_error *err)
{
	int rc = store_console_reconcile_runs(conn, limit, runs, err);

	memset(differences, 0, sizeof(*differences));
	if (rc == CN_OK)
		rc = store_console_reconcile_differences(conn, limit, differences, err);
	return rc;
}

/* Keywords of the park reasons (core/plan*.c, engine/sync.c) and what a
 * bookkeeper does about each; the first match wins. */
static const struct {
	const char *keyword;
	const char *advice;
} parked_advice[] = {
    {"tax rate", "Create the missing sales tax rate in Moneybird (or name the right one in the "
                 "mapping file), then press Retry."},
    {"vat_treatment", "Add this VAT treatment to the connection's mapping file, then press "
                      "Retry."},
    {"ambiguous", "Several Moneybird contacts fit this buyer: archive or merge the duplicates "
                  "in Moneybird, then press Retry."},
    {"contacts", "Several Moneybird contacts fit this buyer: archive or merge the duplicates "
                 "in Moneybird, then press Retry."},
    {"total", "The amounts do not add up: check the order in bookto and the invoice in "
              "Moneybird; press Retry once corrected."},
    {"locked", "The period is locked in Moneybird: unlock it (or ask your accountant), then "
               "press Retry."},
    {"currency", "Moneybird cannot take this currency for the administration: book it by "
                 "hand, or change the administration's settings and press Retry."},
    {"peppol", "Register the administration for Peppol in Moneybird (or change the send "
               "method in the mapping), then press Retry."},
    {"401", "Moneybird refused the API token: renew it in the configuration, then press "
            "Retry."},
};

const char *status_parked_advice(const char *last_error)
{
	if (last_error != NULL)
		for (size_t i = 0; i < sizeof(parked_advice) / sizeof(parked_advice[0]); i++)
			if (strstr(last_error, parked_advice[i].keyword) != NULL)
				return parked_advice[i].advice;
	return "Fix what the reason names (in Moneybird or the mapping file), then press Retry.";
}
