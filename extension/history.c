/*
 * history.c — reading documents: head, content (at any revision) and the
 * change log.  Readers take no locks and see the committed state as of
 * their snapshot.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "documents.h"
#include "snapshotter.h"

/* Checks that rev names a revision of a document whose head is head. */
static void
check_revision(int64 rev, int64 head, text *doc_id, const char *what)
{
	if (rev < 0 || rev > head)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("%s " INT64_FORMAT
					   " is not a revision of document \"%s\"",
					   what, rev, text_to_cstring(doc_id)),
				errdetail("Revisions run from 0 to " INT64_FORMAT ".", head));
}

/* collab.head(doc_id text) returns bigint */
PG_FUNCTION_INFO_V1(collab_head);
Datum
collab_head(PG_FUNCTION_ARGS)
{
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	glue_session s;
	doc_row row;

	glue_begin(&s);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	doc_read(&s, doc_id, &row);
	SPI_finish();
	glue_end(&s);
	PG_RETURN_INT64(row.head);
}

/* collab.content(doc_id text, at_rev bigint) returns jsonb */
PG_FUNCTION_INFO_V1(collab_content);
Datum
collab_content(PG_FUNCTION_ARGS)
{
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	glue_session s;
	doc_row row;
	int64 rev;
	doc_build_cost cost;
	delta *doc;
	Jsonb *result;

	glue_begin(&s);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	doc_read(&s, doc_id, &row);
	rev = PG_ARGISNULL(1) ? row.head : PG_GETARG_INT64(1);
	check_revision(rev, row.head, doc_id, "at_rev");
	doc = doc_build(&s, doc_id, rev, true, &cost);
	result = glue_to_jsonb(&s, doc);
	/*
	 * A snapshot that was never taken (a request lost to a full queue or a
	 * crash, or a database not yet updated to 0.4.0, whose submits count
	 * revisions only): ask again.  At twice the submits' bounds, so that
	 * one asked for and not yet stored is not asked for again.
	 */
	if (doc_snapshot_due((rev - cost.from) / 2, cost.change_bytes / 2,
						 delta_length(doc)))
		snapshotter_hint(text_to_cstring(doc_id), rev);
	SPI_finish();
	glue_end(&s);
	PG_RETURN_JSONB_P(result);
}

/*
 * collab.changes(doc_id text, since_rev bigint, until_rev bigint)
 * returns table (rev, change, client_id, client_seq, author, committed_at)
 *
 * Streams the log through a cursor into the result, a batch at a time, so
 * a long history does not sit in memory twice.
 */
PG_FUNCTION_INFO_V1(collab_changes);
Datum
collab_changes(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan;
	static const Oid types[] = {TEXTOID, INT8OID, INT8OID};
	text *doc_id = doc_id_arg(fcinfo, 0, "doc_id");
	int64 since = DatumGetInt64(doc_required_arg(fcinfo, 1, "since_rev"));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	glue_session s;
	doc_row row;
	int64 until;
	Datum values[3];
	Portal cursor;

	InitMaterializedSRF(fcinfo, 0);
	glue_begin(&s);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	doc_read(&s, doc_id, &row);
	check_revision(since, row.head, doc_id, "since_rev");
	until = PG_ARGISNULL(2) ? row.head : PG_GETARG_INT64(2);
	if (until < since)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("until_rev " INT64_FORMAT
					   " is before since_rev " INT64_FORMAT,
					   until, since));

	if (plan == NULL)
	{
		SPIPlanPtr p = SPI_prepare_cursor(
			"SELECT rev, change, client_id, client_seq, author, committed_at"
			" FROM collab.change_log"
			" WHERE doc_id = $1 AND rev > $2 AND rev <= $3"
			" ORDER BY rev",
			3, (Oid *) types, CURSOR_OPT_GENERIC_PLAN);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_prepare failed: %s",
				 SPI_result_code_string(SPI_result));
		plan = p;
	}
	values[0] = PointerGetDatum(doc_id);
	values[1] = Int64GetDatum(since);
	values[2] = Int64GetDatum(until);
	cursor = SPI_cursor_open(NULL, plan, values, NULL, true);
	for (;;)
	{
		uint64 i;

		SPI_cursor_fetch(cursor, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(cursor);
	SPI_finish();
	glue_end(&s);
	return (Datum) 0;
}
