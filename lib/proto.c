/* Request lines: validation of the raw bytes, JSON parsing (cJSON), typed field access, replies. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "proto.h"

/*
 * With proto_init, cJSON allocates through proto_alloc: while a line is parsed, from the
 * request's arena (its first block inside the request, more blocks from the heap as needed),
 * all released with the request at once; otherwise from the heap. A header in front of every
 * allocation tells proto_dealloc which, so cJSON_Delete works on either.
 */
#define PROTO_ARENA_FIRST 1024 /* enough for a call event's tree */
#define PROTO_ARENA_BLOCK 8192

/* As big as the strictest alignment (16 bytes on x86-64; sizeof(max_align_t) is 32 there). */
union proto_header {
	unsigned kind; /* PROTO_FROM_* */
	char pad[_Alignof(max_align_t)];
};

enum { PROTO_FROM_HEAP = 0x68656170u, PROTO_FROM_ARENA = 0x6172656eu };

struct proto_block {
	struct proto_block *next;
	max_align_t align[]; /* the block's bytes */
};

struct proto_arena {
	char *next; /* free bytes */
	size_t left;
	struct proto_block *blocks; /* from the heap, beyond the first */
};

struct proto_req {
	cJSON *root;
	enum proto_error err;
	char msg[256];
	int has_id;
	int has_nul;    /* the line held \u0000 escapes, parsed as NUL_MARK */
	struct jbuf id; /* the id re-encoded as JSON, for echoing */
	struct proto_arena arena;
	int heap_nodes; /* some of the tree is on the heap: cJSON_Delete must walk it */
	_Alignas(max_align_t) char first[PROTO_ARENA_FIRST]; /* last: left uninitialised */
};

static int proto_hooked;                                /* proto_init has run */
static _Thread_local struct proto_arena *proto_parsing; /* arena of the parse under way */

static void *
proto_alloc(size_t size)
{
	const size_t hdr = sizeof(union proto_header), unit = _Alignof(max_align_t);
	struct proto_arena *a = proto_parsing;
	union proto_header *h;
	size_t need;

	if (size > SIZE_MAX / 2)
		return NULL;
	need = hdr + (size + unit - 1) / unit * unit;
	if (a == NULL) {
		if ((h = malloc(need)) == NULL)
			return NULL;
		h->kind = PROTO_FROM_HEAP;
		return h + 1;
	}
	if (need > a->left) {
		size_t len = need > PROTO_ARENA_BLOCK ? need : PROTO_ARENA_BLOCK;
		struct proto_block *b = malloc(sizeof(*b) + len);

		if (b == NULL)
			return NULL;
		b->next = a->blocks;
		a->blocks = b;
		a->next = (char *)b->align;
		a->left = len;
	}
	h = (union proto_header *)(void *)a->next;
	a->next += need;
	a->left -= need;
	h->kind = PROTO_FROM_ARENA;
	return h + 1;
}

static void
proto_dealloc(void *p)
{
	union proto_header *h;

	if (p == NULL)
		return;
	h = (union proto_header *)p - 1;
	if (h->kind == PROTO_FROM_HEAP)
		free(h);
}

void
proto_init(void)
{
	cJSON_Hooks hooks = {proto_alloc, proto_dealloc};

	cJSON_InitHooks(&hooks);
	proto_hooked = 1;
}

/* A request with an empty arena; NULL when out of memory. */
static struct proto_req *
proto_req_alloc(void)
{
	struct proto_req *r = malloc(sizeof(*r));

	if (r == NULL)
		return NULL;
	memset(r, 0, offsetof(struct proto_req, first));
	r->arena.next = r->first;
	r->arena.left = sizeof(r->first);
	jb_init(&r->id);
	return r;
}

/* Parses with cJSON, from r's arena when proto_init has run. */
static cJSON *
proto_parse_into(struct proto_req *r, const char *text, size_t len, const char **end)
{
	cJSON *root;

	r->heap_nodes = !proto_hooked;
	if (proto_hooked)
		proto_parsing = &r->arena;
	root = cJSON_ParseWithLengthOpts(text, len, end, 0);
	proto_parsing = NULL;
	return root;
}

/*
 * cJSON would cut a string at an escaped NUL without telling. Such lines are parsed with each
 * \u0000 turned into the noncharacter U+FFFF, which strict getters refuse in any case, so a
 * marked string is always one that held a NUL (or that noncharacter).
 */
#define NUL_MARK "\xef\xbf\xbf"

static const char *const proto_error_names[] = {
    [PROTO_OK] = "ok",
    [PROTO_BAD_JSON] = "bad_json",
    [PROTO_LINE_TOO_LONG] = "line_too_long",
    [PROTO_UNKNOWN_OP] = "unknown_op",
    [PROTO_MISSING_FIELD] = "missing_field",
    [PROTO_BAD_FIELD] = "bad_field",
    [PROTO_NOT_FOUND] = "not_found",
    [PROTO_UNAUTHORIZED] = "unauthorized",
    [PROTO_FORBIDDEN] = "forbidden",
    [PROTO_CONFLICT] = "conflict",
    [PROTO_UNAVAILABLE] = "unavailable",
    [PROTO_INTERNAL] = "internal",
};

const char *
proto_error_name(enum proto_error e)
{
	if ((size_t)e >= sizeof(proto_error_names) / sizeof(proto_error_names[0]))
		return "internal";
	return proto_error_names[e];
}

enum scan_result { SCAN_OK, SCAN_BAD_UTF8, SCAN_CONTROL, SCAN_NUL_ESCAPE };

/*
 * Whether the 8 bytes at p are all printable ASCII other than a backslash, tested a word at a
 * time (the bit tricks are exact for "some byte is zero" and, once no byte has its high bit set,
 * for "some byte is below 0x20"). Nearly every request line is made of such words.
 */
static int
proto_plain8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t w, bs;

	memcpy(&w, p, sizeof(w));
	bs = w ^ (ones * '\\');
	return ((w & highs) | ((w - ones * 0x20) & ~w & highs) | ((bs - ones) & ~bs & highs)) == 0;
}

/*
 * One pass over the raw line: valid UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF), no raw control bytes other than tab, and no \u0000 escape, which cJSON would
 * silently turn into a truncated C string.
 */
static enum scan_result
proto_scan(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];

		if (i + 8 <= len && proto_plain8(p + i)) {
			i += 8;
			continue;
		}
		if (c < 0x80) {
			if (c < 0x20 && c != '\t')
				return SCAN_CONTROL;
			if (c == '\\' && i + 1 < len) {
				if (p[i + 1] == 'u' && i + 5 < len &&
				    memcmp(p + i + 2, "0000", 4) == 0)
					return SCAN_NUL_ESCAPE;
				i += 2; /* skip the escaped character, so "\\u0000" is plain text */
				continue;
			}
			i++;
			continue;
		}
		size_t n;
		unsigned int cp;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return SCAN_BAD_UTF8;
		if (i + n >= len)
			return SCAN_BAD_UTF8;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return SCAN_BAD_UTF8;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return SCAN_BAD_UTF8;
		i += n + 1;
	}
	return SCAN_OK;
}

/* A copy of line with every \u0000 escape rewritten as \uffff (same length). */
static char *
proto_mark_nuls(const char *line, size_t len)
{
	char *copy = malloc(len + 1);
	size_t i;

	if (copy == NULL)
		return NULL;
	memcpy(copy, line, len);
	copy[len] = '\0';
	for (i = 0; i + 1 < len; i++) {
		if (copy[i] != '\\')
			continue;
		if (copy[i + 1] == 'u' && i + 5 < len && memcmp(copy + i + 2, "0000", 4) == 0)
			memcpy(copy + i + 2, "ffff", 4);
		i++; /* skip the escaped character */
	}
	return copy;
}

static void
proto_encode_id(struct jbuf *jb, const cJSON *item)
{
	if (cJSON_IsString(item))
		jb_str(jb, item->valuestring);
	else if (cJSON_IsNumber(item))
		jb_num(jb, item->valuedouble);
	else if (cJSON_IsTrue(item))
		jb_bool(jb, 1);
	else if (cJSON_IsFalse(item))
		jb_bool(jb, 0);
	else
		jb_null(jb);
}

struct proto_req *
proto_req_parse(const char *line, size_t len, enum proto_error *err, char *msg, size_t msglen)
{
	struct proto_req *r;
	const char *end = NULL;
	cJSON *root, *id;
	enum scan_result scan;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	scan = proto_scan((const unsigned char *)line, len);
	if (scan == SCAN_BAD_UTF8 || scan == SCAN_CONTROL) {
		*err = PROTO_BAD_JSON;
		snprintf(msg, msglen, "%s",
		         scan == SCAN_BAD_UTF8 ? "line is not valid UTF-8"
		                               : "line holds a raw control character");
		return NULL;
	}
	if ((r = proto_req_alloc()) == NULL) {
		*err = PROTO_INTERNAL;
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	if (scan == SCAN_NUL_ESCAPE) {
		char *copy = proto_mark_nuls(line, len);

		if (copy == NULL) {
			proto_req_free(r);
			*err = PROTO_INTERNAL;
			snprintf(msg, msglen, "out of memory");
			return NULL;
		}
		size_t off = 0;

		root = proto_parse_into(r, copy, len, &end);
		if (end != NULL)
			off = (size_t)(end - copy);
		free(copy);
		end = line + off;
	} else
		root = proto_parse_into(r, line, len, &end);
	if (root == NULL) {
		proto_req_free(r);
		*err = PROTO_BAD_JSON;
		snprintf(msg, msglen, "line is not valid JSON");
		return NULL;
	}
	r->root = root;
	while (end != NULL && end < line + len && (*end == ' ' || *end == '\t'))
		end++;
	if (end != line + len || !cJSON_IsObject(root)) {
		proto_req_free(r);
		*err = PROTO_BAD_JSON;
		snprintf(msg, msglen, "%s",
		         end != line + len ? "unexpected text after the JSON object"
		                           : "line is not a JSON object");
		return NULL;
	}
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (id != NULL) {
		if (cJSON_IsObject(id) || cJSON_IsArray(id))
			proto_req_fail(r, PROTO_BAD_FIELD, "field 'id' must be a JSON scalar");
		else {
			proto_encode_id(&r->id, id);
			r->has_id = !r->id.oom;
		}
	}
	r->has_nul = scan == SCAN_NUL_ESCAPE;
	*err = PROTO_OK;
	return r;
}

void
proto_req_free(struct proto_req *r)
{
	struct proto_block *b;

	if (r == NULL)
		return;
	/* A tree wholly in the arena goes with its blocks below, unwalked. */
	if (r->heap_nodes)
		cJSON_Delete(r->root);
	jb_free(&r->id);
	while ((b = r->arena.blocks) != NULL) {
		r->arena.blocks = b->next;
		free(b);
	}
	free(r);
}

struct proto_req *
proto_req_new(void)
{
	struct proto_req *r = proto_req_alloc();

	if (r == NULL)
		return NULL;
	r->heap_nodes = 1; /* built outside any parse: every node is the heap's */
	r->root = cJSON_CreateObject();
	if (r->root == NULL) {
		proto_req_free(r);
		return NULL;
	}
	return r;
}

/* Adds item under name (taking it), or frees it and records why not. */
static int
proto_req_add(struct proto_req *r, const char *name, cJSON *item)
{
	if (item == NULL)
		return proto_req_fail(r, PROTO_INTERNAL, "out of memory");
	r->heap_nodes = 1; /* item, and its name, come from the heap even in a parsed tree */
	if (cJSON_GetObjectItemCaseSensitive(r->root, name) != NULL) {
		cJSON_Delete(item);
		return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' is given twice", name);
	}
	if (!cJSON_AddItemToObject(r->root, name, item)) {
		cJSON_Delete(item);
		return proto_req_fail(r, PROTO_INTERNAL, "out of memory");
	}
	if (strcmp(name, "id") == 0) {
		jb_reset(&r->id);
		proto_encode_id(&r->id, item);
		r->has_id = !r->id.oom;
	}
	return 0;
}

int
proto_req_add_str(struct proto_req *r, const char *name, const char *value)
{
	return proto_req_add(r, name, cJSON_CreateString(value));
}

int
proto_req_add_num(struct proto_req *r, const char *name, double value)
{
	return proto_req_add(r, name, cJSON_CreateNumber(value));
}

const char *
proto_req_op(struct proto_req *r)
{
	const char *op = NULL;

	if (r->err != PROTO_OK)
		return NULL;
	if (proto_str(r, "op", PROTO_REQUIRED, 64, &op) != 1)
		return NULL;
	return op;
}

const char *
proto_req_id(const struct proto_req *r)
{
	return r->has_id ? r->id.data : NULL;
}

enum proto_error
proto_req_error(const struct proto_req *r, const char **msg)
{
	if (msg != NULL)
		*msg = r->msg;
	return r->err;
}

int
proto_req_fail(struct proto_req *r, enum proto_error e, const char *fmt, ...)
{
	va_list ap;

	if (r->err != PROTO_OK)
		return -1;
	r->err = e;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* The field, or NULL when absent or JSON null; -1 in *missing when required and absent. */
static const cJSON *
proto_field(struct proto_req *r, const char *name, int required, int *rc)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->root, name);

	if (item == NULL || cJSON_IsNull(item)) {
		if (required)
			*rc = proto_req_fail(r, PROTO_MISSING_FIELD, "missing field '%s'", name);
		else
			*rc = 0;
		return NULL;
	}
	*rc = 1;
	return item;
}

int
proto_str(struct proto_req *r, const char *name, int required, size_t maxlen, const char **out)
{
	const cJSON *item;
	int rc;

	if ((item = proto_field(r, name, required, &rc)) == NULL)
		return rc;
	if (!cJSON_IsString(item))
		return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' must be a string", name);
	if (strstr(item->valuestring, NUL_MARK) != NULL)
		return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' holds %s", name,
		                      r->has_nul ? "a NUL character" : "the noncharacter U+FFFF");
	if (strlen(item->valuestring) > maxlen)
		return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' is longer than %zu bytes",
		                      name, maxlen);
	*out = item->valuestring;
	return 1;
}

int
proto_int(struct proto_req *r, const char *name, int required, int64_t min, int64_t max,
          int64_t *out)
{
	const cJSON *item;
	double v;
	int rc;

	if ((item = proto_field(r, name, required, &rc)) == NULL)
		return rc;
	v = item->valuedouble;
	/* 2^63 itself rounds to (double)INT64_MAX: compare against it explicitly. */
	if (!cJSON_IsNumber(item) || !isfinite(v) || v != floor(v) || v < (double)min ||
	    v > (double)max || v >= 9223372036854775808.0)
		return proto_req_fail(r, PROTO_BAD_FIELD,
		                      "field '%s' must be an integer from %lld to %lld", name,
		                      (long long)min, (long long)max);
	*out = (int64_t)v;
	return 1;
}

int
proto_num(struct proto_req *r, const char *name, int required, double min, double max, double *out)
{
	const cJSON *item;
	double v;
	int rc;

	if ((item = proto_field(r, name, required, &rc)) == NULL)
		return rc;
	v = item->valuedouble;
	if (!cJSON_IsNumber(item) || !isfinite(v) || v < min || v > max)
		return proto_req_fail(r, PROTO_BAD_FIELD,
		                      "field '%s' must be a number from %g to %g", name, min, max);
	*out = v;
	return 1;
}

int
proto_bool(struct proto_req *r, const char *name, int required, int *out)
{
	const cJSON *item;
	int rc;

	if ((item = proto_field(r, name, required, &rc)) == NULL)
		return rc;
	if (!cJSON_IsBool(item))
		return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' must be true or false", name);
	*out = cJSON_IsTrue(item);
	return 1;
}

int
proto_str_array(struct proto_req *r, const char *name, int required, size_t maxn, size_t maxlen,
                const char ***out, size_t *n)
{
	const cJSON *item, *el;
	const char **v;
	size_t count, i = 0;
	int rc;

	if ((item = proto_field(r, name, required, &rc)) == NULL)
		return rc;
	if (!cJSON_IsArray(item))
		return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' must be an array of strings",
		                      name);
	count = (size_t)cJSON_GetArraySize(item);
	if (count > maxn)
		return proto_req_fail(r, PROTO_BAD_FIELD, "field '%s' has more than %zu entries",
		                      name, maxn);
	v = calloc(count + 1, sizeof(*v));
	if (v == NULL)
		return proto_req_fail(r, PROTO_INTERNAL, "out of memory");
	cJSON_ArrayForEach(el, item)
	{
		if (!cJSON_IsString(el) || strlen(el->valuestring) > maxlen ||
		    strstr(el->valuestring, NUL_MARK) != NULL) {
			free(v);
			return proto_req_fail(r, PROTO_BAD_FIELD,
			                      "field '%s' must hold strings of at most %zu bytes",
			                      name, maxlen);
		}
		v[i++] = el->valuestring;
	}
	*out = v;
	*n = count;
	return 1;
}

int
proto_ts(struct proto_req *r, int64_t now, int64_t *out)
{
	double v = 0;
	int rc;

	rc = proto_num(r, "ts", PROTO_OPTIONAL, 0, (double)PROTO_TIME_MAX, &v);
	if (rc == 1)
		*out = (int64_t)v;
	else if (rc == 0)
		*out = now;
	return rc;
}

/* Length of s[0..len) without a UTF-8 sequence that the clipping left incomplete. */
static size_t
proto_utf8_cut(const char *s, size_t len)
{
	size_t start = len, need;
	unsigned char lead;

	while (start > 0 && ((unsigned char)s[start - 1] & 0xc0) == 0x80)
		start--;
	if (start == 0)
		return len;
	lead = (unsigned char)s[start - 1];
	if (lead < 0xc0)
		return len;
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	return len - (start - 1) < need ? start - 1 : len;
}

const char *
proto_peek_str(const struct proto_req *r, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->root, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

int
proto_peek_num(const struct proto_req *r, const char *name, double *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->root, name);

	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
		return 0;
	*out = item->valuedouble;
	return 1;
}

int
proto_peek_bool(const struct proto_req *r, const char *name, int *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->root, name);

	if (!cJSON_IsBool(item))
		return 0;
	*out = cJSON_IsTrue(item);
	return 1;
}

int
proto_check_fields(struct proto_req *r, const char *const *allowed)
{
	const cJSON *item;
	size_t i;

	cJSON_ArrayForEach(item, r->root)
	{
		const char *k = item->string;

		if (strcmp(k, "op") == 0 || strcmp(k, "id") == 0 || strcmp(k, "ts") == 0)
			continue;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			char shown[64];
			size_t j;

			/* The name is untrusted: show a clipped, printable copy. */
			for (j = 0; k[j] != '\0' && j < sizeof(shown) - 1; j++)
				shown[j] = ((unsigned char)k[j] < 0x20) ? '?' : k[j];
			if (k[j] != '\0')
				j = proto_utf8_cut(shown, j);
			shown[j] = '\0';
			return proto_req_fail(r, PROTO_BAD_FIELD, "unknown field '%s'", shown);
		}
	}
	return 0;
}

void
proto_reply_ok(struct jbuf *jb, const char *idjson)
{
	jb_obj_begin(jb);
	if (idjson != NULL) {
		jb_key(jb, "id");
		jb_raw(jb, idjson, strlen(idjson));
	}
	jb_kbool(jb, "ok", 1);
}

void
proto_reply_end(struct jbuf *jb)
{
	jb_obj_end(jb);
	jb_append(jb, "\n", 1);
}

void
proto_reply_error_begin(struct jbuf *jb, const char *idjson, enum proto_error e, const char *msg)
{
	jb_obj_begin(jb);
	if (idjson != NULL) {
		jb_key(jb, "id");
		jb_raw(jb, idjson, strlen(idjson));
	}
	jb_kbool(jb, "ok", 0);
	jb_key(jb, "error");
	jb_obj_begin(jb);
	jb_kstr(jb, "code", proto_error_name(e));
	jb_kstr(jb, "message", msg);
	jb_obj_end(jb);
}

void
proto_reply_error(struct jbuf *jb, const char *idjson, enum proto_error e, const char *msg)
{
	proto_reply_error_begin(jb, idjson, e, msg);
	proto_reply_end(jb);
}

enum proto_error
proto_reply_code(const char *line, size_t len)
{
	static const char head[] = "\"ok\":false,\"error\":{\"code\":\"";
	const char *p = line, *end = line + len;
	size_t i, n;

	if (len < 1 || *p++ != '{')
		return PROTO_OK;
	/* An echoed id comes first: a JSON scalar, a string possibly holding quotes. */
	if ((size_t)(end - p) > 5 && memcmp(p, "\"id\":", 5) == 0) {
		p += 5;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\' && p + 1 < end)
					p++;
			if (p < end)
				p++;
		} else
			while (p < end && *p != ',')
				p++;
		if (p >= end || *p != ',')
			return PROTO_OK;
		p++;
	}
	if ((size_t)(end - p) < sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1) != 0)
		return PROTO_OK;
	p += sizeof(head) - 1;
	for (i = 1; i < sizeof(proto_error_names) / sizeof(proto_error_names[0]); i++) {
		n = strlen(proto_error_names[i]);
		if ((size_t)(end - p) > n && memcmp(p, proto_error_names[i], n) == 0 && p[n] == '"')
			return (enum proto_error)i;
	}
	return PROTO_INTERNAL;
}
