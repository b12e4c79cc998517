/* Readiness, status and watchdog messages for systemd (Type=notify); no-ops elsewhere. */
#ifndef CW_NOTIFY_H
#define CW_NOTIFY_H

#include <event2/event.h>

/* Sends one notification ("READY=1\nSTATUS=..."); does nothing without NOTIFY_SOCKET. */
void notify_send(const char *msg);
/* Starts the watchdog pings when systemd asked for them (WATCHDOG_USEC); NULL otherwise. */
struct event *notify_watchdog_start(struct event_base *base);

#endif
