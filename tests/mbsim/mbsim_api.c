/* Moneybird endpoints: administrations, reference data, contacts, webhooks. */
#include "mbsim.h"

#include <ctype.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

cJSON *mbsim_parse_body(const struct mbsim_request *req, struct mbsim_response *resp, bool empty_ok)
{
	cJSON *json;
	const char *p = req->body;

	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	if (*p == '\0') {
		if (empty_ok)
			return cJSON_CreateObject();
		mbsim_err_plain(resp, 400, "Request body is empty");
		return NULL;
	}
	json = cJSON_ParseWithLength(req->body, req->body_len);
	if (json == NULL || !cJSON_IsObject(json)) {
		cJSON_Delete(json);
		mbsim_err_symbolic(resp, 400, "Request body is not a valid JSON object", "body",
		                   "invalid");
		return NULL;
	}
	return json;
}

const char *mbsim_query(const struct mbsim_request *req, const char *key)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->connection,
	                                   MHD_GET_ARGUMENT_KIND, key);
}

/* Strict non-negative integer query value; -1 when malformed. */
static long query_uint(const char *s)
{
	char *end = NULL;
	long v;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v > 1000000)
		return -1;
	return v;
}

struct link_ctx {
	char *buf;
	size_t len;
	size_t cap;
};

static void link_append(struct link_ctx *l, const char *s)
{
	size_t n = strlen(s);

	if (l->len + n + 1 > l->cap)
		return; /* the Link header is capped; later params are dropped */
	memcpy(l->buf + l->len, s, n + 1);
	l->len += n;
}

static void link_append_escaped(struct link_ctx *l, const char *s)
{
	char enc[4];

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			enc[0] = (char)ch;
			enc[1] = '\0';
		} else {
			snprintf(enc, sizeof(enc), "%%%02X", ch);
		}
		link_append(l, enc);
	}
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	struct link_ctx *l = cls;

	(void)kind;
	if (strcmp(key, "page") == 0 || strcmp(key, "per_page") == 0)
		return MHD_YES;
	link_append(l, "&");
	link_append_escaped(l, key);
	if (value != NULL) {
		link_append(l, "=");
		link_append_escaped(l, value);
	}
	return MHD_YES;
}

static void page_link(const struct mbsim_request *req, struct mbsim_response *resp, long page,
                      long per_page, const char *rel)
{
	char extra[512], one[700];
	struct link_ctx l = {extra, 0, sizeof(extra)};
	size_t used = strlen(resp->link);

	extra[0] = '\0';
	MHD_get_connection_values((struct MHD_Connection *)req->connection, MHD_GET_ARGUMENT_KIND,
	                          collect_query, &l);
	snprintf(one, sizeof(one), "%s<http://%s%s?page=%ld&per_page=%ld%s>; rel=\"%s\"",
	         used > 0 ? ", " : "", req->host, req->path, page, per_page, extra, rel);
	if (used + strlen(one) < sizeof(resp->link))
		memcpy(resp->link + used, one, strlen(one) + 1);
}

void mbsim_respond_page(const struct mbsim_request *req, struct mbsim_response *resp, cJSON *array,
                        unsigned default_per_page)
{
	const char *page_s = mbsim_query(req, "page");
	const char *per_page_s = mbsim_query(req, "per_page");
	long page = 1, per_page = (long)default_per_page, total, pages, i;
	cJSON *out;

	if (per_page_s != NULL) {
		per_page = query_uint(per_page_s);
		if (per_page < 1 || per_page > 100) {
			cJSON_Delete(array);
			mbsim_err_plain(resp, 400, "per_page does not have a valid value");
			return;
		}
	}
	total = cJSON_GetArraySize(array);
	pages = total == 0 ? 1 : (total + per_page - 1) / per_page;
	if (page_s != NULL) {
		page = query_uint(page_s);
		if (page < 1 || page > pages) {
			cJSON_Delete(array);
			mbsim_err_plain(resp, 400, "page does not have a valid value");
			return;
		}
	}
	out = cJSON_CreateArray();
	for (i = (page - 1) * per_page; i < total && i < page * per_page; i++)
		cJSON_AddItemToArray(out, cJSON_Duplicate(cJSON_GetArrayItem(array, (int)i), 1));
	cJSON_Delete(array);
	if (page < pages)
		page_link(req, resp, page + 1, per_page, "next");
	if (page > 1)
		page_link(req, resp, page - 1, per_page, "prev");
	mbsim_respond_json(resp, 200, out);
}

void mbsim_api_administrations(struct mbsim *sim, const struct mbsim_request *req,
                               struct mbsim_response *resp)
{
	cJSON *list = cJSON_CreateArray();
	cJSON *a = cJSON_CreateObject();

	(void)req;
	cJSON_AddStringToObject(a, "id", sim->opt.administration_id);
	cJSON_AddStringToObject(a, "name", "Simulated administration");
	cJSON_AddStringToObject(a, "language", "nl");
	cJSON_AddStringToObject(a, "currency", "EUR");
	cJSON_AddStringToObject(a, "country", "NL");
	cJSON_AddStringToObject(a, "time_zone", "Europe/Amsterdam");
	cJSON_AddStringToObject(a, "access", "user");
	cJSON_AddBoolToObject(a, "suspended", false);
	if (sim->faults.locked_until[0] != '\0')
		cJSON_AddStringToObject(a, "period_locked_until", sim->faults.locked_until);
	else
		cJSON_AddNullToObject(a, "period_locked_until");
	cJSON_AddStringToObject(a, "period_start_date", "2020-01-01");
	cJSON_AddItemToArray(list, a);
	mbsim_respond_json(resp, 200, list);
}

/* GET /tax_rates?filter=key:value,... (name, partial_name, percentage, tax_rate_type,
 * country, active, show_tax); unknown keys are ignored. */
static bool tax_rate_matches(const cJSON *rate, const char *filter)
{
	char buf[512];
	char *save = NULL, *term;

	if (filter == NULL || strlen(filter) >= sizeof(buf))
		return true;
	snprintf(buf, sizeof(buf), "%s", filter);
	for (term = strtok_r(buf, ",", &save); term != NULL; term = strtok_r(NULL, ",", &save)) {
		char *value = strchr(term, ':');
		bool any = false;
		char *vsave = NULL, *v;

		if (value == NULL)
			continue;
		*value++ = '\0';
		for (v = strtok_r(value, "|", &vsave); v != NULL; v = strtok_r(NULL, "|", &vsave)) {
			if (strcmp(term, "tax_rate_type") == 0)
				any |= strcmp(v, "all") == 0 ||
				       strcmp(v, mbsim_str(rate, "tax_rate_type")) == 0;
			else if (strcmp(term, "name") == 0)
				any |= strcasecmp(v, mbsim_str(rate, "name")) == 0;
			else if (strcmp(term, "partial_name") == 0)
				any |= strcasestr(mbsim_str(rate, "name"), v) != NULL;
			else if (strcmp(term, "percentage") == 0)
				any |= strtol(mbsim_str(rate, "percentage"), NULL, 10) ==
				           strtol(v, NULL, 10) &&
				       isdigit((unsigned char)v[0]);
			else if (strcmp(term, "country") == 0)
				any |= strcmp(v, mbsim_str(rate, "country")) == 0;
			else if (strcmp(term, "active") == 0)
				any |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
				           rate, "active")) == (strcmp(v, "true") == 0);
			else
				any = true;
		}
		if (!any)
			return false;
	}
	return true;
}

void mbsim_api_reference(struct mbsim *sim, const struct mbsim_request *req,
                         struct mbsim_response *resp)
{
	const char *r = req->route;

	if (strcmp(r, "GET tax_rates") == 0) {
		cJSON *list = cJSON_CreateArray();
		const cJSON *rate;
		const char *filter = mbsim_query(req, "filter");

		cJSON_ArrayForEach(rate, sim->tax_rates)
		{
			if (tax_rate_matches(rate, filter))
				cJSON_AddItemToArray(list, mbsim_public_copy(rate));
		}
		mbsim_respond_page(req, resp, list, 100);
	} else if (strcmp(r, "GET ledger_accounts") == 0) {
		mbsim_respond_json(resp, 200, mbsim_public_copy(sim->ledger_accounts));
	} else if (strcmp(r, "GET financial_accounts") == 0) {
		mbsim_respond_json(resp, 200, mbsim_public_copy(sim->financial_accounts));
	} else if (strcmp(r, "GET workflows") == 0) {
		mbsim_respond_json(resp, 200, mbsim_public_copy(sim->workflows));
	} else {
		mbsim_respond_json(resp, 200, mbsim_public_copy(sim->document_styles));
	}
}

/* ---- contacts ---- */

static const char *const contact_search_fields[] = {"company_name", "attention",
                                                    "firstname",    "lastname",
                                                    "address1",     "address2",
                                                    "zipcode",      "city",
                                                    "country",      "email",
                                                    "phone",        "customer_id",
                                                    "tax_number",   "chamber_of_commerce",
                                                    "bank_account", NULL};

static bool contact_matches(const cJSON *c, const char *query)
{
	size_t i;

	if (query == NULL || query[0] == '\0')
		return true;
	for (i = 0; contact_search_fields[i] != NULL; i++)
		if (strcasestr(mbsim_str(c, contact_search_fields[i]), query) != NULL)
			return true;
	return false;
}

static bool is_archived(const cJSON *c)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "archived"));
}

void mbsim_api_contacts_list(struct mbsim *sim, const struct mbsim_request *req,
                             struct mbsim_response *resp)
{
	bool archived_too = mbsim_is_true(mbsim_query(req, "include_archived"));
	const char *query = mbsim_query(req, "query");
	cJSON *list = cJSON_CreateArray();
	const cJSON *c;

	cJSON_ArrayForEach(c, sim->contacts)
	{
		if ((archived_too || !is_archived(c)) && contact_matches(c, query))
			cJSON_AddItemToArray(list, mbsim_render_contact(c));
	}
	mbsim_respond_page(req, resp, list, 100);
}

void mbsim_api_contacts_get(struct mbsim *sim, const struct mbsim_request *req,
                            struct mbsim_response *resp)
{
	const cJSON *c = mbsim_find_by_id(sim->contacts, req->param1);

	if (c == NULL || (is_archived(c) && !mbsim_is_true(mbsim_query(req, "include_archived")))) {
		mbsim_err_symbolic(resp, 404, "record not found", "id", "not_found");
		return;
	}
	mbsim_respond_json(resp, 200, mbsim_render_contact(c));
}

/*
 * The spec types {customer_id} as digits only; anything else is a 404. The
 * endpoint has no include_archived parameter and (like the report in picqer
 * issue #273 suggests) does not find archived contacts.
 */
void mbsim_api_contacts_by_customer_id(struct mbsim *sim, const struct mbsim_request *req,
                                       struct mbsim_response *resp)
{
	const cJSON *c = NULL;

	if (mbsim_is_digits(req->param1))
		c = mbsim_contact_by_customer_id(sim->contacts, req->param1);
	if (c == NULL || is_archived(c)) {
		mbsim_err_symbolic(resp, 404, "record not found", "customer_id", "not_found");
		return;
	}
	mbsim_respond_json(resp, 200, mbsim_render_contact(c));
}

/* The keys a contact accepts besides its text fields
 * (mbsim_contact_string_fields, which mbsim_store.c validates and stores). */
static const char *const contact_other_fields[] = {"country",
                                                   "delivery_method",
                                                   "customer_id",
                                                   "sepa_active",
                                                   "sepa_mandate_date",
                                                   "sepa_sequence_type",
                                                   "si_identifier_type",
                                                   "invoice_workflow_id",
                                                   "estimate_workflow_id",
                                                   "email_ubl",
                                                   "direct_debit",
                                                   "custom_fields_attributes",
                                                   "contact_person",
                                                   NULL};

/* contact_allowed: the text fields and the others, as one NULL-ended list. */
static void contact_allowed(const char *allowed[], size_t cap)
{
	const char *const *lists[] = {mbsim_contact_string_fields, contact_other_fields};
	size_t n = 0, l;
	const char *const *f;

	for (l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (f = lists[l]; *f != NULL; f++) {
			if (n + 1 >= cap)
				abort(); /* the caller's array is too small: a bug */
			allowed[n++] = *f;
		}
	allowed[n] = NULL;
}

void mbsim_api_contacts_create(struct mbsim *sim, const struct mbsim_request *req,
                               struct mbsim_response *resp)
{
	static const char *const top_allowed[] = {"contact", NULL};
	const char *allowed[64];
	cJSON *body = mbsim_parse_body(req, resp, true);
	const cJSON *input;
	cJSON *contact;

	if (body == NULL)
		return;
	contact_allowed(allowed, sizeof(allowed) / sizeof(allowed[0]));
	input = mbsim_wrapped(resp, body, "contact", "Contact is required", top_allowed, allowed);
	if (input == NULL || mbsim_reject_custom_fields(resp, input))
		goto out;
	contact = mbsim_contact_new(sim, input, resp);
	if (contact == NULL)
		goto out;
	cJSON_AddItemToArray(sim->contacts, contact);
	mbsim_respond_json(resp, 201, mbsim_render_contact(contact));
	{
		cJSON *entity = mbsim_render_contact(contact);

		mbsim_webhooks_emit(sim, "contact_created", "Contact", mbsim_str(contact, "id"),
		                    NULL, entity);
		cJSON_Delete(entity);
	}
out:
	cJSON_Delete(body);
}

void mbsim_api_contacts_sync_get(struct mbsim *sim, const struct mbsim_request *req,
                                 struct mbsim_response *resp)
{
	bool archived_too = mbsim_is_true(mbsim_query(req, "include_archived"));
	cJSON *list = cJSON_CreateArray();
	const cJSON *c;

	cJSON_ArrayForEach(c, sim->contacts)
	{
		if (!archived_too && is_archived(c))
			continue;
		cJSON_AddItemToArray(list, mbsim_sync_entry(c));
	}
	mbsim_respond_json(resp, 200, list);
}

/*
 * Shared by the contacts and sales_invoices POST synchronization endpoints:
 * {"ids": [...]} required; at most the first 100 ids are answered ("Returns a
 * maximum of 100 ... even if more ids are provided"); unknown ids are skipped.
 * Ids must be strings: a JSON number above 2^53 has already lost digits.
 */
static void sync_post(struct mbsim *sim, const struct mbsim_request *req,
                      struct mbsim_response *resp, bool invoices)
{
	static const char *const allowed[] = {"ids", NULL};
	cJSON *body = mbsim_parse_body(req, resp, true);
	const cJSON *ids, *id;
	cJSON *list;
	int n = 0;

	if (body == NULL)
		return;
	ids = cJSON_GetObjectItemCaseSensitive(body, "ids");
	if (!cJSON_IsArray(ids)) {
		mbsim_err_symbolic(resp, 400, "Ids is required", "ids", "required");
		goto out;
	}
	if (mbsim_reject_unknown(resp, body, "", allowed))
		goto out;
	cJSON_ArrayForEach(id, ids)
	{
		if (!cJSON_IsString(id)) {
			mbsim_err_symbolic(resp, 400, "ids must be strings", "ids", "invalid");
			goto out;
		}
	}
	list = cJSON_CreateArray();
	cJSON_ArrayForEach(id, ids)
	{
		const cJSON *entity;

		if (n++ == 100)
			break;
		entity =
		    mbsim_find_by_id(invoices ? sim->invoices : sim->contacts, id->valuestring);
		if (entity != NULL)
			cJSON_AddItemToArray(list, invoices ? mbsim_render_invoice(sim, entity)
			                                    : mbsim_render_contact(entity));
	}
	mbsim_respond_json(resp, 200, list);
out:
	cJSON_Delete(body);
}

void mbsim_api_contacts_sync_post(struct mbsim *sim, const struct mbsim_request *req,
                                  struct mbsim_response *resp)
{
	sync_post(sim, req, resp, false);
}

void mbsim_api_invoices_sync_post(struct mbsim *sim, const struct mbsim_request *req,
                                  struct mbsim_response *resp)
{
	sync_post(sim, req, resp, true);
}

/* ---- webhooks ---- */

void mbsim_api_webhooks_list(struct mbsim *sim, const struct mbsim_request *req,
                             struct mbsim_response *resp)
{
	(void)req;
	mbsim_respond_json(resp, 200, mbsim_public_copy(sim->webhooks));
}

/* enabled_events: absent, or an array of non-empty strings. */
static bool valid_enabled_events(const cJSON *events)
{
	const cJSON *e;

	if (events == NULL)
		return true;
	if (!cJSON_IsArray(events))
		return false;
	cJSON_ArrayForEach(e, events)
	{
		if (!cJSON_IsString(e) || e->valuestring[0] == '\0')
			return false;
	}
	return true;
}

/*
 * POST /webhooks (no wrapper). Registration check: the URL must answer 200 to
 * a POST without payload; the simulator does that check before taking the
 * lock (see mbsim_http.c), so here the URL is already known to answer.
 */
void mbsim_api_webhooks_create(struct mbsim *sim, const struct mbsim_request *req,
                               struct mbsim_response *resp)
{
	static const char *const allowed[] = {"url", "enabled_events", NULL};
	cJSON *body = mbsim_parse_body(req, resp, true);
	const cJSON *url, *events;
	cJSON *hook;
	char id[24], token[25], secret[65];

	if (body == NULL)
		return;
	if (cJSON_HasObjectItem(body, "events")) {
		mbsim_err_symbolic(resp, 400,
		                   "'events' has been removed from webhooks, use 'enabled_events'",
		                   "events", "removed");
		goto out;
	}
	url = cJSON_GetObjectItemCaseSensitive(body, "url");
	if (!cJSON_IsString(url) || url->valuestring[0] == '\0') {
		mbsim_err_symbolic(resp, 400, "Url is required", "url", "required");
		goto out;
	}
	if (mbsim_reject_unknown(resp, body, "", allowed))
		goto out;
	events = cJSON_GetObjectItemCaseSensitive(body, "enabled_events");
	if (!valid_enabled_events(events)) {
		mbsim_err_validation(resp, "enabled_events", "is invalid", "invalid");
		goto out;
	}
	if (strncmp(url->valuestring, "http://", 7) != 0) {
		/* The simulator speaks plain HTTP only; say so rather than pretend. */
		mbsim_err_validation(resp, "url", "must be an http:// URL (simulator)", "invalid");
		goto out;
	}
	if (req->webhook_check_status != 200) {
		char message[128];

		snprintf(message, sizeof(message), "did not respond with HTTP 200 (got %d)",
		         req->webhook_check_status);
		mbsim_err_validation(resp, "url", message, "invalid");
		goto out;
	}
	mbsim_new_id(sim, id);
	mbsim_random_alnum(sim, token, 24);
	mbsim_random_hex(sim, secret, 64);
	hook = cJSON_CreateObject();
	cJSON_AddStringToObject(hook, "id", id);
	cJSON_AddStringToObject(hook, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(hook, "url", url->valuestring);
	cJSON_AddItemToObject(hook, "enabled_events",
	                      events != NULL ? cJSON_Duplicate(events, 1) : cJSON_CreateArray());
	cJSON_AddNullToObject(hook, "last_http_status");
	cJSON_AddNullToObject(hook, "last_http_body");
	cJSON_AddStringToObject(hook, "token", token);
	cJSON_AddNullToObject(hook, "deactivated_at");
	cJSON_AddStringToObject(hook, "_secret", secret);
	cJSON_AddItemToArray(sim->webhooks, hook);
	{
		/* "secret": only returned at creation. */
		cJSON *out = mbsim_public_copy(hook);

		cJSON_AddStringToObject(out, "secret", secret);
		mbsim_respond_json(resp, 201, out);
	}
out:
	cJSON_Delete(body);
}

void mbsim_api_webhooks_delete(struct mbsim *sim, const struct mbsim_request *req,
                               struct mbsim_response *resp)
{
	cJSON *hook = mbsim_find_by_id(sim->webhooks, req->param1);

	if (hook == NULL) {
		mbsim_err_plain(resp, 404, "Record not found for model name: Webhook");
		return;
	}
	cJSON_Delete(cJSON_DetachItemViaPointer(sim->webhooks, hook));
	resp->status = 204;
}
