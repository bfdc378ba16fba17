/*
 * conn.h — one WebSocket client: its outgoing queue, back-pressure and
 * message and byte rates.
 *
 * Outgoing messages wait in a bounded ring (q_head, q_len of q_cap), each a
 * reference to a shared msg, and leave when the socket is writable: on each
 * writable callback, as many as the socket takes, several frames to a
 * write when several wait (conn.c says how).  A queue
 * over --max-queue messages or --max-queue-bytes closes the connection
 * (1013: too slow, resume); over half full it is "blocked": the streams
 * that feed it (stream.c) stop pulling from their documents until it
 * drains to a quarter, and a connection blocked for --slow-ms is closed
 * (1013) too.
 *
 * Memory: an idle connection (most of them, most of the time) holds this
 * struct, its client id and its subscriptions, nothing else of ours: the
 * ring is allocated when a message is queued and freed when the queue
 * empties, and strings that only some connections need (the user, a
 * close's reason) are not kept inline.  lws holds the rest (its wsi, the
 * WebSocket state, the receive buffer of ws.c's WS_RX_BUFFER bytes):
 * docs/notifier.md, "Idle connections", says how much each is.
 *
 * Ownership: a conn belongs to its WebSocket until conn_closed, and to every
 * query in flight on its behalf (conn_ref); it is freed by the last
 * conn_unref.  After conn_closed, wsi is NULL and nothing is queued or sent.
 * Single-threaded: everything runs in the lws event loop.
 */
#ifndef COLLAB_NOTIFIER_CONN_H
#define COLLAB_NOTIFIER_CONN_H

#include "jwt.h"
#include "protocol.h"
#include "quota.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sub sub;

/* (Ordered so that no padding is left between fields: every idle client
 * has one.) */
typedef struct conn {
	struct lws *wsi;		  /* NULL once closed */
	struct conn *prev, *next; /* in the list of open connections */
	uint64_t id;			  /* for the log */
	char *client;			  /* its client id (conn_set_client), malloc'd */
	msg **q; /* outgoing ring: q[(q_head + i) % q_cap]; NULL when empty */
	unsigned q_head, q_len, q_cap;
	int close_code;
	size_t q_bytes;		 /* bytes of the messages queued */
	double tokens;		 /* rate limit bucket, in messages */
	double byte_tokens;	 /* byte rate bucket, in bytes */
	lws_usec_t refilled; /* when both were last topped up */
	sub *subs;			 /* its subscriptions (stream.c) */
	int nsubs;
	int inflight; /* submits in flight, over all subs */
	int pending;  /* database requests made for it, not yet answered */
	int refs;
	struct fetch_waiter *fetches; /* its fetches waiting (fetch.c) */
	lws_usec_t presence_at;	  /* its next presence may go then (requests.c) */
	const char *close_reason; /* a literal (conn_close) */
	/* who it is (auth.c): all zero until a token verified */
	jwt_claims claims; /* the token's rights; claims.sub is the user: the
						* first token's, which every later one must name;
						* claims.exp: when the rights end */
	lws_sorted_usec_list_t auth_sul;	 /* the token's deadline, or exp */
	lws_sorted_usec_list_t presence_sul; /* sends a waiting presence */
	lws_sorted_usec_list_t slow_sul;	 /* fires --slow-ms after blocking */
	char addr[QUOTA_ADDR_MAX];			 /* its peer address (quota.h) */
	bool addr_counted;					 /* in quota_connected's count */
	bool client_fixed; /* the client id can no longer change */
	bool authed;
	bool blocked; /* its queue is over half full: streams wait */
} conn;

/* A WebSocket client connected: sends it hello.  NULL when out of memory. */
conn *conn_open(struct lws *wsi);

/* C's socket is gone (the wsi must not be used after this). */
void conn_closed(conn *c);

/* Another reference to C (a query in flight for it); returns C. */
conn *conn_ref(conn *c);
void conn_unref(conn *c);

/* True while C can still be sent to (open, not closing). */
bool conn_live(const conn *c);

/*
 * Queues M (taking its reference) for C.  M NULL (an encoder out of
 * memory) or a full queue closes C.  Dropped when C is closed or closing.
 */
void conn_send(conn *c, msg *m);

/* Queues an error (docs/protocol.md): DOC may be NULL, SEQ < 0 leaves it
 * out, ID_JSON (NULL: none) is a fetch's id, echoed. */
void conn_error(conn *c, const char *code, const char *message,
				const char *doc, int64_t seq, const char *id_json);

/*
 * Whether C's queue can take more of its documents' streams (under half
 * full).  False starts the --slow-ms clock.
 */
bool conn_room(conn *c);

/* What C's rate buckets say of a message. */
typedef enum conn_rate {
	CONN_RATE_OK,		/* taken from both buckets */
	CONN_RATE_MESSAGES, /* over --rate and --burst: nothing taken */
	CONN_RATE_BYTES,	/* over --byte-rate and --byte-burst: nothing taken */
} conn_rate;

/*
 * Takes one message and LEN bytes from C's rate buckets, or, when either
 * is short, nothing (a refused message costs no bytes, and the other way
 * round).
 */
conn_rate conn_rate_take(conn *c, size_t len);

/* C's socket can take more: writes what it takes of C's queue (up to
 * 256 KiB, then waits its turn).  -1: close it now. */
int conn_writable(conn *c);

/* Closes C at its next writable callback with CODE (e.g. 1009) and REASON,
 * a string that outlives C (a literal). */
void conn_close(conn *c, int code, const char *reason);

/* Sets C's client id to a copy of ID (at most WIRE_ID_BYTES_MAX bytes);
 * false when out of memory (the id is unchanged). */
bool conn_set_client(conn *c, const char *id);

/* Every open connection: closes each with CODE. */
void conn_close_all(int code, const char *reason);

/* Open connections, and their submits in flight. */
int conn_count(void);
int conn_inflight_total(void);

#endif
