/*
 * Shared by the unit tests of the optional config groups
 * (test_config_notify.c, test_config_console.c): a one-connection config
 * with its mapping file (made by unit_config_setup, removed by
 * unit_config_teardown), and config_load() of a group's text put in front
 * of it, with the problems it printed, and the check that a group is
 * refused. Include after cmocka.h.
 */
#ifndef BM_UNIT_CONFIG_H
#define BM_UNIT_CONFIG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char unit_config_mapping_path[] = "/tmp/bm-test-group-mapping.XXXXXX";
static char unit_config_connection[512];

static int unit_config_setup(void **state)
{
	static const char mapping[] =
	    "vat_treatments = { standard = { by = \"percentage\"; }; };\n";
	int fd = mkstemp(unit_config_mapping_path);

	(void)state;
	if (fd < 0 || write(fd, mapping, strlen(mapping)) != (ssize_t)strlen(mapping))
		return -1;
	close(fd);
	snprintf(unit_config_connection, sizeof(unit_config_connection),
	         "connections = ( { name = \"shop\"; mapping = \"%s\";"
	         " bookto = { signing_secrets = [ \"s\" ]; };"
	         " moneybird = { administration_id = \"42\"; api_token = \"t\"; }; } );\n",
	         unit_config_mapping_path);
	return 0;
}

static int unit_config_teardown(void **state)
{
	(void)state;
	unlink(unit_config_mapping_path);
	return 0;
}

struct loaded {
	int status;
	struct config *config;
	char *problems;
};

/* Loads `group` (config text) in front of the connection. */
static void load(struct loaded *out, const char *group)
{
	char text[2048];
	char path[] = "/tmp/bm-test-group.XXXXXX";
	int fd = mkstemp(path);
	struct cn_error err = {""};
	size_t size = 0;
	FILE *problems;

	snprintf(text, sizeof(text), "%s\n%s", group, unit_config_connection);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	problems = open_memstream(&out->problems, &size);
	assert_non_null(problems);
	out->status = config_load(path, &out->config, problems, &err);
	fclose(problems);
	unlink(path);
}

static void loaded_free(struct loaded *loaded)
{
	config_free(loaded->config);
	free(loaded->problems);
}

/* A group the loader must refuse, and what its problem names. */
struct refusal {
	const char *group;
	const char *needle;
};

static void expect_problem(const char *group, const char *needle)
{
	struct loaded loaded;

	load(&loaded, group);
	if (loaded.status != CN_INVALID || strstr(loaded.problems, needle) == NULL)
		print_error("%s: expected a problem naming [%s], got:\n%s\n", group, needle,
		            loaded.problems);
	assert_int_equal(loaded.status, CN_INVALID);
	assert_non_null(strstr(loaded.problems, needle));
	loaded_free(&loaded);
}

#endif
