/*
 * window.h — one document's recent revisions, in order, with the ones that
 * came early held until the gap before them is filled.
 *
 * Revisions reach a notifier from three sources in any order (the LISTEN
 * connection, the replies to its own submits, fetches from collab.changes),
 * late, twice, or not at all.  A window turns them into one contiguous
 * sequence that every subscriber is moved through:
 *
 *   - ring: revisions lo..hi, every one present, each encoded once (a msg
 *     shared by every recipient); at most `history` of them, the oldest
 *     evicted first;
 *   - held: revisions above hi + 1, ascending, no duplicates, at most
 *     `history` of them; each joins the ring as soon as the revisions
 *     before it have;
 *   - want: the highest revision known to exist (>= hi); hi < want is a gap
 *     that the owner fills with a fetch.
 *
 * An unknown window (known == false) has seen nothing yet: the first
 * revision offered (or window_start) fixes where it begins.
 *
 * Pure bookkeeping: no I/O, no timers, no database; the owner (document.c)
 * decides when to fetch.  window_check asserts every invariant above (a
 * walk of the window: in a checked build, COLLAB_CHECKED, as the tests
 * build it); window_offer calls it after every change.
 */
#ifndef COLLAB_NOTIFIER_WINDOW_H
#define COLLAB_NOTIFIER_WINDOW_H

#include "protocol.h"

#include <stdbool.h>
#include <stdint.h>

/* One revision: its change message and who submitted it. */
typedef struct entry {
	int64_t rev;
	msg *m;		  /* the change message, shared (one reference here) */
	char *client; /* the author's client id (malloc'd), or NULL */
	int64_t seq;  /* the author's seq, or -1 */
} entry;

/* Releases E's message and client id; E can be reused. */
void entry_clear(entry *e);

typedef struct window {
	bool known;		/* lo, hi and want mean something */
	int64_t lo, hi; /* revisions lo..hi are in ring; hi = lo - 1: none */
	int64_t want;	/* highest revision known to exist, >= hi */
	entry *ring;	/* revision r at ring[r % cap] */
	int cap;		/* grows by doubling up to history */
	entry *held;	/* revisions > hi + 1, ascending */
	int nheld, held_cap;
	int history; /* at most this many in ring, and in held */
} window;

/* What window_offer did with a revision. */
typedef enum window_result {
	WINDOW_APPENDED, /* hi moved forward (held ones may have followed) */
	WINDOW_HELD,	 /* ahead of hi + 1: kept until the gap is filled */
	WINDOW_DROPPED,	 /* a duplicate, or held is full (a fetch brings it) */
	WINDOW_NO_MEMORY /* dropped for want of memory */
} window_result;

/* An empty, unknown window keeping at most HISTORY revisions (>= 1). */
void window_init(window *w, int history);

/* Frees everything W holds; W is unknown and empty afterwards. */
void window_clear(window *w);

/* Starts an unknown W after revision REV (a snapshot's): lo = REV + 1. */
void window_start(window *w, int64_t rev);

/*
 * Offers revision E->rev, taking E's contents whatever the result.  Also
 * raises want to E->rev.
 */
window_result window_offer(window *w, entry *e);

/* Raises want to REV (a revision known to exist); true when it rose. */
bool window_want(window *w, int64_t rev);

/* True when revisions between hi and want are missing. */
bool window_gap(const window *w);

/* Revision REV, which must be in lo..hi. */
const entry *window_get(const window *w, int64_t rev);

/* Asserts W's invariants (nothing unless COLLAB_CHECKED). */
void window_check(const window *w);

#endif
