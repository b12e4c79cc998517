/* Unit tests for the line protocol (lib/proto.c): parsing, typed getters, ids and reply framing. */
#include <check.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a NUL-terminated line that must give a request. */
static struct proto_req *
parse_ok(const char *line)
{
	enum proto_error err = PROTO_INTERNAL;
	char msg[256] = "";
	struct proto_req *r = proto_req_parse(line, strlen(line), &err, msg, sizeof(msg));

	ck_assert_msg(r != NULL, "'%s' did not parse: %s", line, msg);
	ck_assert_int_eq(err, PROTO_OK);
	return r;
}

/* Checks the recorded error of r: code and exact message. */
static void
assert_req_error(const struct proto_req *r, const char *what, enum proto_error code,
                 const char *msg)
{
	const char *got = NULL;
	enum proto_error e = proto_req_error(r, &got);

	ck_assert_msg(e == code, "%s: error %s, expected %s (message '%s')", what,
	              proto_error_name(e), proto_error_name(code), got ? got : "");
	if (msg != NULL)
		ck_assert_msg(got != NULL && strcmp(got, msg) == 0,
		              "%s: message '%s', expected '%s'", what, got ? got : "(null)", msg);
}

/* Returns 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates, or values past U+10FFFF). */
static int
valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned int cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			n = 1, cp = p[i] & 0x1f;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			n = 2, cp = p[i] & 0x0f;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			n = 3, cp = p[i] & 0x07;
		else
			return 0;
		if (i + n >= len)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* ---- parsing ------------------------------------------------------------------------------ */

#define MSG_NOT_JSON   "line is not valid JSON"
#define MSG_NOT_OBJECT "line is not a JSON object"
#define MSG_TRAILING   "unexpected text after the JSON object"
#define MSG_CONTROL    "line holds a raw control character"
#define MSG_UTF8       "line is not valid UTF-8"

struct parse_case {
	const char *what;
	const char *line;
	size_t len;      /* 0: strlen(line) */
	const char *msg; /* NULL: the line parses; else the bad_json message */
};

static const struct parse_case parse_cases[] = {
    {"an object", "{\"op\":\"ping\"}", 0, NULL},
    {"empty object", "{}", 0, NULL},
    {"CRLF terminator left over", "{\"op\":\"ping\"}\r", 0, NULL},
    {"trailing spaces", "{\"op\":\"ping\"}   ", 0, NULL},
    {"trailing tab", "{\"op\":\"ping\"}\t", 0, NULL},
    {"leading whitespace", " \t {\"op\":\"ping\"}", 0, NULL},
    {"tab between tokens", "{\"op\":\t\"ping\"}", 0, NULL},
    {"nested values", "{\"op\":\"x\",\"a\":{\"b\":[1,2,{\"c\":null}]}}", 0, NULL},
    {"2-byte UTF-8", "{\"op\":\"caf\xc3\xa9\"}", 0, NULL},
    {"3-byte UTF-8", "{\"op\":\"\xe2\x82\xac\"}", 0, NULL},
    {"4-byte UTF-8", "{\"op\":\"\xf0\x9f\x98\x80\"}", 0, NULL},
    {"U+10FFFF", "{\"op\":\"\xf4\x8f\xbf\xbf\"}", 0, NULL},
    {"DEL is not a control character here", "{\"op\":\"\x7f\"}", 0, NULL},
    {"escaped control characters", "{\"op\":\"a\\u0001\\n\\t\"}", 0, NULL},
    {"escaped surrogate pair", "{\"op\":\"\\ud83d\\ude00\"}", 0, NULL},
    {"escaped backslash before u0000 text", "{\"op\":\"\\\\u0000\"}", 0, NULL},
    {"SQL metacharacters", "{\"op\":\"x\",\"reason\":\"'; DROP TABLE flags;--\"}", 0, NULL},

    {"empty line", "", 0, MSG_NOT_JSON},
    {"only spaces", "   ", 0, MSG_NOT_JSON},
    {"only CR", "\r", 0, MSG_NOT_JSON},
    {"plain text", "hello", 0, MSG_NOT_JSON},
    {"truncated object", "{\"op\":", 0, MSG_NOT_JSON},
    {"unterminated string", "{\"op\":\"ping}", 0, MSG_NOT_JSON},
    {"single quotes", "{'op':'ping'}", 0, MSG_NOT_JSON},
    {"trailing comma", "{\"op\":\"ping\",}", 0, MSG_NOT_JSON},
    {"bare word value", "{\"op\":ping}", 0, MSG_NOT_JSON},
    {"bad escape", "{\"op\":\"\\x41\"}", 0, MSG_NOT_JSON},
    {"array", "[1,2]", 0, MSG_NOT_OBJECT},
    {"string", "\"ping\"", 0, MSG_NOT_OBJECT},
    {"number", "42", 0, MSG_NOT_OBJECT},
    {"null", "null", 0, MSG_NOT_OBJECT},
    {"true", "true", 0, MSG_NOT_OBJECT},
    {"two objects on one line", "{\"op\":\"ping\"} {\"op\":\"ping\"}", 0, MSG_TRAILING},
    {"text after the object", "{\"op\":\"ping\"}x", 0, MSG_TRAILING},

    {"raw 0x01", "{\"op\":\"pi\x01ng\"}", 0, MSG_CONTROL},
    {"raw ESC", "{\"op\":\"\x1b[2J\"}", 0, MSG_CONTROL},
    {"raw CR inside", "{\"op\":\"ping\",\r\"id\":1}", 0, MSG_CONTROL},
    {"raw LF inside", "{\"op\":\n\"ping\"}", 0, MSG_CONTROL},
    {"raw NUL byte", "{\"op\":\"p\0ng\"}", 14, MSG_CONTROL},
    {"raw NUL after the object", "{\"op\":\"ping\"}\0", 14, MSG_CONTROL},

    {"lone continuation byte", "{\"op\":\"\x80\"}", 0, MSG_UTF8},
    {"overlong 2-byte /", "{\"op\":\"\xc0\xaf\"}", 0, MSG_UTF8},
    {"overlong 2-byte C1", "{\"op\":\"\xc1\xbf\"}", 0, MSG_UTF8},
    {"overlong 3-byte", "{\"op\":\"\xe0\x80\xaf\"}", 0, MSG_UTF8},
    {"overlong 4-byte", "{\"op\":\"\xf0\x80\x80\xaf\"}", 0, MSG_UTF8},
    {"UTF-16 surrogate", "{\"op\":\"\xed\xa0\x80\"}", 0, MSG_UTF8},
    {"past U+10FFFF", "{\"op\":\"\xf4\x90\x80\x80\"}", 0, MSG_UTF8},
    {"0xf5 lead byte", "{\"op\":\"\xf5\x80\x80\x80\"}", 0, MSG_UTF8},
    {"0xff byte", "{\"op\":\"\xff\"}", 0, MSG_UTF8},
    {"Latin-1 text", "{\"op\":\"caf\xe9\"}", 0, MSG_UTF8},
    {"truncated sequence inside", "{\"op\":\"\xe2\x82\"}", 0, MSG_UTF8},
    {"truncated sequence at the end", "{\"op\":\"x\"}\xe2\x82", 0, MSG_UTF8},
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	enum proto_error err = PROTO_INTERNAL;
	char msg[256] = "";
	size_t len = c->len ? c->len : strlen(c->line);
	struct proto_req *r = proto_req_parse(c->line, len, &err, msg, sizeof(msg));

	if (c->msg == NULL) {
		ck_assert_msg(r != NULL, "%s: rejected: %s", c->what, msg);
		ck_assert_int_eq(err, PROTO_OK);
		assert_req_error(r, c->what, PROTO_OK, NULL);
	} else {
		ck_assert_msg(r == NULL, "%s: accepted", c->what);
		ck_assert_msg(err == PROTO_BAD_JSON, "%s: error %s", c->what,
		              proto_error_name(err));
		ck_assert_msg(strcmp(msg, c->msg) == 0, "%s: message '%s', expected '%s'", c->what,
		              msg, c->msg);
	}
	proto_req_free(r);
}
END_TEST

/*
 * The scan reads plain text a word at a time: each odd byte must be found wherever it falls
 * within or across the words of a long line.
 */
static const struct parse_case word_cases[] = {
    {"plain", "x", 0, NULL},
    {"tab", "\t", 0, NULL},
    {"DEL", "\x7f", 0, NULL},
    {"space", " ", 0, NULL},
    {"2-byte UTF-8", "caf\xc3\xa9", 0, NULL},
    {"4-byte UTF-8", "\xf0\x9f\x98\x80", 0, NULL},
    {"escaped quote", "\\\"", 0, NULL},
    {"escaped backslash", "\\\\", 0, NULL},
    {"0x01", "\x01", 0, MSG_CONTROL},
    {"0x1f", "\x1f", 0, MSG_CONTROL},
    {"raw CR", "\r", 0, MSG_CONTROL},
    {"lone continuation byte", "\x80", 0, MSG_UTF8},
    {"0xff byte", "\xff", 0, MSG_UTF8},
    {"truncated sequence", "\xe2\x82", 0, MSG_UTF8},
    {"overlong", "\xc0\xaf", 0, MSG_UTF8},
};

START_TEST(test_parse_word_offsets)
{
	const struct parse_case *c = &word_cases[_i];
	char line[128], msg[256];
	enum proto_error err;
	struct proto_req *r;
	size_t pad;

	for (pad = 0; pad < 24; pad++) {
		int n =
		    snprintf(line, sizeof(line), "{\"op\":\"ping\",\"p\":\"%.*s%s%s\"}", (int)pad,
		             "abcdefghijklmnopqrstuvwxyz", c->line, "0123456789abcdef");

		ck_assert_int_lt(n, (int)sizeof(line));
		err = PROTO_INTERNAL;
		msg[0] = '\0';
		r = proto_req_parse(line, (size_t)n, &err, msg, sizeof(msg));
		if (c->msg == NULL) {
			ck_assert_msg(r != NULL, "%s after %zu bytes: rejected: %s", c->what, pad,
			              msg);
		} else {
			ck_assert_msg(r == NULL, "%s after %zu bytes: accepted", c->what, pad);
			ck_assert_msg(strcmp(msg, c->msg) == 0, "%s after %zu bytes: message '%s'",
			              c->what, pad, msg);
		}
		proto_req_free(r);
	}
}
END_TEST

/* Deep nesting is refused without exhausting the stack. */
START_TEST(test_parse_deep)
{
	size_t depth = 100000, i, len = 0;
	char *line = malloc(2 * depth + 16);
	enum proto_error err;
	char msg[256];
	struct proto_req *r;

	ck_assert_ptr_nonnull(line);
	memcpy(line, "{\"a\":", 5);
	len = 5;
	for (i = 0; i < depth; i++)
		line[len++] = '[';
	for (i = 0; i < depth; i++)
		line[len++] = ']';
	line[len++] = '}';
	r = proto_req_parse(line, len, &err, msg, sizeof(msg));
	ck_assert_ptr_null(r);
	ck_assert_int_eq(err, PROTO_BAD_JSON);
	free(line);
}
END_TEST

/* A message buffer too small for the text is filled without overflow and stays terminated. */
START_TEST(test_parse_small_msg)
{
	enum proto_error err;
	char msg[8];

	memset(msg, 'X', sizeof(msg));
	ck_assert_ptr_null(proto_req_parse("nope", 4, &err, msg, sizeof(msg)));
	ck_assert_int_eq(err, PROTO_BAD_JSON);
	ck_assert_str_eq(msg, "line is");
}
END_TEST

/* A maximum-size line of the default limit parses. */
START_TEST(test_parse_big_line)
{
	size_t len = PROTO_DEFAULT_MAX_LINE, n;
	char *line = malloc(len + 1);
	struct proto_req *r;
	const char *v = NULL;

	ck_assert_ptr_nonnull(line);
	n = (size_t)snprintf(line, len, "{\"op\":\"x\",\"note\":\"");
	memset(line + n, 'a', len - n - 2);
	memcpy(line + len - 2, "\"}", 2);
	line[len] = '\0';
	r = parse_ok(line);
	ck_assert_int_eq(proto_str(r, "note", PROTO_REQUIRED, len, &v), 1);
	ck_assert_uint_eq(strlen(v), len - n - 2);
	proto_req_free(r);
	free(line);
}
END_TEST

/* Set for the second run of every case, the one after proto_init (inherited by forks). */
static int arena_pass;

/*
 * With proto_init, a call event's tree fits in the request's own block: parsing it takes the
 * request's allocation and nothing more (an arena block would be 8 KiB on the heap).
 */
START_TEST(test_call_event_fits_the_request)
{
	static const char line[] =
	    "{\"op\":\"call.offered\",\"id\":17,\"call_id\":\"a1b2c3d4-e5f6-4711-8899-"
	    "aabbccddeeff\","
	    "\"caller\":\"+442079460123\",\"dialed\":\"+442079460999\",\"ts\":1795392000}";
	enum proto_error err;
	char msg[128];
	struct mallinfo2 before, after;
	struct proto_req *r;

	if (!arena_pass)
		return; /* the heap pass: nothing to measure */
	before = mallinfo2();
	r = proto_req_parse(line, sizeof(line) - 1, &err, msg, sizeof(msg));
	after = mallinfo2();
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(after.uordblks - before.uordblks < 4096, "parse took %zu bytes of heap",
	              after.uordblks - before.uordblks);
	proto_req_free(r);
}
END_TEST

/*
 * Fields added to a parsed request (as the HTTP API adds the op and path parameters) read back
 * and are freed with it: under the sanitizers a leak fails the run.
 */
START_TEST(test_add_to_parsed)
{
	static const char line[] = "{\"note\":\"from the body\"}";
	enum proto_error err;
	char msg[128];
	const char *v = NULL;
	struct proto_req *r = proto_req_parse(line, sizeof(line) - 1, &err, msg, sizeof(msg));

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(proto_req_add_str(r, "op", "flag.add"), 0);
	ck_assert_int_eq(proto_req_add_str(r, "caller", "+15551230000"), 0);
	ck_assert_str_eq(proto_req_op(r), "flag.add");
	ck_assert_int_eq(proto_str(r, "note", PROTO_REQUIRED, 64, &v), 1);
	ck_assert_str_eq(v, "from the body");
	ck_assert_int_eq(proto_req_add_str(r, "note", "again"), -1);
	proto_req_free(r);
}
END_TEST

/* A tree of many nodes, spread over several arena blocks when parsed in one, reads back whole. */
START_TEST(test_parse_many_fields)
{
	struct jbuf jb;
	struct proto_req *r;
	char name[16], want[32];
	const char *v;
	int i;

	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "x");
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(want, sizeof(want), "value-%d", i * 7);
		jb_kstr(&jb, name, want);
	}
	jb_obj_end(&jb);
	ck_assert(!jb.oom);
	r = parse_ok(jb.data);
	for (i = 0; i < 2000; i += 37) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(want, sizeof(want), "value-%d", i * 7);
		v = NULL;
		ck_assert_int_eq(proto_str(r, name, PROTO_REQUIRED, 64, &v), 1);
		ck_assert_str_eq(v, want);
	}
	proto_req_free(r);
	jb_free(&jb);
}
END_TEST

/* ---- op ----------------------------------------------------------------------------------- */

struct op_case {
	const char *what;
	const char *line;
	const char *op; /* NULL: no op */
	enum proto_error err;
	const char *msg;
};

static const struct op_case op_cases[] = {
    {"op present", "{\"op\":\"ping\"}", "ping", PROTO_OK, NULL},
    {"op with other fields", "{\"id\":1,\"op\":\"call.offered\",\"caller\":\"x\"}", "call.offered",
     PROTO_OK, NULL},
    {"op of 64 bytes",
     "{\"op\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", PROTO_OK, NULL},
    {"no op", "{}", NULL, PROTO_MISSING_FIELD, "missing field 'op'"},
    {"op null", "{\"op\":null}", NULL, PROTO_MISSING_FIELD, "missing field 'op'"},
    {"op is a number", "{\"op\":5}", NULL, PROTO_BAD_FIELD, "field 'op' must be a string"},
    {"op is an object", "{\"op\":{}}", NULL, PROTO_BAD_FIELD, "field 'op' must be a string"},
    {"op is case-sensitive key", "{\"OP\":\"ping\"}", NULL, PROTO_MISSING_FIELD,
     "missing field 'op'"},
    {"op of 65 bytes",
     "{\"op\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", NULL,
     PROTO_BAD_FIELD, "field 'op' is longer than 64 bytes"},
    {"op holding a NUL", "{\"op\":\"pi\\u0000ng\"}", NULL, PROTO_BAD_FIELD,
     "field 'op' holds a NUL character"},
    {"object id", "{\"op\":\"ping\",\"id\":{}}", NULL, PROTO_BAD_FIELD,
     "field 'id' must be a JSON scalar"},
    {"array id", "{\"op\":\"ping\",\"id\":[1]}", NULL, PROTO_BAD_FIELD,
     "field 'id' must be a JSON scalar"},
};

START_TEST(test_op)
{
	const struct op_case *c = &op_cases[_i];
	struct proto_req *r = parse_ok(c->line);
	const char *op = proto_req_op(r);

	if (c->op == NULL)
		ck_assert_msg(op == NULL, "%s: op '%s'", c->what, op);
	else
		ck_assert_msg(op != NULL && strcmp(op, c->op) == 0, "%s: op '%s'", c->what,
		              op ? op : "(null)");
	assert_req_error(r, c->what, c->err, c->msg);
	proto_req_free(r);
}
END_TEST

/* ---- id echo ------------------------------------------------------------------------------ */

struct id_case {
	const char *what;
	const char *line;
	const char *id; /* expected JSON text, NULL: no id */
};

static const struct id_case id_cases[] = {
    {"no id", "{\"op\":\"ping\"}", NULL},
    {"small integer", "{\"op\":\"ping\",\"id\":7}", "7"},
    {"zero", "{\"op\":\"ping\",\"id\":0}", "0"},
    {"negative", "{\"op\":\"ping\",\"id\":-3}", "-3"},
    {"beyond 32 bits", "{\"op\":\"ping\",\"id\":12345678901}", "12345678901"},
    {"2^53 - 1", "{\"op\":\"ping\",\"id\":9007199254740991}", "9007199254740991"},
    {"fraction", "{\"op\":\"ping\",\"id\":1.5}", "1.5"},
    {"exponent form of an integer", "{\"op\":\"ping\",\"id\":1e3}", "1000"},
    {"string", "{\"op\":\"ping\",\"id\":\"abc\"}", "\"abc\""},
    {"empty string", "{\"op\":\"ping\",\"id\":\"\"}", "\"\""},
    {"string with quote and backslash", "{\"op\":\"ping\",\"id\":\"a\\\"b\\\\c\"}",
     "\"a\\\"b\\\\c\""},
    {"string with an escaped control", "{\"op\":\"ping\",\"id\":\"\\u0001\\n\"}", "\"\\u0001\\n\""},
    {"string with UTF-8", "{\"op\":\"ping\",\"id\":\"r\xc3\xa9q-\xe2\x82\xac\"}",
     "\"r\xc3\xa9q-\xe2\x82\xac\""},
    {"string from a \\u escape", "{\"op\":\"ping\",\"id\":\"\\u00e9\"}", "\"\xc3\xa9\""},
    {"true", "{\"op\":\"ping\",\"id\":true}", "true"},
    {"false", "{\"op\":\"ping\",\"id\":false}", "false"},
    {"null", "{\"op\":\"ping\",\"id\":null}", "null"},
    {"id before op", "{\"id\":\"first\",\"op\":\"ping\"}", "\"first\""},
    {"object", "{\"op\":\"ping\",\"id\":{\"a\":1}}", NULL},
    {"array", "{\"op\":\"ping\",\"id\":[]}", NULL},
};

START_TEST(test_id)
{
	const struct id_case *c = &id_cases[_i];
	struct proto_req *r = parse_ok(c->line);
	const char *id = proto_req_id(r);

	if (c->id == NULL)
		ck_assert_msg(id == NULL, "%s: id '%s'", c->what, id);
	else
		ck_assert_msg(id != NULL && strcmp(id, c->id) == 0, "%s: id '%s', expected '%s'",
		              c->what, id ? id : "(null)", c->id);
	proto_req_free(r);
}
END_TEST

/* A numeric id reads back as the same number, whatever its form. */
static const char *const id_numbers[] = {
    "3.141592653589793",  "0.1",    "1234567.25", "-2.5e-10", "1e300",
    "123456789012345678", "1e-300", "-0.5",       "4.35",     "9007199254740993",
};

START_TEST(test_id_number_roundtrip)
{
	char line[128];
	struct proto_req *r;
	const char *id;

	snprintf(line, sizeof(line), "{\"op\":\"ping\",\"id\":%s}", id_numbers[_i]);
	r = parse_ok(line);
	id = proto_req_id(r);
	ck_assert_ptr_nonnull(id);
	ck_assert_msg(strtod(id, NULL) == strtod(id_numbers[_i], NULL), "id %s echoed as %s",
	              id_numbers[_i], id);
	proto_req_free(r);
}
END_TEST

/* ---- typed getters ------------------------------------------------------------------------ */

enum getter { G_STR, G_INT, G_NUM, G_BOOL, G_TS };

struct getter_case {
	const char *what;
	const char *line; /* the field is "f" (or "ts" for G_TS) */
	enum getter kind;
	int required;
	size_t maxlen;
	int64_t imin, imax;
	double dmin, dmax;
	int rc;
	const char *sval;
	int64_t ival; /* also bool, and ts */
	double dval;
	enum proto_error err;
	const char *msg;
};

#define NOW 1700000000

/*
 * Shorthands: *_OK reads a value (required), *_ABSENT gives rc 0 (optional), *_ERR fails with
 * rc -1 (required). Strings, integers and numbers take their limits.
 */
/* clang-format off */
#define S_OK(w, l, max, v) \
	{.what = w, .line = l, .kind = G_STR, .required = 1, .maxlen = max, .rc = 1, .sval = v}
#define S_ABSENT(w, l) \
	{.what = w, .line = l, .kind = G_STR, .maxlen = 10, .rc = 0}
#define S_ERR(w, l, max, e, m) \
	{.what = w, .line = l, .kind = G_STR, .required = 1, .maxlen = max, .rc = -1, .err = e, \
	 .msg = m}
#define I_OK(w, l, lo, hi, v) \
	{.what = w, .line = l, .kind = G_INT, .required = 1, .imin = lo, .imax = hi, .rc = 1, \
	 .ival = v}
#define I_ABSENT(w, l) \
	{.what = w, .line = l, .kind = G_INT, .imin = 0, .imax = 10, .rc = 0}
#define I_ERR(w, l, lo, hi, e, m) \
	{.what = w, .line = l, .kind = G_INT, .required = 1, .imin = lo, .imax = hi, .rc = -1, \
	 .err = e, .msg = m}
#define N_OK(w, l, lo, hi, v) \
	{.what = w, .line = l, .kind = G_NUM, .required = 1, .dmin = lo, .dmax = hi, .rc = 1, \
	 .dval = v}
#define N_ABSENT(w, l) \
	{.what = w, .line = l, .kind = G_NUM, .dmin = 0, .dmax = 10, .rc = 0}
#define N_ERR(w, l, lo, hi, e, m) \
	{.what = w, .line = l, .kind = G_NUM, .required = 1, .dmin = lo, .dmax = hi, .rc = -1, \
	 .err = e, .msg = m}
#define B_OK(w, l, v) \
	{.what = w, .line = l, .kind = G_BOOL, .required = 1, .rc = 1, .ival = v}
#define B_ABSENT(w, l) \
	{.what = w, .line = l, .kind = G_BOOL, .rc = 0}
#define B_ERR(w, l, e, m) \
	{.what = w, .line = l, .kind = G_BOOL, .required = 1, .rc = -1, .err = e, .msg = m}
#define TS_OK(w, l, v) \
	{.what = w, .line = l, .kind = G_TS, .rc = 1, .ival = v}
#define TS_NOW(w, l) \
	{.what = w, .line = l, .kind = G_TS, .rc = 0, .ival = NOW}
#define TS_ERR(w, l) \
	{.what = w, .line = l, .kind = G_TS, .rc = -1, .err = PROTO_BAD_FIELD, \
	 .msg = "field 'ts' must be a number from 0 to 2.53402e+11"}
/* clang-format on */

#define MSG_0_10 "field 'f' must be an integer from 0 to 10"
#define MSG_I64  "field 'f' must be an integer from -9223372036854775808 to 9223372036854775807"

static const struct getter_case getter_cases[] = {
    /* strings */
    S_OK("string", "{\"f\":\"abc\"}", 10, "abc"),
    S_OK("empty string", "{\"f\":\"\"}", 10, ""),
    S_OK("string at maxlen", "{\"f\":\"abc\"}", 3, "abc"),
    S_OK("escapes decoded", "{\"f\":\"a\\\"b\\\\c\\u00e9\\n\"}", 20, "a\"b\\c\xc3\xa9\n"),
    S_OK("SQL metacharacters verbatim", "{\"f\":\"'; DROP TABLE flags;--\"}", 100,
         "'; DROP TABLE flags;--"),
    S_OK("a NUL elsewhere spares this field", "{\"f\":\"ok\",\"g\":\"\\u0000\"}", 10, "ok"),
    S_OK("escaped backslash then u0000 text", "{\"f\":\"\\\\u0000\"}", 10, "\\u0000"),
    S_ABSENT("absent optional string", "{}"),
    S_ABSENT("null optional string", "{\"f\":null}"),
    S_ERR("string over maxlen", "{\"f\":\"abcd\"}", 3, PROTO_BAD_FIELD,
          "field 'f' is longer than 3 bytes"),
    S_ERR("maxlen counts bytes", "{\"f\":\"\\u00e9\"}", 1, PROTO_BAD_FIELD,
          "field 'f' is longer than 1 bytes"),
    S_ERR("absent required string", "{\"g\":\"x\"}", 10, PROTO_MISSING_FIELD, "missing field 'f'"),
    S_ERR("null required string", "{\"f\":null}", 10, PROTO_MISSING_FIELD, "missing field 'f'"),
    S_ERR("key is case-sensitive", "{\"F\":\"x\"}", 10, PROTO_MISSING_FIELD, "missing field 'f'"),
    S_ERR("number for a string", "{\"f\":5}", 10, PROTO_BAD_FIELD, "field 'f' must be a string"),
    S_ERR("bool for a string", "{\"f\":true}", 10, PROTO_BAD_FIELD, "field 'f' must be a string"),
    S_ERR("array for a string", "{\"f\":[\"a\"]}", 10, PROTO_BAD_FIELD,
          "field 'f' must be a string"),
    S_ERR("string holding a NUL", "{\"f\":\"a\\u0000b\"}", 10, PROTO_BAD_FIELD,
          "field 'f' holds a NUL character"),
    S_ERR("string that is only a NUL", "{\"f\":\"\\u0000\"}", 10, PROTO_BAD_FIELD,
          "field 'f' holds a NUL character"),
    S_ERR("escaped backslash then a NUL", "{\"f\":\"\\\\\\u0000\"}", 10, PROTO_BAD_FIELD,
          "field 'f' holds a NUL character"),

    /* integers */
    I_OK("integer", "{\"f\":5}", 0, 10, 5),
    I_OK("integer at min", "{\"f\":0}", 0, 10, 0),
    I_OK("integer at max", "{\"f\":10}", 0, 10, 10),
    I_OK("integral float", "{\"f\":2.0}", 0, 10, 2),
    I_OK("exponent form", "{\"f\":1e2}", 0, 1000, 100),
    I_OK("negative zero", "{\"f\":-0}", 0, 10, 0),
    I_OK("negative range", "{\"f\":-5}", -10, -1, -5),
    I_OK("2^53 - 1", "{\"f\":9007199254740991}", 1, INT64_C(9007199254740991),
         INT64_C(9007199254740991)),
    I_ABSENT("absent optional integer", "{}"),
    I_ABSENT("null optional integer", "{\"f\":null}"),
    I_ERR("absent required integer", "{}", 0, 10, PROTO_MISSING_FIELD, "missing field 'f'"),
    I_ERR("integer over max", "{\"f\":11}", 0, 10, PROTO_BAD_FIELD, MSG_0_10),
    I_ERR("integer under min", "{\"f\":-1}", 0, 10, PROTO_BAD_FIELD, MSG_0_10),
    I_ERR("fraction", "{\"f\":1.5}", 0, 10, PROTO_BAD_FIELD, MSG_0_10),
    I_ERR("string for an integer", "{\"f\":\"5\"}", 0, 10, PROTO_BAD_FIELD, MSG_0_10),
    I_ERR("bool for an integer", "{\"f\":true}", 0, 10, PROTO_BAD_FIELD, MSG_0_10),
    I_ERR("overflowing number", "{\"f\":1e999}", 0, 10, PROTO_BAD_FIELD, MSG_0_10),
    I_ERR("2^53 + 2 past a 2^53 - 1 bound", "{\"f\":9007199254740994}", 1,
          INT64_C(9007199254740991), PROTO_BAD_FIELD,
          "field 'f' must be an integer from 1 to 9007199254740991"),
    I_ERR("2^63 is out of int64 range", "{\"f\":9223372036854775808}", INT64_MIN, INT64_MAX,
          PROTO_BAD_FIELD, MSG_I64),
    I_ERR("1e19 is out of int64 range", "{\"f\":1e19}", INT64_MIN, INT64_MAX, PROTO_BAD_FIELD,
          MSG_I64),

    /* numbers */
    N_OK("number", "{\"f\":2.5}", 0, 10, 2.5),
    N_OK("integer as a number", "{\"f\":7}", 0, 10, 7),
    N_OK("number at the small min", "{\"f\":1e-6}", 1e-6, 36500, 1e-6),
    N_ABSENT("absent optional number", "{}"),
    N_ERR("absent required number", "{}", 0, 10, PROTO_MISSING_FIELD, "missing field 'f'"),
    N_ERR("number under the small min", "{\"f\":0}", 1e-6, 36500, PROTO_BAD_FIELD,
          "field 'f' must be a number from 1e-06 to 36500"),
    N_ERR("number over max", "{\"f\":10.5}", 0, 10, PROTO_BAD_FIELD,
          "field 'f' must be a number from 0 to 10"),
    N_ERR("string for a number", "{\"f\":\"2.5\"}", 0, 10, PROTO_BAD_FIELD,
          "field 'f' must be a number from 0 to 10"),
    N_ERR("infinite number", "{\"f\":-1e999}", -INFINITY, INFINITY, PROTO_BAD_FIELD,
          "field 'f' must be a number from -inf to inf"),

    /* booleans */
    B_OK("true", "{\"f\":true}", 1),
    B_OK("false", "{\"f\":false}", 0),
    B_ABSENT("null optional bool", "{\"f\":null}"),
    B_ERR("absent required bool", "{}", PROTO_MISSING_FIELD, "missing field 'f'"),
    B_ERR("1 for a bool", "{\"f\":1}", PROTO_BAD_FIELD, "field 'f' must be true or false"),
    B_ERR("string for a bool", "{\"f\":\"true\"}", PROTO_BAD_FIELD,
          "field 'f' must be true or false"),

    /* ts */
    TS_NOW("ts absent is now", "{}"),
    TS_NOW("ts null is now", "{\"ts\":null}"),
    TS_OK("ts given", "{\"ts\":1600000000}", 1600000000),
    TS_OK("ts fraction truncated", "{\"ts\":1600000000.9}", 1600000000),
    TS_OK("ts zero", "{\"ts\":0}", 0),
    TS_OK("ts at the end of 9999", "{\"ts\":253402300799}", PROTO_TIME_MAX),
    TS_ERR("ts past 9999", "{\"ts\":253402300800}"),
    TS_ERR("ts negative", "{\"ts\":-1}"),
    TS_ERR("ts as a string", "{\"ts\":\"1600000000\"}"),
    TS_ERR("ts huge", "{\"ts\":1e300}"),
};

START_TEST(test_getter)
{
	const struct getter_case *c = &getter_cases[_i];
	struct proto_req *r = parse_ok(c->line);
	const char *sentinel = "untouched", *s = sentinel;
	int64_t i = -424242;
	double d = -424242.0;
	int b = -42, rc = -99;

	switch (c->kind) {
	case G_STR:
		rc = proto_str(r, "f", c->required, c->maxlen, &s);
		break;
	case G_INT:
		rc = proto_int(r, "f", c->required, c->imin, c->imax, &i);
		break;
	case G_NUM:
		rc = proto_num(r, "f", c->required, c->dmin, c->dmax, &d);
		break;
	case G_BOOL:
		rc = proto_bool(r, "f", c->required, &b);
		break;
	case G_TS:
		rc = proto_ts(r, NOW, &i);
		break;
	}
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d", c->what, rc, c->rc);
	assert_req_error(r, c->what, c->rc == -1 ? c->err : PROTO_OK, c->rc == -1 ? c->msg : NULL);
	if (c->rc == 1 || c->kind == G_TS) {
		switch (c->kind) {
		case G_STR:
			ck_assert_msg(strcmp(s, c->sval) == 0, "%s: '%s'", c->what, s);
			break;
		case G_INT:
		case G_TS:
			if (c->rc != -1)
				ck_assert_msg(i == c->ival, "%s: %lld, expected %lld", c->what,
				              (long long)i, (long long)c->ival);
			break;
		case G_NUM:
			ck_assert_msg(d == c->dval, "%s: %g", c->what, d);
			break;
		case G_BOOL:
			ck_assert_int_eq(b, (int)c->ival);
			break;
		}
	} else {
		/* Absent or failed: the output is not touched. */
		ck_assert_ptr_eq(s, sentinel);
		ck_assert_int_eq(i, -424242);
		ck_assert(d == -424242.0);
		ck_assert_int_eq(b, -42);
	}
	proto_req_free(r);
}
END_TEST

struct array_case {
	const char *what;
	const char *line;
	int required;
	int rc;
	size_t n;
	const char *joined; /* the strings joined with '|' */
	enum proto_error err;
	const char *msg;
};

static const struct array_case array_cases[] = {
    {"two strings", "{\"f\":[\"alert\",\"flag\"]}", 1, 1, 2, "alert|flag", PROTO_OK, NULL},
    {"empty array", "{\"f\":[]}", 1, 1, 0, "", PROTO_OK, NULL},
    {"at maxn", "{\"f\":[\"a\",\"b\",\"c\"]}", 1, 1, 3, "a|b|c", PROTO_OK, NULL},
    {"absent optional", "{}", 0, 0, 0, NULL, PROTO_OK, NULL},
    {"absent required", "{}", 1, -1, 0, NULL, PROTO_MISSING_FIELD, "missing field 'f'"},
    {"not an array", "{\"f\":\"alert\"}", 1, -1, 0, NULL, PROTO_BAD_FIELD,
     "field 'f' must be an array of strings"},
    {"object", "{\"f\":{\"a\":\"b\"}}", 1, -1, 0, NULL, PROTO_BAD_FIELD,
     "field 'f' must be an array of strings"},
    {"over maxn", "{\"f\":[\"a\",\"b\",\"c\",\"d\"]}", 1, -1, 0, NULL, PROTO_BAD_FIELD,
     "field 'f' has more than 3 entries"},
    {"a number inside", "{\"f\":[\"a\",1]}", 1, -1, 0, NULL, PROTO_BAD_FIELD,
     "field 'f' must hold strings of at most 8 bytes"},
    {"a null inside", "{\"f\":[null]}", 1, -1, 0, NULL, PROTO_BAD_FIELD,
     "field 'f' must hold strings of at most 8 bytes"},
    {"a long string inside", "{\"f\":[\"123456789\"]}", 1, -1, 0, NULL, PROTO_BAD_FIELD,
     "field 'f' must hold strings of at most 8 bytes"},
    {"a NUL inside", "{\"f\":[\"a\\u0000\"]}", 1, -1, 0, NULL, PROTO_BAD_FIELD, NULL},
};

START_TEST(test_str_array)
{
	const struct array_case *c = &array_cases[_i];
	struct proto_req *r = parse_ok(c->line);
	const char **v = NULL;
	size_t n = 99, k;
	int rc = proto_str_array(r, "f", c->required, 3, 8, &v, &n);

	ck_assert_msg(rc == c->rc, "%s: rc %d", c->what, rc);
	assert_req_error(r, c->what, c->err, c->msg);
	if (rc == 1) {
		char joined[64] = "";

		ck_assert_uint_eq(n, c->n);
		for (k = 0; k < n; k++) {
			if (k > 0)
				strcat(joined, "|");
			strcat(joined, v[k]);
		}
		ck_assert_str_eq(joined, c->joined);
		ck_assert_ptr_null(v[n]);
		free(v);
	} else {
		ck_assert_ptr_null(v);
		ck_assert_uint_eq(n, 99);
	}
	proto_req_free(r);
}
END_TEST

/* The first error wins; later failures return -1 without replacing it. */
START_TEST(test_first_error_wins)
{
	struct proto_req *r = parse_ok("{\"b\":\"x\",\"c\":1}");
	const char *s;
	int64_t i;

	ck_assert_int_eq(proto_str(r, "a", PROTO_REQUIRED, 10, &s), -1);
	ck_assert_int_eq(proto_int(r, "b", PROTO_REQUIRED, 0, 10, &i), -1);
	ck_assert_int_eq(proto_req_fail(r, PROTO_CONFLICT, "later %d", 1), -1);
	assert_req_error(r, "first error", PROTO_MISSING_FIELD, "missing field 'a'");
	/* A valid field still reads after an error. */
	ck_assert_int_eq(proto_int(r, "c", PROTO_REQUIRED, 0, 10, &i), 1);
	ck_assert_int_eq(i, 1);
	proto_req_free(r);

	r = parse_ok("{}");
	ck_assert_int_eq(proto_req_fail(r, PROTO_NOT_FOUND, "flag %lld not found", 12LL), -1);
	assert_req_error(r, "formatted", PROTO_NOT_FOUND, "flag 12 not found");
	proto_req_free(r);
}
END_TEST

/* ---- peeks -------------------------------------------------------------------------------- */

START_TEST(test_peek)
{
	static const struct {
		const char *line;
		const char *str; /* peek_str of "f" */
		int has_num;
		double num; /* peek_num of "f" */
	} cases[] = {
	    {"{\"f\":\"abc\"}", "abc", 0, 0}, {"{\"f\":\"\"}", "", 0, 0},
	    {"{\"f\":12.5}", NULL, 1, 12.5},  {"{\"f\":-3}", NULL, 1, -3},
	    {"{\"f\":1e999}", NULL, 0, 0},    {"{\"f\":true}", NULL, 0, 0},
	    {"{\"f\":null}", NULL, 0, 0},     {"{\"f\":[\"a\"]}", NULL, 0, 0},
	    {"{\"f\":{}}", NULL, 0, 0},       {"{\"g\":\"abc\"}", NULL, 0, 0},
	    {"{\"F\":\"abc\"}", NULL, 0, 0},
	};
	size_t k;

	for (k = 0; k < ARRAY_LEN(cases); k++) {
		struct proto_req *r = parse_ok(cases[k].line);
		const char *s = proto_peek_str(r, "f");
		double d = -1;
		int has = proto_peek_num(r, "f", &d);

		if (cases[k].str == NULL)
			ck_assert_msg(s == NULL, "%s: peek_str '%s'", cases[k].line, s);
		else
			ck_assert_msg(s != NULL && strcmp(s, cases[k].str) == 0, "%s: peek_str",
			              cases[k].line);
		ck_assert_msg(has == cases[k].has_num, "%s: peek_num %d", cases[k].line, has);
		if (has)
			ck_assert(d == cases[k].num);
		else
			ck_assert(d == -1);
		/* Peeks record nothing. */
		assert_req_error(r, cases[k].line, PROTO_OK, NULL);
		proto_req_free(r);
	}
}
END_TEST

/* ---- proto_check_fields ------------------------------------------------------------------- */

static const char *const allowed_offered[] = {"call_id", "caller", "dialed", NULL};
static const char *const allowed_none[] = {NULL};

struct fields_case {
	const char *what;
	const char *line;
	const char *const *allowed;
	const char *msg; /* NULL: accepted */
};

static const struct fields_case fields_cases[] = {
    {"only allowed fields", "{\"op\":\"x\",\"call_id\":\"c\",\"caller\":\"1\",\"dialed\":\"2\"}",
     allowed_offered, NULL},
    {"op, id and ts always allowed", "{\"op\":\"x\",\"id\":1,\"ts\":5}", allowed_offered, NULL},
    {"empty allow list, common fields", "{\"op\":\"ping\",\"id\":\"a\",\"ts\":1}", allowed_none,
     NULL},
    {"empty object", "{}", allowed_none, NULL},
    {"unknown field", "{\"op\":\"x\",\"call_id\":\"c\",\"bogus\":1}", allowed_offered,
     "unknown field 'bogus'"},
    {"empty allow list", "{\"op\":\"ping\",\"caller\":\"1\"}", allowed_none,
     "unknown field 'caller'"},
    {"names are case-sensitive", "{\"op\":\"x\",\"Caller\":\"1\"}", allowed_offered,
     "unknown field 'Caller'"},
    {"empty name", "{\"op\":\"x\",\"\":1}", allowed_offered, "unknown field ''"},
    {"first unknown is named", "{\"a\":1,\"b\":2}", allowed_offered, "unknown field 'a'"},
    {"control characters hidden", "{\"\\u0001x\\n\":1}", allowed_offered, "unknown field '?x?'"},
    {"long name clipped",
     "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aa"
     "aaaaaaaaaaaaaaaa\":1}",
     allowed_offered,
     "unknown field 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"},
};

START_TEST(test_check_fields)
{
	const struct fields_case *c = &fields_cases[_i];
	struct proto_req *r = parse_ok(c->line);
	int rc = proto_check_fields(r, c->allowed);

	ck_assert_msg(rc == (c->msg ? -1 : 0), "%s: rc %d", c->what, rc);
	assert_req_error(r, c->what, c->msg ? PROTO_BAD_FIELD : PROTO_OK, c->msg);
	proto_req_free(r);
}
END_TEST

/*
 * The message naming an unknown field goes back to the client inside a JSON string, so clipping
 * a long name must not cut a UTF-8 sequence in half.
 */
START_TEST(test_check_fields_utf8_clip)
{
	char line[256], name[128];
	struct proto_req *r;
	const char *msg;
	size_t pad;

	for (pad = 55; pad <= 66; pad++) {
		memset(name, 'a', pad);
		memcpy(name + pad, "\xe2\x82\xac\xc3\xa9\xf0\x9f\x98\x80", 9);
		name[pad + 9] = '\0';
		snprintf(line, sizeof(line), "{\"%s\":1}", name);
		r = parse_ok(line);
		ck_assert_int_eq(proto_check_fields(r, allowed_none), -1);
		ck_assert_int_eq(proto_req_error(r, &msg), PROTO_BAD_FIELD);
		ck_assert_msg(valid_utf8(msg, strlen(msg)),
		              "clipping a %zu+9 byte name leaves invalid UTF-8: %s", pad, msg);
		proto_req_free(r);
	}
}
END_TEST

/* ---- replies ------------------------------------------------------------------------------ */

START_TEST(test_error_names)
{
	static const struct {
		enum proto_error e;
		const char *name;
	} names[] = {
	    {PROTO_OK, "ok"},
	    {PROTO_BAD_JSON, "bad_json"},
	    {PROTO_LINE_TOO_LONG, "line_too_long"},
	    {PROTO_UNKNOWN_OP, "unknown_op"},
	    {PROTO_MISSING_FIELD, "missing_field"},
	    {PROTO_BAD_FIELD, "bad_field"},
	    {PROTO_NOT_FOUND, "not_found"},
	    {PROTO_UNAUTHORIZED, "unauthorized"},
	    {PROTO_FORBIDDEN, "forbidden"},
	    {PROTO_CONFLICT, "conflict"},
	    {PROTO_UNAVAILABLE, "unavailable"},
	    {PROTO_INTERNAL, "internal"},
	    {(enum proto_error)999, "internal"},
	};
	size_t k;

	for (k = 0; k < ARRAY_LEN(names); k++)
		ck_assert_str_eq(proto_error_name(names[k].e), names[k].name);
}
END_TEST

static void
reply_ok_plain(struct jbuf *jb)
{
	proto_reply_ok(jb, NULL);
	proto_reply_end(jb);
}

static void
reply_ok_id(struct jbuf *jb)
{
	proto_reply_ok(jb, "7");
	jb_kstr(jb, "version", "0.1.0");
	jb_kstr(jb, "policy", "v1");
	proto_reply_end(jb);
}

static void
reply_ok_string_id_nested(struct jbuf *jb)
{
	proto_reply_ok(jb, "\"r-1\"");
	jb_key(jb, "flag");
	jb_obj_begin(jb);
	jb_kint(jb, "id", 12);
	jb_knull(jb, "expires_at");
	jb_obj_end(jb);
	jb_key(jb, "flags");
	jb_arr_begin(jb);
	jb_arr_end(jb);
	proto_reply_end(jb);
}

static void
reply_error_id(struct jbuf *jb)
{
	proto_reply_error(jb, "7", PROTO_BAD_JSON, "line is not valid JSON");
}

static void
reply_error_no_id(struct jbuf *jb)
{
	proto_reply_error(jb, NULL, PROTO_LINE_TOO_LONG, "line longer than 65536 bytes");
}

static void
reply_error_escaped(struct jbuf *jb)
{
	proto_reply_error(jb, "null", PROTO_BAD_FIELD, "field 'x\"y' is \\bad\n");
}

static void
reply_error_more_fields(struct jbuf *jb)
{
	proto_reply_error_begin(jb, "3", PROTO_BAD_FIELD, "p.conf:2: unknown key");
	jb_key(jb, "errors");
	jb_arr_begin(jb);
	jb_str(jb, "p.conf:2: unknown key");
	jb_arr_end(jb);
	proto_reply_end(jb);
}

static void
reply_pipelined(struct jbuf *jb)
{
	proto_reply_ok(jb, "1");
	proto_reply_end(jb);
	proto_reply_error(jb, "2", PROTO_UNKNOWN_OP, "unknown op 'nope'");
	proto_reply_ok(jb, "true");
	jb_kint(jb, "n", 3);
	proto_reply_end(jb);
}

struct reply_case {
	const char *what;
	void (*build)(struct jbuf *);
	const char *expected;
};

static const struct reply_case reply_cases[] = {
    {"ok without id", reply_ok_plain, "{\"ok\":true}\n"},
    {"ok with id and fields", reply_ok_id,
     "{\"id\":7,\"ok\":true,\"version\":\"0.1.0\",\"policy\":\"v1\"}\n"},
    {"ok with string id and nested values", reply_ok_string_id_nested,
     "{\"id\":\"r-1\",\"ok\":true,\"flag\":{\"id\":12,\"expires_at\":null},\"flags\":[]}\n"},
    {"error with id", reply_error_id,
     "{\"id\":7,\"ok\":false,\"error\":{\"code\":\"bad_json\",\"message\":\"line is not valid "
     "JSON\"}}\n"},
    {"error without id", reply_error_no_id,
     "{\"ok\":false,\"error\":{\"code\":\"line_too_long\",\"message\":\"line longer than 65536 "
     "bytes\"}}\n"},
    {"error message escaped", reply_error_escaped,
     "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_field\",\"message\":\"field 'x\\\"y' "
     "is \\\\bad\\n\"}}\n"},
    {"error with more fields", reply_error_more_fields,
     "{\"id\":3,\"ok\":false,\"error\":{\"code\":\"bad_field\",\"message\":\"p.conf:2: "
     "unknown key\"},\"errors\":[\"p.conf:2: unknown key\"]}\n"},
    {"pipelined replies in one buffer", reply_pipelined,
     "{\"id\":1,\"ok\":true}\n"
     "{\"id\":2,\"ok\":false,\"error\":{\"code\":\"unknown_op\",\"message\":\"unknown op "
     "'nope'\"}}\n"
     "{\"id\":true,\"ok\":true,\"n\":3}\n"},
};

START_TEST(test_reply)
{
	const struct reply_case *c = &reply_cases[_i];
	struct jbuf jb;

	jb_init(&jb);
	c->build(&jb);
	ck_assert(!jb.oom);
	ck_assert_msg(strcmp(jb.data, c->expected) == 0, "%s:\n got %s\nwant %s", c->what, jb.data,
	              c->expected);
	jb_free(&jb);
}
END_TEST

/* From a request line to its error reply line, as the daemon does it. */
struct e2e_case {
	const char *line;
	const char *reply;
};

static const struct e2e_case e2e_cases[] = {
    {"{\"op\":\"flag.add\",\"id\":\"r-1\"}",
     "{\"id\":\"r-1\",\"ok\":false,\"error\":{\"code\":\"missing_field\",\"message\":\"missing "
     "field 'caller'\"}}\n"},
    {"{\"op\":\"flag.add\",\"id\":42,\"caller\":7}",
     "{\"id\":42,\"ok\":false,\"error\":{\"code\":\"bad_field\",\"message\":\"field 'caller' "
     "must be a string\"}}\n"},
    {"{\"op\":\"flag.add\",\"id\":null,\"caller\":\"a\\u0000\"}",
     "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad_field\",\"message\":\"field "
     "'caller' holds a NUL character\"}}\n"},
    {"{\"id\":[1],\"op\":\"flag.add\"}",
     "{\"ok\":false,\"error\":{\"code\":\"bad_field\",\"message\":\"field 'id' must be a JSON "
     "scalar\"}}\n"},
};

START_TEST(test_request_to_reply)
{
	const struct e2e_case *c = &e2e_cases[_i];
	struct proto_req *r = parse_ok(c->line);
	const char *caller = NULL, *msg;
	enum proto_error e;
	struct jbuf jb;

	if (proto_req_op(r) != NULL)
		ck_assert_int_eq(proto_str(r, "caller", PROTO_REQUIRED, 64, &caller), -1);
	e = proto_req_error(r, &msg);
	jb_init(&jb);
	proto_reply_error(&jb, proto_req_id(r), e, msg);
	ck_assert_str_eq(jb.data, c->reply);
	jb_free(&jb);
	proto_req_free(r);
}
END_TEST

/* A request built field by field reads like a parsed one; a field given twice is refused. */
START_TEST(test_built_request)
{
	struct proto_req *r = proto_req_new(), *body = parse_ok("{\"by\":\"sup-3\"}");
	const char *op = NULL, *by = NULL, *msg;
	int64_t flag_id = 0, id = 0;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(proto_req_id(r));
	ck_assert_int_eq(proto_req_add_str(r, "op", "flag.revoke"), 0);
	ck_assert_int_eq(proto_req_add_num(r, "flag_id", 12), 0);
	ck_assert_int_eq(proto_req_add_num(r, "id", 7), 0);
	ck_assert_str_eq(proto_req_op(r), "flag.revoke");
	ck_assert_str_eq(proto_req_id(r), "7");
	ck_assert_int_eq(proto_int(r, "flag_id", PROTO_REQUIRED, 1, 100, &flag_id), 1);
	ck_assert_int_eq(flag_id, 12);
	ck_assert_int_eq(proto_int(r, "id", PROTO_REQUIRED, 1, 100, &id), 1);
	ck_assert_int_eq(proto_req_error(r, NULL), PROTO_OK);
	ck_assert_int_eq(proto_req_add_str(r, "flag_id", "13"), -1);
	ck_assert_int_eq(proto_req_error(r, &msg), PROTO_BAD_FIELD);
	ck_assert_str_eq(msg, "field 'flag_id' is given twice");
	proto_req_free(r);

	/* Fields added to a parsed body. */
	ck_assert_int_eq(proto_req_add_str(body, "op", "flag.revoke"), 0);
	op = proto_req_op(body);
	ck_assert_str_eq(op, "flag.revoke");
	ck_assert_int_eq(proto_str(body, "by", PROTO_REQUIRED, 64, &by), 1);
	ck_assert_str_eq(by, "sup-3");
	ck_assert_int_eq(proto_req_add_str(body, "by", "sup-4"), -1);
	proto_req_free(body);
}
END_TEST

static const struct {
	const char *line;
	enum proto_error code;
} reply_code_cases[] = {
    {"{\"ok\":true}\n", PROTO_OK},
    {"{\"ok\":true,\"error\":{\"code\":\"conflict\"}}\n", PROTO_OK},
    {"{\"ok\":false,\"error\":{\"code\":\"bad_field\",\"message\":\"x\"}}\n", PROTO_BAD_FIELD},
    {"{\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":\"x\"}}\n", PROTO_NOT_FOUND},
    {"{\"ok\":false,\"error\":{\"code\":\"unavailable\",\"message\":\"x\"}}\n", PROTO_UNAVAILABLE},
    /* "bad_json" is not "bad_field" cut short, nor the other way round. */
    {"{\"ok\":false,\"error\":{\"code\":\"bad_json\",\"message\":\"x\"}}\n", PROTO_BAD_JSON},
    {"{\"ok\":false,\"error\":{\"code\":\"bad_f\"", PROTO_INTERNAL},
    {"{\"ok\":false,\"error\":{\"code\":\"who_knows\"}}", PROTO_INTERNAL},
    {"", PROTO_OK},
    {"{\"id\":2,\"ok\":false,\"error\":{\"code\":\"conflict\",\"message\":\"x\"}}\n",
     PROTO_CONFLICT},
    {"{\"id\":\"a\\\",\\\"ok\\\":true\",\"ok\":false,\"error\":{\"code\":\"not_found\"}}\n",
     PROTO_NOT_FOUND},
    {"{\"id\":null,\"ok\":true}\n", PROTO_OK},
    {"{\"id\":\"unterminated", PROTO_OK},
    {"{\"id\":7", PROTO_OK},
};

START_TEST(test_reply_code)
{
	struct jbuf jb;
	enum proto_error e;

	ck_assert_int_eq(
	    proto_reply_code(reply_code_cases[_i].line, strlen(reply_code_cases[_i].line)),
	    reply_code_cases[_i].code);
	/* Every code reads back from the reply proto_reply_error writes, with or without an id. */
	for (e = PROTO_BAD_JSON; e <= PROTO_INTERNAL; e++) {
		jb_init(&jb);
		proto_reply_error(&jb, NULL, e, "m");
		ck_assert_int_eq(proto_reply_code(jb.data, jb.len), e);
		jb_reset(&jb);
		proto_reply_error(&jb, "\"x\\\"y\"", e, "m");
		ck_assert_int_eq(proto_reply_code(jb.data, jb.len), e);
		jb_free(&jb);
	}
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse, 0, (int)ARRAY_LEN(parse_cases));
	tcase_add_loop_test(tc, test_parse_word_offsets, 0, (int)ARRAY_LEN(word_cases));
	tcase_add_test(tc, test_parse_deep);
	tcase_add_test(tc, test_parse_small_msg);
	tcase_add_test(tc, test_parse_big_line);
	tcase_add_test(tc, test_parse_many_fields);
	tcase_add_test(tc, test_call_event_fits_the_request);
	tcase_add_test(tc, test_add_to_parsed);
	suite_add_tcase(s, tc);

	tc = tcase_create("op_and_id");
	tcase_add_loop_test(tc, test_op, 0, (int)ARRAY_LEN(op_cases));
	tcase_add_loop_test(tc, test_id, 0, (int)ARRAY_LEN(id_cases));
	tcase_add_loop_test(tc, test_id_number_roundtrip, 0, (int)ARRAY_LEN(id_numbers));
	suite_add_tcase(s, tc);

	tc = tcase_create("getters");
	tcase_add_loop_test(tc, test_getter, 0, (int)ARRAY_LEN(getter_cases));
	tcase_add_loop_test(tc, test_str_array, 0, (int)ARRAY_LEN(array_cases));
	tcase_add_test(tc, test_first_error_wins);
	tcase_add_test(tc, test_peek);
	tcase_add_loop_test(tc, test_check_fields, 0, (int)ARRAY_LEN(fields_cases));
	tcase_add_test(tc, test_check_fields_utf8_clip);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_test(tc, test_error_names);
	tcase_add_loop_test(tc, test_reply, 0, (int)ARRAY_LEN(reply_cases));
	tcase_add_loop_test(tc, test_request_to_reply, 0, (int)ARRAY_LEN(e2e_cases));
	tcase_add_test(tc, test_built_request);
	tcase_add_loop_test(tc, test_reply_code, 0, (int)ARRAY_LEN(reply_code_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int failed = 0, pass;

	/* Every case twice: cJSON on the heap, then (as in the daemon) in the request's arena. */
	for (pass = 0; pass < 2; pass++) {
		SRunner *sr = srunner_create(proto_suite());

		if (pass == 1) {
			proto_init();
			arena_pass = 1;
		}
		srunner_run_all(sr, CK_NORMAL);
		failed += srunner_ntests_failed(sr);
		srunner_free(sr);
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
