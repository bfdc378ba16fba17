/*
 * notify.c — announcing changes, presence and deletions on channel
 * "collab" (payloads: docs/documents.md).
 *
 * NOTIFY queues the payload with the transaction and delivers it only if
 * and after the transaction commits, so a listener never hears of a change
 * that can still roll back.  With collab preloaded, the announcer
 * (announcer.c) does the NOTIFY for many transactions at once, with the
 * same guarantees.  The change message and the limits are core/wire.h's,
 * shared with the notifier: payloads stay under WIRE_PAYLOAD_MAX, and a
 * change that would not fit is announced without its body, which the
 * listener fetches from the log.
 */
#include "postgres.h"

#include "commands/async.h"
#include "common/hmac.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "announcer.h"
#include "documents.h"
#include "notify.h"

static void
append(delta_buf *buf, const char *s)
{
	delta_error err;

	glue_check(delta_buf_append(buf, s, strlen(s), &err), &err,
			   "out of memory");
}

char *collab_notify_key = NULL;

char *
notify_seal(const char *message, size_t len)
{
	pg_hmac_ctx *ctx;
	uint8 mac[32];
	char *payload;

	if (collab_notify_key == NULL || collab_notify_key[0] == '\0')
		return pnstrdup(message, len);
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL ||
		pg_hmac_init(ctx, (const uint8 *) collab_notify_key,
					 strlen(collab_notify_key)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) message, len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		elog(ERROR, "could not seal a notification: %s",
			 ctx ? pg_hmac_error(ctx) : "out of memory");
	pg_hmac_free(ctx);
	payload = palloc(WIRE_SEAL_HEX + 1 + len + 1);
	wire_seal_hex(mac, payload);
	payload[WIRE_SEAL_HEX] = ' ';
	memcpy(payload + WIRE_SEAL_HEX + 1, message, len);
	payload[WIRE_SEAL_HEX + 1 + len] = '\0';
	return payload;
}

static void
send(delta_buf *buf)
{
	char *payload;

	/* sealed as UTF-8: what the notifier (client_encoding UTF8) reads */
	payload = collab_notify_key != NULL && collab_notify_key[0] != '\0'
				  ? notify_seal(buf->data, buf->len)
				  : buf->data; /* delta_buf keeps a NUL after its data */
	payload = pg_any_to_server(payload, (int) strlen(payload), PG_UTF8);
	if (!announcer_enqueue(payload))
		Async_Notify(WIRE_CHANNEL, payload);
}

/* ID's bytes in UTF-8 (the server's encoding may differ). */
static const char *
id_utf8(text *id, size_t *len)
{
	char *utf8 =
		pg_server_to_any(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), PG_UTF8);

	*len = utf8 == VARDATA_ANY(id) ? VARSIZE_ANY_EXHDR(id) : strlen(utf8);
	return utf8;
}

void
notify_change(glue_session *s, text *doc_id, int64 rev, text *client_id,
			  int64 client_seq, const delta *change)
{
	delta_buf body, buf;
	delta_error err;
	wire_change c = {.rev = rev, .seq = client_seq};

	delta_buf_init(&body, s->arena);
	glue_check(delta_write(&body, change, &err), &err, "out of memory");
	c.doc = id_utf8(doc_id, &c.doc_len);
	if (client_id != NULL)
		c.client = id_utf8(client_id, &c.client_len);
	c.change = body.data;
	c.change_len = body.len;
	/* too big for a payload: without the change, which listeners fetch */
	delta_buf_init(&buf, s->arena);
	glue_check(wire_write_change(&buf, &c, true, &err), &err, "out of memory");
	send(&buf);
}

void
notify_deleted(glue_session *s, text *doc_id)
{
	delta_buf buf;

	delta_buf_init(&buf, s->arena);
	append(&buf, "{\"type\":\"deleted\",\"doc\":");
	doc_write_id(s, &buf, doc_id);
	append(&buf, "}");
	send(&buf);
}

/*
 * collab.presence(doc_id text, client_id text, state jsonb) returns void:
 * tells the document's listeners where a client's cursor is, who it is;
 * stores nothing.
 */
PG_FUNCTION_INFO_V1(collab_presence);
Datum
collab_presence(PG_FUNCTION_ARGS)
{
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	text *client_id = doc_id_arg(fcinfo, 1, "client_id");
	Jsonb *state = DatumGetJsonbP(doc_required_arg(fcinfo, 2, "state"));
	glue_session s;
	doc_row row;
	delta_buf buf;
	StringInfoData json;
	char *utf8;
	const djson_value *parsed;
	delta_error err;

	if (!JB_ROOT_IS_OBJECT(state))
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("presence state must be a JSON object"));
	glue_begin(&s);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	doc_read(&s, doc_id, &row);

	delta_buf_init(&buf, s.arena);
	append(&buf, "{\"type\":\"presence\",\"doc\":");
	doc_write_id(&s, &buf, doc_id);
	append(&buf, ",\"client\":");
	doc_write_id(&s, &buf, client_id);
	append(&buf, ",\"state\":");
	initStringInfo(&json);
	JsonbToCString(&json, &state->root, VARSIZE(state));
	utf8 = pg_server_to_any(json.data, json.len, PG_UTF8);
	/* compact, like the rest of the payload (jsonb prints spaces) */
	glue_check(djson_parse(s.arena, utf8, strlen(utf8), &parsed, &err), &err,
			   "invalid presence state");
	glue_check(djson_write(&buf, parsed, &err), &err, "out of memory");
	append(&buf, "}");
	if (buf.len + 1 > WIRE_PAYLOAD_MAX)
		ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				errmsg("presence state is too large"),
				errdetail(
					"The announcement would take %zu bytes; the limit is %d.",
					buf.len + 1, WIRE_PAYLOAD_MAX));
	send(&buf);

	SPI_finish();
	glue_end(&s);
	PG_RETURN_VOID();
}
