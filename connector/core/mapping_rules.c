/*
 * The mapping's tax rules: vat_treatments (which Moneybird sales tax rate
 * each bookto vat_treatment becomes), ledger accounts and the invoice's
 * text and reference templates.
 */
#include "mapping_loader.h"

#include "cfg_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Checks a template's placeholders against `allowed`: "{name}" must be one of
 * them, "{{" and "}}" are literal braces. Returns true when it is well formed;
 * otherwise reports once and returns false.
 */
static bool template_check(struct loader *ld, const config_setting_t *at, const char *key,
                           const char *text, const char *const *allowed, const char *allowed_text)
{
	size_t i = 0;

	if (strlen(text) > MAPPING_TEMPLATE_MAX_BYTES) {
		mapping_problem(ld, at, "`%s` is longer than %d bytes", key,
		                MAPPING_TEMPLATE_MAX_BYTES);
		return false;
	}
	while (text[i] != '\0') {
		if (text[i] == '}' && text[i + 1] == '}') {
			i += 2;
		} else if (text[i] == '}') {
			mapping_problem(
			    ld, at, "`%s` has a `}` without `{`; write `}}` for a literal brace",
			    key);
			return false;
		} else if (text[i] == '{' && text[i + 1] == '{') {
			i += 2;
		} else if (text[i] == '{') {
			const char *close = strchr(text + i, '}');
			size_t length;
			size_t k;

			if (close == NULL) {
				mapping_problem(
				    ld, at,
				    "`%s` has a `{` that is never closed; write `{{` for a literal "
				    "brace",
				    key);
				return false;
			}
			length = (size_t)(close - (text + i + 1));
			for (k = 0; allowed[k] != NULL; k++)
				if (strlen(allowed[k]) == length &&
				    strncmp(allowed[k], text + i + 1, length) == 0)
					break;
			if (allowed[k] == NULL) {
				mapping_problem(
				    ld, at,
				    "`%s` has the unknown placeholder {%.*s}; use %s (or `{{` "
				    "for a "
				    "literal brace)",
				    key, (int)(length > 40 ? 40 : length), text + i + 1,
				    allowed_text);
				return false;
			}
			i += length + 2;
		} else {
			i++;
		}
	}
	return true;
}

static const char *const rule_names[] = {"percentage", "name", "id", "country_percentage"};

const char *mapping_rate_rule_name(enum mapping_rate_rule rule)
{
	if ((size_t)rule < sizeof(rule_names) / sizeof(rule_names[0]))
		return rule_names[rule];
	return "?";
}

static void load_vat_treatment(struct loader *ld, const config_setting_t *group,
                               struct mapping_vat_treatment *entry)
{
	static const char *const keys[] = {"by", "name", "id", "ledger_account_id", NULL};
	const char *treatment = config_setting_name(group);
	const config_setting_t *by_at;
	const config_setting_t *name_at;
	const config_setting_t *id_at;
	const char *by;
	const char *name;
	const char *id;
	char prefix[MAPPING_KEY_MAX];
	size_t r;
	int rule = -1;

	snprintf(prefix, sizeof(prefix), "vat_treatments.%s", treatment);
	entry->treatment = mapping_strdup(ld, treatment);
	if (!config_setting_is_group(group)) {
		mapping_problem(
		    ld, group,
		    "`%s` must be a group; write %s = { by = \"percentage\"; }; or %s = { by = "
		    "\"name\"; name = \"...\"; };",
		    prefix, treatment, treatment);
		return;
	}
	cfg_check_keys(&ld->report, group, prefix, keys);
	by = cfg_read_string(&ld->report, group, prefix, "by", &by_at);
	if (by_at == NULL) {
		mapping_problem(ld, group,
		                "`%s.by` is missing; add by = \"percentage\", \"name\", \"id\" or "
		                "\"country_percentage\";",
		                prefix);
	} else if (by != NULL) {
		for (r = 0; r < sizeof(rule_names) / sizeof(rule_names[0]); r++)
			if (strcmp(by, rule_names[r]) == 0)
				rule = (int)r;
		if (rule < 0)
			mapping_problem(ld, by_at,
			                "`%s.by` must be \"percentage\", \"name\", \"id\" or "
			                "\"country_percentage\", not \"%.40s\"",
			                prefix, by);
	}
	name = cfg_read_string(&ld->report, group, prefix, "name", &name_at);
	id = cfg_read_string(&ld->report, group, prefix, "id", &id_at);
	if (rule < 0)
		goto ledger;
	entry->rule = (enum mapping_rate_rule)rule;
	if (entry->rule == MAPPING_RATE_BY_NAME) {
		if (name_at == NULL)
			mapping_problem(
			    ld, group,
			    "`%s.name` is missing; add name = \"...\"; with the tax rate's name "
			    "as `bookto-moneybird moneybird check` lists it",
			    prefix);
		else if (name != NULL && name[0] == '\0')
			mapping_problem(
			    ld, name_at,
			    "`%s.name` is empty; write the tax rate's name as `bookto-moneybird "
			    "moneybird check` lists it",
			    prefix);
		else if (name != NULL)
			entry->tax_rate_name = mapping_strdup(ld, name);
	} else if (name_at != NULL) {
		mapping_problem(ld, name_at, "`%s.name` is only used with by = \"name\"; remove it",
		                prefix);
	}
	if (entry->rule == MAPPING_RATE_BY_ID) {
		if (id_at == NULL)
			mapping_problem(
			    ld, group,
			    "`%s.id` is missing; add id = \"...\"; with the tax rate's id as "
			    "`bookto-moneybird moneybird check` lists it",
			    prefix);
		else if (id != NULL && !cfg_all_digits(id, MAPPING_ID_MAX_DIGITS))
			mapping_problem(
			    ld, id_at,
			    "`%s.id` must be a Moneybird tax rate id of 1 to %d digits in double "
			    "quotes",
			    prefix, MAPPING_ID_MAX_DIGITS);
		else if (id != NULL)
			entry->tax_rate_id = mapping_strdup(ld, id);
	} else if (id_at != NULL) {
		mapping_problem(ld, id_at, "`%s.id` is only used with by = \"id\"; remove it",
		                prefix);
	}
ledger:
	mapping_read_id(ld, group, prefix, "ledger_account_id", "ledger accounts",
	                &entry->ledger_account_id);
}

void mapping_load_vat_treatments(struct loader *ld, const config_setting_t *root,
                                 struct mapping *mapping)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "vat_treatments");
	int count;
	int i;

	if (group == NULL) {
		if (config_setting_get_member(root, "vat_treatments") == NULL)
			mapping_problem(
			    ld, root,
			    "`vat_treatments` is missing; add vat_treatments = { standard = { by "
			    "= \"percentage\"; }; };");
		return;
	}
	count = config_setting_length(group);
	if (count == 0) {
		mapping_problem(
		    ld, group,
		    "`vat_treatments` is empty; add at least standard = { by = \"percentage\"; };");
		return;
	}
	mapping->vat_treatments = mapping_list_room(ld, group, "vat_treatments",
	                                            sizeof(*mapping->vat_treatments), &count);
	if (mapping->vat_treatments == NULL)
		return;
	mapping->vat_treatment_count = (size_t)count;
	for (i = 0; i < count; i++)
		load_vat_treatment(ld, config_setting_get_elem(group, (unsigned)i),
		                   &mapping->vat_treatments[i]);
}

void mapping_load_ledger_accounts(struct loader *ld, const config_setting_t *root,
                                  struct mapping *mapping)
{
	static const char *const keys[] = {"default_id", "products", NULL};
	static const char *const product_keys[] = {"product_name", "ledger_account_id", NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "ledger_accounts");
	const config_setting_t *list;
	int count;
	int i;

	if (group == NULL)
		return;
	cfg_check_keys(&ld->report, group, "ledger_accounts", keys);
	mapping_read_id(ld, group, "ledger_accounts", "default_id", "ledger accounts",
	                &mapping->ledger_account_id);
	list = config_setting_get_member(group, "products");
	if (list == NULL)
		return;
	if (!config_setting_is_list(list)) {
		mapping_problem(
		    ld, list,
		    "`ledger_accounts.products` must be a list of groups; write products = ( { "
		    "product_name = \"...\"; ledger_account_id = \"...\"; } );");
		return;
	}
	mapping->product_ledgers = mapping_list_room(ld, list, "ledger_accounts.products",
	                                             sizeof(*mapping->product_ledgers), &count);
	if (mapping->product_ledgers == NULL)
		return;
	for (i = 0; i < count; i++) {
		const config_setting_t *item = config_setting_get_elem(list, (unsigned)i);
		struct mapping_product_ledger *entry =
		    &mapping->product_ledgers[mapping->product_ledger_count];
		const config_setting_t *at;
		const char *name;
		char prefix[MAPPING_KEY_MAX];
		size_t k;

		snprintf(prefix, sizeof(prefix), "ledger_accounts.products.[%d]", i);
		if (!config_setting_is_group(item)) {
			mapping_problem(ld, item,
			                "`%s` must be a group; write { product_name = \"...\"; "
			                "ledger_account_id = \"...\"; }",
			                prefix);
			continue;
		}
		cfg_check_keys(&ld->report, item, prefix, product_keys);
		name = mapping_read_name(ld, item, prefix, "product_name", &at);
		if (at == NULL)
			mapping_problem(
			    ld, item,
			    "`%s.product_name` is missing; add product_name = \"...\"; as bookto "
			    "sends product.name",
			    prefix);
		for (k = 0; name != NULL && k < mapping->product_ledger_count; k++)
			if (strcmp(mapping->product_ledgers[k].product_name, name) == 0) {
				mapping_problem(
				    ld, at,
				    "`%s.product_name` \"%.80s\" is listed twice; keep one entry",
				    prefix, name);
				name = NULL;
			}
		mapping_read_id(ld, item, prefix, "ledger_account_id", "ledger accounts",
		                &entry->ledger_account_id);
		if (entry->ledger_account_id == NULL) {
			at = config_setting_get_member(item, "ledger_account_id");
			if (at == NULL)
				mapping_problem(
				    ld, item,
				    "`%s.ledger_account_id` is missing; add ledger_account_id = "
				    "\"...\";",
				    prefix);
			else if (config_setting_type(at) == CONFIG_TYPE_STRING &&
			         config_setting_get_string(at)[0] == '\0')
				mapping_problem(
				    ld, at,
				    "`%s.ledger_account_id` is empty; set the ledger account's "
				    "id or "
				    "remove the entry",
				    prefix);
			continue;
		}
		if (name == NULL) {
			free(entry->ledger_account_id);
			entry->ledger_account_id = NULL;
			continue;
		}
		entry->product_name = mapping_strdup(ld, name);
		mapping->product_ledger_count++;
	}
}

void mapping_load_invoice(struct loader *ld, const config_setting_t *root, struct mapping *mapping)
{
	static const char *const keys[] = {"description", "description_max_length", "reference",
	                                   "workflow_id", "document_style_id",      NULL};
	static const char *const description_placeholders[] = {
	    "product_name", "product_description", "order_number",
	    "order_id",     "custom_fields",       NULL};
	static const char *const reference_placeholders[] = {"order_number", "order_id", NULL};
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "invoice");
	const config_setting_t *at;
	const char *text;
	long long max_length = MAPPING_DESCRIPTION_MAX_LENGTH_DEFAULT;

	if (group != NULL)
		cfg_check_keys(&ld->report, group, "invoice", keys);

	text = cfg_read_string(&ld->report, group, "invoice", "description", &at);
	if (at == NULL) {
		text = MAPPING_DESCRIPTION_DEFAULT;
	} else if (text != NULL && text[0] == '\0') {
		mapping_problem(
		    ld, at,
		    "`invoice.description` is empty; write a template such as \"%s\" (with "
		    "the newlines as \\n)",
		    "{product_name}\\nbookto order {order_number}");
		text = NULL;
	}
	if (text != NULL &&
	    template_check(ld, at, "invoice.description", text, description_placeholders,
	                   "{product_name}, {product_description}, {order_number}, {order_id} or "
	                   "{custom_fields}"))
		mapping->description_template = mapping_strdup(ld, text);

	cfg_read_int(&ld->report, group, "invoice", "description_max_length", 20, 100000,
	             &max_length, NULL, NULL);
	mapping->description_max_length = (size_t)max_length;

	text = cfg_read_string(&ld->report, group, "invoice", "reference", &at);
	if (at == NULL)
		text = MAPPING_REFERENCE_DEFAULT;
	if (text != NULL &&
	    template_check(ld, at, "invoice.reference", text, reference_placeholders,
	                   "{order_number} or {order_id}")) {
		/* The reference is how an invoice is found again after a crash. */
		if (strstr(text, "{order_number}") == NULL && strstr(text, "{order_id}") == NULL)
			mapping_problem(
			    ld, at,
			    "`invoice.reference` must contain {order_number} or {order_id}: the "
			    "connector finds each order's invoice again by its reference");
		else
			mapping->reference_template = mapping_strdup(ld, text);
	}

	mapping_read_id(ld, group, "invoice", "workflow_id", "workflows", &mapping->workflow_id);
	mapping_read_id(ld, group, "invoice", "document_style_id", "document styles",
	                &mapping->document_style_id);
}
