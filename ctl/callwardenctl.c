/* callwardenctl: the supervisor and ops command line for callwardend (main and option parsing). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Global options that take a value. */
enum ctl_gopt { GOPT_SOCKET, GOPT_TCP, GOPT_TIMEOUT, GOPT_TOKEN_FILE, GOPT_NONE };

static const char *const ctl_gopt_names[] = {"socket", "tcp", "timeout", "token-file", NULL};

static enum ctl_gopt
ctl_gopt_find(const char *name)
{
	int i;

	for (i = 0; ctl_gopt_names[i] != NULL; i++)
		if (strcmp(ctl_gopt_names[i], name) == 0)
			return (enum ctl_gopt)i;
	return GOPT_NONE;
}

/* Checks "HOST:PORT" (host may be [v6]) so that mistakes are usage errors, not connect errors. */
static int
ctl_valid_tcp(const char *s)
{
	const char *colon = strrchr(s, ':');
	long long port;

	if (colon == NULL || colon == s)
		return 0;
	if (cmd_parse_int(colon + 1, 1, 65535, &port) == -1)
		return 0;
	if (s[0] == '[' && colon[-1] != ']')
		return 0;
	return s[0] != '[' || colon - s > 2;
}

/* Resolves the defaults and fills the endpoint name used in messages. */
static int
ctl_finish(struct ctl *c, const struct cmd_entry *e)
{
	const char *env;

	if (c->socket_path != NULL && c->tcp != NULL)
		return cmd_usage_error(e, "give --socket or --tcp, not both");
	if (c->tcp != NULL) {
		if (!ctl_valid_tcp(c->tcp))
			return cmd_usage_error(e, "--tcp wants HOST:PORT, not '%s'", c->tcp);
		snprintf(c->endpoint, sizeof(c->endpoint), "tcp %s", c->tcp);
		return client_token_load(c);
	}
	/* Over the Unix socket the daemon takes the role from the peer's uid. */
	if (c->token_file != NULL)
		return cmd_usage_error(e, "--token-file is for --tcp; over the Unix socket the "
		                          "daemon gives the role of your user id");
	if (c->socket_path == NULL) {
		env = getenv(CTL_SOCKET_ENV);
		c->socket_path = env != NULL && env[0] != '\0' ? env : CTL_DEFAULT_SOCKET;
	}
	if (c->socket_path[0] == '\0')
		return cmd_usage_error(e, "--socket wants a path");
	snprintf(c->endpoint, sizeof(c->endpoint), "unix socket %s", c->socket_path);
	return 0;
}

static int
ctl_set_gopt(struct ctl *c, const struct cmd_entry *e, enum ctl_gopt g, const char *value)
{
	switch (g) {
	case GOPT_SOCKET:
		c->socket_path = value;
		break;
	case GOPT_TCP:
		c->tcp = value;
		break;
	case GOPT_TOKEN_FILE:
		c->token_file = value;
		break;
	case GOPT_TIMEOUT:
		if (cmd_parse_positive(value, CTL_MAX_TIMEOUT, &c->timeout_s) == -1)
			return cmd_usage_error(e, "--timeout wants seconds (up to %.0f), not '%s'",
			                       CTL_MAX_TIMEOUT, value);
		c->timeout_given = 1;
		break;
	case GOPT_NONE:
		break;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl c;
	struct cmd_args a;
	const struct cmd_entry *e = NULL, *sub;
	const char *arg, *eq, *value;
	char name[64];
	enum ctl_gopt g;
	int i, oi, si, dashdash = 0, help = 0, rc;
	size_t nlen;

	memset(&c, 0, sizeof(c));
	memset(&a, 0, sizeof(a));
	c.timeout_s = CTL_DEFAULT_TIMEOUT;
	a.argv = calloc((size_t)argc + 1, sizeof(*a.argv));
	if (a.argv == NULL) {
		fprintf(stderr, "callwardenctl: out of memory\n");
		return CTL_EXIT_UNREACHABLE;
	}
	rc = -1;
	for (i = 1; i < argc && rc == -1; i++) {
		arg = argv[i];
		if (dashdash || arg[0] != '-' || arg[1] == '\0') {
			if (e == NULL) {
				e = cmd_find(arg);
				if (e == NULL)
					rc = cmd_usage_error(NULL, "unknown command '%s'", arg);
			} else if (e->subs != NULL) {
				sub = cmd_find_sub(e, arg);
				if (sub == NULL)
					rc = cmd_usage_error(e, "unknown %s command '%s'", e->name,
					                     arg);
				e = sub != NULL ? sub : e;
			} else
				a.argv[a.argc++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			help = 1;
			continue;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("callwardenctl %s\n", CW_VERSION);
			rc = CTL_EXIT_OK;
			continue;
		}
		if (strcmp(arg, "--json") == 0) {
			c.json = 1;
			continue;
		}
		if (arg[1] != '-') {
			rc = cmd_usage_error(e, "unknown option '%s'", arg);
			continue;
		}
		/* --name VALUE or --name=VALUE */
		eq = strchr(arg, '=');
		nlen = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		if (nlen >= sizeof(name)) {
			rc = cmd_usage_error(e, "unknown option '%s'", arg);
			continue;
		}
		memcpy(name, arg + 2, nlen);
		name[nlen] = '\0';
		si = e != NULL ? cmd_switch_index(e, name) : -1;
		if (si >= 0) {
			if (eq != NULL)
				rc = cmd_usage_error(e, "option --%s takes no value", name);
			else if (a.switches[si])
				rc = cmd_usage_error(e, "option --%s given twice", name);
			a.switches[si] = 1;
			continue;
		}
		g = ctl_gopt_find(name);
		oi = e != NULL ? cmd_option_index(e, name) : -1;
		if (g == GOPT_NONE && oi < 0) {
			rc = cmd_usage_error(e, "unknown option '--%s'", name);
			continue;
		}
		if (eq != NULL)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			rc = cmd_usage_error(e, "option --%s needs a value", name);
			continue;
		}
		if (g != GOPT_NONE) {
			if (ctl_set_gopt(&c, e, g, value) != 0)
				rc = CTL_EXIT_USAGE;
		} else if (a.opts[oi] != NULL)
			rc = cmd_usage_error(e, "option --%s given twice", name);
		else
			a.opts[oi] = value;
	}
	if (rc != -1)
		goto out;
	if (help) {
		if (e != NULL && e != &cmd_help_entry)
			cmd_usage_one(stdout, e);
		else
			cmd_usage(stdout);
		rc = CTL_EXIT_OK;
		goto out;
	}
	if (e == NULL) {
		cmd_usage(stderr);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	if (e->subs != NULL)
		rc = cmd_usage_error(e, "%s: missing subcommand", e->name);
	else if (a.argc < e->min_args)
		rc = cmd_usage_error(e, "%s: missing argument", e->name);
	else if (a.argc > e->max_args)
		rc = cmd_usage_error(e, "%s: too many arguments", e->name);
	else if (e == &cmd_help_entry || (rc = ctl_finish(&c, e)) == 0)
		rc = e->exec(&c, e, &a);
out:
	client_token_free(&c);
	free(a.argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "callwardenctl: cannot write output\n");
		if (rc == CTL_EXIT_OK)
			rc = CTL_EXIT_UNREACHABLE;
	}
	return rc;
}
