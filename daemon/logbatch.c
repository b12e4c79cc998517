/*
 * Call-log batches. The loop owns the batch being gathered; once handed over, the writer thread
 * owns it until its done callback (back on the loop) frees it. Rows of one batch are applied in
 * the order they came, so an answer or end always follows its call's INSERT.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calllog.h"
#include "log.h"
#include "logbatch.h"
#include "textcopy.h"

struct logbatch_item {
	enum logbatch_kind kind;
	struct call_row row;
};

struct logbatch_job {
	struct job job; /* first: the writer sees only this */
	struct logbatch *owner;
	struct logbatch_item *items;
	size_t n, cap;
	/* Where each INSERT of this batch sits: slot_of[id - first_id] is its index + 1. */
	int64_t first_id; /* 0 until the first INSERT */
	uint32_t *slot_of;
	size_t nslots;
	size_t failed; /* rows the database refused (set on the writer thread) */
};

struct logbatch {
	struct writer *w;
	struct event *timer;
	struct logbatch_job *cur; /* being gathered; NULL when empty */
	/* A written batch kept for the next one, arrays and all: a batch of a busy 50 ms is a
	 * megabyte or more, too much to grow and free twenty times a second. */
	struct logbatch_job *spare;
	size_t in_flight; /* rows handed to the writer, not yet reported back */
};

/* The call's fields in the call log's row form. */
static void
logbatch_row_of(const struct call *c, struct call_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = c->id;
	text_copy(r->call_id, sizeof(r->call_id), c->call_id);
	text_copy(r->caller, sizeof(r->caller), c->caller);
	text_copy(r->dialed, sizeof(r->dialed), c->dialed);
	r->offered_at = c->offered_at;
	text_copy(r->action, sizeof(r->action),
	          c->action == CALLS_ACTION_REJECT ? "reject" : "queue");
	text_copy(r->queue, sizeof(r->queue), c->queue);
	text_copy(r->rule, sizeof(r->rule), c->rule);
	text_copy(r->policy, sizeof(r->policy), c->policy);
	r->degraded = c->degraded;
	r->answered_at = c->answered_at;
	text_copy(r->agent, sizeof(r->agent), c->agent);
	r->ended_at = c->ended_at;
	text_copy(r->ended_by, sizeof(r->ended_by), c->ended_by);
	r->abandoned = c->abandoned;
	r->talk_s = calls_talk_s(c);
}

static void
logbatch_job_free(struct logbatch_job *j)
{
	free(j->items);
	free(j->slot_of);
	free(j);
}

/* Writer thread: every row in order. A lock stops the batch so the writer retries it whole. */
static void
logbatch_run(void *db, struct job *job)
{
	struct logbatch_job *j = (struct logbatch_job *)job;
	const struct call_row *r;
	enum store_status st = STORE_OK;
	size_t i;

	j->failed = 0;
	for (i = 0; i < j->n; i++) {
		r = &j->items[i].row;
		switch (j->items[i].kind) {
		case LOGBATCH_INSERT:
			st = calllog_insert(db, r);
			break;
		case LOGBATCH_ANSWERED:
			st = calllog_set_answered(db, r->id, r->answered_at, r->agent);
			break;
		case LOGBATCH_ENDED:
			st = calllog_set_ended(db, r->id, r->ended_at, r->ended_by, r->abandoned,
			                       r->talk_s);
			break;
		}
		if (st == STORE_BUSY) {
			job->status = STORE_BUSY;
			return;
		}
		/* A repeated answer or end changes nothing and is not a failure. */
		if (st != STORE_OK &&
		    !(st == STORE_CONFLICT && j->items[i].kind != LOGBATCH_INSERT) &&
		    j->failed++ == 0)
			snprintf(job->errmsg, sizeof(job->errmsg), "%s", calllog_errmsg(db));
	}
	job->status = STORE_OK;
}

/* Loop thread, after the commit (or after the writer gave the batch up). */
static void
logbatch_done(struct job *job)
{
	struct logbatch_job *j = (struct logbatch_job *)job;

	struct logbatch *b = j->owner;

	b->in_flight -= j->n;
	if (job->status != STORE_OK)
		log_warnx("call log: %zu rows not written: %s", j->n, job->errmsg);
	else if (j->failed > 0)
		log_warnx("call log: %zu of %zu rows refused: %s", j->failed, j->n, job->errmsg);
	if (b->spare != NULL) {
		logbatch_job_free(j);
		return;
	}
	/* Emptied for reuse; items and slot_of keep their size. */
	memset(&j->job, 0, sizeof(j->job));
	if (j->slot_of != NULL)
		memset(j->slot_of, 0, j->nslots * sizeof(*j->slot_of));
	j->n = 0;
	j->first_id = 0;
	j->failed = 0;
	b->spare = j;
}

static void
logbatch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	logbatch_flush(arg);
}

struct logbatch *
logbatch_new(struct event_base *base, struct writer *w, int interval_ms)
{
	struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};
	struct logbatch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->w = w;
	b->timer = event_new(base, -1, EV_PERSIST, logbatch_timer_cb, b);
	if (b->timer == NULL || event_add(b->timer, &tv) == -1) {
		logbatch_free(b);
		return NULL;
	}
	return b;
}

void
logbatch_free(struct logbatch *b)
{
	if (b == NULL)
		return;
	if (b->timer != NULL)
		event_free(b->timer);
	if (b->cur != NULL) {
		if (b->cur->n > 0)
			log_warnx("call log: %zu rows dropped at exit", b->cur->n);
		logbatch_job_free(b->cur);
	}
	if (b->spare != NULL)
		logbatch_job_free(b->spare);
	free(b);
}

/* Remembers where an INSERT sits so its call's later events can change it in place. */
static void
logbatch_index(struct logbatch_job *j, int64_t id, size_t item)
{
	size_t want, slot;
	uint32_t *grown;

	if (j->first_id == 0)
		j->first_id = id;
	if (id < j->first_id || (uint64_t)(id - j->first_id) >= 4 * LOGBATCH_MAX_ROWS)
		return; /* ids out of order or far apart: the row is just not merged into */
	slot = (size_t)(id - j->first_id);
	if (slot >= j->nslots) {
		want = j->nslots == 0 ? 64 : j->nslots;
		while (want <= slot)
			want *= 2;
		grown = realloc(j->slot_of, want * sizeof(*grown));
		if (grown == NULL)
			return;
		memset(grown + j->nslots, 0, (want - j->nslots) * sizeof(*grown));
		j->slot_of = grown;
		j->nslots = want;
	}
	j->slot_of[slot] = (uint32_t)item + 1;
}

/* The row of c's INSERT when it is still being gathered, else NULL. */
static struct logbatch_item *
logbatch_find(struct logbatch_job *j, int64_t id)
{
	size_t slot;

	if (j->first_id == 0 || id < j->first_id)
		return NULL;
	slot = (size_t)(id - j->first_id);
	if (slot >= j->nslots || j->slot_of[slot] == 0)
		return NULL;
	return &j->items[j->slot_of[slot] - 1];
}

void
logbatch_add(struct logbatch *b, enum logbatch_kind kind, const struct call *c)
{
	struct logbatch_job *j = b->cur;
	struct logbatch_item *it;

	if (j == NULL && (j = b->cur = b->spare) != NULL)
		b->spare = NULL;
	else if (j == NULL && (j = b->cur = calloc(1, sizeof(*j))) == NULL) {
		log_warnx("out of memory: call %s not logged", c->call_id);
		return;
	}
	if (kind != LOGBATCH_INSERT && (it = logbatch_find(j, c->id)) != NULL) {
		logbatch_row_of(c, &it->row); /* still an INSERT, now with the later fields */
		return;
	}
	if (j->n == j->cap) {
		size_t cap = j->cap == 0 ? 64 : j->cap * 2;
		struct logbatch_item *grown = realloc(j->items, cap * sizeof(*grown));

		if (grown == NULL) {
			log_warnx("out of memory: call %s not logged", c->call_id);
			return;
		}
		j->items = grown;
		j->cap = cap;
	}
	it = &j->items[j->n];
	it->kind = kind;
	logbatch_row_of(c, &it->row);
	if (kind == LOGBATCH_INSERT)
		logbatch_index(j, c->id, j->n);
	j->n++;
	if (j->n >= LOGBATCH_MAX_ROWS)
		logbatch_flush(b);
}

void
logbatch_flush(struct logbatch *b)
{
	struct logbatch_job *j = b->cur;

	if (j == NULL || j->n == 0)
		return;
	b->cur = NULL;
	j->owner = b;
	j->job.run = logbatch_run;
	j->job.done = logbatch_done;
	j->job.weight = j->n;
	b->in_flight += j->n;
	writer_submit(b->w, &j->job);
}

size_t
logbatch_rows_pending(const struct logbatch *b)
{
	return b->in_flight + (b->cur != NULL ? b->cur->n : 0);
}
