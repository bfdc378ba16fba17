/*
 * identity.c — who a change or a document is recorded as written by.
 *
 * The notifier writes for many users through one login, so the author of
 * its changes is the user it names.  Anyone could name anyone, though, so a
 * name is taken only from a login that is a member of collab_gateway, the
 * role the administrator gives to the notifier alone; every other caller is
 * recorded as its login, whatever it passes.
 *
 * The login is session_user: collab's functions are SECURITY DEFINER, so
 * current_user inside them is their owner, and outside them a login can SET
 * ROLE to any role it is a member of; the login is who connected.
 * Membership counts with or without INHERIT (a member can always SET ROLE
 * collab_gateway), and a superuser is a member of every role.  The role is
 * looked up by name on each call that names an author: a dropped and
 * re-created collab_gateway is the new one, a dropped one has no members.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/acl.h"

#include "identity.h"
#include "wire.h"

static bool
caller_is_gateway(void)
{
	Oid login = GetSessionUserId();
	Oid gateway;

	if (superuser_arg(login))
		return true;
	gateway = get_role_oid(IDENTITY_GATEWAY_ROLE, true);
	return OidIsValid(gateway) && is_member_of_role(login, gateway);
}

char *
identity_author(const char *requested, const char *what)
{
	if (requested != NULL && caller_is_gateway())
	{
		size_t len = strlen(requested);

		if (len == 0 || len > WIRE_ID_BYTES_MAX)
			ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("%s must be 1 to %d bytes long", what,
						   WIRE_ID_BYTES_MAX));
		return pstrdup(requested);
	}
	return GetUserNameFromId(GetSessionUserId(), false);
}
