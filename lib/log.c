/* Leveled logging to stderr; the only global state in the library is the level and name. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_progname = "callwarden";
static enum log_level log_level_max = LOG_LEVEL_INFO;

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_level_max = level;
}

enum log_level
log_get_level(void)
{
	return log_level_max;
}

static void log_vwrite(const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 1, 0)));

static void
log_vwrite(const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One write per line so lines from the writer thread do not interleave. */
	if (suffix != NULL)
		fprintf(stderr, "%s: %s: %s\n", log_progname, line, suffix);
	else
		fprintf(stderr, "%s: %s\n", log_progname, line);
}

#define LOG_BODY(suffix)                                                                           \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(fmt, ap, suffix);                                                       \
		va_end(ap);                                                                        \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(NULL);
}

void
log_info(const char *fmt, ...)
{
	if (log_level_max < LOG_LEVEL_INFO)
		return;
	LOG_BODY(NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (log_level_max < LOG_LEVEL_DEBUG)
		return;
	LOG_BODY(NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(err);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(NULL);
	exit(1);
}

char *
log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t o = 0;

	if (dstlen == 0)
		return dst;
	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		char esc[4];
		size_t n = 1;

		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[*p >> 4];
			esc[3] = hex[*p & 15];
			n = 4;
		} else
			esc[0] = (char)*p;
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o] = '\0';
	return dst;
}

char *
log_mask_number(char *dst, size_t dstlen, const char *number)
{
	size_t len, i;

	if (dstlen == 0)
		return dst;
	len = strlen(number);
	if (len >= dstlen)
		len = dstlen - 1;
	for (i = 0; i < len; i++) {
		char c = number[i];

		dst[i] = (i + 4 < len && c >= '0' && c <= '9') ? '*' : c;
	}
	dst[len] = '\0';
	return dst;
}
