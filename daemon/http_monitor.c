/*
 * Monitoring over HTTP. GET /healthz says whether the daemon is serving: not shutting down, and
 * the loop's reader connection answers the indexed read every decision makes. GET /metrics is
 * the Prometheus text format (0.0.4); every counter is read on the loop, except the active
 * flags by code, which are counted on the query thread (a scan of the flags table must not
 * hold up calls) and added to the text when that count is back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "http.h"
#include "ops.h"
#include "writer.h"

#define MONITOR_CODES_MAX 64
#define MONITOR_CTYPE     "text/plain; version=0.0.4; charset=utf-8"

void
http_healthz(struct http_req *hr)
{
	struct server *srv = hr->h->srv;
	enum store_status st;
	struct jbuf *jb = &srv->out;

	/* "+0" is never a normalised number: routing's lookup reads its index and finds nothing. */
	st = store_caller_flags_brief(srv->reader, "+0", 1, &srv->flags);
	flag_list_clear(&srv->flags);
	if (st != STORE_OK) {
		char msg[300];

		srv->m.db_errors++;
		snprintf(msg, sizeof(msg), "database unreadable: %s", store_errmsg(srv->reader));
		http_send_error(hr, 503, "unavailable", msg);
		return;
	}
	jb_reset(jb);
	proto_reply_ok(jb, NULL);
	jb_kstr(jb, "status", "serving");
	jb_kstr(jb, "version", CW_VERSION);
	jb_kstr(jb, "policy", srv->policy->version);
	jb_kint(jb, "uptime_s", ops_now(srv) - srv->started_at);
	jb_kbool(jb, "calllog_failing", writer_failing(srv->calllog_writer));
	proto_reply_end(jb);
	http_send(hr, 200, NULL, jb->oom ? "" : jb->data, jb->oom ? 0 : jb->len);
}

struct monitor_job {
	struct job job; /* first: the writer sees only this */
	struct http_req *hr;
	struct jbuf text; /* everything but the flags, written on the loop */
	int64_t ts;
	int n; /* codes counted, -1 when the count failed */
	struct store_code_count codes[MONITOR_CODES_MAX];
};

static void
monitor_count(void *db, struct job *job)
{
	struct monitor_job *mj = (struct monitor_job *)job;

	mj->n = store_count_active_by_code(db, mj->ts, mj->codes, MONITOR_CODES_MAX);
	job->status = mj->n < 0 ? STORE_ERROR : STORE_OK;
}

/* The active flags of each policy code (0 when none), then of codes the policy dropped. */
static void
monitor_write_flags(struct server *srv, struct monitor_job *mj)
{
	const struct policy *p = srv->policy;
	const char *labels[2] = {"code", NULL};
	unsigned char seen[MONITOR_CODES_MAX] = {0};
	size_t i;
	int k;

	metrics_head(
	    &mj->text, "callwarden_flags_active", "gauge",
	    "Flags in force (not revoked, not expired), by code; counted in the database.");
	if (mj->n < 0)
		return;
	for (i = 0; i < p->ncodes; i++) {
		int64_t n = 0;

		for (k = 0; k < mj->n; k++)
			if (strcmp(mj->codes[k].code, p->codes[i].name) == 0) {
				n = mj->codes[k].n;
				seen[k] = 1;
			}
		labels[1] = p->codes[i].name;
		metrics_sample_u64(&mj->text, "callwarden_flags_active", labels, 1, (uint64_t)n);
	}
	for (k = 0; k < mj->n; k++)
		if (!seen[k]) {
			labels[1] = mj->codes[k].code;
			metrics_sample_u64(&mj->text, "callwarden_flags_active", labels, 1,
			                   (uint64_t)mj->codes[k].n);
		}
}

static void
monitor_done(struct job *job)
{
	struct monitor_job *mj = (struct monitor_job *)job;
	struct server *srv = mj->hr->h->srv;

	if (job->status != STORE_OK) {
		srv->m.db_errors++;
		mj->n = -1;
	}
	monitor_write_flags(srv, mj);
	if (mj->text.oom)
		http_send_error(mj->hr, 500, "internal", "out of memory building the metrics");
	else
		http_send(mj->hr, 200, MONITOR_CTYPE, mj->text.data, mj->text.len);
	jb_free(&mj->text);
	free(mj);
}

static void
monitor_u64(struct jbuf *out, const char *name, const char *type, const char *help, uint64_t v)
{
	metrics_head(out, name, type, help);
	metrics_sample_u64(out, name, NULL, 0, v);
}

/* A counter family of labelled series. */
static void
monitor_vec(struct jbuf *out, const char *name, const char *help, const char *const *labels,
            const struct metrics_vec *v)
{
	metrics_head(out, name, "counter", help);
	metrics_vec_write(out, name, labels, v);
}

/* Everything counted on the loop. */
static void
monitor_write(struct server *srv, struct http *h, struct jbuf *out)
{
	static const char *const decision_labels[] = {"queue", "rule"};
	static const char *const type_label[] = {"type"};
	static const char *const code_label[] = {"code"};
	static const char *const topics[] = {"alert", "flag", "decision"};
	const char *labels[2];
	size_t i;

	labels[0] = "version";
	labels[1] = CW_VERSION;
	metrics_head(out, "callwarden_build_info", "gauge", "The daemon's version, as a label.");
	metrics_sample_u64(out, "callwarden_build_info", labels, 1, 1);
	monitor_u64(out, "callwarden_start_time_seconds", "gauge",
	            "When the daemon started, Unix seconds.", (uint64_t)srv->started_at);

	monitor_vec(
	    out, "callwarden_decisions_total",
	    "Offered calls decided, by queue and rule (dry runs and retried offers left out).",
	    decision_labels, &srv->m.decisions);
	monitor_u64(out, "callwarden_decisions_degraded_total", "counter",
	            "Decisions made without the caller's history (the default queue), because "
	            "the database could not be read.",
	            srv->degraded);
	metrics_head(out, "callwarden_decision_latency_seconds", "histogram",
	             "Time from a call.offered request being read to its decision being written, "
	             "over the sockets and HTTP.");
	metrics_hist_write(out, "callwarden_decision_latency_seconds", &srv->m.latency);

	monitor_vec(out, "callwarden_events_total",
	            "Requests run, by op: call events (call.offered, call.answered, call.ended, "
	            "call.abandoned, call.report) and every other op.",
	            type_label, &srv->m.events);
	monitor_vec(out, "callwarden_errors_total",
	            "Error replies, by error code (protocol codes, and HTTP-only ones such as "
	            "method_not_allowed).",
	            code_label, &srv->m.errors);
	monitor_u64(out, "callwarden_db_errors_total", "counter",
	            "Database reads and writes that failed (locked, unreadable, disk full).",
	            srv->m.db_errors);

	metrics_head(out, "callwarden_connections", "gauge",
	             "Open connections, by transport: the TCP and Unix sockets, and HTTP.");
	labels[0] = "transport";
	labels[1] = "socket";
	metrics_sample_u64(out, "callwarden_connections", labels, 1, srv->nsessions);
	labels[1] = "http";
	metrics_sample_u64(out, "callwarden_connections", labels, 1, h->nconns);
	monitor_vec(out, "callwarden_http_requests_total", "HTTP replies, by status code.",
	            code_label, &h->statuses);
	monitor_u64(out, "callwarden_http_connections_refused_total", "counter",
	            "HTTP connections closed at once because max_connections were open.",
	            h->refused);
	monitor_u64(out, "callwarden_http_timeouts_total", "counter",
	            "HTTP connections closed for sending no complete request within "
	            "http_timeout.",
	            h->timeouts);

	metrics_head(out, "callwarden_subscribers", "gauge", "Subscribed connections, by topic.");
	labels[0] = "topic";
	for (i = 0; i < 3; i++) {
		labels[1] = topics[i];
		metrics_sample_u64(out, "callwarden_subscribers", labels, 1, srv->subscribers[i]);
	}
	monitor_u64(out, "callwarden_subscriber_overflows_total", "counter",
	            "Times a slow subscriber's queue filled and it started losing events.",
	            srv->sub_overflows);
	monitor_u64(out, "callwarden_subscriber_events_dropped_total", "counter",
	            "Events dropped for slow subscribers.", srv->sub_dropped);
	monitor_u64(out, "callwarden_calls_open", "gauge", "Calls offered and not yet ended.",
	            calls_open_count(srv->calls));
	monitor_u64(out, "callwarden_writer_backlog", "gauge",
	            "Flag, report and audit writes waiting for their commit.",
	            writer_backlog(srv->writer));

	labels[0] = "version";
	labels[1] = srv->policy->version;
	metrics_head(out, "callwarden_policy_info", "gauge",
	             "The routing policy in force, its version as a label.");
	metrics_sample_u64(out, "callwarden_policy_info", labels, 1, 1);
	monitor_u64(out, "callwarden_policy_loaded_timestamp_seconds", "gauge",
	            "When the policy in force was loaded (start or last reload), Unix seconds.",
	            (uint64_t)srv->policy->loaded_at);
}

void
http_metrics(struct http_req *hr)
{
	struct server *srv = hr->h->srv;
	struct monitor_job *mj = calloc(1, sizeof(*mj));
	struct http_req *held = mj != NULL ? http_hold(hr) : NULL;

	if (held == NULL) {
		free(mj);
		http_send_error(hr, 500, "internal", "out of memory");
		return;
	}
	jb_init(&mj->text);
	monitor_write(srv, hr->h, &mj->text);
	mj->hr = held;
	mj->ts = ops_now(srv);
	mj->job.run = monitor_count;
	mj->job.done = monitor_done;
	writer_submit(srv->query, &mj->job);
}
