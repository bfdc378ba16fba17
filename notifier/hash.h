/*
 * hash.h — the hash of the notifier's tables keyed by strings (documents
 * in document.c; addresses and users in quota.c): FNV-1a, 64 bits.
 */
#ifndef COLLAB_NOTIFIER_HASH_H
#define COLLAB_NOTIFIER_HASH_H

#include <stdint.h>

static inline uint64_t
hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

#endif
