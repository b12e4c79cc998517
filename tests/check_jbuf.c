/* Unit tests for the streaming JSON writer (lib/jbuf.c): separators, nesting, escaping, numbers. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jbuf.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Builders for the document table: each writes one document into an empty buffer. */

static void
build_empty_object(struct jbuf *jb)
{
	jb_obj_begin(jb);
	jb_obj_end(jb);
}

static void
build_empty_array(struct jbuf *jb)
{
	jb_arr_begin(jb);
	jb_arr_end(jb);
}

static void
build_one_key(struct jbuf *jb)
{
	jb_obj_begin(jb);
	jb_key(jb, "a");
	jb_int(jb, 1);
	jb_obj_end(jb);
}

static void
build_all_types(struct jbuf *jb)
{
	jb_obj_begin(jb);
	jb_kstr(jb, "s", "x");
	jb_kint(jb, "i", -5);
	jb_knum(jb, "n", 2.5);
	jb_kbool(jb, "t", 1);
	jb_kbool(jb, "f", 0);
	jb_knull(jb, "z");
	jb_kstr(jb, "nul", NULL);
	jb_obj_end(jb);
}

static void
build_mixed_array(struct jbuf *jb)
{
	jb_arr_begin(jb);
	jb_int(jb, 1);
	jb_str(jb, "a");
	jb_null(jb);
	jb_bool(jb, 1);
	jb_num(jb, 2.5);
	jb_strn(jb, "xyz", 2);
	jb_arr_end(jb);
}

static void
build_nested(struct jbuf *jb)
{
	jb_obj_begin(jb);
	jb_key(jb, "a");
	jb_obj_begin(jb);
	jb_key(jb, "b");
	jb_arr_begin(jb);
	jb_int(jb, 1);
	jb_obj_begin(jb);
	jb_key(jb, "c");
	jb_arr_begin(jb);
	jb_arr_end(jb);
	jb_obj_end(jb);
	jb_arr_end(jb);
	jb_key(jb, "d");
	jb_obj_begin(jb);
	jb_obj_end(jb);
	jb_obj_end(jb);
	jb_key(jb, "e");
	jb_arr_begin(jb);
	jb_arr_begin(jb);
	jb_arr_end(jb);
	jb_arr_begin(jb);
	jb_int(jb, 1);
	jb_int(jb, 2);
	jb_arr_end(jb);
	jb_arr_end(jb);
	jb_obj_end(jb);
}

static void
build_array_of_objects(struct jbuf *jb)
{
	int i;

	jb_arr_begin(jb);
	for (i = 1; i <= 3; i++) {
		jb_obj_begin(jb);
		jb_kint(jb, "a", i);
		jb_kstr(jb, "b", "x");
		jb_obj_end(jb);
	}
	jb_arr_end(jb);
}

static void
build_key_after_close(struct jbuf *jb)
{
	jb_obj_begin(jb);
	jb_key(jb, "a");
	jb_arr_begin(jb);
	jb_int(jb, 1);
	jb_arr_end(jb);
	jb_kint(jb, "b", 2);
	jb_key(jb, "c");
	jb_obj_begin(jb);
	jb_obj_end(jb);
	jb_kint(jb, "d", 3);
	jb_obj_end(jb);
}

static void
build_raw(struct jbuf *jb)
{
	static const char obj[] = "{\"x\":[1,2]}";

	jb_arr_begin(jb);
	jb_int(jb, 1);
	jb_raw(jb, obj, strlen(obj));
	jb_int(jb, 2);
	jb_arr_end(jb);
	jb_obj_begin(jb);
	jb_key(jb, "r");
	jb_raw(jb, "\"s\"", 3);
	jb_key(jb, "q");
	jb_raw(jb, "7", 1);
	jb_obj_end(jb);
}

static void
build_two_lines(struct jbuf *jb)
{
	jb_obj_begin(jb);
	jb_kint(jb, "n", 1);
	jb_obj_end(jb);
	jb_append(jb, "\n", 1);
	jb_obj_begin(jb);
	jb_kint(jb, "n", 2);
	jb_obj_end(jb);
	jb_append(jb, "\n", 1);
}

static void
build_int_extremes(struct jbuf *jb)
{
	jb_arr_begin(jb);
	jb_int(jb, INT64_MIN);
	jb_int(jb, INT64_MAX);
	jb_int(jb, 0);
	jb_int(jb, -1);
	jb_arr_end(jb);
}

static void
build_integral_doubles(struct jbuf *jb)
{
	jb_arr_begin(jb);
	jb_num(jb, -42);
	jb_num(jb, 0);
	jb_num(jb, 9007199254740991.0);
	jb_num(jb, -9007199254740991.0);
	jb_num(jb, 1e300);
	jb_arr_end(jb);
}

static void
build_non_finite(struct jbuf *jb)
{
	jb_arr_begin(jb);
	jb_num(jb, NAN);
	jb_num(jb, 1);
	jb_num(jb, INFINITY);
	jb_num(jb, -INFINITY);
	jb_arr_end(jb);
	jb_obj_begin(jb);
	jb_knum(jb, "score", NAN);
	jb_knum(jb, "x", 1.5);
	jb_obj_end(jb);
}

static void
build_escaped_key(struct jbuf *jb)
{
	jb_obj_begin(jb);
	jb_kint(jb, "a\"b\\c\n", 1);
	jb_obj_end(jb);
}

static void
build_32_deep(struct jbuf *jb)
{
	int i;

	for (i = 0; i < JBUF_MAX_DEPTH; i++)
		jb_arr_begin(jb);
	jb_int(jb, 1);
	jb_int(jb, 2);
	for (i = 0; i < JBUF_MAX_DEPTH; i++)
		jb_arr_end(jb);
}

struct doc_case {
	const char *what;
	void (*build)(struct jbuf *);
	const char *expected;
};

static const struct doc_case doc_cases[] = {
    {"empty object", build_empty_object, "{}"},
    {"empty array", build_empty_array, "[]"},
    {"one key", build_one_key, "{\"a\":1}"},
    {"every value type", build_all_types,
     "{\"s\":\"x\",\"i\":-5,\"n\":2.5,\"t\":true,\"f\":false,\"z\":null,\"nul\":null}"},
    {"mixed array", build_mixed_array, "[1,\"a\",null,true,2.5,\"xy\"]"},
    {"nested containers", build_nested, "{\"a\":{\"b\":[1,{\"c\":[]}],\"d\":{}},\"e\":[[],[1,2]]}"},
    {"array of objects", build_array_of_objects,
     "[{\"a\":1,\"b\":\"x\"},{\"a\":2,\"b\":\"x\"},{\"a\":3,\"b\":\"x\"}]"},
    {"keys after closed containers", build_key_after_close, "{\"a\":[1],\"b\":2,\"c\":{},\"d\":3}"},
    {"raw values", build_raw, "[1,{\"x\":[1,2]},2]{\"r\":\"s\",\"q\":7}"},
    {"two reply lines in one buffer", build_two_lines, "{\"n\":1}\n{\"n\":2}\n"},
    {"int64 extremes", build_int_extremes, "[-9223372036854775808,9223372036854775807,0,-1]"},
    {"integral doubles", build_integral_doubles,
     "[-42,0,9007199254740991,-9007199254740991,1e+300]"},
    {"non-finite numbers are null", build_non_finite,
     "[null,1,null,null]{\"score\":null,\"x\":1.5}"},
    {"escaped key", build_escaped_key, "{\"a\\\"b\\\\c\\n\":1}"},
    {"32 levels deep", build_32_deep,
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1,2]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"},
};

START_TEST(test_docs)
{
	const struct doc_case *c = &doc_cases[_i];
	struct jbuf jb;

	jb_init(&jb);
	c->build(&jb);
	ck_assert_msg(!jb.oom, "%s: oom set", c->what);
	ck_assert_msg(jb.depth == 0, "%s: depth %d at the end", c->what, jb.depth);
	ck_assert_msg(strcmp(jb.data, c->expected) == 0, "%s: got %s, expected %s", c->what,
	              jb.data, c->expected);
	ck_assert_uint_eq(jb.len, strlen(c->expected));
	jb_free(&jb);
}
END_TEST

struct esc_case {
	const char *what;
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *expected;
};

static const struct esc_case esc_cases[] = {
    {"plain", "abc", 0, "\"abc\""},
    {"empty", "", 0, "\"\""},
    {"quote", "a\"b", 0, "\"a\\\"b\""},
    {"backslash", "a\\b", 0, "\"a\\\\b\""},
    {"slash is not escaped", "a/b", 0, "\"a/b\""},
    {"newline", "a\nb", 0, "\"a\\nb\""},
    {"carriage return", "a\rb", 0, "\"a\\rb\""},
    {"tab", "a\tb", 0, "\"a\\tb\""},
    {"backspace", "\b", 0, "\"\\u0008\""},
    {"form feed", "\f", 0, "\"\\u000c\""},
    {"0x01", "\x01", 0, "\"\\u0001\""},
    {"0x1b escape", "\x1b[31m", 0, "\"\\u001b[31m\""},
    {"0x1f", "\x1f", 0, "\"\\u001f\""},
    {"NUL inside the length", "a\0b", 3, "\"a\\u0000b\""},
    {"DEL passes through", "\x7f", 0, "\"\x7f\""},
    {"space passes through", " ", 0, "\" \""},
    {"2-byte UTF-8", "caf\xc3\xa9", 0, "\"caf\xc3\xa9\""},
    {"3-byte UTF-8", "\xe2\x82\xac 5", 0, "\"\xe2\x82\xac 5\""},
    {"4-byte UTF-8", "\xf0\x9f\x98\x80", 0, "\"\xf0\x9f\x98\x80\""},
    {"U+2028 passes through", "\xe2\x80\xa8", 0, "\"\xe2\x80\xa8\""},
    {"quotes and backslashes in a row", "\\\"\\\"", 0, "\"\\\\\\\"\\\\\\\"\""},
    {"SQL metacharacters verbatim", "'; DROP TABLE flags;--", 0, "\"'; DROP TABLE flags;--\""},
};

START_TEST(test_escape)
{
	const struct esc_case *c = &esc_cases[_i];
	struct jbuf jb;

	jb_init(&jb);
	jb_strn(&jb, c->in, c->len ? c->len : strlen(c->in));
	ck_assert_msg(strcmp(jb.data, c->expected) == 0, "%s: got %s, expected %s", c->what,
	              jb.data, c->expected);
	ck_assert_uint_eq(jb.len, strlen(c->expected));
	jb_free(&jb);
}
END_TEST

struct num_case {
	const char *what;
	double v;
	const char *expected;
};

static const struct num_case num_cases[] = {
    {"zero", 0.0, "0"},
    {"negative zero", -0.0, "0"},
    {"integer", 42.0, "42"},
    {"negative integer", -7.0, "-7"},
    {"half", 1.5, "1.5"},
    {"tenth", 0.1, "0.1"},
    {"needs 17 digits", 0.1 + 0.2, "0.30000000000000004"},
    {"many digits kept", 3.14159265, "3.14159265"},
    {"small", 2.5e-10, "2.5e-10"},
    {"1e15 is an integer", 1e15, "1000000000000000"},
    {"largest exact integer", 9007199254740991.0, "9007199254740991"},
    {"2^53", 9007199254740992.0, "9007199254740992"},
    {"beyond int64", 1e20, "1e+20"},
    {"far beyond int64", -1e300, "-1e+300"},
    {"max double", 1.7976931348623157e308, "1.7976931348623157e+308"},
    {"smallest subnormal", 4.9406564584124654e-324, "4.94065645841247e-324"},
    {"NaN", NAN, "null"},
    {"infinity", INFINITY, "null"},
    {"minus infinity", -INFINITY, "null"},
};

START_TEST(test_num)
{
	const struct num_case *c = &num_cases[_i];
	struct jbuf jb;

	jb_init(&jb);
	jb_num(&jb, c->v);
	ck_assert_msg(strcmp(jb.data, c->expected) == 0, "%s: got %s, expected %s", c->what,
	              jb.data, c->expected);
	/* Finite numbers read back as the same double. */
	if (isfinite(c->v))
		ck_assert_msg(strtod(jb.data, NULL) == c->v, "%s: %s does not read back", c->what,
		              jb.data);
	jb_free(&jb);
}
END_TEST

/* Every byte value survives jb_strn and a JSON parser, together with UTF-8 text. */
START_TEST(test_roundtrip_all_bytes)
{
	char in[200], *text;
	size_t n = 0, len;
	struct jbuf jb;
	cJSON *root;
	int c;

	for (c = 1; c < 0x80; c++)
		in[n++] = (char)c;
	memcpy(in + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
	n += 9;
	jb_init(&jb);
	jb_arr_begin(&jb);
	jb_strn(&jb, in, n);
	jb_arr_end(&jb);
	text = jb_steal(&jb, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	root = cJSON_Parse(text);
	ck_assert_msg(root != NULL, "not JSON: %s", text);
	ck_assert(cJSON_IsString(cJSON_GetArrayItem(root, 0)));
	ck_assert_uint_eq(strlen(cJSON_GetArrayItem(root, 0)->valuestring), n);
	ck_assert_mem_eq(cJSON_GetArrayItem(root, 0)->valuestring, in, n);
	cJSON_Delete(root);
	free(text);
	jb_free(&jb);
}
END_TEST

/* Growth across many reallocations keeps every byte. */
START_TEST(test_growth)
{
	struct jbuf jb;
	size_t i, n = 100000;
	char *text;
	size_t len;
	cJSON *root;

	jb_init(&jb);
	jb_arr_begin(&jb);
	for (i = 0; i < n; i++)
		jb_int(&jb, (int64_t)i);
	jb_arr_end(&jb);
	ck_assert(!jb.oom);
	ck_assert_uint_ge(jb.cap, jb.len + 1);
	ck_assert_uint_eq(strlen(jb.data), jb.len);
	text = jb_steal(&jb, &len);
	root = cJSON_Parse(text);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(cJSON_GetArraySize(root), (int)n);
	ck_assert_int_eq(cJSON_GetArrayItem(root, 12345)->valueint, 12345);
	cJSON_Delete(root);
	free(text);
	jb_free(&jb);
}
END_TEST

START_TEST(test_reset)
{
	struct jbuf jb;
	char *data;
	size_t cap;

	jb_init(&jb);
	jb_reset(&jb); /* on a fresh buffer: nothing to keep */
	ck_assert_uint_eq(jb.len, 0);
	jb_arr_begin(&jb);
	jb_int(&jb, 1);
	jb_arr_begin(&jb); /* left open on purpose: reset must forget the nesting */
	data = jb.data;
	cap = jb.cap;
	jb_reset(&jb);
	ck_assert_ptr_eq(jb.data, data);
	ck_assert_uint_eq(jb.cap, cap);
	ck_assert_uint_eq(jb.len, 0);
	ck_assert_str_eq(jb.data, "");
	ck_assert_int_eq(jb.depth, 0);
	jb_arr_begin(&jb);
	jb_int(&jb, 2);
	jb_arr_end(&jb);
	ck_assert_str_eq(jb.data, "[2]");
	jb_free(&jb);
	jb_free(&jb); /* a second free is harmless */
	ck_assert_ptr_null(jb.data);
}
END_TEST

START_TEST(test_steal)
{
	struct jbuf jb;
	char *s;
	size_t len = 99;

	/* From a fresh buffer: an empty, freeable string. */
	jb_init(&jb);
	s = jb_steal(&jb, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);

	jb_obj_begin(&jb);
	jb_kstr(&jb, "a", "b");
	jb_obj_end(&jb);
	s = jb_steal(&jb, &len);
	ck_assert_str_eq(s, "{\"a\":\"b\"}");
	ck_assert_uint_eq(len, 9);
	/* The buffer is left empty and usable. */
	ck_assert_ptr_null(jb.data);
	ck_assert_uint_eq(jb.len, 0);
	ck_assert_uint_eq(jb.cap, 0);
	ck_assert_int_eq(jb.depth, 0);
	jb_arr_begin(&jb);
	jb_int(&jb, 1);
	jb_arr_end(&jb);
	free(s);
	s = jb_steal(&jb, NULL);
	ck_assert_str_eq(s, "[1]");
	free(s);
	jb_free(&jb);
}
END_TEST

/*
 * Nesting past JBUF_MAX_DEPTH is a failure reported through oom. jb_steal then returns NULL and,
 * as its header says, leaves the buffer empty: callers such as the flag.add reply path do not
 * call jb_free after stealing, so anything left behind would leak.
 */
START_TEST(test_too_deep)
{
	struct jbuf jb;
	size_t len = 99;
	int i;

	jb_init(&jb);
	for (i = 0; i < JBUF_MAX_DEPTH + 1; i++)
		jb_arr_begin(&jb);
	ck_assert(jb.oom);
	jb_int(&jb, 1); /* writes after a failure are no-ops */
	ck_assert_ptr_null(jb_steal(&jb, &len));
	ck_assert_msg(jb.data == NULL && jb.len == 0,
	              "jb_steal failed but left %zu bytes in the buffer", jb.len);
	jb_free(&jb);
	/* reset clears the failure */
	jb_arr_begin(&jb);
	jb_reset(&jb);
	ck_assert(!jb.oom);
	jb_free(&jb);
}
END_TEST

START_TEST(test_append)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_append(&jb, "ab", 2);
	jb_append(&jb, "", 0);
	jb_append(&jb, "c\0d", 3); /* raw bytes, NUL included */
	ck_assert_uint_eq(jb.len, 5);
	ck_assert_mem_eq(jb.data, "abc\0d", 6);
	jb_free(&jb);
}
END_TEST

static Suite *
jbuf_suite(void)
{
	Suite *s = suite_create("jbuf");
	TCase *tc = tcase_create("documents");

	tcase_add_loop_test(tc, test_docs, 0, (int)ARRAY_LEN(doc_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("escaping");
	tcase_add_loop_test(tc, test_escape, 0, (int)ARRAY_LEN(esc_cases));
	tcase_add_test(tc, test_roundtrip_all_bytes);
	suite_add_tcase(s, tc);
	tc = tcase_create("numbers");
	tcase_add_loop_test(tc, test_num, 0, (int)ARRAY_LEN(num_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("buffer");
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_steal);
	tcase_add_test(tc, test_too_deep);
	tcase_add_test(tc, test_append);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jbuf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
