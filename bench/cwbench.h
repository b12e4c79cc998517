/* Shared declarations of cwbench, the callwarden benchmark tool, and its subcommands. */
#ifndef CWBENCH_H
#define CWBENCH_H

#include <stddef.h>
#include <stdint.h>

/* Bench callers are "+1" followed by CWBENCH_FLAGGED_BASE + i, i < callers. */
#define CWBENCH_FLAGGED_BASE 2000000000LL
/* Unflagged callers come from a separate range that never meets the flagged one. */
#define CWBENCH_UNFLAGGED_BASE 3000000000LL
#define CWBENCH_MAX_CALLERS    999999999LL
/* load --mode distinct numbers its callers from here on, one new number per call. */
#define CWBENCH_DISTINCT_BASE 4000000000LL
/* Keys used only inside cwbench to measure the tables' budget (budget.c). */
#define CWBENCH_BUDGET_BASE 5000000000LL

int prefill_main(int argc, char **argv);
int load_main(int argc, char **argv);

uint64_t cwbench_now_ns(void); /* CLOCK_MONOTONIC */
/* Parses a whole decimal integer in [min, max]; 0 on success, -1 with a message otherwise. */
int cwbench_parse_ll(const char *opt, const char *s, long long min, long long max, long long *out);
int cwbench_parse_double(const char *opt, const char *s, double min, double max, double *out);

/* proc.c: CPU seconds (user + system) used so far by process pid, or -1. */
double proc_cpu(long long pid);
/* CPU seconds all CPUs of the host have been busy (not idle, not waiting on I/O), or -1. */
double proc_host_cpu(void);
double proc_self_cpu(void);

/* A process's memory from /proc/PID/status, in KiB; -1 where unknown. */
struct proc_mem {
	long long rss;  /* resident set now, VmRSS */
	long long hwm;  /* peak resident set, VmHWM */
	long long anon; /* resident anonymous memory now: heap, stacks */
	long long file; /* resident file pages now: the mmap'ed database, the binary */
};

void proc_mem(long long pid, struct proc_mem *m);
/* "VmRSS=…MiB VmHWM=…MiB RssAnon=…MiB RssFile=…MiB" (n/a when unknown). */
void proc_mem_format(char *buf, size_t len, const struct proc_mem *m);

/* budget.c: the bytes the daemon's bounded tables hold when full, under a policy file. */
struct budget {
	size_t max_tracked;    /* nuisance.max_tracked */
	size_t nuisance_bytes; /* the nuisance tracker holding max_tracked callers */
	size_t max_calls;      /* calls.max_calls */
	size_t calls_bytes;    /* the calls table holding max_calls calls */
};

/* Loads the policy and measures its budget; 0, or -1 with a message on stderr. */
int budget_compute(const char *policy_path, struct budget *b);

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
