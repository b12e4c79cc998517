/* Log-linear latency histogram: 128 buckets per power of two, so percentiles are within 1%. */
#ifndef CWBENCH_HIST_H
#define CWBENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1 << HIST_SUB_BITS)
#define HIST_NBUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t b[HIST_NBUCKETS];
};

void hist_record(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at percentile p (0 < p <= 100); 0 when the histogram is empty. */
uint64_t hist_percentile(const struct hist *h, double p);

#endif
