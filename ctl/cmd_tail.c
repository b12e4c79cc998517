/* tail: subscribe to live events and print one line each until interrupted (subscribe). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

enum { TAIL_OPT_TOPICS };

static const char *const cmd_tail_options[] = {"topics", NULL};

/* The signal handlers' only channel to the read loop: a byte in this pipe wakes its poll. */
static int cmd_tail_wake[2] = {-1, -1};
static volatile sig_atomic_t cmd_tail_stop;

static void
cmd_tail_signal(int sig)
{
	int saved = errno;
	ssize_t n;

	(void)sig;
	cmd_tail_stop = 1;
	n = write(cmd_tail_wake[1], "x", 1); /* a full pipe is awake already */
	(void)n;
	errno = saved;
}

/* Installs the SIGINT and SIGTERM handlers, without SA_RESTART so a blocked write returns too. */
static int
cmd_tail_signals(void)
{
	struct sigaction sa;

	if (pipe2(cmd_tail_wake, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmd_tail_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
		return -1;
	return 0;
}

static void
cmd_tail_caller(const cJSON *obj)
{
	const char *caller = print_jstr(obj, "caller");

	print_esc(stdout, caller != NULL ? caller : "withheld");
}

/* "by NAME: TEXT" */
static void
cmd_tail_by(const char *by, const char *text)
{
	fputs(" by ", stdout);
	print_esc(stdout, by);
	fputs(": ", stdout);
	print_esc(stdout, text);
}

static void
cmd_tail_alert(const cJSON *ev)
{
	fputs("ALERT ", stdout);
	print_esc(stdout, print_jstr(ev, "code"));
	putchar(' ');
	cmd_tail_caller(ev);
	if (print_jstr(ev, "call_id") != NULL) {
		fputs(" call ", stdout);
		print_esc(stdout, print_jstr(ev, "call_id"));
	}
	cmd_tail_by(print_jstr(ev, "by"), print_jstr(ev, "reason"));
}

static void
cmd_tail_flag(const cJSON *ev)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(ev, "flag");
	const char *action = print_jstr(ev, "action");
	long long id;

	fputs("FLAG ", stdout);
	print_esc(stdout, action);
	if (print_jint(f, "id", &id) == 0)
		printf(" %lld", id);
	putchar(' ');
	print_esc(stdout, print_jstr(f, "code"));
	putchar(' ');
	cmd_tail_caller(f);
	if (action != NULL && strcmp(action, "revoke") == 0)
		cmd_tail_by(print_jstr(f, "revoked_by"), print_jstr(f, "revoke_reason"));
	else
		cmd_tail_by(print_jstr(f, "by"), print_jstr(f, "reason"));
}

static void
cmd_tail_decision(const cJSON *ev)
{
	const char *action = print_jstr(ev, "action");

	fputs("DECISION ", stdout);
	print_esc(stdout, print_jstr(ev, "call_id"));
	putchar(' ');
	cmd_tail_caller(ev);
	fputs(" -> ", stdout);
	if (action != NULL && strcmp(action, "queue") != 0)
		print_esc(stdout, action);
	else
		print_esc(stdout, print_jstr(ev, "queue"));
	fputs(" (", stdout);
	print_esc(stdout, print_jstr(ev, "rule"));
	putchar(')');
	if (print_jbool(ev, "degraded") == 1)
		fputs(" degraded", stdout);
}

/* An event this version does not know: its name in capitals, then the rest as compact JSON. */
static void
cmd_tail_other(const cJSON *ev, const char *name)
{
	char upper[64];
	char *text;
	size_t i;

	for (i = 0; name[i] != '\0' && i < sizeof(upper) - 1; i++)
		upper[i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
	upper[i] = '\0';
	print_esc(stdout, upper);
	text = cJSON_PrintUnformatted(ev);
	putchar(' ');
	print_esc(stdout, text);
	free(text);
}

static void
cmd_tail_print(const cJSON *ev, const char *name)
{
	char when[64];
	long long ts, n;

	if (print_jint(ev, "ts", &ts) != 0)
		ts = cmd_now();
	print_time(when, sizeof(when), ts, PRINT_SECONDS);
	printf("%s ", when);
	if (strcmp(name, "alert") == 0)
		cmd_tail_alert(ev);
	else if (strcmp(name, "flag") == 0)
		cmd_tail_flag(ev);
	else if (strcmp(name, "decision") == 0)
		cmd_tail_decision(ev);
	else if (strcmp(name, "overflow") == 0 && print_jint(ev, "dropped", &n) == 0)
		printf("OVERFLOW %lld event%s dropped", n, n == 1 ? "" : "s");
	else
		cmd_tail_other(ev, name);
	putchar('\n');
}

/* Prints one pushed line; a line that is not an event is reported and skipped. */
static void
cmd_tail_line(struct ctl *c, char *line, size_t len)
{
	cJSON *ev;
	const char *name;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	ev = strlen(line) == len ? cJSON_ParseWithOpts(line, NULL, 1) : NULL;
	name = print_jstr(ev, "event");
	if (!cJSON_IsObject(ev) || name == NULL) {
		fprintf(stderr, "callwardenctl: %s: skipping a line that is not an event\n",
		        c->endpoint);
	} else if (c->json) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
	} else
		cmd_tail_print(ev, name);
	cJSON_Delete(ev);
}

/* Reads and prints events until a signal (0), the daemon closes (3) or output fails (3). */
static int
cmd_tail_loop(struct ctl *c, struct client_conn *cc)
{
	enum client_status st;
	char *line;
	size_t len;

	for (;;) {
		/* client_line looks at the signal only when the socket runs dry: on a busy stream
		 * the flag is the only sign. */
		if (cmd_tail_stop)
			return CTL_EXIT_OK;
		st = client_line(c, cc, -1, &line, &len);
		if (st == CLIENT_STOPPED)
			return CTL_EXIT_OK;
		if (st == CLIENT_EOF) {
			fprintf(stderr, "callwardenctl: %s: connection closed by the daemon\n",
			        c->endpoint);
			return CTL_EXIT_UNREACHABLE;
		}
		if (st != CLIENT_OK)
			return CTL_EXIT_UNREACHABLE;
		cmd_tail_line(c, line, len);
		free(line);
		/* Someone may be watching this live: every line goes out as it comes. */
		if (fflush(stdout) != 0 || ferror(stdout)) {
			if (cmd_tail_stop) {
				/* Interrupted in a blocked write: drop what is left, or exit
				 * blocks. */
				__fpurge(stdout);
				clearerr(stdout);
				return CTL_EXIT_OK;
			}
			fprintf(stderr, "callwardenctl: cannot write output\n");
			return CTL_EXIT_UNREACHABLE;
		}
	}
}

static int
cmd_tail_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	const char *topics = a->opts[TAIL_OPT_TOPICS] != NULL ? a->opts[TAIL_OPT_TOPICS] : "alert";
	struct client_conn cc;
	struct reply rep;
	struct jbuf jb;
	enum client_status st;
	int64_t deadline;
	int rc = CTL_EXIT_UNREACHABLE;

	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "subscribe");
	if (cmd_kstr_list(&jb, "topics", topics) == -1) {
		jb_free(&jb);
		return cmd_usage_error(e,
		                       "tail: --topics wants a comma-separated list such as "
		                       "alert,flag,decision, not '%s'",
		                       topics);
	}
	jb_obj_end(&jb);
	jb_append(&jb, "\n", 1);
	if (jb.oom || cmd_tail_signals() == -1) {
		jb_free(&jb);
		fprintf(stderr, "callwardenctl: tail: cannot set up: %s\n", strerror(errno));
		return CTL_EXIT_UNREACHABLE;
	}
	/* --timeout covers connecting and the subscribe reply; events may take hours. */
	deadline = client_deadline(c);
	st = client_open(c, &cc, cmd_tail_wake[0], deadline);
	if (st == CLIENT_OK)
		st = client_send(c, &cc, jb.data, jb.len, deadline);
	if (st == CLIENT_OK)
		st = client_reply(c, &cc, deadline, &rep);
	jb_free(&jb);
	if (st == CLIENT_OK) {
		rc = cmd_reply_status(c, &rep);
		client_reply_free(&rep);
		if (rc == CTL_EXIT_OK && isatty(STDERR_FILENO) && isatty(STDOUT_FILENO)) {
			fputs("callwardenctl: waiting for ", stderr);
			print_esc(stderr, topics);
			fputs(" events (Ctrl-C to stop)\n", stderr);
		}
		if (rc == CTL_EXIT_OK)
			rc = cmd_tail_loop(c, &cc);
	} else
		rc = client_exit(st);
	client_close(&cc);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	close(cmd_tail_wake[0]);
	close(cmd_tail_wake[1]);
	return rc;
}

const struct cmd_entry cmd_tail_entry = {
    .name = "tail",
    .args = "[--topics alert,flag,decision]",
    .summary = "print live events as they come (default: alerts)",
    .options = cmd_tail_options,
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_tail_exec,
};
