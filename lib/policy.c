/* Loads the libconfig routing policy into an immutable object, or reports every error found. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jbuf.h"
#include "log.h"
#include "number.h"
#include "policy.h"

#define POLICY_FILE_MAX               (4 * 1024 * 1024)
#define POLICY_NAME_MAX               32
#define POLICY_TEXT_MAX               1024
#define POLICY_VERSION_MAX            64
#define POLICY_MAX_QUEUES             1000
#define POLICY_MAX_CODES              64
#define POLICY_MAX_RULES              10000
#define POLICY_DEFAULT_HALF_LIFE_DAYS 90.0
#define POLICY_DAY                    86400.0
#define POLICY_HOUR                   3600

/* Defaults of the optional "nuisance" and "calls" sections. */
#define POLICY_DEFAULT_MAX_TRACKED    100000
#define POLICY_DEFAULT_RETENTION_DAYS 90
#define POLICY_DEFAULT_CLOSE_AFTER_S  14400
#define POLICY_DEFAULT_LINGER_S       60
#define POLICY_DEFAULT_MAX_CALLS      200000

/* Decisions for mid-call reports are named "report-<code>"; rules may not use the prefix. */
#define POLICY_REPORT_PREFIX "report-"

/* Loader state: the policy under construction and the error lines collected so far. */
struct policy_ld {
	const char *file;
	struct jbuf err;
	int nerr;
	struct policy *p;
	unsigned patterns_present; /* pattern groups in the file, valid or not */
};

static const char *const policy_root_keys[] = {
    "version",  "score", "queues", "codes",     "allowlist",
    "nuisance", "calls", "rules",  "on_report", NULL,
};
static const char *const policy_score_keys[] = {"half_life_days", NULL};
static const char *const policy_queue_keys[] = {
    "name", "target", "priority", "default", "max_wait_s", "announce", NULL,
};
static const char *const policy_code_keys[] = {"name", "weight", "expires_days", NULL};
static const char *const policy_rule_keys[] = {
    "name",  "when",     "queue",      "reject", "priority", "record",
    "alert", "announce", "max_wait_s", "reason", NULL,
};
static const char *const policy_when_keys[] = {
    "flag_at_least", "flag", "score_at_least", "withheld", "dialed", "nuisance", NULL,
};
static const char *const policy_nuisance_keys[] = {
    "max_tracked", "repeat", "short", "redial", "auto_flag", NULL,
};
static const char *const policy_repeat_keys[] = {"calls", "window_s", NULL};
static const char *const policy_short_keys[] = {"calls", "shorter_than_s", "window_s", NULL};
static const char *const policy_redial_keys[] = {"within_s", NULL};
static const char *const policy_auto_flag_keys[] = {"code", "patterns", "expires_days", NULL};
static const char *const policy_calls_keys[] = {
    "retention_days", "close_after_s", "linger_s", "max_calls", NULL,
};
static const char *const policy_report_keys[] = {
    "code", "action", "queue", "alert", "followup_hours", "priority", NULL,
};

/* Pattern names in NUISANCE_PATTERN_* bit order. */
static const char *const policy_pattern_names[] = {"repeat", "short", "redial", NULL};

static void policy_err(struct policy_ld *ld, int line, const char *fmt, ...) CW_PRINTF(3, 4);

static void
policy_err(struct policy_ld *ld, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	if (ld->nerr++ > 0)
		jb_append(&ld->err, "\n", 1);
	jb_append(&ld->err, ld->file, strlen(ld->file));
	if (line > 0)
		n = snprintf(msg, sizeof(msg), ":%d: ", line);
	else
		n = snprintf(msg, sizeof(msg), ": ");
	jb_append(&ld->err, msg, (size_t)n);
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	jb_append(&ld->err, msg, (size_t)n);
}

static int
policy_line(const config_setting_t *s)
{
	int line = config_setting_source_line(s);

	return line > 0 ? line : 1;
}

/* A bounded, printable copy of untrusted text for error messages. */
static const char *
policy_show(char *buf, size_t len, const char *s)
{
	size_t i, max = len - 4;

	for (i = 0; s[i] != '\0' && i < max; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static const char *
policy_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a decimal number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "true or false";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "something else";
	}
}

static char *
policy_dup(struct policy_ld *ld, int line, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		policy_err(ld, line, "out of memory");
	return d;
}

/* Reports every member of group g whose name is not in keys. */
static void
policy_check_keys(struct policy_ld *ld, const config_setting_t *g, const char *ctx,
                  const char *const *keys)
{
	char known[256];
	size_t off = 0;
	int i, j, n = config_setting_length(g);

	known[0] = '\0';
	for (j = 0; keys[j] != NULL; j++) {
		int w = snprintf(known + off, sizeof(known) - off, "%s%s", j ? ", " : "", keys[j]);

		if (w < 0 || (size_t)w >= sizeof(known) - off)
			break;
		off += (size_t)w;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *c = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(c);

		for (j = 0; keys[j] != NULL; j++)
			if (name != NULL && strcmp(name, keys[j]) == 0)
				break;
		if (keys[j] == NULL)
			policy_err(ld, policy_line(c), "%s%sunknown key '%s' (expected one of: %s)",
			           ctx ? ctx : "", ctx ? ": " : "", name ? name : "?", known);
	}
}

/*
 * The getters below return 1 and set *out when key is present and valid, 0 when it is absent
 * (an error if required), and -1 after reporting an error.
 */
static int
policy_absent(struct policy_ld *ld, const config_setting_t *g, const char *ctx, const char *key,
              int required)
{
	if (!required)
		return 0;
	policy_err(ld, policy_line(g), "%s: missing required key '%s'", ctx, key);
	return -1;
}

static int
policy_check_str(struct policy_ld *ld, const config_setting_t *s, const char *ctx, const char *key,
                 const char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		policy_err(ld, policy_line(s), "%s: '%s' must be a string, not %s", ctx, key,
		           policy_type_name(s));
		return -1;
	}
	v = config_setting_get_string(s);
	if (v[0] == '\0') {
		policy_err(ld, policy_line(s), "%s: '%s' must not be empty", ctx, key);
		return -1;
	}
	if (strlen(v) > POLICY_TEXT_MAX) {
		policy_err(ld, policy_line(s), "%s: '%s' is longer than %d bytes", ctx, key,
		           POLICY_TEXT_MAX);
		return -1;
	}
	*out = v;
	return 1;
}

static int
policy_get_str(struct policy_ld *ld, const config_setting_t *g, const char *ctx, const char *key,
               int required, const char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return policy_absent(ld, g, ctx, key, required);
	return policy_check_str(ld, s, ctx, key, out);
}

static int
policy_get_int(struct policy_ld *ld, const config_setting_t *g, const char *ctx, const char *key,
               long long lo, long long hi, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		policy_err(ld, policy_line(s), "%s: '%s' must be an integer, not %s", ctx, key,
		           policy_type_name(s));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		policy_err(ld, policy_line(s), "%s: '%s' is %lld, must be %lld to %lld", ctx, key,
		           v, lo, hi);
		return -1;
	}
	*out = (int)v;
	return 1;
}

static int
policy_is_number(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

static double
policy_number(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		return config_setting_get_float(s);
	return (double)config_setting_get_int64(s);
}

/* A number in (lo, hi]: every numeric range in the policy excludes its lower bound. */
static int
policy_check_num(struct policy_ld *ld, const config_setting_t *s, const char *ctx, const char *key,
                 double lo, int lo_incl, double hi, double *out)
{
	double v;

	if (!policy_is_number(s)) {
		policy_err(ld, policy_line(s), "%s: '%s' must be a number, not %s", ctx, key,
		           policy_type_name(s));
		return -1;
	}
	v = policy_number(s);
	if (!(lo_incl ? v >= lo : v > lo) || !(v <= hi)) {
		policy_err(ld, policy_line(s),
		           "%s: '%s' is %.15g, must be %s %.15g and at most %.15g", ctx, key, v,
		           lo_incl ? "at least" : "greater than", lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

static int
policy_get_bool(struct policy_ld *ld, const config_setting_t *g, const char *ctx, const char *key,
                int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		policy_err(ld, policy_line(s), "%s: '%s' must be true or false, not %s", ctx, key,
		           policy_type_name(s));
		return -1;
	}
	*out = config_setting_get_bool(s) ? 1 : 0;
	return 1;
}

/* A required integer: like policy_get_int, but its absence is an error. */
static int
policy_req_int(struct policy_ld *ld, const config_setting_t *g, const char *ctx, const char *key,
               long long lo, long long hi, int *out)
{
	if (config_setting_get_member(g, key) == NULL)
		return policy_absent(ld, g, ctx, key, 1);
	return policy_get_int(ld, g, ctx, key, lo, hi, out);
}

/* The group under key in g (ctx NULL: at the top level); NULL when absent or not a group. */
static const config_setting_t *
policy_get_group(struct policy_ld *ld, const config_setting_t *g, const char *ctx, const char *key)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL || config_setting_type(s) == CONFIG_TYPE_GROUP)
		return s;
	if (ctx == NULL)
		policy_err(ld, policy_line(s), "'%s' must be a group { ... }, not %s", key,
		           policy_type_name(s));
	else
		policy_err(ld, policy_line(s), "%s: '%s' must be a group { ... }, not %s", ctx, key,
		           policy_type_name(s));
	return NULL;
}

static int
policy_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > POLICY_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/*
 * Reads the "name" of element #idx of a list of named things and builds the context used in
 * its messages. Returns the name (owned by libconfig) or NULL when missing or invalid.
 */
static const char *
policy_elem_name(struct policy_ld *ld, const config_setting_t *g, const char *what, int idx,
                 char *ctx, size_t ctxlen)
{
	const char *name = NULL;
	char show[80];

	snprintf(ctx, ctxlen, "%s #%d", what, idx + 1);
	if (policy_get_str(ld, g, ctx, "name", 1, &name) != 1)
		return NULL;
	if (!policy_name_ok(name)) {
		policy_err(ld, policy_line(config_setting_get_member(g, "name")),
		           "%s: name '%s' must be 1 to %d characters from a-z 0-9 . _ -", ctx,
		           policy_show(show, sizeof(show), name), POLICY_NAME_MAX);
		return name;
	}
	snprintf(ctx, ctxlen, "%s '%s'", what, name);
	return name;
}

/* The list under key, checked to be a list of groups; NULL when absent or wrong. */
static const config_setting_t *
policy_get_list(struct policy_ld *ld, const config_setting_t *root, const char *key)
{
	const config_setting_t *l = config_setting_get_member(root, key);
	int i, n;

	if (l == NULL)
		return NULL;
	if (config_setting_type(l) != CONFIG_TYPE_LIST) {
		policy_err(ld, policy_line(l), "'%s' must be a list ( { ... }, ... ), not %s", key,
		           policy_type_name(l));
		return NULL;
	}
	n = config_setting_length(l);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			policy_err(ld, policy_line(e),
			           "%s: element #%d must be a group { ... }, not %s", key, i + 1,
			           policy_type_name(e));
			return NULL;
		}
	}
	return l;
}

/* Line of the first of the first n elements of list l whose name equals name, or 0. */
static int
policy_dup_line(const config_setting_t *l, char *const *names, size_t stride, int n,
                const char *name)
{
	int j;

	for (j = 0; j < n; j++) {
		const char *other = *(char *const *)((const char *)names + (size_t)j * stride);

		if (other != NULL && strcmp(other, name) == 0)
			return policy_line(config_setting_get_elem(l, (unsigned)j));
	}
	return 0;
}

static void
policy_parse_version(struct policy_ld *ld, const config_setting_t *root)
{
	const config_setting_t *s = config_setting_get_member(root, "version");
	const char *v;
	size_t i;

	if (s == NULL || policy_check_str(ld, s, "policy", "version", &v) != 1)
		return;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f || v[i] == '"' ||
		    v[i] == '\\')
			break;
	if (v[i] != '\0' || i > POLICY_VERSION_MAX) {
		policy_err(ld, policy_line(s),
		           "'version' must be 1 to %d printable characters without spaces, quotes "
		           "or backslashes",
		           POLICY_VERSION_MAX);
		return;
	}
	ld->p->version = policy_dup(ld, policy_line(s), v);
}

static void
policy_parse_score(struct policy_ld *ld, const config_setting_t *root)
{
	const config_setting_t *g = config_setting_get_member(root, "score");
	const config_setting_t *s;
	double days = POLICY_DEFAULT_HALF_LIFE_DAYS;

	ld->p->half_life_s = days * POLICY_DAY;
	if (g == NULL)
		return;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		policy_err(ld, policy_line(g), "'score' must be a group { ... }, not %s",
		           policy_type_name(g));
		return;
	}
	policy_check_keys(ld, g, "score", policy_score_keys);
	s = config_setting_get_member(g, "half_life_days");
	if (s == NULL) {
		policy_absent(ld, g, "score", "half_life_days", 1);
		return;
	}
	if (policy_check_num(ld, s, "score", "half_life_days", 0, 0, 3650, &days) == 1)
		ld->p->half_life_s = days * POLICY_DAY;
}

static void
policy_parse_queue(struct policy_ld *ld, const config_setting_t *l, int i, int *ndefault, int *nbad)
{
	struct policy *p = ld->p;
	struct policy_queue *q = &p->queues[i];
	const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
	const char *name, *s;
	char ctx[64];
	int dup, r, def = 0;

	q->max_wait_s = -1;
	name = policy_elem_name(ld, g, "queue", i, ctx, sizeof(ctx));
	policy_check_keys(ld, g, ctx, policy_queue_keys);
	if (name != NULL) {
		dup = policy_dup_line(l, &p->queues[0].name, sizeof(*q), i, name);
		if (dup > 0)
			policy_err(ld, policy_line(g),
			           "%s: duplicate name (first defined on line %d)", ctx, dup);
		else
			q->name = policy_dup(ld, policy_line(g), name);
	}
	if (policy_get_str(ld, g, ctx, "target", 1, &s) == 1)
		q->target = policy_dup(ld, policy_line(g), s);
	policy_get_int(ld, g, ctx, "priority", -1000, 1000, &q->priority);
	policy_get_int(ld, g, ctx, "max_wait_s", 1, 86400, &q->max_wait_s);
	if (policy_get_str(ld, g, ctx, "announce", 0, &s) == 1)
		q->announce = policy_dup(ld, policy_line(g), s);
	r = policy_get_bool(ld, g, ctx, "default", &def);
	if (r == -1)
		*nbad += 1; /* reported already: do not also say that no queue is the default */
	if (r == 1 && def) {
		const char *first = p->queues[p->default_queue].name;

		if (*ndefault > 0)
			policy_err(ld, policy_line(config_setting_get_member(g, "default")),
			           "%s: only one queue may have default = true (queue '%s' has it)",
			           ctx, first != NULL ? first : "?");
		else
			p->default_queue = (size_t)i;
		*ndefault += 1;
	}
}

static void
policy_parse_queues(struct policy_ld *ld, const config_setting_t *root)
{
	const config_setting_t *l = policy_get_list(ld, root, "queues");
	struct policy *p = ld->p;
	int i, n, ndefault = 0, nbad = 0;

	if (l == NULL) {
		if (config_setting_get_member(root, "queues") == NULL)
			policy_err(ld, 1, "no 'queues' list: at least one queue is required");
		return;
	}
	n = config_setting_length(l);
	if (n == 0 || n > POLICY_MAX_QUEUES) {
		policy_err(ld, policy_line(l), "'queues' must hold 1 to %d queues, not %d",
		           POLICY_MAX_QUEUES, n);
		return;
	}
	p->queues = calloc((size_t)n, sizeof(*p->queues));
	if (p->queues == NULL) {
		policy_err(ld, policy_line(l), "out of memory");
		return;
	}
	p->nqueues = (size_t)n;
	for (i = 0; i < n; i++)
		policy_parse_queue(ld, l, i, &ndefault, &nbad);
	if (ndefault == 0 && nbad == 0)
		policy_err(ld, policy_line(l),
		           "no queue has default = true: exactly one queue must be the default");
}

static void
policy_parse_code(struct policy_ld *ld, const config_setting_t *l, int i)
{
	struct policy *p = ld->p;
	struct policy_code *c = &p->codes[i];
	const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
	const config_setting_t *s;
	const char *name;
	char ctx[64];
	double days;
	int dup;

	name = policy_elem_name(ld, g, "code", i, ctx, sizeof(ctx));
	policy_check_keys(ld, g, ctx, policy_code_keys);
	if (name != NULL) {
		dup = policy_dup_line(l, &p->codes[0].name, sizeof(*c), i, name);
		if (dup > 0)
			policy_err(ld, policy_line(g),
			           "%s: duplicate name (first defined on line %d)", ctx, dup);
		else
			c->name = policy_dup(ld, policy_line(g), name);
	}
	s = config_setting_get_member(g, "weight");
	if (s == NULL)
		policy_absent(ld, g, ctx, "weight", 1);
	else
		policy_check_num(ld, s, ctx, "weight", 0, 1, 1000, &c->weight);

	s = config_setting_get_member(g, "expires_days");
	if (s == NULL) {
		policy_absent(ld, g, ctx, "expires_days", 1);
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (strcmp(config_setting_get_string(s), "never") != 0)
			policy_err(ld, policy_line(s),
			           "%s: 'expires_days' must be a number of days or \"never\"", ctx);
		c->expires_s = 0;
	} else if (!policy_is_number(s)) {
		policy_err(ld, policy_line(s),
		           "%s: 'expires_days' must be a number of days or \"never\", not %s", ctx,
		           policy_type_name(s));
	} else if (policy_check_num(ld, s, ctx, "expires_days", 0, 0, 36500, &days) == 1) {
		c->expires_s = llround(days * POLICY_DAY);
		if (c->expires_s < 1)
			policy_err(ld, policy_line(s),
			           "%s: 'expires_days' is shorter than a second", ctx);
	}
}

static void
policy_parse_codes(struct policy_ld *ld, const config_setting_t *root)
{
	const config_setting_t *l = policy_get_list(ld, root, "codes");
	struct policy *p = ld->p;
	int i, n;

	if (l == NULL) {
		if (config_setting_get_member(root, "codes") == NULL)
			policy_err(ld, 1, "no 'codes' list: at least one flag code is required");
		return;
	}
	n = config_setting_length(l);
	if (n == 0 || n > POLICY_MAX_CODES) {
		policy_err(ld, policy_line(l), "'codes' must hold 1 to %d codes, not %d",
		           POLICY_MAX_CODES, n);
		return;
	}
	p->codes = calloc((size_t)n, sizeof(*p->codes));
	if (p->codes == NULL) {
		policy_err(ld, policy_line(l), "out of memory");
		return;
	}
	p->ncodes = (size_t)n;
	for (i = 0; i < n; i++)
		policy_parse_code(ld, l, i);
}

static int
policy_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates, so lists print canonically and can be binary-searched. */
static size_t
policy_sort_numbers(char **v, size_t n)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), policy_strcmp_p);
	for (i = 0; i < n; i++) {
		if (out > 0 && strcmp(v[out - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[out++] = v[i];
	}
	return out;
}

/* Normalises one number or prefix ("+1800555*") from the file; NULL after reporting. */
static char *
policy_parse_number(struct policy_ld *ld, const config_setting_t *s, const char *ctx)
{
	char out[NUMBER_BUFSZ + 1], show[80];
	const char *v;
	size_t len, i;
	int prefix;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		policy_err(ld, policy_line(s), "%s: numbers must be strings, not %s", ctx,
		           policy_type_name(s));
		return NULL;
	}
	v = config_setting_get_string(s);
	len = strlen(v);
	prefix = len > 0 && v[len - 1] == '*';
	if (prefix)
		len--;
	if (number_normalise(v, len, ld->p->country_code, out) != NUMBER_E164) {
		/* A short international prefix such as "+44*" is not a number on its own. */
		int ok = prefix && len >= 2 && len <= NUMBER_MAX_DIGITS + 1 && v[0] == '+' &&
		         v[1] != '0';

		for (i = 1; ok && i < len; i++)
			ok = v[i] >= '0' && v[i] <= '9';
		if (!ok) {
			policy_err(ld, policy_line(s), "%s: '%s' is not a valid phone number%s",
			           ctx, policy_show(show, sizeof(show), v),
			           prefix ? " prefix" : "");
			return NULL;
		}
		memcpy(out, v, len);
		out[len] = '\0';
	}
	if (prefix)
		strcat(out, "*");
	return policy_dup(ld, policy_line(s), out);
}

/* Fills *vp and *np from a list or array of numbers; returns -1 after reporting errors. */
static int
policy_parse_numbers(struct policy_ld *ld, const config_setting_t *l, const char *ctx,
                     const char *key, char ***vp, size_t *np)
{
	int i, n, bad = 0;
	char **v;

	if (config_setting_type(l) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(l) != CONFIG_TYPE_LIST) {
		if (strcmp(ctx, key) == 0)
			policy_err(ld, policy_line(l),
			           "'%s' must be an array [ \"...\", ... ], not %s", key,
			           policy_type_name(l));
		else
			policy_err(ld, policy_line(l),
			           "%s: '%s' must be an array [ \"...\", ... ], not %s", ctx, key,
			           policy_type_name(l));
		return -1;
	}
	n = config_setting_length(l);
	if (n == 0)
		return 0;
	v = calloc((size_t)n, sizeof(*v));
	if (v == NULL) {
		policy_err(ld, policy_line(l), "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		v[i] = policy_parse_number(ld, config_setting_get_elem(l, (unsigned)i), ctx);
		if (v[i] == NULL)
			bad = 1;
	}
	if (bad) {
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return -1;
	}
	*np = policy_sort_numbers(v, (size_t)n);
	*vp = v;
	return 0;
}

static void
policy_parse_allowlist(struct policy_ld *ld, const config_setting_t *root)
{
	const config_setting_t *l = config_setting_get_member(root, "allowlist");

	if (l != NULL)
		policy_parse_numbers(ld, l, "allowlist", "allowlist", &ld->p->allowlist,
		                     &ld->p->nallow);
}

static unsigned
policy_pattern_bit(const char *name)
{
	unsigned i;

	for (i = 0; policy_pattern_names[i] != NULL; i++)
		if (strcmp(policy_pattern_names[i], name) == 0)
			return 1u << i;
	return 0;
}

/*
 * The nuisance patterns named by s: one name, or an array or list of names. Returns their bits,
 * or 0 after reporting. A pattern without its group in the "nuisance" section is an error: it
 * could never fire.
 */
static unsigned
policy_parse_patterns(struct policy_ld *ld, const config_setting_t *s, const char *ctx,
                      const char *key)
{
	unsigned bits = 0, bit;
	int i, n, bad = 0;
	char show[80];

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		n = 1;
	} else if (config_setting_type(s) == CONFIG_TYPE_ARRAY ||
	           config_setting_type(s) == CONFIG_TYPE_LIST) {
		n = config_setting_length(s);
		if (n == 0) {
			policy_err(ld, policy_line(s), "%s: '%s' must name at least one pattern",
			           ctx, key);
			return 0;
		}
	} else {
		policy_err(ld, policy_line(s),
		           "%s: '%s' must be a pattern name or an array [ \"...\", ... ] of them, "
		           "not %s",
		           ctx, key, policy_type_name(s));
		return 0;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_type(s) == CONFIG_TYPE_STRING
		                                ? s
		                                : config_setting_get_elem(s, (unsigned)i);
		const char *name;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			policy_err(ld, policy_line(e), "%s: '%s' must hold pattern names, not %s",
			           ctx, key, policy_type_name(e));
			bad = 1;
			continue;
		}
		name = config_setting_get_string(e);
		bit = policy_pattern_bit(name);
		policy_show(show, sizeof(show), name);
		if (bit == 0) {
			policy_err(ld, policy_line(e),
			           "%s: '%s' names unknown pattern '%s' (expected one of: repeat, "
			           "short, redial)",
			           ctx, key, show);
			bad = 1;
		} else if (bits & bit) {
			policy_err(ld, policy_line(e), "%s: '%s' names pattern '%s' twice", ctx,
			           key, show);
			bad = 1;
		} else if (!(ld->patterns_present & bit)) {
			policy_err(
			    ld, policy_line(e),
			    "%s: '%s' names pattern '%s', which is off: the 'nuisance' section "
			    "has no '%s' group",
			    ctx, key, show, show);
			bad = 1;
		}
		bits |= bit;
	}
	return bad ? 0 : bits;
}

static void
policy_parse_auto_flag(struct policy_ld *ld, const config_setting_t *a)
{
	static const char ctx[] = "nuisance.auto_flag";
	struct policy_nuisance *pn = &ld->p->nuisance;
	const config_setting_t *s;
	const char *name;
	char show[80];
	unsigned bits = 0;
	double days;
	int ci = -1;

	policy_check_keys(ld, a, ctx, policy_auto_flag_keys);
	if (policy_get_str(ld, a, ctx, "code", 1, &name) == 1) {
		ci = policy_code_index(ld->p, name);
		if (ci < 0)
			policy_err(ld, policy_line(config_setting_get_member(a, "code")),
			           "%s: unknown code '%s'", ctx,
			           policy_show(show, sizeof(show), name));
	}
	s = config_setting_get_member(a, "patterns");
	if (s == NULL)
		policy_absent(ld, a, ctx, "patterns", 1);
	else
		bits = policy_parse_patterns(ld, s, ctx, "patterns");
	s = config_setting_get_member(a, "expires_days");
	if (s != NULL && !policy_is_number(s)) {
		policy_err(ld, policy_line(s),
		           "%s: 'expires_days' must be a number of days, not %s (leave it out to "
		           "use the code's expiry)",
		           ctx, policy_type_name(s));
	} else if (s != NULL &&
	           policy_check_num(ld, s, ctx, "expires_days", 0, 0, 36500, &days) == 1) {
		pn->auto_flag_expires_s = llround(days * POLICY_DAY);
		if (pn->auto_flag_expires_s < 1)
			policy_err(ld, policy_line(s),
			           "%s: 'expires_days' is shorter than a second", ctx);
	}
	if (ci >= 0 && bits != 0) {
		pn->auto_flag_code = ci;
		pn->auto_flag_patterns = bits;
	}
}

/* The group of one pattern: its presence is remembered even when it is wrong. */
static const config_setting_t *
policy_pattern_group(struct policy_ld *ld, const config_setting_t *g, const char *key, unsigned bit,
                     const char *ctx, const char *const *keys)
{
	const config_setting_t *s;

	if (config_setting_get_member(g, key) == NULL)
		return NULL;
	ld->patterns_present |= bit;
	s = policy_get_group(ld, g, "nuisance", key);
	if (s != NULL)
		policy_check_keys(ld, s, ctx, keys);
	return s;
}

#define RING NUISANCE_RING_MAX
#define WEEK 604800

static void
policy_parse_nuisance(struct policy_ld *ld, const config_setting_t *root)
{
	struct nuisance_cfg *cfg = &ld->p->nuisance.cfg;
	const config_setting_t *g, *s;
	const char *why;
	int a, b, c, ok;

	cfg->max_tracked = POLICY_DEFAULT_MAX_TRACKED;
	ld->p->nuisance.auto_flag_code = -1;
	g = policy_get_group(ld, root, NULL, "nuisance");
	if (g == NULL)
		return;
	policy_check_keys(ld, g, "nuisance", policy_nuisance_keys);
	if (policy_get_int(ld, g, "nuisance", "max_tracked", 1, NUISANCE_TRACKED_MAX, &a) == 1)
		cfg->max_tracked = (size_t)a;

	s = policy_pattern_group(ld, g, "repeat", NUISANCE_PATTERN_REPEAT, "nuisance.repeat",
	                         policy_repeat_keys);
	if (s != NULL) {
		/* Every key is read, so that each wrong one is reported. */
		ok = policy_req_int(ld, s, "nuisance.repeat", "calls", 1, RING, &a) == 1;
		ok = policy_req_int(ld, s, "nuisance.repeat", "window_s", 1, WEEK, &b) == 1 && ok;
		if (ok) {
			cfg->repeat_calls = a;
			cfg->repeat_window_s = b;
		}
	}
	s = policy_pattern_group(ld, g, "short", NUISANCE_PATTERN_SHORT, "nuisance.short",
	                         policy_short_keys);
	if (s != NULL) {
		ok = policy_req_int(ld, s, "nuisance.short", "calls", 1, RING, &a) == 1;
		ok = policy_req_int(ld, s, "nuisance.short", "shorter_than_s", 1, 3600, &b) == 1 &&
		     ok;
		ok = policy_req_int(ld, s, "nuisance.short", "window_s", 1, WEEK, &c) == 1 && ok;
		if (ok) {
			cfg->short_calls = a;
			cfg->short_max_s = b;
			cfg->short_window_s = c;
		}
	}
	s = policy_pattern_group(ld, g, "redial", NUISANCE_PATTERN_REDIAL, "nuisance.redial",
	                         policy_redial_keys);
	if (s != NULL && policy_req_int(ld, s, "nuisance.redial", "within_s", 1, 86400, &a) == 1)
		cfg->redial_gap_s = a;

	s = policy_get_group(ld, g, "nuisance", "auto_flag");
	if (s != NULL)
		policy_parse_auto_flag(ld, s);
	/* The ranges above are within the counters' limits; this keeps the two in step. */
	why = nuisance_cfg_check(cfg);
	if (why != NULL)
		policy_err(ld, policy_line(g), "nuisance: %s", why);
}

#undef RING
#undef WEEK

static void
policy_parse_calls(struct policy_ld *ld, const config_setting_t *root)
{
	struct policy_calls *pc = &ld->p->calls;
	const config_setting_t *g;
	int v;

	pc->retention_s = (int64_t)POLICY_DEFAULT_RETENTION_DAYS * 86400;
	pc->close_after_s = POLICY_DEFAULT_CLOSE_AFTER_S;
	pc->linger_s = POLICY_DEFAULT_LINGER_S;
	pc->max_calls = POLICY_DEFAULT_MAX_CALLS;
	g = policy_get_group(ld, root, NULL, "calls");
	if (g == NULL)
		return;
	policy_check_keys(ld, g, "calls", policy_calls_keys);
	if (policy_get_int(ld, g, "calls", "retention_days", 1, 3650, &v) == 1)
		pc->retention_s = (int64_t)v * 86400;
	if (policy_get_int(ld, g, "calls", "close_after_s", 60, 604800, &v) == 1)
		pc->close_after_s = v;
	if (policy_get_int(ld, g, "calls", "linger_s", 0, 3600, &v) == 1)
		pc->linger_s = v;
	if (policy_get_int(ld, g, "calls", "max_calls", 1000, 10000000, &v) == 1)
		pc->max_calls = (size_t)v;
}

/* A code reference from a rule condition: its index, or -1 after reporting. */
static int
policy_code_ref(struct policy_ld *ld, const config_setting_t *w, const char *ctx, const char *key)
{
	const char *name;
	char show[80];
	int ci;

	if (policy_get_str(ld, w, ctx, key, 0, &name) != 1)
		return -1;
	ci = policy_code_index(ld->p, name);
	if (ci < 0)
		policy_err(ld, policy_line(config_setting_get_member(w, key)),
		           "%s: %s refers to unknown code '%s'", ctx, key,
		           policy_show(show, sizeof(show), name));
	return ci;
}

static void
policy_parse_when(struct policy_ld *ld, const config_setting_t *g, struct policy_rule *r,
                  const char *ctx)
{
	const config_setting_t *w = config_setting_get_member(g, "when");
	const config_setting_t *s;

	if (w == NULL)
		return;
	if (config_setting_type(w) != CONFIG_TYPE_GROUP) {
		policy_err(ld, policy_line(w), "%s: 'when' must be a group { ... }, not %s", ctx,
		           policy_type_name(w));
		return;
	}
	policy_check_keys(ld, w, ctx, policy_when_keys);
	r->flag_at_least = policy_code_ref(ld, w, ctx, "flag_at_least");
	r->flag_exact = policy_code_ref(ld, w, ctx, "flag");
	s = config_setting_get_member(w, "score_at_least");
	if (s != NULL)
		policy_check_num(ld, s, ctx, "score_at_least", 0, 0, 1000000, &r->score_at_least);
	policy_get_bool(ld, w, ctx, "withheld", &r->withheld);
	s = config_setting_get_member(w, "dialed");
	if (s != NULL && policy_parse_numbers(ld, s, ctx, "dialed", &r->dialed, &r->ndialed) == 0 &&
	    r->ndialed == 0)
		policy_err(ld, policy_line(s), "%s: 'dialed' must list at least one number", ctx);
	s = config_setting_get_member(w, "nuisance");
	if (s != NULL)
		r->nuisance_patterns = policy_parse_patterns(ld, s, ctx, "nuisance");
}

static void
policy_parse_rule(struct policy_ld *ld, const config_setting_t *l, int i)
{
	struct policy *p = ld->p;
	struct policy_rule *r = &p->rules[i];
	const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
	const char *name, *qname = NULL, *reject = NULL, *s;
	char ctx[64], show[80];
	int dup, hq, hr;

	r->line = policy_line(g);
	r->flag_at_least = r->flag_exact = -1;
	r->score_at_least = -1;
	r->withheld = r->record = r->alert = r->max_wait_s = -1;
	r->queue = (int)p->default_queue;

	name = policy_elem_name(ld, g, "rule", i, ctx, sizeof(ctx));
	policy_check_keys(ld, g, ctx, policy_rule_keys);
	if (name != NULL) {
		dup = policy_dup_line(l, &p->rules[0].name, sizeof(*r), i, name);
		if (dup > 0)
			policy_err(ld, r->line, "%s: duplicate name (first defined on line %d)",
			           ctx, dup);
		else if (strcmp(name, "default") == 0 || strcmp(name, "allowlist") == 0)
			policy_err(ld, r->line,
			           "%s: the name is reserved for decisions made without a rule",
			           ctx);
		else if (strncmp(name, POLICY_REPORT_PREFIX, strlen(POLICY_REPORT_PREFIX)) == 0)
			policy_err(ld, r->line,
			           "%s: names starting with '%s' are reserved for mid-call report "
			           "decisions",
			           ctx, POLICY_REPORT_PREFIX);
		else
			r->name = policy_dup(ld, r->line, name);
	}
	policy_parse_when(ld, g, r, ctx);

	hq = policy_get_str(ld, g, ctx, "queue", 0, &qname);
	hr = policy_get_str(ld, g, ctx, "reject", 0, &reject);
	if (hq == 0 && hr == 0)
		policy_err(ld, r->line, "%s: needs an action: queue = \"...\" or reject = \"...\"",
		           ctx);
	else if (hq != 0 && hr != 0)
		policy_err(ld, r->line, "%s: has both 'queue' and 'reject'; give exactly one", ctx);
	if (hq == 1 && hr == 0) {
		r->action = RULE_QUEUE;
		r->queue = policy_queue_index(p, qname);
		if (r->queue < 0) {
			policy_err(ld, policy_line(config_setting_get_member(g, "queue")),
			           "%s: unknown queue '%s'", ctx,
			           policy_show(show, sizeof(show), qname));
			r->queue = (int)p->default_queue;
		}
	} else if (hr == 1 && hq == 0) {
		r->action = RULE_REJECT;
		r->reason = policy_dup(ld, r->line, reject);
	}
	if (policy_get_str(ld, g, ctx, "reason", 0, &s) == 1) {
		if (hr != 0)
			policy_err(
			    ld, policy_line(config_setting_get_member(g, "reason")),
			    "%s: a reject rule takes its reason from 'reject'; remove 'reason'",
			    ctx);
		else
			r->reason = policy_dup(ld, r->line, s);
	}
	r->has_priority = policy_get_int(ld, g, ctx, "priority", -1000, 1000, &r->priority) == 1;
	policy_get_bool(ld, g, ctx, "record", &r->record);
	policy_get_bool(ld, g, ctx, "alert", &r->alert);
	if (policy_get_str(ld, g, ctx, "announce", 0, &s) == 1)
		r->announce = policy_dup(ld, r->line, s);
	policy_get_int(ld, g, ctx, "max_wait_s", 1, 86400, &r->max_wait_s);
}

static void
policy_parse_rules(struct policy_ld *ld, const config_setting_t *root)
{
	const config_setting_t *l = policy_get_list(ld, root, "rules");
	struct policy *p = ld->p;
	int i, n;

	if (l == NULL)
		return;
	n = config_setting_length(l);
	if (n == 0)
		return;
	if (n > POLICY_MAX_RULES) {
		policy_err(ld, policy_line(l), "'rules' holds %d rules, at most %d are allowed", n,
		           POLICY_MAX_RULES);
		return;
	}
	p->rules = calloc((size_t)n, sizeof(*p->rules));
	if (p->rules == NULL) {
		policy_err(ld, policy_line(l), "out of memory");
		return;
	}
	p->nrules = (size_t)n;
	for (i = 0; i < n; i++)
		policy_parse_rule(ld, l, i);
}

/* Every code starts as "continue, no alert, no follow-up", with its decision's rule name. */
static int
policy_init_reports(struct policy_ld *ld)
{
	struct policy *p = ld->p;
	size_t i;

	if (p->ncodes == 0)
		return -1;
	p->on_report = calloc(p->ncodes, sizeof(*p->on_report));
	if (p->on_report == NULL) {
		policy_err(ld, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < p->ncodes; i++) {
		struct policy_report *r = &p->on_report[i];
		char rule[sizeof(POLICY_REPORT_PREFIX) + POLICY_NAME_MAX];

		r->action = REPORT_CONTINUE;
		r->queue = -1;
		if (p->codes[i].name == NULL)
			continue;
		snprintf(rule, sizeof(rule), "%s%s", POLICY_REPORT_PREFIX, p->codes[i].name);
		r->rule = policy_dup(ld, 0, rule);
	}
	return 0;
}

/* One on_report entry; lines[ci] remembers where code ci was listed first. */
static void
policy_parse_report(struct policy_ld *ld, const config_setting_t *l, int i, int *lines)
{
	struct policy *p = ld->p;
	const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
	const char *code, *action, *qname;
	struct policy_report rep;
	char ctx[64], show[80];
	int ci = -1, okaction = 0, hq, v;

	memset(&rep, 0, sizeof(rep));
	rep.queue = -1;
	snprintf(ctx, sizeof(ctx), "on_report #%d", i + 1);
	if (policy_get_str(ld, g, ctx, "code", 1, &code) == 1) {
		ci = policy_code_index(p, code);
		if (ci < 0)
			policy_err(ld, policy_line(config_setting_get_member(g, "code")),
			           "%s: unknown code '%s'", ctx,
			           policy_show(show, sizeof(show), code));
		else
			snprintf(ctx, sizeof(ctx), "on_report '%s'", code);
	}
	policy_check_keys(ld, g, ctx, policy_report_keys);
	if (ci >= 0 && lines[ci] > 0) {
		policy_err(ld, policy_line(g), "%s: the code is listed twice (first on line %d)",
		           ctx, lines[ci]);
		ci = -1;
	} else if (ci >= 0) {
		lines[ci] = policy_line(g);
	}

	if (policy_get_str(ld, g, ctx, "action", 1, &action) == 1) {
		okaction = 1;
		if (strcmp(action, "transfer") == 0)
			rep.action = REPORT_TRANSFER;
		else if (strcmp(action, "continue") == 0)
			rep.action = REPORT_CONTINUE;
		else {
			policy_err(ld, policy_line(config_setting_get_member(g, "action")),
			           "%s: 'action' must be \"continue\" or \"transfer\", not '%s'",
			           ctx, policy_show(show, sizeof(show), action));
			okaction = 0;
		}
	}
	hq = policy_get_str(ld, g, ctx, "queue", 0, &qname);
	if (okaction && rep.action == REPORT_TRANSFER && hq == 0)
		policy_err(ld, policy_line(g), "%s: a transfer needs a 'queue'", ctx);
	if (okaction && rep.action == REPORT_CONTINUE && hq == 1)
		policy_err(ld, policy_line(config_setting_get_member(g, "queue")),
		           "%s: 'queue' is only for transfers: remove it or use action = "
		           "\"transfer\"",
		           ctx);
	if (hq == 1 && (!okaction || rep.action == REPORT_TRANSFER)) {
		rep.queue = policy_queue_index(p, qname);
		if (rep.queue < 0)
			policy_err(ld, policy_line(config_setting_get_member(g, "queue")),
			           "%s: unknown queue '%s'", ctx,
			           policy_show(show, sizeof(show), qname));
	}
	policy_get_bool(ld, g, ctx, "alert", &rep.alert);
	if (policy_get_int(ld, g, ctx, "followup_hours", 1, 720, &v) == 1)
		rep.followup_s = (int64_t)v * POLICY_HOUR;
	if (policy_get_int(ld, g, ctx, "priority", -1000, 1000, &rep.priority) == 1) {
		if (okaction && rep.action == REPORT_CONTINUE)
			policy_err(ld, policy_line(config_setting_get_member(g, "priority")),
			           "%s: 'priority' is only for transfers: remove it", ctx);
		rep.has_priority = 1;
	}
	if (ci >= 0 && okaction && p->on_report != NULL) {
		rep.rule = p->on_report[ci].rule;
		if (rep.action == REPORT_CONTINUE) {
			rep.queue = -1;
			rep.has_priority = 0;
			rep.priority = 0;
		}
		p->on_report[ci] = rep;
	}
}

static void
policy_parse_on_report(struct policy_ld *ld, const config_setting_t *root)
{
	const config_setting_t *l;
	int i, n, *lines;

	if (policy_init_reports(ld) == -1 && ld->p->ncodes > 0)
		return;
	l = policy_get_list(ld, root, "on_report");
	if (l == NULL)
		return;
	n = config_setting_length(l);
	lines = calloc(ld->p->ncodes + 1, sizeof(*lines));
	if (lines == NULL) {
		policy_err(ld, policy_line(l), "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		policy_parse_report(ld, l, i, lines);
	free(lines);
}

/* Reports an integer literal s[0..n) that does not fit libconfig's 32-bit int. */
static void
policy_check_int_literal(struct policy_ld *ld, int line, const char *s, size_t n, int hex)
{
	char tok[32];
	long long v;

	if (n >= sizeof(tok)) {
		policy_err(ld, line, "the integer %.20s... is out of range", s);
		return;
	}
	memcpy(tok, s, n);
	tok[n] = '\0';
	/* Signed hex is a syntax error that libconfig reports itself. */
	if (hex && (tok[0] == '-' || tok[0] == '+'))
		return;
	errno = 0;
	v = strtoll(tok, NULL, hex ? 16 : 10);
	if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
		policy_err(ld, line, "the integer %s is out of range", tok);
}

/* Length of the number token at s[0..n): an integer, a hex integer or a decimal number. */
static size_t
policy_scan_number(struct policy_ld *ld, int line, const char *s, size_t n)
{
	size_t j = (s[0] == '-' || s[0] == '+');
	int hex = j + 1 < n && s[j] == '0' && (s[j + 1] == 'x' || s[j + 1] == 'X');

	if (hex) {
		for (j += 2; j < n && isxdigit((unsigned char)s[j]); j++)
			;
	} else {
		while (j < n && isdigit((unsigned char)s[j]))
			j++;
		if (j < n && (s[j] == '.' || s[j] == 'e' || s[j] == 'E')) {
			/* A decimal number: libconfig reads those as doubles. */
			while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '.' ||
			                 s[j] == 'e' || s[j] == 'E' || s[j] == '+' || s[j] == '-'))
				j++;
			return j;
		}
	}
	if (j < n && s[j] == 'L')
		return j + 1;
	policy_check_int_literal(ld, line, s, j, hex);
	return j;
}

/*
 * Whether a string may follow the token prev: a value after '=' or ':', a string to join, or
 * an element of a list or array. libconfig 1.5 leaks a string met anywhere else.
 */
static int
policy_string_allowed(char prev, const char *stack, int depth)
{
	if (prev == '=' || prev == ':' || prev == '"' || prev == '(' || prev == '[')
		return 1;
	if (prev != ',' || depth == 0)
		return 0;
	if (depth > 64)
		return 1; /* too deep to track: let libconfig decide */
	return stack[depth - 1] == '(' || stack[depth - 1] == '[';
}

/*
 * Catches what libconfig 1.5 gets wrong or explains badly: NUL bytes (the text would end
 * there), @include (the version hash would not cover the other file), integers beyond 32 bits
 * (libconfig wraps them around: 4294967296 becomes 0), a comma after the last element of a
 * list (a bare "syntax error" in libconfig 1.5) and a string where none may be (libconfig 1.5
 * would leak it).
 */
static void
policy_prescan(struct policy_ld *ld, const char *s, size_t n)
{
	size_t i = 0;
	int line = 1, strline, commaline = 0, depth = 0;
	char c, prev = 0, stack[64];

	while (i < n) {
		c = s[i];
		if (c == '\0') {
			policy_err(ld, line, "the file contains a NUL byte");
			return;
		}
		if (c == '\n') {
			line++;
			i++;
			continue;
		}
		if (isspace((unsigned char)c)) {
			i++;
			continue;
		}
		if (c == '#' || (c == '/' && i + 1 < n && s[i + 1] == '/')) {
			while (i < n && s[i] != '\n' && s[i] != '\0')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			for (i += 2; i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/'); i++)
				if (s[i] == '\n')
					line++;
			i += 2;
			continue;
		}
		/* Everything below is a token: a comma right before ')' or ']' is an error. */
		if ((c == ')' || c == ']') && prev == ',')
			policy_err(ld, commaline,
			           "comma after the last element of a list or array: remove it");
		if (c == ',')
			commaline = line;
		if (c == '"') {
			if (!policy_string_allowed(prev, stack, depth)) {
				policy_err(ld, line, "syntax error: a string is not expected here");
				return;
			}
			strline = line;
			for (i++; i < n && s[i] != '"' && s[i] != '\0'; i++) {
				if (s[i] == '\\' && i + 1 < n && s[i + 1] != '\0')
					i++;
				if (s[i] == '\n')
					line++;
			}
			if (i < n && s[i] == '\0') {
				policy_err(ld, line, "the file contains a NUL byte");
				return;
			}
			if (i >= n) {
				policy_err(ld, strline,
				           "unterminated string: a closing quote is missing");
				return;
			}
			i++;
			prev = '"';
			continue;
		}
		prev = c;
		if (c == '{' || c == '(' || c == '[') {
			if (depth < (int)sizeof(stack))
				stack[depth] = c;
			depth++;
		} else if ((c == '}' || c == ')' || c == ']') && depth > 0) {
			depth--;
		}
		if (c == '@' && n - i >= 8 && strncmp(s + i, "@include", 8) == 0) {
			policy_err(ld, line,
			           "@include is not supported: keep the policy in one file");
			while (i < n && s[i] != '\n' && s[i] != '\0')
				i++;
		} else if (isalpha((unsigned char)c) || c == '_' || c == '*') {
			while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' ||
			                 s[i] == '*' || s[i] == '-'))
				i++;
		} else if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && i + 1 < n &&
		                                         isdigit((unsigned char)s[i + 1]))) {
			i += policy_scan_number(ld, line, s + i, n - i);
		} else {
			i++;
		}
	}
}

/* 64-bit FNV-1a over the file's bytes: a version that changes whenever the file does. */
static uint64_t
policy_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
policy_free(struct policy *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	free(p->path);
	free(p->version);
	for (i = 0; i < p->nqueues; i++) {
		free(p->queues[i].name);
		free(p->queues[i].target);
		free(p->queues[i].announce);
	}
	free(p->queues);
	for (i = 0; i < p->ncodes; i++)
		free(p->codes[i].name);
	free(p->codes);
	for (i = 0; i < p->nallow; i++)
		free(p->allowlist[i]);
	free(p->allowlist);
	for (i = 0; i < p->nrules; i++) {
		struct policy_rule *r = &p->rules[i];

		free(r->name);
		for (j = 0; j < r->ndialed; j++)
			free(r->dialed[j]);
		free(r->dialed);
		free(r->reason);
		free(r->announce);
	}
	free(p->rules);
	if (p->on_report != NULL)
		for (i = 0; i < p->ncodes; i++)
			free(p->on_report[i].rule);
	free(p->on_report);
	free(p);
}

static void
policy_parse_root(struct policy_ld *ld, const config_setting_t *root)
{
	if (config_setting_length(root) == 0) {
		policy_err(ld, 1, "the policy is empty: it needs at least 'queues' and 'codes'");
		return;
	}
	policy_check_keys(ld, root, NULL, policy_root_keys);
	policy_parse_version(ld, root);
	policy_parse_score(ld, root);
	policy_parse_queues(ld, root);
	policy_parse_codes(ld, root);
	policy_parse_allowlist(ld, root);
	policy_parse_nuisance(ld, root);
	policy_parse_calls(ld, root);
	policy_parse_rules(ld, root);
	policy_parse_on_report(ld, root);
}

/* Parses text[0..len) (NUL-terminated) that came from the file called name. */
static struct policy *
policy_parse(const char *text, size_t len, const char *name, const char *cc, struct policy_ld *ld)
{
	struct policy *p;
	config_t cfg;
	char ver[24];

	if (cc == NULL)
		cc = "1";
	if (!number_valid_cc(cc)) {
		policy_err(ld, 0, "invalid country code '%.8s'", cc);
		return NULL;
	}
	policy_prescan(ld, text, len);
	if (ld->nerr > 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		policy_err(ld, 0, "out of memory");
		return NULL;
	}
	ld->p = p;
	p->refs = 1;
	p->loaded_at = (int64_t)time(NULL);
	snprintf(p->country_code, sizeof(p->country_code), "%s", cc);
	p->path = policy_dup(ld, 0, name);

	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		policy_err(ld, config_error_line(&cfg), "%s", config_error_text(&cfg));
	} else {
		policy_parse_root(ld, config_root_setting(&cfg));
	}
	config_destroy(&cfg);

	if (ld->nerr == 0 && p->version == NULL) {
		snprintf(ver, sizeof(ver), "sha-%016llx",
		         (unsigned long long)policy_hash(text, len));
		p->version = policy_dup(ld, 0, ver);
	}
	if (ld->nerr > 0) {
		policy_free(p);
		return NULL;
	}
	return p;
}

static struct policy *
policy_finish(struct policy_ld *ld, struct policy *p, char **errors)
{
	if (errors != NULL)
		*errors = NULL;
	if (p == NULL && errors != NULL) {
		*errors = jb_steal(&ld->err, NULL);
		if (*errors == NULL)
			*errors = strdup("out of memory");
	}
	jb_free(&ld->err);
	return p;
}

struct policy *
policy_load_string(const char *text, const char *name, const char *cc, char **errors)
{
	struct policy_ld ld;

	memset(&ld, 0, sizeof(ld));
	ld.file = name != NULL ? name : "(string)";
	return policy_finish(&ld, policy_parse(text, strlen(text), ld.file, cc, &ld), errors);
}

/* Reads the whole file, refusing directories, special files and anything over the limit. */
static char *
policy_read_file(struct policy_ld *ld, const char *path, size_t *lenp)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf = NULL, *nbuf;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		policy_err(ld, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		policy_err(ld, 0, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		policy_err(ld, 0, "is a directory, not a policy file");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		policy_err(ld, 0, "is not a regular file");
		goto fail;
	}
	if (st.st_size > POLICY_FILE_MAX)
		goto toolarge;
	cap = (size_t)st.st_size + 1;
	if (cap < 4096)
		cap = 4096;
	for (;;) {
		if (len + 1 >= cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			nbuf = realloc(buf, cap);
			if (nbuf == NULL) {
				policy_err(ld, 0, "out of memory");
				goto fail;
			}
			buf = nbuf;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			policy_err(ld, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > POLICY_FILE_MAX)
			goto toolarge;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
toolarge:
	policy_err(ld, 0, "is larger than %d MiB", POLICY_FILE_MAX / (1024 * 1024));
fail:
	free(buf);
	close(fd);
	return NULL;
}

struct policy *
policy_load(const char *path, const char *cc, char **errors)
{
	struct policy_ld ld;
	struct policy *p = NULL;
	size_t len;
	char *text;

	memset(&ld, 0, sizeof(ld));
	ld.file = path;
	text = policy_read_file(&ld, path, &len);
	if (text != NULL)
		p = policy_parse(text, len, path, cc, &ld);
	free(text);
	return policy_finish(&ld, p, errors);
}

struct policy *
policy_ref(struct policy *p)
{
	p->refs++;
	return p;
}

void
policy_unref(struct policy *p)
{
	if (p == NULL)
		return;
	if (--p->refs == 0)
		policy_free(p);
}

int
policy_code_index(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ncodes; i++)
		if (p->codes[i].name != NULL && strcmp(p->codes[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
policy_queue_index(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nqueues; i++)
		if (p->queues[i].name != NULL && strcmp(p->queues[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
policy_number_match(const char *pattern, const char *number)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, number, n - 1) == 0;
	return strcmp(pattern, number) == 0;
}

static int
policy_sorted_has(char *const *v, size_t n, const char *key)
{
	return bsearch(&key, v, n, sizeof(*v), policy_strcmp_p) != NULL;
}

int
policy_allowlisted(const struct policy *p, const char *number)
{
	char key[NUMBER_BUFSZ + 1];
	size_t i, len;

	if (number == NULL || number[0] == '\0' || p->nallow == 0)
		return 0;
	if (p->nallow <= 8) {
		for (i = 0; i < p->nallow; i++)
			if (policy_number_match(p->allowlist[i], number))
				return 1;
		return 0;
	}
	/* The list is sorted: look the number up, then each of its prefixes with a '*'. */
	len = strlen(number);
	if (len >= NUMBER_BUFSZ)
		return 0;
	if (policy_sorted_has(p->allowlist, p->nallow, number))
		return 1;
	for (i = 1; i <= len; i++) {
		memcpy(key, number, i);
		key[i] = '*';
		key[i + 1] = '\0';
		if (policy_sorted_has(p->allowlist, p->nallow, key))
			return 1;
	}
	return 0;
}

static void
policy_print_str(FILE *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	fputc('"', out);
	for (; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\')
			fprintf(out, "\\%c", *u);
		else if (*u == '\n')
			fputs("\\n", out);
		else if (*u == '\t')
			fputs("\\t", out);
		else if (*u < 0x20 || *u == 0x7f)
			fprintf(out, "\\x%02x", *u);
		else
			fputc(*u, out);
	}
	fputc('"', out);
}

/*
 * Prints the shortest decimal x with x * scale == v exactly, so a printed policy reloads to the
 * same numbers; integers get ".0" so they stay floats.
 */
static void
policy_print_num(FILE *out, double v, double scale)
{
	char buf[40];
	double y = v / scale, cand[3];
	int prec, k;

	cand[0] = y;
	cand[1] = nextafter(y, HUGE_VAL);
	cand[2] = nextafter(y, -HUGE_VAL);
	/* Plain decimals read best; exponents only for what they cannot show. */
	for (prec = 0; prec <= 17 && fabs(y) < 1e15; prec++)
		for (k = 0; k < 3; k++) {
			snprintf(buf, sizeof(buf), "%.*f", prec, cand[k]);
			if (strtod(buf, NULL) * scale == v)
				goto found;
		}
	for (prec = 1; prec <= 17; prec++)
		for (k = 0; k < 3; k++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, cand[k]);
			if (strtod(buf, NULL) * scale == v)
				goto found;
		}
	snprintf(buf, sizeof(buf), "%.17g", y);
found:
	fputs(buf, out);
	if (strpbrk(buf, ".e") == NULL)
		fputs(".0", out);
}

static void
policy_print_days(FILE *out, int64_t s)
{
	char buf[40];
	int prec;

	if (s == 0) {
		fputs("\"never\"", out);
		return;
	}
	if (s % 86400 == 0) {
		fprintf(out, "%lld", (long long)(s / 86400));
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*f", prec, (double)s / POLICY_DAY);
		if (llround(strtod(buf, NULL) * POLICY_DAY) == s)
			break;
	}
	fputs(buf, out);
	if (strpbrk(buf, ".e") == NULL)
		fputs(".0", out);
}

static void
policy_print_numbers(FILE *out, char *const *v, size_t n)
{
	size_t i;

	fputs("[", out);
	for (i = 0; i < n; i++) {
		fputs(i ? ", " : " ", out);
		policy_print_str(out, v[i]);
	}
	fputs(" ]", out);
}

static void
policy_print_patterns(FILE *out, unsigned bits)
{
	const char *sep = " ";
	unsigned i;

	fputs("[", out);
	for (i = 0; policy_pattern_names[i] != NULL; i++)
		if (bits & (1u << i)) {
			fprintf(out, "%s\"%s\"", sep, policy_pattern_names[i]);
			sep = ", ";
		}
	fputs(" ]", out);
}

static void
policy_print_rule(const struct policy *p, const struct policy_rule *r, FILE *out)
{
	fputs("  { name = ", out);
	policy_print_str(out, r->name);
	fputs(";", out);
	if (r->flag_at_least >= 0 || r->flag_exact >= 0 || r->score_at_least >= 0 ||
	    r->withheld >= 0 || r->ndialed > 0 || r->nuisance_patterns != 0) {
		fputs(" when = {", out);
		if (r->flag_at_least >= 0) {
			fputs(" flag_at_least = ", out);
			policy_print_str(out, p->codes[r->flag_at_least].name);
			fputs(";", out);
		}
		if (r->flag_exact >= 0) {
			fputs(" flag = ", out);
			policy_print_str(out, p->codes[r->flag_exact].name);
			fputs(";", out);
		}
		if (r->score_at_least >= 0) {
			fputs(" score_at_least = ", out);
			policy_print_num(out, r->score_at_least, 1.0);
			fputs(";", out);
		}
		if (r->withheld >= 0)
			fprintf(out, " withheld = %s;", r->withheld ? "true" : "false");
		if (r->ndialed > 0) {
			fputs(" dialed = ", out);
			policy_print_numbers(out, r->dialed, r->ndialed);
			fputs(";", out);
		}
		if (r->nuisance_patterns != 0) {
			fputs(" nuisance = ", out);
			policy_print_patterns(out, r->nuisance_patterns);
			fputs(";", out);
		}
		fputs(" };", out);
	}
	if (r->action == RULE_REJECT) {
		fputs(" reject = ", out);
		policy_print_str(out, r->reason);
	} else {
		fputs(" queue = ", out);
		policy_print_str(out, p->queues[r->queue].name);
	}
	fputs(";", out);
	if (r->has_priority)
		fprintf(out, " priority = %d;", r->priority);
	if (r->record >= 0)
		fprintf(out, " record = %s;", r->record ? "true" : "false");
	if (r->alert >= 0)
		fprintf(out, " alert = %s;", r->alert ? "true" : "false");
	if (r->announce != NULL) {
		fputs(" announce = ", out);
		policy_print_str(out, r->announce);
		fputs(";", out);
	}
	if (r->max_wait_s >= 0)
		fprintf(out, " max_wait_s = %d;", r->max_wait_s);
	if (r->action == RULE_QUEUE && r->reason != NULL) {
		fputs(" reason = ", out);
		policy_print_str(out, r->reason);
		fputs(";", out);
	}
	fputs(" }", out);
}

static void
policy_print_nuisance(const struct policy *p, FILE *out)
{
	const struct policy_nuisance *pn = &p->nuisance;
	const struct nuisance_cfg *c = &pn->cfg;

	fprintf(out, "nuisance = {\n  max_tracked = %zu;\n", c->max_tracked);
	if (c->repeat_calls > 0)
		fprintf(out, "  repeat = { calls = %d; window_s = %lld; };\n", c->repeat_calls,
		        (long long)c->repeat_window_s);
	if (c->short_calls > 0)
		fprintf(out, "  short = { calls = %d; shorter_than_s = %lld; window_s = %lld; };\n",
		        c->short_calls, (long long)c->short_max_s, (long long)c->short_window_s);
	if (c->redial_gap_s > 0)
		fprintf(out, "  redial = { within_s = %lld; };\n", (long long)c->redial_gap_s);
	if (pn->auto_flag_code >= 0) {
		fputs("  auto_flag = { code = ", out);
		policy_print_str(out, p->codes[pn->auto_flag_code].name);
		fputs("; patterns = ", out);
		policy_print_patterns(out, pn->auto_flag_patterns);
		fputs(";", out);
		if (pn->auto_flag_expires_s != 0) {
			fputs(" expires_days = ", out);
			policy_print_days(out, pn->auto_flag_expires_s);
			fputs(";", out);
		}
		fputs(" };\n", out);
	}
	fputs("};\n", out);
}

static void
policy_print_on_report(const struct policy *p, FILE *out)
{
	size_t i;

	fputs("on_report = (\n", out);
	for (i = 0; i < p->ncodes; i++) {
		const struct policy_report *r = &p->on_report[i];

		fputs("  { code = ", out);
		policy_print_str(out, p->codes[i].name);
		if (r->action == REPORT_TRANSFER) {
			fputs("; action = \"transfer\"; queue = ", out);
			policy_print_str(out, p->queues[r->queue].name);
			if (r->has_priority)
				fprintf(out, "; priority = %d", r->priority);
		} else {
			fputs("; action = \"continue\"", out);
		}
		fprintf(out, "; alert = %s;", r->alert ? "true" : "false");
		if (r->followup_s != 0)
			fprintf(out, " followup_hours = %lld;",
			        (long long)(r->followup_s / POLICY_HOUR));
		fputs(i + 1 < p->ncodes ? " },\n" : " }\n", out);
	}
	fputs(");\n", out);
}

unsigned
policy_fired_patterns(const struct nuisance_view *v)
{
	if (v == NULL)
		return 0;
	return (v->repeat_fired ? NUISANCE_PATTERN_REPEAT : 0) |
	       (v->short_fired ? NUISANCE_PATTERN_SHORT : 0) |
	       (v->redial_fired ? NUISANCE_PATTERN_REDIAL : 0);
}

void
policy_print(const struct policy *p, FILE *out)
{
	size_t i;

	fputs("version = ", out);
	policy_print_str(out, p->version);
	fputs(";\nscore = { half_life_days = ", out);
	policy_print_num(out, p->half_life_s, POLICY_DAY);
	fputs("; };\n\nqueues = (\n", out);
	for (i = 0; i < p->nqueues; i++) {
		const struct policy_queue *q = &p->queues[i];

		fputs("  { name = ", out);
		policy_print_str(out, q->name);
		fputs("; target = ", out);
		policy_print_str(out, q->target);
		fprintf(out, "; priority = %d;", q->priority);
		if (q->max_wait_s >= 0)
			fprintf(out, " max_wait_s = %d;", q->max_wait_s);
		if (q->announce != NULL) {
			fputs(" announce = ", out);
			policy_print_str(out, q->announce);
			fputs(";", out);
		}
		if (i == p->default_queue)
			fputs(" default = true;", out);
		fputs(i + 1 < p->nqueues ? " },\n" : " }\n", out);
	}
	fputs(");\n\ncodes = (\n", out);
	for (i = 0; i < p->ncodes; i++) {
		fputs("  { name = ", out);
		policy_print_str(out, p->codes[i].name);
		fputs("; weight = ", out);
		policy_print_num(out, p->codes[i].weight, 1.0);
		fputs("; expires_days = ", out);
		policy_print_days(out, p->codes[i].expires_s);
		fputs(i + 1 < p->ncodes ? "; },\n" : "; }\n", out);
	}
	fputs(");\n\nallowlist = ", out);
	policy_print_numbers(out, p->allowlist, p->nallow);
	fputs(";\n\n", out);
	policy_print_nuisance(p, out);
	fprintf(out,
	        "\ncalls = { retention_days = %lld; close_after_s = %lld; linger_s = %lld; "
	        "max_calls = %zu; };\n\n",
	        (long long)(p->calls.retention_s / 86400), (long long)p->calls.close_after_s,
	        (long long)p->calls.linger_s, p->calls.max_calls);
	policy_print_on_report(p, out);
	fputs("\nrules = (\n", out);
	for (i = 0; i < p->nrules; i++) {
		policy_print_rule(p, &p->rules[i], out);
		fputs(i + 1 < p->nrules ? ",\n" : "\n", out);
	}
	fputs(");\n", out);
}
