/*
 * submitter.c — clients that keep submitting through the proxy across a
 * partition's failover and record every acknowledged submit, for
 * tests/partitions/failover.
 *
 *   submitter DSN OUTDIR PREFIX CLIENTS SECONDS RETRY_SECONDS DOC...
 *
 * Forks CLIENTS processes; client i holds one connection to DSN (the
 * proxy: a long-lived session, as a notifier's pool holds one) and, for
 * SECONDS, submits one change after the other as client_id PREFIX<i> with
 * client_seq 1, 2, ...: submit k goes to DOC[(i + k) % NDOCS] and inserts
 * the text "<PREFIX<i>.k>" at the start, against the revision of this client's
 * last acknowledged submit to that document (so the partition transforms
 * it over the other clients' changes).
 *
 * A submit that fails because its partition could not be reached (see
 * unavailable()) is resubmitted, the same (client, seq), document, base and
 * change, every RETRY_DELAY_MS until it is acknowledged or RETRY_SECONDS
 * have passed since its first attempt: exactly-once says a resubmit of one
 * that did commit returns its first result.  Any other error (a base ahead
 * of the head: an acknowledged revision lost) is not retried.  A client
 * that gives up stops and the exit status is 1.
 *
 * Client i appends to OUTDIR/client-PREFIX<i>.log, one line per event, times
 * in milliseconds since the epoch (CLOCK_REALTIME, comparable with date's):
 *   ack CLIENT SEQ DOC REV FIRST_ATTEMPT_MS ACK_MS ATTEMPTS
 *   err CLIENT SEQ DOC AT_MS SQLSTATE first line of the message
 *   reset CLIENT AT_MS           (the session to the proxy itself was lost)
 *   gaveup CLIENT SEQ DOC AT_MS
 * Each line is written with one write(2) once its event is known, so a
 * line in the file is a complete event.
 */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 32
#define MAX_DOCS 64
#define RETRY_DELAY_MS 100

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Appends a line to the client's log: format plus a newline. */
static void record(FILE *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
record(FILE *log, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n > sizeof(line) - 2)
		n = (int) sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t) n, log);
	fflush(log);
}

/*
 * True for an error that says the partition was out of reach, not that the
 * submit was refused: PL/Proxy's XX000 for a connection it could not make
 * or that broke ("[collab_p0] PQconnectPoll: ...", "PQconsumeInput: ..."),
 * the partition's own 57P01..57P03 (shut down, crashed: "REMOTE FATAL"),
 * and 08... when the proxy session itself broke (no result at all).
 */
static bool
unavailable(const char *sqlstate)
{
	return sqlstate == NULL || strcmp(sqlstate, "XX000") == 0 ||
		   strncmp(sqlstate, "57P0", 4) == 0 ||
		   strncmp(sqlstate, "08", 2) == 0;
}

/* PL/Proxy's "dropping stale conn" notices: the log's err lines say it */
static void
ignore_notice(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/* The first line of a libpq error message, for a log line. */
static void
first_line(const char *msg, char *out, size_t size)
{
	size_t n = strcspn(msg, "\n");

	if (n >= size)
		n = size - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
}

/*
 * One client: submits until the deadline; returns 0, or 1 when a submit
 * was given up on.
 */
static int
run_client(const char *dsn, const char *outdir, const char *prefix, int id,
		   int seconds, int retry_seconds, char **docs, int ndocs)
{
	char path[4096], client[32];
	long long last_rev[MAX_DOCS] = {0};
	long long deadline = now_ms() + (long long) seconds * 1000;
	FILE *log;
	PGconn *conn;

	snprintf(client, sizeof(client), "%.20s%d", prefix, id);
	snprintf(path, sizeof(path), "%s/client-%s.log", outdir, client);
	log = fopen(path, "a");
	if (log == NULL)
	{
		perror(path);
		return 1;
	}
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "submitter: client %d: %s", id, PQerrorMessage(conn));
		PQfinish(conn);
		fclose(log);
		return 1;
	}
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	for (long long seq = 1; now_ms() < deadline; seq++)
	{
		int d = (int) ((id + seq) % ndocs);
		char base[32], seqs[32], change[96];
		const char *params[5] = {docs[d], base, change, client, seqs};
		long long first = now_ms();
		int attempts = 0;

		snprintf(base, sizeof(base), "%lld", last_rev[d]);
		snprintf(seqs, sizeof(seqs), "%lld", seq);
		snprintf(change, sizeof(change), "[{\"insert\":\"<%s.%lld>\"}]",
				 client, seq);
		for (;;)
		{
			PGresult *res;
			const char *state;
			char msg[256];

			attempts++;
			res = PQexecParams(conn,
							   "SELECT rev FROM collab.submit($1, $2::bigint, "
							   "$3::jsonb, $4, $5::bigint)",
							   5, NULL, params, NULL, NULL, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			{
				last_rev[d] = atoll(PQgetvalue(res, 0, 0));
				record(log, "ack %s %lld %s %lld %lld %lld %d", client, seq,
					   docs[d], last_rev[d], first, now_ms(), attempts);
				PQclear(res);
				break;
			}
			first_line(PQerrorMessage(conn), msg, sizeof(msg));
			state =
				res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
			record(log, "err %s %lld %s %lld %s %s", client, seq, docs[d],
				   now_ms(), state != NULL ? state : "-", msg);
			if (PQstatus(conn) != CONNECTION_OK)
			{
				record(log, "reset %s %lld", client, now_ms());
				PQreset(conn);
			}
			if (!unavailable(state) ||
				now_ms() - first > (long long) retry_seconds * 1000)
			{
				record(log, "gaveup %s %lld %s %lld", client, seq, docs[d],
					   now_ms());
				PQclear(res);
				PQfinish(conn);
				fclose(log);
				return 1;
			}
			PQclear(res);
			sleep_ms(RETRY_DELAY_MS);
		}
	}
	PQfinish(conn);
	fclose(log);
	return 0;
}

int
main(int argc, char **argv)
{
	int clients, seconds, retry_seconds, ndocs, status = 0;
	pid_t pids[MAX_CLIENTS];

	if (argc < 8)
	{
		fprintf(stderr, "usage: submitter DSN OUTDIR PREFIX CLIENTS SECONDS "
						"RETRY_SECONDS DOC...\n");
		return 2;
	}
	clients = atoi(argv[4]);
	seconds = atoi(argv[5]);
	retry_seconds = atoi(argv[6]);
	ndocs = argc - 7;
	if (clients < 1 || clients > MAX_CLIENTS || seconds < 1 ||
		retry_seconds < 1 || ndocs > MAX_DOCS)
	{
		fprintf(stderr, "submitter: 1..%d clients, 1..%d documents\n",
				MAX_CLIENTS, MAX_DOCS);
		return 2;
	}
	for (int i = 0; i < clients; i++)
	{
		pids[i] = fork();
		if (pids[i] < 0)
		{
			perror("fork");
			return 1;
		}
		if (pids[i] == 0)
			_exit(run_client(argv[1], argv[2], argv[3], i, seconds,
							 retry_seconds, argv + 7, ndocs));
	}
	for (int i = 0; i < clients; i++)
	{
		int st;

		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
			WEXITSTATUS(st) != 0)
			status = 1;
	}
	return status;
}
