#include "cli_moneybird.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "cli_common.h"
#include "mb_client.h"
#include "mb_json.h"
#include "mb_session.h"
#include "store.h"
#include "store_webhook.h"

#define CLI_BUDGET_WAIT_MS 15000 /* an operator waits a little, never minutes */

static const char *const webhook_events[] = {
    "sales_invoice_state_changed_to_paid",
    "payment_registered",
    "payment_destroyed",
    /* the contact index (engine/contact_events.c): hand-made contacts */
    "contact_created",
    "contact_changed",
    "contact_destroyed",
    "contact_archived",
    "contact_activated",
};

static const char usage_text[] =
    "usage: bookto-moneybird moneybird [--connection NAME] check\n"
    "       bookto-moneybird moneybird [--connection NAME] webhook register URL\n"
    "       bookto-moneybird moneybird [--connection NAME] webhook list\n"
    "       bookto-moneybird moneybird [--connection NAME] webhook delete ID\n";

/* ---- one connection's client, gated by the shared budget ---- */

struct session {
	const struct connection_config *connection;
	struct mb_session mb;
	struct mb_client *client;
};

/* Creates the client; with db it goes through the shared budget. */
static int session_open(struct session *session, const struct connection_config *connection,
                        PGconn *db)
{
	struct mb_session_options options = {.priority = BUDGET_LIVE,
	                                     .max_wait_ms = CLI_BUDGET_WAIT_MS};
	struct cn_error err = {""};

	memset(session, 0, sizeof(*session));
	session->connection = connection;
	if (mb_session_open(&session->mb, connection, db, &options, &err) != 0)
		return cli_fail("connection %s: %s", connection->name, err.message);
	session->client = session->mb.client;
	return 0;
}

static void session_close(struct session *session)
{
	mb_session_close(&session->mb);
	session->client = NULL;
}

/* A failed call as one sentence naming the connection. */
static int call_failed(const struct session *session, enum mb_outcome outcome,
                       const struct cn_error *err)
{
	(void)outcome;
	return cli_fail("connection %s: %s", session->connection->name, err->message);
}

/* Opens the database and checks that the budget's table is there. */
static int open_database(const struct config *config, PGconn **db, bool required)
{
	struct cn_error err = {""};
	struct budget_limits limits = {1, 1, 0};
	struct budget_state state;
	char key[BUDGET_KEY_SIZE];

	*db = NULL;
	if (store_connect(config->database_conninfo, db, &err) != 0)
		goto unavailable;
	if (budget_token_key("probe", key, &err) != 0 ||
	    budget_read(*db, key, &limits, &state, &err) != 0) {
		error_prefix(&err, "the schema is not current (run `bookto-moneybird migrate`)");
		PQfinish(*db);
		*db = NULL;
		goto unavailable;
	}
	return 0;
unavailable:
	cli_one_line(err.message);
	if (required)
		return cli_fail("%s", err.message);
	fprintf(stderr,
	        "bookto-moneybird: warning: %s; calling Moneybird without the shared rate budget\n",
	        err.message);
	return 0;
}

/* ---- check ---- */

/* The token reaches the configured administration; lists the reachable ones otherwise. */
static int check_administration(struct session *session)
{
	const struct connection_config *connection = session->connection;
	struct mb_administration *administrations = NULL;
	const struct mb_administration *mine = NULL;
	struct cn_error err = {""};
	enum mb_outcome outcome;
	size_t count = 0;
	size_t i;

	outcome = mb_administrations_list(session->client, &administrations, &count, &err);
	if (outcome != MB_OK) {
		call_failed(session, outcome, &err);
		return CLI_EXIT_RUNTIME;
	}
	for (i = 0; i < count; i++)
		if (strcmp(administrations[i].id, connection->moneybird_administration_id) == 0)
			mine = &administrations[i];
	if (mine == NULL) {
		fprintf(stderr,
		        "bookto-moneybird: connection %s: the API token works but has no access to "
		        "administration %s; it can access:",
		        connection->name, connection->moneybird_administration_id);
		for (i = 0; i < count; i++)
			fprintf(stderr, "%s %s (%s)", i > 0 ? "," : "", administrations[i].id,
			        administrations[i].name);
		fprintf(stderr, "%s\n", count == 0 ? " none" : "");
		free(administrations);
		return CLI_EXIT_RUNTIME;
	}
	printf("Connection %s: the API token works; administration %s \"%s\" (%s, %s, %s).\n",
	       connection->name, mine->id, mine->name, mine->currency, mine->country,
	       mine->time_zone);
	free(administrations);
	return 0;
}

static int show_tax_rates(struct session *session)
{
	struct mb_tax_rate *tax_rates = NULL;
	struct cn_error err = {""};
	struct cli_table table = {.columns = 4,
	                          .headers = {"ID", "NAME", "PERCENTAGE", "COUNTRY"},
	                          .cell_cut = CLI_TABLE_CELL_CUT};
	enum mb_outcome outcome;
	size_t count = 0;
	size_t hidden = 0;

	outcome = mb_tax_rates_list(session->client, &tax_rates, &count, &err);
	if (outcome != MB_OK) {
		call_failed(session, outcome, &err);
		return CLI_EXIT_RUNTIME;
	}
	printf("\nSales tax rates (for the mapping's tax rates):\n");
	for (size_t i = 0; i < count; i++) {
		if (strcmp(tax_rates[i].tax_rate_type, "sales_invoice") != 0 ||
		    !tax_rates[i].active) {
			hidden++;
			continue;
		}
		cli_table_add(&table,
		              (const char *const[]){
		                  tax_rates[i].id, tax_rates[i].name, tax_rates[i].percentage,
		                  tax_rates[i].country[0] != '\0' ? tax_rates[i].country : "-"});
	}
	cli_table_print(&table, "(no active sales tax rates)", stdout);
	cli_table_free(&table);
	if (hidden > 0)
		printf("  (%zu purchase, journal or inactive tax rates not shown)\n", hidden);
	free(tax_rates);
	return 0;
}

static int show_ledger_accounts(struct session *session)
{
	struct mb_ledger_account *ledgers = NULL;
	struct cn_error err = {""};
	struct cli_table table = {
	    .columns = 3, .headers = {"ID", "NAME", "CODE"}, .cell_cut = CLI_TABLE_CELL_CUT};
	enum mb_outcome outcome;
	size_t count = 0;
	size_t hidden = 0;

	outcome = mb_ledger_accounts_list(session->client, &ledgers, &count, &err);
	if (outcome != MB_OK) {
		call_failed(session, outcome, &err);
		return CLI_EXIT_RUNTIME;
	}
	printf("\nRevenue ledger accounts (for the mapping's ledger accounts):\n");
	for (size_t i = 0; i < count; i++) {
		if (strcmp(ledgers[i].account_type, "revenue") != 0) {
			hidden++;
			continue;
		}
		cli_table_add(&table, (const char *const[]){ledgers[i].id, ledgers[i].name,
		                                            ledgers[i].account_id[0] != '\0'
		                                                ? ledgers[i].account_id
		                                                : "-"});
	}
	cli_table_print(&table, "(no revenue ledger accounts)", stdout);
	cli_table_free(&table);
	if (hidden > 0)
		printf("  (%zu other ledger accounts not shown)\n", hidden);
	free(ledgers);
	return 0;
}

static int show_financial_accounts(struct session *session)
{
	struct mb_financial_account *accounts = NULL;
	struct cn_error err = {""};
	struct cli_table table = {.columns = 5,
	                          .headers = {"ID", "NAME", "TYPE", "IDENTIFIER", "CURRENCY"},
	                          .cell_cut = CLI_TABLE_CELL_CUT};
	enum mb_outcome outcome;
	size_t count = 0;

	outcome = mb_financial_accounts_list(session->client, &accounts, &count, &err);
	if (outcome != MB_OK) {
		call_failed(session, outcome, &err);
		return CLI_EXIT_RUNTIME;
	}
	printf("\nFinancial accounts (for payments booked to an account):\n");
	for (size_t i = 0; i < count; i++)
		cli_table_add(&table, (const char *const[]){
		                          accounts[i].id, accounts[i].name, accounts[i].type,
		                          accounts[i].identifier, accounts[i].currency});
	cli_table_print(&table, "(no active financial accounts)", stdout);
	cli_table_free(&table);
	free(accounts);
	return 0;
}

static int show_workflows(struct session *session)
{
	struct mb_workflow *workflows = NULL;
	struct cn_error err = {""};
	struct cli_table table = {
	    .columns = 6,
	    .headers = {"ID", "NAME", "TYPE", "CURRENCY", "PRICES", "DEFAULT"},
	    .cell_cut = CLI_TABLE_CELL_CUT};
	enum mb_outcome outcome;
	size_t count = 0;

	outcome = mb_workflows_list(session->client, &workflows, &count, &err);
	if (outcome != MB_OK) {
		call_failed(session, outcome, &err);
		return CLI_EXIT_RUNTIME;
	}
	printf("\nWorkflows (an InvoiceWorkflow id can be the invoices' workflow):\n");
	for (size_t i = 0; i < count; i++)
		cli_table_add(&table,
		              (const char *const[]){workflows[i].id, workflows[i].name,
		                                    workflows[i].type, workflows[i].currency,
		                                    workflows[i].prices_are_incl_tax ? "incl. tax"
		                                                                     : "excl. tax",
		                                    workflows[i].is_default ? "yes" : ""});
	cli_table_print(&table, "(no workflows)", stdout);
	cli_table_free(&table);
	free(workflows);
	return 0;
}

static int show_document_styles(struct session *session)
{
	struct mb_document_style *styles = NULL;
	struct cn_error err = {""};
	struct cli_table table = {
	    .columns = 3, .headers = {"ID", "NAME", "DEFAULT"}, .cell_cut = CLI_TABLE_CELL_CUT};
	enum mb_outcome outcome;
	size_t count = 0;

	outcome = mb_document_styles_list(session->client, &styles, &count, &err);
	if (outcome != MB_OK) {
		call_failed(session, outcome, &err);
		return CLI_EXIT_RUNTIME;
	}
	printf("\nDocument styles:\n");
	for (size_t i = 0; i < count; i++)
		cli_table_add(&table, (const char *const[]){styles[i].id, styles[i].name,
		                                            styles[i].is_default ? "yes" : ""});
	cli_table_print(&table, "(no document styles)", stdout);
	cli_table_free(&table);
	free(styles);
	return 0;
}

/* The token and administration, then every list the mapping's ids come from;
 * the first failing call ends the check. */
static int check_connection(const struct connection_config *connection, PGconn *db)
{
	static int (*const steps[])(struct session *) = {
	    check_administration,    show_tax_rates, show_ledger_accounts,
	    show_financial_accounts, show_workflows, show_document_styles,
	};
	struct session session;
	int rc = session_open(&session, connection, db);

	if (rc != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++)
		rc = steps[i](&session);
	session_close(&session);
	return rc;
}

static int command_check(const struct config *config, const struct connection_config *only)
{
	PGconn *db = NULL;
	int rc;
	int result = 0;
	size_t i;

	rc = open_database(config, &db, false);
	if (rc != 0)
		return rc;
	for (i = 0; i < config->connection_count; i++) {
		const struct connection_config *connection = &config->connections[i];

		if (only != NULL && only != connection)
			continue;
		if (i > 0 && only == NULL)
			printf("\n");
		rc = check_connection(connection, db);
		if (rc != 0)
			result = rc;
	}
	PQfinish(db);
	return result;
}

/* ---- webhooks ---- */

/* First four characters, then an ellipsis: enough to tell secrets apart. */
static void mask(const char *secret, char *out, size_t size)
{
	size_t length = strlen(secret);

	if (length == 0) {
		snprintf(out, size, "(none)");
		return;
	}
	snprintf(out, size, "%.4s\xe2\x80\xa6", secret);
}

static int webhook_register(const struct connection_config *connection, PGconn *db,
                            int64_t connection_pk, const char *url)
{
	struct session session;
	struct mb_webhook webhook;
	struct cn_error err = {""};
	struct cn_error cleanup_err = {""};
	char previous[MB_ID_MAX + 8] = "";
	char masked_token[16];
	char masked_secret[16];
	enum mb_outcome outcome;
	int rc;

	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return cli_usage(usage_text, "the webhook URL must start with https:// (got %s)",
		                 url);
	if (store_webhook_get(db, connection_pk, previous, sizeof(previous), &err) != 0)
		return cli_fail("%s", err.message);
	rc = session_open(&session, connection, db);
	if (rc != 0)
		return rc;
	rc = CLI_EXIT_RUNTIME;
	outcome =
	    mb_webhook_create(session.client, url, webhook_events,
	                      sizeof(webhook_events) / sizeof(webhook_events[0]), &webhook, &err);
	if (outcome != MB_OK) {
		call_failed(&session, outcome, &err);
		if (outcome == MB_UNKNOWN_OUTCOME)
			fprintf(stderr,
			        "bookto-moneybird: check `moneybird webhook list` and delete "
			        "a webhook that was created anyway; its secret is lost\n");
		goto out;
	}
	if (webhook.token[0] == '\0' || webhook.secret[0] == '\0') {
		cli_fail(
		    "connection %s: Moneybird created webhook %s without returning its token and "
		    "secret",
		    connection->name, webhook.id);
		goto undo;
	}
	if (store_webhook_save(db, connection_pk, webhook.id, webhook.token, webhook.secret,
	                       &err) != 0) {
		cli_fail("connection %s: %s", connection->name, err.message);
		goto undo;
	}
	mask(webhook.token, masked_token, sizeof(masked_token));
	mask(webhook.secret, masked_secret, sizeof(masked_secret));
	printf("Registered Moneybird webhook %s for connection %s:\n", webhook.id,
	       connection->name);
	printf("  url     %s\n", webhook.url[0] != '\0' ? webhook.url : url);
	printf("  events  %s\n", webhook.enabled_events);
	printf("  token   %s\n", masked_token);
	printf("  secret  %s (stored in the database; Moneybird shows it only once)\n",
	       masked_secret);
	if (previous[0] != '\0' && strcmp(previous, webhook.id) != 0)
		printf("The connection's previous webhook %s no longer verifies; remove it with "
		       "`bookto-moneybird moneybird --connection %s webhook delete %s`.\n",
		       previous, connection->name, previous);
	rc = 0;
	goto out;
undo:
	/* Without its stored secret the webhook is useless: remove it again. */
	if (mb_webhook_delete(session.client, webhook.id, &cleanup_err) != MB_OK)
		fprintf(stderr,
		        "bookto-moneybird: could not remove webhook %s again (%s); delete it "
		        "with `moneybird webhook delete %s`\n",
		        webhook.id, cleanup_err.message, webhook.id);
out:
	explicit_bzero(&webhook, sizeof(webhook));
	session_close(&session);
	return rc;
}

static int webhook_list(const struct connection_config *connection, PGconn *db,
                        int64_t connection_pk)
{
	struct session session;
	struct mb_webhook *webhooks = NULL;
	struct cn_error err = {""};
	char stored[MB_ID_MAX + 8] = "";
	char status[16];
	struct cli_table table = {.columns = 5,
	                          .headers = {"ID", "URL", "EVENTS", "LAST STATUS", "CONNECTOR"},
	                          .cell_cut = CLI_TABLE_CELL_CUT};
	size_t count = 0;
	size_t i;
	enum mb_outcome outcome;
	int rc;

	if (store_webhook_get(db, connection_pk, stored, sizeof(stored), &err) != 0)
		return cli_fail("%s", err.message);
	rc = session_open(&session, connection, db);
	if (rc != 0)
		return rc;
	outcome = mb_webhooks_list(session.client, &webhooks, &count, &err);
	if (outcome != MB_OK) {
		rc = call_failed(&session, outcome, &err);
		goto out;
	}
	printf("Moneybird webhooks of administration %s (connection %s):\n",
	       connection->moneybird_administration_id, connection->name);
	for (i = 0; i < count; i++) {
		if (webhooks[i].last_http_status > 0)
			snprintf(status, sizeof(status), "%ld", webhooks[i].last_http_status);
		else
			snprintf(status, sizeof(status), "-");
		cli_table_add(
		    &table,
		    (const char *const[]){
		        webhooks[i].id, webhooks[i].url, webhooks[i].enabled_events,
		        webhooks[i].deactivated_at[0] != '\0' ? "deactivated" : status,
		        strcmp(webhooks[i].id, stored) == 0 ? "stored (token, secret)" : ""});
	}
	cli_table_print(&table, "(no webhooks)", stdout);
	if (stored[0] != '\0') {
		bool found = false;

		for (i = 0; i < count; i++)
			found = found || strcmp(webhooks[i].id, stored) == 0;
		if (!found)
			printf("The connection's stored webhook %s no longer exists in Moneybird; "
			       "register a new one.\n",
			       stored);
	}
	rc = 0;
out:
	cli_table_free(&table);
	if (webhooks != NULL)
		explicit_bzero(webhooks, count * sizeof(*webhooks));
	free(webhooks);
	session_close(&session);
	return rc;
}

static int webhook_delete(const struct connection_config *connection, PGconn *db,
                          int64_t connection_pk, const char *id)
{
	struct session session;
	struct cn_error err = {""};
	enum mb_outcome outcome;
	bool cleared = false;
	int rc;

	if (!mb_id_valid(id))
		return cli_usage(usage_text, "the webhook id must be digits (got %s)", id);
	rc = session_open(&session, connection, db);
	if (rc != 0)
		return rc;
	outcome = mb_webhook_delete(session.client, id, &err);
	if (outcome == MB_NOT_FOUND) {
		rc = cli_fail(
		    "connection %s: Moneybird has no webhook %s (see `moneybird webhook list`)",
		    connection->name, id);
	} else if (outcome != MB_OK) {
		rc = call_failed(&session, outcome, &err);
	}
	/* Gone in Moneybird (now or before): forget its secret either way. */
	if (outcome == MB_OK || outcome == MB_NOT_FOUND) {
		if (store_webhook_clear(db, connection_pk, id, &cleared, &err) != 0) {
			rc = cli_fail("%s", err.message);
			goto out;
		}
	}
	if (outcome == MB_OK)
		printf("Deleted Moneybird webhook %s%s.\n", id,
		       cleared ? "; its token and secret were removed from the connection" : "");
out:
	session_close(&session);
	return rc;
}

static int command_webhook(const struct config *config, const struct connection_config *connection,
                           int argc, char **argv)
{
	struct cn_error err = {""};
	PGconn *db = NULL;
	int64_t connection_pk = 0;
	int rc;

	if (argc < 1)
		return cli_usage(usage_text,
		                 "the webhook command takes register URL, list or delete ID");
	if (strcmp(argv[0], "register") == 0 && argc != 2)
		return cli_usage(usage_text, "webhook register takes one URL");
	if (strcmp(argv[0], "delete") == 0 && argc != 2)
		return cli_usage(usage_text, "webhook delete takes one webhook id");
	if (strcmp(argv[0], "list") == 0 && argc != 1)
		return cli_usage(usage_text, "webhook list takes no arguments");
	if (strcmp(argv[0], "register") != 0 && strcmp(argv[0], "delete") != 0 &&
	    strcmp(argv[0], "list") != 0)
		return cli_usage(usage_text, "unknown webhook command `%s`", argv[0]);
	rc = open_database(config, &db, true);
	if (rc != 0)
		return rc;
	if (store_connection_ensure(db, connection->name, connection->moneybird_administration_id,
	                            &connection_pk, &err) != 0) {
		rc = cli_fail("%s", err.message);
		goto out;
	}
	if (strcmp(argv[0], "register") == 0)
		rc = webhook_register(connection, db, connection_pk, argv[1]);
	else if (strcmp(argv[0], "delete") == 0)
		rc = webhook_delete(connection, db, connection_pk, argv[1]);
	else
		rc = webhook_list(connection, db, connection_pk);
out:
	PQfinish(db);
	return rc;
}

int cli_moneybird(const struct config *config, int argc, char **argv)
{
	const char *connection_name = NULL;
	const struct connection_config *connection = NULL;
	int index = 0;

	if (argc > 0 && strcmp(argv[0], "moneybird") == 0)
		index = 1;
	while (index < argc && strncmp(argv[index], "--", 2) == 0) {
		if (strcmp(argv[index], "--connection") == 0) {
			if (index + 1 >= argc)
				return cli_usage(usage_text,
				                 "--connection needs a connection name");
			connection_name = argv[index + 1];
			index += 2;
		} else if (strncmp(argv[index], "--connection=", 13) == 0) {
			connection_name = argv[index] + 13;
			index++;
		} else {
			return cli_usage(usage_text, "unknown option %s", argv[index]);
		}
	}
	if (index >= argc)
		return cli_usage(usage_text, "the moneybird command takes check or webhook");
	if (connection_name != NULL) {
		connection = config_find_connection(config, connection_name);
		if (connection == NULL)
			return cli_usage(usage_text, "there is no connection named `%s` in %s",
			                 connection_name,
			                 config->path != NULL ? config->path : "the configuration");
	}
	if (strcmp(argv[index], "check") == 0) {
		if (index + 1 != argc)
			return cli_usage(usage_text, "moneybird check takes no arguments");
		return command_check(config, connection);
	}
	if (strcmp(argv[index], "webhook") == 0) {
		if (connection == NULL) {
			if (config->connection_count != 1)
				return cli_usage(
				    usage_text,
				    "%zu connections are configured; name one with --connection",
				    config->connection_count);
			connection = &config->connections[0];
		}
		return command_webhook(config, connection, argc - index - 1, argv + index + 1);
	}
	return cli_usage(usage_text, "unknown moneybird command `%s`", argv[index]);
}
