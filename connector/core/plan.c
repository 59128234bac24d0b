#include "plan.h"

#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "plan_internal.h"
#include "template.h"
#include "text.h"

#define PLAN_REFERENCE_MAX_BYTES 255
#define PLAN_PERCENT_ONE 10000 /* ten-thousandths of a percent per percent */
#define PLAN_PERCENT_MAX (100 * PLAN_PERCENT_ONE)

/* ======================= park reasons ======================= */

/* Sets *park_reason to a new sentence; CN_INVALID, or CN_ERR without memory. */
int plan_park(char **park_reason, struct cn_error *err, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int length;

	va_start(ap, fmt);
	length = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (length < 0) {
		error_set(err, "out of memory while planning");
		return CN_ERR;
	}
	if (park_reason != NULL) {
		free(*park_reason);
		*park_reason = text;
	} else {
		free(text);
	}
	return CN_INVALID;
}

const char *plan_mapping_path(const struct mapping *mapping)
{
	return mapping != NULL && mapping->path != NULL ? mapping->path : "the mapping file";
}

void plan_format_cents(int64_t cents, char *out, size_t out_size)
{
	uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, out_size, "%s%llu.%02llu", cents < 0 ? "-" : "",
	         (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
}

/* ======================= money and percentages ======================= */

int plan_percentage_parse(const char *text, int64_t *out)
{
	int64_t whole = 0;
	int64_t fraction = 0;
	int fraction_digits = 0;
	const char *p = text;
	int digits = 0;

	if (text == NULL)
		return CN_INVALID;
	while (*p >= '0' && *p <= '9') {
		if (digits >= 4)
			return CN_INVALID;
		whole = whole * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0)
		return CN_INVALID;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return CN_INVALID;
		while (*p >= '0' && *p <= '9') {
			if (fraction_digits < 4) {
				fraction = fraction * 10 + (*p - '0');
				fraction_digits++;
			} else if (*p != '0') {
				return CN_INVALID; /* more precision than any VAT rate has */
			}
			p++;
		}
	}
	if (*p != '\0')
		return CN_INVALID;
	while (fraction_digits < 4) {
		fraction *= 10;
		fraction_digits++;
	}
	whole = whole * PLAN_PERCENT_ONE + fraction;
	if (whole > PLAN_PERCENT_MAX)
		return CN_INVALID;
	*out = whole;
	return CN_OK;
}

/* round(numerator / denominator) half away from zero, for numerator >= 0. */
static int64_t round_div(int64_t numerator, int64_t denominator)
{
	return (2 * numerator + denominator) / (2 * denominator);
}

int64_t plan_tax_cents(int64_t amount_cents, int64_t percentage, bool included)
{
	int64_t denominator = 100 * PLAN_PERCENT_ONE + (included ? percentage : 0);
	int64_t magnitude;
	int64_t quotient;
	int64_t remainder;
	int64_t tax;

	if (percentage <= 0 || percentage > PLAN_PERCENT_MAX || amount_cents == 0)
		return 0;
	if (amount_cents == INT64_MIN)
		amount_cents++; /* out of any real range; keeps the negation defined */
	magnitude = amount_cents < 0 ? -amount_cents : amount_cents;
	/* a*p/d = q*p + r*p/d with a = q*d + r: exact, and no product overflows */
	quotient = magnitude / denominator;
	remainder = magnitude % denominator;
	tax = quotient * percentage + round_div(remainder * percentage, denominator);
	return amount_cents < 0 ? -tax : tax;
}

/* ======================= contact key ======================= */

void plan_contact_key(const char *match_ref, char out[PLAN_CONTACT_KEY_LENGTH + 1])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	uint64_t number = 0;
	size_t i;

	if (match_ref == NULL)
		match_ref = "";
	SHA256((const unsigned char *)match_ref, strlen(match_ref), digest);
	for (i = 0; i < 8; i++)
		number = number << 8 | digest[i];
	snprintf(out, PLAN_CONTACT_KEY_LENGTH + 1, "9%017llu",
	         (unsigned long long)(number % 100000000000000000ULL));
}

/* ======================= contact ======================= */

static const char *const peppol_schemes[] = {
    "0002", "0007", "0009", "0037", "0060", "0088", "0096", "0097", "0106", "0130", "0135", "0142",
    "0151", "0183", "0184", "0188", "0190", "0191", "0192", "0193", "0195", "0196", "0198", "0199",
    "0200", "0201", "0204", "0205", "0208", "0209", "0210", "0211", "0212", "0213", "0215", "0216",
    "0221", "0230", "9910", "9913", "9914", "9915", "9918", "9919", "9920", "9922", "9923", "9924",
    "9925", "9926", "9927", "9928", "9929", "9930", "9931", "9932", "9933", "9934", "9935", "9936",
    "9937", "9938", "9939", "9940", "9941", "9942", "9943", "9944", "9945", "9946", "9947", "9948",
    "9949", "9950", "9951", "9952", "9953", "9957", "9959", NULL};

/* Owns text in the contact and returns it; NULL for an empty value. */
static const char *contact_own(struct plan_contact *contact, char *text, bool *out_of_memory)
{
	if (text == NULL) {
		*out_of_memory = true;
		return NULL;
	}
	if (text[0] == '\0' ||
	    contact->owned_count == sizeof(contact->owned) / sizeof(contact->owned[0])) {
		free(text);
		return NULL;
	}
	contact->owned[contact->owned_count++] = text;
	return text;
}

static const char *contact_copy(struct plan_contact *contact, const char *text, bool *out_of_memory)
{
	return contact_own(contact, text_trimmed_copy(text), out_of_memory);
}

/*
 * Splits a Peppol participant id into Moneybird's si_identifier_type and
 * si_identifier. Returns false (and leaves them unset) when it cannot.
 */
bool plan_peppol_split(const char *peppol_id, char *scheme, size_t scheme_size,
                       const char **identifier)
{
	static const char prefix[] = "iso6523-actorid-upis::";
	const char *colon;
	size_t i;

	if (strncasecmp(peppol_id, prefix, sizeof(prefix) - 1) == 0)
		peppol_id += sizeof(prefix) - 1;
	colon = strchr(peppol_id, ':');
	if (colon == NULL || colon[1] == '\0' || (size_t)(colon - peppol_id) + 1 > scheme_size)
		return false;
	memcpy(scheme, peppol_id, (size_t)(colon - peppol_id));
	scheme[colon - peppol_id] = '\0';
	for (i = 0; peppol_schemes[i] != NULL; i++)
		if (strcmp(scheme, peppol_schemes[i]) == 0)
			break;
	if (peppol_schemes[i] == NULL)
		return false;
	for (i = 1; colon[i] != '\0'; i++)
		if ((unsigned char)colon[i] <= ' ')
			return false;
	*identifier = colon + 1;
	return true;
}

static bool country_ok(const char *country)
{
	return strlen(country) == 2 && country[0] >= 'A' && country[0] <= 'Z' &&
	       country[1] >= 'A' && country[1] <= 'Z';
}

int plan_contact(const struct bookto_order *order, const struct mapping *mapping,
                 struct plan_contact **out, char **park_reason, struct cn_error *err)
{
	struct plan_contact *contact = NULL;
	struct mb_contact_request *req;
	bool oom = false;
	char *peppol = NULL;
	char *country = NULL;
	char *note = NULL;
	int status = CN_ERR;

	*out = NULL;
	if (order == NULL || text_blank(order->match_ref)) {
		status = plan_park(park_reason, err,
		                   "the order has no buyer.match_ref (no VAT number, Peppol id or "
		                   "email), so its Moneybird contact cannot be keyed");
		goto out;
	}
	contact = calloc(1, sizeof(*contact));
	peppol = text_trimmed_copy(order->buyer_peppol_id);
	country = text_trimmed_copy(order->buyer_country);
	if (contact == NULL || peppol == NULL || country == NULL)
		goto oom;
	req = &contact->request;
	plan_contact_key(order->match_ref, contact->customer_id);
	req->customer_id = contact->customer_id;

	req->company_name = contact_copy(contact, order->buyer_company, &oom);
	req->firstname = contact_copy(contact, order->buyer_first_name, &oom);
	req->lastname = contact_copy(contact, order->buyer_last_name, &oom);
	req->send_invoices_to_email = contact_copy(contact, order->buyer_email, &oom);
	/* Moneybird needs a company name or a first or last name. */
	if (req->company_name == NULL && req->firstname == NULL && req->lastname == NULL)
		req->company_name = req->send_invoices_to_email != NULL
		                        ? req->send_invoices_to_email
		                        : contact_copy(contact, order->match_ref, &oom);
	req->address1 = contact_copy(contact, order->buyer_address, &oom);
	req->address2 = contact_copy(contact, order->buyer_address2, &oom);
	req->zipcode = contact_copy(contact, order->buyer_postal_code, &oom);
	req->city = contact_copy(contact, order->buyer_city, &oom);
	req->tax_number = contact_copy(contact, order->buyer_vat_number, &oom);
	if (country_ok(country)) {
		req->country = contact_copy(contact, country, &oom);
	} else if (country[0] != '\0' &&
	           asprintf(&note,
	                    "buyer.country \"%.16s\" is not an ISO 3166 alpha-2 code; the "
	                    "contact is created without a country",
	                    country) < 0) {
		note = NULL;
		goto oom;
	}
	if (peppol[0] != '\0') {
		char scheme[8];
		const char *identifier = NULL;

		if (plan_peppol_split(peppol, scheme, sizeof(scheme), &identifier)) {
			req->si_identifier_type = contact_copy(contact, scheme, &oom);
			req->si_identifier = contact_copy(contact, identifier, &oom);
		} else {
			free(note);
			if (asprintf(&note,
			             "buyer.peppol_id \"%.80s\" is not SCHEME:IDENTIFIER with a "
			             "scheme Moneybird accepts (such as 0106 for a Dutch KVK "
			             "number); the contact is created without a Peppol id",
			             peppol) < 0) {
				note = NULL;
				goto oom;
			}
		}
	}
	if (mapping == NULL || mapping->search_existing_contacts) {
		contact->search_tax_number = req->tax_number;
		contact->search_email = req->send_invoices_to_email;
	}
	contact->note = note;
	note = NULL;
	if (oom)
		goto oom;
	*out = contact;
	contact = NULL;
	status = CN_OK;
	goto out;
oom:
	status = CN_ERR;
	error_set(err, "out of memory while planning the contact");
out:
	free(peppol);
	free(country);
	free(note);
	plan_contact_free(contact);
	return status;
}

void plan_contact_free(struct plan_contact *contact)
{
	size_t i;

	if (contact == NULL)
		return;
	for (i = 0; i < contact->owned_count; i++)
		free(contact->owned[i]);
	free(contact->note);
	free(contact);
}

/* ======================= invoice ======================= */

int plan_reference(const struct bookto_order *order, const struct mapping *mapping, char **out,
                   char **park_reason, struct cn_error *err)
{
	const char *template = mapping != NULL && mapping->reference_template != NULL
	                           ? mapping->reference_template
	                           : MAPPING_REFERENCE_DEFAULT;
	char *text = NULL;
	char *trimmed = NULL;
	bool too_big = false;
	int status;

	*out = NULL;
	text = template_render(order, template, &too_big);
	if (text == NULL && !too_big) {
		error_set(err, "out of memory while planning the reference");
		return CN_ERR;
	}
	/* A reference is one line: the template's lines are joined with spaces. */
	if (text != NULL)
		for (char *p = text; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
	trimmed = text_trimmed_copy(text != NULL ? text : "");
	free(text);
	if (trimmed == NULL) {
		error_set(err, "out of memory while planning the reference");
		return CN_ERR;
	}
	if (too_big || strlen(trimmed) > PLAN_REFERENCE_MAX_BYTES) {
		status = plan_park(
		    park_reason, err,
		    "the invoice reference from invoice.reference in %s is longer than %d "
		    "bytes; use a shorter template",
		    plan_mapping_path(mapping), PLAN_REFERENCE_MAX_BYTES);
		free(trimmed);
		return status;
	}
	if (trimmed[0] == '\0') {
		status = plan_park(
		    park_reason, err,
		    "the invoice reference from invoice.reference (\"%s\") in %s is empty "
		    "for this order (no order_number or order_id)",
		    template, plan_mapping_path(mapping));
		free(trimmed);
		return status;
	}
	*out = trimmed;
	return CN_OK;
}

static const char *choose_ledger_account(const struct bookto_order *order,
                                         const struct mapping *mapping,
                                         const struct mapping_vat_treatment *entry)
{
	size_t i;

	if (mapping == NULL)
		return NULL;
	for (i = 0; i < mapping->product_ledger_count; i++)
		if (strcmp(mapping->product_ledgers[i].product_name, order->product_name) == 0)
			return mapping->product_ledgers[i].ledger_account_id;
	if (entry->ledger_account_id != NULL)
		return entry->ledger_account_id;
	return mapping->ledger_account_id;
}

/*
 * The checks before an invoice can be planned: the vat_treatment's mapping,
 * bookto's percentage, paid_at and currency, and the Moneybird tax rate with
 * the same percentage. 0 with *entry, *rate and *percentage; else a park
 * status.
 */
static int invoice_prerequisites(const struct bookto_order *order, const struct mapping *mapping,
                                 const struct mb_tax_rate *tax_rates, size_t tax_rate_count,
                                 const struct mapping_vat_treatment **entry_out,
                                 const struct mb_tax_rate **rate_out, int64_t *percentage,
                                 char **park_reason, struct cn_error *err)
{
	const struct mapping_vat_treatment *entry;
	const struct mb_tax_rate *rate = NULL;
	int64_t rate_percentage = 0;
	int status;

	entry = mapping_find_vat_treatment(mapping, order->vat_treatment);
	if (entry == NULL) {
		if (text_blank(order->vat_treatment))
			return plan_park(
			    park_reason, err,
			    "the order has no vat_treatment; bookto must send one (such as "
			    "\"standard\") before it can be booked");
		return plan_park(
		    park_reason, err,
		    "no mapping for vat_treatment \"%.64s\": add vat_treatments.%.64s to %s",
		    order->vat_treatment, order->vat_treatment, plan_mapping_path(mapping));
	}
	if (plan_percentage_parse(order->vat_rate_text, percentage) != 0)
		return plan_park(park_reason, err,
		                 "amount.vat_rate \"%.32s\" is not a percentage from 0 to 100",
		                 order->vat_rate_text);
	if (!order->paid_at_valid)
		return plan_park(park_reason, err,
		                 "paid_at \"%.40s\" is not a usable time, so the invoice date is "
		                 "unknown",
		                 order->paid_at_text);
	if (text_blank(order->currency))
		return plan_park(park_reason, err, "amount.currency is missing");

	status = plan_choose_tax_rate(order, mapping, entry, tax_rates, tax_rate_count, *percentage,
	                              &rate, park_reason, err);
	if (status != CN_OK)
		return status;
	if (plan_percentage_parse(rate->percentage, &rate_percentage) != 0)
		return plan_park(park_reason, err,
		                 "tax rate \"%.60s\" (id %s) has no usable percentage (\"%s\") in "
		                 "Moneybird; map vat_treatments.%s to another rate in %s",
		                 rate->name, rate->id, rate->percentage, entry->treatment,
		                 plan_mapping_path(mapping));
	if (rate_percentage != *percentage)
		return plan_park(
		    park_reason, err,
		    "vat_treatment \"%s\" maps to tax rate \"%.60s\" with %s %%, but "
		    "bookto's vat_rate is %s %%; fix vat_treatments.%s in %s or the order",
		    entry->treatment, rate->name, rate->percentage, order->vat_rate_text,
		    entry->treatment, plan_mapping_path(mapping));
	*entry_out = entry;
	*rate_out = rate;
	return CN_OK;
}

/* Renders the line description into invoice->description and checks its
 * length. 0, a park status, or CN_ERR without memory. */
static int invoice_description(const struct bookto_order *order, const struct mapping *mapping,
                               struct plan_invoice *invoice, char **park_reason,
                               struct cn_error *err)
{
	const char *template = mapping->description_template != NULL ? mapping->description_template
	                                                             : MAPPING_DESCRIPTION_DEFAULT;
	bool too_big = false;
	size_t characters;

	invoice->description = template_render(order, template, &too_big);
	if (invoice->description == NULL && !too_big) {
		error_set(err, "out of memory while planning the invoice");
		return CN_ERR;
	}
	characters = invoice->description != NULL ? text_utf8_characters(invoice->description) : 0;
	if (too_big)
		return plan_park(park_reason, err,
		                 "the invoice line description is longer than %d bytes, more "
		                 "than invoice.description_max_length (%zu) in %s allows; "
		                 "shorten invoice.description",
		                 TEMPLATE_RENDER_MAX_BYTES, mapping->description_max_length,
		                 plan_mapping_path(mapping));
	if (characters > mapping->description_max_length)
		return plan_park(park_reason, err,
		                 "the invoice line description is %zu characters, more than "
		                 "invoice.description_max_length (%zu) in %s allows; shorten "
		                 "invoice.description or raise "
		                 "invoice.description_max_length",
		                 characters, mapping->description_max_length,
		                 plan_mapping_path(mapping));
	if (invoice->description[0] == '\0')
		return plan_park(park_reason, err,
		                 "the invoice line description from invoice.description in %s is "
		                 "empty for this order; add text that is always there, such as "
		                 "{order_number}",
		                 plan_mapping_path(mapping));
	return CN_OK;
}

/* Copies the chosen ids and points the request and its one line into the
 * invoice. False without memory. */
static bool invoice_fill(struct plan_invoice *invoice, const struct bookto_order *order,
                         const struct mapping *mapping, const struct mapping_vat_treatment *entry,
                         const struct mb_tax_rate *rate, const char *contact_id)
{
	const struct plan_totals *model =
	    invoice->basis.incl ? &invoice->basis.incl_model : &invoice->basis.excl_model;
	bool oom = false;

	invoice->currency = text_copy(order->currency, &oom);
	invoice->contact_id = text_copy(contact_id, &oom);
	invoice->tax_rate_id = text_copy(rate->id, &oom);
	invoice->tax_rate_name = text_copy(rate->name, &oom);
	invoice->ledger_account_id = text_copy(choose_ledger_account(order, mapping, entry), &oom);
	invoice->workflow_id = text_copy(mapping->workflow_id, &oom);
	invoice->document_style_id = text_copy(mapping->document_style_id, &oom);
	if (oom)
		return false;

	invoice->line.description = invoice->description;
	invoice->line.price_cents =
	    invoice->basis.incl ? order->total_incl_cents : order->excl_vat_cents;
	invoice->line.amount = "1";
	invoice->line.tax_rate_id = invoice->tax_rate_id;
	invoice->line.ledger_account_id = invoice->ledger_account_id;
	invoice->order_total_incl_cents = order->total_incl_cents;

	invoice->request.contact_id = invoice->contact_id;
	invoice->request.reference = invoice->reference;
	invoice->request.invoice_date = invoice->invoice_date;
	invoice->request.currency = invoice->currency;
	invoice->request.prices_are_incl_tax = invoice->basis.incl;
	invoice->request.lines = &invoice->line;
	invoice->request.line_count = 1;
	invoice->request.workflow_id = invoice->workflow_id;
	invoice->request.document_style_id = invoice->document_style_id;

	invoice->total_excl_cents = model->excl_cents;
	invoice->total_tax_cents = model->tax_cents;
	invoice->total_incl_cents = model->incl_cents;
	return true;
}

int plan_invoice(const struct bookto_order *order, const struct mapping *mapping,
                 const struct mb_tax_rate *tax_rates, size_t tax_rate_count,
                 const struct plan_zone *zone, const char *contact_id, struct plan_invoice **out,
                 char **park_reason, struct cn_error *err)
{
	struct plan_invoice *invoice = NULL;
	const struct mapping_vat_treatment *entry = NULL;
	const struct mb_tax_rate *rate = NULL;
	int64_t percentage = 0;
	int status;

	*out = NULL;
	if (order == NULL || mapping == NULL) {
		error_set(err, "plan_invoice needs an order and a mapping");
		return CN_ERR;
	}
	status = invoice_prerequisites(order, mapping, tax_rates, tax_rate_count, &entry, &rate,
	                               &percentage, park_reason, err);
	if (status != CN_OK)
		return status;

	invoice = calloc(1, sizeof(*invoice));
	if (invoice == NULL)
		goto oom;
	if (plan_local_date(zone, order->paid_at_epoch, invoice->invoice_date) != 0) {
		status =
		    plan_park(park_reason, err, "paid_at \"%.40s\" is outside the years 1 to 9999",
		              order->paid_at_text);
		goto out;
	}
	status = plan_reference(order, mapping, &invoice->reference, park_reason, err);
	if (status != CN_OK)
		goto out;
	status = invoice_description(order, mapping, invoice, park_reason, err);
	if (status != CN_OK)
		goto out;
	/* The basis decides the line's price; it parks the order when neither
	 * allowed basis gives bookto's figures. */
	status = plan_price_basis(order, mapping, percentage, &invoice->basis, park_reason, err);
	if (status != CN_OK)
		goto out;
	if (!invoice_fill(invoice, order, mapping, entry, rate, contact_id))
		goto oom;
	*out = invoice;
	invoice = NULL;
	status = CN_OK;
	goto out;
oom:
	status = CN_ERR;
	error_set(err, "out of memory while planning the invoice");
out:
	plan_invoice_free(invoice);
	return status;
}

int plan_invoice_set_contact(struct plan_invoice *invoice, const char *contact_id,
                             struct cn_error *err)
{
	char *copy = strdup(contact_id);

	if (copy == NULL) {
		error_set(err, "out of memory while planning the invoice");
		return CN_ERR;
	}
	free(invoice->contact_id);
	invoice->contact_id = copy;
	invoice->request.contact_id = copy;
	return CN_OK;
}

void plan_invoice_free(struct plan_invoice *invoice)
{
	if (invoice == NULL)
		return;
	free(invoice->reference);
	free(invoice->description);
	free(invoice->currency);
	free(invoice->contact_id);
	free(invoice->tax_rate_id);
	free(invoice->ledger_account_id);
	free(invoice->workflow_id);
	free(invoice->document_style_id);
	free(invoice->tax_rate_name);
	free(invoice);
}

int plan_check_created_total(const struct plan_invoice *plan, int64_t created_total_incl_cents,
                             int64_t created_total_excl_cents, const char *created_invoice_id,
                             char **park_reason)
{
	char created[32], expected[32], created_excl[32], expected_excl[32];
	const char *id = created_invoice_id != NULL ? created_invoice_id : "(unknown id)";

	if (plan == NULL)
		return plan_park(park_reason, NULL,
		                 "no invoice plan to check the created total against");
	plan_format_cents(created_total_incl_cents, created, sizeof(created));
	plan_format_cents(plan->order_total_incl_cents, expected, sizeof(expected));
	if (created_total_incl_cents != plan->order_total_incl_cents)
		return plan_park(
		    park_reason, NULL,
		    "Moneybird's total %s for draft invoice %s differs from bookto's "
		    "total_incl %s; check the draft's tax rate and prices in Moneybird "
		    "before it is sent",
		    created, id, expected);
	/* The incl split is Moneybird's (unconfirmed); the booked VAT must be bookto's. */
	if (created_total_excl_cents != plan->order_total_incl_cents - plan->total_tax_cents) {
		plan_format_cents(created_total_excl_cents, created_excl, sizeof(created_excl));
		plan_format_cents(plan->order_total_incl_cents - plan->total_tax_cents,
		                  expected_excl, sizeof(expected_excl));
		return plan_park(
		    park_reason, NULL,
		    "Moneybird split draft invoice %s's total %s (prices %s VAT) into excl "
		    "%s, but bookto's excl_vat is %s, so the VAT differs; correct the "
		    "draft in Moneybird before it is sent",
		    id, created, plan->basis.incl ? "incl." : "excl.", created_excl, expected_excl);
	}
	return CN_OK;
}

/* ======================= payment, send, test orders ======================= */

int plan_payment(const struct bookto_order *order, const struct mapping *mapping,
                 const struct plan_zone *zone, struct plan_payment **out, char **park_reason,
                 struct cn_error *err)
{
	struct plan_payment *payment = NULL;
	const struct mapping_payment_provider *provider;
	const char *action = NULL;
	const char *account = NULL;
	bool oom = false;
	int status = CN_ERR;

	*out = NULL;
	if (order == NULL) {
		error_set(err, "plan_payment needs an order");
		return CN_ERR;
	}
	if (text_blank(order->order_id))
		return plan_park(park_reason, err,
		                 "the order has no order_id to use as the payment's "
		                 "transaction_identifier");
	if (!order->paid_at_valid)
		return plan_park(
		    park_reason, err,
		    "paid_at \"%.40s\" is not a usable time, so the payment date is unknown",
		    order->paid_at_text);
	payment = calloc(1, sizeof(*payment));
	if (payment == NULL)
		goto oom;
	if (plan_local_date(zone, order->paid_at_epoch, payment->payment_date) != 0) {
		status =
		    plan_park(park_reason, err, "paid_at \"%.40s\" is outside the years 1 to 9999",
		              order->paid_at_text);
		goto out;
	}
	provider = mapping_find_provider(mapping, order->payment_provider);
	if (provider != NULL) {
		action = provider->manual_payment_action;
		account = provider->financial_account_id;
	}
	if (mapping != NULL) {
		if (action == NULL)
			action = mapping->manual_payment_action;
		if (account == NULL)
			account = mapping->financial_account_id;
	}
	payment->transaction_identifier = text_copy(order->order_id, &oom);
	payment->manual_payment_action = text_copy(action, &oom);
	payment->financial_account_id = text_copy(account, &oom);
	if (oom)
		goto oom;
	payment->request.payment_date = payment->payment_date;
	payment->request.price_cents = order->total_incl_cents;
	payment->request.transaction_identifier = payment->transaction_identifier;
	payment->request.manual_payment_action = payment->manual_payment_action;
	payment->request.financial_account_id = payment->financial_account_id;
	*out = payment;
	payment = NULL;
	status = CN_OK;
	goto out;
oom:
	status = CN_ERR;
	error_set(err, "out of memory while planning the payment");
out:
	plan_payment_free(payment);
	return status;
}

void plan_payment_free(struct plan_payment *payment)
{
	if (payment == NULL)
		return;
	free(payment->transaction_identifier);
	free(payment->manual_payment_action);
	free(payment->financial_account_id);
	free(payment);
}

const char *plan_send_method(const struct mapping *mapping)
{
	return mapping_send_method_name(mapping != NULL ? mapping->send_method
	                                                : MAPPING_SEND_MANUAL);
}

struct plan_contact_search plan_contact_search(const struct plan_contact *contact)
{
	struct plan_contact_search search = {NULL, MB_CONTACT_FIELD_EMAIL, "email address"};

	if (contact->search_tax_number != NULL && contact->search_tax_number[0] != '\0') {
		search.query = contact->search_tax_number;
		search.field = MB_CONTACT_FIELD_TAX_NUMBER;
		search.field_name = "VAT number";
	} else if (contact->search_email != NULL && contact->search_email[0] != '\0') {
		search.query = contact->search_email;
	}
	return search;
}

char *plan_ambiguous_contact_reason(size_t matches, const struct plan_contact_search *search,
                                    const char *customer_id)
{
	char *reason = NULL;

	/* Never guess and never merge: a person picks the right one. */
	if (asprintf(&reason,
	             "%zu Moneybird contacts have this buyer's %s; merge them or give one "
	             "customer_id %s, then retry",
	             matches, search->field_name, customer_id) < 0)
		return NULL;
	return reason;
}

enum plan_test_policy plan_test_order_policy(const struct bookto_order *order,
                                             const struct mapping *mapping)
{
	if (order == NULL || !order->is_test_order)
		return PLAN_SYNC;
	if (mapping != NULL && mapping->test_orders == MAPPING_TEST_ORDERS_SYNC)
		return PLAN_SYNC;
	return PLAN_SKIP;
}
