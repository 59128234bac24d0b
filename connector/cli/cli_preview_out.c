#include "cli_preview.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli_ops_common.h"

const char *const preview_resolution_names[] = {
    "unknown", "mapped", "found_by_customer_id", "found_by_search", "ambiguous", "would_create"};

const char *preview_verdict(const struct preview *p)
{
	if (!p->paid_order)
		return "ignore";
	if (p->test_skip)
		return "skip";
	if (p->reason_count > 0)
		return "park";
	if (!p->rates_known)
		return "unknown";
	return "sync";
}

static void json_add_text(cJSON *object, const char *name, const char *value)
{
	cJSON_AddItemToObject(object, name, cli_ops_json_string_or_null(value));
}

static cJSON *json_copy_or_null(const cJSON *item)
{
	return item != NULL ? cJSON_Duplicate(item, 1) : cJSON_CreateNull();
}

static cJSON *preview_requests_json(const struct preview_requests *r)
{
	cJSON *requests = cJSON_CreateObject();

	cJSON_AddItemToObject(requests, "contact", json_copy_or_null(r->contact));
	cJSON_AddItemToObject(requests, "sales_invoice", json_copy_or_null(r->sales_invoice));
	cJSON_AddItemToObject(requests, "send_invoice", json_copy_or_null(r->send_invoice));
	cJSON_AddItemToObject(requests, "payment", json_copy_or_null(r->payment));
	return requests;
}

static void preview_json_contact(cJSON *root, const struct preview *p)
{
	const struct bookto_order *order = p->order;

	if (p->contact != NULL) {
		const struct mb_contact_request *c = &p->contact->request;
		cJSON *contact = cJSON_AddObjectToObject(root, "contact");

		cJSON_AddStringToObject(contact, "match_ref", order->match_ref);
		cJSON_AddStringToObject(contact, "customer_id", p->contact->customer_id);
		json_add_text(contact, "company_name", c->company_name);
		json_add_text(contact, "firstname", c->firstname);
		json_add_text(contact, "lastname", c->lastname);
		json_add_text(contact, "address1", c->address1);
		json_add_text(contact, "address2", c->address2);
		json_add_text(contact, "zipcode", c->zipcode);
		json_add_text(contact, "city", c->city);
		json_add_text(contact, "country", c->country);
		json_add_text(contact, "send_invoices_to_email", c->send_invoices_to_email);
		json_add_text(contact, "tax_number", c->tax_number);
		json_add_text(contact, "si_identifier", c->si_identifier);
		json_add_text(contact, "si_identifier_type", c->si_identifier_type);
		json_add_text(contact, "search_tax_number", p->contact->search_tax_number);
		json_add_text(contact, "search_email", p->contact->search_email);
		json_add_text(contact, "note", p->contact->note);
		cJSON_AddStringToObject(contact, "resolution",
		                        preview_resolution_names[p->resolution]);
		json_add_text(contact, "contact_id", p->contact_id);
		json_add_text(contact, "resolution_error", p->resolution_error);
	} else {
		cJSON_AddNullToObject(root, "contact");
	}
}

static void preview_json_invoice(cJSON *root, const struct preview *p)
{
	if (p->invoice != NULL) {
		const struct plan_invoice *inv = p->invoice;
		cJSON *invoice = cJSON_AddObjectToObject(root, "invoice");

		cJSON_AddStringToObject(invoice, "reference", inv->reference);
		cJSON_AddStringToObject(invoice, "invoice_date", inv->invoice_date);
		json_add_text(invoice, "currency", inv->currency);
		cJSON_AddBoolToObject(invoice, "prices_are_incl_tax",
		                      inv->request.prices_are_incl_tax);
		cJSON_AddStringToObject(invoice, "price_basis", inv->basis.incl ? "incl" : "excl");
		cJSON_AddStringToObject(invoice, "price_basis_why", inv->basis.why);
		json_add_text(invoice, "tax_rate_id", inv->tax_rate_id);
		json_add_text(invoice, "tax_rate_name", inv->tax_rate_name);
		json_add_text(invoice, "ledger_account_id", inv->ledger_account_id);
		json_add_text(invoice, "workflow_id", inv->workflow_id);
		json_add_text(invoice, "document_style_id", inv->document_style_id);
		json_add_text(invoice, "description", inv->description);
		cJSON_AddNumberToObject(invoice, "line_price_cents", (double)inv->line.price_cents);
		cJSON_AddNumberToObject(invoice, "total_excl_cents", (double)inv->total_excl_cents);
		cJSON_AddNumberToObject(invoice, "total_tax_cents", (double)inv->total_tax_cents);
		cJSON_AddNumberToObject(invoice, "total_incl_cents", (double)inv->total_incl_cents);
	} else {
		cJSON_AddNullToObject(root, "invoice");
	}
}

static void preview_json_totals(cJSON *root, const struct preview *p)
{
	const struct bookto_order *order = p->order;
	cJSON *totals;

	totals = cJSON_AddObjectToObject(root, "totals_check");
	cJSON_AddNumberToObject(totals, "bookto_total_incl_cents", (double)order->total_incl_cents);
	if (p->invoice != NULL) {
		cJSON_AddNumberToObject(totals, "planned_total_incl_cents",
		                        (double)p->invoice->total_incl_cents);
		cJSON_AddBoolToObject(totals, "matches", true);
		cJSON_AddStringToObject(totals, "checked_against", "moneybird_tax_rate");
	} else if (p->local_check_done) {
		const struct plan_basis *basis = &p->local_basis;

		/* the basis sync would use, or (none fits) the excl computation */
		cJSON_AddNumberToObject(totals, "planned_total_incl_cents",
		                        (double)(p->local_check_ok && basis->incl
		                                     ? basis->incl_model.incl_cents
		                                     : basis->excl_model.incl_cents));
		cJSON_AddBoolToObject(totals, "matches", p->local_check_ok);
		cJSON_AddStringToObject(totals, "checked_against", "vat_rate");
		if (p->local_check_ok) {
			cJSON_AddStringToObject(totals, "price_basis",
			                        basis->incl ? "incl" : "excl");
			cJSON_AddStringToObject(totals, "price_basis_why", basis->why);
		}
	} else {
		cJSON_AddNullToObject(totals, "planned_total_incl_cents");
		cJSON_AddNullToObject(totals, "matches");
		cJSON_AddNullToObject(totals, "checked_against");
	}
}

cJSON *preview_json(const struct preview *p)
{
	const struct bookto_order *order = p->order;
	cJSON *root = cJSON_CreateObject();
	cJSON *reasons = cJSON_CreateArray();

	cJSON_AddStringToObject(root, "connection", p->connection->name);
	cJSON_AddStringToObject(root, "event", order->event);
	json_add_text(root, "order_id", order->order_id);
	json_add_text(root, "order_number", order->order_number);
	cJSON_AddStringToObject(root, "verdict", preview_verdict(p));
	for (size_t i = 0; i < p->reason_count; i++)
		cJSON_AddItemToArray(reasons, cJSON_CreateString(p->reasons[i]));
	cJSON_AddItemToObject(root, "park_reasons", reasons);
	cJSON_AddBoolToObject(root, "test_order", order->is_test_order);
	cJSON_AddStringToObject(root, "test_order_policy", p->test_skip ? "skip" : "sync");
	cJSON_AddBoolToObject(root, "moneybird_reachable", p->rates_known);
	json_add_text(root, "moneybird_error", p->rates_known ? NULL : p->rates_error);
	if (!p->paid_order)
		return root;
	preview_json_contact(root, p);
	preview_json_invoice(root, p);
	json_add_text(root, "reference", p->invoice != NULL ? p->invoice->reference : p->reference);
	cJSON_AddStringToObject(root, "send_method", p->delivery.method);
	cJSON_AddStringToObject(root, "send_method_chosen_by", p->delivery.why);
	if (p->payment != NULL) {
		cJSON *payment = cJSON_AddObjectToObject(root, "payment");

		cJSON_AddStringToObject(payment, "payment_date", p->payment->payment_date);
		cJSON_AddNumberToObject(payment, "price_cents",
		                        (double)p->payment->request.price_cents);
		json_add_text(payment, "transaction_identifier",
		              p->payment->transaction_identifier);
		json_add_text(payment, "manual_payment_action", p->payment->manual_payment_action);
		json_add_text(payment, "financial_account_id", p->payment->financial_account_id);
	} else {
		cJSON_AddNullToObject(root, "payment");
	}
	preview_json_totals(root, p);
	cJSON_AddItemToObject(root, "requests", preview_requests_json(&p->requests));
	return root;
}

/* A request body, pretty-printed and indented under its block. */
static void print_body(const char *request, const cJSON *body)
{
	char *text;

	if (body == NULL)
		return;
	text = cJSON_Print(body);
	if (text == NULL)
		return;
	printf("  request body (%s):\n    ", request);
	/* cJSON indents with tabs and puts one after each colon. */
	for (const char *c = text; *c != '\0'; c++) {
		if (*c == '\t')
			fputs(c == text || c[-1] == '\n' || c[-1] == '\t' ? "  " : " ", stdout);
		else if (*c == '\n')
			fputs("\n    ", stdout);
		else
			putchar(*c);
	}
	putchar('\n');
	cJSON_free(text);
}

/* One line on how sync would find the contact. */
static void print_resolution(const struct preview *p)
{
	switch (p->resolution) {
	case PREVIEW_CONTACT_MAPPED:
		cli_ops_field("resolution", "mapped already: contact %s (no call)", p->contact_id);
		break;
	case PREVIEW_CONTACT_FOUND:
		cli_ops_field("resolution", "found by customer_id: contact %s", p->contact_id);
		break;
	case PREVIEW_CONTACT_SEARCHED:
		cli_ops_field("resolution", "found by the exact search: contact %s is adopted",
		              p->contact_id);
		break;
	case PREVIEW_CONTACT_AMBIGUOUS:
		cli_ops_field("resolution", "the search finds several contacts: parked");
		break;
	case PREVIEW_CONTACT_CREATE:
		cli_ops_field("resolution",
		              "would be created (not mapped, not found by customer_id or "
		              "search)");
		break;
	default:
		cli_ops_field("resolution",
		              "unknown (%s): created unless found by customer_id or search",
		              p->resolution_error[0] != '\0' ? p->resolution_error
		                                             : "Moneybird was not asked");
	}
}

static void preview_print_contact(const struct preview *p)
{
	const struct bookto_order *order = p->order;

	if (p->contact != NULL) {
		const struct mb_contact_request *ct = &p->contact->request;

		printf("\nContact (found by customer_id, else by search, else created)\n");
		cli_ops_field("match_ref", "%s", order->match_ref);
		cli_ops_field("customer_id", "%s", p->contact->customer_id);
		cli_ops_field("company name", "%s", cli_ops_or_dash(ct->company_name));
		cli_ops_field("name", "%s %s", ct->firstname != NULL ? ct->firstname : "",
		              ct->lastname != NULL ? ct->lastname : "");
		cli_ops_field("address", "%s%s%s, %s %s, %s", cli_ops_or_dash(ct->address1),
		              ct->address2 != NULL && ct->address2[0] != '\0' ? " " : "",
		              ct->address2 != NULL ? ct->address2 : "",
		              cli_ops_or_dash(ct->zipcode), cli_ops_or_dash(ct->city),
		              cli_ops_or_dash(ct->country));
		cli_ops_field("email", "%s", cli_ops_or_dash(ct->send_invoices_to_email));
		cli_ops_field("tax number", "%s", cli_ops_or_dash(ct->tax_number));
		if (ct->si_identifier != NULL)
			cli_ops_field("Peppol", "%s %s", cli_ops_or_dash(ct->si_identifier_type),
			              ct->si_identifier);
		if (p->contact->search_tax_number != NULL || p->contact->search_email != NULL)
			cli_ops_field("search", "tax number %s, then email %s",
			              cli_ops_or_dash(p->contact->search_tax_number),
			              cli_ops_or_dash(p->contact->search_email));
		if (p->contact->note != NULL)
			cli_ops_field("note", "%s", p->contact->note);
		print_resolution(p);
		print_body("POST contacts", p->requests.contact);
	}
}

static void preview_print_invoice(const struct preview *p)
{
	char a[24], b[24], c[24];

	printf("\nSales invoice\n");
	if (p->invoice != NULL) {
		const struct plan_invoice *inv = p->invoice;

		cli_ops_field("reference", "%s", inv->reference);
		cli_ops_field("invoice date", "%s", inv->invoice_date);
		cli_ops_field("currency", "%s", cli_ops_or_dash(inv->currency));
		cli_ops_field("tax rate", "%s (id %s)", cli_ops_or_dash(inv->tax_rate_name),
		              cli_ops_or_dash(inv->tax_rate_id));
		cli_ops_field("ledger account", "%s", cli_ops_or_dash(inv->ledger_account_id));
		cli_ops_field("workflow", "%s", cli_ops_or_dash(inv->workflow_id));
		cli_ops_field("document style", "%s", cli_ops_or_dash(inv->document_style_id));
		plan_format_cents(inv->line.price_cents, a, sizeof(a));
		cli_ops_field("line", "1 x %s (%s VAT)", a,
		              inv->request.prices_are_incl_tax ? "incl." : "excl.");
		cli_ops_field("price basis", "%s, chosen by %s", inv->basis.incl ? "incl" : "excl",
		              inv->basis.why);
		cli_ops_field("description", "%s", cli_ops_or_dash(inv->description));
		plan_format_cents(inv->total_excl_cents, a, sizeof(a));
		plan_format_cents(inv->total_tax_cents, b, sizeof(b));
		plan_format_cents(inv->total_incl_cents, c, sizeof(c));
		cli_ops_field("totals check", "%s + %s = %s: equals bookto's total_incl", a, b, c);
		print_body("POST sales_invoices", p->requests.sales_invoice);
	} else {
		cli_ops_field("reference", "%s", cli_ops_or_dash(p->reference));
		if (p->local_check_done) {
			cli_ops_field("price basis", "%s",
			              p->local_check_ok ? (p->local_basis.incl ? "incl" : "excl")
			                                : "none reproduces bookto's figures");
			if (p->local_check_ok)
				cli_ops_field("", "chosen by %s", p->local_basis.why);
			cli_ops_field("totals check", "%s",
			              p->local_check_ok ? "equal to bookto's figures"
			                                : "DIFFERENT");
		} else {
			cli_ops_field("totals check", "not possible (see the reasons below)");
		}
	}
}

void preview_print(const struct preview *p)
{
	const struct bookto_order *order = p->order;
	const char *verdict = preview_verdict(p);
	char a[24], b[24], c[24];

	printf("Preview of order %s (number %s) for connection %s; nothing is written.\n",
	       cli_ops_or_dash(order->order_id), cli_ops_or_dash(order->order_number),
	       p->connection->name);
	if (!p->paid_order) {
		printf("\nThe event is \"%s\", not order.paid: the delivery would be kept as "
		       "ignored and no order made.\n",
		       order->event);
		return;
	}
	if (!p->rates_known)
		printf("\nMoneybird could not be reached (%s): the tax rate is not known, so the "
		       "invoice is not planned and the totals are checked against vat_rate only.\n",
		       p->rates_error);
	printf("\nOrder\n");
	plan_format_cents(order->total_incl_cents, a, sizeof(a));
	plan_format_cents(order->excl_vat_cents, b, sizeof(b));
	plan_format_cents(order->vat_cents, c, sizeof(c));
	cli_ops_field("amount", "%s %s incl. VAT (%s excl. + %s VAT at %s %%, %s)", a,
	              order->currency, b, c, cli_ops_or_dash(order->vat_rate_text),
	              cli_ops_or_dash(order->vat_treatment));
	cli_ops_field("paid at", "%s", cli_ops_or_dash(order->paid_at_text));
	cli_ops_field("test order", "%s",
	              order->is_test_order
	                  ? (p->test_skip ? "yes: skipped under the mapping's policy"
	                                  : "yes: synced under the mapping's policy")
	                  : "no");
	preview_print_contact(p);
	preview_print_invoice(p);
	printf("\nSend\n");
	cli_ops_field("delivery method", "%s, chosen by %s", p->delivery.method, p->delivery.why);
	print_body("PATCH sales_invoices/{id}/send_invoice", p->requests.send_invoice);
	printf("\nPayment\n");
	if (p->payment != NULL) {
		plan_format_cents(p->payment->request.price_cents, a, sizeof(a));
		cli_ops_field("date", "%s", p->payment->payment_date);
		cli_ops_field("price", "%s", a);
		cli_ops_field("transaction id", "%s",
		              cli_ops_or_dash(p->payment->transaction_identifier));
		cli_ops_field("manual action", "%s",
		              cli_ops_or_dash(p->payment->manual_payment_action));
		cli_ops_field("financial account", "%s",
		              cli_ops_or_dash(p->payment->financial_account_id));
		print_body("POST sales_invoices/{id}/payments", p->requests.payment);
	} else {
		cli_ops_field("payment", "not planned (see the reasons below)");
	}
	printf("\n");
	if (strcmp(verdict, "sync") == 0)
		printf("Verdict: would sync (contact, invoice, send, payment).\n");
	else if (strcmp(verdict, "skip") == 0)
		printf("Verdict: would be skipped (a test order under the skip policy).\n");
	else if (strcmp(verdict, "unknown") == 0)
		printf("Verdict: would sync if Moneybird has the tax rate the mapping asks for.\n");
	else
		printf("Verdict: would be parked needs_attention:\n");
	for (size_t i = 0; i < p->reason_count; i++)
		printf("  - %s\n", p->reasons[i]);
}
