/*
 * documents.c — the pieces every document function needs: argument
 * checks, kept SPI plans, the document row, and rebuilding content from a
 * snapshot and the change log.
 *
 * Reading a revision costs one snapshot plus the changes since it (at most
 * what the snapshot rule lets pile up: documents.h).  The changes are
 * composed with each other first, then applied to the snapshot once, so
 * the document is walked once however many changes there are.  They are
 * composed as a balanced tree, not one after another: a composite of many
 * scattered changes has about as many ops as all of them together, and
 * composing each change into it in turn would walk it once per change
 * (quadratic in the number of changes).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "documents.h"

int collab_snapshot_interval = COLLAB_SNAPSHOT_INTERVAL_DEFAULT;
double collab_snapshot_ratio = COLLAB_SNAPSHOT_RATIO_DEFAULT;
int collab_batch_lock_timeout = COLLAB_BATCH_LOCK_TIMEOUT_DEFAULT;

Datum
doc_required_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("%s must not be null", what));
	return PG_GETARG_DATUM(argno);
}

text *
doc_id_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	return doc_id_check(DatumGetTextPP(doc_required_arg(fcinfo, argno, what)),
						what);
}

text *
doc_id_check(text *id, const char *what)
{
	int len = VARSIZE_ANY_EXHDR(id);

	if (len == 0 || len > WIRE_ID_BYTES_MAX)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("%s must be 1 to %d bytes long, not %d", what,
					   WIRE_ID_BYTES_MAX, len));
	return id;
}

int
doc_exec(SPIPlanPtr *plan, const char *sql, int nargs, const Oid *types,
		 Datum *values, const char *nulls, bool read_only, long count)
{
	int rc;

	if (*plan == NULL)
	{
		/* generic: planned once per backend, not once per call (custom
		 * plans for parameterised statements would replan every time) */
		SPIPlanPtr p = SPI_prepare_cursor(sql, nargs, (Oid *) types,
										  CURSOR_OPT_GENERIC_PLAN);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	rc = SPI_execute_plan(*plan, values, nulls, read_only, count);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	return rc;
}

static int64
get_int8(int row, int col)
{
	bool isnull;
	Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
							col, &isnull);

	if (isnull)
		elog(ERROR, "unexpected null in collab's tables");
	return DatumGetInt64(d);
}

void
doc_not_found(text *doc_id)
{
	ereport(ERROR, errcode(ERRCODE_NO_DATA_FOUND),
			errmsg("document \"%s\" does not exist", text_to_cstring(doc_id)));
}

void
doc_row_shape(glue_session *s, text *doc_id, int64 length, Datum astral_datum,
			  doc_row *row)
{
	ArrayType *astral = DatumGetArrayTypeP(astral_datum);
	int64 *pairs;
	int n;

	if (ARR_HASNULL(astral) || ARR_ELEMTYPE(astral) != INT8OID ||
		ARR_NDIM(astral) > 1)
		elog(ERROR, "malformed astral index of document \"%s\"",
			 text_to_cstring(doc_id));
	n = ArrayGetNItems(ARR_NDIM(astral), ARR_DIMS(astral));
	pairs = delta_arena_alloc(s->arena, (n ? n : 1) * sizeof(int64));
	if (n > 0)
		memcpy(pairs, ARR_DATA_PTR(astral), n * sizeof(int64));
	row->shape.length = length;
	row->shape.astral = (const int64_t *) pairs;
	row->shape.nastral = n;
	row->shape.bytes = -1;
	row->shape.attributes_bytes = -1;
}

void
doc_read(glue_session *s, text *doc_id, doc_row *row)
{
	static SPIPlanPtr plan;
	static const Oid types[] = {TEXTOID};
	Datum values[1] = {PointerGetDatum(doc_id)};
	bool isnull;
	Datum astral;

	doc_exec(&plan,
			 "SELECT head, length, astral FROM collab.documents"
			 " WHERE doc_id = $1",
			 1, types, values, NULL, true, 1);
	if (SPI_processed == 0)
		doc_not_found(doc_id);
	row->head = get_int8(0, 1);
	astral = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3,
						   &isnull);
	if (isnull)
		elog(ERROR, "unexpected null in collab's tables");
	doc_row_shape(s, doc_id, get_int8(0, 2), astral, row);
}

/*
 * Changes composed as a balanced tree, in order, like a binary counter:
 * parts[i] is the composite of counts[i] consecutive changes, the counts
 * strictly decreasing from the bottom, so there are at most log2(n) + 1
 * parts.  A new change is a part of 1; two neighbouring parts of equal
 * counts merge into one.  Each change is composed about log2(n) times,
 * each time into a composite of its own size class, so n changes cost
 * O(total ops x log n), not O(n x ops of the composite).  Compose is
 * associative (tests/unit/test_delta.c checks it), so the result is the
 * one composing them one after another gives.
 */
typedef struct compose_tree {
	delta **parts;
	uint64 *counts;
	int nparts;
} compose_tree;

static compose_tree
tree_new(uint64 n)
{
	compose_tree t;
	int depth = 1;

	while (n > 0)
	{
		depth++;
		n >>= 1;
	}
	t.parts = palloc(depth * sizeof(delta *));
	t.counts = palloc(depth * sizeof(uint64));
	t.nparts = 0;
	return t;
}

static void
tree_push(glue_session *s, compose_tree *t, delta *change)
{
	delta_error err;

	t->parts[t->nparts] = change;
	t->counts[t->nparts] = 1;
	t->nparts++;
	while (t->nparts >= 2 &&
		   t->counts[t->nparts - 2] == t->counts[t->nparts - 1])
	{
		delta *merged;

		glue_check(delta_compose(s->arena, t->parts[t->nparts - 2],
								 t->parts[t->nparts - 1], &merged, &err),
				   &err, "cannot rebuild document");
		t->parts[t->nparts - 2] = merged;
		t->counts[t->nparts - 2] *= 2;
		t->nparts--;
	}
	Assert(t->nparts == 1 ||
		   t->counts[t->nparts - 2] > t->counts[t->nparts - 1]);
}

/* The composite of every change pushed (an empty delta for none). */
static delta *
tree_fold(glue_session *s, compose_tree *t)
{
	delta *all;
	delta_error err;
	int i;

	if (t->nparts == 0)
	{
		all = delta_new(s->arena, &err);
		if (all == NULL)
			glue_check(DELTA_ENOMEM, &err, "out of memory");
		return all;
	}
	/* from the top, the smallest parts first */
	all = t->parts[t->nparts - 1];
	for (i = t->nparts - 2; i >= 0; i--)
		glue_check(delta_compose(s->arena, t->parts[i], all, &all, &err), &err,
				   "cannot rebuild document");
	return all;
}

delta *
doc_build(glue_session *s, text *doc_id, int64 rev, bool read_only,
		  doc_build_cost *cost)
{
	static SPIPlanPtr snapshot_plan;
	static SPIPlanPtr changes_plan;
	static const Oid types[] = {TEXTOID, INT8OID, INT8OID};
	Datum values[3] = {PointerGetDatum(doc_id), Int64GetDatum(rev), 0};
	delta *doc;
	delta *changes;
	delta *out = NULL;
	delta_error err;
	compose_tree tree;
	int64 from;
	bool isnull;
	uint64 i;

	doc_exec(&snapshot_plan,
			 "SELECT rev, content FROM collab.snapshots"
			 " WHERE doc_id = $1 AND rev <= $2 ORDER BY rev DESC LIMIT 1",
			 2, types, values, NULL, read_only, 1);
	if (SPI_processed == 0)
		elog(ERROR,
			 "document \"%s\" has no snapshot at or below "
			 "revision " INT64_FORMAT,
			 text_to_cstring(doc_id), rev);
	from = get_int8(0, 1);
	if (cost != NULL)
	{
		cost->from = from;
		cost->change_bytes = 0;
	}
	doc = glue_parse(s,
					 DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 2,
												  &isnull)),
					 "content");
	if (from == rev)
		return doc;

	values[1] = Int64GetDatum(from);
	values[2] = Int64GetDatum(rev);
	doc_exec(&changes_plan,
			 "SELECT rev, change FROM collab.change_log"
			 " WHERE doc_id = $1 AND rev > $2 AND rev <= $3 ORDER BY rev",
			 3, types, values, NULL, read_only, 0);
	if (SPI_processed != (uint64) (rev - from))
		elog(ERROR,
			 "change log of document \"%s\" has " UINT64_FORMAT
			 " changes between revisions " INT64_FORMAT " and " INT64_FORMAT,
			 text_to_cstring(doc_id), (uint64) SPI_processed, from, rev);
	tree = tree_new(SPI_processed);
	for (i = 0; i < SPI_processed; i++)
	{
		Jsonb *change =
			DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[i],
										 SPI_tuptable->tupdesc, 2, &isnull));
		delta *c = glue_parse(s, change, "change");

		if (cost != NULL)
			cost->change_bytes += (int64) delta_write_size(c);
		tree_push(s, &tree, c);
	}
	changes = tree_fold(s, &tree);
	glue_check(delta_apply(s->arena, doc, changes, &out, &err), &err,
			   "cannot rebuild document");
	return out;
}

bool
doc_snapshot_due(int64 revs, int64 bytes, int64 doc_length)
{
	if (revs >= collab_snapshot_interval)
		return true;
	if (collab_snapshot_ratio <= 0 || bytes < COLLAB_SNAPSHOT_BYTES_MIN)
		return false;
	return (double) bytes >= collab_snapshot_ratio * (double) doc_length;
}

bool
doc_snapshot_next(const doc_since *before, int64 rev, int64 change_bytes,
				  int64 doc_length, doc_since *after)
{
	bool due;

	*after = *before;
	if (!before->counted)
		return rev % collab_snapshot_interval == 0;
	/* not known, or not believable (a row edited by hand): start again */
	due = before->snapshot_rev < 0 || before->snapshot_rev >= rev ||
		  before->bytes < 0 ||
		  doc_snapshot_due(rev - before->snapshot_rev,
						   before->bytes + change_bytes, doc_length);
	after->snapshot_rev = due ? rev : before->snapshot_rev;
	after->bytes = due ? 0 : before->bytes + change_bytes;
	return due;
}

void
doc_store_snapshot(text *doc_id, int64 rev, Jsonb *content)
{
	static SPIPlanPtr plan;
	static const Oid types[] = {TEXTOID, INT8OID, JSONBOID};
	Datum values[3];

	values[0] = PointerGetDatum(doc_id);
	values[1] = Int64GetDatum(rev);
	values[2] = JsonbPGetDatum(content);
	doc_exec(&plan,
			 "INSERT INTO collab.snapshots (doc_id, rev, content)"
			 " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
			 3, types, values, NULL, false, 0);
}

/*
 * The document's head and created_at (its identity across a delete and a
 * create of the same id); false when there is no such document.
 */
static bool
doc_identity(text *doc_id, int64 *head, Datum *created_at)
{
	static SPIPlanPtr plan;
	static const Oid types[] = {TEXTOID};
	Datum values[1] = {PointerGetDatum(doc_id)};
	bool isnull;

	doc_exec(&plan,
			 "SELECT head, created_at FROM collab.documents WHERE doc_id = $1",
			 1, types, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	*head = get_int8(0, 1);
	*created_at = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								2, &isnull);
	return true;
}

bool
doc_take_snapshot(text *doc_id, int64 rev, bool strict)
{
	static SPIPlanPtr exists_plan;
	static SPIPlanPtr lock_plan;
	static const Oid types[] = {TEXTOID, INT8OID};
	Datum values[2] = {PointerGetDatum(doc_id), 0};
	glue_session s;
	bool stored = false;
	int64 head;
	Datum created_at;
	Datum locked_created_at;
	Jsonb *content;

	/* the check after the lock must see a delete committed meanwhile */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("collab.take_snapshot() needs READ COMMITTED"),
				errdetail("It checks that the document still exists after "
						  "waiting for a lock."));
	glue_begin(&s);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!doc_identity(doc_id, &head, &created_at))
	{
		if (strict)
			doc_not_found(doc_id);
		goto done;
	}
	if (rev < 0)
		rev = head;
	/* a revision nobody committed (asked for by a reader) */
	if (rev > head)
	{
		if (strict)
			ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("at_rev " INT64_FORMAT
						   " is not a revision of document \"%s\"",
						   rev, text_to_cstring(doc_id)),
					errdetail("Revisions run from 0 to " INT64_FORMAT ".",
							  head));
		goto done;
	}
	values[1] = Int64GetDatum(rev);
	doc_exec(&exists_plan,
			 "SELECT 1 FROM collab.snapshots WHERE doc_id = $1 AND rev = $2",
			 2, types, values, NULL, false, 1);
	if (SPI_processed > 0)
		goto done;
	/*
	 * Build without a lock (the log up to rev never changes), then lock the
	 * change at rev FOR KEY SHARE to store.  delete_document removes the
	 * change log before the snapshots, in a later statement: a delete that
	 * comes now waits for our commit at the change log, and its next
	 * statement sees our snapshot and removes it; one that came before
	 * leaves no row here (or, created again, a document with another
	 * created_at).  Nothing else locks change log rows, so submits never
	 * wait for a snapshot.  (Locks on the document row shared it with every
	 * submit meanwhile through MultiXacts, whose members every later read
	 * of those row versions looked up; the document's id lock made the
	 * snapshot wait behind every queued submit and its commit.)
	 */
	content = glue_to_jsonb(&s, doc_build(&s, doc_id, rev, false, NULL));
	doc_exec(&lock_plan,
			 "SELECT 1 FROM collab.change_log WHERE doc_id = $1 AND rev = $2"
			 " FOR KEY SHARE",
			 2, types, values, NULL, false, 1);
	if (SPI_processed == 0 ||
		!doc_identity(doc_id, &head, &locked_created_at) ||
		DatumGetTimestampTz(locked_created_at) !=
			DatumGetTimestampTz(created_at))
	{
		if (strict)
			doc_not_found(doc_id);
		goto done;
	}
	doc_store_snapshot(doc_id, rev, content);
	stored = true;
done:
	SPI_finish();
	glue_end(&s);
	return stored;
}

int
doc_safe_search_path(void)
{
	int level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return level;
}

bool
doc_has_column(const char *table, const char *column)
{
	Oid nsp = get_namespace_oid("collab", false);
	Oid rel = get_relname_relid(table, nsp);

	return OidIsValid(rel) && get_attnum(rel, column) != InvalidAttrNumber;
}

void
doc_write_id(glue_session *s, delta_buf *buf, text *id)
{
	char *utf8 =
		pg_server_to_any(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), PG_UTF8);
	size_t len =
		utf8 == VARDATA_ANY(id) ? VARSIZE_ANY_EXHDR(id) : strlen(utf8);
	delta_error err;

	(void) s;
	glue_check(djson_write_string(buf, utf8, len, &err), &err,
			   "out of memory");
}
