/*
 * The op-backed resources: an HTTP request becomes its op's request, with fields from the path,
 * the query string and a JSON body, and runs through the op table like a line from a socket,
 * on a session whose replies go to the HTTP request. Validation, role checks, audit rows and
 * replies sent after a writer thread's commit are the op's own; this file maps the reply's
 * outcome to an HTTP status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http.h"
#include "ops.h"

/* Query parameters the ops read as numbers; every other one is a string. */
static const char *const resource_numeric[] = {
    "since", "until", "limit", "ts", "expires_at", "expires_days", "due_at", "due_in_hours", NULL,
};

/* The op's reply line: its outcome decides the status, the line is the body. */
static void
resource_sink(struct session *s, const char *data, size_t len)
{
	struct http_req *hr = s->sink_arg;
	enum proto_error e;

	if (hr == NULL)
		return;
	e = proto_reply_code(data, len);
	http_send(hr, e == PROTO_OK ? hr->ep->status : http_status_of(e), NULL, data, len);
}

/* Adds a field from the URL: a number when it reads as one and numeric is set, else text. */
static int
resource_add(struct proto_req *r, const char *name, const char *value, int numeric)
{
	char *end;
	double v;

	if (numeric && value[0] != '\0') {
		v = strtod(value, &end);
		if (*end == '\0')
			return proto_req_add_num(r, name, v);
	}
	return proto_req_add_str(r, name, value);
}

static int
resource_is_numeric(const char *name)
{
	size_t i;

	for (i = 0; resource_numeric[i] != NULL; i++)
		if (strcmp(name, resource_numeric[i]) == 0)
			return 1;
	return 0;
}

/*
 * The body as a request line: JSON may span lines, a request line may not, so CR and LF
 * outside strings become spaces (inside a string they stay, and are refused as raw control
 * characters). NULL for an empty body: the request is then only what the URL says.
 */
static struct proto_req *
resource_body(struct http_req *hr, enum proto_error *err, char *msg, size_t msglen)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(hr->req);
	size_t len = evbuffer_get_length(in), i;
	const char *raw;
	struct proto_req *r;
	char *line;
	int in_str = 0;

	*err = PROTO_OK;
	raw = len > 0 ? (const char *)evbuffer_pullup(in, -1) : NULL;
	for (i = 0; raw != NULL && i < len && strchr(" \t\r\n", raw[i]) != NULL && raw[i]; i++)
		;
	if (raw == NULL || i == len)
		return proto_req_new();
	line = malloc(len);
	if (line == NULL) {
		*err = PROTO_INTERNAL;
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	for (i = 0; i < len; i++) {
		line[i] = raw[i];
		if (in_str) {
			if (raw[i] == '\\' && i + 1 < len) {
				i++;
				line[i] = raw[i];
			} else if (raw[i] == '"')
				in_str = 0;
		} else if (raw[i] == '"')
			in_str = 1;
		else if (raw[i] == '\r' || raw[i] == '\n')
			line[i] = ' ';
	}
	r = proto_req_parse(line, len, err, msg, msglen);
	free(line);
	return r;
}

/* Builds the op's request from the body, the path and the query; NULL with an error sent. */
static struct proto_req *
resource_request(struct http_req *hr)
{
	const struct http_endpoint *ep = hr->ep;
	struct proto_req *r;
	enum proto_error err;
	const char *q = hr->query != NULL ? hr->query : "", *emsg;
	char name[64], value[HTTP_PARAM_MAX + 1], msg[160];
	int rc;

	r = resource_body(hr, &err, msg, sizeof(msg));
	if (r == NULL) {
		char full[200];

		snprintf(full, sizeof(full), "request body: %s", msg);
		http_send_error(hr, http_status_of(err), proto_error_name(err), full);
		return NULL;
	}
	if (proto_req_add_str(r, "op", ep->op) == -1) {
		/* A body's own "op" (bad_field), or no memory to add ours (internal). */
		err = proto_req_error(r, &emsg);
		snprintf(msg, sizeof(msg), "%s",
		         err == PROTO_BAD_FIELD ? "field 'op' comes from the URL, not the body"
		                                : emsg);
		proto_req_free(r);
		http_send_error(hr, http_status_of(err), proto_error_name(err), msg);
		return NULL;
	}
	if (ep->param != NULL)
		resource_add(r, ep->param, hr->param, ep->numeric);
	while ((rc = http_query_next(&q, name, sizeof(name), value, sizeof(value))) != 0) {
		if (rc == -1) {
			proto_req_free(r);
			http_send_error(hr, 400, "bad_request",
			                "the query holds a bad %-escape, a NUL or a part too long");
			return NULL;
		}
		if (strcmp(name, "op") == 0) {
			proto_req_free(r);
			http_send_error(hr, 400, "bad_field", "field 'op' comes from the URL");
			return NULL;
		}
		resource_add(r, name, value, resource_is_numeric(name));
	}
	err = proto_req_error(r, &emsg);
	if (err != PROTO_OK) {
		/* A field given twice: in the body and the URL, or twice in the query. */
		http_send_error(hr, http_status_of(err), proto_error_name(err), emsg);
		proto_req_free(r);
		return NULL;
	}
	return r;
}

void
http_resource(struct http_req *hr)
{
	struct server *srv = hr->h->srv;
	struct proto_req *r;
	struct http_req *held;
	struct session *s;

	r = resource_request(hr);
	if (r == NULL)
		return;
	held = http_hold(hr);
	s = held != NULL ? session_new_sink(srv, hr->role, "http", resource_sink, held) : NULL;
	if (s == NULL) {
		proto_req_free(r);
		http_send_error(held != NULL ? held : hr, 500, "internal", "out of memory");
		return;
	}
	held->s = s;
	/* The reply comes through resource_sink, now or after the op's job; held goes with it. */
	ops_dispatch_req(s, r);
	proto_req_free(r);
	session_release(s);
}
