/* show: a caller's score, current route and flag history as a table (caller.show). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

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

static void
cmd_show_print(const struct reply *rep)
{
	const cJSON *flags = cJSON_GetObjectItemCaseSensitive(rep->json, "flags");
	const cJSON *route = cJSON_GetObjectItemCaseSensitive(rep->json, "route");
	const cJSON *f, *score = cJSON_GetObjectItemCaseSensitive(rep->json, "score");
	long long active;
	int nflags = cJSON_GetArraySize(flags), idw;

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
	idw = print_id_width(flags, 2);
	print_flag_head(idw, 0);
	cJSON_ArrayForEach(f, flags)
	{
		if (cJSON_IsObject(f))
			print_flag_row(f, idw, 0);
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
