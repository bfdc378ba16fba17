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
 * most that long more; a quiet one waits for nothing.  (Waiting on the
 * latch, each commit would wake it with a signal: a kill and a switch per
 * submit, ~5% of a busy machine.)
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
 * Shared state: a ring per worker slot (worker.h: its lifetime, and the
 * one lock held only to copy bytes or flip states; announcer.h: the ring's
 * invariants).  Without the preload, with collab.notify_worker off, or
 * with every slot taken, submits NOTIFY directly (notify.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "common/hashfn.h"
#include "pgstat.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "announcer.h"
#include "documents.h"
#include "notify.h"
#include "worker.h"

#define ANNOUNCER_GATHER_MS 1 /* after sending, before looking again */

int collab_notify_queue_kb = COLLAB_NOTIFY_QUEUE_KB_DEFAULT;
bool collab_notify_worker = true;
int collab_test_announce_failures = 0;

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

typedef struct ring {
	uint64 head;	/* bytes ever written */
	uint64 tail;	/* bytes ever read */
	uint64 dropped; /* payloads lost to a full ring, not yet reported */
	int fail;		/* transactions still to fail (test_announce_failures) */
} ring;

typedef struct announcer_shared {
	Size ring_bytes;
	ring rings[WORKER_DATABASES];
	char data[FLEXIBLE_ARRAY_MEMBER]; /* WORKER_DATABASES rings */
} announcer_shared;

static announcer_shared *shared;

static Size
ring_bytes(void)
{
	return (Size) collab_notify_queue_kb * 1024;
}

static Size
shmem_size(void)
{
	return add_size(offsetof(announcer_shared, data),
					mul_size(WORKER_DATABASES, ring_bytes()));
}

static void
shmem_init(void)
{
	bool found;

	shared = ShmemInitStruct("collab announcer", shmem_size(), &found);
	if (!found)
	{
		memset(shared, 0, offsetof(announcer_shared, data));
		shared->ring_bytes = ring_bytes();
	}
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

#ifdef USE_ASSERT_CHECKING
/* The ring's invariants (announcer.h), for Assert. */
static bool
ring_valid(const ring *q)
{
	return q->tail <= q->head && q->head - q->tail <= shared->ring_bytes &&
		   q->head % 8 == 0 && q->tail % 8 == 0;
}
#endif

/*
 * Reserves an entry for payload in ring r, pending, and gives its offset
 * (lock held).  An entry never straddles the end of the ring: it goes to
 * the start instead, behind a wrap mark.
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

	Assert(ring_valid(q));
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
	Assert(ring_valid(q));
	return true;
}

/* Marks the entry at offset of ring r committed or aborted (lock held). */
static void
ring_mark(int r, uint64 offset, uint32 state)
{
	entry_header *h =
		(entry_header *) (ring_data(r) + offset % shared->ring_bytes);

	Assert(offset % 8 == 0 && offset < shared->rings[r].head);
	Assert(h->state == ENTRY_PENDING && h->len != ENTRY_WRAP);
	h->state = state;
}

/*
 * Takes the committed entries at the start of ring r into out, skipping
 * aborted ones and stopping at the first pending one (lock held); returns
 * the bytes used (payloads with their NULs) and sets *progress when the
 * tail moved.
 */
static Size
ring_take(int r, char *out, bool *progress)
{
	ring *q = &shared->rings[r];
	Size size = shared->ring_bytes;
	char *data = ring_data(r);
	Size used = 0;

	Assert(ring_valid(q));
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
		Assert(h.state == ENTRY_PENDING || h.state == ENTRY_COMMITTED ||
			   h.state == ENTRY_ABORTED);
		if (h.state == ENTRY_PENDING)
			break; /* its commit is under way: keep the order */
		if (h.state == ENTRY_COMMITTED)
		{
			Assert(used + h.len <= size);
			memcpy(out + used, data + pos + ENTRY_HEADER, h.len);
			used += h.len;
		}
		q->tail += entry_size(h.len);
		*progress = true;
	}
	Assert(ring_valid(q));
	return used;
}

static void
reset(int r)
{
	memset(&shared->rings[r], 0, sizeof(ring));
}

static bool
empty(int r)
{
	ring *q = &shared->rings[r];

	Assert(ring_valid(q));
	return q->tail == q->head && q->dropped == 0;
}

static void
discard(int r)
{
	shared->rings[r].tail = shared->rings[r].head;
}

/*
 * Pre-commit: a payload reserved in the ring, or lost and counted; and
 * the failures a test asked for.
 */
static bool
place(int r, worker_item *item)
{
	if (collab_test_announce_failures > shared->rings[r].fail)
		shared->rings[r].fail = collab_test_announce_failures;
	if (ring_put(r, item->str, item->len, &item->offset))
		return true;
	shared->rings[r].dropped++;
	return false;
}

static void
settle(int r, worker_item *item, bool committed)
{
	if (item->placed)
		ring_mark(r, item->offset,
				  committed ? ENTRY_COMMITTED : ENTRY_ABORTED);
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
 * Sends what ring r has committed, using buf (the ring's size) for the
 * batch.  Returns true when the ring moved (or there was an overflow to
 * report); *writing tells whether a transaction was still writing as it
 * took the batch.
 */
static bool
announce(int r, char *buf, bool *writing)
{
	uint64 dropped;
	Size used;
	Size at;
	bool progress;
	bool fail;
	HTAB *seen;

	worker_lock();
	used = ring_take(r, buf, &progress);
	*writing = worker_writers(r, WORKER_ANNOUNCER) > 0;
	dropped = shared->rings[r].dropped;
	shared->rings[r].dropped = 0;
	fail = (used > 0 || dropped > 0) && shared->rings[r].fail > 0;
	if (fail)
		shared->rings[r].fail--;
	worker_unlock();
	if (used == 0 && dropped == 0)
		return progress;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "announcing changes");
	seen = new_seen();
	if (dropped > 0)
	{
		char *overflow =
			psprintf("{\"type\":\"overflow\",\"dropped\":" UINT64_FORMAT "}",
					 dropped);

		Async_Notify(WIRE_CHANNEL, notify_seal(overflow, strlen(overflow)));
	}
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
		Async_Notify(WIRE_CHANNEL, buf + at);
	}
	if (fail)
		ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				errmsg("announcer failure injected by "
					   "collab.test_announce_failures"));
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return true;
}

/*
 * The worker's work: one batch.  Busy, with transactions still writing,
 * it gathers their commits for a moment before the next (the header says
 * why); with nobody writing, nothing is delayed.
 */
static bool
work(int r, int *pause_ms)
{
	/* the batch buffer, allocated once per worker */
	static char *buf;
	bool writing;
	bool did;

	if (buf == NULL)
		buf = MemoryContextAlloc(TopMemoryContext, shared->ring_bytes);
	did = announce(r, buf, &writing);
	*pause_ms = writing ? ANNOUNCER_GATHER_MS : 0;
	return did;
}

static const worker_ops announcer_ops = {
	.name = "announcer",
	.shmem_size = shmem_size,
	.shmem_init = shmem_init,
	.reset = reset,
	.empty = empty,
	.discard = discard,
	.place = place,
	.settle = settle,
	.work = work,
};

void
announcer_init(void)
{
	worker_register(WORKER_ANNOUNCER, &announcer_ops);
}

bool
announcer_enqueue(const char *payload)
{
	return collab_notify_worker && worker_add(WORKER_ANNOUNCER, payload, 0);
}

void
collab_announcer_main(Datum arg)
{
	worker_main(arg, WORKER_ANNOUNCER);
}
