/*
 * jwt.c — verifying signed tokens and reading their rights (see jwt.h).
 *
 * The three parts of a token are decoded into one buffer on the stack:
 * together they are at most JWT_TOKEN_MAX base64url characters, so at most
 * DECODED_MAX bytes.  Verifying allocates only inside jansson and OpenSSL,
 * and for the claims it hands back.  The signature is checked over the
 * parts as they were sent, before the payload is parsed.
 */
#include "jwt.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The algs a key can serve; ALG_NONE is no alg at all. */
typedef enum jwt_alg {
	ALG_NONE,
	ALG_HS256,
	ALG_RS256,
	ALG_ES256
} jwt_alg;

struct jwt_keys {
	unsigned char *secret; /* HS256's, secret_len bytes; NULL: none */
	size_t secret_len;
	EVP_PKEY *pub;	 /* the public key, or NULL */
	jwt_alg pub_alg; /* with pub: ALG_RS256 or ALG_ES256 */
};

#define HS256_BYTES 32 /* an HMAC-SHA256 */
#define ES256_HALF 32  /* r, then s, big-endian, zero-padded */
#define DECODED_MAX (JWT_TOKEN_MAX / 4 * 3)

static bool fail(jwt_error *err, jwt_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fills ERR (which may be NULL); returns false. */
static bool
fail(jwt_error *err, jwt_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return false;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

static void
succeed(jwt_error *err)
{
	if (err)
	{
		err->code = JWT_OK;
		err->message[0] = '\0';
	}
}

/* --- base64url (RFC 4648 section 5, without padding) -------------------- */

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Characters encoding N bytes. */
#define B64URL_LEN(n) (((n) *4 + 2) / 3)

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decodes IN[0..N) into OUT (room for N * 3 / 4 bytes) and sets *OUT_LEN.
 * False unless IN is the one canonical encoding of its bytes: URL alphabet
 * only, no padding, no length of the form 4k + 1, and the bits left over
 * after the last byte zero.
 */
static bool
b64url_decode(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		int v = b64url_value((unsigned char) in[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[o++] = (unsigned char) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return false;
	*out_len = o;
	return true;
}

/* Encodes IN[0..N) into OUT (B64URL_LEN(N) characters, no NUL); returns
 * the characters written. */
static size_t
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
	{
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6)
		{
			bits -= 6;
			out[o++] = b64url_alphabet[(acc >> bits) & 63];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b64url_alphabet[(acc << (6 - bits)) & 63];
	return o;
}

/* --- keys ---------------------------------------------------------------- */

/* Reads the HS256 secret from PATH into KEYS. */
static bool
load_secret(jwt_keys *keys, const char *path, jwt_error *err)
{
	/* room for a newline ("\r\n") and one byte too many */
	unsigned char buf[JWT_SECRET_MAX + 3];
	FILE *f = fopen(path, "rb");
	size_t n;
	bool read_ok;
	bool ok = false;

	if (!f)
		return fail(err, JWT_KEY, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	read_ok = !ferror(f);
	fclose(f);
	if (n > 0 && buf[n - 1] == '\n')
	{
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (!read_ok)
		fail(err, JWT_KEY, "%s: cannot read the hs256 secret", path);
	else if (n < JWT_SECRET_MIN)
		fail(err, JWT_KEY, "%s: an hs256 secret needs at least %d bytes", path,
			 JWT_SECRET_MIN);
	else if (n > JWT_SECRET_MAX)
		fail(err, JWT_KEY, "%s: an hs256 secret has at most %d bytes", path,
			 JWT_SECRET_MAX);
	else if (n >= 10 && memcmp(buf, "-----BEGIN", 10) == 0)
		/* a key file given as the secret: anyone holding the public key
		 * could then sign HS256 tokens (algorithm confusion, by mistake) */
		fail(err, JWT_KEY,
			 "%s: a PEM key is not an hs256 secret (a public key here would "
			 "let anyone sign tokens)",
			 path);
	else if (!(keys->secret = malloc(n)))
		fail(err, JWT_NO_MEMORY, "out of memory loading the hs256 secret");
	else
	{
		memcpy(keys->secret, buf, n);
		keys->secret_len = n;
		ok = true;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

/* Whether PKEY (an EC key) is on P-256, named as such. */
static bool
is_p256(const EVP_PKEY *pkey)
{
	char name[80];
	size_t len = 0;

	if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1)
	{
		ERR_clear_error();
		return false;
	}
	return OBJ_txt2nid(name) == NID_X9_62_prime256v1;
}

/* Reads the public key from PATH into KEYS, with the one alg it serves. */
static bool
load_public_key(jwt_keys *keys, const char *path, jwt_error *err)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *pkey;

	if (!bio)
	{
		int e = errno;

		ERR_clear_error();
		return fail(err, JWT_KEY, "%s: %s", path, strerror(e));
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!pkey)
	{
		ERR_clear_error();
		return fail(err, JWT_KEY,
					"%s: no pem public key (BEGIN PUBLIC KEY) in it", path);
	}
	if (EVP_PKEY_is_a(pkey, "RSA"))
	{
		int bits = EVP_PKEY_get_bits(pkey);

		if (bits < JWT_RSA_BITS_MIN)
		{
			EVP_PKEY_free(pkey);
			return fail(err, JWT_KEY,
						"%s: an rsa key of %d bits, fewer than %d", path, bits,
						JWT_RSA_BITS_MIN);
		}
		keys->pub_alg = ALG_RS256;
	}
	else if (EVP_PKEY_is_a(pkey, "EC") && is_p256(pkey))
		keys->pub_alg = ALG_ES256;
	else
	{
		EVP_PKEY_free(pkey);
		return fail(err, JWT_KEY,
					"%s: neither an rsa key nor an ec key on p-256", path);
	}
	keys->pub = pkey;
	return true;
}

jwt_keys *
jwt_keys_load(const char *hs256_secret_file, const char *public_key_file,
			  jwt_error *err)
{
	jwt_keys *keys;

	if (!hs256_secret_file && !public_key_file)
	{
		fail(err, JWT_KEY,
			 "neither an hs256 secret nor a public key is given");
		return NULL;
	}
	keys = malloc(sizeof(*keys));
	if (!keys)
	{
		fail(err, JWT_NO_MEMORY, "out of memory loading keys");
		return NULL;
	}
	memset(keys, 0, sizeof(*keys));
	if ((hs256_secret_file && !load_secret(keys, hs256_secret_file, err)) ||
		(public_key_file && !load_public_key(keys, public_key_file, err)))
	{
		jwt_keys_free(keys);
		return NULL;
	}
	succeed(err);
	return keys;
}

void
jwt_keys_free(jwt_keys *keys)
{
	if (!keys)
		return;
	if (keys->secret)
	{
		OPENSSL_cleanse(keys->secret, keys->secret_len);
		free(keys->secret);
	}
	EVP_PKEY_free(keys->pub);
	free(keys);
}

/* --- header and signature ------------------------------------------------ */

/* Parses TEXT[0..N) (the token's WHAT) as a JSON object without duplicate
 * keys; NULL with ERR filled otherwise.  Never quotes the text. */
static json_t *
parse_object(const char *text, size_t n, const char *what, jwt_error *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);

	if (!v)
	{
		switch (json_error_code(&jerr))
		{
			case json_error_out_of_memory:
				fail(err, JWT_NO_MEMORY,
					 "out of memory parsing the token's %s", what);
				break;
			case json_error_duplicate_key:
				fail(err, JWT_MALFORMED, "the token's %s has a duplicate key",
					 what);
				break;
			default:
				fail(err, JWT_MALFORMED, "the token's %s is not JSON", what);
				break;
		}
		return NULL;
	}
	if (!json_is_object(v))
	{
		json_decref(v);
		fail(err, JWT_MALFORMED, "the token's %s is not a JSON object", what);
		return NULL;
	}
	return v;
}

/* The alg HEADER names, if KEYS has its key; crit refused. */
static bool
read_header(const jwt_keys *keys, const json_t *header, jwt_alg *alg,
			jwt_error *err)
{
	const char *name = json_string_value(json_object_get(header, "alg"));

	*alg = ALG_NONE;
	if (!name)
		return fail(err, JWT_BAD_ALG, "the token's header has no alg string");
	if (strcmp(name, "HS256") == 0)
		*alg = ALG_HS256;
	else if (strcmp(name, "RS256") == 0)
		*alg = ALG_RS256;
	else if (strcmp(name, "ES256") == 0)
		*alg = ALG_ES256;
	else if (strcmp(name, "none") == 0)
		return fail(err, JWT_BAD_ALG, "the token is not signed (alg none)");
	else
		return fail(err, JWT_BAD_ALG, "the token's alg is not supported");
	if (!(*alg == ALG_HS256 ? keys->secret != NULL
							: keys->pub && keys->pub_alg == *alg))
		return fail(err, JWT_BAD_ALG,
					"the token's alg is not one a key is configured for");
	if (json_object_get(header, "crit"))
		return fail(err, JWT_MALFORMED,
					"the token's header has crit; no extension is supported");
	return true;
}

/* HMAC-SHA256 of IN[0..N) under KEYS's secret into MAC (HS256_BYTES). */
static bool
hs256(const jwt_keys *keys, const char *in, size_t n, unsigned char *mac,
	  jwt_error *err)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), keys->secret, (int) keys->secret_len,
			  (const unsigned char *) in, n, out, &len) ||
		len != HS256_BYTES)
	{
		ERR_clear_error();
		return fail(err, JWT_NO_MEMORY, "openssl could not compute an hmac");
	}
	memcpy(mac, out, HS256_BYTES);
	return true;
}

static bool
verify_hs256(const jwt_keys *keys, const char *in, size_t n,
			 const unsigned char *sig, size_t sig_len, jwt_error *err)
{
	unsigned char mac[HS256_BYTES];

	if (!hs256(keys, in, n, mac, err))
		return false;
	if (sig_len != HS256_BYTES || CRYPTO_memcmp(mac, sig, HS256_BYTES) != 0)
		return fail(err, JWT_BAD_SIGNATURE,
					"the token's signature does not verify");
	return true;
}

/* A SHA-256 signature SIG (DER for ECDSA) of IN[0..N) under KEY. */
static bool
verify_digest(EVP_PKEY *key, jwt_alg alg, const char *in, size_t n,
			  const unsigned char *sig, size_t sig_len, jwt_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc;

	if (!ctx ||
		EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, key) != 1 ||
		(alg == ALG_RS256 &&
		 EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1))
	{
		EVP_MD_CTX_free(ctx);
		ERR_clear_error();
		return fail(err, JWT_NO_MEMORY,
					"openssl could not set up a signature check");
	}
	rc = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *) in, n);
	EVP_MD_CTX_free(ctx);
	if (rc != 1)
	{
		ERR_clear_error();
		return fail(err, JWT_BAD_SIGNATURE,
					"the token's signature does not verify");
	}
	return true;
}

/* ES256: the JWS signature r || s becomes the DER OpenSSL checks. */
static bool
verify_es256(EVP_PKEY *key, const char *in, size_t n, const unsigned char *sig,
			 size_t sig_len, jwt_error *err)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int der_len;
	bool ok;

	if (sig_len != 2 * ES256_HALF)
		return fail(err, JWT_BAD_SIGNATURE,
					"the token's es256 signature is not %d bytes (r || s)",
					2 * ES256_HALF);
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, ES256_HALF, NULL);
	s = BN_bin2bn(sig + ES256_HALF, ES256_HALF, NULL);
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s))
	{
		/* set0 took nothing unless it succeeded */
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(s);
		ERR_clear_error();
		return fail(err, JWT_NO_MEMORY,
					"openssl could not set up a signature check");
	}
	der_len = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (der_len <= 0)
	{
		ERR_clear_error();
		return fail(err, JWT_NO_MEMORY,
					"openssl could not set up a signature check");
	}
	ok = verify_digest(key, ALG_ES256, in, n, der, (size_t) der_len, err);
	OPENSSL_free(der);
	return ok;
}

static bool
verify_signature(const jwt_keys *keys, jwt_alg alg, const char *in, size_t n,
				 const unsigned char *sig, size_t sig_len, jwt_error *err)
{
	switch (alg)
	{
		case ALG_HS256:
			return verify_hs256(keys, in, n, sig, sig_len, err);
		case ALG_RS256:
			return verify_digest(keys->pub, alg, in, n, sig, sig_len, err);
		case ALG_ES256:
			return verify_es256(keys->pub, in, n, sig, sig_len, err);
		case ALG_NONE:
			break;
	}
	assert(!"verify_signature without an alg");
	return fail(err, JWT_BAD_ALG, "the token's alg is not supported");
}

/* --- claims ------------------------------------------------------------- */

/*
 * Time claim NAME of CLAIMS into *OUT, whole seconds, a fraction rounded
 * up when ROUND_UP, else down.  *PRESENT tells whether it is there.  False
 * when it is there but not a number within +-JWT_TIME_MAX.
 */
static bool
time_claim(const json_t *claims, const char *name, bool round_up,
		   bool *present, int64_t *out, jwt_error *err)
{
	const json_t *v = json_object_get(claims, name);

	*present = v != NULL;
	if (!v)
		return true;
	if (json_is_integer(v))
	{
		json_int_t i = json_integer_value(v);

		if (i < -JWT_TIME_MAX || i > JWT_TIME_MAX)
			return fail(err, JWT_MALFORMED,
						"the token's %s claim is out of range", name);
		*out = (int64_t) i;
		return true;
	}
	if (json_is_real(v))
	{
		double d = json_real_value(v);
		int64_t t;

		if (!(d >= (double) -JWT_TIME_MAX && d <= (double) JWT_TIME_MAX))
			return fail(err, JWT_MALFORMED,
						"the token's %s claim is out of range", name);
		t = (int64_t) d; /* towards zero */
		if (round_up && (double) t < d)
			t++;
		else if (!round_up && (double) t > d)
			t--;
		*out = t;
		return true;
	}
	return fail(err, JWT_MALFORMED, "the token's %s claim is not a number",
				name);
}

/* exp, nbf, iat and the lifetime; *EXP is exp in whole seconds. */
static bool
check_times(const json_t *claims, const jwt_expect *want, int64_t now,
			int64_t *exp, jwt_error *err)
{
	int64_t nbf = 0, iat = 0;
	bool has_exp, has_nbf, has_iat;

	if (!time_claim(claims, "exp", false, &has_exp, exp, err) ||
		!time_claim(claims, "nbf", true, &has_nbf, &nbf, err) ||
		!time_claim(claims, "iat", true, &has_iat, &iat, err))
		return false;
	if (!has_exp)
		return fail(err, JWT_MALFORMED, "the token has no exp claim");
	if (now >= *exp && now - *exp >= want->lapsed_s)
		return fail(err, JWT_EXPIRED, "the token has expired");
	if (has_nbf && nbf > now + want->leeway_s)
		return fail(err, JWT_NOT_YET_VALID,
					"the token is not valid yet (nbf)");
	if (has_iat && iat > now + want->leeway_s)
		return fail(err, JWT_NOT_YET_VALID,
					"the token was issued in the future (iat)");
	if (want->max_lifetime_s > 0 && *exp - now > want->max_lifetime_s)
		return fail(err, JWT_TOO_LONG_LIVED,
					"the token expires more than %lld s from now",
					(long long) want->max_lifetime_s);
	return true;
}

static bool
check_audience(const json_t *claims, const char *audience, jwt_error *err)
{
	const json_t *aud = json_object_get(claims, "aud");
	bool found = false;

	if (!aud)
		return fail(err, JWT_WRONG_AUDIENCE, "the token has no aud claim");
	if (json_is_string(aud))
		found = strcmp(json_string_value(aud), audience) == 0;
	else if (json_is_array(aud))
	{
		size_t i;
		const json_t *v;

		json_array_foreach(aud, i, v)
		{
			if (!json_is_string(v))
				return fail(err, JWT_WRONG_AUDIENCE,
							"the token's aud array holds a non-string");
			if (strcmp(json_string_value(v), audience) == 0)
				found = true;
		}
	}
	else
		return fail(err, JWT_WRONG_AUDIENCE,
					"the token's aud claim is neither a string nor an array");
	if (!found)
		return fail(err, JWT_WRONG_AUDIENCE,
					"the token is meant for another audience");
	return true;
}

static bool
check_issuer(const json_t *claims, const char *issuer, jwt_error *err)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));

	if (!issuer)
		return true;
	if (!iss)
		return fail(err, JWT_WRONG_ISSUER, "the token has no iss string");
	if (strcmp(iss, issuer) != 0)
		return fail(err, JWT_WRONG_ISSUER,
					"the token comes from another issuer");
	return true;
}

/* sub, checked; *SUB points into CLAIMS. */
static bool
check_subject(const json_t *claims, const json_t **sub, jwt_error *err)
{
	const json_t *v = json_object_get(claims, "sub");
	const char *s;
	size_t n;

	if (!v)
		return fail(err, JWT_BAD_SUBJECT, "the token has no sub claim");
	if (!json_is_string(v))
		return fail(err, JWT_BAD_SUBJECT,
					"the token's sub claim is not a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > JWT_SUB_MAX)
		return fail(err, JWT_BAD_SUBJECT,
					"the token's sub must be 1 to %d bytes long", JWT_SUB_MAX);
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f)
			return fail(err, JWT_BAD_SUBJECT,
						"the token's sub holds a control character");
	}
	*sub = v;
	return true;
}

/* The rights claim's members, in the order grants are copied. */
static const struct {
	const char *name;
	jwt_right right;
} right_names[] = {
	{"read", JWT_READ},
	{"write", JWT_WRITE},
	{"create", JWT_CREATE},
};

#define NRIGHT_NAMES ((int) (sizeof(right_names) / sizeof(right_names[0])))

static bool
is_right_name(const char *name)
{
	for (int i = 0; i < NRIGHT_NAMES; i++)
	{
		if (strcmp(name, right_names[i].name) == 0)
			return true;
	}
	return false;
}

/* RIGHTS (the collab claim, or NULL), checked: *COUNT patterns, *BYTES
 * bytes with a NUL after each. */
static bool
check_rights(const json_t *rights, int *count, size_t *bytes, jwt_error *err)
{
	const char *name;
	json_t *list;

	*count = 0;
	*bytes = 0;
	if (!rights)
		return true;
	if (!json_is_object(rights))
		return fail(err, JWT_BAD_RIGHTS,
					"the token's collab claim is not an object");
	/* json_object_foreach wants a non-const object; it only reads it */
	json_object_foreach((json_t *) rights, name, list)
	{
		size_t i;
		const json_t *p;

		if (!is_right_name(name))
			return fail(err, JWT_BAD_RIGHTS,
						"the token's collab claim has a member other than "
						"read, write and create");
		if (!json_is_array(list))
			return fail(err, JWT_BAD_RIGHTS,
						"the token's collab rights are not all arrays");
		json_array_foreach(list, i, p)
		{
			size_t n = json_string_length(p);

			if (!json_is_string(p))
				return fail(err, JWT_BAD_RIGHTS,
							"the token's collab patterns are not all strings");
			if (n == 0 || n > JWT_PATTERN_MAX)
				return fail(err, JWT_BAD_RIGHTS,
							"the token's collab patterns must be 1 to %d "
							"bytes long",
							JWT_PATTERN_MAX);
			if (++*count > JWT_PATTERNS_MAX)
				return fail(err, JWT_BAD_RIGHTS,
							"the token's collab claim holds more than %d "
							"patterns",
							JWT_PATTERNS_MAX);
			*bytes += n + 1;
		}
	}
	return true;
}

/* Copies RIGHTS (checked: COUNT patterns, BYTES) into OUT's grants: one
 * block, the array first, then the patterns. */
static bool
copy_rights(const json_t *rights, int count, size_t bytes, jwt_claims *out)
{
	char *text;
	int g = 0;

	if (count == 0)
		return true;
	out->grants = malloc(count * sizeof(jwt_grant) + bytes);
	if (!out->grants)
		return false;
	text = (char *) (out->grants + count);
	for (int r = 0; r < NRIGHT_NAMES; r++)
	{
		const json_t *list = json_object_get(rights, right_names[r].name);
		size_t i;
		const json_t *p;

		json_array_foreach(list, i, p)
		{
			size_t n = json_string_length(p);

			memcpy(text, json_string_value(p), n);
			text[n] = '\0';
			out->grants[g].right = right_names[r].right;
			out->grants[g].len = n;
			out->grants[g].pattern = text;
			text += n + 1;
			g++;
		}
	}
	assert(g == count);
	out->ngrants = count;
	return true;
}

/* Checks CLAIMS and fills OUT (zeroed on entry; left for the caller to
 * clear on failure). */
static bool
read_claims(const json_t *claims, const jwt_expect *want, int64_t now,
			jwt_claims *out, jwt_error *err)
{
	const json_t *rights = json_object_get(claims, "collab");
	const json_t *sub = NULL;
	int64_t exp = 0;
	int count;
	size_t bytes, sub_len;

	if (!check_times(claims, want, now, &exp, err) ||
		!check_audience(claims, want->audience, err) ||
		!check_issuer(claims, want->issuer, err) ||
		!check_subject(claims, &sub, err) ||
		!check_rights(rights, &count, &bytes, err))
		return false;
	sub_len = json_string_length(sub);
	out->sub = malloc(sub_len + 1);
	if (!out->sub || !copy_rights(rights, count, bytes, out))
		return fail(err, JWT_NO_MEMORY, "out of memory reading the token");
	memcpy(out->sub, json_string_value(sub), sub_len + 1);
	out->exp = exp;
	return true;
}

/* --- verifying ---------------------------------------------------------- */

bool
jwt_verify(const jwt_keys *keys, const char *token, size_t len,
		   const jwt_expect *want, int64_t now, jwt_claims *out,
		   jwt_error *err)
{
	static const char *const part_names[3] = {"header", "payload",
											  "signature"};
	unsigned char buf[DECODED_MAX];
	const char *part[3];
	size_t part_len[3];
	const unsigned char *dec[3];
	size_t dec_len[3];
	size_t used = 0;
	const char *dot1, *dot2;
	json_t *json;
	jwt_alg alg;
	bool ok;

	assert(keys && token && want && want->audience && out);
	assert(now >= -JWT_TIME_MAX && now <= JWT_TIME_MAX);
	assert(want->leeway_s >= 0 && want->leeway_s <= JWT_TIME_MAX);
	assert(want->max_lifetime_s >= 0 && want->max_lifetime_s <= JWT_TIME_MAX);
	memset(out, 0, sizeof(*out));
	succeed(err);

	if (len > JWT_TOKEN_MAX)
		return fail(err, JWT_MALFORMED, "the token is longer than %d bytes",
					JWT_TOKEN_MAX);
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (dot2 + 1 - token)))
		return fail(err, JWT_MALFORMED,
					"the token is not three parts separated by dots");
	part[0] = token;
	part_len[0] = dot1 - token;
	part[1] = dot1 + 1;
	part_len[1] = dot2 - part[1];
	part[2] = dot2 + 1;
	part_len[2] = len - (part[2] - token);
	for (int i = 0; i < 3; i++)
	{
		unsigned char *at = buf + used;

		assert(used + part_len[i] / 4 * 3 + 2 <= sizeof(buf));
		if (!b64url_decode(part[i], part_len[i], at, &dec_len[i]))
			return fail(err, JWT_MALFORMED,
						"the token's %s is not strict base64url",
						part_names[i]);
		dec[i] = at;
		used += dec_len[i];
	}

	json = parse_object((const char *) dec[0], dec_len[0], "header", err);
	if (!json)
		return false;
	ok = read_header(keys, json, &alg, err);
	json_decref(json);
	/* the signing input is the header and payload as sent, and their dot */
	if (!ok ||
		!verify_signature(keys, alg, token, part_len[0] + 1 + part_len[1],
						  dec[2], dec_len[2], err))
		return false;

	json = parse_object((const char *) dec[1], dec_len[1], "payload", err);
	if (!json)
		return false;
	ok = read_claims(json, want, now, out, err);
	json_decref(json);
	if (!ok)
		jwt_claims_clear(out);
	return ok;
}

void
jwt_claims_clear(jwt_claims *c)
{
	free(c->sub);
	free(c->grants);
	memset(c, 0, sizeof(*c));
}

/* Whether PATTERN[0..PLEN) (see jwt.h) matches DOC[0..DLEN). */
static bool
pattern_matches(const char *pattern, size_t plen, const char *doc, size_t dlen)
{
	if (plen == 1 && pattern[0] == '*')
		return true;
	if (plen >= 2 && pattern[plen - 2] == '/' && pattern[plen - 1] == '*')
		return dlen > plen - 1 && memcmp(doc, pattern, plen - 1) == 0;
	return dlen == plen && memcmp(doc, pattern, plen) == 0;
}

jwt_right
jwt_right_for(const jwt_claims *c, const char *doc, size_t doc_len)
{
	jwt_right best = JWT_NONE;

	if (doc_len == 0)
		return JWT_NONE;
	for (int i = 0; i < c->ngrants; i++)
	{
		const jwt_grant *g = &c->grants[i];

		if (g->right > best &&
			pattern_matches(g->pattern, g->len, doc, doc_len))
			best = g->right;
	}
	return best;
}

/* --- signing ------------------------------------------------------------ */

char *
jwt_sign_hs256(const jwt_keys *keys, const char *payload_json, jwt_error *err)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	size_t hlen = sizeof(header) - 1;
	size_t plen = strlen(payload_json);
	unsigned char mac[HS256_BYTES];
	size_t total, n;
	json_t *payload;
	char *token;

	assert(keys && payload_json);
	if (!keys->secret)
	{
		fail(err, JWT_KEY, "no hs256 secret is loaded");
		return NULL;
	}
	if (plen > JWT_TOKEN_MAX)
	{
		fail(err, JWT_MALFORMED, "the token would be longer than %d bytes",
			 JWT_TOKEN_MAX);
		return NULL;
	}
	payload = parse_object(payload_json, plen, "payload", err);
	if (!payload)
		return NULL;
	json_decref(payload);
	total =
		B64URL_LEN(hlen) + 1 + B64URL_LEN(plen) + 1 + B64URL_LEN(sizeof(mac));
	if (total > JWT_TOKEN_MAX)
	{
		fail(err, JWT_MALFORMED, "the token would be longer than %d bytes",
			 JWT_TOKEN_MAX);
		return NULL;
	}
	token = malloc(total + 1);
	if (!token)
	{
		fail(err, JWT_NO_MEMORY, "out of memory signing a token");
		return NULL;
	}
	n = b64url_encode((const unsigned char *) header, hlen, token);
	token[n++] = '.';
	n += b64url_encode((const unsigned char *) payload_json, plen, token + n);
	if (!hs256(keys, token, n, mac, err))
	{
		free(token);
		return NULL;
	}
	token[n++] = '.';
	n += b64url_encode(mac, sizeof(mac), token + n);
	assert(n == total);
	token[n] = '\0';
	succeed(err);
	return token;
}
