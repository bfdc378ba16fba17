/*
 * quota.h — how large a change and a document may be (quota.c; settings
 * collab.max_change_bytes and collab.max_document_bytes, defined in
 * collab.c).
 */
#ifndef COLLAB_QUOTA_H
#define COLLAB_QUOTA_H

#include "postgres.h"

#include "documents.h"

/* collab.max_change_bytes: the JSON of one change, in bytes */
extern int collab_max_change_bytes;

#define COLLAB_MAX_CHANGE_BYTES_DEFAULT (1024 * 1024)
#define COLLAB_MAX_CHANGE_BYTES_MIN 1
#define COLLAB_MAX_CHANGE_BYTES_MAX (256 * 1024 * 1024)

/* collab.max_document_bytes: the JSON of a document, in bytes */
extern int collab_max_document_bytes;

#define COLLAB_MAX_DOCUMENT_BYTES_DEFAULT (8 * 1024 * 1024)
#define COLLAB_MAX_DOCUMENT_BYTES_MIN 1
/* what a jsonb can hold, about (a snapshot is one) */
#define COLLAB_MAX_DOCUMENT_BYTES_MAX (256 * 1024 * 1024)

/*
 * Raises 54000 unless change, as collab writes it (normalised, compact
 * JSON), fits collab.max_change_bytes.
 */
void quota_check_change(const delta *change);

/*
 * Raises 54000 unless a new document, whose exact shape this is, fits
 * collab.max_document_bytes.
 */
void quota_check_new_document(text *doc_id, const delta_shape *shape);

/*
 * Raises 54000 when change, applied to the head (revision head) of the
 * locked document doc_id, would make a document larger than
 * collab.max_document_bytes (unless it makes it no larger: a document over
 * a lowered limit can still be cut down).  *after is change's shape of the
 * result (delta_shape_apply): when its bound is unknown or over the limit,
 * the document is built and measured, and *after gets the exact bounds.
 * Otherwise it costs nothing.  Runs SQL with its own search_path (submit
 * has no SET clause).
 */
void quota_check_submit(glue_session *s, text *doc_id, int64 head,
						const delta *change, delta_shape *after);

#endif
