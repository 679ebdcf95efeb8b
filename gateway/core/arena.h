/* Per-request arena (nginx pools, h2o req->pool). Allocate freely while
 * serving a request, then free everything at once with gw_arena_free.
 * Cleanup callbacks registered on the arena (close a curl handle, cancel a
 * pending Redis callback, drop a reference) run at free time, in reverse
 * registration order, before any memory is released, so a cleanup may
 * still read arena memory.
 *
 * Memory from an arena is never freed individually; do not pass it to
 * gw_free. An arena is not thread-safe: use it from one thread at a time.
 * All allocation goes through gw_malloc, so failure injection applies. */
#ifndef GW_CORE_ARENA_H
#define GW_CORE_ARENA_H
#include <stddef.h>

typedef struct gw_arena gw_arena;

typedef void (*gw_arena_cleanup_cb)(void *data);

/* New arena whose regular blocks hold block_size bytes (0 means 4096).
 * The first block is allocated lazily. NULL on OOM. */
gw_arena *gw_arena_new(size_t block_size);

/* size bytes, 16-byte aligned, uninitialised, valid until gw_arena_free.
 * Requests larger than a quarter of the block size get a block of their own
 * so they do not waste the current one. NULL on OOM (arena still usable).
 * size 0 returns a valid unique pointer. */
void *gw_arena_alloc(gw_arena *a, size_t size);

/* Like gw_arena_alloc, zero-filled. */
void *gw_arena_calloc(gw_arena *a, size_t size);

/* NUL-terminated copy of at most n bytes of s (stops at a NUL in s).
 * NULL on OOM or when s is NULL. */
char *gw_arena_strndup(gw_arena *a, const char *s, size_t n);

/* NUL-terminated copy of s. NULL on OOM or when s is NULL. */
char *gw_arena_strdup(gw_arena *a, const char *s);

/* printf into arena memory. NULL on OOM or format error. */
char *gw_arena_printf(gw_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Register cb(data) to run when the arena is freed. Returns GW_ENOMEM if
 * the registration itself could not be stored: then cb will NOT be called,
 * and the caller must clean up now. */
int gw_arena_on_cleanup(gw_arena *a, gw_arena_cleanup_cb cb, void *data);

/* Total bytes of memory the arena has reserved from the allocator
 * (block payloads, including dedicated large blocks). */
size_t gw_arena_bytes(const gw_arena *a);

/* Run cleanups (reverse order), then release all memory. NULL is a no-op. */
void gw_arena_free(gw_arena *a);

#endif
