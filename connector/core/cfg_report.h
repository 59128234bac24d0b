/*
 * Problem reporting shared by the two libconfig loaders (config.c for the
 * connector's config, mapping.c for mapping files): every problem of a file
 * is collected as "file:line: sentence" and shown at once, in file order,
 * so the operator fixes them in one pass. Also the key checks both loaders
 * need: unknown keys (with a "did you mean" suggestion) and groups.
 */
#ifndef BM_CFG_REPORT_H
#define BM_CFG_REPORT_H

#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

#define CFG_KEY_MAX 160      /* a dotted key name, e.g. "connections.[0].moneybird.api_token" */
#define CFG_PROBLEMS_MAX 100 /* shown; the rest are counted */

struct cfg_problem {
	unsigned sort_line; /* line in the main file it belongs to */
	unsigned sequence;  /* keeps the order of problems on one line */
	char message[sizeof(((struct cn_error *)0)->message)];
};

struct cfg_report {
	const char *path;       /* the file being loaded */
	const char *config_dir; /* relative @include names resolve against it; NULL = as given */
	unsigned count;         /* every problem reported */
	struct cfg_problem *entries; /* the first CFG_PROBLEMS_MAX */
	size_t entry_count;
	bool out_of_memory;
};

/* Adds "file:line: sentence"; sort_line orders it among the main file's lines. */
void cfg_report_line(struct cfg_report *report, const char *file, unsigned line, unsigned sort_line,
                     const char *fmt, ...) PRINTF_LIKE(5, 6);
void cfg_report_vline(struct cfg_report *report, const char *file, unsigned line,
                      unsigned sort_line, const char *fmt, va_list ap);

/* Adds a problem at the file and line where setting `at` was written. */
void cfg_report_at(struct cfg_report *report, const config_setting_t *at, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
void cfg_report_vat(struct cfg_report *report, const config_setting_t *at, const char *fmt,
                    va_list ap);

/* Reports why config_read_file failed on tree (in its file, else path),
 * with a hint where libconfig only says "syntax error"; sort_line orders it
 * among the main file's lines. */
void cfg_report_read_error(struct cfg_report *report, const config_t *tree, const char *path,
                           unsigned sort_line);

/* Writes the problems in file order to `out` (if not NULL); err gets the first. */
void cfg_report_flush(struct cfg_report *report, FILE *out, struct cn_error *err);
void cfg_report_free(struct cfg_report *report);

/* The line `at` was written on (1 for the root group, which has none). */
unsigned cfg_setting_line(const config_setting_t *at);
/* The file `at` came from as libconfig names it (an @include as written). */
const char *cfg_setting_source(const struct cfg_report *report, const config_setting_t *at);
/* That name made usable: an @include resolves against config_dir. */
void cfg_source_path(const struct cfg_report *report, const char *source, char *buffer,
                     size_t size);

/* "prefix.name", or "name" when prefix is empty. */
void cfg_key_name(char *buffer, size_t size, const char *prefix, const char *name);

/* Reports every member of `group` that is not in `allowed` (NULL-terminated). */
void cfg_check_keys(struct cfg_report *report, const config_setting_t *group, const char *prefix,
                    const char *const *allowed);

/* The member group `name` of parent, or NULL when absent or (reported) not a group. */
const config_setting_t *cfg_get_group(struct cfg_report *report, const config_setting_t *parent,
                                      const char *prefix, const char *name);

#endif
