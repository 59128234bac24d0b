/*
 * config: the optional console group (defaults: on at 127.0.0.1:8081, 480
 * minutes, cookies not Secure), "" turning it off, every key, and the
 * refusals with their sentences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "unit_config.h"

static void test_defaults(void **state)
{
	struct loaded loaded;

	(void)state;
	load(&loaded, "");
	assert_int_equal(loaded.status, CN_OK);
	assert_string_equal(loaded.config->console_listen_host, "127.0.0.1");
	assert_int_equal(loaded.config->console_listen_port, 8081);
	assert_int_equal(loaded.config->console_session_minutes, 480);
	assert_false(loaded.config->console_secure_cookies);
	loaded_free(&loaded);
}

static void test_off_and_every_key(void **state)
{
	struct loaded loaded;

	(void)state;
	load(&loaded, "console = { listen = \"\"; };");
	assert_int_equal(loaded.status, CN_OK);
	assert_null(loaded.config->console_listen_host);
	loaded_free(&loaded);
	load(&loaded, "console = { listen = \"[::1]:9001\"; session_minutes = 30;"
	              " secure_cookies = true; };");
	assert_int_equal(loaded.status, CN_OK);
	assert_string_equal(loaded.config->console_listen_host, "::1");
	assert_int_equal(loaded.config->console_listen_port, 9001);
	assert_int_equal(loaded.config->console_session_minutes, 30);
	assert_true(loaded.config->console_secure_cookies);
	loaded_free(&loaded);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *text;
		const char *needle;
	} cases[] = {
	    {"console = { listen = \"8081\"; };", "`console.listen` must be"},
	    {"console = { listen = \"example.com:8081\"; };", "`console.listen` must be"},
	    {"console = { session_minutes = 4; };", "session_minutes"},
	    {"console = { session_minutes = 10081; };", "session_minutes"},
	    {"console = { secure_cookies = \"yes\"; };", "secure_cookies"},
	    {"console = { listen_port = 1; };", "listen_port"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loaded loaded;

		load(&loaded, cases[i].text);
		assert_int_equal(loaded.status, CN_INVALID);
		if (strstr(loaded.problems, cases[i].needle) == NULL)
			fail_msg("%s: expected \"%s\" in: %s", cases[i].text, cases[i].needle,
			         loaded.problems);
		loaded_free(&loaded);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_off_and_every_key),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, unit_config_setup, unit_config_teardown);
}
