/* route: the decision a call from CALLER would get now, as a dry run that logs nothing. */
#include <stdio.h>
#include <unistd.h>

#include "ctl.h"

static void
cmd_route_print(const struct reply *rep)
{
	print_decision(rep->json);
}

static int
cmd_route_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;
	char call_id[64];

	(void)e;
	snprintf(call_id, sizeof(call_id), "ctl-%ld-%lld", (long)getpid(), cmd_now());
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "call.offered");
	jb_kstr(&jb, "call_id", call_id);
	jb_kstr(&jb, "caller", a->argv[0]);
	if (a->argc > 1)
		jb_kstr(&jb, "dialed", a->argv[1]);
	jb_kbool(&jb, "dry_run", 1);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_route_print);
}

const struct cmd_entry cmd_route_entry = {
    .name = "route",
    .args = "CALLER [DIALED]",
    .summary = "the decision a call would get now (dry run)",
    .min_args = 1,
    .max_args = 2,
    .exec = cmd_route_exec,
};
