#include "cli_ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bookto.h"
#include "budget.h"
#include "cli_common.h"
#include "intake.h"
#include "mapping.h"
#include "mb_client.h"
#include "mb_json.h"
#include "mb_session.h"
#include "migrations.h"
#include "plan.h"
#include "runtime.h"
#include "spool.h"
#include "store.h"
#include "store_ops.h"
#include "store_sync.h"

#define MAX_POSITIONAL 4096

static const char *const command_names[] = {"status", "show", "retry", "replay", "preview"};

int cli_ops_is_command(const char *command)
{
	for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
		if (strcmp(command, command_names[i]) == 0)
			return 1;
	return 0;
}

static const char usage_text[] =
    "usage: bookto-moneybird status [--json]\n"
    "       bookto-moneybird show [--connection NAME] [--json] ORDER\n"
    "       bookto-moneybird retry [--connection NAME] ORDER... | --failed\n"
    "       bookto-moneybird replay [--connection NAME] FILE... | -\n"
    "       bookto-moneybird preview [--connection NAME] [--json] FILE | -\n";

/* ---- arguments ---- */

struct ops_args {
	bool json;
	bool failed;
	const char *connection;
	const char *positional[MAX_POSITIONAL];
	size_t positional_count;
};

/* Parses argv[1..]; `allowed` lists the options this command takes. */
static int parse_args(int argc, char **argv, const char *allowed, struct ops_args *args)
{
	bool options_done = false;

	memset(args, 0, sizeof(*args));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (!options_done && arg[0] == '-' && arg[1] == '-') {
			const char *name = arg + 2;
			const char *value = NULL;
			char option[32];
			const char *equals = strchr(name, '=');

			snprintf(option, sizeof(option), "%.*s",
			         (int)(equals != NULL ? (size_t)(equals - name) : strlen(name)),
			         name);
			if (strstr(allowed, option) == NULL || option[0] == '\0')
				return cli_usage(usage_text, "%s: unknown option %s", argv[0], arg);
			if (strcmp(option, "connection") == 0) {
				if (equals != NULL)
					value = equals + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				if (value == NULL || value[0] == '\0')
					return cli_usage(usage_text,
					                 "%s: --connection needs a connection name",
					                 argv[0]);
				args->connection = value;
			} else if (equals != NULL) {
				return cli_usage(usage_text, "%s: %s takes no value", argv[0],
				                 option);
			} else if (strcmp(option, "json") == 0) {
				args->json = true;
			} else if (strcmp(option, "failed") == 0) {
				args->failed = true;
			} else {
				return cli_usage(usage_text, "%s: unknown option %s", argv[0], arg);
			}
			continue;
		}
		if (args->positional_count == MAX_POSITIONAL)
			return cli_usage(usage_text, "%s: more than %d arguments", argv[0],
			                 MAX_POSITIONAL);
		args->positional[args->positional_count++] = arg;
	}
	return CLI_EXIT_OK;
}

/* The connection named by --connection, or the only one. */
static int pick_connection(const struct config *config, const char *command, const char *name,
                           size_t *index)
{
	if (name == NULL) {
		if (config->connection_count == 1) {
			*index = 0;
			return CLI_EXIT_OK;
		}
		return cli_usage(
		    usage_text,
		    "%s: %zu connections are configured; name one with --connection NAME", command,
		    config->connection_count);
	}
	for (size_t i = 0; i < config->connection_count; i++)
		if (strcmp(config->connections[i].name, name) == 0) {
			*index = i;
			return CLI_EXIT_OK;
		}
	return cli_usage(usage_text, "%s: no connection named \"%s\" is configured in %s", command,
	                 name, config->path);
}

static int connect_database(const struct config *config, PGconn **conn)
{
	struct cn_error err = {""};

	*conn = NULL;
	if (store_connect(config->database_conninfo, conn, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("%s (check database.conninfo)", err.message);
	}
	if (migrations_check(*conn, &err) != CN_OK) {
		cli_one_line(err.message);
		PQfinish(*conn);
		*conn = NULL;
		return cli_fail("%s", err.message);
	}
	return CLI_EXIT_OK;
}

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* "3d 4h", "2h 5m", "3m 12s", "45s". */
static void format_age(int64_t seconds, char *out, size_t size)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds >= 86400)
		snprintf(out, size, "%" PRId64 "d %" PRId64 "h", seconds / 86400,
		         seconds % 86400 / 3600);
	else if (seconds >= 3600)
		snprintf(out, size, "%" PRId64 "h %" PRId64 "m", seconds / 3600,
		         seconds % 3600 / 60);
	else if (seconds >= 60)
		snprintf(out, size, "%" PRId64 "m %" PRId64 "s", seconds / 60, seconds % 60);
	else
		snprintf(out, size, "%" PRId64 "s", seconds);
}

static int64_t text_int64(const char *text)
{
	char *end = NULL;
	long long value;

	if (text == NULL)
		return 0;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || end == text)
		return 0;
	return (int64_t)value;
}

static void print_json(cJSON *root)
{
	char *text = cJSON_Print(root);

	if (text != NULL) {
		fputs(text, stdout);
		fputc('\n', stdout);
	}
	free(text);
}

/* "label   value" lines of a block, values starting in one column. */
static void field(const char *label, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void field(const char *label, const char *fmt, ...)
{
	char value[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	for (char *p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	printf("  %-20s %s\n", label, value);
}

/* ---- status ---- */

struct status_row {
	const struct connection_config *connection;
	struct store_ops_connection_status db;
	bool budget_known;
	struct budget_state budget;
	char budget_error[512];
};

static cJSON *json_string_or_null(const char *text)
{
	return text != NULL && text[0] != '\0' ? cJSON_CreateString(text) : cJSON_CreateNull();
}

static cJSON *status_json(const struct status_row *rows, size_t count, size_t spooled,
                          const char *spool_dir)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *connections = cJSON_AddArrayToObject(root, "connections");
	char generated[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(generated, sizeof(generated), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(root, "generated_at", generated);
	for (size_t i = 0; i < count; i++) {
		const struct status_row *row = &rows[i];
		cJSON *item = cJSON_CreateObject();
		cJSON *orders = cJSON_CreateObject();
		cJSON *budget;

		cJSON_AddItemToArray(connections, item);
		cJSON_AddStringToObject(item, "name", row->connection->name);
		cJSON_AddStringToObject(item, "administration_id",
		                        row->connection->moneybird_administration_id);
		cJSON_AddBoolToObject(item, "registered", row->db.exists);
		for (size_t s = 0; s < STORE_OPS_STATE_COUNT; s++)
			cJSON_AddNumberToObject(orders, store_ops_states[s],
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
			                      json_string_or_null(row->db.paused_reason));
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
	cJSON_AddNumberToObject(root, "spooled_deliveries", (double)spooled);
	cJSON_AddNumberToObject(root, "spool_set_aside", (double)spool_rejected_count(spool_dir));
	cJSON_AddStringToObject(root, "spool_dir", spool_dir);
	return root;
}

static void status_print(const struct status_row *rows, size_t count, size_t spooled,
                         const char *spool_dir)
{
	struct cli_table table;
	char numbers[STORE_OPS_STATE_COUNT + 1][24];
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
		for (size_t s = 0; s < STORE_OPS_STATE_COUNT; s++) {
			snprintf(numbers[s], sizeof(numbers[s]), "%" PRId64, rows[i].db.orders[s]);
			cells[s + 1] = numbers[s];
		}
		cli_table_add(&table, cells);
	}
	cli_table_print(&table, "(no connections)", stdout);
	cli_table_free(&table);

	for (size_t i = 0; i < count; i++) {
		const struct status_row *row = &rows[i];
		char age[32];

		printf("\nConnection %s (Moneybird administration %s)\n", row->connection->name,
		       row->connection->moneybird_administration_id);
		if (!row->db.exists)
			field("registered", "no: `serve` has not run with this connection yet");
		field("orders", "%" PRId64 " in total", row->db.orders_total);
		if (row->db.has_oldest_unsynced) {
			format_age(row->db.oldest_age_seconds, age, sizeof(age));
			field("oldest unsynced", "%s (number %s), %s, received %s (%s ago)",
			      row->db.oldest_order_id, row->db.oldest_order_number,
			      row->db.oldest_state, row->db.oldest_received_at, age);
		} else {
			field("oldest unsynced", "none: every order is synced or skipped");
		}
		if (row->db.has_last_error)
			field("last error", "%s (%s since %s): %s", row->db.last_error_order_id,
			      row->db.last_error_state, row->db.last_error_at, row->db.last_error);
		else
			field("last error", "none");
		if (row->budget_known && row->budget.paused_until_ms > 0) {
			format_age((row->budget.paused_until_ms - now_ms() + 999) / 1000, age,
			           sizeof(age));
			field("rate budget", "0 of %d calls left: paused by a 429 for %s more",
			      row->budget.requests, age);
		} else if (row->budget_known) {
			field("rate budget", "%d of %d calls left in the %d s window",
			      row->budget.remaining, row->budget.requests,
			      row->connection->moneybird_rate_limit_per_seconds);
		} else {
			field("rate budget", "unknown: %s", row->budget_error);
		}
		if (row->db.paused)
			field("paused", "yes, since %s: %s", row->db.paused_at,
			      row->db.paused_reason[0] != '\0' ? row->db.paused_reason
			                                       : "(no reason recorded)");
		else
			field("paused", "no");
		field("redeliveries differ", "%" PRId64 "%s", row->db.redeliveries_differ,
		      row->db.redeliveries_differ > 0
		          ? " (a known order_id was delivered again with another body; "
		            "see `show ORDER`)"
		          : "");
	}
	printf("\nSpooled deliveries waiting: %zu (in %s)\n", spooled, spool_dir);
	printf("Spool files set aside: %zu%s\n", spool_rejected_count(spool_dir),
	       spool_rejected_count(spool_dir) > 0
	           ? " (in rejected/: unreadable, unsigned or refused; the log names each)"
	           : "");
}

int cli_ops_status(const struct config *config, int argc, char **argv)
{
	struct ops_args args;
	struct status_row *rows = NULL;
	PGconn *conn = NULL;
	size_t spooled;
	int rc = parse_args(argc, argv, "json", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.positional_count > 0)
		return cli_usage(usage_text, "status takes no arguments (got \"%s\")",
		                 args.positional[0]);
	rc = connect_database(config, &conn);
	if (rc != CLI_EXIT_OK)
		return rc;
	rows = calloc(config->connection_count, sizeof(*rows));
	if (rows == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	for (size_t i = 0; i < config->connection_count; i++) {
		const struct connection_config *cc = &config->connections[i];
		struct budget_limits limits;
		struct cn_error err = {""};
		char key[BUDGET_KEY_SIZE];

		rows[i].connection = cc;
		mb_session_limits(cc, &limits);
		if (store_ops_connection_status(conn, cc->name, &rows[i].db, &err) != CN_OK) {
			cli_one_line(err.message);
			rc = cli_fail("connection %s: %s", cc->name, err.message);
			goto out;
		}
		if (budget_token_key(cc->moneybird_api_token, key, &err) == CN_OK &&
		    budget_read(conn, key, &limits, &rows[i].budget, &err) == CN_OK) {
			rows[i].budget_known = true;
		} else {
			cli_one_line(err.message);
			snprintf(rows[i].budget_error, sizeof(rows[i].budget_error), "%s",
			         err.message);
		}
	}
	spooled = spool_count(config->spool_dir);
	if (args.json) {
		cJSON *root =
		    status_json(rows, config->connection_count, spooled, config->spool_dir);

		print_json(root);
		cJSON_Delete(root);
	} else {
		status_print(rows, config->connection_count, spooled, config->spool_dir);
	}
	rc = CLI_EXIT_OK;
out:
	free(rows);
	PQfinish(conn);
	return rc;
}

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

static const char *or_dash(const char *text)
{
	return text != NULL && text[0] != '\0' ? text : "-";
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
	       or_dash(store_ops_cell(orders, r, OPS_ORDER_ID)),
	       or_dash(store_ops_cell(orders, r, OPS_ORDER_NUMBER)),
	       or_dash(store_ops_cell(orders, r, OPS_ORDER_CONNECTION)));
	field("state", "%s", or_dash(cell_state));
	job_state = store_ops_cell(orders, r, OPS_ORDER_JOB_STATE);
	if (job_state != NULL && strcmp(job_state, "done") == 0)
		field("job", "done"); /* a next attempt would mislead */
	else if (job_state != NULL)
		field("job", "%s, next attempt %s, priority %s", job_state,
		      or_dash(store_ops_cell(orders, r, OPS_ORDER_JOB_NEXT_ATTEMPT_AT)),
		      or_dash(store_ops_cell(orders, r, OPS_ORDER_JOB_PRIORITY)));
	else
		field("job", "none");
	field("attempts", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_ATTEMPTS)));
	field("last error", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_LAST_ERROR)));
	field("test order", "%s",
	      strcmp(or_dash(store_ops_cell(orders, r, OPS_ORDER_IS_TEST)), "t") == 0 ? "yes"
	                                                                              : "no");
	field("amount", "%s %s incl. VAT (%s excl. + %s VAT at %s %%, %s)", total,
	      or_dash(store_ops_cell(orders, r, OPS_ORDER_CURRENCY)), excl, vat,
	      or_dash(store_ops_cell(orders, r, OPS_ORDER_VAT_RATE)),
	      or_dash(store_ops_cell(orders, r, OPS_ORDER_VAT_TREATMENT)));
	field("match_ref", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_MATCH_REF)));
	field("paid at", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_PAID_AT)));
	field("received at", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_RECEIVED_AT)));
	field("synced at", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_SYNCED_AT)));
	field("paid confirmed at", "%s",
	      or_dash(store_ops_cell(orders, r, OPS_ORDER_PAID_CONFIRMED_AT)));
	field("updated at", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_UPDATED_AT)));
	printf("\nMoneybird\n");
	field("contact", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_CONTACT_ID)));
	if (store_ops_cell(orders, r, OPS_ORDER_INVOICE_ID) != NULL)
		field("sales invoice", "%s (state %s, reference %s)",
		      store_ops_cell(orders, r, OPS_ORDER_INVOICE_ID),
		      or_dash(store_ops_cell(orders, r, OPS_ORDER_INVOICE_STATE)),
		      or_dash(store_ops_cell(orders, r, OPS_ORDER_INVOICE_REFERENCE)));
	else
		field("sales invoice", "-");
	field("payment", "%s", or_dash(store_ops_cell(orders, r, OPS_ORDER_PAYMENT_ID)));
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
	struct store_ops_table deliveries = {0}, attempts = {0}, audit = {0};
	struct cn_error err = {""};
	int64_t pk = text_int64(store_ops_cell(orders, r, OPS_ORDER_PK));
	int rc = CLI_EXIT_OK;

	if (store_ops_order_deliveries(conn, pk, &deliveries, &err) != CN_OK ||
	    store_ops_order_attempts(conn, pk, &attempts, &err) != CN_OK ||
	    store_ops_order_audit(conn, pk, &audit, &err) != CN_OK) {
		cli_one_line(err.message);
		rc = cli_fail("%s", err.message);
		goto out;
	}
	if (json) {
		cJSON *item = cJSON_CreateObject();

		cJSON_AddItemToObject(item, "order", json_row(orders, r));
		cJSON_AddItemToObject(item, "deliveries", json_rows(&deliveries));
		cJSON_AddItemToObject(item, "attempts", json_rows(&attempts));
		cJSON_AddItemToObject(item, "audit", json_rows(&audit));
		cJSON_AddItemToArray(json_list, item);
	} else {
		show_print_order(orders, r);
		show_print_table("Deliveries", &deliveries, delivery_headers, delivery_right,
		                 "(none)");
		show_print_table("Moneybird calls", &attempts, attempt_headers, attempt_right,
		                 "(none yet)");
		show_print_table("Audit history", &audit, audit_headers, audit_right, "(none)");
	}
out:
	store_ops_table_free(&deliveries);
	store_ops_table_free(&attempts);
	store_ops_table_free(&audit);
	return rc;
}

int cli_ops_show(const struct config *config, int argc, char **argv)
{
	struct ops_args args;
	struct store_ops_table orders = {0};
	struct cn_error err = {""};
	cJSON *root = NULL;
	cJSON *list = NULL;
	PGconn *conn = NULL;
	size_t index;
	int rc = parse_args(argc, argv, "json connection", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.positional_count != 1)
		return cli_usage(usage_text, "show takes one ORDER (an order_id or order_number)");
	if (args.connection != NULL) {
		rc = pick_connection(config, "show", args.connection, &index);
		if (rc != CLI_EXIT_OK)
			return rc;
	}
	rc = connect_database(config, &conn);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (store_ops_find_orders(conn, args.connection, args.positional[0], &orders, &err) !=
	    CN_OK) {
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
		print_json(root);
out:
	cJSON_Delete(root);
	store_ops_table_free(&orders);
	PQfinish(conn);
	return rc;
}

/* ---- retry ---- */

static const char *os_user(void)
{
	const char *sudo_user = getenv("SUDO_USER");
	struct passwd *pw;

	if (sudo_user != NULL && sudo_user[0] != '\0')
		return sudo_user;
	pw = getpwuid(geteuid());
	return pw != NULL && pw->pw_name != NULL ? pw->pw_name : "unknown";
}

/* Retries one order; counts into *queued / *problems. */
static int retry_one(PGconn *conn, int64_t pk, const char *connection, const char *order_id,
                     bool named, size_t *queued, size_t *problems)
{
	enum store_ops_retry_result result = STORE_OPS_RETRY_NOT_PARKED;
	struct cn_error err = {""};
	char state[24];

	if (store_ops_retry_order(conn, pk, os_user(), &result, state, &err) != CN_OK) {
		cli_one_line(err.message);
		(*problems)++;
		return cli_fail("order %s (connection %s): %s", order_id, connection, err.message);
	}
	if (result == STORE_OPS_RETRY_QUEUED) {
		printf("queued   %s (connection %s)\n", order_id, connection);
		(*queued)++;
	} else {
		printf("skipped  %s (connection %s): it is %s, not needs_attention\n", order_id,
		       connection, state);
		/* Named by the operator: not done. From --failed: it moved on meanwhile. */
		if (named)
			(*problems)++;
	}
	return CLI_EXIT_OK;
}

int cli_ops_retry(const struct config *config, int argc, char **argv)
{
	struct ops_args args;
	struct store_ops_table orders = {0};
	struct cn_error err = {""};
	PGconn *conn = NULL;
	size_t queued = 0, problems = 0, index;
	int rc = parse_args(argc, argv, "connection failed", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.failed == (args.positional_count > 0))
		return cli_usage(usage_text, "retry takes either ORDER... or --failed");
	if (args.connection != NULL) {
		rc = pick_connection(config, "retry", args.connection, &index);
		if (rc != CLI_EXIT_OK)
			return rc;
	}
	rc = connect_database(config, &conn);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (args.failed) {
		if (store_ops_parked_orders(conn, args.connection, &orders, &err) != CN_OK) {
			cli_one_line(err.message);
			rc = cli_fail("%s", err.message);
			goto out;
		}
		if (orders.rows == 0)
			printf("No order needs attention.\n");
		for (size_t r = 0; r < orders.rows; r++)
			retry_one(conn, text_int64(store_ops_cell(&orders, r, 0)),
			          store_ops_cell(&orders, r, 1), store_ops_cell(&orders, r, 2),
			          false, &queued, &problems);
		store_ops_table_free(&orders);
	}
	/* Every ORDER is resolved first: an ambiguous or unknown one stops
	 * the command before anything changed. */
	for (size_t i = 0; i < args.positional_count; i++) {
		if (store_ops_find_orders(conn, args.connection, args.positional[i], &orders,
		                          &err) != CN_OK) {
			cli_one_line(err.message);
			rc = cli_fail("%s", err.message);
			goto out;
		}
		if (orders.rows == 0) {
			rc = cli_fail(
			    "no order has order_id or order_number \"%s\"%s%s; nothing was "
			    "retried",
			    args.positional[i], args.connection != NULL ? " in connection " : "",
			    args.connection != NULL ? args.connection : "");
			goto out;
		}
		if (orders.rows > 1) {
			rc = cli_usage(usage_text,
			               "\"%s\" matches %zu orders (in connections %s and %s); name "
			               "the connection with --connection NAME; nothing was retried",
			               args.positional[i], orders.rows,
			               store_ops_cell(&orders, 0, OPS_ORDER_CONNECTION),
			               store_ops_cell(&orders, 1, OPS_ORDER_CONNECTION));
			goto out;
		}
		store_ops_table_free(&orders);
	}
	for (size_t i = 0; i < args.positional_count; i++) {
		if (store_ops_find_orders(conn, args.connection, args.positional[i], &orders,
		                          &err) != CN_OK ||
		    orders.rows != 1) {
			cli_one_line(err.message);
			rc = cli_fail("order %s: %s", args.positional[i],
			              err.message[0] != '\0' ? err.message : "it vanished");
			goto out;
		}
		retry_one(conn, text_int64(store_ops_cell(&orders, 0, OPS_ORDER_PK)),
		          store_ops_cell(&orders, 0, OPS_ORDER_CONNECTION),
		          store_ops_cell(&orders, 0, OPS_ORDER_ID), true, &queued, &problems);
		store_ops_table_free(&orders);
	}
	printf("%zu order%s queued again%s.\n", queued, queued == 1 ? "" : "s",
	       queued > 0 ? "; the workers were notified" : "");
	rc = problems > 0 ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
out:
	store_ops_table_free(&orders);
	PQfinish(conn);
	return rc;
}

/* ---- replay ---- */

#define REPLAY_PROGRESS_INTERVAL_MS 100

struct replay_counts {
	size_t seen;
	size_t accepted;
	size_t duplicate;
	size_t parked;
	size_t ignored;
	size_t invalid;
};

struct replay_run {
	struct intake_context intake;
	size_t connection_index;
	PGconn *conn; /* for the parked check */
	struct replay_counts counts;
	size_t total; /* known for files, 0 for stdin */
	bool progress;
	int64_t last_progress_ms;
};

static void replay_progress(struct replay_run *run, bool final)
{
	int64_t now = now_ms();
	char bar[31];

	if (!run->progress)
		return;
	if (!final && now - run->last_progress_ms < REPLAY_PROGRESS_INTERVAL_MS)
		return;
	run->last_progress_ms = now;
	if (final) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		return;
	}
	if (run->total > 0) {
		size_t filled = run->counts.seen * 30 / run->total;

		memset(bar, '#', filled);
		memset(bar + filled, '.', 30 - filled);
		bar[30] = '\0';
		fprintf(stderr,
		        "\r[%s] %zu/%zu  accepted %zu  duplicate %zu  parked %zu  invalid %zu", bar,
		        run->counts.seen, run->total, run->counts.accepted, run->counts.duplicate,
		        run->counts.parked, run->counts.invalid);
	} else {
		fprintf(stderr, "\r%zu read  accepted %zu  duplicate %zu  parked %zu  invalid %zu",
		        run->counts.seen, run->counts.accepted, run->counts.duplicate,
		        run->counts.parked, run->counts.invalid);
	}
	fflush(stderr);
}

/* A problem with one payload: printed on its own line under the bar. */
static void replay_note(struct replay_run *run, const char *where, const char *what)
{
	if (run->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "bookto-moneybird: %s: %s\n", where, what);
}

/* Stores one payload; CN_RETRYABLE stops the run (the database went away). */
static int replay_one(struct replay_run *run, const char *where, const unsigned char *body,
                      size_t body_len)
{
	struct intake_delivery delivery;
	enum intake_outcome outcome = INTAKE_ACCEPTED;
	struct bookto_order *order = NULL;
	struct cn_error err = {""};
	char state[24] = "";

	run->counts.seen++;
	if ((long)body_len > run->intake.config->http_max_body_bytes) {
		run->counts.invalid++;
		replay_note(run, where, "larger than http.max_body_bytes; not imported");
		return CN_OK;
	}
	memset(&delivery, 0, sizeof(delivery));
	delivery.connection_index = run->connection_index;
	intake_new_delivery_key(delivery.delivery_key);
	delivery.received_at_ms = now_ms();
	delivery.signature_timestamp = 0; /* replayed: no signature to record */
	delivery.source = "replay";
	delivery.body = body;
	delivery.body_len = body_len;
	if (intake_store(&run->intake, &delivery, &outcome, &err) != CN_OK) {
		cli_one_line(err.message);
		replay_note(run, where, err.message);
		run->counts.seen--;
		return CN_RETRYABLE;
	}
	switch (outcome) {
	case INTAKE_DUPLICATE:
		run->counts.duplicate++;
		break;
	case INTAKE_IGNORED:
		run->counts.ignored++;
		replay_note(run, where, "not an order.paid event; kept as ignored");
		break;
	case INTAKE_INVALID_JSON:
		run->counts.invalid++;
		replay_note(run, where, "not a JSON object; kept as invalid_json, no order made");
		break;
	case INTAKE_UNUSABLE:
		run->counts.invalid++;
		replay_note(run, where, err.message);
		break;
	case INTAKE_ACCEPTED:
	case INTAKE_SPOOLED:
		/* Parked at intake (amounts, VAT treatment, ...)? */
		if (bookto_parse_order((const char *)body, body_len, &order, &err) == CN_OK &&
		    order->order_id[0] != '\0' &&
		    store_ops_order_state(
		        run->conn, run->intake.runtime->connections[run->connection_index].id,
		        order->order_id, state, &err) == CN_OK &&
		    strcmp(state, "needs_attention") != 0)
			run->counts.accepted++;
		else
			run->counts.parked++;
		bookto_order_free(order);
		break;
	}
	replay_progress(run, false);
	return CN_OK;
}

/* Reads a whole file, at most max bytes (+1 to notice a larger one). */
static int read_file_capped(FILE *file, size_t max, unsigned char **out, size_t *len)
{
	size_t cap = 4096, used = 0;
	unsigned char *buffer = malloc(cap);

	*out = NULL;
	*len = 0;
	if (buffer == NULL)
		return CN_ERR;
	for (;;) {
		size_t n;

		if (used == cap) {
			unsigned char *grown;

			if (cap > max)
				break;
			cap *= 2;
			grown = realloc(buffer, cap);
			if (grown == NULL) {
				free(buffer);
				return CN_ERR;
			}
			buffer = grown;
		}
		n = fread(buffer + used, 1, cap - used, file);
		used += n;
		if (n == 0)
			break;
	}
	if (ferror(file)) {
		free(buffer);
		return CN_ERR;
	}
	*out = buffer;
	*len = used;
	return CN_OK;
}

static bool blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			return false;
	return true;
}

static int replay_stdin(struct replay_run *run)
{
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t got;
	size_t line_number = 0;
	int rc = CN_OK;

	while (rc == CN_OK && (got = getline(&line, &line_cap, stdin)) >= 0) {
		char where[48];
		size_t len = (size_t)got;

		line_number++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (blank(line, len))
			continue;
		snprintf(where, sizeof(where), "stdin line %zu", line_number);
		rc = replay_one(run, where, (const unsigned char *)line, len);
	}
	free(line);
	return rc;
}

static int replay_files(struct replay_run *run, const char *const *paths, size_t count,
                        size_t *unreadable)
{
	int rc = CN_OK;

	for (size_t i = 0; i < count && rc == CN_OK; i++) {
		FILE *file = fopen(paths[i], "rb");
		unsigned char *body = NULL;
		size_t len = 0;

		if (file == NULL) {
			replay_note(run, paths[i], strerror(errno));
			(*unreadable)++;
			run->counts.seen++;
			continue;
		}
		if (read_file_capped(file, (size_t)run->intake.config->http_max_body_bytes, &body,
		                     &len) != CN_OK) {
			replay_note(run, paths[i], "cannot be read");
			(*unreadable)++;
			run->counts.seen++;
		} else {
			rc = replay_one(run, paths[i], body, len);
		}
		free(body);
		fclose(file);
	}
	return rc;
}

int cli_ops_replay(const struct config *config, int argc, char **argv)
{
	struct ops_args args;
	struct replay_run run;
	struct cn_error err = {""};
	struct runtime *runtime = NULL;
	struct mapping *mapping = NULL;
	int64_t connection_id = 0;
	size_t unreadable = 0;
	bool from_stdin;
	int stored;
	int rc = parse_args(argc, argv, "connection", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	memset(&run, 0, sizeof(run));
	if (args.positional_count == 0)
		return cli_usage(usage_text, "replay needs FILE... or - (JSON lines on stdin)");
	from_stdin = args.positional_count == 1 && strcmp(args.positional[0], "-") == 0;
	for (size_t i = 0; !from_stdin && i < args.positional_count; i++)
		if (strcmp(args.positional[i], "-") == 0)
			return cli_usage(usage_text,
			                 "replay reads either files or - (stdin), not both");
	rc = pick_connection(config, "replay", args.connection, &run.connection_index);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (mapping_load(config->connections[run.connection_index].mapping_path, &mapping, stderr,
	                 &err) != CN_OK)
		return cli_usage(usage_text, "the mapping of connection %s is not valid: %s",
		                 config->connections[run.connection_index].name, err.message);
	/* intake_store looks the connection up in the runtime; only ours is filled. */
	run.intake.config = config;
	if (runtime_create(config, &runtime, &err) != CN_OK) {
		rc = cli_fail("%s", err.message);
		goto out;
	}
	run.intake.runtime = runtime;
	runtime->connections[run.connection_index].mapping = mapping;
	mapping = NULL; /* the runtime's now */
	rc = connect_database(config, &run.conn);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (store_connection_ensure(
	        run.conn, config->connections[run.connection_index].name,
	        config->connections[run.connection_index].moneybird_administration_id,
	        &connection_id, &err) != CN_OK ||
	    store_pool_create(config->database_conninfo, 1, &run.intake.pool, &err) != CN_OK) {
		cli_one_line(err.message);
		rc = cli_fail("%s", err.message);
		goto out;
	}
	runtime->connections[run.connection_index].id = connection_id;
	run.total = from_stdin ? 0 : args.positional_count;
	run.progress = isatty(STDERR_FILENO) == 1;
	if (from_stdin)
		stored = replay_stdin(&run);
	else
		stored = replay_files(&run, args.positional, args.positional_count, &unreadable);
	replay_progress(&run, true);
	printf("Replayed %zu payload%s into connection %s: %zu accepted, %zu duplicate, "
	       "%zu parked, %zu ignored, %zu invalid.\n",
	       run.counts.seen, run.counts.seen == 1 ? "" : "s",
	       config->connections[run.connection_index].name, run.counts.accepted,
	       run.counts.duplicate, run.counts.parked, run.counts.ignored,
	       run.counts.invalid + unreadable);
	if (stored != CN_OK) {
		rc =
		    cli_fail("the database stopped taking payloads; the rest was not imported. Run "
		             "the same replay again once it is back: what was stored is skipped as "
		             "duplicate");
		goto out;
	}
	if (run.counts.parked > 0)
		printf("Parked orders need attention: `bookto-moneybird status` and `show ORDER` "
		       "say why; `retry ORDER` after fixing it.\n");
	rc = run.counts.invalid + unreadable > 0 ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
out:
	store_pool_free(run.intake.pool);
	PQfinish(run.conn);
	runtime_free(runtime);
	mapping_free(mapping);
	return rc;
}

/* ---- preview ---- */

#define PREVIEW_BUDGET_WAIT_MS 15000
#define PREVIEW_MAX_REASONS 8

/* Stands for the id of a contact that sync would create first (README). */
#define PREVIEW_CONTACT_ID_PLACEHOLDER "<contact id>"

/* How sync would find the buyer's contact (resolve_contact in sync.c). */
enum preview_resolution {
	PREVIEW_CONTACT_UNKNOWN,   /* Moneybird was not asked (unreachable) */
	PREVIEW_CONTACT_MAPPED,    /* the local map has it: no call */
	PREVIEW_CONTACT_FOUND,     /* GET contacts/customer_id/{key} finds it */
	PREVIEW_CONTACT_SEARCHED,  /* the exact search adopts a hand-made one */
	PREVIEW_CONTACT_AMBIGUOUS, /* the search finds several: parked */
	PREVIEW_CONTACT_CREATE,    /* none anywhere: POST contacts */
};

static const char *const resolution_names[] = {
    "unknown", "mapped", "found_by_customer_id", "found_by_search", "ambiguous", "would_create"};

/* The exact request bodies sync would send, as parsed JSON (owned). */
struct preview_requests {
	cJSON *contact;       /* POST contacts; NULL when the contact is reused */
	cJSON *sales_invoice; /* POST sales_invoices */
	cJSON *send_invoice;  /* PATCH sales_invoices/{id}/send_invoice */
	cJSON *payment;       /* POST sales_invoices/{id}/payments */
};

struct preview {
	const struct connection_config *connection;
	const struct mapping *mapping;
	struct bookto_order *order;
	bool paid_order;
	bool test_skip;
	char *reasons[PREVIEW_MAX_REASONS]; /* why it would be parked (owned) */
	size_t reason_count;
	/* Read-only access: the contact map, the shared rate budget, Moneybird. */
	PGconn *db;
	struct mb_session session;
	struct mb_client *client;
	bool rates_known;
	char rates_error[512];
	enum preview_resolution resolution;
	char contact_id[STORE_ID_MAX]; /* known when mapped or found */
	char resolution_error[512];
	struct preview_requests requests;
	struct plan_delivery delivery; /* the send method, chosen as sync chooses it */
	struct mb_tax_rate *rates;
	size_t rate_count;
	struct plan_zone *zone;
	struct plan_contact *contact;
	struct plan_invoice *invoice;
	struct plan_payment *payment;
	char *reference; /* when the invoice could not be planned */
	/* The price basis without Moneybird's rates (plan_price_basis alone). */
	bool local_check_done;
	bool local_check_ok;
	struct plan_basis local_basis;
	char currency[8]; /* the administration's; "" when unknown */
};

static void preview_reason(struct preview *p, char *reason)
{
	if (reason == NULL)
		return;
	if (p->reason_count == PREVIEW_MAX_REASONS) {
		free(reason);
		return;
	}
	p->reasons[p->reason_count++] = reason;
}

static void preview_free(struct preview *p)
{
	for (size_t i = 0; i < p->reason_count; i++)
		free(p->reasons[i]);
	mb_session_close(&p->session);
	PQfinish(p->db);
	cJSON_Delete(p->requests.contact);
	cJSON_Delete(p->requests.sales_invoice);
	cJSON_Delete(p->requests.send_invoice);
	cJSON_Delete(p->requests.payment);
	bookto_order_free(p->order);
	free(p->rates);
	plan_zone_free(p->zone);
	plan_contact_free(p->contact);
	plan_invoice_free(p->invoice);
	plan_payment_free(p->payment);
	free(p->reference);
}

/* The database (contact map, shared rate budget) and a Moneybird client that
 * calls through the budget when the database is reachable. Failures are
 * reported, not fatal: preview then says what it could not know. */
static void preview_connect(const struct config *config, struct preview *p)
{
	struct mb_session_options options = {.priority = BUDGET_BACKGROUND,
	                                     .max_wait_ms = PREVIEW_BUDGET_WAIT_MS,
	                                     .timeout_ms = 10000};
	struct cn_error err = {""};
	int rc = store_connect(config->database_conninfo, &p->db, &err);

	if (rc == CN_OK)
		rc = mb_session_open(&p->session, p->connection, p->db, &options, &err);
	if (rc != CN_OK) {
		cli_one_line(err.message);
		fprintf(stderr,
		        "bookto-moneybird: warning: %s; calling Moneybird without the shared rate "
		        "budget\n",
		        err.message);
		PQfinish(p->db);
		p->db = NULL;
		mb_session_close(&p->session);
		rc = mb_session_open(&p->session, p->connection, NULL, &options, &err);
	}
	p->client = p->session.client;
	if (rc != CN_OK) {
		snprintf(p->rates_error, sizeof(p->rates_error), "%s", err.message);
		p->client = NULL;
	}
}

/* Moneybird's sales tax rates; a failure is reported, not fatal. */
static void preview_fetch_rates(struct preview *p)
{
	struct cn_error err = {""};

	if (p->client == NULL)
		return;
	if (mb_tax_rates_list(p->client, &p->rates, &p->rate_count, &err) != MB_OK) {
		cli_one_line(err.message);
		snprintf(p->rates_error, sizeof(p->rates_error), "%s", err.message);
		return;
	}
	p->rates_known = true;
}

/* The administration's currency against the order's, as sync checks it. */
static void preview_currency(struct preview *p)
{
	struct mb_administration *administrations = NULL;
	struct cn_error err = {""};
	char *reason = NULL;
	size_t count = 0;

	if (p->client == NULL ||
	    mb_administrations_list(p->client, &administrations, &count, &err) != MB_OK)
		return;
	for (size_t i = 0; i < count; i++)
		if (strcmp(administrations[i].id, p->connection->moneybird_administration_id) == 0)
			snprintf(p->currency, sizeof(p->currency), "%s",
			         administrations[i].currency);
	free(administrations);
	if (p->currency[0] != '\0' && p->order->currency != NULL && p->order->currency[0] != '\0' &&
	    plan_check_currency(p->order, p->currency, &reason, &err) == CN_INVALID)
		preview_reason(p, reason);
}

/* A failed lookup leaves the resolution unknown, with Moneybird's answer. */
static void preview_lookup_failed(struct preview *p, const char *what, struct cn_error *err)
{
	cli_one_line(err->message);
	snprintf(p->resolution_error, sizeof(p->resolution_error), "%s: %s", what, err->message);
	p->resolution = PREVIEW_CONTACT_UNKNOWN;
}

/* Several contacts match the search: sync parks the order with this reason. */
static void preview_ambiguous(struct preview *p, size_t matches,
                              const struct plan_contact_search *search)
{
	p->resolution = PREVIEW_CONTACT_AMBIGUOUS;
	preview_reason(p, plan_ambiguous_contact_reason(matches, search, p->contact->customer_id));
}

/*
 * The contact as sync's resolve_contact finds it, with the same read-only
 * steps: the local map, then GET contacts/customer_id/{key}, then one exact
 * search on the field match_ref rests on; only when all three come back empty
 * would sync create it. Lookups go through the shared rate budget.
 */
static void preview_resolve_contact(struct preview *p)
{
	const struct plan_contact *plan = p->contact;
	const char *administration_id = p->connection->moneybird_administration_id;
	struct plan_contact_search search = plan_contact_search(plan);
	struct mb_contact found;
	struct cn_error err = {""};
	size_t matches = 0;
	enum mb_outcome outcome;
	int rc;

	p->resolution = PREVIEW_CONTACT_UNKNOWN;
	if (p->db != NULL) {
		rc = store_contact_find(p->db, administration_id, p->order->match_ref,
		                        p->contact_id, &err);
		if (rc == CN_OK) {
			p->resolution = PREVIEW_CONTACT_MAPPED;
			return;
		}
		if (rc != CN_NOT_FOUND) {
			preview_lookup_failed(p, "reading the contact map", &err);
			return;
		}
	}
	if (p->client == NULL || !p->rates_known)
		return; /* Moneybird is not reachable: rates_error says why */
	outcome = mb_contact_get_by_customer_id(p->client, plan->customer_id, &found, &err);
	if (outcome == MB_OK) {
		snprintf(p->contact_id, sizeof(p->contact_id), "%s", found.id);
		p->resolution = PREVIEW_CONTACT_FOUND;
		return;
	}
	if (outcome != MB_NOT_FOUND) {
		preview_lookup_failed(p, "looking up the contact by customer_id", &err);
		return;
	}
	if (search.query != NULL) {
		outcome = mb_contact_search(p->client, search.query, search.field, false, &found,
		                            &matches, &err);
		if (outcome == MB_OK && matches > 1) {
			preview_ambiguous(p, matches, &search);
			return;
		}
		if (outcome == MB_OK) {
			snprintf(p->contact_id, sizeof(p->contact_id), "%s", found.id);
			p->resolution = PREVIEW_CONTACT_SEARCHED;
			return;
		}
		if (outcome != MB_NOT_FOUND) {
			preview_lookup_failed(p, "searching for an existing contact", &err);
			return;
		}
	}
	p->resolution = PREVIEW_CONTACT_CREATE;
}

/* The contact id the invoice would carry; NULL until sync has created it. */
static const char *preview_known_contact_id(const struct preview *p)
{
	return p->contact_id[0] != '\0' ? p->contact_id : NULL;
}

/* Parses a body built by mb_json; a builder's refusal (which would refuse the
 * request in sync too) becomes a park reason. */
static cJSON *preview_body(struct preview *p, const char *what, char *text, struct cn_error *err)
{
	cJSON *body;
	char *reason = NULL;

	if (text == NULL) {
		if (asprintf(&reason, "the %s request cannot be built: %s", what, err->message) < 0)
			reason = NULL;
		preview_reason(p, reason);
		return NULL;
	}
	body = cJSON_Parse(text);
	cJSON_free(text);
	return body;
}

/*
 * The request bodies, built by the same mb_json functions mb_client sends
 * with, from the same plans sync makes, so they cannot drift from what sync
 * sends. The invoice of a contact still to be created carries
 * PREVIEW_CONTACT_ID_PLACEHOLDER as its contact_id.
 */
static void preview_build_requests(struct preview *p)
{
	struct preview_requests *r = &p->requests;
	struct cn_error err = {""};

	/* Unknown: created unless Moneybird, once reachable, has it after all. */
	if (p->contact != NULL &&
	    (p->resolution == PREVIEW_CONTACT_CREATE || p->resolution == PREVIEW_CONTACT_UNKNOWN))
		r->contact = preview_body(p, "contact",
		                          mb_json_contact_body(&p->contact->request, &err), &err);
	if (p->invoice != NULL) {
		/* The builder insists on a Moneybird id: a contact still to be
		 * created gets a stand-in, replaced by the placeholder below. */
		struct mb_invoice_request request = p->invoice->request;
		bool placeholder = request.contact_id == NULL || request.contact_id[0] == '\0';

		if (placeholder)
			request.contact_id = "1";
		r->sales_invoice =
		    preview_body(p, "sales invoice", mb_json_invoice_body(&request, &err), &err);
		if (r->sales_invoice != NULL && placeholder)
			cJSON_ReplaceItemInObjectCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(r->sales_invoice, "sales_invoice"),
			    "contact_id", cJSON_CreateString(PREVIEW_CONTACT_ID_PLACEHOLDER));
	}
	r->send_invoice =
	    preview_body(p, "send invoice", mb_json_send_body(p->delivery.method, &err), &err);
	if (p->payment != NULL)
		r->payment = preview_body(p, "payment",
		                          mb_json_payment_body(&p->payment->request, &err), &err);
}

static int preview_plan(const struct config *config, struct preview *p)
{
	const struct bookto_order *order = p->order;
	struct cn_error err = {""};
	char *reason = NULL;
	int rc;

	plan_delivery(order, p->mapping, &p->delivery);
	if (order->park_reason != NULL)
		preview_reason(p, strdup(order->park_reason));
	if (order->vat_treatment[0] != '\0' &&
	    mapping_find_vat_treatment(p->mapping, order->vat_treatment) == NULL) {
		char *text = NULL;

		if (asprintf(&text,
		             "no mapping for vat_treatment \"%.64s\": add vat_treatments.%.64s "
		             "to %s",
		             order->vat_treatment, order->vat_treatment, p->mapping->path) >= 0)
			preview_reason(p, text);
	}
	p->test_skip = plan_test_order_policy(order, p->mapping) == PLAN_SKIP;
	if (plan_zone_load(p->connection->time_zone, &p->zone, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("connection %s: %s", p->connection->name, err.message);
	}
	rc = plan_contact(order, p->mapping, &p->contact, &reason, &err);
	if (rc == CN_INVALID)
		preview_reason(p, reason);
	else if (rc != CN_OK)
		return cli_fail("%s", err.message);
	reason = NULL;

	preview_connect(config, p);
	preview_fetch_rates(p);
	if (p->contact != NULL)
		preview_resolve_contact(p);
	if (p->rates_known) {
		rc = plan_invoice(order, p->mapping, p->rates, p->rate_count, p->zone,
		                  preview_known_contact_id(p), &p->invoice, &reason, &err);
		if (rc == CN_INVALID)
			preview_reason(p, reason);
		else if (rc != CN_OK)
			return cli_fail("%s", err.message);
		reason = NULL;
	} else {
		int64_t percentage = 0;

		if (plan_percentage_parse(order->vat_rate_text, &percentage) == CN_OK) {
			p->local_check_done = true;
			rc = plan_price_basis(order, p->mapping, percentage, &p->local_basis,
			                      &reason, &err);
			if (rc == CN_ERR)
				return cli_fail("%s", err.message);
			p->local_check_ok = rc == CN_OK;
			preview_reason(p, reason);
			reason = NULL;
		}
	}
	/* What sync decides before its first write: currency and send method. */
	preview_currency(p);
	if (plan_check_delivery(order, &p->delivery, &reason, &err) == CN_ERR)
		return cli_fail("%s", err.message);
	preview_reason(p, reason);
	reason = NULL;
	if (p->invoice == NULL) {
		rc = plan_reference(order, p->mapping, &p->reference, &reason, &err);
		if (rc == CN_INVALID)
			preview_reason(p, reason);
		else if (rc != CN_OK)
			return cli_fail("%s", err.message);
		reason = NULL;
	}
	rc = plan_payment(order, p->mapping, p->zone, &p->payment, &reason, &err);
	if (rc == CN_INVALID)
		preview_reason(p, reason);
	else if (rc != CN_OK)
		return cli_fail("%s", err.message);
	preview_build_requests(p);
	return CLI_EXIT_OK;
}

static const char *preview_verdict(const struct preview *p)
{
	if (!p->paid_order)
		return "ignore";
	if (p->test_skip)
		return "skip";
	if (p->reason_count > 0)
		return "park";
	if (!p->rates_known)
		return "unknown";
	return "sync";
}

static void json_add_text(cJSON *object, const char *name, const char *value)
{
	cJSON_AddItemToObject(object, name, json_string_or_null(value));
}

static cJSON *json_copy_or_null(const cJSON *item)
{
	return item != NULL ? cJSON_Duplicate(item, 1) : cJSON_CreateNull();
}

static cJSON *preview_requests_json(const struct preview_requests *r)
{
	cJSON *requests = cJSON_CreateObject();

	cJSON_AddItemToObject(requests, "contact", json_copy_or_null(r->contact));
	cJSON_AddItemToObject(requests, "sales_invoice", json_copy_or_null(r->sales_invoice));
	cJSON_AddItemToObject(requests, "send_invoice", json_copy_or_null(r->send_invoice));
	cJSON_AddItemToObject(requests, "payment", json_copy_or_null(r->payment));
	return requests;
}

static cJSON *preview_json(const struct preview *p)
{
	const struct bookto_order *order = p->order;
	cJSON *root = cJSON_CreateObject();
	cJSON *reasons = cJSON_CreateArray();
	cJSON *totals;

	cJSON_AddStringToObject(root, "connection", p->connection->name);
	cJSON_AddStringToObject(root, "event", order->event);
	json_add_text(root, "order_id", order->order_id);
	json_add_text(root, "order_number", order->order_number);
	cJSON_AddStringToObject(root, "verdict", preview_verdict(p));
	for (size_t i = 0; i < p->reason_count; i++)
		cJSON_AddItemToArray(reasons, cJSON_CreateString(p->reasons[i]));
	cJSON_AddItemToObject(root, "park_reasons", reasons);
	cJSON_AddBoolToObject(root, "test_order", order->is_test_order);
	cJSON_AddStringToObject(root, "test_order_policy", p->test_skip ? "skip" : "sync");
	cJSON_AddBoolToObject(root, "moneybird_reachable", p->rates_known);
	json_add_text(root, "moneybird_error", p->rates_known ? NULL : p->rates_error);
	if (!p->paid_order)
		return root;
	if (p->contact != NULL) {
		const struct mb_contact_request *c = &p->contact->request;
		cJSON *contact = cJSON_AddObjectToObject(root, "contact");

		cJSON_AddStringToObject(contact, "match_ref", order->match_ref);
		cJSON_AddStringToObject(contact, "customer_id", p->contact->customer_id);
		json_add_text(contact, "company_name", c->company_name);
		json_add_text(contact, "firstname", c->firstname);
		json_add_text(contact, "lastname", c->lastname);
		json_add_text(contact, "address1", c->address1);
		json_add_text(contact, "address2", c->address2);
		json_add_text(contact, "zipcode", c->zipcode);
		json_add_text(contact, "city", c->city);
		json_add_text(contact, "country", c->country);
		json_add_text(contact, "send_invoices_to_email", c->send_invoices_to_email);
		json_add_text(contact, "tax_number", c->tax_number);
		json_add_text(contact, "si_identifier", c->si_identifier);
		json_add_text(contact, "si_identifier_type", c->si_identifier_type);
		json_add_text(contact, "search_tax_number", p->contact->search_tax_number);
		json_add_text(contact, "search_email", p->contact->search_email);
		json_add_text(contact, "note", p->contact->note);
		cJSON_AddStringToObject(contact, "resolution", resolution_names[p->resolution]);
		json_add_text(contact, "contact_id", p->contact_id);
		json_add_text(contact, "resolution_error", p->resolution_error);
	} else {
		cJSON_AddNullToObject(root, "contact");
	}
	if (p->invoice != NULL) {
		const struct plan_invoice *inv = p->invoice;
		cJSON *invoice = cJSON_AddObjectToObject(root, "invoice");

		cJSON_AddStringToObject(invoice, "reference", inv->reference);
		cJSON_AddStringToObject(invoice, "invoice_date", inv->invoice_date);
		json_add_text(invoice, "currency", inv->currency);
		cJSON_AddBoolToObject(invoice, "prices_are_incl_tax",
		                      inv->request.prices_are_incl_tax);
		cJSON_AddStringToObject(invoice, "price_basis", inv->basis.incl ? "incl" : "excl");
		cJSON_AddStringToObject(invoice, "price_basis_why", inv->basis.why);
		json_add_text(invoice, "tax_rate_id", inv->tax_rate_id);
		json_add_text(invoice, "tax_rate_name", inv->tax_rate_name);
		json_add_text(invoice, "ledger_account_id", inv->ledger_account_id);
		json_add_text(invoice, "workflow_id", inv->workflow_id);
		json_add_text(invoice, "document_style_id", inv->document_style_id);
		json_add_text(invoice, "description", inv->description);
		cJSON_AddNumberToObject(invoice, "line_price_cents", (double)inv->line.price_cents);
		cJSON_AddNumberToObject(invoice, "total_excl_cents", (double)inv->total_excl_cents);
		cJSON_AddNumberToObject(invoice, "total_tax_cents", (double)inv->total_tax_cents);
		cJSON_AddNumberToObject(invoice, "total_incl_cents", (double)inv->total_incl_cents);
	} else {
		cJSON_AddNullToObject(root, "invoice");
	}
	json_add_text(root, "reference", p->invoice != NULL ? p->invoice->reference : p->reference);
	cJSON_AddStringToObject(root, "send_method", p->delivery.method);
	cJSON_AddStringToObject(root, "send_method_chosen_by", p->delivery.why);
	if (p->payment != NULL) {
		cJSON *payment = cJSON_AddObjectToObject(root, "payment");

		cJSON_AddStringToObject(payment, "payment_date", p->payment->payment_date);
		cJSON_AddNumberToObject(payment, "price_cents",
		                        (double)p->payment->request.price_cents);
		json_add_text(payment, "transaction_identifier",
		              p->payment->transaction_identifier);
		json_add_text(payment, "manual_payment_action", p->payment->manual_payment_action);
		json_add_text(payment, "financial_account_id", p->payment->financial_account_id);
	} else {
		cJSON_AddNullToObject(root, "payment");
	}
	totals = cJSON_AddObjectToObject(root, "totals_check");
	cJSON_AddNumberToObject(totals, "bookto_total_incl_cents", (double)order->total_incl_cents);
	if (p->invoice != NULL) {
		cJSON_AddNumberToObject(totals, "planned_total_incl_cents",
		                        (double)p->invoice->total_incl_cents);
		cJSON_AddBoolToObject(totals, "matches", true);
		cJSON_AddStringToObject(totals, "checked_against", "moneybird_tax_rate");
	} else if (p->local_check_done) {
		const struct plan_basis *basis = &p->local_basis;

		/* the basis sync would use, or (none fits) the excl computation */
		cJSON_AddNumberToObject(totals, "planned_total_incl_cents",
		                        (double)(p->local_check_ok && basis->incl
		                                     ? basis->incl_model.incl_cents
		                                     : basis->excl_model.incl_cents));
		cJSON_AddBoolToObject(totals, "matches", p->local_check_ok);
		cJSON_AddStringToObject(totals, "checked_against", "vat_rate");
		if (p->local_check_ok) {
			cJSON_AddStringToObject(totals, "price_basis",
			                        basis->incl ? "incl" : "excl");
			cJSON_AddStringToObject(totals, "price_basis_why", basis->why);
		}
	} else {
		cJSON_AddNullToObject(totals, "planned_total_incl_cents");
		cJSON_AddNullToObject(totals, "matches");
		cJSON_AddNullToObject(totals, "checked_against");
	}
	cJSON_AddItemToObject(root, "requests", preview_requests_json(&p->requests));
	return root;
}

/* A request body, pretty-printed and indented under its block. */
static void print_body(const char *request, const cJSON *body)
{
	char *text;

	if (body == NULL)
		return;
	text = cJSON_Print(body);
	if (text == NULL)
		return;
	printf("  request body (%s):\n    ", request);
	/* cJSON indents with tabs and puts one after each colon. */
	for (const char *c = text; *c != '\0'; c++) {
		if (*c == '\t')
			fputs(c == text || c[-1] == '\n' || c[-1] == '\t' ? "  " : " ", stdout);
		else if (*c == '\n')
			fputs("\n    ", stdout);
		else
			putchar(*c);
	}
	putchar('\n');
	cJSON_free(text);
}

/* One line on how sync would find the contact. */
static void print_resolution(const struct preview *p)
{
	switch (p->resolution) {
	case PREVIEW_CONTACT_MAPPED:
		field("resolution", "mapped already: contact %s (no call)", p->contact_id);
		break;
	case PREVIEW_CONTACT_FOUND:
		field("resolution", "found by customer_id: contact %s", p->contact_id);
		break;
	case PREVIEW_CONTACT_SEARCHED:
		field("resolution", "found by the exact search: contact %s is adopted",
		      p->contact_id);
		break;
	case PREVIEW_CONTACT_AMBIGUOUS:
		field("resolution", "the search finds several contacts: parked");
		break;
	case PREVIEW_CONTACT_CREATE:
		field("resolution", "would be created (not mapped, not found by customer_id or "
		                    "search)");
		break;
	default:
		field("resolution", "unknown (%s): created unless found by customer_id or search",
		      p->resolution_error[0] != '\0' ? p->resolution_error
		                                     : "Moneybird was not asked");
	}
}

static void preview_print(const struct preview *p)
{
	const struct bookto_order *order = p->order;
	const char *verdict = preview_verdict(p);
	char a[24], b[24], c[24];

	printf("Preview of order %s (number %s) for connection %s; nothing is written.\n",
	       or_dash(order->order_id), or_dash(order->order_number), p->connection->name);
	if (!p->paid_order) {
		printf("\nThe event is \"%s\", not order.paid: the delivery would be kept as "
		       "ignored and no order made.\n",
		       order->event);
		return;
	}
	if (!p->rates_known)
		printf("\nMoneybird could not be reached (%s): the tax rate is not known, so the "
		       "invoice is not planned and the totals are checked against vat_rate only.\n",
		       p->rates_error);
	printf("\nOrder\n");
	plan_format_cents(order->total_incl_cents, a, sizeof(a));
	plan_format_cents(order->excl_vat_cents, b, sizeof(b));
	plan_format_cents(order->vat_cents, c, sizeof(c));
	field("amount", "%s %s incl. VAT (%s excl. + %s VAT at %s %%, %s)", a, order->currency, b,
	      c, or_dash(order->vat_rate_text), or_dash(order->vat_treatment));
	field("paid at", "%s", or_dash(order->paid_at_text));
	field("test order", "%s",
	      order->is_test_order ? (p->test_skip ? "yes: skipped under the mapping's policy"
	                                           : "yes: synced under the mapping's policy")
	                           : "no");
	if (p->contact != NULL) {
		const struct mb_contact_request *ct = &p->contact->request;

		printf("\nContact (found by customer_id, else by search, else created)\n");
		field("match_ref", "%s", order->match_ref);
		field("customer_id", "%s", p->contact->customer_id);
		field("company name", "%s", or_dash(ct->company_name));
		field("name", "%s %s", ct->firstname != NULL ? ct->firstname : "",
		      ct->lastname != NULL ? ct->lastname : "");
		field("address", "%s%s%s, %s %s, %s", or_dash(ct->address1),
		      ct->address2 != NULL && ct->address2[0] != '\0' ? " " : "",
		      ct->address2 != NULL ? ct->address2 : "", or_dash(ct->zipcode),
		      or_dash(ct->city), or_dash(ct->country));
		field("email", "%s", or_dash(ct->send_invoices_to_email));
		field("tax number", "%s", or_dash(ct->tax_number));
		if (ct->si_identifier != NULL)
			field("Peppol", "%s %s", or_dash(ct->si_identifier_type),
			      ct->si_identifier);
		if (p->contact->search_tax_number != NULL || p->contact->search_email != NULL)
			field("search", "tax number %s, then email %s",
			      or_dash(p->contact->search_tax_number),
			      or_dash(p->contact->search_email));
		if (p->contact->note != NULL)
			field("note", "%s", p->contact->note);
		print_resolution(p);
		print_body("POST contacts", p->requests.contact);
	}
	printf("\nSales invoice\n");
	if (p->invoice != NULL) {
		const struct plan_invoice *inv = p->invoice;

		field("reference", "%s", inv->reference);
		field("invoice date", "%s", inv->invoice_date);
		field("currency", "%s", or_dash(inv->currency));
		field("tax rate", "%s (id %s)", or_dash(inv->tax_rate_name),
		      or_dash(inv->tax_rate_id));
		field("ledger account", "%s", or_dash(inv->ledger_account_id));
		field("workflow", "%s", or_dash(inv->workflow_id));
		field("document style", "%s", or_dash(inv->document_style_id));
		plan_format_cents(inv->line.price_cents, a, sizeof(a));
		field("line", "1 x %s (%s VAT)", a,
		      inv->request.prices_are_incl_tax ? "incl." : "excl.");
		field("price basis", "%s, chosen by %s", inv->basis.incl ? "incl" : "excl",
		      inv->basis.why);
		field("description", "%s", or_dash(inv->description));
		plan_format_cents(inv->total_excl_cents, a, sizeof(a));
		plan_format_cents(inv->total_tax_cents, b, sizeof(b));
		plan_format_cents(inv->total_incl_cents, c, sizeof(c));
		field("totals check", "%s + %s = %s: equals bookto's total_incl", a, b, c);
		print_body("POST sales_invoices", p->requests.sales_invoice);
	} else {
		field("reference", "%s", or_dash(p->reference));
		if (p->local_check_done) {
			field("price basis", "%s",
			      p->local_check_ok ? (p->local_basis.incl ? "incl" : "excl")
			                        : "none reproduces bookto's figures");
			if (p->local_check_ok)
				field("", "chosen by %s", p->local_basis.why);
			field("totals check", "%s",
			      p->local_check_ok ? "equal to bookto's figures" : "DIFFERENT");
		} else {
			field("totals check", "not possible (see the reasons below)");
		}
	}
	printf("\nSend\n");
	field("delivery method", "%s, chosen by %s", p->delivery.method, p->delivery.why);
	print_body("PATCH sales_invoices/{id}/send_invoice", p->requests.send_invoice);
	printf("\nPayment\n");
	if (p->payment != NULL) {
		plan_format_cents(p->payment->request.price_cents, a, sizeof(a));
		field("date", "%s", p->payment->payment_date);
		field("price", "%s", a);
		field("transaction id", "%s", or_dash(p->payment->transaction_identifier));
		field("manual action", "%s", or_dash(p->payment->manual_payment_action));
		field("financial account", "%s", or_dash(p->payment->financial_account_id));
		print_body("POST sales_invoices/{id}/payments", p->requests.payment);
	} else {
		field("payment", "not planned (see the reasons below)");
	}
	printf("\n");
	if (strcmp(verdict, "sync") == 0)
		printf("Verdict: would sync (contact, invoice, send, payment).\n");
	else if (strcmp(verdict, "skip") == 0)
		printf("Verdict: would be skipped (a test order under the skip policy).\n");
	else if (strcmp(verdict, "unknown") == 0)
		printf("Verdict: would sync if Moneybird has the tax rate the mapping asks for.\n");
	else
		printf("Verdict: would be parked needs_attention:\n");
	for (size_t i = 0; i < p->reason_count; i++)
		printf("  - %s\n", p->reasons[i]);
}

int cli_ops_preview(const struct config *config, int argc, char **argv)
{
	struct ops_args args;
	struct preview p;
	struct mapping *mapping = NULL;
	struct cn_error err = {""};
	unsigned char *body = NULL;
	size_t body_len = 0;
	size_t index = 0;
	FILE *file = NULL;
	int rc = parse_args(argc, argv, "connection json", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	if (args.positional_count != 1)
		return cli_usage(usage_text, "preview takes one FILE, or - for stdin");
	rc = pick_connection(config, "preview", args.connection, &index);
	if (rc != CLI_EXIT_OK)
		return rc;
	p.connection = &config->connections[index];
	if (mapping_load(p.connection->mapping_path, &mapping, stderr, &err) != CN_OK)
		return cli_usage(usage_text, "the mapping of connection %s is not valid: %s",
		                 p.connection->name, err.message);
	p.mapping = mapping;
	file = strcmp(args.positional[0], "-") == 0 ? stdin : fopen(args.positional[0], "rb");
	if (file == NULL) {
		rc = cli_fail("%s: %s", args.positional[0], strerror(errno));
		goto out;
	}
	if (read_file_capped(file, (size_t)config->http_max_body_bytes, &body, &body_len) !=
	    CN_OK) {
		rc = cli_fail("%s cannot be read", args.positional[0]);
		goto out;
	}
	if ((long)body_len > config->http_max_body_bytes) {
		rc = cli_fail(
		    "%s is larger than http.max_body_bytes (%ld): the webhook would answer "
		    "413",
		    args.positional[0], config->http_max_body_bytes);
		goto out;
	}
	if (bookto_parse_order((const char *)body, body_len, &p.order, &err) != CN_OK) {
		rc = cli_fail(
		    "%s is not a JSON object (%s): the webhook would answer 400 and keep it "
		    "as invalid_json",
		    args.positional[0], err.message);
		goto out;
	}
	p.paid_order = strcmp(p.order->event, "order.paid") == 0;
	if (p.paid_order) {
		rc = preview_plan(config, &p);
		if (rc != CLI_EXIT_OK)
			goto out;
	}
	if (args.json) {
		cJSON *root = preview_json(&p);

		print_json(root);
		cJSON_Delete(root);
	} else {
		preview_print(&p);
	}
	rc = CLI_EXIT_OK;
out:
	if (file != NULL && file != stdin)
		fclose(file);
	free(body);
	preview_free(&p);
	mapping_free(mapping);
	return rc;
}
