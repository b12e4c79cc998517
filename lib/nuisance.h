/* Bounded in-memory nuisance counters per caller key: repeat calls, short calls, rapid redial. */
#ifndef CW_NUISANCE_H
#define CW_NUISANCE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Keys are NUL-terminated strings of at most NUISANCE_KEY_MAX - 1 bytes: a normalised caller
 * number ("+15551234567") or, for withheld callers, "w:" + the dialled number. Longer or empty
 * keys are rejected (-1, errno EINVAL), never truncated, so two keys are never merged.
 */
#define NUISANCE_KEY_MAX 48
/* Largest N (repeat_calls) and K (short_calls): the per-key rings hold this many timestamps. */
#define NUISANCE_RING_MAX 16
/* Largest accepted max_tracked (entries are addressed with 32-bit indices). */
#define NUISANCE_TRACKED_MAX (1u << 28)

/*
 * Thresholds and budget. A pattern is disabled when any of its fields is 0: repeat needs
 * repeat_calls and repeat_window_s; short needs short_calls, short_max_s and short_window_s;
 * redial needs redial_gap_s. Negative values are invalid.
 */
struct nuisance_cfg {
	int repeat_calls;        /* N, 0..16: fires when >= N earlier calls are in the window */
	int64_t repeat_window_s; /* W: window (ts - W, ts] */
	int short_calls;         /* K, 0..16 */
	int64_t short_max_s; /* S: short when talk time < S and ended by the caller, or abandoned */
	int64_t short_window_s; /* short calls whose end time lies in (ts - window, ts] */
	int64_t redial_gap_s;   /* G: fires when the previous call ended < G seconds before ts */
	size_t max_tracked;     /* budget of tracked keys, 1..NUISANCE_TRACKED_MAX */
};

/*
 * The counters for one call at time ts. Counts saturate at NUISANCE_RING_MAX. inexact is set
 * when timestamps arrived so far out of order that a count or since_last_end may be lower than
 * the truth (see nuisance.c); it is never set for calls that arrive in time order.
 */
struct nuisance_view {
	int repeat; /* earlier offered calls with time in (ts - W, ts] */
	int shorts; /* short calls with end time in (ts - short_window_s, ts] */
	int64_t
	    since_last_end; /* ts - end of the latest call that ended at or before ts; -1: none */
	int repeat_fired;
	int short_fired;
	int redial_fired;
	int inexact;
};

struct nuisance;

/* Returns NULL when cfg is valid, else a static description of the first problem. */
const char *nuisance_cfg_check(const struct nuisance_cfg *cfg);

/* Creates an empty tracker with a copy of cfg. NULL on an invalid cfg (EINVAL) or ENOMEM. */
struct nuisance *nuisance_new(const struct nuisance_cfg *cfg);
void nuisance_free(struct nuisance *n); /* NULL is a no-op */

/*
 * Replaces the thresholds (policy reload) keeping every recorded timestamp; a smaller
 * max_tracked evicts the least recently used keys down to it and releases their memory.
 * Returns -1 (EINVAL or ENOMEM) and changes nothing on failure.
 */
int nuisance_reconfigure(struct nuisance *n, const struct nuisance_cfg *cfg);
const struct nuisance_cfg *nuisance_get_cfg(const struct nuisance *n);

/*
 * Builds the key for a call into out: caller when not NULL, else "w:" + dialed ("w:" alone
 * when dialed is NULL too). Returns 0, or -1 when the key would not fit (out is then "").
 */
int nuisance_key(char out[NUISANCE_KEY_MAX], const char *caller, const char *dialed);

/*
 * Whether an ended call counts as short under cfg: abandoned in queue, or ended by the caller
 * with talk_s < short_max_s. Always 0 when short_max_s is 0 (pattern disabled).
 */
int nuisance_is_short(const struct nuisance_cfg *cfg, int ended_by_caller, int abandoned,
                      int64_t talk_s);

/*
 * A call from key was offered at ts: fills *v (optional) from the history BEFORE this call, then
 * records the call and makes key the most recently used, creating it (and evicting the least
 * recently used key when the budget is full) if needed. Returns 0, or -1 (EINVAL) on a bad key,
 * with *v zeroed and since_last_end -1.
 */
int nuisance_offered(struct nuisance *n, const char *key, int64_t ts, struct nuisance_view *v);

/*
 * A call from key ended at ended_at; short_flag comes from nuisance_is_short. Records the end
 * (and a short call when short_flag), makes key the most recently used, creating it if needed.
 * Each call counts once: the caller filters duplicate end events. talk_s is not used by the
 * counters (short_flag decides) and is accepted so callers pass the event as it came.
 * Returns 0, or -1 (EINVAL) on a bad key.
 */
int nuisance_ended(struct nuisance *n, const char *key, int64_t ended_at, int64_t talk_s,
                   int short_flag);

/*
 * The view nuisance_offered would give for a call at ts, without recording anything and
 * without touching the LRU order. Returns 1 when key is tracked, 0 when it is not (the view is
 * then all zero with since_last_end -1), -1 (EINVAL) on a bad key.
 */
int nuisance_peek(const struct nuisance *n, const char *key, int64_t ts, struct nuisance_view *v);

size_t nuisance_tracked(const struct nuisance *n); /* keys currently held */
/*
 * Bytes held: the struct, the entry array (nuisance_key_bytes() per slot, grown by doubling up to
 * max_tracked) and the hash buckets (4 bytes each, a power of two >= the slots, so <= 8 per key).
 */
size_t nuisance_memory_bytes(const struct nuisance *n);
size_t nuisance_key_bytes(void); /* size of one key's entry */

#endif
