/*
 * The routing policy: a libconfig file loaded into an immutable, reference-counted object.
 * Loading either succeeds completely or reports every error as "file:line: reason".
 */
#ifndef CW_POLICY_H
#define CW_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct policy_queue {
	char *name;
	char *target;   /* free text for the telephony side */
	char *announce; /* NULL when unset */
	int priority;
	int max_wait_s; /* -1 when unset */
};

struct policy_code {
	char *name;
	double weight;
	int64_t expires_s; /* default flag lifetime; 0 means never */
};

enum rule_action { RULE_QUEUE, RULE_REJECT };

/* Conditions are ANDed; a rule without conditions always matches. */
struct policy_rule {
	char *name;
	int line;
	int flag_at_least;     /* code index (severity order), -1 when unset */
	int flag_exact;        /* code index, -1 when unset */
	double score_at_least; /* < 0 when unset */
	int withheld;          /* -1 unset, 0 caller must not be withheld, 1 must be */
	char **dialed;         /* normalised numbers; a trailing '*' makes a prefix */
	size_t ndialed;

	enum rule_action action;
	int queue;    /* queue index; for RULE_REJECT the default queue */
	char *reason; /* optional text; required for RULE_REJECT */
	int has_priority;
	int priority;
	int record;     /* -1 unset, else 0/1 */
	int alert;      /* -1 unset, else 0/1 */
	char *announce; /* NULL when unset */
	int max_wait_s; /* -1 when unset */
};

/*
 * Immutable once loaded. The reference count is not atomic: a policy is shared only by code
 * running on the event loop's thread.
 */
struct policy {
	int refs;
	char *path;
	char *version; /* "version" setting, or "sha-" + hex hash of the file */
	int64_t loaded_at;
	char country_code[4];

	struct policy_queue *queues;
	size_t nqueues;
	size_t default_queue;

	struct policy_code *codes; /* least to most severe */
	size_t ncodes;

	double half_life_s; /* score decay half-life */

	char **allowlist; /* normalised numbers; a trailing '*' makes a prefix */
	size_t nallow;

	struct policy_rule *rules; /* first match wins */
	size_t nrules;
};

/*
 * Loads and validates a policy. cc is the default country code used to normalise numbers in
 * the file. On success returns a policy with one reference. On failure returns NULL and sets
 * *errors (caller frees) to every error found, one "file:line: reason" per line.
 */
struct policy *policy_load(const char *path, const char *cc, char **errors);
/* The same from text in memory; name stands for the file name in errors. */
struct policy *policy_load_string(const char *text, const char *name, const char *cc,
                                  char **errors);

struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p); /* NULL is a no-op */

/* Index of the named code or queue, or -1. */
int policy_code_index(const struct policy *p, const char *name);
int policy_queue_index(const struct policy *p, const char *name);

/* 1 when number matches pattern: equal, or pattern ends in '*' and is a prefix of number. */
int policy_number_match(const char *pattern, const char *number);
/* 1 when number is on the allowlist. */
int policy_allowlisted(const struct policy *p, const char *number);

/* Prints the policy in canonical libconfig form; the printout loads again to the same policy. */
void policy_print(const struct policy *p, FILE *out);

#endif
