/*
 * recent.c — the changes of the document a batch is writing, parsed once
 * (recent.h has the why and the invariants).
 *
 * A change is kept as its jsonb and parsed when first asked for: a batch
 * over many documents, one submit each, moves on to the next document
 * without parsing what it kept.
 *
 * Memory: the set is a struct in its creator's context; what it holds (the
 * document's id, the changes, their index) lives in a glue session of its
 * own, emptied when the set is forgotten or moves to another document.
 * The scratch a parse leaves (jsonb iterators) stays in the caller's
 * context.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "delta_glue.h"
#include "recent.h"

struct recent_changes {
	glue_session s; /* holds doc_id, changes and what they point to */
	text *doc_id;	/* NULL: nothing held */
	TimestampTz created;
	int64 first; /* the revision of changes[0] */
	int count;
	int cap;
	struct held {
		Jsonb *json;		 /* as in the log, copied */
		const delta *parsed; /* NULL until asked for */
	} * changes;
};

recent_changes *
recent_create(void)
{
	recent_changes *r = palloc0(sizeof(recent_changes));
	MemoryContext caller = CurrentMemoryContext;

	glue_begin(&r->s);
	MemoryContextSwitchTo(caller);
	return r;
}

void
recent_forget(recent_changes *r)
{
	if (r->doc_id == NULL && r->count == 0)
		return;
	/* emptied, not made again: a batch over many documents forgets at
	 * every submit */
	glue_reset(&r->s);
	r->doc_id = NULL;
	r->count = 0;
	r->cap = 0;
	r->changes = NULL;
}

static bool
same_document(const recent_changes *r, text *doc_id, TimestampTz created)
{
	return r->doc_id != NULL && r->created == created &&
		   VARSIZE_ANY_EXHDR(r->doc_id) == VARSIZE_ANY_EXHDR(doc_id) &&
		   memcmp(VARDATA_ANY(r->doc_id), VARDATA_ANY(doc_id),
				  VARSIZE_ANY_EXHDR(doc_id)) == 0;
}

bool
recent_covers(const recent_changes *r, text *doc_id, TimestampTz created,
			  int64 from, int64 to)
{
	if (from > to)
		return true;
	return same_document(r, doc_id, created) && from >= r->first &&
		   to < r->first + r->count;
}

const delta *
recent_get(recent_changes *r, int64 rev)
{
	struct held *h;

	if (r->doc_id == NULL || rev < r->first || rev >= r->first + r->count)
		return NULL;
	h = &r->changes[rev - r->first];
	if (h->parsed == NULL)
		h->parsed = glue_parse(&r->s, h->json, "change");
	return h->parsed;
}

void
recent_add(recent_changes *r, text *doc_id, TimestampTz created, int64 rev,
		   Jsonb *change)
{
	Jsonb *json;

	if (!same_document(r, doc_id, created) || rev != r->first + r->count)
	{
		recent_forget(r);
		r->doc_id = MemoryContextAlloc(r->s.mcxt, VARSIZE_ANY(doc_id));
		memcpy(r->doc_id, doc_id, VARSIZE_ANY(doc_id));
		r->created = created;
		r->first = rev;
	}
	if (r->count == r->cap)
	{
		int cap = r->cap ? r->cap * 2 : 64;

		r->changes =
			r->changes
				? repalloc(r->changes, cap * sizeof(struct held))
				: MemoryContextAlloc(r->s.mcxt, cap * sizeof(struct held));
		r->cap = cap;
	}
	json = MemoryContextAlloc(r->s.mcxt, VARSIZE(change));
	memcpy(json, change, VARSIZE(change));
	r->changes[r->count].json = json;
	r->changes[r->count].parsed = NULL;
	r->count++;
}
