/*
 * Subscriptions. Each subscriber has a bounded ring of event lines in front of its socket: an
 * event goes straight to the socket while the socket's output stays under SUB_OUTPUT_MAX, else
 * into the ring; when the ring is full the oldest event is dropped and counted. When the
 * subscriber catches up, an {"event":"overflow","dropped":N} line comes first, then the events
 * kept. A subscriber that never reads therefore costs at most the ring and the socket buffer,
 * and publishing never waits for it: routing is never slowed by a slow supervisor screen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "sub.h"

struct sub_event {
	size_t len;
	char data[]; /* the line with its newline */
};

struct sub_state {
	TAILQ_ENTRY(sub_state) entry;
	struct session *s;
	unsigned topics;
	struct sub_event *ring[SUB_QUEUE_MAX];
	size_t head, count;
	uint64_t dropped; /* not yet reported to the subscriber */
};

static const struct {
	const char *name;
	unsigned bit;
} sub_topics[] = {{"alert", SUB_ALERT}, {"flag", SUB_FLAG}, {"decision", SUB_DECISION}};

unsigned
sub_topic(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sub_topics) / sizeof(sub_topics[0]); i++)
		if (strcmp(name, sub_topics[i].name) == 0)
			return sub_topics[i].bit;
	return 0;
}

const char *
sub_topic_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof(sub_topics) / sizeof(sub_topics[0]); i++)
		if (sub_topics[i].bit == bit)
			return sub_topics[i].name;
	return "?";
}

static void
sub_count(struct server *srv, unsigned topics, int delta)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (topics & (1u << i))
			srv->subscribers[i] += delta;
}

void
sub_release(struct session *s)
{
	struct sub_state *st = s->sub;
	struct server *srv = s->srv;

	if (st == NULL)
		return;
	sub_count(srv, st->topics, -1);
	TAILQ_REMOVE(&srv->subs, st, entry);
	while (st->count > 0) {
		free(st->ring[st->head]);
		st->head = (st->head + 1) % SUB_QUEUE_MAX;
		st->count--;
	}
	free(st);
	s->sub = NULL;
}

int
sub_set(struct session *s, unsigned topics)
{
	struct sub_state *st = s->sub;
	struct server *srv = s->srv;

	if (topics == 0) {
		sub_release(s);
		return 0;
	}
	if (st == NULL) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return -1;
		st->s = s;
		TAILQ_INSERT_TAIL(&srv->subs, st, entry);
		s->sub = st;
	} else
		sub_count(srv, st->topics, -1);
	st->topics = topics;
	sub_count(srv, topics, 1);
	return 0;
}

int
sub_wanted(const struct server *srv, unsigned topic)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (topic == (1u << i))
			return srv->subscribers[i] > 0;
	return 0;
}

static int
sub_room(struct session *s)
{
	return s->bev != NULL &&
	       evbuffer_get_length(bufferevent_get_output(s->bev)) < SUB_OUTPUT_MAX;
}

void
sub_flush(struct session *s)
{
	struct sub_state *st = s->sub;
	struct server *srv = s->srv;

	if (st == NULL)
		return;
	if (st->dropped > 0 && sub_room(s)) {
		char line[96];
		int n = snprintf(line, sizeof(line),
		                 "{\"event\":\"overflow\",\"ts\":%lld,\"dropped\":%llu}\n",
		                 (long long)ops_now(srv), (unsigned long long)st->dropped);

		session_send(s, line, (size_t)n);
		st->dropped = 0;
	}
	while (st->count > 0 && st->dropped == 0 && sub_room(s)) {
		struct sub_event *ev = st->ring[st->head];

		session_send(s, ev->data, ev->len);
		free(ev);
		st->head = (st->head + 1) % SUB_QUEUE_MAX;
		st->count--;
	}
}

void
sub_publish(struct server *srv, unsigned topic, const char *line, size_t len)
{
	struct sub_state *st;
	struct sub_event *ev;

	TAILQ_FOREACH(st, &srv->subs, entry)
	{
		if (!(st->topics & topic) || st->s->bev == NULL)
			continue;
		if (st->count == 0 && st->dropped == 0 && sub_room(st->s)) {
			session_send(st->s, line, len);
			continue;
		}
		ev = malloc(sizeof(*ev) + len);
		if (ev == NULL) {
			st->dropped++;
			srv->sub_dropped++;
			continue;
		}
		ev->len = len;
		memcpy(ev->data, line, len);
		if (st->count == SUB_QUEUE_MAX) {
			/* Full: the oldest event makes way for the newest. */
			free(st->ring[st->head]);
			st->head = (st->head + 1) % SUB_QUEUE_MAX;
			st->count--;
			st->dropped++;
			srv->sub_dropped++;
			if (st->dropped == 1)
				srv->sub_overflows++;
		}
		st->ring[(st->head + st->count) % SUB_QUEUE_MAX] = ev;
		st->count++;
	}
}

/* Builds an event line in a private buffer and publishes it. */
static void
sub_send(struct server *srv, unsigned topic, struct jbuf *jb)
{
	jb_obj_end(jb);
	jb_append(jb, "\n", 1);
	if (!jb->oom)
		sub_publish(srv, topic, jb->data, jb->len);
	jb_free(jb);
}

static void
sub_begin(struct jbuf *jb, unsigned topic, int64_t ts)
{
	jb_init(jb);
	jb_obj_begin(jb);
	jb_kstr(jb, "event", sub_topic_name(topic));
	jb_kint(jb, "ts", ts);
}

void
sub_event_flag(struct server *srv, const char *action, const struct flag *f, int64_t ts)
{
	struct jbuf jb;

	if (!sub_wanted(srv, SUB_FLAG))
		return;
	sub_begin(&jb, SUB_FLAG, ts);
	jb_kstr(&jb, "action", action);
	jb_key(&jb, "flag");
	flag_write_json(&jb, f);
	sub_send(srv, SUB_FLAG, &jb);
}

void
sub_event_alert(struct server *srv, const char *caller, const char *code, const char *call_id,
                const char *by, const char *reason, int64_t ts)
{
	struct jbuf jb;

	if (!sub_wanted(srv, SUB_ALERT))
		return;
	sub_begin(&jb, SUB_ALERT, ts);
	jb_kstr(&jb, "caller", caller);
	jb_kstr(&jb, "code", code);
	if (call_id != NULL)
		jb_kstr(&jb, "call_id", call_id);
	jb_kstr(&jb, "by", by);
	jb_kstr(&jb, "reason", reason);
	sub_send(srv, SUB_ALERT, &jb);
}

void
sub_event_decision(struct server *srv, const char *call_id, const char *caller,
                   const struct decision *d, int64_t ts)
{
	struct jbuf jb;

	if (!sub_wanted(srv, SUB_DECISION))
		return;
	sub_begin(&jb, SUB_DECISION, ts);
	jb_kstr(&jb, "call_id", call_id);
	if (caller != NULL)
		jb_kstr(&jb, "caller", caller);
	else
		jb_knull(&jb, "caller");
	route_write_json(&jb, d);
	sub_send(srv, SUB_DECISION, &jb);
}

int
sub_code_alerts(const struct server *srv, const char *code)
{
	int i = policy_code_index(srv->policy, code);

	return i >= 0 && srv->policy->on_report[i].alert;
}
