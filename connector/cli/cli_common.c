#include "cli_common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void print_message(const char *fmt, va_list ap)
{
	fprintf(stderr, "bookto-moneybird: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_message(fmt, ap);
	va_end(ap);
	return CLI_EXIT_RUNTIME;
}

int cli_usage(const char *usage_text, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_message(fmt, ap);
	va_end(ap);
	fputs(usage_text, stderr);
	return CLI_EXIT_USAGE;
}

void cli_one_line(char *text)
{
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
}

/* ---- aligned tables ---- */

static bool utf8_continuation(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

/* How many bytes of text to keep: all of it, or at most `cut` bytes ending
 * on a character boundary (a character the cut would split is dropped). */
static size_t cut_length(const char *text, size_t cut)
{
	size_t length = strlen(text);

	if (cut == 0 || length <= cut)
		return length;
	length = cut;
	if (utf8_continuation(text[length])) {
		while (length > 0 && utf8_continuation(text[length - 1]))
			length--;
		if (length > 0 && ((unsigned char)text[length - 1] & 0xC0) == 0xC0)
			length--; /* the split character's lead byte */
	}
	return length;
}

/* A copy with control characters (terminal escapes from remote data or a
 * payload) turned into spaces; NULL when out of memory. */
static char *cell_copy(const char *text, size_t cut)
{
	const char *source = text != NULL ? text : "-";
	size_t length = cut_length(source, cut);
	char *copy = malloc(length + 1);

	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)source[i];

		copy[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	copy[length] = '\0';
	return copy;
}

static bool table_reserve_row(struct cli_table *table)
{
	size_t capacity;
	char **grown;

	if (table->rows < table->capacity)
		return true;
	capacity = table->capacity > 0 ? table->capacity * 2 : 16;
	grown = realloc(table->cells, capacity * table->columns * sizeof(*grown));
	if (grown == NULL)
		return false;
	table->cells = grown;
	table->capacity = capacity;
	return true;
}

void cli_table_add(struct cli_table *table, const char *const *cells)
{
	char **row;

	if (table->failed)
		return;
	if (!table_reserve_row(table)) {
		table->failed = true;
		return;
	}
	row = table->cells + table->rows * table->columns;
	for (size_t c = 0; c < table->columns; c++) {
		row[c] = cell_copy(cells[c], table->cell_cut);
		if (row[c] == NULL) {
			while (c > 0)
				free(row[--c]);
			table->failed = true;
			return;
		}
	}
	table->rows++;
}

/* Terminal columns of UTF-8 text (one per character; good enough here). */
static size_t display_width(const char *text)
{
	size_t width = 0;

	for (; *text != '\0'; text++)
		if (!utf8_continuation(*text))
			width++;
	return width;
}

static void print_cell(FILE *out, const char *text, size_t width, bool right, bool last)
{
	size_t pad = width - display_width(text);

	if (right)
		fprintf(out, "%*s%s", (int)pad, "", text);
	else
		fputs(text, out);
	if (!last)
		fprintf(out, "%*s", (int)((right ? 0 : pad) + 2), "");
}

static void print_row(FILE *out, const struct cli_table *table, const char *const *cells,
                      const size_t *widths)
{
	fputs("  ", out);
	for (size_t c = 0; c < table->columns; c++)
		print_cell(out, cells[c], widths[c], table->right[c], c + 1 == table->columns);
	fputc('\n', out);
}

void cli_table_print(const struct cli_table *table, const char *empty_note, FILE *out)
{
	size_t widths[CLI_TABLE_MAX_COLUMNS] = {0};

	if (table->rows == 0) {
		fprintf(out, "  %s\n", empty_note);
		return;
	}
	for (size_t c = 0; c < table->columns; c++) {
		widths[c] = display_width(table->headers[c]);
		for (size_t r = 0; r < table->rows; r++) {
			size_t w = display_width(table->cells[r * table->columns + c]);

			if (w > widths[c])
				widths[c] = w;
		}
	}
	print_row(out, table, table->headers, widths);
	for (size_t r = 0; r < table->rows; r++)
		print_row(out, table, (const char *const *)table->cells + r * table->columns,
		          widths);
}

void cli_table_free(struct cli_table *table)
{
	for (size_t i = 0; table->cells != NULL && i < table->rows * table->columns; i++)
		free(table->cells[i]);
	free(table->cells);
	table->cells = NULL;
	table->rows = 0;
	table->capacity = 0;
}
