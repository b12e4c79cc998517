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
void store_rollback(struct store *s);

/*
 * The caller's flags, newest first, at most limit, appended to out (cleared first). Returns
 * STORE_OK, STORE_BUSY or STORE_ERROR.
 */
enum store_status store_caller_flags(struct store *s, const char *caller, size_t limit,
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

/* Flags active at ts, for stats. -1 on error. */
int64_t store_count_active_flags(struct store *s, int64_t ts);

#endif
