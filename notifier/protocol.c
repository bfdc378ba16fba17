/*
 * protocol.c — parsing client messages and encoding server messages
 * (docs/protocol.md).  Messages are built as text: the deltas come from the
 * database and from notifications as JSON text already, and are inserted
 * without a parse and a re-encode; only ids and error texts are escaped.
 * An error's text is cut on a character boundary (proto_text_prefix): a
 * text frame that is not UTF-8 would make the client drop the connection.
 */
#include "protocol.h"

#include "arena.h"
#include "config.h"
#include "utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

msg *
msg_new(const char *text, size_t len)
{
	msg *m = malloc(sizeof(msg) + LWS_PRE + len + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->len = len;
	memcpy(m->data + LWS_PRE, text, len);
	m->data[LWS_PRE + len] = '\0';
	return m;
}

msg *
msg_ref(msg *m)
{
	assert(m->refs > 0);
	m->refs++;
	return m;
}

void
msg_unref(msg *m)
{
	assert(!m || m->refs > 0);
	if (m && --m->refs == 0)
		free(m);
}

size_t
proto_text_prefix(const char *text, size_t max)
{
	const unsigned char *s = (const unsigned char *) text;
	size_t len = strlen(text), i = 0;

	while (i < len)
	{
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);

		if (n == 0 || i + n > max)
			break;
		i += n;
	}
	return i;
}

bool
proto_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 1 && n <= WIRE_ID_BYTES_MAX;
}

/* --- building text ---------------------------------------------------------
 */

typedef struct sbuf {
	char *data;
	size_t len, cap;
	bool failed;
} sbuf;

static void
sb_put(sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t cap = b->cap ? b->cap : 256;
		char *data;

		while (cap < b->len + n + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (!data)
		{
			b->failed = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static void
sb_str(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* S[0..LEN) as a JSON string (escaped). */
static void
sb_json_stringn(sbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *end = (const unsigned char *) s + len;

	sb_put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *) s; p < end; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			char esc[2] = {'\\', (char) *p};

			sb_put(b, esc, 2);
		}
		else if (*p < 0x20)
		{
			char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};

			sb_put(b, esc, 6);
		}
		else
			sb_put(b, (const char *) p, 1);
	}
	sb_put(b, "\"", 1);
}

/* S as a JSON string (escaped), or null when S is NULL. */
static void
sb_json_string(sbuf *b, const char *s)
{
	if (!s)
		sb_str(b, "null");
	else
		sb_json_stringn(b, s, strlen(s));
}

static void
sb_int(sbuf *b, int64_t n)
{
	char num[24];

	sb_put(b, num, (size_t) snprintf(num, sizeof(num), "%" PRId64, n));
}

static msg *
sb_finish(sbuf *b)
{
	msg *m = b->failed ? NULL : msg_new(b->data, b->len);

	free(b->data);
	return m;
}

msg *
proto_hello(const char *client)
{
	sbuf b = {0};

	sb_str(&b, "{\"type\":\"hello\",\"client\":");
	sb_json_string(&b, client);
	sb_str(&b, ",\"server\":\"collab-notifier/" NOTIFIER_VERSION_TEXT "\"}");
	return sb_finish(&b);
}

msg *
proto_authenticated(const char *user, const char *client, int64_t exp)
{
	sbuf b = {0};

	sb_str(&b, "{\"type\":\"authenticated\",\"user\":");
	sb_json_string(&b, user);
	sb_str(&b, ",\"client\":");
	sb_json_string(&b, client);
	sb_str(&b, ",\"exp\":");
	sb_int(&b, exp);
	sb_str(&b, "}");
	return sb_finish(&b);
}

msg *
proto_snapshot(const char *doc, int64_t rev, const char *content_json)
{
	sbuf b = {0};

	sb_str(&b, "{\"type\":\"snapshot\",\"doc\":");
	sb_json_string(&b, doc);
	sb_str(&b, ",\"rev\":");
	sb_int(&b, rev);
	sb_str(&b, ",\"content\":");
	sb_str(&b, content_json);
	sb_str(&b, "}");
	return sb_finish(&b);
}

msg *
proto_change(const char *doc, int64_t rev, const char *change_json,
			 const char *client, int64_t seq)
{
	wire_change c = {.doc = doc,
					 .doc_len = strlen(doc),
					 .rev = rev,
					 .client = client,
					 .client_len = client ? strlen(client) : 0,
					 .seq = seq,
					 .change = change_json,
					 .change_len = strlen(change_json)};
	delta_arena *arena = delta_arena_create(NULL);
	delta_buf buf;
	msg *m = NULL;

	if (!arena)
		return NULL;
	delta_buf_init(&buf, arena);
	/* the same message as the database's announcement (wire.h) */
	if (wire_write_change(&buf, &c, false, NULL) == DELTA_OK)
		m = msg_new(buf.data, buf.len);
	delta_arena_destroy(arena);
	return m;
}

msg *
proto_ack(const char *doc, int64_t rev, int64_t seq)
{
	sbuf b = {0};

	sb_str(&b, "{\"type\":\"ack\",\"doc\":");
	sb_json_string(&b, doc);
	sb_str(&b, ",\"rev\":");
	sb_int(&b, rev);
	sb_str(&b, ",\"seq\":");
	sb_int(&b, seq);
	sb_str(&b, "}");
	return sb_finish(&b);
}

msg *
proto_error(const char *code, const char *message, const char *doc,
			int64_t seq, const char *id_json)
{
	sbuf b = {0};

	if (!message)
		message = "";
	sb_str(&b, "{\"type\":\"error\",\"code\":");
	sb_json_string(&b, code);
	sb_str(&b, ",\"message\":");
	/* a text frame must be UTF-8: never half a character, whatever the
	 * source of the text and wherever it was cut before */
	sb_json_stringn(&b, message,
					proto_text_prefix(message, PROTO_ERROR_TEXT_MAX));
	if (doc)
	{
		sb_str(&b, ",\"doc\":");
		sb_json_string(&b, doc);
	}
	if (seq >= 0)
	{
		sb_str(&b, ",\"seq\":");
		sb_int(&b, seq);
	}
	if (id_json)
	{
		sb_str(&b, ",\"id\":");
		sb_str(&b, id_json);
	}
	sb_str(&b, "}");
	return sb_finish(&b);
}

msg *
proto_content(const char *doc, int64_t rev, const char *content_json,
			  const char *html, const char *id_json)
{
	sbuf b = {0};

	sb_str(&b, "{\"type\":\"content\",\"doc\":");
	sb_json_string(&b, doc);
	sb_str(&b, ",\"rev\":");
	sb_int(&b, rev);
	sb_str(&b, ",\"content\":");
	sb_str(&b, content_json);
	sb_str(&b, ",\"html\":");
	sb_json_string(&b, html);
	if (id_json)
	{
		sb_str(&b, ",\"id\":");
		sb_str(&b, id_json);
	}
	sb_str(&b, "}");
	return sb_finish(&b);
}

/* --- parsing --------------------------------------------------------------
 */

/* Field NAME of ROOT as a string, or NULL (absent); -1 when mistyped. */
static int
get_string(json_t *root, const char *name, const char **out, char *errbuf,
		   size_t errlen)
{
	json_t *v = json_object_get(root, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !proto_id_ok(json_string_value(v)) ||
		strlen(json_string_value(v)) != json_string_length(v))
	{
		snprintf(errbuf, errlen, "\"%s\" must be a string of 1 to %d bytes",
				 name, WIRE_ID_BYTES_MAX);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* Field NAME of ROOT as a non-negative integer; 0 absent, 1 present, -1 bad.
 */
static int
get_int(json_t *root, const char *name, int64_t *out, char *errbuf,
		size_t errlen)
{
	json_t *v = json_object_get(root, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
	{
		snprintf(errbuf, errlen, "\"%s\" must be a non-negative integer",
				 name);
		return -1;
	}
	*out = (int64_t) json_integer_value(v);
	return 1;
}

int
proto_parse(const char *text, size_t len, request *req, char *errbuf,
			size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	const char *type;
	int got;

	memset(req, 0, sizeof(*req));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
	{
		snprintf(errbuf, errlen, "not JSON: %s", jerr.text);
		return -1;
	}
	req->root = root;
	if (!json_is_object(root))
	{
		snprintf(errbuf, errlen, "a message must be a JSON object");
		return -1;
	}
	type = json_string_value(json_object_get(root, "type"));
	if (!type)
	{
		snprintf(errbuf, errlen, "a message needs a string \"type\"");
		return -1;
	}
	if (strcmp(type, "subscribe") == 0)
		req->type = REQ_SUBSCRIBE;
	else if (strcmp(type, "unsubscribe") == 0)
		req->type = REQ_UNSUBSCRIBE;
	else if (strcmp(type, "submit") == 0)
		req->type = REQ_SUBMIT;
	else if (strcmp(type, "presence") == 0)
		req->type = REQ_PRESENCE;
	else if (strcmp(type, "fetch") == 0)
		req->type = REQ_FETCH;
	else if (strcmp(type, "auth") == 0)
	{
		json_t *token = json_object_get(root, "token");

		req->type = REQ_AUTH;
		req->token = json_string_value(token);
		req->token_len = json_string_length(token);
		if (!req->token || req->token_len == 0)
		{
			snprintf(errbuf, errlen, "\"auth\" needs a \"token\": a string");
			return -1;
		}
		return 0;
	}
	else
	{
		snprintf(errbuf, errlen, "unknown message type \"%.*s\"",
				 (int) proto_text_prefix(type, 40), type);
		return -1;
	}
	if (get_string(root, "doc", &req->doc, errbuf, errlen) != 0)
		return -1;
	if (!req->doc)
	{
		snprintf(errbuf, errlen, "\"%s\" needs a \"doc\"", type);
		return -1;
	}
	if (get_string(root, "client", &req->client, errbuf, errlen) != 0)
		return -1;
	got = get_int(root, "rev", &req->rev, errbuf, errlen);
	if (got < 0)
		return -1;
	req->has_rev = got == 1;

	switch (req->type)
	{
		case REQ_SUBSCRIBE:
		{
			json_t *create = json_object_get(root, "create");

			if (create && !json_is_boolean(create) && !json_is_null(create))
			{
				snprintf(errbuf, errlen, "\"create\" must be true or false");
				return -1;
			}
			req->create = json_is_true(create);
			break;
		}
		case REQ_UNSUBSCRIBE:
			break;
		case REQ_SUBMIT:
			if (!req->has_rev)
			{
				snprintf(errbuf, errlen, "\"submit\" needs a \"rev\"");
				return -1;
			}
			req->change = json_object_get(root, "change");
			if (!req->change ||
				!(json_is_object(req->change) || json_is_array(req->change)))
			{
				snprintf(errbuf, errlen,
						 "\"submit\" needs a \"change\": a delta object or an "
						 "array of ops");
				return -1;
			}
			got = get_int(root, "seq", &req->seq, errbuf, errlen);
			if (got < 0)
				return -1;
			if (got == 0 || req->seq < 1)
			{
				snprintf(errbuf, errlen,
						 "\"submit\" needs a \"seq\": a positive integer");
				return -1;
			}
			break;
		case REQ_PRESENCE:
			req->state = json_object_get(root, "state");
			if (!json_is_object(req->state))
			{
				snprintf(errbuf, errlen,
						 "\"presence\" needs a \"state\": a JSON object");
				return -1;
			}
			break;
		case REQ_FETCH:
			req->id = json_object_get(root, "id");
			break;
		case REQ_AUTH: /* returned above */
			break;
	}
	return 0;
}

void
proto_request_free(request *req)
{
	json_decref(req->root);
	req->root = NULL;
}
