/* revoke: revoke a flag by id (flag.revoke); it stays in the history. */
#include <stdio.h>

#include "ctl.h"

enum { REVOKE_OPT_BY, REVOKE_OPT_REASON };

static const char *const cmd_revoke_options[] = {"by", "reason", NULL};

static void
cmd_revoke_print(const struct reply *rep)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(rep->json, "flag");
	long long id;

	if (print_jint(f, "id", &id) == 0)
		printf("flag %lld revoked: ", id);
	else
		fputs("flag revoked: ", stdout);
	print_esc(stdout, print_jstr(f, "caller"));
	putchar(' ');
	print_esc(stdout, print_jstr(f, "code"));
	fputs(" (by ", stdout);
	print_esc(stdout, print_jstr(f, "revoked_by"));
	fputs(": ", stdout);
	print_esc(stdout, print_jstr(f, "revoke_reason"));
	fputs(")\n", stdout);
}

static int
cmd_revoke_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;
	long long id;

	/* Flag ids are SQLite rowids; beyond 2^53 they would not survive a JSON double. */
	if (cmd_parse_int(a->argv[0], 1, 9007199254740991LL, &id) == -1)
		return cmd_usage_error(e, "revoke: FLAG_ID must be a positive integer, not '%s'",
		                       a->argv[0]);
	if (a->opts[REVOKE_OPT_BY] == NULL)
		return cmd_usage_error(e, "revoke: --by NAME is required");
	if (a->opts[REVOKE_OPT_REASON] == NULL)
		return cmd_usage_error(e, "revoke: --reason TEXT is required");
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "flag.revoke");
	jb_kint(&jb, "flag_id", id);
	jb_kstr(&jb, "by", a->opts[REVOKE_OPT_BY]);
	jb_kstr(&jb, "reason", a->opts[REVOKE_OPT_REASON]);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_revoke_print);
}

const struct cmd_entry cmd_revoke_entry = {
    .name = "revoke",
    .args = "FLAG_ID --by NAME --reason TEXT",
    .summary = "revoke a flag (it stays in the history)",
    .options = cmd_revoke_options,
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_revoke_exec,
};
