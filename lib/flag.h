/* The flag record shared by the store, the router and the replies. */
#ifndef CW_FLAG_H
#define CW_FLAG_H

#include <stddef.h>
#include <stdint.h>

#include "jbuf.h"
#include "number.h"

/* Longest accepted text fields, in bytes. */
#define FLAG_REASON_MAX 2048
#define FLAG_NAME_MAX   128 /* by, revoked_by, agent names */
#define FLAG_CODE_MAX   32

/* Strings are malloc'ed and owned by the flag; flag_clear frees them. */
struct flag {
	int64_t id;
	char caller[NUMBER_BUFSZ];
	char *code;
	char *reason;
	char *created_by;
	char *source; /* "supervisor", "agent" or "auto" */
	int64_t created_at;
	int64_t expires_at; /* 0: never expires */
	int64_t revoked_at; /* 0: not revoked */
	char *revoked_by;
	char *revoke_reason;
};

/* A reusable array of flags; flag_list_clear keeps the array's allocation. */
struct flag_list {
	struct flag *v;
	size_t n;
	size_t cap;
};

void flag_clear(struct flag *f); /* frees the strings, zeroes the struct */
/* Appends a zeroed flag and returns it, or NULL when out of memory. */
struct flag *flag_list_push(struct flag_list *l);
void flag_list_clear(struct flag_list *l);
void flag_list_free(struct flag_list *l);

/* Counts at time ts: not revoked and not expired (expires_at > ts). */
int flag_is_active(const struct flag *f, int64_t ts);
/* "active", "expired" or "revoked" at ts. */
const char *flag_state(const struct flag *f, int64_t ts);

/*
 * Writes the flag object of the protocol: id, caller, code, reason, by, source, created_at,
 * expires_at (null: never), and when revoked revoked_at, revoked_by, revoke_reason.
 */
void flag_write_json(struct jbuf *jb, const struct flag *f);
/* The same fields, written into an object the caller has opened. */
void flag_write_fields(struct jbuf *jb, const struct flag *f);

#endif
