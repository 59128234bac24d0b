/*
 * dynbuf: content grows by add/adds/addf, stays NUL-terminated, never passes
 * its cap (an add that would is refused whole and leaves the content as it
 * was), and the allocation itself never passes cap + 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dynbuf.h"
#include "unit_main.h"

static void test_growth(void **state)
{
	struct dynbuf buf;
	char chunk[100];

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	dynbuf_init(&buf, 100000);
	assert_string_equal(dynbuf_ptr(&buf), "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(dynbuf_add(&buf, chunk, sizeof(chunk)), CN_OK);
	assert_int_equal(dynbuf_len(&buf), 100000);
	assert_int_equal(strlen(dynbuf_ptr(&buf)), 100000);
	assert_true(buf.alloc <= 100001);
	dynbuf_free(&buf);
	assert_int_equal(dynbuf_len(&buf), 0);
	assert_null(buf.data);
}

static void test_cap(void **state)
{
	struct dynbuf buf;

	(void)state;
	dynbuf_init(&buf, 10);
	assert_int_equal(dynbuf_adds(&buf, "hello"), CN_OK);
	assert_int_equal(dynbuf_adds(&buf, "world"), CN_OK); /* exactly the cap */
	assert_int_equal(dynbuf_adds(&buf, "!"), CN_INVALID);
	assert_string_equal(dynbuf_ptr(&buf), "helloworld");
	assert_true(buf.alloc <= 11);
	dynbuf_reset(&buf);
	assert_string_equal(dynbuf_ptr(&buf), "");
	assert_int_equal(dynbuf_adds(&buf, "0123456789A"), CN_INVALID); /* refused whole */
	assert_int_equal(dynbuf_len(&buf), 0);
	assert_int_equal(dynbuf_add(&buf, "", 0), CN_OK);
	dynbuf_free(&buf);

	dynbuf_init(&buf, 0);
	assert_int_equal(dynbuf_add(&buf, "a", 1), CN_INVALID);
	assert_int_equal(dynbuf_add(&buf, "", 0), CN_OK);
	assert_string_equal(dynbuf_ptr(&buf), "");
	dynbuf_free(&buf);
}

static void test_addf(void **state)
{
	struct dynbuf buf;
	char *taken;

	(void)state;
	dynbuf_init(&buf, 20);
	assert_int_equal(dynbuf_addf(&buf, "%s=%d", "n", 42), CN_OK);
	assert_int_equal(dynbuf_addf(&buf, ";%05d", 7), CN_OK);
	assert_string_equal(dynbuf_ptr(&buf), "n=42;00007");
	assert_int_equal(dynbuf_addf(&buf, "%020d", 1), CN_INVALID);
	assert_string_equal(dynbuf_ptr(&buf), "n=42;00007");
	taken = dynbuf_take(&buf);
	assert_string_equal(taken, "n=42;00007");
	free(taken);
	assert_int_equal(dynbuf_len(&buf), 0);
	taken = dynbuf_take(&buf);
	assert_string_equal(taken, "");
	free(taken);
	dynbuf_free(&buf);
}

UNIT_TEST_MAIN(NULL, NULL, cmocka_unit_test(test_growth), cmocka_unit_test(test_cap),
               cmocka_unit_test(test_addf))
