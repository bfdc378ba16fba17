/*
 * otclient.c — the OT client's state and rules (otclient.h), as
 * client/collab-client.js has them.
 */
#include "otclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

delta_status
otc_init(otclient *c, const char *id, delta_error *err)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->rev = -1;
	if ((c->arena = delta_arena_create(NULL)) == NULL)
		return delta_fail(err, DELTA_ENOMEM, "out of memory");
	return DELTA_OK;
}

void
otc_destroy(otclient *c)
{
	delta_arena_destroy(c->arena);
	free(c->sent);
	memset(c, 0, sizeof(*c));
}

delta_status
otc_start(otclient *c, const char *json, size_t len, int64_t rev,
		  delta_error *err)
{
	delta_status st = delta_parse(c->arena, json, len, &c->doc, err);

	if (st != DELTA_OK)
		return st;
	if (!delta_is_document(c->doc))
		return delta_fail(err, DELTA_EMISMATCH, "the snapshot is no document");
	c->rev = rev;
	c->inflight = NULL;
	c->buffer = NULL;
	return DELTA_OK;
}

delta_status
otc_edit(otclient *c, delta *change, delta_error *err)
{
	delta *doc;
	delta_status st;

	if ((st = delta_apply(c->arena, c->doc, change, &doc, err)) != DELTA_OK)
		return st;
	c->doc = doc;
	if (c->buffer == NULL)
		c->buffer = change;
	else if ((st = delta_compose(c->arena, c->buffer, change, &c->buffer,
								 err)) != DELTA_OK)
		return st;
	if (c->buffer->count == 0) /* an insert deleted again */
		c->buffer = NULL;
	return DELTA_OK;
}

const char *
otc_json(otclient *c, const delta *d)
{
	delta_buf buf;

	if (d == NULL)
		return "(none)";
	delta_buf_init(&buf, c->arena);
	if (delta_write(&buf, d, NULL) != DELTA_OK ||
		delta_buf_append(&buf, "", 1, NULL) != DELTA_OK)
		return NULL;
	return buf.data;
}

delta_status
otc_flush(otclient *c, bool *submit, delta_error *err)
{
	const char *json;

	*submit = false;
	if (c->inflight != NULL || c->buffer == NULL)
		return DELTA_OK;
	/* sent: the change as submitted against base.  inflight is transformed
	 * past later revisions as they arrive, but a resubmit must repeat what
	 * was sent: the server transforms it past the same revisions itself */
	if ((json = otc_json(c, c->buffer)) == NULL)
		return delta_fail(err, DELTA_ENOMEM, "out of memory");
	free(c->sent);
	if ((c->sent = strdup(json)) == NULL)
		return delta_fail(err, DELTA_ENOMEM, "out of memory");
	c->inflight = c->buffer;
	c->buffer = NULL;
	c->inflight_seq = ++c->seq;
	c->inflight_base = c->rev;
	*submit = true;
	return DELTA_OK;
}

/* The change in flight is done, acknowledged at rev. */
static void
confirm(otclient *c, int64_t rev)
{
	c->confirmed = c->inflight;
	c->inflight = NULL;
	if (rev > c->rev)
		c->rev = rev;
}

otc_result
otc_change(otclient *c, int64_t rev, const char *client_id, int64_t seq,
		   const delta *change, delta_error *err)
{
	delta **mine[2] = {&c->inflight, &c->buffer};
	const delta *incoming = change;
	delta *doc;
	int i;

	if (rev <= c->rev)
		return OTC_IGNORED; /* an old stream's, or a duplicate */
	if (rev > c->rev + 1)
		return OTC_GAP;
	if (c->inflight != NULL && client_id != NULL && seq == c->inflight_seq &&
		strcmp(client_id, c->id) == 0)
	{
		confirm(c, rev);
		return OTC_CONFIRMED;
	}
	/* the server's change came first: it wins ties against ours */
	for (i = 0; i < 2; i++)
	{
		delta *theirs;

		if (*mine[i] == NULL)
			continue;
		if (delta_transform(c->arena, *mine[i], incoming, false, &theirs,
							err) != DELTA_OK ||
			delta_transform(c->arena, incoming, *mine[i], true, mine[i],
							err) != DELTA_OK)
			return OTC_FAILED;
		incoming = theirs;
	}
	if (delta_apply(c->arena, c->doc, incoming, &doc, err) != DELTA_OK)
		return OTC_FAILED;
	c->doc = doc;
	c->rev = rev;
	return OTC_TAKEN;
}

otc_result
otc_ack(otclient *c, int64_t rev, int64_t seq)
{
	if (c->inflight == NULL || seq != c->inflight_seq)
		return OTC_IGNORED; /* a late ack of a change already confirmed */
	confirm(c, rev);
	return OTC_CONFIRMED;
}

delta_status
otc_compact(otclient *c, delta_error *err)
{
	delta_arena *fresh = delta_arena_create(NULL);
	delta **parts[] = {&c->doc, &c->inflight, &c->buffer, &c->confirmed};
	delta *copies[sizeof(parts) / sizeof(parts[0])] = {NULL};
	size_t i;

	if (fresh == NULL)
		return delta_fail(err, DELTA_ENOMEM, "out of memory");
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
	{
		const char *json;

		if (*parts[i] == NULL)
			continue;
		if ((json = otc_json(c, *parts[i])) == NULL ||
			delta_parse(fresh, json, strlen(json), &copies[i], err) !=
				DELTA_OK)
		{
			/* the state stays where it was */
			delta_arena_destroy(fresh);
			return delta_fail(err, DELTA_ENOMEM, "out of memory");
		}
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		*parts[i] = copies[i];
	delta_arena_destroy(c->arena);
	c->arena = fresh;
	return DELTA_OK;
}
