/* Moneybird endpoints for the payments of a sales invoice: register one
 * (every field checked in the reference's order) and delete one. */
#include "mbsim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* payment_date: a date or an ISO datetime, stored as the date (date is ""
 * when it is missing or invalid). */
static void check_payment_date(struct mbsim *sim, const cJSON *in, cJSON *errors, char date[11])
{
	const cJSON *item;

	date[0] = '\0';
	item = cJSON_GetObjectItemCaseSensitive(in, "payment_date");
	if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
		mbsim_validation_add(errors, "payment_date", "can't be blank", "blank");
		mbsim_validation_add(errors, "payment_date", "is not a valid date",
		                     "is not a valid date");
	} else {
		/* A date or an ISO datetime; stored as the date. */
		snprintf(date, 11, "%.10s", item->valuestring);
		if (!mbsim_valid_date(date) ||
		    (strlen(item->valuestring) > 10 && item->valuestring[10] != 'T' &&
		     item->valuestring[10] != ' ')) {
			mbsim_validation_add(errors, "payment_date", "is not a valid date",
			                     "is not a valid date");
		} else if (mbsim_date_locked(sim, date)) {
			mbsim_validation_add(errors, "payment_date",
			                     "is in a locked period (bookkeeping is locked until "
			                     "the given date)",
			                     "locked_period");
		}
	}
}

/* price and price_base (required for an invoice in another currency). */
static void check_payment_amounts(const cJSON *in, const cJSON *inv, cJSON *errors,
                                  int64_t *cents_out, int64_t *base_out)
{
	int64_t cents = 0, base_cents = 0;
	const cJSON *item;
	bool foreign;

	item = cJSON_GetObjectItemCaseSensitive(in, "price");
	if (item == NULL || cJSON_IsNull(item)) {
		mbsim_validation_add(errors, "price", "can't be blank", "blank");
		mbsim_validation_add(errors, "price", "is not a number", "not_a_number");
	} else {
		int rc = mbsim_parse_money(item, &cents);

		if (rc == -2)
			mbsim_validation_add(errors, "price", "has more than 2 decimals",
			                     "invalid");
		else if (rc != 0)
			mbsim_validation_add(errors, "price", "is not a number", "not_a_number");
		else if (cents == 0)
			mbsim_validation_add(errors, "price", "must be other than 0", "other_than");
	}
	base_cents = cents;
	foreign = strcmp(mbsim_str(inv, "currency"), "EUR") != 0;
	item = cJSON_GetObjectItemCaseSensitive(in, "price_base");
	if (item != NULL && !cJSON_IsNull(item)) {
		if (mbsim_parse_money(item, &base_cents) != 0)
			mbsim_validation_add(errors, "price_base", "is not a number",
			                     "not_a_number");
	} else if (foreign) {
		mbsim_validation_add(errors, "price_base", "can't be blank", "blank");
	}
	*cents_out = cents;
	*base_out = base_cents;
}

/* manual_payment_action and financial_account_id, and the rules between them. */
static void check_payment_action(struct mbsim *sim, const cJSON *in, cJSON *errors,
                                 const char **action_out, const char **account_out)
{
	static const char *const actions[] = {
	    "private_payment", "payment_without_proof", "cash_payment",        "rounding_error",
	    "bank_transfer",   "balance_settlement",    "invoices_settlement", NULL};
	const char *action = NULL, *account = NULL;
	const cJSON *item;

	item = cJSON_GetObjectItemCaseSensitive(in, "manual_payment_action");
	if (item != NULL && !cJSON_IsNull(item)) {
		size_t i;
		bool known = false;

		for (i = 0; cJSON_IsString(item) && actions[i] != NULL; i++)
			known |= strcmp(actions[i], item->valuestring) == 0;
		if (!known)
			mbsim_validation_add(errors, "manual_payment_action",
			                     "is not included in the list", "inclusion");
		else
			action = item->valuestring;
	}
	item = cJSON_GetObjectItemCaseSensitive(in, "financial_account_id");
	if (cJSON_IsNumber(item)) {
		mbsim_validation_add(errors, "financial_account_id",
		                     "must be sent as a string (ids exceed 2^53)", "invalid");
	} else if (cJSON_IsString(item)) {
		if (mbsim_find_by_id(sim->financial_accounts, item->valuestring) == NULL)
			mbsim_validation_add(errors, "financial_account_id", "is invalid",
			                     "invalid");
		else
			account = item->valuestring;
	}
	if (action != NULL &&
	    (strcmp(action, "private_payment") == 0 || strcmp(action, "cash_payment") == 0) &&
	    account == NULL)
		mbsim_validation_add(errors, "financial_account_id", "can't be blank", "blank");
	if (action != NULL && strcmp(action, "bank_transfer") == 0)
		mbsim_validation_add(errors, "financial_mutation_id", "is invalid", "invalid");
	if (action != NULL && (strcmp(action, "balance_settlement") == 0 ||
	                       strcmp(action, "invoices_settlement") == 0))
		mbsim_validation_add(errors, "manual_payment_action",
		                     "is not supported by the simulator", "inclusion");
	*action_out = action;
	*account_out = account;
}

static void check_transaction_identifier(const cJSON *in, cJSON *errors)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(in, "transaction_identifier");

	if (item != NULL && !cJSON_IsString(item) && !cJSON_IsNull(item))
		mbsim_validation_add(errors, "transaction_identifier", "is invalid", "invalid");
}

void mbsim_api_payments_create(struct mbsim *sim, const struct mbsim_request *req,
                               struct mbsim_response *resp)
{
	static const char *const top_allowed[] = {"payment", NULL};
	static const char *const allowed[] = {"payment_date",
	                                      "price",
	                                      "price_base",
	                                      "financial_account_id",
	                                      "financial_mutation_id",
	                                      "transaction_identifier",
	                                      "manual_payment_action",
	                                      "ledger_account_id",
	                                      "invoice_id",
	                                      NULL};
	cJSON *body = mbsim_parse_body(req, resp, true);
	cJSON *inv = mbsim_find_by_id(sim->invoices, req->param1);
	cJSON *errors = NULL, *payment;
	const cJSON *in;
	int64_t cents = 0, base_cents = 0;
	char date[11];
	const char *action = NULL, *account = NULL;

	if (body == NULL)
		return;
	if (inv == NULL) {
		mbsim_err_symbolic(resp, 404, "record not found", "id", "not_found");
		goto out;
	}
	in = mbsim_wrapped(resp, body, "payment", "Payment is required", top_allowed, allowed);
	if (in == NULL)
		goto out;
	errors = mbsim_validation_new();
	check_payment_date(sim, in, errors, date);
	check_payment_amounts(in, inv, errors, &cents, &base_cents);
	check_payment_action(sim, in, errors, &action, &account);
	check_transaction_identifier(in, errors);
	if (mbsim_validation_empty(errors) && (strcmp(mbsim_str(inv, "state"), "draft") == 0 ||
	                                       strcmp(mbsim_str(inv, "state"), "scheduled") == 0))
		/* [CL 2017-08-15] "An invoice has to have been sent before payments can be
		 * registered." The exact body is undocumented. */
		mbsim_validation_add(errors, "base",
		                     "Payments can only be registered for sent invoices",
		                     "invoice_not_sent");
	if (!mbsim_validation_empty(errors)) {
		mbsim_validation_respond(resp, errors);
		errors = NULL;
		goto out;
	}
	payment = mbsim_register_payment(sim, inv, cents, base_cents, date,
	                                 mbsim_str(in, "transaction_identifier"), action, account);
	mbsim_respond_json(resp, 201, payment);
out:
	cJSON_Delete(errors);
	cJSON_Delete(body);
}

void mbsim_api_payments_delete(struct mbsim *sim, const struct mbsim_request *req,
                               struct mbsim_response *resp)
{
	cJSON *inv = mbsim_find_by_id(sim->invoices, req->param1);
	cJSON *payments, *payment;
	enum mbsim_state_change change;

	if (inv == NULL) {
		mbsim_err_symbolic(resp, 404, "record not found", "id", "not_found");
		return;
	}
	payments = cJSON_GetObjectItemCaseSensitive(inv, "payments");
	payment = mbsim_find_by_id(payments, req->param2);
	if (payment == NULL) {
		mbsim_err_symbolic(resp, 404, "record not found", "id", "not_found");
		return;
	}
	if (mbsim_date_locked(sim, mbsim_str(payment, "payment_date"))) {
		mbsim_err_validation(resp, "payment_date",
		                     "is in a locked period (bookkeeping is locked until the "
		                     "given date)",
		                     "locked_period");
		return;
	}
	cJSON_Delete(cJSON_DetachItemViaPointer(payments, payment));
	mbsim_add_event(inv, "payment_destroyed");
	change = mbsim_refresh_payment_state(inv);
	mbsim_touch(sim, inv);
	resp->status = 204;
	mbsim_emit_invoice(sim, inv, "payment_destroyed");
	mbsim_emit_state_change(sim, inv, change);
}
