/*
 * contract.c — collab.contract(): the contract between the database and the
 * notifier as jsonb, from core/wire.h, its one definition.
 *
 * IMMUTABLE: the values are compiled in, and a different build is a
 * different extension version (the upgrade script re-creates the function).
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "wire.h"

PG_FUNCTION_INFO_V1(collab_contract);
Datum
collab_contract(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"channel\":");
	escape_json(&buf, WIRE_CHANNEL);
	appendStringInfo(&buf,
					 ",\"version\":%d,\"id_bytes_max\":%d"
					 ",\"payload_max\":%d}",
					 WIRE_VERSION, WIRE_ID_BYTES_MAX, WIRE_PAYLOAD_MAX);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
