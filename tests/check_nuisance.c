/* Unit tests for the nuisance counters: windows, patterns, ordering, LRU budget and reload. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nuisance.h"

#define TS 1795392000 /* 2026-11-23 00:00:00 UTC */

/* Fired patterns as a bit mask. */
#define R 1u /* repeat */
#define S 2u /* short */
#define D 4u /* redial */

#define CFG(n, w, k, smax, sw, g, max)                                                             \
	{                                                                                          \
		.repeat_calls = (n), .repeat_window_s = (w), .short_calls = (k),                   \
		.short_max_s = (smax), .short_window_s = (sw), .redial_gap_s = (g),                \
		.max_tracked = (max)                                                               \
	}

enum op { OP_DONE = 0, OP_OFFER, OP_END, OP_PEEK };

struct step {
	enum op op;
	const char *key;
	int64_t ts;
	int shortf; /* OP_END */
	int ret;    /* OP_PEEK: 1 tracked, 0 not */
	int repeat; /* OP_OFFER, OP_PEEK: the expected view */
	int shorts;
	int64_t since;
	unsigned fired;
	size_t tracked; /* checked after the step when not 0 */
};

/* A call offered at t: the view it must see. */
#define OFFER(k, t, rep, sh, sn, f)                                                                \
	{                                                                                          \
		.op = OP_OFFER, .key = (k), .ts = (t), .repeat = (rep), .shorts = (sh),            \
		.since = (sn), .fired = (f)                                                        \
	}
#define END(k, t, s)                                                                               \
	{                                                                                          \
		.op = OP_END, .key = (k), .ts = (t), .shortf = (s)                                 \
	}
#define PEEK(k, t, r, rep, sh, sn, f)                                                              \
	{                                                                                          \
		.op = OP_PEEK, .key = (k), .ts = (t), .ret = (r), .repeat = (rep), .shorts = (sh), \
		.since = (sn), .fired = (f)                                                        \
	}
#define TRACKED(n)                                                                                 \
	{                                                                                          \
		.op = OP_PEEK, .key = "+10000000000", .ts = TS, .since = -1, .tracked = (n)        \
	}

#define A "+15551230001"
#define B "+15551230002"
#define C "+15551230003"
#define E "+15551230004"
#define F "+15551230005"
#define G "+15551230006"

struct script {
	const char *what;
	struct nuisance_cfg cfg;
	struct step steps[40];
};

/* clang-format off */
static const struct script scripts[] = {
    {
	.what = "the sixth call in ten minutes fires, the fifth does not",
	.cfg = CFG(5, 600, 0, 0, 0, 0, 100),
	.steps = {
	    OFFER(A, TS, 0, 0, -1, 0),
	    OFFER(A, TS + 60, 1, 0, -1, 0),
	    OFFER(A, TS + 120, 2, 0, -1, 0),
	    OFFER(A, TS + 180, 3, 0, -1, 0),
	    OFFER(A, TS + 240, 4, 0, -1, 0),
	    OFFER(A, TS + 300, 5, 0, -1, R),
	    OFFER(A, TS + 599, 6, 0, -1, R),
	    /* TS itself is now exactly 600 s back: out. */
	    OFFER(A, TS + 600, 6, 0, -1, R),
	},
    },
    {
	.what = "calls spread over more than W never fire",
	.cfg = CFG(5, 600, 0, 0, 0, 0, 100),
	.steps = {
	    OFFER(A, TS, 0, 0, -1, 0),
	    OFFER(A, TS + 121, 1, 0, -1, 0),
	    OFFER(A, TS + 242, 2, 0, -1, 0),
	    OFFER(A, TS + 363, 3, 0, -1, 0),
	    OFFER(A, TS + 484, 4, 0, -1, 0),
	    OFFER(A, TS + 605, 4, 0, -1, 0),
	    OFFER(A, TS + 726, 4, 0, -1, 0),
	    OFFER(A, TS + 847, 4, 0, -1, 0),
	    OFFER(A, TS + 968, 4, 0, -1, 0),
	},
    },
    {
	.what = "a call exactly W seconds earlier is outside the window",
	.cfg = CFG(1, 600, 0, 0, 0, 0, 100),
	.steps = {
	    OFFER(A, TS, 0, 0, -1, 0),
	    OFFER(A, TS + 600, 0, 0, -1, 0),
	    OFFER(A, TS + 1199, 1, 0, -1, R),
	    OFFER(B, TS, 0, 0, -1, 0),
	    OFFER(B, TS, 1, 0, -1, R), /* same second: inside (ts - W, ts] */
	},
    },
    {
	.what = "short calls ended by the caller or abandoned count within their window",
	.cfg = CFG(0, 0, 3, 10, 3600, 0, 100),
	.steps = {
	    END(A, TS, 1),
	    END(A, TS + 100, 1),
	    END(A, TS + 200, 0), /* ended by the agent */
	    OFFER(A, TS + 300, 0, 2, 100, 0),
	    END(A, TS + 400, 1),
	    OFFER(A, TS + 500, 0, 3, 100, S),
	    /* TS is exactly 3600 s back: out. */
	    OFFER(A, TS + 3600, 0, 2, 3200, 0),
	    OFFER(A, TS + 3599, 0, 3, 3199, S),
	    END(B, TS, 0),
	    END(B, TS + 1, 0),
	    END(B, TS + 2, 0),
	    OFFER(B, TS + 3, 0, 0, 1, 0),
	},
    },
    {
	.what = "rapid redial fires below the gap, not at it",
	.cfg = CFG(0, 0, 0, 0, 0, 30, 100),
	.steps = {
	    OFFER(A, TS - 100, 0, 0, -1, 0), /* never ended: no redial */
	    END(A, TS, 0),
	    OFFER(A, TS + 29, 0, 0, 29, D),
	    OFFER(A, TS + 30, 0, 0, 30, 0),
	    OFFER(A, TS - 1, 0, 0, -1, 0), /* before the only end */
	    END(B, TS, 0),
	    OFFER(B, TS, 0, 0, 0, D),
	},
    },
    {
	.what = "out-of-order offers count by time, not by arrival",
	.cfg = CFG(3, 600, 0, 0, 0, 0, 100),
	.steps = {
	    OFFER(A, TS + 1000, 0, 0, -1, 0),
	    OFFER(A, TS + 1300, 1, 0, -1, 0),
	    OFFER(A, TS + 1100, 1, 0, -1, 0), /* 1300 is after it */
	    OFFER(A, TS + 1200, 2, 0, -1, 0),
	    OFFER(A, TS + 1350, 4, 0, -1, R),
	    OFFER(A, TS + 1350, 5, 0, -1, R),
	    OFFER(A, TS + 1650, 5, 0, -1, R), /* 1000 is out */
	    OFFER(A, TS + 1000, 1, 0, -1, 0), /* late: only the first 1000 */
	},
    },
    {
	.what = "out-of-order ends: the latest end at or before the call",
	.cfg = CFG(0, 0, 2, 10, 600, 60, 100),
	.steps = {
	    END(A, TS + 500, 1),
	    END(A, TS + 2000, 1),
	    OFFER(A, TS + 1000, 0, 1, 500, 0),
	    OFFER(A, TS + 2010, 0, 1, 10, D),
	    END(A, TS + 1990, 1), /* arrives late */
	    OFFER(A, TS + 2020, 0, 2, 20, S | D),
	    OFFER(A, TS + 1995, 0, 1, 5, D),
	},
    },
    {
	.what = "withheld callers are counted per dialled number",
	.cfg = CFG(2, 600, 0, 0, 0, 0, 100),
	.steps = {
	    OFFER("w:+15550001", TS, 0, 0, -1, 0),
	    OFFER("w:+15550002", TS + 1, 0, 0, -1, 0),
	    OFFER("w:+15550001", TS + 2, 1, 0, -1, 0),
	    OFFER("w:+15550002", TS + 3, 1, 0, -1, 0),
	    OFFER("w:+15550001", TS + 4, 2, 0, -1, R),
	    OFFER("+15550001", TS + 5, 0, 0, -1, 0),
	    TRACKED(3),
	},
    },
    {
	.what = "peek does not record",
	.cfg = CFG(1, 600, 0, 0, 0, 0, 100),
	.steps = {
	    OFFER(A, TS, 0, 0, -1, 0),
	    PEEK(A, TS + 10, 1, 1, 0, -1, R),
	    PEEK(A, TS + 10, 1, 1, 0, -1, R),
	    OFFER(A, TS + 10, 1, 0, -1, R),
	    PEEK(A, TS + 20, 1, 2, 0, -1, R),
	    PEEK(B, TS + 20, 0, 0, 0, -1, 0),
	    OFFER(B, TS + 20, 0, 0, -1, 0),
	    TRACKED(2),
	},
    },
    {
	.what = "the least recently used key is evicted; touching a key keeps it",
	.cfg = CFG(1, 600, 0, 0, 0, 60, 3),
	.steps = {
	    OFFER(A, TS, 0, 0, -1, 0),
	    OFFER(B, TS + 1, 0, 0, -1, 0),
	    OFFER(C, TS + 2, 0, 0, -1, 0),
	    OFFER(A, TS + 3, 1, 0, -1, R), /* order now A C B */
	    OFFER(E, TS + 4, 0, 0, -1, 0), /* evicts B */
	    PEEK(B, TS + 5, 0, 0, 0, -1, 0),
	    PEEK(A, TS + 5, 1, 2, 0, -1, R),
	    PEEK(C, TS + 5, 1, 1, 0, -1, R),
	    PEEK(E, TS + 5, 1, 1, 0, -1, R),
	    END(C, TS + 6, 0),             /* an end touches too: C E A */
	    OFFER(F, TS + 7, 0, 0, -1, 0), /* evicts A */
	    PEEK(A, TS + 8, 0, 0, 0, -1, 0),
	    PEEK(C, TS + 8, 1, 1, 0, 2, R | D),
	    PEEK(E, TS + 8, 1, 1, 0, -1, R), /* peek does not touch: E stays the oldest */
	    OFFER(G, TS + 9, 0, 0, -1, 0),   /* evicts E */
	    PEEK(E, TS + 10, 0, 0, 0, -1, 0),
	    OFFER(B, TS + 11, 0, 0, -1, 0), /* B came back with no history; evicts C */
	    PEEK(C, TS + 12, 0, 0, 0, -1, 0),
	    END(C, TS + 12, 1), /* an end for an unknown key creates it; evicts F */
	    PEEK(F, TS + 12, 0, 0, 0, -1, 0),
	    PEEK(C, TS + 13, 1, 0, 0, 1, D),
	    TRACKED(3),
	},
    },
    {
	.what = "disabled patterns never fire",
	.cfg = CFG(0, 600, 0, 10, 600, 0, 100),
	.steps = {
	    OFFER(A, TS, 0, 0, -1, 0),
	    END(A, TS + 1, 1),
	    OFFER(A, TS + 2, 1, 1, 1, 0),
	    END(A, TS + 3, 1),
	    OFFER(A, TS + 4, 2, 2, 1, 0),
	    END(A, TS + 5, 1),
	    OFFER(A, TS + 6, 3, 3, 1, 0),
	    OFFER(A, TS + 6, 4, 3, 1, 0),
	},
    },
    {
	.what = "a zero window disables its pattern even with a count set",
	.cfg = CFG(1, 0, 1, 10, 0, 0, 100),
	.steps = {
	    OFFER(A, TS, 0, 0, -1, 0),
	    END(A, TS, 1),
	    OFFER(A, TS, 0, 0, 0, 0),
	},
    },
    {
	.what = "a zero short_max_s disables short calls",
	.cfg = CFG(0, 0, 1, 0, 600, 0, 100),
	.steps = {
	    END(A, TS, 1),
	    OFFER(A, TS + 1, 0, 1, 1, 0),
	},
    },
};
/* clang-format on */

START_TEST(test_script)
{
	const struct script *sc = &scripts[_i];
	struct nuisance *n = nuisance_new(&sc->cfg);
	struct nuisance_view v;

	ck_assert_ptr_nonnull(n);
	for (size_t i = 0; i < sizeof(sc->steps) / sizeof(sc->steps[0]); i++) {
		const struct step *st = &sc->steps[i];
		int rc;

		if (st->op == OP_DONE)
			break;
		switch (st->op) {
		case OP_OFFER:
			rc = nuisance_offered(n, st->key, st->ts, &v);
			ck_assert_msg(rc == 0, "%s: step %zu: offered failed", sc->what, i);
			break;
		case OP_END:
			rc = nuisance_ended(n, st->key, st->ts, 0, st->shortf);
			ck_assert_msg(rc == 0, "%s: step %zu: ended failed", sc->what, i);
			continue;
		case OP_PEEK:
			rc = nuisance_peek(n, st->key, st->ts, &v);
			if (st->tracked == 0)
				ck_assert_msg(rc == st->ret, "%s: step %zu: peek returned %d",
				              sc->what, i, rc);
			break;
		default:
			ck_abort();
		}
		if (st->tracked != 0) {
			ck_assert_msg(nuisance_tracked(n) == st->tracked,
			              "%s: step %zu: tracked %zu, want %zu", sc->what, i,
			              nuisance_tracked(n), st->tracked);
			continue;
		}
		unsigned fired =
		    (v.repeat_fired ? R : 0) | (v.short_fired ? S : 0) | (v.redial_fired ? D : 0);
		ck_assert_msg(
		    v.repeat == st->repeat && v.shorts == st->shorts &&
		        v.since_last_end == st->since && fired == st->fired && !v.inexact,
		    "%s: step %zu: got repeat %d shorts %d since %lld fired %u inexact %d, "
		    "want %d %d %lld %u 0",
		    sc->what, i, v.repeat, v.shorts, (long long)v.since_last_end, fired, v.inexact,
		    st->repeat, st->shorts, (long long)st->since, st->fired);
	}
	nuisance_free(n);
}
END_TEST

static const struct {
	const char *what;
	int by_caller, abandoned;
	int64_t talk, smax;
	int want;
} short_cases[] = {
    {"caller hung up under S", 1, 0, 9, 10, 1},
    {"caller hung up at S", 1, 0, 10, 10, 0},
    {"caller hung up at once", 1, 0, 0, 10, 1},
    {"agent ended a short call", 0, 0, 3, 10, 0},
    {"abandoned in queue", 0, 1, 0, 10, 1},
    {"abandoned counts whatever the talk time", 1, 1, 100, 10, 1},
    {"S of 0 disables even abandoned", 1, 1, 0, 0, 0},
};

START_TEST(test_is_short)
{
	struct nuisance_cfg cfg = CFG(0, 0, 3, short_cases[_i].smax, 600, 0, 10);

	ck_assert_msg(nuisance_is_short(&cfg, short_cases[_i].by_caller, short_cases[_i].abandoned,
	                                short_cases[_i].talk) == short_cases[_i].want,
	              "%s", short_cases[_i].what);
}
END_TEST

static const struct {
	struct nuisance_cfg cfg;
	int ok;
} cfg_cases[] = {
    {CFG(5, 600, 3, 10, 3600, 30, 1000), 1},
    {CFG(0, 0, 0, 0, 0, 0, 1), 1},
    {CFG(16, 1, 16, 1, 1, 1, NUISANCE_TRACKED_MAX), 1},
    {CFG(17, 600, 0, 0, 0, 0, 10), 0},
    {CFG(-1, 600, 0, 0, 0, 0, 10), 0},
    {CFG(0, 0, 17, 10, 600, 0, 10), 0},
    {CFG(5, -1, 0, 0, 0, 0, 10), 0},
    {CFG(0, 0, 3, -10, 600, 0, 10), 0},
    {CFG(0, 0, 3, 10, -600, 0, 10), 0},
    {CFG(0, 0, 0, 0, 0, -30, 10), 0},
    {CFG(5, 600, 0, 0, 0, 0, 0), 0},
    {CFG(5, 600, 0, 0, 0, 0, (size_t)NUISANCE_TRACKED_MAX + 1), 0},
};

START_TEST(test_cfg_check)
{
	const char *why = nuisance_cfg_check(&cfg_cases[_i].cfg);
	struct nuisance *n = nuisance_new(&cfg_cases[_i].cfg);

	if (cfg_cases[_i].ok) {
		ck_assert_ptr_null(why);
		ck_assert_ptr_nonnull(n);
	} else {
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_null(n);
		ck_assert_int_eq(errno, EINVAL);
	}
	nuisance_free(n);
}
END_TEST

static const struct {
	const char *caller, *dialed;
	int rc;
	const char *want;
} key_cases[] = {
    {"+15551234567", "+15550001", 0, "+15551234567"},
    {NULL, "+15550001", 0, "w:+15550001"},
    {NULL, NULL, 0, "w:"},
    {"+123456789012345678901234567890123456789012345", NULL, 0,
     "+123456789012345678901234567890123456789012345"}, /* 46 bytes */
    {"+1234567890123456789012345678901234567890123456", NULL, 0,
     "+1234567890123456789012345678901234567890123456"},                /* 47 bytes: the longest */
    {"+12345678901234567890123456789012345678901234567", NULL, -1, ""}, /* 48 bytes */
    {NULL, "+12345678901234567890123456789012345678901234", 0,
     "w:+12345678901234567890123456789012345678901234"},              /* 47 bytes */
    {NULL, "+123456789012345678901234567890123456789012345", -1, ""}, /* 48 bytes */
};

START_TEST(test_key)
{
	char out[NUISANCE_KEY_MAX];

	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(nuisance_key(out, key_cases[_i].caller, key_cases[_i].dialed),
	                 key_cases[_i].rc);
	ck_assert_str_eq(out, key_cases[_i].want);
}
END_TEST

START_TEST(test_bad_keys)
{
	struct nuisance_cfg cfg = CFG(1, 600, 1, 10, 600, 30, 10);
	struct nuisance *n = nuisance_new(&cfg);
	char longest[NUISANCE_KEY_MAX], too_long[NUISANCE_KEY_MAX + 1];
	const char *bad[] = {NULL, "", too_long};
	struct nuisance_view v;

	memset(longest, '7', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, '7', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(nuisance_offered(n, bad[i], TS, &v), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(v.repeat, 0);
		ck_assert_int_eq(v.since_last_end, -1);
		ck_assert_int_eq(nuisance_ended(n, bad[i], TS, 1, 1), -1);
		ck_assert_int_eq(nuisance_peek(n, bad[i], TS, &v), -1);
	}
	ck_assert_uint_eq(nuisance_tracked(n), 0);
	/* The longest key is kept whole and distinct from its truncations. */
	ck_assert_int_eq(nuisance_offered(n, longest, TS, NULL), 0);
	ck_assert_int_eq(nuisance_offered(n, longest, TS + 1, &v), 0);
	ck_assert_int_eq(v.repeat, 1);
	longest[sizeof(longest) - 2] = '\0';
	ck_assert_int_eq(nuisance_peek(n, longest, TS + 1, &v), 0);
	ck_assert_uint_eq(nuisance_tracked(n), 1);
	nuisance_free(n);
	nuisance_free(NULL);
}
END_TEST

static void
key_of(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "+1%010u", i);
}

START_TEST(test_budget_distinct_flood)
{
	struct nuisance_cfg cfg = CFG(5, 600, 3, 10, 3600, 30, 1000);
	struct nuisance *n = nuisance_new(&cfg);
	const size_t bound = 1000 * (nuisance_key_bytes() + 8) + 4096;
	size_t mem_full = 0;
	char key[NUISANCE_KEY_MAX];
	struct nuisance_view v;

	ck_assert_ptr_nonnull(n);
	ck_assert_uint_lt(nuisance_memory_bytes(n), 64 * (nuisance_key_bytes() + 8) + 4096);
	for (unsigned i = 0; i < 100000; i++) {
		key_of(key, sizeof(key), i);
		ck_assert_int_eq(nuisance_offered(n, key, TS + i / 100, &v), 0);
		ck_assert_int_eq(v.repeat, 0);
		if (i % 3 == 0)
			ck_assert_int_eq(nuisance_ended(n, key, TS + i / 100 + 5, 5, 1), 0);
		ck_assert_uint_le(nuisance_tracked(n), 1000);
		if (i == 999)
			mem_full = nuisance_memory_bytes(n);
	}
	ck_assert_uint_eq(nuisance_tracked(n), 1000);
	ck_assert_uint_eq(nuisance_memory_bytes(n), mem_full);
	ck_assert_uint_le(nuisance_memory_bytes(n), bound);
	/* The newest thousand are the ones kept, with their history. */
	key_of(key, sizeof(key), 99000);
	ck_assert_int_eq(nuisance_peek(n, key, TS + 995, &v), 1);
	ck_assert_int_eq(v.repeat, 1);
	ck_assert_int_eq(v.shorts, 1);
	ck_assert_int_eq(v.since_last_end, 0);
	key_of(key, sizeof(key), 98999);
	ck_assert_int_eq(nuisance_peek(n, key, TS + 995, &v), 0);
	key_of(key, sizeof(key), 0);
	ck_assert_int_eq(nuisance_peek(n, key, TS + 995, &v), 0);
	nuisance_free(n);
}
END_TEST

START_TEST(test_one_number_flood)
{
	struct nuisance_cfg cfg = CFG(5, 600, 3, 10, 3600, 30, 1000);
	struct nuisance *n = nuisance_new(&cfg);
	size_t mem = nuisance_memory_bytes(n);
	struct nuisance_view v;

	for (int i = 0; i < 100000; i++) {
		ck_assert_int_eq(nuisance_offered(n, A, TS + i, &v), 0);
		ck_assert_int_eq(nuisance_ended(n, A, TS + i, 0, 1), 0);
		ck_assert_int_eq(v.inexact, 0);
	}
	ck_assert_uint_eq(nuisance_tracked(n), 1);
	ck_assert_uint_eq(nuisance_memory_bytes(n), mem);
	ck_assert_int_eq(v.repeat, NUISANCE_RING_MAX); /* saturated */
	ck_assert_int_eq(v.shorts, NUISANCE_RING_MAX);
	ck_assert_int_eq(v.since_last_end, 1);
	ck_assert(v.repeat_fired && v.short_fired && v.redial_fired);
	nuisance_free(n);
}
END_TEST

/* Events older than a full ring of later ones are flagged, in-order ones never are. */
START_TEST(test_inexact)
{
	struct nuisance_cfg cfg = CFG(16, 600, 0, 0, 0, 60, 10);
	struct nuisance *n = nuisance_new(&cfg);
	struct nuisance_view v;

	for (int i = 0; i < 17; i++)
		ck_assert_int_eq(nuisance_offered(n, A, TS + 100 + i, NULL), 0);
	ck_assert_int_eq(nuisance_peek(n, A, TS + 200, &v), 1);
	ck_assert_int_eq(v.repeat, 16);
	ck_assert(v.repeat_fired && !v.inexact);
	ck_assert_int_eq(nuisance_peek(n, A, TS + 100, &v), 1);
	ck_assert_int_eq(v.repeat, 0); /* the call at TS + 100 was dropped */
	ck_assert_int_eq(v.inexact, 1);
	ck_assert_int_eq(nuisance_peek(n, A, TS + 99, &v), 1);
	ck_assert_int_eq(v.inexact, 1); /* a dropped call might lie after ts - W */
	ck_assert_int_eq(nuisance_peek(n, A, TS - 600, &v), 1);
	ck_assert_int_eq(v.inexact, 1);

	/* Five ends in a ring of four: the dropped one still answers when it is the latest. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(nuisance_ended(n, B, TS + 100 + i, 0, 0), 0);
	ck_assert_int_eq(nuisance_peek(n, B, TS + 100, &v), 1);
	ck_assert_int_eq(v.since_last_end, 0);
	ck_assert_int_eq(v.inexact, 0);
	ck_assert_int_eq(nuisance_peek(n, B, TS + 110, &v), 1);
	ck_assert_int_eq(v.since_last_end, 6);
	ck_assert_int_eq(v.inexact, 0);
	ck_assert_int_eq(nuisance_peek(n, B, TS + 50, &v), 1);
	ck_assert_int_eq(v.since_last_end, -1);
	ck_assert_int_eq(v.inexact, 1);
	nuisance_free(n);
}
END_TEST

START_TEST(test_reconfigure)
{
	struct nuisance_cfg cfg = CFG(5, 600, 0, 0, 0, 0, 100);
	struct nuisance_cfg three = CFG(3, 600, 0, 0, 0, 0, 100);
	struct nuisance_cfg off = CFG(0, 600, 0, 0, 0, 0, 100);
	struct nuisance_cfg small = CFG(3, 600, 0, 0, 0, 0, 2);
	struct nuisance_cfg bad = CFG(17, 600, 0, 0, 0, 0, 100);
	struct nuisance *n = nuisance_new(&cfg);
	const char *keys[] = {A, B, C, E};
	struct nuisance_view v;
	size_t mem;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(nuisance_offered(n, A, TS + i, NULL), 0);
	ck_assert_int_eq(nuisance_peek(n, A, TS + 10, &v), 1);
	ck_assert(v.repeat == 4 && !v.repeat_fired);

	ck_assert_int_eq(nuisance_reconfigure(n, &three), 0);
	ck_assert_int_eq(nuisance_peek(n, A, TS + 10, &v), 1);
	ck_assert(v.repeat == 4 && v.repeat_fired);
	ck_assert_int_eq(nuisance_get_cfg(n)->repeat_calls, 3);

	ck_assert_int_eq(nuisance_reconfigure(n, &off), 0);
	ck_assert_int_eq(nuisance_peek(n, A, TS + 10, &v), 1);
	ck_assert(v.repeat == 4 && !v.repeat_fired);

	errno = 0;
	ck_assert_int_eq(nuisance_reconfigure(n, &bad), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nuisance_get_cfg(n)->repeat_calls, 0);

	/* A smaller budget keeps the most recently used keys with their history. */
	for (int k = 1; k < 4; k++)
		ck_assert_int_eq(nuisance_offered(n, keys[k], TS + 20 + k, NULL), 0);
	ck_assert_int_eq(nuisance_offered(n, C, TS + 30, NULL), 0); /* order: C E B A */
	ck_assert_uint_eq(nuisance_tracked(n), 4);
	mem = nuisance_memory_bytes(n);
	ck_assert_int_eq(nuisance_reconfigure(n, &small), 0);
	ck_assert_uint_eq(nuisance_tracked(n), 2);
	ck_assert_uint_lt(nuisance_memory_bytes(n), mem);
	ck_assert_int_eq(nuisance_peek(n, A, TS + 31, &v), 0);
	ck_assert_int_eq(nuisance_peek(n, B, TS + 31, &v), 0);
	ck_assert_int_eq(nuisance_peek(n, E, TS + 31, &v), 1);
	ck_assert_int_eq(v.repeat, 1);
	ck_assert_int_eq(nuisance_peek(n, C, TS + 31, &v), 1);
	ck_assert(v.repeat == 2 && !v.repeat_fired);
	ck_assert_int_eq(nuisance_offered(n, C, TS + 32, &v), 0);
	ck_assert(v.repeat == 2 && !v.repeat_fired);
	ck_assert_int_eq(nuisance_offered(n, C, TS + 33, &v), 0);
	ck_assert(v.repeat == 3 && v.repeat_fired);
	/* The LRU order survived the compaction: E is the oldest and goes first. */
	ck_assert_int_eq(nuisance_offered(n, A, TS + 34, NULL), 0);
	ck_assert_int_eq(nuisance_peek(n, E, TS + 34, &v), 0);
	ck_assert_int_eq(nuisance_peek(n, C, TS + 34, &v), 1);
	ck_assert_uint_eq(nuisance_tracked(n), 2);

	/* Growing the budget again lets it hold more. */
	ck_assert_int_eq(nuisance_reconfigure(n, &three), 0);
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(nuisance_offered(n, keys[k], TS + 40, NULL), 0);
	ck_assert_uint_eq(nuisance_tracked(n), 4);
	ck_assert_int_eq(nuisance_peek(n, C, TS + 40, &v), 1);
	ck_assert_int_eq(v.repeat, 5); /* TS + 22, 30, 32, 33, 40 */
	nuisance_free(n);
}
END_TEST

/* Budgets that straddle the initial slot count and growth steps stay exact. */
START_TEST(test_growth)
{
	static const size_t budgets[] = {1, 2, 63, 64, 65, 200, 5000};
	char key[NUISANCE_KEY_MAX];
	struct nuisance_view v;

	for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
		struct nuisance_cfg cfg = CFG(1, 600, 0, 0, 0, 0, budgets[b]);
		struct nuisance *n = nuisance_new(&cfg);
		unsigned total = (unsigned)budgets[b] * 3;

		for (unsigned i = 0; i < total; i++) {
			key_of(key, sizeof(key), i);
			ck_assert_int_eq(nuisance_offered(n, key, TS, NULL), 0);
		}
		ck_assert_uint_eq(nuisance_tracked(n), budgets[b]);
		ck_assert_uint_le(nuisance_memory_bytes(n),
		                  budgets[b] * (nuisance_key_bytes() + 8) + 4096);
		for (unsigned i = 0; i < total; i++) {
			key_of(key, sizeof(key), i);
			ck_assert_int_eq(nuisance_peek(n, key, TS + 1, &v),
			                 i >= total - budgets[b]);
		}
		nuisance_free(n);
	}
}
END_TEST

static Suite *
nuisance_suite(void)
{
	Suite *s = suite_create("nuisance");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_script, 0, sizeof(scripts) / sizeof(scripts[0]));
	tcase_add_loop_test(tc, test_is_short, 0, sizeof(short_cases) / sizeof(short_cases[0]));
	tcase_add_loop_test(tc, test_cfg_check, 0, sizeof(cfg_cases) / sizeof(cfg_cases[0]));
	tcase_add_loop_test(tc, test_key, 0, sizeof(key_cases) / sizeof(key_cases[0]));
	tcase_add_test(tc, test_bad_keys);
	tcase_add_test(tc, test_budget_distinct_flood);
	tcase_add_test(tc, test_one_number_flood);
	tcase_add_test(tc, test_inexact);
	tcase_add_test(tc, test_reconfigure);
	tcase_add_test(tc, test_growth);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nuisance_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
