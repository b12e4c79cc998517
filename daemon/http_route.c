/*
 * GET /v1/route: the decision for an offered call, over HTTP. The hot path: the query string is
 * read in place and the call goes straight to offer_decide, the path every front end shares; no
 * JSON is parsed. The reply is call.offered's reply object, or with format=text one line
 * "queue target" for dialplans that cannot parse JSON. Like call.offered it decides on any
 * caller (a missing or odd one is withheld) and ignores parameters it does not know; without
 * a call_id the daemon makes one up, so the call is counted and logged like any other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "ops.h"
#include "route.h"
#include "textcopy.h"

/* Longest call_id, as call.offered takes it. */
#define HTTP_CALL_ID_MAX 128

struct route_query {
	char caller[HTTP_PARAM_MAX + 1];
	char dialed[HTTP_PARAM_MAX + 1];
	char call_id[HTTP_PARAM_MAX + 1];
	int has_caller, has_dialed, has_ts, text, dry_run;
	int call_id_bad; /* given but too long or badly encoded */
	int format_bad;
	double ts;
};

/* Writes v in decimal at p; returns the end. */
static char *
route_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static int
route_flag(const char *v)
{
	return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
}

static void
route_query_read(const char *q, struct route_query *rq)
{
	char name[32], value[HTTP_PARAM_MAX + 1], *end;
	const char *pair = q;
	int rc;

	while ((rc = http_query_next(&q, name, sizeof(name), value, sizeof(value))) != 0) {
		if (rc == -1) {
			/* A pair that does not decode is ignored, except a call_id. */
			pair += strspn(pair, "&");
			if (strncmp(pair, "call_id=", 8) == 0)
				rq->call_id_bad = 1;
			pair = q;
			continue;
		}
		pair = q;
		if (strcmp(name, "caller") == 0) {
			text_copy(rq->caller, sizeof(rq->caller), value);
			rq->has_caller = 1;
		} else if (strcmp(name, "dialed") == 0) {
			text_copy(rq->dialed, sizeof(rq->dialed), value);
			rq->has_dialed = 1;
		} else if (strcmp(name, "call_id") == 0) {
			if (strlen(value) > HTTP_CALL_ID_MAX)
				rq->call_id_bad = 1;
			else
				text_copy(rq->call_id, sizeof(rq->call_id), value);
		} else if (strcmp(name, "ts") == 0) {
			rq->ts = strtod(value, &end);
			rq->has_ts = end != value && *end == '\0';
		} else if (strcmp(name, "format") == 0) {
			rq->text = strcmp(value, "text") == 0;
			rq->format_bad = !rq->text && strcmp(value, "json") != 0;
		} else if (strcmp(name, "dry_run") == 0)
			rq->dry_run = route_flag(value);
	}
}

void
http_route(struct http_req *hr)
{
	struct server *srv = hr->h->srv;
	struct route_query rq;
	struct decision d;
	struct jbuf *jb = &srv->out;
	const char *call_id;
	char made[48], msg[128];

	if (!ops_role_allows("call.offered", hr->role)) {
		snprintf(msg, sizeof(msg), "op 'call.offered' is not open to the %s role",
		         settings_role_name(hr->role));
		http_send_error(hr, 403, "forbidden", msg);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	route_query_read(hr->query != NULL ? hr->query : "", &rq);
	if (rq.call_id_bad) {
		http_send_error(hr, 400, "bad_field",
		                "field 'call_id' is longer than 128 bytes or badly encoded");
		return;
	}
	if (rq.format_bad) {
		http_send_error(hr, 400, "bad_field", "field 'format' must be json or text");
		return;
	}
	call_id = rq.call_id;
	if (call_id[0] == '\0') {
		/* Unique across restarts: "cw-", the start time, "-" and a counter. */
		char *p = made;

		memcpy(p, "cw-", 3);
		p = route_put_u64(p + 3, (uint64_t)srv->started_at);
		*p++ = '-';
		p = route_put_u64(p, ++hr->h->next_call);
		*p = '\0';
		call_id = made;
	}
	{
		const char *ev = "call.offered";

		metrics_vec_add(&srv->m.events, &ev, 1);
	}
	offer_decide(srv, call_id, rq.has_caller ? rq.caller : NULL,
	             rq.has_dialed ? rq.dialed : NULL, offer_ts(srv, rq.ts, rq.has_ts), rq.dry_run,
	             &d);
	jb_reset(jb);
	if (rq.text) {
		jb_append(jb, d.queue->name, strlen(d.queue->name));
		jb_append(jb, " ", 1);
		jb_append(jb, d.queue->target, strlen(d.queue->target));
		jb_append(jb, "\n", 1);
	} else {
		proto_reply_ok(jb, NULL);
		jb_kstr(jb, "call_id", call_id);
		route_write_json(jb, &d);
		proto_reply_end(jb);
	}
	if (jb->oom) {
		http_send_error(hr, 500, "internal", "out of memory building the reply");
		return;
	}
	/* Before the send, which frees a request that was held. */
	metrics_hist_observe(&srv->m.latency, (double)(metrics_now_ns() - hr->t0) / 1e9);
	http_send(hr, 200, rq.text ? "text/plain; charset=utf-8" : NULL, jb->data, jb->len);
}
