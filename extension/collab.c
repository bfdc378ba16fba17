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
#include "snapshotter.h"
#include "worker.h"

PG_MODULE_MAGIC;

/* fmgr.h declares it from PostgreSQL 16 on */
void _PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("collab.snapshot_interval",
							"Revisions between two snapshots of a document.",
							"Reading any revision costs one snapshot plus at "
							"most this many changes.",
							&collab_snapshot_interval,
							COLLAB_SNAPSHOT_INTERVAL_DEFAULT,
							COLLAB_SNAPSHOT_INTERVAL_MIN,
							COLLAB_SNAPSHOT_INTERVAL_MAX, PGC_SUSET, 0, NULL,
							NULL, NULL);
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
