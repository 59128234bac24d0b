/*
 * bookto module: signature vectors from bookto's Node.js snippet and from
 * OpenSSL's CLI, timestamp edges, exact money, and the payload parser's
 * fields and park reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <math.h>

#include "bookto.h"

/* ---- signature vectors ----
 *
 * NODE_*: produced with node v20 running bookto's documented snippet verbatim:
 *   crypto.createHmac('sha256', secret).update(timestamp + '.' + rawBody).digest('hex')
 * e.g. node -e "console.log(require('crypto').createHmac('sha256','whsec_test_123')
 *        .update('1700000000' + '.' + rawBody).digest('hex'))"
 * (rawBody a JS string, so non-ASCII text is hashed as UTF-8).
 *
 * OPENSSL_*: produced with
 *   printf '%s' '<ts>.<body>' | openssl dgst -sha256 -hmac '<secret>'
 * and for the NUL vector printf '1700000301.{"a":"x\0y"}' | openssl dgst ...
 */
struct signature_vector {
	const char *secret;
	const char *timestamp;
	const char *body;
	size_t body_len;
	const char *signature;
};

#define BODY(literal) literal, sizeof(literal) - 1

static const struct signature_vector vectors[] = {
    {"whsec_test_123", "1700000000",
     BODY("{\"event\":\"order.paid\",\"order_id\":\"ord_1\",\"amount\":{\"total_incl\":1.21}}"),
     "sha256=2acfd5c5dfa488e8deea79ec844acfc2b277b0410ed1191f5290373f4ebb0b1d"},
    /* "Zoë" and "Liège" in UTF-8 */
    {"rotated-secret-2", "1717171717",
     BODY("{\"event\":\"order.paid\",\"buyer\":{\"first_name\":\"Zo\xc3\xab\","
          "\"city\":\"Li\xc3\xa8ge\"}}"),
     "sha256=236b08336c811c42486a245bb73a7e08b2371c49c23baefabaa9c84983c3631c"},
    {"whsec_test_123", "1700000000", BODY(""),
     "sha256=f9f8a15810d34bfbb35a9e0f8d5e4665b36b4285fa2bd517c0e7faafb53fc1b6"},
    {"openssl-secret", "1700000300", BODY("{\"event\":\"order.paid\",\"order_id\":\"ord_2\"}"),
     "sha256=6d610743f8ae1d006db5a4c47ba4387d33fd3cc7259f9bd66819ec87e23468bb"},
    /* Body with a NUL byte inside: hashed as raw bytes, not as a C string. */
    {"nul-secret", "1700000301", BODY("{\"a\":\"x\0y\"}"),
     "sha256=3a9732806f4e061a22ac77b74d489e80fdf6936f829aeaee94bf8acd681b35dc"},
};

#define VECTOR_COUNT (sizeof(vectors) / sizeof(vectors[0]))

static int verify_one(const struct signature_vector *v, const char *signature,
                      const char *const *secrets, size_t count, struct cn_error *err)
{
	return bookto_verify_signature(v->timestamp, signature, (const unsigned char *)v->body,
	                               v->body_len, secrets, count, err);
}

static void test_signature_vectors_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < VECTOR_COUNT; i++) {
		const char *secrets[1] = {vectors[i].secret};
		struct cn_error err = {{0}};

		assert_int_equal(verify_one(&vectors[i], vectors[i].signature, secrets, 1, &err),
		                 0);
	}
}

static void test_signature_sign_reproduces_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < VECTOR_COUNT; i++) {
		char out[72];

		bookto_sign(vectors[i].secret, vectors[i].timestamp,
		            (const unsigned char *)vectors[i].body, vectors[i].body_len, out);
		assert_string_equal(out, vectors[i].signature);
	}
}

static void test_signature_nul_body_is_hashed_whole(void **state)
{
	const struct signature_vector *v = &vectors[4];
	const char *secrets[1] = {v->secret};
	struct cn_error err = {{0}};
	int rc;

	(void)state;
	assert_int_equal(v->body_len, 11);
	/* Only the bytes before the NUL: must not match. */
	rc = bookto_verify_signature(v->timestamp, v->signature, (const unsigned char *)v->body,
	                             strlen(v->body), secrets, 1, &err);
	assert_int_equal(rc, CN_INVALID);
}

static void test_signature_wrong_secret_and_tampering(void **state)
{
	const struct signature_vector *v = &vectors[0];
	const char *wrong[1] = {"whsec_test_124"};
	const char *right[1] = {v->secret};
	char body[128];
	struct cn_error err = {{0}};

	(void)state;
	assert_int_equal(verify_one(v, v->signature, wrong, 1, &err), CN_INVALID);
	assert_string_equal(err.message, "signature does not match");

	/* One body byte changed. */
	memcpy(body, v->body, v->body_len);
	body[v->body_len - 3] = '2';
	assert_int_equal(bookto_verify_signature(v->timestamp, v->signature,
	                                         (const unsigned char *)body, v->body_len, right, 1,
	                                         &err),
	                 CN_INVALID);
	/* Another timestamp with the same body. */
	assert_int_equal(bookto_verify_signature("1700000001", v->signature,
	                                         (const unsigned char *)v->body, v->body_len, right,
	                                         1, &err),
	                 CN_INVALID);
}

static void test_signature_secret_rotation(void **state)
{
	const struct signature_vector *v = &vectors[1];
	const char *rotation[2] = {"the-new-secret", "rotated-secret-2"};
	const char *after_roll[1] = {"the-new-secret"};
	const char *with_empty[2] = {"", NULL};
	struct cn_error err = {{0}};
	char signed_with_empty[72];

	(void)state;
	assert_int_equal(verify_one(v, v->signature, rotation, 2, &err), 0);
	/* The old secret is no longer configured. */
	assert_int_equal(verify_one(v, v->signature, after_roll, 1, &err), CN_INVALID);
	assert_int_equal(verify_one(v, v->signature, rotation, 0, &err), CN_INVALID);

	/* An empty secret is never a key anyone can sign with. */
	bookto_sign("", v->timestamp, (const unsigned char *)v->body, v->body_len,
	            signed_with_empty);
	assert_int_equal(strlen(signed_with_empty), 71);
	assert_int_equal(verify_one(v, signed_with_empty, with_empty, 2, &err), CN_INVALID);
}

static void test_signature_malformed_headers(void **state)
{
	const struct signature_vector *v = &vectors[0];
	const char *secrets[1] = {v->secret};
	const char *hex = v->signature + strlen("sha256=");
	char header[160];
	struct cn_error err = {{0}};

	(void)state;
	/* No prefix. */
	assert_int_equal(verify_one(v, hex, secrets, 1, &err), CN_INVALID);
	assert_non_null(strstr(err.message, "64 hex digits"));
	/* Other prefixes. */
	snprintf(header, sizeof(header), "SHA256=%s", hex);
	assert_int_equal(verify_one(v, header, secrets, 1, &err), CN_INVALID);
	snprintf(header, sizeof(header), "sha1=%s", hex);
	assert_int_equal(verify_one(v, header, secrets, 1, &err), CN_INVALID);
	/* Short and long hex. */
	snprintf(header, sizeof(header), "%.*s", (int)strlen(v->signature) - 1, v->signature);
	assert_int_equal(verify_one(v, header, secrets, 1, &err), CN_INVALID);
	snprintf(header, sizeof(header), "%s0", v->signature);
	assert_int_equal(verify_one(v, header, secrets, 1, &err), CN_INVALID);
	/* Trailing space, non-hex digit. */
	snprintf(header, sizeof(header), "%s ", v->signature);
	assert_int_equal(verify_one(v, header, secrets, 1, &err), CN_INVALID);
	snprintf(header, sizeof(header), "%s", v->signature);
	header[10] = 'g';
	assert_int_equal(verify_one(v, header, secrets, 1, &err), CN_INVALID);
	/* Empty, prefix only, NULL. */
	assert_int_equal(verify_one(v, "", secrets, 1, &err), CN_INVALID);
	assert_int_equal(verify_one(v, "sha256=", secrets, 1, &err), CN_INVALID);
	assert_int_equal(verify_one(v, NULL, secrets, 1, &err), CN_INVALID);
	assert_int_equal(bookto_verify_signature(NULL, v->signature, (const unsigned char *)v->body,
	                                         v->body_len, secrets, 1, &err),
	                 CN_INVALID);
}

static void test_signature_uppercase_hex_accepted(void **state)
{
	const struct signature_vector *v = &vectors[0];
	const char *secrets[1] = {v->secret};
	char header[80];
	struct cn_error err = {{0}};

	(void)state;
	snprintf(header, sizeof(header), "%s", v->signature);
	for (char *c = header + strlen("sha256="); *c != '\0'; c++) {
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	}
	assert_string_not_equal(header, v->signature);
	assert_int_equal(verify_one(v, header, secrets, 1, &err), 0);
}

/* ---- timestamp ---- */

static void test_timestamp_edges(void **state)
{
	const time_t now = 1700000000;
	int64_t ts = 0;
	struct cn_error err = {{0}};

	(void)state;
	assert_int_equal(bookto_check_timestamp("1700000000", now, 300, &ts, &err), 0);
	assert_int_equal(ts, 1700000000);
	assert_int_equal(bookto_check_timestamp("1699999700", now, 300, &ts, &err), 0);
	assert_int_equal(ts, 1699999700);
	assert_int_equal(bookto_check_timestamp("1700000300", now, 300, &ts, &err), 0);
	assert_int_equal(bookto_check_timestamp("1699999699", now, 300, &ts, &err), CN_INVALID);
	assert_non_null(strstr(err.message, "behind"));
	/* Future beyond tolerance fails too. */
	assert_int_equal(bookto_check_timestamp("1700000301", now, 300, &ts, &err), CN_INVALID);
	assert_non_null(strstr(err.message, "ahead"));
	assert_int_equal(bookto_check_timestamp("1800000000", now, 300, &ts, &err), CN_INVALID);
	/* Zero tolerance: only the exact second. */
	assert_int_equal(bookto_check_timestamp("1700000000", now, 0, &ts, &err), 0);
	assert_int_equal(bookto_check_timestamp("1700000001", now, 0, &ts, &err), CN_INVALID);
	/* Leading zeros are still decimal digits. */
	assert_int_equal(bookto_check_timestamp("01700000000", now, 0, &ts, &err), 0);
	assert_int_equal(ts, 1700000000);
}

static void test_timestamp_junk(void **state)
{
	static const char *const junk[] = {
	    "12a",
	    " 12",
	    "12 ",
	    "-5",
	    "+1700000000",
	    "",
	    "1700000000.5",
	    "0x10",
	    "1e9",
	    "99999999999999999999", /* > INT64_MAX */
	    "9223372036854775808",  /* INT64_MAX + 1 */
	};
	const time_t now = 1700000000;
	int64_t ts = 42;
	struct cn_error err = {{0}};

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		err.message[0] = '\0';
		assert_int_equal(bookto_check_timestamp(junk[i], now, 300, &ts, &err), CN_INVALID);
		assert_true(strlen(err.message) > 0);
	}
	assert_int_equal(bookto_check_timestamp(NULL, now, 300, &ts, &err), CN_INVALID);
	assert_int_equal(ts, 42);
	/* INT64_MAX parses but is far in the future; no overflow in the distance. */
	assert_int_equal(bookto_check_timestamp("9223372036854775807", now, 300, &ts, &err),
	                 CN_INVALID);
	assert_non_null(strstr(err.message, "ahead"));
	assert_int_equal(bookto_check_timestamp("0", now, 300, &ts, &err), CN_INVALID);
	assert_int_equal(bookto_check_timestamp("0", 0, 300, &ts, &err), 0);
}

/* ---- money ---- */

static void test_money_double(void **state)
{
	int64_t cents = -1;

	(void)state;
	assert_int_equal(bookto_money_parse_double(1.21, &cents), 0);
	assert_int_equal(cents, 121);
	assert_int_equal(bookto_money_parse_double(0.1 + 0.2, &cents), 0);
	assert_int_equal(cents, 30);
	assert_int_equal(bookto_money_parse_double(0.30000000000000004, &cents), 0);
	assert_int_equal(cents, 30);
	assert_int_equal(bookto_money_parse_double(19.99, &cents), 0);
	assert_int_equal(cents, 1999);
	assert_int_equal(bookto_money_parse_double(1e3, &cents), 0);
	assert_int_equal(cents, 100000);
	assert_int_equal(bookto_money_parse_double(0.0, &cents), 0);
	assert_int_equal(cents, 0);
	assert_int_equal(bookto_money_parse_double(12345678901.23, &cents), 0);
	assert_int_equal(cents, 1234567890123LL);
	assert_int_equal(bookto_money_parse_double(99999999999.99, &cents), 0);
	assert_int_equal(cents, 9999999999999LL);
	assert_int_equal(bookto_money_parse_double(100000000000.00, &cents), 0);
	assert_int_equal(cents, 10000000000000LL);
	assert_int_equal(bookto_money_parse_double(-0.5, &cents), 0);
	assert_int_equal(cents, -50);
	assert_int_equal(bookto_money_parse_double(-1.21, &cents), 0);
	assert_int_equal(cents, -121);

	cents = 7;
	assert_int_equal(bookto_money_parse_double(1.005, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(0.001, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(19.999, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(1.0000001, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(12345678901.235, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(100000000000.01, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(1e300, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(NAN, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(INFINITY, &cents), CN_INVALID);
	assert_int_equal(bookto_money_parse_double(-INFINITY, &cents), CN_INVALID);
	assert_int_equal(cents, 7);
}

static void test_money_text(void **state)
{
	/* what each text reads as; a refused one leaves cents as it was (-999) */
	static const struct {
		const char *text;
		int status;
		int64_t cents;
	} cases[] = {
	    {"1.21", CN_OK, 121},
	    {"1", CN_OK, 100},
	    {"0.3", CN_OK, 30},
	    {"19.99", CN_OK, 1999},
	    {"-0.5", CN_OK, -50},
	    {"-1.21", CN_OK, -121},
	    {"1.210", CN_OK, 121},
	    {"007.10", CN_OK, 710},
	    {"12345678901.23", CN_OK, 1234567890123LL},
	    {"0", CN_OK, 0},
	    {"100000000000", CN_OK, 10000000000000LL},
	    {"1.005", CN_INVALID, -999},
	    {"1.215", CN_INVALID, -999},
	    {"", CN_INVALID, -999},
	    {"-", CN_INVALID, -999},
	    {".5", CN_INVALID, -999},
	    {"5.", CN_INVALID, -999},
	    {"1,21", CN_INVALID, -999},
	    {" 1.21", CN_INVALID, -999},
	    {"1.21 ", CN_INVALID, -999},
	    {"+1", CN_INVALID, -999},
	    {"1e3", CN_INVALID, -999},
	    {"abc", CN_INVALID, -999},
	    {"1.2.3", CN_INVALID, -999},
	    {"--1", CN_INVALID, -999},
	    {"NaN", CN_INVALID, -999},
	    {"100000000000.01", CN_INVALID, -999},
	    {"99999999999999999999999", CN_INVALID, -999},
	};
	int64_t cents = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cents = -999;
		if (bookto_money_parse_text(cases[i].text, &cents) != cases[i].status)
			fail_msg("\"%s\": expected status %d", cases[i].text, cases[i].status);
		assert_int_equal(cents, cases[i].cents);
	}
	assert_int_equal(bookto_money_parse_text(NULL, &cents), CN_INVALID);
}

/* ---- match_ref ---- */

static void test_derive_match_ref(void **state)
{
	char out[64];
	char small[5];

	(void)state;
	assert_int_equal(
	    bookto_derive_match_ref(" NL 123.456.789 B01 ", "0106:1", "a@b.nl", out, sizeof(out)),
	    0);
	assert_string_equal(out, "nl123456789b01");
	assert_int_equal(bookto_derive_match_ref("BE-0123.456.789", "", "", out, sizeof(out)), 0);
	assert_string_equal(out, "be0123456789");
	/* Peppol id beats email; keeps its own punctuation. */
	assert_int_equal(
	    bookto_derive_match_ref("", " 0106:NL-12345678 ", "x@y.z", out, sizeof(out)), 0);
	assert_string_equal(out, "0106:nl-12345678");
	/* Whitespace-only VAT counts as none. */
	assert_int_equal(
	    bookto_derive_match_ref("   ", NULL, " Foo@Example.COM ", out, sizeof(out)), 0);
	assert_string_equal(out, "foo@example.com");
	assert_int_equal(bookto_derive_match_ref(NULL, NULL, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(bookto_derive_match_ref(" ", "\t", "", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Too small: "nl123" needs 6 bytes. */
	assert_int_equal(bookto_derive_match_ref("NL123", "", "", small, sizeof(small)),
	                 CN_INVALID);
	assert_string_equal(small, "");
	assert_int_equal(bookto_derive_match_ref("NL12", "", "", small, sizeof(small)), 0);
	assert_string_equal(small, "nl12");
	assert_int_equal(bookto_derive_match_ref("NL12", "", "", out, 0), CN_INVALID);
}

/* ---- payload ---- */

/* bookto's documented payload shape with real values. */
static const char example_payload[] =
    "{\n"
    "  \"event\": \"order.paid\",\n"
    "  \"payment_provider\": \"mollie\",\n"
    "  \"order_id\": \"ord_8f3a2c\",\n"
    "  \"order_number\": \"ORD-2024-0042\",\n"
    "  \"status\": \"paid\",\n"
    "  \"created_at\": \"2024-03-15T10:29:12.512Z\",\n"
    "  \"paid_at\": \"2024-03-15T10:30:00Z\",\n"
    "  \"amount\": {\n"
    "    \"total_incl\": 1.21,\n"
    "    \"excl_vat\": 1,\n"
    "    \"vat\": 0.21,\n"
    "    \"vat_rate\": 21,\n"
    "    \"currency\": \"EUR\"\n"
    "  },\n"
    "  \"vat_treatment\": \"standard\",\n"
    "  \"product\": { \"name\": \"Ebook\", \"description\": \"A book about C\" },\n"
    "  \"buyer\": {\n"
    "    \"first_name\": \"Zo\xc3\xab\",\n"
    "    \"last_name\": \"Peeters\",\n"
    "    \"email\": \"zoe@example.be\",\n"
    "    \"company\": \"Voorbeeld BV\",\n"
    "    \"vat_number\": \"BE0123456789\",\n"
    "    \"peppol_id\": \"0208:0123456789\",\n"
    "    \"address\": \"Grote Markt 1\",\n"
    "    \"address2\": \"bus 2\",\n"
    "    \"postal_code\": \"1000\",\n"
    "    \"city\": \"Brussel\",\n"
    "    \"country\": \"BE\",\n"
    "    \"match_ref\": \"be0123456789\"\n"
    "  },\n"
    "  \"custom_fields\": [ { \"label\": \"PO number\", \"value\": \"PO-77\" } ],\n"
    "  \"seller\": { \"id\": \"sel_123\", \"entity\": null },\n"
    "  \"is_test_order\": false\n"
    "}\n";

/* Parses text that is not NUL-terminated: copied into an exact-size buffer,
 * so ASan catches any read past body_len. */
static struct bookto_order *parse_ok(const char *text)
{
	size_t length = strlen(text);
	char *exact = malloc(length);
	struct bookto_order *order = NULL;
	struct cn_error err = {{0}};

	assert_non_null(exact);
	memcpy(exact, text, length);
	if (bookto_parse_order(exact, length, &order, &err) != 0)
		fail_msg("parse failed: %s", err.message);
	free(exact);
	assert_non_null(order);
	return order;
}

/* The smallest paid order body (1.21 incl. 21 %, exempt, buyer a@b.c) for
 * `order_id`; `buyer_more` goes inside the buyer object after its email. */
static void minimal_body(char *body, size_t size, const char *order_id, const char *buyer_more)
{
	int n = snprintf(body, size,
	                 "{\"event\":\"order.paid\",\"order_id\":\"%s\",\"order_number\":\"N1\","
	                 "\"paid_at\":\"2024-03-15T10:30:00Z\",\"amount\":{\"total_incl\":"
	                 "\"1.21\",\"excl_vat\":\"1.00\",\"vat\":\"0.21\",\"vat_rate\":\"21\","
	                 "\"currency\":\"EUR\"},\"vat_treatment\":\"exempt\",\"buyer\":{\"email\":"
	                 "\"a@b.c\"%s}}",
	                 order_id, buyer_more);

	assert_true(n > 0 && (size_t)n < size);
}

/* A text field of a parsed order and the value it must hold. */
struct order_text {
	size_t offset; /* of the char * in struct bookto_order */
	const char *name;
	const char *value;
};
#define TEXT(field, value)                                                                         \
	{                                                                                          \
		offsetof(struct bookto_order, field), #field, value                                \
	}

static void assert_order_texts(const struct bookto_order *order, const struct order_text *texts,
                               size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const char *got;

		memcpy(&got, (const char *)order + texts[i].offset, sizeof(got));
		if (got == NULL || strcmp(got, texts[i].value) != 0)
			fail_msg("%s is \"%s\", expected \"%s\"", texts[i].name,
			         got != NULL ? got : "(null)", texts[i].value);
	}
}

/* The example with one member replaced (value_json) or removed (NULL).
 * path is "key" or "object.key". */
static char *example_with(const char *path, const char *value_json)
{
	cJSON *root = cJSON_Parse(example_payload);
	cJSON *parent = root;
	char key[64];
	const char *dot = strchr(path, '.');
	char *text;

	assert_non_null(root);
	if (dot != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		parent = cJSON_GetObjectItemCaseSensitive(root, key);
		assert_non_null(parent);
		path = dot + 1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(parent, path);
	if (value_json != NULL) {
		cJSON *value = cJSON_Parse(value_json);

		assert_non_null(value);
		cJSON_AddItemToObject(parent, path, value);
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	assert_non_null(text);
	return text;
}

static struct bookto_order *parse_with(const char *path, const char *value_json)
{
	char *text = example_with(path, value_json);
	struct bookto_order *order = parse_ok(text);

	free(text);
	return order;
}

/* Parses the example with one change and checks the whole park_reason. */
static void expect_park(const char *path, const char *value_json, const char *reason)
{
	struct bookto_order *order = parse_with(path, value_json);

	if (order->park_reason == NULL)
		fail_msg("%s = %s: not parked, expected \"%s\"", path,
		         value_json ? value_json : "(removed)", reason);
	assert_string_equal(order->park_reason, reason);
	bookto_order_free(order);
}

static void expect_no_park(const char *path, const char *value_json)
{
	struct bookto_order *order = parse_with(path, value_json);

	if (order->park_reason != NULL)
		fail_msg("%s = %s: parked: %s", path, value_json ? value_json : "(removed)",
		         order->park_reason);
	bookto_order_free(order);
}

static void test_parse_example_every_field(void **state)
{
	static const struct order_text texts[] = {TEXT(event, "order.paid"),
	                                          TEXT(order_id, "ord_8f3a2c"),
	                                          TEXT(order_number, "ORD-2024-0042"),
	                                          TEXT(payment_provider, "mollie"),
	                                          TEXT(status, "paid"),
	                                          TEXT(created_at_text, "2024-03-15T10:29:12.512Z"),
	                                          TEXT(paid_at_text, "2024-03-15T10:30:00Z"),
	                                          TEXT(vat_rate_text, "21"),
	                                          TEXT(currency, "EUR"),
	                                          TEXT(vat_treatment, "standard"),
	                                          TEXT(product_name, "Ebook"),
	                                          TEXT(product_description, "A book about C"),
	                                          TEXT(buyer_first_name, "Zo\xc3\xab"),
	                                          TEXT(buyer_last_name, "Peeters"),
	                                          TEXT(buyer_email, "zoe@example.be"),
	                                          TEXT(buyer_company, "Voorbeeld BV"),
	                                          TEXT(buyer_vat_number, "BE0123456789"),
	                                          TEXT(buyer_peppol_id, "0208:0123456789"),
	                                          TEXT(buyer_address, "Grote Markt 1"),
	                                          TEXT(buyer_address2, "bus 2"),
	                                          TEXT(buyer_postal_code, "1000"),
	                                          TEXT(buyer_city, "Brussel"),
	                                          TEXT(buyer_country, "BE"),
	                                          TEXT(match_ref, "be0123456789"),
	                                          TEXT(seller_id, "sel_123")};
	struct bookto_order *order = parse_ok(example_payload);

	(void)state;
	assert_null(order->park_reason);
	assert_order_texts(order, texts, sizeof(texts) / sizeof(texts[0]));
	assert_true(order->paid_at_valid);
	assert_int_equal(order->paid_at_epoch, 1710498600); /* date -u -d ... +%s */
	assert_int_equal(order->total_incl_cents, 121);
	assert_int_equal(order->excl_vat_cents, 100);
	assert_int_equal(order->vat_cents, 21);
	assert_false(order->match_ref_derived);
	assert_int_equal(order->custom_field_count, 1);
	assert_string_equal(order->custom_fields[0].label, "PO number");
	assert_string_equal(order->custom_fields[0].value, "PO-77");
	assert_false(order->is_test_order);
	bookto_order_free(order);
}

static void test_parse_minimal_fills_empty_strings(void **state)
{
	static const struct order_text texts[] = {
	    TEXT(vat_rate_text, "21"), TEXT(payment_provider, ""), TEXT(product_name, ""),
	    TEXT(buyer_company, ""),   TEXT(buyer_first_name, ""), TEXT(seller_id, ""),
	    TEXT(match_ref, "a@b.c")};
	char body[512];
	struct bookto_order *order;

	(void)state;
	minimal_body(body, sizeof(body), "o1", ",\"company\":null");
	order = parse_ok(body);
	assert_null(order->park_reason);
	assert_int_equal(order->total_incl_cents, 121);
	assert_int_equal(order->excl_vat_cents, 100);
	assert_int_equal(order->vat_cents, 21);
	assert_order_texts(order, texts, sizeof(texts) / sizeof(texts[0]));
	assert_true(order->match_ref_derived);
	assert_int_equal(order->custom_field_count, 0);
	assert_false(order->is_test_order);
	bookto_order_free(order);
}

static void test_parse_invalid_bodies(void **state)
{
	static const char *const bodies[] = {
	    "{", "", "[1,2]", "\"order.paid\"", "42", "null", "{} junk", "{\"a\":}", "{}{}",
	};
	struct cn_error err = {{0}};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct bookto_order sentinel = {0};
		struct bookto_order *order = &sentinel; /* must come back NULL */

		err.message[0] = '\0';
		if (bookto_parse_order(bodies[i], strlen(bodies[i]), &order, &err) != CN_INVALID)
			fail_msg("accepted body \"%s\"", bodies[i]);
		assert_null(order);
		assert_true(strlen(err.message) > 0);
	}
	{
		struct bookto_order *order = NULL;

		assert_int_equal(bookto_parse_order("[1]", 3, &order, &err), CN_INVALID);
		assert_string_equal(err.message, "body is an array, not a JSON object");
		/* A NUL inside the given length is not whitespace. */
		assert_int_equal(bookto_parse_order("{}\0", 3, &order, &err), CN_INVALID);
		/* Trailing whitespace is fine; the length bounds the parse. */
		assert_int_equal(
		    bookto_parse_order("{\"event\":\"x\"} \n garbage", 15, &order, &err), 0);
		assert_string_equal(order->event, "x");
		bookto_order_free(order);
	}
}

static void test_parse_other_event(void **state)
{
	struct bookto_order *order =
	    parse_ok("{\"event\":\"order.refunded\",\"order_id\":\"o9\",\"amount\":\"junk\","
	             "\"buyer\":[]}");

	(void)state;
	assert_null(order->park_reason);
	assert_string_equal(order->event, "order.refunded");
	assert_string_equal(order->order_id, "o9");
	assert_string_equal(order->order_number, "");
	assert_string_equal(order->match_ref, "");
	assert_int_equal(order->total_incl_cents, 0);
	assert_false(order->paid_at_valid);
	bookto_order_free(order);

	/* Without an event name it is treated as order.paid, and parked. */
	order = parse_with("event", NULL);
	assert_string_equal(order->event, "");
	assert_string_equal(order->park_reason, "event is missing (expected \"order.paid\")");
	assert_int_equal(order->total_incl_cents, 121);
	bookto_order_free(order);
}

static void test_park_identity_and_dates(void **state)
{
	(void)state;
	expect_park("order_id", NULL, "order_id is missing");
	expect_park("order_id", "\"\"", "order_id is missing");
	expect_park("order_id", "12", "order_id is a number, not a string; order_id is missing");
	expect_park("order_number", NULL, "order_number is missing");
	expect_park("order_number", "null", "order_number is missing");
	expect_park("paid_at", NULL, "paid_at is missing");
	expect_park("paid_at", "\"yesterday\"",
	            "paid_at \"yesterday\" is not an ISO 8601 date and time with a time zone");
	expect_park("paid_at", "\"2024-03-15T10:30:00\"",
	            "paid_at \"2024-03-15T10:30:00\" is not an ISO 8601 date and time with a "
	            "time zone");
	expect_park("paid_at", "\"2023-02-29T10:30:00Z\"",
	            "paid_at \"2023-02-29T10:30:00Z\" is not an ISO 8601 date and time with a "
	            "time zone");
	expect_park("paid_at", "\"2024-03-15T24:00:00Z\"",
	            "paid_at \"2024-03-15T24:00:00Z\" is not an ISO 8601 date and time with a "
	            "time zone");
	expect_park("paid_at", "\"2024-03-15T10:30:00Zjunk\"",
	            "paid_at \"2024-03-15T10:30:00Zjunk\" is not an ISO 8601 date and time "
	            "with a time zone");
	expect_park("paid_at", "\"2024-03-15T10:30:00.Z\"",
	            "paid_at \"2024-03-15T10:30:00.Z\" is not an ISO 8601 date and time with a "
	            "time zone");
	expect_park("paid_at", "1710498600",
	            "paid_at is a number, not a string; paid_at is missing");
}

static void test_paid_at_rejected_forms(void **state)
{
	static const char *const bad[] = {
	    "\"2024-03-15T10:30:61Z\"",      "\"2024-03-15T10:60:00Z\"",
	    "\"2024-13-15T10:30:00Z\"",      "\"2024-00-15T10:30:00Z\"",
	    "\"2024-04-31T10:30:00Z\"",      "\"2024-03-15T10:30:00+24:00\"",
	    "\"2024-03-15T10:30:00+01:60\"", "\"2024-03-15T10:30:00+0100\"",
	    "\"2024-03-15T10:30Z\"",         "\"2024-3-15T10:30:00Z\"",
	    "\"2024-03-15X10:30:00Z\"",      "\"\"",
	};
	char expected[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (strcmp(bad[i], "\"\"") == 0)
			snprintf(expected, sizeof(expected), "paid_at is missing");
		else
			snprintf(expected, sizeof(expected),
			         "paid_at %s is not an ISO 8601 date and time with a time zone",
			         bad[i]);
		expect_park("paid_at", bad[i], expected);
	}
}

static void test_paid_at_forms(void **state)
{
	static const struct {
		const char *json;
		int64_t epoch;
	} forms[] = {
	    {"\"2024-03-15T10:30:00Z\"", 1710498600},
	    {"\"2024-03-15T11:30:00.123+01:00\"", 1710498600},
	    {"\"2024-03-15 10:30:00Z\"", 1710498600},
	    {"\"2024-03-15 12:30:00+02:00\"", 1710498600},
	    {"\"2024-03-15T05:00:00.123456-05:30\"", 1710498600},
	    {"\"2024-02-29T23:59:59Z\"", 1709251199},
	    {"\"2000-03-01T00:00:00Z\"", 951868800},
	    {"\"1970-01-01T00:00:00Z\"", 0},
	    {"\"1970-01-01T00:00:00+01:00\"", -3600},
	    /* A leap second stays in its minute: date -u -d 2016-12-31T23:59:59Z +%s */
	    {"\"2016-12-31T23:59:60Z\"", 1483228799},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct bookto_order *order = parse_with("paid_at", forms[i].json);

		if (order->park_reason != NULL)
			fail_msg("%s: %s", forms[i].json, order->park_reason);
		assert_true(order->paid_at_valid);
		assert_int_equal(order->paid_at_epoch, forms[i].epoch);
		bookto_order_free(order);
	}
}

static void test_park_amounts(void **state)
{
	struct bookto_order *order;

	(void)state;
	expect_park("amount.total_incl", "1.22",
	            "amounts do not add up: excl_vat 1.00 + vat 0.21 != total_incl 1.22");
	expect_park("amount.vat", "0.22",
	            "amounts do not add up: excl_vat 1.00 + vat 0.22 != total_incl 1.21");
	expect_park("amount.total_incl", "1.005",
	            "amount.total_incl 1.005 is not an amount with at most two decimals");
	expect_park("amount.excl_vat", "\"1,00\"",
	            "amount.excl_vat \"1,00\" is not an amount with at most two decimals");
	expect_park("amount.vat", "true", "amount.vat is a boolean, not a number");
	expect_park("amount.vat_rate", "{}", "amount.vat_rate is an object, not a number");
	expect_park("amount.total_incl", NULL, "amount.total_incl is missing");
	expect_park("amount.total_incl", "-1.21", "amount.total_incl -1.21 is negative");
	expect_park("amount", NULL, "amount is missing");
	expect_park("amount", "\"1.21\"", "amount is a string, not an object");
	expect_park("amount", "[1.21]", "amount is an array, not an object");
	expect_park("amount.vat_rate", NULL, "amount.vat_rate is missing");
	expect_park("amount.vat_rate", "21.125",
	            "amount.vat_rate 21.125 is not a percentage with at most two decimals");
	expect_park("amount.vat_rate", "-21",
	            "amount.vat_rate -21 is not a percentage from 0 to 100");
	expect_park("amount.vat_rate", "100.5",
	            "amount.vat_rate 100.5 is not a percentage from 0 to 100");
	expect_park("amount.currency", NULL, "amount.currency is missing");
	expect_park("amount.currency", "\"eur\"",
	            "amount.currency \"eur\" is not three upper-case letters");
	expect_park("amount.currency", "\"EURO\"",
	            "amount.currency \"EURO\" is not three upper-case letters");

	/* Binary noise in a sum that does add up in cents. */
	order = parse_with("amount", "{\"total_incl\":0.30000000000000004,\"excl_vat\":0.1,"
	                             "\"vat\":0.2,\"vat_rate\":\"9.0\",\"currency\":\"EUR\"}");
	assert_null(order->park_reason);
	assert_int_equal(order->total_incl_cents, 30);
	assert_string_equal(order->vat_rate_text, "9");
	bookto_order_free(order);

	/* A large total, exact to the cent. */
	order = parse_with("amount", "{\"total_incl\":12345678901.23,\"excl_vat\":10203040414.24,"
	                             "\"vat\":2142638486.99,\"vat_rate\":21,\"currency\":\"EUR\"}");
	assert_null(order->park_reason);
	assert_int_equal(order->total_incl_cents, 1234567890123LL);
	bookto_order_free(order);

	/* Zero-rated sale. */
	order = parse_with("amount", "{\"total_incl\":100,\"excl_vat\":100,\"vat\":0,"
	                             "\"vat_rate\":0,\"currency\":\"USD\"}");
	assert_null(order->park_reason);
	assert_string_equal(order->vat_rate_text, "0");
	assert_string_equal(order->currency, "USD");
	bookto_order_free(order);
}

static void test_vat_rate_text(void **state)
{
	static const struct {
		const char *json;
		const char *text;
	} rates[] = {
	    {"21", "21"},        {"5.5", "5.5"},   {"9.0", "9"},   {"9", "9"},     {"\"21\"", "21"},
	    {"\"5.50\"", "5.5"}, {"5.25", "5.25"}, {"0.1", "0.1"}, {"100", "100"}, {"1e1", "10"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct bookto_order *order = parse_with("amount.vat_rate", rates[i].json);

		assert_null(order->park_reason);
		assert_string_equal(order->vat_rate_text, rates[i].text);
		bookto_order_free(order);
	}
}

static void test_park_vat_treatment(void **state)
{
	static const char *const known[] = {"\"standard\"", "\"reverse_charge\"", "\"export\"",
	                                    "\"oss\"", "\"exempt\""};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		expect_no_park("vat_treatment", known[i]);
	/* Unmapped values are the mapping's to judge (the intake checks them). */
	expect_no_park("vat_treatment", "\"zero_rated\"");
	expect_park("vat_treatment", NULL,
	            "vat_treatment is missing; add a mapping entry for the value bookto sends "
	            "under `vat_treatments` in the connection's mapping file");
}

static void test_park_wrong_types(void **state)
{
	(void)state;
	expect_park("buyer", "[]", "buyer is an array, not an object");
	expect_park("buyer.email", "42", "buyer.email is a number, not a string");
	expect_park("product", "\"Ebook\"", "product is a string, not an object");
	expect_park("product.name", "{}", "product.name is an object, not a string");
	expect_park("seller", "7", "seller is a number, not an object");
	expect_park("seller.id", "false", "seller.id is a boolean, not a string");
	expect_park("is_test_order", "\"yes\"", "is_test_order is a string, not true or false");
	expect_park("custom_fields", "{}", "custom_fields is an object, not an array");
	expect_park("status", "[]", "status is an array, not a string");
	expect_no_park("product", NULL);
	expect_no_park("seller", "null");
	expect_no_park("custom_fields", "null");
	expect_no_park("custom_fields", "[]");
	expect_no_park("is_test_order", NULL);
}

static void test_park_several_joined(void **state)
{
	char *text = example_with("order_id", NULL);
	cJSON *root = cJSON_Parse(text);
	char *changed;
	struct bookto_order *order;

	(void)state;
	free(text);
	cJSON_DeleteItemFromObject(root, "order_number");
	cJSON_ReplaceItemInObject(root, "vat_treatment", cJSON_CreateString(""));
	changed = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	order = parse_ok(changed);
	free(changed);
	assert_string_equal(
	    order->park_reason,
	    "order_id is missing; order_number is missing; vat_treatment is missing; add a "
	    "mapping entry for the value bookto sends under `vat_treatments` in the "
	    "connection's mapping file");
	/* Parked orders still carry everything that did parse. */
	assert_int_equal(order->total_incl_cents, 121);
	assert_string_equal(order->vat_treatment, "");
	bookto_order_free(order);
}

static void test_match_ref_sent_and_derived(void **state)
{
	struct bookto_order *order;

	(void)state;
	order = parse_with("buyer.match_ref", "\"  Sent-Ref \"");
	assert_null(order->park_reason);
	assert_string_equal(order->match_ref, "Sent-Ref");
	assert_false(order->match_ref_derived);
	bookto_order_free(order);

	order =
	    parse_with("buyer", "{\"vat_number\":\" NL 123.456.789 B01 \",\"peppol_id\":\"0106:1\","
	                        "\"email\":\"a@b.nl\",\"match_ref\":\"\",\"country\":\"nl\"}");
	assert_null(order->park_reason);
	assert_string_equal(order->match_ref, "nl123456789b01");
	assert_true(order->match_ref_derived);
	assert_string_equal(order->buyer_vat_number, " NL 123.456.789 B01 ");
	assert_string_equal(order->buyer_country, "NL");
	bookto_order_free(order);

	order = parse_with("buyer", "{\"vat_number\":\"\",\"peppol_id\":\" 0106:NL1 \","
	                            "\"email\":\"a@b.nl\",\"match_ref\":null}");
	assert_string_equal(order->match_ref, "0106:nl1");
	assert_true(order->match_ref_derived);
	bookto_order_free(order);

	order = parse_with("buyer", "{\"email\":\" Foo@Example.COM \",\"match_ref\":\"   \"}");
	assert_null(order->park_reason);
	assert_string_equal(order->match_ref, "foo@example.com");
	assert_true(order->match_ref_derived);
	bookto_order_free(order);

	expect_park("buyer", "{\"first_name\":\"Anon\",\"match_ref\":\" \"}",
	            "buyer has no VAT number, Peppol id or email to match a contact on");
	expect_park("buyer", NULL,
	            "buyer has no VAT number, Peppol id or email to match a contact on");
}

static void test_custom_fields(void **state)
{
	struct bookto_order *order;
	char *big;
	size_t big_size = 64 + 4097;

	(void)state;
	order =
	    parse_with("custom_fields",
	               "[{\"label\":\"PO\",\"value\":\"PO-1\"},{\"label\":\"Seats\",\"value\":3},"
	               "{\"label\":\"Gift\",\"value\":true},{\"label\":\"Opt\",\"value\":false},"
	               "{\"label\":\"Note\",\"value\":null},{\"label\":\"Ratio\",\"value\":0.1},"
	               "{\"label\":\"Neg\",\"value\":-2.5},{\"value\":\"no label\"},"
	               "{\"label\":null}]");
	assert_null(order->park_reason);
	assert_int_equal(order->custom_field_count, 9);
	assert_string_equal(order->custom_fields[0].value, "PO-1");
	assert_string_equal(order->custom_fields[1].value, "3");
	assert_string_equal(order->custom_fields[2].value, "true");
	assert_string_equal(order->custom_fields[3].value, "false");
	assert_string_equal(order->custom_fields[4].value, "");
	assert_string_equal(order->custom_fields[5].value, "0.1");
	assert_string_equal(order->custom_fields[6].value, "-2.5");
	assert_string_equal(order->custom_fields[7].label, "");
	assert_string_equal(order->custom_fields[7].value, "no label");
	assert_string_equal(order->custom_fields[8].label, "");
	assert_string_equal(order->custom_fields[8].value, "");
	bookto_order_free(order);

	expect_park("custom_fields", "[{\"label\":\"L\",\"value\":[1]}]",
	            "custom_fields[0].value is an array, not text");
	expect_park("custom_fields", "[{\"label\":\"L\",\"value\":\"v\"}, \"x\"]",
	            "custom_fields[1] is a string, not an object");

	/* 4096 bytes is the cap; 4097 parks (no silent truncation). */
	big = malloc(big_size);
	assert_non_null(big);
	snprintf(big, big_size, "[{\"label\":\"L\",\"value\":\"%0*d\"}]", 4096, 0);
	expect_no_park("custom_fields", big);
	snprintf(big, big_size, "[{\"label\":\"L\",\"value\":\"%0*d\"}]", 4097, 0);
	order = parse_with("custom_fields", big);
	assert_string_equal(order->park_reason,
	                    "custom_fields[0].value is 4097 bytes, more than 4096");
	assert_int_equal(order->custom_field_count, 0);
	assert_null(order->custom_fields);
	bookto_order_free(order);
	free(big);
}

static void test_custom_fields_count_cap(void **state)
{
	char list[51 * 32 + 8];
	size_t used = 0;
	struct bookto_order *order;

	(void)state;
	used += (size_t)snprintf(list + used, sizeof(list) - used, "[");
	for (int i = 0; i < 50; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		                         "%s{\"label\":\"l%d\",\"value\":%d}", i ? "," : "", i, i);
	snprintf(list + used, sizeof(list) - used, "]");
	order = parse_with("custom_fields", list);
	assert_null(order->park_reason);
	assert_int_equal(order->custom_field_count, 50);
	assert_string_equal(order->custom_fields[49].label, "l49");
	assert_string_equal(order->custom_fields[49].value, "49");
	bookto_order_free(order);

	snprintf(list + used, sizeof(list) - used, ",{\"label\":\"l50\",\"value\":50}]");
	expect_park("custom_fields", list,
	            "custom_fields has 51 entries, more than the 50 allowed");
}

static void test_park_reason_is_bounded(void **state)
{
	char list[50 * 40 + 8];
	size_t used = 0;
	struct bookto_order *order;
	size_t length;

	(void)state;
	/* 50 bad entries: more sentences than park_reason keeps. */
	used += (size_t)snprintf(list + used, sizeof(list) - used, "[");
	for (int i = 0; i < 50; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		                         "%s{\"label\":\"l\",\"value\":{}}", i ? "," : "");
	snprintf(list + used, sizeof(list) - used, "]");
	order = parse_with("custom_fields", list);
	assert_non_null(order->park_reason);
	length = strlen(order->park_reason);
	assert_true(length < 2048);
	assert_string_equal(order->park_reason + length - 5, "; ...");
	assert_non_null(strstr(order->park_reason,
	                       "custom_fields[0].value is an object, not text; custom_fields[1]"));
	assert_int_equal(order->custom_field_count, 0);
	bookto_order_free(order);
}

static void test_is_test_order(void **state)
{
	struct bookto_order *order = parse_with("is_test_order", "true");

	(void)state;
	assert_null(order->park_reason);
	assert_true(order->is_test_order);
	bookto_order_free(order);
}

static void test_check_text(void **state)
{
	static const char valid[] = "{\"a\":\"J\xc3\xa9"
	                            "an \\\\u0000 \\u00e9 \xf0\x9f\x93\x96\"}";
	static const char *const invalid[] = {
	    "{\"a\":\"J\xff\xfe"
	    "an\"}",                        /* not UTF-8 */
	    "{\"a\":\"\xc0\xaf\"}",         /* overlong */
	    "{\"a\":\"\xed\xa0\x80\"}",     /* a surrogate */
	    "{\"a\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
	    "{\"a\":\"\xe2\x82\"}",         /* cut short */
	    "{\"a\":\"J\\u0000an\"}",       /* an escaped NUL */
	    "{\"a\":\"\\\\\\u0000\"}",      /* an escaped backslash, then a NUL */
	};
	struct cn_error err = {{0}};

	(void)state;
	assert_int_equal(bookto_check_text(valid, strlen(valid), &err), 0);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		assert_int_equal(bookto_check_text(invalid[i], strlen(invalid[i]), &err),
		                 CN_INVALID);
	assert_int_equal(bookto_check_text("{\"a\":\"x\0y\"}", 11, &err), CN_INVALID);
	assert_non_null(strstr(err.message, "NUL byte"));
}

static void test_parse_refuses_text_postgresql_cannot_hold(void **state)
{
	static const char body[] = "{\"event\":\"order.paid\",\"order_id\":\"o\\u0000x\"}";
	struct bookto_order *order = NULL;
	struct cn_error err = {{0}};

	(void)state;
	assert_int_equal(bookto_parse_order(body, strlen(body), &order, &err), CN_INVALID);
	assert_null(order);
	assert_non_null(strstr(err.message, "NUL character"));
}

static void test_field_limits_park(void **state)
{
	char body[2048];
	char long_id[300];
	struct bookto_order *order;

	(void)state;
	memset(long_id, 'x', 256);
	long_id[256] = '\0';
	minimal_body(body, sizeof(body), long_id, "");
	order = parse_ok(body);
	assert_non_null(order->park_reason);
	assert_non_null(
	    strstr(order->park_reason, "order_id is 256 bytes, more than the 255 allowed"));
	assert_int_equal(strlen(order->order_id), 256); /* kept whole; the intake re-keys it */
	bookto_order_free(order);
	long_id[255] = '\0';
	minimal_body(body, sizeof(body), long_id, "");
	order = parse_ok(body);
	assert_null(order->park_reason); /* 255 bytes is within the limit */
	bookto_order_free(order);
}

static void test_utf8_sanitize(void **state)
{
	char text[] = "ok \xc3\xa9 \xff cut \xe2\x82";

	(void)state;
	bookto_utf8_sanitize(text);
	assert_string_equal(text, "ok \xc3\xa9 ? cut ??");
	bookto_utf8_sanitize(NULL);
}

static void test_order_free_null(void **state)
{
	(void)state;
	bookto_order_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signature_vectors_verify),
	    cmocka_unit_test(test_signature_sign_reproduces_vectors),
	    cmocka_unit_test(test_signature_nul_body_is_hashed_whole),
	    cmocka_unit_test(test_signature_wrong_secret_and_tampering),
	    cmocka_unit_test(test_signature_secret_rotation),
	    cmocka_unit_test(test_signature_malformed_headers),
	    cmocka_unit_test(test_signature_uppercase_hex_accepted),
	    cmocka_unit_test(test_timestamp_edges),
	    cmocka_unit_test(test_timestamp_junk),
	    cmocka_unit_test(test_money_double),
	    cmocka_unit_test(test_money_text),
	    cmocka_unit_test(test_derive_match_ref),
	    cmocka_unit_test(test_parse_example_every_field),
	    cmocka_unit_test(test_parse_minimal_fills_empty_strings),
	    cmocka_unit_test(test_parse_invalid_bodies),
	    cmocka_unit_test(test_parse_other_event),
	    cmocka_unit_test(test_park_identity_and_dates),
	    cmocka_unit_test(test_paid_at_forms),
	    cmocka_unit_test(test_paid_at_rejected_forms),
	    cmocka_unit_test(test_park_amounts),
	    cmocka_unit_test(test_vat_rate_text),
	    cmocka_unit_test(test_park_vat_treatment),
	    cmocka_unit_test(test_park_wrong_types),
	    cmocka_unit_test(test_park_several_joined),
	    cmocka_unit_test(test_match_ref_sent_and_derived),
	    cmocka_unit_test(test_custom_fields),
	    cmocka_unit_test(test_custom_fields_count_cap),
	    cmocka_unit_test(test_park_reason_is_bounded),
	    cmocka_unit_test(test_is_test_order),
	    cmocka_unit_test(test_order_free_null),
	    cmocka_unit_test(test_check_text),
	    cmocka_unit_test(test_parse_refuses_text_postgresql_cannot_hold),
	    cmocka_unit_test(test_field_limits_park),
	    cmocka_unit_test(test_utf8_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
