SELECT rev FROM collab.submit('big', (SELECT head FROM collab.documents WHERE doc_id = 'big'), '[{"retain": 100},{"insert": "x","attributes": {"bold": true}}]');
