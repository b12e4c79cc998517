/* Logging to stderr with levels, errno suffixes and escaping of untrusted text. */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stddef.h>

#define CW_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum log_level { LOG_LEVEL_WARN = 0, LOG_LEVEL_INFO = 1, LOG_LEVEL_DEBUG = 2 };

/* Sets the program name shown in each line and the most verbose level printed. */
void log_init(const char *progname, enum log_level level);
enum log_level log_get_level(void);

void log_warn(const char *fmt, ...) CW_PRINTF(1, 2); /* appends ": strerror(errno)" */
void log_warnx(const char *fmt, ...) CW_PRINTF(1, 2);
void log_info(const char *fmt, ...) CW_PRINTF(1, 2);
void log_debug(const char *fmt, ...) CW_PRINTF(1, 2);
void fatal(const char *fmt, ...) CW_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) CW_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Copies src into dst (always NUL-terminated) with control characters, quotes, backslashes and
 * bytes >= 0x7f written as escapes, so untrusted text cannot forge or split a log line.
 * Returns dst.
 */
char *log_escape(char *dst, size_t dstlen, const char *src);

/* Masks a caller number for logs: all but the last four digits become '*'. Returns dst. */
char *log_mask_number(char *dst, size_t dstlen, const char *number);

#endif
