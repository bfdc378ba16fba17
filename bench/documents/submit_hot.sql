-- one submit to one document (doc1, every client)
SELECT rev FROM collab.submit('doc1', (SELECT head FROM collab.documents WHERE doc_id = 'doc1'), '[{"insert": "x","attributes": {"bold": true}}]');
