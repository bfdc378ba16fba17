/*
 * listen.h — what the LISTEN connection hears on channel collab: committed
 * changes, presence, deletions, and the database's word that it dropped
 * some (payloads: docs/documents.md).
 *
 * A notification only ever adds to what the documents know (a revision,
 * a revision to fetch, a presence to pass on, a deletion); anything not
 * understood is logged and ignored.  Documents nobody here follows are
 * ignored.
 */
#ifndef COLLAB_NOTIFIER_LISTEN_H
#define COLLAB_NOTIFIER_LISTEN_H

/* A payload on channel collab. */
void listen_notify(const char *payload);

/* LISTEN is (again) in place: whatever was announced meanwhile is in the
 * log, so every followed document fetches what it may have missed. */
void listen_ready(void);

#endif
