/*
 * store.h — submit's hot path on collab's tables without SQL (store.c).
 *
 * A submit that went through SPI spent a third of its time planning,
 * starting and ending executor nodes for two or three tiny statements.
 * Here the same work is done with index scans, a lock on the document id
 * and the executor's simple insert and update (the ones logical replication
 * uses, so indexes, constraints and HOT behave as for SQL).  The semantics are
 * those of the SQL it replaces (docs/documents.md, "submit").
 */
#ifndef COLLAB_STORE_H
#define COLLAB_STORE_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

#include "documents.h"
#include "recent.h"

typedef struct doc_store {
	Relation documents;
	Relation documents_pkey;
	Relation change_log;
	Relation change_log_pkey;
	Relation change_log_client;
	EState *estate;
	ResultRelInfo *documents_info;
	ResultRelInfo *change_log_info;
	TupleTableSlot *document; /* the document's row, read under the id lock */
	Snapshot snapshot;		  /* registered; what the reads see */
	bool has_bounds;		  /* documents has json_bytes, attributes_bytes */
	bool has_client_check;	  /* change_log has client_base_rev and _hash */
	bool has_snapshot_count;  /* documents has snapshot_rev and
							   * bytes_since_snapshot (0.4.0) */
} doc_store;

/* A row of the change log. */
typedef struct store_entry {
	int64 rev;
	Jsonb *change;	 /* as applied to revision rev - 1 */
	text *client_id; /* NULL: an anonymous submit (nor the rest of client_) */
	int64 client_seq;
	int64 client_base_rev;	   /* as submitted; -1: not known */
	bytea *client_change_hash; /* sha256 of the change as submitted, in
								* canonical JSON; NULL: not known */
	const char *author;
} store_entry;

/* Opens the tables and their indexes for a submit. */
void store_open(doc_store *st);

/* Closes what store_open opened. */
void store_close(doc_store *st);

/*
 * Takes the lock on the document id (an advisory lock tag of collab's own,
 * until the end of the transaction) that submits and deletes of one
 * document take first, so they go one at a time, in the order they came.
 */
void store_lock_id(text *doc_id);
/* What the id lock of doc_id is keyed by: writers that take several
 * documents' locks take them in the order of this key (submit_batch). */
uint64 store_lock_key(text *doc_id);

/*
 * Takes the id lock, then reads doc_id's row into *row: with the lock held,
 * it is the latest, and nobody else writes it until we commit.  In READ
 * COMMITTED the reads after the lock see everything committed before it;
 * in REPEATABLE READ and SERIALIZABLE a row changed since the
 * transaction's snapshot is a serialization failure (40001).  Raises P0002
 * when there is no such document, or when it was deleted while we waited
 * (even if one of the same id was created since).
 */
void store_lock_document(doc_store *st, glue_session *s, text *doc_id,
						 doc_row *row);

/*
 * The first submission of (client_id, client_seq) to doc_id, if any, into
 * *first (all but author).
 */
bool store_find_resubmit(doc_store *st, text *doc_id, text *client_id,
						 int64 client_seq, store_entry *first);

/*
 * change, made against base_rev, transformed against each change after it
 * up to head (the locked document's) in revision order (the committed one
 * wins ties).  With recent (submit_batch's; may be NULL), the changes are
 * taken from it when it holds them all, and otherwise read from the log
 * into it.
 */
delta *store_transform_to_head(doc_store *st, glue_session *s, text *doc_id,
							   int64 base_rev, int64 head, delta *change,
							   recent_changes *recent);

/* When the locked document was created: with its id, its identity. */
TimestampTz store_created_at(doc_store *st);

/*
 * Appends entry as the next revision of the locked document and moves its
 * row to it: head, the length and size bounds of after (bounds unknown when
 * negative), astral, after's pairs as an int8[], and since, where it stands
 * from its last snapshot (doc_snapshot_next; unknown when negative).
 */
void store_append(doc_store *st, text *doc_id, const store_entry *entry,
				  const delta_shape *after, Datum astral,
				  const doc_since *since);

#endif
