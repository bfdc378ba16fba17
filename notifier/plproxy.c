/*
 * plproxy.c — PL/Proxy's error messages read (see plproxy.h).
 */
#include "plproxy.h"

#include <string.h>

#define PREFIX "PL/Proxy function "

/* Where the text after "PL/Proxy function F(N): " starts, or NULL. */
static const char *
after_function(const char *message)
{
	const char *p;

	if (strncmp(message, PREFIX, sizeof(PREFIX) - 1) != 0 ||
		!(p = strstr(message, "): ")))
		return NULL;
	return p + 3;
}

bool
plproxy_unreachable(const char *sqlstate, const char *message)
{
	static const char timeout[] = "connect timeout to: ";
	const char *p = after_function(message), *end;

	if (strcmp(sqlstate, "XX000") != 0 || !p)
		return false;
	if (strncmp(p, timeout, sizeof(timeout) - 1) == 0)
		return true;
	if (*p != '[' || !(p = strstr(p, "] ")))
		return false;
	p += 2;
	if (strncmp(p, "PQ", 2) != 0)
		return false;
	for (end = p + 2;
		 (*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z'); end++)
		;
	return end > p + 2 && *end == ':';
}

const char *
plproxy_remote_text(const char *message)
{
	static const char remote[] = "] REMOTE ERROR: ";
	const char *p = after_function(message), *q;

	if (!p || *p != '[' || !(q = strstr(p, remote)))
		return message;
	return q + sizeof(remote) - 1;
}
