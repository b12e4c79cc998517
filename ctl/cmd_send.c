/* send: one raw protocol line out, the raw reply line back (for ops and debugging). */
#include <string.h>

#include "ctl.h"

static int
cmd_send_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	const char *line = a->argv[0];
	size_t len = strlen(line);
	struct jbuf jb;

	/* One argument is one request: an embedded newline would pipeline a second one. */
	if (len == 0 || memchr(line, '\n', len) != NULL)
		return cmd_usage_error(e, "send: JSON must be one non-empty line");
	jb_init(&jb);
	jb_append(&jb, line, len);
	return cmd_request(c, &jb, NULL);
}

const struct cmd_entry cmd_send_entry = {
    .name = "send",
    .args = "JSON",
    .summary = "send one raw line, print the raw reply",
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_send_exec,
};
