/* followup: add a follow-up task for a caller by hand (followup.add). */
#include <stdio.h>

#include "ctl.h"

enum { FOLLOWUP_OPT_BY, FOLLOWUP_OPT_NOTE, FOLLOWUP_OPT_HOURS, FOLLOWUP_OPT_AT, FOLLOWUP_OPT_CALL };

static const char *const cmd_followup_options[] = {"by",     "note",    "due-in-hours",
                                                   "due-at", "call-id", NULL};

/* The longest --due-in-hours: ten years is a plan, not a follow-up. */
#define FOLLOWUP_MAX_HOURS 87600.0

static void
cmd_followup_print(const struct reply *rep)
{
	const cJSON *fu = cJSON_GetObjectItemCaseSensitive(rep->json, "followup");
	long long id, due;
	char when[64];

	fputs("follow-up ", stdout);
	if (print_jint(fu, "id", &id) == 0)
		printf("%lld ", id);
	fputs("added: ", stdout);
	print_esc(stdout, print_jstr(fu, "caller"));
	if (print_jint(fu, "due_at", &due) == 0) {
		print_time(when, sizeof(when), due, PRINT_MINUTES);
		printf(" due %s UTC", when);
	}
	if (print_jstr(fu, "call_id") != NULL) {
		fputs(" (call ", stdout);
		print_esc(stdout, print_jstr(fu, "call_id"));
		putchar(')');
	}
	putchar('\n');
}

static int
cmd_followup_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	const char *const *o = a->opts;
	struct jbuf jb;
	double hours = 0;
	long long at = 0;

	if (o[FOLLOWUP_OPT_BY] == NULL)
		return cmd_usage_error(e, "followup: --by NAME is required");
	if (o[FOLLOWUP_OPT_NOTE] == NULL)
		return cmd_usage_error(e, "followup: --note TEXT is required");
	if ((o[FOLLOWUP_OPT_HOURS] == NULL) == (o[FOLLOWUP_OPT_AT] == NULL))
		return cmd_usage_error(e, "followup: give one of --due-in-hours H and --due-at T");
	if (o[FOLLOWUP_OPT_HOURS] != NULL &&
	    cmd_parse_positive(o[FOLLOWUP_OPT_HOURS], FOLLOWUP_MAX_HOURS, &hours) == -1)
		return cmd_usage_error(e,
		                       "followup: --due-in-hours wants hours > 0 and <= %.0f, not "
		                       "'%s'",
		                       FOLLOWUP_MAX_HOURS, o[FOLLOWUP_OPT_HOURS]);
	/* A due time is ahead: "7d" (a time ago) makes no sense here. */
	if (o[FOLLOWUP_OPT_AT] != NULL &&
	    cmd_parse_time(o[FOLLOWUP_OPT_AT], 0, cmd_now(), &at) == -1)
		return cmd_usage_error(e,
		                       "followup: --due-at wants Unix seconds or a UTC date "
		                       "YYYY-MM-DD[THH:MM[:SS]], not '%s'",
		                       o[FOLLOWUP_OPT_AT]);
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "followup.add");
	jb_kstr(&jb, "caller", a->argv[0]);
	if (o[FOLLOWUP_OPT_HOURS] != NULL)
		jb_knum(&jb, "due_in_hours", hours);
	else
		jb_kint(&jb, "due_at", at);
	jb_kstr(&jb, "by", o[FOLLOWUP_OPT_BY]);
	jb_kstr(&jb, "note", o[FOLLOWUP_OPT_NOTE]);
	if (o[FOLLOWUP_OPT_CALL] != NULL)
		jb_kstr(&jb, "call_id", o[FOLLOWUP_OPT_CALL]);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_followup_print);
}

const struct cmd_entry cmd_followup_entry = {
    .name = "followup",
    .args = "CALLER --by NAME --note TEXT (--due-in-hours H | --due-at T) [--call-id ID]",
    .summary = "add a follow-up task for a caller",
    .options = cmd_followup_options,
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_followup_exec,
};
