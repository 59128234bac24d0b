/*
 * mapping_load: the shipped mappings/default.cfg, defaults of a minimal file,
 * every validation rule with its file:line, unknown keys at each level, and
 * the lookups the planner uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapping.h"
#include "unit_files.h"
#include "unit_load.h"

static char tmpdir[512];
static unsigned file_counter;

static int group_setup(void **state)
{
	const char *base = getenv("BM_TEST_TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_mapping.XXXXXX",
	         base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	char path[600];
	unsigned i;

	(void)state;
	for (i = 0; i < file_counter; i++) {
		snprintf(path, sizeof(path), "%s/m%u.cfg", tmpdir, i);
		unlink(path);
	}
	return rmdir(tmpdir);
}

static void load_path(struct result *result, const char *path)
{
	unit_load_file(result, path, UNIT_MAPPING);
	if (result->status != CN_OK)
		assert_true(result->err.message[0] != '\0');
}

static void load_text(struct result *result, const char *text)
{
	char path[600];

	unit_write_numbered(path, sizeof(path), tmpdir, &file_counter, text);
	load_path(result, path);
}

/* Asserts that the problems contain "<path>:<line>: " followed by `fragment` on one line. */
static void assert_problem(const struct result *result, unsigned line, const char *fragment)
{
	if (!unit_has_problem(result->problems, result->path, line, fragment)) {
		print_error("expected \"%s:%u: \" + \"%s\" in:\n%s\n", result->path, line, fragment,
		            result->problems);
		fail();
	}
}

/* A VAT treatment the mapping must have. */
static const struct mapping_vat_treatment *treatment(const struct mapping *mapping,
                                                     const char *name)
{
	const struct mapping_vat_treatment *entry = mapping_find_vat_treatment(mapping, name);

	if (entry == NULL)
		fail_msg("no vat_treatments.%s", name);
	return entry;
}

/* A line of the file and what its problem says. */
struct problem {
	unsigned line;
	const char *fragment;
};

/* Loads text that must be refused, with each expected problem on its line. */
static void expect_problems(const char *text, const struct problem *expected, size_t count)
{
	struct result result;

	load_text(&result, text);
	assert_int_equal(result.status, CN_INVALID);
	for (size_t i = 0; i < count; i++)
		assert_problem(&result, expected[i].line, expected[i].fragment);
	result_free(&result);
}

#define EXPECT_PROBLEMS(text, ...)                                                                 \
	expect_problems(text, (const struct problem[]){__VA_ARGS__},                               \
	                sizeof((const struct problem[]){__VA_ARGS__}) / sizeof(struct problem))

#define MINIMAL "vat_treatments = { standard = { by = \"percentage\"; }; };\n"

static void test_default_cfg_loads(void **state)
{
	const struct mapping_vat_treatment *entry;
	struct result result;

	(void)state;
	unit_load_source(&result, "mappings/default.cfg", UNIT_MAPPING);
	assert_int_equal(result.mapping->vat_treatment_count, 5);

	entry = treatment(result.mapping, "standard");
	assert_int_equal(entry->rule, MAPPING_RATE_BY_PERCENTAGE);
	entry = treatment(result.mapping, "reverse_charge");
	assert_int_equal(entry->rule, MAPPING_RATE_BY_NAME);
	assert_string_equal(entry->tax_rate_name, "BTW verlegd");
	entry = treatment(result.mapping, "export");
	assert_string_equal(entry->tax_rate_name, "Export buiten EU");
	entry = treatment(result.mapping, "exempt");
	assert_string_equal(entry->tax_rate_name, "Vrijgesteld");
	entry = treatment(result.mapping, "oss");
	assert_int_equal(entry->rule, MAPPING_RATE_BY_COUNTRY_PERCENTAGE);
	assert_null(mapping_find_vat_treatment(result.mapping, "margin"));

	assert_int_equal(result.mapping->price_basis, MAPPING_PRICE_AUTO);
	assert_int_equal(result.mapping->deprecated_incl_tax_line, 0);
	assert_null(result.mapping->ledger_account_id);
	assert_string_equal(result.mapping->description_template, MAPPING_DESCRIPTION_DEFAULT);
	assert_string_equal(result.mapping->reference_template, "{order_number}");
	assert_int_equal(result.mapping->description_max_length, 2000);
	assert_null(result.mapping->workflow_id);
	assert_null(result.mapping->document_style_id);
	assert_int_equal(result.mapping->send_method, MAPPING_SEND_MANUAL);
	assert_null(result.mapping->manual_payment_action);
	assert_null(result.mapping->financial_account_id);
	assert_int_equal(result.mapping->test_orders, MAPPING_TEST_ORDERS_SKIP);
	assert_true(result.mapping->search_existing_contacts);
	assert_string_equal(result.mapping->path, result.path);
	result_free(&result);
}

static void test_minimal_defaults(void **state)
{
	struct result result;

	(void)state;
	load_text(&result, MINIMAL);
	assert_int_equal(result.status, CN_OK);
	assert_int_equal(result.mapping->vat_treatment_count, 1);
	assert_int_equal(result.mapping->price_basis, MAPPING_PRICE_AUTO);
	assert_string_equal(result.mapping->description_template, MAPPING_DESCRIPTION_DEFAULT);
	assert_string_equal(result.mapping->reference_template, MAPPING_REFERENCE_DEFAULT);
	assert_int_equal(result.mapping->description_max_length,
	                 MAPPING_DESCRIPTION_MAX_LENGTH_DEFAULT);
	assert_int_equal(result.mapping->send_method, MAPPING_SEND_MANUAL);
	assert_int_equal(result.mapping->test_orders, MAPPING_TEST_ORDERS_SKIP);
	assert_true(result.mapping->search_existing_contacts);
	assert_int_equal(result.mapping->provider_count, 0);
	assert_int_equal(result.mapping->product_ledger_count, 0);
	result_free(&result);
}

static void test_full_file(void **state)
{
	const struct mapping_payment_provider *provider;
	const struct mapping_vat_treatment *entry;
	struct result result;

	(void)state;
	load_text(
	    &result,
	    "vat_treatments = {\n"
	    "  standard = { by = \"percentage\"; ledger_account_id = \"11\"; };\n"
	    "  margin = { by = \"id\"; id = \"496081347578692774\"; };\n"
	    "};\n"
	    "prices_are_incl_tax = true;\n"
	    "ledger_accounts = { default_id = \"12\"; products = (\n"
	    "  { product_name = \"Ebook\"; ledger_account_id = \"13\"; },\n"
	    "  { product_name = \"Course\"; ledger_account_id = \"14\"; } ); };\n"
	    "invoice = { description = \"{product_name} {{x}}\"; description_max_length = 80;\n"
	    "  reference = \"BK-{order_number}\"; workflow_id = \"15\"; document_style_id = "
	    "\"16\"; };\n"
	    "send_method = \"Peppol\";\n"
	    "payment = { manual_payment_action = \"private_payment\"; financial_account_id = "
	    "\"17\";\n"
	    "  providers = { mollie = { financial_account_id = \"18\"; };\n"
	    "                stripe = { manual_payment_action = \"payment_without_proof\"; }; "
	    "}; };\n"
	    "test_orders = \"sync\";\n"
	    "contacts = { search_existing = false; };\n");
	assert_int_equal(result.status, CN_OK);
	entry = treatment(result.mapping, "standard");
	assert_string_equal(entry->ledger_account_id, "11");
	entry = treatment(result.mapping, "margin");
	assert_int_equal(entry->rule, MAPPING_RATE_BY_ID);
	assert_string_equal(entry->tax_rate_id, "496081347578692774");
	/* the deprecated key is read onto price_basis, with its line for the notice */
	assert_int_equal(result.mapping->price_basis, MAPPING_PRICE_INCL);
	assert_int_equal(result.mapping->deprecated_incl_tax_line, 5);
	assert_string_equal(result.mapping->ledger_account_id, "12");
	assert_int_equal(result.mapping->product_ledger_count, 2);
	assert_string_equal(result.mapping->product_ledgers[1].product_name, "Course");
	assert_string_equal(result.mapping->product_ledgers[1].ledger_account_id, "14");
	assert_string_equal(result.mapping->description_template, "{product_name} {{x}}");
	assert_int_equal(result.mapping->description_max_length, 80);
	assert_string_equal(result.mapping->reference_template, "BK-{order_number}");
	assert_string_equal(result.mapping->workflow_id, "15");
	assert_string_equal(result.mapping->document_style_id, "16");
	assert_int_equal(result.mapping->send_method, MAPPING_SEND_PEPPOL);
	assert_string_equal(mapping_send_method_name(result.mapping->send_method), "Peppol");
	assert_string_equal(result.mapping->manual_payment_action, "private_payment");
	assert_string_equal(result.mapping->financial_account_id, "17");
	provider = mapping_find_provider(result.mapping, "Mollie");
	assert_non_null(provider);
	assert_string_equal(provider->financial_account_id, "18");
	assert_null(provider->manual_payment_action);
	provider = mapping_find_provider(result.mapping, "stripe");
	assert_non_null(provider);
	assert_string_equal(provider->manual_payment_action, "payment_without_proof");
	assert_null(mapping_find_provider(result.mapping, "paypal"));
	assert_null(mapping_find_provider(result.mapping, ""));
	assert_int_equal(result.mapping->test_orders, MAPPING_TEST_ORDERS_SYNC);
	assert_false(result.mapping->search_existing_contacts);
	result_free(&result);
}

static void test_missing_file(void **state)
{
	struct result result;
	char path[600];

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist.cfg", tmpdir);
	load_path(&result, path);
	assert_int_equal(result.status, CN_INVALID);
	assert_non_null(strstr(result.err.message, path));
	assert_non_null(strstr(result.err.message, "cannot read the mapping file"));
	assert_non_null(strstr(result.problems, path));
	result_free(&result);
}

static void test_syntax_error_line(void **state)
{
	struct result result;

	(void)state;
	load_text(&result, MINIMAL "\nsend_method = \"Manual\";\ntest_orders = ;\n");
	assert_int_equal(result.status, CN_INVALID);
	assert_problem(&result, 4, "syntax error");
	assert_non_null(strstr(result.err.message, ":4: "));
	result_free(&result);
}

static void test_vat_treatments_required(void **state)
{
	(void)state;
	EXPECT_PROBLEMS("send_method = \"Manual\";\n", {1, "`vat_treatments` is missing"});

	EXPECT_PROBLEMS("send_method = \"Manual\";\nvat_treatments = \"standard\";\n",
	                {2, "`vat_treatments` must be a group"});

	EXPECT_PROBLEMS("vat_treatments = {\n};\n", {1, "`vat_treatments` is empty"});
}

static void test_vat_treatment_rules(void **state)
{
	struct result result;

	(void)state;
	load_text(&result,
	          "vat_treatments = {\n"
	          "  standard = { by = \"percent\"; };\n"                           /* 2 */
	          "  reverse_charge = { by = \"name\"; };\n"                        /* 3 */
	          "  export = { by = \"percentage\";\n"                             /* 4 */
	          "    name = \"Export\"; };\n"                                     /* 5 */
	          "  exempt = { by = \"id\"; id = \"12ab\"; };\n"                   /* 6 */
	          "  oss = { name = \"OSS\"; };\n"                                  /* 7 */
	          "  margin = { by = \"id\"; };\n"                                  /* 8 */
	          "  other = { by = \"name\"; name = \"\"; };\n"                    /* 9 */
	          "  foo = \"BTW hoog\";\n"                                         /* 10 */
	          "  bar = { by = \"percentage\"; rate = 21; };\n"                  /* 11 */
	          "  baz = { by = \"percentage\"; ledger_account_id = \"x1\"; };\n" /* 12 */
	          "  qux = { by = 1; };\n"                                          /* 13 */
	          "};\n");
	assert_int_equal(result.status, CN_INVALID);
	assert_problem(&result, 2, "`vat_treatments.standard.by` must be \"percentage\"");
	assert_problem(&result, 3, "`vat_treatments.reverse_charge.name` is missing");
	assert_problem(&result, 5, "`vat_treatments.export.name` is only used with by = \"name\"");
	assert_problem(&result, 6, "`vat_treatments.exempt.id` must be a Moneybird tax rate id");
	assert_problem(&result, 7, "`vat_treatments.oss.by` is missing");
	assert_problem(&result, 8, "`vat_treatments.margin.id` is missing");
	assert_problem(&result, 9, "`vat_treatments.other.name` is empty");
	assert_problem(&result, 10, "`vat_treatments.foo` must be a group");
	assert_problem(&result, 11, "unknown key `vat_treatments.bar.rate`");
	assert_problem(&result, 12,
	               "`vat_treatments.baz.ledger_account_id` must be a Moneybird id");
	assert_problem(&result, 13, "`vat_treatments.qux.by` must be a string");
	/* err holds the first problem in file order */
	assert_non_null(strstr(result.err.message, ":2: "));
	result_free(&result);
}

/* One mistake, one message: a wrong type is not reported twice. */
static void test_one_problem_per_mistake(void **state)
{
	struct result result;
	const char *newline;

	(void)state;
	load_text(&result, "vat_treatments = {\n  x = { by = \"name\"; name = 5; };\n};\n");
	assert_int_equal(result.status, CN_INVALID);
	assert_problem(&result, 2, "`vat_treatments.x.name` must be a string");
	newline = strchr(result.problems, '\n');
	assert_non_null(newline);
	assert_string_equal(newline + 1, "");
	result_free(&result);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	EXPECT_PROBLEMS(
	    MINIMAL "prices_are_incl_tx = true;\n"                 /* 2 */
	            "colour = \"blue\";\n"                         /* 3 */
	            "invoice = { referense = \"{order_id}\"; };\n" /* 4 */
	            "payment = { providers = { mollie = {\n"       /* 5 */
	            "  financial_acount_id = \"1\"; }; }; };\n"    /* 6 */
	            "contacts = { search = true; };\n"             /* 7 */
	            "ledger_accounts = { default = \"1\"; };\n" /* 8 */,
	    {2, "unknown key `prices_are_incl_tx` (did you mean `prices_are_incl_tax`?)"},
	    {3, "unknown key `colour`; remove it (allowed here: vat_treatments"},
	    {4, "unknown key `invoice.referense` (did you mean `invoice.reference`?)"},
	    {6, "unknown key `payment.providers.mollie.financial_acount_id` (did you mean "
	        "`payment.providers.mollie.financial_account_id`?)"},
	    {7, "unknown key `contacts.search`"}, {8, "unknown key `ledger_accounts.default`"});
}

static void test_price_basis(void **state)
{
	static const struct {
		const char *text;
		enum mapping_price_basis basis;
	} cases[] = {
	    {"price_basis = \"auto\";\n", MAPPING_PRICE_AUTO},
	    {"price_basis = \"incl\";\n", MAPPING_PRICE_INCL},
	    {"price_basis = \"excl\";\n", MAPPING_PRICE_EXCL},
	    {"prices_are_incl_tax = false;\n", MAPPING_PRICE_EXCL},
	    {"prices_are_incl_tax = true;\n", MAPPING_PRICE_INCL},
	};
	struct result result;
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", MINIMAL, cases[i].text);
		load_text(&result, text);
		assert_int_equal(result.status, CN_OK);
		assert_int_equal(result.mapping->price_basis, cases[i].basis);
		assert_int_equal(result.mapping->deprecated_incl_tax_line,
		                 strstr(cases[i].text, "prices_are") != NULL ? 2 : 0);
		result_free(&result);
	}
	assert_string_equal(mapping_price_basis_name(MAPPING_PRICE_AUTO), "auto");
	EXPECT_PROBLEMS(MINIMAL "price_basis = \"gross\";\n" /* 2 */,
	                {2, "`price_basis` must be \"auto\", \"incl\" or \"excl\", not "
	                    "\"gross\""});
	EXPECT_PROBLEMS(MINIMAL "price_basis = \"incl\";\n" /* 2 */
	                        "prices_are_incl_tax = true;\n" /* 3 */,
	                {3, "`prices_are_incl_tax` is deprecated and `price_basis` is set "
	                    "too; remove `prices_are_incl_tax`"});
}

static void test_top_level_values(void **state)
{
	(void)state;
	EXPECT_PROBLEMS(MINIMAL "prices_are_incl_tax = \"yes\";\n"       /* 2 */
	                        "send_method = \"email\";\n"             /* 3 */
	                        "test_orders = \"keep\";\n"              /* 4 */
	                        "contacts = { search_existing = 1; };\n" /* 5 */
	                        "payment = 3;\n" /* 6 */,
	                {2, "`prices_are_incl_tax` must be true or false"},
	                {3, "`send_method` must be \"Manual\" (mark as sent), \"Email\" or "
	                    "\"Peppol\", not \"email\""},
	                {4, "`test_orders` must be \"skip\" or \"sync\", not \"keep\""},
	                {5, "`contacts.search_existing` must be true or false"},
	                {6, "`payment` must be a group"});
}

static void test_delivery_rules(void **state)
{
	struct result result;

	(void)state;
	load_text(&result,
	          MINIMAL "delivery_rules = (\n"
	                  "  { when = \"peppol_id\"; country = \"BE\"; method = \"Peppol\"; },\n"
	                  "  { when = [\"private\", \"email\"]; method = \"Email\"; }\n"
	                  ");\n");
	assert_int_equal(result.status, CN_OK);
	assert_int_equal(result.mapping->delivery_rule_count, 2);
	assert_int_equal(result.mapping->delivery_rules[0].conditions, MAPPING_WHEN_PEPPOL_ID);
	assert_string_equal(result.mapping->delivery_rules[0].country, "BE");
	assert_int_equal(result.mapping->delivery_rules[0].method, MAPPING_SEND_PEPPOL);
	assert_int_equal(result.mapping->delivery_rules[1].conditions,
	                 MAPPING_WHEN_PRIVATE | MAPPING_WHEN_EMAIL);
	assert_string_equal(result.mapping->delivery_rules[1].country, "");
	assert_int_equal(result.mapping->delivery_rules[1].method, MAPPING_SEND_EMAIL);
	assert_string_equal(mapping_delivery_condition_name(MAPPING_WHEN_BUSINESS), "business");
	result_free(&result);

	load_text(&result, MINIMAL
	          "delivery_rules = (\n"                                               /* 2 */
	          "  { when = \"peppol\"; method = \"Peppol\"; },\n"                   /* 3 */
	          "  { when = [\"email\"]; method = \"Post\"; },\n"                    /* 4 */
	          "  { when = \"email\"; },\n"                                         /* 5 */
	          "  { when = [\"private\", \"vat_number\"]; method = \"Email\"; },\n" /* 6 */
	          "  { country = \"be\"; method = \"Email\"; mode = 1; }\n"            /* 7 */
	          ");\n");
	assert_int_equal(result.status, CN_INVALID);
	assert_problem(&result, 3,
	               "`delivery_rules.[0].when` names an unknown condition \"peppol\"; use "
	               "\"peppol_id\", \"vat_number\", \"email\", \"business\" or \"private\"");
	assert_problem(
	    &result, 4,
	    "`delivery_rules.[1].method` must be \"Manual\" (mark as sent), \"Email\" or "
	    "\"Peppol\", not \"Post\"");
	assert_problem(&result, 5, "`delivery_rules.[2].method` is missing");
	assert_problem(&result, 6, "asks for a private buyer and a business one at once");
	assert_problem(&result, 7,
	               "`delivery_rules.[4].country` must be an ISO 3166-1 alpha-2 code");
	assert_problem(&result, 7, "unknown key `delivery_rules.[4].mode`");
	result_free(&result);

	EXPECT_PROBLEMS(MINIMAL "delivery_rules = { when = \"email\"; };\n",
	                {2, "`delivery_rules` must be a list of groups"});
}

static void test_invoice_templates(void **state)
{
	(void)state;
	EXPECT_PROBLEMS(MINIMAL "invoice = {\n"
	                        "  description = \"{product_name} {buyer_name}\";\n" /* 3 */
	                        "  reference = \"{product_name}\";\n"                /* 4 */
	                        "  description_max_length = 5;\n"                    /* 5 */
	                        "  workflow_id = \"wf-1\";\n"                        /* 6 */
	                        "  document_style_id = 42;\n"                        /* 7 */
	                        "};\n",
	                {3, "`invoice.description` has the unknown placeholder {buyer_name}"},
	                {4, "`invoice.reference` has the unknown placeholder {product_name}"},
	                {5, "`invoice.description_max_length` must be from 20 to 100000, not 5"},
	                {6, "`invoice.workflow_id` must be a Moneybird id"},
	                {7, "`invoice.document_style_id` must be a string"});

	EXPECT_PROBLEMS(MINIMAL "invoice = {\n"
	                        "  description = \"{product_name\";\n" /* 3 */
	                        "  reference = \"BK-2026\";\n"         /* 4 */
	                        "};\n",
	                {3, "`invoice.description` has a `{` that is never closed"},
	                {4, "`invoice.reference` must contain {order_number} or {order_id}"});

	EXPECT_PROBLEMS(MINIMAL "invoice = { description = \"a } b\"; };\n"
	                        "invoice2 = 1;\n",
	                {2, "`invoice.description` has a `}` without `{`"},
	                {3, "unknown key `invoice2`"});

	EXPECT_PROBLEMS(MINIMAL "invoice = { description = \"\"; };\n",
	                {2, "`invoice.description` is empty"});
}

static void test_ledger_accounts(void **state)
{
	(void)state;
	EXPECT_PROBLEMS(MINIMAL
	                "ledger_accounts = {\n"
	                "  default_id = \"abc\";\n" /* 3 */
	                "  products = (\n"
	                "    { product_name = \"Ebook\"; ledger_account_id = \"1\"; },\n"
	                "    { product_name = \"Ebook\"; ledger_account_id = \"2\"; },\n" /* 6 */
	                "    { product_name = \"Course\"; },\n"                           /* 7 */
	                "    { ledger_account_id = \"3\"; },\n"                           /* 8 */
	                "    \"Box\",\n"                                                  /* 9 */
	                "    { product_name = \"Kit\"; ledger_account_id = \"\"; }\n"     /* 10 */
	                "  );\n"
	                "};\n",
	                {3, "`ledger_accounts.default_id` must be a Moneybird id"},
	                {6, "`ledger_accounts.products.[1].product_name` \"Ebook\" is listed "
	                    "twice"},
	                {7, "`ledger_accounts.products.[2].ledger_account_id` is missing"},
	                {8, "`ledger_accounts.products.[3].product_name` is missing"},
	                {9, "`ledger_accounts.products.[4]` must be a group"},
	                {10, "`ledger_accounts.products.[5].ledger_account_id` is empty"});

	EXPECT_PROBLEMS(MINIMAL "ledger_accounts = { products = { a = 1; }; };\n",
	                {2, "`ledger_accounts.products` must be a list of groups"});
}

static void test_payment_rules(void **state)
{
	struct result result;

	(void)state;
	EXPECT_PROBLEMS(MINIMAL
	                "payment = {\n"
	                "  manual_payment_action = \"bank_transfer\";\n" /* 3 */
	                "  financial_account_id = \"12x\";\n"            /* 4 */
	                "  providers = {\n"
	                "    mollie = \"1\";\n"                                         /* 6 */
	                "    stripe = { manual_payment_action = \"cash_payment\"; };\n" /* 7 */
	                "  };\n"
	                "};\n",
	                {3, "`payment.manual_payment_action` must be \"private_payment\""},
	                {4, "`payment.financial_account_id` must be a Moneybird id"},
	                {6, "`payment.providers.mollie` must be a group"},
	                {7, "`payment.providers.stripe.manual_payment_action` "
	                    "\"cash_payment\" needs a financial account"});

	EXPECT_PROBLEMS(MINIMAL "payment = { manual_payment_action = \"private_payment\";\n"
	                        "};\n",
	                {2, "`payment.manual_payment_action` \"private_payment\" needs a "
	                    "financial account"});

	/* the group's account satisfies a provider's private_payment */
	load_text(&result, MINIMAL "payment = { financial_account_id = \"5\";\n"
	                           "  providers = { mollie = { manual_payment_action = "
	                           "\"private_payment\"; }; }; };\n");
	assert_int_equal(result.status, CN_OK);
	result_free(&result);
}

static void test_many_problems_are_capped(void **state)
{
	struct result result;
	char *text;
	size_t size = 0;
	FILE *stream;
	int i;

	(void)state;
	stream = open_memstream(&text, &size);
	assert_non_null(stream);
	fputs(MINIMAL, stream);
	for (i = 0; i < 150; i++)
		fprintf(stream, "bad_key_%d = 1;\n", i);
	assert_int_equal(fclose(stream), 0);
	load_text(&result, text);
	free(text);
	assert_int_equal(result.status, CN_INVALID);
	assert_problem(&result, 2, "unknown key `bad_key_0`");
	assert_non_null(strstr(result.problems, "50 more problems not shown"));
	result_free(&result);
}

static void test_free_null(void **state)
{
	(void)state;
	mapping_free(NULL);
	assert_null(mapping_find_vat_treatment(NULL, "standard"));
	assert_null(mapping_find_provider(NULL, "mollie"));
	assert_string_equal(mapping_send_method_name(MAPPING_SEND_EMAIL), "Email");
	assert_string_equal(mapping_send_method_name(MAPPING_SEND_MANUAL), "Manual");
	assert_string_equal(mapping_rate_rule_name(MAPPING_RATE_BY_COUNTRY_PERCENTAGE),
	                    "country_percentage");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_cfg_loads),
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_syntax_error_line),
	    cmocka_unit_test(test_vat_treatments_required),
	    cmocka_unit_test(test_vat_treatment_rules),
	    cmocka_unit_test(test_one_problem_per_mistake),
	    cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_price_basis),
	    cmocka_unit_test(test_top_level_values),
	    cmocka_unit_test(test_invoice_templates),
	    cmocka_unit_test(test_delivery_rules),
	    cmocka_unit_test(test_ledger_accounts),
	    cmocka_unit_test(test_payment_rules),
	    cmocka_unit_test(test_many_problems_are_capped),
	    cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
