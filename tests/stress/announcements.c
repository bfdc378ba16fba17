/*
 * announcements.c — what the stress test proves about notifications on
 * channel collab, through both paths: the announcer (a background worker
 * that NOTIFYs after commit, collab.notify_worker on) and a submit's own
 * NOTIFY (notify_worker off).
 *
 * The parent LISTENs before the clients start and keeps taking
 * notifications while they run (listener_poll).  When every client has
 * exited, it sends an end marker per document (a presence through the
 * announcer): the marker's transaction reserves its ring entry after every
 * change has committed, and the announcer sends in ring order, so once the
 * markers are in, everything is.  Then, per document: revisions 1..head
 * each announced once, in increasing order; client and seq are the log's;
 * the change, when the payload carries it, equals the log's, and is left
 * out only when it would not fit in a payload; each came by its client's
 * path (the sender's pid: the client's own backend, or not); nothing else
 * about the run's documents; no overflow message (unless --allow-overflow,
 * which then tolerates as many missing revisions as the overflow messages
 * say were dropped, but not disorder).
 *
 * Why paths are never mixed on one document: a submit through the
 * announcer is announced after its commit, by the worker; the next submit
 * to the document, once past the document id lock (an advisory
 * transaction lock, class 0xC011, that serialises a document's writers),
 * may be a direct one whose NOTIFY is queued at its own pre-commit, before
 * the worker's.  So revision order holds only within a path; --mix-paths
 * shows it (see stress.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

/* --- the listener -------------------------------------------------------- */

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
bool
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
void
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
double
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
void
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

void
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
void
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
