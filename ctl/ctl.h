/* Shared declarations of callwardenctl: options, the command table, the client and printing. */
#ifndef CW_CTL_H
#define CW_CTL_H

#include <stddef.h>
#include <stdint.h>
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
/* For a request that may replay a week of calls, when --timeout is not given. */
#define CTL_SLOW_TIMEOUT 300.0
#define CTL_SOCKET_ENV   "CALLWARDEN_SOCKET"
#define CTL_TOKEN_ENV    "CALLWARDEN_TOKEN"
/* The daemon reads at most this much of a hello token. */
#define CTL_TOKEN_MAX 1024
/* A reply longer than this is treated as malformed rather than eating all memory. */
#define CTL_MAX_REPLY    (64u * 1024 * 1024)
#define CMD_MAX_OPTS     10
#define CMD_MAX_SWITCHES 4

/* Where and how to talk to the daemon. */
struct ctl {
	const char *socket_path; /* Unix socket, or NULL when tcp is set */
	const char *tcp;         /* "HOST:PORT" as given */
	const char *token_file;  /* --token-file as given, or NULL */
	char *token;             /* TCP only: sent in a hello first; NULL for none */
	char token_from[300];    /* where the token came from, for messages (never the token) */
	int json;                /* print raw reply lines */
	double timeout_s;        /* for each request: connect, send, reply */
	int timeout_given;       /* --timeout was on the command line */
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
	int switches[CMD_MAX_SWITCHES]; /* parallel to cmd_entry.switches; 1 when given */
};

struct cmd_entry {
	const char *name;
	const char *args;    /* argument synopsis after the name */
	const char *summary; /* one line for the help text */
	const char *const
	    *options; /* value-taking options without "--", NULL-terminated, or NULL */
	const char *const *switches; /* options without a value ("all"), likewise */
	int min_args;
	int max_args;
	int (*exec)(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a);
	/*
	 * A command made of subcommands ("policy check"): the word after the name picks one of
	 * these, NULL-terminated, each named "<name> <word>"; exec is then unused.
	 */
	const struct cmd_entry *const *subs;
};

/* cmd.c: the table, lookup, shared request flow and usage errors. */
extern const struct cmd_entry *const cmd_table[];
const struct cmd_entry *cmd_find(const char *name);
/* The subcommand of e called word, or NULL. */
const struct cmd_entry *cmd_find_sub(const struct cmd_entry *e, const char *word);
int cmd_option_index(const struct cmd_entry *e, const char *name);
int cmd_switch_index(const struct cmd_entry *e, const char *name);
void cmd_usage(FILE *f);
void cmd_usage_one(FILE *f, const struct cmd_entry *e);
/* Prints "callwardenctl: <msg>" and the command's synopsis to stderr; returns CTL_EXIT_USAGE. */
int cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct client_conn;
/*
 * Sends the request line in jb (the newline is added here; jb is freed) on cc by deadline, or
 * on a connection of its own within --timeout when cc is NULL, and reads the reply into rep.
 * Returns the exit status: CTL_EXIT_OK with rep filled (to free), whatever its "ok" says.
 */
int cmd_call(struct ctl *c, struct client_conn *cc, int64_t deadline, struct jbuf *jb,
             struct reply *rep);
/*
 * Sends the request line in jb (the newline is added here), then prints the raw reply with --json
 * or when print is NULL, else through print; an error reply goes to stderr as "code: message".
 * Frees jb. Returns the exit status.
 */
int cmd_request(struct ctl *c, struct jbuf *jb, void (*print)(const struct reply *rep));
/* CTL_EXIT_OK for "ok": true; else prints the error ("code: message") and says 1, or 3. */
int cmd_reply_status(struct ctl *c, const struct reply *rep);
/*
 * path made absolute against the current directory (not resolved: the daemon, which may run
 * elsewhere, opens it and names it in its errors); malloc'ed, NULL with a message on failure.
 */
char *cmd_abs_path(const char *path);
/* Parses a decimal integer in [min, max]; -1 on junk. */
int cmd_parse_int(const char *s, long long min, long long max, long long *out);
/* Parses a plain decimal number (digits, optional fraction) in (0, max]; -1 on junk. */
int cmd_parse_positive(const char *s, double max, double *out);
/* The largest time the protocol accepts: the end of year 9999. */
#define CMD_TIME_MAX 253402300799LL
/*
 * Unix seconds now, from the precise clock: time(2) reads a coarse one that may trail the
 * clock other programs (the daemon, scripts) read by up to a tick.
 */
long long cmd_now(void);
/*
 * Parses a time: Unix seconds, a UTC date "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS]" (a space for
 * the T, an optional trailing Z), or, when relative is set, "N" followed by s, m, h, d or w for
 * now minus that long. -1 on junk or out of range.
 */
int cmd_parse_time(const char *s, int relative, long long now, long long *out);
/* Adds "key": [items of a comma-separated list]; -1 when the list has an empty item. */
int cmd_kstr_list(struct jbuf *jb, const char *key, const char *list);

/*
 * A paged list op (flag.list, followup.list, audit.list): cmd_list sends op with the fields
 * build writes and the cursor, prints the rows of the reply's array key as a table, and follows
 * the cursor to the end when all is set; otherwise it ends with a "more: --cursor X" hint. With
 * --json it prints each page's raw reply line.
 */
struct cmd_list_spec {
	const char *op;
	const char *key;                                 /* the array in the reply */
	const char *none;                                /* printed when there are no rows at all */
	void (*build)(struct jbuf *jb, const void *ctx); /* the fields but the cursor */
	void (*head)(int idw);
	void (*row)(const cJSON *item, int idw);
};
int cmd_list(struct ctl *c, const struct cmd_list_spec *spec, const void *ctx, const char *cursor,
             int all);
/* 1 when value is one of the NULL-terminated words. */
int cmd_one_of(const char *value, const char *const *words);
/* Checks a --limit value (1..1000; NULL: none); -1 on junk. */
int cmd_check_limit(const char *value);
/* Adds "limit" from a checked --limit value, or 1000 when following every page (all). */
void cmd_klimit(struct jbuf *jb, const char *value, int all);
/* Parses --since and --until into *since and *until (-1 when absent); usage error or 0. */
int cmd_time_range(const struct cmd_entry *e, const char *since, const char *until,
                   long long *since_out, long long *until_out);

/*
 * The policy commands' reply: printed raw with --json; an error reply's "errors" lines
 * ("file:line: reason") each on a line of stderr, then "what: N errors", and, when kept is set,
 * which policy the daemon keeps ("" when not known). The exit status.
 */
int cmd_policy_status(struct ctl *c, const struct reply *rep, const char *what, const char *kept);

extern const struct cmd_entry cmd_ping_entry;
extern const struct cmd_entry cmd_stats_entry;
extern const struct cmd_entry cmd_route_entry;
extern const struct cmd_entry cmd_flag_entry;
extern const struct cmd_entry cmd_revoke_entry;
extern const struct cmd_entry cmd_show_entry;
extern const struct cmd_entry cmd_send_entry;
extern const struct cmd_entry cmd_report_entry;
extern const struct cmd_entry cmd_tail_entry;
extern const struct cmd_entry cmd_flags_entry;
extern const struct cmd_entry cmd_followups_entry;
extern const struct cmd_entry cmd_followup_entry;
extern const struct cmd_entry cmd_done_entry;
extern const struct cmd_entry cmd_audit_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_policy_entry;
extern const struct cmd_entry cmd_policy_check_entry;
extern const struct cmd_entry cmd_policy_reload_entry;
extern const struct cmd_entry cmd_policy_simulate_entry;
extern const struct cmd_entry cmd_help_entry;

/*
 * client.c: requests and reply lines over a non-blocking socket, each step by a deadline
 * (milliseconds on the monotonic clock; negative: none). A connection may carry several
 * requests, and tail reads event lines from it for as long as it stays open.
 */
enum client_status {
	CLIENT_OK,
	CLIENT_FAIL,    /* a message is printed */
	CLIENT_EOF,     /* closed by the peer (client_line only; nothing printed) */
	CLIENT_TIMEOUT, /* deadline passed (client_line only; nothing printed) */
	CLIENT_STOPPED, /* wakefd became readable: the command was told to stop */
	CLIENT_REFUSED  /* client_open: the daemon refused the token (a message is printed) */
};

struct client_conn {
	int fd;
	int wakefd;     /* readable when the command must stop (tail's signals), or -1 */
	struct jbuf in; /* received bytes; those before off are consumed */
	size_t off;
	size_t scanned; /* bytes after off known to hold no newline */
};

int64_t client_deadline(const struct ctl *c); /* now + --timeout */
/* Connects; over TCP with a token, says hello with it before anything else. */
enum client_status client_open(struct ctl *c, struct client_conn *cc, int wakefd, int64_t deadline);
/* The exit status for a client_open, client_send or client_reply failure. */
int client_exit(enum client_status st);
enum client_status client_send(struct ctl *c, struct client_conn *cc, const char *req, size_t len,
                               int64_t deadline);
/* The next line without its newline (malloc'ed, NUL-terminated) into *line. */
enum client_status client_line(struct ctl *c, struct client_conn *cc, int64_t deadline, char **line,
                               size_t *len);
/* The next line as a reply (an object with a boolean "ok"); messages for every failure. */
enum client_status client_reply(struct ctl *c, struct client_conn *cc, int64_t deadline,
                                struct reply *rep);
void client_close(struct client_conn *cc);
/* Sends one request line (with its newline) and reads its reply. */
enum client_status client_request(struct ctl *c, struct client_conn *cc, const char *req,
                                  size_t len, int64_t deadline, struct reply *rep);
/*
 * Loads the token from --token-file or $CALLWARDEN_TOKEN for a TCP connection; a usage error
 * (2) with a message when it is unreadable or malformed, else 0. client_token_free wipes it.
 */
int client_token_load(struct ctl *c);
void client_token_free(struct ctl *c);
/* One connection, one request, one reply: a CTL_EXIT_* status. */
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
/* Columns s takes once escaped. */
size_t print_width(const char *s);
/* "label     value" with the value escaped. */
void print_field(const char *label, const char *value);
/* UTC "YYYY-MM-DD" (PRINT_DATE), "YYYY-MM-DD HH:MM" (PRINT_MINUTES) or with ":SS". */
enum { PRINT_DATE = 0, PRINT_MINUTES = 1, PRINT_SECONDS = 2 };
void print_time(char *buf, size_t size, long long t, int precision);
/* A time column from obj[key]: the time, or none when it is null or absent; then two spaces. */
void print_time_cell(const cJSON *obj, const char *key, int precision, const char *none,
                     size_t width);
/* The decision lines of call.offered and caller.show's route. */
/*
 * The line under a table row that says when a row was closed, if it was ("  revoked TIME by WHO:
 * WHY"): obj's at_key time, by_key and why_key strings, cut to their widths.
 */
void print_closed_line(const cJSON *obj, int idw, const char *what, const char *at_key,
                       const char *by_key, size_t by_width, const char *why_key, size_t why_width);
void print_decision(const cJSON *d);
/* Width of the widest "id" among the array's objects, at least min. */
int print_id_width(const cJSON *arr, int min);
/* The flag table of show (with_caller 0) and flags (with_caller 1): header and one flag. */
void print_flag_head(int idw, int with_caller);
void print_flag_row(const cJSON *f, int idw, int with_caller);
/*
 * JSON pretty-printed (2-space indent), strings escaped so that it is safe on a terminal;
 * without_envelope leaves out a reply's top-level "ok" and "id".
 */
void print_json(FILE *f, const cJSON *v, int without_envelope);

#endif
