/*
 * wire.h — the one definition of what crosses from the database to the
 * notifier: the NOTIFY channel, the version of the payload format, the
 * longest document or client id and the largest change a payload carries
 * inline.  The extension sends by these (and reports them through
 * collab.contract()); the notifier reads by them.  Changing one changes the
 * contract: bump WIRE_VERSION, and give collab.contract() a new version.
 *
 * Plain macros, no code: both sides include it, neither depends on the
 * other.
 */
#ifndef COLLAB_WIRE_H
#define COLLAB_WIRE_H

/* the channel of every NOTIFY collab sends */
#define WIRE_CHANNEL "collab"

/* the payload format's version: a notifier refuses one it does not know */
#define WIRE_VERSION 1

/* a document or client id is 1 to this many bytes */
#define WIRE_ID_BYTES_MAX 200

/*
 * A change travels inline while its whole payload (envelope, ids and the
 * change, in bytes with the terminator) stays within this; a longer one is
 * announced without the change, which the listener fetches from the log.
 * Under NOTIFY's 8000-byte limit, with room to spare.
 */
#define WIRE_CHANGE_INLINE_MAX 7900

#endif
