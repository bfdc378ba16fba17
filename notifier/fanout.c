/*
 * fanout.c — the fan-out's shared state and life cycle (see fanout.h).
 */
#include "fanout.h"

#include "conn.h"
#include "log.h"

#define SHUTDOWN_SUBMIT_WAIT_US (5 * LWS_US_PER_SEC)
#define SHUTDOWN_CLOSE_WAIT_US (3 * LWS_US_PER_SEC)
#define SHUTDOWN_TICK_US (20 * LWS_US_PER_MS)

struct lws_context *fanout_context;
const config *fanout_cfg;

static struct {
	bool stopping;
	bool closing_all;
	lws_usec_t started;
	lws_sorted_usec_list_t sul;
} stop;

void
fanout_init(struct lws_context *context, const config *cfg)
{
	fanout_context = context;
	fanout_cfg = cfg;
}

static void
stop_tick(lws_sorted_usec_list_t *sul)
{
	lws_usec_t waited = lws_now_usecs() - stop.started;

	(void) sul;
	if (!stop.closing_all &&
		(conn_inflight_total() == 0 || waited > SHUTDOWN_SUBMIT_WAIT_US))
	{
		log_msg(LOG_INFO, "fanout: closing %d connections", conn_count());
		stop.closing_all = true;
		conn_close_all(LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
	}
	if (!fanout_finished())
		lws_sul_schedule(fanout_context, 0, &stop.sul, stop_tick,
						 SHUTDOWN_TICK_US);
}

void
fanout_shutdown(void)
{
	if (stop.stopping)
		return;
	stop.stopping = true;
	stop.started = lws_now_usecs();
	log_msg(LOG_INFO, "fanout: shutting down: %d submits in flight",
			conn_inflight_total());
	stop_tick(&stop.sul);
}

bool
fanout_stopping(void)
{
	return stop.stopping;
}

bool
fanout_accepting(void)
{
	return !stop.stopping && conn_count() < fanout_cfg->max_clients;
}

bool
fanout_finished(void)
{
	return stop.stopping && stop.closing_all &&
		   (conn_count() == 0 ||
			lws_now_usecs() - stop.started >
				SHUTDOWN_SUBMIT_WAIT_US + SHUTDOWN_CLOSE_WAIT_US);
}
