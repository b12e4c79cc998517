/* Shared declarations of cwbench, the callwarden benchmark tool, and its subcommands. */
#ifndef CWBENCH_H
#define CWBENCH_H

#include <stdint.h>

/* Bench callers are "+1" followed by CWBENCH_FLAGGED_BASE + i, i < callers. */
#define CWBENCH_FLAGGED_BASE 2000000000LL
/* Unflagged callers come from a separate range that never meets the flagged one. */
#define CWBENCH_UNFLAGGED_BASE 3000000000LL
#define CWBENCH_MAX_CALLERS    999999999LL

int prefill_main(int argc, char **argv);
int load_main(int argc, char **argv);

uint64_t cwbench_now_ns(void); /* CLOCK_MONOTONIC */
/* Parses a whole decimal integer in [min, max]; 0 on success, -1 with a message otherwise. */
int cwbench_parse_ll(const char *opt, const char *s, long long min, long long max, long long *out);
int cwbench_parse_double(const char *opt, const char *s, double min, double max, double *out);

/* splitmix64: small, fast and good enough to pick callers and codes. */
static inline uint64_t
cwbench_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static inline double
cwbench_rand_unit(uint64_t *state)
{
	return (double)(cwbench_rand(state) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
