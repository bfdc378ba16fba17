/*
 * recent.c — the changes of the document a batch is writing, parsed once
 * (recent.h has the why and the invariants).
 *
 * Memory: the set is a struct in its creator's context; what it holds (the
 * document's id, the parsed changes, their index) lives in a glue session
 * of its own, deleted and made again when the set is forgotten or moves to
 * another document.  The scratch a parse leaves (jsonb iterators) stays in
 * the caller's context.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "delta_glue.h"
#include "recent.h"

struct recent_changes {
	MemoryContext parent; /* where the session is made */
	glue_session s;		  /* holds doc_id, changes and what they point to */
	text *doc_id;		  /* NULL: nothing held */
	TimestampTz created;
	int64 first; /* the revision of changes[0] */
	int count;
	int cap;
	const delta **changes;
};

/* A fresh session under r->parent, the current context left as it was. */
static void
begin(recent_changes *r)
{
	MemoryContext caller = MemoryContextSwitchTo(r->parent);

	glue_begin(&r->s);
	MemoryContextSwitchTo(caller);
	r->doc_id = NULL;
	r->count = 0;
	r->cap = 0;
	r->changes = NULL;
}

recent_changes *
recent_create(void)
{
	recent_changes *r = palloc0(sizeof(recent_changes));

	r->parent = CurrentMemoryContext;
	begin(r);
	return r;
}

void
recent_forget(recent_changes *r)
{
	MemoryContext caller = CurrentMemoryContext;

	/* glue_end switches to the session's caller: back to ours after */
	glue_end(&r->s);
	MemoryContextSwitchTo(caller);
	begin(r);
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
recent_get(const recent_changes *r, int64 rev)
{
	if (r->doc_id == NULL || rev < r->first || rev >= r->first + r->count)
		return NULL;
	return r->changes[rev - r->first];
}

const delta *
recent_add(recent_changes *r, text *doc_id, TimestampTz created, int64 rev,
		   Jsonb *change)
{
	const delta *parsed;

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
				? repalloc(r->changes, cap * sizeof(const delta *))
				: MemoryContextAlloc(r->s.mcxt, cap * sizeof(const delta *));
		r->cap = cap;
	}
	/* counted only once parsed: an error leaves the set as it was */
	parsed = glue_parse(&r->s, change, "change");
	r->changes[r->count++] = parsed;
	return parsed;
}
