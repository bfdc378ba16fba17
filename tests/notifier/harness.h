/*
 * harness.h — what protocol_test's topic files (tests/notifier/proto_*.c)
 * share: the two notifier instances, the database, reading and checking
 * messages, and running the tests by name.
 *
 * Two instances, 'a' and 'b', serve one database (tests/notifier/check
 * starts them; A with small limits the tests provoke, see protocol_test.c).
 * Every connection lives in one wsc loop; the database connection is one
 * blocking libpq connection.  A test is a void function: it checks what it
 * proves with check() and the expect_* helpers, each of which prints one
 * "ok"/"FAIL" line, and frees every connection it opened.  A failed check
 * does not stop the test: later checks report what they see (usually a
 * missing message).  What the harness cannot recover from (no connection,
 * a failed SQL statement, out of memory) exits with status 100.
 *
 * Waits are bounded: a message is awaited for WAIT_MS, silence for
 * QUIET_MS.  Presence messages are skipped while waiting for anything else,
 * since presence is announced whenever a subscription ends.
 *
 * Names (documents, client ids) carry the run's id, so a run never meets
 * the documents of an earlier one in the same database.
 *
 * Single-threaded, as wsc is.
 */
#ifndef COLLAB_TESTS_HARNESS_H
#define COLLAB_TESTS_HARNESS_H

#include "wsc.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#define WAIT_MS 5000 /* longest wait for an expected message */
#define QUIET_MS 300 /* how long "nothing arrives" is watched */

/* --- checks ---------------------------------------------------------------
 */

/* Prints "ok" or "FAIL" and the formatted claim; a FAIL counts. */
void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* --- names ----------------------------------------------------------------
 */

/*
 * "BASE-RUNID": a document name (doc_name) or a client id (client_name)
 * unique to this run.  The text stays valid for the next 63 calls of
 * either.
 */
const char *doc_name(const char *base);
const char *client_name(const char *base);

/* --- the instances ----------------------------------------------------------
 */

/* Host and port of instance WHICH ('a', 'b', 'c' or 'q'). */
const char *instance_host(char which);
int instance_port(char which);

/* A wsc connection to instance WHICH, its messages in its inbox. */
wsc *connect_to(char which);

/*
 * Services the loop until C's queued messages are written (at most
 * WAIT_MS): a drop after it loses the answer, not the request.
 */
void wait_sent(wsc *c);

/* Counter NAME of instance WHICH's /metrics; -1 if unreadable. */
long long metric(char which, const char *name);

/* --- messages -------------------------------------------------------------
 */

/* The next message of C, parsed; NULL after TIMEOUT_MS (not a failure). */
json_t *next_json(wsc *c, int timeout_ms);

/* TEXT (malloc'd, freed here) parsed as a server message; NULL, reported,
 * when it is not JSON. */
json_t *parse_message(char *text);

/* M's "type" ("(none)" without one), an integer field, a string field
 * ("" when missing or not a string). */
const char *type_of(json_t *m);
json_int_t int_of(json_t *m, const char *key);
const char *str_of(json_t *m, const char *key);

/* Whether GOT equals the JSON text WANT; prints the difference if not. */
bool same_json(json_t *got, const char *want_text, const char *what);

/*
 * The next message of type TYPE (presence skipped unless TYPE is presence),
 * the caller's to release; NULL, reported as a failure about WHAT, when
 * something else or nothing comes.
 */
json_t *expect(wsc *c, const char *type, const char *what);

/* An error with CODE and a message; checks doc when DOC is not NULL, seq
 * when SEQ > 0. */
void expect_error_seq(wsc *c, const char *code, const char *doc,
					  json_int_t seq, const char *what);
void expect_error(wsc *c, const char *code, const char *doc, const char *what);

/* Nothing but presence arrives on C for QUIET_MS (one check). */
void expect_quiet(wsc *c, const char *what);

/* Awaits hello (checking it names a client id and the server); returns the
 * client id, malloc'd, "" when none came. */
char *hello(wsc *c);

/* Subscribes C to DOC with create; returns the snapshot's revision, -1 if
 * none came. */
json_int_t subscribe(wsc *c, const char *doc);

/* --- the database ---------------------------------------------------------
 */

/* Runs QUERY with N text parameters; the result is the caller's. */
PGresult *sql(const char *query, int n, const char *const *params);

/* collab.content(DOC) as text, malloc'd. */
char *sql_content(const char *doc);

/* Closes the database connection (before a restart) and opens it again. */
void db_disconnect(void);
void db_connect(void);

/* --- running ----------------------------------------------------------------
 */

typedef struct harness_test {
	const char *name; /* says what the test proves; --only matches on it */
	void (*fn)(void);
} harness_test;

/* --dsn's connection string (a test appends user=... to log in as another
 * role: libpq takes the last value of a keyword). */
const char *harness_dsn(void);

/* --restart-cmd's shell command and --a-pid's process, NULL and 0 when not
 * given (the lifecycle tests then skip). */
const char *harness_restart_cmd(void);
int harness_a_pid(void);

/* --a-log's file, instance A's log (stderr), or NULL: the tests that read
 * it skip without it. */
const char *harness_a_log(void);

/*
 * Whether A's log holds NEEDLE, read again until it does or TIMEOUT_MS
 * have passed (the loop serviced meanwhile); false without --a-log.
 */
bool a_log_has(const char *needle, int timeout_ms);

/*
 * Parses the command line (protocol_test.c says which), connects, runs the
 * tests of TOPICS (NULL-terminated lists of NULL-terminated tables) in
 * order, or with --only NAME those whose name contains NAME; returns the
 * exit status: the number of failures, capped at 100.
 */
/*
 * Instance c (--c), when given, requires tokens: signed with the HS256
 * secret in harness_auth_secret()'s file, or the EC P-256 private key in
 * harness_auth_ec_key()'s (PEM), audience "collab".
 */
bool harness_has_c(void);

/*
 * Instance q (--q), when given, runs with small quotas that its tests
 * provoke (proto_quotas.c says which); its tests skip without it.
 */
bool harness_has_q(void);
const char *harness_auth_secret(void);
const char *harness_auth_ec_key(void);

int harness_main(int argc, char **argv, const harness_test *const *topics);

/* The topics, one table each (tests/notifier/proto_<topic>.c). */
extern const harness_test proto_subscribe[];
extern const harness_test proto_submit[];
extern const harness_test proto_presence[];
extern const harness_test proto_fetch[];
extern const harness_test proto_errors[];
extern const harness_test proto_limits[];
extern const harness_test proto_trust[];
extern const harness_test proto_auth[];
extern const harness_test proto_quotas[];
extern const harness_test proto_lifecycle[];

#endif
