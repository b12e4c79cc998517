/* The routing decision: a pure function of a call, the caller's flags and the policy. */
#ifndef CW_ROUTE_H
#define CW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "flag.h"
#include "jbuf.h"
#include "policy.h"

#define ROUTE_REASON_MAX 512

struct route_input {
	const char *caller; /* normalised E.164, or NULL when withheld or not a number */
	const char *dialed; /* normalised E.164 when it was a number, else NULL */
	int64_t ts;
	const struct flag *flags; /* the caller's flags in any state and order */
	size_t nflags;
};

enum decision_action { DECISION_QUEUE, DECISION_REJECT };

/* Pointers refer into the policy the decision was made with; keep a reference while in use. */
struct decision {
	const struct policy *policy;
	enum decision_action action;
	const struct policy_queue *queue;
	const char *rule; /* rule name, "allowlist" or "default" */
	int priority;
	int record;           /* -1: not set by the rule */
	int alert;            /* -1: not set by the rule */
	const char *announce; /* NULL: none */
	int max_wait_s;       /* -1: none */
	double score;
	size_t active_flags;
	int degraded;
	char reason[ROUTE_REASON_MAX];
};

/* Decides a call. Never fails: with no matching rule the default queue answers. */
void route_decide(const struct policy *p, const struct route_input *in, struct decision *d);

/*
 * Abuse score at ts: sum over active flags whose code the policy knows of
 * weight * 0.5^(age / half-life); ages below zero count as zero. *nactive (optional) gets the
 * number of such flags.
 */
double route_score(const struct policy *p, const struct flag *flags, size_t n, int64_t ts,
                   size_t *nactive);

/* The default queue with "degraded": true, for when the caller's history cannot be read. */
void route_degraded(const struct policy *p, const char *why, struct decision *d);

/*
 * Writes the decision fields into an open object: action, queue, target, priority, rule, reason,
 * policy, and record, alert, announce, max_wait_s, degraded when set.
 */
void route_write_json(struct jbuf *jb, const struct decision *d);

#endif
