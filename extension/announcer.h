/*
 * announcer.h — batched NOTIFY through a background worker (announcer.c).
 */
#ifndef COLLAB_ANNOUNCER_H
#define COLLAB_ANNOUNCER_H

#include "postgres.h"

#include "fmgr.h"

/* collab.notify_queue_kb: each database's ring of announcements */
extern int collab_notify_queue_kb;
/* collab.notify_worker: use the announcer when it can run */
extern bool collab_notify_worker;
/* collab.snapshot_worker: use the snapshotter when it can run */
extern bool collab_snapshot_worker;

#define COLLAB_NOTIFY_QUEUE_KB_DEFAULT 1024
#define COLLAB_NOTIFY_QUEUE_KB_MIN 64
#define COLLAB_NOTIFY_QUEUE_KB_MAX (1024 * 1024)

/* Settings, callbacks and (when preloaded) shared memory: from _PG_init. */
void announcer_init(void);

/*
 * Queues payload for channel collab, to be announced after this
 * transaction commits.  false when the announcer cannot be used: the
 * caller then runs NOTIFY itself.
 */
bool announcer_enqueue(const char *payload);

/*
 * Asks the snapshotter to store a snapshot of doc_id at rev after this
 * transaction commits (nothing if it rolls back).  false when the
 * snapshotter cannot be used: the caller stores it itself.
 */
bool announcer_snapshot_later(const char *doc_id, int64 rev);

/*
 * Asks the snapshotter for a snapshot of doc_id at rev now, whatever
 * becomes of this transaction (from readers that found many changes past
 * the newest snapshot).  Best effort: nothing happens when it cannot run,
 * and it skips a revision that is not committed.
 */
void announcer_snapshot_hint(const char *doc_id, int64 rev);

/* The background workers' entry points. */
PGDLLEXPORT void collab_announcer_main(Datum arg);
PGDLLEXPORT void collab_snapshotter_main(Datum arg);

#endif
