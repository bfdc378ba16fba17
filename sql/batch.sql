-- collab.submit_batch: many submits in one statement and one transaction
-- (docs/speed.md).  Each is collab.submit's work with collab.submit's
-- errors, in a subtransaction of its own: one that fails is a row with its
-- sqlstate and message and writes nothing; the others land.  Rows come in
-- the order given; submits to one document keep their order and take
-- consecutive revisions.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_worker = off;

CREATE FUNCTION pg_temp.state(doc text) RETURNS TABLE (head bigint, entries bigint, text text)
LANGUAGE sql AS $$
  SELECT collab.head(doc), (SELECT count(*) FROM collab.changes(doc, 0)),
         collab.to_text(collab.content(doc))
$$;

SELECT collab.create_document('b1', '[{"insert":"abc\n"}]');
SELECT collab.create_document('b2', '[{"insert":"xyz\n"}]');

-- three submits, two documents: b1's two take revisions 1 and 2, the
-- second transformed against the first (both made against revision 0)
SELECT * FROM collab.submit_batch(
  ARRAY['b1', 'b2', 'b1'], ARRAY[0, 0, 0],
  ARRAY['[{"insert":"1"}]', '[{"retain":3},{"insert":"!"}]',
        '[{"retain":3},{"insert":"2"}]']::jsonb[],
  ARRAY['ann', 'ann', 'bob'], ARRAY[1, 2, 1]);
SELECT * FROM pg_temp.state('b1');
SELECT * FROM pg_temp.state('b2');
SELECT rev, client_id, client_seq, author = session_user AS by_the_login
  FROM collab.changes('b1', 0) ORDER BY rev;

-- one bad submit among good ones: its row says why, nothing of it is
-- written, the others land (a change that does not apply; a missing
-- document; a base ahead of the head; a reused (client, seq))
SELECT ord, rev, change, sqlstate, message FROM collab.submit_batch(
  ARRAY['b1', 'b1', 'nope', 'b2', 'b1', 'b2'], ARRAY[2, 2, 0, 9, 3, 1],
  ARRAY['[{"insert":"3"}]', '[{"retain":99},{"insert":"x"}]', '[{"insert":"n"}]',
        '[{"insert":"y"}]', '[{"insert":"again"}]', '[{"insert":"ok"}]']::jsonb[],
  ARRAY['ann', 'ann', 'ann', 'ann', 'ann', 'ann'], ARRAY[3, 4, 5, 6, 1, 7]);
SELECT * FROM pg_temp.state('b1');
SELECT * FROM pg_temp.state('b2');

-- a resubmit in a batch returns the first result and writes nothing, even
-- twice in one batch
SELECT ord, rev, change, sqlstate FROM collab.submit_batch(
  ARRAY['b1', 'b1'], ARRAY[2, 2], ARRAY['[{"insert":"3"}]', '[{"insert":"3"}]']::jsonb[],
  ARRAY['ann', 'ann'], ARRAY[3, 3]);
SELECT * FROM pg_temp.state('b1');

-- bad elements are bad submits: a null, an empty id, a negative base, a
-- client without a seq; the good one lands
SELECT ord, rev, sqlstate, message FROM collab.submit_batch(
  ARRAY[NULL, '', 'b2', 'b2', 'b2', 'b2'], ARRAY[0, 0, -1, 2, 2, NULL],
  ARRAY['[]', '[]', '[]', '[{"insert":"c"}]', '[{"insert":"d"}]', '[]']::jsonb[],
  ARRAY[NULL, NULL, NULL, 'carl', NULL, NULL], ARRAY[NULL, NULL, NULL, NULL, NULL, NULL]::bigint[]);
SELECT * FROM pg_temp.state('b2');

-- authors: named by a member of collab_gateway (a superuser is one), per
-- submit; null arrays are a null per submit
SELECT ord, rev FROM collab.submit_batch(
  ARRAY['b2', 'b2'], ARRAY[3, 3], ARRAY['[{"insert":"e"}]', '[{"insert":"f"}]']::jsonb[],
  authors => ARRAY['dora', NULL]);
SELECT rev, client_id, author = session_user AS by_the_login, nullif(author, session_user) AS named
  FROM collab.changes('b2', 3) ORDER BY rev;

-- the arrays themselves: empty is no rows; the required ones not null; one
-- element per submit in each; at most 64 submits
SELECT count(*) FROM collab.submit_batch('{}', '{}', '{}');
SELECT * FROM collab.submit_batch(NULL, '{0}', '{"[]"}');
SELECT * FROM collab.submit_batch('{b1}', '{0}', NULL);
SELECT * FROM collab.submit_batch('{b1,b2}', '{0}', '{"[]","[]"}');
SELECT * FROM collab.submit_batch('{b1}', '{0}', '{"[]"}', '{a,b}');
SELECT * FROM collab.submit_batch('{{b1}}', '{{0}}', '{{"[]"}}');
SELECT * FROM collab.submit_batch(array_fill('b1'::text, ARRAY[65]),
  array_fill(0::bigint, ARRAY[65]), array_fill('[]'::jsonb, ARRAY[65]));
SELECT count(*) AS landed, max(rev) FROM collab.submit_batch(array_fill('b1'::text, ARRAY[64]),
  array_fill(3::bigint, ARRAY[64]), array_fill('[{"insert":"."}]'::jsonb, ARRAY[64]))
 WHERE sqlstate IS NULL;

-- a read-only transaction: every submit refused, nothing written
BEGIN READ ONLY;
SELECT ord, sqlstate, message FROM collab.submit_batch('{b1}', '{67}', '{"[]"}');
ROLLBACK;

-- the batch is one transaction: rolled back, none of it stays
BEGIN;
SELECT ord, rev FROM collab.submit_batch('{b1,b2}', '{67,5}', '{"[{\"insert\":\"r\"}]","[{\"insert\":\"r\"}]"}');
ROLLBACK;
SELECT * FROM pg_temp.state('b1');
SELECT * FROM pg_temp.state('b2');

-- EXECUTE: not for PUBLIC, granted to collab_gateway
CREATE ROLE collab_batch_nobody;
SET ROLE collab_batch_nobody;
SELECT * FROM collab.submit_batch('{b1}', '{69}', '{"[]"}');
RESET ROLE;
DROP ROLE collab_batch_nobody;
SELECT has_function_privilege('collab_gateway',
  'collab.submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[])', 'EXECUTE') AS gateway_may;

-- a document another transaction holds fails its submits alone, after
-- collab.batch_lock_timeout, and the rest of the batch lands
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('holder',
  format('dbname=%s host=%s port=%s', current_database(),
         split_part(current_setting('unix_socket_directories'), ',', 1),
         current_setting('port')));
SELECT dblink_exec('holder', 'BEGIN');
SELECT * FROM dblink('holder', $$SELECT rev FROM collab.submit('b1', 67, '[{"insert":"h"}]')$$) AS t(rev bigint);
SET collab.batch_lock_timeout = '50ms';
-- (a second submit to the held document fails at once, without waiting
-- again)
SELECT ord, rev, sqlstate, message FROM collab.submit_batch('{b2,b1,b2,b1}', '{5,67,5,67}',
  '{"[{\"insert\":\"s\"}]","[{\"insert\":\"t\"}]","[{\"insert\":\"u\"}]","[{\"insert\":\"v\"}]"}');
SELECT dblink_exec('holder', 'COMMIT');
SELECT dblink_disconnect('holder');
RESET collab.batch_lock_timeout;
SHOW lock_timeout;
SELECT head FROM collab.documents WHERE doc_id IN ('b1', 'b2') ORDER BY doc_id;

SET client_min_messages = warning;
DROP EXTENSION dblink;
DROP EXTENSION collab CASCADE;
