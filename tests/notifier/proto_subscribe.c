/*
 * proto_subscribe.c — subscribing (docs/protocol.md, "Subscribing"): the
 * snapshot, the stream after it, resuming from a revision, subscribing
 * again, unsubscribing, a deleted document, and many subscribers sharing
 * one snapshot query.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/*
 * A subscribe with create answers with the new, empty document (revision
 * 0, one newline); the stream goes on with every later change; a subscribe
 * to an existing document without create gets a snapshot equal to
 * collab.content, unknown fields ignored.
 */
static void
test_snapshot_then_changes(void)
{
	const char *doc = doc_name("snap");
	wsc *b = connect_to('b'), *a = connect_to('a');
	const char *p[1] = {doc};
	json_t *m;
	char *content;

	free(hello(b));
	free(hello(a));
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc);
	m = expect(b, "snapshot", "subscribe with create");
	check(m && strcmp(str_of(m, "doc"), doc) == 0 && int_of(m, "rev") == 0 &&
			  same_json(json_object_get(m, "content"),
						"{\"ops\":[{\"insert\":\"\\n\"}]}", "content"),
		  "subscribe with create: a snapshot of the new, empty document "
		  "(revision 0, one newline)");
	json_decref(m);
	PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"A\","
				"\"attributes\":{\"bold\":true}}]')",
				1, p));
	PQclear(sql("SELECT collab.submit($1, 1, '[{\"retain\":1},"
				"{\"insert\":{\"image\":\"x.png\"}}]')",
				1, p));
	for (int r = 1; r <= 2; r++)
	{
		m = expect(b, "change", "changes after the snapshot");
		check(m && int_of(m, "rev") == r,
			  "the snapshot's stream goes on with revision %d", r);
		json_decref(m);
	}
	/* an existing document, without create, an unknown field ignored */
	wsc_sendf(a,
			  "{\"type\":\"subscribe\",\"doc\":\"%s\",\"whatever\":[1],"
			  "\"create\":false}",
			  doc);
	m = expect(a, "snapshot", "subscribe to an existing document");
	content = sql_content(doc);
	check(m && int_of(m, "rev") == 2 &&
			  same_json(json_object_get(m, "content"), content, "content"),
		  "subscribe (an unknown field ignored): a snapshot at the head "
		  "equal to collab.content");
	json_decref(m);
	free(content);
	wsc_free(a);
	wsc_free(b);
}

/*
 * Subscribing again to a subscribed document restarts its stream: without
 * rev a snapshot at the head, with rev the changes after it and no
 * duplicate; a resume at the head sends nothing until the next change.
 */
static void
test_subscribe_again_restarts_stream(void)
{
	const char *doc = doc_name("resnap");
	wsc *b = connect_to('b');
	const char *p[1] = {doc};
	json_t *m;

	free(hello(b));
	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"A\","
				"\"attributes\":{\"bold\":true}}]')",
				1, p));
	PQclear(sql("SELECT collab.submit($1, 1, '[{\"retain\":1},"
				"{\"insert\":{\"image\":\"x.png\"}}]')",
				1, p));
	subscribe(b, doc);
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\"}", doc);
	m = expect(b, "snapshot", "subscribe again");
	check(m && int_of(m, "rev") == 2,
		  "subscribing again without rev: a snapshot at the head");
	json_decref(m);
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":1}", doc);
	m = expect(b, "change", "subscribe again with rev");
	check(m && int_of(m, "rev") == 2 &&
			  same_json(json_object_get(m, "change"),
						"{\"ops\":[{\"retain\":1},{\"insert\":{\"image\":"
						"\"x.png\"}}]}",
						"change"),
		  "subscribing again with rev 1: revision 2, the embed");
	json_decref(m);
	expect_quiet(b, "... and nothing more (no duplicate)");
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":2}", doc);
	expect_quiet(b, "a resume at the head sends nothing until a change");
	PQclear(sql("SELECT collab.submit($1, 2, '[{\"insert\":\"z\"}]')", 1, p));
	m = expect(b, "change", "a live change after resuming at the head");
	check(m && int_of(m, "rev") == 3,
		  "after a resume at the head, the next change is revision 3");
	json_decref(m);
	wsc_free(b);
}

/*
 * A resume from revision R brings every change after R, in order; a resume
 * from a revision ahead of the head brings a snapshot at the head instead.
 */
static void
test_resume_from_revision(void)
{
	const char *doc = doc_name("resume");
	const char *p[1] = {doc};
	wsc *a = connect_to('a'), *b = connect_to('b');
	json_t *m;

	free(hello(a));
	free(hello(b));
	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"Hi\"}]')", 1, p));
	PQclear(sql("SELECT collab.submit($1, 1, '[{\"retain\":2},"
				"{\"insert\":\"!\"}]')",
				1, p));
	PQclear(sql("SELECT collab.submit($1, 2, '[{\"insert\":\"x\"}]')", 1, p));
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":1}", doc);
	for (int r = 2; r <= 3; r++)
	{
		m = expect(b, "change", "resume");
		check(m && int_of(m, "rev") == r, "resume from 1 delivers revision %d",
			  r);
		json_decref(m);
	}
	wsc_sendf(a, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":99}", doc);
	m = expect(a, "snapshot", "resume ahead of the head");
	check(m && int_of(m, "rev") == 3,
		  "resume ahead of the head gets a snapshot at the head");
	json_decref(m);
	wsc_free(a);
	wsc_free(b);
}

/* After an unsubscribe nothing more arrives; other subscribers go on. */
static void
test_unsubscribe_stops_stream(void)
{
	const char *doc = doc_name("unsub");
	const char *p[1] = {doc};
	wsc *a = connect_to('a'), *b = connect_to('b');
	json_t *m;

	free(hello(a));
	free(hello(b));
	subscribe(a, doc);
	subscribe(b, doc);
	wsc_sendf(b, "{\"type\":\"unsubscribe\",\"doc\":\"%s\"}", doc);
	wsc_next(b, 200); /* let the unsubscribe land */
	PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"x\"}]')", 1, p));
	expect_quiet(b, "after unsubscribe, no more changes");
	m = expect(a, "change", "change after B unsubscribed");
	json_decref(m);
	wsc_free(a);
	wsc_free(b);
}

/* Deleting a document ends its subscriptions with a "deleted" error. */
static void
test_deleted_document_ends_subscription(void)
{
	const char *doc = doc_name("deleted");
	const char *p[1] = {doc};
	wsc *b = connect_to('b');

	free(hello(b));
	subscribe(b, doc);
	PQclear(sql("SELECT collab.delete_document($1)", 1, p));
	expect_error(b, "deleted", doc, "a deleted document");
	wsc_free(b);
}

/*
 * Many subscribers at once to one large document share one snapshot
 * query, and the stream goes on for each; a failed one (a missing
 * document) fails them all, each with its error.
 */
static void
test_subscribers_share_snapshot_query(void)
{
	enum {
		N = 24
	};
	const char *doc = doc_name("shared");
	const char *missing = doc_name("shared-missing");
	const char *p[1] = {doc};
	wsc *c[N];
	long long before, after;
	char *content;
	int good = 0;

	/* 20,000 ops: long enough to build that the subscribes all come
	 * while the first one's query runs */
	PQclear(
		sql("SELECT collab.create_document($1, jsonb_build_object('ops', "
			"jsonb_agg(CASE WHEN i % 2 = 0 THEN jsonb_build_object("
			"'insert', 'w' || i, 'attributes', '{\"bold\":true}'::jsonb) "
			"ELSE jsonb_build_object('insert', 'w' || i) END ORDER BY i))) "
			"FROM generate_series(1, 20000) i",
			1, p));
	content = sql_content(doc);
	for (int i = 0; i < N; i++)
		c[i] = connect_to('a');
	for (int i = 0; i < N; i++)
		free(hello(c[i]));
	before = metric('a', "collab_notifier_snapshots_total");
	for (int i = 0; i < N; i++)
		wsc_sendf(c[i], "{\"type\":\"subscribe\",\"doc\":\"%s\"}", doc);
	for (int i = 0; i < N; i++)
	{
		json_t *m = expect(c[i], "snapshot", "one of many subscribers");

		if (m && int_of(m, "rev") == 0 &&
			same_json(json_object_get(m, "content"), content, "content"))
			good++;
		json_decref(m);
	}
	after = metric('a', "collab_notifier_snapshots_total");
	check(good == N,
		  "%d subscribers at once: each a snapshot at revision 0 equal to "
		  "collab.content (%d were)",
		  N, good);
	check(before >= 0 && after - before >= 1 && after - before <= N / 2,
		  "... from at most %d snapshot queries, not one each (%lld)", N / 2,
		  after - before);
	/* the stream goes on for every one of them */
	PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"x\"}]')", 1, p));
	good = 0;
	for (int i = 0; i < N; i++)
	{
		json_t *m = expect(c[i], "change", "the change after the snapshot");

		good += m && int_of(m, "rev") == 1;
		json_decref(m);
	}
	check(good == N, "then revision 1 reaches all %d (%d did)", N, good);
	for (int i = 0; i < 6; i++)
		wsc_sendf(c[i], "{\"type\":\"subscribe\",\"doc\":\"%s\"}", missing);
	for (int i = 0; i < 6; i++)
		expect_error(c[i], "not_found", NULL,
					 "one of several subscribers to a missing document");
	for (int i = 0; i < N; i++)
		wsc_free(c[i]);
	free(content);
}

const harness_test proto_subscribe[] = {
	{"snapshot_then_changes", test_snapshot_then_changes},
	{"subscribe_again_restarts_stream", test_subscribe_again_restarts_stream},
	{"resume_from_revision", test_resume_from_revision},
	{"unsubscribe_stops_stream", test_unsubscribe_stops_stream},
	{"deleted_document_ends_subscription",
	 test_deleted_document_ends_subscription},
	{"subscribers_share_snapshot_query",
	 test_subscribers_share_snapshot_query},
	{NULL, NULL},
};
