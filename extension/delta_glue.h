/*
 * delta_glue.h — between the pure-C Delta core and the backend.
 *
 * A glue session is one memory context, named "collab delta", made a child
 * of the caller's CurrentMemoryContext, with a core arena drawing on it.
 * Everything the core builds during a call lives there and goes away with
 * glue_end(), or with the parent context when an error is raised first, so
 * nothing leaks on any path.  Results are copied into the caller's context.
 *
 * In a UTF-8 database, jsonb crosses the boundary without text: its
 * iterator feeds the core's JSON builders, and results are pushed into a
 * new jsonb with pushJsonbValue.  A database in another encoding goes
 * through text (JsonbToCString, the core's parser and writer, jsonb_in),
 * converted to and from UTF-8, which the core speaks.
 */
#ifndef COLLAB_DELTA_GLUE_H
#define COLLAB_DELTA_GLUE_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/palloc.h"

#include "delta.h"

typedef struct glue_session {
	MemoryContext mcxt;	  /* "collab delta", holds the arena */
	MemoryContext caller; /* where results go */
	delta_arena *arena;
} glue_session;

/* Opens a session; switches CurrentMemoryContext to the session's. */
void glue_begin(glue_session *s);

/* Frees everything the session holds; it stays open, in whatever context
 * is current. */
void glue_reset(glue_session *s);

/* Switches back to the caller's context and frees everything. */
void glue_end(glue_session *s);

/*
 * Parses the jsonb argument called argname (for messages) into a delta.
 * Raises 22023 for a malformed delta, 54000 for one beyond the core's
 * limits.
 */
delta *glue_parse(glue_session *s, Jsonb *jb, const char *argname);

/* The delta as a jsonb {"ops": [...]} in the caller's context. */
Jsonb *glue_to_jsonb(glue_session *s, const delta *d);

/*
 * Raises the error a core operation returned, with message as errmsg (e.g.
 * "cannot apply change") and the core's message as errdetail.  Returns only
 * for DELTA_OK.
 */
void glue_check(delta_status status, const delta_error *err,
				const char *message);

/* A core length or position as an int4, or 22003 when it does not fit. */
int32 glue_int32(int64 value, const char *what);

#endif
