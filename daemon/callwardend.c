/* callwardend: command line, start-up, signals and shutdown around the event loop. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "callerset.h"
#include "lifecycle.h"
#include "log.h"
#include "notify.h"
#include "ops.h"
#include "number.h"
#include "server.h"
#include "snapshot.h"
#include "writer.h"

/* How long a write may wait for the database lock before answering unavailable. */
#define WRITER_BUSY_MS       1000
#define QUERY_NICE           10
#define FLAGGED_MIN_CAPACITY 1000000

/* The store's functions in the writer's terms. */
static enum store_status
store_db_begin(void *db)
{
	return store_begin(db);
}

static enum store_status
store_db_commit(void *db)
{
	return store_commit(db);
}

static void
store_db_rollback(void *db)
{
	store_rollback(db);
}

static const char *
store_db_errmsg(const void *db)
{
	return store_errmsg(db);
}

static void
store_db_close(void *db)
{
	store_close(db);
}

/* The query thread only reads: each statement is its own read transaction. */
static enum store_status
query_db_nothing(void *db)
{
	(void)db;
	return STORE_OK;
}

static void
query_db_rollback(void *db)
{
	(void)db;
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: callwardend [-c FILE] [--listen HOST:PORT] [--unix PATH] [--db PATH]\n"
	             "                   [--http HOST:PORT] [--policy PATH] [--country-code CC]\n"
	             "                   [-n|--check-config] [-v]\n");
}

/* Prints every "file:line: reason" line of a load failure, the first behind a headline. */
static void
print_errors(const char *headline, const char *errors)
{
	const char *p = errors, *nl;
	int first = 1;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		if (first)
			fprintf(stderr, "callwardend: %s: %.*s\n", headline,
			        (int)(nl ? nl - p : (long)strlen(p)), p);
		else
			fprintf(stderr, "%.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
		first = 0;
		p = nl ? nl + 1 : NULL;
	}
}

/* Creates the parent directory of path when it is missing (one level, like var/). */
static void
make_parent_dir(const char *path)
{
	char *copy = strdup(path), *dir;
	struct stat st;

	if (copy == NULL)
		return;
	dir = dirname(copy);
	if (strcmp(dir, ".") != 0 && stat(dir, &st) == -1 && errno == ENOENT)
		mkdir(dir, 0750);
	free(copy);
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * The event loop. epoll changes are gathered per loop turn and made at once: evhttp turns read
 * and write interest off and on around every reply, four epoll_ctl calls a request otherwise.
 */
static struct event_base *
loop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	if (sig == SIGHUP) {
		policy_reload_signal(srv);
		return;
	}
	if (srv->stopping)
		return;
	log_info("signal %d: shutting down", (int)sig);
	srv->stopping = 1;
	event_base_loopbreak(srv->base);
}

static void
count_flagged(const char *caller, void *arg)
{
	(void)caller;
	(*(size_t *)arg)++;
}

static void
add_flagged(const char *caller, void *arg)
{
	callerset_add(arg, caller);
}

/* Every caller with a flag, so that offers from all the others skip the database. */
static struct callerset *
load_flagged(struct store *reader)
{
	struct callerset *cs;
	size_t n = 0;

	if (store_flagged_callers(reader, count_flagged, &n) == -1)
		fatalx("db: reading the flagged callers: %s", store_errmsg(reader));
	/* Room for as many again as there are now, and for a million at the least. */
	cs = callerset_new(n * 2 > FLAGGED_MIN_CAPACITY ? n * 2 : FLAGGED_MIN_CAPACITY);
	if (cs == NULL)
		fatalx("out of memory for the flagged callers");
	if (store_flagged_callers(reader, add_flagged, cs) == -1)
		fatalx("db: reading the flagged callers: %s", store_errmsg(reader));
	log_info("flagged callers=%zu filter=%zu bytes", callerset_count(cs),
	         callerset_memory_bytes(cs));
	return cs;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"unix", required_argument, NULL, 'u'},
	    {"db", required_argument, NULL, 'd'},
	    {"policy", required_argument, NULL, 'p'},
	    {"country-code", required_argument, NULL, 'C'},
	    {"http", required_argument, NULL, 'H'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *opt_listen = NULL, *opt_unix = NULL, *opt_db = NULL, *opt_policy = NULL;
	const char *opt_cc = NULL, *config_path = NULL, *opt_http = NULL;
	struct server srv;
	struct writer_db store_db = {NULL,
	                             store_db_begin,
	                             store_db_commit,
	                             store_db_rollback,
	                             store_db_errmsg,
	                             store_db_close,
	                             0};
	/* Lists, exports and simulations may run for seconds: the loop goes first. */
	struct writer_db query_db = {
	    NULL,           query_db_nothing, query_db_nothing, query_db_rollback, store_db_errmsg,
	    store_db_close, QUERY_NICE};
	struct event *sigs[3], *watchdog;
	struct timeval flush = {0, 200000};
	char *errors = NULL, *cause = NULL;
	int ch, check_only = 0, verbose = 0, i;
	const int signums[3] = {SIGTERM, SIGINT, SIGHUP};

	/* First: request trees are then allocated with their request, not node by node. */
	proto_init();
	memset(&srv, 0, sizeof(srv));
	while ((ch = getopt_long(argc, argv, "c:nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			opt_listen = optarg;
			break;
		case 'u':
			opt_unix = optarg;
			break;
		case 'd':
			opt_db = optarg;
			break;
		case 'p':
			opt_policy = optarg;
			break;
		case 'C':
			opt_cc = optarg;
			break;
		case 'H':
			opt_http = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}

	if (settings_defaults(&srv.settings) == -1)
		fatalx("out of memory");
	if (config_path != NULL && settings_load(&srv.settings, config_path, &errors) == -1) {
		print_errors("bad config", errors);
		free(errors);
		settings_free(&srv.settings);
		return 1;
	}
	if ((opt_listen && settings_set(&srv.settings.listen, opt_listen) == -1) ||
	    (opt_unix && settings_set(&srv.settings.unix_path, opt_unix) == -1) ||
	    (opt_db && settings_set(&srv.settings.db, opt_db) == -1) ||
	    (opt_policy && settings_set(&srv.settings.policy, opt_policy) == -1) ||
	    (opt_http && settings_set(&srv.settings.http, opt_http) == -1))
		fatalx("out of memory");
	if (opt_cc != NULL) {
		if (!number_valid_cc(opt_cc))
			fatalx("--country-code must be 1 to 3 digits, not starting with 0");
		strcpy(srv.settings.country_code, opt_cc);
	}
	if (verbose)
		srv.settings.log_level = LOG_LEVEL_DEBUG;
	log_init("callwardend", srv.settings.log_level);

	srv.policy = policy_load(srv.settings.policy, srv.settings.country_code, &errors);
	if (srv.policy == NULL) {
		if (check_only)
			fprintf(stderr, "%s\n", errors ? errors : "policy failed to load");
		else
			print_errors("bad policy", errors);
		free(errors);
		settings_free(&srv.settings);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		policy_unref(srv.policy);
		settings_free(&srv.settings);
		return 0;
	}
	log_info("policy %s version=%s", srv.settings.policy, srv.policy->version);

	if (store_global_init() == -1)
		log_warnx("cannot turn off SQLite memory statistics; lookups will contend");
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (evthread_use_pthreads() == -1)
		fatalx("libevent has no pthreads support");
	srv.base = loop_new();
	if (srv.base == NULL)
		fatalx("cannot create the event loop");
	TAILQ_INIT(&srv.sessions);
	TAILQ_INIT(&srv.subs);
	jb_init(&srv.out);
	ops_metrics_init(&srv);
	srv.started_at = (int64_t)time(NULL);

	make_parent_dir(srv.settings.db);
	store_db.db = store_open(srv.settings.db, STORE_WRITER, WRITER_BUSY_MS, &cause);
	if (store_db.db == NULL)
		fatalx("db %s", cause);
	srv.writer = writer_start(srv.base, &store_db, &cause);
	if (srv.writer == NULL)
		fatalx("db %s", cause);
	srv.reader = store_open(srv.settings.db, STORE_READER, 0, &cause);
	if (srv.reader == NULL)
		fatalx("db %s", cause);
	log_info("database %s schema=%d", srv.settings.db, store_schema_version(srv.reader));
	if (snapshot_init(&srv) == -1 || session_flush_init(&srv) == -1)
		fatalx("cannot create the loop's end-of-iteration events");
	srv.flagged = load_flagged(srv.reader);
	query_db.db = store_open(srv.settings.db, STORE_READER, 1000, &cause);
	if (query_db.db == NULL || (srv.query = writer_start(srv.base, &query_db, &cause)) == NULL)
		fatalx("db %s", cause);
	if (lifecycle_start(&srv, &cause) == -1)
		fatalx("db %s: %s", srv.settings.db, cause ? cause : "call log unavailable");

	if (srv.settings.unix_path[0] != '\0')
		make_parent_dir(srv.settings.unix_path);
	if (listener_open_all(&srv, &cause) == -1 || http_open(&srv, &cause) == -1)
		fatalx("%s", cause);
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(srv.base, signums[i], signal_cb, &srv);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) == -1)
			fatalx("cannot watch signal %d", signums[i]);
	}
	watchdog = notify_watchdog_start(srv.base);
	log_info("ready");
	{
		char status[256];

		snprintf(status, sizeof(status), "READY=1\nSTATUS=routing with policy %s",
		         srv.policy->version);
		notify_send(status);
	}

	event_base_dispatch(srv.base);

	notify_send("STOPPING=1");
	if (watchdog != NULL)
		event_free(watchdog);
	/* Stop taking work, let the writer commit what it holds, flush replies, then close. */
	listener_close_all(&srv);
	http_stop(&srv);
	session_quiesce_all(&srv);
	writer_stop(srv.writer);
	srv.writer = NULL;
	writer_stop(srv.query);
	srv.query = NULL;
	lifecycle_stop(&srv);
	event_base_loopexit(srv.base, &flush);
	event_base_dispatch(srv.base);
	session_close_all(&srv);
	session_flush_free(&srv);
	http_free(&srv);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	callerset_free(srv.flagged);
	snapshot_free(&srv);
	store_close(srv.reader);
	flag_list_free(&srv.flags);
	jb_free(&srv.out);
	ops_metrics_free(&srv);
	policy_unref(srv.policy);
	event_base_free(srv.base);
	settings_free(&srv.settings);
	libevent_global_shutdown();
	log_info("stopped");
	return 0;
}
