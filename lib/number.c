/* Caller numbers to E.164: separators and URI wrappers removed, country code applied. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "number.h"

static const char *const number_withheld_words[] = {
    "anonymous", "restricted", "private", "unknown", "unavailable", NULL,
};

int
number_valid_cc(const char *cc)
{
	size_t i, n = strlen(cc);

	if (n < 1 || n > 3 || cc[0] == '0')
		return 0;
	for (i = 0; i < n; i++)
		if (cc[i] < '0' || cc[i] > '9')
			return 0;
	return 1;
}

static int
number_is_withheld_word(const char *s, size_t len)
{
	size_t i;

	for (i = 0; number_withheld_words[i] != NULL; i++)
		if (strlen(number_withheld_words[i]) == len &&
		    strncasecmp(s, number_withheld_words[i], len) == 0)
			return 1;
	return 0;
}

/* Strips "sip:", "sips:" or "tel:" and anything from '@' or ';' on, as SIP URIs carry them. */
static void
number_strip_uri(const char **sp, size_t *lenp)
{
	static const char *const schemes[] = {"sip:", "sips:", "tel:", NULL};
	const char *s = *sp;
	size_t len = *lenp, i;

	for (i = 0; schemes[i] != NULL; i++) {
		size_t n = strlen(schemes[i]);

		if (len >= n && strncasecmp(s, schemes[i], n) == 0) {
			s += n;
			len -= n;
			for (n = 0; n < len; n++)
				if (s[n] == '@' || s[n] == ';')
					break;
			len = n;
			break;
		}
	}
	*sp = s;
	*lenp = len;
}

enum number_kind
number_normalise(const char *in, size_t len, const char *cc, char out[NUMBER_BUFSZ])
{
	char digits[NUMBER_MAX_DIGITS + 4];
	const char *d;
	size_t nd = 0, i, cclen, total;
	int plus = 0;

	out[0] = '\0';
	while (len > 0 && isspace((unsigned char)in[0])) {
		in++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)in[len - 1]))
		len--;
	number_strip_uri(&in, &len);
	if (len == 0 || number_is_withheld_word(in, len))
		return NUMBER_WITHHELD;

	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c >= '0' && c <= '9') {
			/* Room for a "00"/"011" prefix before it is stripped. */
			if (nd >= sizeof(digits) - 1)
				return NUMBER_INVALID;
			digits[nd++] = c;
		} else if (c == '+' && i == 0)
			plus = 1;
		else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '/')
			return NUMBER_INVALID;
	}
	digits[nd] = '\0';
	if (nd == 0)
		return NUMBER_INVALID;

	d = digits;
	cclen = strlen(cc);
	out[0] = '+';
	if (plus) {
		total = nd;
	} else if (nd > 2 && d[0] == '0' && d[1] == '0') {
		d += 2;
		total = nd - 2;
	} else if (strcmp(cc, "1") == 0 && nd > 3 && strncmp(d, "011", 3) == 0) {
		d += 3;
		total = nd - 3;
	} else if (nd >= 11 && strncmp(d, cc, cclen) == 0) {
		total = nd;
	} else {
		if (d[0] == '0' && nd > 1) {
			d++;
			nd--;
		}
		if (nd + cclen > NUMBER_MAX_DIGITS)
			return (out[0] = '\0', NUMBER_INVALID);
		memcpy(out + 1, cc, cclen);
		memcpy(out + 1 + cclen, d, nd);
		out[1 + cclen + nd] = '\0';
		total = cclen + nd;
		if (total < NUMBER_MIN_DIGITS)
			return (out[0] = '\0', NUMBER_INVALID);
		return NUMBER_E164;
	}
	if (total < NUMBER_MIN_DIGITS || total > NUMBER_MAX_DIGITS || d[0] == '0') {
		out[0] = '\0';
		return NUMBER_INVALID;
	}
	memcpy(out + 1, d, total);
	out[1 + total] = '\0';
	return NUMBER_E164;
}
