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

#endif
