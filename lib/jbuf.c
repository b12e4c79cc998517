/* Growable output buffer and streaming JSON writer for replies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"

void
jb_init(struct jbuf *jb)
{
	memset(jb, 0, sizeof(*jb));
}

void
jb_reset(struct jbuf *jb)
{
	jb->len = 0;
	jb->oom = 0;
	jb->depth = 0;
	jb->nonempty = 0;
	jb->after_key = 0;
	if (jb->data != NULL)
		jb->data[0] = '\0';
}

void
jb_free(struct jbuf *jb)
{
	free(jb->data);
	jb_init(jb);
}

char *
jb_steal(struct jbuf *jb, size_t *lenp)
{
	char *s;

	if (jb->oom) {
		jb_free(jb);
		return NULL;
	}
	if (jb->data == NULL) {
		s = calloc(1, 1);
		if (lenp != NULL)
			*lenp = 0;
		return s;
	}
	s = jb->data;
	if (lenp != NULL)
		*lenp = jb->len;
	jb_init(jb);
	return s;
}

/* Makes room for n more bytes plus a NUL. */
static int
jb_reserve(struct jbuf *jb, size_t n)
{
	size_t need, cap;
	char *p;

	if (jb->oom)
		return -1;
	need = jb->len + n + 1;
	if (need <= jb->cap)
		return 0;
	cap = jb->cap ? jb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(jb->data, cap);
	if (p == NULL) {
		jb->oom = 1;
		return -1;
	}
	jb->data = p;
	jb->cap = cap;
	return 0;
}

void
jb_append(struct jbuf *jb, const char *s, size_t len)
{
	if (jb_reserve(jb, len) == -1)
		return;
	memcpy(jb->data + jb->len, s, len);
	jb->len += len;
	jb->data[jb->len] = '\0';
}

static void
jb_putc(struct jbuf *jb, char c)
{
	if (jb_reserve(jb, 1) == -1)
		return;
	jb->data[jb->len++] = c;
	jb->data[jb->len] = '\0';
}

/* Emits the comma that separates this value from the previous one in its container. */
static void
jb_sep(struct jbuf *jb)
{
	uint32_t bit;

	if (jb->after_key) {
		jb->after_key = 0;
		return;
	}
	if (jb->depth == 0)
		return;
	bit = 1u << (jb->depth - 1);
	if (jb->nonempty & bit)
		jb_putc(jb, ',');
	jb->nonempty |= bit;
}

static void
jb_open(struct jbuf *jb, char c)
{
	jb_sep(jb);
	jb_putc(jb, c);
	if (jb->depth < JBUF_MAX_DEPTH) {
		jb->depth++;
		jb->nonempty &= ~(1u << (jb->depth - 1));
	} else
		jb->oom = 1; /* deeper than any reply we build: treat as a failure */
}

static void
jb_close(struct jbuf *jb, char c)
{
	if (jb->depth > 0)
		jb->depth--;
	jb_putc(jb, c);
}

void
jb_obj_begin(struct jbuf *jb)
{
	jb_open(jb, '{');
}

void
jb_obj_end(struct jbuf *jb)
{
	jb_close(jb, '}');
}

void
jb_arr_begin(struct jbuf *jb)
{
	jb_open(jb, '[');
}

void
jb_arr_end(struct jbuf *jb)
{
	jb_close(jb, ']');
}

static void
jb_escaped(struct jbuf *jb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, run;

	jb_putc(jb, '"');
	for (i = 0; i < len;) {
		/* Copy runs of plain bytes at once: most text needs no escaping. */
		run = i;
		while (run < len && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i) {
			jb_append(jb, s + i, run - i);
			i = run;
			continue;
		}
		switch (p[i]) {
		case '"':
			jb_append(jb, "\\\"", 2);
			break;
		case '\\':
			jb_append(jb, "\\\\", 2);
			break;
		case '\n':
			jb_append(jb, "\\n", 2);
			break;
		case '\r':
			jb_append(jb, "\\r", 2);
			break;
		case '\t':
			jb_append(jb, "\\t", 2);
			break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[p[i] >> 4], hex[p[i] & 15]};
			jb_append(jb, u, 6);
		}
		}
		i++;
	}
	jb_putc(jb, '"');
}

void
jb_key(struct jbuf *jb, const char *key)
{
	jb_sep(jb);
	jb_escaped(jb, key, strlen(key));
	jb_putc(jb, ':');
	jb->after_key = 1;
}

void
jb_strn(struct jbuf *jb, const char *s, size_t len)
{
	jb_sep(jb);
	jb_escaped(jb, s, len);
}

void
jb_str(struct jbuf *jb, const char *s)
{
	if (s == NULL)
		jb_null(jb);
	else
		jb_strn(jb, s, strlen(s));
}

/* Appends v in decimal: replies carry several integers each, and printf is slow for them. */
static void
jb_decimal(struct jbuf *jb, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jb_append(jb, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
jb_int(struct jbuf *jb, int64_t v)
{
	jb_sep(jb);
	jb_decimal(jb, v);
}

void
jb_num(struct jbuf *jb, double v)
{
	char tmp[32];
	int n;

	if (!isfinite(v)) {
		jb_null(jb);
		return;
	}
	jb_sep(jb);
	if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
		jb_decimal(jb, (int64_t)v);
		return;
	}
	n = jb_format_double(tmp, sizeof(tmp), v);
	jb_append(jb, tmp, (size_t)n);
}

int
jb_format_double(char *buf, size_t len, double v)
{
	int prec, n = 0;

	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, len, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	return n;
}

void
jb_bool(struct jbuf *jb, int v)
{
	jb_sep(jb);
	if (v)
		jb_append(jb, "true", 4);
	else
		jb_append(jb, "false", 5);
}

void
jb_null(struct jbuf *jb)
{
	jb_sep(jb);
	jb_append(jb, "null", 4);
}

void
jb_raw(struct jbuf *jb, const char *json, size_t len)
{
	jb_sep(jb);
	jb_append(jb, json, len);
}

void
jb_kstr(struct jbuf *jb, const char *key, const char *s)
{
	jb_key(jb, key);
	jb_str(jb, s);
}

void
jb_kint(struct jbuf *jb, const char *key, int64_t v)
{
	jb_key(jb, key);
	jb_int(jb, v);
}

void
jb_knum(struct jbuf *jb, const char *key, double v)
{
	jb_key(jb, key);
	jb_num(jb, v);
}

void
jb_kbool(struct jbuf *jb, const char *key, int v)
{
	jb_key(jb, key);
	jb_bool(jb, v);
}

void
jb_knull(struct jbuf *jb, const char *key)
{
	jb_key(jb, key);
	jb_null(jb);
}
