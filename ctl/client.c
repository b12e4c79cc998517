/* The client side of the protocol: connect, send request lines, read reply and event lines. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static int64_t
client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
client_deadline(const struct ctl *c)
{
	return client_now_ms() + (int64_t)(c->timeout_s * 1000.0);
}

/* Milliseconds left for poll(), 0 when the deadline has passed, -1 when there is none. */
static int
client_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - client_now_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/*
 * Waits for events on fd, or for the wake descriptor: 1 ready, 0 timed out, -1 error (errno
 * set), 2 when the command was told to stop.
 */
static int
client_wait(const struct client_conn *cc, int fd, short events, int64_t deadline)
{
	struct pollfd pfd[2];
	nfds_t n = 1;
	int r;

	for (;;) {
		pfd[0].fd = fd;
		pfd[0].events = events;
		pfd[0].revents = 0;
		if (cc->wakefd >= 0) {
			pfd[1].fd = cc->wakefd;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			n = 2;
		}
		r = poll(pfd, n, client_left(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r > 0 && n == 2 && pfd[1].revents != 0)
			return 2;
		return r > 0 ? 1 : r;
	}
}

/* Finishes a non-blocking connect; 0 connected, 2 stopped, -1 with errno (ETIMEDOUT). */
static int
client_connect_wait(const struct client_conn *cc, int fd, int64_t deadline)
{
	int err = 0, n;
	socklen_t len = sizeof(err);

	n = client_wait(cc, fd, POLLOUT, deadline);
	if (n == 2)
		return 2;
	if (n == 0)
		errno = ETIMEDOUT;
	if (n <= 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

static enum client_status
client_connect_unix(struct ctl *c, struct client_conn *cc, int64_t deadline)
{
	struct sockaddr_un sun;
	int fd, w;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "callwardenctl: %s: path too long for a Unix socket\n",
		        c->endpoint);
		return CLIENT_FAIL;
	}
	strcpy(sun.sun_path, c->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		if (errno == EINPROGRESS) {
			w = client_connect_wait(cc, fd, deadline);
			if (w == 0)
				break;
			if (w == 2) {
				close(fd);
				return CLIENT_STOPPED;
			}
		}
		/* A full listen backlog on a Unix socket: try again until the deadline. */
		if (errno == EAGAIN && client_left(deadline) != 0) {
			usleep(10000);
			continue;
		}
		goto fail;
	}
	cc->fd = fd;
	return CLIENT_OK;
fail:
	fprintf(stderr, "callwardenctl: cannot connect to %s: %s (is callwardend running?)\n",
	        c->endpoint, strerror(errno));
	if (fd != -1)
		close(fd);
	return CLIENT_FAIL;
}

static enum client_status
client_connect_tcp(struct ctl *c, struct client_conn *cc, int64_t deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *colon = strrchr(c->tcp, ':');
	char host[256];
	size_t hlen;
	const char *h = c->tcp;
	int fd = -1, rv, err = 0, w;

	/* main checked the shape: HOST:PORT or [V6]:PORT */
	hlen = (size_t)(colon - c->tcp);
	if (h[0] == '[') {
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		fprintf(stderr, "callwardenctl: %s: host name too long\n", c->endpoint);
		return CLIENT_FAIL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rv = getaddrinfo(host, colon + 1, &hints, &res);
	if (rv != 0) {
		fprintf(stderr, "callwardenctl: cannot connect to %s: %s\n", c->endpoint,
		        gai_strerror(rv));
		return CLIENT_FAIL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			w = client_connect_wait(cc, fd, deadline);
			if (w == 0)
				break;
			if (w == 2) {
				close(fd);
				freeaddrinfo(res);
				return CLIENT_STOPPED;
			}
		}
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		fprintf(stderr,
		        "callwardenctl: cannot connect to %s: %s (is callwardend running?)\n",
		        c->endpoint, strerror(err));
		return CLIENT_FAIL;
	}
	cc->fd = fd;
	return CLIENT_OK;
}

enum client_status
client_open(struct ctl *c, struct client_conn *cc, int wakefd, int64_t deadline)
{
	memset(cc, 0, sizeof(*cc));
	cc->fd = -1;
	cc->wakefd = wakefd;
	jb_init(&cc->in);
	if (c->tcp != NULL)
		return client_connect_tcp(c, cc, deadline);
	return client_connect_unix(c, cc, deadline);
}

void
client_close(struct client_conn *cc)
{
	if (cc->fd != -1)
		close(cc->fd);
	cc->fd = -1;
	jb_free(&cc->in);
}

enum client_status
client_send(struct ctl *c, struct client_conn *cc, const char *req, size_t len, int64_t deadline)
{
	ssize_t n;
	int w;

	while (len > 0) {
		n = send(cc->fd, req, len, MSG_NOSIGNAL);
		if (n > 0) {
			req += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			w = client_wait(cc, cc->fd, POLLOUT, deadline);
			if (w == 1)
				continue;
			if (w == 2)
				return CLIENT_STOPPED;
			if (w == 0) {
				fprintf(stderr,
				        "callwardenctl: %s: cannot send the request within %g s\n",
				        c->endpoint, c->timeout_s);
				return CLIENT_FAIL;
			}
		}
		fprintf(stderr, "callwardenctl: %s: cannot send the request: %s\n", c->endpoint,
		        strerror(errno));
		return CLIENT_FAIL;
	}
	return CLIENT_OK;
}

/* Takes a complete line out of the input buffer if there is one. */
static int
client_take_line(struct client_conn *cc, char **line, size_t *len)
{
	char *start = cc->in.data + cc->off, *nl;
	size_t avail = cc->in.len - cc->off, n;

	if (avail == 0)
		return 0;
	nl = memchr(start + cc->scanned, '\n', avail - cc->scanned);
	if (nl == NULL) {
		cc->scanned = avail;
		return 0;
	}
	n = (size_t)(nl - start);
	*line = malloc(n + 1);
	if (*line == NULL)
		return -1;
	memcpy(*line, start, n);
	(*line)[n] = '\0';
	*len = n;
	cc->off += n + 1;
	cc->scanned = 0;
	if (cc->off == cc->in.len) {
		jb_reset(&cc->in);
		cc->off = 0;
	}
	return 1;
}

enum client_status
client_line(struct ctl *c, struct client_conn *cc, int64_t deadline, char **line, size_t *len)
{
	char chunk[65536];
	ssize_t n;
	int w, got;

	for (;;) {
		got = client_take_line(cc, line, len);
		if (got == 1)
			return CLIENT_OK;
		if (got == -1 || cc->in.oom) {
			fprintf(stderr, "callwardenctl: out of memory reading from %s\n",
			        c->endpoint);
			return CLIENT_FAIL;
		}
		if (cc->in.len - cc->off > CTL_MAX_REPLY) {
			fprintf(stderr, "callwardenctl: %s: line longer than %u bytes\n",
			        c->endpoint, CTL_MAX_REPLY);
			return CLIENT_FAIL;
		}
		/* Drop consumed bytes before the buffer grows again. */
		if (cc->off > 0 && cc->off >= cc->in.len / 2) {
			memmove(cc->in.data, cc->in.data + cc->off, cc->in.len - cc->off);
			cc->in.len -= cc->off;
			cc->off = 0;
		}
		n = recv(cc->fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			jb_append(&cc->in, chunk, (size_t)n);
			continue;
		}
		if (n == 0)
			return CLIENT_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			fprintf(stderr, "callwardenctl: %s: cannot read: %s\n", c->endpoint,
			        strerror(errno));
			return CLIENT_FAIL;
		}
		w = client_wait(cc, cc->fd, POLLIN, deadline);
		if (w == 0)
			return CLIENT_TIMEOUT;
		if (w == 2)
			return CLIENT_STOPPED;
		if (w == -1) {
			fprintf(stderr, "callwardenctl: %s: poll: %s\n", c->endpoint,
			        strerror(errno));
			return CLIENT_FAIL;
		}
	}
}

/* Checks the reply is a JSON object with a boolean "ok"; fills rep->json. */
static int
client_parse(struct ctl *c, struct reply *rep)
{
	const char *end = NULL;

	if (rep->len > 0 && rep->line[rep->len - 1] == '\r')
		rep->line[--rep->len] = '\0';
	if (strlen(rep->line) != rep->len) {
		fprintf(stderr, "callwardenctl: %s: malformed reply (NUL byte)\n", c->endpoint);
		return -1;
	}
	rep->json = cJSON_ParseWithOpts(rep->line, &end, 1);
	if (rep->json == NULL || !cJSON_IsObject(rep->json)) {
		fprintf(stderr, "callwardenctl: %s: malformed reply (not a JSON object)\n",
		        c->endpoint);
		return -1;
	}
	if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(rep->json, "ok"))) {
		fprintf(stderr, "callwardenctl: %s: malformed reply (no boolean \"ok\")\n",
		        c->endpoint);
		return -1;
	}
	return 0;
}

enum client_status
client_reply(struct ctl *c, struct client_conn *cc, int64_t deadline, struct reply *rep)
{
	enum client_status st;

	memset(rep, 0, sizeof(*rep));
	st = client_line(c, cc, deadline, &rep->line, &rep->len);
	if (st == CLIENT_EOF)
		fprintf(stderr,
		        "callwardenctl: %s: connection closed before a complete reply line\n",
		        c->endpoint);
	else if (st == CLIENT_TIMEOUT)
		fprintf(stderr, "callwardenctl: %s: no reply within %g s\n", c->endpoint,
		        c->timeout_s);
	if (st == CLIENT_EOF || st == CLIENT_TIMEOUT)
		st = CLIENT_FAIL;
	if (st == CLIENT_OK && client_parse(c, rep) == -1)
		st = CLIENT_FAIL;
	if (st != CLIENT_OK)
		client_reply_free(rep);
	return st;
}

void
client_reply_free(struct reply *rep)
{
	cJSON_Delete(rep->json);
	free(rep->line);
	memset(rep, 0, sizeof(*rep));
}

int
client_call(struct ctl *c, const char *req, size_t len, struct reply *rep)
{
	int64_t deadline = client_deadline(c);
	struct client_conn cc;
	int rc = CTL_EXIT_UNREACHABLE;

	memset(rep, 0, sizeof(*rep));
	if (client_open(c, &cc, -1, deadline) == CLIENT_OK &&
	    client_send(c, &cc, req, len, deadline) == CLIENT_OK &&
	    client_reply(c, &cc, deadline, rep) == CLIENT_OK)
		rc = CTL_EXIT_OK;
	client_close(&cc);
	return rc;
}
