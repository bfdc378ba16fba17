/*
 * loop.h — the event loop everything runs in (--event-loop): lws's own,
 * which poll()s every descriptor at each wakeup, or a libev loop (epoll)
 * made here and lent to lws as a "foreign" loop.
 *
 * Either way main.c turns it once at a time, so a signal's flag and the
 * end of a graceful stop are seen between turns; lws installs no signal
 * handlers in a loop it does not own.  Order: loop_open, then the lws
 * context (ws.c calls loop_lend while making it), loop_start, loop_turn
 * until the end, lws_context_destroy, loop_close.
 */
#ifndef COLLAB_NOTIFIER_LOOP_H
#define COLLAB_NOTIFIER_LOOP_H

#include <libwebsockets.h>

/* Makes the loop NAME names ("poll", "ev"); -1 after logging why. */
int loop_open(const char *name);

/* Tells lws, in the context's creation INFO, which loop to join. */
void loop_lend(struct lws_context_creation_info *info);

/* CONTEXT, made on the loop, is about to be served. */
void loop_start(struct lws_context *context);

/* Runs one turn: waits for an event or a timer and serves what is ready.
 * Negative: the loop cannot go on. */
int loop_turn(struct lws_context *context);

/* After lws_context_destroy: lets lws's handles close, frees the loop. */
void loop_close(void);

#endif
