/*
 * What the operator commands (cli_status.c, cli_show.c, cli_retry.c,
 * cli_replay.c, cli_preview.c) share: their usage text, argument parsing
 * (--json, --connection NAME, --failed, positional arguments), picking a
 * connection, connecting to a migrated database, and the small formatting
 * helpers of their human and --json output.
 */
#ifndef BM_CLI_OPS_COMMON_H
#define BM_CLI_OPS_COMMON_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "error.h"

#define CLI_OPS_MAX_POSITIONAL 4096

/* The usage lines of every operator command (for cli_usage). */
extern const char cli_ops_usage_text[];

struct cli_ops_args {
	bool json;
	bool failed;
	const char *connection;
	const char *positional[CLI_OPS_MAX_POSITIONAL];
	size_t positional_count;
};

/* Parses argv[1..]; `allowed` lists the options this command takes. Returns
 * CLI_EXIT_OK or the exit code of a usage error (already printed). */
int cli_ops_parse_args(int argc, char **argv, const char *allowed, struct cli_ops_args *args);

/* The connection named by --connection, or the only one. */
int cli_ops_pick_connection(const struct config *config, const char *command, const char *name,
                            size_t *index);

/* Connects and checks the schema is migrated; *conn is NULL on failure. */
int cli_ops_connect_database(const struct config *config, PGconn **conn);

/* For commands over every order that --connection may narrow: checks the
 * named connection (when given) exists, then connects as
 * cli_ops_connect_database does. */
int cli_ops_open_orders(const struct config *config, const char *command, const char *connection,
                        PGconn **conn);

int64_t cli_ops_now_ms(void);

/* "3d 4h", "2h 5m", "3m 12s", "45s". */
void cli_ops_format_age(int64_t seconds, char *out, size_t size);

/* Prints root as indented JSON and a newline. */
void cli_ops_print_json(cJSON *root);

/* "label   value" lines of a block, values starting in one column (control
 * characters become spaces). */
void cli_ops_field(const char *label, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Reads a whole file, at most max bytes (+1 to notice a larger one); *out is
 * malloc'd (caller frees). CN_ERR on a read error or without memory. */
int cli_ops_read_file_capped(FILE *file, size_t max, unsigned char **out, size_t *len);

/* text, or "-" when it is NULL or empty. */
const char *cli_ops_or_dash(const char *text);

/* A JSON string, or null when text is NULL or empty. */
cJSON *cli_ops_json_string_or_null(const char *text);

#endif
