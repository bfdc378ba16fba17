/*
 * stream.c — subscriptions, catch-up and shared snapshots (see stream.h).
 */
#include "stream.h"

#include "fanout.h"
#include "log.h"
#include "metrics.h"
#include "requests.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sub_fetch(sub *s, int64_t since, int64_t until, bool resume);
static void start_snapshot(sub *s);

sub *
sub_find(conn *c, const char *doc_id)
{
	for (sub *s = c->subs; s; s = s->cnext)
	{
		if (strcmp(s->d->id, doc_id) == 0)
			return s;
	}
	return NULL;
}

sub *
sub_open(conn *c, const char *doc_id)
{
	sub *s = sub_find(c, doc_id);
	doc *d;

	if (!s)
	{
		d = doc_get(doc_id);
		s = d ? calloc(1, sizeof(*s)) : NULL;
		if (!s)
			return NULL;
		s->c = c;
		s->d = doc_ref(d);
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
	return s;
}

sub *
sub_of(conn *c, doc *d, unsigned gen, bool check_gen)
{
	sub *s;

	if (!c || !c->wsi)
		return NULL;
	for (s = c->subs; s; s = s->cnext)
	{
		if (s->d == d)
			break;
	}
	if (!s || (check_gen && s->gen != gen))
		return NULL;
	return s;
}

/* --- submits in flight -------------------------------------------------- */

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

bool
sub_pending(const sub *s, int64_t seq)
{
	return pend_find(s, seq) >= 0;
}

bool
sub_pend_add(sub *s, int64_t seq)
{
	if (s->npend == s->pend_cap)
	{
		int cap = s->pend_cap ? s->pend_cap * 2 : 2;
		int64_t *pend = realloc(s->pend, (size_t) cap * sizeof(int64_t));

		if (!pend)
			return false;
		s->pend = pend;
		s->pend_cap = cap;
	}
	s->pend[s->npend++] = seq;
	s->c->inflight++;
	return true;
}

bool
sub_pend_remove(sub *s, int64_t seq)
{
	int i = pend_find(s, seq);

	if (i < 0)
		return false;
	s->pend[i] = s->pend[--s->npend];
	s->c->inflight--;
	assert(s->c->inflight >= 0);
	return true;
}

/* --- ending ----------------------------------------------------------- */

void
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
	assert(c->nsubs >= 0 && d->nsubs >= 0);
	if (clear_presence && s->presence)
		rq_presence_clear(d->id, c->client);
	c->inflight -= s->npend;
	assert(c->inflight >= 0);
	free(s->presence_wait); /* superseded by the clear, or by nothing */
	free(s->pend);
	free(s);
	if (d->nsubs == 0)
		doc_forget(d); /* a new subscriber starts afresh */
	doc_unref(d);
}

void
sub_failed(sub *s, const pg_error *err)
{
	char id[WIRE_ID_BYTES_MAX + 1];

	snprintf(id, sizeof(id), "%s", s->d->id);
	rq_error(s->c, RQ_SUBSCRIBE, err, id, -1, NULL);
	sub_remove(s, true);
}

void
stream_end_all(conn *c)
{
	while (c->subs)
		sub_remove(c->subs, true);
}

void
stream_doc_deleted(doc *d)
{
	doc_ref(d);
	while (d->subs)
	{
		sub *s = d->subs;

		conn_error(s->c, "deleted", "the document was deleted", d->id, -1,
				   NULL);
		sub_remove(s, false);
	}
	doc_forget(d);
	doc_unref(d);
}

/* --- moving through the window ----------------------------------------- */

/* Sends E to S: an ack when S's connection submitted it, else the change. */
static void
deliver(sub *s, const entry *e)
{
	conn *c = s->c;

	assert(e->rev == s->rev + 1);
	if (e->client && e->seq >= 0 && strcmp(e->client, c->client) == 0 &&
		sub_pend_remove(s, e->seq))
	{
		metrics.acks++;
		conn_send(c, proto_ack(s->d->id, e->rev, e->seq));
	}
	else
		conn_send(c, msg_ref(e->m));
	s->rev = e->rev;
}

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
	window *w = &s->d->w;

	if (s->state != SUB_LIVE || !conn_live(c))
		return;
	if (s->more)
	{
		if (w->known && s->rev >= w->lo - 1)
			s->more = false; /* the window has the rest */
		else
		{
			if (!conn_room(c))
				return;
			s->more = false;
			sub_fetch(s, s->rev, w->known ? w->lo - 1 : REV_UNBOUNDED, false);
			return;
		}
	}
	if (!w->known)
		return;
	while (s->rev < w->hi && conn_live(c))
	{
		if (!conn_room(c))
			return;
		if (s->rev + 1 < w->lo)
		{
			sub_fetch(s, s->rev, w->lo - 1, false);
			return;
		}
		deliver(s, window_get(w, s->rev + 1));
	}
}

/*
 * Pumping a sub can end it (a catch-up fetch that cannot be sent fails the
 * subscription), but no other: the walks note the next one first, and
 * hold the document so that its last subscriber leaving does not free it
 * under the walk.
 */
void
stream_pump_doc(doc *d)
{
	sub *next;

	doc_ref(d);
	for (sub *s = d->subs; s; s = next)
	{
		next = s->dnext;
		pump(s);
	}
	doc_unref(d);
}

void
stream_resume(conn *c)
{
	sub *next;

	for (sub *s = c->subs; s && conn_live(c); s = next)
	{
		next = s->cnext;
		pump(s);
	}
}

void
stream_presence(doc *d, const char *client, msg *m)
{
	for (sub *s = d->subs; s; s = s->dnext)
	{
		if (s->state != SUB_STARTING && s->state != SUB_SNAPSHOT &&
			strcmp(s->c->client, client) != 0)
			conn_send(s->c, msg_ref(m));
	}
}

/* --- catching up -------------------------------------------------------- */

/* Revisions one catch-up fetch brings: what a quarter of a queue holds. */
static int64_t
catchup_chunk(void)
{
	int64_t n = fanout_cfg->max_queue / 4;

	return n < 16 ? 16 : n > 1000 ? 1000 : n;
}

static void
sub_fetch_done(void *ctx, const PGresult *res, const pg_error *err)
{
	rq_ctx *q = ctx;
	sub *s = sub_of(q->c, q->d, q->gen, true);
	doc *d = q->d;

	if (!s || s->state != SUB_CATCHUP)
	{
		rq_ctx_free(q);
		return;
	}
	if (err)
	{
		if (q->resume && rq_failure_of(err) == RQ_INVALID)
			start_snapshot(s); /* the revision is not in the log: start over */
		else
			sub_failed(s, err);
		rq_ctx_free(q);
		return;
	}
	metrics.fetches++;
	for (int i = 0; i < PQntuples(res); i++)
	{
		entry e;

		if (!rq_change_entry(d->id, res, i, &e))
			continue;
		if (d->w.known && e.rev > d->w.hi)
			doc_offer(d, &e); /* new to the window too */
		else if (!d->w.known || e.rev < d->w.lo)
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
	if (q->resume && d->w.known && s->rev > d->w.want)
		doc_want(d, s->rev, fanout_cfg->gap_wait_ms);
	pump(s);
	rq_ctx_free(q);
}

/* Fetches the revisions after SINCE (up to UNTIL) for S alone. */
static void
sub_fetch(sub *s, int64_t since, int64_t until, bool resume)
{
	rq_ctx *q = rq_ctx_new(s->c, s->d, s->gen);
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
	if (!rq_changes(s->c, s->d->id, since, until, sub_fetch_done, q))
	{
		rq_ctx_free(q);
		sub_failed(s, &err);
	}
}

/* --- shared snapshots ---------------------------------------------------- */

/*
 * Snapshots are shared: one query per document at a time, whatever the
 * number of subscriptions waiting for one (a thousand clients coming back
 * to a 1 MB document cost the database one collab.content, not a
 * thousand).  A snapshot that was being read when a subscribe came is as
 * good a start for it as a later one: the stream goes on from the
 * snapshot's revision, whatever it is.  A sub that came while the
 * query was running is "late": should the query fail, it gets a query of
 * its own instead of an error that may predate it (a create of its own).
 *
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
	rev = rq_snapshot_rev(res);
	if (!d->w.known)
		window_start(&d->w, rev);
	else if (rev > d->w.want)
	{
		/* the snapshot saw revisions whose news has not come yet */
		doc_want(d, rev, fanout_cfg->gap_wait_ms);
	}
	/* encoded once, shared by every waiter's queue */
	m = rq_snapshot_msg(d->id, res);
	for (sub *s = d->subs; s; s = next)
	{
		next = s->dnext;
		if (!snapshot_waiting(s))
			continue;
		conn_send(s->c, m ? msg_ref(m) : NULL);
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
	if (!rq_snapshot(d->id, snapshot_done, d))
	{
		pg_error err = {.unavailable = true, .message = "out of memory"};

		doc_ref(d); /* failing the last waiter must not free D under us */
		snapshot_failed(d, &err, false);
		doc_unref(d);
		return;
	}
	doc_ref(d); /* the query's; its callback never runs before this */
	d->snapshotting = true;
	metrics.snapshots++;
}

static void
start_snapshot(sub *s)
{
	s->state = SUB_SNAPSHOT;
	s->snap_late = s->d->snapshotting;
	if (!s->d->snapshotting)
		snapshot_query(s->d);
}

void
sub_start(sub *s, int64_t rev)
{
	window *w = &s->d->w;

	if (rev < 0)
		start_snapshot(s);
	else if (w->known && rev >= w->lo - 1 && rev <= w->hi)
	{
		s->rev = rev;
		s->state = SUB_LIVE;
		pump(s);
	}
	else
		sub_fetch(s, rev,
				  w->known && rev < w->lo - 1 ? w->lo - 1 : REV_UNBOUNDED,
				  true);
}
