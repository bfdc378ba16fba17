/*
 * edits.h — seeded randomness and random edits of a Quill document, for
 * every test that needs them: tests/stress (OT clients over libpq),
 * tests/notifier/converge_test (OT clients over WebSocket) and
 * tests/fuzz/fuzz_converge (the laws of OT, choices from the fuzzer's
 * input).  One generator, so that what a test throws at the OT is what the
 * others throw too.
 *
 * The text covers what editors send: ASCII, HTML specials, tabs and
 * newlines, accents precomposed and combining, CJK, astral emoji (2 UTF-16
 * units each), skin tones, flags and ZWJ sequences; embeds; attributes on
 * inserts (inline and block formats, object-valued ones, none) and on
 * formatting retains (set, changed and removed with null).
 *
 * Invariants of every edit edits_random makes of a document:
 *   - it applies to that document, every boundary on a code point boundary
 *     (never inside a surrogate pair);
 *   - it keeps the final newline: inserts go before it, deletes end before
 *     it, formats may cover it (a line format);
 *   - it is chopped, as clients send changes.
 * Deltas are built in the arena the caller passes (core/arena.h); the
 * generator's own pool and scratch space are its own.  Not thread-safe:
 * one generator per thread (or process).
 */
#ifndef COLLAB_TESTS_EDITS_H
#define COLLAB_TESTS_EDITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delta.h"

/*
 * What the pools use beyond collab's default formats (collab.allowed_embeds
 * and collab.allowed_attributes, docs/documents.md "Formats"): a video
 * embed and an object-valued attribute that Quill does not know, which
 * exercise the OT as well as any.  A database these edits are submitted to
 * allows them too: tests/stress per session, the notifier's test scripts
 * in their cluster's configuration.
 */
#define EDITS_EXTRA_EMBEDS "video"
#define EDITS_EXTRA_ATTRIBUTES "meta"

/*
 * Where choices come from: a splitmix64 stream from a seed (the same seed,
 * the same choices), or the bytes of a fuzzer's input, one byte a choice
 * (0 once the input is used up, so every input ends).
 */
typedef struct edits_rng {
	uint64_t state;		  /* splitmix64's, when bytes is NULL */
	const uint8_t *bytes; /* the input, or NULL */
	size_t size;
	size_t pos; /* the next byte to use */
} edits_rng;

/* Seeds r: a splitmix64 stream. */
void edits_rng_seed(edits_rng *r, uint64_t seed);

/* Makes r choose by the bytes [data, data + size), which must outlive it. */
void edits_rng_bytes(edits_rng *r, const uint8_t *data, size_t size);

/* A choice in [0, n); 0 when n <= 1 (and from an exhausted input). */
unsigned edits_pick(edits_rng *r, unsigned n);

/* True with probability p (from bytes: to 1/256). */
bool edits_chance(edits_rng *r, double p);

/*
 * A generator: the parsed pool of attributes and embeds, the shape of the
 * edits, scratch space.  Fields after the pool may be set after
 * edits_init.
 */
typedef struct edits_gen {
	delta_arena *pool;				  /* owns the parsed values below */
	const djson_value **insert_attrs; /* NULL entries: no attributes */
	size_t n_insert_attrs;
	const djson_value **retain_attrs;
	size_t n_retain_attrs;
	const djson_value **embeds;
	size_t n_embeds;

	int64_t target_length;	/* UTF-16 units; deletes grow likelier past it */
	unsigned paste_one_in;	/* one insert in this many is a paste; 0: none */
	size_t paste_bytes_min; /* a paste's size: from this to twice this */

	int64_t *bounds; /* scratch (malloc): a document's boundaries */
	size_t bounds_cap;
} edits_gen;

/*
 * Parses the pool into an arena of its own; documents hover around 400
 * units, no pastes.  DELTA_ENOMEM (or a pool entry that does not parse,
 * DELTA_EINVAL) leaves nothing to destroy.
 */
delta_status edits_init(edits_gen *g, delta_error *err);

/* Releases the pool and the scratch space.  A zeroed g is fine. */
void edits_destroy(edits_gen *g);

/* UTF-16 units of UTF-8 text: 2 for a code point outside the BMP. */
int64_t edits_units(const char *text, size_t bytes);

/*
 * Every code point boundary of document doc, in UTF-16 units from 0 to its
 * length, in g's scratch space (valid until the next call); *count of them.
 * DELTA_EMISMATCH when doc holds a retain or a delete.
 */
delta_status edits_bounds(edits_gen *g, const delta *doc,
						  const int64_t **bounds, size_t *count,
						  delta_error *err);

/*
 * Appends one random insert to d (in arena): an embed one time in eight,
 * else one to three pieces of text, or (g->paste_one_in) a paste; with
 * random attributes from the pool.
 */
delta_status edits_insert(edits_gen *g, edits_rng *r, delta_arena *arena,
						  delta *d, delta_error *err);

/*
 * A random change of document doc (which must end with its newline), in
 * arena: a delete, a formatting retain or an insert at one place, with the
 * invariants above.  DELTA_EMISMATCH when doc is no document or lacks its
 * final newline.
 */
delta_status edits_random(edits_gen *g, edits_rng *r, delta_arena *arena,
						  const delta *doc, delta **out, delta_error *err);

#endif
