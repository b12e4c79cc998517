/* flag.revoke: like flag.add, committed by the writer before the reply. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "sub.h"
#include "writer.h"

struct flag_revoke_job {
	struct job job; /* first: the writer sees only this */
	struct session *s;
	struct pending *slot;
	char *idjson;
	const char *role;
	int64_t flag_id;
	int64_t ts;
	char *by;
	char *reason;
	struct flag result;
};

static void
flag_revoke_run(void *db, struct job *job)
{
	struct flag_revoke_job *rj = (struct flag_revoke_job *)job;

	job->status =
	    store_flag_revoke(db, rj->flag_id, rj->by, rj->reason, rj->role, rj->ts, &rj->result);
}

static void
flag_revoke_done(struct job *job)
{
	struct flag_revoke_job *rj = (struct flag_revoke_job *)job;
	struct jbuf jb;
	char *line, msg[300];
	size_t len;

	if (job->status == STORE_OK) {
		sub_event_flag(rj->s->srv, "revoke", &rj->result, rj->ts);
		jb_init(&jb);
		proto_reply_ok(&jb, rj->idjson);
		jb_key(&jb, "flag");
		flag_write_json(&jb, &rj->result);
		proto_reply_end(&jb);
		line = jb_steal(&jb, &len);
	} else {
		if (job->status == STORE_NOT_FOUND)
			snprintf(msg, sizeof(msg), "no flag %lld", (long long)rj->flag_id);
		else if (job->status == STORE_CONFLICT)
			snprintf(msg, sizeof(msg), "flag %lld is already revoked",
			         (long long)rj->flag_id);
		else
			snprintf(msg, sizeof(msg), "%s",
			         job->errmsg[0] ? job->errmsg : "database unavailable");
		line = ops_job_error_line(rj->s->srv, rj->idjson, ops_store_error(job->status), msg,
		                          &len);
	}
	session_fulfil(rj->s, rj->slot, line, line != NULL ? len : 0);
	flag_clear(&rj->result);
	free(rj->by);
	free(rj->reason);
	free(rj->idjson);
	free(rj);
}

void
op_flag_revoke(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"flag_id", "by", "reason", NULL};
	struct server *srv = s->srv;
	struct flag_revoke_job *rj;
	const char *by, *reason, *id;
	int64_t flag_id, ts;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_int(r, "flag_id", PROTO_REQUIRED, 1, INT64_C(9007199254740991), &flag_id) != 1 ||
	    proto_str(r, "by", PROTO_REQUIRED, FLAG_NAME_MAX, &by) != 1 ||
	    proto_str(r, "reason", PROTO_REQUIRED, FLAG_REASON_MAX, &reason) != 1 ||
	    proto_ts(r, ops_now(srv), &ts) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	if (by[0] == '\0' || reason[0] == '\0') {
		ops_reply_error(s, r, PROTO_BAD_FIELD,
		                by[0] == '\0' ? "field 'by' must not be empty"
		                              : "field 'reason' must not be empty");
		return;
	}
	rj = calloc(1, sizeof(*rj));
	id = proto_req_id(r);
	if (rj == NULL || (id != NULL && (rj->idjson = strdup(id)) == NULL) ||
	    (rj->by = strdup(by)) == NULL || (rj->reason = strdup(reason)) == NULL ||
	    (rj->slot = session_reserve(s)) == NULL) {
		if (rj != NULL) {
			free(rj->by);
			free(rj->reason);
			free(rj->idjson);
			free(rj);
		}
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	rj->s = s;
	rj->role = s->role_name;
	rj->flag_id = flag_id;
	rj->ts = ts;
	rj->job.run = flag_revoke_run;
	rj->job.done = flag_revoke_done;
	writer_submit(srv->writer, &rj->job);
}
