/*
 * fuzz_ops.c — libFuzzer target running every Delta operation on raw input.
 *
 * The input is split at the separator "\n--\n" into up to three parts
 * (the separator cannot occur inside a JSON text: a raw newline is not
 * allowed in a string and "--" is not allowed outside one), each parsed as
 * a delta.  Every operation runs on every ordered pair of the parts that
 * parsed: compose, transform with both priorities, transform_position,
 * invert, apply, diff, to_text, length.  None may crash, leak, return
 * DELTA_ENOMEM or fail without a message, and every delta returned must be
 * canonical.
 *
 * With the parts named doc, a, b (a missing part reuses the previous one),
 * the laws are checked wherever their inputs are valid:
 *   - doc is a document and a, b both apply to it: the two orders converge,
 *     apply(apply(doc, a), transform(a, b, true)) ==
 *     apply(apply(doc, b), transform(b, a, false)),
 *     and compose(a, transform(a, b, true)) ==
 *     compose(b, transform(b, a, false));
 *   - invert undoes: apply(apply(doc, a), invert(a, doc)) == doc;
 *   - diff: apply(doc, diff(doc, apply(doc, a))) == apply(doc, a), and
 *     diff(doc, doc) is empty;
 *   - compose agrees with applying in turn, and compose is associative;
 *   - transform_position agrees with transforming an insert at that index.
 * Laws about attributes skip documents whose inserts carry a null-valued
 * attribute: quill-delta drops nulls when composing onto an insert, so
 * there the laws fail in quill-delta itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "delta.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEPARATOR "\n--\n"
#define SEPARATOR_LEN (sizeof(SEPARATOR) - 1)
#define PARTS_MAX 3
/* Deltas longer than this skip the laws (see below). */
#define SMALL_LENGTH_MAX (INT64_C(1) << 28)

static delta_arena *arena;

/* Runs an operation that may fail; checks the failure or the result. */
#define TRY(call, out, what) try_result((call), &err, (out), (what))

static bool
try_result(delta_status st, delta_error *err, delta **out, const char *what)
{
	if (st != DELTA_OK)
	{
		fuzz_check_error(st, err, what);
		fuzz_error_reset(err);
		return false;
	}
	fuzz_check_canonical(arena, *out, what);
	fuzz_error_reset(err);
	return true;
}

/*
 * An operation whose inputs make it valid: failure is a violation.  out is
 * passed by address so that it is read after the call that fills it,
 * whatever order the arguments are evaluated in.
 */
static delta *
must(delta_status st, delta **out, const delta_error *err, const char *what)
{
	FUZZ_REQUIRE(st == DELTA_OK, "%s must succeed, but: %s", what,
				 err->message);
	fuzz_check_canonical(arena, *out, what);
	return *out;
}

static delta *
apply(const delta *doc, const delta *change, const char *what)
{
	delta *out = NULL;
	delta_error err;

	fuzz_error_reset(&err);
	return must(delta_apply(arena, doc, change, &out, &err), &out, &err, what);
}

static delta *
compose(const delta *a, const delta *b, const char *what)
{
	delta *out = NULL;
	delta_error err;

	fuzz_error_reset(&err);
	return must(delta_compose(arena, a, b, &out, &err), &out, &err, what);
}

static delta *
transform(const delta *a, const delta *b, bool priority, const char *what)
{
	delta *out = NULL;
	delta_error err;

	fuzz_error_reset(&err);
	return must(delta_transform(arena, a, b, priority, &out, &err), &out, &err,
				what);
}

/* transform_position(a, index) against transforming an insert there. */
static void
check_position(const delta *a, int64_t index, bool priority)
{
	delta *probe = delta_new(arena, NULL);
	delta_op keep = {DELTA_OP_RETAIN, index, NULL, 0, NULL, NULL};
	delta_op mark = {DELTA_OP_INSERT, 1, "#", 1, NULL, NULL};
	delta_error err;
	delta *moved;
	int64_t expect;
	int64_t got = -1;

	FUZZ_REQUIRE(probe != NULL, "delta_new failed");
	fuzz_error_reset(&err);
	FUZZ_REQUIRE(delta_push(arena, probe, &keep, &err) == DELTA_OK &&
					 delta_push(arena, probe, &mark, &err) == DELTA_OK,
				 "delta_push failed");
	FUZZ_REQUIRE(delta_transform_position(a, index, priority, &got, &err) ==
					 DELTA_OK,
				 "transform_position failed: %s", err.message);
	/* transform_position's priority says whether a's insert at the index
	 * goes first; transform's, whether a's insert beats the probe's */
	fuzz_error_reset(&err);
	if (delta_transform(arena, a, probe, !priority, &moved, &err) != DELTA_OK)
	{
		/* only a merged retain past DELTA_COUNT_MAX may fail */
		FUZZ_REQUIRE(err.status == DELTA_ELIMIT,
					 "transform of the probe failed: %s", err.message);
		return;
	}
	expect = moved->count > 1 ? moved->ops[0].length : 0;
	FUZZ_REQUIRE(got == expect,
				 "transform_position(%s, %lld, %d) = %lld, transform says "
				 "%lld",
				 fuzz_json(arena, a), (long long) index, (int) priority,
				 (long long) got, (long long) expect);
}

/* Everything on one delta. */
static void
run_single(const delta *d)
{
	delta_error err;
	char *text;
	size_t len;
	delta_status st;
	int64_t length = delta_length(d);
	int64_t out;

	fuzz_error_reset(&err);
	FUZZ_REQUIRE(length >= delta_base_length(d), "length below base length");
	st = delta_to_text(arena, d, &text, &len, &err);
	if (st != DELTA_OK)
	{
		fuzz_check_error(st, &err, "to_text");
		FUZZ_REQUIRE(!delta_is_document(d), "to_text refused a document");
	}
	else
	{
		size_t i;
		int64_t units = 0;

		FUZZ_REQUIRE(delta_is_document(d), "to_text took a non-document");
		FUZZ_REQUIRE(text[len] == '\0' && len <= (size_t) length * 3,
					 "to_text gave %zu bytes for length %lld", len,
					 (long long) length);
		/* the text's UTF-16 length plus one per embed is the length */
		for (i = 0; i < len; i++)
			if (((unsigned char) text[i] & 0xC0) != 0x80)
				units += ((unsigned char) text[i] >= 0xF0) ? 2 : 1;
		for (i = 0; i < d->count; i++)
			units += d->ops[i].embed != NULL;
		FUZZ_REQUIRE(units == length, "to_text: %lld units, length %lld",
					 (long long) units, (long long) length);
	}
	fuzz_run_html(arena, d);
	fuzz_error_reset(&err);
	st = delta_transform_position(d, -1, false, &out, &err);
	FUZZ_REQUIRE(st == DELTA_EINVAL, "a negative position was accepted");
	fuzz_check_error(st, &err, "transform_position");
}

/* Every operation on an ordered pair; only crashes and messages count. */
static void
run_pair(const delta *x, const delta *y, bool laws)
{
	delta_error err;
	delta *out;
	int64_t pos;
	bool priority;

	fuzz_error_reset(&err);
	TRY(delta_compose(arena, x, y, &out, &err), &out, "compose");
	TRY(delta_transform(arena, x, y, true, &out, &err), &out, "transform");
	TRY(delta_transform(arena, x, y, false, &out, &err), &out, "transform");
	TRY(delta_invert(arena, y, x, &out, &err), &out, "invert");
	TRY(delta_apply(arena, x, y, &out, &err), &out, "apply");
	TRY(delta_diff(arena, x, y, &out, &err), &out, "diff");
	fuzz_check_shape(arena, x, y);
	for (priority = false;; priority = true)
	{
		const int64_t indexes[] = {0, 1, delta_length(y) / 2,
								   delta_base_length(y), delta_length(x)};
		size_t i;

		for (i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++)
		{
			FUZZ_REQUIRE(delta_transform_position(x, indexes[i], priority,
												  &pos, &err) == DELTA_OK,
						 "transform_position failed");
			if (laws)
				check_position(x, indexes[i], priority);
		}
		if (priority)
			break;
	}
}

/* The laws, for doc and two changes a and b. */
static void
run_laws(const delta *doc, const delta *a, const delta *b)
{
	delta_error err;
	delta *doc_a = NULL;
	delta *doc_b = NULL;
	bool nulls = fuzz_has_null_insert_attribute(doc);

	if (!delta_is_document(doc))
		return;

	fuzz_error_reset(&err);
	if (delta_apply(arena, doc, a, &doc_a, &err) != DELTA_OK)
		doc_a = NULL;
	fuzz_error_reset(&err);
	if (delta_apply(arena, doc, b, &doc_b, &err) != DELTA_OK)
		doc_b = NULL;

	if (doc_a != NULL && doc_b != NULL)
	{
		/* b2: b rewritten to follow a; a2: a rewritten to follow b */
		delta *b2 = transform(a, b, true, "transform(a, b, true)");
		delta *a2 = transform(b, a, false, "transform(b, a, false)");

		fuzz_same(arena, apply(doc_a, b2, "apply(doc_a, b')"),
				  apply(doc_b, a2, "apply(doc_b, a')"),
				  "convergence on the document");
		fuzz_same(arena, compose(a, b2, "compose(a, b')"),
				  compose(b, a2, "compose(b, a')"), "convergence of changes");
	}

	if (doc_a != NULL)
	{
		delta *inv = NULL;
		delta *df = NULL;

		fuzz_error_reset(&err);
		inv = must(delta_invert(arena, a, doc, &inv, &err), &inv, &err,
				   "invert(a, doc)");
		if (!nulls)
			fuzz_same(arena, apply(doc_a, inv, "apply(doc_a, invert)"), doc,
					  "invert undoes");

		fuzz_error_reset(&err);
		df = must(delta_diff(arena, doc, doc_a, &df, &err), &df, &err,
				  "diff(doc, doc_a)");
		if (!fuzz_has_null_insert_attribute(doc_a))
			fuzz_same(arena, apply(doc, df, "apply(doc, diff)"), doc_a,
					  "diff then apply");

		/* b as a change of doc_a: compose agrees with applying in turn */
		{
			delta *doc_ab = NULL;

			fuzz_error_reset(&err);
			if (delta_apply(arena, doc_a, b, &doc_ab, &err) == DELTA_OK)
				fuzz_same(arena,
						  apply(doc, compose(a, b, "compose(a, b)"),
								"apply(doc, compose(a, b))"),
						  doc_ab, "compose then apply");
		}
	}

	{
		delta *same = NULL;

		fuzz_error_reset(&err);
		same = must(delta_diff(arena, doc, doc, &same, &err), &same, &err,
					"diff(doc, doc)");
		FUZZ_REQUIRE(same->count == 0, "diff(doc, doc) is %s",
					 fuzz_json(arena, same));
	}
}

/* compose(compose(x, y), z) == compose(x, compose(y, z)) when all succeed. */
static void
check_associative(const delta *x, const delta *y, const delta *z)
{
	delta_error err;
	delta *xy;
	delta *yz;
	delta *left;
	delta *right;

	fuzz_error_reset(&err);
	if (delta_compose(arena, x, y, &xy, &err) != DELTA_OK ||
		delta_compose(arena, y, z, &yz, &err) != DELTA_OK ||
		delta_compose(arena, xy, z, &left, &err) != DELTA_OK ||
		delta_compose(arena, x, yz, &right, &err) != DELTA_OK)
		return;
	if (fuzz_has_null_insert_attribute(x) || fuzz_has_null_insert_attribute(y))
		return;
	fuzz_same(arena, left, right, "compose is associative");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	const char *parts[PARTS_MAX];
	size_t lens[PARTS_MAX];
	delta *d[PARTS_MAX];
	size_t nparts = 0;
	size_t start = 0;
	bool small = true;
	size_t i;
	size_t j;

	/* split: up to PARTS_MAX - 1 separators, the rest is the last part */
	for (i = 0; nparts < PARTS_MAX - 1 && i + SEPARATOR_LEN <= size; i++)
	{
		if (memcmp(text + i, SEPARATOR, SEPARATOR_LEN) != 0)
			continue;
		parts[nparts] = text + start;
		lens[nparts++] = i - start;
		start = i + SEPARATOR_LEN;
		i = start - 1;
	}
	parts[nparts] = text + start;
	lens[nparts++] = size - start;

	arena = delta_arena_create(NULL);
	FUZZ_REQUIRE(arena != NULL, "delta_arena_create failed");
	for (i = 0; i < nparts; i++)
	{
		delta_error err;
		delta_status st;

		fuzz_error_reset(&err);
		st = delta_parse(arena, parts[i], lens[i], &d[i], &err);
		if (st != DELTA_OK)
		{
			fuzz_check_error(st, &err, "delta_parse");
			d[i] = NULL;
		}
		else if (delta_length(d[i]) > SMALL_LENGTH_MAX)
			small = false;
	}

	for (i = 0; i < nparts; i++)
	{
		if (d[i] == NULL)
			continue;
		run_single(d[i]);
		for (j = 0; j < nparts; j++)
			if (d[j] != NULL)
				run_pair(d[i], d[j], small);
	}

	/* the laws: doc = part 0, a = part 1, b = part 2 (or a again); only
	 * with lengths far below DELTA_COUNT_MAX, where no merged operation
	 * can reach the limit (DELTA_ELIMIT) */
	if (!small)
		;
	else if (nparts >= 2 && d[0] != NULL && d[1] != NULL)
	{
		const delta *b = (nparts >= 3 && d[2] != NULL) ? d[2] : d[1];

		run_laws(d[0], d[1], b);
		run_laws(d[0], b, d[1]);
		check_associative(d[0], d[1], b);
		check_associative(d[1], b, d[0]);
	}
	else if (d[0] != NULL)
		run_laws(d[0], d[0], d[0]);

	delta_arena_destroy(arena);
	arena = NULL;
	return 0;
}
