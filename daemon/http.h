/* The HTTP API's modules: the server (http.c) and its endpoints (http_*.c). */
#ifndef CW_HTTP_H
#define CW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/http.h>

#include "server.h"

/* Limits answered with a JSON error, the connection kept. */
#define HTTP_BODY_MAX    (64 * 1024) /* 413 */
#define HTTP_URI_MAX     8192        /* 414 */
#define HTTP_HEADERS_MAX 16384       /* 431: header lines, names and values */
/* Limits evhttp enforces itself while reading: its own 413 page, then it closes. */
#define HTTP_BODY_HARD    (1024 * 1024)
#define HTTP_HEADERS_HARD (64 * 1024)
/* Longest decoded path part ({} in a pattern) and query value. */
#define HTTP_PARAM_MAX 512

struct http_req;

/* One endpoint: a path pattern ("{}" stands for one path segment) and a method. */
struct http_endpoint {
	const char *pattern;
	enum evhttp_cmd_type method;
	void (*run)(struct http_req *hr);
	const char *op;    /* op-backed resources: the op the request becomes */
	const char *param; /* the field the {} segment fills */
	int numeric;       /* that field is a number */
	int status;        /* the status of a successful reply */
	int open;          /* needs no token on a loopback listener (monitoring) */
};

/*
 * One request being answered. The server's callback keeps it on its stack; a request answered
 * later (by an op on a writer thread, or once the call log has caught up) is copied to the heap
 * by http_hold and freed when sent.
 */
struct http_req {
	TAILQ_ENTRY(http_req) entry;
	struct http *h;
	struct evhttp_request *req;
	const struct http_endpoint *ep;
	struct session *s; /* the op's session while it runs */
	int role;
	int held;    /* on the heap, in h->waiting or h->parked */
	int parked;  /* waits for the call log, in h->parked */
	uint64_t t0; /* monotonic ns when the request had been read */
	const char *query;
	char param[HTTP_PARAM_MAX + 1];
};
TAILQ_HEAD(http_req_list, http_req);

struct http_conn;
TAILQ_HEAD(http_conn_list, http_conn);

#define HTTP_CONN_BUCKETS 1024

struct http {
	struct server *srv;
	struct evhttp *evh;
	struct evhttp_bound_socket *bound;
	char name[128];
	int loopback;           /* the listener is on a loopback address */
	struct event *fresh_ev; /* registers the connections accepted this turn */
	struct event *sweep_ev; /* closes connections idle or slow past the timeout */
	struct event *flush_ev; /* writes this turn's replies after its callbacks */
	struct http_conn_list fresh;
	struct http_conn_list conns;
	struct http_conn_list flushq; /* connections with a reply to write this turn */
	struct http_conn *buckets[HTTP_CONN_BUCKETS]; /* conns by evhttp connection */
	size_t nconns;
	uint64_t refused; /* connections closed at once: over max_connections */
	uint64_t timeouts;
	struct http_req_list waiting; /* answered by an op later */
	struct http_req_list parked;  /* held until the call log catches up */
	struct metrics_vec statuses;  /* replies by HTTP status */
	uint64_t next_call;           /* generated call ids */
};

/* http.c */
/* Sends a reply in one piece; a held hr is freed. ctype NULL: application/json. */
/* Runs the requests held while the call log was behind (called when it has caught up). */
void http_resume_parked(struct server *srv);
void http_send(struct http_req *hr, int status, const char *ctype, const char *body, size_t len);
/* A JSON error reply in the protocol's shape; code is a protocol or HTTP-only code. */
void http_send_error(struct http_req *hr, int status, const char *code, const char *msg);
/* The HTTP status for a protocol error code. */
int http_status_of(enum proto_error e);
/* The request on the heap (already there: itself), or NULL when out of memory. */
struct http_req *http_hold(struct http_req *hr);
/*
 * The next name=value pair of a query string, percent-decoded with '+' as a space: 1, 0 at the
 * end, -1 for bad escapes, a NUL, or a name or value too long for its buffer.
 */
int http_query_next(const char **q, char *name, size_t namelen, char *value, size_t valuelen);

/* http_route.c: GET /v1/route, the decision. */
void http_route(struct http_req *hr);
/* http_resources.c: a request turned into an op, run through the op table. */
void http_resource(struct http_req *hr);
/* http_monitor.c: GET /healthz and GET /metrics. */
void http_healthz(struct http_req *hr);
void http_metrics(struct http_req *hr);

#endif
