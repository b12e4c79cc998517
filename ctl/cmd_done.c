/* done: mark a follow-up task done, with who and a note (followup.done). */
#include <stdio.h>

#include "ctl.h"

enum { DONE_OPT_BY, DONE_OPT_NOTE };

static const char *const cmd_done_options[] = {"by", "note", NULL};

static void
cmd_done_print(const struct reply *rep)
{
	const cJSON *fu = cJSON_GetObjectItemCaseSensitive(rep->json, "followup");
	long long id;

	fputs("follow-up ", stdout);
	if (print_jint(fu, "id", &id) == 0)
		printf("%lld ", id);
	fputs("done: ", stdout);
	print_esc(stdout, print_jstr(fu, "caller") != NULL ? print_jstr(fu, "caller") : "withheld");
	fputs(" (by ", stdout);
	print_esc(stdout, print_jstr(fu, "done_by"));
	fputs(": ", stdout);
	print_esc(stdout, print_jstr(fu, "done_note"));
	fputs(")\n", stdout);
}

static int
cmd_done_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;
	long long id;

	/* Ids are SQLite rowids; beyond 2^53 they would not survive a JSON double. */
	if (cmd_parse_int(a->argv[0], 1, 9007199254740991LL, &id) == -1)
		return cmd_usage_error(e, "done: ID must be a positive integer, not '%s'",
		                       a->argv[0]);
	if (a->opts[DONE_OPT_BY] == NULL)
		return cmd_usage_error(e, "done: --by NAME is required");
	if (a->opts[DONE_OPT_NOTE] == NULL)
		return cmd_usage_error(e, "done: --note TEXT is required");
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "followup.done");
	jb_kint(&jb, "id", id);
	jb_kstr(&jb, "by", a->opts[DONE_OPT_BY]);
	jb_kstr(&jb, "note", a->opts[DONE_OPT_NOTE]);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_done_print);
}

const struct cmd_entry cmd_done_entry = {
    .name = "done",
    .args = "ID --by NAME --note TEXT",
    .summary = "mark a follow-up task done",
    .options = cmd_done_options,
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_done_exec,
};
