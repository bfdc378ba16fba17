/*
 * jwt.h — verifying the signed tokens that will authenticate WebSocket
 * connections, and the rights they carry (RFC 7515, 7518, 7519).
 *
 * A pure module: jansson and OpenSSL, no libwebsockets, no globals, no
 * clock (the caller passes `now`).  Keys are loaded once and never change,
 * so one jwt_keys may serve several threads at once.  Errors come back in a
 * caller-owned jwt_error whose message never holds a byte of the token.
 *
 * Keys.  An HS256 secret (a file of at least JWT_SECRET_MIN bytes, at most
 * JWT_SECRET_MAX, one trailing "\n" or "\r\n" stripped) and/or one public
 * key (a PEM SubjectPublicKeyInfo, "BEGIN PUBLIC KEY": RSA of at least
 * JWT_RSA_BITS_MIN bits, used for RS256 only, or EC P-256, used for ES256
 * only; any other kind is refused).  Each key is usable with exactly one
 * alg: that is what stops algorithm confusion (an HS256 token "signed" with
 * the RSA public key's PEM as its secret names an alg whose key is not the
 * public key).
 *
 * A token is accepted when, in this order:
 *   - it is at most JWT_TOKEN_MAX bytes of compact JWS: exactly three parts
 *     of strict base64url (no padding, nothing outside the URL alphabet,
 *     unused trailing bits zero);
 *   - its header is a JSON object without duplicate keys, whose alg is a
 *     string naming an alg whose key is configured (HS256: the secret,
 *     RS256: an RSA public key, ES256: an EC P-256 key), and without crit
 *     (no extension is understood, so none may be required); typ, kid and
 *     every other header parameter are ignored — no key is ever looked up
 *     from the token;
 *   - its signature verifies: HS256 an HMAC-SHA256 of 32 bytes compared in
 *     constant time, RS256 RSASSA-PKCS1-v1_5 with SHA-256, ES256 the JWS form
 *     r || s (64 bytes) of an ECDSA P-256 signature over SHA-256.  Nothing
 *     in the payload is read before this;
 *   - its payload is a JSON object without duplicate keys whose claims pass:
 *       exp   required, a number; now >= exp: expired (no leeway);
 *       nbf   optional, a number; nbf > now + leeway: not yet valid;
 *       iat   optional, a number; iat > now + leeway: not yet valid;
 *             time claims are seconds within +-JWT_TIME_MAX; a fraction
 *             counts against the token (exp rounds down, nbf and iat up);
 *             exp - now > max_lifetime_s (when > 0): too long-lived;
 *       aud   required, a string equal to the audience, or an array of
 *             strings holding it;
 *       iss   when an issuer is expected, a string equal to it;
 *       sub   required, a string of 1 to JWT_SUB_MAX bytes without control
 *             characters (below 0x20, and 0x7f); the JSON parser guarantees
 *             valid UTF-8 and no NUL;
 *       collab  optional, the rights: an object whose members (each
 *             optional, no others) read, write, create are arrays of
 *             patterns, strings of 1 to JWT_PATTERN_MAX bytes, at most
 *             JWT_PATTERNS_MAX in all.  Without it the token grants nothing.
 *     Anything malformed is refused, never ignored.
 *
 * Which code: a problem with alg is JWT_BAD_ALG; with the token's syntax,
 * crit, or a time claim (exp missing, not a number, out of range),
 * JWT_MALFORMED; a
 * claim of the wrong type is refused with the code of that claim
 * (JWT_WRONG_AUDIENCE, JWT_WRONG_ISSUER, JWT_BAD_SUBJECT, JWT_BAD_RIGHTS).
 * An internal OpenSSL failure (in practice a failed allocation) before a
 * signature could be checked is JWT_NO_MEMORY; a failure while checking it
 * is JWT_BAD_SIGNATURE.  jansson reports some failed allocations as bad
 * syntax, so they come back as JWT_MALFORMED.  Either way the token is
 * refused.
 *
 * Patterns.  "*" matches every document.  A pattern that ends in a slash
 * and a star is a prefix: with P its text before the star, it matches every
 * id that starts with P and is longer (the pattern team-7/ plus a star
 * matches team-7/x and team-7/a/b, not team-7, team-7/ nor team-70/x).  Any
 * other pattern is an exact document id (a star elsewhere is an ordinary
 * byte).  Levels: create implies write implies read; a document's right is
 * the highest any matching pattern grants.
 */
#ifndef COLLAB_NOTIFIER_JWT_H
#define COLLAB_NOTIFIER_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest token accepted, in bytes. */
#define JWT_TOKEN_MAX 8192
/* Bytes of an HS256 secret, after its trailing newline is stripped. */
#define JWT_SECRET_MIN 32
#define JWT_SECRET_MAX 4096
/* Least size of an RSA key, in bits. */
#define JWT_RSA_BITS_MIN 2048
/* Longest sub, in bytes. */
#define JWT_SUB_MAX 128
/* Longest pattern in bytes: a document id's limit (WIRE_ID_BYTES_MAX). */
#define JWT_PATTERN_MAX 200
/* Most patterns in one token's rights, read, write and create together. */
#define JWT_PATTERNS_MAX 256
/* Time claims, and now, in seconds, within +-2^53 (exact as doubles). */
#define JWT_TIME_MAX (INT64_C(1) << 53)

typedef enum jwt_code {
	JWT_OK = 0,
	JWT_MALFORMED,		/* not a token we can read (syntax, crit, exp) */
	JWT_BAD_ALG,		/* alg missing, none, unknown, or its key absent */
	JWT_BAD_SIGNATURE,	/* the signature does not verify */
	JWT_EXPIRED,		/* now >= exp */
	JWT_NOT_YET_VALID,	/* nbf or iat beyond now + leeway */
	JWT_WRONG_AUDIENCE, /* aud missing, malformed, or not ours */
	JWT_WRONG_ISSUER,	/* iss missing, malformed, or not the expected */
	JWT_BAD_SUBJECT,	/* sub missing, empty, too long, control chars */
	JWT_TOO_LONG_LIVED, /* exp - now > max_lifetime_s */
	JWT_BAD_RIGHTS,		/* collab malformed */
	JWT_KEY,			/* a key file cannot be read or is not usable */
	JWT_NO_MEMORY		/* an allocation (ours, jansson's, OpenSSL's) */
} jwt_code;

#define JWT_MESSAGE_MAX 256

typedef struct jwt_error {
	jwt_code code;
	char message[JWT_MESSAGE_MAX]; /* lower case, no trailing period */
} jwt_error;

/* A document's right; each level implies the ones below it. */
typedef enum jwt_right {
	JWT_NONE = 0,
	JWT_READ,
	JWT_WRITE,
	JWT_CREATE
} jwt_right;

/* One pattern of a token's rights. */
typedef struct jwt_grant {
	jwt_right right;	 /* the level it grants: JWT_READ, _WRITE, _CREATE */
	size_t len;			 /* bytes of pattern */
	const char *pattern; /* NUL-terminated, inside the claims' grants block */
} jwt_grant;

/* What a verified token says. */
typedef struct jwt_claims {
	char *sub;		   /* malloc'd, NUL-terminated */
	int64_t exp;	   /* seconds since the epoch (rounded down) */
	jwt_grant *grants; /* malloc'd with their patterns, or NULL: no rights */
	int ngrants;
} jwt_claims;

/* What the caller demands of a token. */
typedef struct jwt_expect {
	const char *audience;	/* aud must hold it (required, not NULL) */
	const char *issuer;		/* iss must equal it; NULL: iss not checked */
	int64_t leeway_s;		/* seconds nbf and iat may lie ahead of now,
							 * 0 to JWT_TIME_MAX */
	int64_t max_lifetime_s; /* seconds exp may lie ahead of now; 0: no
							 * limit; at most JWT_TIME_MAX */
	int64_t lapsed_s;		/* a token that expired less than this long
							 * ago still verifies (0: none; only for
							 * renewing a login, never for rights) */
} jwt_expect;

typedef struct jwt_keys jwt_keys;

/*
 * Loads the HS256 secret from HS256_SECRET_FILE and the public key from
 * PUBLIC_KEY_FILE; either may be NULL, not both.  NULL on failure with
 * ERR filled (JWT_KEY, JWT_NO_MEMORY); messages name the file.
 */
jwt_keys *jwt_keys_load(const char *hs256_secret_file,
						const char *public_key_file, jwt_error *err);

/* Frees KEYS (NULL is fine), wiping the secret. */
void jwt_keys_free(jwt_keys *keys);

/*
 * Verifies TOKEN[0..LEN) at time NOW (seconds since the epoch, within
 * +-JWT_TIME_MAX) against KEYS and WANT (see the top of this file).  On
 * success fills OUT (which need not be initialised; release it with
 * jwt_claims_clear) and returns true; otherwise returns false with OUT
 * zeroed and ERR (which may be NULL) filled.
 */
bool jwt_verify(const jwt_keys *keys, const char *token, size_t len,
				const jwt_expect *want, int64_t now, jwt_claims *out,
				jwt_error *err);

/* Frees what C holds and zeroes it; a zeroed C is fine. */
void jwt_claims_clear(jwt_claims *c);

/*
 * The highest right C's patterns grant on document DOC[0..DOC_LEN);
 * JWT_NONE for an empty id.
 */
jwt_right jwt_right_for(const jwt_claims *c, const char *doc, size_t doc_len);

/*
 * A token signed with KEYS's HS256 secret: header {"alg":"HS256",
 * "typ":"JWT"}, payload PAYLOAD_JSON as given (which must be a JSON object
 * without duplicate keys; its claims are not checked).  Returns the token
 * (malloc'd, NUL-terminated), or NULL with ERR (which may be NULL) filled:
 * JWT_KEY without a secret, JWT_MALFORMED when the payload is not such an
 * object or the token would pass JWT_TOKEN_MAX, JWT_NO_MEMORY.  For
 * development: real tokens come from an identity provider.
 */
char *jwt_sign_hs256(const jwt_keys *keys, const char *payload_json,
					 jwt_error *err);

#endif
