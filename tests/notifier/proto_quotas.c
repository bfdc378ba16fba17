/*
 * proto_quotas.c — the quotas of docs/auth.md beyond one connection's
 * limits, provoked on instance Q (tests/notifier/check starts it with
 * --max-clients-per-address 4 --creates-per-minute 3 --byte-rate 65536
 * --byte-burst 131072 --max-message-bytes 65536): the byte rate, the
 * connections per address, the creations per minute; and on B (defaults,
 * creations lifted): fetches of one revision sharing a query, and a new
 * client served within a second of a burst of bad clients.
 *
 * Other client addresses are 127.0.0.2 and up (raw_connect_from): Linux
 * routes all of 127/8 to loopback.
 */
#define _GNU_SOURCE /* asprintf */
#include "harness.h"
#include "raw.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Waits (at most WAIT_MS) until instance WHICH has at most N connections
 * open: a client's close reaches the server a moment later. */
static bool
connections_at_most(char which, long long n)
{
	for (int i = 0; i < WAIT_MS / 20; i++)
	{
		long long now = metric(which, "collab_notifier_connections");

		if (now >= 0 && now <= n)
			return true;
		usleep(20000);
	}
	return false;
}

/* A raw connection from SOURCE to WHICH with its hello read; NULL
 * (reported) when refused. */
static raw *
raw_hello_from(char which, const char *source, const char *what)
{
	int status;
	raw *r = raw_connect_from(which, source, &status);
	json_t *m = r ? raw_next_json(r, WAIT_MS) : NULL;

	if (!r || !m || strcmp(type_of(m), "hello") != 0)
		check(false, "%s: connected from %s (HTTP %d)", what, source, status);
	json_decref(m);
	return r;
}

/* The next message on R that is not presence, parsed; NULL after WAIT_MS. */
static json_t *
raw_expect(raw *r)
{
	json_t *m;

	while ((m = raw_next_json(r, WAIT_MS)) &&
		   strcmp(type_of(m), "presence") == 0)
		json_decref(m);
	return m;
}

/*
 * Q allows 131072 bytes in a burst, then 65536 a second: three messages
 * of 60 KB at once, the third is dropped with rate_limited naming bytes,
 * and the connection goes on.
 */
static void
test_byte_rate_limited(void)
{
	long long before = metric('q', "collab_notifier_byte_rate_limited_total");
	raw *r;
	char *pad = malloc(60001), *frames = NULL, *text = NULL;
	size_t len = 0;
	json_t *m;

	if (!harness_has_q() || !pad)
	{
		free(pad);
		printf("     (no instance q: skipped)\n");
		return;
	}
	check(connections_at_most('q', 0), "instance q has no connections left");
	r = raw_hello_from('q', "127.0.0.1", "a client of q");
	memset(pad, 'x', 60000);
	pad[60000] = '\0';
	for (int i = 0; r && i < 3; i++)
	{
		free(text);
		if (asprintf(
				&text,
				"{\"type\":\"unsubscribe\",\"doc\":\"none\",\"pad\":\"%s\"}",
				pad) < 0 ||
			!raw_frame(&frames, &len, text))
			break;
	}
	if (r && raw_write(r, frames, len))
	{
		m = raw_expect(r);
		check(m && strcmp(type_of(m), "error") == 0 &&
				  strcmp(str_of(m, "code"), "rate_limited") == 0 &&
				  strstr(str_of(m, "message"), "bytes"),
			  "180 KB at once over --byte-burst 131072: rate_limited, "
			  "naming bytes (%s %s)",
			  str_of(m, "code"), str_of(m, "message"));
		json_decref(m);
		raw_sendf(r, "{\"type\":\"fetch\",\"doc\":\"%s\",\"id\":1}",
				  doc_name("no-such"));
		m = raw_expect(r);
		check(m && strcmp(str_of(m, "code"), "not_found") == 0,
			  "the connection goes on: a fetch after it is answered (%s)",
			  str_of(m, "code"));
		json_decref(m);
		check(metric('q', "collab_notifier_byte_rate_limited_total") -
					  before ==
				  1,
			  "one message dropped over the byte rate, counted in /metrics");
	}
	free(pad);
	free(frames);
	free(text);
	raw_free(r);
}

/*
 * Q allows 4 connections per address: a fifth from 127.0.0.1 is refused
 * at the handshake (429), one from 127.0.0.2 is served meanwhile, and once
 * one of the four closes, 127.0.0.1 connects again.
 */
static void
test_connections_per_address_capped(void)
{
	long long refused =
		metric('q', "collab_notifier_refused_per_address_total");
	raw *mine[4] = {NULL}, *other, *extra;
	int status;
	json_t *m;

	if (!harness_has_q())
	{
		printf("     (no instance q: skipped)\n");
		return;
	}
	check(connections_at_most('q', 0), "instance q has no connections left");
	for (int i = 0; i < 4; i++)
		mine[i] = raw_hello_from('q', "127.0.0.1", "one of four connections");
	extra = raw_connect_from('q', "127.0.0.1", &status);
	check(!extra && status == 429,
		  "a fifth connection from 127.0.0.1 is refused with HTTP 429 "
		  "(got %d)",
		  status);
	raw_free(extra);
	check(metric('q', "collab_notifier_refused_per_address_total") - refused ==
			  1,
		  "the refusal is counted in /metrics");
	other = raw_hello_from('q', "127.0.0.2", "another address");
	if (other)
	{
		raw_sendf(other, "{\"type\":\"fetch\",\"doc\":\"%s\",\"id\":7}",
				  doc_name("no-such"));
		m = raw_expect(other);
		check(m && strcmp(str_of(m, "code"), "not_found") == 0 &&
				  int_of(m, "id") == 7,
			  "a client from 127.0.0.2 is served meanwhile");
		json_decref(m);
	}
	raw_free(mine[0]);
	mine[0] = NULL;
	check(connections_at_most('q', 4), "one of the four closed");
	extra = raw_hello_from('q', "127.0.0.1", "again after a close");
	check(extra != NULL, "then 127.0.0.1 connects again");
	raw_free(extra);
	raw_free(other);
	for (int i = 0; i < 4; i++)
		raw_free(mine[i]);
}

/* Subscribes R to DOC with create; returns the answer's type and code. */
static void
subscribe_create(raw *r, const char *doc, char *type, char *code, size_t size)
{
	json_t *m;

	raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc);
	m = raw_expect(r);
	snprintf(type, size, "%s", m ? type_of(m) : "(nothing)");
	snprintf(code, size, "%s", m ? str_of(m, "code") : "");
	json_decref(m);
}

/* Whether DOC exists in the database. */
static bool
doc_exists(const char *doc)
{
	const char *p[1] = {doc};
	PGresult *res =
		sql("SELECT count(*) FROM collab.documents WHERE doc_id = $1", 1, p);
	bool exists = strcmp(PQgetvalue(res, 0, 0), "1") == 0;

	PQclear(res);
	return exists;
}

/*
 * Q allows 3 creations a minute per address (no keys): the fourth new
 * document is refused with rate_limited and not created, from any
 * connection of that address; subscribing with create to a document that
 * exists still works, and another address still creates.
 */
static void
test_creations_per_minute_limited(void)
{
	const char *existing = doc_name("creates-existing");
	const char *p[1] = {existing};
	long long limited = metric('q', "collab_notifier_creates_limited_total");
	char type[64], code[64];
	raw *r, *r2, *other;

	if (!harness_has_q())
	{
		printf("     (no instance q: skipped)\n");
		return;
	}
	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	r = raw_hello_from('q', "127.0.0.3", "a creator");
	r2 = raw_hello_from('q', "127.0.0.3", "its second connection");
	other = raw_hello_from('q', "127.0.0.4", "a creator elsewhere");
	if (!r || !r2 || !other)
		goto out;
	/* an existing document is no creation */
	subscribe_create(r, existing, type, code, sizeof(type));
	for (int i = 0; i < 3; i++)
	{
		char base[32];

		snprintf(base, sizeof(base), "creates-%d", i);
		subscribe_create(i == 1 ? r2 : r, doc_name(base), type, code,
						 sizeof(type));
		check(strcmp(type, "snapshot") == 0,
			  "creation %d of 3 a minute, on either connection: %s %s", i + 1,
			  type, code);
	}
	subscribe_create(r2, doc_name("creates-3"), type, code, sizeof(type));
	check(strcmp(type, "error") == 0 && strcmp(code, "rate_limited") == 0,
		  "a fourth creation within the minute: rate_limited (got %s %s)",
		  type, code);
	check(!doc_exists(doc_name("creates-3")), "... and nothing was created");
	check(metric('q', "collab_notifier_creates_limited_total") - limited == 1,
		  "... counted in /metrics");
	raw_sendf(r, "{\"type\":\"unsubscribe\",\"doc\":\"%s\"}", existing);
	subscribe_create(r, existing, type, code, sizeof(type));
	check(strcmp(type, "snapshot") == 0,
		  "over the quota, a subscribe with create of a document that "
		  "exists is served (got %s %s)",
		  type, code);
	subscribe_create(other, doc_name("creates-4"), type, code, sizeof(type));
	check(strcmp(type, "snapshot") == 0 && doc_exists(doc_name("creates-4")),
		  "another address still creates (got %s %s)", type, code);
out:
	raw_free(r);
	raw_free(r2);
	raw_free(other);
}

/*
 * Commits DOC (new) with REVS revisions of BYTES characters each, so that
 * its content and HTML take the database a while.
 */
static void
big_document(const char *doc, int revs, int bytes)
{
	const char *p[1] = {doc};
	char query[512];

	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	PQclear(sql("SELECT set_config('pt.doc', $1, false)", 1, p));
	snprintf(query, sizeof(query),
			 "DO $$ BEGIN FOR i IN 1..%d LOOP PERFORM collab.submit("
			 "current_setting('pt.doc'), i - 1, jsonb_build_array("
			 "jsonb_build_object('insert', repeat('w ', %d) || E'\\n'))); "
			 "END LOOP; END $$",
			 revs, bytes / 2);
	PQclear(sql(query, 0, NULL));
}

#define FETCHERS 20

/*
 * Twenty clients on B fetch the same revision at once, each with its own
 * id: all get the same content with their id, and the notifier ran fewer
 * queries than fetches.  Twenty fetches of a revision past the head all
 * get invalid_revision, each with its id.
 */
static void
test_fetches_of_one_revision_share_a_query(void)
{
	const char *doc = doc_name("shared-fetch");
	wsc *c[FETCHERS];
	long long requests = metric('b', "collab_notifier_fetch_requests_total");
	long long queries = metric('b', "collab_notifier_fetch_queries_total");
	int answered = 0, errors = 0;
	char *first = NULL;
	bool same = true;

	big_document(doc, 4, 15000);
	for (int i = 0; i < FETCHERS; i++)
		c[i] = connect_to('b');
	for (int i = 0; i < FETCHERS; i++)
		free(hello(c[i]));
	for (int i = 0; i < FETCHERS; i++)
		wsc_sendf(c[i],
				  "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":3,"
				  "\"id\":%d}",
				  doc, 100 + i);
	for (int i = 0; i < FETCHERS; i++)
	{
		json_t *m = expect(c[i], "content", "a shared fetch");
		json_t *content = m ? json_object_get(m, "content") : NULL;
		char *text = content ? json_dumps(content, JSON_COMPACT) : NULL;

		if (m && int_of(m, "rev") == 3 && int_of(m, "id") == 100 + i && text)
		{
			answered++;
			if (!first)
				first = strdup(text);
			else if (strcmp(first, text) != 0)
				same = false;
		}
		free(text);
		json_decref(m);
	}
	check(answered == FETCHERS && same,
		  "%d clients fetching revision 3 at once: %d got it with their own "
		  "id, %s",
		  FETCHERS, answered, same ? "all the same" : "NOT all the same");
	check(metric('b', "collab_notifier_fetch_requests_total") - requests ==
				  FETCHERS &&
			  metric('b', "collab_notifier_fetch_queries_total") - queries <
				  FETCHERS,
		  "... by fewer queries than fetches: %lld queries for %lld fetches",
		  metric('b', "collab_notifier_fetch_queries_total") - queries,
		  metric('b', "collab_notifier_fetch_requests_total") - requests);
	for (int i = 0; i < FETCHERS; i++)
		wsc_sendf(c[i],
				  "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":99,"
				  "\"id\":%d}",
				  doc, 200 + i);
	for (int i = 0; i < FETCHERS; i++)
	{
		json_t *m = expect(c[i], "error", "a shared fetch's error");

		errors += m && strcmp(str_of(m, "code"), "invalid_revision") == 0 &&
				  int_of(m, "id") == 200 + i;
		json_decref(m);
	}
	check(errors == FETCHERS,
		  "a revision past the head: all %d get invalid_revision with their "
		  "id (%d did)",
		  FETCHERS, errors);
	free(first);
	for (int i = 0; i < FETCHERS; i++)
		wsc_free(c[i]);
}

#define BURST_WAVES 4
#define BURST_CONNS 50 /* per wave, under B's 256 per address */
#define BURST_MSGS 50  /* per connection */

/* Appends connection N's BURST_MSGS messages to *OUT: malformed ones,
 * fetches of a big document's revisions, subscribes with create, presence
 * and submits. */
static bool
burst_frames(char **out, size_t *len, int n, const char *big)
{
	char text[512];

	for (int i = 0; i < BURST_MSGS; i++)
	{
		const char *doc = doc_name("burst-new");

		switch (i % 5)
		{
			case 0:
				snprintf(text, sizeof(text), "{\"type\":\"subscribe\",%d", i);
				break;
			case 1:
				snprintf(text, sizeof(text),
						 "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":%d}", big,
						 1 + (n + i) % 8);
				break;
			case 2:
				snprintf(text, sizeof(text),
						 "{\"type\":\"subscribe\",\"doc\":\"%s-%d-%d\","
						 "\"create\":true}",
						 doc, n, i);
				break;
			case 3:
				snprintf(text, sizeof(text),
						 "{\"type\":\"presence\",\"doc\":\"%s-%d-%d\","
						 "\"state\":{\"cursor\":%d}}",
						 doc, n, i - 1, i);
				break;
			default:
				snprintf(text, sizeof(text),
						 "{\"type\":\"submit\",\"doc\":\"%s-%d-%d\",\"rev\":0,"
						 "\"change\":[{\"insert\":\"x\"}],\"seq\":%d}",
						 doc, n, i - 2, i);
				break;
		}
		if (!raw_frame(out, len, text))
			return false;
	}
	return true;
}

/*
 * Issue 13: "right after a burst of many thousands of malformed and
 * expensive messages from many short-lived connections, a new client
 * subscribes and submits within a second."  200 connections to B, 50
 * messages each (10,000), in waves of 50 that write everything at once
 * and close; then a client from another address subscribes with create
 * and submits, and must have its snapshot and its ack within 1 s of the
 * last burst connection's close.
 */
static void
test_new_client_served_within_a_second_of_a_burst(void)
{
	const char *big = doc_name("burst-big"), *doc = doc_name("burst-after");
	long long in = metric('b', "collab_notifier_messages_in_total");
	raw *r[BURST_CONNS];
	int opened = 0;
	int64_t t0, t_snapshot = 0, t_ack = 0;
	raw *c;
	json_t *m;

	big_document(big, 8, 100000);
	for (int wave = 0; wave < BURST_WAVES; wave++)
	{
		for (int i = 0; i < BURST_CONNS; i++)
		{
			char *frames = NULL;
			size_t len = 0;
			int status;

			r[i] = raw_connect_from('b', "127.0.0.1", &status);
			if (r[i] &&
				burst_frames(&frames, &len, wave * BURST_CONNS + i, big))
				opened += raw_write(r[i], frames, len);
			free(frames);
		}
		usleep(200000); /* the server reads what was sent */
		for (int i = 0; i < BURST_CONNS; i++)
			raw_free(r[i]);
	}
	t0 = wsc_now_us();
	check(opened == BURST_WAVES * BURST_CONNS,
		  "%d short-lived connections sent %d messages each, then closed",
		  opened, BURST_MSGS);
	c = raw_hello_from('b', "127.0.0.2", "the client after the burst");
	if (c)
	{
		raw_sendf(c, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
				  doc);
		m = raw_expect(c);
		if (m && strcmp(type_of(m), "snapshot") == 0)
			t_snapshot = wsc_now_us();
		json_decref(m);
		raw_sendf(c,
				  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"change\":"
				  "[{\"insert\":\"after\"}],\"seq\":1}",
				  doc);
		m = raw_expect(c);
		if (m && strcmp(type_of(m), "ack") == 0 && int_of(m, "rev") == 1)
			t_ack = wsc_now_us();
		json_decref(m);
	}
	printf("     after the burst (%lld messages read by B): snapshot in %lld "
		   "ms, ack in %lld ms\n",
		   metric('b', "collab_notifier_messages_in_total") - in,
		   t_snapshot ? (long long) (t_snapshot - t0) / 1000 : -1,
		   t_ack ? (long long) (t_ack - t0) / 1000 : -1);
	check(t_snapshot && t_ack && t_ack - t0 < 1000000,
		  "a new client subscribes and submits within 1 s of the burst: ack "
		  "after %lld ms",
		  t_ack ? (long long) (t_ack - t0) / 1000 : -1);
	raw_free(c);
}

const harness_test proto_quotas[] = {
	{"byte_rate_limited", test_byte_rate_limited},
	{"connections_per_address_capped", test_connections_per_address_capped},
	{"creations_per_minute_limited", test_creations_per_minute_limited},
	{"fetches_of_one_revision_share_a_query",
	 test_fetches_of_one_revision_share_a_query},
	{"new_client_served_within_a_second_of_a_burst",
	 test_new_client_served_within_a_second_of_a_burst},
	{NULL, NULL},
};
