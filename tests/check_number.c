/* Unit tests for caller number normalisation (lib/number.c), driven by the protocol's examples. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct number_case {
	const char *what;
	const char *in;
	size_t len; /* 0: strlen(in); set for inputs holding a NUL or read only in part */
	const char *cc;
	enum number_kind kind;
	const char *out; /* expected out; "" unless NUMBER_E164 */
};

/* Most cases read the whole input; the three kinds as shorthands. */
/* clang-format off */
#define E164(what, in, cc, out) {what, in, 0, cc, NUMBER_E164, out}
#define WITHHELD(what, in)      {what, in, 0, "1", NUMBER_WITHHELD, ""}
#define INVALID(what, in, cc)   {what, in, 0, cc, NUMBER_INVALID, ""}
/* clang-format on */

static const struct number_case number_cases[] = {
    /* The protocol's three spellings of one number. */
    E164("formatted with + and separators", "+1 (555) 123-4567", "1", "+15551234567"),
    E164("11 digits starting with the country code", "15551234567", "1", "+15551234567"),
    E164("10 national digits", "5551234567", "1", "+15551234567"),
    E164("already E.164", "+15551234567", "1", "+15551234567"),
    E164("dots", "555.123.4567", "1", "+15551234567"),
    E164("slashes", "555/123/4567", "1", "+15551234567"),
    E164("parentheses and dash", "(555) 123-4567", "1", "+15551234567"),
    E164("1-555 dashes", "1-555-123-4567", "1", "+15551234567"),
    E164("surrounding whitespace", "  +15551234567\t\n", "1", "+15551234567"),
    {"only the first len bytes are read", "5551234567999", 10, "1", NUMBER_E164, "+15551234567"},

    /* International prefixes. */
    E164("00 prefix", "0015551234567", "1", "+15551234567"),
    E164("00 prefix to another country", "00442079460000", "1", "+442079460000"),
    E164("00 prefix with spaces", "00 44 20 7946 0000", "1", "+442079460000"),
    E164("011 NANP exit code", "011442079460000", "1", "+442079460000"),
    E164("00 prefix under another default", "0015551234567", "44", "+15551234567"),

    /* URI forms. */
    E164("tel: URI", "tel:+15551234567", "1", "+15551234567"),
    E164("tel: URI with dashes and a parameter", "tel:+1-555-123-4567;phone-context=example.com",
         "1", "+15551234567"),
    E164("TEL: in capitals, national", "TEL:5551234567", "1", "+15551234567"),
    E164("sip:user@host", "sip:+15551234567@pbx.example.com", "1", "+15551234567"),
    E164("sip: national user at an address", "sip:5551234567@10.0.0.1", "1", "+15551234567"),
    E164("sip: with user=phone", "sip:+15551234567;user=phone", "1", "+15551234567"),
    E164("sips: with transport", "sips:+15551234567@host;transport=tls", "1", "+15551234567"),
    E164("SIP: with mixed case", "Sip:+15551234567@Host", "1", "+15551234567"),

    /* Other default country codes. */
    E164("UK national with trunk 0", "07700 900123", "44", "+447700900123"),
    E164("UK national without trunk 0", "7700900123", "44", "+447700900123"),
    E164("UK with country code, no +", "447700900123", "44", "+447700900123"),
    E164("UK in E.164", "+44 7700 900123", "44", "+447700900123"),
    E164("Ireland national", "087 123 4567", "353", "+353871234567"),
    E164("a US number under a UK default", "+1 555 123 4567", "44", "+15551234567"),

    /* Length limits of E.164. */
    E164("15 digits is the maximum", "+123456789012345", "1", "+123456789012345"),
    INVALID("16 digits is too long", "+1234567890123456", "1"),
    INVALID("17 digits without + is too long", "12345678901234567", "1"),
    INVALID("national too long with country code", "98765432109876", "44"),
    INVALID("00 prefix then too many digits", "001234567890123456", "1"),
    INVALID("two digits with + is too short", "+12", "1"),
    INVALID("one digit is too short", "7", "1"),

    /* Withheld callers: empty or one of the words, any case. */
    WITHHELD("empty", ""),
    WITHHELD("whitespace only", "  \t "),
    WITHHELD("anonymous", "anonymous"),
    WITHHELD("Anonymous", "Anonymous"),
    WITHHELD("ANONYMOUS", "ANONYMOUS"),
    WITHHELD("restricted", "restricted"),
    WITHHELD("RESTRICTED", "RESTRICTED"),
    WITHHELD("private", "private"),
    WITHHELD("PRIVATE", "PRIVATE"),
    WITHHELD("unknown", "unknown"),
    WITHHELD("UnKnOwN", "UnKnOwN"),
    WITHHELD("unavailable", "unavailable"),
    WITHHELD("Unavailable", "Unavailable"),
    WITHHELD("padded anonymous", "  anonymous "),
    WITHHELD("sip:anonymous@host", "sip:anonymous@anonymous.invalid"),

    /* Neither a number nor withheld. */
    INVALID("letters", "abc", "1"),
    INVALID("vanity number", "1-800-FLOWERS", "1"),
    INVALID("digits then letters", "5551234567x", "1"),
    INVALID("extension", "555 123 4567 ext 12", "1"),
    INVALID("a withheld word with a suffix", "anonymous1", "1"),
    INVALID("a word that is not withheld", "withheld", "1"),
    INVALID("+ alone", "+", "1"),
    INVALID("separators only", "(-)", "1"),
    INVALID("two pluses", "++15551234567", "1"),
    INVALID("+ in the middle", "1+5551234567", "1"),
    INVALID("country code cannot start with 0", "+0123456789", "1"),
    INVALID("star code", "*67 555 123 4567", "1"),
    INVALID("hash", "5551234567#", "1"),
    INVALID("SQL metacharacters", "555'; DROP TABLE flags;--", "1"),
    {"embedded NUL", "555\0001234567", 11, "1", NUMBER_INVALID, ""},
    INVALID("UTF-8 digits are not ASCII digits", "\xd9\xa5\xd9\xa5\xd9\xa5", "1"),
    INVALID("sip:user@host with a name", "sip:alice@example.com", "1"),
    INVALID("an unknown URI scheme", "mailto:5551234567", "1"),
};

static const char *
kind_name(enum number_kind k)
{
	switch (k) {
	case NUMBER_E164:
		return "E164";
	case NUMBER_WITHHELD:
		return "WITHHELD";
	case NUMBER_INVALID:
		return "INVALID";
	}
	return "?";
}

START_TEST(test_normalise)
{
	const struct number_case *c = &number_cases[_i];
	char out[NUMBER_BUFSZ];
	enum number_kind k;
	size_t len = c->len ? c->len : strlen(c->in);

	memset(out, 'X', sizeof(out));
	k = number_normalise(c->in, len, c->cc, out);
	ck_assert_msg(k == c->kind, "%s: kind %s, expected %s", c->what, kind_name(k),
	              kind_name(c->kind));
	ck_assert_msg(strcmp(out, c->out) == 0, "%s: out '%s', expected '%s'", c->what, out,
	              c->out);
}
END_TEST

/* A 5,000-digit caller (from the brief's bad-input list) is invalid, with or without '+'. */
START_TEST(test_huge)
{
	static const char *const prefixes[] = {"", "+", "00", "tel:+", "sip:"};
	size_t n = 5000, i;

	for (i = 0; i < ARRAY_LEN(prefixes); i++) {
		size_t pl = strlen(prefixes[i]);
		char *in = malloc(pl + n + 1);
		char out[NUMBER_BUFSZ];

		ck_assert_ptr_nonnull(in);
		memcpy(in, prefixes[i], pl);
		memset(in + pl, '5', n);
		in[pl + n] = '\0';
		memset(out, 'X', sizeof(out));
		ck_assert_int_eq(number_normalise(in, pl + n, "1", out), NUMBER_INVALID);
		ck_assert_str_eq(out, "");
		free(in);
	}
}
END_TEST

/* Normalising a normalised number gives it back unchanged, under any default country code. */
START_TEST(test_idempotent)
{
	static const char *const ccs[] = {"1", "44", "353"};
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(number_cases); i++) {
		const struct number_case *c = &number_cases[i];

		if (c->kind != NUMBER_E164)
			continue;
		for (j = 0; j < ARRAY_LEN(ccs); j++) {
			char out[NUMBER_BUFSZ];

			ck_assert_msg(number_normalise(c->out, strlen(c->out), ccs[j], out) ==
			                  NUMBER_E164,
			              "%s: '%s' under cc %s", c->what, c->out, ccs[j]);
			ck_assert_str_eq(out, c->out);
		}
	}
}
END_TEST

struct cc_case {
	const char *cc;
	int valid;
};

static const struct cc_case cc_cases[] = {
    {"1", 1},  {"44", 1}, {"353", 1}, {"999", 1}, {"", 0},   {"0", 0}, {"01", 0},       {"1234", 0},
    {"4a", 0}, {"+1", 0}, {" 1", 0},  {"1 ", 0},  {"-1", 0}, {"x", 0}, {"\xd9\xa1", 0},
};

START_TEST(test_valid_cc)
{
	const struct cc_case *c = &cc_cases[_i];

	ck_assert_msg(number_valid_cc(c->cc) == c->valid, "cc '%s': expected %d", c->cc, c->valid);
}
END_TEST

static Suite *
number_suite(void)
{
	Suite *s = suite_create("number");
	TCase *tc = tcase_create("normalise");

	tcase_add_loop_test(tc, test_normalise, 0, (int)ARRAY_LEN(number_cases));
	tcase_add_test(tc, test_huge);
	tcase_add_test(tc, test_idempotent);
	suite_add_tcase(s, tc);
	tc = tcase_create("country_code");
	tcase_add_loop_test(tc, test_valid_cc, 0, (int)ARRAY_LEN(cc_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(number_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
