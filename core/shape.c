/*
 * shape.c — checking a change against a document known only by its shape
 * (length and surrogate-pair positions), and mapping the shape through it.
 *
 * One left-to-right walk over the change with two cursors: `old` in the
 * document before the change, `now` in the document after it.  Pair
 * positions are consumed in order as the walk passes them (kept and shifted
 * under a retain, dropped under a delete), and the pairs of inserted text
 * are added where they land, so the output stays sorted with no sort.
 */
#include <inttypes.h>
#include <string.h>

#include "internal.h"

/* A growable list of positions in the arena. */
typedef struct pos_list {
	int64_t *items;
	size_t count;
	size_t cap;
} pos_list;

static delta_status
pos_add(delta_arena *arena, pos_list *list, int64_t pos, delta_error *err)
{
	if (list->count == list->cap)
	{
		size_t cap = list->cap ? list->cap * 2 : 16;
		int64_t *items = delta_arena_alloc(arena, cap * sizeof(int64_t));

		if (items == NULL)
			return delta_fail(err, DELTA_ENOMEM, "out of memory");
		if (list->count)
			memcpy(items, list->items, list->count * sizeof(int64_t));
		list->items = items;
		list->cap = cap;
	}
	list->items[list->count++] = pos;
	return DELTA_OK;
}

/* Adds the pairs of an insert placed at position at. */
static delta_status
add_inserted(delta_arena *arena, pos_list *list, const delta_op *op,
			 int64_t at, delta_error *err)
{
	const unsigned char *s = (const unsigned char *) op->text;
	size_t b;
	delta_status st;

	if (op->embed != NULL)
		return DELTA_OK;
	for (b = 0; b < op->bytes; b++)
	{
		if ((s[b] & 0xC0) == 0x80)
			continue;
		if (s[b] >= 0xF0)
		{
			if ((st = pos_add(arena, list, at, err)) != DELTA_OK)
				return st;
			at += 2;
		}
		else
			at += 1;
	}
	return DELTA_OK;
}

static void
finish(const pos_list *list, int64_t length, delta_shape *out)
{
	out->length = length;
	out->astral = list->items;
	out->nastral = list->count;
}

delta_status
delta_shape_of(delta_arena *arena, const delta *document, delta_shape *out,
			   delta_error *err)
{
	pos_list list = {NULL, 0, 0};
	int64_t at = 0;
	size_t i;
	delta_status st;

	if ((st = delta_require_document(document, "the document", err)) !=
		DELTA_OK)
		return st;
	for (i = 0; i < document->count; i++)
	{
		const delta_op *op = &document->ops[i];

		if ((st = add_inserted(arena, &list, op, at, err)) != DELTA_OK)
			return st;
		at += op->length;
	}
	finish(&list, at, out);
	return DELTA_OK;
}

typedef struct walk {
	const delta_shape *shape;
	size_t next; /* pairs passed so far */
	delta_error *err;
} walk;

/*
 * Fails when position x of the old document is inside a pair.  Called when
 * the walk has passed exactly the pairs that start before x, so only the
 * last of them can straddle it.
 */
static delta_status
check_boundary(const walk *w, int64_t x, size_t op_index)
{
	if (w->next > 0 && w->shape->astral[w->next - 1] + 1 == x)
		return delta_fail(
			w->err, DELTA_EMISMATCH,
			"position %" PRId64
			" falls inside a surrogate pair (ops[%zu] of the change)",
			x, op_index);
	return DELTA_OK;
}

delta_status
delta_shape_apply(delta_arena *arena, const delta_shape *shape,
				  const delta *change, bool keep_final_newline,
				  delta_shape *out, delta_error *err)
{
	walk w = {shape, 0, err};
	pos_list list = {NULL, 0, 0};
	int64_t old = 0;
	int64_t now = 0;
	size_t i;
	delta_status st;

	for (i = 0; i < change->count; i++)
	{
		const delta_op *op = &change->ops[i];

		if ((st = check_boundary(&w, old, i)) != DELTA_OK)
			return st;
		if (op->kind == DELTA_OP_INSERT)
		{
			if (keep_final_newline && old >= shape->length)
				return delta_fail(
					err, DELTA_EMISMATCH,
					"ops[%zu] inserts after the final newline of the document",
					i);
			if ((st = add_inserted(arena, &list, op, now, err)) != DELTA_OK)
				return st;
			now += op->length;
			continue;
		}
		if (op->length > shape->length - old)
			return delta_fail(err, DELTA_EMISMATCH,
							  "the change spans %" PRId64
							  " characters but the document has only %" PRId64,
							  delta_base_length(change), shape->length);
		if (keep_final_newline && op->kind == DELTA_OP_DELETE &&
			old + op->length == shape->length)
			return delta_fail(
				err, DELTA_EMISMATCH,
				"ops[%zu] deletes the final newline of the document", i);
		/* pairs under this op: kept and shifted, or deleted */
		while (w.next < shape->nastral &&
			   shape->astral[w.next] < old + op->length)
		{
			if (op->kind == DELTA_OP_RETAIN &&
				(st = pos_add(arena, &list, shape->astral[w.next] - old + now,
							  err)) != DELTA_OK)
				return st;
			w.next++;
		}
		old += op->length;
		if (op->kind == DELTA_OP_RETAIN)
			now += op->length;
	}
	if (change->count > 0 &&
		(st = check_boundary(&w, old, change->count - 1)) != DELTA_OK)
		return st;
	for (; w.next < shape->nastral; w.next++)
		if ((st = pos_add(arena, &list, shape->astral[w.next] - old + now,
						  err)) != DELTA_OK)
			return st;
	finish(&list, now + (shape->length - old), out);
	return DELTA_OK;
}
