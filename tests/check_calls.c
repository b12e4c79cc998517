/* Unit tests for the in-memory table of calls in progress (lib/calls.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct call
mkcall(const char *call_id, int64_t offered_at)
{
	struct call c;

	memset(&c, 0, sizeof(c));
	snprintf(c.call_id, sizeof(c.call_id), "%s", call_id);
	snprintf(c.caller, sizeof(c.caller), "+15551234567");
	snprintf(c.key, sizeof(c.key), "+15551234567");
	c.offered_at = offered_at;
	return c;
}

static void
add_ok(struct calls *t, const char *call_id, int64_t offered_at)
{
	struct call c = mkcall(call_id, offered_at);

	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), CALLS_ADDED);
}

static void
end_ok(struct calls *t, const char *call_id, int64_t ended_at)
{
	struct call *c = calls_find(t, call_id);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(calls_end(t, c, ended_at), 0);
}

/* Records what the close callback saw. */
struct closed {
	char ids[64][CALLS_CALL_ID_SIZE];
	size_t n;
	int saw_ended; /* the callback ran on a call already marked ended */
};

static void
record_cb(struct call *c, void *arg)
{
	struct closed *cl = arg;

	if (c->ended_at != 0)
		cl->saw_ended = 1;
	if (cl->n < ARRAY_LEN(cl->ids))
		snprintf(cl->ids[cl->n], sizeof(cl->ids[0]), "%s", c->call_id);
	cl->n++;
}

/* Talk time: answer to end, and -1 for a call never answered or not ended yet. */
START_TEST(test_talk_s)
{
	static const struct {
		int64_t answered_at, ended_at, want;
	} cases[] = {
	    {0, 0, -1},       /* offered only */
	    {0, 1070, -1},    /* abandoned: never answered */
	    {1010, 0, -1},    /* answered, still talking */
	    {1010, 1070, 60}, /* a minute */
	    {1010, 1010, 0},  /* hung up at once */
	    {1010, 1005, -1}, /* an end before the answer is no talk */
	};
	struct call c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.answered_at = cases[i].answered_at;
		c.ended_at = cases[i].ended_at;
		ck_assert_msg(calls_talk_s(&c) == cases[i].want, "case %zu: %lld, want %lld", i,
		              (long long)calls_talk_s(&c), (long long)cases[i].want);
	}
}
END_TEST

START_TEST(test_add_find_fields)
{
	struct calls *t = calls_new(8, 30);
	struct call c = mkcall("c-1", 1000), *got = NULL;

	ck_assert_ptr_nonnull(t);
	c.id = 42;
	snprintf(c.dialed, sizeof(c.dialed), "+18005550100");
	snprintf(c.queue, sizeof(c.queue), "long-hold");
	snprintf(c.rule, sizeof(c.rule), "nuisance-repeat");
	snprintf(c.policy, sizeof(c.policy), "v7");
	c.action = CALLS_ACTION_REJECT;
	c.degraded = 1;
	ck_assert_int_eq(calls_add(t, &c, &got, NULL), CALLS_ADDED);
	ck_assert_ptr_eq(calls_find(t, "c-1"), got);
	ck_assert_int_eq(got->id, 42);
	ck_assert_str_eq(got->call_id, "c-1");
	ck_assert_str_eq(got->caller, "+15551234567");
	ck_assert_str_eq(got->dialed, "+18005550100");
	ck_assert_str_eq(got->queue, "long-hold");
	ck_assert_str_eq(got->rule, "nuisance-repeat");
	ck_assert_str_eq(got->policy, "v7");
	ck_assert_int_eq(got->action, CALLS_ACTION_REJECT);
	ck_assert_int_eq(got->degraded, 1);
	ck_assert_int_eq(got->offered_at, 1000);
	ck_assert_int_eq(got->ended_at, 0);
	ck_assert_ptr_null(calls_find(t, "c-2"));
	ck_assert_ptr_null(calls_find(t, ""));
	ck_assert_uint_eq(calls_count(t), 1);
	ck_assert_uint_eq(calls_open_count(t), 1);
	calls_free(t);
}
END_TEST

struct linger_case {
	const char *what;
	int64_t linger_s;
	int64_t ended_at;
	int64_t now;
	int present; /* still findable after calls_expire(now) */
};

static const struct linger_case linger_cases[] = {
    {"one second before the edge", 30, 100, 129, 1},
    {"exactly at ended_at + linger", 30, 100, 130, 0},
    {"long after", 30, 100, 100000, 0},
    {"at the end itself", 30, 100, 100, 1},
    {"clock behind the end", 30, 100, 50, 1},
    {"zero linger, same second", 0, 100, 100, 0},
    {"zero linger, second before", 0, 100, 99, 1},
};

START_TEST(test_linger_edge)
{
	const struct linger_case *lc = &linger_cases[_i];
	struct calls *t = calls_new(4, lc->linger_s);

	ck_assert_ptr_nonnull(t);
	add_ok(t, "c-1", 90);
	end_ok(t, "c-1", lc->ended_at);
	ck_assert_uint_eq(calls_open_count(t), 0);
	calls_expire(t, lc->now, 3600, 100, NULL, NULL);
	ck_assert_msg((calls_find(t, "c-1") != NULL) == lc->present, "%s", lc->what);
	ck_assert_uint_eq(calls_count(t), lc->present ? 1 : 0);
	calls_free(t);
}
END_TEST

START_TEST(test_end_idempotent)
{
	struct calls *t = calls_new(4, 30);
	struct call *c;

	add_ok(t, "c-1", 100);
	c = calls_find(t, "c-1");
	ck_assert_int_eq(calls_end(t, c, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(c->ended_at, 0);
	ck_assert_int_eq(calls_end(t, c, 120), 0);
	ck_assert_int_eq(calls_end(t, c, 500), 1);
	ck_assert_int_eq(c->ended_at, 120);
	ck_assert_uint_eq(calls_open_count(t), 0);
	ck_assert_uint_eq(calls_count(t), 1);
	/* The linger counts from the first end. */
	calls_expire(t, 150, 3600, 10, NULL, NULL);
	ck_assert_ptr_null(calls_find(t, "c-1"));
	calls_free(t);
}
END_TEST

START_TEST(test_duplicate_add)
{
	struct calls *t = calls_new(4, 30);
	struct call c = mkcall("c-1", 100), again = mkcall("c-1", 200), *first, *dup = NULL;

	c.id = 7;
	snprintf(c.queue, sizeof(c.queue), "general");
	ck_assert_int_eq(calls_add(t, &c, &first, NULL), CALLS_ADDED);
	again.id = 8;
	snprintf(again.queue, sizeof(again.queue), "long-hold");
	ck_assert_int_eq(calls_add(t, &again, &dup, NULL), CALLS_DUPLICATE);
	ck_assert_ptr_eq(dup, first);
	ck_assert_int_eq(dup->id, 7);
	ck_assert_str_eq(dup->queue, "general");
	ck_assert_int_eq(dup->offered_at, 100);
	ck_assert_uint_eq(calls_count(t), 1);
	ck_assert_uint_eq(calls_open_count(t), 1);
	/* A duplicate of an ended, lingering call is a duplicate too. */
	ck_assert_int_eq(calls_end(t, first, 150), 0);
	ck_assert_int_eq(calls_add(t, &again, &dup, NULL), CALLS_DUPLICATE);
	ck_assert_ptr_eq(dup, first);
	calls_free(t);
}
END_TEST

START_TEST(test_bad_input)
{
	struct calls *t = calls_new(4, 30);
	struct call c = mkcall("", 100);
	char longid[CALLS_CALL_ID_SIZE + 1];

	ck_assert_ptr_null(calls_new(0, 30));
	ck_assert_ptr_null(calls_new(4, -1));
	ck_assert_ptr_null(calls_new((size_t)CALLS_MAX_CALLS + 1, 30));
	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* A call_id filling the whole array has no NUL: rejected, never read past. */
	memset(c.call_id, 'x', sizeof(c.call_id));
	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* 128 bytes is the longest accepted. */
	c.call_id[CALLS_CALL_ID_SIZE - 1] = '\0';
	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), CALLS_ADDED);
	ck_assert_ptr_nonnull(calls_find(t, c.call_id));
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ck_assert_ptr_null(calls_find(t, longid));
	/* Unterminated other strings are cut at their last byte. */
	c = mkcall("c-2", 100);
	memset(c.agent, 'a', sizeof(c.agent));
	memset(c.queue, 'q', sizeof(c.queue));
	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), CALLS_ADDED);
	ck_assert_uint_eq(strlen(calls_find(t, "c-2")->agent), CALLS_AGENT_SIZE - 1);
	ck_assert_uint_eq(strlen(calls_find(t, "c-2")->queue), CALLS_QUEUE_SIZE - 1);
	ck_assert_uint_eq(calls_count(t), 2);
	calls_free(t);
	calls_free(NULL);
}
END_TEST

/*
 * Eviction when full: a script of adds and ends on a table of 3; each add names the result and
 * the open call it must evict.
 */
struct evict_step {
	char op; /* 'a' add, 'e' end */
	const char *call_id;
	int64_t t;           /* offered_at or ended_at */
	int result;          /* for 'a' */
	const char *evicted; /* for CALLS_ADDED_EVICTED */
	const char *gone;    /* a call that must no longer be found after the step, or NULL */
};

static const struct evict_step evict_steps[] = {
    {'a', "a", 10, CALLS_ADDED, NULL, NULL},
    {'a', "b", 20, CALLS_ADDED, NULL, NULL},
    {'a', "c", 30, CALLS_ADDED, NULL, NULL},
    {'e', "c", 35, 0, NULL, NULL},
    {'e', "b", 40, 0, NULL, NULL},
    /* Full: the ended calls go first, earliest ended first (c ended before b). */
    {'a', "d", 50, CALLS_ADDED, NULL, "c"},
    {'a', "e", 60, CALLS_ADDED, NULL, "b"},
    /* Only open calls left (a, d, e): the oldest offered is evicted and reported. */
    {'a', "f", 70, CALLS_ADDED_EVICTED, "a", "a"},
    {'a', "g", 80, CALLS_ADDED_EVICTED, "d", "d"},
    {'e', "f", 85, 0, NULL, NULL},
    {'a', "h", 90, CALLS_ADDED, NULL, "f"},
};

START_TEST(test_eviction_order)
{
	struct calls *t = calls_new(3, 1000);
	size_t k;

	for (k = 0; k < ARRAY_LEN(evict_steps); k++) {
		const struct evict_step *s = &evict_steps[k];

		if (s->op == 'a') {
			struct call c = mkcall(s->call_id, s->t), ev;

			c.id = (int64_t)k + 1;
			memset(&ev, 0, sizeof(ev));
			ck_assert_msg(calls_add(t, &c, NULL, &ev) == s->result, "step %zu", k);
			if (s->evicted != NULL) {
				ck_assert_str_eq(ev.call_id, s->evicted);
				ck_assert_int_eq(ev.ended_at, 0);
				ck_assert_int_gt(ev.id, 0);
			} else {
				ck_assert_str_eq(ev.call_id, "");
			}
		} else {
			end_ok(t, s->call_id, s->t);
		}
		if (s->gone != NULL)
			ck_assert_msg(calls_find(t, s->gone) == NULL, "step %zu", k);
		ck_assert_uint_le(calls_count(t), 3);
	}
	ck_assert_ptr_nonnull(calls_find(t, "e"));
	ck_assert_ptr_nonnull(calls_find(t, "g"));
	ck_assert_ptr_nonnull(calls_find(t, "h"));
	ck_assert_uint_eq(calls_open_count(t), 3);
	calls_free(t);
}
END_TEST

START_TEST(test_evict_without_copy)
{
	struct calls *t = calls_new(1, 10);
	struct call c = mkcall("b", 20);

	add_ok(t, "a", 10);
	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), CALLS_ADDED_EVICTED);
	ck_assert_ptr_null(calls_find(t, "a"));
	ck_assert_ptr_nonnull(calls_find(t, "b"));
	ck_assert_uint_eq(calls_count(t), 1);
	calls_free(t);
}
END_TEST

START_TEST(test_expire_closes_once)
{
	struct calls *t = calls_new(16, 60);
	struct closed cl;
	struct call *c;

	memset(&cl, 0, sizeof(cl));
	add_ok(t, "stale", 1000);
	add_ok(t, "fresh", 4000);
	add_ok(t, "done", 1000);
	end_ok(t, "done", 1100);
	ck_assert_str_eq(calls_find(t, "done")->ended_by, "");
	snprintf(calls_find(t, "done")->ended_by, CALLS_ENDED_BY_SIZE, "caller");

	/* One second before the close edge: nothing is closed; "done" lingered out long ago. */
	ck_assert_uint_eq(calls_expire(t, 4599, 3600, 100, record_cb, &cl), 1);
	ck_assert_uint_eq(cl.n, 0);
	ck_assert_ptr_null(calls_find(t, "done"));
	ck_assert_uint_eq(calls_open_count(t), 2);

	/* At offered_at + close_after_s exactly, "stale" is closed by the system. */
	ck_assert_uint_eq(calls_expire(t, 4600, 3600, 100, record_cb, &cl), 1);
	ck_assert_uint_eq(cl.n, 1);
	ck_assert_str_eq(cl.ids[0], "stale");
	ck_assert_int_eq(cl.saw_ended, 0);
	c = calls_find(t, "stale");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->ended_at, 4600);
	ck_assert_str_eq(c->ended_by, "system");
	ck_assert_uint_eq(calls_open_count(t), 1);

	/* It lingers like any ended call and is never closed a second time. */
	ck_assert_uint_eq(calls_expire(t, 4659, 3600, 100, record_cb, &cl), 0);
	ck_assert_uint_eq(cl.n, 1);
	ck_assert_ptr_nonnull(calls_find(t, "stale"));
	ck_assert_uint_eq(calls_expire(t, 4660, 3600, 100, record_cb, &cl), 1);
	ck_assert_uint_eq(cl.n, 1);
	ck_assert_ptr_null(calls_find(t, "stale"));

	/* Closing disabled: open calls stay open forever. */
	ck_assert_uint_eq(calls_expire(t, 1000000, 0, 100, record_cb, &cl), 0);
	ck_assert_ptr_nonnull(calls_find(t, "fresh"));
	ck_assert_uint_eq(cl.n, 1);
	ck_assert_uint_eq(calls_count(t), 1);
	calls_free(t);
}
END_TEST

START_TEST(test_expire_budget)
{
	static const size_t want[] = {3, 3, 3, 3, 3, 3, 2, 0};
	struct calls *t = calls_new(64, 10);
	struct closed cl;
	char id[16];
	size_t k;

	memset(&cl, 0, sizeof(cl));
	/* 10 stale open calls and 10 ended ones already past their linger. */
	for (k = 0; k < 10; k++) {
		snprintf(id, sizeof(id), "open-%zu", k);
		add_ok(t, id, 100 + (int64_t)k);
		snprintf(id, sizeof(id), "done-%zu", k);
		add_ok(t, id, 100 + (int64_t)k);
		end_ok(t, id, 200 + (int64_t)k);
	}
	/* The 10 closed at 1000 linger until 1010, so a later pass removes them. */
	for (k = 0; k < ARRAY_LEN(want); k++)
		ck_assert_uint_eq(calls_expire(t, 1000, 500, 3, record_cb, &cl), want[k]);
	ck_assert_uint_eq(cl.n, 10);
	for (k = 0; k < 10; k++) {
		snprintf(id, sizeof(id), "open-%zu", k);
		ck_assert_str_eq(cl.ids[k], id); /* closed oldest first, once each */
	}
	ck_assert_uint_eq(calls_count(t), 10);
	ck_assert_uint_eq(calls_open_count(t), 0);
	ck_assert_uint_eq(calls_expire(t, 1010, 500, 4, record_cb, &cl), 4);
	ck_assert_uint_eq(calls_expire(t, 1010, 500, 100, record_cb, &cl), 6);
	ck_assert_uint_eq(calls_count(t), 0);
	ck_assert_uint_eq(cl.n, 10);
	calls_free(t);
}
END_TEST

START_TEST(test_many_adds_bounded)
{
	enum { MAX = 10000, N = 200000 };
	struct calls *t = calls_new(MAX, 30);
	size_t k, mem = 0;
	char id[32];

	ck_assert_ptr_nonnull(t);
	for (k = 0; k < N; k++) {
		struct call c, ev;
		int r;

		snprintf(id, sizeof(id), "call-%zu", k);
		c = mkcall(id, 1000 + (int64_t)k);
		r = calls_add(t, &c, NULL, &ev);
		if (k < MAX) {
			ck_assert_int_eq(r, CALLS_ADDED);
		} else {
			ck_assert_int_eq(r, CALLS_ADDED_EVICTED);
			snprintf(id, sizeof(id), "call-%zu", k - MAX);
			ck_assert_str_eq(ev.call_id, id);
		}
		if (k == MAX - 1)
			mem = calls_memory_bytes(t);
	}
	ck_assert_uint_eq(calls_count(t), MAX);
	ck_assert_uint_eq(calls_open_count(t), MAX);
	ck_assert_uint_eq(calls_memory_bytes(t), mem);
	ck_assert_uint_ge(mem, (size_t)MAX * sizeof(struct call));
	for (k = N - MAX; k < N; k++) {
		snprintf(id, sizeof(id), "call-%zu", k);
		ck_assert_ptr_nonnull(calls_find(t, id));
	}
	snprintf(id, sizeof(id), "call-%d", N - MAX - 1);
	ck_assert_ptr_null(calls_find(t, id));
	calls_free(t);
}
END_TEST

START_TEST(test_out_of_order)
{
	static const int64_t offered[] = {100, 300, 200, 50, 300, 250};
	static const char *const want[] = {"3", "0", "2"}; /* closed at now 215, by offered_at */
	struct calls *t = calls_new(16, 5);
	struct closed cl;
	char id[8];
	size_t k;

	memset(&cl, 0, sizeof(cl));
	for (k = 0; k < ARRAY_LEN(offered); k++) {
		snprintf(id, sizeof(id), "%zu", k);
		add_ok(t, id, offered[k]);
	}
	ck_assert_uint_eq(calls_expire(t, 215, 10, 100, record_cb, &cl), ARRAY_LEN(want));
	for (k = 0; k < ARRAY_LEN(want); k++)
		ck_assert_str_eq(cl.ids[k], want[k]);
	/* Ends out of order linger by their own end times. */
	end_ok(t, "1", 400);
	end_ok(t, "5", 390);
	end_ok(t, "4", 395);
	ck_assert_uint_eq(calls_expire(t, 394, 1000, 100, NULL, NULL), 3); /* the three closed */
	ck_assert_uint_eq(calls_expire(t, 395, 1000, 100, NULL, NULL), 1);
	ck_assert_ptr_null(calls_find(t, "5"));
	ck_assert_uint_eq(calls_expire(t, 404, 1000, 100, NULL, NULL), 1);
	ck_assert_ptr_null(calls_find(t, "4"));
	ck_assert_ptr_nonnull(calls_find(t, "1"));
	ck_assert_uint_eq(calls_expire(t, 405, 1000, 100, NULL, NULL), 1);
	ck_assert_uint_eq(calls_count(t), 0);
	calls_free(t);
}
END_TEST

/* Far out of order (beyond the bounded walk back): late, never early, and closed exactly once. */
START_TEST(test_far_out_of_order)
{
	enum { N = 300, ORDER_WALK = 64 }; /* ORDER_WALK as in lib/calls.c */
	struct calls *t = calls_new(1024, 0);
	struct closed cl;
	char id[16];
	int64_t now;
	size_t k, total = 0;

	memset(&cl, 0, sizeof(cl));
	for (k = 0; k < N; k++) {
		snprintf(id, sizeof(id), "in-%zu", k);
		add_ok(t, id, 1000 + 10 * (int64_t)k);
	}
	add_ok(t, "late", 1005);  /* belongs near the head, far from the tail */
	add_ok(t, "oldest", 500); /* older than the head: placed at the head */
	for (now = 1000; now <= 1000 + 10 * N + 100; now++) {
		const struct call *late;

		total += calls_expire(t, now, 100, 1000, record_cb, &cl);
		if (now == 1000)
			ck_assert_int_eq(calls_find(t, "oldest")->ended_at,
			                 1000); /* exact: at the head */
		late = calls_find(t, "late");
		if (late != NULL && late->ended_at == 0)
			ck_assert_int_lt(now,
			                 1000 + 10 * (N - ORDER_WALK) + 100); /* late, bounded */
		else
			ck_assert_int_ge(now, 1105); /* never early */
	}
	ck_assert_uint_eq(cl.n, N + 2);
	ck_assert_uint_eq(calls_count(t), 0);
	ck_assert_uint_eq(total, 2 * (N + 2)); /* each closed once and removed once */
	calls_free(t);
}
END_TEST

START_TEST(test_reuse_after_removal)
{
	enum { MAX = 100 };
	struct calls *t = calls_new(MAX, 0);
	struct call c, *got;
	size_t mem, k;
	char id[32];

	add_ok(t, "c-1", 100);
	got = calls_find(t, "c-1");
	got->answered_at = 110;
	snprintf(got->agent, CALLS_AGENT_SIZE, "alice");
	ck_assert_int_eq(calls_report_mark(got, 3), 0);
	end_ok(t, "c-1", 120);
	ck_assert_uint_eq(calls_expire(t, 120, 3600, 10, NULL, NULL), 1);
	ck_assert_ptr_null(calls_find(t, "c-1"));
	/* The same call_id again is a new call with none of the old state. */
	c = mkcall("c-1", 200);
	ck_assert_int_eq(calls_add(t, &c, &got, NULL), CALLS_ADDED);
	ck_assert_int_eq(got->offered_at, 200);
	ck_assert_int_eq(got->answered_at, 0);
	ck_assert_str_eq(got->agent, "");
	ck_assert_uint_eq(got->reported, 0);
	ck_assert_int_eq(got->ended_at, 0);

	/* Churn through many calls: slots are reused, memory does not grow. */
	mem = calls_memory_bytes(t);
	for (k = 0; k < 50000; k++) {
		snprintf(id, sizeof(id), "churn-%zu", k);
		add_ok(t, id, 300 + (int64_t)k);
		end_ok(t, id, 300 + (int64_t)k);
		calls_expire(t, 300 + (int64_t)k, 0, 10, NULL, NULL);
		ck_assert_uint_le(calls_count(t), 2);
	}
	ck_assert_uint_eq(calls_memory_bytes(t), mem);
	ck_assert_ptr_nonnull(calls_find(t, "c-1"));
	calls_free(t);
}
END_TEST

START_TEST(test_add_ended)
{
	struct calls *t = calls_new(4, 30);
	struct call c = mkcall("c-1", 100);

	c.ended_at = 150;
	snprintf(c.ended_by, sizeof(c.ended_by), "agent");
	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), CALLS_ADDED);
	ck_assert_uint_eq(calls_open_count(t), 0);
	ck_assert_int_eq(calls_end(t, calls_find(t, "c-1"), 160), 1);
	ck_assert_uint_eq(calls_expire(t, 179, 10, 10, NULL, NULL), 0);
	ck_assert_uint_eq(calls_expire(t, 180, 10, 10, NULL, NULL), 1);
	c.ended_at = -1;
	ck_assert_int_eq(calls_add(t, &c, NULL, NULL), -1);
	calls_free(t);
}
END_TEST

struct mark_case {
	unsigned idx;
	int want;
};

START_TEST(test_report_mark)
{
	static const struct mark_case cases[] = {
	    {0, 0}, {0, 1}, {31, 0}, {31, 1}, {5, 0}, {32, -1}, {1000, -1}, {5, 1},
	};
	struct call c = mkcall("c-1", 1);
	size_t k;

	for (k = 0; k < ARRAY_LEN(cases); k++)
		ck_assert_msg(calls_report_mark(&c, cases[k].idx) == cases[k].want, "case %zu", k);
	ck_assert_uint_eq(c.reported, (1u << 0) | (1u << 5) | (1u << 31));
}
END_TEST

/* Many entries with ends and removals interleaved: every find still sees exactly the live set. */
START_TEST(test_hash_consistency)
{
	enum { N = 20000 };
	struct calls *t = calls_new(N, 0);
	char id[32];
	size_t k;

	for (k = 0; k < N; k++) {
		snprintf(id, sizeof(id), "%zx@pbx", k * 2654435761u);
		add_ok(t, id, 1);
		if (k % 3 == 0)
			end_ok(t, id, 2);
	}
	ck_assert_uint_eq(calls_count(t), N);
	ck_assert_uint_eq(calls_expire(t, 2, 0, N, NULL, NULL), (N + 2) / 3);
	for (k = 0; k < N; k++) {
		snprintf(id, sizeof(id), "%zx@pbx", k * 2654435761u);
		ck_assert_msg((calls_find(t, id) != NULL) == (k % 3 != 0), "%s", id);
	}
	ck_assert_uint_eq(calls_count(t), N - (N + 2) / 3);
	ck_assert_uint_eq(calls_open_count(t), N - (N + 2) / 3);
	calls_free(t);
}
END_TEST

static Suite *
calls_suite(void)
{
	Suite *s = suite_create("calls");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_add_find_fields);
	tcase_add_loop_test(tc, test_linger_edge, 0, (int)ARRAY_LEN(linger_cases));
	tcase_add_test(tc, test_end_idempotent);
	tcase_add_test(tc, test_duplicate_add);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_eviction_order);
	tcase_add_test(tc, test_evict_without_copy);
	tcase_add_test(tc, test_expire_closes_once);
	tcase_add_test(tc, test_expire_budget);
	tcase_add_test(tc, test_many_adds_bounded);
	tcase_add_test(tc, test_talk_s);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_far_out_of_order);
	tcase_add_test(tc, test_reuse_after_removal);
	tcase_add_test(tc, test_add_ended);
	tcase_add_test(tc, test_report_mark);
	tcase_add_test(tc, test_hash_consistency);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(calls_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
