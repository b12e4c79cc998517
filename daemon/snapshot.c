/* The loop reader's snapshot: opened by the first lookup, closed by an event queued behind it. */
#include "snapshot.h"
#include "log.h"

static void
snapshot_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	store_snapshot_end(srv->reader);
	srv->snapshot_open = 0;
}

int
snapshot_init(struct server *srv)
{
	srv->snapshot_end = event_new(srv->base, -1, 0, snapshot_end_cb, srv);
	return srv->snapshot_end != NULL ? 0 : -1;
}

void
snapshot_free(struct server *srv)
{
	if (srv->snapshot_end == NULL)
		return;
	if (srv->snapshot_open)
		store_snapshot_end(srv->reader);
	srv->snapshot_open = 0;
	event_free(srv->snapshot_end);
	srv->snapshot_end = NULL;
}

void
snapshot_hold(struct server *srv)
{
	if (srv->snapshot_open || srv->snapshot_end == NULL)
		return;
	/* Without a snapshot each lookup simply takes its own read lock. */
	if (store_snapshot_begin(srv->reader) != STORE_OK)
		return;
	srv->snapshot_open = 1;
	/* Active now, it runs after the callbacks already queued in this iteration. */
	event_active(srv->snapshot_end, EV_TIMEOUT, 0);
}
