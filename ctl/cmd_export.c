/* export: everything known about one caller as one JSON document, for a manager or legal. */
#include <stdio.h>

#include "ctl.h"

/*
 * JSON is the right human format here: pretty-printed, safe on a terminal, and without the
 * protocol's envelope ("ok", "id"), so that what is handed over is just the record.
 */
static void
cmd_export_print(const struct reply *rep)
{
	print_json(stdout, rep->json, 1);
}

static int
cmd_export_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;

	(void)e;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "caller.export");
	jb_kstr(&jb, "caller", a->argv[0]);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_export_print);
}

const struct cmd_entry cmd_export_entry = {
    .name = "export",
    .args = "CALLER",
    .summary = "everything about a caller as pretty JSON (for legal)",
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_export_exec,
};
