-- A repeated (client_id, client_seq) is its first submission again, or an
-- error (docs/documents.md, invariant 5): the first result comes back only
-- when the base revision and the change, as submitted (before any
-- transform), are the same; otherwise SQLSTATE CL409 (the notifier's
-- duplicate_seq) and nothing is written.  Found: client B reused client A's
-- id and next seq, and A's real edit was then acknowledged but never stored.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_worker = off;

-- what the log and the document are, to show that a refusal wrote nothing
CREATE FUNCTION pg_temp.state(doc text) RETURNS TABLE (head bigint, entries bigint, text text)
LANGUAGE sql AS $$
  SELECT collab.head(doc), (SELECT count(*) FROM collab.changes(doc, 0)),
         collab.to_text(collab.content(doc))
$$;

SELECT collab.create_document('r1', '[{"insert":"abc\n"}]');
-- olga's change comes first, so alice's base is stale and hers is
-- transformed (retain 1 becomes retain 2)
SELECT rev FROM collab.submit('r1', 0, '[{"retain":1},{"insert":"O"}]', 'olga', 1);
SELECT * FROM collab.submit('r1', 0, '[{"retain":1},{"insert":"A"}]', 'alice', 1);
SELECT client_base_rev, encode(client_change_hash, 'hex') = encode(
         sha256(convert_to('{"ops":[{"retain":1},{"insert":"A"}]}', 'UTF8')), 'hex') AS hash_of_canonical
  FROM collab.change_log WHERE doc_id = 'r1' AND client_id = 'alice';
SELECT * FROM pg_temp.state('r1');

-- the same base and change: the first result (the stored, transformed
-- change), nothing written; the change's JSON may be spelt differently,
-- what counts is the change (normalised: ops merged, keys in any order)
SELECT * FROM collab.submit('r1', 0, '[{"retain":1},{"insert":"A"}]', 'alice', 1);
SELECT * FROM collab.submit('r1', 0, '{"ops": [{"retain": 1}, {"insert": "A"}]}', 'alice', 1);
SELECT * FROM collab.submit('r1', 0, '[{"retain":1},{"insert":""},{"insert":"A","attributes":{}}]', 'alice', 1);
SELECT * FROM pg_temp.state('r1');

-- another change under the same pair: refused
SELECT * FROM collab.submit('r1', 0, '[{"retain":1},{"insert":"B"}]', 'alice', 1);
-- the same change against another base: refused
SELECT * FROM collab.submit('r1', 1, '[{"retain":1},{"insert":"A"}]', 'alice', 1);
-- even the change it became (the stored one, against the head it went to)
SELECT * FROM collab.submit('r1', 1, '[{"retain":2},{"insert":"A"}]', 'alice', 1);
-- attributes count: the same text formatted is another change
SELECT * FROM collab.submit('r1', 0, '[{"retain":1},{"insert":"A","attributes":{"bold":true}}]', 'alice', 1);
SELECT * FROM pg_temp.state('r1');
-- the SQLSTATE, for the notifier's one table from SQLSTATE to protocol error
DO $$
BEGIN
  PERFORM collab.submit('r1', 0, '[{"insert":"B"}]', 'alice', 1);
EXCEPTION WHEN SQLSTATE 'CL409' THEN
  RAISE NOTICE 'CL409: %', SQLERRM;
END $$;

-- the pair is per document: the same pair elsewhere is a new submission,
-- and the next seq is free
SELECT collab.create_document('r2');
SELECT rev FROM collab.submit('r2', 0, '[{"insert":"B"}]', 'alice', 1);
SELECT rev FROM collab.submit('r1', 2, '[{"insert":"B"}]', 'alice', 2);
SELECT * FROM pg_temp.state('r1');

-- a refused resubmit in a transaction leaves the transaction to the caller,
-- and a savepoint saves what came before
BEGIN;
SELECT rev FROM collab.submit('r1', 3, '[{"insert":"C"}]', 'alice', 3);
SAVEPOINT s;
SELECT rev FROM collab.submit('r1', 3, '[{"insert":"D"}]', 'alice', 3);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM pg_temp.state('r1');

-- anonymous submits (no client) are never compared: nothing is recorded
SELECT rev FROM collab.submit('r1', 4, '[{"insert":"x"}]');
SELECT rev FROM collab.submit('r1', 4, '[{"insert":"x"}]');
SELECT rev, client_id, client_seq, client_base_rev, client_change_hash IS NOT NULL AS hashed
  FROM collab.change_log WHERE doc_id = 'r1' ORDER BY rev;

SELECT collab.delete_document('r1');
SELECT collab.delete_document('r2');
