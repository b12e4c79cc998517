/* Unit tests for the policy loader: the sample, golden printouts, bad files and file errors. */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

#define SAMPLE     CW_SOURCE_DIR "/config/policy.conf"
#define GOLDEN_DIR CW_TEST_DIR "/policy"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *
print_policy(const struct policy *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	policy_print(p, f);
	fclose(f);
	return text;
}

/* Loads the printout of p again and checks that it prints the same. */
static void
check_reprint(const struct policy *p, const char *printout)
{
	struct policy *p2;
	char *err = NULL, *again;

	p2 = policy_load_string(printout, "printout", p->country_code, &err);
	ck_assert_msg(p2 != NULL, "printout does not load: %s", err ? err : "");
	again = print_policy(p2);
	ck_assert_str_eq(again, printout);
	ck_assert_str_eq(p2->version, p->version);
	free(again);
	policy_unref(p2);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(test_sample_loads)
{
	static const char *const queues[] = {"standard", "supervisor", "long-hold"};
	static const char *const codes[] = {"nuisance", "orange", "yellow", "red"};
	struct policy *p;
	char *err = NULL, *text;
	size_t i;

	p = policy_load(SAMPLE, "1", &err);
	ck_assert_msg(p != NULL, "sample policy: %s", err ? err : "");
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(p->nqueues, 3);
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(p->queues[i].name, queues[i]);
	ck_assert_str_eq(p->queues[p->default_queue].name, "standard");
	ck_assert_uint_eq(p->ncodes, 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(policy_code_index(p, codes[i]), (int)i);
	ck_assert_str_eq(p->path, SAMPLE);
	ck_assert_str_eq(p->country_code, "1");
	ck_assert_int_eq(policy_allowlisted(p, "+1911"), 1);
	ck_assert_int_eq(policy_allowlisted(p, "+1112"), 1);
	ck_assert_int_eq(policy_allowlisted(p, "+15551234567"), 0);
	ck_assert_int_gt(p->loaded_at, 0);
	text = print_policy(p);
	check_reprint(p, text);
	free(text);
	policy_unref(p);
}
END_TEST

/* The sample's nuisance, calls and on_report sections and the rule that uses the patterns. */
START_TEST(test_sample_sections)
{
	static const char *const rules[] = {"threat",           "abuse",   "score", "nuisance",
	                                    "nuisance-pattern", "withheld"};
	const struct policy_nuisance *pn;
	const struct policy_report *r;
	struct policy *p;
	char *err = NULL;
	size_t i;

	p = policy_load(SAMPLE, "1", &err);
	ck_assert_msg(p != NULL, "sample policy: %s", err ? err : "");
	pn = &p->nuisance;
	ck_assert_int_eq(pn->cfg.repeat_calls, 5);
	ck_assert_int_eq(pn->cfg.repeat_window_s, 600);
	ck_assert_int_eq(pn->cfg.short_calls, 3);
	ck_assert_int_eq(pn->cfg.short_max_s, 10);
	ck_assert_int_eq(pn->cfg.short_window_s, 3600);
	ck_assert_int_eq(pn->cfg.redial_gap_s, 20);
	ck_assert_uint_eq(pn->cfg.max_tracked, 100000);
	ck_assert_ptr_null(nuisance_cfg_check(&pn->cfg));
	ck_assert_int_eq(pn->auto_flag_code, policy_code_index(p, "nuisance"));
	ck_assert_uint_eq(pn->auto_flag_patterns, NUISANCE_PATTERN_REPEAT | NUISANCE_PATTERN_SHORT);
	ck_assert_int_eq(pn->auto_flag_expires_s, 7 * 86400);

	ck_assert_int_eq(p->calls.retention_s, 90 * 86400);
	ck_assert_int_eq(p->calls.close_after_s, 14400);
	ck_assert_int_eq(p->calls.linger_s, 60);
	ck_assert_uint_eq(p->calls.max_calls, 200000);

	ck_assert_uint_eq(p->nrules, 6);
	for (i = 0; i < 6; i++)
		ck_assert_str_eq(p->rules[i].name, rules[i]);
	ck_assert_uint_eq(p->rules[4].nuisance_patterns,
	                  NUISANCE_PATTERN_REPEAT | NUISANCE_PATTERN_SHORT);
	ck_assert_int_eq(p->rules[4].queue, policy_queue_index(p, "long-hold"));
	for (i = 0; i < 6; i++)
		if (i != 4)
			ck_assert_uint_eq(p->rules[i].nuisance_patterns, 0);
	/* The redial pattern is counted but no sample rule uses it. */
	for (i = 0; i < p->nrules; i++)
		ck_assert_uint_eq(p->rules[i].nuisance_patterns & NUISANCE_PATTERN_REDIAL, 0);

	r = &p->on_report[policy_code_index(p, "nuisance")];
	ck_assert_int_eq(r->action, REPORT_CONTINUE);
	ck_assert_int_eq(r->queue, -1);
	ck_assert_int_eq(r->alert, 0);
	ck_assert_int_eq(r->followup_s, 0);
	ck_assert_str_eq(r->rule, "report-nuisance");
	r = &p->on_report[policy_code_index(p, "orange")];
	ck_assert_int_eq(r->action, REPORT_CONTINUE);
	ck_assert_int_eq(r->queue, -1);
	ck_assert_int_eq(r->alert, 0);
	ck_assert_int_eq(r->followup_s, 0);
	ck_assert_str_eq(r->rule, "report-orange");
	r = &p->on_report[policy_code_index(p, "yellow")];
	ck_assert_int_eq(r->action, REPORT_TRANSFER);
	ck_assert_int_eq(r->queue, policy_queue_index(p, "supervisor"));
	ck_assert_int_eq(r->alert, 0);
	ck_assert_int_eq(r->followup_s, 24 * 3600);
	ck_assert_int_eq(r->has_priority, 0);
	ck_assert_str_eq(r->rule, "report-yellow");
	r = &p->on_report[policy_code_index(p, "red")];
	ck_assert_int_eq(r->action, REPORT_TRANSFER);
	ck_assert_int_eq(r->queue, policy_queue_index(p, "supervisor"));
	ck_assert_int_eq(r->alert, 1);
	ck_assert_int_eq(r->followup_s, 24 * 3600);
	ck_assert_str_eq(r->rule, "report-red");
	policy_unref(p);
}
END_TEST

/* Without the new sections: every pattern off, default budgets, every report continues. */
START_TEST(test_section_defaults)
{
	static const char text[] =
	    "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
	    "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; },"
	    " { name = \"longest-code-name-of-32-chars-xx\"; weight = 1.0; expires_days = 1; } "
	    ");\n";
	struct nuisance_cfg zero;
	struct policy *p;
	char *err = NULL;
	size_t i;

	p = policy_load_string(text, "mem", "1", &err);
	ck_assert_msg(p != NULL, "%s", err ? err : "");
	memset(&zero, 0, sizeof(zero));
	zero.max_tracked = 100000;
	ck_assert_int_eq(memcmp(&p->nuisance.cfg, &zero, sizeof(zero)), 0);
	ck_assert_ptr_null(nuisance_cfg_check(&p->nuisance.cfg));
	ck_assert_int_eq(p->nuisance.auto_flag_code, -1);
	ck_assert_uint_eq(p->nuisance.auto_flag_patterns, 0);
	ck_assert_int_eq(p->nuisance.auto_flag_expires_s, 0);
	ck_assert_int_eq(p->calls.retention_s, 90 * 86400);
	ck_assert_int_eq(p->calls.close_after_s, 14400);
	ck_assert_int_eq(p->calls.linger_s, 60);
	ck_assert_uint_eq(p->calls.max_calls, 200000);
	ck_assert_ptr_nonnull(p->on_report);
	for (i = 0; i < p->ncodes; i++) {
		ck_assert_int_eq(p->on_report[i].action, REPORT_CONTINUE);
		ck_assert_int_eq(p->on_report[i].queue, -1);
		ck_assert_int_eq(p->on_report[i].alert, 0);
		ck_assert_int_eq(p->on_report[i].followup_s, 0);
		ck_assert_int_eq(p->on_report[i].has_priority, 0);
	}
	ck_assert_str_eq(p->on_report[0].rule, "report-c");
	ck_assert_str_eq(p->on_report[1].rule, "report-longest-code-name-of-32-chars-xx");
	policy_unref(p);
}
END_TEST

/* Which value a good_cases entry checks. */
enum field {
	F_MAX_TRACKED,
	F_REPEAT_CALLS,
	F_REPEAT_WINDOW,
	F_SHORT_CALLS,
	F_SHORT_MAX,
	F_SHORT_WINDOW,
	F_REDIAL,
	F_AUTO_CODE,
	F_AUTO_PATTERNS,
	F_AUTO_EXPIRES,
	F_RETENTION,
	F_CLOSE_AFTER,
	F_LINGER,
	F_MAX_CALLS,
	F_REPORT_ACTION, /* of code "d" */
	F_REPORT_QUEUE,
	F_REPORT_ALERT,
	F_REPORT_FOLLOWUP,
	F_REPORT_PRIORITY, /* -9999 when has_priority is 0 */
	F_RULE_PATTERNS,   /* of the first rule */
};

static long long
field_value(const struct policy *p, enum field f)
{
	const struct policy_nuisance *n = &p->nuisance;
	const struct policy_report *r = &p->on_report[1];

	switch (f) {
	case F_MAX_TRACKED:
		return (long long)n->cfg.max_tracked;
	case F_REPEAT_CALLS:
		return n->cfg.repeat_calls;
	case F_REPEAT_WINDOW:
		return n->cfg.repeat_window_s;
	case F_SHORT_CALLS:
		return n->cfg.short_calls;
	case F_SHORT_MAX:
		return n->cfg.short_max_s;
	case F_SHORT_WINDOW:
		return n->cfg.short_window_s;
	case F_REDIAL:
		return n->cfg.redial_gap_s;
	case F_AUTO_CODE:
		return n->auto_flag_code;
	case F_AUTO_PATTERNS:
		return n->auto_flag_patterns;
	case F_AUTO_EXPIRES:
		return n->auto_flag_expires_s;
	case F_RETENTION:
		return p->calls.retention_s;
	case F_CLOSE_AFTER:
		return p->calls.close_after_s;
	case F_LINGER:
		return p->calls.linger_s;
	case F_MAX_CALLS:
		return (long long)p->calls.max_calls;
	case F_REPORT_ACTION:
		return r->action;
	case F_REPORT_QUEUE:
		return r->queue;
	case F_REPORT_ALERT:
		return r->alert;
	case F_REPORT_FOLLOWUP:
		return r->followup_s;
	case F_REPORT_PRIORITY:
		return r->has_priority ? r->priority : -9999;
	case F_RULE_PATTERNS:
		return p->nrules > 0 ? (long long)p->rules[0].nuisance_patterns : -1;
	}
	return -1;
}

#define ALL_PATTERNS                                                                               \
	"nuisance = { repeat = { calls = 2; window_s = 60; }; "                                    \
	"short = { calls = 2; shorter_than_s = 5; window_s = 60; }; redial = { within_s = 9; }; "
#define REPEAT (NUISANCE_PATTERN_REPEAT)
#define SHORT  (NUISANCE_PATTERN_SHORT)
#define REDIAL (NUISANCE_PATTERN_REDIAL)

/* Good values of every new key, each read back from the loaded policy. */
static const struct {
	const char *what;
	const char *text; /* appended to a policy with queues q (default), sup and codes c, d */
	enum field field;
	long long want;
} good_cases[] = {
    {"max_tracked", "nuisance = { max_tracked = 200000; };", F_MAX_TRACKED, 200000},
    {"max_tracked lowest", "nuisance = { max_tracked = 1; };", F_MAX_TRACKED, 1},
    {"max_tracked highest", "nuisance = { max_tracked = 268435456; };", F_MAX_TRACKED, 268435456},
    {"max_tracked default with other keys", "nuisance = { redial = { within_s = 5; }; };",
     F_MAX_TRACKED, 100000},
    {"repeat calls", "nuisance = { repeat = { calls = 16; window_s = 1; }; };", F_REPEAT_CALLS, 16},
    {"repeat window", "nuisance = { repeat = { calls = 1; window_s = 604800; }; };",
     F_REPEAT_WINDOW, 604800},
    {"repeat off leaves short", "nuisance = { repeat = { calls = 1; window_s = 1; }; };",
     F_SHORT_CALLS, 0},
    {"short calls", "nuisance = { short = { calls = 1; shorter_than_s = 1; window_s = 1; }; };",
     F_SHORT_CALLS, 1},
    {"short shorter_than_s",
     "nuisance = { short = { calls = 1; shorter_than_s = 3600; window_s = 1; }; };", F_SHORT_MAX,
     3600},
    {"short window",
     "nuisance = { short = { calls = 1; shorter_than_s = 1; window_s = 604800; }; };",
     F_SHORT_WINDOW, 604800},
    {"short off leaves redial",
     "nuisance = { short = { calls = 1; shorter_than_s = 1; "
     "window_s = 1; }; };",
     F_REDIAL, 0},
    {"redial", "nuisance = { redial = { within_s = 86400; }; };", F_REDIAL, 86400},
    {"redial lowest", "nuisance = { redial = { within_s = 1; }; };", F_REDIAL, 1},
    {"redial off leaves repeat", "nuisance = { redial = { within_s = 1; }; };", F_REPEAT_CALLS, 0},
    {"auto_flag code", ALL_PATTERNS "auto_flag = { code = \"d\"; patterns = \"redial\"; }; };",
     F_AUTO_CODE, 1},
    {"auto_flag one pattern as a string",
     ALL_PATTERNS "auto_flag = { code = \"d\"; patterns = \"redial\"; }; };", F_AUTO_PATTERNS,
     REDIAL},
    {"auto_flag patterns as a list",
     ALL_PATTERNS "auto_flag = { code = \"c\"; patterns = ( \"short\", \"repeat\" ); }; };",
     F_AUTO_PATTERNS, REPEAT | SHORT},
    {"auto_flag all patterns",
     ALL_PATTERNS
     "auto_flag = { code = \"c\"; patterns = [ \"redial\", \"short\", \"repeat\" ]; }; };",
     F_AUTO_PATTERNS, REPEAT | SHORT | REDIAL},
    {"auto_flag expiry defaults to the code's",
     ALL_PATTERNS "auto_flag = { code = \"c\"; patterns = \"repeat\"; }; };", F_AUTO_EXPIRES, 0},
    {"auto_flag expiry in days",
     ALL_PATTERNS "auto_flag = { code = \"c\"; patterns = \"repeat\"; expires_days = 7; }; };",
     F_AUTO_EXPIRES, 7 * 86400},
    {"auto_flag expiry fraction",
     ALL_PATTERNS "auto_flag = { code = \"c\"; patterns = \"repeat\"; expires_days = 0.5; }; };",
     F_AUTO_EXPIRES, 43200},
    {"no auto_flag", ALL_PATTERNS "};", F_AUTO_CODE, -1},
    {"retention", "calls = { retention_days = 3650; };", F_RETENTION, 3650LL * 86400},
    {"retention lowest", "calls = { retention_days = 1; };", F_RETENTION, 86400},
    {"close_after_s", "calls = { close_after_s = 60; };", F_CLOSE_AFTER, 60},
    {"close_after_s highest", "calls = { close_after_s = 604800; };", F_CLOSE_AFTER, 604800},
    {"linger_s zero", "calls = { linger_s = 0; };", F_LINGER, 0},
    {"linger_s highest", "calls = { linger_s = 3600; };", F_LINGER, 3600},
    {"max_calls lowest", "calls = { max_calls = 1000; };", F_MAX_CALLS, 1000},
    {"max_calls highest", "calls = { max_calls = 10000000; };", F_MAX_CALLS, 10000000},
    {"calls defaults stay with other keys", "calls = { linger_s = 1; };", F_MAX_CALLS, 200000},
    {"report transfer",
     "on_report = ( { code = \"d\"; action = \"transfer\"; queue = \"sup\"; } );", F_REPORT_ACTION,
     REPORT_TRANSFER},
    {"report transfer queue",
     "on_report = ( { code = \"d\"; action = \"transfer\"; queue = \"sup\"; } );", F_REPORT_QUEUE,
     1},
    {"report transfer to the default queue",
     "on_report = ( { code = \"d\"; action = \"transfer\"; queue = \"q\"; } );", F_REPORT_QUEUE, 0},
    {"report transfer priority",
     "on_report = ( { code = \"d\"; action = \"transfer\"; queue = \"sup\"; priority = -1000; } "
     ");",
     F_REPORT_PRIORITY, -1000},
    {"report transfer without priority",
     "on_report = ( { code = \"d\"; action = \"transfer\"; queue = \"sup\"; } );",
     F_REPORT_PRIORITY, -9999},
    {"report continue", "on_report = ( { code = \"d\"; action = \"continue\"; } );",
     F_REPORT_ACTION, REPORT_CONTINUE},
    {"report continue has no queue", "on_report = ( { code = \"d\"; action = \"continue\"; } );",
     F_REPORT_QUEUE, -1},
    {"report alert", "on_report = ( { code = \"d\"; action = \"continue\"; alert = true; } );",
     F_REPORT_ALERT, 1},
    {"report alert false",
     "on_report = ( { code = \"d\"; action = \"transfer\"; queue = \"sup\"; alert = false; } );",
     F_REPORT_ALERT, 0},
    {"report follow-up",
     "on_report = ( { code = \"d\"; action = \"continue\"; followup_hours = 720; } );",
     F_REPORT_FOLLOWUP, 720LL * 3600},
    {"report follow-up lowest",
     "on_report = ( { code = \"d\"; action = \"continue\"; followup_hours = 1; } );",
     F_REPORT_FOLLOWUP, 3600},
    {"report without follow-up", "on_report = ( { code = \"d\"; action = \"continue\"; } );",
     F_REPORT_FOLLOWUP, 0},
    {"another code's entry leaves d alone",
     "on_report = ( { code = \"c\"; action = \"transfer\"; queue = \"sup\"; alert = true; } );",
     F_REPORT_ACTION, REPORT_CONTINUE},
    {"empty on_report", "on_report = ( );", F_REPORT_ALERT, 0},
    {"rule condition, one name",
     ALL_PATTERNS
     "}; rules = ( { name = \"r\"; when = { nuisance = \"short\"; }; queue = \"sup\"; } );",
     F_RULE_PATTERNS, SHORT},
    {"rule condition, array",
     ALL_PATTERNS "}; rules = ( { name = \"r\"; when = { nuisance = [ \"redial\", \"repeat\" ]; }; "
                  "queue = \"sup\"; } );",
     F_RULE_PATTERNS, REPEAT | REDIAL},
    {"rule condition, list",
     ALL_PATTERNS "}; rules = ( { name = \"r\"; when = { nuisance = ( \"short\" ); }; "
                  "queue = \"sup\"; } );",
     F_RULE_PATTERNS, SHORT},
    {"rule without the condition",
     ALL_PATTERNS "}; rules = ( { name = \"r\"; when = { withheld = true; }; queue = \"sup\"; } );",
     F_RULE_PATTERNS, 0},
};

static const char two_queues[] = "queues = ( { name = \"q\"; target = \"t\"; default = true; },"
                                 " { name = \"sup\"; target = \"s\"; } );\n"
                                 "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; },"
                                 " { name = \"d\"; weight = 1.0; expires_days = 2; } );\n";

START_TEST(test_good_values)
{
	char text[2048], *err = NULL, *printout;
	struct policy *p;
	long long got;

	snprintf(text, sizeof(text), "%s%s\n", two_queues, good_cases[_i].text);
	p = policy_load_string(text, "good.conf", "1", &err);
	ck_assert_msg(p != NULL, "%s: %s", good_cases[_i].what, err ? err : "");
	got = field_value(p, good_cases[_i].field);
	ck_assert_msg(got == good_cases[_i].want, "%s: got %lld, want %lld", good_cases[_i].what,
	              got, good_cases[_i].want);
	ck_assert_ptr_null(nuisance_cfg_check(&p->nuisance.cfg));
	printout = print_policy(p);
	check_reprint(p, printout);
	free(printout);
	policy_unref(p);
}
END_TEST

/* policy_fired_patterns reads the *_fired fields only. */
static const struct {
	struct nuisance_view v;
	unsigned want;
} fired_cases[] = {
    {{.since_last_end = -1}, 0},
    {{.repeat = 9, .shorts = 9, .since_last_end = 1}, 0},
    {{.repeat_fired = 1}, NUISANCE_PATTERN_REPEAT},
    {{.short_fired = 1}, NUISANCE_PATTERN_SHORT},
    {{.redial_fired = 1}, NUISANCE_PATTERN_REDIAL},
    {{.repeat_fired = 1, .redial_fired = 1, .inexact = 1},
     NUISANCE_PATTERN_REPEAT | NUISANCE_PATTERN_REDIAL},
    {{.repeat_fired = 1, .short_fired = 1, .redial_fired = 1},
     NUISANCE_PATTERN_REPEAT | NUISANCE_PATTERN_SHORT | NUISANCE_PATTERN_REDIAL},
};

START_TEST(test_fired_patterns)
{
	ck_assert_uint_eq(policy_fired_patterns(&fired_cases[_i].v), fired_cases[_i].want);
	ck_assert_uint_eq(policy_fired_patterns(NULL), 0);
}
END_TEST

/* Golden printouts: tests/policy/NN-name.conf prints as NN-name.out, which reloads as itself. */
START_TEST(test_golden_print)
{
	glob_t g;
	size_t i;

	ck_assert_int_eq(chdir(GOLDEN_DIR), 0);
	ck_assert_int_eq(glob("[0-9][0-9]-*.conf", 0, NULL, &g), 0);
	ck_assert_uint_ge(g.gl_pathc, 6);
	for (i = 0; i < g.gl_pathc; i++) {
		const char *conf = g.gl_pathv[i];
		char out[256], *want, *got, *err = NULL;
		struct policy *p;

		snprintf(out, sizeof(out), "%.*s.out", (int)(strlen(conf) - 5), conf);
		p = policy_load(conf, "1", &err);
		ck_assert_msg(p != NULL, "%s: %s", conf, err ? err : "");
		want = slurp(out);
		got = print_policy(p);
		ck_assert_msg(strcmp(got, want) == 0, "%s printed:\n%s\nexpected:\n%s", conf, got,
		              want);
		check_reprint(p, got);
		free(want);
		free(got);
		policy_unref(p);
	}
	globfree(&g);
}
END_TEST

/* Bad files: tests/policy/bad-NN-name.conf fails with exactly the lines in bad-NN-name.err. */
START_TEST(test_golden_bad)
{
	glob_t g;
	size_t i;

	ck_assert_int_eq(chdir(GOLDEN_DIR), 0);
	ck_assert_int_eq(glob("bad-*.conf", 0, NULL, &g), 0);
	ck_assert_uint_ge(g.gl_pathc, 25);
	for (i = 0; i < g.gl_pathc; i++) {
		const char *conf = g.gl_pathv[i];
		char errpath[256], *want, *err = (char *)"unset";
		struct policy *p;
		size_t n;

		snprintf(errpath, sizeof(errpath), "%.*s.err", (int)(strlen(conf) - 5), conf);
		p = policy_load(conf, "1", &err);
		ck_assert_msg(p == NULL, "%s loaded", conf);
		ck_assert_ptr_nonnull(err);
		want = slurp(errpath);
		n = strlen(want);
		while (n > 0 && want[n - 1] == '\n')
			want[--n] = '\0';
		ck_assert_msg(strcmp(err, want) == 0, "%s errors:\n%s\nexpected:\n%s", conf, err,
		              want);
		free(want);
		free(err);
	}
	globfree(&g);
}
END_TEST

/* File-level failures, each with its exact message. */
static const struct {
	const char *what;
	const char *content; /* NULL: do not create a file */
	size_t size;         /* with content "": a file of this many spaces */
	int dir;
	const char *want; /* expected error after "<path>" */
} file_cases[] = {
    {.what = "missing file", .want = ": cannot open: No such file or directory"},
    {.what = "directory", .dir = 1, .want = ": is a directory, not a policy file"},
    {.what = "empty file",
     .content = "",
     .want = ":1: the policy is empty: it needs at least "
             "'queues' and 'codes'"},
    {.what = "over 4 MiB",
     .content = "",
     .size = 4 * 1024 * 1024 + 1,
     .want = ": is larger than 4 MiB"},
    {.what = "NUL byte",
     .content = "version = \"a\";\n\0x",
     .size = 17,
     .want = ":2: the file contains a NUL byte"},
};

START_TEST(test_file_errors)
{
	char dir[] = "/tmp/check_policy.XXXXXX", path[256], want[512], *err = NULL;
	struct policy *p;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	if (file_cases[_i].dir) {
		ck_assert_int_eq(mkdir(path, 0700), 0);
	} else if (file_cases[_i].content != NULL && file_cases[_i].content[0] == '\0') {
		char *spaces = malloc(file_cases[_i].size + 1);

		memset(spaces, ' ', file_cases[_i].size);
		write_file(path, spaces, file_cases[_i].size);
		free(spaces);
	} else if (file_cases[_i].content != NULL) {
		write_file(path, file_cases[_i].content, file_cases[_i].size);
	}
	p = policy_load(path, "1", &err);
	ck_assert_msg(p == NULL, "%s: loaded", file_cases[_i].what);
	snprintf(want, sizeof(want), "%s%s", path, file_cases[_i].want);
	ck_assert_str_eq(err, want);
	free(err);
	if (file_cases[_i].dir)
		rmdir(path);
	else
		unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_unreadable)
{
	char dir[] = "/tmp/check_policy.XXXXXX", path[256], *err = NULL;
	struct policy *p;

	if (geteuid() == 0)
		return; /* root reads anything */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	write_file(path, "x", 1);
	ck_assert_int_eq(chmod(path, 0), 0);
	p = policy_load(path, "1", &err);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(err, ": cannot open: Permission denied"));
	free(err);
	unlink(path);
	rmdir(dir);
}
END_TEST

static const char minimal[] = "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
                              "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n";

START_TEST(test_version_hash)
{
	char dir[] = "/tmp/check_policy.XXXXXX", path[256], *v1, *err = NULL;
	struct policy *p, *p2;
	size_t i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	write_file(path, minimal, strlen(minimal));
	p = policy_load(path, "1", &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(strlen(p->version), 20);
	ck_assert_int_eq(strncmp(p->version, "sha-", 4), 0);
	for (i = 4; i < 20; i++)
		ck_assert_ptr_nonnull(strchr("0123456789abcdef", p->version[i]));
	v1 = strdup(p->version);
	policy_unref(p);

	/* Stable: the same bytes give the same version, from a file or from memory. */
	p = policy_load(path, "1", &err);
	ck_assert_str_eq(p->version, v1);
	policy_unref(p);
	p = policy_load_string(minimal, "mem", "1", &err);
	ck_assert_str_eq(p->version, v1);
	ck_assert_str_eq(p->path, "mem");

	/* Any change, even a comment, gives another version. */
	write_file(path, "# edited\n", 9);
	{
		FILE *f = fopen(path, "a");

		fputs(minimal, f);
		fclose(f);
	}
	p2 = policy_load(path, "1", &err);
	ck_assert_ptr_nonnull(p2);
	ck_assert_str_ne(p2->version, v1);
	policy_unref(p2);
	policy_unref(p);

	/* An explicit version wins. */
	p = policy_load_string("version = \"2026-11-23.1\";\n"
	                       "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
	                       "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n",
	                       "mem", "1", &err);
	ck_assert_str_eq(p->version, "2026-11-23.1");
	policy_unref(p);
	free(v1);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_refcount)
{
	struct policy *p = policy_load_string(minimal, "mem", "1", NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->refs, 1);
	ck_assert_ptr_eq(policy_ref(p), p);
	ck_assert_int_eq(p->refs, 2);
	policy_unref(p);
	ck_assert_int_eq(p->refs, 1);
	ck_assert_str_eq(p->queues[0].name, "q");
	policy_unref(p); /* frees: ASan reports a leak or a double free otherwise */
	policy_unref(NULL);
}
END_TEST

START_TEST(test_errors_optional)
{
	char *err = (char *)"unset";
	struct policy *p;

	ck_assert_ptr_null(policy_load_string("queues = 1;", "mem", "1", NULL));
	ck_assert_ptr_null(policy_load("/nonexistent/policy.conf", "1", NULL));
	p = policy_load_string(minimal, "mem", "1", &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(err); /* cleared on success */
	policy_unref(p);
}
END_TEST

START_TEST(test_bad_country_code)
{
	char *err = NULL;

	ck_assert_ptr_null(policy_load_string(minimal, "mem", "0", &err));
	ck_assert_str_eq(err, "mem: invalid country code '0'");
	free(err);
}
END_TEST

START_TEST(test_indexes)
{
	struct policy *p = policy_load(SAMPLE, "1", NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(policy_queue_index(p, "standard"), 0);
	ck_assert_int_eq(policy_queue_index(p, "long-hold"), 2);
	ck_assert_int_eq(policy_queue_index(p, "nope"), -1);
	ck_assert_int_eq(policy_code_index(p, "red"), 3);
	ck_assert_int_eq(policy_code_index(p, "RED"), -1);
	policy_unref(p);
}
END_TEST

static const struct {
	const char *pattern;
	const char *number;
	int match;
} match_cases[] = {
    {"+15551234567", "+15551234567", 1},
    {"+15551234567", "+155512345678", 0},
    {"+15551234567", "+1555123456", 0},
    {"+1555*", "+15551234567", 1},
    {"+1555*", "+1555", 1},
    {"+1555*", "+1556000000", 0},
    {"+1555*", "+155", 0},
    {"+44*", "+442079460000", 1},
    {"+1911", "+19110", 0},
};

START_TEST(test_number_match)
{
	ck_assert_int_eq(policy_number_match(match_cases[_i].pattern, match_cases[_i].number),
	                 match_cases[_i].match);
}
END_TEST

/* Allowlists are normalised with the policy's country code; long lists are binary-searched. */
static const struct {
	const char *what;
	const char *list; /* the allowlist array body */
	const char *cc;
	const char *number;
	int listed;
} allow_cases[] = {
    {"exact, national form", "\"(555) 123-4567\"", "1", "+15551234567", 1},
    {"other country code", "\"020 7946 0000\"", "44", "+442079460000", 1},
    {"emergency short number", "\"911\"", "1", "+1911", 1},
    {"prefix", "\"+1800555*\"", "1", "+18005550199", 1},
    {"prefix, national form", "\"800555*\"", "1", "+18005550199", 1},
    {"short prefix", "\"+44*\"", "1", "+442079460000", 1},
    {"not listed", "\"+1800555*\"", "1", "+18005560199", 0},
    {"empty number", "\"911\"", "1", "", 0},
    {"long list, exact",
     "\"+1100\", \"+1200\", \"+1300\", \"+1400\", \"+1500\", \"+1600\", \"+1700\", \"+1800\", "
     "\"+1900\", \"+15551234567\"",
     "1", "+15551234567", 1},
    {"long list, prefix",
     "\"+1100\", \"+1200\", \"+1300\", \"+1400\", \"+1500\", \"+1600\", \"+1700\", "
     "\"+1800\", \"+1900\", \"+1555*\", \"+1666*\"",
     "1", "+15559876543", 1},
    {"long list, not listed",
     "\"+1100\", \"+1200\", \"+1300\", \"+1400\", \"+1500\", \"+1600\", \"+1700\", "
     "\"+1800\", \"+1900\", \"+1555*\", \"+1666*\"",
     "1", "+17775550000", 0},
    {"long list, whole number as prefix",
     "\"+1100\", \"+1200\", \"+1300\", \"+1400\", \"+1500\", \"+1600\", "
     "\"+1700\", \"+1800\", \"+1900\", \"+1555*\"",
     "1", "+1555", 1},
};

START_TEST(test_allowlist)
{
	char text[1024], *err = NULL;
	struct policy *p;

	snprintf(text, sizeof(text), "%sallowlist = [ %s ];\n", minimal, allow_cases[_i].list);
	p = policy_load_string(text, "mem", allow_cases[_i].cc, &err);
	ck_assert_msg(p != NULL, "%s: %s", allow_cases[_i].what, err ? err : "");
	ck_assert_msg(policy_allowlisted(p, allow_cases[_i].number) == allow_cases[_i].listed, "%s",
	              allow_cases[_i].what);
	ck_assert_int_eq(policy_allowlisted(p, NULL), 0);
	policy_unref(p);
}
END_TEST

/* Errors are reported with the name given to policy_load_string and the right line. */
static const struct {
	const char *what;
	const char *text;
	const char *want;
} string_cases[] = {
    {"syntax error line", "queues = (\n  { name = \"q\" target }\n);\n", "s.conf:2: syntax error"},
    {"unknown queue key line",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\nqueues = (\n"
     "  { name = \"q\"; target = \"t\"; default = true;\n    colour = \"red\"; }\n);\n",
     "s.conf:4: queue 'q': unknown key 'colour' (expected one of: name, target, priority, "
     "default, max_wait_s, announce)"},
    {"control characters are not echoed",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "rules = ( { name = \"r\"; queue = \"a\\x1b[2Jb\"; } );\n",
     "s.conf:3: rule 'r': unknown queue 'a?[2Jb'"},
    {"trailing comma after a comment", "queues = ( { name = \"q\"; target = \"t\"; }, # x\n);\n",
     "s.conf:1: comma after the last element of a list or array: remove it"},
    {"large integer with L suffix is range-checked",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; priority = 4294967296L; } );\n",
     "s.conf:2: queue 'q': 'priority' is 4294967296, must be -1000 to 1000"},
    {"expiry below one second",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 0.000001; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n",
     "s.conf:1: code 'c': 'expires_days' is shorter than a second"},
    {"string where none may be (libconfig 1.5 would leak it)",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target \"t\"; default = true; } );\n",
     "s.conf:2: syntax error: a string is not expected here"},
    {"unterminated string (libconfig 1.5 accepts it at the end)",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\nversion = \"x;\n",
     "s.conf:3: unterminated string: a closing quote is missing"},
    {"auto_flag pattern that is off",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { repeat = { calls = 1; window_s = 1; };\n"
     "  auto_flag = { code = \"c\"; patterns = [ \"repeat\", \"short\" ]; }; };\n",
     "s.conf:4: nuisance.auto_flag: 'patterns' names pattern 'short', which is off: the "
     "'nuisance' section has no 'short' group"},
    {"auto_flag without code and patterns",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { repeat = { calls = 1; window_s = 1; };\n"
     "  auto_flag = { expires_days = 1; }; };\n",
     "s.conf:4: nuisance.auto_flag: missing required key 'code'\n"
     "s.conf:4: nuisance.auto_flag: missing required key 'patterns'"},
    {"auto_flag expiry below one second",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { repeat = { calls = 1; window_s = 1; };\n"
     "  auto_flag = { code = \"c\"; patterns = \"repeat\"; expires_days = 0.000001; }; };\n",
     "s.conf:4: nuisance.auto_flag: 'expires_days' is shorter than a second"},
    {"auto_flag expiry out of range",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { repeat = { calls = 1; window_s = 1; };\n"
     "  auto_flag = { code = \"c\"; patterns = \"repeat\"; expires_days = 0; }; };\n",
     "s.conf:4: nuisance.auto_flag: 'expires_days' is 0, must be greater than 0 and at most "
     "36500"},
    {"auto_flag of the wrong type",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { auto_flag = \"c\"; };\n",
     "s.conf:3: nuisance: 'auto_flag' must be a group { ... }, not a string"},
    {"pattern group with a missing key",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { repeat = { calls = 1; }; redial = { }; };\n",
     "s.conf:3: nuisance.repeat: missing required key 'window_s'\n"
     "s.conf:3: nuisance.redial: missing required key 'within_s'"},
    {"a rule may use a pattern whose group has errors without a second error",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { redial = { within_s = \"20\"; }; };\n"
     "rules = ( { name = \"r\"; when = { nuisance = \"redial\"; }; queue = \"q\"; } );\n",
     "s.conf:3: nuisance.redial: 'within_s' must be an integer, not a string"},
    {"a rule condition without a nuisance section",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "rules = ( { name = \"r\"; when = { nuisance = \"repeat\"; }; queue = \"q\"; } );\n",
     "s.conf:3: rule 'r': 'nuisance' names pattern 'repeat', which is off: the 'nuisance' "
     "section has no 'repeat' group"},
    {"on_report of the wrong type",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "on_report = { code = \"c\"; };\n",
     "s.conf:3: 'on_report' must be a list ( { ... }, ... ), not a group { ... }"},
    {"on_report without action",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "on_report = ( { code = \"c\"; queue = \"x\"; } );\n",
     "s.conf:3: on_report 'c': missing required key 'action'\n"
     "s.conf:3: on_report 'c': unknown queue 'x'"},
    {"on_report code of the wrong type",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "on_report = ( { code = 1; action = \"continue\"; } );\n",
     "s.conf:3: on_report #1: 'code' must be a string, not an integer"},
    {"on_report transfer priority out of range",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "on_report = ( { code = \"c\"; action = \"transfer\"; queue = \"q\"; priority = -1001; "
     "followup_hours = 721; } );\n",
     "s.conf:3: on_report 'c': 'followup_hours' is 721, must be 1 to 720\n"
     "s.conf:3: on_report 'c': 'priority' is -1001, must be -1000 to 1000"},
    {"calls key of the wrong type",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "calls = { max_calls = \"many\"; retention_days = 0; };\n",
     "s.conf:3: calls: 'retention_days' is 0, must be 1 to 3650\n"
     "s.conf:3: calls: 'max_calls' must be an integer, not a string"},
    {"max_tracked beyond 32 bits",
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n"
     "nuisance = { max_tracked = 268435457; };\n",
     "s.conf:3: nuisance: 'max_tracked' is 268435457, must be 1 to 268435456"},
    {"bad version",
     "version = \"has space\";\n"
     "codes = ( { name = \"c\"; weight = 1.0; expires_days = 1; } );\n"
     "queues = ( { name = \"q\"; target = \"t\"; default = true; } );\n",
     "s.conf:1: 'version' must be 1 to 64 printable characters without spaces, quotes or "
     "backslashes"},
};

START_TEST(test_string_errors)
{
	char *err = NULL;

	ck_assert_ptr_null(policy_load_string(string_cases[_i].text, "s.conf", "1", &err));
	ck_assert_msg(strcmp(err, string_cases[_i].want) == 0, "%s: got\n%s\nwant\n%s",
	              string_cases[_i].what, err, string_cases[_i].want);
	free(err);
}
END_TEST

/* Values land in the right fields, with units converted. */
START_TEST(test_values)
{
	struct policy *p;
	const struct policy_rule *r;
	char *err = NULL;

	ck_assert_int_eq(chdir(GOLDEN_DIR), 0);
	p = policy_load("02-full.conf", "1", &err);
	ck_assert_msg(p != NULL, "%s", err ? err : "");
	ck_assert_double_eq_tol(p->half_life_s, 8640.0, 1e-9);
	ck_assert_str_eq(p->version, "v2/test_1.0+x");
	ck_assert_uint_eq(p->default_queue, 1);
	ck_assert_int_eq(p->queues[0].priority, 1000);
	ck_assert_int_eq(p->queues[0].max_wait_s, -1);
	ck_assert_str_eq(p->queues[0].announce, "caf\xc3\xa9 \\ \x01");
	ck_assert_int_eq(p->queues[1].max_wait_s, 86400);
	ck_assert_ptr_null(p->queues[1].announce);
	ck_assert_int_eq(p->codes[0].expires_s, 129600);
	ck_assert_int_eq(p->codes[2].expires_s, 21600);
	ck_assert_double_eq(p->codes[0].weight, 0.125);
	ck_assert_uint_eq(p->nallow, 4);
	ck_assert_uint_eq(p->nrules, 4);

	r = &p->rules[0];
	ck_assert_str_eq(r->name, "closed");
	ck_assert_int_eq(r->action, RULE_REJECT);
	ck_assert_int_eq(r->queue, 1);
	ck_assert_str_eq(r->reason, "line \"closed\"\tsorry");
	ck_assert_uint_eq(r->ndialed, 2);
	ck_assert_int_eq(r->flag_at_least, -1);
	ck_assert_int_eq(r->withheld, -1);
	ck_assert_int_eq(r->record, -1);
	ck_assert_int_eq(r->has_priority, 0);

	r = &p->rules[1];
	ck_assert_int_eq(r->action, RULE_QUEUE);
	ck_assert_int_eq(r->queue, 0);
	ck_assert_int_eq(r->flag_exact, 1);
	ck_assert_int_eq(r->withheld, 0);
	ck_assert_uint_eq(r->ndialed, 2); /* the duplicate prefix is dropped */
	ck_assert_str_eq(r->dialed[0], "+1800555*");
	ck_assert_str_eq(r->dialed[1], "+44*");
	ck_assert_int_eq(r->has_priority, 1);
	ck_assert_int_eq(r->priority, -5);
	ck_assert_int_eq(r->record, 0);
	ck_assert_int_eq(r->alert, 1);
	ck_assert_int_eq(r->max_wait_s, 60);
	ck_assert_str_eq(r->announce, "rec/complaints");
	ck_assert_str_eq(r->reason, "flagged caller on complaints line");
	ck_assert_int_eq(r->line, 4);

	r = &p->rules[2];
	ck_assert_int_eq(r->flag_at_least, 1);
	ck_assert_double_eq(r->score_at_least, 7.0);
	ck_assert_ptr_null(r->reason);

	r = &p->rules[3];
	ck_assert_int_eq(r->flag_at_least, -1);
	ck_assert(r->score_at_least < 0);
	ck_assert_int_eq(r->max_wait_s, -1);

	/* The new sections, written in another order than they print. */
	ck_assert_uint_eq(p->rules[0].nuisance_patterns, 0);
	ck_assert_uint_eq(p->rules[1].nuisance_patterns,
	                  NUISANCE_PATTERN_REPEAT | NUISANCE_PATTERN_REDIAL);
	ck_assert_uint_eq(p->rules[2].nuisance_patterns, NUISANCE_PATTERN_SHORT);
	ck_assert_uint_eq(p->rules[3].nuisance_patterns, 0);
	ck_assert_uint_eq(p->nuisance.cfg.max_tracked, 268435456);
	ck_assert_int_eq(p->nuisance.cfg.repeat_calls, 1);
	ck_assert_int_eq(p->nuisance.cfg.repeat_window_s, 1);
	ck_assert_int_eq(p->nuisance.cfg.short_calls, 16);
	ck_assert_int_eq(p->nuisance.cfg.short_max_s, 3600);
	ck_assert_int_eq(p->nuisance.cfg.short_window_s, 604800);
	ck_assert_int_eq(p->nuisance.cfg.redial_gap_s, 86400);
	ck_assert_int_eq(p->nuisance.auto_flag_code, 1);
	ck_assert_uint_eq(p->nuisance.auto_flag_patterns, NUISANCE_PATTERN_REPEAT |
	                                                      NUISANCE_PATTERN_SHORT |
	                                                      NUISANCE_PATTERN_REDIAL);
	ck_assert_int_eq(p->nuisance.auto_flag_expires_s, 129600);
	ck_assert_int_eq(p->calls.retention_s, 3650LL * 86400);
	ck_assert_int_eq(p->calls.close_after_s, 60);
	ck_assert_int_eq(p->calls.linger_s, 0);
	ck_assert_uint_eq(p->calls.max_calls, 10000000);
	ck_assert_int_eq(p->on_report[0].action, REPORT_CONTINUE);
	ck_assert_int_eq(p->on_report[0].alert, 1);
	ck_assert_int_eq(p->on_report[0].followup_s, 3600);
	ck_assert_str_eq(p->on_report[0].rule, "report-low");
	ck_assert_int_eq(p->on_report[1].action, REPORT_CONTINUE);
	ck_assert_int_eq(p->on_report[1].alert, 0);
	ck_assert_int_eq(p->on_report[1].followup_s, 0);
	ck_assert_int_eq(p->on_report[2].action, REPORT_TRANSFER);
	ck_assert_int_eq(p->on_report[2].queue, 0);
	ck_assert_int_eq(p->on_report[2].has_priority, 1);
	ck_assert_int_eq(p->on_report[2].priority, -1000);
	ck_assert_int_eq(p->on_report[2].alert, 1);
	ck_assert_int_eq(p->on_report[2].followup_s, 720 * 3600);
	ck_assert_str_eq(p->on_report[2].rule, "report-top.level_x-9");
	policy_unref(p);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sample_loads);
	tcase_add_test(tc, test_sample_sections);
	tcase_add_test(tc, test_section_defaults);
	tcase_add_loop_test(tc, test_good_values, 0, sizeof(good_cases) / sizeof(good_cases[0]));
	tcase_add_loop_test(tc, test_fired_patterns, 0,
	                    sizeof(fired_cases) / sizeof(fired_cases[0]));
	tcase_add_test(tc, test_golden_print);
	tcase_add_test(tc, test_golden_bad);
	tcase_add_loop_test(tc, test_file_errors, 0, sizeof(file_cases) / sizeof(file_cases[0]));
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_version_hash);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_errors_optional);
	tcase_add_test(tc, test_bad_country_code);
	tcase_add_test(tc, test_indexes);
	tcase_add_loop_test(tc, test_number_match, 0, sizeof(match_cases) / sizeof(match_cases[0]));
	tcase_add_loop_test(tc, test_allowlist, 0, sizeof(allow_cases) / sizeof(allow_cases[0]));
	tcase_add_loop_test(tc, test_string_errors, 0,
	                    sizeof(string_cases) / sizeof(string_cases[0]));
	tcase_add_test(tc, test_values);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
