/*
 * policy simulate: how the logged calls of a time range would have been routed by a candidate
 * policy, next to the current one (policy.simulate): counts per queue and per rule with the
 * difference, and a sample of the calls that would change, with both reasons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

enum { SIM_OPT_SINCE, SIM_OPT_UNTIL };

static const char *const cmd_sim_options[] = {"since", "until", NULL};

/* Column widths: names are cut past SIM_W_NAME; a route is "queue (rule)". */
#define SIM_W_NAME   32
#define SIM_W_CALLER 16
#define SIM_W_CALL   16
#define SIM_W_ROUTE  28

static int
cmd_sim_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds the keys of obj to names (no duplicates). */
static void
cmd_sim_collect(const cJSON *obj, const char **names, size_t *n)
{
	const cJSON *item, *o = cJSON_IsObject(obj) ? obj : NULL;
	size_t i;

	cJSON_ArrayForEach(item, o)
	{
		for (i = 0; i < *n && strcmp(names[i], item->string) != 0; i++)
			;
		if (i == *n)
			names[(*n)++] = item->string;
	}
}

static long long
cmd_sim_count(const cJSON *obj, const char *name)
{
	long long v;

	return print_jint(obj, name, &v) == 0 ? v : 0;
}

/* Width for a name column: the widest name escaped, within [min, SIM_W_NAME]. */
static size_t
cmd_sim_width(const cJSON *cur, const cJSON *cand, size_t w)
{
	const cJSON *side[2] = {cur, cand}, *item, *o;
	size_t k, iw;

	for (k = 0; k < 2; k++) {
		o = cJSON_IsObject(side[k]) ? side[k] : NULL;
		cJSON_ArrayForEach(item, o)
		{
			iw = print_width(item->string);
			if (iw > w)
				w = iw < SIM_W_NAME ? iw : SIM_W_NAME;
		}
	}
	return w;
}

/* One table: every queue (or rule) of either side, by name, with both counts and the change. */
static void
cmd_sim_table(const char *title, const cJSON *cur, const cJSON *cand, size_t w)
{
	const char **names;
	long long a, b;
	size_t n = 0, i;

	names = malloc(((size_t)cJSON_GetArraySize(cur) + (size_t)cJSON_GetArraySize(cand) + 1) *
	               sizeof(*names));
	if (names == NULL) {
		fprintf(stderr, "callwardenctl: out of memory\n");
		return;
	}
	cmd_sim_collect(cur, names, &n);
	cmd_sim_collect(cand, names, &n);
	qsort(names, n, sizeof(*names), cmd_sim_name_cmp);
	printf("\n%-*s  %9s  %9s  %9s\n", (int)w, title, "CURRENT", "CANDIDATE", "CHANGE");
	for (i = 0; i < n; i++) {
		a = cmd_sim_count(cur, names[i]);
		b = cmd_sim_count(cand, names[i]);
		print_cell(stdout, names[i], w, 1);
		printf("  %9lld  %9lld  ", a, b);
		if (a == b)
			printf("%9s\n", "0");
		else
			printf("%+9lld\n", b - a);
	}
	if (n == 0)
		puts("(none)");
	free(names);
}

/* "queue (rule)" of one side of a changed call, as a column. */
static void
cmd_sim_route(const cJSON *r, size_t width, int pad)
{
	const char *queue = print_jstr(r, "queue"), *rule = print_jstr(r, "rule");
	size_t n = strlen(queue != NULL ? queue : "-") + strlen(rule != NULL ? rule : "-") + 4;
	char *text = malloc(n);

	if (text == NULL) {
		print_cell(stdout, "?", width, pad);
		return;
	}
	snprintf(text, n, "%s (%s)", queue != NULL ? queue : "-", rule != NULL ? rule : "-");
	print_cell(stdout, text, width, pad);
	free(text);
}

static void
cmd_sim_changed(const cJSON *changed, long long total)
{
	const cJSON *ch, *from, *to, *list = cJSON_IsArray(changed) ? changed : NULL;
	const char *caller;
	int shown = 0;

	if (total == 0 && cJSON_GetArraySize(changed) == 0) {
		puts("\nno call would be routed differently");
		return;
	}
	printf("\n%-*s  %-*s  %-*s  %s\n", SIM_W_CALLER, "CALLER", SIM_W_CALL, "CALL ID",
	       SIM_W_ROUTE, "CURRENT", "CANDIDATE");
	cJSON_ArrayForEach(ch, list)
	{
		if (!cJSON_IsObject(ch))
			continue;
		from = cJSON_GetObjectItemCaseSensitive(ch, "from");
		to = cJSON_GetObjectItemCaseSensitive(ch, "to");
		caller = print_jstr(ch, "caller");
		print_cell(stdout, caller != NULL ? caller : "withheld", SIM_W_CALLER, 1);
		fputs("  ", stdout);
		print_cell(stdout, print_jstr(ch, "call_id"), SIM_W_CALL, 1);
		fputs("  ", stdout);
		cmd_sim_route(from, SIM_W_ROUTE, 1);
		fputs("  ", stdout);
		cmd_sim_route(to, SIM_W_ROUTE, 0);
		/* The reasons in full, on lines of their own: they say why the route changes. */
		fputs("\n    current:   ", stdout);
		print_esc(stdout, print_jstr(from, "reason"));
		fputs("\n    candidate: ", stdout);
		print_esc(stdout, print_jstr(to, "reason"));
		putchar('\n');
		shown++;
	}
	if (total > shown)
		printf("(%d of %lld changed calls shown)\n", shown, total);
}

static void
cmd_sim_print(const struct reply *rep)
{
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(rep->json, "current");
	const cJSON *cand = cJSON_GetObjectItemCaseSensitive(rep->json, "candidate");
	const cJSON *cq = cJSON_GetObjectItemCaseSensitive(cur, "queues");
	const cJSON *nq = cJSON_GetObjectItemCaseSensitive(cand, "queues");
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(cur, "rules");
	const cJSON *nr = cJSON_GetObjectItemCaseSensitive(cand, "rules");
	long long calls = 0, changed = 0, since, until;
	char a[64], b[64];
	size_t w;

	if (print_jint(rep->json, "since", &since) == 0 &&
	    print_jint(rep->json, "until", &until) == 0) {
		print_time(a, sizeof(a), since, PRINT_SECONDS);
		print_time(b, sizeof(b), until, PRINT_SECONDS);
		printf("%-10s%s to %s UTC\n", "range", a, b);
	}
	print_jint(rep->json, "calls", &calls);
	print_jint(rep->json, "changed_calls", &changed);
	printf("%-10s%lld replayed%s\n", "calls", calls,
	       print_jbool(rep->json, "truncated") == 1 ? " (truncated: the range holds more)"
	                                                : "");
	print_field("current", print_jstr(cur, "policy"));
	print_field("candidate", print_jstr(cand, "policy"));
	printf("%-10s%lld of %lld calls\n", "changed", changed, calls);
	/* One width for both tables, so that their columns line up. */
	w = cmd_sim_width(cr, nr, cmd_sim_width(cq, nq, 5));
	cmd_sim_table("QUEUE", cq, nq, w);
	cmd_sim_table("RULE", cr, nr, w);
	cmd_sim_changed(cJSON_GetObjectItemCaseSensitive(rep->json, "changed"), changed);
}

static int
cmd_sim_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct reply rep;
	struct jbuf jb;
	long long since, until;
	char *path;
	int rc;

	if (cmd_time_range(e, a->opts[SIM_OPT_SINCE], a->opts[SIM_OPT_UNTIL], &since, &until) != 0)
		return CTL_EXIT_USAGE;
	if (!c->timeout_given)
		c->timeout_s = CTL_SLOW_TIMEOUT;
	path = cmd_abs_path(a->argv[0]);
	if (path == NULL)
		return CTL_EXIT_UNREACHABLE;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "policy.simulate");
	jb_kstr(&jb, "path", path);
	if (since >= 0)
		jb_kint(&jb, "since", since);
	if (until >= 0)
		jb_kint(&jb, "until", until);
	jb_obj_end(&jb);
	free(path);
	rc = cmd_call(c, NULL, -1, &jb, &rep);
	if (rc == CTL_EXIT_OK)
		rc = cmd_policy_status(c, &rep, "policy simulate", NULL);
	if (rc == CTL_EXIT_OK && !c->json)
		cmd_sim_print(&rep);
	client_reply_free(&rep);
	return rc;
}

const struct cmd_entry cmd_policy_simulate_entry = {
    .name = "policy simulate",
    .args = "FILE [--since T] [--until T]",
    .summary = "dry-run FILE on the logged calls (default: 7 days)",
    .options = cmd_sim_options,
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_sim_exec,
};
