/*
 * Durable storage of caller history in SQLite: one struct store per connection. The writer
 * connection applies the schema migrations; reader connections only read. A store is used by one
 * thread at a time.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "flag.h"
#include "followup.h"
#include "jbuf.h"
#include "number.h"

enum store_role {
	STORE_WRITER, /* migrates, WAL, synchronous=FULL, waits up to busy_ms for locks */
	STORE_READER  /* query_only, fails at once on a lock (the caller degrades) */
};

enum store_status { STORE_OK = 0, STORE_NOT_FOUND, STORE_CONFLICT, STORE_BUSY, STORE_ERROR };

/* Migrations compiled in from schema/NNN_*.sql (generated at build time). */
struct store_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct store_migration store_migrations[];
extern const size_t store_nmigrations;

struct store;

/*
 * Call once before any other SQLite use in the process. Turns off SQLite's memory statistics:
 * they take one global mutex on every allocation, which serialises the loop's lookups with the
 * writer threads. Returns -1 when SQLite was already in use.
 */
int store_global_init(void);

/*
 * Opens path (":memory:" works for tests, with the writer role). A writer creates the file,
 * switches to WAL and migrates to the newest schema. busy_ms bounds waiting on a lock. Returns
 * NULL with *cause (caller frees) on failure.
 */
struct store *store_open(const char *path, enum store_role role, int busy_ms, char **cause);
void store_close(struct store *s); /* NULL is a no-op */

/* The error message of the last failed call. */
const char *store_errmsg(const struct store *s);
int store_schema_version(struct store *s);

/* Explicit transactions, used by the writer to commit many requests at once. */
enum store_status store_begin(struct store *s);
enum store_status store_commit(struct store *s);
/*
 * A read snapshot over several lookups: one WAL read lock for all of them instead of one each.
 * Commits made meanwhile are seen after store_snapshot_end. Readers only.
 */
enum store_status store_snapshot_begin(struct store *s);
void store_snapshot_end(struct store *s);
void store_rollback(struct store *s);

/*
 * The caller's flags, newest first, at most limit, appended to out (cleared first). Returns
 * STORE_OK, STORE_BUSY or STORE_ERROR.
 */
enum store_status store_caller_flags(struct store *s, const char *caller, size_t limit,
                                     struct flag_list *out);
/*
 * The same flags with only what routing reads: id, caller, code, created_at, expires_at and
 * revoked_at (the other strings NULL). Read from an index alone; store_flag_get reads the rest
 * of one flag.
 */
enum store_status store_caller_flags_brief(struct store *s, const char *caller, size_t limit,
                                           struct flag_list *out);
enum store_status store_flag_get(struct store *s, int64_t id, struct flag *out);

/*
 * Inserts f (id ignored; caller, code, reason, created_by, source, created_at, expires_at set)
 * and its audit row (actor f->created_by, the given role) atomically; sets f->id.
 */
enum store_status store_flag_add(struct store *s, struct flag *f, const char *role);

/*
 * Revokes flag id at ts with its audit row, atomically. On STORE_OK out holds the updated flag.
 * STORE_NOT_FOUND for an unknown id, STORE_CONFLICT when already revoked (out holds the flag).
 */
enum store_status store_flag_revoke(struct store *s, int64_t id, const char *by, const char *reason,
                                    const char *role, int64_t ts, struct flag *out);

/*
 * Calls cb for every caller that has (or had) a flag, once each, in order. Returns how many, or
 * -1 on error.
 */
int64_t store_flagged_callers(struct store *s, void (*cb)(const char *caller, void *arg),
                              void *arg);
/* Flags active at ts, for stats. -1 on error. */
int64_t store_count_active_flags(struct store *s, int64_t ts);

/* One code's number of active flags. */
struct store_code_count {
	char code[FLAG_CODE_MAX + 1];
	int64_t n;
};
/* Flags active at ts by code, at most max codes in code order: how many, or -1 on error. */
int store_count_active_by_code(struct store *s, int64_t ts, struct store_code_count *out,
                               size_t max);

/*
 * Mid-call reports, follow-ups, audit rows and paged lists (schema 003).
 *
 * Paged lists return rows newest first (by id). cursor is the last id the previous page
 * returned (0: start at the newest row); *next is the cursor for the following page, or 0 when
 * there are no more rows. Since ids only grow, following the cursors visits every row that
 * matched when the first page was read exactly once, whatever is added meanwhile (a row that
 * stops matching, e.g. a flag revoked meanwhile, is skipped). limit 0 returns no rows and
 * *next 0. Time filters since and until are inclusive; 0 means unset. Lists are cleared first
 * and left empty on failure. All return STORE_OK, STORE_BUSY or STORE_ERROR.
 */

/* An agent's report of a code during a call, for store_report_add. Strings are borrowed. */
struct report_in {
	const char *call_id;
	const char *caller; /* E.164, or "" when withheld: then no flag is written */
	const char *code;
	const char *agent;
	const char *note; /* may be NULL */
	int64_t ts;
	int64_t expires_at;        /* of the flag; 0: never */
	int64_t followup_due;      /* 0: no follow-up */
	const char *followup_note; /* NULL: "follow up on <code> report during call <call_id>" */
};

/* A stored report. Strings are malloc'ed; store_report_clear frees them. */
struct report {
	int64_t id;
	char *call_id;
	char caller[NUMBER_BUFSZ]; /* "" when withheld */
	char *code;
	char *agent;
	char *note; /* NULL: none */
	int64_t ts;
	int64_t flag_id;     /* 0: none (withheld caller) */
	int64_t followup_id; /* 0: none */
};

struct report_list {
	struct report *v;
	size_t n;
	size_t cap;
};

/* An audit row. Strings are malloc'ed; detail is the JSON object text as stored. */
struct audit_row {
	int64_t id;
	int64_t ts;
	char *actor;
	char *role;
	char *action;
	char *subject;
	char *detail;
};

struct audit_rows {
	struct audit_row *v;
	size_t n;
	size_t cap;
};

/* flag.list filters; NULL or 0 fields are unset. */
struct flag_filter {
	const char *code;
	const char *source;
	const char *by;    /* created_by */
	const char *state; /* "active", "expired", "revoked", "all"; NULL: all */
	int64_t since;     /* created_at >= since */
	int64_t until;     /* created_at <= until */
};

void store_report_clear(struct report *r);
void store_report_list_clear(struct report_list *l);
void store_report_list_free(struct report_list *l);
/*
 * {"id", "call_id", "caller" (null when withheld), "code", "agent", "note" (null: none), "ts",
 * "flag_id" (null: none), "followup_id" (null: none)}
 */
void store_report_write_json(struct jbuf *jb, const struct report *r);

void store_audit_row_clear(struct audit_row *a);
void store_audit_rows_clear(struct audit_rows *l);
void store_audit_rows_free(struct audit_rows *l);
/* {"id", "ts", "actor", "role", "action", "subject", "detail": <the stored object, raw>} */
void store_audit_write_json(struct jbuf *jb, const struct audit_row *a);

/*
 * Records an agent's report atomically: unless the caller is withheld a flag (source "agent",
 * created_by the agent, reason the note or "reported by agent during call <call_id>", created
 * at ts), a follow-up when in->followup_due != 0 (created_by the agent), the report row, and the
 * audit rows "flag.add", "followup.add" and "report.add" (subject the caller, or
 * "call:<call_id>" when withheld). flag_out and fu_out receive what was written (zeroed when
 * none). When a report with the same call_id and code exists, nothing is written, *duplicate
 * is 1 and flag_out and fu_out receive that report's flag and follow-up as they are now.
 */
enum store_status store_report_add(struct store *s, const struct report_in *in, const char *role,
                                   struct flag *flag_out, struct followup *fu_out, int *duplicate);

/*
 * Inserts fu (id and done fields ignored; caller, call_id (may be NULL), due_at, created_by,
 * created_at and note set) and its "followup.add" audit row (actor created_by, subject the
 * caller) atomically; sets fu->id.
 */
enum store_status store_followup_add(struct store *s, struct followup *fu, const char *role);

/*
 * Marks follow-up id done at ts by by with note, with its "followup.done" audit row,
 * atomically. On STORE_OK out holds the updated follow-up. STORE_NOT_FOUND for an unknown id,
 * STORE_CONFLICT when already done (out holds the follow-up as it is).
 */
enum store_status store_followup_done(struct store *s, int64_t id, const char *by, const char *note,
                                      int64_t ts, const char *role, struct followup *out);
enum store_status store_followup_get(struct store *s, int64_t id, struct followup *out);

/* Appends one audit row; detail_json must be a one-line JSON object (NULL: {}). */
enum store_status store_audit_add(struct store *s, int64_t ts, const char *actor, const char *role,
                                  const char *action, const char *subject, const char *detail_json);

/* Flags matching f, state evaluated at now as flag_state does. An unknown state is an error. */
enum store_status store_flag_list(struct store *s, const struct flag_filter *f, int64_t now,
                                  size_t limit, int64_t cursor, struct flag_list *out,
                                  int64_t *next);

/*
 * Follow-ups by state at now: "open" (not done, overdue included), "overdue" (open and
 * due_at <= now), "done", "all" (NULL: all); caller NULL for every caller.
 */
enum store_status store_followup_list(struct store *s, const char *state, const char *caller,
                                      int64_t now, size_t limit, int64_t cursor,
                                      struct followup_list *out, int64_t *next);

/* Audit rows by subject and/or actor (NULL: any) with since <= ts <= until. */
enum store_status store_audit_list(struct store *s, const char *subject, const char *actor,
                                   int64_t since, int64_t until, size_t limit, int64_t cursor,
                                   struct audit_rows *out, int64_t *next);

/* For caller.export: the caller's reports and follow-ups, newest first, at most limit. */
enum store_status store_caller_reports(struct store *s, const char *caller, size_t limit,
                                       struct report_list *out);
enum store_status store_caller_followups(struct store *s, const char *caller, size_t limit,
                                         struct followup_list *out);

#endif
