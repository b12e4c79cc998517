/* Flag records: ownership helpers, state at a point in time, and their JSON form. */
#include <stdlib.h>
#include <string.h>

#include "flag.h"

void
flag_clear(struct flag *f)
{
	free(f->code);
	free(f->reason);
	free(f->created_by);
	free(f->source);
	free(f->revoked_by);
	free(f->revoke_reason);
	memset(f, 0, sizeof(*f));
}

struct flag *
flag_list_push(struct flag_list *l)
{
	struct flag *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	return &l->v[l->n++];
}

void
flag_list_clear(struct flag_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		flag_clear(&l->v[i]);
	l->n = 0;
}

void
flag_list_free(struct flag_list *l)
{
	flag_list_clear(l);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
flag_is_active(const struct flag *f, int64_t ts)
{
	if (f->revoked_at != 0)
		return 0;
	return f->expires_at == 0 || f->expires_at > ts;
}

const char *
flag_state(const struct flag *f, int64_t ts)
{
	if (f->revoked_at != 0)
		return "revoked";
	if (f->expires_at != 0 && f->expires_at <= ts)
		return "expired";
	return "active";
}

void
flag_write_json(struct jbuf *jb, const struct flag *f)
{
	jb_obj_begin(jb);
	flag_write_fields(jb, f);
	jb_obj_end(jb);
}

void
flag_write_fields(struct jbuf *jb, const struct flag *f)
{
	jb_kint(jb, "id", f->id);
	jb_kstr(jb, "caller", f->caller);
	jb_kstr(jb, "code", f->code);
	jb_kstr(jb, "reason", f->reason);
	jb_kstr(jb, "by", f->created_by);
	jb_kstr(jb, "source", f->source);
	jb_kint(jb, "created_at", f->created_at);
	if (f->expires_at != 0)
		jb_kint(jb, "expires_at", f->expires_at);
	else
		jb_knull(jb, "expires_at");
	if (f->revoked_at != 0) {
		jb_kint(jb, "revoked_at", f->revoked_at);
		jb_kstr(jb, "revoked_by", f->revoked_by);
		jb_kstr(jb, "revoke_reason", f->revoke_reason);
	}
}
