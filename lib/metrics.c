/* Counters, histograms and the Prometheus text exposition format (version 0.0.4). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

int
metrics_hist_init(struct metrics_hist *h, const double *bounds, size_t n)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	if (n > METRICS_BUCKETS_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			return -1;
	memcpy(h->bounds, bounds, n * sizeof(*bounds));
	h->nbounds = n;
	return 0;
}

void
metrics_hist_observe(struct metrics_hist *h, double v)
{
	size_t i = 0;

	/* A bucket counts values up to and including its bound (Prometheus "le"). */
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

void
metrics_vec_init(struct metrics_vec *v, size_t nlabels, size_t max)
{
	memset(v, 0, sizeof(*v));
	v->nlabels = nlabels > METRICS_LABELS_MAX ? METRICS_LABELS_MAX : nlabels;
	v->max = max < 1 ? 1 : max;
}

void
metrics_vec_free(struct metrics_vec *v)
{
	free(v->v);
	metrics_vec_init(v, v->nlabels, v->max);
}

/* Copies at most METRICS_VALUE_MAX bytes, not splitting a UTF-8 character. */
static void
metrics_copy_value(char *dst, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n > METRICS_VALUE_MAX) {
		n = METRICS_VALUE_MAX;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A series' label values as stored (clipped), with a hash that rules most series out at once. */
struct metrics_key {
	char values[METRICS_LABELS_MAX][METRICS_VALUE_MAX + 1];
	uint32_t hash;
};

static void
metrics_key_of(const struct metrics_vec *v, const char *const *values, struct metrics_key *k)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < v->nlabels; i++) {
		metrics_copy_value(k->values[i], values[i]);
		/* FNV-1a over each value and its terminating NUL, so ("ab","") differs from
		 * ("a","b"). */
		for (const char *c = k->values[i];; c++) {
			h = (h ^ (unsigned char)*c) * 16777619u;
			if (*c == '\0')
				break;
		}
	}
	k->hash = h;
}

static int
metrics_series_is(const struct metrics_vec *v, const struct metrics_series *s,
                  const struct metrics_key *k)
{
	size_t i;

	if (s->hash != k->hash)
		return 0;
	for (i = 0; i < v->nlabels; i++)
		if (strcmp(s->values[i], k->values[i]) != 0)
			return 0;
	return 1;
}

static struct metrics_series *
metrics_vec_find(const struct metrics_vec *v, const struct metrics_key *k)
{
	size_t i;

	if (v->n > 0 && metrics_series_is(v, &v->v[v->last], k))
		return &v->v[v->last];
	for (i = 0; i < v->n; i++)
		if (metrics_series_is(v, &v->v[i], k))
			return &v->v[i];
	return NULL;
}

void
metrics_vec_add(struct metrics_vec *v, const char *const *values, uint64_t n)
{
	static const char *const other[METRICS_LABELS_MAX] = {METRICS_OTHER, METRICS_OTHER};
	struct metrics_series *s;
	struct metrics_key k;
	size_t i;

	if (v->max == 0)
		return; /* never set up */
	metrics_key_of(v, values, &k);
	s = metrics_vec_find(v, &k);
	if (s == NULL && v->n + 1 >= v->max) {
		/* Full: the last slot is kept for everything else. */
		metrics_key_of(v, other, &k);
		s = metrics_vec_find(v, &k);
	}
	if (s == NULL) {
		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 8;
			struct metrics_series *nv;

			if (cap > v->max)
				cap = v->max;
			nv = realloc(v->v, cap * sizeof(*nv));
			if (nv == NULL)
				return;
			v->v = nv;
			v->cap = cap;
		}
		s = &v->v[v->n++];
		memset(s, 0, sizeof(*s));
		for (i = 0; i < v->nlabels; i++)
			memcpy(s->values[i], k.values[i], strlen(k.values[i]) + 1);
		s->hash = k.hash;
	}
	s->n += n;
	v->last = (size_t)(s - v->v);
}

uint64_t
metrics_vec_get(const struct metrics_vec *v, const char *const *values)
{
	const struct metrics_series *s;
	struct metrics_key k;

	metrics_key_of(v, values, &k);
	s = metrics_vec_find(v, &k);
	return s != NULL ? s->n : 0;
}

uint64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Appends s with backslash and newline escaped, and double quotes too when quotes is set. */
static void
metrics_escape(struct jbuf *out, const char *s, int quotes)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\'            ? "\\\\"
		                  : *s == '\n'          ? "\\n"
		                  : quotes && *s == '"' ? "\\\""
		                                        : NULL;

		if (esc == NULL)
			continue;
		jb_append(out, run, (size_t)(s - run));
		jb_append(out, esc, 2);
		run = s + 1;
	}
	jb_append(out, run, (size_t)(s - run));
}

static void
metrics_text(struct jbuf *out, const char *s)
{
	jb_append(out, s, strlen(s));
}

void
metrics_head(struct jbuf *out, const char *name, const char *type, const char *help)
{
	metrics_text(out, "# HELP ");
	metrics_text(out, name);
	metrics_text(out, " ");
	metrics_escape(out, help, 0);
	metrics_text(out, "\n# TYPE ");
	metrics_text(out, name);
	metrics_text(out, " ");
	metrics_text(out, type);
	metrics_text(out, "\n");
}

static void
metrics_name_labels(struct jbuf *out, const char *name, const char *const *labels, size_t n)
{
	size_t i;

	metrics_text(out, name);
	if (n == 0)
		return;
	metrics_text(out, "{");
	for (i = 0; i < n; i++) {
		if (i > 0)
			metrics_text(out, ",");
		metrics_text(out, labels[2 * i]);
		metrics_text(out, "=\"");
		metrics_escape(out, labels[2 * i + 1] != NULL ? labels[2 * i + 1] : "", 1);
		metrics_text(out, "\"");
	}
	metrics_text(out, "}");
}

/* The shortest text that reads back as v, or +Inf, -Inf, NaN. */
static void
metrics_double(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else
		jb_format_double(buf, len, v);
}

void
metrics_sample(struct jbuf *out, const char *name, const char *const *labels, size_t nlabels,
               double v)
{
	char num[40];

	metrics_double(num, sizeof(num), v);
	metrics_name_labels(out, name, labels, nlabels);
	metrics_text(out, " ");
	metrics_text(out, num);
	metrics_text(out, "\n");
}

void
metrics_sample_u64(struct jbuf *out, const char *name, const char *const *labels, size_t nlabels,
                   uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	metrics_name_labels(out, name, labels, nlabels);
	metrics_text(out, " ");
	metrics_text(out, num);
	metrics_text(out, "\n");
}

void
metrics_vec_write(struct jbuf *out, const char *name, const char *const *label_names,
                  const struct metrics_vec *v)
{
	const char *labels[2 * METRICS_LABELS_MAX];
	size_t i, k;

	for (i = 0; i < v->n; i++) {
		for (k = 0; k < v->nlabels; k++) {
			labels[2 * k] = label_names[k];
			labels[2 * k + 1] = v->v[i].values[k];
		}
		metrics_sample_u64(out, name, labels, v->nlabels, v->v[i].n);
	}
}

void
metrics_hist_write(struct jbuf *out, const char *name, const struct metrics_hist *h)
{
	char bucket[128], le[40];
	const char *labels[2] = {"le", le};
	uint64_t cum = 0;
	size_t i;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (i = 0; i <= h->nbounds; i++) {
		cum += h->counts[i];
		if (i < h->nbounds)
			metrics_double(le, sizeof(le), h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		metrics_sample_u64(out, bucket, labels, 1, cum);
	}
	snprintf(bucket, sizeof(bucket), "%s_sum", name);
	metrics_sample(out, bucket, NULL, 0, h->sum);
	snprintf(bucket, sizeof(bucket), "%s_count", name);
	metrics_sample_u64(out, bucket, NULL, 0, h->count);
}
