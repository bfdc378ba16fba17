/*
 * ws.c — the lws protocol callback: WebSocket clients at /ws (their frames
 * assembled into messages and handed to requests.c; conn.c writes only
 * when writable, its queue's messages batched), and the context.  Plain HTTP
 * requests (/healthz, /metrics, the --static files) go to http.c, and so
 * do refused upgrades' answers.
 */
#include "ws.h"

#include "conn.h"
#include "devlogin.h"
#include "fanout.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pg.h"
#include "quota.h"
#include "requests.h"

#include <stdlib.h>
#include <string.h>

#define WS_PATH "/ws"
/*
 * Bytes lws reads from a connection per loop turn, into a buffer of this
 * size (+ LWS_PRE) that every WebSocket keeps for its whole life (lws
 * 4.1.6, lws_server_init_wsi_for_ws): most connections are idle, so it is
 * small; a bigger message spans many reads, joined by receive().  2048
 * before: 1.5 KB more per connection (docs/notifier.md, "Idle connections").
 */
#define WS_RX_BUFFER 512

typedef struct pss {
	conn *c;
	char *buf; /* a message arriving in several fragments */
	size_t len, cap;
} pss;

static const config *ws_cfg;

/* Whether ORIGIN is in the comma-separated --allowed-origins. */
static bool
origin_allowed(const char *origin)
{
	const char *list = ws_cfg->allowed_origins;
	size_t n = strlen(origin);

	if (!list || !*list)
		return true;
	while (*list)
	{
		size_t item = strcspn(list, ",");

		if (item == n && strncmp(list, origin, n) == 0)
			return true;
		list += item;
		if (*list == ',')
			list++;
	}
	return false;
}

/* Whether to take an upgrade; a refusal is answered with an HTTP status
 * (http.c), then the connection closes. */
static int
filter_connection(struct lws *wsi)
{
	char uri[64], origin[256], addr[QUOTA_ADDR_MAX];

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
		strcmp(uri, WS_PATH) != 0)
	{
		http_refuse(wsi, 404, "not found");
		return -1;
	}
	if (!fanout_accepting())
	{
		log_msg(LOG_WARN, "ws: refused a connection: %s",
				fanout_accepting() ? "" : "shutting down or at --max-clients");
		http_refuse(wsi, 503, "not accepting connections");
		return -1;
	}
	quota_address(wsi, addr);
	if (!quota_connect_ok(addr))
	{
		/* counted, not logged one by one: a flood would flood the log */
		metrics.refused_per_address++;
		http_refuse(wsi, 429, "too many connections from this address");
		return -1;
	}
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
		origin[0] = '\0';
	if (!origin_allowed(origin))
	{
		metrics.origins_refused++;
		log_msg(LOG_WARN, "ws: refused Origin \"%s\"", origin);
		http_refuse(wsi, 403, "Origin not allowed");
		return -1;
	}
	return 0;
}

static int
receive(struct lws *wsi, pss *p, const char *in, size_t len)
{
	bool last =
		lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;

	if (lws_frame_is_binary(wsi))
	{
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
						 (unsigned char *) "text frames only", 16);
		return -1;
	}
	if (p->len + len > (size_t) ws_cfg->max_message_bytes)
	{
		log_msg(LOG_WARN, "ws: closing a client: message over %ld bytes",
				ws_cfg->max_message_bytes);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
						 (unsigned char *) "message too big", 15);
		return -1;
	}
	if (last && p->len == 0)
	{
		requests_message(p->c, in, len);
		return 0;
	}
	if (p->len + len > p->cap)
	{
		size_t cap = p->cap ? p->cap : 4096;
		char *buf;

		while (cap < p->len + len)
			cap *= 2;
		buf = realloc(p->buf, cap);
		if (!buf)
			return -1;
		p->buf = buf;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, in, len);
	p->len += len;
	if (last)
	{
		requests_message(p->c, p->buf, p->len);
		free(p->buf);
		p->buf = NULL;
		p->len = p->cap = 0;
	}
	return 0;
}

static int
callback_collab(struct lws *wsi, enum lws_callback_reasons reason, void *user,
				void *in, size_t len)
{
	pss *p = user;

	switch (reason)
	{
		case LWS_CALLBACK_HTTP:
			return http_serve(wsi, in);
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
			return filter_connection(wsi);
		case LWS_CALLBACK_ESTABLISHED:
			p->c = conn_open(wsi);
			if (!p->c)
				return -1;
			return 0;
		case LWS_CALLBACK_RECEIVE:
			if (!p->c)
				return -1;
			return receive(wsi, p, in, len);
		case LWS_CALLBACK_SERVER_WRITEABLE:
			if (!p->c)
				return -1;
			return conn_writable(p->c);
		case LWS_CALLBACK_CLOSED:
			if (p->c)
				conn_closed(p->c);
			p->c = NULL;
			free(p->buf);
			p->buf = NULL;
			return 0;
		default:
			return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{"collab", callback_collab, sizeof(pss), WS_RX_BUFFER, 0, NULL, 0},
	{"collab-pg", pg_lws_callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 30,
	.secs_since_valid_hangup = 70,
};

struct lws_context *
ws_create_context(const config *cfg)
{
	struct lws_context_creation_info info;
	struct lws_context *context;

	ws_cfg = cfg;
	devlogin_init(cfg);
	if (http_init(cfg) != 0)
		return NULL;

	/*
	 * No mounts: every HTTP request comes to the callback (http_serve),
	 * which judges static paths itself; lws's file mounts would follow a
	 * symlink anywhere.
	 */
	memset(&info, 0, sizeof(info));
	info.port = cfg->listen_port;
	info.iface = cfg->listen_host;
	info.protocols = protocols;
	info.headers = http_headers();
	info.vhost_name = "default";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	/* ping clients idle for 30 s; hang up on those silent for 70 s */
	info.retry_and_idle_policy = &idle_policy;
	info.timeout_secs = 20;
	loop_lend(&info); /* --event-loop: lws's own, or libev's */
	context = lws_create_context(&info);
	if (!context)
		log_msg(LOG_ERROR, "ws: cannot listen on %s:%d", cfg->listen_host,
				cfg->listen_port);
	return context;
}
