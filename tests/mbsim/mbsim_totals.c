#include "mbsim_totals.h"

#include <string.h>

/* 128-bit intermediates: price x amount alone can pass 2^63. */
__extension__ typedef __int128 wide;

/* round(n / d) half away from zero; d > 0. The reference's own figures
 * show the half case: 10.50 at 21 % = 2.205 -> 2.21. */
static wide round_div(wide n, wide d)
{
	wide q = n / d, r = n % d;

	if (r < 0)
		r = -r;
	if (2 * r >= d)
		q += n < 0 ? -1 : 1;
	return q;
}

static bool in_range(wide cents)
{
	return cents >= -MBSIM_TOTALS_LIMIT_CENTS && cents <= MBSIM_TOTALS_LIMIT_CENTS;
}

/* A document-currency amount in the administration's currency. */
static int64_t to_base(int64_t cents, int64_t rate_micro)
{
	return (int64_t)round_div((wide)cents * rate_micro, 1000000);
}

int mbsim_totals_compute(struct mbsim_totals_line *lines, size_t nlines,
                         struct mbsim_totals_group *groups, size_t ngroups, bool prices_incl,
                         int64_t discount_bp, int64_t base_rate_micro, struct mbsim_totals *out)
{
	wide sums[MBSIM_TOTALS_MAX_GROUPS] = {0};
	wide discount = 0, excl = 0, tax = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (ngroups > MBSIM_TOTALS_MAX_GROUPS || nlines > MBSIM_TOTALS_MAX_LINES)
		return -1;
	/* Each line: price x amount to the cent, less the invoice discount; in
	 * the invoice's basis (incl. or excl.). */
	for (i = 0; i < nlines; i++) {
		struct mbsim_totals_line *l = &lines[i];
		wide gross = round_div((wide)l->price_cents * l->amount_micro, 1000000);
		wide disc = round_div(gross * discount_bp, 10000);
		wide line = gross - disc, line_excl = line;

		if (l->group >= ngroups || !in_range(gross))
			return -1;
		if (prices_incl)
			line_excl = round_div(line * 10000, 10000 + l->pct_bp);
		l->excl_cents = (int64_t)line_excl;
		l->excl_base_cents = to_base(l->excl_cents, base_rate_micro);
		sums[l->group] += line;
		discount += disc;
	}
	/* Tax once per rate over the sum of its lines (tax_totals[]): added to an
	 * excl. sum; of an incl. sum, the excl. part is rounded and the tax is
	 * what is left (README.md, "Totals", says why). */
	for (i = 0; i < ngroups; i++) {
		struct mbsim_totals_group *g = &groups[i];
		wide t;

		if (!in_range(sums[i]))
			return -1;
		if (prices_incl) {
			g->taxable_cents = (int64_t)round_div(sums[i] * 10000, 10000 + g->pct_bp);
			t = sums[i] - g->taxable_cents;
		} else {
			t = round_div(sums[i] * g->pct_bp, 10000);
			g->taxable_cents = (int64_t)sums[i];
		}
		g->tax_cents = (int64_t)t;
		g->taxable_base_cents = to_base(g->taxable_cents, base_rate_micro);
		g->tax_base_cents = to_base(g->tax_cents, base_rate_micro);
		excl += g->taxable_cents;
		tax += t;
		out->excl_base_cents += g->taxable_base_cents;
		out->incl_base_cents += g->taxable_base_cents + g->tax_base_cents;
	}
	if (!in_range(excl) || !in_range(excl + tax) || !in_range(discount))
		return -1;
	out->excl_cents = (int64_t)excl;
	out->tax_cents = (int64_t)tax;
	out->incl_cents = (int64_t)(excl + tax);
	out->discount_cents = (int64_t)discount;
	return 0;
}
