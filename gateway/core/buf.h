/* Bounded growable byte buffer (curl's dynbuf). Wherever client or upstream
 * bytes land, the buffer has a hard maximum and refuses to grow past it.
 *
 * Invariants: len <= cap, len <= max. When base != NULL there is always a
 * NUL at base[len] (not counted in len), so text contents can be used as a
 * C string. A zero-initialised or freshly gw_buf_init'ed buffer has
 * base == NULL and allocates on the first append. The buffer owns base;
 * release it with gw_buf_free or take it with gw_buf_steal. */
#ifndef GW_CORE_BUF_H
#define GW_CORE_BUF_H
#include <stddef.h>

typedef struct {
    char *base;
    size_t len, cap, max;   /* cap counts the byte reserved for the NUL */
} gw_buf;

/* Empty buffer that will hold at most max bytes (not counting the NUL).
 * Cannot fail; allocates nothing. */
void gw_buf_init(gw_buf *b, size_t max);

/* Append n bytes. GW_ETOOBIG if len + n would exceed max, GW_ENOMEM on
 * allocation failure; in both cases the buffer is unchanged. n == 0 is a
 * successful no-op (data may then be NULL). */
int gw_buf_append(gw_buf *b, const void *data, size_t n);

/* Append a NUL-terminated string (without its NUL). Same errors. */
int gw_buf_appends(gw_buf *b, const char *cstr);

/* Append printf-formatted text. Same errors; GW_EINVAL on a format error.
 * On failure the buffer is unchanged. */
int gw_buf_appendf(gw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Make room so that `extra` more bytes can be appended without allocating.
 * GW_ETOOBIG if len + extra > max, GW_ENOMEM on failure (buffer unchanged). */
int gw_buf_reserve(gw_buf *b, size_t extra);

/* Drop the first n bytes (all of them if n >= len); keeps the memory. */
void gw_buf_consume(gw_buf *b, size_t n);

/* len = 0, keeps memory and max. */
void gw_buf_reset(gw_buf *b);

/* Free memory: base = NULL, len = cap = 0; max is kept so the buffer can
 * be reused. NULL is a no-op. */
void gw_buf_free(gw_buf *b);

/* Hand the contents to the caller: returns base (NUL-terminated; free with
 * gw_free), or NULL if nothing was ever allocated. The buffer is left
 * empty (as after gw_buf_free). */
char *gw_buf_steal(gw_buf *b);

#endif
