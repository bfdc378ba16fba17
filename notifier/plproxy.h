/*
 * plproxy.h — what the notifier reads in PL/Proxy's errors, when --dsn names
 * a partitioned deployment's proxy (docs/scale-out.md).  PL/Proxy reports
 * every failure as "PL/Proxy function F(N): [PARTITION] ...", PARTITION
 * being the partition's database name; these say which of them is a lost
 * partition and what a partition itself said.  Pure functions on text:
 * tests/notifier/test_plproxy.c holds them to PL/Proxy's real messages.
 */
#ifndef COLLAB_NOTIFIER_PLPROXY_H
#define COLLAB_NOTIFIER_PLPROXY_H

#include <stdbool.h>

/*
 * Whether an error with SQLSTATE and MESSAGE is PL/Proxy's word that it
 * could not reach a partition: XX000 with "[collab_p2] " and then a libpq
 * call that failed ("PQconnectPoll: ... Connection refused",
 * "PQconsumeInput: server closed the connection unexpectedly"), or its
 * connect timeout.  Only those: any other XX000, a partition's own error
 * ("[collab_p2] REMOTE ERROR: ...") included, is not.
 */
bool plproxy_unreachable(const char *sqlstate, const char *message);

/*
 * MESSAGE without PL/Proxy's prefix when it is a partition's own error
 * ("PL/Proxy function collab.submit(6): [collab_p2] REMOTE ERROR: the
 * change ..." gives "the change ..."); MESSAGE itself otherwise.  Points
 * into MESSAGE.
 */
const char *plproxy_remote_text(const char *message);

#endif
