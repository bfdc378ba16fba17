-- Snapshots taken after commit by the snapshotter (collab.snapshot_worker,
-- the default with collab in shared_preload_libraries).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_interval = 3;

-- Waits (up to 60 s) until doc has a snapshot at each of revs; true when
-- it has.
CREATE FUNCTION pg_temp.snapshots_at(doc text, revs bigint[]) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '60 seconds';
  have bigint[];
BEGIN
  LOOP
    have := array(SELECT rev FROM collab.snapshots WHERE doc_id = doc ORDER BY rev);
    EXIT WHEN have @> revs OR clock_timestamp() > deadline;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN have @> revs;
END $$;

-- every replayed revision equals content(doc, rev)
CREATE FUNCTION pg_temp.history_ok(doc text) RETURNS boolean
LANGUAGE sql AS $$
  WITH RECURSIVE replay(rev, content) AS (
    SELECT 0::bigint, collab.content(doc, 0)
    UNION ALL
    SELECT c.rev, collab.apply(r.content, c.change)
      FROM replay r JOIN collab.changes(doc, 0) c ON c.rev = r.rev + 1)
  SELECT bool_and(collab.content(doc, rev) = content) AND count(*) = collab.head(doc) + 1
    FROM replay
$$;

SELECT collab.create_document('s1');
SELECT s.rev FROM generate_series(1, 7) r,
  LATERAL collab.submit('s1', r - 1, jsonb_build_array(jsonb_build_object('insert', r::text || ' '))) s;
-- the submits did not take them; the snapshotter does, after each commit
SELECT pg_temp.snapshots_at('s1', '{0,3,6}');
SELECT array(SELECT rev FROM collab.snapshots WHERE doc_id = 's1' ORDER BY rev);
SELECT collab.content('s1');
SELECT pg_temp.history_ok('s1');

-- a rolled-back submit asks for nothing: revision 9 is taken later by
-- other content, and its snapshot is that content's
BEGIN;
SELECT rev FROM collab.submit('s1', 7, '[{"insert":"gone "}]');
SELECT rev FROM collab.submit('s1', 8, '[{"insert":"gone "}]');
ROLLBACK;
SELECT rev FROM collab.submit('s1', 7, '[{"insert":"kept "}]');
SELECT rev FROM collab.submit('s1', 8, '[{"insert":"kept "}]');
SELECT pg_temp.snapshots_at('s1', '{0,3,6,9}');
SELECT content FROM collab.snapshots WHERE doc_id = 's1' AND rev = 9;
SELECT pg_temp.history_ok('s1');

-- a savepoint rolled back takes its request with it; the snapshot at 12 is
-- of what committed
BEGIN;
SELECT rev FROM collab.submit('s1', 9, '[{"insert":"a "}]');
SELECT rev FROM collab.submit('s1', 10, '[{"insert":"b "}]');
SAVEPOINT sp;
SELECT rev FROM collab.submit('s1', 11, '[{"insert":"gone "}]');
ROLLBACK TO sp;
SELECT rev FROM collab.submit('s1', 11, '[{"insert":"c "}]');
COMMIT;
SELECT pg_temp.snapshots_at('s1', '{0,3,6,9,12}');
SELECT collab.content('s1', 12) = (SELECT content FROM collab.snapshots WHERE doc_id = 's1' AND rev = 12);
SELECT pg_temp.history_ok('s1');

-- lost requests: submits that took no snapshot (the worker off) leave a
-- long run of changes; reading the head asks for one there
SET collab.snapshot_interval = 1000;
SELECT collab.create_document('s2');
SELECT count(*) FROM (SELECT collab.submit('s2', r - 1, '[{"insert":"x"}]') FROM generate_series(1, 10) r) s;
SET collab.snapshot_interval = 3;
SELECT array(SELECT rev FROM collab.snapshots WHERE doc_id = 's2' ORDER BY rev);
SELECT collab.content('s2');
SELECT pg_temp.snapshots_at('s2', '{0,10}');
SELECT pg_temp.history_ok('s2');

-- deleted: its snapshots go with it, whenever they were taken
SELECT collab.delete_document('s1');
SELECT count(*) FROM collab.snapshots WHERE doc_id = 's1';
SELECT collab.delete_document('s2');

-- collab.take_snapshot: the snapshotter's work, now
SELECT collab.create_document('s3');
SELECT count(*) FROM (SELECT collab.submit('s3', r - 1, '[{"insert":"t"}]') FROM generate_series(1, 2) r) s;
SELECT collab.take_snapshot('s3', 1), collab.take_snapshot('s3'), collab.take_snapshot('s3');
SELECT array(SELECT rev FROM collab.snapshots WHERE doc_id = 's3' ORDER BY rev);
SELECT collab.content('s3', 1) = (SELECT content FROM collab.snapshots WHERE doc_id = 's3' AND rev = 1);
SELECT collab.take_snapshot('s3', 3);
SELECT collab.take_snapshot('s3', -1);
SELECT collab.take_snapshot('nope');
SELECT collab.take_snapshot(NULL);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT collab.take_snapshot('s3');
ROLLBACK;
CREATE ROLE collab_test_nobody;
SET ROLE collab_test_nobody;
SELECT collab.take_snapshot('s3');
RESET ROLE;
DROP ROLE collab_test_nobody;
SELECT collab.delete_document('s3');
