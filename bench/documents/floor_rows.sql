\set d random(1, 100)
WITH d AS (UPDATE floor_docs SET head = head + 1 WHERE doc_id = 'doc' || :d RETURNING doc_id, head)
INSERT INTO floor_log (doc_id, rev, change, author) SELECT doc_id, head, '[{"insert": "x","attributes": {"bold": true}}]', current_user FROM d;
