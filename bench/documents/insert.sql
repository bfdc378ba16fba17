\set d random(1, 100)
INSERT INTO bench_rows (doc_id, payload) VALUES ('doc' || :d, 'ops retain 12 insert x attributes bold true padding to about one hundred bytes in total here ok');
