/* cwbench: fills a database with flagged callers and drives call-event load at callwardend. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cwbench.h"

uint64_t
cwbench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
cwbench_parse_ll(const char *opt, const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "cwbench: %s: '%s' is not an integer from %lld to %lld\n", opt, s,
		        min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
cwbench_parse_double(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || isnan(v) || v < min || v > max) {
		fprintf(stderr, "cwbench: %s: '%s' is not a number from %g to %g\n", opt, s, min,
		        max);
		return -1;
	}
	*out = v;
	return 0;
}

static void
cwbench_usage(FILE *f)
{
	fprintf(f,
	        "usage: cwbench prefill --db PATH [--callers N] [--seed S]\n"
	        "       cwbench load [--mode offered|lifecycle|distinct] [--tcp HOST:PORT | --unix "
	        "PATH]\n"
	        "                    [--conns N] [--pipeline K] [--seconds S] [--warmup S]\n"
	        "                    [--callers N] [--flagged-ratio R] [--caller-range N]\n"
	        "                    [--numbers N] [--rate R] [--policy PATH] [--progress S]\n"
	        "                    [--threads T] [--pid PID] [--seed S]\n"
	        "See docs/benchmark.md.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		cwbench_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "prefill") == 0)
		return prefill_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "load") == 0)
		return load_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cwbench_usage(stdout);
		return 0;
	}
	fprintf(stderr, "cwbench: unknown command '%s'\n", argv[1]);
	cwbench_usage(stderr);
	return 2;
}
