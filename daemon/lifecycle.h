/* Calls in progress, the call log and the nuisance counters, wired to the event loop. */
#ifndef CW_LIFECYCLE_H
#define CW_LIFECYCLE_H

#include <stdint.h>

#include "nuisance.h"
#include "route.h"
#include "server.h"

/*
 * Opens the call log (a writer thread that commits every 50 ms, and a reader for caller.show),
 * rebuilds the nuisance counters and the open calls from the log, and starts the 1 s tick that
 * closes stale calls and prunes old rows. The store writer must have migrated the database.
 */
int lifecycle_start(struct server *srv, char **cause);
/* Commits what the call-log thread holds and closes everything. */
void lifecycle_stop(struct server *srv);
/*
 * 1 while the call-log thread is too far behind for connections to be read; the daemon then
 * resumes them itself once it has caught up.
 */
int lifecycle_backlogged(struct server *srv);
/* Applies a reloaded policy's nuisance and call settings. */
void lifecycle_policy_changed(struct server *srv);

/*
 * The nuisance counters for a call about to be decided. record 0 only looks (dry runs and
 * retried offers). key receives the call's nuisance key ("" when it has none).
 */
void lifecycle_counters(struct server *srv, const char *caller, const char *dialed, int64_t ts,
                        int record, struct nuisance_view *v, char key[NUISANCE_KEY_MAX]);
/* Remembers an offered call and logs it with its decision. */
void lifecycle_offered(struct server *srv, const char *call_id, const char *caller,
                       const char *dialed, const char *key, int64_t ts, const struct decision *d);
/* Adds an automatic nuisance flag when the policy asks for one and the caller has none. */
void lifecycle_auto_flag(struct server *srv, const char *caller, const struct nuisance_view *v,
                         const struct flag_list *flags, int64_t ts);

/* The automatic flag for caller is committed (or failed): later calls see it themselves. */
void lifecycle_auto_flag_done(struct server *srv, const char *caller);

struct call;
struct call_row;
/* The call in progress (or lingering after its end), or NULL. */
struct call *lifecycle_find(struct server *srv, const char *call_id);
/* Records an answer (the first wins); a time before the offer counts as the offer's. */
void lifecycle_answered(struct server *srv, struct call *c, int64_t ts, const char *agent);
/* Records an end: 1, or 0 when the call had ended already (nothing changes). */
int lifecycle_ended(struct server *srv, struct call *c, int64_t ts, const char *ended_by,
                    int abandoned);
/* The caller's newest logged calls, newest first; how many were put in out. */
/* One logged call as caller.show and caller.export list it. */
void lifecycle_write_call(struct jbuf *jb, const struct call_row *c);
size_t lifecycle_recent_calls(struct server *srv, const char *caller, struct call_row *out,
                              size_t limit);

#endif
