/*
 * main.c — collab-notifier: reads its settings (config.c), starts the
 * HTTP/WebSocket server (ws.c) and the database connections (pg.c), and runs
 * the one event loop until SIGTERM or SIGINT, then shuts down gracefully:
 * no new connections, submits in flight finished, clients closed with 1001.
 */
#include "auth.h"
#include "config.h"
#include "fanout.h"
#include "listen.h"
#include "log.h"
#include "pg.h"
#include "ws.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static struct lws_context *context;

static void
on_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
	if (context)
		lws_cancel_service(context);
}

/* Lets the process hold as many sockets as its hard limit allows. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	config cfg;
	struct sigaction sa;
	struct lws_vhost *vhost;
	static const pg_events events = {listen_notify, listen_ready};
	int rc = config_load(&cfg, argc, argv);

	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (log_set_level(cfg.log_level) != 0)
	{
		log_msg(LOG_ERROR, "unknown --log-level \"%s\"", cfg.log_level);
		return 2;
	}
	if (!auth_init(&cfg))
		return 2;
	if (!auth_enabled())
		log_msg(LOG_WARN, "no --auth-secret-file or --auth-public-key-file: "
						  "anyone who reaches this port may read and write "
						  "every document (development only, docs/auth.md)");
	lws_set_log_level(LLL_ERR | LLL_WARN, log_lws_emit);
	srand((unsigned) time(NULL) ^ (unsigned) getpid());
	raise_fd_limit();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	context = ws_create_context(&cfg);
	if (!context)
		return 2;
	vhost = lws_get_vhost_by_name(context, "default");
	if (!vhost)
	{
		log_msg(LOG_ERROR, "no default vhost");
		lws_context_destroy(context);
		return 2;
	}
	fanout_init(context, &cfg);
	listen_init(cfg.notify_key);
	if (!cfg.notify_key)
		log_msg(LOG_WARN, "no --notify-key-file: every notification on "
						  "channel collab is believed, and any database "
						  "role can send one");
	{
		pg_settings db = {.dsn = cfg.dsn,
						  .pool_size = cfg.pool_size,
						  .connect_timeout_ms = cfg.connect_timeout_ms,
						  .statement_timeout_ms = cfg.statement_timeout_ms,
						  .lock_timeout_ms = cfg.lock_timeout_ms,
						  .query_timeout_ms = cfg.query_timeout_ms,
						  .batch_max = cfg.batch_max,
						  .heartbeat_ms = cfg.heartbeat_ms};

		pg_start(context, vhost, &db, &events);
	}
	log_msg(LOG_INFO,
			"collab-notifier %s listening on http://%s:%d (WebSocket %s)%s%s",
			NOTIFIER_VERSION, cfg.listen_host, cfg.listen_port, "/ws",
			cfg.static_dir ? ", static files from " : "",
			cfg.static_dir ? cfg.static_dir : "");

	while (!fanout_finished())
	{
		if (lws_service(context, 0) < 0)
			break;
		if (stop_requested)
		{
			stop_requested = 0;
			fanout_shutdown();
		}
	}
	log_msg(LOG_INFO, "stopped");
	pg_stop();
	lws_context_destroy(context);
	auth_free();
	return 0;
}
