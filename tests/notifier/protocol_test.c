/*
 * protocol_test.c — docs/protocol.md, message by message, against two real
 * notifier instances and a real database (tests/notifier/check runs it).
 *
 *   protocol_test --a HOST:PORT --b HOST:PORT --dsn CONNINFO
 *                 [--a-pid PID] [--restart-cmd CMD] [--a-log FILE]
 *                 [--only NAME]
 *
 * Instance A must run with --max-docs 5 --rate 100 --burst 200
 * --max-message-bytes 65536 --max-queue 256 (the limits tests provoke); B
 * with defaults (--max-inflight 16: provoked too); Q (--q, optional) with
 * the quotas of proto_quotas.c.
 *
 * The tests live by topic in tests/notifier/proto_<topic>.c, each file a
 * table of tests named for what they prove; harness.c holds what they
 * share.  Each check prints "ok" or "FAIL" with what differed; the exit
 * status is the number of failures (capped at 100).  --only NAME runs the
 * tests whose name contains NAME (the names print as "--- NAME").  With
 * --restart-cmd, a test restarts the database (CMD is run by the shell) and
 * expects a stream to survive it; with --a-pid, the last test sends SIGTERM
 * to A and expects close code 1001.
 *
 * The order is kept from before the split where it matters: the database
 * restart after every other test (a failure there must not hide theirs),
 * and SIGTERM, which ends A, last.  Within a topic, tests are independent:
 * each makes its own documents and connections.
 */
#include "harness.h"

#include <stddef.h>

int
main(int argc, char **argv)
{
	static const harness_test *const topics[] = {
		proto_subscribe, /* snapshots, resume, unsubscribe, deletion */
		proto_submit,	 /* acks, fan-out, resubmits, big changes, order */
		proto_presence,	 /* announced and cleared across instances */
		proto_fetch,	 /* revisions, HTML, the id echoed */
		proto_errors,	 /* bad messages and fields, ids, subprotocol */
		proto_limits,	 /* documents, rate, size, in flight, slow, burst */
		proto_trust,	 /* forged notifications change nothing */
		proto_quotas,	 /* byte rate, per address, creations, shared
						  * fetches, a burst (instances q and b) */
		proto_auth,		 /* tokens, rights, ids (instance c) */
		proto_lifecycle, /* database restart, then SIGTERM: last */
		NULL,
	};

	return harness_main(argc, argv, topics);
}
