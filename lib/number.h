/* Caller number normalisation to E.164 and detection of withheld callers. */
#ifndef CW_NUMBER_H
#define CW_NUMBER_H

#include <stddef.h>

/* '+', at most 15 digits, NUL. */
#define NUMBER_BUFSZ      17
#define NUMBER_MIN_DIGITS 3
#define NUMBER_MAX_DIGITS 15

enum number_kind {
	NUMBER_E164,     /* out holds "+<digits>" */
	NUMBER_WITHHELD, /* empty, anonymous, restricted, private, unknown, unavailable */
	NUMBER_INVALID   /* neither a number nor a withheld marker; out is "" */
};

/*
 * Normalises in[0..len) with the default country code cc (digits only, e.g. "1").
 * Accepts "+1 (555) 123-4567", "0015551234567", "15551234567", "5551234567", "tel:+1555...",
 * "sip:+1555...@host". Separators ( ) - . / and spaces are ignored. On NUMBER_E164, out holds the
 * normalised number; otherwise out is the empty string.
 */
enum number_kind number_normalise(const char *in, size_t len, const char *cc,
                                  char out[NUMBER_BUFSZ]);

/* Returns 1 when cc is a valid country calling code (1 to 3 digits, not starting with 0). */
int number_valid_cc(const char *cc);

#endif
