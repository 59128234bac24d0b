/* The JSON request bodies of Moneybird writes (see mb_json.h). */
#include <inttypes.h>
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

char *mb_json_contact_body(const struct mb_contact_request *req, struct cn_error *err)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *contact = cJSON_AddObjectToObject(root, "contact");
	bool ok = contact != NULL;

	if (!present(req->company_name) && !present(req->firstname) && !present(req->lastname)) {
		cJSON_Delete(root);
		error_set(err, "a contact needs a company name or a first or last name");
		return NULL;
	}
	ok = ok && add_text(contact, "company_name", req->company_name);
	ok = ok && add_text(contact, "firstname", req->firstname);
	ok = ok && add_text(contact, "lastname", req->lastname);
	ok = ok && add_text(contact, "address1", req->address1);
	ok = ok && add_text(contact, "address2", req->address2);
	ok = ok && add_text(contact, "zipcode", req->zipcode);
	ok = ok && add_text(contact, "city", req->city);
	ok = ok && add_text(contact, "country", req->country);
	ok = ok && add_text(contact, "send_invoices_to_email", req->send_invoices_to_email);
	ok = ok && add_text(contact, "tax_number", req->tax_number);
	ok = ok && add_text(contact, "si_identifier", req->si_identifier);
	ok = ok && add_text(contact, "si_identifier_type", req->si_identifier_type);
	ok = ok && add_text(contact, "customer_id", req->customer_id);
	return finish_body(root, ok, err);
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
	root = cJSON_CreateObject();
	invoice = cJSON_AddObjectToObject(root, "sales_invoice");
	ok = invoice != NULL;
	ok = ok && add_text(invoice, "contact_id", req->contact_id);
	ok = ok && add_text(invoice, "reference", req->reference);
	ok = ok && add_text(invoice, "invoice_date", req->invoice_date);
	ok = ok && add_text(invoice, "currency", req->currency);
	ok = ok && cJSON_AddBoolToObject(invoice, "prices_are_incl_tax",
	                                 req->prices_are_incl_tax) != NULL;
	ok = ok && add_text(invoice, "workflow_id", req->workflow_id);
	ok = ok && add_text(invoice, "document_style_id", req->document_style_id);
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
	root = cJSON_CreateObject();
	payment = cJSON_AddObjectToObject(root, "payment");
	ok = payment != NULL;
	ok = ok && add_text(payment, "payment_date", req->payment_date);
	ok = ok && add_money(payment, "price", req->price_cents);
	ok = ok && add_text(payment, "transaction_identifier", req->transaction_identifier);
	ok = ok && add_text(payment, "manual_payment_action", req->manual_payment_action);
	ok = ok && add_text(payment, "financial_account_id", req->financial_account_id);
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
	root = cJSON_CreateObject();
	sending = cJSON_AddObjectToObject(root, "sales_invoice_sending");
	ok = sending != NULL && add_text(sending, "delivery_method", delivery_method);
	return finish_body(root, ok, err);
}

char *mb_json_webhook_body(const char *url, const char *const *events, size_t event_count,
                           struct cn_error *err)
{
	cJSON *root;
	cJSON *list;
	bool ok;
	size_t i;

	if (!present(url)) {
		error_set(err, "a webhook needs a URL");
		return NULL;
	}
	root = cJSON_CreateObject();
	ok = add_text(root, "url", url);
	list = ok ? cJSON_AddArrayToObject(root, "enabled_events") : NULL;
	ok = ok && list != NULL;
	for (i = 0; ok && i < event_count; i++) {
		cJSON *event = cJSON_CreateString(events[i]);

		ok = event != NULL && cJSON_AddItemToArray(list, event);
	}
	return finish_body(root, ok, err);
}

char *mb_json_ids_body(const char *const *ids, size_t id_count, struct cn_error *err)
{
	cJSON *root;
	cJSON *list;
	bool ok;
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
	list = cJSON_AddArrayToObject(root, "ids");
	ok = list != NULL;
	for (i = 0; ok && i < id_count; i++) {
		cJSON *id = cJSON_CreateString(ids[i]);

		ok = id != NULL && cJSON_AddItemToArray(list, id);
	}
	return finish_body(root, ok, err);
}
