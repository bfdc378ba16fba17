/*
 * submit.c — writing documents: create_document, submit, delete_document.
 *
 * Ordering: every writer of a document (submit, delete) first locks its id
 * (store_lock_id) and holds the lock until commit.  So submits to one
 * document run one at a time, in the order they came, each sees every
 * change committed before it, head + 1 is always the next revision, and
 * the revisions commit in order with no gap (a rolled-back submit also
 * rolls back its head).  Reads take no locks.  docs/documents.md has the
 * why.
 *
 * What a writer may write is checked before anything is written, most of it
 * before the lock: the formats (formats.c), the change's size (quota.c),
 * then, under the lock, a repeated (client, seq) against its first
 * submission, the change against the head's shape, and the document's size.
 * Who is recorded as the writer is identity.c's answer.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"

#include "documents.h"
#include "formats.h"
#include "identity.h"
#include "notify.h"
#include "quota.h"
#include "recent.h"
#include "snapshotter.h"
#include "store.h"
#include "wire.h"

static Datum
astral_array(const delta_shape *shape)
{
	Datum *items =
		palloc((shape->nastral ? shape->nastral : 1) * sizeof(Datum));
	size_t i;

	for (i = 0; i < shape->nastral; i++)
		items[i] = Int64GetDatum(shape->astral[i]);
	return PointerGetDatum(construct_array(items, (int) shape->nastral,
										   INT8OID, 8, FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

static bool
ends_with_newline(const delta *doc)
{
	const delta_op *last;

	if (doc->count == 0)
		return false;
	last = &doc->ops[doc->count - 1];
	return last->embed == NULL && last->bytes > 0 &&
		   last->text[last->bytes - 1] == '\n';
}

/*
 * collab.create_document(doc_id text, content jsonb, created_by text)
 * returns bigint: the document at revision 0.  (Declared without created_by
 * before 0.3.0.)
 */
PG_FUNCTION_INFO_V1(collab_create_document);
Datum
collab_create_document(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan;
	static SPIPlanPtr plan_0_3; /* tables without the count since the last
								 * snapshot */
	static SPIPlanPtr plan_0_1; /* tables without the size bounds */
	static const Oid types[] = {TEXTOID, INT8OID, INT8ARRAYOID,
								TEXTOID, INT8OID, INT8OID};
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	Jsonb *content = DatumGetJsonbP(doc_required_arg(fcinfo, 1, "content"));
	char *created_by = PG_NARGS() > 2 && !PG_ARGISNULL(2)
						   ? text_to_cstring(PG_GETARG_TEXT_PP(2))
						   : NULL;
	glue_session s;
	delta *doc;
	delta_shape shape;
	delta_error err;
	Datum values[6];

	glue_begin(&s);
	created_by = identity_author(created_by, "created_by");
	doc = glue_parse(&s, content, "content");
	if (!delta_is_document(doc))
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("content must be a document: inserts only"));
	formats_check(doc, "content");
	if (!ends_with_newline(doc))
	{
		/* Quill documents end with a newline; so do collab's */
		delta_op newline = {DELTA_OP_INSERT, 1, "\n", 1, NULL, NULL};

		glue_check(delta_push(s.arena, doc, &newline, &err), &err,
				   "out of memory");
	}
	glue_check(delta_shape_of(s.arena, doc, &shape, &err), &err,
			   "content must be a document");
	quota_check_new_document(doc_id, &shape);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = PointerGetDatum(doc_id);
	values[1] = Int64GetDatum(shape.length);
	values[2] = astral_array(&shape);
	values[3] = CStringGetTextDatum(created_by);
	values[4] = Int64GetDatum(shape.bytes);
	values[5] = Int64GetDatum(shape.attributes_bytes);
	/* its snapshot is revision 0's, stored below */
	if (doc_has_column("documents", "bytes_since_snapshot"))
		doc_exec(&plan,
				 "INSERT INTO collab.documents (doc_id, head, length, astral, "
				 "created_by, json_bytes, attributes_bytes, snapshot_rev, "
				 "bytes_since_snapshot)"
				 " VALUES ($1, 0, $2, $3, $4, $5, $6, 0, 0)"
				 " ON CONFLICT (doc_id) DO NOTHING",
				 6, types, values, NULL, false, 0);
	else if (doc_has_column("documents", "json_bytes"))
		doc_exec(&plan_0_3,
				 "INSERT INTO collab.documents (doc_id, head, length, astral, "
				 "created_by, json_bytes, attributes_bytes)"
				 " VALUES ($1, 0, $2, $3, $4, $5, $6)"
				 " ON CONFLICT (doc_id) DO NOTHING",
				 6, types, values, NULL, false, 0);
	else
		doc_exec(&plan_0_1,
				 "INSERT INTO collab.documents (doc_id, head, length, astral, "
				 "created_by)"
				 " VALUES ($1, 0, $2, $3, $4) ON CONFLICT (doc_id) DO NOTHING",
				 4, types, values, NULL, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR, errcode(ERRCODE_UNIQUE_VIOLATION),
				errmsg("document \"%s\" already exists",
					   text_to_cstring(doc_id)));
	doc_store_snapshot(doc_id, 0, glue_to_jsonb(&s, doc));
	SPI_finish();
	glue_end(&s);
	PG_RETURN_INT64(0);
}

/*
 * SHA-256 of the change's canonical JSON (normalised, compact): what a
 * resubmit is compared with, whatever spacing or op splitting its JSON has.
 */
static bytea *
change_hash(glue_session *s, const delta *change)
{
	bytea *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	pg_cryptohash_ctx *ctx;
	delta_buf buf;
	delta_error err;

	delta_buf_init(&buf, s->arena);
	glue_check(delta_write(&buf, change, &err), &err, "out of memory");
	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) buf.data, buf.len) < 0 ||
		pg_cryptohash_final(ctx, (uint8 *) VARDATA(hash),
							PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not hash a change: %s",
			 ctx ? pg_cryptohash_error(ctx) : "out of memory");
	pg_cryptohash_free(ctx);
	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	return hash;
}

/*
 * A repeated (client, seq) is its first submission again, or an error: the
 * same base revision and the same change (a first submission stored before
 * 0.3.0 did not record them, and is taken on its word, as then).  Otherwise
 * the pair was reused, and acknowledging the first one's result would tell
 * the client that a change it never stored was.
 */
static void
check_resubmit(const store_entry *first, text *doc_id, int64 base_rev,
			   const bytea *hash)
{
	bool base_differs =
		first->client_base_rev >= 0 && first->client_base_rev != base_rev;
	bool change_differs =
		first->client_change_hash != NULL &&
		(VARSIZE_ANY_EXHDR(first->client_change_hash) !=
			 VARSIZE_ANY_EXHDR(hash) ||
		 memcmp(VARDATA_ANY(first->client_change_hash), VARDATA_ANY(hash),
				VARSIZE_ANY_EXHDR(hash)) != 0);

	if (!base_differs && !change_differs)
		return;
	ereport(ERROR, errcode(ERRCODE_COLLAB_DUPLICATE_SEQ),
			errmsg("client \"%s\" already submitted seq " INT64_FORMAT
				   " to document \"%s\" with %s",
				   text_to_cstring(first->client_id), first->client_seq,
				   text_to_cstring(doc_id),
				   base_differs ? "another base revision" : "another change"),
			base_differs
				? errdetail("The first submission, now revision " INT64_FORMAT
							", was made against revision " INT64_FORMAT
							", this one against " INT64_FORMAT ".",
							first->rev, first->client_base_rev, base_rev)
				: errdetail("The first submission is revision " INT64_FORMAT
							".",
							first->rev),
			errhint("A resubmit repeats the base revision and the change; a "
					"new change takes a new seq."));
}

/* One submit: what collab.submit takes, or one row of submit_batch. */
typedef struct submit_args {
	text *doc_id;
	int64 base_rev;
	Jsonb *change;
	text *client_id; /* NULL: none (then has_seq is false too) */
	bool has_seq;
	int64 client_seq;
	char *author; /* NULL: none named */
} submit_args;

/* What a submit gave: its revision and its change, as stored. */
typedef struct submit_result {
	int64 rev;
	Jsonb *change;
} submit_result;

/*
 * Applies one submit (or returns its first submission's result) and puts
 * the result, allocated in result_cxt, in *out.  Raises every error of
 * collab.submit; writes nothing before the last of them can be raised.
 * recent (NULL but for submit_batch) holds the document's changes parsed
 * by the batch's submits before; this one's is added to it.
 */
static void
submit_one(const submit_args *a, MemoryContext result_cxt,
		   recent_changes *recent, submit_result *out)
{
	text *doc_id = a->doc_id;
	int64 base_rev = a->base_rev;
	glue_session s;
	doc_store st;
	delta *change;
	doc_row row;
	delta_shape after;
	delta_status status;
	delta_error err;
	store_entry entry = {0};
	store_entry first;
	doc_since since;
	bool due;
	MemoryContext caller = MemoryContextSwitchTo(result_cxt);

	if ((a->client_id == NULL) != !a->has_seq)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("client_id and client_seq must be given together"));
	if (base_rev < 0)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("base revision must not be negative, not " INT64_FORMAT,
					   base_rev));
	/* the executor would check these for SQL; store.c writes without it */
	PreventCommandIfReadOnly("collab.submit()");
	PreventCommandDuringRecovery("collab.submit()");

	/* the session's results (glue_to_jsonb) land in result_cxt */
	glue_begin(&s);
	entry.author = identity_author(a->author, "author");
	change = glue_parse(&s, a->change, "change");
	formats_check(change, "change");
	quota_check_change(change);
	if (a->client_id != NULL)
	{
		entry.client_id = a->client_id;
		entry.client_seq = a->client_seq;
		entry.client_base_rev = base_rev;
		entry.client_change_hash = change_hash(&s, change);
	}
	store_open(&st);
	store_lock_document(&st, &s, doc_id, &row);
	if (a->client_id != NULL &&
		store_find_resubmit(&st, doc_id, a->client_id, a->client_seq, &first))
	{
		check_resubmit(&first, doc_id, base_rev, entry.client_change_hash);
		entry.rev = first.rev;
		entry.change = first.change;
		goto done;
	}
	if (base_rev > row.head)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("base revision " INT64_FORMAT
					   " is ahead of the head revision " INT64_FORMAT
					   " of document \"%s\"",
					   base_rev, row.head, text_to_cstring(doc_id)));
	if (base_rev < row.head)
		change = store_transform_to_head(&st, &s, doc_id, base_rev, row.head,
										 change, recent);
	status =
		delta_shape_apply(s.arena, &row.shape, change, true, &after, &err);
	if (status != DELTA_OK)
		glue_check(status, &err,
				   psprintf("change does not apply to document \"%s\" at "
							"revision " INT64_FORMAT,
							text_to_cstring(doc_id), row.head));
	quota_check_submit(&s, doc_id, row.head, change, &after);

	entry.rev = row.head + 1;
	entry.change = glue_to_jsonb(&s, change);
	due = doc_snapshot_next(&row.since, entry.rev,
							(int64) delta_write_size(change), after.length,
							&since);
	store_append(&st, doc_id, &entry, &after, astral_array(&after), &since);
	/* snapshots are taken after commit when the snapshotter can run */
	if (due && !snapshotter_request(text_to_cstring(doc_id), entry.rev))
	{
		/* SQL: with a search_path of our own (submit has no SET clause) */
		int guc_level = doc_safe_search_path();

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		doc_store_snapshot(doc_id, entry.rev,
						   glue_to_jsonb(&s, doc_build(&s, doc_id, entry.rev,
													   false, NULL)));
		SPI_finish();
		AtEOXact_GUC(true, guc_level);
	}
	notify_change(&s, doc_id, entry.rev, a->client_id, a->client_seq, change);
	/* for the batch's next submit to this document (a snapshot is not) */
	if (recent)
		recent_add(recent, doc_id, store_created_at(&st), entry.rev,
				   entry.change);

done:
	store_close(&st);
	/* a first submission's change is read into the session's memory: kept
	 * while the session lives, so copied out */
	out->rev = entry.rev;
	out->change = MemoryContextAlloc(result_cxt, VARSIZE(entry.change));
	memcpy(out->change, entry.change, VARSIZE(entry.change));
	glue_end(&s);
	MemoryContextSwitchTo(caller);
}

/* The set-returning function's tuplestore, made for our caller's row. */
static ReturnSetInfo *
materialize(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	/* InitMaterializedSRF raises this error too; saying it here tells the
	 * reader (and clang-tidy) that rsinfo is set below */
	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("set-valued function called in context that cannot "
					   "accept a set"));
	/* the executor's description of our row, if it has one: cheaper than
	 * building it again from pg_proc */
	InitMaterializedSRF(fcinfo, rsinfo->expectedDesc != NULL
									? MAT_SRF_USE_EXPECTED_DESC
									: 0);
	return rsinfo;
}

/*
 * collab.submit(doc_id text, base_rev bigint, change jsonb,
 *               client_id text, client_seq bigint, author text)
 * returns table (rev bigint, change jsonb)
 */
PG_FUNCTION_INFO_V1(collab_submit);
Datum
collab_submit(PG_FUNCTION_ARGS)
{
	submit_args a = {
		.doc_id = doc_id_arg(fcinfo, 0, "doc_id"),
		.base_rev = DatumGetInt64(doc_required_arg(fcinfo, 1, "base_rev")),
		.change = DatumGetJsonbP(doc_required_arg(fcinfo, 2, "change")),
		.client_id =
			PG_ARGISNULL(3) ? NULL : doc_id_arg(fcinfo, 3, "client_id"),
		.has_seq = !PG_ARGISNULL(4),
		.client_seq = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4),
		.author =
			PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5)),
	};
	ReturnSetInfo *rsinfo;
	submit_result r;
	Datum result[2];
	bool result_nulls[2] = {false, false};

	rsinfo = materialize(fcinfo);
	submit_one(&a, CurrentMemoryContext, NULL, &r);
	result[0] = Int64GetDatum(r.rev);
	result[1] = JsonbPGetDatum(r.change);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result,
						 result_nulls);
	return (Datum) 0;
}

/*
 * submit_batch's arrays, one element per submit; the optional ones (client
 * ids, seqs, authors) may be null as a whole, which is a null per submit.
 */
typedef struct batch_column {
	Datum *values;
	bool *nulls;
	int n; /* -1: the array is null */
} batch_column;

static batch_column
batch_column_arg(FunctionCallInfo fcinfo, int argno, const char *what,
				 bool required)
{
	batch_column c = {NULL, NULL, -1};
	ArrayType *array;
	Oid type;
	int16 len;
	bool byval;
	char align;

	if (PG_ARGISNULL(argno))
	{
		if (required)
			ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					errmsg("%s must not be null", what));
		return c;
	}
	array = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR, errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				errmsg("%s must be a one-dimensional array", what));
	type = ARR_ELEMTYPE(array);
	get_typlenbyvalalign(type, &len, &byval, &align);
	deconstruct_array(array, type, len, byval, align, &c.values, &c.nulls,
					  &c.n);
	return c;
}

/* The batch's order: by id lock, then id, then as given (doc_ids). */
static batch_column *sort_ids;
static uint64 *sort_keys;

static int
batch_order(const void *pa, const void *pb)
{
	int a = *(const int *) pa;
	int b = *(const int *) pb;
	bool a_null = sort_ids->nulls[a];
	bool b_null = sort_ids->nulls[b];

	if (a_null || b_null)
		return a_null != b_null ? (a_null ? -1 : 1) : (a > b) - (a < b);
	if (sort_keys[a] != sort_keys[b])
		return sort_keys[a] < sort_keys[b] ? -1 : 1;
	{
		text *ta = DatumGetTextPP(sort_ids->values[a]);
		text *tb = DatumGetTextPP(sort_ids->values[b]);
		int la = VARSIZE_ANY_EXHDR(ta);
		int lb = VARSIZE_ANY_EXHDR(tb);
		int c = memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), Min(la, lb));

		if (c != 0)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	return (a > b) - (a < b);
}

/* Whether submits A and B of the batch name one document (ids). */
static bool
same_document(const batch_column *ids, int a, int b)
{
	text *ta, *tb;

	if (ids->nulls[a] || ids->nulls[b])
		return false;
	ta = DatumGetTextPP(ids->values[a]);
	tb = DatumGetTextPP(ids->values[b]);
	return VARSIZE_ANY_EXHDR(ta) == VARSIZE_ANY_EXHDR(tb) &&
		   memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) ==
			   0;
}

/* What one submit of a batch gave: a result or an error. */
typedef struct batch_outcome {
	submit_result result;
	ErrorData *error; /* NULL: it landed */
} batch_outcome;

/* Submit i of the batch, its arguments from the arrays (each null element
 * raising the error collab.submit raises for that null argument). */
static void
batch_submit_one(batch_column *cols, int i, MemoryContext result_cxt,
				 recent_changes *recent, submit_result *out)
{
	submit_args a = {0};

	if (cols[0].nulls[i])
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("doc_id must not be null"));
	a.doc_id = doc_id_check(DatumGetTextPP(cols[0].values[i]), "doc_id");
	if (cols[1].nulls[i])
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("base_rev must not be null"));
	a.base_rev = DatumGetInt64(cols[1].values[i]);
	if (cols[2].nulls[i])
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("change must not be null"));
	a.change = DatumGetJsonbP(cols[2].values[i]);
	if (cols[3].n >= 0 && !cols[3].nulls[i])
		a.client_id =
			doc_id_check(DatumGetTextPP(cols[3].values[i]), "client_id");
	if (cols[4].n >= 0 && !cols[4].nulls[i])
	{
		a.has_seq = true;
		a.client_seq = DatumGetInt64(cols[4].values[i]);
	}
	if (cols[5].n >= 0 && !cols[5].nulls[i])
		a.author = TextDatumGetCString(cols[5].values[i]);
	submit_one(&a, result_cxt, recent, out);
}

/*
 * Runs submit i of the batch in a subtransaction of its own: an error rolls
 * back that submit alone and becomes its outcome; the others go on.  A
 * cancel (statement_timeout, pg_cancel_backend) is not a submit's error:
 * it ends the whole statement, as it would any other.
 */
static void
batch_run(batch_column *cols, int i, MemoryContext result_cxt,
		  recent_changes *recent, batch_outcome *out)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	/*
	 * A document held by another transaction (an application's, for
	 * seconds) must not hold the whole batch: its submit waits at most
	 * collab.batch_lock_timeout, for this subtransaction only (a setting
	 * saved here is restored at its end, committed or not).
	 */
	if (collab_batch_lock_timeout > 0 &&
		(LockTimeout == 0 || LockTimeout > collab_batch_lock_timeout))
	{
		char ms[16];

		snprintf(ms, sizeof(ms), "%d", collab_batch_lock_timeout);
		(void) set_config_option("lock_timeout", ms, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
								 false);
	}
	PG_TRY();
	{
		batch_submit_one(cols, i, result_cxt, recent, &out->result);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData *error;

		MemoryContextSwitchTo(result_cxt);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		/* what this submit added rolled back, and the document's lock
		 * with it: another writer may come between (recent.h) */
		recent_forget(recent);
		if (error->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(error);
		if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE &&
			!cols[0].nulls[i])
			error->message = psprintf(
				"document \"%s\" is held by another transaction: submit "
				"again",
				TextDatumGetCString(cols[0].values[i]));
		out->error = error;
	}
	PG_END_TRY();
}

/*
 * A backend that takes batches keeps the heap it frees, up to
 * KEEP_HEAP_BYTES, instead of giving it back to the kernel after every
 * statement.  glibc trims the top of the heap once more than 128 kB is
 * free there, and a batch frees more than that: each trim is a brk()
 * whose TLB shootdown interrupts every CPU the process ran on, and the
 * next batch faults the same pages in again.  Profiled on a hot document
 * (docs/speed.md), that was a fifth of the backend's time once its
 * submits stopped parsing the same changes again (recent.c), and more on
 * a loaded virtual machine, where the interrupted CPU may be descheduled.
 * Allocations above a quarter of it are mapped and unmapped as before.
 * Only the backends that call submit_batch (the notifier's pool) are
 * changed.
 */
#define KEEP_HEAP_BYTES (16 * 1024 * 1024)

static void
keep_freed_heap(void)
{
#ifdef __GLIBC__
	static bool done;

	if (done)
		return;
	done = true;
	/* setting either fixes both, which glibc otherwise moves up with the
	 * largest mapped block freed: both set, to what is meant */
	(void) mallopt(M_MMAP_THRESHOLD, KEEP_HEAP_BYTES / 4);
	(void) mallopt(M_TRIM_THRESHOLD, KEEP_HEAP_BYTES);
#endif
}

/*
 * collab.submit_batch(doc_ids text[], base_revs bigint[], changes jsonb[],
 *                     client_ids text[], client_seqs bigint[],
 *                     authors text[])
 * returns table (ord int, rev bigint, change jsonb, sqlstate text,
 *                message text)
 *
 * Many submits in one statement and one transaction: what the notifier
 * sends when submits queue up (docs/speed.md).  Each is collab.submit's
 * work with collab.submit's errors, in a subtransaction of its own, so one
 * that fails (its row: sqlstate and message) leaves the others.  They run
 * in the order of their documents' id locks, so two batches never wait
 * for each other in a cycle; submits to one document keep their order and
 * take consecutive revisions.  The rows come in the order given (ord, from
 * 1).
 */
PG_FUNCTION_INFO_V1(collab_submit_batch);
Datum
collab_submit_batch(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"doc_ids",	   "base_revs",
										"changes",	   "client_ids",
										"client_seqs", "authors"};
	batch_column cols[6];
	ReturnSetInfo *rsinfo;
	MemoryContext result_cxt = CurrentMemoryContext;
	batch_outcome *outcomes;
	recent_changes *recent;
	uint64 *keys;
	int *order;
	int n;

	for (int c = 0; c < 6; c++)
		cols[c] = batch_column_arg(fcinfo, c, names[c], c < 3);
	n = cols[0].n;
	for (int c = 1; c < 6; c++)
		if (cols[c].n >= 0 && cols[c].n != n)
			ereport(ERROR, errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					errmsg("%s has %d elements, doc_ids %d", names[c],
						   cols[c].n, n),
					errhint("Every array has one element per submit."));
	if (n > WIRE_SUBMIT_BATCH_MAX)
		ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				errmsg("a batch takes at most %d submits, not %d",
					   WIRE_SUBMIT_BATCH_MAX, n));
	rsinfo = materialize(fcinfo);
	keep_freed_heap();

	outcomes = palloc0(Max(n, 1) * sizeof(batch_outcome));
	recent = recent_create();
	keys = palloc(Max(n, 1) * sizeof(uint64));
	order = palloc(Max(n, 1) * sizeof(int));
	for (int i = 0; i < n; i++)
	{
		order[i] = i;
		keys[i] = cols[0].nulls[i]
					  ? 0
					  : store_lock_key(DatumGetTextPP(cols[0].values[i]));
	}
	sort_ids = &cols[0];
	sort_keys = keys;
	qsort(order, n, sizeof(int), batch_order);
	sort_ids = NULL;
	sort_keys = NULL;

	for (int k = 0; k < n; k++)
	{
		int i = order[k], before = k > 0 ? order[k - 1] : -1;
		ErrorData *held = before >= 0 ? outcomes[before].error : NULL;

		/* a document that stayed held for one submit is held for the next
		 * of the same document (they are neighbours in this order): fail it
		 * at once rather than wait again */
		if (held && held->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE &&
			same_document(&cols[0], before, i))
		{
			outcomes[i].error = held;
			continue;
		}
		batch_run(cols, i, result_cxt, recent, &outcomes[i]);
	}

	for (int i = 0; i < n; i++)
	{
		Datum row[5];
		bool nulls[5] = {false, false, false, false, false};
		ErrorData *error = outcomes[i].error;

		row[0] = Int32GetDatum(i + 1);
		if (error == NULL)
		{
			row[1] = Int64GetDatum(outcomes[i].result.rev);
			row[2] = JsonbPGetDatum(outcomes[i].result.change);
			nulls[3] = nulls[4] = true;
		}
		else
		{
			nulls[1] = nulls[2] = true;
			row[3] = CStringGetTextDatum(unpack_sql_state(error->sqlerrcode));
			row[4] = CStringGetTextDatum(error->message ? error->message
														: "submit failed");
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

/*
 * collab.take_snapshot(doc_id text, at_rev bigint) returns boolean: the
 * snapshotter's work, now (an administrator's, and the isolation specs').
 */
PG_FUNCTION_INFO_V1(collab_take_snapshot);
Datum
collab_take_snapshot(PG_FUNCTION_ARGS)
{
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	int64 rev = PG_ARGISNULL(1) ? -1 : PG_GETARG_INT64(1);

	if (rev < -1 || (!PG_ARGISNULL(1) && rev < 0))
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("at_rev must not be negative, not " INT64_FORMAT, rev));
	PG_RETURN_BOOL(doc_take_snapshot(doc_id, rev, true));
}

/* collab.delete_document(doc_id text) returns void */
PG_FUNCTION_INFO_V1(collab_delete_document);
Datum
collab_delete_document(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr doc_plan;
	static SPIPlanPtr log_plan;
	static SPIPlanPtr snap_plan;
	static const Oid types[] = {TEXTOID};
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	Datum values[1] = {PointerGetDatum(doc_id)};
	glue_session s;

	glue_begin(&s);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* first the id, then the row: this waits for a submit in progress,
	 * and a later one waits for us, then finds no document.  The change
	 * log goes before the snapshots: a snapshot being stored holds a lock
	 * there, and the snapshots' statement, after it, sees its row */
	store_lock_id(doc_id);
	doc_exec(&doc_plan, "DELETE FROM collab.documents WHERE doc_id = $1", 1,
			 types, values, NULL, false, 0);
	if (SPI_processed == 0)
		doc_not_found(doc_id);
	doc_exec(&log_plan, "DELETE FROM collab.change_log WHERE doc_id = $1", 1,
			 types, values, NULL, false, 0);
	doc_exec(&snap_plan, "DELETE FROM collab.snapshots WHERE doc_id = $1", 1,
			 types, values, NULL, false, 0);
	notify_deleted(&s, doc_id);
	SPI_finish();
	glue_end(&s);
	PG_RETURN_VOID();
}
