/*
 * Shared by the unit tests of the file loaders (test_config.c,
 * test_mapping.c): what a loader made of one file, with every problem it
 * printed, and the checks on those problems. Include after cmocka.h.
 */
#ifndef BM_UNIT_LOAD_H
#define BM_UNIT_LOAD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mapping.h"

enum unit_loader { UNIT_CONFIG, UNIT_MAPPING };

struct result {
	enum unit_loader loader;
	int status;
	union { /* what the loader made; NULL when it failed */
		struct config *config;
		struct mapping *mapping;
		void *object;
	};
	struct cn_error err;
	char *problems;
	char path[600];
};

/* Loads `path` with config_load or mapping_load, keeping every problem it
 * printed; a load that succeeds printed nothing, one that fails made nothing. */
static inline void unit_load_file(struct result *result, const char *path, enum unit_loader loader)
{
	size_t size = 0;
	FILE *problems;

	memset(result, 0, sizeof(*result));
	result->loader = loader;
	snprintf(result->path, sizeof(result->path), "%s", path);
	problems = open_memstream(&result->problems, &size);
	assert_non_null(problems);
	if (loader == UNIT_CONFIG)
		result->status = config_load(path, &result->config, problems, &result->err);
	else
		result->status = mapping_load(path, &result->mapping, problems, &result->err);
	assert_int_equal(fclose(problems), 0);
	if (result->status == CN_OK) {
		assert_non_null(result->object);
		assert_string_equal(result->problems, "");
	} else {
		assert_null(result->object);
	}
}

static inline void result_free(struct result *result)
{
	if (result->loader == UNIT_CONFIG)
		config_free(result->config);
	else
		mapping_free(result->mapping);
	free(result->problems);
	memset(result, 0, sizeof(*result));
}

/* True when `problems` has a line "<file>:<line>: ..." that contains `needle`. */
static inline bool unit_has_problem(const char *problems, const char *file, unsigned line,
                                    const char *needle)
{
	char prefix[700];
	const char *cursor = problems;

	snprintf(prefix, sizeof(prefix), "%s:%u: ", file, line);
	while (cursor != NULL && *cursor != '\0') {
		const char *end = strchr(cursor, '\n');
		size_t length = end != NULL ? (size_t)(end - cursor) : strlen(cursor);
		char row[1024];

		snprintf(row, sizeof(row), "%.*s", (int)length, cursor);
		if (strncmp(row, prefix, strlen(prefix)) == 0 && strstr(row, needle) != NULL)
			return true;
		cursor = end != NULL ? end + 1 : NULL;
	}
	return false;
}

/* `relative` under the source tree (BM_SOURCE_DIR, set by ctest). */
static inline void unit_source_path(char *path, size_t size, const char *relative)
{
	const char *source = getenv("BM_SOURCE_DIR");

	assert_non_null(source);
	snprintf(path, size, "%s/%s", source, relative);
}

/* Loads a file of the source tree, which must load (its path is result->path). */
static inline void unit_load_source(struct result *result, const char *relative,
                                    enum unit_loader loader)
{
	char path[600];

	unit_source_path(path, sizeof(path), relative);
	unit_load_file(result, path, loader);
	if (result->status != CN_OK)
		print_error("%s", result->problems);
	assert_int_equal(result->status, CN_OK);
}

#endif
