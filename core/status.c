/*
 * status.c — filling the caller's error struct.
 */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

delta_status
delta_fail(delta_error *err, delta_status status, const char *fmt, ...)
{
	if (err != NULL)
	{
		va_list ap;

		err->status = status;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return status;
}
