/*
 * json.c — a strict JSON parser and writer for the Delta core.
 *
 * The parser is recursive descent with a depth limit (DJSON_DEPTH_MAX), so
 * hostile input cannot exhaust the stack.  Every string is validated as
 * UTF-8 and copied into the arena; escapes are decoded, and a \u escape
 * that names half a surrogate pair on its own is rejected because UTF-8
 * cannot hold it.  Objects are sorted by key as they are built, duplicate
 * keys resolved last-wins, so equality and lookup never depend on the order
 * a client wrote its keys in.
 */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

typedef struct json_parser {
	delta_arena *arena;
	const unsigned char *s;
	size_t len;
	size_t pos;
	delta_error *err;
} json_parser;

static delta_status parse_value(json_parser *p, int depth,
								const djson_value **out);

/* (returns the constant itself, so static analysis sees the failure) */
static delta_status
oom(delta_error *err)
{
	(void) delta_fail(err, DELTA_ENOMEM, "out of memory");
	return DELTA_ENOMEM;
}

static delta_status
syntax(json_parser *p, const char *what)
{
	return delta_fail(p->err, DELTA_EINVAL, "invalid JSON at byte %zu: %s",
					  p->pos, what);
}

static void
skip_space(json_parser *p)
{
	while (p->pos < p->len)
	{
		unsigned char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static djson_value *
new_value(json_parser *p, djson_type type)
{
	djson_value *v = delta_arena_alloc(p->arena, sizeof(djson_value));

	if (v != NULL)
		v->type = type;
	return v;
}

static int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
read_hex4(json_parser *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	if (p->len - p->pos < 4)
		return 0;
	for (i = 0; i < 4; i++)
	{
		int d = hex_digit(p->s[p->pos + i]);

		if (d < 0)
			return 0;
		v = (v << 4) | (uint32_t) d;
	}
	p->pos += 4;
	*out = v;
	return 1;
}

/* Parses a string literal (p->pos at the opening quote). */
static delta_status
parse_string(json_parser *p, const char **bytes, size_t *len)
{
	size_t start = ++p->pos;
	size_t end = start;
	char *out;
	size_t n = 0;

	/* First pass: find the closing quote, so one allocation suffices (a
	 * decoded string is never longer than its literal). */
	while (end < p->len && p->s[end] != '"')
		end += (p->s[end] == '\\') ? 2 : 1;
	if (end >= p->len)
	{
		p->pos = p->len;
		return syntax(p, "unterminated string");
	}
	out = delta_arena_alloc(p->arena, end - start + 1);
	if (out == NULL)
		return oom(p->err);

	while (p->pos < end)
	{
		unsigned char c = p->s[p->pos];

		if (c < 0x20)
			return syntax(p, "control character in string");
		if (c == '\\')
		{
			unsigned char e = p->s[p->pos + 1];
			uint32_t cp;

			p->pos += 2;
			switch (e)
			{
				case '"':
				case '\\':
				case '/':
					out[n++] = (char) e;
					continue;
				case 'b':
					out[n++] = '\b';
					continue;
				case 'f':
					out[n++] = '\f';
					continue;
				case 'n':
					out[n++] = '\n';
					continue;
				case 'r':
					out[n++] = '\r';
					continue;
				case 't':
					out[n++] = '\t';
					continue;
				case 'u':
					break;
				default:
					p->pos -= 2;
					return syntax(p, "invalid escape in string");
			}
			if (!read_hex4(p, &cp))
				return syntax(p, "invalid \\u escape");
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return syntax(p, "unpaired low surrogate in \\u escape");
			if (cp >= 0xD800 && cp <= 0xDBFF)
			{
				uint32_t lo;

				if (p->pos + 1 >= end || p->s[p->pos] != '\\' ||
					p->s[p->pos + 1] != 'u')
					return syntax(p, "unpaired high surrogate in \\u escape");
				p->pos += 2;
				if (!read_hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF)
					return syntax(p, "unpaired high surrogate in \\u escape");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			n += utf8_encode(cp, out + n);
			continue;
		}
		if (c < 0x80)
		{
			out[n++] = (char) c;
			p->pos++;
		}
		else
		{
			uint32_t cp;
			size_t k = utf8_decode(p->s + p->pos, end - p->pos, &cp);

			if (k == 0)
				return syntax(p, "invalid UTF-8");
			memcpy(out + n, p->s + p->pos, k);
			n += k;
			p->pos += k;
		}
	}
	if (p->pos != end)
		return syntax(p, "invalid escape in string");
	p->pos = end + 1;
	out[n] = '\0';
	*bytes = out;
	*len = n;
	return DELTA_OK;
}

static delta_status
parse_number(json_parser *p, const djson_value **out)
{
	size_t start = p->pos;

#define DIGIT(i) ((i) < p->len && p->s[i] >= '0' && p->s[i] <= '9')
	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (!DIGIT(p->pos))
		return syntax(p, "invalid number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (DIGIT(p->pos))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.')
	{
		p->pos++;
		if (!DIGIT(p->pos))
			return syntax(p, "invalid number");
		while (DIGIT(p->pos))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E'))
	{
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!DIGIT(p->pos))
			return syntax(p, "invalid number");
		while (DIGIT(p->pos))
			p->pos++;
	}
#undef DIGIT

	*out = djson_number_new(p->arena, (const char *) p->s + start,
							p->pos - start);
	return *out != NULL ? DELTA_OK : oom(p->err);
}

/* A growable array of pointers or members while a container is parsed. */
typedef struct grow {
	void *items;
	size_t count;
	size_t cap;
} grow;

static void *
grow_slot(delta_arena *arena, grow *g, size_t item_size)
{
	if (g->count == g->cap)
	{
		size_t cap = g->cap ? g->cap * 2 : 8;
		void *items;

		if (cap > SIZE_MAX / item_size)
			return NULL;
		items = delta_arena_alloc(arena, cap * item_size);
		if (items == NULL)
			return NULL;
		if (g->count)
			memcpy(items, g->items, g->count * item_size);
		g->items = items;
		g->cap = cap;
	}
	return (char *) g->items + (g->count++) * item_size;
}

static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

typedef struct indexed_member {
	djson_member m;
	size_t index;
} indexed_member;

static int
indexed_member_cmp(const void *x, const void *y)
{
	const indexed_member *a = x;
	const indexed_member *b = y;
	int c = key_cmp(a->m.key, a->m.key_len, b->m.key, b->m.key_len);

	if (c != 0)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

/*
 * Sorts members by key and keeps the last of each duplicate; the result
 * goes into a new arena array.
 */
static delta_status
make_object(delta_arena *arena, const djson_member *members, size_t count,
			const djson_value **out, delta_error *err)
{
	djson_value *v = delta_arena_alloc(arena, sizeof(djson_value));
	indexed_member *tmp;
	djson_member *sorted;
	size_t i;
	size_t n = 0;

	if (v == NULL)
		return oom(err);
	v->type = DJSON_OBJECT;
	v->u.object.members = NULL;
	v->u.object.count = 0;
	if (count == 0)
	{
		*out = v;
		return DELTA_OK;
	}
	if (count > SIZE_MAX / sizeof(indexed_member))
		return oom(err);
	tmp = delta_arena_alloc(arena, count * sizeof(indexed_member));
	sorted = delta_arena_alloc(arena, count * sizeof(djson_member));
	if (tmp == NULL || sorted == NULL)
		return oom(err);
	for (i = 0; i < count; i++)
	{
		tmp[i].m = members[i];
		tmp[i].index = i;
	}
	qsort(tmp, count, sizeof(indexed_member), indexed_member_cmp);
	for (i = 0; i < count; i++)
	{
		if (i + 1 < count &&
			key_cmp(tmp[i].m.key, tmp[i].m.key_len, tmp[i + 1].m.key,
					tmp[i + 1].m.key_len) == 0)
			continue; /* a later duplicate follows: it wins */
		sorted[n++] = tmp[i].m;
	}
	v->u.object.members = sorted;
	v->u.object.count = n;
	*out = v;
	return DELTA_OK;
}

const djson_value *
djson_scalar_new(delta_arena *arena, djson_type type)
{
	djson_value *v = delta_arena_alloc(arena, sizeof(djson_value));

	if (v != NULL)
		v->type = type;
	return v;
}

/* len bytes, NUL-terminated, in the arena. */
static char *
copy_bytes(delta_arena *arena, const char *bytes, size_t len)
{
	char *copy = delta_arena_alloc(arena, len + 1);

	if (copy != NULL)
	{
		memcpy(copy, bytes, len);
		copy[len] = '\0';
	}
	return copy;
}

const djson_value *
djson_string_new(delta_arena *arena, const char *bytes, size_t len)
{
	djson_value *v = delta_arena_alloc(arena, sizeof(djson_value));
	char *copy = copy_bytes(arena, bytes, len);

	if (v == NULL || copy == NULL)
		return NULL;
	v->type = DJSON_STRING;
	v->u.string.bytes = copy;
	v->u.string.len = len;
	return v;
}

const djson_value *
djson_number_new(delta_arena *arena, const char *literal, size_t len)
{
	djson_value *v = delta_arena_alloc(arena, sizeof(djson_value));
	char *copy = copy_bytes(arena, literal, len);

	if (v == NULL || copy == NULL)
		return NULL;
	v->type = DJSON_NUMBER;
	v->u.number.literal = copy;
	v->u.number.len = len;
	v->u.number.value = strtod(copy, NULL);
	return v;
}

const djson_value *
djson_array_new(delta_arena *arena, const djson_value *const *items,
				size_t count)
{
	djson_value *v = delta_arena_alloc(arena, sizeof(djson_value));
	const djson_value **copy =
		delta_arena_alloc(arena, (count ? count : 1) * sizeof(djson_value *));

	if (v == NULL || copy == NULL)
		return NULL;
	if (count > 0)
		memcpy(copy, items, count * sizeof(djson_value *));
	v->type = DJSON_ARRAY;
	v->u.array.items = copy;
	v->u.array.count = count;
	return v;
}

delta_status
djson_object_new(delta_arena *arena, djson_member *members, size_t count,
				 const djson_value **out, delta_error *err)
{
	return make_object(arena, members, count, out, err);
}

static delta_status
parse_object(json_parser *p, int depth, const djson_value **out)
{
	grow g = {NULL, 0, 0};
	delta_status st;

	p->pos++; /* '{' */
	skip_space(p);
	if (p->pos < p->len && p->s[p->pos] == '}')
	{
		p->pos++;
		return make_object(p->arena, NULL, 0, out, p->err);
	}
	for (;;)
	{
		djson_member *m;

		skip_space(p);
		if (p->pos >= p->len || p->s[p->pos] != '"')
			return syntax(p, "expected a string key");
		m = grow_slot(p->arena, &g, sizeof(djson_member));
		if (m == NULL)
			return oom(p->err);
		st = parse_string(p, &m->key, &m->key_len);
		if (st != DELTA_OK)
			return st;
		skip_space(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return syntax(p, "expected ':'");
		p->pos++;
		st = parse_value(p, depth + 1, &m->value);
		if (st != DELTA_OK)
			return st;
		skip_space(p);
		if (p->pos < p->len && p->s[p->pos] == ',')
		{
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}')
		{
			p->pos++;
			return make_object(p->arena, g.items, g.count, out, p->err);
		}
		return syntax(p, "expected ',' or '}'");
	}
}

static delta_status
parse_array(json_parser *p, int depth, const djson_value **out)
{
	grow g = {NULL, 0, 0};
	djson_value *v;
	delta_status st;

	p->pos++; /* '[' */
	skip_space(p);
	if (p->pos < p->len && p->s[p->pos] == ']')
		p->pos++;
	else
	{
		for (;;)
		{
			const djson_value **slot =
				grow_slot(p->arena, &g, sizeof(djson_value *));

			if (slot == NULL)
				return oom(p->err);
			st = parse_value(p, depth + 1, slot);
			if (st != DELTA_OK)
				return st;
			skip_space(p);
			if (p->pos < p->len && p->s[p->pos] == ',')
			{
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->s[p->pos] == ']')
			{
				p->pos++;
				break;
			}
			return syntax(p, "expected ',' or ']'");
		}
	}
	v = new_value(p, DJSON_ARRAY);
	if (v == NULL)
		return oom(p->err);
	v->u.array.items = g.items;
	v->u.array.count = g.count;
	*out = v;
	return DELTA_OK;
}

static delta_status
parse_literal(json_parser *p, const char *word, djson_type type,
			  const djson_value **out)
{
	size_t n = strlen(word);
	djson_value *v;

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return syntax(p, "unexpected character");
	p->pos += n;
	v = new_value(p, type);
	if (v == NULL)
		return oom(p->err);
	*out = v;
	return DELTA_OK;
}

static delta_status
parse_value(json_parser *p, int depth, const djson_value **out)
{
	if (depth > DJSON_DEPTH_MAX)
		return delta_fail(p->err, DELTA_ELIMIT,
						  "JSON nested deeper than %d levels",
						  DJSON_DEPTH_MAX);
	skip_space(p);
	if (p->pos >= p->len)
		return syntax(p, "unexpected end of input");
	switch (p->s[p->pos])
	{
		case '{':
			return parse_object(p, depth, out);
		case '[':
			return parse_array(p, depth, out);
		case '"':
		{
			djson_value *v = new_value(p, DJSON_STRING);

			if (v == NULL)
				return oom(p->err);
			*out = v;
			return parse_string(p, &v->u.string.bytes, &v->u.string.len);
		}
		case 't':
			return parse_literal(p, "true", DJSON_TRUE, out);
		case 'f':
			return parse_literal(p, "false", DJSON_FALSE, out);
		case 'n':
			return parse_literal(p, "null", DJSON_NULL, out);
		default:
			return parse_number(p, out);
	}
}

delta_status
djson_parse(delta_arena *arena, const char *text, size_t len,
			const djson_value **out, delta_error *err)
{
	json_parser p = {arena, (const unsigned char *) text, len, 0, err};
	delta_status st = parse_value(&p, 1, out);

	if (st != DELTA_OK)
		return st;
	skip_space(&p);
	if (p.pos != p.len)
		return syntax(&p, "unexpected data after the value");
	return DELTA_OK;
}

bool
djson_equal(const djson_value *a, const djson_value *b)
{
	size_t i;

	if (a == b)
		return true;
	if (a == NULL || b == NULL || a->type != b->type)
		return false;
	switch (a->type)
	{
		case DJSON_NULL:
		case DJSON_TRUE:
		case DJSON_FALSE:
			return true;
		case DJSON_NUMBER:
			return a->u.number.value == b->u.number.value;
		case DJSON_STRING:
			return a->u.string.len == b->u.string.len &&
				   memcmp(a->u.string.bytes, b->u.string.bytes,
						  a->u.string.len) == 0;
		case DJSON_ARRAY:
			if (a->u.array.count != b->u.array.count)
				return false;
			for (i = 0; i < a->u.array.count; i++)
				if (!djson_equal(a->u.array.items[i], b->u.array.items[i]))
					return false;
			return true;
		case DJSON_OBJECT:
			if (a->u.object.count != b->u.object.count)
				return false;
			for (i = 0; i < a->u.object.count; i++)
			{
				const djson_member *x = &a->u.object.members[i];
				const djson_member *y = &b->u.object.members[i];

				if (key_cmp(x->key, x->key_len, y->key, y->key_len) != 0 ||
					!djson_equal(x->value, y->value))
					return false;
			}
			return true;
	}
	return false;
}

const djson_value *
djson_object_get(const djson_value *object, const char *key, size_t key_len)
{
	size_t lo = 0;
	size_t hi;

	if (object == NULL || object->type != DJSON_OBJECT)
		return NULL;
	hi = object->u.object.count;
	while (lo < hi)
	{
		size_t mid = lo + (hi - lo) / 2;
		const djson_member *m = &object->u.object.members[mid];
		int c = key_cmp(m->key, m->key_len, key, key_len);

		if (c == 0)
			return m->value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
delta_buf_init(delta_buf *buf, delta_arena *arena)
{
	buf->arena = arena;
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

delta_status
delta_buf_append(delta_buf *buf, const void *bytes, size_t len,
				 delta_error *err)
{
	if (len >= buf->cap - buf->len || buf->data == NULL)
	{
		size_t cap = buf->cap ? buf->cap : 256;
		char *data;

		while (cap - buf->len <= len)
		{
			if (cap > SIZE_MAX / 2)
				return oom(err);
			cap *= 2;
		}
		data = delta_arena_alloc(buf->arena, cap);
		if (data == NULL)
			return oom(err);
		if (buf->data != NULL)
			memcpy(data, buf->data, buf->len);
		buf->data = data;
		buf->cap = cap;
	}
	memcpy(buf->data + buf->len, bytes, len);
	buf->len += len;
	buf->data[buf->len] = '\0'; /* always room: len < cap above */
	return DELTA_OK;
}

delta_status
djson_write_string(delta_buf *buf, const char *s, size_t len, delta_error *err)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;
	size_t i;
	delta_status st;

	if ((st = delta_buf_append(buf, "\"", 1, err)) != DELTA_OK)
		return st;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		/* flush the plain run before this character */
		if ((st = delta_buf_append(buf, s + run, i - run, err)) != DELTA_OK)
			return st;
		run = i + 1;
		esc[0] = '\\';
		switch (c)
		{
			case '"':
				esc[1] = '"';
				break;
			case '\\':
				esc[1] = '\\';
				break;
			case '\n':
				esc[1] = 'n';
				break;
			case '\r':
				esc[1] = 'r';
				break;
			case '\t':
				esc[1] = 't';
				break;
			case '\b':
				esc[1] = 'b';
				break;
			case '\f':
				esc[1] = 'f';
				break;
			default:
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				n = 6;
		}
		if ((st = delta_buf_append(buf, esc, n, err)) != DELTA_OK)
			return st;
	}
	if ((st = delta_buf_append(buf, s + run, len - run, err)) != DELTA_OK)
		return st;
	return delta_buf_append(buf, "\"", 1, err);
}

size_t
djson_string_size(const char *s, size_t len)
{
	size_t n = len + 2;
	size_t i;

	/* the escapes djson_write_string writes: two bytes, or six for \u00XX */
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' ||
			c == '\b' || c == '\f')
			n += 1;
		else if (c < 0x20)
			n += 5;
	}
	return n;
}

size_t
djson_write_size(const djson_value *v)
{
	size_t n = 0;
	size_t i;

	switch (v->type)
	{
		case DJSON_NULL:
		case DJSON_TRUE:
			return 4;
		case DJSON_FALSE:
			return 5;
		case DJSON_NUMBER:
			return v->u.number.len;
		case DJSON_STRING:
			return djson_string_size(v->u.string.bytes, v->u.string.len);
		case DJSON_ARRAY:
			/* brackets and commas */
			n = 2 + (v->u.array.count ? v->u.array.count - 1 : 0);
			for (i = 0; i < v->u.array.count; i++)
				n += djson_write_size(v->u.array.items[i]);
			return n;
		case DJSON_OBJECT:
			/* braces, commas and colons */
			n = 2 + (v->u.object.count ? v->u.object.count - 1 : 0) +
				v->u.object.count;
			for (i = 0; i < v->u.object.count; i++)
				n += djson_string_size(v->u.object.members[i].key,
									   v->u.object.members[i].key_len) +
					 djson_write_size(v->u.object.members[i].value);
			return n;
	}
	return n;
}

delta_status
djson_write(delta_buf *buf, const djson_value *v, delta_error *err)
{
	delta_status st = DELTA_OK;
	size_t i;

	switch (v->type)
	{
		case DJSON_NULL:
			return delta_buf_append(buf, "null", 4, err);
		case DJSON_TRUE:
			return delta_buf_append(buf, "true", 4, err);
		case DJSON_FALSE:
			return delta_buf_append(buf, "false", 5, err);
		case DJSON_NUMBER:
			return delta_buf_append(buf, v->u.number.literal, v->u.number.len,
									err);
		case DJSON_STRING:
			return djson_write_string(buf, v->u.string.bytes, v->u.string.len,
									  err);
		case DJSON_ARRAY:
			if ((st = delta_buf_append(buf, "[", 1, err)) != DELTA_OK)
				return st;
			for (i = 0; i < v->u.array.count && st == DELTA_OK; i++)
			{
				if (i > 0)
					st = delta_buf_append(buf, ",", 1, err);
				if (st == DELTA_OK)
					st = djson_write(buf, v->u.array.items[i], err);
			}
			return st != DELTA_OK ? st : delta_buf_append(buf, "]", 1, err);
		case DJSON_OBJECT:
			if ((st = delta_buf_append(buf, "{", 1, err)) != DELTA_OK)
				return st;
			for (i = 0; i < v->u.object.count && st == DELTA_OK; i++)
			{
				const djson_member *m = &v->u.object.members[i];

				if (i > 0)
					st = delta_buf_append(buf, ",", 1, err);
				if (st == DELTA_OK)
					st = djson_write_string(buf, m->key, m->key_len, err);
				if (st == DELTA_OK)
					st = delta_buf_append(buf, ":", 1, err);
				if (st == DELTA_OK)
					st = djson_write(buf, m->value, err);
			}
			return st != DELTA_OK ? st : delta_buf_append(buf, "}", 1, err);
	}
	return st;
}
