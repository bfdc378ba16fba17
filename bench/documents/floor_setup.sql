-- bench/documents floor: the bare row work of an ordered change log, in
-- plain SQL, to compare submit and the plain insert with
DROP TABLE IF EXISTS floor_docs, floor_log, floor_log_only;
CREATE TABLE floor_docs (doc_id text PRIMARY KEY, head bigint NOT NULL);
CREATE TABLE floor_log (
	doc_id text NOT NULL,
	rev bigint NOT NULL,
	change jsonb NOT NULL,
	author text NOT NULL,
	committed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (doc_id, rev)
);
INSERT INTO floor_docs SELECT 'doc' || i, 0 FROM generate_series(1, 100) i;
-- the same change rows without a head row (floor_log.sql)
CREATE TABLE floor_log_only (LIKE floor_log INCLUDING ALL);
