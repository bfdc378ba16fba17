/*
 * converge_test.c — many OT clients over several notifier instances, editing
 * a few documents at once, some losing their connection with a change in
 * flight; at the end every copy, collab.content and the log must agree.
 *
 *   converge_test --url HOST:PORT[,HOST:PORT...] --dsn CONNINFO
 *                 [--clients 40] [--docs 4] [--edits 40] [--seed N]
 *                 [--drop 0.15] [--edit-ms 60] [--run NAME]
 *                 [--seconds N [--settle-seconds 60]] [--faults]
 *
 * Each client is tests/lib's OT client (otclient.h: the rules of
 * client/collab-client.js, with the core's compose/transform/apply): one
 * change in flight, later edits composed into a buffer, incoming changes
 * transformed against both (theirs first), acks (or a change carrying its
 * own id and seq) ending the flight.  Edits are tests/lib/edits.h's:
 * inserts (with attributes, emoji, combining marks, embeds), deletes and
 * formats at code point boundaries.  With probability --drop, a
 * submit is followed by a cut connection: a third of the time before the
 * submit is written (the server never sees it), otherwise 0-15 ms after it
 * has left (the server runs it; its ack is lost, or raced by the cut).  The
 * client keeps editing offline and comes back on a random instance: it
 * resumes from its revision and resubmits the change in flight with the same
 * seq and base revision, at once or up to 60 ms later (by then the resumed
 * stream may have brought the first submission back as a change carrying
 * the client's own id and seq, which is its ack; or the resubmit's ack
 * arrives late, for a change the client already has).
 *
 * Each client edits every --edit-ms on average (a third to five thirds of
 * it), --edits times, or for --seconds (then waits up to --settle-seconds
 * for every change in flight to be acknowledged).  Documents are
 * converge-NAME-D and clients cv-NAME-I, NAME from --run (letters, digits,
 * _) or made up; tests/notifier/faults names them to hold a document.
 *
 * --faults: for runs across injected faults (tests/notifier/faults: the
 * database restarted, a notifier killed, links cut, backends frozen,
 * documents held).  What a client of docs/protocol.md must survive is then
 * survived, and counted, instead of failing the run:
 *   - `unavailable` (or `not_subscribed`, when the subscription had ended
 *     meanwhile) for a submit: the same change, same seq and base, again
 *     after a backoff (100 ms doubling to 2 s, jittered, reset by an ack);
 *   - `unavailable` for a subscription (an error with the document and no
 *     seq): subscribe again from the client's revision after the backoff,
 *     the change in flight with it;
 *   - a connection closed or refused by the server: reconnect to another
 *     instance after the backoff, resume, resubmit;
 *   - the database connection of the checks lost: re-established (30 s).
 * Any other error, and every check below, still fails.  The unavailable
 * answers are printed per document too ("unavailable by document: 0 12
 * ..."): tests/notifier/partitions checks that only a lost partition's
 * documents had any.
 *
 * Checked: every stream is gap-free (revision R + 1 after R); at the end
 * each client's copy equals collab.content(doc); the log is revisions
 * 1..head; every seq a client used was acknowledged, and every (client,
 * seq) of the log appears once, at its acknowledged revision (rows without
 * a client, changes made through SQL, are counted and taken in like any
 * other change); with enough drops after a submit left, some of them came
 * back as the client's own change (the deduplication path was taken).
 * Prints what differed; exit status 1 on failure.
 */
#include "delta.h"
#include "edits.h"
#include "otclient.h"
#include "wsc.h"

#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URLS 8
#define RUN_SECONDS_MAX 120
#define RETRY_MIN_MS 100  /* --faults: the first retry's backoff */
#define RETRY_MAX_MS 2000 /* ... doubling up to this */
#define DB_WAIT_S 30	  /* --faults: the checks' database coming back */

typedef struct client {
	int index;
	int doc;
	wsc *ws;
	bool subscribed;
	edits_rng rng;
	int edits_left;
	int64_t next_edit_us;
	int64_t reconnect_us; /* offline until then; 0: online */
	otclient ot; /* id, copy, rev (-1: no snapshot yet), flight, buffer */
	int64_t *acked_rev; /* [seq] -> revision, 0: not acknowledged */
	int acked_cap;
	int64_t drop_at_us;		   /* cut once the submit has left; 0: no */
	int64_t resubmit_at_us;	   /* resubmit the change in flight; 0: no */
	int64_t resubscribe_at_us; /* --faults: subscribe again; 0: no */
	int next_url;			   /* the instance to connect to; -1: any */
	int backoff_ms;			   /* --faults: the next retry's; 0: minimum */
	/* counters */
	int drops;		 /* connections cut with a change in flight */
	int drops_sent;	 /* ... after the submit had been written */
	int resubmits;	 /* changes in flight sent again after a reconnect */
	int own_changes; /* resumed changes carrying our id and inflight seq */
	int stray_acks;	 /* acks for a seq no longer in flight (late) */
	/* counters of --faults */
	int unavailable_submits; /* submits answered unavailable */
	int unavailable_subs;	 /* subscriptions ended unavailable */
	int not_subscribed;		 /* submits after the subscription had ended */
	int lost;				 /* connections closed or refused by a server */
	int lost_inflight;		 /* ... with a change in flight, subscribed */
} client;

static struct {
	char hosts[MAX_URLS][128];
	int ports[MAX_URLS];
	int nurls;
	int nclients, ndocs, edits;
	double drop;
	uint64_t seed;
	int edit_ms;		/* a client's mean pause between edits */
	int seconds;		/* edit for this long (0: --edits each) */
	int settle_seconds; /* then wait this long for the flights */
	bool faults;		/* survive what a fault causes (see above) */
	char run[24];
	wsc_loop *loop;
	edits_gen gen; /* every client's edits (its own rng) */
	client *clients;
	int failures;
} g;

static void
fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (++g.failures > 20)
		exit(1);
}

static unsigned
pick(client *c, unsigned n)
{
	return edits_pick(&c->rng, n);
}

/* The pause before a client's next edit: a third to five thirds of
 * --edit-ms (the same choices as before the option, at its default). */
static int64_t
edit_pause_us(client *c)
{
	int64_t us = (int64_t) g.edit_ms * 1000;

	return us / 3 + pick(c, (unsigned) (us * 4 / 3));
}

/*
 * --faults: when to retry what failed, half to one and a half times the
 * client's backoff, which doubles up to RETRY_MAX_MS; an ack resets it.
 * Clients that lost the same instance come back spread out.
 */
static int64_t
retry_at_us(client *c)
{
	int ms = c->backoff_ms ? c->backoff_ms : RETRY_MIN_MS;

	c->backoff_ms = ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ms * 2;
	return wsc_now_us() + (int64_t) ms * 500 + pick(c, (unsigned) ms * 1000);
}

static void
doc_id(int doc, char *out, size_t size)
{
	snprintf(out, size, "converge-%s-%d", g.run, doc);
}

static char *
to_json(delta_arena *arena, const delta *d)
{
	delta_buf buf;

	delta_buf_init(&buf, arena);
	if (delta_write(&buf, d, NULL) != DELTA_OK ||
		delta_buf_append(&buf, "", 1, NULL) != DELTA_OK)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return buf.data;
}

static delta *
from_json(delta_arena *arena, const char *text)
{
	delta *d;
	delta_error err;

	if (delta_parse(arena, text, strlen(text), &d, &err) != DELTA_OK)
	{
		fail("cannot parse a delta: %s: %.200s", err.message, text);
		return NULL;
	}
	return d;
}

/* --- the client algorithm --------------------------------------------- */

static void
send_inflight(client *c)
{
	char doc[96];

	doc_id(c->doc, doc, sizeof(doc));
	wsc_sendf(c->ws,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":%" PRId64
			  ",\"change\":%s,\"seq\":%" PRId64 "}",
			  doc, c->ot.inflight_base, c->ot.sent, c->ot.inflight_seq);
}

static void go_offline(client *c);

/* Moves the buffer into flight, if nothing is flying and we are online. */
static void
flush(client *c)
{
	bool submit;
	delta_error err;

	if (!c->subscribed)
		return;
	if (otc_flush(&c->ot, &submit, &err) != DELTA_OK)
	{
		fail("client %d: %s", c->index, err.message);
		return;
	}
	if (!submit)
		return;
	send_inflight(c);
	if (edits_chance(&c->rng, g.drop))
	{
		if (pick(c, 3) == 0)
			go_offline(c); /* before the submit is written: never seen */
		else
			c->drop_at_us = wsc_now_us() + pick(c, 15000);
	}
}

static void
local_edit(client *c)
{
	delta *change;
	delta_error err;

	if (edits_random(&g.gen, &c->rng, c->ot.arena, c->ot.doc, &change, &err) !=
		DELTA_OK)
	{
		fail("client %d: no edit of its copy: %s", c->index, err.message);
		return;
	}
	if (otc_edit(&c->ot, change, &err) != DELTA_OK)
	{
		fail("client %d: a local edit does not apply: %s", c->index,
			 err.message);
		return;
	}
	c->edits_left--;
	flush(c);
}

static void
record_ack(client *c, int64_t seq, int64_t rev)
{
	if (seq >= c->acked_cap)
	{
		int cap = (int) seq * 2 + 16;

		c->acked_rev = realloc(c->acked_rev, (size_t) cap * sizeof(int64_t));
		memset(c->acked_rev + c->acked_cap, 0,
			   (size_t) (cap - c->acked_cap) * sizeof(int64_t));
		c->acked_cap = cap;
	}
	c->acked_rev[seq] = rev;
}

/*
 * Subscribes C's document (resuming from its revision when it has one) and
 * sends what was in flight again, same seq and base, at once or a little
 * later (the resumed stream may confirm it first).
 */
static void
subscribe(client *c)
{
	char doc[96];

	doc_id(c->doc, doc, sizeof(doc));
	if (c->ot.rev >= 0)
		wsc_sendf(c->ws,
				  "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":%" PRId64
				  ",\"client\":\"%s\"}",
				  doc, c->ot.rev, c->ot.id);
	else
		wsc_sendf(c->ws,
				  "{\"type\":\"subscribe\",\"doc\":\"%s\",\"client\":\"%s\"}",
				  doc, c->ot.id);
	c->resubscribe_at_us = 0;
	c->resubmit_at_us = 0;
	if (c->ot.inflight)
	{
		if (pick(c, 2) == 0)
		{
			c->resubmits++;
			send_inflight(c);
		}
		else
			c->resubmit_at_us = wsc_now_us() + pick(c, 60000);
	}
	c->subscribed = true;
}

/*
 * An error: with --faults, unavailable (and not_subscribed, which follows
 * a subscription that ended unavailable) is retried later; anything else
 * fails the run.
 */
static void
on_error(client *c, json_t *m)
{
	const char *code = json_string_value(json_object_get(m, "code"));
	json_t *seq = json_object_get(m, "seq");
	bool unavailable = code && strcmp(code, "unavailable") == 0;
	bool unsubscribed = code && strcmp(code, "not_subscribed") == 0;

	if (!g.faults || !(unavailable || unsubscribed))
	{
		fail("client %d: error %s: %s", c->index, code ? code : "(none)",
			 json_string_value(json_object_get(m, "message")));
		return;
	}
	if (json_is_integer(seq))
	{
		/* a submit: it may have committed; the same seq again later */
		if (unavailable)
			c->unavailable_submits++;
		else
			c->not_subscribed++;
		if (c->ot.inflight && json_integer_value(seq) == c->ot.inflight_seq &&
			!c->resubmit_at_us)
			c->resubmit_at_us = retry_at_us(c);
	}
	else
	{
		/* the subscription ended: again later, from our revision */
		c->unavailable_subs++;
		c->subscribed = false;
		c->resubmit_at_us = 0;
		c->resubscribe_at_us = retry_at_us(c);
	}
}

static void
on_message(wsc *ws, const char *text, size_t len, void *user)
{
	client *c = user;
	json_t *m = json_loadb(text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(m, "type"));

	(void) ws;
	if (!type)
		fail("client %d: not a message: %.200s", c->index, text);
	else if (strcmp(type, "hello") == 0)
		subscribe(c);
	else if (strcmp(type, "snapshot") == 0)
	{
		char *content =
			json_dumps(json_object_get(m, "content"), JSON_COMPACT);
		delta_error err;

		if (c->ot.rev >= 0)
			fail("client %d: a snapshot when resuming from %" PRId64, c->index,
				 c->ot.rev);
		else if (otc_start(&c->ot, content, strlen(content),
						   json_integer_value(json_object_get(m, "rev")),
						   &err) != DELTA_OK)
			fail("client %d: a snapshot it cannot take: %s", c->index,
				 err.message);
		free(content);
	}
	else if (strcmp(type, "change") == 0 || strcmp(type, "ack") == 0)
	{
		bool ack = strcmp(type, "ack") == 0;
		int64_t rev = json_integer_value(json_object_get(m, "rev"));
		json_t *seqv = json_object_get(m, "seq");
		int64_t seq = json_is_integer(seqv) ? json_integer_value(seqv) : 0;
		int64_t before = c->ot.rev;
		otc_result r = OTC_FAILED;
		delta_error err;

		snprintf(err.message, sizeof(err.message), "not a delta");
		if (ack)
			r = otc_ack(&c->ot, rev, seq);
		else
		{
			char *change =
				json_dumps(json_object_get(m, "change"), JSON_COMPACT);
			delta *d = change ? from_json(c->ot.arena, change) : NULL;

			free(change);
			if (d)
				r = otc_change(&c->ot, rev,
							   json_string_value(json_object_get(m, "client")),
							   seq, d, &err);
		}
		if (ack && r == OTC_IGNORED)
			c->stray_acks++; /* a late ack for a change already confirmed */
		else if (r == OTC_FAILED)
			fail("client %d: revision %" PRId64 " cannot be taken in: %s",
				 c->index, rev, err.message);
		else if ((r != OTC_TAKEN && r != OTC_CONFIRMED) || rev != before + 1)
			fail("client %d: revision %" PRId64 " after %" PRId64 " (%s)",
				 c->index, rev, before, type);
		else if (r == OTC_CONFIRMED)
		{
			if (!ack)
				c->own_changes++;
			record_ack(c, c->ot.inflight_seq, rev);
			c->resubmit_at_us = 0;
			c->backoff_ms = 0;
			flush(c);
		}
	}
	else if (strcmp(type, "error") == 0)
		on_error(c, m);
	json_decref(m);
}

static void
go_online(client *c)
{
	int u = c->next_url >= 0 ? c->next_url : (int) pick(c, (unsigned) g.nurls);

	c->next_url = u;
	c->ws = wsc_connect(g.loop, g.hosts[u], g.ports[u], on_message, c);
	c->reconnect_us = 0;
	c->subscribed = false;
	if (!c->ws)
		c->reconnect_us = retry_at_us(c);
}

static void
go_offline(client *c)
{
	if (c->ot.inflight)
	{
		c->drops++;
		if (wsc_unsent(c->ws) == 0)
			c->drops_sent++;
	}
	c->drop_at_us = 0;
	c->resubmit_at_us = 0;
	c->resubscribe_at_us = 0;
	wsc_drop(c->ws);
	wsc_free(c->ws);
	c->ws = NULL;
	c->subscribed = false;
	c->next_url = -1;
	c->reconnect_us = wsc_now_us() + 20000 + pick(c, 200000);
}

/*
 * The server closed C's connection, or refused it.  With --faults: another
 * instance after the backoff (the change in flight goes again once it is
 * subscribed); else a failure.
 */
static void
connection_lost(client *c)
{
	if (!g.faults)
		fail("client %d: the server closed its connection (%d)", c->index,
			 wsc_close_code(c->ws));
	c->lost++;
	if (c->ot.inflight && c->subscribed)
		c->lost_inflight++;
	wsc_free(c->ws);
	c->ws = NULL;
	c->subscribed = false;
	c->drop_at_us = 0;
	c->resubmit_at_us = 0;
	c->resubscribe_at_us = 0;
	if (!g.faults)
	{
		c->reconnect_us = wsc_now_us();
		return;
	}
	if (g.nurls > 1)
		c->next_url =
			(c->next_url + 1 + (int) pick(c, (unsigned) g.nurls - 1)) %
			g.nurls;
	c->reconnect_us = retry_at_us(c);
}

/*
 * One turn of the clients: the sockets, then each client's timers (cut,
 * resubmit, resubscribe, reconnect) and its next edit, or its last flush
 * once it has no edits left.
 */
static void
step(void)
{
	int64_t now = wsc_now_us();

	wsc_service(g.loop);
	for (int i = 0; i < g.nclients; i++)
	{
		client *c = &g.clients[i];

		if (c->ws && c->drop_at_us && now >= c->drop_at_us &&
			wsc_unsent(c->ws) == 0)
			go_offline(c);
		if (c->ws && c->resubmit_at_us && now >= c->resubmit_at_us)
		{
			c->resubmit_at_us = 0;
			if (c->ot.inflight && c->subscribed)
			{
				c->resubmits++;
				send_inflight(c);
			}
		}
		if (c->ws && c->resubscribe_at_us && now >= c->resubscribe_at_us &&
			wsc_is_open(c->ws))
			subscribe(c);
		if (!c->ws && now >= c->reconnect_us)
			go_online(c);
		else if (c->ws && wsc_is_closed(c->ws))
			connection_lost(c);
		if (c->edits_left > 0 && c->ot.doc && now >= c->next_edit_us)
		{
			local_edit(c);
			c->next_edit_us = now + edit_pause_us(c);
		}
		else if (c->edits_left == 0)
			flush(c);
	}
}

/* Runs the clients until DONE or DEADLINE_US (or a failure). */
static bool
run_until(bool (*done)(void *arg), int64_t deadline_us)
{
	while (!done(NULL))
	{
		if (wsc_now_us() >= deadline_us || g.failures)
			return false;
		step();
	}
	return true;
}

/* --- checks at the end -------------------------------------------------- */

static bool
all_quiet(void *arg)
{
	(void) arg;
	for (int i = 0; i < g.nclients; i++)
	{
		client *c = &g.clients[i];

		if (c->edits_left > 0 || c->ot.inflight || c->ot.buffer || !c->ws ||
			!c->subscribed || c->ot.rev < 0 || c->resubscribe_at_us)
			return false;
	}
	return true;
}

static int64_t heads[64];

static bool
all_at_head(void *arg)
{
	(void) arg;
	for (int i = 0; i < g.nclients; i++)
	{
		if (g.clients[i].ot.rev != heads[g.clients[i].doc])
			return false;
	}
	return true;
}

/*
 * The checks' connection, working: with --faults the database may have
 * restarted since the documents were created, so a lost connection is
 * re-established, for up to DB_WAIT_S (the clients go on meanwhile).
 */
static bool
db_ready(PGconn *db)
{
	int64_t deadline = wsc_now_us() + (int64_t) DB_WAIT_S * 1000000;

	for (;;)
	{
		if (PQstatus(db) == CONNECTION_OK)
		{
			PGresult *r = PQexec(db, "SELECT 1");
			bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;

			PQclear(r);
			if (ok)
				return true;
		}
		if (!g.faults || wsc_now_us() >= deadline)
			return false;
		PQreset(db);
		if (PQstatus(db) != CONNECTION_OK)
		{
			int64_t pause = wsc_now_us() + 200000;

			while (wsc_now_us() < pause)
				step();
		}
	}
}

static int sql_changes; /* log rows without a client: made through SQL */

static void
check_database(PGconn *db)
{
	/* per client: rows of the log matching one of its acknowledged seqs */
	int64_t *logged = calloc((size_t) g.nclients, sizeof(int64_t));

	if (!logged)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (!db_ready(db))
	{
		fail("no database for the checks: %s", PQerrorMessage(db));
		free(logged);
		return;
	}
	for (int d = 0; d < g.ndocs; d++)
	{
		char doc[96];
		const char *p[1] = {doc};
		PGresult *r;

		doc_id(d, doc, sizeof(doc));
		r = PQexecParams(db, "SELECT collab.head($1)", 1, NULL, p, NULL, NULL,
						 0);
		heads[d] = PQresultStatus(r) == PGRES_TUPLES_OK
					   ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
					   : -1;
		PQclear(r);
	}
	if (!run_until(all_at_head,
				   wsc_now_us() +
					   (int64_t) (g.faults ? DB_WAIT_S : 10) * 1000000))
		fail("clients did not all reach the head revisions");
	for (int d = 0; d < g.ndocs; d++)
	{
		char doc[96];
		const char *p[1] = {doc};
		PGresult *r;
		delta_arena *arena = delta_arena_create(NULL);
		delta *content;

		doc_id(d, doc, sizeof(doc));
		r = PQexecParams(db,
						 "SELECT collab.head($1), collab.content($1)::text", 1,
						 NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			fail("reading %s: %s", doc, PQerrorMessage(db));
			PQclear(r);
			continue;
		}
		if (strtoll(PQgetvalue(r, 0, 0), NULL, 10) != heads[d])
			fail("%s: the head moved after the clients stopped", doc);
		content = from_json(arena, PQgetvalue(r, 0, 1));
		PQclear(r);
		for (int i = 0; i < g.nclients; i++)
		{
			client *c = &g.clients[i];

			if (c->doc == d && content && !delta_equal(c->ot.doc, content))
				fail("client %d's copy of %s differs from collab.content:\n  "
					 "client: %.300s\n  server: %.300s",
					 i, doc, to_json(c->ot.arena, c->ot.doc),
					 to_json(arena, content));
		}
		/* the log: 1..head, each acknowledged change once, where it was
		 * acknowledged */
		r = PQexecParams(db,
						 "SELECT rev, client_id, client_seq FROM "
						 "collab.changes($1, 0) ORDER BY rev",
						 1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fail("reading the log of %s: %s", doc, PQerrorMessage(db));
		for (int row = 0; row < PQntuples(r); row++)
		{
			int64_t rev = strtoll(PQgetvalue(r, row, 0), NULL, 10);
			const char *cid = PQgetvalue(r, row, 1);
			int64_t seq = strtoll(PQgetvalue(r, row, 2), NULL, 10);
			int idx = -1;

			if (rev != row + 1)
				fail("%s: the log has revision %" PRId64 " at position %d",
					 doc, rev, row + 1);
			if (PQgetisnull(r, row, 1))
			{
				sql_changes++; /* no client's: taken in by every client */
				continue;
			}
			if (sscanf(cid, "cv-%*[^-]-%d", &idx) != 1 || idx < 0 ||
				idx >= g.nclients)
			{
				fail("%s: revision %" PRId64 " from an unknown client %s", doc,
					 rev, cid);
				continue;
			}
			if (g.clients[idx].doc != d || seq < 1 ||
				seq >= g.clients[idx].acked_cap ||
				!g.clients[idx].acked_rev[seq])
				fail("%s: revision %" PRId64 " is %s seq %" PRId64
					 ", which that client never saw acknowledged",
					 doc, rev, cid, seq);
			else if (g.clients[idx].acked_rev[seq] != rev)
				fail("%s: %s seq %" PRId64 " acknowledged as %" PRId64
					 " but logged as %" PRId64,
					 doc, cid, seq, g.clients[idx].acked_rev[seq], rev);
			else
				logged[idx]++;
		}
		if (PQntuples(r) != heads[d])
			fail("%s: %d log rows for head %" PRId64, doc, PQntuples(r),
				 heads[d]);
		PQclear(r);
		delta_arena_destroy(arena);
	}
	/*
	 * Every seq a client used (1..seq) was acknowledged, at distinct
	 * revisions, and the log holds exactly those: each log row matched an
	 * acknowledged seq at its revision above, so as many rows as seqs means
	 * each acknowledged change is there once.
	 */
	for (int i = 0; i < g.nclients; i++)
	{
		client *c = &g.clients[i];
		int64_t acked = 0;

		for (int64_t s = 1; s <= c->ot.seq; s++)
		{
			if (s < c->acked_cap && c->acked_rev[s])
				acked++;
			else
				fail("client %d: seq %" PRId64 " was never acknowledged", i,
					 s);
		}
		if (logged[i] != acked)
			fail("client %d: %" PRId64 " acknowledged changes, %" PRId64
				 " in the log",
				 i, acked, logged[i]);
	}
	free(logged);
}

static void
add_url(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);

	if (!colon || g.nurls == MAX_URLS || colon - s >= 127)
	{
		fprintf(stderr, "bad --url\n");
		exit(2);
	}
	memcpy(g.hosts[g.nurls], s, (size_t) (colon - s));
	g.hosts[g.nurls][colon - s] = '\0';
	g.ports[g.nurls++] = atoi(colon + 1);
}

/* --run: a name that fits the ids (and cv-NAME-I parses back). */
static bool
run_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n >= sizeof(g.run))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int
usage(void)
{
	fprintf(stderr,
			"usage: converge_test --url HOST:PORT[,...] --dsn CONNINFO "
			"[--clients N] [--docs D<=64] [--edits E] [--seed S] [--drop P] "
			"[--edit-ms MS] [--run NAME] [--seconds N [--settle-seconds N]] "
			"[--faults]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *dsn = NULL, *run = NULL;
	PGconn *db;
	int64_t start, deadline, edit_until = 0;
	int drops = 0, drops_sent = 0, resubmits = 0, own_changes = 0,
		stray_acks = 0, acks = 0, unavailable_submits = 0,
		unavailable_subs = 0, not_subscribed = 0, lost = 0, lost_inflight = 0;

	g.nclients = 40;
	g.ndocs = 4;
	g.edits = 40;
	g.drop = 0.15;
	g.edit_ms = 60;
	g.settle_seconds = 60;
	g.seed = (uint64_t) wsc_now_us();
	for (int i = 1; i < argc; i += 2)
	{
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--faults") == 0)
		{
			g.faults = true;
			i--; /* no value */
			continue;
		}
		if (i + 1 == argc)
			return usage();
		if (strcmp(k, "--url") == 0)
			for (const char *s = v; *s;)
			{
				size_t n = strcspn(s, ",");

				add_url(s, n);
				s += n + (s[n] == ',');
			}
		else if (strcmp(k, "--dsn") == 0)
			dsn = v;
		else if (strcmp(k, "--clients") == 0)
			g.nclients = atoi(v);
		else if (strcmp(k, "--docs") == 0)
			g.ndocs = atoi(v);
		else if (strcmp(k, "--edits") == 0)
			g.edits = atoi(v);
		else if (strcmp(k, "--seed") == 0)
			g.seed = strtoull(v, NULL, 10);
		else if (strcmp(k, "--drop") == 0)
			g.drop = atof(v);
		else if (strcmp(k, "--edit-ms") == 0)
			g.edit_ms = atoi(v);
		else if (strcmp(k, "--run") == 0)
			run = v;
		else if (strcmp(k, "--seconds") == 0)
			g.seconds = atoi(v);
		else if (strcmp(k, "--settle-seconds") == 0)
			g.settle_seconds = atoi(v);
		else
			return usage();
	}
	if (!g.nurls || !dsn || g.nclients < 1 || g.ndocs < 1 || g.ndocs > 64 ||
		g.edit_ms < 1 || g.edit_ms > 60000 || g.seconds < 0 ||
		g.seconds > 3600 || g.settle_seconds < 1 || g.settle_seconds > 3600 ||
		(run && !run_name_ok(run)))
		return usage();
	if (g.seconds)
		printf("converge_test: %d clients, %d documents, editing for %d s "
			   "(every %d ms on average), drop %.2f, seed %" PRIu64 "%s\n",
			   g.nclients, g.ndocs, g.seconds, g.edit_ms, g.drop, g.seed,
			   g.faults ? ", surviving faults" : "");
	else
		printf("converge_test: %d clients, %d documents, %d edits each, drop "
			   "%.2f, seed %" PRIu64 "%s\n",
			   g.nclients, g.ndocs, g.edits, g.drop, g.seed,
			   g.faults ? ", surviving faults" : "");
	fflush(stdout);
	/* the seed decides the edits; the run id only keeps names apart, so
	 * that a seed can be run again on the same database */
	if (run)
		snprintf(g.run, sizeof(g.run), "%s", run);
	else
		snprintf(g.run, sizeof(g.run), "%" PRIx64 "x%" PRIx64,
				 g.seed & 0xffffffffff, (uint64_t) wsc_now_us() & 0xffffff);
	db = PQconnectdb(dsn);
	if (PQstatus(db) != CONNECTION_OK)
	{
		fprintf(stderr, "cannot connect: %s", PQerrorMessage(db));
		return 2;
	}
	for (int d = 0; d < g.ndocs; d++)
	{
		char doc[96];
		const char *p[1] = {doc};

		PGresult *r;

		doc_id(d, doc, sizeof(doc));
		r = PQexecParams(db, "SELECT collab.create_document($1)", 1, NULL, p,
						 NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			fprintf(stderr, "creating %s: %s", doc, PQerrorMessage(db));
			return 2;
		}
		PQclear(r);
	}
	g.loop = wsc_loop_new(g.nclients + 16);
	g.clients = calloc((size_t) g.nclients, sizeof(client));
	if (!g.loop || !g.clients || edits_init(&g.gen, NULL) != DELTA_OK)
	{
		fprintf(stderr, "cannot start the clients\n");
		return 2;
	}
	start = wsc_now_us();
	for (int i = 0; i < g.nclients; i++)
	{
		client *c = &g.clients[i];
		char id[OTC_ID_MAX];

		c->index = i;
		c->doc = i % g.ndocs;
		edits_rng_seed(&c->rng, g.seed * 1000003 + (uint64_t) i * 7919 + 1);
		snprintf(id, sizeof(id), "cv-%s-%d", g.run, i);
		if (otc_init(&c->ot, id, NULL) != DELTA_OK)
		{
			fprintf(stderr, "out of memory\n");
			return 2;
		}
		c->edits_left = g.seconds ? INT_MAX : g.edits;
		c->next_edit_us = start + pick(c, 300000);
		c->next_url = -1;
		go_online(c);
	}
	if (g.seconds)
	{
		edit_until = start + (int64_t) g.seconds * 1000000;
		deadline = edit_until + (int64_t) g.settle_seconds * 1000000;
	}
	else
		deadline = start + (int64_t) RUN_SECONDS_MAX * 1000000;
	while (!all_quiet(NULL) && wsc_now_us() < deadline && g.failures == 0)
	{
		if (edit_until && wsc_now_us() >= edit_until)
		{
			/* time is up: what is buffered goes, nothing more is edited */
			for (int i = 0; i < g.nclients; i++)
				g.clients[i].edits_left = 0;
			edit_until = 0;
		}
		step();
	}
	if (!all_quiet(NULL))
	{
		int busy = 0;

		for (int i = 0; i < g.nclients; i++)
		{
			client *c = &g.clients[i];

			if (c->ot.inflight || c->ot.buffer || !c->ws || !c->subscribed ||
				c->ot.rev < 0 || c->resubscribe_at_us)
				busy++;
		}
		fail("the clients did not finish (within %d s, or after a failure): "
			 "%d still have changes to send or no subscription",
			 (int) ((deadline - start) / 1000000), busy);
	}
	else
		check_database(db);
	for (int i = 0; i < g.nclients; i++)
	{
		drops += g.clients[i].drops;
		drops_sent += g.clients[i].drops_sent;
		resubmits += g.clients[i].resubmits;
		own_changes += g.clients[i].own_changes;
		stray_acks += g.clients[i].stray_acks;
		unavailable_submits += g.clients[i].unavailable_submits;
		unavailable_subs += g.clients[i].unavailable_subs;
		not_subscribed += g.clients[i].not_subscribed;
		lost += g.clients[i].lost;
		lost_inflight += g.clients[i].lost_inflight;
		for (int s = 0; s < g.clients[i].acked_cap; s++)
			acks += g.clients[i].acked_rev[s] != 0;
	}
	/* a submit that left before the cut usually commits before the client
	 * is back; with so many, some must return as the client's own change */
	if (drops_sent >= 20 && own_changes == 0)
		fail("%d connections were cut after their submit had left, yet no "
			 "resumed stream brought one back as the client's own change",
			 drops_sent);
	printf("converge_test: %.1f s, %d acknowledged changes, %d drops with a "
		   "change in flight (%d after the submit had left), %d resubmits; "
		   "confirmed by a resumed change carrying the client's own seq: %d, "
		   "late acks ignored: %d; %s\n",
		   (double) (wsc_now_us() - start) / 1e6, acks, drops, drops_sent,
		   resubmits, own_changes, stray_acks,
		   g.failures ? "FAILED" : "all copies agree");
	if (g.faults || sql_changes)
		printf("converge_test: survived: unavailable %d (submits %d, "
			   "subscriptions %d), not_subscribed %d, connections lost or "
			   "refused %d (with a change in flight %d); changes made through "
			   "SQL %d\n",
			   unavailable_submits + unavailable_subs, unavailable_submits,
			   unavailable_subs, not_subscribed, lost, lost_inflight,
			   sql_changes);
	if (g.faults)
	{
		printf("converge_test: unavailable by document:");
		for (int d = 0; d < g.ndocs; d++)
		{
			int n = 0;

			for (int i = 0; i < g.nclients; i++)
			{
				if (g.clients[i].doc == d)
					n += g.clients[i].unavailable_submits +
						 g.clients[i].unavailable_subs;
			}
			printf(" %d", n);
		}
		printf("\n");
	}
	for (int i = 0; i < g.nclients; i++)
	{
		wsc_free(g.clients[i].ws);
		otc_destroy(&g.clients[i].ot);
		free(g.clients[i].acked_rev);
	}
	edits_destroy(&g.gen);
	wsc_loop_free(g.loop);
	free(g.clients);
	PQfinish(db);
	return g.failures ? 1 : 0;
}
