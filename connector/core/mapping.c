#include "mapping.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The names a mapping file writes, one table per setting: for reading and
 * for printing. */
static const char *const price_basis_names[] = {
    [MAPPING_PRICE_AUTO] = "auto", [MAPPING_PRICE_INCL] = "incl", [MAPPING_PRICE_EXCL] = "excl"};
static const char *const send_method_names[] = {[MAPPING_SEND_MANUAL] = "Manual",
                                                [MAPPING_SEND_EMAIL] = "Email",
                                                [MAPPING_SEND_PEPPOL] = "Peppol"};

#define NAME_COUNT(names) (sizeof(names) / sizeof((names)[0]))

/* The index of text in names, or -1. */
static int name_index(const char *const *names, size_t count, const char *text)
{
	for (size_t i = 0; text != NULL && i < count; i++)
		if (strcmp(text, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *mapping_price_basis_name(enum mapping_price_basis basis)
{
	return (size_t)basis < NAME_COUNT(price_basis_names) ? price_basis_names[basis] : "?";
}

bool mapping_price_basis_parse(const char *text, enum mapping_price_basis *basis)
{
	int index = name_index(price_basis_names, NAME_COUNT(price_basis_names), text);

	if (index >= 0)
		*basis = (enum mapping_price_basis)index;
	return index >= 0;
}

bool mapping_send_method_parse(const char *text, enum mapping_send_method *method)
{
	int index = name_index(send_method_names, NAME_COUNT(send_method_names), text);

	if (index >= 0)
		*method = (enum mapping_send_method)index;
	return index >= 0;
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

const char *mapping_send_method_name(enum mapping_send_method method)
{
	return (size_t)method < NAME_COUNT(send_method_names) ? send_method_names[method]
	                                                      : "Manual";
}
