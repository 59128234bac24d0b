/*
 * The price basis over every cent: for each total from 0.01 to 2,000.00 at
 * 21 %, 9 %, 0 % and the OSS rates the simulator's administration has (19 %,
 * 20 %, 7 %), bookto's figures derived from an incl price and, separately,
 * from an excl price, price_basis = "auto" parks nothing and the Moneybird
 * totals it plans equal bookto's. That includes the exact ties, where
 * incl / (1 + r) ends in half a cent (at 20 % of these rates, every incl =
 * 3 mod 6 cents, e.g. 0.99): bookto rounds the excl part up, and so does
 * the planner's model of Moneybird's incl split. bookto's figures and the
 * ties are derived here with plain integer arithmetic, independently of
 * the planner.
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

#include "plan.h"
#include "unit_main.h"

#define MAX_CENTS 200000 /* 2,000.00 */
#define SAMPLE_EVERY 997 /* also run the whole planner on these */

/* The whole percentages every price is tried at, and the name of the
 * administration's sales tax rate for each. */
static const struct {
	int64_t whole;
	const char *name;
} whole_rates[] = {{21, "BTW hoog"},  {9, "BTW laag"},   {0, "Vrijgesteld"},
                   {19, "OSS DE 19"}, {20, "OSS FR 20"}, {7, "OSS DE 7"}};
#define RATE_COUNT (sizeof(whole_rates) / sizeof(whole_rates[0]))

static struct mapping *default_mapping;
static struct plan_zone *utc;

/* The tax rates of whole_rates as Moneybird lists them (id "1".."6", "21.0"),
 * made by group_setup. */
static struct mb_tax_rate rates[RATE_COUNT];

/* An exact tie: incl * 100 / (100 + r) ends in exactly half a cent. */
static bool excl_is_tie(int64_t incl, int64_t r)
{
	return (incl * 100) % (100 + r) * 2 == 100 + r;
}

/* bookto from an incl price: excl = round_half_up(incl * 100 / (100 + r)). */
static void from_incl(int64_t incl, int64_t r, struct bookto_order *o)
{
	o->total_incl_cents = incl;
	o->excl_vat_cents = (200 * incl + 100 + r) / (200 + 2 * r);
	o->vat_cents = incl - o->excl_vat_cents;
}

/* bookto from an excl price: vat = round_half_up(excl * r / 100). */
static void from_excl(int64_t excl, int64_t r, struct bookto_order *o)
{
	o->excl_vat_cents = excl;
	o->vat_cents = (2 * excl * r + 100) / 200;
	o->total_incl_cents = excl + o->vat_cents;
}

static void order_init(struct bookto_order *o, char *rate_text)
{
	memset(o, 0, sizeof(*o));
	o->order_id = "ord_1";
	o->order_number = "ORD-1";
	o->paid_at_text = "2026-06-15T10:00:00Z";
	o->paid_at_epoch = 1781517600;
	o->paid_at_valid = true;
	o->vat_rate_text = rate_text;
	o->currency = "EUR";
	o->vat_treatment = "standard";
	o->product_name = "Ebook";
	o->product_description = "";
	o->buyer_country = "NL";
	o->match_ref = "buyer@example.com";
}

/* The whole planner on one order: the invoice it would create. */
static void check_full_plan(const struct bookto_order *o, const struct mb_tax_rate *rate)
{
	struct plan_invoice *invoice = NULL;
	struct cn_error err = {{0}};
	char *reason = NULL;

	if (plan_invoice(o, default_mapping, rate, 1, utc, "777", &invoice, &reason, &err) != 0) {
		print_error("%s at %s %% parks: %s\n", o->order_number, o->vat_rate_text,
		            reason != NULL ? reason : err.message);
		fail();
	}
	assert_int_equal(invoice->total_incl_cents, o->total_incl_cents);
	assert_int_equal(invoice->total_excl_cents, o->excl_vat_cents);
	assert_int_equal(invoice->total_tax_cents, o->vat_cents);
	assert_int_equal(invoice->line.price_cents, invoice->request.prices_are_incl_tax
	                                                ? o->total_incl_cents
	                                                : o->excl_vat_cents);
	plan_invoice_free(invoice);
}

static void check_every_cent(bool incl_prices)
{
	struct bookto_order o;
	struct plan_basis basis;
	struct cn_error err = {{0}};
	size_t incl_chosen = 0;
	size_t ties = 0;

	for (size_t i = 0; i < RATE_COUNT; i++) {
		int64_t r = whole_rates[i].whole;
		int64_t percentage = 0;
		char rate_text[8];

		snprintf(rate_text, sizeof(rate_text), "%lld", (long long)r);
		assert_int_equal(plan_percentage_parse(rate_text, &percentage), 0);
		for (int64_t cents = 1; cents <= MAX_CENTS; cents++) {
			char *reason = NULL;
			const struct plan_totals *model;

			order_init(&o, rate_text);
			if (incl_prices)
				from_incl(cents, r, &o);
			else
				from_excl(cents, r, &o);
			if (incl_prices && excl_is_tie(cents, r))
				ties++; /* booked like every other price, checked below */
			if (plan_price_basis(&o, default_mapping, percentage, &basis, &reason,
			                     &err) != 0) {
				print_error("%lld cents (%s) at %lld %%: %s\n", (long long)cents,
				            incl_prices ? "incl" : "excl", (long long)r,
				            reason != NULL ? reason : err.message);
				free(reason);
				fail();
			}
			model = basis.incl ? &basis.incl_model : &basis.excl_model;
			if (model->incl_cents != o.total_incl_cents ||
			    model->excl_cents != o.excl_vat_cents ||
			    model->tax_cents != o.vat_cents) {
				print_error(
				    "%lld cents at %lld %%: planned %lld/%lld/%lld\n",
				    (long long)cents, (long long)r, (long long)model->excl_cents,
				    (long long)model->tax_cents, (long long)model->incl_cents);
				fail();
			}
			/* incl is preferred whenever it reproduces bookto's figures */
			if (basis.incl_fits)
				assert_true(basis.incl);
			incl_chosen += basis.incl;
			if (cents % SAMPLE_EVERY == 0) {
				o.order_number = rate_text;
				check_full_plan(&o, &rates[i]);
			}
		}
	}
	/* from incl prices, the incl basis reproduces every one, the ties (a
	 * sixth of the prices at 20 %, none at the other rates) included */
	if (incl_prices) {
		assert_int_equal(ties, MAX_CENTS / 6);
		assert_int_equal(incl_chosen, RATE_COUNT * MAX_CENTS);
	} else {
		assert_int_equal(ties, 0);
	}
}

static void test_every_incl_price(void **state)
{
	(void)state;
	check_every_cent(true);
}

static void test_every_excl_price(void **state)
{
	(void)state;
	check_every_cent(false);
}

/* The example and the rounding a fixed basis gets wrong. */
static void test_examples(void **state)
{
	struct plan_totals t;

	(void)state;
	plan_line_totals(4900, 210000, true, &t);
	assert_int_equal(t.excl_cents, 4050);
	assert_int_equal(t.tax_cents, 850);
	plan_line_totals(4050, 210000, false, &t);
	assert_int_equal(t.tax_cents, 851); /* 8.505 -> 8.51: excl drifts a cent */
	plan_line_totals(1000, 210000, true, &t);
	assert_int_equal(t.excl_cents, 826);
	assert_int_equal(t.tax_cents, 174);
	plan_line_totals(-4900, 210000, true, &t); /* away from zero */
	assert_int_equal(t.excl_cents, -4050);
	plan_line_totals(3, 200000, true, &t); /* a tie: excl 2.5 -> 3, so VAT 0 */
	assert_int_equal(t.excl_cents, 3);
	assert_int_equal(t.tax_cents, 0);
	plan_line_totals(99, 200000, true, &t); /* 82.5 -> 83, as bookto splits 0.99 */
	assert_int_equal(t.excl_cents, 83);
	assert_int_equal(t.tax_cents, 16);
	/* no overflow at bookto's largest amount */
	plan_line_totals(12100000000000LL, 210000, true, &t);
	assert_int_equal(t.excl_cents, 10000000000000LL);
}

static void test_currency(void **state)
{
	struct bookto_order o;
	struct cn_error err = {{0}};
	char *reason = NULL;
	char rate_text[] = "21";

	(void)state;
	order_init(&o, rate_text);
	assert_int_equal(plan_check_currency(&o, "EUR", &reason, &err), 0);
	assert_int_equal(plan_check_currency(&o, "eur", &reason, &err), 0);
	o.currency = "USD";
	assert_int_equal(plan_check_currency(&o, "EUR", &reason, &err), CN_INVALID);
	assert_non_null(strstr(reason, "the order is in USD but the Moneybird administration "
	                               "books in EUR"));
	assert_non_null(strstr(reason, "book this order by hand"));
	free(reason);
}

static int group_setup(void **state)
{
	const char *source = getenv("BM_SOURCE_DIR");
	struct cn_error err = {{0}};
	char path[600];

	(void)state;
	if (source == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/mappings/default.cfg", source);
	if (mapping_load(path, &default_mapping, stderr, &err) != 0)
		return -1;
	if (default_mapping->price_basis != MAPPING_PRICE_AUTO)
		return -1;
	for (size_t i = 0; i < RATE_COUNT; i++) {
		snprintf(rates[i].id, sizeof(rates[i].id), "%zu", i + 1);
		snprintf(rates[i].name, sizeof(rates[i].name), "%s", whole_rates[i].name);
		snprintf(rates[i].percentage, sizeof(rates[i].percentage), "%lld.0",
		         (long long)whole_rates[i].whole);
		snprintf(rates[i].tax_rate_type, sizeof(rates[i].tax_rate_type), "sales_invoice");
		rates[i].active = true;
	}
	return plan_zone_load("UTC", &utc, &err);
}

static int group_teardown(void **state)
{
	(void)state;
	mapping_free(default_mapping);
	plan_zone_free(utc);
	return 0;
}

UNIT_TEST_MAIN(group_setup, group_teardown, cmocka_unit_test(test_examples),
               cmocka_unit_test(test_every_incl_price), cmocka_unit_test(test_every_excl_price),
               cmocka_unit_test(test_currency))
