/* extension/collab--0.3.0--0.4.0.sql — from 0.3.0 to 0.4.0: submit_batch,
 * many submits in one statement and one transaction, and size-aware
 * snapshots (docs/speed.md).
 *
 * Exactly the change extension/collab.sql made for 0.4.0; released upgrade
 * scripts are never edited.  The tables are not rewritten: the new columns
 * start null (not known), and each document counts from the snapshot its
 * next submit takes.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION collab UPDATE TO '0.4.0'" to load this file. \quit

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

REVOKE ALL ON FUNCTION
	submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[])
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
	submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[])
TO collab_gateway;

ALTER TABLE documents
	ADD COLUMN snapshot_rev bigint,
	ADD COLUMN bytes_since_snapshot bigint;
