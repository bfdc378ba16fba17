/* extension/collab--0.2.0--0.3.0.sql — from 0.2.0 to 0.3.0: a repeated
 * (client, seq) checked against its first submission, documents' size
 * bounds for collab.max_document_bytes, create_document's created_by, and
 * the collab_gateway role.
 *
 * Exactly the change extension/collab.sql made for 0.3.0; released upgrade
 * scripts are never edited.  The tables are not rewritten: the new columns
 * are null in existing rows, which means "not known" (a repeat of an old
 * (client, seq) is taken as before; a document's size is measured at its
 * next submit).
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION collab UPDATE TO '0.3.0'" to load this file. \quit

-- upper bounds on the size of the head document's JSON and of its largest
-- attributes object, for collab.max_document_bytes (extension/quota.c);
-- null: not known yet
ALTER TABLE documents
	ADD COLUMN json_bytes bigint,
	ADD COLUMN attributes_bytes bigint;

-- with a client: the base revision and the SHA-256 of the canonical change
-- it was submitted with, which a resubmit of (client_id, client_seq) must
-- repeat; null: not recorded (before 0.3.0)
ALTER TABLE change_log
	ADD COLUMN client_base_rev bigint,
	ADD COLUMN client_change_hash bytea;

-- created_by, taken from a member of collab_gateway.  A new signature, so a
-- new function: EXECUTE granted on the old one to other roles must be
-- granted again (docs/documents.md, "Upgrades").
DROP FUNCTION create_document(text, jsonb);

CREATE FUNCTION create_document(doc_id text,
								content jsonb DEFAULT '{"ops":[]}',
								created_by text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'collab_create_document'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION create_document(text, jsonb, text) IS
'creates a document at revision 0 from content (inserts only; a final newline is added when missing); created_by is taken from a member of collab_gateway, anyone else is recorded as session_user';

REVOKE ALL ON FUNCTION create_document(text, jsonb, text) FROM PUBLIC;

COMMENT ON FUNCTION submit(text, bigint, jsonb, text, bigint, text) IS
'applies change, made against revision base_rev, as the next revision: transformed against every change committed since; a repeated (client_id, client_seq) with the same base_rev and change returns the first result, with another is an error (CL409); author is taken from a member of collab_gateway, anyone else is recorded as session_user';

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
	presence(text, text, jsonb),
	head(text),
	content(text, bigint),
	changes(text, bigint, bigint),
	to_html(jsonb)
TO collab_gateway;
