/*
 * The routing decision: a pure function of the policy, the offered call, the caller's flags and
 * the caller's nuisance counters (computed by the caller of route_decide, against the call's ts).
 *
 * Decision steps, in order:
 *  1. Allowlist: a caller on the policy's allowlist goes to the default queue with rule
 *     "allowlist" and reason "caller on allowlist"; no rule is evaluated.
 *  2. Summary: the caller's active flags at the call's ts are those not revoked and not expired
 *     (expires_at == 0 or expires_at > ts) whose code the policy defines; flags with unknown
 *     codes are ignored. The abuse score is the sum over them of
 *     weight * 0.5^(max(0, ts - created_at) / half-life). The nuisance patterns that fired
 *     are read from the counters (none when there are no counters).
 *  3. Rules, in file order, first match wins. A rule matches when all its conditions hold:
 *     flag_at_least (an active flag of that code or a more severe one), flag (an active flag of
 *     exactly that code), score_at_least (score >= X), withheld (caller withheld or not),
 *     dialed (the dialled number equals an entry or starts with a prefix entry), nuisance (any
 *     of the listed patterns fired for this call). A rule without conditions always matches.
 *     The match sets the action and queue; priority is the rule's, else the queue's; record and
 *     alert are the rule's, else unset; announce and max_wait_s are the rule's, else the queue's.
 *  4. Default: no rule matched, so the default queue answers with rule "default".
 *
 * Score and active flag count are filled in every case. Nothing here allocates or touches
 * libconfig: route_decide runs for every offered call.
 *
 * route_report answers an agent's mid-call report from the policy's on_report entry for the
 * code: transfer to a queue, or continue the call where it is.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

/* What the rules look at, computed once per decision. */
struct route_sum {
	double score;
	size_t nactive;
	uint64_t present; /* bit i: an active flag of code i, for i < 64 */
	int maxsev;       /* index of the most severe active code, -1 when none */
	unsigned fired;   /* NUISANCE_PATTERN_* bits of the patterns that fired */
};

/* A bounded text builder over d->reason that never splits a UTF-8 sequence. */
struct route_text {
	char *buf;
	size_t len;
	size_t cap;
	int full;
};

static int
route_code(const struct policy *p, const char *code)
{
	size_t i;

	if (code == NULL)
		return -1;
	for (i = 0; i < p->ncodes; i++)
		if (strcmp(p->codes[i].name, code) == 0)
			return (int)i;
	return -1;
}

static void
route_summarise(const struct policy *p, const struct flag *flags, size_t n, int64_t ts,
                struct route_sum *s)
{
	size_t i;
	int ci;

	s->score = 0;
	s->nactive = 0;
	s->present = 0;
	s->maxsev = -1;
	for (i = 0; i < n; i++) {
		const struct flag *f = &flags[i];
		double age;

		if (!flag_is_active(f, ts) || (ci = route_code(p, f->code)) < 0)
			continue;
		s->nactive++;
		age = ts > f->created_at ? (double)(ts - f->created_at) : 0.0;
		s->score += p->codes[ci].weight * exp2(-age / p->half_life_s);
		if (ci < 64)
			s->present |= (uint64_t)1 << ci;
		if (ci > s->maxsev)
			s->maxsev = ci;
	}
}

double
route_score(const struct policy *p, const struct flag *flags, size_t n, int64_t ts, size_t *nactive)
{
	struct route_sum s;

	route_summarise(p, flags, n, ts, &s);
	if (nactive != NULL)
		*nactive = s.nactive;
	return s.score;
}

/* The most severe active flag with code index >= lo (exactly lo when exact); newest wins ties. */
static const struct flag *
route_best_flag(const struct policy *p, const struct route_input *in, int lo, int exact)
{
	const struct flag *best = NULL;
	int bestci = -1;
	size_t i;

	for (i = 0; i < in->nflags; i++) {
		const struct flag *f = &in->flags[i];
		int ci;

		if (!flag_is_active(f, in->ts) || (ci = route_code(p, f->code)) < 0)
			continue;
		if (ci < lo || (exact && ci != lo))
			continue;
		if (best == NULL || ci > bestci ||
		    (ci == bestci && (f->created_at > best->created_at ||
		                      (f->created_at == best->created_at && f->id > best->id)))) {
			best = f;
			bestci = ci;
		}
	}
	return best;
}

static int
route_has_code(const struct policy *p, const struct route_input *in, const struct route_sum *s,
               int ci)
{
	if (ci < 64)
		return (s->present >> ci) & 1;
	return route_best_flag(p, in, ci, 1) != NULL;
}

static int
route_dialed_match(const struct policy_rule *r, const char *dialed)
{
	size_t i;

	if (dialed == NULL)
		return 0;
	for (i = 0; i < r->ndialed; i++)
		if (policy_number_match(r->dialed[i], dialed))
			return 1;
	return 0;
}

static int
route_match(const struct policy *p, const struct policy_rule *r, const struct route_input *in,
            const struct route_sum *s)
{
	if (r->flag_at_least >= 0 && s->maxsev < r->flag_at_least)
		return 0;
	if (r->flag_exact >= 0 && !route_has_code(p, in, s, r->flag_exact))
		return 0;
	if (r->score_at_least >= 0 && !(s->score >= r->score_at_least))
		return 0;
	if (r->withheld >= 0 && (in->caller == NULL) != (r->withheld != 0))
		return 0;
	if (r->ndialed > 0 && !route_dialed_match(r, in->dialed))
		return 0;
	if (r->nuisance_patterns != 0 && (r->nuisance_patterns & s->fired) == 0)
		return 0;
	return 1;
}

static void
route_text_init(struct route_text *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->len = 0;
	t->cap = cap;
	t->full = 0;
	buf[0] = '\0';
}

static void
route_text_add(struct route_text *t, const char *s, size_t n)
{
	size_t room;

	if (t->full)
		return;
	room = t->cap - 1 - t->len;
	if (n > room) {
		/* Cut at a character boundary and mark the cut. */
		n = room >= 3 ? room - 3 : 0;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		memcpy(t->buf + t->len, s, n);
		t->len += n;
		if (t->cap - 1 - t->len >= 3) {
			memcpy(t->buf + t->len, "...", 3);
			t->len += 3;
		}
		t->full = 1;
	} else {
		memcpy(t->buf + t->len, s, n);
		t->len += n;
	}
	t->buf[t->len] = '\0';
}

static void
route_text_str(struct route_text *t, const char *s)
{
	route_text_add(t, s, strlen(s));
}

/* Unix time to "YYYY-MM-DD" in UTC without gmtime_r, which may take glibc's timezone lock. */
static void
route_date(int64_t t, char *out, size_t len)
{
	int64_t days = t / 86400, era, doe, yoe, y, doy, mp, dd, m;

	if (t % 86400 < 0)
		days--;
	/* Civil calendar from a day count (days since 1970-01-01), in 400-year eras. */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	dd = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	snprintf(out, len, "%04lld-%02d-%02d", (long long)y, (int)m, (int)dd);
}

/* "code red flag, 2026-11-20, by sup-17: threatened agent" */
static void
route_describe_flag(struct route_text *t, const struct flag *f, struct decision *d)
{
	char date[48];

	if (d->nquoted < sizeof(d->quoted) / sizeof(d->quoted[0]))
		d->quoted[d->nquoted++] = f->id;
	route_date(f->created_at, date, sizeof(date));
	route_text_str(t, "code ");
	route_text_str(t, f->code);
	route_text_str(t, " flag, ");
	route_text_str(t, date);
	if (f->created_by != NULL && f->created_by[0] != '\0') {
		route_text_str(t, ", by ");
		route_text_str(t, f->created_by);
	}
	if (f->reason != NULL && f->reason[0] != '\0') {
		route_text_str(t, ": ");
		route_text_str(t, f->reason);
	}
}

static int
route_has_conditions(const struct policy_rule *r)
{
	return r->flag_at_least >= 0 || r->flag_exact >= 0 || r->score_at_least >= 0 ||
	       r->withheld >= 0 || r->ndialed > 0 || r->nuisance_patterns != 0;
}

/* "5 earlier calls", "16 or more earlier calls": counts saturate at the ring size. */
static void
route_count(char *buf, size_t len, int n, const char *what)
{
	snprintf(buf, len, "%d%s %s%s", n, n >= NUISANCE_RING_MAX ? " or more" : "", what,
	         n == 1 ? "" : "s");
}

/* Names each pattern of the rule that fired, with its counts, joined by "; ". */
static void
route_explain_nuisance(const struct policy *p, unsigned bits, const struct nuisance_view *v,
                       const char *sep, struct route_text *t)
{
	const struct nuisance_cfg *c = &p->nuisance.cfg;
	char num[160], count[48];

	if (bits & NUISANCE_PATTERN_REPEAT) {
		route_count(count, sizeof(count), v->repeat, "earlier call");
		snprintf(num, sizeof(num), "%srepeat calls: %s within %lld s", sep, count,
		         (long long)c->repeat_window_s);
		route_text_str(t, num);
		sep = "; ";
	}
	if (bits & NUISANCE_PATTERN_SHORT) {
		route_count(count, sizeof(count), v->shorts, "call");
		snprintf(num, sizeof(num), "%sshort calls: %s under %lld s within %lld s", sep,
		         count, (long long)c->short_max_s, (long long)c->short_window_s);
		route_text_str(t, num);
		sep = "; ";
	}
	if (bits & NUISANCE_PATTERN_REDIAL) {
		snprintf(num, sizeof(num), "%srapid redial: %lld s after the last call ended", sep,
		         (long long)v->since_last_end);
		route_text_str(t, num);
	}
}

/* Says which conditions matched, joined by "; ". */
static void
route_explain(const struct policy *p, const struct policy_rule *r, const struct route_input *in,
              const struct route_sum *s, struct route_text *t, struct decision *d)
{
	const struct flag *f1 = NULL, *f2;
	const char *sep = "";
	size_t start = t->len;
	char num[96];

	if (r->flag_at_least >= 0 && (f1 = route_best_flag(p, in, r->flag_at_least, 0)) != NULL) {
		route_describe_flag(t, f1, d);
		sep = "; ";
	}
	if (r->flag_exact >= 0 && (f2 = route_best_flag(p, in, r->flag_exact, 1)) != NULL &&
	    f2 != f1) {
		route_text_str(t, sep);
		route_describe_flag(t, f2, d);
		sep = "; ";
	}
	if (r->score_at_least >= 0) {
		snprintf(num, sizeof(num), "%sabuse score %.2f >= %.2f from %zu active flag%s", sep,
		         s->score, r->score_at_least, s->nactive, s->nactive == 1 ? "" : "s");
		route_text_str(t, num);
		sep = "; ";
	}
	if (r->withheld == 1) {
		route_text_str(t, sep);
		route_text_str(t, "caller withheld");
		sep = "; ";
	}
	if (r->ndialed > 0 && in->dialed != NULL) {
		route_text_str(t, sep);
		route_text_str(t, "dialled ");
		route_text_str(t, in->dialed);
		sep = "; ";
	}
	if ((r->nuisance_patterns & s->fired) != 0)
		route_explain_nuisance(p, r->nuisance_patterns & s->fired, in->nuisance, sep, t);
	/* "Not withheld" is worth saying only when nothing else explains the match. */
	if (t->len == start && r->withheld == 0)
		route_text_str(t, "caller not withheld");
}

/* Fills d with the default values of queue q. */
static void
route_fill_queue(const struct policy *p, const struct policy_queue *q, const char *rule,
                 struct decision *d)
{
	d->policy = p;
	d->action = DECISION_QUEUE;
	d->queue = q;
	d->rule = rule;
	d->priority = q->priority;
	d->record = -1;
	d->alert = -1;
	d->announce = q->announce;
	d->max_wait_s = q->max_wait_s;
	d->degraded = 0;
	d->nquoted = 0;
}

static void
route_fill(const struct policy *p, size_t qi, const char *rule, struct decision *d)
{
	route_fill_queue(p, &p->queues[qi], rule, d);
}

void
route_decide(const struct policy *p, const struct route_input *in, struct decision *d)
{
	const struct policy_rule *r = NULL;
	struct route_text t;
	struct route_sum s;
	size_t i;

	route_summarise(p, in->flags, in->nflags, in->ts, &s);
	s.fired = policy_fired_patterns(in->nuisance);
	route_text_init(&t, d->reason, sizeof(d->reason));

	if (in->caller != NULL && policy_allowlisted(p, in->caller)) {
		route_fill(p, p->default_queue, "allowlist", d);
		route_text_str(&t, "caller on allowlist");
		goto done;
	}
	for (i = 0; i < p->nrules; i++)
		if (route_match(p, &p->rules[i], in, &s)) {
			r = &p->rules[i];
			break;
		}
	if (r == NULL) {
		route_fill(p, p->default_queue, "default", d);
		route_text_str(&t, "no rule matched");
		goto done;
	}

	route_fill(p, (size_t)r->queue, r->name, d);
	if (r->action == RULE_REJECT)
		d->action = DECISION_REJECT;
	if (r->has_priority)
		d->priority = r->priority;
	d->record = r->record;
	d->alert = r->alert;
	if (r->announce != NULL)
		d->announce = r->announce;
	if (r->max_wait_s != -1)
		d->max_wait_s = r->max_wait_s;

	if (r->reason != NULL) {
		route_text_str(&t, r->reason);
		if (route_has_conditions(r)) {
			route_text_str(&t, " (");
			route_explain(p, r, in, &s, &t, d);
			route_text_str(&t, ")");
		}
	} else if (route_has_conditions(r)) {
		route_explain(p, r, in, &s, &t, d);
	} else {
		route_text_str(&t, "rule ");
		route_text_str(&t, r->name);
	}
done:
	d->score = s.score;
	d->active_flags = s.nactive;
}

void
route_report(const struct policy *p, int code_index, const struct policy_queue *current,
             struct decision *d)
{
	const struct policy_report *r;
	struct route_text t;

	if (current == NULL)
		current = &p->queues[p->default_queue];
	route_text_init(&t, d->reason, sizeof(d->reason));
	d->score = 0;
	d->active_flags = 0;
	if (code_index < 0 || (size_t)code_index >= p->ncodes) {
		route_fill_queue(p, current, "report", d);
		d->action = DECISION_CONTINUE;
		d->announce = NULL;
		d->max_wait_s = -1;
		route_text_str(&t, "agent report of an unknown code: continue the call");
		return;
	}
	r = &p->on_report[code_index];
	route_text_str(&t, "agent reported code ");
	route_text_str(&t, p->codes[code_index].name);
	if (r->action == REPORT_TRANSFER) {
		route_fill(p, (size_t)r->queue, r->rule, d);
		d->action = DECISION_TRANSFER;
		if (r->has_priority)
			d->priority = r->priority;
		route_text_str(&t, ": transfer to ");
		route_text_str(&t, d->queue->name);
	} else {
		/* The call stays where it is: nothing to announce or wait for. */
		route_fill_queue(p, current, r->rule, d);
		d->action = DECISION_CONTINUE;
		d->announce = NULL;
		d->max_wait_s = -1;
		route_text_str(&t, ": continue the call");
	}
	d->alert = r->alert ? 1 : -1;
}

void
route_degraded(const struct policy *p, const char *why, struct decision *d)
{
	struct route_text t;

	route_fill(p, p->default_queue, "default", d);
	d->degraded = 1;
	d->score = 0;
	d->active_flags = 0;
	route_text_init(&t, d->reason, sizeof(d->reason));
	route_text_str(&t, why != NULL && why[0] != '\0' ? why : "history unavailable");
}

void
route_write_json(struct jbuf *jb, const struct decision *d)
{
	static const char *const actions[] = {
	    [DECISION_QUEUE] = "queue",
	    [DECISION_REJECT] = "reject",
	    [DECISION_TRANSFER] = "transfer",
	    [DECISION_CONTINUE] = "continue",
	};

	jb_kstr(jb, "action", actions[d->action]);
	jb_kstr(jb, "queue", d->queue->name);
	jb_kstr(jb, "target", d->queue->target);
	jb_kint(jb, "priority", d->priority);
	jb_kstr(jb, "rule", d->rule);
	jb_kstr(jb, "reason", d->reason);
	jb_kstr(jb, "policy", d->policy->version);
	if (d->record != -1)
		jb_kbool(jb, "record", d->record);
	if (d->alert != -1)
		jb_kbool(jb, "alert", d->alert);
	if (d->announce != NULL)
		jb_kstr(jb, "announce", d->announce);
	if (d->max_wait_s != -1)
		jb_kint(jb, "max_wait_s", d->max_wait_s);
	if (d->degraded)
		jb_kbool(jb, "degraded", 1);
}
