/* The writer thread: durable writes on their own SQLite connection, off the event loop. */
#ifndef CW_WRITER_H
#define CW_WRITER_H

#include <sys/queue.h>

#include <event2/event.h>

#include "store.h"

struct job;
/* Runs on the writer thread inside the batch transaction; sets job->status. */
typedef void (*job_run_fn)(struct store *st, struct job *job);
/* Runs on the loop thread once the batch is committed (or failed); frees the job. */
typedef void (*job_done_fn)(struct job *job);

/* A request for the writer; ops embed it at the start of their own job structs. */
struct job {
	STAILQ_ENTRY(job) entry;
	job_run_fn run;
	job_done_fn done;
	enum store_status status;
	char errmsg[256];
};

struct writer;

/*
 * Starts the thread with its own writer connection to path (already migrated). busy_ms bounds
 * the wait for the database lock. Returns NULL with *cause on failure.
 */
struct writer *writer_start(struct event_base *base, const char *path, int busy_ms, char **cause);
/* Hands a job to the thread. Never blocks on the database. */
void writer_submit(struct writer *w, struct job *job);
/* Finishes queued jobs, runs their done callbacks, joins the thread, frees w. */
void writer_stop(struct writer *w);

#endif
