/*
 * call.report: an agent reports abuse during a call. The flag, the report, a follow-up when the
 * policy asks for one and their audit rows are committed together by the writer; the reply is
 * the mid-call instruction the policy gives for the code. A retry of the same report finds the
 * first one and writes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callerset.h"
#include "calls.h"
#include "followup.h"
#include "lifecycle.h"
#include "ops.h"
#include "route.h"
#include "sub.h"

struct report_job {
	struct ops_job oj;     /* first */
	struct policy *policy; /* a reference: the decision points into it */
	struct decision d;
	char call_id[CALLS_CALL_ID_SIZE];
	char caller[NUMBER_BUFSZ];
	char *code, *agent, *note;
	int64_t ts, expires_at, followup_due;
	int alert;
	struct flag flag;
	struct followup fu;
	int duplicate;
};

static void
report_run(void *db, struct job *job)
{
	struct report_job *rj = (struct report_job *)job;
	struct report_in in = {
	    .call_id = rj->call_id,
	    .caller = rj->caller,
	    .code = rj->code,
	    .agent = rj->agent,
	    .note = rj->note,
	    .ts = rj->ts,
	    .expires_at = rj->expires_at,
	    .followup_due = rj->followup_due,
	};

	job->status =
	    store_report_add(db, &in, rj->oj.s->role_name, &rj->flag, &rj->fu, &rj->duplicate);
}

static void
report_reply(struct ops_job *oj, struct jbuf *jb)
{
	struct report_job *rj = (struct report_job *)oj;

	jb_kstr(jb, "call_id", rj->call_id);
	route_write_json(jb, &rj->d);
	jb_key(jb, "flag");
	if (rj->flag.id != 0)
		flag_write_json(jb, &rj->flag);
	else
		jb_null(jb);
	jb_key(jb, "followup");
	if (rj->fu.id != 0)
		followup_write_json(jb, &rj->fu);
	else
		jb_null(jb);
	jb_kbool(jb, "duplicate", rj->duplicate);
	if (rj->duplicate)
		return;
	if (rj->flag.id != 0)
		sub_event_flag(oj->srv, "add", &rj->flag, rj->ts);
	if (rj->alert)
		sub_event_alert(oj->srv, rj->caller[0] ? rj->caller : NULL, rj->code, rj->call_id,
		                rj->agent, rj->note ? rj->note : "reported during the call",
		                rj->ts);
}

static void
report_cleanup(struct ops_job *oj)
{
	struct report_job *rj = (struct report_job *)oj;

	policy_unref(rj->policy);
	free(rj->code);
	free(rj->agent);
	free(rj->note);
	flag_clear(&rj->flag);
	followup_clear(&rj->fu);
}

void
op_call_report(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"call_id", "code", "agent", "note", NULL};
	struct server *srv = s->srv;
	const char *call_id, *code, *agent, *note = NULL;
	const struct policy_report *rep;
	struct report_job *rj;
	struct call *c = NULL;
	int64_t ts;
	int ci, qi;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "call_id", PROTO_REQUIRED, CALLS_CALL_ID_SIZE - 1, &call_id) != 1 ||
	    proto_str(r, "code", PROTO_REQUIRED, FLAG_CODE_MAX, &code) != 1 ||
	    proto_str(r, "agent", PROTO_REQUIRED, FLAG_NAME_MAX, &agent) != 1 ||
	    proto_str(r, "note", PROTO_OPTIONAL, FLAG_REASON_MAX, &note) == -1 ||
	    proto_ts(r, ops_now(srv), &ts) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	ci = policy_code_index(srv->policy, code);
	if (ci < 0)
		proto_req_fail(r, PROTO_BAD_FIELD, "field 'code' names no code of the policy");
	else if (agent[0] == '\0')
		proto_req_fail(r, PROTO_BAD_FIELD, "field 'agent' must not be empty");
	else if ((c = lifecycle_find(srv, call_id)) == NULL)
		proto_req_fail(r, PROTO_NOT_FOUND, "no call '%.64s' in progress", call_id);
	if (proto_req_error(r, NULL) != PROTO_OK) {
		ops_reply_req_error(s, r);
		return;
	}
	rj = calloc(1, sizeof(*rj));
	if (rj == NULL || (rj->code = strdup(code)) == NULL ||
	    (rj->agent = strdup(agent)) == NULL ||
	    (note != NULL && note[0] != '\0' && (rj->note = strdup(note)) == NULL)) {
		if (rj != NULL)
			report_cleanup(&rj->oj);
		free(rj);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	rj->policy = policy_ref(srv->policy);
	qi = policy_queue_index(rj->policy, c->queue);
	route_report(rj->policy, ci, qi >= 0 ? &rj->policy->queues[qi] : NULL, &rj->d);
	rep = &rj->policy->on_report[ci];
	snprintf(rj->call_id, sizeof(rj->call_id), "%s", call_id);
	snprintf(rj->caller, sizeof(rj->caller), "%s", c->caller);
	rj->ts = ts;
	rj->alert = rep->alert;
	if (rj->policy->codes[ci].expires_s != 0)
		rj->expires_at = ts + rj->policy->codes[ci].expires_s;
	if (rep->followup_s != 0)
		rj->followup_due = ts + rep->followup_s;
	rj->oj.reply = report_reply;
	rj->oj.cleanup = report_cleanup;
	if (rj->caller[0] != '\0') /* the report flags the caller: its next offer must look */
		callerset_add(srv->flagged, rj->caller);
	ops_job_submit(s, r, &rj->oj, srv->writer, report_run);
}
