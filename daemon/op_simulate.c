/*
 * policy.simulate: replays the logged offered calls of a time range through the current policy
 * and a candidate file, each call with the caller's flags as they stood at its time and the
 * nuisance counters rebuilt call by call for each policy. Everything runs on the query thread
 * with connections of its own; nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calllog.h"
#include "nuisance.h"
#include "ops.h"
#include "route.h"

#define SIMULATE_SAMPLE    50
#define SIMULATE_MAX_CALLS 1000000

struct sim_count {
	char name[66];
	uint64_t n;
};

/* Counts by queue and by rule for one policy. */
struct sim_side {
	struct policy *policy;
	struct nuisance *counters;
	struct sim_count queues[64], rules[256];
	size_t nqueues, nrules;
};

struct sim_change {
	char caller[NUMBER_BUFSZ], call_id[CALLLOG_CALL_ID_MAX + 1];
	char from_queue[33], from_rule[66], from_reason[ROUTE_REASON_MAX];
	char to_queue[33], to_rule[66], to_reason[ROUTE_REASON_MAX];
};

struct sim_job {
	struct ops_job oj; /* first */
	char *path, *dbpath;
	char cc[4];
	int64_t since, until;
	struct sim_side cur, cand;
	uint64_t calls, changed;
	struct sim_change sample[SIMULATE_SAMPLE];
	size_t nsample;
	char *errors;
	struct store *store; /* the query thread's connection, for flags */
	struct flag_list flags;
	int truncated;
};

static void
sim_count(struct sim_count *v, size_t *n, size_t max, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(v[i].name, name) == 0) {
			v[i].n++;
			return;
		}
	if (*n < max) {
		snprintf(v[*n].name, sizeof(v[*n].name), "%s", name);
		v[*n].n = 1;
		(*n)++;
	}
}

/* The caller's flags as they stood at ts: later flags left out, later revocations undone. */
static size_t
sim_flags_at(struct flag_list *l, int64_t ts)
{
	size_t i, kept = 0;

	for (i = 0; i < l->n; i++) {
		struct flag f = l->v[i];

		if (f.created_at > ts) {
			flag_clear(&l->v[i]);
			continue;
		}
		if (f.revoked_at > ts)
			f.revoked_at = 0;
		l->v[kept++] = f;
	}
	l->n = kept;
	return kept;
}

static void
sim_decide(struct sim_side *side, const struct call_row *row, const struct flag_list *flags,
           struct decision *d)
{
	struct route_input in;
	struct nuisance_view v;
	char key[NUISANCE_KEY_MAX];

	memset(&in, 0, sizeof(in));
	in.caller = row->caller[0] ? row->caller : NULL;
	in.dialed = row->dialed[0] ? row->dialed : NULL;
	in.ts = row->offered_at;
	in.flags = flags->v;
	in.nflags = flags->n;
	memset(&v, 0, sizeof(v));
	v.since_last_end = -1;
	if (nuisance_key(key, in.caller, in.dialed) == 0)
		nuisance_offered(side->counters, key, in.ts, &v);
	in.nuisance = &v;
	route_decide(side->policy, &in, d);
	sim_count(side->queues, &side->nqueues, 64, d->queue->name);
	sim_count(side->rules, &side->nrules, 256, d->rule);
}

static void
sim_ended(struct sim_side *side, const struct call_row *row)
{
	char key[NUISANCE_KEY_MAX];

	if (row->ended_at == 0 || nuisance_key(key, row->caller[0] ? row->caller : NULL,
	                                       row->dialed[0] ? row->dialed : NULL) == -1)
		return;
	nuisance_ended(side->counters, key, row->ended_at, row->talk_s,
	               nuisance_is_short(nuisance_get_cfg(side->counters),
	                                 strcmp(row->ended_by, "caller") == 0, row->abandoned,
	                                 row->talk_s < 0 ? 0 : row->talk_s));
}

static int
sim_row(const struct call_row *row, void *arg)
{
	struct sim_job *sj = arg;
	struct decision a, b;

	if (sj->calls >= SIMULATE_MAX_CALLS) {
		sj->truncated = 1;
		return 1;
	}
	flag_list_clear(&sj->flags);
	if (row->caller[0] != '\0' &&
	    store_caller_flags(sj->store, row->caller, SERVER_ROUTE_FLAGS, &sj->flags) == STORE_OK)
		sim_flags_at(&sj->flags, row->offered_at);
	sim_decide(&sj->cur, row, &sj->flags, &a);
	sim_decide(&sj->cand, row, &sj->flags, &b);
	/* Ends count once the offer is decided, as they would have live. */
	sim_ended(&sj->cur, row);
	sim_ended(&sj->cand, row);
	sj->calls++;
	if (strcmp(a.queue->name, b.queue->name) != 0 || strcmp(a.rule, b.rule) != 0 ||
	    a.action != b.action) {
		sj->changed++;
		if (sj->nsample < SIMULATE_SAMPLE) {
			struct sim_change *c = &sj->sample[sj->nsample++];

			snprintf(c->caller, sizeof(c->caller), "%s", row->caller);
			snprintf(c->call_id, sizeof(c->call_id), "%s", row->call_id);
			snprintf(c->from_queue, sizeof(c->from_queue), "%s", a.queue->name);
			snprintf(c->from_rule, sizeof(c->from_rule), "%s", a.rule);
			snprintf(c->from_reason, sizeof(c->from_reason), "%s", a.reason);
			snprintf(c->to_queue, sizeof(c->to_queue), "%s", b.queue->name);
			snprintf(c->to_rule, sizeof(c->to_rule), "%s", b.rule);
			snprintf(c->to_reason, sizeof(c->to_reason), "%s", b.reason);
		}
	}
	return 0;
}

static void
sim_run(void *db, struct job *job)
{
	struct sim_job *sj = (struct sim_job *)job;
	struct calllog *cl;
	char *cause = NULL;

	sj->store = db;
	sj->cand.policy = policy_load(sj->path, sj->cc, &sj->errors);
	if (sj->cand.policy == NULL) {
		sj->oj.err = PROTO_BAD_FIELD;
		sj->oj.load_errors = sj->errors;
		snprintf(job->errmsg, sizeof(job->errmsg), "%.*s",
		         (int)strcspn(sj->errors ? sj->errors : "", "\n"),
		         sj->errors ? sj->errors : "the candidate policy failed to load");
		return;
	}
	sj->cur.counters = nuisance_new(&sj->cur.policy->nuisance.cfg);
	sj->cand.counters = nuisance_new(&sj->cand.policy->nuisance.cfg);
	cl = calllog_open(sj->dbpath, 1000, &cause);
	if (cl == NULL || sj->cur.counters == NULL || sj->cand.counters == NULL) {
		job->status = STORE_ERROR;
		snprintf(job->errmsg, sizeof(job->errmsg), "%s", cause ? cause : "out of memory");
		free(cause);
		calllog_close(cl);
		return;
	}
	job->status = calllog_range(cl, sj->since, sj->until + 1, sim_row, sj);
	if (job->status != STORE_OK)
		snprintf(job->errmsg, sizeof(job->errmsg), "%s", calllog_errmsg(cl));
	calllog_close(cl);
}

static void
sim_write_side(struct jbuf *jb, const char *key, const struct sim_side *side)
{
	size_t i;

	jb_key(jb, key);
	jb_obj_begin(jb);
	jb_kstr(jb, "policy", side->policy->version);
	jb_key(jb, "queues");
	jb_obj_begin(jb);
	for (i = 0; i < side->nqueues; i++)
		jb_kint(jb, side->queues[i].name, (int64_t)side->queues[i].n);
	jb_obj_end(jb);
	jb_key(jb, "rules");
	jb_obj_begin(jb);
	for (i = 0; i < side->nrules; i++)
		jb_kint(jb, side->rules[i].name, (int64_t)side->rules[i].n);
	jb_obj_end(jb);
	jb_obj_end(jb);
}

static void
sim_write_route(struct jbuf *jb, const char *key, const char *queue, const char *rule,
                const char *reason)
{
	jb_key(jb, key);
	jb_obj_begin(jb);
	jb_kstr(jb, "queue", queue);
	jb_kstr(jb, "rule", rule);
	jb_kstr(jb, "reason", reason);
	jb_obj_end(jb);
}

static void
sim_reply(struct ops_job *oj, struct jbuf *jb)
{
	struct sim_job *sj = (struct sim_job *)oj;
	size_t i;

	jb_kint(jb, "calls", (int64_t)sj->calls);
	jb_kint(jb, "since", sj->since);
	jb_kint(jb, "until", sj->until);
	if (sj->truncated)
		jb_kbool(jb, "truncated", 1);
	sim_write_side(jb, "current", &sj->cur);
	sim_write_side(jb, "candidate", &sj->cand);
	jb_kint(jb, "changed_calls", (int64_t)sj->changed);
	jb_key(jb, "changed");
	jb_arr_begin(jb);
	for (i = 0; i < sj->nsample; i++) {
		const struct sim_change *c = &sj->sample[i];

		jb_obj_begin(jb);
		if (c->caller[0] != '\0')
			jb_kstr(jb, "caller", c->caller);
		else
			jb_knull(jb, "caller");
		jb_kstr(jb, "call_id", c->call_id);
		sim_write_route(jb, "from", c->from_queue, c->from_rule, c->from_reason);
		sim_write_route(jb, "to", c->to_queue, c->to_rule, c->to_reason);
		jb_obj_end(jb);
	}
	jb_arr_end(jb);
}

static void
sim_cleanup(struct ops_job *oj)
{
	struct sim_job *sj = (struct sim_job *)oj;

	policy_unref(sj->cur.policy);
	policy_unref(sj->cand.policy);
	nuisance_free(sj->cur.counters);
	nuisance_free(sj->cand.counters);
	flag_list_free(&sj->flags);
	free(sj->path);
	free(sj->dbpath);
	free(sj->errors);
}

void
op_policy_simulate(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"path", "since", "until", NULL};
	struct server *srv = s->srv;
	const char *path;
	struct sim_job *sj;
	int64_t now = ops_now(srv), since = now - 7 * 86400, until = now;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "path", PROTO_REQUIRED, 4096, &path) != 1 ||
	    proto_int(r, "since", PROTO_OPTIONAL, 0, PROTO_TIME_MAX, &since) == -1 ||
	    proto_int(r, "until", PROTO_OPTIONAL, 0, PROTO_TIME_MAX, &until) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	/* Absent ends keep their defaults; both ends count, so since == until is one second. */
	if (until < since) {
		ops_reply_error(s, r, PROTO_BAD_FIELD, "'until' must not be before 'since'");
		return;
	}
	sj = calloc(1, sizeof(*sj));
	if (sj == NULL || (sj->path = strdup(path)) == NULL ||
	    (sj->dbpath = strdup(srv->calls_db)) == NULL) {
		if (sj != NULL) {
			free(sj->path);
			free(sj);
		}
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	snprintf(sj->cc, sizeof(sj->cc), "%s", srv->settings.country_code);
	sj->since = since;
	sj->until = until;
	sj->cur.policy = policy_ref(srv->policy);
	sj->oj.reply = sim_reply;
	sj->oj.cleanup = sim_cleanup;
	ops_job_submit(s, r, &sj->oj, srv->query, sim_run);
}
