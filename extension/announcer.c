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
 * sends {"type":"overflow","dropped":N} before anything else, on which
 * listeners resynchronise from the log, as they do after a lost
 * connection.  A submit never waits for the announcer.  A batch leaves the
 * ring only once the transaction that announced it has committed (with
 * NOTIFY's folding it may take several: each moves the tail past its own
 * payloads), and a count only once the overflow that reports it has.  When
 * the transaction fails (a NOTIFY queue full because some session LISTENs
 * and never reads, a cancel), the error is logged, with its attempt, and
 * what it did not announce is tried again, in the same order, after a
 * pause: ANNOUNCER_ATTEMPTS attempts in all, then it is dropped and counted
 * as a full ring's payloads are, so that a batch that cannot be announced
 * does not hold up the ones after it.  So listeners hear every change or
 * an overflow.  An announcer that exits (shut down, FATAL) leaves its batch
 * in the ring for the next; a server crash loses the rings, as it loses
 * NOTIFY's own queue.
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
#define ANNOUNCER_ATTEMPTS 3  /* transactions tried on a batch, at most */
#define ANNOUNCER_RETRY_MS 20 /* before the second; doubled for each next */

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
	uint64 tail;	/* bytes ever announced or dropped (ring_release) */
	uint64 dropped; /* payloads lost, not yet reported by a commit */
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
 * A batch: what the announcer took from the start of its ring, which stays
 * in the ring until announced.  Its items are laid out as the ring's
 * entries are, each header replaced by where the ring's tail goes once
 * that payload has been announced.
 */
typedef struct batch_item {
	uint64 end;							 /* the ring offset past its entry */
	char payload[FLEXIBLE_ARRAY_MEMBER]; /* with its NUL, padded to 8 bytes */
} batch_item;

StaticAssertDecl(offsetof(batch_item, payload) == ENTRY_HEADER,
				 "a batch item takes the room of its ring entry");

typedef struct batch {
	char *items;	/* batch_items in ring order (the ring's size) */
	Size used;		/* bytes of items */
	int count;		/* payloads in items */
	uint64 from;	/* the ring's tail as it was taken */
	uint64 upto;	/* where the tail goes once all of it is announced */
	uint64 dropped; /* the overflow to report first */
	bool fail;		/* a test asked for this attempt to fail */
} batch;

/* The item at byte off of b's items, and the byte after it. */
static batch_item *
item_at(const batch *b, Size off, Size *next)
{
	batch_item *item = (batch_item *) (b->items + off);

	Assert(off < b->used);
	*next = off + entry_size((uint32) strlen(item->payload) + 1);
	Assert(*next <= b->used);
	return item;
}

/*
 * Copies the committed entries at the start of ring r into b, skipping
 * aborted ones and stopping at the first pending one (lock held).  The
 * tail stays: they leave the ring only once announced, or dropped and
 * counted (ring_release).
 */
static void
ring_peek(int r, batch *b)
{
	ring *q = &shared->rings[r];
	Size size = shared->ring_bytes;
	char *data = ring_data(r);
	uint64 at = q->tail;

	Assert(ring_valid(q));
	b->used = 0;
	b->count = 0;
	b->from = q->tail;
	while (at < q->head)
	{
		Size pos = at % size;
		entry_header h;

		memcpy(&h, data + pos, ENTRY_HEADER);
		if (h.len == ENTRY_WRAP)
		{
			at += size - pos;
			continue;
		}
		Assert(h.state == ENTRY_PENDING || h.state == ENTRY_COMMITTED ||
			   h.state == ENTRY_ABORTED);
		if (h.state == ENTRY_PENDING)
			break; /* its commit is under way: keep the order */
		at += entry_size(h.len);
		if (h.state == ENTRY_COMMITTED)
		{
			batch_item *item = (batch_item *) (b->items + b->used);

			Assert(b->used + entry_size(h.len) <= size);
			item->end = at;
			memcpy(item->payload, data + pos + ENTRY_HEADER, h.len);
			b->used += entry_size(h.len);
			b->count++;
		}
	}
	b->upto = at;
}

/*
 * Moves ring r's tail to upto, and takes reported off its overflow count
 * (lock held): what lay before upto, and the overflow, were announced by a
 * transaction that has committed, or were dropped and counted.
 */
static void
ring_release(int r, uint64 upto, uint64 reported)
{
	ring *q = &shared->rings[r];

	Assert(upto % 8 == 0 && upto >= q->tail && upto <= q->head);
	Assert(reported <= q->dropped);
	q->tail = upto;
	q->dropped -= reported;
	Assert(ring_valid(q));
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
 * Announces b from byte *at of its items on, after the overflow it
 * reports, in as few transactions as NOTIFY's folding allows; once each
 * has committed, ring r's tail moves past what it announced.  On error,
 * *at is where what was not announced starts.
 */
static void
announce(int r, const batch *b, volatile Size *at)
{
	uint64 dropped = b->dropped;

	while (*at < b->used || dropped > 0)
	{
		Size next = *at;
		uint64 upto = b->from;
		HTAB *seen;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		seen = new_seen();
		if (dropped > 0)
		{
			char *overflow =
				psprintf("{\"type\":\"overflow\",\"dropped\":" UINT64_FORMAT
						 "}",
						 dropped);

			Async_Notify(WIRE_CHANNEL,
						 notify_seal(overflow, strlen(overflow)));
		}
		while (next < b->used)
		{
			Size after;
			batch_item *item = item_at(b, next, &after);
			size_t len = strlen(item->payload);
			uint64 key =
				hash_bytes_extended((const unsigned char *) item->payload,
									(int) len, 0);
			bool found;

			(void) hash_search(seen, &key, HASH_ENTER, &found);
			if (found)
				break; /* NOTIFY would fold it into the first: next one */
			Async_Notify(WIRE_CHANNEL, item->payload);
			upto = item->end;
			next = after;
		}
		Assert(next > *at || next == b->used);
		if (next == b->used)
		{
			upto = b->upto; /* and any aborted entries after the last */
			if (b->fail)
				ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("announcer failure injected by "
							   "collab.test_announce_failures"));
		}
		CommitTransactionCommand();
		worker_lock();
		ring_release(r, upto, dropped);
		worker_unlock();
		*at = next;
		dropped = 0;
	}
}

/*
 * The announcer's failed attempts at the batch at its ring's tail (in its
 * process's memory: a new announcer starts counting again).
 */
static struct {
	uint64 tail;  /* where the tail stood when they failed */
	int failures; /* 0 .. ANNOUNCER_ATTEMPTS - 1 */
} retry;

/* This attempt's number at the batch at from, 1 .. ANNOUNCER_ATTEMPTS. */
static int
attempt_at(uint64 from)
{
	return retry.failures > 0 && retry.tail == from ? retry.failures + 1 : 1;
}

/* Names the announcer's work in the error it logs. */
static void
announce_context(void *arg)
{
	const batch *b = arg;

	errcontext("collab's announcer, attempt %d of %d at a batch of %d "
			   "notifications%s",
			   attempt_at(b->from), ANNOUNCER_ATTEMPTS, b->count,
			   b->dropped > 0 ? " and an overflow" : "");
}

/*
 * After a failed attempt at b of ring r, announced up to byte at of its
 * items: the rest stays in the ring and is tried again after a pause, which
 * doubles with each failure; the last attempt's failure drops it and counts
 * it, for the overflow the next transaction reports, so that a batch that
 * can never be announced does not hold up the ones after it.  Returns the
 * pause in milliseconds.
 */
static int
retry_or_drop(int r, const batch *b, Size at)
{
	uint64 tail;
	uint64 dropped = 0;

	worker_lock();
	tail = shared->rings[r].tail;
	worker_unlock();
	retry.failures = attempt_at(tail);
	retry.tail = tail;
	if (retry.failures < ANNOUNCER_ATTEMPTS)
		return ANNOUNCER_RETRY_MS << (retry.failures - 1);

	while (at < b->used)
	{
		(void) item_at(b, at, &at);
		dropped++;
	}
	worker_lock();
	shared->rings[r].dropped += dropped;
	ring_release(r, b->upto, 0);
	worker_unlock();
	retry.failures = 0;
	if (dropped > 0)
		ereport(LOG,
				errmsg("collab's announcer dropped " UINT64_FORMAT
					   " notifications",
					   dropped),
				errdetail("Its transaction failed %d times; listeners are "
						  "sent an overflow message instead.",
						  ANNOUNCER_ATTEMPTS));
	return ANNOUNCER_RETRY_MS << (ANNOUNCER_ATTEMPTS - 1);
}

/*
 * The worker's work: one attempt at a batch.  Busy, with transactions still
 * writing, it gathers their commits for a moment before the next (the
 * header says why); with nobody writing, nothing is delayed.  A failed
 * attempt is logged, and paused after (retry_or_drop).
 */
static bool
work(int r, int *pause_ms)
{
	/* the batch, its buffer allocated once per worker */
	static batch b;
	MemoryContext mcxt = CurrentMemoryContext;
	ErrorContextCallback context;
	volatile Size at = 0;
	volatile bool failed = false;
	bool writing;
	ring *q = &shared->rings[r];

	if (b.items == NULL)
		b.items = MemoryContextAlloc(TopMemoryContext, shared->ring_bytes);
	worker_lock();
	ring_peek(r, &b);
	writing = worker_writers(r, WORKER_ANNOUNCER) > 0;
	b.dropped = q->dropped;
	b.fail = (b.used > 0 || b.dropped > 0) && q->fail > 0;
	if (b.fail)
		q->fail--;
	if (b.used == 0 && b.dropped == 0)
		ring_release(r, b.upto, 0); /* aborted entries, if any */
	worker_unlock();
	*pause_ms = writing ? ANNOUNCER_GATHER_MS : 0;
	if (b.used == 0 && b.dropped == 0)
		return b.upto > b.from;

	pgstat_report_activity(STATE_RUNNING, "announcing changes");
	context.callback = announce_context;
	context.arg = &b;
	context.previous = error_context_stack;
	error_context_stack = &context;
	PG_TRY();
	{
		announce(r, &b, &at);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(mcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		failed = true;
	}
	PG_END_TRY();
	error_context_stack = context.previous;
	pgstat_report_activity(STATE_IDLE, NULL);
	if (failed)
		*pause_ms = retry_or_drop(r, &b, at);
	else
		retry.failures = 0;
	return true;
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
