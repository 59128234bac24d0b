/*
 * The main() of a cmocka test program, written once: the cases to run and
 * the group's setup and teardown (NULL for none). Include after cmocka.h.
 *
 *     UNIT_TEST_MAIN(group_setup, group_teardown, cmocka_unit_test(test_a),
 *                    cmocka_unit_test(test_b))
 */
#ifndef BM_UNIT_MAIN_H
#define BM_UNIT_MAIN_H

#define UNIT_TEST_MAIN(setup, teardown, ...)                                                       \
	int main(void)                                                                             \
	{                                                                                          \
		const struct CMUnitTest tests[] = {__VA_ARGS__};                                   \
		return cmocka_run_group_tests(tests, setup, teardown);                             \
	}

#endif
