/*
 * collab.c — the module's entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * Settings (collab.*) are defined here, and the "collab." prefix is
 * reserved, so a misspelt collab.* setting is reported instead of silently
 * kept as a placeholder.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "announcer.h"
#include "documents.h"

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
	announcer_init();
	MarkGUCPrefixReserved("collab");
}
