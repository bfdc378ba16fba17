/*
 * raw.c — the raw WebSocket client of raw.h: an HTTP upgrade written by
 * hand, masked frames out, frames parsed from a growing buffer in.
 *
 * The handshake's key is fixed (the server's accept header is not checked);
 * a server's frames must not be masked but are tolerated if they are.
 */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "raw.h"

#include "harness.h"

#include <stdarg.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads what is there within TIMEOUT_MS into R; false on timeout or EOF. */
static bool
raw_fill(raw *r, int timeout_ms)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	ssize_t n;

	if (r->eof || poll(&p, 1, timeout_ms) <= 0)
		return false;
	if (r->cap - r->len < 65536)
	{
		size_t cap = r->cap * 2 + 65536;
		unsigned char *in = realloc(r->in, cap);

		if (!in)
			return false;
		r->in = in;
		r->cap = cap;
	}
	n = read(r->fd, r->in + r->len, r->cap - r->len);
	if (n <= 0)
	{
		r->eof = true;
		return false;
	}
	r->len += (size_t) n;
	return true;
}

void
raw_free(raw *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r->in);
	free(r);
}

/*
 * The handshake of raw_connect_with, from SOURCE (an IPv4 address to bind
 * to first, NULL: any).  *STATUS: the answer's HTTP status, 0 when there
 * was none (no connection, or it closed).  Reports nothing.
 */
static raw *
raw_open(char which, const char *source, int rcvbuf, const char *protocol,
		 const char *headers, int *status)
{
	const char *host = instance_host(which);
	int port = instance_port(which);
	struct sockaddr_in sa = {.sin_family = AF_INET,
							 .sin_port = htons((uint16_t) port)};
	struct sockaddr_in from = {.sin_family = AF_INET};
	raw *r = calloc(1, sizeof(*r));
	size_t size = 512 + (headers ? strlen(headers) : 0);
	char *req = malloc(size);
	int n;

	*status = 0;
	if (!r || !req)
	{
		free(r);
		free(req);
		return NULL;
	}
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (r->fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
		(source &&
		 (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
		  bind(r->fd, (struct sockaddr *) &from, sizeof(from)) != 0)) ||
		(rcvbuf > 0 && setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
								  sizeof(rcvbuf)) != 0) ||
		connect(r->fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
	{
		printf("     raw connection to %s:%d from %s: %s\n", host, port,
			   source ? source : "any address", strerror(errno));
		raw_free(r);
		free(req);
		return NULL;
	}
	n = snprintf(req, size,
				 "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\n"
				 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n%s%s%s%s\r\n",
				 host, port, protocol ? "Sec-WebSocket-Protocol: " : "",
				 protocol ? protocol : "", protocol ? "\r\n" : "",
				 headers ? headers : "");
	if (n < 0 || write(r->fd, req, (size_t) n) != n)
	{
		printf("     raw handshake: %s\n", strerror(errno));
		raw_free(r);
		free(req);
		return NULL;
	}
	free(req);
	for (;;)
	{
		unsigned char *end =
			r->len >= 4 ? memmem(r->in, r->len, "\r\n\r\n", 4) : NULL;

		if (end)
		{
			size_t head = (size_t) (end - r->in) + 4;

			snprintf(r->head, sizeof(r->head), "%.*s", (int) (end - r->in),
					 (const char *) r->in);
			if (r->len >= 12)
				*status = atoi((const char *) r->in + 9);
			if (*status != 101)
			{
				printf("     raw handshake answered %.*s\n",
					   (int) strcspn(r->head, "\r\n"), r->head);
				raw_free(r);
				return NULL;
			}
			memmove(r->in, r->in + head, r->len - head);
			r->len -= head;
			return r;
		}
		if (!raw_fill(r, WAIT_MS))
		{
			printf("     raw handshake: no answer\n");
			raw_free(r);
			return NULL;
		}
	}
}

/*
 * Connects to ws://HOST:PORT/ws with a receive buffer of RCVBUF bytes (0:
 * the system's), asking for subprotocol PROTOCOL (NULL: none), and
 * completes the handshake; NULL (reported) on failure.
 */
raw *
raw_connect(char which, int rcvbuf, const char *protocol)
{
	return raw_connect_with(which, rcvbuf, protocol, NULL);
}

raw *
raw_connect_with(char which, int rcvbuf, const char *protocol,
				 const char *headers)
{
	int status;
	raw *r = raw_open(which, NULL, rcvbuf, protocol, headers, &status);

	if (!r)
		check(false, "raw connection to %c: %s", which,
			  status > 0 ? "refused at the handshake"
						 : "no connection or no answer");
	return r;
}

raw *
raw_connect_from(char which, const char *source, int *status)
{
	return raw_open(which, source, 0, NULL, NULL, status);
}

/* Appends TEXT to OUT as one masked text frame; false when out of memory. */
bool
raw_frame(char **out, size_t *len, const char *text)
{
	size_t n = strlen(text), head = n < 126 ? 2 : n < 65536 ? 4 : 10;
	static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
	unsigned char *p;
	char *grown = realloc(*out, *len + head + 4 + n);

	if (!grown)
		return false;
	*out = grown;
	p = (unsigned char *) grown + *len;
	*p++ = 0x81; /* FIN, text */
	if (n < 126)
		*p++ = (unsigned char) (0x80 | n);
	else if (n < 65536)
	{
		*p++ = 0x80 | 126;
		*p++ = (unsigned char) (n >> 8);
		*p++ = (unsigned char) n;
	}
	else
	{
		*p++ = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			*p++ = (unsigned char) ((uint64_t) n >> (8 * i));
	}
	memcpy(p, mask, 4);
	p += 4;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char) text[i] ^ mask[i % 4];
	*len += head + 4 + n;
	return true;
}

/* Writes all of BYTES; false (reported) on failure. */
bool
raw_write(raw *r, const char *bytes, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(r->fd, bytes, len);

		if (n <= 0)
		{
			check(false, "raw write: %s", strerror(errno));
			return false;
		}
		bytes += n;
		len -= (size_t) n;
	}
	return true;
}

/* Sends TEXT as one frame. */
bool
raw_send(raw *r, const char *text)
{
	char *frame = NULL;
	size_t len = 0;
	bool ok = raw_frame(&frame, &len, text) && raw_write(r, frame, len);

	free(frame);
	return ok;
}

bool
raw_sendf(raw *r, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	bool ok;

	va_start(ap, fmt);
	ok = vasprintf(&text, fmt, ap) >= 0;
	va_end(ap);
	ok = ok && raw_send(r, text);
	free(text);
	return ok;
}

/*
 * The next complete message within TIMEOUT_MS: 1 (text, in *TEXT, malloc'd,
 * NUL-terminated), 8 (close, its code in *CODE, 1005 without one), 0 on
 * timeout, -1 at end of file.  Pings and pongs are skipped; fragments are
 * joined.
 */
int
raw_next(raw *r, int timeout_ms, char **text, int *code)
{
	int64_t end = wsc_now_us() + (int64_t) timeout_ms * 1000;
	char *msg = NULL;
	size_t msg_len = 0;
	int msg_op = 0;

	*text = NULL;
	for (;;)
	{
		size_t at = 2, n;
		int op, fin;

		while (r->len >= 2)
		{
			fin = r->in[0] & 0x80;
			op = r->in[0] & 0x0F;
			n = r->in[1] & 0x7F;
			at = 2;
			if (n == 126)
			{
				if (r->len < 4)
					break;
				n = (size_t) r->in[2] << 8 | r->in[3];
				at = 4;
			}
			else if (n == 127)
			{
				if (r->len < 10)
					break;
				n = 0;
				for (int i = 0; i < 8; i++)
					n = n << 8 | r->in[2 + i];
				at = 10;
			}
			if (r->in[1] & 0x80)
				at += 4; /* a server must not mask; tolerated */
			if (r->len < at + n)
				break;
			if (op == 8)
			{
				*code = n >= 2 ? r->in[at] << 8 | r->in[at + 1] : 1005;
				free(msg);
				memmove(r->in, r->in + at + n, r->len - at - n);
				r->len -= at + n;
				return 8;
			}
			if (op == 1 || op == 0)
			{
				char *grown = realloc(msg, msg_len + n + 1);

				if (!grown)
				{
					free(msg);
					return -1;
				}
				msg = grown;
				memcpy(msg + msg_len, r->in + at, n);
				msg_len += n;
				msg[msg_len] = '\0';
				if (op == 1)
					msg_op = 1;
			}
			memmove(r->in, r->in + at + n, r->len - at - n);
			r->len -= at + n;
			if ((op == 1 || op == 0) && fin && msg_op == 1)
			{
				*text = msg;
				return 1;
			}
		}
		{
			int64_t left = (end - wsc_now_us()) / 1000;

			if (left <= 0 || !raw_fill(r, (int) left))
			{
				free(msg);
				return r->eof ? -1 : 0;
			}
		}
	}
}

/* The next text message, parsed; NULL (not reported) otherwise. */
json_t *
raw_next_json(raw *r, int timeout_ms)
{
	char *text;
	int code;

	if (raw_next(r, timeout_ms, &text, &code) != 1)
		return NULL;
	return parse_message(text);
}
