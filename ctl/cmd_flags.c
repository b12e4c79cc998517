/* flags: search flags by code, source, state, author and time, newest first (flag.list). */
#include <stdio.h>

#include "ctl.h"

enum {
	FLAGS_OPT_CODE,
	FLAGS_OPT_SOURCE,
	FLAGS_OPT_STATE,
	FLAGS_OPT_BY,
	FLAGS_OPT_SINCE,
	FLAGS_OPT_UNTIL,
	FLAGS_OPT_LIMIT,
	FLAGS_OPT_CURSOR
};

static const char *const cmd_flags_options[] = {"code",  "source", "state",  "by", "since",
                                                "until", "limit",  "cursor", NULL};
static const char *const cmd_flags_switches[] = {"all", NULL};

/* The filters, parsed once so that every page of --all asks the same question. */
struct flags_query {
	const struct cmd_args *a;
	long long since, until; /* -1: absent */
	int all;
};

static void
cmd_flags_build(struct jbuf *jb, const void *ctx)
{
	const struct flags_query *q = ctx;
	const char *const *o = q->a->opts;

	if (o[FLAGS_OPT_CODE] != NULL)
		jb_kstr(jb, "code", o[FLAGS_OPT_CODE]);
	if (o[FLAGS_OPT_SOURCE] != NULL)
		jb_kstr(jb, "source", o[FLAGS_OPT_SOURCE]);
	if (o[FLAGS_OPT_STATE] != NULL)
		jb_kstr(jb, "state", o[FLAGS_OPT_STATE]);
	if (o[FLAGS_OPT_BY] != NULL)
		jb_kstr(jb, "by", o[FLAGS_OPT_BY]);
	if (q->since >= 0)
		jb_kint(jb, "since", q->since);
	if (q->until >= 0)
		jb_kint(jb, "until", q->until);
	cmd_klimit(jb, o[FLAGS_OPT_LIMIT], q->all);
}

static void
cmd_flags_head(int idw)
{
	print_flag_head(idw, 1);
}

static void
cmd_flags_row(const cJSON *f, int idw)
{
	print_flag_row(f, idw, 1);
}

static const struct cmd_list_spec cmd_flags_spec = {
    .op = "flag.list",
    .key = "flags",
    .none = "no flags",
    .build = cmd_flags_build,
    .head = cmd_flags_head,
    .row = cmd_flags_row,
};

static int
cmd_flags_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	static const char *const states[] = {"active", "expired", "revoked", "all", NULL};
	const char *state = a->opts[FLAGS_OPT_STATE];
	struct flags_query q = {.a = a, .all = a->switches[0]};

	if (state != NULL && !cmd_one_of(state, states))
		return cmd_usage_error(
		    e, "flags: --state is active, expired, revoked or all, not '%s'", state);
	if (cmd_check_limit(a->opts[FLAGS_OPT_LIMIT]) == -1)
		return cmd_usage_error(e, "flags: --limit wants 1 to 1000, not '%s'",
		                       a->opts[FLAGS_OPT_LIMIT]);
	if (cmd_time_range(e, a->opts[FLAGS_OPT_SINCE], a->opts[FLAGS_OPT_UNTIL], &q.since,
	                   &q.until) != 0)
		return CTL_EXIT_USAGE;
	return cmd_list(c, &cmd_flags_spec, &q, a->opts[FLAGS_OPT_CURSOR], q.all);
}

const struct cmd_entry cmd_flags_entry = {
    .name = "flags",
    .args = "[--code C] [--source S] [--state active|expired|revoked|all] [--by NAME] "
            "[--since T] [--until T] [--limit N] [--cursor X] [--all]",
    .summary = "search flags, newest first",
    .options = cmd_flags_options,
    .switches = cmd_flags_switches,
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_flags_exec,
};
