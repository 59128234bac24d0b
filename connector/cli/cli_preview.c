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
#include "contact_index.h"
#include "intake.h"
#include "mapping.h"
#include "mb_client.h"
#include "mb_json.h"
#include "mb_session.h"
#include "migrations.h"
#include "plan.h"
#include "spool.h"
#include "store.h"
#include "store_ops.h"
#include "store_sync.h"

#include "cli_ops_common.h"
#include "cli_preview.h"

/* ---- preview ---- */

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

/* A planning step's outcome as sync would take it: CN_INVALID keeps its
 * reason (the order would park) and goes on; true when the preview may go
 * on, false when the step failed outright (err says why). */
static bool preview_step(struct preview *p, int rc, char **reason)
{
	if (rc == CN_INVALID)
		preview_reason(p, *reason);
	*reason = NULL;
	return rc == CN_OK || rc == CN_INVALID;
}

static void preview_free(struct preview *p)
{
	for (size_t i = 0; i < p->reason_count; i++)
		free(p->reasons[i]);
	mb_session_close(&p->session);
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
	struct mb_session_options options = {.priority = BUDGET_BACKGROUND,
	                                     .max_wait_ms = PREVIEW_BUDGET_WAIT_MS,
	                                     .timeout_ms = 10000};
	struct cn_error err = {""};
	int rc = store_connect(config->database_conninfo, &p->db, &err);

	if (rc == CN_OK)
		rc = mb_session_open(&p->session, p->connection, p->db, &options, &err);
	if (rc != CN_OK) {
		cli_one_line(err.message);
		fprintf(stderr,
		        "bookto-moneybird: warning: %s; calling Moneybird without the shared rate "
		        "budget\n",
		        err.message);
		PQfinish(p->db);
		p->db = NULL;
		mb_session_close(&p->session);
		rc = mb_session_open(&p->session, p->connection, NULL, &options, &err);
	}
	p->client = p->session.client;
	if (rc != CN_OK) {
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

/* The index's answer as sync reads it; false when it could not be read. */
static bool preview_index_match(struct preview *p)
{
	const char *administration_id = p->connection->moneybird_administration_id;
	struct contact_index_match match;
	struct cn_error err = {""};
	/* As sync would for an order arriving now. */
	enum mb_outcome outcome =
	    contact_index_refresh(p->client, p->db, administration_id, contact_index_now_ms(),
	                          CONTACT_INDEX_MAX_AGE_SECONDS, &err);

	if (outcome != MB_OK) {
		preview_lookup_failed(p, "refreshing the contact index", &err);
		return false;
	}
	if (contact_index_match(p->db, administration_id, p->contact,
	                        p->mapping == NULL || p->mapping->search_existing_contacts, &match,
	                        &err) != CN_OK) {
		preview_lookup_failed(p, "reading the contact index", &err);
		return false;
	}
	if (match.matches > 1) {
		preview_ambiguous(p, match.matches, &match.search);
	} else if (match.matches == 1) {
		snprintf(p->contact_id, sizeof(p->contact_id), "%s", match.contact_id);
		p->resolution =
		    match.by_customer_id ? PREVIEW_CONTACT_FOUND : PREVIEW_CONTACT_SEARCHED;
	}
	return true;
}

/* Without the database (so without the index): one exact search, as sync
 * did before it had the index. */
static bool preview_search(struct preview *p)
{
	struct plan_contact_search search = plan_contact_search(p->contact);
	struct mb_contact found;
	struct cn_error err = {""};
	size_t matches = 0;
	enum mb_outcome outcome;

	if (search.query == NULL)
		return true;
	outcome =
	    mb_contact_search(p->client, search.query, search.field, false, &found, &matches, &err);
	if (outcome == MB_OK && matches > 1) {
		preview_ambiguous(p, matches, &search);
	} else if (outcome == MB_OK) {
		snprintf(p->contact_id, sizeof(p->contact_id), "%s", found.id);
		p->resolution = PREVIEW_CONTACT_SEARCHED;
	} else if (outcome != MB_NOT_FOUND) {
		preview_lookup_failed(p, "searching for an existing contact", &err);
		return false;
	}
	return true;
}

/*
 * The contact as sync's resolve_contact finds it, with the same steps, read
 * only: the local map, then the contact index (refreshed as sync would), and
 * where sync would create the contact, GET contacts/customer_id/{key}: a
 * contact found there is the one sync's create would be refused for and
 * then adopt. Lookups go through the shared rate budget.
 */
static void preview_resolve_contact(struct preview *p)
{
	const struct plan_contact *plan = p->contact;
	const char *administration_id = p->connection->moneybird_administration_id;
	struct mb_contact found;
	struct cn_error err = {""};
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
	if (!(p->db != NULL ? preview_index_match(p) : preview_search(p)) ||
	    p->resolution != PREVIEW_CONTACT_UNKNOWN)
		return;
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
	if (!preview_step(p, plan_contact(order, p->mapping, &p->contact, &reason, &err), &reason))
		return cli_fail("%s", err.message);

	preview_connect(config, p);
	preview_fetch_rates(p);
	if (p->contact != NULL)
		preview_resolve_contact(p);
	if (p->rates_known) {
		rc = plan_invoice(order, p->mapping, p->rates, p->rate_count, p->zone,
		                  preview_known_contact_id(p), &p->invoice, &reason, &err);
		if (!preview_step(p, rc, &reason))
			return cli_fail("%s", err.message);
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
		if (!preview_step(p, rc, &reason))
			return cli_fail("%s", err.message);
	}
	rc = plan_payment(order, p->mapping, p->zone, &p->payment, &reason, &err);
	if (!preview_step(p, rc, &reason))
		return cli_fail("%s", err.message);
	preview_build_requests(p);
	return CLI_EXIT_OK;
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
