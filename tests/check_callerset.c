/* Unit tests for the caller set: never a false "no", few false "maybe", sizes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "callerset.h"

static void
number(char *buf, size_t len, unsigned long long n)
{
	snprintf(buf, len, "+1%010llu", n);
}

/* Every member added is found, at and far beyond capacity. */
START_TEST(test_members_always_found)
{
	static const struct {
		size_t capacity, members;
	} cases[] = {{0, 10}, {1, 1}, {1000, 1000}, {1000, 20000}, {100000, 100000}};
	char buf[32];
	size_t c, i;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct callerset *cs = callerset_new(cases[c].capacity);

		ck_assert_ptr_nonnull(cs);
		for (i = 0; i < cases[c].members; i++) {
			number(buf, sizeof(buf), 5550000000ULL + i * 7919);
			callerset_add(cs, buf);
		}
		ck_assert_uint_eq(callerset_count(cs), cases[c].members);
		for (i = 0; i < cases[c].members; i++) {
			number(buf, sizeof(buf), 5550000000ULL + i * 7919);
			ck_assert_msg(callerset_maybe(cs, buf), "case %zu: member %s not found", c,
			              buf);
		}
		callerset_free(cs);
	}
}
END_TEST

/* At capacity, numbers never added answer "maybe" about 1% of the time (under 2% here). */
START_TEST(test_false_positive_rate)
{
	struct callerset *cs = callerset_new(100000);
	size_t i, maybe = 0;
	char buf[32];

	ck_assert_ptr_nonnull(cs);
	for (i = 0; i < 100000; i++) {
		number(buf, sizeof(buf),
		       2000000000ULL + i); /* neighbouring numbers: the hard case */
		callerset_add(cs, buf);
	}
	for (i = 0; i < 100000; i++) {
		number(buf, sizeof(buf), 3000000000ULL + i);
		maybe += (size_t)callerset_maybe(cs, buf);
	}
	ck_assert_msg(maybe < 2000, "%zu false positives in 100000", maybe);
	ck_assert_msg(maybe > 100, "%zu false positives: the filter is bigger than sized", maybe);
	callerset_free(cs);
}
END_TEST

START_TEST(test_empty_and_sizes)
{
	struct callerset *cs = callerset_new(1000000);

	ck_assert_ptr_nonnull(cs);
	ck_assert_int_eq(callerset_maybe(cs, "+15551234567"), 0);
	ck_assert_int_eq(callerset_maybe(cs, ""), 0);
	ck_assert_uint_eq(callerset_capacity(cs), 1000000);
	/* 10 bits a member: 1.25 MB for a million callers. */
	ck_assert_uint_ge(callerset_memory_bytes(cs), 1250000);
	ck_assert_uint_lt(callerset_memory_bytes(cs), 1260000);
	callerset_add(cs, "");
	ck_assert_int_eq(callerset_maybe(cs, ""), 1);
	callerset_free(cs);
	callerset_free(NULL);
}
END_TEST

static Suite *
callerset_suite(void)
{
	Suite *s = suite_create("callerset");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, test_members_always_found);
	tcase_add_test(tc, test_false_positive_rate);
	tcase_add_test(tc, test_empty_and_sizes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(callerset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
