/*
 * mbsim_totals: a sales invoice's totals as Moneybird computes them, from the
 * reference (the API reference and the OpenAPI example bodies), in integer
 * cents. Pure: no simulator state, so the unit test checks it against the
 * reference's own figures. README.md ("Totals") says which readings are
 * unconfirmed and why these were chosen.
 */
#ifndef MBSIM_TOTALS_H
#define MBSIM_TOTALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBSIM_TOTALS_MAX_LINES 256
#define MBSIM_TOTALS_MAX_GROUPS 64
/* The OpenAPI money range, +-1,000,000,000, in cents: no line or total may
 * leave it. */
#define MBSIM_TOTALS_LIMIT_CENTS 100000000000LL
/* The base-currency rate of every foreign currency, in millionths: the
 * spec's USD example converts 159.99 to 127.99. */
#define MBSIM_FOREIGN_RATE_MICRO 800000

struct mbsim_totals_line {
	int64_t price_cents;  /* the unit price as sent, incl. or excl. per the invoice */
	int64_t amount_micro; /* quantity in millionths (1 = 1000000) */
	int64_t pct_bp;       /* the tax rate in hundredths of a percent (21 % = 2100) */
	size_t group;         /* lines with the same tax rate share a group, 0.. */
	/* out */
	int64_t excl_cents, excl_base_cents; /* total_price_excl_tax_with_discount[_base] */
};

struct mbsim_totals_group {
	int64_t pct_bp;
	int64_t taxable_cents, taxable_base_cents;
	int64_t tax_cents, tax_base_cents;
};

struct mbsim_totals {
	int64_t excl_cents, excl_base_cents;
	int64_t incl_cents, incl_base_cents;
	int64_t tax_cents;
	int64_t discount_cents;
};

/*
 * Fills the lines' and groups' out fields and *out. discount_bp is the
 * invoice discount in hundredths of a percent; base_rate_micro converts to
 * the administration's currency (1000000 for its own). Returns 0, or -1 when
 * a line or total leaves the money range or a group index is out of range
 * (groups must hold ngroups entries with pct_bp set).
 */
int mbsim_totals_compute(struct mbsim_totals_line *lines, size_t nlines,
                         struct mbsim_totals_group *groups, size_t ngroups, bool prices_incl,
                         int64_t discount_bp, int64_t base_rate_micro, struct mbsim_totals *out);

#endif
