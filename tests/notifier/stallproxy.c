/*
 * stallproxy.c — a TCP proxy that can stop forwarding without closing
 * anything: a network link cut without a FIN, for tests/notifier/faults.
 *
 *   stallproxy LISTEN_PORT TARGET_PORT [LIFETIME_S]
 *
 * Listens on 127.0.0.1:LISTEN_PORT (only) and forwards each connection to
 * 127.0.0.1:TARGET_PORT (PostgreSQL), both ways, with poll().  Signals:
 *   SIGUSR1  stall: nothing more is read or written on any connection, in
 *            either direction, and nothing is closed; new connections are
 *            accepted and held the same way (a hung server's kernel still
 *            completes the handshake).  Each side's kernel keeps
 *            acknowledging what the other sends until its buffers fill, so
 *            TCP keepalives pass: only a deadline of the application's own
 *            notices.
 *   SIGUSR2  reset: every connection is closed with a RST on both sides
 *            (SO_LINGER 0), as a router that lost the flow answers, and
 *            forwarding resumes for new ones.
 *   SIGTERM, SIGINT: exit.  So does LIFETIME_S (default 600) passing, so
 *            that a test killed hard leaves no proxy behind for long.
 * Prints one line per signal handled (and per failure) on stderr.
 *
 * Bounded: at most MAX_PAIRS connections (more are refused with a RST),
 * BUF_BYTES in flight per direction.  Signals are blocked except inside
 * ppoll, so none is lost between a check and the wait.
 */
#define _GNU_SOURCE /* ppoll */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define BUF_BYTES 65536

/* One direction: bytes read from `from`, not yet written to `to`. */
typedef struct pipe_buf {
	char data[BUF_BYTES];
	size_t start, end; /* data[start..end) waits to be written */
	bool eof;		   /* `from` said FIN: pass it on once drained */
	bool shut;		   /* ... passed on (shutdown of `to`'s writing) */
} pipe_buf;

typedef struct pair {
	bool used;
	int client;		 /* accepted from LISTEN_PORT */
	int server;		 /* to TARGET_PORT; -1 until connecting starts */
	bool connecting; /* server's connect not finished */
	pipe_buf up;	 /* client -> server */
	pipe_buf down;	 /* server -> client */
} pair;

static volatile sig_atomic_t got_stall, got_reset, got_stop;
static pair pairs[MAX_PAIRS];
static bool stalled;
static int target_port;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_stall = 1;
	else if (sig == SIGUSR2)
		got_reset = 1;
	else
		got_stop = 1;
}

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stallproxy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* Closes FD with a RST instead of a FIN. */
static void
close_hard(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (fd < 0)
		return;
	(void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
pair_close(pair *p, bool hard)
{
	if (hard)
	{
		close_hard(p->client);
		close_hard(p->server);
	}
	else
	{
		close(p->client);
		if (p->server >= 0)
			close(p->server);
	}
	memset(p, 0, sizeof(*p));
}

static int
nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t) port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* Starts P's connection to the target; false when it failed at once. */
static bool
pair_connect(pair *p)
{
	struct sockaddr_in a = loopback(target_port);

	p->server = socket(AF_INET, SOCK_STREAM, 0);
	if (p->server < 0 || nonblocking(p->server) < 0)
		return false;
	if (connect(p->server, (struct sockaddr *) &a, sizeof(a)) == 0)
		return true;
	if (errno != EINPROGRESS)
		return false;
	p->connecting = true;
	return true;
}

static void
accept_one(int listener)
{
	int fd = accept(listener, NULL, NULL);
	pair *p = NULL;

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_PAIRS && !p; i++)
		if (!pairs[i].used)
			p = &pairs[i];
	if (!p || nonblocking(fd) < 0)
	{
		say("full: a connection refused (%d in use)", MAX_PAIRS);
		close_hard(fd);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->client = fd;
	p->server = -1;
	/* stalled: held as it is, connected upstream only after a reset */
	if (!stalled && !pair_connect(p))
	{
		say("cannot reach the target (port %d): %s", target_port,
			strerror(errno));
		pair_close(p, true);
	}
}

/* Moves what B holds from FROM to TO; false when the pair is done. */
static bool
pump(pipe_buf *b, int from, int to, short from_ev, short to_ev)
{
	if ((from_ev & (POLLIN | POLLHUP | POLLERR)) && !b->eof &&
		b->end < sizeof(b->data))
	{
		ssize_t n = read(from, b->data + b->end, sizeof(b->data) - b->end);

		if (n > 0)
			b->end += (size_t) n;
		else if (n == 0)
			b->eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			return false;
	}
	if ((to_ev & POLLOUT) && b->start < b->end)
	{
		ssize_t n = write(to, b->data + b->start, b->end - b->start);

		if (n > 0)
			b->start += (size_t) n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
	}
	if (b->start == b->end)
		b->start = b->end = 0;
	if (b->eof && b->start == b->end && !b->shut)
	{
		shutdown(to, SHUT_WR);
		b->shut = true;
	}
	return true;
}

static short
wants(const pipe_buf *in, const pipe_buf *out)
{
	short ev = 0;

	if (!in->eof && in->end < sizeof(in->data))
		ev |= POLLIN;
	if (out->start < out->end)
		ev |= POLLOUT;
	return ev;
}

int
main(int argc, char **argv)
{
	int listen_port, listener, one = 1;
	long lifetime_s = 600;
	struct sockaddr_in a;
	struct sigaction sa;
	sigset_t block, empty;
	time_t end;

	if (argc < 3 || argc > 4)
	{
		fprintf(stderr,
				"usage: stallproxy LISTEN_PORT TARGET_PORT [LIFETIME_S]\n");
		return 2;
	}
	listen_port = atoi(argv[1]);
	target_port = atoi(argv[2]);
	if (argc == 4)
		lifetime_s = atol(argv[3]);
	if (listen_port < 1 || listen_port > 65535 || target_port < 1 ||
		target_port > 65535 || lifetime_s < 1)
	{
		fprintf(stderr, "stallproxy: bad ports or lifetime\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	listener = socket(AF_INET, SOCK_STREAM, 0);
	a = loopback(listen_port);
	if (listener < 0 ||
		setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) <
			0 ||
		bind(listener, (struct sockaddr *) &a, sizeof(a)) < 0 ||
		listen(listener, 64) < 0 || nonblocking(listener) < 0)
	{
		fprintf(stderr, "stallproxy: cannot listen on 127.0.0.1:%d: %s\n",
				listen_port, strerror(errno));
		return 1;
	}
	end = time(NULL) + lifetime_s;
	while (!got_stop)
	{
		struct pollfd fds[1 + 2 * MAX_PAIRS];
		int slot[MAX_PAIRS]; /* the pair's first entry in fds, or -1 */
		struct timespec tick = {.tv_sec = 1, .tv_nsec = 0};
		int nfds = 1;

		if (got_stall)
		{
			int n = 0;

			got_stall = 0;
			stalled = true;
			for (int i = 0; i < MAX_PAIRS; i++)
				n += pairs[i].used;
			say("stalled: %d connections held", n);
		}
		if (got_reset)
		{
			int n = 0;

			got_reset = 0;
			stalled = false;
			for (int i = 0; i < MAX_PAIRS; i++)
				if (pairs[i].used)
				{
					pair_close(&pairs[i], true);
					n++;
				}
			say("reset: %d connections closed with a RST, forwarding", n);
		}
		if (time(NULL) >= end)
		{
			say("lifetime over after %ld s", lifetime_s);
			break;
		}
		fds[0] = (struct pollfd){.fd = listener, .events = POLLIN};
		for (int i = 0; i < MAX_PAIRS; i++)
		{
			pair *p = &pairs[i];

			slot[i] = -1;
			if (!p->used || stalled)
				continue;
			slot[i] = nfds;
			fds[nfds++] = (struct pollfd){.fd = p->client,
										  .events = wants(&p->up, &p->down)};
			fds[nfds++] =
				(struct pollfd){.fd = p->server,
								.events = p->connecting
											  ? POLLOUT
											  : wants(&p->down, &p->up)};
		}
		if (ppoll(fds, (nfds_t) nfds, &tick, &empty) < 0)
		{
			if (errno == EINTR)
				continue;
			perror("stallproxy: poll");
			return 1;
		}
		for (int i = 0; i < MAX_PAIRS; i++)
		{
			pair *p = &pairs[i];
			short cev, sev;

			if (slot[i] < 0 || !p->used)
				continue;
			cev = fds[slot[i]].revents;
			sev = fds[slot[i] + 1].revents;
			if (p->connecting)
			{
				int err = 0;
				socklen_t len = sizeof(err);

				if (!sev)
					continue;
				if (getsockopt(p->server, SOL_SOCKET, SO_ERROR, &err, &len) <
						0 ||
					err)
				{
					pair_close(p, true);
					continue;
				}
				p->connecting = false;
				continue;
			}
			if ((cev & POLLERR) || (sev & POLLERR) ||
				!pump(&p->up, p->client, p->server, cev, sev) ||
				!pump(&p->down, p->server, p->client, sev, cev))
			{
				pair_close(p, true);
				continue;
			}
			if (p->up.shut && p->down.shut)
				pair_close(p, false);
		}
		if (fds[0].revents & POLLIN)
			accept_one(listener);
	}
	for (int i = 0; i < MAX_PAIRS; i++)
		if (pairs[i].used)
			pair_close(&pairs[i], true);
	close(listener);
	return 0;
}
