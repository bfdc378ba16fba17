/*
 * wire.h — the one definition of what crosses from the database to the
 * notifier: the channel, the limits, and the change message.
 *
 * The extension (extension/notify.c) announces each committed change on
 * channel WIRE_CHANNEL with a payload that the notifier forwards to its
 * clients as it is; the notifier (notifier/protocol.c) encodes the same
 * message itself for a change it learns from its own submit's reply or
 * from collab.changes.  Both encode it here, so a subscriber receives the
 * same fields in the same order whichever path brought the change
 * (tests/notifier/test_contract.c checks this against a real database).
 * collab.contract() reports these values from the installed extension, so
 * a notifier can tell whether it speaks the same contract.
 *
 * Pure C: no PostgreSQL, no libwebsockets.
 */
#ifndef COLLAB_CORE_WIRE_H
#define COLLAB_CORE_WIRE_H

#include "json.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The LISTEN/NOTIFY channel. */
#define WIRE_CHANNEL "collab"

/* The payload format's version: bumped by any change to a message's
 * fields or meaning. */
#define WIRE_VERSION 1

/* Bytes of a document or client id (UTF-8), 1 to this many: short enough
 * that any announcement's envelope fits a payload. */
#define WIRE_ID_BYTES_MAX 200

/*
 * Bytes of a payload: room for the envelope inside NOTIFY's 8000 bytes.  A
 * change message that would be longer goes without its "change": the
 * notifier fetches the change from the log.
 */
#define WIRE_PAYLOAD_MAX 7900

/*
 * The SQLSTATE collab.submit raises when a (client_id, client_seq) it has
 * already stored comes again with another base revision or another change
 * (a reused id, or a client that lost count): the notifier's protocol error
 * duplicate_seq.  Class CL is collab's own.
 */
#define WIRE_SQLSTATE_DUPLICATE_SEQ "CL409"

/*
 * The most submits collab.submit_batch takes in one call: each runs in a
 * subtransaction, and up to 64 of them stay in the backend's cache of
 * subtransaction ids (PGPROC_MAX_CACHED_SUBXIDS), so other sessions'
 * visibility checks need not look them up while the batch runs.
 */
#define WIRE_SUBMIT_BATCH_MAX 64

/*
 * A payload may be sealed: the hex digits of HMAC-SHA256(key, message),
 * one space, then the message.  A database with collab.notify_key seals
 * every payload; a notifier given the same key believes only payloads
 * whose seal it can verify (anyone who can log in can NOTIFY on the
 * channel), and forwards the message without the seal.
 */
#define WIRE_SEAL_HEX 64

/*
 * The message inside PAYLOAD: after a seal (*SEAL then points at its
 * WIRE_SEAL_HEX hex digits), or PAYLOAD itself (*SEAL NULL) when it has
 * none.
 */
const char *wire_unseal(const char *payload, const char **seal);

/* Writes the 32 bytes of MAC as WIRE_SEAL_HEX lower-case hex digits and a
 * NUL into OUT. */
void wire_seal_hex(const unsigned char mac[32], char out[WIRE_SEAL_HEX + 1]);

/* A committed change, as the message carries it. */
typedef struct wire_change {
	const char *doc; /* UTF-8, doc_len bytes */
	size_t doc_len;
	int64_t rev;
	const char *client; /* UTF-8, client_len bytes; NULL: none (nor seq) */
	size_t client_len;
	int64_t seq;		/* with a client */
	const char *change; /* the change's JSON text, change_len bytes */
	size_t change_len;
} wire_change;

/*
 * Appends the change message to BUF:
 *
 *   {"type":"change","doc":D,"rev":R,"client":C,"seq":S,"change":X}
 *
 * with C and S null when there is no client.  With FIT, a message that
 * would be longer than WIRE_PAYLOAD_MAX bytes is written without
 * ",\"change\":X" (a reference: the receiver fetches revision R).
 */
delta_status wire_write_change(delta_buf *buf, const wire_change *c, bool fit,
							   delta_error *err);

#endif
