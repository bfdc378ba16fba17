/*
 * wire.c — the change message between the database and the notifier (see
 * wire.h).
 */
#include "wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *
wire_unseal(const char *payload, const char **seal)
{
	for (int i = 0; i < WIRE_SEAL_HEX; i++)
	{
		char c = payload[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
		{
			*seal = NULL;
			return payload;
		}
	}
	if (payload[WIRE_SEAL_HEX] != ' ')
	{
		*seal = NULL;
		return payload;
	}
	*seal = payload;
	return payload + WIRE_SEAL_HEX + 1;
}

void
wire_seal_hex(const unsigned char mac[32], char out[WIRE_SEAL_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++)
	{
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[WIRE_SEAL_HEX] = '\0';
}

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
