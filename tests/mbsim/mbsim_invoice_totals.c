/* A sales invoice's totals and payment state, kept in the entity: mbsim_totals
 * computes, this file reads the details and writes the results. */
#include "mbsim.h"
#include "mbsim_totals.h"

#include <string.h>

static int64_t json_int(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(item) ? (int64_t)item->valuedouble : 0;
}

static void set_money(cJSON *obj, const char *key, int64_t cents)
{
	char buf[32];

	mbsim_format_money(cents, buf);
	mbsim_set_str(obj, key, buf);
}

/* The administration's currency is EUR; any other converts at the rate the
 * spec's USD example shows (see mbsim_totals.h). */
static int64_t base_rate_micro(const cJSON *invoice)
{
	return strcmp(mbsim_str(invoice, "currency"), "EUR") == 0 ? 1000000
	                                                          : MBSIM_FOREIGN_RATE_MICRO;
}

/* Collects the details into lines grouped by tax rate; -1 on an unknown rate
 * or too many lines or rates. */
static int collect_lines(struct mbsim *sim, cJSON *invoice, struct mbsim_totals_line *lines,
                         size_t *nlines, struct mbsim_totals_group *groups, const char **ids,
                         size_t *ngroups)
{
	cJSON *detail;
	size_t g;

	*nlines = *ngroups = 0;
	cJSON_ArrayForEach(detail, cJSON_GetObjectItemCaseSensitive(invoice, "details"))
	{
		const char *rate_id = mbsim_str(detail, "tax_rate_id");
		const cJSON *rate = mbsim_find_by_id(sim->tax_rates, rate_id);
		int64_t pct_bp = 0;

		if (rate == NULL || *nlines == MBSIM_TOTALS_MAX_LINES ||
		    mbsim_parse_money_str(mbsim_str(rate, "percentage"), &pct_bp) != 0)
			return -1;
		for (g = 0; g < *ngroups; g++)
			if (strcmp(ids[g], rate_id) == 0)
				break;
		if (g == *ngroups) {
			if (g == MBSIM_TOTALS_MAX_GROUPS)
				return -1;
			ids[g] = mbsim_str(rate, "id");
			groups[g].pct_bp = pct_bp;
			(*ngroups)++;
		}
		lines[*nlines].price_cents = json_int(detail, "_price_cents");
		lines[*nlines].amount_micro = json_int(detail, "_amount_micro");
		lines[*nlines].pct_bp = pct_bp;
		lines[*nlines].group = g;
		(*nlines)++;
	}
	return 0;
}

/*
 * Totals as mbsim_totals computes them from the reference; sets every total
 * the real API reports, with their _base twins in the administration's
 * currency. -1 when a total leaves the money range (the caller answers 422).
 */
int mbsim_recompute_invoice(struct mbsim *sim, cJSON *invoice)
{
	struct mbsim_totals_line lines[MBSIM_TOTALS_MAX_LINES];
	struct mbsim_totals_group groups[MBSIM_TOTALS_MAX_GROUPS];
	const char *ids[MBSIM_TOTALS_MAX_GROUPS];
	struct mbsim_totals t;
	size_t nlines, ngroups, i = 0;
	cJSON *detail, *tax_totals;
	bool incl = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(invoice, "prices_are_incl_tax"));

	memset(groups, 0, sizeof(groups));
	if (collect_lines(sim, invoice, lines, &nlines, groups, ids, &ngroups) != 0 ||
	    mbsim_totals_compute(lines, nlines, groups, ngroups, incl,
	                         json_int(invoice, "_discount_bp"), base_rate_micro(invoice),
	                         &t) != 0)
		return -1;
	cJSON_ArrayForEach(detail, cJSON_GetObjectItemCaseSensitive(invoice, "details"))
	{
		set_money(detail, "total_price_excl_tax_with_discount", lines[i].excl_cents);
		set_money(detail, "total_price_excl_tax_with_discount_base",
		          lines[i].excl_base_cents);
		i++;
	}
	tax_totals = cJSON_CreateArray();
	for (i = 0; i < ngroups; i++) {
		cJSON *item = cJSON_CreateObject();

		cJSON_AddStringToObject(item, "tax_rate_id", ids[i]);
		set_money(item, "taxable_amount", groups[i].taxable_cents);
		set_money(item, "taxable_amount_base", groups[i].taxable_base_cents);
		set_money(item, "tax_amount", groups[i].tax_cents);
		set_money(item, "tax_amount_base", groups[i].tax_base_cents);
		cJSON_AddItemToArray(tax_totals, item);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(invoice, "tax_totals", tax_totals);
	set_money(invoice, "total_price_excl_tax", t.excl_cents);
	set_money(invoice, "total_price_excl_tax_base", t.excl_base_cents);
	set_money(invoice, "total_price_incl_tax", t.incl_cents);
	set_money(invoice, "total_price_incl_tax_base", t.incl_base_cents);
	set_money(invoice, "total_discount", t.discount_cents);
	cJSON_ReplaceItemInObjectCaseSensitive(invoice, "_total_cents",
	                                       cJSON_CreateNumber((double)t.incl_cents));
	cJSON_ReplaceItemInObjectCaseSensitive(invoice, "_total_base_cents",
	                                       cJSON_CreateNumber((double)t.incl_base_cents));
	mbsim_emit_state_change(sim, invoice, mbsim_refresh_payment_state(invoice));
	return 0;
}

static int64_t money_field(const cJSON *obj, const char *key)
{
	int64_t cents = 0;

	if (mbsim_parse_money(cJSON_GetObjectItemCaseSensitive(obj, key), &cents) != 0)
		return 0;
	return cents;
}

/* Recomputes paid/unpaid and moves open <-> paid; returns what changed. */
enum mbsim_state_change mbsim_refresh_payment_state(cJSON *invoice)
{
	int64_t total = json_int(invoice, "_total_cents");
	int64_t total_base = json_int(invoice, "_total_base_cents");
	int64_t paid = 0, paid_base = 0;
	const cJSON *payment;
	const char *state = mbsim_str(invoice, "state");
	const char *last_date = NULL;
	bool settled;

	cJSON_ArrayForEach(payment, cJSON_GetObjectItemCaseSensitive(invoice, "payments"))
	{
		paid += money_field(payment, "price");
		paid_base += money_field(payment, "price_base");
		last_date = mbsim_str(payment, "payment_date");
	}
	set_money(invoice, "total_paid", paid);
	set_money(invoice, "total_unpaid", total - paid);
	set_money(invoice, "total_unpaid_base", total_base - paid_base);
	if (strcmp(state, "draft") == 0 || strcmp(state, "scheduled") == 0)
		return MBSIM_UNCHANGED;
	settled = total >= 0 ? paid >= total : paid <= total;
	if (settled && strcmp(state, "paid") != 0) {
		char today[11];

		mbsim_today(today);
		mbsim_set_str(invoice, "state", "paid");
		mbsim_set_str(invoice, "paid_at", last_date != NULL ? last_date : today);
		mbsim_add_event(invoice, "sales_invoice_state_changed_to_paid");
		return MBSIM_BECAME_PAID;
	}
	if (!settled && strcmp(state, "paid") == 0) {
		mbsim_set_str(invoice, "state", "open");
		mbsim_set_null(invoice, "paid_at");
		mbsim_add_event(invoice, "sales_invoice_state_changed_to_open");
		return MBSIM_BECAME_OPEN;
	}
	return MBSIM_UNCHANGED;
}
