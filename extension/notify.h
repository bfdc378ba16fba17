/*
 * notify.h — announcements on channel "collab" (notify.c).
 */
#ifndef COLLAB_NOTIFY_H
#define COLLAB_NOTIFY_H

#include "documents.h"
#include "wire.h"

/* Announces revision rev of doc_id at commit (client_id may be NULL). */
void notify_change(glue_session *s, text *doc_id, int64 rev, text *client_id,
				   int64 client_seq, const delta *change);

/* Announces that doc_id was deleted, at commit. */
void notify_deleted(glue_session *s, text *doc_id);

#endif
