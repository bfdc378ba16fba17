/*
 * collab_proxy 0.1.0 — collab's SQL API in the proxy database of a
 * partitioned deployment (docs/scale-out.md).
 *
 * Every collab function that takes a document has a twin here, in schema
 * collab, with the same name, arguments, defaults and result: a PL/Proxy
 * function that runs the call on the partition hashtext(doc_id) picks
 * (hash & (N - 1), N a power of two), in cluster collab_partitions (a
 * SQL/MED server that collab_proxy.set_partitions writes).  An application
 * or a notifier calls collab.submit(...) on the proxy as it would on one
 * database.  The functions that take no document (the delta functions,
 * to_html, contract) run here, in this backend: they are collab's own C
 * functions from collab's library ($libdir/collab), declared again, so the
 * proxy database needs collab's files installed, not CREATE EXTENSION
 * collab (whose functions would clash with these by name).
 *
 * Rules:
 * - A proxy function runs on the partition in autocommit: its call commits
 *   there when it returns, whatever the proxy's transaction does after.
 * - The partitions decide who may do what: the proxy functions are not
 *   SECURITY DEFINER, and PL/Proxy connects to a partition as the caller's
 *   role (the user mapping for PUBLIC names no user), so the partition's
 *   GRANTs and collab_gateway membership apply as if the caller were there.
 *   The proxy's own GRANTs mirror collab's so that a refusal comes early.
 * - tests/partitions/run fails when collab has a function this script
 *   lacks, or one whose signature differs.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION collab_proxy" to load this file. \quit

/*
 * The functions without a document: collab's C, run here.
 */

CREATE FUNCTION compose(a jsonb, b jsonb)
RETURNS jsonb
AS '$libdir/collab', 'collab_compose'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION transform(a jsonb, b jsonb, priority boolean)
RETURNS jsonb
AS '$libdir/collab', 'collab_transform'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION transform_position(a jsonb, pos integer,
								   priority boolean DEFAULT false)
RETURNS integer
AS '$libdir/collab', 'collab_transform_position'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION invert(change jsonb, base jsonb)
RETURNS jsonb
AS '$libdir/collab', 'collab_invert'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION diff(a jsonb, b jsonb)
RETURNS jsonb
AS '$libdir/collab', 'collab_diff'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION length(a jsonb)
RETURNS integer
AS '$libdir/collab', 'collab_length'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION apply(document jsonb, change jsonb)
RETURNS jsonb
AS '$libdir/collab', 'collab_apply'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION to_text(document jsonb)
RETURNS text
AS '$libdir/collab', 'collab_to_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION to_html(document jsonb)
RETURNS text
AS '$libdir/collab', 'collab_to_html'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION contract()
RETURNS jsonb
AS '$libdir/collab', 'collab_contract'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

/*
 * The functions with a document: PL/Proxy, on the document's partition.
 * The defaults are collab's; the partition gets every argument explicitly.
 */

CREATE FUNCTION create_document(doc_id text,
								content jsonb DEFAULT '{"ops":[]}',
								created_by text DEFAULT NULL)
RETURNS bigint AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy;

CREATE FUNCTION submit(doc_id text, base_rev bigint, change jsonb,
					   client_id text DEFAULT NULL,
					   client_seq bigint DEFAULT NULL,
					   author text DEFAULT NULL)
RETURNS TABLE (rev bigint, change jsonb) AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy ROWS 1;

CREATE FUNCTION delete_document(doc_id text)
RETURNS void AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy;

CREATE FUNCTION presence(doc_id text, client_id text, state jsonb)
RETURNS void AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy;

CREATE FUNCTION take_snapshot(doc_id text, at_rev bigint DEFAULT NULL)
RETURNS boolean AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy;

CREATE FUNCTION head(doc_id text)
RETURNS bigint AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy;

CREATE FUNCTION content(doc_id text, at_rev bigint DEFAULT NULL)
RETURNS jsonb AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy;

CREATE FUNCTION changes(doc_id text, since_rev bigint,
						until_rev bigint DEFAULT NULL)
RETURNS TABLE (rev bigint, change jsonb, client_id text, client_seq bigint,
			   author text, committed_at timestamptz) AS $$
	CLUSTER 'collab_partitions';
	RUN ON hashtext(doc_id);
$$ LANGUAGE plproxy;

/*
 * submit_batch: the arrays are split by partition (PL/Proxy's SPLIT: each
 * element goes to its document's partition, the partitions run their parts
 * in parallel, each part in one transaction of its own there) and the rows
 * put back in the order given.  A partition numbers its rows from 1 within
 * its part, so the proxy passes each element's place along and maps ord
 * back through it.  What a partition would refuse as a whole (arrays that
 * are null, of another shape or length, or too many submits) is sent
 * unsplit to partition 0, which refuses it with collab's own error.  Null
 * client_ids, client_seqs or authors are a null per submit, as in collab.
 * An element whose doc_id is null goes to partition 0 too, where it is a
 * failed row like any other bad submit.
 */

CREATE SCHEMA collab_proxy;
GRANT USAGE ON SCHEMA collab_proxy TO PUBLIC;

CREATE FUNCTION collab_proxy.submit_batch_whole(part integer, doc_ids text[],
		base_revs bigint[], changes jsonb[], client_ids text[],
		client_seqs bigint[], authors text[])
RETURNS TABLE (ord integer, rev bigint, change jsonb, sqlstate text,
			   message text) AS $$
	CLUSTER 'collab_partitions';
	RUN ON part;
	SELECT b.ord, b.rev, b.change, b.sqlstate, b.message
	  FROM collab.submit_batch(doc_ids, base_revs, changes, client_ids,
							   client_seqs, authors) AS b;
$$ LANGUAGE plproxy;

CREATE FUNCTION collab_proxy.submit_batch_split(ords integer[],
		hashes integer[], doc_ids text[], base_revs bigint[],
		changes jsonb[], client_ids text[], client_seqs bigint[],
		authors text[])
RETURNS TABLE (ord integer, rev bigint, change jsonb, sqlstate text,
			   message text) AS $$
	CLUSTER 'collab_partitions';
	SPLIT ALL;
	RUN ON hashes;
	SELECT (ords)[b.ord] AS ord, b.rev, b.change, b.sqlstate, b.message
	  FROM collab.submit_batch(doc_ids, base_revs, changes, client_ids,
							   client_seqs, authors) AS b;
$$ LANGUAGE plproxy;

CREATE FUNCTION submit_batch(doc_ids text[], base_revs bigint[],
							 changes jsonb[], client_ids text[] DEFAULT NULL,
							 client_seqs bigint[] DEFAULT NULL,
							 authors text[] DEFAULT NULL)
RETURNS TABLE (ord integer, rev bigint, change jsonb, sqlstate text,
			   message text)
LANGUAGE plpgsql ROWS 8 AS $$
#variable_conflict use_column
DECLARE
	n integer := pg_catalog.cardinality(doc_ids);
BEGIN
	-- 64: WIRE_SUBMIT_BATCH_MAX (core/wire.h), collab's own limit
	IF doc_ids IS NULL OR base_revs IS NULL OR changes IS NULL OR n > 64
	   OR pg_catalog.array_ndims(doc_ids) > 1
	   OR pg_catalog.array_ndims(base_revs) > 1
	   OR pg_catalog.array_ndims(changes) > 1
	   OR pg_catalog.array_ndims(client_ids) > 1
	   OR pg_catalog.array_ndims(client_seqs) > 1
	   OR pg_catalog.array_ndims(authors) > 1
	   OR pg_catalog.cardinality(base_revs) <> n
	   OR pg_catalog.cardinality(changes) <> n
	   OR pg_catalog.cardinality(client_ids) <> n
	   OR pg_catalog.cardinality(client_seqs) <> n
	   OR pg_catalog.cardinality(authors) <> n THEN
		RETURN QUERY SELECT * FROM collab_proxy.submit_batch_whole(0, doc_ids,
			base_revs, changes, client_ids, client_seqs, authors);
		RETURN;
	END IF;
	IF n = 0 THEN
		RETURN;
	END IF;
	RETURN QUERY
		SELECT * FROM collab_proxy.submit_batch_split(
			ARRAY(SELECT pg_catalog.generate_series(1, n)),
			ARRAY(SELECT COALESCE(pg_catalog.hashtext(d), 0)
				    FROM pg_catalog.unnest(doc_ids) AS d),
			doc_ids, base_revs, changes,
			COALESCE(client_ids, pg_catalog.array_fill(NULL::text, ARRAY[n])),
			COALESCE(client_seqs, pg_catalog.array_fill(NULL::bigint, ARRAY[n])),
			COALESCE(authors, pg_catalog.array_fill(NULL::text, ARRAY[n])))
		 ORDER BY 1;
END
$$;

/*
 * Rights: as collab grants them (extension/collab.sql), so a role without
 * EXECUTE is refused here before a connection is made; the partition checks
 * again, as the same role.  The two helpers above do only what the
 * partition lets the caller do, so anyone may call them.
 */

REVOKE ALL ON FUNCTION create_document(text, jsonb, text),
	submit(text, bigint, jsonb, text, bigint, text),
	submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[]),
	delete_document(text),
	take_snapshot(text, bigint),
	presence(text, text, jsonb),
	head(text),
	content(text, bigint),
	changes(text, bigint, bigint)
FROM PUBLIC;

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
				   WHERE rolname = 'collab_gateway') THEN
		CREATE ROLE collab_gateway NOLOGIN;
		COMMENT ON ROLE collab_gateway IS
			'collab: names the authors of changes (collab-notifier''s login is a member)';
	END IF;
END $$;

GRANT EXECUTE ON FUNCTION create_document(text, jsonb, text),
	submit(text, bigint, jsonb, text, bigint, text),
	submit_batch(text[], bigint[], jsonb[], text[], bigint[], text[]),
	presence(text, text, jsonb),
	head(text),
	content(text, bigint),
	changes(text, bigint, bigint),
	to_html(jsonb)
TO collab_gateway;

/*
 * The cluster map: collab_proxy.set_partitions(ARRAY['host=... port=...
 * dbname=...', ...]) creates or rewrites the SQL/MED server
 * collab_partitions (p0, p1, ... in hash order), its user mapping for
 * PUBLIC (no user named: PL/Proxy connects as the calling role) and USAGE
 * on it for PUBLIC (the partitions check every right).  PL/Proxy sees the
 * new map on its next call in every backend.  The server is made outside
 * this script, so it is not a member of the extension: pg_dump keeps it,
 * and its options, as the deployment's own.  Superuser only.
 */

CREATE FUNCTION collab_proxy.set_partitions(conninfos text[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	n integer := pg_catalog.cardinality(conninfos);
	opts text := '';
	old text[];
	i integer;
BEGIN
	IF n IS NULL OR n < 1 OR (n & (n - 1)) <> 0
	   OR pg_catalog.array_ndims(conninfos) <> 1 THEN
		RAISE EXCEPTION 'a cluster map has a power of two of partitions, not %',
			COALESCE(n, 0)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'PL/Proxy picks a partition as hashtext(doc_id) & (N - 1).';
	END IF;
	IF pg_catalog.array_position(conninfos, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'a partition''s connection string must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT s.srvoptions INTO old FROM pg_catalog.pg_foreign_server AS s
	 WHERE s.srvname = 'collab_partitions';
	IF NOT FOUND THEN
		FOR i IN 1 .. n LOOP
			opts := opts || pg_catalog.format('%sp%s %L', CASE WHEN i > 1 THEN ', ' END,
											  i - 1, conninfos[i]);
		END LOOP;
		EXECUTE pg_catalog.format(
			'CREATE SERVER collab_partitions FOREIGN DATA WRAPPER plproxy OPTIONS (%s)',
			opts);
	ELSE
		-- SET what both maps have, ADD what only the new one has, DROP the rest
		FOR i IN 1 .. GREATEST(n, pg_catalog.cardinality(old)) LOOP
			IF i <= n AND pg_catalog.format('p%s', i - 1) = ANY (
					SELECT pg_catalog.split_part(o, '=', 1) FROM pg_catalog.unnest(old) AS o) THEN
				opts := opts || pg_catalog.format(', SET p%s %L', i - 1, conninfos[i]);
			ELSIF i <= n THEN
				opts := opts || pg_catalog.format(', ADD p%s %L', i - 1, conninfos[i]);
			ELSIF pg_catalog.format('p%s', i - 1) = ANY (
					SELECT pg_catalog.split_part(o, '=', 1) FROM pg_catalog.unnest(old) AS o) THEN
				opts := opts || pg_catalog.format(', DROP p%s', i - 1);
			END IF;
		END LOOP;
		EXECUTE pg_catalog.format('ALTER SERVER collab_partitions OPTIONS (%s)',
								  pg_catalog.substr(opts, 3));
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_user_mappings AS m
				    WHERE m.srvname = 'collab_partitions' AND m.usename = 'public') THEN
		CREATE USER MAPPING FOR PUBLIC SERVER collab_partitions;
	END IF;
	GRANT USAGE ON FOREIGN SERVER collab_partitions TO PUBLIC;
END
$$;

REVOKE ALL ON FUNCTION collab_proxy.set_partitions(text[]) FROM PUBLIC;

COMMENT ON FUNCTION collab_proxy.set_partitions(text[]) IS
'writes the cluster map: the partitions'' connection strings in hash order (a power of two of them)';
