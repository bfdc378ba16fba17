/*
 * proto_limits.c — the per-connection limits (docs/protocol.md,
 * "Transport"), provoked on instance A (--max-docs 5 --rate 100 --burst 200
 * --max-message-bytes 65536 --max-queue 256) and B (--max-inflight 16, the
 * default): subscribed documents, message rate, message size, submits in
 * flight, a reader too slow for its queue (closed with 1013, then resumed),
 * and a burst a fast reader must get whole.
 */
#include "harness.h"
#include "raw.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A allows 5 subscribed documents per connection: a sixth is too_many. */
static void
test_documents_per_connection_limited(void)
{
	wsc *a = connect_to('a');

	free(hello(a));
	for (int i = 0; i < 5; i++)
	{
		char base[16];

		snprintf(base, sizeof(base), "many%d", i);
		subscribe(a, doc_name(base));
	}
	wsc_sendf(a, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc_name("many9"));
	expect_error(a, "too_many", NULL, "a sixth document over --max-docs 5");
	wsc_free(a);
}

/* A allows bursts of 200 messages: 300 at once get rate_limited. */
static void
test_message_rate_limited(void)
{
	wsc *a = connect_to('a');

	free(hello(a));
	for (int i = 0; i < 300; i++)
		wsc_sendf(a, "{\"type\":\"unsubscribe\",\"doc\":\"nothing%d\"}", i);
	expect_error(a, "rate_limited", NULL,
				 "300 messages at once, over --burst 200");
	wsc_free(a);
}

/* A message over --max-message-bytes 65536 closes the connection (1009). */
static void
test_message_size_closes_1009(void)
{
	wsc *big = connect_to('a');
	size_t n = 70000;
	char *text = malloc(n + 64);
	size_t head;

	if (!text)
	{
		fprintf(stderr, "out of memory\n");
		exit(100);
	}
	free(hello(big));
	head = (size_t)
		snprintf(text, 64,
				 "{\"type\":\"presence\",\"doc\":\"x\",\"state\":{\"s\":\"");
	memset(text + head, 'x', n);
	strcpy(text + head + n, "\"}}");
	wsc_send(big, text);
	free(text);
	while (!wsc_is_closed(big) && wsc_next(big, WAIT_MS))
		;
	check(wsc_is_closed(big) && wsc_close_code(big) == 1009,
		  "a message over the limit closes with 1009 (got %d)",
		  wsc_close_code(big));
	wsc_free(big);
}

/*
 * A message of exactly --max-message-bytes (65536) is taken whole: lws
 * reads a connection 512 bytes at a time (ws.c's WS_RX_BUFFER, small to
 * keep idle connections small), so it arrives in 128 pieces and more
 * frames, joined in ws.c.  Answered (not_subscribed), not closed.
 */
static void
test_message_at_the_limit_taken(void)
{
	wsc *a = connect_to('a');
	size_t n = 65536;
	char *text = malloc(n + 1);
	const char *head =
		"{\"type\":\"presence\",\"doc\":\"x\",\"state\":{\"s\":\"";
	const char *tail = "\"}}";

	if (!text)
	{
		fprintf(stderr, "out of memory\n");
		exit(100);
	}
	free(hello(a));
	memset(text, 'x', n);
	memcpy(text, head, strlen(head));
	memcpy(text + n - strlen(tail), tail, strlen(tail));
	text[n] = '\0';
	wsc_send(a, text);
	free(text);
	expect_error(a, "not_subscribed", "x",
				 "a message of exactly --max-message-bytes, in 128 reads");
	check(!wsc_is_closed(a), "the connection stays open");
	wsc_free(a);
}

/*
 * The in-flight limit: 40 submits in one write to B (--max-inflight 16):
 * at most 16 in flight, the rest too_many with their doc and seq, the acks
 * in revision order, the rejected ones not applied.
 */
static void
test_inflight_submits_limited(void)
{
	const char *doc = doc_name("inflight");
	const char *p[1] = {doc};
	raw *r = raw_connect('b', 0, NULL);
	char *frames = NULL, msg[256];
	size_t len = 0;
	int acks = 0, too_many = 0, others = 0, seq_ok = 1;
	json_int_t last_rev = 0;
	bool ordered = true;
	json_t *m;
	PGresult *res;

	if (!r)
		return;
	m = raw_next_json(r, WAIT_MS);
	check(m && strcmp(type_of(m), "hello") == 0,
		  "a raw connection gets hello");
	json_decref(m);
	snprintf(msg, sizeof(msg),
			 "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}", doc);
	raw_send(r, msg);
	m = raw_next_json(r, WAIT_MS);
	check(m && strcmp(type_of(m), "snapshot") == 0,
		  "a raw connection subscribes");
	json_decref(m);
	for (int s = 1; s <= 40; s++)
	{
		snprintf(msg, sizeof(msg),
				 "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
				 "\"insert\":\"x\"}],\"seq\":%d}",
				 doc, s);
		if (!raw_frame(&frames, &len, msg))
			break;
	}
	raw_write(r, frames, len);
	free(frames);
	while (acks + too_many + others < 40 && (m = raw_next_json(r, WAIT_MS)))
	{
		if (strcmp(type_of(m), "ack") == 0)
		{
			acks++;
			if (int_of(m, "rev") != last_rev + 1)
				ordered = false;
			last_rev = int_of(m, "rev");
		}
		else if (strcmp(type_of(m), "error") == 0 &&
				 strcmp(str_of(m, "code"), "too_many") == 0)
		{
			too_many++;
			if (int_of(m, "seq") < 1 || strcmp(str_of(m, "doc"), doc) != 0)
				seq_ok = 0;
		}
		else
		{
			char *text = json_dumps(m, JSON_COMPACT);

			printf("     unexpected: %.200s\n", text);
			free(text);
			others++;
		}
		json_decref(m);
	}
	check(too_many > 0 && acks + too_many == 40 && others == 0 && acks >= 16,
		  "40 submits at once, --max-inflight 16: %d acks and %d too_many "
		  "errors (%d others)",
		  acks, too_many, others);
	check(seq_ok, "each too_many error names the doc and the submit's seq");
	check(ordered, "the acks came in revision order, 1..%d", acks);
	res = sql("SELECT collab.head($1)", 1, p);
	check(atoi(PQgetvalue(res, 0, 0)) == acks,
		  "rejected submits changed nothing: head %s = acks %d",
		  PQgetvalue(res, 0, 0), acks);
	PQclear(res);
	raw_free(r);
}

/*
 * Commits N changes to DOC (at revision FROM) in one transaction: SIZE
 * characters inserted, then deleted, and so on (FROM even).
 */
static void
flood(const char *doc, int from, int n, int size)
{
	const char *p[1] = {doc};
	char query[512];

	PQclear(sql("SELECT set_config('pt.doc', $1, false)", 1, p));
	snprintf(query, sizeof(query),
			 "DO $$ BEGIN FOR i IN %d..%d LOOP PERFORM collab.submit("
			 "current_setting('pt.doc'), i - 1, CASE WHEN i %% 2 = 1 THEN "
			 "jsonb_build_array(jsonb_build_object('insert', repeat('s', "
			 "%d))) ELSE '[{\"delete\":%d}]' END); END LOOP; END $$",
			 from + 1, from + n, size, size);
	PQclear(sql(query, 0, NULL));
}

/*
 * A resume of DOC from FROM on instance WHICH reaches revision HEAD: through
 * every change after FROM, gap-free, or through a snapshot (a revision the
 * server chose not to replay) and the changes after it.
 */
static void
resume_to_head(char which, const char *doc, json_int_t from, json_int_t head,
			   const char *who)
{
	wsc *c = connect_to(which);
	json_int_t rev = from;
	bool gapless = true, snapshot = false;
	int changes = 0;
	json_t *m;

	free(hello(c));
	wsc_sendf(c, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":%lld}", doc,
			  (long long) from);
	while (rev < head && (m = next_json(c, WAIT_MS)) != NULL)
	{
		if (strcmp(type_of(m), "snapshot") == 0)
		{
			snapshot = true;
			rev = int_of(m, "rev");
		}
		else if (strcmp(type_of(m), "change") == 0)
		{
			if (int_of(m, "rev") != rev + 1)
				gapless = false;
			rev = int_of(m, "rev");
			changes++;
		}
		json_decref(m);
	}
	check(gapless && rev == head,
		  "%s resumes from revision %lld, %lld behind, and reaches the head: "
		  "got %s%d changes, up to revision %lld%s%s",
		  who, (long long) from, (long long) (head - from),
		  snapshot ? "a snapshot and " : "", changes, (long long) rev,
		  gapless ? "" : ", with gaps",
		  wsc_is_closed(c) ? ", then the server closed the connection" : "");
	wsc_free(c);
}

/*
 * A client that stops reading while thousands of changes arrive is closed
 * with 1013 (its queue full: A has --max-queue 256); what it got until then
 * is gap-free, and it can resume, on B (defaults) from where it was cut, and
 * on A however far behind it is: a backlog longer than the queue must not
 * close it again (the server can pace it, or send a snapshot).
 */
static void
test_slow_reader_closed_1013_and_resumes(void)
{
	const char *doc = doc_name("slow");
	raw *r = raw_connect('a', 4096, NULL);
	char msg[256], *text;
	json_int_t rev = -1;
	int op, code = 0, changes = 0;
	bool gapless = true;
	json_t *m;

	if (!r)
		return;
	m = raw_next_json(r, WAIT_MS);
	json_decref(m);
	snprintf(msg, sizeof(msg),
			 "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}", doc);
	raw_send(r, msg);
	m = raw_next_json(r, WAIT_MS);
	rev = m ? int_of(m, "rev") : -1;
	check(m && strcmp(type_of(m), "snapshot") == 0 && rev == 0,
		  "the slow reader subscribes");
	json_decref(m);
	/* 3000 changes, 100 per transaction (a burst A's queue holds), 5000
	 * characters inserted or deleted (the document stays small): 7.5 MB to
	 * fan out, past A's queue and the sockets' buffers (up to 4 MB) */
	for (int from = 0; from < 3000; from += 100)
		flood(doc, from, 100, 5000);
	/* the server's queue fills while we do not read */
	usleep(1000 * 1000);
	while ((op = raw_next(r, WAIT_MS, &text, &code)) == 1)
	{
		m = json_loads(text, 0, NULL);
		free(text);
		if (m && strcmp(type_of(m), "change") == 0)
		{
			if (int_of(m, "rev") != rev + 1)
				gapless = false;
			rev = int_of(m, "rev");
			changes++;
		}
		json_decref(m);
	}
	check(op == 8 && code == 1013,
		  "a reader too slow for 3000 changes is closed with 1013 (got %s "
		  "%d after %d changes)",
		  op == 8	 ? "close"
		  : op == -1 ? "end of file"
					 : "a timeout",
		  op == 8 ? code : 0, changes);
	check(gapless && changes < 3000,
		  "what it got before the close was gap-free (revisions 1..%lld)",
		  (long long) rev);
	raw_free(r);
	resume_to_head('b', doc, rev, 3000, "the cut reader, on B,");
	resume_to_head('a', doc, 0, 3000,
				   "a client on A (--max-queue 256), from 0,");
}

/*
 * A burst: 400 changes committed in one transaction, to a client that reads
 * all the time, on A (--max-queue 256).  It is not slow: it must get them
 * all, gap-free, and stay connected.  Its queue fills faster than one
 * message a writable callback: several leave in one write, frames whole
 * (conn.c), which /metrics shows as fewer writes than messages.
 */
static void
test_burst_to_reader_gap_free(void)
{
	const char *doc = doc_name("burst");
	wsc *a = connect_to('a');
	json_int_t rev = 0;
	bool gapless = true;
	json_t *m;
	long long msgs0, writes0, msgs, writes;

	free(hello(a));
	msgs0 = metric('a', "collab_notifier_messages_out_total");
	writes0 = metric('a', "collab_notifier_writes_total");
	subscribe(a, doc);
	flood(doc, 0, 400, 10);
	while (rev < 400 && (m = next_json(a, WAIT_MS)) != NULL)
	{
		if (strcmp(type_of(m), "change") == 0)
		{
			if (int_of(m, "rev") != rev + 1)
				gapless = false;
			rev = int_of(m, "rev");
		}
		json_decref(m);
	}
	check(gapless && rev == 400 && !wsc_is_closed(a),
		  "a reader on A (--max-queue 256) gets a burst of 400 changes, "
		  "committed at once, without a gap and without being cut off: got "
		  "up to revision %lld%s%s",
		  (long long) rev, gapless ? "" : ", with gaps",
		  wsc_is_closed(a) ? ", then the server closed the connection" : "");
	msgs = metric('a', "collab_notifier_messages_out_total") - msgs0;
	writes = metric('a', "collab_notifier_writes_total") - writes0;
	check(msgs0 >= 0 && writes0 >= 0 && msgs >= 400 && writes > 0 &&
			  writes < msgs,
		  "... in fewer writes than messages (%lld messages, %lld writes)",
		  msgs, writes);
	wsc_free(a);
}

/*
 * A long application transaction holds a document (its own submit, not
 * committed): a client's submit to that document on instance A (run with
 * --lock-timeout-ms 500) fails unavailable by the deadline instead of
 * holding a pool connection, a submit to another document is acknowledged
 * meanwhile, and once the transaction commits the same submit again lands.
 */
static void
test_held_document_fails_by_the_deadline(void)
{
	const char *doc = doc_name("held"), *other = doc_name("held-other");
	const char *p[1] = {doc};
	PGconn *app = PQconnectdb(harness_dsn());
	PGresult *r;
	wsc *a = connect_to('a');
	json_t *m;
	int64_t t0;

	free(hello(a));
	subscribe(a, doc);
	subscribe(a, other);
	check(PQstatus(app) == CONNECTION_OK, "the application connects");
	PQclear(PQexec(app, "BEGIN"));
	r = PQexecParams(app,
					 "SELECT collab.submit($1, 0, '[{\"insert\":\"app \"}]')",
					 1, NULL, p, NULL, NULL, 0);
	check(PQresultStatus(r) == PGRES_TUPLES_OK,
		  "the application's transaction holds the document");
	PQclear(r);
	t0 = wsc_now_us();
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":"
			  "[{\"insert\":\"x\"}],\"seq\":1}",
			  doc);
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":"
			  "[{\"insert\":\"y\"}],\"seq\":2}",
			  other);
	m = expect(a, "ack", "a submit to a document nobody holds");
	check(m && strcmp(str_of(m, "doc"), other) == 0 && int_of(m, "seq") == 2,
		  "another document's submit is acknowledged meanwhile");
	json_decref(m);
	expect_error_seq(a, "unavailable", doc, 1,
					 "a submit to the held document, by the lock deadline");
	check(wsc_now_us() - t0 < (int64_t) WAIT_MS * 1000,
		  "... within the deadline's order (%lld ms)",
		  (long long) ((wsc_now_us() - t0) / 1000));
	PQclear(PQexec(app, "COMMIT"));
	PQfinish(app);
	m = expect(a, "change", "the application's change after its commit");
	check(m && int_of(m, "rev") == 1, "the application's revision 1 arrives");
	json_decref(m);
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":"
			  "[{\"insert\":\"x\"}],\"seq\":1}",
			  doc);
	m = expect(a, "ack", "the same submit again, the document free");
	check(m && int_of(m, "rev") == 2 && int_of(m, "seq") == 1,
		  "the retried submit lands as revision 2");
	json_decref(m);
	wsc_free(a);
}

/* Sends SIG to every backend of instance a (application_name in check). */
static int
signal_backends_of_a(int sig, int *pids, int max)
{
	PGconn *db = PQconnectdb(harness_dsn());
	PGresult *r;
	int n = 0;

	if (PQstatus(db) != CONNECTION_OK)
	{
		PQfinish(db);
		return 0;
	}
	r = PQexec(db, "SELECT pid FROM pg_stat_activity "
				   "WHERE application_name = 'collab-notifier-a'");
	for (int i = 0;
		 PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r) && n < max;
		 i++)
		pids[n++] = atoi(PQgetvalue(r, i, 0));
	PQclear(r);
	PQfinish(db);
	for (int i = 0; i < n; i++)
		kill(pids[i], sig);
	return n;
}

/*
 * Waits (at most TIMEOUT_MS) until each of the N thawed backends PIDS has
 * ended or is idle: what it had read before it froze (a submit the notifier
 * gave up on) has run by then.  The notifier replaced the connections it
 * gave up, whose backends end; one it had no reason to probe yet simply
 * goes on.
 */
static bool
backends_settled(const int *pids, int n, int timeout_ms)
{
	int64_t until = wsc_now_us() + (int64_t) timeout_ms * 1000;
	char list[64 * 12 + 4] = "{";
	const char *p[1] = {list};

	for (int i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d",
				 i ? "," : "", pids[i]);
	strcat(list, "}");
	do
	{
		PGresult *r = sql("SELECT count(*) FROM pg_stat_activity "
						  "WHERE pid = ANY($1::int[]) AND state <> 'idle'",
						  1, p);
		bool settled = strcmp(PQgetvalue(r, 0, 0), "0") == 0;

		PQclear(r);
		if (settled)
			return true;
		usleep(50000);
	} while (wsc_now_us() < until);
	return false;
}

/*
 * Every backend of instance a frozen (SIGSTOP: a hung server that still
 * accepts connections).  A submit sent to a frozen backend fails
 * unavailable by a's --query-timeout-ms and its connection is replaced;
 * the client's retry lands on a new connection.  Once thawed, the frozen
 * backend runs the first submit too, which the deduplication makes a
 * no-op: the change is in the document once.
 */
static void
test_hung_backends_fail_by_the_query_deadline(void)
{
	const char *doc = doc_name("hung");
	wsc *a = connect_to('a');
	long long timed_out =
		metric('a', "collab_notifier_db_queries_timed_out_total");
	int pids[64], n;
	int64_t t0;
	json_t *m = NULL;
	char *content;

	free(hello(a));
	subscribe(a, doc);
	n = signal_backends_of_a(SIGSTOP, pids, 64);
	check(n >= 2, "instance a's backends frozen (%d)", n);
	t0 = wsc_now_us();
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":"
			  "[{\"insert\":\"x\"}],\"seq\":1}",
			  doc);
	expect_error_seq(a, "unavailable", doc, 1,
					 "a submit to a frozen backend, by the query deadline");
	check(wsc_now_us() - t0 < (int64_t) WAIT_MS * 1000,
		  "... within the deadline's order (%lld ms)",
		  (long long) ((wsc_now_us() - t0) / 1000));
	check(metric('a', "collab_notifier_db_queries_timed_out_total") >
			  timed_out,
		  "the timeout is counted");
	/* retried as a client does: new connections answer */
	for (int attempt = 0; attempt < 10 && !m; attempt++)
	{
		wsc_sendf(a,
				  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,"
				  "\"change\":[{\"insert\":\"x\"}],\"seq\":1}",
				  doc);
		m = next_json(a, WAIT_MS);
		if (m && strcmp(type_of(m), "ack") != 0)
		{
			json_decref(m);
			m = NULL;
			usleep(200000);
		}
	}
	check(m && int_of(m, "rev") == 1 && int_of(m, "seq") == 1,
		  "the retried submit is acknowledged as revision 1 while the old "
		  "backends are still frozen");
	json_decref(m);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGCONT);
	check(backends_settled(pids, n, 10000),
		  "the thawed backends end or are idle");
	content = sql_content(doc);
	check(strcmp(content, "{\"ops\": [{\"insert\": \"x\\n\"}]}") == 0,
		  "the change is in the document once (%s)", content);
	free(content);
	wsc_free(a);
}

/*
 * Instance a's LISTEN deaf (every backend of a frozen) while 600 changes
 * are committed at once: the heartbeat finds it, the new LISTEN resyncs the
 * document from the log in chunks of --history (256), and the subscriber
 * gets every change, gap-free.
 */
static void
test_deaf_listen_resyncs_in_chunks(void)
{
	const char *doc = doc_name("deaf");
	wsc *a = connect_to('a');
	long long fetches;
	json_int_t rev = 0;
	bool gapless = true;
	int pids[64], n;
	json_t *m;

	free(hello(a));
	subscribe(a, doc);
	fetches = metric('a', "collab_notifier_fetches_total");
	/* committed just after the freeze, long before a heartbeat is due */
	PQclear(sql("BEGIN", 0, NULL));
	flood(doc, 0, 600, 10);
	n = signal_backends_of_a(SIGSTOP, pids, 64);
	check(n >= 2, "instance a's backends frozen (%d)", n);
	PQclear(sql("COMMIT", 0, NULL));
	while (rev < 600 && (m = next_json(a, WAIT_MS)) != NULL)
	{
		if (strcmp(type_of(m), "change") == 0)
		{
			if (int_of(m, "rev") != rev + 1)
				gapless = false;
			rev = int_of(m, "rev");
		}
		json_decref(m);
	}
	check(gapless && rev == 600,
		  "600 changes committed while a's LISTEN was deaf all reach its "
		  "subscriber, gap-free: got up to revision %lld%s",
		  (long long) rev, gapless ? "" : ", with gaps");
	check(metric('a', "collab_notifier_fetches_total") - fetches >= 3,
		  "read from the log in chunks (%lld fetches, want >= 3)",
		  metric('a', "collab_notifier_fetches_total") - fetches);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGCONT);
	check(backends_settled(pids, n, 10000),
		  "the thawed backends end or are idle");
	wsc_free(a);
}

/* A raw connection to A, its hello read, subscribed to DOC. */
static raw *
raw_subscribed_a(const char *doc)
{
	raw *r = raw_connect('a', 0, NULL);
	json_t *m;

	if (!r)
		return NULL;
	json_decref(raw_next_json(r, WAIT_MS)); /* hello */
	raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc);
	m = raw_next_json(r, WAIT_MS);
	check(m && strcmp(type_of(m), "snapshot") == 0,
		  "a raw connection to a subscribes");
	json_decref(m);
	return r;
}

/*
 * Instance a runs with --max-pending 8: thirty fetches in one write get
 * their content while fewer than eight wait for the database, too_many
 * beyond.  One client cannot queue ahead of everyone else.
 */
static void
test_pending_requests_capped(void)
{
	const char *doc = doc_name("pending");
	raw *r = raw_subscribed_a(doc);
	long long over =
		metric('a', "collab_notifier_requests_over_pending_total");
	char *frames = NULL, msg[256];
	size_t len = 0;
	int contents = 0, too_many = 0, others = 0;
	json_t *m;

	if (!r)
		return;
	for (int i = 1; i <= 30; i++)
	{
		snprintf(msg, sizeof(msg),
				 "{\"type\":\"fetch\",\"doc\":\"%s\",\"id\":%d}", doc, i);
		if (!raw_frame(&frames, &len, msg))
			break;
	}
	raw_write(r, frames, len);
	free(frames);
	while (contents + too_many + others < 30 &&
		   (m = raw_next_json(r, WAIT_MS)))
	{
		if (strcmp(type_of(m), "content") == 0)
			contents++;
		else if (strcmp(type_of(m), "error") == 0 &&
				 strcmp(str_of(m, "code"), "too_many") == 0)
			too_many++;
		else
			others++;
		json_decref(m);
	}
	check(contents >= 8 && too_many >= 1 && others == 0 &&
			  contents + too_many == 30,
		  "30 fetches at once with --max-pending 8: %d answered, %d "
		  "too_many, %d other",
		  contents, too_many, others);
	check(metric('a', "collab_notifier_requests_over_pending_total") - over ==
			  too_many,
		  "... counted in /metrics");
	raw_free(r);
}

/*
 * A client that leaves with requests still queued (every pool connection
 * busy: their submits wait for a document an application holds): its
 * queued requests are dropped, not run ahead of other clients'.
 */
static void
test_queued_requests_of_a_gone_client_dropped(void)
{
	const char *doc = doc_name("gone");
	const char *p[1] = {doc};
	PGconn *app = PQconnectdb(harness_dsn());
	long long dropped = metric('a', "collab_notifier_requests_dropped_total");
	long long now;
	char *frames = NULL, msg[256];
	size_t len = 0;
	raw *r;

	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	r = raw_subscribed_a(doc);
	check(PQstatus(app) == CONNECTION_OK, "the application connects");
	PQclear(PQexec(app, "BEGIN"));
	PQclear(PQexecParams(app,
						 "SELECT collab.submit($1, 0, '[{\"insert\":\"app "
						 "\"}]')",
						 1, NULL, p, NULL, NULL, 0));
	if (r)
	{
		/* eight submits: they go in one batch, which gives the held
		 * document up after collab.batch_lock_timeout (100 ms) and sends
		 * them again one by one: four take the pool's connections and wait
		 * for the lock, four wait for a connection */
		for (int s = 1; s <= 8; s++)
		{
			snprintf(msg, sizeof(msg),
					 "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,"
					 "\"change\":[{\"insert\":\"x\"}],\"seq\":%d}",
					 doc, s);
			if (!raw_frame(&frames, &len, msg))
				break;
		}
		raw_write(r, frames, len);
		free(frames);
		usleep(400000);
		raw_free(r); /* gone, its submits still waiting */
	}
	for (int i = 0; i < 50; i++)
	{
		now = metric('a', "collab_notifier_requests_dropped_total");
		if (now > dropped)
			break;
		usleep(20000);
	}
	check(now - dropped >= 1,
		  "the gone client's queued requests are dropped (%lld)",
		  now - dropped);
	PQclear(PQexec(app, "COMMIT"));
	PQfinish(app);
}

const harness_test proto_limits[] = {
	{"documents_per_connection_limited",
	 test_documents_per_connection_limited},
	{"message_rate_limited", test_message_rate_limited},
	{"message_size_closes_1009", test_message_size_closes_1009},
	{"message_at_the_limit_taken", test_message_at_the_limit_taken},
	{"inflight_submits_limited", test_inflight_submits_limited},
	{"slow_reader_closed_1013_and_resumes",
	 test_slow_reader_closed_1013_and_resumes},
	{"burst_to_reader_gap_free", test_burst_to_reader_gap_free},
	{"held_document_fails_by_the_deadline",
	 test_held_document_fails_by_the_deadline},
	{"hung_backends_fail_by_the_query_deadline",
	 test_hung_backends_fail_by_the_query_deadline},
	{"deaf_listen_resyncs_in_chunks", test_deaf_listen_resyncs_in_chunks},
	{"pending_requests_capped", test_pending_requests_capped},
	{"queued_requests_of_a_gone_client_dropped",
	 test_queued_requests_of_a_gone_client_dropped},
	{NULL, NULL},
};
