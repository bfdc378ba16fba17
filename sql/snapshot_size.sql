-- Size-aware snapshots (0.4.0): a document is due a snapshot when the
-- changes since its last one (JSON bytes, at least 16 kB) reach
-- collab.snapshot_ratio of its size (its length), or number
-- collab.snapshot_interval.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
-- snapshots built by the submits themselves: there as soon as they commit
SET collab.snapshot_worker = off;
SET collab.snapshot_interval = 1000;
SHOW collab.snapshot_ratio;

-- every revision's content() equals the document replayed one change at a
-- time from revision 0 (apply, never compose): a rebuild without snapshots
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

-- n changes to doc at random places: an insert of a word, a word made
-- italic or bold, a word deleted
CREATE FUNCTION pg_temp.scatter(doc text, n int, word text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  len bigint := collab.length(collab.content(doc));
  head bigint := collab.head(doc);
  at bigint;
BEGIN
  FOR i IN 1 .. n LOOP
    at := floor(random() * (len - 12))::bigint;
    CASE i % 4
    WHEN 1 THEN
      PERFORM collab.submit(doc, head, jsonb_build_array(
        jsonb_build_object('retain', at + 1), jsonb_build_object('insert', word)));
      len := len + length(word);
    WHEN 2 THEN
      PERFORM collab.submit(doc, head, jsonb_build_array(
        jsonb_build_object('retain', at + 1),
        jsonb_build_object('retain', 5, 'attributes', '{"italic": true}'::jsonb)));
    WHEN 3 THEN
      PERFORM collab.submit(doc, head, jsonb_build_array(
        jsonb_build_object('retain', at + 1),
        jsonb_build_object('retain', 3, 'attributes', '{"bold": true, "italic": null}'::jsonb)));
    ELSE
      PERFORM collab.submit(doc, head, jsonb_build_array(
        jsonb_build_object('retain', at + 1), jsonb_build_object('delete', 2)));
      len := len - 2;
    END CASE;
    head := head + 1;
  END LOOP;
  RETURN head;
END $$;

CREATE FUNCTION pg_temp.snapshots(doc text) RETURNS bigint[]
LANGUAGE sql AS $$
  SELECT array(SELECT rev FROM collab.snapshots WHERE doc_id = doc ORDER BY rev)
$$;

-- A new document counts from its snapshot at revision 0.
SELECT collab.create_document('big', jsonb_build_array(jsonb_build_object(
  'insert', repeat('Lorem ipsum dolor sit amet, consectetur adipiscing. ', 800))));
SELECT head, length, snapshot_rev, bytes_since_snapshot
  FROM collab.documents WHERE doc_id = 'big';

-- A 40 kB document, 800 small changes (about 50 bytes each) at random
-- places: a snapshot when they add up to half of it (~20 kB), not every
-- 100 revisions as before 0.4.0, nor only at the interval (1000).
SELECT setseed(0.25);
SELECT pg_temp.scatter('big', 800, 'words, ');
SELECT pg_temp.snapshots('big');
SELECT head, snapshot_rev, bytes_since_snapshot > 0 AS counting
  FROM collab.documents WHERE doc_id = 'big';
-- each snapshot came after changes of about half the document (measured
-- here as jsonb text, which has spaces: a little more than the JSON)
SELECT s.rev, sum(length(c.change::text)) >= 0.5 * collab.length(collab.content('big', s.rev)) AS half,
       sum(length(c.change::text)) < 0.6 * collab.length(collab.content('big', s.rev)) AS not_more
  FROM collab.snapshots s,
  LATERAL (SELECT max(rev) AS rev FROM collab.snapshots WHERE doc_id = 'big' AND rev < s.rev) p,
  LATERAL collab.changes('big', p.rev, s.rev) c
 WHERE s.doc_id = 'big' AND s.rev > 0
 GROUP BY s.rev, p.rev ORDER BY s.rev;
-- every revision reads as before: from the snapshots and the changes
-- composed as a tree, the same as replayed
SELECT pg_temp.history_ok('big');

-- A small document with large changes (6 kB each): a snapshot every few
-- revisions, as soon as 16 kB of changes are half of it.
SELECT collab.create_document('small');
SELECT count(*) FROM (SELECT collab.submit('small', r - 1,
  jsonb_build_array(jsonb_build_object('insert', repeat(chr(96 + r), 6000))))
  FROM generate_series(1, 12) r) s;
SELECT pg_temp.snapshots('small');
SELECT head, length, snapshot_rev, bytes_since_snapshot
  FROM collab.documents WHERE doc_id = 'small';
SELECT pg_temp.history_ok('small');

-- The count bound still holds: collab.snapshot_interval revisions at most.
SET collab.snapshot_interval = 300;
SELECT pg_temp.scatter('big', 700, 'more ');
SELECT pg_temp.snapshots('big');
SELECT head - snapshot_rev < 300 AS within_interval FROM collab.documents WHERE doc_id = 'big';
SELECT pg_temp.history_ok('big');
SET collab.snapshot_interval = 1000;

-- collab.snapshot_ratio = 0: by the count alone, every interval revisions
-- from the last snapshot (the rule before 0.4.0)
SET collab.snapshot_ratio = 0;
SET collab.snapshot_interval = 4;
SELECT collab.create_document('counted');
SELECT count(*) FROM (SELECT collab.submit('counted', r - 1,
  jsonb_build_array(jsonb_build_object('insert', repeat('z', 20000))))
  FROM generate_series(1, 9) r) s;
SELECT pg_temp.snapshots('counted');
RESET collab.snapshot_ratio;
SET collab.snapshot_interval = 1000;
SHOW collab.snapshot_ratio;
SET collab.snapshot_ratio = -1;
SET collab.snapshot_ratio = 'half';

-- With the snapshotter: the request goes at commit, the snapshot follows.
RESET collab.snapshot_worker;
CREATE FUNCTION pg_temp.snapshots_at(doc text, revs bigint[]) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
  WHILE NOT pg_temp.snapshots(doc) @> revs AND clock_timestamp() < deadline LOOP
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN pg_temp.snapshots(doc) @> revs;
END $$;
SELECT collab.create_document('worked');
SELECT count(*) FROM (SELECT collab.submit('worked', r - 1,
  jsonb_build_array(jsonb_build_object('insert', repeat('w', 9000))))
  FROM generate_series(1, 4) r) s;
SELECT snapshot_rev FROM collab.documents WHERE doc_id = 'worked';
SELECT pg_temp.snapshots_at('worked', '{0,2,4}');
SELECT pg_temp.history_ok('worked');

-- A request lost (here: none made, the ratio off while submitting): a
-- reader that finds changes of twice the bound past the newest snapshot
-- asks for one at what it read; below that it asks for none.
SET collab.snapshot_ratio = 0;
SELECT collab.create_document('lost');
SELECT count(*) FROM (SELECT collab.submit('lost', r - 1,
  jsonb_build_array(jsonb_build_object('insert', repeat('l', 9000))))
  FROM generate_series(1, 4) r) s;
RESET collab.snapshot_ratio;
SELECT collab.length(collab.content('lost', 2));
SELECT pg_sleep(0.5);
SELECT pg_temp.snapshots('lost');
SELECT collab.length(collab.content('lost', 4));
SELECT pg_temp.snapshots_at('lost', '{0,4}');
SELECT pg_temp.history_ok('lost');

SELECT collab.delete_document(doc_id) FROM collab.documents
 WHERE doc_id IN ('big', 'small', 'counted', 'worked', 'lost');
