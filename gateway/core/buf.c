#include "gateway/core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"

#define BUF_MIN_CAP 64

void gw_buf_init(gw_buf *b, size_t max)
{
    b->base = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int gw_buf_reserve(gw_buf *b, size_t extra)
{
    size_t need, ncap;
    char *nb;

    /* The second test matters only for max == SIZE_MAX: room for the NUL. */
    if (extra > b->max - b->len || extra >= (size_t)-1 - b->len)
        return GW_ETOOBIG;
    need = b->len + extra + 1;              /* + NUL */
    if (need <= b->cap)
        return GW_OK;
    /* Double, but never past max + 1: the limit bounds memory, not just len. */
    ncap = b->cap ? b->cap : BUF_MIN_CAP;
    while (ncap < need && ncap <= ((size_t)-1) / 2)
        ncap *= 2;
    if (ncap < need)
        ncap = need;
    if (b->max < (size_t)-1 && ncap > b->max + 1)
        ncap = b->max + 1;
    nb = gw_realloc(b->base, ncap);
    if (nb == NULL)
        return GW_ENOMEM;
    if (b->base == NULL)
        nb[0] = '\0';
    b->base = nb;
    b->cap = ncap;
    return GW_OK;
}

int gw_buf_append(gw_buf *b, const void *data, size_t n)
{
    int rc;

    if (n == 0)
        return GW_OK;
    rc = gw_buf_reserve(b, n);
    if (rc != GW_OK)
        return rc;
    memcpy(b->base + b->len, data, n);
    b->len += n;
    b->base[b->len] = '\0';
    return GW_OK;
}

int gw_buf_appends(gw_buf *b, const char *cstr)
{
    return gw_buf_append(b, cstr, strlen(cstr));
}

int gw_buf_appendf(gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;
    size_t avail;

    /* Try in the spare room first; most lines fit and need one pass. */
    avail = b->cap > b->len ? b->cap - b->len : 0;
    va_start(ap, fmt);
    n = vsnprintf(avail ? b->base + b->len : NULL, avail, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (b->base != NULL)
            b->base[b->len] = '\0';
        return GW_EINVAL;
    }
    if ((size_t)n < avail && (size_t)n <= b->max - b->len) {
        b->len += (size_t)n;
        return GW_OK;
    }
    if (b->base != NULL)
        b->base[b->len] = '\0';   /* undo the partial write */
    rc = gw_buf_reserve(b, (size_t)n);
    if (rc != GW_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->base + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return GW_OK;
}

void gw_buf_consume(gw_buf *b, size_t n)
{
    if (n >= b->len) {
        gw_buf_reset(b);
        return;
    }
    memmove(b->base, b->base + n, b->len - n);
    b->len -= n;
    b->base[b->len] = '\0';
}

void gw_buf_reset(gw_buf *b)
{
    b->len = 0;
    if (b->base != NULL)
        b->base[0] = '\0';
}

void gw_buf_free(gw_buf *b)
{
    if (b == NULL)
        return;
    gw_free(b->base);
    b->base = NULL;
    b->len = 0;
    b->cap = 0;
}

char *gw_buf_steal(gw_buf *b)
{
    char *p = b->base;

    b->base = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
