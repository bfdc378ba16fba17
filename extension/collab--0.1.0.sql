/* extension/collab--0.1.0.sql — the first release of collab.
 *
 * Released install scripts are never edited: changes go into a new
 * collab--0.1.0--A.B.C.sql upgrade script.  Objects land in the schema named
 * by collab.control (collab), which CREATE EXTENSION puts first on the
 * search_path while this script runs.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION collab" to load this file. \quit

/*
 * Quill Deltas as jsonb.  Every function accepts a bare array of operations
 * or {"ops": [...]} and returns {"ops": [...]}, canonical (normalised).
 * Lengths and positions count UTF-16 code units, as JavaScript clients do.
 */

CREATE FUNCTION compose(a jsonb, b jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'collab_compose'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION compose(jsonb, jsonb) IS
'a then b as one change (quill-delta compose)';

CREATE FUNCTION transform(a jsonb, b jsonb, priority boolean)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'collab_transform'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION transform(jsonb, jsonb, boolean) IS
'b rewritten to apply after a, both made against the same document; with priority, a''s inserts go first (quill-delta transform)';

CREATE FUNCTION transform_position(a jsonb, pos integer,
								   priority boolean DEFAULT false)
RETURNS integer
AS 'MODULE_PATHNAME', 'collab_transform_position'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION transform_position(jsonb, integer, boolean) IS
'where position pos moves when change a is applied (quill-delta transformPosition)';

CREATE FUNCTION invert(change jsonb, base jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'collab_invert'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION invert(jsonb, jsonb) IS
'the change that undoes change on document base (quill-delta invert)';

CREATE FUNCTION diff(a jsonb, b jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'collab_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION diff(jsonb, jsonb) IS
'a change that turns document a into document b (quill-delta diff)';

CREATE FUNCTION length(a jsonb)
RETURNS integer
AS 'MODULE_PATHNAME', 'collab_length'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION length(jsonb) IS
'sum of the lengths of all operations, in UTF-16 code units (quill-delta length)';

CREATE FUNCTION apply(document jsonb, change jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'collab_apply'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION apply(jsonb, jsonb) IS
'the document that change makes of document';

CREATE FUNCTION to_text(document jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'collab_to_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION to_text(jsonb) IS
'the plain text of a document; embeds are left out';
