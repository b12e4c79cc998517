/*
 * Unit tests for the store's reports, follow-ups, audit rows and paged lists (schema 003), and
 * for the JSON form of those records.
 */
#include <check.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "followup.h"
#include "store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[256];

static void
tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_store_reports.XXXXXX");
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
open_ok(const char *path, enum store_role role)
{
	struct store *s;
	char *cause = NULL;

	s = store_open(path, role, 1000, &cause);
	ck_assert_msg(s != NULL, "store_open %s: %s", path, cause ? cause : "(no cause)");
	return s;
}

static int64_t
flag_add_ok(struct store *s, const char *caller, const char *code, const char *by,
            const char *source, int64_t created_at, int64_t expires_at)
{
	struct flag f;
	enum store_status st;

	memset(&f, 0, sizeof(f));
	snprintf(f.caller, sizeof(f.caller), "%s", caller);
	f.code = (char *)code;
	f.reason = (char *)"reason";
	f.created_by = (char *)by;
	f.source = (char *)source;
	f.created_at = created_at;
	f.expires_at = expires_at;
	st = store_flag_add(s, &f, "supervisor");
	ck_assert_msg(st == STORE_OK, "store_flag_add: %d %s", st, store_errmsg(s));
	return f.id;
}

static int64_t
followup_add_ok(struct store *s, const char *caller, const char *call_id, int64_t due_at,
                const char *by, int64_t created_at, const char *note)
{
	struct followup fu;
	enum store_status st;

	memset(&fu, 0, sizeof(fu));
	snprintf(fu.caller, sizeof(fu.caller), "%s", caller);
	fu.call_id = (char *)call_id;
	fu.due_at = due_at;
	fu.created_by = (char *)by;
	fu.created_at = created_at;
	fu.note = (char *)note;
	st = store_followup_add(s, &fu, "supervisor");
	ck_assert_msg(st == STORE_OK, "store_followup_add: %d %s", st, store_errmsg(s));
	ck_assert_int_gt(fu.id, 0);
	return fu.id;
}

/* Every audit row, newest first. */
static void
audit_all(struct store *s, struct audit_rows *out)
{
	int64_t next;

	ck_assert_int_eq(store_audit_list(s, NULL, NULL, 0, 0, 100000, 0, out, &next), STORE_OK);
	ck_assert_int_eq(next, 0);
}

static cJSON *
parse_ok(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	ck_assert_msg(j != NULL, "not JSON: %s", text);
	return j;
}

/* The integer member key of object j, or -1 when it is null, -2 when missing. */
static int64_t
json_int(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (v == NULL)
		return -2;
	if (cJSON_IsNull(v))
		return -1;
	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", key);
	return (int64_t)v->valuedouble;
}

/* The string member key of object j, or NULL when null; fails when missing. */
static const char *
json_str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	ck_assert_msg(v != NULL, "no %s", key);
	if (cJSON_IsNull(v))
		return NULL;
	ck_assert_msg(cJSON_IsString(v), "%s is not a string", key);
	return v->valuestring;
}

static void
str_eq_or_null(const char *got, const char *want)
{
	if (want == NULL)
		ck_assert_ptr_null(got);
	else {
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, want);
	}
}

/* Reports: a sequence of steps on one store, each checked against what it should write. */
START_TEST(test_report_add)
{
	static const struct {
		const char *what;
		struct report_in in;
		int dup;  /* 1: a retry of step same */
		int same; /* the step whose flag and follow-up come back on a retry */
		int flag; /* a flag is written */
		const char *reason;
		const char *fu_note; /* NULL: no follow-up */
		const char *subject;
	} steps[] = {
	    {"yellow with note and follow-up",
	     {"c-1", "+15551230001", "yellow", "agent-1", "shouted", 1000, 0, 87400, NULL},
	     0,
	     0,
	     1,
	     "shouted",
	     "follow up on yellow report during call c-1",
	     "+15551230001"},
	    {"retry of the same call and code by another agent",
	     {"c-1", "+15551230001", "yellow", "agent-2", "other", 1005, 0, 99999, "x"},
	     1,
	     0,
	     1,
	     "shouted",
	     "follow up on yellow report during call c-1",
	     NULL},
	    {"same call, other code, no note, no follow-up, expiring flag",
	     {"c-1", "+15551230001", "orange", "agent-1", NULL, 1010, 5000, 0, NULL},
	     0,
	     2,
	     1,
	     "reported by agent during call c-1",
	     NULL,
	     "+15551230001"},
	    {"withheld caller: no flag, follow-up kept",
	     {"c-2", "", "red", "agent-3", "threat", 1020, 0, 2000, "review recording"},
	     0,
	     3,
	     0,
	     NULL,
	     "review recording",
	     "call:c-2"},
	    {"withheld retry",
	     {"c-2", "", "red", "agent-3", "threat", 1021, 0, 2000, "review recording"},
	     1,
	     3,
	     0,
	     NULL,
	     "review recording",
	     NULL},
	    {"empty note gets the default reason; text stored verbatim",
	     {"c-'3\"", "+15551230002", "red", "agent-'4", "", 1030, 0, 0, NULL},
	     0,
	     5,
	     1,
	     "reported by agent during call c-'3\"",
	     NULL,
	     "+15551230002"},
	    {"retry of step 3",
	     {"c-1", "+15551230001", "orange", "agent-1", NULL, 1040, 5000, 0, NULL},
	     1,
	     2,
	     1,
	     "reported by agent during call c-1",
	     NULL,
	     NULL},
	};
	int64_t flag_ids[NELEM(steps)], fu_ids[NELEM(steps)];
	struct flag flag = {0};
	struct followup fu = {0};
	struct flag_list flags = {0};
	struct followup_list fus = {0};
	struct report_list reports = {0};
	struct audit_rows audit = {0};
	struct store *s;
	size_t i, nwritten = 0;
	int dup;

	s = open_ok(":memory:", STORE_WRITER);
	for (i = 0; i < NELEM(steps); i++) {
		const struct report_in *in = &steps[i].in;
		size_t naudit;
		enum store_status st;

		audit_all(s, &audit);
		naudit = audit.n;
		dup = -1;
		st = store_report_add(s, in, "telephony", &flag, &fu, &dup);
		ck_assert_msg(st == STORE_OK, "%s: %d %s", steps[i].what, st, store_errmsg(s));
		ck_assert_msg(dup == steps[i].dup, "%s: duplicate %d", steps[i].what, dup);
		flag_ids[i] = flag.id;
		fu_ids[i] = fu.id;
		if (steps[i].dup) {
			ck_assert_int_eq(flag.id, flag_ids[steps[i].same]);
			ck_assert_int_eq(fu.id, fu_ids[steps[i].same]);
			audit_all(s, &audit);
			ck_assert_msg(audit.n == naudit, "%s: a retry wrote audit rows",
			              steps[i].what);
		} else {
			nwritten++;
			audit_all(s, &audit);
			ck_assert_uint_eq(audit.n, naudit + 1 + (size_t)steps[i].flag +
			                               (steps[i].fu_note != NULL));
			/* the report row is audited last, with the ids of what it wrote */
			ck_assert_str_eq(audit.v[0].action, "report.add");
			ck_assert_str_eq(audit.v[0].actor, in->agent);
			ck_assert_str_eq(audit.v[0].role, "telephony");
			ck_assert_str_eq(audit.v[0].subject, steps[i].subject);
			ck_assert_int_eq(audit.v[0].ts, in->ts);
			{
				cJSON *d = parse_ok(audit.v[0].detail);

				ck_assert_str_eq(json_str(d, "call_id"), in->call_id);
				ck_assert_str_eq(json_str(d, "code"), in->code);
				ck_assert_int_eq(json_int(d, "flag_id"), flag.id ? flag.id : -1);
				ck_assert_int_eq(json_int(d, "followup_id"), fu.id ? fu.id : -1);
				cJSON_Delete(d);
			}
			if (steps[i].fu_note != NULL) {
				ck_assert_str_eq(audit.v[1].action, "followup.add");
				ck_assert_str_eq(audit.v[1].subject, steps[i].subject);
				ck_assert_str_eq(audit.v[1].actor, in->agent);
			}
			if (steps[i].flag) {
				struct audit_row *a = &audit.v[steps[i].fu_note != NULL ? 2 : 1];
				cJSON *d = parse_ok(a->detail);

				ck_assert_str_eq(a->action, "flag.add");
				ck_assert_str_eq(a->subject, in->caller);
				ck_assert_str_eq(a->actor, in->agent);
				ck_assert_int_eq(json_int(d, "flag_id"), flag.id);
				ck_assert_str_eq(json_str(d, "source"), "agent");
				ck_assert_str_eq(json_str(d, "call_id"), in->call_id);
				cJSON_Delete(d);
			}
		}
		if (steps[i].flag) {
			const struct report_in *orig = &steps[steps[i].same].in;

			ck_assert_int_gt(flag.id, 0);
			ck_assert_str_eq(flag.caller, orig->caller);
			ck_assert_str_eq(flag.code, orig->code);
			ck_assert_str_eq(flag.source, "agent");
			ck_assert_str_eq(flag.created_by, orig->agent);
			ck_assert_str_eq(flag.reason, steps[i].reason);
			ck_assert_int_eq(flag.created_at, orig->ts);
			ck_assert_int_eq(flag.expires_at, orig->expires_at);
		} else {
			ck_assert_int_eq(flag.id, 0);
			ck_assert_ptr_null(flag.code);
		}
		if (steps[i].fu_note != NULL) {
			const struct report_in *orig = &steps[steps[i].same].in;

			ck_assert_int_gt(fu.id, 0);
			ck_assert_str_eq(fu.caller, orig->caller);
			ck_assert_str_eq(fu.call_id, orig->call_id);
			ck_assert_int_eq(fu.due_at, orig->followup_due);
			ck_assert_str_eq(fu.created_by, orig->agent);
			ck_assert_int_eq(fu.created_at, orig->ts);
			ck_assert_str_eq(fu.note, steps[i].fu_note);
			ck_assert_int_eq(fu.done_at, 0);
		} else {
			ck_assert_int_eq(fu.id, 0);
			ck_assert_ptr_null(fu.note);
		}
	}

	/* one flag per non-withheld report, none for withheld callers */
	ck_assert_int_eq(store_caller_flags(s, "+15551230001", 100, &flags), STORE_OK);
	ck_assert_uint_eq(flags.n, 2);
	ck_assert_int_eq(store_caller_flags(s, "", 100, &flags), STORE_OK);
	ck_assert_uint_eq(flags.n, 0);
	ck_assert_int_eq(store_caller_flags(s, "+15551230002", 100, &flags), STORE_OK);
	ck_assert_uint_eq(flags.n, 1);

	ck_assert_int_eq(store_caller_reports(s, "+15551230001", 100, &reports), STORE_OK);
	ck_assert_uint_eq(reports.n, 2);
	ck_assert_str_eq(reports.v[0].code, "orange"); /* newest first */
	ck_assert_ptr_null(reports.v[0].note);
	ck_assert_int_eq(reports.v[0].flag_id, flag_ids[2]);
	ck_assert_int_eq(reports.v[0].followup_id, 0);
	ck_assert_str_eq(reports.v[1].code, "yellow");
	ck_assert_str_eq(reports.v[1].agent, "agent-1");
	ck_assert_str_eq(reports.v[1].note, "shouted");
	ck_assert_str_eq(reports.v[1].call_id, "c-1");
	ck_assert_str_eq(reports.v[1].caller, "+15551230001");
	ck_assert_int_eq(reports.v[1].ts, 1000);
	ck_assert_int_eq(reports.v[1].flag_id, flag_ids[0]);
	ck_assert_int_eq(reports.v[1].followup_id, fu_ids[0]);
	ck_assert_int_eq(store_caller_reports(s, "+15551230001", 1, &reports), STORE_OK);
	ck_assert_uint_eq(reports.n, 1);
	ck_assert_int_eq(store_caller_reports(s, "", 100, &reports), STORE_OK);
	ck_assert_uint_eq(reports.n, 1);
	ck_assert_int_eq(reports.v[0].flag_id, 0);
	ck_assert_int_eq(reports.v[0].followup_id, fu_ids[3]);
	ck_assert_int_eq(store_caller_reports(s, "+15551230002", 100, &reports), STORE_OK);
	ck_assert_uint_eq(reports.n, 1);
	ck_assert_str_eq(reports.v[0].call_id, "c-'3\"");
	ck_assert_str_eq(reports.v[0].note, "");

	ck_assert_int_eq(store_caller_followups(s, "+15551230001", 100, &fus), STORE_OK);
	ck_assert_uint_eq(fus.n, 1);
	ck_assert_int_eq(fus.v[0].id, fu_ids[0]);
	ck_assert_int_eq(store_caller_followups(s, "", 100, &fus), STORE_OK);
	ck_assert_uint_eq(fus.n, 1);
	ck_assert_int_eq(store_caller_followups(s, "+15551230002", 100, &fus), STORE_OK);
	ck_assert_uint_eq(fus.n, 0);

	/* a retry returns the flag as it is now, e.g. revoked */
	ck_assert_int_eq(
	    store_flag_revoke(s, flag_ids[0], "sup-1", "mistake", "supervisor", 1100, &flag),
	    STORE_OK);
	ck_assert_int_eq(store_report_add(s, &steps[0].in, "telephony", &flag, &fu, &dup),
	                 STORE_OK);
	ck_assert_int_eq(dup, 1);
	ck_assert_int_eq(flag.id, flag_ids[0]);
	ck_assert_int_eq(flag.revoked_at, 1100);
	ck_assert_uint_eq(nwritten, 4);

	flag_clear(&flag);
	followup_clear(&fu);
	flag_list_free(&flags);
	followup_list_free(&fus);
	store_report_list_free(&reports);
	store_audit_rows_free(&audit);
	store_close(s);
}
END_TEST

/* A report is one unit: a failure late in it leaves nothing, and does not spoil a batch. */
START_TEST(test_report_atomic)
{
	/* call_id NULL: the flag and follow-up go in, the report row violates NOT NULL */
	static const struct report_in bad = {
	    NULL, "+15551230001", "red", "agent-1", "x", 100, 0, 500, NULL};
	static const struct report_in good = {
	    "c-1", "+15551230001", "red", "agent-1", "x", 100, 0, 500, NULL};
	static const struct report_in good2 = {
	    "c-2", "+15551230002", "red", "agent-1", "x", 100, 0, 0, NULL};
	static const struct report_in toolong = {
	    "c-3", "+155512300011111111", "red", "agent-1", "x", 100, 0, 0, NULL};
	struct flag flag = {0};
	struct followup fu = {0};
	struct flag_list flags = {0};
	struct audit_rows audit = {0};
	struct store *s;
	int dup;

	s = open_ok(":memory:", STORE_WRITER);
	ck_assert_int_eq(store_report_add(s, &bad, "telephony", &flag, &fu, &dup), STORE_ERROR);
	ck_assert_int_eq(flag.id, 0);
	ck_assert_int_eq(fu.id, 0);
	ck_assert_int_eq(dup, 0);
	ck_assert_int_eq(store_caller_flags(s, bad.caller, 10, &flags), STORE_OK);
	ck_assert_uint_eq(flags.n, 0);
	audit_all(s, &audit);
	ck_assert_uint_eq(audit.n, 0);
	ck_assert_int_eq(store_report_add(s, &toolong, "telephony", &flag, &fu, &dup), STORE_ERROR);

	/* inside the writer's batch: the failed unit goes, the others stay */
	ck_assert_int_eq(store_begin(s), STORE_OK);
	ck_assert_int_eq(store_report_add(s, &good, "telephony", &flag, &fu, &dup), STORE_OK);
	ck_assert_int_eq(store_report_add(s, &bad, "telephony", &flag, &fu, &dup), STORE_ERROR);
	ck_assert_int_eq(store_report_add(s, &good2, "telephony", &flag, &fu, &dup), STORE_OK);
	ck_assert_int_eq(store_report_add(s, &good, "telephony", &flag, &fu, &dup), STORE_OK);
	ck_assert_int_eq(dup, 1); /* seen within the same batch */
	ck_assert_int_eq(store_commit(s), STORE_OK);
	audit_all(s, &audit);
	ck_assert_uint_eq(audit.n, 3 + 2);
	ck_assert_int_eq(store_caller_flags(s, good.caller, 10, &flags), STORE_OK);
	ck_assert_uint_eq(flags.n, 1);

	/* a rolled-back batch forgets its reports: the retry writes them again */
	ck_assert_int_eq(store_begin(s), STORE_OK);
	ck_assert_int_eq(store_report_add(s,
	                                  &(struct report_in){"c-9", "+15551230009", "red", "a",
	                                                      NULL, 1, 0, 0, NULL},
	                                  "telephony", &flag, &fu, &dup),
	                 STORE_OK);
	store_rollback(s);
	ck_assert_int_eq(store_report_add(s,
	                                  &(struct report_in){"c-9", "+15551230009", "red", "a",
	                                                      NULL, 1, 0, 0, NULL},
	                                  "telephony", &flag, &fu, &dup),
	                 STORE_OK);
	ck_assert_int_eq(dup, 0);

	flag_clear(&flag);
	followup_clear(&fu);
	flag_list_free(&flags);
	store_audit_rows_free(&audit);
	store_close(s);
}
END_TEST

/* A retried report is recognised after a restart, and readers see reports but cannot write. */
START_TEST(test_report_restart)
{
	static const struct report_in in = {
	    "c-1", "+15551230001", "red", "agent-1", "threat", 100, 0, 200, NULL};
	const char *path = tmp_path("restart.db");
	struct flag flag = {0};
	struct followup fu = {0};
	struct report_list reports = {0};
	struct store *s, *r;
	int64_t flag_id, fu_id;
	int dup;

	s = open_ok(path, STORE_WRITER);
	ck_assert_int_eq(store_report_add(s, &in, "telephony", &flag, &fu, &dup), STORE_OK);
	ck_assert_int_eq(dup, 0);
	flag_id = flag.id;
	fu_id = fu.id;
	store_close(s);

	s = open_ok(path, STORE_WRITER);
	ck_assert_int_eq(store_report_add(s, &in, "telephony", &flag, &fu, &dup), STORE_OK);
	ck_assert_int_eq(dup, 1);
	ck_assert_int_eq(flag.id, flag_id);
	ck_assert_int_eq(fu.id, fu_id);

	r = open_ok(path, STORE_READER);
	ck_assert_int_eq(store_caller_reports(r, in.caller, 10, &reports), STORE_OK);
	ck_assert_uint_eq(reports.n, 1);
	ck_assert_int_eq(store_report_add(r,
	                                  &(struct report_in){"c-2", "+15551230001", "red", "a",
	                                                      NULL, 1, 0, 0, NULL},
	                                  "telephony", &flag, &fu, &dup),
	                 STORE_ERROR);
	ck_assert_int_eq(store_caller_reports(r, in.caller, 10, &reports), STORE_OK);
	ck_assert_uint_eq(reports.n, 1);

	flag_clear(&flag);
	followup_clear(&fu);
	store_report_list_free(&reports);
	store_close(r);
	store_close(s);
}
END_TEST

START_TEST(test_followup_done)
{
	static const struct {
		const char *what;
		int which; /* index into ids; -1: an unknown id */
		const char *by, *note;
		int64_t ts;
		enum store_status want;
		int64_t want_done_at; /* in out afterwards */
		const char *want_by, *want_note;
	} cases[] = {
	    {"done", 0, "sup-1", "called back, apologised", 5000, STORE_OK, 5000, "sup-1",
	     "called back, apologised"},
	    {"done again", 0, "sup-2", "again", 6000, STORE_CONFLICT, 5000, "sup-1",
	     "called back, apologised"},
	    {"unknown", -1, "sup-1", "x", 6000, STORE_NOT_FOUND, 0, NULL, NULL},
	    {"other one, no note", 1, "sup-3", NULL, 7000, STORE_OK, 7000, "sup-3", NULL},
	    {"no by", 2, NULL, "x", 7000, STORE_ERROR, 0, NULL, NULL},
	};
	struct followup out = {0};
	struct audit_rows audit = {0};
	struct store *s;
	int64_t ids[3];
	size_t i, naudit;

	s = open_ok(":memory:", STORE_WRITER);
	ids[0] = followup_add_ok(s, "+15551230001", "c-1", 4000, "sup-9", 1000, "call back");
	ids[1] = followup_add_ok(s, "+15551230002", NULL, 4000, "sup-9", 1000, "check in");
	ids[2] = followup_add_ok(s, "+15551230002", NULL, 4000, "sup-9", 1000, "third");
	ck_assert_int_eq(store_followup_get(s, ids[0], &out), STORE_OK);
	ck_assert_str_eq(out.caller, "+15551230001");
	ck_assert_str_eq(out.call_id, "c-1");
	ck_assert_int_eq(out.due_at, 4000);
	ck_assert_str_eq(out.created_by, "sup-9");
	ck_assert_int_eq(out.created_at, 1000);
	ck_assert_str_eq(out.note, "call back");
	ck_assert_int_eq(out.done_at, 0);
	ck_assert_ptr_null(out.done_by);
	ck_assert_int_eq(store_followup_get(s, ids[1], &out), STORE_OK);
	ck_assert_ptr_null(out.call_id);
	ck_assert_int_eq(store_followup_get(s, 999, &out), STORE_NOT_FOUND);
	ck_assert_int_eq(out.id, 0);

	audit_all(s, &audit);
	ck_assert_uint_eq(audit.n, 3);
	ck_assert_str_eq(audit.v[2].action, "followup.add");
	ck_assert_str_eq(audit.v[2].actor, "sup-9");
	ck_assert_str_eq(audit.v[2].role, "supervisor");
	ck_assert_str_eq(audit.v[2].subject, "+15551230001");

	for (i = 0; i < NELEM(cases); i++) {
		int64_t id = cases[i].which >= 0 ? ids[cases[i].which] : 999;
		enum store_status st;

		audit_all(s, &audit);
		naudit = audit.n;
		st = store_followup_done(s, id, cases[i].by, cases[i].note, cases[i].ts,
		                         "supervisor", &out);
		ck_assert_msg(st == cases[i].want, "%s: %d %s", cases[i].what, st, store_errmsg(s));
		ck_assert_int_eq(out.done_at, cases[i].want_done_at);
		str_eq_or_null(out.done_by, cases[i].want_by);
		str_eq_or_null(out.done_note, cases[i].want_note);
		if (st == STORE_OK || st == STORE_CONFLICT)
			ck_assert_int_eq(out.id, id);
		else
			ck_assert_int_eq(out.id, 0);
		audit_all(s, &audit);
		if (st != STORE_OK) {
			ck_assert_msg(audit.n == naudit, "%s: wrote audit rows", cases[i].what);
			continue;
		}
		ck_assert_uint_eq(audit.n, naudit + 1);
		ck_assert_str_eq(audit.v[0].action, "followup.done");
		ck_assert_str_eq(audit.v[0].actor, cases[i].by);
		ck_assert_int_eq(audit.v[0].ts, cases[i].ts);
		ck_assert_str_eq(audit.v[0].subject, out.caller);
		{
			cJSON *d = parse_ok(audit.v[0].detail);

			ck_assert_int_eq(json_int(d, "followup_id"), id);
			str_eq_or_null(json_str(d, "note"), cases[i].note);
			cJSON_Delete(d);
		}
		/* the stored row agrees with what came back */
		ck_assert_int_eq(store_followup_get(s, id, &out), STORE_OK);
		ck_assert_int_eq(out.done_at, cases[i].want_done_at);
	}
	/* a failed done left the task open */
	ck_assert_int_eq(store_followup_get(s, ids[2], &out), STORE_OK);
	ck_assert_int_eq(out.done_at, 0);
	followup_clear(&out);
	store_audit_rows_free(&audit);
	store_close(s);
}
END_TEST

/* A flag of the pagination model, and whether a filter matches it at now. */
struct mflag {
	int64_t id;
	const char *code, *source, *by;
	int64_t created_at, expires_at;
	int revoked;
};

static int
mflag_matches(const struct mflag *m, const struct flag_filter *f, int64_t now)
{
	const char *state;

	if (f->code != NULL && strcmp(f->code, m->code) != 0)
		return 0;
	if (f->source != NULL && strcmp(f->source, m->source) != 0)
		return 0;
	if (f->by != NULL && strcmp(f->by, m->by) != 0)
		return 0;
	if (f->since != 0 && m->created_at < f->since)
		return 0;
	if (f->until != 0 && m->created_at > f->until)
		return 0;
	if (m->revoked)
		state = "revoked";
	else if (m->expires_at != 0 && m->expires_at <= now)
		state = "expired";
	else
		state = "active";
	return f->state == NULL || strcmp(f->state, "all") == 0 || strcmp(f->state, state) == 0;
}

#define NFLAGS 237
#define NOW    1500

static const char *const codes[] = {"red", "orange", "yellow", "nuisance"};
static const char *const sources[] = {"supervisor", "agent", "auto"};
static const char *const authors[] = {"sup-1", "sup-2", "sup-3", "agent-7", "auto"};

/* What the store should hold: every flag added, ids ascending. */
struct model {
	struct mflag v[NFLAGS + 1000];
	int n;
};

static void
model_add(struct store *s, struct model *m, const char *code, const char *source, const char *by,
          int64_t created_at, int64_t expires_at)
{
	struct mflag *f;

	ck_assert_int_lt(m->n, (int)NELEM(m->v));
	f = &m->v[m->n++];
	memset(f, 0, sizeof(*f));
	f->code = code;
	f->source = source;
	f->by = by;
	f->created_at = created_at;
	f->expires_at = expires_at;
	f->id = flag_add_ok(s, m->n % 2 ? "+15551230001" : "+15551230002", code, by, source,
	                    created_at, expires_at);
	if (m->n > 1)
		ck_assert_int_gt(f->id, m->v[m->n - 2].id);
}

/* Adds NFLAGS flags of every kind and state. */
static void
flags_fill(struct store *s, struct model *m)
{
	struct flag out = {0};
	int i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < NFLAGS; i++) {
		/* created_at does not follow the id: lists are ordered by id alone */
		model_add(s, m, codes[i % 4], sources[(i / 4) % 3], authors[(i * 7) % 5],
		          1000 + (i * 7919) % 400,
		          i % 3 == 0 ? 0 : (i % 3 == 1 ? NOW - 10 + i % 23 : NOW + 100));
		if (i % 5 == 0) {
			m->v[i].revoked = 1;
			ck_assert_int_eq(store_flag_revoke(s, m->v[i].id, "sup-x", "r",
			                                   "supervisor", 1200, &out),
			                 STORE_OK);
		}
	}
	flag_clear(&out);
}

static const struct {
	const char *what;
	struct flag_filter f;
} flag_filters[] = {
    {"no filter", {NULL, NULL, NULL, NULL, 0, 0}},
    {"all", {NULL, NULL, NULL, "all", 0, 0}},
    {"active", {NULL, NULL, NULL, "active", 0, 0}},
    {"expired", {NULL, NULL, NULL, "expired", 0, 0}},
    {"revoked", {NULL, NULL, NULL, "revoked", 0, 0}},
    {"red", {"red", NULL, NULL, NULL, 0, 0}},
    {"active red", {"red", NULL, NULL, "active", 0, 0}},
    {"expired red", {"red", NULL, NULL, "expired", 0, 0}},
    {"agent", {NULL, "agent", NULL, NULL, 0, 0}},
    {"by sup-2", {NULL, NULL, "sup-2", NULL, 0, 0}},
    {"by sup-2 orange active", {"orange", NULL, "sup-2", "active", 0, 0}},
    {"by auto from auto", {NULL, "auto", "auto", "all", 0, 0}},
    {"since 1200", {NULL, NULL, NULL, NULL, 1200, 0}},
    {"until 1100", {NULL, NULL, NULL, NULL, 0, 1100}},
    {"since 1100 until 1200 auto", {NULL, "auto", NULL, NULL, 1100, 1200}},
    {"one instant", {NULL, NULL, NULL, NULL, 1000, 1000}},
    {"unknown code", {"purple", NULL, NULL, NULL, 0, 0}},
    {"unknown author", {NULL, NULL, "nobody", NULL, 0, 0}},
};

/*
 * Pages through filter f on r with page size limit; checks that the pages hold exactly the
 * flags that matched when the walk began, newest first, each once. With grow, the writer w adds
 * a matching flag after each page: it is newer than the walk, so it must not show.
 */
static void
flags_walk(struct store *r, struct store *w, struct model *m, const char *what,
           const struct flag_filter *f, size_t limit, int grow)
{
	struct flag_list page = {0};
	int64_t cursor = 0, next;
	size_t j, pages = 0;
	int i = m->n - 1;
	int want_more;

	for (;;) {
		ck_assert_int_eq(store_flag_list(r, f, NOW, limit, cursor, &page, &next), STORE_OK);
		pages++;
		for (j = 0; j < page.n; j++) {
			while (i >= 0 && !mflag_matches(&m->v[i], f, NOW))
				i--;
			ck_assert_msg(i >= 0, "%s/%zu: extra flag %" PRId64, what, limit,
			              page.v[j].id);
			ck_assert_msg(page.v[j].id == m->v[i].id,
			              "%s/%zu: got %" PRId64 ", want %" PRId64, what, limit,
			              page.v[j].id, m->v[i].id);
			ck_assert_str_eq(page.v[j].code, m->v[i].code);
			ck_assert_str_eq(flag_state(&page.v[j], NOW),
			                 m->v[i].revoked ? "revoked"
			                 : m->v[i].expires_at != 0 && m->v[i].expires_at <= NOW
			                     ? "expired"
			                     : "active");
			i--;
		}
		while (i >= 0 && !mflag_matches(&m->v[i], f, NOW))
			i--;
		want_more = i >= 0;
		if (next == 0) {
			ck_assert_msg(!want_more, "%s/%zu: stopped early at %d", what, limit, i);
			/* an empty page only when nothing matches at all */
			ck_assert_msg(page.n > 0 || pages == 1, "%s/%zu: empty last page", what,
			              limit);
			break;
		}
		ck_assert_uint_eq(page.n, limit);
		ck_assert_int_eq(next, page.v[page.n - 1].id);
		ck_assert_msg(want_more, "%s/%zu: a cursor with nothing after it", what, limit);
		if (grow)
			model_add(w, m, f->code != NULL ? f->code : "red",
			          f->source != NULL ? f->source : "supervisor",
			          f->by != NULL ? f->by : "sup-1", f->since != 0 ? f->since : 1000,
			          0);
		cursor = next;
	}
	flag_list_free(&page);
}

START_TEST(test_flag_list)
{
	static const size_t limits[] = {10, 1, 7, 1000};
	static struct model model;
	struct flag_list page = {0};
	struct flag_filter bad = {NULL, NULL, NULL, "gone", 0, 0};
	struct store *s;
	size_t i, j;
	int64_t next;
	int n, k;

	s = open_ok(":memory:", STORE_WRITER);
	flags_fill(s, &model);
	for (i = 0; i < NELEM(flag_filters); i++) {
		for (n = 0, k = 0; k < model.n; k++)
			n += mflag_matches(&model.v[k], &flag_filters[i].f, NOW);
		/* the filters are meant to select real subsets */
		if (strncmp(flag_filters[i].what, "unknown", 7) != 0)
			ck_assert_msg(n > 0, "%s matches nothing", flag_filters[i].what);
		for (j = 0; j < NELEM(limits); j++)
			flags_walk(s, s, &model, flag_filters[i].what, &flag_filters[i].f,
			           limits[j], 0);
	}
	/* the state is evaluated at the given time */
	ck_assert_int_eq(store_flag_list(s, &flag_filters[3].f, 0, 1000, 0, &page, &next),
	                 STORE_OK);
	ck_assert_uint_eq(page.n, 0);
	ck_assert_int_eq(store_flag_list(s, NULL, NOW, 0, 0, &page, &next), STORE_OK);
	ck_assert_uint_eq(page.n, 0);
	ck_assert_int_eq(next, 0);
	ck_assert_int_eq(store_flag_list(s, NULL, NOW, SIZE_MAX, 0, &page, &next), STORE_OK);
	ck_assert_uint_eq(page.n, NFLAGS);
	ck_assert_int_eq(next, 0);
	/* a cursor past the newest row is the same as the first page; below the oldest, empty */
	ck_assert_int_eq(store_flag_list(s, NULL, NOW, 5, 1000000, &page, &next), STORE_OK);
	ck_assert_int_eq(page.v[0].id, model.v[NFLAGS - 1].id);
	ck_assert_int_eq(store_flag_list(s, NULL, NOW, 5, model.v[0].id, &page, &next), STORE_OK);
	ck_assert_uint_eq(page.n, 0);
	ck_assert_int_eq(next, 0);

	ck_assert_int_eq(store_flag_list(s, &bad, NOW, 10, 0, &page, &next), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(store_errmsg(s), "gone"));
	ck_assert_uint_eq(page.n, 0);
	flag_list_free(&page);
	store_close(s);
}
END_TEST

/* The same walks while the writer commits new flags between pages: on a reader, then itself. */
START_TEST(test_flag_list_growing)
{
	static struct model model;
	const char *path = tmp_path("growing.db");
	struct store *w, *r;
	size_t i;

	w = open_ok(path, STORE_WRITER);
	flags_fill(w, &model);
	r = open_ok(path, STORE_READER);
	for (i = 0; i < NELEM(flag_filters); i++)
		flags_walk(r, w, &model, flag_filters[i].what, &flag_filters[i].f, 10, 1);
	ck_assert_int_gt(model.n, NFLAGS + 50);
	for (i = 0; i < NELEM(flag_filters); i++)
		flags_walk(w, w, &model, flag_filters[i].what, &flag_filters[i].f, 10, 1);
	store_close(r);
	store_close(w);
}
END_TEST

START_TEST(test_followup_list)
{
	static const struct {
		const char *caller;
		int64_t due_at;
		int64_t done_at; /* 0: open */
	} fus[] = {
	    {"+15551230001", 100, 0},   {"+15551230002", 200, 0},
	    {"+15551230001", 300, 150}, {"+15551230003", 400, 0},
	    {"+15551230001", 500, 0},   {"+15551230002", 600, 700},
	    {"+15551230001", 150, 0},   {"", 250, 0},
	    {"+15551230001", 1000, 0},  {"+15551230002", 50, 60},
	    {"+15551230001", 250, 0},   {"+15551230003", 260, 0},
	};
	static const struct {
		const char *state, *caller;
		int64_t now;
		const char *want; /* indexes into fus, newest first, as letters a.. */
	} cases[] = {
	    {"all", NULL, 250, "lkjihgfedcba"},
	    {NULL, NULL, 250, "lkjihgfedcba"},
	    {"open", NULL, 250, "lkihgedba"},
	    {"overdue", NULL, 250, "khgba"},
	    {"overdue", NULL, 0, ""},
	    {"overdue", NULL, 100000, "lkihgedba"},
	    {"done", NULL, 250, "jfc"},
	    {"all", "+15551230001", 250, "kigeca"},
	    {"open", "+15551230001", 250, "kigea"},
	    {"overdue", "+15551230001", 250, "kga"},
	    {"done", "+15551230002", 250, "jf"},
	    {"overdue", "", 250, "h"},
	    {"all", "+15559999999", 250, ""},
	};
	static const size_t limits[] = {3, 1, 100};
	struct followup_list page = {0};
	struct followup out = {0};
	struct store *s;
	int64_t ids[NELEM(fus)], cursor, next;
	size_t i, j, k, got;
	char name[32];

	s = open_ok(":memory:", STORE_WRITER);
	for (i = 0; i < NELEM(fus); i++) {
		snprintf(name, sizeof(name), "task %zu", i);
		ids[i] = followup_add_ok(s, fus[i].caller, NULL, fus[i].due_at, "sup-1", 10, name);
		if (fus[i].done_at != 0)
			ck_assert_int_eq(store_followup_done(s, ids[i], "sup-2", "ok",
			                                     fus[i].done_at, "supervisor", &out),
			                 STORE_OK);
	}
	for (i = 0; i < NELEM(cases); i++) {
		for (k = 0; k < NELEM(limits); k++) {
			cursor = 0;
			got = 0;
			do {
				ck_assert_int_eq(store_followup_list(
				                     s, cases[i].state, cases[i].caller,
				                     cases[i].now, limits[k], cursor, &page, &next),
				                 STORE_OK);
				for (j = 0; j < page.n; j++, got++) {
					ck_assert_msg(got < strlen(cases[i].want),
					              "case %zu: too many", i);
					ck_assert_msg(page.v[j].id == ids[cases[i].want[got] - 'a'],
					              "case %zu limit %zu: row %zu is %" PRId64, i,
					              limits[k], got, page.v[j].id);
					ck_assert_str_eq(followup_state(&page.v[j], cases[i].now),
					                 page.v[j].done_at
					                     ? "done"
					                     : (page.v[j].due_at <= cases[i].now
					                            ? "overdue"
					                            : "open"));
				}
				if (next != 0)
					ck_assert_uint_eq(page.n, limits[k]);
				cursor = next;
			} while (next != 0);
			ck_assert_msg(got == strlen(cases[i].want), "case %zu: %zu rows", i, got);
		}
	}
	ck_assert_int_eq(store_followup_list(s, "late", NULL, 0, 10, 0, &page, &next), STORE_ERROR);
	ck_assert_uint_eq(page.n, 0);
	followup_clear(&out);
	followup_list_free(&page);
	store_close(s);
}
END_TEST

START_TEST(test_audit_list)
{
	/* audit rows written through store_audit_add: ids 1.. in this order */
	static const struct {
		int64_t ts;
		const char *actor, *subject;
	} rows[] = {
	    {100, "sup-1", "+15551230001"}, {110, "sup-2", "+15551230001"},
	    {105, "sup-1", "+15551230002"}, {120, "agent-3", "+15551230001"},
	    {130, "sup-1", "+15551230001"}, {130, "sup-2", "+15551230002"},
	    {140, "ops-1", "policy"},       {150, "sup-1", "+15551230001"},
	    {160, "sup-1", "+15551230003"}, {170, "sup-2", "+15551230001"},
	    {90, "sup-1", "+15551230001"},
	};
	static const struct {
		const char *subject, *actor;
		int64_t since, until;
		const char *want; /* row letters, newest first */
	} cases[] = {
	    {NULL, NULL, 0, 0, "kjihgfedcba"}, {"+15551230001", NULL, 0, 0, "kjhedba"},
	    {NULL, "sup-1", 0, 0, "kiheca"},   {"+15551230001", "sup-1", 0, 0, "khea"},
	    {NULL, NULL, 110, 0, "jihgfedb"},  {NULL, NULL, 0, 110, "kcba"},
	    {NULL, NULL, 105, 130, "fedcb"},   {"+15551230001", NULL, 100, 150, "hedba"},
	    {NULL, "sup-2", 130, 130, "f"},    {"+15551230001", "nobody", 0, 0, ""},
	    {"nobody", NULL, 0, 0, ""},        {NULL, NULL, 1000, 0, ""},
	};
	static const size_t limits[] = {4, 1, 100};
	struct audit_rows page = {0};
	struct store *s;
	int64_t cursor, next;
	size_t i, j, k, got;
	char detail[64];

	s = open_ok(":memory:", STORE_WRITER);
	for (i = 0; i < NELEM(rows); i++) {
		snprintf(detail, sizeof(detail), "{\"n\": %zu}", i);
		ck_assert_int_eq(store_audit_add(s, rows[i].ts, rows[i].actor, "ops", "test.row",
		                                 rows[i].subject, detail),
		                 STORE_OK);
	}
	for (i = 0; i < NELEM(cases); i++) {
		for (k = 0; k < NELEM(limits); k++) {
			cursor = 0;
			got = 0;
			do {
				ck_assert_int_eq(store_audit_list(s, cases[i].subject,
				                                  cases[i].actor, cases[i].since,
				                                  cases[i].until, limits[k], cursor,
				                                  &page, &next),
				                 STORE_OK);
				for (j = 0; j < page.n; j++, got++) {
					size_t want;

					ck_assert_msg(got < strlen(cases[i].want),
					              "case %zu: too many", i);
					want = (size_t)(cases[i].want[got] - 'a');
					ck_assert_msg(page.v[j].id == (int64_t)want + 1,
					              "case %zu limit %zu: row %zu is %" PRId64, i,
					              limits[k], got, page.v[j].id);
					ck_assert_int_eq(page.v[j].ts, rows[want].ts);
					ck_assert_str_eq(page.v[j].actor, rows[want].actor);
					ck_assert_str_eq(page.v[j].subject, rows[want].subject);
					ck_assert_str_eq(page.v[j].role, "ops");
					ck_assert_str_eq(page.v[j].action, "test.row");
					snprintf(detail, sizeof(detail), "{\"n\": %zu}", want);
					ck_assert_str_eq(page.v[j].detail, detail);
				}
				if (next != 0)
					ck_assert_uint_eq(page.n, limits[k]);
				cursor = next;
			} while (next != 0);
			ck_assert_msg(got == strlen(cases[i].want), "case %zu: %zu rows", i, got);
		}
	}
	store_audit_rows_free(&page);
	store_close(s);
}
END_TEST

START_TEST(test_audit_add_bad_detail)
{
	static const struct {
		const char *detail;
		enum store_status want;
	} cases[] = {
	    {"{\"reason\": \"policy reloaded\", \"version\": \"v2\"}", STORE_OK},
	    {NULL, STORE_OK}, /* {} */
	    {"{}", STORE_OK},
	    {"", STORE_ERROR},
	    {"[1, 2]", STORE_ERROR},
	    {"\"text\"", STORE_ERROR},
	    {"not json", STORE_ERROR},
	    {"{\"a\": 1", STORE_ERROR},
	    {"{\n\"a\": 1}", STORE_ERROR}, /* valid, but would break a reply line */
	    {"{\"a\": 1}\r", STORE_ERROR},
	};
	struct audit_rows audit = {0};
	struct store *s;
	size_t i, nok = 0;

	s = open_ok(":memory:", STORE_WRITER);
	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_msg(store_audit_add(s, 10, "ops-1", "ops", "policy.reload", "policy",
		                              cases[i].detail) == cases[i].want,
		              "case %zu", i);
		nok += cases[i].want == STORE_OK;
		audit_all(s, &audit);
		ck_assert_uint_eq(audit.n, nok);
	}
	ck_assert_str_eq(audit.v[1].detail, "{}");
	ck_assert_str_eq(audit.v[2].action, "policy.reload");
	/* inside a batch a failed audit row leaves the others */
	ck_assert_int_eq(store_begin(s), STORE_OK);
	ck_assert_int_eq(store_audit_add(s, 11, "a", "ops", "x", "s", "{}"), STORE_OK);
	ck_assert_int_eq(store_audit_add(s, 12, "a", "ops", "x", "s", "[]"), STORE_ERROR);
	ck_assert_int_eq(store_audit_add(s, 13, "a", "ops", "x", NULL, "{}"), STORE_ERROR);
	ck_assert_int_eq(store_commit(s), STORE_OK);
	audit_all(s, &audit);
	ck_assert_uint_eq(audit.n, nok + 1);
	store_audit_rows_free(&audit);
	store_close(s);
}
END_TEST

/* No op changes or removes an audit row, and the database refuses to. */
START_TEST(test_audit_immutable)
{
	static const struct report_in rep = {
	    "c-1", "+15551230001", "red", "agent-1", "threat", 100, 0, 500, NULL};
	const char *path = tmp_path("immutable.db");
	struct audit_rows before = {0}, after = {0};
	struct flag flag = {0};
	struct followup fu = {0};
	struct store *s;
	sqlite3 *db;
	size_t i;
	int dup;

	s = open_ok(path, STORE_WRITER);
	ck_assert_int_eq(store_report_add(s, &rep, "telephony", &flag, &fu, &dup), STORE_OK);
	audit_all(s, &before);
	ck_assert_uint_eq(before.n, 3);
	ck_assert_int_eq(store_flag_revoke(s, flag.id, "sup-1", "r", "supervisor", 200, &flag),
	                 STORE_OK);
	ck_assert_int_eq(store_followup_done(s, fu.id, "sup-1", "done", 300, "supervisor", &fu),
	                 STORE_OK);
	ck_assert_int_eq(store_report_add(s, &rep, "telephony", &flag, &fu, &dup), STORE_OK);
	audit_all(s, &after);
	ck_assert_uint_eq(after.n, 5);
	for (i = 0; i < before.n; i++) {
		const struct audit_row *a = &before.v[i], *b = &after.v[i + 2];

		ck_assert_int_eq(a->id, b->id);
		ck_assert_int_eq(a->ts, b->ts);
		ck_assert_str_eq(a->actor, b->actor);
		ck_assert_str_eq(a->role, b->role);
		ck_assert_str_eq(a->action, b->action);
		ck_assert_str_eq(a->subject, b->subject);
		ck_assert_str_eq(a->detail, b->detail);
	}
	ck_assert_str_eq(after.v[0].action, "followup.done");
	ck_assert_str_eq(after.v[1].action, "flag.revoke");

	db = NULL;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 1000);
	ck_assert_int_ne(sqlite3_exec(db, "UPDATE audit SET detail = '{}'", NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_ptr_nonnull(strstr(sqlite3_errmsg(db), "immutable"));
	ck_assert_int_ne(sqlite3_exec(db, "DELETE FROM audit WHERE id = 1", NULL, NULL, NULL),
	                 SQLITE_OK);
	/* the schema keeps one report per call and code, and done fields complete */
	ck_assert_int_ne(sqlite3_exec(db,
	                              "INSERT INTO reports (call_id, caller, code, agent, ts) "
	                              "VALUES ('c-1', '', 'red', 'x', 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_ne(sqlite3_exec(db, "UPDATE followups SET done_by = NULL", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);

	flag_clear(&flag);
	followup_clear(&fu);
	store_audit_rows_free(&before);
	store_audit_rows_free(&after);
	store_close(s);
}
END_TEST

START_TEST(test_followup_json)
{
	struct followup fu;
	struct jbuf jb;
	cJSON *j;

	jb_init(&jb);
	memset(&fu, 0, sizeof(fu));
	fu.id = 7;
	snprintf(fu.caller, sizeof(fu.caller), "+15551230001");
	fu.due_at = 5000;
	fu.created_by = (char *)"sup \"1\"";
	fu.created_at = 1000;
	fu.note = (char *)"call\nback";
	jb_arr_begin(&jb);
	followup_write_json(&jb, &fu);
	fu.call_id = (char *)"c-1";
	fu.done_at = 6000;
	fu.done_by = (char *)"sup-2";
	fu.done_note = (char *)"ok";
	followup_write_json(&jb, &fu);
	fu.caller[0] = '\0';
	followup_write_json(&jb, &fu);
	jb_arr_end(&jb);
	ck_assert(!jb.oom);
	ck_assert_ptr_null(strchr(jb.data, '\n'));
	j = parse_ok(jb.data);
	ck_assert_int_eq(cJSON_GetArraySize(j), 3);
	{
		const cJSON *a = cJSON_GetArrayItem(j, 0), *b = cJSON_GetArrayItem(j, 1);

		ck_assert_int_eq(json_int(a, "id"), 7);
		ck_assert_str_eq(json_str(a, "caller"), "+15551230001");
		ck_assert_ptr_null(json_str(a, "call_id"));
		ck_assert_int_eq(json_int(a, "due_at"), 5000);
		ck_assert_str_eq(json_str(a, "created_by"), "sup \"1\"");
		ck_assert_int_eq(json_int(a, "created_at"), 1000);
		ck_assert_str_eq(json_str(a, "note"), "call\nback");
		ck_assert_int_eq(json_int(a, "done_at"), -1);
		ck_assert_ptr_null(json_str(a, "done_by"));
		ck_assert_ptr_null(json_str(a, "done_note"));
		ck_assert_str_eq(json_str(b, "call_id"), "c-1");
		ck_assert_int_eq(json_int(b, "done_at"), 6000);
		ck_assert_str_eq(json_str(b, "done_by"), "sup-2");
		ck_assert_str_eq(json_str(b, "done_note"), "ok");
		ck_assert_ptr_null(json_str(cJSON_GetArrayItem(j, 2), "caller"));
	}
	cJSON_Delete(j);

	memset(&fu, 0, sizeof(fu));
	fu.due_at = 100;
	ck_assert_str_eq(followup_state(&fu, 99), "open");
	ck_assert_str_eq(followup_state(&fu, 100), "overdue");
	fu.done_at = 50;
	ck_assert_str_eq(followup_state(&fu, 100), "done");
	jb_free(&jb);
}
END_TEST

START_TEST(test_report_audit_json)
{
	struct report r;
	struct audit_row a;
	struct jbuf jb;
	cJSON *j, *d;

	jb_init(&jb);
	memset(&r, 0, sizeof(r));
	r.id = 3;
	r.call_id = (char *)"c-1";
	snprintf(r.caller, sizeof(r.caller), "+15551230001");
	r.code = (char *)"red";
	r.agent = (char *)"agent-1";
	r.ts = 100;
	r.flag_id = 9;
	store_report_write_json(&jb, &r);
	j = parse_ok(jb.data);
	ck_assert_int_eq(json_int(j, "id"), 3);
	ck_assert_str_eq(json_str(j, "call_id"), "c-1");
	ck_assert_str_eq(json_str(j, "caller"), "+15551230001");
	ck_assert_str_eq(json_str(j, "code"), "red");
	ck_assert_str_eq(json_str(j, "agent"), "agent-1");
	ck_assert_ptr_null(json_str(j, "note"));
	ck_assert_int_eq(json_int(j, "ts"), 100);
	ck_assert_int_eq(json_int(j, "flag_id"), 9);
	ck_assert_int_eq(json_int(j, "followup_id"), -1);
	cJSON_Delete(j);

	/* withheld: no caller, no flag */
	r.caller[0] = '\0';
	r.flag_id = 0;
	r.followup_id = 4;
	r.note = (char *)"x";
	jb_reset(&jb);
	store_report_write_json(&jb, &r);
	j = parse_ok(jb.data);
	ck_assert_ptr_null(json_str(j, "caller"));
	ck_assert_int_eq(json_int(j, "flag_id"), -1);
	ck_assert_int_eq(json_int(j, "followup_id"), 4);
	ck_assert_str_eq(json_str(j, "note"), "x");
	cJSON_Delete(j);

	memset(&a, 0, sizeof(a));
	a.id = 12;
	a.ts = 1000;
	a.actor = (char *)"sup-1";
	a.role = (char *)"supervisor";
	a.action = (char *)"flag.add";
	a.subject = (char *)"+15551230001";
	a.detail = (char *)"{\"flag_id\": 4,\r\n \"reason\": \"a\\nb\"}";
	jb_reset(&jb);
	store_audit_write_json(&jb, &a);
	ck_assert(!jb.oom);
	ck_assert_ptr_null(strpbrk(jb.data, "\r\n"));
	j = parse_ok(jb.data);
	ck_assert_int_eq(json_int(j, "id"), 12);
	ck_assert_int_eq(json_int(j, "ts"), 1000);
	ck_assert_str_eq(json_str(j, "actor"), "sup-1");
	ck_assert_str_eq(json_str(j, "role"), "supervisor");
	ck_assert_str_eq(json_str(j, "action"), "flag.add");
	ck_assert_str_eq(json_str(j, "subject"), "+15551230001");
	d = cJSON_GetObjectItemCaseSensitive(j, "detail");
	ck_assert(cJSON_IsObject(d));
	ck_assert_int_eq(json_int(d, "flag_id"), 4);
	ck_assert_str_eq(json_str(d, "reason"), "a\nb");
	cJSON_Delete(j);

	a.detail = NULL;
	jb_reset(&jb);
	store_audit_write_json(&jb, &a);
	j = parse_ok(jb.data);
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "detail")));
	cJSON_Delete(j);
	jb_free(&jb);
}
END_TEST

static Suite *
store_reports_suite(void)
{
	Suite *s = suite_create("store_reports");
	TCase *mem = tcase_create("memory");
	TCase *file = tcase_create("file");
	TCase *json = tcase_create("json");

	tcase_add_test(mem, test_report_add);
	tcase_add_test(mem, test_report_atomic);
	tcase_add_test(mem, test_followup_done);
	tcase_add_test(mem, test_flag_list);
	tcase_add_test(mem, test_followup_list);
	tcase_add_test(mem, test_audit_list);
	tcase_add_test(mem, test_audit_add_bad_detail);
	suite_add_tcase(s, mem);

	tcase_add_unchecked_fixture(file, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(file, test_report_restart);
	tcase_add_test(file, test_flag_list_growing);
	tcase_add_test(file, test_audit_immutable);
	suite_add_tcase(s, file);

	tcase_add_test(json, test_followup_json);
	tcase_add_test(json, test_report_audit_json);
	suite_add_tcase(s, json);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_reports_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
