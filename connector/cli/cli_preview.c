#include "cli_ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bookto.h"
#include "budget.h"
#include "cli_common.h"
#include "intake.h"
#include "mapping.h"
#include "mb_client.h"
#include "mb_json.h"
#include "migrations.h"
#include "plan.h"
#include "spool.h"
#include "store.h"
#include "store_ops.h"
#include "store_sync.h"

#include "cli_ops_common.h"

/* ---- preview ---- */

#define PREVIEW_BUDGET_WAIT_MS 15000
#define PREVIEW_MAX_REASONS 8

/* Stands for the id of a contact that sync would create first (README). */
#define PREVIEW_CONTACT_ID_PLACEHOLDER "<contact id>"

/* How sync would find the buyer's contact (resolve_contact in sync.c). */
enum preview_resolution {
	PREVIEW_CONTACT_UNKNOWN,   /* Moneybird was not asked (unreachable) */
	PREVIEW_CONTACT_MAPPED,    /* the local map has it: no call */
	PREVIEW_CONTACT_FOUND,     /* GET contacts/customer_id/{key} finds it */
	PREVIEW_CONTACT_SEARCHED,  /* the exact search adopts a hand-made one */
	PREVIEW_CONTACT_AMBIGUOUS, /* the search finds several: parked */
	PREVIEW_CONTACT_CREATE,    /* none anywhere: POST contacts */
};

static const char *const resolution_names[] = {
    "unknown", "mapped", "found_by_customer_id", "found_by_search", "ambiguous", "would_create"};

/* The exact request bodies sync would send, as parsed JSON (owned). */
struct preview_requests {
	cJSON *contact;       /* POST contacts; NULL when the contact is reused */
	cJSON *sales_invoice; /* POST sales_invoices */
	cJSON *send_invoice;  /* PATCH sales_invoices/{id}/send_invoice */
	cJSON *payment;       /* POST sales_invoices/{id}/payments */
};

struct preview {
	const struct connection_config *connection;
	const struct mapping *mapping;
	struct bookto_order *order;
	bool paid_order;
	bool test_skip;
	char *reasons[PREVIEW_MAX_REASONS]; /* why it would be parked (owned) */
	size_t reason_count;
	/* Read-only access: the contact map, the shared rate budget, Moneybird. */
	PGconn *db;
	struct budget_gate gate;
	struct mb_client *client;
	bool rates_known;
	char rates_error[512];
	enum preview_resolution resolution;
	char contact_id[STORE_ID_MAX]; /* known when mapped or found */
	char resolution_error[512];
	struct preview_requests requests;
	struct plan_delivery delivery; /* the send method, chosen as sync chooses it */
	struct mb_tax_rate *rates;
	size_t rate_count;
	struct plan_zone *zone;
	struct plan_contact *contact;
	struct plan_invoice *invoice;
	struct plan_payment *payment;
	char *reference; /* when the invoice could not be planned */
	/* The price basis without Moneybird's rates (plan_price_basis alone). */
	bool local_check_done;
	bool local_check_ok;
	struct plan_basis local_basis;
	char currency[8]; /* the administration's; "" when unknown */
};

static void preview_reason(struct preview *p, char *reason)
{
	if (reason == NULL)
		return;
	if (p->reason_count == PREVIEW_MAX_REASONS) {
		free(reason);
		return;
	}
	p->reasons[p->reason_count++] = reason;
}

static void preview_free(struct preview *p)
{
	for (size_t i = 0; i < p->reason_count; i++)
		free(p->reasons[i]);
	mb_client_free(p->client);
	PQfinish(p->db);
	cJSON_Delete(p->requests.contact);
	cJSON_Delete(p->requests.sales_invoice);
	cJSON_Delete(p->requests.send_invoice);
	cJSON_Delete(p->requests.payment);
	bookto_order_free(p->order);
	free(p->rates);
	plan_zone_free(p->zone);
	plan_contact_free(p->contact);
	plan_invoice_free(p->invoice);
	plan_payment_free(p->payment);
	free(p->reference);
}

/* The database (contact map, shared rate budget) and a Moneybird client that
 * calls through the budget when the database is reachable. Failures are
 * reported, not fatal: preview then says what it could not know. */
static void preview_connect(const struct config *config, struct preview *p)
{
	const struct connection_config *cc = p->connection;
	struct budget_limits limits = {cc->moneybird_rate_limit_requests,
	                               cc->moneybird_rate_limit_per_seconds, 0};
	struct mb_client_options options;
	struct cn_error err = {""};

	memset(&options, 0, sizeof(options));
	options.base_url = cc->moneybird_base_url;
	options.administration_id = cc->moneybird_administration_id;
	options.api_token = cc->moneybird_api_token;
	options.timeout_ms = 10000;
	if (store_connect(config->database_conninfo, &p->db, &err) == CN_OK &&
	    budget_gate_init(&p->gate, p->db, cc->moneybird_api_token, &limits, BUDGET_BACKGROUND,
	                     PREVIEW_BUDGET_WAIT_MS, &err) == CN_OK) {
		budget_gate_hooks(&p->gate, &options.hooks);
	} else {
		cli_one_line(err.message);
		fprintf(stderr,
		        "bookto-moneybird: warning: %s; calling Moneybird without the shared rate "
		        "budget\n",
		        err.message);
		PQfinish(p->db);
		p->db = NULL;
	}
	if (mb_client_create(&options, &p->client, &err) != CN_OK) {
		snprintf(p->rates_error, sizeof(p->rates_error), "%s", err.message);
		p->client = NULL;
	}
}

/* Moneybird's sales tax rates; a failure is reported, not fatal. */
static void preview_fetch_rates(struct preview *p)
{
	struct cn_error err = {""};

	if (p->client == NULL)
		return;
	if (mb_tax_rates_list(p->client, &p->rates, &p->rate_count, &err) != MB_OK) {
		cli_one_line(err.message);
		snprintf(p->rates_error, sizeof(p->rates_error), "%s", err.message);
		return;
	}
	p->rates_known = true;
}

/* The administration's currency against the order's, as sync checks it. */
static void preview_currency(struct preview *p)
{
	struct mb_administration *administrations = NULL;
	struct cn_error err = {""};
	char *reason = NULL;
	size_t count = 0;

	if (p->client == NULL ||
	    mb_administrations_list(p->client, &administrations, &count, &err) != MB_OK)
		return;
	for (size_t i = 0; i < count; i++)
		if (strcmp(administrations[i].id, p->connection->moneybird_administration_id) == 0)
			snprintf(p->currency, sizeof(p->currency), "%s",
			         administrations[i].currency);
	free(administrations);
	if (p->currency[0] != '\0' && p->order->currency != NULL && p->order->currency[0] != '\0' &&
	    plan_check_currency(p->order, p->currency, &reason, &err) == CN_INVALID)
		preview_reason(p, reason);
}

/* A failed lookup leaves the resolution unknown, with Moneybird's answer. */
static void preview_lookup_failed(struct preview *p, const char *what, struct cn_error *err)
{
	cli_one_line(err->message);
	snprintf(p->resolution_error, sizeof(p->resolution_error), "%s: %s", what, err->message);
	p->resolution = PREVIEW_CONTACT_UNKNOWN;
}

/* Several contacts match the search: sync parks the order with this reason. */
static void preview_ambiguous(struct preview *p, size_t matches,
                              const struct plan_contact_search *search)
{
	p->resolution = PREVIEW_CONTACT_AMBIGUOUS;
	preview_reason(p, plan_ambiguous_contact_reason(matches, search, p->contact->customer_id));
}

/*
 * The contact as sync's resolve_contact finds it, with the same read-only
 * steps: the local map, then GET contacts/customer_id/{key}, then one exact
 * search on the field match_ref rests on; only when all three come back empty
 * would sync create it. Lookups go through the shared rate budget.
 */
static void preview_resolve_contact(struct preview *p)
{
	const struct plan_contact *plan = p->contact;
	const char *administration_id = p->connection->moneybird_administration_id;
	struct plan_contact_search search = plan_contact_search(plan);
	struct mb_contact found;
	struct cn_error err = {""};
	size_t matches = 0;
	enum mb_outcome outcome;
	int rc;

	p->resolution = PREVIEW_CONTACT_UNKNOWN;
	if (p->db != NULL) {
		rc = store_contact_find(p->db, administration_id, p->order->match_ref,
		                        p->contact_id, &err);
		if (rc == CN_OK) {
			p->resolution = PREVIEW_CONTACT_MAPPED;
			return;
		}
		if (rc != CN_NOT_FOUND) {
			preview_lookup_failed(p, "reading the contact map", &err);
			return;
		}
	}
	if (p->client == NULL || !p->rates_known)
		return; /* Moneybird is not reachable: rates_error says why */
	outcome = mb_contact_get_by_customer_id(p->client, plan->customer_id, &found, &err);
	if (outcome == MB_OK) {
		snprintf(p->contact_id, sizeof(p->contact_id), "%s", found.id);
		p->resolution = PREVIEW_CONTACT_FOUND;
		return;
	}
	if (outcome != MB_NOT_FOUND) {
		preview_lookup_failed(p, "looking up the contact by customer_id", &err);
		return;
	}
	if (search.query != NULL) {
		outcome = mb_contact_search(p->client, search.query, search.field, false, &found,
		                            &matches, &err);
		if (outcome == MB_OK && matches > 1) {
			preview_ambiguous(p, matches, &search);
			return;
		}
		if (outcome == MB_OK) {
			snprintf(p->contact_id, sizeof(p->contact_id), "%s", found.id);
			p->resolution = PREVIEW_CONTACT_SEARCHED;
			return;
		}
		if (outcome != MB_NOT_FOUND) {
			preview_lookup_failed(p, "searching for an existing contact", &err);
			return;
		}
	}
	p->resolution = PREVIEW_CONTACT_CREATE;
}

/* The contact id the invoice would carry; NULL until sync has created it. */
static const char *preview_known_contact_id(const struct preview *p)
{
	return p->contact_id[0] != '\0' ? p->contact_id : NULL;
}

/* Parses a body built by mb_json; a builder's refusal (which would refuse the
 * request in sync too) becomes a park reason. */
static cJSON *preview_body(struct preview *p, const char *what, char *text, struct cn_error *err)
{
	cJSON *body;
	char *reason = NULL;

	if (text == NULL) {
		if (asprintf(&reason, "the %s request cannot be built: %s", what, err->message) < 0)
			reason = NULL;
		preview_reason(p, reason);
		return NULL;
	}
	body = cJSON_Parse(text);
	cJSON_free(text);
	return body;
}

/*
 * The request bodies, built by the same mb_json functions mb_client sends
 * with, from the same plans sync makes, so they cannot drift from what sync
 * sends. The invoice of a contact still to be created carries
 * PREVIEW_CONTACT_ID_PLACEHOLDER as its contact_id.
 */
static void preview_build_requests(struct preview *p)
{
	struct preview_requests *r = &p->requests;
	struct cn_error err = {""};

	/* Unknown: created unless Moneybird, once reachable, has it after all. */
	if (p->contact != NULL &&
	    (p->resolution == PREVIEW_CONTACT_CREATE || p->resolution == PREVIEW_CONTACT_UNKNOWN))
		r->contact = preview_body(p, "contact",
		                          mb_json_contact_body(&p->contact->request, &err), &err);
	if (p->invoice != NULL) {
		/* The builder insists on a Moneybird id: a contact still to be
		 * created gets a stand-in, replaced by the placeholder below. */
		struct mb_invoice_request request = p->invoice->request;
		bool placeholder = request.contact_id == NULL || request.contact_id[0] == '\0';

		if (placeholder)
			request.contact_id = "1";
		r->sales_invoice =
		    preview_body(p, "sales invoice", mb_json_invoice_body(&request, &err), &err);
		if (r->sales_invoice != NULL && placeholder)
			cJSON_ReplaceItemInObjectCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(r->sales_invoice, "sales_invoice"),
			    "contact_id", cJSON_CreateString(PREVIEW_CONTACT_ID_PLACEHOLDER));
	}
	r->send_invoice =
	    preview_body(p, "send invoice", mb_json_send_body(p->delivery.method, &err), &err);
	if (p->payment != NULL)
		r->payment = preview_body(p, "payment",
		                          mb_json_payment_body(&p->payment->request, &err), &err);
}

static int preview_plan(const struct config *config, struct preview *p)
{
	const struct bookto_order *order = p->order;
	struct cn_error err = {""};
	char *reason = NULL;
	int rc;

	plan_delivery(order, p->mapping, &p->delivery);
	if (order->park_reason != NULL)
		preview_reason(p, strdup(order->park_reason));
	if (order->vat_treatment[0] != '\0' &&
	    mapping_find_vat_treatment(p->mapping, order->vat_treatment) == NULL) {
		char *text = NULL;

		if (asprintf(&text,
		             "no mapping for vat_treatment \"%.64s\": add vat_treatments.%.64s "
		             "to %s",
		             order->vat_treatment, order->vat_treatment, p->mapping->path) >= 0)
			preview_reason(p, text);
	}
	p->test_skip = plan_test_order_policy(order, p->mapping) == PLAN_SKIP;
	if (plan_zone_load(p->connection->time_zone, &p->zone, &err) != CN_OK) {
		cli_one_line(err.message);
		return cli_fail("connection %s: %s", p->connection->name, err.message);
	}
	rc = plan_contact(order, p->mapping, &p->contact, &reason, &err);
	if (rc == CN_INVALID)
		preview_reason(p, reason);
	else if (rc != CN_OK)
		return cli_fail("%s", err.message);
	reason = NULL;

	preview_connect(config, p);
	preview_fetch_rates(p);
	if (p->contact != NULL)
		preview_resolve_contact(p);
	if (p->rates_known) {
		rc = plan_invoice(order, p->mapping, p->rates, p->rate_count, p->zone,
		                  preview_known_contact_id(p), &p->invoice, &reason, &err);
		if (rc == CN_INVALID)
			preview_reason(p, reason);
		else if (rc != CN_OK)
			return cli_fail("%s", err.message);
		reason = NULL;
	} else {
		int64_t percentage = 0;

		if (plan_percentage_parse(order->vat_rate_text, &percentage) == CN_OK) {
			p->local_check_done = true;
			rc = plan_price_basis(order, p->mapping, percentage, &p->local_basis,
			                      &reason, &err);
			if (rc == CN_ERR)
				return cli_fail("%s", err.message);
			p->local_check_ok = rc == CN_OK;
			preview_reason(p, reason);
			reason = NULL;
		}
	}
	/* What sync decides before its first write: currency and send method. */
	preview_currency(p);
	if (plan_check_delivery(order, &p->delivery, &reason, &err) == CN_ERR)
		return cli_fail("%s", err.message);
	preview_reason(p, reason);
	reason = NULL;
	if (p->invoice == NULL) {
		rc = plan_reference(order, p->mapping, &p->reference, &reason, &err);
		if (rc == CN_INVALID)
			preview_reason(p, reason);
		else if (rc != CN_OK)
			return cli_fail("%s", err.message);
		reason = NULL;
	}
	rc = plan_payment(order, p->mapping, p->zone, &p->payment, &reason, &err);
	if (rc == CN_INVALID)
		preview_reason(p, reason);
	else if (rc != CN_OK)
		return cli_fail("%s", err.message);
	preview_build_requests(p);
	return CLI_EXIT_OK;
}

static const char *preview_verdict(const struct preview *p)
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

static cJSON *preview_json(const struct preview *p)
{
	const struct bookto_order *order = p->order;
	cJSON *root = cJSON_CreateObject();
	cJSON *reasons = cJSON_CreateArray();
	cJSON *totals;

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
		cJSON_AddStringToObject(contact, "resolution", resolution_names[p->resolution]);
		json_add_text(contact, "contact_id", p->contact_id);
		json_add_text(contact, "resolution_error", p->resolution_error);
	} else {
		cJSON_AddNullToObject(root, "contact");
	}
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

static void preview_print(const struct preview *p)
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

int cli_ops_preview(const struct config *config, int argc, char **argv)
{
	struct cli_ops_args args;
	struct preview p;
	struct mapping *mapping = NULL;
	struct cn_error err = {""};
	unsigned char *body = NULL;
	size_t body_len = 0;
	size_t index = 0;
	FILE *file = NULL;
	int rc = cli_ops_parse_args(argc, argv, "connection json", &args);

	if (rc != CLI_EXIT_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	if (args.positional_count != 1)
		return cli_usage(cli_ops_usage_text, "preview takes one FILE, or - for stdin");
	rc = cli_ops_pick_connection(config, "preview", args.connection, &index);
	if (rc != CLI_EXIT_OK)
		return rc;
	p.connection = &config->connections[index];
	if (mapping_load(p.connection->mapping_path, &mapping, stderr, &err) != CN_OK)
		return cli_usage(cli_ops_usage_text,
		                 "the mapping of connection %s is not valid: %s",
		                 p.connection->name, err.message);
	p.mapping = mapping;
	file = strcmp(args.positional[0], "-") == 0 ? stdin : fopen(args.positional[0], "rb");
	if (file == NULL) {
		rc = cli_fail("%s: %s", args.positional[0], strerror(errno));
		goto out;
	}
	if (cli_ops_read_file_capped(file, (size_t)config->http_max_body_bytes, &body, &body_len) !=
	    CN_OK) {
		rc = cli_fail("%s cannot be read", args.positional[0]);
		goto out;
	}
	if ((long)body_len > config->http_max_body_bytes) {
		rc = cli_fail(
		    "%s is larger than http.max_body_bytes (%ld): the webhook would answer "
		    "413",
		    args.positional[0], config->http_max_body_bytes);
		goto out;
	}
	if (bookto_parse_order((const char *)body, body_len, &p.order, &err) != CN_OK) {
		rc = cli_fail(
		    "%s is not a JSON object (%s): the webhook would answer 400 and keep it "
		    "as invalid_json",
		    args.positional[0], err.message);
		goto out;
	}
	p.paid_order = strcmp(p.order->event, "order.paid") == 0;
	if (p.paid_order) {
		rc = preview_plan(config, &p);
		if (rc != CLI_EXIT_OK)
			goto out;
	}
	if (args.json) {
		cJSON *root = preview_json(&p);

		cli_ops_print_json(root);
		cJSON_Delete(root);
	} else {
		preview_print(&p);
	}
	rc = CLI_EXIT_OK;
out:
	if (file != NULL && file != stdin)
		fclose(file);
	free(body);
	preview_free(&p);
	mapping_free(mapping);
	return rc;
}
