/* call.answered, call.ended, call.abandoned: lifecycle events for calls already offered. */
#include <stdio.h>
#include <string.h>

#include "calls.h"
#include "lifecycle.h"
#include "ops.h"

/* How far ahead of the server clock an event's ts may be. */
#define EVENT_FUTURE_SLACK 86400

/* The call named by the request, or NULL with the error recorded. */
static struct call *
call_event_find(struct session *s, struct proto_req *r, const char *const *fields, int64_t *ts)
{
	struct server *srv = s->srv;
	const char *call_id;
	struct call *c;
	int64_t now = ops_now(srv);

	if (proto_check_fields(r, fields) == -1 ||
	    proto_str(r, "call_id", PROTO_REQUIRED, 128, &call_id) != 1 ||
	    proto_ts(r, now, ts) == -1)
		return NULL;
	if (*ts > now + EVENT_FUTURE_SLACK) {
		proto_req_fail(r, PROTO_BAD_FIELD,
		               "field 'ts' is more than a day ahead of the clock");
		return NULL;
	}
	c = lifecycle_find(srv, call_id);
	if (c == NULL)
		proto_req_fail(r, PROTO_NOT_FOUND, "no call '%.64s' in progress", call_id);
	return c;
}

static void
call_event_ok(struct session *s, struct proto_req *r)
{
	ops_reply_send(s, ops_reply_begin(s, r));
}

void
op_call_answered(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"call_id", "agent", NULL};
	const char *agent = NULL;
	struct call *c;
	int64_t ts;

	if ((c = call_event_find(s, r, fields, &ts)) == NULL ||
	    proto_str(r, "agent", PROTO_OPTIONAL, FLAG_NAME_MAX, &agent) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	lifecycle_answered(s->srv, c, ts, agent);
	call_event_ok(s, r);
}

void
op_call_ended(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"call_id", "ended_by", NULL};
	const char *ended_by = "caller";
	struct call *c;
	int64_t ts;

	if ((c = call_event_find(s, r, fields, &ts)) == NULL ||
	    proto_str(r, "ended_by", PROTO_OPTIONAL, 16, &ended_by) == -1) {
		ops_reply_req_error(s, r);
		return;
	}
	if (strcmp(ended_by, "caller") != 0 && strcmp(ended_by, "agent") != 0 &&
	    strcmp(ended_by, "system") != 0) {
		ops_reply_error(s, r, PROTO_BAD_FIELD,
		                "field 'ended_by' must be caller, agent or system");
		return;
	}
	lifecycle_ended(s->srv, c, ts, ended_by, 0);
	call_event_ok(s, r);
}

void
op_call_abandoned(struct session *s, struct proto_req *r)
{
	static const char *const fields[] = {"call_id", NULL};
	struct call *c;
	int64_t ts;

	if ((c = call_event_find(s, r, fields, &ts)) == NULL) {
		ops_reply_req_error(s, r);
		return;
	}
	lifecycle_ended(s->srv, c, ts, "caller", 1);
	call_event_ok(s, r);
}
