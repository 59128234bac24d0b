/*
 * The pure parts of the Moneybird client: outcome classification, error
 * sentences from the documented error shapes, money <-> decimal strings,
 * reset headers as epoch seconds, ids above 2^53 kept exact, request bodies,
 * and the budget's priority arithmetic and token key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "budget.h"
#include "mb_client.h"
#include "mb_json.h"

static void test_classify(void **state)
{
	(void)state;
	/* answers */
	assert_int_equal(mb_classify(200, false, true, false), MB_OK);
	assert_int_equal(mb_classify(201, false, true, true), MB_OK);
	assert_int_equal(mb_classify(204, false, true, true), MB_OK);
	assert_int_equal(mb_classify(404, false, true, false), MB_NOT_FOUND);
	assert_int_equal(mb_classify(422, false, true, true), MB_VALIDATION);
	assert_int_equal(mb_classify(400, false, true, false), MB_VALIDATION);
	assert_int_equal(mb_classify(401, false, true, false), MB_PERMANENT);
	assert_int_equal(mb_classify(402, false, true, true), MB_PERMANENT);
	assert_int_equal(mb_classify(403, false, true, true), MB_PERMANENT);
	assert_int_equal(mb_classify(429, false, true, true), MB_RATE_LIMITED);
	assert_int_equal(mb_classify(429, false, true, false), MB_RATE_LIMITED);
	/* 5xx: a read can be repeated, a write may have been applied */
	assert_int_equal(mb_classify(500, false, true, false), MB_TRANSIENT);
	assert_int_equal(mb_classify(503, false, true, false), MB_TRANSIENT);
	assert_int_equal(mb_classify(502, false, true, true), MB_UNKNOWN_OUTCOME);
	assert_int_equal(mb_classify(500, false, true, true), MB_UNKNOWN_OUTCOME);
	/* transport failures */
	assert_int_equal(mb_classify(0, true, false, true), MB_TRANSIENT); /* refused */
	assert_int_equal(mb_classify(0, true, false, false), MB_TRANSIENT);
	assert_int_equal(mb_classify(0, true, true, true),
	                 MB_UNKNOWN_OUTCOME); /* timeout after send */
	assert_int_equal(mb_classify(0, true, true, false), MB_TRANSIENT);
	assert_int_equal(mb_classify(201, true, true, true), MB_UNKNOWN_OUTCOME); /* body cut */
}

static void test_outcome_names(void **state)
{
	(void)state;
	assert_string_equal(mb_outcome_name(MB_OK), "ok");
	assert_string_equal(mb_outcome_name(MB_UNKNOWN_OUTCOME), "unknown_outcome");
	assert_string_equal(mb_outcome_name(MB_RATE_LIMITED), "rate_limited");
	assert_int_equal(mb_outcome_status(MB_OK), CN_OK);
	assert_int_equal(mb_outcome_status(MB_NOT_FOUND), CN_NOT_FOUND);
	assert_int_equal(mb_outcome_status(MB_TRANSIENT), CN_RETRYABLE);
	assert_int_equal(mb_outcome_status(MB_RATE_LIMITED), CN_RETRYABLE);
	assert_int_equal(mb_outcome_status(MB_VALIDATION), CN_INVALID);
	assert_int_equal(mb_outcome_status(MB_UNKNOWN_OUTCOME), CN_ERR);
}

static void sentence(const char *resource, long status, const char *body, char *out, size_t size)
{
	mb_error_sentence(resource, status, body, body != NULL ? strlen(body) : 0, out, size);
}

/* Moneybird error bodies and the one sentence each becomes: resource, HTTP
 * status, body, the output buffer's size (0: a large one), the sentence. */
static const struct {
	const char *resource;
	long status;
	const char *body;
	size_t size;
	const char *expected;
} sentence_cases[] = {
    {"contact", 422,
     "{\"error\":{\"customer_id\":[\"is already in "
     "use\"]},\"details\":{\"customer_id\":[{\"error\":\"taken\"}]}}",
     0, "contact: customer_id is already in use"},
    {"contact", 422,
     "{\"error\": {\"firstname\": [\"is required\"], \"lastname\": [\"is required\"], "
     "\"company_name\": [\"is required\"]}, \"details\": {}}",
     0, "contact: firstname is required; lastname is required; company_name is required"},
    {"payment", 422,
     "{\"error\": {\"payment_date\": [\"can't be blank\", \"is not a valid date\"], \"price\": "
     "[\"can't be blank\", \"is not a number\"]}}",
     0,
     "payment: payment_date can't be blank and is not a valid date; price can't be blank and is "
     "not a number"},
    {"sales_invoice_sending", 422,
     "{\"error\": {\"delivery_method\": [\"The sender address must contain an email address\"]}, "
     "\"details\": {\"delivery_method\": [{\"error\": \"need_identity_email\"}]}}",
     0, "sales_invoice_sending: delivery_method The sender address must contain an email address"},
    /* the symbolic 400/404/402 shape */
    {"sales_invoice", 400,
     "{\"error\": \"Contact is required\", \"symbolic\": {\"contact\": \"required\"}}", 0,
     "sales_invoice: Contact is required"},
    {"sales_invoice", 402,
     "{\"error\": \"creating sales invoices is limited\", \"symbolic\": {\"administration\": "
     "\"limit_reached\"}}",
     0, "sales_invoice: creating sales invoices is limited"},
    {"webhook", 404, "{\"error\": \"Record not found for model name: Webhook\"}", 0,
     "webhook: Record not found for model name: Webhook"},
    /* a base error has no field name */
    {"sales_invoice", 422, "{\"error\": {\"base\": [\"Period is locked\"]}}", 0,
     "sales_invoice: Period is locked"},
    /* 429: a JSON string, or nginx HTML */
    {"contact", 429, "\"Retry later\"", 0, "contact: Retry later"},
    {"contact", 429,
     "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too "
     "Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
     0, "contact: 429 Too Many Requests"},
    /* nothing readable */
    {"contact", 500, "", 0, "contact: HTTP 500 without a readable error"},
    {"contact", 502, "\x01\x02 garbage", 0, "contact: HTTP 502 without a readable error"},
    /* control characters never break the line; tiny buffers terminate */
    {"contact", 422, "{\"error\":{\"name\":[\"bad\\nvalue\"]}}", 0, "contact: name bad value"},
    {"contact", 422, "{\"error\":{\"name\":[\"is required\"]}}", 12, "contact: na"},
};

static void test_error_sentences(void **state)
{
	char out[512];

	(void)state;
	for (size_t i = 0; i < sizeof(sentence_cases) / sizeof(sentence_cases[0]); i++) {
		size_t size = sentence_cases[i].size != 0 ? sentence_cases[i].size : sizeof(out);

		sentence(sentence_cases[i].resource, sentence_cases[i].status,
		         sentence_cases[i].body, out, size);
		assert_string_equal(out, sentence_cases[i].expected);
	}
}

/* Moneybird decimal strings and the cents they parse to (rc 0), or CN_INVALID. */
static const struct {
	const char *text;
	int rc;
	int64_t cents;
} parse_cases[] = {
    {"129.95", 0, 12995},
    {"363.0", 0, 36300},
    {"-363.0", 0, -36300},
    {"12", 0, 1200},
    {"0.5", 0, 50},
    {"1.2300", 0, 123},
    {"1.234", CN_INVALID, 0},
    {"", CN_INVALID, 0},
    {"1.", CN_INVALID, 0},
    {".5", CN_INVALID, 0},
    {"1,5", CN_INVALID, 0},
    {"12a", CN_INVALID, 0},
    {"99999999999999999999", CN_INVALID, 0},
};

static void test_money(void **state)
{
	char out[32];
	int64_t cents = 0;

	(void)state;
	assert_int_equal(mb_money_format(12995, out, sizeof(out)), 0);
	assert_string_equal(out, "129.95");
	assert_int_equal(mb_money_format(0, out, sizeof(out)), 0);
	assert_string_equal(out, "0.00");
	assert_int_equal(mb_money_format(5, out, sizeof(out)), 0);
	assert_string_equal(out, "0.05");
	assert_int_equal(mb_money_format(-5, out, sizeof(out)), 0);
	assert_string_equal(out, "-0.05");
	assert_int_equal(mb_money_format(-36300, out, sizeof(out)), 0);
	assert_string_equal(out, "-363.00");
	assert_int_equal(mb_money_format(INT64_MIN, out, sizeof(out)), 0);
	assert_string_equal(out, "-92233720368547758.08");
	assert_int_equal(mb_money_format(12995, out, 4), CN_INVALID);

	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		assert_int_equal(mb_money_parse(parse_cases[i].text, &cents), parse_cases[i].rc);
		if (parse_cases[i].rc == 0)
			assert_int_equal(cents, parse_cases[i].cents);
	}
}

static void test_reset_epoch(void **state)
{
	int64_t epoch = 0;

	(void)state;
	assert_int_equal(mb_parse_reset_epoch("1787320500", 1787320000, &epoch), 0);
	assert_int_equal(epoch, 1787320500);
	assert_int_equal(mb_parse_reset_epoch(" 1787320500 \r\n", 1787320000, &epoch), 0);
	assert_int_equal(epoch, 1787320500);
	/* a delta is tolerated (the RFC form), never read as an epoch in 1970 */
	assert_int_equal(mb_parse_reset_epoch("30", 1787320000, &epoch), 0);
	assert_int_equal(epoch, 1787320030);
	assert_int_equal(mb_parse_reset_epoch("Wed, 21 Oct 2015 07:28:00 GMT", 1, &epoch),
	                 CN_INVALID);
	assert_int_equal(mb_parse_reset_epoch("", 1, &epoch), CN_INVALID);
	assert_int_equal(mb_parse_reset_epoch("-5", 1, &epoch), CN_INVALID);
}

static void test_ids(void **state)
{
	char id[MB_ID_MAX];
	cJSON *root;
	struct mb_sales_invoice invoice;
	struct cn_error err = {""};

	(void)state;
	assert_true(mb_id_valid("496081523137578258"));
	assert_true(mb_id_valid("18446744073709551615"));
	assert_false(mb_id_valid("184467440737095516150"));
	assert_false(mb_id_valid(""));
	assert_false(mb_id_valid("12a"));
	assert_false(mb_id_valid("customer-1"));

	/* above 2^53 as a string: kept exactly */
	root = cJSON_Parse("{\"id\":\"496081523137578258\",\"contact_id\":\"9007199254740993\","
	                   "\"total_price_incl_tax\":\"157.24\",\"total_paid\":\"0.0\","
	                   "\"payments\":[{\"id\":\"9223372036854775807\",\"price\":\"1.5\"}]}");
	assert_non_null(root);
	assert_int_equal(mb_json_sales_invoice(root, &invoice, &err), 0);
	assert_string_equal(invoice.id, "496081523137578258");
	assert_string_equal(invoice.contact_id, "9007199254740993");
	assert_int_equal(invoice.total_price_incl_tax_cents, 15724);
	assert_int_equal(invoice.payment_count, 1);
	assert_string_equal(invoice.payments[0].id, "9223372036854775807");
	assert_int_equal(invoice.payments[0].price_cents, 150);
	cJSON_Delete(root);

	/* as a number: fine up to 2^53, refused above (digits already lost) */
	root = cJSON_Parse("[123, 9007199254740992, 496081523137578240, 1.5, -1, -0]");
	assert_int_equal(mb_json_id(cJSON_GetArrayItem(root, 0), id, sizeof(id)), 0);
	assert_string_equal(id, "123");
	assert_int_equal(mb_json_id(cJSON_GetArrayItem(root, 1), id, sizeof(id)), 0);
	assert_string_equal(id, "9007199254740992");
	assert_int_equal(mb_json_id(cJSON_GetArrayItem(root, 2), id, sizeof(id)), CN_INVALID);
	assert_int_equal(mb_json_id(cJSON_GetArrayItem(root, 3), id, sizeof(id)), CN_INVALID);
	assert_int_equal(mb_json_id(cJSON_GetArrayItem(root, 4), id, sizeof(id)), CN_INVALID);
	/* found by fuzzing: -0 once came out as the id "-0" */
	assert_int_equal(mb_json_id(cJSON_GetArrayItem(root, 5), id, sizeof(id)), CN_INVALID);
	cJSON_Delete(root);

	/* an amount sent as a number is refused, not rounded through a double */
	root = cJSON_Parse("{\"id\":\"1\",\"total_price_incl_tax\":157.24}");
	assert_int_equal(mb_json_sales_invoice(root, &invoice, &err), CN_INVALID);
	cJSON_Delete(root);
}

static void test_bodies(void **state)
{
	struct cn_error err = {""};
	struct mb_invoice_line line = {"Het Grote Boek", 10000, NULL, "496081347565061258",
	                               "496081347348006012"};
	struct mb_invoice_request invoice = {
	    .contact_id = "9007199254740993",
	    .reference = "bookto-ord-1",
	    .invoice_date = "2024-05-02",
	    .currency = "EUR",
	    .prices_are_incl_tax = false,
	    .lines = &line,
	    .line_count = 1,
	};
	struct mb_payment_request payment = {"2024-05-02", 12100, "ord-1", NULL, NULL};
	struct mb_contact_request contact = {.customer_id = "12345678901234",
	                                     .company_name = "Jansen B.V.",
	                                     .send_invoices_to_email = "jan@example.nl",
	                                     .country = "NL"};
	struct mb_contact_request nameless = {.customer_id = "1"};
	const char *events[] = {"sales_invoice_state_changed_to_paid", "payment_registered"};
	const char *ids[] = {"1", "496081523137578258"};
	char *body;

	(void)state;
	body = mb_json_invoice_body(&invoice, &err);
	assert_non_null(body);
	assert_string_equal(body, "{\"sales_invoice\":{\"contact_id\":\"9007199254740993\","
	                          "\"reference\":\"bookto-ord-1\",\"invoice_date\":\"2024-05-02\","
	                          "\"currency\":\"EUR\",\"prices_are_incl_tax\":false,"
	                          "\"details_attributes\":[{\"description\":\"Het Grote Boek\","
	                          "\"price\":\"100.00\",\"amount\":\"1\","
	                          "\"tax_rate_id\":\"496081347565061258\","
	                          "\"ledger_account_id\":\"496081347348006012\"}]}}");
	cJSON_free(body);

	invoice.contact_id = "4.9e17";
	assert_null(mb_json_invoice_body(&invoice, &err));

	body = mb_json_payment_body(&payment, &err);
	assert_string_equal(body,
	                    "{\"payment\":{\"payment_date\":\"2024-05-02\",\"price\":\"121.00\","
	                    "\"transaction_identifier\":\"ord-1\"}}");
	cJSON_free(body);

	body = mb_json_contact_body(&contact, &err);
	assert_string_equal(body,
	                    "{\"contact\":{\"company_name\":\"Jansen B.V.\",\"country\":\"NL\","
	                    "\"send_invoices_to_email\":\"jan@example.nl\","
	                    "\"customer_id\":\"12345678901234\"}}");
	cJSON_free(body);
	assert_null(mb_json_contact_body(&nameless, &err));

	body = mb_json_send_body("Manual", &err);
	assert_string_equal(body, "{\"sales_invoice_sending\":{\"delivery_method\":\"Manual\"}}");
	cJSON_free(body);
	assert_null(mb_json_send_body("Post", &err));

	body = mb_json_webhook_body("https://example.com/hook", events, 2, &err);
	assert_string_equal(body,
	                    "{\"url\":\"https://example.com/hook\",\"enabled_events\":"
	                    "[\"sales_invoice_state_changed_to_paid\",\"payment_registered\"]}");
	cJSON_free(body);

	body = mb_json_ids_body(ids, 2, &err);
	assert_string_equal(body, "{\"ids\":[\"1\",\"496081523137578258\"]}");
	cJSON_free(body);
	assert_null(mb_json_ids_body(ids, 0, &err));
	assert_null(mb_json_ids_body(ids, 101, &err));
}

static void test_contact_matching(void **state)
{
	cJSON *contact = cJSON_Parse("{\"id\":\"1\",\"customer_id\":\"42\","
	                             "\"tax_number\":\"NL 1234.56789.B01\","
	                             "\"send_invoices_to_email\":\"a@x.nl, Jan@Example.NL\","
	                             "\"si_identifier\":\"12345678\",\"company_name\":\"Jansen\"}");

	(void)state;
	assert_true(mb_json_contact_matches(contact, MB_CONTACT_FIELD_CUSTOMER_ID, "42"));
	assert_false(mb_json_contact_matches(contact, MB_CONTACT_FIELD_CUSTOMER_ID, "4"));
	assert_true(
	    mb_json_contact_matches(contact, MB_CONTACT_FIELD_TAX_NUMBER, "nl123456789b01"));
	assert_false(
	    mb_json_contact_matches(contact, MB_CONTACT_FIELD_TAX_NUMBER, "NL123456789B0"));
	assert_true(mb_json_contact_matches(contact, MB_CONTACT_FIELD_EMAIL, "jan@example.nl"));
	assert_false(mb_json_contact_matches(contact, MB_CONTACT_FIELD_EMAIL, "jan@example"));
	assert_true(mb_json_contact_matches(contact, MB_CONTACT_FIELD_SI_IDENTIFIER, "12345678"));
	assert_false(mb_json_contact_matches(contact, MB_CONTACT_FIELD_COMPANY_NAME, "jansen"));
	assert_false(mb_json_contact_matches(contact, MB_CONTACT_FIELD_COMPANY_NAME, ""));
	cJSON_Delete(contact);
}

static void test_budget_pure(void **state)
{
	struct budget_limits limits = {150, 300, 0};
	struct budget_limits tiny = {1, 1, 50};
	char key[BUDGET_KEY_SIZE];
	struct cn_error err = {""};

	(void)state;
	assert_int_equal(budget_allowed(&limits, BUDGET_LIVE), 150);
	assert_int_equal(budget_allowed(&limits, BUDGET_BACKGROUND), 120);
	assert_int_equal(budget_allowed(&tiny, BUDGET_BACKGROUND), 1);
	assert_int_equal(budget_window_ms(&limits), 303000);
	assert_int_equal(budget_window_ms(&tiny), 1050); /* the margin's floor: 50 ms */
	assert_int_equal(budget_window_ms(&(struct budget_limits){150, 3, 0}), 3050);
	assert_int_equal(budget_token_key("test-token", key, &err), 0);
	/* printf %s test-token | sha256sum */
	assert_string_equal(key,
	                    "4c5dc9b7708905f77f5e5d16316b5dfb425e68cb326dcd55a860e90a7707031e");
	assert_int_equal(budget_token_key("", key, &err), CN_INVALID);
}

/* Moneybird's filter syntax has no escape: `,` `|` `:` would split a value. */
static void test_filter_value_safe(void **state)
{
	(void)state;
	assert_true(mb_filter_value_safe("ORD-1001"));
	assert_true(mb_filter_value_safe("x/y%20 z-\xc3\xbc")); /* encoded in the URL, not split */
	assert_false(mb_filter_value_safe("A,B"));
	assert_false(mb_filter_value_safe("A|B"));
	assert_false(mb_filter_value_safe("B:1"));
	assert_false(mb_filter_value_safe("A,B:1|x/y%20 z-\xc3\xbc"));
	assert_false(mb_filter_value_safe(""));
	assert_false(mb_filter_value_safe(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify),        cmocka_unit_test(test_outcome_names),
	    cmocka_unit_test(test_error_sentences), cmocka_unit_test(test_money),
	    cmocka_unit_test(test_reset_epoch),     cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_bodies),          cmocka_unit_test(test_contact_matching),
	    cmocka_unit_test(test_budget_pure),     cmocka_unit_test(test_filter_value_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
