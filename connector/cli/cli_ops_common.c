#include "cli_ops.h"

#include <cjson/cJSON.h>
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

#include "cli_common.h"
#include "dynbuf.h"
#include "migrations.h"
#include "store.h"

#include "cli_ops_common.h"

static const char *const command_names[] = {"status", "show", "retry", "replay", "preview"};

int cli_ops_is_command(const char *command)
{
	for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
		if (strcmp(command, command_names[i]) == 0)
			return 1;
	return 0;
}

const char cli_ops_usage_text[] =
    "usage: bookto-moneybird status [--json]\n"
    "       bookto-moneybird show [--connection NAME] [--json] ORDER\n"
    "       bookto-moneybird retry [--connection NAME] ORDER... | --failed\n"
    "       bookto-moneybird replay [--connection NAME] FILE... | -\n"
    "       bookto-moneybird preview [--connection NAME] [--json] FILE | -\n";

/* ---- arguments ---- */

/* Parses argv[1..]; `allowed` lists the options this command takes. */
int cli_ops_parse_args(int argc, char **argv, const char *allowed, struct cli_ops_args *args)
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
				return cli_usage(cli_ops_usage_text, "%s: unknown option %s",
				                 argv[0], arg);
			if (strcmp(option, "connection") == 0) {
				if (equals != NULL)
					value = equals + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				if (value == NULL || value[0] == '\0')
					return cli_usage(cli_ops_usage_text,
					                 "%s: --connection needs a connection name",
					                 argv[0]);
				args->connection = value;
			} else if (equals != NULL) {
				return cli_usage(cli_ops_usage_text, "%s: %s takes no value",
				                 argv[0], option);
			} else if (strcmp(option, "json") == 0) {
				args->json = true;
			} else if (strcmp(option, "failed") == 0) {
				args->failed = true;
			} else {
				return cli_usage(cli_ops_usage_text, "%s: unknown option %s",
				                 argv[0], arg);
			}
			continue;
		}
		if (args->positional_count == CLI_OPS_MAX_POSITIONAL)
			return cli_usage(cli_ops_usage_text, "%s: more than %d arguments", argv[0],
			                 CLI_OPS_MAX_POSITIONAL);
		args->positional[args->positional_count++] = arg;
	}
	return CLI_EXIT_OK;
}

/* The connection named by --connection, or the only one. */
int cli_ops_pick_connection(const struct config *config, const char *command, const char *name,
                            size_t *index)
{
	if (name == NULL) {
		if (config->connection_count == 1) {
			*index = 0;
			return CLI_EXIT_OK;
		}
		return cli_usage(
		    cli_ops_usage_text,
		    "%s: %zu connections are configured; name one with --connection NAME", command,
		    config->connection_count);
	}
	for (size_t i = 0; i < config->connection_count; i++)
		if (strcmp(config->connections[i].name, name) == 0) {
			*index = i;
			return CLI_EXIT_OK;
		}
	return cli_usage(cli_ops_usage_text, "%s: no connection named \"%s\" is configured in %s",
	                 command, name, config->path);
}

int cli_ops_connect_database(const struct config *config, PGconn **conn)
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

int64_t cli_ops_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* "3d 4h", "2h 5m", "3m 12s", "45s". */
void cli_ops_format_age(int64_t seconds, char *out, size_t size)
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

void cli_ops_print_json(cJSON *root)
{
	char *text = cJSON_Print(root);

	if (text != NULL) {
		fputs(text, stdout);
		fputc('\n', stdout);
	}
	free(text);
}

/* "label   value" lines of a block, values starting in one column. */
void cli_ops_field(const char *label, const char *fmt, ...)
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

/* Reads a whole file, at most max bytes (+1 to notice a larger one). */
int cli_ops_read_file_capped(FILE *file, size_t max, unsigned char **out, size_t *len)
{
	struct dynbuf buf;
	unsigned char chunk[4096];
	size_t n;

	*out = NULL;
	*len = 0;
	dynbuf_init(&buf, max + 1);
	do {
		size_t room = max + 1 - dynbuf_len(&buf);

		n = fread(chunk, 1, room < sizeof(chunk) ? room : sizeof(chunk), file);
		if (n > 0 && dynbuf_add(&buf, chunk, n) != CN_OK) {
			dynbuf_free(&buf);
			return CN_ERR;
		}
	} while (n > 0 && dynbuf_len(&buf) <= max);
	if (ferror(file)) {
		dynbuf_free(&buf);
		return CN_ERR;
	}
	*len = dynbuf_len(&buf);
	*out = (unsigned char *)dynbuf_take(&buf);
	return *out != NULL ? CN_OK : CN_ERR;
}

const char *cli_ops_or_dash(const char *text)
{
	return text != NULL && text[0] != '\0' ? text : "-";
}

cJSON *cli_ops_json_string_or_null(const char *text)
{
	return text != NULL && text[0] != '\0' ? cJSON_CreateString(text) : cJSON_CreateNull();
}

int cli_ops_open_orders(const struct config *config, const char *command, const char *connection,
                        PGconn **conn)
{
	size_t index;
	int rc;

	*conn = NULL;
	if (connection != NULL) {
		rc = cli_ops_pick_connection(config, command, connection, &index);
		if (rc != CLI_EXIT_OK)
			return rc;
	}
	return cli_ops_connect_database(config, conn);
}
