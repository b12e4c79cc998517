/* The op table and the helpers every op uses to answer. */
#ifndef CW_OPS_H
#define CW_OPS_H

#include "proto.h"
#include "route.h"
#include "server.h"
#include "writer.h"

struct op {
	const char *name;
	int roles; /* ROLE_* bits allowed besides ops, which may use every op */
	void (*run)(struct session *s, struct proto_req *r);
};

/* Replies with the error recorded in r. */
void ops_reply_req_error(struct session *s, struct proto_req *r);
void ops_reply_error(struct session *s, struct proto_req *r, enum proto_error e, const char *msg);
/* Starts an ok reply in the server's scratch buffer; finish with ops_reply_send. */
struct jbuf *ops_reply_begin(struct session *s, struct proto_req *r);
void ops_reply_send(struct session *s, struct jbuf *jb);

/* Maps a failed store status to a protocol error. */
enum proto_error ops_store_error(enum store_status st);

/* Normalises a supervisor-named caller: 0, or -1 with bad_field recorded in r. */
int ops_caller_number(struct server *srv, struct proto_req *r, const char *caller,
                      char out[NUMBER_BUFSZ]);

/*
 * The error line for a policy that failed to load (bad_field, "errors": every line, and for a
 * reload "policy": kept, the version that stays).
 */
char *ops_load_error_line(struct server *srv, const char *idjson, const char *errors,
                          const char *kept, size_t *len);
/* A complete error line for a request answered after the writer; the caller frees it. */
char *ops_job_error_line(struct server *srv, const char *idjson, enum proto_error e,
                         const char *msg, size_t *len);

/*
 * A request answered after a job on a writer or the query thread. Ops embed this first in their
 * own job struct; on success reply() adds the ok fields, cleanup() frees the op's own data.
 */
struct ops_job {
	struct job job;
	struct server *srv;
	struct session *s;
	struct pending *slot;
	char *idjson;
	enum proto_error err; /* set by a job that fails for a reason the store did not give */
	/* With err: a policy's load errors, answered as an "errors" array. */
	const char *load_errors;
	void (*reply)(struct ops_job *oj, struct jbuf *jb);
	void (*cleanup)(struct ops_job *oj);
};

/* Reserves the reply's place and hands oj (calloc'ed by the op) to w. -1: answered already. */
int ops_job_submit(struct session *s, struct proto_req *r, struct ops_job *oj, struct writer *w,
                   job_run_fn run);

/* Cursor text for list replies, and back; -1 with bad_field recorded for garbage. */
void ops_cursor_write(struct jbuf *jb, int64_t next);
int ops_cursor_read(struct proto_req *r, int64_t *cursor);
/* "limit": 1..1000, default 50. */
int ops_limit(struct proto_req *r, size_t *limit);

/*
 * Decides an offered call (op_call_offered.c): counters, history, policy, and unless dry_run or
 * a retry, the call log, counts and events. caller and dialed are raw text (NULL: absent). Never
 * fails: without history the default queue answers, degraded.
 */
void offer_decide(struct server *srv, const char *call_id, const char *caller, const char *dialed,
                  int64_t ts, int dry_run, struct decision *d);
/* The time of an offer: ts when given and not more than a day ahead, else the clock. */
int64_t offer_ts(struct server *srv, double ts, int given);

/* Stores a flag the daemon raised itself (source "auto"); takes over f's strings. */
void op_flag_add_auto(struct server *srv, struct flag *f);

void op_ping(struct session *s, struct proto_req *r);
void op_hello(struct session *s, struct proto_req *r);
void op_call_answered(struct session *s, struct proto_req *r);
void op_call_ended(struct session *s, struct proto_req *r);
void op_call_abandoned(struct session *s, struct proto_req *r);
void op_call_offered(struct session *s, struct proto_req *r);
void op_flag_add(struct session *s, struct proto_req *r);
void op_flag_revoke(struct session *s, struct proto_req *r);
void op_caller_show(struct session *s, struct proto_req *r);
void op_stats(struct session *s, struct proto_req *r);
void op_subscribe(struct session *s, struct proto_req *r);
void op_call_report(struct session *s, struct proto_req *r);
void op_followup_add(struct session *s, struct proto_req *r);
void op_followup_done(struct session *s, struct proto_req *r);
void op_followup_list(struct session *s, struct proto_req *r);
void op_flag_list(struct session *s, struct proto_req *r);
void op_audit_list(struct session *s, struct proto_req *r);
void op_caller_export(struct session *s, struct proto_req *r);
void op_policy_check(struct session *s, struct proto_req *r);
void op_policy_reload(struct session *s, struct proto_req *r);
void op_policy_simulate(struct session *s, struct proto_req *r);
/* SIGHUP: reload the configured policy file (op_policy.c). */
void policy_reload_signal(struct server *srv);
void op_unsubscribe(struct session *s, struct proto_req *r);

#endif
