/*
 * The test-only `testing` group: absent = the table's defaults, set = read
 * once into config->testing, out of range = a config error naming the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_table.h"
#include "unit_main.h"

static char path[600];

/* Writes a minimal valid config plus `extra` and loads it; problems into *problems. */
static int load(const char *extra, struct config **config, char **problems)
{
	const char *source = getenv("BM_SOURCE_DIR");
	const char *base = getenv("BM_TEST_TMPDIR");
	struct cn_error err = {""};
	size_t size = 0;
	FILE *out;
	FILE *file;
	int status;

	snprintf(path, sizeof(path), "%s/test_config_testing.cfg",
	         base != NULL && base[0] != '\0' ? base : "/tmp");
	file = fopen(path, "w");
	assert_non_null(file);
	fprintf(file,
	        "%s\n"
	        "connections = ( { name = \"shop\"; mapping = \"%s/mappings/default.cfg\";\n"
	        "  bookto = { signing_secrets = [ \"s\" ]; };\n"
	        "  moneybird = { administration_id = \"42\"; api_token = \"t\"; }; } );\n",
	        extra, source != NULL ? source : ".");
	assert_int_equal(fclose(file), 0);
	assert_int_equal(chmod(path, 0600), 0);
	out = open_memstream(problems, &size);
	assert_non_null(out);
	status = config_load(path, config, out, &err);
	fclose(out);
	unlink(path);
	return status;
}

/* Each key's default and a value a test sets it to. */
static const struct {
	const char *key;
	size_t offset;
	int fallback;
	int set;
} testing_ints[] = {
    {"lease_seconds", offsetof(struct config_testing, lease_seconds), 120, 3},
    {"backoff_base_seconds", offsetof(struct config_testing, backoff_base_seconds), 10, 1},
    {"budget_wait_ms", offsetof(struct config_testing, budget_wait_ms), 5000, 0},
    {"stall_before_intent_ms", offsetof(struct config_testing, stall_before_intent_ms), 0, 8000},
    {"pause_probe_seconds", offsetof(struct config_testing, pause_probe_seconds), 30, 2},
    {"reconcile_interval_seconds", offsetof(struct config_testing, reconcile_interval_seconds), 0,
     5},
    {"reconcile_wait_seconds", offsetof(struct config_testing, reconcile_wait_seconds), 120, 60},
};
#define TESTING_INT_COUNT (sizeof(testing_ints) / sizeof(testing_ints[0]))

static int testing_int(const struct config *config, size_t i)
{
	int value;

	memcpy(&value, (const char *)&config->testing + testing_ints[i].offset, sizeof(value));
	return value;
}

static void absent_group_gives_the_table_defaults(void **state)
{
	struct config_testing defaults;
	struct config *config = NULL;
	char *problems = NULL;

	(void)state;
	assert_int_equal(load("", &config, &problems), CN_OK);
	config_testing_defaults(&defaults);
	assert_memory_equal(&config->testing, &defaults, sizeof(defaults));
	for (size_t i = 0; i < TESTING_INT_COUNT; i++)
		assert_int_equal(testing_int(config, i), testing_ints[i].fallback);
	config_free(config);
	free(problems);
}

static void set_keys_are_read(void **state)
{
	struct config *config = NULL;
	char *problems = NULL;
	char text[1024] = "testing = {";
	size_t used = strlen(text);

	(void)state;
	for (size_t i = 0; i < TESTING_INT_COUNT; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, " %s = %d;",
		                         testing_ints[i].key, testing_ints[i].set);
	snprintf(text + used, sizeof(text) - used, " };");
	assert_int_equal(load(text, &config, &problems), CN_OK);
	for (size_t i = 0; i < TESTING_INT_COUNT; i++)
		assert_int_equal(testing_int(config, i), testing_ints[i].set);
	config_free(config);
	free(problems);
}

/* Every test-only integer row: one below its minimum is refused, with the key's name. */
static void out_of_range_is_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *key = &config_keys[i];
		struct config *config = NULL;
		char *problems = NULL;
		char extra[256];

		if (!(key->flags & CONFIG_TEST_ONLY) || key->type != CONFIG_INT)
			continue;
		assert_int_equal(strncmp(key->path, "testing.", 8), 0);
		snprintf(extra, sizeof(extra), "testing = { %s = %lld; };", key->path + 8,
		         key->min - 1);
		assert_int_equal(load(extra, &config, &problems), CN_INVALID);
		assert_null(config);
		assert_non_null(strstr(problems, key->path));
		free(problems);
		problems = NULL;
		assert_int_equal(load("testing = { lease_second = 3; };", &config, &problems),
		                 CN_INVALID);
		assert_non_null(strstr(problems, "testing.lease_seconds"));
		free(problems);
	}
}

UNIT_TEST_MAIN(NULL, NULL, cmocka_unit_test(absent_group_gives_the_table_defaults),
               cmocka_unit_test(set_keys_are_read), cmocka_unit_test(out_of_range_is_refused))
