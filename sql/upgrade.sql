--
-- Upgrades.  The oldest release, 0.1.0, with documents, history and
-- snapshots, then ALTER EXTENSION collab UPDATE, a version at a time (0.2.0,
-- then the current one): every document, revision, content and snapshot is
-- still there and unchanged, writing goes on, what each version added works
-- on what the ones before wrote, and the schema is the one a fresh CREATE
-- EXTENSION gives.
--
-- Runs last (the tests before it leave collab installed; it starts over).
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS collab CASCADE;
RESET client_min_messages;

-- Everything a schema is made of, one line per property, by name (no oids):
-- what belongs to the extension, function definitions, columns, indexes,
-- constraints, comments, privileges and the tables pg_dump keeps.
CREATE FUNCTION pg_temp.collab_schema()
RETURNS TABLE (kind text, name text, description text)
LANGUAGE sql AS $$
  SELECT 'member', pg_describe_object(d.classid, d.objid, d.objsubid), ''
    FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
   WHERE e.extname = 'collab' AND d.deptype = 'e'
  UNION ALL
  SELECT 'schema', n.nspname, concat_ws(' | ', n.nspacl::text,
         obj_description(n.oid, 'pg_namespace'))
    FROM pg_namespace n WHERE n.nspname = 'collab'
  UNION ALL
  SELECT 'function', p.oid::regprocedure::text,
         concat_ws(' | ', pg_get_functiondef(p.oid), p.proacl::text,
                   obj_description(p.oid, 'pg_proc'))
    FROM pg_proc p WHERE p.pronamespace = 'collab'::regnamespace
  UNION ALL
  SELECT 'relation', c.relname,
         concat_ws(' | ', c.relkind, c.relacl::text, c.reloptions::text,
                   obj_description(c.oid, 'pg_class'))
    FROM pg_class c WHERE c.relnamespace = 'collab'::regnamespace
  UNION ALL
  SELECT 'column', c.relname || '.' || a.attname,
         concat_ws(' | ', a.attnum, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid),
                   a.attcompression, col_description(c.oid, a.attnum))
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
   WHERE c.relnamespace = 'collab'::regnamespace
  UNION ALL
  SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
   WHERE c.relnamespace = 'collab'::regnamespace
  UNION ALL
  SELECT 'constraint', con.conrelid::regclass::text || '.' || con.conname,
         pg_get_constraintdef(con.oid)
    FROM pg_constraint con WHERE con.connamespace = 'collab'::regnamespace
  UNION ALL
  SELECT 'dumped', cfg::regclass::text, ''
    FROM pg_extension e, unnest(e.extconfig) cfg WHERE e.extname = 'collab'
$$;

-- the schema of a fresh install of the current version
CREATE EXTENSION collab;
SELECT e.extversion = a.default_version AS current_version
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
 WHERE e.extname = 'collab';
CREATE TEMP TABLE fresh_schema AS SELECT * FROM pg_temp.collab_schema();
SELECT kind, count(*) FROM fresh_schema GROUP BY kind ORDER BY kind;
DROP EXTENSION collab;

--
-- 0.1.0, the oldest release, with data
--
CREATE EXTENSION collab VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'collab';
SELECT to_regprocedure('collab.contract()') IS NULL AS no_contract_in_0_1_0;

-- snapshots every 3 revisions, taken by the submits themselves (not after
-- commit by the snapshotter), so that all are there before the update
SET collab.snapshot_interval = 3;
SET collab.snapshot_worker = off;
SET collab.notify_worker = off;

SELECT collab.create_document('up-a');
SELECT collab.create_document('up-b', '{"ops":[{"insert":"Hello"}]}');
SELECT collab.create_document('up-gone');
-- two clients, in turn, on the head
SELECT s.rev FROM generate_series(1, 8) r,
  LATERAL collab.submit('up-a', r - 1,
                        jsonb_build_array(jsonb_build_object('insert', 'a' || r || ' ')),
                        'client-' || (r % 2), r) s;
-- changes made against old revisions, transformed; attributes; an author
SELECT rev, change FROM collab.submit('up-b', 0,
  '[{"retain":5},{"insert":" world","attributes":{"bold":true}}]', 'client-1', 1);
SELECT rev, change FROM collab.submit('up-b', 0, '[{"insert":">> "}]', 'client-2', 1);
SELECT rev, change FROM collab.submit('up-b', 1, '[{"retain":1},{"delete":4}]',
  'client-1', 2, 'alice');
SELECT rev, change FROM collab.submit('up-b', 3,
  '[{"retain":3},{"retain":2,"attributes":{"italic":true}}]', 'client-2', 2);
-- a resubmit returns the first result and adds nothing
SELECT rev FROM collab.submit('up-b', 0, '[{"insert":">> "}]', 'client-2', 1);
-- a change without a client, and a snapshot taken by hand
SELECT rev FROM collab.submit('up-b', 4, '[{"insert":"😀"}]');
SELECT collab.take_snapshot('up-b', 2);
-- a deleted document stays deleted
SELECT rev FROM collab.submit('up-gone', 0, '[{"insert":"bye"}]', 'client-1', 1);
SELECT collab.delete_document('up-gone');

SELECT doc_id, head FROM collab.documents ORDER BY doc_id;
SELECT doc_id, array_agg(rev ORDER BY rev) AS snapshots
  FROM collab.snapshots GROUP BY doc_id ORDER BY doc_id;

-- What must survive every update: the tables' rows (their 0.1.0 columns;
-- later versions add columns), and what the readers return.  keep(tag)
-- copies each into a temporary table tag_<name>; changed_since(tag) is a
-- row for each difference from those copies (none, when nothing changed).
CREATE FUNCTION pg_temp.state_queries() RETURNS TABLE (name text, query text)
LANGUAGE sql AS $$ VALUES
  ('documents', 'SELECT doc_id, head, length, astral, created_at, created_by FROM collab.documents'),
  ('change_log', 'SELECT doc_id, rev, change, client_id, client_seq, author, committed_at FROM collab.change_log'),
  ('snapshots', 'TABLE collab.snapshots'),
  ('changes', 'SELECT d.doc_id, c.* FROM collab.documents d, LATERAL collab.changes(d.doc_id, 0) c'),
  ('content', 'SELECT d.doc_id, r AS rev, collab.content(d.doc_id, r) AS content,
                      collab.to_html(collab.content(d.doc_id, r)) AS html
                 FROM collab.documents d, generate_series(0, d.head) r')
$$;
CREATE FUNCTION pg_temp.keep(tag text) RETURNS TABLE (name text, row_count bigint)
LANGUAGE plpgsql AS $$
DECLARE
  q record;
BEGIN
  FOR q IN SELECT * FROM pg_temp.state_queries() LOOP
    EXECUTE format('CREATE TEMP TABLE %I AS %s', tag || '_' || q.name, q.query);
    name := q.name;
    EXECUTE format('SELECT count(*) FROM %I', tag || '_' || q.name) INTO row_count;
    RETURN NEXT;
  END LOOP;
END $$;
CREATE FUNCTION pg_temp.changed_since(tag text) RETURNS TABLE (name text, side text, row_text text)
LANGUAGE plpgsql AS $$
DECLARE
  q record;
BEGIN
  FOR q IN SELECT * FROM pg_temp.state_queries() LOOP
    RETURN QUERY EXECUTE format(
      'SELECT %3$L, ''only before'', b::text FROM (TABLE %1$I EXCEPT ALL %2$s) b
       UNION ALL
       SELECT %3$L, ''only after'', a::text FROM (%2$s EXCEPT ALL TABLE %1$I) a',
      tag || '_' || q.name, q.query, q.name);
  END LOOP;
END $$;

SELECT * FROM pg_temp.keep('v010');

--
-- the update to 0.2.0: nothing lost, nothing changed
--
ALTER EXTENSION collab UPDATE TO '0.2.0';
SELECT extversion FROM pg_extension WHERE extname = 'collab';
SELECT * FROM pg_temp.changed_since('v010');
SELECT collab.content('up-b');
SELECT collab.head('up-gone');

-- writing goes on where it stopped
SELECT rev, change FROM collab.submit('up-b', 3, '[{"insert":"again "}]', 'client-3', 1);
SELECT rev FROM collab.submit('up-a', 8, '[{"insert":"a9 "}]', 'client-1', 9);
SELECT collab.to_text(collab.content('up-a'));
SELECT array(SELECT rev FROM collab.snapshots WHERE doc_id = 'up-a' ORDER BY rev);
SELECT collab.create_document('up-c', '[{"insert":"made in 0.2.0\n"}]');

SELECT * FROM pg_temp.keep('v020');

--
-- the update to the current version (0.3.0 and later): nothing lost,
-- nothing changed
--
ALTER EXTENSION collab UPDATE;
SELECT e.extversion = a.default_version AS current_version
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
 WHERE e.extname = 'collab';
SELECT * FROM pg_temp.changed_since('v020');

-- (0.3.0) the columns it added are null in the rows it found: not known
SELECT count(*) AS documents, count(json_bytes) AS json_bytes,
       count(attributes_bytes) AS attributes_bytes
  FROM collab.documents;
SELECT count(*) AS changes, count(client_base_rev) AS client_base_rev,
       count(client_change_hash) AS client_change_hash
  FROM collab.change_log;
-- (0.4.0) and so is the count since the last snapshot
SELECT count(*) AS documents, count(snapshot_rev) AS snapshot_rev,
       count(bytes_since_snapshot) AS bytes_since_snapshot
  FROM collab.documents;
-- a repeat of a (client, seq) stored before is taken on its word, as
-- before, whatever its base and change; a new one is checked
SELECT rev, change FROM collab.submit('up-b', 0, '[{"insert":"not the first"}]', 'client-2', 1);
SELECT rev FROM collab.submit('up-b', 6, '[{"insert":"!"}]', 'client-2', 3);
SELECT rev FROM collab.submit('up-b', 6, '[{"insert":"?"}]', 'client-2', 3);
SELECT collab.head('up-b');
-- an unknown size is measured at the document's next submit
SELECT json_bytes IS NOT NULL AS measured FROM collab.documents WHERE doc_id = 'up-b';
SELECT rev FROM collab.submit('up-c', 0, '[{"insert":"and 0.3.0: "}]');
SELECT json_bytes, attributes_bytes FROM collab.documents WHERE doc_id = 'up-c';
-- (0.4.0) a document's next submit takes a snapshot, and counts from it
SELECT rev FROM collab.submit('up-a', 9, '[{"insert":"a10 "}]', 'client-1', 10);
SELECT rev FROM collab.submit('up-a', 10, '[{"insert":"a11 "}]', 'client-1', 11);
SELECT snapshot_rev, bytes_since_snapshot
  FROM collab.documents WHERE doc_id = 'up-a';
SELECT array(SELECT rev FROM collab.snapshots WHERE doc_id = 'up-a' ORDER BY rev);
SELECT collab.content('up-a', 10) = (SELECT content FROM collab.snapshots
                                      WHERE doc_id = 'up-a' AND rev = 10);
-- create_document takes created_by (from a superuser, a member of every
-- role); a call without it still works
SELECT collab.create_document('up-d', '[]', 'dora');
SELECT collab.create_document('up-e');
SELECT doc_id, created_by = session_user AS by_the_login,
       nullif(created_by, session_user) AS named, json_bytes
  FROM collab.documents WHERE doc_id IN ('up-d', 'up-e') ORDER BY doc_id;
-- the gateway role, with its grants
SELECT p.oid::regprocedure AS granted_to_gateway
  FROM pg_proc p, aclexplode(p.proacl) a
 WHERE p.pronamespace = 'collab'::regnamespace
   AND a.grantee = 'collab_gateway'::regrole AND a.privilege_type = 'EXECUTE'
 ORDER BY p.oid::regprocedure::text;

--
-- the contract with the notifier (0.2.0)
--
SELECT collab.contract();
SELECT p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p WHERE p.oid = 'collab.contract()'::regprocedure;
-- the id limit it states is the one the functions check
SELECT collab.create_document(repeat('x', (collab.contract() ->> 'id_bytes_max')::int));
SELECT collab.create_document(repeat('y', (collab.contract() ->> 'id_bytes_max')::int + 1));

--
-- 0.1.0 + the updates have the schema a fresh install has: each difference
-- would be a row here
--
SELECT 'only fresh' AS side, * FROM (TABLE fresh_schema
  EXCEPT ALL SELECT * FROM pg_temp.collab_schema()) f
UNION ALL
SELECT 'only updated', * FROM (SELECT * FROM pg_temp.collab_schema()
  EXCEPT ALL TABLE fresh_schema) u
ORDER BY 1, 2, 3;
