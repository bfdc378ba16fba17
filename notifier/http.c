/*
 * http.c — plain HTTP: the security headers, /healthz, /metrics, the
 * --static root and the refusals of upgrades (see http.h).
 */
#include "http.h"

#include "devlogin.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The three headers, a list as lws takes it (the last entry first). */
static const struct lws_protocol_vhost_options security_headers[] = {
	{NULL, NULL, "content-security-policy:",
	 "default-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
	 "object-src 'none'; base-uri 'none'"},
	{&security_headers[0], NULL, "x-content-type-options:", "nosniff"},
	{&security_headers[1], NULL, "referrer-policy:", "no-referrer"},
};

/* The types of the files served; any other name is 404.  Text is UTF-8. */
static const struct {
	const char *suffix;
	const char *type;
} file_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".map", "application/json"},
	{".txt", "text/plain; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
};

static char *static_root; /* the --static root's real path, or NULL */

int
http_init(const config *cfg)
{
	struct stat st;

	if (!cfg->static_dir)
		return 0;
	static_root = realpath(cfg->static_dir, NULL);
	if (!static_root || stat(static_root, &st) != 0 || !S_ISDIR(st.st_mode))
	{
		log_msg(LOG_ERROR, "--static %s: %s", cfg->static_dir,
				static_root ? "not a directory" : strerror(errno));
		free(static_root);
		static_root = NULL;
		return -1;
	}
	return 0;
}

const struct lws_protocol_vhost_options *
http_headers(void)
{
	return &security_headers[sizeof(security_headers) /
								 sizeof(security_headers[0]) -
							 1];
}

static bool
is_head(struct lws *wsi)
{
	return lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
}

/* A complete text/plain answer, uncacheable; the body left out for HEAD. */
static int
reply(struct lws *wsi, unsigned status, const char *body)
{
	size_t len = strlen(body);
	size_t size = LWS_PRE + 1024 + len;
	unsigned char *buf = malloc(size);
	unsigned char *start, *p, *end;
	int rc = -1;

	if (!buf)
		return -1;
	start = p = buf + LWS_PRE;
	end = buf + size - len - 1;
	if (!lws_add_http_common_headers(wsi, status, "text/plain; charset=utf-8",
									 len, &p, end) &&
		!lws_add_http_header_by_name(wsi,
									 (const unsigned char *) "cache-control:",
									 (const unsigned char *) "no-store", 8, &p,
									 end) &&
		!lws_finalize_write_http_header(wsi, start, &p, end))
	{
		if (is_head(wsi))
			rc = lws_http_transaction_completed(wsi) ? -1 : 0;
		else
		{
			/* the body is bytes on the wire, not a C string: no terminator */
			/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
			memcpy(buf + LWS_PRE, body, len);
			if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) ==
				(int) len)
				rc = lws_http_transaction_completed(wsi) ? -1 : 0;
		}
	}
	free(buf);
	return rc;
}

void
http_refuse(struct lws *wsi, unsigned status, const char *why)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf);
	char body[128];
	int len = snprintf(body, sizeof(body), "%s\n", why);

	if (len < 0 || (size_t) len >= sizeof(body))
		return;
	/*
	 * One write, headers and body, with the connection closed after it:
	 * lws tears the connection down when the filter refuses, so nothing
	 * may be left for a later writable callback.
	 */
	if (lws_add_http_header_status(wsi, status, &p, end) ||
		lws_add_http_header_by_token(
			wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
			(const unsigned char *) "text/plain; charset=utf-8", 25, &p,
			end) ||
		lws_add_http_header_content_length(wsi, (lws_filepos_t) len, &p,
										   end) ||
		lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
									 (const unsigned char *) "close", 5, &p,
									 end) ||
		lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
									 (const unsigned char *) "no-store", 8, &p,
									 end) ||
		lws_finalize_http_header(wsi, &p, end) || end - p < len)
		return;
	memcpy(p, body, (size_t) len);
	p += len;
	(void) lws_write(wsi, start, (size_t) (p - start), LWS_WRITE_HTTP);
}

/* NAME's type, or NULL: not served. */
static const char *
file_type(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
	{
		size_t k = strlen(file_types[i].suffix);

		if (n > k && strcmp(name + n - k, file_types[i].suffix) == 0)
			return file_types[i].type;
	}
	return NULL;
}

/*
 * The real path of URI under the root, in REAL (PATH_MAX bytes), when it is
 * a regular file there; false otherwise.  A symlink is judged by where it
 * leads: realpath resolves every one, and ".." with them.
 */
static bool
static_file(const char *uri, char *real)
{
	char want[PATH_MAX];
	size_t root_len = strlen(static_root);
	size_t uri_len = strlen(uri);
	struct stat st;
	int n;

	if (uri_len == 0 || uri[0] != '/')
		return false;
	n = snprintf(want, sizeof(want), "%s%s%s", static_root, uri,
				 uri[uri_len - 1] == '/' ? "index.html" : "");
	if (n < 0 || (size_t) n >= sizeof(want) || !realpath(want, real))
		return false;
	/* under the root: the root itself, then a slash (or the root is /) */
	if (strncmp(real, static_root, root_len) != 0 ||
		(real[root_len] != '/' && root_len > 1))
		return false;
	return stat(real, &st) == 0 && S_ISREG(st.st_mode);
}

static int
serve_static(struct lws *wsi, const char *uri)
{
	char real[PATH_MAX];
	const char *type;
	int n;

	if (!static_file(uri, real) || !(type = file_type(real)))
		return reply(wsi, 404, "not found\n");
	n = lws_serve_http_file(wsi, real, type, NULL, 0);
	/* 0: being sent (lws ends the transaction), > 0: lws answered 404 */
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

/*
 * /healthz: 200 "ok" while the instance can serve, 503 and why not; with
 * partitions (--listen-dsn), a line each after it, "collab_p2 up" or
 * "collab_p2 down".  A partition down alone keeps the 200: every instance
 * has lost it alike, and taking them all out of a load balancer would only
 * lose the other partitions' documents too (docs/scale-out.md).
 */
static int
serve_health(struct lws *wsi)
{
	const char *why;
	bool healthy = pg_healthy(&why);
	char body[128 + 80 * 64];
	int n = snprintf(body, sizeof(body), "%s\n", healthy ? "ok" : why);

	for (int i = 0; i < pg_partitions() && n > 0 && (size_t) n < sizeof(body);
		 i++)
	{
		bool up;
		const char *name = pg_partition(i, &up);
		int m = snprintf(body + n, sizeof(body) - (size_t) n, "%s %s\n", name,
						 up ? "up" : "down");

		if (m < 0)
			break;
		n += m;
	}
	return reply(wsi, healthy ? 200 : 503, body);
}

int
http_serve(struct lws *wsi, const char *uri)
{
	if (devlogin_wanted(uri))
		return devlogin_serve(wsi);
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) && !is_head(wsi))
	{
		/* a body may follow that nobody will read: close after the answer */
		(void) reply(wsi, 405, "only GET and HEAD\n");
		return -1;
	}
	if (strcmp(uri, "/healthz") == 0)
		return serve_health(wsi);
	if (strcmp(uri, "/metrics") == 0)
	{
		char body[16384]; /* with 64 partitions' lines */

		metrics_render(body, sizeof(body));
		return reply(wsi, 200, body);
	}
	if (static_root)
		return serve_static(wsi, uri);
	return reply(wsi, 404, "not found\n");
}
