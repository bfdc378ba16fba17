/*
 * protocol_test.c — docs/protocol.md, message by message, against two real
 * notifier instances and a real database (tests/notifier/check runs it).
 *
 *   protocol_test --a HOST:PORT --b HOST:PORT --dsn CONNINFO
 *                 [--a-pid PID] [--restart-cmd CMD]
 *
 * Instance A must run with --max-docs 5 --rate 100 --burst 200
 * --max-message-bytes 65536 --max-queue 256 (the limits tests provoke); B
 * with defaults (--max-inflight 16: provoked too).
 *
 * Most tests use wsc; a few use a raw socket client (below) for what wsc
 * will not do: write 40 submits in one write(2), so that the server reads
 * them all before it can answer any (the in-flight limit), and stop reading
 * (a slow consumer, closed with 1013; wsc could not even see that code:
 * libwebsockets 4.1's client reports 1012..2999 as 1002).
 * Each check prints "ok" or "FAIL" with what differed; the exit status is
 * the number of failures (capped at 100).  With --a-pid, the last test
 * sends SIGTERM to A and expects close code 1001; with --restart-cmd, a
 * test restarts the database (CMD is run by the shell) and expects the
 * stream to survive it.  --only NAME runs the tests whose name contains
 * NAME (the names print as "--- NAME").
 */
#define _GNU_SOURCE /* memmem */
#include "wsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 5000
#define QUIET_MS 300

static wsc_loop *loop;
static char host_a[128], host_b[128];
static int port_a, port_b;
static PGconn *db;
static int failures;
static char run_id[32]; /* makes document names unique per run */

static void
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static const char *
doc_name(const char *base)
{
	static char names[64][96];
	static int next;
	char *s = names[next++ % 64];

	snprintf(s, 96, "%s-%s", base, run_id);
	return s;
}

static wsc *
connect_to(char which)
{
	wsc *c = wsc_connect(loop, which == 'a' ? host_a : host_b,
						 which == 'a' ? port_a : port_b, NULL, NULL);

	if (!c)
	{
		fprintf(stderr, "cannot start a connection\n");
		exit(100);
	}
	return c;
}

/* The next message of C, parsed; NULL after TIMEOUT_MS. */
static json_t *
next_json(wsc *c, int timeout_ms)
{
	char *text = wsc_next(c, timeout_ms);
	json_t *v;

	if (!text)
		return NULL;
	v = json_loads(text, 0, NULL);
	if (!v)
		check(false, "the server sent something that is not JSON: %.200s",
			  text);
	free(text);
	return v;
}

static const char *
type_of(json_t *m)
{
	const char *t = json_string_value(json_object_get(m, "type"));

	return t ? t : "(none)";
}

static json_int_t
int_of(json_t *m, const char *key)
{
	return json_integer_value(json_object_get(m, key));
}

static const char *
str_of(json_t *m, const char *key)
{
	const char *s = json_string_value(json_object_get(m, key));

	return s ? s : "";
}

/* The next message of type TYPE, skipping presence messages; NULL if none. */
static json_t *
expect(wsc *c, const char *type, const char *what)
{
	for (;;)
	{
		json_t *m = next_json(c, WAIT_MS);
		char *text;

		if (!m)
		{
			check(false, "%s: no \"%s\" message within %d ms", what, type,
				  WAIT_MS);
			return NULL;
		}
		if (strcmp(type_of(m), type) == 0)
			return m;
		if (strcmp(type_of(m), "presence") == 0 &&
			strcmp(type, "presence") != 0)
		{
			json_decref(m);
			continue;
		}
		text = json_dumps(m, JSON_COMPACT);
		check(false, "%s: expected \"%s\", got %.300s", what, type, text);
		free(text);
		json_decref(m);
		return NULL;
	}
}

/* An error with CODE; checks doc when DOC is not NULL, seq when SEQ > 0. */
static void
expect_error_seq(wsc *c, const char *code, const char *doc, json_int_t seq,
				 const char *what)
{
	json_t *m = expect(c, "error", what);
	char got_seq[40] = "";

	if (!m)
		return;
	if (seq > 0)
		snprintf(got_seq, sizeof(got_seq), "; seq %lld",
				 (long long) int_of(m, "seq"));
	check(strcmp(str_of(m, "code"), code) == 0 &&
			  (!doc || strcmp(str_of(m, "doc"), doc) == 0) &&
			  (seq <= 0 || int_of(m, "seq") == seq) && *str_of(m, "message"),
		  "%s: error %s%s (got %s: %s%s)", what, code,
		  seq > 0 ? " with the submit's seq" : "", str_of(m, "code"),
		  str_of(m, "message"), got_seq);
	json_decref(m);
}

/* An error with CODE; checks doc when DOC is not NULL. */
static void
expect_error(wsc *c, const char *code, const char *doc, const char *what)
{
	expect_error_seq(c, code, doc, 0, what);
}

/* Nothing but presence arrives on C for QUIET_MS. */
static void
expect_quiet(wsc *c, const char *what)
{
	int64_t end = wsc_now_us() + QUIET_MS * 1000;

	while (wsc_now_us() < end)
	{
		json_t *m = next_json(c, 20);

		if (m && strcmp(type_of(m), "presence") != 0)
		{
			char *text = json_dumps(m, JSON_COMPACT);

			check(false, "%s: unexpected %.300s", what, text);
			free(text);
			json_decref(m);
			return;
		}
		json_decref(m);
	}
	check(true, "%s", what);
}

static char *
hello(wsc *c)
{
	json_t *m = expect(c, "hello", "hello");
	char *id = NULL;

	if (m)
	{
		id = strdup(str_of(m, "client"));
		check(*id && strncmp(str_of(m, "server"), "collab-notifier/", 16) == 0,
			  "hello carries a client id and the server's name");
		json_decref(m);
	}
	return id ? id : strdup("");
}

/* Subscribes C to DOC (creating it) and returns the snapshot's revision. */
static json_int_t
subscribe(wsc *c, const char *doc)
{
	json_t *m;
	json_int_t rev = -1;

	wsc_sendf(c, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc);
	m = expect(c, "snapshot", "subscribe");
	if (m)
	{
		rev = int_of(m, "rev");
		json_decref(m);
	}
	return rev;
}

static PGresult *
sql(const char *query, int n, const char *const *params)
{
	PGresult *r = PQexecParams(db, query, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
		PQresultStatus(r) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "sql failed: %s: %s\n", query, PQerrorMessage(db));
		exit(100);
	}
	return r;
}

/* --- the tests -------------------------------------------------------------
 */

static void
test_subscribe_and_submit(void)
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

	/* unsubscribe: nothing more arrives */
	wsc_sendf(b, "{\"type\":\"unsubscribe\",\"doc\":\"%s\"}", doc);
	{
		const char *p[1] = {doc};

		wsc_next(b, 200); /* let the unsubscribe land */
		PQclear(
			sql("SELECT collab.submit($1, 2, '[{\"insert\":\"x\"}]')", 1, p));
	}
	expect_quiet(b, "after unsubscribe, no more changes");
	m = expect(a, "change", "change after B unsubscribed");
	json_decref(m);

	/* resume from an old revision: every change after it, in order */
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":1}", doc);
	for (int r = 2; r <= 3; r++)
	{
		m = expect(b, "change", "resume");
		check(m && int_of(m, "rev") == r, "resume from 1 delivers revision %d",
			  r);
		json_decref(m);
	}
	/* resume from a revision ahead of the head: a snapshot */
	while ((m = next_json(a2, QUIET_MS)) != NULL) /* revisions 2 and 3 */
		json_decref(m);
	wsc_sendf(a2, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":99}", doc);
	m = expect(a2, "snapshot", "resume ahead of the head");
	check(m && int_of(m, "rev") == 3,
		  "resume ahead of the head gets a snapshot at the head");
	json_decref(m);

	/* fetch */
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":1,\"id\":[7]}",
			  doc);
	m = expect(b, "content", "fetch");
	if (m)
	{
		json_t *want =
			json_loads("{\"ops\":[{\"insert\":\"Hi\\n\"}]}", 0, NULL);

		check(int_of(m, "rev") == 1 &&
				  json_equal(json_object_get(m, "content"), want) &&
				  strcmp(str_of(m, "html"), "<p>Hi</p>") == 0 &&
				  json_is_array(json_object_get(m, "id")),
			  "fetch returns revision 1's content, its HTML and the id");
		json_decref(want);
		json_decref(m);
	}
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":50}", doc);
	expect_error(b, "invalid_revision", doc,
				 "fetch of a revision after the head");
	free(ida);
	wsc_free(a);
	wsc_free(a2);
	wsc_free(b);
}

static void
test_errors(void)
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
	{
		/* a fresh connection: a's submits fixed its id already */
		wsc *ids = connect_to('a');

		free(hello(ids));
		wsc_sendf(
			ids,
			"{\"type\":\"unsubscribe\",\"doc\":\"x\",\"client\":\"one\"}");
		wsc_sendf(
			ids,
			"{\"type\":\"unsubscribe\",\"doc\":\"x\",\"client\":\"two\"}");
		expect_error(ids, "bad_message", NULL,
					 "a second, different client id");
		wsc_free(ids);
	}
	/* A allows 5 documents */
	for (int i = 0; i < 4; i++)
	{
		char base[16];

		snprintf(base, sizeof(base), "many%d", i);
		subscribe(a, doc_name(base));
	}
	wsc_sendf(a, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc_name("many9"));
	expect_error(a, "too_many", NULL, "a sixth document over --max-docs 5");
	/* A allows bursts of 200 messages */
	for (int i = 0; i < 300; i++)
		wsc_sendf(a, "{\"type\":\"unsubscribe\",\"doc\":\"nothing%d\"}", i);
	expect_error(a, "rate_limited", NULL,
				 "300 messages at once, over --burst 200");
	wsc_free(a);

	/* a message over --max-message-bytes 65536 closes the connection */
	{
		wsc *big = connect_to('a');
		size_t n = 70000;
		char *text = malloc(n + 64);

		size_t head;

		free(hello(big));
		head = (size_t) snprintf(
			text, 64,
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
}

static void
test_big_change(void)
{
	const char *doc = doc_name("big");
	wsc *a = connect_to('a'), *b = connect_to('b');
	size_t n = 12000;
	char *text = malloc(n + 256), *ins = malloc(n + 1);
	json_t *m;

	free(hello(a));
	free(hello(b));
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
		json_t *ops = json_object_get(json_object_get(m, "change"), "ops");
		const char *got = json_string_value(
			json_object_get(json_array_get(ops, 0), "insert"));

		check(int_of(m, "rev") == 1 && got && strlen(got) == n,
			  "a change too big for a NOTIFY payload reaches the other "
			  "instance whole");
		json_decref(m);
	}
	free(text);
	free(ins);
	wsc_free(a);
	wsc_free(b);
}

/* Two writers on two instances, one in flight each: every stream is gap-free.
 */
static void
test_ordering(void)
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

/* A resubmit after a reconnect is applied once. */
static void
test_resubmit(void)
{
	const char *doc = doc_name("resubmit");
	wsc *a = connect_to('a'), *b;
	const char *p[1] = {doc};
	PGresult *r;
	json_t *m;
	bool confirmed = false;

	free(hello(a));
	subscribe(a, doc);
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"insert\":\"once\"}],\"client\":\"re-%s\",\"seq\":1}",
			  doc, run_id);
	m = expect(a, "ack", "first submit");
	json_decref(m);
	wsc_drop(a);
	wsc_free(a);
	/* the client comes back on the other instance and resubmits */
	b = connect_to('b');
	free(hello(b));
	wsc_sendf(b,
			  "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":0,\"client\":"
			  "\"re-%s\"}",
			  doc, run_id);
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

static void
test_presence(void)
{
	const char *doc = doc_name("presence");
	wsc *a = connect_to('a'), *b = connect_to('b');
	json_t *m;

	free(hello(a));
	free(hello(b));
	subscribe(a, doc);
	subscribe(b, doc);
	wsc_sendf(a,
			  "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"index\":1,"
			  "\"name\":\"Ada\"},\"client\":\"pa-%s\"}",
			  doc, run_id);
	m = expect(b, "presence", "presence");
	if (m)
	{
		char want[64];

		snprintf(want, sizeof(want), "pa-%s", run_id);
		check(strcmp(str_of(m, "client"), want) == 0 &&
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

	/* a deleted document ends its subscriptions */
	{
		const char *p[1] = {doc};

		PQclear(sql("SELECT collab.delete_document($1)", 1, p));
	}
	expect_error(b, "deleted", doc, "a deleted document");
	wsc_free(b);
}

static void
test_restart(const char *cmd)
{
	const char *doc = doc_name("restart");
	wsc *b = connect_to('b');
	json_t *m;
	int rc;

	free(hello(b));
	subscribe(b, doc);
	PQfinish(db);
	rc = system(cmd);
	check(rc == 0, "the database restarted (%s)", cmd);
	db = PQconnectdb(getenv("PROTOCOL_TEST_DSN"));
	if (PQstatus(db) != CONNECTION_OK)
	{
		fprintf(stderr, "cannot reconnect: %s", PQerrorMessage(db));
		exit(100);
	}
	{
		const char *p[1] = {doc};

		/* committed whether or not the notifier has reconnected yet */
		PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"after\"}]')",
					1, p));
	}
	m = expect(b, "change", "a change committed around a database restart");
	check(m && int_of(m, "rev") == 1,
		  "a change committed while the notifier reconnected is delivered");
	json_decref(m);
	wsc_free(b);
}

static void
test_shutdown(int pid)
{
	wsc *a = connect_to('a');

	free(hello(a));
	kill(pid, SIGTERM);
	while (!wsc_is_closed(a) && wsc_next(a, WAIT_MS))
		;
	wsc_next(a, 200);
	check(wsc_is_closed(a) && wsc_close_code(a) == 1001,
		  "SIGTERM closes clients with 1001 (got %d)", wsc_close_code(a));
	wsc_free(a);
}

/* --- a raw WebSocket client ------------------------------------------------
 *
 * For what wsc cannot do on purpose: write many frames in one write(2) (so
 * the server reads them all before any answer can come back) and not read
 * at all (a slow consumer).  Blocking socket, poll for every wait.
 */

typedef struct raw {
	int fd;
	unsigned char *in; /* received bytes not yet returned as frames */
	size_t len, cap;
	bool eof;
	char head[1024]; /* the handshake's answer, NUL-terminated, cut */
} raw;

/* Reads what is there within TIMEOUT_MS into R; false on timeout or EOF. */
static bool
raw_fill(raw *r, int timeout_ms)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	ssize_t n;

	if (r->eof || poll(&p, 1, timeout_ms) <= 0)
		return false;
	if (r->cap - r->len < 65536)
	{
		size_t cap = r->cap * 2 + 65536;
		unsigned char *in = realloc(r->in, cap);

		if (!in)
			return false;
		r->in = in;
		r->cap = cap;
	}
	n = read(r->fd, r->in + r->len, r->cap - r->len);
	if (n <= 0)
	{
		r->eof = true;
		return false;
	}
	r->len += (size_t) n;
	return true;
}

static void
raw_free(raw *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r->in);
	free(r);
}

/*
 * Connects to ws://HOST:PORT/ws with a receive buffer of RCVBUF bytes (0:
 * the system's), asking for subprotocol PROTOCOL (NULL: none), and
 * completes the handshake; NULL (reported) on failure.
 */
static raw *
raw_connect(const char *host, int port, int rcvbuf, const char *protocol)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
							 .sin_port = htons((uint16_t) port)};
	raw *r = calloc(1, sizeof(*r));
	char req[512];
	int n;

	if (!r)
		return NULL;
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (r->fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
		(rcvbuf > 0 && setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
								  sizeof(rcvbuf)) != 0) ||
		connect(r->fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
	{
		check(false, "raw connection to %s:%d: %s", host, port,
			  strerror(errno));
		raw_free(r);
		return NULL;
	}
	n = snprintf(req, sizeof(req),
				 "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\n"
				 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
				 host, port, protocol ? "Sec-WebSocket-Protocol: " : "",
				 protocol ? protocol : "", protocol ? "\r\n" : "");
	if (write(r->fd, req, (size_t) n) != n)
	{
		check(false, "raw handshake: %s", strerror(errno));
		raw_free(r);
		return NULL;
	}
	for (;;)
	{
		unsigned char *end =
			r->len >= 4 ? memmem(r->in, r->len, "\r\n\r\n", 4) : NULL;

		if (end)
		{
			size_t head = (size_t) (end - r->in) + 4;

			snprintf(r->head, sizeof(r->head), "%.*s", (int) (end - r->in),
					 (const char *) r->in);

			if (r->len < 12 || memcmp(r->in + 9, "101", 3) != 0)
			{
				check(false, "raw handshake answered %.40s", r->in);
				raw_free(r);
				return NULL;
			}
			memmove(r->in, r->in + head, r->len - head);
			r->len -= head;
			return r;
		}
		if (!raw_fill(r, WAIT_MS))
		{
			check(false, "raw handshake: no answer");
			raw_free(r);
			return NULL;
		}
	}
}

/* Appends TEXT to OUT as one masked text frame; false when out of memory. */
static bool
raw_frame(char **out, size_t *len, const char *text)
{
	size_t n = strlen(text), head = n < 126 ? 2 : n < 65536 ? 4 : 10;
	static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
	unsigned char *p;
	char *grown = realloc(*out, *len + head + 4 + n);

	if (!grown)
		return false;
	*out = grown;
	p = (unsigned char *) grown + *len;
	*p++ = 0x81; /* FIN, text */
	if (n < 126)
		*p++ = (unsigned char) (0x80 | n);
	else if (n < 65536)
	{
		*p++ = 0x80 | 126;
		*p++ = (unsigned char) (n >> 8);
		*p++ = (unsigned char) n;
	}
	else
	{
		*p++ = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			*p++ = (unsigned char) ((uint64_t) n >> (8 * i));
	}
	memcpy(p, mask, 4);
	p += 4;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char) text[i] ^ mask[i % 4];
	*len += head + 4 + n;
	return true;
}

/* Writes all of BYTES; false (reported) on failure. */
static bool
raw_write(raw *r, const char *bytes, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(r->fd, bytes, len);

		if (n <= 0)
		{
			check(false, "raw write: %s", strerror(errno));
			return false;
		}
		bytes += n;
		len -= (size_t) n;
	}
	return true;
}

/* Sends TEXT as one frame. */
static bool
raw_send(raw *r, const char *text)
{
	char *frame = NULL;
	size_t len = 0;
	bool ok = raw_frame(&frame, &len, text) && raw_write(r, frame, len);

	free(frame);
	return ok;
}

/*
 * The next complete message within TIMEOUT_MS: 1 (text, in *TEXT, malloc'd,
 * NUL-terminated), 8 (close, its code in *CODE, 1005 without one), 0 on
 * timeout, -1 at end of file.  Pings and pongs are skipped; fragments are
 * joined.
 */
static int
raw_next(raw *r, int timeout_ms, char **text, int *code)
{
	int64_t end = wsc_now_us() + (int64_t) timeout_ms * 1000;
	char *msg = NULL;
	size_t msg_len = 0;
	int msg_op = 0;

	*text = NULL;
	for (;;)
	{
		size_t at = 2, n;
		int op, fin;

		while (r->len >= 2)
		{
			fin = r->in[0] & 0x80;
			op = r->in[0] & 0x0F;
			n = r->in[1] & 0x7F;
			at = 2;
			if (n == 126)
			{
				if (r->len < 4)
					break;
				n = (size_t) r->in[2] << 8 | r->in[3];
				at = 4;
			}
			else if (n == 127)
			{
				if (r->len < 10)
					break;
				n = 0;
				for (int i = 0; i < 8; i++)
					n = n << 8 | r->in[2 + i];
				at = 10;
			}
			if (r->in[1] & 0x80)
				at += 4; /* a server must not mask; tolerated */
			if (r->len < at + n)
				break;
			if (op == 8)
			{
				*code = n >= 2 ? r->in[at] << 8 | r->in[at + 1] : 1005;
				free(msg);
				memmove(r->in, r->in + at + n, r->len - at - n);
				r->len -= at + n;
				return 8;
			}
			if (op == 1 || op == 0)
			{
				char *grown = realloc(msg, msg_len + n + 1);

				if (!grown)
				{
					free(msg);
					return -1;
				}
				msg = grown;
				memcpy(msg + msg_len, r->in + at, n);
				msg_len += n;
				msg[msg_len] = '\0';
				if (op == 1)
					msg_op = 1;
			}
			memmove(r->in, r->in + at + n, r->len - at - n);
			r->len -= at + n;
			if ((op == 1 || op == 0) && fin && msg_op == 1)
			{
				*text = msg;
				return 1;
			}
		}
		{
			int64_t left = (end - wsc_now_us()) / 1000;

			if (left <= 0 || !raw_fill(r, (int) left))
			{
				free(msg);
				return r->eof ? -1 : 0;
			}
		}
	}
}

/* The next text message, parsed; NULL (not reported) otherwise. */
static json_t *
raw_next_json(raw *r, int timeout_ms)
{
	char *text;
	int code;
	json_t *v;

	if (raw_next(r, timeout_ms, &text, &code) != 1)
		return NULL;
	v = json_loads(text, 0, NULL);
	if (!v)
		check(false, "the server sent something that is not JSON: %.200s",
			  text);
	free(text);
	return v;
}

/* --- more of docs/protocol.md ---------------------------------------------
 */

/* Whether GOT equals the JSON text WANT; reports a difference. */
static bool
same_json(json_t *got, const char *want_text, const char *what)
{
	json_t *want = json_loads(want_text, 0, NULL);
	bool same = want && got && json_equal(got, want);

	if (!same)
	{
		char *text =
			got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		printf("     %s: expected %.300s, got %.300s\n", what, want_text,
			   text ? text : "(nothing)");
		free(text);
	}
	json_decref(want);
	return same;
}

/* collab.content(doc) through SQL, as text. */
static char *
sql_content(const char *doc)
{
	const char *p[1] = {doc};
	PGresult *r = sql("SELECT collab.content($1)::text", 1, p);
	char *text = strdup(PQgetvalue(r, 0, 0));

	PQclear(r);
	if (!text)
	{
		fprintf(stderr, "out of memory\n");
		exit(100);
	}
	return text;
}

/* Snapshots: of a new document, of an existing one, and a restarted stream.
 */
static void
test_snapshots(void)
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
	/* subscribing again restarts the stream: a snapshot, or the changes */
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
	wsc_free(a);
	wsc_free(b);
}

/* Counter NAME of the instance at HOST:PORT's /metrics; -1 if unreadable. */
static long long
metric(const char *host, int port, const char *name)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
							 .sin_port = htons((uint16_t) port)};
	char buf[16384], req[256], key[128];
	size_t len = 0;
	ssize_t n;
	const char *at;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
		connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
	{
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req),
				 "GET /metrics HTTP/1.1\r\nHost: %s:%d\r\n"
				 "Connection: close\r\n\r\n",
				 host, port);
	if (write(fd, req, (size_t) n) != n)
	{
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) - 1 &&
		   (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t) n;
	close(fd);
	buf[len] = '\0';
	snprintf(key, sizeof(key), "\n%s ", name);
	at = strstr(buf, key);
	return at ? strtoll(at + strlen(key), NULL, 10) : -1;
}

/*
 * Many subscribers at once to one large document share one snapshot
 * query; a failed one fails them all, each with its error.
 */
static void
test_snapshot_shared(void)
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
	before = metric(host_a, port_a, "collab_notifier_snapshots_total");
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
	after = metric(host_a, port_a, "collab_notifier_snapshots_total");
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

/* Presence on the same and the other instance; cleared by unsubscribe and
 * by a clean close. */
static void
test_presence_more(void)
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

/* fetch: the head, revision 0, errors with the id. */
static void
test_fetch_more(void)
{
	const char *doc = doc_name("fetch");
	const char *p[1] = {doc};
	wsc *b = connect_to('b');
	json_t *m;
	char *content;

	free(hello(b));
	PQclear(sql("SELECT collab.create_document($1, "
				"'[{\"insert\":\"Title\"},{\"insert\":\"\\n\","
				"\"attributes\":{\"header\":1}}]')",
				1, p));
	PQclear(
		sql("SELECT collab.submit($1, 0, '[{\"insert\":\"<b>\"}]')", 1, p));
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"id\":\"q1\"}", doc);
	m = expect(b, "content", "fetch without rev");
	content = sql_content(doc);
	check(m && int_of(m, "rev") == 1 && strcmp(str_of(m, "id"), "q1") == 0 &&
			  same_json(json_object_get(m, "content"), content, "content") &&
			  strcmp(str_of(m, "html"), "<h1>&lt;b&gt;Title</h1>") == 0,
		  "fetch without rev: the head (revision 1), escaped HTML (%s), the "
		  "id",
		  m ? str_of(m, "html") : "");
	json_decref(m);
	free(content);
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":0,\"id\":2}",
			  doc);
	m = expect(b, "content", "fetch of revision 0");
	check(m && int_of(m, "rev") == 0 && int_of(m, "id") == 2 &&
			  same_json(json_object_get(m, "content"),
						"{\"ops\":[{\"insert\":\"Title\"},{\"insert\":"
						"\"\\n\",\"attributes\":{\"header\":1}}]}",
						"content"),
		  "fetch of revision 0: the content the document was created with");
	json_decref(m);
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"id\":{\"k\":[true]}}",
			  doc_name("nofetch"));
	m = expect(b, "error", "fetch of a missing document");
	check(m && strcmp(str_of(m, "code"), "not_found") == 0 &&
			  same_json(json_object_get(m, "id"), "{\"k\":[true]}", "id"),
		  "fetch of a missing document: not_found with the id echoed");
	json_decref(m);
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":2,\"id\":null}",
			  doc);
	m = expect(b, "error", "fetch after the head");
	check(m && strcmp(str_of(m, "code"), "invalid_revision") == 0 &&
			  json_object_get(m, "id") &&
			  json_is_null(json_object_get(m, "id")),
		  "fetch after the head: invalid_revision with the id (null) echoed");
	json_decref(m);
	wsc_free(b);
}

/* Mistyped fields and bad client ids. */
static void
test_bad_fields(void)
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
}

/* Mid-stream resubmits: an ack whose revision the snapshot already has. */
static void
test_resubmit_more(void)
{
	const char *doc = doc_name("resub2");
	const char *p[1] = {doc};
	char id[64];
	wsc *a = connect_to('a'), *b;
	json_t *m;
	PGresult *r;
	int64_t end;

	snprintf(id, sizeof(id), "rs2-%s", run_id);
	free(hello(a));
	subscribe(a, doc);
	/* submit, and cut the connection as soon as the submit has left: the
	 * server commits it, the ack is lost */
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"insert\":\"one\"}],\"client\":\"%s\",\"seq\":1}",
			  doc, id);
	for (end = wsc_now_us() + WAIT_MS * 1000LL;
		 wsc_unsent(a) > 0 && wsc_now_us() < end;)
		wsc_service(loop);
	wsc_drop(a);
	wsc_free(a);
	/* wait for the commit, then come back without rev: the snapshot has it */
	for (end = wsc_now_us() + WAIT_MS * 1000LL; wsc_now_us() < end;)
	{
		r = sql("SELECT collab.head($1)", 1, p);
		if (strcmp(PQgetvalue(r, 0, 0), "1") == 0)
		{
			PQclear(r);
			break;
		}
		PQclear(r);
		usleep(10000);
	}
	b = connect_to('b');
	free(hello(b));
	wsc_sendf(b, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"client\":\"%s\"}",
			  doc, id);
	m = expect(b, "snapshot", "subscribe after the cut");
	check(m && int_of(m, "rev") == 1,
		  "the submit committed although its connection was cut (snapshot "
		  "at revision 1)");
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

/* A change too big for a NOTIFY payload, submitted through SQL and through
 * a WebSocket, reaches subscribers on both instances whole. */
static void
test_big_more(void)
{
	const char *doc = doc_name("big2");
	const char *p[2] = {doc, NULL};
	wsc *a = connect_to('a'), *a2 = connect_to('a'), *b = connect_to('b');
	size_t n = 9000;
	char *ins = malloc(n + 1), *change = malloc(n + 64),
		 *msg = malloc(n + 256);
	json_t *m;

	if (!ins || !change || !msg)
	{
		fprintf(stderr, "out of memory\n");
		exit(100);
	}
	free(hello(a));
	free(hello(a2));
	free(hello(b));
	subscribe(a, doc);
	subscribe(a2, doc);
	subscribe(b, doc);
	/* 3000 characters of three bytes: 9000 bytes, 3000 UTF-16 units */
	for (size_t i = 0; i < n; i += 3)
		memcpy(ins + i, "\xe2\x82\xac", 3); /* € */
	ins[n] = '\0';
	snprintf(change, n + 64, "[{\"insert\":\"%s\"}]", ins);
	p[1] = change;
	PQclear(sql("SELECT collab.submit($1, 0, $2::jsonb)", 2, p));
	for (int i = 0; i < 2; i++)
	{
		m = expect(i ? b : a, "change", "a big change through SQL");
		if (m)
		{
			json_t *ops = json_object_get(json_object_get(m, "change"), "ops");
			const char *got = json_string_value(
				json_object_get(json_array_get(ops, 0), "insert"));

			check(int_of(m, "rev") == 1 && got && strcmp(got, ins) == 0 &&
					  json_is_null(json_object_get(m, "client")),
				  "a 9000-byte change through SQL reaches instance %s whole",
				  i ? "B" : "A");
			json_decref(m);
		}
	}
	m = expect(a2, "change", "a big change through SQL");
	json_decref(m);
	snprintf(msg, n + 256,
			 "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":1,\"change\":[{"
			 "\"retain\":3000},{\"insert\":\"%s\"}],\"seq\":1}",
			 doc, ins);
	wsc_send(a, msg);
	m = expect(a, "ack", "a big submit");
	check(m && int_of(m, "rev") == 2, "a big submit is acknowledged");
	json_decref(m);
	for (int i = 0; i < 2; i++)
	{
		m = expect(i ? b : a2, "change", "a big submitted change");
		check(m && int_of(m, "rev") == 2 &&
				  json_string_value(json_object_get(
					  json_array_get(json_object_get(json_object_get(m,
																	 "change"),
													 "ops"),
									 1),
					  "insert")) &&
				  strlen(json_string_value(json_object_get(
					  json_array_get(json_object_get(json_object_get(m,
																	 "change"),
													 "ops"),
									 1),
					  "insert"))) == n,
			  "a 9000-byte submit reaches a subscriber on the %s instance "
			  "whole",
			  i ? "other" : "same");
		json_decref(m);
	}
	free(ins);
	free(change);
	free(msg);
	wsc_free(a);
	wsc_free(a2);
	wsc_free(b);
}

/* The subprotocol "collab" is accepted (and named in the answer). */
static void
test_subprotocol(void)
{
	raw *r = raw_connect(host_b, port_b, 0, "collab");
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

/* The in-flight limit: 40 submits in one write, at most 16 in flight. */
static void
test_inflight_limit(void)
{
	const char *doc = doc_name("inflight");
	const char *p[1] = {doc};
	raw *r = raw_connect(host_b, port_b, 0, NULL);
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
 * A burst: 400 changes committed in one transaction, to a client that reads
 * all the time, on A (--max-queue 256).  It is not slow: it must get them
 * all, gap-free, and stay connected.
 */
static void
test_burst(void)
{
	const char *doc = doc_name("burst");
	wsc *a = connect_to('a');
	json_int_t rev = 0;
	bool gapless = true;
	json_t *m;

	free(hello(a));
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
	wsc_free(a);
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
test_slow_consumer(void)
{
	const char *doc = doc_name("slow");
	raw *r = raw_connect(host_a, port_a, 4096, NULL);
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

static void
parse_hostport(const char *s, char *host, int *port)
{
	const char *colon = strrchr(s, ':');

	if (!colon || colon - s >= 127)
	{
		fprintf(stderr, "bad HOST:PORT %s\n", s);
		exit(100);
	}
	memcpy(host, s, (size_t) (colon - s));
	host[colon - s] = '\0';
	*port = atoi(colon + 1);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"subscribe_and_submit", test_subscribe_and_submit},
		{"errors", test_errors},
		{"big_change", test_big_change},
		{"ordering", test_ordering},
		{"resubmit", test_resubmit},
		{"presence", test_presence},
		{"snapshots", test_snapshots},
		{"snapshot_shared", test_snapshot_shared},
		{"presence_more", test_presence_more},
		{"fetch_more", test_fetch_more},
		{"bad_fields", test_bad_fields},
		{"resubmit_more", test_resubmit_more},
		{"big_more", test_big_more},
		{"subprotocol", test_subprotocol},
		{"inflight_limit", test_inflight_limit},
		{"slow_consumer", test_slow_consumer},
		{"burst", test_burst},
	};
	const char *dsn = NULL, *restart = NULL, *only = NULL;
	int a_pid = 0;

	for (int i = 1; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--a") == 0)
			parse_hostport(argv[i + 1], host_a, &port_a);
		else if (strcmp(argv[i], "--b") == 0)
			parse_hostport(argv[i + 1], host_b, &port_b);
		else if (strcmp(argv[i], "--dsn") == 0)
			dsn = argv[i + 1];
		else if (strcmp(argv[i], "--a-pid") == 0)
			a_pid = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--restart-cmd") == 0)
			restart = argv[i + 1];
		else if (strcmp(argv[i], "--only") == 0)
			only = argv[i + 1];
	}
	if (!port_a || !port_b || !dsn)
	{
		fprintf(stderr, "usage: protocol_test --a HOST:PORT --b HOST:PORT "
						"--dsn CONNINFO [--a-pid PID] [--restart-cmd CMD] "
						"[--only NAME]\n");
		return 100;
	}
	setenv("PROTOCOL_TEST_DSN", dsn, 1);
	snprintf(run_id, sizeof(run_id), "%lx", (unsigned long) wsc_now_us());
	db = PQconnectdb(dsn);
	if (PQstatus(db) != CONNECTION_OK)
	{
		fprintf(stderr, "cannot connect: %s", PQerrorMessage(db));
		return 100;
	}
	loop = wsc_loop_new(256);
	if (!loop)
		return 100;
	for (size_t i = 0; i < sizeof(tests) / sizeof(*tests); i++)
		if (!only || strstr(tests[i].name, only))
		{
			printf("--- %s\n", tests[i].name);
			tests[i].fn();
		}
	if (restart && (!only || strstr("restart", only)))
		test_restart(restart);
	if (a_pid && (!only || strstr("shutdown", only)))
		test_shutdown(a_pid);
	wsc_loop_free(loop);
	PQfinish(db);
	printf("protocol_test: %d failed\n", failures);
	return failures > 100 ? 100 : failures;
}
