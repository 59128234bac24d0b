/* Unit tests of the simulator's pure helpers: money, rounding, dates, HMAC, error shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../mbsim.h"

/* Money strings the simulator reads, and the cents they are. */
static const struct {
	const char *text;
	int64_t cents;
} money_read[] = {
    {"129.95", 12995},
    {"10,95", 1095}, /* "Both a decimal and a string '10,95'" */
    {"-3.5", -350},
    {"7", 700},
    {"7.", 700},
    {"1.230", 123}, /* trailing zero beyond cents is harmless */
    /* the spec's range, -1,000,000,000 <= n <= 1,000,000,000, decimals included */
    {"1000000000.00", 100000000000LL},
};

/* Money strings it refuses: -2 more than two decimals, -1 not money or out of range. */
static const struct {
	const char *text;
	int rc;
} money_refused[] = {
    {"1.234", -2},         {"abc", -1},           {"1.2.3", -1}, {"1000000001", -1},
    {"1000000000.01", -1}, {"-1000000000,5", -1}, {"", -1},
};

static void test_parse_money(void **state)
{
	cJSON *number;
	int64_t cents;

	(void)state;
	for (size_t i = 0; i < sizeof(money_read) / sizeof(money_read[0]); i++) {
		cents = -999;
		assert_int_equal(mbsim_parse_money_str(money_read[i].text, &cents), 0);
		assert_int_equal(cents, money_read[i].cents);
	}
	for (size_t i = 0; i < sizeof(money_refused) / sizeof(money_refused[0]); i++)
		assert_int_equal(mbsim_parse_money_str(money_refused[i].text, &cents),
		                 money_refused[i].rc);
	number = cJSON_CreateNumber(129.95);
	assert_int_equal(mbsim_parse_money(number, &cents), 0);
	assert_int_equal(cents, 12995);
	cJSON_Delete(number);
	number = cJSON_CreateNumber(0.125);
	assert_int_equal(mbsim_parse_money(number, &cents), -2);
	cJSON_Delete(number);
}

static void test_format_money(void **state)
{
	char buf[32];

	(void)state;
	mbsim_format_money(15724, buf);
	assert_string_equal(buf, "157.24");
	mbsim_format_money(36300, buf);
	assert_string_equal(buf, "363.0");
	mbsim_format_money(1250, buf);
	assert_string_equal(buf, "12.5");
	mbsim_format_money(5, buf);
	assert_string_equal(buf, "0.05");
	mbsim_format_money(-36300, buf);
	assert_string_equal(buf, "-363.0");
	mbsim_format_money(0, buf);
	assert_string_equal(buf, "0.0");
}

static void test_round_div(void **state)
{
	(void)state;
	/* 129.95 * 21% = 27.2895 -> 27.29 */
	assert_int_equal(mbsim_round_div(12995 * 2100, 10000), 2729);
	/* half away from zero, both signs */
	assert_int_equal(mbsim_round_div(5, 10), 1);
	assert_int_equal(mbsim_round_div(-5, 10), -1);
	assert_int_equal(mbsim_round_div(4, 10), 0);
	assert_int_equal(mbsim_round_div(-4, 10), 0);
	/* incl. tax: 121.00 incl 21% -> tax 21.00 */
	assert_int_equal(mbsim_round_div(12100 * 2100, 10000 + 2100), 2100);
}

static void test_dates(void **state)
{
	long days;
	char out[11];

	(void)state;
	assert_int_equal(mbsim_date_to_days("1970-01-01", &days), 0);
	assert_int_equal(days, 0);
	assert_int_equal(mbsim_date_to_days("2024-02-29", &days), 0);
	mbsim_days_to_date(days + 14, out);
	assert_string_equal(out, "2024-03-14");
	assert_int_equal(mbsim_date_to_days("2023-02-29", &days), -1);
	assert_int_equal(mbsim_date_to_days("2026-13-01", &days), -1);
	assert_int_equal(mbsim_date_to_days("2026-1-01", &days), -1);
	assert_true(mbsim_valid_date("2026-08-21"));
	assert_false(mbsim_valid_date("21-08-2026"));
}

static void test_hmac(void **state)
{
	char hex[65];

	(void)state;
	/* RFC 4231 test case 2 */
	mbsim_hmac_hex("Jefe", "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_error_shapes(void **state)
{
	struct mbsim_response r;
	cJSON *v;

	(void)state;
	memset(&r, 0, sizeof(r));
	mbsim_err_symbolic(&r, 400, "Contact is required", "contact", "required");
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "{\"error\":\"Contact is required\",\"symbolic\":{\"contact\":"
	                            "\"required\"}}");
	v = mbsim_validation_new();
	mbsim_validation_add(v, "customer_id", "is already in use", "taken");
	mbsim_validation_respond(&r, v);
	assert_int_equal(r.status, 422);
	assert_string_equal(r.body, "{\"error\":{\"customer_id\":[\"is already in use\"]},"
	                            "\"details\":{\"customer_id\":[{\"error\":\"taken\"}]}}");
	free(r.body);
}

static void test_unknown_attributes(void **state)
{
	static const char *const allowed[] = {"company_name", NULL};
	struct mbsim_response r;
	cJSON *obj = cJSON_Parse("{\"company_name\":\"x\",\"email\":\"a@b.c\"}");

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_true(mbsim_reject_unknown(&r, obj, "contact", allowed));
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "contact[email]"));
	free(r.body);
	cJSON_DeleteItemFromObject(obj, "email");
	memset(&r, 0, sizeof(r));
	assert_false(mbsim_reject_unknown(&r, obj, "contact", allowed));
	cJSON_Delete(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_money),
	    cmocka_unit_test(test_format_money),
	    cmocka_unit_test(test_round_div),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_hmac),
	    cmocka_unit_test(test_error_shapes),
	    cmocka_unit_test(test_unknown_attributes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
