/*
 * fanout.c — documents, subscriptions, ordered streams (see fanout.h).
 *
 * Ownership: a conn belongs to its WebSocket until fanout_conn_closed, and
 * to every query in flight on its behalf (refs); it is freed when the last
 * lets go.  A doc is referenced by its subscribers and by queries in
 * flight; it leaves the table when its last subscriber goes and is freed
 * when the last reference goes.  A sub belongs to its conn and its doc
 * lists; queries refer to it by (conn, doc, generation), never by pointer,
 * so a reply for an ended or restarted subscription is recognised and
 * dropped.  msgs are reference-counted (protocol.h).
 */
#include "fanout.h"

#include "log.h"
#include "pg.h"
#include "protocol.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REV_UNBOUNDED INT64_MAX
#define SHUTDOWN_SUBMIT_WAIT_US (5 * LWS_US_PER_SEC)
#define SHUTDOWN_CLOSE_WAIT_US (3 * LWS_US_PER_SEC)
#define RETRY_FETCH_MS 250 /* a fetch that could not run, again */

typedef struct doc doc;
typedef struct sub sub;

/* One revision in a document's window. */
typedef struct entry {
	int64_t rev;
	msg *m;		  /* the change message, shared */
	char *client; /* author's client id, or NULL */
	int64_t seq;  /* author's seq, or -1 */
} entry;

typedef enum sub_state {
	SUB_STARTING, /* waiting for a create */
	SUB_SNAPSHOT, /* waiting for its document's snapshot query */
	SUB_CATCHUP,  /* a fetch of its own in flight */
	SUB_LIVE,	  /* moved through the window as it grows */
} sub_state;

struct sub {
	conn *c;
	doc *d;
	sub *cnext;			/* in c->subs */
	sub *dprev, *dnext; /* in d->subs */
	sub_state state;
	unsigned gen;  /* bumped by every (re)subscribe */
	int64_t rev;   /* last revision sent (valid once CATCHUP or LIVE) */
	int64_t *pend; /* seqs of submits in flight */
	int npend, pend_cap;
	bool presence;	/* has announced a non-empty presence */
	bool more;		/* its catch-up fetch stopped at a chunk's end */
	bool snap_late; /* SNAPSHOT: the query was already running when it came */
};

struct conn {
	struct lws *wsi;   /* NULL once closed */
	conn *prev, *next; /* in fo.conns while open */
	uint64_t id;
	char client[PROTO_ID_MAX + 1];
	bool client_fixed;
	msg **q; /* outgoing ring */
	unsigned q_head, q_len, q_cap;
	size_t q_bytes;
	double tokens;		 /* rate limit bucket */
	lws_usec_t refilled; /* when tokens were last topped up */
	sub *subs;
	int nsubs;
	int inflight; /* submits in flight, over all subs */
	int close_code;
	char close_reason[64];
	bool blocked; /* its queue is over half full: pumps wait */
	lws_sorted_usec_list_t slow_sul; /* fires --slow-ms after blocking */
	int refs;
};

struct doc {
	char *id;
	doc *hnext; /* hash chain */
	sub *subs;
	int nsubs;
	int refs;
	bool in_table;
	bool known;		/* lo/hi mean something */
	int64_t lo, hi; /* window: revisions lo..hi are in ring */
	entry *ring;	/* rev r at ring[r % cap] */
	int cap;
	entry *held; /* revisions > hi + 1, ascending */
	int nheld, held_cap;
	int64_t want;	  /* highest revision known to exist */
	bool fetching;	  /* a gap fetch in flight */
	bool gap_pending; /* gap_sul scheduled */
	lws_sorted_usec_list_t gap_sul;
	bool snapshotting; /* a snapshot query in flight, for every sub waiting */
};

/* A query's context. */
typedef struct qctx {
	conn *c; /* referenced, or NULL */
	doc *d;	 /* referenced */
	unsigned gen;
	int64_t seq;
	int64_t since;
	bool resume;   /* a resume fetch: fall back to a snapshot */
	char *id_json; /* a fetch's id, echoed */
	bool capped;   /* a catch-up fetch cut at a chunk */
} qctx;

static struct {
	struct lws_context *context;
	const config *cfg;
	doc **table;
	size_t table_size, ndocs;
	uint64_t next_conn_id;
	conn *conns; /* open connections */
	int conns_open;
	bool stopping;
	bool closing_all;
	lws_usec_t stop_started;
	lws_sorted_usec_list_t stop_sul;
	/* counters for /metrics */
	uint64_t connections_total, messages_in, messages_out, bytes_out, submits,
		submit_errors, notifications, fetches, slow_closes, acks, rate_limited,
		snapshots;
} fo;

static void pump(sub *s);
static void doc_unref(doc *d);
static int64_t catchup_chunk(void);
static void start_snapshot(sub *s);

/* --- small helpers
 * ----------------------------------------------------------- */

static lws_usec_t
now_us(void)
{
	return lws_now_usecs();
}

static char *
xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
entry_clear(entry *e)
{
	msg_unref(e->m);
	free(e->client);
	e->m = NULL;
	e->client = NULL;
}

/* --- connections and their queues -----------------------------------------
 */

static void
conn_unref(conn *c)
{
	if (--c->refs > 0)
		return;
	free(c->q);
	free(c);
}

void
fanout_conn_close(conn *c, int code, const char *reason)
{
	if (!c->wsi || c->close_code)
		return;
	c->close_code = code;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
	lws_callback_on_writable(c->wsi);
}

/* Queues M (taking its reference) for C; a full queue closes C (1013). */
static void
enqueue(conn *c, msg *m)
{
	if (!m)
	{
		log_msg(LOG_ERROR, "fanout: out of memory encoding a message");
		if (c->wsi)
			fanout_conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
							  "out of memory");
		return;
	}
	if (!c->wsi || c->close_code)
	{
		msg_unref(m);
		return;
	}
	if (c->q_len >= (unsigned) fo.cfg->max_queue ||
		c->q_bytes + m->len > (size_t) fo.cfg->max_queue_bytes)
	{
		msg_unref(m);
		fo.slow_closes++;
		log_msg(LOG_WARN,
				"ws: closing client %" PRIu64
				": reads too slowly (%u messages, %zu bytes queued)",
				c->id, c->q_len, c->q_bytes);
		fanout_conn_close(c, 1013, "too slow: resume");
		return;
	}
	if (c->q_len == c->q_cap)
	{
		unsigned cap = c->q_cap ? c->q_cap * 2 : 4;
		msg **q = malloc(cap * sizeof(msg *));

		if (!q)
		{
			msg_unref(m);
			fanout_conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
							  "out of memory");
			return;
		}
		for (unsigned i = 0; i < c->q_len; i++)
			q[i] = c->q[(c->q_head + i) % c->q_cap];
		free(c->q);
		c->q = q;
		c->q_cap = cap;
		c->q_head = 0;
	}
	c->q[(c->q_head + c->q_len) % c->q_cap] = m;
	c->q_len++;
	c->q_bytes += m->len;
	if (c->q_len == 1)
		lws_callback_on_writable(c->wsi);
}

static void
send_error(conn *c, const char *code, const char *message, const char *doc_id,
		   int64_t seq)
{
	enqueue(c, proto_error(code, message, doc_id, seq, NULL));
}

/*
 * Whether C's queue can take more of its documents' streams: under half
 * full.  A connection that stays over half full for --slow-ms is closed
 * (1013): it reads too slowly, and resumes later from its revision.
 */
static void
slow_cb(lws_sorted_usec_list_t *sul)
{
	conn *c = lws_container_of(sul, conn, slow_sul);

	if (!c->blocked || !c->wsi || c->close_code)
		return;
	fo.slow_closes++;
	log_msg(LOG_WARN,
			"ws: closing client %" PRIu64 ": reads too slowly (%u messages, "
			"%zu bytes queued for %d ms)",
			c->id, c->q_len, c->q_bytes, fo.cfg->slow_ms);
	fanout_conn_close(c, 1013, "too slow: resume");
}

static bool
room(conn *c)
{
	if (c->q_len < (unsigned) fo.cfg->max_queue / 2 &&
		c->q_bytes < (size_t) fo.cfg->max_queue_bytes / 2)
		return true;
	if (!c->blocked)
	{
		c->blocked = true;
		lws_sul_schedule(fo.context, 0, &c->slow_sul, slow_cb,
						 (lws_usec_t) fo.cfg->slow_ms * LWS_US_PER_MS);
	}
	return false;
}

int
fanout_conn_writable(conn *c)
{
	msg *m;
	int n;

	if (c->close_code &&
		(c->close_code != LWS_CLOSE_STATUS_GOINGAWAY || c->q_len == 0))
	{
		lws_close_reason(c->wsi, (enum lws_close_status) c->close_code,
						 (unsigned char *) c->close_reason,
						 strlen(c->close_reason));
		return -1;
	}
	if (c->q_len == 0)
		return 0;
	m = c->q[c->q_head];
	c->q_head = (c->q_head + 1) % c->q_cap;
	c->q_len--;
	c->q_bytes -= m->len;
	n = lws_write(c->wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
	fo.messages_out++;
	fo.bytes_out += m->len;
	msg_unref(m);
	if (n < 0)
		return -1;
	if (c->blocked && c->q_len <= (unsigned) fo.cfg->max_queue / 4 &&
		c->q_bytes <= (size_t) fo.cfg->max_queue_bytes / 4)
	{
		/* drained: its streams go on where they stopped */
		c->blocked = false;
		lws_sul_cancel(&c->slow_sul);
		for (sub *s = c->subs; s && !c->close_code; s = s->cnext)
			pump(s);
	}
	if (c->q_len > 0 || c->close_code)
		lws_callback_on_writable(c->wsi);
	else if (c->q_cap > 16)
	{
		/* an idle connection keeps no big queue */
		free(c->q);
		c->q = NULL;
		c->q_cap = 0;
		c->q_head = 0;
	}
	return 0;
}

/* --- documents ----------------------------------------------------------- */

static uint64_t
hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

static doc *
doc_find(const char *id)
{
	if (!fo.table_size)
		return NULL;
	for (doc *d = fo.table[hash_id(id) & (fo.table_size - 1)]; d; d = d->hnext)
	{
		if (strcmp(d->id, id) == 0)
			return d;
	}
	return NULL;
}

static bool
table_grow(void)
{
	size_t size = fo.table_size ? fo.table_size * 2 : 64;
	doc **table = calloc(size, sizeof(doc *));

	if (!table)
		return false;
	for (size_t i = 0; i < fo.table_size; i++)
	{
		doc *d = fo.table[i];

		while (d)
		{
			doc *next = d->hnext;
			size_t b = hash_id(d->id) & (size - 1);

			d->hnext = table[b];
			table[b] = d;
			d = next;
		}
	}
	free(fo.table);
	fo.table = table;
	fo.table_size = size;
	return true;
}

static void
table_remove(doc *d)
{
	doc **p;

	if (!d->in_table)
		return;
	for (p = &fo.table[hash_id(d->id) & (fo.table_size - 1)]; *p;
		 p = &(*p)->hnext)
	{
		if (*p == d)
		{
			*p = d->hnext;
			break;
		}
	}
	d->in_table = false;
	fo.ndocs--;
}

/* The followed document ID, added to the table when new. */
static doc *
doc_get(const char *id)
{
	doc *d = doc_find(id);
	size_t b;

	if (d)
		return d;
	if (fo.ndocs + 1 > fo.table_size && !table_grow())
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->id = strdup(id)))
	{
		free(d);
		return NULL;
	}
	b = hash_id(id) & (fo.table_size - 1);
	d->hnext = fo.table[b];
	fo.table[b] = d;
	d->in_table = true;
	fo.ndocs++;
	return d;
}

static void
doc_unref(doc *d)
{
	if (--d->refs > 0)
		return;
	table_remove(d);
	lws_sul_cancel(&d->gap_sul);
	if (d->known)
	{
		for (int64_t r = d->lo; r <= d->hi; r++)
			entry_clear(&d->ring[r % d->cap]);
	}
	for (int i = 0; i < d->nheld; i++)
		entry_clear(&d->held[i]);
	free(d->held);
	free(d->ring);
	free(d->id);
	free(d);
}

/* Appends E (rev hi + 1) to the window, evicting its oldest when full. */
static bool
window_append(doc *d, entry *e)
{
	if (d->hi - d->lo + 1 >= d->cap)
	{
		if (d->cap < fo.cfg->history)
		{
			int cap = d->cap ? d->cap * 2 : 8;
			entry *ring;

			if (cap > fo.cfg->history)
				cap = fo.cfg->history;
			ring = calloc((size_t) cap, sizeof(entry));
			if (!ring)
				return false;
			for (int64_t r = d->lo; r <= d->hi; r++)
				ring[r % cap] = d->ring[r % d->cap];
			free(d->ring);
			d->ring = ring;
			d->cap = cap;
		}
		else
		{
			entry_clear(&d->ring[d->lo % d->cap]);
			d->lo++;
		}
	}
	d->ring[e->rev % d->cap] = *e;
	d->hi = e->rev;
	return true;
}

static void gap_fetch(doc *d);

static void
gap_cb(lws_sorted_usec_list_t *sul)
{
	doc *d = lws_container_of(sul, doc, gap_sul);

	d->gap_pending = false;
	gap_fetch(d);
	doc_unref(d); /* the timer's reference */
}

/* Makes sure the gap up to d->want gets filled, after DELAY_MS. */
static void
gap_schedule(doc *d, int delay_ms)
{
	if (!d->known || d->hi >= d->want || d->fetching || d->gap_pending)
		return;
	if (delay_ms <= 0)
	{
		gap_fetch(d);
		return;
	}
	d->gap_pending = true;
	d->refs++;
	lws_sul_schedule(fo.context, 0, &d->gap_sul, gap_cb,
					 (lws_usec_t) delay_ms * LWS_US_PER_MS);
}

static void
pump_all(doc *d)
{
	for (sub *s = d->subs; s; s = s->dnext)
		pump(s);
}

/* Offers revision E to D's window (taking E's contents). */
static void
doc_offer(doc *d, entry *e)
{
	if (!d->known)
	{
		d->known = true;
		d->lo = e->rev;
		d->hi = e->rev - 1;
		d->want = d->hi;
	}
	if (e->rev <= d->hi)
	{
		entry_clear(e);
		return;
	}
	if (e->rev > d->want)
		d->want = e->rev;
	if (e->rev > d->hi + 1)
	{
		int i;

		for (i = 0; i < d->nheld && d->held[i].rev < e->rev; i++)
			;
		if ((i < d->nheld && d->held[i].rev == e->rev) ||
			d->nheld >= fo.cfg->history)
		{
			entry_clear(e); /* a duplicate, or too many: the fetch brings it */
		}
		else
		{
			if (d->nheld == d->held_cap)
			{
				int cap = d->held_cap ? d->held_cap * 2 : 4;
				entry *held = realloc(d->held, (size_t) cap * sizeof(entry));

				if (!held)
				{
					entry_clear(e);
					gap_schedule(d, fo.cfg->gap_wait_ms);
					return;
				}
				d->held = held;
				d->held_cap = cap;
			}
			memmove(&d->held[i + 1], &d->held[i],
					(size_t) (d->nheld - i) * sizeof(entry));
			d->held[i] = *e;
			d->nheld++;
		}
		gap_schedule(d, fo.cfg->gap_wait_ms);
		return;
	}
	if (!window_append(d, e))
	{
		entry_clear(e);
		log_msg(LOG_ERROR, "fanout: out of memory growing a window");
		return;
	}
	/* the held revisions that now follow */
	while (d->nheld > 0 && d->held[0].rev <= d->hi + 1)
	{
		entry h = d->held[0];

		memmove(&d->held[0], &d->held[1],
				(size_t) (d->nheld - 1) * sizeof(entry));
		d->nheld--;
		if (h.rev == d->hi + 1 && window_append(d, &h))
			continue;
		entry_clear(&h);
	}
	if (d->hi >= d->want && d->gap_pending)
	{
		lws_sul_cancel(&d->gap_sul);
		d->gap_pending = false;
		doc_unref(d);
	}
	pump_all(d);
	gap_schedule(d, fo.cfg->gap_wait_ms);
}

/* An entry for a row (rev, change, client_id, client_seq) of collab.changes.
 */
static bool
entry_from_row(doc *d, const PGresult *res, int row, entry *e)
{
	const char *client =
		PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2);

	e->rev = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	e->seq = PQgetisnull(res, row, 3)
				 ? -1
				 : strtoll(PQgetvalue(res, row, 3), NULL, 10);
	e->client = xstrdup(client);
	e->m =
		proto_change(d->id, e->rev, PQgetvalue(res, row, 1), client, e->seq);
	if (!e->m || (client && !e->client))
	{
		entry_clear(e);
		return false;
	}
	return true;
}

static void doc_deleted(doc *d);

static void
gap_done(void *ctx, const PGresult *res, const pg_error *err)
{
	doc *d = ctx;

	d->fetching = false;
	if (err)
	{
		if (!err->unavailable && strcmp(err->sqlstate, "P0002") == 0)
			doc_deleted(d);
		else
		{
			if (!err->unavailable)
				log_msg(LOG_ERROR, "fanout: fetching changes of %s: %s", d->id,
						err->message);
			gap_schedule(d, RETRY_FETCH_MS);
		}
		doc_unref(d);
		return;
	}
	fo.fetches++;
	for (int i = 0; i < PQntuples(res); i++)
	{
		entry e;

		if (entry_from_row(d, res, i, &e))
			doc_offer(d, &e);
	}
	if (d->want == REV_UNBOUNDED)
		d->want = d->hi;
	gap_schedule(d, fo.cfg->gap_wait_ms);
	doc_unref(d);
}

/* Fetches the revisions after hi up to want (everything, when unbounded). */
static void
gap_fetch(doc *d)
{
	char since[24], until[24];
	const char *params[3] = {d->id, since, NULL};

	if (!d->known || d->hi >= d->want || d->fetching || !d->nsubs)
		return;
	snprintf(since, sizeof(since), "%" PRId64, d->hi);
	if (d->want != REV_UNBOUNDED)
	{
		snprintf(until, sizeof(until), "%" PRId64, d->want);
		params[2] = until;
	}
	d->refs++;
	if (!pg_query("SELECT rev, change::text, client_id, client_seq "
				  "FROM collab.changes($1, $2, $3)",
				  3, params, gap_done, d))
	{
		/*
		 * No pool connection is up (LISTEN may come back before the pool
		 * does): try again later rather than lose the resync.
		 */
		gap_schedule(d, RETRY_FETCH_MS);
		doc_unref(d);
		return;
	}
	d->fetching = true;
}

/* --- subscriptions ----------------------------------------------------- */

static sub *
sub_find(conn *c, const char *doc_id)
{
	for (sub *s = c->subs; s; s = s->cnext)
	{
		if (strcmp(s->d->id, doc_id) == 0)
			return s;
	}
	return NULL;
}

/* Where SEQ is among S's submits in flight, or -1. */
static int
pend_find(const sub *s, int64_t seq)
{
	for (int i = 0; i < s->npend; i++)
	{
		if (s->pend[i] == seq)
			return i;
	}
	return -1;
}

static bool
pend_has(const sub *s, int64_t seq)
{
	return pend_find(s, seq) >= 0;
}

static bool
pend_remove(sub *s, int64_t seq)
{
	int i = pend_find(s, seq);

	if (i < 0)
		return false;
	s->pend[i] = s->pend[--s->npend];
	s->c->inflight--;
	return true;
}

static void
presence_clear(const char *doc_id, const char *client)
{
	const char *params[3] = {doc_id, client, "{}"};

	/* best effort: nobody waits for it */
	(void) pg_query("SELECT collab.presence($1, $2, $3)", 3, params, NULL,
					NULL);
}

/* Ends S: unlinks it everywhere; announces its presence gone. */
static void
sub_remove(sub *s, bool clear_presence)
{
	conn *c = s->c;
	doc *d = s->d;

	for (sub **p = &c->subs; *p; p = &(*p)->cnext)
	{
		if (*p == s)
		{
			*p = s->cnext;
			break;
		}
	}
	c->nsubs--;
	if (s->dprev)
		s->dprev->dnext = s->dnext;
	else
		d->subs = s->dnext;
	if (s->dnext)
		s->dnext->dprev = s->dprev;
	d->nsubs--;
	if (clear_presence && s->presence)
		presence_clear(d->id, c->client);
	c->inflight -= s->npend;
	free(s->pend);
	free(s);
	if (d->nsubs == 0)
		table_remove(d); /* a new subscriber starts afresh */
	doc_unref(d);
}

/* Sends E to S: an ack when S's connection submitted it, else the change. */
static void
deliver(sub *s, const entry *e)
{
	conn *c = s->c;

	if (e->client && e->seq >= 0 && strcmp(e->client, c->client) == 0 &&
		pend_remove(s, e->seq))
	{
		fo.acks++;
		enqueue(c, proto_ack(s->d->id, e->rev, e->seq));
	}
	else
		enqueue(c, msg_ref(e->m));
	s->rev = e->rev;
}

static void sub_fetch(sub *s, int64_t since, int64_t until, bool resume);

/*
 * Moves S forward through its document's window while its connection has
 * room; a subscriber behind the window (or whose catch-up stopped at a
 * chunk) fetches the next chunk of its own.  Called again when the
 * connection drains.
 */
static void
pump(sub *s)
{
	conn *c = s->c;
	doc *d = s->d;

	if (s->state != SUB_LIVE || !c->wsi || c->close_code)
		return;
	if (s->more)
	{
		if (d->known && s->rev >= d->lo - 1)
			s->more = false; /* the window has the rest */
		else
		{
			if (!room(c))
				return;
			s->more = false;
			sub_fetch(s, s->rev, d->known ? d->lo - 1 : REV_UNBOUNDED, false);
			return;
		}
	}
	if (!d->known)
		return;
	while (s->rev < d->hi && !c->close_code)
	{
		if (!room(c))
			return;
		if (s->rev + 1 < d->lo)
		{
			sub_fetch(s, s->rev, d->lo - 1, false);
			return;
		}
		deliver(s, &d->ring[(s->rev + 1) % d->cap]);
	}
}

static qctx *
qctx_new(conn *c, doc *d, unsigned gen)
{
	qctx *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->c = c;
	q->d = d;
	q->gen = gen;
	q->seq = -1;
	if (c)
		c->refs++;
	d->refs++;
	return q;
}

static void
qctx_free(qctx *q)
{
	if (q->c)
		conn_unref(q->c);
	doc_unref(q->d);
	free(q->id_json);
	free(q);
}

/* The live subscription Q was made for, or NULL. */
static sub *
qctx_sub(qctx *q, bool check_gen)
{
	sub *s;

	if (!q->c || !q->c->wsi)
		return NULL;
	for (s = q->c->subs; s; s = s->cnext)
	{
		if (s->d == q->d)
			break;
	}
	if (!s || (check_gen && s->gen != q->gen))
		return NULL;
	return s;
}

/* Reports a failed query for S to its client; the subscription ends. */
static void
sub_failed(sub *s, const pg_error *err)
{
	conn *c = s->c;
	char id[PROTO_ID_MAX + 1];

	snprintf(id, sizeof(id), "%s", s->d->id);
	if (err->unavailable)
		send_error(c, "unavailable",
				   "the database is unreachable: subscribe again later", id,
				   -1);
	else if (strcmp(err->sqlstate, "P0002") == 0)
		send_error(c, "not_found", err->message, id, -1);
	else if (strcmp(err->sqlstate, "42501") == 0)
		send_error(c, "forbidden", err->message, id, -1);
	else
	{
		log_msg(LOG_ERROR, "fanout: subscription to %s failed: %s (%s)", id,
				err->message, err->sqlstate);
		send_error(c, "internal", err->message, id, -1);
	}
	sub_remove(s, true);
}

static void
sub_fetch_done(void *ctx, const PGresult *res, const pg_error *err)
{
	qctx *q = ctx;
	sub *s = qctx_sub(q, true);
	doc *d = q->d;

	if (!s || s->state != SUB_CATCHUP)
	{
		qctx_free(q);
		return;
	}
	if (err)
	{
		if (q->resume && !err->unavailable &&
			strcmp(err->sqlstate, "22023") == 0)
			start_snapshot(s); /* the revision is not in the log: start over */
		else
			sub_failed(s, err);
		qctx_free(q);
		return;
	}
	fo.fetches++;
	for (int i = 0; i < PQntuples(res); i++)
	{
		entry e;

		if (!entry_from_row(d, res, i, &e))
			continue;
		if (d->known && e.rev > d->hi)
			doc_offer(d, &e); /* new to the window too */
		else if (!d->known || e.rev < d->lo)
		{
			/* not in the window: for this subscriber alone */
			if (e.rev == s->rev + 1)
				deliver(s, &e);
			entry_clear(&e);
		}
		else
			entry_clear(&e); /* in the window: pump sends it */
	}
	s->state = SUB_LIVE;
	/* a full chunk: there may be more, fetched when the queue has room */
	s->more = q->capped && PQntuples(res) > 0 &&
			  (int64_t) PQntuples(res) >= catchup_chunk();
	if (q->resume && d->known && s->rev > d->want)
	{
		d->want = s->rev;
		gap_schedule(d, fo.cfg->gap_wait_ms);
	}
	pump(s);
	qctx_free(q);
}

/* Revisions one catch-up fetch brings: what a quarter of a queue holds. */
static int64_t
catchup_chunk(void)
{
	int64_t n = fo.cfg->max_queue / 4;

	return n < 16 ? 16 : n > 1000 ? 1000 : n;
}

/* Fetches the revisions after SINCE (up to UNTIL) for S alone. */
static void
sub_fetch(sub *s, int64_t since, int64_t until, bool resume)
{
	char since_text[24], until_text[24];
	const char *params[3] = {s->d->id, since_text, NULL};
	qctx *q = qctx_new(s->c, s->d, s->gen);
	pg_error err = {.unavailable = true};

	s->state = SUB_CATCHUP;
	s->rev = since;
	if (!q)
	{
		err.message = "out of memory";
		sub_failed(s, &err);
		return;
	}
	q->resume = resume;
	if (until == REV_UNBOUNDED || until - since > catchup_chunk())
	{
		until = since + catchup_chunk();
		q->capped = true;
	}
	snprintf(since_text, sizeof(since_text), "%" PRId64, since);
	if (until != REV_UNBOUNDED)
	{
		snprintf(until_text, sizeof(until_text), "%" PRId64, until);
		params[2] = until_text;
	}
	if (!pg_query("SELECT rev, change::text, client_id, client_seq "
				  "FROM collab.changes($1, $2, $3)",
				  3, params, sub_fetch_done, q))
	{
		qctx_free(q);
		sub_failed(s, &err);
	}
}

/*
 * Snapshots are shared: one query per document at a time, whatever the
 * number of subscriptions waiting for one (a thousand clients coming back
 * to a 1 MB document cost the database one collab.content, not a
 * thousand).  A snapshot that was being read when a subscribe came is as
 * good a start for it as a later one: the stream goes on from the
 * snapshot's revision, whatever it is.  A sub that came while the
 * query was running is "late": should the query fail, it gets a query of
 * its own instead of an error that may predate it (a create of its own).
 */

/*
 * The waiters are walked in d->subs, each next one noted first: serving or
 * failing a sub can remove that sub at once (sub_failed), but no other
 * (connections close later, from the event loop).
 */
static bool
snapshot_waiting(const sub *s)
{
	return s->state == SUB_SNAPSHOT && s->c->wsi;
}

static void snapshot_query(doc *d);

/* The query failed: its waiters fail, the late ones try again. */
static void
snapshot_failed(doc *d, const pg_error *err, bool retry_late)
{
	bool again = false;
	sub *next;

	for (sub *s = d->subs; s; s = next)
	{
		next = s->dnext;
		if (!snapshot_waiting(s))
			continue;
		if (retry_late && s->snap_late)
		{
			s->snap_late = false;
			again = true;
			continue;
		}
		sub_failed(s, err);
	}
	if (again)
		snapshot_query(d);
}

static void
snapshot_done(void *ctx, const PGresult *res, const pg_error *err)
{
	doc *d = ctx;
	int64_t rev;
	msg *m;
	sub *next;

	d->snapshotting = false;
	if (err)
	{
		snapshot_failed(d, err, true);
		doc_unref(d);
		return;
	}
	rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (!d->known)
	{
		d->known = true;
		d->lo = rev + 1;
		d->hi = rev;
		d->want = rev;
	}
	else if (rev > d->want)
	{
		/* the snapshot saw revisions whose news has not come yet */
		d->want = rev;
		gap_schedule(d, fo.cfg->gap_wait_ms);
	}
	/* encoded once, shared by every waiter's queue */
	m = proto_snapshot(d->id, rev, PQgetvalue(res, 0, 1));
	for (sub *s = d->subs; s; s = next)
	{
		next = s->dnext;
		if (!snapshot_waiting(s))
			continue;
		enqueue(s->c, m ? msg_ref(m) : NULL);
		s->rev = rev;
		s->state = SUB_LIVE;
		pump(s);
	}
	if (m)
		msg_unref(m);
	doc_unref(d);
}

/* Runs D's snapshot query for the subs waiting. */
static void
snapshot_query(doc *d)
{
	const char *params[1] = {d->id};

	d->refs++;
	if (!pg_query("SELECT h, collab.content($1, h)::text "
				  "FROM collab.head($1) AS h",
				  1, params, snapshot_done, d))
	{
		pg_error err = {.unavailable = true, .message = "out of memory"};

		snapshot_failed(d, &err, false);
		doc_unref(d);
		return;
	}
	d->snapshotting = true;
	fo.snapshots++;
}

static void
start_snapshot(sub *s)
{
	s->state = SUB_SNAPSHOT;
	s->snap_late = s->d->snapshotting;
	if (!s->d->snapshotting)
		snapshot_query(s->d);
}

/* Starts S's stream: a snapshot, or a resume after REV (< 0: none). */
static void
sub_start(sub *s, int64_t rev)
{
	doc *d = s->d;

	if (rev < 0)
		start_snapshot(s);
	else if (d->known && rev >= d->lo - 1 && rev <= d->hi)
	{
		s->rev = rev;
		s->state = SUB_LIVE;
		pump(s);
	}
	else
		sub_fetch(s, rev,
				  d->known && rev < d->lo - 1 ? d->lo - 1 : REV_UNBOUNDED,
				  true);
}

static void
create_done(void *ctx, const PGresult *res, const pg_error *err)
{
	qctx *q = ctx;
	sub *s = qctx_sub(q, true);

	(void) res;
	if (!s || s->state != SUB_STARTING)
	{
		qctx_free(q);
		return;
	}
	/* an existing document is fine: create means "if missing" */
	if (err && (err->unavailable || strcmp(err->sqlstate, "23505") != 0))
		sub_failed(s, err);
	else
		sub_start(s, q->since);
	qctx_free(q);
}

/* --- client requests ------------------------------------------------- */

static void
handle_subscribe(conn *c, const request *req)
{
	sub *s = sub_find(c, req->doc);
	doc *d;

	if (!s)
	{
		if (c->nsubs >= fo.cfg->max_docs)
		{
			send_error(c, "too_many", "too many documents subscribed",
					   req->doc, -1);
			return;
		}
		d = doc_get(req->doc);
		s = d ? calloc(1, sizeof(*s)) : NULL;
		if (!s)
		{
			send_error(c, "internal", "out of memory", req->doc, -1);
			return;
		}
		d->refs++;
		s->c = c;
		s->d = d;
		s->cnext = c->subs;
		c->subs = s;
		c->nsubs++;
		s->dnext = d->subs;
		if (d->subs)
			d->subs->dprev = s;
		d->subs = s;
		d->nsubs++;
	}
	s->gen++;
	s->state = SUB_STARTING;
	if (req->create)
	{
		const char *params[1] = {req->doc};
		qctx *q = qctx_new(c, s->d, s->gen);

		if (!q)
		{
			send_error(c, "internal", "out of memory", req->doc, -1);
			sub_remove(s, true);
			return;
		}
		q->since = req->has_rev ? req->rev : -1;
		if (!pg_query("SELECT collab.create_document($1)", 1, params,
					  create_done, q))
		{
			pg_error err = {.unavailable = true};

			qctx_free(q);
			sub_failed(s, &err);
		}
		return;
	}
	sub_start(s, req->has_rev ? req->rev : -1);
}

/* The protocol's code for a submit that the database refused. */
static const char *
submit_error_code(const pg_error *err)
{
	static const char *const invalid[] = {"22023", "22P02", "22003",
										  "22004", "54000", "22021"};

	if (err->unavailable || strcmp(err->sqlstate, "40001") == 0 ||
		strcmp(err->sqlstate, "40P01") == 0 ||
		strncmp(err->sqlstate, "08", 2) == 0 ||
		strncmp(err->sqlstate, "57", 2) == 0)
		return "unavailable";
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
	{
		if (strcmp(err->sqlstate, invalid[i]) == 0)
			return "invalid_change";
	}
	if (strcmp(err->sqlstate, "P0002") == 0)
		return "not_found";
	if (strcmp(err->sqlstate, "42501") == 0)
		return "forbidden";
	return "internal";
}

static void
submit_done(void *ctx, const PGresult *res, const pg_error *err)
{
	qctx *q = ctx;
	sub *s = qctx_sub(q, false);
	doc *d = q->d;

	if (!s || !pend_has(s, q->seq))
	{
		/* acknowledged through the stream already, or no one to tell */
		qctx_free(q);
		return;
	}
	if (err)
	{
		const char *code = submit_error_code(err);

		fo.submit_errors++;
		if (strcmp(code, "internal") == 0)
			log_msg(LOG_ERROR, "fanout: submit to %s failed: %s (%s)", d->id,
					err->message, err->sqlstate);
		pend_remove(s, q->seq);
		send_error(s->c, code,
				   err->unavailable ? "the database is unreachable: retry"
									: err->message,
				   d->id, q->seq);
		qctx_free(q);
		return;
	}
	{
		entry e;

		e.rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (s->state == SUB_LIVE && e.rev <= s->rev)
		{
			/*
			 * A resubmit of a change committed before: the client has it
			 * already, in its snapshot or as a change it resumed.  The
			 * ack says so; a client that took the change as its ack
			 * ignores an ack for a seq no longer in flight.
			 */
			pend_remove(s, q->seq);
			fo.acks++;
			enqueue(s->c, proto_ack(d->id, e.rev, q->seq));
			qctx_free(q);
			return;
		}
		e.seq = q->seq;
		e.client = xstrdup(s->c->client);
		e.m = proto_change(d->id, e.rev, PQgetvalue(res, 0, 1), s->c->client,
						   q->seq);
		if (!e.m || !e.client)
			entry_clear(&e); /* the notification or a fetch brings it */
		else
			doc_offer(d, &e);
	}
	qctx_free(q);
}

static void
handle_submit(conn *c, const request *req)
{
	sub *s = sub_find(c, req->doc);
	char rev[24], seq[24];
	const char *params[5];
	char *change;
	qctx *q;
	bool sent;

	if (!s)
	{
		send_error(c, "not_subscribed", "subscribe to the document first",
				   req->doc, req->seq);
		return;
	}
	if (c->inflight >= fo.cfg->max_inflight)
	{
		send_error(c, "too_many", "too many submits in flight", req->doc,
				   req->seq);
		return;
	}
	if (pend_has(s, req->seq))
		return; /* the same submit again: one answer is coming */
	if (s->npend == s->pend_cap)
	{
		int cap = s->pend_cap ? s->pend_cap * 2 : 2;
		int64_t *pend = realloc(s->pend, (size_t) cap * sizeof(int64_t));

		if (!pend)
		{
			send_error(c, "internal", "out of memory", req->doc, req->seq);
			return;
		}
		s->pend = pend;
		s->pend_cap = cap;
	}
	change = json_dumps(req->change, JSON_COMPACT);
	q = qctx_new(c, s->d, s->gen);
	if (!change || !q)
	{
		free(change);
		if (q)
			qctx_free(q);
		send_error(c, "internal", "out of memory", req->doc, req->seq);
		return;
	}
	q->seq = req->seq;
	snprintf(rev, sizeof(rev), "%" PRId64, req->rev);
	snprintf(seq, sizeof(seq), "%" PRId64, req->seq);
	params[0] = req->doc;
	params[1] = rev;
	params[2] = change;
	params[3] = c->client;
	params[4] = seq;
	sent = pg_query("SELECT rev, change::text FROM collab.submit($1, $2, $3, "
					"$4, $5)",
					5, params, submit_done, q);
	free(change);
	if (!sent)
	{
		qctx_free(q);
		send_error(c, "unavailable", "the database is unreachable: retry",
				   req->doc, req->seq);
		return;
	}
	fo.submits++;
	s->pend[s->npend++] = req->seq;
	c->inflight++;
}

static void
presence_done(void *ctx, const PGresult *res, const pg_error *err)
{
	qctx *q = ctx;

	(void) res;
	if (err && q->c && q->c->wsi)
	{
		const char *code = err->unavailable ? "unavailable"
						   : strcmp(err->sqlstate, "P0002") == 0 ? "not_found"
						   : strcmp(err->sqlstate, "42501") == 0
							   ? "forbidden"
							   : "bad_message";

		send_error(q->c, code,
				   err->unavailable ? "the database is unreachable"
									: err->message,
				   q->d->id, -1);
	}
	qctx_free(q);
}

static void
handle_presence(conn *c, const request *req)
{
	sub *s = sub_find(c, req->doc);
	const char *params[3];
	char *state;
	qctx *q;

	if (!s)
	{
		send_error(c, "not_subscribed", "subscribe to the document first",
				   req->doc, -1);
		return;
	}
	state = json_dumps(req->state, JSON_COMPACT);
	q = qctx_new(c, s->d, s->gen);
	if (!state || !q)
	{
		free(state);
		if (q)
			qctx_free(q);
		send_error(c, "internal", "out of memory", req->doc, -1);
		return;
	}
	params[0] = req->doc;
	params[1] = c->client;
	params[2] = state;
	if (!pg_query("SELECT collab.presence($1, $2, $3)", 3, params,
				  presence_done, q))
	{
		qctx_free(q);
		send_error(c, "unavailable", "the database is unreachable", req->doc,
				   -1);
	}
	else
		s->presence = json_object_size(req->state) > 0;
	free(state);
}

static void
fetch_done(void *ctx, const PGresult *res, const pg_error *err)
{
	qctx *q = ctx;
	conn *c = q->c;

	if (!c->wsi)
		;
	else if (err)
	{
		const char *code = err->unavailable ? "unavailable"
						   : strcmp(err->sqlstate, "P0002") == 0 ? "not_found"
						   : strcmp(err->sqlstate, "22023") == 0
							   ? "invalid_revision"
						   : strcmp(err->sqlstate, "42501") == 0 ? "forbidden"
																 : "internal";

		enqueue(c, proto_error(code,
							   err->unavailable ? "the database is unreachable"
												: err->message,
							   q->d->id, -1, q->id_json));
	}
	else
		enqueue(c, proto_content(q->d->id,
								 strtoll(PQgetvalue(res, 0, 0), NULL, 10),
								 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
								 q->id_json));
	qctx_free(q);
}

/* A revision's content and HTML; needs no subscription. */
static void
handle_fetch(conn *c, const request *req)
{
	char rev[24];
	const char *params[2] = {req->doc, NULL};
	doc *d = doc_get(req->doc); /* referenced by the query alone, maybe */
	qctx *q = d ? qctx_new(c, d, 0) : NULL;

	if (!q)
	{
		if (d && d->refs == 0)
		{
			d->refs++;
			doc_unref(d); /* leaves the table */
		}
		send_error(c, "internal", "out of memory", req->doc, -1);
		return;
	}
	if (req->id)
		q->id_json = json_dumps(req->id, JSON_COMPACT | JSON_ENCODE_ANY);
	if (req->has_rev)
	{
		snprintf(rev, sizeof(rev), "%" PRId64, req->rev);
		params[1] = rev;
	}
	if (!pg_query(
			"SELECT r, c::text, collab.to_html(c) "
			"FROM (SELECT coalesce($2::bigint, collab.head($1)) AS r) h, "
			"LATERAL (SELECT collab.content($1, h.r) AS c) x",
			2, params, fetch_done, q))
	{
		enqueue(c, proto_error("unavailable", "the database is unreachable",
							   req->doc, -1, q->id_json));
		qctx_free(q);
	}
}

/* Takes one token from C's bucket; false when it is empty. */
static bool
rate_ok(conn *c)
{
	lws_usec_t now = now_us();
	double burst = fo.cfg->burst;

	c->tokens += (double) (now - c->refilled) * fo.cfg->rate / 1e6;
	if (c->tokens > burst)
		c->tokens = burst;
	c->refilled = now;
	if (c->tokens < 1)
		return false;
	c->tokens -= 1;
	return true;
}

void
fanout_conn_message(conn *c, const char *text, size_t len)
{
	request req;
	char errbuf[160];

	if (!c->wsi || c->close_code)
		return;
	fo.messages_in++;
	if (!rate_ok(c))
	{
		fo.rate_limited++;
		send_error(c, "rate_limited", "too many messages: slow down", NULL,
				   -1);
		return;
	}
	if (proto_parse(text, len, &req, errbuf, sizeof(errbuf)) != 0)
	{
		send_error(c, "bad_message", errbuf, req.doc,
				   req.type == REQ_SUBMIT && req.seq > 0 ? req.seq : -1);
		proto_request_free(&req);
		return;
	}
	if (req.client)
	{
		if (c->client_fixed && strcmp(req.client, c->client) != 0)
		{
			send_error(c, "bad_message",
					   "a connection keeps the first client id it states",
					   req.doc, req.type == REQ_SUBMIT ? req.seq : -1);
			proto_request_free(&req);
			return;
		}
		snprintf(c->client, sizeof(c->client), "%s", req.client);
		c->client_fixed = true;
	}
	else if (req.type == REQ_SUBMIT || req.type == REQ_PRESENCE)
		c->client_fixed = true; /* the id in use from now on */
	if (fo.stopping && req.type == REQ_SUBMIT)
		send_error(c, "unavailable", "the notifier is shutting down: retry",
				   req.doc, req.seq);
	else
	{
		switch (req.type)
		{
			case REQ_SUBSCRIBE:
				handle_subscribe(c, &req);
				break;
			case REQ_UNSUBSCRIBE:
			{
				sub *s = sub_find(c, req.doc);

				if (s)
					sub_remove(s, true);
				break;
			}
			case REQ_SUBMIT:
				handle_submit(c, &req);
				break;
			case REQ_PRESENCE:
				handle_presence(c, &req);
				break;
			case REQ_FETCH:
				handle_fetch(c, &req);
				break;
		}
	}
	proto_request_free(&req);
}

/* --- connections ---------------------------------------------------- */

conn *
fanout_conn_open(struct lws *wsi)
{
	static const char alphabet[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[20];
	conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->wsi = wsi;
	c->refs = 1;
	c->id = ++fo.next_conn_id;
	c->tokens = fo.cfg->burst;
	c->refilled = now_us();
	if (lws_get_random(fo.context, rnd, sizeof(rnd)) != sizeof(rnd))
	{
		free(c);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		c->client[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	c->client[sizeof(rnd)] = '\0';
	c->next = fo.conns;
	if (fo.conns)
		fo.conns->prev = c;
	fo.conns = c;
	fo.conns_open++;
	fo.connections_total++;
	log_msg(LOG_INFO, "ws: client %" PRIu64 " connected", c->id);
	enqueue(c, proto_hello(c->client));
	return c;
}

void
fanout_conn_closed(conn *c)
{
	log_msg(LOG_INFO, "ws: client %" PRIu64 " (%s) closed", c->id, c->client);
	lws_sul_cancel(&c->slow_sul);
	while (c->subs)
		sub_remove(c->subs, true);
	while (c->q_len > 0)
	{
		msg_unref(c->q[c->q_head]);
		c->q_head = (c->q_head + 1) % c->q_cap;
		c->q_len--;
	}
	c->q_bytes = 0;
	c->wsi = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		fo.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	fo.conns_open--;
	conn_unref(c);
}

/* --- notifications ----------------------------------------------------- */

/* Every followed document: fetch what may have been missed. */
static void
resync_all(void)
{
	for (size_t i = 0; i < fo.table_size; i++)
	{
		for (doc *d = fo.table[i]; d; d = d->hnext)
		{
			if (!d->known)
				continue;
			d->want = REV_UNBOUNDED;
			gap_schedule(d, 0);
		}
	}
}

static void
doc_deleted(doc *d)
{
	d->refs++;
	while (d->subs)
	{
		sub *s = d->subs;

		send_error(s->c, "deleted", "the document was deleted", d->id, -1);
		sub_remove(s, false);
	}
	table_remove(d);
	doc_unref(d);
}

void
fanout_notify(const char *payload)
{
	json_error_t jerr;
	json_t *root = json_loads(payload, 0, &jerr);
	const char *type, *doc_id;
	doc *d;

	fo.notifications++;
	if (!root)
	{
		log_msg(LOG_WARN, "fanout: a notification that is not JSON: %s",
				jerr.text);
		return;
	}
	type = json_string_value(json_object_get(root, "type"));
	doc_id = json_string_value(json_object_get(root, "doc"));
	if (type && strcmp(type, "overflow") == 0)
	{
		log_msg(LOG_WARN, "fanout: the database dropped notifications: "
						  "resynchronising every document");
		resync_all();
	}
	else if (!type || !doc_id || !(d = doc_find(doc_id)) || !d->nsubs)
	{
		/* not ours to follow */
	}
	else if (strcmp(type, "change") == 0)
	{
		json_t *rev = json_object_get(root, "rev");

		if (json_is_integer(rev) && json_object_get(root, "change"))
		{
			const char *client =
				json_string_value(json_object_get(root, "client"));
			json_t *seq = json_object_get(root, "seq");
			entry e = {.rev = (int64_t) json_integer_value(rev),
					   .seq = json_is_integer(seq)
								  ? (int64_t) json_integer_value(seq)
								  : -1,
					   .client = xstrdup(client),
					   .m = msg_new(payload, strlen(payload))};

			if (!e.m || (client && !e.client))
				entry_clear(&e);
			else
				doc_offer(d, &e);
		}
		else if (json_is_integer(rev) && d->known)
		{
			/* too big for a payload: fetch it, once for every subscriber */
			if ((int64_t) json_integer_value(rev) > d->want)
				d->want = (int64_t) json_integer_value(rev);
			gap_schedule(d, 0);
		}
	}
	else if (strcmp(type, "presence") == 0)
	{
		const char *client =
			json_string_value(json_object_get(root, "client"));
		msg *m = msg_new(payload, strlen(payload));

		if (m && client)
		{
			for (sub *s = d->subs; s; s = s->dnext)
			{
				if (s->state != SUB_STARTING && s->state != SUB_SNAPSHOT &&
					strcmp(s->c->client, client) != 0)
					enqueue(s->c, msg_ref(m));
			}
		}
		msg_unref(m);
	}
	else if (strcmp(type, "deleted") == 0)
		doc_deleted(d);
	json_decref(root);
}

void
fanout_listening(void)
{
	/* whatever was announced while LISTEN was not in place is in the log */
	resync_all();
}

/* --- life cycle ------------------------------------------------------------
 */

void
fanout_init(struct lws_context *context, const config *cfg)
{
	fo.context = context;
	fo.cfg = cfg;
}

static int
total_inflight(void)
{
	int n = 0;

	for (conn *c = fo.conns; c; c = c->next)
		n += c->inflight;
	return n;
}

static void
close_all(void)
{
	fo.closing_all = true;
	for (conn *c = fo.conns; c; c = c->next)
		fanout_conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY,
						  "server shutting down");
}

static void
stop_tick(lws_sorted_usec_list_t *sul)
{
	lws_usec_t waited = now_us() - fo.stop_started;

	(void) sul;
	if (!fo.closing_all &&
		(total_inflight() == 0 || waited > SHUTDOWN_SUBMIT_WAIT_US))
	{
		log_msg(LOG_INFO, "fanout: closing %d connections", fo.conns_open);
		close_all();
	}
	if (!fanout_finished())
		lws_sul_schedule(fo.context, 0, &fo.stop_sul, stop_tick,
						 20 * LWS_US_PER_MS);
}

void
fanout_shutdown(void)
{
	if (fo.stopping)
		return;
	fo.stopping = true;
	fo.stop_started = now_us();
	log_msg(LOG_INFO, "fanout: shutting down: %d submits in flight",
			total_inflight());
	stop_tick(&fo.stop_sul);
}

bool
fanout_accepting(void)
{
	return !fo.stopping && fo.conns_open < fo.cfg->max_clients;
}

bool
fanout_finished(void)
{
	return fo.stopping && fo.closing_all &&
		   (fo.conns_open == 0 ||
			now_us() - fo.stop_started >
				SHUTDOWN_SUBMIT_WAIT_US + SHUTDOWN_CLOSE_WAIT_US);
}

size_t
fanout_metrics(char *buf, size_t size)
{
	int n = snprintf(buf, size,
					 "# TYPE collab_notifier_up gauge\ncollab_notifier_up %d\n"
					 "# TYPE collab_notifier_connections gauge\n"
					 "collab_notifier_connections %d\n"
					 "# TYPE collab_notifier_documents gauge\n"
					 "collab_notifier_documents %zu\n"
					 "# TYPE collab_notifier_db_queries_pending gauge\n"
					 "collab_notifier_db_queries_pending %d\n"
					 "# TYPE collab_notifier_connections_total counter\n"
					 "collab_notifier_connections_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_messages_in_total counter\n"
					 "collab_notifier_messages_in_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_messages_out_total counter\n"
					 "collab_notifier_messages_out_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_bytes_out_total counter\n"
					 "collab_notifier_bytes_out_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_submits_total counter\n"
					 "collab_notifier_submits_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_submit_errors_total counter\n"
					 "collab_notifier_submit_errors_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_acks_total counter\n"
					 "collab_notifier_acks_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_notifications_total counter\n"
					 "collab_notifier_notifications_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_fetches_total counter\n"
					 "collab_notifier_fetches_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_slow_closes_total counter\n"
					 "collab_notifier_slow_closes_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_rate_limited_total counter\n"
					 "collab_notifier_rate_limited_total %" PRIu64 "\n"
					 "# TYPE collab_notifier_snapshots_total counter\n"
					 "collab_notifier_snapshots_total %" PRIu64 "\n",
					 pg_healthy() ? 1 : 0, fo.conns_open, fo.ndocs,
					 pg_pending(), fo.connections_total, fo.messages_in,
					 fo.messages_out, fo.bytes_out, fo.submits,
					 fo.submit_errors, fo.acks, fo.notifications, fo.fetches,
					 fo.slow_closes, fo.rate_limited, fo.snapshots);

	if (n < 0)
		return 0;
	return (size_t) n < size ? (size_t) n : size - 1;
}
