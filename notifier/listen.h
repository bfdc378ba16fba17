/*
 * listen.h — what the LISTEN connection hears on channel collab: committed
 * changes, presence, deletions, and the database's word that it dropped
 * some (payloads: docs/documents.md).
 *
 * A notification only ever adds to what the documents know (a revision,
 * a revision to fetch, a presence to pass on, a deletion); anything not
 * understood is logged and ignored.  Documents nobody here follows are
 * ignored.
 *
 * Anyone who can log into the database can NOTIFY on the channel.  Given
 * --notify-key-file, the notifier believes only payloads sealed with that
 * key (core/wire.h: HMAC-SHA256 by the extension, collab.notify_key):
 * anything else is counted (collab_notifier_notifications_rejected_total),
 * logged, and changes nothing.  Without a key every payload is believed,
 * its seal (if any) unchecked.
 */
#ifndef COLLAB_NOTIFIER_LISTEN_H
#define COLLAB_NOTIFIER_LISTEN_H

/* The key payloads must be sealed with (NULL: none); called before any
 * notification. */
void listen_init(const char *key);

/* A payload on channel collab. */
void listen_notify(const char *payload);

/* LISTEN is (again) in place: whatever was announced meanwhile is in the
 * log, so every followed document fetches what it may have missed. */
void listen_ready(void);

#endif
