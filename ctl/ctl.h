/* Shared declarations of callwardenctl: options, the command table, the client and printing. */
#ifndef CW_CTL_H
#define CW_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "jbuf.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_ERROR = 1, /* the daemon answered "ok": false */
	CTL_EXIT_USAGE = 2, /* bad command line */
	CTL_EXIT_UNREACHABLE =
	    3 /* no connection, no reply in time, malformed reply, local failure */
};

#define CTL_DEFAULT_SOCKET  "var/callwarden.sock"
#define CTL_DEFAULT_TIMEOUT 10.0
#define CTL_MAX_TIMEOUT     86400.0
#define CTL_SOCKET_ENV      "CALLWARDEN_SOCKET"
/* A reply longer than this is treated as malformed rather than eating all memory. */
#define CTL_MAX_REPLY (64u * 1024 * 1024)
#define CMD_MAX_OPTS  8

/* Where and how to talk to the daemon. */
struct ctl {
	const char *socket_path; /* Unix socket, or NULL when tcp is set */
	const char *tcp;         /* "HOST:PORT" as given */
	int json;                /* print raw reply lines */
	double timeout_s;        /* for the whole exchange */
	char endpoint[320];      /* "unix socket PATH" or "tcp HOST:PORT", for messages */
};

/* One reply line: the raw text and its parse. */
struct reply {
	char *line; /* without the newline, NUL-terminated */
	size_t len;
	cJSON *json; /* an object with a boolean "ok" */
};

struct cmd_entry;

/* A command's arguments once the command line is parsed. */
struct cmd_args {
	int argc;
	char **argv;                    /* positional arguments */
	const char *opts[CMD_MAX_OPTS]; /* values parallel to cmd_entry.options; NULL when absent */
};

struct cmd_entry {
	const char *name;
	const char *args;    /* argument synopsis after the name */
	const char *summary; /* one line for the help text */
	const char *const
	    *options; /* value-taking options without "--", NULL-terminated, or NULL */
	int min_args;
	int max_args;
	int (*exec)(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a);
};

/* cmd.c: the table, lookup, shared request flow and usage errors. */
extern const struct cmd_entry *const cmd_table[];
const struct cmd_entry *cmd_find(const char *name);
int cmd_option_index(const struct cmd_entry *e, const char *name);
void cmd_usage(FILE *f);
void cmd_usage_one(FILE *f, const struct cmd_entry *e);
/* Prints "callwardenctl: <msg>" and the command's synopsis to stderr; returns CTL_EXIT_USAGE. */
int cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Sends the request line in jb (the newline is added here), then prints the raw reply with --json
 * or when print is NULL, else through print; an error reply goes to stderr as "code: message".
 * Frees jb. Returns the exit status.
 */
int cmd_request(struct ctl *c, struct jbuf *jb, void (*print)(const struct reply *rep));
/* Parses a decimal integer in [min, max]; -1 on junk. */
int cmd_parse_int(const char *s, long long min, long long max, long long *out);
/* Parses a plain decimal number (digits, optional fraction) in (0, max]; -1 on junk. */
int cmd_parse_positive(const char *s, double max, double *out);

extern const struct cmd_entry cmd_ping_entry;
extern const struct cmd_entry cmd_stats_entry;
extern const struct cmd_entry cmd_route_entry;
extern const struct cmd_entry cmd_flag_entry;
extern const struct cmd_entry cmd_revoke_entry;
extern const struct cmd_entry cmd_show_entry;
extern const struct cmd_entry cmd_send_entry;
extern const struct cmd_entry cmd_help_entry;

/* client.c: one request, one reply line over a blocking-with-deadline socket. */
int client_call(struct ctl *c, const char *req, size_t len, struct reply *rep);
void client_reply_free(struct reply *rep);

/* print.c: terminal-safe output of untrusted strings and reply fields. */
const char *print_jstr(const cJSON *obj, const char *key); /* NULL when absent or not a string */
int print_jint(const cJSON *obj, const char *key, long long *v); /* -1 when absent/not a number */
int print_jbool(const cJSON *obj, const char *key);              /* -1 absent, else 0 or 1 */
/* Writes s with control, bidi and invalid bytes escaped; NULL prints "-". */
void print_esc(FILE *f, const char *s);
/*
 * Writes s escaped into a column of width characters: longer text is cut and ends in "...",
 * shorter text is padded with spaces when pad is set.
 */
void print_cell(FILE *f, const char *s, size_t width, int pad);
/* "label     value" with the value escaped. */
void print_field(const char *label, const char *value);
/* UTC "YYYY-MM-DD HH:MM" (with_time) or "YYYY-MM-DD". */
void print_time(char *buf, size_t size, long long t, int with_time);
/* The decision lines of call.offered and caller.show's route. */
void print_decision(const cJSON *d);

#endif
