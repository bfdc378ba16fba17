/*
 * load.c — load generator for collab-notifier's benchmarks
 * (bench/notifier/run, bench/compare/run).
 *
 *   load --url HOST:PORT[,HOST:PORT...] --mode MODE [--clients N] [--docs D]
 *        [--seconds S] [--rate R] [--pid PID[,PID...]] [--prefix P]
 *        [--hold S] [--writers W] [--rev R --head H]
 *
 * One wsc loop (tests/lib/wsc.c, the client the tests use too) holds
 * every connection, spread round robin over the notifiers given.  Modes:
 *
 *   latency  N clients over D documents; the first client of each document
 *            writes R changes a second (one in flight), each inserting its
 *            send time; every other subscriber of the document notes how
 *            long the change took to reach it.  Prints p50/p99/mean in ms.
 *   fanout   N subscribers of one document and one writer (--writers W:
 *            the first W subscribers) submitting as fast as its acks come
 *            back; prints messages delivered per second and per CPU second
 *            of the notifiers (--pid).
 *   idle     connects N clients in steps, each subscribed to one of D
 *            documents, and prints the notifiers' resident memory per client
 *            after each step (--pid); with --hold S, keeps them connected S
 *            seconds more, printing "holding" first (the idle connections
 *            next to a fan-out run: bench/notifier/fanout).
 *   writers  N clients over D documents, every one a writer with one change
 *            in flight, sending the next as soon as its ack comes: durable
 *            throughput; prints acks per second and the submit-to-ack time
 *            (p50/p99/mean).  One writer (--clients 1) is allowed here.
 *   catchup  N times in turn, one client resumes document P0 from revision
 *            R (subscribe with "rev") and waits for every change up to H,
 *            the head: a client H - R revisions behind catching up.  Prints
 *            the time from the subscribe to revision H, p50/mean in ms.
 *
 * Messages are recognised by their fixed prefix ({"type":"...") and fields
 * read with strstr, not parsed: the load generator shares two cores with
 * the notifier and PostgreSQL, and must stay cheap.  Output: one line per
 * figure, "name value", for the run script to tabulate.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wsc.h"

#define MAX_URLS 8
#define MAX_PIDS 8
#define OUT_MAX 4
#define MSG_MAX 1024

typedef struct client {
	wsc *ws;
	int index;
	int doc;
	bool writer;
	bool subscribed;
	int64_t rev;	 /* last revision seen */
	int64_t seq;	 /* writer: last seq sent */
	bool inflight;	 /* writer: a submit without its ack */
	bool due;		 /* writer: a submit is due when the ack comes */
	int64_t sent_us; /* writer: when the submit in flight was sent */
	int64_t next_us; /* writer: when the next submit is due */
} client;

static struct {
	wsc_loop *loop;
	char hosts[MAX_URLS][128];
	int ports[MAX_URLS];
	int nurls;
	int pids[MAX_PIDS];
	int npids;
	const char *mode;
	int nclients;
	int ndocs;
	double seconds;
	double rate;
	double hold; /* idle: seconds to stay connected after the last step */
	int writers; /* fanout: how many of the subscribers write */
	const char *prefix;
	int64_t from_rev; /* catchup: the revision the client resumes from */
	int64_t head;	  /* catchup: the revision that ends the catch-up */
	client *clients;
	int64_t *lat; /* latency samples, us */
	size_t nlat, lat_cap;
	uint64_t delivered; /* change messages received */
	uint64_t acks;
	int64_t ack_us_total; /* sum of submit-to-ack times */
	uint64_t errors;
	bool measuring;
} g;

static int64_t write_interval_us; /* writers' pace; 0: as fast as acks come */
static bool writing;			  /* writers are running */

static int64_t
now_us(void)
{
	return wsc_now_us();
}

static void
die(const char *what)
{
	fprintf(stderr, "load: %s\n", what);
	exit(1);
}

static void
send_text(client *c, const char *text)
{
	if (!wsc_send(c->ws, text))
		die("a send failed: the connection is closed");
}

static int64_t
field_int(const char *msg, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(msg, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* A latency sample, us. */
static void
add_sample(int64_t us)
{
	if (g.nlat == g.lat_cap)
	{
		g.lat_cap = g.lat_cap ? g.lat_cap * 2 : 65536;
		g.lat = realloc(g.lat, g.lat_cap * sizeof(int64_t));
		if (!g.lat)
			die("out of memory");
	}
	g.lat[g.nlat++] = us;
}

static void
writer_send(client *c)
{
	char text[MSG_MAX];

	c->seq++;
	c->inflight = true;
	c->sent_us = now_us();
	snprintf(text, sizeof(text),
			 "{\"type\":\"submit\",\"doc\":\"%s%d\",\"rev\":%" PRId64
			 ",\"change\":{\"ops\":[{\"insert\":\"t%" PRId64
			 "|\"}]},\"seq\":%" PRId64 "}",
			 g.prefix, c->doc, c->rev, now_us(), c->seq);
	send_text(c, text);
}

static void
on_message(wsc *ws, const char *msg, size_t len, void *user)
{
	client *c = user;

	(void) ws;
	(void) len;
	if (strncmp(msg, "{\"type\":\"hello\"", 15) == 0)
	{
		char text[256];

		if (strcmp(g.mode, "catchup") == 0)
		{
			snprintf(
				text, sizeof(text),
				"{\"type\":\"subscribe\",\"doc\":\"%s%d\",\"rev\":%" PRId64
				"}",
				g.prefix, c->doc, g.from_rev);
			c->sent_us = now_us();
		}
		else
			snprintf(
				text, sizeof(text),
				"{\"type\":\"subscribe\",\"doc\":\"%s%d\",\"create\":true}",
				g.prefix, c->doc);
		send_text(c, text);
	}
	else if (strncmp(msg, "{\"type\":\"snapshot\"", 18) == 0)
	{
		c->rev = field_int(msg, "rev");
		c->subscribed = true;
	}
	else if (strncmp(msg, "{\"type\":\"change\"", 16) == 0)
	{
		/*
		 * The writer's timestamp, after "t".  A change published from the
		 * submit's result is jsonb's text, with a space after the colon:
		 * skipping those measured only the ones the notification brought.
		 */
		const char *t = strstr(msg, "\"insert\":");

		if (t)
		{
			t += strlen("\"insert\":");
			while (*t == ' ')
				t++;
			t = strncmp(t, "\"t", 2) == 0 ? t + 2 : NULL;
		}

		c->rev = field_int(msg, "rev");
		if (strcmp(g.mode, "catchup") == 0 && c->rev >= g.head &&
			!c->subscribed)
		{
			c->subscribed = true;
			add_sample(now_us() - c->sent_us);
		}
		if (!g.measuring)
			return;
		g.delivered++;
		if (t && strcmp(g.mode, "latency") == 0)
			add_sample(now_us() - strtoll(t, NULL, 10));
	}
	else if (strncmp(msg, "{\"type\":\"ack\"", 13) == 0)
	{
		c->rev = field_int(msg, "rev");
		c->inflight = false;
		if (g.measuring)
		{
			g.acks++;
			g.ack_us_total += now_us() - c->sent_us;
			if (strcmp(g.mode, "writers") == 0)
				add_sample(now_us() - c->sent_us);
		}
		if (c->writer && writing && (c->due || write_interval_us == 0))
		{
			c->due = false;
			writer_send(c);
		}
	}
	else if (strncmp(msg, "{\"type\":\"error\"", 15) == 0)
	{
		g.errors++;
		if (g.errors < 5)
			fprintf(stderr, "load: client %d: %s\n", c->index, msg);
		c->inflight = false;
		/* a writer that stopped would lower the throughput measured */
		if (c->writer && writing && write_interval_us == 0)
			writer_send(c);
	}
}

static void
connect_client(client *c)
{
	int u = c->index % g.nurls;

	c->ws = wsc_connect(g.loop, g.hosts[u], g.ports[u], on_message, c);
	if (!c->ws)
		die("cannot start a connection");
}

/* Services the loop until every client in [from, to) is subscribed. */
static bool
wait_subscribed(int from, int to, double timeout_s)
{
	int64_t deadline = now_us() + (int64_t) (timeout_s * 1e6);

	while (now_us() < deadline)
	{
		int ready = 0;

		for (int i = from; i < to; i++)
		{
			if (wsc_is_closed(g.clients[i].ws))
				return false;
			ready += g.clients[i].subscribed;
		}
		if (ready == to - from)
			return true;
		wsc_service(g.loop);
	}
	return false;
}

static void
connect_range(int from, int to)
{
	const int batch = 250;

	for (int i = from; i < to; i += batch)
	{
		int end = i + batch < to ? i + batch : to;

		for (int j = i; j < end; j++)
			connect_client(&g.clients[j]);
		if (!wait_subscribed(i, end, 60))
			die("clients did not connect and subscribe in time");
	}
}

/* Resident memory of the notifiers, kB. */
static long
notifier_rss_kb(void)
{
	long total = 0;

	for (int i = 0; i < g.npids; i++)
	{
		char path[64], line[256];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", g.pids[i]);
		f = fopen(path, "r");
		if (!f)
			die("cannot read a notifier's /proc status");
		while (fgets(line, sizeof(line), f))
		{
			if (strncmp(line, "VmRSS:", 6) == 0)
				total += strtol(line + 6, NULL, 10);
		}
		fclose(f);
	}
	return total;
}

/* CPU time of the notifiers (user + system), seconds. */
static double
notifier_cpu_s(void)
{
	double total = 0;
	long tick = sysconf(_SC_CLK_TCK);

	for (int i = 0; i < g.npids; i++)
	{
		char path[64], buf[1024];
		FILE *f;
		char *p;
		unsigned long ut, st;

		snprintf(path, sizeof(path), "/proc/%d/stat", g.pids[i]);
		f = fopen(path, "r");
		if (!f || !fgets(buf, sizeof(buf), f))
			die("cannot read a notifier's /proc stat");
		fclose(f);
		p = strrchr(buf, ')');
		/* fields after the command: state is 3rd; utime 14th, stime 15th */
		if (!p || sscanf(p + 2,
						 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
						 &ut, &st) != 2)
			die("cannot parse a notifier's /proc stat");
		total += (double) (ut + st) / (double) tick;
	}
	return total;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		   (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* Runs the writers for g.seconds; interval_us 0: as fast as acks come. */
static void
run_writers(int64_t interval_us)
{
	int64_t start = now_us(), end = start + (int64_t) (g.seconds * 1e6);

	write_interval_us = interval_us;
	writing = true;
	g.measuring = true;
	for (int i = 0; i < g.nclients; i++)
	{
		client *c = &g.clients[i];

		if (!c->writer)
			continue;
		if (interval_us)
			/* writers start spread over one interval, not in one burst */
			c->next_us = start + rand() % interval_us;
		else
			writer_send(c);
	}
	while (now_us() < end)
	{
		int64_t t = now_us();

		wsc_service(g.loop);
		/* the writers are the first client of each document */
		for (int i = 0; interval_us && i < g.ndocs && i < g.nclients; i++)
		{
			client *c = &g.clients[i];

			if (!c->writer || t < c->next_us)
				continue;
			c->next_us += interval_us;
			if (c->inflight)
				c->due = true; /* sent when its ack comes */
			else
				writer_send(c);
		}
	}
	writing = false;
	/* let the last changes arrive */
	for (int64_t drain = now_us() + 500000; now_us() < drain;)
		wsc_service(g.loop);
	g.measuring = false;
}

static void
parse_list(const char *s, void (*add)(const char *item, size_t len))
{
	while (*s)
	{
		size_t n = strcspn(s, ",");

		add(s, n);
		s += n;
		if (*s == ',')
			s++;
	}
}

static void
add_url(const char *item, size_t len)
{
	const char *colon = memchr(item, ':', len);

	if (g.nurls == MAX_URLS || !colon || (size_t) (colon - item) >= 128)
		die("bad --url");
	memcpy(g.hosts[g.nurls], item, (size_t) (colon - item));
	g.hosts[g.nurls][colon - item] = '\0';
	g.ports[g.nurls] = atoi(colon + 1);
	g.nurls++;
}

static void
add_pid(const char *item, size_t len)
{
	(void) len;
	if (g.npids == MAX_PIDS)
		die("too many --pid");
	g.pids[g.npids++] = atoi(item);
}

int
main(int argc, char **argv)
{
	g.mode = "latency";
	g.nclients = 1000;
	g.ndocs = 100;
	g.seconds = 10;
	g.rate = 10;
	g.prefix = "bench-";
	for (int i = 1; i + 1 < argc; i += 2)
	{
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--url") == 0)
			parse_list(v, add_url);
		else if (strcmp(k, "--pid") == 0)
			parse_list(v, add_pid);
		else if (strcmp(k, "--mode") == 0)
			g.mode = v;
		else if (strcmp(k, "--clients") == 0)
			g.nclients = atoi(v);
		else if (strcmp(k, "--docs") == 0)
			g.ndocs = atoi(v);
		else if (strcmp(k, "--seconds") == 0)
			g.seconds = atof(v);
		else if (strcmp(k, "--rate") == 0)
			g.rate = atof(v);
		else if (strcmp(k, "--prefix") == 0)
			g.prefix = v;
		else if (strcmp(k, "--hold") == 0)
			g.hold = atof(v);
		else if (strcmp(k, "--writers") == 0)
			g.writers = atoi(v);
		else if (strcmp(k, "--rev") == 0)
			g.from_rev = strtoll(v, NULL, 10);
		else if (strcmp(k, "--head") == 0)
			g.head = strtoll(v, NULL, 10);
		else
			die("unknown option (see the header of bench/notifier/load.c)");
	}
	if (!g.nurls || g.ndocs < 1 ||
		g.nclients <
			(strcmp(g.mode, "writers") == 0 || strcmp(g.mode, "catchup") == 0
				 ? 1
				 : 2))
		die("--url, --clients >= 2 (writers, catchup: 1) and --docs >= 1 are "
			"needed");
	signal(SIGPIPE, SIG_IGN);
	g.loop = wsc_loop_new(g.nclients); /* raises the descriptor limit too */
	if (!g.loop)
		die("cannot create the client loop");
	g.clients = calloc((size_t) g.nclients, sizeof(client));
	if (!g.clients)
		die("out of memory");
	for (int i = 0; i < g.nclients; i++)
	{
		g.clients[i].index = i;
		g.clients[i].doc = i % g.ndocs;
		/* the first client of each document writes */
		g.clients[i].writer = strcmp(g.mode, "writers") == 0 ||
							  (i < g.ndocs && strcmp(g.mode, "idle") != 0);
	}

	if (strcmp(g.mode, "idle") == 0)
	{
		long base = notifier_rss_kb();
		int steps[] = {1000, 2000, 5000, 10000, 20000, 50000, 100000};
		int done = 0;

		printf("rss_base_kb %ld\n", base);
		for (size_t s = 0;
			 s < sizeof(steps) / sizeof(steps[0]) && done < g.nclients; s++)
		{
			int to = steps[s] < g.nclients ? steps[s] : g.nclients;

			connect_range(done, to);
			done = to;
			for (int64_t settle = now_us() + 300000; now_us() < settle;)
				wsc_service(g.loop);
			printf("idle_clients %d rss_kb %ld per_client_bytes %.0f\n", done,
				   notifier_rss_kb(),
				   (double) (notifier_rss_kb() - base) * 1024.0 / done);
			fflush(stdout);
		}
		if (g.hold > 0)
		{
			printf("holding %d\n", done);
			fflush(stdout);
			for (int64_t end = now_us() + (int64_t) (g.hold * 1e6);
				 now_us() < end;)
				wsc_service(g.loop);
		}
	}
	else if (strcmp(g.mode, "latency") == 0 || strcmp(g.mode, "fanout") == 0 ||
			 strcmp(g.mode, "writers") == 0)
	{
		bool fanout = strcmp(g.mode, "fanout") == 0;
		bool writers = strcmp(g.mode, "writers") == 0;
		double cpu0, cpu1, self0, self1;
		int64_t t0, t1;

		if (fanout)
		{
			g.ndocs = 1;
			for (int i = 0; i < g.nclients; i++)
			{
				g.clients[i].doc = 0;
				g.clients[i].writer = i < (g.writers > 0 ? g.writers : 1);
			}
		}
		connect_range(0, g.nclients);
		cpu0 = g.npids ? notifier_cpu_s() : 0;
		self0 = self_cpu_s();
		t0 = now_us();
		run_writers(fanout || writers ? 0 : (int64_t) (1e6 / g.rate));
		t1 = now_us();
		cpu1 = g.npids ? notifier_cpu_s() : 0;
		self1 = self_cpu_s();
		printf("clients %d docs %d seconds %.1f\n", g.nclients, g.ndocs,
			   (double) (t1 - t0) / 1e6);
		printf("acks %" PRIu64 " delivered %" PRIu64 " errors %" PRIu64 "\n",
			   g.acks, g.delivered, g.errors);
		printf("delivered_per_s %.0f\n",
			   (double) g.delivered * 1e6 / (double) (t1 - t0));
		printf("acks_per_s %.0f\n",
			   (double) g.acks * 1e6 / (double) (t1 - t0));
		if (g.npids)
			printf("notifier_cpu_s %.2f delivered_per_cpu_s %.0f\n",
				   cpu1 - cpu0,
				   cpu1 > cpu0 ? (double) g.delivered / (cpu1 - cpu0) : 0.0);
		printf("load_cpu_s %.2f\n", self1 - self0);
		if (g.acks)
			printf("ack_ms_mean %.3f\n",
				   (double) g.ack_us_total / (double) g.acks / 1000.0);
		if (g.nlat)
		{
			double sum = 0;

			qsort(g.lat, g.nlat, sizeof(int64_t), cmp_i64);
			for (size_t i = 0; i < g.nlat; i++)
				sum += (double) g.lat[i];
			printf("latency_ms p50 %.3f p99 %.3f mean %.3f samples %zu\n",
				   g.lat[g.nlat / 2] / 1000.0,
				   g.lat[g.nlat * 99 / 100] / 1000.0,
				   sum / (double) g.nlat / 1000.0, g.nlat);
		}
	}
	else if (strcmp(g.mode, "catchup") == 0)
	{
		double sum = 0;

		/* one at a time: each catch-up has the notifier to itself */
		for (int i = 0; i < g.nclients; i++)
		{
			g.clients[i].doc = 0;
			connect_client(&g.clients[i]);
			if (!wait_subscribed(i, i + 1, 120))
				die("a client did not catch up in time");
			wsc_close(g.clients[i].ws);
		}
		qsort(g.lat, g.nlat, sizeof(int64_t), cmp_i64);
		for (size_t i = 0; i < g.nlat; i++)
			sum += (double) g.lat[i];
		printf("catchup_ms p50 %.3f mean %.3f samples %zu behind %" PRId64
			   "\n",
			   g.lat[g.nlat / 2] / 1000.0, sum / (double) g.nlat / 1000.0,
			   g.nlat, g.head - g.from_rev);
	}
	else
		die("--mode is latency, fanout, writers, idle or catchup");
	wsc_loop_free(g.loop);
	return g.errors ? 1 : 0;
}
