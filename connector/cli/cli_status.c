#include "cli_ops.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_common.h"
#include "status.h"

#include "cli_ops_common.h"

/* ---- status ---- */

static cJSON *status_json(const struct status_report *report)
{
	const struct status_connection *rows = report->connections;
	cJSON *root = cJSON_CreateObject();
	cJSON *connections = cJSON_AddArrayToObject(root, "connections");
	struct tm tm;

	cJSON_AddStringToObject(root, "generated_at", report->generated_at);
	for (size_t i = 0; i < report->connection_count; i++) {
		const struct status_connection *row = &rows[i];
		cJSON *item = cJSON_CreateObject();
		cJSON *orders = cJSON_CreateObject();
		cJSON *budget;

		cJSON_AddItemToArray(connections, item);
		cJSON_AddStringToObject(item, "name", row->connection->name);
		cJSON_AddStringToObject(item, "administration_id",
		                        row->connection->moneybird_administration_id);
		cJSON_AddBoolToObject(item, "registered", row->db.exists);
		for (size_t s = 0; s < ORDER_STATE_COUNT; s++)
			cJSON_AddNumberToObject(orders, order_state_names[s],
			                        (double)row->db.orders[s]);
		cJSON_AddItemToObject(item, "orders", orders);
		cJSON_AddNumberToObject(item, "orders_total", (double)row->db.orders_total);
		if (row->db.has_oldest_unsynced) {
			cJSON *oldest = cJSON_AddObjectToObject(item, "oldest_unsynced");

			cJSON_AddStringToObject(oldest, "order_id", row->db.oldest_order_id);
			cJSON_AddStringToObject(oldest, "order_number",
			                        row->db.oldest_order_number);
			cJSON_AddStringToObject(oldest, "state", row->db.oldest_state);
			cJSON_AddStringToObject(oldest, "received_at", row->db.oldest_received_at);
			cJSON_AddNumberToObject(oldest, "age_seconds",
			                        (double)row->db.oldest_age_seconds);
		} else {
			cJSON_AddNullToObject(item, "oldest_unsynced");
		}
		if (row->db.has_last_error) {
			cJSON *last = cJSON_AddObjectToObject(item, "last_error");

			cJSON_AddStringToObject(last, "order_id", row->db.last_error_order_id);
			cJSON_AddStringToObject(last, "state", row->db.last_error_state);
			cJSON_AddStringToObject(last, "error", row->db.last_error);
			cJSON_AddStringToObject(last, "at", row->db.last_error_at);
		} else {
			cJSON_AddNullToObject(item, "last_error");
		}
		if (row->db.paused) {
			cJSON *paused = cJSON_AddObjectToObject(item, "paused");

			cJSON_AddStringToObject(paused, "since", row->db.paused_at);
			cJSON_AddItemToObject(paused, "reason",
			                      cli_ops_json_string_or_null(row->db.paused_reason));
		} else {
			cJSON_AddNullToObject(item, "paused");
		}
		budget = cJSON_AddObjectToObject(item, "rate_budget");
		cJSON_AddNumberToObject(budget, "requests",
		                        row->connection->moneybird_rate_limit_requests);
		cJSON_AddNumberToObject(budget, "per_seconds",
		                        row->connection->moneybird_rate_limit_per_seconds);
		if (row->budget_known) {
			cJSON_AddNumberToObject(budget, "used", row->budget.used);
			cJSON_AddNumberToObject(budget, "remaining", row->budget.remaining);
			if (row->budget.paused_until_ms > 0) {
				char until[32];
				time_t seconds = (time_t)(row->budget.paused_until_ms / 1000);

				gmtime_r(&seconds, &tm);
				strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
				cJSON_AddStringToObject(budget, "paused_until", until);
			} else {
				cJSON_AddNullToObject(budget, "paused_until");
			}
		} else {
			cJSON_AddNullToObject(budget, "used");
			cJSON_AddNullToObject(budget, "remaining");
			cJSON_AddNullToObject(budget, "paused_until");
			cJSON_AddStringToObject(budget, "error", row->budget_error);
		}
		cJSON_AddNumberToObject(item, "redeliveries_differ",
		                        (double)row->db.redeliveries_differ);
	}
	cJSON_AddNumberToObject(root, "spooled_deliveries", (double)report->spooled);
	cJSON_AddNumberToObject(root, "spool_set_aside", (double)report->spool_set_aside);
	cJSON_AddStringToObject(root, "spool_dir", report->spool_dir);
	return root;
}

static void status_print(const struct status_report *report)
{
	const struct status_connection *rows = report->connections;
	size_t count = report->connection_count;
	struct cli_table table;
	char numbers[ORDER_STATE_COUNT + 1][24];
	static const char *const headers[] = {"CONNECTION", "QUEUED",          "IN_PROGRESS",
	                                      "RETRYING",   "NEEDS_ATTENTION", "SKIPPED",
	                                      "SYNCED",     "RECONCILED"};
	const char *cells[sizeof(headers) / sizeof(headers[0])];

	/* Two tables side by side would not fit 100 columns: states first. */
	memset(&table, 0, sizeof(table));
	table.columns = sizeof(headers) / sizeof(headers[0]);
	for (size_t c = 0; c < table.columns; c++) {
		table.headers[c] = headers[c];
		table.right[c] = c > 0;
	}
	printf("Orders per state\n");
	for (size_t i = 0; i < count; i++) {
		cells[0] = rows[i].connection->name;
		for (size_t s = 0; s < ORDER_STATE_COUNT; s++) {
			snprintf(numbers[s], sizeof(numbers[s]), "%" PRId64, rows[i].db.orders[s]);
			cells[s + 1] = numbers[s];
		}
		cli_table_add(&table, cells);
	}
	cli_table_print(&table, "(no connections)", stdout);
	cli_table_free(&table);

	for (size_t i = 0; i < count; i++) {
		const struct status_connection *row = &rows[i];
		char age[32];

		printf("\nConnection %s (Moneybird administration %s)\n", row->connection->name,
		       row->connection->moneybird_administration_id);
		if (!row->db.exists)
			cli_ops_field("registered",
			              "no: `serve` has not run with this connection yet");
		cli_ops_field("orders", "%" PRId64 " in total", row->db.orders_total);
		if (row->db.has_oldest_unsynced) {
			cli_ops_format_age(row->db.oldest_age_seconds, age, sizeof(age));
			cli_ops_field("oldest unsynced", "%s (number %s), %s, received %s (%s ago)",
			              row->db.oldest_order_id, row->db.oldest_order_number,
			              row->db.oldest_state, row->db.oldest_received_at, age);
		} else {
			cli_ops_field("oldest unsynced", "none: every order is synced or skipped");
		}
		if (row->db.has_last_error)
			cli_ops_field("last error", "%s (%s since %s): %s",
			              row->db.last_error_order_id, row->db.last_error_state,
			              row->db.last_error_at, row->db.last_error);
		else
			cli_ops_field("last error", "none");
		if (row->budget_known && row->budget.paused_until_ms > 0) {
			cli_ops_format_age((row->budget.paused_until_ms - cli_ops_now_ms() + 999) /
			                       1000,
			                   age, sizeof(age));
			cli_ops_field("rate budget",
			              "0 of %d calls left: paused by a 429 for %s more",
			              row->budget.requests, age);
		} else if (row->budget_known) {
			cli_ops_field("rate budget", "%d of %d calls left in the %d s window",
			              row->budget.remaining, row->budget.requests,
			              row->connection->moneybird_rate_limit_per_seconds);
		} else {
			cli_ops_field("rate budget", "unknown: %s", row->budget_error);
		}
		if (row->db.paused)
			cli_ops_field("paused", "yes, since %s: %s", row->db.paused_at,
			              row->db.paused_reason[0] != '\0' ? row->db.paused_reason
			                                               : "(no reason recorded)");
		else
			cli_ops_field("paused", "no");
		cli_ops_field("redeliveries differ", "%" PRId64 "%s", row->db.redeliveries_differ,
		              row->db.redeliveries_differ > 0
		                  ? " (a known order_id was delivered again with another body; "
		                    "see `show ORDER`)"
		                  : "");
	}
	printf("\nSpooled deliveries waiting: %zu (in %s)\n", report->spooled, report->spool_dir);
	printf("Spool files set aside: %zu%s\n", report->spool_set_aside,
	       report->spool_set_aside > 0
	           ? " (in rejected/: unreadable, unsigned or refused; the log names each)"
	           : "");
}

int cli_ops_status(const struct config *config, int argc, char **argv)
{
	struct cli_ops_args args;
	struct status_report report;
	struct cn_error err = {""};
	PGconn *conn = NULL;
	int rc = cli_ops_parse_args(argc, argv, "json", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.positional_count > 0)
		return cli_usage(cli_ops_usage_text, "status takes no arguments (got \"%s\")",
		                 args.positional[0]);
	rc = cli_ops_connect_database(config, &conn);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (status_read(conn, config, &report, &err) != CN_OK) {
		cli_one_line(err.message);
		rc = cli_fail("%s", err.message);
		goto out;
	}
	if (args.json) {
		cJSON *root = status_json(&report);

		cli_ops_print_json(root);
		cJSON_Delete(root);
	} else {
		status_print(&report);
	}
	rc = CLI_EXIT_OK;
out:
	status_report_free(&report);
	PQfinish(conn);
	return rc;
}
