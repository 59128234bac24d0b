/*
 * Unit test of bm-ordergen's library: deterministic, every payload a valid
 * order.paid that bookto's parser accepts without a park reason, figures
 * derived by bookto's rules, match_ref by bookto's documented rule, and the
 * every-cent, bookable-only and hostile modes doing what they say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bookto.h"
#include "ordergen.h"

static char body[ORDERGEN_BODY_MAX];
static char again[ORDERGEN_BODY_MAX];

static struct bookto_order *parse(const char *text)
{
	struct bookto_order *order = NULL;
	struct cn_error err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(bookto_parse_order(text, strlen(text), &order, &err), 0);
	assert_non_null(order);
	return order;
}

/* 3000 orders of a mixed stream: valid, consistent, reproducible. */
static void test_stream(void **state)
{
	struct ordergen g;
	struct ordergen_figures fig;
	uint64_t i, buyers_seen = 0, from_excl = 0, treatments[5] = {0};
	static const char *const names[] = {"standard", "reverse_charge", "export", "exempt",
	                                    "oss"};

	(void)state;
	ordergen_init(&g, 99);
	for (i = 0; i < 3000; i++) {
		uint64_t buyer = ordergen_buyer_of(&g, i);
		int n = ordergen_render(&g, i, buyer, body, sizeof(body), &fig);
		struct bookto_order *o;
		char ref[128];
		size_t k;

		assert_true(n > 0);
		assert_int_equal(ordergen_render(&g, i, buyer, again, sizeof(again), NULL), n);
		assert_memory_equal(body, again, (size_t)n);
		assert_null(strchr(body, '\n'));
		o = parse(body);
		if (o->park_reason != NULL)
			fail_msg("order %llu parks: %s\n%s", (unsigned long long)i, o->park_reason,
			         body);
		assert_int_equal(o->total_incl_cents, fig.incl_cents);
		assert_int_equal(o->excl_vat_cents, fig.excl_cents);
		assert_int_equal(o->vat_cents, fig.vat_cents);
		assert_int_equal(fig.incl_cents, fig.excl_cents + fig.vat_cents);
		if (fig.from_excl) {
			/* vat = excl x r, half up: vat - excl x r in (-1/2, 1/2] cent */
			int64_t twice = 2 * (fig.vat_cents * 10000 - fig.excl_cents * fig.rate_bp);

			assert_true(twice > -10000 && twice <= 10000);
			from_excl++;
		} else {
			int64_t twice =
			    2 * (fig.excl_cents * (10000 + fig.rate_bp) - fig.incl_cents * 10000);

			assert_true(twice > -(10000 + fig.rate_bp) && twice <= 10000 + fig.rate_bp);
			assert_true(fig.incl_cents >= 99 && fig.incl_cents <= 123456);
		}
		assert_string_equal(o->currency, "EUR");
		assert_int_equal(bookto_derive_match_ref(o->buyer_vat_number, o->buyer_peppol_id,
		                                         o->buyer_email, ref, sizeof(ref)),
		                 0);
		assert_string_equal(o->match_ref, ref);
		for (k = 0; k < 5; k++)
			treatments[k] += strcmp(fig.treatment, names[k]) == 0;
		buyers_seen |= buyer == 59 ? 1 : 0;
		bookto_order_free(o);
	}
	for (size_t k = 0; k < 5; k++)
		assert_true(treatments[k] > 30);
	assert_true(from_excl > 100);
	assert_int_equal(buyers_seen, 1);
}

/* --price: the first orders cost these retail prices at 21 %. */
static void test_fixed_prices(void **state)
{
	struct ordergen g;
	struct ordergen_figures fig;

	(void)state;
	ordergen_init(&g, 5);
	g.fixed_cents[g.fixed_count++] = 4900;
	g.fixed_cents[g.fixed_count++] = 1000;
	assert_true(ordergen_render(&g, 0, ordergen_buyer_of(&g, 0), body, sizeof(body), &fig) > 0);
	assert_int_equal(fig.incl_cents, 4900);
	assert_int_equal(fig.excl_cents, 4050); /* 40.4959 */
	assert_int_equal(fig.vat_cents, 850);
	assert_string_equal(fig.treatment, "standard");
	assert_true(ordergen_render(&g, 1, ordergen_buyer_of(&g, 1), body, sizeof(body), &fig) > 0);
	assert_int_equal(fig.excl_cents, 826); /* 8.2644 */
	assert_int_equal(fig.vat_cents, 174);
}

/* --every-cent 0.01-3.00 at 20 %, and --bookable skips bookto's ties. */
static void test_every_cent_and_bookable(void **state)
{
	struct ordergen g;
	struct ordergen_figures fig;
	uint64_t i, ties = 0;

	(void)state;
	ordergen_init(&g, 1);
	g.every_from = 1;
	g.every_to = 300;
	g.every_rate_bp = 2000;
	assert_int_equal(ordergen_every_cent_count(&g), 300);
	for (i = 0; i < 300; i++) {
		assert_true(
		    ordergen_render(&g, i, ordergen_buyer_of(&g, i), body, sizeof(body), &fig) > 0);
		assert_int_equal(fig.incl_cents, (int64_t)i + 1);
		assert_int_equal(fig.rate_bp, 2000);
		ties += (fig.incl_cents * 10000) % 12000 == 6000;
	}
	assert_int_equal(ties, 50); /* 0.03, 0.09, ...: one price in six */
	g.bookable_only = true;
	for (i = 0; i < 300; i++) {
		assert_true(ordergen_render(&g, i, 0, body, sizeof(body), &fig) > 0);
		assert_true((fig.incl_cents * 10000) % 12000 != 6000);
	}
}

/* --hostile: still valid JSON and bookable, with separators in order numbers. */
static void test_hostile(void **state)
{
	struct ordergen g;
	uint64_t i, odd = 0;

	(void)state;
	ordergen_init(&g, 3);
	g.hostile = true;
	for (i = 0; i < 400; i++) {
		struct bookto_order *o;

		assert_true(
		    ordergen_render(&g, i, ordergen_buyer_of(&g, i), body, sizeof(body), NULL) > 0);
		o = parse(body);
		if (o->park_reason != NULL)
			fail_msg("hostile order parks: %s\n%s", o->park_reason, body);
		odd += strpbrk(o->order_number, " ,:|/%\"<?#") != NULL;
		bookto_order_free(o);
	}
	assert_true(odd > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_fixed_prices),
	    cmocka_unit_test(test_every_cent_and_bookable),
	    cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
