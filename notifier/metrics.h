/*
 * metrics.h — the notifier's counters, and their Prometheus text for
 * GET /metrics.
 *
 * Counters only ever grow (Prometheus counters); the gauges (connections,
 * documents, queries pending, database up) are read from their owners when
 * the text is made.  Single-threaded: incremented in the event loop.
 */
#ifndef COLLAB_NOTIFIER_METRICS_H
#define COLLAB_NOTIFIER_METRICS_H

#include <stddef.h>
#include <stdint.h>

extern struct metrics {
	uint64_t connections_total;		 /* WebSocket clients accepted */
	uint64_t messages_in;			 /* client messages received */
	uint64_t messages_out;			 /* messages written to clients */
	uint64_t bytes_out;				 /* bytes of those messages */
	uint64_t writes;				 /* socket writes: one or more messages */
	uint64_t submits;				 /* submits sent to the database */
	uint64_t submit_errors;			 /* submits the database refused */
	uint64_t acks;					 /* acks sent */
	uint64_t notifications;			 /* payloads heard on channel collab */
	uint64_t notifications_rejected; /* ... not sealed with the key */
	uint64_t fetches;				 /* collab.changes results used */
	uint64_t slow_closes;		   /* clients closed for reading too slowly */
	uint64_t rate_limited;		   /* messages dropped over the rate */
	uint64_t snapshots;			   /* snapshot queries (shared by waiters) */
	uint64_t db_connections_lost;  /* database connections lost, or
									* attempts that failed */
	uint64_t db_queries_timed_out; /* requests failed by the query timeout */
	uint64_t db_batches;		   /* collab.submit_batch calls */
	uint64_t db_batched_submits;   /* the submits they carried */
	uint64_t db_probes_unanswered; /* heartbeats that lost their connection */
	uint64_t auth_accepted;		   /* connections authenticated */
	uint64_t auth_refused;		   /* closed: no token, a bad one, expired */
	uint64_t auth_expired;		   /* ... of which: expired */
	uint64_t requests_dropped;	   /* queued for a client that had gone */
	uint64_t too_many_pending;	   /* requests over --max-pending */
	uint64_t presence_coalesced;   /* presence states replaced unsent */
	uint64_t byte_rate_limited;	   /* messages dropped over the byte rate */
	uint64_t refused_per_address;  /* upgrades refused: the address is full */
	uint64_t creates_limited;	   /* creations refused over the quota */
	uint64_t fetch_requests;	   /* fetch requests sent to the database */
	uint64_t fetch_queries;		   /* ... and the queries run for them */
	uint64_t origins_refused;	   /* upgrades refused for their Origin */
	uint64_t dev_logins;		   /* tokens --dev-login handed out */
} metrics;

/* The Prometheus text exposition into BUF; returns its length. */
size_t metrics_render(char *buf, size_t size);

#endif
