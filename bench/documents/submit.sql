\set d random(1, 100)
SELECT rev FROM collab.submit('doc' || :d, (SELECT head FROM collab.documents WHERE doc_id = 'doc' || :d), '[{"insert": "x","attributes": {"bold": true}}]');
