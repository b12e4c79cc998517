/*
 * policy.check, policy.reload and SIGHUP. The file is parsed on the query thread, never on the
 * loop that answers calls; the new policy replaces the old one on the loop between two requests,
 * so no call sees a half-loaded policy and decisions in flight finish with the policy they
 * started with. A file with errors changes nothing: the old policy stays and the caller (or the
 * log) gets every "file:line: reason".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"
#include "lifecycle.h"
#include "log.h"
#include "notify.h"
#include "ops.h"

struct reload_job {
	struct job job; /* first: the writer sees only this */
	struct server *srv;
	struct session *s; /* NULL for SIGHUP */
	struct pending *slot;
	char *idjson;
	char *path;
	char cc[4];
	int apply;
	char actor[FLAG_NAME_MAX + 1];
	struct policy *policy;
	char *errors;
};

/* The audit row of a reload; the writer frees it after the commit. */
struct reload_audit_job {
	struct job job;
	int64_t ts;
	char actor[FLAG_NAME_MAX + 1];
	char role[16];
	char detail[512];
};

static void
reload_audit_run(void *db, struct job *job)
{
	struct reload_audit_job *aj = (struct reload_audit_job *)job;

	job->status =
	    store_audit_add(db, aj->ts, aj->actor, aj->role, "policy.reload", "policy", aj->detail);
}

static void
reload_audit(struct server *srv, const char *actor, const char *role, const char *old_version,
             const char *new_version, const char *path)
{
	struct reload_audit_job *aj = calloc(1, sizeof(*aj));
	struct jbuf jb;

	if (aj == NULL)
		return;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "old", old_version);
	jb_kstr(&jb, "new", new_version);
	jb_kstr(&jb, "path", path);
	jb_obj_end(&jb);
	snprintf(aj->detail, sizeof(aj->detail), "%s", jb.oom ? "{}" : jb.data);
	jb_free(&jb);
	aj->ts = ops_now(srv);
	snprintf(aj->actor, sizeof(aj->actor), "%s", actor);
	snprintf(aj->role, sizeof(aj->role), "%s", role);
	aj->job.run = reload_audit_run;
	writer_submit(srv->writer, &aj->job);
}

static void
reload_run(void *db, struct job *job)
{
	struct reload_job *rj = (struct reload_job *)job;

	(void)db;
	rj->policy = policy_load(rj->path, rj->cc, &rj->errors);
	job->status = STORE_OK;
}

static void
reload_done(struct job *job)
{
	struct reload_job *rj = (struct reload_job *)job;
	struct server *srv = rj->srv;
	struct policy *p = rj->policy, *old = policy_ref(srv->policy);
	char *line = NULL;
	size_t len = 0;

	if (rj->s == NULL)
		srv->reload_pending = 0;
	if (p != NULL && rj->apply && !srv->stopping) {
		log_info("policy reloaded old=%s new=%s by=%s", srv->policy->version, p->version,
		         rj->actor);
		reload_audit(srv, rj->actor, rj->s != NULL ? rj->s->role_name : "signal",
		             srv->policy->version, p->version, rj->path);
		policy_unref(srv->policy);
		srv->policy = policy_ref(p);
		lifecycle_policy_changed(srv);
		{
			char status[256];

			snprintf(status, sizeof(status), "STATUS=routing with policy %s",
			         p->version);
			notify_send(status);
		}
	} else if (p == NULL && rj->apply) {
		log_warnx("policy %s has errors, not reloading", rj->path);
		if (rj->errors != NULL)
			log_warnx("%s", rj->errors);
	}
	if (rj->s != NULL) {
		if (p != NULL) {
			struct jbuf jb;

			jb_init(&jb);
			proto_reply_ok(&jb, rj->idjson);
			jb_kstr(&jb, "policy", p->version);
			jb_kstr(&jb, "path", rj->path);
			if (rj->apply) {
				jb_kstr(&jb, "old", old->version);
				jb_kint(&jb, "loaded_at", p->loaded_at);
			}
			proto_reply_end(&jb);
			line = jb_steal(&jb, &len);
		} else
			line = ops_load_error_line(srv, rj->idjson, rj->errors,
			                           rj->apply ? srv->policy->version : NULL, &len);
		session_fulfil(rj->s, rj->slot, line, line != NULL ? len : 0);
	}
	policy_unref(p);
	policy_unref(old);
	free(rj->errors);
	free(rj->path);
	free(rj->idjson);
	free(rj);
}

/* Queues a parse of path on the query thread; s NULL for SIGHUP. */
static int
reload_submit(struct server *srv, struct session *s, struct proto_req *r, const char *path,
              int apply, const char *actor)
{
	struct reload_job *rj = calloc(1, sizeof(*rj));
	const char *id = r != NULL ? proto_req_id(r) : NULL;

	if (rj == NULL || (rj->path = strdup(path)) == NULL ||
	    (id != NULL && (rj->idjson = strdup(id)) == NULL) ||
	    (s != NULL && (rj->slot = session_reserve(s)) == NULL)) {
		if (rj != NULL) {
			free(rj->path);
			free(rj->idjson);
		}
		free(rj);
		return -1;
	}
	rj->srv = srv;
	rj->s = s;
	rj->apply = apply;
	snprintf(rj->cc, sizeof(rj->cc), "%s", srv->settings.country_code);
	snprintf(rj->actor, sizeof(rj->actor), "%s", actor);
	rj->job.run = reload_run;
	rj->job.done = reload_done;
	writer_submit(srv->query, &rj->job);
	return 0;
}

void
policy_reload_signal(struct server *srv)
{
	/* A storm of signals costs one parse: later ones wait for the one under way. */
	if (srv->reload_pending)
		return;
	if (reload_submit(srv, NULL, NULL, srv->settings.policy, 1, "SIGHUP") == 0)
		srv->reload_pending = 1;
}

static void
policy_op(struct session *s, struct proto_req *r, int apply)
{
	static const char *const check_fields[] = {"path", NULL};
	static const char *const reload_fields[] = {"by", NULL};
	const char *path = s->srv->settings.policy, *by = "ops";

	if (proto_check_fields(r, apply ? reload_fields : check_fields) == -1 ||
	    (!apply && proto_str(r, "path", PROTO_OPTIONAL, 4096, &path) == -1) ||
	    (apply && proto_str(r, "by", PROTO_OPTIONAL, FLAG_NAME_MAX, &by) == -1)) {
		ops_reply_req_error(s, r);
		return;
	}
	if (path[0] == '\0' || by[0] == '\0') {
		ops_reply_error(s, r, PROTO_BAD_FIELD, "an empty 'path' or 'by'");
		return;
	}
	if (reload_submit(s->srv, s, r, path, apply, by) == -1)
		ops_reply_error(s, r, PROTO_INTERNAL, "out of memory");
}

void
op_policy_check(struct session *s, struct proto_req *r)
{
	policy_op(s, r, 0);
}

void
op_policy_reload(struct session *s, struct proto_req *r)
{
	policy_op(s, r, 1);
}
