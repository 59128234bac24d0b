/*
 * The planner's choice of the Moneybird tax rate for an order: the mapping's
 * rate for its vat_treatment, or the one active sales-invoice rate with the
 * order's percentage (and country), with a park reason naming the candidates
 * when the choice is not unique.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plan.h"
#include "plan_internal.h"
#include "text.h"

#define PLAN_RATES_LISTED 4 /* names shown in an "ambiguous" message */

static bool rate_usable(const struct mb_tax_rate *rate)
{
	return rate->active && strcmp(rate->tax_rate_type, "sales_invoice") == 0;
}

/* Lists the names of the matches for an "ambiguous" message. */
static void list_rates(const struct mb_tax_rate *rates, const size_t *matches, size_t count,
                       char *out, size_t out_size)
{
	size_t used = 0;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < count && i < PLAN_RATES_LISTED && used < out_size; i++) {
		int written =
		    snprintf(out + used, out_size - used, "%s\"%.60s\" (id %s)", i == 0 ? "" : ", ",
		             rates[matches[i]].name, rates[matches[i]].id);

		if (written < 0)
			return;
		used += (size_t)written;
	}
	if (count > PLAN_RATES_LISTED && used < out_size)
		snprintf(out + used, out_size - used, ", ...");
}

/* True when `rate` is the one entry's rule names for the order. */
static bool rate_fits(const struct bookto_order *order, const struct mapping_vat_treatment *entry,
                      const struct mb_tax_rate *rate, int64_t percentage)
{
	int64_t rate_percentage;
	bool hit = false;

	switch (entry->rule) {
	case MAPPING_RATE_BY_PERCENTAGE:
		hit = rate->country[0] == '\0' &&
		      plan_percentage_parse(rate->percentage, &rate_percentage) == 0 &&
		      rate_percentage == percentage;
		break;
	case MAPPING_RATE_BY_COUNTRY_PERCENTAGE:
		hit = rate->country[0] != '\0' &&
		      strcasecmp(rate->country, order->buyer_country) == 0 &&
		      plan_percentage_parse(rate->percentage, &rate_percentage) == 0 &&
		      rate_percentage == percentage;
		break;
	case MAPPING_RATE_BY_NAME:
		hit = entry->tax_rate_name != NULL &&
		      strcasecmp(rate->name, entry->tax_rate_name) == 0;
		break;
	case MAPPING_RATE_BY_ID:
		hit = entry->tax_rate_id != NULL && strcmp(rate->id, entry->tax_rate_id) == 0;
		break;
	}
	return hit;
}

/*
 * Picks the tax rate for the order's vat_treatment. Returns 0 with *chosen,
 * or a park status.
 */
int plan_choose_tax_rate(const struct bookto_order *order, const struct mapping *mapping,
                         const struct mapping_vat_treatment *entry, const struct mb_tax_rate *rates,
                         size_t rate_count, int64_t percentage, const struct mb_tax_rate **chosen,
                         char **park_reason, struct cn_error *err)
{
	size_t matches[PLAN_RATES_LISTED + 1];
	size_t match_count = 0;
	char listed[512];
	const char *path = plan_mapping_path(mapping);
	const char *treatment = entry->treatment;
	const struct mb_tax_rate *unusable = NULL;
	size_t i;

	for (i = 0; i < rate_count; i++) {
		const struct mb_tax_rate *rate = &rates[i];
		bool hit = rate_fits(order, entry, rate, percentage);

		if (!hit)
			continue;
		if (!rate_usable(rate)) {
			unusable = rate;
			continue;
		}
		if (match_count <= PLAN_RATES_LISTED)
			matches[match_count] = i;
		match_count++;
	}
	if (match_count == 1) {
		*chosen = &rates[matches[0]];
		return CN_OK;
	}
	if (match_count > 1) {
		list_rates(rates, matches, match_count, listed, sizeof(listed));
		return plan_park(
		    park_reason, err,
		    "%zu active sales tax rates in Moneybird fit vat_treatment \"%s\" (by "
		    "%s): %s; map vat_treatments.%s by id in %s to say which one",
		    match_count, treatment, mapping_rate_rule_name(entry->rule), listed, treatment,
		    path);
	}
	switch (entry->rule) {
	case MAPPING_RATE_BY_PERCENTAGE:
		return plan_park(
		    park_reason, err,
		    "no active sales tax rate in Moneybird has %s %% (vat_treatment \"%s\" "
		    "is mapped by percentage); add that rate in Moneybird or map "
		    "vat_treatments.%s by name or id in %s",
		    order->vat_rate_text, treatment, treatment, path);
	case MAPPING_RATE_BY_COUNTRY_PERCENTAGE:
		if (text_blank(order->buyer_country))
			return plan_park(
			    park_reason, err,
			    "vat_treatment \"%s\" needs the buyer's country to pick the "
			    "country's tax rate, but buyer.country is empty; map "
			    "vat_treatments.%s by id in %s",
			    treatment, treatment, path);
		return plan_park(park_reason, err,
		                 "no active sales tax rate in Moneybird for country %s has %s %% "
		                 "(vat_treatment \"%s\" is mapped by country_percentage); add that "
		                 "country's rate in Moneybird or map vat_treatments.%s by id in %s",
		                 order->buyer_country, order->vat_rate_text, treatment, treatment,
		                 path);
	case MAPPING_RATE_BY_NAME:
	case MAPPING_RATE_BY_ID:
		break;
	}
	if (unusable != NULL)
		return plan_park(
		    park_reason, err,
		    "tax rate \"%.60s\" (id %s), which vat_treatments.%s in %s names, is "
		    "%s in Moneybird; activate it or map vat_treatments.%s to an active "
		    "sales tax rate",
		    unusable->name, unusable->id, treatment, path,
		    unusable->active ? "not a sales invoice rate" : "not active", treatment);
	if (entry->rule == MAPPING_RATE_BY_NAME)
		return plan_park(
		    park_reason, err,
		    "no tax rate named \"%.60s\" in Moneybird (vat_treatments.%s.name in "
		    "%s); use a name `bookto-moneybird moneybird check` lists",
		    entry->tax_rate_name != NULL ? entry->tax_rate_name : "", treatment, path);
	return plan_park(
	    park_reason, err,
	    "no tax rate with id %s in Moneybird (vat_treatments.%s.id in %s); use an id "
	    "`bookto-moneybird moneybird check` lists",
	    entry->tax_rate_id != NULL ? entry->tax_rate_id : "", treatment, path);
}
