/*
 * store.c — submit's hot path on collab's tables without SQL.
 *
 * What the SQL did, and what stands in for it:
 *
 *   SELECT ... FROM documents WHERE doc_id = $1 FOR NO KEY UPDATE
 *       the document id lock (below), then an index scan of
 *       documents_pkey; in the snapshot isolation levels, a serialization
 *       failure if the row seen is no longer the latest;
 *   SELECT ... FROM change_log WHERE doc_id, client_id, client_seq
 *   SELECT change FROM change_log WHERE doc_id = $1 AND rev > $2 ORDER BY rev
 *       index scans of change_log_client and change_log_pkey;
 *   INSERT INTO change_log ...; UPDATE documents SET head, length, astral,
 *       the size bounds and the count since the last snapshot
 *       ExecSimpleRelationInsert and ExecSimpleRelationUpdate, which keep
 *       every index (and HOT) as the executor does.
 *
 * Order: before reading the row, a submit takes a transaction-level lock
 * on the document id (an advisory lock tag in a class of collab's own,
 * 0xC011).  Every writer of a document's row and log takes it (submit and
 * delete_document), so the row read under it is the latest and nobody
 * else changes it until we commit: no tuple lock is needed (it cost a WAL
 * record and a buffer lock per submit).  The lock manager grants the id
 * lock first come, first served, so submits waiting for the same document
 * go in the order they arrived (a tuple lock alone lets every waiter race
 * for the row's new version when its holder commits, and a late one may
 * win).
 *
 * Snapshots follow SPI's non-read-only rules: the command counter is
 * advanced first (so a transaction sees its own earlier submits), and in
 * READ COMMITTED the snapshot is taken after the lock, so the reads see
 * what the transaction we waited for committed.  In REPEATABLE READ and
 * SERIALIZABLE the transaction's snapshot may be older than that: a row
 * it shows that the latest snapshot does not is a serialization failure,
 * as for UPDATE.
 *
 * The tables are found by name in schema collab and their columns checked
 * against what this file expects, so a mismatched install is an error, not
 * a corruption.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parsetree.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "store.h"

/*
 * Column numbers, as extension/collab--*.sql creates the tables.  The
 * columns each version added come after the ones before; a database not
 * yet updated (ALTER EXTENSION collab UPDATE) has the tables without them
 * and still takes submits, as they did: from 0.1.0 or 0.2.0, with no
 * document size bound (measured on every submit) and no check that a
 * repeated (client, seq) repeats its change; before 0.4.0, with a snapshot
 * every collab.snapshot_interval revisions whatever their size.
 */
enum {
	DOC_ID = 1,
	DOC_HEAD,
	DOC_LENGTH,
	DOC_ASTRAL,
	DOC_CREATED_AT,
	DOC_CREATED_BY,
	DOC_NATTS_0_1 = DOC_CREATED_BY,
	DOC_JSON_BYTES, /* 0.3.0 */
	DOC_ATTRIBUTES_BYTES,
	DOC_NATTS_0_3 = DOC_ATTRIBUTES_BYTES,
	DOC_SNAPSHOT_REV, /* 0.4.0 */
	DOC_BYTES_SINCE_SNAPSHOT,
	DOC_NATTS = DOC_BYTES_SINCE_SNAPSHOT
};
enum {
	LOG_DOC_ID = 1,
	LOG_REV,
	LOG_CHANGE,
	LOG_CLIENT_ID,
	LOG_CLIENT_SEQ,
	LOG_AUTHOR,
	LOG_COMMITTED_AT,
	LOG_NATTS_0_1 = LOG_COMMITTED_AT,
	LOG_CLIENT_BASE_REV, /* 0.3.0 */
	LOG_CLIENT_CHANGE_HASH,
	LOG_NATTS = LOG_CLIENT_CHANGE_HASH
};

static const char *const documents_columns[DOC_NATTS] =
	{"doc_id",		 "head",
	 "length",		 "astral",
	 "created_at",	 "created_by",
	 "json_bytes",	 "attributes_bytes",
	 "snapshot_rev", "bytes_since_snapshot"};
/* how many of documents_columns a table of each version has */
static const int documents_widths[] = {DOC_NATTS_0_1, DOC_NATTS_0_3,
									   DOC_NATTS};
static const int change_log_widths[] = {LOG_NATTS_0_1, LOG_NATTS};
static const char *const change_log_columns[LOG_NATTS] =
	{"doc_id",
	 "rev",
	 "change",
	 "client_id",
	 "client_seq",
	 "author",
	 "committed_at",
	 "client_base_rev",
	 "client_change_hash"};

static Oid
relation_oid(Oid nsp, const char *name)
{
	Oid oid = get_relname_relid(name, nsp);

	if (!OidIsValid(oid))
		ereport(ERROR, errcode(ERRCODE_UNDEFINED_TABLE),
				errmsg("relation \"collab.%s\" does not exist", name));
	return oid;
}

static bool
has_column(TupleDesc desc, int i, const char *name)
{
	return i < desc->natts && !TupleDescAttr(desc, i)->attisdropped &&
		   strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0;
}

/*
 * Checks that rel's columns are names[0 .. widths[k]) for one of the
 * versions k (widths increasing, the last the current version's), and
 * returns that width: the table of an older version has exactly its
 * columns, the current one at least them.
 */
static int
check_columns(Relation rel, const char *const *names, const int *widths,
			  int nwidths)
{
	TupleDesc desc = RelationGetDescr(rel);
	int all = widths[nwidths - 1];
	int i;
	int k;

	for (i = 0; i < all; i++)
		if (!has_column(desc, i, names[i]))
		{
			for (k = 0; k < nwidths - 1; k++)
				if (i == widths[k] && desc->natts == widths[k])
					return i;
			ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					errmsg("table collab.%s does not have the columns this "
						   "version of collab expects",
						   RelationGetRelationName(rel)));
		}
	return all;
}

static RangeTblEntry *
result_rte(Relation rel)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	return rte;
}

/*
 * The tables and the indexes we scan, found by name once per backend and
 * forgotten when any of them is invalidated (dropped, altered, an index
 * added or rebuilt): the next submit looks them up again.
 */
enum {
	REL_DOCUMENTS,
	REL_CHANGE_LOG,
	REL_DOCUMENTS_PKEY,
	REL_CHANGE_LOG_PKEY,
	REL_CHANGE_LOG_CLIENT,
	NRELS
};
static const char *const rel_names[NRELS] = {"documents", "change_log",
											 "documents_pkey",
											 "change_log_pkey",
											 "change_log_client"};
static Oid rel_oids[NRELS];
static bool rel_oids_known;

static void
forget_rel_oids(Datum arg, Oid relid)
{
	int i;

	(void) arg;
	for (i = 0; i < NRELS; i++)
		if (!OidIsValid(relid) || rel_oids[i] == relid)
			rel_oids_known = false;
}

static void
find_rel_oids(void)
{
	static bool callback;
	Oid nsp = get_namespace_oid("collab", false);
	int i;

	if (!callback)
	{
		CacheRegisterRelcacheCallback(forget_rel_oids, (Datum) 0);
		callback = true;
	}
	for (i = 0; i < NRELS; i++)
		rel_oids[i] = relation_oid(nsp, rel_names[i]);
	rel_oids_known = true;
}

/* Index rel of info's table, as ExecOpenIndices opened it. */
static Relation
opened_index(ResultRelInfo *info, int rel)
{
	Oid oid = rel_oids[rel];
	const char *name = rel_names[rel];
	int i;

	for (i = 0; i < info->ri_NumIndices; i++)
		if (RelationGetRelid(info->ri_IndexRelationDescs[i]) == oid)
			return info->ri_IndexRelationDescs[i];
	ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("index collab.%s is not an index of collab.%s", name,
				   RelationGetRelationName(info->ri_RelationDesc)));
	return NULL; /* not reached */
}

void
store_open(doc_store *st)
{
	int width;

	memset(st, 0, sizeof(*st));
	if (!rel_oids_known)
		find_rel_oids();
	st->documents = table_open(rel_oids[REL_DOCUMENTS], RowExclusiveLock);
	st->change_log = table_open(rel_oids[REL_CHANGE_LOG], RowExclusiveLock);
	/* taking the locks may have brought news of a change */
	if (!rel_oids_known)
		find_rel_oids();
	width = check_columns(st->documents, documents_columns, documents_widths,
						  lengthof(documents_widths));
	st->has_bounds = width >= DOC_NATTS_0_3;
	st->has_snapshot_count = width >= DOC_NATTS;
	st->has_client_check =
		check_columns(st->change_log, change_log_columns, change_log_widths,
					  lengthof(change_log_widths)) >= LOG_NATTS;

	st->estate = CreateExecutorState();
	ExecInitRangeTable(st->estate, list_make2(result_rte(st->documents),
											  result_rte(st->change_log)));
	st->documents_info = makeNode(ResultRelInfo);
	InitResultRelInfo(st->documents_info, st->documents, 1, NULL, 0);
	st->change_log_info = makeNode(ResultRelInfo);
	InitResultRelInfo(st->change_log_info, st->change_log, 2, NULL, 0);
	ExecOpenIndices(st->documents_info, false);
	ExecOpenIndices(st->change_log_info, false);
	/* the indexes we scan, among those the inserts keep */
	st->documents_pkey = opened_index(st->documents_info, REL_DOCUMENTS_PKEY);
	st->change_log_pkey =
		opened_index(st->change_log_info, REL_CHANGE_LOG_PKEY);
	st->change_log_client =
		opened_index(st->change_log_info, REL_CHANGE_LOG_CLIENT);
	st->document = table_slot_create(st->documents, NULL);
}

void
store_close(doc_store *st)
{
	ExecDropSingleTupleTableSlot(st->document);
	ExecCloseIndices(st->documents_info);
	ExecCloseIndices(st->change_log_info);
	FreeExecutorState(st->estate);
	if (st->snapshot != NULL)
		UnregisterSnapshot(st->snapshot);
	table_close(st->change_log, NoLock);
	table_close(st->documents, NoLock);
}

/* What the reads see from now on: SPI's snapshot for a new statement. */
static void
take_snapshot(doc_store *st)
{
	if (st->snapshot != NULL)
		UnregisterSnapshot(st->snapshot);
	st->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	st->estate->es_snapshot = st->snapshot;
}

static void
key_text(ScanKey key, Relation index, int attno, text *value)
{
	ScanKeyEntryInitialize(key, 0, attno, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[attno - 1], F_TEXTEQ,
						   PointerGetDatum(value));
}

static void
key_int8(ScanKey key, int attno, StrategyNumber strategy, RegProcedure proc,
		 int64 value)
{
	ScanKeyEntryInitialize(key, 0, attno, strategy, InvalidOid, InvalidOid,
						   proc, Int64GetDatum(value));
}

static void
serialization_failure(const char *what)
{
	ereport(ERROR, errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			errmsg("could not serialize access due to concurrent %s", what));
}

/* field4 of collab's advisory lock tags (user advisory locks use 1, 2) */
#define COLLAB_LOCK_CLASS 0xC011

uint64
store_lock_key(text *doc_id)
{
	return hash_bytes_extended((const unsigned char *) VARDATA_ANY(doc_id),
							   VARSIZE_ANY_EXHDR(doc_id), 0);
}

/* The id lock; false if dont_wait and another transaction holds it. */
static bool
lock_id(text *doc_id, bool dont_wait)
{
	LOCKTAG tag;
	uint64 hash = store_lock_key(doc_id);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (hash >> 32),
						 (uint32) hash, COLLAB_LOCK_CLASS);
	return LockAcquire(&tag, ExclusiveLock, false, dont_wait) !=
		   LOCKACQUIRE_NOT_AVAIL;
}

void
store_lock_id(text *doc_id)
{
	(void) lock_id(doc_id, false);
}

/* doc_id's row as the current snapshot shows it, into st->document. */
static bool
find_document(doc_store *st, text *doc_id)
{
	ScanKeyData key;
	IndexScanDesc scan;
	bool found;

	CommandCounterIncrement();
	take_snapshot(st);
	key_text(&key, st->documents_pkey, 1, doc_id);
	scan =
		index_beginscan(st->documents, st->documents_pkey, st->snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, st->document);
	index_endscan(scan);
	return found;
}

/* When the document in st->document was created: its identity. */
static TimestampTz
created_at(doc_store *st)
{
	bool isnull;
	Datum value = slot_getattr(st->document, DOC_CREATED_AT, &isnull);

	if (isnull)
		elog(ERROR, "unexpected null in collab.documents");
	return DatumGetTimestampTz(value);
}

void
store_lock_document(doc_store *st, glue_session *s, text *doc_id, doc_row *row)
{
	bool waited = false;
	TimestampTz came_for = 0;

	/*
	 * First come, first served among the writers of this document.  One
	 * who must wait notes which document it came for: if a delete it
	 * waited for removed it, the document is gone for this change, even if
	 * another of the same id was created since.
	 */
	if (!lock_id(doc_id, true))
	{
		if (!find_document(st, doc_id))
			doc_not_found(doc_id);
		came_for = created_at(st);
		waited = true;
		store_lock_id(doc_id);
	}
	/* after the lock: the reads see what the writer before us committed */
	if (!find_document(st, doc_id) || (waited && created_at(st) != came_for))
		doc_not_found(doc_id);
	/*
	 * The transaction's own snapshot may be older than a writer we waited
	 * for: then the row it shows is not the one to update.
	 */
	if (IsolationUsesXactSnapshot() &&
		!table_tuple_satisfies_snapshot(st->documents, st->document,
										GetLatestSnapshot()))
		serialization_failure("update");

	slot_getallattrs(st->document);
	if (st->document->tts_isnull[DOC_HEAD - 1] ||
		st->document->tts_isnull[DOC_LENGTH - 1] ||
		st->document->tts_isnull[DOC_ASTRAL - 1])
		elog(ERROR, "unexpected null in collab.documents");
	row->head = DatumGetInt64(st->document->tts_values[DOC_HEAD - 1]);
	doc_row_shape(s, doc_id,
				  DatumGetInt64(st->document->tts_values[DOC_LENGTH - 1]),
				  st->document->tts_values[DOC_ASTRAL - 1], row);
	/* the size bounds: null when not known (a row older than 0.3.0) */
	if (st->has_bounds && !st->document->tts_isnull[DOC_JSON_BYTES - 1] &&
		!st->document->tts_isnull[DOC_ATTRIBUTES_BYTES - 1])
	{
		row->shape.bytes =
			DatumGetInt64(st->document->tts_values[DOC_JSON_BYTES - 1]);
		row->shape.attributes_bytes =
			DatumGetInt64(st->document->tts_values[DOC_ATTRIBUTES_BYTES - 1]);
	}
	/* since the last snapshot: null when not known (older than 0.4.0) */
	row->since.counted = st->has_snapshot_count;
	row->since.snapshot_rev = -1;
	row->since.bytes = -1;
	if (st->has_snapshot_count &&
		!st->document->tts_isnull[DOC_SNAPSHOT_REV - 1] &&
		!st->document->tts_isnull[DOC_BYTES_SINCE_SNAPSHOT - 1])
	{
		row->since.snapshot_rev =
			DatumGetInt64(st->document->tts_values[DOC_SNAPSHOT_REV - 1]);
		row->since.bytes = DatumGetInt64(
			st->document->tts_values[DOC_BYTES_SINCE_SNAPSHOT - 1]);
	}
}

bool
store_find_resubmit(doc_store *st, text *doc_id, text *client_id,
					int64 client_seq, store_entry *first)
{
	ScanKeyData keys[3];
	TupleTableSlot *slot = table_slot_create(st->change_log, NULL);
	IndexScanDesc scan;
	bool found;

	key_text(&keys[0], st->change_log_client, 1, doc_id);
	key_text(&keys[1], st->change_log_client, 2, client_id);
	key_int8(&keys[2], 3, BTEqualStrategyNumber, F_INT8EQ, client_seq);
	scan = index_beginscan(st->change_log, st->change_log_client, st->snapshot,
						   3, 0);
	index_rescan(scan, keys, 3, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
	{
		bool isnull;
		Datum d;

		memset(first, 0, sizeof(*first));
		first->rev = DatumGetInt64(slot_getattr(slot, LOG_REV, &isnull));
		first->change =
			DatumGetJsonbPCopy(slot_getattr(slot, LOG_CHANGE, &isnull));
		first->client_id = client_id;
		first->client_seq = client_seq;
		/* what it was submitted as: unknown (-1, NULL) before 0.3.0 */
		first->client_base_rev = -1;
		if (st->has_client_check)
		{
			d = slot_getattr(slot, LOG_CLIENT_BASE_REV, &isnull);
			if (!isnull)
				first->client_base_rev = DatumGetInt64(d);
			d = slot_getattr(slot, LOG_CLIENT_CHANGE_HASH, &isnull);
			if (!isnull)
				first->client_change_hash = DatumGetByteaPCopy(d);
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

delta *
store_transform_to_head(doc_store *st, glue_session *s, text *doc_id,
						int64 base_rev, int64 head, delta *change,
						recent_changes *recent)
{
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	IndexScanDesc scan;
	int64 expect = base_rev + 1;
	TimestampTz created = recent ? created_at(st) : 0;
	delta_error err;

	/* a batch's submits to one document: the changes it has parsed */
	if (recent && recent_covers(recent, doc_id, created, base_rev + 1, head))
	{
		for (int64 rev = base_rev + 1; rev <= head; rev++)
			glue_check(delta_transform(s->arena, recent_get(recent, rev),
									   change, true, &change, &err),
					   &err, "cannot transform change");
		return change;
	}

	slot = table_slot_create(st->change_log, NULL);
	key_text(&keys[0], st->change_log_pkey, 1, doc_id);
	key_int8(&keys[1], 2, BTGreaterStrategyNumber, F_INT8GT, base_rev);
	scan = index_beginscan(st->change_log, st->change_log_pkey, st->snapshot,
						   2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool isnull;
		int64 rev = DatumGetInt64(slot_getattr(slot, LOG_REV, &isnull));
		Jsonb *stored;
		const delta *committed;

		if (rev != expect)
			elog(ERROR,
				 "change log of document \"%s\" has revision " INT64_FORMAT
				 " where " INT64_FORMAT " belongs",
				 text_to_cstring(doc_id), rev, expect);
		expect++;
		stored = DatumGetJsonbP(slot_getattr(slot, LOG_CHANGE, &isnull));
		if (recent)
		{
			recent_add(recent, doc_id, created, rev, stored);
			committed = recent_get(recent, rev);
		}
		else
			committed = glue_parse(s, stored, "change");
		/* the committed change happened first: it wins ties */
		glue_check(delta_transform(s->arena, committed, change, true, &change,
								   &err),
				   &err, "cannot transform change");
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	if (expect != head + 1)
		elog(ERROR,
			 "change log of document \"%s\" ends at revision " INT64_FORMAT
			 ", its head is " INT64_FORMAT,
			 text_to_cstring(doc_id), expect - 1, head);
	return change;
}

TimestampTz
store_created_at(doc_store *st)
{
	return created_at(st);
}

void
store_append(doc_store *st, text *doc_id, const store_entry *entry,
			 const delta_shape *after, Datum astral, const doc_since *since)
{
	TupleTableSlot *row =
		MakeSingleTupleTableSlot(RelationGetDescr(st->change_log),
								 &TTSOpsVirtual);
	TupleTableSlot *moved =
		MakeSingleTupleTableSlot(RelationGetDescr(st->documents),
								 &TTSOpsVirtual);
	int natts = RelationGetDescr(st->documents)->natts;

	ExecClearTuple(row);
	memset(row->tts_isnull, true,
		   RelationGetDescr(st->change_log)->natts * sizeof(bool));
	row->tts_values[LOG_DOC_ID - 1] = PointerGetDatum(doc_id);
	row->tts_values[LOG_REV - 1] = Int64GetDatum(entry->rev);
	row->tts_values[LOG_CHANGE - 1] = JsonbPGetDatum(entry->change);
	if (entry->client_id != NULL)
	{
		row->tts_values[LOG_CLIENT_ID - 1] = PointerGetDatum(entry->client_id);
		row->tts_values[LOG_CLIENT_SEQ - 1] = Int64GetDatum(entry->client_seq);
		row->tts_isnull[LOG_CLIENT_ID - 1] = false;
		row->tts_isnull[LOG_CLIENT_SEQ - 1] = false;
		if (st->has_client_check)
		{
			Assert(entry->client_base_rev >= 0 &&
				   entry->client_change_hash != NULL);
			row->tts_values[LOG_CLIENT_BASE_REV - 1] =
				Int64GetDatum(entry->client_base_rev);
			row->tts_values[LOG_CLIENT_CHANGE_HASH - 1] =
				PointerGetDatum(entry->client_change_hash);
			row->tts_isnull[LOG_CLIENT_BASE_REV - 1] = false;
			row->tts_isnull[LOG_CLIENT_CHANGE_HASH - 1] = false;
		}
	}
	row->tts_values[LOG_AUTHOR - 1] = CStringGetTextDatum(entry->author);
	row->tts_values[LOG_COMMITTED_AT - 1] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	row->tts_isnull[LOG_DOC_ID - 1] = row->tts_isnull[LOG_REV - 1] =
		row->tts_isnull[LOG_CHANGE - 1] = row->tts_isnull[LOG_AUTHOR - 1] =
			row->tts_isnull[LOG_COMMITTED_AT - 1] = false;
	ExecStoreVirtualTuple(row);
	st->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationInsert(st->change_log_info, st->estate, row);

	/* the row as read under the id lock, with the new head, length, pairs
	 * and size bounds */
	ExecClearTuple(moved);
	memcpy(moved->tts_values, st->document->tts_values, natts * sizeof(Datum));
	memcpy(moved->tts_isnull, st->document->tts_isnull, natts * sizeof(bool));
	moved->tts_values[DOC_HEAD - 1] = Int64GetDatum(entry->rev);
	moved->tts_values[DOC_LENGTH - 1] = Int64GetDatum(after->length);
	moved->tts_values[DOC_ASTRAL - 1] = astral;
	if (st->has_bounds)
	{
		bool known = after->bytes >= 0 && after->attributes_bytes >= 0;

		moved->tts_values[DOC_JSON_BYTES - 1] = Int64GetDatum(after->bytes);
		moved->tts_values[DOC_ATTRIBUTES_BYTES - 1] =
			Int64GetDatum(after->attributes_bytes);
		moved->tts_isnull[DOC_JSON_BYTES - 1] = !known;
		moved->tts_isnull[DOC_ATTRIBUTES_BYTES - 1] = !known;
	}
	if (st->has_snapshot_count)
	{
		bool known = since->snapshot_rev >= 0 && since->bytes >= 0;

		moved->tts_values[DOC_SNAPSHOT_REV - 1] =
			Int64GetDatum(since->snapshot_rev);
		moved->tts_values[DOC_BYTES_SINCE_SNAPSHOT - 1] =
			Int64GetDatum(since->bytes);
		moved->tts_isnull[DOC_SNAPSHOT_REV - 1] = !known;
		moved->tts_isnull[DOC_BYTES_SINCE_SNAPSHOT - 1] = !known;
	}
	ExecStoreVirtualTuple(moved);
	ExecSimpleRelationUpdate(st->documents_info, st->estate, NULL,
							 st->document, moved);

	ExecDropSingleTupleTableSlot(moved);
	ExecDropSingleTupleTableSlot(row);
	/* later statements of this transaction see the change */
	CommandCounterIncrement();
}
