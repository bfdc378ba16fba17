/*
 * wire.c — the change message between the database and the notifier (see
 * wire.h).
 */
#include "wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static delta_status
put(delta_buf *buf, const char *s, delta_error *err)
{
	return delta_buf_append(buf, s, strlen(s), err);
}

delta_status
wire_write_change(delta_buf *buf, const wire_change *c, bool fit,
				  delta_error *err)
{
	char number[48];
	size_t envelope;
	delta_status st;

	if ((st = put(buf, "{\"type\":\"change\",\"doc\":", err)) != DELTA_OK ||
		(st = djson_write_string(buf, c->doc, c->doc_len, err)) != DELTA_OK)
		return st;
	snprintf(number, sizeof(number),
			 ",\"rev\":%" PRId64 ",\"client\":", c->rev);
	if ((st = put(buf, number, err)) != DELTA_OK)
		return st;
	if (c->client)
	{
		if ((st = djson_write_string(buf, c->client, c->client_len, err)) !=
			DELTA_OK)
			return st;
		snprintf(number, sizeof(number), ",\"seq\":%" PRId64, c->seq);
		st = put(buf, number, err);
	}
	else
		st = put(buf, "null,\"seq\":null", err);
	if (st != DELTA_OK)
		return st;
	envelope = buf->len;
	if ((st = put(buf, ",\"change\":", err)) != DELTA_OK ||
		(st = delta_buf_append(buf, c->change, c->change_len, err)) !=
			DELTA_OK)
		return st;
	/* with its closing brace */
	if (fit && buf->len + 1 > WIRE_PAYLOAD_MAX)
		buf->len = envelope;
	return put(buf, "}", err);
}
