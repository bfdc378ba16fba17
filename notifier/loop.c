/*
 * loop.c — the event loop: lws's poll(), or libuv's or libev's epoll
 * (see loop.h; the measurements are in docs/notifier.md).
 *
 * What each costs: poll() hands the kernel every descriptor at every
 * wakeup, and lws walks them all after it, so an idle connection costs
 * CPU at each wakeup; turning POLLOUT on and off (a message to write, then
 * written) is free, an entry in lws's array.  epoll costs nothing per idle
 * connection, but each change of a socket's events is an epoll_ctl call:
 * libev makes one per change (it folds the changes of a turn), libuv's
 * uv_poll_start two (it removes the descriptor and adds it again).
 */
#include "loop.h"

#include "log.h"

#include <ev.h>
#include <string.h>
#include <uv.h>

static struct {
	enum {
		LOOP_POLL,
		LOOP_UV,
		LOOP_EV
	} kind;
	uv_loop_t uv;
	struct ev_loop *ev;
	void *foreign[1]; /* what lws is lent: &uv or ev */
} loop;

int
loop_open(const char *name)
{
	if (strcmp(name, "uv") == 0)
	{
		if (uv_loop_init(&loop.uv) != 0)
		{
			log_msg(LOG_ERROR, "loop: cannot make a libuv loop");
			return -1;
		}
		loop.kind = LOOP_UV;
		loop.foreign[0] = &loop.uv;
	}
	else if (strcmp(name, "ev") == 0)
	{
		loop.ev = ev_loop_new(EVBACKEND_EPOLL);
		if (!loop.ev)
		{
			log_msg(LOG_ERROR, "loop: cannot make a libev (epoll) loop");
			return -1;
		}
		loop.kind = LOOP_EV;
		loop.foreign[0] = loop.ev;
	}
	else
		loop.kind = LOOP_POLL;
	return 0;
}

void
loop_lend(struct lws_context_creation_info *info)
{
	/* lws loads the event library's plugin (libwebsockets-evlib-uv,
	 * -evlib-ev) when the context is made */
	if (loop.kind == LOOP_UV)
		info->options |= LWS_SERVER_OPTION_LIBUV;
	else if (loop.kind == LOOP_EV)
		info->options |= LWS_SERVER_OPTION_LIBEV;
	else
		return;
	info->foreign_loops = loop.foreign;
}

int
loop_turn(struct lws_context *context)
{
	switch (loop.kind)
	{
		case LOOP_UV:
			(void) uv_run(&loop.uv, UV_RUN_ONCE);
			return 0;
		case LOOP_EV:
			(void) ev_run(loop.ev, EVRUN_ONCE);
			return 0;
		case LOOP_POLL:
			break;
	}
	return lws_service(context, 0);
}

void
loop_close(void)
{
	switch (loop.kind)
	{
		case LOOP_UV:
			/* lws closes its handles through the loop */
			(void) uv_run(&loop.uv, UV_RUN_DEFAULT);
			(void) uv_loop_close(&loop.uv);
			break;
		case LOOP_EV:
			ev_loop_destroy(loop.ev);
			loop.ev = NULL;
			break;
		case LOOP_POLL:
			break;
	}
	loop.kind = LOOP_POLL;
}
