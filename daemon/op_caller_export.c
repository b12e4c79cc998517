/* caller.export: everything known about one caller, read on the query thread. */
#include <stdlib.h>
#include <string.h>

#include "calllog.h"
#include "followup.h"
#include "lifecycle.h"
#include "ops.h"

/* Bounds of one export: far beyond any real caller's history. */
#define EXPORT_MAX   10000
#define EXPORT_CALLS 200

struct export_job {
	struct ops_job oj; /* first */
	char caller[NUMBER_BUFSZ];
	struct flag_list flags;
	struct report_list reports;
	struct followup_list followups;
	struct audit_rows audit;
	int64_t now;
};

static void
export_run(void *db, struct job *job)
{
	struct export_job *ej = (struct export_job *)job;
	int64_t next;

	job->status = store_caller_flags(db, ej->caller, EXPORT_MAX, &ej->flags);
	if (job->status == STORE_OK)
		job->status = store_caller_reports(db, ej->caller, EXPORT_MAX, &ej->reports);
	if (job->status == STORE_OK)
		job->status = store_caller_followups(db, ej->caller, EXPORT_MAX, &ej->followups);
	if (job->status == STORE_OK)
		job->status =
		    store_audit_list(db, ej->caller, NULL, 0, 0, EXPORT_MAX, 0, &ej->audit, &next);
}

static void
export_reply(struct ops_job *oj, struct jbuf *jb)
{
	struct export_job *ej = (struct export_job *)oj;
	struct call_row *calls;
	size_t i, n = 0;

	jb_kstr(jb, "caller", ej->caller);
	jb_key(jb, "flags");
	jb_arr_begin(jb);
	for (i = 0; i < ej->flags.n; i++) {
		jb_obj_begin(jb);
		flag_write_fields(jb, &ej->flags.v[i]);
		jb_kstr(jb, "state", flag_state(&ej->flags.v[i], ej->now));
		jb_obj_end(jb);
	}
	jb_arr_end(jb);
	jb_key(jb, "reports");
	jb_arr_begin(jb);
	for (i = 0; i < ej->reports.n; i++)
		store_report_write_json(jb, &ej->reports.v[i]);
	jb_arr_end(jb);
	jb_key(jb, "calls");
	jb_arr_begin(jb);
	calls = calloc(EXPORT_CALLS, sizeof(*calls));
	if (calls != NULL)
		n = lifecycle_recent_calls(oj->srv, ej->caller, calls, EXPORT_CALLS);
	for (i = 0; i < n; i++)
		lifecycle_write_call(jb, &calls[i]);
	free(calls);
	jb_arr_end(jb);
	jb_key(jb, "followups");
	jb_arr_begin(jb);
	for (i = 0; i < ej->followups.n; i++)
		followup_write_json(jb, &ej->followups.v[i]);
	jb_arr_end(jb);
	jb_key(jb, "audit");
	jb_arr_begin(jb);
	for (i = 0; i < ej->audit.n; i++)
		store_audit_write_json(jb, &ej->audit.v[i]);
	jb_arr_end(jb);
}

static void
export_cleanup(struct ops_job *oj)
{
	struct export_job *ej = (struct export_job *)oj;

	flag_list_free(&ej->flags);
	store_report_list_free(&ej->reports);
	followup_list_free(&ej->followups);
	store_audit_rows_free(&ej->audit);
}

void
op_caller_export(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"caller", NULL};
	const char *caller;
	char number[NUMBER_BUFSZ];
	struct export_job *ej;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "caller", PROTO_REQUIRED, 256, &caller) != 1 ||
	    ops_caller_number(s->srv, r, caller, number) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	ej = calloc(1, sizeof(*ej));
	if (ej == NULL) {
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	memcpy(ej->caller, number, sizeof(number));
	ej->now = ops_now(s->srv);
	ej->oj.reply = export_reply;
	ej->oj.cleanup = export_cleanup;
	ops_job_submit(s, r, &ej->oj, s->srv->query, export_run);
}
