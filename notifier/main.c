/*
 * main.c — collab-notifier: reads its settings (config.c), starts the
 * HTTP/WebSocket server (ws.c) and the database connections (pg.c), and runs
 * the one event loop (loop.c: lws's poll() or libev's epoll) until SIGTERM
 * or SIGINT, then shuts down gracefully: no new connections, submits in
 * flight finished, clients closed with 1001.
 */
#include "auth.h"
#include "config.h"
#include "fanout.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "pg.h"
#include "quota.h"
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

/* Descriptors beyond the clients': the database's, listeners, /healthz. */
#define FD_SPARE 64

/*
 * Lets the process hold as many sockets as its hard limit allows (each
 * client is one descriptor), and says so: a soft limit of 1024, a common
 * default, would refuse clients long before --max-clients.  Only the hard
 * limit is the operator's to raise (ulimit -Hn, LimitNOFILE= in systemd,
 * fs.nr_open above a million): docs/notifier.md, "Idle connections".
 */
static void
raise_fd_limit(const config *cfg)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = was;
	}
	if (rl.rlim_cur != was)
		log_msg(LOG_INFO, "descriptors: soft limit raised from %llu to %llu",
				(unsigned long long) was, (unsigned long long) rl.rlim_cur);
	if (rl.rlim_cur != RLIM_INFINITY &&
		rl.rlim_cur < (rlim_t) cfg->max_clients + FD_SPARE)
		log_msg(LOG_WARN,
				"descriptors: the limit (%llu, the hard one) holds fewer "
				"than --max-clients %d: about %llu clients at most (raise "
				"ulimit -Hn)",
				(unsigned long long) rl.rlim_cur, cfg->max_clients,
				rl.rlim_cur > FD_SPARE
					? (unsigned long long) (rl.rlim_cur - FD_SPARE)
					: 0ULL);
}

/*
 * --insecure-no-auth: said at start and every minute after, so that a log
 * read at any time shows it, not only one read from the beginning.
 */
#define INSECURE_WARNING_US (60 * LWS_US_PER_SEC)
static lws_sorted_usec_list_t insecure_sul;

static void
insecure_warning(void)
{
	log_msg(LOG_WARN, "WARNING: --insecure-no-auth: authentication is OFF: "
					  "every connection gets every right, to read, write "
					  "and create every document under any client id; for "
					  "development only (docs/auth.md)");
}

static void
insecure_warning_cb(lws_sorted_usec_list_t *sul)
{
	insecure_warning();
	lws_sul_schedule(context, 0, sul, insecure_warning_cb,
					 INSECURE_WARNING_US);
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
		insecure_warning();
	if (cfg.dev_login)
		log_msg(LOG_WARN,
				"--dev-login: GET http://%s:%d/dev-login signs anyone on this "
				"machine in as a new guest with every right (development "
				"only, docs/auth.md)",
				cfg.listen_host, cfg.listen_port);
	lws_set_log_level(LLL_ERR | LLL_WARN, log_lws_emit);
	srand((unsigned) time(NULL) ^ (unsigned) getpid());
	raise_fd_limit(&cfg);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (loop_open(cfg.event_loop) != 0)
		return 2;
	context = ws_create_context(&cfg);
	if (!context)
	{
		loop_close();
		return 2;
	}
	vhost = lws_get_vhost_by_name(context, "default");
	if (!vhost)
	{
		log_msg(LOG_ERROR, "no default vhost");
		lws_context_destroy(context);
		loop_close();
		return 2;
	}
	fanout_init(context, &cfg);
	loop_start(context);
	if (!auth_enabled())
		lws_sul_schedule(context, 0, &insecure_sul, insecure_warning_cb,
						 INSECURE_WARNING_US);
	listen_init(cfg.notify_key);
	log_msg(LOG_INFO, "pg: a pool of %d connections%s", cfg.pool_size,
			cfg.pool_size_auto ? " (two per CPU, 4 to 16: --pool-size)" : "");
	if (cfg.listen_dsns.n > 0)
		log_msg(LOG_INFO,
				"pg: listening on %d partitions (--listen-dsn), requests "
				"through --dsn",
				cfg.listen_dsns.n);
	if (!cfg.notify_key)
		log_msg(LOG_WARN, "no --notify-key-file: every notification on "
						  "channel collab is believed, and any database "
						  "role can send one");
	{
		pg_settings db = {.dsn = cfg.dsn,
						  .listen_dsns = cfg.listen_dsns.items,
						  .nlisten = cfg.listen_dsns.n,
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
		if (loop_turn(context) < 0)
			break;
		if (stop_requested)
		{
			stop_requested = 0;
			fanout_shutdown();
		}
	}
	log_msg(LOG_INFO, "stopped");
	lws_sul_cancel(&insecure_sul);
	pg_stop();
	free(cfg.listen_dsns.env_copy); /* the listeners' strings, until now */
	lws_context_destroy(context);
	loop_close();
	auth_free();
	quota_clear();
	return 0;
}
