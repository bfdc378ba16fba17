/*
 * harness.c — the shared half of protocol_test (harness.h): options, the
 * connections to the two instances and the database, checks and waits.
 *
 * State is per process: the wsc loop, the instances' addresses, the
 * database connection, the run's id and the failure count.  Every check
 * prints one line as it happens (stdout is flushed), so a hang or a crash
 * shows how far the run got.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static wsc_loop *loop;
static char host_a[128], host_b[128], host_c[128], host_q[128];
static int port_a, port_b, port_c, port_q;
static const char *auth_secret, *auth_ec_key; /* instance c's keys */
static const char *dsn;
static PGconn *db;
static int failures;
static char run_id[32]; /* makes names unique per run */
static const char *restart_cmd;
static int a_pid;
static const char *a_log; /* instance A's log file, or NULL */

void
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static const char *
unique_name(const char *base)
{
	static char names[64][96];
	static int next;
	char *s = names[next++ % 64];

	snprintf(s, 96, "%s-%s", base, run_id);
	return s;
}

const char *
doc_name(const char *base)
{
	return unique_name(base);
}

const char *
client_name(const char *base)
{
	return unique_name(base);
}

const char *
instance_host(char which)
{
	return which == 'a'	  ? host_a
		   : which == 'c' ? host_c
		   : which == 'q' ? host_q
						  : host_b;
}

int
instance_port(char which)
{
	return which == 'a'	  ? port_a
		   : which == 'c' ? port_c
		   : which == 'q' ? port_q
						  : port_b;
}

wsc *
connect_to(char which)
{
	wsc *c = wsc_connect(loop, instance_host(which), instance_port(which),
						 NULL, NULL);

	if (!c)
	{
		fprintf(stderr, "cannot start a connection\n");
		exit(100);
	}
	return c;
}

void
wait_sent(wsc *c)
{
	for (int64_t end = wsc_now_us() + WAIT_MS * 1000LL;
		 wsc_unsent(c) > 0 && wsc_now_us() < end;)
		wsc_service(loop);
}

long long
metric(char which, const char *name)
{
	const char *host = instance_host(which);
	int port = instance_port(which);
	struct sockaddr_in sa = {.sin_family = AF_INET,
							 .sin_port = htons((uint16_t) port)};
	char buf[16384], req[256], key[128];
	size_t len = 0;
	ssize_t n;
	const char *at;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
		connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
	{
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req),
				 "GET /metrics HTTP/1.1\r\nHost: %s:%d\r\n"
				 "Connection: close\r\n\r\n",
				 host, port);
	if (write(fd, req, (size_t) n) != n)
	{
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) - 1 &&
		   (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t) n;
	close(fd);
	buf[len] = '\0';
	snprintf(key, sizeof(key), "\n%s ", name);
	at = strstr(buf, key);
	return at ? strtoll(at + strlen(key), NULL, 10) : -1;
}

json_t *
parse_message(char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	if (!v)
		check(false, "the server sent something that is not JSON: %.200s",
			  text);
	free(text);
	return v;
}

json_t *
next_json(wsc *c, int timeout_ms)
{
	char *text = wsc_next(c, timeout_ms);

	return text ? parse_message(text) : NULL;
}

const char *
type_of(json_t *m)
{
	const char *t = json_string_value(json_object_get(m, "type"));

	return t ? t : "(none)";
}

json_int_t
int_of(json_t *m, const char *key)
{
	return json_integer_value(json_object_get(m, key));
}

const char *
str_of(json_t *m, const char *key)
{
	const char *s = json_string_value(json_object_get(m, key));

	return s ? s : "";
}

bool
same_json(json_t *got, const char *want_text, const char *what)
{
	json_t *want = json_loads(want_text, 0, NULL);
	bool same = want && got && json_equal(got, want);

	if (!same)
	{
		char *text =
			got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		printf("     %s: expected %.300s, got %.300s\n", what, want_text,
			   text ? text : "(nothing)");
		free(text);
	}
	json_decref(want);
	return same;
}

json_t *
expect(wsc *c, const char *type, const char *what)
{
	for (;;)
	{
		json_t *m = next_json(c, WAIT_MS);
		char *text;

		if (!m)
		{
			check(false, "%s: no \"%s\" message within %d ms", what, type,
				  WAIT_MS);
			return NULL;
		}
		if (strcmp(type_of(m), type) == 0)
			return m;
		if (strcmp(type_of(m), "presence") == 0 &&
			strcmp(type, "presence") != 0)
		{
			json_decref(m);
			continue;
		}
		text = json_dumps(m, JSON_COMPACT);
		check(false, "%s: expected \"%s\", got %.300s", what, type, text);
		free(text);
		json_decref(m);
		return NULL;
	}
}

void
expect_error_seq(wsc *c, const char *code, const char *doc, json_int_t seq,
				 const char *what)
{
	json_t *m = expect(c, "error", what);
	char got_seq[40] = "";

	if (!m)
		return;
	if (seq > 0)
		snprintf(got_seq, sizeof(got_seq), "; seq %lld",
				 (long long) int_of(m, "seq"));
	check(strcmp(str_of(m, "code"), code) == 0 &&
			  (!doc || strcmp(str_of(m, "doc"), doc) == 0) &&
			  (seq <= 0 || int_of(m, "seq") == seq) && *str_of(m, "message"),
		  "%s: error %s%s (got %s: %s%s)", what, code,
		  seq > 0 ? " with the submit's seq" : "", str_of(m, "code"),
		  str_of(m, "message"), got_seq);
	json_decref(m);
}

void
expect_error(wsc *c, const char *code, const char *doc, const char *what)
{
	expect_error_seq(c, code, doc, 0, what);
}

void
expect_quiet(wsc *c, const char *what)
{
	int64_t end = wsc_now_us() + QUIET_MS * 1000;

	while (wsc_now_us() < end)
	{
		json_t *m = next_json(c, 20);

		if (m && strcmp(type_of(m), "presence") != 0)
		{
			char *text = json_dumps(m, JSON_COMPACT);

			check(false, "%s: unexpected %.300s", what, text);
			free(text);
			json_decref(m);
			return;
		}
		json_decref(m);
	}
	check(true, "%s", what);
}

char *
hello(wsc *c)
{
	json_t *m = expect(c, "hello", "hello");
	char *id = NULL;

	if (m)
	{
		id = strdup(str_of(m, "client"));
		check(id && *id &&
				  strncmp(str_of(m, "server"), "collab-notifier/", 16) == 0,
			  "hello carries a client id and the server's name");
		json_decref(m);
	}
	return id ? id : strdup("");
}

json_int_t
subscribe(wsc *c, const char *doc)
{
	json_t *m;
	json_int_t rev = -1;

	wsc_sendf(c, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc);
	m = expect(c, "snapshot", "subscribe");
	if (m)
	{
		rev = int_of(m, "rev");
		json_decref(m);
	}
	return rev;
}

PGresult *
sql(const char *query, int n, const char *const *params)
{
	PGresult *r = PQexecParams(db, query, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
		PQresultStatus(r) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "sql failed: %s: %s\n", query, PQerrorMessage(db));
		exit(100);
	}
	return r;
}

char *
sql_content(const char *doc)
{
	const char *p[1] = {doc};
	PGresult *r = sql("SELECT collab.content($1)::text", 1, p);
	char *text = strdup(PQgetvalue(r, 0, 0));

	PQclear(r);
	if (!text)
	{
		fprintf(stderr, "out of memory\n");
		exit(100);
	}
	return text;
}

void
db_disconnect(void)
{
	PQfinish(db);
	db = NULL;
}

void
db_connect(void)
{
	db = PQconnectdb(dsn);
	if (PQstatus(db) != CONNECTION_OK)
	{
		fprintf(stderr, "cannot connect to the database: %s",
				PQerrorMessage(db));
		exit(100);
	}
}

const char *
harness_dsn(void)
{
	return dsn;
}

const char *
harness_restart_cmd(void)
{
	return restart_cmd;
}

int
harness_a_pid(void)
{
	return a_pid;
}

const char *
harness_a_log(void)
{
	return a_log;
}

bool
a_log_has(const char *needle, int timeout_ms)
{
	int64_t end = wsc_now_us() + (int64_t) timeout_ms * 1000;

	if (!a_log)
		return false;
	for (;;)
	{
		FILE *f = fopen(a_log, "rb");
		char *text = NULL;
		size_t len = 0;
		bool found = false;

		if (f)
		{
			FILE *mem = open_memstream(&text, &len);
			char buf[8192];
			size_t n;

			while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, n, mem);
			if (mem)
				fclose(mem);
			fclose(f);
			found = text && memmem(text, len, needle, strlen(needle));
			free(text);
		}
		if (found || wsc_now_us() >= end)
			return found;
		wsc_service(loop); /* the notifier's answers go on meanwhile */
	}
}

static void
parse_hostport(const char *s, char *host, int *port)
{
	const char *colon = strrchr(s, ':');

	if (!colon || colon - s >= 127)
	{
		fprintf(stderr, "bad HOST:PORT %s\n", s);
		exit(100);
	}
	memcpy(host, s, (size_t) (colon - s));
	host[colon - s] = '\0';
	*port = atoi(colon + 1);
}

bool
harness_has_c(void)
{
	return port_c != 0;
}

bool
harness_has_q(void)
{
	return port_q != 0;
}

const char *
harness_auth_secret(void)
{
	return auth_secret;
}

const char *
harness_auth_ec_key(void)
{
	return auth_ec_key;
}

int
harness_main(int argc, char **argv, const harness_test *const *topics)
{
	const char *only = NULL;

	for (int i = 1; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--a") == 0)
			parse_hostport(argv[i + 1], host_a, &port_a);
		else if (strcmp(argv[i], "--b") == 0)
			parse_hostport(argv[i + 1], host_b, &port_b);
		else if (strcmp(argv[i], "--c") == 0)
			parse_hostport(argv[i + 1], host_c, &port_c);
		else if (strcmp(argv[i], "--q") == 0)
			parse_hostport(argv[i + 1], host_q, &port_q);
		else if (strcmp(argv[i], "--auth-secret") == 0)
			auth_secret = argv[i + 1];
		else if (strcmp(argv[i], "--auth-ec-key") == 0)
			auth_ec_key = argv[i + 1];
		else if (strcmp(argv[i], "--dsn") == 0)
			dsn = argv[i + 1];
		else if (strcmp(argv[i], "--a-pid") == 0)
			a_pid = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--restart-cmd") == 0)
			restart_cmd = argv[i + 1];
		else if (strcmp(argv[i], "--a-log") == 0)
			a_log = argv[i + 1];
		else if (strcmp(argv[i], "--only") == 0)
			only = argv[i + 1];
	}
	if (!port_a || !port_b || !dsn)
	{
		fprintf(stderr, "usage: protocol_test --a HOST:PORT --b HOST:PORT "
						"--dsn CONNINFO [--a-pid PID] [--restart-cmd CMD] "
						"[--c HOST:PORT --auth-secret FILE --auth-ec-key "
						"FILE] [--q HOST:PORT] [--a-log FILE] [--only "
						"NAME]\n");
		return 100;
	}
	snprintf(run_id, sizeof(run_id), "%lx", (unsigned long) wsc_now_us());
	db_connect();
	loop = wsc_loop_new(256);
	if (!loop)
		return 100;
	for (; *topics; topics++)
		for (const harness_test *t = *topics; t->name; t++)
			if (!only || strstr(t->name, only))
			{
				printf("--- %s\n", t->name);
				t->fn();
			}
	wsc_loop_free(loop);
	db_disconnect();
	printf("protocol_test: %d failed\n", failures);
	return failures > 100 ? 100 : failures;
}
