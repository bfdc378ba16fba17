/*
 * config.c — every option of collab-notifier in one table: flag, environment
 * variable, default, limits and help.  --help prints the table.
 */
/* sched_getaffinity, CPU_COUNT */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier) */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum opt_kind {
	OPT_STRING,
	OPT_INT,
	OPT_LONG,
	OPT_ADDRESS,
	OPT_BOOL, /* a flag without a value; its variable 1/0 (yes/no ...) */
	OPT_LIST, /* repeatable (config_list) */
} opt_kind;

typedef struct option_def {
	const char *flag; /* without the leading dashes */
	const char *env;  /* environment variable */
	opt_kind kind;
	const char *dflt; /* default, as text; NULL: none */
	long min, max;	  /* bounds of numbers */
	size_t offset;	  /* field in struct config */
	const char *help;
} option_def;

#define FIELD(f) offsetof(config, f)

static const option_def options[] = {
	{"dsn", "COLLAB_DSN", OPT_STRING, NULL, 0, 0, FIELD(dsn),
	 "PostgreSQL connection string or URI of the database with collab, or "
	 "of a partitioned deployment's proxy (required)"},
	{"listen-dsn", "COLLAB_LISTEN_DSN", OPT_LIST, NULL, 0, 0,
	 FIELD(listen_dsns),
	 "a partitioned deployment (docs/scale-out.md): the connection string "
	 "of a partition, to LISTEN on there, repeated for every partition (up "
	 "to 64; the variable: separated by ';'); each has a connection, a "
	 "heartbeat and a reconnect of its own, and /healthz and /metrics "
	 "report each by its database's name (default: LISTEN on --dsn)"},
	{"listen", "COLLAB_LISTEN", OPT_ADDRESS, "127.0.0.1:8080", 0, 0,
	 FIELD(listen_host), "HOST:PORT to serve WebSockets (/ws) and HTTP on"},
	{"static", "COLLAB_STATIC", OPT_STRING, NULL, 0, 0, FIELD(static_dir),
	 "directory whose files are served at / (the demo editor)"},
	{"pool-size", "COLLAB_POOL_SIZE", OPT_INT, "0", 0, 64, FIELD(pool_size),
	 "database connections for submits and reads, plus one for LISTEN (0: "
	 "two per CPU this process may use, 4 to 16)"},
	{"batch-max", "COLLAB_BATCH_MAX", OPT_INT, "32", 1, 64, FIELD(batch_max),
	 "most submits sent to the database in one statement (1: one each)"},
	{"connect-timeout-ms", "COLLAB_CONNECT_TIMEOUT_MS", OPT_INT, "10000", 0,
	 3600000, FIELD(connect_timeout_ms),
	 "longest a connection attempt to the database may take (0: no limit); "
	 "then it is retried with backoff"},
	{"statement-timeout-ms", "COLLAB_STATEMENT_TIMEOUT_MS", OPT_INT, "10000",
	 0, 3600000, FIELD(statement_timeout_ms),
	 "longest a statement of the pool may run (statement_timeout; 0: no "
	 "limit); its request then fails unavailable and the client retries"},
	{"lock-timeout-ms", "COLLAB_LOCK_TIMEOUT_MS", OPT_INT, "5000", 0, 3600000,
	 FIELD(lock_timeout_ms),
	 "longest a statement of the pool may wait for a lock (lock_timeout; 0: "
	 "no limit): a document held by a long application transaction fails "
	 "its submits unavailable instead of holding a pool connection"},
	{"query-timeout-ms", "COLLAB_QUERY_TIMEOUT_MS", OPT_INT, "15000", 0,
	 3600000, FIELD(query_timeout_ms),
	 "longest a request may wait for its answer from the database, queue "
	 "included (0: no limit); then it fails unavailable and, if it was "
	 "running, its connection is replaced (a hung server, a cut link)"},
	{"heartbeat-ms", "COLLAB_HEARTBEAT_MS", OPT_INT, "5000", 0, 3600000,
	 FIELD(heartbeat_ms),
	 "an idle database connection (LISTEN's too) is probed after this long, "
	 "and replaced when the probe is unanswered this long (0: no probes)"},
	{"max-message-bytes", "COLLAB_MAX_MESSAGE_BYTES", OPT_LONG, "1048576", 256,
	 64L * 1024 * 1024, FIELD(max_message_bytes),
	 "largest message a client may send; bigger closes it (1009)"},
	{"rate", "COLLAB_RATE", OPT_INT, "200", 1, 1000000, FIELD(rate),
	 "messages per second a client may send; more are refused"},
	{"burst", "COLLAB_BURST", OPT_INT, "400", 1, 1000000, FIELD(burst),
	 "messages a client may send in a burst above the rate"},
	{"byte-rate", "COLLAB_BYTE_RATE", OPT_LONG, "1048576", 1, 1L << 40,
	 FIELD(byte_rate),
	 "bytes per second a client may send, besides --rate; more are refused "
	 "as messages over the rate are"},
	{"byte-burst", "COLLAB_BYTE_BURST", OPT_LONG, "16777216", 256, 1L << 40,
	 FIELD(byte_burst),
	 "bytes a client may send in a burst above --byte-rate; at least "
	 "--max-message-bytes (the default: 16 submits in flight of 1 MiB)"},
	{"max-docs", "COLLAB_MAX_DOCS", OPT_INT, "100", 1, 100000, FIELD(max_docs),
	 "documents one connection may subscribe to"},
	{"max-inflight", "COLLAB_MAX_INFLIGHT", OPT_INT, "16", 1, 10000,
	 FIELD(max_inflight), "submits one connection may have in flight"},
	{"max-pending", "COLLAB_MAX_PENDING", OPT_INT, "32", 1, 10000,
	 FIELD(max_pending),
	 "database requests of any kind one connection may have waiting; more "
	 "are refused (too_many), so that one client cannot queue ahead of "
	 "everyone"},
	{"max-queue", "COLLAB_MAX_QUEUE", OPT_INT, "4096", 16, 10000000,
	 FIELD(max_queue),
	 "messages queued for a slow client before it is closed (1013)"},
	{"max-queue-bytes", "COLLAB_MAX_QUEUE_BYTES", OPT_LONG, "16777216", 65536,
	 1L << 40, FIELD(max_queue_bytes),
	 "bytes queued for a slow client before it is closed (1013)"},
	{"history", "COLLAB_HISTORY", OPT_INT, "256", 1, 1000000, FIELD(history),
	 "recent changes kept per followed document, for resumes without a query"},
	{"gap-wait-ms", "COLLAB_GAP_WAIT_MS", OPT_INT, "50", 0, 60000,
	 FIELD(gap_wait_ms),
	 "how long a revision ahead of a missing one waits for the missing "
	 "notification before the notifier fetches it"},
	{"slow-ms", "COLLAB_SLOW_MS", OPT_INT, "10000", 1, 3600000, FIELD(slow_ms),
	 "a client whose outgoing queue stays over half full this long is closed "
	 "(1013); until then it is sent changes as fast as it reads them"},
	{"max-clients", "COLLAB_MAX_CLIENTS", OPT_INT, "100000", 1, 10000000,
	 FIELD(max_clients), "WebSocket connections served at a time"},
	{"max-clients-per-address", "COLLAB_MAX_CLIENTS_PER_ADDRESS", OPT_INT,
	 "256", 1, 10000000, FIELD(max_clients_per_address),
	 "WebSocket connections one address (an IPv6 /64) may hold; more are "
	 "refused at the handshake (429).  An office behind one NAT is one "
	 "address; behind a proxy, every client is the proxy's"},
	{"creates-per-minute", "COLLAB_CREATES_PER_MINUTE", OPT_INT, "30", 1,
	 10000000, FIELD(creates_per_minute),
	 "documents one user (its token's sub; without keys, one address) may "
	 "create a minute, in bursts of as many; more are refused "
	 "(rate_limited)"},
	{"allowed-origins", "COLLAB_ALLOWED_ORIGINS", OPT_STRING, NULL, 0, 0,
	 FIELD(allowed_origins),
	 "comma-separated Origin values accepted for WebSockets (default: any)"},
	{"log-level", "COLLAB_LOG_LEVEL", OPT_STRING, "info", 0, 0,
	 FIELD(log_level), "debug, info, warn or error"},
	{"event-loop", "COLLAB_EVENT_LOOP", OPT_STRING, "poll", 0, 0,
	 FIELD(event_loop),
	 "poll: libwebsockets' own loop, poll() over every connection at each "
	 "wakeup; ev: libev's (epoll), whose wakeups cost nothing per idle "
	 "connection but each delivery two more system calls; ev for many "
	 "idle connections (docs/notifier.md)"},
	{"notify-key-file", "COLLAB_NOTIFY_KEY_FILE", OPT_STRING, NULL, 0, 0,
	 FIELD(notify_key_file),
	 "file holding the database's collab.notify_key: only notifications "
	 "sealed with it are believed (default: none, every notification is)"},
	{"auth-secret-file", "COLLAB_AUTH_SECRET_FILE", OPT_STRING, NULL, 0, 0,
	 FIELD(auth_secret_file),
	 "file holding the HS256 secret (32 bytes or more) that signs users' "
	 "tokens (docs/auth.md); with a key, every connection needs a token"},
	{"auth-public-key-file", "COLLAB_AUTH_PUBLIC_KEY_FILE", OPT_STRING, NULL,
	 0, 0, FIELD(auth_public_key_file),
	 "PEM public key whose private half signs users' tokens: RSA (RS256) or "
	 "P-256 (ES256)"},
	{"insecure-no-auth", "COLLAB_INSECURE_NO_AUTH", OPT_BOOL, NULL, 0, 0,
	 FIELD(insecure_no_auth),
	 "development only, on loopback only: start without a key, and every "
	 "connection gets every right on every document; without a key and "
	 "without this flag the notifier refuses to start (docs/auth.md)"},
	{"auth-audience", "COLLAB_AUTH_AUDIENCE", OPT_STRING, "collab", 0, 0,
	 FIELD(auth_audience), "what a token's aud must hold"},
	{"auth-issuer", "COLLAB_AUTH_ISSUER", OPT_STRING, NULL, 0, 0,
	 FIELD(auth_issuer), "what a token's iss must be (default: not checked)"},
	{"auth-leeway-s", "COLLAB_AUTH_LEEWAY_S", OPT_INT, "5", 0, 300,
	 FIELD(auth_leeway_s),
	 "seconds a token's nbf or iat may lie ahead (clock skew); exp has none"},
	{"auth-max-token-s", "COLLAB_AUTH_MAX_TOKEN_S", OPT_INT, "3600", 1, 86400,
	 FIELD(auth_max_token_s),
	 "a token whose exp lies further ahead is refused: tokens are "
	 "short-lived and refreshed"},
	{"auth-cookie", "COLLAB_AUTH_COOKIE", OPT_STRING, "collab_token", 0, 0,
	 FIELD(auth_cookie),
	 "the cookie that may carry the token on the WebSocket upgrade"},
	{"auth-timeout-ms", "COLLAB_AUTH_TIMEOUT_MS", OPT_INT, "5000", 100, 600000,
	 FIELD(auth_timeout_ms),
	 "a connection without a token by then is closed (4001)"},
	{"dev-login", "COLLAB_DEV_LOGIN", OPT_BOOL, NULL, 0, 0, FIELD(dev_login),
	 "development only: GET /dev-login?next=/PATH signs in a made-up guest "
	 "(a cookie holding a token signed with --auth-secret-file) and POST "
	 "/dev-login renews it; refused unless --listen is loopback and an "
	 "HS256 secret is given (tools/run, docs/auth.md)"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/*
 * Reads --notify-key-file: the key is the file's contents without the
 * line ends after it, at least NOTIFY_KEY_MIN bytes (as the database
 * requires of collab.notify_key).
 */
static int
read_key(config *cfg)
{
	FILE *f = fopen(cfg->notify_key_file, "rb");
	char buf[4097];
	size_t n;

	if (!f)
	{
		fprintf(stderr, "collab-notifier: cannot read --notify-key-file %s\n",
				cfg->notify_key_file);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n < NOTIFY_KEY_MIN || strlen(buf) != n)
	{
		fprintf(stderr,
				"collab-notifier: --notify-key-file %s: a key of at least %d "
				"bytes, no NUL, on one line\n",
				cfg->notify_key_file, NOTIFY_KEY_MIN);
		return -1;
	}
	cfg->notify_key = strdup(buf);
	return cfg->notify_key ? 0 : -1;
}

/*
 * --byte-burst: a message the size limit admits must fit in the bucket, or
 * it could never be sent.
 */
static int
check_byte_burst(const config *cfg)
{
	if (cfg->byte_burst >= cfg->max_message_bytes)
		return 0;
	fprintf(stderr,
			"collab-notifier: --byte-burst %ld is less than "
			"--max-message-bytes %ld: the biggest message could never be "
			"sent\n",
			cfg->byte_burst, cfg->max_message_bytes);
	return -1;
}

/* Whether the notifier listens on the loopback interface only. */
static bool
loopback_only(const config *cfg)
{
	const char *host = cfg->listen_host;
	char bare[sizeof(cfg->listen_host)];
	size_t n = strlen(host);
	struct in_addr v4;
	struct in6_addr v6;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') /* [::1] */
	{
		memcpy(bare, host + 1, n - 2);
		bare[n - 2] = '\0';
		host = bare;
	}
	/* an address, not a name that merely starts like one (127.evil.com) */
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	return (inet_pton(AF_INET6, host, &v6) == 1 &&
			IN6_IS_ADDR_LOOPBACK(&v6)) ||
		   strcmp(host, "localhost") == 0;
}

/*
 * --allowed-origins: a browser sends its cookies on any page's WebSocket,
 * so beyond loopback the list is required (cross-site WebSocket hijacking),
 * and an empty entry (which would admit clients that send no Origin) is a
 * mistake wherever it is.
 */
/*
 * --pool-size 0: two connections per CPU this process may run on (its
 * affinity mask: taskset, a container's cpuset), at least 4, at most 16.
 * Batching makes the pool's size matter little for submits (a free
 * connection takes every submit waiting: 1, 4 and 16 connections carried
 * the same acks/s in bench/notifier/writers, docs/speed.md); what more
 * connections buy is reads and documents served side by side, which is
 * worth about as many as there are cores to run them.  The database's
 * cores are not visible from here; on a small database with several
 * instances, give the size (instances x (size + 1) must stay under its
 * max_connections).
 */
static void
pool_size_for_machine(config *cfg)
{
	cpu_set_t cpus;
	int n = 1;

	if (cfg->pool_size != 0)
		return;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
		n = CPU_COUNT(&cpus);
	cfg->pool_size = 2 * n < 4 ? 4 : 2 * n > 16 ? 16 : 2 * n;
	cfg->pool_size_auto = true;
}

/* --event-loop is poll or ev (libuv: see loop.c). */
static int
check_event_loop(const config *cfg)
{
	if (strcmp(cfg->event_loop, "poll") == 0 ||
		strcmp(cfg->event_loop, "ev") == 0)
		return 0;
	fprintf(stderr, "collab-notifier: --event-loop \"%s\" is not poll or ev\n",
			cfg->event_loop);
	return -1;
}

static int
check_origins(const config *cfg)
{
	const char *list = cfg->allowed_origins;

	if (!list || !*list)
	{
		if (loopback_only(cfg))
			return 0;
		fprintf(stderr, "collab-notifier: --allowed-origins is required when "
						"listening beyond loopback (docs/auth.md)\n");
		return -1;
	}
	for (const char *p = list;; p++)
	{
		size_t item = strcspn(p, ",");

		if (item == 0)
		{
			fprintf(stderr,
					"collab-notifier: --allowed-origins \"%s\" has an "
					"empty entry\n",
					list);
			return -1;
		}
		p += item;
		if (!*p)
			return 0;
	}
}

/*
 * A key for users' tokens, or --insecure-no-auth on loopback: never a
 * notifier that lets everyone in by accident (a forgotten option), nor one
 * whose intent is unclear (a key and the flag), nor an open one reachable
 * from other machines.
 */
static int
check_auth(const config *cfg)
{
	bool key = cfg->auth_secret_file || cfg->auth_public_key_file;

	if (key && cfg->insecure_no_auth)
	{
		fprintf(stderr,
				"collab-notifier: --insecure-no-auth with --auth-secret-file "
				"or --auth-public-key-file: either tokens are required or "
				"not; give one of them\n");
		return -1;
	}
	if (!key && !cfg->insecure_no_auth)
	{
		fprintf(stderr,
				"collab-notifier: no key for users' tokens: give "
				"--auth-secret-file FILE (HS256) or --auth-public-key-file "
				"FILE (RS256, ES256), see docs/auth.md; for development "
				"only, --insecure-no-auth starts without authentication "
				"(every connection may read and write every document)\n");
		return -1;
	}
	if (cfg->insecure_no_auth && !loopback_only(cfg))
	{
		fprintf(stderr,
				"collab-notifier: --insecure-no-auth is refused when "
				"listening beyond loopback (--listen %s:%d): anyone who "
				"reaches the port could read and write every document; "
				"give a key (docs/auth.md)\n",
				cfg->listen_host, cfg->listen_port);
		return -1;
	}
	return 0;
}

/*
 * --dev-login hands a signed-in cookie to whoever asks: only to this
 * machine (loopback), and only with a secret this notifier can sign with.
 * The cookie's name goes into a Set-Cookie header: a token (RFC 6265).
 */
static int
check_dev_login(const config *cfg)
{
	const char *name = cfg->auth_cookie;

	if (!cfg->dev_login)
		return 0;
	if (!loopback_only(cfg))
	{
		fprintf(stderr, "collab-notifier: --dev-login signs anyone in: it "
						"needs a loopback --listen (127.0.0.1, ::1)\n");
		return -1;
	}
	if (!cfg->auth_secret_file)
	{
		fprintf(stderr, "collab-notifier: --dev-login needs "
						"--auth-secret-file: it signs HS256 tokens\n");
		return -1;
	}
	if (!*name ||
		strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789!#$%&'*+-.^_`|~") != strlen(name))
	{
		fprintf(stderr,
				"collab-notifier: --auth-cookie \"%s\" is not a cookie name "
				"--dev-login can set\n",
				name);
		return -1;
	}
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(
		out,
		"usage: collab-notifier --dsn CONNINFO (--auth-secret-file FILE | "
		"--auth-public-key-file FILE | --insecure-no-auth)\n"
		"                       [--listen HOST:PORT] [--static DIR] "
		"[OPTION VALUE]...\n\n"
		"Carries collab's committed changes to WebSocket clients (ws://HOST:"
		"PORT/ws)\nand their edits to collab.submit; GET /healthz answers "
		"200 while the\ndatabase is reachable, 503 otherwise; GET /metrics "
		"is for Prometheus.\n\nOptions (each also read from its environment "
		"variable):\n");
	for (size_t i = 0; i < N_OPTIONS; i++)
	{
		const option_def *o = &options[i];

		if (o->kind == OPT_BOOL)
			fprintf(out, "  --%s (%s=1)\n      %s\n", o->flag, o->env,
					o->help);
		else
			fprintf(out, "  --%s (%s)%s%s%s\n      %s\n", o->flag, o->env,
					o->dflt ? " [default " : "", o->dflt ? o->dflt : "",
					o->dflt ? "]" : "", o->help);
	}
	fprintf(out, "  --help, --version\n");
}

/*
 * A value of repeatable option O from SOURCE: the variable's are split at
 * ';' (a copy kept in the list); a flag's replace them and then add up.
 */
static int
add_to_list(config_list *list, const option_def *o, const char *value,
			const char *source)
{
	bool env = strcmp(source, "environment") == 0;
	char *rest;

	if (!env && list->from_env)
	{
		free(list->env_copy);
		memset(list, 0, sizeof(*list));
	}
	if (!env)
	{
		if (list->n == CONFIG_LIST_MAX)
		{
			fprintf(stderr, "collab-notifier: more than %d --%s\n",
					CONFIG_LIST_MAX, o->flag);
			return -1;
		}
		list->items[list->n++] = value;
		return 0;
	}
	if (!(list->env_copy = strdup(value)))
		return -1;
	list->from_env = true;
	rest = list->env_copy;
	for (char *item; (item = strsep(&rest, ";")) != NULL;)
	{
		if (!*item)
			continue;
		if (list->n == CONFIG_LIST_MAX)
		{
			fprintf(stderr, "collab-notifier: %s holds more than %d\n", o->env,
					CONFIG_LIST_MAX);
			return -1;
		}
		list->items[list->n++] = item;
	}
	return 0;
}

static int
set_option(config *cfg, const option_def *o, const char *value,
		   const char *source)
{
	char *field = (char *) cfg + o->offset;

	switch (o->kind)
	{
		case OPT_STRING:
			*(const char **) field = value;
			return 0;
		case OPT_INT:
		case OPT_LONG:
		{
			char *end;
			long n;

			errno = 0;
			n = strtol(value, &end, 10);
			if (errno || end == value || *end || n < o->min || n > o->max)
			{
				fprintf(stderr,
						"collab-notifier: %s %s: \"%s\" is not a whole number "
						"from %ld to %ld\n",
						source, o->flag, value, o->min, o->max);
				return -1;
			}
			if (o->kind == OPT_INT)
				*(int *) field = (int) n;
			else
				*(long *) field = n;
			return 0;
		}
		case OPT_ADDRESS:
		{
			const char *colon = strrchr(value, ':');
			char *end;
			long port;

			if (!colon || colon == value ||
				(size_t) (colon - value) >= sizeof(cfg->listen_host))
			{
				fprintf(stderr,
						"collab-notifier: %s %s: \"%s\" is not HOST:PORT\n",
						source, o->flag, value);
				return -1;
			}
			errno = 0;
			port = strtol(colon + 1, &end, 10);
			if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
			{
				fprintf(stderr,
						"collab-notifier: %s %s: \"%s\" has no port from 0 to "
						"65535\n",
						source, o->flag, value);
				return -1;
			}
			memcpy(cfg->listen_host, value, (size_t) (colon - value));
			cfg->listen_host[colon - value] = '\0';
			cfg->listen_port = (int) port;
			return 0;
		}
		case OPT_LIST:
			return add_to_list((config_list *) (void *) field, o, value,
							   source);
		case OPT_BOOL:
		{
			static const char *const yes[] = {"1", "true", "yes", "on"};
			static const char *const no[] = {"0", "false", "no", "off"};

			for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
			{
				if (strcasecmp(value, yes[i]) == 0 ||
					strcasecmp(value, no[i]) == 0)
				{
					*(bool *) field = strcasecmp(value, yes[i]) == 0;
					return 0;
				}
			}
			fprintf(stderr,
					"collab-notifier: %s %s: \"%s\" is not 1 or 0 (true or "
					"false, yes or no, on or off)\n",
					source, o->flag, value);
			return -1;
		}
	}
	return -1;
}

int
config_load(config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_OPTIONS; i++)
	{
		const char *env = getenv(options[i].env);
		const char *value = env && *env ? env : options[i].dflt;

		if (value && set_option(cfg, &options[i], value,
								env && *env ? "environment" : "default") != 0)
			return -1;
	}
	for (int a = 1; a < argc; a++)
	{
		const char *arg = argv[a];
		const char *value = NULL;
		const option_def *o = NULL;
		size_t name_len;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		{
			usage(stdout);
			return 1;
		}
		if (strcmp(arg, "--version") == 0)
		{
			printf("collab-notifier %s\n", NOTIFIER_VERSION);
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0)
		{
			fprintf(stderr, "collab-notifier: unexpected argument \"%s\"\n",
					arg);
			usage(stderr);
			return -1;
		}
		arg += 2;
		name_len = strcspn(arg, "=");
		for (size_t i = 0; i < N_OPTIONS; i++)
		{
			if (strlen(options[i].flag) == name_len &&
				strncmp(options[i].flag, arg, name_len) == 0)
				o = &options[i];
		}
		if (!o)
		{
			fprintf(stderr, "collab-notifier: unknown option \"--%.*s\"\n",
					(int) name_len, arg);
			usage(stderr);
			return -1;
		}
		if (arg[name_len] == '=')
			value = arg + name_len + 1;
		else if (o->kind == OPT_BOOL) /* a flag takes no value */
			value = "1";
		else if (a + 1 < argc)
			value = argv[++a];
		else
		{
			fprintf(stderr, "collab-notifier: --%s needs a value\n", o->flag);
			return -1;
		}
		if (set_option(cfg, o, value, "option") != 0)
			return -1;
	}
	if (!cfg->dsn)
	{
		fprintf(stderr,
				"collab-notifier: --dsn (or COLLAB_DSN) is required\n");
		usage(stderr);
		return -1;
	}
	if (check_byte_burst(cfg) != 0)
		return -1;
	if (cfg->notify_key_file && read_key(cfg) != 0)
		return -1;
	if (check_dev_login(cfg) != 0)
		return -1;
	if (check_origins(cfg) != 0)
		return -1;
	if (check_event_loop(cfg) != 0)
		return -1;
	pool_size_for_machine(cfg);
	return check_auth(cfg);
}
