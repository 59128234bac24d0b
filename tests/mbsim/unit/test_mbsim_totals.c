/*
 * Unit test of mbsim_totals against the reference, not against the
 * connector: every figure below is from a response body in Moneybird's
 * OpenAPI spec (named by operation and example) or follows from the
 * reference's stated rules where the spec has no example (marked "rule").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "../mbsim_totals.h"

#define EUR 1000000

struct doc {
	struct mbsim_totals_line lines[4];
	struct mbsim_totals_group groups[2];
	struct mbsim_totals t;
	size_t nlines, ngroups;
};

/* A document with one tax rate per group; lines as {price, amount, group}. */
static void add_line(struct doc *d, int64_t price_cents, int64_t amount, size_t group)
{
	struct mbsim_totals_line *l = &d->lines[d->nlines++];

	memset(l, 0, sizeof(*l));
	l->price_cents = price_cents;
	l->amount_micro = amount * 1000000;
	l->group = group;
	l->pct_bp = d->groups[group].pct_bp;
}

static int compute(struct doc *d, bool incl, int64_t discount_bp, int64_t rate_micro)
{
	return mbsim_totals_compute(d->lines, d->nlines, d->groups, d->ngroups, incl, discount_bp,
	                            rate_micro, &d->t);
}

static void one_rate(struct doc *d, int64_t pct_bp)
{
	memset(d, 0, sizeof(*d));
	d->groups[0].pct_bp = pct_bp;
	d->ngroups = 1;
}

/* Single lines excl. VAT at 21 % ("BTW hoog"). */
static void test_excl_single_lines(void **state)
{
	static const struct {
		int64_t price, tax, incl;
	} cases[] = {
	    {12995, 2729,
	     15724}, /* POST sales_invoices, CreateABasicSalesInvoice: 129.95 -> 27.29, 157.24 */
	    {30000, 6300, 36300}, /* GET sales_invoices/{id}: 300.0 -> 63.0, 363.0 */
	    {19999, 4200,
	     24199}, /* PATCH sales_invoices/{id}, AddingAndRemovingDetails: 199.99 -> 42.0 */
	    {9900, 2079, 11979},  /* PATCH estimates/{id}: 99.0 -> 20.79, 119.79 */
	    {10000, 2100, 12100}, /* external_sales_invoices synchronization: 100.0 -> 21.0 */
	    /* subscriptions create_and_schedule_one_off_sales_invoice: 10.5 -> 2.21:
	     * 2.205 rounds half up, not to even */
	    {1050, 221, 1271},
	};
	struct doc d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		one_rate(&d, 2100);
		add_line(&d, cases[i].price, 1, 0);
		assert_int_equal(compute(&d, false, 0, EUR), 0);
		assert_int_equal(d.t.excl_cents, cases[i].price);
		assert_int_equal(d.groups[0].taxable_cents, cases[i].price);
		assert_int_equal(d.groups[0].tax_cents, cases[i].tax);
		assert_int_equal(d.t.tax_cents, cases[i].tax);
		assert_int_equal(d.t.incl_cents, cases[i].incl);
		assert_int_equal(d.t.incl_base_cents, cases[i].incl);
		assert_int_equal(d.lines[0].excl_cents, cases[i].price);
		assert_int_equal(d.t.discount_cents, 0);
	}
}

/* One document: its rates (one group each), basis, discount, currency rate
 * and lines as {price, amount, group} (amount 0 ends them); what
 * mbsim_totals_compute must return, and the figures it must compute. */
struct doc_case {
	const char *source; /* the spec's example or the rule the figures follow */
	struct {
		int64_t pct_bp[2];
		size_t ngroups;
		bool incl;
		int64_t discount_bp, rate_micro;
		struct {
			int64_t price, amount;
			size_t group;
		} lines[4];
	} in;
	int rc;
	struct {
		size_t offset; /* of the figure in struct doc */
		const char *name;
		int64_t cents;
	} expect[8]; /* up to the first without a name ({{0}}: none) */
};

/* Expects `cents` in the computed document's `member` (e.g. t.incl_cents). */
#define SEE(member, cents)                                                                         \
	{                                                                                          \
		offsetof(struct doc, member), #member, cents                                       \
	}

static const struct doc_case doc_cases[] = {
    /* Quantities and several lines (recurring_sales_invoices examples). */
    {"synchronization: 5 x 0.45 + 2 x 0.33 = 2.25 + 0.66 = 2.91 -> 3.52",
     {{2100}, 1, false, 0, EUR, {{45, 5, 0}, {33, 2, 0}}},
     0,
     {SEE(lines[0].excl_cents, 225), SEE(lines[1].excl_cents, 66), SEE(t.excl_cents, 291),
      SEE(t.incl_cents, 352)}},
    {"PATCH: 5 x 10.0 + 2 x 0.33 = 50.66 -> 61.3",
     {{2100}, 1, false, 0, EUR, {{1000, 5, 0}, {33, 2, 0}}},
     0,
     {SEE(lines[0].excl_cents, 5000), SEE(t.excl_cents, 5066), SEE(t.incl_cents, 6130)}},
    {"PATCH sales_invoices/{id}/duplicate_creditinvoice: a 0.0 line and -1 x 300.0",
     {{2100}, 1, false, 0, EUR, {{0, 1, 0}, {30000, -1, 0}}},
     0,
     {SEE(lines[0].excl_cents, 0), SEE(lines[1].excl_cents, -30000),
      SEE(groups[0].taxable_cents, -30000), SEE(groups[0].tax_cents, -6300),
      SEE(t.excl_cents, -30000), SEE(t.incl_cents, -36300), SEE(t.incl_base_cents, -36300)}},
    /* prices_are_incl_tax: the receipts examples (documents share the
     * arithmetic). */
    {"receipts: 300.0 incl. at 21 % -> 247.93 excl.",
     {{2100}, 1, true, 0, EUR, {{30000, 1, 0}}},
     0,
     {SEE(lines[0].excl_cents, 24793), SEE(t.excl_cents, 24793), SEE(t.tax_cents, 5207),
      SEE(t.incl_cents, 30000)}},
    {"receipts: 20.0 incl. at 21 % -> 16.53 excl.",
     {{2100}, 1, true, 0, EUR, {{2000, 1, 0}}},
     0,
     {SEE(t.excl_cents, 1653), SEE(t.incl_cents, 2000)}},
    {"Moneybird's help centre (\"Factuurregels invullen\"): 100 incl. at 21 % is 82.64 "
     "excl. and 17.36 VAT",
     {{2100}, 1, true, 0, EUR, {{10000, 1, 0}}},
     0,
     {SEE(t.excl_cents, 8264), SEE(groups[0].tax_cents, 1736)}},
    /* Rule: the two bases on the amounts of issue 12 (bookto's 49.00 incl. at
     * 21 % = 40.50 + 8.50), and a half case at 20 % taken out of the incl. sum. */
    {"rule: 49.00 x 21/121 = 8.504",
     {{2100}, 1, true, 0, EUR, {{4900, 1, 0}}},
     0,
     {SEE(t.tax_cents, 850), SEE(t.excl_cents, 4050)}},
    {"rule: 40.50 x 0.21 = 8.505 -> 8.51",
     {{2100}, 1, false, 0, EUR, {{4050, 1, 0}}},
     0,
     {SEE(t.tax_cents, 851), SEE(t.incl_cents, 4901)}},
    {"rule: 0.99 / 1.2 = 0.825 -> 0.83",
     {{2000}, 1, true, 0, EUR, {{99, 1, 0}}},
     0,
     {SEE(t.excl_cents, 83), SEE(t.tax_cents, 16)}},
    /* Rule: tax per rate over the sum of its lines (tax_totals[] has one entry
     * per rate), each group rounded once. */
    {"rule: 3 x 0.05 at 21 % is 0.0315 -> 0.03 once, where per-line rounding would give "
     "3 x 0.01",
     {{2100, 900}, 2, false, 0, EUR, {{5, 1, 0}, {5, 1, 0}, {5, 1, 0}, {1000, 1, 1}}},
     0,
     {SEE(groups[0].taxable_cents, 15), SEE(groups[0].tax_cents, 3), SEE(groups[1].tax_cents, 90),
      SEE(t.excl_cents, 1015), SEE(t.incl_cents, 1108)}},
    {"POST sales_invoices, CreateASalesInvoiceInAForeignCurrency: USD 159.99 on a rate "
     "without tax; every _base figure is 127.99 (rate 0.8)",
     {{0}, 1, false, 0, MBSIM_FOREIGN_RATE_MICRO, {{15999, 1, 0}}},
     0,
     {SEE(lines[0].excl_cents, 15999), SEE(lines[0].excl_base_cents, 12799),
      SEE(t.excl_cents, 15999), SEE(t.excl_base_cents, 12799), SEE(t.incl_cents, 15999),
      SEE(t.incl_base_cents, 12799)}},
    {"rule: the invoice discount (10 %) comes off each line before tax",
     {{2100}, 1, false, 1000, EUR, {{10000, 1, 0}}},
     0,
     {SEE(lines[0].excl_cents, 9000), SEE(t.discount_cents, 1000), SEE(t.incl_cents, 10890)}},
    /* Totals outside the money range are refused, without overflowing on the
     * way. */
    {"limits: 1e9 x 1e9 does not fit 64 bits",
     {{2100}, 1, false, 0, EUR, {{100000000000LL, 1000000000, 0}}},
     -1,
     {{0}}},
    {"limits: 900,000,000 + 21 % > 1e9",
     {{2100}, 1, false, 0, EUR, {{90000000000LL, 1, 0}}},
     -1,
     {{0}}},
    {"limits: 800,000,000 + 21 % is inside",
     {{2100}, 1, false, 0, EUR, {{80000000000LL, 1, 0}}},
     0,
     {SEE(t.incl_cents, 96800000000LL)}},
    {"limits: a line in no such group", {{2100}, 1, false, 0, EUR, {{100, 1, 3}}}, -1, {{0}}},
};

static void test_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(doc_cases) / sizeof(doc_cases[0]); i++) {
		const struct doc_case *c = &doc_cases[i];
		struct doc d;

		memset(&d, 0, sizeof(d));
		d.ngroups = c->in.ngroups;
		for (size_t g = 0; g < c->in.ngroups; g++)
			d.groups[g].pct_bp = c->in.pct_bp[g];
		for (size_t l = 0; l < 4 && c->in.lines[l].amount != 0; l++) {
			/* a line naming no group keeps the first rate: it is refused
			 * before its rate is read */
			size_t group = c->in.lines[l].group;

			add_line(&d, c->in.lines[l].price, c->in.lines[l].amount,
			         group < c->in.ngroups ? group : 0);
			d.lines[l].group = group;
		}
		if (compute(&d, c->in.incl, c->in.discount_bp, c->in.rate_micro) != c->rc)
			fail_msg("%s: expected rc %d", c->source, c->rc);
		for (size_t e = 0; e < 8 && c->expect[e].name != NULL; e++) {
			int64_t cents;

			memcpy(&cents, (const char *)&d + c->expect[e].offset, sizeof(cents));
			if (cents != c->expect[e].cents)
				fail_msg("%s: %s is %lld, expected %lld", c->source,
				         c->expect[e].name, (long long)cents,
				         (long long)c->expect[e].cents);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_excl_single_lines),
	    cmocka_unit_test(test_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
