/* Unit tests for the SQLite store: migrations, flag reads and writes, audit rows, locking. */
#include <check.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

static char tmpdir[256];

static void
tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
tmpdir_rm(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void
tmpdir_teardown(void)
{
	nftw(tmpdir, tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A database path in the test directory; each test uses its own name. */
static const char *
tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
newest_version(void)
{
	return store_migrations[store_nmigrations - 1].version;
}

static struct store *
open_ok(const char *path, enum store_role role, int busy_ms)
{
	struct store *s;
	char *cause = NULL;

	s = store_open(path, role, busy_ms, &cause);
	ck_assert_msg(s != NULL, "store_open %s: %s", path, cause ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
	return s;
}

/* Opens path expecting failure; returns the cause (caller frees). */
static char *
open_fails(const char *path, enum store_role role, int busy_ms)
{
	struct store *s;
	char *cause = NULL;

	s = store_open(path, role, busy_ms, &cause);
	ck_assert_msg(s == NULL, "store_open %s unexpectedly succeeded", path);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, path, strlen(path)) == 0, "cause does not name the path: %s",
	              cause);
	return cause;
}

static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	return db;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err ? err : "");
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The fields of a flag to add; strings are borrowed. */
struct flag_in {
	const char *caller, *code, *reason, *by, *source;
	int64_t created_at, expires_at;
};

static int64_t
add_ok(struct store *s, const struct flag_in *in)
{
	struct flag f;
	enum store_status st;

	memset(&f, 0, sizeof(f));
	snprintf(f.caller, sizeof(f.caller), "%s", in->caller);
	f.code = (char *)in->code;
	f.reason = (char *)in->reason;
	f.created_by = (char *)in->by;
	f.source = (char *)in->source;
	f.created_at = in->created_at;
	f.expires_at = in->expires_at;
	st = store_flag_add(s, &f, "supervisor");
	ck_assert_msg(st == STORE_OK, "store_flag_add: %d %s", st, store_errmsg(s));
	ck_assert_int_gt(f.id, 0);
	return f.id;
}

static void
check_flag(const struct flag *f, int64_t id, const struct flag_in *in)
{
	ck_assert_int_eq(f->id, id);
	ck_assert_str_eq(f->caller, in->caller);
	ck_assert_str_eq(f->code, in->code);
	ck_assert_str_eq(f->reason, in->reason);
	ck_assert_str_eq(f->created_by, in->by);
	ck_assert_str_eq(f->source, in->source);
	ck_assert_int_eq(f->created_at, in->created_at);
	ck_assert_int_eq(f->expires_at, in->expires_at);
}

START_TEST(test_schema_version)
{
	struct store *s;
	size_t i;

	ck_assert_uint_ge(store_nmigrations, 1);
	ck_assert_int_eq(store_migrations[0].version, 1);
	ck_assert_str_eq(store_migrations[0].name, "001_init.sql");
	for (i = 1; i < store_nmigrations; i++)
		ck_assert_int_gt(store_migrations[i].version, store_migrations[i - 1].version);
	s = open_ok(":memory:", STORE_WRITER, 100);
	ck_assert_int_eq(store_schema_version(s), newest_version());
	ck_assert_str_eq(store_errmsg(s), "no error");
	store_close(s);
	store_close(NULL);
}
END_TEST

START_TEST(test_add_and_read_back)
{
	static const struct flag_in flags[] = {
	    {"+15551230001", "orange", "shouted", "sup-1", "supervisor", 1000, 0},
	    {"+15551230002", "red", "other caller", "sup-2", "supervisor", 1500, 0},
	    {"+15551230001", "red", "threatened agent", "sup-17", "supervisor", 3000, 9000},
	    {"+15551230001", "nuisance", "rang 40 times", "agent-3", "agent", 2000, 0},
	    /* same created_at as the one above: the later id comes first */
	    {"+15551230001", "yellow", "tie", "auto", "auto", 2000, 2500},
	};
	/* indexes into flags, in the order the store must return them for +15551230001 */
	static const int order[] = {2, 4, 3, 0};
	struct flag_list out = {0};
	struct store *s;
	int64_t ids[5];
	size_t i;

	s = open_ok(":memory:", STORE_WRITER, 100);
	for (i = 0; i < 5; i++) {
		ids[i] = add_ok(s, &flags[i]);
		if (i > 0)
			ck_assert_int_gt(ids[i], ids[i - 1]);
	}
	ck_assert_int_eq(store_caller_flags(s, "+15551230001", 100, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 4);
	for (i = 0; i < 4; i++) {
		check_flag(&out.v[i], ids[order[i]], &flags[order[i]]);
		ck_assert_int_eq(out.v[i].revoked_at, 0);
		ck_assert_ptr_null(out.v[i].revoked_by);
		ck_assert_ptr_null(out.v[i].revoke_reason);
	}
	/* Brief: the same flags in the same order, with routing's fields only. */
	ck_assert_int_eq(store_caller_flags_brief(s, "+15551230001", 100, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 4);
	for (i = 0; i < 4; i++) {
		const struct flag_in *in = &flags[order[i]];
		const struct flag *f = &out.v[i];

		ck_assert_int_eq(f->id, ids[order[i]]);
		ck_assert_str_eq(f->caller, in->caller);
		ck_assert_str_eq(f->code, in->code);
		ck_assert_int_eq(f->created_at, in->created_at);
		ck_assert_int_eq(f->expires_at, in->expires_at);
		ck_assert_int_eq(f->revoked_at, 0);
		ck_assert_ptr_null(f->reason);
		ck_assert_ptr_null(f->created_by);
		ck_assert_ptr_null(f->source);
	}
	ck_assert_int_eq(store_caller_flags_brief(s, "+15551230001", 2, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_int_eq(out.v[1].id, ids[order[1]]);
	ck_assert_int_eq(store_caller_flags(s, "+15551230002", 100, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 1);
	check_flag(&out.v[0], ids[1], &flags[1]);
	ck_assert_int_eq(store_caller_flags(s, "+15559999999", 100, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 0);
	flag_list_free(&out);
	store_close(s);
}
END_TEST

START_TEST(test_limit)
{
	static const struct {
		size_t limit, want;
	} cases[] = {{0, 0}, {1, 1}, {2, 2}, {5, 5}, {6, 5}, {SIZE_MAX, 5}};
	struct flag_list out = {0};
	struct store *s;
	struct flag_in in = {"+15551230001", "orange", "r", "sup", "supervisor", 0, 0};
	size_t i, j;

	s = open_ok(":memory:", STORE_WRITER, 100);
	for (i = 0; i < 5; i++) {
		in.created_at = 100 + (int64_t)i;
		add_ok(s, &in);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* out is cleared first: leftovers from the last call never show */
		ck_assert_int_eq(store_caller_flags(s, "+15551230001", cases[i].limit, &out),
		                 STORE_OK);
		ck_assert_msg(out.n == cases[i].want, "limit %zu: %zu flags", cases[i].limit,
		              out.n);
		for (j = 0; j < out.n; j++)
			ck_assert_int_eq(out.v[j].created_at, 104 - (int64_t)j);
	}
	flag_list_free(&out);
	store_close(s);
}
END_TEST

START_TEST(test_revoke)
{
	static const struct flag_in in = {"+15551230001", "red", "threat", "sup-1",
	                                  "supervisor",   1000,  5000};
	struct flag out = {0};
	struct flag_list list = {0};
	struct store *s;
	int64_t id;

	s = open_ok(":memory:", STORE_WRITER, 100);
	id = add_ok(s, &in);
	ck_assert_int_eq(store_flag_revoke(s, id, "sup-2", "mistake", "supervisor", 1200, &out),
	                 STORE_OK);
	check_flag(&out, id, &in);
	ck_assert_int_eq(out.revoked_at, 1200);
	ck_assert_str_eq(out.revoked_by, "sup-2");
	ck_assert_str_eq(out.revoke_reason, "mistake");

	/* a second revoke changes nothing and returns the flag as it is */
	ck_assert_int_eq(store_flag_revoke(s, id, "sup-3", "again", "supervisor", 1300, &out),
	                 STORE_CONFLICT);
	ck_assert_int_eq(out.id, id);
	ck_assert_int_eq(out.revoked_at, 1200);
	ck_assert_str_eq(out.revoked_by, "sup-2");
	ck_assert_str_eq(out.revoke_reason, "mistake");
	ck_assert_ptr_nonnull(strstr(store_errmsg(s), "already revoked"));

	ck_assert_int_eq(store_flag_revoke(s, id + 100, "sup-3", "x", "supervisor", 1300, &out),
	                 STORE_NOT_FOUND);
	ck_assert_int_eq(out.id, 0);
	ck_assert_ptr_null(out.code);

	/* revoked flags stay in the history */
	ck_assert_int_eq(store_caller_flags(s, in.caller, 10, &list), STORE_OK);
	ck_assert_uint_eq(list.n, 1);
	ck_assert_int_eq(list.v[0].revoked_at, 1200);
	ck_assert_str_eq(list.v[0].revoked_by, "sup-2");

	ck_assert_int_eq(store_flag_get(s, id, &out), STORE_OK);
	check_flag(&out, id, &in);
	ck_assert_int_eq(out.revoked_at, 1200);
	ck_assert_int_eq(store_flag_get(s, id + 1, &out), STORE_NOT_FOUND);
	flag_clear(&out);
	flag_list_free(&list);
	store_close(s);
}
END_TEST

START_TEST(test_verbatim_text)
{
	static const char *const texts[] = {
	    "'; DROP TABLE flags; --",
	    "\"); DELETE FROM audit; --",
	    "Robert'); DROP TABLE audit;--",
	    "quote \" backslash \\ slash / brace } bracket ]",
	    "line\nbreak\ttab\r",
	    "\x01\x1f control",
	    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\xa1 "
	    "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
	    "%s %n %d",
	    "?1 ?2 :name @x $y",
	};
	struct flag_list out = {0};
	struct flag rv = {0};
	struct store *s;
	struct flag_in in;
	size_t i;
	int64_t id;

	s = open_ok(":memory:", STORE_WRITER, 100);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		in = (struct flag_in){"+15551230001", texts[i],       texts[i], texts[i],
		                      "supervisor",   (int64_t)i + 1, 0};
		id = add_ok(s, &in);
		ck_assert_int_eq(store_caller_flags(s, in.caller, 1, &out), STORE_OK);
		ck_assert_uint_eq(out.n, 1);
		check_flag(&out.v[0], id, &in);
		ck_assert_int_eq(store_flag_revoke(s, id, texts[i], texts[i], texts[i], 50, &rv),
		                 STORE_OK);
		ck_assert_str_eq(rv.revoked_by, texts[i]);
		ck_assert_str_eq(rv.revoke_reason, texts[i]);
	}
	/* the tables are all still there */
	ck_assert_int_eq(store_caller_flags(s, "+15551230001", 100, &out), STORE_OK);
	ck_assert_uint_eq(out.n, sizeof(texts) / sizeof(texts[0]));
	flag_clear(&rv);
	flag_list_free(&out);
	store_close(s);
}
END_TEST

START_TEST(test_count_active)
{
	static const struct {
		int64_t created_at, expires_at, revoke_at; /* revoke_at 0: never revoked */
	} flags[] = {
	    {100, 0, 0},    /* active forever */
	    {100, 500, 0},  /* expires at 500 */
	    {100, 1000, 0}, /* expires at 1000 */
	    {100, 0, 300},  /* revoked at 300 */
	    {100, 900, 200},
	};
	static const struct {
		int64_t ts, want;
	} cases[] = {{150, 3}, {499, 3}, {500, 2}, {999, 2}, {1000, 1}, {5000, 1}};
	struct flag out = {0};
	struct store *s;
	struct flag_in in = {"+15551230001", "orange", "r", "sup", "supervisor", 0, 0};
	size_t i;
	int64_t id;

	s = open_ok(":memory:", STORE_WRITER, 100);
	ck_assert_int_eq(store_count_active_flags(s, 0), 0);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		in.created_at = flags[i].created_at;
		in.expires_at = flags[i].expires_at;
		id = add_ok(s, &in);
		if (flags[i].revoke_at != 0)
			ck_assert_int_eq(store_flag_revoke(s, id, "sup", "r", "supervisor",
			                                   flags[i].revoke_at, &out),
			                 STORE_OK);
	}
	/* revoked flags never count, whatever ts is asked about */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(store_count_active_flags(s, cases[i].ts) == cases[i].want,
		              "ts %" PRId64 ": %" PRId64 " active, want %" PRId64, cases[i].ts,
		              store_count_active_flags(s, cases[i].ts), cases[i].want);
	flag_clear(&out);
	store_close(s);
}
END_TEST

START_TEST(test_count_active_by_code)
{
	static const struct {
		const char *code;
		int64_t expires_at, revoke_at;
	} flags[] = {
	    {"red", 0, 0},      {"red", 500, 0}, {"orange", 0, 0}, {"orange", 0, 300}, /* revoked */
	    {"yellow", 200, 0}, /* expired by 400 */
	    {"red", 0, 0},
	};
	struct flag_in in = {"+15551230001", "", "r", "sup", "supervisor", 100, 0};
	struct store_code_count out[4];
	struct flag rv = {0};
	struct store *s;
	size_t i;
	int64_t id;

	s = open_ok(":memory:", STORE_WRITER, 100);
	ck_assert_int_eq(store_count_active_by_code(s, 0, out, 4), 0);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		in.code = flags[i].code;
		in.expires_at = flags[i].expires_at;
		id = add_ok(s, &in);
		if (flags[i].revoke_at != 0)
			ck_assert_int_eq(store_flag_revoke(s, id, "sup", "r", "supervisor",
			                                   flags[i].revoke_at, &rv),
			                 STORE_OK);
	}
	/* In code order; codes with no active flag are left out. */
	ck_assert_int_eq(store_count_active_by_code(s, 400, out, 4), 2);
	ck_assert_str_eq(out[0].code, "orange");
	ck_assert_int_eq(out[0].n, 1);
	ck_assert_str_eq(out[1].code, "red");
	ck_assert_int_eq(out[1].n, 3);
	ck_assert_int_eq(store_count_active_by_code(s, 150, out, 4), 3);
	ck_assert_str_eq(out[2].code, "yellow");
	ck_assert_int_eq(store_count_active_by_code(s, 600, out, 4), 2);
	ck_assert_int_eq(out[1].n, 2);
	/* At most max codes. */
	ck_assert_int_eq(store_count_active_by_code(s, 150, out, 1), 1);
	ck_assert_str_eq(out[0].code, "orange");
	flag_clear(&rv);
	store_close(s);
}
END_TEST

START_TEST(test_group_commit)
{
	struct flag_in in = {"+15551230001", "orange", "r", "sup", "supervisor", 10, 0};
	struct flag_list out = {0};
	struct flag bad, rv = {0};
	struct store *s;
	int64_t a, b, c;

	s = open_ok(":memory:", STORE_WRITER, 100);
	ck_assert_int_eq(store_commit(s), STORE_ERROR); /* nothing open */

	ck_assert_int_eq(store_begin(s), STORE_OK);
	ck_assert_int_eq(store_begin(s), STORE_ERROR); /* no nesting */
	a = add_ok(s, &in);
	in.created_at = 11;
	b = add_ok(s, &in);
	/* a unit that fails inside the batch leaves the others in it */
	memset(&bad, 0, sizeof(bad));
	snprintf(bad.caller, sizeof(bad.caller), "+15551230001");
	bad.code = (char *)"red";
	bad.reason = (char *)"r";
	bad.created_by = (char *)"sup";
	bad.source = (char *)"nonsense"; /* violates the CHECK */
	bad.created_at = 12;
	ck_assert_int_eq(store_flag_add(s, &bad, "supervisor"), STORE_ERROR);
	ck_assert_int_eq(bad.id, 0);
	ck_assert_ptr_nonnull(strstr(store_errmsg(s), "CHECK"));
	ck_assert_int_eq(store_flag_revoke(s, 999, "sup", "r", "supervisor", 12, &rv),
	                 STORE_NOT_FOUND);
	ck_assert_int_eq(store_flag_revoke(s, a, "sup", "r", "supervisor", 12, &rv), STORE_OK);
	ck_assert_int_eq(store_commit(s), STORE_OK);

	ck_assert_int_eq(store_caller_flags(s, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_int_eq(out.v[0].id, b);
	ck_assert_int_eq(out.v[1].id, a);
	ck_assert_int_eq(out.v[1].revoked_at, 12);

	/* rollback discards the whole batch */
	ck_assert_int_eq(store_begin(s), STORE_OK);
	in.created_at = 20;
	c = add_ok(s, &in);
	ck_assert_int_eq(store_flag_revoke(s, b, "sup", "r", "supervisor", 21, &rv), STORE_OK);
	store_rollback(s);
	ck_assert_int_eq(store_flag_get(s, c, &rv), STORE_NOT_FOUND);
	ck_assert_int_eq(store_flag_get(s, b, &rv), STORE_OK);
	ck_assert_int_eq(rv.revoked_at, 0);
	ck_assert_int_eq(store_caller_flags(s, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 2);

	/* standalone writes still work after a rollback */
	in.created_at = 30;
	add_ok(s, &in);
	ck_assert_int_eq(store_count_active_flags(s, 40), 2);
	flag_clear(&rv);
	flag_list_free(&out);
	store_close(s);
}
END_TEST

START_TEST(test_audit_rows)
{
	static const struct flag_in in = {
	    "+15551230001", "red", "said \"die\"", "sup-17", "supervisor", 1000, 7000};
	static const struct {
		const char *sql;
		int64_t want;
	} checks[] = {
	    {"SELECT count(*) FROM audit", 3},
	    {"SELECT count(*) FROM audit WHERE id = 1 AND ts = 1000 AND actor = 'sup-17' AND "
	     "role = 'supervisor' AND action = 'flag.add' AND subject = '+15551230001'",
	     1},
	    {"SELECT count(*) FROM audit WHERE id = 1 AND json_extract(detail, '$.flag_id') = 1 "
	     "AND "
	     "json_extract(detail, '$.code') = 'red' AND "
	     "json_extract(detail, '$.reason') = 'said \"die\"' AND "
	     "json_extract(detail, '$.source') = 'supervisor' AND "
	     "json_extract(detail, '$.expires_at') = 7000",
	     1},
	    {"SELECT count(*) FROM audit WHERE id = 2 AND ts = 1001 AND actor = 'agent-2' AND "
	     "role = 'telephony' AND action = 'flag.add' AND subject = '+15551230002' AND "
	     "json_type(detail, '$.expires_at') = 'null'",
	     1},
	    {"SELECT count(*) FROM audit WHERE id = 3 AND ts = 2000 AND actor = 'sup-9' AND "
	     "role = 'ops' AND action = 'flag.revoke' AND subject = '+15551230001' AND "
	     "json_extract(detail, '$.flag_id') = 1 AND json_extract(detail, '$.code') = 'red' AND "
	     "json_extract(detail, '$.reason') = 'wrong caller'",
	     1},
	};
	const char *path = tmp_path("audit.db");
	struct flag_in in2 = {"+15551230002", "orange", "r", "agent-2", "agent", 1001, 0};
	struct flag f, out = {0};
	struct store *s;
	sqlite3 *db;
	size_t i;
	int64_t id;

	s = open_ok(path, STORE_WRITER, 1000);
	id = add_ok(s, &in);
	ck_assert_int_eq(id, 1);
	memset(&f, 0, sizeof(f));
	snprintf(f.caller, sizeof(f.caller), "%s", in2.caller);
	f.code = (char *)in2.code;
	f.reason = (char *)in2.reason;
	f.created_by = (char *)in2.by;
	f.source = (char *)in2.source;
	f.created_at = in2.created_at;
	ck_assert_int_eq(store_flag_add(s, &f, "telephony"), STORE_OK);
	ck_assert_int_eq(store_flag_revoke(s, id, "sup-9", "wrong caller", "ops", 2000, &out),
	                 STORE_OK);
	/* a failed revoke writes no audit row */
	ck_assert_int_eq(store_flag_revoke(s, id, "sup-9", "again", "ops", 2001, &out),
	                 STORE_CONFLICT);
	ck_assert_int_eq(store_flag_revoke(s, 77, "sup-9", "none", "ops", 2001, &out),
	                 STORE_NOT_FOUND);

	db = raw_open(path);
	sqlite3_busy_timeout(db, 1000);
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		ck_assert_msg(raw_int(db, checks[i].sql) == checks[i].want, "%s", checks[i].sql);
	{
		sqlite3_stmt *st;

		ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
		                 SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
		sqlite3_finalize(st);
	}

	/* audit rows are immutable */
	ck_assert_int_ne(sqlite3_exec(db, "UPDATE audit SET actor = 'x'", NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_ptr_nonnull(strstr(sqlite3_errmsg(db), "immutable"));
	ck_assert_int_ne(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_ptr_nonnull(strstr(sqlite3_errmsg(db), "immutable"));
	/* the schema refuses an audit detail that is not a JSON object */
	ck_assert_int_ne(
	    sqlite3_exec(db,
	                 "INSERT INTO audit (ts, actor, role, action, subject, detail) "
	                 "VALUES (1, 'a', 'r', 'x', 's', '[1]')",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM audit"), 3);
	sqlite3_close(db);
	flag_clear(&out);
	store_close(s);
}
END_TEST

START_TEST(test_reader_sees_commits)
{
	const char *path = tmp_path("reader.db");
	struct flag_in in = {"+15551230001", "red", "r", "sup", "supervisor", 100, 0};
	struct flag_list out = {0};
	struct flag f;
	struct store *w, *r;
	sqlite3 *db;

	w = open_ok(path, STORE_WRITER, 1000);
	r = open_ok(path, STORE_READER, 0);
	ck_assert_int_eq(store_schema_version(r), newest_version());
	ck_assert_int_eq(store_caller_flags(r, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 0);
	add_ok(w, &in);
	ck_assert_int_eq(store_caller_flags(r, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 1);

	/* uncommitted batch writes are invisible, then visible at once after the commit */
	ck_assert_int_eq(store_begin(w), STORE_OK);
	in.created_at = 200;
	add_ok(w, &in);
	ck_assert_int_eq(store_caller_flags(r, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_int_eq(store_count_active_flags(r, 0), 1);
	ck_assert_int_eq(store_commit(w), STORE_OK);
	ck_assert_int_eq(store_caller_flags(r, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_int_eq(out.v[0].created_at, 200);
	ck_assert_int_eq(store_count_active_flags(r, 0), 2);

	/* the reader holds no read transaction between calls: a full checkpoint is not blocked */
	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM flags"), 2);
	{
		int nlog = -1, nckpt = -1;

		ck_assert_int_eq(
		    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt),
		    SQLITE_OK);
		ck_assert_int_eq(nlog, 0);
	}
	sqlite3_close(db);

	/* the reader cannot write */
	memset(&f, 0, sizeof(f));
	snprintf(f.caller, sizeof(f.caller), "%s", in.caller);
	f.code = (char *)"red";
	f.reason = (char *)"r";
	f.created_by = (char *)"sup";
	f.source = (char *)"supervisor";
	f.created_at = 300;
	ck_assert_int_eq(store_flag_add(r, &f, "supervisor"), STORE_ERROR);
	ck_assert_int_eq(f.id, 0);
	ck_assert_int_eq(store_caller_flags(r, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 2);

	flag_list_free(&out);
	store_close(r);
	store_close(w);
}
END_TEST

/*
 * The schema's promise to the call path: a caller's flags for routing come from one index
 * (covering: the table is not read) in newest-first order (no sort). The query is routing's.
 */
START_TEST(test_route_lookup_plan)
{
	const char *path = tmp_path("plan.db");
	char plan[512] = "";
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t len = 0;

	store_close(open_ok(path, STORE_WRITER, 1000));
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "EXPLAIN QUERY PLAN SELECT id, code, created_at, "
	                                    "expires_at, revoked_at FROM flags WHERE caller = ?1 "
	                                    "ORDER BY created_at DESC, id DESC LIMIT ?2",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && len < sizeof(plan))
		len += (size_t)snprintf(plan + len, sizeof(plan) - len, "%s\n",
		                        (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(db);
	ck_assert_msg(strstr(plan, "USING COVERING INDEX flags_caller_route") != NULL, "plan: %s",
	              plan);
	ck_assert_msg(strstr(plan, "TEMP B-TREE") == NULL, "plan sorts: %s", plan);
}
END_TEST

START_TEST(test_reopen)
{
	const char *path = tmp_path("reopen.db");
	struct flag_in in = {"+15551230001", "nuisance", "r", "sup", "supervisor", 100, 999};
	struct flag_list out = {0};
	struct store *s;
	int64_t id;

	s = open_ok(path, STORE_WRITER, 1000);
	id = add_ok(s, &in);
	store_close(s);

	/* migrations already applied are not run again (they would fail on existing tables) */
	s = open_ok(path, STORE_WRITER, 1000);
	ck_assert_int_eq(store_schema_version(s), newest_version());
	ck_assert_int_eq(store_caller_flags(s, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 1);
	check_flag(&out.v[0], id, &in);
	in.created_at = 200;
	ck_assert_int_gt(add_ok(s, &in), id);
	store_close(s);

	s = open_ok(path, STORE_READER, 0);
	ck_assert_int_eq(store_caller_flags(s, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 2);
	flag_list_free(&out);
	store_close(s);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	const char *path = tmp_path("newer.db");
	char want[128], *cause;
	sqlite3 *db;
	struct store *s;

	s = open_ok(path, STORE_WRITER, 1000);
	store_close(s);
	db = raw_open(path);
	raw_exec(db, "PRAGMA user_version = 999");
	sqlite3_close(db);

	snprintf(want, sizeof(want),
	         "database schema version 999 is newer than this callwarden (%d)",
	         newest_version());
	cause = open_fails(path, STORE_WRITER, 1000);
	ck_assert_msg(strstr(cause, want) != NULL, "cause: %s", cause);
	free(cause);
	cause = open_fails(path, STORE_READER, 0);
	ck_assert_msg(strstr(cause, want) != NULL, "cause: %s", cause);
	free(cause);

	/* the refused database was left alone */
	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), 999);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_open_failures)
{
	static const struct {
		const char *name;     /* relative to the test directory */
		const char *contents; /* written first when not NULL */
		enum store_role role;
		const char *want; /* in the cause */
	} cases[] = {
	    {"missing/dir/x.db", NULL, STORE_WRITER, "No such file or directory"},
	    {"missing/x.db", NULL, STORE_READER, "No such file or directory"},
	    {"absent.db", NULL, STORE_READER, "does not exist"},
	    {"garbage.db",
	     "this is not a SQLite database, just text that is long enough to hold "
	     "a header and then some more bytes to make it look like a page....",
	     STORE_WRITER, "not a database"},
	    {"garbage2.db",
	     "another text file that is certainly not a database at all, really, "
	     "whatever the reader thinks about it and its version.............",
	     STORE_READER, "not a database"},
	    {"empty.db", "", STORE_READER, "schema version 0 is older"},
	    {"file.db/x.db", NULL, STORE_WRITER, "not a directory"},
	};
	char path[512], *cause;
	FILE *f;
	size_t i;

	/* a plain file where a directory should be */
	f = fopen(tmp_path("file.db"), "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s", tmp_path(cases[i].name));
		if (cases[i].contents != NULL) {
			f = fopen(path, "w");
			ck_assert_ptr_nonnull(f);
			fputs(cases[i].contents, f);
			fclose(f);
		}
		cause = open_fails(path, cases[i].role, 0);
		ck_assert_msg(strstr(cause, cases[i].want) != NULL, "%s: cause \"%s\" lacks \"%s\"",
		              cases[i].name, cause, cases[i].want);
		free(cause);
	}
	/* store_open with a NULL cause pointer fails quietly */
	ck_assert_ptr_null(store_open(tmp_path("missing/x.db"), STORE_WRITER, 0, NULL));
}
END_TEST

START_TEST(test_locked_database)
{
	const char *path = tmp_path("locked.db");
	char *cause;
	struct store *s;
	sqlite3 *db;
	double t0, dt;

	s = open_ok(path, STORE_WRITER, 1000);
	store_close(s);

	/* another process holding the database exclusively */
	db = raw_open(path);
	raw_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; "
	             "INSERT INTO flags (caller, code, reason, created_by, source, created_at) "
	             "VALUES ('+15551230001', 'red', 'r', 'x', 'supervisor', 1); COMMIT");

	t0 = now_s();
	cause = open_fails(path, STORE_READER, 0);
	dt = now_s() - t0;
	ck_assert_msg(strstr(cause, "locked") != NULL, "cause: %s", cause);
	ck_assert_msg(dt < 0.5, "reader took %.3f s", dt);
	free(cause);

	t0 = now_s();
	cause = open_fails(path, STORE_WRITER, 100);
	dt = now_s() - t0;
	ck_assert_msg(strstr(cause, "locked") != NULL, "cause: %s", cause);
	ck_assert_msg(dt >= 0.05 && dt < 2.0, "writer took %.3f s", dt);
	free(cause);

	sqlite3_close(db);
	s = open_ok(path, STORE_READER, 0);
	store_close(s);
}
END_TEST

START_TEST(test_writer_busy)
{
	const char *path = tmp_path("busy.db");
	struct flag_in in = {"+15551230001", "red", "r", "sup", "supervisor", 100, 0};
	struct flag_list out = {0};
	struct flag f;
	struct store *w, *r;
	sqlite3 *db;
	double t0, dt;

	w = open_ok(path, STORE_WRITER, 100);
	r = open_ok(path, STORE_READER, 0);
	add_ok(w, &in);

	/* another connection holds the write lock */
	db = raw_open(path);
	raw_exec(db, "BEGIN IMMEDIATE; "
	             "INSERT INTO flags (caller, code, reason, created_by, source, created_at) "
	             "VALUES ('+15551230001', 'red', 'r', 'x', 'supervisor', 500)");

	memset(&f, 0, sizeof(f));
	snprintf(f.caller, sizeof(f.caller), "%s", in.caller);
	f.code = (char *)"orange";
	f.reason = (char *)"r";
	f.created_by = (char *)"sup";
	f.source = (char *)"supervisor";
	f.created_at = 200;
	t0 = now_s();
	ck_assert_int_eq(store_flag_add(w, &f, "supervisor"), STORE_BUSY);
	dt = now_s() - t0;
	ck_assert_msg(dt >= 0.05 && dt < 2.0, "busy write took %.3f s", dt);
	ck_assert_ptr_nonnull(strstr(store_errmsg(w), "locked"));
	ck_assert_int_eq(f.id, 0);
	ck_assert_int_eq(store_begin(w), STORE_BUSY);

	/* readers are not held up by the writer (WAL) */
	t0 = now_s();
	ck_assert_int_eq(store_caller_flags(r, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_msg(now_s() - t0 < 0.05, "read waited on the write lock");

	raw_exec(db, "COMMIT");
	sqlite3_close(db);
	ck_assert_int_eq(store_flag_add(w, &f, "supervisor"), STORE_OK);
	ck_assert_int_eq(store_caller_flags(r, in.caller, 10, &out), STORE_OK);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_int_eq(out.v[0].created_at, 500);
	ck_assert_int_eq(out.v[1].id, f.id);
	flag_list_free(&out);
	store_close(r);
	store_close(w);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *mem = tcase_create("memory");
	TCase *file = tcase_create("file");

	tcase_add_test(mem, test_schema_version);
	tcase_add_test(mem, test_add_and_read_back);
	tcase_add_test(mem, test_limit);
	tcase_add_test(mem, test_revoke);
	tcase_add_test(mem, test_verbatim_text);
	tcase_add_test(mem, test_count_active);
	tcase_add_test(mem, test_count_active_by_code);
	tcase_add_test(mem, test_group_commit);
	suite_add_tcase(s, mem);

	/* one directory for the whole test case: each test names its own files in it */
	tcase_add_unchecked_fixture(file, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(file, test_audit_rows);
	tcase_add_test(file, test_reader_sees_commits);
	tcase_add_test(file, test_reopen);
	tcase_add_test(file, test_route_lookup_plan);
	tcase_add_test(file, test_newer_schema_refused);
	tcase_add_test(file, test_open_failures);
	tcase_add_test(file, test_locked_database);
	tcase_add_test(file, test_writer_busy);
	suite_add_tcase(s, file);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
