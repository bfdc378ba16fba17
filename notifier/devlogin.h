/*
 * devlogin.h — the development login (--dev-login, docs/auth.md): a way for
 * the demo on this machine to run the real authenticated path (a signed
 * token in an HttpOnly cookie) without an identity provider.
 *
 *   GET /dev-login?next=/PATH   signs in a guest (sub "guest-" and 16 hex
 *                               digits, rights {"create":["*"]}) and answers
 *                               303 to PATH, or to / when PATH is not a path
 *                               on this origin;
 *   POST /dev-login             the same for a script (the demo's
 *                               renewCookie): answers {"user":SUB,
 *                               "exp":EXP,"renewed":BOOL}.
 *
 * Either renews the guest of the request's cookie when it holds a token
 * that verifies now (signature and exp, as on a connection) and whose sub
 * is a guest's, so that a second tab, or a renewal, stays the same user;
 * otherwise (no cookie, an expired one, another user's token, whose rights
 * are not ours to widen) it signs in a new guest.
 *
 * Both set the --auth-cookie cookie to an HS256 token (aud --auth-audience,
 * iss --auth-issuer when set, exp now + min(--auth-max-token-s, 3600)):
 * HttpOnly (scripts never hold it), SameSite=Strict (no other site's page
 * sends it), Path=/, Max-Age until exp, and Secure only over TLS: on plain
 * http://127.0.0.1 a Secure cookie would never be sent back, and the
 * loopback link it travels is not the network Secure protects against.
 *
 * Fences: config.c refuses --dev-login unless --listen is loopback and an
 * HS256 secret is configured; each request must come from a loopback peer
 * (403); a POST that carries an Origin must come from this origin (403), so
 * another site's page cannot renew or replace the login.  Every login is
 * logged (escaped, as every log line) and counted (metrics.dev_logins).
 */
#ifndef COLLAB_NOTIFIER_DEVLOGIN_H
#define COLLAB_NOTIFIER_DEVLOGIN_H

#include "config.h"

#include <libwebsockets.h>
#include <stdbool.h>

#define DEVLOGIN_PATH "/dev-login"
#define DEVLOGIN_TOKEN_S 3600 /* longest life of a guest's token, seconds */
/* how long the cookie outlives its token: a guest who comes back within it
 * (a laptop woken up) is renewed as the same guest */
#define DEVLOGIN_LAPSED_S ((int64_t) 7 * 24 * 3600)
#define DEVLOGIN_NEXT_MAX 1024 /* bytes of a next path */

/* Remembers CFG (kept for the life of the process). */
void devlogin_init(const config *cfg);

/* Whether URI is served by devlogin_serve (--dev-login is on). */
bool devlogin_wanted(const char *uri);

/*
 * Answers the HTTP request on WSI for DEVLOGIN_PATH (see the top).  Returns
 * the callback's result: -1 closes the connection.
 */
int devlogin_serve(struct lws *wsi);

/*
 * Whether NEXT (decoded) is a path on this origin a redirect may go to: it
 * starts with one "/" (not "//", not "/\"), holds no backslash and no
 * control character, and is at most DEVLOGIN_NEXT_MAX bytes.
 */
bool devlogin_local_path(const char *next);

#endif
