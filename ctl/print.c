/* Readable output for callwardenctl: reply fields, UTC times, and strings made safe for a terminal.
 */
#include <math.h>
#include <stdint.h>
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

/* Columns s takes once escaped. */
static size_t
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
print_time(char *buf, size_t size, long long t, int with_time)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0 ||
	    strftime(buf, size, with_time ? "%Y-%m-%d %H:%M" : "%Y-%m-%d", &tm) == 0)
		snprintf(buf, size, "%lld", t);
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
