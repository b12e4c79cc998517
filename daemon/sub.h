/* Live event streams: alert, flag and decision lines pushed to subscribed connections. */
#ifndef CW_SUB_H
#define CW_SUB_H

#include <stddef.h>

#include "flag.h"
#include "route.h"
#include "server.h"

#define SUB_ALERT    1u
#define SUB_FLAG     2u
#define SUB_DECISION 4u

/* Events held per subscriber beyond what its socket takes; past this the oldest are dropped. */
#define SUB_QUEUE_MAX 1024
/* Output a subscriber may have waiting in its socket buffer before events queue instead. */
#define SUB_OUTPUT_MAX (256 * 1024)

/* Topic bit for a name, 0 when unknown. */
unsigned sub_topic(const char *name);
const char *sub_topic_name(unsigned bit);
/* Sets the session's topics (0 ends its subscription). Returns -1 when out of memory. */
int sub_set(struct session *s, unsigned topics);
/* Whether anyone listens to topic: callers skip building events nobody wants. */
int sub_wanted(const struct server *srv, unsigned topic);
/* Queues one event line (with its newline) for every subscriber of topic; never blocks. */
void sub_publish(struct server *srv, unsigned topic, const char *line, size_t len);
/* Moves queued events into the socket as it drains; called when the session can write. */
void sub_flush(struct session *s);
/* Drops the session's subscription state; called when it closes. */
void sub_release(struct session *s);

/* The events callwarden publishes; each is built only when someone listens. */
void sub_event_flag(struct server *srv, const char *action, const struct flag *f, int64_t ts);
void sub_event_alert(struct server *srv, const char *caller, const char *code, const char *call_id,
                     const char *by, const char *reason, int64_t ts);
void sub_event_decision(struct server *srv, const char *call_id, const char *caller,
                        const struct decision *d, int64_t ts);
/* Whether flags and reports of this code raise an alert (the policy's on_report alert). */
int sub_code_alerts(const struct server *srv, const char *code);

#endif
