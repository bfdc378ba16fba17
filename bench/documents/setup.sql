-- bench/documents: 100 small documents, a 1 KB and a 1 MB one
CREATE EXTENSION IF NOT EXISTS collab;
-- from scratch when run again on the same cluster
SELECT collab.delete_document(doc_id) FROM collab.documents
WHERE doc_id ~ '^(doc[0-9]+|small|big)$';
DROP TABLE IF EXISTS bench_rows;
CREATE TABLE bench_rows (id bigserial PRIMARY KEY, doc_id text NOT NULL, payload text NOT NULL);
SELECT collab.create_document('doc' || i) FROM generate_series(1, 100) i;
-- realistic content: paragraphs with some formatting
CREATE OR REPLACE FUNCTION pg_temp.paragraphs(n int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('ops', jsonb_agg(op ORDER BY i, k))
  FROM generate_series(1, n) i,
  LATERAL (VALUES
    (1, jsonb_build_object('insert', 'Lorem ipsum dolor sit amet, consectetur ')),
    (2, jsonb_build_object('insert', 'adipiscing', 'attributes', jsonb_build_object('bold', true))),
    (3, jsonb_build_object('insert', ' elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.' || chr(10)))
  ) AS ops(k, op)
$$;
SELECT collab.create_document('small', pg_temp.paragraphs(8));    -- ~1 KB
SELECT collab.create_document('big', pg_temp.paragraphs(8200));   -- ~1 MB
SELECT collab.length(collab.content('small')) AS small_units, collab.length(collab.content('big')) AS big_units;
