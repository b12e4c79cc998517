/* audit: the audit trail by caller, actor or time, newest first (audit.list). */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

enum {
	AUDIT_OPT_CALLER,
	AUDIT_OPT_ACTOR,
	AUDIT_OPT_SINCE,
	AUDIT_OPT_UNTIL,
	AUDIT_OPT_LIMIT,
	AUDIT_OPT_CURSOR
};

static const char *const cmd_audit_options[] = {"caller", "actor",  "since", "until",
                                                "limit",  "cursor", NULL};
static const char *const cmd_audit_switches[] = {"all", NULL};

#define AUDIT_W_TIME    19
#define AUDIT_W_ACTOR   12
#define AUDIT_W_ROLE    10
#define AUDIT_W_ACTION  14
#define AUDIT_W_SUBJECT 16
#define AUDIT_W_DETAIL  60

struct audit_query {
	const struct cmd_args *a;
	long long since, until; /* -1: absent */
	int all;
};

static void
cmd_audit_build(struct jbuf *jb, const void *ctx)
{
	const struct audit_query *q = ctx;
	const char *const *o = q->a->opts;

	if (o[AUDIT_OPT_CALLER] != NULL)
		jb_kstr(jb, "caller", o[AUDIT_OPT_CALLER]);
	if (o[AUDIT_OPT_ACTOR] != NULL)
		jb_kstr(jb, "actor", o[AUDIT_OPT_ACTOR]);
	if (q->since >= 0)
		jb_kint(jb, "since", q->since);
	if (q->until >= 0)
		jb_kint(jb, "until", q->until);
	cmd_klimit(jb, o[AUDIT_OPT_LIMIT], q->all);
}

static void
cmd_audit_head(int idw)
{
	printf("%*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", idw, "ID", AUDIT_W_TIME, "TIME (UTC)",
	       AUDIT_W_ACTOR, "ACTOR", AUDIT_W_ROLE, "ROLE", AUDIT_W_ACTION, "ACTION",
	       AUDIT_W_SUBJECT, "SUBJECT", "DETAIL");
}

/* A column from a string, a number (a flag or follow-up id) or compact JSON of anything else. */
static void
cmd_audit_cell(const cJSON *row, const char *key, size_t width, int pad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
	char *text = NULL;

	if (cJSON_IsString(v))
		print_cell(stdout, v->valuestring, width, pad);
	else if (v == NULL || cJSON_IsNull(v))
		print_cell(stdout, "-", width, pad);
	else {
		text = cJSON_PrintUnformatted(v);
		print_cell(stdout, text != NULL ? text : "?", width, pad);
		free(text);
	}
	if (pad)
		fputs("  ", stdout);
}

static void
cmd_audit_row(const cJSON *row, int idw)
{
	long long id;

	if (print_jint(row, "id", &id) == 0)
		printf("%*lld  ", idw, id);
	else
		printf("%*s  ", idw, "?");
	print_time_cell(row, "ts", PRINT_SECONDS, "-", AUDIT_W_TIME);
	cmd_audit_cell(row, "actor", AUDIT_W_ACTOR, 1);
	cmd_audit_cell(row, "role", AUDIT_W_ROLE, 1);
	cmd_audit_cell(row, "action", AUDIT_W_ACTION, 1);
	cmd_audit_cell(row, "subject", AUDIT_W_SUBJECT, 1);
	cmd_audit_cell(row, "detail", AUDIT_W_DETAIL, 0);
	putchar('\n');
}

static const struct cmd_list_spec cmd_audit_spec = {
    .op = "audit.list",
    .key = "audit",
    .none = "no audit rows",
    .build = cmd_audit_build,
    .head = cmd_audit_head,
    .row = cmd_audit_row,
};

static int
cmd_audit_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct audit_query q = {.a = a, .all = a->switches[0]};

	if (cmd_check_limit(a->opts[AUDIT_OPT_LIMIT]) == -1)
		return cmd_usage_error(e, "audit: --limit wants 1 to 1000, not '%s'",
		                       a->opts[AUDIT_OPT_LIMIT]);
	if (cmd_time_range(e, a->opts[AUDIT_OPT_SINCE], a->opts[AUDIT_OPT_UNTIL], &q.since,
	                   &q.until) != 0)
		return CTL_EXIT_USAGE;
	return cmd_list(c, &cmd_audit_spec, &q, a->opts[AUDIT_OPT_CURSOR], q.all);
}

const struct cmd_entry cmd_audit_entry = {
    .name = "audit",
    .args = "[--caller C] [--actor A] [--since T] [--until T] [--limit N] [--cursor X] [--all]",
    .summary = "the audit trail, newest first",
    .options = cmd_audit_options,
    .switches = cmd_audit_switches,
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_audit_exec,
};
