-- Who may write, and who is recorded as writing (docs/auth.md, "Identity"
-- and "Database roles"): EXECUTE only where granted; an author or
-- created_by is taken only from a login (session_user) that is a member of
-- collab_gateway, or a superuser; anyone else is recorded as its login,
-- whatever it passes.  SET SESSION AUTHORIZATION plays each login.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_worker = off;

-- the extension made the gateway: a role that cannot log in, with EXECUTE
-- on exactly what collab-notifier calls
SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb
  FROM pg_roles WHERE rolname = 'collab_gateway';
SELECT p.oid::regprocedure AS granted_to_gateway
  FROM pg_proc p, aclexplode(p.proacl) a
 WHERE p.pronamespace = 'collab'::regnamespace
   AND a.grantee = 'collab_gateway'::regrole AND a.privilege_type = 'EXECUTE'
 ORDER BY p.oid::regprocedure::text;

-- the notifier's login, as a deployment makes it: a member of the gateway
-- and nothing else; an application's login with EXECUTE of its own; a
-- member of the gateway without INHERIT; a login with nothing
CREATE ROLE regress_collab_notifier LOGIN IN ROLE collab_gateway;
CREATE ROLE regress_collab_app LOGIN;
CREATE ROLE regress_collab_team;
GRANT regress_collab_team TO regress_collab_app;
GRANT EXECUTE ON FUNCTION collab.create_document(text, jsonb, text),
	collab.submit(text, bigint, jsonb, text, bigint, text),
	collab.changes(text, bigint, bigint) TO regress_collab_team;
CREATE ROLE regress_collab_noinherit LOGIN NOINHERIT IN ROLE collab_gateway;
CREATE ROLE regress_collab_nobody LOGIN;

-- what a document and its changes are recorded as written by
CREATE FUNCTION pg_temp.authors(doc text) RETURNS TABLE (rev bigint, author text)
LANGUAGE sql AS $$
  SELECT 0, created_by FROM collab.documents WHERE doc_id = doc
  UNION ALL
  SELECT rev, author FROM collab.changes(doc, 0)
  ORDER BY 1
$$;

-- a superuser is a member of every role: it names authors
SELECT collab.create_document('a-super', '[{"insert":"x\n"}]', 'carol');
SELECT rev FROM collab.submit('a-super', 0, '[{"insert":"c"}]', 'c1', 1, 'carol');
SELECT rev FROM collab.submit('a-super', 1, '[{"insert":"s"}]');
SELECT rev, author = session_user AS by_the_login FROM pg_temp.authors('a-super');
SELECT * FROM pg_temp.authors('a-super') WHERE author <> session_user;

-- the gateway's member: its word is taken; without one, it is the author
SET SESSION AUTHORIZATION regress_collab_notifier;
SELECT session_user, current_user;
SELECT collab.create_document('a-gw', '[{"insert":"x\n"}]', 'erin');
SELECT rev FROM collab.submit('a-gw', 0, '[{"insert":"e"}]', 'erin/tab1', 1, 'erin');
SELECT rev FROM collab.submit('a-gw', 1, '[{"insert":"f"}]', 'frank/tab1', 1, 'frank');
SELECT rev FROM collab.submit('a-gw', 2, '[{"insert":"n"}]', 'n', 1);
SELECT collab.create_document('a-gw2');
-- a name it gives must be a name
SELECT rev FROM collab.submit('a-gw', 3, '[{"insert":"?"}]', NULL, NULL, '');
SELECT collab.create_document('a-gw3', '[]', repeat('x', 201));
-- what the notifier reads, it may read; nothing else
SELECT collab.head('a-gw'), collab.to_text(collab.content('a-gw'));
SELECT collab.to_html(collab.content('a-gw'));
SELECT count(*) FROM collab.changes('a-gw', 0);
SELECT collab.presence('a-gw', 'erin/tab1', '{"index":1}');
SELECT collab.delete_document('a-gw');
SELECT collab.take_snapshot('a-gw');
SELECT count(*) FROM collab.change_log;
RESET SESSION AUTHORIZATION;
SELECT * FROM pg_temp.authors('a-gw');
SELECT * FROM pg_temp.authors('a-gw2');

-- anyone else is recorded as its login, whatever it passes (even a name
-- that would be refused from the gateway), and SET ROLE does not change it
SET SESSION AUTHORIZATION regress_collab_app;
SELECT collab.create_document('a-app', '[{"insert":"x\n"}]', 'mallory');
SELECT rev FROM collab.submit('a-app', 0, '[{"insert":"m"}]', 'mallory/1', 1, 'mallory');
SELECT rev FROM collab.submit('a-app', 1, '[{"insert":"m"}]', NULL, NULL, '');
SET ROLE regress_collab_team;
SELECT session_user, current_user;
SELECT rev FROM collab.submit('a-app', 2, '[{"insert":"t"}]', NULL, NULL, 'regress_collab_team');
RESET ROLE;
-- its grants are its own: not the gateway's
SELECT collab.head('a-app');
RESET SESSION AUTHORIZATION;
SELECT * FROM pg_temp.authors('a-app');

-- a member without INHERIT has the gateway's rights only once it takes the
-- role, and is a member either way (it could take the role any time)
SET SESSION AUTHORIZATION regress_collab_noinherit;
SELECT rev FROM collab.submit('a-app', 3, '[{"insert":"g"}]', NULL, NULL, 'grace');
SET ROLE collab_gateway;
SELECT rev FROM collab.submit('a-app', 3, '[{"insert":"g"}]', NULL, NULL, 'grace');
RESET ROLE;
RESET SESSION AUTHORIZATION;
SELECT * FROM pg_temp.authors('a-app') WHERE rev = 4;

-- a login that is neither granted EXECUTE nor a member cannot write or read
SET SESSION AUTHORIZATION regress_collab_nobody;
SELECT rev FROM collab.submit('a-app', 4, '[{"insert":"n"}]', NULL, NULL, 'nobody');
SELECT collab.create_document('a-nobody');
SELECT collab.head('a-app');
-- the pure functions are everyone's
SELECT collab.compose('[{"insert":"a"}]', '[{"insert":"b"}]');
RESET SESSION AUTHORIZATION;
SELECT collab.head('a-app'), to_regclass('collab.documents') IS NOT NULL AS exists,
       (SELECT count(*) FROM collab.documents WHERE doc_id = 'a-nobody') AS a_nobody;

SELECT collab.delete_document(d) FROM unnest('{a-super,a-gw,a-gw2,a-app}'::text[]) d;
DROP OWNED BY regress_collab_team, regress_collab_app, regress_collab_notifier,
	regress_collab_noinherit, regress_collab_nobody;
DROP ROLE regress_collab_notifier, regress_collab_app, regress_collab_team,
	regress_collab_noinherit, regress_collab_nobody;
