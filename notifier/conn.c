/*
 * conn.c — one WebSocket client, its queue and back-pressure (see conn.h).
 */
#include "conn.h"

#include "auth.h"

#include "fanout.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "stream.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	conn *open; /* open connections */
	int count;
	uint64_t next_id;
} conns;

/* Asserts the ring's invariants: a walk of it, so in a checked build only
 * (COLLAB_CHECKED, as the tests build it). */
static void
queue_check(const conn *c)
{
#ifdef COLLAB_CHECKED
	size_t bytes = 0;

	assert(c->q_len <= c->q_cap);
	assert(c->q_cap == 0 || c->q_head < c->q_cap);
	for (unsigned i = 0; i < c->q_len; i++)
	{
		const msg *m = c->q[(c->q_head + i) % c->q_cap];

		assert(m && m->refs > 0);
		bytes += m->len;
	}
	assert(bytes == c->q_bytes);
#else
	(void) c;
#endif
}

conn *
conn_ref(conn *c)
{
	assert(c->refs > 0);
	c->refs++;
	return c;
}

void
conn_unref(conn *c)
{
	assert(c->refs > 0);
	if (--c->refs > 0)
		return;
	assert(!c->wsi && c->q_len == 0 && !c->subs);
	free(c->q);
	free(c->client);
	jwt_claims_clear(&c->claims);
	free(c);
}

bool
conn_live(const conn *c)
{
	return c->wsi && !c->close_code;
}

void
conn_close(conn *c, int code, const char *reason)
{
	if (!conn_live(c))
		return;
	c->close_code = code;
	c->close_reason = reason;
	lws_callback_on_writable(c->wsi);
}

bool
conn_set_client(conn *c, const char *id)
{
	char *copy = strdup(id);

	assert(strlen(id) <= WIRE_ID_BYTES_MAX);
	if (!copy)
		return false;
	free(c->client);
	c->client = copy;
	return true;
}

static void
close_slow(conn *c, const char *why)
{
	metrics.slow_closes++;
	log_msg(LOG_WARN,
			"conn: closing client %" PRIu64
			": reads too slowly (%u messages, %zu bytes queued%s)",
			c->id, c->q_len, c->q_bytes, why);
	conn_close(c, 1013, "too slow: resume");
}

void
conn_send(conn *c, msg *m)
{
	const config *cfg = fanout_cfg;

	if (!m)
	{
		log_msg(LOG_ERROR, "conn: out of memory encoding a message");
		conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
		return;
	}
	if (!conn_live(c))
	{
		msg_unref(m);
		return;
	}
	if (c->q_len >= (unsigned) cfg->max_queue ||
		c->q_bytes + m->len > (size_t) cfg->max_queue_bytes)
	{
		msg_unref(m);
		close_slow(c, "");
		return;
	}
	if (c->q_len == c->q_cap)
	{
		unsigned cap = c->q_cap ? c->q_cap * 2 : 4;
		msg **q = malloc(cap * sizeof(msg *));

		if (!q)
		{
			msg_unref(m);
			conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					   "out of memory");
			return;
		}
		for (unsigned i = 0; i < c->q_len; i++)
			q[i] = c->q[(c->q_head + i) % c->q_cap];
		free(c->q);
		c->q = q;
		c->q_cap = cap;
		c->q_head = 0;
	}
	c->q[(c->q_head + c->q_len) % c->q_cap] = m;
	c->q_len++;
	c->q_bytes += m->len;
	queue_check(c);
	if (c->q_len == 1)
		lws_callback_on_writable(c->wsi);
}

void
conn_error(conn *c, const char *code, const char *message, const char *doc,
		   int64_t seq, const char *id_json)
{
	conn_send(c, proto_error(code, message, doc, seq, id_json));
}

static void
slow_cb(lws_sorted_usec_list_t *sul)
{
	conn *c = lws_container_of(sul, conn, slow_sul);
	char why[48];

	if (!c->blocked || !conn_live(c))
		return;
	snprintf(why, sizeof(why), " for %d ms", fanout_cfg->slow_ms);
	close_slow(c, why);
}

bool
conn_room(conn *c)
{
	const config *cfg = fanout_cfg;

	if (c->q_len < (unsigned) cfg->max_queue / 2 &&
		c->q_bytes < (size_t) cfg->max_queue_bytes / 2)
		return true;
	if (!c->blocked)
	{
		c->blocked = true;
		lws_sul_schedule(fanout_context, 0, &c->slow_sul, slow_cb,
						 (lws_usec_t) cfg->slow_ms * LWS_US_PER_MS);
	}
	return false;
}

conn_rate
conn_rate_take(conn *c, size_t len)
{
	const config *cfg = fanout_cfg;
	lws_usec_t now = lws_now_usecs();
	double elapsed_s = (double) (now - c->refilled) / 1e6;

	c->tokens += elapsed_s * cfg->rate;
	if (c->tokens > cfg->burst)
		c->tokens = cfg->burst;
	c->byte_tokens += elapsed_s * (double) cfg->byte_rate;
	if (c->byte_tokens > (double) cfg->byte_burst)
		c->byte_tokens = (double) cfg->byte_burst;
	c->refilled = now;
	if (c->tokens < 1)
		return CONN_RATE_MESSAGES;
	if (c->byte_tokens < (double) len)
		return CONN_RATE_BYTES;
	c->tokens -= 1;
	c->byte_tokens -= (double) len;
	return CONN_RATE_OK;
}

/*
 * Writing: the queue's head goes out on each writable callback, several
 * messages in one write when several wait.  A lone message goes with
 * lws_write from its shared buffer: lws puts the frame header in the
 * LWS_PRE bytes before it, the same bytes for every recipient (a server
 * does not mask, and no extension is offered), so one buffer serves them
 * all.  Several go as their frames, made here, one after the other in one
 * batch buffer, written raw (LWS_WRITE_RAW): one system call for all of
 * them.  A frame is never split between writes, so lws's own frames (ping,
 * close) stay between whole ones.  What the socket does not take lws keeps
 * (its buflist_out: the bytes are copied, so the buffers are ours again as
 * soon as lws_write returns) and sends before anything else at the next
 * writable event; lws_send_pipe_choked says so, and we write no more until
 * the callback after that.
 */
#define WRITE_BATCH_BYTES (64 * 1024) /* at most in one write */
#define WRITE_CALLBACK_BYTES \
	(4 * WRITE_BATCH_BYTES) /* at most per callback: the others' turn */
#define FRAME_HEADER_MAX 10 /* bytes: 0x81, 127, a 64-bit length */

/* the frames of one write of several messages (single-threaded) */
static unsigned char batch[WRITE_BATCH_BYTES];

/* A final text frame's header for LEN bytes into H; returns its length. */
static size_t
frame_header(unsigned char *h, size_t len)
{
	h[0] = 0x81; /* FIN, text */
	if (len < 126)
	{
		h[1] = (unsigned char) len;
		return 2;
	}
	if (len < 65536)
	{
		h[1] = 126;
		h[2] = (unsigned char) (len >> 8);
		h[3] = (unsigned char) len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char) ((uint64_t) len >> (56 - 8 * i));
	return 10;
}

/* Takes the queue's head off; the caller owns the reference. */
static msg *
queue_pop(conn *c)
{
	msg *m = c->q[c->q_head];

	c->q_head = (c->q_head + 1) % c->q_cap;
	c->q_len--;
	c->q_bytes -= m->len;
	metrics.messages_out++;
	metrics.bytes_out += m->len;
	return m;
}

/*
 * Writes the queue's head: one message, or as many as fit in a batch.
 * Returns the bytes handed to lws, or -1 when the connection failed.
 */
static long
write_some(conn *c)
{
	msg *m = c->q[c->q_head];
	size_t used = 0, len = m->len;
	long n;

	if (c->q_len == 1 ||
		FRAME_HEADER_MAX * 2 + len + c->q[(c->q_head + 1) % c->q_cap]->len >
			WRITE_BATCH_BYTES)
	{
		/* one message: from its shared buffer */
		m = queue_pop(c);
		n = lws_write(c->wsi, m->data + LWS_PRE, len, LWS_WRITE_TEXT);
		msg_unref(m);
		metrics.writes++;
		return n < 0 ? -1 : (long) len;
	}
	while (c->q_len > 0 &&
		   used + FRAME_HEADER_MAX + c->q[c->q_head]->len <= WRITE_BATCH_BYTES)
	{
		m = queue_pop(c);
		used += frame_header(batch + used, m->len);
		memcpy(batch + used, m->data + LWS_PRE, m->len);
		used += m->len;
		msg_unref(m);
	}
	metrics.writes++;
	n = lws_write(c->wsi, batch, used, LWS_WRITE_RAW);
	return n < 0 ? -1 : (long) used;
}

int
conn_writable(conn *c)
{
	const config *cfg = fanout_cfg;
	size_t written = 0;

	/* the queue goes out first, unless the close is about the queue */
	if (c->close_code &&
		(c->q_len == 0 || c->close_code == 1013 ||
		 c->close_code == LWS_CLOSE_STATUS_UNEXPECTED_CONDITION))
	{
		lws_close_reason(c->wsi, (enum lws_close_status) c->close_code,
						 (unsigned char *) c->close_reason,
						 strlen(c->close_reason));
		return -1;
	}
	while (c->q_len > 0)
	{
		long n = write_some(c);

		queue_check(c);
		if (n < 0)
			return -1;
		written += (size_t) n;
		/* lws_send_pipe_choked polls the socket: only when more waits */
		if (c->q_len == 0 || written >= WRITE_CALLBACK_BYTES ||
			lws_send_pipe_choked(c->wsi))
			break;
	}
	if (c->blocked && c->q_len <= (unsigned) cfg->max_queue / 4 &&
		c->q_bytes <= (size_t) cfg->max_queue_bytes / 4)
	{
		/* drained: its streams go on where they stopped */
		c->blocked = false;
		lws_sul_cancel(&c->slow_sul);
		stream_resume(c);
	}
	if (c->q_len > 0 || c->close_code)
		lws_callback_on_writable(c->wsi);
	else
	{
		/* an idle connection keeps no queue: it is most of them */
		free(c->q);
		c->q = NULL;
		c->q_cap = 0;
		c->q_head = 0;
	}
	return 0;
}

conn *
conn_open(struct lws *wsi)
{
	static const char alphabet[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[20];
	char id[sizeof(rnd) + 1];
	conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (lws_get_random(fanout_context, rnd, sizeof(rnd)) != sizeof(rnd))
	{
		free(c);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		id[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	id[sizeof(rnd)] = '\0';
	if (!conn_set_client(c, id))
	{
		free(c);
		return NULL;
	}
	c->wsi = wsi;
	c->refs = 1;
	c->id = ++conns.next_id;
	quota_address(wsi, c->addr);
	c->addr_counted = quota_connected(c->addr);
	c->tokens = fanout_cfg->burst;
	c->byte_tokens = (double) fanout_cfg->byte_burst;
	c->refilled = lws_now_usecs();
	c->next = conns.open;
	if (conns.open)
		conns.open->prev = c;
	conns.open = c;
	conns.count++;
	metrics.connections_total++;
	log_msg(LOG_INFO, "conn: client %" PRIu64 " connected from %s", c->id,
			c->addr);
	conn_send(c, proto_hello(c->client));
	auth_open(c);
	return c;
}

void
conn_closed(conn *c)
{
	log_msg(LOG_INFO, "conn: client %" PRIu64 " (%s) closed", c->id,
			c->client);
	lws_sul_cancel(&c->slow_sul);
	lws_sul_cancel(&c->presence_sul);
	auth_closed(c);
	stream_end_all(c);
	if (c->addr_counted)
		quota_disconnected(c->addr);
	c->addr_counted = false;
	/* what it asked for and no connection has taken yet: nobody to answer
	 * (a walk of the queue, so only for a connection that has any) */
	if (c->pending > 0)
		metrics.requests_dropped +=
			(uint64_t) (pg_drop_owned(c, "the client has gone") +
						fetch_conn_closed(c));
	while (c->q_len > 0)
	{
		msg_unref(c->q[c->q_head]);
		c->q_head = (c->q_head + 1) % c->q_cap;
		c->q_len--;
	}
	c->q_bytes = 0;
	c->wsi = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		conns.open = c->next;
	if (c->next)
		c->next->prev = c->prev;
	conns.count--;
	assert(conns.count >= 0);
	conn_unref(c);
}

void
conn_close_all(int code, const char *reason)
{
	for (conn *c = conns.open; c; c = c->next)
		conn_close(c, code, reason);
}

int
conn_count(void)
{
	return conns.count;
}

int
conn_inflight_total(void)
{
	int n = 0;

	for (conn *c = conns.open; c; c = c->next)
		n += c->inflight;
	return n;
}
