/*
 * plan module: contact key vectors and uniqueness, contact bodies, the tax
 * rate each VAT treatment picks from the simulator's seeded rates, park
 * reasons, the totals check (fixed and random amounts), time zones (fixed
 * edges, glibc cross-check, a footer-only TZif file), description and
 * reference templates, ledger accounts and payment overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plan.h"
#include "unit_files.h"

static char tmpdir[512];
static unsigned file_counter;
static struct mapping *default_mapping;
static struct plan_zone *amsterdam;

/* The simulator's seeded tax rates (tests/mbsim/mbsim_store.c), designated so a
 * reordering of struct mb_tax_rate cannot shift the values. */
#define RATE(i, n, p, t, c, a)                                                                     \
	{                                                                                          \
		.id = i, .name = n, .percentage = p, .tax_rate_type = t, .country = c, .active = a \
	}

static const struct mb_tax_rate seeded_rates[] = {
    RATE("496081347565061258", "BTW hoog", "21.0", "sales_invoice", "", true),
    RATE("496081347576595595", "BTW laag", "9.0", "sales_invoice", "", true),
    RATE("496081347578692748", "BTW verlegd", "0.0", "sales_invoice", "", true),
    RATE("496081347578692761", "Export buiten EU", "0.0", "sales_invoice", "", true),
    RATE("496081347578692774", "Vrijgesteld", "0.0", "sales_invoice", "", true),
    RATE("496081347591275649", "OSS Duitsland 19%", "19.0", "sales_invoice", "DE", true),
    RATE("496081347591275662", "OSS Frankrijk 20%", "20.0", "sales_invoice", "FR", true),
    RATE("496081347591275675", "OSS Belgi\xc3\xab 21%", "21.0", "sales_invoice", "BE", true),
    RATE("496081347591275688", "OSS Duitsland 7%", "7.0", "sales_invoice", "DE", true),
    RATE("496081347580789901", "BTW hoog inkoop", "21.0", "purchase_invoice", "", true),
    RATE("496081347582887054", "BTW laag inkoop", "9.0", "purchase_invoice", "", true),
    RATE("496081347582887067", "BTW 6% (oud)", "6.0", "sales_invoice", "", false),
};
#define RATE_COUNT (sizeof(seeded_rates) / sizeof(seeded_rates[0]))

#define EPOCH_2026_03_28_2330Z 1774740600
#define EPOCH_2026_12_31_2330Z 1798759800

/* ---- fixtures ---- */

static void order_init(struct bookto_order *o)
{
	memset(o, 0, sizeof(*o));
	o->event = "order.paid";
	o->order_id = "ord_8f3a";
	o->order_number = "ORD-1001";
	o->payment_provider = "mollie";
	o->status = "paid";
	o->created_at_text = "2026-06-15T09:59:00Z";
	o->paid_at_text = "2026-06-15T10:00:00Z";
	o->paid_at_epoch = 1781517600;
	o->paid_at_valid = true;
	o->total_incl_cents = 121;
	o->excl_vat_cents = 100;
	o->vat_cents = 21;
	o->vat_rate_text = "21";
	o->currency = "EUR";
	o->vat_treatment = "standard";
	o->product_name = "Ebook";
	o->product_description = "The whole story";
	o->buyer_first_name = "";
	o->buyer_last_name = "";
	o->buyer_email = "";
	o->buyer_company = "";
	o->buyer_vat_number = "";
	o->buyer_peppol_id = "";
	o->buyer_address = "";
	o->buyer_address2 = "";
	o->buyer_postal_code = "";
	o->buyer_city = "";
	o->buyer_country = "NL";
	o->match_ref = "buyer@example.com";
	o->seller_id = "seller_1";
}

static struct mapping *mapping_from_text(const char *text)
{
	struct mapping *mapping = NULL;
	struct cn_error err = {{0}};
	char path[600];

	unit_write_numbered(path, sizeof(path), tmpdir, &file_counter, text);
	if (mapping_load(path, &mapping, stderr, &err) != 0) {
		print_error("mapping: %s\n", err.message);
		fail();
	}
	return mapping;
}

static int group_setup(void **state)
{
	const char *base = getenv("BM_TEST_TMPDIR");
	const char *source = getenv("BM_SOURCE_DIR");
	struct cn_error err = {{0}};
	char path[600];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_plan.XXXXXX",
	         base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL || source == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/mappings/default.cfg", source);
	if (mapping_load(path, &default_mapping, stderr, &err) != 0)
		return -1;
	unsetenv("TZDIR");
	if (plan_zone_load("Europe/Amsterdam", &amsterdam, &err) != 0) {
		fprintf(stderr, "%s\n", err.message);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char path[600];
	unsigned i;

	(void)state;
	mapping_free(default_mapping);
	plan_zone_free(amsterdam);
	for (i = 0; i < file_counter; i++) {
		snprintf(path, sizeof(path), "%s/m%u.cfg", tmpdir, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/Test/Slim", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test", tmpdir);
	rmdir(path);
	return rmdir(tmpdir);
}

/* Plans an invoice that must succeed. */
static struct plan_invoice *invoice_ok(const struct bookto_order *order,
                                       const struct mapping *mapping)
{
	struct plan_invoice *invoice = NULL;
	struct cn_error err = {{0}};
	char *reason = NULL;
	int status = plan_invoice(order, mapping, seeded_rates, RATE_COUNT, amsterdam, "777",
	                          &invoice, &reason, &err);

	if (status != 0) {
		print_error("unexpected park: %s / %s\n", reason != NULL ? reason : "-",
		            err.message);
		free(reason);
		fail();
	}
	assert_null(reason);
	return invoice;
}

/* Plans an invoice that must park; returns the reason (caller frees). */
static char *invoice_parks(const struct bookto_order *order, const struct mapping *mapping)
{
	struct plan_invoice *invoice = NULL;
	struct cn_error err = {{0}};
	char *reason = NULL;
	int status = plan_invoice(order, mapping, seeded_rates, RATE_COUNT, amsterdam, "777",
	                          &invoice, &reason, &err);

	assert_int_equal(status, CN_INVALID);
	assert_null(invoice);
	assert_non_null(reason);
	return reason;
}

static void assert_contains(const char *text, const char *fragment)
{
	if (text == NULL || strstr(text, fragment) == NULL) {
		print_error("expected \"%s\" in \"%s\"\n", fragment,
		            text != NULL ? text : "(null)");
		fail();
	}
}

/* ---- contact key ---- */

static void test_contact_key_vectors(void **state)
{
	/* python3: '9%017d' % (int.from_bytes(sha256(ref).digest()[:8], 'big') % 10**17) */
	static const struct {
		const char *match_ref;
		const char *key;
	} vectors[] = {
	    {"nl123456789b01", "926155042315825476"},
	    {"buyer@example.com", "968546155868226298"},
	    {"", "906829232824261652"},
	    {"0106:12345678", "952831773678275803"},
	    {"x", "974422879871479876"},
	};
	char key[PLAN_CONTACT_KEY_LENGTH + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		plan_contact_key(vectors[i].match_ref, key);
		assert_string_equal(key, vectors[i].key);
	}
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_contact_key_shape_and_uniqueness(void **state)
{
	enum { COUNT = 10000 };
	char(*keys)[PLAN_CONTACT_KEY_LENGTH + 1] = calloc(COUNT, sizeof(*keys));
	char ref[64];
	size_t i, j;

	(void)state;
	assert_non_null(keys);
	for (i = 0; i < COUNT; i++) {
		/* neighbouring refs, like the ones real buyers have */
		if (i % 2 == 0)
			snprintf(ref, sizeof(ref), "buyer%zu@example.com", i);
		else
			snprintf(ref, sizeof(ref), "nl%09zub01", i);
		plan_contact_key(ref, keys[i]);
		assert_int_equal(strlen(keys[i]), PLAN_CONTACT_KEY_LENGTH);
		assert_int_equal(keys[i][0], '9');
		for (j = 0; j < PLAN_CONTACT_KEY_LENGTH; j++)
			assert_true(keys[i][j] >= '0' && keys[i][j] <= '9');
	}
	qsort(keys, COUNT, sizeof(*keys), compare_keys);
	for (i = 1; i < COUNT; i++)
		assert_string_not_equal(keys[i - 1], keys[i]);
	free(keys);
}

/* ---- contacts ---- */

static struct plan_contact *contact_ok(const struct bookto_order *order,
                                       const struct mapping *mapping)
{
	struct plan_contact *contact = NULL;
	struct cn_error err = {{0}};
	char *reason = NULL;

	assert_int_equal(plan_contact(order, mapping, &contact, &reason, &err), 0);
	assert_null(reason);
	assert_non_null(contact);
	assert_ptr_equal(contact->request.customer_id, contact->customer_id);
	return contact;
}

static void test_contact_b2b_with_vat(void **state)
{
	struct bookto_order order;
	struct plan_contact *contact;
	char key[PLAN_CONTACT_KEY_LENGTH + 1];

	(void)state;
	order_init(&order);
	order.buyer_company = "  Acme B.V. ";
	order.buyer_first_name = "Ada";
	order.buyer_last_name = "Jansen";
	order.buyer_email = "ada@acme.example";
	order.buyer_vat_number = "NL123456789B01";
	order.buyer_address = "Keizersgracht 1";
	order.buyer_address2 = "3e verdieping";
	order.buyer_postal_code = "1015 AA";
	order.buyer_city = "Amsterdam";
	order.match_ref = "nl123456789b01";
	contact = contact_ok(&order, default_mapping);
	plan_contact_key("nl123456789b01", key);
	assert_string_equal(contact->request.customer_id, key);
	assert_string_equal(contact->request.company_name, "Acme B.V.");
	assert_string_equal(contact->request.firstname, "Ada");
	assert_string_equal(contact->request.lastname, "Jansen");
	assert_string_equal(contact->request.address1, "Keizersgracht 1");
	assert_string_equal(contact->request.address2, "3e verdieping");
	assert_string_equal(contact->request.zipcode, "1015 AA");
	assert_string_equal(contact->request.city, "Amsterdam");
	assert_string_equal(contact->request.country, "NL");
	assert_string_equal(contact->request.tax_number, "NL123456789B01");
	assert_string_equal(contact->request.send_invoices_to_email, "ada@acme.example");
	assert_null(contact->request.si_identifier);
	assert_null(contact->request.si_identifier_type);
	assert_string_equal(contact->search_tax_number, "NL123456789B01");
	assert_string_equal(contact->search_email, "ada@acme.example");
	assert_null(contact->note);
	plan_contact_free(contact);
}

static void test_contact_peppol_only(void **state)
{
	struct bookto_order order;
	struct plan_contact *contact;

	(void)state;
	order_init(&order);
	order.buyer_company = "Bakkerij Brood";
	order.buyer_peppol_id = "0106:12345678";
	order.buyer_country = "NL";
	order.match_ref = "0106:12345678";
	contact = contact_ok(&order, default_mapping);
	assert_string_equal(contact->request.si_identifier_type, "0106");
	assert_string_equal(contact->request.si_identifier, "12345678");
	assert_null(contact->request.tax_number);
	assert_null(contact->request.send_invoices_to_email);
	assert_null(contact->search_tax_number);
	assert_null(contact->search_email);
	assert_null(contact->note);
	plan_contact_free(contact);

	/* the full participant id form */
	order.buyer_peppol_id = "iso6523-actorid-upis::0208:0123456789";
	contact = contact_ok(&order, default_mapping);
	assert_string_equal(contact->request.si_identifier_type, "0208");
	assert_string_equal(contact->request.si_identifier, "0123456789");
	plan_contact_free(contact);

	/* a scheme Moneybird does not list: left out, with a note */
	order.buyer_peppol_id = "1234:999";
	contact = contact_ok(&order, default_mapping);
	assert_null(contact->request.si_identifier_type);
	assert_null(contact->request.si_identifier);
	assert_contains(contact->note, "buyer.peppol_id \"1234:999\"");
	plan_contact_free(contact);

	order.buyer_peppol_id = "12345678";
	contact = contact_ok(&order, default_mapping);
	assert_null(contact->request.si_identifier);
	assert_non_null(contact->note);
	plan_contact_free(contact);
}

static void test_contact_private_email_only(void **state)
{
	struct bookto_order order;
	struct plan_contact *contact;

	(void)state;
	order_init(&order);
	order.buyer_email = "pat@example.com";
	order.buyer_country = "BE";
	order.match_ref = "pat@example.com";
	contact = contact_ok(&order, default_mapping);
	/* Moneybird needs a name: the email stands in for it */
	assert_string_equal(contact->request.company_name, "pat@example.com");
	assert_null(contact->request.firstname);
	assert_null(contact->request.lastname);
	assert_string_equal(contact->request.send_invoices_to_email, "pat@example.com");
	assert_string_equal(contact->request.country, "BE");
	assert_null(contact->search_tax_number);
	assert_string_equal(contact->search_email, "pat@example.com");
	plan_contact_free(contact);

	/* a person's name is enough: no company_name invented */
	order.buyer_first_name = "Pat";
	contact = contact_ok(&order, default_mapping);
	assert_null(contact->request.company_name);
	assert_string_equal(contact->request.firstname, "Pat");
	plan_contact_free(contact);

	/* nothing but a VAT number: match_ref is the name of last resort */
	order_init(&order);
	order.buyer_vat_number = "BE0123456789";
	order.match_ref = "be0123456789";
	order.buyer_country = "Belgium";
	contact = contact_ok(&order, default_mapping);
	assert_string_equal(contact->request.company_name, "be0123456789");
	assert_null(contact->request.country);
	assert_contains(contact->note, "buyer.country \"Belgium\"");
	plan_contact_free(contact);
}

/* The one search sync and preview make, and the sentence both park with. */
static void test_contact_search_choice(void **state)
{
	struct bookto_order order;
	struct plan_contact *contact;
	struct plan_contact_search search;
	char *reason;

	(void)state;
	order_init(&order);
	order.buyer_email = "pat@example.com";
	order.buyer_vat_number = "NL123456789B01";
	order.match_ref = "NL123456789B01";
	contact = contact_ok(&order, default_mapping);
	search = plan_contact_search(contact);
	assert_string_equal(search.query, "NL123456789B01");
	assert_int_equal(search.field, MB_CONTACT_FIELD_TAX_NUMBER);
	reason = plan_ambiguous_contact_reason(2, &search, contact->customer_id);
	assert_non_null(reason);
	assert_contains(reason, "2 Moneybird contacts have this buyer's VAT number; merge them "
	                        "or give one customer_id 9");
	free(reason);
	plan_contact_free(contact);

	order.buyer_vat_number = "";
	order.match_ref = "pat@example.com";
	contact = contact_ok(&order, default_mapping);
	search = plan_contact_search(contact);
	assert_string_equal(search.query, "pat@example.com");
	assert_int_equal(search.field, MB_CONTACT_FIELD_EMAIL);
	assert_string_equal(search.field_name, "email address");
	plan_contact_free(contact);

	order.buyer_email = "";
	order.buyer_peppol_id = "0208:0123456789";
	order.match_ref = "0208:0123456789";
	contact = contact_ok(&order, default_mapping);
	assert_null(plan_contact_search(contact).query);
	plan_contact_free(contact);
}

static void test_contact_search_off_and_parks(void **state)
{
	struct mapping *mapping =
	    mapping_from_text("vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	                      "contacts = { search_existing = false; };\n");
	struct bookto_order order;
	struct plan_contact *contact = NULL;
	struct cn_error err = {{0}};
	char *reason = NULL;

	(void)state;
	order_init(&order);
	order.buyer_email = "pat@example.com";
	order.buyer_vat_number = "NL1";
	contact = contact_ok(&order, mapping);
	assert_null(contact->search_email);
	assert_null(contact->search_tax_number);
	plan_contact_free(contact);
	contact = NULL;

	order.match_ref = "";
	assert_int_equal(plan_contact(&order, mapping, &contact, &reason, &err), CN_INVALID);
	assert_null(contact);
	assert_contains(reason, "no buyer.match_ref");
	free(reason);
	mapping_free(mapping);
}

/* ---- tax rates per treatment ---- */

static void expect_rate(const char *treatment, const char *rate_text, const char *country,
                        int64_t excl, int64_t vat, const char *rate_id)
{
	struct bookto_order order;
	struct plan_invoice *invoice;

	order_init(&order);
	order.vat_treatment = (char *)treatment;
	order.vat_rate_text = (char *)rate_text;
	order.buyer_country = (char *)country;
	order.excl_vat_cents = excl;
	order.vat_cents = vat;
	order.total_incl_cents = excl + vat;
	invoice = invoice_ok(&order, default_mapping);
	assert_string_equal(invoice->line.tax_rate_id, rate_id);
	assert_string_equal(invoice->request.lines[0].tax_rate_id, rate_id);
	assert_int_equal(invoice->total_incl_cents, excl + vat);
	plan_invoice_free(invoice);
}

static void test_each_treatment_picks_its_rate(void **state)
{
	(void)state;
	expect_rate("standard", "21", "NL", 10000, 2100, "496081347565061258");
	expect_rate("standard", "21.0", "BE", 10000, 2100, "496081347565061258");
	expect_rate("standard", "9", "NL", 10000, 900, "496081347576595595");
	expect_rate("reverse_charge", "0", "DE", 10000, 0, "496081347578692748");
	expect_rate("export", "0", "US", 10000, 0, "496081347578692761");
	expect_rate("exempt", "0", "NL", 10000, 0, "496081347578692774");
	expect_rate("oss", "19", "DE", 10000, 1900, "496081347591275649");
	expect_rate("oss", "7", "DE", 10000, 700, "496081347591275688");
	expect_rate("oss", "20", "FR", 10000, 2000, "496081347591275662");
	/* 21 % for Belgium is the OSS rate, not the Dutch "BTW hoog" */
	expect_rate("oss", "21", "BE", 10000, 2100, "496081347591275675");
}

static void test_custom_treatment_by_id_and_name(void **state)
{
	struct mapping *mapping = mapping_from_text(
	    "vat_treatments = {\n"
	    "  margin = { by = \"id\"; id = \"496081347578692774\"; ledger_account_id = \"5\"; };\n"
	    "  zero = { by = \"name\"; name = \"export BUITEN eu\"; };\n"
	    "  old = { by = \"name\"; name = \"BTW 6% (oud)\"; };\n"
	    "  buy = { by = \"id\"; id = \"496081347580789901\"; };\n"
	    "  gone = { by = \"id\"; id = \"1\"; };\n"
	    "  nameless = { by = \"name\"; name = \"Nope\"; };\n"
	    "};\n");
	struct bookto_order order;
	struct plan_invoice *invoice;
	char *reason;

	(void)state;
	order_init(&order);
	order.vat_rate_text = "0";
	order.excl_vat_cents = 500;
	order.vat_cents = 0;
	order.total_incl_cents = 500;
	order.vat_treatment = "margin";
	invoice = invoice_ok(&order, mapping);
	assert_string_equal(invoice->tax_rate_id, "496081347578692774");
	assert_string_equal(invoice->line.ledger_account_id, "5");
	plan_invoice_free(invoice);

	order.vat_treatment = "zero"; /* names compare without case */
	invoice = invoice_ok(&order, mapping);
	assert_string_equal(invoice->tax_rate_id, "496081347578692761");
	plan_invoice_free(invoice);

	order.vat_treatment = "old";
	order.vat_rate_text = "6";
	order.excl_vat_cents = 100;
	order.vat_cents = 6;
	order.total_incl_cents = 106;
	reason = invoice_parks(&order, mapping);
	assert_contains(reason, "tax rate \"BTW 6% (oud)\" (id 496081347582887067)");
	assert_contains(reason, "is not active in Moneybird");
	assert_contains(reason, "vat_treatments.old");
	free(reason);

	order.vat_treatment = "buy";
	order.vat_rate_text = "21";
	order.excl_vat_cents = 100;
	order.vat_cents = 21;
	order.total_incl_cents = 121;
	reason = invoice_parks(&order, mapping);
	assert_contains(reason, "is not a sales invoice rate");
	free(reason);

	order.vat_treatment = "gone";
	reason = invoice_parks(&order, mapping);
	assert_contains(reason, "no tax rate with id 1 in Moneybird (vat_treatments.gone.id in");
	free(reason);

	order.vat_treatment = "nameless";
	reason = invoice_parks(&order, mapping);
	assert_contains(reason, "no tax rate named \"Nope\" in Moneybird "
	                        "(vat_treatments.nameless.name in");
	free(reason);
	mapping_free(mapping);
}

static void test_unmapped_cases_park(void **state)
{
	struct bookto_order order;
	char expected[700];
	char *reason;

	(void)state;
	order_init(&order);
	order.vat_treatment = "margin";
	reason = invoice_parks(&order, default_mapping);
	snprintf(expected, sizeof(expected),
	         "no mapping for vat_treatment \"margin\": add vat_treatments.margin to %s",
	         default_mapping->path);
	assert_string_equal(reason, expected);
	free(reason);

	/* a percentage no active sales rate has (6 % exists but is inactive) */
	order_init(&order);
	order.vat_rate_text = "6";
	order.excl_vat_cents = 100;
	order.vat_cents = 6;
	order.total_incl_cents = 106;
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "no active sales tax rate in Moneybird has 6 %");
	assert_contains(reason, "vat_treatments.standard by name or id");
	free(reason);

	/* 0 % under standard: three rates fit, never guess */
	order_init(&order);
	order.vat_rate_text = "0";
	order.excl_vat_cents = 100;
	order.vat_cents = 0;
	order.total_incl_cents = 100;
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "3 active sales tax rates in Moneybird fit vat_treatment "
	                        "\"standard\"");
	assert_contains(reason, "\"BTW verlegd\" (id 496081347578692748)");
	assert_contains(reason, "map vat_treatments.standard by id");
	free(reason);

	/* OSS to a country without a rate, and without a country */
	order_init(&order);
	order.vat_treatment = "oss";
	order.vat_rate_text = "22";
	order.buyer_country = "IT";
	order.excl_vat_cents = 100;
	order.vat_cents = 22;
	order.total_incl_cents = 122;
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "no active sales tax rate in Moneybird for country IT has 22 %");
	assert_contains(reason, "vat_treatments.oss");
	free(reason);
	order.buyer_country = "";
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "buyer.country is empty");
	free(reason);
	/* 21 % without a country must not fall back to the domestic rate */
	order.vat_rate_text = "21";
	order.vat_cents = 21;
	order.total_incl_cents = 121;
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "buyer.country is empty");
	free(reason);

	/* the named rate's percentage disagrees with bookto's vat_rate */
	order_init(&order);
	order.vat_treatment = "reverse_charge";
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "vat_treatment \"reverse_charge\" maps to tax rate \"BTW verlegd\" "
	                        "with 0.0 %, but bookto's vat_rate is 21 %");
	free(reason);

	order_init(&order);
	order.vat_treatment = "";
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "no vat_treatment");
	free(reason);

	order_init(&order);
	order.paid_at_valid = false;
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "invoice date is unknown");
	free(reason);

	order_init(&order);
	order.vat_rate_text = "abc";
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "amount.vat_rate \"abc\"");
	free(reason);
}

/* ---- totals ---- */

static void test_totals_fixed(void **state)
{
	struct bookto_order order;
	struct plan_invoice *invoice;
	char *reason;

	(void)state;
	order_init(&order);
	/* 1.00 + 0.21 = 1.21 fits both bases; auto prefers the buyer's incl price */
	invoice = invoice_ok(&order, default_mapping);
	assert_true(invoice->request.prices_are_incl_tax);
	assert_true(invoice->basis.incl_fits);
	assert_true(invoice->basis.excl_fits);
	assert_contains(invoice->basis.why, "auto: prices incl. VAT reproduce");
	assert_int_equal(invoice->line.price_cents, 121);
	assert_string_equal(invoice->line.amount, "1");
	assert_int_equal(invoice->total_excl_cents, 100);
	assert_int_equal(invoice->total_tax_cents, 21);
	assert_int_equal(invoice->total_incl_cents, 121);
	assert_int_equal(invoice->order_total_incl_cents, 121);
	assert_int_equal(invoice->request.line_count, 1);
	assert_ptr_equal(invoice->request.lines, &invoice->line);
	assert_string_equal(invoice->request.contact_id, "777");
	assert_string_equal(invoice->request.currency, "EUR");
	assert_null(invoice->request.workflow_id);
	assert_null(invoice->request.document_style_id);
	assert_null(invoice->line.ledger_account_id);
	plan_invoice_free(invoice);

	/* the order: 49.00 incl at 21 % is 40.50 + 8.50; excl would give
	 * 8.51 VAT, incl reproduces it */
	order.total_incl_cents = 4900;
	order.excl_vat_cents = 4050;
	order.vat_cents = 850;
	invoice = invoice_ok(&order, default_mapping);
	assert_true(invoice->request.prices_are_incl_tax);
	assert_false(invoice->basis.excl_fits);
	assert_int_equal(invoice->line.price_cents, 4900);
	assert_int_equal(invoice->total_tax_cents, 850);
	assert_int_equal(invoice->total_excl_cents, 4050);
	assert_int_equal(invoice->basis.excl_model.tax_cents, 851);
	plan_invoice_free(invoice);

	/* bookto's VAT one cent off: neither basis gives it; both computations named */
	order_init(&order);
	order.vat_cents = 22;
	order.total_incl_cents = 122;
	reason = invoice_parks(&order, default_mapping);
	assert_contains(reason, "cannot reproduce bookto's figures (total_incl 1.22 = excl_vat "
	                        "1.00 + vat 0.22 at 21 %) on either price basis");
	assert_contains(reason, "with prices incl. VAT (line 1.22) Moneybird computes excl 1.01 + "
	                        "VAT 0.21 = 1.22");
	assert_contains(reason, "with prices excl. VAT (line 1.00) Moneybird computes excl 1.00 + "
	                        "VAT 0.21 = 1.21");
	assert_null(strstr(reason, "nothing was written"));
	free(reason);
}

/* round half up of excl * rate / 100, computed independently of plan.c */
static int64_t reference_vat(int64_t excl, int64_t whole_percent)
{
	return (excl * whole_percent * 2 + 100) / 200;
}

static void test_totals_random(void **state)
{
	static const int64_t rates[] = {21, 9};
	struct bookto_order order;
	unsigned seed = 12345;
	size_t r;
	int i;

	(void)state;
	for (r = 0; r < 2; r++) {
		char rate_text[8];

		snprintf(rate_text, sizeof(rate_text), "%lld", (long long)rates[r]);
		for (i = 0; i < 2000; i++) {
			struct plan_invoice *invoice;
			int64_t excl;
			char *reason;

			seed = seed * 1103515245u + 12345u;
			excl = (int64_t)(seed % 2000000u) + (i < 200 ? 0 : 0);
			if (i < 200)
				excl = i; /* every small amount, where rounding bites most */
			order_init(&order);
			order.vat_rate_text = rate_text;
			order.excl_vat_cents = excl;
			order.vat_cents = reference_vat(excl, rates[r]);
			order.total_incl_cents = excl + order.vat_cents;
			invoice = invoice_ok(&order, default_mapping);
			assert_int_equal(invoice->total_tax_cents, order.vat_cents);
			plan_invoice_free(invoice);

			/* one cent more VAT: excl cannot give it; incl only when
			 * excl_vat is that total's rounded excl part; else it parks */
			order.vat_cents += 1;
			order.total_incl_cents += 1;
			if (order.excl_vat_cents ==
			    (order.total_incl_cents * 200 + 100 + rates[r]) /
			        (200 + 2 * rates[r])) {
				invoice = invoice_ok(&order, default_mapping);
				assert_true(invoice->request.prices_are_incl_tax);
				assert_int_equal(invoice->total_tax_cents, order.vat_cents);
				plan_invoice_free(invoice);
				continue;
			}
			reason = invoice_parks(&order, default_mapping);
			assert_contains(reason, "on either price basis");
			free(reason);
		}
	}
}

/* Tax percentages and what plan_percentage_parse makes of them: rc, and the
 * value in millionths (-1: not checked). */
static const struct {
	const char *text;
	int rc;
	int64_t micro;
} percentage_cases[] = {
    {"21", 0, 210000},       {"21.0", 0, 210000},     {"5.5", 0, 55000},
    {"0.0", 0, 0},           {"100", 0, -1},          {"100.01", CN_INVALID, -1},
    {"", CN_INVALID, -1},    {"21.", CN_INVALID, -1}, {"-1", CN_INVALID, -1},
    {"21%", CN_INVALID, -1}, {NULL, CN_INVALID, -1},
};

static void test_tax_arithmetic(void **state)
{
	int64_t percentage = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(percentage_cases) / sizeof(percentage_cases[0]); i++) {
		assert_int_equal(plan_percentage_parse(percentage_cases[i].text, &percentage),
		                 percentage_cases[i].rc);
		if (percentage_cases[i].micro >= 0)
			assert_int_equal(percentage, percentage_cases[i].micro);
	}

	assert_int_equal(plan_tax_cents(100, 210000, false), 21);
	assert_int_equal(plan_tax_cents(121, 210000, true), 21);
	assert_int_equal(plan_tax_cents(50, 90000, false), 5);   /* 4.5 -> 5 */
	assert_int_equal(plan_tax_cents(-50, 90000, false), -5); /* away from zero */
	assert_int_equal(plan_tax_cents(2, 210000, false), 0);   /* 0.42 -> 0 */
	assert_int_equal(plan_tax_cents(0, 210000, false), 0);
	assert_int_equal(plan_tax_cents(12345, 0, false), 0);
	/* the largest amount bookto accepts, without overflow */
	assert_int_equal(plan_tax_cents(10000000000000LL, 210000, false), 2100000000000LL);
	assert_int_equal(plan_tax_cents(12100000000000LL, 210000, true), 2100000000000LL);
}

static void test_prices_incl_tax(void **state)
{
	/* the deprecated key still works: read as price_basis = "incl" */
	struct mapping *mapping =
	    mapping_from_text("vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	                      "prices_are_incl_tax = true;\n");
	struct mapping *excl =
	    mapping_from_text("vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	                      "price_basis = \"excl\";\n");
	struct bookto_order order;
	struct plan_invoice *invoice;
	char *reason;

	(void)state;
	order_init(&order);
	invoice = invoice_ok(&order, mapping);
	assert_true(invoice->request.prices_are_incl_tax);
	assert_string_equal(invoice->basis.why, "price_basis = \"incl\" in the mapping");
	assert_int_equal(invoice->line.price_cents, 121);
	assert_int_equal(invoice->total_tax_cents, 21);
	assert_int_equal(invoice->total_excl_cents, 100);
	assert_int_equal(invoice->total_incl_cents, 121);
	plan_invoice_free(invoice);

	/* bookto's split one cent off: Moneybird would book 0.21 VAT, not 0.22 */
	order.excl_vat_cents = 99;
	order.vat_cents = 22;
	reason = invoice_parks(&order, mapping);
	assert_contains(reason, "with price_basis = \"incl\" in ");
	assert_contains(reason, "Moneybird computes excl 1.00 + VAT 0.21 = 1.21");
	free(reason);

	/* 49.00 at 21 % forced onto excl: parks, and says auto would book it */
	order_init(&order);
	order.total_incl_cents = 4900;
	order.excl_vat_cents = 4050;
	order.vat_cents = 850;
	reason = invoice_parks(&order, excl);
	assert_contains(reason, "with price_basis = \"excl\"");
	assert_contains(reason, "excl 40.50 + VAT 8.51 = 49.01");
	assert_contains(reason, "price_basis = \"auto\" would book it with prices incl. VAT");
	free(reason);
	mapping_free(excl);
	mapping_free(mapping);
}

static void test_created_total_check(void **state)
{
	struct bookto_order order;
	struct plan_invoice *invoice;
	char *reason = NULL;

	(void)state;
	order_init(&order);
	invoice = invoice_ok(&order, default_mapping);
	assert_int_equal(plan_check_created_total(invoice, 121, 100, "4242", &reason), 0);
	assert_null(reason);
	assert_int_equal(plan_check_created_total(invoice, 12101, 100, "4242", &reason),
	                 CN_INVALID);
	assert_contains(reason, "Moneybird's total 121.01 for draft invoice 4242 differs from "
	                        "bookto's total_incl 1.21");
	free(reason);
	reason = NULL;
	/* same total, another split: the VAT booked would not be bookto's */
	assert_int_equal(plan_check_created_total(invoice, 121, 99, "4242", &reason), CN_INVALID);
	assert_contains(reason, "into excl 0.99, but bookto's excl_vat is 1.00");
	free(reason);
	plan_invoice_free(invoice);
}

/* ---- dates and time zones ---- */

static void test_invoice_date_time_zone_edges(void **state)
{
	struct bookto_order order;
	struct plan_invoice *invoice;
	struct plan_payment *payment = NULL;
	struct cn_error err = {{0}};
	char *reason = NULL;
	char date[11];

	(void)state;
	order_init(&order);
	order.paid_at_epoch = EPOCH_2026_03_28_2330Z; /* 00:30 CET on the 29th */
	invoice = invoice_ok(&order, default_mapping);
	assert_string_equal(invoice->request.invoice_date, "2026-03-29");
	plan_invoice_free(invoice);
	assert_int_equal(plan_payment(&order, default_mapping, amsterdam, &payment, &reason, &err),
	                 0);
	assert_string_equal(payment->request.payment_date, "2026-03-29");
	plan_payment_free(payment);

	order.paid_at_epoch = EPOCH_2026_12_31_2330Z;
	invoice = invoice_ok(&order, default_mapping);
	assert_string_equal(invoice->invoice_date, "2027-01-01");
	plan_invoice_free(invoice);

	/* around the spring-forward instant (01:00 UTC, 29 March 2026) */
	assert_int_equal(plan_zone_offset(amsterdam, 1774745999), 3600);
	assert_int_equal(plan_zone_offset(amsterdam, 1774746000), 7200);
	/* 22:30 UTC on 24 October is 00:30 CEST on the 25th */
	assert_int_equal(plan_local_date(amsterdam, 1792881000, date), 0);
	assert_string_equal(date, "2026-10-25");
	/* 2060 lies past the file's transitions: the footer rule decides */
	assert_int_equal(plan_local_date(amsterdam, 2854564200LL /* 2060-06-15T22:30Z */, date), 0);
	assert_string_equal(date, "2060-06-16");
	assert_int_equal(plan_local_date(amsterdam, 2871761400LL /* 2060-12-31T23:30Z */, date), 0);
	assert_string_equal(date, "2061-01-01");
	assert_int_equal(plan_local_date(amsterdam, 300000000000LL, date), CN_INVALID);
}

/* plan_zone_offset against glibc's localtime_r for many instants and zones. */
static void test_zones_match_glibc(void **state)
{
	static const char *const zones[] = {"Europe/Amsterdam",
	                                    "Europe/Dublin",
	                                    "America/New_York",
	                                    "Australia/Sydney",
	                                    "Australia/Lord_Howe",
	                                    "Pacific/Chatham",
	                                    "Asia/Kolkata",
	                                    "America/St_Johns",
	                                    "Africa/Casablanca",
	                                    "America/Sao_Paulo",
	                                    "Antarctica/Troll",
	                                    "Pacific/Apia",
	                                    "UTC"};
	unsigned seed = 777;
	size_t z;

	(void)state;
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct plan_zone *zone = NULL;
		struct cn_error err = {{0}};
		int i;

		assert_int_equal(plan_zone_load(zones[z], &zone, &err), 0);
		setenv("TZ", zones[z], 1);
		tzset();
		for (i = 0; i < 4000; i++) {
			/* 1975 .. 2099 */
			int64_t epoch;
			time_t t;
			struct tm tm;

			seed = seed * 1103515245u + 12345u;
			epoch = 157766400LL + (int64_t)((uint64_t)seed * 977u % 3944592000ULL);
			t = (time_t)epoch;
			assert_non_null(localtime_r(&t, &tm));
			if (plan_zone_offset(zone, epoch) != tm.tm_gmtoff) {
				print_error("%s at %lld: %d != glibc %ld\n", zones[z],
				            (long long)epoch, plan_zone_offset(zone, epoch),
				            tm.tm_gmtoff);
				fail();
			}
		}
		plan_zone_free(zone);
	}
	unsetenv("TZ");
	tzset();
}

static void put32(FILE *file, uint32_t value)
{
	unsigned char bytes[4] = {(unsigned char)(value >> 24), (unsigned char)(value >> 16),
	                          (unsigned char)(value >> 8), (unsigned char)value};

	assert_int_equal(fwrite(bytes, 1, 4, file), 4);
}

/* A "slim" TZif v2 file: no transitions at all, only the footer rule. */
static void write_slim_zone(const char *path)
{
	FILE *file = fopen(path, "wb");
	int block;

	assert_non_null(file);
	for (block = 0; block < 2; block++) {
		unsigned char reserved[15] = {0};

		assert_int_equal(fwrite("TZif2", 1, 5, file), 5);
		assert_int_equal(fwrite(reserved, 1, 15, file), 15);
		put32(file, 0); /* isutcnt */
		put32(file, 0); /* isstdcnt */
		put32(file, 0); /* leapcnt */
		put32(file, 0); /* timecnt */
		put32(file, 1); /* typecnt */
		put32(file, 4); /* charcnt */
		put32(file, 3600);
		assert_int_equal(fwrite("\0\0CET\0", 1, 6, file), 6);
	}
	assert_true(fputs("\nCET-1CEST,M3.5.0,M10.5.0/3\n", file) >= 0);
	assert_int_equal(fclose(file), 0);
}

static void test_footer_only_zone(void **state)
{
	struct plan_zone *slim = NULL;
	struct cn_error err = {{0}};
	char path[600];
	unsigned seed = 99;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/Test", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/Test/Slim", tmpdir);
	write_slim_zone(path);
	setenv("TZDIR", tmpdir, 1);
	assert_int_equal(plan_zone_load("Test/Slim", &slim, &err), 0);
	assert_int_equal(plan_zone_load("Europe/Amsterdam", &(struct plan_zone *){NULL}, &err),
	                 CN_INVALID);
	assert_contains(err.message, "Europe/Amsterdam");
	unsetenv("TZDIR");
	/* the same answers as the full Amsterdam file since the EU rules of 1996 */
	for (i = 0; i < 5000; i++) {
		int64_t epoch;

		seed = seed * 1103515245u + 12345u;
		epoch = 852076800LL + (int64_t)((uint64_t)seed * 7919u % 3250000000ULL);
		assert_int_equal(plan_zone_offset(slim, epoch), plan_zone_offset(amsterdam, epoch));
	}
	plan_zone_free(slim);
}

static void test_zone_load_errors(void **state)
{
	struct plan_zone *zone = NULL;
	struct cn_error err = {{0}};
	char path[600];

	(void)state;
	assert_int_equal(plan_zone_load("Mars/Olympus_Mons", &zone, &err), CN_INVALID);
	assert_null(zone);
	assert_contains(err.message, "Mars/Olympus_Mons");
	assert_int_equal(plan_zone_load("../etc/passwd", &zone, &err), CN_INVALID);
	assert_int_equal(plan_zone_load("", &zone, &err), CN_INVALID);
	/* a file that is not TZif */
	snprintf(path, sizeof(path), "%s/NotAZone", tmpdir);
	{
		FILE *file = fopen(path, "w");

		assert_non_null(file);
		assert_true(fputs("not a zone\n", file) >= 0);
		assert_int_equal(fclose(file), 0);
	}
	setenv("TZDIR", tmpdir, 1);
	assert_int_equal(plan_zone_load("NotAZone", &zone, &err), CN_INVALID);
	assert_contains(err.message, "is not a time zone file");
	unlink(path);
	/* UTC works even where no tzdata is installed */
	assert_int_equal(plan_zone_load("UTC", &zone, &err), 0);
	assert_int_equal(plan_zone_offset(zone, 1774740600), 0);
	plan_zone_free(zone);
	unsetenv("TZDIR");
}

/* ---- templates ---- */

static void test_description_default_template(void **state)
{
	struct bookto_custom_field fields[] = {
	    {"Student number", "S-42"},
	    {"Empty one", ""},
	    {"", "value without label"},
	    {"Remark", "line1\r\nline2"},
	};
	struct bookto_order order;
	struct plan_invoice *invoice;

	(void)state;
	order_init(&order);
	invoice = invoice_ok(&order, default_mapping);
	assert_string_equal(invoice->line.description,
	                    "Ebook\nThe whole story\nbookto order ORD-1001");
	plan_invoice_free(invoice);

	/* empty parts leave no blank lines behind */
	order.product_description = "";
	invoice = invoice_ok(&order, default_mapping);
	assert_string_equal(invoice->line.description, "Ebook\nbookto order ORD-1001");
	plan_invoice_free(invoice);

	order.custom_fields = fields;
	order.custom_field_count = sizeof(fields) / sizeof(fields[0]);
	order.product_description = "  \n";
	invoice = invoice_ok(&order, default_mapping);
	assert_string_equal(invoice->line.description,
	                    "Ebook\nbookto order ORD-1001\nStudent number: S-42\nvalue without "
	                    "label\nRemark: line1\nline2");
	plan_invoice_free(invoice);
}

static void test_description_custom_template(void **state)
{
	struct mapping *mapping = mapping_from_text(
	    "vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	    "invoice = {\n"
	    "  description = \"{{{product_name}}}\\nDetails: {product_description}\\n\\n"
	    "Order {order_number} ({order_id})\\nFields: {custom_fields}\";\n"
	    "  reference = \"BK {order_number}/{order_id}\";\n"
	    "  description_max_length = 40;\n"
	    "  workflow_id = \"3\"; document_style_id = \"4\";\n"
	    "};\n");
	struct bookto_order order;
	struct plan_invoice *invoice;
	char *reason;

	(void)state;
	order_init(&order);
	order.product_description = "";
	invoice = invoice_ok(&order, mapping);
	/* "Details:" and "Fields:" lines vanish with their empty placeholders */
	assert_string_equal(invoice->line.description, "{Ebook}\nOrder ORD-1001 (ord_8f3a)");
	assert_string_equal(invoice->request.reference, "BK ORD-1001/ord_8f3a");
	assert_string_equal(invoice->request.workflow_id, "3");
	assert_string_equal(invoice->request.document_style_id, "4");
	plan_invoice_free(invoice);

	/* over the cap: parked, naming the key */
	order.product_description = "A description that is much too long for forty characters";
	reason = invoice_parks(&order, mapping);
	assert_contains(reason, "the invoice line description is 99 characters, more than "
	                        "invoice.description_max_length (40)");
	free(reason);

	mapping_free(mapping);

	/* characters, not bytes: 20 x "\xc3\xab" (40 bytes) fits a cap of 20, 21 do not */
	mapping = mapping_from_text("vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	                            "invoice = { description = \"{product_description}\";\n"
	                            "  description_max_length = 20; };\n");
	{
		char text[64] = "";
		int k;

		for (k = 0; k < 21; k++)
			memcpy(text + 2 * k, "\xc3\xab", 2);
		text[40] = '\0';
		order.product_description = text;
		invoice = invoice_ok(&order, mapping);
		assert_int_equal(strlen(invoice->line.description), 40);
		plan_invoice_free(invoice);
		text[40] = '\xc3'; /* the 21st, already written */
		reason = invoice_parks(&order, mapping);
		assert_contains(reason, "description is 21 characters");
		free(reason);
	}
	mapping_free(mapping);
}

static void test_reference(void **state)
{
	struct bookto_order order;
	struct cn_error err = {{0}};
	char *reference = NULL;
	char *reason = NULL;

	(void)state;
	order_init(&order);
	assert_int_equal(plan_reference(&order, default_mapping, &reference, &reason, &err), 0);
	assert_string_equal(reference, "ORD-1001");
	free(reference);

	order.order_number = "";
	assert_int_equal(plan_reference(&order, default_mapping, &reference, &reason, &err),
	                 CN_INVALID);
	assert_null(reference);
	assert_contains(reason, "invoice reference from invoice.reference (\"{order_number}\")");
	assert_contains(reason, "is empty");
	free(reason);
}

/* ---- ledger accounts ---- */

static void test_ledger_account_precedence(void **state)
{
	struct mapping *mapping = mapping_from_text(
	    "vat_treatments = {\n"
	    "  standard = { by = \"percentage\"; };\n"
	    "  oss = { by = \"country_percentage\"; ledger_account_id = \"20\"; };\n"
	    "};\n"
	    "ledger_accounts = { default_id = \"10\";\n"
	    "  products = ( { product_name = \"Course\"; ledger_account_id = \"30\"; } ); };\n");
	struct bookto_order order;
	struct plan_invoice *invoice;

	(void)state;
	order_init(&order);
	invoice = invoice_ok(&order, mapping);
	assert_string_equal(invoice->line.ledger_account_id, "10");
	plan_invoice_free(invoice);

	order.vat_treatment = "oss";
	order.buyer_country = "BE";
	invoice = invoice_ok(&order, mapping);
	assert_string_equal(invoice->line.ledger_account_id, "20");
	plan_invoice_free(invoice);

	order.product_name = "Course";
	invoice = invoice_ok(&order, mapping);
	assert_string_equal(invoice->line.ledger_account_id, "30");
	plan_invoice_free(invoice);
	mapping_free(mapping);
}

/* ---- payment, send, test orders ---- */

static void test_payment_overrides(void **state)
{
	struct mapping *mapping = mapping_from_text(
	    "vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	    "payment = { manual_payment_action = \"private_payment\"; financial_account_id = "
	    "\"100\";\n"
	    "  providers = { mollie = { financial_account_id = \"200\"; };\n"
	    "                stripe = { manual_payment_action = \"payment_without_proof\"; };\n"
	    "  };\n"
	    "};\n");
	struct bookto_order order;
	struct plan_payment *payment = NULL;
	struct cn_error err = {{0}};
	char *reason = NULL;

	(void)state;
	order_init(&order);
	order.payment_provider = "Mollie";
	assert_int_equal(plan_payment(&order, mapping, amsterdam, &payment, &reason, &err), 0);
	assert_string_equal(payment->request.payment_date, "2026-06-15");
	assert_int_equal(payment->request.price_cents, 121);
	assert_string_equal(payment->request.transaction_identifier, "ord_8f3a");
	assert_string_equal(payment->request.financial_account_id, "200");
	assert_string_equal(payment->request.manual_payment_action, "private_payment");
	plan_payment_free(payment);

	order.payment_provider = "stripe";
	assert_int_equal(plan_payment(&order, mapping, amsterdam, &payment, &reason, &err), 0);
	assert_string_equal(payment->request.manual_payment_action, "payment_without_proof");
	assert_string_equal(payment->request.financial_account_id, "100");
	plan_payment_free(payment);

	order.payment_provider = "paypal";
	assert_int_equal(plan_payment(&order, mapping, amsterdam, &payment, &reason, &err), 0);
	assert_string_equal(payment->request.manual_payment_action, "private_payment");
	assert_string_equal(payment->request.financial_account_id, "100");
	plan_payment_free(payment);

	/* the default mapping sets neither */
	assert_int_equal(plan_payment(&order, default_mapping, amsterdam, &payment, &reason, &err),
	                 0);
	assert_null(payment->request.manual_payment_action);
	assert_null(payment->request.financial_account_id);
	plan_payment_free(payment);
	payment = NULL;

	order.order_id = "";
	assert_int_equal(plan_payment(&order, mapping, amsterdam, &payment, &reason, &err),
	                 CN_INVALID);
	assert_null(payment);
	assert_contains(reason, "no order_id");
	free(reason);
	mapping_free(mapping);
}

/* The example rules: Peppol for a buyer with a Peppol id, Email for a
 * private buyer with an email, send_method (Manual) otherwise. */
static void test_delivery_rules_pick_per_order(void **state)
{
	struct mapping *mapping =
	    mapping_from_text("vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	                      "delivery_rules = (\n"
	                      "  { when = \"peppol_id\"; method = \"Peppol\"; },\n"
	                      "  { when = [\"private\", \"email\"]; method = \"Email\"; }\n"
	                      ");\n");
	struct plan_delivery d;
	struct bookto_order order;

	(void)state;
	order_init(&order);
	order.buyer_peppol_id = "0208:0123456789";
	order.buyer_email = "inkoop@example.be";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Peppol");
	assert_int_equal(d.rule, 1);
	assert_string_equal(d.why, "delivery rule 1 (peppol_id)");

	/* A Peppol id the contact cannot carry does not choose Peppol, and a
	 * business buyer is not "private": the fallback applies. */
	order.buyer_peppol_id = "XX:123";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Manual");
	assert_int_equal(d.rule, 0);
	assert_string_equal(d.why, "send_method (no delivery rule holds)");

	order.buyer_peppol_id = "";
	order.buyer_vat_number = "NL123456789B01";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Manual");

	order.buyer_vat_number = "  ";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Email");
	assert_int_equal(d.rule, 2);
	assert_string_equal(d.why, "delivery rule 2 (email, private)");

	order.buyer_email = "";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Manual");

	/* Without rules: the mapping's send_method for everyone. */
	order.buyer_peppol_id = "0208:0123456789";
	plan_delivery(&order, default_mapping, &d);
	assert_string_equal(d.method, "Manual");
	assert_int_equal(d.rule, 0);
	mapping_free(mapping);
}

static void test_delivery_rule_country_and_fallback(void **state)
{
	struct mapping *mapping = mapping_from_text(
	    "vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	    "send_method = \"Email\";\n"
	    "delivery_rules = (\n"
	    "  { when = [\"business\", \"peppol_id\"]; country = \"BE\"; method = \"Peppol\"; },\n"
	    "  { when = \"vat_number\"; method = \"Manual\"; },\n"
	    "  { method = \"Email\"; }\n"
	    ");\n");
	struct plan_delivery d;
	struct bookto_order order;

	(void)state;
	order_init(&order);
	order.buyer_peppol_id = "iso6523-actorid-upis::0208:0123456789";
	order.buyer_vat_number = "BE0123456789";
	order.buyer_country = "BE";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Peppol");
	assert_string_equal(d.why, "delivery rule 1 (peppol_id, business, country BE)");

	order.buyer_country = "NL";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Manual");
	assert_int_equal(d.rule, 2);

	order.buyer_vat_number = "";
	order.buyer_peppol_id = "";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Email");
	assert_int_equal(d.rule, 3);
	assert_string_equal(d.why, "delivery rule 3 (always)");
	mapping_free(mapping);
}

static void test_delivery_preconditions(void **state)
{
	struct mapping *mapping = mapping_from_text(
	    "vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	    "send_method = \"Email\";\n"
	    "delivery_rules = ( { when = \"business\"; method = \"Peppol\"; } );\n");
	struct plan_delivery d;
	struct bookto_order order;
	struct cn_error err = {{0}};
	char *reason = NULL;

	(void)state;
	order_init(&order);
	order.buyer_vat_number = "NL123456789B01";
	order.buyer_peppol_id = "0106:12345678";
	plan_delivery(&order, mapping, &d);
	assert_int_equal(plan_check_delivery(&order, &d, &reason, &err), 0);
	/* a business buyer without a Peppol id the contact can carry */
	order.buyer_peppol_id = "";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Peppol");
	assert_int_equal(plan_check_delivery(&order, &d, &reason, &err), CN_INVALID);
	assert_contains(reason, "would be sent by Peppol (chosen by delivery rule 1 (business))");
	free(reason);
	reason = NULL;
	/* Email without an address */
	order.buyer_vat_number = "";
	order.buyer_email = "";
	plan_delivery(&order, mapping, &d);
	assert_string_equal(d.method, "Email");
	assert_int_equal(plan_check_delivery(&order, &d, &reason, &err), CN_INVALID);
	assert_contains(reason, "would be sent by Email (chosen by send_method (no delivery rule "
	                        "holds)), but the buyer has no email address");
	free(reason);
	reason = NULL;
	order.buyer_email = "a@example.nl";
	assert_int_equal(plan_check_delivery(&order, &d, &reason, &err), 0);
	assert_null(reason);
	mapping_free(mapping);
}

static void test_send_method_and_test_orders(void **state)
{
	struct mapping *mapping =
	    mapping_from_text("vat_treatments = { standard = { by = \"percentage\"; }; };\n"
	                      "send_method = \"Email\";\ntest_orders = \"sync\";\n");
	struct bookto_order order;

	(void)state;
	assert_string_equal(plan_send_method(default_mapping), "Manual");
	assert_string_equal(plan_send_method(mapping), "Email");
	assert_string_equal(plan_send_method(NULL), "Manual");
	order_init(&order);
	assert_int_equal(plan_test_order_policy(&order, default_mapping), PLAN_SYNC);
	order.is_test_order = true;
	assert_int_equal(plan_test_order_policy(&order, default_mapping), PLAN_SKIP);
	assert_int_equal(plan_test_order_policy(&order, mapping), PLAN_SYNC);
	mapping_free(mapping);
}

/* An order straight from the parser, as the sync engine will see it. */
static void test_parsed_order_end_to_end(void **state)
{
	static const char body[] =
	    "{\"event\":\"order.paid\",\"payment_provider\":\"mollie\",\"order_id\":\"ord_1\","
	    "\"order_number\":\"ORD-7\",\"status\":\"paid\",\"created_at\":\"2026-03-28T23:00:"
	    "00Z\","
	    "\"paid_at\":\"2026-03-28T23:30:00Z\",\"amount\":{\"total_incl\":121.0,\"excl_vat\":"
	    "100,"
	    "\"vat\":21,\"vat_rate\":21,\"currency\":\"EUR\"},\"vat_treatment\":\"oss\","
	    "\"product\":{\"name\":\"Cursus\",\"description\":\"\"},\"buyer\":{\"first_name\":"
	    "\"Jan\",\"last_name\":\"Peeters\",\"email\":\"jan@example.be\",\"company\":\"\","
	    "\"vat_number\":\"\",\"peppol_id\":\"\",\"address\":\"Meir 1\",\"address2\":\"\","
	    "\"postal_code\":\"2000\",\"city\":\"Antwerpen\",\"country\":\"BE\",\"match_ref\":"
	    "\"jan@example.be\"},\"custom_fields\":[{\"label\":\"Klas\",\"value\":\"3B\"}],"
	    "\"seller\":{\"id\":\"s\",\"entity\":null},\"is_test_order\":false}";
	struct bookto_order *order = NULL;
	struct plan_contact *contact;
	struct plan_invoice *invoice;
	struct cn_error err = {{0}};

	(void)state;
	assert_int_equal(bookto_parse_order(body, sizeof(body) - 1, &order, &err), 0);
	assert_null(order->park_reason);
	contact = contact_ok(order, default_mapping);
	assert_string_equal(contact->request.firstname, "Jan");
	assert_string_equal(contact->request.country, "BE");
	plan_contact_free(contact);
	invoice = invoice_ok(order, default_mapping);
	assert_string_equal(invoice->tax_rate_id, "496081347591275675");
	assert_string_equal(invoice->invoice_date, "2026-03-29");
	assert_string_equal(invoice->reference, "ORD-7");
	assert_string_equal(invoice->description, "Cursus\nbookto order ORD-7\nKlas: 3B");
	plan_invoice_free(invoice);
	bookto_order_free(order);
}

static void test_free_null(void **state)
{
	(void)state;
	plan_contact_free(NULL);
	plan_invoice_free(NULL);
	plan_payment_free(NULL);
	plan_zone_free(NULL);
	assert_int_equal(plan_zone_offset(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contact_key_vectors),
	    cmocka_unit_test(test_contact_key_shape_and_uniqueness),
	    cmocka_unit_test(test_contact_b2b_with_vat),
	    cmocka_unit_test(test_contact_peppol_only),
	    cmocka_unit_test(test_contact_private_email_only),
	    cmocka_unit_test(test_contact_search_off_and_parks),
	    cmocka_unit_test(test_each_treatment_picks_its_rate),
	    cmocka_unit_test(test_custom_treatment_by_id_and_name),
	    cmocka_unit_test(test_unmapped_cases_park),
	    cmocka_unit_test(test_totals_fixed),
	    cmocka_unit_test(test_totals_random),
	    cmocka_unit_test(test_tax_arithmetic),
	    cmocka_unit_test(test_prices_incl_tax),
	    cmocka_unit_test(test_created_total_check),
	    cmocka_unit_test(test_invoice_date_time_zone_edges),
	    cmocka_unit_test(test_zones_match_glibc),
	    cmocka_unit_test(test_footer_only_zone),
	    cmocka_unit_test(test_zone_load_errors),
	    cmocka_unit_test(test_description_default_template),
	    cmocka_unit_test(test_description_custom_template),
	    cmocka_unit_test(test_reference),
	    cmocka_unit_test(test_ledger_account_precedence),
	    cmocka_unit_test(test_payment_overrides),
	    cmocka_unit_test(test_delivery_preconditions),
	    cmocka_unit_test(test_send_method_and_test_orders),
	    cmocka_unit_test(test_contact_search_choice),
	    cmocka_unit_test(test_delivery_rules_pick_per_order),
	    cmocka_unit_test(test_delivery_rule_country_and_fallback),
	    cmocka_unit_test(test_parsed_order_end_to_end),
	    cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
