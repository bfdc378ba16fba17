/*
 * identity.h — who a change or a document is recorded as written by
 * (identity.c; docs/auth.md, "Identity").
 */
#ifndef COLLAB_IDENTITY_H
#define COLLAB_IDENTITY_H

#include "postgres.h"

/*
 * The role trusted to name authors: the notifier logs in as a member of it
 * and passes its users' names.  The install script creates it (NOLOGIN)
 * when the cluster has none.
 */
#define IDENTITY_GATEWAY_ROLE "collab_gateway"

/*
 * Whom to record as the author: requested, when it is not NULL and the
 * caller's login (session_user) is a member of collab_gateway (or a
 * superuser); otherwise the login itself, whatever was requested.  A
 * requested name that is taken must be 1 to WIRE_ID_BYTES_MAX bytes
 * (22023); what names it in that message.  Palloc'd.
 */
char *identity_author(const char *requested, const char *what);

#endif
