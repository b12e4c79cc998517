/* Unit tests for daemon settings (lib/settings.c): defaults, config files, overrides, HOST:PORT. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "settings.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One temporary directory for the whole run, made and removed by the unchecked fixture. */
static char tmpdir[] = "/tmp/check_settings.XXXXXX";

static void
tmpdir_setup(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void
tmpdir_teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* Writes text to a file named after the test case and returns its path (static buffer). */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* Expected values after a load; NULL strings and zero numbers mean "the default". */
struct expect {
	const char *listen, *unix_path, *db, *policy, *cc, *http;
	size_t max_line;
	int max_connections;
	int log_level; /* -1: default */
	int http_timeout;
	int calllog_backlog_max;
};

static void
assert_settings(const struct settings *st, const struct expect *x, const char *what)
{
	ck_assert_msg(strcmp(st->listen, x->listen ? x->listen : SETTINGS_DEFAULT_LISTEN) == 0,
	              "%s: listen '%s'", what, st->listen);
	ck_assert_msg(strcmp(st->unix_path, x->unix_path ? x->unix_path : SETTINGS_DEFAULT_UNIX) ==
	                  0,
	              "%s: unix '%s'", what, st->unix_path);
	ck_assert_msg(strcmp(st->db, x->db ? x->db : SETTINGS_DEFAULT_DB) == 0, "%s: db '%s'", what,
	              st->db);
	ck_assert_msg(strcmp(st->policy, x->policy ? x->policy : SETTINGS_DEFAULT_POLICY) == 0,
	              "%s: policy '%s'", what, st->policy);
	ck_assert_msg(strcmp(st->country_code, x->cc ? x->cc : "1") == 0, "%s: country_code '%s'",
	              what, st->country_code);
	ck_assert_msg(st->max_line == (x->max_line ? x->max_line : PROTO_DEFAULT_MAX_LINE),
	              "%s: max_line %zu", what, st->max_line);
	ck_assert_msg(st->max_connections == (x->max_connections ? x->max_connections : 4096),
	              "%s: max_connections %d", what, st->max_connections);
	ck_assert_msg(strcmp(st->http, x->http ? x->http : SETTINGS_DEFAULT_HTTP) == 0,
	              "%s: http '%s'", what, st->http);
	ck_assert_msg(st->http_timeout == (x->http_timeout ? x->http_timeout : 10),
	              "%s: http_timeout %d", what, st->http_timeout);
	ck_assert_msg(st->calllog_backlog_max == (x->calllog_backlog_max
	                                              ? x->calllog_backlog_max
	                                              : SETTINGS_DEFAULT_CALLLOG_BACKLOG_MAX),
	              "%s: calllog_backlog_max %d", what, st->calllog_backlog_max);
	ck_assert_msg((int)st->log_level == (x->log_level >= 0 ? x->log_level : LOG_LEVEL_INFO),
	              "%s: log_level %d", what, (int)st->log_level);
}

START_TEST(test_defaults)
{
	struct settings st;
	struct expect x = {.log_level = -1};

	ck_assert_int_eq(settings_defaults(&st), 0);
	assert_settings(&st, &x, "defaults");
	ck_assert_str_eq(st.listen, "127.0.0.1:7700");
	ck_assert_str_eq(st.unix_path, "var/callwarden.sock");
	ck_assert_str_eq(st.db, "var/callwarden.db");
	ck_assert_str_eq(st.policy, "config/policy.conf");
	ck_assert_str_eq(st.http, "127.0.0.1:7780");
	ck_assert_uint_eq(st.max_line, 65536);
	settings_free(&st);
	ck_assert_ptr_null(st.listen);
	settings_free(&st); /* a second free is harmless */
}
END_TEST

struct good_case {
	const char *what;
	const char *text;
	struct expect x;
};

static const struct good_case good_cases[] = {
    {"empty file", "", {.log_level = -1}},
    {"comments only", "# nothing here\n// nor here\n/* nor here */\n", {.log_level = -1}},
    {"every key",
     "# callwardend settings\n"
     "listen = \"0.0.0.0:7800\";\n"
     "unix = \"/run/callwarden/cw.sock\";\n"
     "db = \"/var/lib/callwarden/cw.db\";\n"
     "policy = \"/etc/callwarden/policy.conf\";\n"
     "country_code = \"44\";\n"
     "max_line = 131072;\n"
     "max_connections = 100;\n"
     "log_level = \"debug\";\n"
     "http = \"[::1]:8080\";\n"
     "http_timeout = 30;\n",
     {.listen = "0.0.0.0:7800",
      .http = "[::1]:8080",
      .http_timeout = 30,
      .unix_path = "/run/callwarden/cw.sock",
      .db = "/var/lib/callwarden/cw.db",
      .policy = "/etc/callwarden/policy.conf",
      .cc = "44",
      .max_line = 131072,
      .max_connections = 100,
      .log_level = LOG_LEVEL_DEBUG}},
    {"one key keeps the others", "db = \"other.db\";\n", {.db = "other.db", .log_level = -1}},
    {"colon and comma separators",
     "listen: \"[::1]:7700\", db: \"x.db\"\n",
     {.listen = "[::1]:7700", .db = "x.db", .log_level = -1}},
    {"no terminators",
     "listen = \"a:1\"\ndb = \"b.db\"\n",
     {.listen = "a:1", .db = "b.db", .log_level = -1}},
    {"empty listen disables TCP", "listen = \"\";\n", {.listen = "", .log_level = -1}},
    {"empty unix disables the socket", "unix = \"\";\n", {.unix_path = "", .log_level = -1}},
    {"empty http disables the HTTP API", "http = \"\";\n", {.http = "", .log_level = -1}},
    {"http_timeout minimum", "http_timeout = 1;\n", {.http_timeout = 1, .log_level = -1}},
    {"http_timeout maximum", "http_timeout = 3600;\n", {.http_timeout = 3600, .log_level = -1}},
    {"calllog_backlog_max minimum",
     "calllog_backlog_max = 16;\n",
     {.calllog_backlog_max = 16, .log_level = -1}},
    {"calllog_backlog_max maximum",
     "calllog_backlog_max = 16777216;\n",
     {.calllog_backlog_max = 16777216, .log_level = -1}},
    {"adjacent strings join", "db = \"var/\" \"cw.db\";\n", {.db = "var/cw.db", .log_level = -1}},
    {"max_line minimum", "max_line = 1024;\n", {.max_line = 1024, .log_level = -1}},
    {"max_line maximum", "max_line = 16777216;\n", {.max_line = 16777216, .log_level = -1}},
    {"max_line in hex", "max_line = 0x20000;\n", {.max_line = 131072, .log_level = -1}},
    {"max_line with the L suffix", "max_line = 65536L;\n", {.max_line = 65536, .log_level = -1}},
    {"max_connections minimum", "max_connections = 1;\n", {.max_connections = 1, .log_level = -1}},
    {"max_connections maximum",
     "max_connections = 1000000;\n",
     {.max_connections = 1000000, .log_level = -1}},
    {"log_level warn", "log_level = \"warn\";\n", {.log_level = LOG_LEVEL_WARN}},
    {"log_level info", "log_level = \"info\";\n", {.log_level = LOG_LEVEL_INFO}},
    {"log_level any case", "log_level = \"DEBUG\";\n", {.log_level = LOG_LEVEL_DEBUG}},
    {"3-digit country code", "country_code = \"353\";\n", {.cc = "353", .log_level = -1}},
    {"text with quotes and spaces",
     "db = \"my \\\"data\\\" dir/cw.db\";\n",
     {.db = "my \"data\" dir/cw.db", .log_level = -1}},
};

START_TEST(test_load_good)
{
	const struct good_case *c = &good_cases[_i];
	const char *path = write_conf("good", c->text);
	struct settings st;
	char *errors = (char *)"sentinel";

	ck_assert_int_eq(settings_defaults(&st), 0);
	ck_assert_msg(settings_load(&st, path, &errors) == 0, "%s: %s", c->what,
	              errors ? errors : "(no errors)");
	ck_assert_ptr_null(errors);
	assert_settings(&st, &c->x, c->what);
	settings_free(&st);
}
END_TEST

/*
 * Bad files. errors lists the expected lines as "LINE: reason", each to be prefixed with the
 * file's path; with exact == 0 only the "path:LINE: " prefix of each line is compared.
 */
struct bad_case {
	const char *what;
	const char *text;
	const char *errors;
	int exact;
};

static const struct bad_case bad_cases[] = {
    {"unknown key", "db = \"x.db\";\nlisten_on = \"1.2.3.4:5\";\n",
     "2: unknown setting 'listen_on'\n", 1},
    {"unknown group", "\n\nserver = { listen = \"x:1\"; };\n", "3: unknown setting 'server'\n", 1},
    {"key names are case-sensitive", "DB = \"x.db\";\n", "1: unknown setting 'DB'\n", 1},
    {"listen as a number", "listen = 7700;\n", "1: 'listen' must be a string\n", 1},
    {"unix as a bool", "unix = true;\n", "1: 'unix' must be a string\n", 1},
    {"db as a list", "db = (\"a\");\n", "1: 'db' must be a string\n", 1},
    {"policy as a group", "policy = { path = \"p\"; };\n", "1: 'policy' must be a string\n", 1},
    {"country_code as a number", "country_code = 44;\n", "1: 'country_code' must be a string\n", 1},
    {"log_level as a number", "log_level = 2;\n", "1: 'log_level' must be a string\n", 1},
    {"max_line as a string", "max_line = \"65536\";\n", "1: 'max_line' must be an integer\n", 1},
    {"max_line as a float", "max_line = 65536.0;\n", "1: 'max_line' must be an integer\n", 1},
    {"max_connections as a bool", "max_connections = true;\n",
     "1: 'max_connections' must be an integer\n", 1},
    {"max_line below range", "max_line = 1023;\n", "1: 'max_line' must be from 1024 to 16777216\n",
     1},
    {"max_line above range", "max_line = 16777217;\n",
     "1: 'max_line' must be from 1024 to 16777216\n", 1},
    {"max_line negative", "max_line = -65536;\n", "1: 'max_line' must be from 1024 to 16777216\n",
     1},
    {"http as a number", "http = 7780;\n", "1: 'http' must be a string\n", 1},
    {"calllog_backlog_max below range", "calllog_backlog_max = 15;\n",
     "1: 'calllog_backlog_max' must be from 16 to 16777216 rows\n", 1},
    {"http_timeout zero", "http_timeout = 0;\n",
     "1: 'http_timeout' must be from 1 to 3600 seconds\n", 1},
    {"http_timeout above range", "http_timeout = 3601;\n",
     "1: 'http_timeout' must be from 1 to 3600 seconds\n", 1},
    {"http_timeout as a string", "http_timeout = \"10\";\n",
     "1: 'http_timeout' must be an integer\n", 1},
    {"max_connections zero", "max_connections = 0;\n",
     "1: 'max_connections' must be from 1 to 1000000\n", 1},
    {"max_connections above range", "max_connections = 1000001;\n",
     "1: 'max_connections' must be from 1 to 1000000\n", 1},
    /* libconfig 1.5 keeps only the low 32 bits of a big literal (4294968320 reads as 1024). */
    {"max_line past 32 bits", "max_line = 4294968320;\n", "1: \n", 0},
    {"max_connections past 32 bits", "max_connections = 4294967297;\n", "1: \n", 0},
    {"country_code empty", "country_code = \"\";\n",
     "1: 'country_code' must be 1 to 3 digits, not starting with 0\n", 1},
    {"country_code 0", "country_code = \"0\";\n",
     "1: 'country_code' must be 1 to 3 digits, not starting with 0\n", 1},
    {"country_code too long", "country_code = \"1234\";\n",
     "1: 'country_code' must be 1 to 3 digits, not starting with 0\n", 1},
    {"country_code with +", "country_code = \"+1\";\n",
     "1: 'country_code' must be 1 to 3 digits, not starting with 0\n", 1},
    {"log_level unknown", "log_level = \"trace\";\n",
     "1: 'log_level' must be warn, info or debug\n", 1},
    {"db empty", "db = \"\";\n", "1: 'db' must not be empty\n", 1},
    {"policy empty", "policy = \"\";\n", "1: 'policy' must not be empty\n", 1},
    {"every error is listed",
     "listen = \"ok:1\";\n"
     "bogus = 1;\n"
     "max_line = 5;\n"
     "\n"
     "log_level = \"loud\";\n"
     "db = 3;\n",
     "2: unknown setting 'bogus'\n"
     "3: 'max_line' must be from 1024 to 16777216\n"
     "5: 'log_level' must be warn, info or debug\n"
     "6: 'db' must be a string\n",
     1},
    {"syntax error", "db = \"x.db\";\nlisten = ;\n", "2: syntax error\n", 1},
    {"duplicate key", "db = \"a.db\";\ndb = \"b.db\";\n", "2: duplicate setting name\n", 1},
};

/* Builds the expected error text by putting path in front of each "LINE: reason" line. */
static char *
expected_errors(const char *path, const char *lines)
{
	size_t cap = strlen(lines) + 64 * (strlen(path) + 2), len = 0;
	char *out = malloc(cap);
	const char *p = lines, *nl;

	ck_assert_ptr_nonnull(out);
	out[0] = '\0';
	while ((nl = strchr(p, '\n')) != NULL) {
		len += (size_t)snprintf(out + len, cap - len, "%s:%.*s\n", path, (int)(nl - p), p);
		p = nl + 1;
	}
	return out;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_load_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	const char *path = write_conf("bad", c->text);
	struct settings st;
	struct expect x = {.log_level = -1};
	char *listen, *db, *errors = NULL, *want;

	ck_assert_int_eq(settings_defaults(&st), 0);
	listen = st.listen;
	db = st.db;
	ck_assert_msg(settings_load(&st, path, &errors) == -1, "%s: accepted", c->what);
	ck_assert_msg(errors != NULL, "%s: no error text", c->what);
	want = expected_errors(path, c->errors);
	if (c->exact) {
		ck_assert_msg(strcmp(errors, want) == 0, "%s:\n got: %s\nwant: %s", c->what, errors,
		              want);
	} else {
		/* One line per expected line, each with the expected "path:LINE: " prefix. */
		ck_assert_msg(count_lines(errors) == count_lines(want), "%s: got %s", c->what,
		              errors);
		ck_assert_msg(strncmp(errors, want, strlen(want) - 1) == 0, "%s: got %s want %s...",
		              c->what, errors, want);
	}
	/* Nothing changed, not even the string pointers. */
	ck_assert_ptr_eq(st.listen, listen);
	ck_assert_ptr_eq(st.db, db);
	assert_settings(&st, &x, c->what);
	free(want);
	free(errors);
	settings_free(&st);
}
END_TEST

START_TEST(test_load_missing_file)
{
	struct settings st;
	char path[600], *errors = NULL, want[700];
	struct expect x = {.log_level = -1};

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	ck_assert_int_eq(settings_defaults(&st), 0);
	ck_assert_int_eq(settings_load(&st, path, &errors), -1);
	snprintf(want, sizeof(want), "%s:0: cannot read the file\n", path);
	ck_assert_str_eq(errors, want);
	assert_settings(&st, &x, "missing file");
	free(errors);
	settings_free(&st);
}
END_TEST

/* Defaults, then two files in turn, then command-line overrides: each layer wins over the last. */
START_TEST(test_layers)
{
	struct settings st;
	char *errors = NULL;
	const char *path;
	struct expect x = {.listen = "10.0.0.1:9000",
	                   .unix_path = "",
	                   .db = "second.db",
	                   .policy = "cli-policy.conf",
	                   .cc = "44",
	                   .max_line = 2048,
	                   .log_level = LOG_LEVEL_WARN};

	ck_assert_int_eq(settings_defaults(&st), 0);
	path = write_conf("first", "listen = \"0.0.0.0:7700\";\ndb = \"first.db\";\n"
	                           "country_code = \"44\";\nlog_level = \"warn\";\n");
	ck_assert_int_eq(settings_load(&st, path, &errors), 0);
	path = write_conf("second", "db = \"second.db\";\nmax_line = 2048;\n");
	ck_assert_int_eq(settings_load(&st, path, &errors), 0);
	ck_assert_str_eq(st.listen, "0.0.0.0:7700");
	ck_assert_int_eq(settings_set(&st.listen, "10.0.0.1:9000"), 0);
	ck_assert_int_eq(settings_set(&st.unix_path, ""), 0);
	ck_assert_int_eq(settings_set(&st.policy, "cli-policy.conf"), 0);
	assert_settings(&st, &x, "layers");

	/* A failed load over layered values keeps them all. */
	path = write_conf("third", "db = \"third.db\";\nmax_line = 1;\n");
	ck_assert_int_eq(settings_load(&st, path, &errors), -1);
	free(errors);
	assert_settings(&st, &x, "after a failed load");
	settings_free(&st);
}
END_TEST

static const struct {
	const char *what;
	const char *given;
	int role;
} token_cases[] = {
    {"the telephony token", "pbx-token-0123456789", ROLE_TELEPHONY},
    {"the supervisor token", "sup-token-0123456789", ROLE_SUPERVISOR},
    {"the ops token", "ops-token-0123456789", ROLE_OPS},
    {"a prefix", "pbx-token-012345678", ROLE_NONE},
    {"one byte more", "pbx-token-0123456789x", ROLE_NONE},
    {"last byte differs", "pbx-token-0123456780", ROLE_NONE},
    {"empty", "", ROLE_NONE},
    {"another case", "PBX-TOKEN-0123456789", ROLE_NONE},
};

START_TEST(test_token_role)
{
	struct settings st;
	char *errors = NULL;
	const char *path = write_conf("tokens", "tokens = (\n"
	                                        "  { token = \"pbx-token-0123456789\"; role = "
	                                        "\"telephony\"; },\n"
	                                        "  { token = \"sup-token-0123456789\"; role = "
	                                        "\"supervisor\"; },\n"
	                                        "  { token = \"ops-token-0123456789\"; role = "
	                                        "\"ops\"; }\n"
	                                        ");\n");

	ck_assert_int_eq(settings_defaults(&st), 0);
	ck_assert_int_eq(
	    settings_token_role(&st, token_cases[_i].given, strlen(token_cases[_i].given)),
	    ROLE_NONE); /* no tokens: nothing matches */
	ck_assert_msg(settings_load(&st, path, &errors) == 0, "%s", errors ? errors : "");
	ck_assert_msg(settings_token_role(&st, token_cases[_i].given,
	                                  strlen(token_cases[_i].given)) == token_cases[_i].role,
	              "%s", token_cases[_i].what);
	settings_free(&st);
}
END_TEST

START_TEST(test_set)
{
	char *field = NULL;

	ck_assert_int_eq(settings_set(&field, "a"), 0);
	ck_assert_str_eq(field, "a");
	ck_assert_int_eq(settings_set(&field, "bb"), 0);
	ck_assert_str_eq(field, "bb");
	/* Setting a field to its own value copies before freeing. */
	ck_assert_int_eq(settings_set(&field, field), 0);
	ck_assert_str_eq(field, "bb");
	ck_assert_int_eq(settings_set(&field, ""), 0);
	ck_assert_str_eq(field, "");
	free(field);
}
END_TEST

struct hostport_case {
	const char *what;
	const char *in;
	int rc;
	const char *host;
	int port;
};

static const struct hostport_case hostport_cases[] = {
    {"IPv4 loopback", "127.0.0.1:7700", 0, "127.0.0.1", 7700},
    {"any IPv4", "0.0.0.0:80", 0, "0.0.0.0", 80},
    {"name", "localhost:7700", 0, "localhost", 7700},
    {"port 0", "127.0.0.1:0", 0, "127.0.0.1", 0},
    {"port 65535", "127.0.0.1:65535", 0, "127.0.0.1", 65535},
    {"IPv6 loopback", "[::1]:7700", 0, "::1", 7700},
    {"IPv6 any", "[::]:7700", 0, "::", 7700},
    {"IPv6 full", "[2001:db8::1:2]:443", 0, "2001:db8::1:2", 443},
    {"IPv6 with zone", "[fe80::1%eth0]:7700", 0, "fe80::1%eth0", 7700},

    {"no port", "127.0.0.1", -1, NULL, 0},
    {"empty port", "127.0.0.1:", -1, NULL, 0},
    {"empty host", ":7700", -1, NULL, 0},
    {"empty", "", -1, NULL, 0},
    {"port 65536", "127.0.0.1:65536", -1, NULL, 0},
    {"port negative", "127.0.0.1:-1", -1, NULL, 0},
    {"port not a number", "127.0.0.1:http", -1, NULL, 0},
    {"port with junk", "127.0.0.1:77x", -1, NULL, 0},
    {"port overflowing long", "127.0.0.1:99999999999999999999999", -1, NULL, 0},
    {"IPv6 without port", "[::1]", -1, NULL, 0},
    {"IPv6 with empty port", "[::1]:", -1, NULL, 0},
    {"IPv6 without colon", "[::1]7700", -1, NULL, 0},
    {"IPv6 unclosed", "[::1:7700", -1, NULL, 0},
    {"IPv6 empty", "[]:7700", -1, NULL, 0},
    {"host longer than the buffer", "a-very-long-host-name-that-does-not-fit.example:7700", -1,
     NULL, 0},
};

START_TEST(test_hostport)
{
	const struct hostport_case *c = &hostport_cases[_i];
	char host[32] = "untouched", cause[128] = "";
	int port = -7;
	int rc = settings_split_hostport(c->in, host, sizeof(host), &port, cause, sizeof(cause));

	ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->what, rc, cause);
	if (rc == 0) {
		ck_assert_msg(strcmp(host, c->host) == 0, "%s: host '%s'", c->what, host);
		ck_assert_int_eq(port, c->port);
	} else {
		/* A cause naming the value, and no output. */
		ck_assert_msg(cause[0] != '\0' && strstr(cause, c->in) != NULL, "%s: cause '%s'",
		              c->what, cause);
		ck_assert_str_eq(host, "untouched");
		ck_assert_int_eq(port, -7);
	}
}
END_TEST

/* The host must fit with its NUL: hostlen bytes hold at most hostlen - 1 characters. */
START_TEST(test_hostport_hostlen)
{
	char host[10], cause[128];
	int port;

	ck_assert_int_eq(
	    settings_split_hostport("123456789:1", host, sizeof(host), &port, cause, sizeof(cause)),
	    0);
	ck_assert_str_eq(host, "123456789");
	ck_assert_int_eq(settings_split_hostport("1234567890:1", host, sizeof(host), &port, cause,
	                                         sizeof(cause)),
	                 -1);
	ck_assert_int_eq(settings_split_hostport("[::1:2:3:4:5]:1", host, sizeof(host), &port,
	                                         cause, sizeof(cause)),
	                 -1);
}
END_TEST

static Suite *
settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("load");

	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_load_good, 0, (int)ARRAY_LEN(good_cases));
	tcase_add_loop_test(tc, test_load_bad, 0, (int)ARRAY_LEN(bad_cases));
	tcase_add_test(tc, test_load_missing_file);
	tcase_add_test(tc, test_layers);
	tcase_add_test(tc, test_set);
	tcase_add_loop_test(tc, test_token_role, 0, (int)ARRAY_LEN(token_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("hostport");
	tcase_add_loop_test(tc, test_hostport, 0, (int)ARRAY_LEN(hostport_cases));
	tcase_add_test(tc, test_hostport_hostlen);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(settings_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
