/* The client side of the protocol: connect, send one line, read one reply line, all by a deadline.
 */
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

/* Milliseconds left for poll(), 0 when the deadline has passed. */
static int
client_left(int64_t deadline)
{
	int64_t left = deadline - client_now_ms();

	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Waits for events on fd; 1 ready, 0 timed out, -1 error (errno set). */
static int
client_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int n;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, client_left(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		return n;
	}
}

/* Finishes a non-blocking connect; 0 connected, -1 with errno (ETIMEDOUT past the deadline). */
static int
client_connect_wait(int fd, int64_t deadline)
{
	int err = 0, n;
	socklen_t len = sizeof(err);

	n = client_wait(fd, POLLOUT, deadline);
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

static int
client_connect_unix(struct ctl *c, int64_t deadline)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "callwardenctl: %s: path too long for a Unix socket\n",
		        c->endpoint);
		return -1;
	}
	strcpy(sun.sun_path, c->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		if (errno == EINPROGRESS && client_connect_wait(fd, deadline) == 0)
			return fd;
		/* A full listen backlog on a Unix socket: try again until the deadline. */
		if (errno == EAGAIN && client_left(deadline) > 0) {
			usleep(10000);
			continue;
		}
		break;
	}
fail:
	fprintf(stderr, "callwardenctl: cannot connect to %s: %s (is callwardend running?)\n",
	        c->endpoint, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static int
client_connect_tcp(struct ctl *c, int64_t deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *colon = strrchr(c->tcp, ':');
	char host[256];
	size_t hlen;
	const char *h = c->tcp;
	int fd = -1, rv, err = 0;

	/* main checked the shape: HOST:PORT or [V6]:PORT */
	hlen = (size_t)(colon - c->tcp);
	if (h[0] == '[') {
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		fprintf(stderr, "callwardenctl: %s: host name too long\n", c->endpoint);
		return -1;
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
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && client_connect_wait(fd, deadline) == 0))
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		fprintf(stderr,
		        "callwardenctl: cannot connect to %s: %s (is callwardend running?)\n",
		        c->endpoint, strerror(err));
	return fd;
}

static int
client_send(struct ctl *c, int fd, const char *req, size_t len, int64_t deadline)
{
	ssize_t n;
	int w;

	while (len > 0) {
		n = send(fd, req, len, MSG_NOSIGNAL);
		if (n > 0) {
			req += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			w = client_wait(fd, POLLOUT, deadline);
			if (w > 0)
				continue;
			if (w == 0) {
				fprintf(stderr,
				        "callwardenctl: %s: cannot send the request within %g s\n",
				        c->endpoint, c->timeout_s);
				return -1;
			}
		}
		fprintf(stderr, "callwardenctl: %s: cannot send the request: %s\n", c->endpoint,
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads until the first newline; the reply may arrive in any number of pieces. */
static int
client_read_line(struct ctl *c, int fd, int64_t deadline, struct reply *rep)
{
	struct jbuf jb;
	char chunk[65536], *nl;
	ssize_t n;
	int w;

	jb_init(&jb);
	for (;;) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			nl = memchr(chunk, '\n', (size_t)n);
			jb_append(&jb, chunk, nl != NULL ? (size_t)(nl - chunk) : (size_t)n);
			if (jb.oom) {
				fprintf(stderr, "callwardenctl: out of memory reading the reply\n");
				break;
			}
			if (nl != NULL) {
				rep->line = jb_steal(&jb, &rep->len);
				return rep->line == NULL ? -1 : 0;
			}
			if (jb.len > CTL_MAX_REPLY) {
				fprintf(stderr, "callwardenctl: %s: reply longer than %u bytes\n",
				        c->endpoint, CTL_MAX_REPLY);
				break;
			}
			continue;
		}
		if (n == 0) {
			fprintf(
			    stderr,
			    "callwardenctl: %s: connection closed before a complete reply line\n",
			    c->endpoint);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			fprintf(stderr, "callwardenctl: %s: cannot read the reply: %s\n",
			        c->endpoint, strerror(errno));
			break;
		}
		w = client_wait(fd, POLLIN, deadline);
		if (w == 0) {
			fprintf(stderr, "callwardenctl: %s: no reply within %g s\n", c->endpoint,
			        c->timeout_s);
			break;
		}
		if (w == -1) {
			fprintf(stderr, "callwardenctl: %s: poll: %s\n", c->endpoint,
			        strerror(errno));
			break;
		}
	}
	jb_free(&jb);
	return -1;
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
	int64_t deadline = client_now_ms() + (int64_t)(c->timeout_s * 1000.0);
	int fd, rc = CTL_EXIT_UNREACHABLE;

	memset(rep, 0, sizeof(*rep));
	if (c->tcp != NULL)
		fd = client_connect_tcp(c, deadline);
	else
		fd = client_connect_unix(c, deadline);
	if (fd == -1)
		return CTL_EXIT_UNREACHABLE;
	if (client_send(c, fd, req, len, deadline) == 0 &&
	    client_read_line(c, fd, deadline, rep) == 0 && client_parse(c, rep) == 0)
		rc = CTL_EXIT_OK;
	close(fd);
	if (rc != CTL_EXIT_OK)
		client_reply_free(rep);
	return rc;
}
