/* The command table of callwardenctl and what every command shares: usage, numbers, requests. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Adding a command: one cmd_<name>.c defining cmd_<name>_entry, and one line here. */
const struct cmd_entry *const cmd_table[] = {
    &cmd_ping_entry,   &cmd_route_entry, &cmd_flag_entry,
    &cmd_revoke_entry, &cmd_show_entry,  &cmd_stats_entry,
    &cmd_send_entry,   &cmd_help_entry,  NULL,
};

#define CMD_SYNOPSIS                                                                               \
	"callwardenctl [--socket PATH | --tcp HOST:PORT] [--json] [--timeout SECONDS] COMMAND "    \
	"[ARGS]"

const struct cmd_entry *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; cmd_table[i] != NULL; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

int
cmd_option_index(const struct cmd_entry *e, const char *name)
{
	int i;

	if (e->options == NULL)
		return -1;
	for (i = 0; e->options[i] != NULL && i < CMD_MAX_OPTS; i++)
		if (strcmp(e->options[i], name) == 0)
			return i;
	return -1;
}

void
cmd_usage(FILE *f)
{
	size_t i;
	int n;

	fprintf(f, "usage: %s\n\ncommands:\n", CMD_SYNOPSIS);
	for (i = 0; cmd_table[i] != NULL; i++) {
		n = fprintf(f, "  %s%s%s", cmd_table[i]->name, cmd_table[i]->args[0] ? " " : "",
		            cmd_table[i]->args);
		if (n > 40)
			fprintf(f, "\n%42s%s\n", "", cmd_table[i]->summary);
		else
			fprintf(f, "%*s%s\n", 42 - n, "", cmd_table[i]->summary);
	}
	fprintf(
	    f,
	    "\noptions:\n"
	    "  --socket PATH      Unix socket of the daemon (default %s,\n"
	    "                     or $%s when set)\n"
	    "  --tcp HOST:PORT    connect over TCP instead\n"
	    "  --json             print the daemon's raw reply line instead of readable text\n"
	    "  --timeout SECONDS  give up after this long (default %.0f)\n"
	    "  --help, --version\n"
	    "\nexit status: 0 ok, 1 error reply, 2 usage error, 3 daemon unreachable, no reply in "
	    "time\nor malformed reply\n",
	    CTL_DEFAULT_SOCKET, CTL_SOCKET_ENV, CTL_DEFAULT_TIMEOUT);
}

void
cmd_usage_one(FILE *f, const struct cmd_entry *e)
{
	fprintf(f, "usage: callwardenctl [OPTIONS] %s%s%s\n       %s\n", e->name,
	        e->args[0] ? " " : "", e->args, e->summary);
}

int
cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	va_list ap;

	fputs("callwardenctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (e != NULL)
		cmd_usage_one(stderr, e);
	else
		fprintf(stderr, "usage: %s\n", CMD_SYNOPSIS);
	fputs("(callwardenctl help lists the commands)\n", stderr);
	return CTL_EXIT_USAGE;
}

int
cmd_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;
	const char *p;

	/* strtoll alone would accept spaces, signs and hex-looking junk. */
	if (s[0] == '\0')
		return -1;
	for (p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
cmd_parse_positive(const char *s, double max, double *out)
{
	const char *p = s;
	double v;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	if (*p != '\0' || digits == 0)
		return -1;
	v = strtod(s, NULL);
	if (!isfinite(v) || v <= 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Prints an error reply to stderr; -1 when it is not shaped like one. */
static int
cmd_print_error(const cJSON *json)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(json, "error");
	const char *code = print_jstr(err, "code");
	const char *msg = print_jstr(err, "message");

	if (code == NULL)
		return -1;
	fputs("callwardenctl: ", stderr);
	print_esc(stderr, code);
	fputs(": ", stderr);
	print_esc(stderr, msg != NULL ? msg : "(no message)");
	fputc('\n', stderr);
	return 0;
}

int
cmd_request(struct ctl *c, struct jbuf *jb, void (*print)(const struct reply *rep))
{
	struct reply rep;
	int rc;

	jb_append(jb, "\n", 1);
	if (jb->oom) {
		jb_free(jb);
		fprintf(stderr, "callwardenctl: out of memory\n");
		return CTL_EXIT_UNREACHABLE;
	}
	rc = client_call(c, jb->data, jb->len, &rep);
	jb_free(jb);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (c->json || print == NULL) {
		fwrite(rep.line, 1, rep.len, stdout);
		fputc('\n', stdout);
	}
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rep.json, "ok"))) {
		rc = CTL_EXIT_ERROR;
		if (cmd_print_error(rep.json) == -1) {
			fprintf(stderr, "callwardenctl: %s: malformed error reply\n", c->endpoint);
			rc = CTL_EXIT_UNREACHABLE;
		}
	} else if (!c->json && print != NULL)
		print(&rep);
	client_reply_free(&rep);
	return rc;
}

static int
cmd_help_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	const struct cmd_entry *which;

	(void)c;
	if (a->argc == 0) {
		cmd_usage(stdout);
		return CTL_EXIT_OK;
	}
	which = cmd_find(a->argv[0]);
	if (which == NULL)
		return cmd_usage_error(e, "unknown command '%s'", a->argv[0]);
	cmd_usage_one(stdout, which);
	return CTL_EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
    .name = "help",
    .args = "[COMMAND]",
    .summary = "this text, or one command's usage",
    .min_args = 0,
    .max_args = 1,
    .exec = cmd_help_exec,
};
