/*
 * The writer thread. Jobs queue under a mutex; the thread takes every queued job, runs them in
 * one transaction (each job is its own savepoint inside the store) and commits once, so a burst
 * of writes costs one fsync. Finished jobs go back to the loop through an eventfd, where their
 * done callbacks send the replies: a reply is never sent before its commit.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "writer.h"

STAILQ_HEAD(job_queue, job);

/* A retrying writer's pause between failed commits (a full disk fails at once). */
#define WRITER_RETRY_MS 50
/* Rows in one batch that show an idle-scheduled writer has fallen behind (a few batches). */
#define WRITER_IDLE_BEHIND 16384

struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job_queue todo; /* loop -> thread */
	struct job_queue done; /* thread -> loop */
	int stop;
	int efd;
	/* Submitted, not yet done. Atomic so the loop can read it for backpressure without the
	 * lock. */
	atomic_size_t backlog;
	atomic_int failing;    /* the last batch could not be committed */
	size_t retain_max;     /* rows kept for retry while commits fail; 0: fail at once */
	int idle, idle_warned; /* thread only: running SCHED_IDLE (see writer_set_idle) */
	uint64_t dropped;      /* rows given up while failing, thread only */
	struct event *ev;
	struct writer_db db; /* the connection, used only by the thread */
};

static void
writer_fail_all(struct job_queue *batch, enum store_status st, const char *msg)
{
	struct job *job;

	STAILQ_FOREACH(job, batch, entry)
	{
		job->status = st;
		snprintf(job->errmsg, sizeof(job->errmsg), "%s", msg);
	}
}

/* Runs a batch in one transaction. Returns its commit's status: not OK when nothing was kept. */
static enum store_status
writer_run_batch(struct writer *w, struct job_queue *batch)
{
	struct job *job;
	enum store_status st;
	char msg[256];

	st = w->db.begin(w->db.db);
	if (st != STORE_OK) {
		writer_fail_all(batch, st, w->db.errmsg(w->db.db));
		return st;
	}
	STAILQ_FOREACH(job, batch, entry)
	{
		job->status = STORE_OK;
		job->errmsg[0] = '\0';
		job->run(w->db.db, job);
		if (job->status == STORE_BUSY || job->status == STORE_ERROR)
			snprintf(job->errmsg, sizeof(job->errmsg), "%s", w->db.errmsg(w->db.db));
		if (job->status == STORE_BUSY && w->retain_max > 0) {
			/* Locked out: every later row would wait as long. Retry the batch whole. */
			snprintf(msg, sizeof(msg), "%s", job->errmsg);
			w->db.rollback(w->db.db);
			writer_fail_all(batch, STORE_BUSY, msg);
			return STORE_BUSY;
		}
	}
	st = w->db.commit(w->db.db);
	if (st != STORE_OK) {
		snprintf(msg, sizeof(msg), "%s", w->db.errmsg(w->db.db));
		w->db.rollback(w->db.db);
		writer_fail_all(batch, st, msg);
	}
	return st;
}

/* Queues finished jobs for their done callbacks; jobs nobody waits for are freed here. */
static void
writer_hand_back(struct writer *w, struct job_queue *batch)
{
	struct job_queue keep;
	struct job *job;
	size_t freed = 0, failed = 0;
	char why[256] = "";

	STAILQ_INIT(&keep);
	while ((job = STAILQ_FIRST(batch)) != NULL) {
		STAILQ_REMOVE_HEAD(batch, entry);
		if (job->done == NULL) {
			if (job->status != STORE_OK && failed++ == 0)
				snprintf(why, sizeof(why), "%s", job->errmsg);
			free(job);
			freed++;
		} else
			STAILQ_INSERT_TAIL(&keep, job, entry);
	}
	pthread_mutex_lock(&w->lock);
	STAILQ_CONCAT(&w->done, &keep);
	pthread_mutex_unlock(&w->lock);
	atomic_fetch_sub_explicit(&w->backlog, freed, memory_order_relaxed);
	if (failed > 0) /* one line for the batch, not one per row */
		log_warnx("writer: %zu writes failed: %s", failed, why);
}

/* Rows a job carries (its weight; a job without one counts as one row). */
static size_t
writer_job_rows(const struct job *job)
{
	return job->weight > 0 ? job->weight : 1;
}

static size_t
writer_weight(const struct job_queue *batch)
{
	const struct job *job;
	size_t rows = 0;

	STAILQ_FOREACH(job, batch, entry)
	rows += writer_job_rows(job);
	return rows;
}

/*
 * A retrying writer (retain_max > 0) whose batch could not be committed (a locked database, a
 * full disk) keeps it, ahead of what came since, to try again; beyond retain_max rows the
 * oldest jobs are given up: freed when nobody waits for them, else failed back to the loop.
 */
static void
writer_retry_later(struct writer *w, struct job_queue *batch, const char *why)
{
	struct job_queue failed;
	struct job *job;
	size_t rows = 0, dropped = 0;

	STAILQ_INIT(&failed);
	if (!atomic_exchange(&w->failing, 1))
		log_warnx("writer: cannot commit (%s): keeping up to %zu rows to retry", why,
		          w->retain_max);
	pthread_mutex_lock(&w->lock);
	STAILQ_CONCAT(batch, &w->todo); /* the failed batch goes first: order is kept */
	STAILQ_CONCAT(&w->todo, batch);
	rows = writer_weight(&w->todo);
	while (rows > w->retain_max && (job = STAILQ_FIRST(&w->todo)) != NULL) {
		STAILQ_REMOVE_HEAD(&w->todo, entry);
		rows -= writer_job_rows(job);
		dropped += writer_job_rows(job);
		job->status = STORE_ERROR;
		snprintf(job->errmsg, sizeof(job->errmsg), "given up after failed commits: %.200s",
		         why);
		STAILQ_INSERT_TAIL(&failed, job, entry);
	}
	pthread_mutex_unlock(&w->lock);
	if (dropped > 0) {
		w->dropped += dropped;
		log_warnx("writer: gave up %zu rows while the database fails (%llu so far)",
		          dropped, (unsigned long long)w->dropped);
	}
	writer_hand_back(w, &failed);
}

/* Waits out a pause before a retry, or until the writer is stopped. */
static void
writer_pause(struct writer *w, int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&w->lock);
	while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->lock);
}

/*
 * SCHED_IDLE gives way to every other thread at once, so the loop never waits for the call log;
 * but a thread that fell behind goes back to normal scheduling (allowed as root, or with
 * systemd's LimitNICE=+0) lest a busy machine starve it until reads are held.
 */
static void
writer_set_idle(struct writer *w, int idle)
{
	struct sched_param sp = {0};

	if (idle == w->idle)
		return;
	if (sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &sp) == -1) {
		if (!w->idle_warned)
			log_warn("writer: %s", idle ? "SCHED_IDLE" : "leaving SCHED_IDLE");
		w->idle_warned = 1;
		return;
	}
	w->idle = idle;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct job_queue batch;
	uint64_t one = 1;
	int stop;

	/* Linux schedules threads apart; an unprivileged thread may always lower its own priority.
	 */
	if (w->db.nice >= WRITER_IDLE)
		writer_set_idle(w, 1);
	else if (w->db.nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), w->db.nice) == -1)
		log_warn("writer: setpriority");
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (STAILQ_EMPTY(&w->todo) && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		STAILQ_INIT(&batch);
		STAILQ_CONCAT(&batch, &w->todo);
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (w->db.nice >= WRITER_IDLE)
			writer_set_idle(w, writer_weight(&batch) < WRITER_IDLE_BEHIND);

		if (!STAILQ_EMPTY(&batch)) {
			char why[256];

			enum store_status st = writer_run_batch(w, &batch);

			if (st != STORE_OK && w->retain_max > 0 && !stop) {
				snprintf(why, sizeof(why), "%s", STAILQ_FIRST(&batch)->errmsg);
				writer_retry_later(w, &batch, why);
				if (write(w->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
					log_warn("writer: eventfd");
				writer_pause(w, WRITER_RETRY_MS);
				continue;
			}
			if (st == STORE_OK && atomic_exchange(&w->failing, 0))
				log_info("writer: committing again");
			writer_hand_back(w, &batch);
			if (write(w->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
				log_warn("writer: eventfd");
		} else if (stop)
			break;
	}
	return NULL;
}

/* Runs the done callbacks of finished jobs on the loop thread. */
static void
writer_drain(struct writer *w)
{
	struct job_queue done;
	struct job *job;

	size_t n = 0;

	pthread_mutex_lock(&w->lock);
	STAILQ_INIT(&done);
	STAILQ_CONCAT(&done, &w->done);
	pthread_mutex_unlock(&w->lock);
	while ((job = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, entry);
		job->done(job);
		n++;
	}
	if (n > 0)
		atomic_fetch_sub_explicit(&w->backlog, n, memory_order_relaxed);
}

static void
writer_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("writer: eventfd read");
	writer_drain(arg);
}

struct writer *
writer_start(struct event_base *base, const struct writer_db *db, char **cause)
{
	struct writer *w;

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		db->close(db->db);
		*cause = strdup("out of memory");
		return NULL;
	}
	atomic_init(&w->backlog, 0);
	atomic_init(&w->failing, 0);
	STAILQ_INIT(&w->todo);
	STAILQ_INIT(&w->done);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->db = *db;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd == -1) {
		*cause = strdup("eventfd failed");
		goto fail;
	}
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, writer_ready_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1) {
		*cause = strdup("cannot watch the writer's eventfd");
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		*cause = strdup("cannot start the writer thread");
		goto fail;
	}
	return w;
fail:
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->efd != -1)
		close(w->efd);
	w->db.close(w->db.db);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
	return NULL;
}

void
writer_retain(struct writer *w, size_t max)
{
	pthread_mutex_lock(&w->lock);
	w->retain_max = max;
	pthread_mutex_unlock(&w->lock);
}

int
writer_failing(struct writer *w)
{
	return atomic_load(&w->failing);
}

size_t
writer_backlog(struct writer *w)
{
	return atomic_load_explicit(&w->backlog, memory_order_relaxed);
}

void
writer_submit(struct writer *w, struct job *job)
{
	pthread_mutex_lock(&w->lock);
	STAILQ_INSERT_TAIL(&w->todo, job, entry);
	atomic_fetch_add_explicit(&w->backlog, 1, memory_order_relaxed);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void
writer_stop(struct writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	writer_drain(w);
	event_free(w->ev);
	close(w->efd);
	w->db.close(w->db.db);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}
