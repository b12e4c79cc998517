/* show: a caller's score, current route and flag history as a table (caller.show). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* Column widths of the flag table; the reason, last, is cut rather than padded. */
#define SHOW_W_STATE         7
#define SHOW_W_CODE          8
#define SHOW_W_CREATED       16
#define SHOW_W_EXPIRES       10
#define SHOW_W_BY            12
#define SHOW_W_SOURCE        10
#define SHOW_W_REASON        40
#define SHOW_W_REVOKE_BY     24
#define SHOW_W_REVOKE_REASON 60

static void
cmd_show_route(const cJSON *route)
{
	const char *action = print_jstr(route, "action");
	long long prio;

	printf("%-10s", "route");
	if (action != NULL && strcmp(action, "queue") != 0)
		print_esc(stdout, action);
	else
		print_esc(stdout, print_jstr(route, "queue"));
	fputs(" (rule ", stdout);
	print_esc(stdout, print_jstr(route, "rule"));
	if (print_jint(route, "priority", &prio) == 0)
		printf(", priority %lld", prio);
	if (print_jbool(route, "record") == 1)
		fputs(", record", stdout);
	if (print_jbool(route, "alert") == 1)
		fputs(", alert", stdout);
	if (print_jbool(route, "degraded") == 1)
		fputs(", degraded", stdout);
	fputs(")\n", stdout);
	if (print_jstr(route, "reason") != NULL)
		print_field("reason", print_jstr(route, "reason"));
}

/* A Unix time column: date and time, date only, or the text for null. */
static void
cmd_show_time(const cJSON *f, const char *key, int with_time, const char *none, size_t width)
{
	char buf[64];
	long long t;

	if (print_jint(f, key, &t) == 0)
		print_time(buf, sizeof(buf), t, with_time);
	else
		snprintf(buf, sizeof(buf), "%s", none);
	print_cell(stdout, buf, width, 1);
	fputs("  ", stdout);
}

static void
cmd_show_row(const cJSON *f, int idw)
{
	long long id;
	char buf[64];

	if (print_jint(f, "id", &id) == 0)
		printf("%*lld  ", idw, id);
	else
		printf("%*s  ", idw, "?");
	print_cell(stdout, print_jstr(f, "state"), SHOW_W_STATE, 1);
	fputs("  ", stdout);
	print_cell(stdout, print_jstr(f, "code"), SHOW_W_CODE, 1);
	fputs("  ", stdout);
	cmd_show_time(f, "created_at", 1, "-", SHOW_W_CREATED);
	cmd_show_time(f, "expires_at", 0, "never", SHOW_W_EXPIRES);
	print_cell(stdout, print_jstr(f, "by"), SHOW_W_BY, 1);
	fputs("  ", stdout);
	print_cell(stdout, print_jstr(f, "source"), SHOW_W_SOURCE, 1);
	fputs("  ", stdout);
	print_cell(stdout, print_jstr(f, "reason"), SHOW_W_REASON, 0);
	putchar('\n');
	if (print_jint(f, "revoked_at", &id) == 0) {
		print_time(buf, sizeof(buf), id, 1);
		printf("%*s  revoked %s by ", idw, "", buf);
		print_cell(stdout, print_jstr(f, "revoked_by"), SHOW_W_REVOKE_BY, 0);
		fputs(": ", stdout);
		print_cell(stdout, print_jstr(f, "revoke_reason"), SHOW_W_REVOKE_REASON, 0);
		putchar('\n');
	}
}

static void
cmd_show_print(const struct reply *rep)
{
	const cJSON *flags = cJSON_GetObjectItemCaseSensitive(rep->json, "flags");
	const cJSON *route = cJSON_GetObjectItemCaseSensitive(rep->json, "route");
	const cJSON *f, *score = cJSON_GetObjectItemCaseSensitive(rep->json, "score");
	long long active, id;
	char digits[32];
	int nflags = cJSON_GetArraySize(flags), idw = 2, n;

	print_field("caller", print_jstr(rep->json, "caller"));
	if (cJSON_IsNumber(score))
		printf("%-10s%.2f\n", "score", score->valuedouble);
	if (print_jint(rep->json, "active_flags", &active) == 0)
		printf("%-10s%lld of %d flag%s\n", "active", active, nflags,
		       nflags == 1 ? "" : "s");
	if (cJSON_IsObject(route))
		cmd_show_route(route);
	putchar('\n');
	if (!cJSON_IsArray(flags) || nflags == 0) {
		puts("no flags");
		return;
	}
	cJSON_ArrayForEach(f, flags)
	{
		if (print_jint(f, "id", &id) == 0) {
			n = snprintf(digits, sizeof(digits), "%lld", id);
			if (n > idw)
				idw = n;
		}
	}
	printf("%*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", idw, "ID", SHOW_W_STATE, "STATE",
	       SHOW_W_CODE, "CODE", SHOW_W_CREATED, "CREATED (UTC)", SHOW_W_EXPIRES, "EXPIRES",
	       SHOW_W_BY, "BY", SHOW_W_SOURCE, "SOURCE", "REASON");
	cJSON_ArrayForEach(f, flags)
	{
		if (cJSON_IsObject(f))
			cmd_show_row(f, idw);
	}
}

static int
cmd_show_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;

	(void)e;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "caller.show");
	jb_kstr(&jb, "caller", a->argv[0]);
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_show_print);
}

const struct cmd_entry cmd_show_entry = {
    .name = "show",
    .args = "CALLER",
    .summary = "a caller's score, route and flag history",
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_show_exec,
};
