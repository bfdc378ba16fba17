/*
 * core_bench.c — micro-benchmarks of the Delta core (core/).
 *
 * Measures, in one process: transform and compose of typing-sized changes;
 * compose(document, small change) and apply on realistic documents of about
 * 1 KB, 100 KB and 1 MB of JSON (runs of text with inline formats, emoji,
 * CJK, accents, images, block formats on the newlines); parse and write of
 * those documents; diff of the 100 KB document against copies with 1, 10
 * and 100 scattered one-word edits; and the arena footprint of one
 * operation (delta_arena_footprint).
 *
 * Every timing is repeated until it has run for at least MEASURE_MIN_NS
 * (0.2 s), and the median of RUNS such runs is reported: wall-clock ns per
 * operation (CLOCK_MONOTONIC), the thread's CPU ns per operation (the same
 * on an idle machine; on a busy one only CPU time is trustworthy), the
 * ratio to a baseline measured in the same process (FNV-1a over 1 KB, so
 * that machines compare), ns per KB of document JSON, and minor page
 * faults per operation.  The ratio of the per-KB cost at 100 KB and 1 MB
 * to that at 1 KB shows how an operation scales: 1.00 is linear.
 *
 * Document operations run twice: over malloc (each batch gets a fresh
 * arena, so a large operation pays for fresh pages the way a caller does)
 * and over a recycling allocator that hands the same blocks back every
 * time (what is left is the core's own work plus cache misses).  Nothing
 * is asserted; bench/run builds and runs this, and docs/bench-core.md
 * records numbers and how to read them.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "delta.h"

#define MEASURE_MIN_NS (200 * 1000 * 1000) /* 0.2 s per run */
#define RUNS 5

static void
die(const char *what, const delta_error *err)
{
	fprintf(stderr, "core_bench: %s: %s\n", what, err ? err->message : "");
	exit(1);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- the harness ------------------------------------------------------- */

/* One operation, run in arena; returns false on failure. */
typedef bool (*bench_fn)(delta_arena *arena, void *ctx);

/* Sink for results, so the compiler cannot drop the work. */
static volatile uintptr_t sink;

/* What one measurement gives: medians over RUNS runs. */
typedef struct timing {
	double wall_ns; /* CLOCK_MONOTONIC per operation */
	double cpu_ns;	/* this thread's CPU time per operation */
	double faults;	/* minor page faults per operation */
} timing;

static int64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long
minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static double
median(double *v, int n)
{
	int r;

	for (r = 1; r < n; r++)
	{
		double x = v[r];
		int k = r;

		for (; k > 0 && v[k - 1] > x; k--)
			v[k] = v[k - 1];
		v[k] = x;
	}
	return v[n / 2];
}

/* The allocator the arenas use (NULL: malloc and free). */
static const delta_alloc *bench_alloc;

/*
 * Runs fn in batches of batch operations (fresh arena per batch) until
 * MEASURE_MIN_NS have passed; RUNS times; returns the medians.
 */
static timing
measure(bench_fn fn, void *ctx, int batch)
{
	double wall[RUNS];
	double cpu[RUNS];
	double faults[RUNS];
	timing t;
	int r;

	for (r = 0; r < RUNS; r++)
	{
		int64_t start = now_ns();
		int64_t cpu_start = cpu_ns();
		long faults_start = minor_faults();
		int64_t elapsed;
		int64_t ops = 0;

		do
		{
			delta_arena *arena = delta_arena_create(bench_alloc);
			int i;

			if (arena == NULL)
				die("arena", NULL);
			for (i = 0; i < batch; i++)
				if (!fn(arena, ctx))
					die("operation failed", NULL);
			delta_arena_destroy(arena);
			ops += batch;
			elapsed = now_ns() - start;
		} while (elapsed < MEASURE_MIN_NS);
		wall[r] = (double) elapsed / (double) ops;
		cpu[r] = (double) (cpu_ns() - cpu_start) / (double) ops;
		faults[r] = (double) (minor_faults() - faults_start) / (double) ops;
	}
	t.wall_ns = median(wall, RUNS);
	t.cpu_ns = median(cpu, RUNS);
	t.faults = median(faults, RUNS);
	return t;
}

/* Bytes the arena took from the allocator for one operation. */
static size_t
footprint(bench_fn fn, void *ctx)
{
	delta_arena *arena = delta_arena_create(NULL);
	size_t bytes;

	if (arena == NULL || !fn(arena, ctx))
		die("footprint run", NULL);
	bytes = delta_arena_footprint(arena);
	delta_arena_destroy(arena);
	return bytes;
}

/*
 * A recycling allocator: freed blocks wait on a list and serve the next
 * request of the same size.  A benchmark repeats the same operation, so
 * after the first batch every block is reused and no page is touched for
 * the first time: what remains is the core's own work, without the kernel's
 * cost of handing out fresh pages (which malloc incurs for every block of
 * 128 KB or more: it maps them on malloc and unmaps them on free).
 */
typedef struct recycled {
	struct recycled *next;
	size_t size;
	max_align_t pad; /* keeps the block after it aligned */
} recycled;

static recycled *recycle_list;

static void *
recycle_malloc(void *ctx, size_t size)
{
	recycled **p;
	recycled *r;

	(void) ctx;
	for (p = &recycle_list; *p != NULL; p = &(*p)->next)
		if ((*p)->size == size)
		{
			r = *p;
			*p = r->next;
			return r + 1;
		}
	r = malloc(sizeof(recycled) + size);
	if (r == NULL)
		return NULL;
	r->size = size;
	return r + 1;
}

static void
recycle_free(void *ctx, void *ptr)
{
	recycled *r = (recycled *) ptr - 1;

	(void) ctx;
	r->next = recycle_list;
	recycle_list = r;
}

static void
recycle_release(void)
{
	while (recycle_list != NULL)
	{
		recycled *next = recycle_list->next;

		free(recycle_list);
		recycle_list = next;
	}
}

static const delta_alloc recycling = {recycle_malloc, recycle_free, NULL};

/* --- the baseline: FNV-1a over 1 KB ---------------------------------------
 */

static unsigned char baseline_buf[1024];

static bool
baseline_op(delta_arena *arena, void *ctx)
{
	uint32_t h = 2166136261u;
	size_t i;

	(void) arena;
	(void) ctx;
	for (i = 0; i < sizeof(baseline_buf); i++)
	{
		h ^= baseline_buf[i];
		h *= 16777619u;
	}
	sink = h;
	return true;
}

/* --- realistic documents --------------------------------------------------
 */

/* xorshift64*, fixed seed: every run builds the same documents */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t) ((rng_state * UINT64_C(2685821657736338717)) >> 33) % n;
}

static const char *const words[] = {
	"the",
	"collaborative",
	"editor",
	"keeps",
	"every",
	"change",
	"in",
	"order",
	"and",
	"clients",
	"see",
	"them",
	"quickly",
	"caf\xc3\xa9",
	"na\xc3\xafve",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	"r\xc3\xa9sum\xc3\xa9",
	"document",
	"with",
	"text",
};

static const char *const emoji[] = {
	"\xf0\x9f\x98\x80",
	"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
	"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7",
};

static const char *const inline_attrs[] = {
	"{\"bold\":true}",
	"{\"italic\":true}",
	"{\"link\":\"https://example.com/a/b?c=d\"}",
	"{\"bold\":true,\"color\":\"#cc0000\"}",
	"{\"code\":true}",
};

static const char *const line_attrs[] = {
	NULL,
	NULL,
	NULL,
	"{\"header\":2}",
	"{\"list\":\"bullet\"}",
	"{\"list\":\"ordered\",\"indent\":1}",
	"{\"blockquote\":true}",
};

/* Appends s to the JSON string being built (no escaping needed). */
static void
text_append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap)
	{
		*cap = (*cap + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			die("out of memory", NULL);
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/*
 * A document's JSON of at least target bytes: paragraphs of words, a few
 * formatted runs per line, an emoji now and then, an image every few
 * lines, each line ending with a newline that sometimes carries a block
 * format.  Returns malloc'd text.
 */
static char *
make_document_json(size_t target, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	size_t cap = 0;
	int line = 0;

	text_append(&buf, &len, &cap, "{\"ops\":[");
	while (len < target)
	{
		int runs = 1 + (int) rnd(4);
		int r;
		const char *la;

		for (r = 0; r < runs; r++)
		{
			int n = 3 + (int) rnd(10);
			int k;
			const char *ia = r % 2 ? inline_attrs[rnd(5)] : NULL;

			text_append(&buf, &len, &cap, "{\"insert\":\"");
			for (k = 0; k < n; k++)
			{
				if (rnd(25) == 0)
					text_append(&buf, &len, &cap, emoji[rnd(3)]);
				else
					text_append(&buf, &len, &cap, words[rnd(20)]);
				text_append(&buf, &len, &cap, " ");
			}
			text_append(&buf, &len, &cap, "\"");
			if (ia != NULL)
			{
				text_append(&buf, &len, &cap, ",\"attributes\":");
				text_append(&buf, &len, &cap, ia);
			}
			text_append(&buf, &len, &cap, "},");
		}
		if (line % 5 == 4)
			text_append(
				&buf, &len, &cap,
				"{\"insert\":{\"image\":\"https://example.com/i.png\"}},");
		la = line_attrs[rnd(7)];
		text_append(&buf, &len, &cap, "{\"insert\":\"\\n\"");
		if (la != NULL)
		{
			text_append(&buf, &len, &cap, ",\"attributes\":");
			text_append(&buf, &len, &cap, la);
		}
		text_append(&buf, &len, &cap, "},");
		line++;
	}
	buf[len - 1] = ']'; /* the last comma */
	text_append(&buf, &len, &cap, "}");
	*out_len = len;
	return buf;
}

/* --- the operations --------------------------------------------------------
 */

typedef struct pair_ctx {
	const delta *a;
	const delta *b;
} pair_ctx;

static bool
op_transform(delta_arena *arena, void *ctx)
{
	pair_ctx *p = ctx;
	delta *out;

	if (delta_transform(arena, p->a, p->b, true, &out, NULL) != DELTA_OK)
		return false;
	sink = (uintptr_t) out->count;
	return true;
}

static bool
op_compose(delta_arena *arena, void *ctx)
{
	pair_ctx *p = ctx;
	delta *out;

	if (delta_compose(arena, p->a, p->b, &out, NULL) != DELTA_OK)
		return false;
	sink = (uintptr_t) out->count;
	return true;
}

static bool
op_apply(delta_arena *arena, void *ctx)
{
	pair_ctx *p = ctx;
	delta *out;

	if (delta_apply(arena, p->a, p->b, &out, NULL) != DELTA_OK)
		return false;
	sink = (uintptr_t) out->count;
	return true;
}

static bool
op_diff(delta_arena *arena, void *ctx)
{
	pair_ctx *p = ctx;
	delta *out;

	if (delta_diff(arena, p->a, p->b, &out, NULL) != DELTA_OK)
		return false;
	sink = (uintptr_t) out->count;
	return true;
}

typedef struct text_ctx {
	const char *json;
	size_t len;
	const delta *d;
} text_ctx;

static bool
op_parse(delta_arena *arena, void *ctx)
{
	text_ctx *t = ctx;
	delta *out;

	if (delta_parse(arena, t->json, t->len, &out, NULL) != DELTA_OK)
		return false;
	sink = (uintptr_t) out->count;
	return true;
}

static bool
op_write(delta_arena *arena, void *ctx)
{
	text_ctx *t = ctx;
	delta_buf buf;

	delta_buf_init(&buf, arena);
	if (delta_write(&buf, t->d, NULL) != DELTA_OK)
		return false;
	sink = (uintptr_t) buf.len;
	return true;
}

static bool
op_parse_write(delta_arena *arena, void *ctx)
{
	text_ctx *t = ctx;
	delta *d;
	delta_buf buf;

	if (delta_parse(arena, t->json, t->len, &d, NULL) != DELTA_OK)
		return false;
	delta_buf_init(&buf, arena);
	if (delta_write(&buf, d, NULL) != DELTA_OK)
		return false;
	sink = (uintptr_t) buf.len;
	return true;
}

/* --- reporting -------------------------------------------------------------
 */

static double baseline_ns;
static double busy_max; /* the largest wall/cpu seen */

static void
note_busy(const timing *t)
{
	if (t->cpu_ns > 0 && t->wall_ns / t->cpu_ns > busy_max)
		busy_max = t->wall_ns / t->cpu_ns;
}

static void
report_small(const char *name, timing t, size_t arena_bytes)
{
	note_busy(&t);
	printf("%-36s %10.0f %10.0f %8.2f %10zu\n", name, t.wall_ns, t.cpu_ns,
		   t.wall_ns / baseline_ns, arena_bytes);
	fflush(stdout);
}

static void
report_doc(const char *name, timing t, timing r, double kb, size_t arena_bytes)
{
	note_busy(&t);
	note_busy(&r);
	printf("%-28s %11.0f %11.0f %9.2f %8.0f %8.1f %9zu | %11.0f %8.0f\n", name,
		   t.wall_ns, t.cpu_ns, t.wall_ns / baseline_ns, t.wall_ns / kb,
		   t.faults, (arena_bytes + 512) / 1024, r.cpu_ns, r.cpu_ns / kb);
	fflush(stdout);
}

static delta *
parse_or_die(delta_arena *arena, const char *json, size_t len)
{
	delta *d;
	delta_error err;

	if (delta_parse(arena, json, len, &d, &err) != DELTA_OK)
		die("parse", &err);
	return d;
}

static delta *
parse_str(delta_arena *arena, const char *json)
{
	return parse_or_die(arena, json, strlen(json));
}

/* A typing-sized change: keep `at` units (an op boundary of doc), insert. */
static delta *
typing_change(delta_arena *arena, int64_t at, const char *text)
{
	char json[128];

	snprintf(json, sizeof(json),
			 "[{\"retain\":%" PRId64 "},{\"insert\":\"%s\"}]", at, text);
	return parse_str(arena, json);
}

/* The position where the op in the middle of doc starts. */
static int64_t
middle_boundary(const delta *doc)
{
	int64_t at = 0;
	size_t i;

	for (i = 0; i < doc->count / 2; i++)
		at += doc->ops[i].length;
	return at;
}

/*
 * A copy of doc's JSON with `edits` scattered small edits: each replaces a
 * word "the" by "THE" or "editor" by "writer" at evenly spaced places.
 */
static char *
edited_copy(const char *json, size_t len, int edits)
{
	char *copy = malloc(len + 1);
	int done = 0;
	size_t step = len / (size_t) (edits + 1);
	size_t from = step;

	if (copy == NULL)
		die("out of memory", NULL);
	memcpy(copy, json, len + 1);
	while (done < edits && from < len)
	{
		char *hit = strstr(copy + from, " the ");

		if (hit == NULL)
			break;
		memcpy(hit + 1, "THE", 3);
		done++;
		from = (size_t) (hit - copy) + step;
	}
	return copy;
}

/* One document operation: timed over malloc and over recycled blocks. */
typedef struct doc_op {
	const char *name;
	bench_fn fn;
} doc_op;

int
main(void)
{
	static const size_t sizes[] = {1024, 100 * 1024, 1024 * 1024};
	static const char *const size_names[] = {"1 KB", "100 KB", "1 MB"};
	static const doc_op doc_ops[] = {
		{"compose(doc, typing)", op_compose},
		{"apply(doc, typing)", op_apply},
		{"parse", op_parse},
		{"write", op_write},
		{"parse+write", op_parse_write},
	};
	enum {
		NOPS = sizeof(doc_ops) / sizeof(doc_ops[0])
	};
	delta_arena *keep = delta_arena_create(NULL); /* inputs live here */
	double per_kb[NOPS][3];
	double per_kb_recycled[NOPS][3];
	double baseline_end;
	char name[64];
	size_t s;
	size_t k;
	pair_ctx pair;
	timing t;

	if (keep == NULL)
		die("arena", NULL);
	memset(baseline_buf, 0x5a, sizeof(baseline_buf));
	t = measure(baseline_op, NULL, 1000);
	baseline_ns = t.wall_ns;
	printf("baseline: FNV-1a over 1 KB = %.1f ns (cpu %.1f ns); \"x base\" "
		   "is ns/op divided by it\n",
		   t.wall_ns, t.cpu_ns);
	printf("every figure: median of %d runs of >= %.1f s each; ns/op is "
		   "wall time (CLOCK_MONOTONIC),\ncpu ns/op this thread's CPU "
		   "time; faults: minor page faults per op;\narena: "
		   "delta_arena_footprint after one op; recycled: cpu ns/op over "
		   "the recycling allocator\n\n",
		   RUNS, MEASURE_MIN_NS / 1e9);

	/* typing-sized changes */
	printf("%-36s %10s %10s %8s %10s\n", "small changes", "ns/op", "cpu ns/op",
		   "x base", "arena B");
	pair.a = parse_str(keep, "[{\"retain\":120},{\"insert\":\"a\"}]");
	pair.b = parse_str(keep, "[{\"retain\":95},{\"insert\":\"b\"}]");
	report_small("transform (retain+insert, x2)",
				 measure(op_transform, &pair, 256),
				 footprint(op_transform, &pair));
	pair.a = parse_str(keep, "[{\"retain\":120},{\"insert\":\"a\","
							 "\"attributes\":{\"bold\":true}}]");
	pair.b = parse_str(keep,
					   "[{\"retain\":118},{\"delete\":1},{\"insert\":\"b\"}]");
	report_small("transform (attrs; delete+insert)",
				 measure(op_transform, &pair, 256),
				 footprint(op_transform, &pair));
	pair.a = parse_str(keep, "[{\"retain\":120},{\"insert\":\"a\"}]");
	pair.b = parse_str(keep, "[{\"retain\":121},{\"insert\":\"b\"}]");
	report_small("compose (retain+insert, x2)",
				 measure(op_compose, &pair, 256),
				 footprint(op_compose, &pair));
	pair.b = parse_str(keep, "[{\"retain\":60},{\"retain\":5,\"attributes\":"
							 "{\"bold\":true}},{\"delete\":3}]");
	report_small("compose (typing; format+delete)",
				 measure(op_compose, &pair, 256),
				 footprint(op_compose, &pair));
	printf("\n");

	printf("%-28s %11s %11s %9s %8s %8s %9s | %11s %8s\n", "documents",
		   "ns/op", "cpu ns/op", "x base", "ns/KB", "faults", "arena KB",
		   "recycled", "ns/KB");
	for (s = 0; s < 3; s++)
	{
		size_t json_len;
		char *json = make_document_json(sizes[s], &json_len);
		delta *doc = parse_or_die(keep, json, json_len);
		double kb = (double) json_len / 1024.0;
		int batch = s == 0 ? 64 : 1;
		text_ctx text = {json, json_len, doc};

		printf("document %s: %zu bytes of JSON, %zu ops, length %" PRId64
			   " (UTF-16 units)\n",
			   size_names[s], json_len, doc->count, delta_length(doc));
		pair.a = doc;
		pair.b = typing_change(keep, middle_boundary(doc), "x");
		for (k = 0; k < NOPS; k++)
		{
			void *ctx = k < 2 ? (void *) &pair : (void *) &text;
			timing fresh;
			timing reused;

			bench_alloc = NULL;
			fresh = measure(doc_ops[k].fn, ctx, batch);
			bench_alloc = &recycling;
			reused = measure(doc_ops[k].fn, ctx, batch);
			bench_alloc = NULL;
			recycle_release();
			per_kb[k][s] = fresh.cpu_ns / kb;
			per_kb_recycled[k][s] = reused.cpu_ns / kb;
			snprintf(name, sizeof(name), "  %s", doc_ops[k].name);
			report_doc(name, fresh, reused, kb, footprint(doc_ops[k].fn, ctx));
		}
		if (s == 1)
		{
			static const int edit_counts[] = {1, 10, 100};
			size_t e;

			for (e = 0; e < 3; e++)
			{
				char *edited = edited_copy(json, json_len, edit_counts[e]);
				timing fresh;
				timing reused;

				pair.a = doc;
				pair.b = parse_or_die(keep, edited, json_len);
				fresh = measure(op_diff, &pair, 1);
				bench_alloc = &recycling;
				reused = measure(op_diff, &pair, 1);
				bench_alloc = NULL;
				recycle_release();
				snprintf(name, sizeof(name), "  diff(doc, %d edit%s)",
						 edit_counts[e], edit_counts[e] > 1 ? "s" : "");
				report_doc(name, fresh, reused, kb, footprint(op_diff, &pair));
				free(edited);
			}
			/* the worst case: another document of the same words, where
			 * Myers' search runs into the core's step budget */
			{
				size_t other_len;
				char *other = make_document_json(sizes[s], &other_len);
				timing fresh;
				timing reused;

				pair.a = doc;
				pair.b = parse_or_die(keep, other, other_len);
				fresh = measure(op_diff, &pair, 1);
				bench_alloc = &recycling;
				reused = measure(op_diff, &pair, 1);
				bench_alloc = NULL;
				recycle_release();
				report_doc("  diff(doc, unrelated doc)", fresh, reused, kb,
						   footprint(op_diff, &pair));
				free(other);
			}
		}
		free(json);
	}

	/* one long text op, as after pasting plain text: the typed character
	 * merges with the half before it, which is copied */
	{
		size_t n = 1024 * 1024;
		char *json = malloc(n + 64);
		size_t len;
		delta *doc;
		timing fresh;
		timing reused;

		if (json == NULL)
			die("out of memory", NULL);
		len = (size_t) sprintf(json, "[{\"insert\":\"");
		while (len < n)
			len += (size_t) sprintf(json + len, "%s", "plain text ");
		len += (size_t) sprintf(json + len, "\\n\"}]");
		doc = parse_or_die(keep, json, len);
		printf("one text op of %zu bytes (pasted plain text)\n", len);
		pair.a = doc;
		pair.b = typing_change(keep, delta_length(doc) / 2, "x");
		fresh = measure(op_apply, &pair, 1);
		bench_alloc = &recycling;
		reused = measure(op_apply, &pair, 1);
		bench_alloc = NULL;
		recycle_release();
		report_doc("  apply(doc, typing)", fresh, reused,
				   (double) len / 1024.0, footprint(op_apply, &pair));
		free(json);
	}

	printf("\nscaling: cpu ns/KB at 100 KB and at 1 MB over cpu ns/KB at "
		   "1 KB (1.00 = linear)\n");
	printf("(and 1 MB over 100 KB, where fixed costs no longer count)\n");
	printf("%-28s %7s %7s %9s | %7s %7s %9s (recycled)\n", "", "100 KB",
		   "1 MB", "1MB/100KB", "100 KB", "1 MB", "1MB/100KB");
	for (k = 0; k < NOPS; k++)
		printf("  %-26s %7.2f %7.2f %9.2f | %7.2f %7.2f %9.2f\n",
			   doc_ops[k].name, per_kb[k][1] / per_kb[k][0],
			   per_kb[k][2] / per_kb[k][0], per_kb[k][2] / per_kb[k][1],
			   per_kb_recycled[k][1] / per_kb_recycled[k][0],
			   per_kb_recycled[k][2] / per_kb_recycled[k][0],
			   per_kb_recycled[k][2] / per_kb_recycled[k][1]);

	baseline_end = measure(baseline_op, NULL, 1000).wall_ns;
	printf("\nbaseline again at the end: %.1f ns (%+.0f%%)\n", baseline_end,
		   100.0 * (baseline_end - baseline_ns) / baseline_ns);
	if (busy_max > 1.10 || baseline_end > baseline_ns * 1.10 ||
		baseline_end < baseline_ns * 0.90)
		printf("warning: the machine was busy (wall time up to %.2fx CPU "
			   "time): wall-clock figures are inflated, compare cpu ns/op\n",
			   busy_max);

	delta_arena_destroy(keep);
	return 0;
}
