/*
 * fetch.c — shared fetches (see fetch.h).
 *
 * A group is one query and the fetches waiting on it.  Its waiters are
 * walked when the answer comes, each next one noted first; a content
 * message is encoded once per distinct id among them (clients mostly send
 * the same id, or none) and shared by every queue it goes to.
 */
#include "fetch.h"

#include "log.h"
#include "metrics.h"
#include "requests.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fetch_waiter fetch_waiter;

typedef struct fetch_group {
	doc *d;					  /* referenced */
	bool shared;			  /* a revision: others may join */
	int64_t rev;			  /* that revision */
	fetch_waiter *waiters;	  /* linked by gprev, gnext */
	struct fetch_group *next; /* in d->fetches */
} fetch_group;

struct fetch_waiter {
	conn *c;	   /* referenced; counted in c->pending */
	char *id_json; /* the id to echo, or NULL */
	fetch_group *g;
	fetch_waiter *gprev, *gnext; /* in g->waiters */
	fetch_waiter *cprev, *cnext; /* in c->fetches */
};

/* Takes W out of its group's list. */
static void
waiter_leave(fetch_waiter *w)
{
	if (w->gprev)
		w->gprev->gnext = w->gnext;
	else
		w->g->waiters = w->gnext;
	if (w->gnext)
		w->gnext->gprev = w->gprev;
	w->gprev = w->gnext = NULL;
}

/* Takes W out of its connection's list and frees it (its group's list is
 * the caller's). */
static void
waiter_free(fetch_waiter *w)
{
	conn *c = w->c;

	if (w->cprev)
		w->cprev->cnext = w->cnext;
	else
		c->fetches = w->cnext;
	if (w->cnext)
		w->cnext->cprev = w->cprev;
	c->pending--;
	assert(c->pending >= 0);
	conn_unref(c);
	free(w->id_json);
	free(w);
}

/* Takes G out of its document's list (nothing joins it from now on). */
static void
group_unlink(fetch_group *g)
{
	for (fetch_group **p = &g->d->fetches; *p; p = &(*p)->next)
	{
		if (*p == g)
		{
			*p = g->next;
			return;
		}
	}
}

static bool
same_id(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void
fetch_done(void *ctx, const PGresult *res, const pg_error *err)
{
	fetch_group *g = ctx;
	doc *d = g->d;
	msg *m = NULL;	   /* the last content encoded */
	char *m_id = NULL; /* its id (taken from its waiter), or NULL */
	fetch_waiter *next;

	group_unlink(g);
	for (fetch_waiter *w = g->waiters; w; w = next)
	{
		conn *c = w->c;

		next = w->gnext;
		if (!conn_live(c))
			;
		else if (err)
			rq_error(c, RQ_FETCH, err, d->id, -1, w->id_json);
		else
		{
			if (!m || !same_id(m_id, w->id_json))
			{
				if (m)
					msg_unref(m);
				free(m_id);
				m = rq_content_msg(d->id, res, w->id_json);
				m_id = w->id_json;
				w->id_json = NULL;
			}
			conn_send(c, m ? msg_ref(m) : NULL);
		}
		waiter_free(w);
	}
	if (m)
		msg_unref(m);
	free(m_id);
	free(g);
	doc_unref(d);
}

/* Fails C's fetch of D for want of memory; D may be freed after. */
static void
fetch_no_memory(conn *c, doc *d, const char *id_json)
{
	rq_internal(c, d->id, -1, id_json, "out of memory");
	if (d->refs == 0)
		doc_unref(doc_ref(d)); /* held by nothing: leaves the table */
}

void
fetch_request(conn *c, doc *d, bool has_rev, int64_t rev, const char *id_json)
{
	fetch_waiter *w = calloc(1, sizeof(*w));
	fetch_group *g = NULL;
	bool joined;

	metrics.fetch_requests++;
	if (has_rev)
	{
		for (g = d->fetches; g && !(g->shared && g->rev == rev); g = g->next)
			;
	}
	joined = g != NULL;
	if (!joined)
		g = calloc(1, sizeof(*g));
	if (!w || !g || (id_json && !(w->id_json = strdup(id_json))))
	{
		if (w)
			free(w->id_json);
		free(w);
		if (!joined)
			free(g);
		fetch_no_memory(c, d, id_json);
		return;
	}
	if (!joined)
	{
		g->d = doc_ref(d);
		g->shared = has_rev;
		g->rev = rev;
		g->next = d->fetches;
		d->fetches = g;
	}
	w->c = conn_ref(c);
	c->pending++;
	w->g = g;
	w->gnext = g->waiters;
	if (g->waiters)
		g->waiters->gprev = w;
	g->waiters = w;
	w->cnext = c->fetches;
	if (c->fetches)
		c->fetches->cprev = w;
	c->fetches = w;
	if (joined)
		return; /* its query is in flight */
	if (!rq_fetch(g, d->id, has_rev, rev, fetch_done, g))
	{
		pg_error err = {.unavailable = true};

		fetch_done(g, NULL, &err);
		return;
	}
	metrics.fetch_queries++;
}

int
fetch_conn_closed(conn *c)
{
	fetch_waiter *w = c->fetches, *next;
	int dropped = 0;

	c->fetches = NULL; /* each is freed below */
	for (; w; w = next)
	{
		fetch_group *g = w->g;

		next = w->cnext;
		w->cprev = w->cnext = NULL;
		waiter_leave(w);
		waiter_free(w);
		/* nobody left to answer: the query goes if it has not started
		 * (fetch_done frees G then) */
		if (!g->waiters)
			dropped += pg_drop_owned(g, "the client has gone");
	}
	return dropped;
}
