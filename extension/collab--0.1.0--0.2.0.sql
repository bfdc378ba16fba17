/* extension/collab--0.1.0--0.2.0.sql — from 0.1.0 to 0.2.0: collab.contract().
 *
 * Exactly the change extension/collab.sql made for 0.2.0; released upgrade
 * scripts are never edited.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION collab UPDATE TO '0.2.0'" to load this file. \quit

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
