/*
 * The memory budget a policy gives the daemon's two bounded tables (nuisance tracker and calls in
 * memory), measured by filling the library's own structures to capacity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "cwbench.h"
#include "nuisance.h"
#include "policy.h"

/* Fills a tracker with max_tracked distinct keys and reports the bytes it then holds. */
static int
budget_nuisance(const struct nuisance_cfg *cfg, size_t *bytes)
{
	struct nuisance *n = nuisance_new(cfg);
	char key[NUISANCE_KEY_MAX];
	size_t i;

	if (n == NULL)
		return -1;
	for (i = 0; i < cfg->max_tracked; i++) {
		snprintf(key, sizeof(key), "+1%llu", (unsigned long long)(CWBENCH_BUDGET_BASE + i));
		if (nuisance_offered(n, key, 1767225600, NULL) == -1) {
			nuisance_free(n);
			return -1;
		}
	}
	*bytes = nuisance_memory_bytes(n);
	nuisance_free(n);
	return 0;
}

static int
budget_calls(size_t max_calls, int64_t linger_s, size_t *bytes)
{
	struct calls *t = calls_new(max_calls, linger_s);
	struct call c;
	size_t i;

	if (t == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.offered_at = 1767225600;
	for (i = 0; i < max_calls; i++) {
		snprintf(c.call_id, sizeof(c.call_id), "budget-%zu", i);
		if (calls_add(t, &c, NULL, NULL) == -1) {
			calls_free(t);
			return -1;
		}
	}
	*bytes = calls_memory_bytes(t);
	calls_free(t);
	return 0;
}

int
budget_compute(const char *policy_path, struct budget *b)
{
	char *errors = NULL;
	struct policy *p = policy_load(policy_path, "1", &errors);
	int rc = 0;

	memset(b, 0, sizeof(*b));
	if (p == NULL) {
		fprintf(stderr, "cwbench: --policy %s:\n%s", policy_path,
		        errors != NULL ? errors : "cannot be loaded\n");
		free(errors);
		return -1;
	}
	b->max_tracked = p->nuisance.cfg.max_tracked;
	b->max_calls = p->calls.max_calls;
	if (budget_nuisance(&p->nuisance.cfg, &b->nuisance_bytes) == -1 ||
	    budget_calls(p->calls.max_calls, p->calls.linger_s, &b->calls_bytes) == -1) {
		fprintf(stderr, "cwbench: cannot build the policy's tables to measure them\n");
		rc = -1;
	}
	policy_unref(p);
	return rc;
}
