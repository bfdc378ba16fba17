-- bring 'read' to :pending changes past its last snapshot (interval 100)
SELECT set_config('bench.pending', :'pending', false);
DO $$
DECLARE
	pending int := current_setting('bench.pending')::int;
BEGIN
	FOR i IN 1 .. (100 + pending - collab.head('read') % 100) % 100 LOOP
		PERFORM collab.submit('read', collab.head('read'), '[{"retain": 50},{"insert": "y"}]');
	END LOOP;
END
$$;
SELECT collab.head('read') % 100 AS pending;
