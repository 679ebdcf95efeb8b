#include "gateway/core/str.h"

#include <limits.h>
#include <string.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"

gw_str gw_str_c(const char *cstr)
{
    if (cstr == NULL)
        return GW_STRLIT("");
    return (gw_str){ cstr, strlen(cstr) };
}

int gw_str_eq(gw_str a, gw_str b)
{
    /* memcmp with len 0 still requires valid pointers; skip it. */
    return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

int gw_str_ieq(gw_str a, gw_str b)
{
    size_t i;

    if (a.len != b.len)
        return 0;
    for (i = 0; i < a.len; i++)
        if (ascii_lower((unsigned char)a.base[i]) != ascii_lower((unsigned char)b.base[i]))
            return 0;
    return 1;
}

int gw_str_has_prefix(gw_str s, gw_str prefix)
{
    return s.len >= prefix.len &&
           (prefix.len == 0 || memcmp(s.base, prefix.base, prefix.len) == 0);
}

int gw_str_to_ll(gw_str s, long long min, long long max, long long *out)
{
    /* Accumulate as a negative number: |LLONG_MIN| > LLONG_MAX, so this is
     * the only way to parse LLONG_MIN without overflow. */
    long long acc = 0;
    size_t i = 0;
    int neg = 0;

    if (s.len > 0 && s.base[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == s.len)
        return GW_EINVAL;
    for (; i < s.len; i++) {
        int d = s.base[i] - '0';

        if (d < 0 || d > 9)
            return GW_EINVAL;
        if (acc < (LLONG_MIN + d) / 10)
            return GW_EINVAL;
        acc = acc * 10 - d;
    }
    if (!neg) {
        if (acc == LLONG_MIN)
            return GW_EINVAL;
        acc = -acc;
    }
    if (acc < min || acc > max)
        return GW_EINVAL;
    *out = acc;
    return GW_OK;
}

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

gw_str gw_str_trim(gw_str s)
{
    while (s.len > 0 && is_space(s.base[0])) {
        s.base++;
        s.len--;
    }
    while (s.len > 0 && is_space(s.base[s.len - 1]))
        s.len--;
    return s;
}

char *gw_str_dup(gw_str s)
{
    char *d = gw_malloc(s.len + 1);

    if (d == NULL)
        return NULL;
    if (s.len > 0)
        memcpy(d, s.base, s.len);
    d[s.len] = '\0';
    return d;
}

int gw_str_split(gw_str *rest, char sep, gw_str *tok)
{
    const char *p;

    if (rest->len == 0) {
        *tok = GW_STRLIT("");
        return 0;
    }
    p = memchr(rest->base, sep, rest->len);
    if (p == NULL) {
        *tok = *rest;
        rest->base += rest->len;
        rest->len = 0;
        return 1;
    }
    tok->base = rest->base;
    tok->len = (size_t)(p - rest->base);
    rest->len -= tok->len + 1;
    rest->base = p + 1;
    return 1;
}

size_t gw_str_utf8_cut(gw_str s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s.base;
    size_t k = max;

    if (s.len <= max)
        return s.len;
    /* p[max] is the first byte left out: if it continues a character, the
     * character's first byte (at most three back) is left out too. */
    while (k > 0 && max - k < 3 && (p[k] & 0xC0) == 0x80)
        k--;
    return k < max && p[k] >= 0xC0 ? k : max;
}

/* Length of the valid UTF-8 sequence at p (up to end), 0 if invalid, -1 if
 * it is a valid start cut short by end. */
static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    int n;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */

    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* past U+10FFFF */
    for (int i = 1; i < n; i++) {
        if (p + i >= end)
            return -1;
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return n;
}

size_t gw_utf8_seq(const unsigned char *s, size_t n)
{
    int k = utf8_seq(s, s + n);
    return k > 0 ? (size_t)k : 0;
}

size_t gw_str_utf8_clean(char *out, size_t max, const char *s, size_t n, int ctl)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        size_t k = p[i] ? gw_utf8_seq(p + i, n - i) : 0;
        if (o + (k ? k : 1) > max)
            break;
        if (k == 0 || (ctl && k == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
            out[o++] = '?';
            i++;
        } else {
            memmove(out + o, p + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
    return o;
}

char *gw_str_utf8_fix(char *s)
{
    unsigned char *p = (unsigned char *)s, *end = p + strlen(s);

    while (p < end) {
        int n = utf8_seq(p, end);
        if (n < 0) { /* cut at the end */
            *p = '\0';
            break;
        }
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
    return s;
}
