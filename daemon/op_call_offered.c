/*
 * call.offered: the hot path. Reads the caller's flags on the loop's reader connection (an
 * indexed lookup that WAL keeps free of writer locks), decides, and answers at once. The only
 * error is a bad call_id: any other oddity still gets a decision, and a history that cannot be
 * read gives the default queue marked degraded.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "callerset.h"
#include "calls.h"
#include "lifecycle.h"
#include "log.h"
#include "number.h"
#include "ops.h"
#include "route.h"
#include "snapshot.h"
#include "sub.h"

/* How far ahead of the server clock an offer's ts may be before the clock is used instead. */
#define OFFER_FUTURE_SLACK 86400

/* The caller as text: a string, or a JSON number written as digits. */
static const char *
call_offered_caller(struct proto_req *r, char *buf, size_t len)
{
	const char *caller = proto_peek_str(r, "caller");
	double v;

	if (caller != NULL)
		return caller;
	if (proto_peek_num(r, "caller", &v) && v >= 0 && v < 1e16 && v == floor(v)) {
		snprintf(buf, len, "%.0f", v);
		return buf;
	}
	return "";
}

/*
 * Reads in full the flags a decision made on brief flags quotes (author and reason), in place
 * in srv->flags. -1 when one cannot be read: the decision stands, quoting less.
 */
static int
offer_read_quoted(struct server *srv, const struct decision *d)
{
	struct flag full;
	size_t i, k;

	for (i = 0; i < d->nquoted; i++) {
		for (k = 0; k < srv->flags.n && srv->flags.v[k].id != d->quoted[i]; k++)
			;
		if (k == srv->flags.n)
			continue; /* not reached: quoted flags are srv->flags' own */
		memset(&full, 0, sizeof(full));
		if (store_flag_get(srv->reader, d->quoted[i], &full) != STORE_OK) {
			srv->m.db_errors++;
			log_warnx("flag %lld unreadable: %s", (long long)d->quoted[i],
			          store_errmsg(srv->reader));
			return -1;
		}
		flag_clear(&srv->flags.v[k]);
		srv->flags.v[k] = full;
	}
	return 0;
}

void
offer_decide(struct server *srv, const char *call_id, const char *caller, const char *dialed,
             int64_t ts, int dry_run, struct decision *d)
{
	struct route_input in;
	char caller_num[NUMBER_BUFSZ], dialed_num[NUMBER_BUFSZ], key[NUISANCE_KEY_MAX];
	struct nuisance_view counters;
	enum store_status st;
	int record;

	memset(&in, 0, sizeof(in));
	in.ts = ts;
	/* A retried offer is answered again without counting the call twice. */
	record = !dry_run && lifecycle_find(srv, call_id) == NULL;
	if (caller != NULL && number_normalise(caller, strlen(caller), srv->settings.country_code,
	                                       caller_num) == NUMBER_E164)
		in.caller = caller_num;
	if (dialed != NULL && number_normalise(dialed, strlen(dialed), srv->settings.country_code,
	                                       dialed_num) == NUMBER_E164)
		in.dialed = dialed_num;

	lifecycle_counters(srv, in.caller, in.dialed, in.ts, record, &counters, key);
	in.nuisance = &counters;
	/* A caller never flagged has no history to read: most calls skip the database. */
	if (in.caller != NULL && !policy_allowlisted(srv->policy, in.caller) &&
	    callerset_maybe(srv->flagged, in.caller)) {
		snapshot_hold(srv);
		/* Codes and validity decide; author and reason are read for quoted flags only. */
		st = store_caller_flags_brief(srv->reader, in.caller, SERVER_ROUTE_FLAGS,
		                              &srv->flags);
		if (st != STORE_OK) {
			char why[ROUTE_REASON_MAX];

			srv->m.db_errors++;
			snprintf(why, sizeof(why), "history unavailable: %s",
			         store_errmsg(srv->reader));
			route_degraded(srv->policy, why, d);
			goto done;
		}
		in.flags = srv->flags.v;
		in.nflags = srv->flags.n;
	}
	route_decide(srv->policy, &in, d);
	if (d->nquoted > 0 && offer_read_quoted(srv, d) == 0)
		route_decide(srv->policy, &in, d);
	if (record)
		lifecycle_auto_flag(srv, in.caller, &counters, &srv->flags, in.ts);
done:
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		char shown[NUMBER_BUFSZ], id[80];

		if (in.caller == NULL)
			snprintf(shown, sizeof(shown), "withheld");
		else if (srv->settings.log_full_numbers)
			snprintf(shown, sizeof(shown), "%s", in.caller);
		else
			log_mask_number(shown, sizeof(shown), in.caller);
		log_debug(
		    "event=call.offered call_id=\"%s\" caller=%s queue=%s rule=%s degraded=%d",
		    log_escape(id, sizeof(id), call_id), shown, d->queue->name, d->rule,
		    d->degraded);
	}
	if (record) {
		lifecycle_offered(srv, call_id, in.caller, in.dialed, key, in.ts, d);
		ops_count_decision(srv, d);
		sub_event_decision(srv, call_id, in.caller, d, in.ts);
	}
	flag_list_clear(&srv->flags);
}

int64_t
offer_ts(struct server *srv, double ts, int given)
{
	int64_t now = ops_now(srv);

	if (given && ts >= 0 && ts <= (double)(now + OFFER_FUTURE_SLACK))
		return (int64_t)ts;
	return now;
}

void
op_call_offered(struct session *s, struct proto_req *r)
{
	struct server *srv = s->srv;
	struct decision d;
	struct jbuf *jb;
	const char *call_id = NULL;
	char digits[32];
	int dry_run = 0, given;
	double ts = 0;

	if (proto_str(r, "call_id", PROTO_REQUIRED, 128, &call_id) != 1) {
		ops_reply_req_error(s, r);
		return;
	}
	if (call_id[0] == '\0') {
		ops_reply_error(s, r, PROTO_BAD_FIELD, "field 'call_id' must not be empty");
		return;
	}
	given = proto_peek_num(r, "ts", &ts);
	if (proto_peek_bool(r, "dry_run", &dry_run) == 0)
		dry_run = 0;
	offer_decide(srv, call_id, call_offered_caller(r, digits, sizeof(digits)),
	             proto_peek_str(r, "dialed"), offer_ts(srv, ts, given), dry_run, &d);
	jb = ops_reply_begin(s, r);
	jb_kstr(jb, "call_id", call_id);
	route_write_json(jb, &d);
	ops_reply_send(s, jb);
	metrics_hist_observe(&srv->m.latency, (double)(metrics_now_ns() - srv->m.request_ns) / 1e9);
}
