/* hello: a connection proves its role with a token. */
#include <string.h>

#include "log.h"
#include "ops.h"

void
op_hello(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"token", NULL};
	const char *token;
	struct jbuf *jb;
	int role;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "token", PROTO_REQUIRED, 1024, &token) != 1) {
		ops_reply_req_error(s, r);
		return;
	}
	role = settings_token_role(&s->srv->settings, token, strlen(token));
	if (role == ROLE_NONE) {
		log_info("conn=%llu hello refused peer=%s", (unsigned long long)s->id, s->peer);
		ops_reply_error(s, r, PROTO_UNAUTHORIZED, "unknown token");
		return;
	}
	session_set_role(s, role);
	log_info("conn=%llu hello role=%s", (unsigned long long)s->id, s->role_name);
	jb = ops_reply_begin(s, r);
	jb_kstr(jb, "role", s->role_name);
	ops_reply_send(s, jb);
}
