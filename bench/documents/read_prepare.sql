-- bring 'read' to :pending changes past its last snapshot: one taken at
-- the head now, then the changes, none of them due another
SET collab.snapshot_ratio = 0;
SET collab.snapshot_interval = 1000000;
SELECT collab.take_snapshot('read');
SELECT set_config('bench.pending', :'pending', false);
DO $$
DECLARE
	pending int := current_setting('bench.pending')::int;
	head bigint := collab.head('read');
BEGIN
	FOR i IN 1 .. pending LOOP
		PERFORM collab.submit('read', head, '[{"retain": 50},{"insert": "y"}]');
		head := head + 1;
	END LOOP;
END
$$;
SELECT collab.head('read') - max(rev) AS pending FROM collab.snapshots WHERE doc_id = 'read';
