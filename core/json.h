/*
 * json.h — the small JSON model the Delta core needs for operations,
 * attributes and embeds.
 *
 * Values are immutable once parsed and live in a delta_arena.  Strings are
 * UTF-8 with an explicit length (they may contain U+0000).  Objects are kept
 * canonical: members sorted by key (bytewise) with duplicate keys resolved
 * the way JSON.parse and jsonb resolve them, the last one wins.  Numbers keep
 * the literal as written and compare by their double value, as JavaScript
 * compares them.
 */
#ifndef COLLAB_CORE_JSON_H
#define COLLAB_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "status.h"

typedef enum djson_type {
	DJSON_NULL,
	DJSON_FALSE,
	DJSON_TRUE,
	DJSON_NUMBER,
	DJSON_STRING,
	DJSON_ARRAY,
	DJSON_OBJECT
} djson_type;

typedef struct djson_value djson_value;

typedef struct djson_member {
	const char *key; /* UTF-8, key_len bytes, not NUL-terminated */
	size_t key_len;
	const djson_value *value;
} djson_member;

struct djson_value {
	djson_type type;
	union {
		struct {
			const char *literal; /* as written, e.g. "1.50e3" */
			size_t len;
			double value;
		} number;
		struct {
			const char *bytes; /* UTF-8 */
			size_t len;
		} string;
		struct {
			const djson_value *const *items;
			size_t count;
		} array;
		struct {
			const djson_member *members; /* sorted by key, unique */
			size_t count;
		} object;
	} u;
};

/* Nesting deeper than this is rejected with DELTA_ELIMIT. */
#define DJSON_DEPTH_MAX 200

/*
 * Parses exactly one JSON text (RFC 8259, UTF-8; surrounding whitespace
 * allowed) into *out.  Rejects invalid UTF-8, lone surrogate escapes,
 * unescaped control characters and trailing garbage with DELTA_EINVAL and a
 * message giving the byte offset.
 */
delta_status djson_parse(delta_arena *arena, const char *text, size_t len,
						 const djson_value **out, delta_error *err);

/*
 * Deep equality as lodash's isEqual sees parsed JSON: objects compare
 * member by member regardless of order, numbers by value.  NULL pointers
 * (absent values) are equal only to each other.
 */
bool djson_equal(const djson_value *a, const djson_value *b);

/* The member called key, or NULL. */
const djson_value *djson_object_get(const djson_value *object, const char *key,
									size_t key_len);

/*
 * Builders, for callers that read JSON from elsewhere (a jsonb, say).
 * Each copies its bytes into the arena and returns NULL when it fails.
 * djson_number_new takes a JSON number literal as written.
 */
const djson_value *djson_scalar_new(delta_arena *arena, djson_type type);
const djson_value *djson_string_new(delta_arena *arena, const char *bytes,
									size_t len);
const djson_value *djson_number_new(delta_arena *arena, const char *literal,
									size_t len);
const djson_value *djson_array_new(delta_arena *arena,
								   const djson_value *const *items,
								   size_t count);

/* Builds an object from members in any order (duplicates: last wins). */
delta_status djson_object_new(delta_arena *arena, djson_member *members,
							  size_t count, const djson_value **out,
							  delta_error *err);

/* A growable byte buffer in an arena.  Grows geometrically. */
typedef struct delta_buf {
	delta_arena *arena;
	char *data;
	size_t len;
	size_t cap;
} delta_buf;

void delta_buf_init(delta_buf *buf, delta_arena *arena);
delta_status delta_buf_append(delta_buf *buf, const void *bytes, size_t len,
							  delta_error *err);

/* Appends the compact JSON text of value (objects in canonical order). */
delta_status djson_write(delta_buf *buf, const djson_value *value,
						 delta_error *err);

/* Appends s as a JSON string literal, quoted and escaped. */
delta_status djson_write_string(delta_buf *buf, const char *s, size_t len,
								delta_error *err);

/* The bytes djson_write and djson_write_string would append, without
 * writing them. */
size_t djson_write_size(const djson_value *value);
size_t djson_string_size(const char *s, size_t len);

#endif
