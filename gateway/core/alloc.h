/* Allocation entry point. Every allocation in the gateway goes through one
 * function inside alloc.c, so a test can make allocations fail
 * after a chosen count (curl's torture mode, libuv's loop-oom test).
 *
 * Two families:
 *   gw_malloc, gw_calloc, gw_realloc, gw_strdup, gw_strndup
 *       may return NULL; use them whenever the size comes from input
 *       (client bodies, upstream replies, config) and fail cleanly.
 *   gw_xmalloc, gw_xcalloc, gw_xstrdup
 *       abort() on failure; use them only for small fixed-size objects
 *       whose absence leaves nothing sensible to do. They are NOT
 *       affected by gw_alloc_fail_after().
 *
 * Everything returned is released with gw_free(); gw_free(NULL) is a no-op. */
#ifndef GW_CORE_ALLOC_H
#define GW_CORE_ALLOC_H
#include <stddef.h>

/* malloc(size). NULL on failure (or injected failure). size 0 returns a
 * unique pointer that must still be freed. */
void *gw_malloc(size_t size);

/* calloc(n, sz), zeroed. NULL on failure, including n * sz overflow. */
void *gw_calloc(size_t n, size_t sz);

/* realloc(p, size). On failure returns NULL and p is left untouched and
 * still owned by the caller. p == NULL behaves like gw_malloc(size). */
void *gw_realloc(void *p, size_t size);

/* Release memory from any gw_* allocator. NULL is a no-op. */
void gw_free(void *p);

/* Copy of a NUL-terminated string; NULL on failure or when s is NULL. */
char *gw_strdup(const char *s);

/* Copy of at most n bytes of s (stops at a NUL), always NUL-terminated;
 * NULL on failure or when s is NULL. */
char *gw_strndup(const char *s, size_t n);

/* Aborting variants for small fixed sizes: never return NULL. */
void *gw_xmalloc(size_t size);
void *gw_xcalloc(size_t n, size_t sz);
char *gw_xstrdup(const char *s);   /* s must not be NULL */

/* Failure injection for tests. After n more successful allocations by the
 * non-x allocators, every further one returns NULL until this is called
 * again. n < 0 disables injection (the default). Not thread-safe: call it
 * from single-threaded tests only. */
void gw_alloc_fail_after(long n);

#endif
