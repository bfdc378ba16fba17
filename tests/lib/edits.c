/*
 * edits.c — seeded randomness and random edits (edits.h).
 *
 * The pools below are the union of what the stress test, the notifier's
 * convergence test and the convergence fuzzer drew from before they shared
 * this file: a test that switched to it lost no kind of text, attribute or
 * embed.  Inserts' attributes never hold null (a document's own); retains'
 * do (a format removed).
 */
#include "edits.h"

#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define TARGET_LENGTH_DEFAULT 400

static const char *const pieces[] = {
	"a",
	"hello ",
	"world",
	"x",
	"Zz",
	" ",
	"\n",
	"\t",
	"<&\"'>",
	"\xc3\xa9",										/* é, precomposed */
	"e\xcc\x81",									/* e + combining acute */
	"\xc3\xb1\xc3\xbc",								/* ñü */
	"\xe6\x97\xa5\xe6\x9c\xac",						/* 日本 */
	"\xe4\xb8\xad\xe6\x96\x87",						/* 中文 */
	"\xf0\x9f\x98\x80",								/* 😀 */
	"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",				/* 👍🏽 */
	"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7",				/* 🇫🇷 */
	"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", /* 👩‍💻 */
	"\xf0\x9d\x84\x9e",								/* 𝄞 */
};

/* The longest piece, in bytes (a ZWJ sequence). */
#define PIECE_BYTES_MAX 11

/* Attributes of inserted text and embeds: inline and block formats. */
static const char *const insert_attrs[] = {
	NULL,
	NULL,
	NULL,
	NULL,
	"{\"bold\":true}",
	"{\"italic\":true}",
	"{\"color\":\"#f00\"}",
	"{\"color\":\"#e00\"}",
	"{\"bold\":true,\"color\":\"blue\"}",
	"{\"link\":\"https://x.test/?a=1&b=2\"}",
	"{\"link\":\"https://x.test/?a=1&b=<2>\"}",
	"{\"link\":\" JaVa\\tScRiPt:alert(1)\"}",
	"{\"header\":1}",
	"{\"header\":\"2\"}",
	"{\"list\":\"bullet\"}",
	"{\"list\":\"ordered\",\"indent\":1}",
	"{\"list\":\"checked\",\"indent\":3}",
	"{\"code-block\":\"c<script>\"}",
	"{\"blockquote\":true}",
	"{\"meta\":{\"k\":[1,2]}}",
	"{\"bold\":false,\"underline\":true,\"strike\":1,\"code\":true}",
};

/* Attributes of formatting retains: set, changed and removed (null). */
static const char *const retain_attrs[] = {
	"{\"bold\":true}",
	"{\"bold\":null}",
	"{\"bold\":false}",
	"{\"italic\":true}",
	"{\"italic\":null}",
	"{\"color\":\"#0a0\"}",
	"{\"color\":\"green\"}",
	"{\"color\":null}",
	"{\"bold\":true,\"italic\":null}",
	"{\"bold\":null,\"color\":\"red\"}",
	"{\"link\":null}",
	"{\"header\":1}",
	"{\"header\":2}",
	"{\"header\":null}",
	"{\"list\":null,\"indent\":null}",
	"{\"list\":\"ordered\",\"indent\":2}",
	"{\"code-block\":true}",
	"{\"meta\":null}",
	"{\"meta\":{\"k\":[1,2]}}",
};

static const char *const embeds[] = {
	"{\"image\":\"x.png\"}",
	"{\"image\":\"a.png\"}",
	"{\"image\":\"https://x.test/a.png\"}",
	"{\"image\":\"data:image/svg+xml,<svg onload=alert(1)>\"}",
	"{\"video\":\"https://v.test/1\"}",
	"{\"formula\":\"e=mc^2\"}",
};

/* --- randomness ---------------------------------------------------------- */

void
edits_rng_seed(edits_rng *r, uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	r->state = seed;
}

void
edits_rng_bytes(edits_rng *r, const uint8_t *data, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->bytes = data;
	r->size = size;
}

/* splitmix64: small, seedable, good enough for tests */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

unsigned
edits_pick(edits_rng *r, unsigned n)
{
	if (n <= 1)
		return 0;
	if (r->bytes != NULL)
		return r->pos < r->size ? r->bytes[r->pos++] % n : 0;
	return (unsigned) (splitmix64(&r->state) % n);
}

bool
edits_chance(edits_rng *r, double p)
{
	if (r->bytes != NULL)
		return (double) edits_pick(r, 256) < p * 256;
	return (double) (splitmix64(&r->state) >> 11) /
			   (double) (UINT64_C(1) << 53) <
		   p;
}

/* --- the generator ------------------------------------------------------- */

/* Parses texts[0..n) into *out (NULL stays NULL), in g's pool. */
static delta_status
parse_pool(edits_gen *g, const char *const *texts, size_t n,
		   const djson_value ***out, delta_error *err)
{
	const djson_value **values =
		delta_arena_alloc(g->pool, n * sizeof(*values));
	size_t i;

	if (values == NULL)
		return delta_fail(err, DELTA_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
	{
		values[i] = NULL;
		if (texts[i] != NULL &&
			djson_parse(g->pool, texts[i], strlen(texts[i]), &values[i],
						err) != DELTA_OK)
			return delta_fail(err, DELTA_EINVAL, "bad pool entry %s",
							  texts[i]);
	}
	*out = values;
	return DELTA_OK;
}

delta_status
edits_init(edits_gen *g, delta_error *err)
{
	memset(g, 0, sizeof(*g));
	g->target_length = TARGET_LENGTH_DEFAULT;
	if ((g->pool = delta_arena_create(NULL)) == NULL)
		return delta_fail(err, DELTA_ENOMEM, "out of memory");
	if (parse_pool(g, insert_attrs, COUNT(insert_attrs), &g->insert_attrs,
				   err) != DELTA_OK ||
		parse_pool(g, retain_attrs, COUNT(retain_attrs), &g->retain_attrs,
				   err) != DELTA_OK ||
		parse_pool(g, embeds, COUNT(embeds), &g->embeds, err) != DELTA_OK)
	{
		edits_destroy(g);
		return err ? err->status : DELTA_EINVAL;
	}
	g->n_insert_attrs = COUNT(insert_attrs);
	g->n_retain_attrs = COUNT(retain_attrs);
	g->n_embeds = COUNT(embeds);
	return DELTA_OK;
}

void
edits_destroy(edits_gen *g)
{
	delta_arena_destroy(g->pool);
	free(g->bounds);
	memset(g, 0, sizeof(*g));
}

int64_t
edits_units(const char *text, size_t bytes)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < bytes; i++)
		if (((unsigned char) text[i] & 0xC0) != 0x80)
			n += ((unsigned char) text[i] >= 0xF0) ? 2 : 1;
	return n;
}

delta_status
edits_bounds(edits_gen *g, const delta *doc, const int64_t **bounds,
			 size_t *count, delta_error *err)
{
	size_t n = 0;
	int64_t at = 0;
	size_t i;
	size_t b;

	for (i = 0; i <= doc->count; i++)
	{
		const delta_op *op = i < doc->count ? &doc->ops[i] : NULL;
		size_t need = n + 1 + (op ? (op->embed ? 1 : op->bytes) : 0);

		if (need > g->bounds_cap)
		{
			int64_t *grown = realloc(g->bounds, need * 2 * sizeof(int64_t));

			if (grown == NULL)
				return delta_fail(err, DELTA_ENOMEM, "out of memory");
			g->bounds = grown;
			g->bounds_cap = need * 2;
		}
		if (i == 0)
			g->bounds[n++] = 0;
		if (op == NULL)
			break;
		if (op->kind != DELTA_OP_INSERT)
			return delta_fail(err, DELTA_EMISMATCH,
							  "not a document: ops[%zu] is no insert", i);
		if (op->embed)
		{
			g->bounds[n++] = ++at;
			continue;
		}
		for (b = 0; b < op->bytes; b++)
		{
			unsigned char ch = (unsigned char) op->text[b];

			if ((ch & 0xC0) == 0x80)
				continue;
			at += ch >= 0xF0 ? 2 : 1;
			g->bounds[n++] = at;
		}
	}
	*bounds = g->bounds;
	*count = n;
	return DELTA_OK;
}

static delta_status
push(delta_arena *arena, delta *d, delta_op_kind kind, int64_t length,
	 const char *text, size_t bytes, const djson_value *embed,
	 const djson_value *attrs, delta_error *err)
{
	delta_op op = {kind, length, text, bytes, embed, attrs};

	return delta_push(arena, d, &op, err);
}

delta_status
edits_insert(edits_gen *g, edits_rng *r, delta_arena *arena, delta *d,
			 delta_error *err)
{
	const djson_value *attrs =
		g->insert_attrs[edits_pick(r, (unsigned) g->n_insert_attrs)];
	size_t want;
	unsigned k;
	size_t len = 0;
	size_t cap;
	char *text;

	if (edits_pick(r, 8) == 0)
		return push(arena, d, DELTA_OP_INSERT, 1, NULL, 0,
					g->embeds[edits_pick(r, (unsigned) g->n_embeds)], attrs,
					err);
	/* a few pieces, or now and then a paste (too big for a NOTIFY
	 * payload, with the stress test's sizes: the change goes by
	 * reference) */
	want =
		g->paste_one_in > 0 && edits_pick(r, g->paste_one_in) == 0
			? g->paste_bytes_min + edits_pick(r, (unsigned) g->paste_bytes_min)
			: 1;
	k = 1 + edits_pick(r, 3);
	cap = want + 3 * PIECE_BYTES_MAX;
	if ((text = delta_arena_alloc(arena, cap)) == NULL)
		return delta_fail(err, DELTA_ENOMEM, "out of memory");
	while (k > 0 || len < want)
	{
		const char *p = pieces[edits_pick(r, COUNT(pieces))];
		size_t plen = strlen(p);

		if (len + plen > cap)
			break;
		memcpy(text + len, p, plen);
		len += plen;
		if (k > 0)
			k--;
	}
	return push(arena, d, DELTA_OP_INSERT, edits_units(text, len), text, len,
				NULL, attrs, err);
}

delta_status
edits_random(edits_gen *g, edits_rng *r, delta_arena *arena, const delta *doc,
			 delta **out, delta_error *err)
{
	const delta_op *last = doc->count ? &doc->ops[doc->count - 1] : NULL;
	const int64_t *b;
	size_t n;
	size_t nl;
	int64_t length;
	unsigned pct = edits_pick(r, 100);
	unsigned delete_pct;
	delta *d;
	delta_status st;

	if (last == NULL || last->embed != NULL || last->bytes == 0 ||
		last->text[last->bytes - 1] != '\n')
		return delta_fail(err, DELTA_EMISMATCH,
						  "the document does not end with a newline");
	if ((st = edits_bounds(g, doc, &b, &n, err)) != DELTA_OK)
		return st;
	nl = n - 2; /* the index of the final newline's start */
	length = b[n - 1];
	delete_pct = length > 2 * g->target_length ? 60
				 : length > g->target_length   ? 35
											   : 15;
	if ((d = delta_new(arena, err)) == NULL)
		return DELTA_ENOMEM;

	if (nl > 0 && pct < delete_pct)
	{
		size_t i = edits_pick(r, (unsigned) nl);
		size_t span = 1 + (edits_pick(r, 10) == 0 ? edits_pick(r, 40)
												  : edits_pick(r, 6));
		size_t j;

		/* a long document (after a paste) loses big pieces too */
		if (length > 3 * g->target_length && edits_pick(r, 4) == 0)
			span = 1 + edits_pick(r, (unsigned) (nl - i));
		j = i + span < nl ? i + span : nl;
		if ((st = push(arena, d, DELTA_OP_RETAIN, b[i], NULL, 0, NULL, NULL,
					   err)) != DELTA_OK ||
			(st = push(arena, d, DELTA_OP_DELETE, b[j] - b[i], NULL, 0, NULL,
					   NULL, err)) != DELTA_OK)
			return st;
	}
	else if (nl > 0 && pct < delete_pct + 20)
	{
		/* may reach the final newline (a line format) */
		size_t i = edits_pick(r, (unsigned) (n - 1));
		size_t j = i + 1 + edits_pick(r, 15);

		if (j > n - 1)
			j = n - 1;
		if ((st = push(arena, d, DELTA_OP_RETAIN, b[i], NULL, 0, NULL, NULL,
					   err)) != DELTA_OK ||
			(st = push(
				 arena, d, DELTA_OP_RETAIN, b[j] - b[i], NULL, 0, NULL,
				 g->retain_attrs[edits_pick(r, (unsigned) g->n_retain_attrs)],
				 err)) != DELTA_OK)
			return st;
	}
	else
	{
		size_t i = edits_pick(r, (unsigned) (nl + 1));

		if ((st = push(arena, d, DELTA_OP_RETAIN, b[i], NULL, 0, NULL, NULL,
					   err)) != DELTA_OK ||
			(st = edits_insert(g, r, arena, d, err)) != DELTA_OK)
			return st;
	}
	delta_chop(d);
	*out = d;
	return DELTA_OK;
}
