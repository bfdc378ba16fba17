-- Quotas (docs/documents.md, "Quotas"): collab.max_change_bytes and
-- collab.max_document_bytes, both of collab's JSON (normalised, compact),
-- checked before anything is written: a refused change leaves the head,
-- the log and every read as they were.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_worker = off;

SHOW collab.max_change_bytes;
SHOW collab.max_document_bytes;
-- superusers' settings: a role that is not one cannot raise its own
CREATE ROLE regress_collab_quota;
SET ROLE regress_collab_quota;
SET collab.max_change_bytes = '2MB';
SET collab.max_document_bytes = '1GB';
RESET ROLE;
DROP ROLE regress_collab_quota;

CREATE FUNCTION pg_temp.state(doc text) RETURNS TABLE (head bigint, entries bigint, length int, json_bytes bigint)
LANGUAGE sql AS $$
  SELECT collab.head(doc), (SELECT count(*) FROM collab.changes(doc, 0)),
         collab.length(collab.content(doc)),
         (SELECT json_bytes FROM collab.documents WHERE doc_id = doc)
$$;

--
-- changes: {"ops":[{"insert":"..."}]} is 23 bytes and the text
--
SELECT collab.create_document('q1');
-- the default, 1 MB: one byte over is refused
SELECT rev FROM collab.submit('q1', 0, jsonb_build_array(jsonb_build_object('insert', repeat('x', 1048576 - 23 + 1))));
SELECT rev FROM collab.submit('q1', 0, jsonb_build_array(jsonb_build_object('insert', repeat('x', 1048576 - 23))));
SELECT * FROM pg_temp.state('q1');
SET collab.max_change_bytes = 100;
SELECT rev FROM collab.submit('q1', 1, jsonb_build_array(jsonb_build_object('insert', repeat('y', 78))));
SELECT rev FROM collab.submit('q1', 1, jsonb_build_array(jsonb_build_object('insert', repeat('y', 77))));
-- the JSON counts, escapes too (a quote is two bytes), spaces do not, and
-- ops are merged first
SELECT rev FROM collab.submit('q1', 2, jsonb_build_array(jsonb_build_object('insert', repeat('"', 39))));
SELECT rev FROM collab.submit('q1', 2,
  '[{"insert":"aaaaaaaaaaaaaaaaaaaa"}, {"insert":"aaaaaaaaaaaaaaaaaaaa"}, {"insert":"aaaaaaaaaaaaaaaaaaaa"}]');
-- with a client, a refused change records nothing: the seq stays free
SELECT rev FROM collab.submit('q1', 3, jsonb_build_array(jsonb_build_object('insert', repeat('z', 90))), 'c1', 1);
SELECT rev FROM collab.submit('q1', 3, '[{"insert":"z"}]', 'c1', 1);
SELECT * FROM pg_temp.state('q1');
RESET collab.max_change_bytes;
SELECT collab.delete_document('q1');

--
-- documents: the content's JSON, {"ops":[{"insert":"...\n"}]} being 25
-- bytes and the text
--
SET collab.max_document_bytes = 200;
-- create: over is refused, at the limit is taken
SELECT collab.create_document('q2', jsonb_build_array(jsonb_build_object('insert', repeat('a', 176))));
SELECT collab.content('q2');
SELECT collab.create_document('q2', jsonb_build_array(jsonb_build_object('insert', repeat('a', 99))));
SELECT * FROM pg_temp.state('q2');
-- a submit that would take it over: refused, nothing written, reads fine
SELECT rev FROM collab.submit('q2', 0, jsonb_build_array(jsonb_build_object('insert', repeat('b', 77))));
SELECT rev FROM collab.submit('q2', 0, jsonb_build_array(jsonb_build_object('insert', repeat('b', 76))), 'c2', 1);
SELECT * FROM pg_temp.state('q2');
SELECT rev FROM collab.submit('q2', 1, '[{"insert":"c"}]', 'c2', 2);
SELECT * FROM pg_temp.state('q2');
SELECT collab.to_text(collab.content('q2')) = repeat('b', 76) || repeat('a', 99) || E'\n' AS content_ok;
-- the bound says over, the document is not: bold on 100 characters might
-- have split each into its own op (over 2 KB), so the document is
-- measured, the change taken and the row's bound exact again
SET collab.max_document_bytes = 300;
SELECT rev FROM collab.submit('q2', 1, '[{"retain":100,"attributes":{"bold":true}}]', 'c2', 3);
SELECT * FROM pg_temp.state('q2');
SELECT attributes_bytes FROM collab.documents WHERE doc_id = 'q2';
-- an unknown bound (a row from before 0.3.0) is measured too
UPDATE collab.documents SET json_bytes = NULL, attributes_bytes = NULL WHERE doc_id = 'q2';
SELECT rev FROM collab.submit('q2', 2, '[{"insert":"d"}]');
SELECT * FROM pg_temp.state('q2');
SELECT attributes_bytes FROM collab.documents WHERE doc_id = 'q2';
-- a document over a lowered limit still takes what does not make it
-- larger, so it can be cut down, and nothing that does
SET collab.max_document_bytes = 100;
SELECT rev FROM collab.submit('q2', 3, '[{"insert":"e"}]');
SELECT rev FROM collab.submit('q2', 3, '[{"delete":10}]');
-- (unbolding part of the bold text splits its op: larger)
SELECT rev FROM collab.submit('q2', 4, '[{"retain":10,"attributes":{"bold":null}}]');
SELECT rev FROM collab.submit('q2', 4, '[{"retain":91,"attributes":{"bold":null}}]');
SELECT rev FROM collab.submit('q2', 5, '[{"delete":1},{"insert":"E"}]');
SELECT * FROM pg_temp.state('q2');
RESET collab.max_document_bytes;
SELECT collab.delete_document('q2');

-- the default, 8 MB, on a document built up to it by submits of 1 MB
-- changes: the eighth would cross it
SELECT collab.create_document('q3');
SELECT s.rev FROM generate_series(1, 7) r,
  LATERAL collab.submit('q3', r - 1, jsonb_build_array(jsonb_build_object('insert', repeat(chr(96 + r), 1048576 - 23)))) s;
SELECT rev FROM collab.submit('q3', 7, jsonb_build_array(jsonb_build_object('insert', repeat('h', 1048576 - 23))));
SELECT head, entries, length FROM pg_temp.state('q3');
SELECT rev FROM collab.submit('q3', 7, jsonb_build_array(jsonb_build_object('insert', repeat('h', 1048576 - 23 - 200))));
SELECT head, entries, length FROM pg_temp.state('q3');
SELECT collab.length(collab.content('q3', r)) FROM generate_series(6, 8) r;
SELECT collab.delete_document('q3');
