/*
 * notify.h — announcements on channel "collab" (notify.c).
 */
#ifndef COLLAB_NOTIFY_H
#define COLLAB_NOTIFY_H

#include "documents.h"
#include "wire.h"

/*
 * collab.notify_key: when set (at least COLLAB_NOTIFY_KEY_MIN bytes),
 * every payload is sealed with HMAC-SHA256 under it (core/wire.h), so that
 * a notifier holding the same key can tell collab's announcements from
 * anyone's NOTIFY.  Superuser-only, set in the server's configuration.
 */
extern char *collab_notify_key;

#define COLLAB_NOTIFY_KEY_MIN 32

/*
 * MESSAGE (LEN bytes of UTF-8 JSON) as a payload: sealed when
 * collab.notify_key is set, else as it is.  palloc'd, NUL-terminated.
 */
char *notify_seal(const char *message, size_t len);

/* Announces revision rev of doc_id at commit (client_id may be NULL). */
void notify_change(glue_session *s, text *doc_id, int64 rev, text *client_id,
				   int64 client_seq, const delta *change);

/* Announces that doc_id was deleted, at commit. */
void notify_deleted(glue_session *s, text *doc_id);

#endif
