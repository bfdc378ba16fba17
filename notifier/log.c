/*
 * log.c — one line per event on stderr, every line escaped (see log.h).
 * Single-threaded: the notifier runs one event loop, so no locking.
 */
#include "log.h"

#include "utf8.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* bytes of a line before escaping, and after (each byte at most 4) */
#define LOG_LINE_BYTES 1024
#define LOG_ESCAPED_BYTES (4 * LOG_LINE_BYTES)

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

/* Whether code point CP is shown as its bytes' escapes: controls, and what
 * moves or reorders text in a viewer. */
static bool
escaped_code_point(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
		   cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
		   (cp >= 0x2066 && cp <= 0x2069);
}

size_t
log_escape(char *out, size_t size, const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *) in;
	size_t o = 0, i = 0;

	while (i < len)
	{
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		bool escape = n == 0 || escaped_code_point(cp);
		size_t units = n == 0 ? 1 : n; /* an ill-formed byte alone */
		size_t need = escape ? 4 * units : (s[i] == '\\' ? 2 : units);

		if (o + need >= size)
			break;
		if (escape)
		{
			for (size_t k = 0; k < units; k++)
			{
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[s[i + k] >> 4];
				out[o++] = hex[s[i + k] & 15];
			}
		}
		else if (s[i] == '\\')
		{
			out[o++] = '\\';
			out[o++] = '\\';
		}
		else
		{
			memcpy(out + o, s + i, units);
			o += units;
		}
		i += units;
	}
	out[o] = '\0';
	return o;
}

static void
emit(log_level level, const char *text, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char stamp[32];
	char line[LOG_ESCAPED_BYTES];
	size_t n = log_escape(line, sizeof(line), text, len);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp, (int) (tv.tv_usec / 1000),
			level_names[level], (int) n, line);
}

void
log_msg(log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_BYTES];
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
