/*
 * arena.c — a bump allocator over blocks from the caller's allocator.
 *
 * Blocks form a singly linked list, newest first.  A request larger than
 * half a block gets a block of its own, so big strings waste nothing and
 * small objects stay packed.  Blocks grow with the footprint (up to 1 MiB),
 * which keeps the block count logarithmic for small arenas.
 */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_BLOCK_MIN 4096
#define ARENA_BLOCK_MAX (1024 * 1024)
#define ARENA_ALIGN alignof(max_align_t)

typedef struct arena_block {
	struct arena_block *next;
	size_t size; /* usable bytes after the header */
	size_t used; /* bytes handed out */
} arena_block;

struct delta_arena {
	delta_alloc alloc;
	arena_block *blocks;
	size_t footprint; /* bytes obtained from alloc, headers included */
};

#define BLOCK_HEADER \
	((sizeof(arena_block) + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1))

static void *
libc_malloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static void
libc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

static arena_block *
arena_new_block(delta_arena *arena, size_t size)
{
	arena_block *block;

	if (size > SIZE_MAX - BLOCK_HEADER)
		return NULL;
	block = arena->alloc.malloc(arena->alloc.ctx, BLOCK_HEADER + size);
	if (block == NULL)
		return NULL;
	block->size = size;
	block->used = 0;
	arena->footprint += BLOCK_HEADER + size;
	return block;
}

delta_arena *
delta_arena_create(const delta_alloc *alloc)
{
	delta_alloc use = {libc_malloc, libc_free, NULL};
	delta_arena *arena;

	if (alloc != NULL)
		use = *alloc;
	arena = use.malloc(use.ctx, sizeof(delta_arena));
	if (arena == NULL)
		return NULL;
	arena->alloc = use;
	arena->blocks = NULL;
	arena->footprint = sizeof(delta_arena);
	return arena;
}

void
delta_arena_destroy(delta_arena *arena)
{
	arena_block *block;

	if (arena == NULL)
		return;
	block = arena->blocks;
	while (block != NULL)
	{
		arena_block *next = block->next;

		arena->alloc.free(arena->alloc.ctx, block);
		block = next;
	}
	arena->alloc.free(arena->alloc.ctx, arena);
}

void *
delta_arena_alloc(delta_arena *arena, size_t size)
{
	arena_block *block = arena->blocks;
	size_t rounded;

	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	rounded = (size + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);

	if (block != NULL && block->size - block->used >= rounded)
	{
		void *p = (char *) block + BLOCK_HEADER + block->used;

		block->used += rounded;
		return p;
	}

	{
		size_t want = arena->footprint;

		if (want < ARENA_BLOCK_MIN)
			want = ARENA_BLOCK_MIN;
		if (want > ARENA_BLOCK_MAX)
			want = ARENA_BLOCK_MAX;
		if (rounded > want / 2)
		{
			/* a big request: its own block, behind the current one so the
			 * current block's free space stays in use */
			arena_block *own = arena_new_block(arena, rounded);

			if (own == NULL)
				return NULL;
			own->used = rounded;
			if (block != NULL)
			{
				own->next = block->next;
				block->next = own;
			}
			else
			{
				own->next = NULL;
				arena->blocks = own;
			}
			return (char *) own + BLOCK_HEADER;
		}
		block = arena_new_block(arena, want);
		if (block == NULL)
			return NULL;
		block->next = arena->blocks;
		arena->blocks = block;
		block->used = rounded;
		return (char *) block + BLOCK_HEADER;
	}
}

size_t
delta_arena_footprint(const delta_arena *arena)
{
	return arena->footprint;
}
