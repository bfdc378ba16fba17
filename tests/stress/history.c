/*
 * history.c — what the stress test proves about a document's stored
 * history, once every client has caught up and exited: the log holds
 * revisions 1..head with no gap; no (client_id, client_seq) appears twice;
 * every acknowledged change is in the log exactly once, at its
 * acknowledged revision, and nothing else is; every client ended at the
 * head; replaying collab.changes(doc, 0) on content(doc, 0) gives the
 * head, content(doc, r) at sampled revisions (either side of snapshots)
 * and every stored snapshot, and there is a snapshot at every multiple of
 * the snapshot interval.  It also hands the log to announcements.c, which
 * checks the notifications against it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edits.h"
#include "stress.h"

/*
 * Waits (up to 60 s) until doc_id has a snapshot at rev; the check that
 * follows reports a missing one.
 */
static void
wait_for_snapshots(PGconn *conn, const char *doc_id, int64_t rev)
{
	char revbuf[32];
	const char *params[2] = {doc_id, revbuf};
	int tries;

	snprintf(revbuf, sizeof(revbuf), "%" PRId64, rev);
	for (tries = 0; tries < 600; tries++)
	{
		PGresult *res = PQexecParams(
			conn,
			"SELECT 1 FROM collab.snapshots WHERE doc_id = $1 AND rev = $2", 2,
			NULL, params, NULL, NULL, 0);
		bool found =
			PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;

		PQclear(res);
		if (found)
			return;
		usleep(100 * 1000);
	}
}

/* Checks document d's history (stress.h); what it proves is above. */
void
check_document(const config *cfg, PGconn *conn, int d, const shared *sh,
			   const listener *l, doc_stats *st)
{
	char doc_id[64];
	const char *params[2] = {doc_id, NULL};
	int64_t seqs = cfg->edits + 2;
	delta_arena *arena = delta_arena_create(NULL);
	PGresult *log = NULL;
	PGresult *snaps = NULL;
	PGresult *res;
	bool *seen = NULL;
	bool *sample = NULL;
	delta *doc;
	int64_t head;
	int64_t acked = 0;
	int64_t r;
	int i;
	int next_snap = 0;
	bool misnumbered = false;
	edits_rng rng;

	snprintf(doc_id, sizeof(doc_id), "stress-%s-%d", cfg->run_id, d);
	memset(st, 0, sizeof(*st));
	edits_rng_seed(&rng, cfg->seed + (uint64_t) d);
	if (arena == NULL)
	{
		check_fail("out of memory");
		return;
	}
	if ((res = parent_query(conn, "SELECT collab.head($1)", 1, params)) ==
		NULL)
		goto out;
	st->head = head = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	/* revisions 1..head, no gap; each (client, seq) once */
	log = parent_query(conn,
					   "SELECT rev, change, client_id, client_seq"
					   " FROM collab.changes($1, 0)",
					   1, params);
	if (log == NULL)
		goto out;
	if (PQntuples(log) != head)
		check_fail("%s: head is %" PRId64 " but the log has %d changes",
				   doc_id, head, PQntuples(log));
	seen = calloc((size_t) cfg->clients * (size_t) seqs, sizeof(bool));
	if (seen == NULL)
		goto out;
	for (i = 0; i < PQntuples(log); i++)
	{
		int64_t rev = strtoll(PQgetvalue(log, i, 0), NULL, 10);
		const char *id = PQgetvalue(log, i, 2);
		int64_t seq = strtoll(PQgetvalue(log, i, 3), NULL, 10);
		int ci = PQgetisnull(log, i, 2) ? -1 : client_index(cfg, id);

		if (rev != i + 1 && !misnumbered)
		{
			/* once: every later one is off too */
			check_fail("%s: the log's change %d is rev %" PRId64
					   " (a gap or a duplicate)",
					   doc_id, i + 1, rev);
			misnumbered = true;
		}
		if (ci < 0 || seq < 1 || seq >= seqs)
		{
			check_fail("%s: rev %" PRId64
					   " has client %s seq %s, not one of this run's",
					   doc_id, rev, PQgetisnull(log, i, 2) ? "(null)" : id,
					   PQgetvalue(log, i, 3));
			continue;
		}
		if (seen[(size_t) ci * seqs + seq])
			check_fail("%s: (%s, %" PRId64 ") appears twice, again at rev "
					   "%" PRId64,
					   doc_id, id, seq, rev);
		seen[(size_t) ci * seqs + seq] = true;
	}

	/* every acknowledged change at its revision; nothing else logged */
	for (i = 0; i < cfg->clients; i++)
	{
		const client_report *rep = &sh->reports[i];
		const int64_t *acks = &sh->acks[(size_t) i * seqs];
		int64_t s;

		if (i % cfg->docs != d)
			continue;
		st->clients++;
		if (rep->phase == PHASE_PASSED && rep->final_rev != head)
			check_fail("%s: client %d ended at rev %" PRId64
					   ", the head is %" PRId64,
					   doc_id, i, rep->final_rev, head);
		for (s = 1; s <= rep->nseq; s++)
		{
			int64_t rev = acks[s];
			int row = (int) rev - 1;
			char want[64];

			if (rev == 0)
				continue; /* the client failed before its ack; it said so */
			acked++;
			snprintf(want, sizeof(want), "%s-c%d", cfg->run_id, i);
			if (rev < 1 || rev > PQntuples(log) ||
				strcmp(PQgetvalue(log, row, 2), want) != 0 ||
				strtoll(PQgetvalue(log, row, 3), NULL, 10) != s)
				check_fail("%s: client %d's seq %" PRId64
						   " was acknowledged as rev %" PRId64
						   ", but the log has another change there",
						   doc_id, i, s, rev);
		}
	}
	if (acked != PQntuples(log))
		check_fail("%s: the log has %d changes, the clients were "
				   "acknowledged %" PRId64,
				   doc_id, PQntuples(log), acked);
	if (!l->lost)
		check_announcements(cfg, l, sh, doc_id, d, log, st);

	/* the snapshotter takes its snapshots after commit: wait for them */
	wait_for_snapshots(conn, doc_id, head - head % cfg->snapshot_interval);

	/* replay; compare content() at sampled revisions and every snapshot */
	snaps = parent_query(conn,
						 "SELECT rev, content FROM collab.snapshots"
						 " WHERE doc_id = $1 ORDER BY rev",
						 1, params);
	if (snaps == NULL)
		goto out;
	{
		/* one at every multiple of the interval, by either path */
		int64_t want = 0;
		int k;

		for (k = 0; k < PQntuples(snaps) && want <= head; k++)
			if (strtoll(PQgetvalue(snaps, k, 0), NULL, 10) == want)
				want += cfg->snapshot_interval;
		if (want <= head)
			check_fail("%s: no snapshot at rev %" PRId64
					   " (snapshot_interval %d, head %" PRId64 ")",
					   doc_id, want, cfg->snapshot_interval, head);
	}
	sample = calloc((size_t) head + 1, sizeof(bool));
	if (sample == NULL)
		goto out;
	/* the ends, 2% of the rest, and either side of a quarter of the
	 * snapshots (the revisions where content() switches snapshot) */
	for (r = 0; r <= head; r++)
		sample[r] = r <= 1 || r >= head - 1 || edits_pick(&rng, 50) == 0;
	for (r = cfg->snapshot_interval; r <= head; r += cfg->snapshot_interval)
		if (edits_pick(&rng, 4) == 0)
		{
			sample[r - 1] = sample[r] = true;
			if (r < head)
				sample[r + 1] = true;
		}
	params[1] = "0";
	if ((res = parent_query(conn, "SELECT collab.content($1, $2)", 2,
							params)) == NULL)
		goto out;
	doc = parent_parse(arena, PQgetvalue(res, 0, 0), "content(0)");
	PQclear(res);
	if (doc == NULL)
		goto out;
	{
		/* create_document adds the newline an empty content lacks */
		const char *made = d % 3 == 1 ? "{\"ops\":[{\"insert\":\"\\n\"}]}"
									  : initial_content(d);
		delta *want = parent_parse(arena, made, "the content created");

		if (want != NULL && !delta_equal(want, doc))
			check_fail("%s: content(0) is %s, not the content created", doc_id,
					   cut(json_of(arena, doc)));
	}
	for (r = 0; r <= head; r++)
	{
		delta_error err;

		if (r > 0)
		{
			delta *change =
				parent_parse(arena, PQgetvalue(log, (int) r - 1, 1),
							 "a logged change");

			if (change == NULL)
				goto out;
			if (delta_apply(arena, doc, change, &doc, &err) != DELTA_OK)
			{
				check_fail("%s: rev %" PRId64
						   " does not apply to the replay: %s: %s",
						   doc_id, r, err.message,
						   cut(json_of(arena, change)));
				goto out;
			}
		}
		while (next_snap < PQntuples(snaps) &&
			   strtoll(PQgetvalue(snaps, next_snap, 0), NULL, 10) < r)
			next_snap++;
		if (next_snap < PQntuples(snaps) &&
			strtoll(PQgetvalue(snaps, next_snap, 0), NULL, 10) == r)
		{
			delta *snap = parent_parse(arena, PQgetvalue(snaps, next_snap, 1),
									   "a snapshot");

			st->snapshots++;
			if (snap != NULL && !delta_equal(snap, doc))
			{
				check_fail("%s: the snapshot at rev %" PRId64
						   " differs from the replay",
						   doc_id, r);
				print_difference("snapshot:", json_of(arena, snap),
								 "replay:", json_of(arena, doc));
				dump(cfg, "failure-snapshot.json", json_of(arena, snap));
				dump(cfg, "failure-replay.json", json_of(arena, doc));
			}
		}
		if (sample[r])
		{
			char rev[24];
			delta *got;

			snprintf(rev, sizeof(rev), "%" PRId64, r);
			params[1] = rev;
			if ((res = parent_query(conn, "SELECT collab.content($1, $2)", 2,
									params)) == NULL)
				goto out;
			got = parent_parse(arena, PQgetvalue(res, 0, 0), "content");
			PQclear(res);
			st->content_checks++;
			if (got != NULL && !delta_equal(got, doc))
			{
				check_fail("%s: content(%s, %" PRId64
						   ") differs from the replay of the log",
						   doc_id, doc_id, r);
				print_difference("content:", json_of(arena, got),
								 "replay:", json_of(arena, doc));
				dump(cfg, "failure-content.json", json_of(arena, got));
				dump(cfg, "failure-replay.json", json_of(arena, doc));
			}
		}
	}
	if (head >= cfg->snapshot_interval && st->snapshots < 2)
		check_fail("%s: %" PRId64 " revisions with snapshot_interval %d, "
				   "but no snapshot after rev 0",
				   doc_id, head, cfg->snapshot_interval);
	/* and the head, read without a revision */
	params[1] = NULL;
	if ((res = parent_query(conn, "SELECT collab.content($1)", 1, params)) ==
		NULL)
		goto out;
	{
		delta *got = parent_parse(arena, PQgetvalue(res, 0, 0), "content");

		if (got != NULL && !delta_equal(got, doc))
		{
			check_fail("%s: content(%s) differs from the replay of the log",
					   doc_id, doc_id);
			print_difference("content:", json_of(arena, got),
							 "replay:", json_of(arena, doc));
		}
	}
	PQclear(res);

out:
	free(seen);
	free(sample);
	PQclear(log);
	PQclear(snaps);
	delta_arena_destroy(arena);
}
