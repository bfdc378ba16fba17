/*
 * auth.h — who a WebSocket connection is, and what it may do (docs/auth.md).
 *
 * With a key configured (--auth-secret-file, --auth-public-key-file), a
 * connection is nobody until a token verifies (notifier/jwt.h): from the
 * cookie --auth-cookie on its upgrade, or an {"type":"auth","token":...}
 * message.  Until then every other message, and no token within
 * --auth-timeout-ms, closes it with AUTH_CLOSE_UNAUTHENTICATED; a token that
 * does not verify does too.  At the token's exp its rights end: unless a
 * fresh token of the same user came in-band before, the connection is
 * closed with AUTH_CLOSE_EXPIRED.  A fresh token replaces the rights, and
 * ends the subscriptions they no longer cover.
 *
 * Once authenticated, the connection's client id is USER/ID: the id of its
 * hello or the one it states (AUTH_ID_CHARS, at most AUTH_ID_MAX bytes), so
 * no one can submit or send presence under another user's id.
 *
 * Without a key (only with --insecure-no-auth, on loopback: config.c) every
 * connection may do everything under the ids it states (development only:
 * main.c says so at start and every minute, /metrics in
 * collab_notifier_auth_disabled).
 */
#ifndef COLLAB_NOTIFIER_AUTH_H
#define COLLAB_NOTIFIER_AUTH_H

#include "config.h"
#include "conn.h"
#include "jwt.h"

#include <stdbool.h>

#define AUTH_CLOSE_UNAUTHENTICATED 4001 /* no token, or a bad one */
#define AUTH_CLOSE_EXPIRED 4003 /* the token expired, none came after */
#define AUTH_ID_MAX 64			/* bytes of a client id a client states */

/*
 * Loads the keys CFG names.  Returns false after a line on stderr when a
 * key cannot be used (start-up then fails).
 */
bool auth_init(const config *cfg);
void auth_free(void);

/* Whether tokens are required (a key is configured). */
bool auth_enabled(void);

/* C has just connected: its cookie, if any, or the clock for a token. */
void auth_open(conn *c);

/* C's in-band token TOKEN[0..LEN): verifies it and applies it, or closes
 * C. */
void auth_token(conn *c, const char *token, size_t len);

/* What C may do to DOC (JWT_CREATE for everyone without a key). */
jwt_right auth_right(const conn *c, const char *doc);

/*
 * The client id C uses when it states STATED, into OUT (of OUTLEN bytes):
 * USER/STATED once authenticated.  False, with WHY, when STATED is not a
 * valid id.
 */
bool auth_client_id(const conn *c, const char *stated, char *out,
					size_t outlen, const char **why);

/*
 * The value of the --auth-cookie cookie in WSI's request (an upgrade or a
 * plain HTTP request), malloc'd, with its length in *LEN; NULL when there
 * is none.
 */
char *auth_cookie(struct lws *wsi, size_t *len);

/*
 * Verifies TOKEN[0..LEN) as a connection's token would be, now: true with
 * OUT filled (release it with jwt_claims_clear), or false with ERR (also
 * without a key).
 */
bool auth_verify(const char *token, size_t len, jwt_claims *out,
				 jwt_error *err);

/*
 * auth_verify, but a token that expired less than LAPSED_S ago verifies
 * too: for the development login to renew a guest whose cookie outlived its
 * token (devlogin.h), never to grant rights.
 */
bool auth_verify_lapsed(const char *token, size_t len, int64_t lapsed_s,
						jwt_claims *out, jwt_error *err);

/*
 * A token over PAYLOAD_JSON signed with the HS256 secret (jwt_sign_hs256),
 * malloc'd; NULL with ERR without a secret or on failure.  For the
 * development login (devlogin.h) only.
 */
char *auth_sign(const char *payload_json, jwt_error *err);

/* C is closed: its timer goes.  Its claims stay until C is freed
 * (conn_unref): a reply still in flight may ask whose it was. */
void auth_closed(conn *c);

#endif
