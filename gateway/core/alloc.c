#include "gateway/core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Remaining successful allocations before injected failure; < 0 means off.
 * Plain long, not atomic: injection is a single-threaded test facility and
 * the fast path is one compare. */
static long fail_countdown = -1;

void gw_alloc_fail_after(long n)
{
    fail_countdown = n < 0 ? -1 : n;
}

/* The single entry point. realloc with p == NULL covers malloc. The x
 * variants pass inject = 0: they are for fixed sizes and would only abort. */
static void *alloc_raw(void *p, size_t size, int inject)
{
    if (inject && fail_countdown >= 0) {
        if (fail_countdown == 0)
            return NULL;
        fail_countdown--;
    }
    /* realloc(p, 0) may free p and return NULL; keep "0 bytes" a real
     * allocation so NULL always means failure. */
    return realloc(p, size ? size : 1);
}

void *gw_malloc(size_t size)
{
    return alloc_raw(NULL, size, 1);
}

void *gw_calloc(size_t n, size_t sz)
{
    void *p;

    if (sz != 0 && n > (size_t)-1 / sz)
        return NULL;
    p = alloc_raw(NULL, n * sz, 1);
    if (p != NULL)
        memset(p, 0, n * sz);
    return p;
}

void *gw_realloc(void *p, size_t size)
{
    return alloc_raw(p, size, 1);
}

void gw_free(void *p)
{
    free(p);
}

char *gw_strndup(const char *s, size_t n)
{
    char *d;
    size_t len;

    if (s == NULL)
        return NULL;
    len = strnlen(s, n);
    d = alloc_raw(NULL, len + 1, 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *gw_strdup(const char *s)
{
    return s == NULL ? NULL : gw_strndup(s, strlen(s));
}

static void oom_abort(size_t size)
{
    /* No logging module here on purpose: it may itself allocate. */
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
    abort();
}

void *gw_xmalloc(size_t size)
{
    void *p = alloc_raw(NULL, size, 0);

    if (p == NULL)
        oom_abort(size);
    return p;
}

void *gw_xcalloc(size_t n, size_t sz)
{
    void *p;

    if (sz != 0 && n > (size_t)-1 / sz)
        oom_abort((size_t)-1);
    p = alloc_raw(NULL, n * sz, 0);
    if (p == NULL)
        oom_abort(n * sz);
    memset(p, 0, n * sz);
    return p;
}

char *gw_xstrdup(const char *s)
{
    size_t len = strlen(s);
    char *d = gw_xmalloc(len + 1);

    memcpy(d, s, len + 1);
    return d;
}
