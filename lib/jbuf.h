/* A growable buffer and a small streaming JSON writer used to build replies without a DOM. */
#ifndef CW_JBUF_H
#define CW_JBUF_H

#include <stddef.h>
#include <stdint.h>

#define JBUF_MAX_DEPTH 32

/*
 * The writer inserts commas itself: jb_key() or a value in an array after the first element gets
 * a leading comma. Allocation failure sets oom and makes further writes no-ops; check it once at
 * the end. The buffer owns data; jb_free releases it.
 */
struct jbuf {
	char *data;
	size_t len;
	size_t cap;
	int oom;
	int depth;
	uint32_t nonempty; /* bit d set when the container at depth d has an element */
	int after_key;
};

void jb_init(struct jbuf *jb);
void jb_reset(struct jbuf *jb); /* empties, keeps the allocation */
void jb_free(struct jbuf *jb);
/* Detaches the NUL-terminated text; the caller frees it. The buffer is left empty. */
char *jb_steal(struct jbuf *jb, size_t *lenp);

void jb_obj_begin(struct jbuf *jb);
void jb_obj_end(struct jbuf *jb);
void jb_arr_begin(struct jbuf *jb);
void jb_arr_end(struct jbuf *jb);
void jb_key(struct jbuf *jb, const char *key);

void jb_str(struct jbuf *jb, const char *s);              /* NULL writes null */
void jb_strn(struct jbuf *jb, const char *s, size_t len); /* escapes as JSON */
void jb_int(struct jbuf *jb, int64_t v);
void jb_num(struct jbuf *jb, double v); /* non-finite values write null */
/*
 * The shortest of %.15g..%.17g that reads back as the finite v, into buf (len >= 32); returns
 * its length.
 */
int jb_format_double(char *buf, size_t len, double v);
void jb_bool(struct jbuf *jb, int v);
void jb_null(struct jbuf *jb);
/* Writes already-encoded JSON text as one value. */
void jb_raw(struct jbuf *jb, const char *json, size_t len);

/* Raw bytes, no separators: for the line terminator. */
void jb_append(struct jbuf *jb, const char *s, size_t len);

/* key + value shorthands */
void jb_kstr(struct jbuf *jb, const char *key, const char *s);
void jb_kint(struct jbuf *jb, const char *key, int64_t v);
void jb_knum(struct jbuf *jb, const char *key, double v);
void jb_kbool(struct jbuf *jb, const char *key, int v);
void jb_knull(struct jbuf *jb, const char *key);

#endif
