/*
 * devlogin.c — the development login (see devlogin.h): tokens for made-up
 * guests, signed with the HS256 secret (auth_sign, jwt_sign_hs256), in a
 * cookie.  Answers are written whole in the HTTP callback; a POST that
 * announces a body is answered, then its connection closed, since nobody
 * reads the body.
 */
#include "devlogin.h"

#include "auth.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUEST_PREFIX "guest-"
#define GUEST_RANDOM 8 /* bytes, printed as hex */

static const config *dl_cfg;

void
devlogin_init(const config *cfg)
{
	dl_cfg = cfg;
}

bool
devlogin_wanted(const char *uri)
{
	return dl_cfg && dl_cfg->dev_login && strcmp(uri, DEVLOGIN_PATH) == 0;
}

bool
devlogin_local_path(const char *next)
{
	size_t n = strlen(next);

	if (n == 0 || n > DEVLOGIN_NEXT_MAX || next[0] != '/' || next[1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) next[i];

		/* "/\host" is "//host" to a browser; a control character could
		 * end the header, or be dropped by a browser and join "/" "/" */
		if (c == '\\' || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* Whether WSI's peer is on this machine: 127.0.0.0/8, ::1, or ::ffff:127.x. */
static bool
peer_loopback(struct lws *wsi, char *peer, size_t size)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (!lws_get_peer_simple(wsi, peer, size))
	{
		snprintf(peer, size, "?");
		return false;
	}
	if (inet_pton(AF_INET, peer, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, peer, &v6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&v6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

/* A header of WSI's request into BUF (SIZE bytes); "" when absent or too
 * long. */
static void
header(struct lws *wsi, enum lws_token_indexes token, char *buf, int size)
{
	if (lws_hdr_total_length(wsi, token) >= size ||
		lws_hdr_copy(wsi, buf, size, token) < 0)
		buf[0] = '\0';
}

/*
 * A POST from a browser carries Origin: it must be this origin (the scheme
 * and the Host the request was sent to), so that no other site's page can
 * renew a login or swap in another guest.  Without Origin it is no page's.
 */
static bool
same_origin(struct lws *wsi)
{
	char origin[256], host[256], self[300];

	header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) == 0)
		return true;
	header(wsi, WSI_TOKEN_HOST, host, sizeof(host));
	if (!host[0] || !origin[0])
		return false;
	snprintf(self, sizeof(self), "%s://%s", lws_is_ssl(wsi) ? "https" : "http",
			 host);
	return strcmp(origin, self) == 0;
}

/* A new guest's sub, "guest-" and GUEST_RANDOM bytes in hex, into OUT. */
static bool
new_guest(char *out, size_t size)
{
	unsigned char r[GUEST_RANDOM];
	size_t n;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return false;
	n = (size_t) snprintf(out, size, "%s", GUEST_PREFIX);
	for (size_t i = 0; i < sizeof(r) && n + 2 < size; i++)
		n += (size_t) snprintf(out + n, size - n, "%02x", r[i]);
	return true;
}

/*
 * The guest of the request's cookie into SUB (JWT_SUB_MAX + 1 bytes) when
 * it holds a token of ours for a sub this login made, valid now or expired
 * less than DEVLOGIN_LAPSED_S ago; false otherwise (no cookie, a forged or
 * long expired token, another user's token: that one's rights are not ours
 * to widen).  The same guest after the token lapsed, not a new one: a
 * client with an edit in flight resends it under its user's id, and only
 * the same id lets the database see a resend of an edit that landed.
 */
static bool
cookie_guest(struct lws *wsi, char *sub)
{
	size_t len = 0;
	char *token = auth_cookie(wsi, &len);
	jwt_claims claims;
	jwt_error err;
	bool ok;

	if (!token)
		return false;
	ok = auth_verify_lapsed(token, len, DEVLOGIN_LAPSED_S, &claims, &err);
	free(token);
	if (!ok)
		return false;
	ok = strncmp(claims.sub, GUEST_PREFIX, strlen(GUEST_PREFIX)) == 0;
	if (ok)
		snprintf(sub, JWT_SUB_MAX + 1, "%s", claims.sub);
	jwt_claims_clear(&claims);
	return ok;
}

/* A token for SUB, valid until *EXP (set here), malloc'd; NULL after
 * logging why. */
static char *
sign_for(const char *sub, int64_t *exp)
{
	int64_t now = (int64_t) time(NULL);
	int life = dl_cfg->auth_max_token_s < DEVLOGIN_TOKEN_S
				   ? dl_cfg->auth_max_token_s
				   : DEVLOGIN_TOKEN_S;
	json_t *payload;
	char *text, *token = NULL;
	jwt_error err;

	*exp = now + life;
	payload = json_pack("{s:s, s:s, s:I, s:I, s:{s:[s]}}", "sub", sub, "aud",
						dl_cfg->auth_audience, "iat", (json_int_t) now, "exp",
						(json_int_t) *exp, "collab", "create", "*");
	if (payload && dl_cfg->auth_issuer &&
		json_object_set_new(payload, "iss",
							json_string(dl_cfg->auth_issuer)) != 0)
	{
		json_decref(payload);
		payload = NULL;
	}
	text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	if (!text)
	{
		log_msg(LOG_ERROR, "dev-login: out of memory making a token");
		return NULL;
	}
	token = auth_sign(text, &err);
	free(text);
	if (!token)
		log_msg(LOG_ERROR, "dev-login: cannot sign a token: %s", err.message);
	return token;
}

/*
 * NEXT as a Location value: a space and bytes beyond ASCII percent-encoded
 * (the rest is printable ASCII, devlogin_local_path saw to it), into OUT
 * (3 * DEVLOGIN_NEXT_MAX + 1 bytes).
 */
static void
location_of(const char *next, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *) next; *p; p++)
	{
		if (*p > 0x20 && *p < 0x7f)
			out[o++] = (char) *p;
		else
		{
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/*
 * The whole answer: STATUS, the cookie (COOKIE, or none), a Location
 * (LOCATION, or none), BODY of TYPE (or none), uncacheable.  CLOSE: the
 * connection ends after it.
 */
static int
answer(struct lws *wsi, unsigned status, const char *cookie,
	   const char *location, const char *type, const char *body, bool close)
{
	size_t len = body ? strlen(body) : 0;
	size_t size = LWS_PRE + 2048 + (cookie ? strlen(cookie) : 0) +
				  (location ? strlen(location) : 0) + len;
	unsigned char *buf = malloc(size);
	unsigned char *start, *p, *end;
	int rc = -1;

	if (!buf)
		return -1;
	start = p = buf + LWS_PRE;
	end = buf + size - len - 1;
	if (!lws_add_http_common_headers(wsi, status, type, len, &p, end) &&
		!lws_add_http_header_by_name(wsi,
									 (const unsigned char *) "cache-control:",
									 (const unsigned char *) "no-store", 8, &p,
									 end) &&
		(!cookie ||
		 !lws_add_http_header_by_name(wsi,
									  (const unsigned char *) "set-cookie:",
									  (const unsigned char *) cookie,
									  (int) strlen(cookie), &p, end)) &&
		(!location ||
		 !lws_add_http_header_by_name(wsi, (const unsigned char *) "location:",
									  (const unsigned char *) location,
									  (int) strlen(location), &p, end)) &&
		!lws_finalize_write_http_header(wsi, start, &p, end))
	{
		if (len == 0)
			rc = 0;
		else
		{
			/* the body is bytes on the wire, not a C string */
			/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
			memcpy(buf + LWS_PRE, body, len);
			if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) ==
				(int) len)
				rc = 0;
		}
		if (rc == 0 && (close || lws_http_transaction_completed(wsi)))
			rc = -1;
	}
	free(buf);
	return rc;
}

/* Whether the request announces a body (nobody will read it). */
static bool
has_body(struct lws *wsi)
{
	char length[32];

	header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, length, sizeof(length));
	return (length[0] && strcmp(length, "0") != 0) ||
		   lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
}

int
devlogin_serve(struct lws *wsi)
{
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	bool close = has_body(wsi);
	bool renewed = false;
	char peer[64], sub[JWT_SUB_MAX + 1];
	char next[sizeof("next=") + DEVLOGIN_NEXT_MAX + 1];
	char location[3 * DEVLOGIN_NEXT_MAX + 1], cookie[JWT_TOKEN_MAX + 256];
	char body[JWT_SUB_MAX + 128];
	int64_t exp;
	long long max_age; /* the cookie's: the token's life and a week */
	const char *value;
	char *token;

	if (!get && !post)
		return answer(wsi, 405, NULL, NULL, "text/plain; charset=utf-8",
					  "GET or POST\n", true);
	if (!peer_loopback(wsi, peer, sizeof(peer)))
	{
		log_msg(LOG_WARN, "dev-login: refused peer %s: not loopback", peer);
		return answer(wsi, 403, NULL, NULL, "text/plain; charset=utf-8",
					  "only from this machine\n", close);
	}
	if (post && !same_origin(wsi))
	{
		char origin[256];

		header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
		log_msg(LOG_WARN, "dev-login: refused a POST from Origin \"%s\"",
				origin);
		return answer(wsi, 403, NULL, NULL, "text/plain; charset=utf-8",
					  "only from this origin\n", close);
	}
	if (cookie_guest(wsi, sub))
		renewed = true;
	else if (!new_guest(sub, sizeof(sub)))
	{
		log_msg(LOG_ERROR, "dev-login: no random bytes for a guest");
		return answer(wsi, 500, NULL, NULL, "text/plain; charset=utf-8",
					  "internal error\n", true);
	}
	token = sign_for(sub, &exp);
	if (!token)
		return answer(wsi, 500, NULL, NULL, "text/plain; charset=utf-8",
					  "internal error\n", true);
	max_age = exp - (int64_t) time(NULL) + DEVLOGIN_LAPSED_S;
	snprintf(cookie, sizeof(cookie),
			 "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
			 dl_cfg->auth_cookie, token, max_age,
			 lws_is_ssl(wsi) ? "; Secure" : "");
	free(token);
	metrics.dev_logins++;
	log_msg(LOG_INFO, "dev-login: %s %s until %lld, peer %s",
			renewed ? "renewed" : "signed in", sub, (long long) exp, peer);
	if (post)
	{
		json_t *v = json_pack("{s:s, s:I, s:b}", "user", sub, "exp",
							  (json_int_t) exp, "renewed", renewed);
		char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;

		json_decref(v);
		if (!text)
			return answer(wsi, 500, NULL, NULL, "text/plain; charset=utf-8",
						  "internal error\n", true);
		snprintf(body, sizeof(body), "%s\n", text);
		free(text);
		return answer(wsi, 200, cookie, NULL, "application/json", body, close);
	}
	/* next=, decoded by lws (the value follows the name in NEXT);
	 * anything but a local path goes to / */
	value = lws_get_urlarg_by_name(wsi, "next=", next, (int) sizeof(next));
	if (value && devlogin_local_path(value))
		location_of(value, location);
	else
		snprintf(location, sizeof(location), "/");
	return answer(wsi, 303, cookie, location, NULL, NULL, close);
}
