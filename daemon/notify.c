/*
 * The systemd notification protocol, written out rather than linking libsystemd: one datagram
 * to the Unix socket named by NOTIFY_SOCKET ('@' means the abstract namespace).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

void
notify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) == -1)
		log_warn("notify %s", path);
	close(fd);
}

static void
notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1");
}

struct event *
notify_watchdog_start(struct event_base *base)
{
	const char *usec = getenv("WATCHDOG_USEC");
	struct timeval tv;
	struct event *ev;
	long long us;

	if (usec == NULL || getenv("NOTIFY_SOCKET") == NULL)
		return NULL;
	us = strtoll(usec, NULL, 10);
	if (us <= 0)
		return NULL;
	/* Ping at half the interval: the loop answering is what proves the daemon alive. */
	us /= 2;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	ev = event_new(base, -1, EV_PERSIST, notify_watchdog_cb, NULL);
	if (ev != NULL && event_add(ev, &tv) == -1) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}
