/*
 * delta.h — Quill Deltas and their operational transformation.
 *
 * The semantics are those of the JavaScript library quill-delta 5.x:
 * compose, transform, transformPosition, invert and length give the same
 * results on the same (normalised) input; diff gives a correct change of
 * about the same size, not always the same one.  docs/core.md lists the
 * rules and the few places where this library is stricter.
 *
 * Lengths and positions count UTF-16 code units, as JavaScript does: a
 * character outside the Basic Multilingual Plane counts 2, an embed counts
 * 1.  Text is UTF-8 in memory.  A boundary that would split a surrogate pair
 * is an error (DELTA_EMISMATCH), never a silent fix.
 *
 * Every delta this module returns is canonical: zero-length operations and
 * empty attribute objects are gone, neighbours of the same kind with equal
 * attributes are merged, an insert stands before an adjacent delete.
 * (Results of compose, transform, invert and diff are also chopped: a final
 * retain without attributes is dropped, as quill-delta does.)
 *
 * Memory: all results live in the arena passed in; inputs are never
 * modified and results may share strings with them, so keep the inputs'
 * arena alive as long as the results.
 */
#ifndef COLLAB_CORE_DELTA_H
#define COLLAB_CORE_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "json.h"
#include "status.h"

typedef enum delta_op_kind {
	DELTA_OP_INSERT, /* text (or an embed when embed != NULL) */
	DELTA_OP_RETAIN,
	DELTA_OP_DELETE
} delta_op_kind;

/* The largest count an operation may carry (JavaScript clients agree). */
#define DELTA_COUNT_MAX INT64_C(2147483647)

typedef struct delta_op {
	delta_op_kind kind;
	int64_t length;	  /* UTF-16 code units; an embed is 1 */
	const char *text; /* insert text, UTF-8, bytes long */
	size_t bytes;
	const djson_value *embed;	   /* insert of an embed (an object) */
	const djson_value *attributes; /* an object with members, or NULL */
} delta_op;

typedef struct delta {
	delta_op *ops;
	size_t count;
	/* builder state: capacity of ops, and a text buffer the last insert
	 * owns and may grow in place */
	size_t cap;
	char *tail;
	size_t tail_cap;
} delta;

/* --- building ----------------------------------------------------------- */

/* A new empty delta. */
delta *delta_new(delta_arena *arena, delta_error *err);

/*
 * Appends op with quill-delta's push rules (merge with the previous op,
 * insert before delete).  Zero-length ops and empty attribute objects are
 * dropped first, as Delta.insert/retain/delete do.
 */
delta_status delta_push(delta_arena *arena, delta *d, const delta_op *op,
						delta_error *err);

/* Drops a final retain that carries no attributes. */
void delta_chop(delta *d);

/* --- JSON --------------------------------------------------------------- */

/*
 * Reads a delta from JSON text: an array of operations or {"ops": [...]}.
 * Validates every operation (exactly one of insert/retain/delete; counts
 * numbers of positive integer value up to DELTA_COUNT_MAX, as JavaScript
 * reads them: 3, 3.0 and 3e0 are all 3; insert a string or an object;
 * attributes an object; no other keys) and normalises the result.  Errors
 * name the operation, e.g. "ops[2]: retain must be a positive integer".
 */
delta_status delta_parse(delta_arena *arena, const char *json, size_t len,
						 delta **out, delta_error *err);

/* The same, from an already parsed JSON value. */
delta_status delta_from_json(delta_arena *arena, const djson_value *value,
							 delta **out, delta_error *err);

/* Appends {"ops":[...]} to buf. */
delta_status delta_write(delta_buf *buf, const delta *d, delta_error *err);

/* The bytes delta_write would append for d, without writing them. */
size_t delta_write_size(const delta *d);

/* --- queries ------------------------------------------------------------ */

/* Sum of all operation lengths (quill-delta's length()). */
int64_t delta_length(const delta *d);

/* Length of the document a change applies to: its retains and deletes. */
int64_t delta_base_length(const delta *d);

/* True when d holds inserts only. */
bool delta_is_document(const delta *d);

/* True when both deltas have the same operations. */
bool delta_equal(const delta *a, const delta *b);

/* --- operations --------------------------------------------------------- */

/* a then b, as one change (Delta.compose). */
delta_status delta_compose(delta_arena *arena, const delta *a, const delta *b,
						   delta **out, delta_error *err);

/*
 * b rewritten to apply after a, both made against the same document
 * (new Delta(a).transform(b, priority)).  With priority, a's inserts at the
 * same position go first.
 */
delta_status delta_transform(delta_arena *arena, const delta *a,
							 const delta *b, bool priority, delta **out,
							 delta_error *err);

/*
 * Where position index (>= 0) moves when a is applied
 * (Delta.transformPosition).  Needs no memory.
 */
delta_status delta_transform_position(const delta *a, int64_t index,
									  bool priority, int64_t *out,
									  delta_error *err);

/*
 * The change that undoes change on the document base (Delta.invert).
 * base must be a document the change fits.
 */
delta_status delta_invert(delta_arena *arena, const delta *change,
						  const delta *base, delta **out, delta_error *err);

/*
 * A change that turns document a into document b: compose(a, diff) == b.
 * Text is compared by code point (Myers' algorithm over the middle that
 * differs); a very large difference may give a larger but correct change.
 */
delta_status delta_diff(delta_arena *arena, const delta *a, const delta *b,
						delta **out, delta_error *err);

/*
 * The document that change makes of document.  Refuses a document with
 * retains or deletes and a change that reaches past the document's end.
 */
delta_status delta_apply(delta_arena *arena, const delta *document,
						 const delta *change, delta **out, delta_error *err);

/*
 * The plain text of a document (embeds are left out, as Quill's getText
 * does), NUL-terminated in the arena.
 */
delta_status delta_to_text(delta_arena *arena, const delta *document,
						   char **text, size_t *len, delta_error *err);

/*
 * Semantic HTML for a document (core/html.c): paragraphs, headers, lists
 * (nested by indent), blockquotes and code blocks; bold, italic, underline,
 * strike, code and links; images.  Every text and attribute value is
 * escaped, and a link or image whose URL has a scheme other than http,
 * https, mailto or tel (images: http, https) loses its URL, so no input can
 * inject markup or script.  Other formats and embeds are left out.
 */
delta_status delta_to_html(delta_arena *arena, const delta *document,
						   char **html, size_t *len, delta_error *err);

/* --- shapes: checking a change without the document ------------------------
 */

/*
 * What a submit needs to know of a document to check a change against it
 * without reading it (core/shape.c): its length and where its surrogate
 * pairs start (a boundary at start + 1 would split a pair), and upper
 * bounds on the size of its JSON, so that a quota on that size is checked
 * without reading it either.
 *
 * The bounds are exact for a shape made by delta_shape_of and only grow
 * looser through delta_shape_apply (a change's effect on the JSON depends on
 * the text and attributes it touches, which the shape does not know); -1 is
 * unknown, and stays unknown through delta_shape_apply.
 */
typedef struct delta_shape {
	int64_t length;		   /* UTF-16 code units */
	const int64_t *astral; /* sorted start positions of the pairs */
	size_t nastral;
	int64_t bytes;			  /* at most delta_write_size of the document */
	int64_t attributes_bytes; /* at most the JSON size of its largest
							   * attributes object (0: none has any) */
} delta_shape;

/* The shape of a document, with exact bounds. */
delta_status delta_shape_of(delta_arena *arena, const delta *document,
							delta_shape *out, delta_error *err);

/*
 * Checks that change applies to the document shape describes, exactly as
 * delta_apply would (it reaches no further than the end, and none of its
 * boundaries splits a surrogate pair), and gives the shape of the result,
 * its bounds still bounds (core/shape.c says how they are kept).
 * With keep_final_newline, the document is taken to end with a newline and
 * a change that deletes it or inserts after it is refused (DELTA_EMISMATCH):
 * Quill documents always end with one.  O(pairs + change).
 */
delta_status delta_shape_apply(delta_arena *arena, const delta_shape *shape,
							   const delta *change, bool keep_final_newline,
							   delta_shape *out, delta_error *err);

#endif
