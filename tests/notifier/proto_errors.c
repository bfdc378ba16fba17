/*
 * proto_errors.c — what a client gets wrong (docs/protocol.md, "Errors",
 * "Identity", "Transport"): messages that are not a request, mistyped or
 * missing fields, client ids, requests for documents missing or not
 * subscribed, rejected submits, and the subprotocol.  And what a client
 * is told, and the log keeps, when it is not the client's fault: an
 * internal error is a correlation id, its details in the log, where ids
 * with control characters are escaped (this one reads A's log: --a-log).
 */
#define _GNU_SOURCE /* strcasestr */
#include "harness.h"
#include "raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Text that is not JSON, not an object, without a type or of an unknown
 * type, and requests without their required fields: bad_message (with the
 * doc when there is one), and the connection goes on.
 */
static void
test_malformed_messages_are_bad_message(void)
{
	const char *doc = doc_name("errors");
	wsc *a = connect_to('a');

	free(hello(a));
	wsc_send(a, "not json");
	expect_error(a, "bad_message", NULL, "not JSON");
	wsc_send(a, "[1,2]");
	expect_error(a, "bad_message", NULL, "not an object");
	wsc_send(a, "{\"doc\":\"x\"}");
	expect_error(a, "bad_message", NULL, "no type");
	wsc_send(a, "{\"type\":\"dance\",\"doc\":\"x\"}");
	expect_error(a, "bad_message", NULL, "unknown type");
	wsc_send(a, "{\"type\":\"subscribe\"}");
	expect_error(a, "bad_message", NULL, "subscribe without doc");
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[]}",
			  doc);
	expect_error(a, "bad_message", doc, "submit without seq");
	wsc_sendf(a, "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"seq\":1}",
			  doc);
	expect_error(a, "bad_message", doc, "submit without change");
	wsc_free(a);
}

/*
 * A subscribe without create to a missing document is not_found; a submit
 * or presence for a document the connection has not subscribed is
 * not_subscribed.
 */
static void
test_missing_or_unsubscribed_document(void)
{
	const char *doc = doc_name("errors");
	wsc *a = connect_to('a');

	free(hello(a));
	wsc_sendf(a, "{\"type\":\"subscribe\",\"doc\":\"%s\"}",
			  doc_name("missing"));
	expect_error(a, "not_found", NULL,
				 "subscribe to a missing document without create");
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"insert\":\"a\"}],\"seq\":1}",
			  doc);
	expect_error(a, "not_subscribed", doc, "submit before subscribing");
	wsc_sendf(a, "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{}}", doc);
	expect_error(a, "not_subscribed", doc, "presence before subscribing");
	wsc_free(a);
}

/*
 * Submits the database rejects (a change longer than the document, a base
 * revision ahead of the head, a malformed change) are invalid_change with
 * the submit's seq, and change nothing.
 */
static void
test_rejected_submits_change_nothing(void)
{
	const char *doc = doc_name("rejected");
	wsc *a = connect_to('a');

	free(hello(a));
	subscribe(a, doc);
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"retain\":100},{\"insert\":\"a\"}],\"seq\":1}",
			  doc);
	expect_error_seq(a, "invalid_change", doc, 1,
					 "a change longer than the document");
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":5,\"change\":[{"
			  "\"insert\":\"a\"}],\"seq\":2}",
			  doc);
	expect_error_seq(a, "invalid_change", doc, 2,
					 "a base revision ahead of the head");
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"bogus\":1}],\"seq\":3}",
			  doc);
	expect_error_seq(a, "invalid_change", doc, 3, "a malformed change");
	{
		const char *p[1] = {doc};
		PGresult *r =
			sql("SELECT head FROM collab.documents WHERE doc_id = $1", 1, p);

		check(strcmp(PQgetvalue(r, 0, 0), "0") == 0,
			  "rejected submits changed nothing (head %s)",
			  PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	wsc_free(a);
}

/*
 * Every mistyped or missing field is bad_message; a client id is 1 to 200
 * bytes and, once stated, the connection's for good: the same one again is
 * fine, a different one is bad_message.
 */
static void
test_mistyped_fields_and_client_ids(void)
{
	static const struct {
		const char *msg, *what;
	} cases[] = {
		{"{\"type\":\"subscribe\",\"doc\":5}", "a doc that is a number"},
		{"{\"type\":7,\"doc\":\"x\"}", "a type that is a number"},
		{"{\"type\":\"submit\",\"doc\":\"D\",\"rev\":0,\"change\":[],"
		 "\"seq\":0}",
		 "seq 0"},
		{"{\"type\":\"submit\",\"doc\":\"D\",\"rev\":0,\"change\":[],"
		 "\"seq\":\"1\"}",
		 "seq as a string"},
		{"{\"type\":\"submit\",\"doc\":\"D\",\"rev\":\"0\",\"change\":[],"
		 "\"seq\":1}",
		 "rev as a string"},
		{"{\"type\":\"submit\",\"doc\":\"D\",\"change\":[],\"seq\":1}",
		 "submit without rev"},
		{"{\"type\":\"subscribe\",\"doc\":\"D\",\"rev\":\"1\"}",
		 "subscribe with rev as a string"},
		{"{\"type\":\"unsubscribe\"}", "unsubscribe without doc"},
		{"{\"type\":\"fetch\"}", "fetch without doc"},
		{"{\"type\":\"subscribe\",\"doc\":\"D\",\"client\":\"\"}",
		 "an empty client id"},
		{"{\"type\":\"subscribe\",\"doc\":\"D\",\"client\":42}",
		 "a client id that is a number"},
	};
	const char *doc = doc_name("fields");
	char big_id[202], msg[512];
	wsc *b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
	{
		char text[256];
		const char *d = strchr(cases[i].msg, 'D');

		/* a fresh connection each: a rejected id must not stick */
		b = connect_to('b');
		free(hello(b));
		if (d && d[1] == '"')
			snprintf(text, sizeof(text), "%.*s%s%s", (int) (d - cases[i].msg),
					 cases[i].msg, doc, d + 1);
		else
			snprintf(text, sizeof(text), "%s", cases[i].msg);
		wsc_send(b, text);
		expect_error(b, "bad_message", NULL, cases[i].what);
		wsc_free(b);
	}
	/* ids are 1 to 200 bytes */
	memset(big_id, 'i', 201);
	big_id[201] = '\0';
	b = connect_to('b');
	free(hello(b));
	snprintf(msg, sizeof(msg),
			 "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true,"
			 "\"client\":\"%s\"}",
			 doc, big_id);
	wsc_send(b, msg);
	expect_error(b, "bad_message", NULL, "a client id of 201 bytes");
	big_id[200] = '\0';
	snprintf(msg, sizeof(msg),
			 "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true,"
			 "\"client\":\"%s\"}",
			 doc, big_id);
	wsc_send(b, msg);
	{
		json_t *m = expect(b, "snapshot", "a client id of 200 bytes");

		check(m != NULL, "a client id of 200 bytes is accepted");
		json_decref(m);
	}
	/* the same id again is no change of id */
	wsc_send(b, msg);
	{
		json_t *m = expect(b, "snapshot", "the same client id again");

		check(m != NULL, "stating the same client id again is fine");
		json_decref(m);
	}
	wsc_free(b);
	/* a different one is */
	b = connect_to('a');
	free(hello(b));
	wsc_sendf(b,
			  "{\"type\":\"unsubscribe\",\"doc\":\"x\",\"client\":\"one\"}");
	wsc_sendf(b,
			  "{\"type\":\"unsubscribe\",\"doc\":\"x\",\"client\":\"two\"}");
	expect_error(b, "bad_message", NULL, "a second, different client id");
	wsc_free(b);
}

/* The subprotocol "collab" is accepted (and named in the answer). */
static void
test_subprotocol_collab_accepted(void)
{
	raw *r = raw_connect('b', 0, "collab");
	json_t *m;

	if (!r)
		return;
	check(strcasestr(r->head, "\r\nSec-WebSocket-Protocol: collab") != NULL,
		  "asked for subprotocol collab, the handshake names it");
	m = raw_next_json(r, WAIT_MS);
	check(m && strcmp(type_of(m), "hello") == 0, "... and hello follows (%s)",
		  m ? type_of(m) : "nothing");
	json_decref(m);
	raw_free(r);
}

/*
 * A failure the client did not cause (here a trigger that raises XX000 on
 * create_document, with a secret in its message) is an internal error
 * whose text is "internal error (id N)" and nothing of the server's; the
 * log has the same N with the database's message and SQLSTATE, and the
 * document id, whose newline and ESC are escaped: a client cannot forge a
 * line of the log or a terminal escape in it.
 */
static void
test_internal_error_tells_the_client_an_id_only(void)
{
	/* the document id, as JSON, as the client gets it back, as logged */
	const char *json_doc = doc_name("internal-\\u0001\\n\\u001b[2J");
	const char *suffix = json_doc + strlen("internal-\\u0001\\n\\u001b[2J");
	char doc[160], logged[512];
	unsigned long long id = 0;
	int used = 0;
	json_t *m;
	wsc *a;

	if (!harness_a_log())
	{
		printf("skipped: no --a-log\n");
		return;
	}
	snprintf(doc, sizeof(doc), "internal-\x01\n\x1b[2J%s", suffix);
	PQclear(sql("CREATE OR REPLACE FUNCTION public.collab_test_fail() "
				"RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
				"RAISE EXCEPTION 'secret: the password is hunter2' "
				"USING ERRCODE = 'XX000'; END$$",
				0, NULL));
	PQclear(sql("CREATE TRIGGER collab_test_fail BEFORE INSERT ON "
				"collab.documents FOR EACH ROW "
				"WHEN (NEW.doc_id LIKE 'internal-%') "
				"EXECUTE FUNCTION public.collab_test_fail()",
				0, NULL));

	a = connect_to('a');
	free(hello(a));
	wsc_sendf(a, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  json_doc);
	m = expect(a, "error", "a subscribe whose create_document fails");
	if (m)
	{
		const char *text = str_of(m, "message");

		check(strcmp(str_of(m, "code"), "internal") == 0 &&
				  strcmp(str_of(m, "doc"), doc) == 0,
			  "an internal error for the document (got %s)",
			  str_of(m, "code"));
		check(sscanf(text, "internal error (id %llu)%n", &id, &used) == 1 &&
				  (size_t) used == strlen(text),
			  "its text is \"internal error (id N)\" alone (got \"%s\")",
			  text);
		check(!strstr(text, "hunter2") && !strstr(text, "XX000"),
			  "... nothing of the database's message");
		json_decref(m);
	}
	wsc_free(a);
	snprintf(logged, sizeof(logged),
			 "internal error (id %llu): a subscribe of "
			 "internal-\\x01\\x0a\\x1b[2J%s failed: secret: the password "
			 "is hunter2 (XX000)",
			 id, suffix);
	check(id > 0 && a_log_has(logged, WAIT_MS),
		  "A's log has the same id with the details: %s", logged);
	check(!a_log_has(doc, 0), "... and never the id's raw bytes");

	PQclear(sql("DROP TRIGGER collab_test_fail ON collab.documents", 0, NULL));
	PQclear(sql("DROP FUNCTION public.collab_test_fail()", 0, NULL));
}

/*
 * A (client, seq) reused for another change (client ids squatted, or a
 * client that lost its state): the second submit is duplicate_seq, never an
 * ack for the first's change, and nothing is written; the same change
 * again is still the first's ack.
 */
static void
test_reused_seq_is_duplicate_seq(void)
{
	const char *doc = doc_name("dupseq"), *id = client_name("dupseq");
	wsc *a = connect_to('a'), *b = connect_to('b');
	char *content;
	json_t *m;

	free(hello(a));
	free(hello(b));
	subscribe(a, doc);
	subscribe(b, doc);
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"seq\":1,"
			  "\"client\":\"%s\",\"change\":[{\"insert\":\"A\"}]}",
			  doc, id);
	m = expect(a, "ack", "the first submit of seq 1");
	json_decref(m);
	json_decref(expect(b, "change", "b sees it"));
	wsc_sendf(b,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"seq\":1,"
			  "\"client\":\"%s\",\"change\":[{\"insert\":\"B\"}]}",
			  doc, id);
	expect_error_seq(b, "duplicate_seq", doc, 1,
					 "the same client id and seq with another change");
	wsc_sendf(b,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"seq\":1,"
			  "\"change\":[{\"insert\":\"A\"}]}",
			  doc);
	m = expect(b, "ack", "the same change again");
	check(m && int_of(m, "rev") == 1, "... is the first's ack (revision 1)");
	json_decref(m);
	content = sql_content(doc);
	check(strcmp(content, "{\"ops\": [{\"insert\": \"A\\n\"}]}") == 0,
		  "B was never written (%s)", content);
	free(content);
	wsc_free(a);
	wsc_free(b);
}

const harness_test proto_errors[] = {
	{"malformed_messages_are_bad_message",
	 test_malformed_messages_are_bad_message},
	{"missing_or_unsubscribed_document",
	 test_missing_or_unsubscribed_document},
	{"rejected_submits_change_nothing", test_rejected_submits_change_nothing},
	{"mistyped_fields_and_client_ids", test_mistyped_fields_and_client_ids},
	{"subprotocol_collab_accepted", test_subprotocol_collab_accepted},
	{"internal_error_tells_the_client_an_id_only",
	 test_internal_error_tells_the_client_an_id_only},
	{"reused_seq_is_duplicate_seq", test_reused_seq_is_duplicate_seq},
	{NULL, NULL},
};
