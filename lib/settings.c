/* Daemon settings from embedded defaults and an optional libconfig file. */
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "number.h"
#include "settings.h"

int
settings_set(char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

int
settings_defaults(struct settings *st)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->country_code, "1");
	st->max_line = 65536;
	st->max_connections = 4096;
	st->log_level = LOG_LEVEL_INFO;
	st->unix_default_role = ROLE_OPS;
	st->http_timeout = SETTINGS_DEFAULT_HTTP_TIMEOUT;
	st->calllog_backlog_max = SETTINGS_DEFAULT_CALLLOG_BACKLOG_MAX;
	if (settings_set(&st->listen, SETTINGS_DEFAULT_LISTEN) == -1 ||
	    settings_set(&st->unix_path, SETTINGS_DEFAULT_UNIX) == -1 ||
	    settings_set(&st->http, SETTINGS_DEFAULT_HTTP) == -1 ||
	    settings_set(&st->db, SETTINGS_DEFAULT_DB) == -1 ||
	    settings_set(&st->policy, SETTINGS_DEFAULT_POLICY) == -1)
		return -1;
	return 0;
}

static void settings_free_auth(struct settings *st);

void
settings_free(struct settings *st)
{
	settings_free_auth(st);
	free(st->listen);
	free(st->unix_path);
	free(st->http);
	free(st->db);
	free(st->policy);
	memset(st, 0, sizeof(*st));
}

/* Appends one "file:line: reason" line to the growing error text. */
static void settings_error(char **errors, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
settings_error(char **errors, const char *file, int line, const char *fmt, ...)
{
	char msg[512], *n;
	size_t old = *errors ? strlen(*errors) : 0, mlen;
	va_list ap;
	int len;

	len = snprintf(msg, sizeof(msg), "%s:%d: ", file, line);
	if (len < 0 || (size_t)len >= sizeof(msg))
		len = 0;
	va_start(ap, fmt);
	vsnprintf(msg + len, sizeof(msg) - (size_t)len, fmt, ap);
	va_end(ap);
	mlen = strlen(msg);
	n = realloc(*errors, old + mlen + 2);
	if (n == NULL)
		return;
	memcpy(n + old, msg, mlen);
	n[old + mlen] = '\n';
	n[old + mlen + 1] = '\0';
	*errors = n;
}

int
settings_split_hostport(const char *s, char *host, size_t hostlen, int *port, char *cause,
                        size_t cause_len)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			snprintf(cause, cause_len, "'%s' is not [ADDRESS]:PORT", s);
			return -1;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			snprintf(cause, cause_len, "'%s' is not HOST:PORT", s);
			return -1;
		}
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen) {
		snprintf(cause, cause_len, "'%s' has no usable host", s);
		return -1;
	}
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535) {
		snprintf(cause, cause_len, "'%s' has no port from 0 to 65535", s);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

static const char *const settings_role_names[] = {"none", "telephony", "supervisor", "none", "ops"};

const char *
settings_role_name(int role)
{
	return role >= 0 && role <= ROLE_OPS ? settings_role_names[role] : "none";
}

/* Compares without an early exit, so the time taken does not tell how much of a token matched. */
static int
settings_token_equal(const char *given, size_t given_len, const char *known)
{
	size_t known_len = strlen(known), i;
	unsigned char diff = (unsigned char)(given_len != known_len);

	for (i = 0; i < known_len; i++)
		diff |= (unsigned char)(known[i] ^ (i < given_len ? given[i] : 0));
	return diff == 0;
}

int
settings_token_role(const struct settings *st, const char *given, size_t len)
{
	int role = ROLE_NONE;
	size_t i;

	/* Every token is compared, whichever matches: no timing hint either way. */
	for (i = 0; i < st->ntokens; i++)
		if (settings_token_equal(given, len, st->tokens[i].token))
			role = st->tokens[i].role;
	return role;
}

static int
settings_role_parse(const char *name)
{
	if (strcmp(name, "telephony") == 0)
		return ROLE_TELEPHONY;
	if (strcmp(name, "supervisor") == 0)
		return ROLE_SUPERVISOR;
	if (strcmp(name, "ops") == 0)
		return ROLE_OPS;
	return ROLE_NONE;
}

static void
settings_free_auth_tokens(struct settings *st)
{
	size_t i;

	for (i = 0; i < st->ntokens; i++)
		free(st->tokens[i].token);
	free(st->tokens);
	st->tokens = NULL;
	st->ntokens = 0;
}

static void
settings_free_auth(struct settings *st)
{
	settings_free_auth_tokens(st);
	free(st->unix_users);
	st->unix_users = NULL;
	st->nunix_users = 0;
}

/* Deep copy of the token and uid tables; -1 when out of memory (dst then holds part). */
static int
settings_copy_auth(struct settings *dst, const struct settings *src)
{
	size_t i;

	dst->tokens = NULL;
	dst->ntokens = 0;
	dst->unix_users = NULL;
	dst->nunix_users = 0;
	if (src->ntokens > 0) {
		dst->tokens = calloc(src->ntokens, sizeof(*dst->tokens));
		if (dst->tokens == NULL)
			return -1;
		for (i = 0; i < src->ntokens; i++) {
			dst->tokens[i].token = strdup(src->tokens[i].token);
			dst->tokens[i].role = src->tokens[i].role;
			if (dst->tokens[i].token == NULL)
				return -1;
			dst->ntokens++;
		}
	}
	if (src->nunix_users > 0) {
		dst->unix_users = calloc(src->nunix_users, sizeof(*dst->unix_users));
		if (dst->unix_users == NULL)
			return -1;
		memcpy(dst->unix_users, src->unix_users,
		       src->nunix_users * sizeof(*dst->unix_users));
		dst->nunix_users = src->nunix_users;
	}
	return 0;
}

/* tokens = ( { token = "..."; role = "..."; }, ... ): tokens of 16 to 256 bytes, unique. */
static void
settings_load_tokens(struct settings *next, config_setting_t *list, const char *path, char **errors)
{
	unsigned int i, n = (unsigned int)config_setting_length(list);

	if (!config_setting_is_list(list)) {
		settings_error(errors, path, config_setting_source_line(list), "%s",
		               "'tokens' must be a list of { token; role; } groups");
		return;
	}
	next->tokens = calloc(n + 1, sizeof(*next->tokens));
	if (next->tokens == NULL)
		return;
	for (i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		int line = config_setting_source_line(g);
		const char *token = NULL, *role = NULL;
		size_t k;

		if (!config_setting_is_group(g) || config_setting_length(g) != 2 ||
		    !config_setting_lookup_string(g, "token", &token) ||
		    !config_setting_lookup_string(g, "role", &role)) {
			settings_error(errors, path, line, "%s",
			               "a token is a group of exactly 'token' and 'role' strings");
			continue;
		}
		if (strlen(token) < 16 || strlen(token) > 256) {
			settings_error(errors, path, line, "%s", "a token must be 16 to 256 bytes");
			continue;
		}
		if (settings_role_parse(role) == ROLE_NONE) {
			settings_error(errors, path, line, "%s",
			               "role must be telephony, supervisor or ops");
			continue;
		}
		for (k = 0; k < next->ntokens; k++)
			if (strcmp(next->tokens[k].token, token) == 0)
				break;
		if (k < next->ntokens) {
			settings_error(errors, path, line, "%s", "the same token is given twice");
			continue;
		}
		next->tokens[next->ntokens].token = strdup(token);
		next->tokens[next->ntokens].role = settings_role_parse(role);
		if (next->tokens[next->ntokens].token != NULL)
			next->ntokens++;
	}
}

/* unix_users = ( { uid = 1001; role = "supervisor"; }, ... ) */
static void
settings_load_unix_users(struct settings *next, config_setting_t *list, const char *path,
                         char **errors)
{
	unsigned int i, n = (unsigned int)config_setting_length(list);

	if (!config_setting_is_list(list)) {
		settings_error(errors, path, config_setting_source_line(list), "%s",
		               "'unix_users' must be a list of { uid; role; } groups");
		return;
	}
	next->unix_users = calloc(n + 1, sizeof(*next->unix_users));
	if (next->unix_users == NULL)
		return;
	for (i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		int line = config_setting_source_line(g), uid;
		const char *role = NULL;

		if (!config_setting_is_group(g) || config_setting_length(g) != 2 ||
		    !config_setting_lookup_int(g, "uid", &uid) ||
		    !config_setting_lookup_string(g, "role", &role) || uid < 0 ||
		    settings_role_parse(role) == ROLE_NONE) {
			settings_error(errors, path, line, "%s",
			               "a unix user is { uid = N; role = "
			               "\"telephony\"|\"supervisor\"|\"ops\"; }");
			continue;
		}
		next->unix_users[next->nunix_users].uid = uid;
		next->unix_users[next->nunix_users].role = settings_role_parse(role);
		next->nunix_users++;
	}
}

static const char *const settings_keys[] = {
    "listen",
    "unix",
    "db",
    "policy",
    "country_code",
    "max_line",
    "max_connections",
    "log_level",
    "tokens",
    "unix_users",
    "unix_default_role",
    "log_full_numbers",
    "http",
    "http_timeout",
    "calllog_backlog_max",
    NULL,
};

/* Integer settings and their ranges; settings_load stores each by its name here. */
enum settings_int {
	SETTINGS_INT_MAX_LINE,
	SETTINGS_INT_MAX_CONNECTIONS,
	SETTINGS_INT_HTTP_TIMEOUT,
	SETTINGS_INT_CALLLOG_BACKLOG_MAX,
};

static const struct {
	const char *name;
	int min, max;
	const char *unit; /* after the range in the error */
} settings_ints[] = {
    [SETTINGS_INT_MAX_LINE] = {"max_line", SETTINGS_MAX_LINE_MIN, SETTINGS_MAX_LINE_MAX, ""},
    [SETTINGS_INT_MAX_CONNECTIONS] = {"max_connections", 1, 1000000, ""},
    [SETTINGS_INT_HTTP_TIMEOUT] = {"http_timeout", 1, 3600, " seconds"},
    [SETTINGS_INT_CALLLOG_BACKLOG_MAX] = {"calllog_backlog_max", 16, 16777216, " rows"},
};
#define SETTINGS_NINTS (sizeof(settings_ints) / sizeof(settings_ints[0]))

/*
 * libconfig 1.5 keeps only the low 32 bits of a big integer literal without an L suffix
 * (4294968320 reads as 1024): read the literal again from the file and compare.
 */
static int
settings_literal_matches(const char *path, int line, const char *name, long long v)
{
	char buf[1024], *p, *end;
	long long lit;
	FILE *f;
	int n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 1;
	while (n < line && fgets(buf, sizeof(buf), f) != NULL)
		n++;
	fclose(f);
	if (n != line || (p = strstr(buf, name)) == NULL)
		return 1;
	p += strlen(name);
	p += strspn(p, " \t");
	if (*p != '=' && *p != ':')
		return 1;
	p += 1 + strspn(p + 1, " \t");
	errno = 0;
	lit = strtoll(p, &end, strncasecmp(p, "0x", 2) == 0 ? 16 : 10);
	return end == p || (errno != ERANGE && lit == v);
}

int
settings_load(struct settings *st, const char *path, char **errors)
{
	struct settings next;
	config_t cfg;
	config_setting_t *root, *item;
	const char *str;
	int i, n, ival;
	long long lval;

	*errors = NULL;
	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			settings_error(errors, path, 0, "%s", "cannot read the file");
		else
			settings_error(errors,
			               config_error_file(&cfg) ? config_error_file(&cfg) : path,
			               config_error_line(&cfg), "%s", config_error_text(&cfg));
		config_destroy(&cfg);
		return -1;
	}
	next = *st;
	next.listen = next.unix_path = next.http = next.db = next.policy = NULL;
	if (settings_copy_auth(&next, st) == -1 || settings_set(&next.listen, st->listen) == -1 ||
	    settings_set(&next.unix_path, st->unix_path) == -1 ||
	    settings_set(&next.http, st->http) == -1 || settings_set(&next.db, st->db) == -1 ||
	    settings_set(&next.policy, st->policy) == -1) {
		settings_error(errors, path, 0, "%s", "out of memory");
		goto fail;
	}

	root = config_root_setting(&cfg);
	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		const char *name;
		int line, k;
		size_t ik;

		item = config_setting_get_elem(root, (unsigned int)i);
		name = config_setting_name(item);
		line = config_setting_source_line(item);
		for (k = 0; settings_keys[k] != NULL; k++)
			if (strcmp(name, settings_keys[k]) == 0)
				break;
		if (settings_keys[k] == NULL) {
			settings_error(errors, path, line, "unknown setting '%s'", name);
			continue;
		}
		if (strcmp(name, "tokens") == 0) {
			settings_free_auth_tokens(&next);
			settings_load_tokens(&next, item, path, errors);
			continue;
		}
		if (strcmp(name, "unix_users") == 0) {
			free(next.unix_users);
			next.unix_users = NULL;
			next.nunix_users = 0;
			settings_load_unix_users(&next, item, path, errors);
			continue;
		}
		if (strcmp(name, "log_full_numbers") == 0) {
			if (config_setting_type(item) != CONFIG_TYPE_BOOL)
				settings_error(errors, path, line, "%s",
				               "'log_full_numbers' must be true or false");
			else
				next.log_full_numbers = config_setting_get_bool(item);
			continue;
		}
		for (ik = 0; ik < SETTINGS_NINTS; ik++)
			if (strcmp(name, settings_ints[ik].name) == 0)
				break;
		if (ik < SETTINGS_NINTS) {
			if (config_setting_type(item) != CONFIG_TYPE_INT &&
			    config_setting_type(item) != CONFIG_TYPE_INT64) {
				settings_error(errors, path, line, "'%s' must be an integer", name);
				continue;
			}
			lval = config_setting_get_int64(item);
			if (!settings_literal_matches(path, line, name, lval)) {
				settings_error(errors, path, line, "'%s' is out of range", name);
				continue;
			}
			ival = lval < INT_MIN ? INT_MIN : lval > INT_MAX ? INT_MAX : (int)lval;
			if (ival < settings_ints[ik].min || ival > settings_ints[ik].max)
				settings_error(errors, path, line, "'%s' must be from %d to %d%s",
				               name, settings_ints[ik].min, settings_ints[ik].max,
				               settings_ints[ik].unit);
			else
				switch ((enum settings_int)ik) {
				case SETTINGS_INT_MAX_LINE:
					next.max_line = (size_t)ival;
					break;
				case SETTINGS_INT_MAX_CONNECTIONS:
					next.max_connections = ival;
					break;
				case SETTINGS_INT_HTTP_TIMEOUT:
					next.http_timeout = ival;
					break;
				case SETTINGS_INT_CALLLOG_BACKLOG_MAX:
					next.calllog_backlog_max = ival;
					break;
				}
			continue;
		}
		if (config_setting_type(item) != CONFIG_TYPE_STRING) {
			settings_error(errors, path, line, "'%s' must be a string", name);
			continue;
		}
		str = config_setting_get_string(item);
		if (strcmp(name, "country_code") == 0) {
			if (!number_valid_cc(str))
				settings_error(
				    errors, path, line, "%s",
				    "'country_code' must be 1 to 3 digits, not starting with 0");
			else
				strcpy(next.country_code, str);
		} else if (strcmp(name, "unix_default_role") == 0) {
			if (strcmp(str, "none") == 0)
				next.unix_default_role = ROLE_NONE;
			else if (settings_role_parse(str) != ROLE_NONE)
				next.unix_default_role = settings_role_parse(str);
			else
				settings_error(
				    errors, path, line, "%s",
				    "'unix_default_role' must be none, telephony, supervisor "
				    "or ops");
		} else if (strcmp(name, "log_level") == 0) {
			if (strcasecmp(str, "warn") == 0)
				next.log_level = LOG_LEVEL_WARN;
			else if (strcasecmp(str, "info") == 0)
				next.log_level = LOG_LEVEL_INFO;
			else if (strcasecmp(str, "debug") == 0)
				next.log_level = LOG_LEVEL_DEBUG;
			else
				settings_error(errors, path, line, "%s",
				               "'log_level' must be warn, info or debug");
		} else {
			char **field = strcmp(name, "listen") == 0 ? &next.listen
			               : strcmp(name, "unix") == 0 ? &next.unix_path
			               : strcmp(name, "http") == 0 ? &next.http
			               : strcmp(name, "db") == 0   ? &next.db
			                                           : &next.policy;

			if ((field == &next.db || field == &next.policy) && str[0] == '\0')
				settings_error(errors, path, line, "'%s' must not be empty", name);
			else if (settings_set(field, str) == -1)
				settings_error(errors, path, line, "%s", "out of memory");
		}
	}
	if (*errors != NULL)
		goto fail;
	config_destroy(&cfg);
	settings_free(st);
	*st = next;
	return 0;
fail:
	config_destroy(&cfg);
	settings_free(&next);
	return -1;
}
