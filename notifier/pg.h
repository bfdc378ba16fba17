/*
 * pg.h — asynchronous libpq inside the libwebsockets event loop.
 *
 * One LISTEN connection per database that raises notifications (one, or
 * one per partition of a partitioned deployment, docs/scale-out.md), each
 * read whenever its socket is readable (a listener that stalls holds back
 * its cluster's notification queue) and each lost and reconnected on its
 * own; and a pool of connections for queries (to the database, or the
 * partitions' proxy), each running one statement at a time; queries wait
 * in one FIFO for a free connection.  Each connection's socket is
 * adopted into the loop (a dup of it, which lws owns and closes, so libpq
 * keeps its own); nothing here blocks.  Lost connections come back with
 * exponential backoff and jitter.
 *
 * A query's callback runs exactly once, after the statement's transaction
 * has committed or failed (after the last result, not at the first row), and
 * never from inside pg_query itself.
 */
#ifndef COLLAB_NOTIFIER_PG_H
#define COLLAB_NOTIFIER_PG_H

#include <libpq-fe.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

/* Why a query failed: the server's SQLSTATE, or unavailable (no database). */
typedef struct pg_error {
	bool unavailable;	  /* the database could not be reached, or the
						   * connection died with the query in flight (it
						   * may or may not have committed), or a proxy
						   * could not reach a partition (partition) */
	bool partition;		  /* the statement failed as a whole because a
						   * partition behind the proxy could not be
						   * reached (PL/Proxy's XX000 naming a libpq
						   * failure); sqlstate and message are PL/Proxy's */
	const char *sqlstate; /* five characters, when !unavailable or
						   * partition */
	const char *message;  /* the primary message */
} pg_error;

/* RES is the statement's result when ERR is NULL (freed after the call). */
typedef void (*pg_done_fn)(void *ctx, const PGresult *res,
						   const pg_error *err);

/* A submit's outcome: its revision and its change as stored (JSON text,
 * valid during the call) when ERR is NULL. */
typedef void (*pg_submit_fn)(void *ctx, int64_t rev, const char *change,
							 const pg_error *err);

typedef struct pg_events {
	/* a NOTIFY payload on channel collab */
	void (*notify)(const char *payload);
	/* a LISTEN is (again) in place: anything its database announced
	 * before may have been missed */
	void (*listening)(void);
} pg_events;

/* How to reach the database, and the deadlines of the pool's sessions. */
typedef struct pg_settings {
	const char *dsn;				/* libpq connection string or URI */
	const char *const *listen_dsns; /* where to LISTEN: one connection
									 * each (the partitions); none: dsn */
	int nlisten;					/* entries of listen_dsns */
	int pool_size;					/* connections for queries */
	int connect_timeout_ms;			/* per connection attempt (0: none) */
	int statement_timeout_ms;		/* per statement on the pool (0: none) */
	int lock_timeout_ms;			/* per lock wait on the pool (0: none) */
	int query_timeout_ms;			/* per request, from pg_query (0: none) */
	int heartbeat_ms; /* idle connections probed this often, and a
					   * probe unanswered this long loses its
					   * connection (0: no probes) */
	int batch_max;	  /* most submits in one statement (1: one
					   * submit per statement) */
} pg_settings;

/* What the connections can do now (for /healthz and /metrics). */
typedef struct pg_health {
	bool listening;		/* every LISTEN is in place */
	int listen_total;	/* LISTEN connections */
	int listen_up;		/* ... with their LISTEN in place */
	int pool_connected; /* pool connections up */
	int pool_answering; /* ... idle, or answering within the heartbeat */
} pg_health;

/*
 * Starts connecting (SETTINGS is copied; its dsn must outlive the
 * notifier).  VHOST gets the adopted sockets (protocol "collab-pg").
 * TCP keepalives are on unless the connection string says otherwise.
 */
void pg_start(struct lws_context *context, struct lws_vhost *vhost,
			  const pg_settings *settings, const pg_events *events);

/*
 * Queues SQL with NPARAMS text parameters (copied; NULL values are SQL
 * NULL).  Returns false, without calling DONE, when the database is
 * unavailable or the queue is full.  A request not answered within
 * query_timeout_ms of this call (waiting for a connection, then running)
 * fails as unavailable; if it was running, its connection is closed and
 * replaced, since nothing else can be sent on it until it answers.
 */
bool pg_query(const char *sql, int nparams, const char *const *values,
			  pg_done_fn done, void *ctx);

/*
 * pg_query on behalf of OWNER (a client): pg_drop_owned(OWNER) takes it
 * back while it still waits for a connection.
 */
bool pg_query_for(const void *owner, const char *sql, int nparams,
				  const char *const *values, pg_done_fn done, void *ctx);

/*
 * collab.submit(doc_id, base_rev, change, client_id, client_seq, author)
 * with VALUES (copied; NULL is SQL NULL) on behalf of OWNER, as
 * pg_query_for.  Submits that wait for a connection go together: a
 * connection that comes free takes every submit waiting (up to batch_max)
 * in one collab.submit_batch call, one round trip and one transaction,
 * each with its own outcome (docs/speed.md).  One waiting alone goes as
 * collab.submit.  DONE runs once per submit.
 */
bool pg_submit_for(const void *owner, const char *const values[6],
				   pg_submit_fn done, void *ctx);
/*
 * Fails, as unavailable with WHY, every query of OWNER still waiting for a
 * connection (a client that has gone: its requests must not hold everyone
 * else's back); returns how many.  Queries already running finish.
 */
int pg_drop_owned(const void *owner, const char *why);

/*
 * True while the notifier can serve: a LISTEN in place (with partitions:
 * one at least, the documents of the others wait for theirs) and a pool
 * connection able to answer (idle, or busy for less than the heartbeat).
 * WHY, when not NULL, gets the reason it cannot.
 */
bool pg_healthy(const char **why);

/* The connections' state now. */
pg_health pg_health_now(void);

/*
 * The partitions listened to (listen_dsns; 0 when none were given): the
 * name of the Ith (its database's name, as PL/Proxy's errors name it) and
 * whether its LISTEN is in place.
 */
int pg_partitions(void);
const char *pg_partition(int i, bool *up);

/* Queries queued or running. */
int pg_pending(void);

/* Closes every connection; queued queries are failed as unavailable. */
void pg_stop(void);

/* The lws protocol callback for the adopted database sockets. */
int pg_lws_callback(struct lws *wsi, enum lws_callback_reasons reason,
					void *user, void *in, size_t len);

#endif
