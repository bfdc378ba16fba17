/*
 * arena.h — the core's only memory owner.
 *
 * Every object the core creates (parsed JSON, deltas, strings, scratch space)
 * lives in an arena and is released all at once by delta_arena_destroy().
 * The arena takes its blocks from an allocator the caller supplies, so the
 * extension can back it with palloc and tests can inject failures.  Nothing
 * here is global; an arena is used by one thread at a time.
 */
#ifndef COLLAB_CORE_ARENA_H
#define COLLAB_CORE_ARENA_H

#include <stddef.h>

/* A caller-supplied allocator.  malloc returns NULL on failure. */
typedef struct delta_alloc {
	void *(*malloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
} delta_alloc;

typedef struct delta_arena delta_arena;

/*
 * Creates an arena drawing on alloc (NULL: the C library's malloc and free).
 * alloc is copied.  Returns NULL when the first block cannot be allocated.
 */
delta_arena *delta_arena_create(const delta_alloc *alloc);

/* Releases every block of the arena and the arena itself.  NULL is a no-op. */
void delta_arena_destroy(delta_arena *arena);

/*
 * Returns size bytes aligned for any object, or NULL when the allocator
 * fails.  Memory is not zeroed.
 */
void *delta_arena_alloc(delta_arena *arena, size_t size);

/* Bytes obtained from the allocator so far (for benchmarks and tests). */
size_t delta_arena_footprint(const delta_arena *arena);

#endif
