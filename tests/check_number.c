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

static const struct number_case number_cases[] = {
    /* The protocol's three spellings of one number. */
    {.what = "formatted with + and separators", .in = "+1 (555) 123-4567", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "11 digits starting with the country code", .in = "15551234567", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "10 national digits", .in = "5551234567", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "already E.164", .in = "+15551234567", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "dots", .in = "555.123.4567", .cc = "1", .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "slashes", .in = "555/123/4567", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "parentheses and dash", .in = "(555) 123-4567", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "1-555 dashes", .in = "1-555-123-4567", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "surrounding whitespace", .in = "  +15551234567\t\n", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "only the first len bytes are read", .in = "5551234567999", .len = 10, .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},

    /* International prefixes. */
    {.what = "00 prefix", .in = "0015551234567", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "00 prefix to another country", .in = "00442079460000", .cc = "1",
     .kind = NUMBER_E164, .out = "+442079460000"},
    {.what = "00 prefix with spaces", .in = "00 44 20 7946 0000", .cc = "1",
     .kind = NUMBER_E164, .out = "+442079460000"},
    {.what = "011 NANP exit code", .in = "011442079460000", .cc = "1", .kind = NUMBER_E164,
     .out = "+442079460000"},
    {.what = "00 prefix under another default", .in = "0015551234567", .cc = "44",
     .kind = NUMBER_E164, .out = "+15551234567"},

    /* URI forms. */
    {.what = "tel: URI", .in = "tel:+15551234567", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "tel: URI with dashes and a parameter",
     .in = "tel:+1-555-123-4567;phone-context=example.com", .cc = "1", .kind = NUMBER_E164,
     .out = "+15551234567"},
    {.what = "TEL: in capitals, national", .in = "TEL:5551234567", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "sip:user@host", .in = "sip:+15551234567@pbx.example.com", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "sip: national user at an address", .in = "sip:5551234567@10.0.0.1", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "sip: with user=phone", .in = "sip:+15551234567;user=phone", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "sips: with transport", .in = "sips:+15551234567@host;transport=tls", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},
    {.what = "SIP: with mixed case", .in = "Sip:+15551234567@Host", .cc = "1",
     .kind = NUMBER_E164, .out = "+15551234567"},

    /* Other default country codes. */
    {.what = "UK national with trunk 0", .in = "07700 900123", .cc = "44", .kind = NUMBER_E164,
     .out = "+447700900123"},
    {.what = "UK national without trunk 0", .in = "7700900123", .cc = "44", .kind = NUMBER_E164,
     .out = "+447700900123"},
    {.what = "UK with country code, no +", .in = "447700900123", .cc = "44", .kind = NUMBER_E164,
     .out = "+447700900123"},
    {.what = "UK in E.164", .in = "+44 7700 900123", .cc = "44", .kind = NUMBER_E164,
     .out = "+447700900123"},
    {.what = "Ireland national", .in = "087 123 4567", .cc = "353", .kind = NUMBER_E164,
     .out = "+353871234567"},
    {.what = "a US number under a UK default", .in = "+1 555 123 4567", .cc = "44",
     .kind = NUMBER_E164, .out = "+15551234567"},

    /* Length limits of E.164. */
    {.what = "15 digits is the maximum", .in = "+123456789012345", .cc = "1",
     .kind = NUMBER_E164, .out = "+123456789012345"},
    {.what = "16 digits is too long", .in = "+1234567890123456", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "17 digits without + is too long", .in = "12345678901234567", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "national too long with country code", .in = "98765432109876", .cc = "44",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "00 prefix then too many digits", .in = "001234567890123456", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "two digits with + is too short", .in = "+12", .cc = "1", .kind = NUMBER_INVALID,
     .out = ""},
    {.what = "one digit is too short", .in = "7", .cc = "1", .kind = NUMBER_INVALID, .out = ""},

    /* Withheld callers: empty or one of the words, any case. */
    {.what = "empty", .in = "", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "whitespace only", .in = "  \t ", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "anonymous", .in = "anonymous", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "Anonymous", .in = "Anonymous", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "ANONYMOUS", .in = "ANONYMOUS", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "restricted", .in = "restricted", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "RESTRICTED", .in = "RESTRICTED", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "private", .in = "private", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "PRIVATE", .in = "PRIVATE", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "unknown", .in = "unknown", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "UnKnOwN", .in = "UnKnOwN", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "unavailable", .in = "unavailable", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "Unavailable", .in = "Unavailable", .cc = "1", .kind = NUMBER_WITHHELD, .out = ""},
    {.what = "padded anonymous", .in = "  anonymous ", .cc = "1", .kind = NUMBER_WITHHELD,
     .out = ""},
    {.what = "sip:anonymous@host", .in = "sip:anonymous@anonymous.invalid", .cc = "1",
     .kind = NUMBER_WITHHELD, .out = ""},

    /* Neither a number nor withheld. */
    {.what = "letters", .in = "abc", .cc = "1", .kind = NUMBER_INVALID, .out = ""},
    {.what = "vanity number", .in = "1-800-FLOWERS", .cc = "1", .kind = NUMBER_INVALID,
     .out = ""},
    {.what = "digits then letters", .in = "5551234567x", .cc = "1", .kind = NUMBER_INVALID,
     .out = ""},
    {.what = "extension", .in = "555 123 4567 ext 12", .cc = "1", .kind = NUMBER_INVALID,
     .out = ""},
    {.what = "a withheld word with a suffix", .in = "anonymous1", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "a word that is not withheld", .in = "withheld", .cc = "1", .kind = NUMBER_INVALID,
     .out = ""},
    {.what = "+ alone", .in = "+", .cc = "1", .kind = NUMBER_INVALID, .out = ""},
    {.what = "separators only", .in = "(-)", .cc = "1", .kind = NUMBER_INVALID, .out = ""},
    {.what = "two pluses", .in = "++15551234567", .cc = "1", .kind = NUMBER_INVALID, .out = ""},
    {.what = "+ in the middle", .in = "1+5551234567", .cc = "1", .kind = NUMBER_INVALID,
     .out = ""},
    {.what = "country code cannot start with 0", .in = "+0123456789", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "star code", .in = "*67 555 123 4567", .cc = "1", .kind = NUMBER_INVALID,
     .out = ""},
    {.what = "hash", .in = "5551234567#", .cc = "1", .kind = NUMBER_INVALID, .out = ""},
    {.what = "SQL metacharacters", .in = "555'; DROP TABLE flags;--", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "embedded NUL", .in = "555\0001234567", .len = 11, .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "UTF-8 digits are not ASCII digits", .in = "\xd9\xa5\xd9\xa5\xd9\xa5", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "sip:user@host with a name", .in = "sip:alice@example.com", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
    {.what = "an unknown URI scheme", .in = "mailto:5551234567", .cc = "1",
     .kind = NUMBER_INVALID, .out = ""},
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
	ck_assert_msg(strcmp(out, c->out) == 0, "%s: out '%s', expected '%s'", c->what, out, c->out);
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
    {"1", 1},     {"44", 1},  {"353", 1}, {"999", 1}, {"", 0},   {"0", 0},     {"01", 0},
    {"1234", 0},  {"4a", 0},  {"+1", 0},  {" 1", 0},  {"1 ", 0}, {"-1", 0},    {"x", 0},
    {"\xd9\xa1", 0},
};

START_TEST(test_valid_cc)
{
	const struct cc_case *c = &cc_cases[_i];

	ck_assert_msg(number_valid_cc(c->cc) == c->valid, "cc '%s': expected %d", c->cc,
	              c->valid);
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
