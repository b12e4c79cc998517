/*
 * Call-log rows gathered on the loop and handed to the call-log writer as one job per interval.
 * A call whose row has not left yet is changed in place, so a short call that is offered,
 * answered and ended within one interval costs one INSERT, not an INSERT and two UPDATEs.
 */
#ifndef CW_LOGBATCH_H
#define CW_LOGBATCH_H

#include <stddef.h>

#include <event2/event.h>

#include "calls.h"
#include "writer.h"

/* Most rows in one batch: bounds one commit and the memory of one job. */
#define LOGBATCH_MAX_ROWS 4096

enum logbatch_kind { LOGBATCH_INSERT, LOGBATCH_ANSWERED, LOGBATCH_ENDED };

struct logbatch;

/*
 * Gathers rows for w (which the caller keeps and stops after logbatch_free) and hands them over
 * every interval_ms or at LOGBATCH_MAX_ROWS. NULL when out of memory.
 */
struct logbatch *logbatch_new(struct event_base *base, struct writer *w, int interval_ms);
/* Hands over what is gathered and frees b; NULL is a no-op. */
void logbatch_free(struct logbatch *b);

/* Logs c's current state: a new row for an offered call, or its answer or end. */
void logbatch_add(struct logbatch *b, enum logbatch_kind kind, const struct call *c);
/* Hands over what is gathered now. */
void logbatch_flush(struct logbatch *b);
/* Rows not yet committed (gathered here or waiting for the writer): for backpressure. */
size_t logbatch_rows_pending(const struct logbatch *b);

#endif
