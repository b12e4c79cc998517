/*
 * A writer thread: work on its own SQLite connection, off the event loop. The daemon runs three:
 * flags and audit rows (a reply waits for each commit), the call log (batches gathered on the
 * loop; nobody waits) and slow queries (lists, exports, policy parsing and simulation).
 */
#ifndef CW_WRITER_H
#define CW_WRITER_H

#include <sys/queue.h>

#include <event2/event.h>

#include "store.h"

struct job;
/* Runs on the writer thread inside the batch transaction; db is the writer's connection. */
typedef void (*job_run_fn)(void *db, struct job *job);
/*
 * Runs on the loop thread once the batch is committed (or failed) and frees the job. NULL: the
 * writer frees the job (with free) itself after the commit.
 */
typedef void (*job_done_fn)(struct job *job);

/* How the writer drives its connection: the store's and the call log's functions. */
struct writer_db {
	void *db;
	enum store_status (*begin)(void *db);
	enum store_status (*commit)(void *db);
	void (*rollback)(void *db);
	const char *(*errmsg)(const void *db);
	void (*close)(void *db);
	/* Nice value added to the thread (WRITER_IDLE: only on an idle CPU): work nobody waits for
	 * yields the CPU to the loop. */
	int nice;
};

/* A request for the writer; ops embed it at the start of their own job structs. */
struct job {
	STAILQ_ENTRY(job) entry;
	job_run_fn run;
	job_done_fn done;
	enum store_status status;
	char errmsg[256];
	size_t weight; /* rows the job carries, for a retrying writer's bound; 0 counts as 1 */
};

struct writer;

/* A writer_db nice beyond nice's range: SCHED_IDLE, the thread runs when a CPU is idle. */
#define WRITER_IDLE 20

/*
 * Starts the thread; it owns db from now on and closes it in writer_stop. Jobs that arrive while
 * a batch runs make up the next batch, committed once. Returns NULL with *cause (caller frees)
 * on failure, db closed.
 */
struct writer *writer_start(struct event_base *base, const struct writer_db *db, char **cause);
/*
 * Makes w retry batches whose commit fails (or whose job reports STORE_BUSY) instead of failing
 * them, keeping at most max rows (job weights) meanwhile; the oldest beyond are given up,
 * counted and logged. The default 0 fails a batch at once.
 */
void writer_retain(struct writer *w, size_t max);
/* 1 while the writer's last commit failed. */
int writer_failing(struct writer *w);
/* Jobs waiting or running: for backpressure and stats. */
size_t writer_backlog(struct writer *w);
/* Hands a job to the thread. Never blocks on the database. */
void writer_submit(struct writer *w, struct job *job);
/* Finishes queued jobs, runs their done callbacks, joins the thread, frees w. */
void writer_stop(struct writer *w);

#endif
