/*
 * otclient.h — the OT client of docs/protocol.md ("A client, in short") in
 * C, for the tests that play many editors at once: tests/stress (over
 * libpq: collab.submit and collab.changes) and tests/notifier/converge_test
 * (over WebSocket).  It keeps only the state and its rules; sending,
 * receiving, dropping connections and checking are the caller's.
 *
 * It mirrors client/collab-client.js, the shipped client:
 *   - at most one change in flight, with its seq, its base revision and its
 *     JSON exactly as sent (sent), so that a resubmit after a lost
 *     connection repeats it byte for byte with the same seq and base, and
 *     the server deduplicates it (flush(), sendInflight());
 *   - local edits composed into one buffer (submit());
 *   - an incoming change taken one at a time, transformed against the
 *     change in flight, then the buffer, the server's change winning ties
 *     (onChange(): inflight.transform(incoming, false) is what to apply,
 *     incoming.transform(inflight, true) what stays in flight);
 *   - a change carrying our client id and the in-flight seq is our ack
 *     (a resubmit's first submission came back on the resumed stream);
 *   - an ack of the in-flight seq ends the flight and advances rev to its
 *     revision when that is ahead (onAck()); an ack of another seq, or a
 *     change at or before rev, is ignored; a change past rev + 1 is a gap
 *     and changes nothing (the JS client then asks for the stream again).
 * Not mirrored (no test here needs them): snapshots replacing a document
 * with a change in flight (orphans, resync), presence, hold/release,
 * retries after an error.
 *
 * Invariant, after every call that returns DELTA_OK / an otc_result other
 * than OTC_FAILED:
 *     doc == the server's document at rev, then inflight, then buffer,
 * checked by the tests that can ask the server (tests/stress).
 *
 * Memory: every delta of the state lives in the client's arena, which
 * grows with every edit; otc_compact moves the state into a fresh one.
 * sent is malloc'd.  Not thread-safe.
 */
#ifndef COLLAB_TESTS_OTCLIENT_H
#define COLLAB_TESTS_OTCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "delta.h"

#define OTC_ID_MAX 64

typedef struct otclient {
	char id[OTC_ID_MAX]; /* client id, as the server sees it */
	delta_arena *arena;	 /* owns doc, inflight, buffer, confirmed */
	delta *doc;			 /* the local copy; NULL before otc_start */
	int64_t rev;		 /* the last revision taken; -1 before otc_start */
	delta
		*inflight; /* submitted, unacknowledged, transformed since; or NULL */
	int64_t inflight_seq;
	int64_t inflight_base; /* the revision it was submitted against */
	char *sent;			   /* its JSON as submitted (malloc) */
	delta *buffer;		   /* local edits since; or NULL */
	int64_t seq;		   /* the last sequence number used */
	delta *confirmed;	   /* the last change in flight acknowledged, as the
							* client had transformed it: what the server holds */
} otclient;

/* What otc_change and otc_ack did. */
typedef enum otc_result {
	OTC_TAKEN,	   /* another's change: transformed, applied; rev is its */
	OTC_CONFIRMED, /* the change in flight acknowledged; rev advanced
					* when the acknowledgement was ahead */
	OTC_IGNORED,   /* a change at or before rev, an ack of a seq not in
					* flight: nothing changed */
	OTC_GAP,	   /* a change past rev + 1: nothing changed */
	OTC_FAILED	   /* a core call failed (err): the client is unusable */
} otc_result;

/*
 * An empty client with client id id (cut at OTC_ID_MAX - 1 bytes) and an
 * arena of its own.  DELTA_ENOMEM leaves nothing to destroy.
 */
delta_status otc_init(otclient *c, const char *id, delta_error *err);

/* Releases the arena and sent.  A zeroed c is fine. */
void otc_destroy(otclient *c);

/*
 * Starts from the server's document, JSON text json at revision rev
 * (a snapshot); nothing in flight or buffered.
 */
delta_status otc_start(otclient *c, const char *json, size_t len, int64_t rev,
					   delta_error *err);

/*
 * A local edit of the copy: change (in c->arena, e.g. from edits_random)
 * is applied to doc and composed into the buffer.  Does not send: call
 * otc_flush.
 */
delta_status otc_edit(otclient *c, delta *change, delta_error *err);

/*
 * When nothing is in flight and the buffer holds something, moves the
 * buffer into flight with the next seq and base rev, writes sent and sets
 * *submit: the caller sends submit(doc, rev = inflight_base, change = sent,
 * seq = inflight_seq).  Otherwise *submit is false.  The JS client also
 * waits for a subscription; here that is the caller's to check.
 */
delta_status otc_flush(otclient *c, bool *submit, delta_error *err);

/*
 * Revision rev, change by client client_id (NULL when none) with its seq
 * (0 when none), as the stream or the log brings it.  Ours (our id and the
 * in-flight seq): OTC_CONFIRMED, confirmed is the change in flight as we
 * have it.  Another's: OTC_TAKEN.  See otc_result for the rest.  change
 * may live in any arena that outlives c's use of it.
 */
otc_result otc_change(otclient *c, int64_t rev, const char *client_id,
					  int64_t seq, const delta *change, delta_error *err);

/* An ack of seq at revision rev: OTC_CONFIRMED or OTC_IGNORED. */
otc_result otc_ack(otclient *c, int64_t rev, int64_t seq);

/*
 * Moves doc, inflight, buffer and confirmed into a fresh arena and
 * destroys the old one, with everything else the caller kept there.
 */
delta_status otc_compact(otclient *c, delta_error *err);

/* The canonical JSON of d in c's arena, NUL-terminated; NULL on ENOMEM. */
const char *otc_json(otclient *c, const delta *d);

#endif
