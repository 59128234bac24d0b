/*
 * moneybird_sig: Moneybird-Signature parsing (t, several v1, unknown
 * schemes, malformed values), HMAC vectors made with OpenSSL's CLI and
 * Python's hmac module, the 5-minute window in both directions, rotation
 * (two v1, two secrets) and the constant-time token compare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "moneybird_sig.h"

/*
 * Produced with
 *   printf '%s' "1748534400.$BODY" | openssl dgst -sha256 -hmac "$SECRET" -r
 * and checked with python3 hmac.new(secret, b"1748534400." + body, sha256).
 * SECRET is the example secret of Moneybird's OpenAPI webhook response.
 */
#define SECRET "e1137b5191c4f8a7a9cbedc12b8079897f6d7829780c51ccc0f89abbb088fe4a"
#define OLD_SECRET "old-secret-0001"
#define T 1748534400
#define BODY                                                                                       \
	"{\"administration_id\":\"116015326147118082\",\"webhook_id\":\"116010948233266179\","     \
	"\"webhook_token\":\"hPCNhskk1PwGC1pyJZMZmKNT\",\"entity_type\":\"SalesInvoice\","         \
	"\"entity_id\":\"116015245643744263\",\"state\":\"paid\","                                 \
	"\"action\":\"sales_invoice_state_changed_to_paid\",\"entity\":{}}"
#define SIG_NEW "a7dc73221dbe7cb56438a95c7b7786796f545771f1aeb0eee9844d421c7246e6"
#define SIG_OLD "d8a00f78577d1d0f105a55e23e34a48f88d8e9ad4c12a36197c10066e7e76892"
#define SIG_EMPTY_BODY "3cae6880cd66fc68d9b2cfa83d551ceef5cc9182076f1dd7576a386b74deb1cc"
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static const char *const one_secret[] = {SECRET};
static const char *const two_secrets[] = {SECRET, OLD_SECRET};
static const char *const old_first[] = {OLD_SECRET, SECRET};

static int verify(const char *header, const char *body, const char *const *secrets, size_t n,
                  int64_t now, size_t *matched)
{
	struct cn_error err = {""};

	return moneybird_sig_verify(header, (const unsigned char *)body, strlen(body), secrets, n,
	                            now, MONEYBIRD_SIG_TOLERANCE_SECONDS, matched, &err);
}

static void test_parse_basic(void **state)
{
	struct moneybird_sig sig;
	struct cn_error err = {""};

	(void)state;
	assert_int_equal(moneybird_sig_parse("t=1748534400,v1=" SIG_NEW, &sig, &err), 0);
	assert_int_equal(sig.timestamp, T);
	assert_int_equal(sig.v1_count, 1);
	assert_int_equal(sig.v1[0][0], 0xa7);
	assert_int_equal(sig.v1[0][31], 0xe6);
	/* Order, spaces and upper-case hex do not matter; other schemes are skipped. */
	assert_int_equal(moneybird_sig_parse(" v0=abc , v1=" SIG_OLD ",t=1748534400 , v2=" SIG_NEW
	                                     ",v1=A7DC73221DBE7CB56438A95C7B7786796F545771F1AEB0EEE"
	                                     "9844D421C7246E6",
	                                     &sig, &err),
	                 0);
	assert_int_equal(sig.v1_count, 2);
	assert_int_equal(sig.v1[1][0], 0xa7);
}

static void test_parse_refusals(void **state)
{
	static const char *const bad[] = {
	    "",
	    "v1=" SIG_NEW,                   /* no t */
	    "t=1748534400",                  /* no v1 */
	    "t=1748534400,v1=abcd",          /* v1 too short: skipped, none left */
	    "t=1748534400,v1=" SIG_NEW "00", /* too long */
	    "t=abc,v1=" SIG_NEW,             /* t not digits */
	    "t=-5,v1=" SIG_NEW,              /* signed */
	    "t=,v1=" SIG_NEW,                /* empty */
	    "t=1,t=2,v1=" SIG_NEW,           /* repeated t */
	    "t=1748534400,v2=" SIG_NEW,      /* only an unknown scheme */
	    "t=1748534400,v1=g7dc73221dbe7cb56438a95c7b7786796f545771f1aeb0eee9844d421c7246e6",
	    "t=99999999999999999999,v1=" SIG_NEW, /* overflow */
	};
	struct moneybird_sig sig;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cn_error err = {""};

		if (moneybird_sig_parse(bad[i], &sig, &err) != CN_INVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err.message[0] != '\0');
	}
	{
		struct cn_error err = {""};
		assert_int_equal(moneybird_sig_parse(NULL, &sig, &err), CN_INVALID);
	}
}

static void test_verify_vectors(void **state)
{
	size_t matched = 99;

	(void)state;
	assert_int_equal(verify("t=1748534400,v1=" SIG_NEW, BODY, one_secret, 1, T, &matched), 0);
	assert_int_equal(matched, 0);
	assert_int_equal(verify("t=1748534400,v1=" SIG_EMPTY_BODY, "", one_secret, 1, T, NULL), 0);
	/* One changed byte of the body, of t or of the digest fails. */
	assert_int_equal(verify("t=1748534400,v1=" SIG_NEW, BODY " ", one_secret, 1, T, NULL),
	                 CN_INVALID);
	assert_int_equal(verify("t=1748534401,v1=" SIG_NEW, BODY, one_secret, 1, T, NULL),
	                 CN_INVALID);
	assert_int_equal(verify("t=1748534400,v1=" ZEROS, BODY, one_secret, 1, T, NULL),
	                 CN_INVALID);
	/* No usable secret. */
	{
		const char *const none[] = {NULL, ""};
		assert_int_equal(verify("t=1748534400,v1=" SIG_NEW, BODY, none, 2, T, NULL),
		                 CN_INVALID);
	}
}

static void test_verify_rotation(void **state)
{
	size_t matched = 99;

	(void)state;
	/* Moneybird signs with both secrets during a rotation. */
	assert_int_equal(
	    verify("t=1748534400,v1=" SIG_NEW ",v1=" SIG_OLD, BODY, one_secret, 1, T, &matched), 0);
	assert_int_equal(matched, 0);
	assert_int_equal(
	    verify("t=1748534400,v1=" ZEROS ",v1=" SIG_NEW, BODY, one_secret, 1, T, &matched), 0);
	/* We keep the previous secret: a push signed only with it verifies, and
	 * the index says which one matched. */
	assert_int_equal(verify("t=1748534400,v1=" SIG_OLD, BODY, two_secrets, 2, T, &matched), 0);
	assert_int_equal(matched, 1);
	assert_int_equal(verify("t=1748534400,v1=" SIG_OLD, BODY, old_first, 2, T, &matched), 0);
	assert_int_equal(matched, 0);
	assert_int_equal(verify("t=1748534400,v1=" SIG_OLD, BODY, one_secret, 1, T, NULL),
	                 CN_INVALID);
	/* A v2 carrying the right digest is not trusted. */
	assert_int_equal(
	    verify("t=1748534400,v2=" SIG_NEW ",v1=" ZEROS, BODY, one_secret, 1, T, NULL),
	    CN_INVALID);
}

static void test_verify_window(void **state)
{
	const char *header = "t=1748534400,v1=" SIG_NEW;

	(void)state;
	assert_int_equal(verify(header, BODY, one_secret, 1, T + 300, NULL), 0);
	assert_int_equal(verify(header, BODY, one_secret, 1, T - 300, NULL), 0);
	assert_int_equal(verify(header, BODY, one_secret, 1, T + 301, NULL), CN_INVALID);
	assert_int_equal(verify(header, BODY, one_secret, 1, T - 301, NULL), CN_INVALID);
	{
		struct cn_error err = {""};
		assert_int_equal(moneybird_sig_verify(header, (const unsigned char *)BODY,
		                                      strlen(BODY), one_secret, 1, T + 3600,
		                                      MONEYBIRD_SIG_TOLERANCE_SECONDS, NULL, &err),
		                 CN_INVALID);
		assert_non_null(strstr(err.message, "3600 seconds"));
		assert_null(strstr(err.message, SECRET));
	}
}

static void test_token(void **state)
{
	(void)state;
	assert_true(
	    moneybird_sig_token_equal("hPCNhskk1PwGC1pyJZMZmKNT", "hPCNhskk1PwGC1pyJZMZmKNT"));
	assert_false(
	    moneybird_sig_token_equal("hPCNhskk1PwGC1pyJZMZmKNT", "hPCNhskk1PwGC1pyJZMZmKNt"));
	assert_false(
	    moneybird_sig_token_equal("hPCNhskk1PwGC1pyJZMZmKNT", "hPCNhskk1PwGC1pyJZMZmKN"));
	assert_false(moneybird_sig_token_equal("abc", "abcabc"));
	assert_false(moneybird_sig_token_equal("abc", ""));
	assert_false(moneybird_sig_token_equal("", ""));
	assert_false(moneybird_sig_token_equal(NULL, "abc"));
	assert_false(moneybird_sig_token_equal("abc", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_basic),    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_verify_vectors), cmocka_unit_test(test_verify_rotation),
	    cmocka_unit_test(test_verify_window),  cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
