/*
 * common.c — what every part of the stress test uses: the parent's
 * failures (counted, the first 20 printed, the run fails on any), deltas
 * as text for messages and failure files, and connections set up as the
 * run's configuration says (the snapshot interval every session must
 * agree on, and which notification path a client's submits take).
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edits.h"
#include "stress.h"

double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- deltas as text ------------------------------------------------------ */

/* The canonical JSON of d, NUL-terminated, in arena; NULL on failure. */
const char *
json_of(delta_arena *arena, const delta *d)
{
	delta_buf buf;

	if (d == NULL)
		return "(none)";
	delta_buf_init(&buf, arena);
	if (delta_write(&buf, d, NULL) != DELTA_OK ||
		delta_buf_append(&buf, "", 1, NULL) != DELTA_OK)
		return NULL;
	return buf.data;
}

/* At most PRINT_BYTES_MAX bytes of text, for a message. */
const char *
cut(const char *text)
{
	static char buf[PRINT_BYTES_MAX + 16];
	size_t len;

	if (text == NULL)
		return "(out of memory)";
	len = strlen(text);
	if (len <= PRINT_BYTES_MAX)
		return text;
	/* back up to a UTF-8 lead byte, so the message stays valid text */
	len = PRINT_BYTES_MAX;
	while (len > 0 && ((unsigned char) text[len] & 0xC0) == 0x80)
		len--;
	memcpy(buf, text, len);
	strcpy(buf + len, "...");
	return buf;
}

/*
 * Prints where two JSON texts first differ: a window of each around the
 * first differing byte (equal prefixes of long documents say nothing).
 */
void
print_difference(const char *left_name, const char *left,
				 const char *right_name, const char *right)
{
	size_t at = 0;
	size_t from;
	const char *texts[2] = {left, right};
	const char *names[2] = {left_name, right_name};
	int k;

	if (left == NULL || right == NULL)
		return;
	while (left[at] != '\0' && left[at] == right[at])
		at++;
	from = at > 120 ? at - 120 : 0;
	while (from > 0 && ((unsigned char) left[from] & 0xC0) == 0x80)
		from--;
	fprintf(stderr, "  first difference at byte %zu:\n", at);
	for (k = 0; k < 2; k++)
	{
		size_t len = strlen(texts[k]);
		size_t to = at + 240 < len ? at + 240 : len;

		while (to < len && ((unsigned char) texts[k][to] & 0xC0) == 0x80)
			to++;
		fprintf(stderr, "  %-8s %s%.*s%s\n", names[k], from ? "..." : "",
				(int) (to - from), texts[k] + from, to < len ? "..." : "");
	}
}

/* Writes text to out/name and says where; for the deltas of a failure. */
void
dump(const config *cfg, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cfg->out, name);
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fputs(text ? text : "(out of memory)", f);
	fputc('\n', f);
	fclose(f);
	fprintf(stderr, "  (in full: %s)\n", path);
}

/* --- libpq --------------------------------------------------------------- */

/*
 * A new connection to the cluster named by the environment (PGHOST,
 * PGPORT, ...), in UTF-8, with the run's snapshot interval and its
 * submits announced directly and storing their snapshots themselves
 * (collab.notify_worker and collab.snapshot_worker off) or through the
 * announcer and the snapshotter; NULL with a message in errbuf when that
 * fails.
 */
PGconn *
connect_db(const config *cfg, const char *app, bool direct, char *errbuf,
		   size_t errlen)
{
	const char *keys[] = {"client_encoding", "application_name", NULL};
	const char *values[] = {"UTF8", app, NULL};
	PGconn *conn = PQconnectdbParams(keys, values, 0);
	char sql[512];
	PGresult *res;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		snprintf(errbuf, errlen, "cannot connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	/* superuser only (all PGC_SUSET); every session must agree on the
	 * interval; the edits use formats beyond the default lists (edits.h),
	 * read once the library is loaded (without the preload, a session has
	 * not loaded it yet) */
	snprintf(sql, sizeof(sql),
			 "LOAD 'collab'; SELECT set_config('collab.allowed_embeds',"
			 " current_setting('collab.allowed_embeds') || ', %s', false),"
			 " set_config('collab.allowed_attributes',"
			 " current_setting('collab.allowed_attributes') || ', %s', false);"
			 " SET collab.snapshot_interval = %d;"
			 /* by count alone: history.c wants one at every multiple of
			  * the interval (sql/snapshot_size.sql tests the sizes) */
			 " SET collab.snapshot_ratio = 0;"
			 " SET collab.notify_worker = %s; SET collab.snapshot_worker = %s",
			 EDITS_EXTRA_EMBEDS, EDITS_EXTRA_ATTRIBUTES,
			 cfg->snapshot_interval, direct ? "off" : "on",
			 direct ? "off" : "on");
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		snprintf(errbuf, errlen, "%s: %s", sql, PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/*
 * Whether client i's submits NOTIFY themselves (collab.notify_worker off)
 * instead of going through the announcer: the clients of the last
 * direct_docs documents, or with mix_paths every other client of each
 * document.  Without the preload there is no announcer: every client.
 */
bool
client_direct(const config *cfg, int i)
{
	if (!cfg->preloaded)
		return true;
	if (cfg->mix_paths)
		return (i / cfg->docs) % 2 == 1;
	return i % cfg->docs >= cfg->docs - cfg->direct_docs;
}

/* --- the parent's failures ----------------------------------------------- */

int failures;

void
check_fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	if (failures > 20)
	{
		if (failures == 21)
			fprintf(stderr, "stress: FAIL: (more failures not shown)\n");
		return;
	}
	fprintf(stderr, "stress: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

PGresult *
parent_query(PGconn *conn, const char *sql, int nparams,
			 const char *const *params)
{
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		check_fail("%s: %s", sql, PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* --- the parent's helpers ------------------------------------------------ */

/* The initial content of document d: something of everything, or empty. */
const char *
initial_content(int d)
{
	switch (d % 3)
	{
		case 0:
			return "{\"ops\":[{\"insert\":\"Hello \"},"
				   "{\"insert\":\"w\xc3\xb6rld\",\"attributes\":{\"bold\":"
				   "true}},"
				   "{\"insert\":\" \xf0\x9f\x98\x80 "
				   "\xe6\x97\xa5\xe6\x9c\xac\"},"
				   "{\"insert\":{\"image\":\"x.png\"}},"
				   "{\"insert\":\"\\n\"}]}";
		case 1:
			return "{\"ops\":[]}";
		default:
			return "{\"ops\":[{\"insert\":\"Title\"},"
				   "{\"insert\":\"\\n\",\"attributes\":{\"header\":1}},"
				   "{\"insert\":\"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd "
				   "body\\n\"}]}";
	}
}

delta *
parent_parse(delta_arena *arena, const char *json, const char *what)
{
	delta *d;
	delta_error err;

	if (delta_parse(arena, json, strlen(json), &d, &err) != DELTA_OK)
	{
		check_fail("cannot parse %s: %s: %s", what, err.message, cut(json));
		return NULL;
	}
	return d;
}

/* The client index in a client id of this run, or -1. */
int
client_index(const config *cfg, const char *id)
{
	size_t len = strlen(cfg->run_id);
	char *end;
	long i;

	if (strncmp(id, cfg->run_id, len) != 0 || strncmp(id + len, "-c", 2) != 0)
		return -1;
	i = strtol(id + len + 2, &end, 10);
	if (*end != '\0' || i < 0 || i >= cfg->clients)
		return -1;
	return (int) i;
}
