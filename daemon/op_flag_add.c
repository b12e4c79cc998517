/* flag.add: validated on the loop, committed by the writer thread, answered after the commit. */
#include <stdlib.h>
#include <string.h>

#include "callerset.h"
#include "lifecycle.h"
#include "log.h"
#include "ops.h"
#include "sub.h"
#include "writer.h"

struct flag_add_job {
	struct job job; /* first: the writer sees only this */
	struct server *srv;
	struct session *s;
	struct pending *slot;
	char *idjson;
	const char *role;
	struct flag flag;
};

static void
flag_add_run(void *db, struct job *job)
{
	struct flag_add_job *fj = (struct flag_add_job *)job;

	job->status = store_flag_add(db, &fj->flag, fj->role);
}

static void
flag_add_done(struct job *job)
{
	struct flag_add_job *fj = (struct flag_add_job *)job;
	struct jbuf jb;
	char *line;
	size_t len;

	if (job->status == STORE_OK) {
		sub_event_flag(fj->srv, "add", &fj->flag, fj->flag.created_at);
		if (sub_code_alerts(fj->srv, fj->flag.code))
			sub_event_alert(fj->srv, fj->flag.caller, fj->flag.code, NULL,
			                fj->flag.created_by, fj->flag.reason, fj->flag.created_at);
	}
	if (fj->s == NULL) {
		/* An automatic flag: nobody waits for a reply. */
		lifecycle_auto_flag_done(fj->srv, fj->flag.caller);
		if (job->status == STORE_OK)
			log_info("auto flag id=%lld code=%s", (long long)fj->flag.id,
			         fj->flag.code);
		else
			log_warnx("auto flag not stored: %s", job->errmsg);
		flag_clear(&fj->flag);
		free(fj);
		return;
	}
	if (job->status == STORE_OK) {
		jb_init(&jb);
		proto_reply_ok(&jb, fj->idjson);
		jb_key(&jb, "flag");
		flag_write_json(&jb, &fj->flag);
		proto_reply_end(&jb);
		line = jb_steal(&jb, &len);
	} else
		line =
		    ops_job_error_line(fj->srv, fj->idjson, ops_store_error(job->status),
		                       job->errmsg[0] ? job->errmsg : "database unavailable", &len);
	session_fulfil(fj->s, fj->slot, line, line != NULL ? len : 0);
	flag_clear(&fj->flag);
	free(fj->idjson);
	free(fj);
}

/* Copies a string into a job-owned field; -1 when out of memory. */
static int
flag_add_copy(char **dst, const char *src)
{
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

void
op_flag_add(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"caller",     "code",         "reason", "by",
	                                     "expires_at", "expires_days", NULL};
	struct server *srv = s->srv;
	const char *caller, *code, *reason, *by, *id;
	char number[NUMBER_BUFSZ];
	struct flag_add_job *fj;
	int64_t ts, expires_at = 0;
	double days = 0;
	int code_index, has_at, has_days;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "caller", PROTO_REQUIRED, 256, &caller) != 1 ||
	    proto_str(r, "code", PROTO_REQUIRED, FLAG_CODE_MAX, &code) != 1 ||
	    proto_str(r, "reason", PROTO_REQUIRED, FLAG_REASON_MAX, &reason) != 1 ||
	    proto_str(r, "by", PROTO_REQUIRED, FLAG_NAME_MAX, &by) != 1 ||
	    proto_ts(r, ops_now(srv), &ts) == -1 ||
	    (has_at = proto_int(r, "expires_at", PROTO_OPTIONAL, 1, PROTO_TIME_MAX, &expires_at)) ==
	        -1 ||
	    (has_days = proto_num(r, "expires_days", PROTO_OPTIONAL, 1e-6, 36500, &days)) == -1 ||
	    ops_caller_number(srv, r, caller, number) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	code_index = policy_code_index(srv->policy, code);
	if (code_index < 0)
		proto_req_fail(r, PROTO_BAD_FIELD, "field 'code' names no code of the policy");
	else if (reason[0] == '\0')
		proto_req_fail(r, PROTO_BAD_FIELD, "field 'reason' must not be empty");
	else if (by[0] == '\0')
		proto_req_fail(r, PROTO_BAD_FIELD, "field 'by' must not be empty");
	else if (has_at == 1 && has_days == 1)
		proto_req_fail(r, PROTO_BAD_FIELD, "give 'expires_at' or 'expires_days', not both");
	else if (has_at == 1 && expires_at <= ts)
		proto_req_fail(r, PROTO_BAD_FIELD,
		               "field 'expires_at' must be after the flag's time");
	if (proto_req_error(r, NULL) != PROTO_OK) {
		ops_reply_req_error(s, r);
		return;
	}
	if (has_days == 1)
		expires_at = ts + (int64_t)(days * 86400.0);
	else if (has_at != 1 && srv->policy->codes[code_index].expires_s != 0)
		expires_at = ts + srv->policy->codes[code_index].expires_s;
	if (expires_at > PROTO_TIME_MAX)
		expires_at = PROTO_TIME_MAX;

	fj = calloc(1, sizeof(*fj));
	id = proto_req_id(r);
	if (fj == NULL || (id != NULL && (fj->idjson = strdup(id)) == NULL) ||
	    flag_add_copy(&fj->flag.code, code) == -1 ||
	    flag_add_copy(&fj->flag.reason, reason) == -1 ||
	    flag_add_copy(&fj->flag.created_by, by) == -1 ||
	    flag_add_copy(&fj->flag.source, "supervisor") == -1 ||
	    (fj->slot = session_reserve(s)) == NULL) {
		if (fj != NULL) {
			flag_clear(&fj->flag);
			free(fj->idjson);
			free(fj);
		}
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	memcpy(fj->flag.caller, number, sizeof(number));
	fj->flag.created_at = ts;
	fj->flag.expires_at = expires_at;
	fj->s = s;
	fj->srv = srv;
	fj->role = s->role_name;
	fj->job.run = flag_add_run;
	fj->job.done = flag_add_done;
	/* Before the commit: the caller's next offer must look, whatever the order. */
	callerset_add(srv->flagged, fj->flag.caller);
	writer_submit(srv->writer, &fj->job);
}

void
op_flag_add_auto(struct server *srv, struct flag *f)
{
	struct flag_add_job *fj;

	fj = calloc(1, sizeof(*fj));
	if (fj == NULL) {
		log_warnx("out of memory: auto flag dropped");
		flag_clear(f);
		return;
	}
	fj->flag = *f; /* takes over the strings */
	memset(f, 0, sizeof(*f));
	fj->role = "auto";
	fj->srv = srv;
	fj->job.run = flag_add_run;
	fj->job.done = flag_add_done;
	callerset_add(srv->flagged, fj->flag.caller);
	writer_submit(srv->writer, &fj->job);
}
