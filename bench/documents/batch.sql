-- 8 submits to random documents of the 100 in one collab.submit_batch (the
-- base revision of each: its head, read in the same statement)
SELECT count(*) FROM (
  SELECT array_agg(d.doc_id) AS ids, array_agg(d.head) AS revs
    FROM (SELECT 'doc' || (1 + floor(random() * 100))::int AS doc_id
            FROM generate_series(1, 8)) r
    JOIN collab.documents d USING (doc_id)) b,
  LATERAL collab.submit_batch(b.ids, b.revs,
    array_fill('{"ops": [{"insert": "x", "attributes": {"bold": true}}]}'::jsonb, ARRAY[8]))
 WHERE sqlstate IS NULL;
