/*
 * A connection's mapping file (a .cfg file under mappings/, libconfig syntax) turned into
 * immutable rules: which Moneybird sales tax rate each bookto vat_treatment
 * becomes, ledger accounts, the invoice text and reference templates, the send
 * method, payment options and the test-order policy. Loading validates every
 * key (types, ranges, unknown keys) and reports each problem as
 * "file:line: sentence"; after loading the rules are read-only and may be
 * shared by every worker thread. docs/mapping.md documents each key.
 */
#ifndef BM_MAPPING_H
#define BM_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

#define MAPPING_DESCRIPTION_DEFAULT                                                                \
	"{product_name}\n{product_description}\nbookto order {order_number}\n{custom_fields}"
#define MAPPING_REFERENCE_DEFAULT "{order_number}"
#define MAPPING_DESCRIPTION_MAX_LENGTH_DEFAULT 2000
#define MAPPING_TEMPLATE_MAX_BYTES 4096

/* How a vat_treatment finds its Moneybird sales tax rate. */
enum mapping_rate_rule {
	MAPPING_RATE_BY_PERCENTAGE,         /* percentage == amount.vat_rate, no country */
	MAPPING_RATE_BY_NAME,               /* the rate with this name */
	MAPPING_RATE_BY_ID,                 /* the rate with this id */
	MAPPING_RATE_BY_COUNTRY_PERCENTAGE, /* country == buyer.country, percentage == vat_rate */
};

struct mapping_vat_treatment {
	char *treatment; /* the bookto vat_treatment value, e.g. "reverse_charge" */
	enum mapping_rate_rule rule;
	char *tax_rate_name;     /* MAPPING_RATE_BY_NAME, else NULL */
	char *tax_rate_id;       /* MAPPING_RATE_BY_ID, else NULL */
	char *ledger_account_id; /* override for this treatment; NULL = none */
};

struct mapping_product_ledger {
	char *product_name; /* compared exactly with product.name */
	char *ledger_account_id;
};

struct mapping_payment_provider {
	char *provider;              /* payment_provider value, compared case-insensitively */
	char *manual_payment_action; /* NULL = the payment group's */
	char *financial_account_id;  /* NULL = the payment group's */
};

enum mapping_send_method { MAPPING_SEND_MANUAL, MAPPING_SEND_EMAIL, MAPPING_SEND_PEPPOL };

/* What a delivery rule can ask of the buyer; a rule holds a set of them. */
enum mapping_delivery_condition {
	MAPPING_WHEN_PEPPOL_ID = 1u << 0,  /* a Peppol id Moneybird accepts (SCHEME:ID) */
	MAPPING_WHEN_VAT_NUMBER = 1u << 1, /* a VAT number */
	MAPPING_WHEN_EMAIL = 1u << 2,      /* an email address */
	MAPPING_WHEN_BUSINESS = 1u << 3,   /* a VAT number or a Peppol id */
	MAPPING_WHEN_PRIVATE = 1u << 4,    /* neither a VAT number nor a Peppol id */
};

/* delivery_rules entry: the first rule whose conditions all hold picks the
 * order's send_invoice delivery_method. */
struct mapping_delivery_rule {
	unsigned conditions; /* enum mapping_delivery_condition bits; 0 = always */
	char country[3];     /* buyer.country must equal it; "" = any country */
	enum mapping_send_method method;
};
enum mapping_test_orders { MAPPING_TEST_ORDERS_SKIP, MAPPING_TEST_ORDERS_SYNC };

/* price_basis: which of bookto's amounts the invoice line carries. */
enum mapping_price_basis {
	MAPPING_PRICE_AUTO, /* per order: the basis that reproduces bookto's figures, incl first */
	MAPPING_PRICE_INCL, /* total_incl, prices_are_incl_tax = true */
	MAPPING_PRICE_EXCL, /* excl_vat, prices_are_incl_tax = false */
};

/* Every string is owned by the mapping; optional ones are NULL when unset. */
struct mapping {
	char *path; /* the file it was loaded from (named in park reasons) */

	struct mapping_vat_treatment *vat_treatments;
	size_t vat_treatment_count;

	enum mapping_price_basis price_basis; /* default auto */
	/* Line of a deprecated `prices_are_incl_tax` key (read as price_basis),
	 * for `config check`'s notice; 0 when the file has none. */
	int deprecated_incl_tax_line;

	char *ledger_account_id; /* ledger_accounts.default_id */
	struct mapping_product_ledger *product_ledgers;
	size_t product_ledger_count;

	char *description_template;    /* invoice.description */
	size_t description_max_length; /* characters (UTF-8 code points) */
	char *reference_template;      /* invoice.reference */
	char *workflow_id;
	char *document_style_id;

	enum mapping_send_method send_method; /* when no delivery rule holds; default Manual */
	struct mapping_delivery_rule *delivery_rules;
	size_t delivery_rule_count;

	char *manual_payment_action; /* payment.manual_payment_action */
	char *financial_account_id;  /* payment.financial_account_id */
	struct mapping_payment_provider *providers;
	size_t provider_count;

	enum mapping_test_orders test_orders; /* default skip */
	bool search_existing_contacts;        /* contacts.search_existing, default true */
};

/*
 * Loads and validates path. On success *out is a new mapping the caller owns
 * (mapping_free). On failure returns CN_INVALID: err holds the first problem
 * and every problem is written to `problems` (if not NULL), one
 * "file:line: sentence" per line. CN_ERR when memory runs out.
 */
int mapping_load(const char *path, struct mapping **out, FILE *problems,
                 struct cn_error *err) MUST_CHECK;

void mapping_free(struct mapping *mapping);

/* The entry for a bookto vat_treatment value, or NULL when it has none. */
const struct mapping_vat_treatment *mapping_find_vat_treatment(const struct mapping *mapping,
                                                               const char *treatment);

/* The provider override for a payment_provider value, or NULL. */
const struct mapping_payment_provider *mapping_find_provider(const struct mapping *mapping,
                                                             const char *provider);

/* "Manual", "Email" or "Peppol": the send_invoice delivery_method. */
const char *mapping_send_method_name(enum mapping_send_method method);
/* The method a mapping file names text ("Manual", "Email", "Peppol");
 * false, *method unchanged, for any other text. */
bool mapping_send_method_parse(const char *text, enum mapping_send_method *method);

/* "peppol_id", "vat_number", "email", "business" or "private". */
const char *mapping_delivery_condition_name(enum mapping_delivery_condition condition);

/* "auto", "incl" or "excl". */
const char *mapping_price_basis_name(enum mapping_price_basis basis);
/* The basis a mapping file names text ("auto", "incl", "excl"); false,
 * *basis unchanged, for any other text. */
bool mapping_price_basis_parse(const char *text, enum mapping_price_basis *basis);

/* "percentage", "name", "id" or "country_percentage". */
const char *mapping_rate_rule_name(enum mapping_rate_rule rule);

#endif
