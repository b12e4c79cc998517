/*
 * cwbench load: drives call events at callwardend over N connections with K requests in flight
 * each, and measures throughput and per-request latency. Three modes:
 *   offered    one call.offered per call (decisions/s, decision latency);
 *   lifecycle  call.offered, call.answered, call.ended per call, in order on one connection
 *              (complete calls/s, events/s, decision latency and latency over all events);
 *   distinct   like lifecycle, but every call comes from a new number, N in all, while the
 *              daemon's memory is sampled (its bounded tables must hold it within budget).
 *
 * Each worker thread runs one libevent loop over raw non-blocking sockets: a read callback takes
 * one timestamp, consumes every complete reply line in order (replies on one connection come
 * back in request order, so a ring of send timestamps gives each reply's latency), then writes
 * as many new requests as replies arrived, straight to the socket. Writing directly, instead of
 * through bufferevents, saves an epoll_ctl pair and a loop turn per batch, which matters on a
 * 2-core machine where every cycle the generator spends is taken from the daemon.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cwbench.h"
#include "hist.h"

#define LOAD_IN_CHUNK      65536
#define LOAD_REQ_MAX       256 /* longest request line we build */
#define LOAD_SAMPLE_MASK   255 /* every 256th decision is fully parsed and checked */
#define LOAD_MAX_CONNS     10000
#define LOAD_MAX_PIPELINE  4096
#define LOAD_MAX_THREADS   64
#define LOAD_MEM_SAMPLE_NS 1000000000ULL /* distinct: the daemon's memory is read every second */
#define LOAD_TICK_US       20000         /* checks for the end of the run */
#define LOAD_PACE_US       250           /* with --rate: how often the token bucket is refilled */

/*
 * Lifecycle event times: a call is offered at the send time, answered LOAD_RING_S later and ended
 * by the caller LOAD_TALK_S after that. 40 s of talk is not a short call. Events stay up to 43 s
 * ahead of the clock (the daemon accepts a day) rather than behind it: the daemon evicts the open
 * call offered earliest when its calls table is full, and a call dated in the past would be
 * evicted in favour of the still open calls of an earlier offered-mode run.
 */
#define LOAD_RING_S 3
#define LOAD_TALK_S 40

enum load_mode { LOAD_OFFERED, LOAD_LIFECYCLE, LOAD_DISTINCT };

/* The events of one call, in the order they are sent. */
enum load_event { LOAD_EV_OFFERED, LOAD_EV_ANSWERED, LOAD_EV_ENDED };

static const char *const load_mode_names[] = {"offered", "lifecycle", "distinct"};

struct load_opts {
	const char *tcp;
	const char *unix_path;
	enum load_mode mode;
	int conns;
	int pipeline;
	int threads;
	double seconds;
	int seconds_given;
	double warmup;
	long long callers;
	long long caller_range;
	long long numbers;
	int numbers_given;
	double flagged_ratio;
	/* Complete calls (decisions in offered mode) per second; 0: as fast as possible. */
	double rate;
	double progress;
	const char *policy;
	long long pid;
	long long seed; /* of the callers' random choice; differs per run unless given */
	int seed_given;
	unsigned events_per_call; /* 1 (offered) or 3 */
	/* Subscribers to every topic that never read: routing must not feel them. */
	int stalled_subscribers;
	/* Starts every call_id of this run ("l3f9a2-"): runs against one daemon never collide. */
	char tag[16];
	size_t taglen;
};

struct load_worker;

struct load_conn {
	struct load_worker *w;
	int idx;
	int fd;
	struct event *rev;
	struct event *wev;
	char *in;
	size_t inlen, incap;
	char *out;
	size_t outoff, outlen, outcap;
	/* Ring of requests in flight, oldest at head. */
	uint64_t *sent_ns;
	uint64_t *sent_id;
	unsigned head, inflight;
	uint64_t seq;  /* requests sent; request seq has id seq */
	int exhausted; /* distinct: no new number left, so no new call */
	int finished;  /* exhausted and every reply read */
};

/* Counters of one worker; merged at the end. Only replies inside the window count. */
struct load_counts {
	uint64_t events;    /* replies of any kind */
	uint64_t decisions; /* replies to call.offered */
	uint64_t calls;     /* replies to call.ended: complete calls */
	uint64_t errors;
	uint64_t degraded;
	uint64_t mismatched; /* an id out of order or a reply that does not parse */
	uint64_t sampled;
	uint64_t sampled_flagged;
	uint64_t queue_standard, queue_supervisor, queue_long_hold, queue_other;
	uint64_t bytes_out;
	uint64_t requests_out;
	uint64_t offered_out; /* call.offered requests sent, in or out of the window */
};

struct load_worker {
	pthread_t thread;
	const struct load_opts *o;
	struct event_base *base;
	struct event *tick;
	struct load_conn *conns;
	int nconns;
	int nfinished;
	uint64_t t0, t1; /* the measurement window, CLOCK_MONOTONIC ns */
	/* --rate: a token bucket of requests this worker may still send, refilled by the tick. */
	double tokens, tokens_per_ns, tokens_max;
	uint64_t refilled_ns;
	uint64_t rng;
	int stopping;
	struct hist *hist;     /* decision latency */
	struct hist *hist_all; /* latency of every event (lifecycle and distinct) */
	uint64_t *per_second;  /* units (decisions or complete calls) per second of the window */
	size_t nseconds;
	struct load_counts n;
	_Atomic uint64_t published; /* n.decisions or n.calls, for progress lines */
	char first_error[512];
	char failure[256];
};

static atomic_int load_abort;
static atomic_int load_workers_done;
/* distinct: the next new number's offset from CWBENCH_DISTINCT_BASE, shared by all workers. */
static _Atomic uint64_t load_next_number;

static void load_conn_flush(struct load_conn *c);

/* Stops the whole run: a broken connection makes the figures meaningless. */
static void
load_fail(struct load_worker *w, int idx, const char *what, const char *why)
{
	if (w->failure[0] == '\0')
		snprintf(w->failure, sizeof(w->failure), "connection %d: %s%s%s", idx, what,
		         why != NULL ? ": " : "", why != NULL ? why : "");
	w->stopping = 1;
	atomic_store(&load_abort, 1);
	event_base_loopbreak(w->base);
}

static char *
load_put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static char *
load_put_str(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

#define LOAD_PUT_LIT(p, lit) load_put_str((p), (lit), sizeof(lit) - 1)

static enum load_event
load_event_of(const struct load_opts *o, uint64_t seq)
{
	return (enum load_event)((seq - 1) % o->events_per_call);
}

/* The call number (from 1) of request seq on its connection. */
static uint64_t
load_call_of(const struct load_opts *o, uint64_t seq)
{
	return (seq - 1) / o->events_per_call + 1;
}

/* The caller of a new call: a flagged bench caller with probability R, else a random number. */
static int
load_pick_caller(struct load_worker *w, uint64_t *num)
{
	const struct load_opts *o = w->o;
	uint64_t k;

	if (o->mode == LOAD_DISTINCT) {
		k = atomic_fetch_add_explicit(&load_next_number, 1, memory_order_relaxed);
		if (k >= (uint64_t)o->numbers)
			return -1;
		*num = (uint64_t)CWBENCH_DISTINCT_BASE + k;
	} else if (cwbench_rand_unit(&w->rng) < o->flagged_ratio) {
		*num =
		    (uint64_t)CWBENCH_FLAGGED_BASE + cwbench_rand(&w->rng) % (uint64_t)o->callers;
	} else {
		*num = (uint64_t)CWBENCH_UNFLAGGED_BASE +
		       cwbench_rand(&w->rng) % (uint64_t)o->caller_range;
	}
	return 0;
}

/*
 * Appends request seq to the output buffer: the event load_event_of(seq) of call
 * load_call_of(seq). Returns -1, appending nothing, when a distinct run has no number left.
 */
static int
load_conn_build(struct load_conn *c, uint64_t seq, uint64_t wall)
{
	struct load_worker *w = c->w;
	const struct load_opts *o = w->o;
	enum load_event ev = load_event_of(o, seq);
	char *start, *p;
	uint64_t num = 0;

	if (ev == LOAD_EV_OFFERED && load_pick_caller(w, &num) == -1)
		return -1;
	if (c->outcap - c->outlen < LOAD_REQ_MAX) {
		c->outcap *= 2;
		c->out = realloc(c->out, c->outcap);
		if (c->out == NULL)
			abort();
	}
	start = p = c->out + c->outlen;
	switch (ev) {
	case LOAD_EV_OFFERED:
		p = LOAD_PUT_LIT(p, "{\"op\":\"call.offered\",\"id\":");
		break;
	case LOAD_EV_ANSWERED:
		p = LOAD_PUT_LIT(p, "{\"op\":\"call.answered\",\"id\":");
		break;
	case LOAD_EV_ENDED:
		p = LOAD_PUT_LIT(p, "{\"op\":\"call.ended\",\"id\":");
		break;
	}
	p = load_put_u64(p, seq);
	p = LOAD_PUT_LIT(p, ",\"call_id\":\"");
	p = load_put_str(p, o->tag, o->taglen);
	p = load_put_u64(p, (uint64_t)c->idx);
	*p++ = '-';
	p = load_put_u64(p, load_call_of(o, seq));
	switch (ev) {
	case LOAD_EV_OFFERED:
		p = LOAD_PUT_LIT(p, "\",\"caller\":\"+1");
		p = load_put_u64(p, num);
		p = LOAD_PUT_LIT(p, "\",\"dialed\":\"+18005550100\",\"ts\":");
		w->n.offered_out++;
		break;
	case LOAD_EV_ANSWERED:
		p = LOAD_PUT_LIT(p, "\",\"agent\":\"a-");
		p = load_put_u64(p, (uint64_t)c->idx);
		p = LOAD_PUT_LIT(p, "\",\"ts\":");
		wall += LOAD_RING_S;
		break;
	case LOAD_EV_ENDED:
		p = LOAD_PUT_LIT(p, "\",\"ended_by\":\"caller\",\"ts\":");
		wall += LOAD_RING_S + LOAD_TALK_S;
		break;
	}
	p = load_put_u64(p, wall);
	p = LOAD_PUT_LIT(p, "}\n");
	c->outlen += (size_t)(p - start);
	w->n.bytes_out += (uint64_t)(p - start);
	w->n.requests_out++;
	return 0;
}

/* The connection has nothing left to send or receive; the worker stops with its last one. */
static void
load_conn_finish(struct load_conn *c)
{
	struct load_worker *w = c->w;

	if (c->finished)
		return;
	c->finished = 1;
	if (++w->nfinished == w->nconns) {
		w->stopping = 1;
		atomic_fetch_add(&load_workers_done, 1);
		event_base_loopbreak(w->base);
	}
}

/* Sends up to k new requests, all stamped with one send time. */
static void
load_conn_send(struct load_conn *c, unsigned k)
{
	struct load_worker *w = c->w;
	unsigned pipeline = (unsigned)w->o->pipeline, slot;
	uint64_t now = cwbench_now_ns(), wall = (uint64_t)time(NULL);

	while (k-- > 0 && c->inflight < pipeline && !c->exhausted) {
		if (w->o->rate > 0) {
			if (w->tokens < 1)
				break;
			w->tokens -= 1;
		}
		if (load_conn_build(c, c->seq + 1, wall) == -1) {
			c->exhausted = 1;
			break;
		}
		c->seq++;
		slot = (c->head + c->inflight) % pipeline;
		c->sent_ns[slot] = now;
		c->sent_id[slot] = c->seq;
		c->inflight++;
	}
	load_conn_flush(c);
	if (c->exhausted && c->inflight == 0)
		load_conn_finish(c);
}

static void
load_conn_flush(struct load_conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->wev, NULL);
				return;
			}
			load_fail(c->w, c->idx, "send", strerror(errno));
			return;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
}

static void
load_conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct load_conn *c = arg;

	(void)fd;
	(void)what;
	load_conn_flush(c);
}

/* Full check of a sampled decision: valid JSON, the right id and call_id, and which queue. */
static void
load_check_sample(struct load_conn *c, const char *line, size_t len, uint64_t id)
{
	const struct load_opts *o = c->w->o;
	struct load_counts *n = &c->w->n;
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *jid, *jcall, *jq, *jrule;
	char want[64];

	n->sampled++;
	if (root == NULL) {
		n->mismatched++;
		return;
	}
	jid = cJSON_GetObjectItemCaseSensitive(root, "id");
	jcall = cJSON_GetObjectItemCaseSensitive(root, "call_id");
	jq = cJSON_GetObjectItemCaseSensitive(root, "queue");
	jrule = cJSON_GetObjectItemCaseSensitive(root, "rule");
	snprintf(want, sizeof(want), "%s%d-%" PRIu64, o->tag, c->idx, load_call_of(o, id));
	if (!cJSON_IsNumber(jid) || (uint64_t)jid->valuedouble != id || !cJSON_IsString(jcall) ||
	    strcmp(jcall->valuestring, want) != 0) {
		n->mismatched++;
	} else if (cJSON_IsString(jq)) {
		if (strcmp(jq->valuestring, "standard") == 0)
			n->queue_standard++;
		else if (strcmp(jq->valuestring, "supervisor") == 0)
			n->queue_supervisor++;
		else if (strcmp(jq->valuestring, "long-hold") == 0)
			n->queue_long_hold++;
		else
			n->queue_other++;
		/* Any rule but default and withheld means a flag or a nuisance pattern decided. */
		if (cJSON_IsString(jrule) && strcmp(jrule->valuestring, "default") != 0 &&
		    strcmp(jrule->valuestring, "withheld") != 0)
			n->sampled_flagged++;
	}
	cJSON_Delete(root);
}

/* Reads the id that the reply echoes first; 0 when there is none. */
static uint64_t
load_reply_id(const char *line, size_t len)
{
	const char *p = memmem(line, len, "\"id\":", 5), *end = line + len;
	uint64_t v = 0;

	if (p == NULL)
		return 0;
	for (p += 5; p < end && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

static void
load_conn_reply(struct load_conn *c, const char *line, size_t len, uint64_t now)
{
	struct load_worker *w = c->w;
	const struct load_opts *o = w->o;
	uint64_t sent, id, lat;
	enum load_event ev;
	size_t sec;

	if (c->inflight == 0) {
		load_fail(w, c->idx, "a reply arrived with nothing in flight", NULL);
		return;
	}
	sent = c->sent_ns[c->head];
	id = c->sent_id[c->head];
	c->head = (c->head + 1) % (unsigned)o->pipeline;
	c->inflight--;
	if (now < w->t0 || now >= w->t1)
		return;

	lat = now - sent;
	ev = load_event_of(o, id);
	w->n.events++;
	if (o->mode != LOAD_OFFERED)
		hist_record(w->hist_all, lat);
	if (memmem(line, len, "\"ok\":true", 9) == NULL) {
		w->n.errors++;
		if (w->first_error[0] == '\0')
			snprintf(w->first_error, sizeof(w->first_error), "%.*s",
			         (int)(len > 400 ? 400 : len), line);
	} else if (ev == LOAD_EV_OFFERED && memmem(line, len, "\"degraded\":true", 15) != NULL) {
		w->n.degraded++;
	}
	if (load_reply_id(line, len) != id)
		w->n.mismatched++;
	if (ev == LOAD_EV_OFFERED) {
		hist_record(w->hist, lat);
		w->n.decisions++;
		if ((w->n.decisions & LOAD_SAMPLE_MASK) == 0)
			load_check_sample(c, line, len, id);
	} else if (ev == LOAD_EV_ENDED) {
		w->n.calls++;
	}
	/* The per-second unit: a decision in offered mode, else a complete call. */
	if (ev == (o->mode == LOAD_OFFERED ? LOAD_EV_OFFERED : LOAD_EV_ENDED)) {
		sec = (size_t)((now - w->t0) / 1000000000ULL);
		if (sec < w->nseconds)
			w->per_second[sec]++;
	}
}

static void
load_conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct load_conn *c = arg;
	struct load_worker *w = c->w;
	char *p, *end, *nl;
	unsigned replies = 0;
	uint64_t now;
	ssize_t n;

	(void)what;
	if (c->incap - c->inlen < LOAD_IN_CHUNK / 4) {
		c->incap *= 2;
		c->in = realloc(c->in, c->incap);
		if (c->in == NULL)
			abort();
	}
	n = recv(fd, c->in + c->inlen, c->incap - c->inlen, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		load_fail(w, c->idx, "recv", strerror(errno));
		return;
	}
	if (n == 0) {
		load_fail(w, c->idx, "the daemon closed the connection", NULL);
		return;
	}
	now = cwbench_now_ns();
	c->inlen += (size_t)n;
	p = c->in;
	end = c->in + c->inlen;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		load_conn_reply(c, p, (size_t)(nl - p), now);
		p = nl + 1;
		replies++;
	}
	c->inlen = (size_t)(end - p);
	if (c->inlen > 0 && p != c->in)
		memmove(c->in, p, c->inlen);
	if (c->inlen > 16 * 1024 * 1024) {
		load_fail(w, c->idx, "a reply line longer than 16 MiB", NULL);
		return;
	}
	atomic_store_explicit(&w->published,
	                      w->o->mode == LOAD_OFFERED ? w->n.decisions : w->n.calls,
	                      memory_order_relaxed);
	if (replies > 0 && !w->stopping)
		load_conn_send(c, replies);
}

/* With --rate: refills the token bucket and tops every connection up to its pipeline. */
static void
load_pace(struct load_worker *w, uint64_t now)
{
	unsigned pipeline = (unsigned)w->o->pipeline;
	int i, j;

	w->tokens += (double)(now - w->refilled_ns) * w->tokens_per_ns;
	if (w->tokens > w->tokens_max)
		w->tokens = w->tokens_max;
	w->refilled_ns = now;
	/* Start at a different connection each time so that none is always served last. */
	for (i = 0, j = (int)(now / 1000 % (uint64_t)w->nconns); i < w->nconns && w->tokens >= 1;
	     i++, j = (j + 1) % w->nconns)
		if (w->conns[j].inflight < pipeline && !w->conns[j].exhausted)
			load_conn_send(&w->conns[j], pipeline);
}

static void
load_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct load_worker *w = arg;
	uint64_t now = cwbench_now_ns();

	(void)fd;
	(void)what;
	if (now >= w->t1 || atomic_load(&load_abort)) {
		w->stopping = 1;
		event_base_loopbreak(w->base);
		return;
	}
	if (w->o->rate > 0 && !w->stopping)
		load_pace(w, now);
}

/* With --rate the pacing tick needs timers finer than epoll's milliseconds. */
static struct event_base *
load_event_base(const struct load_opts *o)
{
	struct event_config *cfg;
	struct event_base *base;

	if (o->rate <= 0)
		return event_base_new();
	cfg = event_config_new();
	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static void *
load_worker_run(void *arg)
{
	struct load_worker *w = arg;
	int i;

	for (i = 0; i < w->nconns; i++)
		load_conn_send(&w->conns[i], (unsigned)w->o->pipeline);
	/* A distinct run smaller than the pipelines may be over already; a loopbreak before
	 * the loop runs would be lost. */
	if (!w->stopping)
		event_base_dispatch(w->base);
	return NULL;
}

/* Connects one socket (blocking, then switched to non-blocking). */
static int
load_connect(const struct load_opts *o, const struct addrinfo *ai, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd, one = 1;

	if (o->unix_path != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(o->unix_path) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "unix %s: path too long", o->unix_path);
			return -1;
		}
		memcpy(sun.sun_path, o->unix_path, strlen(o->unix_path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			snprintf(err, errlen, "unix %s: %s", o->unix_path, strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
	} else {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 || connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			snprintf(err, errlen, "tcp %s: %s", o->tcp, strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
load_resolve(const char *hostport, struct addrinfo **res)
{
	struct addrinfo hints;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t hl;
	int rc;

	if (colon == NULL || colon == hostport || colon[1] == '\0') {
		fprintf(stderr, "cwbench: --tcp: '%s' is not HOST:PORT\n", hostport);
		return -1;
	}
	hl = (size_t)(colon - hostport);
	if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
		hostport++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		fprintf(stderr, "cwbench: --tcp: host too long\n");
		return -1;
	}
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, colon + 1, &hints, res);
	if (rc != 0) {
		fprintf(stderr, "cwbench: --tcp %s: %s\n", hostport, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * A connection subscribed to every topic that never reads a byte: a supervisor's screen frozen
 * on a dead network. The small receive buffer makes the daemon's side fill at once.
 */
static int
load_stalled_subscriber(const struct load_opts *o, const struct addrinfo *ai, char *err,
                        size_t errlen)
{
	static const char req[] = "{\"op\":\"subscribe\",\"topics\":[\"alert\",\"flag\","
	                          "\"decision\"]}\n";
	int fd = load_connect(o, ai, err, errlen), small = 4096;

	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
load_usage(void)
{
	fprintf(stderr,
	        "usage: cwbench load [--mode offered|lifecycle|distinct] [--tcp HOST:PORT | --unix "
	        "PATH]\n"
	        "                    [--conns N] [--pipeline K] [--seconds S] [--warmup S]\n"
	        "                    [--callers N] [--flagged-ratio R] [--caller-range N]\n"
	        "                    [--numbers N] [--rate R] [--policy PATH] [--progress S]\n"
	        "                    [--threads T] [--pid PID] [--seed S]\n"
	        "                    [--stalled-subscribers N]\n");
}

static int
load_parse_mode(const char *s, enum load_mode *mode)
{
	size_t i;

	for (i = 0; i < sizeof(load_mode_names) / sizeof(load_mode_names[0]); i++)
		if (strcmp(s, load_mode_names[i]) == 0) {
			*mode = (enum load_mode)i;
			return 0;
		}
	fprintf(stderr, "cwbench: --mode: '%s' is not offered, lifecycle or distinct\n", s);
	return -1;
}

/* What the daemon's stats op says about its bounded tables and its call-log writer. */
struct load_stats {
	int ok; /* 0: no answer (an older daemon, or a timeout) */
	long long calls_held, calls_memory, tracked, nuisance_memory, calllog_backlog;
	long long subscriber_overflows, events_dropped;
};

static long long
load_stats_int(const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

/*
 * Asks the daemon for stats on a connection of its own, waiting at most 5 s. The daemon counts
 * active flags on its writer thread for this reply, so ask seldom on a large database.
 */
static void
load_stats_fetch(const struct load_opts *o, const struct addrinfo *ai, struct load_stats *st)
{
	static const char req[] = "{\"op\":\"stats\"}\n";
	struct timeval tv = {5, 0};
	char buf[4096], err[256];
	size_t len = 0;
	ssize_t n;
	cJSON *root;
	int fd;

	memset(st, 0, sizeof(*st));
	fd = load_connect(o, ai, err, sizeof(err));
	if (fd == -1)
		return;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return;
	}
	while (len < sizeof(buf) - 1 && memchr(buf, '\n', len) == NULL) {
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	root = cJSON_ParseWithLength(buf, len);
	if (root == NULL)
		return;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "ok"))) {
		st->ok = 1;
		st->calls_held = load_stats_int(root, "calls_held");
		st->calls_memory = load_stats_int(root, "calls_memory_bytes");
		st->tracked = load_stats_int(root, "nuisance_tracked");
		st->nuisance_memory = load_stats_int(root, "nuisance_memory_bytes");
		st->calllog_backlog = load_stats_int(root, "calllog_backlog");
		st->subscriber_overflows = load_stats_int(root, "subscriber_overflows");
		st->events_dropped = load_stats_int(root, "events_dropped");
	}
	cJSON_Delete(root);
}

/* " calls_held=… calls_memory=…MiB nuisance_tracked=… nuisance_memory=…MiB calllog_backlog=…" */
static void
load_stats_format(char *buf, size_t len, const struct load_stats *st)
{
	if (!st->ok) {
		snprintf(buf, len, " (no stats from the daemon)");
		return;
	}
	snprintf(buf, len,
	         " calls_held=%lld calls_memory=%.1fMiB nuisance_tracked=%lld "
	         "nuisance_memory=%.1fMiB calllog_backlog=%lld",
	         st->calls_held, (double)st->calls_memory / 1048576.0, st->tracked,
	         (double)st->nuisance_memory / 1048576.0, st->calllog_backlog);
}

/*
 * A tag for this run's call_ids: the mode's letter and five hex digits that differ per run. Without
 * --seed the callers differ per run too, so that back-to-back runs against one daemon do not
 * repeat each other's callers (which the nuisance counters would notice).
 */
static void
load_make_tag(struct load_opts *o)
{
	static const char letter[] = {'b', 'l', 'd'};
	uint64_t st = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 24) ^ (cwbench_now_ns() << 32);

	if (!o->seed_given)
		o->seed = (long long)(cwbench_rand(&st) >> 1);
	st ^= (uint64_t)o->seed;
	snprintf(o->tag, sizeof(o->tag), "%c%05" PRIx64 "-", letter[o->mode],
	         cwbench_rand(&st) & 0xfffff);
	o->taglen = strlen(o->tag);
}

static int
load_parse(int argc, char **argv, struct load_opts *o)
{
	static const struct option longopts[] = {
	    {"tcp", required_argument, NULL, 't'},
	    {"unix", required_argument, NULL, 'u'},
	    {"mode", required_argument, NULL, 'm'},
	    {"conns", required_argument, NULL, 'c'},
	    {"pipeline", required_argument, NULL, 'k'},
	    {"threads", required_argument, NULL, 'T'},
	    {"seconds", required_argument, NULL, 's'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"callers", required_argument, NULL, 'n'},
	    {"caller-range", required_argument, NULL, 'R'},
	    {"numbers", required_argument, NULL, 'N'},
	    {"flagged-ratio", required_argument, NULL, 'r'},
	    {"rate", required_argument, NULL, 'x'},
	    {"progress", required_argument, NULL, 'P'},
	    {"policy", required_argument, NULL, 'y'},
	    {"pid", required_argument, NULL, 'p'},
	    {"seed", required_argument, NULL, 'S'},
	    {"stalled-subscribers", required_argument, NULL, 'Z'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long long v;
	int ch, warmup_given = 0, progress_given = 0;

	memset(o, 0, sizeof(*o));
	o->mode = LOAD_OFFERED;
	o->conns = 16;
	o->pipeline = 1;
	o->threads = 1;
	o->seconds = 10;
	o->warmup = 2;
	o->callers = 1000000;
	o->caller_range = 10000000;
	o->numbers = 10000000;
	o->flagged_ratio = 0.5;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->tcp = optarg;
			break;
		case 'u':
			o->unix_path = optarg;
			break;
		case 'm':
			if (load_parse_mode(optarg, &o->mode) != 0)
				return -1;
			break;
		case 'c':
			if (cwbench_parse_ll("--conns", optarg, 1, LOAD_MAX_CONNS, &v) != 0)
				return -1;
			o->conns = (int)v;
			break;
		case 'k':
			if (cwbench_parse_ll("--pipeline", optarg, 1, LOAD_MAX_PIPELINE, &v) != 0)
				return -1;
			o->pipeline = (int)v;
			break;
		case 'T':
			if (cwbench_parse_ll("--threads", optarg, 1, LOAD_MAX_THREADS, &v) != 0)
				return -1;
			o->threads = (int)v;
			break;
		case 's':
			if (cwbench_parse_double("--seconds", optarg, 0.1, 86400, &o->seconds) != 0)
				return -1;
			o->seconds_given = 1;
			break;
		case 'w':
			if (cwbench_parse_double("--warmup", optarg, 0, 3600, &o->warmup) != 0)
				return -1;
			warmup_given = 1;
			break;
		case 'n':
			if (cwbench_parse_ll("--callers", optarg, 1, CWBENCH_MAX_CALLERS,
			                     &o->callers) != 0)
				return -1;
			break;
		case 'R':
			if (cwbench_parse_ll("--caller-range", optarg, 1, CWBENCH_MAX_CALLERS,
			                     &o->caller_range) != 0)
				return -1;
			break;
		case 'N':
			if (cwbench_parse_ll("--numbers", optarg, 1, CWBENCH_MAX_CALLERS,
			                     &o->numbers) != 0)
				return -1;
			o->numbers_given = 1;
			break;
		case 'r':
			if (cwbench_parse_double("--flagged-ratio", optarg, 0, 1,
			                         &o->flagged_ratio) != 0)
				return -1;
			break;
		case 'x':
			if (cwbench_parse_double("--rate", optarg, 0, 1e8, &o->rate) != 0)
				return -1;
			break;
		case 'P':
			if (cwbench_parse_double("--progress", optarg, 0, 86400, &o->progress) != 0)
				return -1;
			progress_given = 1;
			break;
		case 'y':
			o->policy = optarg;
			break;
		case 'p':
			if (cwbench_parse_ll("--pid", optarg, 1, INT32_MAX, &o->pid) != 0)
				return -1;
			break;
		case 'S':
			if (cwbench_parse_ll("--seed", optarg, 0, INT64_MAX, &o->seed) != 0)
				return -1;
			o->seed_given = 1;
			break;
		case 'Z':
			if (cwbench_parse_ll("--stalled-subscribers", optarg, 0, 64, &v) != 0)
				return -1;
			o->stalled_subscribers = (int)v;
			break;
		case 'h':
		default:
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cwbench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->tcp != NULL && o->unix_path != NULL) {
		fprintf(stderr, "cwbench: --tcp and --unix exclude each other\n");
		return -1;
	}
	if (o->numbers_given && o->mode != LOAD_DISTINCT) {
		fprintf(stderr, "cwbench: --numbers needs --mode distinct\n");
		return -1;
	}
	if (o->mode == LOAD_DISTINCT) {
		/* Every call counts, from the first; the run ends after N calls or S seconds. */
		if (warmup_given && o->warmup != 0)
			fprintf(stderr, "cwbench: --warmup does not apply to --mode distinct\n");
		o->warmup = 0;
		if (!o->seconds_given)
			o->seconds = 600;
		if (!progress_given)
			o->progress = 10;
	}
	if (o->tcp == NULL && o->unix_path == NULL)
		o->tcp = "127.0.0.1:7700";
	if (o->threads > o->conns)
		o->threads = o->conns;
	o->events_per_call = o->mode == LOAD_OFFERED ? 1 : 3;
	load_make_tag(o);
	return 0;
}

static void
load_ms(char *buf, size_t len, uint64_t ns)
{
	double ms = (double)ns / 1e6;

	snprintf(buf, len, ms < 10 ? "%.3fms" : ms < 100 ? "%.2fms" : "%.1fms", ms);
}

/* "p50=… p99=… p999=… max=…" with prefix before every key. */
static void
load_latencies(char *buf, size_t len, const char *prefix, const struct hist *h)
{
	char p50[32], p99[32], p999[32], max[32];

	load_ms(p50, sizeof(p50), hist_percentile(h, 50));
	load_ms(p99, sizeof(p99), hist_percentile(h, 99));
	load_ms(p999, sizeof(p999), hist_percentile(h, 99.9));
	load_ms(max, sizeof(max), h->max);
	snprintf(buf, len, "%sp50=%s %sp99=%s %sp999=%s %smax=%s", prefix, p50, prefix, p99, prefix,
	         p999, prefix, max);
}

static void
load_mean(char *buf, size_t len, const struct hist *h)
{
	load_ms(buf, len, h->count != 0 ? h->sum / h->count : 0);
}

static void
load_counts_add(struct load_counts *d, const struct load_counts *s)
{
	d->events += s->events;
	d->decisions += s->decisions;
	d->calls += s->calls;
	d->errors += s->errors;
	d->degraded += s->degraded;
	d->mismatched += s->mismatched;
	d->sampled += s->sampled;
	d->sampled_flagged += s->sampled_flagged;
	d->queue_standard += s->queue_standard;
	d->queue_supervisor += s->queue_supervisor;
	d->queue_long_hold += s->queue_long_hold;
	d->queue_other += s->queue_other;
	d->bytes_out += s->bytes_out;
	d->requests_out += s->requests_out;
	d->offered_out += s->offered_out;
}

/* What the main thread saw while the workers ran. */
struct load_run {
	double window;                         /* seconds measured */
	double cpu_daemon, cpu_self, cpu_host; /* CPU seconds in the window; -1: unknown */
	struct proc_mem mem_start, mem_end;
	long long anon_peak; /* distinct: the largest RssAnon sampled, KiB; -1: none */
	/* distinct: RssAnon when a quarter, half, three quarters, all of the numbers were used. */
	long long anon_at[4];
	int have_budget;
	struct budget budget;
	struct load_stats stats_start, stats_end;
	long long backlog_peak; /* distinct: the largest calllog_backlog sampled; -1: none */
};

static double
load_mib(size_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static void
load_report(const struct load_opts *o, struct load_worker *ws, const struct load_run *run)
{
	struct hist *h = calloc(1, sizeof(*h)), *ha = calloc(1, sizeof(*ha));
	const char *unit = o->mode == LOAD_OFFERED ? "decisions" : "complete calls";
	struct load_counts n;
	uint64_t sec_min = UINT64_MAX, sec_max = 0, v;
	char lat[256], rss[48], mem[160], mean[32], tables[200];
	struct proc_mem mem_now = {-1, -1, -1, -1};
	double window = run->window;
	size_t s, whole;
	int i;

	if (h == NULL || ha == NULL)
		abort();
	memset(&n, 0, sizeof(n));
	for (i = 0; i < o->threads; i++) {
		hist_merge(h, ws[i].hist);
		hist_merge(ha, ws[i].hist_all);
		load_counts_add(&n, &ws[i].n);
	}
	if (o->pid != 0)
		proc_mem(o->pid, &mem_now);
	if (mem_now.hwm >= 0)
		snprintf(rss, sizeof(rss), "%.1fMiB", (double)mem_now.hwm / 1024.0);
	else
		snprintf(rss, sizeof(rss), "n/a");

	load_latencies(lat, sizeof(lat), "", h);
	printf("mode=%s conns=%d pipeline=%d", load_mode_names[o->mode], o->conns, o->pipeline);
	if (o->rate > 0)
		printf(" target_rate=%.0f/s", o->rate);
	printf(" seconds=%.4g", window);
	if (o->mode == LOAD_OFFERED)
		printf(" decisions=%" PRIu64 " rate=%.0f/s", n.decisions,
		       (double)n.decisions / window);
	else
		printf(" calls=%" PRIu64 " calls_rate=%.0f/s events=%" PRIu64 " events_rate=%.0f/s",
		       n.calls, (double)n.calls / window, n.events, (double)n.events / window);
	printf(" %s errors=%" PRIu64 " degraded=%" PRIu64 " daemon_peak_rss=%s\n", lat,
	       n.errors + n.mismatched, n.degraded, rss);
	if (o->mode != LOAD_OFFERED) {
		load_latencies(lat, sizeof(lat), "events_", ha);
		load_mean(mean, sizeof(mean), ha);
		printf("  decisions=%" PRIu64 " %s events_mean=%s\n", n.decisions, lat, mean);
	}
	load_mean(mean, sizeof(mean), h);
	printf("  mean=%s threads=%d seed=%lld", mean, o->threads, o->seed);
	if (run->cpu_daemon >= 0)
		printf(" daemon_cpu=%.0f%%", run->cpu_daemon / window * 100);
	printf(" cwbench_cpu=%.0f%%", run->cpu_self / window * 100);
	/* Whatever else ran on the machine competed with the daemon for its cores. */
	if (run->cpu_host >= 0 && run->cpu_daemon >= 0) {
		double others = run->cpu_host - run->cpu_daemon - run->cpu_self;

		printf(" others_cpu=%.0f%%", (others > 0 ? others : 0) / window * 100);
	}
	if (mem_now.anon >= 0 && mem_now.file >= 0)
		printf(" daemon_rss_anon=%.1fMiB daemon_rss_file=%.1fMiB",
		       (double)mem_now.anon / 1024.0, (double)mem_now.file / 1024.0);
	printf(" request_bytes=%.0f out_of_order=%" PRIu64 "\n",
	       n.requests_out != 0 ? (double)n.bytes_out / (double)n.requests_out : 0,
	       n.mismatched);

	/* The slowest and the fastest whole second of the window (all workers together). */
	whole = (size_t)window;
	for (s = 0; s < whole && s < ws[0].nseconds; s++) {
		for (v = 0, i = 0; i < o->threads; i++)
			v += ws[i].per_second[s];
		if (v < sec_min)
			sec_min = v;
		if (v > sec_max)
			sec_max = v;
	}
	if (whole > 0)
		printf("  per_second_min=%" PRIu64 " per_second_max=%" PRIu64
		       " (%s in the slowest and fastest of %zu whole seconds)\n",
		       sec_min, sec_max, unit, whole);
	if (n.sampled != 0)
		printf("  sampled=%" PRIu64 " flag_rule=%.1f%% standard=%.1f%% supervisor=%.1f%% "
		       "long-hold=%.1f%% other=%.1f%%\n",
		       n.sampled, 100.0 * (double)n.sampled_flagged / (double)n.sampled,
		       100.0 * (double)n.queue_standard / (double)n.sampled,
		       100.0 * (double)n.queue_supervisor / (double)n.sampled,
		       100.0 * (double)n.queue_long_hold / (double)n.sampled,
		       100.0 * (double)n.queue_other / (double)n.sampled);
	if (o->mode == LOAD_DISTINCT) {
		printf("  numbers=%lld calls_sent=%" PRIu64 " calls_completed=%" PRIu64 "%s\n",
		       o->numbers, n.offered_out, n.calls,
		       n.offered_out < (uint64_t)o->numbers ? " (stopped by --seconds)" : "");
		proc_mem_format(mem, sizeof(mem), &run->mem_start);
		printf("  daemon_memory_start %s\n", mem);
		proc_mem_format(mem, sizeof(mem), &run->mem_end);
		printf("  daemon_memory_end   %s\n", mem);
		if (run->anon_peak >= 0) {
			printf("  daemon_rss_anon_peak=%.1fMiB (sampled every second)",
			       (double)run->anon_peak / 1024.0);
			for (i = 0; i < 4; i++)
				if (run->anon_at[i] >= 0)
					printf(" at_%d%%=%.1fMiB", 25 * (i + 1),
					       (double)run->anon_at[i] / 1024.0);
				else
					printf(" at_%d%%=n/a", 25 * (i + 1));
			printf("\n");
		}
		load_stats_format(tables, sizeof(tables), &run->stats_start);
		printf("  daemon_tables_start%s\n", tables);
		load_stats_format(tables, sizeof(tables), &run->stats_end);
		printf("  daemon_tables_end  %s", tables);
		if (run->backlog_peak >= 0)
			printf(" calllog_backlog_peak=%lld", run->backlog_peak);
		printf("\n");
		if (run->have_budget)
			printf("  budget: nuisance max_tracked=%zu %.1fMiB + calls max_calls=%zu "
			       "%.1fMiB = %.1fMiB (%s, tables filled to capacity)\n",
			       run->budget.max_tracked, load_mib(run->budget.nuisance_bytes),
			       run->budget.max_calls, load_mib(run->budget.calls_bytes),
			       load_mib(run->budget.nuisance_bytes + run->budget.calls_bytes),
			       o->policy);
	}
	if (o->stalled_subscribers > 0)
		printf("  stalled_subscribers=%d subscriber_overflows=%lld events_dropped=%lld "
		       "(during "
		       "the run)\n",
		       o->stalled_subscribers,
		       run->stats_end.subscriber_overflows - run->stats_start.subscriber_overflows,
		       run->stats_end.events_dropped - run->stats_start.events_dropped);
	for (i = 0; i < o->threads; i++)
		if (ws[i].first_error[0] != '\0') {
			printf("  first error reply: %s\n", ws[i].first_error);
			break;
		}
	free(h);
	free(ha);
}

static uint64_t
load_published(struct load_worker *ws, int threads)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < threads; i++)
		v += atomic_load_explicit(&ws[i].published, memory_order_relaxed);
	return v;
}

/*
 * Sleeps until t, or until the run is aborted or every worker is done. Along the way prints a
 * progress line every o->progress seconds after from (to stderr, so that stdout holds only the
 * report) and, in distinct mode, samples the daemon's anonymous memory every second.
 */
static void
load_wait(const struct load_opts *o, const struct addrinfo *ai, struct load_worker *ws,
          uint64_t from, uint64_t t, struct load_run *run)
{
	uint64_t step = (uint64_t)(o->progress * 1e9), next = from + step, now, units,
	         last_units = load_published(ws, o->threads), next_mem = 0;
	const char *unit = o->mode == LOAD_OFFERED ? "decisions" : "calls";
	struct proc_mem m;
	struct load_stats st;
	struct timespec ts;
	char mem[160], tables[200];
	int q;

	while (!atomic_load(&load_abort) && atomic_load(&load_workers_done) < o->threads &&
	       (now = cwbench_now_ns()) < t) {
		uint64_t d = t - now;

		if (d > 50000000ULL)
			d = 50000000ULL;
		ts.tv_sec = (time_t)(d / 1000000000ULL);
		ts.tv_nsec = (long)(d % 1000000000ULL);
		nanosleep(&ts, NULL);
		now = cwbench_now_ns();
		if (o->mode == LOAD_DISTINCT && now >= next_mem) {
			uint64_t used = atomic_load(&load_next_number);

			if (o->pid != 0) {
				proc_mem(o->pid, &m);
				if (m.anon > run->anon_peak)
					run->anon_peak = m.anon;
				for (q = 0; q < 4; q++)
					if (run->anon_at[q] < 0 &&
					    used >= (uint64_t)o->numbers * (q + 1) / 4)
						run->anon_at[q] = m.anon;
			}
			load_stats_fetch(o, ai, &st);
			if (st.ok && st.calllog_backlog > run->backlog_peak)
				run->backlog_peak = st.calllog_backlog;
			next_mem = now + LOAD_MEM_SAMPLE_NS;
		}
		if (step != 0 && now >= next && now > from) {
			units = load_published(ws, o->threads);
			mem[0] = '\0';
			if (o->pid != 0) {
				proc_mem(o->pid, &m);
				proc_mem_format(mem, sizeof(mem), &m);
			}
			fprintf(stderr, "  progress t=%.0fs %s=%" PRIu64 " (%.0f/s lately)",
			        (double)(now - from) / 1e9, unit, units,
			        (double)(units - last_units) / o->progress);
			if (o->mode == LOAD_DISTINCT)
				fprintf(stderr, " numbers_used=%" PRIu64,
				        atomic_load(&load_next_number) < (uint64_t)o->numbers
				            ? atomic_load(&load_next_number)
				            : (uint64_t)o->numbers);
			load_stats_fetch(o, ai, &st);
			load_stats_format(tables, sizeof(tables), &st);
			fprintf(stderr, "%s%s%s\n", mem[0] != '\0' ? " daemon " : "", mem, tables);
			last_units = units;
			next += step;
		}
	}
}

static void
load_cpu_sample(const struct load_opts *o, double *daemon, double *self, double *host)
{
	*daemon = o->pid != 0 ? proc_cpu(o->pid) : -1;
	*self = proc_self_cpu();
	*host = proc_host_cpu();
}

int
load_main(int argc, char **argv)
{
	struct load_opts o;
	struct load_worker *ws;
	struct addrinfo *ai = NULL;
	struct load_run run;
	char err[512];
	uint64_t start, t0, t1, end;
	double d0, s0, h0, d1, s1, h1;
	int i, j, fd, rc = 0, failed = 0, stalled[64];

	for (i = 0; i < 64; i++)
		stalled[i] = -1;
	if (load_parse(argc, argv, &o) != 0) {
		load_usage();
		return 2;
	}
	if (o.tcp != NULL && load_resolve(o.tcp, &ai) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	memset(&run, 0, sizeof(run));
	run.anon_peak = -1;
	run.backlog_peak = -1;
	for (i = 0; i < 4; i++)
		run.anon_at[i] = -1;
	run.mem_start.rss = run.mem_end.rss = -1;
	if (o.mode == LOAD_DISTINCT && o.policy != NULL) {
		if (budget_compute(o.policy, &run.budget) != 0) {
			if (ai != NULL)
				freeaddrinfo(ai);
			return 1;
		}
		run.have_budget = 1;
	}
	if (o.mode == LOAD_DISTINCT && o.pid == 0)
		fprintf(stderr, "cwbench: without --pid the daemon's memory is not reported\n");

	ws = calloc((size_t)o.threads, sizeof(*ws));
	if (ws == NULL)
		abort();
	for (i = 0; i < o.threads; i++) {
		struct load_worker *w = &ws[i];

		w->o = &o;
		w->rng = (uint64_t)o.seed * 0x100000001b3ULL + (uint64_t)i + 1;
		w->base = load_event_base(&o);
		w->hist = calloc(1, sizeof(*w->hist));
		w->hist_all = calloc(1, sizeof(*w->hist_all));
		w->nseconds = (size_t)o.seconds + 1;
		w->per_second = calloc(w->nseconds, sizeof(*w->per_second));
		w->nconns = o.conns / o.threads + (i < o.conns % o.threads);
		w->conns = calloc((size_t)w->nconns, sizeof(*w->conns));
		if (w->base == NULL || w->hist == NULL || w->hist_all == NULL ||
		    w->per_second == NULL || w->conns == NULL)
			abort();
	}
	/* Connections are dealt round-robin to the workers. */
	for (i = 0; i < o.conns; i++) {
		struct load_worker *w = &ws[i % o.threads];
		struct load_conn *c = &w->conns[i / o.threads];

		fd = load_connect(&o, ai, err, sizeof(err));
		if (fd == -1) {
			fprintf(stderr, "cwbench: connection %d: %s\n", i, err);
			rc = 1;
			goto out;
		}
		c->w = w;
		c->idx = i;
		c->fd = fd;
		c->incap = LOAD_IN_CHUNK;
		c->in = malloc(c->incap);
		c->outcap = (size_t)o.pipeline * LOAD_REQ_MAX;
		c->out = malloc(c->outcap);
		c->sent_ns = calloc((size_t)o.pipeline, sizeof(*c->sent_ns));
		c->sent_id = calloc((size_t)o.pipeline, sizeof(*c->sent_id));
		c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, load_conn_read_cb, c);
		c->wev = event_new(w->base, fd, EV_WRITE, load_conn_write_cb, c);
		if (c->in == NULL || c->out == NULL || c->sent_ns == NULL || c->sent_id == NULL ||
		    c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) != 0)
			abort();
	}

	for (i = 0; i < o.stalled_subscribers; i++) {
		stalled[i] = load_stalled_subscriber(&o, ai, err, sizeof(err));
		if (stalled[i] == -1) {
			fprintf(stderr, "cwbench: stalled subscriber %d: %s\n", i, err);
			rc = 1;
			goto out;
		}
	}
	if (o.pid != 0)
		proc_mem(o.pid, &run.mem_start);
	if (o.mode == LOAD_DISTINCT || o.stalled_subscribers > 0)
		load_stats_fetch(&o, ai, &run.stats_start);
	start = cwbench_now_ns();
	t0 = start + (uint64_t)(o.warmup * 1e9);
	t1 = t0 + (uint64_t)(o.seconds * 1e9);
	for (i = 0; i < o.threads; i++) {
		struct timeval tv = {0, o.rate > 0 ? LOAD_PACE_US : LOAD_TICK_US};

		ws[i].t0 = t0;
		ws[i].t1 = t1;
		if (o.rate > 0) {
			ws[i].tokens_per_ns = o.rate * o.events_per_call / (double)o.threads / 1e9;
			/* 100 ms of requests: a stalled daemon gets the backlog an open system
			 * would send it, bounded by the pipelines. */
			ws[i].tokens_max = ws[i].tokens_per_ns * 1e8;
			if (ws[i].tokens_max < 1)
				ws[i].tokens_max = 1;
			ws[i].tokens = 1;
			ws[i].refilled_ns = start;
		}
		ws[i].tick = event_new(ws[i].base, -1, EV_PERSIST, load_tick_cb, &ws[i]);
		if (ws[i].tick == NULL || event_add(ws[i].tick, &tv) != 0)
			abort();
		if (pthread_create(&ws[i].thread, NULL, load_worker_run, &ws[i]) != 0) {
			fprintf(stderr, "cwbench: pthread_create failed\n");
			abort();
		}
	}
	o.progress = o.progress > 0 ? o.progress : 0;
	load_wait(&o, ai, ws, start, t0, &run);
	load_cpu_sample(&o, &d0, &s0, &h0);
	load_wait(&o, ai, ws, t0, t1, &run);
	load_cpu_sample(&o, &d1, &s1, &h1);
	end = cwbench_now_ns();
	for (i = 0; i < o.threads; i++)
		pthread_join(ws[i].thread, NULL);
	if (o.mode == LOAD_DISTINCT || o.stalled_subscribers > 0)
		load_stats_fetch(&o, ai, &run.stats_end);
	if (o.pid != 0) {
		proc_mem(o.pid, &run.mem_end);
		if (run.mem_end.anon > run.anon_peak)
			run.anon_peak = run.mem_end.anon;
		if (o.mode == LOAD_DISTINCT && run.anon_at[3] < 0 &&
		    atomic_load(&load_next_number) >= (uint64_t)o.numbers)
			run.anon_at[3] = run.mem_end.anon;
	}

	for (i = 0; i < o.threads; i++)
		if (ws[i].failure[0] != '\0') {
			fprintf(stderr, "cwbench: %s\n", ws[i].failure);
			failed = 1;
		}
	/* A failed run, or a distinct run that used up its numbers, ended before t1. */
	run.window = end < t1 ? (end > t0 ? (double)(end - t0) / 1e9 : 0) : o.seconds;
	run.cpu_daemon = d0 >= 0 && d1 >= 0 ? d1 - d0 : -1;
	run.cpu_self = s1 - s0;
	run.cpu_host = h0 >= 0 && h1 >= 0 ? h1 - h0 : -1;
	if (run.window > 0)
		load_report(&o, ws, &run);
	if (failed)
		rc = 1;
	else {
		uint64_t events = 0, errors = 0;

		for (i = 0; i < o.threads; i++) {
			events += ws[i].n.events;
			errors += ws[i].n.errors + ws[i].n.mismatched;
		}
		if (events == 0) {
			fprintf(stderr, "cwbench: no reply in the measurement window\n");
			rc = 1;
		} else if (errors > 0) {
			fprintf(stderr, "cwbench: %" PRIu64 " error replies\n", errors);
			rc = 1;
		}
	}

out:
	for (i = 0; i < o.threads; i++) {
		struct load_worker *w = &ws[i];

		for (j = 0; j < w->nconns; j++) {
			struct load_conn *c = &w->conns[j];

			if (c->rev != NULL)
				event_free(c->rev);
			if (c->wev != NULL)
				event_free(c->wev);
			if (c->w != NULL)
				close(c->fd);
			free(c->in);
			free(c->out);
			free(c->sent_ns);
			free(c->sent_id);
		}
		if (w->tick != NULL)
			event_free(w->tick);
		free(w->conns);
		free(w->hist);
		free(w->hist_all);
		free(w->per_second);
		if (w->base != NULL)
			event_base_free(w->base);
	}
	free(ws);
	for (i = 0; i < 64; i++)
		if (stalled[i] != -1)
			close(stalled[i]);
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}
