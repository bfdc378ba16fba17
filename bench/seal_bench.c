/*
 * seal_bench.c — what sealed notifications cost the notifier (issue 12).
 *
 * A notifier given --notify-key-file checks each payload's seal: one
 * HMAC-SHA256 of the message (notifier/listen.c, seal_ok) before the JSON
 * parse it does anyway.  This measures both on change payloads of about
 * 200 B (a keystroke), 1 KB and 7.9 KB (WIRE_PAYLOAD_MAX, the largest a
 * payload gets), in one process: CPU ns per payload of the check, of the
 * parse (json_loads + json_decref, the notifier's own), and their ratio.
 * The database pays the same HMAC once per payload when it seals.
 *
 *   make bench-seal && build/bench/seal_bench [--quick]
 *
 * Every timing runs for at least 0.2 s (0.02 s with --quick) and the
 * median of 5 runs is printed.  Nothing is asserted; docs/notifier.md
 * records the numbers.
 */
#define _POSIX_C_SOURCE 200809L

#include "wire.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 5

static const char *key =
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static volatile unsigned sink;

static int64_t
cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The notifier's check (listen.c's seal_ok): HMAC, hex, constant-time. */
static void
check_seal(const char *message, const char *seal)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[WIRE_SEAL_HEX + 1];

	HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) message,
		 strlen(message), mac, &len);
	wire_seal_hex(mac, hex);
	sink += (unsigned) CRYPTO_memcmp(hex, seal, WIRE_SEAL_HEX);
}

static void
parse(const char *message)
{
	json_error_t err;
	json_t *root = json_loads(message, 0, &err);

	sink += root != NULL;
	json_decref(root);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Median CPU ns per call of FN(message, seal). */
static double
measure(void (*fn)(const char *, const char *), const char *message,
		const char *seal, int64_t min_ns)
{
	double runs[RUNS];

	for (int r = 0; r < RUNS; r++)
	{
		int64_t start = cpu_ns(), n = 0;

		do
		{
			for (int i = 0; i < 64; i++)
				fn(message, seal);
			n += 64;
		} while (cpu_ns() - start < min_ns);
		runs[r] = (double) (cpu_ns() - start) / (double) n;
	}
	qsort(runs, RUNS, sizeof(runs[0]), cmp);
	return runs[RUNS / 2];
}

static void
parse_fn(const char *message, const char *seal)
{
	(void) seal;
	parse(message);
}

/* A change message of about SIZE bytes: typing-like inserts with formats. */
static char *
change_message(size_t size)
{
	char *m = malloc(size + 256);
	size_t len;

	if (!m)
		exit(1);
	len = (size_t) sprintf(m, "{\"type\":\"change\",\"doc\":\"notes\",\"rev\":"
							  "12345,\"client\":\"c7f3a9\",\"seq\":42,"
							  "\"change\":[{\"retain\":1200}");
	while (len + 80 < size)
		len += (size_t) sprintf(m + len, ",{\"insert\":\"typing words \","
										 "\"attributes\":{\"bold\":true}}");
	strcpy(m + len, "]}");
	return m;
}

int
main(int argc, char **argv)
{
	size_t sizes[] = {200, 1024, WIRE_PAYLOAD_MAX};
	int64_t min_ns =
		argc > 1 && strcmp(argv[1], "--quick") == 0 ? 20000000 : 200000000;

	printf("| payload | seal check (ns) | JSON parse (ns) | check / parse |\n"
		   "|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		char *m = change_message(sizes[i]);
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int len = 0;
		char seal[WIRE_SEAL_HEX + 1];
		double c, p;

		HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) m,
			 strlen(m), mac, &len);
		wire_seal_hex(mac, seal);
		c = measure(check_seal, m, seal, min_ns);
		p = measure(parse_fn, m, seal, min_ns);
		printf("| %zu B | %.0f | %.0f | %.2f |\n", strlen(m), c, p, c / p);
		free(m);
	}
	return 0;
}
