/*
 * bookto-moneybird: command-line entry point. Parses global options, loads
 * the configuration and dispatches to one command. Exit codes: 0 success,
 * 1 runtime failure, 2 usage or configuration error.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cli_audit.h"
#include "cli_console.h"
#include "cli_moneybird.h"
#include "cli_ops.h"
#include "cli_reconcile.h"
#include "config.h"
#include "config_table.h"
#include "knobs.h"
#include "log.h"
#include "mapping.h"
#include "mb_client.h"
#include "migrations.h"
#include "reconcile.h"
#include "serve.h"
#include "store.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define DEFAULT_CONFIG_PATH "/etc/bookto-moneybird/connector.cfg"

static const char usage_text[] =
    "Usage: bookto-moneybird [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "Syncs paid bookto orders into Moneybird: contacts, invoices and payments,\n"
    "with every step kept in PostgreSQL.\n"
    "\n"
    "Commands:\n"
    "  serve          run the webhook intake until SIGTERM/SIGINT\n"
    "  migrate        apply pending database migrations (safe to repeat)\n"
    "  config check   validate the configuration and mapping files\n"
    "  status [--json]\n"
    "                 per connection: orders per state, oldest unsynced order,\n"
    "                 last error, rate budget left, pauses, spooled deliveries\n"
    "  show [--connection NAME] [--json] ORDER\n"
    "                 one order (order_id or order_number): deliveries, Moneybird\n"
    "                 calls, ids and its audit history\n"
    "  retry [--connection NAME] ORDER... | --failed\n"
    "                 put parked (needs_attention) orders back in the queue\n"
    "  replay [--connection NAME] FILE... | -\n"
    "                 import saved order.paid payloads (files, or JSON lines on\n"
    "                 stdin) as if delivered; duplicates are skipped\n"
    "  preview [--connection NAME] [--json] FILE | -\n"
    "                 show what a payload would become in Moneybird; writes nothing\n"
    "  reconcile [--connection NAME] [--since DATE] [--repair] [--json]\n"
    "                 compare the orders with Moneybird's invoices and report every\n"
    "                 difference; --repair queues the safe fixes (exit 3: some remain)\n"
    "  console user add NAME --role viewer|operator\n"
    "                 add a user of the web console (password from stdin)\n"
    "  console user passwd NAME | remove NAME | list [--json]\n"
    "                 set a user's password, remove a user, list the users\n"
    "  audit head     print each audit chain's newest row and hash\n"
    "                 (ID:HASH,...), to keep outside the database\n"
    "  audit verify [--expect ID:HASH]\n"
    "                 check the audit log's hash chains end to end (and that it\n"
    "                 still holds the heads you kept)\n"
    "  moneybird check\n"
    "                 verify the Moneybird token and administration; list tax\n"
    "                 rates, ledger and financial accounts, workflows, styles\n"
    "  moneybird [--connection NAME] webhook register URL | list | delete ID\n"
    "                 manage the Moneybird webhook subscription\n"
    "\n"
    "Options:\n"
    "  -c FILE        configuration file (default: $BOOKTO_MONEYBIRD_CONFIG,\n"
    "                 then " DEFAULT_CONFIG_PATH ")\n"
    "  -h, --help     show this help\n"
    "  -V, --version  show the version\n"
    "\n"
    "Environment: BOOKTO_MONEYBIRD_DATABASE overrides database.conninfo.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "bookto-moneybird: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nRun `bookto-moneybird --help` for the list of commands.\n");
	return EXIT_USAGE;
}

/* help, and the hidden `config keys` (the config table: path, type, default,
 * range, flags, doc); -1 for every other command. */
static int command_without_config(const char *command, int argc, char **argv)
{
	if (strcmp(command, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(command, "config") == 0 && argc > 1 && strcmp(argv[1], "keys") == 0) {
		config_keys_print(stdout);
		return 0;
	}
	return -1;
}

static int load_config(const char *path, struct config **config)
{
	struct cn_error err = {""};

	if (config_load(path, config, stderr, &err) != CN_OK) {
		fprintf(stderr,
		        "bookto-moneybird: the configuration in %s is not valid (see above)\n",
		        path);
		return EXIT_USAGE;
	}
	knobs_init(&(*config)->testing); /* before any thread starts */
	if (log_open((*config)->log_level, (*config)->log_format, (*config)->log_file, &err) !=
	    CN_OK) {
		fprintf(stderr, "bookto-moneybird: %s\n", err.message);
		return EXIT_USAGE;
	}
	return 0;
}

/* Validates every connection's mapping file; problems go to stderr. */
static int check_mappings(const struct config *config)
{
	int rc = 0;

	for (size_t i = 0; i < config->connection_count; i++) {
		struct mapping *mapping = NULL;
		struct cn_error err = {""};

		if (mapping_load(config->connections[i].mapping_path, &mapping, stderr, &err) !=
		    CN_OK) {
			fprintf(stderr,
			        "bookto-moneybird: the mapping %s of connection %s is not "
			        "valid (see above)\n",
			        config->connections[i].mapping_path, config->connections[i].name);
			rc = EXIT_USAGE;
		} else if (mapping->deprecated_incl_tax_line > 0) {
			fprintf(stderr,
			        "%s:%d: notice: `prices_are_incl_tax` is deprecated; it is read as "
			        "price_basis = \"%s\"; write that instead (or \"auto\", the "
			        "default, see docs/mapping.md)\n",
			        mapping->path, mapping->deprecated_incl_tax_line,
			        mapping_price_basis_name(mapping->price_basis));
		}
		mapping_free(mapping);
	}
	return rc;
}

static int connect_database(const struct config *config, PGconn **conn)
{
	struct cn_error err = {""};

	if (store_connect(config->database_conninfo, conn, &err) != CN_OK) {
		fprintf(stderr, "bookto-moneybird: %s (check database.conninfo)\n", err.message);
		return EXIT_RUNTIME;
	}
	return 0;
}

static int command_migrate(const struct config *config)
{
	struct cn_error err = {""};
	PGconn *conn = NULL;
	int applied = 0;
	int rc = connect_database(config, &conn);

	if (rc != 0)
		return rc;
	if (migrations_apply(conn, &applied, &err) != CN_OK) {
		fprintf(stderr, "bookto-moneybird: %s\n", err.message);
		PQfinish(conn);
		return EXIT_RUNTIME;
	}
	PQfinish(conn);
	if (applied == 0)
		printf("The schema is up to date (%zu migrations).\n", migrations_embedded_count);
	else
		printf("Applied %d migration%s; the schema is up to date.\n", applied,
		       applied == 1 ? "" : "s");
	return 0;
}

/* API tokens and signing secrets live in this process's memory: no core
 * dump (nor a ptrace by another user) may carry them away. */
/* A command that takes its own arguments (from the command's name on). */
typedef int command_fn(const struct config *config, int argc, char **argv);

static const struct {
	const char *name;
	command_fn *run;
} argument_commands[] = {
    {"audit", cli_audit},       {"moneybird", cli_moneybird}, {"reconcile", cli_reconcile},
    {"status", cli_ops_status}, {"show", cli_ops_show},       {"retry", cli_ops_retry},
    {"replay", cli_ops_replay}, {"preview", cli_ops_preview},
};

/* The argument command called name, or NULL. */
static command_fn *argument_command(const char *name)
{
	for (size_t i = 0; i < sizeof(argument_commands) / sizeof(argument_commands[0]); i++)
		if (strcmp(name, argument_commands[i].name) == 0)
			return argument_commands[i].run;
	return NULL;
}

static void core_dumps_off(void)
{
	struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "bookto-moneybird: warning: cannot disable core dumps\n");
}

int main(int argc, char **argv)
{
	const char *config_path = getenv("BOOKTO_MONEYBIRD_CONFIG");
	struct config *config = NULL;
	const char *command;
	int index = 1;
	int rc;

	core_dumps_off();
	while (index < argc && argv[index][0] == '-') {
		const char *option = argv[index];

		if (strcmp(option, "-h") == 0 || strcmp(option, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(option, "-V") == 0 || strcmp(option, "--version") == 0) {
			printf("bookto-moneybird %s\n", BM_VERSION);
			return 0;
		}
		if (strcmp(option, "-c") == 0) {
			if (index + 1 >= argc)
				return usage_error("%s needs a file name", option);
			config_path = argv[index + 1];
			index += 2;
			continue;
		}
		return usage_error("unknown option %s", option);
	}
	if (index >= argc)
		return usage_error("%s", "no command given");
	if (config_path == NULL || config_path[0] == '\0')
		config_path = DEFAULT_CONFIG_PATH;
	command = argv[index];

	rc = command_without_config(command, argc - index, argv + index);
	if (rc >= 0)
		return rc;
	if (strcmp(command, "serve") != 0 && strcmp(command, "migrate") != 0 &&
	    strcmp(command, "config") != 0 && strcmp(command, "audit") != 0 &&
	    strcmp(command, "moneybird") != 0 && strcmp(command, "reconcile") != 0 &&
	    strcmp(command, "console") != 0 && !cli_ops_is_command(command))
		return usage_error("unknown command `%s`", command);
	if (strcmp(command, "config") == 0 &&
	    (index + 1 >= argc || strcmp(argv[index + 1], "check") != 0))
		return usage_error("%s", "the config command takes one argument: check");
	if (strcmp(command, "audit") == 0 &&
	    (index + 1 >= argc ||
	     (strcmp(argv[index + 1], "verify") != 0 && strcmp(argv[index + 1], "head") != 0)))
		return usage_error("%s",
		                   "the audit command takes head or verify [--expect ID:HASH]");

	rc = load_config(config_path, &config);
	if (rc != 0)
		goto out;
	/* libcurl's global setup is not thread-safe: done once, before threads. */
	{
		struct cn_error err = {""};

		if (mb_client_global_init(&err) != CN_OK) {
			fprintf(stderr, "bookto-moneybird: %s\n", err.message);
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	if (strcmp(command, "config") == 0) {
		rc = check_mappings(config);
		if (rc != 0)
			goto out;
		printf("%s is valid: %zu connection%s.\n", config_path, config->connection_count,
		       config->connection_count == 1 ? "" : "s");
		rc = 0;
	} else if (strcmp(command, "migrate") == 0) {
		rc = command_migrate(config);
	} else if (strcmp(command, "console") == 0) {
		rc = cli_console(config, argc - index - 1, argv + index + 1);
	} else if (argument_command(command) != NULL) {
		rc = argument_command(command)(config, argc - index, argv + index);
	} else {
		rc = serve_run(config);
	}
out:
	mb_client_global_cleanup();
	config_free(config);
	log_close();
	return rc;
}
