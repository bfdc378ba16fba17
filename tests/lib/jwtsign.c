/*
 * jwtsign.c — a token signer for tests only (see jwtsign.h).
 */
#include "jwtsign.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ES256_HALF 32

char *
jwtsign_b64url(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	int n;

	if (!out)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *) out, data, (int) len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (int i = 0; i < n; i++)
	{
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

/* DER (what OpenSSL's ECDSA gives) to JWS's r || s; false if not DER. */
static bool
der_to_raw(unsigned char *sig, size_t *len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long) *len);
	const BIGNUM *r, *s;
	bool ok;

	if (!es)
		return false;
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, sig, ES256_HALF) == ES256_HALF &&
		 BN_bn2binpad(s, sig + ES256_HALF, ES256_HALF) == ES256_HALF;
	ECDSA_SIG_free(es);
	*len = 2 * ES256_HALF;
	return ok;
}

/* A public-key signature (SHA-256) of IN[0..N) under PKEY: malloc'd. */
static unsigned char *
sign_pkey(EVP_PKEY *pkey, const char *in, size_t n, size_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;

	if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_DigestSign(ctx, NULL, len, (const unsigned char *) in, n) == 1 &&
		(sig = malloc(*len)) &&
		EVP_DigestSign(ctx, sig, len, (const unsigned char *) in, n) != 1)
	{
		free(sig);
		sig = NULL;
	}
	EVP_MD_CTX_free(ctx);
	return sig;
}

/* The signature of IN[0..N) (malloc'd, *LEN bytes), or NULL. */
static unsigned char *
sign(jwtsign_alg alg, const jwtsign_key *key, const char *in, size_t n,
	 bool der, size_t *len)
{
	unsigned char *sig = NULL;
	unsigned int hlen = 0;

	switch (alg)
	{
		case JWTSIGN_NONE:
			*len = 0;
			return malloc(1);
		case JWTSIGN_HS256:
			sig = malloc(EVP_MAX_MD_SIZE);
			if (sig && !HMAC(EVP_sha256(), key->secret, (int) key->secret_len,
							 (const unsigned char *) in, n, sig, &hlen))
			{
				free(sig);
				return NULL;
			}
			*len = hlen;
			return sig;
		case JWTSIGN_RS256:
			return sign_pkey(key->pkey, in, n, len);
		case JWTSIGN_ES256:
			sig = sign_pkey(key->pkey, in, n, len);
			if (sig && !der && !der_to_raw(sig, len))
			{
				free(sig);
				return NULL;
			}
			return sig;
	}
	return NULL;
}

char *
jwtsign(const char *header, const char *payload, jwtsign_alg alg,
		const jwtsign_key *key, unsigned breaks)
{
	size_t plen = strlen(payload);
	char *h = jwtsign_b64url(header, strlen(header));
	char *p = jwtsign_b64url(payload, plen);
	char *input = NULL, *s = NULL, *token = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;

	if (!h || !p || !(input = malloc(strlen(h) + 1 + strlen(p) + 1)))
		goto done;
	sprintf(input, "%s.%s", h, p);
	sig = sign(alg, key, input, strlen(input), breaks & JWTSIGN_ES256_DER,
			   &sig_len);
	if (!sig)
		goto done;
	if ((breaks & JWTSIGN_FLIP_SIGNATURE) && sig_len > 0)
		sig[0] ^= 1;
	if ((breaks & JWTSIGN_TRUNCATE_SIGNATURE) && sig_len > 0)
		sig_len--;
	if ((breaks & JWTSIGN_FLIP_PAYLOAD) && plen > 0)
	{
		char *flipped = strdup(payload);

		if (!flipped)
			goto done;
		flipped[plen - 1] ^= 1;
		free(p);
		p = jwtsign_b64url(flipped, plen);
		free(flipped);
		if (!p)
			goto done;
	}
	s = jwtsign_b64url(sig, sig_len);
	if (s && (token = malloc(strlen(h) + strlen(p) + strlen(s) + 3)))
		sprintf(token, "%s.%s.%s", h, p, s);
done:
	if (!token)
		fprintf(stderr, "jwtsign: could not make a token\n");
	free(h);
	free(p);
	free(input);
	free(sig);
	free(s);
	return token;
}
