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
	if (settings_set(&st->listen, SETTINGS_DEFAULT_LISTEN) == -1 ||
	    settings_set(&st->unix_path, SETTINGS_DEFAULT_UNIX) == -1 ||
	    settings_set(&st->db, SETTINGS_DEFAULT_DB) == -1 ||
	    settings_set(&st->policy, SETTINGS_DEFAULT_POLICY) == -1)
		return -1;
	return 0;
}

void
settings_free(struct settings *st)
{
	free(st->listen);
	free(st->unix_path);
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

static const char *const settings_keys[] = {
    "listen",          "unix",      "db", "policy", "country_code", "max_line",
    "max_connections", "log_level", NULL,
};

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
	next.listen = next.unix_path = next.db = next.policy = NULL;
	if (settings_set(&next.listen, st->listen) == -1 ||
	    settings_set(&next.unix_path, st->unix_path) == -1 ||
	    settings_set(&next.db, st->db) == -1 || settings_set(&next.policy, st->policy) == -1) {
		settings_error(errors, path, 0, "%s", "out of memory");
		goto fail;
	}

	root = config_root_setting(&cfg);
	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		const char *name;
		int line, k;

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
		if (strcmp(name, "max_line") == 0 || strcmp(name, "max_connections") == 0) {
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
			if (strcmp(name, "max_line") == 0) {
				if (ival < SETTINGS_MAX_LINE_MIN || ival > SETTINGS_MAX_LINE_MAX)
					settings_error(errors, path, line, "%s",
					               "'max_line' must be from 1024 to 16777216");
				else
					next.max_line = (size_t)ival;
			} else {
				if (ival < 1 || ival > 1000000)
					settings_error(
					    errors, path, line, "%s",
					    "'max_connections' must be from 1 to 1000000");
				else
					next.max_connections = ival;
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
