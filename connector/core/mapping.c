#include "mapping.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
