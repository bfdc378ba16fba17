/*
 * fanout.h — documents, subscriptions and the ordered stream each client
 * receives (docs/notifier.md, docs/protocol.md).
 *
 * Per followed document the notifier keeps a window of recent changes
 * [lo..hi], contiguous, each encoded once and shared by every recipient.
 * Changes enter the window from three sources, whichever comes first: the
 * LISTEN connection's notifications, the replies to this instance's own
 * submits, and fetches from collab.changes; duplicates are dropped, and a
 * revision ahead of hi + 1 is held until the gap is filled (by a late
 * notification, or by one fetch per document after --gap-wait-ms).  Every
 * subscriber has a position (its last revision sent) and is moved forward
 * through the window in order, so revisions reach it without gap or
 * duplicate; the submitter of revision R gets an ack in place of change R.
 * A subscriber behind the window (a resume, a late snapshot) catches up with
 * a fetch of its own, then joins the window.
 *
 * Single-threaded: everything runs in the lws event loop.
 */
#ifndef COLLAB_NOTIFIER_FANOUT_H
#define COLLAB_NOTIFIER_FANOUT_H

#include "config.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct conn conn;

/* Called once, before any other function. */
void fanout_init(struct lws_context *context, const config *cfg);

/* A WebSocket client connected: sends it hello.  NULL when out of memory. */
conn *fanout_conn_open(struct lws *wsi);

/* One complete text message from C. */
void fanout_conn_message(conn *c, const char *text, size_t len);

/* C's socket can take a frame: writes at most one.  -1: close it now. */
int fanout_conn_writable(conn *c);

/* C's socket is gone (the wsi must not be used after this). */
void fanout_conn_closed(conn *c);

/* Closes C at its next writable callback with CODE (e.g. 1009). */
void fanout_conn_close(conn *c, int code, const char *reason);

/* pg events: a payload on channel collab; LISTEN (re)established. */
void fanout_notify(const char *payload);
void fanout_listening(void);

/* Starts a graceful shutdown; fanout_finished() tells when it is done. */
void fanout_shutdown(void);
bool fanout_accepting(void);
bool fanout_finished(void);

/* Prometheus text exposition of the counters into BUF; returns its length. */
size_t fanout_metrics(char *buf, size_t size);

#endif
