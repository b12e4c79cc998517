/* The follow-up task record shared by the store and the replies. */
#ifndef CW_FOLLOWUP_H
#define CW_FOLLOWUP_H

#include <stddef.h>
#include <stdint.h>

#include "jbuf.h"
#include "number.h"

/*
 * A task to contact a caller (or review a call) after an incident. Strings are malloc'ed and
 * owned by the record when it comes from the store; followup_clear frees them.
 */
struct followup {
	int64_t id;
	char caller[NUMBER_BUFSZ]; /* E.164, or "" when the call's caller was withheld */
	char *call_id;             /* NULL: none */
	int64_t due_at;
	char *created_by;
	int64_t created_at;
	char *note;
	int64_t done_at; /* 0: open */
	char *done_by;
	char *done_note;
};

/* A reusable array of follow-ups; followup_list_clear keeps the array's allocation. */
struct followup_list {
	struct followup *v;
	size_t n;
	size_t cap;
};

void followup_clear(struct followup *fu); /* frees the strings, zeroes the struct */
/* Appends a zeroed follow-up and returns it, or NULL when out of memory. */
struct followup *followup_list_push(struct followup_list *l);
void followup_list_clear(struct followup_list *l);
void followup_list_free(struct followup_list *l);

/* "done", "overdue" (open and due_at <= now) or "open" at now. */
const char *followup_state(const struct followup *fu, int64_t now);

/*
 * Writes the follow-up object of the protocol: id, caller (null when withheld), call_id (null:
 * none), due_at, created_by, created_at, note, done_at, done_by, done_note (null while open).
 */
void followup_write_json(struct jbuf *jb, const struct followup *fu);
/* The same fields, written into an object the caller has opened. */
void followup_write_fields(struct jbuf *jb, const struct followup *fu);

#endif
