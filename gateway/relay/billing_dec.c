/* Exact decimals for the quota formulas. The reference computes quota with
 * shopspring/decimal on NewFromFloat(ratio), i.e. on the shortest decimal
 * that round-trips each float64, so 0.1 × 3 is exactly 0.3 and rounding
 * half up sees true halves. Doubles cannot reproduce that (0.625 × 0.8 ×
 * 1000 × ... drifts by an ulp and flips a .5), hence this small bignum. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/relay/billing_dec.h"

#define BASE 1000000000u

static const uint32_t pow10_tab[10] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
                                        10000000, 100000000, 1000000000 };

static void trim(gw__dec *x)
{
    while (x->n > 0 && x->d[x->n - 1] == 0)
        x->n--;
}

void gw__dec_from_u64(gw__dec *x, uint64_t v)
{
    memset(x, 0, sizeof *x);
    while (v) {
        x->d[x->n++] = (uint32_t)(v % BASE);
        v /= BASE;
    }
}

/* x *= m (m ≤ 1e9), in place. Limbs that would overflow the array are
 * dropped; the documented bounds keep that from happening. */
static void mul_small(gw__dec *x, uint32_t m)
{
    uint64_t carry = 0;
    int i;

    for (i = 0; i < x->n; i++) {
        uint64_t t = (uint64_t)x->d[i] * m + carry;
        x->d[i] = (uint32_t)(t % BASE);
        carry = t / BASE;
    }
    if (carry && x->n < GW__DEC_LIMBS)
        x->d[x->n++] = (uint32_t)carry;
    trim(x);
}

/* x /= m (m ≤ 1e9), in place; returns the remainder. */
static uint32_t div_small(gw__dec *x, uint32_t m)
{
    uint64_t rem = 0;
    int i;

    for (i = x->n - 1; i >= 0; i--) {
        uint64_t cur = rem * BASE + x->d[i];
        x->d[i] = (uint32_t)(cur / m);
        rem = cur % m;
    }
    trim(x);
    return (uint32_t)rem;
}

static void scale_up(gw__dec *x, int by)
{
    while (by > 0) {
        int k = by > 9 ? 9 : by;
        mul_small(x, pow10_tab[k]);
        x->scale += k;
        by -= k;
    }
}

void gw__dec_from_double(gw__dec *x, double v)
{
    char buf[64];
    int prec, exp10 = 0, ndig = 0, i;
    uint64_t mant = 0;

    gw__dec_from_u64(x, 0);
    if (!(v > 0) || !isfinite(v))
        return;
    /* Shortest %.*e form that parses back to v: what Go's
     * strconv.FormatFloat(v, 'e', -1, 64) and NewFromFloat produce. */
    for (prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    for (i = 0; buf[i] && buf[i] != 'e'; i++) {
        if (buf[i] >= '0' && buf[i] <= '9') {
            mant = mant * 10 + (uint64_t)(buf[i] - '0');
            ndig++;
        }
    }
    if (buf[i] == 'e')
        exp10 = (int)strtol(buf + i + 1, NULL, 10);
    /* value = mant × 10^(exp10 − (ndig − 1)) */
    int e = exp10 - (ndig - 1);
    if (-e > GW__DEC_MAX_SCALE) {
        /* Tiny value: round to GW__DEC_MAX_SCALE decimals instead. */
        int drop = -e - GW__DEC_MAX_SCALE;
        if (drop > 18) {
            mant = 0;
        } else {
            uint64_t p = 1;
            for (i = 0; i < drop; i++)
                p *= 10;
            mant = (mant + p / 2) / p;
        }
        e = -GW__DEC_MAX_SCALE;
    }
    gw__dec_from_u64(x, mant);
    if (e >= 0) {
        while (e > 0) {
            int k = e > 9 ? 9 : e;
            mul_small(x, pow10_tab[k]);
            e -= k;
        }
    } else {
        x->scale = -e;
    }
}

void gw__dec_mul(gw__dec *r, const gw__dec *a, const gw__dec *b)
{
    uint64_t acc[2 * GW__DEC_LIMBS + 1];
    gw__dec out;
    int i, j;

    memset(&out, 0, sizeof out);
    out.scale = a->scale + b->scale;
    if (a->n == 0 || b->n == 0) {
        *r = out;
        return;
    }
    memset(acc, 0, sizeof acc);
    for (i = 0; i < a->n; i++) {
        uint64_t carry = 0;
        for (j = 0; j < b->n; j++) {
            uint64_t t = acc[i + j] + (uint64_t)a->d[i] * b->d[j] + carry;
            acc[i + j] = t % BASE;
            carry = t / BASE;
        }
        for (j = i + b->n; carry; j++) {
            uint64_t t = acc[j] + carry;
            acc[j] = t % BASE;
            carry = t / BASE;
        }
    }
    out.n = a->n + b->n;
    if (out.n > GW__DEC_LIMBS)
        out.n = GW__DEC_LIMBS;
    for (i = 0; i < out.n; i++)
        out.d[i] = (uint32_t)acc[i];
    trim(&out);
    *r = out;
}

void gw__dec_add(gw__dec *r, const gw__dec *a, const gw__dec *b)
{
    gw__dec x = *a, y = *b, out;
    uint64_t carry = 0;
    int i, n;

    if (x.scale < y.scale)
        scale_up(&x, y.scale - x.scale);
    else if (y.scale < x.scale)
        scale_up(&y, x.scale - y.scale);
    memset(&out, 0, sizeof out);
    out.scale = x.scale;
    n = x.n > y.n ? x.n : y.n;
    for (i = 0; i < n; i++) {
        uint64_t t = (uint64_t)(i < x.n ? x.d[i] : 0) + (i < y.n ? y.d[i] : 0) + carry;
        out.d[i] = (uint32_t)(t % BASE);
        carry = t / BASE;
    }
    out.n = n;
    if (carry && n < GW__DEC_LIMBS)
        out.d[out.n++] = (uint32_t)carry;
    trim(&out);
    *r = out;
}

int gw__dec_is_zero(const gw__dec *x)
{
    return x->n == 0;
}

int64_t gw__dec_to_i64(const gw__dec *x, int half_up)
{
    gw__dec q = *x;
    uint32_t last = 0;
    int s = q.scale;
    int i;

    if (s > 0) {
        /* Drop all but the last fractional digit, then look at it. */
        while (s > 1) {
            int k = s - 1 > 9 ? 9 : s - 1;
            div_small(&q, pow10_tab[k]);
            s -= k;
        }
        last = div_small(&q, 10);
    }
    if (q.n > 3) /* ≥ 1e27 */
        return INT64_MAX;
    uint64_t v = 0;
    for (i = q.n - 1; i >= 0; i--) {
        if (v > (UINT64_MAX - q.d[i]) / BASE)
            return INT64_MAX;
        v = v * BASE + q.d[i];
    }
    if (half_up && last >= 5)
        v++;
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}
