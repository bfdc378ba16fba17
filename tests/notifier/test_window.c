/*
 * test_window.c — the notifier's document window (notifier/window.c)
 * without a database or a socket: ordering, holds, gaps, duplicates,
 * eviction, and a seeded random run against a model.
 *
 * Every entry carries a message whose text is its revision, so a test can
 * tell which change sits where; the sanitizers (make unit) catch a message
 * freed twice or never.  window_check runs inside every window_offer, and
 * the tests call it after the other steps.
 */
#include "check.h"
#include "window.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An entry for revision REV, as a notification would bring it. */
static entry
change(int64_t rev)
{
	char text[64];
	entry e = {.rev = rev, .seq = -1};

	snprintf(text, sizeof(text), "{\"rev\":%" PRId64 "}", rev);
	e.m = msg_new(text, strlen(text));
	return e;
}

static window_result
offer(window *w, int64_t rev)
{
	entry e = change(rev);

	return window_offer(w, &e);
}

/* Whether the ring holds exactly LO..HI, each revision's own message. */
static bool
holds(const window *w, int64_t lo, int64_t hi)
{
	if (!w->known || w->lo != lo || w->hi != hi)
		return false;
	for (int64_t r = lo; r <= hi; r++)
	{
		char text[64];
		const entry *e = window_get(w, r);

		snprintf(text, sizeof(text), "{\"rev\":%" PRId64 "}", r);
		if (e->rev != r || strcmp(msg_text(e->m), text) != 0)
			return false;
	}
	return true;
}

static void
test_in_order(void)
{
	window w;

	window_init(&w, 100);
	CHECK(!w.known && !window_gap(&w));
	CHECK(offer(&w, 5) == WINDOW_APPENDED); /* the first fixes the start */
	for (int64_t r = 6; r <= 20; r++)
		CHECK(offer(&w, r) == WINDOW_APPENDED);
	CHECK(holds(&w, 5, 20));
	CHECK(w.want == 20 && !window_gap(&w) && w.nheld == 0);
	window_clear(&w);
	CHECK(!w.known && w.history == 100);
}

static void
test_start_after_snapshot(void)
{
	window w;

	window_init(&w, 10);
	window_start(&w, 41); /* a snapshot at 41: the stream goes on at 42 */
	CHECK(w.known && w.lo == 42 && w.hi == 41 && w.want == 41);
	CHECK(offer(&w, 41) == WINDOW_DROPPED); /* the snapshot has it */
	CHECK(offer(&w, 43) == WINDOW_HELD);
	CHECK(window_gap(&w) && w.want == 43);
	CHECK(offer(&w, 42) == WINDOW_APPENDED);
	CHECK(holds(&w, 42, 43) && !window_gap(&w));
	window_clear(&w);
}

static void
test_holds_and_duplicates(void)
{
	window w;

	window_init(&w, 10);
	CHECK(offer(&w, 1) == WINDOW_APPENDED);
	CHECK(offer(&w, 4) == WINDOW_HELD);
	CHECK(offer(&w, 3) == WINDOW_HELD);
	CHECK(offer(&w, 4) == WINDOW_DROPPED); /* held already */
	CHECK(offer(&w, 1) == WINDOW_DROPPED); /* in the ring already */
	CHECK(w.nheld == 2 && w.held[0].rev == 3 && w.held[1].rev == 4);
	CHECK(window_gap(&w) && w.hi == 1 && w.want == 4);
	CHECK(offer(&w, 2) == WINDOW_APPENDED); /* 3 and 4 follow it */
	CHECK(holds(&w, 1, 4) && w.nheld == 0 && !window_gap(&w));
	window_check(&w);
	window_clear(&w);
}

static void
test_want(void)
{
	window w;

	window_init(&w, 10);
	CHECK(!window_want(&w, 9)); /* unknown: nothing to fetch after */
	CHECK(offer(&w, 1) == WINDOW_APPENDED);
	CHECK(window_want(&w, 3) && window_gap(&w)); /* too big to carry */
	CHECK(!window_want(&w, 2) && w.want == 3);	 /* want never falls */
	CHECK(offer(&w, 2) == WINDOW_APPENDED && window_gap(&w));
	CHECK(offer(&w, 3) == WINDOW_APPENDED && !window_gap(&w));
	window_check(&w);
	window_clear(&w);
}

static void
test_eviction(void)
{
	window w;

	window_init(&w, 4);
	for (int64_t r = 1; r <= 10; r++)
		CHECK(offer(&w, r) == WINDOW_APPENDED);
	CHECK(holds(&w, 7, 10) && w.cap == 4);
	CHECK(offer(&w, 7) == WINDOW_DROPPED);
	CHECK(offer(&w, 3) == WINDOW_DROPPED); /* evicted long ago */
	window_clear(&w);
}

static void
test_held_limit(void)
{
	window w;

	window_init(&w, 4);
	CHECK(offer(&w, 1) == WINDOW_APPENDED);
	for (int64_t r = 3; r <= 6; r++)
		CHECK(offer(&w, r) == WINDOW_HELD);
	CHECK(offer(&w, 7) == WINDOW_DROPPED); /* held is full: a fetch */
	CHECK(w.nheld == 4 && w.want == 7 && window_gap(&w));
	CHECK(offer(&w, 2) == WINDOW_APPENDED);
	/* 2..6 are in order now, but the ring keeps 4 of them */
	CHECK(holds(&w, 3, 6) && window_gap(&w));
	CHECK(offer(&w, 7) == WINDOW_APPENDED && holds(&w, 4, 7));
	CHECK(!window_gap(&w));
	window_clear(&w);
}

/* xorshift64*: the random run is the same for a given seed. */
static uint64_t
next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

/*
 * Revisions 1..N arrive shuffled within a short distance, some twice, some
 * never (lost notifications); whenever the window reports a gap that no
 * arrival is left to fill, the test "fetches" hi + 1..want, as document.c
 * does.  In the end the window holds the last revisions in order, every
 * revision reached the ring once, in order, and nothing leaked.
 */
static void
test_random(uint64_t seed)
{
	enum {
		N = 2000,
		HISTORY = 16
	};
	int64_t order[N];
	int64_t appended_upto = 0; /* the highest hi seen so far */
	uint64_t state = seed;
	window w;
	bool in_order = true;

	window_init(&w, HISTORY);
	window_start(&w, 0);
	for (int i = 0; i < N; i++)
		order[i] = i + 1;
	for (int i = 0; i < N; i++)
	{
		/* swap with one up to 8 ahead: late, not wildly late */
		int j = i + (int) (next_random(&state) % 8);
		int64_t t;

		if (j >= N)
			j = N - 1;
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < N; i++)
	{
		uint64_t roll = next_random(&state) % 100;

		if (roll < 5)
			continue; /* lost */
		offer(&w, order[i]);
		if (roll >= 95)
			offer(&w, order[i]); /* twice */
		if (w.hi < appended_upto)
			in_order = false;
		appended_upto = w.hi;
		if (window_gap(&w) && next_random(&state) % 10 == 0)
		{
			/* a gap fetch: everything after hi up to want */
			for (int64_t r = w.hi + 1; r <= w.want; r++)
				offer(&w, r);
		}
		window_check(&w);
	}
	for (int64_t r = w.hi + 1; r <= N; r++)
		offer(&w, r); /* the final resync */
	CHECK_MSG(in_order, "seed %" PRIu64 ": hi went back", seed);
	CHECK_MSG(holds(&w, N - HISTORY + 1, N) && w.nheld == 0 && !window_gap(&w),
			  "seed %" PRIu64 ": lo %" PRId64 " hi %" PRId64 " held %d", seed,
			  w.lo, w.hi, w.nheld);
	window_clear(&w);
}

int
main(void)
{
	test_in_order();
	test_start_after_snapshot();
	test_holds_and_duplicates();
	test_want();
	test_eviction();
	test_held_limit();
	for (uint64_t seed = 1; seed <= 50; seed++)
		test_random(seed * 0x9E3779B97F4A7C15ULL);
	return check_summary("window");
}
