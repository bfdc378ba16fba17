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

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "documents.h"
#include "formats.h"
#include "identity.h"
#include "notify.h"
#include "quota.h"
#include "snapshotter.h"
#include "store.h"

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
	if (doc_has_column("documents", "json_bytes"))
		doc_exec(&plan,
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

/*
 * collab.submit(doc_id text, base_rev bigint, change jsonb,
 *               client_id text, client_seq bigint, author text)
 * returns table (rev bigint, change jsonb)
 */
PG_FUNCTION_INFO_V1(collab_submit);
Datum
collab_submit(PG_FUNCTION_ARGS)
{
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	int64 base_rev = DatumGetInt64(doc_required_arg(fcinfo, 1, "base_rev"));
	Jsonb *change_arg = DatumGetJsonbP(doc_required_arg(fcinfo, 2, "change"));
	text *client_id =
		PG_ARGISNULL(3) ? NULL : doc_id_arg(fcinfo, 3, "client_id");
	int64 client_seq = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
	char *author =
		PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	glue_session s;
	doc_store st;
	delta *change;
	doc_row row;
	delta_shape after;
	delta_status status;
	delta_error err;
	store_entry entry = {0};
	store_entry first;
	Datum result[2];
	bool result_nulls[2] = {false, false};

	if ((client_id == NULL) != PG_ARGISNULL(4))
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("client_id and client_seq must be given together"));
	if (base_rev < 0)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("base revision must not be negative, not " INT64_FORMAT,
					   base_rev));
	/* the executor would check these for SQL; store.c writes without it */
	PreventCommandIfReadOnly("collab.submit()");
	PreventCommandDuringRecovery("collab.submit()");
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

	glue_begin(&s);
	entry.author = identity_author(author, "author");
	change = glue_parse(&s, change_arg, "change");
	formats_check(change, "change");
	quota_check_change(change);
	if (client_id != NULL)
	{
		entry.client_id = client_id;
		entry.client_seq = client_seq;
		entry.client_base_rev = base_rev;
		entry.client_change_hash = change_hash(&s, change);
	}
	store_open(&st);
	store_lock_document(&st, &s, doc_id, &row);
	if (client_id != NULL &&
		store_find_resubmit(&st, doc_id, client_id, client_seq, &first))
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
		change = store_transform_to_head(&st, &s, doc_id, base_rev, change);
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
	store_append(&st, doc_id, &entry, &after, astral_array(&after));
	/* snapshots are taken after commit when the snapshotter can run */
	if (entry.rev % collab_snapshot_interval == 0 &&
		!snapshotter_request(text_to_cstring(doc_id), entry.rev))
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
	notify_change(&s, doc_id, entry.rev, client_id, client_seq, change);

done:
	store_close(&st);
	/* the tuplestore copies the row: do it while the session's memory lives */
	result[0] = Int64GetDatum(entry.rev);
	result[1] = JsonbPGetDatum(entry.change);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result,
						 result_nulls);
	glue_end(&s);
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
