/*
 * collab.c — the module's entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * Settings (collab.*) are defined here as they arrive; for now _PG_init only
 * reserves the "collab." prefix, so a misspelt collab.* setting is reported
 * instead of silently kept as a placeholder.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

/* fmgr.h declares it from PostgreSQL 16 on */
void _PG_init(void);

void
_PG_init(void)
{
	MarkGUCPrefixReserved("collab");
}
