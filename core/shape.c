/*
 * shape.c — checking a change against a document known only by its shape
 * (length and surrogate-pair positions), and mapping the shape through it.
 *
 * One left-to-right walk over the change with two cursors: `old` in the
 * document before the change, `now` in the document after it.  Pair
 * positions are consumed in order as the walk passes them (kept and shifted
 * under a retain, dropped under a delete), and the pairs of inserted text
 * are added where they land, so the output stays sorted with no sort.
 *
 * The same walk keeps the bounds on the document's JSON size (delta_shape's
 * bytes and attributes_bytes) bounds.  Each op of the change, in the
 * document as the ops before it left it:
 *
 *   - an insert adds at most its own op and a comma; landing inside an op of
 *     the document, it also splits that op in two, adding the overhead of an
 *     op: {"insert":""}, a comma and the attributes that op had (at most
 *     attributes_bytes, with their ,"attributes": key);
 *   - a delete of n units removes at least n bytes: each unit is at least one
 *     byte of JSON, and a delete never splits an op (what is left of one is
 *     one op, or merges with its neighbour);
 *   - a retain with attributes A over n units gives each op under it at most
 *     ,"attributes": and A more (nothing when A only removes: all its values
 *     null); there are at most n such ops, and one may be split at either
 *     end.  The largest attributes object grows by at most A.
 *
 * A split can only happen inside the document (not at 0 nor at its end) and
 * once per position.  Merges the walk cannot see make the document smaller
 * than the bound says, so the bound drifts upwards with every change; the
 * holder of the document measures it again (delta_shape_of) when it matters.
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

/* Bounds saturate here: far above any size a document can have. */
#define BOUND_MAX (INT64_MAX / 4)

static int64_t
bound_add(int64_t bound, int64_t n)
{
	return n > BOUND_MAX - bound ? BOUND_MAX : bound + n;
}

static int64_t
bound_mul(int64_t a, int64_t b)
{
	return b != 0 && a > BOUND_MAX / b ? BOUND_MAX : a * b;
}

/* ,"attributes": */
#define ATTRIBUTES_KEY_BYTES ((int64_t) sizeof(",\"attributes\":") - 1)

/* The JSON size of an attributes object, 0 for none. */
static int64_t
attributes_size(const djson_value *attributes)
{
	return attributes ? (int64_t) djson_write_size(attributes) : 0;
}

/* Whether attributes set anything (some value is not null). */
static bool
attributes_set(const djson_value *attributes)
{
	size_t i;

	for (i = 0; i < attributes->u.object.count; i++)
		if (attributes->u.object.members[i].value->type != DJSON_NULL)
			return true;
	return false;
}

/* The bounds through the change, as the walk passes its ops. */
typedef struct size_walk {
	bool known;
	int64_t bytes;
	int64_t attributes; /* the largest attributes object */
	int64_t split_at;	/* the last position a split was counted at */
	int64_t length;		/* of the document before the change */
} size_walk;

/* An op of the document may be split in two at position at (old). */
static void
size_split(size_walk *z, int64_t at)
{
	if (at <= 0 || at >= z->length || at == z->split_at)
		return;
	/* {"insert":""}, a comma, the op's attributes */
	z->bytes = bound_add(z->bytes, (int64_t) sizeof("{\"insert\":\"\"},") - 1 +
									   ATTRIBUTES_KEY_BYTES + z->attributes);
	z->split_at = at;
}

/* The change's op at old in the document before it. */
static void
size_op(size_walk *z, const delta_op *op, int64_t old)
{
	int64_t a;

	if (!z->known)
		return;
	switch (op->kind)
	{
		case DELTA_OP_INSERT:
			size_split(z, old);
			z->bytes =
				bound_add(z->bytes, (int64_t) delta_op_write_size(op) + 1);
			a = attributes_size(op->attributes);
			if (a > z->attributes)
				z->attributes = a;
			break;
		case DELTA_OP_DELETE:
			z->bytes = z->bytes > op->length ? z->bytes - op->length : 0;
			break;
		case DELTA_OP_RETAIN:
			if (op->attributes == NULL)
				break;
			size_split(z, old);
			size_split(z, old + op->length);
			if (!attributes_set(op->attributes))
				break;
			a = attributes_size(op->attributes);
			z->bytes =
				bound_add(z->bytes,
						  bound_mul(op->length, ATTRIBUTES_KEY_BYTES + a));
			z->attributes = bound_add(z->attributes, a);
			break;
	}
}

delta_status
delta_shape_of(delta_arena *arena, const delta *document, delta_shape *out,
			   delta_error *err)
{
	pos_list list = {NULL, 0, 0};
	int64_t at = 0;
	int64_t attributes = 0;
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
		if (attributes_size(op->attributes) > attributes)
			attributes = attributes_size(op->attributes);
	}
	finish(&list, at, out);
	out->bytes = (int64_t) delta_write_size(document);
	out->attributes_bytes = attributes;
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
	size_walk z = {shape->bytes >= 0 && shape->attributes_bytes >= 0,
				   shape->bytes, shape->attributes_bytes, -1, shape->length};
	int64_t old = 0;
	int64_t now = 0;
	size_t i;
	delta_status st;

	for (i = 0; i < change->count; i++)
	{
		const delta_op *op = &change->ops[i];

		if ((st = check_boundary(&w, old, i)) != DELTA_OK)
			return st;
		size_op(&z, op, old);
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
	out->bytes = z.known ? z.bytes : -1;
	out->attributes_bytes = z.known ? z.attributes : -1;
	return DELTA_OK;
}
