-- The announcer (extension/announcer.c) when its transaction fails, as a
-- full NOTIFY queue makes it fail: a batch leaves its ring only once the
-- transaction that announced it has committed; a failed one is tried again,
-- and after the last attempt dropped and counted, so that listeners get
-- {"type":"overflow","dropped":N} before the changes that follow it.
-- collab.test_announce_failures (tests only) makes the announcer's
-- transactions fail: a transaction that commits with it set to N has the
-- next N of them fail, from the one that announces its changes.
--
-- Needs collab in shared_preload_libraries (tools/cluster sets it), or no
-- announcer runs; and dblink, for a listener on a connection of its own
-- whose notifications SQL can read (psql would print the sender's pid).
SELECT current_setting('shared_preload_libraries') ~ '\mcollab\M' AS preloaded;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;

-- the setting: 0 unless set, and only a superuser may set it
SHOW collab.test_announce_failures;
CREATE ROLE collab_test_nobody;
SET ROLE collab_test_nobody;
SET collab.test_announce_failures = 1;
RESET ROLE;
DROP ROLE collab_test_nobody;

SELECT dblink_connect('listener',
  format('dbname=%s host=%s port=%s', current_database(),
         split_part(current_setting('unix_socket_directories'), ',', 1),
         current_setting('port')));
SELECT dblink_exec('listener', 'LISTEN collab');

-- The listener's notifications, in order of arrival, up to and including
-- the first whose payload contains last; waits up to 60 s for it.  A
-- payload sent by this backend, not by the announcer, is marked so.
CREATE FUNCTION pg_temp.heard(last text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '60 seconds';
  n record;
BEGIN
  LOOP
    FOR n IN SELECT * FROM dblink_get_notify('listener') LOOP
      RETURN NEXT n.extra ||
        CASE WHEN n.be_pid = pg_backend_pid() THEN ' (not announced)' ELSE '' END;
      IF strpos(n.extra, last) > 0 THEN
        RETURN;
      END IF;
    END LOOP;
    IF clock_timestamp() > deadline THEN
      RETURN NEXT 'timed out waiting for ' || last;
      RETURN;
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;

SELECT collab.create_document('a1');
SELECT rev FROM collab.submit('a1', 0, '[{"insert":"a"}]', 'c1', 1);
SELECT collab.presence('a1', 'marker', '{"step":0}');
SELECT * FROM pg_temp.heard('"step":0');

-- failing once: the same batch is tried again, and announced once
BEGIN;
SET LOCAL collab.test_announce_failures = 1;
SELECT rev FROM collab.submit('a1', 1, '[{"insert":"b"}]', 'c1', 2);
SELECT rev FROM collab.submit('a1', 2, '[{"insert":"c"}]', 'c1', 3);
COMMIT;
SHOW collab.test_announce_failures;
SELECT collab.presence('a1', 'marker', '{"step":1}');
SELECT * FROM pg_temp.heard('"step":1');

-- a repeated payload is announced in a second transaction (NOTIFY would
-- fold it into the first); when that one fails, what the first announced
-- is not announced again
BEGIN;
SET LOCAL collab.test_announce_failures = 1;
SELECT collab.presence('a1', 'c1', '{"index":1}');
SELECT collab.presence('a1', 'c1', '{"index":2}');
SELECT collab.presence('a1', 'c1', '{"index":1}');
COMMIT;
SELECT collab.presence('a1', 'marker', '{"step":2}');
SELECT * FROM pg_temp.heard('"step":2');

-- failing more often than the announcer tries (3 times): the batch of two
-- changes is dropped and counted, and the overflow that reports it, failing
-- once too, is tried again; the next changes are announced as usual
BEGIN;
SET LOCAL collab.test_announce_failures = 4;
SELECT rev FROM collab.submit('a1', 3, '[{"insert":"d"}]', 'c1', 4);
SELECT rev FROM collab.submit('a1', 4, '[{"insert":"e"}]', 'c1', 5);
COMMIT;
SELECT * FROM pg_temp.heard('"overflow"');
SELECT rev FROM collab.submit('a1', 5, '[{"insert":"f"}]', 'c1', 6);
SELECT collab.presence('a1', 'marker', '{"step":3}');
SELECT * FROM pg_temp.heard('"step":3');

-- a listener that heard the overflow reads what it missed from the log:
-- nothing was lost there
SELECT rev, client_id, client_seq, change FROM collab.changes('a1', 3);
SELECT collab.head('a1'), collab.content('a1');

-- nothing else was announced: the announcer sends in ring order, so
-- whatever came before this marker has come
SELECT collab.presence('a1', 'marker', '{"step":4}');
SELECT * FROM pg_temp.heard('"step":4');

SELECT dblink_disconnect('listener');
SELECT collab.delete_document('a1');
DROP EXTENSION dblink;
DROP EXTENSION collab;
