/*
 * The routing policy: a libconfig file loaded into an immutable, reference-counted object.
 * Loading either succeeds completely or reports every error as "file:line: reason".
 */
#ifndef CW_POLICY_H
#define CW_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nuisance.h"

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
	int record;                 /* -1 unset, else 0/1 */
	int alert;                  /* -1 unset, else 0/1 */
	char *announce;             /* NULL when unset */
	int max_wait_s;             /* -1 when unset */
	unsigned nuisance_patterns; /* NUISANCE_PATTERN_* bits; 0: no condition */
};

/* Bits naming the nuisance patterns in rule conditions and auto_flag. */
#define NUISANCE_PATTERN_REPEAT 1u
#define NUISANCE_PATTERN_SHORT  2u
#define NUISANCE_PATTERN_REDIAL 4u

/* The "nuisance" section. A pattern whose group is absent is disabled (its cfg fields are 0). */
struct policy_nuisance {
	struct nuisance_cfg cfg;
	int auto_flag_code;          /* code index of the automatic flag, -1: no auto-flagging */
	unsigned auto_flag_patterns; /* NUISANCE_PATTERN_* bits that add the flag */
	int64_t auto_flag_expires_s; /* 0: the code's default lifetime */
};

/* The "calls" section: the call log and the calls held in memory. */
struct policy_calls {
	int64_t retention_s;   /* call-log rows older than this are deleted */
	int64_t close_after_s; /* an open call without an end event is closed after this */
	int64_t linger_s;      /* ended calls stay in memory this long for late events */
	size_t max_calls;      /* calls held in memory */
};

enum report_action { REPORT_CONTINUE, REPORT_TRANSFER };

/* What a mid-call report (call.report) of one code does. Codes not listed: continue, no more. */
struct policy_report {
	enum report_action action;
	int queue;          /* queue index for REPORT_TRANSFER, -1 for REPORT_CONTINUE */
	int alert;          /* 0/1 */
	int64_t followup_s; /* follow-up task due this long after the report; 0: none */
	int has_priority;   /* transfer only: priority overrides the queue's */
	int priority;
	char *rule; /* "report-<code>": the decision's rule name */
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

	struct policy_nuisance nuisance;
	struct policy_calls calls;
	struct policy_report *on_report; /* ncodes entries, indexed by code index */
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

/* NUISANCE_PATTERN_* bits of the patterns that fired in v; 0 when v is NULL. */
unsigned policy_fired_patterns(const struct nuisance_view *v);

/* Prints the policy in canonical libconfig form; the printout loads again to the same policy. */
void policy_print(const struct policy *p, FILE *out);

#endif
