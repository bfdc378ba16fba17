/*
 * stress.c — many clients editing shared documents through collab.submit
 * at once, each a process with its own connection, and the checks that
 * they converge and that the database kept and announced exactly what
 * they were told it did.  This file is the driver; the parts:
 *
 *   client.c         a client: the OT client of client/collab-client.js
 *                    (tests/lib/otclient.h) over libpq, random edits
 *                    (tests/lib/edits.h), dropped connections and
 *                    resubmits.  Proves, while running: every incoming
 *                    revision is the next one; the server transformed each
 *                    change exactly as its client did; a resubmit after a
 *                    drop is answered with the first submission when that
 *                    committed; now and then the copy equals content(rev)
 *                    + in flight + buffer.  At the end: every copy equals
 *                    collab.content(doc), every seq was acknowledged.
 *   history.c        the log, acknowledgements, snapshots and content()
 *                    against a replay of the log.
 *   announcements.c  every notification on channel collab, through the
 *                    announcer and through a submit's own NOTIFY (the
 *                    clients of the last --direct-docs documents, default
 *                    1, run with collab.notify_worker off: both paths in
 *                    one run).
 *   common.c         failures, deltas as text, connections.
 *
 * --mix-paths mixes the paths on every document (every other client
 * direct) to show why they are kept apart: a submit through the announcer
 * is announced after its commit, by the worker, while the next writer of
 * the document, once it holds the document id lock (an advisory
 * transaction lock, class 0xC011), may NOTIFY directly at its own
 * pre-commit, before the worker.  Expect ordering failures, hundreds per
 * run ("rev 6 (from the announcer, pid P) was announced after rev 7 (from
 * client 3)").
 *
 * --announce-failures N makes the announcer's transactions fail, as a full
 * NOTIFY queue would: client 0 commits with collab.test_announce_failures
 * = N, so each of its commits makes the announcer's next N transactions
 * fail.  Batches are then retried and, after the announcer's last attempt,
 * dropped and reported in an overflow message; the checks of
 * --allow-overflow prove what announcer.c promises: every revision
 * announced at most once and in order, and those never announced accounted
 * for by the overflow messages.  With N of 1 or 2 the end markers, sent
 * once client 0 has exited, fail at most twice and arrive.
 *
 * Processes: the parent listens, creates the documents and forks the
 * clients; each edits, then flushes (nothing in flight, nothing buffered)
 * and reports that it is done; when all are, the parent closes the pipe
 * they block on, they all catch up and compare, and the parent, having
 * taken the end markers, checks the log and the notifications alone.
 * Counters, acknowledged revisions and the pids of the clients' backends
 * live in a shared anonymous mapping; only the owning client writes its
 * part, the parent reads it after the client has exited (the phase word is
 * read while it runs, atomically).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

/* --- the parent ---------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: stress [OPTIONS]\n"
			"Concurrent OT clients against collab.submit in the database the\n"
			"environment names (PGHOST, PGPORT, PGUSER, PGDATABASE; a "
			"superuser).\n"
			"  -c, --clients N        client processes (%d; STRESS_CLIENTS)\n"
			"  -d, --docs N           shared documents (%d; STRESS_DOCS)\n"
			"  -e, --edits N          local edits per client (%d; "
			"STRESS_EDITS)\n"
			"  -s, --seed N           seed of the edits (time; STRESS_SEED)\n"
			"      --snapshot-interval N   collab.snapshot_interval (%d)\n"
			"      --drop-rate P      chance a submit drops its connection "
			"(%.2f)\n"
			"      --timeout S        give up after S seconds (%d)\n"
			"      --direct-docs N    the clients of the last N documents "
			"NOTIFY\n"
			"                         directly, collab.notify_worker off "
			"(1; 0 with\n"
			"                         one document)\n"
			"      --mix-paths        instead, every other client of each "
			"document\n"
			"                         does (revision order may break: see "
			"stress.c)\n"
			"      --allow-overflow   an overflow message is no failure; "
			"revisions\n"
			"                         may then go unannounced\n"
			"      --announce-failures N   client 0 commits with\n"
			"                         collab.test_announce_failures = N: "
			"the\n"
			"                         announcer's transactions fail and are "
			"retried;\n"
			"                         a batch failing 3 times is dropped "
			"(implies\n"
			"                         --allow-overflow)\n"
			"      --out DIR          where failures are written (.)\n"
			"  -v, --verbose          a line per client\n",
			CLIENTS_DEFAULT, DOCS_DEFAULT, EDITS_DEFAULT,
			SNAPSHOT_INTERVAL_DEFAULT, DROP_RATE_DEFAULT, TIMEOUT_DEFAULT);
}

/* A positive integer option (or environment variable), or exit 2. */
static long
int_arg(const char *name, const char *text, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || v < min || v > max)
	{
		fprintf(stderr,
				"stress: %s must be an integer from %ld to %ld, not "
				"\"%s\"\n",
				name, min, max, text);
		exit(2);
	}
	return v;
}

static void
parse_args(config *cfg, int argc, char **argv)
{
	static const struct option options[] =
		{{"clients", required_argument, NULL, 'c'},
		 {"docs", required_argument, NULL, 'd'},
		 {"edits", required_argument, NULL, 'e'},
		 {"seed", required_argument, NULL, 's'},
		 {"snapshot-interval", required_argument, NULL, 'S'},
		 {"drop-rate", required_argument, NULL, 'D'},
		 {"timeout", required_argument, NULL, 'T'},
		 {"direct-docs", required_argument, NULL, 'P'},
		 {"mix-paths", no_argument, NULL, 'M'},
		 {"allow-overflow", no_argument, NULL, 'A'},
		 {"announce-failures", required_argument, NULL, 'F'},
		 {"out", required_argument, NULL, 'o'},
		 {"verbose", no_argument, NULL, 'v'},
		 {"help", no_argument, NULL, 'h'},
		 {NULL, 0, NULL, 0}};
	const char *env;
	int opt;

	cfg->clients = CLIENTS_DEFAULT;
	cfg->docs = DOCS_DEFAULT;
	cfg->edits = EDITS_DEFAULT;
	cfg->seed = (uint64_t) time(NULL) % 1000000;
	cfg->snapshot_interval = SNAPSHOT_INTERVAL_DEFAULT;
	cfg->drop_rate = DROP_RATE_DEFAULT;
	cfg->timeout = TIMEOUT_DEFAULT;
	cfg->out = ".";
	cfg->direct_docs = -1; /* one document, when there are two or more */
	if ((env = getenv("STRESS_CLIENTS")) && *env)
		cfg->clients = (int) int_arg("STRESS_CLIENTS", env, 1, 150);
	if ((env = getenv("STRESS_DOCS")) && *env)
		cfg->docs = (int) int_arg("STRESS_DOCS", env, 1, 1000);
	if ((env = getenv("STRESS_EDITS")) && *env)
		cfg->edits = (int) int_arg("STRESS_EDITS", env, 1, 10000000);
	if ((env = getenv("STRESS_SEED")) && *env)
		cfg->seed = (uint64_t) int_arg("STRESS_SEED", env, 0, LONG_MAX);

	while ((opt = getopt_long(argc, argv, "c:d:e:s:vh", options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'c':
				cfg->clients = (int) int_arg("--clients", optarg, 1, 150);
				break;
			case 'd':
				cfg->docs = (int) int_arg("--docs", optarg, 1, 1000);
				break;
			case 'e':
				cfg->edits = (int) int_arg("--edits", optarg, 1, 10000000);
				break;
			case 's':
				cfg->seed = (uint64_t) int_arg("--seed", optarg, 0, LONG_MAX);
				break;
			case 'S':
				cfg->snapshot_interval =
					(int) int_arg("--snapshot-interval", optarg, 1, 1000000);
				break;
			case 'D':
			{
				char *end;

				cfg->drop_rate = strtod(optarg, &end);
				if (*end != '\0' || end == optarg ||
					!(cfg->drop_rate >= 0 && cfg->drop_rate <= 1))
				{
					fprintf(stderr,
							"stress: --drop-rate must be from 0 "
							"to 1, not \"%s\"\n",
							optarg);
					exit(2);
				}
				break;
			}
			case 'T':
				cfg->timeout = (int) int_arg("--timeout", optarg, 1, 86400);
				break;
			case 'P':
				cfg->direct_docs =
					(int) int_arg("--direct-docs", optarg, 0, 1000);
				break;
			case 'M':
				cfg->mix_paths = true;
				break;
			case 'A':
				cfg->allow_overflow = true;
				break;
			case 'F':
				cfg->announce_failures =
					(int) int_arg("--announce-failures", optarg, 0, 100);
				if (cfg->announce_failures > 0)
					cfg->allow_overflow = true;
				break;
			case 'o':
				cfg->out = optarg;
				break;
			case 'v':
				cfg->verbose = true;
				break;
			case 'h':
				usage(stdout);
				exit(0);
			default:
				usage(stderr);
				exit(2);
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "stress: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (cfg->docs > cfg->clients)
		cfg->docs = cfg->clients;
	if (cfg->direct_docs < 0)
		cfg->direct_docs = cfg->docs > 1 ? 1 : 0;
	if (cfg->direct_docs > cfg->docs)
		cfg->direct_docs = cfg->docs;
	snprintf(cfg->run_id, sizeof(cfg->run_id), "%lx%x",
			 (unsigned long) time(NULL), (unsigned) getpid());
}

/*
 * Creates the run's documents (and the extension when it is missing);
 * finds out whether collab is preloaded (its announcer can run).
 */
static bool
create_documents(config *cfg)
{
	char err[512];
	PGconn *conn = connect_db(cfg, "collab-stress", false, err, sizeof(err));
	PGresult *res;
	int d;
	bool ok = true;

	if (conn == NULL)
	{
		/* the SET fails before CREATE EXTENSION: try without collab */
		const char *keys[] = {"client_encoding", NULL};
		const char *values[] = {"UTF8", NULL};

		conn = PQconnectdbParams(keys, values, 0);
		if (PQstatus(conn) != CONNECTION_OK)
		{
			check_fail("cannot connect: %s", PQerrorMessage(conn));
			PQfinish(conn);
			return false;
		}
	}
	res = PQexec(conn, "SET client_min_messages = warning;"
					   " CREATE EXTENSION IF NOT EXISTS collab");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		check_fail("CREATE EXTENSION collab: %s", PQerrorMessage(conn));
		ok = false;
	}
	PQclear(res);
	/* a setting defined only when collab is in shared_preload_libraries */
	if (ok &&
		(res = parent_query(conn,
							"SELECT current_setting("
							"'collab.notify_queue_kb', true) IS NOT NULL",
							0, NULL)) != NULL)
	{
		cfg->preloaded = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
	}
	for (d = 0; ok && d < cfg->docs; d++)
	{
		char doc_id[64];
		const char *params[2] = {doc_id, initial_content(d)};

		snprintf(doc_id, sizeof(doc_id), "stress-%s-%d", cfg->run_id, d);
		res = parent_query(conn, "SELECT collab.create_document($1, $2)", 2,
						   params);
		ok = res != NULL;
		PQclear(res);
	}
	PQfinish(conn);
	return ok;
}

static void
shared_map(const config *cfg, shared *sh)
{
	size_t reports = (size_t) cfg->clients * sizeof(client_report);
	size_t acks =
		(size_t) cfg->clients * (size_t) (cfg->edits + 2) * sizeof(int64_t);
	void *p;

	sh->bytes = reports + acks;
	p = mmap(NULL, sh->bytes, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
	{
		perror("stress: mmap");
		exit(2);
	}
	sh->reports = p;
	sh->acks = (int64_t *) ((char *) p + reports);
}

/* Kills the clients still running (ours, by pid). */
static void
kill_clients(const config *cfg, const pid_t *pids, const bool *exited)
{
	int i;

	for (i = 0; i < cfg->clients; i++)
		if (!exited[i] && pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (i = 0; i < cfg->clients; i++)
		if (!exited[i] && pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

/*
 * Waits until every client has reached phase or ended (reaping those that
 * end), taking notifications meanwhile; on timeout, kills them and returns
 * false.
 */
static bool
wait_clients(const config *cfg, const shared *sh, listener *l,
			 const pid_t *pids, bool *exited, int *status, int phase,
			 double deadline)
{
	for (;;)
	{
		int n = 0;
		int i;

		for (i = 0; i < cfg->clients; i++)
		{
			if (!exited[i] && waitpid(pids[i], &status[i], WNOHANG) == pids[i])
				exited[i] = true;
			if (exited[i] || __atomic_load_n(&sh->reports[i].phase,
											 __ATOMIC_SEQ_CST) >= phase)
				n++;
		}
		if (n == cfg->clients)
			return true;
		if (now_seconds() > deadline)
		{
			check_fail("timed out after %d s while the clients %s",
					   cfg->timeout,
					   phase == PHASE_DONE_EDITING ? "edited" : "caught up");
			kill_clients(cfg, pids, exited);
			return false;
		}
		listener_poll(cfg, l, 10);
	}
}

/*
 * Forks the clients and waits for them, listening: all done editing (or
 * gone), then all caught up and compared (or gone).  False when they had
 * to be killed (timeout) or could not start; their failures are theirs to
 * report.
 */
static bool
run_clients(const config *cfg, const shared *sh, listener *l, double deadline,
			double *edited_at)
{
	pid_t *pids = calloc((size_t) cfg->clients, sizeof(pid_t));
	bool *exited = calloc((size_t) cfg->clients, sizeof(bool));
	int *status = calloc((size_t) cfg->clients, sizeof(int));
	int go[2] = {-1, -1};
	bool ok = false;
	int i;

	*edited_at = now_seconds();
	if (pids == NULL || exited == NULL || status == NULL || pipe(go) != 0)
	{
		check_fail("cannot start the clients: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < cfg->clients; i++)
	{
		pids[i] = fork();
		if (pids[i] < 0)
		{
			check_fail("fork: %s", strerror(errno));
			close(go[0]);
			close(go[1]);
			kill_clients(cfg, pids, exited);
			goto out;
		}
		if (pids[i] == 0)
		{
			/* the parent's, not the client's */
			close(go[1]);
			free(pids);
			free(exited);
			free(status);
			client_main(cfg, i, sh, go[0]);
		}
	}
	close(go[0]);

	/* everyone done editing, then, told by end of file, caught up */
	if (!wait_clients(cfg, sh, l, pids, exited, status, PHASE_DONE_EDITING,
					  deadline))
	{
		close(go[1]);
		goto out;
	}
	*edited_at = now_seconds();
	close(go[1]);
	if (!wait_clients(cfg, sh, l, pids, exited, status, PHASE_EXITED,
					  deadline))
		goto out;

	for (i = 0; i < cfg->clients; i++)
	{
		if (WIFSIGNALED(status[i]))
			check_fail("client %d died of signal %d", i, WTERMSIG(status[i]));
		else if (WEXITSTATUS(status[i]) != 0 ||
				 sh->reports[i].phase != PHASE_PASSED)
			check_fail("client %d failed (exit status %d; its message is "
					   "above)",
					   i, WEXITSTATUS(status[i]));
	}
	ok = true;

out:
	free(pids);
	free(exited);
	free(status);
	return ok;
}

int
main(int argc, char **argv)
{
	config cfg;
	shared sh;
	int i;
	int d;
	double start = now_seconds();
	double edited_at;
	client_report total;
	char err[512];
	PGconn *conn;
	listener l;
	double waited;
	int64_t missing = 0;

	memset(&cfg, 0, sizeof(cfg));
	parse_args(&cfg, argc, argv);
	printf("stress: %d clients, %d documents, %d edits per client, seed "
		   "%" PRIu64 ", snapshot interval %d, drop rate %.2f, run %s\n",
		   cfg.clients, cfg.docs, cfg.edits, cfg.seed, cfg.snapshot_interval,
		   cfg.drop_rate, cfg.run_id);
	if (!create_documents(&cfg))
		return 1;
	if (!cfg.preloaded)
		printf("  notifications: collab is not preloaded, so every submit "
			   "NOTIFYs directly\n");
	else if (cfg.mix_paths)
		printf("  notifications: every other client of each document "
			   "NOTIFYs directly (collab.notify_worker off), the others "
			   "through the announcer\n");
	else
		printf("  notifications: the clients of %d of the %d documents "
			   "(the last) NOTIFY directly (collab.notify_worker off), the "
			   "others through the announcer\n",
			   cfg.direct_docs, cfg.docs);
	if (cfg.announce_failures > 0)
		printf("  client 0 commits with collab.test_announce_failures = %d: "
			   "the announcer's transactions fail\n",
			   cfg.announce_failures);
	if (!listener_start(&cfg, &l))
		return 1;
	shared_map(&cfg, &sh);
	if (!run_clients(&cfg, &sh, &l, start + cfg.timeout, &edited_at))
		return 1;
	listener_index_senders(&cfg, &l, &sh);
	waited = listener_finish(&cfg, &l);

	memset(&total, 0, sizeof(total));
	for (i = 0; i < cfg.clients; i++)
	{
		const client_report *r = &sh.reports[i];

		total.edits += r->edits;
		total.submits += r->submits;
		total.resubmits += r->resubmits;
		total.dedups += r->dedups;
		total.incoming += r->incoming;
		total.transforms_flight += r->transforms_flight;
		total.transforms_buffer += r->transforms_buffer;
		total.server_transforms += r->server_transforms;
		total.verifies += r->verifies;
	}
	printf("  edits %" PRId64 ", submits %" PRId64 ", resubmits after a "
		   "dropped connection %" PRId64 " (the first had committed: %" PRId64
		   ")\n",
		   total.edits, total.submits, total.resubmits, total.dedups);
	printf("  incoming changes %" PRId64 ", transformed against a change in "
		   "flight %" PRId64 ", against a buffer %" PRId64
		   "; server-side transforms %" PRId64 "; mid-run checks %" PRId64
		   "\n",
		   total.incoming, total.transforms_flight, total.transforms_buffer,
		   total.server_transforms, total.verifies);
	printf("  listener: %" PRId64 " notifications, %" PRId64 " changes of "
		   "the run's documents, %d of %d end markers (%.2f s after the "
		   "clients exited), %" PRId64 " overflow messages (%" PRId64
		   " payloads dropped), %" PRId64 " about other documents\n",
		   l.received, l.changes, l.markers, cfg.docs, waited, l.overflows,
		   l.dropped, l.foreign);

	conn = connect_db(&cfg, "collab-stress checks", false, err, sizeof(err));
	if (conn == NULL)
		check_fail("%s", err);
	for (d = 0; conn != NULL && d < cfg.docs; d++)
	{
		doc_stats st;

		check_document(&cfg, conn, d, &sh, &l, &st);
		printf("  document stress-%s-%d: %" PRId64 " revisions from %d "
			   "clients, %" PRId64 " snapshots and %" PRId64
			   " revisions of content() checked against the replay\n",
			   cfg.run_id, d, st.head, st.clients, st.snapshots,
			   st.content_checks);
		printf("    announced once each: %" PRId64 " revisions (%" PRId64
			   " without the change), %" PRId64 " by the announcer, %" PRId64
			   " directly; never: %" PRId64 "\n",
			   st.announced, st.by_reference, st.via_announcer, st.direct,
			   st.missing);
		missing += st.missing;
	}
	/* tolerated, an overflow still accounts for every payload it lost */
	missing += cfg.docs - l.markers;
	if (cfg.allow_overflow && l.overflows > 0 && missing > l.dropped)
		check_fail("%" PRId64 " revisions and end markers were never "
				   "announced, but the overflow messages account for %" PRId64,
				   missing, l.dropped);
	PQfinish(conn);
	listener_destroy(&cfg, &l);
	munmap(sh.reports, sh.bytes);
	printf("  elapsed %.1f s (editing %.1f s, catching up and checking "
		   "%.1f s)\n",
		   now_seconds() - start, edited_at - start,
		   now_seconds() - edited_at);
	if (failures > 0)
	{
		printf("stress: FAILED (%d failures)\n", failures);
		return 1;
	}
	printf("stress: passed\n");
	return 0;
}
