#include "mapping.h"

#include "cfg_read.h"
#include "cfg_report.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
static void problem(struct loader *ld, const config_setting_t *at, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static void problem(struct loader *ld, const config_setting_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_report_vat(&ld->report, at, fmt, ap);
	va_end(ap);
}

static char *loader_strdup(struct loader *ld, const char *text)
{
	char *copy;

	if (text == NULL)
		return NULL;
	copy = strdup(text);
	if (copy == NULL)
		ld->out_of_memory = true;
	return copy;
}

/*
 * An optional Moneybird id: absent or "" leaves *out NULL; otherwise it must
 * be digits. `listing` names the place `moneybird check` shows the ids.
 */
static void read_id(struct loader *ld, const config_setting_t *group, const char *prefix,
                    const char *name, const char *listing, char **out)
{
	const config_setting_t *at;
	const char *text = cfg_read_string(&ld->report, group, prefix, name, &at);
	char key[MAPPING_KEY_MAX];

	if (text == NULL || text[0] == '\0')
		return;
	if (!cfg_all_digits(text, MAPPING_ID_MAX_DIGITS)) {
		cfg_key_name(key, sizeof(key), prefix, name);
		problem(
		    ld, at,
		    "`%s` must be a Moneybird id of 1 to %d digits in double quotes (see the %s "
		    "listed by `bookto-moneybird moneybird check`), or \"\" for none",
		    key, MAPPING_ID_MAX_DIGITS, listing);
		return;
	}
	*out = loader_strdup(ld, text);
}

/* Text that may not be empty and stays below a sane size. */
static const char *read_name(struct loader *ld, const config_setting_t *group, const char *prefix,
                             const char *name, const config_setting_t **at)
{
	const char *text = cfg_read_string(&ld->report, group, prefix, name, at);
	char key[MAPPING_KEY_MAX];

	if (text == NULL)
		return NULL;
	cfg_key_name(key, sizeof(key), prefix, name);
	if (text[0] == '\0') {
		problem(ld, *at, "`%s` is empty; write the name as Moneybird or bookto shows it",
		        key);
		return NULL;
	}
	if (strlen(text) > MAPPING_NAME_MAX_BYTES) {
		problem(ld, *at, "`%s` is longer than %d bytes", key, MAPPING_NAME_MAX_BYTES);
		return NULL;
	}
	return text;
}

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
		problem(ld, at, "`%s` is longer than %d bytes", key, MAPPING_TEMPLATE_MAX_BYTES);
		return false;
	}
	while (text[i] != '\0') {
		if (text[i] == '}' && text[i + 1] == '}') {
			i += 2;
		} else if (text[i] == '}') {
			problem(ld, at,
			        "`%s` has a `}` without `{`; write `}}` for a literal brace", key);
			return false;
		} else if (text[i] == '{' && text[i + 1] == '{') {
			i += 2;
		} else if (text[i] == '{') {
			const char *close = strchr(text + i, '}');
			size_t length;
			size_t k;

			if (close == NULL) {
				problem(
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
				problem(ld, at,
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

const char *mapping_price_basis_name(enum mapping_price_basis basis)
{
	switch (basis) {
	case MAPPING_PRICE_AUTO:
		return "auto";
	case MAPPING_PRICE_INCL:
		return "incl";
	case MAPPING_PRICE_EXCL:
		return "excl";
	}
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
	entry->treatment = loader_strdup(ld, treatment);
	if (!config_setting_is_group(group)) {
		problem(ld, group,
		        "`%s` must be a group; write %s = { by = \"percentage\"; }; or %s = { by = "
		        "\"name\"; name = \"...\"; };",
		        prefix, treatment, treatment);
		return;
	}
	cfg_check_keys(&ld->report, group, prefix, keys);
	by = cfg_read_string(&ld->report, group, prefix, "by", &by_at);
	if (by_at == NULL) {
		problem(ld, group,
		        "`%s.by` is missing; add by = \"percentage\", \"name\", \"id\" or "
		        "\"country_percentage\";",
		        prefix);
	} else if (by != NULL) {
		for (r = 0; r < sizeof(rule_names) / sizeof(rule_names[0]); r++)
			if (strcmp(by, rule_names[r]) == 0)
				rule = (int)r;
		if (rule < 0)
			problem(ld, by_at,
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
			problem(
			    ld, group,
			    "`%s.name` is missing; add name = \"...\"; with the tax rate's name "
			    "as `bookto-moneybird moneybird check` lists it",
			    prefix);
		else if (name != NULL && name[0] == '\0')
			problem(
			    ld, name_at,
			    "`%s.name` is empty; write the tax rate's name as `bookto-moneybird "
			    "moneybird check` lists it",
			    prefix);
		else if (name != NULL)
			entry->tax_rate_name = loader_strdup(ld, name);
	} else if (name_at != NULL) {
		problem(ld, name_at, "`%s.name` is only used with by = \"name\"; remove it",
		        prefix);
	}
	if (entry->rule == MAPPING_RATE_BY_ID) {
		if (id_at == NULL)
			problem(ld, group,
			        "`%s.id` is missing; add id = \"...\"; with the tax rate's id as "
			        "`bookto-moneybird moneybird check` lists it",
			        prefix);
		else if (id != NULL && !cfg_all_digits(id, MAPPING_ID_MAX_DIGITS))
			problem(
			    ld, id_at,
			    "`%s.id` must be a Moneybird tax rate id of 1 to %d digits in double "
			    "quotes",
			    prefix, MAPPING_ID_MAX_DIGITS);
		else if (id != NULL)
			entry->tax_rate_id = loader_strdup(ld, id);
	} else if (id_at != NULL) {
		problem(ld, id_at, "`%s.id` is only used with by = \"id\"; remove it", prefix);
	}
ledger:
	read_id(ld, group, prefix, "ledger_account_id", "ledger accounts",
	        &entry->ledger_account_id);
}

static void load_vat_treatments(struct loader *ld, const config_setting_t *root,
                                struct mapping *mapping)
{
	const config_setting_t *group = cfg_get_group(&ld->report, root, "", "vat_treatments");
	int count;
	int i;

	if (group == NULL) {
		if (config_setting_get_member(root, "vat_treatments") == NULL)
			problem(
			    ld, root,
			    "`vat_treatments` is missing; add vat_treatments = { standard = { by "
			    "= \"percentage\"; }; };");
		return;
	}
	count = config_setting_length(group);
	if (count == 0) {
		problem(
		    ld, group,
		    "`vat_treatments` is empty; add at least standard = { by = \"percentage\"; };");
		return;
	}
	if (count > MAPPING_LIST_MAX) {
		problem(ld, group, "`vat_treatments` has %d entries; at most %d are allowed", count,
		        MAPPING_LIST_MAX);
		return;
	}
	mapping->vat_treatments = calloc((size_t)count, sizeof(*mapping->vat_treatments));
	if (mapping->vat_treatments == NULL) {
		ld->out_of_memory = true;
		return;
	}
	mapping->vat_treatment_count = (size_t)count;
	for (i = 0; i < count; i++)
		load_vat_treatment(ld, config_setting_get_elem(group, (unsigned)i),
		                   &mapping->vat_treatments[i]);
}

static void load_ledger_accounts(struct loader *ld, const config_setting_t *root,
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
	read_id(ld, group, "ledger_accounts", "default_id", "ledger accounts",
	        &mapping->ledger_account_id);
	list = config_setting_get_member(group, "products");
	if (list == NULL)
		return;
	if (!config_setting_is_list(list)) {
		problem(ld, list,
		        "`ledger_accounts.products` must be a list of groups; write products = ( { "
		        "product_name = \"...\"; ledger_account_id = \"...\"; } );");
		return;
	}
	count = config_setting_length(list);
	if (count > MAPPING_LIST_MAX) {
		problem(ld, list,
		        "`ledger_accounts.products` has %d entries; at most %d are allowed", count,
		        MAPPING_LIST_MAX);
		return;
	}
	if (count == 0)
		return;
	mapping->product_ledgers = calloc((size_t)count, sizeof(*mapping->product_ledgers));
	if (mapping->product_ledgers == NULL) {
		ld->out_of_memory = true;
		return;
	}
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
			problem(ld, item,
			        "`%s` must be a group; write { product_name = \"...\"; "
			        "ledger_account_id = \"...\"; }",
			        prefix);
			continue;
		}
		cfg_check_keys(&ld->report, item, prefix, product_keys);
		name = read_name(ld, item, prefix, "product_name", &at);
		if (at == NULL)
			problem(
			    ld, item,
			    "`%s.product_name` is missing; add product_name = \"...\"; as bookto "
			    "sends product.name",
			    prefix);
		for (k = 0; name != NULL && k < mapping->product_ledger_count; k++)
			if (strcmp(mapping->product_ledgers[k].product_name, name) == 0) {
				problem(
				    ld, at,
				    "`%s.product_name` \"%.80s\" is listed twice; keep one entry",
				    prefix, name);
				name = NULL;
			}
		read_id(ld, item, prefix, "ledger_account_id", "ledger accounts",
		        &entry->ledger_account_id);
		if (entry->ledger_account_id == NULL) {
			at = config_setting_get_member(item, "ledger_account_id");
			if (at == NULL)
				problem(
				    ld, item,
				    "`%s.ledger_account_id` is missing; add ledger_account_id = "
				    "\"...\";",
				    prefix);
			else if (config_setting_type(at) == CONFIG_TYPE_STRING &&
			         config_setting_get_string(at)[0] == '\0')
				problem(ld, at,
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
		entry->product_name = loader_strdup(ld, name);
		mapping->product_ledger_count++;
	}
}

static void load_invoice(struct loader *ld, const config_setting_t *root, struct mapping *mapping)
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
		problem(ld, at,
		        "`invoice.description` is empty; write a template such as \"%s\" (with "
		        "the newlines as \\n)",
		        "{product_name}\\nbookto order {order_number}");
		text = NULL;
	}
	if (text != NULL &&
	    template_check(ld, at, "invoice.description", text, description_placeholders,
	                   "{product_name}, {product_description}, {order_number}, {order_id} or "
	                   "{custom_fields}"))
		mapping->description_template = loader_strdup(ld, text);

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
			problem(
			    ld, at,
			    "`invoice.reference` must contain {order_number} or {order_id}: the "
			    "connector finds each order's invoice again by its reference");
		else
			mapping->reference_template = loader_strdup(ld, text);
	}

	read_id(ld, group, "invoice", "workflow_id", "workflows", &mapping->workflow_id);
	read_id(ld, group, "invoice", "document_style_id", "document styles",
	        &mapping->document_style_id);
}

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
		problem(
		    ld, at,
		    "`%s` must be \"private_payment\", \"cash_payment\", \"payment_without_proof\" "
		    "or \"\" (the other Moneybird actions need data bookto does not send)",
		    key);
		return;
	}
	*out = loader_strdup(ld, text);
}

/* private_payment and cash_payment need a financial account (Moneybird's rule). */
static void payment_pair_check(struct loader *ld, const config_setting_t *at, const char *prefix,
                               const char *action, const char *financial_account_id)
{
	if (action == NULL || financial_account_id != NULL)
		return;
	if (strcmp(action, "private_payment") != 0 && strcmp(action, "cash_payment") != 0)
		return;
	problem(ld, at,
	        "`%s.manual_payment_action` \"%s\" needs a financial account; add "
	        "financial_account_id = \"...\"; (see `bookto-moneybird moneybird check`)",
	        prefix, action);
}

static void load_payment(struct loader *ld, const config_setting_t *root, struct mapping *mapping)
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
	read_id(ld, group, "payment", "financial_account_id", "financial accounts",
	        &mapping->financial_account_id);
	payment_pair_check(ld, group, "payment", mapping->manual_payment_action,
	                   mapping->financial_account_id);

	providers = cfg_get_group(&ld->report, group, "payment", "providers");
	if (providers == NULL)
		return;
	count = config_setting_length(providers);
	if (count > MAPPING_LIST_MAX) {
		problem(ld, providers, "`payment.providers` has %d entries; at most %d are allowed",
		        count, MAPPING_LIST_MAX);
		return;
	}
	if (count == 0)
		return;
	mapping->providers = calloc((size_t)count, sizeof(*mapping->providers));
	if (mapping->providers == NULL) {
		ld->out_of_memory = true;
		return;
	}
	mapping->provider_count = (size_t)count;
	for (i = 0; i < count; i++) {
		const config_setting_t *item = config_setting_get_elem(providers, (unsigned)i);
		struct mapping_payment_provider *entry = &mapping->providers[i];
		char prefix[MAPPING_KEY_MAX];

		snprintf(prefix, sizeof(prefix), "payment.providers.%s", config_setting_name(item));
		entry->provider = loader_strdup(ld, config_setting_name(item));
		if (!config_setting_is_group(item)) {
			problem(
			    ld, item,
			    "`%s` must be a group; write %s = { financial_account_id = \"...\"; "
			    "};",
			    prefix, config_setting_name(item));
			continue;
		}
		cfg_check_keys(&ld->report, item, prefix, provider_keys);
		read_payment_action(ld, item, prefix, &entry->manual_payment_action);
		read_id(ld, item, prefix, "financial_account_id", "financial accounts",
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
static void parse_send_method(struct loader *ld, const config_setting_t *at, const char *key,
                              const char *text, enum mapping_send_method *method)
{
	if (strcmp(text, "Manual") == 0)
		*method = MAPPING_SEND_MANUAL;
	else if (strcmp(text, "Email") == 0)
		*method = MAPPING_SEND_EMAIL;
	else if (strcmp(text, "Peppol") == 0)
		*method = MAPPING_SEND_PEPPOL;
	else
		problem(ld, at,
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
		problem(ld, when,
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
			problem(
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
		problem(ld, when,
		        "`%s.when` asks for a private buyer and a business one at once; no order "
		        "can match it",
		        prefix);
	return conditions;
}

/* delivery_rules = ( { when = [...]; country = "BE"; method = "Peppol"; }, ... ); */
static void load_delivery_rules(struct loader *ld, const config_setting_t *root,
                                struct mapping *mapping)
{
	static const char *const keys[] = {"when", "country", "method", NULL};
	const config_setting_t *list = config_setting_get_member(root, "delivery_rules");
	int count;

	if (list == NULL)
		return;
	if (!config_setting_is_list(list)) {
		problem(
		    ld, list,
		    "`delivery_rules` must be a list of groups; write delivery_rules = ( { when = "
		    "\"peppol_id\"; method = \"Peppol\"; } );");
		return;
	}
	count = config_setting_length(list);
	if (count > MAPPING_LIST_MAX) {
		problem(ld, list, "`delivery_rules` has %d entries; at most %d are allowed", count,
		        MAPPING_LIST_MAX);
		return;
	}
	if (count == 0)
		return;
	mapping->delivery_rules = calloc((size_t)count, sizeof(*mapping->delivery_rules));
	if (mapping->delivery_rules == NULL) {
		ld->out_of_memory = true;
		return;
	}
	for (int i = 0; i < count; i++) {
		const config_setting_t *item = config_setting_get_elem(list, (unsigned)i);
		struct mapping_delivery_rule *rule =
		    &mapping->delivery_rules[mapping->delivery_rule_count];
		const config_setting_t *at;
		const char *text;
		char prefix[MAPPING_KEY_MAX];

		snprintf(prefix, sizeof(prefix), "delivery_rules.[%d]", i);
		if (!config_setting_is_group(item)) {
			problem(ld, item,
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
				problem(
				    ld, at,
				    "`%s.country` must be an ISO 3166-1 alpha-2 code in capitals, "
				    "e.g. \"BE\", not \"%.40s\"",
				    prefix, text);
			else
				memcpy(rule->country, text, 3);
		}
		text = cfg_read_string(&ld->report, item, prefix, "method", &at);
		if (at == NULL) {
			problem(ld, item,
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
			parse_send_method(ld, at, key, text, &rule->method);
		}
		mapping->delivery_rule_count++;
	}
}

/* price_basis, or the deprecated prices_are_incl_tax read onto it. */
static void load_price_basis(struct loader *ld, const config_setting_t *root,
                             struct mapping *mapping)
{
	const config_setting_t *at = NULL;
	const config_setting_t *old = config_setting_get_member(root, "prices_are_incl_tax");
	const char *text = cfg_read_string(&ld->report, root, "", "price_basis", &at);
	bool incl = false;

	mapping->price_basis = MAPPING_PRICE_AUTO;
	if (text != NULL) {
		if (strcmp(text, "auto") == 0)
			mapping->price_basis = MAPPING_PRICE_AUTO;
		else if (strcmp(text, "incl") == 0)
			mapping->price_basis = MAPPING_PRICE_INCL;
		else if (strcmp(text, "excl") == 0)
			mapping->price_basis = MAPPING_PRICE_EXCL;
		else
			problem(
			    ld, at,
			    "`price_basis` must be \"auto\", \"incl\" or \"excl\", not \"%.40s\"",
			    text);
	}
	if (old == NULL)
		return;
	if (at != NULL) {
		problem(ld, old,
		        "`prices_are_incl_tax` is deprecated and `price_basis` is set too; remove "
		        "`prices_are_incl_tax`");
		return;
	}
	if (config_setting_type(old) != CONFIG_TYPE_BOOL) {
		problem(ld, old, "`prices_are_incl_tax` must be true or false, without quotes");
		return;
	}
	cfg_read_bool(&ld->report, root, "", "prices_are_incl_tax", &incl);
	mapping->price_basis = incl ? MAPPING_PRICE_INCL : MAPPING_PRICE_EXCL;
	mapping->deprecated_incl_tax_line = (int)config_setting_source_line(old);
}

static void load_top_level(struct loader *ld, const config_setting_t *root, struct mapping *mapping)
{
	static const char *const contact_keys[] = {"search_existing", NULL};
	const config_setting_t *at;
	const config_setting_t *contacts;
	const char *text;

	load_price_basis(ld, root, mapping);

	mapping->send_method = MAPPING_SEND_MANUAL;
	text = cfg_read_string(&ld->report, root, "", "send_method", &at);
	if (text != NULL)
		parse_send_method(ld, at, "send_method", text, &mapping->send_method);

	mapping->test_orders = MAPPING_TEST_ORDERS_SKIP;
	text = cfg_read_string(&ld->report, root, "", "test_orders", &at);
	if (text != NULL) {
		if (strcmp(text, "skip") == 0)
			mapping->test_orders = MAPPING_TEST_ORDERS_SKIP;
		else if (strcmp(text, "sync") == 0)
			mapping->test_orders = MAPPING_TEST_ORDERS_SYNC;
		else
			problem(ld, at, "`test_orders` must be \"skip\" or \"sync\", not \"%.40s\"",
			        text);
	}

	mapping->search_existing_contacts = true;
	contacts = cfg_get_group(&ld->report, root, "", "contacts");
	if (contacts != NULL) {
		cfg_check_keys(&ld->report, contacts, "contacts", contact_keys);
		cfg_read_bool(&ld->report, contacts, "contacts", "search_existing",
		              &mapping->search_existing_contacts);
	}
}

int mapping_load(const char *path, struct mapping **out, FILE *problems, struct cn_error *err)
{
	static const char *const top_keys[] = {
	    "vat_treatments",  "price_basis", "prices_are_incl_tax",
	    "ledger_accounts", "invoice",     "send_method",
	    "delivery_rules",  "payment",     "test_orders",
	    "contacts",        NULL};
	struct loader ld = {.report = {.path = path}};
	struct mapping *mapping = NULL;
	config_t tree;
	const config_setting_t *root;
	FILE *probe;
	int status = CN_INVALID;
	bool tree_ready = false;

	*out = NULL;
	/* libconfig only says "file I/O error"; open it first to name the real cause. */
	probe = fopen(path, "r");
	if (probe == NULL) {
		error_set(err,
		          "%s: cannot read the mapping file (%s); fix the connection's `mapping`",
		          path, strerror(errno));
		if (problems != NULL)
			fprintf(problems, "%s\n", err != NULL ? err->message : path);
		goto out;
	}
	fclose(probe);

	config_init(&tree);
	tree_ready = true;
	if (config_read_file(&tree, path) != CONFIG_TRUE) {
		const char *file = config_error_file(&tree);
		const char *text = config_error_text(&tree);

		cfg_report_line(&ld.report, file != NULL ? file : path,
		                (unsigned)config_error_line(&tree),
		                (unsigned)config_error_line(&tree), "%s%s",
		                text != NULL ? text : "cannot be parsed",
		                text != NULL && strcmp(text, "syntax error") == 0
		                    ? " (check this line and the end of the one before it: a "
		                      "missing `;`, `=`, quote or bracket)"
		                    : "");
		goto out;
	}

	mapping = calloc(1, sizeof(*mapping));
	if (mapping == NULL) {
		ld.out_of_memory = true;
		goto out;
	}
	mapping->path = loader_strdup(&ld, path);
	root = config_root_setting(&tree);
	cfg_check_keys(&ld.report, root, "", top_keys);
	load_vat_treatments(&ld, root, mapping);
	load_top_level(&ld, root, mapping);
	load_delivery_rules(&ld, root, mapping);
	load_ledger_accounts(&ld, root, mapping);
	load_invoice(&ld, root, mapping);
	load_payment(&ld, root, mapping);

	if (ld.out_of_memory || ld.report.count > 0)
		goto out;
	*out = mapping;
	mapping = NULL;
	status = CN_OK;
out:
	if (ld.out_of_memory || ld.report.out_of_memory) {
		status = CN_ERR;
		error_set(err, "%s: out of memory while loading the mapping", path);
	} else {
		cfg_report_flush(&ld.report, problems, err);
	}
	cfg_report_free(&ld.report);
	if (tree_ready)
		config_destroy(&tree);
	mapping_free(mapping);
	return status;
}

void mapping_free(struct mapping *mapping)
{
	size_t i;

	if (mapping == NULL)
		return;
	for (i = 0; i < mapping->vat_treatment_count; i++) {
		free(mapping->vat_treatments[i].treatment);
		free(mapping->vat_treatments[i].tax_rate_name);
		free(mapping->vat_treatments[i].tax_rate_id);
		free(mapping->vat_treatments[i].ledger_account_id);
	}
	free(mapping->vat_treatments);
	for (i = 0; i < mapping->product_ledger_count; i++) {
		free(mapping->product_ledgers[i].product_name);
		free(mapping->product_ledgers[i].ledger_account_id);
	}
	free(mapping->product_ledgers);
	for (i = 0; i < mapping->provider_count; i++) {
		free(mapping->providers[i].provider);
		free(mapping->providers[i].manual_payment_action);
		free(mapping->providers[i].financial_account_id);
	}
	free(mapping->providers);
	free(mapping->delivery_rules);
	free(mapping->path);
	free(mapping->ledger_account_id);
	free(mapping->description_template);
	free(mapping->reference_template);
	free(mapping->workflow_id);
	free(mapping->document_style_id);
	free(mapping->manual_payment_action);
	free(mapping->financial_account_id);
	free(mapping);
}

const struct mapping_vat_treatment *mapping_find_vat_treatment(const struct mapping *mapping,
                                                               const char *treatment)
{
	size_t i;

	if (mapping == NULL || treatment == NULL)
		return NULL;
	for (i = 0; i < mapping->vat_treatment_count; i++)
		if (mapping->vat_treatments[i].treatment != NULL &&
		    strcmp(mapping->vat_treatments[i].treatment, treatment) == 0)
			return &mapping->vat_treatments[i];
	return NULL;
}

const struct mapping_payment_provider *mapping_find_provider(const struct mapping *mapping,
                                                             const char *provider)
{
	size_t i;

	if (mapping == NULL || provider == NULL || provider[0] == '\0')
		return NULL;
	for (i = 0; i < mapping->provider_count; i++)
		if (mapping->providers[i].provider != NULL &&
		    strcasecmp(mapping->providers[i].provider, provider) == 0)
			return &mapping->providers[i];
	return NULL;
}

const char *mapping_delivery_condition_name(enum mapping_delivery_condition condition)
{
	for (size_t i = 0; i < sizeof(delivery_conditions) / sizeof(delivery_conditions[0]); i++)
		if (delivery_conditions[i].condition == condition)
			return delivery_conditions[i].name;
	return "?";
}

const char *mapping_send_method_name(enum mapping_send_method method)
{
	switch (method) {
	case MAPPING_SEND_EMAIL:
		return "Email";
	case MAPPING_SEND_PEPPOL:
		return "Peppol";
	case MAPPING_SEND_MANUAL:
		break;
	}
	return "Manual";
}
