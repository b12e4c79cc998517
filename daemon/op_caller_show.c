/* caller.show: a caller's whole flag history, score and the route a call would get now. */
#include <stdio.h>
#include <string.h>

#include "ops.h"
#include "route.h"

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
	int64_t ts;
	size_t i;

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
	memset(&in, 0, sizeof(in));
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
	jb_arr_end(jb);
	jb_key(jb, "route");
	jb_obj_begin(jb);
	route_write_json(jb, &d);
	jb_obj_end(jb);
	ops_reply_send(s, jb);
	flag_list_clear(&srv->flags);
}
