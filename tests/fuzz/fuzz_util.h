/*
 * Helpers shared by the libFuzzer targets: the fuzz input as a NUL-terminated
 * copy, split into NUL-terminated pieces at a separator, and written to a
 * private temporary file for the loaders that take a path. A fuzz target is
 * one process, so the temp file is made once and rewritten for each input.
 */
#ifndef BM_FUZZ_UTIL_H
#define BM_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fuzz target's own assertion: a broken promise aborts, which libFuzzer
 * reports as a crash with the input that caused it. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* /dev/null for the loaders' problem reports (NULL when it cannot be opened,
 * which the loaders accept); fuzz_stream_close takes NULL. */
static inline FILE *fuzz_null_stream(void)
{
	return fopen("/dev/null", "w");
}

static inline void fuzz_stream_close(FILE *stream)
{
	if (stream != NULL)
		fclose(stream);
}

/* A malloc'd NUL-terminated copy of data (embedded NULs cut it short). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		abort();
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

/* Splits text in place at the first `sep`: returns the rest (after sep), or
 * "" when there is none. */
static inline char *fuzz_split(char *text, char sep)
{
	char *at = strchr(text, sep);

	if (at == NULL)
		return text + strlen(text);
	*at = '\0';
	return at + 1;
}

static char fuzz_temp_path[256];

static inline void fuzz_temp_remove(void)
{
	(void)unlink(fuzz_temp_path);
}

/* Writes data to this process's temp file (removed at exit) and returns its
 * path. */
static inline const char *fuzz_temp_file(const uint8_t *data, size_t size, const char *suffix)
{
	char *path = fuzz_temp_path;
	FILE *file;

	if (path[0] == '\0') {
		const char *dir = getenv("TMPDIR");

		snprintf(path, sizeof(fuzz_temp_path), "%s/bm-fuzz-%ld%s",
		         dir != NULL ? dir : "/tmp", (long)getpid(), suffix);
		atexit(fuzz_temp_remove);
	}
	file = fopen(path, "wb");
	if (file == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, file) != size)
		abort();
	if (fclose(file) != 0)
		abort();
	return path;
}

#endif
