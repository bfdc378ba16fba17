/*
 * protocol.h — the messages of docs/protocol.md: parsing what clients send,
 * and encoding what they receive into reference-counted buffers.
 *
 * An outgoing message is encoded once into a msg (with LWS_PRE bytes of
 * headroom for the frame header) and shared by every recipient, each holding
 * a reference; the last msg_unref frees it.  lws_write writes the frame
 * header into the headroom, which is safe to share because the loop is
 * single-threaded and lws copies what a socket does not take at once.
 */
#ifndef COLLAB_NOTIFIER_PROTOCOL_H
#define COLLAB_NOTIFIER_PROTOCOL_H

#include "wire.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct msg {
	unsigned refs;
	size_t len;			  /* bytes of JSON after the headroom */
	unsigned char data[]; /* LWS_PRE headroom, then len bytes, then NUL */
} msg;

/* The JSON text of M (NUL-terminated). */
static inline char *
msg_text(msg *m)
{
	return (char *) m->data + LWS_PRE;
}

/* A msg holding a copy of TEXT[0..LEN), one reference; NULL when out of
 * memory. */
msg *msg_new(const char *text, size_t len);
msg *msg_ref(msg *m);
void msg_unref(msg *m);

typedef enum req_type {
	REQ_SUBSCRIBE,
	REQ_UNSUBSCRIBE,
	REQ_SUBMIT,
	REQ_PRESENCE,
	REQ_FETCH,
	REQ_AUTH,
} req_type;

/* A parsed client message; strings point into root (owned, one reference). */
typedef struct request {
	json_t *root;
	req_type type;
	const char *doc;	/* every type but auth */
	const char *client; /* optional client id, or NULL */
	bool has_rev;
	int64_t rev;	   /* subscribe (optional), submit */
	bool create;	   /* subscribe */
	json_t *change;	   /* submit: object or array (borrowed) */
	int64_t seq;	   /* submit */
	json_t *state;	   /* presence: object (borrowed) */
	json_t *id;		   /* fetch: any JSON the answer echoes, or NULL */
	const char *token; /* auth: the signed token */
	size_t token_len;
} request;

/*
 * Parses TEXT[0..LEN) into REQ.  Returns 0, or -1 with a message for a
 * bad_message error in ERRBUF (and REQ->doc set when it could be read).
 * On success the caller releases REQ with proto_request_free.
 */
int proto_parse(const char *text, size_t len, request *req, char *errbuf,
				size_t errlen);
void proto_request_free(request *req);

/*
 * Encoders: each returns a new msg with one reference, or NULL when out of
 * memory.  Raw arguments (*_json) are JSON texts inserted as they are; ids
 * are escaped.  CLIENT may be NULL (JSON null), SEQ < 0 means null.
 */
msg *proto_hello(const char *client);
/* A connection is (again) authenticated: its user, the client id its own
 * changes carry, and when its rights end (seconds since the epoch). */
msg *proto_authenticated(const char *user, const char *client, int64_t exp);
msg *proto_snapshot(const char *doc, int64_t rev, const char *content_json);
msg *proto_change(const char *doc, int64_t rev, const char *change_json,
				  const char *client, int64_t seq);
msg *proto_ack(const char *doc, int64_t rev, int64_t seq);
/*
 * DOC may be NULL; SEQ < 0 leaves seq out; ID_JSON (NULL: none) is echoed.
 * MESSAGE is sent as proto_text_prefix cuts it to PROTO_ERROR_TEXT_MAX.
 */
msg *proto_error(const char *code, const char *message, const char *doc,
				 int64_t seq, const char *id_json);
/* The answer to a fetch; ID_JSON may be NULL. */
msg *proto_content(const char *doc, int64_t rev, const char *content_json,
				   const char *html, const char *id_json);

/* Bytes of an error's message at most (the database's texts can be long). */
#define PROTO_ERROR_TEXT_MAX 256

/*
 * The length of TEXT's longest prefix of at most MAX bytes that is
 * well-formed UTF-8: cut on a character boundary, and before the first
 * ill-formed sequence, if any.
 */
size_t proto_text_prefix(const char *text, size_t max);

/* A valid id: 1 to WIRE_ID_BYTES_MAX bytes. */
bool proto_id_ok(const char *id);

#endif
