/* flag: add an abuse flag to a caller (flag.add). */
#include <stdio.h>

#include "ctl.h"

enum { FLAG_OPT_REASON, FLAG_OPT_BY, FLAG_OPT_EXPIRES_DAYS };

static const char *const cmd_flag_options[] = {"reason", "by", "expires-days", NULL};

static void
cmd_flag_print(const struct reply *rep)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(rep->json, "flag");
	long long id, exp;
	char when[64];

	if (print_jint(f, "id", &id) == 0)
		printf("flag %lld added: ", id);
	else
		fputs("flag added: ", stdout);
	print_esc(stdout, print_jstr(f, "caller"));
	putchar(' ');
	print_esc(stdout, print_jstr(f, "code"));
	if (print_jint(f, "expires_at", &exp) == 0) {
		print_time(when, sizeof(when), exp, 1);
		printf(" (expires %s UTC)\n", when);
	} else
		fputs(" (never expires)\n", stdout);
}

static int
cmd_flag_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;
	double days = 0;

	if (a->opts[FLAG_OPT_REASON] == NULL)
		return cmd_usage_error(e, "flag: --reason TEXT is required");
	if (a->opts[FLAG_OPT_BY] == NULL)
		return cmd_usage_error(e, "flag: --by NAME is required");
	if (a->opts[FLAG_OPT_EXPIRES_DAYS] != NULL &&
	    cmd_parse_positive(a->opts[FLAG_OPT_EXPIRES_DAYS], 36500, &days) == -1)
		return cmd_usage_error(e,
		                       "flag: --expires-days wants a number of days > 0 and <= "
		                       "36500, not '%s'",
		                       a->opts[FLAG_OPT_EXPIRES_DAYS]);
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "flag.add");
	jb_kstr(&jb, "caller", a->argv[0]);
	jb_kstr(&jb, "code", a->argv[1]);
	jb_kstr(&jb, "reason", a->opts[FLAG_OPT_REASON]);
	jb_kstr(&jb, "by", a->opts[FLAG_OPT_BY]);
	if (days > 0)
		jb_knum(&jb, "expires_days", days);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_flag_print);
}

const struct cmd_entry cmd_flag_entry = {
    .name = "flag",
    .args = "CALLER CODE --reason TEXT --by NAME [--expires-days N]",
    .summary = "flag a caller with a policy code",
    .options = cmd_flag_options,
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_flag_exec,
};
