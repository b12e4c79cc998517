/* ping: is the daemon there, which version, which policy. */
#include "ctl.h"

static void
cmd_ping_print(const struct reply *rep)
{
	fputs("callwardend ", stdout);
	print_esc(stdout, print_jstr(rep->json, "version"));
	fputs(", policy ", stdout);
	print_esc(stdout, print_jstr(rep->json, "policy"));
	putchar('\n');
}

static int
cmd_ping_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;

	(void)e;
	(void)a;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "ping");
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_ping_print);
}

const struct cmd_entry cmd_ping_entry = {
    .name = "ping",
    .args = "",
    .summary = "print the daemon version and policy",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_ping_exec,
};
