/*
 * test_plproxy.c — PL/Proxy's errors as the notifier reads them
 * (notifier/plproxy.c): a partition that cannot be reached is told apart
 * from every other XX000, and a partition's own error is given in its own
 * words.  The messages are PL/Proxy's as tests/partitions/run and
 * tests/notifier/partitions meet them.
 */
#include "check.h"
#include "plproxy.h"

#include <string.h>

int
main(void)
{
	/* unreachable: libpq's failures, and PL/Proxy's connect timeout */
	CHECK(plproxy_unreachable(
		"XX000", "PL/Proxy function collab.submit(6): [collab_p2] "
				 "PQconnectPoll: connection to server at \"127.0.0.1\", port "
				 "14193 failed: Connection refused\n\tIs the server running "
				 "on that host and accepting TCP/IP connections?"));
	CHECK(plproxy_unreachable(
		"XX000", "PL/Proxy function collab_proxy.submit_batch_split(8): "
				 "[collab_p2] PQconnectPoll: connection to server at "
				 "\"127.0.0.1\", port 16194 failed: FATAL:  the database "
				 "system is starting up"));
	CHECK(plproxy_unreachable(
		"XX000", "PL/Proxy function collab.head(1): [collab_p0] "
				 "PQconsumeInput: server closed the connection unexpectedly"));
	CHECK(plproxy_unreachable("XX000", "PL/Proxy function collab.head(1): "
									   "[collab_p0] PQflush: broken pipe"));
	CHECK(plproxy_unreachable(
		"XX000", "PL/Proxy function collab.head(1): connect timeout to: "
				 "host=10.0.0.9 dbname=collab_p3"));

	/* not: a partition's own errors, other XX000s, other SQLSTATEs */
	CHECK(!plproxy_unreachable(
		"XX000", "PL/Proxy function collab.submit(6): [collab_p2] REMOTE "
				 "ERROR: document \"[x] PQconnectPoll: y\" is broken"));
	CHECK(
		!plproxy_unreachable("P0002",
							 "PL/Proxy function collab.submit(6): [collab_p2] "
							 "PQconnectPoll: connection refused"));
	CHECK(!plproxy_unreachable("XX000",
							   "[collab_p2] PQconnectPoll: not PL/Proxy's"));
	CHECK(!plproxy_unreachable("XX000", "PL/Proxy function collab.head(1): "
										"[collab_p0] PQ: no call named"));
	CHECK(!plproxy_unreachable("XX000", "PL/Proxy function collab.head(1): "
										"[collab_p0] PQconsumeInput"));
	CHECK(!plproxy_unreachable("XX000", "PL/Proxy function collab.head(1): "
										"query timeout"));
	CHECK(!plproxy_unreachable("XX000", "collab.submit returned no row"));
	CHECK(!plproxy_unreachable("XX000", ""));

	/* a partition's own words, without PL/Proxy's prefix */
	CHECK(strcmp(plproxy_remote_text(
					 "PL/Proxy function collab.submit(6): [collab_p2] REMOTE "
					 "ERROR: document \"x\" does not exist"),
				 "document \"x\" does not exist") == 0);
	CHECK(strcmp(plproxy_remote_text("the change is not a delta"),
				 "the change is not a delta") == 0);
	CHECK(strcmp(plproxy_remote_text("a text that says ] REMOTE ERROR: x"),
				 "a text that says ] REMOTE ERROR: x") == 0);
	return check_summary("test_plproxy");
}
