/*
 * pg.h — asynchronous libpq inside the libwebsockets event loop.
 *
 * One LISTEN connection, read whenever its socket is readable (a listener
 * that stalls holds back the cluster's notification queue), and a pool of
 * connections for queries, each running one statement at a time; queries
 * wait in one FIFO for a free connection.  Each connection's socket is
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

/* Why a query failed: the server's SQLSTATE, or unavailable (no database). */
typedef struct pg_error {
	bool unavailable;	  /* the database could not be reached, or the
						   * connection died with the query in flight (it
						   * may or may not have committed) */
	const char *sqlstate; /* five characters, when !unavailable */
	const char *message;  /* the primary message */
} pg_error;

/* RES is the statement's result when ERR is NULL (freed after the call). */
typedef void (*pg_done_fn)(void *ctx, const PGresult *res,
						   const pg_error *err);

typedef struct pg_events {
	/* a NOTIFY payload on channel collab */
	void (*notify)(const char *payload);
	/* LISTEN is (again) in place: anything may have been missed before */
	void (*listening)(void);
} pg_events;

/* How to reach the database, and the deadlines of the pool's sessions. */
typedef struct pg_settings {
	const char *dsn;		  /* libpq connection string or URI */
	int pool_size;			  /* connections for queries */
	int connect_timeout_ms;	  /* per connection attempt (0: none) */
	int statement_timeout_ms; /* per statement on the pool (0: none) */
	int lock_timeout_ms;	  /* per lock wait on the pool (0: none) */
} pg_settings;

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
 * unavailable or the queue is full.
 */
bool pg_query(const char *sql, int nparams, const char *const *values,
			  pg_done_fn done, void *ctx);

/* True while LISTEN is in place and a pool connection is up. */
bool pg_healthy(void);

/* Queries queued or running. */
int pg_pending(void);

/* Closes every connection; queued queries are failed as unavailable. */
void pg_stop(void);

/* The lws protocol callback for the adopted database sockets. */
int pg_lws_callback(struct lws *wsi, enum lws_callback_reasons reason,
					void *user, void *in, size_t len);

#endif
