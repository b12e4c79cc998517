/*
 * cwbench prefill: creates the database with the project's own migrations (store_open), then
 * bulk-loads flagged bench callers straight through SQLite in one unjournalled transaction.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwbench.h"
#include "store.h"

#define PREFILL_DAY 86400LL

/* The code mix of bench flags, by share of all flags. */
static const struct prefill_code {
	const char *code;
	double share;
	const char *reason;
} prefill_codes[] = {
    {"orange", 0.60, "rude and shouting at the agent"},
    {"nuisance", 0.20, "silent calls, hangs up when answered"},
    {"yellow", 0.15, "verbal abuse towards the agent"},
    {"red", 0.05, "threatened the agent"},
};
#define PREFILL_NCODES (sizeof(prefill_codes) / sizeof(prefill_codes[0]))

struct prefill_stats {
	long long flags;
	long long multi; /* callers with more than one flag */
	long long by_code[PREFILL_NCODES];
};

static int
prefill_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "cwbench: %s: %s\n", sql, err != NULL ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Runs a one-row query and copies its first column as text into out. */
static int
prefill_query_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st;
	const unsigned char *v;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "cwbench: %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		fprintf(stderr, "cwbench: %s: %s\n", sql, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	v = sqlite3_column_text(st, 0);
	snprintf(out, len, "%s", v != NULL ? (const char *)v : "");
	sqlite3_finalize(st);
	return 0;
}

static unsigned
prefill_pick_code(uint64_t *rng)
{
	double u = cwbench_rand_unit(rng), acc = 0;
	unsigned i;

	for (i = 0; i < PREFILL_NCODES - 1; i++) {
		acc += prefill_codes[i].share;
		if (u < acc)
			return i;
	}
	return PREFILL_NCODES - 1;
}

/* 85% of callers have one flag, 10% two, 5% three. */
static int
prefill_pick_nflags(uint64_t *rng)
{
	double u = cwbench_rand_unit(rng);

	return u < 0.85 ? 1 : u < 0.95 ? 2 : 3;
}

static int
prefill_insert(sqlite3 *db, long long callers, uint64_t seed, struct prefill_stats *ps)
{
	static const char sql[] = "INSERT INTO flags (caller, code, reason, created_by, source, "
	                          "created_at, expires_at) VALUES (?, ?, ?, ?, 'supervisor', ?, ?)";
	sqlite3_stmt *st;
	uint64_t rng = seed;
	int64_t now = (int64_t)time(NULL);
	char caller[32], by[32];
	long long i;
	int j, n, rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "cwbench: preparing the insert: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	for (i = 0; i < callers; i++) {
		snprintf(caller, sizeof(caller), "+1%010lld", CWBENCH_FLAGGED_BASE + i);
		n = prefill_pick_nflags(&rng);
		if (n > 1)
			ps->multi++;
		for (j = 0; j < n; j++) {
			unsigned c = prefill_pick_code(&rng);
			int64_t created = now - (int64_t)(cwbench_rand(&rng) % (365 * PREFILL_DAY));
			int64_t expires =
			    now + PREFILL_DAY + (int64_t)(cwbench_rand(&rng) % (365 * PREFILL_DAY));

			snprintf(by, sizeof(by), "sup-%u", (unsigned)(cwbench_rand(&rng) % 50));
			sqlite3_bind_text(st, 1, caller, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, prefill_codes[c].code, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, prefill_codes[c].reason, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, by, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, created);
			/* Half the red flags never expire, as supervisors tend to set them. */
			if (strcmp(prefill_codes[c].code, "red") == 0 && (cwbench_rand(&rng) & 1))
				sqlite3_bind_null(st, 6);
			else
				sqlite3_bind_int64(st, 6, expires);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			if (rc != SQLITE_DONE) {
				fprintf(stderr, "cwbench: inserting a flag for %s: %s\n", caller,
				        sqlite3_errmsg(db));
				sqlite3_finalize(st);
				return -1;
			}
			ps->flags++;
			ps->by_code[c]++;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static void
prefill_usage(void)
{
	fprintf(stderr, "usage: cwbench prefill --db PATH [--callers N] [--seed S]\n");
}

int
prefill_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"callers", required_argument, NULL, 'n'},
	    {"seed", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct prefill_stats ps;
	struct store *store;
	sqlite3 *db = NULL;
	const char *path = NULL;
	char *cause = NULL, text[64];
	long long callers = 1000000, seed = 1, existing;
	uint64_t t0, t1;
	double secs;
	unsigned i;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			path = optarg;
			break;
		case 'n':
			if (cwbench_parse_ll("--callers", optarg, 1, CWBENCH_MAX_CALLERS,
			                     &callers) != 0)
				return 2;
			break;
		case 's':
			if (cwbench_parse_ll("--seed", optarg, 0, INT64_MAX, &seed) != 0)
				return 2;
			break;
		case 'h':
			prefill_usage();
			return 0;
		default:
			prefill_usage();
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		prefill_usage();
		return 2;
	}

	/* The daemon's own code creates and migrates the schema. */
	store = store_open(path, STORE_WRITER, 1000, &cause);
	if (store == NULL) {
		fprintf(stderr, "cwbench: %s: %s\n", path, cause != NULL ? cause : "cannot open");
		free(cause);
		return 1;
	}
	store_close(store);

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "cwbench: %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	sqlite3_busy_timeout(db, 1000);
	if (prefill_query_text(db, "SELECT count(*) FROM flags", text, sizeof(text)) != 0)
		goto fail;
	existing = atoll(text);
	if (existing != 0) {
		fprintf(stderr, "cwbench: %s already holds %lld flags; prefill a fresh database\n",
		        path, existing);
		goto fail;
	}

	/* A bench database can be rebuilt, so the bulk load skips the journal and fsync. */
	if (prefill_query_text(db, "PRAGMA journal_mode=OFF", text, sizeof(text)) != 0 ||
	    prefill_exec(db, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; "
	                     "PRAGMA temp_store=MEMORY") != 0)
		goto fail;

	memset(&ps, 0, sizeof(ps));
	t0 = cwbench_now_ns();
	if (prefill_exec(db, "BEGIN") != 0)
		goto fail;
	if (prefill_insert(db, callers, (uint64_t)seed, &ps) != 0) {
		prefill_exec(db, "ROLLBACK");
		goto fail;
	}
	if (prefill_exec(db, "COMMIT") != 0)
		goto fail;
	t1 = cwbench_now_ns();

	if (prefill_exec(db, "PRAGMA synchronous=FULL") != 0 ||
	    prefill_query_text(db, "PRAGMA journal_mode=WAL", text, sizeof(text)) != 0)
		goto fail;
	if (strcmp(text, "wal") != 0) {
		fprintf(stderr, "cwbench: %s: could not switch back to WAL (mode %s)\n", path,
		        text);
		goto fail;
	}
	if (sqlite3_close(db) != SQLITE_OK) {
		fprintf(stderr, "cwbench: closing %s: %s\n", path, sqlite3_errmsg(db));
		return 1;
	}

	secs = (double)(t1 - t0) / 1e9;
	printf("prefill: callers=%lld flags=%lld multi_flag_callers=%lld seconds=%.2f "
	       "rate=%.0f rows/s\n",
	       callers, ps.flags, ps.multi, secs, (double)ps.flags / secs);
	printf("prefill: codes");
	for (i = 0; i < PREFILL_NCODES; i++)
		printf(" %s=%lld", prefill_codes[i].code, ps.by_code[i]);
	printf("\nprefill: callers +1%010lld .. +1%010lld\n", CWBENCH_FLAGGED_BASE,
	       CWBENCH_FLAGGED_BASE + callers - 1);
	return 0;

fail:
	sqlite3_close(db);
	return 1;
}
