/*
 * The config loader's shared state and helpers, for the files that make up
 * config_load (config_load.c, config_connections.c, config_secret.c,
 * config_oversized.c). Not for use outside base/config*.c.
 */
#ifndef BM_CONFIG_LOADER_H
#define BM_CONFIG_LOADER_H

#include <libconfig.h>
#include <stddef.h>

#include "cfg_report.h"
#include "config.h"
#include "error.h"
#include "text.h"

#define CONFIG_KEY_MAX CFG_KEY_MAX
#define CONFIG_OVERSIZED_MAX 32

/* Collects problems while a file is checked, so the operator sees all at once. */
struct loader {
	struct cfg_report report; /* the path, its folder (for @include) and the problems */
	bool out_of_memory;
	/* Integers libconfig 1.5 silently wrapped: where, and as written. */
	struct oversized {
		const char *source; /* libconfig's file name, as in config_setting_source_file */
		unsigned line;
		char name[CONFIG_KEY_MAX];
		char text[64];
	} oversized[CONFIG_OVERSIZED_MAX];
	size_t oversized_count;
	const char *scanned[CONFIG_OVERSIZED_MAX]; /* files oversized_scan has read */
	size_t scanned_count;
	const char *exposed[CONFIG_OVERSIZED_MAX]; /* files reported as too open */
	size_t exposed_count;
};

/* Reports a problem at the file and line where setting `at` was written. */
#define config_problem(ld, ...) cfg_report_at(&(ld)->report, __VA_ARGS__)
/* A copy of text; NULL (and out_of_memory) on allocation failure. */
#define config_strdup(ld, text) text_copy(text, &(ld)->out_of_memory)

/* cfg_read_int's view of the integers libconfig wrapped (config_oversized.c). */
const char *config_wrapped_text(void *ctx, const config_setting_t *member);

/*
 * Checks the keys of `group` (shown as `prefix`) against the table's children
 * of `table_path`, then reads every table integer of that group into `base`
 * (struct config, or struct connection_config for "connections.*..."):
 * absent = the row's default, out of range = reported.
 */
void config_check_group(struct loader *ld, const config_setting_t *group, const char *prefix,
                        const char *table_path);
void config_read_ints(struct loader *ld, const config_setting_t *group, const char *prefix,
                      const char *table_path, void *base);
void config_read_group(struct loader *ld, const config_setting_t *group, const char *prefix,
                       const char *table_path, void *base);

/* https://host..., or http:// to a loopback host only. */
int config_base_url_ok(const char *url);

/* Resolves a literal, "env:NAME" or "file:/path" secret; NULL after reporting. */
char *config_secret_resolve(struct loader *ld, const config_setting_t *at, const char *key,
                            const char *spec);
/* Wipes and frees a resolved secret. */
void config_secret_free(char *secret);

/* Reads `connections` into config (config_connections.c). */
void config_load_connections(struct loader *ld, const config_setting_t *root, struct config *config,
                             const char *config_dir);
void config_connection_free_fields(struct connection_config *connection);

#endif
