/*
 * delta_cli.c — a line protocol over the Delta core, for the differential
 * tests in tests/diff/ (which compare it with quill-delta).
 *
 * Reads one JSON request per line on stdin and writes exactly one JSON line
 * per request on stdout, flushed, in the same order:
 *
 *   {"fn":"compose","a":D,"b":D}
 *   {"fn":"transform","a":D,"b":D,"priority":bool}
 *   {"fn":"transform_position","a":D,"index":N,"priority":bool}
 *   {"fn":"invert","change":D,"base":D}
 *   {"fn":"diff","a":D,"b":D}
 *   {"fn":"apply","doc":D,"change":D}
 *   {"fn":"normalize","a":D}       delta_from_json, then delta_write
 *   {"fn":"length","a":D}          ok is a number
 *   {"fn":"to_text","a":D}         ok is a string
 *
 * answered by {"ok": RESULT} or
 * {"error": {"status": "EINVAL|EMISMATCH|ELIMIT|ENOMEM", "message": "..."}}.
 * D is an array of operations or {"ops":[...]}; a delta result is written
 * {"ops":[...]} by delta_write.  "priority" defaults to false.
 *
 * Each request gets its own arena, destroyed before the next line is read,
 * so a run under ASan also checks that the core keeps to its arena.  The
 * process exits 0 at end of input; it never stops on a bad request.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "delta.h"
#include "json.h"
#include "status.h"

static const char *
status_name(delta_status st)
{
	switch (st)
	{
		case DELTA_OK:
			return "OK";
		case DELTA_EINVAL:
			return "EINVAL";
		case DELTA_EMISMATCH:
			return "EMISMATCH";
		case DELTA_ELIMIT:
			return "ELIMIT";
		case DELTA_ENOMEM:
			return "ENOMEM";
	}
	return "UNKNOWN";
}

/* The member key of request req, or NULL. */
static const djson_value *
member(const djson_value *req, const char *key)
{
	return djson_object_get(req, key, strlen(key));
}

/* Reads the delta in member key of req. */
static delta_status
get_delta(delta_arena *arena, const djson_value *req, const char *key,
		  delta **out, delta_error *err)
{
	const djson_value *v = member(req, key);

	if (v == NULL)
		return delta_fail(err, DELTA_EINVAL, "request: missing \"%s\"", key);
	return delta_from_json(arena, v, out, err);
}

/* Reads the optional boolean "priority" (absent: false). */
static delta_status
get_priority(const djson_value *req, bool *out, delta_error *err)
{
	const djson_value *v = member(req, "priority");

	if (v == NULL || v->type == DJSON_FALSE)
		*out = false;
	else if (v->type == DJSON_TRUE)
		*out = true;
	else
		return delta_fail(err, DELTA_EINVAL,
						  "request: \"priority\" must be a boolean");
	return DELTA_OK;
}

/* Reads "index": an integer in [0, 2^53]. */
static delta_status
get_index(const djson_value *req, int64_t *out, delta_error *err)
{
	const djson_value *v = member(req, "index");
	double d;

	if (v == NULL || v->type != DJSON_NUMBER)
		return delta_fail(err, DELTA_EINVAL,
						  "request: \"index\" must be a number");
	d = v->u.number.value;
	if (!(d >= 0 && d <= 9007199254740992.0) || floor(d) != d)
		return delta_fail(err, DELTA_EINVAL,
						  "request: \"index\" must be a non-negative integer");
	*out = (int64_t) d;
	return DELTA_OK;
}

static delta_status
write_ok_delta(delta_buf *buf, const delta *d, delta_error *err)
{
	delta_status st;

	if ((st = delta_buf_append(buf, "{\"ok\":", 6, err)) != DELTA_OK)
		return st;
	if ((st = delta_write(buf, d, err)) != DELTA_OK)
		return st;
	return delta_buf_append(buf, "}", 1, err);
}

static delta_status
write_ok_int(delta_buf *buf, int64_t n, delta_error *err)
{
	char text[64];
	int len = snprintf(text, sizeof(text), "{\"ok\":%" PRId64 "}", n);

	return delta_buf_append(buf, text, (size_t) len, err);
}

/* Runs the request in req and appends its {"ok":...} answer to buf. */
static delta_status
dispatch(delta_arena *arena, const djson_value *req, delta_buf *buf,
		 delta_error *err)
{
	const djson_value *fnv;
	const char *fn;
	size_t fn_len;
	delta *a = NULL;
	delta *b = NULL;
	delta *out = NULL;
	delta_status st;
	bool priority = false;

	if (req->type != DJSON_OBJECT)
		return delta_fail(err, DELTA_EINVAL, "request: not an object");
	fnv = member(req, "fn");
	if (fnv == NULL || fnv->type != DJSON_STRING)
		return delta_fail(err, DELTA_EINVAL,
						  "request: \"fn\" must be a string");
	fn = fnv->u.string.bytes;
	fn_len = fnv->u.string.len;

#define FN_IS(name) (fn_len == strlen(name) && memcmp(fn, name, fn_len) == 0)

	if (FN_IS("compose"))
	{
		if ((st = get_delta(arena, req, "a", &a, err)) != DELTA_OK ||
			(st = get_delta(arena, req, "b", &b, err)) != DELTA_OK ||
			(st = delta_compose(arena, a, b, &out, err)) != DELTA_OK)
			return st;
		return write_ok_delta(buf, out, err);
	}
	if (FN_IS("transform"))
	{
		if ((st = get_delta(arena, req, "a", &a, err)) != DELTA_OK ||
			(st = get_delta(arena, req, "b", &b, err)) != DELTA_OK ||
			(st = get_priority(req, &priority, err)) != DELTA_OK ||
			(st = delta_transform(arena, a, b, priority, &out, err)) !=
				DELTA_OK)
			return st;
		return write_ok_delta(buf, out, err);
	}
	if (FN_IS("transform_position"))
	{
		int64_t index = 0;
		int64_t moved = 0;

		if ((st = get_delta(arena, req, "a", &a, err)) != DELTA_OK ||
			(st = get_index(req, &index, err)) != DELTA_OK ||
			(st = get_priority(req, &priority, err)) != DELTA_OK ||
			(st = delta_transform_position(a, index, priority, &moved, err)) !=
				DELTA_OK)
			return st;
		return write_ok_int(buf, moved, err);
	}
	if (FN_IS("invert"))
	{
		if ((st = get_delta(arena, req, "change", &a, err)) != DELTA_OK ||
			(st = get_delta(arena, req, "base", &b, err)) != DELTA_OK ||
			(st = delta_invert(arena, a, b, &out, err)) != DELTA_OK)
			return st;
		return write_ok_delta(buf, out, err);
	}
	if (FN_IS("diff"))
	{
		if ((st = get_delta(arena, req, "a", &a, err)) != DELTA_OK ||
			(st = get_delta(arena, req, "b", &b, err)) != DELTA_OK ||
			(st = delta_diff(arena, a, b, &out, err)) != DELTA_OK)
			return st;
		return write_ok_delta(buf, out, err);
	}
	if (FN_IS("apply"))
	{
		if ((st = get_delta(arena, req, "doc", &a, err)) != DELTA_OK ||
			(st = get_delta(arena, req, "change", &b, err)) != DELTA_OK ||
			(st = delta_apply(arena, a, b, &out, err)) != DELTA_OK)
			return st;
		return write_ok_delta(buf, out, err);
	}
	if (FN_IS("normalize"))
	{
		if ((st = get_delta(arena, req, "a", &a, err)) != DELTA_OK)
			return st;
		return write_ok_delta(buf, a, err);
	}
	if (FN_IS("length"))
	{
		if ((st = get_delta(arena, req, "a", &a, err)) != DELTA_OK)
			return st;
		return write_ok_int(buf, delta_length(a), err);
	}
	if (FN_IS("to_text"))
	{
		char *text;
		size_t len;

		if ((st = get_delta(arena, req, "a", &a, err)) != DELTA_OK ||
			(st = delta_to_text(arena, a, &text, &len, err)) != DELTA_OK)
			return st;
		if ((st = delta_buf_append(buf, "{\"ok\":", 6, err)) != DELTA_OK ||
			(st = djson_write_string(buf, text, len, err)) != DELTA_OK)
			return st;
		return delta_buf_append(buf, "}", 1, err);
	}
#undef FN_IS
	return delta_fail(err, DELTA_EINVAL, "request: unknown fn \"%.*s\"",
					  (int) (fn_len > 64 ? 64 : fn_len), fn);
}

/*
 * Writes an error line without the arena (which may be what failed).  The
 * message is escaped by hand: it may quote request bytes.
 */
static void
print_error(delta_status st, const char *message)
{
	const unsigned char *s = (const unsigned char *) message;

	printf("{\"error\":{\"status\":\"%s\",\"message\":\"", status_name(st));
	for (; *s != '\0'; s++)
	{
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	printf("\"}}\n");
}

/* Answers one request line. */
static void
handle_line(const char *line, size_t len)
{
	delta_arena *arena = delta_arena_create(NULL);
	delta_error err = {DELTA_OK, ""};
	const djson_value *req;
	delta_buf buf;
	delta_status st;

	if (arena == NULL)
	{
		print_error(DELTA_ENOMEM, "cannot create an arena");
		return;
	}
	delta_buf_init(&buf, arena);
	st = djson_parse(arena, line, len, &req, &err);
	if (st == DELTA_OK)
		st = dispatch(arena, req, &buf, &err);
	if (st == DELTA_OK)
	{
		fwrite(buf.data, 1, buf.len, stdout);
		putchar('\n');
	}
	else
		print_error(st, err.message);
	delta_arena_destroy(arena);
}

int
main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) != -1)
	{
		size_t len = (size_t) n;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		handle_line(line, len);
		fflush(stdout);
	}
	free(line);
	return ferror(stdout) ? 1 : 0;
}
