#include "cli_ops.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_common.h"
#include "plan.h"
#include "status.h"
#include "text.h"

#include "cli_ops_common.h"

/* ---- show ---- */

/* Columns whose text is a number or a boolean in JSON. */
static bool is_number_column(const char *name)
{
	static const char *const numbers[] = {
	    "pk",          "id",         "total_incl_cents", "excl_vat_cents",
	    "vat_cents",   "attempts",   "job_attempt",      "http_status",
	    "duration_ms", "body_bytes", "job_priority",
	};

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (strcmp(name, numbers[i]) == 0)
			return true;
	return false;
}

static cJSON *json_row(const struct store_ops_table *table, size_t row)
{
	cJSON *object = cJSON_CreateObject();

	for (size_t c = 0; c < table->columns; c++) {
		const char *name = table->names[c];
		const char *value = store_ops_cell(table, row, c);

		if (value == NULL)
			cJSON_AddNullToObject(object, name);
		else if (is_number_column(name))
			cJSON_AddNumberToObject(object, name, (double)text_int64(value));
		else if (strcmp(name, "is_test_order") == 0)
			cJSON_AddBoolToObject(object, name, strcmp(value, "t") == 0);
		else if (strcmp(name, "detail") == 0) {
			cJSON *detail = cJSON_Parse(value);

			cJSON_AddItemToObject(object, name,
			                      detail != NULL ? detail : cJSON_CreateString(value));
		} else
			cJSON_AddStringToObject(object, name, value);
	}
	return object;
}

static cJSON *json_rows(const struct store_ops_table *table)
{
	cJSON *array = cJSON_CreateArray();

	for (size_t r = 0; r < table->rows; r++)
		cJSON_AddItemToArray(array, json_row(table, r));
	return array;
}

/* An order's cell printed as a field ("-" when empty). */
struct shown_cell {
	const char *label;
	size_t column;
};

static const struct shown_cell show_progress[] = {{"attempts", OPS_ORDER_ATTEMPTS},
                                                  {"last error", OPS_ORDER_LAST_ERROR}};

static const struct shown_cell show_times[] = {{"match_ref", OPS_ORDER_MATCH_REF},
                                               {"paid at", OPS_ORDER_PAID_AT},
                                               {"received at", OPS_ORDER_RECEIVED_AT},
                                               {"synced at", OPS_ORDER_SYNCED_AT},
                                               {"paid confirmed at", OPS_ORDER_PAID_CONFIRMED_AT},
                                               {"updated at", OPS_ORDER_UPDATED_AT}};

static void show_cells(const struct store_ops_table *orders, size_t r,
                       const struct shown_cell *cells, size_t count)
{
	for (size_t i = 0; i < count; i++)
		cli_ops_field(cells[i].label, "%s",
		              cli_ops_or_dash(store_ops_cell(orders, r, cells[i].column)));
}

static void show_print_order(const struct store_ops_table *orders, size_t r)
{
	const char *cell_state = store_ops_cell(orders, r, OPS_ORDER_STATE);
	const char *job_state;
	char total[24], excl[24], vat[24];

	plan_format_cents(text_int64(store_ops_cell(orders, r, OPS_ORDER_TOTAL)), total,
	                  sizeof(total));
	plan_format_cents(text_int64(store_ops_cell(orders, r, OPS_ORDER_EXCL)), excl,
	                  sizeof(excl));
	plan_format_cents(text_int64(store_ops_cell(orders, r, OPS_ORDER_VAT)), vat, sizeof(vat));
	printf("Order %s (number %s) on connection %s\n",
	       cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_ID)),
	       cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_NUMBER)),
	       cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_CONNECTION)));
	cli_ops_field("state", "%s", cli_ops_or_dash(cell_state));
	job_state = store_ops_cell(orders, r, OPS_ORDER_JOB_STATE);
	if (job_state != NULL && strcmp(job_state, "done") == 0)
		cli_ops_field("job", "done"); /* a next attempt would mislead */
	else if (job_state != NULL)
		cli_ops_field(
		    "job", "%s, next attempt %s, priority %s", job_state,
		    cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_JOB_NEXT_ATTEMPT_AT)),
		    cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_JOB_PRIORITY)));
	else
		cli_ops_field("job", "none");
	show_cells(orders, r, show_progress, sizeof(show_progress) / sizeof(show_progress[0]));
	cli_ops_field(
	    "test order", "%s",
	    strcmp(cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_IS_TEST)), "t") == 0 ? "yes"
	                                                                                    : "no");
	cli_ops_field("amount", "%s %s incl. VAT (%s excl. + %s VAT at %s %%, %s)", total,
	              cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_CURRENCY)), excl, vat,
	              cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_VAT_RATE)),
	              cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_VAT_TREATMENT)));
	show_cells(orders, r, show_times, sizeof(show_times) / sizeof(show_times[0]));
	printf("\nMoneybird\n");
	cli_ops_field("contact", "%s",
	              cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_CONTACT_ID)));
	if (store_ops_cell(orders, r, OPS_ORDER_INVOICE_ID) != NULL)
		cli_ops_field(
		    "sales invoice", "%s (state %s, reference %s)",
		    store_ops_cell(orders, r, OPS_ORDER_INVOICE_ID),
		    cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_INVOICE_STATE)),
		    cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_INVOICE_REFERENCE)));
	else
		cli_ops_field("sales invoice", "-");
	cli_ops_field("payment", "%s",
	              cli_ops_or_dash(store_ops_cell(orders, r, OPS_ORDER_PAYMENT_ID)));
}

/* Prints a result table with the given headers (one per column). */
static void show_print_table(const char *title, const struct store_ops_table *data,
                             const char *const *headers, const bool *right, const char *empty)
{
	struct cli_table table;
	const char *cells[CLI_TABLE_MAX_COLUMNS];

	memset(&table, 0, sizeof(table));
	table.columns =
	    data->columns < CLI_TABLE_MAX_COLUMNS ? data->columns : CLI_TABLE_MAX_COLUMNS;
	for (size_t c = 0; c < table.columns; c++) {
		table.headers[c] = headers[c];
		table.right[c] = right[c];
	}
	printf("\n%s (%zu)\n", title, data->rows);
	for (size_t r = 0; r < data->rows; r++) {
		for (size_t c = 0; c < table.columns; c++)
			cells[c] = store_ops_cell(data, r, c);
		cli_table_add(&table, cells);
	}
	cli_table_print(&table, empty, stdout);
	cli_table_free(&table);
}

static int show_one(PGconn *conn, const struct store_ops_table *orders, size_t r, bool json,
                    cJSON *json_list)
{
	static const char *const delivery_headers[] = {"ID",    "RECEIVED_AT", "SOURCE", "OUTCOME",
	                                               "EVENT", "BODY_SHA256", "BYTES"};
	static const bool delivery_right[] = {true, false, false, false, false, false, true};
	static const char *const attempt_headers[] = {"AT",   "ATTEMPT", "ENDPOINT", "OUTCOME",
	                                              "HTTP", "MS",      "ERROR"};
	static const bool attempt_right[] = {false, true, false, false, true, true, false};
	static const char *const audit_headers[] = {"ID",   "AT", "ACTOR", "ACTION",
	                                            "FROM", "TO", "DETAIL"};
	static const bool audit_right[] = {true, false, false, false, false, false, false};
	struct status_order story;
	struct cn_error err = {""};
	int rc = CLI_EXIT_OK;

	if (status_order_read(conn, orders, r, &story, &err) != CN_OK) {
		cli_one_line(err.message);
		rc = cli_fail("%s", err.message);
		goto out;
	}
	if (json) {
		cJSON *item = cJSON_CreateObject();

		cJSON_AddItemToObject(item, "order", json_row(orders, r));
		cJSON_AddItemToObject(item, "deliveries", json_rows(&story.deliveries));
		cJSON_AddItemToObject(item, "attempts", json_rows(&story.attempts));
		cJSON_AddItemToObject(item, "audit", json_rows(&story.audit));
		cJSON_AddItemToArray(json_list, item);
	} else {
		show_print_order(orders, r);
		show_print_table("Deliveries", &story.deliveries, delivery_headers, delivery_right,
		                 "(none)");
		show_print_table("Moneybird calls", &story.attempts, attempt_headers, attempt_right,
		                 "(none yet)");
		show_print_table("Audit history", &story.audit, audit_headers, audit_right,
		                 "(none)");
	}
out:
	status_order_free(&story);
	return rc;
}

int cli_ops_show(const struct config *config, int argc, char **argv)
{
	struct cli_ops_args args;
	struct store_ops_table orders = {0};
	struct cn_error err = {""};
	cJSON *root = NULL;
	cJSON *list = NULL;
	PGconn *conn = NULL;
	int rc = cli_ops_parse_args(argc, argv, "json connection", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.positional_count != 1)
		return cli_usage(cli_ops_usage_text,
		                 "show takes one ORDER (an order_id or order_number)");
	rc = cli_ops_open_orders(config, "show", args.connection, &conn);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (status_orders_find(conn, args.connection, args.positional[0], &orders, &err) != CN_OK) {
		cli_one_line(err.message);
		rc = cli_fail("%s", err.message);
		goto out;
	}
	if (orders.rows == 0) {
		rc = cli_fail("no order has order_id or order_number \"%s\"%s%s",
		              args.positional[0], args.connection != NULL ? " in connection " : "",
		              args.connection != NULL ? args.connection : "");
		goto out;
	}
	if (args.json) {
		root = cJSON_CreateObject();
		list = cJSON_AddArrayToObject(root, "orders");
	} else if (orders.rows > 1) {
		printf("%zu orders match \"%s\"; each is shown below.\n\n", orders.rows,
		       args.positional[0]);
	}
	for (size_t r = 0; r < orders.rows && rc == CLI_EXIT_OK; r++) {
		if (!args.json && r > 0)
			printf("\n%s\n\n", "----------------------------------------");
		rc = show_one(conn, &orders, r, args.json, list);
	}
	if (rc == CLI_EXIT_OK && root != NULL)
		cli_ops_print_json(root);
out:
	cJSON_Delete(root);
	store_ops_table_free(&orders);
	PQfinish(conn);
	return rc;
}
