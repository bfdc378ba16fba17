/*
 * html.c — a document as semantic HTML (delta_to_html).
 *
 * A Quill document is a sequence of lines; each line ends with "\n", and
 * the attributes of that newline are the line's block format (header,
 * list, blockquote, code-block, indent).  The text before it carries the
 * inline formats.  The writer collects one line's pieces, then emits the
 * block: consecutive code-block lines share one <pre>; consecutive list
 * lines share lists, nested by indent, so that every nested list sits
 * inside an <li> as HTML requires.
 *
 * Safety: all text and attribute values go through escape(); URLs through
 * url_allowed(), which finds the scheme the way browsers do (leading
 * controls and spaces stripped, tabs and newlines ignored) and accepts only
 * a short list.  Nothing of the input reaches the output unescaped.
 */
#include <string.h>

#include "internal.h"

#define LIST_DEPTH_MAX 8

typedef struct piece {
	const delta_op *op; /* for attributes and embeds */
	const char *text;	/* the part of op's text on this line */
	size_t bytes;
} piece;

typedef struct html_writer {
	delta_arena *arena;
	delta_error *err;
	delta_buf out;
	piece *pieces; /* the current line */
	size_t npieces;
	size_t cap;
	bool in_pre;
	int depth; /* open lists, each with one open <li> */
	const char *kinds[LIST_DEPTH_MAX]; /* "ul" or "ol" per level */
} html_writer;

#define PUT(w, lit) \
	delta_buf_append(&(w)->out, (lit), sizeof(lit) - 1, (w)->err)

static delta_status
put(html_writer *w, const char *s)
{
	return delta_buf_append(&w->out, s, strlen(s), w->err);
}

static delta_status
escape(html_writer *w, const char *s, size_t n)
{
	size_t run = 0;
	size_t i;
	delta_status st;

	for (i = 0; i < n; i++)
	{
		const char *rep;

		switch (s[i])
		{
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '"':
				rep = "&quot;";
				break;
			case '\'':
				rep = "&#39;";
				break;
			default:
				continue;
		}
		if ((st = delta_buf_append(&w->out, s + run, i - run, w->err)) !=
				DELTA_OK ||
			(st = put(w, rep)) != DELTA_OK)
			return st;
		run = i + 1;
	}
	return delta_buf_append(&w->out, s + run, n - run, w->err);
}

static const djson_value *
attr(const djson_value *attrs, const char *name)
{
	return djson_object_get(attrs, name, strlen(name));
}

/* Quill's boolean formats: present, and neither null nor false. */
static bool
attr_on(const djson_value *attrs, const char *name)
{
	const djson_value *v = attr(attrs, name);

	return v != NULL && v->type != DJSON_NULL && v->type != DJSON_FALSE;
}

static bool
attr_string_is(const djson_value *attrs, const char *name, const char *value)
{
	const djson_value *v = attr(attrs, name);

	return v != NULL && v->type == DJSON_STRING &&
		   v->u.string.len == strlen(value) &&
		   memcmp(v->u.string.bytes, value, v->u.string.len) == 0;
}

/* An integer attribute in [lo, hi], else 0. */
static int
attr_int(const djson_value *attrs, const char *name, int lo, int hi)
{
	const djson_value *v = attr(attrs, name);
	double d;

	if (v == NULL)
		return 0;
	if (v->type == DJSON_NUMBER)
		d = v->u.number.value;
	else if (v->type == DJSON_STRING && v->u.string.len == 1 &&
			 v->u.string.bytes[0] >= '0' && v->u.string.bytes[0] <= '9')
		d = v->u.string.bytes[0] - '0';
	else
		return 0;
	if (d < lo || d > hi || d != (int) d)
		return 0;
	return (int) d;
}

static bool
prefix_is(const char *s, size_t n, const char *lower)
{
	size_t k = strlen(lower);
	size_t i;

	if (n < k)
		return false;
	for (i = 0; i < k; i++)
	{
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		if (c != lower[i])
			return false;
	}
	return true;
}

/*
 * Whether a URL may be written into href or src.  Relative URLs are fine;
 * otherwise the scheme must be one we know is inert.
 */
static bool
url_allowed(const char *s, size_t n, bool image)
{
	char scheme[16];
	size_t k = 0;
	size_t i = 0;

	while (i < n && (unsigned char) s[i] <= 0x20)
		i++;
	for (; i < n; i++)
	{
		char c = s[i];

		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '/' || c == '?' || c == '#')
			return true; /* no scheme: relative */
		if (c == ':')
			break;
		if (k == sizeof(scheme) - 1)
			return false;
		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		scheme[k++] = c;
	}
	if (i == n)
		return true; /* no colon at all: relative */
	scheme[k] = '\0';
	if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)
		return true;
	if (image)
	{
		/* inline raster images only; svg can carry script */
		i++;
		return strcmp(scheme, "data") == 0 &&
			   (prefix_is(s + i, n - i, "image/png") ||
				prefix_is(s + i, n - i, "image/jpeg") ||
				prefix_is(s + i, n - i, "image/gif") ||
				prefix_is(s + i, n - i, "image/webp"));
	}
	return strcmp(scheme, "mailto") == 0 || strcmp(scheme, "tel") == 0;
}

static const djson_value *
safe_url(const djson_value *v, bool image)
{
	if (v == NULL || v->type != DJSON_STRING ||
		!url_allowed(v->u.string.bytes, v->u.string.len, image))
		return NULL;
	return v;
}

static delta_status
open_tag(html_writer *w, const char *tag)
{
	delta_status st;

	if ((st = PUT(w, "<")) != DELTA_OK || (st = put(w, tag)) != DELTA_OK)
		return st;
	return PUT(w, ">");
}

static delta_status
close_tag(html_writer *w, const char *tag)
{
	delta_status st;

	if ((st = PUT(w, "</")) != DELTA_OK || (st = put(w, tag)) != DELTA_OK)
		return st;
	return PUT(w, ">");
}

static const char *const inline_tags[][2] = {
	{"bold", "strong"}, {"italic", "em"}, {"underline", "u"},
	{"strike", "s"},	{"code", "code"},
};
#define N_INLINE (sizeof(inline_tags) / sizeof(inline_tags[0]))

static delta_status
write_piece(html_writer *w, const piece *p, bool plain)
{
	const djson_value *attrs = p->op->attributes;
	const djson_value *link =
		plain ? NULL : safe_url(attr(attrs, "link"), false);
	delta_status st = DELTA_OK;
	size_t i;

	if (plain)
		return p->op->embed ? DELTA_OK : escape(w, p->text, p->bytes);
	if (link != NULL && ((st = PUT(w, "<a href=\"")) != DELTA_OK ||
						 (st = escape(w, link->u.string.bytes,
									  link->u.string.len)) != DELTA_OK ||
						 (st = PUT(w, "\">")) != DELTA_OK))
		return st;
	for (i = 0; i < N_INLINE; i++)
		if (attr_on(attrs, inline_tags[i][0]) &&
			(st = open_tag(w, inline_tags[i][1])) != DELTA_OK)
			return st;
	if (p->op->embed != NULL)
	{
		const djson_value *src = safe_url(attr(p->op->embed, "image"), true);

		if (src != NULL && ((st = PUT(w, "<img src=\"")) != DELTA_OK ||
							(st = escape(w, src->u.string.bytes,
										 src->u.string.len)) != DELTA_OK ||
							(st = PUT(w, "\">")) != DELTA_OK))
			return st;
	}
	else if ((st = escape(w, p->text, p->bytes)) != DELTA_OK)
		return st;
	for (i = N_INLINE; i-- > 0;)
		if (attr_on(attrs, inline_tags[i][0]) &&
			(st = close_tag(w, inline_tags[i][1])) != DELTA_OK)
			return st;
	if (link != NULL)
		st = PUT(w, "</a>");
	return st;
}

static delta_status
write_inline(html_writer *w, bool plain)
{
	size_t i;
	delta_status st;

	if (w->npieces == 0 && !plain)
		return PUT(w, "<br>");
	for (i = 0; i < w->npieces; i++)
		if ((st = write_piece(w, &w->pieces[i], plain)) != DELTA_OK)
			return st;
	return DELTA_OK;
}

static delta_status
close_level(html_writer *w)
{
	delta_status st = close_tag(w, "li");

	w->depth--;
	return st != DELTA_OK ? st : close_tag(w, w->kinds[w->depth]);
}

static delta_status
close_lists(html_writer *w, int keep)
{
	delta_status st = DELTA_OK;

	while (w->depth > keep && st == DELTA_OK)
		st = close_level(w);
	return st;
}

static delta_status
close_pre(html_writer *w)
{
	if (!w->in_pre)
		return DELTA_OK;
	w->in_pre = false;
	return PUT(w, "</pre>");
}

/* Moves the list nesting to level (0-based) of the given kind and opens
 * the line's <li>. */
static delta_status
open_list_item(html_writer *w, int level, const char *kind, bool checklist,
			   bool checked)
{
	delta_status st = close_lists(w, level + 1);

	if (st == DELTA_OK && w->depth == level + 1)
	{
		if (strcmp(w->kinds[level], kind) != 0)
			st = close_level(w);
		else
			st = PUT(w, "</li>");
	}
	while (st == DELTA_OK && w->depth < level + 1)
	{
		w->kinds[w->depth++] = kind;
		if ((st = open_tag(w, kind)) != DELTA_OK)
			break;
		if (w->depth < level + 1)
			st = PUT(w, "<li>"); /* a level the indent skipped */
	}
	if (st != DELTA_OK)
		return st;
	if (!checklist)
		return PUT(w, "<li>");
	return checked ? PUT(w, "<li data-checked=\"true\">")
				   : PUT(w, "<li data-checked=\"false\">");
}

static delta_status
end_line(html_writer *w, const djson_value *block)
{
	delta_status st;
	int header;
	const char *tag;

	if (attr_on(block, "code-block"))
	{
		const djson_value *lang = attr(block, "code-block");

		if ((st = close_lists(w, 0)) != DELTA_OK)
			return st;
		if (w->in_pre)
			st = PUT(w, "\n");
		else if (lang->type == DJSON_STRING)
		{
			if ((st = PUT(w, "<pre data-language=\"")) == DELTA_OK &&
				(st = escape(w, lang->u.string.bytes, lang->u.string.len)) ==
					DELTA_OK)
				st = PUT(w, "\">");
		}
		else
			st = PUT(w, "<pre>");
		w->in_pre = true;
		if (st == DELTA_OK)
			st = write_inline(w, true);
		w->npieces = 0;
		return st;
	}
	if ((st = close_pre(w)) != DELTA_OK)
		return st;

	if (attr_string_is(block, "list", "ordered") ||
		attr_string_is(block, "list", "bullet") ||
		attr_string_is(block, "list", "checked") ||
		attr_string_is(block, "list", "unchecked"))
	{
		int level = attr_int(block, "indent", 0, LIST_DEPTH_MAX - 1);
		bool ordered = attr_string_is(block, "list", "ordered");
		bool checked = attr_string_is(block, "list", "checked");

		st = open_list_item(w, level, ordered ? "ol" : "ul",
							checked ||
								attr_string_is(block, "list", "unchecked"),
							checked);
		if (st == DELTA_OK)
			st = write_inline(w, false);
		w->npieces = 0;
		return st;
	}
	if ((st = close_lists(w, 0)) != DELTA_OK)
		return st;

	header = attr_int(block, "header", 1, 6);
	if (header > 0)
	{
		static const char *const h[] = {"h1", "h2", "h3", "h4", "h5", "h6"};

		tag = h[header - 1];
	}
	else if (attr_on(block, "blockquote"))
		tag = "blockquote";
	else
		tag = "p";
	if ((st = open_tag(w, tag)) == DELTA_OK &&
		(st = write_inline(w, false)) == DELTA_OK)
		st = close_tag(w, tag);
	w->npieces = 0;
	return st;
}

static delta_status
add_piece(html_writer *w, const delta_op *op, const char *text, size_t bytes)
{
	if (w->npieces == w->cap)
	{
		size_t cap = w->cap ? w->cap * 2 : 16;
		piece *p = delta_arena_alloc(w->arena, cap * sizeof(piece));

		if (p == NULL)
			return delta_fail(w->err, DELTA_ENOMEM, "out of memory");
		if (w->npieces)
			memcpy(p, w->pieces, w->npieces * sizeof(piece));
		w->pieces = p;
		w->cap = cap;
	}
	w->pieces[w->npieces].op = op;
	w->pieces[w->npieces].text = text;
	w->pieces[w->npieces].bytes = bytes;
	w->npieces++;
	return DELTA_OK;
}

delta_status
delta_to_html(delta_arena *arena, const delta *document, char **html,
			  size_t *len, delta_error *err)
{
	html_writer w;
	size_t i;
	delta_status st;

	if ((st = delta_require_document(document, "the document", err)) !=
		DELTA_OK)
		return st;
	memset(&w, 0, sizeof(w));
	w.arena = arena;
	w.err = err;
	delta_buf_init(&w.out, arena);
	if ((st = delta_buf_append(&w.out, "", 0, err)) != DELTA_OK)
		return st;
	for (i = 0; i < document->count; i++)
	{
		const delta_op *op = &document->ops[i];
		size_t start = 0;
		size_t b;

		if (op->embed != NULL)
		{
			if ((st = add_piece(&w, op, NULL, 0)) != DELTA_OK)
				return st;
			continue;
		}
		for (b = 0; b < op->bytes; b++)
		{
			if (op->text[b] != '\n')
				continue;
			if ((b > start && (st = add_piece(&w, op, op->text + start,
											  b - start)) != DELTA_OK) ||
				(st = end_line(&w, op->attributes)) != DELTA_OK)
				return st;
			start = b + 1;
		}
		if (b > start &&
			(st = add_piece(&w, op, op->text + start, b - start)) != DELTA_OK)
			return st;
	}
	/* text after the last newline is a paragraph of its own */
	if (w.npieces > 0 && (st = end_line(&w, NULL)) != DELTA_OK)
		return st;
	if ((st = close_pre(&w)) != DELTA_OK ||
		(st = close_lists(&w, 0)) != DELTA_OK)
		return st;
	*html = w.out.data;
	*len = w.out.len;
	return DELTA_OK;
}
