/*
 * sendcost.c — the floor under a fan-out delivery: what one send(2) of a
 * change-sized message to a loopback TCP socket costs the sender, in CPU,
 * with nothing else around it (no WebSocket, no queue, no event loop).
 *
 *   sendcost [READERS [MESSAGES [BYTES]]]     defaults 500, 200000, 160
 *
 * READERS connected TCP sockets on 127.0.0.1; a child process drains them
 * all (epoll), so the parent only sends: MESSAGES sends of BYTES each,
 * round robin over the sockets, one message per call, as a notifier does
 * when each subscriber has one message queued.  Then the same bytes with
 * 8 messages per call (what several writers let the notifier batch).
 * Prints the parent's CPU (user + system, getrusage) per message for both.
 * Issue 14's fan-out aim is 3 µs of notifier CPU per delivery
 * (docs/speed.md, "Cheaper fan-out").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
		   (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* Reads everything from FDS until each is closed; never returns. */
static void
drain(const int *fds, int n)
{
	int ep = epoll_create1(0), open = n;
	struct epoll_event ev, evs[64];
	static char buf[65536];

	if (ep < 0)
		die("epoll_create1");
	for (int i = 0; i < n; i++)
	{
		ev.events = EPOLLIN;
		ev.data.fd = fds[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0)
			die("epoll_ctl");
	}
	while (open > 0)
	{
		int k = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < k; i++)
		{
			ssize_t r = read(evs[i].data.fd, buf, sizeof(buf));

			if (r == 0)
			{
				close(evs[i].data.fd);
				open--;
			}
		}
	}
	_exit(0);
}

/* Sends MESSAGES of BYTES round robin over FDS, PER messages a call;
 * returns the CPU seconds it took. */
static double
send_all(const int *fds, int n, long messages, int bytes, int per)
{
	char *buf = malloc((size_t) bytes * (size_t) per);
	double t0;

	if (!buf)
		die("malloc");
	memset(buf, 'x', (size_t) bytes * (size_t) per);
	t0 = cpu_seconds();
	for (long m = 0; m < messages; m += per)
	{
		int fd = fds[(m / per) % n];
		size_t len = (size_t) bytes * (size_t) per, off = 0;

		while (off < len)
		{
			ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				die("send");
			off += (size_t) w;
		}
	}
	free(buf);
	return cpu_seconds() - t0;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500;
	long messages = argc > 2 ? atol(argv[2]) : 200000;
	int bytes = argc > 3 ? atoi(argv[3]) : 160;
	int lfd, one = 1, *tx, *rx;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sa);
	pid_t child;
	double one_each, batched;

	if (n < 1 || messages < 8 || bytes < 1)
	{
		fprintf(stderr, "usage: sendcost [READERS [MESSAGES [BYTES]]]\n");
		return 2;
	}
	tx = calloc((size_t) n, sizeof(int));
	rx = calloc((size_t) n, sizeof(int));
	if (!tx || !rx)
		die("calloc");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) != 0 ||
		listen(lfd, 1024) != 0 ||
		getsockname(lfd, (struct sockaddr *) &sa, &slen) != 0)
		die("listen");
	for (int i = 0; i < n; i++)
	{
		tx[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (tx[i] < 0 ||
			connect(tx[i], (struct sockaddr *) &sa, sizeof(sa)) != 0)
			die("connect");
		/* as lws sets it on its connections */
		setsockopt(tx[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rx[i] = accept(lfd, NULL, NULL);
		if (rx[i] < 0)
			die("accept");
	}
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
	{
		for (int i = 0; i < n; i++)
			close(tx[i]);
		drain(rx, n);
	}
	for (int i = 0; i < n; i++)
		close(rx[i]);
	one_each = send_all(tx, n, messages, bytes, 1);
	batched = send_all(tx, n, messages, bytes, 8);
	for (int i = 0; i < n; i++)
		close(tx[i]);
	waitpid(child, NULL, 0);
	printf("readers %d messages %ld bytes %d\n", n, messages, bytes);
	printf("one message a send: %.2f us of sender CPU per message\n",
		   one_each * 1e6 / (double) messages);
	printf("8 messages a send:  %.2f us of sender CPU per message\n",
		   batched * 1e6 / (double) messages);
	return 0;
}
