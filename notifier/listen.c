/*
 * listen.c — notifications on channel collab (see listen.h).
 */
#include "listen.h"

#include "document.h"
#include "log.h"
#include "metrics.h"
#include "protocol.h"
#include "stream.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const char *seal_key; /* NULL: payloads are not checked */

void
listen_init(const char *key)
{
	seal_key = key;
}

/* Whether SEAL (WIRE_SEAL_HEX hex digits) is MESSAGE's under the key. */
static bool
seal_ok(const char *seal, const char *message)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[WIRE_SEAL_HEX + 1];

	if (!HMAC(EVP_sha256(), seal_key, (int) strlen(seal_key),
			  (const unsigned char *) message, strlen(message), mac, &len) ||
		len != 32)
		return false;
	wire_seal_hex(mac, hex);
	return CRYPTO_memcmp(hex, seal, WIRE_SEAL_HEX) == 0;
}

/* Counts and logs a payload not believed (every 1st, 10th, 100th, ...). */
static void
rejected(const char *why)
{
	uint64_t n = ++metrics.notifications_rejected;

	for (uint64_t p = 1; p <= n; p *= 10)
	{
		if (p == n)
		{
			log_msg(LOG_WARN,
					"listen: a notification %s: ignored (%llu so far)", why,
					(unsigned long long) n);
			break;
		}
	}
}

/* A change: its revision, or (too big for a payload) a revision to fetch,
 * once for every subscriber. */
static void
heard_change(doc *d, json_t *root, const char *payload)
{
	json_t *rev = json_object_get(root, "rev");
	const char *client = json_string_value(json_object_get(root, "client"));
	json_t *seq = json_object_get(root, "seq");
	entry e;

	if (!json_is_integer(rev))
		return;
	if (!json_object_get(root, "change"))
	{
		if (d->w.known)
			doc_want(d, (int64_t) json_integer_value(rev), 0);
		return;
	}
	e.rev = (int64_t) json_integer_value(rev);
	e.seq = json_is_integer(seq) ? (int64_t) json_integer_value(seq) : -1;
	e.client = client ? strdup(client) : NULL;
	e.m = msg_new(payload, strlen(payload));
	if (!e.m || (client && !e.client))
		entry_clear(&e);
	else
	{
		doc_ref(d);
		doc_offer(d, &e);
		doc_unref(d);
	}
}

void
listen_notify(const char *sealed)
{
	json_error_t jerr;
	const char *seal;
	const char *payload = wire_unseal(sealed, &seal);
	json_t *root;
	const char *type, *doc_id;
	doc *d;

	metrics.notifications++;
	if (seal_key && !seal)
	{
		rejected("without a seal");
		return;
	}
	if (seal_key && !seal_ok(seal, payload))
	{
		rejected("whose seal does not match");
		return;
	}
	root = json_loads(payload, 0, &jerr);
	if (!root)
	{
		log_msg(LOG_WARN, "listen: a notification that is not JSON: %s",
				jerr.text);
		return;
	}
	type = json_string_value(json_object_get(root, "type"));
	doc_id = json_string_value(json_object_get(root, "doc"));
	if (type && strcmp(type, "overflow") == 0)
	{
		log_msg(LOG_WARN, "listen: the database dropped notifications: "
						  "resynchronising every document");
		doc_resync_all();
	}
	else if (!type || !doc_id || !(d = doc_find(doc_id)) || !d->nsubs)
	{
		/* not ours to follow */
	}
	else if (strcmp(type, "change") == 0)
		heard_change(d, root, payload);
	else if (strcmp(type, "presence") == 0)
	{
		const char *client =
			json_string_value(json_object_get(root, "client"));
		msg *m = msg_new(payload, strlen(payload));

		if (m && client)
			stream_presence(d, client, m);
		if (m)
			msg_unref(m);
	}
	else if (strcmp(type, "deleted") == 0)
		stream_doc_deleted(d);
	json_decref(root);
}

void
listen_ready(void)
{
	doc_resync_all();
}
