/*
 * fuzz_parse.c — libFuzzer target for the core's JSON and delta parsers.
 *
 * The input is taken as JSON text.  Properties checked on every input:
 *   - djson_parse and delta_parse either succeed or fail with a known status
 *     that is also stored in the error struct, with a non-empty message;
 *   - a parsed JSON value written with djson_write parses back to an equal
 *     value and writes the same text again (the writer is canonical);
 *   - a parsed delta is canonical (pushing its operations again changes
 *     nothing), its lengths add up, and delta_write then delta_parse gives
 *     an equal delta whose text is the same (write is canonical);
 *   - delta_from_json on the parsed value agrees with delta_parse.
 * A violation calls abort(), which libFuzzer reports with the input.
 * Every input gets a fresh arena, destroyed before returning, so the leak
 * checker sees anything the core would keep.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"
#include "fuzz_util.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE FUZZ_REQUIRE

/* A failed parse must say why, with a status a parser may return. */
static void
check_failure(const char *what, delta_status st, const delta_error *err)
{
	fuzz_check_error(st, err, what);
	REQUIRE(st != DELTA_EMISMATCH, "%s returned DELTA_EMISMATCH", what);
	REQUIRE(memchr(err->message, '\0', sizeof(err->message)) != NULL,
			"%s left an unterminated message", what);
}

static void
check_json(delta_arena *arena, const djson_value *value)
{
	delta_buf first;
	delta_buf second;
	delta_error err;
	const djson_value *again;
	delta_status st;

	delta_buf_init(&first, arena);
	REQUIRE(djson_write(&first, value, &err) == DELTA_OK, "djson_write: %s",
			err.message);
	fuzz_error_reset(&err);
	st = djson_parse(arena, first.data, first.len, &again, &err);
	REQUIRE(st == DELTA_OK,
			"djson_write gave %.*s which djson_parse refuses: %s",
			(int) first.len, first.data, err.message);
	REQUIRE(djson_equal(value, again), "djson_write changed the value: %.*s",
			(int) first.len, first.data);
	delta_buf_init(&second, arena);
	REQUIRE(djson_write(&second, again, &err) == DELTA_OK, "djson_write: %s",
			err.message);
	REQUIRE(first.len == second.len &&
				memcmp(first.data, second.data, first.len) == 0,
			"djson_write is not canonical: %.*s then %.*s", (int) first.len,
			first.data, (int) second.len, second.data);
}

/* Canonical, and the lengths add up. */
static void
check_canonical(delta_arena *arena, const delta *d)
{
	int64_t length = 0;
	int64_t base = 0;
	bool document = true;
	size_t i;

	fuzz_check_canonical(arena, d, "the parsed delta");
	for (i = 0; i < d->count; i++)
	{
		length += d->ops[i].length;
		if (d->ops[i].kind != DELTA_OP_INSERT)
		{
			base += d->ops[i].length;
			document = false;
		}
	}
	REQUIRE(delta_length(d) == length, "delta_length %lld, ops add up to %lld",
			(long long) delta_length(d), (long long) length);
	REQUIRE(delta_base_length(d) == base, "delta_base_length is wrong");
	REQUIRE(delta_is_document(d) == document, "delta_is_document is wrong");
}

static void
check_delta(delta_arena *arena, const delta *d, const djson_value *value)
{
	delta_buf first;
	delta_buf second;
	delta_error err;
	delta *again;
	delta_status st;

	check_canonical(arena, d);

	delta_buf_init(&first, arena);
	REQUIRE(delta_write(&first, d, &err) == DELTA_OK, "delta_write: %s",
			err.message);
	fuzz_error_reset(&err);
	st = delta_parse(arena, first.data, first.len, &again, &err);
	REQUIRE(st == DELTA_OK,
			"delta_write gave %.*s which delta_parse refuses: %s",
			(int) (first.len > 300 ? 300 : first.len), first.data,
			err.message);
	REQUIRE(delta_equal(d, again), "write then parse changed the delta: %.*s",
			(int) first.len, first.data);
	delta_buf_init(&second, arena);
	REQUIRE(delta_write(&second, again, &err) == DELTA_OK, "delta_write: %s",
			err.message);
	REQUIRE(first.len == second.len &&
				memcmp(first.data, second.data, first.len) == 0,
			"delta_write is not canonical: %.*s then %.*s", (int) first.len,
			first.data, (int) second.len, second.data);

	/* the same delta from the already parsed value */
	fuzz_error_reset(&err);
	st = delta_from_json(arena, value, &again, &err);
	REQUIRE(st == DELTA_OK,
			"delta_from_json refuses what delta_parse took: %s", err.message);
	REQUIRE(delta_equal(d, again), "delta_from_json disagrees");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	delta_arena *arena = delta_arena_create(NULL);
	const char *text = (const char *) data;
	const djson_value *value = NULL;
	delta *d = NULL;
	delta_error err;
	delta_status json_st;
	delta_status delta_st;

	REQUIRE(arena != NULL, "delta_arena_create failed");

	fuzz_error_reset(&err);
	json_st = djson_parse(arena, text, size, &value, &err);
	if (json_st != DELTA_OK)
		check_failure("djson_parse", json_st, &err);
	else
		check_json(arena, value);

	fuzz_error_reset(&err);
	delta_st = delta_parse(arena, text, size, &d, &err);
	if (delta_st != DELTA_OK)
	{
		check_failure("delta_parse", delta_st, &err);
		/* delta_from_json on the same value must refuse it too */
		if (json_st == DELTA_OK)
		{
			delta_status st;

			fuzz_error_reset(&err);
			st = delta_from_json(arena, value, &d, &err);
			REQUIRE(st == delta_st, "delta_from_json returned %d, not %d",
					(int) st, (int) delta_st);
			check_failure("delta_from_json", st, &err);
		}
	}
	else
	{
		REQUIRE(json_st == DELTA_OK, "a delta from text that is not JSON");
		check_delta(arena, d, value);
	}

	delta_arena_destroy(arena);
	return 0;
}
