/*
 * ws.c — the lws protocol callback: WebSocket clients at /ws (their frames
 * assembled into messages and handed to requests.c; conn.c writes only
 * when writable, one message per callback), GET /healthz (200 while the
 * database is reachable, else 503) and GET /metrics (Prometheus), both
 * uncacheable. The --static directory is an lws file mount at /.
 */
#include "ws.h"

#include "conn.h"
#include "fanout.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "requests.h"

#include <stdlib.h>
#include <string.h>

#define WS_PATH "/ws"
#define WS_RX_BUFFER \
	2048 /* bytes lws reads per callback; messages span many */

typedef struct pss {
	conn *c;
	char *buf; /* a message arriving in several fragments */
	size_t len, cap;
} pss;

static const config *ws_cfg;

static int
http_reply(struct lws *wsi, unsigned status, const char *body)
{
	size_t len = strlen(body);
	size_t size = LWS_PRE + 1024 + len;
	unsigned char *buf = malloc(size);
	unsigned char *start, *p, *end;
	int rc = -1;

	if (!buf)
		return -1;
	start = p = buf + LWS_PRE;
	end = buf + size - len - 1;
	if (!lws_add_http_common_headers(wsi, status, "text/plain; charset=utf-8",
									 len, &p, end) &&
		!lws_add_http_header_by_name(wsi,
									 (const unsigned char *) "cache-control:",
									 (const unsigned char *) "no-store", 8, &p,
									 end) &&
		!lws_finalize_write_http_header(wsi, start, &p, end))
	{
		/* the body is bytes on the wire, not a C string: no terminator */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(buf + LWS_PRE, body, len);
		if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) ==
			(int) len)
			rc = lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	free(buf);
	return rc;
}

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

static int
filter_connection(struct lws *wsi)
{
	char uri[64], origin[256];

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
		strcmp(uri, WS_PATH) != 0)
		return -1;
	if (!fanout_accepting())
	{
		log_msg(LOG_WARN, "ws: refused a connection: %s",
				fanout_accepting() ? "" : "shutting down or at --max-clients");
		return -1;
	}
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
		origin[0] = '\0';
	if (!origin_allowed(origin))
	{
		log_msg(LOG_WARN, "ws: refused Origin \"%s\"", origin);
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
		{
			char uri[64];

			if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0)
				uri[0] = '\0';
			if (strcmp(uri, "/healthz") == 0)
			{
				const char *why;
				char body[128];

				if (pg_healthy(&why))
					return http_reply(wsi, 200, "ok\n");
				snprintf(body, sizeof(body), "%s\n", why);
				return http_reply(wsi, 503, body);
			}
			if (strcmp(uri, "/metrics") == 0)
			{
				char body[8192];

				metrics_render(body, sizeof(body));
				return http_reply(wsi, 200, body);
			}
			return http_reply(wsi, 404, "not found\n");
		}
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

static struct lws_http_mount mount_static, mount_health, mount_metrics,
	mount_ws;

static void
mount_callback(struct lws_http_mount *m, const char *path,
			   const struct lws_http_mount *next)
{
	memset(m, 0, sizeof(*m));
	m->mount_next = next;
	m->mountpoint = path;
	m->mountpoint_len = (unsigned char) strlen(path);
	m->origin = "collab";
	m->origin_protocol = LWSMPRO_CALLBACK;
}

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 30,
	.secs_since_valid_hangup = 70,
};

struct lws_context *
ws_create_context(const config *cfg)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	const struct lws_http_mount *mounts = NULL;

	ws_cfg = cfg;
	if (cfg->static_dir)
	{
		memset(&mount_static, 0, sizeof(mount_static));
		mount_static.mountpoint = "/";
		mount_static.mountpoint_len = 1;
		mount_static.origin = cfg->static_dir;
		mount_static.def = "index.html";
		mount_static.origin_protocol = LWSMPRO_FILE;
		mount_callback(&mount_ws, WS_PATH, &mount_static);
		mount_callback(&mount_metrics, "/metrics", &mount_ws);
		mount_callback(&mount_health, "/healthz", &mount_metrics);
		mounts = &mount_health;
	}

	memset(&info, 0, sizeof(info));
	info.port = cfg->listen_port;
	info.iface = cfg->listen_host;
	info.protocols = protocols;
	info.mounts = mounts;
	info.vhost_name = "default";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	/* ping clients idle for 30 s; hang up on those silent for 70 s */
	info.retry_and_idle_policy = &idle_policy;
	info.timeout_secs = 20;
	context = lws_create_context(&info);
	if (!context)
		log_msg(LOG_ERROR, "ws: cannot listen on %s:%d", cfg->listen_host,
				cfg->listen_port);
	return context;
}
