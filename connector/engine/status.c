#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool.h"
#include "store_counts.h"
#include "store_reconcile.h"

/* The budget of the connection's token: known, or why not. */
static void read_budget(PGconn *conn, struct status_connection *row)
{
	const struct connection_config *cc = row->connection;
	struct budget_limits limits = {cc->moneybird_rate_limit_requests,
	                               cc->moneybird_rate_limit_per_seconds, 0};
	struct cn_error err = {""};
	char key[BUDGET_KEY_SIZE];

	if (budget_token_key(cc->moneybird_api_token, key, &err) == CN_OK &&
	    budget_read(conn, key, &limits, &row->budget, &err) == CN_OK) {
		row->budget_known = true;
		return;
	}
	for (char *p = err.message; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	snprintf(row->budget_error, sizeof(row->budget_error), "%s", err.message);
}

int status_order_counts(PGconn *conn, int64_t connection_id, int64_t orders[ORDER_STATE_COUNT],
                        int64_t *total, struct cn_error *err)
{
	return store_counts_orders(conn, connection_id, orders, total, err);
}

int status_read(PGconn *conn, const struct config *config, struct status_report *out,
                struct cn_error *err)
{
	time_t now = time(NULL);
	struct tm tm;
	int rc = CN_OK;

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
		struct status_connection *row = &out->connections[i];

		row->connection = &config->connections[i];
		row->last_reconcile_age_seconds = -1;
		rc = store_ops_connection_status(conn, row->connection->name, &row->db, err);
		if (rc == CN_OK && row->db.exists)
			rc = status_order_counts(conn, row->db.id, row->db.orders,
			                         &row->db.orders_total, err);
		if (rc == CN_OK && row->db.exists)
			rc = store_reconcile_last_run_age(conn, row->db.id,
			                                  &row->last_reconcile_age_seconds, err);
		if (rc != CN_OK) {
			error_prefix(err, "connection %s", row->connection->name);
			return rc;
		}
		read_budget(conn, row);
	}
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
