/*
 * Unit tests for the routing decision and the mid-call report instruction, against the shipped
 * sample policy and small inline ones.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

#define SAMPLE CW_SOURCE_DIR "/config/policy.conf"

#define DAY      86400
#define TS       1795392000 /* 2026-11-23 00:00:00 UTC */
#define NOV20    1795185000 /* 2026-11-20 14:30:00 UTC */
#define NEVER    0
#define AT_TS    INT64_MIN /* expires exactly at the call's ts */
#define MAXFLAGS 8

#define F(c, a, e)                                                                                 \
	{                                                                                          \
		.code = (c), .age = (a), .expires = (e)                                            \
	}
#define FR(c, a, e)                                                                                \
	{                                                                                          \
		.code = (c), .age = (a), .expires = (e), .revoked = 1                              \
	}
#define FB(c, a, e, b, r)                                                                          \
	{                                                                                          \
		.code = (c), .age = (a), .expires = (e), .by = (b), .reason = (r)                  \
	}

/* A flag relative to TS: created age seconds before it; expires in seconds after it. */
struct fspec {
	const char *code;
	int64_t age;
	int64_t expires; /* NEVER, AT_TS, or seconds after TS (negative: expired) */
	int revoked;
	const char *by;
	const char *reason;
};

struct rcase {
	const char *what;
	const char *caller; /* NULL: withheld */
	const char *dialed;
	struct fspec flags[MAXFLAGS];         /* ends at the first NULL code */
	const struct nuisance_view *nuisance; /* NULL: no counters */
	const char *queue;
	const char *rule;
	int action;
	int priority;
	int record;
	int alert;
	const char *announce; /* compared only when the case sets it, or want_no_announce */
	int max_wait_s;       /* 0: not compared */
	const char *reason;   /* NULL: not compared */
	size_t active;
	double score; /* < 0: not compared */
};

static struct policy *pol;
static struct flag flagbuf[MAXFLAGS];

static size_t
build_flags(const struct fspec *fs)
{
	size_t n;

	for (n = 0; n < MAXFLAGS && fs[n].code != NULL; n++) {
		struct flag *f = &flagbuf[n];

		memset(f, 0, sizeof(*f));
		f->id = (int64_t)n + 1;
		strcpy(f->caller, "+15551234567");
		f->code = (char *)fs[n].code;
		f->reason = (char *)(fs[n].reason ? fs[n].reason : "test");
		f->created_by = (char *)(fs[n].by ? fs[n].by : "sup-1");
		f->source = (char *)"supervisor";
		f->created_at = TS - fs[n].age;
		if (fs[n].expires == AT_TS)
			f->expires_at = TS;
		else if (fs[n].expires != NEVER)
			f->expires_at = TS + fs[n].expires;
		if (fs[n].revoked)
			f->revoked_at = TS - 1;
	}
	return n;
}

/*
 * The daemon decides on brief flags (no author, reason or source), reads the quoted ones in
 * full and decides again: that must give the decision the full flags give, and the first
 * pass must already pick the same rule and quote the same flags.
 */
static void
check_brief_then_quoted(const struct policy *p, const struct route_input *full,
                        const struct decision *want, const char *what)
{
	struct flag brief[MAXFLAGS];
	struct route_input in = *full;
	struct decision d;
	size_t i, k;

	for (i = 0; i < full->nflags; i++) {
		brief[i] = full->flags[i];
		brief[i].reason = brief[i].created_by = brief[i].source = NULL;
	}
	in.flags = brief;
	route_decide(p, &in, &d);
	ck_assert_msg(d.queue == want->queue && strcmp(d.rule, want->rule) == 0 &&
	                  d.action == want->action && d.priority == want->priority,
	              "%s: brief flags decide otherwise (%s)", what, d.rule);
	ck_assert_msg(d.nquoted == want->nquoted, "%s: brief flags quote %zu, full %zu", what,
	              d.nquoted, want->nquoted);
	for (i = 0; i < d.nquoted; i++) {
		ck_assert_msg(d.quoted[i] == want->quoted[i], "%s: quote %zu differs", what, i);
		for (k = 0; k < full->nflags; k++)
			if (brief[k].id == d.quoted[i])
				brief[k] = full->flags[k];
	}
	route_decide(p, &in, &d);
	ck_assert_msg(strcmp(d.reason, want->reason) == 0, "%s: after reading the quoted: '%s'",
	              what, d.reason);
}

static void
run_case(const struct policy *p, const struct rcase *c)
{
	struct route_input in;
	struct decision d;

	memset(&d, 0x5a, sizeof(d)); /* every field must be set by route_decide */
	in.caller = c->caller;
	in.dialed = c->dialed;
	in.ts = TS;
	in.nflags = build_flags(c->flags);
	in.flags = flagbuf;
	in.nuisance = c->nuisance;
	route_decide(p, &in, &d);

	ck_assert_msg(strcmp(d.queue->name, c->queue) == 0, "%s: queue %s", c->what, d.queue->name);
	ck_assert_msg(strcmp(d.rule, c->rule) == 0, "%s: rule %s", c->what, d.rule);
	ck_assert_msg((int)d.action == c->action, "%s: action", c->what);
	ck_assert_msg(d.priority == c->priority, "%s: priority %d", c->what, d.priority);
	ck_assert_msg(d.record == c->record, "%s: record %d", c->what, d.record);
	ck_assert_msg(d.alert == c->alert, "%s: alert %d", c->what, d.alert);
	if (c->announce != NULL)
		ck_assert_msg(d.announce != NULL && strcmp(d.announce, c->announce) == 0,
		              "%s: announce", c->what);
	if (c->max_wait_s != 0)
		ck_assert_msg(d.max_wait_s == c->max_wait_s, "%s: max_wait_s %d", c->what,
		              d.max_wait_s);
	if (c->reason != NULL)
		ck_assert_msg(strcmp(d.reason, c->reason) == 0, "%s: reason '%s'", c->what,
		              d.reason);
	ck_assert_msg(d.active_flags == c->active, "%s: active %zu", c->what, d.active_flags);
	if (c->score >= 0)
		ck_assert_msg(fabs(d.score - c->score) < 0.005, "%s: score %f", c->what, d.score);
	ck_assert_ptr_eq(d.policy, p);
	ck_assert_int_eq(d.degraded, 0);
	ck_assert_uint_le(d.nquoted, 2);
	for (size_t i = 0; i < d.nquoted; i++) {
		const struct flag *f = NULL;

		for (size_t k = 0; k < in.nflags; k++)
			if (flagbuf[k].id == d.quoted[i])
				f = &flagbuf[k];
		ck_assert_msg(f != NULL, "%s: quotes unknown flag %lld", c->what,
		              (long long)d.quoted[i]);
		ck_assert_msg(strstr(d.reason, f->reason) != NULL,
		              "%s: quoted flag's reason missing", c->what);
	}
	if (c->reason != NULL && strstr(c->reason, " flag, ") != NULL)
		ck_assert_msg(d.nquoted > 0, "%s: quotes a flag but names none", c->what);
	check_brief_then_quoted(p, &in, &d, c->what);
}

#define Q DECISION_QUEUE
#define R DECISION_REJECT

/* Counters as the nuisance module reports them for the sample's thresholds. */
static const struct nuisance_view v_quiet = {.repeat = 1, .since_last_end = 4000};
static const struct nuisance_view v_fifth = {.repeat = 4, .since_last_end = 100};
static const struct nuisance_view v_sixth = {.repeat = 5, .since_last_end = 100, .repeat_fired = 1};
static const struct nuisance_view v_short = {
    .repeat = 3, .shorts = 3, .since_last_end = 30, .short_fired = 1};
static const struct nuisance_view v_two_short = {.repeat = 2, .shorts = 2, .since_last_end = 30};
static const struct nuisance_view v_redial = {.repeat = 1, .since_last_end = 12, .redial_fired = 1};
static const struct nuisance_view v_repeat_redial = {
    .repeat = 7, .since_last_end = 5, .repeat_fired = 1, .redial_fired = 1};
static const struct nuisance_view v_all = {.repeat = 7,
                                           .shorts = 4,
                                           .since_last_end = 3,
                                           .repeat_fired = 1,
                                           .short_fired = 1,
                                           .redial_fired = 1};
static const struct nuisance_view v_saturated = {
    .repeat = NUISANCE_RING_MAX, .since_last_end = 2, .repeat_fired = 1};

/* The shipped sample: the behaviour the acceptance tests rely on. */
static const struct rcase sample_cases[] = {
    {.what = "unknown caller: default",
     .caller = "+15551234567",
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .reason = "no rule matched",
     .score = 0},
    {.what = "red: supervisor, record, alert, exact reason",
     .caller = "+15551234567",
     .flags = {FB("red", TS - NOV20, NEVER, "sup-17", "threatened agent")},
     .queue = "supervisor",
     .rule = "threat",
     .priority = 10,
     .record = 1,
     .alert = 1,
     .max_wait_s = 300,
     .reason = "code red flag, 2026-11-20, by sup-17: threatened agent",
     .active = 1,
     .score = -1},
    {.what = "yellow: supervisor, record",
     .caller = "+15551234567",
     .flags = {F("yellow", DAY, 180 * DAY)},
     .queue = "supervisor",
     .rule = "abuse",
     .priority = 10,
     .record = 1,
     .alert = -1,
     .active = 1,
     .score = -1},
    {.what = "nuisance: long-hold with announce",
     .caller = "+15551234567",
     .flags = {F("nuisance", DAY, 29 * DAY)},
     .queue = "long-hold",
     .rule = "nuisance",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .announce = "recordings/long-hold-notice",
     .max_wait_s = 3600,
     .active = 1,
     .score = -1},
    {.what = "one orange: default",
     .caller = "+15551234567",
     .flags = {F("orange", 0, 90 * DAY)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 1,
     .score = 1.0},
    {.what = "two oranges: default",
     .caller = "+15551234567",
     .flags = {F("orange", 0, 90 * DAY), F("orange", 0, 90 * DAY)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 2,
     .score = 2.0},
    {.what = "three oranges: supervisor through the score",
     .caller = "+15551234567",
     .flags = {F("orange", 0, 90 * DAY), F("orange", 0, 90 * DAY), F("orange", 0, 90 * DAY)},
     .queue = "supervisor",
     .rule = "score",
     .priority = 10,
     .record = 1,
     .alert = -1,
     .reason = "abuse score 3.00 >= 2.50 from 3 active flags",
     .active = 3,
     .score = 3.0},
    {.what = "three oranges two weeks old still reach the score",
     .caller = "+15551234567",
     .flags = {F("orange", 14 * DAY, 76 * DAY), F("orange", 14 * DAY, 76 * DAY),
               F("orange", 14 * DAY, 76 * DAY)},
     .queue = "supervisor",
     .rule = "score",
     .priority = 10,
     .record = 1,
     .alert = -1,
     .active = 3,
     .score = 2.69},
    {.what = "decay: three oranges 60 days old fall below the score",
     .caller = "+15551234567",
     .flags = {F("orange", 60 * DAY, 30 * DAY), F("orange", 60 * DAY, 30 * DAY),
               F("orange", 60 * DAY, 30 * DAY)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 3,
     .score = 1.89},
    {.what = "expired orange is not counted",
     .caller = "+15551234567",
     .flags = {F("orange", 0, 90 * DAY), F("orange", 0, 90 * DAY), F("orange", 91 * DAY, -DAY)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 2,
     .score = 2.0},
    {.what = "expires_at == ts counts as expired",
     .caller = "+15551234567",
     .flags = {F("red", DAY, AT_TS)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 0,
     .score = 0},
    {.what = "expires_at == ts + 1 is still active",
     .caller = "+15551234567",
     .flags = {F("red", DAY, 1)},
     .queue = "supervisor",
     .rule = "threat",
     .priority = 10,
     .record = 1,
     .alert = 1,
     .active = 1,
     .score = -1},
    {.what = "revoked red is not counted",
     .caller = "+15551234567",
     .flags = {FR("red", DAY, NEVER)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 0,
     .score = 0},
    {.what = "unknown codes are ignored",
     .caller = "+15551234567",
     .flags = {F("purple", 0, NEVER), F("purple", 0, NEVER), F("purple", 0, NEVER)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 0,
     .score = 0},
    {.what = "withheld caller: standard, rule withheld",
     .caller = NULL,
     .queue = "standard",
     .rule = "withheld",
     .record = -1,
     .alert = -1,
     .reason = "caller withheld",
     .score = 0},
    {.what = "allowlist wins over red",
     .caller = "+1911",
     .flags = {F("red", 0, NEVER)},
     .queue = "standard",
     .rule = "allowlist",
     .record = -1,
     .alert = -1,
     .reason = "caller on allowlist",
     .active = 1,
     .score = 10.0},
    {.what = "allowlist prefix wins over yellow",
     .caller = "+19995550123",
     .flags = {F("yellow", 0, NEVER)},
     .queue = "standard",
     .rule = "allowlist",
     .record = -1,
     .alert = -1,
     .active = 1,
     .score = 3.0},
    {.what = "most severe flag is described",
     .caller = "+15551234567",
     .flags = {FB("yellow", DAY, NEVER, "a", "older yellow"),
               FB("red", 3 * DAY, NEVER, "b", "threat"), FB("nuisance", 0, NEVER, "c", "newest")},
     .queue = "supervisor",
     .rule = "threat",
     .priority = 10,
     .record = 1,
     .alert = 1,
     .reason = "code red flag, 2026-11-20, by b: threat",
     .active = 3,
     .score = -1},
    {.what = "newest of equally severe flags is described",
     .caller = "+15551234567",
     .flags = {FB("yellow", 10 * DAY, NEVER, "old", "first"),
               FB("yellow", DAY, NEVER, "new", "second"),
               FB("yellow", 5 * DAY, NEVER, "mid", "third")},
     .queue = "supervisor",
     .rule = "abuse",
     .priority = 10,
     .record = 1,
     .alert = -1,
     .reason = "code yellow flag, 2026-11-22, by new: second",
     .active = 3,
     .score = -1},
    {.what = "red before nuisance",
     .caller = "+15551234567",
     .flags = {F("nuisance", 0, NEVER), F("red", 0, NEVER)},
     .queue = "supervisor",
     .rule = "threat",
     .priority = 10,
     .record = 1,
     .alert = 1,
     .active = 2,
     .score = -1},
    {.what = "nuisance and two oranges stay below the score",
     .caller = "+15551234567",
     .flags = {F("nuisance", 0, NEVER), F("nuisance", 0, NEVER), F("nuisance", 0, NEVER),
               F("orange", 0, NEVER), F("orange", 0, NEVER)},
     .queue = "long-hold",
     .rule = "nuisance",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .active = 5,
     .score = 2.3},
    {.what = "sixth call in ten minutes: long-hold, the reason names the pattern",
     .caller = "+15551234567",
     .nuisance = &v_sixth,
     .queue = "long-hold",
     .rule = "nuisance-pattern",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .announce = "recordings/long-hold-notice",
     .max_wait_s = 3600,
     .reason = "repeat calls: 5 earlier calls within 600 s",
     .score = 0},
    {.what = "fifth call in ten minutes: not yet",
     .caller = "+15551234567",
     .nuisance = &v_fifth,
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .reason = "no rule matched",
     .score = 0},
    {.what = "quiet counters: default",
     .caller = "+15551234567",
     .nuisance = &v_quiet,
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .score = 0},
    {.what = "three short calls in an hour: long-hold",
     .caller = "+15551234567",
     .nuisance = &v_short,
     .queue = "long-hold",
     .rule = "nuisance-pattern",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .max_wait_s = 3600,
     .reason = "short calls: 3 calls under 10 s within 3600 s",
     .score = 0},
    {.what = "two short calls: not yet",
     .caller = "+15551234567",
     .nuisance = &v_two_short,
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .score = 0},
    {.what = "rapid redial alone: no sample rule uses it",
     .caller = "+15551234567",
     .nuisance = &v_redial,
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .reason = "no rule matched",
     .score = 0},
    {.what = "repeat and redial: only the rule's pattern is named",
     .caller = "+15551234567",
     .nuisance = &v_repeat_redial,
     .queue = "long-hold",
     .rule = "nuisance-pattern",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .reason = "repeat calls: 7 earlier calls within 600 s",
     .score = 0},
    {.what = "repeat and short: both named",
     .caller = "+15551234567",
     .nuisance = &v_all,
     .queue = "long-hold",
     .rule = "nuisance-pattern",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .reason = "repeat calls: 7 earlier calls within 600 s; short calls: 4 calls under 10 s "
               "within 3600 s",
     .score = 0},
    {.what = "saturated count says so",
     .caller = "+15551234567",
     .nuisance = &v_saturated,
     .queue = "long-hold",
     .rule = "nuisance-pattern",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .reason = "repeat calls: 16 or more earlier calls within 600 s",
     .score = 0},
    {.what = "red flag wins over repeat calls",
     .caller = "+15551234567",
     .flags = {FB("red", TS - NOV20, NEVER, "sup-17", "threatened agent")},
     .nuisance = &v_sixth,
     .queue = "supervisor",
     .rule = "threat",
     .priority = 10,
     .record = 1,
     .alert = 1,
     .reason = "code red flag, 2026-11-20, by sup-17: threatened agent",
     .active = 1,
     .score = -1},
    {.what = "yellow flag wins over short calls",
     .caller = "+15551234567",
     .flags = {F("yellow", DAY, NEVER)},
     .nuisance = &v_short,
     .queue = "supervisor",
     .rule = "abuse",
     .priority = 10,
     .record = 1,
     .alert = -1,
     .active = 1,
     .score = -1},
    {.what = "score wins over repeat calls",
     .caller = "+15551234567",
     .flags = {F("orange", 0, NEVER), F("orange", 0, NEVER), F("orange", 0, NEVER)},
     .nuisance = &v_sixth,
     .queue = "supervisor",
     .rule = "score",
     .priority = 10,
     .record = 1,
     .alert = -1,
     .active = 3,
     .score = 3.0},
    {.what = "a nuisance flag is named before the pattern",
     .caller = "+15551234567",
     .flags = {FB("nuisance", DAY, 6 * DAY, "callwarden", "automatic: repeat calls")},
     .nuisance = &v_sixth,
     .queue = "long-hold",
     .rule = "nuisance",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .reason = "code nuisance flag, 2026-11-22, by callwarden: automatic: repeat calls",
     .active = 1,
     .score = -1},
    {.what = "withheld caller with repeat calls on the dialled number: long-hold",
     .caller = NULL,
     .dialed = "+18005550100",
     .nuisance = &v_sixth,
     .queue = "long-hold",
     .rule = "nuisance-pattern",
     .priority = -10,
     .record = -1,
     .alert = -1,
     .reason = "repeat calls: 5 earlier calls within 600 s",
     .score = 0},
    {.what = "withheld caller with quiet counters: withheld",
     .caller = NULL,
     .nuisance = &v_fifth,
     .queue = "standard",
     .rule = "withheld",
     .record = -1,
     .alert = -1,
     .score = 0},
    {.what = "allowlist wins over repeat calls",
     .caller = "+1911",
     .nuisance = &v_all,
     .queue = "standard",
     .rule = "allowlist",
     .record = -1,
     .alert = -1,
     .reason = "caller on allowlist",
     .score = 0},
    {.what = "flag dated after the call counts fully",
     .caller = "+15551234567",
     .flags = {F("orange", -DAY, NEVER)},
     .queue = "standard",
     .rule = "default",
     .record = -1,
     .alert = -1,
     .active = 1,
     .score = 1.0},
};

static void
sample_setup(void)
{
	char *err = NULL;

	pol = policy_load(SAMPLE, "1", &err);
	ck_assert_msg(pol != NULL, "%s", err ? err : "");
}

static void
policy_teardown(void)
{
	policy_unref(pol);
	pol = NULL;
}

START_TEST(test_sample)
{
	run_case(pol, &sample_cases[_i]);
}
END_TEST

static const char inline_policy[] =
    "version = \"inline-1\";\n"
    "score = { half_life_days = 10; };\n"
    "queues = (\n"
    "  { name = \"main\"; target = \"sip:main\"; priority = 5; default = true; },\n"
    "  { name = \"vip\"; target = \"sip:vip\"; priority = 50; max_wait_s = 30;"
    " announce = \"vip-greeting\"; }\n"
    ");\n"
    "codes = (\n"
    "  { name = \"low\"; weight = 1.0; expires_days = 10; },\n"
    "  { name = \"high\"; weight = 5.0; expires_days = \"never\"; }\n"
    ");\n"
    "allowlist = [ \"+4420*\" ];\n"
    "rules = (\n"
    "  { name = \"closed\"; when = { dialed = [ \"+18005550199\" ]; };"
    " reject = \"line closed\"; },\n"
    "  { name = \"premium\"; when = { dialed = [ \"+1900*\" ]; flag = \"low\"; };"
    " reject = \"premium lines are closed to flagged callers\"; priority = 99; },\n"
    "  { name = \"hi\"; when = { flag_at_least = \"high\"; withheld = false; }; queue = \"vip\";"
    " priority = 100; record = false; reason = \"high flag\"; max_wait_s = 10;"
    " announce = \"x\"; },\n"
    "  { name = \"combo\"; when = { flag = \"low\"; score_at_least = 1.5; }; queue = \"vip\"; },\n"
    "  { name = \"catch-dialed\"; when = { dialed = [ \"+1555*\" ]; }; queue = \"vip\"; },\n"
    "  { name = \"rest\"; queue = \"main\"; alert = true; }\n"
    ");\n";

static const struct rcase inline_cases[] = {
    {.what = "dialed exact: reject with the default queue",
     .caller = "+15551234567",
     .dialed = "+18005550199",
     .queue = "main",
     .rule = "closed",
     .action = R,
     .priority = 5,
     .record = -1,
     .alert = -1,
     .reason = "line closed (dialled +18005550199)",
     .score = 0},
    {.what = "dialed prefix and flag: reject with priority override",
     .caller = "+15551234567",
     .dialed = "+19005550000",
     .flags = {FB("low", TS - NOV20, NEVER, "sup-2", "spam")},
     .queue = "main",
     .rule = "premium",
     .action = R,
     .priority = 99,
     .record = -1,
     .alert = -1,
     .reason = "premium lines are closed to flagged callers (code low flag, 2026-11-20, by "
               "sup-2: spam; dialled +19005550000)",
     .active = 1,
     .score = -1},
    {.what = "dialed prefix without the flag falls through",
     .caller = "+15551234567",
     .dialed = "+19005550000",
     .queue = "main",
     .rule = "rest",
     .priority = 5,
     .record = -1,
     .alert = 1,
     .reason = "rule rest",
     .score = 0},
    {.what = "rule overrides priority, record, announce, max_wait_s; reason text",
     .caller = "+15551234567",
     .flags = {FB("high", TS - NOV20, NEVER, "sup-17", "threatened agent")},
     .queue = "vip",
     .rule = "hi",
     .priority = 100,
     .record = 0,
     .alert = -1,
     .announce = "x",
     .max_wait_s = 10,
     .reason = "high flag (code high flag, 2026-11-20, by sup-17: threatened agent)",
     .active = 1,
     .score = -1},
    {.what = "withheld = false does not match a withheld caller",
     .caller = NULL,
     .flags = {F("high", 0, NEVER)},
     .queue = "main",
     .rule = "rest",
     .priority = 5,
     .record = -1,
     .alert = 1,
     .active = 1,
     .score = 5.0},
    {.what = "exact flag and score together; queue's options",
     .caller = "+15551234567",
     .flags = {FB("low", 0, NEVER, "a", "one"), FB("low", DAY, NEVER, "b", "two")},
     .queue = "vip",
     .rule = "combo",
     .priority = 50,
     .record = -1,
     .alert = -1,
     .announce = "vip-greeting",
     .max_wait_s = 30,
     .reason = "code low flag, 2026-11-23, by a: one; abuse score 1.93 >= 1.50 from 2 active "
               "flags",
     .active = 2,
     .score = 1.93},
    {.what = "one low flag is below the score",
     .caller = "+15551234567",
     .flags = {F("low", 0, NEVER)},
     .queue = "main",
     .rule = "rest",
     .priority = 5,
     .record = -1,
     .alert = 1,
     .active = 1,
     .score = 1.0},
    {.what = "score at exactly the threshold matches",
     .caller = "+15551234567",
     .flags = {F("low", 10 * DAY, NEVER), F("low", 10 * DAY, NEVER), F("low", 10 * DAY, NEVER)},
     .queue = "vip",
     .rule = "combo",
     .priority = 50,
     .record = -1,
     .alert = -1,
     .active = 3,
     .score = 1.5},
    {.what = "a day more of decay falls below it",
     .caller = "+15551234567",
     .flags = {F("low", 11 * DAY, NEVER), F("low", 11 * DAY, NEVER), F("low", 11 * DAY, NEVER)},
     .queue = "main",
     .rule = "rest",
     .priority = 5,
     .record = -1,
     .alert = 1,
     .active = 3,
     .score = 1.40},
    {.what = "dialed prefix rule",
     .caller = "+15551234567",
     .dialed = "+15550001111",
     .queue = "vip",
     .rule = "catch-dialed",
     .priority = 50,
     .record = -1,
     .alert = -1,
     .reason = "dialled +15550001111",
     .score = 0},
    {.what = "no dialed number never matches a dialed rule",
     .caller = "+15551234567",
     .dialed = NULL,
     .queue = "main",
     .rule = "rest",
     .priority = 5,
     .record = -1,
     .alert = 1,
     .score = 0},
    {.what = "allowlist prefix beats the reject rule",
     .caller = "+442079460000",
     .dialed = "+18005550199",
     .queue = "main",
     .rule = "allowlist",
     .priority = 5,
     .record = -1,
     .alert = -1,
     .reason = "caller on allowlist",
     .score = 0},
};

static void
inline_setup(void)
{
	char *err = NULL;

	pol = policy_load_string(inline_policy, "inline.conf", "1", &err);
	ck_assert_msg(pol != NULL, "%s", err ? err : "");
}

START_TEST(test_inline)
{
	run_case(pol, &inline_cases[_i]);
}
END_TEST

static char *
decision_json(const struct decision *d)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_obj_begin(&jb);
	route_write_json(&jb, d);
	jb_obj_end(&jb);
	ck_assert_int_eq(jb.oom, 0);
	return jb_steal(&jb, NULL);
}

START_TEST(test_json)
{
	static const struct fspec high[] = {
	    FB("high", TS - NOV20, NEVER, "sup-17", "threatened \"agent\""), {.code = NULL}};
	struct route_input in = {.caller = "+15551234567", .ts = TS};
	struct decision d;
	char *json;

	in.nflags = build_flags(high);
	in.flags = flagbuf;
	route_decide(pol, &in, &d);
	json = decision_json(&d);
	ck_assert_str_eq(json, "{\"action\":\"queue\",\"queue\":\"vip\",\"target\":\"sip:vip\","
	                       "\"priority\":100,\"rule\":\"hi\",\"reason\":\"high flag (code high "
	                       "flag, 2026-11-20, by sup-17: threatened \\\"agent\\\")\","
	                       "\"policy\":\"inline-1\",\"record\":false,\"announce\":\"x\","
	                       "\"max_wait_s\":10}");
	free(json);

	in.nflags = 0;
	in.dialed = "+18005550199";
	route_decide(pol, &in, &d);
	json = decision_json(&d);
	ck_assert_str_eq(json, "{\"action\":\"reject\",\"queue\":\"main\",\"target\":\"sip:main\","
	                       "\"priority\":5,\"rule\":\"closed\",\"reason\":\"line closed "
	                       "(dialled +18005550199)\",\"policy\":\"inline-1\"}");
	free(json);

	in.dialed = NULL;
	route_decide(pol, &in, &d);
	json = decision_json(&d);
	ck_assert_str_eq(json, "{\"action\":\"queue\",\"queue\":\"main\",\"target\":\"sip:main\","
	                       "\"priority\":5,\"rule\":\"rest\",\"reason\":\"rule rest\","
	                       "\"policy\":\"inline-1\",\"alert\":true}");
	free(json);
}
END_TEST

START_TEST(test_degraded)
{
	struct decision d;
	char *json;

	memset(&d, 0x5a, sizeof(d));
	route_degraded(pol, "history unavailable: database is locked", &d);
	ck_assert_str_eq(d.queue->name, "main");
	ck_assert_str_eq(d.rule, "default");
	ck_assert_int_eq(d.degraded, 1);
	ck_assert_int_eq(d.action, DECISION_QUEUE);
	ck_assert_int_eq(d.record, -1);
	ck_assert_int_eq(d.alert, -1);
	ck_assert_uint_eq(d.active_flags, 0);
	ck_assert_ptr_eq(d.policy, pol);
	json = decision_json(&d);
	ck_assert_str_eq(json, "{\"action\":\"queue\",\"queue\":\"main\",\"target\":\"sip:main\","
	                       "\"priority\":5,\"rule\":\"default\",\"reason\":\"history "
	                       "unavailable: database is locked\",\"policy\":\"inline-1\","
	                       "\"degraded\":true}");
	free(json);

	route_degraded(pol, NULL, &d);
	ck_assert_str_eq(d.reason, "history unavailable");
}
END_TEST

/* route_score against hand-computed decay; the sample's half-life is 90 days. */
static const struct {
	const char *what;
	struct fspec flags[MAXFLAGS];
	double score;
	size_t active;
} score_cases[] = {
    {"nothing", {{.code = NULL}}, 0.0, 0},
    {"fresh red", {F("red", 0, NEVER)}, 10.0, 1},
    {"one half-life", {F("orange", 90 * DAY, NEVER)}, 0.5, 1},
    {"two half-lives", {F("yellow", 180 * DAY, NEVER)}, 0.75, 1},
    {"future counts as new", {F("orange", -5 * DAY, NEVER)}, 1.0, 1},
    {"mixed with revoked and expired",
     {F("orange", 0, NEVER), FR("red", 0, NEVER), F("yellow", 0, -1), F("nuisance", 0, NEVER)},
     1.1,
     2},
};

START_TEST(test_score)
{
	size_t n = build_flags(score_cases[_i].flags), active = 99;
	double s;

	s = route_score(pol, flagbuf, n, TS, &active);
	ck_assert_msg(fabs(s - score_cases[_i].score) < 1e-9, "%s: %f", score_cases[_i].what, s);
	ck_assert_uint_eq(active, score_cases[_i].active);
	ck_assert_double_eq(route_score(pol, flagbuf, n, TS, NULL), s);
}
END_TEST

/* A huge flag reason is cut to fit, at a character boundary, and marked. */
START_TEST(test_reason_truncated)
{
	struct fspec fs[2] = {FB("red", 0, NEVER, "sup-1", NULL), {.code = NULL}};
	struct route_input in = {.caller = "+15551234567", .ts = TS};
	char *longtext = malloc(3001);
	struct decision d;
	size_t i, len;

	for (i = 0; i < 3000; i += 2)
		memcpy(longtext + i, "\xc3\xa9", 2); /* é */
	longtext[3000] = '\0';
	fs[0].reason = longtext;
	in.nflags = build_flags(fs);
	in.flags = flagbuf;
	route_decide(pol, &in, &d);
	len = strlen(d.reason);
	ck_assert_uint_lt(len, ROUTE_REASON_MAX);
	ck_assert_uint_gt(len, ROUTE_REASON_MAX - 8);
	ck_assert_str_eq(d.reason + len - 3, "...");
	ck_assert_int_eq(strncmp(d.reason, "code red flag, 2026-11-23, by sup-1: \xc3\xa9", 39), 0);
	/* The byte before "..." ends a complete two-byte character. */
	ck_assert_int_eq((unsigned char)d.reason[len - 4], 0xa9);
	ck_assert_int_eq((unsigned char)d.reason[len - 5], 0xc3);
	free(longtext);
}
END_TEST

/* Dates before 1970 and far ahead format correctly. */
static const struct {
	int64_t created_at;
	const char *date;
} date_cases[] = {
    {0, "1970-01-01"},
    {-1, "1969-12-31"},
    {951782400, "2000-02-29"},
    {4107542400, "2100-03-01"},
    {1795392000 - 1, "2026-11-22"},
    {-86400 * 365, "1969-01-01"},
};

START_TEST(test_dates)
{
	struct fspec fs[2] = {FB("red", 0, NEVER, "x", "y"), {.code = NULL}};
	struct route_input in = {.caller = "+15551234567", .ts = TS};
	char want[128];
	struct decision d;

	in.nflags = build_flags(fs);
	flagbuf[0].created_at = date_cases[_i].created_at;
	in.flags = flagbuf;
	route_decide(pol, &in, &d);
	snprintf(want, sizeof(want), "code red flag, %s, by x: y", date_cases[_i].date);
	ck_assert_str_eq(d.reason, want);
}
END_TEST

static const struct nuisance_view v_one = {.repeat = 1,
                                           .shorts = 1,
                                           .since_last_end = 0,
                                           .repeat_fired = 1,
                                           .short_fired = 1,
                                           .redial_fired = 1};

/* Generated reason texts for rules built for the purpose. */
static const struct {
	const char *rule;
	const char *caller;
	const char *dialed;
	const char *want;
	const struct nuisance_view *nuisance;
} text_cases[] = {
    {"{ name = \"r\"; when = { withheld = false; }; queue = \"q\"; }", "+15551234567", NULL,
     "caller not withheld", NULL},
    {"{ name = \"r\"; when = { withheld = false; dialed = [ \"+1800*\" ]; }; queue = \"q\"; }",
     "+15551234567", "+18005550100", "dialled +18005550100", NULL},
    {"{ name = \"r\"; when = { withheld = true; dialed = [ \"+1800*\" ]; }; queue = \"q\"; }", NULL,
     "+18005550100", "caller withheld; dialled +18005550100", NULL},
    {"{ name = \"r\"; when = { }; queue = \"q\"; }", NULL, NULL, "rule r", NULL},
    {"{ name = \"r\"; queue = \"q\"; reason = \"everyone\"; }", NULL, NULL, "everyone", NULL},
    {"{ name = \"r\"; reject = \"closed\"; }", NULL, NULL, "closed", NULL},
    {"{ name = \"r\"; when = { withheld = true; }; reject = \"no anonymous calls\"; }", NULL, NULL,
     "no anonymous calls (caller withheld)", NULL},
    {"{ name = \"r\"; when = { nuisance = \"redial\"; }; queue = \"q\"; }", "+15551234567", NULL,
     "rapid redial: 3 s after the last call ended", &v_all},
    {"{ name = \"r\"; when = { nuisance = \"redial\"; }; queue = \"q\"; reason = \"redialled\"; }",
     "+15551234567", NULL, "redialled (rapid redial: 12 s after the last call ended)", &v_redial},
    {"{ name = \"r\"; when = { nuisance = [ \"redial\", \"short\", \"repeat\" ]; }; queue = \"q\"; "
     "}",
     "+15551234567", NULL,
     "repeat calls: 7 earlier calls within 60 s; short calls: 4 calls under 5 s within 120 s; "
     "rapid redial: 3 s after the last call ended",
     &v_all},
    {"{ name = \"r\"; when = { nuisance = [ \"repeat\", \"short\", \"redial\" ]; }; queue = \"q\"; "
     "}",
     "+15551234567", NULL,
     "repeat calls: 1 earlier call within 60 s; short calls: 1 call under 5 s within 120 s; "
     "rapid redial: 0 s after the last call ended",
     &v_one},
    {"{ name = \"r\"; when = { withheld = true; dialed = [ \"+1800*\" ]; nuisance = \"repeat\"; }; "
     "queue = \"q\"; }",
     NULL, "+18005550100",
     "caller withheld; dialled +18005550100; repeat calls: 5 earlier calls within 60 s", &v_sixth},
    {"{ name = \"r\"; when = { withheld = false; nuisance = \"short\"; }; queue = \"q\"; }",
     "+15551234567", NULL, "short calls: 3 calls under 5 s within 120 s", &v_short},
    {"{ name = \"r\"; when = { nuisance = [ \"short\", \"repeat\" ]; }; reject = \"go away\"; }",
     "+15551234567", NULL, "go away (short calls: 3 calls under 5 s within 120 s)", &v_short},
};

START_TEST(test_reason_texts)
{
	struct route_input in = {.ts = TS};
	struct policy *p;
	struct decision d;
	char text[1024], *err = NULL;

	snprintf(text, sizeof(text),
	         "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
	         "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
	         "nuisance = { repeat = { calls = 2; window_s = 60; };\n"
	         "  short = { calls = 2; shorter_than_s = 5; window_s = 120; };\n"
	         "  redial = { within_s = 30; }; };\n"
	         "rules = ( %s );\n",
	         text_cases[_i].rule);
	p = policy_load_string(text, "t.conf", "1", &err);
	ck_assert_msg(p != NULL, "%s", err ? err : "");
	in.caller = text_cases[_i].caller;
	in.dialed = text_cases[_i].dialed;
	in.nuisance = text_cases[_i].nuisance;
	route_decide(p, &in, &d);
	ck_assert_str_eq(d.rule, "r");
	ck_assert_str_eq(d.reason, text_cases[_i].want);
	policy_unref(p);
}
END_TEST

/* A nuisance condition never matches without counters, or when only other patterns fired. */
static const struct {
	const char *what;
	const struct nuisance_view *nuisance;
	const char *rule;
} nomatch_cases[] = {
    {"no counters", NULL, "rest"},
    {"nothing fired", &v_quiet, "rest"},
    {"counts high but not fired", &v_fifth, "rest"},
    {"another pattern fired", &v_redial, "rest"},
    {"the pattern fired", &v_sixth, "repeat"},
};

START_TEST(test_nuisance_nomatch)
{
	struct route_input in = {.caller = "+15551234567", .ts = TS};
	struct policy *p;
	struct decision d;
	char *err = NULL;

	p = policy_load_string("queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
	                       "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
	                       "nuisance = { repeat = { calls = 5; window_s = 600; };\n"
	                       "  redial = { within_s = 30; }; };\n"
	                       "rules = ( { name = \"repeat\"; when = { nuisance = \"repeat\"; };"
	                       " queue = \"q\"; }, { name = \"rest\"; queue = \"q\"; } );\n",
	                       "n.conf", "1", &err);
	ck_assert_msg(p != NULL, "%s", err ? err : "");
	in.nuisance = nomatch_cases[_i].nuisance;
	route_decide(p, &in, &d);
	ck_assert_msg(strcmp(d.rule, nomatch_cases[_i].rule) == 0, "%s: rule %s",
	              nomatch_cases[_i].what, d.rule);
	policy_unref(p);
}
END_TEST

/* The sample's repeat-caller decision as the daemon writes it. */
START_TEST(test_nuisance_json)
{
	struct route_input in = {.caller = "+15551234567", .ts = TS, .nuisance = &v_sixth};
	struct decision d;
	char *json;

	route_decide(pol, &in, &d);
	json = decision_json(&d);
	ck_assert_str_eq(json, "{\"action\":\"queue\",\"queue\":\"long-hold\","
	                       "\"target\":\"sip:long-hold@pbx.example\",\"priority\":-10,"
	                       "\"rule\":\"nuisance-pattern\",\"reason\":\"repeat calls: 5 earlier "
	                       "calls within 600 s\",\"policy\":\"sample-2026-11-23.2\","
	                       "\"announce\":\"recordings/long-hold-notice\",\"max_wait_s\":3600}");
	free(json);
}
END_TEST

/* Mid-call reports against the sample's on_report section. */
static const struct {
	const char *what;
	const char *code;    /* NULL: use index */
	int index;           /* when code is NULL */
	const char *current; /* the call's queue now; NULL: none known */
	int action;
	const char *queue;
	int priority;
	int alert;
	const char *announce;
	int max_wait_s;
	const char *rule;
	const char *reason;
	const char *json;
} report_cases[] = {
    {"orange continues in the current queue", "orange", 0, "standard", DECISION_CONTINUE,
     "standard", 0, -1, NULL, -1, "report-orange", "agent reported code orange: continue the call",
     "{\"action\":\"continue\",\"queue\":\"standard\",\"target\":\"sip:standard@pbx.example\","
     "\"priority\":0,\"rule\":\"report-orange\",\"reason\":\"agent reported code orange: "
     "continue the call\",\"policy\":\"sample-2026-11-23.2\"}"},
    {"orange continues in long-hold without its announce or wait", "orange", 0, "long-hold",
     DECISION_CONTINUE, "long-hold", -10, -1, NULL, -1, "report-orange",
     "agent reported code orange: continue the call",
     "{\"action\":\"continue\",\"queue\":\"long-hold\",\"target\":\"sip:long-hold@pbx.example\","
     "\"priority\":-10,\"rule\":\"report-orange\",\"reason\":\"agent reported code orange: "
     "continue the call\",\"policy\":\"sample-2026-11-23.2\"}"},
    {"orange without a current queue continues in the default queue", "orange", 0, NULL,
     DECISION_CONTINUE, "standard", 0, -1, NULL, -1, "report-orange",
     "agent reported code orange: continue the call", NULL},
    {"yellow transfers to supervisor", "yellow", 0, "standard", DECISION_TRANSFER, "supervisor", 10,
     -1, NULL, 300, "report-yellow", "agent reported code yellow: transfer to supervisor",
     "{\"action\":\"transfer\",\"queue\":\"supervisor\",\"target\":\"sip:supervisor@pbx.example\","
     "\"priority\":10,\"rule\":\"report-yellow\",\"reason\":\"agent reported code yellow: "
     "transfer to supervisor\",\"policy\":\"sample-2026-11-23.2\",\"max_wait_s\":300}"},
    {"red transfers to supervisor with an alert", "red", 0, "standard", DECISION_TRANSFER,
     "supervisor", 10, 1, NULL, 300, "report-red",
     "agent reported code red: transfer to supervisor",
     "{\"action\":\"transfer\",\"queue\":\"supervisor\",\"target\":\"sip:supervisor@pbx.example\","
     "\"priority\":10,\"rule\":\"report-red\",\"reason\":\"agent reported code red: transfer to "
     "supervisor\",\"policy\":\"sample-2026-11-23.2\",\"alert\":true,\"max_wait_s\":300}"},
    {"red from long-hold still goes to supervisor", "red", 0, "long-hold", DECISION_TRANSFER,
     "supervisor", 10, 1, NULL, 300, "report-red",
     "agent reported code red: transfer to supervisor", NULL},
    {"nuisance is not listed: continue", "nuisance", 0, "supervisor", DECISION_CONTINUE,
     "supervisor", 10, -1, NULL, -1, "report-nuisance",
     "agent reported code nuisance: continue the call", NULL},
    {"index below range", NULL, -1, "supervisor", DECISION_CONTINUE, "supervisor", 10, -1, NULL, -1,
     "report", "agent report of an unknown code: continue the call", NULL},
    {"index above range", NULL, 4, NULL, DECISION_CONTINUE, "standard", 0, -1, NULL, -1, "report",
     "agent report of an unknown code: continue the call", NULL},
};

START_TEST(test_report)
{
	const struct policy_queue *current = NULL;
	struct decision d;
	int ci = report_cases[_i].index;
	char *json;

	if (report_cases[_i].code != NULL)
		ci = policy_code_index(pol, report_cases[_i].code);
	if (report_cases[_i].current != NULL)
		current = &pol->queues[policy_queue_index(pol, report_cases[_i].current)];
	memset(&d, 0x5a, sizeof(d)); /* every field must be set by route_report */
	route_report(pol, ci, current, &d);
	ck_assert_ptr_eq(d.policy, pol);
	ck_assert_int_eq(d.action, report_cases[_i].action);
	ck_assert_str_eq(d.queue->name, report_cases[_i].queue);
	ck_assert_int_eq(d.priority, report_cases[_i].priority);
	ck_assert_int_eq(d.alert, report_cases[_i].alert);
	ck_assert_int_eq(d.record, -1);
	ck_assert_ptr_null(d.announce);
	ck_assert_int_eq(d.max_wait_s, report_cases[_i].max_wait_s);
	ck_assert_str_eq(d.rule, report_cases[_i].rule);
	ck_assert_str_eq(d.reason, report_cases[_i].reason);
	ck_assert_int_eq(d.degraded, 0);
	ck_assert_uint_eq(d.active_flags, 0);
	ck_assert_double_eq(d.score, 0);
	/* The rule name lives in the policy: no allocation per report. */
	if (ci >= 0 && (size_t)ci < pol->ncodes)
		ck_assert_ptr_eq(d.rule, pol->on_report[ci].rule);
	if (report_cases[_i].json != NULL) {
		json = decision_json(&d);
		ck_assert_str_eq(json, report_cases[_i].json);
		free(json);
	}
}
END_TEST

/* A transfer with its own priority, to a queue with an announcement; alert on a continue. */
START_TEST(test_report_inline)
{
	struct decision d;
	struct policy *p;
	char *err = NULL, *json;

	p = policy_load_string(
	    "version = \"r-1\";\n"
	    "queues = ( { name = \"q\"; target = \"t\"; default = true; },"
	    " { name = \"esc\"; target = \"sip:esc\"; priority = 7; announce = \"hold on\"; } );\n"
	    "codes = ( { name = \"low\"; weight = 1.0; expires_days = 1; },"
	    " { name = \"high\"; weight = 1.0; expires_days = 1; } );\n"
	    "on_report = ( { code = \"high\"; action = \"transfer\"; queue = \"esc\"; priority = "
	    "99; },"
	    " { code = \"low\"; action = \"continue\"; alert = true; followup_hours = 2; } );\n",
	    "r.conf", "1", &err);
	ck_assert_msg(p != NULL, "%s", err ? err : "");
	route_report(p, 1, NULL, &d);
	json = decision_json(&d);
	ck_assert_str_eq(json,
	                 "{\"action\":\"transfer\",\"queue\":\"esc\",\"target\":\"sip:esc\","
	                 "\"priority\":99,\"rule\":\"report-high\",\"reason\":\"agent reported "
	                 "code high: transfer to esc\",\"policy\":\"r-1\",\"announce\":\"hold "
	                 "on\"}");
	free(json);
	route_report(p, 0, &p->queues[1], &d);
	json = decision_json(&d);
	ck_assert_str_eq(json, "{\"action\":\"continue\",\"queue\":\"esc\",\"target\":\"sip:esc\","
	                       "\"priority\":7,\"rule\":\"report-low\",\"reason\":\"agent reported "
	                       "code low: continue the call\",\"policy\":\"r-1\",\"alert\":true}");
	free(json);
	policy_unref(p);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc;

	tc = tcase_create("sample");
	tcase_add_checked_fixture(tc, sample_setup, policy_teardown);
	tcase_add_loop_test(tc, test_sample, 0, sizeof(sample_cases) / sizeof(sample_cases[0]));
	tcase_add_loop_test(tc, test_score, 0, sizeof(score_cases) / sizeof(score_cases[0]));
	tcase_add_test(tc, test_reason_truncated);
	tcase_add_loop_test(tc, test_dates, 0, sizeof(date_cases) / sizeof(date_cases[0]));
	tcase_add_test(tc, test_nuisance_json);
	tcase_add_loop_test(tc, test_report, 0, sizeof(report_cases) / sizeof(report_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("inline");
	tcase_add_checked_fixture(tc, inline_setup, policy_teardown);
	tcase_add_loop_test(tc, test_inline, 0, sizeof(inline_cases) / sizeof(inline_cases[0]));
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_degraded);
	suite_add_tcase(s, tc);

	tc = tcase_create("texts");
	tcase_add_loop_test(tc, test_reason_texts, 0, sizeof(text_cases) / sizeof(text_cases[0]));
	tcase_add_loop_test(tc, test_nuisance_nomatch, 0,
	                    sizeof(nomatch_cases) / sizeof(nomatch_cases[0]));
	tcase_add_test(tc, test_report_inline);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
