/*
 * The planner: a parsed bookto order plus the connection's mapping, its
 * Moneybird tax rates and its time zone become the exact Moneybird requests
 * (contact, sales invoice, payment) that mb_client sends, with every amount
 * in integer cents and the invoice total checked against bookto's before
 * anything is written. Pure: no network, no database, no clock; the only I/O
 * is plan_zone_load(), which reads a time zone file once per connection.
 * Anything that cannot be planned comes back as a park reason: one sentence a
 * bookkeeper can act on, naming the mapping key to add or the figure to check.
 * The sync engine and `preview` share it, so a preview is what sync will do.
 */
#ifndef BM_PLAN_H
#define BM_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bookto.h"
#include "error.h"
#include "mapping.h"
#include "mb_types.h"
#include "tz.h"

/* ---- contacts ---- */

#define PLAN_CONTACT_KEY_LENGTH 18

/*
 * The Moneybird customer_id of a buyer, derived from match_ref alone:
 * "9" followed by the first 8 bytes of SHA-256(match_ref) read as a
 * big-endian unsigned 64-bit number, taken modulo 10^17 and written as 17
 * zero-padded decimal digits. Always 18 digits starting with 9, so it matches
 * Moneybird's `contacts/customer_id/{customer_id}` pattern (^\d+$) and can
 * never meet the small sequential numbers Moneybird assigns itself. Stable
 * forever: changing it would duplicate every known buyer.
 */
void plan_contact_key(const char *match_ref, char out[PLAN_CONTACT_KEY_LENGTH + 1]);

struct plan_contact {
	/* Ready for mb_contact_create(); points into this struct's strings. */
	struct mb_contact_request request;
	char customer_id[PLAN_CONTACT_KEY_LENGTH + 1];
	/* Exact-match searches for adopting a hand-made contact (tried in this
	 * order); NULL when contacts.search_existing is off or the buyer has none. */
	const char *search_tax_number;
	const char *search_email;
	/* Why something of the buyer was left out (e.g. a Peppol id Moneybird
	 * cannot take), for the audit/preview; NULL when nothing was. */
	char *note;
	char *owned[16]; /* the strings the pointers above refer to */
	size_t owned_count;
};

/*
 * Plans the buyer's contact. Name rule (Moneybird needs a company name or a
 * first or last name): buyer.company as company_name, with first/last name
 * as well when given; else first_name/last_name; else the email address as
 * company_name; else match_ref as company_name. The Peppol id
 * "SCHEME:IDENTIFIER" (optionally prefixed "iso6523-actorid-upis::") becomes
 * si_identifier_type SCHEME and si_identifier IDENTIFIER when SCHEME is one
 * of the codes Moneybird accepts; otherwise it is left out and `note` says so.
 * Returns 0 with *out (plan_contact_free), CN_INVALID with *park_reason
 * (caller frees) when the order has no match_ref, CN_ERR without memory.
 */
int plan_contact(const struct bookto_order *order, const struct mapping *mapping,
                 struct plan_contact **out, char **park_reason, struct cn_error *err) MUST_CHECK;
void plan_contact_free(struct plan_contact *contact);

/* ---- price basis and the checks before the first write (plan_basis.c) ---- */

/* What Moneybird computes for a one-line invoice: the planner's model. */
struct plan_totals {
	int64_t excl_cents;
	int64_t tax_cents;
	int64_t incl_cents;
};

/*
 * The planner's model of Moneybird's arithmetic for one line of
 * `price_cents` at `percentage` (ten-thousandths of a percent). Excl: tax =
 * price x rate, rounded half away from zero; incl = price + tax. Incl
 * (prices_are_incl_tax): the total is the price by construction; the excl
 * part is price / (1 + rate) rounded half away from zero (as bookto splits
 * an incl price, and as the simulator does), and the tax is the rest. How
 * Moneybird splits an incl price is unconfirmed; the readings differ only
 * where price / (1 + rate) is an exact half cent (e.g. 0.99 at 20 %), so the
 * check after creation compares the draft's figures with bookto's again.
 */
void plan_line_totals(int64_t price_cents, int64_t percentage, bool incl, struct plan_totals *out);

struct plan_basis {
	bool incl;                     /* the chosen basis: the line carries total_incl */
	bool incl_fits;                /* the incl model reproduces bookto's three figures */
	bool excl_fits;                /* the excl model does */
	struct plan_totals incl_model; /* line = total_incl */
	struct plan_totals excl_model; /* line = excl_vat */
	char why[256];                 /* why this basis, for preview and the audit */
};

/*
 * Chooses the order's price basis by the mapping's price_basis: "incl" or
 * "excl" as told; "auto" the basis under which the model reproduces bookto's
 * total_incl, excl_vat and vat to the cent, incl when both do (the buyer saw
 * the incl price). 0 with *out; CN_INVALID with *park_reason naming both
 * computations when no allowed basis reproduces them; CN_ERR without memory.
 */
int plan_price_basis(const struct bookto_order *order, const struct mapping *mapping,
                     int64_t percentage, struct plan_basis *out, char **park_reason,
                     struct cn_error *err) MUST_CHECK;

/*
 * The order's currency against the administration's (both ISO 4217; case is
 * ignored). 0 when they are the same; CN_INVALID with *park_reason naming the
 * currency and what would make it bookable: Moneybird needs the payment in
 * the administration's currency (price_base), which bookto does not send.
 */
int plan_check_currency(const struct bookto_order *order, const char *administration_currency,
                        char **park_reason, struct cn_error *err) MUST_CHECK;

/* ---- sales invoice ---- */

struct plan_invoice {
	/* Ready for mb_sales_invoice_create(); points into this struct. */
	struct mb_invoice_request request;
	struct mb_invoice_line line; /* the one line; request.lines points here */
	char *reference;
	char *description;
	char invoice_date[11];
	char *currency;
	char *contact_id; /* NULL when planned without one (preview) */
	char *tax_rate_id;
	char *ledger_account_id;
	char *workflow_id;
	char *document_style_id;
	char *tax_rate_name; /* for messages and preview */
	/* What Moneybird will compute for the planned invoice, checked equal to
	 * bookto's figures before the plan is returned. */
	int64_t total_excl_cents;
	int64_t total_tax_cents;
	int64_t total_incl_cents;
	int64_t order_total_incl_cents; /* bookto's total_incl */
	struct plan_basis basis;        /* the price basis and why */
};

/*
 * The invoice reference from invoice.reference (default the order number).
 * *out is owned by the caller; CN_INVALID with *park_reason when it renders
 * empty or longer than 255 bytes.
 */
int plan_reference(const struct bookto_order *order, const struct mapping *mapping, char **out,
                   char **park_reason, struct cn_error *err) MUST_CHECK;

/*
 * Plans the sales invoice: the tax rate by the mapping rule for the order's
 * vat_treatment (only active sales_invoice rates; percentages compared as
 * numbers, so "21.0" equals "21"), one line (description from
 * invoice.description, price total_incl or excl_vat by the price basis (see
 * plan_price_basis; prices_are_incl_tax follows it),
 * amount "1", ledger account by product, treatment, default), the reference,
 * invoice_date = paid_at's date in `zone`, currency, workflow and document
 * style. The basis is one under which Moneybird's totals for that line
 * (plan_line_totals) equal bookto's total_incl, excl_vat and vat.
 * contact_id may be NULL (preview). Returns 0 with *out (plan_invoice_free);
 * CN_INVALID with *park_reason (caller frees) for anything a person must fix;
 * CN_ERR without memory (err says so).
 */
int plan_invoice(const struct bookto_order *order, const struct mapping *mapping,
                 const struct mb_tax_rate *tax_rates, size_t tax_rate_count,
                 const struct plan_zone *zone, const char *contact_id, struct plan_invoice **out,
                 char **park_reason, struct cn_error *err) MUST_CHECK;
void plan_invoice_free(struct plan_invoice *invoice);

/* Sets the contact of an invoice planned without one (sync plans before it
 * resolves the contact). CN_ERR without memory. */
int plan_invoice_set_contact(struct plan_invoice *invoice, const char *contact_id,
                             struct cn_error *err) MUST_CHECK;

/*
 * The check after creation: the created draft's total_price_incl_tax and
 * total_price_excl_tax must equal bookto's total_incl and excl_vat (which
 * the plan reproduces), so the VAT Moneybird books is bookto's. 0 when they
 * do; CN_INVALID with *park_reason naming the draft's id and the figures.
 */
int plan_check_created_total(const struct plan_invoice *plan, int64_t created_total_incl_cents,
                             int64_t created_total_excl_cents, const char *created_invoice_id,
                             char **park_reason) MUST_CHECK;

/* ---- payment, send, test orders ---- */

struct plan_payment {
	struct mb_payment_request request; /* points into this struct */
	char payment_date[11];
	char *transaction_identifier;
	char *manual_payment_action;
	char *financial_account_id;
};

/*
 * Plans the payment: payment_date = paid_at's date in `zone`, price =
 * total_incl, transaction_identifier = order_id, manual_payment_action and
 * financial_account_id from payment.providers.<payment_provider> first, then
 * from payment. Returns like plan_invoice.
 */
int plan_payment(const struct bookto_order *order, const struct mapping *mapping,
                 const struct plan_zone *zone, struct plan_payment **out, char **park_reason,
                 struct cn_error *err) MUST_CHECK;
void plan_payment_free(struct plan_payment *payment);

/* The one exact search contact resolution makes before creating: on the
 * field match_ref rests on, the VAT number when the buyer has one, else the
 * email. */
struct plan_contact_search {
	const char *query; /* NULL: no search (none of them, or searching is off) */
	enum mb_contact_field field;
	const char *field_name; /* "VAT number" or "email address", for sentences */
};
struct plan_contact_search plan_contact_search(const struct plan_contact *contact);

/* The park reason when `matches` (> 1) contacts answer that search; the
 * caller frees it (NULL without memory). */
char *plan_ambiguous_contact_reason(size_t matches, const struct plan_contact_search *search,
                                    const char *customer_id);

/* The mapping's send_method, used when no delivery rule holds. */
const char *plan_send_method(const struct mapping *mapping);

/* An order's send_invoice delivery_method and why it was chosen. */
struct plan_delivery {
	const char *method; /* "Manual", "Email" or "Peppol" */
	size_t rule;        /* 1-based delivery_rules entry that chose it; 0 = send_method */
	char why[160];      /* e.g. "delivery rule 1 (peppol_id)" or "send_method (no delivery
	                       rule holds)" */
};

/*
 * Chooses the delivery_method: the first delivery rule whose conditions all
 * hold for the order's buyer, else the mapping's send_method. "peppol_id"
 * holds only for a Peppol id the contact can carry (see plan_contact).
 */
void plan_delivery(const struct bookto_order *order, const struct mapping *mapping,
                   struct plan_delivery *out);

/*
 * The chosen method's preconditions, known from the order alone: Peppol needs
 * a Peppol id the contact can carry (si_identifier), Email an email address.
 * 0 when they hold; CN_INVALID with *park_reason naming the rule otherwise.
 */
int plan_check_delivery(const struct bookto_order *order, const struct plan_delivery *delivery,
                        char **park_reason, struct cn_error *err) MUST_CHECK;

enum plan_test_policy { PLAN_SYNC, PLAN_SKIP };

/* PLAN_SKIP for a test order under test_orders = "skip", else PLAN_SYNC. */
enum plan_test_policy plan_test_order_policy(const struct bookto_order *order,
                                             const struct mapping *mapping);

/* ---- helpers shared with preview and tests ---- */

/* A percentage such as "21", "21.0" or "5.5" in ten-thousandths of a percent
 * (21 % -> 210000). CN_INVALID for anything else, or above 100 %. */
int plan_percentage_parse(const char *text, int64_t *out) MUST_CHECK;

/* Tax in cents on `amount_cents` at `percentage` (ten-thousandths of a
 * percent), rounded half away from zero; with `included` the tax is taken out
 * of an amount that already contains it. Exact for any bookto amount. */
int64_t plan_tax_cents(int64_t amount_cents, int64_t percentage, bool included);

/* Cents as "121.00" / "-0.05" into out (at least 24 bytes). */
void plan_format_cents(int64_t cents, char *out, size_t out_size);

#endif
