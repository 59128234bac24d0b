/*
 * config: the optional console group (defaults: on at 127.0.0.1:8081, 480
 * minutes, cookies not Secure), "" turning it off, every key, and the
 * refusals with their sentences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "unit_config.h"
#include "unit_main.h"

/* Accepted groups: absent (the defaults), off, and every key set. */
static void test_accepted(void **state)
{
	static const struct {
		const char *text;
		const char *host; /* NULL: the console is off, nothing else to check */
		int port;
		int session_minutes;
		bool secure_cookies;
	} cases[] = {
	    {"", "127.0.0.1", 8081, 480, false},
	    {"console = { listen = \"\"; };", NULL, 0, 0, false},
	    {"console = { listen = \"[::1]:9001\"; session_minutes = 30;"
	     " secure_cookies = true; };",
	     "::1", 9001, 30, true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loaded loaded;
		const struct config *config;

		load(&loaded, cases[i].text);
		assert_int_equal(loaded.status, CN_OK);
		config = loaded.config;
		if (cases[i].host == NULL) {
			assert_null(config->console_listen_host);
		} else {
			assert_string_equal(config->console_listen_host, cases[i].host);
			assert_int_equal(config->console_listen_port, cases[i].port);
			assert_int_equal(config->console_session_minutes, cases[i].session_minutes);
			assert_true(config->console_secure_cookies == cases[i].secure_cookies);
		}
		loaded_free(&loaded);
	}
}

static void test_refusals(void **state)
{
	static const struct refusal cases[] = {
	    {"console = { listen = \"8081\"; };", "`console.listen` must be"},
	    {"console = { listen = \"example.com:8081\"; };", "`console.listen` must be"},
	    {"console = { session_minutes = 4; };", "session_minutes"},
	    {"console = { session_minutes = 10081; };", "session_minutes"},
	    {"console = { secure_cookies = \"yes\"; };", "secure_cookies"},
	    {"console = { listen_port = 1; };", "listen_port"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_problem(cases[i].group, cases[i].needle);
}

UNIT_TEST_MAIN(unit_config_setup, unit_config_teardown, cmocka_unit_test(test_accepted),
               cmocka_unit_test(test_refusals))
