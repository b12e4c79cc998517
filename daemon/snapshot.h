/*
 * One read snapshot on the loop's reader per loop iteration. Routing lookups inside it share a
 * single WAL read lock (two fcntl calls and a shared-memory scan each, otherwise); the snapshot
 * ends once every callback of the iteration has run, so commits are seen a moment later.
 */
#ifndef CW_SNAPSHOT_H
#define CW_SNAPSHOT_H

#include "server.h"

int snapshot_init(struct server *srv);
void snapshot_free(struct server *srv);
/* Makes sure a snapshot is open until the end of this loop iteration. */
void snapshot_hold(struct server *srv);

#endif
