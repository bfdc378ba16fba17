/*
 * documents.h — what the document functions (submit.c, history.c,
 * notify.c) share: argument checks, the SPI plans, reading a document's
 * row and rebuilding its content.
 *
 * Every function here runs between SPI_connect and SPI_finish, inside a
 * glue session (delta_glue.h) that owns the core's arena.  Plans are
 * prepared once per backend and kept (SPI_keepplan).
 */
#ifndef COLLAB_DOCUMENTS_H
#define COLLAB_DOCUMENTS_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/jsonb.h"

#include "delta.h"
#include "delta_glue.h"
#include "wire.h"

/*
 * When a document is due a snapshot (docs/documents.md, "Snapshots"): when
 * the changes since its last one (their JSON bytes, at least
 * COLLAB_SNAPSHOT_BYTES_MIN) amount to collab.snapshot_ratio of its size,
 * or number collab.snapshot_interval.  So reading any revision costs the
 * snapshot plus at most that fraction of the document in changes, and a
 * document pays for its snapshots in proportion to what changed, not to
 * its size.  The size is the document's length (UTF-16 units): exact on
 * every row, and at most its JSON bytes (every unit takes at least a byte),
 * where json_bytes, a bound that drifts upwards with every format, would
 * put snapshots off further and further on a document edited in formats.
 */
extern int collab_snapshot_interval;
extern double collab_snapshot_ratio;

/* collab.batch_lock_timeout: how long a submit of a batch waits for its
 * document's lock (ms; 0: as lock_timeout says) */
extern int collab_batch_lock_timeout;
#define COLLAB_BATCH_LOCK_TIMEOUT_DEFAULT 100

#define COLLAB_SNAPSHOT_INTERVAL_DEFAULT 10000
#define COLLAB_SNAPSHOT_INTERVAL_MIN 1
#define COLLAB_SNAPSHOT_INTERVAL_MAX 1000000
#define COLLAB_SNAPSHOT_RATIO_DEFAULT 0.5
#define COLLAB_SNAPSHOT_RATIO_MIN 0.0 /* off: by count alone */
#define COLLAB_SNAPSHOT_RATIO_MAX 1000.0
/* Below this many bytes of changes, a read costs its fixed overheads (the
 * statements, the snapshot's row), not composing: no snapshot for less. */
#define COLLAB_SNAPSHOT_BYTES_MIN 16384

/* Document and client ids: 1 to WIRE_ID_BYTES_MAX bytes (wire.h). */

/* A repeated (client_id, client_seq) with another base or change (wire.h) */
#define ERRCODE_COLLAB_DUPLICATE_SEQ \
	MAKE_SQLSTATE(WIRE_SQLSTATE_DUPLICATE_SEQ[0], \
				  WIRE_SQLSTATE_DUPLICATE_SEQ[1], \
				  WIRE_SQLSTATE_DUPLICATE_SEQ[2], \
				  WIRE_SQLSTATE_DUPLICATE_SEQ[3], \
				  WIRE_SQLSTATE_DUPLICATE_SEQ[4])

/*
 * Argument argno as an id (document or client, named what in messages):
 * not null, 1 to WIRE_ID_BYTES_MAX bytes.  Raises 22004 or 22023.
 */
text *doc_id_arg(FunctionCallInfo fcinfo, int argno, const char *what);

/* id, checked as doc_id_arg checks an argument (22023). */
text *doc_id_check(text *id, const char *what);

/* Argument argno, raising 22004 when it is null. */
Datum doc_required_arg(FunctionCallInfo fcinfo, int argno, const char *what);

/* Raises P0002: there is no document doc_id. */
pg_attribute_noreturn() void doc_not_found(text *doc_id);

/*
 * Where a document stands since its last snapshot (columns snapshot_rev and
 * bytes_since_snapshot, 0.4.0): the revision of the last snapshot asked
 * for (taken, or requested from the snapshotter), and the JSON size of the
 * changes after it, up to the head.  -1 both: not known (a row from before
 * 0.4.0).
 */
typedef struct doc_since {
	bool counted; /* the table has the columns (0.4.0) */
	int64 snapshot_rev;
	int64 bytes;
} doc_since;

/* The row of collab.documents. */
typedef struct doc_row {
	int64 head;
	delta_shape shape; /* length and pairs of the head document, and its
						* size bounds (unknown, -1, but from store.h) */
	doc_since since;   /* (store.h only) */
} doc_row;

/*
 * Whether a document of doc_length (UTF-16 units) with revs revisions and
 * bytes of changes (JSON) since its last snapshot is due another.
 */
bool doc_snapshot_due(int64 revs, int64 bytes, int64 doc_length);

/*
 * A submit's decision: revision rev, a change of change_bytes, making a
 * document of doc_length, after *before.  Returns whether rev is due a
 * snapshot, and sets *after to what the row holds from rev on.  A row that
 * does not know (-1) is due at once: from that snapshot on it counts.  A
 * table without the columns (a database not yet updated to 0.4.0) has
 * nowhere to count: every collab.snapshot_interval revisions, as before
 * (readers' hints are size-aware, so a document with large changes is
 * snapshotted when it is read).
 */
bool doc_snapshot_next(const doc_since *before, int64 rev, int64 change_bytes,
					   int64 doc_length, doc_since *after);

/*
 * Reads the document's row into *row, taking no lock (a writer takes the
 * document id lock first, through store.h).  Raises P0002 when there is no
 * such document.
 */
void doc_read(glue_session *s, text *doc_id, doc_row *row);

/* Fills row's shape from the row's length and astral columns. */
void doc_row_shape(glue_session *s, text *doc_id, int64 length, Datum astral,
				   doc_row *row);

/* What building a revision took: for a reader to see a snapshot missing. */
typedef struct doc_build_cost {
	int64 from;			/* the revision of the snapshot it started from */
	int64 change_bytes; /* the JSON size of the changes after it, bytes */
} doc_build_cost;

/*
 * The document at revision rev (0 <= rev <= head, checked by the caller):
 * the newest snapshot at or below rev, then the changes after it, composed
 * as a balanced tree; *cost (when not NULL) says what that took.  A writer
 * passes read_only false, so that it sees what it just wrote.
 */
delta *doc_build(glue_session *s, text *doc_id, int64 rev, bool read_only,
				 doc_build_cost *cost);

/* Stores content as the snapshot of doc_id at rev (if there is none yet). */
void doc_store_snapshot(text *doc_id, int64 rev, Jsonb *content);

/*
 * Stores the snapshot of doc_id at rev (the head when rev < 0) unless it
 * exists; true when it stored one.  It builds the document without a
 * lock, then locks the change at rev FOR KEY SHARE and checks the document
 * is still the one it built before storing it: a delete waits for it and
 * removes it too; submits never wait.  A document
 * that is gone or a revision past the head (not committed, as far as this
 * transaction can see) is an error when strict (collab.take_snapshot), skipped
 * otherwise (the snapshotter).
 */
bool doc_take_snapshot(text *doc_id, int64 rev, bool strict);

/* Runs a kept plan, made from sql on first use. */
int doc_exec(SPIPlanPtr *plan, const char *sql, int nargs, const Oid *types,
			 Datum *values, const char *nulls, bool read_only, long count);

/*
 * Sets search_path to pg_catalog, pg_temp until AtEOXact_GUC(true, level)
 * with the level returned (or the end of the (sub)transaction), for SQL run
 * by a function declared without a SET clause.
 */
int doc_safe_search_path(void);

/*
 * Whether collab.<table> has the column (the schema of the installed
 * version; the extension's library serves older ones too).
 */
bool doc_has_column(const char *table, const char *column);

/* JSON for the notifier: the text of id, quoted, UTF-8. */
void doc_write_id(glue_session *s, delta_buf *buf, text *id);

#endif
