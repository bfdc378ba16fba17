/*
 * collab.c — the module's entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * Settings (collab.*) are defined here, and the "collab." prefix is
 * reserved, so a misspelt collab.* setting is reported instead of silently
 * kept as a placeholder.  Each setting's variable and limits are declared
 * in the header of the file that uses it.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "announcer.h"
#include "documents.h"
#include "formats.h"
#include "notify.h"
#include "quota.h"
#include "snapshotter.h"
#include "worker.h"

PG_MODULE_MAGIC;

/* collab.notify_key: empty (no seal), or a key long enough to be one */
static bool
check_notify_key(char **newval, void **extra, GucSource source)
{
	(void) extra;
	(void) source;
	if (*newval != NULL && (*newval)[0] != '\0' &&
		strlen(*newval) < COLLAB_NOTIFY_KEY_MIN)
	{
		GUC_check_errdetail("A key has at least %d bytes; this one has %zu.",
							COLLAB_NOTIFY_KEY_MIN, strlen(*newval));
		return false;
	}
	return true;
}

/* fmgr.h declares it from PostgreSQL 16 on */
void _PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable(
		"collab.snapshot_interval",
		"Most revisions between two snapshots of a document.",
		"A snapshot is taken after this many revisions even if they changed "
		"less than collab.snapshot_ratio of the document.",
		&collab_snapshot_interval, COLLAB_SNAPSHOT_INTERVAL_DEFAULT,
		COLLAB_SNAPSHOT_INTERVAL_MIN, COLLAB_SNAPSHOT_INTERVAL_MAX, PGC_SUSET,
		0, NULL, NULL, NULL);
	DefineCustomRealVariable(
		"collab.snapshot_ratio",
		"Changes, as a fraction of a document's size, that make it due a "
		"snapshot.",
		"A snapshot is taken when the JSON bytes of the changes since the "
		"last one reach this fraction of the document's length (and at "
		"least 16 kB), so reading any revision costs at most the snapshot "
		"and this fraction of it in changes. 0: by "
		"collab.snapshot_interval alone.",
		&collab_snapshot_ratio, COLLAB_SNAPSHOT_RATIO_DEFAULT,
		COLLAB_SNAPSHOT_RATIO_MIN, COLLAB_SNAPSHOT_RATIO_MAX, PGC_SUSET, 0,
		NULL, NULL, NULL);
	DefineCustomIntVariable(
		"collab.batch_lock_timeout",
		"Longest a submit of collab.submit_batch waits for its document.",
		"A document another transaction holds longer than this (or than "
		"lock_timeout, if shorter) fails that submit alone, with 55P03, "
		"and the rest of the batch goes on. 0: as lock_timeout says.",
		&collab_batch_lock_timeout, COLLAB_BATCH_LOCK_TIMEOUT_DEFAULT, 0,
		INT_MAX, PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable(
		"collab.max_change_bytes", "Largest change a submit takes.",
		"The size of the change's JSON, normalised and without spaces, as "
		"it was submitted.",
		&collab_max_change_bytes, COLLAB_MAX_CHANGE_BYTES_DEFAULT,
		COLLAB_MAX_CHANGE_BYTES_MIN, COLLAB_MAX_CHANGE_BYTES_MAX, PGC_SUSET,
		GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable(
		"collab.max_document_bytes",
		"Largest document a create or a submit may make.",
		"The size of the document's JSON without spaces. A document over a "
		"lowered limit still takes changes that do not make it larger.",
		&collab_max_document_bytes, COLLAB_MAX_DOCUMENT_BYTES_DEFAULT,
		COLLAB_MAX_DOCUMENT_BYTES_MIN, COLLAB_MAX_DOCUMENT_BYTES_MAX,
		PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomStringVariable(
		"collab.allowed_embeds", "Embeds a change may insert.",
		"Names separated by commas; * allows any, an empty list none.",
		&collab_allowed_embeds, FORMATS_EMBEDS_DEFAULT, PGC_SUSET,
		GUC_LIST_INPUT, formats_check_list, formats_assign_embeds, NULL);
	DefineCustomStringVariable(
		"collab.allowed_attributes", "Attributes a change may set.",
		"Names separated by commas; * allows any, an empty list none. "
		"Removing an attribute (null) is always allowed.",
		&collab_allowed_attributes, FORMATS_ATTRIBUTES_DEFAULT, PGC_SUSET,
		GUC_LIST_INPUT, formats_check_list, formats_assign_attributes, NULL);
	DefineCustomBoolVariable(
		"collab.notify_worker",
		"Announce changes through collab's background worker.",
		"Needs collab in shared_preload_libraries; off, or without it, "
		"each submit runs NOTIFY itself. Set it per database or cluster: "
		"sessions that write one document by different paths can have its "
		"revisions announced out of order.",
		&collab_notify_worker, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable(
		"collab.snapshot_worker",
		"Take snapshots after commit, in collab's background worker.",
		"Needs collab in shared_preload_libraries; off, or without it, the "
		"submit whose revision is due a snapshot builds and stores it in "
		"its own transaction.",
		&collab_snapshot_worker, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable(
		"collab.notify_key",
		"Key that seals every announcement on channel collab.",
		"HMAC-SHA256 over each payload, so that collab-notifier, given the "
		"same key (--notify-key-file), believes only collab's own "
		"announcements: any role can NOTIFY. Empty: payloads go unsealed.",
		&collab_notify_key, "", PGC_SIGHUP,
		GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
		check_notify_key, NULL, NULL);
	DefineCustomIntVariable(
		"collab.test_announce_failures",
		"For tests only: makes the announcer's transactions fail.",
		"Committing with it above 0 makes the announcer's next that many "
		"transactions, from the one that announces this one's changes, "
		"fail, as a full NOTIFY queue would make them fail.",
		&collab_test_announce_failures, 0, 0,
		COLLAB_TEST_ANNOUNCE_FAILURES_MAX, PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL,
		NULL, NULL);
	/* it sizes shared memory: only while the preload can still ask for it */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable(
			"collab.notify_queue_kb",
			"Size of each database's queue of announcements, in kB.", NULL,
			&collab_notify_queue_kb, COLLAB_NOTIFY_QUEUE_KB_DEFAULT,
			COLLAB_NOTIFY_QUEUE_KB_MIN, COLLAB_NOTIFY_QUEUE_KB_MAX,
			PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	announcer_init();
	snapshotter_init();
	worker_init();
	MarkGUCPrefixReserved("collab");
}
