/* The simulator's in-memory administration: seeded reference data, entities, payments. */
#include "mbsim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed ids (taken from the spec's examples) so mappings stay valid across runs. */
#define SEED_TIME "2026-01-01T09:00:00.000Z"

struct seed_tax_rate {
	const char *id;
	const char *name;
	const char *percentage;
	const char *type;
	const char *country;
	const char *report;
	bool active;
};

static const struct seed_tax_rate seed_tax_rates[] = {
    {"496081347565061258", "BTW hoog", "21.0", "sales_invoice", NULL, "NL/1a", true},
    {"496081347576595595", "BTW laag", "9.0", "sales_invoice", NULL, "NL/1b", true},
    {"496081347578692748", "BTW verlegd", "0.0", "sales_invoice", NULL, "NL/3b", true},
    {"496081347578692761", "Export buiten EU", "0.0", "sales_invoice", NULL, "NL/3a", true},
    {"496081347578692774", "Vrijgesteld", "0.0", "sales_invoice", NULL, "NL/1e", true},
    {"496081347591275649", "OSS Duitsland 19%", "19.0", "sales_invoice", "DE", "NL/3c", true},
    {"496081347591275662", "OSS Frankrijk 20%", "20.0", "sales_invoice", "FR", "NL/3c", true},
    {"496081347591275675", "OSS België 21%", "21.0", "sales_invoice", "BE", "NL/3c", true},
    {"496081347591275688", "OSS Duitsland 7%", "7.0", "sales_invoice", "DE", "NL/3c", true},
    {"496081347580789901", "BTW hoog inkoop", "21.0", "purchase_invoice", NULL, "NL/5b", true},
    {"496081347582887054", "BTW laag inkoop", "9.0", "purchase_invoice", NULL, "NL/5b", true},
    {"496081347582887067", "BTW 6% (oud)", "6.0", "sales_invoice", NULL, "NL/1b", false},
};

struct seed_ledger {
	const char *id;
	const char *name;
	const char *type;
	const char *account_id;
	bool sales;
};

static const struct seed_ledger seed_ledgers[] = {
    {"496081347348006012", "Omzet", "revenue", "81180.01", true},
    {"496081347348006010", "Ongecategoriseerde inkomsten", "revenue", "81999.01", true},
    {"496081347348006014", "Omzet buitenland", "revenue", "81180.02", true},
    {"496081347348006005", "Algemene kosten", "expenses", "46801.01", false},
    {"496081347346957424", "Debiteuren", "current_assets", "13011", false},
};

static cJSON *seed_tax_rate_json(const struct mbsim *sim, const struct seed_tax_rate *s)
{
	cJSON *t = cJSON_CreateObject();

	cJSON_AddStringToObject(t, "id", s->id);
	cJSON_AddStringToObject(t, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(t, "name", s->name);
	cJSON_AddStringToObject(t, "percentage", s->percentage);
	cJSON_AddStringToObject(t, "tax_rate_type", s->type);
	cJSON_AddBoolToObject(t, "show_tax", true);
	cJSON_AddBoolToObject(t, "active", s->active);
	if (s->country != NULL)
		cJSON_AddStringToObject(t, "country", s->country);
	else
		cJSON_AddNullToObject(t, "country");
	cJSON_AddStringToObject(t, "created_at", SEED_TIME);
	cJSON_AddStringToObject(t, "updated_at", SEED_TIME);
	cJSON_AddStringToObject(t, "_report", s->report);
	return t;
}

static cJSON *seed_ledger_json(const struct mbsim *sim, const struct seed_ledger *s)
{
	cJSON *l = cJSON_CreateObject();
	cJSON *types;

	cJSON_AddStringToObject(l, "id", s->id);
	cJSON_AddStringToObject(l, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(l, "name", s->name);
	cJSON_AddStringToObject(l, "account_type", s->type);
	cJSON_AddStringToObject(l, "account_id", s->account_id);
	cJSON_AddNullToObject(l, "parent_id");
	cJSON_AddBoolToObject(l, "active", true);
	cJSON_AddStringToObject(l, "created_at", SEED_TIME);
	cJSON_AddStringToObject(l, "updated_at", SEED_TIME);
	types = cJSON_AddArrayToObject(l, "allowed_document_types");
	if (s->sales)
		cJSON_AddItemToArray(types, cJSON_CreateString("sales_invoice"));
	else
		cJSON_AddItemToArray(types, cJSON_CreateString("purchase_invoice"));
	cJSON_AddItemToArray(types, cJSON_CreateString("financial_mutation"));
	cJSON_AddItemToArray(types, cJSON_CreateString("general_journal_document"));
	cJSON_AddNullToObject(l, "taxonomy_item");
	cJSON_AddNullToObject(l, "financial_account_id");
	return l;
}

static cJSON *seed_financial_account(const struct mbsim *sim, const char *id, const char *type,
                                     const char *name, const char *identifier)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "id", id);
	cJSON_AddStringToObject(f, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(f, "type", type);
	cJSON_AddStringToObject(f, "name", name);
	cJSON_AddStringToObject(f, "identifier", identifier);
	cJSON_AddStringToObject(f, "currency", "EUR");
	cJSON_AddNullToObject(f, "provider");
	cJSON_AddBoolToObject(f, "moneybird_account", false);
	cJSON_AddBoolToObject(f, "active", true);
	cJSON_AddStringToObject(f, "created_at", SEED_TIME);
	cJSON_AddStringToObject(f, "updated_at", SEED_TIME);
	return f;
}

static cJSON *seed_workflow(const struct mbsim *sim, const char *id, const char *type)
{
	cJSON *w = cJSON_CreateObject();
	cJSON *steps, *step;

	cJSON_AddStringToObject(w, "id", id);
	cJSON_AddStringToObject(w, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(w, "type", type);
	cJSON_AddStringToObject(w, "name", "Standaard");
	cJSON_AddBoolToObject(w, "default", true);
	cJSON_AddStringToObject(w, "currency", "EUR");
	cJSON_AddStringToObject(w, "language", "nl");
	cJSON_AddBoolToObject(w, "active", true);
	cJSON_AddBoolToObject(w, "prices_are_incl_tax", false);
	cJSON_AddArrayToObject(w, "payment_methods");
	cJSON_AddNullToObject(w, "collection_method");
	cJSON_AddNumberToObject(w, "number_of_collections", 0);
	cJSON_AddBoolToObject(w, "show_qr_code", true);
	cJSON_AddStringToObject(w, "created_at", SEED_TIME);
	cJSON_AddStringToObject(w, "updated_at", SEED_TIME);
	steps = cJSON_AddArrayToObject(w, "steps");
	step = cJSON_CreateObject();
	cJSON_AddNumberToObject(step, "step_order", 0);
	cJSON_AddNumberToObject(step, "due_interval", 14);
	cJSON_AddNumberToObject(step, "reminder_delay", 0);
	cJSON_AddNullToObject(step, "reminder_text");
	cJSON_AddBoolToObject(step, "reminder_auto_send", false);
	cJSON_AddNullToObject(step, "action");
	cJSON_AddItemToArray(steps, step);
	return w;
}

static cJSON *seed_document_style(const struct mbsim *sim)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "id", "496081348199449753");
	cJSON_AddStringToObject(d, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(d, "name", "Standaard");
	cJSON_AddStringToObject(d, "identity_id", "496081347126756459");
	cJSON_AddBoolToObject(d, "default", true);
	cJSON_AddStringToObject(d, "paper_size", "A4");
	cJSON_AddStringToObject(d, "created_at", SEED_TIME);
	cJSON_AddStringToObject(d, "updated_at", SEED_TIME);
	return d;
}

void mbsim_store_seed(struct mbsim *sim)
{
	size_t i;

	sim->tax_rates = cJSON_CreateArray();
	for (i = 0; i < sizeof(seed_tax_rates) / sizeof(seed_tax_rates[0]); i++)
		cJSON_AddItemToArray(sim->tax_rates, seed_tax_rate_json(sim, &seed_tax_rates[i]));
	sim->ledger_accounts = cJSON_CreateArray();
	for (i = 0; i < sizeof(seed_ledgers) / sizeof(seed_ledgers[0]); i++)
		cJSON_AddItemToArray(sim->ledger_accounts, seed_ledger_json(sim, &seed_ledgers[i]));
	sim->financial_accounts = cJSON_CreateArray();
	cJSON_AddItemToArray(sim->financial_accounts,
	                     seed_financial_account(sim, "496081479081657829", "BankAccount",
	                                            "Zakelijke rekening NL91ABNA0417164300",
	                                            "NL91ABNA0417164300"));
	cJSON_AddItemToArray(sim->financial_accounts,
	                     seed_financial_account(sim, "496081479060686306", "CreditCardAccount",
	                                            "Creditcard 0001", "0001"));
	sim->workflows = cJSON_CreateArray();
	cJSON_AddItemToArray(sim->workflows,
	                     seed_workflow(sim, "496081347889071247", "InvoiceWorkflow"));
	cJSON_AddItemToArray(sim->workflows,
	                     seed_workflow(sim, "496081348101932181", "EstimateWorkflow"));
	sim->document_styles = cJSON_CreateArray();
	cJSON_AddItemToArray(sim->document_styles, seed_document_style(sim));
	sim->contacts = NULL;
	sim->invoices = NULL;
	sim->webhooks = NULL;
	sim->request_counts = NULL;
	sim->sink = NULL;
	sim->request_log = NULL;
	mbsim_store_reset(sim);
}

/* Deletes each document and leaves its pointer NULL. */
static void delete_all(cJSON **const *documents, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		cJSON_Delete(*documents[i]);
		*documents[i] = NULL;
	}
}

/* What one run of the simulator builds up (emptied by a reset). */
static void delete_run_state(struct mbsim *sim)
{
	cJSON **const documents[] = {&sim->contacts,       &sim->invoices, &sim->webhooks,
	                             &sim->request_counts, &sim->sink,     &sim->request_log};

	delete_all(documents, sizeof(documents) / sizeof(documents[0]));
}

void mbsim_store_reset(struct mbsim *sim)
{
	delete_run_state(sim);
	sim->sink = cJSON_CreateArray();
	sim->request_log = cJSON_CreateArray();
	sim->request_log_count = 0;
	sim->request_log_seq = 0;
	sim->contacts = cJSON_CreateArray();
	sim->invoices = cJSON_CreateArray();
	sim->webhooks = cJSON_CreateArray();
	sim->request_counts = cJSON_CreateObject();
	sim->request_total = 0;
	sim->rate_429_count = 0;
	sim->rate_len = 0;
	sim->rate_head = 0;
	sim->next_customer_id = 1;
	sim->next_draft_id = 1;
	sim->next_invoice_number = 1;
	mbsim_deliveries_free(sim);
	mbsim_faults_default(&sim->faults);
}

void mbsim_store_free(struct mbsim *sim)
{
	cJSON **const reference[] = {&sim->tax_rates, &sim->ledger_accounts,
	                             &sim->financial_accounts, &sim->workflows,
	                             &sim->document_styles};

	delete_run_state(sim);
	delete_all(reference, sizeof(reference) / sizeof(reference[0]));
	mbsim_deliveries_free(sim);
}

/* updated_at = now; version strictly increases so sync clients see every change. */
void mbsim_touch(struct mbsim *sim, cJSON *entity)
{
	char now[32];
	cJSON *version = cJSON_GetObjectItemCaseSensitive(entity, "version");
	double next = (double)mbsim_wall_seconds();

	(void)sim;
	if (cJSON_IsNumber(version) && version->valuedouble >= next)
		next = version->valuedouble + 1;
	mbsim_iso_now(now);
	mbsim_set_str(entity, "updated_at", now);
	if (version != NULL)
		cJSON_SetNumberValue(version, next);
	else
		cJSON_AddNumberToObject(entity, "version", next);
}

void mbsim_add_event(cJSON *entity, const char *action)
{
	cJSON *events = cJSON_GetObjectItemCaseSensitive(entity, "events");
	cJSON *event = cJSON_CreateObject();
	char now[32];

	if (events == NULL)
		events = cJSON_AddArrayToObject(entity, "events");
	mbsim_iso_now(now);
	cJSON_AddStringToObject(event, "administration_id", mbsim_str(entity, "administration_id"));
	cJSON_AddStringToObject(event, "user_id", "496081346724103269");
	cJSON_AddStringToObject(event, "action", action);
	cJSON_AddNullToObject(event, "link_entity_id");
	cJSON_AddNullToObject(event, "link_entity_type");
	cJSON_AddObjectToObject(event, "data");
	cJSON_AddStringToObject(event, "created_at", now);
	cJSON_AddStringToObject(event, "updated_at", now);
	cJSON_AddItemToArray(events, event);
}

cJSON *mbsim_render_contact(const cJSON *contact)
{
	return mbsim_public_copy(contact);
}

cJSON *mbsim_render_invoice(struct mbsim *sim, const cJSON *invoice)
{
	cJSON *out = mbsim_public_copy(invoice);
	const cJSON *contact = mbsim_find_by_id(sim->contacts, mbsim_str(invoice, "contact_id"));

	if (out != NULL && contact != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(out, "contact",
		                                       mbsim_render_contact(contact));
	return out;
}

cJSON *mbsim_contact_by_customer_id(const cJSON *contacts, const char *customer_id)
{
	return mbsim_find_by(contacts, "customer_id", customer_id);
}

bool mbsim_date_locked(const struct mbsim *sim, const char *date)
{
	long d, locked;

	if (sim->faults.locked_until[0] == '\0' || mbsim_date_to_days(date, &d) != 0 ||
	    mbsim_date_to_days(sim->faults.locked_until, &locked) != 0)
		return false;
	return d <= locked;
}

void mbsim_emit_invoice(struct mbsim *sim, const cJSON *invoice, const char *event)
{
	cJSON *entity = mbsim_render_invoice(sim, invoice);

	mbsim_webhooks_emit(sim, event, "SalesInvoice", mbsim_str(invoice, "id"),
	                    mbsim_str(invoice, "state"), entity);
	cJSON_Delete(entity);
}

void mbsim_emit_state_change(struct mbsim *sim, const cJSON *invoice,
                             enum mbsim_state_change change)
{
	if (change == MBSIM_BECAME_PAID)
		mbsim_emit_invoice(sim, invoice, "sales_invoice_state_changed_to_paid");
	else if (change == MBSIM_BECAME_OPEN)
		mbsim_emit_invoice(sim, invoice, "sales_invoice_state_changed_to_open");
}

/* `text` as a string, or null when it is absent or empty. */
static void add_text_or_null(cJSON *object, const char *key, const char *text)
{
	if (text != NULL && text[0] != '\0')
		cJSON_AddStringToObject(object, key, text);
	else
		cJSON_AddNullToObject(object, key);
}

/* Appends a payment to a sent invoice, updates its state; returns the payment. */
cJSON *mbsim_register_payment(struct mbsim *sim, cJSON *invoice, int64_t cents, int64_t base_cents,
                              const char *date, const char *transaction_id, const char *action,
                              const char *financial_account_id)
{
	cJSON *payment = cJSON_CreateObject();
	enum mbsim_state_change change;
	char id[24], now[32], buf[32];

	mbsim_new_id(sim, id);
	mbsim_iso_now(now);
	cJSON_AddStringToObject(payment, "id", id);
	cJSON_AddStringToObject(payment, "administration_id", sim->opt.administration_id);
	cJSON_AddStringToObject(payment, "invoice_type", "SalesInvoice");
	cJSON_AddStringToObject(payment, "invoice_id", mbsim_str(invoice, "id"));
	add_text_or_null(payment, "financial_account_id", financial_account_id);
	cJSON_AddStringToObject(payment, "user_id", "496081346724103269");
	cJSON_AddNullToObject(payment, "payment_transaction_id");
	add_text_or_null(payment, "transaction_identifier", transaction_id);
	mbsim_format_money(cents, buf);
	cJSON_AddStringToObject(payment, "price", buf);
	mbsim_format_money(base_cents, buf);
	cJSON_AddStringToObject(payment, "price_base", buf);
	cJSON_AddStringToObject(payment, "payment_date", date);
	cJSON_AddNullToObject(payment, "credit_invoice_id");
	cJSON_AddNullToObject(payment, "financial_mutation_id");
	cJSON_AddStringToObject(payment, "ledger_account_id", "496081347379463299");
	cJSON_AddNullToObject(payment, "linked_payment_id");
	add_text_or_null(payment, "manual_payment_action", action);
	cJSON_AddStringToObject(payment, "created_at", now);
	cJSON_AddStringToObject(payment, "updated_at", now);
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(invoice, "payments"),
	                     cJSON_Duplicate(payment, 1));
	mbsim_add_event(invoice, "payment_registered");
	change = mbsim_refresh_payment_state(invoice);
	mbsim_touch(sim, invoice);
	/* payment_registered first, then the state change it caused; both carry the
	 * entity as it is now, as Moneybird documents. */
	mbsim_emit_invoice(sim, invoice, "payment_registered");
	mbsim_emit_state_change(sim, invoice, change);
	return payment;
}

const char *const mbsim_contact_string_fields[] = {"company_name",
                                                   "firstname",
                                                   "lastname",
                                                   "address1",
                                                   "address2",
                                                   "zipcode",
                                                   "city",
                                                   "phone",
                                                   "tax_number",
                                                   "chamber_of_commerce",
                                                   "bank_account",
                                                   "send_invoices_to_attention",
                                                   "send_invoices_to_email",
                                                   "send_estimates_to_attention",
                                                   "send_estimates_to_email",
                                                   "sepa_iban",
                                                   "sepa_iban_account_name",
                                                   "sepa_bic",
                                                   "sepa_mandate_id",
                                                   "si_identifier",
                                                   NULL};

static const char *const si_identifier_types[] = {
    "0002", "0007", "0009",   "0037", "0060", "0088", "0096", "0097", "0106", "0130", "0135",
    "0142", "0151", "0183",   "0184", "0188", "0190", "0191", "0192", "0193", "0195", "0196",
    "0198", "0199", "0200",   "0201", "0204", "0205", "0208", "0209", "0210", "0211", "0212",
    "0213", "0215", "0216",   "0221", "0230", "9910", "9913", "9914", "9915", "9918", "9919",
    "9920", "9922", "9923",   "9924", "9925", "9926", "9927", "9928", "9929", "9930", "9931",
    "9932", "9933", "9934",   "9935", "9936", "9937", "9938", "9939", "9940", "9941", "9942",
    "9943", "9944", "9945",   "9946", "9947", "9948", "9949", "9950", "9951", "9952", "9953",
    "9957", "9959", "NL:KVK", NULL};

static bool in_list(const char *value, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, value) == 0)
			return true;
	return false;
}

/* One or more addresses separated by commas, each local@domain.tld. */
static bool valid_emails(const char *s)
{
	char buf[1024];
	char *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		const char *at, *dot;

		while (*tok == ' ')
			tok++;
		at = strchr(tok, '@');
		if (at == NULL || at == tok || strchr(at + 1, '@') != NULL || strchr(tok, ' '))
			return false;
		dot = strrchr(at, '.');
		if (dot == NULL || dot == at + 1 || dot[1] == '\0')
			return false;
	}
	return true;
}

static bool blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t')
			return false;
	return true;
}

/* A bool that Moneybird accepts as JSON boolean or "true"/"false" string. */
static int json_bool(const cJSON *item, bool *out)
{
	if (cJSON_IsBool(item)) {
		*out = cJSON_IsTrue(item);
		return 0;
	}
	if (cJSON_IsString(item) &&
	    (strcmp(item->valuestring, "true") == 0 || strcmp(item->valuestring, "false") == 0)) {
		*out = item->valuestring[0] == 't';
		return 0;
	}
	return -1;
}

static void add_contact_defaults(struct mbsim *sim, cJSON *c, const char *id)
{
	size_t i;
	char now[32], url[160], hex[65];

	mbsim_iso_now(now);
	mbsim_random_hex(sim, hex, 64);
	snprintf(url, sizeof(url), "https://moneybird.dev/%s/sales_invoices/%s/all",
	         sim->opt.administration_id, hex);
	cJSON_AddStringToObject(c, "id", id);
	cJSON_AddStringToObject(c, "administration_id", sim->opt.administration_id);
	for (i = 0; mbsim_contact_string_fields[i] != NULL; i++)
		cJSON_AddStringToObject(c, mbsim_contact_string_fields[i], "");
	cJSON_AddStringToObject(c, "country", "NL");
	cJSON_AddStringToObject(c, "delivery_method", "Email");
	cJSON_AddStringToObject(c, "customer_id", "");
	cJSON_AddBoolToObject(c, "is_trusted", false);
	cJSON_AddNullToObject(c, "max_transfer_amount");
	cJSON_AddStringToObject(c, "attention", "");
	cJSON_AddStringToObject(c, "email", "");
	cJSON_AddBoolToObject(c, "email_ubl", true);
	cJSON_AddBoolToObject(c, "direct_debit", false);
	cJSON_AddBoolToObject(c, "sepa_active", false);
	cJSON_AddNullToObject(c, "sepa_mandate_date");
	cJSON_AddStringToObject(c, "sepa_sequence_type", "RCUR");
	cJSON_AddStringToObject(c, "credit_card_number", "");
	cJSON_AddStringToObject(c, "credit_card_reference", "");
	mbsim_add_nulls(c,
	                (const char *const[]){"credit_card_type", "tax_number_validated_at",
	                                      "tax_number_valid", "invoice_workflow_id",
	                                      "estimate_workflow_id", "si_identifier_type", NULL});
	cJSON_AddBoolToObject(c, "moneybird_payments_mandate", false);
	cJSON_AddStringToObject(c, "created_at", now);
	cJSON_AddStringToObject(c, "updated_at", now);
	cJSON_AddNumberToObject(c, "version", (double)mbsim_wall_seconds());
	cJSON_AddStringToObject(c, "sales_invoices_url", url);
	cJSON_AddArrayToObject(c, "notes");
	cJSON_AddArrayToObject(c, "custom_fields");
	cJSON_AddArrayToObject(c, "contact_people");
	cJSON_AddBoolToObject(c, "archived", false);
	cJSON_AddArrayToObject(c, "events");
}

/* The contact's string fields, the name it must have, country and delivery
 * method. */
static void contact_names(cJSON *c, const cJSON *input, cJSON *errors)
{
	const cJSON *item;
	size_t i;

	for (i = 0; mbsim_contact_string_fields[i] != NULL; i++) {
		item = cJSON_GetObjectItemCaseSensitive(input, mbsim_contact_string_fields[i]);
		if (item == NULL || cJSON_IsNull(item))
			continue;
		if (!cJSON_IsString(item))
			mbsim_validation_add(errors, mbsim_contact_string_fields[i], "is invalid",
			                     "invalid");
		else
			mbsim_set_str(c, mbsim_contact_string_fields[i], item->valuestring);
	}
	if (blank(mbsim_str(c, "company_name")) && blank(mbsim_str(c, "firstname")) &&
	    blank(mbsim_str(c, "lastname"))) {
		mbsim_validation_add(errors, "firstname", "is required", "is required");
		mbsim_validation_add(errors, "lastname", "is required", "is required");
		mbsim_validation_add(errors, "company_name", "is required", "is required");
	}
	item = cJSON_GetObjectItemCaseSensitive(input, "country");
	if (item != NULL && !cJSON_IsNull(item)) {
		const char *v = cJSON_IsString(item) ? item->valuestring : "";

		if (strlen(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z')
			mbsim_validation_add(errors, "country", "is invalid", "invalid");
		else
			mbsim_set_str(c, "country", v);
	}
	item = cJSON_GetObjectItemCaseSensitive(input, "delivery_method");
	if (item != NULL) {
		static const char *const methods[] = {
		    "Email", "Simplerinvoicing", "Peppol", "Manual", "Post", NULL};

		if (!cJSON_IsString(item) || !in_list(item->valuestring, methods))
			mbsim_validation_add(errors, "delivery_method",
			                     "is not included in the list", "inclusion");
		else
			mbsim_set_str(c, "delivery_method", item->valuestring);
	}
}

/* The SEPA fields and the flags. */
static void contact_sepa(cJSON *c, const cJSON *input, cJSON *errors)
{
	const cJSON *item;
	size_t i;

	static const char *const bools[] = {"sepa_active", "email_ubl", "direct_debit", NULL};

	for (i = 0; bools[i] != NULL; i++) {
		bool v;

		item = cJSON_GetObjectItemCaseSensitive(input, bools[i]);
		if (item == NULL)
			continue;
		if (json_bool(item, &v) != 0)
			mbsim_validation_add(errors, bools[i], "is invalid", "invalid");
		else
			cJSON_ReplaceItemInObjectCaseSensitive(c, bools[i], cJSON_CreateBool(v));
	}

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "sepa_active")) &&
	    blank(mbsim_str(c, "sepa_iban")))
		mbsim_validation_add(errors, "sepa_iban", "can't be blank", "blank");
	item = cJSON_GetObjectItemCaseSensitive(input, "sepa_sequence_type");
	if (item != NULL) {
		static const char *const seq[] = {"RCUR", "FRST", "OOFF", "FNAL", NULL};

		if (!cJSON_IsString(item) || !in_list(item->valuestring, seq))
			mbsim_validation_add(errors, "sepa_sequence_type",
			                     "is not included in the list", "inclusion");
		else
			mbsim_set_str(c, "sepa_sequence_type", item->valuestring);
	}
	item = cJSON_GetObjectItemCaseSensitive(input, "sepa_mandate_date");
	if (item != NULL && !cJSON_IsNull(item)) {
		if (!cJSON_IsString(item) || !mbsim_valid_date(item->valuestring))
			mbsim_validation_add(errors, "sepa_mandate_date", "is not a valid date",
			                     "is not a valid date");
		else
			mbsim_set_str(c, "sepa_mandate_date", item->valuestring);
	}
}

/* The optional first contact person (given an id of its own). */
static void contact_person(struct mbsim *sim, cJSON *c, const cJSON *input, cJSON *errors)
{
	const cJSON *item;
	char id[24];

	item = cJSON_GetObjectItemCaseSensitive(input, "contact_person");
	if (item != NULL) {
		const char *first = mbsim_str(item, "firstname");
		const char *last = mbsim_str(item, "lastname");

		if (!cJSON_IsObject(item) || blank(first) || blank(last)) {
			mbsim_validation_add(errors, "contact_person", "is invalid", "invalid");
		} else {
			cJSON *person = cJSON_CreateObject();

			mbsim_new_id(sim, id);
			cJSON_AddStringToObject(person, "id", id);
			cJSON_AddStringToObject(person, "firstname", first);
			cJSON_AddStringToObject(person, "lastname", last);
			cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(c, "contact_people"),
			                     person);
		}
	}
}

/* customer_id: a string, unique in the administration. */
static void contact_customer_id(struct mbsim *sim, cJSON *c, const cJSON *input, cJSON *errors)
{
	const cJSON *item;

	item = cJSON_GetObjectItemCaseSensitive(input, "customer_id");
	if (cJSON_IsNumber(item)) {
		mbsim_validation_add(errors, "customer_id", "must be a string", "invalid");
	} else if (cJSON_IsString(item) && item->valuestring[0] != '\0') {
		if (mbsim_contact_by_customer_id(sim->contacts, item->valuestring) != NULL)
			mbsim_validation_add(errors, "customer_id", "is already in use", "taken");
		else
			mbsim_set_str(c, "customer_id", item->valuestring);
	} else if (item != NULL && !cJSON_IsNull(item) && !cJSON_IsString(item)) {
		mbsim_validation_add(errors, "customer_id", "is invalid", "invalid");
	}
}

/*
 * Builds a contact from the fields of a `contact` wrapper (unknown keys were
 * already refused). Problems are added to errors (a validation body); returns
 * NULL when there were any. The caller owns the result.
 */
cJSON *mbsim_contact_build(struct mbsim *sim, const cJSON *input, cJSON *errors)
{
	cJSON *c = cJSON_CreateObject();
	const cJSON *item;
	char id[24];
	size_t i;

	mbsim_new_id(sim, id);
	add_contact_defaults(sim, c, id);
	contact_names(c, input, errors);
	for (i = 0; i < 2; i++) {
		const char *key = i == 0 ? "send_invoices_to_email" : "send_estimates_to_email";
		const char *v = mbsim_str(c, key);

		if (v[0] != '\0' && !valid_emails(v))
			mbsim_validation_add(errors, key, "is invalid", "invalid");
	}
	mbsim_set_str(c, "email", mbsim_str(c, "send_invoices_to_email"));
	item = cJSON_GetObjectItemCaseSensitive(input, "si_identifier_type");
	if (item != NULL && !cJSON_IsNull(item)) {
		if (!cJSON_IsString(item) || !in_list(item->valuestring, si_identifier_types))
			mbsim_validation_add(errors, "si_identifier_type",
			                     "is not included in the list", "inclusion");
		else
			mbsim_set_str(c, "si_identifier_type", item->valuestring);
	}
	contact_sepa(c, input, errors);
	for (i = 0; i < 2; i++) {
		const char *key = i == 0 ? "invoice_workflow_id" : "estimate_workflow_id";

		item = cJSON_GetObjectItemCaseSensitive(input, key);
		if (item == NULL || cJSON_IsNull(item))
			continue;
		if (!cJSON_IsString(item) ||
		    mbsim_find_by_id(sim->workflows, item->valuestring) == NULL)
			mbsim_validation_add(errors, key, "is invalid", "invalid");
		else
			mbsim_set_str(c, key, item->valuestring);
	}
	contact_person(sim, c, input, errors);
	contact_customer_id(sim, c, input, errors);
	if (!mbsim_validation_empty(errors)) {
		cJSON_Delete(c);
		return NULL;
	}
	if (mbsim_str(c, "customer_id")[0] == '\0') {
		/* "Will be assigned automatically if empty": sequential, skipping taken ones. */
		char buf[24];

		do
			snprintf(buf, sizeof(buf), "%u", sim->next_customer_id++);
		while (mbsim_contact_by_customer_id(sim->contacts, buf) != NULL);
		mbsim_set_str(c, "customer_id", buf);
	}
	mbsim_add_event(c, "contact_created");
	return c;
}

/* mbsim_contact_build for a create: the contact, or NULL with the validation
 * answer (422) set in resp. */
cJSON *mbsim_contact_new(struct mbsim *sim, const cJSON *input, struct mbsim_response *resp)
{
	cJSON *errors = mbsim_validation_new();
	cJSON *contact = mbsim_contact_build(sim, input, errors);

	if (contact == NULL) {
		mbsim_validation_respond(resp, errors);
		return NULL;
	}
	cJSON_Delete(errors);
	return contact;
}
