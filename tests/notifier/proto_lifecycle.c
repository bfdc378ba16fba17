/*
 * proto_lifecycle.c — what outlives a connection's ordinary life: a
 * database restart under a live stream, and the notifier's graceful stop.
 * Both need an option (--restart-cmd, --a-pid) and skip without it; the
 * stop ends instance A, so it runs last (protocol_test.c).
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * The database restarts (--restart-cmd, run by the shell) under a
 * subscriber on B; a change committed while the notifier reconnects is
 * still delivered.
 */
static void
test_database_restart_keeps_stream(void)
{
	const char *cmd = harness_restart_cmd();
	const char *doc = doc_name("restart");
	wsc *b;
	json_t *m;
	int rc;

	if (!cmd)
	{
		printf("skipped: no --restart-cmd\n");
		return;
	}
	b = connect_to('b');
	free(hello(b));
	subscribe(b, doc);
	db_disconnect();
	rc = system(cmd);
	check(rc == 0, "the database restarted (%s)", cmd);
	db_connect();
	{
		const char *p[1] = {doc};

		/* committed whether or not the notifier has reconnected yet */
		PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"after\"}]')",
					1, p));
	}
	m = expect(b, "change", "a change committed around a database restart");
	check(m && int_of(m, "rev") == 1,
		  "a change committed while the notifier reconnected is delivered");
	json_decref(m);
	wsc_free(b);
}

/* SIGTERM to A (--a-pid) closes its clients with 1001 (going away). */
static void
test_sigterm_closes_1001(void)
{
	int pid = harness_a_pid();
	wsc *a;

	if (!pid)
	{
		printf("skipped: no --a-pid\n");
		return;
	}
	a = connect_to('a');
	free(hello(a));
	kill(pid, SIGTERM);
	while (!wsc_is_closed(a) && wsc_next(a, WAIT_MS))
		;
	wsc_next(a, 200);
	check(wsc_is_closed(a) && wsc_close_code(a) == 1001,
		  "SIGTERM closes clients with 1001 (got %d)", wsc_close_code(a));
	wsc_free(a);
}

const harness_test proto_lifecycle[] = {
	{"database_restart_keeps_stream", test_database_restart_keeps_stream},
	{"sigterm_closes_1001", test_sigterm_closes_1001},
	{NULL, NULL},
};
