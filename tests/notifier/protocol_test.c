/*
 * protocol_test.c — docs/protocol.md, message by message, against two real
 * notifier instances and a real database (tests/notifier/check runs it).
 *
 *   protocol_test --a HOST:PORT --b HOST:PORT --dsn CONNINFO
 *                 [--a-pid PID] [--restart-cmd CMD]
 *
 * Instance A must run with --max-docs 5 --rate 100 --burst 200
 * --max-message-bytes 65536 (the limits tests provoke); B with defaults.
 * Each check prints "ok" or "FAIL" with what differed; the exit status is
 * the number of failures (capped at 100).  With --a-pid, the last test
 * sends SIGTERM to A and expects close code 1001; with --restart-cmd, a
 * test restarts the database (CMD is run by the shell) and expects the
 * stream to survive it.
 */
#include "wsc.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* An error with CODE; checks doc when DOC is not NULL. */
static void
expect_error(wsc *c, const char *code, const char *doc, const char *what)
{
	json_t *m = expect(c, "error", what);

	if (!m)
		return;
	check(strcmp(str_of(m, "code"), code) == 0 &&
			  (!doc || strcmp(str_of(m, "doc"), doc) == 0) &&
			  *str_of(m, "message"),
		  "%s: error %s (got %s: %s)", what, code, str_of(m, "code"),
		  str_of(m, "message"));
	json_decref(m);
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
	expect_error(a, "invalid_change", doc,
				 "a change longer than the document");
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":5,\"change\":[{"
			  "\"insert\":\"a\"}],\"seq\":2}",
			  doc);
	expect_error(a, "invalid_change", doc,
				 "a base revision ahead of the head");
	wsc_sendf(a,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":[{"
			  "\"bogus\":1}],\"seq\":3}",
			  doc);
	expect_error(a, "invalid_change", doc, "a malformed change");
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
	const char *dsn = NULL, *restart = NULL;
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
	}
	if (!port_a || !port_b || !dsn)
	{
		fprintf(stderr, "usage: protocol_test --a HOST:PORT --b HOST:PORT "
						"--dsn CONNINFO [--a-pid PID] [--restart-cmd CMD]\n");
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
	test_subscribe_and_submit();
	test_errors();
	test_big_change();
	test_ordering();
	test_resubmit();
	test_presence();
	if (restart)
		test_restart(restart);
	if (a_pid)
		test_shutdown(a_pid);
	wsc_loop_free(loop);
	PQfinish(db);
	printf("protocol_test: %d failed\n", failures);
	return failures > 100 ? 100 : failures;
}
