/*
 * log.c — one line per event on stderr (see log.h).  Single-threaded: the
 * notifier runs one event loop, so no locking.
 */
#include "log.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static log_level min_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
log_set_level(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
	{
		if (strcmp(name, level_names[i]) == 0)
		{
			min_level = (log_level) i;
			return 0;
		}
	}
	return -1;
}

static void
emit(log_level level, const char *text, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char stamp[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp, (int) (tv.tv_usec / 1000),
			level_names[level], (int) len, text);
}

void
log_msg(log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	emit(level, line,
		 (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
}

void
log_lws_emit(int lws_level, const char *line)
{
	log_level level = (lws_level & LLL_ERR) ? LOG_ERROR : LOG_WARN;
	size_t len = strlen(line);

	if (level < min_level)
		return;
	/* lws lines end with a newline of their own */
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	emit(level, line, len);
}
