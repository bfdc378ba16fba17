/*
 * snapshotter.h — snapshots taken after commit by a background worker
 * (snapshotter.c).
 *
 * Invariants of a database's request queue (snapshotter.c keeps them; a
 * checked build asserts them): 0 <= nrequests <= SNAPSHOTTER_REQUESTS,
 * requests in the order queued, at most one per (document, revision).
 */
#ifndef COLLAB_SNAPSHOTTER_H
#define COLLAB_SNAPSHOTTER_H

#include "postgres.h"

#include "fmgr.h"

/* collab.snapshot_worker: use the snapshotter when it can run */
extern bool collab_snapshot_worker;

/* Makes the snapshotter known to worker.c: from _PG_init, before worker_init.
 */
void snapshotter_init(void);

/*
 * Asks the snapshotter to store a snapshot of doc_id at rev after this
 * transaction commits (nothing if it rolls back).  false when the
 * snapshotter cannot be used: the caller stores it itself.
 */
bool snapshotter_request(const char *doc_id, int64 rev);

/*
 * Asks the snapshotter for a snapshot of doc_id at rev now, whatever
 * becomes of this transaction (from readers that found many changes past
 * the newest snapshot), unless one of doc_id is queued already.  Best
 * effort: nothing happens when it cannot run, and it skips a revision
 * that is not committed.
 */
void snapshotter_hint(const char *doc_id, int64 rev);

/* The background worker's entry point. */
PGDLLEXPORT void collab_snapshotter_main(Datum arg);

#endif
