/*
 * log.h — the notifier's log: one line per event on stderr, with a
 * timestamp (UTC, milliseconds) and a level, so that a line can be grepped
 * and parsed: "2026-11-28T20:55:01.123Z info ws: connected id=42 peer=...".
 *
 * Levels below the configured one are not printed.  libwebsockets' own
 * warnings and errors come through here too (log_lws_emit).
 *
 * Every line is escaped as it is printed (log_escape), whatever its
 * arguments: much of what is logged was chosen by a client or by whoever
 * can write to the database (document and client ids, Origins, server
 * messages), and a newline or a terminal escape in it must not forge a line
 * or rewrite the screen of whoever reads the log.  Callers print ids with a
 * plain %s; there is no unescaped way to the log.
 */
#ifndef COLLAB_NOTIFIER_LOG_H
#define COLLAB_NOTIFIER_LOG_H

#include <stddef.h>

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

/*
 * IN[0..LEN) as the log prints it, into OUT (SIZE > 0 bytes, always
 * NUL-terminated): well-formed UTF-8 stays as it is, except that a
 * backslash becomes "\\" and every byte of a control character (C0, DEL,
 * C1), a line or paragraph separator (U+2028, U+2029), a bidirectional
 * override or isolate (U+202A..U+202E, U+2066..U+2069) or an ill-formed
 * sequence becomes "\xNN".  An escape is never split: what does not fit is
 * left out whole.  Returns the bytes written, without the NUL.
 */
size_t log_escape(char *out, size_t size, const char *in, size_t len);

#endif
