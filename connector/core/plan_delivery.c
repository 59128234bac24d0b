/*
 * How the planned invoice is sent: the mapping's delivery rules (first that
 * holds wins, else send_method) and the check that the chosen method can
 * reach the buyer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_internal.h"
#include "text.h"

/* True when every condition of `conditions` holds for the order's buyer. */
static bool delivery_conditions_hold(const struct bookto_order *order, unsigned conditions)
{
	char scheme[8];
	const char *identifier;
	char *peppol = text_trimmed_copy(order->buyer_peppol_id);
	bool has_peppol = peppol != NULL && peppol[0] != '\0';
	bool usable_peppol =
	    has_peppol && plan_peppol_split(peppol, scheme, sizeof(scheme), &identifier);
	bool has_vat = !text_blank(order->buyer_vat_number);
	bool business = has_vat || has_peppol;
	bool holds = true;

	free(peppol);
	if ((conditions & MAPPING_WHEN_PEPPOL_ID) != 0 && !usable_peppol)
		holds = false;
	if ((conditions & MAPPING_WHEN_VAT_NUMBER) != 0 && !has_vat)
		holds = false;
	if ((conditions & MAPPING_WHEN_EMAIL) != 0 && text_blank(order->buyer_email))
		holds = false;
	if ((conditions & MAPPING_WHEN_BUSINESS) != 0 && !business)
		holds = false;
	if ((conditions & MAPPING_WHEN_PRIVATE) != 0 && business)
		holds = false;
	return holds;
}

static void describe_rule(const struct mapping_delivery_rule *rule, size_t number, char *out,
                          size_t size)
{
	size_t used = (size_t)snprintf(out, size, "delivery rule %zu (", number);
	const char *separator = "";

	for (unsigned bit = 1; bit <= MAPPING_WHEN_PRIVATE && used < size; bit <<= 1) {
		if ((rule->conditions & bit) == 0)
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s", separator,
		                         mapping_delivery_condition_name(bit));
		separator = ", ";
	}
	if (rule->country[0] != '\0' && used < size) {
		used += (size_t)snprintf(out + used, size - used, "%scountry %s", separator,
		                         rule->country);
		separator = ", ";
	}
	if (used < size)
		snprintf(out + used, size - used, "%s)", separator[0] == '\0' ? "always" : "");
}

void plan_delivery(const struct bookto_order *order, const struct mapping *mapping,
                   struct plan_delivery *out)
{
	out->method = plan_send_method(mapping);
	out->rule = 0;
	snprintf(out->why, sizeof(out->why), "send_method (no delivery rule holds)");
	if (mapping == NULL || order == NULL)
		return;
	for (size_t i = 0; i < mapping->delivery_rule_count; i++) {
		const struct mapping_delivery_rule *rule = &mapping->delivery_rules[i];

		if (rule->country[0] != '\0' && (order->buyer_country == NULL ||
		                                 strcmp(order->buyer_country, rule->country) != 0))
			continue;
		if (!delivery_conditions_hold(order, rule->conditions))
			continue;
		out->method = mapping_send_method_name(rule->method);
		out->rule = i + 1;
		describe_rule(rule, i + 1, out->why, sizeof(out->why));
		return;
	}
}

int plan_check_delivery(const struct bookto_order *order, const struct plan_delivery *delivery,
                        char **park_reason, struct cn_error *err)
{
	if (strcmp(delivery->method, "Peppol") == 0 &&
	    !delivery_conditions_hold(order, MAPPING_WHEN_PEPPOL_ID))
		return plan_park(
		    park_reason, err,
		    "the invoice would be sent by Peppol (chosen by %s), but the buyer has no "
		    "Peppol id the contact can carry (buyer.peppol_id \"%.80s\"), so "
		    "Moneybird cannot deliver it; add a delivery rule (when = \"peppol_id\") "
		    "that sends it otherwise, or fix the buyer's Peppol id",
		    delivery->why, order->buyer_peppol_id != NULL ? order->buyer_peppol_id : "");
	if (strcmp(delivery->method, "Email") == 0 && text_blank(order->buyer_email))
		return plan_park(
		    park_reason, err,
		    "the invoice would be sent by Email (chosen by %s), but the buyer has no "
		    "email address; add a delivery rule (when = \"email\") that sends it "
		    "otherwise",
		    delivery->why);
	return CN_OK;
}
