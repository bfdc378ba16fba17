/*
 * wsc.h — a small WebSocket client on libwebsockets 4.1, shared by the
 * notifier's tests (tests/notifier/) and benchmarks (bench/notifier/).
 *
 * One wsc_loop (an lws context) holds any number of connections (tens of
 * thousands: per connection a few hundred bytes plus lws's own).  A
 * connection delivers each complete text message either to a callback or,
 * without one, to an inbox read with wsc_next.  Sends are queued and written
 * when the socket is writable.  Single-threaded: call everything from the
 * thread that runs the loop.  Every wait is bounded by a timeout.
 */
#ifndef COLLAB_TESTS_WSC_H
#define COLLAB_TESTS_WSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wsc_loop wsc_loop;
typedef struct wsc wsc;

/* A complete text message; TEXT is NUL-terminated and valid for the call. */
typedef void (*wsc_message_fn)(wsc *c, const char *text, size_t len,
							   void *user);

/* A loop for up to MAX_CONNS connections; NULL on failure. */
wsc_loop *wsc_loop_new(int max_conns);
/* Frees the loop and every connection still in it. */
void wsc_loop_free(wsc_loop *l);

/*
 * Starts connecting to ws://HOST:PORT/ws.  ON_MESSAGE may be NULL: messages
 * then wait in the inbox.  Returns NULL when the attempt cannot start.
 */
wsc *wsc_connect(wsc_loop *l, const char *host, int port,
				 wsc_message_fn on_message, void *user);

/* Queues TEXT (copied) for sending; false when closed or out of memory. */
bool wsc_send(wsc *c, const char *text);

/* printf-style wsc_send. */
bool wsc_sendf(wsc *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Closes cleanly (close frame 1000). */
void wsc_close(wsc *c);

/* Cuts the connection without a close frame, as a lost network would. */
void wsc_drop(wsc *c);

bool wsc_is_open(const wsc *c);	  /* handshake done, not closed */
bool wsc_is_closed(const wsc *c); /* failed, closed or dropped */
/*
 * The close code the server sent (e.g. 1001), or 0.  libwebsockets 4.1's
 * client turns codes 1012..2999 into 1002 before anyone sees them: a 1013
 * (too slow) reads as 1002 here.
 */
int wsc_close_code(const wsc *c);
void *wsc_user(const wsc *c);

/*
 * The next message of C's inbox (malloc'd, caller frees), servicing the loop
 * up to TIMEOUT_MS; NULL on timeout or when C closed with nothing queued.
 */
char *wsc_next(wsc *c, int timeout_ms);

/* Messages waiting in C's inbox. */
int wsc_pending(const wsc *c);

/*
 * Messages queued by wsc_send and not yet written (lws_write).  At 0 they
 * are in the kernel (or, for a large one, in lws's own buffer), so a drop
 * that follows does not stop them: a test cuts a connection after its
 * submit has left, to lose the answer rather than the request.
 */
int wsc_unsent(const wsc *c);

/* Frees C (closing it first if needed); its messages are dropped. */
void wsc_free(wsc *c);

/* Services the loop once (returns at the latest after ~10 ms). */
void wsc_service(wsc_loop *l);

/* Services until DONE(ARG) is true or TIMEOUT_MS passes; returns DONE's value.
 */
bool wsc_run_until(wsc_loop *l, bool (*done)(void *arg), void *arg,
				   int timeout_ms);

/* Monotonic clock, microseconds. */
int64_t wsc_now_us(void);

#endif
