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
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

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

void
glue_begin(glue_session *s)
{
	delta_alloc alloc;

	s->caller = CurrentMemoryContext;
	s->mcxt = AllocSetContextCreate(CurrentMemoryContext, "collab delta",
									ALLOCSET_DEFAULT_SIZES);
	alloc.malloc = glue_malloc;
	alloc.free = glue_free;
	alloc.ctx = s->mcxt;
	s->arena = delta_arena_create(&alloc);
	if (s->arena == NULL)
		ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
				errmsg("out of memory"));
	MemoryContextSwitchTo(s->mcxt);
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

delta *
glue_parse(glue_session *s, Jsonb *jb, const char *argname)
{
	StringInfoData buf;
	char *text;
	size_t len;
	delta *d = NULL;
	delta_error err;
	delta_status status;

	initStringInfo(&buf);
	JsonbToCString(&buf, &jb->root, VARSIZE(jb));
	text = buf.data;
	len = buf.len;
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		text = pg_server_to_any(text, (int) len, PG_UTF8);
		len = strlen(text);
	}

	status = delta_parse(s->arena, text, len, &d, &err);
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

Jsonb *
glue_to_jsonb(glue_session *s, const delta *d)
{
	delta_buf buf;
	delta_error err;
	char *text;
	Jsonb *parsed;
	Jsonb *result;

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
