/* Unit tests for the call log: round trips, lifecycle updates, bounded reads, pruning, groups. */
#include <check.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "calllog.h"
#include "store.h"

static char tmpdir[256];

static void
tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_calllog.XXXXXX");
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

static const char *
tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static struct store *
store_ok(const char *path, enum store_role role)
{
	char *cause = NULL;
	struct store *s = store_open(path, role, 1000, &cause);

	ck_assert_msg(s != NULL, "store_open %s: %s", path, cause ? cause : "(no cause)");
	return s;
}

static struct calllog *
calllog_ok(const char *path, int busy_ms)
{
	char *cause = NULL;
	struct calllog *cl = calllog_open(path, busy_ms, &cause);

	ck_assert_msg(cl != NULL, "calllog_open %s: %s", path, cause ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
	return cl;
}

static void
create_ok(const char *path, const char *main_db)
{
	char *cause = NULL;

	ck_assert_msg(calllog_create(path, main_db, &cause) == 0, "calllog_create %s: %s", path,
	              cause ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
}

/* A call-log file in the test directory and a call log on it. */
static struct calllog *
fresh(const char *name)
{
	const char *path = tmp_path(name);

	create_ok(path, NULL);
	return calllog_ok(path, 1000);
}

/* The fields of a call to insert; NULL strings are "". */
struct call_in {
	int64_t id;
	const char *call_id, *caller, *dialed;
	int64_t offered_at;
	const char *action, *queue, *rule, *policy;
	int degraded;
};

static void
make_row(struct call_row *r, const struct call_in *in)
{
	memset(r, 0, sizeof(*r));
	r->id = in->id;
	snprintf(r->call_id, sizeof(r->call_id), "%s", in->call_id ? in->call_id : "");
	snprintf(r->caller, sizeof(r->caller), "%s", in->caller ? in->caller : "");
	snprintf(r->dialed, sizeof(r->dialed), "%s", in->dialed ? in->dialed : "");
	r->offered_at = in->offered_at;
	snprintf(r->action, sizeof(r->action), "%s", in->action ? in->action : "queue");
	snprintf(r->queue, sizeof(r->queue), "%s", in->queue ? in->queue : "general");
	snprintf(r->rule, sizeof(r->rule), "%s", in->rule ? in->rule : "default");
	snprintf(r->policy, sizeof(r->policy), "%s", in->policy ? in->policy : "v1");
	r->degraded = in->degraded;
	r->talk_s = -1;
}

static void
insert_ok(struct calllog *cl, const struct call_in *in)
{
	struct call_row r;
	enum store_status st;

	make_row(&r, in);
	st = calllog_insert(cl, &r);
	ck_assert_msg(st == STORE_OK, "insert %" PRId64 ": %d %s", in->id, st, calllog_errmsg(cl));
}

/* A simple call: id, caller and offer time. */
static void
insert_simple(struct calllog *cl, int64_t id, const char *caller, int64_t offered_at)
{
	struct call_in in = {.id = id, .call_id = "c", .caller = caller, .offered_at = offered_at};

	insert_ok(cl, &in);
}

/* Rows collected by a scan callback; stops after stop_after rows when that is not 0. */
struct collect {
	struct call_row *rows;
	size_t n, cap, stop_after;
};

static int
collect_cb(const struct call_row *row, void *arg)
{
	struct collect *c = arg;

	ck_assert_uint_lt(c->n, c->cap);
	c->rows[c->n++] = *row;
	return c->stop_after != 0 && c->n >= c->stop_after;
}

static void
collect_init(struct collect *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->rows = calloc(cap, sizeof(*c->rows));
	ck_assert_ptr_nonnull(c->rows);
	c->cap = cap;
}

static void
collect_free(struct collect *c)
{
	free(c->rows);
	c->rows = NULL;
}

/* Asserts the collected ids are exactly want[0..n). */
static void
check_ids(const char *what, const struct call_row *rows, size_t got, const int64_t *want, size_t n)
{
	size_t i;

	ck_assert_msg(got == n, "%s: %zu rows, want %zu", what, got, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(rows[i].id == want[i], "%s: row %zu is id %" PRId64 ", want %" PRId64,
		              what, i, rows[i].id, want[i]);
}

/* Runs sql on path behind the library's back (a file an earlier version left). */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql,
	              err ? err : "?");
	sqlite3_close(db);
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	int64_t v;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

START_TEST(test_open_errors)
{
	static const struct {
		const char *what, *file, *want;
		int migrate;
	} cases[] = {
	    {"missing file", "none.db", "does not exist", 0},
	    {"not migrated", "empty.db", "schema version 0 is older", 0},
	    {"not a database", "text.db", "not a database", 0},
	};
	struct calllog *cl;
	char *cause;
	size_t i;
	FILE *f;

	f = fopen(tmp_path("text.db"), "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not a database file, whatever the call log thinks about it..........\n"
	      "and it is long enough to have a header..........................................\n",
	      f);
	fclose(f);
	f = fopen(tmp_path("empty.db"), "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = tmp_path(cases[i].file);

		cause = NULL;
		cl = calllog_open(path, 100, &cause);
		ck_assert_msg(cl == NULL, "%s: opened", cases[i].what);
		ck_assert_msg(cause != NULL && strncmp(cause, path, strlen(path)) == 0 &&
		                  strstr(cause, cases[i].want) != NULL,
		              "%s: cause %s", cases[i].what, cause ? cause : "(none)");
		free(cause);
	}
	calllog_close(NULL);
}
END_TEST

START_TEST(test_open_migrated)
{
	const char *path = tmp_path("ok.db");
	struct calllog *cl;

	cl = fresh("ok.db");
	ck_assert_str_eq(calllog_errmsg(cl), "no error");
	ck_assert_int_eq(calllog_count(cl), 0);
	ck_assert_int_eq(calllog_max_id(cl), 0);
	ck_assert_int_eq(raw_int(path, "PRAGMA user_version"),
	                 calllog_migrations[calllog_nmigrations - 1].version);
	ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                               "AND tbl_name = 'calls'"),
	                 1);
	calllog_close(cl);
	/* Creating again is a no-op on a current file. */
	create_ok(path, NULL);
	cl = calllog_ok(path, 1000);
	ck_assert_int_eq(calllog_count(cl), 0);
	calllog_close(cl);
}
END_TEST

START_TEST(test_path)
{
	static const struct {
		const char *db, *want;
	} cases[] = {
	    {"var/callwarden.db", "var/callwarden-calls.db"},
	    {"/var/lib/callwarden/callwarden.db", "/var/lib/callwarden/callwarden-calls.db"},
	    {"state", "state-calls"},
	    {".db", ".db-calls"},
	    {"a.db.bak", "a.db.bak-calls"},
	};
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(calllog_path(cases[i].db, out, sizeof(out)), 0);
		ck_assert_str_eq(out, cases[i].want);
	}
	/* One that fits only without its suffix is refused, not cut. */
	ck_assert_int_eq(calllog_path("abcdef.db", out, 15), -1);
	ck_assert_int_eq(calllog_path("abcdef.db", out, 16), 0);
	ck_assert_str_eq(out, "abcdef-calls.db");
}
END_TEST

/* Calls an earlier version kept in the main database move to the call-log file, once. */
START_TEST(test_adopt_from_main)
{
	char main_db[512], calls[512];
	struct calllog *cl;
	struct call_row *rows;
	size_t n = 0;

	snprintf(main_db, sizeof(main_db), "%s", tmp_path("main.db"));
	/* The main database's migrations still create the old calls table. */
	store_close(store_ok(main_db, STORE_WRITER));
	ck_assert_int_eq(
	    raw_int(main_db, "SELECT count(*) FROM sqlite_master WHERE name = 'calls'"), 1);
	raw_exec(main_db,
	         "INSERT INTO calls (id, call_id, caller, offered_at, action, queue, rule, "
	         "policy) VALUES (7, 'old-7', '+15551230007', 1000, 'queue', 'standard', "
	         "'default', 'v0'), (8, 'old-8', NULL, 1001, 'reject', 'standard', "
	         "'closed', 'v0')");
	snprintf(calls, sizeof(calls), "%s", tmp_path("main-calls.db"));
	create_ok(calls, main_db);
	ck_assert_int_eq(
	    raw_int(main_db, "SELECT count(*) FROM sqlite_master WHERE name = 'calls'"), 0);
	/* Again: nothing left to move, nothing changes. */
	create_ok(calls, main_db);
	cl = calllog_ok(calls, 1000);
	ck_assert_int_eq(calllog_count(cl), 2);
	ck_assert_int_eq(calllog_max_id(cl), 8);
	rows = calloc(4, sizeof(*rows));
	ck_assert_ptr_nonnull(rows);
	ck_assert_int_eq(calllog_recent_for_caller(cl, "+15551230007", 4, 100, rows, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].call_id, "old-7");
	free(rows);
	calllog_close(cl);
}
END_TEST

/* Inserts, answers and ends calls, then reads every field back through scan_since. */
START_TEST(test_round_trip)
{
	static const struct {
		struct call_in in;
		int64_t answered_at;
		const char *agent; /* NULL: not answered */
		int64_t ended_at;  /* 0: not ended */
		const char *ended_by;
		int abandoned;
		int64_t talk_s;
	} cases[] = {
	    {{1, "c-1", "+15551230001", "+18005550100", 1000, "queue", "general", "default", "v1",
	      0},
	     1010,
	     "agent-7",
	     1070,
	     "caller",
	     0,
	     60},
	    /* withheld caller, no dialled number, abandoned in queue */
	    {{2, "c-2", "", "", 1001, "queue", "long-hold", "nuisance-repeat", "v1", 0},
	     0,
	     NULL,
	     1031,
	     "caller",
	     1,
	     -1},
	    {{3, "c-3", "+15551230003", NULL, 1002, "reject", "general", "blocklist", "v2", 0},
	     0,
	     NULL,
	     1002,
	     "system",
	     0,
	     -1},
	    /* degraded and still open */
	    {{4, "c-4", "+15551230004", "+18005550100", 1003, "queue", "general", "default", "v2",
	      1},
	     0,
	     NULL,
	     0,
	     NULL,
	     0,
	     -1},
	    /* answered without an agent name, ended by the agent at talk time 0 */
	    {{5, "c-5", "+15551230001", NULL, 1004, "queue", "supervisor", "red-flag", "v2", 0},
	     1004,
	     "",
	     1004,
	     "agent",
	     0,
	     0},
	    /* answered, not ended yet */
	    {{6, "c-6", "+15551230006", NULL, 1005, "queue", "general", "default", "v2", 0},
	     1020,
	     "agent-9",
	     0,
	     NULL,
	     0,
	     -1},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct collect c;
	struct calllog *cl;
	size_t i;

	cl = fresh("rt.db");
	for (i = 0; i < n; i++)
		insert_ok(cl, &cases[i].in);
	for (i = 0; i < n; i++) {
		if (cases[i].agent != NULL)
			ck_assert_int_eq(calllog_set_answered(cl, cases[i].in.id,
			                                      cases[i].answered_at, cases[i].agent),
			                 STORE_OK);
		if (cases[i].ended_at != 0)
			ck_assert_int_eq(calllog_set_ended(cl, cases[i].in.id, cases[i].ended_at,
			                                   cases[i].ended_by, cases[i].abandoned,
			                                   cases[i].talk_s),
			                 STORE_OK);
	}
	collect_init(&c, 16);
	ck_assert_int_eq(calllog_scan_since(cl, 0, collect_cb, &c), STORE_OK);
	ck_assert_uint_eq(c.n, n);
	for (i = 0; i < n; i++) {
		const struct call_row *r = &c.rows[i];

		ck_assert_int_eq(r->id, cases[i].in.id);
		ck_assert_str_eq(r->call_id, cases[i].in.call_id);
		ck_assert_str_eq(r->caller, cases[i].in.caller);
		ck_assert_str_eq(r->dialed, cases[i].in.dialed ? cases[i].in.dialed : "");
		ck_assert_int_eq(r->offered_at, cases[i].in.offered_at);
		ck_assert_str_eq(r->action, cases[i].in.action);
		ck_assert_str_eq(r->queue, cases[i].in.queue);
		ck_assert_str_eq(r->rule, cases[i].in.rule);
		ck_assert_str_eq(r->policy, cases[i].in.policy);
		ck_assert_int_eq(r->degraded, cases[i].in.degraded);
		ck_assert_int_eq(r->answered_at, cases[i].answered_at);
		ck_assert_str_eq(r->agent, cases[i].agent ? cases[i].agent : "");
		ck_assert_int_eq(r->ended_at, cases[i].ended_at);
		ck_assert_str_eq(r->ended_by, cases[i].ended_by ? cases[i].ended_by : "");
		ck_assert_int_eq(r->abandoned, cases[i].abandoned);
		ck_assert_int_eq(r->talk_s, cases[i].talk_s);
	}
	/* Empty strings are stored as NULL, not as "". */
	ck_assert_int_eq(raw_int(tmp_path("rt.db"), "SELECT count(*) FROM calls WHERE caller IS "
	                                            "NULL AND dialed IS NULL AND id = 2"),
	                 1);
	ck_assert_int_eq(raw_int(tmp_path("rt.db"),
	                         "SELECT count(*) FROM calls WHERE agent IS NULL AND talk_s = 0"),
	                 1);
	ck_assert_int_eq(raw_int(tmp_path("rt.db"), "SELECT count(*) FROM calls WHERE talk_s IS "
	                                            "NULL"),
	                 4);
	collect_free(&c);
	calllog_close(cl);
}
END_TEST

/* Fields that fill their arrays without a NUL are stored cut, never read past. */
START_TEST(test_full_fields)
{
	struct call_row r, out[1];
	struct calllog *cl;
	size_t n;

	cl = fresh("full.db");
	memset(&r, 0, sizeof(r));
	r.id = 1;
	memset(r.call_id, 'c', sizeof(r.call_id));
	snprintf(r.caller, sizeof(r.caller), "+15551230001");
	memset(r.dialed, 'd', sizeof(r.dialed));
	snprintf(r.action, sizeof(r.action), "queue");
	memset(r.queue, 'q', sizeof(r.queue));
	memset(r.rule, 'r', sizeof(r.rule));
	memset(r.policy, 'p', sizeof(r.policy));
	memset(r.agent, 'a', sizeof(r.agent));
	r.answered_at = 5;
	r.talk_s = -1;
	ck_assert_int_eq(calllog_insert(cl, &r), STORE_OK);
	ck_assert_int_eq(calllog_recent_for_caller(cl, "+15551230001", 1, 10, out, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(strlen(out[0].call_id), CALLLOG_CALL_ID_MAX);
	ck_assert_uint_eq(strlen(out[0].dialed), CALLLOG_DIALED_MAX);
	ck_assert_uint_eq(strlen(out[0].queue), CALLLOG_QUEUE_MAX);
	ck_assert_uint_eq(strlen(out[0].rule), CALLLOG_RULE_MAX);
	ck_assert_uint_eq(strlen(out[0].policy), CALLLOG_POLICY_MAX);
	ck_assert_uint_eq(strlen(out[0].agent), CALLLOG_AGENT_MAX);
	ck_assert_int_eq(out[0].answered_at, 5);
	/* Stored cut as well, so a row read back is the row stored. */
	ck_assert_int_eq(raw_int(tmp_path("full.db"),
	                         "SELECT length(call_id) + length(dialed) + length(queue) + "
	                         "length(rule) + length(policy) + length(agent) FROM calls"),
	                 CALLLOG_CALL_ID_MAX + CALLLOG_DIALED_MAX + CALLLOG_QUEUE_MAX +
	                     CALLLOG_RULE_MAX + CALLLOG_POLICY_MAX + CALLLOG_AGENT_MAX);
	calllog_close(cl);
}
END_TEST

/* Statuses of the lifecycle updates and of inserts the schema refuses. */
START_TEST(test_update_statuses)
{
	static const struct {
		const char *what;
		int answer; /* 1: set_answered, 0: set_ended */
		int64_t id, ts;
		const char *text; /* agent or ended_by */
		enum store_status want;
	} cases[] = {
	    {"answer unknown id", 1, 99, 1010, "agent-1", STORE_NOT_FOUND},
	    {"end unknown id", 0, 99, 1010, "caller", STORE_NOT_FOUND},
	    {"end before answer", 0, 1, 1050, "caller", STORE_OK},
	    {"end twice", 0, 1, 1060, "agent", STORE_CONFLICT},
	    {"answer after end", 1, 1, 1020, "agent-1", STORE_OK},
	    {"answer twice", 1, 1, 1030, "agent-2", STORE_CONFLICT},
	    {"bad ended_by", 0, 2, 1010, "customer", STORE_ERROR},
	    {"null ended_by", 0, 2, 1010, NULL, STORE_ERROR},
	};
	char long_agent[CALLLOG_AGENT_MAX + 2];
	struct call_row r, out[2];
	struct calllog *cl;
	size_t i, n;

	cl = fresh("status.db");
	insert_simple(cl, 1, "+15551230001", 1000);
	insert_simple(cl, 2, "+15551230002", 1001);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum store_status st;

		if (cases[i].answer)
			st = calllog_set_answered(cl, cases[i].id, cases[i].ts, cases[i].text);
		else
			st = calllog_set_ended(cl, cases[i].id, cases[i].ts, cases[i].text, 0, -1);
		ck_assert_msg(st == cases[i].want, "%s: status %d, want %d (%s)", cases[i].what, st,
		              cases[i].want, calllog_errmsg(cl));
	}
	/* The first answer and the first end won. */
	ck_assert_int_eq(calllog_recent_for_caller(cl, "+15551230001", 2, 10, out, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0].ended_at, 1050);
	ck_assert_str_eq(out[0].ended_by, "caller");
	ck_assert_int_eq(out[0].answered_at, 1020);
	ck_assert_str_eq(out[0].agent, "agent-1");

	memset(long_agent, 'a', sizeof(long_agent) - 1);
	long_agent[sizeof(long_agent) - 1] = '\0';
	ck_assert_int_eq(calllog_set_answered(cl, 2, 1010, long_agent), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(calllog_errmsg(cl), "longer"));

	make_row(&r, &(struct call_in){.id = 1, .call_id = "dup", .offered_at = 1});
	ck_assert_int_eq(calllog_insert(cl, &r), STORE_CONFLICT);
	r.id = 0;
	ck_assert_int_eq(calllog_insert(cl, &r), STORE_ERROR);
	r.id = 3;
	snprintf(r.action, sizeof(r.action), "drop");
	ck_assert_int_eq(calllog_insert(cl, &r), STORE_ERROR);
	ck_assert_int_eq(calllog_count(cl), 2);
	calllog_close(cl);
}
END_TEST

START_TEST(test_max_id)
{
	static const int64_t ids[] = {5, 3, 1000000007, 10};
	struct calllog *cl;
	size_t i;

	cl = fresh("maxid.db");
	ck_assert_int_eq(calllog_max_id(cl), 0);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		insert_simple(cl, ids[i], "+15551230001", 1000);
	ck_assert_int_eq(calllog_max_id(cl), 1000000007);
	calllog_close(cl);
	/* After a restart the daemon continues from the same id. */
	cl = calllog_ok(tmp_path("maxid.db"), 100);
	ck_assert_int_eq(calllog_max_id(cl), 1000000007);
	ck_assert_int_eq(calllog_count(cl), 4);
	calllog_close(cl);
}
END_TEST

/* scan_since, range and open_calls: filters, oldest first, ties by id, early stop. */
START_TEST(test_time_reads)
{
	/* id, offered_at, ended (1: ended) */
	static const int64_t rows[][3] = {
	    {1, 100, 1}, {2, 200, 0}, {3, 300, 1}, {4, 250, 0},
	    {5, 300, 0}, {6, 400, 1}, {7, 50, 0},
	};
	static const struct {
		const char *what;
		int kind; /* 0: scan_since, 1: range, 2: open_calls */
		int64_t since, until;
		size_t stop_after;
		int64_t want[8];
		size_t nwant;
	} cases[] = {
	    {"since 0", 0, 0, 0, 0, {7, 1, 2, 4, 3, 5, 6}, 7},
	    {"since 250", 0, 250, 0, 0, {4, 3, 5, 6}, 4},
	    {"since after all", 0, 401, 0, 0, {0}, 0},
	    {"since 0, stop after 2", 0, 0, 0, 2, {7, 1}, 2},
	    {"range [200, 300)", 1, 200, 300, 0, {2, 4}, 2},
	    {"range [300, 301)", 1, 300, 301, 0, {3, 5}, 2},
	    {"empty range", 1, 300, 300, 0, {0}, 0},
	    {"open since 0", 2, 0, 0, 0, {7, 2, 4, 5}, 4},
	    {"open since 100", 2, 100, 0, 0, {2, 4, 5}, 3},
	    {"open since 301", 2, 301, 0, 0, {0}, 0},
	};
	struct collect c;
	struct calllog *cl;
	size_t i;

	cl = fresh("time.db");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		insert_simple(cl, rows[i][0], "+15551230001", rows[i][1]);
		if (rows[i][2])
			ck_assert_int_eq(
			    calllog_set_ended(cl, rows[i][0], rows[i][1] + 5, "caller", 0, -1),
			    STORE_OK);
	}
	collect_init(&c, 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum store_status st;

		c.n = 0;
		c.stop_after = cases[i].stop_after;
		if (cases[i].kind == 0)
			st = calllog_scan_since(cl, cases[i].since, collect_cb, &c);
		else if (cases[i].kind == 1)
			st = calllog_range(cl, cases[i].since, cases[i].until, collect_cb, &c);
		else
			st = calllog_open_calls(cl, cases[i].since, collect_cb, &c);
		ck_assert_msg(st == STORE_OK, "%s: %s", cases[i].what, calllog_errmsg(cl));
		check_ids(cases[i].what, c.rows, c.n, cases[i].want, cases[i].nwant);
	}
	collect_free(&c);
	calllog_close(cl);
}
END_TEST

START_TEST(test_recent_for_caller)
{
	static const char *const A = "+15551230001", *const B = "+15551230002";
	static const struct {
		const char *what, *caller;
		size_t limit, scan_cap;
		int64_t want[8];
		size_t nwant;
	} cases[] = {
	    {"all of A, newest first", "+15551230001", 10, 100, {11, 9, 7, 5, 3}, 5},
	    {"limit 2", "+15551230001", 2, 100, {11, 9}, 2},
	    {"scan cap 4 sees ids 11..8", "+15551230001", 10, 4, {11, 9}, 2},
	    {"scan cap 1 sees only id 11", "+15551230002", 10, 1, {0}, 0},
	    {"B", "+15551230002", 3, 100, {10, 8, 6}, 3},
	    /* C called before everyone else: beyond the newest scan_cap rows, so not found */
	    {"old caller beyond the cap", "+15551230003", 10, 10, {0}, 0},
	    {"old caller within the cap", "+15551230003", 10, 11, {1}, 1},
	    {"unknown caller", "+15559999999", 10, 100, {0}, 0},
	    {"withheld finds nothing", "", 10, 100, {0}, 0},
	    {"limit 0", "+15551230001", 0, 100, {0}, 0},
	    {"scan cap 0", "+15551230001", 10, 0, {0}, 0},
	};
	struct call_row out[10];
	struct calllog *cl;
	int64_t id;
	size_t i, n;

	cl = fresh("recent.db");
	/* id 1 is C's only call, then ids 2..11 alternate B (even) and A (odd) */
	insert_simple(cl, 1, "+15551230003", 10);
	for (id = 2; id <= 11; id++)
		insert_simple(cl, id, id % 2 ? A : B, 1000 + id);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 99;
		ck_assert_int_eq(calllog_recent_for_caller(cl, cases[i].caller, cases[i].limit,
		                                           cases[i].scan_cap, out, &n),
		                 STORE_OK);
		check_ids(cases[i].what, out, n, cases[i].want, cases[i].nwant);
		for (size_t j = 0; j < n; j++)
			ck_assert_str_eq(out[j].caller, cases[i].caller);
	}
	ck_assert_int_eq(calllog_recent_for_caller(cl, NULL, 10, 100, out, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	calllog_close(cl);
}
END_TEST

/* Retention: only old call rows go, at most batch per call; flags and audit rows stay. */
START_TEST(test_prune)
{
	char path[512], main_db[512];
	struct flag_list flags = {0};
	struct calllog *cl;
	struct store *s;
	struct flag f;
	struct collect c;
	size_t deleted, i;
	int64_t id;

	snprintf(main_db, sizeof(main_db), "%s", tmp_path("prune.db"));
	snprintf(path, sizeof(path), "%s", tmp_path("prune-calls.db"));
	s = store_ok(main_db, STORE_WRITER);
	create_ok(path, main_db);
	memset(&f, 0, sizeof(f));
	snprintf(f.caller, sizeof(f.caller), "+15551230001");
	f.code = (char *)"nuisance";
	f.reason = (char *)"rang 6 times in 10 minutes";
	f.created_by = (char *)"auto";
	f.source = (char *)"auto";
	f.created_at = 10; /* older than the cutoff, like the calls it was about */
	ck_assert_int_eq(store_flag_add(s, &f, "system"), STORE_OK);

	cl = calllog_ok(path, 1000);
	/* ids 1..10 offered at 100..1000; cutoff 750 removes ids 1..7, oldest first */
	for (id = 1; id <= 10; id++)
		insert_simple(cl, id, "+15551230001", id * 100);
	/* a late id with an old offer time goes too: pruning follows offered_at, not id */
	insert_simple(cl, 11, "+15551230001", 50);

	{
		/* how many each call deletes, and the rows left after it, oldest offer first */
		static const struct {
			size_t batch, want;
			int64_t left[10];
			size_t nleft;
		} steps[] = {
		    /* the oldest offers go first: 11 (50), 1 (100) and 2 (200) */
		    {3, 3, {3, 4, 5, 6, 7, 8, 9, 10}, 8},
		    {3, 3, {6, 7, 8, 9, 10}, 5},
		    {0, 0, {6, 7, 8, 9, 10}, 5},
		    {3, 2, {8, 9, 10}, 3},
		    {3, 0, {8, 9, 10}, 3},
		    {100, 0, {8, 9, 10}, 3},
		};

		collect_init(&c, 16);
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			ck_assert_int_eq(calllog_prune(cl, 750, steps[i].batch, &deleted),
			                 STORE_OK);
			ck_assert_msg(deleted == steps[i].want, "step %zu: deleted %zu, want %zu",
			              i, deleted, steps[i].want);
			c.n = 0;
			ck_assert_int_eq(calllog_scan_since(cl, 0, collect_cb, &c), STORE_OK);
			check_ids("left after pruning", c.rows, c.n, steps[i].left, steps[i].nleft);
		}
		collect_free(&c);
	}

	/* Flags and audit rows are untouched. */
	ck_assert_int_eq(store_caller_flags(s, "+15551230001", 10, &flags), STORE_OK);
	ck_assert_uint_eq(flags.n, 1);
	ck_assert_int_eq(flags.v[0].id, f.id);
	flag_list_free(&flags);
	ck_assert_int_eq(raw_int(main_db, "SELECT count(*) FROM audit"), 1);
	calllog_close(cl);
	store_close(s);
}
END_TEST

/* Prune inside a group joins it: a rollback brings the rows back. */
START_TEST(test_prune_in_group)
{
	struct calllog *cl;
	size_t deleted;
	int64_t id;

	cl = fresh("prunegroup.db");
	for (id = 1; id <= 5; id++)
		insert_simple(cl, id, "+15551230001", id);
	ck_assert_int_eq(calllog_begin(cl), STORE_OK);
	ck_assert_int_eq(calllog_prune(cl, 100, 10, &deleted), STORE_OK);
	ck_assert_uint_eq(deleted, 5);
	ck_assert_int_eq(calllog_count(cl), 0);
	calllog_rollback(cl);
	ck_assert_int_eq(calllog_count(cl), 5);
	calllog_close(cl);
}
END_TEST

/* Group commit and rollback, as seen by this and by other connections. */
START_TEST(test_groups)
{
	const char *path = tmp_path("group.db");
	struct calllog *cl, *other;
	int64_t id;

	cl = fresh("group.db");
	other = calllog_ok(path, 100);

	ck_assert_int_eq(calllog_commit(cl), STORE_ERROR); /* none open */
	ck_assert_int_eq(calllog_begin(cl), STORE_OK);
	ck_assert_int_eq(calllog_begin(cl), STORE_ERROR); /* already open */
	for (id = 1; id <= 1000; id++)
		insert_simple(cl, id, id % 3 ? "+15551230001" : "", 1000 + id / 10);
	ck_assert_int_eq(calllog_set_ended(cl, 10, 1005, "caller", 1, -1), STORE_OK);
	ck_assert_int_eq(calllog_count(cl), 1000);
	/* Not committed: the other connections see nothing yet. */
	ck_assert_int_eq(calllog_count(other), 0);
	ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM calls"), 0);
	ck_assert_int_eq(calllog_commit(cl), STORE_OK);
	ck_assert_int_eq(calllog_count(other), 1000);
	ck_assert_int_eq(calllog_max_id(other), 1000);
	ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM calls WHERE abandoned = 1"), 1);

	/* A rolled back group leaves nothing behind. */
	ck_assert_int_eq(calllog_begin(cl), STORE_OK);
	for (id = 1001; id <= 1500; id++)
		insert_simple(cl, id, "+15551230001", 2000);
	ck_assert_int_eq(calllog_set_ended(cl, 20, 1005, "agent", 0, -1), STORE_OK);
	calllog_rollback(cl);
	ck_assert_int_eq(calllog_count(cl), 1000);
	ck_assert_int_eq(calllog_max_id(other), 1000);
	ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM calls WHERE ended_at IS NOT NULL"), 1);

	/* A failed insert inside a group leaves the rest of the group in place. */
	ck_assert_int_eq(calllog_begin(cl), STORE_OK);
	insert_simple(cl, 2001, "+15551230001", 3000);
	{
		struct call_row r;

		make_row(&r, &(struct call_in){.id = 5, .call_id = "dup", .offered_at = 3000});
		ck_assert_int_eq(calllog_insert(cl, &r), STORE_CONFLICT);
	}
	insert_simple(cl, 2002, "+15551230001", 3000);
	ck_assert_int_eq(calllog_commit(cl), STORE_OK);
	ck_assert_int_eq(calllog_count(other), 1002);

	/* Closing with a group open loses that group only. */
	ck_assert_int_eq(calllog_begin(cl), STORE_OK);
	insert_simple(cl, 3001, "+15551230001", 4000);
	calllog_close(cl);
	ck_assert_int_eq(calllog_count(other), 1002);
	ck_assert_int_eq(calllog_max_id(other), 2002);

	calllog_close(other);
}
END_TEST

/* The call log and the store writer share the one write lock; a group waits at most busy_ms. */
/* Flag writes in the main database never wait for the call log, nor the call log for them. */
START_TEST(test_write_lock_apart)
{
	char main_db[512], path[512];
	struct calllog *cl, *other;
	struct store *w;

	snprintf(main_db, sizeof(main_db), "%s", tmp_path("lockmain.db"));
	snprintf(path, sizeof(path), "%s", tmp_path("lock-calls.db"));
	w = store_ok(main_db, STORE_WRITER);
	create_ok(path, main_db);
	cl = calllog_ok(path, 50);
	other = calllog_ok(path, 50);
	ck_assert_int_eq(store_begin(w), STORE_OK);
	ck_assert_int_eq(calllog_begin(cl), STORE_OK);
	insert_simple(cl, 1, "+15551230001", 1);
	ck_assert_int_eq(calllog_commit(cl), STORE_OK);
	ck_assert_int_eq(store_commit(w), STORE_OK);
	/* Two writers of the call-log file do share its lock; reads still work meanwhile. */
	ck_assert_int_eq(calllog_begin(other), STORE_OK);
	ck_assert_int_eq(calllog_begin(cl), STORE_BUSY);
	ck_assert_int_eq(calllog_count(cl), 1);
	ck_assert_int_eq(calllog_commit(other), STORE_OK);
	ck_assert_int_eq(calllog_begin(cl), STORE_OK);
	insert_simple(cl, 2, "+15551230002", 2);
	ck_assert_int_eq(calllog_commit(cl), STORE_OK);
	ck_assert_int_eq(calllog_count(cl), 2);
	calllog_close(other);
	calllog_close(cl);
	store_close(w);
}
END_TEST

static Suite *
calllog_suite(void)
{
	Suite *s = suite_create("calllog");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_open_migrated);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_full_fields);
	tcase_add_test(tc, test_update_statuses);
	tcase_add_test(tc, test_max_id);
	tcase_add_test(tc, test_time_reads);
	tcase_add_test(tc, test_recent_for_caller);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_prune_in_group);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_write_lock_apart);
	tcase_add_test(tc, test_path);
	tcase_add_test(tc, test_adopt_from_main);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(calllog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
