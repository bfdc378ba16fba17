/*
 * announcer.c — batched NOTIFY through a background worker.
 *
 * Why: NOTIFY serialises every notifying transaction in the cluster at
 * commit (PreCommit_Notify takes a lock held until after the commit record
 * is flushed), which switches group commit off: one fsync per submit, one
 * submit at a time.  So when collab is in shared_preload_libraries, a
 * submit does not NOTIFY itself.  It keeps its payloads in backend memory;
 * the commit callback copies them into a ring in shared memory and wakes
 * the database's announcer, a background worker that sends everything
 * queued in one transaction with synchronous_commit off (the changes are
 * already durable; the notifications are only news of them).
 *
 * Ordering: payloads enter the ring in the commit callback, which runs
 * while the transaction still holds its document row locks, so the next
 * submit to the same document cannot even start before its predecessor's
 * payload is queued: per document, the ring (and so the notifications) is
 * in revision order.  Rolled-back transactions and savepoints drop their
 * payloads before they reach the ring.
 *
 * Loss: a full ring drops payloads and counts them; the announcer then
 * sends {"type":"overflow","dropped":N}, on which listeners resynchronise
 * from the log, as they do after a lost connection.  A submit never waits
 * for the announcer.
 *
 * Shared state: one ring per database (COLLAB_QUEUES of them), all under
 * one LWLock held only to copy bytes.  Without the preload, or with
 * collab.notify_worker off, submits NOTIFY directly (notify.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
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

#include "announcer.h"
#include "notify.h"

#define COLLAB_QUEUES 8
#define ENTRY_WRAP UINT32_MAX /* "continue at the start of the ring" */
#define ENTRY_HEADER sizeof(uint32)

int collab_notify_queue_kb = COLLAB_NOTIFY_QUEUE_KB_DEFAULT;
bool collab_notify_worker = true;

typedef enum announcer_state {
	ANNOUNCER_NONE,
	ANNOUNCER_STARTING,
	ANNOUNCER_RUNNING
} announcer_state;

typedef struct ring {
	Oid dboid; /* InvalidOid: unused */
	announcer_state state;
	Latch *latch;	/* the announcer's, while RUNNING */
	uint64 head;	/* bytes ever written */
	uint64 tail;	/* bytes ever read */
	uint64 dropped; /* payloads lost to a full ring, unsent */
} ring;

typedef struct announcer_shared {
	LWLock *lock;
	Size ring_bytes;
	ring rings[COLLAB_QUEUES];
	char data[FLEXIBLE_ARRAY_MEMBER]; /* COLLAB_QUEUES rings */
} announcer_shared;

static announcer_shared *shared;
static shmem_request_hook_type prev_shmem_request_hook;
static shmem_startup_hook_type prev_shmem_startup_hook;

/* This backend's payloads, waiting for commit (in TopTransactionContext). */
typedef struct pending {
	struct pending *next;
	SubTransactionId subid; /* the subtransaction that made it */
	uint32 len;				/* bytes with the terminating NUL */
	char payload[FLEXIBLE_ARRAY_MEMBER];
} pending;

static pending *pending_head;
static int my_ring = -1; /* this backend's database's ring */

static Size
ring_bytes(void)
{
	return (Size) collab_notify_queue_kb * 1024;
}

static Size
shared_size(void)
{
	return add_size(offsetof(announcer_shared, data),
					mul_size(COLLAB_QUEUES, ring_bytes()));
}

static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
	RequestNamedLWLockTranche("collab", 1);
}

static void
startup_shmem(void)
{
	bool found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("collab announcer", shared_size(), &found);
	if (!found)
	{
		memset(shared, 0, offsetof(announcer_shared, data));
		shared->lock = &(GetNamedLWLockTranche("collab"))->lock;
		shared->ring_bytes = ring_bytes();
	}
	LWLockRelease(AddinShmemInitLock);
}

static char *
ring_data(int r)
{
	return shared->data + (Size) r * shared->ring_bytes;
}

static uint32
entry_size(uint32 len)
{
	return (uint32) ENTRY_HEADER + ((len + 3) & ~3u);
}

/*
 * Appends one payload to ring r (caller holds the lock exclusively).
 * An entry never straddles the end: it goes to the start instead, behind
 * a wrap mark (or behind nothing when fewer than 4 bytes are left).
 */
static bool
ring_put(int r, const char *payload, uint32 len)
{
	ring *q = &shared->rings[r];
	Size size = shared->ring_bytes;
	Size pos = q->head % size;
	Size need = entry_size(len);
	Size skip = (size - pos < need) ? size - pos : 0;
	char *data = ring_data(r);

	if (size - (q->head - q->tail) < skip + need)
		return false;
	if (skip > 0)
	{
		if (skip >= ENTRY_HEADER)
		{
			uint32 wrap = ENTRY_WRAP;

			memcpy(data + pos, &wrap, ENTRY_HEADER);
		}
		q->head += skip;
		pos = 0;
	}
	memcpy(data + pos, &len, ENTRY_HEADER);
	memcpy(data + pos + ENTRY_HEADER, payload, len);
	q->head += need;
	return true;
}

/* Takes every entry of ring r into out (size bytes); returns bytes used. */
static Size
ring_take(int r, char *out)
{
	ring *q = &shared->rings[r];
	Size size = shared->ring_bytes;
	char *data = ring_data(r);
	Size used = 0;

	while (q->tail < q->head)
	{
		Size pos = q->tail % size;
		uint32 len;

		if (size - pos < ENTRY_HEADER)
		{
			q->tail += size - pos;
			continue;
		}
		memcpy(&len, data + pos, ENTRY_HEADER);
		if (len == ENTRY_WRAP)
		{
			q->tail += size - pos;
			continue;
		}
		memcpy(out + used, data + pos + ENTRY_HEADER, len);
		used += len;
		q->tail += entry_size(len);
	}
	return used;
}

/*
 * This backend's ring, with its announcer running or starting; -1 when
 * there is none to be had (no preload, no free ring, no worker slot).
 */
static int
ring_for_database(void)
{
	BackgroundWorker worker;
	int r = my_ring;
	bool start = false;

	if (shared == NULL)
		return -1;
	if (r >= 0)
	{
		LWLockAcquire(shared->lock, LW_SHARED);
		start = shared->rings[r].state == ANNOUNCER_NONE;
		LWLockRelease(shared->lock);
		if (!start)
			return r;
	}
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (r < 0)
	{
		int unused = -1;
		int i;

		for (i = 0; i < COLLAB_QUEUES && r < 0; i++)
		{
			if (shared->rings[i].dboid == MyDatabaseId)
				r = i;
			else if (shared->rings[i].dboid == InvalidOid && unused < 0)
				unused = i;
		}
		if (r < 0 && unused >= 0)
		{
			r = unused;
			memset(&shared->rings[r], 0, sizeof(ring));
			shared->rings[r].dboid = MyDatabaseId;
		}
	}
	start = r >= 0 && shared->rings[r].state == ANNOUNCER_NONE;
	if (start)
		shared->rings[r].state = ANNOUNCER_STARTING;
	LWLockRelease(shared->lock);
	if (r < 0)
		return -1;
	my_ring = r;
	if (!start)
		return r;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags =
		BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "collab");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "collab_announcer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "collab announcer %d", r);
	snprintf(worker.bgw_type, BGW_MAXLEN, "collab announcer");
	worker.bgw_main_arg = Int32GetDatum(r);
	worker.bgw_notify_pid = 0;
	if (RegisterDynamicBackgroundWorker(&worker, NULL))
		return r;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->rings[r].state = ANNOUNCER_NONE;
	LWLockRelease(shared->lock);
	ereport(WARNING,
			errmsg("collab could not start its announcer; notifying directly"),
			errhint("Raise max_worker_processes."));
	return -1;
}

bool
announcer_enqueue(const char *payload)
{
	pending *p;
	uint32 len;

	if (!collab_notify_worker || ring_for_database() < 0)
		return false;
	len = (uint32) strlen(payload) + 1;
	p = MemoryContextAlloc(TopTransactionContext,
						   offsetof(pending, payload) + len);
	p->subid = GetCurrentSubTransactionId();
	p->len = len;
	memcpy(p->payload, payload, len);
	/* keep creation order: append at the end */
	p->next = NULL;
	if (pending_head == NULL)
		pending_head = p;
	else
	{
		pending *last = pending_head;

		while (last->next != NULL)
			last = last->next;
		last->next = p;
	}
	return true;
}

/* At commit: into the ring, and wake the announcer. */
static void
publish(void)
{
	ring *q = &shared->rings[my_ring];
	Latch *latch;
	pending *p;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (p = pending_head; p != NULL; p = p->next)
		if (!ring_put(my_ring, p->payload, p->len))
			q->dropped++;
	latch = q->state == ANNOUNCER_RUNNING ? q->latch : NULL;
	LWLockRelease(shared->lock);
	if (latch != NULL)
		SetLatch(latch);
}

static void
xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	if (pending_head == NULL)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("cannot PREPARE a transaction that has submitted "
						   "changes to collab"));
			break;
		case XACT_EVENT_COMMIT:
			publish();
			pending_head = NULL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending_head = NULL; /* the memory goes with the transaction */
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	pending **link = &pending_head;

	(void) arg;
	while (*link != NULL)
	{
		pending *p = *link;

		if (p->subid >= mySubid && event == SUBXACT_EVENT_ABORT_SUB)
		{
			*link = p->next; /* rolled back with its savepoint */
			continue;
		}
		if (p->subid >= mySubid && event == SUBXACT_EVENT_COMMIT_SUB)
			p->subid = parentSubid;
		link = &p->next;
	}
}

static void
announcer_exit(int code, Datum arg)
{
	int r = DatumGetInt32(arg);

	(void) code;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->rings[r].state = ANNOUNCER_NONE;
	shared->rings[r].latch = NULL;
	LWLockRelease(shared->lock);
}

/* Sends what ring r holds, in one transaction. */
static void
announce(int r, char *buf)
{
	uint64 dropped;
	Size used;
	Size at;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	used = ring_take(r, buf);
	dropped = shared->rings[r].dropped;
	shared->rings[r].dropped = 0;
	LWLockRelease(shared->lock);
	if (used == 0 && dropped == 0)
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "announcing changes");
	if (dropped > 0)
		Async_Notify(
			COLLAB_CHANNEL,
			psprintf("{\"type\":\"overflow\",\"dropped\":" UINT64_FORMAT "}",
					 dropped));
	for (at = 0; at < used; at += strlen(buf + at) + 1)
		Async_Notify(COLLAB_CHANNEL, buf + at);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
collab_announcer_main(Datum arg)
{
	int r = DatumGetInt32(arg);
	Oid dboid;
	char *buf;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	dboid = shared->rings[r].dboid;
	shared->rings[r].latch = MyLatch;
	shared->rings[r].state = ANNOUNCER_RUNNING;
	LWLockRelease(shared->lock);
	before_shmem_exit(announcer_exit, arg);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	/* the changes announced are durable already; their news need not be */
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION);
	buf = MemoryContextAlloc(TopMemoryContext, shared->ring_bytes);

	while (!ShutdownRequestPending)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		announce(r, buf);
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
	}
	announce(r, buf); /* what arrived before the shutdown */
	proc_exit(0);
}

void
announcer_init(void)
{
	DefineCustomBoolVariable(
		"collab.notify_worker",
		"Announce changes through collab's background worker.",
		"Needs collab in shared_preload_libraries; off, or without it, each "
		"submit runs NOTIFY itself.",
		&collab_notify_worker, true, PGC_SUSET, 0, NULL, NULL, NULL);
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable(
		"collab.notify_queue_kb",
		"Size of each database's queue of announcements, in kB.", NULL,
		&collab_notify_queue_kb, COLLAB_NOTIFY_QUEUE_KB_DEFAULT,
		COLLAB_NOTIFY_QUEUE_KB_MIN, COLLAB_NOTIFY_QUEUE_KB_MAX, PGC_POSTMASTER,
		GUC_UNIT_KB, NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_shmem;
}
