/*
 * config.h — the notifier's settings: one table of options (config.c), each
 * with a command-line flag and an environment variable of the same spelling
 * (--max-message-bytes / COLLAB_MAX_MESSAGE_BYTES), a default and a help line.
 * Precedence: flag, then environment, then default.
 */
#ifndef COLLAB_NOTIFIER_CONFIG_H
#define COLLAB_NOTIFIER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* the version lives in collab.control; the Makefile passes it on */
#ifndef COLLAB_VERSION
#error \
	"COLLAB_VERSION is not defined: build with make (it reads collab.control)"
#endif
#define NOTIFIER_VERSION COLLAB_VERSION
#define NOTIFIER_VERSION_TEXT NOTIFIER_VERSION

/* Most values of a repeatable option (--listen-dsn: one per partition). */
#define CONFIG_LIST_MAX 64

/* A repeatable option's values: each flag adds one; its variable holds
 * them all, separated by ';' (flags replace the variable's). */
typedef struct config_list {
	const char *items[CONFIG_LIST_MAX];
	int n;
	bool from_env;	/* items point into env_copy */
	char *env_copy; /* the variable's text, split in place (malloc'd) */
} config_list;

typedef struct config {
	const char *dsn;			 /* libpq connection string or URI */
	config_list listen_dsns;	 /* where to LISTEN (none: dsn) */
	char listen_host[256];		 /* address to bind */
	int listen_port;			 /* TCP port */
	const char *static_dir;		 /* files served at /, or NULL */
	int pool_size;				 /* database connections for queries */
	bool pool_size_auto;		 /* pool_size chosen for the machine */
	int batch_max;				 /* most submits in one statement */
	int connect_timeout_ms;		 /* per connection attempt, 0: none */
	int statement_timeout_ms;	 /* per statement on the pool, 0: none */
	int lock_timeout_ms;		 /* per lock wait on the pool, 0: none */
	int query_timeout_ms;		 /* per request, the notifier's own */
	int heartbeat_ms;			 /* probes of idle database connections */
	long max_message_bytes;		 /* largest message a client may send */
	int rate;					 /* client messages per second */
	int burst;					 /* client messages in a burst */
	long byte_rate;				 /* client bytes per second */
	long byte_burst;			 /* client bytes in a burst */
	int max_docs;				 /* documents subscribed per connection */
	int max_inflight;			 /* submits in flight per connection */
	int max_pending;			 /* database requests per connection */
	int max_queue;				 /* messages queued per connection */
	long max_queue_bytes;		 /* bytes queued per connection */
	int history;				 /* recent changes kept per document */
	int gap_wait_ms;			 /* wait for a late notification, then fetch */
	int slow_ms;				 /* a queue full this long closes it (1013) */
	int max_clients;			 /* WebSocket connections at a time */
	int max_clients_per_address; /* ... from one address (IPv6: /64) */
	int creates_per_minute;		 /* documents created per user a minute */
	const char *allowed_origins; /* comma-separated Origins, or NULL: any */
	const char *log_level;		 /* debug, info, warn, error */
	const char *event_loop;		 /* "poll" (lws's own) or "ev" (libev) */
	const char *notify_key_file; /* the key sealing payloads, or NULL */
	char *notify_key;			 /* its contents (malloc'd), or NULL */
	const char *auth_secret_file;	  /* HS256 secret, or NULL */
	const char *auth_public_key_file; /* RS256/ES256 key (PEM), or NULL */
	bool insecure_no_auth;			  /* no key: everyone may do anything */
	const char *auth_audience;		  /* tokens' aud must hold it */
	const char *auth_issuer;		  /* tokens' iss, or NULL: any */
	int auth_leeway_s;				  /* clock skew allowed on nbf, iat */
	int auth_max_token_s;			  /* longest a token may still run */
	const char *auth_cookie;		  /* the cookie that carries a token */
	int auth_timeout_ms;			  /* a connection's time to send one */
	bool dev_login;					  /* serve /dev-login (devlogin.h) */
} config;

/* The least key length the database accepts for collab.notify_key. */
#define NOTIFY_KEY_MIN 32

/*
 * Fills CFG from ARGV and the environment (and reads the notify key's
 * file), and refuses what would be unsafe: no Origin list beyond loopback,
 * neither a key for tokens nor --insecure-no-auth, both, or
 * --insecure-no-auth beyond loopback.  Returns 0 on success, 1 when --help
 * or --version was printed (exit 0), -1 after printing an error to stderr
 * (exit 2).
 */
int config_load(config *cfg, int argc, char **argv);

#endif
