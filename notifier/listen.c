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
#include <stdlib.h>
#include <string.h>

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
listen_notify(const char *payload)
{
	json_error_t jerr;
	json_t *root = json_loads(payload, 0, &jerr);
	const char *type, *doc_id;
	doc *d;

	metrics.notifications++;
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
