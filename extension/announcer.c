/*
 * announcer.c — batched NOTIFY through a background worker.
 *
 * Why: NOTIFY serialises every notifying transaction in the cluster at
 * commit (PreCommit_Notify takes a lock held until after the commit record
 * is flushed), which switches group commit off: one fsync per submit, one
 * submit at a time.  So when collab is in shared_preload_libraries, a
 * submit does not NOTIFY itself.  It keeps its payloads in backend memory
 * until pre-commit, reserves them in a ring in shared memory, marks them
 * committed (or aborted) from the commit (or abort) callback, and wakes the
 * database's announcer, a background worker that sends everything
 * committed in one transaction with synchronous_commit off (the changes
 * are already durable; the notifications are only news of them).  When
 * transactions were still writing as it took a batch, it pauses
 * ANNOUNCER_GATHER_MS before the next without listening to its latch, so
 * their commits set the latch but send no signal: a busy database pays a
 * wakeup per millisecond, not one per submit, and a notification waits at
 * most that long more; a quiet one waits for nothing.
 *
 * Ordering: entries are reserved at pre-commit, while the transaction
 * still holds its document id locks and is still running, so a later
 * submit to the same document reserves its entry after ours.  The
 * announcer sends in ring order and stops at the first entry still
 * pending (the wait lasts one commit), so per document the notifications
 * are in revision order.  Rolled-back transactions and savepoints never
 * reach the listeners.
 *
 * Duplicates: NOTIFY folds identical payloads sent in one transaction.
 * Two transactions may well send identical presence payloads, so the
 * announcer starts a new transaction whenever a payload repeats one it has
 * already sent in the current one.
 *
 * Loss: a full ring drops payloads and counts them; the announcer then
 * sends {"type":"overflow","dropped":N}, on which listeners resynchronise
 * from the log, as they do after a lost connection.  A submit never waits
 * for the announcer.
 *
 * Lifetime: a database's ring and announcer exist while the database is
 * busy.  The first submit claims a ring and starts the worker; the worker
 * leaves after ANNOUNCER_IDLE_MS without work, nobody writing and nothing
 * queued, freeing the ring, so DROP DATABASE is not held up and rings are
 * not leaked.  writers counts the transactions that may still reserve
 * entries, and the worker only leaves when it is zero, deciding under the
 * same lock, so no entry is ever left without a worker.
 *
 * Snapshots: a submit whose revision is due a snapshot does not build it
 * (a 1 MB document takes tens of milliseconds); it asks the database's
 * snapshotter, a second background worker, which builds and stores it
 * after the commit, in its own transaction (docs/documents.md).  The
 * request travels with the transaction like a payload and reaches the
 * snapshotter's queue (one per ring) only at commit.  A reader that finds
 * many changes past the newest snapshot asks too, so a lost request (a
 * full queue, a crash) costs reads a little until the next one.  The
 * snapshotter's lifetime follows the announcer's, with its own count of
 * the transactions that may still hand it requests.
 *
 * Shared state: COLLAB_QUEUES rings, all under one LWLock held only to
 * copy bytes or flip states.  Without the preload, with collab.notify_worker
 * off, or with every ring taken, submits NOTIFY directly (notify.c); with
 * collab.snapshot_worker off, they build their snapshots themselves.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "announcer.h"
#include "documents.h"
#include "notify.h"

#define COLLAB_QUEUES 8
#define ANNOUNCER_IDLE_MS 2000
#define ANNOUNCER_GATHER_MS 1 /* after sending, before looking again */
#define SNAPSHOT_REQUESTS 64  /* queued per database */

/* An entry: a header, then the payload with its NUL, padded to 8 bytes. */
typedef struct entry_header {
	uint32 len;	  /* payload bytes, or ENTRY_WRAP */
	uint32 state; /* ENTRY_PENDING, ENTRY_COMMITTED or ENTRY_ABORTED */
} entry_header;

#define ENTRY_WRAP UINT32_MAX /* "continue at the start of the ring" */
#define ENTRY_PENDING 1
#define ENTRY_COMMITTED 2
#define ENTRY_ABORTED 3
#define ENTRY_HEADER sizeof(entry_header)

int collab_notify_queue_kb = COLLAB_NOTIFY_QUEUE_KB_DEFAULT;
bool collab_notify_worker = true;
bool collab_snapshot_worker = true;

typedef enum announcer_state {
	ANNOUNCER_NONE,
	ANNOUNCER_STARTING,
	ANNOUNCER_RUNNING
} announcer_state;

/* A document due a snapshot at rev. */
typedef struct snapshot_request {
	int64 rev;
	char doc_id[COLLAB_ID_BYTES_MAX + 1];
} snapshot_request;

/* A background worker of a ring: the announcer or the snapshotter. */
typedef struct ring_worker {
	announcer_state state;
	Latch *latch; /* while RUNNING */
	int writers;  /* transactions that may still give it work */
} ring_worker;

typedef struct ring {
	Oid dboid; /* InvalidOid: free */
	ring_worker announcer;
	uint64 head;	/* bytes ever written */
	uint64 tail;	/* bytes ever read */
	uint64 dropped; /* payloads lost to a full ring, not yet reported */
	ring_worker snapshotter;
	int nrequests;
	uint64 requests_dropped; /* to a full queue, not yet reported */
	snapshot_request requests[SNAPSHOT_REQUESTS];
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

/*
 * This transaction's payloads and snapshot requests (in
 * TopTransactionContext).  A payload is pending until pre-commit, then
 * reserved in the ring at offset; a request (payload is then the document
 * id) goes to the snapshotter's queue at commit.
 */
typedef struct pending {
	struct pending *next;
	SubTransactionId subid; /* the subtransaction that made it */
	bool snapshot;			/* a snapshot request, at rev */
	int64 rev;
	bool reserved; /* in the ring, at offset */
	uint64 offset;
	uint32 len; /* bytes with the terminating NUL */
	char payload[FLEXIBLE_ARRAY_MEMBER];
} pending;

static pending *pending_head;
static pending *pending_tail;
static int my_ring = -1;  /* the ring this transaction writes to */
static bool my_snapshots; /* and it counts among its snapshotter's writers */

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
	return (uint32) (ENTRY_HEADER + ((len + 7) & ~7u));
}

/*
 * Reserves an entry for payload in ring r, pending, and gives its offset
 * (caller holds the lock exclusively).  An entry never straddles the end
 * of the ring: it goes to the start instead, behind a wrap mark.
 */
static bool
ring_put(int r, const char *payload, uint32 len, uint64 *offset)
{
	ring *q = &shared->rings[r];
	Size size = shared->ring_bytes;
	Size pos = q->head % size;
	Size need = entry_size(len);
	Size skip = (size - pos < need) ? size - pos : 0;
	char *data = ring_data(r);
	entry_header h;

	if (size - (q->head - q->tail) < skip + need)
		return false;
	if (skip > 0)
	{
		/* entries are 8-byte multiples, so a header always fits here */
		h.len = ENTRY_WRAP;
		h.state = ENTRY_COMMITTED;
		memcpy(data + pos, &h, ENTRY_HEADER);
		q->head += skip;
		pos = 0;
	}
	h.len = len;
	h.state = ENTRY_PENDING;
	memcpy(data + pos, &h, ENTRY_HEADER);
	memcpy(data + pos + ENTRY_HEADER, payload, len);
	*offset = q->head;
	q->head += need;
	return true;
}

static void
ring_mark(int r, uint64 offset, uint32 state)
{
	entry_header *h =
		(entry_header *) (ring_data(r) + offset % shared->ring_bytes);

	h->state = state;
}

/*
 * Takes the committed entries at the start of ring r into out, skipping
 * aborted ones and stopping at the first pending one; returns the bytes
 * used (payloads with their NULs) and sets *progress when the tail moved.
 */
static Size
ring_take(int r, char *out, bool *progress)
{
	ring *q = &shared->rings[r];
	Size size = shared->ring_bytes;
	char *data = ring_data(r);
	Size used = 0;

	*progress = false;
	while (q->tail < q->head)
	{
		Size pos = q->tail % size;
		entry_header h;

		memcpy(&h, data + pos, ENTRY_HEADER);
		if (h.len == ENTRY_WRAP)
		{
			q->tail += size - pos;
			continue;
		}
		if (h.state == ENTRY_PENDING)
			break; /* its commit is under way: keep the order */
		if (h.state == ENTRY_COMMITTED)
		{
			memcpy(out + used, data + pos + ENTRY_HEADER, h.len);
			used += h.len;
		}
		q->tail += entry_size(h.len);
		*progress = true;
	}
	return used;
}

/* The two workers of a ring. */
typedef enum worker_kind {
	ANNOUNCER,
	SNAPSHOTTER
} worker_kind;

static const char *const worker_names[] = {"announcer", "snapshotter"};

static ring_worker *
worker_of(int r, worker_kind kind)
{
	return kind == ANNOUNCER ? &shared->rings[r].announcer
							 : &shared->rings[r].snapshotter;
}

/*
 * Marks worker kind of ring r starting when it is not there (caller holds
 * the lock exclusively); true when the caller must start it.
 */
static bool
worker_wanted(int r, worker_kind kind)
{
	ring_worker *w = worker_of(r, kind);

	if (w->state != ANNOUNCER_NONE)
		return false;
	w->state = ANNOUNCER_STARTING;
	return true;
}

/* Starts worker kind of ring r, which worker_wanted marked starting. */
static void
start_worker(int r, worker_kind kind)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags =
		BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "collab");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "collab_%s_main",
			 worker_names[kind]);
	snprintf(worker.bgw_name, BGW_MAXLEN, "collab %s %d", worker_names[kind],
			 r);
	snprintf(worker.bgw_type, BGW_MAXLEN, "collab %s", worker_names[kind]);
	worker.bgw_main_arg = Int32GetDatum(r);
	worker.bgw_notify_pid = 0;
	if (RegisterDynamicBackgroundWorker(&worker, NULL))
		return;
	/* its work waits for the next one started */
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	worker_of(r, kind)->state = ANNOUNCER_NONE;
	LWLockRelease(shared->lock);
	ereport(WARNING,
			errmsg("collab could not start its %s", worker_names[kind]),
			errhint("Raise max_worker_processes."));
}

/*
 * The ring of this database, claimed if it has none (caller holds the lock
 * exclusively); -1 when every ring is taken.
 */
static int
find_ring(void)
{
	int i;

	for (i = 0; i < COLLAB_QUEUES; i++)
		if (shared->rings[i].dboid == MyDatabaseId)
			return i;
	for (i = 0; i < COLLAB_QUEUES; i++)
		if (shared->rings[i].dboid == InvalidOid)
		{
			memset(&shared->rings[i], 0, sizeof(ring));
			shared->rings[i].dboid = MyDatabaseId;
			return i;
		}
	return -1;
}

/* Frees ring r when neither worker nor anyone else needs it (lock held). */
static void
free_if_unused(ring *q)
{
	if (q->announcer.state == ANNOUNCER_NONE &&
		q->snapshotter.state == ANNOUNCER_NONE && q->announcer.writers == 0 &&
		q->snapshotter.writers == 0 && q->tail == q->head && q->dropped == 0 &&
		q->nrequests == 0 && q->requests_dropped == 0)
		q->dboid = InvalidOid;
}

/*
 * Joins this transaction to its database's ring as a writer of worker
 * kind (once per transaction and kind), claiming a ring and starting the
 * worker when needed.  A snapshot writer is an announcer writer too (its
 * requests travel with the payloads).  Returns false when no ring can be
 * had: the caller does the work itself.
 */
static bool
join_ring(worker_kind kind)
{
	int r;
	bool start[2] = {false, false};

	if (my_ring >= 0 && (kind == ANNOUNCER || my_snapshots))
		return true;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	r = my_ring >= 0 ? my_ring : find_ring();
	if (r >= 0 && my_ring < 0)
	{
		shared->rings[r].announcer.writers++;
		start[ANNOUNCER] = worker_wanted(r, ANNOUNCER);
	}
	if (r >= 0 && kind == SNAPSHOTTER)
	{
		shared->rings[r].snapshotter.writers++;
		start[SNAPSHOTTER] = worker_wanted(r, SNAPSHOTTER);
	}
	LWLockRelease(shared->lock);
	if (r < 0)
	{
		ereport(DEBUG1, errmsg("every collab announcer ring is taken"));
		return false;
	}
	my_ring = r;
	my_snapshots = my_snapshots || kind == SNAPSHOTTER;
	if (start[ANNOUNCER])
		start_worker(r, ANNOUNCER);
	if (start[SNAPSHOTTER])
		start_worker(r, SNAPSHOTTER);
	return true;
}

/* Adds str (a payload, or a document id) to this transaction's list. */
static void
add_pending(const char *str, bool snapshot, int64 rev)
{
	uint32 len = (uint32) strlen(str) + 1;
	pending *p = MemoryContextAlloc(TopTransactionContext,
									offsetof(pending, payload) + len);

	p->next = NULL;
	p->subid = GetCurrentSubTransactionId();
	p->snapshot = snapshot;
	p->rev = rev;
	p->reserved = false;
	p->offset = 0;
	p->len = len;
	memcpy(p->payload, str, len);
	if (pending_tail == NULL)
		pending_head = p;
	else
		pending_tail->next = p;
	pending_tail = p;
}

bool
announcer_enqueue(const char *payload)
{
	if (shared == NULL || !collab_notify_worker || !join_ring(ANNOUNCER))
		return false;
	add_pending(payload, false, 0);
	return true;
}

bool
announcer_snapshot_later(const char *doc_id, int64 rev)
{
	if (shared == NULL || !collab_snapshot_worker || !join_ring(SNAPSHOTTER))
		return false;
	add_pending(doc_id, true, rev);
	return true;
}

/*
 * Queues a snapshot of doc_id at rev in ring r (caller holds the lock
 * exclusively), unless it is queued already: at rev, or at any revision
 * when any_rev (a reader's hint needs one snapshot, not one per read).
 * false when the queue is full.
 */
static bool
request_put(int r, const char *doc_id, int64 rev, bool any_rev)
{
	ring *q = &shared->rings[r];
	int i;

	for (i = 0; i < q->nrequests; i++)
		if ((any_rev || q->requests[i].rev == rev) &&
			strcmp(q->requests[i].doc_id, doc_id) == 0)
			return true;
	if (q->nrequests == SNAPSHOT_REQUESTS)
		return false;
	q->requests[q->nrequests].rev = rev;
	strlcpy(q->requests[q->nrequests].doc_id, doc_id,
			sizeof(q->requests[q->nrequests].doc_id));
	q->nrequests++;
	return true;
}

void
announcer_snapshot_hint(const char *doc_id, int64 rev)
{
	int r;
	bool start = false;
	Latch *latch = NULL;

	if (shared == NULL || !collab_snapshot_worker ||
		strlen(doc_id) > COLLAB_ID_BYTES_MAX)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	r = find_ring();
	if (r >= 0 && request_put(r, doc_id, rev, true))
	{
		start = worker_wanted(r, SNAPSHOTTER);
		if (shared->rings[r].snapshotter.state == ANNOUNCER_RUNNING)
			latch = shared->rings[r].snapshotter.latch;
	}
	LWLockRelease(shared->lock);
	if (latch != NULL)
		SetLatch(latch);
	if (start)
		start_worker(r, SNAPSHOTTER);
}

/* Pre-commit: reserve every payload in the ring, in order. */
static void
reserve(void)
{
	ring *q = &shared->rings[my_ring];
	pending *p;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (p = pending_head; p != NULL; p = p->next)
	{
		if (p->snapshot)
			continue;
		p->reserved = ring_put(my_ring, p->payload, p->len, &p->offset);
		if (!p->reserved)
			q->dropped++;
	}
	LWLockRelease(shared->lock);
}

/*
 * End of transaction: mark the reserved entries committed or aborted,
 * hand the snapshot requests of a commit to the snapshotter, leave the
 * writers, wake the workers.  Runs in commit and abort callbacks, so it
 * must not fail: it only copies and flips bytes under the lock.
 */
static void
finish(uint32 state)
{
	ring *q = &shared->rings[my_ring];
	Latch *latch;
	Latch *snap_latch = NULL;
	pending *p;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (p = pending_head; p != NULL; p = p->next)
		if (p->snapshot && state == ENTRY_COMMITTED)
		{
			if (!request_put(my_ring, p->payload, p->rev, false))
				q->requests_dropped++;
		}
		else if (p->reserved)
			ring_mark(my_ring, p->offset, state);
	q->announcer.writers--;
	latch =
		q->announcer.state == ANNOUNCER_RUNNING ? q->announcer.latch : NULL;
	if (my_snapshots)
	{
		q->snapshotter.writers--;
		if (q->snapshotter.state == ANNOUNCER_RUNNING)
			snap_latch = q->snapshotter.latch;
	}
	LWLockRelease(shared->lock);
	if (latch != NULL)
		SetLatch(latch);
	if (snap_latch != NULL)
		SetLatch(snap_latch);
	pending_head = pending_tail = NULL; /* freed with the transaction */
	my_ring = -1;
	my_snapshots = false;
}

static void
xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	if (my_ring < 0)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (pending_head != NULL)
				ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("cannot PREPARE a transaction that has "
							   "submitted changes to collab"));
			break;
		case XACT_EVENT_PRE_COMMIT:
			reserve();
			break;
		case XACT_EVENT_COMMIT:
			finish(ENTRY_COMMITTED);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			finish(ENTRY_ABORTED);
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
	pending *last = NULL;

	(void) arg;
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	while (*link != NULL)
	{
		pending *p = *link;

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
	pending_tail = last;
}

/* A small set of payload hashes: a repeat means a new transaction. */
static HTAB *
new_seen(void)
{
	HASHCTL ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(uint64);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("collab announced payloads", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Sends what ring r has committed.  Returns true when the ring moved (or
 * there was an overflow to report).
 */
/* whether a transaction was still writing when announce last took */
static bool writers_at_take;

static bool
announce(int r, char *buf)
{
	uint64 dropped;
	Size used;
	Size at;
	bool progress;
	HTAB *seen;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	used = ring_take(r, buf, &progress);
	writers_at_take = shared->rings[r].announcer.writers > 0;
	dropped = shared->rings[r].dropped;
	shared->rings[r].dropped = 0;
	LWLockRelease(shared->lock);
	if (used == 0 && dropped == 0)
		return progress;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "announcing changes");
	seen = new_seen();
	if (dropped > 0)
		Async_Notify(
			COLLAB_CHANNEL,
			psprintf("{\"type\":\"overflow\",\"dropped\":" UINT64_FORMAT "}",
					 dropped));
	for (at = 0; at < used; at += strlen(buf + at) + 1)
	{
		size_t len = strlen(buf + at);
		uint64 key = hash_bytes_extended((const unsigned char *) buf + at,
										 (int) len, 0);
		bool found;

		(void) hash_search(seen, &key, HASH_ENTER, &found);
		if (found)
		{
			/* NOTIFY would fold it into the first: next transaction */
			CommitTransactionCommand();
			StartTransactionCommand();
			seen = new_seen();
			(void) hash_search(seen, &key, HASH_ENTER, &found);
		}
		Async_Notify(COLLAB_CHANNEL, buf + at);
	}
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return true;
}

/*
 * Whether worker kind of ring r has nothing to do and nobody who could give
 * it any; if so it leaves, and the ring is freed when nothing else needs
 * it.  Decided under the lock, so a writer either sees the worker RUNNING
 * (and the worker sees it) or sees it gone and starts a new one.
 */
static bool
leave_if_idle(int r, worker_kind kind)
{
	ring *q = &shared->rings[r];
	ring_worker *w = worker_of(r, kind);
	bool leave;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	leave =
		w->writers == 0 &&
		(kind == ANNOUNCER ? q->tail == q->head && q->dropped == 0
						   : q->nrequests == 0 && q->requests_dropped == 0);
	if (leave)
	{
		w->state = ANNOUNCER_NONE;
		w->latch = NULL;
		free_if_unused(q);
	}
	LWLockRelease(shared->lock);
	return leave;
}

static bool connected;

static void
worker_exit(int code, Datum arg)
{
	int r = DatumGetInt32(arg) & 0xffff;
	worker_kind kind = (worker_kind) (DatumGetInt32(arg) >> 16);
	ring *q = &shared->rings[r];
	ring_worker *w = worker_of(r, kind);

	(void) code;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (w->state != ANNOUNCER_NONE)
	{
		w->state = ANNOUNCER_NONE;
		w->latch = NULL;
		if (!connected)
		{
			/* the database is gone: its work can never be done */
			if (kind == ANNOUNCER)
				q->tail = q->head;
			else
				q->nrequests = 0;
			free_if_unused(q);
		}
	}
	LWLockRelease(shared->lock);
}

/*
 * What both workers do: attach to ring r, connect to its database, and
 * call work until it returns false and leave_if_idle agrees, or until
 * shutdown.  work returns true when it did something.
 */
static void
worker_main(Datum arg, worker_kind kind, bool (*work)(int r))
{
	int r = DatumGetInt32(arg);
	ring_worker *w = worker_of(r, kind);
	Oid dboid;
	TimestampTz last_work;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	dboid = shared->rings[r].dboid;
	w->latch = MyLatch;
	w->state = ANNOUNCER_RUNNING;
	LWLockRelease(shared->lock);
	before_shmem_exit(worker_exit, Int32GetDatum(r | ((int) kind << 16)));
	if (dboid == InvalidOid)
		proc_exit(0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	connected = true;
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
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (work(r))
		{
			last_work = GetCurrentTimestamp();
			/*
			 * Busy, with transactions still writing: gather their commits
			 * for a moment before sending them.  Not waiting on the latch,
			 * the commits meanwhile only set it; waiting on it, each would
			 * wake us with a signal (a kill and a switch per submit, ~5%
			 * of a busy machine).  With nobody writing, nothing is
			 * delayed.
			 */
			if (!ShutdownRequestPending)
			{
				if (kind == ANNOUNCER && writers_at_take)
					(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
									 ANNOUNCER_GATHER_MS, PG_WAIT_EXTENSION);
				continue; /* look again (the snapshotter: one at a time) */
			}
		}
		if (ShutdownRequestPending ||
			TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(),
									   ANNOUNCER_IDLE_MS))
		{
			if (leave_if_idle(r, kind))
				break;
			if (ShutdownRequestPending)
				break; /* a new worker will do the rest */
		}
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ANNOUNCER_IDLE_MS / 4, PG_WAIT_EXTENSION);
	}
	proc_exit(0);
}

static char *announce_buf;

static bool
announce_work(int r)
{
	if (announce_buf == NULL)
		announce_buf =
			MemoryContextAlloc(TopMemoryContext, shared->ring_bytes);
	return announce(r, announce_buf);
}

void
collab_announcer_main(Datum arg)
{
	worker_main(arg, ANNOUNCER, announce_work);
}

/*
 * Builds the first queued snapshot, in its own transaction.  A failure is
 * logged and the request dropped: the snapshot is only an optimisation,
 * and a reader asks again.
 */
static bool
snapshot_work(int r)
{
	ring *q = &shared->rings[r];
	snapshot_request req;
	uint64 dropped;
	MemoryContext mcxt = CurrentMemoryContext;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	dropped = q->requests_dropped;
	q->requests_dropped = 0;
	req.rev = -1;
	if (q->nrequests > 0)
	{
		req = q->requests[0];
		q->nrequests--;
		memmove(&q->requests[0], &q->requests[1],
				q->nrequests * sizeof(snapshot_request));
	}
	LWLockRelease(shared->lock);
	if (dropped > 0)
		ereport(LOG,
				errmsg("collab's snapshot queue was full: " UINT64_FORMAT
					   " snapshots were not taken",
					   dropped),
				errdetail("Reading those documents asks for them again."));
	if (req.rev < 0)
		return dropped > 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "taking a snapshot");
	PG_TRY();
	{
		(void) doc_take_snapshot(cstring_to_text(req.doc_id), req.rev, false);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(mcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return true;
}

void
collab_snapshotter_main(Datum arg)
{
	worker_main(arg, SNAPSHOTTER, snapshot_work);
}

void
announcer_init(void)
{
	DefineCustomBoolVariable(
		"collab.notify_worker",
		"Announce changes through collab's background worker.",
		"Needs collab in shared_preload_libraries; off, or without it, "
		"each submit runs NOTIFY itself. Set it per database or cluster: "
		"sessions that write one document by different paths can have its "
		"revisions announced out of order.",
		&collab_notify_worker, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable(
		"collab.snapshot_worker",
		"Take snapshots after commit, in collab's background worker.",
		"Needs collab in shared_preload_libraries; off, or without it, the "
		"submit whose revision is due a snapshot builds and stores it in "
		"its own transaction.",
		&collab_snapshot_worker, true, PGC_SUSET, 0, NULL, NULL, NULL);
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
