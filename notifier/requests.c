/*
 * requests.c — client requests, collab's SQL, and the one table from
 * SQLSTATE to protocol error (see requests.h).
 */
#include "requests.h"

#include "auth.h"
#include "fanout.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "plproxy.h"
#include "protocol.h"
#include "quota.h"
#include "stream.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the SQL ---------------------------------------------------------- */

#define SQL_CHANGES \
	"SELECT rev, change::text, client_id, client_seq " \
	"FROM collab.changes($1, $2, $3)"
#define SQL_SNAPSHOT \
	"SELECT h, collab.content($1, h)::text FROM collab.head($1) AS h"
#define SQL_CREATE "SELECT collab.create_document($1, created_by => $2)"
#define SQL_EXISTS "SELECT collab.head($1)"
#define SQL_PRESENCE "SELECT collab.presence($1, $2, $3)"
#define SQL_FETCH \
	"SELECT r, c::text, collab.to_html(c) " \
	"FROM (SELECT coalesce($2::bigint, collab.head($1)) AS r) h, " \
	"LATERAL (SELECT collab.content($1, h.r) AS c) x"

/* --- the one table ------------------------------------------------------ */

/*
 * The one text of not_found, whether the document is missing or outside
 * the connection's rights: the two must not be told apart (docs/auth.md).
 */
#define NOT_FOUND_TEXT "no such document"

/* SQLSTATEs, or their two-character classes, and what they mean. */
static const struct {
	const char *state;
	rq_failure failure;
} failures[] = {
	{"08", RQ_UNAVAILABLE},	   /* connection exception */
	{"53", RQ_UNAVAILABLE},	   /* insufficient resources */
	{"57", RQ_UNAVAILABLE},	   /* shutdown, cancel, statement timeout */
	{"40001", RQ_UNAVAILABLE}, /* serialization failure */
	{"40P01", RQ_UNAVAILABLE}, /* deadlock */
	{"55P03", RQ_UNAVAILABLE}, /* lock timeout */
	{"P0002", RQ_NOT_FOUND},   {"42501", RQ_FORBIDDEN},
	{"22", RQ_INVALID},	   /* data exception: a bad change, revision, id */
	{"54000", RQ_INVALID}, /* too large */
	{"23505", RQ_EXISTS},	   {WIRE_SQLSTATE_DUPLICATE_SEQ, RQ_DUPLICATE},
};

/* Per request: its name in the log, the code for its own bad arguments,
 * and what to do when the database is unavailable. */
static const struct {
	const char *name;
	const char *invalid;
	const char *unavailable;
} kinds[] = {
	[RQ_SUBSCRIBE] = {"subscribe", "bad_message",
					  "the database is unavailable: subscribe again later"},
	[RQ_SUBMIT] = {"submit", "invalid_change",
				   "the database is unavailable: retry"},
	[RQ_PRESENCE] = {"presence", "bad_message", "the database is unavailable"},
	[RQ_FETCH] = {"fetch", "invalid_revision", "the database is unavailable"},
};

rq_failure
rq_failure_of(const pg_error *err)
{
	if (err->unavailable || !err->sqlstate)
		return RQ_UNAVAILABLE;
	for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++)
	{
		if (strncmp(err->sqlstate, failures[i].state,
					strlen(failures[i].state)) == 0)
			return failures[i].failure;
	}
	return RQ_INTERNAL;
}

const char *
rq_error_code(rq_failure failure, rq_kind kind)
{
	switch (failure)
	{
		case RQ_UNAVAILABLE:
			return "unavailable";
		case RQ_NOT_FOUND:
			return "not_found";
		case RQ_FORBIDDEN:
			return "forbidden";
		case RQ_INVALID:
			return kinds[kind].invalid;
		case RQ_DUPLICATE:
			return "duplicate_seq";
		case RQ_EXISTS:
		case RQ_INTERNAL:
			break;
	}
	return "internal";
}

/* A new correlation id: counting from a random start, so that the ids of
 * several instances, and of one after a restart, seldom meet. */
static uint64_t
internal_id(void)
{
	static uint64_t next;

	if (next == 0)
	{
		uint32_t r = 0;

		(void) lws_get_random(fanout_context, &r, sizeof(r));
		next = ((uint64_t) r << 8) + 1;
	}
	return next++;
}

void
rq_internal(conn *c, const char *doc, int64_t seq, const char *id_json,
			const char *fmt, ...)
{
	uint64_t id = internal_id();
	char detail[512], text[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "internal error (id %" PRIu64 ")", id);
	log_msg(LOG_ERROR, "requests: %s: %s", text, detail);
	conn_error(c, "internal", text, doc, seq, id_json);
}

/*
 * What a client is told of a failed query.  Only an invalid request's text
 * is the database's: the words of the extension's checks (or PostgreSQL's
 * data exceptions) about the values the client sent, its own to see.  The
 * others get words of ours: the database's would tell a client about the
 * server (a timeout's statement, a role's name, a table), and an internal
 * failure is told with a correlation id, its details logged.
 */
void
rq_error(conn *c, rq_kind kind, const pg_error *err, const char *doc,
		 int64_t seq, const char *id_json)
{
	rq_failure failure = rq_failure_of(err);
	const char *message = NULL;

	if (kind == RQ_SUBMIT)
		metrics.submit_errors++;
	switch (failure)
	{
		case RQ_UNAVAILABLE:
			message = kinds[kind].unavailable;
			break;
		case RQ_NOT_FOUND:
			message = NOT_FOUND_TEXT;
			break;
		case RQ_FORBIDDEN:
			message = "the notifier may not do this in the database";
			break;
		case RQ_INVALID:
			message = err->message && *err->message
						  ? plproxy_remote_text(err->message)
						  : "invalid request";
			break;
		case RQ_DUPLICATE:
			message = "this client id and seq were used for another change: "
					  "resynchronise and use a new seq";
			break;
		case RQ_EXISTS:
		case RQ_INTERNAL:
			rq_internal(c, doc, seq, id_json, "a %s of %s failed: %s (%s)",
						kinds[kind].name, doc ? doc : "(no document)",
						err->message ? err->message : "",
						err->sqlstate ? err->sqlstate : "no SQLSTATE");
			return;
	}
	conn_error(c, rq_error_code(failure, kind), message, doc, seq, id_json);
}

/* --- query contexts ----------------------------------------------------- */

rq_ctx *
rq_ctx_new(conn *c, doc *d, unsigned gen)
{
	rq_ctx *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->c = c ? conn_ref(c) : NULL;
	if (c)
		c->pending++;
	q->d = doc_ref(d);
	q->gen = gen;
	q->seq = -1;
	return q;
}

void
rq_ctx_free(rq_ctx *q)
{
	if (q->c)
	{
		q->c->pending--;
		conn_unref(q->c);
	}
	doc_unref(q->d);
	free(q->id_json);
	free(q);
}

/* --- queries the streams share ------------------------------------------ */

static char *
xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool
rq_changes(const void *owner, const char *doc, int64_t since, int64_t until,
		   pg_done_fn done, void *ctx)
{
	char since_text[24], until_text[24];
	const char *params[3] = {doc, since_text, NULL};

	snprintf(since_text, sizeof(since_text), "%" PRId64, since);
	if (until != REV_UNBOUNDED)
	{
		snprintf(until_text, sizeof(until_text), "%" PRId64, until);
		params[2] = until_text;
	}
	return pg_query_for(owner, SQL_CHANGES, 3, params, done, ctx);
}

bool
rq_change_entry(const char *doc, const PGresult *res, int row, entry *e)
{
	const char *client =
		PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2);

	e->rev = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	e->seq = PQgetisnull(res, row, 3)
				 ? -1
				 : strtoll(PQgetvalue(res, row, 3), NULL, 10);
	e->client = xstrdup(client);
	e->m = proto_change(doc, e->rev, PQgetvalue(res, row, 1), client, e->seq);
	if (!e->m || (client && !e->client))
	{
		entry_clear(e);
		return false;
	}
	return true;
}

bool
rq_snapshot(const char *doc, pg_done_fn done, void *ctx)
{
	const char *params[1] = {doc};

	return pg_query(SQL_SNAPSHOT, 1, params, done, ctx);
}

int64_t
rq_snapshot_rev(const PGresult *res)
{
	return strtoll(PQgetvalue(res, 0, 0), NULL, 10);
}

msg *
rq_snapshot_msg(const char *doc, const PGresult *res)
{
	return proto_snapshot(doc, rq_snapshot_rev(res), PQgetvalue(res, 0, 1));
}

void
rq_presence_clear(const char *doc, const char *client)
{
	const char *params[3] = {doc, client, "{}"};

	/* best effort: nobody waits for it */
	(void) pg_query(SQL_PRESENCE, 3, params, NULL, NULL);
}

/* --- subscribe ---------------------------------------------------------- */

/*
 * The creation quota's key for C: its user's, shared by all the user's
 * connections, or (no keys configured) its address's.
 */
static void
creator_of(const conn *c, char *out, size_t size)
{
	if (c->authed)
		snprintf(out, size, "user %s", c->claims.sub);
	else
		snprintf(out, size, "address %s", c->addr);
}

static void
create_done(void *ctx, const PGresult *res, const pg_error *err)
{
	rq_ctx *q = ctx;
	sub *s = sub_of(q->c, q->d, q->gen, true);

	(void) res;
	if (err && q->creates)
	{
		/* nothing was created (it existed, or failed): no creation used */
		char who[JWT_SUB_MAX + QUOTA_ADDR_MAX + 16];

		creator_of(q->c, who, sizeof(who));
		quota_create_refund(who);
	}
	if (!s || s->state != SUB_STARTING)
	{
		rq_ctx_free(q);
		return;
	}
	/* an existing document is fine: create means "if missing" */
	if (err && rq_failure_of(err) != RQ_EXISTS)
		sub_failed(s, err);
	else
		sub_start(s, q->since);
	rq_ctx_free(q);
}

/*
 * A subscribe's create asked first whether the document exists (clients
 * subscribe with create every time, so it mostly does): then it is a plain
 * subscribe.  If it is missing, it is created, within the creation quota,
 * or the subscribe is refused.  Asking first, not creating and reading
 * "exists" from the error, keeps the common case free of errors, which
 * matters through a PL/Proxy proxy: it drops its connection to a
 * partition after any error there (docs/scale-out.md).
 */
static void
create_check_done(void *ctx, const PGresult *res, const pg_error *err)
{
	rq_ctx *q = ctx;
	sub *s = sub_of(q->c, q->d, q->gen, true);
	char who[JWT_SUB_MAX + QUOTA_ADDR_MAX + 16], text[96];
	const char *params[2];
	pg_error lost = {.unavailable = true};

	(void) res;
	if (!s || s->state != SUB_STARTING)
		;
	else if (!err)
		sub_start(s, q->since);
	else if (rq_failure_of(err) != RQ_NOT_FOUND)
		sub_failed(s, err);
	else
	{
		creator_of(q->c, who, sizeof(who));
		if (quota_create_take(who))
		{
			params[0] = q->d->id;
			/* the creator: the token's sub */
			params[1] = q->c->authed ? q->c->claims.sub : NULL;
			q->creates = true;
			if (pg_query_for(q->c, SQL_CREATE, 2, params, create_done, q))
				return; /* create_done has q now */
			quota_create_refund(who);
			sub_failed(s, &lost);
		}
		else
		{
			metrics.creates_limited++;
			snprintf(text, sizeof(text),
					 "too many documents created: at most %d a minute",
					 fanout_cfg->creates_per_minute);
			conn_error(s->c, "rate_limited", text, q->d->id, -1, NULL);
			sub_remove(s, true);
		}
	}
	rq_ctx_free(q);
}

static void
handle_subscribe(conn *c, const request *req)
{
	sub *s = sub_find(c, req->doc);
	const char *params[1] = {req->doc};
	rq_ctx *q;

	if (!s && c->nsubs >= fanout_cfg->max_docs)
	{
		conn_error(c, "too_many", "too many documents subscribed", req->doc,
				   -1, NULL);
		return;
	}
	s = sub_open(c, req->doc);
	if (!s)
	{
		rq_internal(c, req->doc, -1, NULL, "out of memory");
		return;
	}
	if (!req->create)
	{
		sub_start(s, req->has_rev ? req->rev : -1);
		return;
	}
	q = rq_ctx_new(c, s->d, s->gen);
	if (!q)
	{
		rq_internal(c, req->doc, -1, NULL, "out of memory");
		sub_remove(s, true);
		return;
	}
	q->since = req->has_rev ? req->rev : -1;
	if (!pg_query_for(c, SQL_EXISTS, 1, params, create_check_done, q))
	{
		pg_error lost = {.unavailable = true};

		rq_ctx_free(q);
		sub_failed(s, &lost);
	}
}

/* --- submit ------------------------------------------------------------- */

static void
submit_done(void *ctx, int64_t rev, const char *change, const pg_error *err)
{
	rq_ctx *q = ctx;
	sub *s = sub_of(q->c, q->d, q->gen, false);
	doc *d = q->d;
	entry e;

	if (!s || !sub_pending(s, q->seq))
	{
		/* acknowledged through the stream already, or no one to tell */
		rq_ctx_free(q);
		return;
	}
	if (err)
	{
		sub_pend_remove(s, q->seq);
		rq_error(s->c, RQ_SUBMIT, err, d->id, q->seq, NULL);
		rq_ctx_free(q);
		return;
	}
	e.rev = rev;
	if (s->state == SUB_LIVE && e.rev <= s->rev)
	{
		/*
		 * A resubmit of a change committed before: the client has it
		 * already, in its snapshot or as a change it resumed.  The ack
		 * says so; a client that took the change as its ack ignores an
		 * ack for a seq no longer in flight.
		 */
		sub_pend_remove(s, q->seq);
		metrics.acks++;
		conn_send(s->c, proto_ack(d->id, e.rev, q->seq));
		rq_ctx_free(q);
		return;
	}
	e.seq = q->seq;
	e.client = xstrdup(s->c->client);
	e.m = proto_change(d->id, e.rev, change, s->c->client, q->seq);
	if (!e.m || !e.client)
		entry_clear(&e); /* the notification or a fetch brings it */
	else
		doc_offer(d, &e);
	rq_ctx_free(q);
}

static void
handle_submit(conn *c, const request *req)
{
	sub *s = sub_find(c, req->doc);
	char rev[24], seq[24];
	const char *params[6];
	char *change;
	rq_ctx *q;

	if (!s)
	{
		conn_error(c, "not_subscribed", "subscribe to the document first",
				   req->doc, req->seq, NULL);
		return;
	}
	if (c->inflight >= fanout_cfg->max_inflight)
	{
		conn_error(c, "too_many", "too many submits in flight", req->doc,
				   req->seq, NULL);
		return;
	}
	if (sub_pending(s, req->seq))
		return; /* the same submit again: one answer is coming */
	change = json_dumps(req->change, JSON_COMPACT);
	q = change ? rq_ctx_new(c, s->d, s->gen) : NULL;
	if (!q || !sub_pend_add(s, req->seq))
	{
		free(change);
		if (q)
			rq_ctx_free(q);
		rq_internal(c, req->doc, req->seq, NULL, "out of memory");
		return;
	}
	q->seq = req->seq;
	snprintf(rev, sizeof(rev), "%" PRId64, req->rev);
	snprintf(seq, sizeof(seq), "%" PRId64, req->seq);
	params[0] = req->doc;
	params[1] = rev;
	params[2] = change;
	params[3] = c->client;
	params[4] = seq;
	/* the author: the token's sub */
	params[5] = c->authed ? c->claims.sub : NULL;
	if (!pg_submit_for(c, params, submit_done, q))
	{
		pg_error err = {.unavailable = true};

		sub_pend_remove(s, req->seq);
		rq_ctx_free(q);
		rq_error(c, RQ_SUBMIT, &err, req->doc, req->seq, NULL);
	}
	else
		metrics.submits++;
	free(change);
}

/* --- presence ----------------------------------------------------------- */

#define PRESENCE_GAP_US (100 * LWS_US_PER_MS) /* at most 10 a second */

static void
presence_done(void *ctx, const PGresult *res, const pg_error *err)
{
	rq_ctx *q = ctx;

	(void) res;
	if (err && q->c && q->c->wsi)
		rq_error(q->c, RQ_PRESENCE, err, q->d->id, -1, NULL);
	rq_ctx_free(q);
}

/* Sends STATE (JSON) as S's presence now. */
static void
presence_send(conn *c, sub *s, const char *state)
{
	const char *params[3] = {s->d->id, c->client, state};
	rq_ctx *q = rq_ctx_new(c, s->d, s->gen);

	c->presence_at = lws_now_usecs() + PRESENCE_GAP_US;
	if (!q)
	{
		rq_internal(c, s->d->id, -1, NULL, "out of memory");
		return;
	}
	if (!pg_query_for(c, SQL_PRESENCE, 3, params, presence_done, q))
	{
		pg_error err = {.unavailable = true};

		rq_ctx_free(q);
		rq_error(c, RQ_PRESENCE, &err, s->d->id, -1, NULL);
	}
	else
		s->presence = strcmp(state, "{}") != 0;
}

/* The connection's turn for a presence: one waiting one goes. */
static void
presence_due(lws_sorted_usec_list_t *sul)
{
	conn *c = lws_container_of(sul, conn, presence_sul);
	sub *s = c->subs;

	while (s && !s->presence_wait)
		s = s->cnext;
	if (!s || !conn_live(c))
		return;
	{
		char *state = s->presence_wait;

		s->presence_wait = NULL;
		presence_send(c, s, state);
		free(state);
	}
	for (s = c->subs; s; s = s->cnext)
	{
		if (s->presence_wait)
		{
			lws_sul_schedule(fanout_context, 0, &c->presence_sul, presence_due,
							 PRESENCE_GAP_US);
			break;
		}
	}
}

/*
 * Presence is coalesced: a connection sends at most one every
 * PRESENCE_GAP_US, and of the states a document got meanwhile only the
 * latest goes (every presence is a query and a NOTIFY to every instance;
 * a flood of them would overflow the announcer's ring).
 */
static void
handle_presence(conn *c, const request *req)
{
	sub *s = sub_find(c, req->doc);
	char *state;
	lws_usec_t now = lws_now_usecs();

	if (!s)
	{
		conn_error(c, "not_subscribed", "subscribe to the document first",
				   req->doc, -1, NULL);
		return;
	}
	state = json_dumps(req->state, JSON_COMPACT);
	if (!state)
	{
		rq_internal(c, req->doc, -1, NULL, "out of memory");
		return;
	}
	if (now >= c->presence_at && lws_dll2_is_detached(&c->presence_sul.list))
	{
		presence_send(c, s, state);
		free(state);
		return;
	}
	metrics.presence_coalesced += s->presence_wait != NULL;
	free(s->presence_wait);
	s->presence_wait = state;
	if (lws_dll2_is_detached(&c->presence_sul.list))
		lws_sul_schedule(fanout_context, 0, &c->presence_sul, presence_due,
						 c->presence_at > now ? c->presence_at - now : 0);
}

/* --- fetch -------------------------------------------------------------- */

bool
rq_fetch(const void *owner, const char *doc, bool has_rev, int64_t rev,
		 pg_done_fn done, void *ctx)
{
	char rev_text[24];
	const char *params[2] = {doc, NULL};

	if (has_rev)
	{
		snprintf(rev_text, sizeof(rev_text), "%" PRId64, rev);
		params[1] = rev_text;
	}
	return pg_query_for(owner, SQL_FETCH, 2, params, done, ctx);
}

msg *
rq_content_msg(const char *doc, const PGresult *res, const char *id_json)
{
	return proto_content(doc, strtoll(PQgetvalue(res, 0, 0), NULL, 10),
						 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
						 id_json);
}

/* A revision's content and HTML; needs no subscription.  Shared with the
 * other fetches of the same revision (fetch.c). */
static void
handle_fetch(conn *c, const request *req)
{
	doc *d = doc_get(req->doc); /* referenced by the query alone, maybe */
	char *id_json =
		req->id ? json_dumps(req->id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	if (!d || (req->id && !id_json))
	{
		if (d && d->refs == 0)
			doc_unref(doc_ref(d)); /* leaves the table */
		rq_internal(c, req->doc, -1, NULL, "out of memory");
	}
	else
		fetch_request(c, d, req->has_rev, req->rev, id_json);
	free(id_json);
}

/* --- dispatch ----------------------------------------------------------- */

/*
 * Whether C's rights cover REQ; if not, tells C.  A document outside them
 * is not_found, as a missing one is; a readable one a reader may not write
 * is forbidden.  A subscribe's create needs the right to create, else it
 * is a plain subscribe.
 */
static bool
allowed(conn *c, request *req)
{
	jwt_right right, need;

	switch (req->type)
	{
		case REQ_SUBSCRIBE:
		case REQ_FETCH:
			need = JWT_READ;
			break;
		case REQ_SUBMIT:
		case REQ_PRESENCE:
			need = JWT_WRITE;
			break;
		default:
			return true;
	}
	right = auth_right(c, req->doc);
	if (right >= need)
	{
		if (req->type == REQ_SUBSCRIBE && right < JWT_CREATE)
			req->create = false;
		return true;
	}
	conn_error(c, right == JWT_NONE ? "not_found" : "forbidden",
			   right == JWT_NONE
				   ? NOT_FOUND_TEXT
				   : "read-only: the token grants no writes here",
			   req->doc, req->type == REQ_SUBMIT ? req->seq : -1, NULL);
	return false;
}

void
requests_message(conn *c, const char *text, size_t len)
{
	request req;
	char errbuf[160];

	if (!conn_live(c))
		return;
	metrics.messages_in++;
	switch (conn_rate_take(c, len))
	{
		case CONN_RATE_OK:
			break;
		case CONN_RATE_MESSAGES:
			metrics.rate_limited++;
			conn_error(c, "rate_limited", "too many messages: slow down", NULL,
					   -1, NULL);
			return;
		case CONN_RATE_BYTES:
			metrics.byte_rate_limited++;
			conn_error(c, "rate_limited", "too many bytes: slow down", NULL,
					   -1, NULL);
			return;
	}
	if (proto_parse(text, len, &req, errbuf, sizeof(errbuf)) != 0)
	{
		conn_error(c, "bad_message", errbuf, req.doc,
				   req.type == REQ_SUBMIT && req.seq > 0 ? req.seq : -1, NULL);
		proto_request_free(&req);
		return;
	}
	if (req.type == REQ_AUTH)
	{
		auth_token(c, req.token, req.token_len);
		proto_request_free(&req);
		return;
	}
	if (auth_enabled() && !c->authed)
	{
		conn_error(c, "unauthorized",
				   "authenticate first: {\"type\":\"auth\",\"token\":...}",
				   req.doc, -1, NULL);
		conn_close(c, AUTH_CLOSE_UNAUTHENTICATED, "unauthenticated");
		proto_request_free(&req);
		return;
	}
	if (req.client)
	{
		char id[WIRE_ID_BYTES_MAX + 1];
		const char *why = NULL;

		if (!auth_client_id(c, req.client, id, sizeof(id), &why) ||
			(c->client_fixed && strcmp(id, c->client) != 0))
		{
			conn_error(
				c, "bad_message",
				why ? why : "a connection keeps the first client id it states",
				req.doc, req.type == REQ_SUBMIT ? req.seq : -1, NULL);
			proto_request_free(&req);
			return;
		}
		if (!conn_set_client(c, id))
		{
			conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					   "out of memory");
			proto_request_free(&req);
			return;
		}
		c->client_fixed = true;
	}
	else if (req.type == REQ_SUBMIT || req.type == REQ_PRESENCE)
		c->client_fixed = true; /* the id in use from now on */
	if (fanout_stopping() && req.type == REQ_SUBMIT)
		conn_error(c, "unavailable", "the notifier is shutting down: retry",
				   req.doc, req.seq, NULL);
	else if (!allowed(c, &req))
		;
	else if (req.type != REQ_UNSUBSCRIBE &&
			 c->pending >= fanout_cfg->max_pending)
	{
		metrics.too_many_pending++;
		conn_error(c, "too_many",
				   "too many requests waiting for the database: wait for "
				   "answers",
				   req.doc, req.type == REQ_SUBMIT ? req.seq : -1, NULL);
	}
	else
	{
		switch (req.type)
		{
			case REQ_SUBSCRIBE:
				handle_subscribe(c, &req);
				break;
			case REQ_UNSUBSCRIBE:
			{
				sub *s = sub_find(c, req.doc);

				if (s)
					sub_remove(s, true);
				break;
			}
			case REQ_SUBMIT:
				handle_submit(c, &req);
				break;
			case REQ_PRESENCE:
				handle_presence(c, &req);
				break;
			case REQ_FETCH:
				handle_fetch(c, &req);
				break;
			case REQ_AUTH: /* above */
				break;
		}
	}
	proto_request_free(&req);
}
