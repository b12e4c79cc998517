/*
 * Unit tests for lib/metrics.c: histogram buckets and their cumulation, labelled counters and
 * their bound, and the Prometheus text format (escaping, number formatting, exact lines).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The text written by fn, NUL-terminated, in a buffer the caller frees. */
static char *
text_of(struct jbuf *jb)
{
	char *s;

	ck_assert(!jb->oom);
	s = jb_steal(jb, NULL);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(test_hist_cumulates)
{
	static const double bounds[] = {0.1, 0.5, 1};
	struct metrics_hist h;
	struct jbuf jb;
	char *s;

	ck_assert_int_eq(metrics_hist_init(&h, bounds, ARRAY_LEN(bounds)), 0);
	metrics_hist_observe(&h, 0.05);
	metrics_hist_observe(&h, 0.1); /* on the bound: counts in le="0.1" */
	metrics_hist_observe(&h, 0.3);
	metrics_hist_observe(&h, 2);
	metrics_hist_observe(&h, 7);
	jb_init(&jb);
	metrics_hist_write(&jb, "x_seconds", &h);
	s = text_of(&jb);
	ck_assert_str_eq(s, "x_seconds_bucket{le=\"0.1\"} 2\n"
	                    "x_seconds_bucket{le=\"0.5\"} 3\n"
	                    "x_seconds_bucket{le=\"1\"} 3\n"
	                    "x_seconds_bucket{le=\"+Inf\"} 5\n"
	                    "x_seconds_sum 9.45\n"
	                    "x_seconds_count 5\n");
	free(s);
}
END_TEST

START_TEST(test_hist_empty)
{
	static const double bounds[] = {0.001};
	struct metrics_hist h;
	struct jbuf jb;
	char *s;

	ck_assert_int_eq(metrics_hist_init(&h, bounds, 1), 0);
	jb_init(&jb);
	metrics_hist_write(&jb, "e", &h);
	s = text_of(&jb);
	ck_assert_str_eq(s,
	                 "e_bucket{le=\"0.001\"} 0\ne_bucket{le=\"+Inf\"} 0\ne_sum 0\ne_count 0\n");
	free(s);
}
END_TEST

static const struct {
	const char *what;
	double bounds[METRICS_BUCKETS_MAX + 1];
	size_t n;
	int rc;
} hist_init_cases[] = {
    {"ascending", {1, 2, 3}, 3, 0},
    {"no bounds: one +Inf bucket", {0}, 0, 0},
    {"equal bounds", {1, 1}, 2, -1},
    {"descending", {2, 1}, 2, -1},
    {"NaN bound", {NAN}, 1, -1},
    {"infinite bound", {INFINITY}, 1, -1},
    {"too many",
     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25},
     METRICS_BUCKETS_MAX + 1,
     -1},
};

START_TEST(test_hist_init)
{
	struct metrics_hist h;

	ck_assert_msg(metrics_hist_init(&h, hist_init_cases[_i].bounds, hist_init_cases[_i].n) ==
	                  hist_init_cases[_i].rc,
	              "%s", hist_init_cases[_i].what);
}
END_TEST

static const struct {
	const char *what;
	const char *value;
	const char *line;
} label_cases[] = {
    {"plain", "standard", "m{q=\"standard\"} 1\n"},
    {"double quote", "a\"b", "m{q=\"a\\\"b\"} 1\n"},
    {"backslash", "a\\b", "m{q=\"a\\\\b\"} 1\n"},
    {"newline", "a\nb", "m{q=\"a\\nb\"} 1\n"},
    {"all three at the ends", "\"\\\n", "m{q=\"\\\"\\\\\\n\"} 1\n"},
    {"UTF-8 kept", "caf\xc3\xa9", "m{q=\"caf\xc3\xa9\"} 1\n"},
    {"empty", "", "m{q=\"\"} 1\n"},
};

START_TEST(test_label_escaping)
{
	const char *labels[2] = {"q", label_cases[_i].value};
	struct jbuf jb;
	char *s;

	jb_init(&jb);
	metrics_sample_u64(&jb, "m", labels, 1, 1);
	s = text_of(&jb);
	ck_assert_msg(strcmp(s, label_cases[_i].line) == 0, "%s: got %s", label_cases[_i].what, s);
	free(s);
}
END_TEST

START_TEST(test_head)
{
	struct jbuf jb;
	char *s;

	jb_init(&jb);
	metrics_head(&jb, "cw_x_total", "counter", "Things \"done\", one\\two\nthree.");
	s = text_of(&jb);
	/* HELP escapes backslash and newline only: quotes stay as they are. */
	ck_assert_str_eq(s, "# HELP cw_x_total Things \"done\", one\\\\two\\nthree.\n"
	                    "# TYPE cw_x_total counter\n");
	free(s);
}
END_TEST

static const struct {
	double v;
	const char *text;
} number_cases[] = {
    {0, "0"},
    {1, "1"},
    {0.1, "0.1"},
    {1e-05, "1e-05"},
    {2.5e-05, "2.5e-05"},
    {1795401641, "1795401641"},
    {-3.25, "-3.25"},
    {INFINITY, "+Inf"},
    {-INFINITY, "-Inf"},
    {NAN, "NaN"},
};

START_TEST(test_numbers)
{
	struct jbuf jb;
	char *s, want[64];

	jb_init(&jb);
	metrics_sample(&jb, "n", NULL, 0, number_cases[_i].v);
	s = text_of(&jb);
	snprintf(want, sizeof(want), "n %s\n", number_cases[_i].text);
	ck_assert_str_eq(s, want);
	if (isfinite(number_cases[_i].v))
		ck_assert(strtod(s + 2, NULL) == number_cases[_i].v);
	free(s);
}
END_TEST

START_TEST(test_u64_exact)
{
	struct jbuf jb;
	char *s;

	jb_init(&jb);
	metrics_sample_u64(&jb, "big", NULL, 0, UINT64_MAX);
	s = text_of(&jb);
	ck_assert_str_eq(s, "big 18446744073709551615\n");
	free(s);
}
END_TEST

START_TEST(test_vec_counts)
{
	const char *std[2] = {"standard", "default"}, *sup[2] = {"supervisor", "threat"};
	const char *names[2] = {"queue", "rule"};
	struct metrics_vec v;
	struct jbuf jb;
	char *s;
	int i;

	metrics_vec_init(&v, 2, 16);
	for (i = 0; i < 3; i++)
		metrics_vec_add(&v, std, 1);
	metrics_vec_add(&v, sup, 2);
	metrics_vec_add(&v, std, 1);
	ck_assert_uint_eq(metrics_vec_get(&v, std), 4);
	ck_assert_uint_eq(metrics_vec_get(&v, sup), 2);
	ck_assert_uint_eq(v.n, 2);
	jb_init(&jb);
	metrics_vec_write(&jb, "d_total", names, &v);
	s = text_of(&jb);
	ck_assert_str_eq(s, "d_total{queue=\"standard\",rule=\"default\"} 4\n"
	                    "d_total{queue=\"supervisor\",rule=\"threat\"} 2\n");
	free(s);
	metrics_vec_free(&v);
	ck_assert_uint_eq(metrics_vec_get(&v, std), 0);
}
END_TEST

/* Series are told apart by every value: the same bytes split differently are other series. */
START_TEST(test_vec_split_values)
{
	const char *a[2] = {"ab", ""}, *b[2] = {"a", "b"}, *c[2] = {"", "ab"}, *d[2] = {NULL, "ab"};
	struct metrics_vec v;

	metrics_vec_init(&v, 2, 16);
	metrics_vec_add(&v, a, 1);
	metrics_vec_add(&v, b, 2);
	metrics_vec_add(&v, c, 4);
	metrics_vec_add(&v, d, 8); /* NULL counts as "" */
	ck_assert_uint_eq(v.n, 3);
	ck_assert_uint_eq(metrics_vec_get(&v, a), 1);
	ck_assert_uint_eq(metrics_vec_get(&v, b), 2);
	ck_assert_uint_eq(metrics_vec_get(&v, c), 12);
	metrics_vec_free(&v);
}
END_TEST

START_TEST(test_vec_bounded)
{
	const char *other[1] = {METRICS_OTHER};
	char name[16];
	const char *values[1] = {name};
	struct metrics_vec v;
	int i;

	metrics_vec_init(&v, 1, 4);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "q%d", i);
		metrics_vec_add(&v, values, 1);
	}
	/* Three named series, then everything else under one. */
	ck_assert_uint_eq(v.n, 4);
	ck_assert_uint_eq(metrics_vec_get(&v, values), 0);
	ck_assert_uint_eq(metrics_vec_get(&v, other), 7);
	snprintf(name, sizeof(name), "q1");
	metrics_vec_add(&v, values, 1);
	ck_assert_uint_eq(metrics_vec_get(&v, values), 2);
	metrics_vec_free(&v);
}
END_TEST

START_TEST(test_vec_long_values)
{
	char longv[200], cut[METRICS_VALUE_MAX + 1];
	const char *values[1] = {longv};
	struct metrics_vec v;
	size_t i;

	/* "ab" then two-byte characters: byte 63 continues a character, so the cut backs off. */
	memset(longv, 0, sizeof(longv));
	memcpy(longv, "ab", 2);
	for (i = 2; i + 2 < sizeof(longv); i += 2)
		memcpy(longv + i, "\xc3\xa9", 2);
	metrics_vec_init(&v, 1, 8);
	metrics_vec_add(&v, values, 1);
	ck_assert_uint_eq(strlen(v.v[0].values[0]), METRICS_VALUE_MAX - 1);
	memcpy(cut, longv, METRICS_VALUE_MAX - 1);
	cut[METRICS_VALUE_MAX - 1] = '\0';
	ck_assert_str_eq(v.v[0].values[0], cut);
	/* The same long value finds the same series. */
	metrics_vec_add(&v, values, 1);
	ck_assert_uint_eq(v.n, 1);
	ck_assert_uint_eq(metrics_vec_get(&v, values), 2);
	/* "a" then the same characters: byte 63 starts one, so 63 bytes are kept. */
	memmove(longv + 1, longv + 2, sizeof(longv) - 2);
	metrics_vec_add(&v, values, 1);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_uint_eq(strlen(v.v[1].values[0]), METRICS_VALUE_MAX);
	metrics_vec_free(&v);
}
END_TEST

START_TEST(test_now_monotonic)
{
	uint64_t a = metrics_now_ns(), b = metrics_now_ns();

	ck_assert(a > 0);
	ck_assert(b >= a);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("histogram");

	tcase_add_test(tc, test_hist_cumulates);
	tcase_add_test(tc, test_hist_empty);
	tcase_add_loop_test(tc, test_hist_init, 0, (int)ARRAY_LEN(hist_init_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("text");
	tcase_add_loop_test(tc, test_label_escaping, 0, (int)ARRAY_LEN(label_cases));
	tcase_add_test(tc, test_head);
	tcase_add_loop_test(tc, test_numbers, 0, (int)ARRAY_LEN(number_cases));
	tcase_add_test(tc, test_u64_exact);
	suite_add_tcase(s, tc);
	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vec_counts);
	tcase_add_test(tc, test_vec_split_values);
	tcase_add_test(tc, test_vec_bounded);
	tcase_add_test(tc, test_vec_long_values);
	tcase_add_test(tc, test_now_monotonic);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
