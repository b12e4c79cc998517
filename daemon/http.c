/*
 * The HTTP API: libevent's evhttp on a listener of its own. This file owns the server: its
 * limits and timeouts, the table of connections, bearer-token auth, and the dispatch of each
 * request to its endpoint (the endpoint table below; handlers in http_route.c,
 * http_resources.c and http_monitor.c).
 *
 * Connections: evhttp 2.1 has no accept hook, so each connection is seen when evhttp asks for
 * its bufferevent (http_bev_cb) and registered one loop turn later, once evhttp has set it up:
 * TCP_NODELAY (a reply is one write, and must not wait for an ACK), the connection cap, and a
 * close callback. A 1 s sweep closes connections that have not sent a complete request within
 * http_timeout seconds of their accept or of their previous reply (slow or idle clients);
 * evhttp's own timeout covers a client that sends nothing at all.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "lifecycle.h"
#include "log.h"

struct http_conn {
	TAILQ_ENTRY(http_conn) entry; /* h->fresh, then h->conns */
	struct http_conn *hnext;      /* hash chain by evcon */
	struct http *h;
	struct bufferevent *bev; /* referenced until registered */
	struct evhttp_connection *evcon;
	uint64_t id;      /* the connection id of the logs, shared with the sockets' */
	int busy;         /* a request is being answered: never closed by the sweep */
	int64_t deadline; /* loop seconds: closed when not busy past this */
	TAILQ_ENTRY(http_conn) flush_entry; /* on h->flushq while flush_queued */
	int flush_queued;
};

/* clang-format off */
static const struct http_endpoint http_endpoints[] = {
	/* pattern                    method               handler        op                param      num status open */
	{"/v1/route",                 EVHTTP_REQ_GET,    http_route,    NULL,             NULL,      0, 200, 0},
	{"/v1/callers/{}",            EVHTTP_REQ_GET,    http_resource, "caller.show",    "caller",  0, 200, 0},
	{"/v1/callers/{}/export",     EVHTTP_REQ_GET,    http_resource, "caller.export",  "caller",  0, 200, 0},
	{"/v1/flags",                 EVHTTP_REQ_GET,    http_resource, "flag.list",      NULL,      0, 200, 0},
	{"/v1/flags",                 EVHTTP_REQ_POST,   http_resource, "flag.add",       NULL,      0, 201, 0},
	{"/v1/flags/{}",              EVHTTP_REQ_DELETE, http_resource, "flag.revoke",    "flag_id", 1, 200, 0},
	{"/v1/flags/{}/revoke",       EVHTTP_REQ_POST,   http_resource, "flag.revoke",    "flag_id", 1, 200, 0},
	{"/v1/calls/{}/answered",     EVHTTP_REQ_POST,   http_resource, "call.answered",  "call_id", 0, 200, 0},
	{"/v1/calls/{}/ended",        EVHTTP_REQ_POST,   http_resource, "call.ended",     "call_id", 0, 200, 0},
	{"/v1/calls/{}/abandoned",    EVHTTP_REQ_POST,   http_resource, "call.abandoned", "call_id", 0, 200, 0},
	{"/v1/calls/{}/report",       EVHTTP_REQ_POST,   http_resource, "call.report",    "call_id", 0, 200, 0},
	{"/v1/followups",             EVHTTP_REQ_GET,    http_resource, "followup.list",  NULL,      0, 200, 0},
	{"/v1/followups",             EVHTTP_REQ_POST,   http_resource, "followup.add",   NULL,      0, 201, 0},
	{"/v1/followups/{}/done",     EVHTTP_REQ_POST,   http_resource, "followup.done",  "id",      1, 200, 0},
	{"/v1/audit",                 EVHTTP_REQ_GET,    http_resource, "audit.list",     NULL,      0, 200, 0},
	{"/v1/policy/check",          EVHTTP_REQ_POST,   http_resource, "policy.check",   NULL,      0, 200, 0},
	{"/v1/policy/reload",         EVHTTP_REQ_POST,   http_resource, "policy.reload",  NULL,      0, 200, 0},
	{"/v1/policy/simulate",       EVHTTP_REQ_POST,   http_resource, "policy.simulate", NULL,     0, 200, 0},
	{"/v1/stats",                 EVHTTP_REQ_GET,    http_resource, "stats",          NULL,      0, 200, 0},
	{"/v1/ping",                  EVHTTP_REQ_GET,    http_resource, "ping",           NULL,      0, 200, 0},
	{"/healthz",                  EVHTTP_REQ_GET,    http_healthz,  NULL,             NULL,      0, 200, 1},
	{"/healthz",                  EVHTTP_REQ_HEAD,   http_healthz,  NULL,             NULL,      0, 200, 1},
	{"/metrics",                  EVHTTP_REQ_GET,    http_metrics,  NULL,             NULL,      0, 200, 1},
};
/* clang-format on */

#define HTTP_NENDPOINTS (sizeof(http_endpoints) / sizeof(http_endpoints[0]))

static const char *
http_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

int
http_status_of(enum proto_error e)
{
	switch (e) {
	case PROTO_OK:
		return 200;
	case PROTO_BAD_JSON:
	case PROTO_MISSING_FIELD:
	case PROTO_BAD_FIELD:
		return 400;
	case PROTO_LINE_TOO_LONG:
		return 413;
	case PROTO_UNAUTHORIZED:
		return 401;
	case PROTO_FORBIDDEN:
		return 403;
	case PROTO_NOT_FOUND:
	case PROTO_UNKNOWN_OP:
		return 404;
	case PROTO_CONFLICT:
		return 409;
	case PROTO_UNAVAILABLE:
		return 503;
	case PROTO_INTERNAL:
		break;
	}
	return 500;
}

/* The connection table: evhttp connections to our records, hashed by address. */
static size_t
http_conn_bucket(const struct evhttp_connection *evcon)
{
	uint64_t k = (uint64_t)(uintptr_t)evcon >> 4;

	return (size_t)((k * UINT64_C(0x9e3779b97f4a7c15)) >> 54) % HTTP_CONN_BUCKETS;
}

static struct http_conn *
http_conn_find(struct http *h, const struct evhttp_connection *evcon)
{
	struct http_conn *c;

	if (evcon == NULL)
		return NULL;
	for (c = h->buckets[http_conn_bucket(evcon)]; c != NULL; c = c->hnext)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

/* evhttp is closing a registered connection. */
static void
http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *c = arg, **pp;
	struct http *h = c->h;

	for (pp = &h->buckets[http_conn_bucket(evcon)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	TAILQ_REMOVE(&h->conns, c, entry);
	if (c->flush_queued)
		TAILQ_REMOVE(&h->flushq, c, flush_entry);
	h->nconns--;
	log_debug("conn=%llu closed transport=http", (unsigned long long)c->id);
	free(c);
}

/* evhttp wants a bufferevent for a connection it has just accepted. */
static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct http *h = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct http_conn *c;

	if (bev == NULL)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return bev; /* served all the same, without the table's limits */
	c->h = h;
	c->bev = bev;
	bufferevent_incref(bev); /* stays valid even if evhttp drops it before we look */
	TAILQ_INSERT_TAIL(&h->fresh, c, entry);
	event_active(h->fresh_ev, EV_TIMEOUT, 0);
	return bev;
}

/* Registers the connections accepted since the last turn, now that evhttp has set them up. */
static void
http_fresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	struct http_conn *c;
	struct bufferevent *bev;
	void *cbarg = NULL;
	size_t b;
	int one = 1;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&h->fresh)) != NULL) {
		TAILQ_REMOVE(&h->fresh, c, entry);
		bev = c->bev;
		c->bev = NULL;
		/* evhttp passes its connection as the bufferevent's callback argument; NULL once
		 * it has let the connection go. */
		bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
		if (cbarg == NULL || evhttp_connection_get_bufferevent(cbarg) != bev) {
			free(c);
			bufferevent_decref(bev);
			continue;
		}
		c->evcon = cbarg;
		c->id = ++h->srv->next_session_id;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->deadline = ops_now(h->srv) + h->srv->settings.http_timeout;
		b = http_conn_bucket(c->evcon);
		c->hnext = h->buckets[b];
		h->buckets[b] = c;
		TAILQ_INSERT_TAIL(&h->conns, c, entry);
		h->nconns++;
		evhttp_connection_set_closecb(c->evcon, http_conn_closed, c);
		if (log_get_level() >= LOG_LEVEL_DEBUG) {
			char *addr = NULL;
			ev_uint16_t port = 0;

			evhttp_connection_get_peer(c->evcon, &addr, &port);
			log_debug("conn=%llu accepted peer=%s:%u transport=http",
			          (unsigned long long)c->id, addr != NULL ? addr : "?", port);
		}
		if (h->nconns > (size_t)h->srv->settings.max_connections || h->srv->stopping) {
			h->refused++;
			log_debug("conn=%llu closed reason=max_connections",
			          (unsigned long long)c->id);
			evhttp_connection_free(c->evcon); /* frees c through the close callback */
		}
		bufferevent_decref(bev);
	}
}

/* Closes connections that took longer than the timeout to send a request, or sat idle. */
static void
http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	struct http_conn *c, *next;
	int64_t now = ops_now(h->srv);

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&h->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->busy || now < c->deadline)
			continue;
		/* A reply still going out is not idleness: a client that stops reading it is
		 * closed by evhttp's own write timeout. */
		if (evbuffer_get_length(
		        bufferevent_get_output(evhttp_connection_get_bufferevent(c->evcon))) > 0) {
			c->deadline = now + h->srv->settings.http_timeout;
			continue;
		}
		h->timeouts++;
		log_debug("conn=%llu closed reason=timeout timeout_s=%d", (unsigned long long)c->id,
		          h->srv->settings.http_timeout);
		evhttp_connection_free(c->evcon); /* frees c */
	}
}

/* Marks the request's connection busy (answering) or not; the connection, or NULL. */
static struct http_conn *
http_conn_busy(struct http *h, struct evhttp_request *req, int busy)
{
	struct http_conn *c = http_conn_find(h, evhttp_request_get_connection(req));

	if (c == NULL)
		return NULL;
	c->busy = busy;
	if (!busy)
		c->deadline = ops_now(h->srv) + h->srv->settings.http_timeout;
	return c;
}

struct http_req *
http_hold(struct http_req *hr)
{
	struct http_req *copy;

	if (hr->held)
		return hr;
	copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return NULL;
	*copy = *hr;
	copy->held = 1;
	TAILQ_INSERT_TAIL(&hr->h->waiting, copy, entry);
	return copy;
}

static void
http_unhold(struct http_req *hr)
{
	if (!hr->held)
		return;
	TAILQ_REMOVE(hr->parked ? &hr->h->parked : &hr->h->waiting, hr, entry);
	free(hr);
}

/*
 * evhttp writes a reply when its socket next polls writable: a loop turn later, with two epoll
 * changes a request. Instead the replies of a turn are written after its callbacks, like the
 * sockets' (session.c), and evhttp's write callback is run at once: the request ends in this
 * turn and its interest changes cancel out in the loop's changelist. A reply the kernel does
 * not take whole, or a failing socket, is left to evhttp.
 */
static void
http_write_now(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct evbuffer *out;

	if (bev == NULL || (out = bufferevent_get_output(bev)) == NULL ||
	    evbuffer_get_length(out) == 0)
		return;
	/* evhttp's write callback may free the request and, for a closing connection, evcon. */
	if (session_write_output(bev) == 0 && evbuffer_get_length(out) == 0)
		bufferevent_trigger(bev, EV_WRITE, 0);
}

static void
http_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	struct http_conn *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&h->flushq)) != NULL) {
		TAILQ_REMOVE(&h->flushq, c, flush_entry);
		c->flush_queued = 0;
		http_write_now(c->evcon); /* may free c */
	}
}

/* Writes conn's reply at the end of this turn (unregistered connections: when evhttp does). */
static void
http_flush_later(struct http *h, struct http_conn *c)
{
	if (c == NULL || c->flush_queued)
		return;
	c->flush_queued = 1;
	TAILQ_INSERT_TAIL(&h->flushq, c, flush_entry);
	event_active(h->flush_ev, EV_TIMEOUT, 0);
}

void
http_send(struct http_req *hr, int status, const char *ctype, const char *body, size_t len)
{
	struct http *h = hr->h;
	struct evhttp_request *req = hr->req;
	struct http_conn *conn;
	char code[4];
	const char *label = code;

	/* A status is three digits. */
	code[0] = (char)('0' + status / 100 % 10);
	code[1] = (char)('0' + status / 10 % 10);
	code[2] = (char)('0' + status % 10);
	code[3] = '\0';
	metrics_vec_add(&h->statuses, &label, 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  ctype != NULL ? ctype : "application/json");
	/* A HEAD reply has the headers only: body bytes would read as the next reply. */
	if (len > 0 && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	conn = http_conn_busy(h, req, 0);
	/* The endpoint's pattern, not the path: a path can hold a caller's number. */
	if (log_get_level() >= LOG_LEVEL_DEBUG)
		log_debug("conn=%llu http method=%s resource=%s status=%d",
		          conn != NULL ? (unsigned long long)conn->id : 0ULL,
		          http_method_name(evhttp_request_get_command(req)),
		          hr->ep != NULL ? hr->ep->pattern : "-", status);
	if (hr->s != NULL)
		hr->s->sink_arg = NULL; /* nothing more goes to this request */
	/* evhttp puts the status line, headers and body in one buffer, written at once. */
	evhttp_send_reply(req, status, NULL, NULL);
	http_flush_later(h, conn);
	http_unhold(hr);
}

void
http_send_error(struct http_req *hr, int status, const char *code, const char *msg)
{
	struct jbuf *jb = &hr->h->srv->out;

	metrics_vec_add(&hr->h->srv->m.errors, &code, 1);
	jb_reset(jb);
	jb_obj_begin(jb);
	jb_kbool(jb, "ok", 0);
	jb_key(jb, "error");
	jb_obj_begin(jb);
	jb_kstr(jb, "code", code);
	jb_kstr(jb, "message", msg);
	jb_obj_end(jb);
	proto_reply_end(jb);
	http_send(hr, status, NULL, jb->oom ? "" : jb->data, jb->oom ? 0 : jb->len);
}

static int
http_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes n bytes of s; '+' is a space when plus is set. -1: bad escape, NUL, too long. */
static int
http_decode(const char *s, size_t n, int plus, char *out, size_t outlen)
{
	size_t i, o = 0;
	int c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || http_hex(s[i + 1]) < 0 || http_hex(s[i + 2]) < 0)
				return -1;
			c = http_hex(s[i + 1]) * 16 + http_hex(s[i + 2]);
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == 0 || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
http_query_next(const char **q, char *name, size_t namelen, char *value, size_t valuelen)
{
	const char *p = *q, *amp, *eq;

	while (p != NULL && *p == '&')
		p++;
	if (p == NULL || *p == '\0')
		return 0;
	amp = strchr(p, '&');
	if (amp == NULL)
		amp = p + strlen(p);
	eq = memchr(p, '=', (size_t)(amp - p));
	*q = amp;
	if (eq == NULL)
		eq = amp; /* "name" alone: an empty value */
	if (http_decode(p, (size_t)(eq - p), 1, name, namelen) == -1)
		return -1;
	if (http_decode(eq < amp ? eq + 1 : amp, eq < amp ? (size_t)(amp - eq - 1) : 0, 1, value,
	                valuelen) == -1)
		return -1;
	return 1;
}

/*
 * Matches path against pattern segment by segment; a "{}" segment matches any one non-empty
 * segment, decoded into param. 1: match, 0: none, -1: the segment is badly encoded.
 */
static int
http_match(const char *pattern, const char *path, char *param, size_t paramlen)
{
	const char *p = pattern, *s = path;
	size_t pn, sn;

	for (;;) {
		if (*p != '/' || *s != '/')
			return *p == '\0' && *s == '\0';
		p++;
		s++;
		pn = strcspn(p, "/");
		sn = strcspn(s, "/");
		if (pn == 2 && memcmp(p, "{}", 2) == 0) {
			if (sn == 0)
				return 0;
			if (http_decode(s, sn, 0, param, paramlen) == -1)
				return -1;
		} else if (pn != sn || memcmp(p, s, pn) != 0)
			return 0;
		p += pn;
		s += sn;
	}
}

/* The role of the request's bearer token; ROLE_NONE when it has none or an unknown one. */
static int
http_auth(struct http *h, struct evhttp_request *req, int *given)
{
	const char *v;
	size_t len;

	*given = 0;
	if (h->srv->settings.ntokens == 0)
		return ROLE_OPS; /* loopback only, as for the TCP socket */
	v = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	*given = v != NULL;
	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return ROLE_NONE;
	v += 7;
	v += strspn(v, " ");
	len = strlen(v);
	while (len > 0 && v[len - 1] == ' ')
		len--;
	return settings_token_role(&h->srv->settings, v, len);
}

static size_t
http_headers_size(struct evhttp_request *req)
{
	struct evkeyval *kv;
	size_t n = 0;

	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
	n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

/* Finds the endpoint; on none answers 404, 405 (with Allow) or 400 and returns NULL. */
static const struct http_endpoint *
http_endpoint_find(struct http_req *hr, const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(hr->req);
	char allow[128] = "";
	size_t i;
	int rc;

	for (i = 0; i < HTTP_NENDPOINTS; i++) {
		rc = http_match(http_endpoints[i].pattern, path, hr->param, sizeof(hr->param));
		if (rc == -1) {
			http_send_error(hr, 400, "bad_request",
			                "the path holds a bad %-escape, a NUL or a part too long");
			return NULL;
		}
		if (rc == 0)
			continue;
		if (http_endpoints[i].method == m)
			return &http_endpoints[i];
		if (strstr(allow, http_method_name(http_endpoints[i].method)) == NULL)
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
			         allow[0] ? ", " : "", http_method_name(http_endpoints[i].method));
	}
	if (allow[0] == '\0') {
		http_send_error(hr, 404, "not_found", "no such resource");
		return NULL;
	}
	{
		char msg[192];

		snprintf(msg, sizeof(msg), "method %s not allowed here; allowed: %s",
		         http_method_name(m), allow);
		evhttp_add_header(evhttp_request_get_output_headers(hr->req), "Allow", allow);
		http_send_error(hr, 405, "method_not_allowed", msg);
	}
	return NULL;
}

/*
 * Holds a request until the call log has caught up: the HTTP side of reading at its pace. The
 * call log's wait (lifecycle.c) runs them again, with the sockets, through http_resume_parked.
 */
static void
http_park(struct http_req *hr)
{
	struct http *h = hr->h;

	if (!hr->held) {
		struct http_req *copy = http_hold(hr);

		if (copy == NULL) {
			http_send_error(hr, 500, "internal", "out of memory");
			return;
		}
		hr = copy;
		TAILQ_REMOVE(&h->waiting, hr, entry);
	} else if (!hr->parked)
		TAILQ_REMOVE(&h->waiting, hr, entry);
	hr->parked = 1;
	TAILQ_INSERT_TAIL(&h->parked, hr, entry);
}

void
http_resume_parked(struct server *srv)
{
	struct http *h = srv->http;
	struct http_req *hr;

	if (h == NULL)
		return;
	/* Held again should the log fall behind on the way: its wait then calls here again. */
	while ((hr = TAILQ_FIRST(&h->parked)) != NULL && !lifecycle_backlogged(h->srv)) {
		TAILQ_REMOVE(&h->parked, hr, entry);
		hr->parked = 0;
		TAILQ_INSERT_TAIL(&h->waiting, hr, entry);
		if (h->srv->stopping)
			http_send_error(hr, 503, "unavailable", "shutting down");
		else
			hr->ep->run(hr);
	}
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	struct http_req hr;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path;
	int given;

	memset(&hr, 0, sizeof(hr));
	hr.h = h;
	hr.req = req;
	hr.t0 = metrics_now_ns();
	http_conn_busy(h, req, 1);
	if (strlen(evhttp_request_get_uri(req)) > HTTP_URI_MAX) {
		http_send_error(&hr, 414, "uri_too_long",
		                "the request URI is longer than 8192 bytes");
		return;
	}
	if (http_headers_size(req) > HTTP_HEADERS_MAX) {
		http_send_error(&hr, 431, "headers_too_large",
		                "the request headers are larger than 16384 bytes");
		return;
	}
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || path[0] != '/') {
		http_send_error(&hr, 400, "bad_request", "the request has no absolute path");
		return;
	}
	hr.query = evhttp_uri_get_query(uri);
	if ((hr.ep = http_endpoint_find(&hr, path)) == NULL)
		return;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > HTTP_BODY_MAX) {
		http_send_error(&hr, 413, "too_large",
		                "the request body is larger than 65536 bytes");
		return;
	}
	hr.role = http_auth(h, req, &given);
	if (hr.role == ROLE_NONE && !(hr.ep->open && h->loopback)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		                  given ? "Bearer realm=\"callwarden\", error=\"invalid_token\""
		                        : "Bearer realm=\"callwarden\"");
		http_send_error(&hr, 401, "unauthorized",
		                given ? "unknown bearer token"
		                      : "send Authorization: Bearer <token>");
		return;
	}
	if (h->srv->stopping) {
		http_send_error(&hr, 503, "unavailable", "shutting down");
		return;
	}
	/* Monitoring is answered even while the call log holds everything else. */
	if (!hr.ep->open && (!TAILQ_EMPTY(&h->parked) || lifecycle_backlogged(h->srv))) {
		http_park(&hr);
		return;
	}
	hr.ep->run(&hr);
}

int
http_open(struct server *srv, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct http *h;
	evutil_socket_t fd;

	if (srv->settings.http[0] == '\0')
		return 0;
	if (listener_tcp_addr(srv, "http", srv->settings.http, &ss, &sslen, cause) == -1)
		return -1;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		*cause = strdup("out of memory");
		return -1;
	}
	h->srv = srv;
	h->loopback = listener_is_loopback(&ss);
	TAILQ_INIT(&h->fresh);
	TAILQ_INIT(&h->conns);
	TAILQ_INIT(&h->waiting);
	TAILQ_INIT(&h->parked);
	TAILQ_INIT(&h->flushq);
	metrics_vec_init(&h->statuses, 1, 32);
	srv->http = h;
	h->evh = evhttp_new(srv->base);
	h->fresh_ev = event_new(srv->base, -1, 0, http_fresh_cb, h);
	h->sweep_ev = event_new(srv->base, -1, EV_PERSIST, http_sweep_cb, h);
	h->flush_ev = event_new(srv->base, -1, 0, http_flush_cb, h);
	if (h->evh == NULL || h->fresh_ev == NULL || h->sweep_ev == NULL || h->flush_ev == NULL) {
		*cause = strdup("out of memory");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd == -1 || evutil_make_listen_socket_reuseable(fd) == -1 ||
	    evutil_make_socket_nonblocking(fd) == -1 || evutil_make_socket_closeonexec(fd) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1 || listen(fd, 512) == -1 ||
	    (h->bound = evhttp_accept_socket_with_handle(h->evh, fd)) == NULL) {
		char msg[512];

		snprintf(msg, sizeof(msg), "http %s: %s", srv->settings.http, strerror(errno));
		if (fd != -1)
			evutil_closesocket(fd);
		*cause = strdup(msg);
		return -1;
	}
	listener_bound_name("http", fd, h->name, sizeof(h->name));
	evhttp_set_bevcb(h->evh, http_bev_cb, h);
	evhttp_set_gencb(h->evh, http_request_cb, h);
	evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                       EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                       EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(h->evh, HTTP_HEADERS_HARD);
	evhttp_set_max_body_size(h->evh, HTTP_BODY_HARD);
	evhttp_set_timeout(h->evh, srv->settings.http_timeout);
	{
		struct timeval tick = {1, 0};

		event_add(h->sweep_ev, &tick);
	}
	log_info("listening on %s", h->name);
	if (srv->settings.ntokens == 0)
		log_warnx("WARNING: no tokens configured: every client of %s is ops "
		          "(allowed on loopback only; set tokens for anything else)",
		          h->name);
	return 0;
}

void
http_stop(struct server *srv)
{
	struct http *h = srv->http;

	if (h == NULL || h->bound == NULL)
		return;
	evhttp_del_accept_socket(h->evh, h->bound);
	h->bound = NULL;
}

void
http_free(struct server *srv)
{
	struct http *h = srv->http;
	struct http_req *hr;
	struct http_conn *c;

	if (h == NULL)
		return;
	/* Everything still held is answered before evhttp frees its requests. */
	while ((hr = TAILQ_FIRST(&h->parked)) != NULL)
		http_send_error(hr, 503, "unavailable", "shutting down");
	while ((hr = TAILQ_FIRST(&h->waiting)) != NULL)
		http_send_error(hr, 503, "unavailable", "shutting down");
	if (h->evh != NULL)
		evhttp_free(h->evh); /* closes every connection: their records go with them */
	while ((c = TAILQ_FIRST(&h->fresh)) != NULL) {
		TAILQ_REMOVE(&h->fresh, c, entry);
		bufferevent_decref(c->bev);
		free(c);
	}
	if (h->fresh_ev != NULL)
		event_free(h->fresh_ev);
	if (h->sweep_ev != NULL)
		event_free(h->sweep_ev);
	if (h->flush_ev != NULL)
		event_free(h->flush_ev);
	metrics_vec_free(&h->statuses);
	free(h);
	srv->http = NULL;
}
