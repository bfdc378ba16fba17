/*
 * fuzz_util.h — helpers shared by the fuzz targets in tests/fuzz/.
 *
 * A violated property prints what was expected, the deltas involved (as
 * JSON) and calls abort(), which libFuzzer reports together with the input
 * that caused it.  Everything allocates in the arena of the current input;
 * the targets create and destroy one arena per input.
 */
#ifndef COLLAB_TESTS_FUZZ_UTIL_H
#define COLLAB_TESTS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"

#define FUZZ_REQUIRE(cond, ...) \
	do \
	{ \
		if (!(cond)) \
		{ \
			fprintf(stderr, "violated: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* The delta as JSON text in the arena (for messages), cut at 2000 bytes. */
static inline const char *
fuzz_json(delta_arena *arena, const delta *d)
{
	delta_buf buf;

	if (d == NULL)
		return "(none)";
	delta_buf_init(&buf, arena);
	if (delta_write(&buf, d, NULL) != DELTA_OK)
		return "(out of memory)";
	if (buf.len > 2000)
		buf.data[2000] = '\0';
	return buf.data;
}

/* Fails with both deltas printed unless they are equal. */
static inline void
fuzz_same(delta_arena *arena, const delta *x, const delta *y, const char *what)
{
	if (delta_equal(x, y))
		return;
	fprintf(stderr, "violated: %s\n  left:  %s\n  right: %s\n", what,
			fuzz_json(arena, x), fuzz_json(arena, y));
	abort();
}

/* A failed call must give a status and a message. */
static inline void
fuzz_check_error(delta_status st, const delta_error *err, const char *what)
{
	FUZZ_REQUIRE(st > DELTA_OK && st <= DELTA_ENOMEM, "%s returned status %d",
				 what, (int) st);
	FUZZ_REQUIRE(err->status == st, "%s returned %d but stored %d", what,
				 (int) st, (int) err->status);
	FUZZ_REQUIRE(err->message[0] != '\0', "%s failed without a message", what);
	FUZZ_REQUIRE(st != DELTA_ENOMEM, "%s ran out of memory", what);
}

/* Resets err so that a failure which forgets to fill it is caught. */
static inline void
fuzz_error_reset(delta_error *err)
{
	err->status = DELTA_OK;
	err->message[0] = '\0';
}

/*
 * Checks what the core promises of every delta it returns: positive
 * lengths, no empty attributes, no attributes on deletes, no insert right
 * after a delete, and nothing left to merge (pushing the operations again
 * into a new delta gives the same operations).
 */
static inline void
fuzz_check_canonical(delta_arena *arena, const delta *d, const char *what)
{
	delta *copy = delta_new(arena, NULL);
	size_t i;

	FUZZ_REQUIRE(copy != NULL, "delta_new failed");
	for (i = 0; i < d->count; i++)
	{
		const delta_op *op = &d->ops[i];

		FUZZ_REQUIRE(op->length > 0, "%s: ops[%zu] has length %lld", what, i,
					 (long long) op->length);
		FUZZ_REQUIRE(op->attributes == NULL ||
						 (op->attributes->type == DJSON_OBJECT &&
						  op->attributes->u.object.count > 0),
					 "%s: ops[%zu] keeps empty attributes", what, i);
		FUZZ_REQUIRE(op->kind != DELTA_OP_DELETE || op->attributes == NULL,
					 "%s: ops[%zu] is a delete with attributes", what, i);
		FUZZ_REQUIRE(i == 0 || op->kind != DELTA_OP_INSERT ||
						 d->ops[i - 1].kind != DELTA_OP_DELETE,
					 "%s: ops[%zu] is an insert after a delete: %s", what, i,
					 fuzz_json(arena, d));
		FUZZ_REQUIRE(delta_push(arena, copy, op, NULL) == DELTA_OK,
					 "delta_push failed");
	}
	if (!delta_equal(d, copy))
	{
		fprintf(stderr, "violated: %s is not canonical: %s\n", what,
				fuzz_json(arena, d));
		abort();
	}
}

/* True when an insert carries an attribute whose value is null. */
static inline bool
fuzz_has_null_insert_attribute(const delta *d)
{
	size_t i;
	size_t k;

	for (i = 0; i < d->count; i++)
	{
		const djson_value *attrs = d->ops[i].attributes;

		if (d->ops[i].kind != DELTA_OP_INSERT || attrs == NULL)
			continue;
		for (k = 0; k < attrs->u.object.count; k++)
			if (attrs->u.object.members[k].value->type == DJSON_NULL)
				return true;
	}
	return false;
}

/* --- shapes -------------------------------------------------------------- */

/* The shape of a document computed here, the slow way, to compare with. */
static inline void
fuzz_check_shape_of(const delta *doc, const delta_shape *shape)
{
	int64_t at = 0;
	size_t n = 0;
	size_t i;
	size_t b;

	for (i = 0; i < doc->count; i++)
	{
		const delta_op *op = &doc->ops[i];

		if (op->embed != NULL)
		{
			at++;
			continue;
		}
		for (b = 0; b < op->bytes; b++)
		{
			unsigned char c = (unsigned char) op->text[b];

			if ((c & 0xC0) == 0x80)
				continue;
			if (c >= 0xF0)
			{
				FUZZ_REQUIRE(n < shape->nastral && shape->astral[n] == at,
							 "shape: pair %zu should start at %lld", n,
							 (long long) at);
				n++;
				at += 2;
			}
			else
				at++;
		}
	}
	FUZZ_REQUIRE(n == shape->nastral, "shape has %zu pairs, not %zu",
				 shape->nastral, n);
	FUZZ_REQUIRE(at == shape->length && at == delta_length(doc),
				 "shape length %lld, document %lld", (long long) shape->length,
				 (long long) at);
}

/* True when the document's last character is a newline. */
static inline bool
fuzz_ends_with_newline(const delta *doc)
{
	const delta_op *last;

	if (doc->count == 0)
		return false;
	last = &doc->ops[doc->count - 1];
	return last->embed == NULL && last->bytes > 0 &&
		   last->text[last->bytes - 1] == '\n';
}

/*
 * delta_shape_apply must accept exactly the changes delta_apply accepts and
 * give the shape of the result, its size bounds at least the result's sizes
 * (exact from delta_shape_of); with keep_final_newline on a document that
 * ends with a newline, what it accepts must keep that newline last.
 * Returns whether the change applies.
 */
static inline bool
fuzz_check_shape(delta_arena *arena, const delta *doc, const delta *change)
{
	delta_shape shape;
	delta_shape after;
	delta_shape kept;
	delta_shape exact;
	delta_error err;
	delta_error err2;
	delta *result = NULL;
	delta_status applied;
	delta_status checked;
	delta_status st;

	fuzz_error_reset(&err);
	st = delta_shape_of(arena, doc, &shape, &err);
	if (st != DELTA_OK)
	{
		fuzz_check_error(st, &err, "shape_of");
		FUZZ_REQUIRE(!delta_is_document(doc),
					 "shape_of refused a document: %s", err.message);
		return false;
	}
	FUZZ_REQUIRE(delta_is_document(doc), "shape_of took a non-document");
	fuzz_check_shape_of(doc, &shape);
	FUZZ_REQUIRE(shape.bytes == (int64_t) delta_write_size(doc),
				 "shape_of: %lld bytes, the document writes %zu",
				 (long long) shape.bytes, delta_write_size(doc));

	fuzz_error_reset(&err);
	applied = delta_apply(arena, doc, change, &result, &err);
	if (applied == DELTA_ELIMIT)
		return false; /* a merged op too long: not shape's job */
	fuzz_error_reset(&err2);
	checked = delta_shape_apply(arena, &shape, change, false, &after, &err2);
	if (checked != DELTA_OK)
		fuzz_check_error(checked, &err2, "shape_apply");
	FUZZ_REQUIRE((applied == DELTA_OK) == (checked == DELTA_OK),
				 "apply says %d (%s), shape_apply %d (%s) for %s on %s",
				 (int) applied, applied ? err.message : "ok", (int) checked,
				 checked ? err2.message : "ok", fuzz_json(arena, change),
				 fuzz_json(arena, doc));
	if (applied != DELTA_OK)
		return false;
	fuzz_check_shape_of(result, &after);
	/* the size bounds stay bounds (quotas rely on them) */
	fuzz_error_reset(&err);
	FUZZ_REQUIRE(delta_shape_of(arena, result, &exact, &err) == DELTA_OK,
				 "shape_of the result: %s", err.message);
	FUZZ_REQUIRE(after.bytes >= exact.bytes &&
					 after.attributes_bytes >= exact.attributes_bytes,
				 "bounds %lld, %lld below the result's %lld, %lld for %s "
				 "on %s",
				 (long long) after.bytes, (long long) after.attributes_bytes,
				 (long long) exact.bytes, (long long) exact.attributes_bytes,
				 fuzz_json(arena, change), fuzz_json(arena, doc));

	if (fuzz_ends_with_newline(doc))
	{
		fuzz_error_reset(&err2);
		st = delta_shape_apply(arena, &shape, change, true, &kept, &err2);
		if (st != DELTA_OK)
			fuzz_check_error(st, &err2, "shape_apply keeping the newline");
		else
			FUZZ_REQUIRE(fuzz_ends_with_newline(result),
						 "shape_apply kept the final newline of %s but "
						 "%s loses it",
						 fuzz_json(arena, doc), fuzz_json(arena, change));
	}
	return true;
}

/* --- HTML -----------------------------------------------------------------
 */

static inline bool
fuzz_html_word(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* Lowercased scheme of an attribute value as browsers see it (leading
 * controls and spaces stripped, tabs and newlines ignored), "" if none. */
static inline void
fuzz_html_scheme(const char *s, size_t n, char *out, size_t cap)
{
	size_t i = 0;
	size_t k = 0;

	out[0] = '\0';
	while (i < n && (unsigned char) s[i] <= 0x20)
		i++;
	for (; i < n && k + 1 < cap; i++)
	{
		char c = s[i];

		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == ':')
		{
			out[k] = '\0';
			return;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			break;
		out[k++] = (char) ((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
	}
	out[0] = '\0';
}

/*
 * Checks the HTML of a document: every '<' starts a tag the writer may
 * write, attribute values hold no raw quote or angle bracket, links and
 * images carry no script-capable scheme, tags nest the way HTML requires
 * (li in ul/ol, lists at the top or in li, blocks at the top, inline
 * formats inside a block) and all close.
 */
static inline void
fuzz_check_html(const char *html, size_t len)
{
	enum {
		DEPTH = 64
	};
	char stack[DEPTH][16];
	int top = 0;
	size_t i = 0;

	/* text may hold U+0000 (JSON allows "\u0000"), so the output may too */
	FUZZ_REQUIRE(html[len] == '\0', "to_html: output not terminated");
	while (i < len)
	{
		size_t j;
		size_t n;
		bool closing;
		const char *name;
		const char *parent;

		if (html[i] == '>' || html[i] == '"')
			FUZZ_REQUIRE(false, "to_html: raw %c at %zu: %s", html[i], i,
						 html);
		if (html[i] != '<')
		{
			i++;
			continue;
		}
		closing = i + 1 < len && html[i + 1] == '/';
		j = i + 1 + closing;
		name = html + j;
		while (j < len && html[j] >= 'a' && html[j] <= 'z')
			j++;
		if (j < len && html[j] >= '1' && html[j] <= '6' &&
			j == (size_t) (name - html) + 1 && name[0] == 'h')
			j++;
		n = (size_t) (html + j - name);
		FUZZ_REQUIRE(n > 0 && n < 16, "to_html: a tag without a name at %zu",
					 i);
		/* attributes: name="value" with nothing raw inside */
		while (j < len && html[j] == ' ')
		{
			const char *attr = html + ++j;
			size_t an;
			const char *value;
			char scheme[32];

			while (j < len &&
				   (html[j] == '-' || (html[j] >= 'a' && html[j] <= 'z')))
				j++;
			an = (size_t) (html + j - attr);
			FUZZ_REQUIRE(j + 1 < len && html[j] == '=' && html[j + 1] == '"',
						 "to_html: bad attribute at %zu: %s", j, html);
			j += 2;
			value = html + j;
			while (j < len && html[j] != '"')
			{
				FUZZ_REQUIRE(html[j] != '<' && html[j] != '>',
							 "to_html: raw bracket in a value: %s", html);
				j++;
			}
			FUZZ_REQUIRE(j < len, "to_html: unterminated value: %s", html);
			if (fuzz_html_word(attr, an, "href") ||
				fuzz_html_word(attr, an, "src"))
			{
				fuzz_html_scheme(value, (size_t) (html + j - value), scheme,
								 sizeof(scheme));
				FUZZ_REQUIRE(scheme[0] == '\0' ||
								 strcmp(scheme, "http") == 0 ||
								 strcmp(scheme, "https") == 0 ||
								 strcmp(scheme, "mailto") == 0 ||
								 strcmp(scheme, "tel") == 0 ||
								 (strcmp(scheme, "data") == 0 &&
								  attr[0] == 's'),
							 "to_html: scheme %s in %.*s", scheme,
							 (int) (html + j - value), value);
			}
			j++;
		}
		FUZZ_REQUIRE(j < len && html[j] == '>', "to_html: bad tag at %zu: %s",
					 i, html);
		i = j + 1;

		if (fuzz_html_word(name, n, "br") || fuzz_html_word(name, n, "img"))
		{
			FUZZ_REQUIRE(!closing && top > 0, "to_html: stray %.*s", (int) n,
						 name);
			continue;
		}
		if (closing)
		{
			FUZZ_REQUIRE(top > 0 && strlen(stack[top - 1]) == n &&
							 memcmp(stack[top - 1], name, n) == 0,
						 "to_html: </%.*s> closes %s: %s", (int) n, name,
						 top > 0 ? stack[top - 1] : "nothing", html);
			top--;
			continue;
		}
		parent = top > 0 ? stack[top - 1] : "";
		if (fuzz_html_word(name, n, "li"))
			FUZZ_REQUIRE(strcmp(parent, "ul") == 0 ||
							 strcmp(parent, "ol") == 0,
						 "to_html: li inside %s: %s", parent, html);
		else if (fuzz_html_word(name, n, "ul") ||
				 fuzz_html_word(name, n, "ol"))
			FUZZ_REQUIRE(top == 0 || strcmp(parent, "li") == 0,
						 "to_html: list inside %s: %s", parent, html);
		else if (fuzz_html_word(name, n, "p") ||
				 fuzz_html_word(name, n, "blockquote") ||
				 fuzz_html_word(name, n, "pre") || (n == 2 && name[0] == 'h'))
			FUZZ_REQUIRE(top == 0, "to_html: block %.*s inside %s: %s",
						 (int) n, name, parent, html);
		else
		{
			FUZZ_REQUIRE(fuzz_html_word(name, n, "strong") ||
							 fuzz_html_word(name, n, "em") ||
							 fuzz_html_word(name, n, "u") ||
							 fuzz_html_word(name, n, "s") ||
							 fuzz_html_word(name, n, "code") ||
							 fuzz_html_word(name, n, "a"),
						 "to_html: unknown tag %.*s", (int) n, name);
			FUZZ_REQUIRE(top > 0 && strcmp(parent, "ul") != 0 &&
							 strcmp(parent, "ol") != 0 &&
							 strcmp(parent, "pre") != 0,
						 "to_html: inline %.*s inside %s: %s", (int) n, name,
						 parent, html);
		}
		FUZZ_REQUIRE(top < DEPTH, "to_html: nested too deep");
		memcpy(stack[top], name, n);
		stack[top][n] = '\0';
		top++;
	}
	FUZZ_REQUIRE(top == 0, "to_html: %s left open: %s", stack[top - 1], html);
}

/* Runs delta_to_html and checks its output or its failure. */
static inline void
fuzz_run_html(delta_arena *arena, const delta *d)
{
	delta_error err;
	char *html;
	size_t len;
	delta_status st;

	fuzz_error_reset(&err);
	st = delta_to_html(arena, d, &html, &len, &err);
	if (st != DELTA_OK)
	{
		fuzz_check_error(st, &err, "to_html");
		FUZZ_REQUIRE(!delta_is_document(d), "to_html refused a document");
		return;
	}
	FUZZ_REQUIRE(delta_is_document(d), "to_html took a non-document");
	fuzz_check_html(html, len);
}

#endif
