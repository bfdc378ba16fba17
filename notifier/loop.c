/*
 * loop.c — the event loop: lws's poll(), or libev's epoll (see loop.h; the
 * measurements are in docs/notifier.md, "Cheaper fan-out").
 *
 * What each costs: poll() hands the kernel every descriptor at every
 * wakeup, and lws walks them all after it, so each idle connection costs
 * CPU at each wakeup; turning POLLOUT on and off (a message to write, then
 * written) is free, an entry in lws's array.  epoll costs nothing per idle
 * connection, but each change of a socket's events is an epoll_ctl call,
 * two per delivery (libev folds the changes of one turn).
 *
 * libuv (lws's evlib_uv) is not offered: under it lws 4.1.6 closed
 * connections without their close frame (1013, 4001 never reached the
 * client: tests/notifier/check), and each change of events cost two
 * epoll_ctl calls (uv_poll_start removes the descriptor and adds it back).
 *
 * lws 4.1.6's libev glue cannot move its timer earlier: it re-arms an
 * active ev_timer with ev_timer_set + ev_timer_start, which libev ignores,
 * so a timer (lws_sul) scheduled before the one armed waited for it (a
 * presence's 100 ms gap took seconds).  A tick, an lws_sul every
 * EV_TICK_US, keeps the armed timer never further than that: every timer
 * fires at most EV_TICK_US late, for one epoll_wait wakeup per tick.
 */
#include "loop.h"

#include "log.h"

#include <ev.h>
#include <string.h>

#define EV_TICK_US (10 * LWS_US_PER_MS)

static struct {
	struct ev_loop *ev; /* NULL: lws's own poll() loop */
	void *foreign[1];	/* what lws is lent */
	struct lws_context *context;
	lws_sorted_usec_list_t tick;
} loop;

int
loop_open(const char *name)
{
	if (strcmp(name, "ev") != 0)
	{
		log_msg(LOG_INFO, "loop: libwebsockets' own (poll)");
		return 0;
	}
	loop.ev = ev_loop_new(EVBACKEND_EPOLL);
	if (!loop.ev)
	{
		log_msg(LOG_ERROR, "loop: cannot make a libev (epoll) loop");
		return -1;
	}
	loop.foreign[0] = loop.ev;
	log_msg(LOG_INFO, "loop: libev (epoll)");
	return 0;
}

void
loop_lend(struct lws_context_creation_info *info)
{
	if (!loop.ev)
		return;
	/* lws loads its evlib_ev plugin (libwebsockets-evlib-ev) */
	info->options |= LWS_SERVER_OPTION_LIBEV;
	info->foreign_loops = loop.foreign;
}

static void
tick(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(loop.context, 0, sul, tick, EV_TICK_US);
}

void
loop_start(struct lws_context *context)
{
	loop.context = context;
	if (loop.ev)
		tick(&loop.tick);
}

int
loop_turn(struct lws_context *context)
{
	if (!loop.ev)
		return lws_service(context, 0);
	(void) ev_run(loop.ev, EVRUN_ONCE);
	return 0;
}

void
loop_close(void)
{
	if (!loop.ev)
		return;
	ev_loop_destroy(loop.ev);
	loop.ev = NULL;
}
