/*
 * stress.h — what the files of the stress test (tests/stress/) share: the
 * run's configuration, the reports the client processes leave in shared
 * memory, the listener's record of notifications, and the helpers every
 * part uses.  stress.c says what the whole run proves and how its
 * processes are arranged; each file's header says what its part proves.
 *
 *   stress.c         the driver: options, documents, forking the clients,
 *                    the summary
 *   client.c         a client process: the OT client (tests/lib/otclient)
 *                    over libpq, its dropped connections and resubmits
 *   announcements.c  the listener and the checks of every notification
 *   history.c        the checks of the log, the acknowledgements,
 *                    snapshots and content() against a replay
 *   common.c         failures, deltas as text, connections
 */
#ifndef COLLAB_TESTS_STRESS_H
#define COLLAB_TESTS_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "delta.h"

/* Defaults: about 20-40 s on 2 cores with fsync on. */
#define CLIENTS_DEFAULT 16
#define DOCS_DEFAULT 3
#define EDITS_DEFAULT 2500
#define SNAPSHOT_INTERVAL_DEFAULT 7
#define DROP_RATE_DEFAULT 0.03
#define TIMEOUT_DEFAULT 600

/* A client's arena is copied into a fresh one past this many bytes. */
#define ARENA_COMPACT_BYTES (8u << 20)
/* Local documents hover around this length (UTF-16 units). */
#define DOC_TARGET_LENGTH 400
/* One insert in this many is a paste of at least this many bytes. */
#define PASTE_ONE_IN 500
#define PASTE_BYTES_MIN 9000
/* Chance, after a catch-up, of comparing the copy with the server's. */
#define VERIFY_RATE 0.03
/* Messages print at most this much of a delta; files get all of it. */
#define PRINT_BYTES_MAX 1500
/* Seconds to wait for the end markers after the clients have exited. */
#define MARKER_TIMEOUT 30
/* A change payload carries the change only when it takes at most this many
 * bytes, its NUL not counted (extension/notify.c); past that it is left out.
 */
#define NOTIFY_PAYLOAD_MAX 7900
/* Backend pids recorded per client (one per connection); past this many
 * its later connections are not told apart from the announcer. */
#define CLIENT_PIDS_MAX 512

typedef struct config {
	int clients;
	int docs;
	int edits;			   /* local edits per client */
	uint64_t seed;		   /* of the edits, not of the interleaving */
	int snapshot_interval; /* collab.snapshot_interval of every session */
	double drop_rate;	   /* chance that a submit loses its connection */
	int timeout;		   /* seconds for the whole run */
	const char *out;	   /* folder for failure dumps */
	bool verbose;
	int direct_docs;	   /* the last ones: their clients NOTIFY directly */
	bool mix_paths;		   /* instead, half of every document's clients do */
	bool allow_overflow;   /* an overflow message is not a failure */
	int announce_failures; /* client 0's collab.test_announce_failures */
	bool preloaded;		   /* collab in shared_preload_libraries: announcer */
	char run_id[32];	   /* makes document and client ids unique per run */
} config;

enum phase {
	PHASE_EDITING,
	PHASE_DONE_EDITING, /* nothing in flight, nothing buffered */
	PHASE_PASSED,		/* caught up and equal to the server */
	PHASE_EXITED		/* (the parent's view: the process is gone) */
};

/* What a client reports to the parent (its own slot, shared memory). */
typedef struct client_report {
	int phase;				   /* enum phase; atomic */
	int64_t edits;			   /* local edits made */
	int64_t submits;		   /* changes submitted (first submissions) */
	int64_t resubmits;		   /* submitted again after a dropped connection */
	int64_t dedups;			   /* ... answered with the first submission */
	int64_t incoming;		   /* other clients' changes received */
	int64_t transforms_flight; /* incoming changes met a change in flight */
	int64_t transforms_buffer; /* incoming changes met a buffer */
	int64_t server_transforms; /* revisions between base and ack, summed */
	int64_t verifies;		   /* mid-run comparisons with content() */
	int64_t nseq;			   /* sequence numbers used: 1..nseq */
	int64_t final_rev;		   /* the revision it ended at */
	int npids;				   /* connections made (pids: the first ones) */
	int pids[CLIENT_PIDS_MAX]; /* their backends, for the senders' check */
} client_report;

typedef struct shared {
	client_report *reports; /* [clients] */
	int64_t *acks;			/* [clients][edits + 2]: seq -> revision */
	size_t bytes;
} shared;

typedef struct doc_stats {
	int64_t head;
	int64_t snapshots;		/* stored snapshots checked, revision 0 too */
	int64_t content_checks; /* revisions whose content() was compared */
	int clients;
	int64_t announced;	   /* revisions of the log announced (once) */
	int64_t by_reference;  /* ... without their change (too big) */
	int64_t direct;		   /* ... by the submitting client's backend */
	int64_t via_announcer; /* ... by the announcer */
	int64_t missing;	   /* revisions of the log never announced */
} doc_stats;

/* A change notification about one of the run's documents, as it came. */
typedef struct announced {
	int64_t rev;
	const djson_value *client; /* a string, or null */
	const djson_value *seq;	   /* a number, or null */
	const djson_value *change; /* NULL when left out (too big) */
	size_t bytes;			   /* of the payload, without its NUL */
	int pid;				   /* of the backend that ran NOTIFY */
} announced;

/* What the listener heard of one document, in order of arrival. */
typedef struct doc_news {
	announced *items; /* malloc */
	size_t count;
	size_t cap;
	bool marker; /* the end marker has arrived */
} doc_news;

/* A client's backend (the parent's index of them, sorted by pid). */
typedef struct sender {
	int pid;
	int client;
} sender;

typedef struct listener {
	PGconn *conn;		/* LISTEN collab; NULL once done or lost */
	bool lost;			/* the connection broke: nothing to check */
	delta_arena *arena; /* the parsed payloads */
	doc_news *docs;		/* [cfg->docs] */
	char marker[64];	/* the end markers' client id */
	int markers;		/* documents whose end marker has arrived */
	int64_t received;	/* notifications taken */
	int64_t changes;	/* ... changes of the run's documents */
	int64_t foreign;	/* ... about other runs' documents (ignored) */
	int64_t overflows;	/* ... overflow messages */
	int64_t dropped;	/* the payloads those say were lost */
	sender *senders;	/* the clients' backends, once they have exited */
	size_t nsenders;
} listener;

/* --- common.c ------------------------------------------------------------ */

/* Failures the parent has reported (check_fail); the run fails on any. */
extern int failures;

/* Seconds on the monotonic clock. */
double now_seconds(void);

/* The canonical JSON of d, NUL-terminated, in arena; NULL on failure. */
const char *json_of(delta_arena *arena, const delta *d);

/* At most PRINT_BYTES_MAX bytes of text, for a message (a static buffer). */
const char *cut(const char *text);

/* Prints a window of each JSON text around their first difference. */
void print_difference(const char *left_name, const char *left,
					  const char *right_name, const char *right);

/* Writes text to cfg->out/name and says where; for the deltas of a failure. */
void dump(const config *cfg, const char *name, const char *text);

/*
 * A new connection to the cluster the environment names, in UTF-8, with
 * the run's snapshot interval; direct: its submits NOTIFY and store
 * snapshots themselves, else through the announcer and the snapshotter.
 * NULL with a message in errbuf when that fails.
 */
PGconn *connect_db(const config *cfg, const char *app, bool direct,
				   char *errbuf, size_t errlen);

/* Whether client i's submits NOTIFY themselves (notify_worker off). */
bool client_direct(const config *cfg, int i);

/* Counts and prints one of the parent's failures (the first 20). */
void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The parent's query; NULL (reported with check_fail) unless it returns
 * rows. */
PGresult *parent_query(PGconn *conn, const char *sql, int nparams,
					   const char *const *params);

/* The parent's parse; NULL (reported) when json is no delta. */
delta *parent_parse(delta_arena *arena, const char *json, const char *what);

/* The initial content of document d: something of everything, or empty. */
const char *initial_content(int d);

/* The client index in a client id of this run, or -1. */
int client_index(const config *cfg, const char *id);

/* --- client.c ------------------------------------------------------------ */

/*
 * Client index's whole life, in its own process: edits, flushes, waits
 * until go_fd reads end-of-file (every client is done), catches up and
 * compares.  Never returns: exits 0 when every check passed.
 */
void client_main(const config *cfg, int index, const shared *sh, int go_fd)
	__attribute__((noreturn));

/* --- announcements.c ----------------------------------------------------- */

/* LISTENs on its own connection; false (reported) when it cannot. */
bool listener_start(const config *cfg, listener *l);

/* Takes what has arrived, waiting up to timeout_ms for something. */
void listener_poll(const config *cfg, listener *l, int timeout_ms);

/*
 * Once every client has exited: sends the end markers and takes
 * notifications until they are in (everything is then); returns the
 * seconds it waited.
 */
double listener_finish(const config *cfg, listener *l);

/* Indexes the clients' backends by pid (after the clients have exited). */
void listener_index_senders(const config *cfg, listener *l, const shared *sh);

/* Closes the connection (if still open) and frees what l holds. */
void listener_destroy(const config *cfg, listener *l);

/*
 * Checks what the listener heard of document d (doc_id) against its log,
 * the rows of collab.changes(doc, 0): every revision announced once, in
 * order, with the log's client, seq and change, by its client's path.
 */
void check_announcements(const config *cfg, const listener *l,
						 const shared *sh, const char *doc_id, int d,
						 const PGresult *log, doc_stats *st);

/* --- history.c ----------------------------------------------------------- */

/*
 * Checks document d's log against the clients' acknowledgements and what
 * the listener heard (unless it lost its connection), and replays it,
 * comparing with content() and the stored snapshots; fills st.
 */
void check_document(const config *cfg, PGconn *conn, int d, const shared *sh,
					const listener *l, doc_stats *st);

#endif
