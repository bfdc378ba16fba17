/*
 * http.h — the notifier's plain HTTP: GET (and HEAD) /healthz and /metrics,
 * the --static directory at /, 404 for anything else, and the answers that
 * refuse a WebSocket upgrade; /dev-login goes to devlogin.c when
 * --dev-login is on.
 *
 * Every response carries the headers http_headers() lists: a strict
 * Content-Security-Policy (only this origin's scripts, styles, images and
 * WebSocket; no framing, plugins or <base>), X-Content-Type-Options:
 * nosniff and Referrer-Policy: no-referrer.  They are the vhost's headers
 * (info.headers), which lws adds to every status line it writes,
 * lws_add_http_header_status: ours, a file's and its own refusals alike,
 * so no response can leave without them.
 *
 * Static files: a request is answered with a file only when the path's real
 * path (symlinks and ".." resolved, at each request) is a regular file
 * under the root's real path, and its name has a known type.  Anything else
 * is 404: a symlink that leads out of the root, a directory, a device, an
 * untyped name.  Symlinks that stay inside the root are followed.  "/" and
 * any path ending in "/" mean its index.html.
 */
#ifndef COLLAB_NOTIFIER_HTTP_H
#define COLLAB_NOTIFIER_HTTP_H

#include "config.h"

#include <libwebsockets.h>

/*
 * Resolves CFG's --static root (kept for the life of the process); 0, or -1
 * after logging why (no such directory: a start-up error).
 */
int http_init(const config *cfg);

/* The headers every response carries, for info.headers. */
const struct lws_protocol_vhost_options *http_headers(void);

/*
 * Answers an HTTP request for URI (LWS_CALLBACK_HTTP's in: the path,
 * decoded, without the query).  Returns the callback's result: -1 closes
 * the connection.
 */
int http_serve(struct lws *wsi, const char *uri);

/*
 * Refuses a WebSocket upgrade with STATUS and a one-line WHY as its body,
 * from LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION, whose caller then returns
 * nonzero and lws closes the connection after the answer.
 */
void http_refuse(struct lws *wsi, unsigned status, const char *why);

#endif
