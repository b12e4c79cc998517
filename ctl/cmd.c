/* The command table of callwardenctl and what every command shares: usage, numbers, requests. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* Adding a command: one cmd_<name>.c defining cmd_<name>_entry, and one line here. */
const struct cmd_entry *const cmd_table[] = {
    &cmd_ping_entry,     &cmd_route_entry, &cmd_flag_entry,
    &cmd_revoke_entry,   &cmd_show_entry,  &cmd_report_entry,
    &cmd_tail_entry,     &cmd_flags_entry, &cmd_followups_entry,
    &cmd_followup_entry, &cmd_done_entry,  &cmd_audit_entry,
    &cmd_export_entry,   &cmd_stats_entry, &cmd_policy_entry,
    &cmd_send_entry,     &cmd_help_entry,  NULL,
};

#define CMD_SYNOPSIS                                                                               \
	"callwardenctl [--socket PATH | --tcp HOST:PORT [--token-file PATH]] [--json]\n"           \
	"                     [--timeout SECONDS] COMMAND [ARGS]"

const struct cmd_entry *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; cmd_table[i] != NULL; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

const struct cmd_entry *
cmd_find_sub(const struct cmd_entry *e, const char *word)
{
	size_t i, n = strlen(e->name);

	for (i = 0; e->subs != NULL && e->subs[i] != NULL; i++)
		if (strncmp(e->subs[i]->name, e->name, n) == 0 && e->subs[i]->name[n] == ' ' &&
		    strcmp(e->subs[i]->name + n + 1, word) == 0)
			return e->subs[i];
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

int
cmd_switch_index(const struct cmd_entry *e, const char *name)
{
	int i;

	if (e->switches == NULL)
		return -1;
	for (i = 0; e->switches[i] != NULL && i < CMD_MAX_SWITCHES; i++)
		if (strcmp(e->switches[i], name) == 0)
			return i;
	return -1;
}

/* Width of the help text; synopses wrap at a space outside brackets, before this column. */
#define CMD_HELP_WIDTH 80

/* Writes "  name args", wrapping args with a 6-space indent; returns the width used. */
static int
cmd_usage_synopsis(FILE *f, const struct cmd_entry *e)
{
	const char *p = e->args, *tok;
	int col, depth = 0, wrapped = 0;
	size_t len;

	col = fprintf(f, "  %s", e->name);
	while (*p != '\0') {
		/* One token: up to a space at bracket depth 0. */
		tok = p;
		for (; *p != '\0' && (*p != ' ' || depth > 0); p++) {
			if (*p == '[' || *p == '(')
				depth++;
			else if ((*p == ']' || *p == ')') && depth > 0)
				depth--;
		}
		len = (size_t)(p - tok);
		if (col + 1 + (int)len > CMD_HELP_WIDTH && col > 6) {
			fputs("\n      ", f);
			col = 6;
			wrapped = 1;
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(tok, 1, len, f);
		col += (int)len;
		while (*p == ' ')
			p++;
	}
	/* A wrapped synopsis gets its summary on a line of its own. */
	return wrapped ? CMD_HELP_WIDTH : col;
}

/* A command's line (or its subcommands' lines) in the command list. */
static void
cmd_usage_line(FILE *f, const struct cmd_entry *e)
{
	size_t i;
	int n;

	if (e->subs != NULL) {
		for (i = 0; e->subs[i] != NULL; i++)
			cmd_usage_line(f, e->subs[i]);
		return;
	}
	n = cmd_usage_synopsis(f, e);
	if (n > 40)
		fprintf(f, "\n%42s%s\n", "", e->summary);
	else
		fprintf(f, "%*s%s\n", 42 - n, "", e->summary);
}

void
cmd_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s\n\ncommands:\n", CMD_SYNOPSIS);
	for (i = 0; cmd_table[i] != NULL; i++)
		cmd_usage_line(f, cmd_table[i]);
	fprintf(
	    f,
	    "\noptions:\n"
	    "  --socket PATH      Unix socket of the daemon (default %s,\n"
	    "                     or $%s when set)\n"
	    "  --tcp HOST:PORT    connect over TCP instead\n"
	    "  --token-file PATH  over TCP, say hello with the token in PATH (default: $%s\n"
	    "                     when set; never give a token on the command line)\n"
	    "  --json             print the daemon's raw reply line instead of readable text\n"
	    "  --timeout SECONDS  give up when a request gets no reply within this long (default "
	    "%.0f)\n"
	    "  --help, --version\n"
	    "\nexit status: 0 ok, 1 error reply, 2 usage error, 3 daemon unreachable, no reply in "
	    "time\nor malformed reply\n",
	    CTL_DEFAULT_SOCKET, CTL_SOCKET_ENV, CTL_TOKEN_ENV, CTL_DEFAULT_TIMEOUT);
	fputs("\ntimes (T): Unix seconds, a UTC date YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], or for\n"
	      "--since and --until a time ago: 30m, 24h, 7d, 2w\n",
	      f);
}

void
cmd_usage_one(FILE *f, const struct cmd_entry *e)
{
	size_t i;

	if (e->subs != NULL) {
		for (i = 0; e->subs[i] != NULL; i++)
			cmd_usage_one(f, e->subs[i]);
		return;
	}
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

/* Digits only, as a number up to max; -1 otherwise. */
static int
cmd_digits(const char *s, size_t n, long long max, long long *out)
{
	long long v = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (T or space, optional Z) in UTC. */
static int
cmd_parse_date(const char *s, long long *out)
{
	struct tm tm, back;
	size_t n = strlen(s);
	long long y, mo, d, h = 0, mi = 0, sec = 0;
	time_t t;

	if (n > 0 && s[n - 1] == 'Z')
		n--;
	if ((n != 10 && n != 16 && n != 19) || s[4] != '-' || s[7] != '-')
		return -1;
	if (cmd_digits(s, 4, 9999, &y) == -1 || cmd_digits(s + 5, 2, 12, &mo) == -1 ||
	    cmd_digits(s + 8, 2, 31, &d) == -1 || y < 1970 || mo < 1 || d < 1)
		return -1;
	if (n > 10 && ((s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
	               cmd_digits(s + 11, 2, 23, &h) == -1 || cmd_digits(s + 14, 2, 59, &mi) == -1))
		return -1;
	if (n == 19 && (s[16] != ':' || cmd_digits(s + 17, 2, 59, &sec) == -1))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)mi;
	tm.tm_sec = (int)sec;
	t = timegm(&tm);
	/* timegm normalises 2026-02-31 to March: such a date is a typo, not a time. */
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != (int)d ||
	    back.tm_mon != (int)mo - 1)
		return -1;
	*out = (long long)t;
	return 0;
}

long long
cmd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec;
}

int
cmd_parse_time(const char *s, int relative, long long now, long long *out)
{
	static const struct {
		char suffix;
		long long seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	size_t n = strlen(s), i;
	long long v;

	if (cmd_digits(s, n, CMD_TIME_MAX, out) == 0)
		return 0;
	if (cmd_parse_date(s, out) == 0)
		return *out <= CMD_TIME_MAX ? 0 : -1;
	if (!relative || n < 2)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s[n - 1] != units[i].suffix)
			continue;
		if (cmd_digits(s, n - 1, CMD_TIME_MAX, &v) == -1 || v > now / units[i].seconds)
			return -1;
		*out = now - v * units[i].seconds;
		return 0;
	}
	return -1;
}

int
cmd_kstr_list(struct jbuf *jb, const char *key, const char *list)
{
	const char *p = list, *comma;

	jb_key(jb, key);
	jb_arr_begin(jb);
	for (;;) {
		comma = strchr(p, ',');
		if ((comma != NULL ? (size_t)(comma - p) : strlen(p)) == 0)
			return -1;
		jb_strn(jb, p, comma != NULL ? (size_t)(comma - p) : strlen(p));
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	jb_arr_end(jb);
	return 0;
}

int
cmd_one_of(const char *value, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], value) == 0)
			return 1;
	return 0;
}

int
cmd_check_limit(const char *value)
{
	long long limit;

	return value == NULL ? 0 : cmd_parse_int(value, 1, 1000, &limit);
}

void
cmd_klimit(struct jbuf *jb, const char *value, int all)
{
	long long limit;

	if (value != NULL && cmd_parse_int(value, 1, 1000, &limit) == 0)
		jb_kint(jb, "limit", limit);
	else if (all) /* every page: the largest the protocol allows, fewest round trips */
		jb_kint(jb, "limit", 1000);
}

int
cmd_time_range(const struct cmd_entry *e, const char *since, const char *until,
               long long *since_out, long long *until_out)
{
	long long now = cmd_now();

	*since_out = *until_out = -1;
	if (since != NULL && cmd_parse_time(since, 1, now, since_out) == -1)
		return cmd_usage_error(e,
		                       "--since wants Unix seconds, YYYY-MM-DD[THH:MM[:SS]] or a "
		                       "time ago like 7d, 24h, 30m, not '%s'",
		                       since);
	if (until != NULL && cmd_parse_time(until, 1, now, until_out) == -1)
		return cmd_usage_error(e,
		                       "--until wants Unix seconds, YYYY-MM-DD[THH:MM[:SS]] or a "
		                       "time ago like 7d, 24h, 30m, not '%s'",
		                       until);
	if (*since_out >= 0 && *until_out >= 0 && *since_out > *until_out)
		return cmd_usage_error(e, "--since is later than --until");
	return 0;
}

char *
cmd_abs_path(const char *path)
{
	char *cwd, *abs;
	size_t n;

	if (path[0] == '/')
		abs = strdup(path);
	else {
		cwd = getcwd(NULL, 0);
		if (cwd == NULL) {
			fprintf(stderr, "callwardenctl: cannot make %s absolute: %s\n", path,
			        strerror(errno));
			return NULL;
		}
		n = strlen(cwd) + strlen(path) + 2;
		abs = malloc(n);
		if (abs != NULL)
			snprintf(abs, n, "%s%s%s", cwd,
			         cwd[0] != '\0' && cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
		free(cwd);
	}
	if (abs == NULL)
		fprintf(stderr, "callwardenctl: out of memory\n");
	return abs;
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
cmd_reply_status(struct ctl *c, const struct reply *rep)
{
	const char *code;

	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rep->json, "ok")))
		return CTL_EXIT_OK;
	if (cmd_print_error(rep->json) == 0) {
		code = print_jstr(cJSON_GetObjectItemCaseSensitive(rep->json, "error"), "code");
		if (strcmp(code, "unauthorized") == 0 && c->tcp != NULL && c->token == NULL)
			fprintf(stderr,
			        "callwardenctl: %s wants a token: set $%s or give --token-file "
			        "PATH\n",
			        c->endpoint, CTL_TOKEN_ENV);
		return CTL_EXIT_ERROR;
	}
	fprintf(stderr, "callwardenctl: %s: malformed error reply\n", c->endpoint);
	return CTL_EXIT_UNREACHABLE;
}

int
cmd_call(struct ctl *c, struct client_conn *cc, int64_t deadline, struct jbuf *jb,
         struct reply *rep)
{
	int rc;

	memset(rep, 0, sizeof(*rep));
	jb_append(jb, "\n", 1);
	if (jb->oom) {
		jb_free(jb);
		fprintf(stderr, "callwardenctl: out of memory\n");
		return CTL_EXIT_UNREACHABLE;
	}
	if (cc == NULL)
		rc = client_call(c, jb->data, jb->len, rep);
	else
		rc = client_exit(client_request(c, cc, jb->data, jb->len, deadline, rep));
	jb_free(jb);
	return rc;
}

int
cmd_request(struct ctl *c, struct jbuf *jb, void (*print)(const struct reply *rep))
{
	struct reply rep;
	int rc;

	rc = cmd_call(c, NULL, -1, jb, &rep);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (c->json || print == NULL) {
		fwrite(rep.line, 1, rep.len, stdout);
		fputc('\n', stdout);
	}
	rc = cmd_reply_status(c, &rep);
	if (rc == CTL_EXIT_OK && !c->json && print != NULL)
		print(&rep);
	client_reply_free(&rep);
	return rc;
}

/* One page's rows, with the header before the first row of the whole listing. */
static void
cmd_list_print(const struct cmd_list_spec *spec, const struct reply *rep, long long *rows, int *idw)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(rep->json, spec->key);
	const cJSON *item;

	if (*rows == 0 && cJSON_GetArraySize(arr) > 0) {
		/* The first page holds the newest, so usually the widest, ids. */
		*idw = print_id_width(arr, 2);
		spec->head(*idw);
	}
	cJSON_ArrayForEach(item, arr)
	{
		if (cJSON_IsObject(item)) {
			spec->row(item, *idw);
			(*rows)++;
		}
	}
}

int
cmd_list(struct ctl *c, const struct cmd_list_spec *spec, const void *ctx, const char *cursor,
         int all)
{
	struct client_conn cc;
	struct reply rep;
	struct jbuf jb;
	const cJSON *next;
	char *prev = cursor != NULL ? strdup(cursor) : NULL;
	long long rows = 0;
	int64_t deadline = client_deadline(c);
	int rc = CTL_EXIT_OK, idw = 2, more = 0, has_next;
	enum client_status st;

	st = client_open(c, &cc, -1, deadline);
	if (st != CLIENT_OK) {
		free(prev);
		client_close(&cc);
		return client_exit(st);
	}
	for (;;) {
		jb_init(&jb);
		jb_obj_begin(&jb);
		jb_kstr(&jb, "op", spec->op);
		spec->build(&jb, ctx);
		if (prev != NULL)
			jb_kstr(&jb, "cursor", prev);
		jb_obj_end(&jb);
		rc = cmd_call(c, &cc, deadline, &jb, &rep);
		if (rc != CTL_EXIT_OK)
			break;
		if (c->json) {
			fwrite(rep.line, 1, rep.len, stdout);
			fputc('\n', stdout);
		}
		rc = cmd_reply_status(c, &rep);
		next = cJSON_GetObjectItemCaseSensitive(rep.json, "cursor");
		if (rc == CTL_EXIT_OK &&
		    (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(rep.json, spec->key)) ||
		     !(cJSON_IsString(next) || cJSON_IsNull(next) || next == NULL))) {
			fprintf(stderr,
			        "callwardenctl: %s: malformed reply (no \"%s\" array or bad "
			        "cursor)\n",
			        c->endpoint, spec->key);
			rc = CTL_EXIT_UNREACHABLE;
		}
		if (rc == CTL_EXIT_OK && cJSON_IsString(next) && prev != NULL &&
		    strcmp(prev, next->valuestring) == 0) {
			/* Following it again would loop for ever. */
			fprintf(stderr,
			        "callwardenctl: %s: the daemon returned the same cursor again\n",
			        c->endpoint);
			rc = CTL_EXIT_UNREACHABLE;
		}
		if (rc != CTL_EXIT_OK) {
			client_reply_free(&rep);
			break;
		}
		if (!c->json)
			cmd_list_print(spec, &rep, &rows, &idw);
		free(prev);
		has_next = cJSON_IsString(next);
		prev = has_next ? strdup(next->valuestring) : NULL;
		client_reply_free(&rep);
		if (has_next && prev == NULL) {
			fprintf(stderr, "callwardenctl: out of memory\n");
			rc = CTL_EXIT_UNREACHABLE;
			break;
		}
		if (prev == NULL || !all) {
			more = prev != NULL;
			break;
		}
		/* Each page gets the full --timeout. */
		deadline = client_deadline(c);
	}
	client_close(&cc);
	if (rc == CTL_EXIT_OK && !c->json) {
		if (rows == 0)
			puts(spec->none);
		if (more) {
			fputs("more: --cursor ", stdout);
			print_esc(stdout, prev);
			putchar('\n');
		}
	}
	free(prev);
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
	if (a->argc > 1) {
		if (which->subs == NULL || cmd_find_sub(which, a->argv[1]) == NULL)
			return cmd_usage_error(e, "unknown command '%s %s'", a->argv[0],
			                       a->argv[1]);
		which = cmd_find_sub(which, a->argv[1]);
	}
	cmd_usage_one(stdout, which);
	return CTL_EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
    .name = "help",
    .args = "[COMMAND [SUBCOMMAND]]",
    .summary = "this text, or one command's usage",
    .min_args = 0,
    .max_args = 2,
    .exec = cmd_help_exec,
};
