--
-- Quill Deltas as jsonb: collab.compose, transform, transform_position,
-- invert, diff, length, apply and to_text.  Results must be what quill-delta
-- 5.x gives for the same input (lengths count UTF-16 code units).
--
CREATE EXTENSION collab;

-- every object lands in schema collab; all functions are immutable, strict
-- and parallel safe
SELECT extname, extnamespace::regnamespace AS schema, extrelocatable,
	   extversion = (SELECT default_version FROM pg_available_extensions
					 WHERE name = 'collab') AS current_version
FROM pg_extension WHERE extname = 'collab';
SELECT p.oid::regprocedure AS function, p.prorettype::regtype AS returns,
	   p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p
WHERE p.pronamespace = 'collab'::regnamespace
ORDER BY p.proname;
SELECT count(*) AS objects_outside_schema_collab
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'collab'
JOIN pg_proc p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
WHERE p.pronamespace <> 'collab'::regnamespace;

--
-- input forms and normalisation
--
-- a bare array and {"ops": [...]} are the same delta; output is {"ops": ...}
SELECT collab.compose('[{"insert":"abc"}]', '[]');
SELECT collab.compose('{"ops":[{"insert":"abc"}]}', '{"ops":[]}');
SELECT collab.compose('[]', '{"ops":[]}');
-- adjacent inserts with equal attributes merge; different ones do not
SELECT collab.compose('[{"insert":"ab"},{"insert":"cd"}]', '[]');
SELECT collab.compose('[{"insert":"a","attributes":{"bold":true}},
						{"insert":"b","attributes":{"bold":true}},
						{"insert":"c","attributes":{"italic":true}},
						{"insert":"d"}]', '[]');
-- attribute objects compare regardless of key order
SELECT collab.compose('[{"insert":"a","attributes":{"bold":true,"color":"red"}},
						{"insert":"b","attributes":{"color":"red","bold":true}}]',
					  '[]');
-- neighbouring retains and deletes merge
SELECT collab.compose('[{"retain":1},{"retain":2},{"delete":1},{"delete":2},
						{"insert":"x"}]', '[]');
-- an insert moves before an adjacent delete
SELECT collab.compose('[{"delete":2},{"insert":"ab"}]', '[]');
SELECT collab.compose('[{"retain":1},{"delete":1},{"insert":"a"},{"delete":1},
						{"insert":"b"}]', '[]');
-- zero-length operations and empty attribute objects are dropped
SELECT collab.compose('[{"insert":""},{"insert":"a","attributes":{}},
						{"retain":2,"attributes":{}},{"insert":""}]', '[]');
-- a final retain without attributes is dropped (chop); one with stays
SELECT collab.compose('[{"insert":"a"},{"retain":5}]', '[]');
SELECT collab.compose('[{"retain":5,"attributes":{"bold":true}}]', '[]');
-- a count is a number of integer value however it is written (1e2, 1.0);
-- attribute values are kept as written
SELECT collab.compose('[{"retain":1e2,"attributes":{"size":1.50}}]', '[]');
SELECT collab.compose('[{"retain":1.0},{"delete":2.00}]', '[]');
-- strings survive escaping both ways
SELECT collab.compose('[{"insert":"tab\tquote\" backslash\\ slash/ \u00e9 \u001f"}]',
					  '[]');

--
-- length: UTF-16 code units, as JavaScript counts
--
SELECT collab.length('[]');
SELECT collab.length('[{"insert":"abc"}]');
SELECT collab.length('[{"insert":"😀"}]');
SELECT collab.length('[{"insert":"a😀b"}]');
SELECT collab.length('[{"insert":"é€"}]');
SELECT collab.length('[{"insert":{"image":"cat.png"}}]');
SELECT collab.length('{"ops":[{"retain":5},{"insert":"ab"},{"delete":3}]}');
-- a sum beyond int4
SELECT collab.length('[{"retain":2147483647},{"delete":1}]');

--
-- compose
--
SELECT collab.compose('[{"insert":"abc"}]', '[{"retain":1},{"delete":1}]');
SELECT collab.compose('[{"insert":"abc"}]', '[{"delete":3}]');
SELECT collab.compose('[{"insert":"abc"}]', '[{"retain":3},{"insert":"d"}]');
SELECT collab.compose('[{"insert":"abc"}]', '[{"insert":"x"}]');
-- a delete and then an insert at the same place
SELECT collab.compose('[{"delete":1}]', '[{"insert":"x"}]');
SELECT collab.compose('[{"retain":1},{"delete":1}]',
					  '[{"retain":1},{"delete":1}]');
-- formatting an insert: null removes an attribute from an insert
SELECT collab.compose('[{"insert":"abc","attributes":{"bold":true}}]',
					  '[{"retain":1,"attributes":{"bold":null,"italic":true}}]');
-- formatting a retain keeps null, which removes the attribute later
SELECT collab.compose('[{"retain":2,"attributes":{"bold":true}}]',
					  '[{"retain":1,"attributes":{"bold":null}}]');
-- an embed takes attributes like text
SELECT collab.compose('[{"insert":{"image":"cat.png"}},{"insert":"\n"}]',
					  '[{"retain":1,"attributes":{"alt":"a cat"}}]');
-- b may reach past the end of a: the rest is retained
SELECT collab.compose('[{"retain":1},{"insert":"x"}]',
					  '[{"retain":3},{"delete":1}]');
-- emoji stay whole
SELECT collab.compose('[{"insert":"😀😀"}]', '[{"retain":2},{"delete":2}]');

--
-- transform: b rewritten to apply after a
--
SELECT collab.transform('[{"insert":"a"}]', '[{"insert":"b"}]', true);
SELECT collab.transform('[{"insert":"a"}]', '[{"insert":"b"}]', false);
SELECT collab.transform('[{"retain":1},{"insert":"a"}]', '[{"delete":3}]', false);
SELECT collab.transform('[{"delete":2}]', '[{"retain":1},{"delete":2}]', false);
SELECT collab.transform('[{"delete":3}]', '[{"retain":1},{"insert":"x"}]', true);
-- concurrent formatting: with priority a's attributes win
SELECT collab.transform('[{"retain":2,"attributes":{"bold":true}}]',
						'[{"retain":2,"attributes":{"bold":false,"italic":true}}]',
						true);
SELECT collab.transform('[{"retain":2,"attributes":{"bold":true}}]',
						'[{"retain":2,"attributes":{"bold":false,"italic":true}}]',
						false);
-- convergence: a then b' equals b then a'
WITH d(doc, a, b) AS (VALUES (
	'[{"insert":"hello world"}]'::jsonb,
	'[{"retain":5},{"insert":" there"},{"retain":6,"attributes":{"bold":true}}]'::jsonb,
	'[{"retain":4},{"delete":3},{"insert":"!"}]'::jsonb))
SELECT collab.apply(collab.apply(doc, a), collab.transform(a, b, true)) AS a_then_b,
	   collab.apply(collab.apply(doc, b), collab.transform(b, a, false)) AS b_then_a
FROM d;

--
-- transform_position
--
SELECT collab.transform_position('[{"insert":"a"}]', 0);
SELECT collab.transform_position('[{"insert":"a"}]', 0, true);
SELECT collab.transform_position('[{"insert":"a"}]', 0, false);
SELECT collab.transform_position('[{"retain":2},{"insert":"xyz"}]', 1);
SELECT collab.transform_position('[{"retain":2},{"insert":"xyz"}]', 4);
SELECT collab.transform_position('[{"retain":1},{"delete":3}]', 2);
SELECT collab.transform_position('[{"retain":1},{"delete":3}]', 6);
SELECT collab.transform_position('[{"insert":"😀"}]', 1);
SELECT collab.transform_position('[]', 7);
-- a position must not be negative, and the result must fit in int4
SELECT collab.transform_position('[]', -1);
SELECT collab.transform_position('[{"insert":"x"}]', 2147483647);

--
-- invert: the change that undoes change on base
--
SELECT collab.invert('[{"retain":1},{"delete":1}]', '[{"insert":"abc"}]');
SELECT collab.invert('[{"retain":1},{"insert":"x"}]', '[{"insert":"abc"}]');
SELECT collab.invert('[{"delete":2}]',
					 '[{"insert":"a","attributes":{"bold":true}},{"insert":"bc"}]');
SELECT collab.invert('[{"retain":2,"attributes":{"bold":true}}]',
					 '[{"insert":"a","attributes":{"bold":false}},{"insert":"bc"}]');
SELECT collab.invert('[{"retain":1},{"delete":1}]',
					 '[{"insert":"a"},{"insert":{"image":"cat.png"}},{"insert":"\n"}]');
-- applying change and then its inverse gives base back
WITH d(base, change) AS (VALUES (
	'[{"insert":"Hello"},{"insert":" world","attributes":{"italic":true}}]'::jsonb,
	'[{"retain":2,"attributes":{"bold":true}},{"delete":4},{"insert":"y"},{"retain":3,"attributes":{"italic":null}}]'::jsonb))
SELECT collab.invert(change, base) AS inverse,
	   collab.apply(collab.apply(base, change), collab.invert(change, base))
	   = collab.compose(base, '[]') AS restored
FROM d;

--
-- diff: from document a to document b
--
SELECT collab.diff('[{"insert":"hello world"}]', '[{"insert":"help world!"}]');
SELECT collab.diff('[{"insert":"same"}]', '[{"insert":"same"}]');
SELECT collab.diff('[]', '[{"insert":"new"}]');
SELECT collab.diff('[{"insert":"old"}]', '[]');
SELECT collab.diff('[{"insert":"abc"}]',
				   '[{"insert":"a"},{"insert":"b","attributes":{"bold":true}},{"insert":"c"}]');
SELECT collab.diff('[{"insert":"a"},{"insert":{"image":"cat.png"}}]',
				   '[{"insert":"a"},{"insert":{"image":"dog.png"}}]');
SELECT collab.diff('[{"insert":"x😀y"}]', '[{"insert":"x😁y"}]');
-- apply(a, diff(a, b)) = b
WITH d(a, b) AS (VALUES (
	'[{"insert":"The quick brown fox"},{"insert":"\n","attributes":{"header":1}}]'::jsonb,
	'[{"insert":"The slow brown "},{"insert":"dog","attributes":{"bold":true}},{"insert":"\n","attributes":{"header":2}}]'::jsonb))
SELECT collab.apply(a, collab.diff(a, b)) = collab.compose(b, '[]') AS same
FROM d;

--
-- apply and to_text
--
SELECT collab.apply('[{"insert":"abc"}]', '[{"retain":1},{"insert":"X"},{"delete":1}]');
SELECT collab.apply('[]', '[{"insert":"first"}]');
SELECT collab.apply('[{"insert":"a😀b"}]', '[{"retain":3},{"delete":1}]');
SELECT collab.apply('[{"insert":"abc"}]', '[{"retain":1,"attributes":{"bold":true}}]');
SELECT collab.to_text('[{"insert":"Hello "},{"insert":"world","attributes":{"bold":true}},
						{"insert":{"image":"cat.png"}},{"insert":"😀\n"}]');
SELECT collab.to_text('[]') = '' AS empty;

--
-- errors
--
-- not a delta
SELECT collab.length('"abc"');
SELECT collab.length('42');
SELECT collab.length('{"insert":"a"}');
SELECT collab.length('{"ops":{"insert":"a"}}');
SELECT collab.length('{"ops":[],"extra":1}');
SELECT collab.length('[42]');
-- bad operations
SELECT collab.length('[{"insert":"a","bold":true}]');
SELECT collab.length('[{}]');
SELECT collab.length('[{"insert":"a","delete":1}]');
SELECT collab.length('[{"retain":-1}]');
SELECT collab.length('[{"retain":0}]');
SELECT collab.length('[{"delete":1.5}]');
SELECT collab.length('[{"delete":"1"}]');
SELECT collab.length('[{"delete":null}]');
SELECT collab.length('[{"retain":2147483648}]');
SELECT collab.length('[{"insert":42}]');
SELECT collab.length('[{"insert":"a","attributes":"bold"}]');
SELECT collab.length('[{"insert":"a","attributes":["bold"]}]');
SELECT collab.length('[{"delete":1,"attributes":{"bold":true}}]');
-- the message names the argument at fault
SELECT collab.compose('[]', '[{"retain":0}]');
SELECT collab.transform('[]', '[7]', false);
SELECT collab.transform_position('[7]', 0);
SELECT collab.invert('[]', '[{"retain":"x"}]');
SELECT collab.invert('{}', '[]');
SELECT collab.diff('[]', 'null');
SELECT collab.apply('[{"insert":"a"}]', '{"ops":"a"}');
SELECT collab.apply('[{"insert":"a","x":1}]', '[]');
SELECT collab.to_text('[{"insert":true}]');
-- a change longer than its document
SELECT collab.apply('[{"insert":"abc"}]', '[{"retain":3},{"delete":1}]');
SELECT collab.apply('[{"insert":"abc"}]', '[{"retain":4},{"insert":"x"}]');
SELECT collab.invert('[{"delete":4}]', '[{"insert":"abc"}]');
-- documents hold inserts only
SELECT collab.apply('[{"insert":"a"},{"retain":1}]', '[]');
SELECT collab.invert('[{"delete":1}]', '[{"delete":1}]');
SELECT collab.diff('[{"retain":1}]', '[]');
SELECT collab.diff('[]', '[{"insert":"a"},{"delete":1}]');
SELECT collab.to_text('[{"retain":1}]');
-- no boundary may split a surrogate pair
SELECT collab.apply('[{"insert":"a😀b"}]', '[{"retain":2},{"delete":1}]');
SELECT collab.apply('[{"insert":"😀"}]', '[{"retain":1},{"insert":"x"}]');
SELECT collab.compose('[{"insert":"😀"}]', '[{"delete":1}]');
SELECT collab.invert('[{"retain":1,"attributes":{"bold":true}}]', '[{"insert":"😀"}]');
-- error codes: invalid parameter value, program limit, numeric out of range
CREATE FUNCTION pg_temp.sqlstate(query text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE query;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE;
END
$$;
SELECT q AS query, pg_temp.sqlstate(q) AS sqlstate FROM (VALUES
	('SELECT collab.length(''[{"retain":0}]'')'),
	('SELECT collab.length(''[{"retain":2147483648}]'')'),
	('SELECT collab.length(''[{"retain":2147483647},{"delete":1}]'')'),
	('SELECT collab.apply(''[]'', ''[{"delete":1}]'')'),
	('SELECT collab.apply(''[{"insert":"😀"}]'', ''[{"retain":1}]'')'),
	('SELECT collab.transform_position(''[]'', -1)'),
	('SELECT collab.transform_position(''[{"insert":"x"}]'', 2147483647)'),
	('SELECT collab.length(''[]'')')) AS t(q);

-- strict: null in, null out
SELECT collab.compose(NULL, '[]') IS NULL AS compose_null,
	   collab.transform('[]', '[]', NULL) IS NULL AS transform_null,
	   collab.length(NULL) IS NULL AS length_null;

-- the collab.* settings prefix is reserved once the module is loaded
SET collab.no_such_setting = 1;
