/*
 * delta_glue.c — memory, JSON and errors between the Delta core and the
 * backend (see delta_glue.h for the contract).
 *
 * The core never sees palloc directly: its arena takes blocks from the
 * session's memory context through glue_malloc/glue_free.  palloc raises
 * its own "out of memory" error, so a core allocation either succeeds or
 * leaves through ereport, and the context (a child of the caller's) is
 * cleaned up by the usual error recovery.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "delta_glue.h"

static void *
glue_malloc(void *ctx, size_t size)
{
	/* beyond 1 GB nothing fits in a jsonb or text anyway */
	if (!AllocSizeIsValid(size))
		return NULL;
	return MemoryContextAlloc((MemoryContext) ctx, size);
}

static void
glue_free(void *ctx, void *ptr)
{
	(void) ctx;
	pfree(ptr);
}

/* S's arena, made in S's memory context (its blocks and itself). */
static void
glue_arena(glue_session *s)
{
	delta_alloc alloc;

	alloc.malloc = glue_malloc;
	alloc.free = glue_free;
	alloc.ctx = s->mcxt;
	s->arena = delta_arena_create(&alloc);
	if (s->arena == NULL)
		ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
				errmsg("out of memory"));
}

void
glue_begin(glue_session *s)
{
	s->caller = CurrentMemoryContext;
	s->mcxt = AllocSetContextCreate(CurrentMemoryContext, "collab delta",
									ALLOCSET_DEFAULT_SIZES);
	glue_arena(s);
	MemoryContextSwitchTo(s->mcxt);
}

void
glue_reset(glue_session *s)
{
	/* the arena's blocks and the arena itself live in mcxt */
	MemoryContextReset(s->mcxt);
	glue_arena(s);
}

void
glue_end(glue_session *s)
{
	MemoryContextSwitchTo(s->caller);
	/* the arena's blocks live in mcxt: deleting it frees them all */
	MemoryContextDelete(s->mcxt);
	s->mcxt = NULL;
	s->arena = NULL;
}

/*
 * The core's message as an error detail: a sentence ending with a period,
 * as PostgreSQL's style asks of details.  A first word is capitalised; a
 * first name such as "ops[2]:" keeps its case.
 */
static char *
glue_sentence(const char *message)
{
	char *s = psprintf("%s.", message);
	const char *p = s;

	while (*p >= 'a' && *p <= 'z')
		p++;
	if (p > s && (*p == ' ' || *p == ','))
		s[0] = s[0] - 'a' + 'A';
	return s;
}

static void *
must(void *p)
{
	if (p == NULL)
		ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
				errmsg("out of memory"));
	return p;
}

/* Values are immutable: one of each constant serves every document. */
static const djson_value json_null = {.type = DJSON_NULL};
static const djson_value json_true = {.type = DJSON_TRUE};
static const djson_value json_false = {.type = DJSON_FALSE};

/* A scalar JsonbValue as a core value. */
static const djson_value *
scalar_to_core(glue_session *s, const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return &json_null;
		case jbvBool:
			return v->val.boolean ? &json_true : &json_false;
		case jbvString:
			return must((void *) djson_string_new(s->arena, v->val.string.val,
												  v->val.string.len));
		case jbvNumeric:
		{
			char *lit = DatumGetCString(
				DirectFunctionCall1(numeric_out,
									NumericGetDatum(v->val.numeric)));

			return must((void *) djson_number_new(s->arena, lit, strlen(lit)));
		}
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;
}

/* A container being rebuilt: its items, or its members and next key. */
typedef struct build_frame {
	bool object;
	bool raw_scalar; /* jsonb's wrapper around a lone scalar */
	const djson_value **items;
	djson_member *members;
	int count;
	int cap;
	const char *key;
	size_t key_len;
} build_frame;

static void
frame_add(glue_session *s, build_frame *f, const djson_value *v)
{
	if (f->count == f->cap)
	{
		f->cap = f->cap ? f->cap * 2 : 8;
		if (f->object)
			f->members = f->members ? repalloc(f->members,
											   f->cap * sizeof(djson_member))
									: palloc(f->cap * sizeof(djson_member));
		else
			f->items = f->items
						   ? repalloc(f->items, f->cap * sizeof(djson_value *))
						   : palloc(f->cap * sizeof(djson_value *));
	}
	if (f->object)
	{
		f->members[f->count].key = f->key;
		f->members[f->count].key_len = f->key_len;
		f->members[f->count].value = v;
	}
	else
		f->items[f->count] = v;
	f->count++;
	(void) s;
}

/*
 * A jsonb as a core JSON value, walked with its iterator: no text in
 * between.  Strings are copied into the arena (the core's values must
 * outlive the datum).  Only for UTF-8 databases, whose strings the core
 * can take as they are.
 */
static const djson_value *
jsonb_to_core(glue_session *s, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue v;
	JsonbIteratorToken tok;
	build_frame *stack = palloc(8 * sizeof(build_frame));
	int depth = 0;
	int cap = 8;
	const djson_value *result = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		const djson_value *made = NULL;

		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
			case WJB_BEGIN_OBJECT:
				check_stack_depth();
				if (depth == cap)
				{
					cap *= 2;
					stack = repalloc(stack, cap * sizeof(build_frame));
				}
				memset(&stack[depth], 0, sizeof(build_frame));
				stack[depth].object = tok == WJB_BEGIN_OBJECT;
				stack[depth].raw_scalar =
					tok == WJB_BEGIN_ARRAY && v.val.array.rawScalar;
				depth++;
				continue;
			case WJB_KEY:
			{
				/* a key needs its bytes only, not a value around them */
				char *key =
					must(delta_arena_alloc(s->arena, v.val.string.len + 1));

				memcpy(key, v.val.string.val, v.val.string.len);
				stack[depth - 1].key = key;
				stack[depth - 1].key_len = v.val.string.len;
				continue;
			}
			case WJB_VALUE:
			case WJB_ELEM:
				made = scalar_to_core(s, &v);
				break;
			case WJB_END_ARRAY:
			case WJB_END_OBJECT:
			{
				build_frame *f = &stack[--depth];
				delta_error err;

				if (f->raw_scalar)
					made = f->items[0];
				else if (f->object)
					glue_check(djson_object_new(s->arena, f->members, f->count,
												&made, &err),
							   &err, "out of memory");
				else
					made = must((void *) djson_array_new(s->arena, f->items,
														 f->count));
				break;
			}
			default:
				continue;
		}
		if (depth == 0)
			result = made;
		else
			frame_add(s, &stack[depth - 1], made);
	}
	return result;
}

delta *
glue_parse(glue_session *s, Jsonb *jb, const char *argname)
{
	StringInfoData buf;
	char *text;
	size_t len;
	delta *d = NULL;
	delta_error err;
	delta_status status;

	if (GetDatabaseEncoding() == PG_UTF8)
		status = delta_from_json(s->arena, jsonb_to_core(s, jb), &d, &err);
	else
	{
		/* the core speaks UTF-8: through text, converted */
		initStringInfo(&buf);
		JsonbToCString(&buf, &jb->root, VARSIZE(jb));
		text = pg_server_to_any(buf.data, buf.len, PG_UTF8);
		len = strlen(text);
		status = delta_parse(s->arena, text, len, &d, &err);
	}
	switch (status)
	{
		case DELTA_OK:
			return d;
		case DELTA_ELIMIT:
			ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					errmsg("delta in argument \"%s\" exceeds a limit",
						   argname),
					errdetail("%s", glue_sentence(err.message)));
			break;
		case DELTA_ENOMEM:
			ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
					errmsg("out of memory"),
					errdetail("%s", glue_sentence(err.message)));
			break;
		case DELTA_EINVAL:
		case DELTA_EMISMATCH:
			ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("invalid delta in argument \"%s\"", argname),
					errdetail("%s", glue_sentence(err.message)));
			break;
	}
	elog(ERROR, "unexpected delta status %d", (int) status);
	return NULL; /* keep compiler quiet */
}

static void push_core(JsonbParseState **state, const djson_value *v,
					  JsonbIteratorToken as);

static void
push_string(JsonbParseState **state, const char *bytes, size_t len,
			JsonbIteratorToken as)
{
	JsonbValue jv;

	jv.type = jbvString;
	jv.val.string.val = (char *) bytes;
	jv.val.string.len = (int) len;
	(void) pushJsonbValue(state, as, &jv);
}

static void
push_count(JsonbParseState **state, int64 n)
{
	JsonbValue jv;

	jv.type = jbvNumeric;
	jv.val.numeric = int64_to_numeric(n);
	(void) pushJsonbValue(state, WJB_VALUE, &jv);
}

/* A core value into a jsonb being built, as a value or an element. */
static void
push_core(JsonbParseState **state, const djson_value *v, JsonbIteratorToken as)
{
	JsonbValue jv;
	size_t i;

	switch (v->type)
	{
		case DJSON_NULL:
			jv.type = jbvNull;
			break;
		case DJSON_TRUE:
		case DJSON_FALSE:
			jv.type = jbvBool;
			jv.val.boolean = v->type == DJSON_TRUE;
			break;
		case DJSON_NUMBER:
			jv.type = jbvNumeric;
			jv.val.numeric = DatumGetNumeric(
				DirectFunctionCall3(numeric_in,
									CStringGetDatum(v->u.number.literal),
									ObjectIdGetDatum(InvalidOid),
									Int32GetDatum(-1)));
			break;
		case DJSON_STRING:
			push_string(state, v->u.string.bytes, v->u.string.len, as);
			return;
		case DJSON_ARRAY:
			(void) pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
			for (i = 0; i < v->u.array.count; i++)
				push_core(state, v->u.array.items[i], WJB_ELEM);
			(void) pushJsonbValue(state, WJB_END_ARRAY, NULL);
			return;
		case DJSON_OBJECT:
			(void) pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
			for (i = 0; i < v->u.object.count; i++)
			{
				const djson_member *m = &v->u.object.members[i];

				push_string(state, m->key, m->key_len, WJB_KEY);
				push_core(state, m->value, WJB_VALUE);
			}
			(void) pushJsonbValue(state, WJB_END_OBJECT, NULL);
			return;
	}
	(void) pushJsonbValue(state, as, &jv);
}

/* {"ops": [...]} built straight into a jsonb (UTF-8 databases). */
static Jsonb *
core_to_jsonb(const delta *d)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	size_t i;

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_string(&state, "ops", 3, WJB_KEY);
	(void) pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < d->count; i++)
	{
		const delta_op *op = &d->ops[i];

		(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		switch (op->kind)
		{
			case DELTA_OP_INSERT:
				push_string(&state, "insert", 6, WJB_KEY);
				if (op->embed != NULL)
					push_core(&state, op->embed, WJB_VALUE);
				else
					push_string(&state, op->text, op->bytes, WJB_VALUE);
				break;
			case DELTA_OP_RETAIN:
				push_string(&state, "retain", 6, WJB_KEY);
				push_count(&state, op->length);
				break;
			case DELTA_OP_DELETE:
				push_string(&state, "delete", 6, WJB_KEY);
				push_count(&state, op->length);
				break;
		}
		if (op->attributes != NULL)
		{
			push_string(&state, "attributes", 10, WJB_KEY);
			push_core(&state, op->attributes, WJB_VALUE);
		}
		(void) pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	(void) pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

Jsonb *
glue_to_jsonb(glue_session *s, const delta *d)
{
	delta_buf buf;
	delta_error err;
	char *text;
	Jsonb *parsed;
	Jsonb *result;

	if (GetDatabaseEncoding() == PG_UTF8)
	{
		/* build in the session's context, keep only the result */
		parsed = core_to_jsonb(d);
		result = MemoryContextAlloc(s->caller, VARSIZE(parsed));
		memcpy(result, parsed, VARSIZE(parsed));
		return result;
	}
	delta_buf_init(&buf, s->arena);
	glue_check(delta_write(&buf, d, &err), &err, "cannot write delta");
	glue_check(delta_buf_append(&buf, "", 1, &err), &err,
			   "cannot write delta");
	text = buf.data;
	if (GetDatabaseEncoding() != PG_UTF8)
		text = pg_any_to_server(text, (int) buf.len - 1, PG_UTF8);

	/* parse in the session's context, keep only the result */
	parsed =
		DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	result = MemoryContextAlloc(s->caller, VARSIZE(parsed));
	memcpy(result, parsed, VARSIZE(parsed));
	return result;
}

void
glue_check(delta_status status, const delta_error *err, const char *message)
{
	switch (status)
	{
		case DELTA_OK:
			return;
		case DELTA_EINVAL:
		case DELTA_EMISMATCH:
			ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("%s", message),
					errdetail("%s", glue_sentence(err->message)));
			break;
		case DELTA_ELIMIT:
			ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					errmsg("%s", message),
					errdetail("%s", glue_sentence(err->message)));
			break;
		case DELTA_ENOMEM:
			ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
					errmsg("out of memory"),
					errdetail("%s", glue_sentence(err->message)));
			break;
	}
	elog(ERROR, "unexpected delta status %d", (int) status);
}

int32
glue_int32(int64 value, const char *what)
{
	if (value < PG_INT32_MIN || value > PG_INT32_MAX)
		ereport(ERROR, errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				errmsg("%s %lld is out of range for type integer", what,
					   (long long) value));
	return (int32) value;
}
