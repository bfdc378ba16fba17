/*
 * idle.c — many idle, subscribed WebSocket clients for collab-notifier's
 * idle benchmark (bench/notifier/idle), up to hundreds of thousands from
 * one machine.
 *
 *   notifier_idle --url HOST:PORT --pid PID --steps N[,N...] [--docs D]
 *                 [--sources K] [--window W] [--probes P] [--hold S]
 *                 [--prefix P]
 *
 * Connects clients until each step's count is reached, each one upgraded,
 * greeted (hello) and subscribed to one of D documents (default 100), at
 * most W (default 500) handshaking at a time: never a hundred thousand
 * SYNs at once.  The first D clients create the documents, before any
 * other starts; the others' subscribes are snapshots, shared, so the
 * database is not what is measured (a create for every client, one
 * statement each, queued behind each other past the notifier's
 * --query-timeout-ms on a busy machine).
 *
 * After each step, once settled, prints
 *
 *   step N rss_kb R per_conn_bytes B slab_kb S tcp_mem_pages T
 *   healthz_ms min A median M max X samples P
 *
 * R: the notifier's VmRSS (--pid); B: its growth since before the first
 * client, per client.  S and T are the kernel's, not in any RSS: the
 * growth of /proc/meminfo's Slab (socket structures, their inodes and
 * files, epoll items) and of /proc/net/sockstat's TCP mem (buffers), both
 * machine-wide, so for both ends of these loopback connections and
 * anything else the machine does meanwhile.  The health figures: P
 * (default 10) GET /healthz on fresh connections, each timed from connect
 * to the last byte of the answer.  With --hold S, stays S seconds more
 * after the last step, printing "holding N" first.
 *
 * Why not wsc (tests/lib/wsc.c, lws's client, as bench/notifier/load.c):
 * lws 4.1's client polls every descriptor at every wakeup, and each of its
 * connections costs several kilobytes; here a connection is a descriptor
 * in an epoll set and 24 bytes, with a read buffer only while it has a
 * partial frame.  Each source address (127.0.0.2 up to 127.0.0.K+1, all
 * loopback on Linux; --sources K, default enough for 25,000 clients each)
 * has its own ~28,000 ephemeral ports toward one server port.
 *
 * The clients answer pings (the notifier pings a connection idle for 30 s)
 * and ignore other messages; a close, an error or a refused upgrade ends
 * the run (exit 1).  Every wait is bounded.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS 16
#define CLIENTS_PER_SOURCE 25000 /* of the ~28,000 ports of one address */
#define STEP_TIMEOUT_S 600		 /* a step not done by then fails */
#define SETTLE_US 1000000		 /* after a step, before measuring */
#define IN_CAP 4096				 /* a handshake's answer and its frames */

typedef enum state {
	ST_CONNECTING, /* connect in progress: waiting for writable */
	ST_UPGRADING,  /* request written: waiting for 101 */
	ST_GREETED,	   /* upgraded: waiting for hello */
	ST_SUBSCRIBING,
	ST_IDLE, /* subscribed */
} state;

typedef struct client {
	int fd;
	uint8_t state;
	uint16_t len;	   /* bytes in IN */
	unsigned char *in; /* partial input, or NULL */
	int doc;
} client;

static struct {
	struct sockaddr_in server;
	const char *host;
	int port;
	int pid;
	int steps[MAX_STEPS];
	int nsteps;
	int ndocs;
	int nsources;
	int window;
	int probes;
	double hold;
	const char *prefix;
	client *clients;
	int nclients; /* started */
	int idle;	  /* subscribed */
	int opening;  /* started, not yet subscribed */
	int ep;
} g;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what, int index)
{
	if (index >= 0)
		fprintf(stderr, "notifier_idle: client %d: %s\n", index, what);
	else
		fprintf(stderr, "notifier_idle: %s\n", what);
	exit(1);
}

/* Writes all of BYTES now: small writes to a socket with room. */
static void
write_all(client *c, const void *bytes, size_t len)
{
	if (write(c->fd, bytes, len) != (ssize_t) len)
		die("a write failed or was short", (int) (c - g.clients));
}

/* Sends TEXT as one masked text frame (short: under 126 bytes). */
static void
send_text(client *c, const char *text)
{
	static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
	unsigned char frame[6 + 125];
	size_t n = strlen(text);

	if (n > 125)
		die("a message too long for this client", (int) (c - g.clients));
	frame[0] = 0x81; /* FIN, text */
	frame[1] = (unsigned char) (0x80 | n);
	memcpy(frame + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		frame[6 + i] = (unsigned char) text[i] ^ mask[i % 4];
	write_all(c, frame, 6 + n);
}

/* Answers a ping with a pong carrying its payload (at most 125 bytes). */
static void
send_pong(client *c, const unsigned char *payload, size_t n)
{
	unsigned char frame[6 + 125];

	frame[0] = 0x8A; /* FIN, pong */
	frame[1] = (unsigned char) (0x80 | n);
	memset(frame + 2, 0, 4); /* a mask of zeros: the payload as it is */
	memcpy(frame + 6, payload, n);
	write_all(c, frame, 6 + n);
}

static void
start_client(int i)
{
	client *c = &g.clients[i];
	struct sockaddr_in from = {.sin_family = AF_INET};
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t) i};
	int one = 1;

	c->doc = i % g.ndocs;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: out of descriptors? (ulimit -n)", i);
	/* 127.0.0.2, .3, ...: the port is chosen at connect, per address */
	from.sin_addr.s_addr =
		htonl(INADDR_LOOPBACK + 1 + (uint32_t) (i % g.nsources));
	(void) setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
					  sizeof(one));
	if (bind(c->fd, (struct sockaddr *) &from, sizeof(from)) != 0)
		die("bind to a source address failed", i);
	if (connect(c->fd, (struct sockaddr *) &g.server, sizeof(g.server)) != 0 &&
		errno != EINPROGRESS)
		die(strerror(errno), i);
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl add failed", i);
	c->state = ST_CONNECTING;
	g.nclients++;
	g.opening++;
}

/* The connection is up: the upgrade request goes, then we only read. */
static void
on_connected(client *c)
{
	char req[512];
	int err = 0;
	socklen_t len = sizeof(err);
	struct epoll_event ev = {.events = EPOLLIN,
							 .data.u32 = (uint32_t) (c - g.clients)};
	int n;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
		die(err ? strerror(err) : "connect failed", (int) (c - g.clients));
	n = snprintf(req, sizeof(req),
				 "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\n"
				 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n\r\n",
				 g.host, g.port);
	write_all(c, req, (size_t) n);
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		die("epoll_ctl mod failed", (int) (c - g.clients));
	c->state = ST_UPGRADING;
}

/* A whole message (or control frame) of opcode OP arrived. */
static void
on_frame(client *c, int op, const unsigned char *p, size_t n)
{
	char text[160];

	if (op == 0x9)
	{
		if (n <= 125)
			send_pong(c, p, n);
		return;
	}
	if (op == 0x8)
		die("the server closed the connection", (int) (c - g.clients));
	if (op != 0x1)
		return;
	if (c->state == ST_GREETED && n >= 15 &&
		memcmp(p, "{\"type\":\"hello\"", 15) == 0)
	{
		snprintf(text, sizeof(text),
				 "{\"type\":\"subscribe\",\"doc\":\"%s%d\"%s}", g.prefix,
				 c->doc, c - g.clients < g.ndocs ? ",\"create\":true" : "");
		send_text(c, text);
		c->state = ST_SUBSCRIBING;
	}
	else if (c->state == ST_SUBSCRIBING && n >= 18 &&
			 memcmp(p, "{\"type\":\"snapshot\"", 18) == 0)
	{
		c->state = ST_IDLE;
		g.opening--;
		g.idle++;
	}
	else if (n >= 15 && memcmp(p, "{\"type\":\"error\"", 15) == 0)
	{
		snprintf(text, sizeof(text), "error: %.*s", (int) (n < 120 ? n : 120),
				 (const char *) p);
		die(text, (int) (c - g.clients));
	}
}

/* Consumes what C's buffer holds: the 101's headers, then whole frames. */
static void
parse(client *c)
{
	size_t used = 0;

	if (c->state == ST_UPGRADING)
	{
		unsigned char *end = memmem(c->in, c->len, "\r\n\r\n", 4);

		if (!end)
			return;
		if (c->len < 12 || memcmp(c->in + 9, "101", 3) != 0)
			die("the upgrade was refused (is --max-clients-per-address high "
				"enough?)",
				(int) (c - g.clients));
		used = (size_t) (end - c->in) + 4;
		c->state = ST_GREETED;
	}
	for (;;)
	{
		const unsigned char *f = c->in + used;
		size_t avail = c->len - used, head = 2, n;

		if (avail < 2)
			break;
		n = f[1] & 0x7f;
		if (n == 126)
		{
			if (avail < 4)
				break;
			n = (size_t) f[2] << 8 | f[3];
			head = 4;
		}
		else if (n == 127)
			die("a frame too big for an idle client", (int) (c - g.clients));
		if (head + n > IN_CAP)
			die("a frame too big for an idle client", (int) (c - g.clients));
		if (avail < head + n)
			break;
		on_frame(c, f[0] & 0x0f, f + head, n);
		used += head + n;
	}
	memmove(c->in, c->in + used, c->len - used);
	c->len = (uint16_t) (c->len - used);
	if (c->len == 0 && c->state == ST_IDLE)
	{
		/* an idle client keeps no buffer */
		free(c->in);
		c->in = NULL;
	}
}

static void
on_readable(client *c)
{
	for (;;)
	{
		ssize_t n;

		if (!c->in && !(c->in = malloc(IN_CAP)))
			die("out of memory", (int) (c - g.clients));
		n = read(c->fd, c->in + c->len, IN_CAP - c->len);
		if (n == 0)
			die("the server closed the connection", (int) (c - g.clients));
		if (n < 0)
		{
			if (errno == EAGAIN)
				break;
			die(strerror(errno), (int) (c - g.clients));
		}
		c->len = (uint16_t) (c->len + n);
		parse(c);
		if (c->len == IN_CAP)
			die("input that is no frame", (int) (c - g.clients));
		if (!c->in)
			break;
	}
}

/* Waits up to TIMEOUT_MS for events and handles them. */
static void
service(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(g.ep, evs, 256, timeout_ms);

	for (int i = 0; i < n; i++)
	{
		client *c = &g.clients[evs[i].data.u32];

		if (c->state == ST_CONNECTING)
			on_connected(c);
		else
			on_readable(c);
	}
}

/* Connects clients until TARGET are subscribed, WINDOW at a time. */
static void
connect_to(int target)
{
	int64_t deadline = now_us() + (int64_t) STEP_TIMEOUT_S * 1000000;

	while (g.idle < target)
	{
		while (g.nclients < target && g.opening < g.window)
			start_client(g.nclients);
		service(100);
		if (now_us() > deadline)
			die("a step did not finish in time", -1);
	}
}

/* Services the clients for US microseconds. */
static void
serve_for(int64_t us)
{
	int64_t end = now_us() + us;

	for (int64_t t = now_us(); t < end; t = now_us())
		service((int) ((end - t) / 1000) + 1);
}

/* The number after NAME at the start of a line of FILE, or -1; with AFTER,
 * the number after AFTER further along that line. */
static long
proc_value(const char *file, const char *name, const char *after)
{
	char line[512];
	long v = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
	{
		if (strncmp(line, name, strlen(name)) == 0)
		{
			char *p = after ? strstr(line, after) : line;

			if (p)
				v = strtol(p + strlen(after ? after : name), NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static long
notifier_rss_kb(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", g.pid);
	return proc_value(path, "VmRSS:", NULL);
}

static long
slab_kb(void)
{
	return proc_value("/proc/meminfo", "Slab:", NULL);
}

/* "TCP: inuse N orphan N tw N alloc N mem N": mem */
static long
tcp_mem_pages(void)
{
	return proc_value("/proc/net/sockstat", "TCP:", " mem ");
}

/* One GET /healthz on a fresh blocking connection: ms to the last byte of
 * the answer, or -1. */
static double
healthz_ms(void)
{
	char req[256], buf[4096];
	size_t got = 0;
	struct timeval tv = {.tv_sec = 10};
	int64_t t0 = now_us();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n;
	bool ok = false;

	if (fd < 0)
		return -1;
	(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = snprintf(req, sizeof(req),
				 "GET /healthz HTTP/1.1\r\nHost: %s:%d\r\n\r\n", g.host,
				 g.port);
	if (connect(fd, (struct sockaddr *) &g.server, sizeof(g.server)) == 0 &&
		write(fd, req, (size_t) n) == n)
	{
		/* the answer is complete at its Content-Length after the headers */
		for (;;)
		{
			ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
			char *end, *cl;

			if (r <= 0)
				break;
			got += (size_t) r;
			buf[got] = '\0';
			end = strstr(buf, "\r\n\r\n");
			cl = strcasestr(buf, "content-length:");
			if (end && cl &&
				got >= (size_t) (end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			{
				ok = strncmp(buf + 9, "200", 3) == 0;
				break;
			}
		}
	}
	close(fd);
	return ok ? (double) (now_us() - t0) / 1000.0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

static void
report_health(void)
{
	double ms[64];
	int n = g.probes < 64 ? g.probes : 64;

	for (int i = 0; i < n; i++)
	{
		ms[i] = healthz_ms();
		if (ms[i] < 0)
			die("/healthz did not answer 200 within 10 s", -1);
		serve_for(100000); /* the pings keep being answered */
	}
	qsort(ms, (size_t) n, sizeof(double), cmp_double);
	printf("healthz_ms min %.2f median %.2f max %.2f samples %d\n", ms[0],
		   ms[n / 2], ms[n - 1], n);
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	long rss0, slab0, tcp0;
	int max = 0;

	g.ndocs = 100;
	g.window = 500;
	g.probes = 10;
	g.prefix = "idle-";
	for (int i = 1; i + 1 < argc; i += 2)
	{
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--url") == 0)
		{
			static char host[128];
			const char *colon = strchr(v, ':');

			if (!colon || (size_t) (colon - v) >= sizeof(host))
				die("bad --url", -1);
			memcpy(host, v, (size_t) (colon - v));
			host[colon - v] = '\0';
			g.host = host;
			g.port = atoi(colon + 1);
		}
		else if (strcmp(k, "--pid") == 0)
			g.pid = atoi(v);
		else if (strcmp(k, "--steps") == 0)
		{
			for (const char *s = v; *s && g.nsteps < MAX_STEPS;)
			{
				g.steps[g.nsteps++] = atoi(s);
				s += strcspn(s, ",");
				s += *s == ',';
			}
		}
		else if (strcmp(k, "--docs") == 0)
			g.ndocs = atoi(v);
		else if (strcmp(k, "--sources") == 0)
			g.nsources = atoi(v);
		else if (strcmp(k, "--window") == 0)
			g.window = atoi(v);
		else if (strcmp(k, "--probes") == 0)
			g.probes = atoi(v);
		else if (strcmp(k, "--hold") == 0)
			g.hold = atof(v);
		else if (strcmp(k, "--prefix") == 0)
			g.prefix = v;
		else
			die("unknown option (see the header of bench/notifier/idle.c)",
				-1);
	}
	for (int i = 0; i < g.nsteps; i++)
		max = g.steps[i] > max ? g.steps[i] : max;
	if (!g.host || !g.pid || max < 1 || g.ndocs < 1 || g.window < 1 ||
		g.probes < 1)
		die("--url, --pid and --steps are needed", -1);
	if (g.nsources < 1)
		g.nsources = (max + CLIENTS_PER_SOURCE - 1) / CLIENTS_PER_SOURCE;
	g.server.sin_family = AF_INET;
	g.server.sin_port = htons((uint16_t) g.port);
	if (inet_pton(AF_INET, g.host, &g.server.sin_addr) != 1)
		die("--url needs an IPv4 address", -1);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < (rlim_t) max + 64)
		die("too few descriptors for the clients: raise ulimit -n", -1);
	g.clients = calloc((size_t) max, sizeof(client));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.clients || g.ep < 0)
		die("cannot set up", -1);

	rss0 = notifier_rss_kb();
	slab0 = slab_kb();
	tcp0 = tcp_mem_pages();
	printf("base rss_kb %ld\n", rss0);
	report_health();
	fflush(stdout);
	/* the documents first: the others subscribe to them without create */
	connect_to(g.ndocs < g.steps[0] ? g.ndocs : g.steps[0]);
	for (int s = 0; s < g.nsteps; s++)
	{
		int64_t t0 = now_us();
		long rss;

		connect_to(g.steps[s]);
		printf("connected %d in %.1f s\n", g.idle,
			   (double) (now_us() - t0) / 1e6);
		serve_for(SETTLE_US);
		rss = notifier_rss_kb();
		if (rss < 0)
			die("cannot read the notifier's /proc status", -1);
		printf("step %d rss_kb %ld per_conn_bytes %.0f slab_kb %ld "
			   "tcp_mem_pages %ld\n",
			   g.idle, rss, (double) (rss - rss0) * 1024.0 / g.idle,
			   slab_kb() - slab0, tcp_mem_pages() - tcp0);
		report_health();
		fflush(stdout);
	}
	if (g.hold > 0)
	{
		printf("holding %d\n", g.idle);
		fflush(stdout);
		serve_for((int64_t) (g.hold * 1e6));
	}
	return 0;
}
