/*
 * What the command-line commands share: the "bookto-moneybird: ..." error
 * lines with their exit codes, one-line error messages, and aligned tables
 * for human output (control characters from remote data or payloads are
 * cleaned, so a cell cannot move the terminal's cursor or change its colours).
 */
#ifndef BM_CLI_COMMON_H
#define BM_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* Process exit codes of every command. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

/* Prints "bookto-moneybird: <message>" to stderr; returns CLI_EXIT_RUNTIME. */
int cli_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Prints "bookto-moneybird: <message>" and then usage_text (which ends in a
 * newline) to stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const char *usage_text, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Turns line breaks and tabs into spaces in place: libpq's messages span
 * lines, an operator reads one sentence. */
void cli_one_line(char *text);

#define CLI_TABLE_MAX_COLUMNS 8
/* A cell cut at this many bytes (on a character boundary) keeps a table of
 * remote names readable on a terminal. */
#define CLI_TABLE_CELL_CUT 71

/* Columns are padded to their widest cell; the last column is never padded.
 * Set columns, headers and right (numbers) before adding rows; cell_cut is
 * 0 (cells are never cut) or a byte count such as CLI_TABLE_CELL_CUT. A row
 * that cannot be stored for lack of memory is left out and sets failed. */
struct cli_table {
	size_t columns;
	const char *headers[CLI_TABLE_MAX_COLUMNS];
	bool right[CLI_TABLE_MAX_COLUMNS];
	size_t cell_cut;
	char **cells; /* rows * columns, cleaned copies */
	size_t rows;
	size_t capacity;
	bool failed;
};

/* Adds a row of table->columns cells; a NULL cell shows as "-". */
void cli_table_add(struct cli_table *table, const char *const *cells);

/* Prints the table indented by two spaces, or "  <empty_note>" when it has
 * no rows. */
void cli_table_print(const struct cli_table *table, const char *empty_note, FILE *out);

/* Frees the rows; the table can take new rows afterwards. */
void cli_table_free(struct cli_table *table);

#endif
