/*
 * diff.c — delta_diff: the change that turns one document into another.
 *
 * Both documents are flattened into arrays of units: a code point of text,
 * or an embed (numbered from EMBED_BASE, compared with djson_equal).  The
 * common prefix and suffix are trimmed, and the middle is compared with
 * Myers' O(ND) algorithm in its linear-space form (bisect on the middle
 * snake, then recurse on both halves), as diff-match-patch does for Quill.
 * The search is bounded by a step budget so that two large, very different
 * documents cost bounded time: past the budget a region becomes one delete
 * and one insert, which is still a correct change, only a larger one.
 *
 * A shortest edit script often matches scattered single characters of two
 * unrelated texts, which makes many tiny operations.  cleanup() then folds
 * every equality that is no longer than the edits on both of its sides into
 * those edits (the rule of diff-match-patch's semantic cleanup, which
 * quill-delta's diff applies), so a rewritten word is one delete and one
 * insert.
 *
 * The edit script (runs of equal / deleted / inserted units) is then turned
 * into a delta like quill-delta's diff does: equal runs become retains that
 * carry the attribute differences, inserted runs copy the other document's
 * operations with their attributes.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "utf8.h"

#define EMBED_BASE 0x110000u
/* Snake steps allowed across one diff before regions are replaced whole. */
#define DIFF_STEP_BUDGET (32 * 1000 * 1000)

typedef struct unit_seq {
	uint32_t *units; /* code points, or EMBED_BASE + embed index */
	const djson_value **embeds;
	size_t count;
} unit_seq;

typedef enum run_kind {
	RUN_EQUAL,
	RUN_DELETE,
	RUN_INSERT
} run_kind;

typedef struct diff_run {
	run_kind kind;
	size_t count; /* units */
} diff_run;

typedef struct differ {
	delta_arena *arena;
	delta_error *err;
	const unit_seq *a;
	const unit_seq *b;
	int32_t *v1; /* scratch for bisect, reused by every call */
	int32_t *v2;
	int64_t budget; /* steps left */
	diff_run *runs;
	size_t nruns;
	size_t cap;
} differ;

/* (returns the constant itself, so static analysis sees the failure) */
static delta_status
oom(delta_error *err)
{
	(void) delta_fail(err, DELTA_ENOMEM, "out of memory");
	return DELTA_ENOMEM;
}

static delta_status
flatten(delta_arena *arena, const delta *doc, unit_seq *seq, delta_error *err)
{
	size_t units = 0;
	size_t embeds = 0;
	size_t i;

	for (i = 0; i < doc->count; i++)
	{
		const delta_op *op = &doc->ops[i];

		if (op->embed != NULL)
		{
			units++;
			embeds++;
		}
		else
			units += op->bytes; /* an upper bound on code points */
	}
	seq->units =
		delta_arena_alloc(arena, (units ? units : 1) * sizeof(uint32_t));
	seq->embeds = delta_arena_alloc(arena, (embeds ? embeds : 1) *
											   sizeof(djson_value *));
	if (seq->units == NULL || seq->embeds == NULL)
		return oom(err);
	seq->count = 0;
	embeds = 0;
	for (i = 0; i < doc->count; i++)
	{
		const delta_op *op = &doc->ops[i];
		const unsigned char *s = (const unsigned char *) op->text;
		size_t b = 0;

		if (op->embed != NULL)
		{
			seq->embeds[embeds] = op->embed;
			seq->units[seq->count++] = EMBED_BASE + (uint32_t) embeds++;
			continue;
		}
		while (b < op->bytes)
		{
			uint32_t cp;
			size_t k = utf8_decode(s + b, op->bytes - b, &cp);

			if (k == 0) /* cannot happen: text was validated */
				return delta_fail(err, DELTA_EINVAL,
								  "invalid UTF-8 in ops[%zu]", i);
			seq->units[seq->count++] = cp;
			b += k;
		}
	}
	return DELTA_OK;
}

static bool
unit_equal(const differ *df, uint32_t x, uint32_t y)
{
	if (x < EMBED_BASE || y < EMBED_BASE)
		return x == y;
	return djson_equal(df->a->embeds[x - EMBED_BASE],
					   df->b->embeds[y - EMBED_BASE]);
}

static delta_status
emit(differ *df, run_kind kind, size_t count)
{
	if (count == 0)
		return DELTA_OK;
	if (df->nruns > 0 && df->runs[df->nruns - 1].kind == kind)
	{
		df->runs[df->nruns - 1].count += count;
		return DELTA_OK;
	}
	if (df->nruns == df->cap)
	{
		size_t cap = df->cap ? df->cap * 2 : 16;
		diff_run *runs = delta_arena_alloc(df->arena, cap * sizeof(diff_run));

		if (runs == NULL)
			return oom(df->err);
		if (df->nruns)
			memcpy(runs, df->runs, df->nruns * sizeof(diff_run));
		df->runs = runs;
		df->cap = cap;
	}
	df->runs[df->nruns].kind = kind;
	df->runs[df->nruns].count = count;
	df->nruns++;
	return DELTA_OK;
}

static delta_status diff_range(differ *df, size_t a0, size_t a1, size_t b0,
							   size_t b1);

/*
 * Finds where a shortest edit path of a[a0,a1) into b[b0,b1) crosses its
 * middle; sets *sx, *sy (relative) and returns true, or false when the
 * budget ran out.  Both ranges are non-empty.
 */
static bool
bisect(differ *df, size_t a0, size_t a1, size_t b0, size_t b1, size_t *sx,
	   size_t *sy)
{
	const uint32_t *A = df->a->units + a0;
	const uint32_t *B = df->b->units + b0;
	int32_t n = (int32_t) (a1 - a0);
	int32_t m = (int32_t) (b1 - b0);
	int32_t max_d = (n + m + 1) / 2;
	int32_t off = max_d;
	int32_t vlen = 2 * max_d + 2;
	int32_t delta = n - m;
	bool front = (delta % 2) != 0;
	int32_t k1start = 0, k1end = 0, k2start = 0, k2end = 0;
	int32_t *v1 = df->v1;
	int32_t *v2 = df->v2;
	int32_t d;
	int32_t i;

	if (df->budget <= 0 || v1 == NULL)
		return false;
	for (i = 0; i < vlen; i++)
	{
		v1[i] = -1;
		v2[i] = -1;
	}
	v1[off + 1] = 0;
	v2[off + 1] = 0;
	for (d = 0; d < max_d; d++)
	{
		int32_t k;

		if (df->budget <= 0)
			return false;
		for (k = -d + k1start; k <= d - k1end; k += 2)
		{
			int32_t ko = off + k;
			int32_t x;
			int32_t y;

			if (k == -d || (k != d && v1[ko - 1] < v1[ko + 1]))
				x = v1[ko + 1];
			else
				x = v1[ko - 1] + 1;
			y = x - k;
			df->budget--;
			while (x < n && y < m && unit_equal(df, A[x], B[y]))
			{
				x++;
				y++;
				df->budget--;
			}
			v1[ko] = x;
			if (x > n)
				k1end += 2;
			else if (y > m)
				k1start += 2;
			else if (front)
			{
				int32_t k2o = off + delta - k;

				if (k2o >= 0 && k2o < vlen && v2[k2o] != -1 &&
					x >= n - v2[k2o])
				{
					*sx = (size_t) x;
					*sy = (size_t) y;
					return true;
				}
			}
		}
		for (k = -d + k2start; k <= d - k2end; k += 2)
		{
			int32_t ko = off + k;
			int32_t x;
			int32_t y;

			if (k == -d || (k != d && v2[ko - 1] < v2[ko + 1]))
				x = v2[ko + 1];
			else
				x = v2[ko - 1] + 1;
			y = x - k;
			df->budget--;
			while (x < n && y < m &&
				   unit_equal(df, A[n - x - 1], B[m - y - 1]))
			{
				x++;
				y++;
				df->budget--;
			}
			v2[ko] = x;
			if (x > n)
				k2end += 2;
			else if (y > m)
				k2start += 2;
			else if (!front)
			{
				int32_t k1o = off + delta - k;

				if (k1o >= 0 && k1o < vlen && v1[k1o] != -1)
				{
					int32_t x1 = v1[k1o];
					int32_t y1 = off + x1 - k1o;

					if (x1 >= n - x)
					{
						*sx = (size_t) x1;
						*sy = (size_t) y1;
						return true;
					}
				}
			}
		}
	}
	return false;
}

static delta_status
diff_range(differ *df, size_t a0, size_t a1, size_t b0, size_t b1)
{
	size_t prefix = 0;
	size_t suffix = 0;
	size_t sx;
	size_t sy;
	delta_status st;

	while (
		a0 + prefix < a1 && b0 + prefix < b1 &&
		unit_equal(df, df->a->units[a0 + prefix], df->b->units[b0 + prefix]))
		prefix++;
	if ((st = emit(df, RUN_EQUAL, prefix)) != DELTA_OK)
		return st;
	a0 += prefix;
	b0 += prefix;
	while (a1 - suffix > a0 && b1 - suffix > b0 &&
		   unit_equal(df, df->a->units[a1 - suffix - 1],
					  df->b->units[b1 - suffix - 1]))
		suffix++;
	a1 -= suffix;
	b1 -= suffix;

	if (a0 == a1 || b0 == b1 || !bisect(df, a0, a1, b0, b1, &sx, &sy))
	{
		if ((st = emit(df, RUN_DELETE, a1 - a0)) != DELTA_OK ||
			(st = emit(df, RUN_INSERT, b1 - b0)) != DELTA_OK)
			return st;
	}
	else if ((st = diff_range(df, a0, a0 + sx, b0, b0 + sy)) != DELTA_OK ||
			 (st = diff_range(df, a0 + sx, a1, b0 + sy, b1)) != DELTA_OK)
		return st;
	return emit(df, RUN_EQUAL, suffix);
}

/* One edit between two equalities: eq units kept, then del and ins. */
typedef struct diff_group {
	size_t eq;
	size_t del;
	size_t ins;
} diff_group;

static size_t
max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/*
 * Folds small equalities into the edits around them, then rewrites
 * df->runs from the result.  Works on a stack, so an edit that grows by a
 * fold can fold the equality before it too: linear in the number of runs.
 */
static delta_status
cleanup(differ *df)
{
	diff_group *stack;
	size_t top = 0;
	size_t tail = 0; /* equality after the last edit */
	size_t r;

	stack = delta_arena_alloc(df->arena, (df->nruns + 1) * sizeof(diff_group));
	if (stack == NULL)
		return oom(df->err);
	for (r = 0; r < df->nruns;)
	{
		diff_group g = {0, 0, 0};

		if (df->runs[r].kind == RUN_EQUAL)
			g.eq = df->runs[r++].count;
		while (r < df->nruns && df->runs[r].kind != RUN_EQUAL)
		{
			if (df->runs[r].kind == RUN_DELETE)
				g.del += df->runs[r].count;
			else
				g.ins += df->runs[r].count;
			r++;
		}
		if (g.del == 0 && g.ins == 0)
		{
			tail = g.eq; /* only the last group can be edit-less */
			break;
		}
		stack[top++] = g;
		while (top >= 2)
		{
			diff_group *s = &stack[top - 2];
			diff_group *t = &stack[top - 1];

			if (t->eq > max_size(s->del, s->ins) ||
				t->eq > max_size(t->del, t->ins))
				break;
			s->del += t->eq + t->del;
			s->ins += t->eq + t->ins;
			top--;
		}
	}
	df->nruns = 0;
	for (r = 0; r < top; r++)
	{
		delta_status st;

		if ((st = emit(df, RUN_EQUAL, stack[r].eq)) != DELTA_OK ||
			(st = emit(df, RUN_DELETE, stack[r].del)) != DELTA_OK ||
			(st = emit(df, RUN_INSERT, stack[r].ins)) != DELTA_OK)
			return st;
	}
	return emit(df, RUN_EQUAL, tail);
}

/* UTF-16 units of seq[from, from + count). */
static int64_t
units_width(const unit_seq *seq, size_t from, size_t count)
{
	int64_t w = 0;
	size_t i;

	for (i = from; i < from + count; i++)
		w += (seq->units[i] >= 0x10000 && seq->units[i] < EMBED_BASE) ? 2 : 1;
	return w;
}

static delta_status
build(differ *df, const delta *a, const delta *b, delta *out)
{
	delta_iter ia;
	delta_iter ib;
	size_t pa = 0; /* units of a consumed */
	size_t pb = 0;
	size_t r;
	delta_status st = DELTA_OK;

	delta_iter_init(&ia, a, "the first document");
	delta_iter_init(&ib, b, "the second document");
	for (r = 0; r < df->nruns && st == DELTA_OK; r++)
	{
		const diff_run *run = &df->runs[r];
		int64_t length;

		switch (run->kind)
		{
			case RUN_INSERT:
				length = units_width(df->b, pb, run->count);
				pb += run->count;
				while (length > 0 && st == DELTA_OK)
				{
					delta_op y;

					st = delta_iter_next(&ib, length, &y, df->err);
					if (st == DELTA_OK)
						st = delta_push(df->arena, out, &y, df->err);
					length -= y.length;
				}
				break;
			case RUN_DELETE:
				length = units_width(df->a, pa, run->count);
				pa += run->count;
				{
					delta_op del =
						{DELTA_OP_DELETE, length, NULL, 0, NULL, NULL};

					st = delta_push(df->arena, out, &del, df->err);
				}
				while (length > 0 && st == DELTA_OK)
				{
					delta_op x;

					st = delta_iter_next(&ia, length, &x, df->err);
					length -= x.length;
				}
				break;
			case RUN_EQUAL:
				length = units_width(df->a, pa, run->count);
				pa += run->count;
				pb += run->count;
				while (length > 0 && st == DELTA_OK)
				{
					int64_t take = length;
					delta_op x;
					delta_op y;
					delta_op keep = {DELTA_OP_RETAIN, 0, NULL, 0, NULL, NULL};

					if (delta_iter_peek_length(&ia) < take)
						take = delta_iter_peek_length(&ia);
					if (delta_iter_peek_length(&ib) < take)
						take = delta_iter_peek_length(&ib);
					if ((st = delta_iter_next(&ia, take, &x, df->err)) !=
							DELTA_OK ||
						(st = delta_iter_next(&ib, take, &y, df->err)) !=
							DELTA_OK)
						break;
					keep.length = take;
					st = delta_attr_diff(df->arena, x.attributes, y.attributes,
										 &keep.attributes, df->err);
					if (st == DELTA_OK)
						st = delta_push(df->arena, out, &keep, df->err);
					length -= take;
				}
				break;
		}
	}
	return st;
}

delta_status
delta_diff(delta_arena *arena, const delta *a, const delta *b, delta **out,
		   delta_error *err)
{
	unit_seq sa;
	unit_seq sb;
	differ df;
	delta *d;
	delta_status st;

	if ((st = delta_require_document(a, "the first document", err)) !=
			DELTA_OK ||
		(st = delta_require_document(b, "the second document", err)) !=
			DELTA_OK)
		return st;
	if ((st = flatten(arena, a, &sa, err)) != DELTA_OK ||
		(st = flatten(arena, b, &sb, err)) != DELTA_OK)
		return st;

	memset(&df, 0, sizeof(df));
	df.arena = arena;
	df.err = err;
	df.a = &sa;
	df.b = &sb;
	df.budget = DIFF_STEP_BUDGET;
	if (sa.count + sb.count > (size_t) INT32_MAX / 2)
		df.budget = 0; /* beyond int32 indexes: replace whole */
	else
	{
		size_t vlen = sa.count + sb.count + 4;

		df.v1 = delta_arena_alloc(arena, vlen * sizeof(int32_t));
		df.v2 = delta_arena_alloc(arena, vlen * sizeof(int32_t));
		if (df.v1 == NULL || df.v2 == NULL)
			return oom(err);
	}
	if ((st = diff_range(&df, 0, sa.count, 0, sb.count)) != DELTA_OK ||
		(st = cleanup(&df)) != DELTA_OK)
		return st;
	if ((d = delta_new(arena, err)) == NULL)
		return DELTA_ENOMEM;
	if ((st = build(&df, a, b, d)) != DELTA_OK)
		return st;
	delta_chop(d);
	*out = d;
	return DELTA_OK;
}
