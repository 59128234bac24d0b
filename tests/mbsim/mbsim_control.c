/* Test-control endpoints under /_sim/ (not part of Moneybird; no auth, no rate limit). */
#include "mbsim.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mbsim_faults_default(struct mbsim_faults *faults)
{
	memset(faults, 0, sizeof(*faults));
	faults->peppol_registered = true;
}

static int parse_rule(const cJSON *json, struct mbsim_fault_rule *rule, bool needs_status,
                      char *err, size_t err_len)
{
	const cJSON *match = cJSON_GetObjectItemCaseSensitive(json, "match");
	const cJSON *count = cJSON_GetObjectItemCaseSensitive(json, "count");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(json, "status");
	const cJSON *item;

	cJSON_ArrayForEach(item, json)
	{
		if (strcmp(item->string, "match") != 0 && strcmp(item->string, "count") != 0 &&
		    strcmp(item->string, "status") != 0) {
			snprintf(err, err_len, "unknown key in fault rule: %s", item->string);
			return -1;
		}
	}
	if (!cJSON_IsString(match) || match->valuestring[0] == '\0' ||
	    strlen(match->valuestring) >= sizeof(rule->match)) {
		snprintf(err, err_len, "fault rule needs \"match\": \"METHOD route\" or \"*\"");
		return -1;
	}
	if (!mbsim_route_known(match->valuestring)) {
		/* A typo would silently never fire; say so instead. */
		snprintf(err, err_len,
		         "fault match \"%.60s\" is not \"*\" or a route name "
		         "(see tests/mbsim/README.md)",
		         match->valuestring);
		return -1;
	}
	snprintf(rule->match, sizeof(rule->match), "%s", match->valuestring);
	rule->count = 1;
	if (count != NULL) {
		if (!cJSON_IsNumber(count) || count->valuedouble < -1) {
			snprintf(err, err_len, "fault rule \"count\" must be a number >= -1");
			return -1;
		}
		rule->count = (long)count->valuedouble;
	}
	if (needs_status) {
		if (!cJSON_IsNumber(status) || status->valuedouble < 100 ||
		    status->valuedouble > 599) {
			snprintf(err, err_len, "fault rule needs \"status\": 100..599");
			return -1;
		}
		rule->status = (unsigned)status->valuedouble;
	}
	return 0;
}

/* Replaces the whole fault set; {} clears everything. */
int mbsim_faults_parse(struct mbsim_faults *faults, const cJSON *json, char *err, size_t err_len)
{
	const cJSON *item;

	mbsim_faults_default(faults);
	cJSON_ArrayForEach(item, json)
	{
		const char *k = item->string;

		if (strcmp(k, "error_rate") == 0) {
			if (!cJSON_IsNumber(item) || item->valuedouble < 0 ||
			    item->valuedouble > 1) {
				snprintf(err, err_len, "error_rate must be 0.0..1.0");
				return -1;
			}
			faults->error_rate = item->valuedouble;
		} else if (strcmp(k, "latency_ms") == 0) {
			if (!cJSON_IsNumber(item) || item->valuedouble < 0 ||
			    item->valuedouble > 120000) {
				snprintf(err, err_len, "latency_ms must be 0..120000");
				return -1;
			}
			faults->latency_ms = (unsigned)item->valuedouble;
		} else if (strcmp(k, "apply_then_drop") == 0) {
			if (parse_rule(item, &faults->apply_then_drop, false, err, err_len) != 0)
				return -1;
		} else if (strcmp(k, "apply_then_status") == 0) {
			if (parse_rule(item, &faults->apply_then_status, true, err, err_len) != 0)
				return -1;
		} else if (strcmp(k, "force_status") == 0) {
			if (parse_rule(item, &faults->force_status, true, err, err_len) != 0)
				return -1;
		} else if (strcmp(k, "duplicate_webhooks") == 0 && cJSON_IsBool(item)) {
			faults->duplicate_webhooks = cJSON_IsTrue(item);
		} else if (strcmp(k, "peppol_registered") == 0 && cJSON_IsBool(item)) {
			faults->peppol_registered = cJSON_IsTrue(item);
		} else if (strcmp(k, "find_by_reference_drafts") == 0 && cJSON_IsBool(item)) {
			faults->find_by_reference_drafts = cJSON_IsTrue(item);
		} else if (strcmp(k, "sink_statuses") == 0 && cJSON_IsArray(item)) {
			const cJSON *code;

			cJSON_ArrayForEach(code, item)
			{
				if (!cJSON_IsNumber(code) || code->valuedouble < 100 ||
				    code->valuedouble > 599 ||
				    faults->sink_status_count ==
				        sizeof(faults->sink_statuses) /
				            sizeof(faults->sink_statuses[0])) {
					snprintf(err, err_len,
					         "sink_statuses: up to 16 HTTP status codes");
					return -1;
				}
				faults->sink_statuses[faults->sink_status_count++] =
				    (unsigned)code->valuedouble;
			}
		} else if (strcmp(k, "locked_until") == 0) {
			if (cJSON_IsNull(item))
				continue;
			if (!cJSON_IsString(item) || !mbsim_valid_date(item->valuestring)) {
				snprintf(err, err_len, "locked_until must be YYYY-MM-DD or null");
				return -1;
			}
			snprintf(faults->locked_until, sizeof(faults->locked_until), "%s",
			         item->valuestring);
		} else if (strcmp(k, "rate_limit_body") == 0) {
			if (!cJSON_IsString(item) ||
			    (strcmp(item->valuestring, "json") != 0 &&
			     strcmp(item->valuestring, "html") != 0 &&
			     strcmp(item->valuestring, "alternate") != 0)) {
				snprintf(err, err_len,
				         "rate_limit_body must be json, html or "
				         "alternate");
				return -1;
			}
			if (strcmp(item->valuestring, "alternate") != 0)
				snprintf(faults->rate_limit_body, sizeof(faults->rate_limit_body),
				         "%s", item->valuestring);
		} else {
			snprintf(err, err_len, "unknown or mistyped fault: %s", k);
			return -1;
		}
	}
	return 0;
}

static cJSON *rule_json(const struct mbsim_fault_rule *rule)
{
	cJSON *r;

	if (rule->match[0] == '\0')
		return cJSON_CreateNull();
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "match", rule->match);
	cJSON_AddNumberToObject(r, "count", (double)rule->count);
	if (rule->status != 0)
		cJSON_AddNumberToObject(r, "status", rule->status);
	return r;
}

static cJSON *faults_json(const struct mbsim_faults *f)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "error_rate", f->error_rate);
	cJSON_AddNumberToObject(j, "latency_ms", f->latency_ms);
	cJSON_AddItemToObject(j, "apply_then_drop", rule_json(&f->apply_then_drop));
	cJSON_AddItemToObject(j, "apply_then_status", rule_json(&f->apply_then_status));
	cJSON_AddItemToObject(j, "force_status", rule_json(&f->force_status));
	cJSON_AddBoolToObject(j, "duplicate_webhooks", f->duplicate_webhooks);
	cJSON_AddBoolToObject(j, "peppol_registered", f->peppol_registered);
	cJSON_AddBoolToObject(j, "find_by_reference_drafts", f->find_by_reference_drafts);
	if (f->locked_until[0] != '\0')
		cJSON_AddStringToObject(j, "locked_until", f->locked_until);
	else
		cJSON_AddNullToObject(j, "locked_until");
	{
		cJSON *codes = cJSON_AddArrayToObject(j, "sink_statuses");
		size_t i;

		for (i = f->sink_status_next; i < f->sink_status_count; i++)
			cJSON_AddItemToArray(codes, cJSON_CreateNumber(f->sink_statuses[i]));
	}
	cJSON_AddStringToObject(j, "rate_limit_body",
	                        f->rate_limit_body[0] != '\0' ? f->rate_limit_body : "alternate");
	return j;
}

static void state(struct mbsim *sim, struct mbsim_response *resp)
{
	static const char *const states[] = {"pending", "in_flight", "delivered", "failed"};
	cJSON *out = cJSON_CreateObject();
	cJSON *list, *requests, *hooks;
	const cJSON *item;
	size_t i;

	list = cJSON_AddArrayToObject(out, "contacts");
	cJSON_ArrayForEach(item, sim->contacts)
	{
		cJSON_AddItemToArray(list, mbsim_render_contact(item));
	}
	list = cJSON_AddArrayToObject(out, "sales_invoices");
	cJSON_ArrayForEach(item, sim->invoices)
	{
		cJSON_AddItemToArray(list, mbsim_render_invoice(sim, item));
	}
	/* Unlike the API, the inspection view includes each webhook's secret. */
	hooks = cJSON_AddArrayToObject(out, "webhooks");
	cJSON_ArrayForEach(item, sim->webhooks)
	{
		cJSON *h = mbsim_public_copy(item);

		cJSON_AddStringToObject(h, "secret", mbsim_str(item, "_secret"));
		cJSON_AddItemToArray(hooks, h);
	}
	requests = cJSON_AddObjectToObject(out, "requests");
	cJSON_AddNumberToObject(requests, "total", (double)sim->request_total);
	cJSON_AddNumberToObject(requests, "rate_limited", (double)sim->rate_429_count);
	cJSON_AddItemToObject(requests, "by_endpoint", cJSON_Duplicate(sim->request_counts, 1));
	list = cJSON_AddArrayToObject(out, "webhook_deliveries");
	for (i = 0; i < sim->delivery_count; i++) {
		const struct mbsim_delivery *d = &sim->deliveries[i];
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "event", d->event);
		cJSON_AddStringToObject(j, "status", states[d->state]);
		cJSON_AddNumberToObject(j, "attempts", d->attempts);
		if (d->last_http_status > 0)
			cJSON_AddNumberToObject(j, "last_http_status", d->last_http_status);
		else
			cJSON_AddNullToObject(j, "last_http_status");
		cJSON_AddStringToObject(j, "webhook_id", d->webhook_id);
		cJSON_AddStringToObject(j, "entity_id", d->entity_id);
		cJSON_AddStringToObject(j, "idempotency_key", d->idempotency_key);
		cJSON_AddStringToObject(j, "url", d->url);
		cJSON_AddBoolToObject(j, "duplicate", d->duplicate);
		cJSON_AddItemToArray(list, j);
	}
	cJSON_AddItemToObject(out, "faults", faults_json(&sim->faults));
	mbsim_respond_json(resp, 200, out);
}

/* A push of a contact event to the subscribed webhooks, with the contact as
 * the API renders it now (what Moneybird does for a change made by hand). */
static void emit_contact(struct mbsim *sim, const char *event, const cJSON *contact)
{
	cJSON *entity = mbsim_render_contact(contact);

	mbsim_webhooks_emit(sim, event, "Contact", mbsim_str(contact, "id"), NULL, entity);
	cJSON_Delete(entity);
}

/* POST /_sim/contacts: as a bookkeeper would by hand; "archived" may be set;
 * pushes contact_created. */
static void create_contact(struct mbsim *sim, const struct mbsim_request *req,
                           struct mbsim_response *resp)
{
	cJSON *body = mbsim_parse_body(req, resp, false);
	cJSON *input, *contact, *archived;
	bool archive = false;

	if (body == NULL)
		return;
	input = cJSON_GetObjectItemCaseSensitive(body, "contact");
	if (!cJSON_IsObject(input))
		input = body;
	archived = cJSON_DetachItemFromObjectCaseSensitive(input, "archived");
	archive = cJSON_IsTrue(archived);
	cJSON_Delete(archived);
	contact = mbsim_contact_new(sim, input, resp);
	if (contact == NULL)
		goto out;
	if (archive)
		cJSON_ReplaceItemInObjectCaseSensitive(contact, "archived", cJSON_CreateTrue());
	cJSON_AddItemToArray(sim->contacts, contact);
	mbsim_respond_json(resp, 201, mbsim_render_contact(contact));
	emit_contact(sim, "contact_created", contact);
out:
	cJSON_Delete(body);
}

/* POST /_sim/tax_rates: a sales tax rate created by hand in Moneybird's
 * settings ({"name", "percentage", optional "country"}); no webhook. */
static void create_tax_rate(struct mbsim *sim, const struct mbsim_request *req,
                            struct mbsim_response *resp)
{
	cJSON *body = mbsim_parse_body(req, resp, false);
	const cJSON *name, *percentage, *country;
	cJSON *rate;
	char id[24], now[32];

	if (body == NULL)
		return;
	name = cJSON_GetObjectItemCaseSensitive(body, "name");
	percentage = cJSON_GetObjectItemCaseSensitive(body, "percentage");
	country = cJSON_GetObjectItemCaseSensitive(body, "country");
	if (!cJSON_IsString(name) || !cJSON_IsString(percentage)) {
		mbsim_err_plain(resp, 400, "name and percentage (strings) are required");
		cJSON_Delete(body);
		return;
	}
	mbsim_new_id(sim, id);
	mbsim_iso_now(now);
	rate = cJSON_CreateObject();
	cJSON_AddStringToObject(rate, "id", id);
	cJSON_AddStringToObject(rate, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(rate, "name", name->valuestring);
	cJSON_AddStringToObject(rate, "percentage", percentage->valuestring);
	cJSON_AddStringToObject(rate, "tax_rate_type", "sales_invoice");
	cJSON_AddBoolToObject(rate, "show_tax", true);
	cJSON_AddBoolToObject(rate, "active", true);
	if (cJSON_IsString(country))
		cJSON_AddStringToObject(rate, "country", country->valuestring);
	else
		cJSON_AddNullToObject(rate, "country");
	cJSON_AddStringToObject(rate, "created_at", now);
	cJSON_AddStringToObject(rate, "updated_at", now);
	cJSON_AddStringToObject(rate, "_report", "NL/1a");
	cJSON_AddItemToArray(sim->tax_rates, rate);
	mbsim_respond_json(resp, 201, cJSON_Duplicate(rate, 1));
	cJSON_Delete(body);
}

static void archive_contact(struct mbsim *sim, const char *id, struct mbsim_response *resp)
{
	cJSON *contact = mbsim_find_by_id(sim->contacts, id);

	if (contact == NULL) {
		mbsim_err_plain(resp, 404, "no such contact");
		return;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(contact, "archived", cJSON_CreateTrue());
	mbsim_touch(sim, contact);
	mbsim_add_event(contact, "contact_archived");
	mbsim_respond_json(resp, 200, mbsim_render_contact(contact));
	emit_contact(sim, "contact_archived", contact);
}

/* PATCH /_sim/contacts/{id}: a contact edited by hand (string fields of the
 * contact); pushes contact_changed. */
static void edit_contact(struct mbsim *sim, const char *id, const struct mbsim_request *req,
                         struct mbsim_response *resp)
{
	static const char *const editable[] = {"company_name",
	                                       "firstname",
	                                       "lastname",
	                                       "tax_number",
	                                       "si_identifier",
	                                       "si_identifier_type",
	                                       "send_invoices_to_email"};
	cJSON *contact = mbsim_find_by_id(sim->contacts, id);
	cJSON *body, *field;

	if (contact == NULL) {
		mbsim_err_plain(resp, 404, "no such contact");
		return;
	}
	if ((body = mbsim_parse_body(req, resp, false)) == NULL)
		return;
	cJSON_ArrayForEach(field, body)
	{
		bool known = false;

		for (size_t i = 0; i < sizeof(editable) / sizeof(editable[0]); i++)
			known = known || strcmp(field->string, editable[i]) == 0;
		if (!known || !cJSON_IsString(field)) {
			mbsim_err_plain(resp, 400, "only string contact fields can be edited");
			cJSON_Delete(body);
			return;
		}
	}
	cJSON_ArrayForEach(field, body) mbsim_set_str(contact, field->string, field->valuestring);
	cJSON_Delete(body);
	mbsim_touch(sim, contact);
	mbsim_add_event(contact, "contact_changed");
	mbsim_respond_json(resp, 200, mbsim_render_contact(contact));
	emit_contact(sim, "contact_changed", contact);
}

/* DELETE /_sim/contacts/{id}: a contact deleted by hand; pushes
 * contact_destroyed with the contact as it was. */
static void delete_contact(struct mbsim *sim, const char *id, struct mbsim_response *resp)
{
	cJSON *contact = mbsim_find_by_id(sim->contacts, id);

	if (contact == NULL) {
		mbsim_err_plain(resp, 404, "no such contact");
		return;
	}
	cJSON_DetachItemViaPointer(sim->contacts, contact);
	emit_contact(sim, "contact_destroyed", contact);
	cJSON_Delete(contact);
	mbsim_respond_json(resp, 204, NULL);
}

/* POST /_sim/tax_rates/{id}/deactivate and DELETE /_sim/tax_rates/{id}: a
 * rate switched off or deleted in Moneybird's settings (kept by reset, like
 * every change to the seeded data); an invoice naming it is then refused. */
static void retire_tax_rate(struct mbsim *sim, const char *id, bool delete,
                            struct mbsim_response *resp)
{
	cJSON *rate = mbsim_find_by_id(sim->tax_rates, id);

	if (rate == NULL) {
		mbsim_err_plain(resp, 404, "no such tax rate");
		return;
	}
	if (delete) {
		cJSON_DetachItemViaPointer(sim->tax_rates, rate);
		cJSON_DeleteItemFromObjectCaseSensitive(rate, "_report");
		mbsim_webhooks_emit(sim, "tax_rate_destroyed", "TaxRate", id, NULL, rate);
		cJSON_Delete(rate);
		mbsim_respond_json(resp, 204, NULL);
		return;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(rate, "active", cJSON_CreateFalse());
	{
		cJSON *entity = cJSON_Duplicate(rate, 1);

		cJSON_DeleteItemFromObjectCaseSensitive(entity, "_report");
		mbsim_webhooks_emit(sim, "tax_rate_deactivated", "TaxRate", id, NULL, entity);
		mbsim_respond_json(resp, 200, entity);
	}
}

/* The id of "PREFIX{id}SUFFIX" (suffix "" for none); false when path is not so. */
static bool path_id(const char *path, const char *prefix, const char *suffix, char *id, size_t size)
{
	size_t plen = strlen(prefix), slen = strlen(suffix), len = strlen(path);
	const char *start = path + plen;
	size_t idlen;

	if (len <= plen + slen || strncmp(path, prefix, plen) != 0 ||
	    strcmp(path + len - slen, suffix) != 0)
		return false;
	idlen = len - plen - slen;
	if (idlen == 0 || idlen >= size || memchr(start, '/', idlen) != NULL)
		return false;
	snprintf(id, size, "%.*s", (int)idlen, start);
	return true;
}

/* POST /_sim/sales_invoices/{id}/mark_paid: a full payment booked by hand. */
static void mark_paid(struct mbsim *sim, const char *id, const struct mbsim_request *req,
                      struct mbsim_response *resp)
{
	cJSON *inv = mbsim_find_by_id(sim->invoices, id);
	cJSON *body = mbsim_parse_body(req, resp, true);
	int64_t unpaid = 0, unpaid_base = 0;
	char date[11];

	if (body == NULL)
		return;
	if (inv == NULL) {
		mbsim_err_plain(resp, 404, "no such sales invoice");
		goto out;
	}
	if (strcmp(mbsim_str(inv, "state"), "draft") == 0 ||
	    strcmp(mbsim_str(inv, "state"), "scheduled") == 0) {
		mbsim_err_plain(resp, 409,
		                "the invoice has not been sent; Moneybird refuses "
		                "payments on drafts");
		goto out;
	}
	if (mbsim_parse_money_str(mbsim_str(inv, "total_unpaid"), &unpaid) != 0 || unpaid == 0) {
		mbsim_err_plain(resp, 409, "nothing left to pay");
		goto out;
	}
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "payment_date")) &&
	    mbsim_valid_date(mbsim_str(body, "payment_date")))
		snprintf(date, sizeof(date), "%s", mbsim_str(body, "payment_date"));
	else
		mbsim_today(date);
	if (mbsim_parse_money_str(mbsim_str(inv, "total_unpaid_base"), &unpaid_base) != 0)
		unpaid_base = unpaid;
	mbsim_respond_json(resp, 201,
	                   mbsim_register_payment(sim, inv, unpaid, unpaid_base, date,
	                                          mbsim_str(body, "transaction_identifier"),
	                                          "payment_without_proof", NULL));
out:
	cJSON_Delete(body);
}

static const char *header_or_empty(const struct mbsim_request *req, const char *name)
{
	const char *v = MHD_lookup_connection_value((struct MHD_Connection *)req->connection,
	                                            MHD_HEADER_KIND, name);

	return v != NULL ? v : "";
}

/*
 * POST /_sim/sink[/...]: a webhook receiver for tests. Records the request and
 * answers with the next of faults.sink_statuses (then 200).
 */
static void sink_receive(struct mbsim *sim, const char *path, const struct mbsim_request *req,
                         struct mbsim_response *resp)
{
	struct mbsim_faults *f = &sim->faults;
	unsigned status = 200;
	cJSON *entry;

	if (f->sink_status_next < f->sink_status_count)
		status = f->sink_statuses[f->sink_status_next++];
	if (cJSON_GetArraySize(sim->sink) < MBSIM_MAX_SINK) {
		entry = cJSON_CreateObject();
		cJSON_AddStringToObject(entry, "path", path);
		cJSON_AddStringToObject(entry, "moneybird_signature",
		                        header_or_empty(req, "Moneybird-Signature"));
		cJSON_AddStringToObject(entry, "idempotency_key",
		                        header_or_empty(req, "Idempotency-Key"));
		cJSON_AddStringToObject(entry, "content_type",
		                        header_or_empty(req, "Content-Type"));
		cJSON_AddStringToObject(entry, "user_agent", header_or_empty(req, "User-Agent"));
		cJSON_AddNumberToObject(entry, "answered", status);
		cJSON_AddStringToObject(entry, "body", req->body);
		cJSON_AddItemToArray(sim->sink, entry);
	}
	mbsim_err_plain(resp, status, status == 200 ? "ok" : "sink refused (as configured)");
	if (status == 200) {
		free(resp->body);
		resp->body = strdup("ok");
		resp->content_type = "text/plain";
	}
}

/* GET /_sim/sink/N/raw: the Nth (0-based) received body byte for byte, its
 * signature and idempotency key echoed in the same headers. */
static void sink_raw(struct mbsim *sim, const char *index_text, struct mbsim_response *resp)
{
	char *end = NULL;
	long index = strtol(index_text, &end, 10);
	const cJSON *entry;

	if (end == index_text || strcmp(end, "/raw") != 0 || index < 0 ||
	    (entry = cJSON_GetArrayItem(sim->sink, (int)index)) == NULL) {
		mbsim_err_plain(resp, 404, "no such sink entry");
		return;
	}
	resp->status = 200;
	resp->content_type = "application/octet-stream";
	resp->body = strdup(mbsim_str(entry, "body"));
	snprintf(resp->signature, sizeof(resp->signature), "%s",
	         mbsim_str(entry, "moneybird_signature"));
	snprintf(resp->idempotency_key, sizeof(resp->idempotency_key), "%s",
	         mbsim_str(entry, "idempotency_key"));
}

/* GET /_sim/requests[?after=SEQ]: the logged API write requests, oldest
 * first; with `after`, only those whose seq is greater. */
static void request_log(struct mbsim *sim, const struct mbsim_request *req,
                        struct mbsim_response *resp)
{
	const char *after_text = MHD_lookup_connection_value(
	    (struct MHD_Connection *)req->connection, MHD_GET_ARGUMENT_KIND, "after");
	cJSON *out = cJSON_CreateArray();
	const cJSON *entry;
	double after = 0;

	if (after_text != NULL) {
		char *end = NULL;

		after = strtod(after_text, &end);
		if (end == after_text || *end != '\0' || after < 0) {
			cJSON_Delete(out);
			mbsim_err_plain(resp, 400, "after must be a request seq (a number >= 0)");
			return;
		}
	}
	cJSON_ArrayForEach(entry, sim->request_log)
	{
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(entry, "seq");

		if (cJSON_IsNumber(seq) && seq->valuedouble > after)
			cJSON_AddItemToArray(out, cJSON_Duplicate(entry, 1));
	}
	mbsim_respond_json(resp, 200, out);
}

void mbsim_control(struct mbsim *sim, const char *method, const char *path,
                   const struct mbsim_request *req, struct mbsim_response *resp)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	char id[64];
	const char *tail;

	pthread_mutex_lock(&sim->lock);
	if (get && strcmp(path, "state") == 0) {
		state(sim, resp);
	} else if (post && strcmp(path, "reset") == 0) {
		mbsim_store_reset(sim);
		mbsim_respond_json(resp, 200, cJSON_CreateObject());
	} else if (post && strcmp(path, "faults") == 0) {
		cJSON *body = mbsim_parse_body(req, resp, true);
		struct mbsim_faults faults;
		char err[200];

		if (body != NULL) {
			if (mbsim_faults_parse(&faults, body, err, sizeof(err)) != 0) {
				mbsim_err_plain(resp, 400, err);
			} else {
				sim->faults = faults;
				mbsim_respond_json(resp, 200, faults_json(&faults));
			}
			cJSON_Delete(body);
		}
	} else if (get && strcmp(path, "requests") == 0) {
		request_log(sim, req, resp);
	} else if (post && (strcmp(path, "sink") == 0 || strncmp(path, "sink/", 5) == 0)) {
		sink_receive(sim, path, req, resp);
	} else if (get && strcmp(path, "sink") == 0) {
		mbsim_respond_json(resp, 200, cJSON_Duplicate(sim->sink, 1));
	} else if (get && strncmp(path, "sink/", 5) == 0) {
		sink_raw(sim, path + 5, resp);
	} else if (post && strcmp(path, "contacts") == 0) {
		create_contact(sim, req, resp);
	} else if (post && strcmp(path, "tax_rates") == 0) {
		create_tax_rate(sim, req, resp);
	} else if (post && strncmp(path, "contacts/", 9) == 0 &&
	           (tail = strchr(path + 9, '/')) != NULL && strcmp(tail, "/archive") == 0) {
		snprintf(id, sizeof(id), "%.*s", (int)(tail - path - 9), path + 9);
		archive_contact(sim, id, resp);
	} else if (strcmp(method, "PATCH") == 0 && path_id(path, "contacts/", "", id, sizeof(id))) {
		edit_contact(sim, id, req, resp);
	} else if (strcmp(method, "DELETE") == 0 &&
	           path_id(path, "contacts/", "", id, sizeof(id))) {
		delete_contact(sim, id, resp);
	} else if (post && path_id(path, "tax_rates/", "/deactivate", id, sizeof(id))) {
		retire_tax_rate(sim, id, false, resp);
	} else if (strcmp(method, "DELETE") == 0 &&
	           path_id(path, "tax_rates/", "", id, sizeof(id))) {
		retire_tax_rate(sim, id, true, resp);
	} else if (post && strncmp(path, "sales_invoices/", 15) == 0 &&
	           (tail = strchr(path + 15, '/')) != NULL && strcmp(tail, "/mark_paid") == 0) {
		snprintf(id, sizeof(id), "%.*s", (int)(tail - path - 15), path + 15);
		mark_paid(sim, id, req, resp);
	} else {
		mbsim_err_plain(resp, 404, "unknown /_sim endpoint");
	}
	pthread_mutex_unlock(&sim->lock);
}
