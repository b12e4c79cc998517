/* Dispatch of request lines to ops through one table, and the shared reply helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "number.h"
#include "ops.h"

/* Adding an op is one file op_<name>.c and one line here. */
/* clang-format off */
#define T ROLE_TELEPHONY
#define S ROLE_SUPERVISOR
#define ANY (ROLE_TELEPHONY | ROLE_SUPERVISOR)
static const struct op ops_table[] = {
	{"call.offered",    T,   op_call_offered},
	{"call.answered",   T,   op_call_answered},
	{"call.ended",      T,   op_call_ended},
	{"call.abandoned",  T,   op_call_abandoned},
	{"call.report",     ANY, op_call_report},
	{"ping",            ANY, op_ping},
	{"hello",           ANY, op_hello},
	{"flag.add",        S,   op_flag_add},
	{"flag.revoke",     S,   op_flag_revoke},
	{"flag.list",       S,   op_flag_list},
	{"caller.show",     S,   op_caller_show},
	{"caller.export",   S,   op_caller_export},
	{"followup.add",    S,   op_followup_add},
	{"followup.list",   S,   op_followup_list},
	{"followup.done",   S,   op_followup_done},
	{"audit.list",      S,   op_audit_list},
	{"subscribe",       S,   op_subscribe},
	{"unsubscribe",     S,   op_unsubscribe},
	{"stats",           0,   op_stats},
	{"policy.check",    0,   op_policy_check},
	{"policy.reload",   0,   op_policy_reload},
	{"policy.simulate", 0,   op_policy_simulate},
};
#undef T
#undef S
#undef ANY
/* clang-format on */

int64_t
ops_now(struct server *srv)
{
	struct timeval tv;

	if (event_base_gettimeofday_cached(srv->base, &tv) == -1)
		return 0;
	return (int64_t)tv.tv_sec;
}

/* A policy that failed to load: bad_field with the first error, and an "errors" array of all. */
char *
ops_load_error_line(struct server *srv, const char *idjson, const char *errors, const char *kept,
                    size_t *len)
{
	const char *p = errors != NULL ? errors : "the policy failed to load";
	char first[512];
	struct jbuf jb;
	size_t n;

	ops_count_error(srv, PROTO_BAD_FIELD);
	n = strcspn(p, "\n");
	snprintf(first, sizeof(first), "%.*s", (int)(n < 500 ? n : 500), p);
	jb_init(&jb);
	proto_reply_error_begin(&jb, idjson, PROTO_BAD_FIELD, first);
	jb_key(&jb, "errors");
	jb_arr_begin(&jb);
	while (*p != '\0') {
		n = strcspn(p, "\n");
		jb_strn(&jb, p, n);
		p += n + (p[n] == '\n');
	}
	jb_arr_end(&jb);
	if (kept != NULL)
		jb_kstr(&jb, "policy", kept);
	proto_reply_end(&jb);
	return jb_steal(&jb, len);
}

static void
ops_job_done(struct job *job)
{
	struct ops_job *oj = (struct ops_job *)job;
	struct jbuf jb;
	char *line;
	size_t len;

	if (oj->err != PROTO_OK && oj->load_errors != NULL)
		line = ops_load_error_line(oj->srv, oj->idjson, oj->load_errors, NULL, &len);
	else if (oj->err != PROTO_OK)
		line = ops_job_error_line(oj->srv, oj->idjson, oj->err, job->errmsg, &len);
	else if (job->status == STORE_OK) {
		jb_init(&jb);
		proto_reply_ok(&jb, oj->idjson);
		oj->reply(oj, &jb);
		proto_reply_end(&jb);
		line = jb_steal(&jb, &len);
	} else
		line =
		    ops_job_error_line(oj->srv, oj->idjson, ops_store_error(job->status),
		                       job->errmsg[0] ? job->errmsg : "database unavailable", &len);
	session_fulfil(oj->s, oj->slot, line, line != NULL ? len : 0);
	if (oj->cleanup != NULL)
		oj->cleanup(oj);
	free(oj->idjson);
	free(oj);
}

int
ops_job_submit(struct session *s, struct proto_req *r, struct ops_job *oj, struct writer *w,
               job_run_fn run)
{
	const char *id = proto_req_id(r);

	if ((id != NULL && (oj->idjson = strdup(id)) == NULL) ||
	    (oj->slot = session_reserve(s)) == NULL) {
		if (oj->cleanup != NULL)
			oj->cleanup(oj);
		free(oj->idjson);
		free(oj);
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return -1;
	}
	oj->srv = s->srv;
	oj->s = s;
	oj->job.run = run;
	oj->job.done = ops_job_done;
	writer_submit(w, &oj->job);
	return 0;
}

void
ops_cursor_write(struct jbuf *jb, int64_t next)
{
	char buf[32];

	if (next <= 0) {
		jb_knull(jb, "cursor");
		return;
	}
	snprintf(buf, sizeof(buf), "v1.%lld", (long long)next);
	jb_kstr(jb, "cursor", buf);
}

int
ops_cursor_read(struct proto_req *r, int64_t *cursor)
{
	const char *text = NULL;
	char *end;
	long long v;

	*cursor = 0;
	if (proto_str(r, "cursor", PROTO_OPTIONAL, 32, &text) != 1)
		return proto_req_error(r, NULL) == PROTO_OK ? 0 : -1;
	if (strncmp(text, "v1.", 3) != 0 || text[3] < '1' || text[3] > '9')
		return proto_req_fail(r, PROTO_BAD_FIELD, "field 'cursor' is not a cursor of ours");
	v = strtoll(text + 3, &end, 10);
	if (*end != '\0' || v <= 0 || v > INT64_C(9007199254740991))
		return proto_req_fail(r, PROTO_BAD_FIELD, "field 'cursor' is not a cursor of ours");
	*cursor = v;
	return 0;
}

int
ops_limit(struct proto_req *r, size_t *limit)
{
	int64_t v = 50;

	if (proto_int(r, "limit", PROTO_OPTIONAL, 1, 1000, &v) == -1)
		return -1;
	*limit = (size_t)v;
	return 0;
}

void
ops_count_decision(struct server *srv, const struct decision *d)
{
	const char *labels[2] = {d->queue->name, d->rule};

	metrics_vec_add(&srv->m.decisions, labels, 1);
	if (d->degraded)
		srv->degraded++;
}

struct jbuf *
ops_reply_begin(struct session *s, struct proto_req *r)
{
	struct jbuf *jb = &s->srv->out;

	jb_reset(jb);
	proto_reply_ok(jb, proto_req_id(r));
	return jb;
}

void
ops_reply_send(struct session *s, struct jbuf *jb)
{
	proto_reply_end(jb);
	if (jb->oom) {
		jb_reset(jb);
		proto_reply_error(jb, NULL, PROTO_INTERNAL, "out of memory building the reply");
	}
	session_reply(s, jb->data, jb->len);
}

void
ops_count_error(struct server *srv, enum proto_error e)
{
	const char *code = proto_error_name(e);

	metrics_vec_add(&srv->m.errors, &code, 1);
}

void
ops_reply_error(struct session *s, struct proto_req *r, enum proto_error e, const char *msg)
{
	struct jbuf *jb = &s->srv->out;

	ops_count_error(s->srv, e);
	jb_reset(jb);
	proto_reply_error(jb, r != NULL ? proto_req_id(r) : NULL, e, msg);
	session_reply(s, jb->data, jb->len);
}

void
ops_reply_req_error(struct session *s, struct proto_req *r)
{
	const char *msg;
	enum proto_error e = proto_req_error(r, &msg);

	if (e == PROTO_OK) {
		e = PROTO_INTERNAL;
		msg = "request failed";
	}
	ops_reply_error(s, r, e, msg);
}

char *
ops_job_error_line(struct server *srv, const char *idjson, enum proto_error e, const char *msg,
                   size_t *len)
{
	struct jbuf jb;

	ops_count_error(srv, e);
	/* After a job, unavailable means the database failed it (locked, full, unreadable). */
	if (e == PROTO_UNAVAILABLE)
		srv->m.db_errors++;
	jb_init(&jb);
	proto_reply_error(&jb, idjson, e, msg);
	return jb_steal(&jb, len);
}

enum proto_error
ops_store_error(enum store_status st)
{
	switch (st) {
	case STORE_NOT_FOUND:
		return PROTO_NOT_FOUND;
	case STORE_CONFLICT:
		return PROTO_CONFLICT;
	case STORE_BUSY:
	case STORE_ERROR:
		return PROTO_UNAVAILABLE;
	default:
		return PROTO_INTERNAL;
	}
}

int
ops_caller_number(struct server *srv, struct proto_req *r, const char *caller,
                  char out[NUMBER_BUFSZ])
{
	switch (number_normalise(caller, strlen(caller), srv->settings.country_code, out)) {
	case NUMBER_E164:
		return 0;
	case NUMBER_WITHHELD:
		return proto_req_fail(r, PROTO_BAD_FIELD,
		                      "field 'caller' is a withheld caller, not a number");
	default:
		return proto_req_fail(r, PROTO_BAD_FIELD,
		                      "field 'caller' is not a phone number (3 to 15 digits)");
	}
}

/* The op table's entry for name, or NULL. */
static const struct op *
ops_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ops_table) / sizeof(ops_table[0]); i++)
		if (strcmp(name, ops_table[i].name) == 0)
			return &ops_table[i];
	return NULL;
}

static int
ops_entry_allows(const struct op *op, int role)
{
	return op != NULL && (role == ROLE_OPS || (op->roles & role));
}

int
ops_role_allows(const char *name, int role)
{
	return ops_entry_allows(ops_find(name), role);
}

void
ops_metrics_init(struct server *srv)
{
	/* Decision latency buckets: 10 us to 1 s, seconds. */
	static const double bounds[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	                                0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
	                                0.1,     0.25,     0.5,     1};

	metrics_vec_init(&srv->m.decisions, 2, 256);
	metrics_vec_init(&srv->m.events, 1, 64);
	metrics_vec_init(&srv->m.errors, 1, 64);
	metrics_hist_init(&srv->m.latency, bounds, sizeof(bounds) / sizeof(bounds[0]));
}

void
ops_metrics_free(struct server *srv)
{
	metrics_vec_free(&srv->m.decisions);
	metrics_vec_free(&srv->m.events);
	metrics_vec_free(&srv->m.errors);
}

void
ops_dispatch(struct session *s, const char *line, size_t len)
{
	struct proto_req *r;
	enum proto_error err;
	char msg[128];

	s->srv->m.request_ns = metrics_now_ns();
	r = proto_req_parse(line, len, &err, msg, sizeof(msg));
	if (r == NULL) {
		ops_reply_error(s, NULL, err, msg);
		return;
	}
	ops_dispatch_req(s, r);
	proto_req_free(r);
}

void
ops_dispatch_req(struct session *s, struct proto_req *r)
{
	const struct op *entry;
	const char *op;
	char msg[128];

	if (s->srv->stopping) {
		ops_reply_error(s, r, PROTO_UNAVAILABLE, "shutting down");
		return;
	}
	op = proto_req_op(r);
	if (op == NULL) {
		ops_reply_req_error(s, r);
		return;
	}
	entry = ops_find(op);
	if (entry == NULL) {
		char shown[80];

		snprintf(msg, sizeof(msg), "unknown op '%s'", log_escape(shown, sizeof(shown), op));
		ops_reply_error(s, r, PROTO_UNKNOWN_OP, msg);
	} else if (s->role == ROLE_NONE && entry->run != op_hello) {
		ops_reply_error(s, r, PROTO_UNAUTHORIZED, "send hello with a token first");
	} else if (entry->run != op_hello && !ops_entry_allows(entry, s->role)) {
		snprintf(msg, sizeof(msg), "op '%s' is not open to the %s role", entry->name,
		         s->role_name);
		ops_reply_error(s, r, PROTO_FORBIDDEN, msg);
	} else {
		metrics_vec_add(&s->srv->m.events, &entry->name, 1);
		entry->run(s, r);
	}
}
