-- 8 submits to one document (doc1, every client) in one collab.submit_batch
SELECT count(*) FROM (SELECT head FROM collab.documents WHERE doc_id = 'doc1') d,
  LATERAL collab.submit_batch(array_fill('doc1'::text, ARRAY[8]),
    array_fill(d.head, ARRAY[8]),
    array_fill('{"ops": [{"insert": "x", "attributes": {"bold": true}}]}'::jsonb, ARRAY[8]))
 WHERE sqlstate IS NULL;
