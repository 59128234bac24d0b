/*
 * mb_client_driver: runs one Moneybird client operation (or a loop of them)
 * against a base URL and prints the outcome class and the typed result as
 * key=value lines, so the shell tests in tests/integration/ can exercise
 * connector/moneybird/mb_client.c against the simulator. With --budget every call
 * goes through the shared rate budget in PostgreSQL, as in the daemon.
 *
 *   mb_client_driver [OPTIONS] BASE_URL ADMIN_ID TOKEN OP [ARGS...]
 *   mb_client_driver [OPTIONS] BASE_URL ADMIN_ID TOKEN loop N OP [ARGS...]
 *
 * Options: --budget CONNINFO, --requests N, --per SECONDS (defaults 150/300),
 * --wait-ms MS (budget wait per call), --background, --timeout-ms MS,
 * --stall-seconds S, --max-response-bytes N, --warm (one GET first, so the
 * operation runs on a reused connection).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "mb_client.h"
#include "mb_json.h"
#include "store.h"

#define MAX_PAIRS 24

struct counts {
	long calls[MB_OUTCOME_COUNT];
	long budget_refused;
	long http_429;
};

static struct counts counts;

static void count_call(void *ctx, const struct mb_call *call)
{
	(void)ctx;
	if ((unsigned)call->outcome < MB_OUTCOME_COUNT)
		counts.calls[call->outcome]++;
	if (call->budget_refused)
		counts.budget_refused++;
	if (call->http_status == 429)
		counts.http_429++;
}

/* key=value arguments */
static const char *arg_value(int argc, char **argv, const char *key)
{
	size_t length = strlen(key);
	int i;

	for (i = 0; i < argc; i++)
		if (strncmp(argv[i], key, length) == 0 && argv[i][length] == '=')
			return argv[i] + length + 1;
	return NULL;
}

static int64_t cents_arg(int argc, char **argv, const char *key)
{
	const char *text = arg_value(argc, argv, key);
	int64_t cents = 0;

	if (text != NULL && mb_money_parse(text, &cents) != 0) {
		fprintf(stderr, "%s=%s is not an amount\n", key, text);
		exit(2);
	}
	return cents;
}

static void print_contact(const struct mb_contact *c)
{
	printf("id=%s\ncustomer_id=%s\ncompany_name=%s\nfirstname=%s\nlastname=%s\n"
	       "tax_number=%s\nsi_identifier=%s\nsi_identifier_type=%s\n"
	       "send_invoices_to_email=%s\ncountry=%s\narchived=%d\n",
	       c->id, c->customer_id, c->company_name, c->firstname, c->lastname, c->tax_number,
	       c->si_identifier, c->si_identifier_type, c->send_invoices_to_email, c->country,
	       c->archived ? 1 : 0);
}

static void print_invoice(const struct mb_sales_invoice *inv, const char *prefix)
{
	size_t i;

	printf(
	    "%sid=%s\n%scontact_id=%s\n%sinvoice_id=%s\n%sreference=%s\n%sstate=%s\n"
	    "%scurrency=%s\n%sinvoice_date=%s\n%stotal_excl_cents=%lld\n%stotal_incl_cents=%lld\n"
	    "%stotal_paid_cents=%lld\n%stotal_unpaid_cents=%lld\n%spayments=%zu\n",
	    prefix, inv->id, prefix, inv->contact_id, prefix, inv->invoice_id, prefix,
	    inv->reference, prefix, inv->state, prefix, inv->currency, prefix, inv->invoice_date,
	    prefix, (long long)inv->total_price_excl_tax_cents, prefix,
	    (long long)inv->total_price_incl_tax_cents, prefix, (long long)inv->total_paid_cents,
	    prefix, (long long)inv->total_unpaid_cents, prefix, inv->payment_count_total);
	for (i = 0; i < inv->payment_count; i++)
		printf("%spayment=%s %lld %s %s\n", prefix, inv->payments[i].id,
		       (long long)inv->payments[i].price_cents, inv->payments[i].payment_date,
		       inv->payments[i].transaction_identifier);
}

/* What one operation gets: its arguments (argv[0] is its name), whether to
 * print, where a single contact or invoice it reads goes, the error. */
struct op_args {
	int argc;
	char **argv;
	bool quiet;
	struct mb_contact *contact;
	struct mb_sales_invoice *invoice;
	struct cn_error *err;
};

/* LIST_OP(NAME, TYPE, CALL, FORMAT, FIELDS...): the operation NAME, which
 * lists TYPE with CALL (it fills `list` and `count`) and prints count=N and,
 * for each element `r`, one line as FORMAT with FIELDS. */
#define LIST_OP(name, type, call, ...)                                                             \
	static enum mb_outcome name(struct mb_client *client, const struct op_args *a)             \
	{                                                                                          \
		type *list = NULL;                                                                 \
		size_t count = 0, i;                                                               \
		enum mb_outcome outcome = call;                                                    \
                                                                                                   \
		if (outcome == MB_OK && !a->quiet) {                                               \
			printf("count=%zu\n", count);                                              \
			for (i = 0; i < count; i++) {                                              \
				const type *r = &list[i];                                          \
                                                                                                   \
				printf(__VA_ARGS__);                                               \
			}                                                                          \
		}                                                                                  \
		free(list);                                                                        \
		return outcome;                                                                    \
	}

/* ARG(FIELD), inside an operation: a request's FIELD from the key=value
 * argument of that name. */
#define ARG(field) .field = arg_value(a->argc, a->argv, #field)

LIST_OP(op_admins, struct mb_administration, mb_administrations_list(client, &list, &count, a->err),
        "item=%s|%s|%s\n", r->id, r->name, r->currency)
LIST_OP(op_invoice_list, struct mb_sales_invoice,
        mb_sales_invoice_list(client, a->argv[1], &list, &count, a->err), "item=%s|%s|%s\n", r->id,
        r->state, r->reference)
LIST_OP(op_tax_rates, struct mb_tax_rate, mb_tax_rates_list(client, &list, &count, a->err),
        "item=%s|%s|%s|%s|%s\n", r->id, r->name, r->percentage, r->tax_rate_type, r->country)
LIST_OP(op_ledger_accounts, struct mb_ledger_account,
        mb_ledger_accounts_list(client, &list, &count, a->err), "item=%s|%s|%s\n", r->id, r->name,
        r->account_type)
LIST_OP(op_financial_accounts, struct mb_financial_account,
        mb_financial_accounts_list(client, &list, &count, a->err), "item=%s|%s|%s\n", r->id,
        r->name, r->type)
LIST_OP(op_workflows, struct mb_workflow, mb_workflows_list(client, &list, &count, a->err),
        "item=%s|%s|%s\n", r->id, r->name, r->type)
LIST_OP(op_document_styles, struct mb_document_style,
        mb_document_styles_list(client, &list, &count, a->err), "item=%s|%s\n", r->id, r->name)
LIST_OP(op_webhooks, struct mb_webhook, mb_webhooks_list(client, &list, &count, a->err),
        "item=%s|%s|%s\n", r->id, r->url, r->enabled_events)
LIST_OP(op_sync_list, struct mb_sync_entry,
        mb_sales_invoice_sync_list(client, a->argc == 2 ? a->argv[1] : NULL, &list, &count, a->err),
        "item=%s|%lld\n", r->id, (long long)r->version)
LIST_OP(op_sync_fetch, struct mb_sales_invoice,
        mb_sales_invoice_sync_fetch(client, (const char *const *)a->argv + 1, (size_t)(a->argc - 1),
                                    &list, &count, a->err),
        "item=%s|%s|%s|%lld\n", r->id, r->state, r->reference,
        (long long)r->total_price_incl_tax_cents)

/* The operations that read one contact or invoice into *a->contact or
 * *a->invoice; run() prints it. */
static enum mb_outcome op_contact_by_customer_id(struct mb_client *client, const struct op_args *a)
{
	return mb_contact_get_by_customer_id(client, a->argv[1], a->contact, a->err);
}

static enum mb_outcome op_contact_search(struct mb_client *client, const struct op_args *a)
{
	static const struct {
		const char *name;
		enum mb_contact_field field;
	} fields[] = {{"tax_number", MB_CONTACT_FIELD_TAX_NUMBER},
	              {"email", MB_CONTACT_FIELD_EMAIL},
	              {"si_identifier", MB_CONTACT_FIELD_SI_IDENTIFIER},
	              {"company_name", MB_CONTACT_FIELD_COMPANY_NAME}};
	enum mb_contact_field field = MB_CONTACT_FIELD_CUSTOMER_ID;
	enum mb_outcome outcome;
	size_t matches = 0, i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(a->argv[2], fields[i].name) == 0)
			field = fields[i].field;
	outcome = mb_contact_search(client, a->argv[1], field,
	                            a->argc > 3 && strcmp(a->argv[3], "archived") == 0, a->contact,
	                            &matches, a->err);
	if (!a->quiet)
		printf("matches=%zu\n", matches);
	return outcome;
}

static enum mb_outcome op_contact_create(struct mb_client *client, const struct op_args *a)
{
	struct mb_contact_request req = {
	    ARG(customer_id),
	    ARG(company_name),
	    ARG(firstname),
	    ARG(lastname),
	    ARG(address1),
	    ARG(address2),
	    ARG(zipcode),
	    ARG(city),
	    ARG(country),
	    ARG(send_invoices_to_email),
	    ARG(tax_number),
	    ARG(si_identifier),
	    ARG(si_identifier_type),
	};

	return mb_contact_create(client, &req, a->contact, a->err);
}

static enum mb_outcome op_contact_get(struct mb_client *client, const struct op_args *a)
{
	return mb_contact_get(client, a->argv[1], a->contact, a->err);
}

static enum mb_outcome op_invoice_create(struct mb_client *client, const struct op_args *a)
{
	struct mb_invoice_line line = {
	    ARG(description),
	    .price_cents = cents_arg(a->argc, a->argv, "price"),
	    ARG(amount),
	    ARG(tax_rate_id),
	    ARG(ledger_account_id),
	};
	const char *incl = arg_value(a->argc, a->argv, "prices_are_incl_tax");
	struct mb_invoice_request req = {
	    ARG(contact_id),
	    ARG(reference),
	    ARG(invoice_date),
	    ARG(currency),
	    .prices_are_incl_tax = incl != NULL && strcmp(incl, "true") == 0,
	    .lines = &line,
	    .line_count = 1,
	    ARG(workflow_id),
	    ARG(document_style_id),
	};

	if (line.description == NULL)
		line.description = "Het Grote Boek";
	return mb_sales_invoice_create(client, &req, a->invoice, a->err);
}

static enum mb_outcome op_invoice_get(struct mb_client *client, const struct op_args *a)
{
	return mb_sales_invoice_get(client, a->argv[1], a->invoice, a->err);
}

static enum mb_outcome op_invoice_find(struct mb_client *client, const struct op_args *a)
{
	return mb_sales_invoice_find_by_reference(client, a->argv[1], a->invoice, a->err);
}

static enum mb_outcome op_invoice_send(struct mb_client *client, const struct op_args *a)
{
	return mb_sales_invoice_send(client, a->argv[1], a->argv[2], a->invoice, a->err);
}

static enum mb_outcome op_payment_create(struct mb_client *client, const struct op_args *a)
{
	struct mb_payment_request req = {
	    ARG(payment_date),           .price_cents = cents_arg(a->argc, a->argv, "price"),
	    ARG(transaction_identifier), ARG(manual_payment_action),
	    ARG(financial_account_id),
	};
	struct mb_payment payment;
	enum mb_outcome outcome = mb_payment_create(client, a->argv[1], &req, &payment, a->err);

	if (outcome == MB_OK && !a->quiet)
		printf("id=%s\nprice_cents=%lld\npayment_date=%s\ntransaction_identifier=%s\n"
		       "manual_payment_action=%s\nfinancial_account_id=%s\n",
		       payment.id, (long long)payment.price_cents, payment.payment_date,
		       payment.transaction_identifier, payment.manual_payment_action,
		       payment.financial_account_id);
	return outcome;
}

static enum mb_outcome op_webhook_create(struct mb_client *client, const struct op_args *a)
{
	struct mb_webhook webhook;
	enum mb_outcome outcome =
	    mb_webhook_create(client, a->argv[1], (const char *const *)a->argv + 2,
	                      (size_t)(a->argc - 2), &webhook, a->err);

	if (outcome == MB_OK && !a->quiet)
		printf("id=%s\nurl=%s\nevents=%s\ntoken=%s\nsecret=%s\n", webhook.id, webhook.url,
		       webhook.enabled_events, webhook.token, webhook.secret);
	return outcome;
}

static enum mb_outcome op_webhook_delete(struct mb_client *client, const struct op_args *a)
{
	return mb_webhook_delete(client, a->argv[1], a->err);
}

enum op_shows { SHOWS_NOTHING, SHOWS_CONTACT, SHOWS_INVOICE };

/* Every operation: its name, how many words (with the name) it takes, the
 * function, and what run() prints of a single result. max_argc 0: no limit. */
static const struct op {
	const char *name;
	int min_argc, max_argc;
	enum mb_outcome (*fn)(struct mb_client *client, const struct op_args *a);
	enum op_shows shows;
} ops[] = {
    {"admins", 1, 0, op_admins, SHOWS_NOTHING},
    {"contact-by-customer-id", 2, 2, op_contact_by_customer_id, SHOWS_CONTACT},
    {"contact-get", 2, 2, op_contact_get, SHOWS_CONTACT},
    {"contact-search", 3, 0, op_contact_search, SHOWS_CONTACT},
    {"contact-create", 1, 0, op_contact_create, SHOWS_CONTACT},
    {"invoice-create", 1, 0, op_invoice_create, SHOWS_INVOICE},
    {"invoice-get", 2, 2, op_invoice_get, SHOWS_INVOICE},
    {"invoice-find", 2, 2, op_invoice_find, SHOWS_INVOICE},
    {"invoice-list", 2, 2, op_invoice_list, SHOWS_NOTHING},
    {"invoice-send", 3, 3, op_invoice_send, SHOWS_INVOICE},
    {"payment-create", 2, 0, op_payment_create, SHOWS_NOTHING},
    {"tax-rates", 1, 0, op_tax_rates, SHOWS_NOTHING},
    {"ledger-accounts", 1, 0, op_ledger_accounts, SHOWS_NOTHING},
    {"financial-accounts", 1, 0, op_financial_accounts, SHOWS_NOTHING},
    {"workflows", 1, 0, op_workflows, SHOWS_NOTHING},
    {"document-styles", 1, 0, op_document_styles, SHOWS_NOTHING},
    {"webhook-create", 2, 0, op_webhook_create, SHOWS_NOTHING},
    {"webhooks", 1, 0, op_webhooks, SHOWS_NOTHING},
    {"webhook-delete", 2, 2, op_webhook_delete, SHOWS_NOTHING},
    {"sync-list", 1, 2, op_sync_list, SHOWS_NOTHING},
    {"sync-fetch", 1, 0, op_sync_fetch, SHOWS_NOTHING},
};

static enum mb_outcome run(struct mb_client *client, int argc, char **argv, bool quiet,
                           struct cn_error *err)
{
	struct mb_contact contact;
	struct mb_sales_invoice invoice;
	struct op_args a = {argc, argv, quiet, &contact, &invoice, err};
	enum mb_outcome outcome;
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(argv[0], ops[i].name) == 0 && argc >= ops[i].min_argc &&
		    (ops[i].max_argc == 0 || argc <= ops[i].max_argc))
			break;
	if (i == sizeof(ops) / sizeof(ops[0])) {
		fprintf(stderr, "mb_client_driver: unknown operation or wrong arguments: %s\n",
		        argv[0]);
		exit(2);
	}
	outcome = ops[i].fn(client, &a);
	if (outcome == MB_OK && !quiet && ops[i].shows == SHOWS_CONTACT)
		print_contact(&contact);
	if (outcome == MB_OK && !quiet && ops[i].shows == SHOWS_INVOICE)
		print_invoice(&invoice, "");
	return outcome;
}

int main(int argc, char **argv)
{
	struct mb_client_options options;
	struct budget_limits limits = {150, 300, 0};
	struct budget_gate gate;
	const char *budget_conninfo = NULL;
	enum budget_priority priority = BUDGET_LIVE;
	int wait_ms = 0;
	bool warm = false;
	struct mb_client *client = NULL;
	struct cn_error err = {""};
	PGconn *db = NULL;
	enum mb_outcome outcome;
	const struct mb_call *call;
	int index = 1;
	int rc = 1;

	memset(&options, 0, sizeof(options));
	while (index < argc && strncmp(argv[index], "--", 2) == 0) {
		const char *option = argv[index];
		const char *value = index + 1 < argc ? argv[index + 1] : "";

		if (strcmp(option, "--warm") == 0) {
			warm = true;
			index++;
			continue;
		}
		if (strcmp(option, "--background") == 0) {
			priority = BUDGET_BACKGROUND;
			index++;
			continue;
		}
		if (strcmp(option, "--budget") == 0)
			budget_conninfo = value;
		else if (strcmp(option, "--requests") == 0)
			limits.requests = (int)strtol(value, NULL, 10);
		else if (strcmp(option, "--per") == 0)
			limits.per_seconds = (int)strtol(value, NULL, 10);
		else if (strcmp(option, "--wait-ms") == 0)
			wait_ms = (int)strtol(value, NULL, 10);
		else if (strcmp(option, "--timeout-ms") == 0)
			options.timeout_ms = strtol(value, NULL, 10);
		else if (strcmp(option, "--stall-seconds") == 0)
			options.stall_seconds = strtol(value, NULL, 10);
		else if (strcmp(option, "--max-response-bytes") == 0)
			options.max_response_bytes = (size_t)strtoull(value, NULL, 10);
		else {
			fprintf(stderr, "mb_client_driver: unknown option %s\n", option);
			return 2;
		}
		index += 2;
	}
	if (argc - index < 4) {
		fprintf(stderr,
		        "usage: mb_client_driver [OPTIONS] BASE_URL ADMIN TOKEN OP [ARGS]\n");
		return 2;
	}
	options.base_url = argv[index];
	options.administration_id = argv[index + 1];
	options.api_token = argv[index + 2];
	index += 3;
	options.hooks.after_call = count_call;
	if (budget_conninfo != NULL) {
		if (store_connect(budget_conninfo, &db, &err) != 0 ||
		    budget_gate_init(&gate, db, options.api_token, &limits, priority, wait_ms,
		                     &err) != 0) {
			fprintf(stderr, "mb_client_driver: %s\n", err.message);
			goto out;
		}
		gate.next_after_call = count_call;
		budget_gate_hooks(&gate, &options.hooks);
	}
	if (mb_client_create(&options, &client, &err) != 0) {
		fprintf(stderr, "mb_client_driver: %s\n", err.message);
		goto out;
	}
	if (strcmp(argv[index], "loop") == 0 && argc - index >= 3) {
		long n = strtol(argv[index + 1], NULL, 10);
		long i;
		int o;

		for (i = 0; i < n; i++) {
			outcome = run(client, argc - index - 2, argv + index + 2, true, &err);
			if (outcome != MB_OK && outcome != MB_RATE_LIMITED)
				fprintf(stderr, "call %ld: %s: %s\n", i, mb_outcome_name(outcome),
				        err.message);
		}
		printf("calls=%ld\n", n);
		for (o = 0; o < MB_OUTCOME_COUNT; o++)
			printf("%s=%ld\n", mb_outcome_name((enum mb_outcome)o), counts.calls[o]);
		printf("budget_refused=%ld\nhttp_429=%ld\n", counts.budget_refused,
		       counts.http_429);
		rc = 0;
		goto out;
	}
	if (warm) {
		char *admins[] = {"admins"};

		if (run(client, 1, admins, true, &err) != MB_OK)
			fprintf(stderr, "mb_client_driver: warm-up call failed: %s\n", err.message);
	}
	outcome = run(client, argc - index, argv + index, false, &err);
	call = mb_client_last_call(client);
	printf("outcome=%s\nstatus=%ld\nsent=%d\nretry_at=%lld\nendpoint=%s\n",
	       mb_outcome_name(outcome), call->http_status, call->request_sent ? 1 : 0,
	       (long long)call->retry_at, call->endpoint != NULL ? call->endpoint : "");
	if (outcome != MB_OK)
		printf("error=%s\n", err.message);
	rc = outcome == MB_OK ? 0 : 3;
out:
	mb_client_free(client);
	PQfinish(db);
	return rc;
}
