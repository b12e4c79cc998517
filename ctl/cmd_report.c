/* report: an agent reports a code during a call (call.report); prints the mid-call instruction. */
#include <stdio.h>

#include "ctl.h"

enum { REPORT_OPT_AGENT, REPORT_OPT_NOTE };

static const char *const cmd_report_options[] = {"agent", "note", NULL};

/* "12 added: +15551234567 red (expires 2027-11-23 01:44 UTC)" */
static void
cmd_report_flag(const cJSON *f)
{
	long long id, exp;
	char when[64];

	printf("%-10s", "flag");
	if (!cJSON_IsObject(f)) {
		puts("none (caller withheld)");
		return;
	}
	if (print_jint(f, "id", &id) == 0)
		printf("%lld ", id);
	fputs("added: ", stdout);
	print_esc(stdout, print_jstr(f, "caller"));
	putchar(' ');
	print_esc(stdout, print_jstr(f, "code"));
	if (print_jint(f, "expires_at", &exp) == 0) {
		print_time(when, sizeof(when), exp, PRINT_MINUTES);
		printf(" (expires %s UTC)\n", when);
	} else
		fputs(" (never expires)\n", stdout);
}

/* "7 added: due 2026-11-24 01:44 UTC" */
static void
cmd_report_followup(const cJSON *fu)
{
	long long id, due;
	char when[64];

	printf("%-10s", "followup");
	if (!cJSON_IsObject(fu)) {
		puts("none");
		return;
	}
	if (print_jint(fu, "id", &id) == 0)
		printf("%lld ", id);
	fputs("added", stdout);
	if (print_jint(fu, "due_at", &due) == 0) {
		print_time(when, sizeof(when), due, PRINT_MINUTES);
		printf(": due %s UTC", when);
	}
	putchar('\n');
}

static void
cmd_report_print(const struct reply *rep)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(rep->json, "flag");
	const cJSON *fu = cJSON_GetObjectItemCaseSensitive(rep->json, "followup");
	long long id;
	const char *sep = " (";

	if (print_jstr(rep->json, "call_id") != NULL)
		print_field("call", print_jstr(rep->json, "call_id"));
	print_decision(rep->json);
	if (print_jbool(rep->json, "duplicate") != 1) {
		cmd_report_flag(f);
		cmd_report_followup(fu);
		return;
	}
	/* A retry: say what exists rather than suggest it was just created. */
	fputs("duplicate: nothing new recorded", stdout);
	if (print_jint(f, "id", &id) == 0) {
		printf("%sflag %lld", sep, id);
		sep = ", ";
	}
	if (print_jint(fu, "id", &id) == 0) {
		printf("%sfollow-up %lld", sep, id);
		sep = ", ";
	}
	puts(sep[0] == ',' ? " recorded before)" : "");
}

static int
cmd_report_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;

	if (a->opts[REPORT_OPT_AGENT] == NULL)
		return cmd_usage_error(e, "report: --agent NAME is required");
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "call.report");
	jb_kstr(&jb, "call_id", a->argv[0]);
	jb_kstr(&jb, "code", a->argv[1]);
	jb_kstr(&jb, "agent", a->opts[REPORT_OPT_AGENT]);
	if (a->opts[REPORT_OPT_NOTE] != NULL)
		jb_kstr(&jb, "note", a->opts[REPORT_OPT_NOTE]);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_report_print);
}

const struct cmd_entry cmd_report_entry = {
    .name = "report",
    .args = "CALL_ID CODE --agent NAME [--note TEXT]",
    .summary = "report abuse during a call; prints what to do now",
    .options = cmd_report_options,
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_report_exec,
};
