/*
 * delta_sql.c — the Delta core as SQL functions in schema collab.
 *
 * Each function parses its jsonb arguments (a bare array of operations or
 * {"ops": [...]}), calls one core operation and returns {"ops": [...]} in
 * canonical form.  All are IMMUTABLE STRICT PARALLEL SAFE: they depend on
 * their arguments only and touch no tables.  Work happens in a glue session
 * (delta_glue.h); only the result survives the call.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "delta.h"
#include "delta_glue.h"

/*
 * The shape every two-delta function shares: parse both arguments (named
 * for messages), run op, return its result as jsonb.
 */
typedef delta_status (*binary_op)(delta_arena *arena, const delta *x,
								  const delta *y, delta **out,
								  delta_error *err);

static Jsonb *
binary(FunctionCallInfo fcinfo, binary_op op, const char *x_name,
	   const char *y_name, const char *failure)
{
	glue_session s;
	delta *x;
	delta *y;
	delta *out = NULL;
	delta_error err;
	Jsonb *result;

	glue_begin(&s);
	x = glue_parse(&s, PG_GETARG_JSONB_P(0), x_name);
	y = glue_parse(&s, PG_GETARG_JSONB_P(1), y_name);
	glue_check(op(s.arena, x, y, &out, &err), &err, failure);
	result = glue_to_jsonb(&s, out);
	glue_end(&s);
	return result;
}

/* collab.compose(a jsonb, b jsonb) returns jsonb: a then b as one change */
PG_FUNCTION_INFO_V1(collab_compose);
Datum
collab_compose(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(
		binary(fcinfo, delta_compose, "a", "b", "cannot compose deltas"));
}

/*
 * collab.transform(a jsonb, b jsonb, priority boolean) returns jsonb:
 * b rewritten to apply after a; with priority, a's inserts go first.
 */
PG_FUNCTION_INFO_V1(collab_transform);
Datum
collab_transform(PG_FUNCTION_ARGS)
{
	glue_session s;
	delta *a;
	delta *b;
	bool priority = PG_GETARG_BOOL(2);
	delta *out = NULL;
	delta_error err;
	Jsonb *result;

	glue_begin(&s);
	a = glue_parse(&s, PG_GETARG_JSONB_P(0), "a");
	b = glue_parse(&s, PG_GETARG_JSONB_P(1), "b");
	glue_check(delta_transform(s.arena, a, b, priority, &out, &err), &err,
			   "cannot transform deltas");
	result = glue_to_jsonb(&s, out);
	glue_end(&s);
	PG_RETURN_JSONB_P(result);
}

/*
 * collab.transform_position(a jsonb, pos integer, priority boolean)
 * returns integer: where pos moves when a is applied.
 */
PG_FUNCTION_INFO_V1(collab_transform_position);
Datum
collab_transform_position(PG_FUNCTION_ARGS)
{
	glue_session s;
	delta *a;
	int32 pos = PG_GETARG_INT32(1);
	bool priority = PG_GETARG_BOOL(2);
	int64 moved = 0;
	delta_error err;

	if (pos < 0)
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("position must not be negative"),
				errdetail("Position is %d.", pos));

	glue_begin(&s);
	a = glue_parse(&s, PG_GETARG_JSONB_P(0), "a");
	glue_check(delta_transform_position(a, pos, priority, &moved, &err), &err,
			   "cannot transform position");
	glue_end(&s);
	PG_RETURN_INT32(glue_int32(moved, "position"));
}

/*
 * collab.invert(change jsonb, base jsonb) returns jsonb: the change that
 * undoes change on document base.
 */
PG_FUNCTION_INFO_V1(collab_invert);
Datum
collab_invert(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(binary(fcinfo, delta_invert, "change", "base",
							 "cannot invert change"));
}

/*
 * collab.diff(a jsonb, b jsonb) returns jsonb: a change that turns document
 * a into document b.
 */
PG_FUNCTION_INFO_V1(collab_diff);
Datum
collab_diff(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(
		binary(fcinfo, delta_diff, "a", "b", "cannot diff documents"));
}

/*
 * collab.length(a jsonb) returns integer: the sum of all operation lengths
 * in UTF-16 code units.
 */
PG_FUNCTION_INFO_V1(collab_length);
Datum
collab_length(PG_FUNCTION_ARGS)
{
	glue_session s;
	delta *a;
	int64 length;

	glue_begin(&s);
	a = glue_parse(&s, PG_GETARG_JSONB_P(0), "a");
	length = delta_length(a);
	glue_end(&s);
	PG_RETURN_INT32(glue_int32(length, "delta length"));
}

/*
 * collab.apply(document jsonb, change jsonb) returns jsonb: the document
 * that change makes of document.
 */
PG_FUNCTION_INFO_V1(collab_apply);
Datum
collab_apply(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(binary(fcinfo, delta_apply, "document", "change",
							 "cannot apply change"));
}

/*
 * A document rendered as text by one of the core's exporters; what names
 * the export in messages.
 */
static text *
export_document(FunctionCallInfo fcinfo,
				delta_status (*export)(delta_arena *, const delta *, char **,
									   size_t *, delta_error *),
				const char *what)
{
	glue_session s;
	delta *document;
	char *out = NULL;
	size_t len = 0;
	delta_error err;
	text *result;

	glue_begin(&s);
	document = glue_parse(&s, PG_GETARG_JSONB_P(0), "document");
	glue_check(export(s.arena, document, &out, &len, &err), &err,
			   psprintf("cannot convert document to %s", what));
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		out = pg_any_to_server(out, (int) len, PG_UTF8);
		len = strlen(out);
	}

	/*
	 * jsonb strings cannot hold U+0000, so neither can the text; build the
	 * result in the caller's context.
	 */
	MemoryContextSwitchTo(s.caller);
	result = cstring_to_text_with_len(out, (int) len);
	glue_end(&s);
	return result;
}

/* collab.to_text(document jsonb) returns text: its text, embeds left out */
PG_FUNCTION_INFO_V1(collab_to_text);
Datum
collab_to_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(export_document(fcinfo, delta_to_text, "text"));
}

/* collab.to_html(document jsonb) returns text: semantic HTML, escaped */
PG_FUNCTION_INFO_V1(collab_to_html);
Datum
collab_to_html(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(export_document(fcinfo, delta_to_html, "HTML"));
}
