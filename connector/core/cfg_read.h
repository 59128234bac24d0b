/*
 * Typed readers of one libconfig key, shared by the two loaders (config.c
 * for the connector's config, mapping.c for mapping files): a wrong type or
 * an out-of-range value becomes a "file:line: sentence" in the report and
 * leaves the caller's default in place.
 */
#ifndef BM_CFG_READ_H
#define BM_CFG_READ_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg_report.h"

/*
 * The text as written of an integer libconfig silently wrapped (libconfig 1.5
 * keeps only 32 or 64 bits), or NULL; `ctx` is the caller's.
 */
typedef const char *(*cfg_written_fn)(void *ctx, const config_setting_t *member);

/*
 * Reads integer `name` of group into *value (which holds the default) and
 * checks min..max. group may be NULL (absent: keep the default). written may
 * be NULL; otherwise a wrapped literal is reported as written.
 */
void cfg_read_int(struct cfg_report *report, const config_setting_t *group, const char *prefix,
                  const char *name, long long min, long long max, long long *value,
                  cfg_written_fn written, void *ctx);

/* Reads boolean `name` of group into *value (which holds the default). */
void cfg_read_bool(struct cfg_report *report, const config_setting_t *group, const char *prefix,
                   const char *name, bool *value);

/*
 * Reads string `name` of group. Returns the libconfig-owned text (valid while
 * the libconfig tree lives), or NULL when absent or (reported) not a string.
 * *at (when not NULL) receives the setting when present, for line numbers.
 */
const char *cfg_read_string(struct cfg_report *report, const config_setting_t *group,
                            const char *prefix, const char *name, const config_setting_t **at);

/* True when text is 1..max_length decimal digits and nothing else. */
bool cfg_all_digits(const char *text, size_t max_length);

#endif
