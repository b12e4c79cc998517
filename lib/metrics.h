/*
 * Counters and histograms for monitoring, and the Prometheus text exposition format (0.0.4) they
 * are written in. Counting is plain integer arithmetic for one thread (the event loop): no locks.
 */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "jbuf.h"

#define METRICS_BUCKETS_MAX 24
#define METRICS_LABELS_MAX  2
/* Longest label value kept, in bytes; longer values are cut at a character boundary. */
#define METRICS_VALUE_MAX 63
/* The label value that series beyond a vector's capacity are counted under. */
#define METRICS_OTHER "_other"

/* A histogram over fixed upper bounds; counts are per bucket and cumulated when written. */
struct metrics_hist {
	size_t nbounds;
	double bounds[METRICS_BUCKETS_MAX];       /* ascending */
	uint64_t counts[METRICS_BUCKETS_MAX + 1]; /* the last one: above every bound */
	double sum;
	uint64_t count;
};

/* Returns -1 when the bounds are not strictly ascending finite numbers, or too many. */
int metrics_hist_init(struct metrics_hist *h, const double *bounds, size_t n);
void metrics_hist_observe(struct metrics_hist *h, double v);

/* One counter of a vector: its label values and its count. */
struct metrics_series {
	char values[METRICS_LABELS_MAX][METRICS_VALUE_MAX + 1];
	uint32_t hash; /* of the values, checked before them */
	uint64_t n;
};

/*
 * Counters told apart by label values (the queue and rule of a decision, an error code), each
 * added when first counted. At most max series: later label values all count under
 * METRICS_OTHER, so a flood of distinct values cannot grow memory.
 */
struct metrics_vec {
	size_t nlabels;
	size_t max;
	struct metrics_series *v;
	size_t n, cap;
	size_t last; /* the series counted last: checked first */
};

void metrics_vec_init(struct metrics_vec *v, size_t nlabels, size_t max);
void metrics_vec_free(struct metrics_vec *v);
/* Adds n to the series with these nlabels values (NULL counts as ""). */
void metrics_vec_add(struct metrics_vec *v, const char *const *values, uint64_t n);
/* The series' count; 0 for one never counted. */
uint64_t metrics_vec_get(const struct metrics_vec *v, const char *const *values);

/* Monotonic nanoseconds (CLOCK_MONOTONIC), for durations. */
uint64_t metrics_now_ns(void);

/* Text writers. A family starts with its HELP and TYPE lines, then its samples. */
void metrics_head(struct jbuf *out, const char *name, const char *type, const char *help);
/* One sample: labels holds nlabels name/value pairs (2 * nlabels strings). */
void metrics_sample(struct jbuf *out, const char *name, const char *const *labels, size_t nlabels,
                    double v);
void metrics_sample_u64(struct jbuf *out, const char *name, const char *const *labels,
                        size_t nlabels, uint64_t v);
/* Every series of v under name, its labels called label_names (v->nlabels of them). */
void metrics_vec_write(struct jbuf *out, const char *name, const char *const *label_names,
                       const struct metrics_vec *v);
/* The _bucket (cumulative, le="+Inf" last), _sum and _count lines of h. */
void metrics_hist_write(struct jbuf *out, const char *name, const struct metrics_hist *h);

#endif
