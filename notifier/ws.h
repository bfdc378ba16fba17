/*
 * ws.h — the HTTP and WebSocket side of the notifier: the lws protocol
 * callback for /ws (plain HTTP requests handed to http.c), and the context
 * that serves them.
 */
#ifndef COLLAB_NOTIFIER_WS_H
#define COLLAB_NOTIFIER_WS_H

#include "config.h"

#include <libwebsockets.h>

/* Creates the lws context listening as CFG says; NULL after logging why. */
struct lws_context *ws_create_context(const config *cfg);

#endif
