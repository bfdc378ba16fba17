/*
 * quota.c — connections per address and creations per user (see quota.h).
 *
 * Both tables are one kind of hash table: entries by key, chained, the
 * buckets doubling with the count.  A connection entry lives while its
 * count is above zero; a creation entry is a token bucket (--creates-per-
 * minute tokens, refilled at that many a minute) and is dropped by a sweep
 * at most once a minute, on a take, once it is full again.
 */
#include "quota.h"

#include "fanout.h"
#include "hash.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MINUTE_US (60 * LWS_US_PER_SEC) /* a bucket refills in this long */

typedef struct entry {
	struct entry *next; /* in its bucket */
	int conns;			/* connections open (the address table) */
	double tokens;		/* creations left (the creation table) */
	lws_usec_t refilled;
	char key[]; /* NUL-terminated */
} entry;

typedef struct table {
	entry **buckets;
	size_t size, count; /* size: a power of two, or 0 */
} table;

static table addresses, creators;
static lws_usec_t swept; /* the creators' last sweep */

static entry **
slot(table *t, const char *key)
{
	entry **p = &t->buckets[hash_id(key) & (t->size - 1)];

	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

static entry *
find(table *t, const char *key)
{
	return t->size ? *slot(t, key) : NULL;
}

static bool
grow(table *t)
{
	size_t size = t->size ? t->size * 2 : 64;
	entry **buckets = calloc(size, sizeof(entry *));

	if (!buckets)
		return false;
	for (size_t i = 0; i < t->size; i++)
	{
		entry *e = t->buckets[i];

		while (e)
		{
			entry *next = e->next;
			size_t b = hash_id(e->key) & (size - 1);

			e->next = buckets[b];
			buckets[b] = e;
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = buckets;
	t->size = size;
	return true;
}

/* KEY's entry, added (zeroed) when new; NULL when out of memory. */
static entry *
get(table *t, const char *key)
{
	entry *e = find(t, key);
	size_t n = strlen(key);
	entry **p;

	if (e)
		return e;
	if (t->count + 1 > t->size && !grow(t))
		return NULL;
	e = calloc(1, sizeof(*e) + n + 1);
	if (!e)
		return NULL;
	memcpy(e->key, key, n + 1);
	p = &t->buckets[hash_id(key) & (t->size - 1)];
	e->next = *p;
	*p = e;
	t->count++;
	return e;
}

static void
remove_key(table *t, const char *key)
{
	entry **p = slot(t, key), *e = *p;

	assert(e);
	*p = e->next;
	free(e);
	t->count--;
}

static void
clear(table *t)
{
	for (size_t i = 0; i < t->size; i++)
	{
		while (t->buckets[i])
		{
			entry *e = t->buckets[i];

			t->buckets[i] = e->next;
			free(e);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* --- addresses ---------------------------------------------------------- */

void
quota_address(struct lws *wsi, char out[QUOTA_ADDR_MAX])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	lws_sockfd_type fd = lws_get_socket_fd(wsi);

	snprintf(out, QUOTA_ADDR_MAX, "unknown");
	if (fd < 0 || getpeername(fd, (struct sockaddr *) &ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) &ss;

		inet_ntop(AF_INET, &in->sin_addr, out, QUOTA_ADDR_MAX);
	}
	else if (ss.ss_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &ss;
		struct in6_addr prefix = in6->sin6_addr;
		char text[INET6_ADDRSTRLEN];

		if (IN6_IS_ADDR_V4MAPPED(&prefix))
		{
			inet_ntop(AF_INET, &prefix.s6_addr[12], out, QUOTA_ADDR_MAX);
			return;
		}
		memset(&prefix.s6_addr[8], 0, 8); /* the /64 */
		if (inet_ntop(AF_INET6, &prefix, text, sizeof(text)))
			snprintf(out, QUOTA_ADDR_MAX, "%s/64", text);
	}
}

bool
quota_connect_ok(const char *addr)
{
	entry *e = find(&addresses, addr);

	return !e || e->conns < fanout_cfg->max_clients_per_address;
}

bool
quota_connected(const char *addr)
{
	entry *e = get(&addresses, addr);

	if (!e)
		return false;
	e->conns++;
	return true;
}

void
quota_disconnected(const char *addr)
{
	entry *e = find(&addresses, addr);

	if (!e) /* quota_connected ran out of memory */
		return;
	assert(e->conns > 0);
	if (--e->conns == 0)
		remove_key(&addresses, addr);
}

size_t
quota_addresses(void)
{
	return addresses.count;
}

/* --- creations ---------------------------------------------------------- */

/* Tops E's bucket up to NOW. */
static void
refill(entry *e, lws_usec_t now)
{
	double per_minute = fanout_cfg->creates_per_minute;

	e->tokens += (double) (now - e->refilled) * per_minute / MINUTE_US;
	if (e->tokens > per_minute)
		e->tokens = per_minute;
	e->refilled = now;
}

/* Drops the buckets that are full again: they are as good as absent. */
static void
sweep(lws_usec_t now)
{
	for (size_t i = 0; i < creators.size; i++)
	{
		entry **p = &creators.buckets[i];

		while (*p)
		{
			entry *e = *p;

			refill(e, now);
			if (e->tokens >= fanout_cfg->creates_per_minute)
			{
				*p = e->next;
				free(e);
				creators.count--;
			}
			else
				p = &e->next;
		}
	}
	swept = now;
}

bool
quota_create_take(const char *who)
{
	lws_usec_t now = lws_now_usecs();
	entry *e;

	if (now - swept >= MINUTE_US)
		sweep(now);
	e = find(&creators, who);
	if (!e)
	{
		e = get(&creators, who);
		if (!e)
			return false;
		e->tokens = fanout_cfg->creates_per_minute;
		e->refilled = now;
	}
	refill(e, now);
	if (e->tokens < 1)
		return false;
	e->tokens -= 1;
	return true;
}

void
quota_create_refund(const char *who)
{
	entry *e = find(&creators, who);

	if (e) /* else swept: full already */
	{
		refill(e, lws_now_usecs());
		e->tokens += 1;
		if (e->tokens > fanout_cfg->creates_per_minute)
			e->tokens = fanout_cfg->creates_per_minute;
	}
}

void
quota_clear(void)
{
	clear(&addresses);
	clear(&creators);
}
