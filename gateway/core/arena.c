#include "gateway/core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"

#define ARENA_ALIGN   16
#define ARENA_DEFAULT 4096

/* Header of every block; the payload follows at data. */
struct block {
    struct block *next;
    char *data;            /* first ARENA_ALIGN-aligned byte after the header */
    size_t size;           /* payload bytes */
    size_t used;
};
/* Header plus worst-case alignment padding. We align by hand rather than
 * trust malloc's alignment, which sanitizer allocators may lower to 8. */
#define BLOCK_OVERHEAD (sizeof(struct block) + ARENA_ALIGN - 1)

struct cleanup {
    struct cleanup *next;  /* newer first: the list is already in run order */
    gw_arena_cleanup_cb cb;
    void *data;
};

struct gw_arena {
    struct block *cur;     /* block being carved; older blocks follow it */
    struct block *large;   /* dedicated blocks for big requests */
    struct cleanup *cleanups;
    size_t block_size;
    size_t bytes;
};

gw_arena *gw_arena_new(size_t block_size)
{
    gw_arena *a = gw_calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    if (block_size == 0)
        block_size = ARENA_DEFAULT;
    a->block_size = (block_size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    return a;
}

static struct block *block_new(size_t size)
{
    struct block *b;

    if (size > (size_t)-1 - BLOCK_OVERHEAD)
        return NULL;
    b = gw_malloc(BLOCK_OVERHEAD + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->data = (char *)(((uintptr_t)(b + 1) + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    b->size = size;
    b->used = 0;
    return b;
}

void *gw_arena_alloc(gw_arena *a, size_t size)
{
    struct block *b;
    size_t asize;

    if (size > (size_t)-1 - ARENA_ALIGN)
        return NULL;
    asize = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (asize == 0)
        asize = ARENA_ALIGN;
    if (asize > a->block_size / 4) {
        b = block_new(asize);
        if (b == NULL)
            return NULL;
        b->used = asize;
        b->next = a->large;
        a->large = b;
        a->bytes += asize;
        return b->data;
    }
    b = a->cur;
    if (b == NULL || b->size - b->used < asize) {
        b = block_new(a->block_size);
        if (b == NULL)
            return NULL;
        b->next = a->cur;
        a->cur = b;
        a->bytes += a->block_size;
    }
    b->used += asize;
    return b->data + b->used - asize;
}

void *gw_arena_calloc(gw_arena *a, size_t size)
{
    void *p = gw_arena_alloc(a, size);

    if (p != NULL)
        memset(p, 0, size);
    return p;
}

char *gw_arena_strndup(gw_arena *a, const char *s, size_t n)
{
    size_t len;
    char *d;

    if (s == NULL)
        return NULL;
    len = strnlen(s, n);
    d = gw_arena_alloc(a, len + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *gw_arena_strdup(gw_arena *a, const char *s)
{
    return s == NULL ? NULL : gw_arena_strndup(a, s, strlen(s));
}

char *gw_arena_printf(gw_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *d;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    d = gw_arena_alloc(a, (size_t)n + 1);
    if (d == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

int gw_arena_on_cleanup(gw_arena *a, gw_arena_cleanup_cb cb, void *data)
{
    /* Stored in arena memory: it lives exactly as long as it is needed. */
    struct cleanup *c = gw_arena_alloc(a, sizeof(*c));

    if (c == NULL)
        return GW_ENOMEM;
    c->cb = cb;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
    return GW_OK;
}

size_t gw_arena_bytes(const gw_arena *a)
{
    return a->bytes;
}

static void free_blocks(struct block *b)
{
    while (b != NULL) {
        struct block *next = b->next;

        gw_free(b);
        b = next;
    }
}

void gw_arena_free(gw_arena *a)
{
    struct cleanup *c;

    if (a == NULL)
        return;
    for (c = a->cleanups; c != NULL; c = c->next)
        c->cb(c->data);
    free_blocks(a->cur);
    free_blocks(a->large);
    gw_free(a);
}
