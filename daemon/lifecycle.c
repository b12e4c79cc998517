/*
 * Calls in progress and what they leave behind. Every offered call is remembered in memory (the
 * calls table) and logged; answered and ended events update both. Log writes go to a writer
 * thread of their own that commits every 50 ms, so routing never waits for the disk and a crash
 * loses at most the last group of call-log rows. The nuisance counters live in memory, are fed
 * by the same events and are rebuilt from the log at start-up. A 1 s tick closes calls that
 * never got an end event (ended_by "system") and prunes log rows past the retention, a small
 * batch at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calllog.h"
#include "calls.h"
#include "http.h"
#include "lifecycle.h"
#include "log.h"
#include "logbatch.h"
#include "ops.h"
#include "textcopy.h"
#include "writer.h"

#define CALLLOG_INTERVAL_MS 50
#define CALLLOG_BUSY_MS     2000
#define CALLLOG_NICE        WRITER_IDLE /* nobody waits for the call log: decisions go first */
#define PRUNE_BATCH         1000
#define RECENT_SCAN_CAP     10000
#define EXPIRE_BUDGET       10000

/* A prune of rows past the retention: one small batch, reported back to the loop. */
struct prune_job {
	struct job job;
	int64_t before;
	size_t deleted;
	struct server *srv;
};

/* A logged row back as a call in progress (start-up). */
static void
lifecycle_from_row(struct call *c, const struct call_row *r)
{
	memset(c, 0, sizeof(*c));
	c->id = r->id;
	text_copy(c->call_id, sizeof(c->call_id), r->call_id);
	text_copy(c->caller, sizeof(c->caller), r->caller);
	text_copy(c->dialed, sizeof(c->dialed), r->dialed);
	c->offered_at = r->offered_at;
	c->action = strcmp(r->action, "reject") == 0 ? CALLS_ACTION_REJECT : CALLS_ACTION_QUEUE;
	text_copy(c->queue, sizeof(c->queue), r->queue);
	text_copy(c->rule, sizeof(c->rule), r->rule);
	text_copy(c->policy, sizeof(c->policy), r->policy);
	c->degraded = r->degraded;
	c->answered_at = r->answered_at;
	text_copy(c->agent, sizeof(c->agent), r->agent);
}

static enum store_status
calllog_db_begin(void *db)
{
	return calllog_begin(db);
}

static enum store_status
calllog_db_commit(void *db)
{
	return calllog_commit(db);
}

static void
calllog_db_rollback(void *db)
{
	calllog_rollback(db);
}

static const char *
calllog_db_errmsg(const void *db)
{
	return calllog_errmsg(db);
}

static void
calllog_db_close(void *db)
{
	calllog_close(db);
}

static void
lifecycle_prune_run(void *db, struct job *job)
{
	struct prune_job *pj = (struct prune_job *)job;

	job->status = calllog_prune(db, pj->before, PRUNE_BATCH, &pj->deleted);
}

static void
lifecycle_prune_done(struct job *job)
{
	struct prune_job *cj = (struct prune_job *)job;
	struct server *srv = cj->srv;

	srv->pruning = 0;
	if (job->status != STORE_OK)
		log_warnx("call log prune failed: %s", job->errmsg);
	else if (cj->deleted > 0)
		log_debug("call log pruned rows=%zu", cj->deleted);
	/* A full batch means more is due: go on at the next tick rather than wait a minute. */
	srv->prune_more = job->status == STORE_OK && cj->deleted == PRUNE_BATCH;
	free(cj);
}

/* Writes an ended call to the log and feeds the counters. */
static void
lifecycle_log_end(struct server *srv, const struct call *c)
{
	const struct nuisance_cfg *cfg = &srv->policy->nuisance.cfg;
	int64_t talk = calls_talk_s(c);
	int is_short;

	logbatch_add(srv->calllog_batch, LOGBATCH_ENDED, c);
	if (c->key[0] == '\0')
		return;
	is_short = nuisance_is_short(cfg, strcmp(c->ended_by, "caller") == 0, c->abandoned,
	                             talk < 0 ? 0 : talk);
	nuisance_ended(srv->nuisance, c->key, c->ended_at, talk, is_short);
}

/* Logs an open call as ended by the daemon at ts (the table marks the entry itself). */
static void
lifecycle_close_as_system(struct server *srv, const struct call *open, int64_t ts)
{
	struct call c = *open;

	c.ended_at = ts > c.offered_at ? ts : c.offered_at;
	text_copy(c.ended_by, sizeof(c.ended_by), "system");
	lifecycle_log_end(srv, &c);
}

struct lifecycle_tick {
	struct server *srv;
	int64_t now;
};

static void
lifecycle_close_stale(struct call *c, void *arg)
{
	struct lifecycle_tick *t = arg;

	log_debug("call closed by the daemon: no end event id=%lld", (long long)c->id);
	lifecycle_close_as_system(t->srv, c, t->now);
}

static void
lifecycle_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	const struct policy_calls *pc = &srv->policy->calls;
	int64_t now = ops_now(srv);
	struct lifecycle_tick t = {srv, now};

	(void)fd;
	(void)what;
	calls_expire(srv->calls, now, pc->close_after_s, EXPIRE_BUDGET, lifecycle_close_stale, &t);
	if (!srv->pruning && (srv->prune_more || now - srv->last_prune >= 60)) {
		struct prune_job *cj = calloc(1, sizeof(*cj));

		if (cj == NULL)
			return;
		cj->before = now - pc->retention_s;
		cj->srv = srv;
		cj->job.run = lifecycle_prune_run;
		cj->job.done = lifecycle_prune_done;
		srv->pruning = 1;
		srv->prune_more = 0;
		srv->last_prune = now;
		writer_submit(srv->calllog_writer, &cj->job);
	}
}

/*
 * Reading stops while settings.calllog_backlog_max call-log rows wait for their commit (by
 * default about 0.7 s of full lifecycle traffic, some 40 MiB) and goes on once half have been
 * written: the daemon then runs at the disk's pace instead of growing without bound.
 */
static size_t
lifecycle_backlog_low(const struct server *srv)
{
	return (size_t)srv->settings.calllog_backlog_max / 2;
}

/* While reading is held: resume every connection once the call log has caught up. */
static void
lifecycle_calllog_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	/* A failing database is not waited for: its writer bounds what it keeps itself. */
	if (logbatch_rows_pending(srv->calllog_batch) > lifecycle_backlog_low(srv) &&
	    !writer_failing(srv->calllog_writer))
		return;
	srv->calllog_full = 0;
	event_del(srv->calllog_wait);
	log_info("call log caught up backlog=%zu: reading again",
	         logbatch_rows_pending(srv->calllog_batch));
	session_resume_all(srv);
	http_resume_parked(srv);
}

int
lifecycle_backlogged(struct server *srv)
{
	static const struct timeval poll = {0, 10000};

	if (srv->calllog_full)
		return 1;
	if (srv->calllog_batch == NULL ||
	    logbatch_rows_pending(srv->calllog_batch) < (size_t)srv->settings.calllog_backlog_max ||
	    writer_failing(srv->calllog_writer))
		return 0;
	if (srv->calllog_wait == NULL || event_add(srv->calllog_wait, &poll) == -1)
		return 0; /* nothing would wake the connections: never hold them */
	srv->calllog_full = 1;
	log_warnx("call log behind backlog=%zu: holding reads until it catches up",
	          logbatch_rows_pending(srv->calllog_batch));
	return 1;
}

static struct nuisance_cfg
lifecycle_nuisance_cfg(const struct policy *p)
{
	return p->nuisance.cfg;
}

/* Start-up: replays the log's recent rows into the counters, oldest first. */
static int
lifecycle_rebuild_row(const struct call_row *r, void *arg)
{
	struct server *srv = arg;
	const struct nuisance_cfg *cfg = &srv->policy->nuisance.cfg;
	char key[NUISANCE_KEY_MAX];

	if (nuisance_key(key, r->caller[0] ? r->caller : NULL, r->dialed[0] ? r->dialed : NULL) ==
	    -1)
		return 0;
	nuisance_offered(srv->nuisance, key, r->offered_at, NULL);
	if (r->ended_at != 0)
		nuisance_ended(srv->nuisance, key, r->ended_at, r->talk_s,
		               nuisance_is_short(cfg, strcmp(r->ended_by, "caller") == 0,
		                                 r->abandoned, r->talk_s < 0 ? 0 : r->talk_s));
	srv->rebuilt_rows++;
	return 0;
}

/* Start-up: calls still open in the log are remembered again so their events find them. */
static int
lifecycle_reopen_row(const struct call_row *r, void *arg)
{
	struct server *srv = arg;
	struct call c, *out, evicted;

	lifecycle_from_row(&c, r);
	nuisance_key(c.key, r->caller[0] ? r->caller : NULL, r->dialed[0] ? r->dialed : NULL);
	if (calls_add(srv->calls, &c, &out, &evicted) == CALLS_ADDED_EVICTED)
		lifecycle_close_as_system(srv, &evicted, r->offered_at);
	return 0;
}

static int64_t
lifecycle_longest_window(const struct nuisance_cfg *cfg)
{
	int64_t w = cfg->repeat_window_s;

	if (cfg->short_window_s > w)
		w = cfg->short_window_s;
	if (cfg->redial_gap_s > w)
		w = cfg->redial_gap_s;
	return w;
}

int
lifecycle_start(struct server *srv, char **cause)
{
	struct writer_db db = {NULL,
	                       calllog_db_begin,
	                       calllog_db_commit,
	                       calllog_db_rollback,
	                       calllog_db_errmsg,
	                       calllog_db_close,
	                       CALLLOG_NICE};
	const struct policy *p = srv->policy;
	struct nuisance_cfg cfg = lifecycle_nuisance_cfg(p);
	struct timeval second = {1, 0};
	struct calllog *cl;
	int64_t now = (int64_t)time(NULL), max_id;

	srv->nuisance = nuisance_new(&cfg);
	srv->calls = calls_new(p->calls.max_calls, p->calls.linger_s);
	if (srv->nuisance == NULL || srv->calls == NULL) {
		*cause = strdup("out of memory for the call tables");
		return -1;
	}
	if (calllog_path(srv->settings.db, srv->calls_db, sizeof(srv->calls_db)) == -1) {
		*cause = strdup("the call log's path beside it is too long");
		return -1;
	}
	if (calllog_create(srv->calls_db, srv->settings.db, cause) == -1)
		return -1;
	log_info("call log %s", srv->calls_db);
	cl = calllog_open(srv->calls_db, CALLLOG_BUSY_MS, cause);
	if (cl == NULL)
		return -1;
	max_id = calllog_max_id(cl);
	if (max_id < 0 ||
	    calllog_scan_since(cl, now - lifecycle_longest_window(&cfg), lifecycle_rebuild_row,
	                       srv) != STORE_OK ||
	    calllog_open_calls(cl, now - p->calls.close_after_s, lifecycle_reopen_row, srv) !=
	        STORE_OK) {
		if (asprintf(cause, "call log: %s", calllog_errmsg(cl)) == -1)
			*cause = NULL;
		calllog_close(cl);
		return -1;
	}
	srv->next_call_row = max_id + 1;
	log_info("call log rebuilt rows=%zu open_calls=%zu tracked=%zu", srv->rebuilt_rows,
	         calls_open_count(srv->calls), nuisance_tracked(srv->nuisance));
	db.db = cl;
	/* The batch gathers for an interval; the writer commits each batch as it comes. */
	srv->calllog_writer = writer_start(srv->base, &db, cause);
	if (srv->calllog_writer == NULL)
		return -1;
	writer_retain(srv->calllog_writer, 2 * (size_t)srv->settings.calllog_backlog_max);
	srv->calllog_batch = logbatch_new(srv->base, srv->calllog_writer, CALLLOG_INTERVAL_MS);
	if (srv->calllog_batch == NULL) {
		*cause = strdup("out of memory");
		return -1;
	}
	srv->calllog_reader = calllog_open(srv->calls_db, 0, cause);
	if (srv->calllog_reader == NULL)
		return -1;
	srv->calllog_wait = event_new(srv->base, -1, EV_PERSIST, lifecycle_calllog_wait_cb, srv);
	srv->tick = event_new(srv->base, -1, EV_PERSIST, lifecycle_tick_cb, srv);
	if (srv->calllog_wait == NULL || srv->tick == NULL || event_add(srv->tick, &second) == -1) {
		*cause = strdup("cannot start the call tick");
		return -1;
	}
	return 0;
}

void
lifecycle_stop(struct server *srv)
{
	if (srv->tick != NULL)
		event_free(srv->tick);
	srv->tick = NULL;
	if (srv->calllog_wait != NULL)
		event_free(srv->calllog_wait);
	srv->calllog_wait = NULL;
	srv->calllog_full = 0;
	if (srv->calllog_batch != NULL)
		logbatch_flush(srv->calllog_batch);
	writer_stop(srv->calllog_writer); /* its last batches report back to calllog_batch */
	srv->calllog_writer = NULL;
	logbatch_free(srv->calllog_batch);
	srv->calllog_batch = NULL;
	calllog_close(srv->calllog_reader);
	srv->calllog_reader = NULL;
	calls_free(srv->calls);
	srv->calls = NULL;
	nuisance_free(srv->nuisance);
	srv->nuisance = NULL;
}

void
lifecycle_policy_changed(struct server *srv)
{
	struct nuisance_cfg cfg = lifecycle_nuisance_cfg(srv->policy);

	if (nuisance_reconfigure(srv->nuisance, &cfg) == -1)
		log_warnx("nuisance counters keep their old settings: out of memory");
}

void
lifecycle_counters(struct server *srv, const char *caller, const char *dialed, int64_t ts,
                   int record, struct nuisance_view *v, char key[NUISANCE_KEY_MAX])
{
	memset(v, 0, sizeof(*v));
	v->since_last_end = -1;
	if (nuisance_key(key, caller, dialed) == -1)
		return;
	if (record)
		nuisance_offered(srv->nuisance, key, ts, v);
	else
		nuisance_peek(srv->nuisance, key, ts, v);
}

void
lifecycle_offered(struct server *srv, const char *call_id, const char *caller, const char *dialed,
                  const char *key, int64_t ts, const struct decision *d)
{
	struct call c, *out, evicted;
	int rc;

	memset(&c, 0, sizeof(c));
	c.id = srv->next_call_row++;
	text_copy(c.call_id, sizeof(c.call_id), call_id);
	text_copy(c.caller, sizeof(c.caller), caller);
	text_copy(c.dialed, sizeof(c.dialed), dialed);
	text_copy(c.key, sizeof(c.key), key);
	c.offered_at = ts;
	c.action = d->action == DECISION_REJECT;
	c.degraded = d->degraded;
	text_copy(c.queue, sizeof(c.queue), d->queue->name);
	text_copy(c.rule, sizeof(c.rule), d->rule);
	text_copy(c.policy, sizeof(c.policy), d->policy->version);
	rc = calls_add(srv->calls, &c, &out, &evicted);
	if (rc == -1) {
		log_warnx("call not remembered: %s", strerror(errno));
		return;
	}
	if (rc == CALLS_DUPLICATE)
		return; /* the caller checked: only a call_id reused while its entry lingers */
	if (rc == CALLS_ADDED_EVICTED) {
		/* The table is full of open calls: the oldest is closed rather than forgotten. */
		lifecycle_close_as_system(srv, &evicted, ts);
	}
	logbatch_add(srv->calllog_batch, LOGBATCH_INSERT, &c);
}

/* Whether an automatic flag for caller is still on its way to the database. */
static int
lifecycle_auto_pending(struct server *srv, const char *caller)
{
	size_t i;

	for (i = 0; i < LIFECYCLE_AUTO_RECENT; i++)
		if (srv->auto_recent[i].pending && strcmp(srv->auto_recent[i].caller, caller) == 0)
			return 1;
	return 0;
}

void
lifecycle_auto_flag_done(struct server *srv, const char *caller)
{
	size_t i;

	for (i = 0; i < LIFECYCLE_AUTO_RECENT; i++)
		if (srv->auto_recent[i].pending && strcmp(srv->auto_recent[i].caller, caller) == 0)
			srv->auto_recent[i].pending = 0;
}

void
lifecycle_auto_flag(struct server *srv, const char *caller, const struct nuisance_view *v,
                    const struct flag_list *flags, int64_t ts)
{
	const struct policy *p = srv->policy;
	const struct policy_nuisance *pn = &p->nuisance;
	const char *code;
	unsigned fired;
	struct flag f;
	char reason[ROUTE_REASON_MAX];
	size_t i;

	if (caller == NULL || pn->auto_flag_code < 0)
		return;
	fired = policy_fired_patterns(v) & pn->auto_flag_patterns;
	if (fired == 0)
		return;
	code = p->codes[pn->auto_flag_code].name;
	for (i = 0; i < flags->n; i++)
		if (strcmp(flags->v[i].code, code) == 0 && flag_is_active(&flags->v[i], ts))
			return;
	if (lifecycle_auto_pending(srv, caller))
		return;

	snprintf(reason, sizeof(reason), "automatic: %s%s%s",
	         (fired & NUISANCE_PATTERN_REPEAT) ? "repeat calls" : "",
	         (fired & NUISANCE_PATTERN_REPEAT) && (fired & ~NUISANCE_PATTERN_REPEAT) ? ", "
	                                                                                 : "",
	         (fired & NUISANCE_PATTERN_SHORT)    ? "short calls"
	         : (fired & NUISANCE_PATTERN_REDIAL) ? "rapid redial"
	                                             : "");
	if (fired & NUISANCE_PATTERN_REPEAT)
		snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
		         " (%d earlier calls within %lld s)", v->repeat,
		         (long long)pn->cfg.repeat_window_s);
	if (fired & NUISANCE_PATTERN_SHORT)
		snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
		         " (%d short calls within %lld s)", v->shorts,
		         (long long)pn->cfg.short_window_s);
	memset(&f, 0, sizeof(f));
	text_copy(f.caller, sizeof(f.caller), caller);
	f.code = strdup(code);
	f.reason = strdup(reason);
	f.created_by = strdup("callwarden");
	f.source = strdup("auto");
	f.created_at = ts;
	if (pn->auto_flag_expires_s != 0)
		f.expires_at = ts + pn->auto_flag_expires_s;
	else if (p->codes[pn->auto_flag_code].expires_s != 0)
		f.expires_at = ts + p->codes[pn->auto_flag_code].expires_s;
	if (f.code == NULL || f.reason == NULL || f.created_by == NULL || f.source == NULL) {
		flag_clear(&f);
		return;
	}
	snprintf(srv->auto_recent[srv->auto_next].caller, NUMBER_BUFSZ, "%s", caller);
	srv->auto_recent[srv->auto_next].pending = 1;
	srv->auto_next = (srv->auto_next + 1) % LIFECYCLE_AUTO_RECENT;
	op_flag_add_auto(srv, &f);
}

struct call *
lifecycle_find(struct server *srv, const char *call_id)
{
	return calls_find(srv->calls, call_id);
}

void
lifecycle_answered(struct server *srv, struct call *c, int64_t ts, const char *agent)
{
	if (c->answered_at != 0)
		return; /* the first answer wins */
	c->answered_at = ts < c->offered_at ? c->offered_at : ts;
	text_copy(c->agent, sizeof(c->agent), agent);
	logbatch_add(srv->calllog_batch, LOGBATCH_ANSWERED, c);
}

int
lifecycle_ended(struct server *srv, struct call *c, int64_t ts, const char *ended_by, int abandoned)
{
	if (c->ended_at != 0)
		return 0; /* a repeated end changes nothing */
	/* An end before the offer counts at the offer; the table takes only positive times. */
	if (ts < c->offered_at)
		ts = c->offered_at;
	calls_end(srv->calls, c, ts > 0 ? ts : 1);
	text_copy(c->ended_by, sizeof(c->ended_by), ended_by);
	c->abandoned = abandoned;
	lifecycle_log_end(srv, c);
	return 1;
}

size_t
lifecycle_recent_calls(struct server *srv, const char *caller, struct call_row *out, size_t limit)
{
	size_t n = 0;

	if (calllog_recent_for_caller(srv->calllog_reader, caller, limit, RECENT_SCAN_CAP, out,
	                              &n) != STORE_OK)
		return 0;
	return n;
}

void
lifecycle_write_call(struct jbuf *jb, const struct call_row *c)
{
	jb_obj_begin(jb);
	jb_kstr(jb, "call_id", c->call_id);
	jb_kint(jb, "offered_at", c->offered_at);
	if (c->dialed[0] != '\0')
		jb_kstr(jb, "dialed", c->dialed);
	jb_kstr(jb, "action", c->action);
	jb_kstr(jb, "queue", c->queue);
	jb_kstr(jb, "rule", c->rule);
	jb_kstr(jb, "policy", c->policy);
	if (c->answered_at != 0) {
		jb_kint(jb, "answered_at", c->answered_at);
		jb_kstr(jb, "agent", c->agent);
	}
	if (c->ended_at != 0) {
		jb_kint(jb, "ended_at", c->ended_at);
		jb_kstr(jb, "ended_by", c->ended_by);
	}
	if (c->abandoned)
		jb_kbool(jb, "abandoned", 1);
	if (c->talk_s >= 0)
		jb_kint(jb, "talk_s", c->talk_s);
	jb_obj_end(jb);
}
