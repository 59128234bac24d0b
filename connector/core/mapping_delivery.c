/*
 * The mapping's payment and delivery: payment actions and financial
 * accounts per provider, the send method, and the delivery rules that pick
 * it per buyer.
 */
#include "mapping_loader.h"

#include "cfg_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool payment_action_ok(const char *action)
{
	static const char *const actions[] = {"private_payment", "payment_without_proof",
	                                      "cash_payment", NULL};
	size_t i;

	for (i = 0; actions[i] != NULL; i++)
		if (strcmp(action, actions[i]) == 0)
			return true;
	return false;
}

static void read_payment_action(struct loader *ld, const config_setting_t *group,
                                const char *prefix, char **out)
{
	const config_setting_t *at;
	const char *text =
	    cfg_read_string(&ld->report, group, prefix, "manual_payment_action", &at);
	char key[MAPPING_KEY_MAX];

	if (text == NULL || text[0] == '\0')
		return;
	if (!payment_action_ok(text)) {
		cfg_key_name(key, sizeof(key), prefix, "manual_payment_action");
		mapping_problem(
		    ld, at,
		    "`%s` must be \"private_payment\", \"cash_payment\", \"payment_without_proof\" "
		    "or \"\" (the other Moneybird actions need data bookto does not send)",
		    key);
		return;
	}
	*out = mapping_strdup(ld, text);
}

/* private_payment and cash_payment need a financial account (Moneybird's rule). */
static void payment_pair_check(struct loader *ld, const config_setting_t *at, const char *prefix,
                               const char *action, const char *financial_account_id)
{
	if (action == NULL || financial_account_id != NULL)
		return;
	if (strcmp(action, "private_payment") != 0 && strcmp(action, "cash_payment") != 0)
		return;
	mapping_problem(ld, at,
	                "`%s.manual_payment_action` \"%s\" needs a financial account; add "
	                "financial_account_id = \"...\"; (see `bookto-moneybird moneybird check`)",
	                prefix, action);
}

void mapping_load_payment(struct loader *ld, const config_setting_t *root, struct mapping *mapping)
{
	static const char *const keys[] = {"manual_payment_action", "financial_account_id",
	                                   "providers", NULL};
	static const char *const provider_keys[] = {"manual_payment_action", "financial_account_id",
	                                            NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "payment");
	const config_setting_t *providers;
	int count;
	int i;

	if (group == NULL)
		return;
	cfg_check_keys(&ld->report, group, "payment", keys);
	read_payment_action(ld, group, "payment", &mapping->manual_payment_action);
	mapping_read_id(ld, group, "payment", "financial_account_id", "financial accounts",
	                &mapping->financial_account_id);
	payment_pair_check(ld, group, "payment", mapping->manual_payment_action,
	                   mapping->financial_account_id);

	providers = cfg_get_group(&ld->report, group, "payment", "providers");
	if (providers == NULL)
		return;
	mapping->providers = mapping_list_room(ld, providers, "payment.providers",
	                                       sizeof(*mapping->providers), &count);
	if (mapping->providers == NULL)
		return;
	mapping->provider_count = (size_t)count;
	for (i = 0; i < count; i++) {
		const config_setting_t *item = config_setting_get_elem(providers, (unsigned)i);
		struct mapping_payment_provider *entry = &mapping->providers[i];
		char prefix[MAPPING_KEY_MAX];

		snprintf(prefix, sizeof(prefix), "payment.providers.%s", config_setting_name(item));
		entry->provider = mapping_strdup(ld, config_setting_name(item));
		if (!config_setting_is_group(item)) {
			mapping_problem(
			    ld, item,
			    "`%s` must be a group; write %s = { financial_account_id = \"...\"; "
			    "};",
			    prefix, config_setting_name(item));
			continue;
		}
		cfg_check_keys(&ld->report, item, prefix, provider_keys);
		read_payment_action(ld, item, prefix, &entry->manual_payment_action);
		mapping_read_id(ld, item, prefix, "financial_account_id", "financial accounts",
		                &entry->financial_account_id);
		/* What the planner will use: the provider's own value, else the group's. */
		payment_pair_check(
		    ld, item, prefix,
		    entry->manual_payment_action != NULL ? entry->manual_payment_action
		                                         : mapping->manual_payment_action,
		    entry->financial_account_id != NULL ? entry->financial_account_id
		                                        : mapping->financial_account_id);
	}
}

static bool country_code_ok(const char *text)
{
	return strlen(text) == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' &&
	       text[1] <= 'Z';
}

/* "Manual", "Email" or "Peppol" into *method; a problem otherwise. */
void mapping_parse_send_method(struct loader *ld, const config_setting_t *at, const char *key,
                               const char *text, enum mapping_send_method *method)
{
	if (!mapping_send_method_parse(text, method))
		mapping_problem(
		    ld, at,
		    "`%s` must be \"Manual\" (mark as sent), \"Email\" or \"Peppol\", not "
		    "\"%.40s\"",
		    key, text);
}

static const struct {
	const char *name;
	enum mapping_delivery_condition condition;
} delivery_conditions[] = {
    {"peppol_id", MAPPING_WHEN_PEPPOL_ID}, {"vat_number", MAPPING_WHEN_VAT_NUMBER},
    {"email", MAPPING_WHEN_EMAIL},         {"business", MAPPING_WHEN_BUSINESS},
    {"private", MAPPING_WHEN_PRIVATE},
};

/* `when`: one condition name or an array of them, all of which must hold. */
static unsigned read_delivery_conditions(struct loader *ld, const config_setting_t *rule,
                                         const char *prefix)
{
	const config_setting_t *when = config_setting_get_member(rule, "when");
	unsigned conditions = 0;
	int count;

	if (when == NULL)
		return 0;
	if (config_setting_type(when) == CONFIG_TYPE_STRING) {
		count = 1;
	} else if (config_setting_is_array(when)) {
		count = config_setting_length(when);
	} else {
		mapping_problem(ld, when,
		                "`%s.when` must be a condition or an array of them, e.g. "
		                "[\"private\", \"email\"]",
		                prefix);
		return 0;
	}
	for (int i = 0; i < count; i++) {
		const config_setting_t *item = config_setting_is_array(when)
		                                   ? config_setting_get_elem(when, (unsigned)i)
		                                   : when;
		const char *name = config_setting_type(item) == CONFIG_TYPE_STRING
		                       ? config_setting_get_string(item)
		                       : NULL;
		size_t k;

		for (k = 0; name != NULL &&
		            k < sizeof(delivery_conditions) / sizeof(delivery_conditions[0]);
		     k++)
			if (strcmp(name, delivery_conditions[k].name) == 0)
				break;
		if (name == NULL ||
		    k == sizeof(delivery_conditions) / sizeof(delivery_conditions[0])) {
			mapping_problem(
			    ld, item,
			    "`%s.when` names an unknown condition \"%.40s\"; use \"peppol_id\", "
			    "\"vat_number\", \"email\", \"business\" or \"private\"",
			    prefix, name != NULL ? name : "(not a string)");
			continue;
		}
		conditions |= (unsigned)delivery_conditions[k].condition;
	}
	if ((conditions & MAPPING_WHEN_PRIVATE) != 0 &&
	    (conditions &
	     (MAPPING_WHEN_BUSINESS | MAPPING_WHEN_VAT_NUMBER | MAPPING_WHEN_PEPPOL_ID)) != 0)
		mapping_problem(
		    ld, when,
		    "`%s.when` asks for a private buyer and a business one at once; no order "
		    "can match it",
		    prefix);
	return conditions;
}

/* delivery_rules = ( { when = [...]; country = "BE"; method = "Peppol"; }, ... ); */
void mapping_load_delivery_rules(struct loader *ld, const config_setting_t *root,
                                 struct mapping *mapping)
{
	static const char *const keys[] = {"when", "country", "method", NULL};
	const config_setting_t *list = config_setting_get_member(root, "delivery_rules");
	int count;

	if (list == NULL)
		return;
	if (!config_setting_is_list(list)) {
		mapping_problem(
		    ld, list,
		    "`delivery_rules` must be a list of groups; write delivery_rules = ( { when = "
		    "\"peppol_id\"; method = \"Peppol\"; } );");
		return;
	}
	mapping->delivery_rules =
	    mapping_list_room(ld, list, "delivery_rules", sizeof(*mapping->delivery_rules), &count);
	if (mapping->delivery_rules == NULL)
		return;
	for (int i = 0; i < count; i++) {
		const config_setting_t *item = config_setting_get_elem(list, (unsigned)i);
		struct mapping_delivery_rule *rule =
		    &mapping->delivery_rules[mapping->delivery_rule_count];
		const config_setting_t *at;
		const char *text;
		char prefix[MAPPING_KEY_MAX];

		snprintf(prefix, sizeof(prefix), "delivery_rules.[%d]", i);
		if (!config_setting_is_group(item)) {
			mapping_problem(
			    ld, item,
			    "`%s` must be a group; write { when = \"peppol_id\"; method = "
			    "\"Peppol\"; }",
			    prefix);
			continue;
		}
		cfg_check_keys(&ld->report, item, prefix, keys);
		rule->conditions = read_delivery_conditions(ld, item, prefix);
		text = cfg_read_string(&ld->report, item, prefix, "country", &at);
		if (text != NULL) {
			if (!country_code_ok(text))
				mapping_problem(
				    ld, at,
				    "`%s.country` must be an ISO 3166-1 alpha-2 code in capitals, "
				    "e.g. \"BE\", not \"%.40s\"",
				    prefix, text);
			else
				memcpy(rule->country, text, 3);
		}
		text = cfg_read_string(&ld->report, item, prefix, "method", &at);
		if (at == NULL) {
			mapping_problem(
			    ld, item,
			    "`%s.method` is missing; add method = \"Peppol\"; (or \"Email\" or "
			    "\"Manual\")",
			    prefix);
			continue;
		}
		if (text == NULL)
			continue;
		{
			char key[MAPPING_KEY_MAX];

			cfg_key_name(key, sizeof(key), prefix, "method");
			mapping_parse_send_method(ld, at, key, text, &rule->method);
		}
		mapping->delivery_rule_count++;
	}
}

const char *mapping_delivery_condition_name(enum mapping_delivery_condition condition)
{
	for (size_t i = 0; i < sizeof(delivery_conditions) / sizeof(delivery_conditions[0]); i++)
		if (delivery_conditions[i].condition == condition)
			return delivery_conditions[i].name;
	return "?";
}
