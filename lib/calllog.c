/* The call log: its own SQLite connection, grouped writes by id, bounded reads of recent calls. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "calllog.h"

#define CALL_COLUMNS                                                                               \
	"id, call_id, caller, dialed, offered_at, action, queue, rule, policy, degraded, "         \
	"answered_at, agent, ended_at, ended_by, abandoned, talk_s"

/* Every statement, prepared once at open and reset after each use. */
enum calllog_stmt {
	CS_INSERT,
	CS_ANSWER,
	CS_END,
	CS_STATE,
	CS_MAX_ID,
	CS_SCAN_SINCE,
	CS_RANGE,
	CS_OPEN_CALLS,
	CS_RECENT,
	CS_PRUNE,
	CS_COUNT,
	CS_BEGIN,
	CS_COMMIT,
	CS_ROLLBACK,
	CS_NSTMT
};

/*
 * Time-ordered reads walk the calls_offered index, whose entries end with the rowid, so
 * "ORDER BY offered_at, id" needs no sort. The recent-calls read walks the table backwards from
 * its newest row and stops after scan_cap rows whatever the caller: bounded work without an
 * index on caller.
 */
static const char *const calllog_sql[CS_NSTMT] = {
    [CS_INSERT] = "INSERT INTO calls (" CALL_COLUMNS ") VALUES "
                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [CS_ANSWER] = "UPDATE calls SET answered_at = ?2, agent = ?3 "
                  "WHERE id = ?1 AND answered_at IS NULL",
    [CS_END] = "UPDATE calls SET ended_at = ?2, ended_by = ?3, abandoned = ?4, talk_s = ?5 "
               "WHERE id = ?1 AND ended_at IS NULL",
    [CS_STATE] = "SELECT answered_at, ended_at FROM calls WHERE id = ?1",
    [CS_MAX_ID] = "SELECT max(id) FROM calls",
    [CS_SCAN_SINCE] = "SELECT " CALL_COLUMNS " FROM calls WHERE offered_at >= ?1 "
                      "ORDER BY offered_at, id",
    [CS_RANGE] = "SELECT " CALL_COLUMNS " FROM calls WHERE offered_at >= ?1 AND offered_at < ?2 "
                 "ORDER BY offered_at, id",
    [CS_OPEN_CALLS] = "SELECT " CALL_COLUMNS " FROM calls WHERE offered_at >= ?1 "
                      "AND ended_at IS NULL ORDER BY offered_at, id",
    [CS_RECENT] = "SELECT " CALL_COLUMNS " FROM (SELECT " CALL_COLUMNS " FROM calls "
                  "ORDER BY id DESC LIMIT ?3) WHERE caller = ?1 ORDER BY id DESC LIMIT ?2",
    [CS_PRUNE] = "DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE offered_at < ?1 "
                 "ORDER BY offered_at LIMIT ?2)",
    [CS_COUNT] = "SELECT count(*) FROM calls",
    [CS_BEGIN] = "BEGIN IMMEDIATE",
    [CS_COMMIT] = "COMMIT",
    [CS_ROLLBACK] = "ROLLBACK",
};

struct calllog {
	sqlite3 *db;
	int in_tx; /* inside calllog_begin .. calllog_commit/calllog_rollback */
	sqlite3_stmt *st[CS_NSTMT];
	char errmsg[512];
};

static enum store_status
calllog_status_of(int rc)
{
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return STORE_CONFLICT;
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	default:
		return STORE_ERROR;
	}
}

static void calllog_seterr(struct calllog *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
calllog_seterr(struct calllog *cl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->errmsg, sizeof(cl->errmsg), fmt, ap);
	va_end(ap);
}

/* Records the connection's error for rc and maps it to a status. */
static enum store_status
calllog_fail(struct calllog *cl, int rc)
{
	enum store_status status = calllog_status_of(rc);

	calllog_seterr(cl, "%s", sqlite3_errmsg(cl->db));
	return status == STORE_OK ? STORE_ERROR : status;
}

static void
calllog_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows. */
static enum store_status
calllog_run(struct calllog *cl, enum calllog_stmt which)
{
	sqlite3_stmt *st = cl->st[which];
	enum store_status status = STORE_OK;
	int rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		status = calllog_fail(cl, rc);
	calllog_done(st);
	return status;
}

static void calllog_cause(char **cause, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
calllog_cause(char **cause, const char *path, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int rc;

	if (cause == NULL || *cause != NULL)
		return;
	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc == -1)
		return;
	if (asprintf(cause, "%s: %s", path, msg) == -1)
		*cause = NULL;
	free(msg);
}

/* Runs a pragma at open, returning its first column as text in buf. */
static int
calllog_query_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st;
	const unsigned char *v;
	int rc;

	buf[0] = '\0';
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_text(st, 0);
		snprintf(buf, size, "%s", v != NULL ? (const char *)v : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	return rc;
}

/* Sets up an opened connection: WAL, group-commit durability, cache, schema version. */
static int
calllog_setup(struct calllog *cl, const char *path, char **cause)
{
	int newest =
	    calllog_nmigrations > 0 ? calllog_migrations[calllog_nmigrations - 1].version : 0;
	char buf[32];
	int rc, version;

	rc = calllog_query_text(cl->db, "PRAGMA journal_mode=WAL", buf, sizeof(buf));
	if (rc == SQLITE_OK && strcmp(buf, "wal") != 0) {
		calllog_cause(cause, path, "cannot switch to WAL mode (journal mode is %s)", buf);
		return -1;
	}
	/*
	 * FULL: each group (one per 50 ms) is flushed at its commit, so a committed group survives
	 * a power loss too; that is 20 fsyncs a second on the call-log thread, never on the loop.
	 * The cache keeps the right edge of the table and of calls_offered hot.
	 */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(cl->db, "PRAGMA synchronous=FULL; PRAGMA cache_size=-65536", NULL,
		                  NULL, NULL);
	if (rc == SQLITE_OK)
		rc = calllog_query_text(cl->db, "PRAGMA user_version", buf, sizeof(buf));
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_NOTADB)
			calllog_cause(cause, path, "file is not a database");
		else
			calllog_cause(cause, path, "%s", sqlite3_errmsg(cl->db));
		return -1;
	}
	version = atoi(buf);
	if (version < newest) {
		calllog_cause(cause, path,
		              "call-log schema version %d is older than this callwarden (%d); "
		              "calllog_create migrates it",
		              version, newest);
		return -1;
	}
	if (version > newest) {
		calllog_cause(cause, path,
		              "call-log schema version %d is newer than this callwarden (%d)",
		              version, newest);
		return -1;
	}
	return 0;
}

int
calllog_path(const char *db, char *out, size_t len)
{
	size_t n = strlen(db);
	int w;

	if (n > 3 && strcmp(db + n - 3, ".db") == 0)
		w = snprintf(out, len, "%.*s-calls.db", (int)(n - 3), db);
	else
		w = snprintf(out, len, "%s-calls", db);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* Runs sql (several statements) on db; on failure a cause naming what and path. */
static int
calllog_exec(sqlite3 *db, const char *path, const char *what, const char *sql, char **cause)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	calllog_cause(cause, path, "%s: %s", what, err != NULL ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	return -1;
}

/* Applies the call-log migrations newer than the file's user_version, each in a transaction. */
static int
calllog_migrate(sqlite3 *db, const char *path, char **cause)
{
	char buf[32], sql[64];
	size_t i;
	int version;

	if (calllog_query_text(db, "PRAGMA user_version", buf, sizeof(buf)) != SQLITE_OK) {
		calllog_cause(cause, path, "%s", sqlite3_errmsg(db));
		return -1;
	}
	version = atoi(buf);
	for (i = 0; i < calllog_nmigrations; i++) {
		const struct store_migration *m = &calllog_migrations[i];

		if (m->version <= version)
			continue;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", m->version);
		if (calllog_exec(db, path, "begin", "BEGIN IMMEDIATE", cause) == -1)
			return -1;
		if (calllog_exec(db, path, m->name, m->sql, cause) == -1 ||
		    calllog_exec(db, path, m->name, sql, cause) == -1 ||
		    calllog_exec(db, path, "commit", "COMMIT", cause) == -1) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/*
 * Earlier versions kept the calls in the main database: move them here once (ids are kept, so
 * a move cut short by a crash is simply done again), then drop the old table.
 */
static int
calllog_adopt(sqlite3 *db, const char *path, const char *main_db, char **cause)
{
	sqlite3_stmt *st;
	char buf[16];
	int rc, found = 0;

	rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS old", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, main_db, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		calllog_cause(cause, path, "attaching %s: %s", main_db, sqlite3_errmsg(db));
		return -1;
	}
	if (calllog_query_text(db,
	                       "SELECT count(*) FROM old.sqlite_master "
	                       "WHERE type = 'table' AND name = 'calls'",
	                       buf, sizeof(buf)) == SQLITE_OK)
		found = atoi(buf) > 0;
	rc = 0;
	if (found)
		rc = calllog_exec(db, path, "moving the calls of the main database",
		                  "BEGIN IMMEDIATE; INSERT OR IGNORE INTO main.calls SELECT * FROM "
		                  "old.calls; COMMIT; DROP TABLE old.calls;",
		                  cause);
	if (rc == -1)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(db, "DETACH DATABASE old", NULL, NULL, NULL);
	return rc;
}

int
calllog_create(const char *path, const char *main_db, char **cause)
{
	sqlite3 *db = NULL;
	char mode[16];
	int rc = -1;

	if (cause != NULL)
		*cause = NULL;
	if (sqlite3_open_v2(path, &db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		calllog_cause(cause, path, "%s", db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	if (calllog_query_text(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode)) != SQLITE_OK) {
		calllog_cause(cause, path, "%s", sqlite3_errmsg(db));
		goto out;
	}
	if (strcmp(mode, "wal") != 0) {
		calllog_cause(cause, path, "cannot switch to WAL mode (journal mode is %s)", mode);
		goto out;
	}
	if (calllog_migrate(db, path, cause) == -1)
		goto out;
	if (main_db != NULL && calllog_adopt(db, path, main_db, cause) == -1)
		goto out;
	rc = 0;
out:
	sqlite3_close(db);
	return rc;
}

struct calllog *
calllog_open(const char *path, int busy_ms, char **cause)
{
	struct calllog *cl;
	size_t i;
	int rc;

	if (cause != NULL)
		*cause = NULL;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		calllog_cause(cause, path, "out of memory");
		return NULL;
	}
	/* No CREATE: calllog_create makes and migrates the file. */
	rc = sqlite3_open_v2(path, &cl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (access(path, F_OK) == -1 && errno == ENOENT)
			calllog_cause(cause, path,
			              "call log does not exist (calllog_create makes it)");
		else
			calllog_cause(cause, path, "%s",
			              cl->db != NULL ? sqlite3_errmsg(cl->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(cl->db, 1);
	sqlite3_busy_timeout(cl->db, busy_ms > 0 ? busy_ms : 0);
	if (calllog_setup(cl, path, cause) == -1)
		goto fail;
	for (i = 0; i < CS_NSTMT; i++) {
		rc = sqlite3_prepare_v3(cl->db, calllog_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &cl->st[i], NULL);
		if (rc != SQLITE_OK) {
			calllog_cause(cause, path, "preparing \"%s\": %s", calllog_sql[i],
			              sqlite3_errmsg(cl->db));
			goto fail;
		}
	}
	return cl;
fail:
	calllog_cause(cause, path, "cannot open the call log");
	calllog_close(cl);
	return NULL;
}

void
calllog_close(struct calllog *cl)
{
	size_t i;

	if (cl == NULL)
		return;
	for (i = 0; i < CS_NSTMT; i++)
		sqlite3_finalize(cl->st[i]);
	/* Closing inside a group rolls it back. */
	sqlite3_close(cl->db);
	free(cl);
}

const char *
calllog_errmsg(const struct calllog *cl)
{
	return cl->errmsg[0] != '\0' ? cl->errmsg : "no error";
}

enum store_status
calllog_begin(struct calllog *cl)
{
	enum store_status status;

	if (cl->in_tx) {
		calllog_seterr(cl, "a transaction is already open");
		return STORE_ERROR;
	}
	status = calllog_run(cl, CS_BEGIN);
	if (status == STORE_OK)
		cl->in_tx = 1;
	return status;
}

enum store_status
calllog_commit(struct calllog *cl)
{
	enum store_status status;

	if (!cl->in_tx) {
		calllog_seterr(cl, "no transaction is open");
		return STORE_ERROR;
	}
	if (sqlite3_get_autocommit(cl->db)) {
		/* An error inside the group made SQLite roll all of it back. */
		cl->in_tx = 0;
		calllog_seterr(cl, "the transaction was rolled back by an earlier error");
		return STORE_ERROR;
	}
	status = calllog_run(cl, CS_COMMIT);
	if (status == STORE_OK)
		cl->in_tx = 0;
	return status; /* on failure the transaction stays open for calllog_rollback */
}

void
calllog_rollback(struct calllog *cl)
{
	if (!sqlite3_get_autocommit(cl->db)) {
		sqlite3_step(cl->st[CS_ROLLBACK]);
		calllog_done(cl->st[CS_ROLLBACK]);
	}
	cl->in_tx = 0;
}

/*
 * Binds a fixed-size field of at most size - 1 bytes, never reading past its array, so what is
 * stored always fits the array again when read back; "" binds NULL when empty_null.
 */
static void
calllog_bind_field(sqlite3_stmt *st, int col, const char *v, size_t size, int empty_null)
{
	size_t n = strnlen(v, size - 1);

	if (n == 0 && empty_null)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_text(st, col, v, (int)n, SQLITE_STATIC);
}

#define CALLLOG_BIND(st, col, field, empty_null)                                                   \
	calllog_bind_field((st), (col), (field), sizeof(field), (empty_null))

/* Binds a time where 0 means "not set". */
static void
calllog_bind_time(sqlite3_stmt *st, int col, int64_t v)
{
	if (v != 0)
		sqlite3_bind_int64(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

enum store_status
calllog_insert(struct calllog *cl, const struct call_row *r)
{
	sqlite3_stmt *st = cl->st[CS_INSERT];

	if (r->id <= 0) {
		calllog_seterr(cl, "call log ids start at 1 (got %" PRId64 ")", r->id);
		return STORE_ERROR;
	}
	sqlite3_bind_int64(st, 1, r->id);
	CALLLOG_BIND(st, 2, r->call_id, 0);
	CALLLOG_BIND(st, 3, r->caller, 1);
	CALLLOG_BIND(st, 4, r->dialed, 1);
	sqlite3_bind_int64(st, 5, r->offered_at);
	CALLLOG_BIND(st, 6, r->action, 0);
	CALLLOG_BIND(st, 7, r->queue, 0);
	CALLLOG_BIND(st, 8, r->rule, 0);
	CALLLOG_BIND(st, 9, r->policy, 0);
	sqlite3_bind_int(st, 10, r->degraded != 0);
	calllog_bind_time(st, 11, r->answered_at);
	CALLLOG_BIND(st, 12, r->agent, 1);
	calllog_bind_time(st, 13, r->ended_at);
	CALLLOG_BIND(st, 14, r->ended_by, 1);
	sqlite3_bind_int(st, 15, r->abandoned != 0);
	if (r->talk_s >= 0)
		sqlite3_bind_int64(st, 16, r->talk_s);
	else
		sqlite3_bind_null(st, 16);
	return calllog_run(cl, CS_INSERT);
}

/*
 * After an UPDATE by id changed nothing: STORE_NOT_FOUND for an unknown id, else STORE_CONFLICT
 * (the call was answered or ended already). Only this rare path pays for the extra read.
 */
static enum store_status
calllog_no_change(struct calllog *cl, int64_t id, const char *what)
{
	sqlite3_stmt *st = cl->st[CS_STATE];
	enum store_status status;
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		calllog_seterr(cl, "call %" PRId64 " is already %s", id, what);
		status = STORE_CONFLICT;
	} else if (rc == SQLITE_DONE) {
		calllog_seterr(cl, "no call %" PRId64 " in the call log", id);
		status = STORE_NOT_FOUND;
	} else
		status = calllog_fail(cl, rc);
	calllog_done(st);
	return status;
}

enum store_status
calllog_set_answered(struct calllog *cl, int64_t id, int64_t ts, const char *agent)
{
	sqlite3_stmt *st = cl->st[CS_ANSWER];
	enum store_status status;

	if (agent != NULL && strnlen(agent, CALLLOG_AGENT_MAX + 1) > CALLLOG_AGENT_MAX) {
		calllog_seterr(cl, "agent is longer than %d bytes", CALLLOG_AGENT_MAX);
		return STORE_ERROR;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, ts);
	if (agent != NULL && agent[0] != '\0')
		sqlite3_bind_text(st, 3, agent, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	status = calllog_run(cl, CS_ANSWER);
	if (status == STORE_OK && sqlite3_changes(cl->db) == 0)
		status = calllog_no_change(cl, id, "answered");
	return status;
}

enum store_status
calllog_set_ended(struct calllog *cl, int64_t id, int64_t ended_at, const char *ended_by,
                  int abandoned, int64_t talk_s)
{
	sqlite3_stmt *st = cl->st[CS_END];
	enum store_status status;

	if (ended_by == NULL ||
	    (strcmp(ended_by, "caller") != 0 && strcmp(ended_by, "agent") != 0 &&
	     strcmp(ended_by, "system") != 0)) {
		calllog_seterr(cl, "ended_by must be caller, agent or system");
		return STORE_ERROR;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, ended_at);
	sqlite3_bind_text(st, 3, ended_by, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, abandoned != 0);
	if (talk_s >= 0)
		sqlite3_bind_int64(st, 5, talk_s);
	else
		sqlite3_bind_null(st, 5);
	status = calllog_run(cl, CS_END);
	if (status == STORE_OK && sqlite3_changes(cl->db) == 0)
		status = calllog_no_change(cl, id, "ended");
	return status;
}

int64_t
calllog_max_id(struct calllog *cl)
{
	sqlite3_stmt *st = cl->st[CS_MAX_ID];
	int64_t id = -1;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0); /* NULL on an empty table reads as 0 */
	else
		calllog_fail(cl, rc);
	calllog_done(st);
	return id;
}

/* Copies a text column into a fixed array, cutting it to fit; NULL reads as "". */
static void
calllog_col_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	size_t n = v != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, v, n);
	dst[n] = '\0';
}

#define CALLLOG_COL(st, col, field) calllog_col_text((st), (col), (field), sizeof(field))

/* Fills r from the current row of a CALL_COLUMNS query. */
static void
calllog_row(sqlite3_stmt *st, struct call_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	CALLLOG_COL(st, 1, r->call_id);
	CALLLOG_COL(st, 2, r->caller);
	CALLLOG_COL(st, 3, r->dialed);
	r->offered_at = sqlite3_column_int64(st, 4);
	CALLLOG_COL(st, 5, r->action);
	CALLLOG_COL(st, 6, r->queue);
	CALLLOG_COL(st, 7, r->rule);
	CALLLOG_COL(st, 8, r->policy);
	r->degraded = sqlite3_column_int(st, 9);
	r->answered_at = sqlite3_column_int64(st, 10); /* NULL reads as 0 */
	CALLLOG_COL(st, 11, r->agent);
	r->ended_at = sqlite3_column_int64(st, 12);
	CALLLOG_COL(st, 13, r->ended_by);
	r->abandoned = sqlite3_column_int(st, 14);
	r->talk_s = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 15);
}

/* Steps a bound CALL_COLUMNS query to its end or until cb asks to stop. */
static enum store_status
calllog_scan(struct calllog *cl, enum calllog_stmt which, calllog_cb cb, void *arg)
{
	sqlite3_stmt *st = cl->st[which];
	enum store_status status = STORE_OK;
	struct call_row row;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		calllog_row(st, &row);
		if (cb(&row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		status = calllog_fail(cl, rc);
	/* Reset ends the read transaction, so the next read sees new commits. */
	calllog_done(st);
	return status;
}

enum store_status
calllog_scan_since(struct calllog *cl, int64_t since_ts, calllog_cb cb, void *arg)
{
	sqlite3_bind_int64(cl->st[CS_SCAN_SINCE], 1, since_ts);
	return calllog_scan(cl, CS_SCAN_SINCE, cb, arg);
}

enum store_status
calllog_range(struct calllog *cl, int64_t since_ts, int64_t until_ts, calllog_cb cb, void *arg)
{
	sqlite3_bind_int64(cl->st[CS_RANGE], 1, since_ts);
	sqlite3_bind_int64(cl->st[CS_RANGE], 2, until_ts);
	return calllog_scan(cl, CS_RANGE, cb, arg);
}

enum store_status
calllog_open_calls(struct calllog *cl, int64_t since_ts, calllog_cb cb, void *arg)
{
	sqlite3_bind_int64(cl->st[CS_OPEN_CALLS], 1, since_ts);
	return calllog_scan(cl, CS_OPEN_CALLS, cb, arg);
}

static sqlite3_int64
calllog_limit(size_t v)
{
	return (uint64_t)v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

enum store_status
calllog_recent_for_caller(struct calllog *cl, const char *caller, size_t limit, size_t scan_cap,
                          struct call_row *out, size_t *n)
{
	sqlite3_stmt *st = cl->st[CS_RECENT];
	enum store_status status = STORE_OK;
	int rc = SQLITE_DONE;

	*n = 0;
	if (caller == NULL || caller[0] == '\0' || limit == 0 || scan_cap == 0)
		return STORE_OK;
	sqlite3_bind_text(st, 1, caller, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, calllog_limit(limit));
	sqlite3_bind_int64(st, 3, calllog_limit(scan_cap));
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		calllog_row(st, &out[(*n)++]);
	if (*n < limit && rc != SQLITE_DONE) {
		status = calllog_fail(cl, rc);
		*n = 0;
	}
	calllog_done(st);
	return status;
}

enum store_status
calllog_prune(struct calllog *cl, int64_t before_ts, size_t batch, size_t *deleted)
{
	sqlite3_stmt *st = cl->st[CS_PRUNE];
	enum store_status status;

	*deleted = 0;
	if (batch == 0)
		return STORE_OK;
	sqlite3_bind_int64(st, 1, before_ts);
	sqlite3_bind_int64(st, 2, calllog_limit(batch));
	status = calllog_run(cl, CS_PRUNE);
	if (status == STORE_OK)
		*deleted = (size_t)sqlite3_changes(cl->db);
	return status;
}

int64_t
calllog_count(struct calllog *cl)
{
	sqlite3_stmt *st = cl->st[CS_COUNT];
	int64_t count = -1;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	else
		calllog_fail(cl, rc);
	calllog_done(st);
	return count;
}
