/*
 * quota.c — how large a change and a document may be.
 *
 * Both are measured as collab writes their JSON (normalised, compact,
 * UTF-8; content()::text adds spaces).  Every check runs before anything is
 * written, so a refused change leaves no trace and every stored document
 * stays under the limit it was written with: content() can always build it.
 *
 * A submit never reads the document, and must not start now: the size after
 * a change comes from the bound the documents row keeps (core/shape.c), which
 * is exact after a create or a measurement and only grows looser.  Under the
 * limit, that is the whole check.  Over it (or unknown, as in rows from
 * before 0.3.0), the document is built and measured, which costs what a read
 * of the head does, and the row gets the exact size again: documents near
 * the limit pay that on every submit that might cross it, no others.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/guc.h"

#include "quota.h"

int collab_max_change_bytes = COLLAB_MAX_CHANGE_BYTES_DEFAULT;
int collab_max_document_bytes = COLLAB_MAX_DOCUMENT_BYTES_DEFAULT;

void
quota_check_change(const delta *change)
{
	size_t bytes = delta_write_size(change);

	if (bytes > (size_t) collab_max_change_bytes)
		ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				errmsg("change of %zu bytes exceeds collab.max_change_bytes "
					   "(%d)",
					   bytes, collab_max_change_bytes),
				errdetail("The size is that of the change's JSON, "
						  "normalised and without spaces."));
}

static void
too_large(text *doc_id, int64 bytes)
{
	ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			errmsg("document \"%s\" would be " INT64_FORMAT
				   " bytes, more than collab.max_document_bytes (%d)",
				   text_to_cstring(doc_id), bytes, collab_max_document_bytes),
			errdetail("The size is that of the document's JSON, without "
					  "spaces."));
}

void
quota_check_new_document(text *doc_id, const delta_shape *shape)
{
	Assert(shape->bytes >= 0);
	if (shape->bytes > collab_max_document_bytes)
		too_large(doc_id, shape->bytes);
}

void
quota_check_submit(glue_session *s, text *doc_id, int64 head,
				   const delta *change, delta_shape *after)
{
	int guc_level;
	delta *before;
	delta *result;
	delta_shape exact;
	delta_error err;

	if (after->bytes >= 0 && after->attributes_bytes >= 0 &&
		after->bytes <= collab_max_document_bytes)
		return;

	/* SQL: with a search_path of our own (submit has no SET clause) */
	guc_level = doc_safe_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	before = doc_build(s, doc_id, head, false, NULL);
	SPI_finish();
	AtEOXact_GUC(true, guc_level);

	glue_check(delta_apply(s->arena, before, change, &result, &err), &err,
			   "cannot apply change");
	glue_check(delta_shape_of(s->arena, result, &exact, &err), &err,
			   "cannot measure document");
	Assert(exact.length == after->length && exact.nastral == after->nastral);
	if (exact.bytes > collab_max_document_bytes &&
		exact.bytes > (int64) delta_write_size(before))
		too_large(doc_id, exact.bytes);
	after->bytes = exact.bytes;
	after->attributes_bytes = exact.attributes_bytes;
}
