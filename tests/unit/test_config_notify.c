/*
 * config: the optional notify group (defaults, every key, the refusals),
 * and the notification text a message is built from (notify_text).
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
#include "notify_send.h"
#include "unit_config.h"

static void test_absent_means_off(void **state)
{
	struct loaded loaded;

	(void)state;
	load(&loaded, "");
	assert_int_equal(loaded.status, CN_OK);
	assert_null(loaded.config->notify_webhook_url);
	assert_null(loaded.config->notify_sendmail);
	assert_int_equal(loaded.config->notify_interval_seconds, 900);
	assert_int_equal(loaded.config->notify_spool_age_seconds, 600);
	assert_int_equal(loaded.config->notify_timeout_seconds, 10);
	loaded_free(&loaded);
}

static void test_every_key(void **state)
{
	struct loaded loaded;

	(void)state;
	assert_int_equal(setenv("BM_TEST_NOTIFY_URL", "https://hooks.example.com/x/y", 1), 0);
	load(&loaded, "notify = { webhook_url = \"env:BM_TEST_NOTIFY_URL\";"
	              " sendmail = \"/usr/sbin/sendmail\"; email_to = \"ops@example.com\";"
	              " email_from = \"c@example.com\"; interval_seconds = 60;"
	              " spool_age_seconds = 30; timeout_seconds = 5; };");
	unsetenv("BM_TEST_NOTIFY_URL");
	assert_int_equal(loaded.status, CN_OK);
	assert_string_equal(loaded.config->notify_webhook_url, "https://hooks.example.com/x/y");
	assert_string_equal(loaded.config->notify_sendmail, "/usr/sbin/sendmail");
	assert_string_equal(loaded.config->notify_email_to, "ops@example.com");
	assert_string_equal(loaded.config->notify_email_from, "c@example.com");
	assert_int_equal(loaded.config->notify_interval_seconds, 60);
	assert_int_equal(loaded.config->notify_spool_age_seconds, 30);
	assert_int_equal(loaded.config->notify_timeout_seconds, 5);
	loaded_free(&loaded);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_problem("notify = { interval_seconds = 60; };", "`notify` needs `webhook_url` or");
	expect_problem("notify = { webhook_url = \"http://hooks.example.com/x\"; };",
	               "`notify.webhook_url` must be an https:// URL");
	expect_problem("notify = { webhook_url = \"env:BM_TEST_UNSET_NOTIFY\"; };",
	               "BM_TEST_UNSET_NOTIFY, which is not set");
	expect_problem("notify = { sendmail = \"sendmail\"; email_to = \"a@b\"; };",
	               "`notify.sendmail` must be an absolute path");
	expect_problem("notify = { sendmail = \"/usr/sbin/sendmail\"; };",
	               "`notify.sendmail` needs `notify.email_to`");
	expect_problem("notify = { sendmail = \"/usr/sbin/sendmail\";"
	               " email_to = \"ops@example.com\\nBcc: x@y\"; };",
	               "`notify.email_to` must be one address");
	expect_problem(
	    "notify = { sendmail = \"/s\"; email_to = \"a@b\"; email_from = \"x y@z\"; };",
	    "`notify.email_from` must be one address");
	expect_problem("notify = { webhook_url = \"https://h/x\"; interval_seconds = 0; };",
	               "`notify.interval_seconds` must be from 1 to 86400");
	expect_problem("notify = { webhook_url = \"https://h/x\"; timeout_seconds = 121; };",
	               "`notify.timeout_seconds` must be from 1 to 120");
	expect_problem("notify = { webhook_url = \"https://h/x\"; url = \"x\"; };",
	               "unknown key `notify.url`");
}

static void test_secret_url_never_in_problems(void **state)
{
	struct loaded loaded;

	(void)state;
	load(&loaded, "notify = { webhook_url = \"http://secret-host.example/token-123\"; };");
	assert_int_equal(loaded.status, CN_INVALID);
	assert_null(strstr(loaded.problems, "token-123"));
	loaded_free(&loaded);
}

static void test_text_summarises(void **state)
{
	char subject[256], text[4096];

	(void)state;
	notify_text("parked:shop", 12, "o-1: bad total\no-2: no VAT", subject, sizeof(subject),
	            text, sizeof(text));
	assert_string_equal(subject, "bookto-moneybird: 12 orders of shop parked");
	assert_non_null(strstr(text,
	                       "bookto-moneybird: 12 orders of shop parked\n- o-1: bad total\n"
	                       "- o-2: no VAT\n- ... and 10 more\n"));
	notify_text("parked:shop", 1, "o-1: bad total", subject, sizeof(subject), text,
	            sizeof(text));
	assert_string_equal(subject, "bookto-moneybird: 1 order of shop parked");
	assert_null(strstr(text, "more"));
	notify_text("resumed:other", 1, "its token works again", subject, sizeof(subject), text,
	            sizeof(text));
	assert_string_equal(text, "bookto-moneybird: connection other resumed\n"
	                          "- its token works again");
	notify_text("spool:host-1", 1, "2 deliveries waiting", subject, sizeof(subject), text,
	            sizeof(text));
	assert_string_equal(subject, "bookto-moneybird: deliveries wait in the spool of host-1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_absent_means_off),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_secret_url_never_in_problems),
	    cmocka_unit_test(test_text_summarises),
	};

	return cmocka_run_group_tests(tests, unit_config_setup, unit_config_teardown);
}
