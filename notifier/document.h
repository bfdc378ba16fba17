/*
 * document.h — the documents this notifier follows: a table by id, each
 * with its window of recent revisions (window.h), its subscribers
 * (stream.h) and the fetch that fills its gaps.
 *
 * A revision offered to a document (from a notification, a submit's reply
 * or a fetch) enters its window; the subscribers are then moved forward
 * (stream_pump_doc).  A gap (hi < want) is filled by one collab.changes
 * fetch per document at a time, after --gap-wait-ms (a late notification
 * usually fills it first), retried while the database is unreachable, and
 * read in chunks of --history revisions (what the window keeps), one after
 * the other, so a resync after a long outage is never one huge result.
 *
 * Ownership: a doc is referenced by its subscribers and by queries in
 * flight (doc_ref / doc_unref; its gap timer is cancelled when it is freed);
 * it leaves the table when its last subscriber goes (a new subscriber starts
 * afresh, with a new doc) and is freed by the last doc_unref. Single-threaded:
 * the lws event loop.
 */
#ifndef COLLAB_NOTIFIER_DOCUMENT_H
#define COLLAB_NOTIFIER_DOCUMENT_H

#include "window.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "every revision there is": a want with no upper bound known */
#define REV_UNBOUNDED INT64_MAX

typedef struct sub sub;

typedef struct doc {
	char *id;
	struct doc *hnext; /* hash chain */
	sub *subs;		   /* subscribers (stream.c), linked by dprev/dnext */
	int nsubs;
	int refs;
	bool in_table;
	window w;
	bool fetching;		/* a gap fetch in flight */
	int64_t fetch_want; /* want when it was sent */
	int64_t fetch_rows; /* the most rows it can bring: a chunk */
	bool gap_pending;	/* gap_sul scheduled */
	lws_sorted_usec_list_t gap_sul;
	bool snapshotting;			 /* a snapshot query in flight (stream.c) */
	struct fetch_group *fetches; /* fetch queries in flight (fetch.c) */
} doc;

/* The followed document ID, added (with no reference) when new; NULL when
 * out of memory. */
doc *doc_get(const char *id);

/* The followed document ID, or NULL. */
doc *doc_find(const char *id);

/* Another reference to D; returns D. */
doc *doc_ref(doc *d);
void doc_unref(doc *d);

/* Takes D out of the table (its last subscriber left, or it was deleted):
 * the next subscriber to its id starts afresh. */
void doc_forget(doc *d);

/* Offers revision E to D (taking E's contents); moves the subscribers.
 * The caller holds a reference to D: moving the subscribers may end the
 * last of them. */
void doc_offer(doc *d, entry *e);

/* Revision REV exists (a notification too big to carry it, a snapshot
 * ahead of the window): fetch what is missing after DELAY_MS. */
void doc_want(doc *d, int64_t rev, int delay_ms);

/* Every followed document: fetch whatever may have been missed. */
void doc_resync_all(void);

/* Documents in the table. */
size_t doc_count(void);

#endif
