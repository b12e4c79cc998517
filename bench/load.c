/*
 * cwbench load: drives call.offered at callwardend over N connections with K requests in flight
 * each, and measures decisions/s and per-request latency.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cwbench.h"
#include "hist.h"

#define LOAD_IN_CHUNK     65536
#define LOAD_REQ_MAX      256 /* longest request line we build */
#define LOAD_SAMPLE_MASK  255 /* every 256th reply is fully parsed and checked */
#define LOAD_MAX_CONNS    10000
#define LOAD_MAX_PIPELINE 4096
#define LOAD_MAX_THREADS  64

struct load_opts {
	const char *tcp;
	const char *unix_path;
	int conns;
	int pipeline;
	int threads;
	double seconds;
	double warmup;
	long long callers;
	double flagged_ratio;
	long long pid;
	long long seed;
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
	uint64_t seq;
};

/* Counters of one worker; merged at the end. Only replies inside the window count. */
struct load_counts {
	uint64_t decisions;
	uint64_t errors;
	uint64_t degraded;
	uint64_t mismatched; /* an id out of order or a reply that does not parse */
	uint64_t sampled;
	uint64_t sampled_flagged;
	uint64_t queue_standard, queue_supervisor, queue_long_hold, queue_other;
	uint64_t bytes_out;
	uint64_t requests_out;
};

struct load_worker {
	pthread_t thread;
	const struct load_opts *o;
	struct event_base *base;
	struct event *tick;
	struct load_conn *conns;
	int nconns;
	uint64_t t0, t1; /* the measurement window, CLOCK_MONOTONIC ns */
	uint64_t rng;
	int stopping;
	struct hist *hist;
	struct load_counts n;
	char first_error[512];
	char failure[256];
};

static atomic_int load_abort;

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

/* Appends one call.offered line for request seq to the output buffer. */
static void
load_conn_build(struct load_conn *c, uint64_t seq, uint64_t wall)
{
	struct load_worker *w = c->w;
	char *start, *p;
	uint64_t num;

	if (c->outcap - c->outlen < LOAD_REQ_MAX) {
		c->outcap *= 2;
		c->out = realloc(c->out, c->outcap);
		if (c->out == NULL)
			abort();
	}
	if (cwbench_rand_unit(&w->rng) < w->o->flagged_ratio)
		num = (uint64_t)CWBENCH_FLAGGED_BASE +
		      cwbench_rand(&w->rng) % (uint64_t)w->o->callers;
	else
		num = (uint64_t)CWBENCH_UNFLAGGED_BASE + cwbench_rand(&w->rng) % 1000000000ULL;

	start = p = c->out + c->outlen;
	p = LOAD_PUT_LIT(p, "{\"op\":\"call.offered\",\"id\":");
	p = load_put_u64(p, seq);
	p = LOAD_PUT_LIT(p, ",\"call_id\":\"b-");
	p = load_put_u64(p, (uint64_t)c->idx);
	*p++ = '-';
	p = load_put_u64(p, seq);
	p = LOAD_PUT_LIT(p, "\",\"caller\":\"+1");
	p = load_put_u64(p, num);
	p = LOAD_PUT_LIT(p, "\",\"dialed\":\"+18005550100\",\"ts\":");
	p = load_put_u64(p, wall);
	p = LOAD_PUT_LIT(p, "}\n");
	c->outlen += (size_t)(p - start);
	w->n.bytes_out += (uint64_t)(p - start);
	w->n.requests_out++;
}

/* Sends k new requests, all stamped with one send time. */
static void
load_conn_send(struct load_conn *c, unsigned k)
{
	struct load_worker *w = c->w;
	unsigned pipeline = (unsigned)w->o->pipeline, slot;
	uint64_t now = cwbench_now_ns(), wall = (uint64_t)time(NULL);

	while (k-- > 0 && c->inflight < pipeline) {
		slot = (c->head + c->inflight) % pipeline;
		c->seq++;
		c->sent_ns[slot] = now;
		c->sent_id[slot] = c->seq;
		c->inflight++;
		load_conn_build(c, c->seq, wall);
	}
	load_conn_flush(c);
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

/* Full check of a sampled reply: valid JSON, the right id and call_id, and which queue. */
static void
load_check_sample(struct load_conn *c, const char *line, size_t len, uint64_t id)
{
	struct load_counts *n = &c->w->n;
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *jid, *jcall, *jq, *jrule;
	char want[48];

	n->sampled++;
	if (root == NULL) {
		n->mismatched++;
		return;
	}
	jid = cJSON_GetObjectItemCaseSensitive(root, "id");
	jcall = cJSON_GetObjectItemCaseSensitive(root, "call_id");
	jq = cJSON_GetObjectItemCaseSensitive(root, "queue");
	jrule = cJSON_GetObjectItemCaseSensitive(root, "rule");
	snprintf(want, sizeof(want), "b-%d-%" PRIu64, c->idx, id);
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
		/* Any rule but default and withheld means a flag was found. */
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
	uint64_t sent, id;

	if (c->inflight == 0) {
		load_fail(w, c->idx, "a reply arrived with nothing in flight", NULL);
		return;
	}
	sent = c->sent_ns[c->head];
	id = c->sent_id[c->head];
	c->head = (c->head + 1) % (unsigned)w->o->pipeline;
	c->inflight--;
	if (now < w->t0 || now >= w->t1)
		return;

	hist_record(w->hist, now - sent);
	w->n.decisions++;
	if (memmem(line, len, "\"ok\":true", 9) == NULL) {
		w->n.errors++;
		if (w->first_error[0] == '\0')
			snprintf(w->first_error, sizeof(w->first_error), "%.*s",
			         (int)(len > 400 ? 400 : len), line);
	} else if (memmem(line, len, "\"degraded\":true", 15) != NULL) {
		w->n.degraded++;
	}
	if (load_reply_id(line, len) != id)
		w->n.mismatched++;
	if ((w->n.decisions & LOAD_SAMPLE_MASK) == 0)
		load_check_sample(c, line, len, id);
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
	if (replies > 0 && !w->stopping)
		load_conn_send(c, replies);
}

static void
load_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct load_worker *w = arg;

	(void)fd;
	(void)what;
	if (cwbench_now_ns() >= w->t1 || atomic_load(&load_abort)) {
		w->stopping = 1;
		event_base_loopbreak(w->base);
	}
}

static void *
load_worker_run(void *arg)
{
	struct load_worker *w = arg;
	int i;

	for (i = 0; i < w->nconns; i++)
		load_conn_send(&w->conns[i], (unsigned)w->o->pipeline);
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

/* CPU seconds (user + system) used so far by process pid, or -1. */
static double
load_proc_cpu(long long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	/* Space k after it precedes field k + 2; utime and stime are fields 14 and 15. */
	for (field = 3; field <= 14 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %llu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds all CPUs of the host have been busy (not idle, not waiting on I/O), or -1. */
static double
load_host_cpu(void)
{
	unsigned long long v[8] = {0};
	double busy = 0;
	FILE *f = fopen("/proc/stat", "r");
	int i, n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	           &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 5)
		return -1;
	for (i = 0; i < 8; i++)
		if (i != 3 && i != 4) /* idle, iowait */
			busy += (double)v[i];
	return busy / (double)sysconf(_SC_CLK_TCK);
}

static double
load_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The daemon's memory from /proc/PID/status, in KiB; -1 where unknown. */
struct load_mem {
	long long hwm;  /* peak resident set, VmHWM */
	long long anon; /* resident anonymous memory now: heap, stacks */
	long long file; /* resident file pages now: the mmap'ed database, the binary */
};

static void
load_proc_mem(long long pid, struct load_mem *m)
{
	char path[64], line[256];
	FILE *f;

	m->hwm = m->anon = m->file = -1;
	snprintf(path, sizeof(path), "/proc/%lld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmHWM: %lld kB", &m->hwm) == 1)
			continue;
		if (sscanf(line, "RssAnon: %lld kB", &m->anon) == 1)
			continue;
		sscanf(line, "RssFile: %lld kB", &m->file);
	}
	fclose(f);
}

static void
load_sleep_until(uint64_t t)
{
	uint64_t now;
	struct timespec ts;

	while (!atomic_load(&load_abort) && (now = cwbench_now_ns()) < t) {
		uint64_t d = t - now;

		if (d > 50000000ULL)
			d = 50000000ULL;
		ts.tv_sec = (time_t)(d / 1000000000ULL);
		ts.tv_nsec = (long)(d % 1000000000ULL);
		nanosleep(&ts, NULL);
	}
}

static void
load_usage(void)
{
	fprintf(stderr,
	        "usage: cwbench load [--tcp HOST:PORT | --unix PATH] [--conns N] [--pipeline K]\n"
	        "                    [--seconds S] [--warmup S] [--callers N] [--flagged-ratio R]\n"
	        "                    [--threads T] [--pid PID] [--seed S]\n");
}

static int
load_parse(int argc, char **argv, struct load_opts *o)
{
	static const struct option longopts[] = {
	    {"tcp", required_argument, NULL, 't'},
	    {"unix", required_argument, NULL, 'u'},
	    {"conns", required_argument, NULL, 'c'},
	    {"pipeline", required_argument, NULL, 'k'},
	    {"threads", required_argument, NULL, 'T'},
	    {"seconds", required_argument, NULL, 's'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"callers", required_argument, NULL, 'n'},
	    {"flagged-ratio", required_argument, NULL, 'r'},
	    {"pid", required_argument, NULL, 'p'},
	    {"seed", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->conns = 16;
	o->pipeline = 1;
	o->threads = 1;
	o->seconds = 10;
	o->warmup = 2;
	o->callers = 1000000;
	o->flagged_ratio = 0.5;
	o->seed = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->tcp = optarg;
			break;
		case 'u':
			o->unix_path = optarg;
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
			break;
		case 'w':
			if (cwbench_parse_double("--warmup", optarg, 0, 3600, &o->warmup) != 0)
				return -1;
			break;
		case 'n':
			if (cwbench_parse_ll("--callers", optarg, 1, CWBENCH_MAX_CALLERS,
			                     &o->callers) != 0)
				return -1;
			break;
		case 'r':
			if (cwbench_parse_double("--flagged-ratio", optarg, 0, 1,
			                         &o->flagged_ratio) != 0)
				return -1;
			break;
		case 'p':
			if (cwbench_parse_ll("--pid", optarg, 1, INT32_MAX, &o->pid) != 0)
				return -1;
			break;
		case 'S':
			if (cwbench_parse_ll("--seed", optarg, 0, INT64_MAX, &o->seed) != 0)
				return -1;
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
	if (o->tcp == NULL && o->unix_path == NULL)
		o->tcp = "127.0.0.1:7700";
	if (o->threads > o->conns)
		o->threads = o->conns;
	return 0;
}

static void
load_ms(char *buf, size_t len, uint64_t ns)
{
	double ms = (double)ns / 1e6;

	snprintf(buf, len, ms < 10 ? "%.3fms" : ms < 100 ? "%.2fms" : "%.1fms", ms);
}

/* CPU seconds used in the window by the daemon, by cwbench and by the whole host (-1: unknown). */
struct load_cpu {
	double daemon, self, host;
};

static void
load_report(const struct load_opts *o, struct load_worker *ws, double window,
            const struct load_cpu *cpu)
{
	struct hist *h = calloc(1, sizeof(*h));
	struct load_counts n;
	char p50[32], p99[32], p999[32], max[32], mean[32], rss[48];
	struct load_mem mem = {-1, -1, -1};
	int i;

	if (h == NULL)
		abort();
	memset(&n, 0, sizeof(n));
	for (i = 0; i < o->threads; i++) {
		hist_merge(h, ws[i].hist);
		n.decisions += ws[i].n.decisions;
		n.errors += ws[i].n.errors;
		n.degraded += ws[i].n.degraded;
		n.mismatched += ws[i].n.mismatched;
		n.sampled += ws[i].n.sampled;
		n.sampled_flagged += ws[i].n.sampled_flagged;
		n.queue_standard += ws[i].n.queue_standard;
		n.queue_supervisor += ws[i].n.queue_supervisor;
		n.queue_long_hold += ws[i].n.queue_long_hold;
		n.queue_other += ws[i].n.queue_other;
		n.bytes_out += ws[i].n.bytes_out;
		n.requests_out += ws[i].n.requests_out;
	}
	load_ms(p50, sizeof(p50), hist_percentile(h, 50));
	load_ms(p99, sizeof(p99), hist_percentile(h, 99));
	load_ms(p999, sizeof(p999), hist_percentile(h, 99.9));
	load_ms(max, sizeof(max), h->max);
	load_ms(mean, sizeof(mean), h->count != 0 ? h->sum / h->count : 0);
	if (o->pid != 0)
		load_proc_mem(o->pid, &mem);
	if (mem.hwm >= 0)
		snprintf(rss, sizeof(rss), "%.1fMiB", (double)mem.hwm / 1024.0);
	else
		snprintf(rss, sizeof(rss), "n/a");

	printf("conns=%d pipeline=%d seconds=%g decisions=%" PRIu64 " rate=%.0f/s p50=%s p99=%s "
	       "p999=%s max=%s errors=%" PRIu64 " degraded=%" PRIu64 " daemon_peak_rss=%s\n",
	       o->conns, o->pipeline, o->seconds, n.decisions, (double)n.decisions / window, p50,
	       p99, p999, max, n.errors + n.mismatched, n.degraded, rss);
	printf("  mean=%s threads=%d", mean, o->threads);
	if (cpu->daemon >= 0)
		printf(" daemon_cpu=%.0f%%", cpu->daemon / window * 100);
	printf(" cwbench_cpu=%.0f%%", cpu->self / window * 100);
	/* Whatever else ran on the machine competed with the daemon for its cores. */
	if (cpu->host >= 0 && cpu->daemon >= 0) {
		double others = cpu->host - cpu->daemon - cpu->self;

		printf(" others_cpu=%.0f%%", (others > 0 ? others : 0) / window * 100);
	}
	if (mem.anon >= 0 && mem.file >= 0)
		printf(" daemon_rss_anon=%.1fMiB daemon_rss_file=%.1fMiB",
		       (double)mem.anon / 1024.0, (double)mem.file / 1024.0);
	printf(" request_bytes=%.0f out_of_order=%" PRIu64 "\n",
	       n.requests_out != 0 ? (double)n.bytes_out / (double)n.requests_out : 0,
	       n.mismatched);
	if (n.sampled != 0)
		printf("  sampled=%" PRIu64 " flag_rule=%.1f%% standard=%.1f%% supervisor=%.1f%% "
		       "long-hold=%.1f%% other=%.1f%%\n",
		       n.sampled, 100.0 * (double)n.sampled_flagged / (double)n.sampled,
		       100.0 * (double)n.queue_standard / (double)n.sampled,
		       100.0 * (double)n.queue_supervisor / (double)n.sampled,
		       100.0 * (double)n.queue_long_hold / (double)n.sampled,
		       100.0 * (double)n.queue_other / (double)n.sampled);
	for (i = 0; i < o->threads; i++)
		if (ws[i].first_error[0] != '\0') {
			printf("  first error reply: %s\n", ws[i].first_error);
			break;
		}
	free(h);
}

int
load_main(int argc, char **argv)
{
	struct load_opts o;
	struct load_worker *ws;
	struct addrinfo *ai = NULL;
	char err[512];
	uint64_t start, t0, t1;
	struct load_cpu c0 = {-1, -1, -1}, c1 = {-1, -1, -1}, used;
	double window;
	int i, j, fd, rc = 0, failed = 0;

	if (load_parse(argc, argv, &o) != 0) {
		load_usage();
		return 2;
	}
	if (o.tcp != NULL && load_resolve(o.tcp, &ai) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);

	ws = calloc((size_t)o.threads, sizeof(*ws));
	if (ws == NULL)
		abort();
	for (i = 0; i < o.threads; i++) {
		struct load_worker *w = &ws[i];

		w->o = &o;
		w->rng = (uint64_t)o.seed * 0x100000001b3ULL + (uint64_t)i + 1;
		w->base = event_base_new();
		w->hist = calloc(1, sizeof(*w->hist));
		w->nconns = o.conns / o.threads + (i < o.conns % o.threads);
		w->conns = calloc((size_t)w->nconns, sizeof(*w->conns));
		if (w->base == NULL || w->hist == NULL || w->conns == NULL)
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

	start = cwbench_now_ns();
	t0 = start + (uint64_t)(o.warmup * 1e9);
	t1 = t0 + (uint64_t)(o.seconds * 1e9);
	for (i = 0; i < o.threads; i++) {
		struct timeval tv = {0, 20000};

		ws[i].t0 = t0;
		ws[i].t1 = t1;
		ws[i].tick = event_new(ws[i].base, -1, EV_PERSIST, load_tick_cb, &ws[i]);
		if (ws[i].tick == NULL || event_add(ws[i].tick, &tv) != 0)
			abort();
		if (pthread_create(&ws[i].thread, NULL, load_worker_run, &ws[i]) != 0) {
			fprintf(stderr, "cwbench: pthread_create failed\n");
			abort();
		}
	}
	load_sleep_until(t0);
	if (o.pid != 0)
		c0.daemon = load_proc_cpu(o.pid);
	c0.self = load_self_cpu();
	c0.host = load_host_cpu();
	load_sleep_until(t1);
	if (o.pid != 0)
		c1.daemon = load_proc_cpu(o.pid);
	c1.self = load_self_cpu();
	c1.host = load_host_cpu();
	for (i = 0; i < o.threads; i++)
		pthread_join(ws[i].thread, NULL);

	for (i = 0; i < o.threads; i++)
		if (ws[i].failure[0] != '\0') {
			fprintf(stderr, "cwbench: %s\n", ws[i].failure);
			failed = 1;
		}
	window = o.seconds;
	if (failed) {
		uint64_t now = cwbench_now_ns();

		window = now > t0 ? (double)(now - t0) / 1e9 : 0;
	}
	used.daemon = c0.daemon >= 0 && c1.daemon >= 0 ? c1.daemon - c0.daemon : -1;
	used.self = c1.self - c0.self;
	used.host = c0.host >= 0 && c1.host >= 0 ? c1.host - c0.host : -1;
	if (window > 0)
		load_report(&o, ws, window, &used);
	if (failed)
		rc = 1;
	else {
		uint64_t decisions = 0, errors = 0;

		for (i = 0; i < o.threads; i++) {
			decisions += ws[i].n.decisions;
			errors += ws[i].n.errors + ws[i].n.mismatched;
		}
		if (decisions == 0) {
			fprintf(stderr, "cwbench: no decisions in the measurement window\n");
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
		if (w->base != NULL)
			event_base_free(w->base);
	}
	free(ws);
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}
