-- Documents: create, submit, read, history, delete, and every error.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_interval = 3;
-- snapshots in the submitting transaction (sql/snapshots.sql: after commit)
SET collab.snapshot_worker = off;

-- create: a final newline is added when missing
SELECT collab.create_document('d1');
SELECT collab.content('d1');
SELECT collab.create_document('d2', '{"ops":[{"insert":"Hello"},{"insert":" world\n","attributes":{"bold":true}}]}');
SELECT collab.head('d2'), collab.content('d2');
SELECT collab.create_document('d1');
SELECT collab.create_document('d3', '[{"retain":1}]');
SELECT collab.create_document('d3', '[{"insert":"x"},{"delete":1}]');
SELECT collab.create_document('d3', '[{"bogus":1}]');
SELECT collab.create_document(NULL);
SELECT collab.create_document('d3', NULL);
SELECT collab.create_document('');
SELECT collab.create_document(repeat('x', 201));

-- submit: revisions 1, 2, 3, ...
SELECT * FROM collab.submit('d1', 0, '[{"insert":"Hello"}]');
SELECT * FROM collab.submit('d1', 1, '[{"retain":5},{"insert":" world"}]', 'alice', 1);
-- a stale base: transformed against revision 2 (which wins the tie at 5)
SELECT * FROM collab.submit('d1', 1, '[{"retain":5},{"insert":"!"}]', 'bob', 1);
SELECT * FROM collab.submit('d1', 0, '[{"insert":"> "}]', 'carol', 1);
SELECT collab.content('d1');
-- a resubmit returns the first result and writes nothing; the same pair
-- with another base or change is refused (sql/resubmit.sql)
SELECT * FROM collab.submit('d1', 1, '[{"retain":5},{"insert":" world"}]', 'alice', 1);
SELECT * FROM collab.submit('d1', 0, '[{"insert":"anything"}]', 'alice', 1);
SELECT collab.head('d1');
-- formatting, emoji, embeds
SELECT * FROM collab.submit('d1', 4, '[{"retain":2},{"retain":5,"attributes":{"bold":true}},{"insert":"😀"},{"insert":{"image":"https://x.test/a.png"}}]', 'alice', 2);
SELECT collab.content('d1');
SELECT * FROM collab.submit('d1', 5, '[{"retain":7},{"delete":2}]');

-- errors change nothing
SELECT * FROM collab.submit('nope', 0, '[]');
SELECT * FROM collab.submit('d1', 99, '[{"insert":"x"}]');
SELECT * FROM collab.submit('d1', -1, '[{"insert":"x"}]');
SELECT * FROM collab.submit('d1', 6, '[{"retain":99},{"insert":"x"}]');
-- the head is 16 long here and ends with its newline at 15
SELECT collab.length(collab.content('d1'));
SELECT * FROM collab.submit('d1', 6, '[{"retain":16},{"delete":1}]');
SELECT * FROM collab.submit('d1', 6, '[{"retain":15},{"delete":1}]');
SELECT * FROM collab.submit('d1', 6, '[{"retain":16},{"insert":"after"}]');
SELECT * FROM collab.submit('d1', 6, '[{"retain":15},{"insert":"before the newline"}]');
SELECT * FROM collab.submit('d1', 6, '[{"retain":15},{"delete":1}]');
-- boundaries inside a surrogate pair are refused, wherever the pair is
SELECT collab.create_document('e1', '[{"insert":"a😀b\n"}]');
SELECT * FROM collab.submit('e1', 0, '[{"retain":2},{"insert":"x"}]');
SELECT * FROM collab.submit('e1', 0, '[{"retain":1},{"delete":1}]');
SELECT * FROM collab.submit('e1', 0, '[{"retain":2},{"retain":1,"attributes":{"bold":true}}]');
SELECT * FROM collab.submit('e1', 0, '[{"retain":1},{"insert":"😎"}]');
SELECT * FROM collab.submit('e1', 1, '[{"retain":4},{"insert":"y"}]');
SELECT * FROM collab.submit('e1', 1, '[{"retain":3},{"insert":"y"}]');
SELECT collab.content('e1');
SELECT * FROM collab.submit('d1', 7, '{"ops":[{"insert":"x","retain":1}]}');
SELECT * FROM collab.submit('d1', 6, '[{"insert":"x"}]', 'alice');
SELECT * FROM collab.submit('d1', 6, '[{"insert":"x"}]', NULL, 1);
SELECT * FROM collab.submit('d1', NULL, '[{"insert":"x"}]');
SELECT * FROM collab.submit('d1', 6, NULL);
SELECT * FROM collab.submit('d1', 6, '[{"insert":"x"}]', NULL, NULL, '');
SELECT collab.head('d1'), collab.content('d1');

-- history: every revision can be rebuilt, snapshots or not
SELECT rev, change, client_id, client_seq, author = current_user AS by_me
  FROM collab.changes('d1', 0);
SELECT rev, change FROM collab.changes('d1', 2, 4);
SELECT r, collab.content('d1', r) FROM generate_series(0, 6) r;
SELECT rev FROM collab.snapshots WHERE doc_id = 'd1' ORDER BY rev;
SELECT count(*) FROM collab.changes('d1', 6);
SELECT rev, change, author, committed_at <= now() AS committed_before_now FROM collab.changes('d1', 6);
SELECT * FROM collab.changes('d1', -1);
SELECT * FROM collab.changes('d1', 3, 2);
SELECT collab.content('d1', 7);
SELECT collab.content('nope');
SELECT collab.head('nope');
-- replaying the log from 0 gives the head
WITH RECURSIVE replay(rev, doc) AS (
	SELECT 0::bigint, collab.content('d1', 0)
	UNION ALL
	SELECT c.rev, collab.apply(r.doc, c.change)
	  FROM replay r JOIN collab.changes('d1', 0) c ON c.rev = r.rev + 1
)
SELECT doc = collab.content('d1') AS replay_matches
  FROM replay ORDER BY rev DESC LIMIT 1;
-- an explicit author
SELECT rev FROM collab.submit('d1', 6, '[{"insert":"by bot "}]', NULL, NULL, 'bot');
SELECT author FROM collab.changes('d1', 6);

-- a read-only transaction cannot submit
BEGIN READ ONLY;
SELECT rev FROM collab.submit('d1', 7, '[{"insert":"ro"}]');
ROLLBACK;
-- a rolled-back submit leaves no trace and no gap
BEGIN;
SELECT rev FROM collab.submit('d1', 7, '[{"insert":"gone"}]');
ROLLBACK;
SELECT rev FROM collab.submit('d1', 7, '[{"insert":"kept "}]');
BEGIN;
SAVEPOINT s;
SELECT rev FROM collab.submit('d1', 8, '[{"insert":"undone "}]');
ROLLBACK TO SAVEPOINT s;
SELECT rev FROM collab.submit('d1', 8, '[{"insert":"redone "}]');
COMMIT;
SELECT collab.head('d1'), collab.to_text(collab.content('d1'));
SELECT collab.to_html(collab.content('d1'));

-- presence is announced, never stored
SELECT collab.presence('d1', 'alice', '{"index":3,"length":0,"name":"Alice"}');
SELECT collab.presence('nope', 'alice', '{}');
SELECT collab.presence('d1', 'alice', '[1]');
SELECT collab.presence('d1', 'alice', jsonb_build_object('name', repeat('x', 8000)));

-- delete
SELECT collab.delete_document('d2');
SELECT collab.content('d2');
SELECT collab.delete_document('d2');
SELECT count(*) FROM collab.change_log WHERE doc_id = 'd2';
SELECT collab.create_document('d2', '[{"insert":"again\n"}]');
SELECT collab.content('d2');

-- access: readers and writers are granted separately; tables are closed
CREATE ROLE collab_test_reader;
CREATE ROLE collab_test_writer;
CREATE ROLE collab_test_nobody;
GRANT EXECUTE ON FUNCTION collab.content(text, bigint), collab.head(text),
	collab.changes(text, bigint, bigint) TO collab_test_reader;
GRANT EXECUTE ON FUNCTION collab.submit(text, bigint, jsonb, text, bigint, text),
	collab.create_document(text, jsonb, text) TO collab_test_writer;
SET ROLE collab_test_reader;
SELECT collab.head('d1');
SELECT * FROM collab.submit('d1', 9, '[{"insert":"x"}]');
SELECT count(*) FROM collab.change_log;
RESET ROLE;
SET ROLE collab_test_writer;
SELECT rev FROM collab.submit('d1', 9, '[{"insert":"w "}]');
SELECT collab.content('d1');
INSERT INTO collab.change_log VALUES ('d1', 99, '[]', NULL, NULL, 'me');
UPDATE collab.documents SET head = 0;
RESET ROLE;
SET ROLE collab_test_nobody;
SELECT collab.compose('[{"insert":"a"}]', '[{"insert":"b"}]');
SELECT collab.head('d1');
RESET ROLE;
-- recorded as the login, session_user: SET ROLE does not change who wrote
-- (sql/access.sql)
SELECT author = session_user AS by_the_login FROM collab.changes('d1', 9);
DROP OWNED BY collab_test_reader, collab_test_writer, collab_test_nobody;
DROP ROLE collab_test_reader, collab_test_writer, collab_test_nobody;

-- submit runs without a SET search_path clause: a writer's own path cannot
-- reach the SQL it runs as the extension's owner (here a snapshot, stored
-- by the submit itself with collab.snapshot_worker off)
CREATE ROLE collab_test_writer;
GRANT EXECUTE ON FUNCTION collab.submit(text, bigint, jsonb, text, bigint, text)
	TO collab_test_writer;
SELECT collab.create_document('sp');
CREATE SCHEMA collab_test_evil AUTHORIZATION collab_test_writer;
SET ROLE collab_test_writer;
CREATE FUNCTION collab_test_evil.texteq(text, text) RETURNS boolean
	LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked as %', current_user; END $$;
CREATE OPERATOR collab_test_evil.= (LEFTARG = text, RIGHTARG = text,
	FUNCTION = collab_test_evil.texteq);
SET search_path = collab_test_evil, pg_catalog;
SELECT 'x'::text = 'x'::text;
SELECT s.rev FROM generate_series(1, 3) r,
	LATERAL collab.submit('sp', r - 1, '[{"insert":"s"}]') s;
RESET search_path;
RESET ROLE;
SELECT rev FROM collab.snapshots WHERE doc_id = 'sp' ORDER BY rev;
SELECT collab.content('sp');
DROP SCHEMA collab_test_evil CASCADE;
DROP OWNED BY collab_test_writer;
DROP ROLE collab_test_writer;
SELECT collab.delete_document('sp');

-- submit remembers where collab's tables are; it finds them again after
-- the extension is re-created, an index rebuilt or one added, and whether
-- it is called in FROM or in the select list
SELECT collab.create_document('re');
SELECT rev FROM collab.submit('re', 0, '[{"insert":"a"}]');
DROP EXTENSION collab;
CREATE EXTENSION collab;
SELECT collab.create_document('re');
SELECT rev FROM collab.submit('re', 0, '[{"insert":"b"}]');
REINDEX TABLE CONCURRENTLY collab.change_log;
SELECT rev FROM collab.submit('re', 1, '[{"insert":"c"}]');
CREATE INDEX change_log_committed_at ON collab.change_log (committed_at);
SELECT rev FROM collab.submit('re', 2, '[{"insert":"d"}]');
SELECT collab.submit('re', 3, '[{"insert":"e"}]');
SELECT collab.content('re');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM collab.change_log
WHERE committed_at > '2000-01-01';
SELECT count(*) FROM collab.change_log WHERE committed_at > '2000-01-01';
RESET enable_seqscan;
DROP INDEX collab.change_log_committed_at;
SELECT collab.delete_document('re');
