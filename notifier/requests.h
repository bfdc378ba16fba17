/*
 * requests.h — what clients ask and what the notifier asks the database:
 * the handlers of docs/protocol.md's requests, every SQL statement the
 * notifier sends, and the one table from SQLSTATE to protocol error.
 *
 * This is the only file that holds collab's SQL text and decodes its
 * results' columns.  Every failed query is judged by rq_failure_of, the
 * same way whatever request it served: a lost connection is
 * "unavailable" for a subscribe, a submit, a presence and a fetch alike.
 *
 * Queries carry an rq_ctx that references the connection and the document
 * they are for (conn_ref, doc_ref) until their callback has run.
 */
#ifndef COLLAB_NOTIFIER_REQUESTS_H
#define COLLAB_NOTIFIER_REQUESTS_H

#include "conn.h"
#include "document.h"
#include "pg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One complete text message from C: rate limit, parse, handle. */
void requests_message(conn *c, const char *text, size_t len);

/* What a failed query means, whatever request it served. */
typedef enum rq_failure {
	RQ_UNAVAILABLE, /* no database, a lost connection, a shutdown, a
					 * serialization failure or deadlock, out of
					 * resources: nothing changed, or it may have
					 * committed (a submit): retry */
	RQ_NOT_FOUND,	/* P0002: no such document */
	RQ_FORBIDDEN,	/* 42501: the notifier's role may not */
	RQ_INVALID,		/* 22xxx, 54000: the request's own arguments */
	RQ_EXISTS,		/* 23505: a create of a document that exists */
	RQ_DUPLICATE,	/* CL409: a (client, seq) used for another change */
	RQ_INTERNAL,	/* anything else */
} rq_failure;

/* The request a failed query served: it picks the words. */
typedef enum rq_kind {
	RQ_SUBSCRIBE,
	RQ_SUBMIT,
	RQ_PRESENCE,
	RQ_FETCH,
} rq_kind;

/* The one table: ERR's meaning. */
rq_failure rq_failure_of(const pg_error *err);

/* The protocol error code for FAILURE answering a request of KIND. */
const char *rq_error_code(rq_failure failure, rq_kind kind);

/*
 * Sends C the error for ERR answering a request of KIND (DOC, SEQ and
 * ID_JSON as conn_error); an internal failure goes through rq_internal.
 * Only an invalid request's error carries the database's text
 * (docs/notifier.md, "Errors from the database").
 */
void rq_error(conn *c, rq_kind kind, const pg_error *err, const char *doc,
			  int64_t seq, const char *id_json);

/*
 * An internal failure answering C (DOC, SEQ and ID_JSON as conn_error):
 * the details (FMT) are logged, once, with a new correlation id N, and C
 * gets an "internal" error whose text is "internal error (id N)" and
 * nothing else, whatever the details hold.
 */
void rq_internal(conn *c, const char *doc, int64_t seq, const char *id_json,
				 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A query's context: who it is for.  seq is -1 unless set. */
typedef struct rq_ctx {
	conn *c; /* referenced, or NULL */
	doc *d;	 /* referenced */
	unsigned gen;
	int64_t seq;
	int64_t since;
	bool resume;   /* a resume fetch: fall back to a snapshot */
	bool capped;   /* a catch-up fetch cut at a chunk */
	bool creates;  /* a create that took from the creation quota */
	char *id_json; /* a fetch's id, echoed */
} rq_ctx;

/* A context for (C, D, GEN), referencing both; NULL when out of memory. */
rq_ctx *rq_ctx_new(conn *c, doc *d, unsigned gen);
void rq_ctx_free(rq_ctx *q);

/*
 * collab.changes(DOC, SINCE, UNTIL): the revisions after SINCE, up to UNTIL
 * (REV_UNBOUNDED: all).  Rows decode with rq_change_entry.  False (DONE
 * not called) when the query cannot be queued.
 */
bool rq_changes(const void *owner, const char *doc, int64_t since,
				int64_t until, pg_done_fn done, void *ctx);

/* Row ROW of an rq_changes result as an entry of DOC; false when out of
 * memory. */
bool rq_change_entry(const char *doc, const PGresult *res, int row, entry *e);

/* DOC's head revision and its content, for a snapshot message. */
bool rq_snapshot(const char *doc, pg_done_fn done, void *ctx);
int64_t rq_snapshot_rev(const PGresult *res);
/* The snapshot message for an rq_snapshot result, or NULL (no memory). */
msg *rq_snapshot_msg(const char *doc, const PGresult *res);

/*
 * DOC's content and HTML at revision REV (HAS_REV false: at the head), for
 * OWNER (pg_query_for).  False (DONE not called) when the query cannot be
 * queued.
 */
bool rq_fetch(const void *owner, const char *doc, bool has_rev, int64_t rev,
			  pg_done_fn done, void *ctx);
/* The content message for an rq_fetch result, with ID_JSON (NULL: none);
 * NULL when out of memory. */
msg *rq_content_msg(const char *doc, const PGresult *res, const char *id_json);

/* Announces that CLIENT has left DOC (presence {}); nobody waits. */
void rq_presence_clear(const char *doc, const char *client);

#endif
