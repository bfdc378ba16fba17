/*
 * log.h — the notifier's log: one line per event on stderr, with a
 * timestamp (UTC, milliseconds) and a level, so that a line can be grepped
 * and parsed: "2026-11-28T20:55:01.123Z info ws: connected id=42 peer=...".
 *
 * Levels below the configured one are not printed.  libwebsockets' own
 * warnings and errors come through here too (log_lws_emit).
 */
#ifndef COLLAB_NOTIFIER_LOG_H
#define COLLAB_NOTIFIER_LOG_H

typedef enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
} log_level;

/* Sets the lowest level printed; returns 0, or -1 for an unknown name. */
int log_set_level(const char *name);

/* Prints one line at LEVEL (printf format; no trailing newline needed). */
void log_msg(log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An emit function for lws_set_log_level: lws lines at warn or error. */
void log_lws_emit(int lws_level, const char *line);

#endif
