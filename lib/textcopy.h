/*
 * Bounded string copy for fixed-size fields on the hot path: snprintf("%s") costs a format
 * parse per field, and the call path copies a dozen fields per event.
 */
#ifndef CW_TEXTCOPY_H
#define CW_TEXTCOPY_H

#include <stddef.h>
#include <string.h>

/* Copies src (NULL: "") into dst of size bytes (> 0), truncating; dst is always terminated. */
static inline void
text_copy(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strnlen(src, size - 1) : 0;

	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
}

#endif
