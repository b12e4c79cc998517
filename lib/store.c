/*
 * The SQLite store: opening and migrating the database, flag lookups, audited writes of flags,
 * reports and follow-ups, and the paged lists of flags, follow-ups and audit rows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "jbuf.h"
#include "store.h"
#include "textcopy.h"

#define FLAG_COLUMNS                                                                               \
	"id, caller, code, reason, created_by, source, created_at, expires_at, revoked_at, "       \
	"revoked_by, revoke_reason"
#define FOLLOWUP_COLUMNS                                                                           \
	"id, caller, call_id, due_at, created_by, created_at, note, done_at, done_by, done_note"
#define REPORT_COLUMNS "id, call_id, caller, code, agent, note, ts, flag_id, followup_id"
#define AUDIT_COLUMNS  "id, ts, actor, role, action, subject, detail"

/*
 * The paged lists bind their filters as parameters, NULL or 0 when unset. Each list has a
 * variant per indexed filter, where that filter is a plain equality, so that SQLite walks the
 * index (filter, id) backwards from the cursor instead of the whole table; the cursor is bound
 * as INT64_MAX for the first page, so "id < cursor" is always a range bound.
 *
 * Flags: ?1 code ?2 source ?3 created_by ?4 state (0 all, 1 active, 2 expired, 3 revoked)
 * ?5 now ?6 since ?7 until ?8 cursor ?9 limit.
 */
#define FLAG_LIST_WHERE                                                                            \
	"(?1 IS NULL OR code = ?1) AND (?2 IS NULL OR source = ?2) AND "                           \
	"(?3 IS NULL OR created_by = ?3) AND "                                                     \
	"(?4 = 0 OR "                                                                              \
	" (?4 = 1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?5)) OR "         \
	" (?4 = 2 AND revoked_at IS NULL AND expires_at <= ?5) OR "                                \
	" (?4 = 3 AND revoked_at IS NOT NULL)) AND "                                               \
	"(?6 = 0 OR created_at >= ?6) AND (?7 = 0 OR created_at <= ?7) AND id < ?8 "               \
	"ORDER BY id DESC LIMIT ?9"
/* Follow-ups: ?1 caller ?2 state (0 all, 1 open, 2 overdue, 3 done) ?3 now ?4 cursor ?5 limit. */
#define FOLLOWUP_LIST_WHERE                                                                        \
	"(?2 = 0 OR (?2 = 1 AND done_at IS NULL) OR "                                              \
	" (?2 = 2 AND done_at IS NULL AND due_at <= ?3) OR (?2 = 3 AND done_at IS NOT NULL)) "     \
	"AND id < ?4 ORDER BY id DESC LIMIT ?5"
/* Audit: ?1 subject ?2 actor ?3 since ?4 until ?5 cursor ?6 limit. */
#define AUDIT_LIST_WHERE                                                                           \
	"(?1 IS NULL OR subject = ?1) AND (?2 IS NULL OR actor = ?2) AND "                         \
	"(?3 = 0 OR ts >= ?3) AND (?4 = 0 OR ts <= ?4) AND id < ?5 ORDER BY id DESC LIMIT ?6"

/* Every statement, prepared once at open and reset after each use. */
enum store_stmt {
	ST_CALLER_FLAGS,
	ST_CALLER_FLAGS_BRIEF,
	ST_FLAG_GET,
	ST_FLAG_INSERT,
	ST_FLAG_REVOKE,
	ST_AUDIT_INSERT,
	ST_COUNT_ACTIVE,
	ST_COUNT_ACTIVE_BY_CODE,
	ST_REPORT_FIND,
	ST_REPORT_INSERT,
	ST_FOLLOWUP_INSERT,
	ST_FOLLOWUP_GET,
	ST_FOLLOWUP_DONE,
	ST_FLAG_LIST,
	ST_FLAG_LIST_BY,
	ST_FLAG_LIST_CODE,
	ST_FOLLOWUP_LIST,
	ST_FOLLOWUP_LIST_CALLER,
	ST_AUDIT_LIST,
	ST_AUDIT_LIST_SUBJECT,
	ST_AUDIT_LIST_ACTOR,
	ST_CALLER_REPORTS,
	ST_CALLER_FOLLOWUPS,
	ST_BEGIN,
	ST_READ_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_COUNT
};

static const char *const store_sql[ST_COUNT] = {
    [ST_CALLER_FLAGS] = "SELECT " FLAG_COLUMNS " FROM flags WHERE caller = ?1 "
                        "ORDER BY created_at DESC, id DESC LIMIT ?2",
    /* Only columns of the flags_caller_route index: the table is not read. */
    [ST_CALLER_FLAGS_BRIEF] = "SELECT id, code, created_at, expires_at, revoked_at FROM flags "
                              "WHERE caller = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
    [ST_FLAG_GET] = "SELECT " FLAG_COLUMNS " FROM flags WHERE id = ?1",
    [ST_FLAG_INSERT] = "INSERT INTO flags (caller, code, reason, created_by, source, created_at, "
                       "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_FLAG_REVOKE] = "UPDATE flags SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4 "
                       "WHERE id = ?1 AND revoked_at IS NULL",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (ts, actor, role, action, subject, detail) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_COUNT_ACTIVE] = "SELECT count(*) FROM flags WHERE revoked_at IS NULL AND "
                        "(expires_at IS NULL OR expires_at > ?1)",
    [ST_COUNT_ACTIVE_BY_CODE] = "SELECT code, count(*) FROM flags WHERE revoked_at IS NULL AND "
                                "(expires_at IS NULL OR expires_at > ?1) GROUP BY code "
                                "ORDER BY code LIMIT ?2",
    [ST_REPORT_FIND] = "SELECT flag_id, followup_id FROM reports WHERE call_id = ?1 AND code = ?2",
    [ST_REPORT_INSERT] = "INSERT INTO reports (call_id, caller, code, agent, note, ts, flag_id, "
                         "followup_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_FOLLOWUP_INSERT] = "INSERT INTO followups (caller, call_id, due_at, created_by, "
                           "created_at, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_FOLLOWUP_GET] = "SELECT " FOLLOWUP_COLUMNS " FROM followups WHERE id = ?1",
    [ST_FOLLOWUP_DONE] = "UPDATE followups SET done_at = ?2, done_by = ?3, done_note = ?4 "
                         "WHERE id = ?1 AND done_at IS NULL",
    [ST_FLAG_LIST] = "SELECT " FLAG_COLUMNS " FROM flags WHERE " FLAG_LIST_WHERE,
    [ST_FLAG_LIST_BY] =
        "SELECT " FLAG_COLUMNS " FROM flags WHERE created_by = ?3 AND " FLAG_LIST_WHERE,
    [ST_FLAG_LIST_CODE] = "SELECT " FLAG_COLUMNS " FROM flags WHERE code = ?1 AND " FLAG_LIST_WHERE,
    [ST_FOLLOWUP_LIST] = "SELECT " FOLLOWUP_COLUMNS " FROM followups WHERE " FOLLOWUP_LIST_WHERE,
    [ST_FOLLOWUP_LIST_CALLER] = "SELECT " FOLLOWUP_COLUMNS " FROM followups WHERE caller = ?1 "
                                "AND " FOLLOWUP_LIST_WHERE,
    [ST_AUDIT_LIST] = "SELECT " AUDIT_COLUMNS " FROM audit WHERE " AUDIT_LIST_WHERE,
    [ST_AUDIT_LIST_SUBJECT] =
        "SELECT " AUDIT_COLUMNS " FROM audit WHERE subject = ?1 AND " AUDIT_LIST_WHERE,
    [ST_AUDIT_LIST_ACTOR] =
        "SELECT " AUDIT_COLUMNS " FROM audit WHERE actor = ?2 AND " AUDIT_LIST_WHERE,
    [ST_CALLER_REPORTS] = "SELECT " REPORT_COLUMNS " FROM reports WHERE caller = ?1 "
                          "ORDER BY id DESC LIMIT ?2",
    [ST_CALLER_FOLLOWUPS] = "SELECT " FOLLOWUP_COLUMNS " FROM followups WHERE caller = ?1 "
                            "ORDER BY id DESC LIMIT ?2",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_READ_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT store_unit",
    [ST_RELEASE] = "RELEASE store_unit",
    [ST_ROLLBACK_TO] = "ROLLBACK TO store_unit",
};

struct store {
	sqlite3 *db;
	enum store_role role;
	int version;
	int in_tx; /* inside store_begin .. store_commit/store_rollback */
	sqlite3_stmt *st[ST_COUNT];
	struct jbuf detail; /* audit detail JSON, reused */
	char errmsg[512];
};

/* How a write unit (one flag add or revoke) was opened, to close it the same way. */
enum store_unit { UNIT_TX, UNIT_SAVEPOINT };

static enum store_status
store_status_of(int rc)
{
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

static void store_seterr(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
store_seterr(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
}

/* Records the connection's error for rc and maps it to a status. */
static enum store_status
store_fail(struct store *s, int rc)
{
	store_seterr(s, "%s", sqlite3_errmsg(s->db));
	return store_status_of(rc) == STORE_OK ? STORE_ERROR : store_status_of(rc);
}

static void
store_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows (transaction control, writes). */
static enum store_status
store_run(struct store *s, enum store_stmt which)
{
	sqlite3_stmt *st = s->st[which];
	enum store_status status = STORE_OK;
	int rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		status = store_fail(s, rc);
	store_done(st);
	return status;
}

static char *store_vcause(const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static char *
store_vcause(const char *path, const char *fmt, va_list ap)
{
	char *msg = NULL, *cause = NULL;

	if (vasprintf(&msg, fmt, ap) == -1)
		return NULL;
	if (asprintf(&cause, "%s: %s", path, msg) == -1)
		cause = NULL;
	free(msg);
	return cause;
}

static void store_cause(char **cause, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
store_cause(char **cause, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	*cause = store_vcause(path, fmt, ap);
	va_end(ap);
}

/* The directory part of path, in buf. */
static void
store_dirname(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(buf, size, ".");
	else if (slash == path)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

/*
 * Explains a failure to open or first use path: SQLite only says "unable to open database file",
 * so look at the file system for the reason a person can act on.
 */
static void
store_open_cause(char **cause, const char *path, enum store_role role, int rc, const char *msg)
{
	char dir[4096];
	struct stat sb;

	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		store_cause(cause, path, "file is not a database");
		return;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		store_cause(cause, path, "database is locked by another process");
		return;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_IOERR:
		break;
	default:
		store_cause(cause, path, "%s", msg);
		return;
	}
	store_dirname(path, dir, sizeof(dir));
	if (stat(dir, &sb) == -1)
		store_cause(cause, path, "directory %s: %s", dir, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		store_cause(cause, path, "%s is not a directory", dir);
	else if (stat(path, &sb) == -1 && errno == ENOENT && role == STORE_READER)
		store_cause(cause, path, "database does not exist (the writer creates it)");
	else if (access(dir, W_OK | X_OK) == -1)
		store_cause(cause, path, "directory %s is not writable: %s (%s)", dir,
		            strerror(errno), msg);
	else if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) == -1)
		store_cause(cause, path, "file is not readable and writable: %s (%s)",
		            strerror(errno), msg);
	else
		store_cause(cause, path, "%s", msg);
}

/* Runs a pragma or other statement at open, returning its first column as text in buf. */
static int
store_query_text(sqlite3 *db, const char *sql, char *buf, size_t size)
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

static int
store_user_version(sqlite3 *db, int *version)
{
	char buf[32];
	int rc;

	rc = store_query_text(db, "PRAGMA user_version", buf, sizeof(buf));
	if (rc == SQLITE_OK)
		*version = atoi(buf);
	return rc;
}

static int
store_newest_migration(void)
{
	return store_nmigrations > 0 ? store_migrations[store_nmigrations - 1].version : 0;
}

/* Applies one migration in its own transaction. */
static int
store_apply(sqlite3 *db, const struct store_migration *m, const char *path, char **cause)
{
	char sql[64], *err = NULL;
	int rc, now;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_open_cause(cause, path, STORE_WRITER, rc, sqlite3_errmsg(db));
		return -1;
	}
	/* Another process may have migrated while we waited for the lock. */
	rc = store_user_version(db, &now);
	if (rc == SQLITE_OK && now >= m->version)
		return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, m->sql, NULL, NULL, &err);
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
		rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		store_cause(cause, path, "migration %s failed: %s", m->name,
		            err != NULL ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
store_migrate(struct store *s, const char *path, char **cause)
{
	size_t i;
	int newest = store_newest_migration();
	int rc;

	for (i = 1; i < store_nmigrations; i++) {
		if (store_migrations[i].version <= store_migrations[i - 1].version) {
			store_cause(cause, path, "migrations %s and %s are out of order",
			            store_migrations[i - 1].name, store_migrations[i].name);
			return -1;
		}
	}
	rc = store_user_version(s->db, &s->version);
	if (rc != SQLITE_OK) {
		store_open_cause(cause, path, STORE_WRITER, rc, sqlite3_errmsg(s->db));
		return -1;
	}
	if (s->version > newest) {
		store_cause(cause, path,
		            "database schema version %d is newer than this callwarden (%d)",
		            s->version, newest);
		return -1;
	}
	for (i = 0; i < store_nmigrations; i++) {
		if (store_migrations[i].version <= s->version)
			continue;
		if (store_apply(s->db, &store_migrations[i], path, cause) == -1)
			return -1;
	}
	rc = store_user_version(s->db, &s->version);
	if (rc != SQLITE_OK) {
		store_open_cause(cause, path, STORE_WRITER, rc, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static int
store_setup_writer(struct store *s, const char *path, char **cause)
{
	char mode[32];
	int rc;

	rc = store_query_text(s->db, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
	if (rc != SQLITE_OK) {
		store_open_cause(cause, path, STORE_WRITER, rc, sqlite3_errmsg(s->db));
		return -1;
	}
	if (strcmp(mode, "wal") != 0 && strcmp(path, ":memory:") != 0) {
		store_cause(cause, path, "cannot switch to WAL mode (journal mode is %s)", mode);
		return -1;
	}
	rc = sqlite3_exec(s->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL,
	                  NULL);
	if (rc != SQLITE_OK) {
		store_open_cause(cause, path, STORE_WRITER, rc, sqlite3_errmsg(s->db));
		return -1;
	}
	return store_migrate(s, path, cause);
}

static int
store_setup_reader(struct store *s, const char *path, char **cause)
{
	int newest = store_newest_migration();
	int rc;

	/* The reader answers every offered call: keep hot index pages in memory, read by mmap. */
	rc = sqlite3_exec(s->db,
	                  "PRAGMA query_only=1; PRAGMA cache_size=-65536; "
	                  "PRAGMA mmap_size=268435456",
	                  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = store_user_version(s->db, &s->version);
	if (rc != SQLITE_OK) {
		store_open_cause(cause, path, STORE_READER, rc, sqlite3_errmsg(s->db));
		return -1;
	}
	if (s->version > newest) {
		store_cause(cause, path,
		            "database schema version %d is newer than this callwarden (%d)",
		            s->version, newest);
		return -1;
	}
	if (s->version < newest) {
		store_cause(cause, path,
		            "database schema version %d is older than this callwarden (%d); "
		            "the writer migrates it",
		            s->version, newest);
		return -1;
	}
	return 0;
}

int
store_global_init(void)
{
	return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK ? 0 : -1;
}

struct store *
store_open(const char *path, enum store_role role, int busy_ms, char **cause)
{
	struct store *s;
	int flags, rc;
	size_t i;

	if (cause != NULL)
		*cause = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		store_cause(cause, path, "out of memory");
		return NULL;
	}
	s->role = role;
	jb_init(&s->detail);
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (role == STORE_WRITER)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		store_open_cause(cause, path, role, rc,
		                 s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_ms > 0 ? busy_ms : 0);
	if (role == STORE_WRITER) {
		if (store_setup_writer(s, path, cause) == -1)
			goto fail;
	} else if (store_setup_reader(s, path, cause) == -1)
		goto fail;

	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			store_cause(cause, path, "preparing \"%s\": %s", store_sql[i],
			            sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return s;
fail:
	if (cause != NULL && *cause == NULL)
		store_cause(cause, path, "cannot open the database");
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	jb_free(&s->detail);
	free(s);
}

const char *
store_errmsg(const struct store *s)
{
	return s->errmsg[0] != '\0' ? s->errmsg : "no error";
}

int
store_schema_version(struct store *s)
{
	return s->version;
}

enum store_status
store_begin(struct store *s)
{
	enum store_status st;

	if (s->in_tx) {
		store_seterr(s, "a transaction is already open");
		return STORE_ERROR;
	}
	st = store_run(s, ST_BEGIN);
	if (st == STORE_OK)
		s->in_tx = 1;
	return st;
}

enum store_status
store_snapshot_begin(struct store *s)
{
	enum store_status st;

	if (s->in_tx)
		return STORE_OK; /* already inside one: it serves as the snapshot */
	st = store_run(s, ST_READ_BEGIN);
	if (st == STORE_OK)
		s->in_tx = 1;
	return st;
}

void
store_snapshot_end(struct store *s)
{
	if (!s->in_tx)
		return;
	s->in_tx = 0;
	/* An error inside may have ended it already; a read-only COMMIT cannot fail otherwise. */
	if (!sqlite3_get_autocommit(s->db) && store_run(s, ST_COMMIT) != STORE_OK)
		store_rollback(s);
}

enum store_status
store_commit(struct store *s)
{
	enum store_status st;

	if (!s->in_tx) {
		store_seterr(s, "no transaction is open");
		return STORE_ERROR;
	}
	if (sqlite3_get_autocommit(s->db)) {
		/* An error inside the transaction made SQLite roll all of it back. */
		s->in_tx = 0;
		store_seterr(s, "the transaction was rolled back by an earlier error");
		return STORE_ERROR;
	}
	st = store_run(s, ST_COMMIT);
	if (st == STORE_OK)
		s->in_tx = 0;
	return st; /* on failure the transaction stays open for store_rollback */
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[ST_ROLLBACK]);
		store_done(s->st[ST_ROLLBACK]);
	}
	s->in_tx = 0;
}

/*
 * Opens one atomic write: its own transaction when none is open, or a savepoint inside the
 * writer's batch transaction so that a failed unit leaves the others of the batch intact.
 */
static enum store_status
store_unit_begin(struct store *s, enum store_unit *unit)
{
	if (s->in_tx) {
		if (sqlite3_get_autocommit(s->db)) {
			/* Do not let later units commit on their own after the batch was lost. */
			store_seterr(s, "the transaction was rolled back by an earlier error");
			return STORE_ERROR;
		}
		*unit = UNIT_SAVEPOINT;
		return store_run(s, ST_SAVEPOINT);
	}
	*unit = UNIT_TX;
	return store_run(s, ST_BEGIN);
}

static enum store_status
store_unit_commit(struct store *s, enum store_unit unit)
{
	enum store_status st;

	st = store_run(s, unit == UNIT_TX ? ST_COMMIT : ST_RELEASE);
	if (st != STORE_OK && unit == UNIT_TX)
		store_rollback(s);
	return st;
}

/* Undoes a unit; errors here are not reported over the one that caused the rollback. */
static void
store_unit_rollback(struct store *s, enum store_unit unit)
{
	if (sqlite3_get_autocommit(s->db))
		return; /* SQLite already rolled everything back */
	if (unit == UNIT_TX) {
		store_rollback(s);
		return;
	}
	sqlite3_step(s->st[ST_ROLLBACK_TO]);
	store_done(s->st[ST_ROLLBACK_TO]);
	sqlite3_step(s->st[ST_RELEASE]);
	store_done(s->st[ST_RELEASE]);
}

static char *
store_column_dup(sqlite3_stmt *st, int col, int *oom)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	size_t n;
	char *p;

	if (v == NULL)
		return NULL;
	n = (size_t)sqlite3_column_bytes(st, col);
	p = malloc(n + 1);
	if (p == NULL) {
		*oom = 1;
		return NULL;
	}
	memcpy(p, v, n);
	p[n] = '\0';
	return p;
}

/* Copies a caller number column into buf (NUMBER_BUFSZ bytes). */
static void
store_column_caller(sqlite3_stmt *st, int col, char buf[NUMBER_BUFSZ])
{
	const unsigned char *caller = sqlite3_column_text(st, col);
	size_t n;

	n = caller != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
	if (n >= NUMBER_BUFSZ)
		n = NUMBER_BUFSZ - 1;
	if (n > 0)
		memcpy(buf, caller, n);
	buf[n] = '\0';
}

/* Fills f from the current row of a FLAG_COLUMNS query. Returns -1 when out of memory. */
static int
store_row_flag(sqlite3_stmt *st, struct flag *f)
{
	int oom = 0;

	f->id = sqlite3_column_int64(st, 0);
	store_column_caller(st, 1, f->caller);
	f->code = store_column_dup(st, 2, &oom);
	f->reason = store_column_dup(st, 3, &oom);
	f->created_by = store_column_dup(st, 4, &oom);
	f->source = store_column_dup(st, 5, &oom);
	f->created_at = sqlite3_column_int64(st, 6);
	f->expires_at = sqlite3_column_int64(st, 7); /* NULL reads as 0 */
	f->revoked_at = sqlite3_column_int64(st, 8);
	f->revoked_by = store_column_dup(st, 9, &oom);
	f->revoke_reason = store_column_dup(st, 10, &oom);
	if (oom) {
		flag_clear(f);
		return -1;
	}
	return 0;
}

/* Fills f from the current row of an ST_CALLER_FLAGS_BRIEF query; -1 when out of memory. */
static int
store_row_flag_brief(sqlite3_stmt *st, struct flag *f)
{
	int oom = 0;

	f->id = sqlite3_column_int64(st, 0);
	f->code = store_column_dup(st, 1, &oom);
	f->created_at = sqlite3_column_int64(st, 2);
	f->expires_at = sqlite3_column_int64(st, 3);
	f->revoked_at = sqlite3_column_int64(st, 4);
	if (oom) {
		flag_clear(f);
		return -1;
	}
	return 0;
}

/* The rows of a caller's flags query (ST_CALLER_FLAGS or ST_CALLER_FLAGS_BRIEF) into out. */
static enum store_status
store_caller_query(struct store *s, int which, int (*fill)(sqlite3_stmt *, struct flag *),
                   const char *caller, size_t limit, struct flag_list *out)
{
	sqlite3_stmt *st = s->st[which];
	enum store_status status = STORE_OK;
	struct flag *f;
	int rc;

	flag_list_clear(out);
	sqlite3_bind_text(st, 1, caller, -1, SQLITE_STATIC);
	sqlite3_bind_int64(
	    st, 2, (uint64_t)limit > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((f = flag_list_push(out)) == NULL || fill(st, f) == -1) {
			if (f != NULL)
				out->n--;
			store_seterr(s, "out of memory");
			status = STORE_ERROR;
			break;
		}
		if (f->caller[0] == '\0')
			text_copy(f->caller, sizeof(f->caller), caller);
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = store_fail(s, rc);
	/* Reset ends the read transaction, so the next call sees new commits. */
	store_done(st);
	if (status != STORE_OK)
		flag_list_clear(out);
	return status;
}

enum store_status
store_caller_flags(struct store *s, const char *caller, size_t limit, struct flag_list *out)
{
	return store_caller_query(s, ST_CALLER_FLAGS, store_row_flag, caller, limit, out);
}

enum store_status
store_caller_flags_brief(struct store *s, const char *caller, size_t limit, struct flag_list *out)
{
	return store_caller_query(s, ST_CALLER_FLAGS_BRIEF, store_row_flag_brief, caller, limit,
	                          out);
}

/* Reads flag id into out (cleared first), inside or outside a transaction. */
static enum store_status
store_get(struct store *s, int64_t id, struct flag *out)
{
	sqlite3_stmt *st = s->st[ST_FLAG_GET];
	enum store_status status;
	int rc;

	flag_clear(out);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status = STORE_OK;
		if (store_row_flag(st, out) == -1) {
			store_seterr(s, "out of memory");
			status = STORE_ERROR;
		}
	} else if (rc == SQLITE_DONE) {
		store_seterr(s, "no flag %" PRId64, id);
		status = STORE_NOT_FOUND;
	} else
		status = store_fail(s, rc);
	store_done(st);
	return status;
}

enum store_status
store_flag_get(struct store *s, int64_t id, struct flag *out)
{
	return store_get(s, id, out);
}

static void
store_bind_text(sqlite3_stmt *st, int col, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

/* Inserts the audit row whose detail is the JSON object in s->detail. */
static enum store_status
store_audit(struct store *s, int64_t ts, const char *actor, const char *role, const char *action,
            const char *subject)
{
	sqlite3_stmt *st = s->st[ST_AUDIT_INSERT];

	if (s->detail.oom || s->detail.data == NULL) {
		store_seterr(s, "out of memory");
		return STORE_ERROR;
	}
	sqlite3_bind_int64(st, 1, ts);
	store_bind_text(st, 2, actor);
	store_bind_text(st, 3, role);
	store_bind_text(st, 4, action);
	store_bind_text(st, 5, subject);
	sqlite3_bind_text(st, 6, s->detail.data, (int)s->detail.len, SQLITE_STATIC);
	return store_run(s, ST_AUDIT_INSERT);
}

/*
 * Inserts flag f and its "flag.add" audit row inside an open unit; *id receives the new id.
 * call_id, when not NULL, is added to the audit detail (a flag from a report).
 */
static enum store_status
store_flag_insert(struct store *s, const struct flag *f, const char *role, const char *call_id,
                  int64_t *id)
{
	sqlite3_stmt *st = s->st[ST_FLAG_INSERT];
	enum store_status status;

	store_bind_text(st, 1, f->caller);
	store_bind_text(st, 2, f->code);
	store_bind_text(st, 3, f->reason);
	store_bind_text(st, 4, f->created_by);
	store_bind_text(st, 5, f->source);
	sqlite3_bind_int64(st, 6, f->created_at);
	if (f->expires_at != 0)
		sqlite3_bind_int64(st, 7, f->expires_at);
	else
		sqlite3_bind_null(st, 7);
	status = store_run(s, ST_FLAG_INSERT);
	if (status != STORE_OK)
		return status;
	*id = sqlite3_last_insert_rowid(s->db);

	jb_reset(&s->detail);
	jb_obj_begin(&s->detail);
	jb_kint(&s->detail, "flag_id", *id);
	jb_kstr(&s->detail, "code", f->code);
	jb_kstr(&s->detail, "reason", f->reason);
	jb_kstr(&s->detail, "source", f->source);
	if (f->expires_at != 0)
		jb_kint(&s->detail, "expires_at", f->expires_at);
	else
		jb_knull(&s->detail, "expires_at");
	if (call_id != NULL)
		jb_kstr(&s->detail, "call_id", call_id);
	jb_obj_end(&s->detail);
	return store_audit(s, f->created_at, f->created_by, role, "flag.add", f->caller);
}

enum store_status
store_flag_add(struct store *s, struct flag *f, const char *role)
{
	enum store_status status;
	enum store_unit unit;
	int64_t id = 0;

	status = store_unit_begin(s, &unit);
	if (status != STORE_OK)
		return status;
	status = store_flag_insert(s, f, role, NULL, &id);
	if (status != STORE_OK) {
		store_unit_rollback(s, unit);
		return status;
	}
	status = store_unit_commit(s, unit);
	if (status == STORE_OK)
		f->id = id;
	return status;
}

enum store_status
store_flag_revoke(struct store *s, int64_t id, const char *by, const char *reason, const char *role,
                  int64_t ts, struct flag *out)
{
	sqlite3_stmt *st = s->st[ST_FLAG_REVOKE];
	enum store_status status;
	enum store_unit unit;

	status = store_unit_begin(s, &unit);
	if (status != STORE_OK)
		return status;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, ts);
	store_bind_text(st, 3, by);
	store_bind_text(st, 4, reason);
	status = store_run(s, ST_FLAG_REVOKE);
	if (status != STORE_OK)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		/* Unknown, or revoked already: tell which. */
		status = store_get(s, id, out);
		if (status == STORE_OK) {
			store_seterr(s, "flag %" PRId64 " is already revoked", id);
			status = STORE_CONFLICT;
		}
		goto fail;
	}
	status = store_get(s, id, out);
	if (status != STORE_OK)
		goto fail;

	jb_reset(&s->detail);
	jb_obj_begin(&s->detail);
	jb_kint(&s->detail, "flag_id", id);
	jb_kstr(&s->detail, "code", out->code);
	jb_kstr(&s->detail, "reason", reason);
	jb_obj_end(&s->detail);
	status = store_audit(s, ts, by, role, "flag.revoke", out->caller);
	if (status != STORE_OK)
		goto fail;
	status = store_unit_commit(s, unit);
	if (status != STORE_OK)
		flag_clear(out);
	return status;
fail:
	store_unit_rollback(s, unit);
	if (status != STORE_CONFLICT)
		flag_clear(out);
	return status;
}

int64_t
store_flagged_callers(struct store *s, void (*cb)(const char *caller, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	/* Once at start-up: not worth a persistent statement. The flags_caller_route index serves
	 * it. */
	rc = sqlite3_prepare_v2(s->db, "SELECT DISTINCT caller FROM flags ORDER BY caller", -1, &st,
	                        NULL);
	if (rc != SQLITE_OK) {
		store_fail(s, rc);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *caller = sqlite3_column_text(st, 0);

		if (caller != NULL) {
			cb((const char *)caller, arg);
			n++;
		}
	}
	if (rc != SQLITE_DONE) {
		store_fail(s, rc);
		n = -1;
	}
	sqlite3_finalize(st);
	return n;
}

int64_t
store_count_active_flags(struct store *s, int64_t ts)
{
	sqlite3_stmt *st = s->st[ST_COUNT_ACTIVE];
	int64_t n = -1;
	int rc;

	sqlite3_bind_int64(st, 1, ts);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		store_fail(s, rc);
	store_done(st);
	return n;
}

int
store_count_active_by_code(struct store *s, int64_t ts, struct store_code_count *out, size_t max)
{
	sqlite3_stmt *st = s->st[ST_COUNT_ACTIVE_BY_CODE];
	const char *code;
	size_t n = 0;
	int rc;

	sqlite3_bind_int64(st, 1, ts);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		code = (const char *)sqlite3_column_text(st, 0);
		snprintf(out[n].code, sizeof(out[n].code), "%s", code != NULL ? code : "");
		out[n].n = sqlite3_column_int64(st, 1);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_fail(s, rc);
		store_done(st);
		return -1;
	}
	store_done(st);
	return (int)n;
}

/* Records: reports and audit rows (follow-ups live in followup.c). */

void
store_report_clear(struct report *r)
{
	free(r->call_id);
	free(r->code);
	free(r->agent);
	free(r->note);
	memset(r, 0, sizeof(*r));
}

static struct report *
store_report_push(struct report_list *l)
{
	struct report *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	return &l->v[l->n++];
}

void
store_report_list_clear(struct report_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		store_report_clear(&l->v[i]);
	l->n = 0;
}

void
store_report_list_free(struct report_list *l)
{
	store_report_list_clear(l);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
store_kid(struct jbuf *jb, const char *key, int64_t id)
{
	if (id != 0)
		jb_kint(jb, key, id);
	else
		jb_knull(jb, key);
}

void
store_report_write_json(struct jbuf *jb, const struct report *r)
{
	jb_obj_begin(jb);
	jb_kint(jb, "id", r->id);
	jb_kstr(jb, "call_id", r->call_id);
	jb_kstr(jb, "caller", r->caller[0] != '\0' ? r->caller : NULL);
	jb_kstr(jb, "code", r->code);
	jb_kstr(jb, "agent", r->agent);
	jb_kstr(jb, "note", r->note);
	jb_kint(jb, "ts", r->ts);
	store_kid(jb, "flag_id", r->flag_id);
	store_kid(jb, "followup_id", r->followup_id);
	jb_obj_end(jb);
}

void
store_audit_row_clear(struct audit_row *a)
{
	free(a->actor);
	free(a->role);
	free(a->action);
	free(a->subject);
	free(a->detail);
	memset(a, 0, sizeof(*a));
}

static struct audit_row *
store_audit_push(struct audit_rows *l)
{
	struct audit_row *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	return &l->v[l->n++];
}

void
store_audit_rows_clear(struct audit_rows *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		store_audit_row_clear(&l->v[i]);
	l->n = 0;
}

void
store_audit_rows_free(struct audit_rows *l)
{
	store_audit_rows_clear(l);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
store_audit_write_json(struct jbuf *jb, const struct audit_row *a)
{
	const char *d = a->detail != NULL && a->detail[0] != '\0' ? a->detail : "{}";
	size_t n;

	jb_obj_begin(jb);
	jb_kint(jb, "id", a->id);
	jb_kint(jb, "ts", a->ts);
	jb_kstr(jb, "actor", a->actor);
	jb_kstr(jb, "role", a->role);
	jb_kstr(jb, "action", a->action);
	jb_kstr(jb, "subject", a->subject);
	jb_key(jb, "detail");
	/*
	 * The schema only admits a valid JSON object; a line break in one can only be whitespace
	 * between tokens, which would end the reply line, so it goes out as a space.
	 */
	jb_raw(jb, "", 0);
	while (*d != '\0') {
		n = strcspn(d, "\r\n");
		jb_append(jb, d, n);
		d += n;
		if (*d != '\0') {
			jb_append(jb, " ", 1);
			d++;
		}
	}
	jb_obj_end(jb);
}

/* Row readers: fill one record from the current row; -1 when out of memory (record cleared). */

static int
store_row_followup(sqlite3_stmt *st, struct followup *fu)
{
	int oom = 0;

	fu->id = sqlite3_column_int64(st, 0);
	store_column_caller(st, 1, fu->caller);
	fu->call_id = store_column_dup(st, 2, &oom);
	fu->due_at = sqlite3_column_int64(st, 3);
	fu->created_by = store_column_dup(st, 4, &oom);
	fu->created_at = sqlite3_column_int64(st, 5);
	fu->note = store_column_dup(st, 6, &oom);
	fu->done_at = sqlite3_column_int64(st, 7);
	fu->done_by = store_column_dup(st, 8, &oom);
	fu->done_note = store_column_dup(st, 9, &oom);
	if (oom) {
		followup_clear(fu);
		return -1;
	}
	return 0;
}

static int
store_row_report(sqlite3_stmt *st, struct report *r)
{
	int oom = 0;

	r->id = sqlite3_column_int64(st, 0);
	r->call_id = store_column_dup(st, 1, &oom);
	store_column_caller(st, 2, r->caller);
	r->code = store_column_dup(st, 3, &oom);
	r->agent = store_column_dup(st, 4, &oom);
	r->note = store_column_dup(st, 5, &oom);
	r->ts = sqlite3_column_int64(st, 6);
	r->flag_id = sqlite3_column_int64(st, 7);
	r->followup_id = sqlite3_column_int64(st, 8);
	if (oom) {
		store_report_clear(r);
		return -1;
	}
	return 0;
}

static int
store_row_audit(sqlite3_stmt *st, struct audit_row *a)
{
	int oom = 0;

	a->id = sqlite3_column_int64(st, 0);
	a->ts = sqlite3_column_int64(st, 1);
	a->actor = store_column_dup(st, 2, &oom);
	a->role = store_column_dup(st, 3, &oom);
	a->action = store_column_dup(st, 4, &oom);
	a->subject = store_column_dup(st, 5, &oom);
	a->detail = store_column_dup(st, 6, &oom);
	if (oom) {
		store_audit_row_clear(a);
		return -1;
	}
	return 0;
}

/* Appends the current row to a list (out); -1 when out of memory. */
typedef int store_push_fn(sqlite3_stmt *st, void *out);

static int
store_push_flag(sqlite3_stmt *st, void *out)
{
	struct flag_list *l = out;
	struct flag *f = flag_list_push(l);

	if (f == NULL)
		return -1;
	if (store_row_flag(st, f) == -1) {
		l->n--;
		return -1;
	}
	return 0;
}

static int
store_push_followup(sqlite3_stmt *st, void *out)
{
	struct followup_list *l = out;
	struct followup *fu = followup_list_push(l);

	if (fu == NULL)
		return -1;
	if (store_row_followup(st, fu) == -1) {
		l->n--;
		return -1;
	}
	return 0;
}

static int
store_push_report(sqlite3_stmt *st, void *out)
{
	struct report_list *l = out;
	struct report *r = store_report_push(l);

	if (r == NULL)
		return -1;
	if (store_row_report(st, r) == -1) {
		l->n--;
		return -1;
	}
	return 0;
}

static int
store_push_audit(sqlite3_stmt *st, void *out)
{
	struct audit_rows *l = out;
	struct audit_row *a = store_audit_push(l);

	if (a == NULL)
		return -1;
	if (store_row_audit(st, a) == -1) {
		l->n--;
		return -1;
	}
	return 0;
}

/* Binds a row limit, plus extra (1: one row more, to learn whether there is a next page). */
static void
store_bind_limit(sqlite3_stmt *st, int col, size_t limit, int extra)
{
	uint64_t n = (uint64_t)limit;

	if (n >= (uint64_t)INT64_MAX - 1)
		n = (uint64_t)INT64_MAX - 1;
	sqlite3_bind_int64(st, col, (sqlite3_int64)n + extra);
}

/* The exclusive upper bound on ids for a page: everything on the first page. */
static sqlite3_int64
store_cursor(int64_t cursor)
{
	return cursor > 0 ? cursor : INT64_MAX;
}

/*
 * Steps a bound list statement, appending up to limit rows to out. With next, the statement
 * asks for one row more: if it comes, *next is the id of the last row kept (column 0).
 */
static enum store_status
store_rows(struct store *s, sqlite3_stmt *st, size_t limit, store_push_fn *push, void *out,
           int64_t *next)
{
	enum store_status status = STORE_OK;
	int64_t last = 0;
	size_t n = 0;
	int rc;

	if (next != NULL)
		*next = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			if (next != NULL)
				*next = last;
			rc = SQLITE_DONE;
			break;
		}
		if (push(st, out) == -1) {
			store_seterr(s, "out of memory");
			status = STORE_ERROR;
			break;
		}
		last = sqlite3_column_int64(st, 0);
		n++;
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = store_fail(s, rc);
	/* Reset ends the read transaction, so the next page sees new commits. */
	store_done(st);
	if (status != STORE_OK && next != NULL)
		*next = 0;
	return status;
}

/* The index of state in names (NULL: 0, "all"), or -1. */
static int
store_state_index(const char *state, const char *const *names, int n)
{
	int i;

	if (state == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(state, names[i]) == 0)
			return i;
	return -1;
}

/* The audit subject for a caller: the number, or "call:<call_id>" when withheld. */
static char *
store_subject(struct store *s, const char *caller, const char *call_id)
{
	char *subject = NULL;

	if (caller != NULL && caller[0] != '\0')
		subject = strdup(caller);
	else if (call_id != NULL) {
		if (asprintf(&subject, "call:%s", call_id) == -1)
			subject = NULL;
	} else
		subject = strdup("");
	if (subject == NULL)
		store_seterr(s, "out of memory");
	return subject;
}

/* Reads follow-up id into out (cleared first), inside or outside a transaction. */
static enum store_status
store_followup_read(struct store *s, int64_t id, struct followup *out)
{
	sqlite3_stmt *st = s->st[ST_FOLLOWUP_GET];
	enum store_status status;
	int rc;

	followup_clear(out);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status = STORE_OK;
		if (store_row_followup(st, out) == -1) {
			store_seterr(s, "out of memory");
			status = STORE_ERROR;
		}
	} else if (rc == SQLITE_DONE) {
		store_seterr(s, "no follow-up %" PRId64, id);
		status = STORE_NOT_FOUND;
	} else
		status = store_fail(s, rc);
	store_done(st);
	return status;
}

enum store_status
store_followup_get(struct store *s, int64_t id, struct followup *out)
{
	return store_followup_read(s, id, out);
}

/* Inserts fu and its "followup.add" audit row inside an open unit; *id receives the new id. */
static enum store_status
store_followup_insert(struct store *s, const struct followup *fu, const char *role, int64_t *id)
{
	sqlite3_stmt *st = s->st[ST_FOLLOWUP_INSERT];
	enum store_status status;
	char *subject;

	store_bind_text(st, 1, fu->caller);
	store_bind_text(st, 2, fu->call_id);
	sqlite3_bind_int64(st, 3, fu->due_at);
	store_bind_text(st, 4, fu->created_by);
	sqlite3_bind_int64(st, 5, fu->created_at);
	store_bind_text(st, 6, fu->note);
	status = store_run(s, ST_FOLLOWUP_INSERT);
	if (status != STORE_OK)
		return status;
	*id = sqlite3_last_insert_rowid(s->db);

	jb_reset(&s->detail);
	jb_obj_begin(&s->detail);
	jb_kint(&s->detail, "followup_id", *id);
	jb_kstr(&s->detail, "call_id", fu->call_id);
	jb_kint(&s->detail, "due_at", fu->due_at);
	jb_kstr(&s->detail, "note", fu->note);
	jb_obj_end(&s->detail);
	if ((subject = store_subject(s, fu->caller, fu->call_id)) == NULL)
		return STORE_ERROR;
	status = store_audit(s, fu->created_at, fu->created_by, role, "followup.add", subject);
	free(subject);
	return status;
}

enum store_status
store_followup_add(struct store *s, struct followup *fu, const char *role)
{
	enum store_status status;
	enum store_unit unit;
	int64_t id = 0;

	status = store_unit_begin(s, &unit);
	if (status != STORE_OK)
		return status;
	status = store_followup_insert(s, fu, role, &id);
	if (status != STORE_OK) {
		store_unit_rollback(s, unit);
		return status;
	}
	status = store_unit_commit(s, unit);
	if (status == STORE_OK)
		fu->id = id;
	return status;
}

enum store_status
store_followup_done(struct store *s, int64_t id, const char *by, const char *note, int64_t ts,
                    const char *role, struct followup *out)
{
	sqlite3_stmt *st = s->st[ST_FOLLOWUP_DONE];
	enum store_status status;
	enum store_unit unit;
	char *subject = NULL;

	followup_clear(out);
	status = store_unit_begin(s, &unit);
	if (status != STORE_OK)
		return status;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, ts);
	store_bind_text(st, 3, by);
	store_bind_text(st, 4, note);
	status = store_run(s, ST_FOLLOWUP_DONE);
	if (status != STORE_OK)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		/* Unknown, or done already: tell which. */
		status = store_followup_read(s, id, out);
		if (status == STORE_OK) {
			store_seterr(s, "follow-up %" PRId64 " is already done", id);
			status = STORE_CONFLICT;
		}
		goto fail;
	}
	status = store_followup_read(s, id, out);
	if (status != STORE_OK)
		goto fail;

	jb_reset(&s->detail);
	jb_obj_begin(&s->detail);
	jb_kint(&s->detail, "followup_id", id);
	jb_kstr(&s->detail, "call_id", out->call_id);
	jb_kstr(&s->detail, "note", note);
	jb_obj_end(&s->detail);
	if ((subject = store_subject(s, out->caller, out->call_id)) == NULL) {
		status = STORE_ERROR;
		goto fail;
	}
	status = store_audit(s, ts, by, role, "followup.done", subject);
	free(subject);
	if (status != STORE_OK)
		goto fail;
	status = store_unit_commit(s, unit);
	if (status != STORE_OK)
		followup_clear(out);
	return status;
fail:
	store_unit_rollback(s, unit);
	if (status != STORE_CONFLICT)
		followup_clear(out);
	return status;
}

/* Looks up the report (call_id, code): *found, and its flag and follow-up ids (0: none). */
static enum store_status
store_report_find(struct store *s, const char *call_id, const char *code, int *found,
                  int64_t *flag_id, int64_t *fu_id)
{
	sqlite3_stmt *st = s->st[ST_REPORT_FIND];
	enum store_status status = STORE_OK;
	int rc;

	*found = 0;
	store_bind_text(st, 1, call_id);
	store_bind_text(st, 2, code);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		*flag_id = sqlite3_column_int64(st, 0);
		*fu_id = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE)
		status = store_fail(s, rc);
	store_done(st);
	return status;
}

/* Inserts the report row and its "report.add" audit row inside an open unit. */
static enum store_status
store_report_insert(struct store *s, const struct report_in *in, const char *role, int64_t flag_id,
                    int64_t fu_id)
{
	sqlite3_stmt *st = s->st[ST_REPORT_INSERT];
	enum store_status status;
	char *subject;
	int64_t id;

	store_bind_text(st, 1, in->call_id);
	store_bind_text(st, 2, in->caller);
	store_bind_text(st, 3, in->code);
	store_bind_text(st, 4, in->agent);
	store_bind_text(st, 5, in->note);
	sqlite3_bind_int64(st, 6, in->ts);
	if (flag_id != 0)
		sqlite3_bind_int64(st, 7, flag_id);
	else
		sqlite3_bind_null(st, 7);
	if (fu_id != 0)
		sqlite3_bind_int64(st, 8, fu_id);
	else
		sqlite3_bind_null(st, 8);
	status = store_run(s, ST_REPORT_INSERT);
	if (status != STORE_OK)
		return status;
	id = sqlite3_last_insert_rowid(s->db);

	jb_reset(&s->detail);
	jb_obj_begin(&s->detail);
	jb_kint(&s->detail, "report_id", id);
	jb_kstr(&s->detail, "call_id", in->call_id);
	jb_kstr(&s->detail, "code", in->code);
	jb_kstr(&s->detail, "note", in->note);
	store_kid(&s->detail, "flag_id", flag_id);
	store_kid(&s->detail, "followup_id", fu_id);
	jb_obj_end(&s->detail);
	if ((subject = store_subject(s, in->caller, in->call_id)) == NULL)
		return STORE_ERROR;
	status = store_audit(s, in->ts, in->agent, role, "report.add", subject);
	free(subject);
	return status;
}

enum store_status
store_report_add(struct store *s, const struct report_in *in, const char *role,
                 struct flag *flag_out, struct followup *fu_out, int *duplicate)
{
	enum store_status status;
	enum store_unit unit;
	struct flag f;
	struct followup fu;
	int64_t flag_id = 0, fu_id = 0;
	char *reason = NULL, *fu_note = NULL;
	int found = 0;

	*duplicate = 0;
	flag_clear(flag_out);
	followup_clear(fu_out);
	if (in->caller == NULL || strlen(in->caller) >= NUMBER_BUFSZ) {
		store_seterr(s, "a report's caller is an E.164 number or \"\"");
		return STORE_ERROR;
	}
	status = store_unit_begin(s, &unit);
	if (status != STORE_OK)
		return status;
	status = store_report_find(s, in->call_id, in->code, &found, &flag_id, &fu_id);
	if (status != STORE_OK)
		goto fail;
	if (found) {
		*duplicate = 1;
		goto read_back;
	}

	/* A withheld caller has no number to flag: the report and audit rows still record it. */
	if (in->caller[0] != '\0') {
		memset(&f, 0, sizeof(f));
		snprintf(f.caller, sizeof(f.caller), "%s", in->caller);
		if (in->note != NULL && in->note[0] != '\0')
			f.reason = (char *)in->note;
		else if (asprintf(&reason, "reported by agent during call %s",
		                  in->call_id != NULL ? in->call_id : "") != -1)
			f.reason = reason;
		else {
			reason = NULL;
			goto oom;
		}
		f.code = (char *)in->code;
		f.created_by = (char *)in->agent;
		f.source = (char *)"agent";
		f.created_at = in->ts;
		f.expires_at = in->expires_at;
		status = store_flag_insert(s, &f, role, in->call_id, &flag_id);
		if (status != STORE_OK)
			goto fail;
	}
	if (in->followup_due != 0) {
		memset(&fu, 0, sizeof(fu));
		snprintf(fu.caller, sizeof(fu.caller), "%s", in->caller);
		fu.call_id = (char *)in->call_id;
		fu.due_at = in->followup_due;
		fu.created_by = (char *)in->agent;
		fu.created_at = in->ts;
		if (in->followup_note != NULL)
			fu.note = (char *)in->followup_note;
		else if (asprintf(&fu_note, "follow up on %s report during call %s",
		                  in->code != NULL ? in->code : "",
		                  in->call_id != NULL ? in->call_id : "") != -1)
			fu.note = fu_note;
		else {
			fu_note = NULL;
			goto oom;
		}
		status = store_followup_insert(s, &fu, role, &fu_id);
		if (status != STORE_OK)
			goto fail;
	}
	status = store_report_insert(s, in, role, flag_id, fu_id);
	if (status != STORE_OK)
		goto fail;

read_back:
	if (flag_id != 0)
		status = store_get(s, flag_id, flag_out);
	if (status == STORE_OK && fu_id != 0)
		status = store_followup_read(s, fu_id, fu_out);
	if (status != STORE_OK)
		goto fail;
	status = store_unit_commit(s, unit);
	if (status != STORE_OK) {
		*duplicate = 0;
		flag_clear(flag_out);
		followup_clear(fu_out);
	}
	free(reason);
	free(fu_note);
	return status;
oom:
	store_seterr(s, "out of memory");
	status = STORE_ERROR;
fail:
	store_unit_rollback(s, unit);
	*duplicate = 0;
	flag_clear(flag_out);
	followup_clear(fu_out);
	free(reason);
	free(fu_note);
	return status;
}

enum store_status
store_audit_add(struct store *s, int64_t ts, const char *actor, const char *role,
                const char *action, const char *subject, const char *detail_json)
{
	enum store_status status;
	enum store_unit unit;

	if (detail_json == NULL)
		detail_json = "{}";
	if (detail_json[0] == '\0' || strpbrk(detail_json, "\r\n") != NULL) {
		store_seterr(s, "an audit detail is a JSON object on one line");
		return STORE_ERROR;
	}
	status = store_unit_begin(s, &unit);
	if (status != STORE_OK)
		return status;
	jb_reset(&s->detail);
	jb_append(&s->detail, detail_json, strlen(detail_json));
	status = store_audit(s, ts, actor, role, action, subject);
	if (status != STORE_OK) {
		store_unit_rollback(s, unit);
		return status;
	}
	return store_unit_commit(s, unit);
}

enum store_status
store_flag_list(struct store *s, const struct flag_filter *f, int64_t now, size_t limit,
                int64_t cursor, struct flag_list *out, int64_t *next)
{
	static const char *const states[] = {"all", "active", "expired", "revoked"};
	static const struct flag_filter none;
	enum store_status status;
	sqlite3_stmt *st;
	int state;

	flag_list_clear(out);
	*next = 0;
	if (f == NULL)
		f = &none;
	state = store_state_index(f->state, states, 4);
	if (state < 0) {
		store_seterr(s, "unknown flag state \"%s\"", f->state);
		return STORE_ERROR;
	}
	if (f->by != NULL)
		st = s->st[ST_FLAG_LIST_BY];
	else if (f->code != NULL)
		st = s->st[ST_FLAG_LIST_CODE];
	else
		st = s->st[ST_FLAG_LIST];
	store_bind_text(st, 1, f->code);
	store_bind_text(st, 2, f->source);
	store_bind_text(st, 3, f->by);
	sqlite3_bind_int(st, 4, state);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, f->since);
	sqlite3_bind_int64(st, 7, f->until);
	sqlite3_bind_int64(st, 8, store_cursor(cursor));
	store_bind_limit(st, 9, limit, 1);
	status = store_rows(s, st, limit, store_push_flag, out, next);
	if (status != STORE_OK)
		flag_list_clear(out);
	return status;
}

enum store_status
store_followup_list(struct store *s, const char *state, const char *caller, int64_t now,
                    size_t limit, int64_t cursor, struct followup_list *out, int64_t *next)
{
	static const char *const states[] = {"all", "open", "overdue", "done"};
	enum store_status status;
	sqlite3_stmt *st;
	int index;

	followup_list_clear(out);
	*next = 0;
	index = store_state_index(state, states, 4);
	if (index < 0) {
		store_seterr(s, "unknown follow-up state \"%s\"", state);
		return STORE_ERROR;
	}
	st = s->st[caller != NULL ? ST_FOLLOWUP_LIST_CALLER : ST_FOLLOWUP_LIST];
	store_bind_text(st, 1, caller);
	sqlite3_bind_int(st, 2, index);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, store_cursor(cursor));
	store_bind_limit(st, 5, limit, 1);
	status = store_rows(s, st, limit, store_push_followup, out, next);
	if (status != STORE_OK)
		followup_list_clear(out);
	return status;
}

enum store_status
store_audit_list(struct store *s, const char *subject, const char *actor, int64_t since,
                 int64_t until, size_t limit, int64_t cursor, struct audit_rows *out, int64_t *next)
{
	enum store_status status;
	sqlite3_stmt *st;

	store_audit_rows_clear(out);
	*next = 0;
	if (subject != NULL)
		st = s->st[ST_AUDIT_LIST_SUBJECT];
	else if (actor != NULL)
		st = s->st[ST_AUDIT_LIST_ACTOR];
	else
		st = s->st[ST_AUDIT_LIST];
	store_bind_text(st, 1, subject);
	store_bind_text(st, 2, actor);
	sqlite3_bind_int64(st, 3, since);
	sqlite3_bind_int64(st, 4, until);
	sqlite3_bind_int64(st, 5, store_cursor(cursor));
	store_bind_limit(st, 6, limit, 1);
	status = store_rows(s, st, limit, store_push_audit, out, next);
	if (status != STORE_OK)
		store_audit_rows_clear(out);
	return status;
}

enum store_status
store_caller_reports(struct store *s, const char *caller, size_t limit, struct report_list *out)
{
	sqlite3_stmt *st = s->st[ST_CALLER_REPORTS];
	enum store_status status;

	store_report_list_clear(out);
	store_bind_text(st, 1, caller);
	store_bind_limit(st, 2, limit, 0);
	status = store_rows(s, st, limit, store_push_report, out, NULL);
	if (status != STORE_OK)
		store_report_list_clear(out);
	return status;
}

enum store_status
store_caller_followups(struct store *s, const char *caller, size_t limit, struct followup_list *out)
{
	sqlite3_stmt *st = s->st[ST_CALLER_FOLLOWUPS];
	enum store_status status;

	followup_list_clear(out);
	store_bind_text(st, 1, caller);
	store_bind_limit(st, 2, limit, 0);
	status = store_rows(s, st, limit, store_push_followup, out, NULL);
	if (status != STORE_OK)
		followup_list_clear(out);
	return status;
}
