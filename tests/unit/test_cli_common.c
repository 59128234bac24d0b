/*
 * cli_common: the aligned tables of the commands' human output (padding,
 * right-aligned numbers, control characters, cuts on a UTF-8 boundary, the
 * empty note) and the error lines with their exit codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_common.h"

/* What cli_table_print writes, as a string the caller frees. Not inlined:
 * at -O3 GCC then mistakes the buffer open_memstream hands back through
 * &text for a pointer to this frame (-Wdangling-pointer). */
__attribute__((noinline)) static char *printed(const struct cli_table *table,
                                               const char *empty_note)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	assert_non_null(out);
	cli_table_print(table, empty_note, out);
	assert_int_equal(fclose(out), 0);
	return text;
}

static void add(struct cli_table *table, const char *a, const char *b, const char *c)
{
	cli_table_add(table, (const char *const[]){a, b, c});
}

static void test_columns_padded_last_not(void **state)
{
	struct cli_table table = {.columns = 3, .headers = {"ID", "NAME", "NOTE"}};
	char *text;

	(void)state;
	add(&table, "1", "Caf\xc3\xa9 Noir", "short");
	add(&table, "12345", "B", "a longer note");
	assert_false(table.failed);
	text = printed(&table, "(none)");
	/* "Café Noir" is 9 columns though 10 bytes; NOTE is never padded. */
	assert_string_equal(text, "  ID     NAME       NOTE\n"
	                          "  1      Caf\xc3\xa9 Noir  short\n"
	                          "  12345  B          a longer note\n");
	free(text);
	cli_table_free(&table);
}

static void test_right_aligned_column(void **state)
{
	struct cli_table table = {
	    .columns = 3, .headers = {"NAME", "COUNT", "LAST"}, .right = {false, true, true}};
	char *text;

	(void)state;
	add(&table, "shop", "7", "x");
	add(&table, "webshop", "1234567", "yy");
	text = printed(&table, "(none)");
	/* Right-aligned: padding goes before the text; the last column too. */
	assert_string_equal(text, "  NAME       COUNT  LAST\n"
	                          "  shop           7     x\n"
	                          "  webshop  1234567    yy\n");
	free(text);
	cli_table_free(&table);
}

static void test_control_characters_cleaned(void **state)
{
	struct cli_table table = {.columns = 2, .headers = {"A", "B"}};
	char *text;

	(void)state;
	cli_table_add(&table, (const char *const[]){"x\033[31my", "tab\there\r\nend\x7f!"});
	cli_table_add(&table, (const char *const[]){NULL, "z"});
	text = printed(&table, "(none)");
	/* "x [31my" is 7 columns wide: column A is 7 + 2. */
	assert_string_equal(text, "  A        B\n"
	                          "  x [31my  tab here  end !\n"
	                          "  -        z\n");
	assert_null(strchr(text, '\033'));
	free(text);
	cli_table_free(&table);
}

/* One cell of a one-column table with the given cut, as printed. */
static char *cut_cell(const char *cell, size_t cut)
{
	struct cli_table table = {.columns = 1, .headers = {"H"}, .cell_cut = cut};
	char *text;
	char *row;
	char *copy;

	cli_table_add(&table, (const char *const[]){cell});
	text = printed(&table, "(none)");
	cli_table_free(&table);
	row = strchr(text, '\n');
	assert_non_null(row);
	assert_memory_equal(row + 1, "  ", 2);
	copy = strndup(row + 3, strlen(row + 3) - 1); /* without "  " and '\n' */
	free(text);
	return copy;
}

/* `prefix` ASCII bytes then `tail`, cut at `cut`: expects the first `kept`
 * bytes. */
static void expect_cut(size_t prefix, const char *tail, size_t cut, size_t kept)
{
	char text[256];
	char *got;

	memset(text, 'a', prefix);
	snprintf(text + prefix, sizeof(text) - prefix, "%s", tail);
	got = cut_cell(text, cut);
	assert_int_equal(strlen(got), kept);
	assert_memory_equal(got, text, kept);
	free(got);
}

static void test_utf8_cut(void **state)
{
	(void)state;
	assert_int_equal(CLI_TABLE_CELL_CUT, 71);
	/* 72 ASCII bytes: cut to 71. */
	expect_cut(72, "", CLI_TABLE_CELL_CUT, 71);
	/* "é" at bytes 71-72: the cut would split it, so it goes. */
	expect_cut(70, "\xc3\xa9tail", CLI_TABLE_CELL_CUT, 70);
	/* "€" at bytes 70-72: dropped whole as well. */
	expect_cut(69, "\xe2\x82\xac", CLI_TABLE_CELL_CUT, 69);
	/* "😀" at bytes 69-72: four-byte characters too. */
	expect_cut(68, "\xf0\x9f\x98\x80", CLI_TABLE_CELL_CUT, 68);
	/* "€" ends at byte 71: it stays, the rest goes. */
	expect_cut(68, "\xe2\x82\xac!bcd", CLI_TABLE_CELL_CUT, 71);
	/* Exactly 71 bytes ending in a two-byte character: kept whole. */
	expect_cut(69, "\xc3\xa9", CLI_TABLE_CELL_CUT, 71);
	/* No cut configured: a long cell is printed in full. */
	expect_cut(200, "", 0, 200);
}

static void test_empty_note_and_reuse(void **state)
{
	struct cli_table table = {.columns = 2, .headers = {"ID", "NAME"}};
	char *text;

	(void)state;
	text = printed(&table, "(no webhooks)");
	assert_string_equal(text, "  (no webhooks)\n");
	free(text);

	add(&table, "1", "one", NULL);
	cli_table_free(&table);
	assert_int_equal(table.rows, 0);
	text = printed(&table, "(nothing left)");
	assert_string_equal(text, "  (nothing left)\n");
	free(text);

	/* Freed tables take rows again (and grow past the first allocation). */
	for (int i = 0; i < 40; i++)
		add(&table, "2", "two", NULL);
	assert_int_equal(table.rows, 40);
	text = printed(&table, "(none)");
	assert_non_null(strstr(text, "  ID  NAME\n  2   two\n"));
	free(text);
	cli_table_free(&table);
	cli_table_free(&table); /* twice is harmless */
}

static void test_one_line(void **state)
{
	char text[] = "could not connect\n\tis the server running?\r\nend";

	(void)state;
	cli_one_line(text);
	assert_string_equal(text, "could not connect  is the server running?  end");
}

/* Runs fn with stderr going to a file; returns what it wrote. */
static char *stderr_of(int (*fn)(void), int *rc)
{
	FILE *capture = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *text = calloc(1, 4096);
	size_t length;

	assert_non_null(capture);
	assert_true(saved >= 0);
	assert_non_null(text);
	fflush(stderr);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
	*rc = fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(capture);
	length = fread(text, 1, 4095, capture);
	text[length] = '\0';
	fclose(capture);
	return text;
}

static int call_fail(void)
{
	return cli_fail("connection %s: %s", "shop", "HTTP 401");
}

static int call_usage(void)
{
	return cli_usage("usage: bookto-moneybird thing ARG\n", "thing takes %d argument", 1);
}

static void test_fail_and_usage(void **state)
{
	int rc = -1;
	char *text;

	(void)state;
	text = stderr_of(call_fail, &rc);
	assert_int_equal(rc, CLI_EXIT_RUNTIME);
	assert_int_equal(rc, 1);
	assert_string_equal(text, "bookto-moneybird: connection shop: HTTP 401\n");
	free(text);

	text = stderr_of(call_usage, &rc);
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_int_equal(rc, 2);
	assert_string_equal(text, "bookto-moneybird: thing takes 1 argument\n"
	                          "usage: bookto-moneybird thing ARG\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_columns_padded_last_not),
	    cmocka_unit_test(test_right_aligned_column),
	    cmocka_unit_test(test_control_characters_cleaned),
	    cmocka_unit_test(test_utf8_cut),
	    cmocka_unit_test(test_empty_note_and_reuse),
	    cmocka_unit_test(test_one_line),
	    cmocka_unit_test(test_fail_and_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
