/* The daemon's in-memory table of calls in progress, keyed by call_id, with bounded expiry. */
#ifndef CW_CALLS_H
#define CW_CALLS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Field sizes, each including the terminating NUL (so a call_id holds at most 128 bytes). They
 * match calllog.h and nuisance.h; strings longer than a field must be rejected by the caller
 * (bad_field), never truncated.
 */
#define CALLS_CALL_ID_SIZE  129 /* call_id: 1..128 bytes */
#define CALLS_CALLER_SIZE   17  /* E.164: "+" and up to 15 digits; "" when withheld */
#define CALLS_DIALED_SIZE   64  /* "" when none */
#define CALLS_KEY_SIZE      48  /* nuisance key (NUISANCE_KEY_MAX) */
#define CALLS_AGENT_SIZE    129
#define CALLS_ENDED_BY_SIZE 8 /* "caller", "agent", "system"; "" while open */
#define CALLS_QUEUE_SIZE    33
#define CALLS_RULE_SIZE     65
#define CALLS_POLICY_SIZE   65
/* Largest accepted max_calls (entries are addressed with 32-bit indices). */
#define CALLS_MAX_CALLS (1u << 26)
/* Report codes are remembered per call by index 0..CALLS_REPORT_BITS - 1. */
#define CALLS_REPORT_BITS 32

/* Decisions as stored in struct call.action. */
#define CALLS_ACTION_QUEUE  0
#define CALLS_ACTION_REJECT 1

/*
 * One call. Every string is NUL-terminated within its array. Times are Unix seconds taken from
 * events' ts; 0 means "not yet". The table owns call_id, offered_at and ended_at (the key and
 * the two time orders): never write them through a pointer from the table (use calls_end).
 * Every other field may be updated in place by the owner of the table.
 */
struct call {
	int64_t id; /* call-log row id assigned by the daemon */
	char call_id[CALLS_CALL_ID_SIZE];
	char caller[CALLS_CALLER_SIZE];
	char dialed[CALLS_DIALED_SIZE];
	char key[CALLS_KEY_SIZE]; /* nuisance key */
	int64_t offered_at;
	int64_t answered_at; /* 0: not answered */
	char agent[CALLS_AGENT_SIZE];
	int64_t ended_at; /* 0: open */
	char ended_by[CALLS_ENDED_BY_SIZE];
	int abandoned; /* 0/1 */
	char queue[CALLS_QUEUE_SIZE];
	char rule[CALLS_RULE_SIZE];
	char policy[CALLS_POLICY_SIZE]; /* policy version that decided the call */
	int action;                     /* CALLS_ACTION_QUEUE or CALLS_ACTION_REJECT */
	int degraded;                   /* 0/1 */
	uint32_t reported; /* bit i: report code index i already recorded (see calls_report_mark) */
};

struct calls;

/* Seconds from answer to end; -1 when the call was never answered or has not ended. */
int64_t calls_talk_s(const struct call *c);

/* Results of calls_add (-1 is an error with errno set). */
enum calls_add_result {
	CALLS_ADDED = 0,     /* added; nothing open was evicted */
	CALLS_DUPLICATE = 1, /* call_id already present: *out is the existing entry, unchanged */
	CALLS_ADDED_EVICTED = 2, /* added after evicting an OPEN call, copied to *evicted */
};

/*
 * A table of at most max_calls (1..CALLS_MAX_CALLS) entries; ended calls stay findable for
 * linger_s (>= 0) seconds after their end. NULL on bad arguments (EINVAL) or ENOMEM. Memory grows
 * with the largest number of entries held at once and is returned by calls_free only.
 */
struct calls *calls_new(size_t max_calls, int64_t linger_s);
void calls_free(struct calls *t); /* NULL is a no-op */

/*
 * Adds a copy of *c (call_id must be 1..128 bytes and NUL-terminated, else -1 EINVAL). A call
 * with ended_at != 0 is added as ended and lingers from ended_at. When the table is full, the
 * entry ended earliest is removed first; when no entry has ended, the open call offered earliest
 * is removed, copied to *evicted (when not NULL) and CALLS_ADDED_EVICTED returned, so the caller
 * can close it (ended_by "system") in the call log. A duplicate call_id evicts nothing.
 * *out (when not NULL) receives the table's entry. -1 with ENOMEM changes nothing.
 *
 * Pointers into the table stay valid until the entry is removed by calls_expire or evicted by
 * calls_add; do not keep them across either.
 */
int calls_add(struct calls *t, const struct call *c, struct call **out, struct call *evicted);

/* The entry for call_id, or NULL. */
struct call *calls_find(const struct calls *t, const char *call_id);

/*
 * Marks c (an entry of t) ended at ended_at (> 0, else -1 EINVAL); it lingers linger_s seconds
 * from then. Returns 0, or 1 with nothing changed when c had already ended (a repeated
 * call.ended). Set ended_by and abandoned in c yourself.
 */
int calls_end(struct calls *t, struct call *c, int64_t ended_at);

/* Called for an open call just before calls_expire closes it (c->ended_at is still 0). */
typedef void (*calls_close_cb)(struct call *c, void *arg);

/*
 * Housekeeping at time now, handling at most budget (> 0) entries:
 * - removes ended calls whose linger has passed (ended_at + linger_s <= now);
 * - when close_after_s > 0, closes open calls offered at or before now - close_after_s: calls
 *   cb(c, arg) (cb may be NULL; it must not call calls_* functions that change t), then marks
 *   c ended at now with ended_by "system"; it then lingers like any ended call.
 * Returns the number of entries removed or closed; when that equals budget, more may be due
 * and the next call picks them up. Work is proportional to the result, never to the table.
 */
size_t calls_expire(struct calls *t, int64_t now, int64_t close_after_s, size_t budget,
                    calls_close_cb cb, void *arg);

size_t calls_count(const struct calls *t);      /* entries, open and lingering */
size_t calls_open_count(const struct calls *t); /* entries with ended_at == 0 */
/* Heap held by t: about 650 bytes per entry at the high-water mark, plus 4 per hash bucket. */
size_t calls_memory_bytes(const struct calls *t);

/*
 * Records that report code index code_idx (< CALLS_REPORT_BITS) was recorded for c, so a
 * retried call.report is not recorded twice. Returns 0 when newly marked, 1 when it already
 * was, -1 (EINVAL) for an index out of range.
 */
int calls_report_mark(struct call *c, unsigned code_idx);

#endif
