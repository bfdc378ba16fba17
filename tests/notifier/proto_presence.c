/*
 * proto_presence.c — presence (docs/protocol.md, "Presence"): announced to
 * the other subscribers on both instances with the sender's id and the
 * state as sent, never to the sender, and cleared ("state":{}) when the
 * subscription ends by unsubscribe, clean close or a dead connection.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Presence stating its own client id reaches the other instance with that
 * id and the state; the presenter does not hear itself; its dropped
 * connection's presence is cleared on the other instance.
 */
static void
test_presence_with_stated_id_cleared_on_drop(void)
{
	const char *doc = doc_name("presence");
	const char *id = client_name("pa");
	wsc *a = connect_to('a'), *b = connect_to('b');
	json_t *m;

	free(hello(a));
	free(hello(b));
	subscribe(a, doc);
	subscribe(b, doc);
	wsc_sendf(a,
			  "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"index\":1,"
			  "\"name\":\"Ada\"},\"client\":\"%s\"}",
			  doc, id);
	m = expect(b, "presence", "presence");
	if (m)
	{
		check(strcmp(str_of(m, "client"), id) == 0 &&
				  strcmp(str_of(json_object_get(m, "state"), "name"), "Ada") ==
					  0,
			  "presence reaches the other instance with client and state");
		json_decref(m);
	}
	expect_quiet(a, "the presenter does not hear itself");
	wsc_drop(a);
	m = expect(b, "presence", "presence cleared");
	check(m && json_object_size(json_object_get(m, "state")) == 0,
		  "a dropped connection's presence is cleared ({})");
	json_decref(m);
	wsc_free(a);
	wsc_free(b);
}

/*
 * Presence under the hello id reaches subscribers on the same and the
 * other instance with the state as sent; it is cleared on both by an
 * unsubscribe (after which presence is not_subscribed), on the other
 * instance by a clean close, and on the same instance by a dead
 * connection.  A state that is not an object, or none, is a bad_message.
 */
static void
test_presence_cleared_when_subscription_ends(void)
{
	const char *doc = doc_name("presence2");
	wsc *a1 = connect_to('a'), *a2 = connect_to('a'), *b = connect_to('b');
	char *id1 = hello(a1), *idb = hello(b);
	json_t *m;

	free(hello(a2));
	subscribe(a1, doc);
	subscribe(a2, doc);
	subscribe(b, doc);
	wsc_sendf(a1,
			  "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"index\":3,"
			  "\"length\":0,\"name\":\"Grace \\u00e9\"}}",
			  doc);
	for (int i = 0; i < 2; i++)
	{
		m = expect(i ? b : a2, "presence", "presence to others");
		check(m && strcmp(str_of(m, "doc"), doc) == 0 &&
				  strcmp(str_of(m, "client"), id1) == 0 &&
				  same_json(json_object_get(m, "state"),
							"{\"index\":3,\"length\":0,\"name\":"
							"\"Grace \\u00e9\"}",
							"state"),
			  "presence reaches a subscriber on the %s instance, with the "
			  "hello id and the state as sent",
			  i ? "other" : "same");
		json_decref(m);
	}
	expect_quiet(a1, "the presenter does not hear its own presence");
	wsc_sendf(a1, "{\"type\":\"unsubscribe\",\"doc\":\"%s\"}", doc);
	for (int i = 0; i < 2; i++)
	{
		m = expect(i ? b : a2, "presence", "presence cleared by unsubscribe");
		check(m && strcmp(str_of(m, "client"), id1) == 0 &&
				  json_is_object(json_object_get(m, "state")) &&
				  json_object_size(json_object_get(m, "state")) == 0,
			  "unsubscribe clears the presence ({}) on the %s instance",
			  i ? "other" : "same");
		json_decref(m);
	}
	wsc_sendf(a1, "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{}}", doc);
	expect_error(a1, "not_subscribed", doc, "presence after unsubscribe");
	wsc_sendf(a2, "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":[1]}", doc);
	expect_error(a2, "bad_message", NULL, "presence whose state is an array");
	wsc_sendf(a2, "{\"type\":\"presence\",\"doc\":\"%s\"}", doc);
	expect_error(a2, "bad_message", NULL, "presence without state");
	/* b presents, then closes cleanly */
	wsc_sendf(b, "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"i\":1}}",
			  doc);
	m = expect(a2, "presence", "presence from B");
	json_decref(m);
	wsc_close(b);
	m = expect(a2, "presence", "presence cleared by a clean close");
	check(m && strcmp(str_of(m, "client"), idb) == 0 &&
			  json_object_size(json_object_get(m, "state")) == 0,
		  "a clean close clears the presence ({}) on the other instance");
	json_decref(m);
	/* a3 presents on A, then its connection dies */
	{
		wsc *a3 = connect_to('a');
		char *id3 = hello(a3);

		subscribe(a3, doc);
		wsc_sendf(a3,
				  "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"i\":3}}",
				  doc);
		m = expect(a2, "presence", "presence from a3");
		json_decref(m);
		wsc_drop(a3);
		m = expect(a2, "presence", "presence cleared by a dead connection");
		check(m && strcmp(str_of(m, "client"), id3) == 0 &&
				  json_object_size(json_object_get(m, "state")) == 0,
			  "a dead connection's presence is cleared ({}) on the same "
			  "instance");
		json_decref(m);
		free(id3);
		wsc_free(a3);
	}
	free(id1);
	free(idb);
	wsc_free(a1);
	wsc_free(a2);
	wsc_free(b);
}

/*
 * A flood of presence from one connection (50 states at once, a cursor
 * dragged by a script) is coalesced: the other subscribers get at most
 * about ten a second of it, the last state among them, where every one
 * used to be a query and a NOTIFY to every instance.
 */
static void
test_presence_flood_coalesced(void)
{
	const char *doc = doc_name("presence-flood");
	wsc *a = connect_to('a'), *b = connect_to('b');
	int64_t t0, last = -1;
	int got = 0;
	json_t *m;

	free(hello(a));
	free(hello(b));
	subscribe(a, doc);
	subscribe(b, doc);
	t0 = wsc_now_us();
	for (int i = 1; i <= 50; i++)
		wsc_sendf(
			b, "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"i\":%d}}",
			doc, i);
	while (last != 50 && (m = next_json(a, 2000)) != NULL)
	{
		if (strcmp(type_of(m), "presence") == 0)
		{
			got++;
			last = int_of(json_object_get(m, "state"), "i");
		}
		json_decref(m);
	}
	{
		int64_t ms = (wsc_now_us() - t0) / 1000;

		check(last == 50 && got <= ms / 100 + 2,
			  "50 presence states at once: %d reach the other instance in "
			  "%lld ms (at most one per 100 ms), the last one last (%lld)",
			  got, (long long) ms, (long long) last);
	}
	wsc_free(a);
	wsc_free(b);
}

const harness_test proto_presence[] = {
	{"presence_with_stated_id_cleared_on_drop",
	 test_presence_with_stated_id_cleared_on_drop},
	{"presence_cleared_when_subscription_ends",
	 test_presence_cleared_when_subscription_ends},
	{"presence_flood_coalesced", test_presence_flood_coalesced},
	{NULL, NULL},
};
