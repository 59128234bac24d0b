/*
 * The mapping loader's shared state and helpers, for the files that make up
 * mapping_load: mapping_load.c (the file, top-level keys),
 * mapping_rules.c (tax rates, ledger accounts, invoice text) and
 * mapping_delivery.c (payment, send method, delivery rules). Not for use
 * outside core/mapping*.c.
 */
#ifndef BM_MAPPING_LOADER_H
#define BM_MAPPING_LOADER_H

#include <libconfig.h>
#include <stdbool.h>

#include "cfg_report.h"
#include "mapping.h"
#include "text.h"

#define MAPPING_KEY_MAX CFG_KEY_MAX
#define MAPPING_ID_MAX_DIGITS 20
#define MAPPING_NAME_MAX_BYTES 256
#define MAPPING_LIST_MAX 256 /* treatments, products, providers */

/* Collects every problem of one file, so the operator sees them all at once. */
struct loader {
	struct cfg_report report;
	bool out_of_memory;
};

/* Reports a problem at the file and line where setting `at` was written. */
#define mapping_problem(ld, ...) cfg_report_at(&(ld)->report, __VA_ARGS__)
/* A copy of text (NULL stays NULL); NULL and out_of_memory on failure. */
#define mapping_strdup(ld, text) text_copy(text, &(ld)->out_of_memory)

/* Room for the entries of `list` (named `name` in a problem): *count zeroed
 * entries of size bytes each. NULL when the list is empty, has more than
 * MAPPING_LIST_MAX entries (reported) or memory ran out. */
void *mapping_list_room(struct loader *ld, const config_setting_t *list, const char *name,
                        size_t size, int *count);

/* An optional Moneybird id (digits); `listing` names where `moneybird check` shows them. */
void mapping_read_id(struct loader *ld, const config_setting_t *group, const char *prefix,
                     const char *name, const char *listing, char **out);
/* Text that may not be empty and stays below a sane size. */
const char *mapping_read_name(struct loader *ld, const config_setting_t *group, const char *prefix,
                              const char *name, const config_setting_t **at);
/* "Manual", "Email" or "Peppol" into *method; a problem otherwise. */
void mapping_parse_send_method(struct loader *ld, const config_setting_t *at, const char *key,
                               const char *text, enum mapping_send_method *method);

void mapping_load_vat_treatments(struct loader *ld, const config_setting_t *root,
                                 struct mapping *mapping);
void mapping_load_ledger_accounts(struct loader *ld, const config_setting_t *root,
                                  struct mapping *mapping);
void mapping_load_invoice(struct loader *ld, const config_setting_t *root, struct mapping *mapping);
void mapping_load_payment(struct loader *ld, const config_setting_t *root, struct mapping *mapping);
void mapping_load_delivery_rules(struct loader *ld, const config_setting_t *root,
                                 struct mapping *mapping);

#endif
