/* Daemon settings: embedded defaults, an optional libconfig file, then command-line overrides. */
#ifndef CW_SETTINGS_H
#define CW_SETTINGS_H

#include <stddef.h>

#include "log.h"

#define SETTINGS_DEFAULT_LISTEN "127.0.0.1:7700"
#define SETTINGS_DEFAULT_UNIX   "var/callwarden.sock"
#define SETTINGS_DEFAULT_DB     "var/callwarden.db"
#define SETTINGS_DEFAULT_POLICY "config/policy.conf"
#define SETTINGS_DEFAULT_HTTP   "127.0.0.1:7780"
/* Seconds an HTTP client may take to send a request, and may stay idle between requests. */
#define SETTINGS_DEFAULT_HTTP_TIMEOUT        10
#define SETTINGS_DEFAULT_CALLLOG_BACKLOG_MAX 65536
#define SETTINGS_MAX_LINE_MIN                1024
#define SETTINGS_MAX_LINE_MAX                (16 * 1024 * 1024)

/* Connection roles; a role's ops are listed in the daemon's op table. */
enum role { ROLE_NONE = 0, ROLE_TELEPHONY = 1, ROLE_SUPERVISOR = 2, ROLE_OPS = 4 };

/* The role's name, or "none". */
const char *settings_role_name(int role);

struct settings_token {
	char *token;
	int role;
};

struct settings_unix_user {
	long uid;
	int role;
};

/* Strings are malloc'ed and owned by the settings; an empty listen, unix_path or http disables it.
 */
struct settings {
	char *listen;
	char *unix_path;
	char *http; /* the HTTP API's HOST:PORT */
	int http_timeout;
	char *db;
	char *policy;
	char country_code[4];
	size_t max_line;
	int max_connections;
	/* Reads are held while this many call-log rows wait for their commit, until half are in. */
	int calllog_backlog_max;
	enum log_level log_level;
	int log_full_numbers; /* debug lines show whole caller numbers instead of the last 4 digits
	                       */
	/* TCP clients authenticate with one of these tokens; none: TCP is ops (loopback only). */
	struct settings_token *tokens;
	size_t ntokens;
	/* Unix socket peers by uid (SO_PEERCRED); others get unix_default_role. */
	struct settings_unix_user *unix_users;
	size_t nunix_users;
	int unix_default_role;
};

/*
 * The role of a token (ROLE_NONE when it is unknown). Every configured token is compared in full,
 * in time that does not depend on where a token differs.
 */
int settings_token_role(const struct settings *st, const char *given, size_t len);

/* Fills in the embedded defaults. Returns -1 when out of memory. */
int settings_defaults(struct settings *st);
void settings_free(struct settings *st);

/*
 * Reads a libconfig file over the current values. On error returns -1 and sets *errors (caller
 * frees) to "file:line: reason" lines; st keeps what it had.
 */
int settings_load(struct settings *st, const char *path, char **errors);

/* Replaces one string setting (a copy is taken). Returns -1 when out of memory. */
int settings_set(char **field, const char *value);

/*
 * Splits "HOST:PORT" or "[V6]:PORT". host gets the host text, *port the port (0..65535).
 * Returns -1 with a message in cause (cause_len bytes) on a malformed value.
 */
int settings_split_hostport(const char *s, char *host, size_t hostlen, int *port, char *cause,
                            size_t cause_len);

#endif
