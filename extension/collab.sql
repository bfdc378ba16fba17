/* extension/collab.sql — the install script of the current version.
 *
 * The one source: the Makefile copies it to collab--<default_version>.sql
 * (collab.control names the version).  Every change to the schema lands
 * here and, for existing installations, in an upgrade script
 * collab--A--B.sql that holds exactly the change; sql/upgrade.sql checks
 * that both paths give the same schema.  Released full scripts
 * (collab--0.1.0.sql) are never edited.  Objects land in the schema named by
 * collab.control (collab), which CREATE EXTENSION puts first on the
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

CREATE FUNCTION to_html(document jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'collab_to_html'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION to_html(jsonb) IS
'semantic HTML of a document: paragraphs, headers, lists, blockquotes, code blocks, bold, italic, underline, strike, code, links, images; everything escaped';

-- The pure functions above are for everyone; the schema must say so too.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

/*
 * Documents (docs/documents.md).  Every table is keyed by doc_id first, so
 * it can be hash-distributed.  Only collab's functions write them: they keep
 * the three consistent under the document id's lock (a transaction-level
 * advisory lock in class 0xC011, collab's own; extension/store.c).
 */

CREATE TABLE documents (
	doc_id text PRIMARY KEY,
	head bigint NOT NULL DEFAULT 0,		-- latest revision
	length bigint NOT NULL,				-- UTF-16 length of the head document
	astral bigint[] NOT NULL,			-- where its surrogate pairs start
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,
	-- (0.3.0) upper bounds on the size of the head document's JSON and of
	-- its largest attributes object, for collab.max_document_bytes
	-- (extension/quota.c); null: not known yet
	json_bytes bigint,
	attributes_bytes bigint,
	-- (0.4.0) the revision of the last snapshot asked for, and the JSON
	-- bytes of the changes after it: a snapshot is due when they reach
	-- collab.snapshot_ratio of length (extension/documents.c); null: not
	-- known yet
	snapshot_rev bigint,
	bytes_since_snapshot bigint
);

CREATE TABLE change_log (
	doc_id text NOT NULL,
	rev bigint NOT NULL,
	change jsonb NOT NULL,				-- as applied to revision rev - 1
	client_id text,
	client_seq bigint,
	author text NOT NULL,
	committed_at timestamptz NOT NULL DEFAULT now(),
	-- (0.3.0) with a client: the base revision and the SHA-256 of the
	-- canonical change it was submitted with, which a resubmit of
	-- (client_id, client_seq) must repeat; null: not recorded (before 0.3.0)
	client_base_rev bigint,
	client_change_hash bytea,
	PRIMARY KEY (doc_id, rev)
);

-- a resubmitted (client, seq) finds its first submission here
CREATE UNIQUE INDEX change_log_client ON change_log (doc_id, client_id, client_seq)
	WHERE client_id IS NOT NULL;

CREATE TABLE snapshots (
	doc_id text NOT NULL,
	rev bigint NOT NULL,
	content jsonb NOT NULL,				-- the document at revision rev
	PRIMARY KEY (doc_id, rev)
);

-- A snapshot is a whole document, TOAST-compressed on every write: lz4
-- takes a fraction of pglz's time (pglz was a quarter of building a 1 MB
-- snapshot in perf, lz4 under 1%), where the server was built with it.
DO $$
BEGIN
	ALTER TABLE snapshots ALTER COLUMN content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END $$;

-- the data is the users', not the extension's: pg_dump must keep it
SELECT pg_catalog.pg_extension_config_dump('documents', '');
SELECT pg_catalog.pg_extension_config_dump('change_log', '');
SELECT pg_catalog.pg_extension_config_dump('snapshots', '');

REVOKE ALL ON documents, change_log, snapshots FROM PUBLIC;

/*
 * Writers.  SECURITY DEFINER so that nobody needs rights on the tables;
 * EXECUTE is granted per role (docs/documents.md shows the GRANTs).  Each
 * fixes its search_path, except submit, the hot path: it resolves no name
 * through the path (extension/store.c opens collab's tables by schema and
 * name) and sets the path itself around the SQL it may run (a snapshot
 * without the snapshotter, a document measured for its quota), saving the
 * cost of the SET clause on every call.  An author or created_by is taken
 * only from a member of collab_gateway (below); anyone else is recorded as
 * its login, session_user.
 */

CREATE FUNCTION create_document(doc_id text,
								content jsonb DEFAULT '{"ops":[]}',
								created_by text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'collab_create_document'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION create_document(text, jsonb, text) IS
'creates a document at revision 0 from content (inserts only; a final newline is added when missing); created_by is taken from a member of collab_gateway, anyone else is recorded as session_user';

CREATE FUNCTION submit(doc_id text, base_rev bigint, change jsonb,
					   client_id text DEFAULT NULL,
					   client_seq bigint DEFAULT NULL,
					   author text DEFAULT NULL)
RETURNS TABLE (rev bigint, change jsonb)
AS 'MODULE_PATHNAME', 'collab_submit'
LANGUAGE C VOLATILE SECURITY DEFINER ROWS 1;

COMMENT ON FUNCTION submit(text, bigint, jsonb, text, bigint, text) IS
'applies change, made against revision base_rev, as the next revision: transformed against every change committed since; a repeated (client_id, client_seq) with the same base_rev and change returns the first result, with another is an error (CL409); author is taken from a member of collab_gateway, anyone else is recorded as session_user';

-- (0.4.0) many submits in one call: what the notifier sends under load
CREATE FUNCTION submit_batch(doc_ids text[], base_revs bigint[],
							 changes jsonb[], client_ids text[] DEFAULT NULL,
							 client_seqs bigint[] DEFAULT NULL,
							 authors text[] DEFAULT NULL)
RETURNS TABLE (ord integer, rev bigint, change jsonb, sqlstate text,
			   message text)
AS 'MODULE_PATHNAME', 'collab_submit_batch'
LANGUAGE C VOLATILE SECURITY DEFINER;

COMMENT ON FUNCTION submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[]) IS
'many submits in one statement and one transaction (at most 64; element i of each array is submit i): each is collab.submit''s work in a subtransaction of its own, so one that fails (sqlstate and message in its row) leaves the others; one row per submit, ord from 1 in the order given';

CREATE FUNCTION delete_document(doc_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'collab_delete_document'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION delete_document(text) IS
'deletes a document with its history';

CREATE FUNCTION presence(doc_id text, client_id text, state jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'collab_presence'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION presence(text, text, jsonb) IS
'announces a client''s ephemeral presence (cursor, selection, name) to listeners; nothing is stored';

CREATE FUNCTION take_snapshot(doc_id text, at_rev bigint DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'collab_take_snapshot'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION take_snapshot(text, bigint) IS
'stores the document at revision at_rev (default: the head) as a snapshot now, as the snapshotter does after commit; false when there is one already';

-- Readers.

CREATE FUNCTION head(doc_id text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'collab_head'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION head(text) IS 'the latest revision of a document';

CREATE FUNCTION content(doc_id text, at_rev bigint DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'collab_content'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION content(text, bigint) IS
'the document at revision at_rev (default: the head)';

CREATE FUNCTION changes(doc_id text, since_rev bigint,
						until_rev bigint DEFAULT NULL)
RETURNS TABLE (rev bigint, change jsonb, client_id text, client_seq bigint,
			   author text, committed_at timestamptz)
AS 'MODULE_PATHNAME', 'collab_changes'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION changes(text, bigint, bigint) IS
'the change log after since_rev (up to until_rev), in revision order';

REVOKE ALL ON FUNCTION create_document(text, jsonb, text),
	submit(text, bigint, jsonb, text, bigint, text),
	submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[]),
	delete_document(text),
	take_snapshot(text, bigint),
	presence(text, text, jsonb),
	head(text),
	content(text, bigint),
	changes(text, bigint, bigint)
FROM PUBLIC;

/*
 * The contract between the database and the notifier (0.2.0): the NOTIFY
 * channel, the payload format version, the longest document or client id
 * and the largest change sent inline in a payload (longer ones are announced
 * without the body, to be fetched).  core/wire.h is its one definition;
 * with this function a notifier can check that it speaks the same.
 */

CREATE FUNCTION contract()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'collab_contract'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION contract() IS
'what crosses from the database to the notifier: {"channel", "version", "id_bytes_max", "payload_max"}';

/*
 * The gateway (0.3.0): the role trusted to name the authors of changes and
 * documents, with EXECUTE on exactly what collab-notifier calls.  A
 * deployment gives it to the notifier's login alone (docs/documents.md,
 * "Access").  Roles belong to the cluster, not to a database: it is created
 * when the cluster has none (another database's collab may have made it),
 * and DROP EXTENSION leaves it.
 */
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
				   WHERE rolname = 'collab_gateway') THEN
		CREATE ROLE collab_gateway NOLOGIN;
		COMMENT ON ROLE collab_gateway IS
			'collab: names the authors of changes (collab-notifier''s login is a member)';
	END IF;
END $$;

GRANT EXECUTE ON FUNCTION create_document(text, jsonb, text),
	submit(text, bigint, jsonb, text, bigint, text),
	submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[]),
	presence(text, text, jsonb),
	head(text),
	content(text, bigint),
	changes(text, bigint, bigint),
	to_html(jsonb)
TO collab_gateway;
