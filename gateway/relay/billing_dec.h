/* Exact non-negative decimal arithmetic for billing, standing in for the
 * reference's shopspring/decimal: a value is an unsigned big integer (base
 * 1e9 limbs) over 10^scale. Fixed size, no allocation; the limits below
 * hold any product billing forms (tokens ≤ 1e15 times three ratios of at
 * most 17 significant digits and scale ≤ GW__DEC_MAX_SCALE each).
 * Internal to billing.c. */
#ifndef GW_RELAY_BILLING_DEC_H
#define GW_RELAY_BILLING_DEC_H

#include <stdint.h>

#define GW__DEC_LIMBS 32
#define GW__DEC_MAX_SCALE 40

typedef struct {
    uint32_t d[GW__DEC_LIMBS]; /* little-endian, base 1e9 */
    int n;                     /* limbs in use; 0 means zero */
    int scale;
} gw__dec;

void gw__dec_from_u64(gw__dec *x, uint64_t v);
/* The shortest decimal that round-trips to v (decimal.NewFromFloat), for a
 * finite v ≥ 0; a form with more than GW__DEC_MAX_SCALE decimals is rounded
 * to that many. Negative or non-finite v gives 0. */
void gw__dec_from_double(gw__dec *x, double v);
void gw__dec_mul(gw__dec *r, const gw__dec *a, const gw__dec *b);
void gw__dec_add(gw__dec *r, const gw__dec *a, const gw__dec *b);
int gw__dec_is_zero(const gw__dec *x);
/* Integer part after rounding half up (half_up = 1) or truncating;
 * saturates at INT64_MAX. */
int64_t gw__dec_to_i64(const gw__dec *x, int half_up);

#endif
