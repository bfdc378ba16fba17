/*
 * announcer.h — batched NOTIFY through a background worker (announcer.c).
 *
 * Invariants of a database's ring (announcer.c keeps them; a checked build
 * asserts them): tail <= head and head - tail <= the ring's size (bytes
 * ever written, and announced or dropped); entries start at 8-byte multiples
 * and never straddle the end of the ring; an entry past tail is pending,
 * committed or aborted, and the announcer never passes a pending one.  The
 * tail passes a committed entry only once the transaction that announced it
 * has committed, or once it has been dropped and counted in dropped.
 */
#ifndef COLLAB_ANNOUNCER_H
#define COLLAB_ANNOUNCER_H

#include "postgres.h"

#include "fmgr.h"

/* collab.notify_queue_kb: each database's ring of announcements */
extern int collab_notify_queue_kb;
/* collab.notify_worker: use the announcer when it can run */
extern bool collab_notify_worker;

#define COLLAB_NOTIFY_QUEUE_KB_DEFAULT 1024
#define COLLAB_NOTIFY_QUEUE_KB_MIN 64
#define COLLAB_NOTIFY_QUEUE_KB_MAX (1024 * 1024)

/*
 * collab.test_announce_failures, for tests only: a transaction that
 * commits with it above 0 has the announcer's next that many transactions,
 * from the one that announces it, fail (an error raised after queuing the
 * notifications, as a full NOTIFY queue would raise one at commit).
 */
extern int collab_test_announce_failures;

#define COLLAB_TEST_ANNOUNCE_FAILURES_MAX 100

/* Makes the announcer known to worker.c: from _PG_init, before worker_init. */
void announcer_init(void);

/*
 * Queues payload for channel collab, to be announced after this
 * transaction commits.  false when the announcer cannot be used: the
 * caller then runs NOTIFY itself.
 */
bool announcer_enqueue(const char *payload);

/* The background worker's entry point. */
PGDLLEXPORT void collab_announcer_main(Datum arg);

#endif
