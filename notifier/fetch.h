/*
 * fetch.h — fetches (docs/protocol.md, "Fetching a revision"), shared: one
 * query per (document, revision) at a time, whatever the number of clients
 * asking, as snapshots are (stream.c).
 *
 * A fetch of revision R of a document joins the query for (document, R)
 * in flight, if there is one, else starts one; every fetch waiting on a
 * query gets its answer (content or error) with its own id.  A revision's
 * content never changes, so a query started before a fetch came answers
 * it as well as its own would.  A fetch of the head (no rev) is not
 * shared: a query that started earlier may predate a change its client
 * has seen acknowledged.
 *
 * Each waiting fetch holds its connection (conn_ref) and counts in its
 * pending requests (--max-pending); a query holds its document (doc_ref)
 * and is owned by its group of waiters (pg_query_for), so that when the
 * last waiter's connection closes while the query still waits for a
 * database connection, the query is dropped.
 *
 * Ownership: groups hang off their doc (d->fetches), waiters off their
 * group and their conn (c->fetches); both are freed when the query's
 * answer has been handed out.  Single-threaded: the lws event loop.
 */
#ifndef COLLAB_NOTIFIER_FETCH_H
#define COLLAB_NOTIFIER_FETCH_H

#include "conn.h"
#include "document.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * C asks for D at revision REV (HAS_REV false: the head), its answer to
 * carry ID_JSON (NULL: none).  The answer, or an error, always comes.
 */
void fetch_request(conn *c, doc *d, bool has_rev, int64_t rev,
				   const char *id_json);

/*
 * C closed: its fetches stop waiting; a query no one waits for any more
 * is dropped if it has not started.  Returns how many were dropped.
 */
int fetch_conn_closed(conn *c);

#endif
