-- collab.submit_batch on one document: each submit is transformed against
-- the changes after its base, which the batch keeps parsed once it has
-- read them (extension/recent.h) instead of reading them from the log for
-- every submit.  What it gives must be what collab.submit gives, one by
-- one: here the same submits go to 'one' one at a time and to 'many' in
-- batches, and the two documents must end alike, revision by revision.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_worker = off;

SELECT collab.create_document('one', '[{"insert":"abcdef\n"}]');
SELECT collab.create_document('many', '[{"insert":"abcdef\n"}]');

-- the submits, in order: (step, base, change)
CREATE TEMP TABLE steps (step int, base bigint, change jsonb);
INSERT INTO steps VALUES
  -- history before the batch: read from the log by its first submit
  (1, 0, '[{"insert":"A"}]'),
  (2, 0, '[{"retain":6},{"insert":"B"}]'),
  (3, 1, '[{"retain":2},{"delete":2}]'),
  -- the first batch: from revision 1, then later bases, then 1 again
  (4, 1, '[{"retain":3},{"insert":"C","attributes":{"bold":true}}]'),
  (5, 1, '[{"insert":"D"}]'),
  (6, 4, '[{"retain":1},{"retain":2,"attributes":{"italic":true}}]'),
  (7, 5, '[{"retain":4},{"insert":"E"}]'),
  (8, 1, '[{"retain":5},{"delete":1}]'),
  -- one older than anything the batch has read: from the log again
  (9, 0, '[{"retain":1},{"insert":"F"}]'),
  (10, 8, '[{"insert":"G"}]'),
  -- one that fails (it does not apply to its base, revision 0: the
  -- document is 7 long): the rest go on from what the log says
  (11, 0, '[{"retain":100},{"insert":"X"}]'),
  (12, 6, '[{"retain":2},{"insert":"H"}]'),
  (13, 9, '[{"delete":1}]');

-- 'one': collab.submit, one statement each
DO $$
DECLARE s record;
BEGIN
  FOR s IN SELECT * FROM steps ORDER BY step LOOP
    BEGIN
      PERFORM collab.submit('one', s.base, s.change);
    EXCEPTION WHEN invalid_parameter_value THEN
      RAISE NOTICE 'step %: %', s.step, SQLERRM;
    END;
  END LOOP;
END
$$;

-- 'many': the history alone, then two batches
SELECT rev, sqlstate FROM collab.submit_batch(
  (SELECT array_agg('many'::text ORDER BY step) FROM steps WHERE step <= 3),
  (SELECT array_agg(base ORDER BY step) FROM steps WHERE step <= 3),
  (SELECT array_agg(change ORDER BY step) FROM steps WHERE step <= 3));
SELECT ord, rev, sqlstate FROM collab.submit_batch(
  (SELECT array_agg('many'::text ORDER BY step) FROM steps WHERE step > 3),
  (SELECT array_agg(base ORDER BY step) FROM steps WHERE step > 3),
  (SELECT array_agg(change ORDER BY step) FROM steps WHERE step > 3));

-- alike at every revision, and the same text
SELECT count(*) AS revisions,
       count(*) FILTER (WHERE o.change = m.change) AS alike
  FROM collab.changes('one', 0) o JOIN collab.changes('many', 0) m USING (rev);
SELECT collab.to_text(collab.content('many')),
       collab.content('one') = collab.content('many') AS same_content;

-- a batch that goes from one document to another and back (they run in
-- the order of their documents): each document's submits see only its own
-- changes
SELECT collab.create_document('other', '[{"insert":"xyz\n"}]');
SELECT ord, rev, change FROM collab.submit_batch(
  ARRAY['other', 'many', 'other', 'many'], ARRAY[0, 10, 0, 10],
  ARRAY['[{"insert":"1"}]', '[{"insert":"2"}]', '[{"insert":"3"}]',
        '[{"insert":"4"}]']::jsonb[]);
SELECT collab.to_text(collab.content('other')),
       collab.to_text(collab.content('many'));

SET client_min_messages = warning;
DROP EXTENSION collab CASCADE;
