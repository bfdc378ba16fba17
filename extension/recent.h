/*
 * recent.h — the changes of the document a batch is writing, parsed once
 * (recent.c).
 *
 * A submit made against an older revision is transformed against every
 * change after it.  On a hot document the submits of one batch are each
 * a batch or two behind: read from the log and parsed for each submit,
 * the same few dozen changes were parsed again and again, O(submits^2)
 * per batch (docs/speed.md, "The hot document").  submit_batch keeps them
 * here instead, for the length of its statement: what it read from the
 * log and what its own submits stored.
 *
 * Invariants: the changes held are those of one document (its id and its
 * created_at, so a document deleted and made again is another), at
 * consecutive revisions first .. first + count - 1, each as it stands in
 * the log, committed or written by this transaction.  Whoever holds one
 * forgets everything when a submit of theirs fails: its subtransaction
 * rolled back whatever it added, and released the document's lock, so the
 * revisions after the last held may be another writer's.
 */
#ifndef COLLAB_RECENT_H
#define COLLAB_RECENT_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "delta.h"

typedef struct recent_changes recent_changes;

/* An empty set, in a memory context of its own under the current one. */
recent_changes *recent_create(void);

/*
 * Whether revisions from .. to (inclusive; none when from > to) of the
 * document (doc_id, created) are all held.
 */
bool recent_covers(const recent_changes *r, text *doc_id, TimestampTz created,
				   int64 from, int64 to);

/*
 * Revision rev of the document last added, parsed (the first time it is
 * asked for, into the set's memory), or NULL when not held.
 */
const delta *recent_get(recent_changes *r, int64 rev);

/*
 * Holds change (a jsonb, copied) as revision rev of the document (doc_id,
 * created).  A revision that does not follow the last one held of that
 * document starts the set again from it.
 */
void recent_add(recent_changes *r, text *doc_id, TimestampTz created,
				int64 rev, Jsonb *change);

/* Forgets every change held. */
void recent_forget(recent_changes *r);

#endif
