/*
 * window.c — one document's recent revisions in order (see window.h).
 */
#include "window.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void
entry_clear(entry *e)
{
	if (e->m)
		msg_unref(e->m);
	free(e->client);
	e->m = NULL;
	e->client = NULL;
}

void
window_init(window *w, int history)
{
	assert(history >= 1);
	memset(w, 0, sizeof(*w));
	w->history = history;
}

void
window_clear(window *w)
{
	int history = w->history;

	if (w->known)
	{
		for (int64_t r = w->lo; r <= w->hi; r++)
			entry_clear(&w->ring[r % w->cap]);
	}
	for (int i = 0; i < w->nheld; i++)
		entry_clear(&w->held[i]);
	free(w->held);
	free(w->ring);
	window_init(w, history);
}

void
window_start(window *w, int64_t rev)
{
	assert(!w->known);
	w->known = true;
	w->lo = rev + 1;
	w->hi = rev;
	w->want = rev;
}

bool
window_want(window *w, int64_t rev)
{
	if (!w->known || rev <= w->want)
		return false;
	w->want = rev;
	return true;
}

bool
window_gap(const window *w)
{
	return w->known && w->hi < w->want;
}

const entry *
window_get(const window *w, int64_t rev)
{
	assert(w->known && rev >= w->lo && rev <= w->hi);
	return &w->ring[rev % w->cap];
}

/* Appends E (revision hi + 1) to the ring, evicting the oldest when full. */
static bool
append(window *w, entry *e)
{
	assert(e->rev == w->hi + 1);
	if (w->hi - w->lo + 1 >= w->cap)
	{
		if (w->cap < w->history)
		{
			int cap = w->cap ? w->cap * 2 : 8;
			entry *ring;

			if (cap > w->history)
				cap = w->history;
			ring = calloc((size_t) cap, sizeof(entry));
			if (!ring)
				return false;
			for (int64_t r = w->lo; w->cap > 0 && r <= w->hi; r++)
				ring[r % cap] = w->ring[r % w->cap];
			free(w->ring);
			w->ring = ring;
			w->cap = cap;
		}
		else
		{
			entry_clear(&w->ring[w->lo % w->cap]);
			w->lo++;
		}
	}
	w->ring[e->rev % w->cap] = *e;
	w->hi = e->rev;
	return true;
}

/* Keeps E (> hi + 1) in held, in order; false when it was dropped. */
static window_result
hold(window *w, entry *e)
{
	int i;

	for (i = 0; i < w->nheld && w->held[i].rev < e->rev; i++)
		;
	if ((i < w->nheld && w->held[i].rev == e->rev) || w->nheld >= w->history)
	{
		entry_clear(e); /* a duplicate, or too many: a fetch brings it */
		return WINDOW_DROPPED;
	}
	if (w->nheld == w->held_cap)
	{
		int cap = w->held_cap ? w->held_cap * 2 : 4;
		entry *held = realloc(w->held, (size_t) cap * sizeof(entry));

		if (!held)
		{
			entry_clear(e);
			return WINDOW_NO_MEMORY;
		}
		w->held = held;
		w->held_cap = cap;
	}
	memmove(&w->held[i + 1], &w->held[i],
			(size_t) (w->nheld - i) * sizeof(entry));
	w->held[i] = *e;
	w->nheld++;
	return WINDOW_HELD;
}

window_result
window_offer(window *w, entry *e)
{
	window_result result;

	if (!w->known)
	{
		w->known = true;
		w->lo = e->rev;
		w->hi = e->rev - 1;
		w->want = w->hi;
	}
	if (e->rev <= w->hi)
	{
		entry_clear(e);
		return WINDOW_DROPPED;
	}
	if (e->rev > w->want)
		w->want = e->rev;
	if (e->rev > w->hi + 1)
		result = hold(w, e);
	else if (!append(w, e))
	{
		entry_clear(e);
		result = WINDOW_NO_MEMORY;
	}
	else
	{
		/* the held revisions that now follow */
		while (w->nheld > 0 && w->held[0].rev <= w->hi + 1)
		{
			entry h = w->held[0];

			memmove(&w->held[0], &w->held[1],
					(size_t) (w->nheld - 1) * sizeof(entry));
			w->nheld--;
			if (h.rev == w->hi + 1 && append(w, &h))
				continue;
			entry_clear(&h);
		}
		result = WINDOW_APPENDED;
	}
	window_check(w);
	return result;
}

void
window_check(const window *w)
{
#ifdef COLLAB_CHECKED
	if (!w->known)
	{
		assert(w->nheld == 0 && w->cap == 0);
		return;
	}
	assert(w->hi >= w->lo - 1);
	assert(w->hi - w->lo + 1 <= w->cap);
	assert(w->cap <= w->history);
	assert(w->want >= w->hi);
	for (int64_t r = w->lo; r <= w->hi; r++)
	{
		assert(w->ring[r % w->cap].rev == r);
		assert(w->ring[r % w->cap].m != NULL);
	}
	assert(w->nheld <= w->held_cap && w->nheld <= w->history);
	for (int i = 0; i < w->nheld; i++)
	{
		assert(w->held[i].rev > w->hi + 1);
		assert(i == 0 || w->held[i].rev > w->held[i - 1].rev);
		assert(w->held[i].rev <= w->want);
	}
#else
	(void) w;
#endif
}
