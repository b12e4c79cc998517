/* policy check, policy reload: validate a policy file, or swap the daemon's policy safely. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

enum { RELOAD_OPT_BY };

static const char *const cmd_policy_reload_options[] = {"by", NULL};

/* An error reply: its "errors" lines and a summary when it has them, else code: message. */
static int
cmd_policy_failed(struct ctl *c, const struct reply *rep, const char *what, const char *kept)
{
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(rep->json, "errors"), *item;
	const cJSON *list = cJSON_IsArray(errors) ? errors : NULL;
	int n = 0;

	/* Every "file:line: reason" on a line of its own, as a compiler prints them. */
	cJSON_ArrayForEach(item, list)
	{
		if (!cJSON_IsString(item))
			continue;
		print_esc(stderr, item->valuestring);
		fputc('\n', stderr);
		n++;
	}
	if (n == 0)
		return cmd_reply_status(c, rep);
	fprintf(stderr, "callwardenctl: %s: %d error%s", what, n, n == 1 ? "" : "s");
	if (kept != NULL && kept[0] == '\0')
		fputs("; the daemon keeps its current policy", stderr);
	else if (kept != NULL) {
		fputs("; the daemon keeps policy ", stderr);
		print_esc(stderr, kept);
	}
	fputc('\n', stderr);
	return CTL_EXIT_ERROR;
}

int
cmd_policy_status(struct ctl *c, const struct reply *rep, const char *what, const char *kept)
{
	if (c->json) {
		fwrite(rep->line, 1, rep->len, stdout);
		fputc('\n', stdout);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep->json, "ok")))
		return CTL_EXIT_OK;
	return cmd_policy_failed(c, rep, what, kept);
}

static int
cmd_policy_check_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct reply rep;
	struct jbuf jb;
	char *path = NULL;
	int rc;

	(void)e;
	if (a->argc > 0 && (path = cmd_abs_path(a->argv[0])) == NULL)
		return CTL_EXIT_UNREACHABLE;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "policy.check");
	if (path != NULL)
		jb_kstr(&jb, "path", path);
	jb_obj_end(&jb);
	rc = cmd_call(c, NULL, -1, &jb, &rep);
	if (rc == CTL_EXIT_OK)
		rc = cmd_policy_status(c, &rep, "policy check", NULL);
	if (rc == CTL_EXIT_OK && !c->json) {
		print_esc(stdout, print_jstr(rep.json, "path") != NULL
		                      ? print_jstr(rep.json, "path")
		                      : path);
		fputs(": OK, policy ", stdout);
		print_esc(stdout, print_jstr(rep.json, "policy"));
		fputs(" (not applied)\n", stdout);
	}
	client_reply_free(&rep);
	free(path);
	return rc;
}

static void
cmd_policy_reload_print(const struct reply *rep)
{
	const char *version = print_jstr(rep->json, "policy"), *old = print_jstr(rep->json, "old");
	long long t;
	char buf[64];

	printf("%-10s", "policy");
	print_esc(stdout, old);
	fputs(" -> ", stdout);
	print_esc(stdout, version);
	if (old != NULL && version != NULL && strcmp(old, version) == 0)
		fputs(" (the same version)", stdout);
	putchar('\n');
	print_field("path", print_jstr(rep->json, "path"));
	if (print_jint(rep->json, "loaded_at", &t) == 0) {
		print_time(buf, sizeof(buf), t, PRINT_SECONDS);
		printf("%-10s%s UTC\n", "loaded", buf);
	}
}

/* The reply names the version replaced ("old"), or on errors the version kept ("policy"). */
static int
cmd_policy_reload_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	const char *by = a->opts[RELOAD_OPT_BY], *kept;
	struct reply rep;
	struct jbuf jb;
	int rc;

	if (by != NULL && by[0] == '\0')
		return cmd_usage_error(e, "policy reload: --by wants a name");
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "policy.reload");
	if (by != NULL)
		jb_kstr(&jb, "by", by);
	jb_obj_end(&jb);
	rc = cmd_call(c, NULL, -1, &jb, &rep);
	if (rc == CTL_EXIT_OK) {
		kept = print_jstr(rep.json, "policy");
		rc = cmd_policy_status(c, &rep, "policy reload", kept != NULL ? kept : "");
	}
	if (rc == CTL_EXIT_OK && !c->json)
		cmd_policy_reload_print(&rep);
	client_reply_free(&rep);
	return rc;
}

const struct cmd_entry cmd_policy_check_entry = {
    .name = "policy check",
    .args = "[FILE]",
    .summary = "validate FILE (default: the daemon's policy)",
    .min_args = 0,
    .max_args = 1,
    .exec = cmd_policy_check_exec,
};

const struct cmd_entry cmd_policy_reload_entry = {
    .name = "policy reload",
    .args = "[--by NAME]",
    .summary = "reload the daemon's policy file (kept on errors)",
    .options = cmd_policy_reload_options,
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_policy_reload_exec,
};

static const struct cmd_entry *const cmd_policy_subs[] = {
    &cmd_policy_check_entry,
    &cmd_policy_reload_entry,
    &cmd_policy_simulate_entry,
    NULL,
};

const struct cmd_entry cmd_policy_entry = {
    .name = "policy",
    .args = "check|reload|simulate ...",
    .summary = "check, reload or dry-run the routing policy",
    .subs = cmd_policy_subs,
};
