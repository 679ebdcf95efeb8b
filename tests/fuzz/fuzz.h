/* Shared by the libFuzzer targets in tests/fuzz (see README.md there).
 * Every target bounds its input (FUZZ_MAX_INPUT), keeps no state between
 * runs, and turns a broken invariant into an abort() that libFuzzer
 * reports as a crash with the input saved. */
#ifndef GW_TESTS_FUZZ_H
#define GW_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* A NUL-terminated heap copy of data[0..n) (free with free()). */
static inline char *fuzz_cstr(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* Splits the input at the first occurrence of sep (a byte string): a, alen
 * before it, b, blen after. With no separator, a is everything, b empty. */
static inline void fuzz_split(const uint8_t *data, size_t size, const char *sep,
                              const uint8_t **a, size_t *alen, const uint8_t **b, size_t *blen)
{
    size_t sl = strlen(sep);
    *a = data;
    *alen = size;
    *b = data + size;
    *blen = 0;
    for (size_t i = 0; sl && i + sl <= size; i++)
        if (memcmp(data + i, sep, sl) == 0) {
            *alen = i;
            *b = data + i + sl;
            *blen = size - i - sl;
            return;
        }
}

/* A small deterministic generator seeded from the input (FNV-1a), for the
 * choices a target makes that are not read from the input itself. */
static inline uint64_t fuzz_seed(const uint8_t *data, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    return h | 1;
}

static inline uint64_t fuzz_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF), as jansson requires of every string. */
static inline int fuzz_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += k + 1;
    }
    return 1;
}

#endif
