/*
 * config.example.cfg documents exactly the keys of the config table
 * (base/config_table.c): every row's key is written in it (set, or shown
 * commented out as `# key = value;` for optional groups and the test-only
 * section), and it shows no key the table does not know. Each row also has
 * a doc line, and an integer's default lies in its range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_table.h"

#define PATHS_MAX 256
#define DEPTH_MAX 8
#define NAME_MAX_LENGTH 64

struct documented {
	char *paths[PATHS_MAX];
	size_t count;
};

static char *read_example(void)
{
	const char *source = getenv("BM_SOURCE_DIR");
	char path[1024];
	FILE *file;
	char *text;
	size_t size;

	snprintf(path, sizeof(path), "%s/config.example.cfg", source != NULL ? source : ".");
	file = fopen(path, "r");
	assert_non_null(file);
	text = calloc(1, 1024 * 1024);
	assert_non_null(text);
	size = fread(text, 1, 1024 * 1024 - 1, file);
	text[size] = '\0';
	fclose(file);
	return text;
}

/*
 * A comment line that shows a setting (`# name = ...`) or closes a shown
 * group (`# };`) is part of the documentation: its `#` is blanked out.
 * Prose comments use "name: ..." and stay comments.
 */
static void uncomment_shown_settings(char *text)
{
	char *line = text;

	while (*line != '\0') {
		char *end = strchr(line, '\n');
		char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#') {
			char *q = p + 1;

			while (*q == ' ' || *q == '\t')
				q++;
			if (isalpha((unsigned char)*q)) {
				while (isalnum((unsigned char)*q) || *q == '_')
					q++;
				while (*q == ' ')
					q++;
				if (*q == '=')
					*p = ' ';
			} else if (*q == '}' || *q == ')' || *q == ']') {
				*p = ' ';
			}
		}
		if (end == NULL)
			break;
		line = end + 1;
	}
}

static void add_path(struct documented *doc, char stack[][NAME_MAX_LENGTH], size_t depth,
                     const char *name)
{
	char path[512] = "";
	size_t length = 0;

	for (size_t i = 0; i < depth; i++)
		length += (size_t)snprintf(path + length, sizeof(path) - length, "%s.", stack[i]);
	snprintf(path + length, sizeof(path) - length, "%s", name);
	assert_true(doc->count < PATHS_MAX);
	doc->paths[doc->count] = strdup(path);
	assert_non_null(doc->paths[doc->count]);
	doc->count++;
}

/* The dotted paths of every setting written in text; list elements are "*". */
static void collect(struct documented *doc, const char *text)
{
	char stack[DEPTH_MAX][NAME_MAX_LENGTH];
	char pending[NAME_MAX_LENGTH] = "";
	size_t depth = 0;
	const char *p = text;

	while (*p != '\0') {
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p != '\0')
				p++;
		} else if (isalpha((unsigned char)*p)) {
			const char *start = p;
			const char *q;
			size_t length;

			while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
				p++;
			length = (size_t)(p - start);
			for (q = p; *q == ' ' || *q == '\t'; q++)
				;
			if ((*q == '=' || *q == ':') && length < NAME_MAX_LENGTH) {
				memcpy(pending, start, length);
				pending[length] = '\0';
				add_path(doc, stack, depth, pending);
			}
		} else if (*p == '{' || *p == '(') {
			assert_true(depth < DEPTH_MAX);
			/* A group inside a list is one element: "*". */
			snprintf(stack[depth++], NAME_MAX_LENGTH, "%s",
			         pending[0] != '\0' ? pending : "*");
			pending[0] = '\0';
			p++;
		} else if (*p == '}' || *p == ')') {
			assert_true(depth > 0);
			depth--;
			pending[0] = '\0';
			p++;
		} else if (*p == '[') {
			while (*p != '\0' && *p != ']')
				p++;
		} else {
			if (*p == ';' || *p == ',')
				pending[0] = '\0';
			p++;
		}
	}
	assert_int_equal(depth, 0);
}

static int documented_has(const struct documented *doc, const char *path)
{
	for (size_t i = 0; i < doc->count; i++)
		if (strcmp(doc->paths[i], path) == 0)
			return 1;
	return 0;
}

static void example_documents_exactly_the_table(void **state)
{
	struct documented doc = {0};
	char *text = read_example();
	int missing = 0;
	int unknown = 0;

	(void)state;
	uncomment_shown_settings(text);
	collect(&doc, text);
	for (size_t i = 0; i < config_key_count; i++)
		if (!documented_has(&doc, config_keys[i].path)) {
			fprintf(stderr, "config.example.cfg does not document `%s`\n",
			        config_keys[i].path);
			missing++;
		}
	for (size_t i = 0; i < doc.count; i++)
		if (config_key_find(doc.paths[i]) == NULL) {
			fprintf(stderr, "config.example.cfg documents `%s`, which is no key\n",
			        doc.paths[i]);
			unknown++;
		}
	for (size_t i = 0; i < doc.count; i++)
		free(doc.paths[i]);
	free(text);
	assert_int_equal(missing, 0);
	assert_int_equal(unknown, 0);
}

static void every_row_is_sound(void **state)
{
	(void)state;
	assert_true(config_key_count > 0);
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *key = &config_keys[i];

		assert_non_null(key->doc);
		assert_true(strlen(key->doc) > 0);
		if (key->type == CONFIG_INT) {
			long long value = config_key_int_default(key);

			assert_non_null(key->default_text);
			assert_true(key->min <= value && value <= key->max);
		}
		if (key->flags & CONFIG_REQUIRED)
			assert_null(key->default_text);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(config_keys[j].path, key->path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(example_documents_exactly_the_table),
	    cmocka_unit_test(every_row_is_sound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
