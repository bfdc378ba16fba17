/*
 * wsc.c — the WebSocket client of wsc.h on libwebsockets 4.1.
 *
 * A connection's struct lives until wsc_free (or the loop's end), even after
 * its socket closed, so callers may keep reading its inbox and close code;
 * freeing an open connection closes it first and lets the close callback
 * release it.  A 10 ms timer keeps lws_service returning, since lws sleeps
 * until an event otherwise.
 */
#define _GNU_SOURCE /* vasprintf */
#include "wsc.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

typedef struct wsc_text {
	struct wsc_text *next;
	size_t len;
	char data[]; /* NUL-terminated */
} wsc_text;

struct wsc {
	wsc_loop *loop;
	wsc *prev, *next; /* in loop->conns */
	struct lws *wsi;  /* NULL once closed */
	wsc_message_fn on_message;
	void *user;
	bool open, closed, closing, free_on_close;
	int close_code;
	wsc_text *in_head, *in_tail; /* inbox */
	int in_count;
	wsc_text *out_head, *out_tail; /* to send */
	int out_count;				   /* messages in out_head..out_tail */
	char *rx;					   /* a message arriving in fragments */
	size_t rx_len, rx_cap;
};

struct wsc_loop {
	struct lws_context *ctx;
	lws_sorted_usec_list_t tick;
	wsc *conns;
};

int64_t
wsc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static wsc_text *
text_new(const char *data, size_t len)
{
	wsc_text *t = malloc(sizeof(*t) + len + 1);

	if (!t)
		return NULL;
	t->next = NULL;
	t->len = len;
	memcpy(t->data, data, len);
	t->data[len] = '\0';
	return t;
}

static void
texts_free(wsc_text *t)
{
	while (t)
	{
		wsc_text *next = t->next;

		free(t);
		t = next;
	}
}

static void
conn_release(wsc *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->loop->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	texts_free(c->in_head);
	texts_free(c->out_head);
	free(c->rx);
	free(c);
}

static void
deliver(wsc *c, const char *data, size_t len)
{
	if (c->on_message)
	{
		c->on_message(c, data, len, c->user);
		return;
	}
	{
		wsc_text *t = text_new(data, len);

		if (!t)
			return;
		if (c->in_tail)
			c->in_tail->next = t;
		else
			c->in_head = t;
		c->in_tail = t;
		c->in_count++;
	}
}

static void
mark_closed(wsc *c)
{
	c->closed = true;
	c->open = false;
	c->wsi = NULL;
	if (c->free_on_close)
		conn_release(c);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		 void *in, size_t len)
{
	wsc *c = user;

	switch (reason)
	{
		case LWS_CALLBACK_CLIENT_ESTABLISHED:
			if (c)
			{
				c->open = true;
				if (c->out_head || c->closing)
					lws_callback_on_writable(wsi);
			}
			return 0;
		case LWS_CALLBACK_CLIENT_RECEIVE:
		{
			bool last = lws_is_final_fragment(wsi) &&
						lws_remaining_packet_payload(wsi) == 0;

			if (!c)
				return 0;
			if (last && !c->rx)
			{
				/* in is not NUL-terminated: a copy, on the stack when small */
				char small[2048];
				char *copy = len < sizeof(small) ? small : malloc(len + 1);

				if (!copy)
					return -1;
				memcpy(copy, in, len);
				copy[len] = '\0';
				deliver(c, copy, len);
				if (copy != small)
					free(copy);
				return 0;
			}
			{
				if (c->rx_len + len + 1 > c->rx_cap)
				{
					/* doubling: a large message costs linear copying */
					size_t cap = c->rx_cap ? c->rx_cap : 8192;
					char *rx;

					while (cap < c->rx_len + len + 1)
						cap *= 2;
					rx = realloc(c->rx, cap);
					if (!rx)
						return -1;
					c->rx = rx;
					c->rx_cap = cap;
				}
				memcpy(c->rx + c->rx_len, in, len);
				c->rx_len += len;
				c->rx[c->rx_len] = '\0';
			}
			if (last)
			{
				char *rx = c->rx;
				size_t n = c->rx_len;

				c->rx = NULL;
				c->rx_len = 0;
				c->rx_cap = 0;
				deliver(c, rx, n);
				free(rx);
			}
			return 0;
		}
		case LWS_CALLBACK_CLIENT_WRITEABLE:
		{
			wsc_text *t;
			unsigned char *buf;
			int n;

			if (!c)
				return -1;
			if (c->closing && !c->out_head)
			{
				lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
				return -1;
			}
			t = c->out_head;
			if (!t)
				return 0;
			c->out_head = t->next;
			if (!c->out_head)
				c->out_tail = NULL;
			c->out_count--;
			buf = malloc(LWS_PRE + t->len);
			if (!buf)
				return -1;
			memcpy(buf + LWS_PRE, t->data, t->len);
			n = lws_write(wsi, buf + LWS_PRE, t->len, LWS_WRITE_TEXT);
			free(buf);
			free(t);
			if (n < 0)
				return -1;
			if (c->out_head || c->closing)
				lws_callback_on_writable(wsi);
			return 0;
		}
		case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
			if (c && len >= 2)
			{
				const unsigned char *p = in;

				c->close_code = p[0] << 8 | p[1];
			}
			return 0;
		case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		case LWS_CALLBACK_CLIENT_CLOSED:
			if (c && !c->closed)
				mark_closed(c);
			return 0;
		default:
			return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{"wsc", callback, 0, 4096, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void
tick(lws_sorted_usec_list_t *sul)
{
	wsc_loop *l = lws_container_of(sul, wsc_loop, tick);

	lws_sul_schedule(l->ctx, 0, sul, tick, 10 * LWS_US_PER_MS);
}

wsc_loop *
wsc_loop_new(int max_conns)
{
	struct lws_context_creation_info info;
	struct rlimit rl;
	wsc_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned) max_conns + 64;
	l->ctx = lws_create_context(&info);
	if (!l->ctx)
	{
		free(l);
		return NULL;
	}
	tick(&l->tick);
	return l;
}

void
wsc_loop_free(wsc_loop *l)
{
	if (!l)
		return;
	lws_sul_cancel(&l->tick);
	for (wsc *c = l->conns; c; c = c->next)
		c->free_on_close = false; /* released below, not from callbacks */
	lws_context_destroy(l->ctx);
	while (l->conns)
		conn_release(l->conns);
	free(l);
}

wsc *
wsc_connect(wsc_loop *l, const char *host, int port, wsc_message_fn on_message,
			void *user)
{
	struct lws_client_connect_info info;
	wsc *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = l;
	c->on_message = on_message;
	c->user = user;
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	memset(&info, 0, sizeof(info));
	info.context = l->ctx;
	info.address = host;
	info.port = port;
	info.path = "/ws";
	info.host = host;
	info.origin = host;
	info.local_protocol_name = "wsc";
	info.userdata = c;
	info.pwsi = &c->wsi;
	if (!lws_client_connect_via_info(&info) && !c->closed)
	{
		/* lws may have reported the failure through the callback already */
		c->closed = true;
		c->wsi = NULL;
	}
	return c;
}

bool
wsc_send(wsc *c, const char *text)
{
	wsc_text *t;

	if (c->closed || c->closing)
		return false;
	t = text_new(text, strlen(text));
	if (!t)
		return false;
	if (c->out_tail)
		c->out_tail->next = t;
	else
		c->out_head = t;
	c->out_tail = t;
	c->out_count++;
	if (c->open)
		lws_callback_on_writable(c->wsi);
	return true;
}

bool
wsc_sendf(wsc *c, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;
	bool ok;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	ok = wsc_send(c, text);
	free(text);
	return ok;
}

void
wsc_close(wsc *c)
{
	if (c->closed || c->closing)
		return;
	c->closing = true;
	if (c->open)
		lws_callback_on_writable(c->wsi);
}

void
wsc_drop(wsc *c)
{
	if (c->closed || !c->wsi)
		return;
	shutdown(lws_get_socket_fd(c->wsi), SHUT_RDWR);
	/* lws notices at its next poll and reports the close */
}

bool
wsc_is_open(const wsc *c)
{
	return c->open && !c->closed;
}

bool
wsc_is_closed(const wsc *c)
{
	return c->closed;
}

int
wsc_close_code(const wsc *c)
{
	return c->close_code;
}

void *
wsc_user(const wsc *c)
{
	return c->user;
}

int
wsc_pending(const wsc *c)
{
	return c->in_count;
}

int
wsc_unsent(const wsc *c)
{
	return c->out_count;
}

void
wsc_service(wsc_loop *l)
{
	lws_service(l->ctx, 0);
}

char *
wsc_next(wsc *c, int timeout_ms)
{
	int64_t deadline = wsc_now_us() + (int64_t) timeout_ms * 1000;

	while (!c->in_head && !c->closed && wsc_now_us() < deadline)
		lws_service(c->loop->ctx, 0);
	if (!c->in_head)
		return NULL;
	{
		wsc_text *t = c->in_head;
		char *text = malloc(t->len + 1);

		c->in_head = t->next;
		if (!c->in_head)
			c->in_tail = NULL;
		c->in_count--;
		if (text)
			memcpy(text, t->data, t->len + 1);
		free(t);
		return text;
	}
}

void
wsc_free(wsc *c)
{
	if (!c)
		return;
	if (c->closed || !c->wsi)
	{
		conn_release(c);
		return;
	}
	c->free_on_close = true;
	c->on_message = NULL;
	texts_free(c->in_head);
	c->in_head = c->in_tail = NULL;
	c->in_count = 0;
	if (c->open)
		wsc_close(c);
	else
		wsc_drop(c);
}

bool
wsc_run_until(wsc_loop *l, bool (*done)(void *arg), void *arg, int timeout_ms)
{
	int64_t deadline = wsc_now_us() + (int64_t) timeout_ms * 1000;

	while (!done(arg))
	{
		if (wsc_now_us() >= deadline)
			return false;
		lws_service(l->ctx, 0);
	}
	return true;
}
