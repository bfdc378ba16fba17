/*
 * test_delta.c — unit and property tests of the Delta core.
 *
 * Examples pin quill-delta 5.x behaviour case by case; the property tests
 * run seeded random documents and changes (emoji, CJK, accents, embeds,
 * attributes with null removals) through the laws OT must keep:
 * convergence, invert undoes, compose is associative, transform_position
 * agrees with transform, compose(a, diff(a, b)) == b.  The last part fails
 * the allocator at every allocation in turn and checks each failure comes
 * back as DELTA_ENOMEM.  (The differential comparison with quill-delta
 * itself lives in tests/diff/.)
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "delta.h"

static delta_arena *A;

static delta *
P(const char *json)
{
	delta *d;
	delta_error err;

	if (delta_parse(A, json, strlen(json), &d, &err) != DELTA_OK)
	{
		fprintf(stderr, "bad test input %s: %s\n", json, err.message);
		exit(2);
	}
	return d;
}

static const char *
S(const delta *d)
{
	delta_buf buf;

	delta_buf_init(&buf, A);
	if (delta_write(&buf, d, NULL) != DELTA_OK)
		exit(2);
	return buf.data;
}

/* The canonical form of json, to compare with. */
static const char *
C(const char *json)
{
	return S(P(json));
}

#define EXPECT(d, json) \
	do \
	{ \
		const char *got_ = S(d); \
		const char *want_ = C(json); \
		CHECK_MSG(strcmp(got_, want_) == 0, "got %s, want %s", got_, want_); \
	} while (0)

static delta *
compose(const char *a, const char *b)
{
	delta *out;
	delta_error err;

	if (delta_compose(A, P(a), P(b), &out, &err) != DELTA_OK)
	{
		fprintf(stderr, "compose failed: %s\n", err.message);
		return delta_new(A, NULL);
	}
	return out;
}

static delta *
transform(const char *a, const char *b, bool priority)
{
	delta *out;
	delta_error err;

	if (delta_transform(A, P(a), P(b), priority, &out, &err) != DELTA_OK)
		return delta_new(A, NULL);
	return out;
}

static delta *
invert(const char *change, const char *base)
{
	delta *out;
	delta_error err;

	if (delta_invert(A, P(change), P(base), &out, &err) != DELTA_OK)
	{
		fprintf(stderr, "invert failed: %s\n", err.message);
		return delta_new(A, NULL);
	}
	return out;
}

static void
test_parse(void)
{
	delta *d;
	delta_error err;

	EXPECT(P("[]"), "{\"ops\":[]}");
	EXPECT(P("{\"ops\":[{\"insert\":\"a\"},{\"insert\":\"b\"}]}"),
		   "[{\"insert\":\"ab\"}]");
	/* empty inserts and empty attributes go, insert moves before delete */
	EXPECT(P("[{\"insert\":\"\"},{\"retain\":2,\"attributes\":{}},{\"delete\":"
			 "1},{\"insert\":\"x\"}]"),
		   "[{\"retain\":2},{\"insert\":\"x\"},{\"delete\":1}]");
	EXPECT(P("[{\"insert\":\"a\"},{\"delete\":1},{\"insert\":\"b\"}]"),
		   "[{\"insert\":\"ab\"},{\"delete\":1}]");
	EXPECT(P("[{\"delete\":1},{\"delete\":2}]"), "[{\"delete\":3}]");
	EXPECT(P("[{\"retain\":1,\"attributes\":{\"b\":true}},{\"retain\":2,"
			 "\"attributes\":{\"b\":true}}]"),
		   "[{\"retain\":3,\"attributes\":{\"b\":true}}]");
	/* embeds never merge; attributes must be equal to merge */
	d = P("[{\"insert\":{\"image\":\"x\"}},{\"insert\":{\"image\":\"x\"}},{"
		  "\"insert\":\"a\",\"attributes\":{\"bold\":true}},{\"insert\":\"b\"}"
		  "]");
	CHECK(d->count == 4);
	CHECK(delta_length(d) == 4);
	/* UTF-16 lengths */
	CHECK(delta_length(
			  P("[{\"insert\":\"a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"}]")) ==
		  5);
	CHECK(delta_length(P("[{\"insert\":\"\\ud83d\\ude00\"}]")) == 2);
	CHECK(delta_length(P(
			  "[{\"retain\":3},{\"delete\":2},{\"insert\":{\"x\":1}}]")) == 6);

#define BAD(json, st, msg) \
	do \
	{ \
		const char *j_ = (json); \
		delta_status s_ = delta_parse(A, j_, strlen(j_), &d, &err); \
		CHECK_MSG(s_ == (st), "%s: status %d", j_, (int) s_); \
		CHECK_MSG(s_ == DELTA_OK || strstr(err.message, (msg)) != NULL, \
				  "%s: message \"%s\" lacks \"%s\"", j_, err.message, (msg)); \
	} while (0)
	BAD("{}", DELTA_EINVAL, "exactly one key");
	BAD("{\"ops\":[],\"x\":1}", DELTA_EINVAL, "exactly one key");
	BAD("3", DELTA_EINVAL, "must be an array");
	BAD("[3]", DELTA_EINVAL, "ops[0]: an operation must be an object");
	BAD("[{\"insert\":\"a\",\"foo\":1}]", DELTA_EINVAL,
		"ops[0]: unknown key \"foo\"");
	BAD("[{\"retain\":1},{\"insert\":\"a\",\"delete\":1}]", DELTA_EINVAL,
		"ops[1]: an operation must have exactly one");
	BAD("[{}]", DELTA_EINVAL, "must have one of");
	BAD("[{\"retain\":-1}]", DELTA_EINVAL,
		"ops[0]: retain must be a positive integer");
	BAD("[{\"retain\":0}]", DELTA_EINVAL, "not 0");
	BAD("[{\"delete\":1.5}]", DELTA_EINVAL,
		"delete must be a positive integer, not 1.5");
	BAD("[{\"delete\":1e-1}]", DELTA_EINVAL, "not 1e-1");
	BAD("[{\"delete\":-0}]", DELTA_EINVAL, "not -0");
	CHECK(delta_length(
			  P("[{\"retain\":1.0},{\"delete\":1e2},{\"delete\":2E+0}]")) ==
		  103);
	BAD("[{\"delete\":\"1\"}]", DELTA_EINVAL,
		"delete must be a positive integer");
	BAD("[{\"retain\":{\"image\":1}}]", DELTA_EINVAL,
		"retain must be a positive integer");
	BAD("[{\"retain\":99999999999}]", DELTA_ELIMIT, "exceeds");
	BAD("[{\"retain\":2147483647},{\"retain\":1}]", DELTA_ELIMIT,
		"longer than 2147483647");
	BAD("[{\"delete\":2147483647},{\"delete\":1}]", DELTA_ELIMIT,
		"longer than 2147483647");
	BAD("[{\"insert\":5}]", DELTA_EINVAL,
		"insert must be a string or an object");
	BAD("[{\"insert\":\"a\",\"attributes\":[]}]", DELTA_EINVAL,
		"attributes must be an object");
	BAD("[{\"insert\":\"a\",\"attributes\":null}]", DELTA_EINVAL,
		"attributes must be an object");
	BAD("[{\"delete\":1,\"attributes\":{\"b\":true}}]", DELTA_EINVAL,
		"delete cannot carry attributes");
	BAD("[{\"insert\":\"\xff\"}]", DELTA_EINVAL, "invalid UTF-8");
	BAD("[{\"insert\":\"\xed\xa0\x80\"}]", DELTA_EINVAL, "invalid UTF-8");
	BAD("[{\"insert\":\"\\ud83d\"}]", DELTA_EINVAL, "unpaired high surrogate");
	BAD("[{\"insert\":\"\\ude00\"}]", DELTA_EINVAL, "unpaired low surrogate");
	BAD("[{\"insert\":\"a\"}] x", DELTA_EINVAL, "unexpected data");
	BAD("[{\"insert\":\"a\"}", DELTA_EINVAL, "expected ',' or ']'");
	BAD("[{\"insert\":\"a\n\"}]", DELTA_EINVAL, "control character");
	BAD("[01]", DELTA_EINVAL, "expected ',' or ']'");
	{
		char deep[1000];

		memset(deep, '[', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\0';
		BAD(deep, DELTA_ELIMIT, "nested deeper");
	}
	/* duplicate keys: the last wins, as in JSON.parse and jsonb */
	EXPECT(P("[{\"insert\":\"a\",\"attributes\":{\"b\":1,\"b\":2}}]"),
		   "[{\"insert\":\"a\",\"attributes\":{\"b\":2}}]");
	/* output escapes what JSON requires */
	EXPECT(P("[{\"insert\":\"q\\\"\\\\\\n\\u0001/\"}]"),
		   "[{\"insert\":\"q\\\"\\\\\\n\\u0001/\"}]");
	CHECK(strcmp(S(P("[{\"insert\":\"\\u00e9\\t\"}]")),
				 "{\"ops\":[{\"insert\":\"\xc3\xa9\\t\"}]}") == 0);
#undef BAD
}

static void
test_compose(void)
{
	EXPECT(compose("[{\"insert\":\"A\"}]", "[{\"insert\":\"B\"}]"),
		   "[{\"insert\":\"BA\"}]");
	EXPECT(compose("[{\"insert\":\"A\"}]",
				   "[{\"retain\":1,\"attributes\":{\"bold\":true,\"color\":"
				   "\"red\",\"font\":null}}]"),
		   "[{\"insert\":\"A\",\"attributes\":{\"bold\":true,\"color\":"
		   "\"red\"}}]");
	EXPECT(compose("[{\"insert\":\"A\"}]", "[{\"delete\":1}]"), "[]");
	EXPECT(compose("[{\"delete\":1}]", "[{\"insert\":\"B\"}]"),
		   "[{\"insert\":\"B\"},{\"delete\":1}]");
	EXPECT(compose("[{\"delete\":1}]", "[{\"retain\":1,\"attributes\":{"
									   "\"bold\":true,\"color\":\"red\"}}]"),
		   "[{\"delete\":1},{\"retain\":1,\"attributes\":{\"bold\":true,"
		   "\"color\":\"red\"}}]");
	EXPECT(compose("[{\"retain\":1,\"attributes\":{\"color\":\"blue\"}}]",
				   "[{\"retain\":1,\"attributes\":{\"bold\":true,\"color\":"
				   "\"red\",\"font\":null}}]"),
		   "[{\"retain\":1,\"attributes\":{\"bold\":true,\"color\":\"red\","
		   "\"font\":null}}]");
	EXPECT(compose("[{\"retain\":1,\"attributes\":{\"color\":\"blue\"}}]",
				   "[{\"delete\":1}]"),
		   "[{\"delete\":1}]");
	EXPECT(compose("[{\"insert\":\"Hello\"}]",
				   "[{\"retain\":3},{\"insert\":\"X\"}]"),
		   "[{\"insert\":\"HelXlo\"}]");
	EXPECT(compose("[{\"insert\":\"Hello\"}]",
				   "[{\"retain\":1},{\"delete\":3}]"),
		   "[{\"insert\":\"Ho\"}]");
	EXPECT(compose("[{\"retain\":4},{\"insert\":\"Hello\"}]",
				   "[{\"delete\":9}]"),
		   "[{\"delete\":4}]");
	EXPECT(
		compose(
			"[{\"insert\":\"Hello\"}]",
			"[{\"retain\":5},{\"insert\":\"!\",\"attributes\":{\"b\":true}}]"),
		"[{\"insert\":\"Hello\"},{\"insert\":\"!\",\"attributes\":{\"b\":true}"
		"}]");
	/* retaining past the end of a composes as a retain */
	EXPECT(compose("[{\"insert\":\"ab\"}]",
				   "[{\"retain\":4,\"attributes\":{\"b\":true}}]"),
		   "[{\"insert\":\"ab\",\"attributes\":{\"b\":true}},{\"retain\":2,"
		   "\"attributes\":{\"b\":true}}]");
	/* nulls of a first retain survive; nulls on inserts are dropped */
	EXPECT(compose("[{\"insert\":{\"image\":\"x\"},\"attributes\":{\"width\":"
				   "\"3\"}}]",
				   "[{\"retain\":1,\"attributes\":{\"width\":null}}]"),
		   "[{\"insert\":{\"image\":\"x\"}}]");
	/* emoji split at a pair boundary is fine, inside it is not */
	EXPECT(compose("[{\"insert\":\"a\xf0\x9f\x98\x80\x62\"}]",
				   "[{\"retain\":3},{\"insert\":\"X\"}]"),
		   "[{\"insert\":\"a\xf0\x9f\x98\x80X\x62\"}]");
	{
		delta *out;
		delta_error err;
		delta_status st =
			delta_compose(A, P("[{\"insert\":\"a\xf0\x9f\x98\x80\x62\"}]"),
						  P("[{\"retain\":2},{\"insert\":\"X\"}]"), &out,
						  &err);

		CHECK(st == DELTA_EMISMATCH);
		CHECK_MSG(strstr(err.message,
						 "position 2 falls inside a surrogate pair") != NULL,
				  "%s", err.message);
	}
}

static void
test_transform(void)
{
	EXPECT(transform("[{\"insert\":\"A\"}]", "[{\"insert\":\"B\"}]", true),
		   "[{\"retain\":1},{\"insert\":\"B\"}]");
	EXPECT(transform("[{\"insert\":\"A\"}]", "[{\"insert\":\"B\"}]", false),
		   "[{\"insert\":\"B\"}]");
	EXPECT(transform("[{\"insert\":\"A\"}]",
					 "[{\"retain\":1,\"attributes\":{\"bold\":true,\"color\":"
					 "\"red\"}}]",
					 true),
		   "[{\"retain\":1},{\"retain\":1,\"attributes\":{\"bold\":true,"
		   "\"color\":\"red\"}}]");
	EXPECT(transform("[{\"delete\":1}]", "[{\"insert\":\"B\"}]", true),
		   "[{\"insert\":\"B\"}]");
	EXPECT(transform("[{\"delete\":1}]", "[{\"delete\":1}]", true), "[]");
	EXPECT(transform("[{\"delete\":1}]",
					 "[{\"retain\":1,\"attributes\":{\"bold\":true}}]", true),
		   "[]");
	EXPECT(transform("[{\"retain\":1,\"attributes\":{\"color\":\"blue\"}}]",
					 "[{\"delete\":1}]", true),
		   "[{\"delete\":1}]");
	EXPECT(transform("[{\"retain\":1,\"attributes\":{\"color\":\"blue\"}}]",
					 "[{\"retain\":1,\"attributes\":{\"bold\":true,\"color\":"
					 "\"red\"}}]",
					 true),
		   "[{\"retain\":1,\"attributes\":{\"bold\":true}}]");
	EXPECT(
		transform("[{\"retain\":1,\"attributes\":{\"color\":\"blue\"}}]",
				  "[{\"retain\":1,\"attributes\":{\"bold\":true,\"color\":"
				  "\"red\"}}]",
				  false),
		"[{\"retain\":1,\"attributes\":{\"bold\":true,\"color\":\"red\"}}]");
	EXPECT(transform("[{\"retain\":1},{\"insert\":\"a\"},{\"delete\":1}]",
					 "[{\"retain\":2},{\"insert\":\"b\"}]", true),
		   "[{\"retain\":2},{\"insert\":\"b\"}]");
	{
		int64_t pos;

		CHECK(delta_transform_position(P("[{\"insert\":\"A\"}]"), 0, false,
									   &pos, NULL) == DELTA_OK &&
			  pos == 1);
		CHECK(delta_transform_position(P("[{\"insert\":\"A\"}]"), 0, true,
									   &pos, NULL) == DELTA_OK &&
			  pos == 0);
		CHECK(
			delta_transform_position(P("[{\"retain\":5},{\"insert\":\"A\"}]"),
									 2, false, &pos, NULL) == DELTA_OK &&
			pos == 2);
		CHECK(delta_transform_position(P("[{\"retain\":1},{\"delete\":3}]"), 2,
									   false, &pos, NULL) == DELTA_OK &&
			  pos == 1);
		CHECK(delta_transform_position(P("[{\"retain\":1},{\"delete\":3}]"), 6,
									   false, &pos, NULL) == DELTA_OK &&
			  pos == 3);
		CHECK(delta_transform_position(P("[{\"insert\":\"\\ud83d\\ude00\"}]"),
									   1, true, &pos, NULL) == DELTA_OK &&
			  pos == 3);
		CHECK(delta_transform_position(P("[]"), -1, true, &pos, NULL) ==
			  DELTA_EINVAL);
		CHECK(delta_transform_position(P("[{\"insert\":\"x\"}]"), INT64_MAX,
									   false, &pos, NULL) == DELTA_ELIMIT);
	}
}

static void
test_invert_apply_diff(void)
{
	delta *out;
	delta_error err;

	EXPECT(invert("[{\"insert\":\"A\"}]", "[]"), "[{\"delete\":1}]");
	EXPECT(invert("[{\"retain\":1},{\"delete\":2}]",
				  "[{\"insert\":\"a\"},{\"insert\":\"bc\",\"attributes\":{"
				  "\"b\":true}}]"),
		   "[{\"retain\":1},{\"insert\":\"bc\",\"attributes\":{\"b\":true}}]");
	EXPECT(invert("[{\"retain\":2,\"attributes\":{\"b\":true,\"i\":null}}]",
				  "[{\"insert\":\"a\",\"attributes\":{\"i\":true}},{"
				  "\"insert\":\"b\",\"attributes\":{\"b\":true}}]"),
		   "[{\"retain\":1,\"attributes\":{\"b\":null,\"i\":true}},{"
		   "\"retain\":1,\"attributes\":{\"i\":null}}]");
	/* JavaScript's !== makes object values always "changed" */
	EXPECT(invert("[{\"retain\":1,\"attributes\":{\"o\":{\"k\":1}}}]",
				  "[{\"insert\":\"a\",\"attributes\":{\"o\":{\"k\":1}}}]"),
		   "[{\"retain\":1,\"attributes\":{\"o\":{\"k\":1}}}]");
	CHECK(delta_invert(A, P("[{\"retain\":3},{\"delete\":1}]"),
					   P("[{\"insert\":\"abc\"}]"), &out,
					   &err) == DELTA_EMISMATCH);
	CHECK_MSG(strstr(err.message,
					 "spans 4 characters but the document has only 3") != NULL,
			  "%s", err.message);
	CHECK(delta_invert(A, P("[{\"delete\":1}]"), P("[{\"retain\":1}]"), &out,
					   &err) == DELTA_EMISMATCH);
	CHECK(delta_invert(A, P("[{\"delete\":1}]"),
					   P("[{\"insert\":\"\xf0\x9f\x98\x80\"}]"), &out,
					   &err) == DELTA_EMISMATCH);

	CHECK(delta_apply(A, P("[{\"insert\":\"abc\"}]"),
					  P("[{\"retain\":1},{\"delete\":1},{\"insert\":\"X\"}]"),
					  &out, &err) == DELTA_OK);
	EXPECT(out, "[{\"insert\":\"aXc\"}]");
	CHECK(delta_apply(A, P("[{\"insert\":\"abc\"}]"), P("[{\"retain\":4}]"),
					  &out, &err) == DELTA_EMISMATCH);
	CHECK(delta_apply(A, P("[{\"retain\":1}]"), P("[]"), &out, &err) ==
		  DELTA_EMISMATCH);
	CHECK_MSG(strstr(err.message, "the document must contain only inserts, "
								  "but ops[0] is a retain") != NULL,
			  "%s", err.message);
	CHECK(delta_apply(A, P("[{\"insert\":\"a\xf0\x9f\x98\x80\x62\"}]"),
					  P("[{\"retain\":2},{\"delete\":1}]"), &out,
					  &err) == DELTA_EMISMATCH);

	CHECK(delta_diff(A, P("[{\"insert\":\"Hello world\"}]"),
					 P("[{\"insert\":\"Hello, wild\"}]"), &out,
					 &err) == DELTA_OK);
	EXPECT(out, "[{\"retain\":5},{\"insert\":\",\"},{\"retain\":2},{"
				"\"insert\":\"i\"},{\"delete\":2}]");
	CHECK(delta_diff(A, P("[{\"insert\":\"ab\"}]"),
					 P("[{\"insert\":\"ab\",\"attributes\":{\"b\":true}}]"),
					 &out, &err) == DELTA_OK);
	EXPECT(out, "[{\"retain\":2,\"attributes\":{\"b\":true}}]");
	CHECK(delta_diff(A, P("[{\"insert\":{\"image\":\"a\"}}]"),
					 P("[{\"insert\":{\"image\":\"b\"}}]"), &out,
					 &err) == DELTA_OK);
	EXPECT(out, "[{\"insert\":{\"image\":\"b\"}},{\"delete\":1}]");
	CHECK(delta_diff(A, P("[{\"insert\":\"\xf0\x9f\x98\x80\"}]"),
					 P("[{\"insert\":\"\xf0\x9f\x98\x81\"}]"), &out,
					 &err) == DELTA_OK);
	EXPECT(out, "[{\"insert\":\"\xf0\x9f\x98\x81\"},{\"delete\":2}]");
	CHECK(delta_diff(A, P("[{\"retain\":1}]"), P("[]"), &out, &err) ==
		  DELTA_EMISMATCH);

	{
		char *text;
		size_t len;

		CHECK(delta_to_text(
				  A,
				  P("[{\"insert\":\"a\"},{\"insert\":{\"image\":\"x\"}},{"
					"\"insert\":\"b\\n\",\"attributes\":{\"b\":true}}]"),
				  &text, &len, &err) == DELTA_OK);
		CHECK(len == 3 && strcmp(text, "ab\n") == 0);
		CHECK(delta_to_text(A, P("[]"), &text, &len, &err) == DELTA_OK &&
			  len == 0 && text[0] == '\0');
		CHECK(delta_to_text(A, P("[{\"delete\":1}]"), &text, &len, &err) ==
			  DELTA_EMISMATCH);
	}
}

/* --- property tests -------------------------------------------------------
 */

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: fixed seeds make every run the same */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t) ((rng_state * UINT64_C(2685821657736338717)) >> 33) % n;
}

static const char *const pieces[] = {
	"a",
	"hello ",
	"x",
	"\xc3\xa9",
	"e\xcc\x81",
	"\xe6\x97\xa5\xe6\x9c\xac",
	"\xf0\x9f\x98\x80",
	"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
	"\n",
	" ",
	"Zz",
	"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7",
};

static const char *const attr_pool[] = {
	NULL,
	NULL,
	NULL,
	"{\"bold\":true}",
	"{\"italic\":true}",
	"{\"color\":\"#f00\"}",
	"{\"bold\":true,\"color\":\"blue\"}",
	"{\"link\":\"https://x.test\"}",
	"{\"header\":1}",
	"{\"meta\":{\"k\":[1,2]}}",
};

static const char *const retain_attr_pool[] = {
	"{\"bold\":null}",	 "{\"bold\":true,\"italic\":null}",
	"{\"color\":null}",	 "{\"color\":\"green\"}",
	"{\"italic\":true}", "{\"meta\":null}",
};

static const char *const embed_pool[] = {
	"{\"image\":\"a.png\"}",
	"{\"image\":\"b.png\"}",
	"{\"formula\":\"e=mc^2\"}",
};

static const djson_value *
J(const char *text)
{
	const djson_value *v;

	if (text == NULL)
		return NULL;
	if (djson_parse(A, text, strlen(text), &v, NULL) != DELTA_OK)
		exit(2);
	return v;
}

static void
push(delta *d, delta_op_kind kind, int64_t length, const char *text,
	 const char *embed, const char *attrs)
{
	delta_op op = {kind,	 length,  text, text ? strlen(text) : 0,
				   J(embed), J(attrs)};

	if (delta_push(A, d, &op, NULL) != DELTA_OK)
		exit(2);
}

static int64_t
piece_units(const char *s)
{
	int64_t n = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			n += ((unsigned char) *s >= 0xF0) ? 2 : 1;
	return n;
}

static void
push_random_insert(delta *d)
{
	if (rnd(8) == 0)
		push(d, DELTA_OP_INSERT, 1, NULL, embed_pool[rnd(3)],
			 attr_pool[rnd(10)]);
	else
	{
		const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];

		push(d, DELTA_OP_INSERT, piece_units(p), p, NULL, attr_pool[rnd(10)]);
	}
}

static delta *
random_document(void)
{
	delta *d = delta_new(A, NULL);
	uint32_t n = rnd(12);

	while (n--)
		push_random_insert(d);
	return d;
}

/* Widths (1 or 2 units) of the document's characters, in order. */
static int *
char_widths(const delta *doc, size_t *count)
{
	int *w =
		delta_arena_alloc(A, (size_t) (delta_length(doc) + 1) * sizeof(int));
	size_t n = 0;
	size_t i;

	for (i = 0; i < doc->count; i++)
	{
		const delta_op *op = &doc->ops[i];
		size_t b;

		if (op->embed)
		{
			w[n++] = 1;
			continue;
		}
		for (b = 0; b < op->bytes; b++)
			if (((unsigned char) op->text[b] & 0xC0) != 0x80)
				w[n++] = ((unsigned char) op->text[b] >= 0xF0) ? 2 : 1;
	}
	*count = n;
	return w;
}

/* A random change that fits doc, cutting only between characters. */
static delta *
random_change(const delta *doc)
{
	delta *d = delta_new(A, NULL);
	size_t n;
	int *w = char_widths(doc, &n);
	size_t at = 0;

	while (at < n || rnd(3) == 0)
	{
		uint32_t what = rnd(4);
		size_t take = 1 + rnd(4);
		int64_t units = 0;

		if (at >= n)
			what = 0;
		if (what == 0)
		{
			push_random_insert(d);
			if (at >= n)
				break;
			continue;
		}
		if (take > n - at)
			take = n - at;
		while (take--)
			units += w[at++];
		if (what == 1)
			push(d, DELTA_OP_DELETE, units, NULL, NULL, NULL);
		else if (what == 2)
			push(d, DELTA_OP_RETAIN, units, NULL, NULL, NULL);
		else
			push(d, DELTA_OP_RETAIN, units, NULL, NULL,
				 retain_attr_pool[rnd(6)]);
		if (rnd(4) == 0)
			break; /* leave the rest retained implicitly */
	}
	delta_chop(d);
	return d;
}

static delta *
must(delta_status st, delta *d, const delta_error *err, const char *what)
{
	if (st != DELTA_OK)
	{
		fprintf(stderr, "%s failed: %s\n", what, err->message);
		check_failed++;
		return delta_new(A, NULL);
	}
	return d;
}

static delta *
apply(const delta *doc, const delta *change)
{
	delta *out = NULL;
	delta_error err;
	delta_status st = delta_apply(A, doc, change, &out, &err);

	return must(st, out, &err, "apply");
}

static delta *
comp(const delta *a, const delta *b)
{
	delta *out = NULL;
	delta_error err;
	delta_status st = delta_compose(A, a, b, &out, &err);

	return must(st, out, &err, "compose");
}

static delta *
xf(const delta *a, const delta *b, bool priority)
{
	delta *out = NULL;
	delta_error err;
	delta_status st = delta_transform(A, a, b, priority, &out, &err);

	return must(st, out, &err, "transform");
}

#define SAME(x, y, ...) \
	CHECK_MSG(delta_equal((x), (y)), "%s != %s (%s)", S(x), S(y), __VA_ARGS__)

static void
test_properties(void)
{
	int round;

	rng_state = UINT64_C(0x9E3779B97F4A7C15);
	for (round = 0; round < 4000; round++)
	{
		delta *doc = random_document();
		delta *a = random_change(doc);
		delta *b = random_change(doc);
		delta *doc_a = apply(doc, a);
		delta *c = random_change(doc_a);
		delta *doc_b = random_change(doc); /* another document */
		delta *a2 = xf(a, b, true);
		delta *b2 = xf(b, a, false);
		delta *inv;
		delta *df;
		delta_error err;
		size_t n;
		int64_t len = delta_length(doc);
		int64_t pos;
		int64_t expect;
		delta *probe;
		delta *moved;

		/* convergence: a then b' equals b then a' */
		SAME(comp(a, a2), comp(b, b2), "convergence");
		SAME(apply(doc_a, a2), apply(apply(doc, b), b2),
			 "convergence on the document");

		/* invert undoes */
		CHECK(delta_invert(A, a, doc, &inv, &err) == DELTA_OK);
		SAME(apply(doc_a, inv), doc, "invert");

		/* associativity */
		{
			delta *d = random_change(apply(doc_a, c));

			SAME(comp(comp(a, c), d), comp(a, comp(c, d)), "associativity");
			SAME(apply(doc, comp(a, c)), apply(doc_a, c),
				 "compose then apply");
		}

		/* transform_position agrees with transforming an insert there */
		(void) char_widths(doc, &n);
		pos = rnd((uint32_t) len + 1);
		probe = delta_new(A, NULL);
		push(probe, DELTA_OP_RETAIN, pos, NULL, NULL, NULL);
		push(probe, DELTA_OP_INSERT, 1, "#", NULL, NULL);
		{
			bool pri = rnd(2);

			moved = xf(a, probe, !pri);
			expect = moved->count > 1 ? moved->ops[0].length : 0;
			CHECK(delta_transform_position(a, pos, pri, &pos, &err) ==
				  DELTA_OK);
			CHECK_MSG(pos == expect,
					  "transform_position %" PRId64 " vs %" PRId64 " for %s",
					  pos, expect, S(a));
		}

		/* diff */
		doc_b = apply(doc, b);
		CHECK(delta_diff(A, doc, doc_b, &df, &err) == DELTA_OK);
		SAME(apply(doc, df), doc_b, "diff");
		CHECK(delta_diff(A, doc, doc, &df, &err) == DELTA_OK &&
			  df->count == 0);

		/* write then parse is the identity */
		SAME(P(S(a)), a, "roundtrip");
	}
}

/* --- shapes ----------------------------------------------------------------
 */

static bool
shape_equal(const delta_shape *a, const delta_shape *b)
{
	return a->length == b->length && a->nastral == b->nastral &&
		   (a->nastral == 0 ||
			memcmp(a->astral, b->astral, a->nastral * sizeof(int64_t)) == 0);
}

/* A change with boundaries anywhere, pairs split or not. */
static delta *
random_unaligned_change(const delta *doc)
{
	delta *d = delta_new(A, NULL);
	int64_t len = delta_length(doc);
	int64_t at = 0;

	while (at < len && rnd(5) != 0)
	{
		int64_t n = 1 + rnd(3);

		if (n > len - at)
			n = len - at;
		if (rnd(3) == 0)
			push_random_insert(d);
		else
		{
			push(d, rnd(2) ? DELTA_OP_RETAIN : DELTA_OP_DELETE, n, NULL, NULL,
				 NULL);
			at += n;
		}
	}
	return d;
}

static void
test_shapes(void)
{
	int round;
	int mismatches;
	delta_shape shape;
	delta_shape after;
	delta_error err;

	CHECK(delta_shape_of(A,
						 P("[{\"insert\":\"a\xf0\x9f\x98\x80\"},{\"insert\":{"
						   "\"i\":1}},{\"insert\":\"\xf0\x9f\x98\x80\\n\"}]"),
						 &shape, &err) == DELTA_OK);
	CHECK(shape.length == 7 && shape.nastral == 2 && shape.astral[0] == 1 &&
		  shape.astral[1] == 4);
	CHECK(delta_shape_apply(A, &shape, P("[{\"retain\":2}]"), false, &after,
							&err) == DELTA_EMISMATCH);
	CHECK_MSG(strstr(err.message,
					 "position 2 falls inside a surrogate pair") != NULL,
			  "%s", err.message);
	CHECK(delta_shape_apply(A, &shape,
							P("[{\"retain\":5},{\"insert\":\"x\"}]"), false,
							&after, &err) == DELTA_EMISMATCH);
	CHECK(delta_shape_apply(A, &shape,
							P("[{\"retain\":1},{\"delete\":2},{\"insert\":"
							  "\"\xf0\x9f\x98\x81\"}]"),
							true, &after, &err) == DELTA_OK);
	CHECK(after.length == 7 && after.nastral == 2 && after.astral[0] == 1 &&
		  after.astral[1] == 4);
	CHECK(delta_shape_apply(A, &shape, P("[{\"retain\":8}]"), false, &after,
							&err) == DELTA_EMISMATCH);
	CHECK_MSG(strstr(err.message,
					 "spans 8 characters but the document has only 7") != NULL,
			  "%s", err.message);
	/* the final newline stays */
	CHECK(delta_shape_apply(A, &shape, P("[{\"retain\":6},{\"delete\":1}]"),
							true, &after, &err) == DELTA_EMISMATCH);
	CHECK_MSG(strstr(err.message, "ops[1] deletes the final newline") != NULL,
			  "%s", err.message);
	CHECK(delta_shape_apply(A, &shape, P("[{\"retain\":6},{\"delete\":1}]"),
							false, &after, &err) == DELTA_OK);
	CHECK(delta_shape_apply(A, &shape,
							P("[{\"retain\":7},{\"insert\":\"x\"}]"), true,
							&after, &err) == DELTA_EMISMATCH);
	CHECK_MSG(strstr(err.message, "ops[1] inserts after the final newline") !=
				  NULL,
			  "%s", err.message);
	CHECK(delta_shape_apply(A, &shape,
							P("[{\"retain\":6},{\"insert\":\"x\"}]"), true,
							&after, &err) == DELTA_OK);

	/* the shape after a change is the shape of the changed document, and
	 * it refuses exactly what delta_apply refuses */
	rng_state = UINT64_C(0xD1B54A32D192ED03);
	mismatches = 0;
	for (round = 0; round < 4000; round++)
	{
		delta *doc = random_document();
		delta *change =
			(round % 2) ? random_change(doc) : random_unaligned_change(doc);
		delta *out = NULL;
		delta_shape want;
		delta_status applied = delta_apply(A, doc, change, &out, &err);
		delta_status checked;

		CHECK(delta_shape_of(A, doc, &shape, &err) == DELTA_OK);
		checked = delta_shape_apply(A, &shape, change, false, &after, &err);
		mismatches += applied == DELTA_EMISMATCH;
		CHECK_MSG(applied == checked, "apply %d, shape %d for %s on %s",
				  (int) applied, (int) checked, S(change), S(doc));
		if (applied == DELTA_OK && checked == DELTA_OK)
		{
			CHECK(delta_shape_of(A, out, &want, &err) == DELTA_OK);
			CHECK_MSG(shape_equal(&after, &want), "shape after %s on %s",
					  S(change), S(doc));
		}
	}
	CHECK_MSG(mismatches > 200, "only %d split changes generated", mismatches);
}

/* --- JSON sizes and their bounds ----------------------------------------
 */

static size_t
written_size(const delta *d)
{
	delta_buf buf;
	delta_error err;

	delta_buf_init(&buf, A);
	CHECK(delta_write(&buf, d, &err) == DELTA_OK);
	return buf.len;
}

static void
test_sizes(void)
{
	static const char *const cases[] = {
		"[]",
		"[{\"insert\":\"a\"}]",
		"[{\"insert\":\"q\\\"b\\\\s\\n\\r\\t\\b\\f\\u0001\\u001f "
		"\\u00e9\\ud83d\\ude00\"}]",
		"[{\"insert\":{\"image\":\"x\\\"y\"},\"attributes\":{\"width\":10,"
		"\"alt\":null,\"a\":[1,2.50e3,true,false,{}],\"b\":[]}}]",
		"[{\"retain\":1234567},{\"delete\":9},{\"retain\":1,"
		"\"attributes\":{\"bold\":null}},{\"insert\":\"x\"}]",
	};
	size_t i;
	int round;
	int step;
	delta_shape shape;
	delta_shape after;
	delta_shape exact;
	delta_error err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		delta *d = P(cases[i]);

		CHECK_MSG(delta_write_size(d) == written_size(d), "size of %s",
				  cases[i]);
	}
	CHECK(
		delta_shape_of(A,
					   P("[{\"insert\":\"ab\",\"attributes\":{\"bold\":true}},"
						 "{\"insert\":\"c\\n\"}]"),
					   &shape, &err) == DELTA_OK);
	CHECK_MSG(shape.bytes == 69 && shape.attributes_bytes == 13, "%lld %lld",
			  (long long) shape.bytes, (long long) shape.attributes_bytes);
	/* unknown stays unknown */
	shape.bytes = -1;
	CHECK(delta_shape_apply(A, &shape, P("[{\"insert\":\"x\"}]"), true, &after,
							&err) == DELTA_OK);
	CHECK(after.bytes == -1 && after.attributes_bytes == -1);

	/* the bounds stay bounds through a chain of random changes, and an
	 * insert at the start of a document without attributes costs its op
	 * and a comma */
	CHECK(delta_shape_of(A, P("[{\"insert\":\"ab\\n\"}]"), &shape, &err) ==
		  DELTA_OK);
	CHECK(delta_shape_apply(A, &shape, P("[{\"insert\":\"x\"}]"), true, &after,
							&err) == DELTA_OK);
	CHECK(after.bytes == shape.bytes + 15 && after.attributes_bytes == 0);
	rng_state = UINT64_C(0x9E3779B97F4A7C15);
	for (round = 0; round < 400; round++)
	{
		delta *doc = random_document();

		CHECK(delta_shape_of(A, doc, &shape, &err) == DELTA_OK);
		for (step = 0; step < 20; step++)
		{
			delta *change = random_change(doc);
			delta *out = NULL;

			if (delta_apply(A, doc, change, &out, &err) != DELTA_OK)
				break;
			CHECK(delta_shape_apply(A, &shape, change, false, &after, &err) ==
				  DELTA_OK);
			CHECK(delta_shape_of(A, out, &exact, &err) == DELTA_OK);
			CHECK(exact.bytes == (int64_t) written_size(out));
			CHECK_MSG(after.bytes >= exact.bytes &&
						  after.attributes_bytes >= exact.attributes_bytes,
					  "bounds %lld, %lld below %lld, %lld after %s on %s",
					  (long long) after.bytes,
					  (long long) after.attributes_bytes,
					  (long long) exact.bytes,
					  (long long) exact.attributes_bytes, S(change), S(doc));
			doc = out;
			shape = after;
		}
	}
}

/* --- allocation failures --------------------------------------------------
 */

typedef struct failing {
	int left; /* allocations before the first failure */
	int live; /* blocks not yet freed */
} failing;

static void *
failing_malloc(void *ctx, size_t size)
{
	failing *f = ctx;
	void *p;

	if (f->left-- <= 0)
		return NULL;
	p = malloc(size);
	if (p)
		f->live++;
	return p;
}

static void
failing_free(void *ctx, void *ptr)
{
	failing *f = ctx;

	if (ptr)
		f->live--;
	free(ptr);
}

/* Runs every operation with the n-th allocation failing; true if all ok. */
static bool
run_all_ops(delta_arena *arena, delta_status *worst)
{
	static const char a_json[] =
		"[{\"insert\":\"Hello \\ud83d\\ude00 "
		"w\",\"attributes\":{\"b\":true}},{\"insert\":{\"image\":\"x\"}},{"
		"\"insert\":\"orld and more text\\n\"}]";
	static const char c_json[] =
		"[{\"retain\":3,\"attributes\":{\"i\":true,\"b\":null}},{\"delete\":2}"
		",{\"insert\":\"yo\"},{\"retain\":5},{\"insert\":\"!\",\"attributes\":"
		"{\"c\":\"red\"}}]";
	static const char e_json[] =
		"[{\"insert\":\"Hi "
		"\"},{\"retain\":4},{\"delete\":3},{\"insert\":\"xyz\"}]";
	delta *doc;
	delta *c;
	delta *e;
	delta *out;
	delta *after;
	delta_error err;
	delta_buf buf;
	char *text;
	size_t len;
	delta_status st;

#define STEP(call) \
	do \
	{ \
		st = (call); \
		if (st != DELTA_OK) \
		{ \
			*worst = st; \
			return false; \
		} \
	} while (0)
	STEP(delta_parse(arena, a_json, strlen(a_json), &doc, &err));
	STEP(delta_parse(arena, c_json, strlen(c_json), &c, &err));
	STEP(delta_parse(arena, e_json, strlen(e_json), &e, &err));
	STEP(delta_compose(arena, c, e, &out, &err));
	STEP(delta_transform(arena, c, e, true, &out, &err));
	STEP(delta_invert(arena, c, doc, &out, &err));
	STEP(delta_apply(arena, doc, c, &after, &err));
	STEP(delta_diff(arena, doc, after, &out, &err));
	STEP(delta_to_text(arena, after, &text, &len, &err));
	delta_buf_init(&buf, arena);
	STEP(delta_write(&buf, after, &err));
#undef STEP
	return true;
}

static void
test_allocation_failures(void)
{
	int n;
	bool done = false;

	for (n = 0; n < 10000 && !done; n++)
	{
		failing f = {n, 0};
		delta_alloc alloc = {failing_malloc, failing_free, &f};
		delta_arena *arena = delta_arena_create(&alloc);
		delta_status worst = DELTA_OK;

		if (arena == NULL)
		{
			CHECK(n == 0);
			continue;
		}
		done = run_all_ops(arena, &worst);
		if (!done)
			CHECK_MSG(worst == DELTA_ENOMEM, "failure %d gave status %d", n,
					  (int) worst);
		delta_arena_destroy(arena);
		CHECK_MSG(f.live == 0, "%d blocks leaked", f.live);
	}
	CHECK_MSG(done && n > 3, "operations never succeeded (%d)", n);
}

int
main(void)
{
	A = delta_arena_create(NULL);
	test_parse();
	test_compose();
	test_transform();
	test_invert_apply_diff();
	test_properties();
	test_shapes();
	test_sizes();
	test_allocation_failures();
	delta_arena_destroy(A);
	return check_summary("delta");
}
