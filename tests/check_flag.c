/* Unit tests for flag records (lib/flag.c): state at a time, JSON form, list ownership. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flag.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define T0 1700000000

struct state_case {
	const char *what;
	int64_t expires_at;
	int64_t revoked_at;
	int64_t ts;
	const char *state;
};

static const struct state_case state_cases[] = {
    {"never expires", 0, 0, T0, "active"},
    {"never expires, far future", 0, 0, INT64_C(253402300799), "active"},
    {"never expires, at time 0", 0, 0, 0, "active"},
    {"expires later", T0 + 86400, 0, T0, "active"},
    {"one second before expiry", T0 + 1, 0, T0, "active"},
    {"expiry equal to ts is expired", T0, 0, T0, "expired"},
    {"one second after expiry", T0 - 1, 0, T0, "expired"},
    {"long expired", 1, 0, T0, "expired"},
    {"revoked, no expiry", 0, T0 - 10, T0, "revoked"},
    {"revoked before expiry", T0 + 86400, T0 - 10, T0, "revoked"},
    {"revoked and expired: revoked wins", T0 - 100, T0 - 10, T0, "revoked"},
};

static struct flag
state_flag(const struct state_case *c)
{
	struct flag f;

	memset(&f, 0, sizeof(f));
	f.id = 1;
	f.created_at = T0 - 1000;
	f.expires_at = c->expires_at;
	f.revoked_at = c->revoked_at;
	return f;
}

START_TEST(test_state)
{
	const struct state_case *c = &state_cases[_i];
	struct flag f = state_flag(c);
	int active = strcmp(c->state, "active") == 0;

	ck_assert_msg(strcmp(flag_state(&f, c->ts), c->state) == 0, "%s: state %s", c->what,
	              flag_state(&f, c->ts));
	ck_assert_msg(flag_is_active(&f, c->ts) == active, "%s: is_active %d", c->what,
	              flag_is_active(&f, c->ts));
}
END_TEST

/* Fills f with copies of the given text fields. */
static void
fill_flag(struct flag *f, int64_t id, const char *caller, const char *code, const char *reason,
          const char *by, const char *source)
{
	f->id = id;
	snprintf(f->caller, sizeof(f->caller), "%s", caller);
	f->code = strdup(code);
	f->reason = strdup(reason);
	f->created_by = strdup(by);
	f->source = strdup(source);
	ck_assert(f->code && f->reason && f->created_by && f->source);
}

struct json_case {
	const char *what;
	int64_t expires_at;
	int64_t revoked_at;
	const char *revoked_by, *revoke_reason;
	const char *reason;
	const char *expected;
};

static const struct json_case json_cases[] = {
    {"active, never expires", 0, 0, NULL, NULL, "threatened agent",
     "{\"id\":12,\"caller\":\"+15551234567\",\"code\":\"red\",\"reason\":\"threatened agent\","
     "\"by\":\"sup-17\",\"source\":\"supervisor\",\"created_at\":1700000000,\"expires_at\":null}"},
    {"with expiry", T0 + 86400 * 30, 0, NULL, NULL, "threatened agent",
     "{\"id\":12,\"caller\":\"+15551234567\",\"code\":\"red\",\"reason\":\"threatened agent\","
     "\"by\":\"sup-17\",\"source\":\"supervisor\",\"created_at\":1700000000,"
     "\"expires_at\":1702592000}"},
    {"revoked", T0 + 86400, T0 + 60, "sup-2", "wrong caller", "threatened agent",
     "{\"id\":12,\"caller\":\"+15551234567\",\"code\":\"red\",\"reason\":\"threatened agent\","
     "\"by\":\"sup-17\",\"source\":\"supervisor\",\"created_at\":1700000000,"
     "\"expires_at\":1700086400,\"revoked_at\":1700000060,\"revoked_by\":\"sup-2\","
     "\"revoke_reason\":\"wrong caller\"}"},
    {"text escaped, SQL kept verbatim", 0, 0, NULL, NULL,
     "said \"'; DROP TABLE flags;--\"\nthen hung up\\",
     "{\"id\":12,\"caller\":\"+15551234567\",\"code\":\"red\",\"reason\":\"said "
     "\\\"'; DROP TABLE flags;--\\\"\\nthen hung up\\\\\",\"by\":\"sup-17\","
     "\"source\":\"supervisor\",\"created_at\":1700000000,\"expires_at\":null}"},
    {"UTF-8 passes through", 0, 0, NULL, NULL, "menace \xe2\x82\xac \xf0\x9f\x98\xa0",
     "{\"id\":12,\"caller\":\"+15551234567\",\"code\":\"red\",\"reason\":\"menace "
     "\xe2\x82\xac \xf0\x9f\x98\xa0\",\"by\":\"sup-17\",\"source\":\"supervisor\","
     "\"created_at\":1700000000,\"expires_at\":null}"},
};

START_TEST(test_write_json)
{
	const struct json_case *c = &json_cases[_i];
	struct flag f;
	struct jbuf jb;

	memset(&f, 0, sizeof(f));
	fill_flag(&f, 12, "+15551234567", "red", c->reason, "sup-17", "supervisor");
	f.created_at = T0;
	f.expires_at = c->expires_at;
	f.revoked_at = c->revoked_at;
	if (c->revoked_by != NULL) {
		f.revoked_by = strdup(c->revoked_by);
		f.revoke_reason = strdup(c->revoke_reason);
	}
	jb_init(&jb);
	flag_write_json(&jb, &f);
	ck_assert(!jb.oom);
	ck_assert_msg(strcmp(jb.data, c->expected) == 0, "%s:\n got %s\nwant %s", c->what, jb.data,
	              c->expected);
	flag_clear(&f);
	jb_free(&jb);
}
END_TEST

/* flag_write_fields goes into an object the caller opened, after the caller's own keys. */
START_TEST(test_write_fields)
{
	struct flag f;
	struct jbuf jb;

	memset(&f, 0, sizeof(f));
	fill_flag(&f, 3, "+442079460000", "orange", "rude", "sup-1", "agent");
	f.created_at = 5;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "event", "flag");
	flag_write_fields(&jb, &f);
	jb_obj_end(&jb);
	ck_assert_str_eq(jb.data, "{\"event\":\"flag\",\"id\":3,\"caller\":\"+442079460000\","
	                          "\"code\":\"orange\",\"reason\":\"rude\",\"by\":\"sup-1\","
	                          "\"source\":\"agent\",\"created_at\":5,\"expires_at\":null}");

	/* Several flags in an array get their commas. */
	jb_reset(&jb);
	jb_arr_begin(&jb);
	flag_write_json(&jb, &f);
	flag_write_json(&jb, &f);
	jb_arr_end(&jb);
	ck_assert_ptr_nonnull(strstr(jb.data, "null},{\"id\":3"));
	ck_assert_int_eq(jb.data[jb.len - 1], ']');
	flag_clear(&f);
	jb_free(&jb);
}
END_TEST

/* A flag with NULL text fields (not loaded) still writes valid JSON with nulls. */
START_TEST(test_write_json_nulls)
{
	struct flag f;
	struct jbuf jb;

	memset(&f, 0, sizeof(f));
	f.id = 1;
	f.revoked_at = 9;
	jb_init(&jb);
	flag_write_json(&jb, &f);
	ck_assert_str_eq(jb.data, "{\"id\":1,\"caller\":\"\",\"code\":null,\"reason\":null,"
	                          "\"by\":null,\"source\":null,\"created_at\":0,"
	                          "\"expires_at\":null,\"revoked_at\":9,\"revoked_by\":null,"
	                          "\"revoke_reason\":null}");
	jb_free(&jb);
}
END_TEST

START_TEST(test_clear)
{
	struct flag f, zero;

	memset(&f, 0, sizeof(f));
	memset(&zero, 0, sizeof(zero));
	flag_clear(&f); /* a zeroed flag clears fine */
	fill_flag(&f, 7, "+15551234567", "red", "r", "b", "supervisor");
	f.revoked_by = strdup("x");
	f.revoke_reason = strdup("y");
	f.expires_at = 5;
	flag_clear(&f);
	ck_assert_mem_eq(&f, &zero, sizeof(f));
}
END_TEST

START_TEST(test_list)
{
	struct flag_list l;
	struct flag *f;
	size_t i, n = 100, cap;
	char reason[32];

	memset(&l, 0, sizeof(l));
	for (i = 0; i < n; i++) {
		f = flag_list_push(&l);
		ck_assert_ptr_nonnull(f);
		/* A pushed flag is zeroed, even where an earlier, cleared flag lived. */
		ck_assert_int_eq(f->id, 0);
		ck_assert_ptr_null(f->code);
		ck_assert_int_eq(f->caller[0], '\0');
		snprintf(reason, sizeof(reason), "reason %zu", i);
		fill_flag(f, (int64_t)i + 1, "+15551234567", "red", reason, "sup", "supervisor");
	}
	ck_assert_uint_eq(l.n, n);
	ck_assert_uint_ge(l.cap, n);
	/* Entries stay intact across the reallocations. */
	for (i = 0; i < n; i++) {
		snprintf(reason, sizeof(reason), "reason %zu", i);
		ck_assert_int_eq(l.v[i].id, (int64_t)i + 1);
		ck_assert_str_eq(l.v[i].reason, reason);
	}

	cap = l.cap;
	flag_list_clear(&l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(l.cap, cap);
	ck_assert_ptr_nonnull(l.v);
	/* Reuse after clear: pushed entries are zeroed again. */
	f = flag_list_push(&l);
	ck_assert_ptr_eq(f, &l.v[0]);
	ck_assert_ptr_null(f->reason);
	ck_assert_int_eq(f->id, 0);
	fill_flag(f, 1, "+15551234567", "orange", "again", "sup", "auto");
	ck_assert_uint_eq(l.n, 1);

	flag_list_free(&l);
	ck_assert_ptr_null(l.v);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(l.cap, 0);
	flag_list_free(&l); /* a second free is harmless */
	flag_list_clear(&l);
}
END_TEST

static Suite *
flag_suite(void)
{
	Suite *s = suite_create("flag");
	TCase *tc = tcase_create("state");

	tcase_add_loop_test(tc, test_state, 0, (int)ARRAY_LEN(state_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_loop_test(tc, test_write_json, 0, (int)ARRAY_LEN(json_cases));
	tcase_add_test(tc, test_write_fields);
	tcase_add_test(tc, test_write_json_nulls);
	suite_add_tcase(s, tc);
	tc = tcase_create("list");
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_list);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flag_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
