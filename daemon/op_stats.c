/*
 * stats: counters of the running daemon. Counting active flags reads the whole flags table, so
 * it runs on the flag writer's connection and the reply follows that read.
 */
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "lifecycle.h"
#include "logbatch.h"
#include "nuisance.h"
#include "ops.h"
#include "writer.h"

struct stats_job {
	struct job job; /* first: the writer sees only this */
	struct session *s;
	struct pending *slot;
	char *reply; /* everything but flags_active, built on the loop */
	size_t len;
	int64_t ts;
	int64_t active;
};

static void
stats_run(void *db, struct job *job)
{
	struct stats_job *sj = (struct stats_job *)job;

	sj->active = store_count_active_flags(db, sj->ts);
	job->status = sj->active < 0 ? STORE_ERROR : STORE_OK;
}

static void
stats_done(struct job *job)
{
	struct stats_job *sj = (struct stats_job *)job;
	struct jbuf jb;
	char *line;
	size_t len;

	jb_init(&jb);
	/* The prepared text is an open object: add the count and close it. */
	jb_append(&jb, sj->reply, sj->len);
	jb.depth = 1;
	jb.nonempty = 1;
	if (job->status == STORE_OK)
		jb_kint(&jb, "flags_active", sj->active);
	else
		jb_knull(&jb, "flags_active");
	proto_reply_end(&jb);
	line = jb_steal(&jb, &len);
	session_fulfil(sj->s, sj->slot, line, line != NULL ? len : 0);
	free(sj->reply);
	free(sj);
}

/* Decisions by queue: the /metrics series by queue and rule, summed over the rules. */
static void
stats_decisions_by_queue(struct jbuf *jb, const struct metrics_vec *v)
{
	size_t i, j;
	uint64_t n;

	for (i = 0; i < v->n; i++) {
		const char *queue = v->v[i].values[0];

		for (j = 0; j < i && strcmp(v->v[j].values[0], queue) != 0; j++)
			;
		if (j < i)
			continue; /* summed at its first series */
		for (n = 0, j = i; j < v->n; j++)
			if (strcmp(v->v[j].values[0], queue) == 0)
				n += v->v[j].n;
		jb_kint(jb, queue, (int64_t)n);
	}
}

void
op_stats(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {NULL};
	struct server *srv = s->srv;
	struct stats_job *sj;
	struct jbuf jb;

	if (proto_check_fields(r, fields) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	jb_init(&jb);
	proto_reply_ok(&jb, proto_req_id(r));
	jb_kstr(&jb, "version", CW_VERSION);
	jb_kint(&jb, "uptime_s", ops_now(srv) - srv->started_at);
	jb_kstr(&jb, "policy", srv->policy->version);
	jb_kint(&jb, "policy_loaded_at", srv->policy->loaded_at);
	jb_kint(&jb, "connections", (int64_t)srv->nsessions);
	jb_key(&jb, "decisions");
	jb_obj_begin(&jb);
	stats_decisions_by_queue(&jb, &srv->m.decisions);
	jb_obj_end(&jb);
	jb_kint(&jb, "degraded", (int64_t)srv->degraded);
	jb_kint(&jb, "calls_open", (int64_t)calls_open_count(srv->calls));
	jb_kint(&jb, "calls_held", (int64_t)calls_count(srv->calls));
	jb_kint(&jb, "calls_memory_bytes", (int64_t)calls_memory_bytes(srv->calls));
	jb_kint(&jb, "nuisance_tracked", (int64_t)nuisance_tracked(srv->nuisance));
	jb_kint(&jb, "nuisance_memory_bytes", (int64_t)nuisance_memory_bytes(srv->nuisance));
	jb_kint(&jb, "calllog_backlog", (int64_t)logbatch_rows_pending(srv->calllog_batch));
	jb_kint(&jb, "writer_backlog", (int64_t)writer_backlog(srv->writer));
	jb_key(&jb, "subscribers");
	jb_obj_begin(&jb);
	jb_kint(&jb, "alert", (int64_t)srv->subscribers[0]);
	jb_kint(&jb, "flag", (int64_t)srv->subscribers[1]);
	jb_kint(&jb, "decision", (int64_t)srv->subscribers[2]);
	jb_obj_end(&jb);
	jb_kint(&jb, "events_dropped", (int64_t)srv->sub_dropped);
	jb_kint(&jb, "subscriber_overflows", (int64_t)srv->sub_overflows);

	sj = calloc(1, sizeof(*sj));
	if (sj == NULL || jb.oom || (sj->slot = session_reserve(s)) == NULL) {
		free(sj);
		jb_free(&jb);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	sj->reply = jb_steal(&jb, &sj->len);
	sj->s = s;
	sj->ts = ops_now(srv);
	sj->job.run = stats_run;
	sj->job.done = stats_done;
	writer_submit(srv->writer, &sj->job);
}
