/*
 * proto_submit.c — submitting (docs/protocol.md, "Submitting", "Changes"):
 * the ack to the submitter and the change to everyone else on both
 * instances, changes made through SQL, resubmits applied once, changes too
 * big for a NOTIFY payload, and gap-free streams under two writers.
 */
#include "harness.h"
#include "raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A submit is acknowledged to its submitter (and no change message sent to
 * it) and reaches the other subscribers, on the same and the other
 * instance, as a change with the submitter's client and seq; a change
 * submitted through SQL reaches both instances with null client and seq.
 */
static void
test_submit_ack_and_fanout(void)
{
	const char *doc = doc_name("basic");
	wsc *a = connect_to('a'), *a2 = connect_to('a'), *b = connect_to('b');
	char *ida = hello(a);
	json_t *m;
	json_int_t rev;

	free(hello(a2));
	free(hello(b));
	rev = subscribe(a, doc);
	check(rev == 0, "a new document's snapshot is revision 0 (got %lld)",
		  (long long) rev);
	subscribe(a2, doc);
	subscribe(b, doc);
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":{"
			  "\"ops\":[{\"insert\":\"Hi\"}]},\"seq\":1}",
			  doc);
	m = expect(a, "ack", "submit");
	if (m)
	{
		check(int_of(m, "rev") == 1 && int_of(m, "seq") == 1 &&
				  strcmp(str_of(m, "doc"), doc) == 0,
			  "the submitter gets ack rev 1 seq 1");
		json_decref(m);
	}
	for (int i = 0; i < 2; i++)
	{
		wsc *other = i ? b : a2;

		m = expect(other, "change", "submit seen by another subscriber");
		if (m)
		{
			json_t *want =
				json_loads("{\"ops\":[{\"insert\":\"Hi\"}]}", 0, NULL);

			check(int_of(m, "rev") == 1 && int_of(m, "seq") == 1 &&
					  strcmp(str_of(m, "client"), ida) == 0 &&
					  json_equal(json_object_get(m, "change"), want),
				  "a subscriber on instance %s gets change rev 1 with client "
				  "and seq",
				  i ? "B" : "A");
			json_decref(want);
			json_decref(m);
		}
	}
	expect_quiet(a, "the submitter gets no change message for its own submit");

	/* a change submitted through SQL reaches both instances */
	{
		const char *p[1] = {doc};

		PQclear(sql("SELECT collab.submit($1, 1, "
					"'[{\"retain\":2},{\"insert\":\"!\"}]')",
					1, p));
	}
	for (int i = 0; i < 2; i++)
	{
		m = expect(i ? b : a, "change", "SQL submit");
		if (m)
		{
			check(int_of(m, "rev") == 2 &&
					  json_is_null(json_object_get(m, "client")) &&
					  json_is_null(json_object_get(m, "seq")),
				  "a change submitted through SQL reaches instance %s with "
				  "null client and seq",
				  i ? "B" : "A");
			json_decref(m);
		}
	}
	free(ida);
	wsc_free(a);
	wsc_free(a2);
	wsc_free(b);
}

/*
 * A client that lost its connection after an ack comes back on the other
 * instance and resubmits the same (client, seq): it is confirmed, and the
 * change is in the log once.
 */
static void
test_resubmit_after_reconnect_applied_once(void)
{
	const char *doc = doc_name("resubmit");
	const char *id = client_name("re");
	wsc *a = connect_to('a'), *b;
	const char *p[1] = {doc};
	PGresult *r;
	json_t *m;
	bool confirmed = false;

	free(hello(a));
	subscribe(a, doc);
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"insert\":\"once\"}],\"client\":\"%s\",\"seq\":1}",
			  doc, id);
	m = expect(a, "ack", "first submit");
	json_decref(m);
	wsc_drop(a);
	wsc_free(a);
	/* the client comes back on the other instance and resubmits */
	b = connect_to('b');
	free(hello(b));
	wsc_sendf(b,
			  "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":0,\"client\":"
			  "\"%s\"}",
			  doc, id);
	wsc_sendf(b,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"insert\":\"once\"}],\"seq\":1}",
			  doc);
	for (int i = 0; i < 2 && (m = next_json(b, WAIT_MS)); i++)
	{
		if ((strcmp(type_of(m), "change") == 0 ||
			 strcmp(type_of(m), "ack") == 0) &&
			int_of(m, "rev") == 1 && int_of(m, "seq") == 1)
			confirmed = true;
		json_decref(m);
	}
	check(confirmed, "the resubmit is confirmed with revision 1 (a change "
					 "carrying its seq, or an ack)");
	r = sql("SELECT count(*), max(rev) FROM collab.changes($1, 0)", 1, p);
	check(strcmp(PQgetvalue(r, 0, 0), "1") == 0,
		  "the resubmitted change is in the log once (%s rows)",
		  PQgetvalue(r, 0, 0));
	PQclear(r);
	wsc_free(b);
}

/*
 * A submit that committed but whose ack was lost (the connection cut after
 * the commit; made here through SQL with the client's id and seq, since a
 * cut before the notifier hands the submit to a pool connection drops it,
 * and which of the two a cut meets is a race): the client comes back
 * without rev, so its snapshot already has the change; each resubmit is
 * answered with an ack for that revision (not after the client's
 * revision) and no change message; the same change under a new seq is a
 * new change.
 */
static void
test_resubmit_of_change_in_snapshot_acked(void)
{
	const char *doc = doc_name("resub2");
	const char *id = client_name("rs2");
	const char *p[2] = {doc, id};
	wsc *b;
	json_t *m;
	PGresult *r;

	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"one\"}]', "
				"$2, 1)",
				2, p));
	b = connect_to('b');
	free(hello(b));
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"client\":\"%s\"}",
			  doc, id);
	m = expect(b, "snapshot", "subscribe after the cut");
	check(m && int_of(m, "rev") == 1,
		  "the snapshot has the committed submit (revision 1)");
	json_decref(m);
	wsc_sendf(b,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"insert\":\"one\"}],\"seq\":1}",
			  doc);
	m = expect(b, "ack", "resubmit of a change the snapshot has");
	check(m && int_of(m, "rev") == 1 && int_of(m, "seq") == 1,
		  "its resubmit gets an ack for revision 1 (not after the client's "
		  "revision: it already has it)");
	json_decref(m);
	expect_quiet(b, "... and no change message");
	/* a second resubmit, later on: same answer, still once in the log */
	wsc_sendf(b,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"insert\":\"one\"}],\"seq\":1}",
			  doc);
	m = expect(b, "ack", "a second resubmit");
	check(m && int_of(m, "rev") == 1, "a second resubmit: the same ack");
	json_decref(m);
	/* a new seq with the same change is a new change */
	wsc_sendf(b,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":1,\"change\":[{"
			  "\"insert\":\"one\"}],\"seq\":2}",
			  doc);
	m = expect(b, "ack", "a new seq");
	check(m && int_of(m, "rev") == 2 && int_of(m, "seq") == 2,
		  "the same change under a new seq is a new revision (2)");
	json_decref(m);
	r = sql("SELECT count(*) FILTER (WHERE client_seq = 1), count(*) FROM "
			"collab.changes($1, 0)",
			1, p);
	check(strcmp(PQgetvalue(r, 0, 0), "1") == 0 &&
			  strcmp(PQgetvalue(r, 0, 1), "2") == 0,
		  "the log has seq 1 once and two changes (%s, %s)",
		  PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	PQclear(r);
	wsc_free(b);
}

/* The insert of op I of M's change, NULL if there is none. */
static const char *
insert_of(json_t *m, size_t i)
{
	json_t *ops = json_object_get(json_object_get(m, "change"), "ops");

	return json_string_value(
		json_object_get(json_array_get(ops, i), "insert"));
}

/*
 * Changes too big for a NOTIFY payload (sent by reference) reach every
 * subscriber whole: 12,000 ASCII bytes submitted on A to a subscriber on
 * B; 9,000 bytes of three-byte characters (3,000 UTF-16 units) through SQL
 * to both instances, and through a WebSocket to the same and the other
 * instance.
 */
static void
test_big_changes_arrive_whole(void)
{
	const char *doc = doc_name("big"), *doc2 = doc_name("big2");
	const char *p[2] = {doc2, NULL};
	wsc *a = connect_to('a'), *a2 = connect_to('a'), *b = connect_to('b');
	size_t n = 12000, n2 = 9000;
	char *text = malloc(n + 256), *ins = malloc(n + 1);
	char *ins2 = malloc(n2 + 1), *change = malloc(n2 + 64),
		 *msg = malloc(n2 + 256);
	json_t *m;

	if (!text || !ins || !ins2 || !change || !msg)
	{
		fprintf(stderr, "out of memory\n");
		exit(100);
	}
	free(hello(a));
	free(hello(a2));
	free(hello(b));

	/* 12,000 bytes through a WebSocket on A, to B */
	subscribe(a, doc);
	subscribe(b, doc);
	memset(ins, 'y', n);
	ins[n] = '\0';
	snprintf(text, n + 256,
			 "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			 "\"insert\":\"%s\"}],\"seq\":1}",
			 doc, ins);
	wsc_send(a, text);
	m = expect(a, "ack", "a big submit");
	json_decref(m);
	m = expect(b, "change", "a big change on the other instance");
	if (m)
	{
		const char *got = insert_of(m, 0);

		check(int_of(m, "rev") == 1 && got && strlen(got) == n,
			  "a change too big for a NOTIFY payload reaches the other "
			  "instance whole");
		json_decref(m);
	}
	wsc_sendf(a, "{\"type\":\"unsubscribe\",\"doc\":\"%s\"}", doc);
	wsc_sendf(b, "{\"type\":\"unsubscribe\",\"doc\":\"%s\"}", doc);

	/* 9,000 bytes of € through SQL, then through a WebSocket */
	subscribe(a, doc2);
	subscribe(a2, doc2);
	subscribe(b, doc2);
	for (size_t i = 0; i < n2; i += 3)
		memcpy(ins2 + i, "\xe2\x82\xac", 3); /* € */
	ins2[n2] = '\0';
	snprintf(change, n2 + 64, "[{\"insert\":\"%s\"}]", ins2);
	p[1] = change;
	PQclear(sql("SELECT collab.submit($1, 0, $2::jsonb)", 2, p));
	for (int i = 0; i < 2; i++)
	{
		m = expect(i ? b : a, "change", "a big change through SQL");
		if (m)
		{
			const char *got = insert_of(m, 0);

			check(int_of(m, "rev") == 1 && got && strcmp(got, ins2) == 0 &&
					  json_is_null(json_object_get(m, "client")),
				  "a 9000-byte change through SQL reaches instance %s whole",
				  i ? "B" : "A");
			json_decref(m);
		}
	}
	m = expect(a2, "change", "a big change through SQL");
	json_decref(m);
	snprintf(msg, n2 + 256,
			 "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":1,\"change\":[{"
			 "\"retain\":3000},{\"insert\":\"%s\"}],\"seq\":1}",
			 doc2, ins2);
	wsc_send(a, msg);
	m = expect(a, "ack", "a big submit");
	check(m && int_of(m, "rev") == 2, "a big submit is acknowledged");
	json_decref(m);
	for (int i = 0; i < 2; i++)
	{
		m = expect(i ? b : a2, "change", "a big submitted change");
		check(m && int_of(m, "rev") == 2 && insert_of(m, 1) &&
				  strlen(insert_of(m, 1)) == n2,
			  "a 9000-byte submit reaches a subscriber on the %s instance "
			  "whole",
			  i ? "other" : "same");
		json_decref(m);
	}
	free(text);
	free(ins);
	free(ins2);
	free(change);
	free(msg);
	wsc_free(a);
	wsc_free(a2);
	wsc_free(b);
}

/*
 * Submits near the message limit (1 MiB on instance B), eight at once from
 * one client: each statement is larger than a socket buffer, so the
 * notifier must keep writing it over several writable callbacks (a lost
 * POLLOUT request once stalled such statements, and the pool with them).
 * All eight are acknowledged and no query is left pending.
 */
/*
 * Results at the limit, the other way: a resume from 0 reads the N
 * revisions of BYTES each back from the log (results of megabytes, over
 * several readable callbacks), and a subscribe reads the whole document's
 * snapshot; a client on the other instance gets both.
 */
static void
read_back_big_revisions(const char *doc, int n, size_t bytes, int wait_ms)
{
	wsc *a = connect_to('b');
	int changes = 0;
	bool sized = true;
	json_t *m;

	free(hello(a));
	wsc_sendf(a, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":0}", doc);
	while (changes < n && (m = next_json(a, wait_ms)) != NULL)
	{
		if (strcmp(type_of(m), "change") == 0)
		{
			json_t *ops = json_object_get(json_object_get(m, "change"), "ops"),
				   *op;
			size_t i, inserted = 0;

			/* the later ones were rebased: a retain, then the insert */
			json_array_foreach(ops, i, op)
			{
				const char *ins =
					json_string_value(json_object_get(op, "insert"));

				inserted += ins ? strlen(ins) : 0;
			}
			changes++;
			if (sized && (int_of(m, "rev") != changes || inserted != bytes))
			{
				printf("     revision %lld (want %d): %zu bytes inserted\n",
					   (long long) int_of(m, "rev"), changes, inserted);
				sized = false;
			}
		}
		json_decref(m);
	}
	check(changes == n && sized,
		  "a resume from 0 reads the %d revisions of %zu bytes back, in "
		  "order (%d)",
		  n, bytes, changes);
	wsc_free(a);
	a = connect_to('b');
	free(hello(a));
	wsc_sendf(a, "{\"type\":\"subscribe\",\"doc\":\"%s\"}", doc);
	m = next_json(a, wait_ms);
	check(m && strcmp(type_of(m), "snapshot") == 0 && int_of(m, "rev") == n &&
			  json_dumpb(json_object_get(m, "content"), NULL, 0, 0) >
				  (size_t) n * bytes,
		  "a subscribe reads the snapshot of all %d (over %zu bytes)", n,
		  (size_t) n * bytes);
	json_decref(m);
	wsc_free(a);
}

static void
test_submits_near_the_message_limit_all_acked(void)
{
	enum {
		N = 8,
		BYTES = 900 * 1000,
		WAIT_BIG_MS = 60000
	};
	const char *doc = doc_name("limit-sized");
	wsc *b = connect_to('b');
	char *text = malloc(BYTES + 256), *ins = malloc(BYTES + 1);
	int acks = 0, errors = 0;
	int64_t deadline;
	long long pending = -1;

	if (!text || !ins)
	{
		fprintf(stderr, "out of memory\n");
		exit(100);
	}
	free(hello(b));
	subscribe(b, doc);
	for (int i = 0; i < N; i++)
	{
		memset(ins, 'a' + i, BYTES);
		ins[BYTES] = '\0';
		snprintf(text, BYTES + 256,
				 "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":"
				 "[{\"insert\":\"%s\"}],\"seq\":%d}",
				 doc, ins, i + 1);
		wsc_send(b, text);
	}
	deadline = wsc_now_us() + (int64_t) WAIT_BIG_MS * 1000;
	while (acks + errors < N && wsc_now_us() < deadline)
	{
		json_t *m = next_json(b, 1000);

		if (!m)
			continue;
		if (strcmp(type_of(m), "ack") == 0)
			acks++;
		else if (strcmp(type_of(m), "error") == 0)
		{
			errors++;
			fprintf(stderr, "  error: %s %s\n", str_of(m, "code"),
					str_of(m, "message"));
		}
		json_decref(m);
	}
	check(acks == N,
		  "%d submits of 900 KB at once from one client: all acknowledged "
		  "(%d acks, %d errors)",
		  N, acks, errors);
	for (int i = 0; i < 50 && pending != 0; i++)
	{
		pending = metric('b', "collab_notifier_db_queries_pending");
		if (pending != 0)
			wsc_next(b, 100);
	}
	check(pending == 0, "... and no query is left pending (%lld)", pending);
	wsc_free(b);
	free(text);
	free(ins);
	read_back_big_revisions(doc, N, BYTES, WAIT_BIG_MS);
}

/*
 * Two writers on two instances, one change in flight each, and a third
 * subscriber: every writer gets all its acks, and every stream (changes and
 * acks) is gap-free and without duplicates.
 */
static void
test_two_writers_streams_gap_free(void)
{
	const char *doc = doc_name("order");
	wsc *w[2] = {connect_to('a'), connect_to('b')};
	wsc *watch = connect_to('b');
	json_int_t rev[2], last_watch, next_seq[2] = {1, 1};
	bool inflight[2] = {false, false}, ordered = true;
	int acked[2] = {0, 0}, rounds = 30;
	json_int_t pos[2];

	for (int i = 0; i < 2; i++)
		free(hello(w[i]));
	free(hello(watch));
	for (int i = 0; i < 2; i++)
		rev[i] = pos[i] = subscribe(w[i], doc);
	last_watch = subscribe(watch, doc);
	for (int64_t end = wsc_now_us() + 20 * 1000000LL;
		 (acked[0] < rounds || acked[1] < rounds) && wsc_now_us() < end;)
	{
		for (int i = 0; i < 2; i++)
		{
			json_t *m;

			if (!inflight[i] && acked[i] < rounds)
			{
				wsc_sendf(w[i],
						  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":%lld,"
						  "\"change\":[{\"insert\":\"%c\"}],\"seq\":%lld}",
						  doc, (long long) rev[i], 'a' + i,
						  (long long) next_seq[i]);
				inflight[i] = true;
			}
			while ((m = next_json(w[i], 1)) != NULL)
			{
				const char *t = type_of(m);

				if (strcmp(t, "change") == 0 || strcmp(t, "ack") == 0)
				{
					if (int_of(m, "rev") != pos[i] + 1)
						ordered = false;
					pos[i] = int_of(m, "rev");
					rev[i] = pos[i];
					if (strcmp(t, "ack") == 0)
					{
						if (int_of(m, "seq") != next_seq[i])
							ordered = false;
						next_seq[i]++;
						acked[i]++;
						inflight[i] = false;
					}
				}
				json_decref(m);
			}
		}
	}
	check(acked[0] == rounds && acked[1] == rounds,
		  "two writers on two instances got all their acks (%d, %d)", acked[0],
		  acked[1]);
	check(ordered, "each writer's stream of changes and acks had no gap and "
				   "no duplicate");
	{
		json_t *m;
		bool watch_ok = true;

		while (last_watch < 2 * rounds &&
			   (m = next_json(watch, WAIT_MS)) != NULL)
		{
			if (strcmp(type_of(m), "change") == 0)
			{
				if (int_of(m, "rev") != last_watch + 1)
					watch_ok = false;
				last_watch = int_of(m, "rev");
			}
			json_decref(m);
		}
		check(watch_ok && last_watch == 2 * rounds,
			  "a third subscriber saw revisions 1..%d in order (last %lld)",
			  2 * rounds, (long long) last_watch);
	}
	for (int i = 0; i < 2; i++)
		wsc_free(w[i]);
	wsc_free(watch);
}

/*
 * Submits that wait together go to the database together (docs/speed.md):
 * sixteen in one write, to two documents, reach instance b before any
 * connection is free to take them, and go in collab.submit_batch calls.
 * Each keeps its own outcome: the bad one is its own error, the others are
 * acknowledged with their documents' consecutive revisions, in the order
 * they were sent.
 */
static void
test_queued_submits_batched(void)
{
	const char *docs[2] = {doc_name("batch-x"), doc_name("batch-y")};
	long long batches = metric('b', "collab_notifier_db_batches_total");
	long long carried =
		metric('b', "collab_notifier_db_batched_submits_total");
	int64_t last_rev[2] = {0, 0};
	int acks = 0, errors = 0, in_order = 1, bad_seq = 0;
	char *frames = NULL, msg[256];
	size_t len = 0;
	raw *r;

	for (int d = 0; d < 2; d++)
		PQclear(sql("SELECT collab.create_document($1)", 1, &docs[d]));
	r = raw_connect('b', 0, NULL);
	if (!r)
		return;
	json_decref(raw_next_json(r, WAIT_MS)); /* hello */
	for (int d = 0; d < 2; d++)
	{
		json_t *m;

		raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\"}", docs[d]);
		m = raw_next_json(r, WAIT_MS);
		check(m && strcmp(type_of(m), "snapshot") == 0, "subscribed to %s",
			  docs[d]);
		json_decref(m);
	}
	for (int seq = 1; seq <= 16; seq++)
	{
		/* seq 7 retains past the end: it cannot apply */
		snprintf(msg, sizeof(msg),
				 "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,"
				 "\"change\":[%s{\"insert\":\"%c\"}],\"seq\":%d}",
				 docs[seq % 2], seq == 7 ? "{\"retain\":99}," : "",
				 'a' + seq - 1, seq);
		if (!raw_frame(&frames, &len, msg))
			break;
	}
	raw_write(r, frames, len);
	free(frames);
	while (acks + errors < 16)
	{
		json_t *m = raw_next_json(r, WAIT_MS);
		const char *type = m ? type_of(m) : "";

		if (!m)
			break;
		if (strcmp(type, "ack") == 0)
		{
			int d = strcmp(str_of(m, "doc"), docs[1]) == 0;

			acks++;
			if (int_of(m, "rev") != last_rev[d] + 1)
				in_order = 0;
			last_rev[d] = int_of(m, "rev");
		}
		else if (strcmp(type, "error") == 0)
		{
			errors++;
			if (strcmp(str_of(m, "code"), "invalid_change") == 0)
				bad_seq = (int) int_of(m, "seq");
		}
		json_decref(m);
	}
	check(acks == 15 && errors == 1,
		  "sixteen submits at once: 15 acknowledged, 1 error (got %d, %d)",
		  acks, errors);
	check(bad_seq == 7,
		  "the error is the bad submit's own: invalid_change "
		  "for seq 7 (got seq %d)",
		  bad_seq);
	check(in_order && last_rev[0] == 8 && last_rev[1] == 7,
		  "each document's acks are its consecutive revisions, in the order "
		  "sent (heads %lld and %lld)",
		  (long long) last_rev[0], (long long) last_rev[1]);
	check(metric('b', "collab_notifier_db_batches_total") > batches &&
			  metric('b', "collab_notifier_db_batched_submits_total") >=
				  carried + 2,
		  "they went to the database in batches (%lld batches, %lld "
		  "submits)",
		  metric('b', "collab_notifier_db_batches_total") - batches,
		  metric('b', "collab_notifier_db_batched_submits_total") - carried);
	raw_free(r);
}

const harness_test proto_submit[] = {
	{"submit_ack_and_fanout", test_submit_ack_and_fanout},
	{"resubmit_after_reconnect_applied_once",
	 test_resubmit_after_reconnect_applied_once},
	{"resubmit_of_change_in_snapshot_acked",
	 test_resubmit_of_change_in_snapshot_acked},
	{"big_changes_arrive_whole", test_big_changes_arrive_whole},
	{"submits_near_the_message_limit_all_acked",
	 test_submits_near_the_message_limit_all_acked},
	{"two_writers_streams_gap_free", test_two_writers_streams_gap_free},
	{"queued_submits_batched", test_queued_submits_batched},
	{NULL, NULL},
};
