/* Log-linear latency histogram (values in ns) with bounded memory and < 1% bucket error. */
#include <math.h>

#include "hist.h"

static unsigned
hist_index(uint64_t v)
{
	unsigned e, shift;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	shift = e - HIST_SUB_BITS;
	/* v >> shift keeps the top HIST_SUB_BITS + 1 bits: a value in [HIST_SUB, 2 * HIST_SUB). */
	return (shift + 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

/* The middle of bucket i. */
static uint64_t
hist_value(unsigned i)
{
	unsigned shift;
	uint64_t lo;

	if (i < HIST_SUB)
		return i;
	shift = i / HIST_SUB - 1;
	lo = (uint64_t)(HIST_SUB + i % HIST_SUB) << shift;
	return lo + ((1ULL << shift) >> 1);
}

void
hist_record(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i;

	for (i = 0; i < HIST_NBUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0, v;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			v = hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}
