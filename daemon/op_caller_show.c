/* caller.show: a caller's whole flag history, score and the route a call would get now. */
#include <stdio.h>
#include <string.h>

#include "calllog.h"
#include "lifecycle.h"
#include "ops.h"
#include "route.h"

/* Most recent calls listed by caller.show. */
#define SHOW_RECENT_CALLS 20

void
op_caller_show(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"caller", NULL};
	struct server *srv = s->srv;
	struct route_input in;
	struct decision d;
	struct jbuf *jb;
	const char *caller;
	char number[NUMBER_BUFSZ], msg[256];
	enum store_status st;
	struct nuisance_view counters;
	struct call_row calls[SHOW_RECENT_CALLS];
	char key[NUISANCE_KEY_MAX];
	int64_t ts;
	size_t i, ncalls;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "caller", PROTO_REQUIRED, 256, &caller) != 1 ||
	    proto_ts(r, ops_now(srv), &ts) == -1 ||
	    ops_caller_number(srv, r, caller, number) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	st = store_caller_flags(srv->reader, number, SERVER_SHOW_FLAGS, &srv->flags);
	if (st != STORE_OK) {
		snprintf(msg, sizeof(msg), "history unavailable: %s", store_errmsg(srv->reader));
		ops_reply_error(s, r, PROTO_UNAVAILABLE, msg);
		flag_list_clear(&srv->flags);
		return;
	}
	lifecycle_counters(srv, number, NULL, ts, 0, &counters, key);
	memset(&in, 0, sizeof(in));
	in.nuisance = &counters;
	in.caller = number;
	in.ts = ts;
	in.flags = srv->flags.v;
	in.nflags = srv->flags.n;
	route_decide(srv->policy, &in, &d);

	jb = ops_reply_begin(s, r);
	jb_kstr(jb, "caller", number);
	jb_key(jb, "flags");
	jb_arr_begin(jb);
	for (i = 0; i < srv->flags.n; i++) {
		jb_obj_begin(jb);
		flag_write_fields(jb, &srv->flags.v[i]);
		jb_kstr(jb, "state", flag_state(&srv->flags.v[i], ts));
		jb_obj_end(jb);
	}
	jb_arr_end(jb);
	jb_knum(jb, "score", route_score(srv->policy, srv->flags.v, srv->flags.n, ts, NULL));
	jb_kint(jb, "active_flags", (int64_t)d.active_flags);
	jb_key(jb, "recent_calls");
	jb_arr_begin(jb);
	ncalls = lifecycle_recent_calls(srv, number, calls, SHOW_RECENT_CALLS);
	for (i = 0; i < ncalls; i++)
		lifecycle_write_call(jb, &calls[i]);
	jb_arr_end(jb);
	jb_key(jb, "nuisance");
	jb_obj_begin(jb);
	jb_kint(jb, "repeat", counters.repeat);
	jb_kint(jb, "short", counters.shorts);
	if (counters.since_last_end >= 0)
		jb_kint(jb, "since_last_end_s", counters.since_last_end);
	else
		jb_knull(jb, "since_last_end_s");
	jb_key(jb, "fired");
	jb_arr_begin(jb);
	if (counters.repeat_fired)
		jb_str(jb, "repeat");
	if (counters.short_fired)
		jb_str(jb, "short");
	if (counters.redial_fired)
		jb_str(jb, "redial");
	jb_arr_end(jb);
	jb_obj_end(jb);
	jb_key(jb, "route");
	jb_obj_begin(jb);
	route_write_json(jb, &d);
	jb_obj_end(jb);
	ops_reply_send(s, jb);
	flag_list_clear(&srv->flags);
}
