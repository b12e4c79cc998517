/* The daemon's shared state and the interfaces between its modules. */
#ifndef CW_SERVER_H
#define CW_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "flag.h"
#include "jbuf.h"
#include "metrics.h"
#include "policy.h"
#include "proto.h"
#include "settings.h"
#include "store.h"

/* Most flags read for one routing decision: bounds the work a flooded caller can cause. */
#define SERVER_ROUTE_FLAGS 256
/* Most flags listed by caller.show. */
#define SERVER_SHOW_FLAGS 1000
/* Stop reading a connection while this much output waits for a slow reader. */
#define SESSION_OUTPUT_HIGH (4 * 1024 * 1024)
/* Stop reading while this many replies wait for the writer thread. */
#define SESSION_PENDING_MAX 4096

struct writer;
struct session;
struct sub_state;
TAILQ_HEAD(sub_list, sub_state);
struct calllog;
struct http;
struct decision;
struct logbatch;
struct callerset;
struct calls;
struct nuisance;

/* Automatic flags remembered while their commit is on its way (later calls cannot see them). */
#define LIFECYCLE_AUTO_RECENT 64

/* A reply slot that keeps its place in the connection's reply order until its text is ready. */
struct pending {
	TAILQ_ENTRY(pending) entry;
	int ready;
	char *data; /* malloc'ed reply line, owned by the slot */
	size_t len;
};
TAILQ_HEAD(pending_list, pending);

/*
 * One connection. refs counts the connection itself plus each request waiting for the writer;
 * the struct is freed when the connection is gone and the last of those completes.
 */
struct session {
	TAILQ_ENTRY(session) entry;
	uint64_t id;
	struct server *srv;
	struct bufferevent *bev; /* NULL once the connection is closed */
	int refs;
	int read_eof;   /* peer finished sending; reply to what was read, then close */
	int discarding; /* dropping an over-long line up to its newline */
	int paused;     /* reading stopped for backpressure */
	size_t npending;
	struct pending_list pending;
	int role;              /* ROLE_*: which ops the connection may use */
	const char *role_name; /* recorded in audit rows */
	struct sub_state *sub; /* NULL unless subscribed */
	char peer[64];
	/* Set for a request that is not a connection (HTTP): replies go here, not to bev. */
	void (*sink)(struct session *s, const char *data, size_t len);
	void *sink_arg;
	/* Output is written once per loop iteration, straight from the flush queue. */
	TAILQ_ENTRY(session) flush_entry;
	int flush_queued;  /* on srv->flushq, holding a reference */
	int write_waiting; /* a partial write left: libevent's write event finishes it */
};
TAILQ_HEAD(session_list, session);
TAILQ_HEAD(session_flush_list, session);

struct listener {
	struct server *srv;
	struct evconnlistener *ev;
	int is_unix;
	char name[128];
};

/* Counters for /metrics (lib/metrics.h), kept on the loop thread without locks. */
struct server_metrics {
	struct metrics_vec decisions; /* by queue and rule */
	struct metrics_hist latency;  /* seconds from a request read to its decision written */
	struct metrics_vec events;    /* requests run, by op */
	struct metrics_vec errors;    /* error replies, by code */
	uint64_t db_errors;           /* failed history reads and store jobs */
	uint64_t request_ns;          /* when the request being run was read (monotonic) */
};

struct server {
	struct event_base *base;
	struct settings settings;
	struct policy *policy; /* current policy; requests take a reference while they need it */
	struct store *reader;  /* used only on the loop thread */
	struct callerset *flagged;  /* callers that ever had a flag: the others skip the reader */
	struct event *snapshot_end; /* closes the reader's snapshot after this loop iteration */
	int snapshot_open;
	struct writer *writer;
	struct listener listeners[2];
	size_t nlisteners;
	struct session_list sessions;
	size_t nsessions;
	struct session_flush_list flushq; /* sessions with output to write this iteration */
	struct event *flush_ev;           /* writes flushq after this iteration's callbacks */
	uint64_t next_session_id;
	int64_t started_at;
	struct event *accept_retry;     /* re-enables accepting after EMFILE */
	struct writer *calllog_writer;  /* call-log rows, a batch every 50 ms */
	struct logbatch *calllog_batch; /* rows gathered on the loop for the next batch */
	struct calllog *calllog_reader; /* loop thread: recent calls for caller.show */
	char calls_db[4096];            /* the call log's own database file (calllog_path) */
	struct nuisance *nuisance;      /* per-caller counters, loop thread only */
	struct calls *calls;            /* calls in progress, loop thread only */
	int64_t next_call_row;          /* id of the next call-log row */
	size_t rebuilt_rows;
	struct event *tick;
	struct event *calllog_wait; /* polls the call-log backlog while reading is held */
	int calllog_full;           /* reading held until the backlog falls to the low mark */
	int pruning;
	int prune_more;
	int64_t last_prune;
	struct {
		char caller[NUMBER_BUFSZ];
		int pending; /* its flag is not committed yet */
	} auto_recent[LIFECYCLE_AUTO_RECENT];
	size_t auto_next;
	uint64_t degraded;      /* decisions from the default queue for want of history */
	struct sub_list subs;   /* subscribed sessions */
	size_t subscribers[3];  /* per topic: alert, flag, decision */
	uint64_t sub_dropped;   /* events dropped for slow subscribers */
	uint64_t sub_overflows; /* times a subscriber started dropping */
	struct writer *query;   /* slow reads (lists, exports) on their own connection */
	int reload_pending;     /* a SIGHUP reload is being parsed */
	struct jbuf out;        /* scratch for building one reply on the loop thread */
	struct flag_list flags; /* scratch for one caller's flags */
	int stopping;
	struct server_metrics m;
	struct http *http; /* the HTTP API, NULL when disabled */
};

/* session.c */
int session_flush_init(struct server *srv);
void session_flush_free(struct server *srv);
/* Appends to the connection's output, written at the end of this loop iteration; -1 on ENOMEM
 * (the caller closes or drops). */
int session_send(struct session *s, const void *data, size_t len);
/* Writes as much of bev's output as its socket takes now: 0, or -1 with errno on an error. */
int session_write_output(struct bufferevent *bev);
void session_accept(struct server *srv, int fd, const char *peer, int role);
void session_set_role(struct session *s, int role);
/* Queues a complete reply line (copied) in request order. */
void session_reply(struct session *s, const char *data, size_t len);
/* Reserves the next reply position for a request answered later; takes a session reference. */
struct pending *session_reserve(struct session *s);
/* Fills a reserved slot (takes ownership of data) and drops the reference. */
void session_fulfil(struct session *s, struct pending *slot, char *data, size_t len);
/* Stops reading every connection; each closes once its replies are written. */
void session_quiesce_all(struct server *srv);
/* Lets every connection held for backpressure read again where nothing else holds it. */
void session_resume_all(struct server *srv);
void session_close_all(struct server *srv);
/* A session for one request whose replies go to sink (the HTTP API); one reference, held by the
 * caller and dropped with session_release. */
struct session *session_new_sink(struct server *srv, int role, const char *peer,
                                 void (*sink)(struct session *, const char *, size_t), void *arg);
void session_release(struct session *s);

/* ops.c: runs one request line; the reply goes through session_reply or a reserved slot. */
void ops_count_decision(struct server *srv, const struct decision *d);
void ops_dispatch(struct session *s, const char *line, size_t len);
/* Runs a request already built (the HTTP API): role check, op, reply. The caller frees r. */
void ops_dispatch_req(struct session *s, struct proto_req *r);
/* Counts an error reply by its code, for /metrics. */
void ops_count_error(struct server *srv, enum proto_error e);
/* 1 when role may run the op named name (as the op table says). */
int ops_role_allows(const char *name, int role);
/* Sets up and frees the /metrics counters. */
void ops_metrics_init(struct server *srv);
void ops_metrics_free(struct server *srv);
/* Unix time from the loop's cached clock: cheap enough for every request. */
int64_t ops_now(struct server *srv);

/* listener.c */
int listener_open_all(struct server *srv, char **cause);
void listener_close_all(struct server *srv);
/* 1 for a loopback address (127.0.0.0/8, ::1). */
int listener_is_loopback(const struct sockaddr_storage *ss);
/*
 * The address of a TCP listener (what: "tcp", "http") from a numeric "HOST:PORT" or "[V6]:PORT"
 * ("localhost" is 127.0.0.1). Refuses anything but loopback when no tokens are configured.
 * Returns -1 with *cause (the caller frees it).
 */
int listener_tcp_addr(struct server *srv, const char *what, const char *spec,
                      struct sockaddr_storage *ss, socklen_t *sslen, char **cause);
/* "what ADDR:PORT" of a bound socket, as the logs name listeners. */
void listener_bound_name(const char *what, int fd, char *name, size_t len);

/* http.c: the HTTP API on its own listener (settings.http), or nothing when that is "". */
int http_open(struct server *srv, char **cause);
/* Stops accepting HTTP connections (shutdown begins). */
void http_stop(struct server *srv);
/* Closes every HTTP connection and frees the server. */
void http_free(struct server *srv);

#endif
