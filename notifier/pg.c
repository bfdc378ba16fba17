/*
 * pg.c — asynchronous libpq inside the lws event loop (see pg.h).
 *
 * Connection states: DOWN (waiting for its retry timer), CONNECTING
 * (PQconnectPoll driven by socket readiness), READY (idle), BUSY (one query
 * in flight; for the LISTEN connection, the LISTEN itself).  The socket lws
 * polls is a dup of libpq's, adopted again whenever libpq's socket changes
 * (a connection attempt may try several addresses); lws closes the dup when
 * the adopted wsi dies, libpq closes its own in PQfinish.
 *
 * conns[0 .. nlisten) listen, one per target of listen_dsns (or one on the
 * pool's dsn when none are given); conns[nlisten ..] are the pool.  Each
 * connection reaches its target: a connection string and its host lists.
 * A listener lost is that target's alone: the pool and the other listeners
 * go on, and its documents catch up when it is back (events.listening).
 */
#include "pg.h"

#include "log.h"
#include "metrics.h"
#include "plproxy.h"
#include "wire.h"

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG_QUEUE_MAX 100000
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 10000
#define PG_CHANNEL "collab"

/* One submit, and many (docs/speed.md): the columns each answer has. */
#define SQL_SUBMIT \
	"SELECT rev, change::text FROM collab.submit($1, $2, $3, $4, $5, $6)"
/*
 * A lone submit, the one an idle system's every keystroke makes, goes as a
 * statement each pool connection prepares once it is set up (parsed and
 * planned once, not at every submit: 0.15 ms of 0.86 measured over TLS,
 * docs/speed.md "Latency").  Prepared with the protocol's Parse, not SQL's
 * PREPARE, so that a pooler that tracks prepared statements (PgBouncer
 * 1.21's max_prepared_statements) can carry it.  A plan the server
 * invalidates (the extension updated, or dropped and made again) is
 * planned again by the server; the columns asked for stay SQL_SUBMIT's.
 */
#define SUBMIT_STATEMENT "collab_submit"
#define SQL_SUBMIT_BATCH \
	"SELECT ord, rev, change::text, sqlstate, message FROM " \
	"collab.submit_batch($1, $2, $3, $4, $5, $6)"
/* A batch stops growing past this many bytes of parameters (a few large
 * changes are a statement of their own size already). */
#define PG_BATCH_BYTES_MAX (4 * 1024 * 1024)

typedef struct pg_req {
	struct pg_req *next;
	char *sql;
	int nparams;
	char **values;
	pg_done_fn done;
	void *ctx;
	lws_usec_t deadline_us;	 /* answered by then, or failed (0: never) */
	const void *owner;		 /* on whose behalf (pg_drop_owned), or NULL */
	pg_submit_fn submitted;	 /* a submit's callback (then done is NULL) */
	struct pg_req **members; /* a batch: the submits it carries */
	int nmembers;
	const char *prepare_as; /* prepare sql under this name, not run it */
	bool alone;				/* a submit that goes in a statement of its own */
	bool dropped;			/* its owner went while it ran in a batch */
} pg_req;

typedef enum pgc_state {
	PGC_DOWN,
	PGC_CONNECTING,
	PGC_READY,
	PGC_BUSY,
} pgc_state;

typedef struct pgconn {
	lws_sorted_usec_list_t retry;			 /* reconnect timer */
	lws_sorted_usec_list_t want_write;		 /* see pgc_want_write */
	lws_sorted_usec_list_t connect_deadline; /* an attempt's end */
	lws_sorted_usec_list_t query_deadline;	 /* the request's end */
	lws_sorted_usec_list_t heartbeat;		 /* the next probe, when idle */
	const char *name; /* "listen", "listen collab_p2" or "pool" */
	int index;
	struct pg_target *target; /* what it connects to */
	PGconn *conn;
	struct lws *wsi; /* the adopted dup of libpq's socket */
	int fd;			 /* libpq's socket that wsi polls a dup of */
	pgc_state state;
	bool is_listen;
	bool listening;		/* LISTEN in place */
	pg_req *req;		/* in flight */
	lws_usec_t sent_at; /* when req was sent */
	PGresult *result;	/* the result kept for req (first error wins) */
	int backoff_ms;
	bool was_up;		  /* for logging a reconnect */
	int host_first;		  /* the host list's entry tried first (see hosts) */
	bool submit_prepared; /* SUBMIT_STATEMENT exists on this session */
} pgconn;

/*
 * A multi-host connection string (host=a,b target_session_attrs=...):
 * libpq tries the hosts in order within one attempt, and moves on by
 * itself from one that refuses or is read-only, but not from one that
 * never answers (a machine gone, a partition), since PQconnectPoll has no
 * timeout.  So an attempt that times out starts the next one from the
 * following host: the lists below, rotated per connection.
 */
typedef struct host_lists {
	int n;			/* entries; 0 or 1: nothing to rotate */
	char *host;		/* the connection string's lists, or NULL */
	char *hostaddr; /* (port may have one entry for every host) */
	char *port;
} host_lists;

/* A database the connections reach: the pool's, or one to LISTEN on. */
typedef struct pg_target {
	const char *dsn;
	host_lists hosts;
	char name[64];		/* a partition's name: its dbname (PL/Proxy's) */
	char conn_name[80]; /* its listener's name in the log */
} pg_target;

/* Most --listen-dsn: one per partition. */
#define PG_LISTEN_MAX 64

static struct {
	struct lws_context *context;
	struct lws_vhost *vhost;
	pg_settings settings;
	pg_events events;
	pgconn *conns; /* [0, nlisten) listen, [nlisten, nconns) the pool */
	int nconns;
	int nlisten;
	pg_target pool_target;	   /* the pool's (and the listener's, alone) */
	pg_target *listen_targets; /* one per listen_dsns entry, or NULL */
	pg_req *head, *tail;	   /* waiting for a connection */
	int queued;
	int running;
	bool stopping;
	lws_sorted_usec_list_t dispatch; /* runs pgc_dispatch from the loop */
	lws_sorted_usec_list_t queue_deadline; /* the queue's head's deadline */
	bool no_batches; /* the database has no collab.submit_batch */
} pg;

static void pgc_connect(pgconn *c);
static void pgc_dispatch(void);
static void pgc_idle(pgconn *c);
static void queue_deadline_cb(lws_sorted_usec_list_t *sul);
static void dispatch_cb(lws_sorted_usec_list_t *sul);
static void queue_arm(void);
static bool doc_running(const char *doc);
static void probe_done(void *ctx, const PGresult *res, const pg_error *err);

static void
req_free(pg_req *r)
{
	for (int i = 0; i < r->nparams; i++)
		free(r->values[i]);
	free(r->values);
	free(r->sql);
	free(r->members); /* each finished and freed already */
	free(r);
}

static void req_finish(pg_req *r, const PGresult *res, const pg_error *err);

/* A submit's answer, from its own statement's RES (rev, change). */
static void
submit_finish(pg_req *r, const PGresult *res, const pg_error *err)
{
	pg_error none = {.sqlstate = "XX000",
					 .message = "collab.submit returned no row"};

	if (!err && PQntuples(res) != 1)
		err = &none;
	if (err)
		r->submitted(r->ctx, 0, NULL, err);
	else
		r->submitted(r->ctx, strtoll(PQgetvalue(res, 0, 0), NULL, 10),
					 PQgetvalue(res, 0, 1), NULL);
}

/* Takes *LINK's request out of the queue (PREV: the one before it, or
 * NULL) and returns it. */
static pg_req *
queue_unlink(pg_req **link, pg_req *prev)
{
	pg_req *r = *link;

	*link = r->next;
	if (pg.tail == r)
		pg.tail = prev;
	pg.queued--;
	r->next = NULL;
	return r;
}

/* Puts R first in the queue again (its deadline is the earliest). */
static void
queue_push_front(pg_req *r)
{
	r->next = pg.head;
	pg.head = r;
	if (!pg.tail)
		pg.tail = r;
	pg.queued++;
}

/*
 * A batch's answer: a row per submit (ord from 1), each a result or an
 * error of its own.  A submit whose document another transaction held (an
 * application's, possibly for seconds: 55P03 after collab.batch_lock_timeout)
 * goes again, alone, first in the queue, so that it waits as long as a
 * single submit may without holding a batch back; unless its owner went
 * meanwhile.  An error of the whole statement is every submit's: none
 * of them committed, or (unavailable) none is known to have; the clients'
 * resubmits are deduplicated either way.  A database without
 * collab.submit_batch (an extension older than 0.4.0) gets its submits one
 * by one from now on, these first.
 *
 * Through a proxy, a batch over a partition that cannot be reached fails
 * as a whole, though the other partitions' parts may have committed
 * (docs/scale-out.md): its submits go again, each alone, first in the
 * queue, so that only the lost partition's documents fail (unavailable)
 * and the others' are answered (those that committed return their first
 * result: a resubmit of the same client and seq).  Alone, a submit is
 * never batched again.
 */
static void
batch_finish(pg_req *b, const PGresult *res, const pg_error *err)
{
	pg_error missing = {.sqlstate = "XX000",
						.message = "collab.submit_batch left a submit out"};

	if (err && !err->unavailable && err->sqlstate &&
		strcmp(err->sqlstate, "42883") == 0)
	{
		log_msg(LOG_WARN, "pg: the database has no collab.submit_batch "
						  "(collab older than 0.4.0): submits go one by one");
		pg.no_batches = true;
		for (int i = b->nmembers - 1; i >= 0; i--)
			queue_push_front(b->members[i]);
		b->nmembers = 0;
		queue_arm();
		lws_sul_schedule(pg.context, 0, &pg.dispatch, dispatch_cb, 0);
		return;
	}
	if (err && err->partition && !pg.stopping)
	{
		log_msg(LOG_INFO,
				"pg: a batch of %d submits failed on a partition (%s): each "
				"goes again alone",
				b->nmembers, err->message);
		for (int i = b->nmembers - 1; i >= 0; i--)
		{
			pg_req *m = b->members[i];

			b->members[i] = NULL;
			if (m->dropped)
				req_finish(m, NULL, err);
			else
			{
				m->alone = true;
				queue_push_front(m);
			}
		}
		queue_arm();
		lws_sul_schedule(pg.context, 0, &pg.dispatch, dispatch_cb, 0);
		return;
	}
	if (!err)
	{
		pg_req *again[WIRE_SUBMIT_BATCH_MAX]; /* to send again, alone */
		int nagain = 0;

		for (int row = 0; row < PQntuples(res); row++)
		{
			long ord = strtol(PQgetvalue(res, row, 0), NULL, 10);
			pg_req *m;

			if (ord < 1 || ord > b->nmembers || !b->members[ord - 1])
				continue;
			m = b->members[ord - 1];
			b->members[ord - 1] = NULL;
			if (PQgetisnull(res, row, 3))
				m->submitted(m->ctx,
							 strtoll(PQgetvalue(res, row, 1), NULL, 10),
							 PQgetvalue(res, row, 2), NULL);
			else if (strcmp(PQgetvalue(res, row, 3), "55P03") == 0 &&
					 !m->dropped && !pg.stopping)
			{
				m->alone = true;
				again[nagain++] = m;
				continue;
			}
			else
			{
				pg_error e = {.sqlstate = PQgetvalue(res, row, 3),
							  .message = PQgetvalue(res, row, 4)};

				m->submitted(m->ctx, 0, NULL, &e);
			}
			req_free(m);
		}
		err = &missing; /* for any the rows left out */
		if (nagain)
		{
			for (int i = nagain - 1; i >= 0; i--)
				queue_push_front(again[i]);
			queue_arm();
			lws_sul_schedule(pg.context, 0, &pg.dispatch, dispatch_cb, 0);
		}
	}
	for (int i = 0; i < b->nmembers; i++)
	{
		if (b->members[i])
			req_finish(b->members[i], NULL, err);
		b->members[i] = NULL;
	}
}

/* Runs R's callback with RES or ERR, then frees R. */
static void
req_finish(pg_req *r, const PGresult *res, const pg_error *err)
{
	if (r->members)
		batch_finish(r, res, err);
	else if (r->submitted)
		submit_finish(r, res, err);
	else if (r->done)
		r->done(r->ctx, res, err);
	req_free(r);
}

static void
req_fail_unavailable(pg_req *r, const char *why)
{
	pg_error err = {.unavailable = true, .sqlstate = NULL, .message = why};

	req_finish(r, NULL, &err);
}

/* Fails every query waiting for a connection. */
static void
fail_queue(const char *why)
{
	while (pg.head)
	{
		pg_req *q = pg.head;

		pg.head = q->next;
		pg.queued--;
		req_fail_unavailable(q, why);
	}
	pg.tail = NULL;
}

static pgconn *
conn_of_wsi(struct lws *wsi)
{
	for (int i = 0; i < pg.nconns; i++)
	{
		if (pg.conns[i].wsi == wsi)
			return &pg.conns[i];
	}
	return NULL;
}

/* Lets go of the adopted socket (lws closes the dup). */
static void
pgc_detach(pgconn *c)
{
	if (c->wsi)
	{
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
						LWS_TO_KILL_ASYNC);
		c->wsi = NULL;
	}
	c->fd = -1;
}

/* Makes the loop poll libpq's current socket; false if it cannot. */
static bool
pgc_adopt(pgconn *c)
{
	int fd = PQsocket(c->conn);
	lws_sock_file_fd_type u;

	if (fd < 0)
		return false;
	if (c->wsi && fd == c->fd)
		return true;
	pgc_detach(c);
	u.filefd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (u.filefd < 0)
		return false;
	c->wsi = lws_adopt_descriptor_vhost(pg.vhost, LWS_ADOPT_RAW_FILE_DESC, u,
										"collab-pg", NULL);
	if (!c->wsi)
	{
		close(u.filefd);
		return false;
	}
	c->fd = fd;
	return true;
}

static void
want_write_cb(lws_sorted_usec_list_t *sul)
{
	pgconn *c = lws_container_of(sul, pgconn, want_write);

	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

/*
 * Asks for a writable callback on C's socket, from the loop's next turn
 * rather than at once: libwebsockets 4.1 clears POLLOUT after a raw file's
 * writable callback returns, so a request made inside that callback (libpq
 * wanting to write again: a TCP connect that has just completed and must
 * now send its startup packet, a statement larger than the socket buffer)
 * would be lost and the connection would stall for good.
 */
static void
pgc_want_write(pgconn *c)
{
	lws_sul_schedule(pg.context, 0, &c->want_write, want_write_cb, 0);
}

static void
retry_cb(lws_sorted_usec_list_t *sul)
{
	pgconn *c = lws_container_of(sul, pgconn, retry);

	if (!pg.stopping && c->state == PGC_DOWN)
		pgc_connect(c);
}

/* Whether any pool connection is connected or trying to. */
static bool
pool_alive(void)
{
	for (int i = pg.nlisten; i < pg.nconns; i++)
	{
		if (pg.conns[i].state != PGC_DOWN)
			return true;
	}
	return false;
}

/* The connection is gone: fail its query, schedule a reconnect. */
static void
pgc_lost(pgconn *c, const char *why)
{
	pg_req *r = c->req;

	if (!pg.stopping)
		log_msg(LOG_WARN, "pg: %s connection %d lost: %s", c->name, c->index,
				why);
	metrics.db_connections_lost++;
	pgc_detach(c);
	lws_sul_cancel(&c->want_write);
	lws_sul_cancel(&c->connect_deadline);
	lws_sul_cancel(&c->query_deadline);
	lws_sul_cancel(&c->heartbeat);
	if (c->conn)
		PQfinish(c->conn);
	c->conn = NULL;
	c->state = PGC_DOWN;
	c->listening = false;
	c->submit_prepared = false;
	c->req = NULL;
	if (c->result)
		PQclear(c->result);
	c->result = NULL;
	if (r)
	{
		pg.running--;
		req_fail_unavailable(r, why);
	}
	if (!c->is_listen && !pool_alive())
		fail_queue("the database is unreachable"); /* nobody left to run it */
	if (pg.stopping)
		return;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : PG_BACKOFF_MIN_MS;
	if (c->backoff_ms > PG_BACKOFF_MAX_MS)
		c->backoff_ms = PG_BACKOFF_MAX_MS;
	{
		/* full jitter over the upper half, so instances do not march */
		int delay = c->backoff_ms / 2 + rand() % (c->backoff_ms / 2 + 1);

		lws_sul_schedule(pg.context, 0, &c->retry, retry_cb,
						 (lws_usec_t) delay * LWS_US_PER_MS);
	}
}

/* pgc_lost with "WHAT: MESSAGE" as the reason. */
static void
pgc_lost_because(pgconn *c, const char *what, const char *message)
{
	char why[320];

	snprintf(why, sizeof(why), "%s: %s", what, message);
	pgc_lost(c, why);
}

static const char *
conn_error(pgconn *c)
{
	const char *e = c->conn ? PQerrorMessage(c->conn) : "out of memory";
	static char buf[256];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", e && *e ? e : "unknown error");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (char *p = buf; *p; p++)
	{
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	}
	return buf;
}

/* Server notices (and libpq's own) go to the log, one line each. */
static void
notice_cb(void *arg, const PGresult *res)
{
	pgconn *c = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	log_msg(LOG_INFO, "pg: %s connection %d: %s: %s", c->name, c->index,
			severity ? severity : "NOTICE", message ? message : "");
}

/*
 * R's deadline has passed with R still running on C: the server, or the
 * link to it, is not answering (a hung backend, a link cut without a FIN).
 * Nothing else can run on C until it answers, so C is closed and replaced;
 * R fails as unavailable (it may still commit: the client's retry of a
 * submit is deduplicated).
 */
static void
query_deadline_cb(lws_sorted_usec_list_t *sul)
{
	pgconn *c = lws_container_of(sul, pgconn, query_deadline);
	char why[96];
	bool probe = c->req && c->req->done == probe_done;

	if (c->state != PGC_BUSY)
		return;
	if (probe)
	{
		metrics.db_probes_unanswered++;
		snprintf(why, sizeof(why), "heartbeat unanswered after %d ms",
				 pg.settings.heartbeat_ms);
	}
	else
	{
		metrics.db_queries_timed_out++;
		snprintf(why, sizeof(why), "no answer within %d ms (query timeout)",
				 pg.settings.query_timeout_ms);
	}
	pgc_lost(c, why);
}

/* Hands R's statement to libpq: prepared, run prepared, or run. */
static bool
send_statement(pgconn *c, const pg_req *r)
{
	const char *const *values = (const char *const *) r->values;

	if (r->prepare_as)
		return PQsendPrepare(c->conn, r->prepare_as, r->sql, 0, NULL);
	if (c->submit_prepared && strcmp(r->sql, SQL_SUBMIT) == 0)
		return PQsendQueryPrepared(c->conn, SUBMIT_STATEMENT, r->nparams,
								   values, NULL, NULL, 0);
	return PQsendQueryParams(c->conn, r->sql, r->nparams, NULL, values, NULL,
							 NULL, 0);
}

/* Sends R on C (READY). */
static void
pgc_send(pgconn *c, pg_req *r)
{
	lws_usec_t now = lws_now_usecs();

	c->req = r;
	c->state = PGC_BUSY;
	c->sent_at = now;
	pg.running++;
	lws_sul_cancel(&c->heartbeat);
	if (r->deadline_us)
		lws_sul_schedule(pg.context, 0, &c->query_deadline, query_deadline_cb,
						 r->deadline_us > now ? r->deadline_us - now : 0);
	if (!send_statement(c, r))
	{
		pgc_lost(c, conn_error(c));
		return;
	}
	if (PQflush(c->conn) == 1)
		pgc_want_write(c);
}

static void
listen_done(void *ctx, const PGresult *res, const pg_error *err)
{
	pgconn *c = ctx;

	(void) res;
	if (err)
	{
		/* an SQL error: start again on a new connection, after backoff */
		if (!err->unavailable)
			pgc_lost_because(c, "LISTEN failed", err->message);
		return;
	}
	c->listening = true;
	log_msg(LOG_INFO, "pg: %s connection %d listening on channel %s", c->name,
			c->index, PG_CHANNEL);
	if (pg.events.listening)
		pg.events.listening();
}

static void pgc_own(pgconn *c, const char *sql, pg_done_fn done,
					int timeout_ms, const char *prepare_as);

/* The lone submit's statement prepared, or not: then submits go unprepared
 * (a database without collab yet, say); the connection serves either way. */
static void
prepare_done(void *ctx, const PGresult *res, const pg_error *err)
{
	pgconn *c = ctx;

	(void) res;
	if (!err)
		c->submit_prepared = true;
	else if (!err->unavailable)
		log_msg(LOG_INFO,
				"pg: pool connection %d sends submits unprepared: %s",
				c->index, err->message);
}

static void
pool_setup_done(void *ctx, const PGresult *res, const pg_error *err)
{
	pgconn *c = ctx;

	(void) res;
	/* a session without its deadlines must not take requests */
	if (err && !err->unavailable)
		pgc_lost_because(c, "setting the session's deadlines failed",
						 err->message);
	else if (!err && c->state == PGC_READY)
		pgc_own(c, SQL_SUBMIT, prepare_done, pg.settings.query_timeout_ms,
				SUBMIT_STATEMENT);
}

/* A heartbeat answered; an SQL error replaces the connection. */
static void
probe_done(void *ctx, const PGresult *res, const pg_error *err)
{
	(void) res;
	if (err && !err->unavailable)
		pgc_lost_because(ctx, "heartbeat failed", err->message);
}

/*
 * Sends SQL on C (READY) as C's own request: its setup just after
 * connecting, or a heartbeat.  It must be answered within TIMEOUT_MS
 * (0: no limit).  With PREPARE_AS, SQL is prepared under that name, not
 * run.
 */
static void
pgc_own(pgconn *c, const char *sql, pg_done_fn done, int timeout_ms,
		const char *prepare_as)
{
	pg_req *r = calloc(1, sizeof(*r));

	if (!r || !(r->sql = strdup(sql)))
	{
		free(r);
		pgc_lost(c, "out of memory");
		return;
	}
	r->done = done;
	r->ctx = c;
	r->prepare_as = prepare_as;
	if (timeout_ms > 0)
		r->deadline_us =
			lws_now_usecs() + (lws_usec_t) timeout_ms * LWS_US_PER_MS;
	pgc_send(c, r);
}

static void
heartbeat_cb(lws_sorted_usec_list_t *sul)
{
	pgconn *c = lws_container_of(sul, pgconn, heartbeat);

	if (c->state == PGC_READY)
		pgc_own(c, "SELECT 1", probe_done, pg.settings.heartbeat_ms, NULL);
}

/*
 * C has nothing to do: probe it after a heartbeat of quiet, so that a
 * server or link that stopped answering is found while nobody asks (a
 * LISTEN connection is quiet by nature: without the probe it would stay
 * deaf for as long as TCP keepalives take, or for ever behind a proxy).
 */
static void
pgc_idle(pgconn *c)
{
	if (pg.settings.heartbeat_ms > 0)
		lws_sul_schedule(pg.context, 0, &c->heartbeat, heartbeat_cb,
						 (lws_usec_t) pg.settings.heartbeat_ms *
							 LWS_US_PER_MS);
}

static void
pgc_connected(pgconn *c)
{
	lws_sul_cancel(&c->connect_deadline);
	c->state = PGC_READY;
	c->backoff_ms = 0;
	log_msg(LOG_INFO, "pg: %s connection %d %s (backend %d)", c->name,
			c->index, c->was_up ? "reconnected" : "connected",
			PQbackendPID(c->conn));
	c->was_up = true;
	if (c->is_listen)
		pgc_own(c, "LISTEN " PG_CHANNEL, listen_done,
				pg.settings.query_timeout_ms, NULL);
	else
	{
		char sql[160];

		/* the pool's deadlines, before any query runs on the session */
		snprintf(sql, sizeof(sql),
				 "SELECT set_config('statement_timeout', '%d', false), "
				 "set_config('lock_timeout', '%d', false)",
				 pg.settings.statement_timeout_ms,
				 pg.settings.lock_timeout_ms);
		pgc_own(c, sql, pool_setup_done, pg.settings.query_timeout_ms, NULL);
	}
}

static void
pgc_poll_connect(pgconn *c)
{
	switch (PQconnectPoll(c->conn))
	{
		case PGRES_POLLING_READING:
			if (!pgc_adopt(c))
				pgc_lost(c, "cannot poll the database socket");
			break;
		case PGRES_POLLING_WRITING:
			if (!pgc_adopt(c))
				pgc_lost(c, "cannot poll the database socket");
			else
				pgc_want_write(c);
			break;
		case PGRES_POLLING_OK:
			if (!pgc_adopt(c))
				pgc_lost(c, "cannot poll the database socket");
			else if (PQsetnonblocking(c->conn, 1) != 0)
				pgc_lost(c, conn_error(c));
			else
				pgc_connected(c);
			break;
		default:
			pgc_lost(c, conn_error(c));
			break;
	}
}

/*
 * A connection attempt that has not finished by --connect-timeout-ms is
 * given up and retried with backoff: PQconnectPoll ignores libpq's own
 * connect_timeout, and a server that accepts the TCP connection but never
 * answers (a hung postmaster, a proxy that stopped forwarding) would
 * otherwise hold the attempt for ever.
 */
static void
connect_deadline_cb(lws_sorted_usec_list_t *sul)
{
	pgconn *c = lws_container_of(sul, pgconn, connect_deadline);
	char why[64];

	if (c->state != PGC_CONNECTING)
		return;
	if (c->target->hosts.n > 1) /* the next attempt starts from the next */
		c->host_first = (c->host_first + 1) % c->target->hosts.n;
	snprintf(why, sizeof(why), "connecting timed out after %d ms",
			 pg.settings.connect_timeout_ms);
	pgc_lost(c, why);
}

/* Entries of a comma-separated LIST (an empty or absent one: 0). */
static int
list_count(const char *list)
{
	int n = 1;

	if (!list || !*list)
		return 0;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	return n;
}

/* LIST (N entries) from entry FIRST on, wrapping round: malloc'd. */
static char *
list_rotate(const char *list, int n, int first)
{
	size_t len = strlen(list);
	char *out = malloc(len + 1), *o = out;
	const char *start = list;

	if (!out || n < 2 || first % n == 0)
	{
		if (out)
			memcpy(out, list, len + 1);
		return out;
	}
	for (int i = 0; i < first % n; i++)
		start = strchr(start, ',') + 1;
	/* entries first..n-1, then 0..first-1 */
	memcpy(o, start, (size_t) (list + len - start));
	o += list + len - start;
	*o++ = ',';
	memcpy(o, list, (size_t) (start - list - 1));
	o += start - list - 1;
	*o = '\0';
	return out;
}

/*
 * Finds T's host lists (see host_lists) and its name, from its connection
 * string: the database's name (PL/Proxy's errors name a partition by it),
 * else "partition INDEX".
 */
static void
target_parse(pg_target *t, int index)
{
	PQconninfoOption *opts = PQconninfoParse(t->dsn, NULL);
	host_lists *h = &t->hosts;
	int nhost, naddr, nport;

	snprintf(t->name, sizeof(t->name), "partition %d", index);
	if (!opts)
		return; /* libpq says what is wrong at the first attempt */
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (strcmp(o->keyword, "dbname") == 0 && o->val && *o->val)
			snprintf(t->name, sizeof(t->name), "%s", o->val);
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		char **field = strcmp(o->keyword, "host") == 0		 ? &h->host
					   : strcmp(o->keyword, "hostaddr") == 0 ? &h->hostaddr
					   : strcmp(o->keyword, "port") == 0	 ? &h->port
															 : NULL;

		if (field && o->val && *o->val)
			*field = strdup(o->val);
	}
	PQconninfoFree(opts);
	nhost = list_count(h->host);
	naddr = list_count(h->hostaddr);
	nport = list_count(h->port);
	h->n = nhost > naddr ? nhost : naddr;
	/* lists libpq would refuse, or one to share: leave them as they are */
	if ((nhost && naddr && nhost != naddr) || (nport > 1 && nport != h->n))
		h->n = 0;
}

static void
hosts_free(host_lists *h)
{
	free(h->host);
	free(h->hostaddr);
	free(h->port);
	memset(h, 0, sizeof(*h));
}

static void
pgc_connect(pgconn *c)
{
	/*
	 * Keepalives first: the connection string, expanded from dbname,
	 * overrides what comes before it.  A peer gone without a FIN is found
	 * within about a minute instead of the kernel's two hours.
	 */
	const char *keys[] = {"keepalives",
						  "keepalives_idle",
						  "keepalives_interval",
						  "keepalives_count",
						  "dbname",
						  "host",
						  "hostaddr",
						  "port",
						  "client_encoding",
						  "fallback_application_name",
						  NULL};
	/*
	 * client_encoding after the connection string, so that it holds:
	 * clients get UTF-8 (WebSocket text), and sealed payloads are checked
	 * over the bytes the database sealed, which are UTF-8.
	 */
	const host_lists *h = &c->target->hosts;
	bool rotate = h->n > 1 && c->host_first % h->n != 0;
	/* NULL values are ignored: the connection string's own hold */
	char *host =
		rotate && h->host ? list_rotate(h->host, h->n, c->host_first) : NULL;
	char *hostaddr = rotate && h->hostaddr
						 ? list_rotate(h->hostaddr, h->n, c->host_first)
						 : NULL;
	char *port = rotate && list_count(h->port) > 1
					 ? list_rotate(h->port, h->n, c->host_first)
					 : NULL;
	const char *values[] = {"1",  "30",		"10", "3",	  c->target->dsn,
							host, hostaddr, port, "UTF8", "collab-notifier",
							NULL};

	c->conn = PQconnectStartParams(keys, values, 1);
	free(host);
	free(hostaddr);
	free(port);
	if (!c->conn || PQstatus(c->conn) == CONNECTION_BAD)
	{
		c->state = PGC_CONNECTING;
		pgc_lost(c, conn_error(c));
		return;
	}
	c->state = PGC_CONNECTING;
	PQsetNoticeReceiver(c->conn, notice_cb, c);
	/* libpq: start as if PQconnectPoll had asked for writability */
	if (!pgc_adopt(c))
	{
		pgc_lost(c, "cannot poll the database socket");
		return;
	}
	pgc_want_write(c);
	if (pg.settings.connect_timeout_ms > 0)
		lws_sul_schedule(pg.context, 0, &c->connect_deadline,
						 connect_deadline_cb,
						 (lws_usec_t) pg.settings.connect_timeout_ms *
							 LWS_US_PER_MS);
}

/* Reads what the server sent; runs callbacks of finished queries. */
static void
pgc_read(pgconn *c)
{
	PGnotify *n;

	if (!PQconsumeInput(c->conn))
	{
		pgc_lost(c, conn_error(c));
		return;
	}
	while ((n = PQnotifies(c->conn)) != NULL)
	{
		if (pg.events.notify && strcmp(n->relname, PG_CHANNEL) == 0)
			pg.events.notify(n->extra);
		PQfreemem(n);
	}
	while (c->state == PGC_BUSY && !PQisBusy(c->conn))
	{
		PGresult *res = PQgetResult(c->conn);

		if (res)
		{
			ExecStatusType st = PQresultStatus(res);
			bool is_error =
				st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE;

			if (!c->result ||
				(is_error && PQresultStatus(c->result) != PGRES_FATAL_ERROR))
			{
				if (c->result)
					PQclear(c->result);
				c->result = res;
			}
			else
				PQclear(res);
			continue;
		}
		/* the last result: the statement's transaction is over */
		{
			pg_req *r = c->req;
			PGresult *kept = c->result;
			ExecStatusType st =
				kept ? PQresultStatus(kept) : PGRES_FATAL_ERROR;

			c->req = NULL;
			c->result = NULL;
			c->state = PGC_READY;
			pg.running--;
			lws_sul_cancel(&c->query_deadline);
			if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
				req_finish(r, kept, NULL);
			else
			{
				const char *state =
					kept ? PQresultErrorField(kept, PG_DIAG_SQLSTATE) : NULL;
				const char *message =
					kept ? PQresultErrorField(kept, PG_DIAG_MESSAGE_PRIMARY)
						 : NULL;
				pg_error err = {.unavailable = false,
								.sqlstate = state ? state : "XX000",
								.message = message ? message : "query failed"};

				err.partition = plproxy_unreachable(err.sqlstate, err.message);
				err.unavailable = err.partition;
				req_finish(r, NULL, &err);
			}
			if (kept)
				PQclear(kept);
			if (c->state == PGC_READY && !c->is_listen)
				pgc_dispatch();
			if (c->state == PGC_READY)
				pgc_idle(c);
		}
	}
}

int
pg_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
				void *in, size_t len)
{
	pgconn *c;

	(void) user;
	(void) in;
	(void) len;
	switch (reason)
	{
		case LWS_CALLBACK_RAW_RX_FILE:
			c = conn_of_wsi(wsi);
			if (!c)
				return -1; /* a socket we let go of */
			if (c->state == PGC_CONNECTING)
				pgc_poll_connect(c);
			else if (c->conn)
				pgc_read(c);
			return 0;
		case LWS_CALLBACK_RAW_WRITEABLE_FILE:
			c = conn_of_wsi(wsi);
			if (!c)
				return 0;
			if (c->state == PGC_CONNECTING)
				pgc_poll_connect(c);
			else if (c->conn)
			{
				int f = PQflush(c->conn);

				if (f < 0)
					pgc_lost(c, conn_error(c));
				else if (f == 1)
					pgc_want_write(c);
			}
			return 0;
		case LWS_CALLBACK_RAW_CLOSE_FILE:
			c = conn_of_wsi(wsi);
			if (c)
			{
				c->wsi = NULL;
				c->fd = -1;
				if (c->state != PGC_DOWN)
					pgc_lost(c, "socket closed");
			}
			return 0;
		default:
			return 0;
	}
}

/*
 * One submit-batch parameter: the array literal of parameter PARAM of
 * submits RS[0..N) ("{"a","b\"c",NULL}"), or NULL when out of memory.
 */
static char *
array_literal(pg_req *const *rs, int n, int param)
{
	size_t len = 3;
	char *out, *p;

	for (int i = 0; i < n; i++)
	{
		const char *v = rs[i]->values[param];

		len += 1 + (v ? 2 + strlen(v) * 2 : 4);
	}
	out = p = malloc(len);
	if (!out)
		return NULL;
	*p++ = '{';
	for (int i = 0; i < n; i++)
	{
		const char *v = rs[i]->values[param];

		if (i)
			*p++ = ',';
		if (!v)
		{
			memcpy(p, "NULL", 4);
			p += 4;
			continue;
		}
		*p++ = '"';
		for (; *v; v++)
		{
			if (*v == '"' || *v == '\\')
				*p++ = '\\';
			*p++ = *v;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

/* The bytes of a submit's parameters. */
static size_t
submit_bytes(const pg_req *r)
{
	size_t n = 0;

	for (int i = 0; i < r->nparams; i++)
		n += r->values[i] ? strlen(r->values[i]) : 0;
	return n;
}

/*
 * FIRST, a submit just taken from the queue, with the other submits waiting
 * (up to batch_max, and PG_BATCH_BYTES_MAX of parameters): one request that
 * carries them all, or FIRST alone when it waited alone (or the batch could
 * not be made).  Whatever else waits keeps its place.
 */
static pg_req *
batch_gather(pg_req *first)
{
	pg_req **members, *b, **link = &pg.head, *prev = NULL;
	size_t bytes = submit_bytes(first);
	int n = 1;

	if (pg.settings.batch_max < 2 || pg.no_batches || !pg.head)
		return first;
	members = calloc((size_t) pg.settings.batch_max, sizeof(pg_req *));
	b = calloc(1, sizeof(*b));
	if (!members || !b)
	{
		free(members);
		free(b);
		return first;
	}
	members[0] = first;
	while (*link && n < pg.settings.batch_max && bytes < PG_BATCH_BYTES_MAX)
	{
		pg_req *r = *link;

		if (!r->submitted || r->alone || doc_running(r->values[0]))
		{
			prev = r;
			link = &r->next;
			continue;
		}
		members[n++] = queue_unlink(link, prev);
		bytes += submit_bytes(r);
	}
	if (n == 1)
	{
		free(members);
		free(b);
		return first;
	}
	queue_arm();
	b->members = members;
	b->nmembers = n;
	b->sql = strdup(SQL_SUBMIT_BATCH);
	b->nparams = 6;
	b->values = calloc(6, sizeof(char *));
	for (int i = 0; b->values && i < 6; i++)
		b->values[i] = array_literal(members, n, i);
	b->deadline_us = first->deadline_us; /* the earliest: queued first */
	if (!b->sql || !b->values || !b->values[0] || !b->values[1] ||
		!b->values[2] || !b->values[3] || !b->values[4] || !b->values[5])
	{
		pg_error err = {.unavailable = true, .message = "out of memory"};

		req_finish(b, NULL, &err);
		return NULL;
	}
	metrics.db_batches++;
	metrics.db_batched_submits += (uint64_t) n;
	return b;
}

/* Whether a submit to DOC is running on a pool connection. */
static bool
doc_running(const char *doc)
{
	for (int i = pg.nlisten; i < pg.nconns; i++)
	{
		const pg_req *r = pg.conns[i].req;

		if (r && r->submitted && strcmp(r->values[0], doc) == 0)
			return true;
		for (int m = 0; r && m < r->nmembers; m++)
		{
			if (r->members[m] && strcmp(r->members[m]->values[0], doc) == 0)
				return true;
		}
	}
	return false;
}

/*
 * Takes the first request that may go now out of the queue, or NULL: a
 * submit to a document with a submit running waits for it, so that the
 * submits to a hot document gather into the next batch instead of each
 * connection's batch waiting for the one before it to commit.
 */
static pg_req *
queue_take(void)
{
	pg_req **link = &pg.head, *prev = NULL;

	while (*link)
	{
		pg_req *r = *link;

		if (r->submitted && doc_running(r->values[0]))
		{
			prev = r;
			link = &r->next;
			continue;
		}
		r = queue_unlink(link, prev);
		queue_arm();
		return r;
	}
	return NULL;
}

/* Gives queued queries to idle pool connections. */
static void
pgc_dispatch(void)
{
	for (int i = pg.nlisten; i < pg.nconns && pg.head; i++)
	{
		pgconn *c = &pg.conns[i];
		pg_req *r;

		if (c->state != PGC_READY)
			continue;
		if (!(r = queue_take()))
			return; /* what waits, waits for a document */
		if (r->submitted && !r->alone)
			r = batch_gather(r);
		if (r)
			pgc_send(c, r);
		else
			i--; /* failed: this connection is still free */
	}
}

void
pg_start(struct lws_context *context, struct lws_vhost *vhost,
		 const pg_settings *settings, const pg_events *events)
{
	pg.context = context;
	pg.vhost = vhost;
	pg.settings = *settings;
	pg.events = *events;
	pg.nlisten = settings->nlisten > 0 ? settings->nlisten : 1;
	if (pg.nlisten > PG_LISTEN_MAX)
		pg.nlisten = PG_LISTEN_MAX; /* config.c allows no more */
	pg.nconns = settings->pool_size + pg.nlisten;
	pg.pool_target.dsn = settings->dsn;
	target_parse(&pg.pool_target, 0);
	snprintf(pg.pool_target.conn_name, sizeof(pg.pool_target.conn_name),
			 "listen");
	pg.conns = calloc((size_t) pg.nconns, sizeof(pgconn));
	if (settings->nlisten > 0)
		pg.listen_targets =
			calloc((size_t) pg.nlisten, sizeof(*pg.listen_targets));
	if (!pg.conns || (settings->nlisten > 0 && !pg.listen_targets))
	{
		log_msg(LOG_ERROR, "pg: out of memory");
		exit(1);
	}
	for (int i = 0; pg.listen_targets && i < pg.nlisten; i++)
	{
		pg_target *t = &pg.listen_targets[i];

		t->dsn = settings->listen_dsns[i];
		target_parse(t, i);
		/* names label /metrics: the same dbname twice gets its place */
		for (int k = 0; k < i; k++)
		{
			if (strcmp(pg.listen_targets[k].name, t->name) == 0)
			{
				size_t len = strnlen(t->name, sizeof(t->name) - 8);

				snprintf(t->name + len, sizeof(t->name) - len, "#%d", i);
				break;
			}
		}
		snprintf(t->conn_name, sizeof(t->conn_name), "listen %s", t->name);
	}
	for (int i = 0; i < pg.nconns; i++)
	{
		pgconn *c = &pg.conns[i];

		c->index = i;
		c->fd = -1;
		c->is_listen = i < pg.nlisten;
		c->target = c->is_listen && pg.listen_targets ? &pg.listen_targets[i]
													  : &pg.pool_target;
		c->name = c->is_listen ? c->target->conn_name : "pool";
		c->state = PGC_DOWN;
		pgc_connect(c);
	}
}

static void
dispatch_cb(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	pgc_dispatch();
}

/* Arms the queue's timer for its head's deadline. */
static void
queue_arm(void)
{
	lws_usec_t now = lws_now_usecs();

	if (pg.head && pg.head->deadline_us)
		lws_sul_schedule(pg.context, 0, &pg.queue_deadline, queue_deadline_cb,
						 pg.head->deadline_us > now
							 ? pg.head->deadline_us - now
							 : 0);
}

/*
 * Fails the requests that waited for a connection past their deadline
 * (every pool connection busy with something that does not end, or
 * connecting to a server that does not answer).  The queue is in deadline
 * order, so only its head can be due.
 */
static void
queue_deadline_cb(lws_sorted_usec_list_t *sul)
{
	lws_usec_t now = lws_now_usecs();

	(void) sul;
	while (pg.head && pg.head->deadline_us && pg.head->deadline_us <= now)
	{
		pg_req *r = pg.head;

		pg.head = r->next;
		if (!pg.head)
			pg.tail = NULL;
		pg.queued--;
		metrics.db_queries_timed_out++;
		req_fail_unavailable(r, "no database connection was free in time");
	}
	queue_arm();
}

bool
pg_query(const char *sql, int nparams, const char *const *values,
		 pg_done_fn done, void *ctx)
{
	return pg_query_for(NULL, sql, nparams, values, done, ctx);
}

int
pg_drop_owned(const void *owner, const char *why)
{
	pg_req **link = &pg.head, *prev = NULL, *dropped = NULL;
	int n = 0;

	while (*link)
	{
		pg_req *r = *link;

		if (r->owner != owner)
		{
			prev = r;
			link = &r->next;
			continue;
		}
		r = queue_unlink(link, prev);
		r->next = dropped; /* failed below, once the queue is whole again */
		dropped = r;
		n++;
	}
	queue_arm();
	/* those running in a batch finish; a 55P03 does not send them again */
	for (int i = pg.nlisten; i < pg.nconns; i++)
	{
		pg_req *b = pg.conns[i].req;

		for (int m = 0; b && m < b->nmembers; m++)
		{
			if (b->members[m] && b->members[m]->owner == owner)
			{
				b->members[m]->dropped = true;
				b->members[m]->owner = NULL;
			}
		}
	}
	while (dropped)
	{
		pg_req *r = dropped;

		dropped = r->next;
		req_fail_unavailable(r, why);
	}
	return n;
}

/* A request for SQL with VALUES (copied), not queued yet; NULL when the
 * queue cannot take it. */
static pg_req *
req_new(const void *owner, const char *sql, int nparams,
		const char *const *values)
{
	pg_req *r;

	if (pg.stopping || !pool_alive() || pg.queued >= PG_QUEUE_MAX)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->sql = strdup(sql);
	r->nparams = nparams;
	r->values = nparams ? calloc((size_t) nparams, sizeof(char *)) : NULL;
	r->owner = owner;
	if (pg.settings.query_timeout_ms > 0)
		r->deadline_us =
			lws_now_usecs() +
			(lws_usec_t) pg.settings.query_timeout_ms * LWS_US_PER_MS;
	if (!r->sql || (nparams && !r->values))
	{
		req_free(r);
		return NULL;
	}
	for (int i = 0; i < nparams; i++)
	{
		if (values[i] && !(r->values[i] = strdup(values[i])))
		{
			req_free(r);
			return NULL;
		}
	}
	return r;
}

static void req_enqueue(pg_req *r);

bool
pg_query_for(const void *owner, const char *sql, int nparams,
			 const char *const *values, pg_done_fn done, void *ctx)
{
	pg_req *r = req_new(owner, sql, nparams, values);

	if (!r)
		return false;
	r->done = done;
	r->ctx = ctx;
	req_enqueue(r);
	return true;
}

bool
pg_submit_for(const void *owner, const char *const values[6],
			  pg_submit_fn done, void *ctx)
{
	pg_req *r = req_new(owner, SQL_SUBMIT, 6, values);

	if (!r)
		return false;
	r->submitted = done;
	r->ctx = ctx;
	req_enqueue(r);
	return true;
}

/* Queues R, last, and has the loop dispatch. */
static void
req_enqueue(pg_req *r)
{
	if (pg.tail)
		pg.tail->next = r;
	else
		pg.head = r;
	pg.tail = r;
	pg.queued++;
	if (pg.head == r)
		queue_arm();
	/* from the loop, not here: a send that fails runs callbacks */
	lws_sul_schedule(pg.context, 0, &pg.dispatch, dispatch_cb, 0);
}

pg_health
pg_health_now(void)
{
	pg_health h = {.listen_total = pg.nlisten};
	lws_usec_t now = lws_now_usecs();
	lws_usec_t heartbeat_us =
		(lws_usec_t) pg.settings.heartbeat_ms * LWS_US_PER_MS;

	for (int i = 0; i < pg.nlisten; i++)
		h.listen_up += pg.conns[i].listening;
	h.listening = pg.nlisten > 0 && h.listen_up == pg.nlisten;

	for (int i = pg.nlisten; i < pg.nconns; i++)
	{
		pgconn *c = &pg.conns[i];

		if (c->state != PGC_READY && c->state != PGC_BUSY)
			continue;
		h.pool_connected++;
		if (c->state == PGC_READY || heartbeat_us == 0 ||
			now - c->sent_at < heartbeat_us)
			h.pool_answering++;
	}
	return h;
}

bool
pg_healthy(const char **why)
{
	pg_health h = pg_health_now();
	const char *reason = NULL;

	/*
	 * One partition down is not the instance's fault: every instance loses
	 * it alike, and a load balancer that took them all out would only
	 * lose the other partitions' documents too (docs/scale-out.md).
	 */
	if (h.listen_up == 0)
		reason = "not listening for notifications";
	else if (h.pool_connected == 0)
		reason = "no database connection";
	else if (h.pool_answering == 0)
		reason = "no database connection answering";
	if (why)
		*why = reason;
	return reason == NULL;
}

int
pg_partitions(void)
{
	return pg.listen_targets ? pg.nlisten : 0;
}

const char *
pg_partition(int i, bool *up)
{
	assert(i >= 0 && i < pg_partitions());
	*up = pg.conns[i].listening;
	return pg.listen_targets[i].name;
}

int
pg_pending(void)
{
	return pg.queued + pg.running;
}

void
pg_stop(void)
{
	pg.stopping = true;
	lws_sul_cancel(&pg.dispatch);
	lws_sul_cancel(&pg.queue_deadline);
	for (int i = 0; i < pg.nconns; i++)
	{
		pgconn *c = &pg.conns[i];

		lws_sul_cancel(&c->retry);
		lws_sul_cancel(&c->want_write);
		lws_sul_cancel(&c->connect_deadline);
		lws_sul_cancel(&c->query_deadline);
		lws_sul_cancel(&c->heartbeat);
		if (c->state != PGC_DOWN)
			pgc_lost(c, "stopping");
	}
	fail_queue("the notifier is stopping");
	free(pg.conns);
	pg.conns = NULL;
	pg.nconns = 0;
	hosts_free(&pg.pool_target.hosts);
	for (int i = 0; pg.listen_targets && i < pg.nlisten; i++)
		hosts_free(&pg.listen_targets[i].hosts);
	free(pg.listen_targets);
	pg.listen_targets = NULL;
	pg.nlisten = 0;
}
