SELECT rev FROM collab.submit('small', (SELECT head FROM collab.documents WHERE doc_id = 'small'), '[{"retain": 100},{"insert": "x","attributes": {"bold": true}}]');
