/*
 * stream.h — subscriptions: the ordered stream of one document that one
 * connection receives.
 *
 * A subscription starts from a snapshot (shared: one query per document
 * at a time, whatever the number of subscribers waiting) or resumes after
 * a revision the client has.  A subscriber has a position (rev, the last
 * revision sent) and is moved forward through its document's window in
 * order while its connection has room, so revisions reach it without gap
 * or duplicate; the submitter of revision R gets an ack in place of change
 * R.  A subscriber behind the window (a resume, a late snapshot) catches
 * up with fetches of its own, a chunk at a time, then joins the window.
 *
 *   STARTING  waiting for a create (subscribe with "create")
 *   SNAPSHOT  waiting for its document's shared snapshot query
 *   CATCHUP   a fetch of its own in flight
 *   LIVE      moved through the window as it grows
 *
 * Ownership: a sub belongs to its conn and is in its doc's list (holding a
 * reference to the doc).  Queries refer to it by (conn, doc, generation),
 * never by pointer, so that a reply for an ended or restarted subscription
 * is recognised and dropped.  Single-threaded: the lws event loop.
 */
#ifndef COLLAB_NOTIFIER_STREAM_H
#define COLLAB_NOTIFIER_STREAM_H

#include "conn.h"
#include "document.h"
#include "pg.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum sub_state {
	SUB_STARTING,
	SUB_SNAPSHOT,
	SUB_CATCHUP,
	SUB_LIVE,
} sub_state;

struct sub {
	conn *c;
	doc *d;				/* referenced */
	sub *cnext;			/* in c->subs */
	sub *dprev, *dnext; /* in d->subs */
	sub_state state;
	unsigned gen;  /* bumped by every (re)subscribe */
	int64_t rev;   /* last revision sent (valid once CATCHUP or LIVE) */
	int64_t *pend; /* seqs of submits in flight */
	int npend, pend_cap;
	char *presence_wait; /* the latest presence not sent yet (JSON), or NULL */
	bool presence;		 /* has announced a non-empty presence */
	bool more;			 /* its catch-up fetch stopped at a chunk's end */
	bool snap_late; /* SNAPSHOT: the query was already running when it came */
};

/* C's subscription to DOC_ID, or NULL. */
sub *sub_find(conn *c, const char *doc_id);

/*
 * C's subscription to DOC_ID, new (STARTING) when there was none, with its
 * generation bumped either way; NULL when out of memory.
 */
sub *sub_open(conn *c, const char *doc_id);

/* The subscription a query made for (C, D, GEN) serves, if it is still
 * there (and, with CHECK_GEN, not restarted since); NULL otherwise. */
sub *sub_of(conn *c, doc *d, unsigned gen, bool check_gen);

/* Starts S's stream: a snapshot, or a resume after REV (< 0: none). */
void sub_start(sub *s, int64_t rev);

/* Ends S; clears its presence (with CLEAR_PRESENCE) for the others. */
void sub_remove(sub *s, bool clear_presence);

/* Reports a failed query for S to its client; the subscription ends. */
void sub_failed(sub *s, const pg_error *err);

/* S's submits in flight, by seq. */
bool sub_pending(const sub *s, int64_t seq);
bool sub_pend_add(sub *s, int64_t seq);
bool sub_pend_remove(sub *s, int64_t seq);

/* Moves every subscriber of D forward (the window grew). */
void stream_pump_doc(doc *d);

/* C's queue drained: its streams go on where they stopped. */
void stream_resume(conn *c);

/* C closed: every subscription of it ends. */
void stream_end_all(conn *c);

/* D was deleted: every subscription ends with "deleted". */
void stream_doc_deleted(doc *d);

/* A presence message M from CLIENT reaches D's other live subscribers. */
void stream_presence(doc *d, const char *client, msg *m);

#endif
