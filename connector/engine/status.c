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
