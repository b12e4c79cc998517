/* followups: list follow-up tasks, open ones by default, newest first (followup.list). */
#include <stdio.h>

#include "ctl.h"

enum { FOLLOWUPS_OPT_STATE, FOLLOWUPS_OPT_CALLER, FOLLOWUPS_OPT_LIMIT, FOLLOWUPS_OPT_CURSOR };

static const char *const cmd_followups_options[] = {"state", "caller", "limit", "cursor", NULL};
static const char *const cmd_followups_switches[] = {"all", NULL};

#define FOLLOWUPS_W_CALLER  16
#define FOLLOWUPS_W_DUE     16
#define FOLLOWUPS_W_STATE   7
#define FOLLOWUPS_W_BY      12
#define FOLLOWUPS_W_NOTE    50
#define FOLLOWUPS_W_DONE_BY 24
#define FOLLOWUPS_W_DONE    60

struct followups_query {
	const struct cmd_args *a;
	int all;
};

static void
cmd_followups_build(struct jbuf *jb, const void *ctx)
{
	const struct followups_query *q = ctx;
	const char *const *o = q->a->opts;

	if (o[FOLLOWUPS_OPT_STATE] != NULL)
		jb_kstr(jb, "state", o[FOLLOWUPS_OPT_STATE]);
	if (o[FOLLOWUPS_OPT_CALLER] != NULL)
		jb_kstr(jb, "caller", o[FOLLOWUPS_OPT_CALLER]);
	cmd_klimit(jb, o[FOLLOWUPS_OPT_LIMIT], q->all);
}

static void
cmd_followups_head(int idw)
{
	printf("%*s  %-*s  %-*s  %-*s  %-*s  %s\n", idw, "ID", FOLLOWUPS_W_CALLER, "CALLER",
	       FOLLOWUPS_W_DUE, "DUE (UTC)", FOLLOWUPS_W_STATE, "STATE", FOLLOWUPS_W_BY,
	       "CREATED BY", "NOTE");
}

/* The daemon's state (by its clock); an older daemon's rows: worked out from done_at, due_at. */
static const char *
cmd_followups_state(const cJSON *fu)
{
	long long due, done;

	if (print_jstr(fu, "state") != NULL)
		return print_jstr(fu, "state");
	if (print_jint(fu, "done_at", &done) == 0)
		return "done";
	if (print_jint(fu, "due_at", &due) == 0 && due <= cmd_now())
		return "overdue";
	return "open";
}

static void
cmd_followups_row(const cJSON *fu, int idw)
{
	const char *caller = print_jstr(fu, "caller");
	long long id;

	if (print_jint(fu, "id", &id) == 0)
		printf("%*lld  ", idw, id);
	else
		printf("%*s  ", idw, "?");
	print_cell(stdout, caller != NULL ? caller : "withheld", FOLLOWUPS_W_CALLER, 1);
	fputs("  ", stdout);
	print_time_cell(fu, "due_at", PRINT_MINUTES, "-", FOLLOWUPS_W_DUE);
	print_cell(stdout, cmd_followups_state(fu), FOLLOWUPS_W_STATE, 1);
	fputs("  ", stdout);
	print_cell(stdout, print_jstr(fu, "created_by"), FOLLOWUPS_W_BY, 1);
	fputs("  ", stdout);
	print_cell(stdout, print_jstr(fu, "note"), FOLLOWUPS_W_NOTE, 0);
	putchar('\n');
	print_closed_line(fu, idw, "done", "done_at", "done_by", FOLLOWUPS_W_DONE_BY, "done_note",
	                  FOLLOWUPS_W_DONE);
}

static const struct cmd_list_spec cmd_followups_spec = {
    .op = "followup.list",
    .key = "followups",
    .none = "no follow-ups",
    .build = cmd_followups_build,
    .head = cmd_followups_head,
    .row = cmd_followups_row,
};

static int
cmd_followups_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	static const char *const states[] = {"open", "overdue", "done", "all", NULL};
	const char *state = a->opts[FOLLOWUPS_OPT_STATE];
	struct followups_query q = {.a = a, .all = a->switches[0]};

	if (state != NULL && !cmd_one_of(state, states))
		return cmd_usage_error(
		    e, "followups: --state is open, overdue, done or all, not '%s'", state);
	if (cmd_check_limit(a->opts[FOLLOWUPS_OPT_LIMIT]) == -1)
		return cmd_usage_error(e, "followups: --limit wants 1 to 1000, not '%s'",
		                       a->opts[FOLLOWUPS_OPT_LIMIT]);
	return cmd_list(c, &cmd_followups_spec, &q, a->opts[FOLLOWUPS_OPT_CURSOR], q.all);
}

const struct cmd_entry cmd_followups_entry = {
    .name = "followups",
    .args = "[--state open|overdue|done|all] [--caller C] [--limit N] [--cursor X] [--all]",
    .summary = "list follow-up tasks (default: open)",
    .options = cmd_followups_options,
    .switches = cmd_followups_switches,
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_followups_exec,
};
