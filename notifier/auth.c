/*
 * auth.c — tokens on connections, rights, and client ids bound to users
 * (see auth.h and docs/auth.md).
 */
#include "auth.h"

#include "log.h"
#include "metrics.h"
#include "stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A user's client id, USER/ID, is a client id the database takes. */
_Static_assert(JWT_SUB_MAX + 1 + AUTH_ID_MAX <= WIRE_ID_BYTES_MAX,
			   "user/id must fit a client id");

static struct {
	jwt_keys *keys; /* NULL: auth is off */
	jwt_expect expect;
	const config *cfg;
} auth;

bool
auth_init(const config *cfg)
{
	jwt_error err;

	auth.cfg = cfg;
	if (!cfg->auth_secret_file && !cfg->auth_public_key_file)
		return true;
	auth.keys =
		jwt_keys_load(cfg->auth_secret_file, cfg->auth_public_key_file, &err);
	if (!auth.keys)
	{
		fprintf(stderr, "collab-notifier: %s\n", err.message);
		return false;
	}
	auth.expect.audience = cfg->auth_audience;
	auth.expect.issuer = cfg->auth_issuer;
	auth.expect.leeway_s = cfg->auth_leeway_s;
	auth.expect.max_lifetime_s = cfg->auth_max_token_s;
	return true;
}

void
auth_free(void)
{
	jwt_keys_free(auth.keys);
	auth.keys = NULL;
}

bool
auth_enabled(void)
{
	return auth.keys != NULL;
}

static int64_t
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t) t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Ends C: the reason to it as an unauthorized error, then CODE. */
static void
refuse(conn *c, int code, const char *why)
{
	metrics.auth_refused++;
	conn_error(c, "unauthorized", why, NULL, -1, NULL);
	conn_close(c, code,
			   code == AUTH_CLOSE_EXPIRED ? "token expired"
										  : "unauthenticated");
}

static void
deadline_cb(lws_sorted_usec_list_t *sul)
{
	conn *c = lws_container_of(sul, conn, auth_sul);

	if (!conn_live(c))
		return;
	if (!c->authed)
		refuse(
			c, AUTH_CLOSE_UNAUTHENTICATED,
			"no token came in time: send {\"type\":\"auth\",\"token\":...}");
	else
	{
		metrics.auth_expired++;
		refuse(c, AUTH_CLOSE_EXPIRED, "the token expired");
	}
}

static void
deadline_in(conn *c, int64_t us)
{
	lws_sul_schedule(lws_get_context(c->wsi), 0, &c->auth_sul, deadline_cb,
					 us > 0 ? (lws_usec_t) us : 0);
}

/* A refreshed token no longer covers these subscriptions: they end. */
static void
drop_unreadable(conn *c)
{
	sub *next;

	for (sub *s = c->subs; s; s = next)
	{
		next = s->cnext;
		if (auth_right(c, s->d->id) < JWT_READ)
		{
			conn_error(c, "not_found", "no such document", s->d->id, -1, NULL);
			sub_remove(s, true);
		}
	}
}

/* Reads TOKEN, from where (for the log), and applies it or closes C. */
static void
apply(conn *c, const char *token, size_t len, const char *where)
{
	jwt_claims claims;
	jwt_error err;
	int64_t now = now_us();
	bool first = !c->authed;

	if (!jwt_verify(auth.keys, token, len, &auth.expect, now / 1000000,
					&claims, &err))
	{
		log_msg(LOG_INFO,
				"auth: client %" PRIu64 ": token from %s refused: %s", c->id,
				where, err.message);
		refuse(c, AUTH_CLOSE_UNAUTHENTICATED, err.message);
		return;
	}
	if (!first && strcmp(claims.sub, c->claims.sub) != 0)
	{
		jwt_claims_clear(&claims);
		refuse(c, AUTH_CLOSE_UNAUTHENTICATED,
			   "a connection keeps its user: a token for another one came");
		return;
	}
	if (first)
	{
		char id[WIRE_ID_BYTES_MAX + 1];

		/* the hello's id, now the user's: USER/ID fits WIRE_ID_BYTES_MAX */
		snprintf(id, sizeof(id), "%s/%.*s", claims.sub, AUTH_ID_MAX,
				 c->client);
		if (!conn_set_client(c, id))
		{
			jwt_claims_clear(&claims);
			conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					   "out of memory");
			return;
		}
		c->authed = true;
		metrics.auth_accepted++;
	}
	/* the same user as before, if any: claims.sub stays what it was */
	jwt_claims_clear(&c->claims);
	c->claims = claims;
	if (!first)
		drop_unreadable(c);
	deadline_in(c, c->claims.exp * 1000000 - now);
	conn_send(c, proto_authenticated(c->claims.sub, c->client, c->claims.exp));
}

char *
auth_cookie(struct lws *wsi, size_t *len)
{
	const char *name = auth.cfg->auth_cookie;
	int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
	size_t n = strlen(name);
	char *all, *p, *value = NULL;

	if (total <= 0 || !(all = malloc((size_t) total + 1)))
		return NULL;
	if (lws_hdr_copy(wsi, all, total + 1, WSI_TOKEN_HTTP_COOKIE) < 0)
	{
		free(all);
		return NULL;
	}
	for (p = all; *p;)
	{
		size_t item;

		p += strspn(p, " ;");
		item = strcspn(p, ";");
		if (item > n && strncmp(p, name, n) == 0 && p[n] == '=')
		{
			*len = item - n - 1;
			value = malloc(*len + 1);
			if (value)
			{
				memcpy(value, p + n + 1, *len);
				value[*len] = '\0';
			}
			break;
		}
		p += item;
	}
	free(all);
	return value;
}

void
auth_open(conn *c)
{
	char *token;
	size_t len = 0;

	if (!auth.keys)
		return;
	token = auth_cookie(c->wsi, &len);
	if (token)
	{
		apply(c, token, len, "the cookie");
		free(token);
		return;
	}
	deadline_in(c, (int64_t) auth.cfg->auth_timeout_ms * 1000);
}

void
auth_token(conn *c, const char *token, size_t len)
{
	if (!auth.keys)
	{
		conn_error(c, "bad_message", "this notifier takes no tokens", NULL, -1,
				   NULL);
		return;
	}
	apply(c, token, len, "a message");
}

bool
auth_verify(const char *token, size_t len, jwt_claims *out, jwt_error *err)
{
	if (!auth.keys)
	{
		memset(out, 0, sizeof(*out));
		snprintf(err->message, sizeof(err->message), "no key is configured");
		err->code = JWT_KEY;
		return false;
	}
	return jwt_verify(auth.keys, token, len, &auth.expect, now_us() / 1000000,
					  out, err);
}

bool
auth_verify_lapsed(const char *token, size_t len, int64_t lapsed_s,
				   jwt_claims *out, jwt_error *err)
{
	jwt_expect expect = auth.expect;

	if (!auth.keys)
		return auth_verify(token, len, out, err);
	expect.lapsed_s = lapsed_s;
	return jwt_verify(auth.keys, token, len, &expect, now_us() / 1000000, out,
					  err);
}

char *
auth_sign(const char *payload_json, jwt_error *err)
{
	if (!auth.keys)
	{
		snprintf(err->message, sizeof(err->message), "no key is configured");
		err->code = JWT_KEY;
		return NULL;
	}
	return jwt_sign_hs256(auth.keys, payload_json, err);
}

jwt_right
auth_right(const conn *c, const char *doc)
{
	if (!auth.keys)
		return JWT_CREATE;
	if (!c->authed)
		return JWT_NONE;
	return jwt_right_for(&c->claims, doc, strlen(doc));
}

bool
auth_client_id(const conn *c, const char *stated, char *out, size_t outlen,
			   const char **why)
{
	size_t n = strlen(stated);

	if (!auth.keys)
	{
		snprintf(out, outlen, "%s", stated);
		return true;
	}
	if (n == 0 || n > AUTH_ID_MAX ||
		strspn(stated, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789_-") != n)
	{
		*why = "a client id is 1 to 64 letters, digits, _ or -";
		return false;
	}
	snprintf(out, outlen, "%s/%s", c->claims.sub, stated);
	return true;
}

void
auth_closed(conn *c)
{
	lws_sul_cancel(&c->auth_sul);
}
