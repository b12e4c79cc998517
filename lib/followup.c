/* Follow-up task records: ownership helpers, state at a point in time, and their JSON form. */
#include <stdlib.h>
#include <string.h>

#include "followup.h"

void
followup_clear(struct followup *fu)
{
	free(fu->call_id);
	free(fu->created_by);
	free(fu->note);
	free(fu->done_by);
	free(fu->done_note);
	memset(fu, 0, sizeof(*fu));
}

struct followup *
followup_list_push(struct followup_list *l)
{
	struct followup *v;
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
followup_list_clear(struct followup_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		followup_clear(&l->v[i]);
	l->n = 0;
}

void
followup_list_free(struct followup_list *l)
{
	followup_list_clear(l);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *
followup_state(const struct followup *fu, int64_t now)
{
	if (fu->done_at != 0)
		return "done";
	return fu->due_at <= now ? "overdue" : "open";
}

void
followup_write_json(struct jbuf *jb, const struct followup *fu)
{
	jb_obj_begin(jb);
	followup_write_fields(jb, fu);
	jb_obj_end(jb);
}

void
followup_write_fields(struct jbuf *jb, const struct followup *fu)
{
	jb_kint(jb, "id", fu->id);
	jb_kstr(jb, "caller", fu->caller[0] != '\0' ? fu->caller : NULL);
	jb_kstr(jb, "call_id", fu->call_id);
	jb_kint(jb, "due_at", fu->due_at);
	jb_kstr(jb, "created_by", fu->created_by);
	jb_kint(jb, "created_at", fu->created_at);
	jb_kstr(jb, "note", fu->note);
	if (fu->done_at != 0) {
		jb_kint(jb, "done_at", fu->done_at);
		jb_kstr(jb, "done_by", fu->done_by);
		jb_kstr(jb, "done_note", fu->done_note);
	} else {
		jb_knull(jb, "done_at");
		jb_knull(jb, "done_by");
		jb_knull(jb, "done_note");
	}
}
