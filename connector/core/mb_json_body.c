/* The JSON request bodies of Moneybird writes (see mb_json.h). */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_json.h"

static bool present(const char *text)
{
	return text != NULL && text[0] != '\0';
}

/* Adds a string member when text is present; false on allocation failure. */
static bool add_text(cJSON *obj, const char *name, const char *text)
{
	if (!present(text))
		return true;
	return cJSON_AddStringToObject(obj, name, text) != NULL;
}

static bool add_money(cJSON *obj, const char *name, int64_t cents)
{
	char amount[32];

	if (mb_money_format(cents, amount, sizeof(amount)) != 0)
		return false;
	return cJSON_AddStringToObject(obj, name, amount) != NULL;
}

static bool id_ok_or_absent(const char *id)
{
	return !present(id) || mb_id_valid(id);
}

/* A text member of a request struct, sent under its own name when present. */
struct text_member {
	const char *name;
	size_t offset; /* of a const char * in the request */
};

#define TEXT_MEMBER(type, member)                                                                  \
	{                                                                                          \
#member, offsetof(type, member)                                                    \
	}

static bool add_texts(cJSON *obj, const void *req, const struct text_member *members, size_t count)
{
	bool ok = true;

	for (size_t i = 0; ok && i < count; i++) {
		const char *text = *(const char *const *)((const char *)req + members[i].offset);

		ok = add_text(obj, members[i].name, text);
	}
	return ok;
}

/* Adds name: [strings...]; false on allocation failure. */
static bool add_strings(cJSON *obj, const char *name, const char *const *strings, size_t count)
{
	cJSON *list = cJSON_AddArrayToObject(obj, name);
	bool ok = list != NULL;

	for (size_t i = 0; ok && i < count; i++) {
		cJSON *item = cJSON_CreateString(strings[i]);

		ok = item != NULL && cJSON_AddItemToArray(list, item);
	}
	return ok;
}

/* A new body {"name": {}}; *inner is the inner object (NULL when out of
 * memory, which finish_body then reports). */
static cJSON *new_body(const char *name, cJSON **inner)
{
	cJSON *root = cJSON_CreateObject();

	*inner = cJSON_AddObjectToObject(root, name);
	return root;
}

/* Prints root, deletes it, and reports failure. */
static char *finish_body(cJSON *root, bool ok, struct cn_error *err)
{
	char *text = NULL;

	if (ok)
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text == NULL)
		error_set(err, "out of memory building a Moneybird request");
	return text;
}

#define CONTACT(member) TEXT_MEMBER(struct mb_contact_request, member)
static const struct text_member contact_members[] = {
    CONTACT(company_name), CONTACT(firstname),     CONTACT(lastname),
    CONTACT(address1),     CONTACT(address2),      CONTACT(zipcode),
    CONTACT(city),         CONTACT(country),       CONTACT(send_invoices_to_email),
    CONTACT(tax_number),   CONTACT(si_identifier), CONTACT(si_identifier_type),
    CONTACT(customer_id)};

/* The invoice's members before prices_are_incl_tax, and after it. */
#define INVOICE(member) TEXT_MEMBER(struct mb_invoice_request, member)
static const struct text_member invoice_head[] = {INVOICE(contact_id), INVOICE(reference),
                                                  INVOICE(invoice_date), INVOICE(currency)};
static const struct text_member invoice_tail[] = {INVOICE(workflow_id), INVOICE(document_style_id)};

#define PAYMENT(member) TEXT_MEMBER(struct mb_payment_request, member)
static const struct text_member payment_members[] = {
    PAYMENT(transaction_identifier), PAYMENT(manual_payment_action), PAYMENT(financial_account_id)};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

char *mb_json_contact_body(const struct mb_contact_request *req, struct cn_error *err)
{
	cJSON *contact;
	cJSON *root;

	if (!present(req->company_name) && !present(req->firstname) && !present(req->lastname)) {
		error_set(err, "a contact needs a company name or a first or last name");
		return NULL;
	}
	root = new_body("contact", &contact);
	return finish_body(root,
	                   contact != NULL &&
	                       add_texts(contact, req, contact_members, COUNT(contact_members)),
	                   err);
}

char *mb_json_invoice_body(const struct mb_invoice_request *req, struct cn_error *err)
{
	cJSON *root = NULL;
	cJSON *invoice;
	cJSON *details;
	bool ok;
	size_t i;

	if (!mb_id_valid(req->contact_id) || !id_ok_or_absent(req->workflow_id) ||
	    !id_ok_or_absent(req->document_style_id)) {
		error_set(
		    err,
		    "the invoice's contact, workflow or document style id is not a Moneybird id");
		return NULL;
	}
	if (req->line_count == 0 || req->lines == NULL) {
		error_set(err, "an invoice needs at least one line");
		return NULL;
	}
	for (i = 0; i < req->line_count; i++) {
		if (!id_ok_or_absent(req->lines[i].tax_rate_id) ||
		    !id_ok_or_absent(req->lines[i].ledger_account_id)) {
			error_set(err,
			          "invoice line %zu has a tax rate or ledger account id that is "
			          "not a Moneybird id",
			          i + 1);
			return NULL;
		}
	}
	root = new_body("sales_invoice", &invoice);
	ok = invoice != NULL && add_texts(invoice, req, invoice_head, COUNT(invoice_head));
	ok = ok && cJSON_AddBoolToObject(invoice, "prices_are_incl_tax",
	                                 req->prices_are_incl_tax) != NULL;
	ok = ok && add_texts(invoice, req, invoice_tail, COUNT(invoice_tail));
	details = ok ? cJSON_AddArrayToObject(invoice, "details_attributes") : NULL;
	ok = ok && details != NULL;
	for (i = 0; ok && i < req->line_count; i++) {
		const struct mb_invoice_line *line = &req->lines[i];
		cJSON *detail = cJSON_CreateObject();

		ok = detail != NULL && cJSON_AddItemToArray(details, detail);
		ok = ok && add_text(detail, "description", line->description);
		ok = ok && add_money(detail, "price", line->price_cents);
		ok = ok && add_text(detail, "amount", present(line->amount) ? line->amount : "1");
		ok = ok && add_text(detail, "tax_rate_id", line->tax_rate_id);
		ok = ok && add_text(detail, "ledger_account_id", line->ledger_account_id);
	}
	return finish_body(root, ok, err);
}

char *mb_json_payment_body(const struct mb_payment_request *req, struct cn_error *err)
{
	cJSON *root;
	cJSON *payment;
	bool ok;

	if (!present(req->payment_date) || !id_ok_or_absent(req->financial_account_id)) {
		error_set(err, "a payment needs a payment date and a valid financial account id");
		return NULL;
	}
	root = new_body("payment", &payment);
	ok = payment != NULL && add_text(payment, "payment_date", req->payment_date);
	ok = ok && add_money(payment, "price", req->price_cents);
	ok = ok && add_texts(payment, req, payment_members, COUNT(payment_members));
	return finish_body(root, ok, err);
}

char *mb_json_send_body(const char *delivery_method, struct cn_error *err)
{
	cJSON *root;
	cJSON *sending;
	bool ok;

	if (delivery_method == NULL ||
	    (strcmp(delivery_method, "Email") != 0 && strcmp(delivery_method, "Peppol") != 0 &&
	     strcmp(delivery_method, "Manual") != 0)) {
		error_set(err, "the delivery method must be Email, Peppol or Manual");
		return NULL;
	}
	root = new_body("sales_invoice_sending", &sending);
	ok = sending != NULL && add_text(sending, "delivery_method", delivery_method);
	return finish_body(root, ok, err);
}

char *mb_json_webhook_body(const char *url, const char *const *events, size_t event_count,
                           struct cn_error *err)
{
	cJSON *root;
	bool ok;

	if (!present(url)) {
		error_set(err, "a webhook needs a URL");
		return NULL;
	}
	root = cJSON_CreateObject();
	ok = add_text(root, "url", url);
	ok = ok && add_strings(root, "enabled_events", events, event_count);
	return finish_body(root, ok, err);
}

char *mb_json_ids_body(const char *const *ids, size_t id_count, struct cn_error *err)
{
	cJSON *root;
	size_t i;

	if (id_count == 0 || id_count > MB_SYNC_MAX_IDS) {
		error_set(err, "a synchronization request takes 1 to %d ids, not %zu",
		          MB_SYNC_MAX_IDS, id_count);
		return NULL;
	}
	for (i = 0; i < id_count; i++) {
		if (!mb_id_valid(ids[i])) {
			error_set(err,
			          "id %zu of the synchronization request is not a Moneybird id",
			          i + 1);
			return NULL;
		}
	}
	root = cJSON_CreateObject();
	return finish_body(root, add_strings(root, "ids", ids, id_count), err);
}
