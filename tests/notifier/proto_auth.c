/*
 * proto_auth.c — tokens, rights and client ids on instance c, which
 * requires tokens (docs/auth.md): an HS256 secret and an ES256 public key,
 * audience "collab", --auth-timeout-ms 1500.  The raw client (raw.h) is
 * used throughout: it can send a cookie on the upgrade and sees the 4xxx
 * close codes.
 */
#include "harness.h"
#include "jwtsign.h"
#include "raw.h"

#include <libpq-fe.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
	bool loaded;
	char secret[4097];
	size_t secret_len;
	EVP_PKEY *ec;
	char *ec_public_pem; /* for the algorithm-confusion token */
} keys;

/* Loads instance c's keys once; false (reported) when it cannot. */
static bool
load_keys(void)
{
	FILE *f;
	BIO *bio;
	char *pem = NULL;
	long len;

	if (keys.loaded)
		return true;
	f = fopen(harness_auth_secret(), "rb");
	if (f)
	{
		keys.secret_len = fread(keys.secret, 1, sizeof(keys.secret) - 1, f);
		fclose(f);
	}
	while (keys.secret_len > 0 && keys.secret[keys.secret_len - 1] == '\n')
		keys.secret_len--;
	f = fopen(harness_auth_ec_key(), "rb");
	if (f)
	{
		keys.ec = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	bio = BIO_new(BIO_s_mem());
	if (bio && keys.ec && PEM_write_bio_PUBKEY(bio, keys.ec) == 1 &&
		(len = BIO_get_mem_data(bio, &pem)) > 0)
		keys.ec_public_pem = strndup(pem, (size_t) len);
	BIO_free(bio);
	keys.loaded = keys.secret_len >= 32 && keys.ec && keys.ec_public_pem;
	check(keys.loaded, "instance c's keys are read");
	return keys.loaded;
}

/*
 * A token for SUB, expiring EXP_IN seconds from now, with RIGHTS (a JSON
 * object text, or NULL), audience AUD, signed with ALG (the header names
 * HEADER_ALG) and broken as BREAKS says.  malloc'd.
 */
static char *
token_full(const char *sub, long exp_in, const char *rights, const char *aud,
		   const char *header_alg, jwtsign_alg alg, unsigned breaks)
{
	char header[128], payload[1024];
	jwtsign_key key = {.secret = keys.secret,
					   .secret_len = keys.secret_len,
					   .pkey = keys.ec};
	long now = (long) time(NULL);

	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
			 header_alg);
	snprintf(payload, sizeof(payload),
			 "{\"sub\":\"%s\",\"aud\":\"%s\",\"iat\":%ld,\"exp\":%ld%s%s}",
			 sub, aud, now, now + exp_in, rights ? ",\"collab\":" : "",
			 rights ? rights : "");
	return jwtsign(header, payload, alg, &key, breaks);
}

static char *
token(const char *sub, long exp_in, const char *rights)
{
	return token_full(sub, exp_in, rights, "collab", "HS256", JWTSIGN_HS256,
					  0);
}

/* A connection to c (with TOKEN in the cookie when not NULL), its hello
 * read. */
static raw *
connect_c(const char *cookie_token)
{
	char *headers = NULL;
	raw *r;
	json_t *m;

	if (cookie_token)
	{
		size_t n = strlen(cookie_token) + 64;

		headers = malloc(n);
		if (headers)
			snprintf(headers, n, "Cookie: theme=dark; collab_token=%s\r\n",
					 cookie_token);
	}
	r = raw_connect_with('c', 0, NULL, headers);
	free(headers);
	if (!r)
		return NULL;
	m = raw_next_json(r, WAIT_MS);
	check(m && strcmp(type_of(m), "hello") == 0, "c says hello first");
	json_decref(m);
	return r;
}

static void
send_auth(raw *r, const char *tok)
{
	char *msg = malloc(strlen(tok) + 64);

	if (!msg)
		return;
	sprintf(msg, "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
	raw_send(r, msg);
	free(msg);
}

/*
 * The next message is an error CODE (what, for the report); then, when
 * CLOSE is not 0, the connection closes with CLOSE and nothing else came.
 * Returns the error's message (malloc'd) or NULL.
 */
static char *
expect_refusal(raw *r, const char *code, int close, const char *what)
{
	json_t *m = raw_next_json(r, WAIT_MS);
	char *message = NULL, *text = NULL;
	int got = -1, kind;

	check(m && strcmp(type_of(m), "error") == 0 &&
			  strcmp(str_of(m, "code"), code) == 0,
		  "%s: error %s (got %s %s)", what, code, m ? type_of(m) : "nothing",
		  m ? str_of(m, "code") : "");
	if (m)
		message = strdup(str_of(m, "message"));
	json_decref(m);
	if (close)
	{
		while ((kind = raw_next(r, WAIT_MS, &text, &got)) == 1)
		{
			check(false, "%s: nothing more before the close (got %.80s)", what,
				  text);
			free(text);
			text = NULL;
		}
		check(kind == 8 && got == close, "%s: closed with %d (got %d)", what,
			  close, kind == 8 ? got : -kind);
	}
	return message;
}

/* Reads up to the authenticated message; its client id into CLIENT. */
static bool
expect_authenticated(raw *r, const char *user, char *client, size_t size,
					 const char *what)
{
	json_t *m = raw_next_json(r, WAIT_MS);
	bool ok = m && strcmp(type_of(m), "authenticated") == 0 &&
			  strcmp(str_of(m, "user"), user) == 0 &&
			  strncmp(str_of(m, "client"), user, strlen(user)) == 0 &&
			  str_of(m, "client")[strlen(user)] == '/';

	check(ok, "%s: authenticated as %s (got %s %s)", what, user,
		  m ? type_of(m) : "nothing", m ? str_of(m, "client") : "");
	if (ok && client)
		snprintf(client, size, "%s", str_of(m, "client"));
	json_decref(m);
	return ok;
}

static void
test_no_token_nothing_readable(void)
{
	const char *doc = doc_name("auth-open");
	const char *p[1] = {doc};
	raw *r;

	if (!harness_has_c() || !load_keys())
		return;
	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	r = connect_c(NULL);
	if (!r)
		return;
	raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\"}", doc);
	free(expect_refusal(r, "unauthorized", 4001,
						"a subscribe before any token"));
	raw_free(r);
	r = connect_c(NULL);
	if (!r)
		return;
	free(expect_refusal(r, "unauthorized", 4001,
						"a connection that sends nothing, by "
						"--auth-timeout-ms"));
	raw_free(r);
}

static void
test_bad_tokens_refused(void)
{
	struct {
		const char *what;
		char *tok;
	} bad[8];
	int n = 0;
	const char *all = "{\"read\":[\"*\"]}";

	if (!harness_has_c() || !load_keys())
		return;
	bad[n].what = "a bad signature";
	bad[n++].tok = token_full("eve", 60, all, "collab", "HS256", JWTSIGN_HS256,
							  JWTSIGN_FLIP_SIGNATURE);
	bad[n].what = "an expired token";
	bad[n++].tok = token("eve", -10, all);
	bad[n].what = "a wrong audience";
	bad[n++].tok =
		token_full("eve", 60, all, "other", "HS256", JWTSIGN_HS256, 0);
	bad[n].what = "alg none";
	bad[n++].tok =
		token_full("eve", 60, all, "collab", "none", JWTSIGN_NONE, 0);
	{
		/* HS256 "signed" with the ES256 public key's PEM as the secret */
		jwtsign_key k = {.secret = keys.ec_public_pem,
						 .secret_len = strlen(keys.ec_public_pem)};
		char payload[256];

		snprintf(payload, sizeof(payload),
				 "{\"sub\":\"eve\",\"aud\":\"collab\",\"exp\":%ld,"
				 "\"collab\":%s}",
				 (long) time(NULL) + 60, all);
		bad[n].what = "HS256 signed with the public key as secret";
		bad[n++].tok =
			jwtsign("{\"alg\":\"HS256\"}", payload, JWTSIGN_HS256, &k, 0);
	}
	bad[n].what = "a token living longer than --auth-max-token-s";
	bad[n++].tok = token("eve", 30 * 86400, all);
	bad[n].what = "a payload changed after signing";
	bad[n++].tok = token_full("eve", 60, all, "collab", "ES256", JWTSIGN_ES256,
							  JWTSIGN_FLIP_PAYLOAD);
	for (int i = 0; i < n; i++)
	{
		raw *r = connect_c(NULL);

		if (!r || !bad[i].tok)
		{
			check(false, "%s: a connection and a token", bad[i].what);
			raw_free(r);
			free(bad[i].tok);
			continue;
		}
		send_auth(r, bad[i].tok);
		free(expect_refusal(r, "unauthorized", 4001, bad[i].what));
		raw_free(r);
		free(bad[i].tok);
	}
	/* in the cookie too */
	{
		char *tok = token("eve", -10, all);
		raw *r = connect_c(tok);

		if (r)
			free(expect_refusal(r, "unauthorized", 4001,
								"an expired token in the cookie"));
		raw_free(r);
		free(tok);
	}
}

static void
test_tokens_in_band_and_cookie(void)
{
	const char *doc = doc_name("auth-team/notes");
	char *hs, *es, rights[256], client[256];
	raw *r;
	json_t *m;

	if (!harness_has_c() || !load_keys())
		return;
	snprintf(rights, sizeof(rights), "{\"create\":[\"%.*s*\"]}",
			 (int) (strchr(doc, '/') - doc + 1), doc);
	hs = token("alice", 60, rights);
	es = token_full("bob", 60, rights, "collab", "ES256", JWTSIGN_ES256, 0);
	r = connect_c(NULL);
	if (r && hs)
	{
		send_auth(r, hs);
		expect_authenticated(r, "alice", client, sizeof(client),
							 "an HS256 token in a message");
		raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
				  doc);
		m = raw_next_json(r, WAIT_MS);
		check(m && strcmp(type_of(m), "snapshot") == 0,
			  "... then a subscribe with create under its rights: snapshot");
		json_decref(m);
		raw_sendf(r,
				  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"seq\":1,"
				  "\"change\":[{\"insert\":\"a\"}]}",
				  doc);
		m = raw_next_json(r, WAIT_MS);
		check(m && strcmp(type_of(m), "ack") == 0, "... and a submit: ack");
		json_decref(m);
		{
			const char *p[1] = {doc};
			PGresult *res =
				sql("SELECT author FROM collab.changes($1, 0, NULL)", 1, p);

			check(PQntuples(res) == 1 &&
					  strcmp(PQgetvalue(res, 0, 0), "alice") == 0,
				  "... recorded with the token's sub as its author (%s)",
				  PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "no row");
			PQclear(res);
			res = sql(
				"SELECT created_by FROM collab.documents WHERE doc_id = $1", 1,
				p);
			check(PQntuples(res) == 1 &&
					  strcmp(PQgetvalue(res, 0, 0), "alice") == 0,
				  "... and the document with her as its creator (%s)",
				  PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "no row");
			PQclear(res);
		}
	}
	raw_free(r);
	r = connect_c(es);
	if (r && es)
	{
		expect_authenticated(r, "bob", NULL, 0,
							 "an ES256 token in the upgrade's cookie");
		raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"rev\":0}", doc);
		m = raw_next_json(r, WAIT_MS);
		check(m && strcmp(type_of(m), "change") == 0 &&
				  strcmp(str_of(m, "client"), client) == 0,
			  "... reads alice's change, its client id hers (%s; got %s)",
			  client, m ? str_of(m, "client") : "nothing");
		json_decref(m);
	}
	raw_free(r);
	free(hs);
	free(es);
}

/* The error for DOC on R after REQUEST (a format with one %s: the doc). */
static char *
refusal_for(raw *r, const char *request, const char *doc, const char *code,
			const char *what)
{
	raw_sendf(r, request, doc);
	return expect_refusal(r, code, 0, what);
}

static void
test_rights_per_document(void)
{
	const char *mine = doc_name("auth-a/x"), *theirs = doc_name("auth-b/x");
	const char *missing = doc_name("auth-a/missing");
	const char *p[1];
	char rights[256], prefix[128];
	char *tok, *text_theirs, *text_missing;
	const char *sub = "{\"type\":\"subscribe\",\"doc\":\"%s\"}";
	const char *submit = "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,"
						 "\"seq\":1,\"change\":[{\"insert\":\"x\"}]}";
	raw *r;
	PGresult *res;

	if (!harness_has_c() || !load_keys())
		return;
	p[0] = mine;
	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	p[0] = theirs;
	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	snprintf(prefix, sizeof(prefix), "%.*s*",
			 (int) (strchr(mine, '/') - mine + 1), mine);
	/* read and write under auth-a-RUN/, no create */
	snprintf(rights, sizeof(rights), "{\"write\":[\"%s\"]}", prefix);
	tok = token("carol", 60, rights);
	r = connect_c(tok);
	free(tok);
	if (!r)
		return;
	expect_authenticated(r, "carol", NULL, 0, "a token for one prefix");
	text_theirs = refusal_for(r, sub, theirs, "not_found",
							  "a subscribe outside the rights");
	text_missing = refusal_for(r, sub, missing, "not_found",
							   "a subscribe to a missing document");
	check(text_theirs && text_missing &&
			  strcmp(text_theirs, text_missing) == 0,
		  "... the same answer for both (\"%s\" and \"%s\")",
		  text_theirs ? text_theirs : "", text_missing ? text_missing : "");
	free(text_theirs);
	free(text_missing);
	free(refusal_for(r, "{\"type\":\"fetch\",\"doc\":\"%s\"}", theirs,
					 "not_found", "a fetch outside the rights"));
	free(refusal_for(r, submit, theirs, "not_found",
					 "a submit outside the rights"));
	free(refusal_for(
		r, "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"a\":1}}",
		theirs, "not_found", "a presence outside the rights"));
	free(refusal_for(r,
					 "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
					 missing, "not_found",
					 "a subscribe with create, without the right to create"));
	p[0] = missing;
	res = sql("SELECT count(*) FROM collab.documents WHERE doc_id = $1", 1, p);
	check(strcmp(PQgetvalue(res, 0, 0), "0") == 0,
		  "... and the document was not created");
	PQclear(res);
	raw_free(r);
	/* read only */
	snprintf(rights, sizeof(rights), "{\"read\":[\"%s\"]}", prefix);
	tok = token("dave", 60, rights);
	r = connect_c(tok);
	free(tok);
	if (!r)
		return;
	expect_authenticated(r, "dave", NULL, 0, "a read-only token");
	raw_sendf(r, sub, mine);
	{
		json_t *m = raw_next_json(r, WAIT_MS);

		check(m && strcmp(type_of(m), "snapshot") == 0,
			  "a reader subscribes: snapshot");
		json_decref(m);
	}
	free(refusal_for(r, submit, mine, "forbidden", "a reader's submit"));
	free(refusal_for(
		r, "{\"type\":\"presence\",\"doc\":\"%s\",\"state\":{\"a\":1}}", mine,
		"forbidden", "a reader's presence"));
	raw_free(r);
}

static void
test_client_ids_bound_to_users(void)
{
	const char *doc = doc_name("auth-ids/d");
	char rights[256], *a, *b;
	raw *ra, *rb;
	json_t *m;

	if (!harness_has_c() || !load_keys())
		return;
	snprintf(rights, sizeof(rights), "{\"create\":[\"%s\"]}", doc);
	a = token("alice", 60, rights);
	b = token("bob", 60, rights);
	ra = connect_c(a);
	rb = connect_c(b);
	free(a);
	free(b);
	if (!ra || !rb)
	{
		raw_free(ra);
		raw_free(rb);
		return;
	}
	expect_authenticated(ra, "alice", NULL, 0, "alice");
	expect_authenticated(rb, "bob", NULL, 0, "bob");
	raw_sendf(ra, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc);
	json_decref(raw_next_json(ra, WAIT_MS));
	raw_sendf(rb, "{\"type\":\"subscribe\",\"doc\":\"%s\"}", doc);
	json_decref(raw_next_json(rb, WAIT_MS));
	/* bob squats alice's id and her next seq first */
	raw_sendf(rb,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"seq\":1,"
			  "\"client\":\"k1\",\"change\":[{\"insert\":\"B\"}]}",
			  doc);
	m = raw_next_json(rb, WAIT_MS);
	check(m && strcmp(type_of(m), "ack") == 0, "bob's submit as k1: ack");
	json_decref(m);
	raw_sendf(ra,
			  "{\"type\":\"submit\",\"doc\":\"%s\",\"rev\":0,\"seq\":1,"
			  "\"client\":\"k1\",\"change\":[{\"insert\":\"A\"}]}",
			  doc);
	/* alice sees bob's change (as bob/k1), then her own ack */
	m = raw_next_json(ra, WAIT_MS);
	check(m && strcmp(type_of(m), "change") == 0 &&
			  strcmp(str_of(m, "client"), "bob/k1") == 0,
		  "alice sees bob's change under bob/k1 (got %s)",
		  m ? str_of(m, "client") : "nothing");
	json_decref(m);
	m = raw_next_json(ra, WAIT_MS);
	check(m && strcmp(type_of(m), "ack") == 0 && int_of(m, "rev") == 2,
		  "alice's own k1 seq 1 is a new change, revision 2, not bob's");
	json_decref(m);
	{
		char *content = sql_content(doc);

		check(strstr(content, "A") && strstr(content, "B"),
			  "both changes are in the document (%s)", content);
		free(content);
	}
	raw_sendf(ra,
			  "{\"type\":\"presence\",\"doc\":\"%s\",\"client\":\"bob/k1\","
			  "\"state\":{}}",
			  doc);
	free(expect_refusal(ra, "bad_message", 0,
						"an id with a slash (another user's) is refused"));
	raw_free(ra);
	raw_free(rb);
}

static void
test_expiry_and_refresh(void)
{
	const char *doc = doc_name("auth-exp/d");
	char rights[256], *t1, *t2, *other;
	raw *r;
	json_t *m;
	int64_t t0;

	if (!harness_has_c() || !load_keys())
		return;
	snprintf(rights, sizeof(rights), "{\"create\":[\"%s\"]}", doc);
	/* no refresh: closed 4003 at exp */
	t1 = token("erin", 2, rights);
	r = connect_c(t1);
	free(t1);
	if (r)
	{
		expect_authenticated(r, "erin", NULL, 0, "a token for 2 s");
		t0 = wsc_now_us();
		free(expect_refusal(r, "unauthorized", 4003,
							"the token's exp passes, no fresh one came"));
		check(wsc_now_us() - t0 < 3500000,
			  "... within a second of exp (%lld ms)",
			  (long long) ((wsc_now_us() - t0) / 1000));
	}
	raw_free(r);
	/* a refresh in band keeps the connection and its stream */
	t1 = token("erin", 2, rights);
	t2 = token("erin", 60, rights);
	other = token("mallory", 60, rights);
	r = connect_c(t1);
	if (r)
	{
		expect_authenticated(r, "erin", NULL, 0, "a token for 2 s, again");
		raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
				  doc);
		json_decref(raw_next_json(r, WAIT_MS));
		send_auth(r, t2);
		expect_authenticated(r, "erin", NULL, 0, "a fresh token in band");
		{
			const char *p[1] = {doc};

			usleep(3000000); /* past the first token's exp */
			PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"z\"}]')",
						1, p));
		}
		m = raw_next_json(r, WAIT_MS);
		check(m && strcmp(type_of(m), "change") == 0 && int_of(m, "rev") == 1,
			  "past the first exp, the stream goes on (got %s)",
			  m ? type_of(m) : "nothing");
		json_decref(m);
		send_auth(r, other);
		free(expect_refusal(r, "unauthorized", 4001,
							"a fresh token for another user"));
	}
	raw_free(r);
	free(t1);
	free(t2);
	free(other);
}

static void
test_narrowed_rights_end_subscriptions(void)
{
	const char *doc = doc_name("auth-narrow/d");
	char rights[256], *t1, *t2;
	raw *r;
	json_t *m;

	if (!harness_has_c() || !load_keys())
		return;
	snprintf(rights, sizeof(rights), "{\"create\":[\"%s\"]}", doc);
	t1 = token("frank", 60, rights);
	t2 = token("frank", 60, "{\"read\":[\"elsewhere/*\"]}");
	r = connect_c(t1);
	if (r)
	{
		expect_authenticated(r, "frank", NULL, 0, "frank");
		raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
				  doc);
		json_decref(raw_next_json(r, WAIT_MS));
		send_auth(r, t2);
		free(expect_refusal(r, "not_found", 0,
							"a refresh without the document ends its "
							"subscription"));
		m = raw_next_json(r, WAIT_MS);
		check(m && strcmp(type_of(m), "authenticated") == 0,
			  "... then the refresh is confirmed");
		json_decref(m);
		{
			const char *p[1] = {doc};

			PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"z\"}]')",
						1, p));
		}
		m = raw_next_json(r, 1000);
		check(!m, "... and its changes no longer come (got %s)",
			  m ? type_of(m) : "nothing");
		json_decref(m);
	}
	raw_free(r);
	free(t1);
	free(t2);
}

/* Whether DOC is in collab.documents. */
static bool
document_exists(const char *doc)
{
	const char *p[1] = {doc};
	PGresult *res =
		sql("SELECT 1 FROM collab.documents WHERE doc_id = $1", 1, p);
	bool found = PQntuples(res) == 1;

	PQclear(res);
	return found;
}

/* Subscribes R with create to DOC; returns the answer (the caller frees). */
static json_t *
subscribe_creating(raw *r, const char *doc)
{
	raw_sendf(r, "{\"type\":\"subscribe\",\"doc\":\"%s\",\"create\":true}",
			  doc);
	return raw_next_json(r, WAIT_MS);
}

/*
 * With tokens, the creation quota (--creates-per-minute, 4 on instance c)
 * is each user's, over all of the user's connections, not the address's:
 * grace's fifth creation in a minute, from her second connection, is
 * refused with rate_limited and creates nothing; heidi, from the same
 * address, still creates.
 */
static void
test_creation_quota_per_user(void)
{
	char rights[256], base[64], doc[4][200], *tg, *th;
	const char *fifth, *heidis;
	long long limited;
	raw *r1, *r2, *r3;
	json_t *m;

	if (!harness_has_c() || !load_keys())
		return;
	for (int i = 0; i < 4; i++)
	{
		snprintf(base, sizeof(base), "auth-quota/g%d", i);
		snprintf(doc[i], sizeof(doc[i]), "%s", doc_name(base));
	}
	fifth = doc_name("auth-quota/g4");
	heidis = doc_name("auth-quota/h0");
	snprintf(rights, sizeof(rights), "{\"create\":[\"%.*s*\"]}",
			 (int) (strchr(doc[0], '/') - doc[0] + 1), doc[0]);
	tg = token("grace", 60, rights);
	th = token("heidi", 60, rights);
	limited = metric('c', "collab_notifier_creates_limited_total");
	r1 = connect_c(tg);
	r2 = connect_c(tg);
	r3 = connect_c(th);
	if (r1 && r2 && r3)
	{
		expect_authenticated(r1, "grace", NULL, 0, "grace");
		expect_authenticated(r2, "grace", NULL, 0, "grace, again");
		expect_authenticated(r3, "heidi", NULL, 0, "heidi");
		for (int i = 0; i < 4; i++)
		{
			m = subscribe_creating(i % 2 ? r2 : r1, doc[i]);
			check(m && strcmp(type_of(m), "snapshot") == 0 &&
					  document_exists(doc[i]),
				  "grace's creation %d of 4 a minute, on connection %d: "
				  "snapshot (got %s)",
				  i + 1, i % 2 + 1, m ? type_of(m) : "nothing");
			json_decref(m);
		}
		m = subscribe_creating(r2, fifth);
		check(m && strcmp(type_of(m), "error") == 0 &&
				  strcmp(str_of(m, "code"), "rate_limited") == 0,
			  "her fifth, over the quota her two connections share: "
			  "rate_limited (got %s %s)",
			  m ? type_of(m) : "nothing", m ? str_of(m, "code") : "");
		json_decref(m);
		check(!document_exists(fifth), "... and nothing was created");
		check(metric('c', "collab_notifier_creates_limited_total") - limited ==
				  1,
			  "... and counted once in creates_limited_total");
		m = subscribe_creating(r3, heidis);
		check(m && strcmp(type_of(m), "snapshot") == 0 &&
				  document_exists(heidis),
			  "heidi, from the same address, still creates: the quota is "
			  "the user's (got %s)",
			  m ? type_of(m) : "nothing");
		json_decref(m);
	}
	raw_free(r1);
	raw_free(r2);
	raw_free(r3);
	free(tg);
	free(th);
}

const harness_test proto_auth[] = {
	{"auth_no_token_nothing_readable", test_no_token_nothing_readable},
	{"auth_bad_tokens_refused", test_bad_tokens_refused},
	{"auth_tokens_in_band_and_cookie", test_tokens_in_band_and_cookie},
	{"auth_rights_per_document", test_rights_per_document},
	{"auth_client_ids_bound_to_users", test_client_ids_bound_to_users},
	{"auth_expiry_and_refresh", test_expiry_and_refresh},
	{"auth_narrowed_rights_end_subscriptions",
	 test_narrowed_rights_end_subscriptions},
	{"auth_creation_quota_per_user", test_creation_quota_per_user},
	{NULL, NULL},
};
