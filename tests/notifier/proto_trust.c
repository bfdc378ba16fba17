/*
 * proto_trust.c — what the notifier believes.  Any role that can log into
 * the database can NOTIFY on channel collab; with the database's
 * collab.notify_key and the same key given to the notifiers
 * (--notify-key-file, as tests/notifier/check sets them up), a payload
 * that collab did not seal changes nothing a client sees.
 */
#include "harness.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the database seals its announcements (collab.notify_key set). */
static bool
sealing(void)
{
	PGresult *r =
		sql("SELECT coalesce(current_setting('collab.notify_key', true), '') "
			"<> ''",
			0, NULL);
	bool on = r && strcmp(PQgetvalue(r, 0, 0), "t") == 0;

	PQclear(r);
	return on;
}

/*
 * The messages C receives within QUIET_MS of each other, after the first
 * (awaited up to WAIT_MS); counts them by kind and checks the changes are
 * REAL's revisions REV, REV + 1, ... in order.
 */
static void
expect_only_real(wsc *c, const char *real, json_int_t rev, char which)
{
	int changes = 0, other = 0;
	bool in_order = true;
	json_t *m;

	for (int wait = WAIT_MS; (m = next_json(c, wait)) != NULL; wait = 1000)
	{
		if (strcmp(type_of(m), "change") == 0)
		{
			json_t *ops = json_object_get(json_object_get(m, "change"), "ops");
			const char *ins = json_string_value(
				json_object_get(json_array_get(ops, 0), "insert"));

			in_order = in_order && int_of(m, "rev") == rev + changes && ins &&
					   strcmp(ins, real) == 0;
			changes++;
		}
		else
		{
			fprintf(stderr, "  unexpected on %c: %s\n", which, type_of(m));
			other++;
		}
		json_decref(m);
	}
	check(changes == 1 && in_order && other == 0,
		  "a subscriber on %c sees only the real revision %lld (%d changes, "
		  "%d other messages)",
		  which, (long long) rev, changes, other);
}

/*
 * An unprivileged role forges a change at revision 1, a deletion, a
 * presence, a change "too big to carry" at revision 1,000,000, an overflow
 * and a change with a wrong seal; then a real submit.  Subscribers on both
 * instances see only the real revision and keep their subscriptions, and
 * neither instance fetches anything for the forgeries.
 */
static void
test_forged_notifications_change_nothing(void)
{
	const char *doc = doc_name("forged");
	wsc *a, *b;
	PGconn *forger;
	char dsn[1024], payload[512];
	const char *forgeries[6];
	long long fetch_a, fetch_b, rej_a, rej_b;

	if (!sealing())
	{
		printf("skipped: the database has no collab.notify_key\n");
		return;
	}
	PQclear(sql("DO $$ BEGIN CREATE ROLE collab_forger LOGIN; "
				"EXCEPTION WHEN duplicate_object THEN NULL; END $$",
				0, NULL));
	snprintf(dsn, sizeof(dsn), "%s user=collab_forger", harness_dsn());
	forger = PQconnectdb(dsn);
	check(PQstatus(forger) == CONNECTION_OK,
		  "an unprivileged role logs in (%s)", PQerrorMessage(forger));
	a = connect_to('a');
	b = connect_to('b');
	free(hello(a));
	free(hello(b));
	subscribe(a, doc);
	subscribe(b, doc);
	fetch_a = metric('a', "collab_notifier_fetches_total");
	fetch_b = metric('b', "collab_notifier_fetches_total");
	rej_a = metric('a', "collab_notifier_notifications_rejected_total");
	rej_b = metric('b', "collab_notifier_notifications_rejected_total");

	forgeries[0] = "{\"type\":\"change\",\"doc\":\"%s\",\"rev\":1,\"client\":"
				   "null,\"seq\":null,\"change\":{\"ops\":[{\"insert\":"
				   "\"FORGED\"}]}}";
	forgeries[1] = "{\"type\":\"deleted\",\"doc\":\"%s\"}";
	forgeries[2] = "{\"type\":\"presence\",\"doc\":\"%s\",\"client\":"
				   "\"ghost\",\"state\":{\"index\":0}}";
	forgeries[3] = "{\"type\":\"change\",\"doc\":\"%s\",\"rev\":1000000,"
				   "\"client\":null,\"seq\":null}";
	forgeries[4] = "{\"type\":\"overflow\",\"dropped\":1,\"doc\":\"%s\"}";
	forgeries[5] = "0000000000000000000000000000000000000000000000000000000000"
				   "000000 {\"type\":\"change\",\"doc\":\"%s\",\"rev\":1,"
				   "\"client\":null,\"seq\":null,\"change\":{\"ops\":[{"
				   "\"insert\":\"SEALED WRONG\"}]}}";
	for (int i = 0; i < 6; i++)
	{
		const char *p[1] = {payload};
		PGresult *r;

		snprintf(payload, sizeof(payload), forgeries[i], doc);
		r = PQexecParams(forger, "SELECT pg_notify('collab', $1)", 1, NULL, p,
						 NULL, NULL, 0);
		check(PQresultStatus(r) == PGRES_TUPLES_OK,
			  "the forger's NOTIFY %d goes out (any role may)", i + 1);
		PQclear(r);
	}
	{
		const char *p[1] = {doc};

		PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"real\"}]')",
					1, p));
	}
	expect_only_real(a, "real", 1, 'a');
	expect_only_real(b, "real", 1, 'b');
	check(metric('a', "collab_notifier_fetches_total") == fetch_a &&
			  metric('b', "collab_notifier_fetches_total") == fetch_b,
		  "no fetch for any forgery on either instance");
	check(metric('a', "collab_notifier_notifications_rejected_total") -
					  rej_a >=
				  6 &&
			  metric('b', "collab_notifier_notifications_rejected_total") -
					  rej_b >=
				  6,
		  "both instances counted the six forgeries as rejected");
	/* the subscriptions go on */
	{
		const char *p[1] = {doc};

		PQclear(sql("SELECT collab.submit($1, 1, '[{\"insert\":\"real\"}]')",
					1, p));
	}
	expect_only_real(a, "real", 2, 'a');
	expect_only_real(b, "real", 2, 'b');
	PQfinish(forger);
	wsc_free(a);
	wsc_free(b);
}

const harness_test proto_trust[] = {
	{"forged_notifications_change_nothing",
	 test_forged_notifications_change_nothing},
	{NULL, NULL},
};
