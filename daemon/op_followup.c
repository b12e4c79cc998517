/* followup.add, followup.done (written by the writer) and followup.list (the query thread). */
#include <stdlib.h>
#include <string.h>

#include "followup.h"
#include "ops.h"

struct followup_job {
	struct ops_job oj; /* first */
	struct followup fu;
	int64_t id, ts, now, cursor, next;
	char *by, *note, *state, *caller;
	size_t limit;
	struct followup_list list;
};

static void
followup_job_cleanup(struct ops_job *oj)
{
	struct followup_job *fj = (struct followup_job *)oj;

	followup_clear(&fj->fu);
	followup_list_free(&fj->list);
	free(fj->by);
	free(fj->note);
	free(fj->state);
	free(fj->caller);
}

static struct followup_job *
followup_job_new(void)
{
	struct followup_job *fj = calloc(1, sizeof(*fj));

	if (fj != NULL)
		fj->oj.cleanup = followup_job_cleanup;
	return fj;
}

static void
followup_reply_one(struct ops_job *oj, struct jbuf *jb)
{
	struct followup_job *fj = (struct followup_job *)oj;

	jb_key(jb, "followup");
	followup_write_json(jb, &fj->fu);
}

static void
followup_add_run(void *db, struct job *job)
{
	struct followup_job *fj = (struct followup_job *)job;

	job->status = store_followup_add(db, &fj->fu, fj->oj.s->role_name);
}

void
op_followup_add(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"caller",  "due_at", "due_in_hours", "by", "note",
	                                     "call_id", NULL};
	struct server *srv = s->srv;
	const char *caller, *by, *note, *call_id = NULL;
	char number[NUMBER_BUFSZ];
	struct followup_job *fj;
	int64_t ts, due_at = 0;
	double hours = 0;
	int has_at, has_hours;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "caller", PROTO_REQUIRED, 256, &caller) != 1 ||
	    proto_str(r, "by", PROTO_REQUIRED, FLAG_NAME_MAX, &by) != 1 ||
	    proto_str(r, "note", PROTO_REQUIRED, FLAG_REASON_MAX, &note) != 1 ||
	    proto_str(r, "call_id", PROTO_OPTIONAL, 128, &call_id) == -1 ||
	    proto_ts(r, ops_now(srv), &ts) == -1 ||
	    (has_at = proto_int(r, "due_at", PROTO_OPTIONAL, 1, PROTO_TIME_MAX, &due_at)) == -1 ||
	    (has_hours = proto_num(r, "due_in_hours", PROTO_OPTIONAL, 0, 87600, &hours)) == -1 ||
	    ops_caller_number(srv, r, caller, number) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	if (by[0] == '\0' || note[0] == '\0')
		proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' must not be empty",
		               by[0] == '\0' ? "by" : "note");
	else if (has_at == 1 && has_hours == 1)
		proto_req_fail(r, PROTO_BAD_FIELD, "give 'due_at' or 'due_in_hours', not both");
	else if (has_at != 1 && has_hours != 1)
		proto_req_fail(r, PROTO_MISSING_FIELD, "missing field 'due_at' or 'due_in_hours'");
	if (proto_req_error(r, NULL) != PROTO_OK) {
		ops_reply_req_error(s, r);
		return;
	}
	fj = followup_job_new();
	if (fj == NULL || (fj->fu.created_by = strdup(by)) == NULL ||
	    (fj->fu.note = strdup(note)) == NULL ||
	    (call_id != NULL && (fj->fu.call_id = strdup(call_id)) == NULL)) {
		if (fj != NULL)
			followup_job_cleanup(&fj->oj);
		free(fj);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	memcpy(fj->fu.caller, number, sizeof(number));
	fj->fu.created_at = ts;
	fj->fu.due_at = has_at == 1 ? due_at : ts + (int64_t)(hours * 3600.0);
	fj->oj.reply = followup_reply_one;
	ops_job_submit(s, r, &fj->oj, srv->writer, followup_add_run);
}

static void
followup_done_run(void *db, struct job *job)
{
	struct followup_job *fj = (struct followup_job *)job;

	job->status =
	    store_followup_done(db, fj->id, fj->by, fj->note, fj->ts, fj->oj.s->role_name, &fj->fu);
	if (job->status == STORE_NOT_FOUND)
		snprintf(job->errmsg, sizeof(job->errmsg), "no follow-up %lld", (long long)fj->id);
	else if (job->status == STORE_CONFLICT)
		snprintf(job->errmsg, sizeof(job->errmsg), "follow-up %lld is done already",
		         (long long)fj->id);
}

void
op_followup_done(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"id", "by", "note", NULL};
	struct server *srv = s->srv;
	const char *by, *note;
	struct followup_job *fj;
	int64_t id, ts;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_int(r, "id", PROTO_REQUIRED, 1, INT64_C(9007199254740991), &id) != 1 ||
	    proto_str(r, "by", PROTO_REQUIRED, FLAG_NAME_MAX, &by) != 1 ||
	    proto_str(r, "note", PROTO_REQUIRED, FLAG_REASON_MAX, &note) != 1 ||
	    proto_ts(r, ops_now(srv), &ts) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	if (by[0] == '\0' || note[0] == '\0') {
		ops_reply_error(s, r, PROTO_BAD_FIELD,
		                by[0] == '\0' ? "field 'by' must not be empty"
		                              : "field 'note' must not be empty");
		return;
	}
	fj = followup_job_new();
	if (fj == NULL || (fj->by = strdup(by)) == NULL || (fj->note = strdup(note)) == NULL) {
		if (fj != NULL)
			followup_job_cleanup(&fj->oj);
		free(fj);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	fj->id = id;
	fj->ts = ts;
	fj->oj.reply = followup_reply_one;
	ops_job_submit(s, r, &fj->oj, srv->writer, followup_done_run);
}

static void
followup_list_run(void *db, struct job *job)
{
	struct followup_job *fj = (struct followup_job *)job;

	job->status = store_followup_list(db, fj->state, fj->caller, fj->now, fj->limit, fj->cursor,
	                                  &fj->list, &fj->next);
}

static void
followup_list_reply(struct ops_job *oj, struct jbuf *jb)
{
	struct followup_job *fj = (struct followup_job *)oj;
	size_t i;

	jb_key(jb, "followups");
	jb_arr_begin(jb);
	for (i = 0; i < fj->list.n; i++) {
		/* The state by the daemon's clock, as the filter used it. */
		jb_obj_begin(jb);
		followup_write_fields(jb, &fj->list.v[i]);
		jb_kstr(jb, "state", followup_state(&fj->list.v[i], fj->now));
		jb_obj_end(jb);
	}
	jb_arr_end(jb);
	ops_cursor_write(jb, fj->next);
}

void
op_followup_list(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"state", "caller", "limit", "cursor", NULL};
	static const char *const states[] = {"open", "overdue", "done", "all", NULL};
	struct server *srv = s->srv;
	const char *state = "open", *caller = NULL;
	char number[NUMBER_BUFSZ];
	struct followup_job *fj;
	int64_t cursor;
	size_t limit, i;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "state", PROTO_OPTIONAL, 16, &state) == -1 ||
	    proto_str(r, "caller", PROTO_OPTIONAL, 256, &caller) == -1 ||
	    ops_limit(r, &limit) == -1 || ops_cursor_read(r, &cursor) == -1 ||
	    (caller != NULL && ops_caller_number(srv, r, caller, number) == -1)) {
		ops_reply_req_error(s, r);
		return;
	}
	for (i = 0; states[i] != NULL && strcmp(states[i], state) != 0; i++)
		;
	if (states[i] == NULL) {
		ops_reply_error(s, r, PROTO_BAD_FIELD,
		                "field 'state' must be open, overdue, done or all");
		return;
	}
	fj = followup_job_new();
	if (fj == NULL || (fj->state = strdup(state)) == NULL ||
	    (caller != NULL && (fj->caller = strdup(number)) == NULL)) {
		if (fj != NULL)
			followup_job_cleanup(&fj->oj);
		free(fj);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	fj->now = ops_now(srv);
	fj->limit = limit;
	fj->cursor = cursor;
	fj->oj.reply = followup_list_reply;
	ops_job_submit(s, r, &fj->oj, srv->query, followup_list_run);
}
