/*
 * worker.c — the machinery collab's background workers share: a slot per
 * busy database in shared memory, the transaction's items handed over at
 * commit, and starting, running and retiring a database's workers.
 *
 * Why workers at all: announcer.c (NOTIFY's commit lock) and snapshotter.c
 * (a snapshot's cost in the submit) say; worker.h states the invariants,
 * the locking and the ordering.  Here is how they are kept.
 *
 * Lifetime: a database's slot and workers exist while the database is
 * busy.  The first transaction that hands a kind work claims a slot and
 * starts that worker; a worker leaves after WORKER_IDLE_MS without work,
 * nobody writing and nothing queued, freeing the slot when nothing else
 * needs it, so DROP DATABASE is not held up and slots are not leaked.
 * With every slot taken, callers do the work themselves.
 *
 * Transactions: the items live in backend memory until the transaction
 * ends; savepoints that roll back drop theirs (subxact_callback), PREPARE
 * is refused (the items would be lost with the backend), pre-commit lets
 * each kind place them, commit or abort settles them.  The commit and
 * abort callbacks must not fail: they only copy and flip bytes under the
 * lock.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "worker.h"

typedef enum worker_state {
	WORKER_NONE,
	WORKER_STARTING,
	WORKER_RUNNING
} worker_state;

/* A background worker of a slot. */
typedef struct worker_proc {
	worker_state state;
	Latch *latch; /* while WORKER_RUNNING */
	int writers;  /* transactions that may still give it work */
} worker_proc;

typedef struct worker_slot {
	Oid dboid; /* InvalidOid: free */
	worker_proc procs[WORKER_KINDS];
} worker_slot;

typedef struct worker_shared {
	LWLock *lock;
	worker_slot slots[WORKER_DATABASES];
} worker_shared;

static worker_shared *shared;
static const worker_ops *kinds[WORKER_KINDS];
static shmem_request_hook_type prev_shmem_request_hook;
static shmem_startup_hook_type prev_shmem_startup_hook;

/*
 * This transaction's part: its items, in the order added, and the slot it
 * joined (db < 0: none yet) with the kinds it counts as a writer of.  Kept
 * across calls from the SQL functions and the transaction callbacks, and
 * cleared when the transaction ends.
 */
typedef struct xact_part {
	worker_item *head;
	worker_item *tail;
	int db;
	bool writer[WORKER_KINDS];
} xact_part;

static xact_part xact = {NULL, NULL, -1, {false, false}};

/* A running worker, for its exit callback. */
typedef struct worker_self {
	int db;
	worker_kind kind;
	bool connected; /* to its database: its work can still be done */
} worker_self;

void
worker_register(worker_kind kind, const worker_ops *ops)
{
	Assert(kind < WORKER_KINDS);
	kinds[kind] = ops;
}

static Size
shared_size(void)
{
	return sizeof(worker_shared);
}

static void
request_shmem(void)
{
	int k;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
	for (k = 0; k < WORKER_KINDS; k++)
		RequestAddinShmemSpace(kinds[k]->shmem_size());
	RequestNamedLWLockTranche("collab", 1);
}

static void
startup_shmem(void)
{
	bool found;
	int k;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("collab workers", shared_size(), &found);
	if (!found)
	{
		memset(shared, 0, shared_size());
		shared->lock = &(GetNamedLWLockTranche("collab"))->lock;
	}
	for (k = 0; k < WORKER_KINDS; k++)
		kinds[k]->shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

void
worker_lock(void)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
}

void
worker_unlock(void)
{
	LWLockRelease(shared->lock);
}

static worker_proc *
proc_of(int db, worker_kind kind)
{
	Assert(db >= 0 && db < WORKER_DATABASES);
	return &shared->slots[db].procs[kind];
}

int
worker_writers(int db, worker_kind kind)
{
	Assert(LWLockHeldByMeInMode(shared->lock, LW_EXCLUSIVE));
	return proc_of(db, kind)->writers;
}

/* Lock held: kind's latch of db while it runs, else NULL. */
static Latch *
latch_of(int db, worker_kind kind)
{
	worker_proc *w = proc_of(db, kind);

	Assert(w->state != WORKER_RUNNING || w->latch != NULL);
	return w->state == WORKER_RUNNING ? w->latch : NULL;
}

/*
 * Marks worker kind of slot db starting when it is not there (caller holds
 * the lock); true when the caller must start it.
 */
static bool
worker_wanted(int db, worker_kind kind)
{
	worker_proc *w = proc_of(db, kind);

	if (w->state != WORKER_NONE)
		return false;
	w->state = WORKER_STARTING;
	return true;
}

/* Starts worker kind of slot db, which worker_wanted marked starting. */
static void
start_worker(int db, worker_kind kind)
{
	const char *name = kinds[kind]->name;
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags =
		BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "collab");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "collab_%s_main", name);
	snprintf(worker.bgw_name, BGW_MAXLEN, "collab %s %d", name, db);
	snprintf(worker.bgw_type, BGW_MAXLEN, "collab %s", name);
	worker.bgw_main_arg = Int32GetDatum(db);
	worker.bgw_notify_pid = 0;
	if (RegisterDynamicBackgroundWorker(&worker, NULL))
		return;
	/* its work waits for the next one started */
	worker_lock();
	Assert(proc_of(db, kind)->state == WORKER_STARTING);
	proc_of(db, kind)->state = WORKER_NONE;
	worker_unlock();
	ereport(WARNING, errmsg("collab could not start its %s", name),
			errhint("Raise max_worker_processes."));
}

/*
 * The slot of this database, claimed if it has none (caller holds the
 * lock); -1 when every slot is taken.
 */
static int
find_slot(void)
{
	int i;
	int k;

	for (i = 0; i < WORKER_DATABASES; i++)
		if (shared->slots[i].dboid == MyDatabaseId)
			return i;
	for (i = 0; i < WORKER_DATABASES; i++)
		if (shared->slots[i].dboid == InvalidOid)
		{
			memset(&shared->slots[i], 0, sizeof(worker_slot));
			shared->slots[i].dboid = MyDatabaseId;
			for (k = 0; k < WORKER_KINDS; k++)
				kinds[k]->reset(i);
			return i;
		}
	return -1;
}

/* Frees slot db when no worker and nobody else needs it (lock held). */
static void
free_if_unused(int db)
{
	int k;

	for (k = 0; k < WORKER_KINDS; k++)
	{
		worker_proc *w = proc_of(db, k);

		Assert(w->writers >= 0);
		if (w->state != WORKER_NONE || w->writers != 0 || !kinds[k]->empty(db))
			return;
	}
	shared->slots[db].dboid = InvalidOid;
}

/*
 * Joins this transaction to its database's slot as a writer of kind (once
 * per transaction and kind), claiming a slot and starting workers when
 * needed.  A transaction counts among the announcer's writers whatever it
 * brings (worker.h).  false when no slot can be had.
 */
static bool
join_slot(worker_kind kind)
{
	int db;
	bool start[WORKER_KINDS] = {false, false};
	int k;

	if (xact.db >= 0 && xact.writer[kind])
		return true;
	worker_lock();
	db = xact.db >= 0 ? xact.db : find_slot();
	if (db >= 0 && xact.db < 0)
	{
		proc_of(db, WORKER_ANNOUNCER)->writers++;
		start[WORKER_ANNOUNCER] = worker_wanted(db, WORKER_ANNOUNCER);
	}
	if (db >= 0 && kind != WORKER_ANNOUNCER)
	{
		proc_of(db, kind)->writers++;
		start[kind] = worker_wanted(db, kind);
	}
	worker_unlock();
	if (db < 0)
	{
		ereport(DEBUG1, errmsg("every collab announcer ring is taken"));
		return false;
	}
	xact.db = db;
	xact.writer[WORKER_ANNOUNCER] = true;
	xact.writer[kind] = true;
	for (k = 0; k < WORKER_KINDS; k++)
		if (start[k])
			start_worker(db, k);
	return true;
}

bool
worker_add(worker_kind kind, const char *str, int64 rev)
{
	uint32 len;
	worker_item *item;

	if (shared == NULL || !join_slot(kind))
		return false;
	len = (uint32) strlen(str) + 1;
	item = MemoryContextAlloc(TopTransactionContext,
							  offsetof(worker_item, str) + len);
	item->next = NULL;
	item->subid = GetCurrentSubTransactionId();
	item->kind = kind;
	item->rev = rev;
	item->placed = false;
	item->offset = 0;
	item->len = len;
	memcpy(item->str, str, len);
	if (xact.tail == NULL)
		xact.head = item;
	else
		xact.tail->next = item;
	xact.tail = item;
	return true;
}

void
worker_hand(worker_kind kind, bool (*put)(int db, const void *arg),
			const void *arg)
{
	int db;
	bool start = false;
	Latch *latch = NULL;

	if (shared == NULL)
		return;
	worker_lock();
	db = find_slot();
	if (db >= 0 && put(db, arg))
	{
		start = worker_wanted(db, kind);
		latch = latch_of(db, kind);
	}
	worker_unlock();
	if (latch != NULL)
		SetLatch(latch);
	if (start)
		start_worker(db, kind);
}

/* Pre-commit: let each kind place its items in its queue, in order. */
static void
place(void)
{
	worker_item *p;

	worker_lock();
	for (p = xact.head; p != NULL; p = p->next)
		if (kinds[p->kind]->place != NULL)
			p->placed = kinds[p->kind]->place(xact.db, p);
	worker_unlock();
}

/*
 * End of transaction: settle every item, leave the writers, wake the
 * workers.  Runs in commit and abort callbacks, so it must not fail.
 */
static void
finish(bool committed)
{
	Latch *latches[WORKER_KINDS] = {NULL, NULL};
	worker_item *p;
	int k;

	Assert(xact.writer[WORKER_ANNOUNCER]);
	worker_lock();
	for (p = xact.head; p != NULL; p = p->next)
		kinds[p->kind]->settle(xact.db, p, committed);
	for (k = 0; k < WORKER_KINDS; k++)
		if (xact.writer[k])
		{
			Assert(proc_of(xact.db, k)->writers > 0);
			proc_of(xact.db, k)->writers--;
			latches[k] = latch_of(xact.db, k);
		}
	worker_unlock();
	for (k = 0; k < WORKER_KINDS; k++)
		if (latches[k] != NULL)
			SetLatch(latches[k]);
	/* the items are freed with the transaction */
	xact.head = xact.tail = NULL;
	xact.db = -1;
	for (k = 0; k < WORKER_KINDS; k++)
		xact.writer[k] = false;
}

static void
xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	if (xact.db < 0)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (xact.head != NULL)
				ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("cannot PREPARE a transaction that has "
							   "submitted changes to collab"));
			break;
		case XACT_EVENT_PRE_COMMIT:
			place();
			break;
		case XACT_EVENT_COMMIT:
			finish(true);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			finish(false);
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	worker_item **link = &xact.head;
	worker_item *last = NULL;

	(void) arg;
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	while (*link != NULL)
	{
		worker_item *p = *link;

		if (p->subid >= mySubid && event == SUBXACT_EVENT_ABORT_SUB)
		{
			*link = p->next; /* rolled back with its savepoint */
			continue;
		}
		if (p->subid >= mySubid)
			p->subid = parentSubid;
		last = p;
		link = &p->next;
	}
	xact.tail = last;
}

/*
 * Whether worker kind of slot db has nothing to do and nobody who could
 * give it any; if so it leaves, and the slot is freed when nothing else
 * needs it.  Decided under the lock, so a writer either sees the worker
 * RUNNING (and the worker sees it) or sees it gone and starts a new one.
 */
static bool
leave_if_idle(int db, worker_kind kind)
{
	worker_proc *w = proc_of(db, kind);
	bool leave;

	worker_lock();
	Assert(w->state == WORKER_RUNNING);
	leave = w->writers == 0 && kinds[kind]->empty(db);
	if (leave)
	{
		w->state = WORKER_NONE;
		w->latch = NULL;
		free_if_unused(db);
	}
	worker_unlock();
	return leave;
}

static void
worker_exit(int code, Datum arg)
{
	worker_self *self = (worker_self *) DatumGetPointer(arg);
	worker_proc *w = proc_of(self->db, self->kind);

	(void) code;
	worker_lock();
	if (w->state != WORKER_NONE)
	{
		w->state = WORKER_NONE;
		w->latch = NULL;
		if (!self->connected)
		{
			/* the database is gone: its work can never be done */
			kinds[self->kind]->discard(self->db);
			free_if_unused(self->db);
		}
	}
	worker_unlock();
}

void
worker_main(Datum arg, worker_kind kind)
{
	int db = DatumGetInt32(arg);
	const worker_ops *ops = kinds[kind];
	worker_proc *w = proc_of(db, kind);
	worker_self *self;
	Oid dboid;
	TimestampTz last_work;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	self = MemoryContextAllocZero(TopMemoryContext, sizeof(worker_self));
	self->db = db;
	self->kind = kind;
	self->connected = false;
	worker_lock();
	Assert(w->state == WORKER_STARTING);
	dboid = shared->slots[db].dboid;
	w->latch = MyLatch;
	w->state = WORKER_RUNNING;
	worker_unlock();
	before_shmem_exit(worker_exit, PointerGetDatum(self));
	if (dboid == InvalidOid)
		proc_exit(0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	self->connected = true;
	/*
	 * The changes announced are durable already, their news need not be;
	 * a snapshot lost in a crash is only a slower read until the next one.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION);
	/*
	 * The snapshotter runs SQL as a superuser: a search_path set for the
	 * database or a role must not choose its operators.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET,
					PGC_S_SESSION);
	/* and read committed, whatever the database's default */
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_USERSET, PGC_S_SESSION);
	last_work = GetCurrentTimestamp();

	for (;;)
	{
		int pause_ms = 0;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (ops->work(db, &pause_ms))
		{
			last_work = GetCurrentTimestamp();
			if (!ShutdownRequestPending)
			{
				/* not listening to the latch: announcer.c says why */
				if (pause_ms > 0)
					(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
									 pause_ms, PG_WAIT_EXTENSION);
				continue; /* look again */
			}
		}
		if (ShutdownRequestPending ||
			TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(),
									   WORKER_IDLE_MS))
		{
			if (leave_if_idle(db, kind))
				break;
			if (ShutdownRequestPending)
				break; /* a new worker will do the rest */
		}
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WORKER_IDLE_MS / 4, PG_WAIT_EXTENSION);
	}
	proc_exit(0);
}

void
worker_init(void)
{
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_shmem;
}
