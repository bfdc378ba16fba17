\set d random(1, 100)
INSERT INTO floor_log_only (doc_id, rev, change, author) SELECT 'doc' || :d, coalesce((SELECT rev FROM floor_log_only WHERE doc_id = 'doc' || :d ORDER BY rev DESC LIMIT 1), 0) + 1, '[{"insert": "x","attributes": {"bold": true}}]', current_user ON CONFLICT DO NOTHING;
