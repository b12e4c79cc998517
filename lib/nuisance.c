/* Bounded in-memory nuisance counters per caller key, computed against event timestamps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nuisance.h"

/*
 * Data structure
 *   One fixed-size slot per key (nuisance_key_bytes(), 224 bytes on LP64: the counters in one
 *   array, the links in another) in arrays that grow by doubling up to max_tracked and are then
 *   reused: a new key past the budget takes the slot of the least recently used key, so the
 *   steady state allocates nothing. Slots are linked by 32-bit indices into a chained hash
 *   table (FNV-1a with a final mix; power-of-two buckets, at least as many as slots) and a
 *   doubly linked LRU list (head: most recent). Offered and ended touch the key; peek does not.
 *
 *   Each entry holds three small sorted sets of timestamps (unsigned 32-bit Unix seconds; event
 *   times outside 1970..2106 are clamped to it):
 *     off[16]  offered times        shr[16]  end times of short calls      end[4]  end times
 *   Each keeps the LARGEST timestamps seen, not the latest arrivals, and remembers the largest
 *   timestamp it ever dropped (which is never above the smallest kept).
 *
 * Counting rules, for a call at time t
 *   repeat          offered times in (t - repeat_window_s, t], recorded before this call
 *   shorts          short end times in (t - short_window_s, t]
 *   since_last_end  t - the largest end time <= t, or -1
 *   A pattern fires when enabled (no zero field) and repeat >= N, shorts >= K, or
 *   0 <= since_last_end < G. Windows are open at the old end: a call exactly W seconds
 *   earlier does not count.
 *
 * Exactness
 *   Counts saturate at 16 (the largest N or K), so every firing decision is exact when events
 *   arrive in time order. Out of order, a count can only be short when a dropped timestamp may
 *   lie in the window (the largest dropped one is above the window's start) while the set still
 *   holds fewer than 16 in the window, i.e. the event is older than so many later calls of the
 *   same key that they pushed window members out. since_last_end is exact unless all 4 kept end
 *   times lie after t and so does the largest dropped one. Either case sets view.inexact.
 */

#define NIL      UINT32_MAX
#define END_RING 4

enum { DROP_OFF = 1, DROP_SHR = 2, DROP_END = 4 };

/*
 * A slot's links, in an array of their own: finding a key and reordering the LRU list walk
 * these 16 bytes a slot, not the counters, so a table of 100,000 keys is searched within 1.6 MiB.
 */
struct link {
	uint32_t hash;
	uint32_t hnext; /* hash chain */
	uint32_t prev;  /* LRU: towards the head (more recent) */
	uint32_t next;  /* LRU: towards the tail (less recent) */
};

struct entry {
	uint32_t off[NUISANCE_RING_MAX];
	uint32_t shr[NUISANCE_RING_MAX];
	uint32_t end[END_RING];
	uint32_t off_drop, shr_drop, end_drop;
	uint8_t noff, nshr, nend;
	uint8_t dropped; /* DROP_* bits: the matching *_drop is valid */
	char key[NUISANCE_KEY_MAX];
};

struct nuisance {
	struct nuisance_cfg cfg;
	struct entry *e;
	struct link *link; /* link[i] goes with e[i] */
	uint32_t cap;      /* slots allocated */
	uint32_t count;    /* slots in use: 0..count-1, always dense */
	uint32_t *bucket;
	uint32_t mask; /* bucket count - 1 */
	uint32_t head, tail;
};

const char *
nuisance_cfg_check(const struct nuisance_cfg *cfg)
{
	if (cfg == NULL)
		return "no configuration";
	if (cfg->repeat_calls < 0 || cfg->repeat_calls > NUISANCE_RING_MAX)
		return "repeat_calls must be 0 to 16";
	if (cfg->short_calls < 0 || cfg->short_calls > NUISANCE_RING_MAX)
		return "short_calls must be 0 to 16";
	if (cfg->repeat_window_s < 0 || cfg->short_max_s < 0 || cfg->short_window_s < 0 ||
	    cfg->redial_gap_s < 0)
		return "windows and durations must not be negative";
	if (cfg->max_tracked < 1 || cfg->max_tracked > NUISANCE_TRACKED_MAX)
		return "max_tracked must be 1 to 268435456";
	return NULL;
}

/* Clamps an event time into the stored range. */
static uint32_t
ts32(int64_t ts)
{
	if (ts < 0)
		return 0;
	if (ts > (int64_t)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)ts;
}

/* FNV-1a over the key plus a final mix so the low bits used for buckets are well spread. */
static uint32_t
key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}

/* Returns the key's length, or -1 when it is NULL, empty or too long. */
static int
key_len(const char *key, size_t *lenp)
{
	size_t len;

	if (key == NULL)
		return -1;
	len = strnlen(key, NUISANCE_KEY_MAX);
	if (len == 0 || len == NUISANCE_KEY_MAX)
		return -1;
	*lenp = len;
	return 0;
}

static uint32_t
pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static uint32_t
find(const struct nuisance *n, const char *key, size_t len, uint32_t h)
{
	for (uint32_t i = n->bucket[h & n->mask]; i != NIL; i = n->link[i].hnext)
		if (n->link[i].hash == h && memcmp(n->e[i].key, key, len + 1) == 0)
			return i;
	return NIL;
}

static void
hash_insert(struct nuisance *n, uint32_t i)
{
	uint32_t *b = &n->bucket[n->link[i].hash & n->mask];

	n->link[i].hnext = *b;
	*b = i;
}

static void
hash_remove(struct nuisance *n, uint32_t i)
{
	uint32_t *p = &n->bucket[n->link[i].hash & n->mask];

	while (*p != i)
		p = &n->link[*p].hnext;
	*p = n->link[i].hnext;
}

static void
lru_unlink(struct nuisance *n, uint32_t i)
{
	struct link *e = &n->link[i];

	if (e->prev != NIL)
		n->link[e->prev].next = e->next;
	else
		n->head = e->next;
	if (e->next != NIL)
		n->link[e->next].prev = e->prev;
	else
		n->tail = e->prev;
}

static void
lru_push_head(struct nuisance *n, uint32_t i)
{
	struct link *e = &n->link[i];

	e->prev = NIL;
	e->next = n->head;
	if (n->head != NIL)
		n->link[n->head].prev = i;
	n->head = i;
	if (n->tail == NIL)
		n->tail = i;
}

static void
lru_touch(struct nuisance *n, uint32_t i)
{
	if (n->head == i)
		return;
	lru_unlink(n, i);
	lru_push_head(n, i);
}

/* Rehashes slots 0..count-1 into a fresh bucket array of nb (a power of two) heads. */
static int
rehash(struct nuisance *n, uint32_t nb)
{
	uint32_t *b = malloc((size_t)nb * sizeof(*b));

	if (b == NULL)
		return -1;
	memset(b, 0xff, (size_t)nb * sizeof(*b));
	free(n->bucket);
	n->bucket = b;
	n->mask = nb - 1;
	for (uint32_t i = 0; i < n->count; i++)
		hash_insert(n, i);
	return 0;
}

/* Doubles the slot array (up to max_tracked); -1 leaves everything as it was. */
static int
grow(struct nuisance *n)
{
	uint64_t want = (uint64_t)n->cap * 2;
	uint32_t newcap;
	struct entry *ne;
	struct link *nl;

	if (want > n->cfg.max_tracked)
		want = n->cfg.max_tracked;
	newcap = (uint32_t)want;
	if (newcap <= n->cap)
		return -1;
	/* Either array may grow alone: it is kept, and only cap stays. */
	ne = realloc(n->e, (size_t)newcap * sizeof(*ne));
	if (ne == NULL)
		return -1;
	n->e = ne;
	nl = realloc(n->link, (size_t)newcap * sizeof(*nl));
	if (nl == NULL)
		return -1;
	n->link = nl;
	if (pow2_at_least(newcap) > n->mask + 1 && rehash(n, pow2_at_least(newcap)) == -1)
		return -1; /* the larger array is kept, only cap stays */
	n->cap = newcap;
	return 0;
}

/* Returns the key's slot, creating it and evicting the least recently used key if needed. */
static uint32_t
obtain(struct nuisance *n, const char *key, size_t len, uint32_t h)
{
	uint32_t i = find(n, key, len, h);
	struct entry *e;

	if (i != NIL) {
		lru_touch(n, i);
		return i;
	}
	if (n->count < n->cap || (n->count < n->cfg.max_tracked && grow(n) == 0)) {
		i = n->count++;
	} else {
		/* At the budget (or out of memory): reuse the coldest slot. */
		i = n->tail;
		hash_remove(n, i);
		lru_unlink(n, i);
	}
	e = &n->e[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, len + 1);
	n->link[i].hash = h;
	hash_insert(n, i);
	lru_push_head(n, i);
	return i;
}

/*
 * Adds v to the sorted set a[0..*np) of capacity cap, keeping the largest values; a value that
 * does not fit raises *drop (the largest value ever dropped) and sets bit in *dropped.
 */
static void
set_add(uint32_t *a, uint8_t *np, unsigned cap, uint32_t v, uint32_t *drop, uint8_t *dropped,
        uint8_t bit)
{
	unsigned k = *np;
	uint32_t out;

	if (k == cap) {
		if (v <= a[0]) {
			out = v;
		} else {
			out = a[0];
			/* Shift the smaller values down over the dropped minimum. */
			k = 0;
			while (k + 1 < cap && a[k + 1] < v) {
				a[k] = a[k + 1];
				k++;
			}
			a[k] = v;
		}
		if (!(*dropped & bit) || out > *drop)
			*drop = out;
		*dropped |= bit;
		return;
	}
	while (k > 0 && a[k - 1] > v) {
		a[k] = a[k - 1];
		k--;
	}
	a[k] = v;
	(*np)++;
}

/* Values of a[0..k) in (lo, hi]. */
static int
set_count(const uint32_t *a, unsigned k, int64_t lo, int64_t hi)
{
	int c = 0;

	for (unsigned i = 0; i < k; i++)
		c += (int64_t)a[i] > lo && (int64_t)a[i] <= hi;
	return c;
}

static void
view_empty(struct nuisance_view *v)
{
	memset(v, 0, sizeof(*v));
	v->since_last_end = -1;
}

static void
view_fill(const struct nuisance_cfg *c, const struct entry *e, int64_t ts, struct nuisance_view *v)
{
	const int64_t t = ts32(ts);
	const int64_t rlo = t - c->repeat_window_s;
	const int64_t slo = t - c->short_window_s;
	int have = 0;
	int64_t last = 0;

	view_empty(v);
	if (e != NULL) {
		v->repeat = set_count(e->off, e->noff, rlo, t);
		v->shorts = set_count(e->shr, e->nshr, slo, t);
		if ((e->dropped & DROP_OFF) && e->off_drop > rlo && v->repeat < NUISANCE_RING_MAX)
			v->inexact = 1;
		if ((e->dropped & DROP_SHR) && e->shr_drop > slo && v->shorts < NUISANCE_RING_MAX)
			v->inexact = 1;
		for (unsigned i = e->nend; i > 0; i--) {
			if (e->end[i - 1] <= t) {
				have = 1;
				last = e->end[i - 1];
				break;
			}
		}
		/* Dropped ends are never above the kept ones, so the largest is the only candidate.
		 */
		if (!have && (e->dropped & DROP_END)) {
			if (e->end_drop <= t) {
				have = 1;
				last = e->end_drop;
			} else {
				v->inexact = 1;
			}
		}
		if (have)
			v->since_last_end = t - last;
	}
	v->repeat_fired =
	    c->repeat_calls > 0 && c->repeat_window_s > 0 && v->repeat >= c->repeat_calls;
	v->short_fired = c->short_calls > 0 && c->short_max_s > 0 && c->short_window_s > 0 &&
	                 v->shorts >= c->short_calls;
	v->redial_fired =
	    c->redial_gap_s > 0 && v->since_last_end >= 0 && v->since_last_end < c->redial_gap_s;
}

struct nuisance *
nuisance_new(const struct nuisance_cfg *cfg)
{
	struct nuisance *n;

	if (nuisance_cfg_check(cfg) != NULL) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->cfg = *cfg;
	n->cap = cfg->max_tracked < 64 ? (uint32_t)cfg->max_tracked : 64;
	n->head = n->tail = NIL;
	n->e = malloc((size_t)n->cap * sizeof(*n->e));
	n->link = malloc((size_t)n->cap * sizeof(*n->link));
	if (n->e == NULL || n->link == NULL || rehash(n, pow2_at_least(n->cap)) == -1) {
		nuisance_free(n);
		return NULL;
	}
	return n;
}

void
nuisance_free(struct nuisance *n)
{
	if (n == NULL)
		return;
	free(n->e);
	free(n->link);
	free(n->bucket);
	free(n);
}

/* Moves the newest cap keys into a fresh array of cap slots, in LRU order; -1 changes nothing. */
static int
compact(struct nuisance *n, uint32_t cap)
{
	struct entry *ne = malloc((size_t)cap * sizeof(*ne));
	struct link *nl = malloc((size_t)cap * sizeof(*nl));
	uint32_t *nb = malloc((size_t)pow2_at_least(cap) * sizeof(*nb));
	uint32_t k = 0;

	if (ne == NULL || nl == NULL || nb == NULL) {
		free(ne);
		free(nl);
		free(nb);
		return -1;
	}
	for (uint32_t i = n->head; i != NIL && k < cap; i = n->link[i].next) {
		ne[k] = n->e[i];
		nl[k].hash = n->link[i].hash;
		nl[k].prev = k == 0 ? NIL : k - 1;
		nl[k].next = NIL;
		if (k > 0)
			nl[k - 1].next = k;
		k++;
	}
	free(n->e);
	free(n->link);
	free(n->bucket);
	n->e = ne;
	n->link = nl;
	n->cap = cap;
	n->count = k;
	n->head = k > 0 ? 0 : NIL;
	n->tail = k > 0 ? k - 1 : NIL;
	n->bucket = nb;
	n->mask = pow2_at_least(cap) - 1;
	memset(nb, 0xff, (size_t)(n->mask + 1) * sizeof(*nb));
	for (uint32_t i = 0; i < k; i++)
		hash_insert(n, i);
	return 0;
}

int
nuisance_reconfigure(struct nuisance *n, const struct nuisance_cfg *cfg)
{
	if (nuisance_cfg_check(cfg) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (cfg->max_tracked < n->cap) {
		/* Room for the keys that stay, grown again by doubling when needed. */
		uint32_t cap = n->count < cfg->max_tracked ? n->count : (uint32_t)cfg->max_tracked;

		if (cap < 64)
			cap = cfg->max_tracked < 64 ? (uint32_t)cfg->max_tracked : 64;
		if (compact(n, cap) == -1) {
			errno = ENOMEM;
			return -1;
		}
	}
	n->cfg = *cfg;
	return 0;
}

const struct nuisance_cfg *
nuisance_get_cfg(const struct nuisance *n)
{
	return &n->cfg;
}

int
nuisance_key(char out[NUISANCE_KEY_MAX], const char *caller, const char *dialed)
{
	size_t len;

	out[0] = '\0';
	if (caller != NULL) {
		len = strlen(caller);
		if (len >= NUISANCE_KEY_MAX)
			return -1;
		memcpy(out, caller, len + 1);
		return 0;
	}
	len = dialed != NULL ? strlen(dialed) : 0;
	if (len + 2 >= NUISANCE_KEY_MAX)
		return -1;
	out[0] = 'w';
	out[1] = ':';
	if (len > 0)
		memcpy(out + 2, dialed, len);
	out[2 + len] = '\0';
	return 0;
}

int
nuisance_is_short(const struct nuisance_cfg *cfg, int ended_by_caller, int abandoned,
                  int64_t talk_s)
{
	if (cfg->short_max_s <= 0)
		return 0;
	return abandoned || (ended_by_caller && talk_s < cfg->short_max_s);
}

int
nuisance_offered(struct nuisance *n, const char *key, int64_t ts, struct nuisance_view *v)
{
	struct nuisance_view tmp;
	struct entry *e;
	size_t len;
	uint32_t h, i;

	if (v == NULL)
		v = &tmp;
	if (key_len(key, &len) == -1) {
		view_empty(v);
		errno = EINVAL;
		return -1;
	}
	h = key_hash(key, len);
	i = obtain(n, key, len, h);
	e = &n->e[i];
	view_fill(&n->cfg, e, ts, v);
	set_add(e->off, &e->noff, NUISANCE_RING_MAX, ts32(ts), &e->off_drop, &e->dropped, DROP_OFF);
	return 0;
}

int
nuisance_ended(struct nuisance *n, const char *key, int64_t ended_at, int64_t talk_s,
               int short_flag)
{
	struct entry *e;
	size_t len;
	uint32_t t = ts32(ended_at);

	(void)talk_s;
	if (key_len(key, &len) == -1) {
		errno = EINVAL;
		return -1;
	}
	e = &n->e[obtain(n, key, len, key_hash(key, len))];
	set_add(e->end, &e->nend, END_RING, t, &e->end_drop, &e->dropped, DROP_END);
	if (short_flag)
		set_add(e->shr, &e->nshr, NUISANCE_RING_MAX, t, &e->shr_drop, &e->dropped,
		        DROP_SHR);
	return 0;
}

int
nuisance_peek(const struct nuisance *n, const char *key, int64_t ts, struct nuisance_view *v)
{
	struct nuisance_view tmp;
	size_t len;
	uint32_t i;

	if (v == NULL)
		v = &tmp;
	if (key_len(key, &len) == -1) {
		view_empty(v);
		errno = EINVAL;
		return -1;
	}
	i = find(n, key, len, key_hash(key, len));
	view_fill(&n->cfg, i == NIL ? NULL : &n->e[i], ts, v);
	return i != NIL;
}

size_t
nuisance_tracked(const struct nuisance *n)
{
	return n->count;
}

size_t
nuisance_memory_bytes(const struct nuisance *n)
{
	return sizeof(*n) + (size_t)n->cap * (sizeof(struct entry) + sizeof(struct link)) +
	       (size_t)(n->mask + 1) * sizeof(uint32_t);
}

size_t
nuisance_key_bytes(void)
{
	return sizeof(struct entry) + sizeof(struct link);
}
