/*
 * fuzz_converge.c — libFuzzer target for the laws of OT on valid input.
 *
 * The input bytes are a stream of choices (a byte each; 0 when the input
 * runs out, and choice 0 always ends a list: tests/lib/edits.h's
 * edits_rng over the input), from which the target builds a valid
 * document (tests/lib/edits.h's inserts: text with ASCII, accents,
 * combining marks, CJK, astral emoji, flags, ZWJ sequences, HTML specials;
 * embeds; attributes, some object-valued, some block formats) and changes
 * against it whose boundaries fall between characters, never inside a
 * surrogate pair:
 *   a, b, x  three concurrent changes of doc,
 *   c        a change of doc∘a, and e a change of doc∘a∘c.
 * Random JSON seldom gets that far; here every input does.  Checked:
 *   - every change applies, and delta_shape_apply agrees with delta_apply;
 *   - convergence, both priorities: doc∘a∘T(a,b) == doc∘b∘T(b,a), and the
 *     same for the changes, compose(a, T(a,b)) == compose(b, T(b,a));
 *   - three clients, ordered as the server orders them (each new change
 *     transformed against the committed ones in turn, the committed one
 *     having priority), converge with the client that made x;
 *   - invert undoes; compose is associative and agrees with applying in
 *     turn; compose(doc, diff(doc, d)) == d; diff(doc, doc) is empty;
 *   - transform_position agrees with transforming an insert at the index;
 *   - changes that keep a document's final newline still keep it after
 *     transform (docs/documents.md, invariant 3);
 *   - every result is canonical, writes and parses back to itself, and
 *     the HTML of every document is well formed.
 * A violation prints the deltas and calls abort().  With the environment
 * variable FUZZ_CONVERGE_PRINT set, each input's doc, a, b and x are
 * printed first (to turn a crash file into a readable reproducer).
 *
 * build: tests/lib/edits.c -Itests/lib
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "delta.h"
#include "edits.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DOC_OPS_MAX 40
#define CHANGE_OPS_MAX 24
/* Slices of the input: doc, a, b, x, c, e. */
#define PARTS 6

static delta_arena *arena;

/* The pool of attributes and embeds, parsed once for every input. */
static edits_gen gen;

/* The input as a stream of choices. */
typedef edits_rng chooser;

/* A choice in [0, n): the next byte modulo n, or 0 once the input ends. */
static unsigned
pick(chooser *c, unsigned n)
{
	return edits_pick(c, n);
}

static void
push(delta *d, delta_op_kind kind, int64_t length, const char *text,
	 size_t bytes, const djson_value *embed, const djson_value *attrs)
{
	delta_op op = {kind, length, text, bytes, embed, attrs};
	delta_error err;

	FUZZ_REQUIRE(delta_push(arena, d, &op, &err) == DELTA_OK, "delta_push: %s",
				 err.message);
}

static void
push_insert(chooser *c, delta *d)
{
	delta_error err;

	FUZZ_REQUIRE(edits_insert(&gen, c, arena, d, &err) == DELTA_OK,
				 "edits_insert: %s", err.message);
}

static delta *
make_document(chooser *c)
{
	delta *d = delta_new(arena, NULL);
	int n = 0;

	FUZZ_REQUIRE(d != NULL, "delta_new failed");
	while (n++ < DOC_OPS_MAX && pick(c, 6) != 0)
		push_insert(c, d);
	if (pick(c, 4) != 0) /* mostly a Quill document: final newline */
		push(d, DELTA_OP_INSERT, 1, "\n", 1, NULL,
			 gen.insert_attrs[pick(c, (unsigned) gen.n_insert_attrs)]);
	return d;
}

/* A change of doc, its boundaries between characters. */
static delta *
make_change(chooser *c, const delta *doc)
{
	delta *d = delta_new(arena, NULL);
	const int64_t *bounds;
	size_t n; /* characters: bounds[0..n] */
	size_t at = 0;
	int ops = 0;
	delta_error err;

	FUZZ_REQUIRE(d != NULL, "delta_new failed");
	FUZZ_REQUIRE(edits_bounds(&gen, doc, &bounds, &n, &err) == DELTA_OK,
				 "edits_bounds: %s", err.message);
	n--;
	while (ops++ < CHANGE_OPS_MAX)
	{
		unsigned what = pick(c, 8);
		size_t take;
		int64_t units;

		if (what == 0)
			break; /* the rest is kept implicitly */
		if (what <= 2 || at >= n)
		{
			push_insert(c, d);
			continue;
		}
		take = 1 + pick(c, 6);
		if (take > n - at)
			take = n - at;
		units = bounds[at + take] - bounds[at];
		at += take;
		if (what <= 4)
			push(d, DELTA_OP_DELETE, units, NULL, 0, NULL, NULL);
		else if (what == 5)
			push(d, DELTA_OP_RETAIN, units, NULL, 0, NULL, NULL);
		else
			push(d, DELTA_OP_RETAIN, units, NULL, 0, NULL,
				 gen.retain_attrs[pick(c, (unsigned) gen.n_retain_attrs)]);
	}
	if (pick(c, 4) != 0)
		delta_chop(d); /* as clients send them; sometimes not */
	return d;
}

/* --- operations that must succeed on valid input ------------------------- */

/*
 * The result of an operation that must succeed on valid input.  out is
 * passed by address so that it is read after the call that fills it,
 * whatever order the arguments are evaluated in.
 */
static delta *
must(delta_status st, delta **out, const delta_error *err, const char *what)
{
	FUZZ_REQUIRE(st == DELTA_OK, "%s failed: %s", what, err->message);
	fuzz_check_canonical(arena, *out, what);
	return *out;
}

static delta *
apply(const delta *doc, const delta *change, const char *what)
{
	delta *out = NULL;
	delta_error err;

	fuzz_error_reset(&err);
	if (delta_apply(arena, doc, change, &out, &err) != DELTA_OK)
	{
		fprintf(stderr, "%s failed: %s\n  document: %s\n  change:   %s\n",
				what, err.message, fuzz_json(arena, doc),
				fuzz_json(arena, change));
		abort();
	}
	fuzz_check_canonical(arena, out, what);
	FUZZ_REQUIRE(delta_is_document(out), "%s is no document", what);
	return out;
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

static delta *
invert(const delta *change, const delta *base, const char *what)
{
	delta *out = NULL;
	delta_error err;

	fuzz_error_reset(&err);
	return must(delta_invert(arena, change, base, &out, &err), &out, &err,
				what);
}

static delta *
diff(const delta *a, const delta *b, const char *what)
{
	delta *out = NULL;
	delta_error err;

	fuzz_error_reset(&err);
	return must(delta_diff(arena, a, b, &out, &err), &out, &err, what);
}

/* delta_write then delta_parse gives the delta back. */
static void
check_roundtrip(const delta *d, const char *what)
{
	delta_buf buf;
	delta_error err;
	delta *again;

	delta_buf_init(&buf, arena);
	FUZZ_REQUIRE(delta_write(&buf, d, &err) == DELTA_OK, "write: %s",
				 err.message);
	fuzz_error_reset(&err);
	FUZZ_REQUIRE(delta_parse(arena, buf.data, buf.len, &again, &err) ==
					 DELTA_OK,
				 "%s: %s does not parse back: %s", what, buf.data,
				 err.message);
	fuzz_same(arena, d, again, what);
}

/* A document: shape, HTML, text and the roundtrip. */
static void
check_document(const delta *doc, const char *what)
{
	delta_shape shape;
	delta_error err;
	char *text;
	size_t len;

	fuzz_error_reset(&err);
	FUZZ_REQUIRE(delta_shape_of(arena, doc, &shape, &err) == DELTA_OK,
				 "shape_of(%s): %s", what, err.message);
	fuzz_check_shape_of(doc, &shape);
	fuzz_run_html(arena, doc);
	FUZZ_REQUIRE(delta_to_text(arena, doc, &text, &len, &err) == DELTA_OK,
				 "to_text(%s): %s", what, err.message);
	check_roundtrip(doc, what);
}

/* The change applies to doc; apply and shape_apply agree about it. */
static delta *
check_change(const delta *doc, const delta *change, const char *what)
{
	delta *out = apply(doc, change, what);

	FUZZ_REQUIRE(fuzz_check_shape(arena, doc, change),
				 "%s: shape_apply refuses it", what);
	check_roundtrip(change, what);
	return out;
}

/* Whether change keeps doc's final newline, as submit checks it. */
static bool
keeps_newline(const delta *doc, const delta *change)
{
	delta_shape shape;
	delta_shape after;
	delta_error err;

	fuzz_error_reset(&err);
	FUZZ_REQUIRE(delta_shape_of(arena, doc, &shape, &err) == DELTA_OK,
				 "shape_of: %s", err.message);
	return delta_shape_apply(arena, &shape, change, true, &after, &err) ==
		   DELTA_OK;
}

/* transform_position(a, index) against transforming an insert there. */
static void
check_position(const delta *a, int64_t index, bool priority)
{
	delta *probe = delta_new(arena, NULL);
	delta *moved;
	delta_error err;
	int64_t got = -1;
	int64_t expect;

	FUZZ_REQUIRE(probe != NULL, "delta_new failed");
	push(probe, DELTA_OP_RETAIN, index, NULL, 0, NULL, NULL);
	push(probe, DELTA_OP_INSERT, 1, "#", 1, NULL, NULL);
	fuzz_error_reset(&err);
	FUZZ_REQUIRE(delta_transform_position(a, index, priority, &got, &err) ==
					 DELTA_OK,
				 "transform_position: %s", err.message);
	moved = transform(a, probe, !priority, "transform of the probe");
	expect = moved->count > 1 ? moved->ops[0].length : 0;
	FUZZ_REQUIRE(
		got == expect,
		"transform_position(%s, %lld, %d) = %lld, transform says %lld",
		fuzz_json(arena, a), (long long) index, (int) priority,
		(long long) got, (long long) expect);
}

/* a and b concurrent on doc: both orders give one document. */
static void
check_convergence(const delta *doc, const delta *doc_a, const delta *doc_b,
				  const delta *a, const delta *b, bool priority)
{
	delta *b2 = transform(a, b, priority, "transform(a, b)");
	delta *a2 = transform(b, a, !priority, "transform(b, a)");
	delta *left = check_change(doc_a, b2, "apply(doc_a, T(a, b))");
	delta *right = check_change(doc_b, a2, "apply(doc_b, T(b, a))");

	fuzz_same(arena, left, right, "convergence on the document");
	fuzz_same(arena, compose(a, b2, "compose(a, T(a, b))"),
			  compose(b, a2, "compose(b, T(b, a))"),
			  "convergence of the changes");
	fuzz_same(arena, apply(doc, compose(a, b2, "compose"), "apply composed"),
			  left, "compose then apply");

	/* invariant 3 of docs/documents.md: the final newline survives */
	if (fuzz_ends_with_newline(doc) && keeps_newline(doc, a) &&
		keeps_newline(doc, b))
	{
		FUZZ_REQUIRE(keeps_newline(doc_a, b2),
					 "T(a, b) loses the final newline: a = %s, b = %s, "
					 "T = %s",
					 fuzz_json(arena, a), fuzz_json(arena, b),
					 fuzz_json(arena, b2));
		FUZZ_REQUIRE(keeps_newline(doc_b, a2),
					 "T(b, a) loses the final newline");
	}
}

/*
 * Three clients: the server commits a, then b, then x, transforming each
 * against the committed changes in turn (committed first); the client that
 * made x applied x at once, then receives a and b and transforms them
 * against its pending x.  Both end with the same document.
 */
static void
check_three(const delta *doc, const delta *a, const delta *b, const delta *x)
{
	delta *b1 = transform(a, b, true, "server: b after a");
	delta *xa = transform(a, x, true, "server: x after a");
	delta *x2 = transform(b1, xa, true, "server: x after b");
	delta *server = apply(apply(apply(doc, a, "server a"), b1, "server b"), x2,
						  "server x");
	delta *a_x = transform(x, a, false, "client: a after x");
	delta *b_x = transform(xa, b1, false, "client: b after x");
	delta *client = apply(apply(apply(doc, x, "client x"), a_x, "client a"),
						  b_x, "client b");

	fuzz_same(arena, server, client, "three clients converge");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chooser parts[PARTS];
	chooser *c = &parts[0];
	size_t i;
	delta *doc;
	delta *a;
	delta *b;
	delta *x;
	delta *doc_a;
	delta *doc_b;

	/* one slice of the input per structure, so that a mutation in one
	 * leaves the others as they were */
	for (i = 0; i < PARTS; i++)
		edits_rng_bytes(&parts[i], data + size * i / PARTS,
						size * (i + 1) / PARTS - size * i / PARTS);
	if (gen.pool == NULL)
	{
		delta_error err;

		FUZZ_REQUIRE(edits_init(&gen, &err) == DELTA_OK, "edits_init: %s",
					 err.message);
	}
	arena = delta_arena_create(NULL);
	FUZZ_REQUIRE(arena != NULL, "delta_arena_create failed");

	doc = make_document(&parts[0]);
	a = make_change(&parts[1], doc);
	b = make_change(&parts[2], doc);
	x = make_change(&parts[3], doc);
	c = &parts[4];
	if (getenv("FUZZ_CONVERGE_PRINT") != NULL)
		fprintf(stderr, "doc: %s\na:   %s\nb:   %s\nx:   %s\n",
				fuzz_json(arena, doc), fuzz_json(arena, a),
				fuzz_json(arena, b), fuzz_json(arena, x));
	check_document(doc, "doc");
	doc_a = check_change(doc, a, "apply(doc, a)");
	doc_b = check_change(doc, b, "apply(doc, b)");
	(void) check_change(doc, x, "apply(doc, x)");
	check_document(doc_a, "doc_a");
	check_document(doc_b, "doc_b");

	fuzz_same(arena, compose(doc, a, "compose(doc, a)"), doc_a,
			  "apply is compose");
	check_convergence(doc, doc_a, doc_b, a, b, true);
	check_convergence(doc, doc_a, doc_b, a, b, false);
	check_three(doc, a, b, x);

	/* invert undoes, and the inverse's inverse redoes */
	{
		delta *inv = invert(a, doc, "invert(a)");

		fuzz_same(arena, apply(doc_a, inv, "undo a"), doc, "invert undoes a");
		fuzz_same(arena,
				  apply(doc, invert(inv, doc_a, "invert(invert(a))"),
						"redo a"),
				  doc_a, "the inverse of the inverse redoes a");
		fuzz_same(arena,
				  apply(doc, compose(a, inv, "compose(a, inv)"),
						"apply(doc, compose(a, inv))"),
				  doc, "a composed with its inverse changes nothing");
	}
	fuzz_same(arena, apply(doc_b, invert(b, doc, "invert(b)"), "undo b"), doc,
			  "invert undoes b");

	/* associativity, and compose agrees with applying in turn */
	{
		delta *c1 = make_change(c, doc_a);
		delta *doc_ac = check_change(doc_a, c1, "apply(doc_a, c)");
		delta *e = make_change(&parts[5], doc_ac);
		delta *doc_ace = check_change(doc_ac, e, "apply(doc_ac, e)");
		delta *ac = compose(a, c1, "compose(a, c)");

		fuzz_same(arena, compose(ac, e, "compose(compose(a, c), e)"),
				  compose(a, compose(c1, e, "compose(c, e)"),
						  "compose(a, compose(c, e))"),
				  "compose is associative");
		fuzz_same(arena, apply(doc, ac, "apply(doc, compose(a, c))"), doc_ac,
				  "compose then apply");
		fuzz_same(arena,
				  apply(doc_a, compose(c1, e, "compose(c, e)"),
						"apply(doc_a, compose(c, e))"),
				  doc_ace, "compose then apply (c, e)");
		/* invert of a composition undoes both */
		fuzz_same(arena,
				  apply(doc_ac, invert(ac, doc, "invert(compose(a, c))"),
						"undo a and c"),
				  doc, "invert undoes a composition");
	}

	/* diff */
	fuzz_same(arena,
			  compose(doc, diff(doc, doc_b, "diff(doc, doc_b)"),
					  "compose(doc, diff)"),
			  doc_b, "compose(doc, diff(doc, doc_b)) == doc_b");
	fuzz_same(arena,
			  compose(doc_a, diff(doc_a, doc_b, "diff(doc_a, doc_b)"),
					  "compose(doc_a, diff)"),
			  doc_b, "compose(doc_a, diff(doc_a, doc_b)) == doc_b");
	FUZZ_REQUIRE(diff(doc, doc, "diff(doc, doc)")->count == 0,
				 "diff(doc, doc) is not empty");

	/* transform_position, at any index up to past the end */
	{
		int64_t index = (int64_t) pick(c, 64) % (delta_length(doc) + 2);

		check_position(a, index, true);
		check_position(a, index, false);
		check_position(b, index, pick(c, 2));
	}

	delta_arena_destroy(arena);
	arena = NULL;
	return 0;
}
