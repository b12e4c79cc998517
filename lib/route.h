/*
 * The routing decision: a pure function of a call, the caller's flags, its nuisance counters and
 * the policy; and the mid-call instruction for an agent's abuse report.
 */
#ifndef CW_ROUTE_H
#define CW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "flag.h"
#include "jbuf.h"
#include "nuisance.h"
#include "policy.h"

#define ROUTE_REASON_MAX 512

struct route_input {
	const char *caller; /* normalised E.164, or NULL when withheld or not a number */
	const char *dialed; /* normalised E.164 when it was a number, else NULL */
	int64_t ts;
	const struct flag *flags; /* the caller's flags in any state and order */
	size_t nflags;
	const struct nuisance_view *nuisance; /* the counters for this call; NULL: none fired */
};

/* QUEUE and REJECT answer call.offered; TRANSFER and CONTINUE answer call.report. */
enum decision_action { DECISION_QUEUE, DECISION_REJECT, DECISION_TRANSFER, DECISION_CONTINUE };

/* Pointers refer into the policy the decision was made with; keep a reference while in use. */
struct decision {
	const struct policy *policy;
	enum decision_action action;
	const struct policy_queue *queue;
	const char *rule; /* rule name, "allowlist", "default" or "report-<code>" */
	int priority;
	int record;           /* -1: not set by the rule */
	int alert;            /* -1: not set by the rule */
	const char *announce; /* NULL: none */
	int max_wait_s;       /* -1: none */
	double score;
	size_t active_flags;
	int degraded;
	/*
	 * The flags whose author and reason the reason text quotes (at most two). A decision made
	 * on brief flags (no author or reason) is final once these are read in full and the call
	 * is decided again: the flags' other fields choose the same rule and the same flags.
	 */
	int64_t quoted[2];
	size_t nquoted;
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

/*
 * The mid-call instruction for an agent's report of code code_index (0..ncodes-1), from the
 * policy's on_report entry for it. Transfer: the entry's queue, with its priority unless the
 * entry overrides it. Continue: the call stays in current (the default queue when NULL), with
 * no announce or max_wait_s. rule is "report-<code>", alert 1 when the entry says so (else -1),
 * record -1. Never fails; an index out of range gives a continue with rule "report".
 */
void route_report(const struct policy *p, int code_index, const struct policy_queue *current,
                  struct decision *d);

/* The default queue with "degraded": true, for when the caller's history cannot be read. */
void route_degraded(const struct policy *p, const char *why, struct decision *d);

/*
 * Writes the decision fields into an open object: action ("queue", "reject", "transfer" or
 * "continue"), queue, target, priority, rule, reason, policy, and record, alert, announce,
 * max_wait_s, degraded when set.
 */
void route_write_json(struct jbuf *jb, const struct decision *d);

#endif
