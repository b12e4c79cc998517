/* The TCP and Unix stream listeners; accept backs off instead of spinning when out of fds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

static void listener_set_cause(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
listener_set_cause(char **cause, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*cause = strdup(msg);
}

/*
 * The role of a Unix socket peer from its uid (SO_PEERCRED): a uid listed in the config gets its
 * role; root and the daemon's own user get ops; anyone else the configured default.
 */
static int
listener_unix_role(struct server *srv, int fd, char *peer, size_t peerlen)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return ROLE_NONE;
	snprintf(peer, peerlen, "unix uid=%ld", (long)cred.uid);
	for (i = 0; i < srv->settings.nunix_users; i++)
		if (srv->settings.unix_users[i].uid == (long)cred.uid)
			return srv->settings.unix_users[i].role;
	if (cred.uid == 0 || cred.uid == getuid())
		return ROLE_OPS;
	return srv->settings.unix_default_role;
}

static void
listener_accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa, int salen,
                   void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	char peer[64] = "unix";
	int one = 1;

	(void)ev;
	(void)salen;
	if (srv->stopping || srv->nsessions >= (size_t)srv->settings.max_connections) {
		evutil_closesocket(fd);
		return;
	}
	if (!l->is_unix) {
		char addr[INET6_ADDRSTRLEN] = "?";

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (sa->sa_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)sa;

			inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
			snprintf(peer, sizeof(peer), "%s:%d", addr, ntohs(sin->sin_port));
		} else if (sa->sa_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;

			inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
			snprintf(peer, sizeof(peer), "[%s]:%d", addr, ntohs(sin6->sin6_port));
		}
	}
	evutil_make_socket_nonblocking(fd);
	session_accept(srv, fd, peer,
	               l->is_unix ? listener_unix_role(srv, fd, peer, sizeof(peer))
	                          : (srv->settings.ntokens == 0 ? ROLE_OPS : ROLE_NONE));
}

static void
listener_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i].ev);
}

static void
listener_error_cb(struct evconnlistener *ev, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	struct timeval tv = {0, 100000};
	int err = EVUTIL_SOCKET_ERROR();
	size_t i;

	(void)ev;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Out of descriptors: pause accepting for a moment rather than spin on accept. */
		log_warnx("accept on %s: %s; pausing accepts", l->name, strerror(err));
		for (i = 0; i < srv->nlisteners; i++)
			evconnlistener_disable(srv->listeners[i].ev);
		evtimer_add(srv->accept_retry, &tv);
		return;
	}
	log_warnx("accept on %s: %s", l->name, strerror(err));
}

int
listener_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int
listener_tcp_addr(struct server *srv, const char *what, const char *spec,
                  struct sockaddr_storage *ss, socklen_t *sslen, char **cause)
{
	char host[256], msg[256];
	int port;

	if (settings_split_hostport(spec, host, sizeof(host), &port, msg, sizeof(msg)) == -1) {
		listener_set_cause(cause, "%s %s: %s", what, spec, msg);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*sslen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(struct sockaddr_in6);
	} else {
		listener_set_cause(cause, "%s %s: %s", what, spec,
		                   "not a numeric IPv4 or IPv6 address");
		return -1;
	}
	if (srv->settings.ntokens == 0 && !listener_is_loopback(ss)) {
		listener_set_cause(cause,
		                   "%s %s: refusing to listen beyond loopback with no tokens "
		                   "configured (set tokens in the config file)",
		                   what, spec);
		return -1;
	}
	return 0;
}

void
listener_bound_name(const char *what, int fd, char *name, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "?";

	memset(&ss, 0, sizeof(ss));
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
		snprintf(name, len, "%s [%s]:%d", what, addr,
		         ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
		snprintf(name, len, "%s %s:%d", what, addr,
		         ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
}

static int
listener_open_tcp(struct server *srv, struct listener *l, char **cause)
{
	const char *spec = srv->settings.listen;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;

	if (listener_tcp_addr(srv, "tcp", spec, &ss, &sslen, cause) == -1)
		return -1;
	l->ev = evconnlistener_new_bind(srv->base, listener_accept_cb, l, flags, 512,
	                                (struct sockaddr *)&ss, (int)sslen);
	if (l->ev == NULL) {
		listener_set_cause(cause, "tcp %s: %s", spec, strerror(errno));
		return -1;
	}
	listener_bound_name("tcp", evconnlistener_get_fd(l->ev), l->name, sizeof(l->name));
	return 0;
}

/* Removes a stale socket file left by a process that is gone; refuses a live one. */
static int
listener_clear_stale(const char *path, struct sockaddr_un *sun, char **cause)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		listener_set_cause(cause, "unix %s: %s", path, "exists and is not a socket");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd != -1 && connect(fd, (struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		listener_set_cause(cause, "unix %s: %s", path, "another daemon is listening there");
		return -1;
	}
	if (fd != -1)
		close(fd);
	unlink(path);
	return 0;
}

static int
listener_open_unix(struct server *srv, struct listener *l, char **cause)
{
	const char *path = srv->settings.unix_path;
	struct sockaddr_un sun;
	int flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		listener_set_cause(cause, "unix %s: %s", path, "path too long for a socket");
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (listener_clear_stale(path, &sun, cause) == -1)
		return -1;
	/* Owner and group only: the socket can change flags on real people. */
	old = umask(0117);
	l->ev = evconnlistener_new_bind(srv->base, listener_accept_cb, l, flags, 512,
	                                (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (l->ev == NULL) {
		listener_set_cause(cause, "unix %s: %s", path, strerror(errno));
		return -1;
	}
	l->is_unix = 1;
	snprintf(l->name, sizeof(l->name), "unix %s", path);
	return 0;
}

int
listener_open_all(struct server *srv, char **cause)
{
	struct listener *l;

	srv->accept_retry = evtimer_new(srv->base, listener_retry_cb, srv);
	if (srv->accept_retry == NULL) {
		*cause = strdup("cannot create the accept timer");
		return -1;
	}
	if (srv->settings.listen[0] != '\0') {
		l = &srv->listeners[srv->nlisteners];
		l->srv = srv;
		if (listener_open_tcp(srv, l, cause) == -1)
			return -1;
		evconnlistener_set_error_cb(l->ev, listener_error_cb);
		srv->nlisteners++;
		log_info("listening on %s", l->name);
		if (srv->settings.ntokens == 0)
			log_warnx("WARNING: no tokens configured: every client of %s is ops "
			          "(allowed on loopback only; set tokens for anything else)",
			          l->name);
	}
	if (srv->settings.unix_path[0] != '\0') {
		l = &srv->listeners[srv->nlisteners];
		l->srv = srv;
		if (listener_open_unix(srv, l, cause) == -1)
			return -1;
		evconnlistener_set_error_cb(l->ev, listener_error_cb);
		srv->nlisteners++;
		log_info("listening on %s", l->name);
	}
	return 0;
}

void
listener_close_all(struct server *srv)
{
	size_t i;

	for (i = 0; i < srv->nlisteners; i++) {
		evconnlistener_free(srv->listeners[i].ev);
		srv->listeners[i].ev = NULL;
		if (srv->listeners[i].is_unix)
			unlink(srv->settings.unix_path);
	}
	srv->nlisteners = 0;
	if (srv->accept_retry != NULL) {
		event_free(srv->accept_retry);
		srv->accept_retry = NULL;
	}
}
