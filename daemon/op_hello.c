/* hello: a connection proves its role with a token. */
#include <string.h>

#include "log.h"
#include "ops.h"

/* Compares without an early exit, so the time taken does not tell how much of a token matched. */
static int
hello_token_equal(const char *given, size_t given_len, const char *known)
{
	size_t known_len = strlen(known), i;
	unsigned char diff = (unsigned char)(given_len != known_len);

	for (i = 0; i < known_len; i++)
		diff |= (unsigned char)(known[i] ^ (i < given_len ? given[i] : 0));
	return diff == 0;
}

void
op_hello(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"token", NULL};
	const struct settings *st = &s->srv->settings;
	const char *token;
	struct jbuf *jb;
	int role = ROLE_NONE;
	size_t i, len;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "token", PROTO_REQUIRED, 1024, &token) != 1) {
		ops_reply_req_error(s, r);
		return;
	}
	len = strlen(token);
	/* Every token is compared, whichever matches: no timing hint either way. */
	for (i = 0; i < st->ntokens; i++)
		if (hello_token_equal(token, len, st->tokens[i].token))
			role = st->tokens[i].role;
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
