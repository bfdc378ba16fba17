/*
 * quota.h — the quotas kept across connections (docs/auth.md, "Quotas"):
 * WebSocket connections per address (--max-clients-per-address) and
 * document creations per user a minute (--creates-per-minute).
 *
 * An address is a client's peer address as text: IPv4 as a.b.c.d (also
 * when it comes IPv4-mapped), IPv6 as its /64 ("2001:db8:1:2::/64"): one
 * site gets a whole /64, and counting its single addresses would give one
 * abuser 2^64 quotas.
 *
 * Both tables are bounded by what is live: an address leaves its table
 * when its last connection closes; a creator's bucket leaves when it has
 * filled up again (swept once a minute), for then it is as good as new.
 * Single-threaded: the lws event loop.
 */
#ifndef COLLAB_NOTIFIER_QUOTA_H
#define COLLAB_NOTIFIER_QUOTA_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

/* Room for an address text and its NUL (INET6_ADDRSTRLEN, then "/64"). */
#define QUOTA_ADDR_MAX 52

/* WSI's peer address (see above) into OUT; "unknown" when it cannot be
 * read. */
void quota_address(struct lws *wsi, char out[QUOTA_ADDR_MAX]);

/* Whether ADDR may open another WebSocket connection. */
bool quota_connect_ok(const char *addr);

/* A connection from ADDR opened, or closed; false (nothing counted) when
 * out of memory. */
bool quota_connected(const char *addr);
void quota_disconnected(const char *addr);

/* Addresses with connections open (a gauge for /metrics). */
size_t quota_addresses(void);

/*
 * Takes one creation from WHO's bucket (a user, or an address: the caller
 * keeps the two apart by a prefix); false when it is empty, or when out
 * of memory.  quota_create_refund gives one back (the document existed,
 * or the creation failed: nothing was created).
 */
bool quota_create_take(const char *who);
void quota_create_refund(const char *who);

/* Frees both tables (at exit, for the leak checker). */
void quota_clear(void);

#endif
