/* flag.list and audit.list: filtered, newest-first pages read on the query thread. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

struct list_job {
	struct ops_job oj; /* first */
	char *code, *source, *state, *by, *subject, *actor;
	int64_t since, until, now, cursor, next;
	size_t limit;
	struct flag_list flags;
	struct audit_rows audit;
};

static void
list_cleanup(struct ops_job *oj)
{
	struct list_job *lj = (struct list_job *)oj;

	free(lj->code);
	free(lj->source);
	free(lj->state);
	free(lj->by);
	free(lj->subject);
	free(lj->actor);
	flag_list_free(&lj->flags);
	store_audit_rows_free(&lj->audit);
}

/* Copies an optional string; -1 when out of memory. */
static int
list_copy(char **dst, const char *src)
{
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

/* The fields every list shares: time range, limit, cursor. */
static int
list_common(struct proto_req *r, struct list_job *lj)
{
	if (proto_int(r, "since", PROTO_OPTIONAL, 0, PROTO_TIME_MAX, &lj->since) == -1 ||
	    proto_int(r, "until", PROTO_OPTIONAL, 0, PROTO_TIME_MAX, &lj->until) == -1 ||
	    ops_limit(r, &lj->limit) == -1 || ops_cursor_read(r, &lj->cursor) == -1)
		return -1;
	return 0;
}

static int
list_one_of(struct proto_req *r, const char *name, const char *value, const char *const *ok)
{
	size_t i;

	if (value == NULL)
		return 0;
	for (i = 0; ok[i] != NULL; i++)
		if (strcmp(ok[i], value) == 0)
			return 0;
	return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' has an unknown value", name);
}

static void
flag_list_run(void *db, struct job *job)
{
	struct list_job *lj = (struct list_job *)job;
	struct flag_filter f = {lj->code, lj->source, lj->by, lj->state, lj->since, lj->until};

	job->status =
	    store_flag_list(db, &f, lj->now, lj->limit, lj->cursor, &lj->flags, &lj->next);
}

static void
flag_list_reply(struct ops_job *oj, struct jbuf *jb)
{
	struct list_job *lj = (struct list_job *)oj;
	size_t i;

	jb_key(jb, "flags");
	jb_arr_begin(jb);
	for (i = 0; i < lj->flags.n; i++) {
		jb_obj_begin(jb);
		flag_write_fields(jb, &lj->flags.v[i]);
		jb_kstr(jb, "state", flag_state(&lj->flags.v[i], lj->now));
		jb_obj_end(jb);
	}
	jb_arr_end(jb);
	ops_cursor_write(jb, lj->next);
}

void
op_flag_list(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"code",  "source", "state",  "by", "since",
	                                     "until", "limit",  "cursor", NULL};
	static const char *const sources[] = {"supervisor", "agent", "auto", NULL};
	static const char *const states[] = {"active", "expired", "revoked", "all", NULL};
	const char *code = NULL, *source = NULL, *state = "active", *by = NULL;
	struct list_job *lj;

	lj = calloc(1, sizeof(*lj));
	if (lj == NULL) {
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	lj->oj.cleanup = list_cleanup;
	lj->oj.reply = flag_list_reply;
	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "code", PROTO_OPTIONAL, FLAG_CODE_MAX, &code) == -1 ||
	    proto_str(r, "source", PROTO_OPTIONAL, 16, &source) == -1 ||
	    proto_str(r, "state", PROTO_OPTIONAL, 16, &state) == -1 ||
	    proto_str(r, "by", PROTO_OPTIONAL, FLAG_NAME_MAX, &by) == -1 ||
	    list_common(r, lj) == -1 || list_one_of(r, "source", source, sources) == -1 ||
	    list_one_of(r, "state", state, states) == -1) {
		ops_reply_req_error(s, r);
		free(lj);
		return;
	}
	if (list_copy(&lj->code, code) == -1 || list_copy(&lj->source, source) == -1 ||
	    list_copy(&lj->state, state) == -1 || list_copy(&lj->by, by) == -1) {
		list_cleanup(&lj->oj);
		free(lj);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	lj->now = ops_now(s->srv);
	ops_job_submit(s, r, &lj->oj, s->srv->query, flag_list_run);
}

static void
audit_list_run(void *db, struct job *job)
{
	struct list_job *lj = (struct list_job *)job;

	job->status = store_audit_list(db, lj->subject, lj->actor, lj->since, lj->until, lj->limit,
	                               lj->cursor, &lj->audit, &lj->next);
}

static void
audit_list_reply(struct ops_job *oj, struct jbuf *jb)
{
	struct list_job *lj = (struct list_job *)oj;
	size_t i;

	jb_key(jb, "audit");
	jb_arr_begin(jb);
	for (i = 0; i < lj->audit.n; i++)
		store_audit_write_json(jb, &lj->audit.v[i]);
	jb_arr_end(jb);
	ops_cursor_write(jb, lj->next);
}

void
op_audit_list(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"caller", "actor",  "since", "until",
	                                     "limit",  "cursor", NULL};
	const char *caller = NULL, *actor = NULL;
	char number[NUMBER_BUFSZ];
	struct list_job *lj;

	lj = calloc(1, sizeof(*lj));
	if (lj == NULL) {
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	lj->oj.cleanup = list_cleanup;
	lj->oj.reply = audit_list_reply;
	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "caller", PROTO_OPTIONAL, 256, &caller) == -1 ||
	    proto_str(r, "actor", PROTO_OPTIONAL, FLAG_NAME_MAX, &actor) == -1 ||
	    list_common(r, lj) == -1 ||
	    (caller != NULL && ops_caller_number(s->srv, r, caller, number) == -1)) {
		ops_reply_req_error(s, r);
		free(lj);
		return;
	}
	if (list_copy(&lj->subject, caller != NULL ? number : NULL) == -1 ||
	    list_copy(&lj->actor, actor) == -1) {
		list_cleanup(&lj->oj);
		free(lj);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	ops_job_submit(s, r, &lj->oj, s->srv->query, audit_list_run);
}
