/*
 * jwtsign.h — a token signer for tests only: it signs whatever header and
 * payload text it is given (duplicate keys, wrong types, any alg named in
 * the header) with HS256, RS256 or ES256, and can break the result on
 * purpose.  Written apart from notifier/jwt.c (its base64url is OpenSSL's
 * base64 with the URL alphabet swapped in), so a mistake in one is not
 * repeated in the other and the tests see it.
 */
#ifndef COLLAB_TESTS_JWTSIGN_H
#define COLLAB_TESTS_JWTSIGN_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

/* How the signature is made (whatever the header says). */
typedef enum jwtsign_alg {
	JWTSIGN_NONE,  /* an empty signature, as alg none has */
	JWTSIGN_HS256, /* HMAC-SHA256 with key->secret */
	JWTSIGN_RS256, /* RSASSA-PKCS1-v1_5 SHA-256 with key->pkey (RSA) */
	JWTSIGN_ES256  /* ECDSA P-256 SHA-256 with key->pkey, as r || s */
} jwtsign_alg;

/* Ways to break a token after it is signed, or-ed together. */
enum {
	JWTSIGN_FLIP_SIGNATURE = 1 << 0, /* the first signature byte's low bit */
	JWTSIGN_FLIP_PAYLOAD = 1 << 1,	 /* the last payload byte's low bit */
	JWTSIGN_ES256_DER = 1 << 2,		 /* ES256 left in DER, not r || s */
	JWTSIGN_TRUNCATE_SIGNATURE = 1 << 3 /* the last signature byte dropped */
};

typedef struct jwtsign_key {
	const void *secret; /* HS256: secret_len bytes */
	size_t secret_len;
	EVP_PKEY *pkey; /* RS256 and ES256: a private key */
} jwtsign_key;

/*
 * HEADER and PAYLOAD (texts used as given) base64url-encoded, signed with
 * ALG under KEY, then broken as BREAKS says.  The token is malloc'd and
 * NUL-terminated; NULL (after a line on stderr) when signing failed.
 */
char *jwtsign(const char *header, const char *payload, jwtsign_alg alg,
			  const jwtsign_key *key, unsigned breaks);

/* DATA[0..LEN) in base64url without padding (malloc'd), or NULL. */
char *jwtsign_b64url(const void *data, size_t len);

#endif
