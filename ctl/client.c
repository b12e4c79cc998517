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

/* Connects the non-blocking fd to sa: CLIENT_OK, CLIENT_STOPPED, or CLIENT_FAIL with errno. */
static enum client_status
client_connect_one(const struct client_conn *cc, int fd, const struct sockaddr *sa, socklen_t len,
                   int64_t deadline)
{
	int w;

	if (connect(fd, sa, len) == 0)
		return CLIENT_OK;
	if (errno != EINPROGRESS)
		return CLIENT_FAIL;
	w = client_connect_wait(cc, fd, deadline);
	return w == 0 ? CLIENT_OK : w == 2 ? CLIENT_STOPPED : CLIENT_FAIL;
}

static enum client_status
client_connect_unix(struct ctl *c, struct client_conn *cc, int64_t deadline)
{
	struct sockaddr_un sun;
	enum client_status st;
	int fd;

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
		st = client_connect_one(cc, fd, (struct sockaddr *)&sun, sizeof(sun), deadline);
		if (st == CLIENT_OK)
			break;
		if (st == CLIENT_STOPPED) {
			close(fd);
			return CLIENT_STOPPED;
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
	enum client_status st;
	int fd = -1, rv, err = 0;

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
		st = client_connect_one(cc, fd, ai->ai_addr, ai->ai_addrlen, deadline);
		if (st == CLIENT_OK)
			break;
		if (st == CLIENT_STOPPED) {
			close(fd);
			freeaddrinfo(res);
			return CLIENT_STOPPED;
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

/*
 * Proves the connection's role before the command's own request: a daemon with tokens answers
 * anything else on TCP with unauthorized.
 */
static enum client_status
client_hello(struct ctl *c, struct client_conn *cc, int64_t deadline)
{
	struct jbuf jb;
	struct reply rep;
	enum client_status st;
	int rc;

	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "hello");
	jb_kstr(&jb, "token", c->token);
	jb_obj_end(&jb);
	jb_append(&jb, "\n", 1);
	if (jb.oom) {
		fprintf(stderr, "callwardenctl: out of memory\n");
		st = CLIENT_FAIL;
	} else
		st = client_request(c, cc, jb.data, jb.len, deadline, &rep);
	/* Best effort: no copy of the token outlives the request. */
	if (jb.data != NULL)
		explicit_bzero(jb.data, jb.cap);
	jb_free(&jb);
	if (st != CLIENT_OK)
		return st;
	rc = cmd_reply_status(c, &rep);
	if (rc == CTL_EXIT_ERROR) {
		fprintf(stderr, "callwardenctl: %s refused the token from %s\n", c->endpoint,
		        c->token_from);
		st = CLIENT_REFUSED;
	} else if (rc != CTL_EXIT_OK)
		st = CLIENT_FAIL;
	client_reply_free(&rep);
	return st;
}

enum client_status
client_open(struct ctl *c, struct client_conn *cc, int wakefd, int64_t deadline)
{
	enum client_status st;

	memset(cc, 0, sizeof(*cc));
	cc->fd = -1;
	cc->wakefd = wakefd;
	jb_init(&cc->in);
	if (c->tcp == NULL)
		return client_connect_unix(c, cc, deadline);
	st = client_connect_tcp(c, cc, deadline);
	if (st == CLIENT_OK && c->token != NULL)
		st = client_hello(c, cc, deadline);
	return st;
}

int
client_exit(enum client_status st)
{
	if (st == CLIENT_OK || st == CLIENT_STOPPED)
		return CTL_EXIT_OK;
	/* The daemon answered, with a refusal: like any error reply. */
	return st == CLIENT_REFUSED ? CTL_EXIT_ERROR : CTL_EXIT_UNREACHABLE;
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

enum client_status
client_request(struct ctl *c, struct client_conn *cc, const char *req, size_t len, int64_t deadline,
               struct reply *rep)
{
	enum client_status st = client_send(c, cc, req, len, deadline);

	memset(rep, 0, sizeof(*rep));
	return st == CLIENT_OK ? client_reply(c, cc, deadline, rep) : st;
}

int
client_call(struct ctl *c, const char *req, size_t len, struct reply *rep)
{
	int64_t deadline = client_deadline(c);
	struct client_conn cc;
	enum client_status st;

	memset(rep, 0, sizeof(*rep));
	st = client_open(c, &cc, -1, deadline);
	if (st == CLIENT_OK)
		st = client_request(c, &cc, req, len, deadline, rep);
	client_close(&cc);
	return client_exit(st);
}

/* Reads the first line of a token file, at most CTL_TOKEN_MAX bytes; a usage error or 0. */
static int
client_token_read(struct ctl *c)
{
	char buf[CTL_TOKEN_MAX + 2];
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = open(c->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		cmd_usage_error(NULL, "--token-file %s: %s", c->token_file, strerror(errno));
		return -1;
	}
	/* A file, or a pipe such as /dev/stdin from a secret store: read to the end. */
	for (;;) {
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[n] = '\0';
	if (r == -1) {
		explicit_bzero(buf, sizeof(buf));
		cmd_usage_error(NULL, "--token-file %s: %s", c->token_file, strerror(errno));
		return -1;
	}
	/* One line; its newline (and a \r before it) is not part of the token. */
	n = strcspn(buf, "\n");
	if (buf[n] == '\n' && buf[n + 1] != '\0')
		n = sizeof(buf); /* a second line: not a token file */
	else {
		buf[n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
	}
	if (n <= CTL_TOKEN_MAX)
		c->token = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (n > CTL_TOKEN_MAX) {
		cmd_usage_error(NULL, "--token-file %s: wants one line of at most %d bytes",
		                c->token_file, CTL_TOKEN_MAX);
		return -1;
	}
	return 0;
}

int
client_token_load(struct ctl *c)
{
	const char *env = getenv(CTL_TOKEN_ENV), *p;

	if (c->token_file != NULL) {
		snprintf(c->token_from, sizeof(c->token_from), "--token-file %s", c->token_file);
		if (client_token_read(c) == -1)
			return CTL_EXIT_USAGE;
	} else if (env != NULL && env[0] != '\0') {
		snprintf(c->token_from, sizeof(c->token_from), "$%s", CTL_TOKEN_ENV);
		if (strlen(env) > CTL_TOKEN_MAX) {
			cmd_usage_error(NULL, "$%s: longer than %d bytes", CTL_TOKEN_ENV,
			                CTL_TOKEN_MAX);
			return CTL_EXIT_USAGE;
		}
		c->token = strdup(env);
	} else
		return 0;
	if (c->token == NULL) {
		fprintf(stderr, "callwardenctl: out of memory\n");
		return CTL_EXIT_UNREACHABLE;
	}
	/* The message names where the token came from; the token itself is never printed. */
	for (p = c->token; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			break;
	if (c->token[0] == '\0' || *p != '\0') {
		cmd_usage_error(NULL, "%s: the token is empty or holds control characters",
		                c->token_from);
		client_token_free(c);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

void
client_token_free(struct ctl *c)
{
	if (c->token != NULL) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
		c->token = NULL;
	}
}
