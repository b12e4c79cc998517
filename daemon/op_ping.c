/* ping: liveness, daemon and policy versions. */
#include "ops.h"

void
op_ping(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {NULL};
	struct jbuf *jb;

	if (proto_check_fields(r, fields) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	jb = ops_reply_begin(s, r);
	jb_kstr(jb, "version", CW_VERSION);
	jb_kstr(jb, "policy", s->srv->policy->version);
	jb_kint(jb, "policy_loaded_at", s->srv->policy->loaded_at);
	ops_reply_send(s, jb);
}
