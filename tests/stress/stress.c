/*
 * stress.c — many clients editing shared documents through collab.submit
 * at once, each with its own connection, and checks that they converge.
 *
 * Every client is a process running the usual OT client (ot.js, Quill's
 * collaborative editors): a local copy of the document and the revision it
 * rests on; at most one change in flight, submitted with the client's id
 * and the next sequence number; later local edits composed into a buffer;
 * catching up by reading collab.changes and, for each change of another
 * client, transforming the change in flight and the buffer against it and
 * applying what is left of it to the copy.  The server gives a committed
 * change priority over a later submit (transform(committed, change, true),
 * docs/documents.md), so the client gives the incoming change priority too:
 *
 *     incoming'  = transform(inflight, incoming, false)
 *     inflight'  = transform(incoming, inflight, true)
 *     incoming'' = transform(buffer, incoming', false)
 *     buffer'    = transform(incoming', buffer, true)
 *
 * and applies incoming''.  Edits are random: text with ASCII, accents,
 * combining marks, CJK and emoji (positions on code point boundaries,
 * counted in UTF-16 units), now and then a paste too long for a NOTIFY
 * payload, embeds, formatting retains that set and remove (null)
 * attributes, deletes; never the final newline, nothing after it.
 *
 * Now and then a client loses its connection with a change in flight (the
 * request cancelled, its answer unread, its answer lost, or raced by the
 * resubmit), reconnects and submits the same change again with the same
 * (client_id, client_seq): when the first submission committed, the server
 * must answer with its revision and change.
 *
 * Checked while running: each incoming revision is the next one; the
 * server's version of a client's change equals the client's own transform
 * of it; now and then the copy equals content(rev) + inflight + buffer.
 * Checked at the end, once every client has caught up: every copy equals
 * collab.content(doc); replaying collab.changes(doc, 0) on content(doc, 0)
 * gives the head, content(doc, r) at sampled revisions (either side of
 * snapshots) and every stored snapshot; revisions run 1..head with no gap;
 * no (client_id, client_seq) appears twice; every acknowledged change is in
 * the log exactly once, at its acknowledged revision, and nothing else is.
 *
 * Notifications: the parent LISTENs on channel collab before the clients
 * start and keeps taking notifications while they run.  The clients
 * of the last --direct-docs documents (default 1) run with
 * collab.notify_worker off, so their submits NOTIFY in their own
 * transactions, while the others go through the announcer: both paths in
 * one run.  When every client has exited, the parent sends a presence
 * marker per document through the announcer; it is reserved in the ring
 * after every change has committed, so once the markers have arrived
 * (within MARKER_TIMEOUT) everything has.  Checked per document: revisions
 * 1..head each announced once, in increasing order; client and seq are the
 * log's; the change, when the payload carries it, equals the log's, and it
 * is left out only when it would not fit in a payload; each came through
 * its client's path (the sender's pid: the client's own backend, or not);
 * nothing else about the run's documents; no overflow message (unless
 * --allow-overflow, which then tolerates missing revisions, as many as the
 * overflow messages say were dropped, but not disorder).
 *
 * Paths are never mixed on one document: per document, revision order
 * holds only within a path.  A submit through the announcer is announced
 * after its commit, by the worker; the next submit to the document, once
 * past the row lock, may be a direct one whose NOTIFY is queued at its own
 * pre-commit, before the worker's.  --mix-paths does mix them (every other
 * client of each document direct) to show it: expect ordering failures,
 * hundreds per run ("rev 6 (from the announcer, pid P) was announced after
 * rev 7 (from client 3)").
 *
 * Processes: the parent listens, creates the documents and forks the
 * clients; each edits, then flushes (nothing in flight, nothing buffered)
 * and reports that it is done; when all are, the parent closes the pipe
 * they block on, they all catch up and compare, and the parent, having
 * taken the markers, checks the log and the notifications alone.  Counters,
 * acknowledged revisions and the pids of the clients' backends live in a
 * shared anonymous mapping; only the owning client writes its part, the
 * parent reads it after the client has exited (the phase word is read
 * while it runs, atomically).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "delta.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Defaults: about 20-40 s on 2 cores with fsync on. */
#define CLIENTS_DEFAULT 16
#define DOCS_DEFAULT 3
#define EDITS_DEFAULT 2500
#define SNAPSHOT_INTERVAL_DEFAULT 7
#define DROP_RATE_DEFAULT 0.03
#define TIMEOUT_DEFAULT 600

/* A client's arena is copied into a fresh one past this many bytes. */
#define ARENA_COMPACT_BYTES (8u << 20)
/* Local documents hover around this length (UTF-16 units). */
#define DOC_TARGET_LENGTH 400
/* One insert in this many is a paste of at least this many bytes. */
#define PASTE_ONE_IN 500
#define PASTE_BYTES_MIN 9000
/* Chance, after a catch-up, of comparing the copy with the server's. */
#define VERIFY_RATE 0.03
/* Messages print at most this much of a delta; files get all of it. */
#define PRINT_BYTES_MAX 1500
/* Seconds to wait for the end markers after the clients have exited. */
#define MARKER_TIMEOUT 30
/* A change payload carries the change only when it takes at most this many
 * bytes, its NUL not counted (extension/notify.c); past that it is left out.
 */
#define NOTIFY_PAYLOAD_MAX 7900
/* Backend pids recorded per client (one per connection); past this many
 * its later connections are not told apart from the announcer. */
#define CLIENT_PIDS_MAX 512

typedef struct config {
	int clients;
	int docs;
	int edits;			   /* local edits per client */
	uint64_t seed;		   /* of the edits, not of the interleaving */
	int snapshot_interval; /* collab.snapshot_interval of every session */
	double drop_rate;	   /* chance that a submit loses its connection */
	int timeout;		   /* seconds for the whole run */
	const char *out;	   /* folder for failure dumps */
	bool verbose;
	int direct_docs;	 /* the last ones: their clients NOTIFY directly */
	bool mix_paths;		 /* instead, half of every document's clients do */
	bool allow_overflow; /* an overflow message is not a failure */
	bool preloaded;		 /* collab in shared_preload_libraries: announcer */
	char run_id[32];	 /* makes document and client ids unique per run */
} config;

enum phase {
	PHASE_EDITING,
	PHASE_DONE_EDITING, /* nothing in flight, nothing buffered */
	PHASE_PASSED,		/* caught up and equal to the server */
	PHASE_EXITED		/* (the parent's view: the process is gone) */
};

/* What a client reports to the parent (its own slot, shared memory). */
typedef struct client_report {
	int phase;				   /* enum phase; atomic */
	int64_t edits;			   /* local edits made */
	int64_t submits;		   /* changes submitted (first submissions) */
	int64_t resubmits;		   /* submitted again after a dropped connection */
	int64_t dedups;			   /* ... answered with the first submission */
	int64_t incoming;		   /* other clients' changes received */
	int64_t transforms_flight; /* incoming changes met a change in flight */
	int64_t transforms_buffer; /* incoming changes met a buffer */
	int64_t server_transforms; /* revisions between base and ack, summed */
	int64_t verifies;		   /* mid-run comparisons with content() */
	int64_t nseq;			   /* sequence numbers used: 1..nseq */
	int64_t final_rev;		   /* the revision it ended at */
	int npids;				   /* connections made (pids: the first ones) */
	int pids[CLIENT_PIDS_MAX]; /* their backends, for the senders' check */
} client_report;

typedef struct shared {
	client_report *reports; /* [clients] */
	int64_t *acks;			/* [clients][edits + 2]: seq -> revision */
	size_t bytes;
} shared;

/* --- randomness (splitmix64: small, seedable, good enough) --------------- */

static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- deltas as text ------------------------------------------------------ */

/* The canonical JSON of d, NUL-terminated, in arena; NULL on failure. */
static const char *
json_of(delta_arena *arena, const delta *d)
{
	delta_buf buf;

	if (d == NULL)
		return "(none)";
	delta_buf_init(&buf, arena);
	if (delta_write(&buf, d, NULL) != DELTA_OK ||
		delta_buf_append(&buf, "", 1, NULL) != DELTA_OK)
		return NULL;
	return buf.data;
}

/* At most PRINT_BYTES_MAX bytes of text, for a message. */
static const char *
cut(const char *text)
{
	static char buf[PRINT_BYTES_MAX + 16];
	size_t len;

	if (text == NULL)
		return "(out of memory)";
	len = strlen(text);
	if (len <= PRINT_BYTES_MAX)
		return text;
	/* back up to a UTF-8 lead byte, so the message stays valid text */
	len = PRINT_BYTES_MAX;
	while (len > 0 && ((unsigned char) text[len] & 0xC0) == 0x80)
		len--;
	memcpy(buf, text, len);
	strcpy(buf + len, "...");
	return buf;
}

/*
 * Prints where two JSON texts first differ: a window of each around the
 * first differing byte (equal prefixes of long documents say nothing).
 */
static void
print_difference(const char *left_name, const char *left,
				 const char *right_name, const char *right)
{
	size_t at = 0;
	size_t from;
	const char *texts[2] = {left, right};
	const char *names[2] = {left_name, right_name};
	int k;

	if (left == NULL || right == NULL)
		return;
	while (left[at] != '\0' && left[at] == right[at])
		at++;
	from = at > 120 ? at - 120 : 0;
	while (from > 0 && ((unsigned char) left[from] & 0xC0) == 0x80)
		from--;
	fprintf(stderr, "  first difference at byte %zu:\n", at);
	for (k = 0; k < 2; k++)
	{
		size_t len = strlen(texts[k]);
		size_t to = at + 240 < len ? at + 240 : len;

		while (to < len && ((unsigned char) texts[k][to] & 0xC0) == 0x80)
			to++;
		fprintf(stderr, "  %-8s %s%.*s%s\n", names[k], from ? "..." : "",
				(int) (to - from), texts[k] + from, to < len ? "..." : "");
	}
}

/* Writes text to out/name and says where; for the deltas of a failure. */
static void
dump(const config *cfg, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cfg->out, name);
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fputs(text ? text : "(out of memory)", f);
	fputc('\n', f);
	fclose(f);
	fprintf(stderr, "  (in full: %s)\n", path);
}

/* --- libpq --------------------------------------------------------------- */

/*
 * A new connection to the cluster named by the environment (PGHOST,
 * PGPORT, ...), in UTF-8, with the run's snapshot interval and its
 * submits announced directly and storing their snapshots themselves
 * (collab.notify_worker and collab.snapshot_worker off) or through the
 * announcer and the snapshotter; NULL with a message in errbuf when that
 * fails.
 */
static PGconn *
connect_db(const config *cfg, const char *app, bool direct, char *errbuf,
		   size_t errlen)
{
	const char *keys[] = {"client_encoding", "application_name", NULL};
	const char *values[] = {"UTF8", app, NULL};
	PGconn *conn = PQconnectdbParams(keys, values, 0);
	char sql[160];
	PGresult *res;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		snprintf(errbuf, errlen, "cannot connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	/* superuser only (both PGC_SUSET); every session must agree on the
	 * interval */
	snprintf(sql, sizeof(sql),
			 "SET collab.snapshot_interval = %d;"
			 " SET collab.notify_worker = %s; SET collab.snapshot_worker = %s",
			 cfg->snapshot_interval, direct ? "off" : "on",
			 direct ? "off" : "on");
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		snprintf(errbuf, errlen, "%s: %s", sql, PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/*
 * Whether client i's submits NOTIFY themselves (collab.notify_worker off)
 * instead of going through the announcer: the clients of the last
 * direct_docs documents, or with mix_paths every other client of each
 * document.  Without the preload there is no announcer: every client.
 */
static bool
client_direct(const config *cfg, int i)
{
	if (!cfg->preloaded)
		return true;
	if (cfg->mix_paths)
		return (i / cfg->docs) % 2 == 1;
	return i % cfg->docs >= cfg->docs - cfg->direct_docs;
}

/* --- the parent's failures ----------------------------------------------- */

static int failures;

static void check_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void
check_fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	if (failures > 20)
	{
		if (failures == 21)
			fprintf(stderr, "stress: FAIL: (more failures not shown)\n");
		return;
	}
	fprintf(stderr, "stress: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The parent's query; NULL (reported) unless it returns rows. */
static PGresult *parent_query(PGconn *conn, const char *sql, int nparams,
							  const char *const *params);

/*
 * Waits (up to 60 s) until doc_id has a snapshot at rev; the check that
 * follows reports a missing one.
 */
static void
wait_for_snapshots(PGconn *conn, const char *doc_id, int64_t rev)
{
	char revbuf[32];
	const char *params[2] = {doc_id, revbuf};
	int tries;

	snprintf(revbuf, sizeof(revbuf), "%" PRId64, rev);
	for (tries = 0; tries < 600; tries++)
	{
		PGresult *res = PQexecParams(
			conn,
			"SELECT 1 FROM collab.snapshots WHERE doc_id = $1 AND rev = $2", 2,
			NULL, params, NULL, NULL, 0);
		bool found =
			PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;

		PQclear(res);
		if (found)
			return;
		usleep(100 * 1000);
	}
}

static PGresult *
parent_query(PGconn *conn, const char *sql, int nparams,
			 const char *const *params)
{
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		check_fail("%s: %s", sql, PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* --- a client ------------------------------------------------------------ */

static const char *const pieces[] = {
	"a",
	"hello ",
	"x",
	"Zz",
	" ",
	"\n",
	"<&\"'>",
	"\xc3\xa9",										/* é */
	"e\xcc\x81",									/* e + combining acute */
	"\xc3\xb1\xc3\xbc",								/* ñü */
	"\xe6\x97\xa5\xe6\x9c\xac",						/* 日本 */
	"\xe4\xb8\xad\xe6\x96\x87",						/* 中文 */
	"\xf0\x9f\x98\x80",								/* 😀 */
	"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",				/* 👍🏽 */
	"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7",				/* 🇫🇷 */
	"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", /* 👩‍💻 */
	"\xf0\x9d\x84\x9e",								/* 𝄞 */
};

/* Attributes of inserted text and embeds (no nulls: a document's own). */
static const char *const insert_attrs[] = {
	NULL,
	NULL,
	NULL,
	NULL,
	"{\"bold\":true}",
	"{\"italic\":true}",
	"{\"color\":\"#f00\"}",
	"{\"bold\":true,\"color\":\"blue\"}",
	"{\"link\":\"https://x.test/?a=1&b=2\"}",
};

/* Attributes of formatting retains: set, changed and removed (null). */
static const char *const retain_attrs[] = {
	"{\"bold\":true}",
	"{\"bold\":null}",
	"{\"italic\":true}",
	"{\"italic\":null}",
	"{\"color\":\"#0a0\"}",
	"{\"color\":null}",
	"{\"bold\":true,\"italic\":null}",
	"{\"bold\":null,\"color\":\"red\"}",
	"{\"link\":null}",
	"{\"header\":2}",
	"{\"header\":null}",
};

static const char *const embeds[] = {
	"{\"image\":\"x.png\"}",
	"{\"image\":\"https://x.test/a.png\"}",
	"{\"video\":\"https://v.test/1\"}",
	"{\"formula\":\"e=mc^2\"}",
};

typedef struct client {
	const config *cfg;
	int index;
	char id[64];	 /* client_id */
	char doc_id[64]; /* the document it edits */
	char app[64];	 /* application_name of its connections */
	bool direct;	 /* its submits NOTIFY themselves (notify_worker off) */
	PGconn *conn;
	uint64_t rng;
	client_report *report;
	int64_t *acks; /* [edits + 2], seq -> acknowledged revision */

	/* the pool's parsed attributes and embeds, for the client's life */
	delta_arena *pool;
	const djson_value *insert_attrs[COUNT(insert_attrs)];
	const djson_value *retain_attrs[COUNT(retain_attrs)];
	const djson_value *embeds[COUNT(embeds)];

	/* the OT state, in arena (copied to a fresh one now and then) */
	delta_arena *arena;
	delta *doc;		 /* the local copy: rev + inflight + buffer */
	int64_t rev;	 /* the last revision received */
	delta *inflight; /* submitted, not yet seen in the log; or NULL */
	delta *buffer;	 /* local edits since; or NULL */
	int64_t seq;	 /* the last sequence number used */
	int64_t inflight_seq;
	int64_t inflight_base; /* the revision it was submitted against */
	char *sent;			   /* its JSON as submitted (malloc) */
	int64_t acked_rev;	   /* the server's answer: revision, or 0 */
	delta *acked;		   /* ... and the change as applied */

	int64_t *bounds; /* code point boundaries of doc (scratch, malloc) */
	size_t bounds_cap;
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
			c->index, c->id, c->doc_id, c->rev);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned
rnd(client *c, unsigned n)
{
	return n ? (unsigned) (rng_next(&c->rng) % n) : 0;
}

static bool
chance(client *c, double p)
{
	return (double) (rng_next(&c->rng) >> 11) / (double) (UINT64_C(1) << 53) <
		   p;
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
	const char *s = json_of(c->arena, d);

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
	/* who sends our NOTIFYs when they are direct (the parent checks) */
	if (c->report->npids < CLIENT_PIDS_MAX)
		c->report->pids[c->report->npids] = PQbackendPID(c->conn);
	c->report->npids++;
}

/* --- the client's edits -------------------------------------------------- */

static void
push(client *c, delta *d, delta_op_kind kind, int64_t length, const char *text,
	 size_t bytes, const djson_value *embed, const djson_value *attrs)
{
	delta_op op = {kind, length, text, bytes, embed, attrs};
	delta_error err;

	if (delta_push(c->arena, d, &op, &err) != DELTA_OK)
		client_fail(c, "delta_push: %s", err.message);
}

/* UTF-16 units of UTF-8 text: 2 for a code point outside the BMP. */
static int64_t
units_of(const char *s, size_t bytes)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < bytes; i++)
		if (((unsigned char) s[i] & 0xC0) != 0x80)
			n += ((unsigned char) s[i] >= 0xF0) ? 2 : 1;
	return n;
}

/*
 * Fills c->bounds with every code point boundary of the copy, 0 and its
 * length included, in UTF-16 units: the only places an edit may start or
 * end.  Returns how many.
 */
static size_t
find_bounds(client *c)
{
	size_t n = 0;
	int64_t at = 0;
	size_t i;

	for (i = 0; i <= c->doc->count; i++)
	{
		const delta_op *op = i < c->doc->count ? &c->doc->ops[i] : NULL;
		size_t need = n + 1 + (op ? (op->embed ? 1 : op->bytes) : 0);
		size_t b;

		if (need > c->bounds_cap)
		{
			c->bounds_cap = need * 2;
			c->bounds = realloc(c->bounds, c->bounds_cap * sizeof(int64_t));
			if (c->bounds == NULL)
				client_fail(c, "out of memory");
		}
		if (i == 0)
			c->bounds[n++] = 0;
		if (op == NULL)
			break;
		if (op->kind != DELTA_OP_INSERT)
			client_fail(c, "the local copy is not a document: ops[%zu]", i);
		if (op->embed)
		{
			c->bounds[n++] = ++at;
			continue;
		}
		for (b = 0; b < op->bytes; b++)
		{
			unsigned char ch = (unsigned char) op->text[b];

			if ((ch & 0xC0) == 0x80)
				continue;
			at += ch >= 0xF0 ? 2 : 1;
			c->bounds[n++] = at;
		}
	}
	return n;
}

/* Checks that the copy ends with its newline, as every collab document. */
static void
check_final_newline(client *c)
{
	const delta_op *last =
		c->doc->count ? &c->doc->ops[c->doc->count - 1] : NULL;

	if (last == NULL || last->embed != NULL || last->bytes == 0 ||
		last->text[last->bytes - 1] != '\n')
		client_fail(c, "the local copy does not end with a newline: %s",
					cut(client_json(c, c->doc)));
}

/*
 * A random change of the copy.  Inserts go anywhere before the final
 * newline, deletes end before it, formats may cover it; every boundary is
 * one of a code point.  Deletes grow likelier as the copy grows.
 */
static delta *
random_edit(client *c)
{
	size_t n = find_bounds(c);
	const int64_t *b = c->bounds;
	size_t nl = n - 2; /* index of the final newline's start */
	int64_t length = b[n - 1];
	unsigned r = rnd(c, 100);
	unsigned delete_pct = length > 2 * DOC_TARGET_LENGTH ? 60
						  : length > DOC_TARGET_LENGTH	 ? 35
														 : 15;
	delta *d;
	delta_error err;

	check_final_newline(c);
	if ((d = delta_new(c->arena, &err)) == NULL)
		client_fail(c, "out of memory");

	if (nl > 0 && r < delete_pct)
	{
		size_t i = rnd(c, (unsigned) nl);
		size_t span = 1 + (rnd(c, 10) == 0 ? rnd(c, 40) : rnd(c, 6));
		size_t j;

		/* a long copy (after a paste) loses big pieces too */
		if (length > 3 * DOC_TARGET_LENGTH && rnd(c, 4) == 0)
			span = 1 + rnd(c, (unsigned) (nl - i));
		j = i + span < nl ? i + span : nl;

		push(c, d, DELTA_OP_RETAIN, b[i], NULL, 0, NULL, NULL);
		push(c, d, DELTA_OP_DELETE, b[j] - b[i], NULL, 0, NULL, NULL);
	}
	else if (nl > 0 && r < delete_pct + 20)
	{
		/* may reach the final newline (a line format) */
		size_t i = rnd(c, (unsigned) (n - 1));
		size_t j = i + 1 + rnd(c, 15);

		if (j > n - 1)
			j = n - 1;
		push(c, d, DELTA_OP_RETAIN, b[i], NULL, 0, NULL, NULL);
		push(c, d, DELTA_OP_RETAIN, b[j] - b[i], NULL, 0, NULL,
			 c->retain_attrs[rnd(c, COUNT(retain_attrs))]);
	}
	else
	{
		size_t i = rnd(c, (unsigned) (nl + 1));
		const djson_value *attrs =
			c->insert_attrs[rnd(c, COUNT(insert_attrs))];

		push(c, d, DELTA_OP_RETAIN, b[i], NULL, 0, NULL, NULL);
		if (rnd(c, 8) == 0)
			push(c, d, DELTA_OP_INSERT, 1, NULL, 0,
				 c->embeds[rnd(c, COUNT(embeds))], attrs);
		else
		{
			/* a few pieces, or now and then a paste too big for a NOTIFY
			 * payload (the change goes by reference) */
			size_t want = rnd(c, PASTE_ONE_IN) == 0
							  ? PASTE_BYTES_MIN + rnd(c, PASTE_BYTES_MIN)
							  : 1;
			unsigned k = 1 + rnd(c, 3);
			size_t len = 0;
			size_t cap = want + 64;
			char *text = delta_arena_alloc(c->arena, cap);

			if (text == NULL)
				client_fail(c, "out of memory");
			while (k > 0 || len < want)
			{
				const char *p = pieces[rnd(c, COUNT(pieces))];
				size_t plen = strlen(p);

				if (len + plen > cap)
					break;
				memcpy(text + len, p, plen);
				len += plen;
				if (k > 0)
					k--;
			}
			push(c, d, DELTA_OP_INSERT, units_of(text, len), text, len, NULL,
				 attrs);
		}
	}
	delta_chop(d);
	return d;
}

/* Makes a random local edit: applied to the copy, composed into the buffer. */
static void
local_edit(client *c)
{
	delta *change = random_edit(c);
	delta *doc;
	delta_error err;

	if (delta_apply(c->arena, c->doc, change, &doc, &err) != DELTA_OK)
		client_fail(c,
					"a local edit does not apply to the copy: %s\n"
					"  edit: %s",
					err.message, cut(client_json(c, change)));
	c->doc = doc;
	if (c->buffer == NULL)
		c->buffer = change;
	else if (delta_compose(c->arena, c->buffer, change, &c->buffer, &err) !=
			 DELTA_OK)
		client_fail(c, "compose into the buffer: %s", err.message);
	if (c->buffer->count == 0) /* an insert deleted again */
		c->buffer = NULL;
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
	snprintf(p->base, sizeof(p->base), "%" PRId64, c->inflight_base);
	snprintf(p->seq, sizeof(p->seq), "%" PRId64, c->inflight_seq);
	p->values[0] = c->doc_id;
	p->values[1] = p->base;
	p->values[2] = c->sent;
	p->values[3] = c->id;
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
					c->inflight_seq, c->inflight_base, PQerrorMessage(c->conn),
					cut(c->sent));
	*rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*applied = client_parse(c, c->arena, PQgetvalue(res, 0, 1),
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
take_ack(client *c, int64_t rev, delta *applied)
{
	if (c->acked_rev != 0 && c->acked_rev != rev)
		client_fail(c,
					"seq %" PRId64 " acknowledged as rev %" PRId64
					", earlier as rev %" PRId64,
					c->inflight_seq, rev, c->acked_rev);
	if (rev <= c->inflight_base)
		client_fail(c,
					"seq %" PRId64 " submitted against rev %" PRId64
					" acknowledged as rev %" PRId64,
					c->inflight_seq, c->inflight_base, rev);
	if (c->acked_rev == 0)
		c->report->server_transforms += rev - c->inflight_base - 1;
	c->acked_rev = rev;
	c->acked = applied;
	c->acks[c->inflight_seq] = rev;
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
		const char *params[4] = {c->doc_id, since, c->id, seq};
		PGresult *res;

		wait_backend_gone(c, pid);
		snprintf(since, sizeof(since), "%" PRId64, c->inflight_base);
		snprintf(seq, sizeof(seq), "%" PRId64, c->inflight_seq);
		res = client_query(c,
						   "SELECT rev, change FROM collab.changes($1, $2)"
						   " WHERE client_id = $3 AND client_seq = $4",
						   4, params);
		if (PQntuples(res) > 1)
			client_fail(c, "seq %" PRId64 " is in the log %d times",
						c->inflight_seq, PQntuples(res));
		if (PQntuples(res) == 1)
		{
			first_rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			first = client_parse(c, c->arena, PQgetvalue(res, 0, 1),
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
						c->inflight_seq, rev, cut(client_json(c, applied)),
						first_rev, client_json(c, first));
		c->report->dedups++;
	}
	take_ack(c, rev, applied);
}

/* Sends the buffer: it becomes the change in flight. */
static void
send_buffer(client *c)
{
	int64_t rev;
	delta *applied;

	c->inflight = c->buffer;
	c->buffer = NULL;
	c->inflight_seq = ++c->seq;
	c->inflight_base = c->rev;
	c->acked_rev = 0;
	c->acked = NULL;
	free(c->sent);
	if ((c->sent = strdup(client_json(c, c->inflight))) == NULL)
		client_fail(c, "out of memory");
	c->report->submits++;
	c->report->nseq = c->seq;
	if (chance(c, c->cfg->drop_rate))
		submit_dropping(c);
	else
	{
		submit_sync(c, &rev, &applied);
		take_ack(c, rev, applied);
	}
}

/* Applies what is left of another client's change to the copy. */
static void
receive(client *c, int64_t rev, delta *incoming)
{
	delta *doc;
	delta_error err;

	c->report->incoming++;
	if (c->inflight != NULL)
	{
		delta *theirs;

		c->report->transforms_flight++;
		if (delta_transform(c->arena, c->inflight, incoming, false, &theirs,
							&err) != DELTA_OK ||
			delta_transform(c->arena, incoming, c->inflight, true,
							&c->inflight, &err) != DELTA_OK)
			client_fail(c, "transform against the change in flight: %s",
						err.message);
		incoming = theirs;
	}
	if (c->buffer != NULL)
	{
		delta *theirs;

		c->report->transforms_buffer++;
		if (delta_transform(c->arena, c->buffer, incoming, false, &theirs,
							&err) != DELTA_OK ||
			delta_transform(c->arena, incoming, c->buffer, true, &c->buffer,
							&err) != DELTA_OK)
			client_fail(c, "transform against the buffer: %s", err.message);
		incoming = theirs;
	}
	if (delta_apply(c->arena, c->doc, incoming, &doc, &err) != DELTA_OK)
		client_fail(c,
					"rev %" PRId64 " (transformed) does not apply to "
					"the copy: %s\n  change: %s",
					rev, err.message, cut(client_json(c, incoming)));
	c->doc = doc;
	c->rev = rev;
}

/* Our own change in the log: the change in flight is done. */
static void
receive_own(client *c, int64_t rev, int64_t seq, delta *logged)
{
	if (c->inflight == NULL || seq != c->inflight_seq)
		client_fail(c,
					"rev %" PRId64 " is our seq %" PRId64
					", but the change in flight is seq %" PRId64,
					rev, seq, c->inflight ? c->inflight_seq : 0);
	if (c->acked_rev != rev)
		client_fail(c,
					"seq %" PRId64 " was acknowledged as rev %" PRId64
					" but is logged as rev %" PRId64,
					seq, c->acked_rev, rev);
	if (!delta_equal(logged, c->acked))
		client_fail(c,
					"rev %" PRId64 " differs from the acknowledgement: "
					"logged %s, acknowledged %s",
					rev, cut(client_json(c, logged)),
					client_json(c, c->acked));
	/* the server transformed it exactly as we did, one change at a time */
	if (!delta_equal(logged, c->inflight))
	{
		fprintf(stderr,
				"stress: FAIL: client %d: rev %" PRId64 " (our seq %" PRId64
				") as the server applied it differs from our transform of it\n"
				"  server: %s\n",
				c->index, rev, seq, cut(client_json(c, logged)));
		fprintf(stderr, "  client: %s\n", cut(client_json(c, c->inflight)));
		exit(1);
	}
	c->inflight = NULL;
	c->rev = rev;
}

/* Reads and takes in every change after c->rev. */
static void
catch_up(client *c)
{
	char since[24];
	const char *params[2] = {c->doc_id, since};
	PGresult *res;
	int i;

	snprintf(since, sizeof(since), "%" PRId64, c->rev);
	res = client_query(c,
					   "SELECT rev, change, client_id, client_seq"
					   " FROM collab.changes($1, $2)",
					   2, params);
	for (i = 0; i < PQntuples(res); i++)
	{
		int64_t rev = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		delta *change = client_parse(c, c->arena, PQgetvalue(res, i, 1),
									 "a logged change");

		if (rev != c->rev + 1)
			client_fail(c,
						"collab.changes after rev %" PRId64
						" gave rev %" PRId64,
						c->rev, rev);
		if (!PQgetisnull(res, i, 2) &&
			strcmp(PQgetvalue(res, i, 2), c->id) == 0)
			receive_own(c, rev, strtoll(PQgetvalue(res, i, 3), NULL, 10),
						change);
		else
			receive(c, rev, change);
	}
	PQclear(res);
	if (c->inflight != NULL && c->acked_rev != 0 && c->acked_rev <= c->rev)
		client_fail(c,
					"seq %" PRId64 " acknowledged as rev %" PRId64
					" is not in the log",
					c->inflight_seq, c->acked_rev);
}

/* Checks that the copy is content(rev) with inflight and buffer applied. */
static void
verify_copy(client *c)
{
	char rev[24];
	const char *params[2] = {c->doc_id, rev};
	PGresult *res;
	delta *want;
	delta_error err;

	snprintf(rev, sizeof(rev), "%" PRId64, c->rev);
	res = client_query(c, "SELECT collab.content($1, $2)", 2, params);
	want = client_parse(c, c->arena, PQgetvalue(res, 0, 0), "content");
	PQclear(res);
	if ((c->inflight &&
		 delta_apply(c->arena, want, c->inflight, &want, &err) != DELTA_OK) ||
		(c->buffer &&
		 delta_apply(c->arena, want, c->buffer, &want, &err) != DELTA_OK))
		client_fail(c, "the pending changes do not apply to content(%s): %s",
					rev, err.message);
	if (!delta_equal(want, c->doc))
	{
		char name[128];

		fprintf(stderr,
				"stress: FAIL: client %d (%s): the copy differs from "
				"content(%s, %s) + in flight + buffer\n",
				c->index, c->id, c->doc_id, rev);
		print_difference("copy:", client_json(c, c->doc),
						 "server:", client_json(c, want));
		snprintf(name, sizeof(name), "failure-%s-copy.json", c->id);
		dump(c->cfg, name, client_json(c, c->doc));
		snprintf(name, sizeof(name), "failure-%s-server.json", c->id);
		dump(c->cfg, name, client_json(c, want));
		exit(1);
	}
	c->report->verifies++;
}

/* Moves the OT state to a fresh arena, dropping everything else. */
static void
compact(client *c)
{
	delta_arena *fresh = delta_arena_create(NULL);
	delta **parts[] = {&c->doc, &c->inflight, &c->buffer, &c->acked};
	size_t i;

	if (fresh == NULL)
		client_fail(c, "out of memory");
	for (i = 0; i < COUNT(parts); i++)
		if (*parts[i] != NULL)
			*parts[i] = client_parse(c, fresh, client_json(c, *parts[i]),
									 "a copied delta");
	delta_arena_destroy(c->arena);
	c->arena = fresh;
}

static void
client_init(client *c, const config *cfg, int index, const shared *sh)
{
	size_t i;
	delta_error err;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->index = index;
	c->rng =
		cfg->seed ^ (UINT64_C(0x9E3779B97F4A7C15) * (uint64_t) (index + 1));
	c->report = &sh->reports[index];
	c->acks = &sh->acks[(size_t) index * (size_t) (cfg->edits + 2)];
	snprintf(c->id, sizeof(c->id), "%s-c%d", cfg->run_id, index);
	snprintf(c->doc_id, sizeof(c->doc_id), "stress-%s-%d", cfg->run_id,
			 index % cfg->docs);
	snprintf(c->app, sizeof(c->app), "collab-stress client %d", index);
	c->direct = client_direct(cfg, index);
	c->pool = delta_arena_create(NULL);
	c->arena = delta_arena_create(NULL);
	if (c->pool == NULL || c->arena == NULL)
		client_fail(c, "out of memory");
#define PARSE_POOL(name) \
	for (i = 0; i < COUNT(name); i++) \
		if (name[i] != NULL && djson_parse(c->pool, name[i], strlen(name[i]), \
										   &c->name[i], &err) != DELTA_OK) \
			client_fail(c, "bad pool entry %s: %s", name[i], err.message);
	PARSE_POOL(insert_attrs)
	PARSE_POOL(retain_attrs)
	PARSE_POOL(embeds)
#undef PARSE_POOL
}

/* Starts from the head: its revision, then the content at that revision. */
static void
client_start(client *c)
{
	const char *params[2] = {c->doc_id, NULL};
	PGresult *res;

	client_connect(c);
	res = client_query(c, "SELECT collab.head($1)", 1, params);
	c->rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	params[1] = PQgetvalue(res, 0, 0);
	{
		PGresult *doc =
			client_query(c, "SELECT collab.content($1, $2)", 2, params);

		c->doc = client_parse(c, c->arena, PQgetvalue(doc, 0, 0), "content");
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

	catch_up(c);
	if (c->inflight != NULL || c->buffer != NULL)
		client_fail(c, "still has changes pending at the end");
	res = client_query(c, "SELECT collab.head($1), collab.content($1)", 1,
					   params);
	head = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	server = client_parse(c, c->arena, PQgetvalue(res, 0, 1), "content");
	PQclear(res);
	if (head != c->rev)
		client_fail(c, "caught up to rev %" PRId64 " but the head is %" PRId64,
					c->rev, head);
	if (!delta_equal(server, c->doc))
	{
		char name[128];
		const char *mine = client_json(c, c->doc);
		const char *theirs = client_json(c, server);

		fprintf(stderr,
				"stress: FAIL: client %d (%s) did not converge: its copy of "
				"%s at rev %" PRId64 " differs from collab.content\n",
				c->index, c->id, c->doc_id, c->rev);
		print_difference("copy:", mine, "content:", theirs);
		snprintf(name, sizeof(name), "failure-%s-copy.json", c->id);
		dump(c->cfg, name, mine);
		snprintf(name, sizeof(name), "failure-%s-content.json", c->id);
		dump(c->cfg, name, theirs);
		exit(1);
	}
	for (s = 1; s <= c->seq; s++)
		if (c->acks[s] == 0)
			client_fail(c, "seq %" PRId64 " was never acknowledged", s);
	c->report->final_rev = c->rev;
}

/* A client's whole life; go_fd reads end-of-file when all are done. */
static void
client_main(const config *cfg, int index, const shared *sh, int go_fd)
{
	client c;
	char byte;

	client_init(&c, cfg, index, sh);
	client_start(&c);
	while (c.report->edits < cfg->edits)
	{
		unsigned k = 1 + rnd(&c, 3);

		while (k-- && c.report->edits < cfg->edits)
			local_edit(&c);
		if (c.inflight == NULL && c.buffer != NULL)
			send_buffer(&c);
		if (chance(&c, 0.5))
		{
			catch_up(&c);
			if (chance(&c, VERIFY_RATE))
				verify_copy(&c);
			if (delta_arena_footprint(c.arena) > ARENA_COMPACT_BYTES)
				compact(&c);
		}
	}
	/* flush: the change in flight acknowledged, then the buffer */
	while (c.inflight != NULL || c.buffer != NULL)
	{
		catch_up(&c);
		if (c.inflight == NULL && c.buffer != NULL)
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
				c.rev);
	__atomic_store_n(&c.report->phase, PHASE_PASSED, __ATOMIC_SEQ_CST);
	PQfinish(c.conn);
	delta_arena_destroy(c.arena);
	delta_arena_destroy(c.pool);
	free(c.bounds);
	free(c.sent);
	exit(0);
}

/* --- the parent's checks ------------------------------------------------- */

/* The initial content of document d: something of everything, or empty. */
static const char *
initial_content(int d)
{
	switch (d % 3)
	{
		case 0:
			return "{\"ops\":[{\"insert\":\"Hello \"},"
				   "{\"insert\":\"w\xc3\xb6rld\",\"attributes\":{\"bold\":"
				   "true}},"
				   "{\"insert\":\" \xf0\x9f\x98\x80 "
				   "\xe6\x97\xa5\xe6\x9c\xac\"},"
				   "{\"insert\":{\"image\":\"x.png\"}},"
				   "{\"insert\":\"\\n\"}]}";
		case 1:
			return "{\"ops\":[]}";
		default:
			return "{\"ops\":[{\"insert\":\"Title\"},"
				   "{\"insert\":\"\\n\",\"attributes\":{\"header\":1}},"
				   "{\"insert\":\"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd "
				   "body\\n\"}]}";
	}
}

static delta *
parent_parse(delta_arena *arena, const char *json, const char *what)
{
	delta *d;
	delta_error err;

	if (delta_parse(arena, json, strlen(json), &d, &err) != DELTA_OK)
	{
		check_fail("cannot parse %s: %s: %s", what, err.message, cut(json));
		return NULL;
	}
	return d;
}

/* The client index in a client id of this run, or -1. */
static int
client_index(const config *cfg, const char *id)
{
	size_t len = strlen(cfg->run_id);
	char *end;
	long i;

	if (strncmp(id, cfg->run_id, len) != 0 || strncmp(id + len, "-c", 2) != 0)
		return -1;
	i = strtol(id + len + 2, &end, 10);
	if (*end != '\0' || i < 0 || i >= cfg->clients)
		return -1;
	return (int) i;
}

typedef struct doc_stats {
	int64_t head;
	int64_t snapshots;		/* stored snapshots checked, revision 0 too */
	int64_t content_checks; /* revisions whose content() was compared */
	int clients;
	int64_t announced;	   /* revisions of the log announced (once) */
	int64_t by_reference;  /* ... without their change (too big) */
	int64_t direct;		   /* ... by the submitting client's backend */
	int64_t via_announcer; /* ... by the announcer */
	int64_t missing;	   /* revisions of the log never announced */
} doc_stats;

/* --- the listener -------------------------------------------------------- */

/* A change notification about one of the run's documents, as it came. */
typedef struct announced {
	int64_t rev;
	const djson_value *client; /* a string, or null */
	const djson_value *seq;	   /* a number, or null */
	const djson_value *change; /* NULL when left out (too big) */
	size_t bytes;			   /* of the payload, without its NUL */
	int pid;				   /* of the backend that ran NOTIFY */
} announced;

/* What the listener heard of one document, in order of arrival. */
typedef struct doc_news {
	announced *items; /* malloc */
	size_t count;
	size_t cap;
	bool marker; /* the end marker has arrived */
} doc_news;

/* A client's backend (the parent's index of them, sorted by pid). */
typedef struct sender {
	int pid;
	int client;
} sender;

typedef struct listener {
	PGconn *conn;		/* LISTEN collab; NULL once done or lost */
	bool lost;			/* the connection broke: nothing to check */
	delta_arena *arena; /* the parsed payloads */
	doc_news *docs;		/* [cfg->docs] */
	char marker[64];	/* the end markers' client id */
	int markers;		/* documents whose end marker has arrived */
	int64_t received;	/* notifications taken */
	int64_t changes;	/* ... changes of the run's documents */
	int64_t foreign;	/* ... about other runs' documents (ignored) */
	int64_t overflows;	/* ... overflow messages */
	int64_t dropped;	/* the payloads those say were lost */
	sender *senders;	/* the clients' backends, once they have exited */
	size_t nsenders;
} listener;

static const djson_value *
member(const djson_value *object, const char *key)
{
	return djson_object_get(object, key, strlen(key));
}

static bool
json_is_string(const djson_value *v, const char *s)
{
	size_t len = strlen(s);

	return v != NULL && v->type == DJSON_STRING && v->u.string.len == len &&
		   memcmp(v->u.string.bytes, s, len) == 0;
}

/* An integer written as one (no fraction, no exponent). */
static bool
json_integer(const djson_value *v, int64_t *out)
{
	char text[32];
	char *end;

	if (v == NULL || v->type != DJSON_NUMBER || v->u.number.len == 0 ||
		v->u.number.len >= sizeof(text))
		return false;
	memcpy(text, v->u.number.literal, v->u.number.len);
	text[v->u.number.len] = '\0';
	errno = 0;
	*out = strtoll(text, &end, 10);
	return errno == 0 && *end == '\0';
}

/* The compact JSON of v, for a message. */
static const char *
json_text(delta_arena *arena, const djson_value *v)
{
	delta_buf buf;

	if (v == NULL)
		return "(absent)";
	delta_buf_init(&buf, arena);
	if (djson_write(&buf, v, NULL) != DELTA_OK ||
		delta_buf_append(&buf, "", 1, NULL) != DELTA_OK)
		return "(out of memory)";
	return buf.data;
}

/*
 * The index of the run's document a document id names; -1 for another
 * run's document, -2 for one of this run that it never made.
 */
static int
doc_index(const config *cfg, const djson_value *id)
{
	char prefix[64];
	size_t plen =
		(size_t) snprintf(prefix, sizeof(prefix), "stress-%s-", cfg->run_id);
	const char *s = id->u.string.bytes;
	size_t len = id->u.string.len;
	long d = 0;
	size_t k;

	if (len < plen || memcmp(s, prefix, plen) != 0)
		return -1;
	if (len == plen || len - plen > 6 || (s[plen] == '0' && len - plen > 1))
		return -2;
	for (k = plen; k < len; k++)
	{
		if (s[k] < '0' || s[k] > '9')
			return -2;
		d = d * 10 + (s[k] - '0');
	}
	return d < cfg->docs ? (int) d : -2;
}

/* Files a change under its document; counts or fails the rest. */
static void
listener_take(const config *cfg, listener *l, const PGnotify *n)
{
	size_t bytes = strlen(n->extra);
	const djson_value *v;
	const djson_value *type;
	const djson_value *doc;
	delta_error err;
	doc_news *news;
	announced a;
	int d;

	l->received++;
	if (djson_parse(l->arena, n->extra, bytes, &v, &err) != DELTA_OK ||
		v->type != DJSON_OBJECT || (type = member(v, "type")) == NULL ||
		type->type != DJSON_STRING)
	{
		check_fail("a notification on channel %s is not a collab payload: %s",
				   n->relname, cut(n->extra));
		return;
	}
	if (json_is_string(type, "overflow"))
	{
		int64_t dropped = 0;

		l->overflows++;
		if (!json_integer(member(v, "dropped"), &dropped) || dropped < 1)
			check_fail("an overflow message without a count: %s",
					   cut(n->extra));
		l->dropped += dropped;
		if (!cfg->allow_overflow)
			check_fail("the announcer's ring overflowed: %s "
					   "(--allow-overflow tolerates it)",
					   cut(n->extra));
		return;
	}
	doc = member(v, "doc");
	if (doc == NULL || doc->type != DJSON_STRING)
	{
		check_fail("a notification without a document: %s", cut(n->extra));
		return;
	}
	if ((d = doc_index(cfg, doc)) == -1)
	{
		l->foreign++;
		return;
	}
	if (d < 0)
	{
		check_fail("a notification about a document this run never made: %s",
				   cut(n->extra));
		return;
	}
	news = &l->docs[d];
	if (json_is_string(type, "presence") &&
		json_is_string(member(v, "client"), l->marker))
	{
		if (news->marker)
			check_fail("document %d's end marker arrived twice", d);
		else
			l->markers++;
		news->marker = true;
		return;
	}
	if (!json_is_string(type, "change"))
	{
		check_fail("an unexpected notification: %s", cut(n->extra));
		return;
	}
	memset(&a, 0, sizeof(a));
	a.client = member(v, "client");
	a.seq = member(v, "seq");
	a.change = member(v, "change");
	a.bytes = bytes;
	a.pid = n->be_pid;
	if (!json_integer(member(v, "rev"), &a.rev) || a.client == NULL ||
		(a.client->type != DJSON_STRING && a.client->type != DJSON_NULL) ||
		a.seq == NULL ||
		(a.seq->type != DJSON_NUMBER && a.seq->type != DJSON_NULL) ||
		(a.change != NULL && a.change->type != DJSON_OBJECT) ||
		v->u.object.count != (a.change != NULL ? 6u : 5u))
	{
		check_fail("a malformed change notification: %s", cut(n->extra));
		return;
	}
	if (news->marker)
		check_fail("%.*s: rev %" PRId64 " was announced after the end marker",
				   (int) doc->u.string.len, doc->u.string.bytes, a.rev);
	if (news->count == news->cap)
	{
		size_t cap = news->cap ? news->cap * 2 : 1024;
		announced *items = realloc(news->items, cap * sizeof(announced));

		if (items == NULL)
		{
			check_fail("out of memory");
			return;
		}
		news->items = items;
		news->cap = cap;
	}
	news->items[news->count++] = a;
	l->changes++;
}

/* LISTENs on its own connection; false (reported) when it cannot. */
static bool
listener_start(const config *cfg, listener *l)
{
	const char *keys[] = {"client_encoding", "application_name", NULL};
	const char *values[] = {"UTF8", "collab-stress listener", NULL};
	PGresult *res;

	memset(l, 0, sizeof(*l));
	snprintf(l->marker, sizeof(l->marker), "%s-marker", cfg->run_id);
	l->arena = delta_arena_create(NULL);
	l->docs = calloc((size_t) cfg->docs, sizeof(doc_news));
	if (l->arena == NULL || l->docs == NULL)
	{
		check_fail("out of memory");
		return false;
	}
	l->conn = PQconnectdbParams(keys, values, 0);
	if (PQstatus(l->conn) != CONNECTION_OK)
	{
		check_fail("the listener cannot connect: %s", PQerrorMessage(l->conn));
		PQfinish(l->conn);
		l->conn = NULL;
		return false;
	}
	res = PQexec(l->conn, "LISTEN collab");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		check_fail("LISTEN collab: %s", PQerrorMessage(l->conn));
		PQclear(res);
		PQfinish(l->conn);
		l->conn = NULL;
		return false;
	}
	PQclear(res);
	return true;
}

/* Takes what has arrived, waiting up to timeout_ms for something. */
static void
listener_poll(const config *cfg, listener *l, int timeout_ms)
{
	struct pollfd pfd;
	PGnotify *n;

	if (l->conn == NULL)
	{
		usleep((useconds_t) timeout_ms * 1000);
		return;
	}
	pfd.fd = PQsocket(l->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, timeout_ms) > 0 && !PQconsumeInput(l->conn))
	{
		check_fail("the listener lost its connection: %s",
				   PQerrorMessage(l->conn));
		PQfinish(l->conn);
		l->conn = NULL;
		l->lost = true;
		return;
	}
	while ((n = PQnotifies(l->conn)) != NULL)
	{
		listener_take(cfg, l, n);
		PQfreemem(n);
	}
}

/*
 * Once every client has exited: sends an end marker per document through
 * the announcer (a presence of client <run>-marker) and takes
 * notifications until all markers are in, or MARKER_TIMEOUT has passed;
 * closes the listener's connection.  The marker's transaction reserves its
 * ring entry after every change has committed, and the announcer sends in
 * ring order; a direct NOTIFY is queued before its transaction commits.
 * So when the markers are in, so is everything.  Returns the seconds it
 * waited.
 */
static double
listener_finish(const config *cfg, listener *l)
{
	double start = now_seconds();
	char err[512];
	char state[96];
	PGconn *conn;
	int d;

	if (l->conn == NULL)
		return 0;
	conn = connect_db(cfg, "collab-stress markers", false, err, sizeof(err));
	if (conn == NULL)
		check_fail("%s", err);
	snprintf(state, sizeof(state), "{\"marker\":\"%s\"}", cfg->run_id);
	for (d = 0; conn != NULL && d < cfg->docs; d++)
	{
		char doc_id[64];
		const char *params[3] = {doc_id, l->marker, state};

		snprintf(doc_id, sizeof(doc_id), "stress-%s-%d", cfg->run_id, d);
		PQclear(parent_query(conn, "SELECT collab.presence($1, $2, $3)", 3,
							 params));
	}
	PQfinish(conn);
	while (l->conn != NULL && l->markers < cfg->docs &&
		   now_seconds() - start < MARKER_TIMEOUT)
		listener_poll(cfg, l, 50);
	/* a marker sent into a full ring is lost as any payload is */
	if (l->conn != NULL && l->markers < cfg->docs &&
		!(cfg->allow_overflow && l->overflows > 0))
		check_fail("%d of the %d end markers arrived within %d s", l->markers,
				   cfg->docs, MARKER_TIMEOUT);
	PQfinish(l->conn);
	l->conn = NULL;
	return now_seconds() - start;
}

static int
sender_order(const void *a, const void *b)
{
	const sender *x = a;
	const sender *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Indexes the clients' backends by pid (after the clients have exited). */
static void
listener_index_senders(const config *cfg, listener *l, const shared *sh)
{
	size_t n = 0;
	int i;
	int k;

	for (i = 0; i < cfg->clients; i++)
		n += (size_t) (sh->reports[i].npids < CLIENT_PIDS_MAX
						   ? sh->reports[i].npids
						   : CLIENT_PIDS_MAX);
	l->senders = calloc(n ? n : 1, sizeof(sender));
	if (l->senders == NULL)
	{
		check_fail("out of memory");
		return;
	}
	for (i = 0; i < cfg->clients; i++)
		for (k = 0; k < sh->reports[i].npids && k < CLIENT_PIDS_MAX; k++)
		{
			l->senders[l->nsenders].pid = sh->reports[i].pids[k];
			l->senders[l->nsenders++].client = i;
		}
	qsort(l->senders, l->nsenders, sizeof(sender), sender_order);
}

/* The client whose backend had pid, or -1 (the announcer, presumably). */
static int
sender_of(const listener *l, int pid)
{
	sender key = {pid, -1};
	const sender *found = l->senders == NULL
							  ? NULL
							  : bsearch(&key, l->senders, l->nsenders,
										sizeof(sender), sender_order);

	return found ? found->client : -1;
}

/* "client N" or "the announcer, pid P" (no client's backend), in buf. */
static const char *
sent_by(const listener *l, int pid, char buf[64])
{
	int from = sender_of(l, pid);

	if (from >= 0)
		snprintf(buf, 64, "client %d", from);
	else
		snprintf(buf, 64, "the announcer, pid %d", pid);
	return buf;
}

static void
listener_destroy(const config *cfg, listener *l)
{
	int d;

	PQfinish(l->conn);
	for (d = 0; l->docs != NULL && d < cfg->docs; d++)
		free(l->docs[d].items);
	free(l->docs);
	free(l->senders);
	delta_arena_destroy(l->arena);
	memset(l, 0, sizeof(*l));
}

/*
 * Checks one announcement of a logged revision against its row of the
 * log: client, seq, the change or a good reason to leave it out, and the
 * path it came by.
 */
static void
check_announced(const config *cfg, const listener *l, const shared *sh,
				const char *doc_id, const announced *a, const PGresult *log,
				delta_arena *arena, doc_stats *st)
{
	int row = (int) a->rev - 1;
	const char *client_id =
		PQgetisnull(log, row, 2) ? NULL : PQgetvalue(log, row, 2);
	int ci = client_id ? client_index(cfg, client_id) : -1;
	int64_t seq = 0;
	bool seq_ok;
	delta *logged;
	const char *written;
	delta_error err;

	if (client_id == NULL ? a->client->type != DJSON_NULL
						  : !json_is_string(a->client, client_id))
		check_fail("%s: rev %" PRId64 " was announced with client %s, "
				   "the log has %s",
				   doc_id, a->rev, json_text(arena, a->client),
				   client_id ? client_id : "null");
	if (PQgetisnull(log, row, 3))
		seq_ok = a->seq->type == DJSON_NULL;
	else
		seq_ok = json_integer(a->seq, &seq) &&
				 seq == strtoll(PQgetvalue(log, row, 3), NULL, 10);
	if (!seq_ok)
		check_fail("%s: rev %" PRId64 " was announced with seq %s, "
				   "the log has %s",
				   doc_id, a->rev, json_text(arena, a->seq),
				   PQgetisnull(log, row, 3) ? "null"
											: PQgetvalue(log, row, 3));

	logged = parent_parse(arena, PQgetvalue(log, row, 1), "a logged change");
	if (logged == NULL || (written = json_of(arena, logged)) == NULL)
		return;
	if (a->change != NULL)
	{
		delta *heard;

		if (a->bytes > NOTIFY_PAYLOAD_MAX)
			check_fail("%s: rev %" PRId64 " was announced in %zu bytes, "
					   "past the %d a payload may take",
					   doc_id, a->rev, a->bytes, NOTIFY_PAYLOAD_MAX);
		if (delta_from_json(arena, a->change, &heard, &err) != DELTA_OK)
			check_fail("%s: rev %" PRId64 " was announced with a change "
					   "that does not parse: %s: %s",
					   doc_id, a->rev, err.message,
					   cut(json_text(arena, a->change)));
		else if (!delta_equal(heard, logged))
		{
			check_fail("%s: rev %" PRId64 " was announced with another "
					   "change than the log's",
					   doc_id, a->rev);
			print_difference("announced:", json_of(arena, heard),
							 "logged:", written);
		}
	}
	else
	{
		/* the payload it would have been: the envelope, the change, "}" */
		size_t full = a->bytes + strlen(",\"change\":") + strlen(written);

		st->by_reference++;
		if (full <= NOTIFY_PAYLOAD_MAX)
			check_fail("%s: rev %" PRId64 " was announced without its "
					   "change, which would have fit (%zu bytes)",
					   doc_id, a->rev, full);
	}

	/* the path its client was set to */
	if (ci >= 0)
	{
		int from = sender_of(l, a->pid);
		bool direct = client_direct(cfg, ci);

		if (direct)
			st->direct++;
		else
			st->via_announcer++;
		if (direct && from != ci &&
			!(from < 0 && sh->reports[ci].npids > CLIENT_PIDS_MAX))
			check_fail("%s: rev %" PRId64 " of client %d (notify_worker off) "
					   "was announced by pid %d (%s), not by its own backend",
					   doc_id, a->rev, ci, a->pid,
					   from < 0 ? "no client's" : "another client's");
		else if (!direct && from >= 0)
			check_fail("%s: rev %" PRId64 " of client %d (through the "
					   "announcer) was announced by client %d's backend "
					   "(pid %d)",
					   doc_id, a->rev, ci, from, a->pid);
	}
}

/*
 * Checks what the listener heard of document d against its log: every
 * revision announced once, in increasing order, as check_announced says;
 * nothing that is not in the log.
 */
static void
check_announcements(const config *cfg, const listener *l, const shared *sh,
					const char *doc_id, int d, const PGresult *log,
					doc_stats *st)
{
	const doc_news *news = &l->docs[d];
	int64_t rows = PQntuples(log);
	delta_arena *arena = delta_arena_create(NULL);
	int *times = calloc((size_t) rows + 1, sizeof(int));
	int64_t top = 0; /* the highest revision announced so far */
	int top_pid = 0; /* ... by this backend */
	int64_t first_missing = 0;
	size_t i;
	int64_t r;

	if (arena == NULL || times == NULL)
	{
		check_fail("out of memory");
		goto out;
	}
	for (i = 0; i < news->count; i++)
	{
		const announced *a = &news->items[i];

		if (a->rev < 1 || a->rev > rows)
		{
			check_fail("%s: rev %" PRId64 " was announced, but the log "
					   "has revisions 1 to %" PRId64,
					   doc_id, a->rev, rows);
			continue;
		}
		if (++times[a->rev] > 1)
		{
			check_fail("%s: rev %" PRId64 " was announced %d times (again "
					   "after rev %" PRId64 ")",
					   doc_id, a->rev, times[a->rev], top);
			continue;
		}
		/* a gap is a revision missing (below), or one coming late: here */
		if (a->rev < top)
		{
			char from[64];
			char top_from[64];

			check_fail("%s: rev %" PRId64 " (from %s) was announced after "
					   "rev %" PRId64 " (from %s)",
					   doc_id, a->rev, sent_by(l, a->pid, from), top,
					   sent_by(l, top_pid, top_from));
		}
		else
		{
			top = a->rev;
			top_pid = a->pid;
		}
		st->announced++;
		check_announced(cfg, l, sh, doc_id, a, log, arena, st);
		if (delta_arena_footprint(arena) > ARENA_COMPACT_BYTES)
		{
			delta_arena_destroy(arena);
			if ((arena = delta_arena_create(NULL)) == NULL)
			{
				check_fail("out of memory");
				goto out;
			}
		}
	}
	for (r = 1; r <= rows; r++)
		if (times[r] == 0)
		{
			if (st->missing++ == 0)
				first_missing = r;
		}
	if (st->missing > 0 && !(cfg->allow_overflow && l->overflows > 0))
		check_fail("%s: %" PRId64 " of its %" PRId64 " revisions were never "
				   "announced (the first: rev %" PRId64 ")",
				   doc_id, st->missing, rows, first_missing);

out:
	free(times);
	delta_arena_destroy(arena);
}

/*
 * Checks document d's log against the clients' acknowledgements and what
 * the listener heard (unless it lost its connection), and replays it,
 * comparing with content() and the stored snapshots.
 */
static void
check_document(const config *cfg, PGconn *conn, int d, const shared *sh,
			   const listener *l, doc_stats *st)
{
	char doc_id[64];
	const char *params[2] = {doc_id, NULL};
	int64_t seqs = cfg->edits + 2;
	delta_arena *arena = delta_arena_create(NULL);
	PGresult *log = NULL;
	PGresult *snaps = NULL;
	PGresult *res;
	bool *seen = NULL;
	bool *sample = NULL;
	delta *doc;
	int64_t head;
	int64_t acked = 0;
	int64_t r;
	int i;
	int next_snap = 0;
	bool misnumbered = false;
	uint64_t rng = cfg->seed + (uint64_t) d;

	snprintf(doc_id, sizeof(doc_id), "stress-%s-%d", cfg->run_id, d);
	memset(st, 0, sizeof(*st));
	if (arena == NULL)
	{
		check_fail("out of memory");
		return;
	}
	if ((res = parent_query(conn, "SELECT collab.head($1)", 1, params)) ==
		NULL)
		goto out;
	st->head = head = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	/* revisions 1..head, no gap; each (client, seq) once */
	log = parent_query(conn,
					   "SELECT rev, change, client_id, client_seq"
					   " FROM collab.changes($1, 0)",
					   1, params);
	if (log == NULL)
		goto out;
	if (PQntuples(log) != head)
		check_fail("%s: head is %" PRId64 " but the log has %d changes",
				   doc_id, head, PQntuples(log));
	seen = calloc((size_t) cfg->clients * (size_t) seqs, sizeof(bool));
	if (seen == NULL)
		goto out;
	for (i = 0; i < PQntuples(log); i++)
	{
		int64_t rev = strtoll(PQgetvalue(log, i, 0), NULL, 10);
		const char *id = PQgetvalue(log, i, 2);
		int64_t seq = strtoll(PQgetvalue(log, i, 3), NULL, 10);
		int ci = PQgetisnull(log, i, 2) ? -1 : client_index(cfg, id);

		if (rev != i + 1 && !misnumbered)
		{
			/* once: every later one is off too */
			check_fail("%s: the log's change %d is rev %" PRId64
					   " (a gap or a duplicate)",
					   doc_id, i + 1, rev);
			misnumbered = true;
		}
		if (ci < 0 || seq < 1 || seq >= seqs)
		{
			check_fail("%s: rev %" PRId64
					   " has client %s seq %s, not one of this run's",
					   doc_id, rev, PQgetisnull(log, i, 2) ? "(null)" : id,
					   PQgetvalue(log, i, 3));
			continue;
		}
		if (seen[(size_t) ci * seqs + seq])
			check_fail("%s: (%s, %" PRId64 ") appears twice, again at rev "
					   "%" PRId64,
					   doc_id, id, seq, rev);
		seen[(size_t) ci * seqs + seq] = true;
	}

	/* every acknowledged change at its revision; nothing else logged */
	for (i = 0; i < cfg->clients; i++)
	{
		const client_report *rep = &sh->reports[i];
		const int64_t *acks = &sh->acks[(size_t) i * seqs];
		int64_t s;

		if (i % cfg->docs != d)
			continue;
		st->clients++;
		if (rep->phase == PHASE_PASSED && rep->final_rev != head)
			check_fail("%s: client %d ended at rev %" PRId64
					   ", the head is %" PRId64,
					   doc_id, i, rep->final_rev, head);
		for (s = 1; s <= rep->nseq; s++)
		{
			int64_t rev = acks[s];
			int row = (int) rev - 1;
			char want[64];

			if (rev == 0)
				continue; /* the client failed before its ack; it said so */
			acked++;
			snprintf(want, sizeof(want), "%s-c%d", cfg->run_id, i);
			if (rev < 1 || rev > PQntuples(log) ||
				strcmp(PQgetvalue(log, row, 2), want) != 0 ||
				strtoll(PQgetvalue(log, row, 3), NULL, 10) != s)
				check_fail("%s: client %d's seq %" PRId64
						   " was acknowledged as rev %" PRId64
						   ", but the log has another change there",
						   doc_id, i, s, rev);
		}
	}
	if (acked != PQntuples(log))
		check_fail("%s: the log has %d changes, the clients were "
				   "acknowledged %" PRId64,
				   doc_id, PQntuples(log), acked);
	if (!l->lost)
		check_announcements(cfg, l, sh, doc_id, d, log, st);

	/* the snapshotter takes its snapshots after commit: wait for them */
	wait_for_snapshots(conn, doc_id, head - head % cfg->snapshot_interval);

	/* replay; compare content() at sampled revisions and every snapshot */
	snaps = parent_query(conn,
						 "SELECT rev, content FROM collab.snapshots"
						 " WHERE doc_id = $1 ORDER BY rev",
						 1, params);
	if (snaps == NULL)
		goto out;
	{
		/* one at every multiple of the interval, by either path */
		int64_t want = 0;
		int k;

		for (k = 0; k < PQntuples(snaps) && want <= head; k++)
			if (strtoll(PQgetvalue(snaps, k, 0), NULL, 10) == want)
				want += cfg->snapshot_interval;
		if (want <= head)
			check_fail("%s: no snapshot at rev %" PRId64
					   " (snapshot_interval %d, head %" PRId64 ")",
					   doc_id, want, cfg->snapshot_interval, head);
	}
	sample = calloc((size_t) head + 1, sizeof(bool));
	if (sample == NULL)
		goto out;
	/* the ends, 2% of the rest, and either side of a quarter of the
	 * snapshots (the revisions where content() switches snapshot) */
	for (r = 0; r <= head; r++)
		sample[r] = r <= 1 || r >= head - 1 || rng_next(&rng) % 50 == 0;
	for (r = cfg->snapshot_interval; r <= head; r += cfg->snapshot_interval)
		if (rng_next(&rng) % 4 == 0)
		{
			sample[r - 1] = sample[r] = true;
			if (r < head)
				sample[r + 1] = true;
		}
	params[1] = "0";
	if ((res = parent_query(conn, "SELECT collab.content($1, $2)", 2,
							params)) == NULL)
		goto out;
	doc = parent_parse(arena, PQgetvalue(res, 0, 0), "content(0)");
	PQclear(res);
	if (doc == NULL)
		goto out;
	{
		/* create_document adds the newline an empty content lacks */
		const char *made = d % 3 == 1 ? "{\"ops\":[{\"insert\":\"\\n\"}]}"
									  : initial_content(d);
		delta *want = parent_parse(arena, made, "the content created");

		if (want != NULL && !delta_equal(want, doc))
			check_fail("%s: content(0) is %s, not the content created", doc_id,
					   cut(json_of(arena, doc)));
	}
	for (r = 0; r <= head; r++)
	{
		delta_error err;

		if (r > 0)
		{
			delta *change =
				parent_parse(arena, PQgetvalue(log, (int) r - 1, 1),
							 "a logged change");

			if (change == NULL)
				goto out;
			if (delta_apply(arena, doc, change, &doc, &err) != DELTA_OK)
			{
				check_fail("%s: rev %" PRId64
						   " does not apply to the replay: %s: %s",
						   doc_id, r, err.message,
						   cut(json_of(arena, change)));
				goto out;
			}
		}
		while (next_snap < PQntuples(snaps) &&
			   strtoll(PQgetvalue(snaps, next_snap, 0), NULL, 10) < r)
			next_snap++;
		if (next_snap < PQntuples(snaps) &&
			strtoll(PQgetvalue(snaps, next_snap, 0), NULL, 10) == r)
		{
			delta *snap = parent_parse(arena, PQgetvalue(snaps, next_snap, 1),
									   "a snapshot");

			st->snapshots++;
			if (snap != NULL && !delta_equal(snap, doc))
			{
				check_fail("%s: the snapshot at rev %" PRId64
						   " differs from the replay",
						   doc_id, r);
				print_difference("snapshot:", json_of(arena, snap),
								 "replay:", json_of(arena, doc));
				dump(cfg, "failure-snapshot.json", json_of(arena, snap));
				dump(cfg, "failure-replay.json", json_of(arena, doc));
			}
		}
		if (sample[r])
		{
			char rev[24];
			delta *got;

			snprintf(rev, sizeof(rev), "%" PRId64, r);
			params[1] = rev;
			if ((res = parent_query(conn, "SELECT collab.content($1, $2)", 2,
									params)) == NULL)
				goto out;
			got = parent_parse(arena, PQgetvalue(res, 0, 0), "content");
			PQclear(res);
			st->content_checks++;
			if (got != NULL && !delta_equal(got, doc))
			{
				check_fail("%s: content(%s, %" PRId64
						   ") differs from the replay of the log",
						   doc_id, doc_id, r);
				print_difference("content:", json_of(arena, got),
								 "replay:", json_of(arena, doc));
				dump(cfg, "failure-content.json", json_of(arena, got));
				dump(cfg, "failure-replay.json", json_of(arena, doc));
			}
		}
	}
	if (head >= cfg->snapshot_interval && st->snapshots < 2)
		check_fail("%s: %" PRId64 " revisions with snapshot_interval %d, "
				   "but no snapshot after rev 0",
				   doc_id, head, cfg->snapshot_interval);
	/* and the head, read without a revision */
	params[1] = NULL;
	if ((res = parent_query(conn, "SELECT collab.content($1)", 1, params)) ==
		NULL)
		goto out;
	{
		delta *got = parent_parse(arena, PQgetvalue(res, 0, 0), "content");

		if (got != NULL && !delta_equal(got, doc))
		{
			check_fail("%s: content(%s) differs from the replay of the log",
					   doc_id, doc_id);
			print_difference("content:", json_of(arena, got),
							 "replay:", json_of(arena, doc));
		}
	}
	PQclear(res);

out:
	free(seen);
	free(sample);
	PQclear(log);
	PQclear(snaps);
	delta_arena_destroy(arena);
}

/* --- the parent ---------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: stress [OPTIONS]\n"
			"Concurrent OT clients against collab.submit in the database the\n"
			"environment names (PGHOST, PGPORT, PGUSER, PGDATABASE; a "
			"superuser).\n"
			"  -c, --clients N        client processes (%d; STRESS_CLIENTS)\n"
			"  -d, --docs N           shared documents (%d; STRESS_DOCS)\n"
			"  -e, --edits N          local edits per client (%d; "
			"STRESS_EDITS)\n"
			"  -s, --seed N           seed of the edits (time; STRESS_SEED)\n"
			"      --snapshot-interval N   collab.snapshot_interval (%d)\n"
			"      --drop-rate P      chance a submit drops its connection "
			"(%.2f)\n"
			"      --timeout S        give up after S seconds (%d)\n"
			"      --direct-docs N    the clients of the last N documents "
			"NOTIFY\n"
			"                         directly, collab.notify_worker off "
			"(1; 0 with\n"
			"                         one document)\n"
			"      --mix-paths        instead, every other client of each "
			"document\n"
			"                         does (revision order may break: see "
			"stress.c)\n"
			"      --allow-overflow   an overflow message is no failure; "
			"revisions\n"
			"                         may then go unannounced\n"
			"      --out DIR          where failures are written (.)\n"
			"  -v, --verbose          a line per client\n",
			CLIENTS_DEFAULT, DOCS_DEFAULT, EDITS_DEFAULT,
			SNAPSHOT_INTERVAL_DEFAULT, DROP_RATE_DEFAULT, TIMEOUT_DEFAULT);
}

/* A positive integer option (or environment variable), or exit 2. */
static long
int_arg(const char *name, const char *text, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || v < min || v > max)
	{
		fprintf(stderr,
				"stress: %s must be an integer from %ld to %ld, not "
				"\"%s\"\n",
				name, min, max, text);
		exit(2);
	}
	return v;
}

static void
parse_args(config *cfg, int argc, char **argv)
{
	static const struct option options[] =
		{{"clients", required_argument, NULL, 'c'},
		 {"docs", required_argument, NULL, 'd'},
		 {"edits", required_argument, NULL, 'e'},
		 {"seed", required_argument, NULL, 's'},
		 {"snapshot-interval", required_argument, NULL, 'S'},
		 {"drop-rate", required_argument, NULL, 'D'},
		 {"timeout", required_argument, NULL, 'T'},
		 {"direct-docs", required_argument, NULL, 'P'},
		 {"mix-paths", no_argument, NULL, 'M'},
		 {"allow-overflow", no_argument, NULL, 'A'},
		 {"out", required_argument, NULL, 'o'},
		 {"verbose", no_argument, NULL, 'v'},
		 {"help", no_argument, NULL, 'h'},
		 {NULL, 0, NULL, 0}};
	const char *env;
	int opt;

	cfg->clients = CLIENTS_DEFAULT;
	cfg->docs = DOCS_DEFAULT;
	cfg->edits = EDITS_DEFAULT;
	cfg->seed = (uint64_t) time(NULL) % 1000000;
	cfg->snapshot_interval = SNAPSHOT_INTERVAL_DEFAULT;
	cfg->drop_rate = DROP_RATE_DEFAULT;
	cfg->timeout = TIMEOUT_DEFAULT;
	cfg->out = ".";
	cfg->direct_docs = -1; /* one document, when there are two or more */
	if ((env = getenv("STRESS_CLIENTS")) && *env)
		cfg->clients = (int) int_arg("STRESS_CLIENTS", env, 1, 150);
	if ((env = getenv("STRESS_DOCS")) && *env)
		cfg->docs = (int) int_arg("STRESS_DOCS", env, 1, 1000);
	if ((env = getenv("STRESS_EDITS")) && *env)
		cfg->edits = (int) int_arg("STRESS_EDITS", env, 1, 10000000);
	if ((env = getenv("STRESS_SEED")) && *env)
		cfg->seed = (uint64_t) int_arg("STRESS_SEED", env, 0, LONG_MAX);

	while ((opt = getopt_long(argc, argv, "c:d:e:s:vh", options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'c':
				cfg->clients = (int) int_arg("--clients", optarg, 1, 150);
				break;
			case 'd':
				cfg->docs = (int) int_arg("--docs", optarg, 1, 1000);
				break;
			case 'e':
				cfg->edits = (int) int_arg("--edits", optarg, 1, 10000000);
				break;
			case 's':
				cfg->seed = (uint64_t) int_arg("--seed", optarg, 0, LONG_MAX);
				break;
			case 'S':
				cfg->snapshot_interval =
					(int) int_arg("--snapshot-interval", optarg, 1, 1000000);
				break;
			case 'D':
			{
				char *end;

				cfg->drop_rate = strtod(optarg, &end);
				if (*end != '\0' || end == optarg ||
					!(cfg->drop_rate >= 0 && cfg->drop_rate <= 1))
				{
					fprintf(stderr,
							"stress: --drop-rate must be from 0 "
							"to 1, not \"%s\"\n",
							optarg);
					exit(2);
				}
				break;
			}
			case 'T':
				cfg->timeout = (int) int_arg("--timeout", optarg, 1, 86400);
				break;
			case 'P':
				cfg->direct_docs =
					(int) int_arg("--direct-docs", optarg, 0, 1000);
				break;
			case 'M':
				cfg->mix_paths = true;
				break;
			case 'A':
				cfg->allow_overflow = true;
				break;
			case 'o':
				cfg->out = optarg;
				break;
			case 'v':
				cfg->verbose = true;
				break;
			case 'h':
				usage(stdout);
				exit(0);
			default:
				usage(stderr);
				exit(2);
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "stress: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (cfg->docs > cfg->clients)
		cfg->docs = cfg->clients;
	if (cfg->direct_docs < 0)
		cfg->direct_docs = cfg->docs > 1 ? 1 : 0;
	if (cfg->direct_docs > cfg->docs)
		cfg->direct_docs = cfg->docs;
	snprintf(cfg->run_id, sizeof(cfg->run_id), "%lx%x",
			 (unsigned long) time(NULL), (unsigned) getpid());
}

/*
 * Creates the run's documents (and the extension when it is missing);
 * finds out whether collab is preloaded (its announcer can run).
 */
static bool
create_documents(config *cfg)
{
	char err[512];
	PGconn *conn = connect_db(cfg, "collab-stress", false, err, sizeof(err));
	PGresult *res;
	int d;
	bool ok = true;

	if (conn == NULL)
	{
		/* the SET fails before CREATE EXTENSION: try without collab */
		const char *keys[] = {"client_encoding", NULL};
		const char *values[] = {"UTF8", NULL};

		conn = PQconnectdbParams(keys, values, 0);
		if (PQstatus(conn) != CONNECTION_OK)
		{
			check_fail("cannot connect: %s", PQerrorMessage(conn));
			PQfinish(conn);
			return false;
		}
	}
	res = PQexec(conn, "SET client_min_messages = warning;"
					   " CREATE EXTENSION IF NOT EXISTS collab");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		check_fail("CREATE EXTENSION collab: %s", PQerrorMessage(conn));
		ok = false;
	}
	PQclear(res);
	/* a setting defined only when collab is in shared_preload_libraries */
	if (ok &&
		(res = parent_query(conn,
							"SELECT current_setting("
							"'collab.notify_queue_kb', true) IS NOT NULL",
							0, NULL)) != NULL)
	{
		cfg->preloaded = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
	}
	for (d = 0; ok && d < cfg->docs; d++)
	{
		char doc_id[64];
		const char *params[2] = {doc_id, initial_content(d)};

		snprintf(doc_id, sizeof(doc_id), "stress-%s-%d", cfg->run_id, d);
		res = parent_query(conn, "SELECT collab.create_document($1, $2)", 2,
						   params);
		ok = res != NULL;
		PQclear(res);
	}
	PQfinish(conn);
	return ok;
}

static void
shared_map(const config *cfg, shared *sh)
{
	size_t reports = (size_t) cfg->clients * sizeof(client_report);
	size_t acks =
		(size_t) cfg->clients * (size_t) (cfg->edits + 2) * sizeof(int64_t);
	void *p;

	sh->bytes = reports + acks;
	p = mmap(NULL, sh->bytes, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
	{
		perror("stress: mmap");
		exit(2);
	}
	sh->reports = p;
	sh->acks = (int64_t *) ((char *) p + reports);
}

/* Kills the clients still running (ours, by pid). */
static void
kill_clients(const config *cfg, const pid_t *pids, const bool *exited)
{
	int i;

	for (i = 0; i < cfg->clients; i++)
		if (!exited[i] && pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (i = 0; i < cfg->clients; i++)
		if (!exited[i] && pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

/*
 * Waits until every client has reached phase or ended (reaping those that
 * end), taking notifications meanwhile; on timeout, kills them and returns
 * false.
 */
static bool
wait_clients(const config *cfg, const shared *sh, listener *l,
			 const pid_t *pids, bool *exited, int *status, int phase,
			 double deadline)
{
	for (;;)
	{
		int n = 0;
		int i;

		for (i = 0; i < cfg->clients; i++)
		{
			if (!exited[i] && waitpid(pids[i], &status[i], WNOHANG) == pids[i])
				exited[i] = true;
			if (exited[i] || __atomic_load_n(&sh->reports[i].phase,
											 __ATOMIC_SEQ_CST) >= phase)
				n++;
		}
		if (n == cfg->clients)
			return true;
		if (now_seconds() > deadline)
		{
			check_fail("timed out after %d s while the clients %s",
					   cfg->timeout,
					   phase == PHASE_DONE_EDITING ? "edited" : "caught up");
			kill_clients(cfg, pids, exited);
			return false;
		}
		listener_poll(cfg, l, 10);
	}
}

/*
 * Forks the clients and waits for them, listening: all done editing (or
 * gone), then all caught up and compared (or gone).  False when they had
 * to be killed (timeout) or could not start; their failures are theirs to
 * report.
 */
static bool
run_clients(const config *cfg, const shared *sh, listener *l, double deadline,
			double *edited_at)
{
	pid_t *pids = calloc((size_t) cfg->clients, sizeof(pid_t));
	bool *exited = calloc((size_t) cfg->clients, sizeof(bool));
	int *status = calloc((size_t) cfg->clients, sizeof(int));
	int go[2] = {-1, -1};
	bool ok = false;
	int i;

	*edited_at = now_seconds();
	if (pids == NULL || exited == NULL || status == NULL || pipe(go) != 0)
	{
		check_fail("cannot start the clients: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < cfg->clients; i++)
	{
		pids[i] = fork();
		if (pids[i] < 0)
		{
			check_fail("fork: %s", strerror(errno));
			close(go[0]);
			close(go[1]);
			kill_clients(cfg, pids, exited);
			goto out;
		}
		if (pids[i] == 0)
		{
			/* the parent's, not the client's */
			close(go[1]);
			free(pids);
			free(exited);
			free(status);
			client_main(cfg, i, sh, go[0]);
		}
	}
	close(go[0]);

	/* everyone done editing, then, told by end of file, caught up */
	if (!wait_clients(cfg, sh, l, pids, exited, status, PHASE_DONE_EDITING,
					  deadline))
	{
		close(go[1]);
		goto out;
	}
	*edited_at = now_seconds();
	close(go[1]);
	if (!wait_clients(cfg, sh, l, pids, exited, status, PHASE_EXITED,
					  deadline))
		goto out;

	for (i = 0; i < cfg->clients; i++)
	{
		if (WIFSIGNALED(status[i]))
			check_fail("client %d died of signal %d", i, WTERMSIG(status[i]));
		else if (WEXITSTATUS(status[i]) != 0 ||
				 sh->reports[i].phase != PHASE_PASSED)
			check_fail("client %d failed (exit status %d; its message is "
					   "above)",
					   i, WEXITSTATUS(status[i]));
	}
	ok = true;

out:
	free(pids);
	free(exited);
	free(status);
	return ok;
}

int
main(int argc, char **argv)
{
	config cfg;
	shared sh;
	int i;
	int d;
	double start = now_seconds();
	double edited_at;
	client_report total;
	char err[512];
	PGconn *conn;
	listener l;
	double waited;
	int64_t missing = 0;

	memset(&cfg, 0, sizeof(cfg));
	parse_args(&cfg, argc, argv);
	printf("stress: %d clients, %d documents, %d edits per client, seed "
		   "%" PRIu64 ", snapshot interval %d, drop rate %.2f, run %s\n",
		   cfg.clients, cfg.docs, cfg.edits, cfg.seed, cfg.snapshot_interval,
		   cfg.drop_rate, cfg.run_id);
	if (!create_documents(&cfg))
		return 1;
	if (!cfg.preloaded)
		printf("  notifications: collab is not preloaded, so every submit "
			   "NOTIFYs directly\n");
	else if (cfg.mix_paths)
		printf("  notifications: every other client of each document "
			   "NOTIFYs directly (collab.notify_worker off), the others "
			   "through the announcer\n");
	else
		printf("  notifications: the clients of %d of the %d documents "
			   "(the last) NOTIFY directly (collab.notify_worker off), the "
			   "others through the announcer\n",
			   cfg.direct_docs, cfg.docs);
	if (!listener_start(&cfg, &l))
		return 1;
	shared_map(&cfg, &sh);
	if (!run_clients(&cfg, &sh, &l, start + cfg.timeout, &edited_at))
		return 1;
	listener_index_senders(&cfg, &l, &sh);
	waited = listener_finish(&cfg, &l);

	memset(&total, 0, sizeof(total));
	for (i = 0; i < cfg.clients; i++)
	{
		const client_report *r = &sh.reports[i];

		total.edits += r->edits;
		total.submits += r->submits;
		total.resubmits += r->resubmits;
		total.dedups += r->dedups;
		total.incoming += r->incoming;
		total.transforms_flight += r->transforms_flight;
		total.transforms_buffer += r->transforms_buffer;
		total.server_transforms += r->server_transforms;
		total.verifies += r->verifies;
	}
	printf("  edits %" PRId64 ", submits %" PRId64 ", resubmits after a "
		   "dropped connection %" PRId64 " (the first had committed: %" PRId64
		   ")\n",
		   total.edits, total.submits, total.resubmits, total.dedups);
	printf("  incoming changes %" PRId64 ", transformed against a change in "
		   "flight %" PRId64 ", against a buffer %" PRId64
		   "; server-side transforms %" PRId64 "; mid-run checks %" PRId64
		   "\n",
		   total.incoming, total.transforms_flight, total.transforms_buffer,
		   total.server_transforms, total.verifies);
	printf("  listener: %" PRId64 " notifications, %" PRId64 " changes of "
		   "the run's documents, %d of %d end markers (%.2f s after the "
		   "clients exited), %" PRId64 " overflow messages (%" PRId64
		   " payloads dropped), %" PRId64 " about other documents\n",
		   l.received, l.changes, l.markers, cfg.docs, waited, l.overflows,
		   l.dropped, l.foreign);

	conn = connect_db(&cfg, "collab-stress checks", false, err, sizeof(err));
	if (conn == NULL)
		check_fail("%s", err);
	for (d = 0; conn != NULL && d < cfg.docs; d++)
	{
		doc_stats st;

		check_document(&cfg, conn, d, &sh, &l, &st);
		printf("  document stress-%s-%d: %" PRId64 " revisions from %d "
			   "clients, %" PRId64 " snapshots and %" PRId64
			   " revisions of content() checked against the replay\n",
			   cfg.run_id, d, st.head, st.clients, st.snapshots,
			   st.content_checks);
		printf("    announced once each: %" PRId64 " revisions (%" PRId64
			   " without the change), %" PRId64 " by the announcer, %" PRId64
			   " directly; never: %" PRId64 "\n",
			   st.announced, st.by_reference, st.via_announcer, st.direct,
			   st.missing);
		missing += st.missing;
	}
	/* tolerated, an overflow still accounts for every payload it lost */
	missing += cfg.docs - l.markers;
	if (cfg.allow_overflow && l.overflows > 0 && missing > l.dropped)
		check_fail("%" PRId64 " revisions and end markers were never "
				   "announced, but the overflow messages account for %" PRId64,
				   missing, l.dropped);
	PQfinish(conn);
	listener_destroy(&cfg, &l);
	munmap(sh.reports, sh.bytes);
	printf("  elapsed %.1f s (editing %.1f s, catching up and checking "
		   "%.1f s)\n",
		   now_seconds() - start, edited_at - start,
		   now_seconds() - edited_at);
	if (failures > 0)
	{
		printf("stress: FAILED (%d failures)\n", failures);
		return 1;
	}
	printf("stress: passed\n");
	return 0;
}
