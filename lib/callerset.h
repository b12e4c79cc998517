/*
 * The callers that have ever had a flag, as a Bloom filter: "no" is certain, "maybe" means look
 * in the database. Most callers have never been flagged, so most offered calls are decided
 * without a database lookup at all. Members are never removed (a revoked or expired flag is
 * still in the database and costs one lookup); a filter filled past its capacity only answers
 * "maybe" more often. Not thread-safe: the daemon uses it on the loop thread only.
 */
#ifndef CW_CALLERSET_H
#define CW_CALLERSET_H

#include <stddef.h>

struct callerset;

/* A filter sized for capacity members at about a 1% false-positive rate. NULL: out of memory. */
struct callerset *callerset_new(size_t capacity);
void callerset_free(struct callerset *cs); /* NULL is a no-op */

void callerset_add(struct callerset *cs, const char *caller);
/* 0: caller certainly has no flag; 1: it may have one. */
int callerset_maybe(const struct callerset *cs, const char *caller);

size_t callerset_count(const struct callerset *cs);    /* adds so far */
size_t callerset_capacity(const struct callerset *cs); /* as sized */
size_t callerset_memory_bytes(const struct callerset *cs);

#endif
