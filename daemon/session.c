/*
 * One connection: reads lines, hands each to ops_dispatch, and writes replies in request order.
 *
 * Lifecycle: a session holds one reference for its connection and one per request waiting for
 * the writer thread. Replies answered at once go straight to the output buffer unless an earlier
 * request is still waiting, in which case they queue behind it as ready slots. When the peer
 * closes its side, what was read is still answered; the socket closes once every reply is out.
 * On an error the socket closes at once and late replies are dropped. The struct is freed when
 * the last reference goes, so a writer callback never touches freed memory.
 *
 * Output: replies are appended to the bufferevent's output with its write event off, and every
 * connection with output is written once, directly, after the iteration's callbacks (the flush
 * queue). Only a write the kernel cannot take whole turns libevent's write event on until the
 * rest is out; so a busy connection costs one writev per iteration and no epoll changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lifecycle.h"
#include "log.h"
#include "server.h"
#include "sub.h"

static void session_read_cb(struct bufferevent *bev, void *arg);
static void session_write_cb(struct bufferevent *bev, void *arg);
static void session_event_cb(struct bufferevent *bev, short what, void *arg);
static void session_drained(struct session *s);

static void
session_unref(struct session *s)
{
	struct pending *p;

	if (--s->refs > 0)
		return;
	while ((p = TAILQ_FIRST(&s->pending)) != NULL) {
		TAILQ_REMOVE(&s->pending, p, entry);
		free(p->data);
		free(p);
	}
	free(s);
}

/* Closes the connection (the one exit path) and drops its reference. */
static void
session_close(struct session *s, const char *why)
{
	struct server *srv = s->srv;

	if (s->bev == NULL)
		return;
	log_debug("conn=%llu closed reason=%s", (unsigned long long)s->id, why);
	sub_release(s);
	bufferevent_free(s->bev);
	s->bev = NULL;
	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->nsessions--;
	if (srv->accept_retry != NULL && srv->nsessions < (size_t)srv->settings.max_connections)
		event_active(srv->accept_retry, EV_TIMEOUT, 0);
	session_unref(s);
}

void
session_set_role(struct session *s, int role)
{
	s->role = role;
	s->role_name = settings_role_name(role);
}

/* A new session holding one reference, for a connection or a request. */
static struct session *
session_alloc(struct server *srv, const char *peer, int role)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->srv = srv;
	s->id = ++srv->next_session_id;
	s->refs = 1;
	session_set_role(s, role);
	TAILQ_INIT(&s->pending);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	return s;
}

void
session_accept(struct server *srv, int fd, const char *peer, int role)
{
	struct session *s;

	s = session_alloc(srv, peer, role);
	if (s == NULL) {
		log_warnx("out of memory accepting a connection");
		evutil_closesocket(fd);
		return;
	}
	s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		log_warnx("cannot set up a connection");
		evutil_closesocket(fd);
		free(s);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
	/* The write event stays off: session_flush writes (see the top of this file). */
	bufferevent_disable(s->bev, EV_WRITE);
	bufferevent_enable(s->bev, EV_READ);
	log_debug("conn=%llu accepted peer=%s role=%s", (unsigned long long)s->id, s->peer,
	          s->role_name);
}

/* Closes a half-closed session once everything it owes has been written. */
static void
session_check_done(struct session *s)
{
	if (s->bev != NULL && s->read_eof && !s->paused && s->npending == 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_close(s, "eof");
}

static void
session_write(struct session *s, const char *data, size_t len)
{
	if (s->sink != NULL) {
		s->sink(s, data, len);
		return;
	}
	if (s->bev == NULL)
		return;
	if (session_send(s, data, len) == -1)
		session_close(s, "output buffer failure");
}

int
session_write_output(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	int n;

	/* A socket bufferevent keeps its output's front frozen for everyone but itself. */
	evbuffer_unfreeze(out, 1);
	do
		n = evbuffer_write(out, bufferevent_getfd(bev));
	while (n == -1 && errno == EINTR);
	evbuffer_freeze(out, 1);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n == -1 ? -1 : 0;
}

/* Writes what the connection's output holds; runs from the flush queue. */
static void
session_flush(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (s->write_waiting || evbuffer_get_length(out) == 0)
		return;
	if (session_write_output(s->bev) == -1) {
		session_close(s, strerror(errno));
		return;
	}
	if (evbuffer_get_length(out) > 0) {
		/* The kernel's buffer is full: libevent writes the rest as the peer reads. */
		s->write_waiting = 1;
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	session_drained(s);
}

static void
session_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct session *s;

	(void)fd;
	(void)what;
	/* Draining one may queue it (or another) again: the loop runs until the queue is empty. */
	while ((s = TAILQ_FIRST(&srv->flushq)) != NULL) {
		TAILQ_REMOVE(&srv->flushq, s, flush_entry);
		s->flush_queued = 0;
		if (s->bev != NULL)
			session_flush(s);
		session_unref(s);
	}
}

int
session_flush_init(struct server *srv)
{
	TAILQ_INIT(&srv->flushq);
	srv->flush_ev = event_new(srv->base, -1, 0, session_flush_cb, srv);
	return srv->flush_ev != NULL ? 0 : -1;
}

void
session_flush_free(struct server *srv)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&srv->flushq)) != NULL) {
		TAILQ_REMOVE(&srv->flushq, s, flush_entry);
		s->flush_queued = 0;
		session_unref(s);
	}
	if (srv->flush_ev != NULL)
		event_free(srv->flush_ev);
	srv->flush_ev = NULL;
}

int
session_send(struct session *s, const void *data, size_t len)
{
	struct server *srv = s->srv;

	if (s->bev == NULL)
		return 0;
	if (evbuffer_add(bufferevent_get_output(s->bev), data, len) == -1)
		return -1;
	if (!s->flush_queued && !s->write_waiting) {
		s->flush_queued = 1;
		s->refs++;
		TAILQ_INSERT_TAIL(&srv->flushq, s, flush_entry);
		/* Active now, it runs after the callbacks already queued in this iteration. */
		event_active(srv->flush_ev, EV_TIMEOUT, 0);
	}
	return 0;
}

void
session_reply(struct session *s, const char *data, size_t len)
{
	struct pending *p;

	if (s->bev == NULL && s->sink == NULL)
		return;
	if (TAILQ_EMPTY(&s->pending)) {
		session_write(s, data, len);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->data = malloc(len)) == NULL) {
		free(p);
		session_close(s, "out of memory");
		return;
	}
	memcpy(p->data, data, len);
	p->len = len;
	p->ready = 1;
	TAILQ_INSERT_TAIL(&s->pending, p, entry);
}

struct pending *
session_reserve(struct session *s)
{
	struct pending *p;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	TAILQ_INSERT_TAIL(&s->pending, p, entry);
	s->npending++;
	s->refs++;
	return p;
}

static void
session_resume(struct session *s)
{
	if (s->bev == NULL || !s->paused)
		return;
	if (s->npending >= SESSION_PENDING_MAX / 2 ||
	    evbuffer_get_length(bufferevent_get_output(s->bev)) >= SESSION_OUTPUT_HIGH / 2 ||
	    lifecycle_backlogged(s->srv))
		return;
	s->paused = 0;
	if (!s->read_eof)
		bufferevent_enable(s->bev, EV_READ);
	/* Lines may already wait in the input buffer: no new read event would announce them. */
	session_read_cb(s->bev, s);
}

void
session_fulfil(struct session *s, struct pending *slot, char *data, size_t len)
{
	struct pending *p;

	slot->data = data;
	slot->len = len;
	slot->ready = 1;
	s->npending--;
	/* Write out every ready reply at the head, in order. */
	while ((p = TAILQ_FIRST(&s->pending)) != NULL && p->ready) {
		TAILQ_REMOVE(&s->pending, p, entry);
		if (p->data != NULL)
			session_write(s, p->data, p->len);
		free(p->data);
		free(p);
	}
	if (s->bev != NULL) {
		session_resume(s);
		session_check_done(s);
	}
	session_unref(s);
}

static void
session_line_too_long(struct session *s)
{
	struct jbuf *jb = &s->srv->out;
	char msg[96];

	snprintf(msg, sizeof(msg), "line longer than %zu bytes", s->srv->settings.max_line);
	ops_count_error(s->srv, PROTO_LINE_TOO_LONG);
	jb_reset(jb);
	proto_reply_error(jb, NULL, PROTO_LINE_TOO_LONG, msg);
	if (!jb->oom)
		session_reply(s, jb->data, jb->len);
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t max = s->srv->settings.max_line;

	/* A reference keeps s alive if a reply below closes the connection. */
	s->refs++;
	while (s->bev != NULL) {
		struct evbuffer_ptr eol;
		size_t avail, len, eol_len = 0;
		char *line;

		if (s->npending >= SESSION_PENDING_MAX ||
		    evbuffer_get_length(bufferevent_get_output(bev)) >= SESSION_OUTPUT_HIGH ||
		    lifecycle_backlogged(s->srv)) {
			/* Backpressure: the client is not reading, or a writer is behind. */
			s->paused = 1;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (s->discarding) {
				evbuffer_drain(in, avail);
			} else if (avail > max + 1) {
				/* +1: a "\r" before the newline may still come. */
				session_line_too_long(s);
				s->discarding = 1;
				evbuffer_drain(in, avail);
			} else if (s->read_eof) {
				/* A last line without its newline: answer it all the same. */
				line = (char *)evbuffer_pullup(in, (ssize_t)avail);
				if (line != NULL)
					ops_dispatch(s, line, avail);
				evbuffer_drain(in, avail);
			}
			break;
		}
		if (s->discarding) {
			s->discarding = 0;
			evbuffer_drain(in, (size_t)eol.pos + eol_len);
			continue;
		}
		len = (size_t)eol.pos;
		line =
		    len > max + 1 ? NULL : (char *)evbuffer_pullup(in, eol.pos + (ssize_t)eol_len);
		if (line != NULL && len > 0 && line[len - 1] == '\r')
			len--;
		if (line == NULL || len > max) {
			session_line_too_long(s);
			evbuffer_drain(in, (size_t)eol.pos + eol_len);
			continue;
		}
		ops_dispatch(s, line, len);
		if (s->bev != NULL)
			evbuffer_drain(in, (size_t)eol.pos + eol_len);
	}
	if (s->bev != NULL)
		session_check_done(s);
	session_unref(s);
}

/*
 * The output is empty: subscriber events held back may go, reading may resume. The caller holds
 * a reference, since either may close the connection.
 */
static void
session_drained(struct session *s)
{
	sub_flush(s);
	session_resume(s);
	session_check_done(s);
}

/* libevent wrote the rest of a partial write (its low watermark is 0: the output is empty). */
static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	s->write_waiting = 0;
	bufferevent_disable(bev, EV_WRITE);
	s->refs++;
	session_drained(s);
	session_unref(s);
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_EOF) {
		/* Half close: answer everything already received, then close. */
		s->read_eof = 1;
		s->refs++;
		session_read_cb(bev, s);
		if (s->bev != NULL)
			bufferevent_disable(bev, EV_READ);
		if (s->bev != NULL)
			session_check_done(s);
		session_unref(s);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		session_close(s, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else
		session_close(s, "event");
}

void
session_resume_all(struct server *srv)
{
	struct session **held, *s;
	size_t n = 0, i;

	/* Handling one connection's lines may close others: hold them all first. */
	held = calloc(srv->nsessions + 1, sizeof(*held));
	if (held == NULL) {
		log_warnx("out of memory: connections resume on their next event");
		return;
	}
	TAILQ_FOREACH(s, &srv->sessions, entry)
	{
		s->refs++;
		held[n++] = s;
	}
	for (i = 0; i < n; i++) {
		session_resume(held[i]);
		session_unref(held[i]);
	}
	free(held);
}

void
session_quiesce_all(struct server *srv)
{
	struct session *s, *next;

	/* Treat every peer as finished sending: answer what was read, then close. */
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		s->read_eof = 1;
		bufferevent_disable(s->bev, EV_READ);
		session_check_done(s);
	}
}

void
session_close_all(struct server *srv)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_close(s, "shutdown");
}

struct session *
session_new_sink(struct server *srv, int role, const char *peer,
                 void (*sink)(struct session *, const char *, size_t), void *arg)
{
	struct session *s = session_alloc(srv, peer, role);

	if (s == NULL)
		return NULL;
	s->sink = sink;
	s->sink_arg = arg;
	return s;
}

void
session_release(struct session *s)
{
	session_unref(s);
}
