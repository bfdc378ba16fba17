/*
 * document.c — the followed documents and their gap fetches (see
 * document.h).
 */
#include "document.h"

#include "hash.h"

#include "fanout.h"
#include "log.h"
#include "metrics.h"
#include "requests.h"
#include "stream.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_FETCH_MS 250 /* a fetch that could not run, again */

static struct {
	doc **buckets;
	size_t size, count;
} table;

doc *
doc_find(const char *id)
{
	if (!table.size)
		return NULL;
	for (doc *d = table.buckets[hash_id(id) & (table.size - 1)]; d;
		 d = d->hnext)
	{
		if (strcmp(d->id, id) == 0)
			return d;
	}
	return NULL;
}

static bool
table_grow(void)
{
	size_t size = table.size ? table.size * 2 : 64;
	doc **buckets = calloc(size, sizeof(doc *));

	if (!buckets)
		return false;
	for (size_t i = 0; i < table.size; i++)
	{
		doc *d = table.buckets[i];

		while (d)
		{
			doc *next = d->hnext;
			size_t b = hash_id(d->id) & (size - 1);

			d->hnext = buckets[b];
			buckets[b] = d;
			d = next;
		}
	}
	free(table.buckets);
	table.buckets = buckets;
	table.size = size;
	return true;
}

void
doc_forget(doc *d)
{
	if (!d->in_table)
		return;
	for (doc **p = &table.buckets[hash_id(d->id) & (table.size - 1)]; *p;
		 p = &(*p)->hnext)
	{
		if (*p == d)
		{
			*p = d->hnext;
			break;
		}
	}
	d->in_table = false;
	table.count--;
}

doc *
doc_get(const char *id)
{
	doc *d = doc_find(id);
	size_t b;

	if (d)
		return d;
	if (table.count + 1 > table.size && !table_grow())
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->id = strdup(id)))
	{
		free(d);
		return NULL;
	}
	window_init(&d->w, fanout_cfg->history);
	b = hash_id(id) & (table.size - 1);
	d->hnext = table.buckets[b];
	table.buckets[b] = d;
	d->in_table = true;
	table.count++;
	return d;
}

doc *
doc_ref(doc *d)
{
	assert(d->refs >= 0);
	d->refs++;
	return d;
}

void
doc_unref(doc *d)
{
	assert(d->refs > 0);
	if (--d->refs > 0)
		return;
	assert(d->nsubs == 0 && !d->subs && !d->fetching && !d->fetches);
	doc_forget(d);
	lws_sul_cancel(&d->gap_sul); /* a doc being freed fetches nothing */
	window_clear(&d->w);
	free(d->id);
	free(d);
}

size_t
doc_count(void)
{
	return table.count;
}

static void gap_fetch(doc *d);

static void
gap_cb(lws_sorted_usec_list_t *sul)
{
	doc *d = lws_container_of(sul, doc, gap_sul);

	d->gap_pending = false;
	gap_fetch(d);
}

/* Makes sure the gap up to want gets filled, after DELAY_MS. */
static void
gap_schedule(doc *d, int delay_ms)
{
	if (!window_gap(&d->w) || d->fetching || d->gap_pending)
		return;
	if (delay_ms <= 0)
	{
		gap_fetch(d);
		return;
	}
	d->gap_pending = true;
	lws_sul_schedule(fanout_context, 0, &d->gap_sul, gap_cb,
					 (lws_usec_t) delay_ms * LWS_US_PER_MS);
}

void
doc_offer(doc *d, entry *e)
{
	assert(d->refs > 0); /* the caller's, see document.h */
	switch (window_offer(&d->w, e))
	{
		case WINDOW_APPENDED:
			if (!window_gap(&d->w) && d->gap_pending)
			{
				lws_sul_cancel(&d->gap_sul);
				d->gap_pending = false;
			}
			stream_pump_doc(d);
			break;
		case WINDOW_NO_MEMORY:
			log_msg(LOG_ERROR, "doc: out of memory keeping a revision of %s",
					d->id);
			break;
		case WINDOW_HELD:
		case WINDOW_DROPPED:
			break;
	}
	gap_schedule(d, fanout_cfg->gap_wait_ms);
}

void
doc_want(doc *d, int64_t rev, int delay_ms)
{
	window_want(&d->w, rev);
	gap_schedule(d, delay_ms);
}

static void
gap_done(void *ctx, const PGresult *res, const pg_error *err)
{
	doc *d = ctx;

	d->fetching = false;
	if (err)
	{
		rq_failure f = rq_failure_of(err);

		if (f == RQ_NOT_FOUND)
			stream_doc_deleted(d);
		else
		{
			if (f != RQ_UNAVAILABLE)
				log_msg(LOG_ERROR, "doc: fetching changes of %s: %s (%s)",
						d->id, err->message, err->sqlstate);
			gap_schedule(d, RETRY_FETCH_MS);
		}
		doc_unref(d);
		return;
	}
	metrics.fetches++;
	for (int i = 0; i < PQntuples(res); i++)
	{
		entry e;

		if (rq_change_entry(d->id, res, i, &e))
			doc_offer(d, &e);
	}
	if (PQntuples(res) >= d->fetch_rows)
		gap_schedule(d, 0); /* a full chunk: the next one at once */
	else
	{
		if (window_gap(&d->w) && d->w.want == d->fetch_want)
		{
			/*
			 * The log ended before want: a revision announced is committed
			 * before its announcement, so what the fetch did not find does
			 * not exist (a resync's unbounded want, a revision nobody
			 * committed).  want comes down to what is known, and no fetch
			 * follows for nothing.  (A want raised while the fetch ran is
			 * not the fetch's to judge: it is fetched next.)
			 */
			d->w.want = d->w.nheld ? d->w.held[d->w.nheld - 1].rev : d->w.hi;
		}
		gap_schedule(d, fanout_cfg->gap_wait_ms);
	}
	doc_unref(d);
}

/* Fetches the revisions after hi up to want, at most --history of them
 * (the next chunk follows when this one comes back full). */
static void
gap_fetch(doc *d)
{
	int64_t until = d->w.want;

	if (!window_gap(&d->w) || d->fetching || !d->nsubs)
		return;
	if (until > d->w.hi + fanout_cfg->history) /* REV_UNBOUNDED too */
		until = d->w.hi + fanout_cfg->history;
	if (!rq_changes(NULL, d->id, d->w.hi, until, gap_done, d))
	{
		/*
		 * No pool connection is up (LISTEN may come back before the pool
		 * does): try again later rather than lose the resync.
		 */
		gap_schedule(d, RETRY_FETCH_MS);
		return;
	}
	doc_ref(d); /* the query's; its callback never runs before this */
	d->fetching = true;
	d->fetch_want = d->w.want;
	d->fetch_rows = until - d->w.hi;
}

void
doc_resync_all(void)
{
	doc *next;

	for (size_t i = 0; i < table.size; i++)
	{
		for (doc *d = table.buckets[i]; d; d = next)
		{
			next = d->hnext;
			if (!d->w.known)
				continue;
			d->w.want = REV_UNBOUNDED;
			gap_schedule(d, 0);
		}
	}
}
