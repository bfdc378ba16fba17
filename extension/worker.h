/*
 * worker.h — what collab's background workers share (worker.c): one slot
 * per busy database, the per-transaction lists handed to the workers at
 * commit, and starting, running and retiring a database's workers.
 *
 * Two kinds of worker run per busy database: the announcer (announcer.c,
 * batched NOTIFY) and the snapshotter (snapshotter.c, snapshots after
 * commit).  Each kind keeps its own queue in shared memory and describes
 * it to worker.c through a worker_ops; worker.c never looks inside.
 *
 * Invariants:
 * - A slot belongs to one database (dboid) or to none (InvalidOid).  It is
 *   freed only when every kind's worker is WORKER_NONE, has no writers and
 *   its queue is empty (worker_ops.empty); a freed slot's queues are reset
 *   (worker_ops.reset) when it is claimed again.
 * - A worker goes WORKER_NONE -> WORKER_STARTING (a backend decided to
 *   start it) -> WORKER_RUNNING (it runs; its latch is set) -> WORKER_NONE
 *   (it left, or could not be started).  Only one worker of a kind per
 *   slot is ever past WORKER_NONE.
 * - writers counts the transactions that may still give the worker work:
 *   it is never negative, and the worker leaves only when it is zero and
 *   its queue is empty, deciding under the lock, so no work is ever left
 *   without a worker.  A transaction that joins a slot counts among its
 *   announcer's writers, whatever kind it brings (the list handed over at
 *   commit is one), and among the snapshotter's if it brings requests.
 *
 * Locking: one LWLock (tranche "collab") guards every slot and every
 * kind's queue.  It is held only to copy bytes or flip states, never
 * across a transaction, a latch wait or I/O; worker_ops callbacks that say
 * "lock held" run under it and must not take it or fail.
 *
 * Ordering: a transaction's items are kept in backend memory in the order
 * they were added (a rolled-back savepoint removes its own); at pre-commit,
 * while the transaction still holds its document id locks, each kind may
 * place them in its queue (worker_ops.place); at commit or abort each is
 * settled (worker_ops.settle), in the same order, under one acquisition of
 * the lock.  So a later transaction on the same document places its items
 * after ours.
 */
#ifndef COLLAB_WORKER_H
#define COLLAB_WORKER_H

#include "postgres.h"

#include "fmgr.h"

#define WORKER_DATABASES 8	/* slots: databases with workers at a time */
#define WORKER_IDLE_MS 2000 /* without work before a worker leaves */

typedef enum worker_kind {
	WORKER_ANNOUNCER,
	WORKER_SNAPSHOTTER,
	WORKER_KINDS
} worker_kind;

/*
 * One thing a transaction hands to a worker: a payload for the announcer,
 * or a document id and revision for the snapshotter (in
 * TopTransactionContext).
 */
typedef struct worker_item {
	struct worker_item *next;
	SubTransactionId subid; /* the subtransaction that added it */
	worker_kind kind;
	int64 rev;	   /* the snapshotter's revision; 0 for the announcer */
	bool placed;   /* place() put it in the queue, at offset */
	uint64 offset; /* where place() put it: the kind's own unit */
	uint32 len;	   /* bytes of str with its terminating NUL */
	char str[FLEXIBLE_ARRAY_MEMBER];
} worker_item;

/* What worker.c needs from a kind of worker. */
typedef struct worker_ops {
	const char *name; /* "announcer": names collab_<name>_main */
	/* shared memory of its queues, requested and attached with worker.c's */
	Size (*shmem_size)(void);
	void (*shmem_init)(void);
	/* lock held: slot db was just claimed; empty its queue */
	void (*reset)(int db);
	/* lock held: nothing queued, nothing lost left to report */
	bool (*empty)(int db);
	/* lock held: the database is gone, its queued work can never be done */
	void (*discard)(int db);
	/* lock held, at pre-commit (NULL: nothing to do then); false: lost */
	bool (*place)(int db, worker_item *item);
	/* lock held, at commit or abort; must not fail */
	void (*settle)(int db, worker_item *item, bool committed);
	/*
	 * In the worker, lock not held: does some work; true when it did
	 * something.  *pause_ms (0 unless set) is how long to wait before
	 * looking again, without listening to the latch.
	 */
	bool (*work)(int db, int *pause_ms);
} worker_ops;

/* Makes kind known to worker.c: from announcer_init and snapshotter_init. */
void worker_register(worker_kind kind, const worker_ops *ops);

/*
 * Transaction callbacks and, while shared_preload_libraries is processed,
 * the shared memory hooks: from _PG_init, after the settings and after
 * every kind registered.
 */
void worker_init(void);

/*
 * Adds str (and rev) to this transaction's items for kind, joining the
 * transaction to its database's slot as a writer (once per transaction
 * and kind) and starting the worker if it is not there.  false when the
 * workers cannot be used (not preloaded, or every slot taken): the caller
 * then does the work itself.
 */
bool worker_add(worker_kind kind, const char *str, int64 rev);

/*
 * Now, whatever becomes of this transaction: claims this database's slot
 * and calls put (lock held) to queue work for kind; if it did, wakes the
 * worker or starts it.  Best effort: nothing happens when the workers
 * cannot be used.
 */
void worker_hand(worker_kind kind, bool (*put)(int db, const void *arg),
				 const void *arg);

/* The lock of every slot and queue, exclusively; released by worker_unlock. */
void worker_lock(void);
void worker_unlock(void);

/* Lock held: transactions that may still give work to kind's worker of db. */
int worker_writers(int db, worker_kind kind);

/*
 * The body of a background worker of kind, started with the slot in arg:
 * connects to the slot's database and calls ops->work until it finds
 * nothing to do for WORKER_IDLE_MS and nobody who could give it any, or
 * until it is asked to shut down.  Does not return.
 */
pg_attribute_noreturn() void worker_main(Datum arg, worker_kind kind);

#endif
