/*
 * snapshotter.c — snapshots taken after commit, by a background worker.
 *
 * Why: a submit whose revision is due a snapshot does not build it (a
 * 1 MB document takes tens of milliseconds); it asks the database's
 * snapshotter, which builds and stores it after the commit, in its own
 * transaction (docs/documents.md, "The snapshotter").
 *
 * Ordering: the request travels with the transaction as a worker_item
 * (worker.h) and reaches the database's queue only at commit, so an
 * uncommitted revision is never asked for; a rolled-back savepoint drops
 * it.  The snapshotter takes requests one at a time, in the order queued.
 *
 * Loss: a full queue drops requests and counts them (logged by the
 * snapshotter); a crash loses the queue.  A reader that finds many changes
 * past the newest snapshot asks again (snapshotter_hint), so a lost
 * request costs reads a little until the next one.
 *
 * Shared state: a queue per worker slot (worker.h: its lifetime, and the
 * one lock held only to copy bytes; snapshotter.h: the queue's
 * invariants).  Without the preload, with collab.snapshot_worker off, or
 * with every slot taken, submits build their snapshots themselves.
 */
#include "postgres.h"

#include "access/xact.h"
#include "pgstat.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "documents.h"
#include "snapshotter.h"
#include "worker.h"

#define SNAPSHOTTER_REQUESTS 64 /* queued per database */

bool collab_snapshot_worker = true;

/* A document due a snapshot at rev. */
typedef struct snapshot_request {
	int64 rev;
	char doc_id[WIRE_ID_BYTES_MAX + 1];
} snapshot_request;

typedef struct request_queue {
	int nrequests;
	uint64 dropped; /* requests lost to a full queue, not yet reported */
	snapshot_request requests[SNAPSHOTTER_REQUESTS];
} request_queue;

static request_queue *queues; /* WORKER_DATABASES of them */

static Size
shmem_size(void)
{
	return mul_size(WORKER_DATABASES, sizeof(request_queue));
}

static void
shmem_init(void)
{
	bool found;

	queues = ShmemInitStruct("collab snapshotter", shmem_size(), &found);
	if (!found)
		memset(queues, 0, shmem_size());
}

static void
reset(int db)
{
	memset(&queues[db], 0, sizeof(request_queue));
}

static bool
empty(int db)
{
	request_queue *q = &queues[db];

	Assert(q->nrequests >= 0 && q->nrequests <= SNAPSHOTTER_REQUESTS);
	return q->nrequests == 0 && q->dropped == 0;
}

static void
discard(int db)
{
	queues[db].nrequests = 0;
}

/*
 * Queues a snapshot of doc_id at rev in db's queue (lock held), unless it
 * is queued already: at rev, or at any revision when any_rev (a reader's
 * hint needs one snapshot, not one per read).  false when the queue is
 * full.
 */
static bool
request_put(int db, const char *doc_id, int64 rev, bool any_rev)
{
	request_queue *q = &queues[db];
	int i;

	Assert(q->nrequests >= 0 && q->nrequests <= SNAPSHOTTER_REQUESTS);
	for (i = 0; i < q->nrequests; i++)
		if ((any_rev || q->requests[i].rev == rev) &&
			strcmp(q->requests[i].doc_id, doc_id) == 0)
			return true;
	if (q->nrequests == SNAPSHOTTER_REQUESTS)
		return false;
	q->requests[q->nrequests].rev = rev;
	strlcpy(q->requests[q->nrequests].doc_id, doc_id,
			sizeof(q->requests[q->nrequests].doc_id));
	q->nrequests++;
	return true;
}

/* At commit, the request joins the queue; at abort it is forgotten. */
static void
settle(int db, worker_item *item, bool committed)
{
	if (committed && !request_put(db, item->str, item->rev, false))
		queues[db].dropped++;
}

/*
 * The worker's work: builds the first queued snapshot, in its own
 * transaction.  A failure is logged and the request dropped: the snapshot
 * is only an optimisation, and a reader asks again.
 */
static bool
work(int db, int *pause_ms)
{
	request_queue *q = &queues[db];
	snapshot_request req;
	uint64 dropped;
	MemoryContext mcxt = CurrentMemoryContext;

	(void) pause_ms; /* one request at a time, without a pause */
	worker_lock();
	Assert(q->nrequests >= 0 && q->nrequests <= SNAPSHOTTER_REQUESTS);
	dropped = q->dropped;
	q->dropped = 0;
	req.rev = -1;
	if (q->nrequests > 0)
	{
		req = q->requests[0];
		q->nrequests--;
		memmove(&q->requests[0], &q->requests[1],
				q->nrequests * sizeof(snapshot_request));
	}
	worker_unlock();
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

static const worker_ops snapshotter_ops = {
	.name = "snapshotter",
	.shmem_size = shmem_size,
	.shmem_init = shmem_init,
	.reset = reset,
	.empty = empty,
	.discard = discard,
	.place = NULL, /* requests wait for the commit */
	.settle = settle,
	.work = work,
};

void
snapshotter_init(void)
{
	worker_register(WORKER_SNAPSHOTTER, &snapshotter_ops);
}

bool
snapshotter_request(const char *doc_id, int64 rev)
{
	return collab_snapshot_worker &&
		   worker_add(WORKER_SNAPSHOTTER, doc_id, rev);
}

/* worker_hand's put for a hint: one queued snapshot per document will do. */
static bool
put_hint(int db, const void *arg)
{
	const snapshot_request *req = arg;

	return request_put(db, req->doc_id, req->rev, true);
}

void
snapshotter_hint(const char *doc_id, int64 rev)
{
	snapshot_request req;

	if (!collab_snapshot_worker || strlen(doc_id) > WIRE_ID_BYTES_MAX)
		return;
	req.rev = rev;
	strlcpy(req.doc_id, doc_id, sizeof(req.doc_id));
	worker_hand(WORKER_SNAPSHOTTER, put_hint, &req);
}

void
collab_snapshotter_main(Datum arg)
{
	worker_main(arg, WORKER_SNAPSHOTTER);
}
