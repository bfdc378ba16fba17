/*
 * internal.h — declarations shared between the core's own files only.
 */
#ifndef COLLAB_CORE_INTERNAL_H
#define COLLAB_CORE_INTERNAL_H

#include "delta.h"

/*
 * AttributeMap.diff(a, b): the attributes that turn a into b (a removed key
 * becomes null); *out is NULL when they are equal.
 */
delta_status delta_attr_diff(delta_arena *arena, const djson_value *a,
							 const djson_value *b, const djson_value **out,
							 delta_error *err);

/* The bytes delta_write writes for op (without a separating comma). */
size_t delta_op_write_size(const delta_op *op);

/*
 * Fails with DELTA_EMISMATCH, naming the first offending operation, unless
 * d holds inserts only; what names d in the message ("the document").
 */
delta_status delta_require_document(const delta *d, const char *what,
									delta_error *err);

/*
 * An iterator over a delta's operations that hands them out piece by piece
 * (quill-delta's OpIterator).  Once exhausted it yields an endless retain
 * without attributes: peek_length is INT64_MAX and peek_kind RETAIN.
 */
typedef struct delta_iter {
	const delta *d;
	const char *name;	/* for messages: "the document", ... */
	size_t index;		/* current op */
	int64_t offset;		/* units of it already taken */
	size_t byte_offset; /* bytes of its text already taken */
	int64_t position;	/* units taken from the whole delta */
} delta_iter;

void delta_iter_init(delta_iter *it, const delta *d, const char *name);
bool delta_iter_has_next(const delta_iter *it);
int64_t delta_iter_peek_length(const delta_iter *it);
delta_op_kind delta_iter_peek_kind(const delta_iter *it);

/*
 * Takes up to length units of the current op into *out (INT64_MAX: all of
 * it).  Fails with DELTA_EMISMATCH when the cut would fall between the two
 * halves of a surrogate pair.
 */
delta_status delta_iter_next(delta_iter *it, int64_t length, delta_op *out,
							 delta_error *err);

#endif
