/*
 * What the planner's files (plan.c, plan_basis.c, plan_tax.c,
 * plan_delivery.c) share and nobody else uses.
 */
#ifndef BM_PLAN_INTERNAL_H
#define BM_PLAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bookto.h"
#include "error.h"
#include "mapping.h"

struct mb_tax_rate; /* mb_client.h, included by plan.h */

/* Sets *park_reason (when not NULL) to a new sentence; CN_INVALID, or CN_ERR
 * without memory. */
int plan_park(char **park_reason, struct cn_error *err, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* The mapping file's path for a park sentence. */
const char *plan_mapping_path(const struct mapping *mapping);

/* Splits a Peppol id "SCHEME:IDENTIFIER" (optionally prefixed
 * "iso6523-actorid-upis::") when SCHEME is one Moneybird accepts. */
bool plan_peppol_split(const char *peppol_id, char *scheme, size_t scheme_size,
                       const char **identifier);

/* The Moneybird tax rate for the order's vat_treatment and percentage:
 * 0 with *chosen, or a park reason naming the candidates. */
int plan_choose_tax_rate(const struct bookto_order *order, const struct mapping *mapping,
                         const struct mapping_vat_treatment *entry, const struct mb_tax_rate *rates,
                         size_t rate_count, int64_t percentage, const struct mb_tax_rate **chosen,
                         char **park_reason, struct cn_error *err) MUST_CHECK;

#endif
