/*
 * test_jwt.c — notifier/jwt.c: tokens accepted and refused, each refusal
 * with its exact code; algorithm confusion; strict base64url; the claims
 * and their limits; rights patterns and levels; key files; the
 * development signer; and every allocation failing in turn.
 *
 * Keys are made at run time (RSA 2048, EC P-256, and others of each kind
 * that must not verify) and their public PEMs written to a temporary
 * directory for jwt_keys_load.  Tokens come from tests/lib/jwtsign.c, a
 * signer written apart from the verifier.
 *
 * Allocation failures: jansson and OpenSSL take this file's allocators,
 * and the Makefile links with -Wl,--wrap=malloc so that jwt.c's own
 * mallocs come here too (__wrap_malloc); while a failure is armed, the
 * n-th allocation among them fails.
 */
#include "check.h"
#include "jwt.h"
#include "jwtsign.h"
#include "wire.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a pattern may name any document id, and no more */
_Static_assert(JWT_PATTERN_MAX == WIRE_ID_BYTES_MAX,
			   "patterns and document ids have one limit");

#define NOW INT64_C(1700000000)
#define EXP "1700000600" /* NOW + 600 */
#define H_HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define H_RS "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define H_ES "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"
/* the claims every accepted token has; EXTRA adds members (",...") */
#define CLAIMS(extra) \
	"{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":" EXP extra "}"

static const char secret[] = "collab-test-secret-0123456789abcdef";

static const jwt_expect want = {.audience = "collab",
								.leeway_s = 30,
								.max_lifetime_s = 3600};

static EVP_PKEY *rsa_key, *rsa_other, *ec_key, *ec_other;
static jwtsign_key hs_sign = {secret, sizeof(secret) - 1, NULL};
static jwtsign_key rs_sign, es_sign;
static char dir[] = "/tmp/test_jwt.XXXXXX";
static char *secret_path, *rsa_path, *ec_path;
/* keys: the secret, the RSA key, the EC key, the secret with each */
static jwt_keys *k_hs, *k_rsa, *k_ec, *k_hs_rsa, *k_hs_ec;
static jwt_error err;
/* the files made in dir, removed at the end */
static char *files[32];
static int nfiles;

/* --- allocation failures (armed by under_faults) ------------------------- */

enum {
	FAULT_NONE,
	FAULT_OURS,
	FAULT_JANSSON,
	FAULT_OPENSSL
};

static struct {
	long countdown; /* allocations left before the failure; -1: none */
	int where;		/* which allocator failed, FAULT_* */
} fault = {-1, FAULT_NONE};

/* the names the linker's --wrap gives */
void *__real_malloc(size_t size); /* NOLINT(bugprone-reserved-identifier) */
void *__wrap_malloc(size_t size); /* NOLINT(bugprone-reserved-identifier) */

static bool
fault_hit(int where)
{
	if (fault.countdown < 0 || fault.countdown-- > 0)
		return false;
	fault.where = where;
	return true;
}

void *
__wrap_malloc(size_t size)
{
	return fault_hit(FAULT_OURS) ? NULL : __real_malloc(size);
}

static void *
jansson_malloc(size_t size)
{
	return fault_hit(FAULT_JANSSON) ? NULL : __real_malloc(size);
}

static void *
openssl_malloc(size_t size, const char *file, int line)
{
	(void) file;
	(void) line;
	return fault_hit(FAULT_OPENSSL) ? NULL : __real_malloc(size);
}

static void *
openssl_realloc(void *p, size_t size, const char *file, int line)
{
	(void) file;
	(void) line;
	return fault_hit(FAULT_OPENSSL) ? NULL : realloc(p, size);
}

static void
openssl_free(void *p, const char *file, int line)
{
	(void) file;
	(void) line;
	free(p);
}

/* --- helpers ------------------------------------------------------------- */

static const char *
code_name(jwt_code c)
{
	static const char *const names[] = {"JWT_OK",
										"JWT_MALFORMED",
										"JWT_BAD_ALG",
										"JWT_BAD_SIGNATURE",
										"JWT_EXPIRED",
										"JWT_NOT_YET_VALID",
										"JWT_WRONG_AUDIENCE",
										"JWT_WRONG_ISSUER",
										"JWT_BAD_SUBJECT",
										"JWT_TOO_LONG_LIVED",
										"JWT_BAD_RIGHTS",
										"JWT_KEY",
										"JWT_NO_MEMORY"};

	if ((int) c < 0 || (size_t) c >= sizeof(names) / sizeof(names[0]))
		return "(no code)";
	return names[c];
}

/* printf into a malloc'd string */
static char *fmt(const char *format, ...)
	__attribute__((format(printf, 1, 2)));

static char *
fmt(const char *format, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, format);
	n = vsnprintf(NULL, 0, format, ap);
	va_end(ap);
	s = malloc((size_t) n + 1);
	if (!s)
		abort();
	va_start(ap, format);
	vsnprintf(s, (size_t) n + 1, format, ap);
	va_end(ap);
	return s;
}

/* N copies of C (malloc'd, NUL-terminated). */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Whether MESSAGE holds no 10 consecutive bytes of TOKEN[0..LEN). */
static bool
quotes_nothing(const char *message, const char *token, size_t len)
{
	char window[11];

	for (size_t i = 0; i + 10 <= len; i++)
	{
		memcpy(window, token + i, 10);
		window[10] = '\0';
		if (strlen(window) == 10 && strstr(message, window))
			return false;
	}
	return true;
}

/*
 * Verifies TOKEN[0..LEN) with KEYS against W at time T: the code (JWT_OK
 * when accepted).  The claims go to OUT when given and accepted (the caller
 * clears them); otherwise they are cleared here.  Checks what holds for
 * every call: the result agrees with err, a refusal leaves OUT zeroed and
 * quotes nothing of the token.
 */
static jwt_code
verify_len(const jwt_keys *keys, const char *token, size_t len,
		   const jwt_expect *w, int64_t t, jwt_claims *out)
{
	jwt_claims c;
	bool ok;

	memset(&c, 0xa5, sizeof(c)); /* jwt_verify must not need it zeroed */
	ok = jwt_verify(keys, token, len, w, t, &c, &err);
	CHECK_MSG(ok == (err.code == JWT_OK), "accepted %d, code %s", ok,
			  code_name(err.code));
	if (!ok)
	{
		CHECK(c.sub == NULL && c.grants == NULL && c.ngrants == 0);
		CHECK(err.message[0] != '\0');
		CHECK_MSG(quotes_nothing(err.message, token, len),
				  "message quotes the token: %s: %.*s", err.message, (int) len,
				  token);
	}
	if (ok && out)
		*out = c;
	else
		jwt_claims_clear(&c);
	return ok ? JWT_OK : err.code;
}

/* As verify_len, for TOKEN (freed here, NULL: the signer failed). */
static jwt_code
verify_at(const jwt_keys *keys, char *token, const jwt_expect *w, int64_t t,
		  jwt_claims *out)
{
	jwt_code code;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!token)
		return (jwt_code) -1;
	code = verify_len(keys, token, strlen(token), w, t, out);
	free(token);
	return code;
}

static jwt_code
verify(const jwt_keys *keys, char *token)
{
	return verify_at(keys, token, &want, NOW, NULL);
}

#define EXPECT(got, code) \
	do \
	{ \
		jwt_code got_ = (got); \
		CHECK_MSG(got_ == (code), "got %s, want %s (%s)", code_name(got_), \
				  code_name(code), got_ == JWT_OK ? "" : err.message); \
	} while (0)

static char *
hs(const char *payload)
{
	return jwtsign(H_HS, payload, JWTSIGN_HS256, &hs_sign, 0);
}

static char *
rs(const char *payload)
{
	return jwtsign(H_RS, payload, JWTSIGN_RS256, &rs_sign, 0);
}

static char *
es(const char *payload)
{
	return jwtsign(H_ES, payload, JWTSIGN_ES256, &es_sign, 0);
}

/* An HS256 token of PAYLOAD (freed here). */
static char *
hs_owned(char *payload)
{
	char *token = hs(payload);

	free(payload);
	return token;
}

/* DIR/NAME (a path the caller frees), remembered for removal. */
static char *
file_path(const char *name)
{
	char *path = fmt("%s/%s", dir, name);

	if (nfiles == (int) (sizeof(files) / sizeof(files[0])))
		abort();
	files[nfiles++] = strdup(path);
	return path;
}

/* A file DIR/NAME holding DATA[0..LEN); its path (malloc'd). */
static char *
write_file(const char *name, const void *data, size_t len)
{
	char *path = file_path(name);
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
	return path;
}

/* KEY's public half as PEM (SubjectPublicKeyInfo) in DIR/NAME. */
static char *
write_public(const char *name, EVP_PKEY *key)
{
	char *path = file_path(name);
	BIO *bio = BIO_new_file(path, "w");

	if (!bio || PEM_write_bio_PUBKEY(bio, key) != 1)
	{
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
	BIO_free(bio);
	return path;
}

/* The contents of PATH (malloc'd, NUL-terminated), *LEN bytes. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = malloc(16384);

	if (!f || !data)
		exit(2);
	*len = fread(data, 1, 16383, f);
	data[*len] = '\0';
	fclose(f);
	return data;
}

static jwt_keys *
load(const char *secret_file, const char *key_file)
{
	jwt_keys *keys = jwt_keys_load(secret_file, key_file, &err);

	if (!keys)
	{
		fprintf(stderr, "cannot load keys: %s\n", err.message);
		exit(2);
	}
	return keys;
}

/* The code jwt_keys_load gives for these files (JWT_OK: loaded). */
static jwt_code
load_code(const char *secret_file, const char *key_file)
{
	jwt_keys *keys = jwt_keys_load(secret_file, key_file, &err);

	CHECK((keys != NULL) == (err.code == JWT_OK));
	jwt_keys_free(keys);
	return keys ? JWT_OK : err.code;
}

static EVP_PKEY *
rsa_pss_key(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	EVP_PKEY *key = NULL;

	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 ||
		EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1 ||
		EVP_PKEY_keygen(ctx, &key) != 1)
		exit(2);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* --- accepted tokens ----------------------------------------------------- */

static void
test_valid(void)
{
	jwt_claims c;

	EXPECT(verify_at(k_hs, hs(CLAIMS("")), &want, NOW, &c), JWT_OK);
	CHECK(c.sub && strcmp(c.sub, "u1") == 0);
	CHECK(c.exp == NOW + 600);
	CHECK(c.ngrants == 0 && c.grants == NULL);
	CHECK(jwt_right_for(&c, "d", 1) == JWT_NONE);
	jwt_claims_clear(&c);
	CHECK(c.sub == NULL && c.grants == NULL && c.ngrants == 0);
	jwt_claims_clear(&c); /* twice is fine */

	EXPECT(verify_at(k_rsa, rs(CLAIMS("")), &want, NOW, &c), JWT_OK);
	CHECK(c.sub && strcmp(c.sub, "u1") == 0 && c.exp == NOW + 600);
	jwt_claims_clear(&c);
	EXPECT(verify_at(k_ec, es(CLAIMS("")), &want, NOW, &c), JWT_OK);
	CHECK(c.sub && strcmp(c.sub, "u1") == 0 && c.exp == NOW + 600);
	jwt_claims_clear(&c);

	/* with both keys, each alg goes to its own */
	EXPECT(verify(k_hs_rsa, hs(CLAIMS(""))), JWT_OK);
	EXPECT(verify(k_hs_rsa, rs(CLAIMS(""))), JWT_OK);
	EXPECT(verify(k_hs_ec, hs(CLAIMS(""))), JWT_OK);
	EXPECT(verify(k_hs_ec, es(CLAIMS(""))), JWT_OK);

	/* typ, kid and unknown header parameters and claims are ignored */
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256\",\"typ\":\"x\",\"kid\":7,"
								"\"jku\":\"https://evil/\"}",
								CLAIMS(",\"jti\":\"j\",\"extra\":[1]"),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_OK);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256\"}", CLAIMS(""),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_OK);
	/* err may be NULL */
	{
		char *t = hs(CLAIMS(""));

		CHECK(jwt_verify(k_hs, t, strlen(t), &want, NOW, &c, NULL));
		jwt_claims_clear(&c);
		CHECK(!jwt_verify(k_rsa, t, strlen(t), &want, NOW, &c, NULL));
		free(t);
	}
}

/* --- alg ----------------------------------------------------------------- */

static void
test_alg(void)
{
	const jwt_keys *all[] = {k_hs, k_rsa, k_ec, k_hs_rsa, k_hs_ec};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
	{
		/* unsigned, as alg none is */
		EXPECT(verify(all[i], jwtsign("{\"alg\":\"none\"}", CLAIMS(""),
									  JWTSIGN_NONE, NULL, 0)),
			   JWT_BAD_ALG);
		EXPECT(verify(all[i], jwtsign("{\"alg\":\"none\",\"typ\":\"JWT\"}",
									  CLAIMS(""), JWTSIGN_NONE, NULL, 0)),
			   JWT_BAD_ALG);
		/* none, with a signature that would verify as HS256 */
		EXPECT(verify(all[i], jwtsign("{\"alg\":\"none\"}", CLAIMS(""),
									  JWTSIGN_HS256, &hs_sign, 0)),
			   JWT_BAD_ALG);
		EXPECT(verify(all[i], jwtsign("{\"alg\":\"None\"}", CLAIMS(""),
									  JWTSIGN_NONE, NULL, 0)),
			   JWT_BAD_ALG);
	}
	/* algs not supported, misspelt, missing, not strings */
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS512\"}", CLAIMS(""),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"hs256\"}", CLAIMS(""),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256 \"}", CLAIMS(""),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_rsa, jwtsign("{\"alg\":\"PS256\"}", CLAIMS(""),
								 JWTSIGN_RS256, &rs_sign, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_hs, jwtsign("{\"typ\":\"JWT\"}", CLAIMS(""), JWTSIGN_HS256,
								&hs_sign, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":null}", CLAIMS(""), JWTSIGN_HS256,
								&hs_sign, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":[\"HS256\"]}", CLAIMS(""),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_BAD_ALG);

	/* an alg whose key is not configured, even correctly signed */
	EXPECT(verify(k_ec, rs(CLAIMS(""))), JWT_BAD_ALG);
	EXPECT(verify(k_hs_ec, rs(CLAIMS(""))), JWT_BAD_ALG);
	EXPECT(verify(k_rsa, es(CLAIMS(""))), JWT_BAD_ALG);
	EXPECT(verify(k_hs_rsa, es(CLAIMS(""))), JWT_BAD_ALG);
	EXPECT(verify(k_hs, rs(CLAIMS(""))), JWT_BAD_ALG);
	EXPECT(verify(k_hs, es(CLAIMS(""))), JWT_BAD_ALG);
	EXPECT(verify(k_rsa, hs(CLAIMS(""))), JWT_BAD_ALG);
	EXPECT(verify(k_ec, hs(CLAIMS(""))), JWT_BAD_ALG);
	/* RS256 named, the EC key signs: the header decides, and is refused */
	EXPECT(verify(k_ec, jwtsign(H_RS, CLAIMS(""), JWTSIGN_ES256, &es_sign, 0)),
		   JWT_BAD_ALG);
}

/* HS256 "signed" with the public key's PEM as the secret: the classic
 * confusion, refused whether or not a secret is configured too. */
static void
test_confusion(void)
{
	size_t rsa_len, ec_len;
	char *rsa_pem = read_file(rsa_path, &rsa_len);
	char *ec_pem = read_file(ec_path, &ec_len);
	jwtsign_key as_rsa = {rsa_pem, rsa_len, NULL};
	jwtsign_key as_ec = {ec_pem, ec_len, NULL};

	EXPECT(verify(k_rsa, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &as_rsa, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_hs_rsa,
				  jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &as_rsa, 0)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_ec, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &as_ec, 0)),
		   JWT_BAD_ALG);
	EXPECT(verify(k_hs_ec,
				  jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &as_ec, 0)),
		   JWT_BAD_SIGNATURE);
	/* the PEM without its final newline, as some libraries read it */
	as_rsa.secret_len--;
	EXPECT(verify(k_hs_rsa,
				  jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &as_rsa, 0)),
		   JWT_BAD_SIGNATURE);
	free(rsa_pem);
	free(ec_pem);
}

/* --- signatures ---------------------------------------------------------- */

static void
test_signatures(void)
{
	jwtsign_key hs_other = {"another-secret-0123456789abcdef-xyz", 35, NULL};
	jwtsign_key rs_other = {NULL, 0, rsa_other};
	jwtsign_key es_other = {NULL, 0, ec_other};
	char *t;

	/* one bit of the signature */
	EXPECT(verify(k_hs, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &hs_sign,
								JWTSIGN_FLIP_SIGNATURE)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_rsa, jwtsign(H_RS, CLAIMS(""), JWTSIGN_RS256, &rs_sign,
								 JWTSIGN_FLIP_SIGNATURE)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_ec, jwtsign(H_ES, CLAIMS(""), JWTSIGN_ES256, &es_sign,
								JWTSIGN_FLIP_SIGNATURE)),
		   JWT_BAD_SIGNATURE);
	/* one bit of the payload ('}' becomes '|': not JSON either, yet the
	 * signature is what is reported, since it is checked first) */
	EXPECT(verify(k_hs, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &hs_sign,
								JWTSIGN_FLIP_PAYLOAD)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_rsa, jwtsign(H_RS, CLAIMS(""), JWTSIGN_RS256, &rs_sign,
								 JWTSIGN_FLIP_PAYLOAD)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_ec, jwtsign(H_ES, CLAIMS(""), JWTSIGN_ES256, &es_sign,
								JWTSIGN_FLIP_PAYLOAD)),
		   JWT_BAD_SIGNATURE);
	/* a claim that would be refused is not even looked at */
	EXPECT(verify(k_hs,
				  jwtsign(H_HS,
						  "{\"sub\":\"u1\",\"aud\":\"collab\","
						  "\"exp\":1}",
						  JWTSIGN_HS256, &hs_sign, JWTSIGN_FLIP_SIGNATURE)),
		   JWT_BAD_SIGNATURE);

	/* the wrong key of the right kind */
	EXPECT(verify(k_hs,
				  jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &hs_other, 0)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_rsa,
				  jwtsign(H_RS, CLAIMS(""), JWTSIGN_RS256, &rs_other, 0)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_ec,
				  jwtsign(H_ES, CLAIMS(""), JWTSIGN_ES256, &es_other, 0)),
		   JWT_BAD_SIGNATURE);

	/* lengths: ES256 must be r || s, 64 bytes; DER (70-72) is refused */
	EXPECT(verify(k_ec, jwtsign(H_ES, CLAIMS(""), JWTSIGN_ES256, &es_sign,
								JWTSIGN_TRUNCATE_SIGNATURE)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_ec, jwtsign(H_ES, CLAIMS(""), JWTSIGN_ES256, &es_sign,
								JWTSIGN_ES256_DER)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_hs, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &hs_sign,
								JWTSIGN_TRUNCATE_SIGNATURE)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_rsa, jwtsign(H_RS, CLAIMS(""), JWTSIGN_RS256, &rs_sign,
								 JWTSIGN_TRUNCATE_SIGNATURE)),
		   JWT_BAD_SIGNATURE);
	/* empty signatures */
	EXPECT(verify(k_hs, jwtsign(H_HS, CLAIMS(""), JWTSIGN_NONE, NULL, 0)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_rsa, jwtsign(H_RS, CLAIMS(""), JWTSIGN_NONE, NULL, 0)),
		   JWT_BAD_SIGNATURE);
	EXPECT(verify(k_ec, jwtsign(H_ES, CLAIMS(""), JWTSIGN_NONE, NULL, 0)),
		   JWT_BAD_SIGNATURE);
	/* r = s = 0, the right length */
	{
		char *h = jwtsign_b64url(H_ES, strlen(H_ES));
		char *p = jwtsign_b64url(CLAIMS(""), strlen(CLAIMS("")));
		unsigned char zero[64] = {0};
		char *s = jwtsign_b64url(zero, sizeof(zero));

		t = fmt("%s.%s.%s", h, p, s);
		EXPECT(verify(k_ec, t), JWT_BAD_SIGNATURE);
		free(h);
		free(p);
		free(s);
	}
	/* HS256 with a 64-byte "signature": the MAC twice */
	{
		char *good = hs(CLAIMS(""));
		char *dot = strrchr(good, '.');

		/* 43 characters of MAC: re-encoding 64 bytes needs the bytes */
		unsigned char mac2[64];
		unsigned int n = 0;
		char *input = fmt("%.*s", (int) (dot - good), good);

		HMAC(EVP_sha256(), secret, (int) sizeof(secret) - 1,
			 (const unsigned char *) input, strlen(input), mac2, &n);
		memcpy(mac2 + 32, mac2, 32);
		{
			char *s = jwtsign_b64url(mac2, 64);

			t = fmt("%s.%s", input, s);
			EXPECT(verify(k_hs, t), JWT_BAD_SIGNATURE);
			free(s);
		}
		free(input);
		free(good);
	}
}

/* --- time ---------------------------------------------------------------- */

static jwt_code
claims_at(const char *payload, const jwt_expect *w, int64_t t)
{
	return verify_at(k_hs, hs(payload), w, t, NULL);
}

static void
test_time(void)
{
	jwt_expect no_max = want;
	jwt_claims c;

	no_max.max_lifetime_s = 0;
	/* exp: now >= exp is expired, no leeway */
	EXPECT(claims_at(CLAIMS(""), &want, NOW + 600), JWT_EXPIRED);
	EXPECT(claims_at(CLAIMS(""), &want, NOW + 601), JWT_EXPIRED);
	EXPECT(claims_at(CLAIMS(""), &want, NOW + 100000), JWT_EXPIRED);
	EXPECT(claims_at(CLAIMS(""), &want, NOW + 599), JWT_OK);
	/* lapsed_s: a token expired less than that long ago verifies (the
	 * development login's renewal), one expired that long does not */
	{
		jwt_expect lapsed = want;

		lapsed.lapsed_s = 60;
		EXPECT(claims_at(CLAIMS(""), &lapsed, NOW + 600), JWT_OK);
		EXPECT(claims_at(CLAIMS(""), &lapsed, NOW + 659), JWT_OK);
		EXPECT(claims_at(CLAIMS(""), &lapsed, NOW + 660), JWT_EXPIRED);
		EXPECT(claims_at(CLAIMS(""), &lapsed, NOW + 100000), JWT_EXPIRED);
	}
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":-5}", &want,
					 NOW),
		   JWT_EXPIRED);
	/* a fraction counts against the token */
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\","
					 "\"exp\":1700000000.5}",
					 &want, NOW),
		   JWT_EXPIRED);
	EXPECT(verify_at(k_hs,
					 hs("{\"sub\":\"u1\",\"aud\":\"collab\","
						"\"exp\":1700000001.5}"),
					 &want, NOW, &c),
		   JWT_OK);
	CHECK(c.exp == NOW + 1);
	jwt_claims_clear(&c);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":1.7000006e9}",
					 &want, NOW),
		   JWT_OK);

	/* ... below zero too: -0.5 is -1, -1.5 is -2 */
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":-0.5}",
					 &no_max, -1),
		   JWT_EXPIRED);
	EXPECT(verify_at(k_hs,
					 hs("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":-1.5}"),
					 &no_max, -10, &c),
		   JWT_OK);
	CHECK(c.exp == -2);
	jwt_claims_clear(&c);

	/* exp: required, a number, in range */
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\"}", &want, NOW),
		   JWT_MALFORMED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":\"" EXP "\"}",
					 &want, NOW),
		   JWT_MALFORMED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":null}", &want,
					 NOW),
		   JWT_MALFORMED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":true}", &want,
					 NOW),
		   JWT_MALFORMED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\","
					 "\"exp\":9007199254740992}",
					 &no_max, NOW),
		   JWT_OK);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\","
					 "\"exp\":9007199254740993}",
					 &no_max, NOW),
		   JWT_MALFORMED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":1e300}",
					 &no_max, NOW),
		   JWT_MALFORMED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":-1e300}",
					 &no_max, NOW),
		   JWT_MALFORMED);

	/* nbf and iat, with 30 s of leeway */
	EXPECT(claims_at(CLAIMS(",\"nbf\":1700000030"), &want, NOW), JWT_OK);
	EXPECT(claims_at(CLAIMS(",\"nbf\":1700000031"), &want, NOW),
		   JWT_NOT_YET_VALID);
	EXPECT(claims_at(CLAIMS(",\"nbf\":1700000030.5"), &want, NOW),
		   JWT_NOT_YET_VALID);
	EXPECT(claims_at(CLAIMS(",\"nbf\":1699999000"), &want, NOW), JWT_OK);
	EXPECT(claims_at(CLAIMS(",\"iat\":1700000030"), &want, NOW), JWT_OK);
	EXPECT(claims_at(CLAIMS(",\"iat\":1700000031"), &want, NOW),
		   JWT_NOT_YET_VALID);
	EXPECT(claims_at(CLAIMS(",\"iat\":1699999999"), &want, NOW), JWT_OK);
	EXPECT(claims_at(CLAIMS(",\"nbf\":\"1699999000\""), &want, NOW),
		   JWT_MALFORMED);
	EXPECT(claims_at(CLAIMS(",\"iat\":{}"), &want, NOW), JWT_MALFORMED);
	{
		jwt_expect strict = want;

		strict.leeway_s = 0;
		EXPECT(claims_at(CLAIMS(",\"nbf\":1700000000"), &strict, NOW), JWT_OK);
		EXPECT(claims_at(CLAIMS(",\"nbf\":1700000001"), &strict, NOW),
			   JWT_NOT_YET_VALID);
		EXPECT(claims_at(CLAIMS(",\"iat\":1700000001"), &strict, NOW),
			   JWT_NOT_YET_VALID);
	}

	/* lifetime: exp at most max_lifetime_s ahead */
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":1700003600}",
					 &want, NOW),
		   JWT_OK);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":1700003601}",
					 &want, NOW),
		   JWT_TOO_LONG_LIVED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":1800000000}",
					 &want, NOW),
		   JWT_TOO_LONG_LIVED);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":1800000000}",
					 &no_max, NOW),
		   JWT_OK);
	/* ... counted from now, not from iat */
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":1700003600,"
					 "\"iat\":1600000000}",
					 &want, NOW),
		   JWT_OK);
}

/* --- audience, issuer, subject ------------------------------------------- */

static void
test_audience_issuer(void)
{
	jwt_expect with_iss = want;

	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"other\",\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"collab \",\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":\"Collab\",\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"exp\":" EXP "}", &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":[\"x\",\"collab\"],"
					 "\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_OK);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":[\"collab\"],\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_OK);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":[\"x\",\"y\"],\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":[],\"exp\":" EXP "}", &want,
					 NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":[\"collab\",7],\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":[[\"collab\"]],\"exp\":" EXP "}",
					 &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":7,\"exp\":" EXP "}", &want, NOW),
		   JWT_WRONG_AUDIENCE);
	EXPECT(claims_at("{\"sub\":\"u1\",\"aud\":null,\"exp\":" EXP "}", &want,
					 NOW),
		   JWT_WRONG_AUDIENCE);

	/* iss: checked only when an issuer is expected */
	with_iss.issuer = "https://idp.example";
	EXPECT(claims_at(CLAIMS(",\"iss\":\"https://idp.example\""), &with_iss,
					 NOW),
		   JWT_OK);
	EXPECT(claims_at(CLAIMS(",\"iss\":\"https://idp.example/\""), &with_iss,
					 NOW),
		   JWT_WRONG_ISSUER);
	EXPECT(claims_at(CLAIMS(""), &with_iss, NOW), JWT_WRONG_ISSUER);
	EXPECT(claims_at(CLAIMS(",\"iss\":7"), &with_iss, NOW), JWT_WRONG_ISSUER);
	EXPECT(claims_at(CLAIMS(",\"iss\":[\"https://idp.example\"]"), &with_iss,
					 NOW),
		   JWT_WRONG_ISSUER);
	EXPECT(claims_at(CLAIMS(",\"iss\":\"anyone\""), &want, NOW), JWT_OK);
	EXPECT(claims_at(CLAIMS(",\"iss\":7"), &want, NOW), JWT_OK);
}

static jwt_code
subject(const char *sub_json)
{
	char *payload =
		fmt("{\"sub\":%s,\"aud\":\"collab\",\"exp\":" EXP "}", sub_json);
	jwt_code code = verify(k_hs, hs_owned(payload));

	return code;
}

static void
test_subject(void)
{
	char *s128 = repeat('a', 128);
	char *q;
	jwt_claims c;

	EXPECT(claims_at("{\"aud\":\"collab\",\"exp\":" EXP "}", &want, NOW),
		   JWT_BAD_SUBJECT);
	EXPECT(subject("\"\""), JWT_BAD_SUBJECT);
	EXPECT(subject("7"), JWT_BAD_SUBJECT);
	EXPECT(subject("null"), JWT_BAD_SUBJECT);
	EXPECT(subject("[\"u1\"]"), JWT_BAD_SUBJECT);
	q = fmt("\"%s\"", s128);
	EXPECT(verify_at(k_hs,
					 hs_owned(fmt("{\"sub\":%s,\"aud\":\"collab\","
								  "\"exp\":" EXP "}",
								  q)),
					 &want, NOW, &c),
		   JWT_OK);
	CHECK(c.sub && strcmp(c.sub, s128) == 0);
	jwt_claims_clear(&c);
	free(q);
	q = fmt("\"%sa\"", s128);
	EXPECT(subject(q), JWT_BAD_SUBJECT);
	free(q);
	/* 128 bytes of UTF-8 (64 two-byte characters), then 130 */
	q = malloc(70 * 6);
	strcpy(q, "\"");
	for (int i = 0; i < 64; i++)
		strcat(q, "\\u00e9");
	strcat(q, "\"");
	EXPECT(subject(q), JWT_OK);
	q[strlen(q) - 1] = '\0';
	strcat(q, "\\u00e9\"");
	EXPECT(subject(q), JWT_BAD_SUBJECT);
	free(q);
	EXPECT(subject("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""), JWT_OK);
	/* control characters */
	EXPECT(subject("\"a\\u0001b\""), JWT_BAD_SUBJECT);
	EXPECT(subject("\"a\\nb\""), JWT_BAD_SUBJECT);
	EXPECT(subject("\"a\\tb\""), JWT_BAD_SUBJECT);
	EXPECT(subject("\"a\\u001f\""), JWT_BAD_SUBJECT);
	EXPECT(subject("\"a\\u007f\""), JWT_BAD_SUBJECT);
	EXPECT(subject("\"a\x7f\""), JWT_BAD_SUBJECT);
	EXPECT(subject("\" \""), JWT_OK);
	/* what is not UTF-8, or NUL, never gets past the parser */
	EXPECT(subject("\"a\\u0000b\""), JWT_MALFORMED);
	EXPECT(subject("\"a\xc3\""), JWT_MALFORMED);
	EXPECT(subject("\"a\xff\""), JWT_MALFORMED);
	EXPECT(subject("\"\xc0\xaf\""), JWT_MALFORMED);
	EXPECT(subject("\"\\ud800\""), JWT_MALFORMED);
	EXPECT(subject("\"\xed\xa0\x80\""), JWT_MALFORMED);
	free(s128);
}

/* --- syntax -------------------------------------------------------------- */

/* TOKEN (freed) with the PART-th part (0, 1, 2) replaced by WITH. */
static char *
with_part(char *token, int part, const char *with)
{
	char *parts[3];
	char *save = NULL;
	char *out;

	parts[0] = strtok_r(token, ".", &save);
	parts[1] = strtok_r(NULL, ".", &save);
	parts[2] = strtok_r(NULL, ".", &save);
	parts[part] = (char *) with;
	out = fmt("%s.%s.%s", parts[0], parts[1], parts[2] ? parts[2] : "");
	free(token);
	return out;
}

static void
test_syntax(void)
{
	char *good = hs(CLAIMS(""));
	char *sig = strrchr(good, '.') + 1;
	size_t sig_len = strlen(sig);
	char *t;

	CHECK(sig_len == 43); /* 32 bytes: 2 bits left over */

	/* padding, as base64 (not base64url) would have it */
	EXPECT(verify(k_hs, fmt("%s=", good)), JWT_MALFORMED);
	EXPECT(verify(k_hs, fmt("%s==", good)), JWT_MALFORMED);
	/* characters outside the URL alphabet, even where they would decode */
	t = strdup(good);
	t[strlen(t) - 5] = '+';
	EXPECT(verify(k_hs, t), JWT_MALFORMED);
	t = strdup(good);
	t[strlen(t) - 5] = '/';
	EXPECT(verify(k_hs, t), JWT_MALFORMED);
	t = strdup(good);
	t[3] = ' ';
	EXPECT(verify(k_hs, t), JWT_MALFORMED);
	t = strdup(good);
	t[3] = '\0';
	EXPECT(verify_len(k_hs, t, strlen(good), &want, NOW, NULL), JWT_MALFORMED);
	free(t);
	/* a part of 4k + 1 characters */
	t = with_part(strdup(good), 2, "AAAAA");
	EXPECT(verify(k_hs, t), JWT_MALFORMED);
	/* non-canonical: the bits after the last byte are not zero */
	t = strdup(good);
	{
		static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
									   "klmnopqrstuvwxyz0123456789-_";
		char *last = t + strlen(t) - 1;
		long v = strchr(alphabet, *last) - alphabet;

		CHECK(v % 4 == 0);
		*last = alphabet[v + 1];
	}
	EXPECT(verify(k_hs, t), JWT_MALFORMED);

	/* two parts, four, none, empty ones */
	t = strdup(good);
	*strrchr(t, '.') = '\0';
	EXPECT(verify(k_hs, t), JWT_MALFORMED);
	EXPECT(verify(k_hs, fmt("%s.", good)), JWT_MALFORMED);
	EXPECT(verify(k_hs, fmt("%s.AAAA", good)), JWT_MALFORMED);
	EXPECT(verify(k_hs, strdup("")), JWT_MALFORMED);
	EXPECT(verify(k_hs, strdup("..")), JWT_MALFORMED);
	EXPECT(verify(k_hs, strdup("...")), JWT_MALFORMED);
	EXPECT(verify(k_hs, strdup("abc")), JWT_MALFORMED);
	EXPECT(verify(k_hs, with_part(strdup(good), 0, "")), JWT_MALFORMED);

	/* the header and payload must be JSON objects, without duplicates */
	EXPECT(verify(k_hs, jwtsign("[\"HS256\"]", CLAIMS(""), JWTSIGN_HS256,
								&hs_sign, 0)),
		   JWT_MALFORMED);
	EXPECT(verify(k_hs, jwtsign("\"HS256\"", CLAIMS(""), JWTSIGN_HS256,
								&hs_sign, 0)),
		   JWT_MALFORMED);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256\"", CLAIMS(""),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_MALFORMED);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
								CLAIMS(""), JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_MALFORMED);
	CHECK(strstr(err.message, "duplicate") != NULL);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"none\",\"alg\":\"HS256\"}",
								CLAIMS(""), JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_MALFORMED);
	EXPECT(verify(k_hs, hs("[1]")), JWT_MALFORMED);
	EXPECT(verify(k_hs, hs("")), JWT_MALFORMED);
	EXPECT(verify(k_hs, hs(CLAIMS("") " x")), JWT_MALFORMED);
	EXPECT(verify(k_hs, hs("{\"sub\":\"u1\",\"sub\":\"admin\",\"aud\":"
						   "\"collab\",\"exp\":" EXP "}")),
		   JWT_MALFORMED);
	CHECK(strstr(err.message, "duplicate") != NULL);
	EXPECT(verify(k_hs, hs(CLAIMS(",\"collab\":{\"read\":[\"a\"],"
								  "\"read\":[\"b\"]}"))),
		   JWT_MALFORMED);

	/* crit: no extension is understood */
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
								CLAIMS(""), JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_MALFORMED);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256\",\"crit\":[\"b64\"],"
								"\"b64\":false}",
								CLAIMS(""), JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_MALFORMED);
	EXPECT(verify(k_hs, jwtsign("{\"alg\":\"HS256\",\"crit\":[]}", CLAIMS(""),
								JWTSIGN_HS256, &hs_sign, 0)),
		   JWT_MALFORMED);
	free(good);
}

/* The longest token is JWT_TOKEN_MAX bytes: one of exactly that length
 * passes, one byte more does not. */
static void
test_token_length(void)
{
	char *at_max = NULL, *over = NULL;

	for (size_t pad = 6000; pad < 6200 && !(at_max && over); pad++)
	{
		char *filler = repeat('x', pad);
		char *t = hs_owned(fmt(CLAIMS(",\"pad\":\"%s\""), filler));

		free(filler);
		if (strlen(t) == JWT_TOKEN_MAX && !at_max)
			at_max = t;
		else if (strlen(t) == JWT_TOKEN_MAX + 1 && !over)
			over = t;
		else
			free(t);
	}
	CHECK(at_max && over);
	if (!at_max || !over)
		return;
	EXPECT(verify(k_hs, at_max), JWT_OK);
	EXPECT(verify(k_hs, over), JWT_MALFORMED);
	CHECK(strstr(err.message, "8192") != NULL);
}

/* No message quotes what the token says. */
static void
test_messages(void)
{
	jwt_expect w = want;
	const char *payloads[] =
		{"{\"sub\":\"MARKER\",\"aud\":\"MARKER\",\"exp\":" EXP "}",
		 "{\"sub\":\"MARKER\\u0001\",\"aud\":\"collab\",\"exp\":" EXP "}",
		 "{\"sub\":\"u1\",\"aud\":\"collab\",\"iss\":\"MARKER\",\"exp\":" EXP
		 "}",
		 CLAIMS(",\"collab\":{\"MARKER\":[]}"),
		 CLAIMS(",\"collab\":{\"read\":\"MARKER\"}"),
		 "{\"sub\":\"u1\",\"aud\":\"collab\",\"exp\":\"MARKER\"}",
		 "{\"MARKER\" \"MARKER\"}",
		 "MARKER"};

	w.issuer = "issuer";
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
	{
		CHECK(verify_at(k_hs, hs(payloads[i]), &w, NOW, NULL) != JWT_OK);
		CHECK_MSG(!strstr(err.message, "MARKER"), "%s", err.message);
	}
	CHECK(verify(k_hs, jwtsign("{\"alg\":\"MARKER\"}", CLAIMS(""),
							   JWTSIGN_HS256, &hs_sign, 0)) == JWT_BAD_ALG);
	CHECK_MSG(!strstr(err.message, "MARKER"), "%s", err.message);
	CHECK(verify(k_hs, jwtsign("{\"alg\":\"HS256\",\"MARKER\":}", CLAIMS(""),
							   JWTSIGN_HS256, &hs_sign, 0)) == JWT_MALFORMED);
	CHECK_MSG(!strstr(err.message, "MARKER"), "%s", err.message);
}

/* --- rights -------------------------------------------------------------- */

/* Verifies an HS256 token whose collab claim is RIGHTS (JSON text), the
 * claims into C when accepted. */
static jwt_code
with_rights(const char *rights, jwt_claims *c)
{
	char *payload = fmt(CLAIMS(",\"collab\":%s"), rights);

	return verify_at(k_hs, hs_owned(payload), &want, NOW, c);
}

static jwt_right
right(const jwt_claims *c, const char *doc)
{
	return jwt_right_for(c, doc, strlen(doc));
}

static void
test_rights_match(void)
{
	jwt_claims c;

	EXPECT(with_rights("{\"read\":[\"doc1\",\"a/*\",\"a*\"],"
					   "\"write\":[\"team-7/*\"],"
					   "\"create\":[\"mine/*\",\"doc1/*\"]}",
					   &c),
		   JWT_OK);
	CHECK(c.ngrants == 6);
	/* exact */
	CHECK(right(&c, "doc1") == JWT_READ);
	CHECK(right(&c, "doc10") == JWT_NONE);
	CHECK(right(&c, "doc") == JWT_NONE);
	CHECK(right(&c, "Doc1") == JWT_NONE);
	CHECK(jwt_right_for(&c, "doc1xyz", 4) == JWT_READ); /* not NUL-ended */
	CHECK(jwt_right_for(&c, "doc1", 3) == JWT_NONE);
	/* prefixes */
	CHECK(right(&c, "a") == JWT_NONE);
	CHECK(right(&c, "a/") == JWT_NONE);
	CHECK(right(&c, "a/b") == JWT_READ);
	CHECK(right(&c, "a/b/c") == JWT_READ);
	CHECK(right(&c, "ab/x") == JWT_NONE);
	CHECK(right(&c, "team-7/x") == JWT_WRITE);
	CHECK(right(&c, "team-7/a/b") == JWT_WRITE);
	CHECK(right(&c, "team-7") == JWT_NONE);
	CHECK(right(&c, "team-70/x") == JWT_NONE);
	CHECK(right(&c, "team-7x") == JWT_NONE);
	CHECK(right(&c, "xteam-7/x") == JWT_NONE);
	/* a "*" elsewhere is an ordinary byte */
	CHECK(right(&c, "a*") == JWT_READ);
	CHECK(right(&c, "ab") == JWT_NONE);
	/* the highest level any pattern grants */
	CHECK(right(&c, "mine/x") == JWT_CREATE);
	CHECK(right(&c, "doc1/x") == JWT_CREATE);
	CHECK(right(&c, "") == JWT_NONE);
	CHECK(jwt_right_for(&c, "doc1", 0) == JWT_NONE);
	jwt_claims_clear(&c);

	/* "*": every document */
	EXPECT(with_rights("{\"read\":[\"*\"],\"write\":[\"w/*\"]}", &c), JWT_OK);
	CHECK(right(&c, "anything") == JWT_READ);
	CHECK(right(&c, "*") == JWT_READ);
	CHECK(right(&c, "w/1") == JWT_WRITE);
	CHECK(right(&c, "") == JWT_NONE);
	jwt_claims_clear(&c);
	EXPECT(with_rights("{\"create\":[\"*\"],\"read\":[\"x\"]}", &c), JWT_OK);
	CHECK(right(&c, "x") == JWT_CREATE);
	CHECK(right(&c, "y") == JWT_CREATE);
	jwt_claims_clear(&c);
	/* a slash and a star: every id under "/" */
	EXPECT(with_rights("{\"write\":[\"/*\"]}", &c), JWT_OK);
	CHECK(right(&c, "/x") == JWT_WRITE);
	CHECK(right(&c, "/") == JWT_NONE);
	CHECK(right(&c, "x/y") == JWT_NONE);
	jwt_claims_clear(&c);

	/* levels: create implies write implies read, in the enum's order */
	CHECK(JWT_NONE < JWT_READ && JWT_READ < JWT_WRITE &&
		  JWT_WRITE < JWT_CREATE);
	EXPECT(with_rights("{\"read\":[\"r\",\"w\",\"c\"],\"write\":[\"w\","
					   "\"c\"],\"create\":[\"c\"]}",
					   &c),
		   JWT_OK);
	CHECK(right(&c, "r") == JWT_READ);
	CHECK(right(&c, "w") == JWT_WRITE);
	CHECK(right(&c, "c") == JWT_CREATE);
	jwt_claims_clear(&c);
	EXPECT(with_rights("{\"create\":[\"c\"],\"write\":[\"c\"],\"read\":[\"c\"]"
					   "}",
					   &c),
		   JWT_OK);
	CHECK(right(&c, "c") == JWT_CREATE);
	jwt_claims_clear(&c);

	/* no rights */
	EXPECT(with_rights("{}", &c), JWT_OK);
	CHECK(c.ngrants == 0 && right(&c, "x") == JWT_NONE);
	jwt_claims_clear(&c);
	EXPECT(with_rights("{\"read\":[],\"write\":[],\"create\":[]}", &c),
		   JWT_OK);
	CHECK(c.ngrants == 0 && right(&c, "x") == JWT_NONE);
	jwt_claims_clear(&c);
}

static void
test_rights_malformed(void)
{
	jwt_claims c;
	char *p200 = repeat('p', 200);
	char *q;

	EXPECT(with_rights("null", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("\"*\"", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("[\"*\"]", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("true", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":\"*\"}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":null}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":{\"x\":1}}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":[1]}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":[\"a\",null]}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":[[\"a\"]]}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":[\"\"]}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"admin\":[\"*\"]}", NULL), JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"read\":[\"a\"],\"Write\":[\"a\"]}", NULL),
		   JWT_BAD_RIGHTS);
	EXPECT(with_rights("{\"delete\":[]}", NULL), JWT_BAD_RIGHTS);
	/* 200 bytes, then 201 */
	q = fmt("{\"read\":[\"%s\"]}", p200);
	EXPECT(with_rights(q, &c), JWT_OK);
	CHECK(c.ngrants == 1 && c.grants[0].len == 200 &&
		  strcmp(c.grants[0].pattern, p200) == 0);
	CHECK(right(&c, p200) == JWT_READ);
	jwt_claims_clear(&c);
	free(q);
	q = fmt("{\"read\":[\"%sp\"]}", p200);
	EXPECT(with_rights(q, NULL), JWT_BAD_RIGHTS);
	free(q);
	free(p200);

	/* 256 patterns in all, then 257 */
	for (int n = 256; n <= 257; n++)
	{
		size_t cap = (size_t) n * 16 + 64;
		char *r = malloc(cap);
		size_t at = 0;
		const char *names[] = {"read", "write", "create"};
		int made = 0;

		at += (size_t) snprintf(r + at, cap - at, "{");
		for (int k = 0; k < 3; k++)
		{
			int here = k < 2 ? 100 : n - 200;

			at += (size_t) snprintf(r + at, cap - at, "%s\"%s\":[",
									k ? "," : "", names[k]);
			for (int i = 0; i < here; i++, made++)
				at += (size_t) snprintf(r + at, cap - at, "%s\"d%d\"",
										i ? "," : "", made);
			at += (size_t) snprintf(r + at, cap - at, "]");
		}
		snprintf(r + at, cap - at, "}");
		if (n == 256)
		{
			EXPECT(with_rights(r, &c), JWT_OK);
			CHECK(c.ngrants == 256);
			CHECK(right(&c, "d0") == JWT_READ &&
				  right(&c, "d150") == JWT_WRITE &&
				  right(&c, "d255") == JWT_CREATE);
			jwt_claims_clear(&c);
		}
		else
			EXPECT(with_rights(r, NULL), JWT_BAD_RIGHTS);
		free(r);
	}
}

/* --- keys ---------------------------------------------------------------- */

static void
test_keys(void)
{
	char *s31 = repeat('s', 31);
	char *s32 = repeat('s', 32);
	char *s4096 = repeat('s', 4096);
	char *path;
	jwt_keys *keys;
	jwtsign_key k32 = {s32, 32, NULL};
	jwtsign_key k32nl = {NULL, 33, NULL};
	char *s32nl;

	EXPECT(load_code(NULL, NULL), JWT_KEY);

	/* the secret: at least 32 bytes once one newline is stripped */
	path = write_file("s31", s31, 31);
	EXPECT(load_code(path, NULL), JWT_KEY);
	free(path);
	s32nl = fmt("%.31s\n", s32);
	path = write_file("s31nl", s32nl, 32);
	EXPECT(load_code(path, NULL), JWT_KEY);
	free(path);
	free(s32nl);
	path = write_file("empty", "", 0);
	EXPECT(load_code(path, NULL), JWT_KEY);
	free(path);
	path = write_file("s32", s32, 32);
	EXPECT(load_code(path, NULL), JWT_OK);
	free(path);
	/* a PEM key given as the secret (a public key would let anyone sign) */
	{
		const char *pem =
			"-----BEGIN PUBLIC KEY-----\n"
			"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexampleexample\n"
			"-----END PUBLIC KEY-----\n";

		path = write_file("pem-secret", pem, strlen(pem));
		EXPECT(load_code(path, NULL), JWT_KEY);
		free(path);
	}
	s32nl = fmt("%s\r\n", s32);
	path = write_file("s32crlf", s32nl, 34);
	keys = load(path, NULL);
	EXPECT(verify(keys, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &k32, 0)),
		   JWT_OK);
	jwt_keys_free(keys);
	free(path);
	free(s32nl);
	/* one newline only: the second is part of the secret */
	s32nl = fmt("%s\n\n", s32);
	path = write_file("s32nlnl", s32nl, 34);
	keys = load(path, NULL);
	EXPECT(verify(keys, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &k32, 0)),
		   JWT_BAD_SIGNATURE);
	k32nl.secret = s32nl;
	EXPECT(verify(keys, jwtsign(H_HS, CLAIMS(""), JWTSIGN_HS256, &k32nl, 0)),
		   JWT_OK);
	jwt_keys_free(keys);
	free(path);
	free(s32nl);
	/* at most 4096 bytes */
	path = write_file("s4096", s4096, 4096);
	EXPECT(load_code(path, NULL), JWT_OK);
	free(path);
	s32nl = fmt("%s\r\n", s4096);
	path = write_file("s4096crlf", s32nl, 4098);
	EXPECT(load_code(path, NULL), JWT_OK);
	free(path);
	free(s32nl);
	s32nl = fmt("%ss", s4096);
	path = write_file("s4097", s32nl, 4097);
	EXPECT(load_code(path, NULL), JWT_KEY);
	free(path);
	free(s32nl);
	path = fmt("%s/missing", dir);
	EXPECT(load_code(path, NULL), JWT_KEY);
	CHECK(strstr(err.message, path) != NULL);
	EXPECT(load_code(NULL, path), JWT_KEY);
	EXPECT(load_code(secret_path, path), JWT_KEY);
	free(path);

	/* public keys of the wrong kind or size */
	{
		EVP_PKEY *rsa1024 =
			EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
		EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		EVP_PKEY *secp256k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
		EVP_PKEY *ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		EVP_PKEY *pss = rsa_pss_key();
		EVP_PKEY *wrong[] = {rsa1024, p384, secp256k1, ed25519, pss};
		const char *names[] = {"rsa1024", "p384", "secp256k1", "ed25519",
							   "pss"};
		BIO *bio;

		for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		{
			CHECK(wrong[i] != NULL);
			if (!wrong[i])
				continue;
			path = write_public(names[i], wrong[i]);
			EXPECT(load_code(NULL, path), JWT_KEY);
			EXPECT(load_code(secret_path, path), JWT_KEY);
			free(path);
			EVP_PKEY_free(wrong[i]);
		}
		/* a private key is not a public key */
		path = file_path("private.pem");
		bio = BIO_new_file(path, "w");
		CHECK(bio && PEM_write_bio_PrivateKey(bio, ec_key, NULL, NULL, 0, NULL,
											  NULL) == 1);
		BIO_free(bio);
		EXPECT(load_code(NULL, path), JWT_KEY);
		free(path);
	}
	path = write_file("garbage.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n", 32);
	EXPECT(load_code(NULL, path), JWT_KEY);
	free(path);
	path = write_file("empty.pem", "", 0);
	EXPECT(load_code(NULL, path), JWT_KEY);
	free(path);
	/* the secret is not a key file, nor a key file a secret: a public
	 * key as the HS256 secret would let anyone who has it sign tokens */
	EXPECT(load_code(NULL, secret_path), JWT_KEY);
	EXPECT(load_code(rsa_path, NULL), JWT_KEY);
	free(s31);
	free(s32);
	free(s4096);
}

/* --- signing ------------------------------------------------------------- */

static void
test_sign(void)
{
	static const char payload[] =
		CLAIMS(",\"collab\":{\"write\":[\"team/*\"]}");
	char *token = jwt_sign_hs256(k_hs, payload, &err);
	char *theirs = jwtsign(H_HS, payload, JWTSIGN_HS256, &hs_sign, 0);
	jwt_claims c;
	char *big;

	CHECK(token != NULL && err.code == JWT_OK);
	if (!token)
		return;
	/* two encoders written apart agree */
	CHECK(theirs && strcmp(token, theirs) == 0);
	free(theirs);
	EXPECT(verify_at(k_hs, token, &want, NOW, &c), JWT_OK);
	CHECK(c.sub && strcmp(c.sub, "u1") == 0 && c.exp == NOW + 600);
	CHECK(right(&c, "team/x") == JWT_WRITE);
	jwt_claims_clear(&c);
	/* and with the secret among other keys */
	token = jwt_sign_hs256(k_hs_rsa, CLAIMS(""), &err);
	EXPECT(verify(k_hs_rsa, token), JWT_OK);

	/* refused */
	CHECK(jwt_sign_hs256(k_rsa, CLAIMS(""), &err) == NULL &&
		  err.code == JWT_KEY);
	CHECK(jwt_sign_hs256(k_hs, "[1]", &err) == NULL &&
		  err.code == JWT_MALFORMED);
	CHECK(jwt_sign_hs256(k_hs, "not json", &err) == NULL &&
		  err.code == JWT_MALFORMED);
	CHECK(jwt_sign_hs256(k_hs, "{\"a\":1,\"a\":2}", &err) == NULL &&
		  err.code == JWT_MALFORMED);
	CHECK(jwt_sign_hs256(k_hs, "", &err) == NULL && err.code == JWT_MALFORMED);
	token = jwt_sign_hs256(k_hs, "{}", NULL);
	CHECK(token && verify(k_hs, token) == JWT_MALFORMED); /* no exp */
	/* a token it could not verify is not made */
	big = repeat('x', 6200);
	{
		char *p = fmt("{\"x\":\"%s\"}", big);

		CHECK(jwt_sign_hs256(k_hs, p, &err) == NULL &&
			  err.code == JWT_MALFORMED);
		free(p);
	}
	free(big);
}

/* --- allocation failures ------------------------------------------------- */

typedef bool (*scenario)(jwt_code *code);

static bool
run_verify(const jwt_keys *keys, const char *token, jwt_code *code)
{
	jwt_claims c;
	jwt_error e;
	bool ok = jwt_verify(keys, token, strlen(token), &want, NOW, &c, &e);

	*code = ok ? JWT_OK : e.code;
	jwt_claims_clear(&c);
	return ok;
}

static char *fault_tokens[6]; /* HS256, RS256, ES256, then broken ones */

static bool
s_hs(jwt_code *code)
{
	return run_verify(k_hs_rsa, fault_tokens[0], code);
}

static bool
s_rs(jwt_code *code)
{
	return run_verify(k_hs_rsa, fault_tokens[1], code);
}

static bool
s_es(jwt_code *code)
{
	return run_verify(k_ec, fault_tokens[2], code);
}

static bool
s_load(jwt_code *code)
{
	jwt_error e;
	jwt_keys *keys = jwt_keys_load(secret_path, rsa_path, &e);

	*code = keys ? JWT_OK : e.code;
	jwt_keys_free(keys);
	return keys != NULL;
}

static bool
s_load_ec(jwt_code *code)
{
	jwt_error e;
	jwt_keys *keys = jwt_keys_load(NULL, ec_path, &e);

	*code = keys ? JWT_OK : e.code;
	jwt_keys_free(keys);
	return keys != NULL;
}

static bool
s_sign(jwt_code *code)
{
	jwt_error e;
	char *token = jwt_sign_hs256(k_hs, CLAIMS(""), &e);

	*code = token ? JWT_OK : e.code;
	free(token);
	return token != NULL;
}

/*
 * Runs RUN with the n-th allocation failing, for n = 0, 1, ... until one
 * run meets no failure.  GOOD tells whether RUN should succeed; when it
 * should not, no failure may let it through.  When it should, a failure in
 * jwt.c must be reported as JWT_NO_MEMORY; one in jansson as JWT_NO_MEMORY
 * or JWT_MALFORMED (its lexer reports a failed allocation as bad syntax);
 * one inside OpenSSL refuses with any code or is recovered from.  The
 * sanitizers see that every path frees what it took.
 */
static void
under_faults(const char *what, scenario run, bool good)
{
	long n;
	int seen[4] = {0};

	for (n = 0; n < 100000; n++)
	{
		jwt_code code = JWT_OK;
		bool ok;
		int where;

		fault.countdown = n;
		fault.where = FAULT_NONE;
		ok = run(&code);
		where = fault.where;
		fault.countdown = -1;
		seen[where]++;
		if (where == FAULT_NONE)
		{
			CHECK_MSG(ok == good, "%s: %s without a failure", what,
					  code_name(code));
			break;
		}
		if (!good)
			CHECK_MSG(!ok, "%s passed with allocation %ld failing", what, n);
		else if (where == FAULT_OURS)
			CHECK_MSG(!ok && code == JWT_NO_MEMORY,
					  "%s: allocation %ld failing in jwt.c gave %s", what, n,
					  code_name(code));
		else if (where == FAULT_JANSSON)
			CHECK_MSG(!ok && (code == JWT_NO_MEMORY || code == JWT_MALFORMED),
					  "%s: allocation %ld failing in jansson gave %s", what, n,
					  code_name(code));
	}
	CHECK_MSG(n > 0 && n < 100000, "%s: %ld allocations", what, n);
	printf("  %s: %ld allocations failed in turn (jwt.c %d, jansson %d, "
		   "openssl %d)\n",
		   what, n, seen[FAULT_OURS], seen[FAULT_JANSSON],
		   seen[FAULT_OPENSSL]);
}

static bool
s_hs_bad(jwt_code *code)
{
	return run_verify(k_hs_rsa, fault_tokens[3], code);
}

static bool
s_rs_bad(jwt_code *code)
{
	return run_verify(k_hs_rsa, fault_tokens[4], code);
}

static bool
s_es_bad(jwt_code *code)
{
	return run_verify(k_ec, fault_tokens[5], code);
}

static void
test_allocation_failures(void)
{
	const char *rights =
		CLAIMS(",\"collab\":{\"read\":[\"a\",\"b/*\"],\"create\":[\"*\"]}");

	fault_tokens[0] = hs(rights);
	fault_tokens[1] = rs(rights);
	fault_tokens[2] = es(rights);
	fault_tokens[3] =
		jwtsign(H_HS, rights, JWTSIGN_HS256, &hs_sign, JWTSIGN_FLIP_SIGNATURE);
	fault_tokens[4] =
		jwtsign(H_RS, rights, JWTSIGN_RS256, &rs_sign, JWTSIGN_FLIP_SIGNATURE);
	fault_tokens[5] =
		jwtsign(H_ES, rights, JWTSIGN_ES256, &es_sign, JWTSIGN_FLIP_SIGNATURE);
	under_faults("verify hs256", s_hs, true);
	under_faults("verify rs256", s_rs, true);
	under_faults("verify es256", s_es, true);
	under_faults("verify a broken hs256", s_hs_bad, false);
	under_faults("verify a broken rs256", s_rs_bad, false);
	under_faults("verify a broken es256", s_es_bad, false);
	under_faults("load a secret and an rsa key", s_load, true);
	under_faults("load an ec key", s_load_ec, true);
	under_faults("sign", s_sign, true);
	for (int i = 0; i < 6; i++)
		free(fault_tokens[i]);
}

/* --- main ---------------------------------------------------------------- */

int
main(void)
{
	/* before OpenSSL allocates anything */
	if (!CRYPTO_set_mem_functions(openssl_malloc, openssl_realloc,
								  openssl_free))
	{
		fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
		return 2;
	}
	json_set_alloc_funcs(jansson_malloc, free);
	if (!mkdtemp(dir))
	{
		perror("mkdtemp");
		return 2;
	}
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
	rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!rsa_key || !rsa_other || !ec_key || !ec_other)
	{
		fprintf(stderr, "cannot make keys\n");
		return 2;
	}
	rs_sign.pkey = rsa_key;
	es_sign.pkey = ec_key;
	{
		char *with_nl = fmt("%s\n", secret);

		secret_path = write_file("secret", with_nl, strlen(with_nl));
		free(with_nl);
	}
	rsa_path = write_public("rsa.pem", rsa_key);
	ec_path = write_public("ec.pem", ec_key);
	k_hs = load(secret_path, NULL);
	k_rsa = load(NULL, rsa_path);
	k_ec = load(NULL, ec_path);
	k_hs_rsa = load(secret_path, rsa_path);
	k_hs_ec = load(secret_path, ec_path);

	test_valid();
	test_alg();
	test_confusion();
	test_signatures();
	test_time();
	test_audience_issuer();
	test_subject();
	test_syntax();
	test_token_length();
	test_messages();
	test_rights_match();
	test_rights_malformed();
	test_keys();
	test_sign();
	test_allocation_failures();

	jwt_keys_free(k_hs);
	jwt_keys_free(k_rsa);
	jwt_keys_free(k_ec);
	jwt_keys_free(k_hs_rsa);
	jwt_keys_free(k_hs_ec);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_other);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec_other);
	free(secret_path);
	free(rsa_path);
	free(ec_path);
	for (int i = 0; i < nfiles; i++)
	{
		unlink(files[i]);
		free(files[i]);
	}
	if (rmdir(dir) != 0)
		perror(dir);
	return check_summary("jwt");
}
