/*
 * raw.h — a raw WebSocket client on a blocking socket, for what wsc will
 * not do on purpose: write many frames in one write(2), so that the server
 * reads them all before any answer can come back (the in-flight limit), and
 * not read at all (a slow consumer, closed with 1013: wsc could not even see
 * that code, libwebsockets 4.1's client reports 1012..2999 as 1002).  It
 * also shows the handshake's answer (the subprotocol).
 *
 * Every wait is a poll bounded by a timeout.  Failures to connect or write
 * are reported through check() (harness.h).
 */
#ifndef COLLAB_TESTS_RAW_H
#define COLLAB_TESTS_RAW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct raw {
	int fd;
	unsigned char *in; /* received bytes not yet returned as frames */
	size_t len, cap;   /* bytes in IN, bytes allocated */
	bool eof;
	char head[1024]; /* the handshake's answer, NUL-terminated, cut */
} raw;

/*
 * Connects to ws://HOST:PORT/ws of instance WHICH ('a' or 'b') with a
 * receive buffer of RCVBUF bytes (0: the system's), asking for subprotocol
 * PROTOCOL (NULL: none), and completes the handshake; NULL (reported) on
 * failure.
 */
raw *raw_connect(char which, int rcvbuf, const char *protocol);

/* raw_connect with HEADERS (NULL: none; each line ending in CRLF) in the
 * upgrade request too. */
raw *raw_connect_with(char which, int rcvbuf, const char *protocol,
					  const char *headers);

/*
 * A connection to instance WHICH from the local address SOURCE (IPv4,
 * bound before connecting; Linux routes all of 127/8 to loopback, so
 * "127.0.0.2" is another client address), its handshake completed; NULL
 * when refused, with the answer's HTTP status in *STATUS (0: none).  Not
 * reported as a failure: a refusal may be what the test wants.
 */
raw *raw_connect_from(char which, const char *source, int *status);

/* Closes R's socket and frees it; NULL is ignored. */
void raw_free(raw *r);

/* Appends TEXT to *OUT (*LEN bytes, realloc'd) as one masked text frame;
 * false when out of memory. */
bool raw_frame(char **out, size_t *len, const char *text);

/* Writes all of BYTES; false (reported) on failure. */
bool raw_write(raw *r, const char *bytes, size_t len);

/* Sends TEXT as one frame. */
bool raw_send(raw *r, const char *text);

/* printf-style raw_send. */
bool raw_sendf(raw *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The next complete message within TIMEOUT_MS: 1 (text, in *TEXT, malloc'd,
 * NUL-terminated), 8 (close, its code in *CODE, 1005 without one), 0 on
 * timeout, -1 at end of file.  Pings and pongs are skipped; fragments are
 * joined.
 */
int raw_next(raw *r, int timeout_ms, char **text, int *code);

/* The next text message, parsed; NULL (not reported) otherwise. */
json_t *raw_next_json(raw *r, int timeout_ms);

#endif
