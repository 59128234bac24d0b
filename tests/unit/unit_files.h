/*
 * Shared by the unit tests that load mapping files (test_mapping.c,
 * test_plan.c): a mapping text written to the next numbered file
 * (m0.cfg, m1.cfg, ...) in the test's temporary folder, which the group
 * teardown removes by the same numbers. Include after cmocka.h.
 */
#ifndef BM_UNIT_FILES_H
#define BM_UNIT_FILES_H

#include <stdio.h>

static inline void unit_write_numbered(char *path, size_t size, const char *dir, unsigned *counter,
                                       const char *text)
{
	FILE *file;

	snprintf(path, size, "%s/m%u.cfg", dir, (*counter)++);
	file = fopen(path, "w");
	assert_non_null(file);
	assert_true(fputs(text, file) >= 0);
	assert_int_equal(fclose(file), 0);
}

#endif
