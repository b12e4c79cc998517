/*
 * The line protocol: parsing one request line into a validated request, typed field access that
 * records the first error, and the common reply framing. The JSON library stays inside proto.c.
 */
#ifndef CW_PROTO_H
#define CW_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "jbuf.h"

#define PROTO_DEFAULT_MAX_LINE 65536
/* Unix seconds accepted for ts and other times: 1970 up to the end of year 9999. */
#define PROTO_TIME_MAX 253402300799LL

enum proto_error {
	PROTO_OK = 0,
	PROTO_BAD_JSON,
	PROTO_LINE_TOO_LONG,
	PROTO_UNKNOWN_OP,
	PROTO_MISSING_FIELD,
	PROTO_BAD_FIELD,
	PROTO_NOT_FOUND,
	PROTO_UNAUTHORIZED,
	PROTO_FORBIDDEN,
	PROTO_CONFLICT,
	PROTO_UNAVAILABLE,
	PROTO_INTERNAL,
};

/* The wire name of an error code, e.g. "bad_json". */
const char *proto_error_name(enum proto_error e);

struct proto_req; /* one parsed request; owns its JSON tree */

/*
 * Optional, once, before any other use of cJSON in the process and before threads start: from
 * then on a parsed request's JSON tree is allocated in one arena with the request, not node by
 * node. It installs cJSON's global allocation hooks.
 */
void proto_init(void);

/*
 * Parses one line (without its terminator). Returns NULL when the line is not valid UTF-8 JSON
 * holding an object, with *err = PROTO_BAD_JSON and a message in msg. A returned request may
 * still lack a valid "op" or "id": check proto_req_op().
 */
struct proto_req *proto_req_parse(const char *line, size_t len, enum proto_error *err, char *msg,
                                  size_t msglen);
void proto_req_free(struct proto_req *r);

/*
 * For front ends that gather a request's fields themselves (the HTTP API): an empty request, and
 * fields added one by one. Adding a field the request holds already records bad_field ("given
 * twice") and returns -1; so does running out of memory (internal).
 */
struct proto_req *proto_req_new(void);
int proto_req_add_str(struct proto_req *r, const char *name, const char *value);
int proto_req_add_num(struct proto_req *r, const char *name, double value);

/* The op name, or NULL when "op" is absent or not a string (the error is then recorded). */
const char *proto_req_op(struct proto_req *r);
/* The id as JSON text for echoing (NUL-terminated, owned by r), or NULL when absent. */
const char *proto_req_id(const struct proto_req *r);

/* The first recorded error, PROTO_OK when none; *msg (optional) gets its message. */
enum proto_error proto_req_error(const struct proto_req *r, const char **msg);
/* Records an error unless one is recorded already; returns -1 for use in return statements. */
int proto_req_fail(struct proto_req *r, enum proto_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PROTO_OPTIONAL 0
#define PROTO_REQUIRED 1

/*
 * Typed field getters. Each returns 1 when the field is present and valid (*out set), 0 when it
 * is absent and optional (*out untouched), -1 on an error: absent and required (missing_field),
 * wrong type, out of range, too long, or holding a NUL (bad_field). Errors are recorded in r.
 * A JSON null counts as absent. Strings stay owned by r.
 */
int proto_str(struct proto_req *r, const char *name, int required, size_t maxlen, const char **out);
int proto_int(struct proto_req *r, const char *name, int required, int64_t min, int64_t max,
              int64_t *out);
int proto_num(struct proto_req *r, const char *name, int required, double min, double max,
              double *out);
int proto_bool(struct proto_req *r, const char *name, int required, int *out);
/* An array of strings, each at most maxlen bytes; *out is a malloc'ed array the caller frees. */
int proto_str_array(struct proto_req *r, const char *name, int required, size_t maxn, size_t maxlen,
                    const char ***out, size_t *n);
/* "ts": when absent *out = now. Fractions are truncated. */
int proto_ts(struct proto_req *r, int64_t now, int64_t *out);

/*
 * Lenient reads for call.offered, which must decide even on odd input: the value when present
 * and of the right type, else NULL / 0. Nothing is recorded.
 */
const char *proto_peek_str(const struct proto_req *r, const char *name);
int proto_peek_num(const struct proto_req *r, const char *name, double *out);
int proto_peek_bool(const struct proto_req *r, const char *name, int *out);

/*
 * Fails with bad_field naming the first field that is neither in allowed (NULL-terminated) nor
 * one of "op", "id", "ts". Returns 0 or -1.
 */
int proto_check_fields(struct proto_req *r, const char *const *allowed);

/* Starts a reply object: {"id":...,"ok":true  (id omitted when idjson is NULL). */
void proto_reply_ok(struct jbuf *jb, const char *idjson);
/* Closes the reply object and adds the newline. */
void proto_reply_end(struct jbuf *jb);
/* Starts an error reply: {"id":...,"ok":false,"error":{...}  left open for more fields. */
void proto_reply_error_begin(struct jbuf *jb, const char *idjson, enum proto_error e,
                             const char *msg);
/* A complete error reply line. */
void proto_reply_error(struct jbuf *jb, const char *idjson, enum proto_error e, const char *msg);
/* The error code of a reply line written as above; PROTO_OK for an ok reply. */
enum proto_error proto_reply_code(const char *line, size_t len);

#endif
