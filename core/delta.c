/*
 * delta.c — Quill Delta operations: building, JSON, compose, transform,
 * invert, apply.  (diff lives in diff.c.)
 *
 * Each algorithm is a single pass over its operands with delta_iter, which
 * hands out operations piece by piece exactly as quill-delta's OpIterator
 * does: an exhausted iterator yields an endless retain without attributes.
 * Splitting text at a UTF-16 offset walks only the bytes taken, so every
 * operation costs time linear in the size of its operands.
 *
 * Results share text, embeds and attribute objects with the inputs where
 * nothing changes; new text is built only when two inserts merge, in a
 * buffer the result owns and grows geometrically (delta.tail), so building
 * a delta from n small inserts costs O(n), not O(n^2).
 */
#include "delta.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "utf8.h"

/* (returns the constant itself, so static analysis sees the failure) */
static delta_status
oom(delta_error *err)
{
	(void) delta_fail(err, DELTA_ENOMEM, "out of memory");
	return DELTA_ENOMEM;
}

/* --- attributes (quill-delta's AttributeMap) ---------------------------- */

static bool
attr_empty(const djson_value *attrs)
{
	return attrs == NULL || attrs->u.object.count == 0;
}

/* JavaScript's === on parsed JSON: objects and arrays are never equal. */
static bool
strict_equal(const djson_value *a, const djson_value *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->type == DJSON_OBJECT || a->type == DJSON_ARRAY)
		return false;
	return djson_equal(a, b);
}

/* Collects members while a new attribute object is built. */
typedef struct member_list {
	djson_member *items;
	size_t count;
} member_list;

static delta_status
members_alloc(delta_arena *arena, member_list *list, size_t max,
			  delta_error *err)
{
	list->count = 0;
	list->items =
		delta_arena_alloc(arena, (max ? max : 1) * sizeof(djson_member));
	return list->items ? DELTA_OK : oom(err);
}

static delta_status
members_finish(delta_arena *arena, member_list *list, const djson_value **out,
			   delta_error *err)
{
	if (list->count == 0)
	{
		*out = NULL;
		return DELTA_OK;
	}
	return djson_object_new(arena, list->items, list->count, out, err);
}

static int
member_key_cmp(const djson_member *a, const djson_member *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	if (c != 0)
		return c;
	return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/*
 * Walks the union of two canonical objects' keys in order, running BODY
 * with KEY and the value each side has (VA, VB; NULL where a side lacks it).
 */
#define FOR_EACH_KEY(A, B, KEY, VA, VB, BODY) \
	do \
	{ \
		size_t i_ = 0, j_ = 0; \
		size_t na_ = (A) ? (A)->u.object.count : 0; \
		size_t nb_ = (B) ? (B)->u.object.count : 0; \
		while (i_ < na_ || j_ < nb_) \
		{ \
			const djson_member *KEY; \
			const djson_value *VA = NULL; \
			const djson_value *VB = NULL; \
			int c_; \
			if (i_ == na_) \
				c_ = 1; \
			else if (j_ == nb_) \
				c_ = -1; \
			else \
				c_ = member_key_cmp(&(A)->u.object.members[i_], \
									&(B)->u.object.members[j_]); \
			if (c_ <= 0) \
			{ \
				KEY = &(A)->u.object.members[i_]; \
				VA = (A)->u.object.members[i_++].value; \
				if (c_ == 0) \
					VB = (B)->u.object.members[j_++].value; \
			} \
			else \
			{ \
				KEY = &(B)->u.object.members[j_]; \
				VB = (B)->u.object.members[j_++].value; \
			} \
			BODY \
		} \
	} while (0)

/* Adds a member; members_alloc sized the list for every key of both. */
static void
members_add(member_list *list, const djson_member *key, const djson_value *v)
{
	list->items[list->count].key = key->key;
	list->items[list->count].key_len = key->key_len;
	list->items[list->count].value = v;
	list->count++;
}

static size_t
attr_count(const djson_value *a)
{
	return a ? a->u.object.count : 0;
}

/* AttributeMap.compose(a, b, keepNull) */
static delta_status
attr_compose(delta_arena *arena, const djson_value *a, const djson_value *b,
			 bool keep_null, const djson_value **out, delta_error *err)
{
	member_list list;
	delta_status st;

	if (attr_empty(b))
	{
		*out = attr_empty(a) ? NULL : a;
		return DELTA_OK;
	}
	if (attr_empty(a) && keep_null)
	{
		*out = b;
		return DELTA_OK;
	}
	st = members_alloc(arena, &list, attr_count(a) + attr_count(b), err);
	if (st != DELTA_OK)
		return st;
	FOR_EACH_KEY(a, b, key, va, vb, {
		if (vb != NULL)
		{
			if (vb->type != DJSON_NULL || keep_null)
				members_add(&list, key, vb);
		}
		else
			members_add(&list, key, va);
	});
	return members_finish(arena, &list, out, err);
}

/* AttributeMap.transform(a, b, priority) */
static delta_status
attr_transform(delta_arena *arena, const djson_value *a, const djson_value *b,
			   bool priority, const djson_value **out, delta_error *err)
{
	member_list list;
	delta_status st;

	if (attr_empty(a) || !priority)
	{
		*out = attr_empty(b) ? NULL : b;
		return DELTA_OK;
	}
	if (attr_empty(b))
	{
		*out = NULL;
		return DELTA_OK;
	}
	st = members_alloc(arena, &list, attr_count(b), err);
	if (st != DELTA_OK)
		return st;
	FOR_EACH_KEY(a, b, key, va, vb, {
		if (vb != NULL && va == NULL)
			members_add(&list, key, vb);
	});
	return members_finish(arena, &list, out, err);
}

/* AttributeMap.invert(attr, base) */
static delta_status
attr_invert(delta_arena *arena, const djson_value *attr,
			const djson_value *base, const djson_value **out, delta_error *err)
{
	static const djson_value null_value = {.type = DJSON_NULL};
	member_list list;
	delta_status st;

	st = members_alloc(arena, &list, attr_count(attr) + attr_count(base), err);
	if (st != DELTA_OK)
		return st;
	FOR_EACH_KEY(attr, base, key, va, vb, {
		if (va != NULL && vb != NULL && !strict_equal(va, vb))
			members_add(&list, key, vb);
		else if (va != NULL && vb == NULL)
			members_add(&list, key, &null_value);
	});
	return members_finish(arena, &list, out, err);
}

delta_status
delta_attr_diff(delta_arena *arena, const djson_value *a, const djson_value *b,
				const djson_value **out, delta_error *err)
{
	static const djson_value null_value = {.type = DJSON_NULL};
	member_list list;
	delta_status st;

	if (djson_equal(a, b) || (attr_empty(a) && attr_empty(b)))
	{
		*out = NULL;
		return DELTA_OK;
	}
	st = members_alloc(arena, &list, attr_count(a) + attr_count(b), err);
	if (st != DELTA_OK)
		return st;
	FOR_EACH_KEY(a, b, key, va, vb, {
		if (!djson_equal(va, vb))
			members_add(&list, key, vb != NULL ? vb : &null_value);
	});
	return members_finish(arena, &list, out, err);
}

/* --- building ------------------------------------------------------------ */

delta *
delta_new(delta_arena *arena, delta_error *err)
{
	delta *d = delta_arena_alloc(arena, sizeof(delta));

	if (d == NULL)
	{
		oom(err);
		return NULL;
	}
	memset(d, 0, sizeof(delta));
	return d;
}

static delta_status
reserve_op(delta_arena *arena, delta *d, delta_error *err)
{
	delta_op *ops;
	size_t cap;

	if (d->ops != NULL && d->count < d->cap)
		return DELTA_OK;
	cap = d->cap ? d->cap * 2 : 8;
	if (cap > SIZE_MAX / sizeof(delta_op))
		return oom(err);
	ops = delta_arena_alloc(arena, cap * sizeof(delta_op));
	if (ops == NULL)
		return oom(err);
	if (d->ops != NULL)
		memcpy(ops, d->ops, d->count * sizeof(delta_op));
	d->ops = ops;
	d->cap = cap;
	return DELTA_OK;
}

/* Appends text to target, an insert of d, growing d's own tail buffer. */
static delta_status
append_text(delta_arena *arena, delta *d, delta_op *target, const char *text,
			size_t bytes, int64_t units, delta_error *err)
{
	size_t need = target->bytes + bytes;

	if (need < target->bytes)
		return oom(err);
	if (target->text != d->tail || need > d->tail_cap)
	{
		size_t cap = need < 32 ? 64 : need * 2;
		char *buf;

		if (cap < need)
			return oom(err);
		buf = delta_arena_alloc(arena, cap);
		if (buf == NULL)
			return oom(err);
		memcpy(buf, target->text, target->bytes);
		target->text = buf;
		d->tail = buf;
		d->tail_cap = cap;
	}
	memcpy(d->tail + target->bytes, text, bytes);
	target->bytes = need;
	target->length += units;
	return DELTA_OK;
}

/* Merged operations keep within the limit the parser enforces, so whatever
 * the core writes it can read back. */
static delta_status
too_long(delta_error *err)
{
	return delta_fail(err, DELTA_ELIMIT,
					  "an operation would be longer than %" PRId64,
					  DELTA_COUNT_MAX);
}

delta_status
delta_push(delta_arena *arena, delta *d, const delta_op *in, delta_error *err)
{
	delta_op op = *in;
	size_t index = d->count;
	delta_op *last;
	delta_status st;

	if (op.length <= 0)
		return DELTA_OK;
	if (op.kind == DELTA_OP_DELETE || attr_empty(op.attributes))
		op.attributes = NULL;

	if (op.length > DELTA_COUNT_MAX)
		return too_long(err);
	last = index > 0 ? &d->ops[index - 1] : NULL;
	if (last != NULL)
	{
		if (op.kind == DELTA_OP_DELETE && last->kind == DELTA_OP_DELETE)
		{
			if (last->length > DELTA_COUNT_MAX - op.length)
				return too_long(err);
			last->length += op.length;
			return DELTA_OK;
		}
		/* inserting before or after a delete at the same index is the
		 * same change: the insert always goes first */
		if (last->kind == DELTA_OP_DELETE && op.kind == DELTA_OP_INSERT)
		{
			index--;
			last = index > 0 ? &d->ops[index - 1] : NULL;
		}
		if (last != NULL && op.kind == last->kind &&
			op.kind != DELTA_OP_DELETE && op.embed == NULL &&
			last->embed == NULL &&
			djson_equal(op.attributes, last->attributes))
		{
			/* two text inserts or two retains: one longer op */
			if (last->length > DELTA_COUNT_MAX - op.length)
				return too_long(err);
			if (op.kind == DELTA_OP_INSERT)
				return append_text(arena, d, last, op.text, op.bytes,
								   op.length, err);
			last->length += op.length;
			return DELTA_OK;
		}
	}
	if ((st = reserve_op(arena, d, err)) != DELTA_OK)
		return st;
	if (index < d->count)
		memmove(&d->ops[index + 1], &d->ops[index],
				(d->count - index) * sizeof(delta_op));
	d->ops[index] = op;
	d->count++;
	return DELTA_OK;
}

void
delta_chop(delta *d)
{
	if (d->count > 0 && d->ops[d->count - 1].kind == DELTA_OP_RETAIN &&
		d->ops[d->count - 1].attributes == NULL)
		d->count--;
}

static delta_status
push_retain(delta_arena *arena, delta *d, int64_t length,
			const djson_value *attributes, delta_error *err)
{
	delta_op op = {DELTA_OP_RETAIN, length, NULL, 0, NULL, attributes};

	return delta_push(arena, d, &op, err);
}

static delta_status
push_delete(delta_arena *arena, delta *d, int64_t length, delta_error *err)
{
	delta_op op = {DELTA_OP_DELETE, length, NULL, 0, NULL, NULL};

	return delta_push(arena, d, &op, err);
}

/* --- JSON ---------------------------------------------------------------- */

static bool
key_is(const djson_member *m, const char *name)
{
	return m->key_len == strlen(name) && memcmp(m->key, name, m->key_len) == 0;
}

/*
 * A count: a number whose value is a positive integer, however it is
 * written (1, 1.0, 1e2), as JavaScript reads it and as jsonb may print it.
 */
static delta_status
read_count(const djson_value *v, size_t index, const char *what, int64_t *out,
		   delta_error *err)
{
	double n;
	int shown;

	if (v->type != DJSON_NUMBER)
		return delta_fail(err, DELTA_EINVAL,
						  "ops[%zu]: %s must be a positive integer", index,
						  what);
	n = v->u.number.value;
	shown = (int) (v->u.number.len > 40 ? 40 : v->u.number.len);
	if (n > (double) DELTA_COUNT_MAX)
		return delta_fail(err, DELTA_ELIMIT, "ops[%zu]: %s exceeds %" PRId64,
						  index, what, DELTA_COUNT_MAX);
	if (!(n > 0) || (double) (int64_t) n != n)
		return delta_fail(err, DELTA_EINVAL,
						  "ops[%zu]: %s must be a positive integer, not %.*s",
						  index, what, shown, v->u.number.literal);
	*out = (int64_t) n;
	return DELTA_OK;
}

static delta_status
read_op(const djson_value *v, size_t index, delta_op *op, delta_error *err)
{
	const djson_value *kind_value = NULL;
	const char *kind_name = NULL;
	size_t i;

	if (v->type != DJSON_OBJECT)
		return delta_fail(err, DELTA_EINVAL,
						  "ops[%zu]: an operation must be an object", index);
	memset(op, 0, sizeof(*op));
	for (i = 0; i < v->u.object.count; i++)
	{
		const djson_member *m = &v->u.object.members[i];

		if (key_is(m, "attributes"))
		{
			if (m->value->type != DJSON_OBJECT)
				return delta_fail(err, DELTA_EINVAL,
								  "ops[%zu]: attributes must be an object",
								  index);
			op->attributes = m->value;
			continue;
		}
		if (!key_is(m, "insert") && !key_is(m, "retain") &&
			!key_is(m, "delete"))
			return delta_fail(err, DELTA_EINVAL,
							  "ops[%zu]: unknown key \"%.*s\"", index,
							  (int) (m->key_len > 40 ? 40 : m->key_len),
							  m->key);
		if (kind_name != NULL)
			return delta_fail(err, DELTA_EINVAL,
							  "ops[%zu]: an operation must have exactly one "
							  "of insert, retain and delete",
							  index);
		kind_name = key_is(m, "insert")	  ? "insert"
					: key_is(m, "retain") ? "retain"
										  : "delete";
		kind_value = m->value;
	}
	if (kind_name == NULL)
		return delta_fail(err, DELTA_EINVAL,
						  "ops[%zu]: an operation must have one of insert, "
						  "retain and delete",
						  index);

	if (strcmp(kind_name, "insert") == 0)
	{
		op->kind = DELTA_OP_INSERT;
		if (kind_value->type == DJSON_STRING)
		{
			op->text = kind_value->u.string.bytes;
			op->bytes = kind_value->u.string.len;
			op->length = utf8_utf16_length(op->text, op->bytes);
		}
		else if (kind_value->type == DJSON_OBJECT)
		{
			op->embed = kind_value;
			op->length = 1;
		}
		else
			return delta_fail(err, DELTA_EINVAL,
							  "ops[%zu]: insert must be a string or an object",
							  index);
		return DELTA_OK;
	}
	if (strcmp(kind_name, "retain") == 0)
	{
		op->kind = DELTA_OP_RETAIN;
		return read_count(kind_value, index, "retain", &op->length, err);
	}
	op->kind = DELTA_OP_DELETE;
	if (op->attributes != NULL)
		return delta_fail(err, DELTA_EINVAL,
						  "ops[%zu]: delete cannot carry attributes", index);
	return read_count(kind_value, index, "delete", &op->length, err);
}

delta_status
delta_from_json(delta_arena *arena, const djson_value *value, delta **out,
				delta_error *err)
{
	const djson_value *ops = value;
	delta *d;
	size_t i;
	delta_status st;

	if (value->type == DJSON_OBJECT)
	{
		ops = djson_object_get(value, "ops", 3);
		if (ops == NULL || value->u.object.count != 1)
			return delta_fail(
				err, DELTA_EINVAL,
				"a delta object must have exactly one key, \"ops\"");
	}
	if (ops->type != DJSON_ARRAY)
		return delta_fail(
			err, DELTA_EINVAL,
			"a delta must be an array of operations or {\"ops\": [...]}");
	if ((d = delta_new(arena, err)) == NULL)
		return DELTA_ENOMEM;
	for (i = 0; i < ops->u.array.count; i++)
	{
		delta_op op;

		if ((st = read_op(ops->u.array.items[i], i, &op, err)) != DELTA_OK)
			return st;
		if ((st = delta_push(arena, d, &op, err)) != DELTA_OK)
			return st;
	}
	*out = d;
	return DELTA_OK;
}

delta_status
delta_parse(delta_arena *arena, const char *json, size_t len, delta **out,
			delta_error *err)
{
	const djson_value *value;
	delta_status st = djson_parse(arena, json, len, &value, err);

	if (st != DELTA_OK)
		return st;
	return delta_from_json(arena, value, out, err);
}

#define APPEND(buf, lit) delta_buf_append((buf), (lit), sizeof(lit) - 1, err)

delta_status
delta_write(delta_buf *buf, const delta *d, delta_error *err)
{
	delta_status st = APPEND(buf, "{\"ops\":[");
	size_t i;

	for (i = 0; i < d->count && st == DELTA_OK; i++)
	{
		const delta_op *op = &d->ops[i];
		char num[32];

		if (i > 0)
			st = APPEND(buf, ",");
		if (st != DELTA_OK)
			break;
		switch (op->kind)
		{
			case DELTA_OP_INSERT:
				st = APPEND(buf, "{\"insert\":");
				if (st == DELTA_OK)
					st = op->embed ? djson_write(buf, op->embed, err)
								   : djson_write_string(buf, op->text,
														op->bytes, err);
				break;
			case DELTA_OP_RETAIN:
			case DELTA_OP_DELETE:
				snprintf(num, sizeof(num), "{\"%s\":%" PRId64,
						 op->kind == DELTA_OP_RETAIN ? "retain" : "delete",
						 op->length);
				st = delta_buf_append(buf, num, strlen(num), err);
				break;
		}
		if (st == DELTA_OK && op->attributes != NULL)
		{
			st = APPEND(buf, ",\"attributes\":");
			if (st == DELTA_OK)
				st = djson_write(buf, op->attributes, err);
		}
		if (st == DELTA_OK)
			st = APPEND(buf, "}");
	}
	return st != DELTA_OK ? st : APPEND(buf, "]}");
}

static size_t
digits(int64_t n)
{
	size_t d = 1;

	for (; n >= 10; n /= 10)
		d++;
	return d;
}

size_t
delta_op_write_size(const delta_op *op)
{
	/* {"insert":X} and {"retain":N} or {"delete":N} */
	size_t n = op->kind == DELTA_OP_INSERT
				   ? sizeof("{\"insert\":}") - 1 +
						 (op->embed ? djson_write_size(op->embed)
									: djson_string_size(op->text, op->bytes))
				   : sizeof("{\"retain\":}") - 1 + digits(op->length);

	if (op->attributes != NULL)
		n += sizeof(",\"attributes\":") - 1 + djson_write_size(op->attributes);
	return n;
}

size_t
delta_write_size(const delta *d)
{
	size_t n = sizeof("{\"ops\":[]}") - 1 + (d->count ? d->count - 1 : 0);
	size_t i;

	for (i = 0; i < d->count; i++)
		n += delta_op_write_size(&d->ops[i]);
	return n;
}

/* --- queries --------------------------------------------------------------
 */

int64_t
delta_length(const delta *d)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < d->count; i++)
		n += d->ops[i].length;
	return n;
}

int64_t
delta_base_length(const delta *d)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->ops[i].kind != DELTA_OP_INSERT)
			n += d->ops[i].length;
	return n;
}

bool
delta_is_document(const delta *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->ops[i].kind != DELTA_OP_INSERT)
			return false;
	return true;
}

static bool
op_equal(const delta_op *a, const delta_op *b)
{
	if (a->kind != b->kind || a->length != b->length ||
		!djson_equal(a->attributes, b->attributes))
		return false;
	if (a->kind != DELTA_OP_INSERT)
		return true;
	if ((a->embed == NULL) != (b->embed == NULL))
		return false;
	if (a->embed != NULL)
		return djson_equal(a->embed, b->embed);
	return a->bytes == b->bytes && memcmp(a->text, b->text, a->bytes) == 0;
}

bool
delta_equal(const delta *a, const delta *b)
{
	size_t i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++)
		if (!op_equal(&a->ops[i], &b->ops[i]))
			return false;
	return true;
}

/* --- iteration (quill-delta's OpIterator) ---------------------------------
 */

void
delta_iter_init(delta_iter *it, const delta *d, const char *name)
{
	it->d = d;
	it->name = name;
	it->index = 0;
	it->offset = 0;
	it->byte_offset = 0;
	it->position = 0;
}

bool
delta_iter_has_next(const delta_iter *it)
{
	return it->index < it->d->count;
}

int64_t
delta_iter_peek_length(const delta_iter *it)
{
	if (it->index >= it->d->count)
		return INT64_MAX;
	return it->d->ops[it->index].length - it->offset;
}

delta_op_kind
delta_iter_peek_kind(const delta_iter *it)
{
	if (it->index >= it->d->count)
		return DELTA_OP_RETAIN;
	return it->d->ops[it->index].kind;
}

/*
 * Takes up to length units of the current op into *out.  Fails when the
 * cut would fall between the two halves of a surrogate pair.
 */
delta_status
delta_iter_next(delta_iter *it, int64_t length, delta_op *out,
				delta_error *err)
{
	const delta_op *op;
	int64_t rest;

	if (it->index >= it->d->count)
	{
		out->kind = DELTA_OP_RETAIN;
		out->length = length;
		out->text = NULL;
		out->bytes = 0;
		out->embed = NULL;
		out->attributes = NULL;
		return DELTA_OK;
	}
	op = &it->d->ops[it->index];
	rest = op->length - it->offset;
	*out = *op;
	if (length >= rest)
	{
		out->length = rest;
		if (op->kind == DELTA_OP_INSERT && op->embed == NULL)
		{
			out->text = op->text + it->byte_offset;
			out->bytes = op->bytes - it->byte_offset;
		}
		it->index++;
		it->offset = 0;
		it->byte_offset = 0;
		it->position += rest;
		return DELTA_OK;
	}
	out->length = length;
	if (op->kind == DELTA_OP_INSERT && op->embed == NULL)
	{
		const unsigned char *s = (const unsigned char *) op->text;
		size_t start = it->byte_offset;
		size_t b = start;
		int64_t units = 0;

		while (units < length)
		{
			units += (s[b] >= 0xF0) ? 2 : 1;
			b += utf8_seq_len(s[b]);
		}
		if (units != length)
			return delta_fail(
				err, DELTA_EMISMATCH,
				"position %" PRId64
				" falls inside a surrogate pair (ops[%zu] of %s)",
				it->position + length, it->index, it->name);
		out->text = op->text + start;
		out->bytes = b - start;
		it->byte_offset = b;
	}
	it->offset += length;
	it->position += length;
	return DELTA_OK;
}

/* --- compose ----------------------------------------------------------------
 */

static delta_status
compose_named(delta_arena *arena, const delta *a, const delta *b,
			  const char *name_a, const char *name_b, delta **out,
			  delta_error *err)
{
	delta_iter ia;
	delta_iter ib;
	delta *d;
	delta_status st = DELTA_OK;

	if ((d = delta_new(arena, err)) == NULL)
		return DELTA_ENOMEM;
	delta_iter_init(&ia, a, name_a);
	delta_iter_init(&ib, b, name_b);
	while (st == DELTA_OK &&
		   (delta_iter_has_next(&ia) || delta_iter_has_next(&ib)))
	{
		delta_op x;
		delta_op y;
		int64_t length;

		if (delta_iter_peek_kind(&ib) == DELTA_OP_INSERT)
		{
			if ((st = delta_iter_next(&ib, INT64_MAX, &y, err)) == DELTA_OK)
				st = delta_push(arena, d, &y, err);
			continue;
		}
		if (delta_iter_peek_kind(&ia) == DELTA_OP_DELETE)
		{
			if ((st = delta_iter_next(&ia, INT64_MAX, &x, err)) == DELTA_OK)
				st = delta_push(arena, d, &x, err);
			continue;
		}
		length = delta_iter_peek_length(&ia);
		if (delta_iter_peek_length(&ib) < length)
			length = delta_iter_peek_length(&ib);
		if ((st = delta_iter_next(&ia, length, &x, err)) != DELTA_OK ||
			(st = delta_iter_next(&ib, length, &y, err)) != DELTA_OK)
			break;
		if (y.kind == DELTA_OP_RETAIN)
		{
			delta_op op = x; /* a retain or an insert of a's */

			st = attr_compose(arena, x.attributes, y.attributes,
							  x.kind == DELTA_OP_RETAIN, &op.attributes, err);
			if (st == DELTA_OK)
				st = delta_push(arena, d, &op, err);
		}
		else if (x.kind == DELTA_OP_RETAIN)
			st = delta_push(arena, d, &y, err); /* b deletes what a kept */
		/* else b deletes what a inserted: both vanish */
	}
	if (st != DELTA_OK)
		return st;
	delta_chop(d);
	*out = d;
	return DELTA_OK;
}

delta_status
delta_compose(delta_arena *arena, const delta *a, const delta *b, delta **out,
			  delta_error *err)
{
	return compose_named(arena, a, b, "the first delta", "the second delta",
						 out, err);
}

/* --- transform ------------------------------------------------------------
 */

delta_status
delta_transform(delta_arena *arena, const delta *a, const delta *b,
				bool priority, delta **out, delta_error *err)
{
	delta_iter ia;
	delta_iter ib;
	delta *d;
	delta_status st = DELTA_OK;

	if ((d = delta_new(arena, err)) == NULL)
		return DELTA_ENOMEM;
	delta_iter_init(&ia, a, "the first delta");
	delta_iter_init(&ib, b, "the second delta");
	while (st == DELTA_OK &&
		   (delta_iter_has_next(&ia) || delta_iter_has_next(&ib)))
	{
		delta_op x;
		delta_op y;
		int64_t length;

		if (delta_iter_peek_kind(&ia) == DELTA_OP_INSERT &&
			(priority || delta_iter_peek_kind(&ib) != DELTA_OP_INSERT))
		{
			/* a's insert comes first: b steps over it */
			if ((st = delta_iter_next(&ia, INT64_MAX, &x, err)) == DELTA_OK)
				st = push_retain(arena, d, x.length, NULL, err);
			continue;
		}
		if (delta_iter_peek_kind(&ib) == DELTA_OP_INSERT)
		{
			if ((st = delta_iter_next(&ib, INT64_MAX, &y, err)) == DELTA_OK)
				st = delta_push(arena, d, &y, err);
			continue;
		}
		length = delta_iter_peek_length(&ia);
		if (delta_iter_peek_length(&ib) < length)
			length = delta_iter_peek_length(&ib);
		if ((st = delta_iter_next(&ia, length, &x, err)) != DELTA_OK ||
			(st = delta_iter_next(&ib, length, &y, err)) != DELTA_OK)
			break;
		if (x.kind == DELTA_OP_DELETE)
			continue; /* a deleted it: b's delete or retain is moot */
		if (y.kind == DELTA_OP_DELETE)
			st = delta_push(arena, d, &y, err);
		else
		{
			const djson_value *attrs;

			st = attr_transform(arena, x.attributes, y.attributes, priority,
								&attrs, err);
			if (st == DELTA_OK)
				st = push_retain(arena, d, length, attrs, err);
		}
	}
	if (st != DELTA_OK)
		return st;
	delta_chop(d);
	*out = d;
	return DELTA_OK;
}

delta_status
delta_transform_position(const delta *a, int64_t index, bool priority,
						 int64_t *out, delta_error *err)
{
	int64_t offset = 0;
	size_t i;

	if (index < 0)
		return delta_fail(err, DELTA_EINVAL,
						  "position must not be negative, not %" PRId64,
						  index);
	for (i = 0; i < a->count && offset <= index; i++)
	{
		const delta_op *op = &a->ops[i];

		if (op->kind == DELTA_OP_DELETE)
		{
			int64_t gone = index - offset;

			index -= op->length < gone ? op->length : gone;
			continue;
		}
		if (op->kind == DELTA_OP_INSERT && (offset < index || !priority))
		{
			if (index > INT64_MAX - op->length)
				return delta_fail(err, DELTA_ELIMIT,
								  "position %" PRId64 " moves past %" PRId64,
								  index, INT64_MAX);
			index += op->length;
		}
		offset += op->length;
	}
	*out = index;
	return DELTA_OK;
}

/* --- invert and apply -------------------------------------------------------
 */

delta_status
delta_require_document(const delta *d, const char *what, delta_error *err)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->ops[i].kind != DELTA_OP_INSERT)
			return delta_fail(
				err, DELTA_EMISMATCH,
				"%s must contain only inserts, but ops[%zu] is a %s", what, i,
				d->ops[i].kind == DELTA_OP_RETAIN ? "retain" : "delete");
	return DELTA_OK;
}

static delta_status
require_fit(const delta *change, const delta *document, delta_error *err)
{
	int64_t need = delta_base_length(change);
	int64_t have = delta_length(document);

	if (need > have)
		return delta_fail(err, DELTA_EMISMATCH,
						  "the change spans %" PRId64
						  " characters but the document has only %" PRId64,
						  need, have);
	return DELTA_OK;
}

delta_status
delta_invert(delta_arena *arena, const delta *change, const delta *base,
			 delta **out, delta_error *err)
{
	delta_iter ib;
	delta *d;
	size_t i;
	delta_status st;

	if ((st = delta_require_document(base, "the base", err)) != DELTA_OK ||
		(st = require_fit(change, base, err)) != DELTA_OK)
		return st;
	if ((d = delta_new(arena, err)) == NULL)
		return DELTA_ENOMEM;
	delta_iter_init(&ib, base, "the base");
	for (i = 0; i < change->count; i++)
	{
		const delta_op *op = &change->ops[i];
		int64_t rest = op->length;

		if (op->kind == DELTA_OP_INSERT)
		{
			if ((st = push_delete(arena, d, op->length, err)) != DELTA_OK)
				return st;
			continue;
		}
		if (op->kind == DELTA_OP_RETAIN && op->attributes == NULL)
		{
			if ((st = push_retain(arena, d, op->length, NULL, err)) !=
				DELTA_OK)
				return st;
		}
		/* walk the base under this op: a delete restores it, a formatting
		 * retain restores its attributes */
		while (rest > 0)
		{
			delta_op x;

			if ((st = delta_iter_next(&ib, rest, &x, err)) != DELTA_OK)
				return st;
			rest -= x.length;
			if (op->kind == DELTA_OP_DELETE)
				st = delta_push(arena, d, &x, err);
			else if (op->attributes != NULL)
			{
				const djson_value *attrs;

				st = attr_invert(arena, op->attributes, x.attributes, &attrs,
								 err);
				if (st == DELTA_OK)
					st = push_retain(arena, d, x.length, attrs, err);
			}
			if (st != DELTA_OK)
				return st;
		}
	}
	delta_chop(d);
	*out = d;
	return DELTA_OK;
}

delta_status
delta_apply(delta_arena *arena, const delta *document, const delta *change,
			delta **out, delta_error *err)
{
	delta_status st;

	if ((st = delta_require_document(document, "the document", err)) !=
			DELTA_OK ||
		(st = require_fit(change, document, err)) != DELTA_OK)
		return st;
	return compose_named(arena, document, change, "the document", "the change",
						 out, err);
}

delta_status
delta_to_text(delta_arena *arena, const delta *document, char **text,
			  size_t *len, delta_error *err)
{
	delta_buf buf;
	size_t i;
	delta_status st;

	if ((st = delta_require_document(document, "the document", err)) !=
		DELTA_OK)
		return st;
	delta_buf_init(&buf, arena);
	if ((st = delta_buf_append(&buf, "", 0, err)) != DELTA_OK)
		return st;
	for (i = 0; i < document->count; i++)
	{
		const delta_op *op = &document->ops[i];

		if (op->embed == NULL &&
			(st = delta_buf_append(&buf, op->text, op->bytes, err)) !=
				DELTA_OK)
			return st;
	}
	*text = buf.data;
	*len = buf.len;
	return DELTA_OK;
}
