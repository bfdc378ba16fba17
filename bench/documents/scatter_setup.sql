-- a 100 KB document with :changes small changes at random positions since
-- its only snapshot (revision 0): the worst case for reading, every change
-- touching another part of the document
SET collab.snapshot_interval = 1000000;
SET collab.snapshot_ratio = 0;
SELECT collab.delete_document('scatter') FROM collab.documents WHERE doc_id = 'scatter';
SELECT collab.create_document('scatter', jsonb_build_object('ops', (
  SELECT jsonb_agg(op ORDER BY i)
    FROM jsonb_array_elements(collab.content('big', 0) -> 'ops') WITH ORDINALITY o(op, i)
   WHERE i <= 2400)));
SELECT setseed(0.14);
SELECT set_config('bench.changes', :'changes', false);
DO $$
DECLARE
	n int := current_setting('bench.changes')::int;
	len bigint := collab.length(collab.content('scatter'));
BEGIN
	FOR i IN 1 .. n LOOP
		-- an insert of a word, or a word made italic, at a random place
		IF i % 3 = 0 THEN
			PERFORM collab.submit('scatter', i - 1, jsonb_build_array(
				jsonb_build_object('retain', 1 + floor(random() * (len - 10))::int),
				jsonb_build_object('retain', 4, 'attributes', '{"italic": true}'::jsonb)));
		ELSE
			PERFORM collab.submit('scatter', i - 1, jsonb_build_array(
				jsonb_build_object('retain', 1 + floor(random() * (len - 2))::int),
				jsonb_build_object('insert', 'word ')));
			len := len + 5;
		END IF;
	END LOOP;
END
$$;
SELECT collab.head('scatter') AS head,
       (SELECT max(rev) FROM collab.snapshots WHERE doc_id = 'scatter') AS snapshot,
       pg_column_size(collab.content('scatter')) AS bytes;
