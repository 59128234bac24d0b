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

static enum mb_outcome run(struct mb_client *client, int argc, char **argv, bool quiet,
                           struct cn_error *err)
{
	const char *op = argv[0];
	enum mb_outcome outcome = MB_VALIDATION;
	size_t count = 0;
	size_t i;

	if (strcmp(op, "admins") == 0) {
		struct mb_administration *list = NULL;

		outcome = mb_administrations_list(client, &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s\n", list[i].id, list[i].name,
				       list[i].currency);
		}
		free(list);
	} else if (strcmp(op, "contact-by-customer-id") == 0 && argc == 2) {
		struct mb_contact contact;

		outcome = mb_contact_get_by_customer_id(client, argv[1], &contact, err);
		if (outcome == MB_OK && !quiet)
			print_contact(&contact);
	} else if (strcmp(op, "contact-get") == 0 && argc == 2) {
		struct mb_contact contact;

		outcome = mb_contact_get(client, argv[1], &contact, err);
		if (outcome == MB_OK && !quiet)
			print_contact(&contact);
	} else if (strcmp(op, "contact-search") == 0 && argc >= 3) {
		struct mb_contact contact;
		enum mb_contact_field field = MB_CONTACT_FIELD_CUSTOMER_ID;
		size_t matches = 0;

		if (strcmp(argv[2], "tax_number") == 0)
			field = MB_CONTACT_FIELD_TAX_NUMBER;
		else if (strcmp(argv[2], "email") == 0)
			field = MB_CONTACT_FIELD_EMAIL;
		else if (strcmp(argv[2], "si_identifier") == 0)
			field = MB_CONTACT_FIELD_SI_IDENTIFIER;
		else if (strcmp(argv[2], "company_name") == 0)
			field = MB_CONTACT_FIELD_COMPANY_NAME;
		outcome = mb_contact_search(client, argv[1], field,
		                            argc > 3 && strcmp(argv[3], "archived") == 0, &contact,
		                            &matches, err);
		if (!quiet)
			printf("matches=%zu\n", matches);
		if (outcome == MB_OK && !quiet)
			print_contact(&contact);
	} else if (strcmp(op, "contact-create") == 0) {
		struct mb_contact_request req = {
		    .customer_id = arg_value(argc, argv, "customer_id"),
		    .company_name = arg_value(argc, argv, "company_name"),
		    .firstname = arg_value(argc, argv, "firstname"),
		    .lastname = arg_value(argc, argv, "lastname"),
		    .address1 = arg_value(argc, argv, "address1"),
		    .address2 = arg_value(argc, argv, "address2"),
		    .zipcode = arg_value(argc, argv, "zipcode"),
		    .city = arg_value(argc, argv, "city"),
		    .country = arg_value(argc, argv, "country"),
		    .send_invoices_to_email = arg_value(argc, argv, "send_invoices_to_email"),
		    .tax_number = arg_value(argc, argv, "tax_number"),
		    .si_identifier = arg_value(argc, argv, "si_identifier"),
		    .si_identifier_type = arg_value(argc, argv, "si_identifier_type"),
		};
		struct mb_contact contact;

		outcome = mb_contact_create(client, &req, &contact, err);
		if (outcome == MB_OK && !quiet)
			print_contact(&contact);
	} else if (strcmp(op, "invoice-create") == 0) {
		struct mb_invoice_line line = {
		    .description = arg_value(argc, argv, "description"),
		    .price_cents = cents_arg(argc, argv, "price"),
		    .amount = arg_value(argc, argv, "amount"),
		    .tax_rate_id = arg_value(argc, argv, "tax_rate_id"),
		    .ledger_account_id = arg_value(argc, argv, "ledger_account_id"),
		};
		const char *incl = arg_value(argc, argv, "prices_are_incl_tax");
		struct mb_invoice_request req = {
		    .contact_id = arg_value(argc, argv, "contact_id"),
		    .reference = arg_value(argc, argv, "reference"),
		    .invoice_date = arg_value(argc, argv, "invoice_date"),
		    .currency = arg_value(argc, argv, "currency"),
		    .prices_are_incl_tax = incl != NULL && strcmp(incl, "true") == 0,
		    .lines = &line,
		    .line_count = 1,
		    .workflow_id = arg_value(argc, argv, "workflow_id"),
		    .document_style_id = arg_value(argc, argv, "document_style_id"),
		};
		struct mb_sales_invoice invoice;

		if (line.description == NULL)
			line.description = "Het Grote Boek";
		outcome = mb_sales_invoice_create(client, &req, &invoice, err);
		if (outcome == MB_OK && !quiet)
			print_invoice(&invoice, "");
	} else if (strcmp(op, "invoice-get") == 0 && argc == 2) {
		struct mb_sales_invoice invoice;

		outcome = mb_sales_invoice_get(client, argv[1], &invoice, err);
		if (outcome == MB_OK && !quiet)
			print_invoice(&invoice, "");
	} else if (strcmp(op, "invoice-find") == 0 && argc == 2) {
		struct mb_sales_invoice invoice;

		outcome = mb_sales_invoice_find_by_reference(client, argv[1], &invoice, err);
		if (outcome == MB_OK && !quiet)
			print_invoice(&invoice, "");
	} else if (strcmp(op, "invoice-list") == 0 && argc == 2) {
		struct mb_sales_invoice *list = NULL;

		outcome = mb_sales_invoice_list(client, argv[1], &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s\n", list[i].id, list[i].state,
				       list[i].reference);
		}
		free(list);
	} else if (strcmp(op, "invoice-send") == 0 && argc == 3) {
		struct mb_sales_invoice invoice;

		outcome = mb_sales_invoice_send(client, argv[1], argv[2], &invoice, err);
		if (outcome == MB_OK && !quiet)
			print_invoice(&invoice, "");
	} else if (strcmp(op, "payment-create") == 0 && argc >= 2) {
		struct mb_payment_request req = {
		    .payment_date = arg_value(argc, argv, "payment_date"),
		    .price_cents = cents_arg(argc, argv, "price"),
		    .transaction_identifier = arg_value(argc, argv, "transaction_identifier"),
		    .manual_payment_action = arg_value(argc, argv, "manual_payment_action"),
		    .financial_account_id = arg_value(argc, argv, "financial_account_id"),
		};
		struct mb_payment payment;

		outcome = mb_payment_create(client, argv[1], &req, &payment, err);
		if (outcome == MB_OK && !quiet)
			printf(
			    "id=%s\nprice_cents=%lld\npayment_date=%s\ntransaction_identifier=%s\n"
			    "manual_payment_action=%s\nfinancial_account_id=%s\n",
			    payment.id, (long long)payment.price_cents, payment.payment_date,
			    payment.transaction_identifier, payment.manual_payment_action,
			    payment.financial_account_id);
	} else if (strcmp(op, "tax-rates") == 0) {
		struct mb_tax_rate *list = NULL;

		outcome = mb_tax_rates_list(client, &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s|%s|%s\n", list[i].id, list[i].name,
				       list[i].percentage, list[i].tax_rate_type, list[i].country);
		}
		free(list);
	} else if (strcmp(op, "ledger-accounts") == 0) {
		struct mb_ledger_account *list = NULL;

		outcome = mb_ledger_accounts_list(client, &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s\n", list[i].id, list[i].name,
				       list[i].account_type);
		}
		free(list);
	} else if (strcmp(op, "financial-accounts") == 0) {
		struct mb_financial_account *list = NULL;

		outcome = mb_financial_accounts_list(client, &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s\n", list[i].id, list[i].name, list[i].type);
		}
		free(list);
	} else if (strcmp(op, "workflows") == 0) {
		struct mb_workflow *list = NULL;

		outcome = mb_workflows_list(client, &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s\n", list[i].id, list[i].name, list[i].type);
		}
		free(list);
	} else if (strcmp(op, "document-styles") == 0) {
		struct mb_document_style *list = NULL;

		outcome = mb_document_styles_list(client, &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s\n", list[i].id, list[i].name);
		}
		free(list);
	} else if (strcmp(op, "webhook-create") == 0 && argc >= 2) {
		struct mb_webhook webhook;

		outcome = mb_webhook_create(client, argv[1], (const char *const *)argv + 2,
		                            (size_t)(argc - 2), &webhook, err);
		if (outcome == MB_OK && !quiet)
			printf("id=%s\nurl=%s\nevents=%s\ntoken=%s\nsecret=%s\n", webhook.id,
			       webhook.url, webhook.enabled_events, webhook.token, webhook.secret);
	} else if (strcmp(op, "webhooks") == 0) {
		struct mb_webhook *list = NULL;

		outcome = mb_webhooks_list(client, &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s\n", list[i].id, list[i].url,
				       list[i].enabled_events);
		}
		free(list);
	} else if (strcmp(op, "webhook-delete") == 0 && argc == 2) {
		outcome = mb_webhook_delete(client, argv[1], err);
	} else if (strcmp(op, "sync-list") == 0 && argc <= 2) {
		struct mb_sync_entry *list = NULL;

		outcome = mb_sales_invoice_sync_list(client, argc == 2 ? argv[1] : NULL, &list,
		                                     &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%lld\n", list[i].id, (long long)list[i].version);
		}
		free(list);
	} else if (strcmp(op, "sync-fetch") == 0) {
		struct mb_sales_invoice *list = NULL;

		outcome = mb_sales_invoice_sync_fetch(client, (const char *const *)argv + 1,
		                                      (size_t)(argc - 1), &list, &count, err);
		if (outcome == MB_OK && !quiet) {
			printf("count=%zu\n", count);
			for (i = 0; i < count; i++)
				printf("item=%s|%s|%s|%lld\n", list[i].id, list[i].state,
				       list[i].reference,
				       (long long)list[i].total_price_incl_tax_cents);
		}
		free(list);
	} else {
		fprintf(stderr, "mb_client_driver: unknown operation or wrong arguments: %s\n", op);
		exit(2);
	}
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
