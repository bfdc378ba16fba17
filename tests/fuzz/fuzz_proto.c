/*
 * fuzz_proto.c — libFuzzer target for the notifier's protocol module
 * (notifier/protocol.c): parsing client messages, encoding server messages.
 *
 * build: notifier/protocol.c -Inotifier -ljansson
 *
 * Properties checked on every input (taken as one client message):
 *   - proto_parse succeeds or fails with a non-empty message, and never
 *     leaks (the request's JSON is released on both paths);
 *   - an accepted request has what its type needs: a doc id of 1 to 200
 *     bytes, a submit's change (object or array), rev and seq >= 1, a
 *     presence's state object;
 *   - every encoder, given the ids and texts the input carried, writes JSON
 *     that jansson parses back to the same ids, numbers and texts (escaping
 *     is right for quotes, backslashes, control characters and UTF-8).
 * A violation calls abort(), which libFuzzer reports with the input.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE FUZZ_REQUIRE

/* M parses as a JSON object; returns it (caller decrefs) and unrefs M. */
static json_t *
parse_msg(msg *m)
{
	json_error_t err;
	json_t *v;

	REQUIRE(m != NULL, "an encoder returned NULL");
	REQUIRE(strlen(msg_text(m)) == m->len, "length %zu is not the text's",
			m->len);
	v = json_loadb(msg_text(m), m->len, 0, &err);
	REQUIRE(v && json_is_object(v), "encoded message is not a JSON object: %s",
			msg_text(m));
	msg_unref(m);
	return v;
}

static void
require_string(json_t *o, const char *key, const char *want)
{
	const char *got = json_string_value(json_object_get(o, key));

	REQUIRE(got && strcmp(got, want) == 0,
			"\"%s\" came back as \"%s\", not \"%s\"", key,
			got ? got : "(none)", want);
}

static void
require_int(json_t *o, const char *key, int64_t want)
{
	json_t *v = json_object_get(o, key);

	REQUIRE(json_is_integer(v) && json_integer_value(v) == want,
			"\"%s\" did not come back as %lld", key, (long long) want);
}

/* Round trips of every encoder through the strings the request carried. */
static void
check_encoders(const request *req)
{
	const char *client = req->client ? req->client : "c";
	json_t *v;

	v = parse_msg(proto_hello(client));
	require_string(v, "type", "hello");
	require_string(v, "client", client);
	json_decref(v);

	v = parse_msg(proto_ack(req->doc, req->rev, req->seq));
	require_string(v, "doc", req->doc);
	require_int(v, "rev", req->rev);
	require_int(v, "seq", req->seq);
	json_decref(v);

	v = parse_msg(
		proto_error("bad_message", client, req->doc, req->seq, NULL));
	require_string(v, "message", client);
	require_string(v, "doc", req->doc);
	json_decref(v);

	if (req->change)
	{
		char *text = json_dumps(req->change, JSON_COMPACT);
		json_t *change;

		REQUIRE(text != NULL, "json_dumps failed");
		v = parse_msg(
			proto_change(req->doc, req->rev, text, req->client, req->seq));
		require_string(v, "doc", req->doc);
		require_int(v, "rev", req->rev);
		if (req->client)
			require_string(v, "client", req->client);
		else
			REQUIRE(json_is_null(json_object_get(v, "client")),
					"a missing client is not null");
		change = json_object_get(v, "change");
		REQUIRE(json_equal(change, req->change),
				"the change came back different");
		json_decref(v);

		v = parse_msg(proto_content(req->doc, req->rev, text, client, "[1]"));
		require_string(v, "html", client);
		REQUIRE(json_equal(json_object_get(v, "content"), req->change),
				"the fetched content came back different");
		json_decref(v);

		v = parse_msg(proto_snapshot(req->doc, req->rev, text));
		REQUIRE(json_equal(json_object_get(v, "content"), req->change),
				"the snapshot's content came back different");
		json_decref(v);
		free(text);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	request req;
	char errbuf[160];

	errbuf[0] = '\0';
	if (proto_parse((const char *) data, size, &req, errbuf, sizeof(errbuf)) !=
		0)
	{
		REQUIRE(errbuf[0] != '\0', "a rejected message without a reason");
		proto_request_free(&req);
		return 0;
	}
	REQUIRE(req.doc && proto_id_ok(req.doc), "accepted without a valid doc");
	REQUIRE(!req.client || proto_id_ok(req.client),
			"accepted a bad client id");
	switch (req.type)
	{
		case REQ_SUBMIT:
			REQUIRE(req.has_rev && req.rev >= 0, "a submit without rev");
			REQUIRE(req.seq >= 1, "a submit without seq");
			REQUIRE(json_is_object(req.change) || json_is_array(req.change),
					"a submit without change");
			break;
		case REQ_PRESENCE:
			REQUIRE(json_is_object(req.state), "a presence without state");
			break;
		default:
			break;
	}
	check_encoders(&req);
	proto_request_free(&req);
	return 0;
}
