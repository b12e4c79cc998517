/*
 * The call log in SQLite: one row per offered call, in a database file of its own beside the
 * main one (calllog_path), written in grouped transactions on a connection of its own (the
 * daemon runs it on a dedicated call-log thread), read back to rebuild the in-memory counters at
 * start-up and to show a caller's recent calls. A struct calllog is used by one thread at a time.
 *
 * Durability: WAL with synchronous=FULL, one commit per group: a crash or power loss loses at
 * most the last uncommitted group of call-log rows, never a flag, report or audit row (those are
 * in the main database, written by the store writer).
 */
#ifndef CW_CALLLOG_H
#define CW_CALLLOG_H

#include <stddef.h>
#include <stdint.h>

#include "number.h"
#include "store.h"

/* Longest text fields in bytes, without the NUL. */
#define CALLLOG_CALL_ID_MAX 128
#define CALLLOG_DIALED_MAX  63
#define CALLLOG_QUEUE_MAX   32 /* policy names are at most 32 bytes */
#define CALLLOG_RULE_MAX    64 /* rule names, "allowlist", "default" */
#define CALLLOG_POLICY_MAX  64 /* policy version */
#define CALLLOG_AGENT_MAX   128

/*
 * One call. Plain fixed-size arrays so a row can be copied between threads without allocation.
 * Strings are NUL-terminated; a field that fills its whole array without a NUL is written cut
 * to the array's size - 1 bytes. Empty caller, dialed, agent and ended_by are stored as NULL.
 */
struct call_row {
	int64_t id; /* > 0, assigned by the daemon, increasing */
	char call_id[CALLLOG_CALL_ID_MAX + 1];
	char caller[NUMBER_BUFSZ]; /* E.164, "" when withheld */
	char dialed[CALLLOG_DIALED_MAX + 1];
	int64_t offered_at;
	char action[8]; /* "queue" or "reject" */
	char queue[CALLLOG_QUEUE_MAX + 1];
	char rule[CALLLOG_RULE_MAX + 1];
	char policy[CALLLOG_POLICY_MAX + 1];
	int degraded;
	int64_t answered_at; /* 0: not answered */
	char agent[CALLLOG_AGENT_MAX + 1];
	int64_t ended_at; /* 0: not ended */
	char ended_by[8]; /* "caller", "agent", "system"; "" while open */
	int abandoned;    /* 0 or 1 */
	int64_t talk_s;   /* answered..ended in seconds; -1: none */
};

struct calllog;

/*
 * Called for each row of a scan; the row is valid only during the call. Return 0 to go on, any
 * other value to stop the scan (which then still returns STORE_OK). The callback must not use
 * the same struct calllog.
 */
typedef int (*calllog_cb)(const struct call_row *row, void *arg);

extern const struct store_migration calllog_migrations[];
extern const size_t calllog_nmigrations;

/*
 * The call log's file for the main database db: "x.db" -> "x-calls.db", else db + "-calls".
 * Returns 0, or -1 when it does not fit in len bytes (out is then no path to use).
 */
int calllog_path(const char *db, char *out, size_t len);

/*
 * Creates or migrates the call-log file at path (schema/calls/). With main_db, moves the calls
 * an earlier version kept in that main database into it, once. Returns -1 with *cause (caller
 * frees) on failure.
 */
int calllog_create(const char *path, const char *main_db, char **cause);

/*
 * Opens the call log at path, which calllog_create has made (a file path: ":memory:" would be a
 * different, empty database). busy_ms bounds waiting for the file's write lock. Returns NULL
 * with *cause (caller frees) on failure.
 */
struct calllog *calllog_open(const char *path, int busy_ms, char **cause);
void calllog_close(struct calllog *cl); /* NULL is a no-op */

/* The error message of the last failed call. */
const char *calllog_errmsg(const struct calllog *cl);

/*
 * Group transactions: begin takes the call-log file's write lock (waiting up to busy_ms), so
 * collect a group in memory first and hold the transaction only while writing it. A statement that
 * fails inside a group leaves the rest of the group in place, except for errors after which SQLite
 * rolls back everything: commit then fails with STORE_ERROR.
 */
enum store_status calllog_begin(struct calllog *cl);
enum store_status calllog_commit(struct calllog *cl); /* on failure, call calllog_rollback */
void calllog_rollback(struct calllog *cl);

/*
 * Inserts r with its id (> 0). The answer and end fields of r are stored as given (0, "" and
 * -1 mean not set). STORE_CONFLICT when the id exists already.
 */
enum store_status calllog_insert(struct calllog *cl, const struct call_row *r);

/*
 * Sets the answer time and agent (NULL or "": none, at most CALLLOG_AGENT_MAX bytes) of call id.
 * The first answer wins: STORE_CONFLICT when the call was answered already (nothing changes),
 * STORE_NOT_FOUND for an unknown id. Allowed after the end (events out of order).
 */
enum store_status calllog_set_answered(struct calllog *cl, int64_t id, int64_t ts,
                                       const char *agent);

/*
 * Ends call id: ended_by "caller", "agent" or "system"; abandoned 0 or 1; talk_s -1 when never
 * answered. The first end wins: STORE_CONFLICT when ended already (nothing changes, so a repeated
 * end is harmless), STORE_NOT_FOUND for an unknown id.
 */
enum store_status calllog_set_ended(struct calllog *cl, int64_t id, int64_t ended_at,
                                    const char *ended_by, int abandoned, int64_t talk_s);

/* The largest id in the log, 0 when empty, -1 on error (the daemon continues after it). */
int64_t calllog_max_id(struct calllog *cl);

/* Every row with offered_at >= since_ts, oldest first (start-up rebuild of the counters). */
enum store_status calllog_scan_since(struct calllog *cl, int64_t since_ts, calllog_cb cb,
                                     void *arg);

/* Rows with offered_at in [since_ts, until_ts), oldest first (e.g. policy simulation). */
enum store_status calllog_range(struct calllog *cl, int64_t since_ts, int64_t until_ts,
                                calllog_cb cb, void *arg);

/* Rows not yet ended with offered_at >= since_ts, oldest first (calls open at a restart). */
enum store_status calllog_open_calls(struct calllog *cl, int64_t since_ts, calllog_cb cb,
                                     void *arg);

/*
 * The caller's newest calls, newest first, at most limit, into out[0..*n): only the newest
 * scan_cap rows of the whole log are looked at, so the work is bounded (there is no index on
 * caller; see schema/002_calls.sql) and older calls of the caller are not found. An empty or
 * NULL caller (withheld) finds nothing. Whole-history reads by caller (export) are not offered.
 */
enum store_status calllog_recent_for_caller(struct calllog *cl, const char *caller, size_t limit,
                                            size_t scan_cap, struct call_row *out, size_t *n);

/*
 * Deletes at most batch of the oldest rows with offered_at < before_ts; *deleted gets how many.
 * Call it repeatedly with small batches so the write lock is never held long; inside a group it
 * joins the group. Only the call log is pruned: flags, reports and audit rows are never touched.
 */
enum store_status calllog_prune(struct calllog *cl, int64_t before_ts, size_t batch,
                                size_t *deleted);

/* Number of rows, -1 on error. Reads the whole offered_at index: tests and occasional stats. */
int64_t calllog_count(struct calllog *cl);

#endif
