/*
 * The price basis of an order's invoice line (incl or excl VAT) and the
 * other checks the planner makes before anything is written: which of
 * bookto's amounts the line carries so that Moneybird's arithmetic gives
 * bookto's figures to the cent, and whether the order's currency is the
 * administration's. Pure, like the rest of the planner.
 */
#include "plan.h"
#include "plan_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PERCENT_HUNDRED 1000000 /* 100 % in ten-thousandths of a percent */

/* round(magnitude * factor / denominator) half away from zero, for magnitude
 * >= 0 and factor, denominator <= 2 * 10^6: split so no product overflows. */
static int64_t scaled_round(int64_t magnitude, int64_t factor, int64_t denominator)
{
	int64_t quotient = magnitude / denominator;
	int64_t remainder = magnitude % denominator;

	return quotient * factor + (2 * remainder * factor + denominator) / (2 * denominator);
}

void plan_line_totals(int64_t price_cents, int64_t percentage, bool incl, struct plan_totals *out)
{
	int64_t magnitude;
	int64_t part;

	if (percentage < 0 || percentage > PERCENT_HUNDRED)
		percentage = 0;
	if (price_cents == INT64_MIN)
		price_cents++; /* out of any real range; keeps the negation defined */
	magnitude = price_cents < 0 ? -price_cents : price_cents;
	if (incl) {
		/* excl = price / (1 + rate), rounded; the tax is what is left.
		 * Moneybird's rounding of an incl. price is unconfirmed; the two
		 * readings (round the excl part, or round the tax) differ only
		 * when price / (1 + rate) ends in exactly half a cent. Rounding
		 * the excl part is the split bookto makes of an incl. price, and
		 * the excl part is what each invoice detail carries
		 * (total_price_excl_tax_with_discount); the check after creation
		 * compares the draft's figures in case Moneybird differs. */
		part = scaled_round(magnitude, PERCENT_HUNDRED, PERCENT_HUNDRED + percentage);
		out->incl_cents = price_cents;
		out->excl_cents = price_cents < 0 ? -part : part;
		out->tax_cents = out->incl_cents - out->excl_cents;
	} else {
		part = scaled_round(magnitude, percentage, PERCENT_HUNDRED);
		out->excl_cents = price_cents;
		out->tax_cents = price_cents < 0 ? -part : part;
		out->incl_cents = out->excl_cents + out->tax_cents;
	}
}

static bool reproduces(const struct plan_totals *model, const struct bookto_order *order)
{
	return model->incl_cents == order->total_incl_cents &&
	       model->excl_cents == order->excl_vat_cents && model->tax_cents == order->vat_cents;
}

/* "with prices incl. VAT (line 49.00) Moneybird computes excl 40.50 + VAT 8.50 = 49.00" */
static void describe(const struct plan_totals *model, bool incl, char *out, size_t size)
{
	char line[32], excl[32], tax[32], total[32];

	plan_format_cents(incl ? model->incl_cents : model->excl_cents, line, sizeof(line));
	plan_format_cents(model->excl_cents, excl, sizeof(excl));
	plan_format_cents(model->tax_cents, tax, sizeof(tax));
	plan_format_cents(model->incl_cents, total, sizeof(total));
	snprintf(out, size, "with prices %s VAT (line %s) Moneybird computes excl %s + VAT %s = %s",
	         incl ? "incl." : "excl.", line, excl, tax, total);
}

/* Both computations against bookto's figures, as the park sentence. */
static int park_basis(const struct bookto_order *order, const struct mapping *mapping,
                      const struct plan_basis *basis, char **park_reason, struct cn_error *err)
{
	char incl_text[160], excl_text[160];
	char total[32], excl[32], vat[32];
	const char *told = mapping_price_basis_name(mapping->price_basis);

	describe(&basis->incl_model, true, incl_text, sizeof(incl_text));
	describe(&basis->excl_model, false, excl_text, sizeof(excl_text));
	plan_format_cents(order->total_incl_cents, total, sizeof(total));
	plan_format_cents(order->excl_vat_cents, excl, sizeof(excl));
	plan_format_cents(order->vat_cents, vat, sizeof(vat));
	if (mapping->price_basis == MAPPING_PRICE_AUTO)
		return plan_park(
		    park_reason, err,
		    "Moneybird's arithmetic cannot reproduce bookto's figures (total_incl "
		    "%s = excl_vat %s + vat %s at %s %%) on either price basis: %s; %s; "
		    "check the order's amounts in bookto or book it by hand",
		    total, excl, vat, order->vat_rate_text, incl_text, excl_text);
	return plan_park(
	    park_reason, err,
	    "with price_basis = \"%s\" in %s, Moneybird's arithmetic does not reproduce "
	    "bookto's figures (total_incl %s = excl_vat %s + vat %s at %s %%): %s%s%s",
	    told, mapping->path != NULL ? mapping->path : "the mapping", total, excl, vat,
	    order->vat_rate_text,
	    mapping->price_basis == MAPPING_PRICE_INCL ? incl_text : excl_text,
	    (mapping->price_basis == MAPPING_PRICE_INCL ? basis->excl_fits : basis->incl_fits)
	        ? "; price_basis = \"auto\" would book it "
	        : "",
	    (mapping->price_basis == MAPPING_PRICE_INCL ? basis->excl_fits : basis->incl_fits)
	        ? (mapping->price_basis == MAPPING_PRICE_INCL ? "with prices excl. VAT"
	                                                      : "with prices incl. VAT")
	        : "");
}

int plan_price_basis(const struct bookto_order *order, const struct mapping *mapping,
                     int64_t percentage, struct plan_basis *out, char **park_reason,
                     struct cn_error *err)
{
	char other[160];

	memset(out, 0, sizeof(*out));
	plan_line_totals(order->total_incl_cents, percentage, true, &out->incl_model);
	plan_line_totals(order->excl_vat_cents, percentage, false, &out->excl_model);
	out->incl_fits = reproduces(&out->incl_model, order);
	out->excl_fits = reproduces(&out->excl_model, order);

	if (mapping->price_basis != MAPPING_PRICE_AUTO) {
		/* Told by the mapping: that basis, or parked when it does not fit. */
		out->incl = mapping->price_basis == MAPPING_PRICE_INCL;
		snprintf(out->why, sizeof(out->why), "price_basis = \"%s\" in the mapping",
		         mapping_price_basis_name(mapping->price_basis));
		if (!(out->incl ? out->incl_fits : out->excl_fits))
			return park_basis(order, mapping, out, park_reason, err);
		return CN_OK;
	}
	if (out->incl_fits) {
		out->incl = true;
		if (out->excl_fits) {
			snprintf(
			    out->why, sizeof(out->why),
			    "auto: prices incl. VAT reproduce bookto's figures to the cent (so "
			    "do excl., but the buyer saw the incl. price)");
			return CN_OK;
		}
		describe(&out->excl_model, false, other, sizeof(other));
		snprintf(out->why, sizeof(out->why),
		         "auto: only prices incl. VAT reproduce bookto's figures (%s)", other);
		return CN_OK;
	}
	if (out->excl_fits) {
		out->incl = false;
		describe(&out->incl_model, true, other, sizeof(other));
		snprintf(out->why, sizeof(out->why),
		         "auto: only prices excl. VAT reproduce bookto's figures (%s)", other);
		return CN_OK;
	}
	return park_basis(order, mapping, out, park_reason, err);
}

int plan_check_currency(const struct bookto_order *order, const char *administration_currency,
                        char **park_reason, struct cn_error *err)
{
	if (order->currency == NULL || order->currency[0] == '\0')
		return plan_park(park_reason, err, "amount.currency is missing");
	if (administration_currency == NULL || administration_currency[0] == '\0' ||
	    strcasecmp(order->currency, administration_currency) == 0)
		return CN_OK;
	/* Never a sent invoice that cannot be paid: Moneybird needs the payment
	 * in its own currency (price_base), which bookto does not send. */
	return plan_park(
	    park_reason, err,
	    "the order is in %.8s but the Moneybird administration books in %.8s: its "
	    "payment would need the amount in %.8s (price_base), which bookto does not "
	    "send; book this order by hand in Moneybird, or sell in %.8s (or use an "
	    "administration whose currency is %.8s) and retry",
	    order->currency, administration_currency, administration_currency,
	    administration_currency, order->currency);
}
