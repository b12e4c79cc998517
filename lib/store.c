/* The SQLite store: opening and migrating the database, flag lookups and audited flag writes. */
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

#define FLAG_COLUMNS                                                                               \
	"id, caller, code, reason, created_by, source, created_at, expires_at, revoked_at, "       \
	"revoked_by, revoke_reason"

/* Every statement, prepared once at open and reset after each use. */
enum store_stmt {
	ST_CALLER_FLAGS,
	ST_FLAG_GET,
	ST_FLAG_INSERT,
	ST_FLAG_REVOKE,
	ST_AUDIT_INSERT,
	ST_COUNT_ACTIVE,
	ST_BEGIN,
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
    [ST_FLAG_GET] = "SELECT " FLAG_COLUMNS " FROM flags WHERE id = ?1",
    [ST_FLAG_INSERT] = "INSERT INTO flags (caller, code, reason, created_by, source, created_at, "
                       "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_FLAG_REVOKE] = "UPDATE flags SET revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4 "
                       "WHERE id = ?1 AND revoked_at IS NULL",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (ts, actor, role, action, subject, detail) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_COUNT_ACTIVE] = "SELECT count(*) FROM flags WHERE revoked_at IS NULL AND "
                        "(expires_at IS NULL OR expires_at > ?1)",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
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

/* Fills f from the current row of a FLAG_COLUMNS query. Returns -1 when out of memory. */
static int
store_row_flag(sqlite3_stmt *st, struct flag *f)
{
	const unsigned char *caller;
	size_t n;
	int oom = 0;

	f->id = sqlite3_column_int64(st, 0);
	caller = sqlite3_column_text(st, 1);
	n = caller != NULL ? (size_t)sqlite3_column_bytes(st, 1) : 0;
	if (n >= sizeof(f->caller))
		n = sizeof(f->caller) - 1;
	if (n > 0)
		memcpy(f->caller, caller, n);
	f->caller[n] = '\0';
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

enum store_status
store_caller_flags(struct store *s, const char *caller, size_t limit, struct flag_list *out)
{
	sqlite3_stmt *st = s->st[ST_CALLER_FLAGS];
	enum store_status status = STORE_OK;
	struct flag *f;
	int rc;

	flag_list_clear(out);
	sqlite3_bind_text(st, 1, caller, -1, SQLITE_STATIC);
	sqlite3_bind_int64(
	    st, 2, (uint64_t)limit > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((f = flag_list_push(out)) == NULL || store_row_flag(st, f) == -1) {
			if (f != NULL)
				out->n--;
			store_seterr(s, "out of memory");
			status = STORE_ERROR;
			break;
		}
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = store_fail(s, rc);
	/* Reset ends the read transaction, so the next call sees new commits. */
	store_done(st);
	if (status != STORE_OK)
		flag_list_clear(out);
	return status;
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

enum store_status
store_flag_add(struct store *s, struct flag *f, const char *role)
{
	sqlite3_stmt *st = s->st[ST_FLAG_INSERT];
	enum store_status status;
	enum store_unit unit;
	int64_t id;

	status = store_unit_begin(s, &unit);
	if (status != STORE_OK)
		return status;
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
		goto fail;
	id = sqlite3_last_insert_rowid(s->db);

	jb_reset(&s->detail);
	jb_obj_begin(&s->detail);
	jb_kint(&s->detail, "flag_id", id);
	jb_kstr(&s->detail, "code", f->code);
	jb_kstr(&s->detail, "reason", f->reason);
	jb_kstr(&s->detail, "source", f->source);
	if (f->expires_at != 0)
		jb_kint(&s->detail, "expires_at", f->expires_at);
	else
		jb_knull(&s->detail, "expires_at");
	jb_obj_end(&s->detail);
	status = store_audit(s, f->created_at, f->created_by, role, "flag.add", f->caller);
	if (status != STORE_OK)
		goto fail;
	status = store_unit_commit(s, unit);
	if (status == STORE_OK)
		f->id = id;
	return status;
fail:
	store_unit_rollback(s, unit);
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
