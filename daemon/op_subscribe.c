/* subscribe, unsubscribe: turn a connection into a stream of alert, flag or decision events. */
#include <stdlib.h>

#include "ops.h"
#include "sub.h"

void
op_subscribe(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"topics", NULL};
	const char **topics = NULL;
	unsigned bits = 0, bit;
	struct jbuf *jb;
	size_t n = 0, i;

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str_array(r, "topics", PROTO_REQUIRED, 8, 32, &topics, &n) != 1) {
		ops_reply_req_error(s, r);
		return;
	}
	for (i = 0; i < n; i++) {
		bit = sub_topic(topics[i]);
		if (bit == 0) {
			proto_req_fail(r, PROTO_BAD_FIELD,
			               "unknown topic '%.32s' (alert, flag, decision)", topics[i]);
			break;
		}
		bits |= bit;
	}
	free(topics);
	if (proto_req_error(r, NULL) == PROTO_OK && bits == 0)
		proto_req_fail(r, PROTO_BAD_FIELD, "field 'topics' names no topic");
	if (proto_req_error(r, NULL) != PROTO_OK) {
		ops_reply_req_error(s, r);
		return;
	}
	if (sub_set(s, bits) == -1) {
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
		return;
	}
	jb = ops_reply_begin(s, r);
	jb_key(jb, "topics");
	jb_arr_begin(jb);
	for (bit = 1; bit <= SUB_DECISION; bit <<= 1)
		if (bits & bit)
			jb_str(jb, sub_topic_name(bit));
	jb_arr_end(jb);
	ops_reply_send(s, jb);
}

void
op_unsubscribe(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {NULL};

	if (proto_check_fields(r, fields) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	sub_set(s, 0);
	ops_reply_send(s, ops_reply_begin(s, r));
}
