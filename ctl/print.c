/* Readable output for callwardenctl: reply fields, UTC times, and strings made safe for a terminal.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

const char *
print_jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
print_jint(const cJSON *obj, const char *key, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 9e18)
		return -1;
	*out = (long long)v->valuedouble;
	return 0;
}

int
print_jbool(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsBool(v))
		return -1;
	return cJSON_IsTrue(v) ? 1 : 0;
}

/* Decodes one UTF-8 sequence; returns its length, or 0 when it is not valid UTF-8. */
static size_t
print_utf8(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t v, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		v = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		v = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		v = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points a terminal acts on (C0, DEL, C1) or that reorder or break the line (bidi, LS/PS). */
static int
print_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * One printable unit of s: writes its output form to out (at most 12 bytes) and returns the input
 * bytes consumed. *width is the number of terminal columns the unit takes (one per character).
 */
static size_t
print_unit(const unsigned char *p, size_t n, char *out, size_t *outlen, size_t *width)
{
	uint32_t cp;
	size_t len = print_utf8(p, n, &cp);
	int k;

	if (len == 0) {
		k = snprintf(out, 12, "\\x%02x", p[0]);
		*outlen = *width = (size_t)k;
		return 1;
	}
	if (!print_unsafe(cp)) {
		memcpy(out, p, len);
		*outlen = len;
		*width = 1;
		return len;
	}
	if (cp == '\n')
		k = snprintf(out, 12, "\\n");
	else if (cp == '\r')
		k = snprintf(out, 12, "\\r");
	else if (cp == '\t')
		k = snprintf(out, 12, "\\t");
	else if (cp < 0x80)
		k = snprintf(out, 12, "\\x%02x", (unsigned)cp);
	else
		k = snprintf(out, 12, "\\u%04x", (unsigned)cp);
	*outlen = *width = (size_t)k;
	return len;
}

size_t
print_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), used, outlen, w, total = 0;
	char out[12];

	while (n > 0) {
		used = print_unit(p, n, out, &outlen, &w);
		p += used;
		n -= used;
		total += w;
	}
	return total;
}

/* Writes s escaped, stopping before the column limit; returns the columns written. */
static size_t
print_upto(FILE *f, const char *s, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), used, outlen, w, total = 0;
	char out[12];

	while (n > 0) {
		used = print_unit(p, n, out, &outlen, &w);
		if (total + w > limit)
			break;
		fwrite(out, 1, outlen, f);
		p += used;
		n -= used;
		total += w;
	}
	return total;
}

void
print_esc(FILE *f, const char *s)
{
	print_upto(f, s != NULL ? s : "-", SIZE_MAX);
}

void
print_cell(FILE *f, const char *s, size_t width, int pad)
{
	size_t used;

	if (s == NULL)
		s = "-";
	if (print_width(s) <= width)
		used = print_upto(f, s, width);
	else {
		used = print_upto(f, s, width > 3 ? width - 3 : 0);
		fwrite("...", 1, width < 3 ? width : 3, f);
		used += width < 3 ? width : 3;
	}
	if (pad)
		for (; used < width; used++)
			fputc(' ', f);
}

void
print_field(const char *label, const char *value)
{
	printf("%-10s", label);
	print_esc(stdout, value);
	putchar('\n');
}

void
print_time(char *buf, size_t size, long long t, int precision)
{
	struct tm tm;
	time_t tt = (time_t)t;
	size_t n = 0;

	if (gmtime_r(&tt, &tm) != NULL && tm.tm_year + 1900 <= 9999 && tm.tm_year + 1900 >= 0) {
		if (precision == PRINT_DATE)
			n = strftime(buf, size, "%Y-%m-%d", &tm);
		else if (precision == PRINT_MINUTES)
			n = strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
		else
			n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (n == 0)
		snprintf(buf, size, "%lld", t);
}

void
print_time_cell(const cJSON *obj, const char *key, int precision, const char *none, size_t width)
{
	char buf[64];
	long long t;

	if (print_jint(obj, key, &t) == 0)
		print_time(buf, sizeof(buf), t, precision);
	else
		snprintf(buf, sizeof(buf), "%s", none);
	print_cell(stdout, buf, width, 1);
	fputs("  ", stdout);
}

void
print_decision(const cJSON *d)
{
	const char *action = print_jstr(d, "action");
	const char *queue = print_jstr(d, "queue"), *target = print_jstr(d, "target");
	long long v;
	int b;

	if (action != NULL && strcmp(action, "queue") != 0)
		print_field("action", action);
	if (queue != NULL) {
		printf("%-10s", "queue");
		print_esc(stdout, queue);
		if (target != NULL) {
			fputs(" (", stdout);
			print_esc(stdout, target);
			putchar(')');
		}
		putchar('\n');
	}
	if (print_jint(d, "priority", &v) == 0)
		printf("%-10s%lld\n", "priority", v);
	if (print_jstr(d, "rule") != NULL)
		print_field("rule", print_jstr(d, "rule"));
	if (print_jstr(d, "reason") != NULL)
		print_field("reason", print_jstr(d, "reason"));
	if ((b = print_jbool(d, "record")) >= 0)
		print_field("record", b ? "yes" : "no");
	if ((b = print_jbool(d, "alert")) >= 0)
		print_field("alert", b ? "yes" : "no");
	if (print_jstr(d, "announce") != NULL)
		print_field("announce", print_jstr(d, "announce"));
	if (print_jint(d, "max_wait_s", &v) == 0)
		printf("%-10s%lld s\n", "max_wait", v);
	if (print_jbool(d, "degraded") == 1)
		print_field("degraded", "yes (caller history unavailable)");
	if (print_jstr(d, "policy") != NULL)
		print_field("policy", print_jstr(d, "policy"));
}

int
print_id_width(const cJSON *arr, int min)
{
	const cJSON *item;
	long long id;
	char digits[32];
	int n;

	cJSON_ArrayForEach(item, arr)
	{
		if (print_jint(item, "id", &id) == 0) {
			n = snprintf(digits, sizeof(digits), "%lld", id);
			if (n > min)
				min = n;
		}
	}
	return min;
}

/* Column widths of the flag table; the reason, last, is cut rather than padded. */
#define FLAG_W_STATE         7
#define FLAG_W_CODE          8
#define FLAG_W_CALLER        16
#define FLAG_W_CREATED       16
#define FLAG_W_EXPIRES       10
#define FLAG_W_BY            12
#define FLAG_W_SOURCE        10
#define FLAG_W_REASON        40
#define FLAG_W_REVOKE_BY     24
#define FLAG_W_REVOKE_REASON 60

void
print_flag_head(int idw, int with_caller)
{
	printf("%*s  %-*s  %-*s  ", idw, "ID", FLAG_W_STATE, "STATE", FLAG_W_CODE, "CODE");
	if (with_caller)
		printf("%-*s  ", FLAG_W_CALLER, "CALLER");
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", FLAG_W_CREATED, "CREATED (UTC)", FLAG_W_EXPIRES,
	       "EXPIRES", FLAG_W_BY, "BY", FLAG_W_SOURCE, "SOURCE", "REASON");
}

/* A text column followed by the two spaces that separate columns. */
static void
print_col(const cJSON *obj, const char *key, size_t width)
{
	print_cell(stdout, print_jstr(obj, key), width, 1);
	fputs("  ", stdout);
}

void
print_flag_row(const cJSON *f, int idw, int with_caller)
{
	long long id;

	if (print_jint(f, "id", &id) == 0)
		printf("%*lld  ", idw, id);
	else
		printf("%*s  ", idw, "?");
	print_col(f, "state", FLAG_W_STATE);
	print_col(f, "code", FLAG_W_CODE);
	if (with_caller)
		print_col(f, "caller", FLAG_W_CALLER);
	print_time_cell(f, "created_at", PRINT_MINUTES, "-", FLAG_W_CREATED);
	print_time_cell(f, "expires_at", PRINT_DATE, "never", FLAG_W_EXPIRES);
	print_col(f, "by", FLAG_W_BY);
	print_col(f, "source", FLAG_W_SOURCE);
	print_cell(stdout, print_jstr(f, "reason"), FLAG_W_REASON, 0);
	putchar('\n');
	print_closed_line(f, idw, "revoked", "revoked_at", "revoked_by", FLAG_W_REVOKE_BY,
	                  "revoke_reason", FLAG_W_REVOKE_REASON);
}

void
print_closed_line(const cJSON *obj, int idw, const char *what, const char *at_key,
                  const char *by_key, size_t by_width, const char *why_key, size_t why_width)
{
	char buf[32];
	long long t;

	if (print_jint(obj, at_key, &t) != 0)
		return;
	print_time(buf, sizeof(buf), t, PRINT_MINUTES);
	printf("%*s  %s %s by ", idw, "", what, buf);
	print_cell(stdout, print_jstr(obj, by_key), by_width, 0);
	fputs(": ", stdout);
	print_cell(stdout, print_jstr(obj, why_key), why_width, 0);
	putchar('\n');
}

/*
 * A JSON string with the escapes JSON requires plus \u escapes for everything print_esc would
 * escape, so the output stays valid JSON with the same content and cannot drive the terminal.
 * Bytes that are not UTF-8 cannot be written in JSON at all; they become U+FFFD.
 */
static void
print_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	uint32_t cp;

	fputc('"', f);
	while (n > 0) {
		len = print_utf8(p, n, &cp);
		if (len == 0) {
			fputs("\\ufffd", f);
			p++;
			n--;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (print_unsafe(cp))
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, len, f);
		p += len;
		n -= len;
	}
	fputc('"', f);
}

/* A number as the daemon writes numbers (jb_num: integers whole, others the shortest exact). */
static void
print_json_number(FILE *f, double v)
{
	struct jbuf jb;

	jb_init(&jb);
	jb_num(&jb, v);
	fputs(jb.oom ? "null" : jb.data, f);
	jb_free(&jb);
}

/* Members of the top-level object that print_json leaves out, when asked to. */
static int
print_json_envelope(const cJSON *item, int depth, int without_envelope)
{
	return without_envelope && depth == 0 && item->string != NULL &&
	       (strcmp(item->string, "ok") == 0 || strcmp(item->string, "id") == 0);
}

static void
print_json_value(FILE *f, const cJSON *v, int depth, int without_envelope)
{
	const cJSON *item;
	int obj = cJSON_IsObject(v), first = 1;

	if (cJSON_IsString(v))
		print_json_string(f, v->valuestring);
	else if (cJSON_IsNumber(v))
		print_json_number(f, v->valuedouble);
	else if (cJSON_IsTrue(v))
		fputs("true", f);
	else if (cJSON_IsFalse(v))
		fputs("false", f);
	else if (obj || cJSON_IsArray(v)) {
		fputc(obj ? '{' : '[', f);
		cJSON_ArrayForEach(item, v)
		{
			if (obj && print_json_envelope(item, depth, without_envelope))
				continue;
			fprintf(f, "%s\n%*s", first ? "" : ",", 2 * (depth + 1), "");
			first = 0;
			if (obj) {
				print_json_string(f, item->string != NULL ? item->string : "");
				fputs(": ", f);
			}
			print_json_value(f, item, depth + 1, 0);
		}
		if (first)
			fputc(obj ? '}' : ']', f);
		else
			fprintf(f, "\n%*s%c", 2 * depth, "", obj ? '}' : ']');
	} else
		fputs("null", f);
}

void
print_json(FILE *f, const cJSON *v, int without_envelope)
{
	print_json_value(f, v, 0, without_envelope);
	fputc('\n', f);
}
