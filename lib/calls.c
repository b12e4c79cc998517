/* The daemon's in-memory table of calls in progress: hash by call_id plus two time-ordered lists.
 */

/*
 * Structure
 * - Entries live in a slab of fixed-size chunks (CHUNK_LEN entries each), allocated on first use
 *   and never moved, so a struct call * stays valid while its entry is in the table. Entries are
 *   named by 32-bit indices; removed entries go on a free list and are reused first. Memory is
 *   the high-water mark of entries held at once (at most max_calls) and is released by calls_free.
 * - A chained hash (FNV-1a, finished with a mixer) maps call_id to an entry. The bucket array
 *   is a power of two, starts small and doubles whenever the table holds more entries than
 *   buckets, up to the first power of two >= max_calls (load factor <= 1).
 * - Each entry is on exactly one of two doubly linked lists: "open" ordered by offered_at, or
 *   "ended" ordered by ended_at. Expiry and eviction only ever look at list heads.
 *
 * Lifecycle
 *   calls_add -> open list -> calls_end (or calls_expire closing it as "system")
 *             -> ended list, lingering linger_s -> removed by calls_expire (or evicted).
 * When the table is full, calls_add evicts the head of the ended list, else the head of the
 * open list (copied out so the daemon can close it in the call log).
 *
 * Order is by event ts, which mostly arrives in time order. An entry not newer than the tail is
 * placed by walking back from the tail at most ORDER_WALK steps (older than the head goes to the
 * head directly); past that it is placed approximately. Approximate placement can only make its
 * expiry late (it waits behind a newer head), never early, since every entry is tested against
 * its own time before it is removed or closed.
 */
#include "calls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nuisance.h"

_Static_assert(CALLS_KEY_SIZE == NUISANCE_KEY_MAX, "nuisance key sizes differ");

#define NIL         UINT32_MAX
#define CHUNK_LEN   256u
#define ORDER_WALK  64
#define MIN_BUCKETS 1024u

struct calls_entry {
	struct call c; /* first, so a struct call * from the table is its entry */
	uint32_t self; /* own index */
	uint32_t hash;
	uint32_t hnext;      /* next in the hash chain */
	uint32_t prev, next; /* neighbours on the open or ended list; next links the free list */
};

struct calls_list {
	uint32_t head, tail;
};

struct calls {
	size_t max_calls;
	int64_t linger_s;
	struct calls_entry **chunks; /* max_calls / CHUNK_LEN rounded up, NULL until used */
	size_t nchunks;
	size_t chunk_entries; /* entries allocated in all chunks */
	uint32_t hiwater;     /* entries ever handed out; index of the next fresh one */
	uint32_t free_head;
	uint32_t *buckets;
	size_t nbuckets, max_buckets;
	size_t count, open_count;
	struct calls_list open, ended;
};

static struct calls_entry *
calls_entry(const struct calls *t, uint32_t i)
{
	return &t->chunks[i / CHUNK_LEN][i % CHUNK_LEN];
}

static uint32_t
calls_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	/* FNV's low bits mix poorly; the bucket mask uses them, so finish with murmur3's fmix32. */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Whether t0 + span <= now, for span >= 0, without overflowing. */
static int
calls_passed(int64_t t0, int64_t span, int64_t now)
{
	int64_t due;

	if (__builtin_add_overflow(t0, span, &due))
		return 0;
	return due <= now;
}

static int64_t
calls_time(const struct calls_entry *e, int ended)
{
	return ended ? e->c.ended_at : e->c.offered_at;
}

static void
calls_link_after(struct calls *t, struct calls_list *l, uint32_t after, uint32_t i)
{
	struct calls_entry *e = calls_entry(t, i);

	e->prev = after;
	if (after == NIL) {
		e->next = l->head;
		l->head = i;
	} else {
		struct calls_entry *a = calls_entry(t, after);

		e->next = a->next;
		a->next = i;
	}
	if (e->next == NIL)
		l->tail = i;
	else
		calls_entry(t, e->next)->prev = i;
}

/* Inserts entry i into l by its time (offered_at on the open list, ended_at on the ended list). */
static void
calls_link_ordered(struct calls *t, struct calls_list *l, uint32_t i, int ended)
{
	int64_t when = calls_time(calls_entry(t, i), ended);
	uint32_t p = l->tail;
	int steps;

	if (p == NIL || calls_time(calls_entry(t, p), ended) <= when) {
		calls_link_after(t, l, p, i);
		return;
	}
	if (when < calls_time(calls_entry(t, l->head), ended)) {
		calls_link_after(t, l, NIL, i);
		return;
	}
	/* Stops at the head at the latest, since the head is not newer than when. */
	for (steps = 0; steps < ORDER_WALK; steps++) {
		if (calls_time(calls_entry(t, p), ended) <= when)
			break;
		p = calls_entry(t, p)->prev;
	}
	calls_link_after(t, l, p, i);
}

static void
calls_unlink(struct calls *t, struct calls_list *l, uint32_t i)
{
	struct calls_entry *e = calls_entry(t, i);

	if (e->prev == NIL)
		l->head = e->next;
	else
		calls_entry(t, e->prev)->next = e->next;
	if (e->next == NIL)
		l->tail = e->prev;
	else
		calls_entry(t, e->next)->prev = e->prev;
	e->prev = e->next = NIL;
}

static uint32_t *
calls_bucket(const struct calls *t, uint32_t hash)
{
	return &t->buckets[hash & (t->nbuckets - 1)];
}

static uint32_t
calls_lookup(const struct calls *t, const char *call_id, uint32_t hash)
{
	uint32_t i;

	for (i = *calls_bucket(t, hash); i != NIL; i = calls_entry(t, i)->hnext) {
		const struct calls_entry *e = calls_entry(t, i);

		if (e->hash == hash && strcmp(e->c.call_id, call_id) == 0)
			return i;
	}
	return NIL;
}

/* Doubles the bucket array when the next entry would push the load factor above 1. */
static int
calls_grow_buckets(struct calls *t)
{
	uint32_t *nb, i, next;
	size_t n, b;

	if (t->count < t->nbuckets || t->nbuckets >= t->max_buckets)
		return 0;
	n = t->nbuckets * 2;
	nb = malloc(n * sizeof(*nb));
	if (nb == NULL)
		return -1;
	for (b = 0; b < n; b++)
		nb[b] = NIL;
	for (b = 0; b < t->nbuckets; b++) {
		for (i = t->buckets[b]; i != NIL; i = next) {
			struct calls_entry *e = calls_entry(t, i);

			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = i;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
	return 0;
}

/* A free entry index: from the free list, else a fresh one (allocating its chunk). */
static uint32_t
calls_take(struct calls *t)
{
	uint32_t i;

	if (t->free_head != NIL) {
		i = t->free_head;
		t->free_head = calls_entry(t, i)->next;
		return i;
	}
	if (t->hiwater >= t->max_calls)
		return NIL;
	i = t->hiwater;
	if (t->chunks[i / CHUNK_LEN] == NULL) {
		size_t len = t->max_calls - i < CHUNK_LEN ? t->max_calls - i : CHUNK_LEN;
		struct calls_entry *chunk = calloc(len, sizeof(*chunk));
		size_t k;

		if (chunk == NULL)
			return NIL;
		for (k = 0; k < len; k++)
			chunk[k].self = (uint32_t)(i + k);
		t->chunks[i / CHUNK_LEN] = chunk;
		t->chunk_entries += len;
	}
	t->hiwater++;
	return i;
}

static void
calls_remove(struct calls *t, uint32_t i)
{
	struct calls_entry *e = calls_entry(t, i);
	uint32_t *pp = calls_bucket(t, e->hash);

	while (*pp != i)
		pp = &calls_entry(t, *pp)->hnext;
	*pp = e->hnext;
	if (e->c.ended_at == 0) {
		calls_unlink(t, &t->open, i);
		t->open_count--;
	} else {
		calls_unlink(t, &t->ended, i);
	}
	memset(&e->c, 0, sizeof(e->c));
	e->hnext = NIL;
	e->next = t->free_head;
	t->free_head = i;
	t->count--;
}

static void
calls_terminate(char *s, size_t size)
{
	s[size - 1] = '\0';
}

int64_t
calls_talk_s(const struct call *c)
{
	return c->answered_at != 0 && c->ended_at >= c->answered_at ? c->ended_at - c->answered_at
	                                                            : -1;
}

struct calls *
calls_new(size_t max_calls, int64_t linger_s)
{
	struct calls *t;
	size_t b;

	if (max_calls == 0 || max_calls > CALLS_MAX_CALLS || linger_s < 0) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->max_calls = max_calls;
	t->linger_s = linger_s;
	t->free_head = NIL;
	t->open.head = t->open.tail = NIL;
	t->ended.head = t->ended.tail = NIL;
	t->max_buckets = 1;
	while (t->max_buckets < max_calls)
		t->max_buckets *= 2;
	t->nbuckets = t->max_buckets < MIN_BUCKETS ? t->max_buckets : MIN_BUCKETS;
	t->nchunks = (max_calls + CHUNK_LEN - 1) / CHUNK_LEN;
	t->chunks = calloc(t->nchunks, sizeof(*t->chunks));
	t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
	if (t->chunks == NULL || t->buckets == NULL) {
		calls_free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (b = 0; b < t->nbuckets; b++)
		t->buckets[b] = NIL;
	return t;
}

void
calls_free(struct calls *t)
{
	size_t k;

	if (t == NULL)
		return;
	if (t->chunks != NULL) {
		for (k = 0; k < t->nchunks; k++)
			free(t->chunks[k]);
	}
	free(t->chunks);
	free(t->buckets);
	free(t);
}

int
calls_add(struct calls *t, const struct call *c, struct call **out, struct call *evicted)
{
	size_t len = strnlen(c->call_id, CALLS_CALL_ID_SIZE);
	int result = CALLS_ADDED;
	struct calls_entry *e;
	uint32_t hash, i;

	if (len == 0 || len == CALLS_CALL_ID_SIZE || c->ended_at < 0) {
		errno = EINVAL;
		return -1;
	}
	hash = calls_hash(c->call_id);
	i = calls_lookup(t, c->call_id, hash);
	if (i != NIL) {
		if (out != NULL)
			*out = &calls_entry(t, i)->c;
		return CALLS_DUPLICATE;
	}
	if (t->count == t->max_calls) {
		/* Every entry is allocated, so nothing below can fail after this eviction. */
		if (t->ended.head != NIL) {
			calls_remove(t, t->ended.head);
		} else {
			if (evicted != NULL)
				*evicted = calls_entry(t, t->open.head)->c;
			calls_remove(t, t->open.head);
			result = CALLS_ADDED_EVICTED;
		}
	}
	if (calls_grow_buckets(t) == -1) {
		errno = ENOMEM;
		return -1;
	}
	i = calls_take(t);
	if (i == NIL) {
		errno = ENOMEM;
		return -1;
	}
	e = calls_entry(t, i);
	e->c = *c;
	calls_terminate(e->c.caller, sizeof(e->c.caller));
	calls_terminate(e->c.dialed, sizeof(e->c.dialed));
	calls_terminate(e->c.key, sizeof(e->c.key));
	calls_terminate(e->c.agent, sizeof(e->c.agent));
	calls_terminate(e->c.ended_by, sizeof(e->c.ended_by));
	calls_terminate(e->c.queue, sizeof(e->c.queue));
	calls_terminate(e->c.rule, sizeof(e->c.rule));
	calls_terminate(e->c.policy, sizeof(e->c.policy));
	e->hash = hash;
	e->hnext = *calls_bucket(t, hash);
	*calls_bucket(t, hash) = i;
	if (e->c.ended_at == 0) {
		calls_link_ordered(t, &t->open, i, 0);
		t->open_count++;
	} else {
		calls_link_ordered(t, &t->ended, i, 1);
	}
	t->count++;
	if (out != NULL)
		*out = &e->c;
	return result;
}

struct call *
calls_find(const struct calls *t, const char *call_id)
{
	size_t len = strnlen(call_id, CALLS_CALL_ID_SIZE);
	uint32_t i;

	if (len == 0 || len == CALLS_CALL_ID_SIZE)
		return NULL;
	i = calls_lookup(t, call_id, calls_hash(call_id));
	return i == NIL ? NULL : &calls_entry(t, i)->c;
}

int
calls_end(struct calls *t, struct call *c, int64_t ended_at)
{
	struct calls_entry *e = (struct calls_entry *)c;

	if (ended_at <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (c->ended_at != 0)
		return 1;
	calls_unlink(t, &t->open, e->self);
	t->open_count--;
	c->ended_at = ended_at;
	calls_link_ordered(t, &t->ended, e->self, 1);
	return 0;
}

size_t
calls_expire(struct calls *t, int64_t now, int64_t close_after_s, size_t budget, calls_close_cb cb,
             void *arg)
{
	size_t n = 0;

	while (n < budget && t->ended.head != NIL &&
	       calls_passed(calls_entry(t, t->ended.head)->c.ended_at, t->linger_s, now)) {
		calls_remove(t, t->ended.head);
		n++;
	}
	if (close_after_s <= 0)
		return n;
	while (n < budget && t->open.head != NIL &&
	       calls_passed(calls_entry(t, t->open.head)->c.offered_at, close_after_s, now)) {
		struct calls_entry *e = calls_entry(t, t->open.head);

		if (cb != NULL)
			cb(&e->c, arg);
		/* 0 means open, so a clock at or before the epoch still closes the call. */
		calls_end(t, &e->c, now > 0 ? now : 1);
		strcpy(e->c.ended_by, "system");
		n++;
	}
	return n;
}

size_t
calls_count(const struct calls *t)
{
	return t->count;
}

size_t
calls_open_count(const struct calls *t)
{
	return t->open_count;
}

size_t
calls_memory_bytes(const struct calls *t)
{
	return sizeof(*t) + t->nchunks * sizeof(*t->chunks) + t->nbuckets * sizeof(*t->buckets) +
	       t->chunk_entries * sizeof(struct calls_entry);
}

int
calls_report_mark(struct call *c, unsigned code_idx)
{
	uint32_t bit;

	if (code_idx >= CALLS_REPORT_BITS) {
		errno = EINVAL;
		return -1;
	}
	bit = (uint32_t)1 << code_idx;
	if (c->reported & bit)
		return 1;
	c->reported |= bit;
	return 0;
}
