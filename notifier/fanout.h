/*
 * fanout.h — the fan-out as a whole: what its parts share (the event loop,
 * the options) and its life cycle (start, graceful stop).
 *
 * The parts, each in its own file (docs/notifier.md):
 *   conn.c      a WebSocket client: its outgoing queue, back-pressure, rate
 *   window.c    one document's revisions in order: holds and gaps (pure)
 *   document.c  the followed documents and the fetches filling their gaps
 *   stream.c    subscriptions: snapshots, catch-up, the ordered stream
 *   requests.c  client requests, collab's SQL, SQLSTATE -> protocol error
 *   fetch.c     fetches, one query per (document, revision) at a time
 *   quota.c     connections per address, creations per user
 *   listen.c    what the LISTEN connection hears
 *   metrics.c   counters and /metrics
 *
 * A graceful stop: no new connections and no new submits; submits in
 * flight get their answer (up to 5 s), then every client is closed with
 * 1001 after its queue drains (up to 3 s more).
 *
 * Single-threaded: everything runs in the lws event loop.
 */
#ifndef COLLAB_NOTIFIER_FANOUT_H
#define COLLAB_NOTIFIER_FANOUT_H

#include "config.h"

#include <libwebsockets.h>
#include <stdbool.h>

/* Set by fanout_init, read by every part. */
extern struct lws_context *fanout_context;
extern const config *fanout_cfg;

/* Called once, before any other function of the fan-out. */
void fanout_init(struct lws_context *context, const config *cfg);

/* Starts a graceful shutdown; fanout_finished() tells when it is done. */
void fanout_shutdown(void);

/* True once fanout_shutdown was called. */
bool fanout_stopping(void);

/* Whether a new WebSocket client is welcome (not stopping, under
 * --max-clients). */
bool fanout_accepting(void);

/* True when the shutdown is complete: the loop can end. */
bool fanout_finished(void);

#endif
