/*
 * client.c — a client process of the stress test: one editor of one
 * document, over its own libpq connection.
 *
 * It is the OT client of client/collab-client.js (tests/lib/otclient.h):
 * a local copy and the revision it rests on; at most one change in
 * flight, submitted with the client's id and the next sequence number;
 * later local edits composed into a buffer; catching up by reading
 * collab.changes and taking each change in turn, another client's
 * transformed past the change in flight and the buffer, the server's
 * winning ties, as the server gives a committed change priority over a
 * later submit (transform(committed, change, true), docs/documents.md).
 * Its edits are tests/lib/edits.h's, now and then a paste too long for a
 * NOTIFY payload.
 *
 * The answer to a submit (collab.submit's revision and change) is an
 * acknowledgement that may run ahead of the revisions the client has
 * taken in: it is recorded, and the flight ends when catching up reaches
 * the client's own change in the log (as when the JS client meets a change
 * with its own id and seq).
 *
 * Now and then a submit loses its connection (the request cancelled, its
 * answer unread, its answer lost, or raced by the resubmit); the client
 * reconnects and submits the same change again, byte for byte, with the
 * same (client_id, client_seq) and base: when the first submission
 * committed, the server must answer with its revision and change.
 *
 * What it proves while running: each revision it reads is the next one;
 * its own change in the log is the change in flight, at the revision it
 * was acknowledged as, equal to the acknowledgement and to the client's
 * own transform of it (the server transformed it exactly as the client
 * did); a resubmit is deduplicated; now and then (VERIFY_RATE) the copy
 * equals content(rev) + in flight + buffer.  At the end, once every client
 * is done: the copy equals collab.content at the head, and every seq was
 * acknowledged.  A failure prints what differed and exits 1.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edits.h"
#include "otclient.h"
#include "stress.h"

typedef struct client {
	const config *cfg;
	int index;
	char doc_id[64]; /* the document it edits */
	char app[64];	 /* application_name of its connections */
	bool direct;	 /* its submits NOTIFY themselves (notify_worker off) */
	PGconn *conn;
	client_report *report;
	int64_t *acks; /* [edits + 2], seq -> acknowledged revision */

	edits_rng rng; /* the edits, the drops, when to catch up */
	edits_gen gen;
	otclient ot;	   /* id, copy, rev, in flight, buffer, seq */
	int64_t acked_rev; /* the server's answer to the change in flight:
						* its revision, or 0 */
	char *acked;	   /* ... and the change as applied (JSON, malloc) */
} client;

static void client_fail(client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) __attribute__((noreturn));

/* Reports what went wrong with client c and ends its process. */
static void
client_fail(client *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr,
			"stress: FAIL: client %d (%s, document %s, rev %" PRId64 "): ",
			c->index, c->ot.id, c->doc_id, c->ot.rev);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned
rnd(client *c, unsigned n)
{
	return edits_pick(&c->rng, n);
}

static bool
chance(client *c, double p)
{
	return edits_chance(&c->rng, p);
}

static delta *
client_parse(client *c, delta_arena *arena, const char *json, const char *what)
{
	delta *d;
	delta_error err;

	if (delta_parse(arena, json, strlen(json), &d, &err) != DELTA_OK)
		client_fail(c, "cannot parse %s: %s: %s", what, err.message,
					cut(json));
	return d;
}

static const char *
client_json(client *c, const delta *d)
{
	const char *s = otc_json(&c->ot, d);

	if (s == NULL)
		client_fail(c, "out of memory");
	return s;
}

/* The client's query; it fails the client unless it returns rows. */
static PGresult *
client_query(client *c, const char *sql, int nparams,
			 const char *const *params)
{
	PGresult *res =
		PQexecParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		client_fail(c, "%s: %s", sql, PQerrorMessage(c->conn));
	return res;
}

static void
client_connect(client *c)
{
	char err[512];

	c->conn = connect_db(c->cfg, c->app, c->direct, err, sizeof(err));
	if (c->conn == NULL)
		client_fail(c, "%s", err);
	/* --announce-failures: each of its commits makes the announcer fail */
	if (c->index == 0 && !c->direct && c->cfg->announce_failures > 0)
	{
		char sql[64];
		PGresult *res;

		snprintf(sql, sizeof(sql), "SET collab.test_announce_failures = %d",
				 c->cfg->announce_failures);
		res = PQexec(c->conn, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			client_fail(c, "%s: %s", sql, PQerrorMessage(c->conn));
		PQclear(res);
	}
	/* who sends our NOTIFYs when they are direct (the parent checks) */
	if (c->report->npids < CLIENT_PIDS_MAX)
		c->report->pids[c->report->npids] = PQbackendPID(c->conn);
	c->report->npids++;
}

/* --- the client's edits -------------------------------------------------- */

/* Makes a random local edit: applied to the copy, composed into the buffer. */
static void
local_edit(client *c)
{
	delta *change;
	delta_error err;

	if (edits_random(&c->gen, &c->rng, c->ot.arena, c->ot.doc, &change,
					 &err) != DELTA_OK)
		client_fail(c, "no edit of the local copy: %s: %s", err.message,
					cut(client_json(c, c->ot.doc)));
	if (otc_edit(&c->ot, change, &err) != DELTA_OK)
		client_fail(c,
					"a local edit does not apply to the copy: %s\n"
					"  edit: %s",
					err.message, cut(client_json(c, change)));
	c->report->edits++;
}

/* --- the client's protocol ----------------------------------------------- */

static const char submit_sql[] =
	"SELECT rev, change FROM collab.submit($1, $2, $3, $4, $5)";

/* The parameters of a submit of the change in flight, as first sent. */
typedef struct submit_params {
	char base[24];
	char seq[24];
	const char *values[5];
} submit_params;

static void
submit_params_init(client *c, submit_params *p)
{
	snprintf(p->base, sizeof(p->base), "%" PRId64, c->ot.inflight_base);
	snprintf(p->seq, sizeof(p->seq), "%" PRId64, c->ot.inflight_seq);
	p->values[0] = c->doc_id;
	p->values[1] = p->base;
	p->values[2] = c->ot.sent; /* a resubmit repeats it exactly */
	p->values[3] = c->ot.id;
	p->values[4] = p->seq;
}

/* Submits the change in flight and waits for the answer. */
static void
submit_sync(client *c, int64_t *rev, delta **applied)
{
	submit_params p;
	PGresult *res;

	submit_params_init(c, &p);
	res = PQexecParams(c->conn, submit_sql, 5, NULL, p.values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		client_fail(c,
					"submit of seq %" PRId64 " against rev %" PRId64
					" failed: %s  change: %s",
					c->ot.inflight_seq, c->ot.inflight_base,
					PQerrorMessage(c->conn), cut(c->ot.sent));
	*rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*applied = client_parse(c, c->ot.arena, PQgetvalue(res, 0, 1),
							"the change submit returned");
	PQclear(res);
}

/* Only sends the submit; the answer is never read. */
static void
submit_async(client *c)
{
	submit_params p;

	submit_params_init(c, &p);
	if (!PQsendQueryParams(c->conn, submit_sql, 5, NULL, p.values, NULL, NULL,
						   0))
		client_fail(c, "cannot send the submit: %s", PQerrorMessage(c->conn));
	/* make sure it left (libpq may keep it buffered) */
	while (PQflush(c->conn) == 1)
		;
}

/* Records the server's answer to the change in flight. */
static void
take_ack(client *c, int64_t rev, const delta *applied)
{
	const otclient *ot = &c->ot;

	if (c->acked_rev != 0 && c->acked_rev != rev)
		client_fail(c,
					"seq %" PRId64 " acknowledged as rev %" PRId64
					", earlier as rev %" PRId64,
					ot->inflight_seq, rev, c->acked_rev);
	if (rev <= ot->inflight_base)
		client_fail(c,
					"seq %" PRId64 " submitted against rev %" PRId64
					" acknowledged as rev %" PRId64,
					ot->inflight_seq, ot->inflight_base, rev);
	if (c->acked_rev == 0)
		c->report->server_transforms += rev - ot->inflight_base - 1;
	c->acked_rev = rev;
	free(c->acked);
	if ((c->acked = strdup(client_json(c, applied))) == NULL)
		client_fail(c, "out of memory");
	c->acks[ot->inflight_seq] = rev;
}

/* Waits until backend pid has ended (its last statement with it). */
static void
wait_backend_gone(client *c, int pid)
{
	char text[24];
	const char *params[1] = {text};
	double give_up = now_seconds() + 60;

	snprintf(text, sizeof(text), "%d", pid);
	for (;;)
	{
		PGresult *res =
			client_query(c, "SELECT 1 FROM pg_stat_activity WHERE pid = $1", 1,
						 params);
		int rows = PQntuples(res);

		PQclear(res);
		if (rows == 0)
			return;
		if (now_seconds() > give_up)
			client_fail(c, "backend %d still there 60 s after its client left",
						pid);
		usleep(1000);
	}
}

enum drop_mode {
	DROP_CANCELLED,	  /* sent, cancelled at once, connection closed */
	DROP_UNREAD,	  /* sent, connection closed before the answer */
	DROP_ANSWER_LOST, /* answered, then the answer "lost" */
	DROP_RACE,		  /* sent, closed, resubmitted while it may still run */
	DROP_MODES
};

/*
 * Submits the change in flight and loses the connection; reconnects and
 * submits it again with the same (client_id, client_seq).  When the first
 * submission is known to have committed, the second must return it.
 */
static void
submit_dropping(client *c)
{
	enum drop_mode mode = (enum drop_mode) rnd(c, DROP_MODES);
	int pid = PQbackendPID(c->conn);
	int64_t first_rev = 0;
	delta *first = NULL;
	int64_t rev;
	delta *applied;

	switch (mode)
	{
		case DROP_CANCELLED:
		{
			PGcancel *cancel = PQgetCancel(c->conn);
			char err[256];

			submit_async(c);
			if (cancel == NULL)
				client_fail(c, "PQgetCancel failed");
			if (rnd(c, 2))
				usleep(rnd(c, 2000));
			if (!PQcancel(cancel, err, sizeof(err)))
				client_fail(c, "PQcancel: %s", err);
			PQfreeCancel(cancel);
			break;
		}
		case DROP_UNREAD:
			submit_async(c);
			usleep(rnd(c, 3000));
			break;
		case DROP_ANSWER_LOST:
			submit_sync(c, &first_rev, &first);
			break;
		case DROP_RACE:
		case DROP_MODES:
			submit_async(c);
			break;
	}
	PQfinish(c->conn);
	client_connect(c);
	if (mode == DROP_CANCELLED || mode == DROP_UNREAD)
	{
		/* did the first submission commit?  Ask once its backend is gone */
		char since[24];
		char seq[24];
		const char *params[4] = {c->doc_id, since, c->ot.id, seq};
		PGresult *res;

		wait_backend_gone(c, pid);
		snprintf(since, sizeof(since), "%" PRId64, c->ot.inflight_base);
		snprintf(seq, sizeof(seq), "%" PRId64, c->ot.inflight_seq);
		res = client_query(c,
						   "SELECT rev, change FROM collab.changes($1, $2)"
						   " WHERE client_id = $3 AND client_seq = $4",
						   4, params);
		if (PQntuples(res) > 1)
			client_fail(c, "seq %" PRId64 " is in the log %d times",
						c->ot.inflight_seq, PQntuples(res));
		if (PQntuples(res) == 1)
		{
			first_rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			first = client_parse(c, c->ot.arena, PQgetvalue(res, 0, 1),
								 "the logged change");
		}
		PQclear(res);
	}
	if (first_rev != 0)
		take_ack(c, first_rev, first);
	c->report->resubmits++;
	submit_sync(c, &rev, &applied);
	if (first_rev != 0)
	{
		if (rev != first_rev || !delta_equal(applied, first))
			client_fail(c,
						"the resubmit of seq %" PRId64 " returned rev %" PRId64
						" %s; the first submission was rev %" PRId64 " %s",
						c->ot.inflight_seq, rev, cut(client_json(c, applied)),
						first_rev, client_json(c, first));
		c->report->dedups++;
	}
	take_ack(c, rev, applied);
}

/* Sends the buffer, when nothing is in flight: it goes into flight. */
static void
send_buffer(client *c)
{
	bool submit;
	int64_t rev;
	delta *applied;
	delta_error err;

	if (otc_flush(&c->ot, &submit, &err) != DELTA_OK)
		client_fail(c, "cannot send the buffer: %s", err.message);
	if (!submit)
		return;
	c->acked_rev = 0;
	free(c->acked);
	c->acked = NULL;
	c->report->submits++;
	c->report->nseq = c->ot.seq;
	if (chance(c, c->cfg->drop_rate))
		submit_dropping(c);
	else
	{
		submit_sync(c, &rev, &applied);
		take_ack(c, rev, applied);
	}
}

/*
 * Our own change in the log, before the client takes it as the end of the
 * flight: it is the change in flight, at its acknowledged revision, as
 * acknowledged.
 */
static void
check_own(client *c, int64_t rev, int64_t seq, const delta *logged)
{
	delta *acked;

	if (c->ot.inflight == NULL || seq != c->ot.inflight_seq)
		client_fail(c,
					"rev %" PRId64 " is our seq %" PRId64
					", but the change in flight is seq %" PRId64,
					rev, seq, c->ot.inflight ? c->ot.inflight_seq : 0);
	if (c->acked_rev != rev)
		client_fail(c,
					"seq %" PRId64 " was acknowledged as rev %" PRId64
					" but is logged as rev %" PRId64,
					seq, c->acked_rev, rev);
	acked = client_parse(c, c->ot.arena, c->acked, "the acknowledged change");
	if (!delta_equal(logged, acked))
		client_fail(c,
					"rev %" PRId64 " differs from the acknowledgement: "
					"logged %s, acknowledged %s",
					rev, cut(client_json(c, logged)), c->acked);
}

/*
 * Takes in revision rev of the log: another client's change, transformed
 * past ours; or ours, which ends the flight.
 */
static void
receive(client *c, int64_t rev, const char *client_id, int64_t seq,
		const delta *change)
{
	bool own = client_id != NULL && strcmp(client_id, c->ot.id) == 0;
	otc_result r;
	delta_error err;

	if (own)
		check_own(c, rev, seq, change);
	else
	{
		c->report->incoming++;
		if (c->ot.inflight != NULL)
			c->report->transforms_flight++;
		if (c->ot.buffer != NULL)
			c->report->transforms_buffer++;
	}
	r = otc_change(&c->ot, rev, client_id, seq, change, &err);
	if (r == OTC_FAILED)
		client_fail(c, "rev %" PRId64 " cannot be taken in: %s\n  change: %s",
					rev, err.message, cut(client_json(c, change)));
	if (r != (own ? OTC_CONFIRMED : OTC_TAKEN))
		client_fail(c, "rev %" PRId64 " was not taken in (%d)", rev, (int) r);
	/* the server transformed it exactly as we did, one change at a time */
	if (own && !delta_equal(change, c->ot.confirmed))
	{
		fprintf(stderr,
				"stress: FAIL: client %d: rev %" PRId64 " (our seq %" PRId64
				") as the server applied it differs from our transform of it\n"
				"  server: %s\n",
				c->index, rev, seq, cut(client_json(c, change)));
		fprintf(stderr, "  client: %s\n",
				cut(client_json(c, c->ot.confirmed)));
		exit(1);
	}
}

/* Reads and takes in every change after the client's revision. */
static void
catch_up(client *c)
{
	char since[24];
	const char *params[2] = {c->doc_id, since};
	PGresult *res;
	int i;

	snprintf(since, sizeof(since), "%" PRId64, c->ot.rev);
	res = client_query(c,
					   "SELECT rev, change, client_id, client_seq"
					   " FROM collab.changes($1, $2)",
					   2, params);
	for (i = 0; i < PQntuples(res); i++)
	{
		int64_t rev = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		delta *change = client_parse(c, c->ot.arena, PQgetvalue(res, i, 1),
									 "a logged change");

		if (rev != c->ot.rev + 1)
			client_fail(c,
						"collab.changes after rev %" PRId64
						" gave rev %" PRId64,
						c->ot.rev, rev);
		receive(c, rev, PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
				strtoll(PQgetvalue(res, i, 3), NULL, 10), change);
	}
	PQclear(res);
	if (c->ot.inflight != NULL && c->acked_rev != 0 &&
		c->acked_rev <= c->ot.rev)
		client_fail(c,
					"seq %" PRId64 " acknowledged as rev %" PRId64
					" is not in the log",
					c->ot.inflight_seq, c->acked_rev);
}

/* Checks that the copy is content(rev) with inflight and buffer applied. */
static void
verify_copy(client *c)
{
	char rev[24];
	const char *params[2] = {c->doc_id, rev};
	const otclient *ot = &c->ot;
	PGresult *res;
	delta *want;
	delta_error err;

	snprintf(rev, sizeof(rev), "%" PRId64, ot->rev);
	res = client_query(c, "SELECT collab.content($1, $2)", 2, params);
	want = client_parse(c, ot->arena, PQgetvalue(res, 0, 0), "content");
	PQclear(res);
	if ((ot->inflight && delta_apply(ot->arena, want, ot->inflight, &want,
									 &err) != DELTA_OK) ||
		(ot->buffer &&
		 delta_apply(ot->arena, want, ot->buffer, &want, &err) != DELTA_OK))
		client_fail(c, "the pending changes do not apply to content(%s): %s",
					rev, err.message);
	if (!delta_equal(want, ot->doc))
	{
		char name[128];

		fprintf(stderr,
				"stress: FAIL: client %d (%s): the copy differs from "
				"content(%s, %s) + in flight + buffer\n",
				c->index, ot->id, c->doc_id, rev);
		print_difference("copy:", client_json(c, ot->doc),
						 "server:", client_json(c, want));
		snprintf(name, sizeof(name), "failure-%s-copy.json", ot->id);
		dump(c->cfg, name, client_json(c, ot->doc));
		snprintf(name, sizeof(name), "failure-%s-server.json", ot->id);
		dump(c->cfg, name, client_json(c, want));
		exit(1);
	}
	c->report->verifies++;
}

static void
client_init(client *c, const config *cfg, int index, const shared *sh)
{
	char id[OTC_ID_MAX];
	delta_error err;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->index = index;
	edits_rng_seed(&c->rng, cfg->seed ^ (UINT64_C(0x9E3779B97F4A7C15) *
										 (uint64_t) (index + 1)));
	c->report = &sh->reports[index];
	c->acks = &sh->acks[(size_t) index * (size_t) (cfg->edits + 2)];
	snprintf(c->doc_id, sizeof(c->doc_id), "stress-%s-%d", cfg->run_id,
			 index % cfg->docs);
	snprintf(c->app, sizeof(c->app), "collab-stress client %d", index);
	c->direct = client_direct(cfg, index);
	snprintf(id, sizeof(id), "%s-c%d", cfg->run_id, index);
	if (otc_init(&c->ot, id, &err) != DELTA_OK ||
		edits_init(&c->gen, &err) != DELTA_OK)
		client_fail(c, "%s", err.message);
	/* now and then a paste too long for a NOTIFY payload */
	c->gen.target_length = DOC_TARGET_LENGTH;
	c->gen.paste_one_in = PASTE_ONE_IN;
	c->gen.paste_bytes_min = PASTE_BYTES_MIN;
}

/* Starts from the head: its revision, then the content at that revision. */
static void
client_start(client *c)
{
	const char *params[2] = {c->doc_id, NULL};
	PGresult *res;

	client_connect(c);
	res = client_query(c, "SELECT collab.head($1)", 1, params);
	params[1] = PQgetvalue(res, 0, 0);
	{
		PGresult *doc =
			client_query(c, "SELECT collab.content($1, $2)", 2, params);
		delta_error err;

		if (otc_start(&c->ot, PQgetvalue(doc, 0, 0),
					  (size_t) PQgetlength(doc, 0, 0),
					  strtoll(params[1], NULL, 10), &err) != DELTA_OK)
			client_fail(c, "cannot start from content(%s): %s", params[1],
						err.message);
		PQclear(doc);
	}
	PQclear(res);
}

/* After everyone is done: caught up, the copy is the server's document. */
static void
client_finish(client *c)
{
	const char *params[1] = {c->doc_id};
	PGresult *res;
	int64_t head;
	delta *server;
	int64_t s;
	const otclient *ot = &c->ot;

	catch_up(c);
	if (ot->inflight != NULL || ot->buffer != NULL)
		client_fail(c, "still has changes pending at the end");
	res = client_query(c, "SELECT collab.head($1), collab.content($1)", 1,
					   params);
	head = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	server = client_parse(c, ot->arena, PQgetvalue(res, 0, 1), "content");
	PQclear(res);
	if (head != ot->rev)
		client_fail(c, "caught up to rev %" PRId64 " but the head is %" PRId64,
					ot->rev, head);
	if (!delta_equal(server, ot->doc))
	{
		char name[128];
		const char *mine = client_json(c, ot->doc);
		const char *theirs = client_json(c, server);

		fprintf(stderr,
				"stress: FAIL: client %d (%s) did not converge: its copy of "
				"%s at rev %" PRId64 " differs from collab.content\n",
				c->index, ot->id, c->doc_id, ot->rev);
		print_difference("copy:", mine, "content:", theirs);
		snprintf(name, sizeof(name), "failure-%s-copy.json", ot->id);
		dump(c->cfg, name, mine);
		snprintf(name, sizeof(name), "failure-%s-content.json", ot->id);
		dump(c->cfg, name, theirs);
		exit(1);
	}
	for (s = 1; s <= ot->seq; s++)
		if (c->acks[s] == 0)
			client_fail(c, "seq %" PRId64 " was never acknowledged", s);
	c->report->final_rev = ot->rev;
}

void
client_main(const config *cfg, int index, const shared *sh, int go_fd)
{
	client c;
	char byte;
	delta_error err;

	client_init(&c, cfg, index, sh);
	client_start(&c);
	while (c.report->edits < cfg->edits)
	{
		unsigned k = 1 + rnd(&c, 3);

		while (k-- && c.report->edits < cfg->edits)
			local_edit(&c);
		send_buffer(&c);
		if (chance(&c, 0.5))
		{
			catch_up(&c);
			if (chance(&c, VERIFY_RATE))
				verify_copy(&c);
			if (delta_arena_footprint(c.ot.arena) > ARENA_COMPACT_BYTES &&
				otc_compact(&c.ot, &err) != DELTA_OK)
				client_fail(&c, "%s", err.message);
		}
	}
	/* flush: the change in flight acknowledged, then the buffer */
	while (c.ot.inflight != NULL || c.ot.buffer != NULL)
	{
		catch_up(&c);
		send_buffer(&c);
	}
	__atomic_store_n(&c.report->phase, PHASE_DONE_EDITING, __ATOMIC_SEQ_CST);
	while (read(go_fd, &byte, 1) < 0 && errno == EINTR)
		;
	client_finish(&c);
	if (cfg->verbose)
		fprintf(stderr,
				"stress: client %d: %" PRId64 " edits, %" PRId64
				" submits, %" PRId64 " incoming, rev %" PRId64 "\n",
				index, c.report->edits, c.report->submits, c.report->incoming,
				c.ot.rev);
	__atomic_store_n(&c.report->phase, PHASE_PASSED, __ATOMIC_SEQ_CST);
	PQfinish(c.conn);
	otc_destroy(&c.ot);
	edits_destroy(&c.gen);
	free(c.acked);
	exit(0);
}
