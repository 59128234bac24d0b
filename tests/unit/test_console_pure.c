/*
 * The console's pure parts: HTML escaping (the XSS payloads of the browser
 * test come out as text), URL encoding, form and cookie parsing, the
 * constant-time token check behind CSRF and sessions, and the PBKDF2
 * password hash (a vector computed independently with Python's hashlib).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "html.h"
#include "password.h"

static char *escaped(const char *text)
{
	static char out[512];
	struct dynbuf buf;

	dynbuf_init(&buf, 400);
	assert_int_equal(html_text(&buf, text), CN_OK);
	snprintf(out, sizeof(out), "%s", dynbuf_ptr(&buf));
	dynbuf_free(&buf);
	return out;
}

static void test_html_text(void **state)
{
	struct dynbuf buf;

	(void)state;
	assert_string_equal(escaped("<script>alert(1)</script>"),
	                    "&lt;script&gt;alert(1)&lt;/script&gt;");
	assert_string_equal(escaped("\"><img src=x onerror=alert(1)>"),
	                    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
	assert_string_equal(escaped("'&'"), "&#39;&amp;&#39;");
	assert_string_equal(escaped("Caf\xc3\xa9 \xe2\x80\x94 plain"),
	                    "Caf\xc3\xa9 \xe2\x80\x94 plain");
	assert_string_equal(escaped(""), "");
	/* Past the cap: refused, never cut into a half entity. */
	dynbuf_init(&buf, 6);
	assert_int_equal(html_text(&buf, "<<"), CN_INVALID);
	dynbuf_free(&buf);
}

static void test_generated_text_never_holds_markup(void **state)
{
	/* Every byte string of the characters that matter, escaped, holds no
	 * raw < > " ' and no & that does not start an entity. */
	const char alphabet[] = "<>\"'&a;=/ ";
	char text[5];

	(void)state;
	for (int n = 0; n < 10000; n++) {
		int v = n;
		const char *out;

		for (int i = 0; i < 4; i++, v /= 10)
			text[i] = alphabet[v % 10];
		text[4] = '\0';
		out = escaped(text);
		assert_null(strpbrk(out, "<>\"'"));
		for (const char *p = strchr(out, '&'); p != NULL; p = strchr(p + 1, '&'))
			assert_true(strncmp(p, "&lt;", 4) == 0 || strncmp(p, "&gt;", 4) == 0 ||
			            strncmp(p, "&quot;", 6) == 0 || strncmp(p, "&#39;", 5) == 0 ||
			            strncmp(p, "&amp;", 5) == 0);
	}
}

static void test_url_component(void **state)
{
	struct dynbuf buf;

	(void)state;
	dynbuf_init(&buf, 200);
	assert_int_equal(html_url_component(&buf, "ord 1/\"x\"&q=<>~._-"), CN_OK);
	assert_string_equal(dynbuf_ptr(&buf), "ord%201%2F%22x%22%26q%3D%3C%3E~._-");
	dynbuf_free(&buf);
}

static void test_form_field(void **state)
{
	char out[16];

	(void)state;
	assert_true(html_form_field("csrf=ab12&username=olga+b&password=p%26%3D%25", "username",
	                            out, sizeof(out)));
	assert_string_equal(out, "olga b");
	assert_true(html_form_field("csrf=ab12&username=olga+b&password=p%26%3D%25", "password",
	                            out, sizeof(out)));
	assert_string_equal(out, "p&=%");
	assert_true(html_form_field("a=&csrf=x", "a", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(html_form_field("xcsrf=1", "csrf", out, sizeof(out)));
	assert_false(html_form_field("", "csrf", out, sizeof(out)));
	assert_false(html_form_field("csrf=%4", "csrf", out, sizeof(out)));
	assert_false(html_form_field("csrf=%zz", "csrf", out, sizeof(out)));
	assert_false(html_form_field("csrf=%00", "csrf", out, sizeof(out)));
	assert_false(html_form_field("csrf=0123456789abcdef", "csrf", out, sizeof(out)));
}

static void test_cookie_value(void **state)
{
	char out[16];

	(void)state;
	assert_true(html_cookie_value("a=1; bm_console=abc; b=2", "bm_console", out, sizeof(out)));
	assert_string_equal(out, "abc");
	assert_true(html_cookie_value("bm_console=", "bm_console", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(html_cookie_value("xbm_console=abc", "bm_console", out, sizeof(out)));
	assert_false(html_cookie_value(NULL, "bm_console", out, sizeof(out)));
	assert_false(
	    html_cookie_value("bm_console=0123456789abcdefgh", "bm_console", out, sizeof(out)));
}

static void test_token_equal(void **state)
{
	(void)state;
	assert_true(html_token_equal("abc123", "abc123"));
	assert_false(html_token_equal("abc124", "abc123"));
	assert_false(html_token_equal("abc12", "abc123"));
	assert_false(html_token_equal("abc1234", "abc123"));
	assert_false(html_token_equal("", ""));
	assert_false(html_token_equal(NULL, "abc"));
	assert_false(html_token_equal("abc", NULL));
}

static void test_password_vector(void **state)
{
	const unsigned char salt[PASSWORD_SALT_BYTES] = {0, 1, 2,  3,  4,  5,  6,  7,
	                                                 8, 9, 10, 11, 12, 13, 14, 15};
	const char expected[] = "pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$"
	                        "AhaeZ02AwPxykuhhDI8XvhQN8GKvmqM+qF6qvs/98I0=";
	char hash[PASSWORD_STRING_MAX];

	(void)state;
	assert_int_equal(password_hash("correct horse battery", salt, 1000, hash), CN_OK);
	assert_string_equal(hash, expected);
	assert_true(password_verify("correct horse battery", expected));
	assert_false(password_verify("correct horse batterY", expected));
	assert_false(password_verify("", expected));
	assert_int_equal(password_hash("x", salt, 999, hash), CN_INVALID);
}

static void test_password_malformed(void **state)
{
	(void)state;
	assert_false(password_verify("a", NULL));
	assert_false(password_verify("a", ""));
	assert_false(password_verify("a", "plain-text-password"));
	assert_false(password_verify("a", "pbkdf2-sha256$10$AAECAwQFBgcICQoLDA0ODw==$AAAA"));
	assert_false(password_verify("a", "pbkdf2-sha256$1000$!!!$AhaeZ02AwPxykuhhDI8Xvh"));
	assert_false(password_verify("correct horse battery",
	                             "pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$"
	                             "AhaeZ02AwPxykuhhDI8XvhQN8GKvmqM+qF6qvs/98I0"));
	assert_non_null(password_weakness("short"));
	assert_non_null(password_weakness("line one\nline two"));
	assert_null(password_weakness("a long enough password"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html_text),
	    cmocka_unit_test(test_generated_text_never_holds_markup),
	    cmocka_unit_test(test_url_component),
	    cmocka_unit_test(test_form_field),
	    cmocka_unit_test(test_cookie_value),
	    cmocka_unit_test(test_token_equal),
	    cmocka_unit_test(test_password_vector),
	    cmocka_unit_test(test_password_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
