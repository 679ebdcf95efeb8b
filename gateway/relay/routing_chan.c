/* Per-channel helpers of the routing contract: the rng, the key choice of
 * multi-key channels, model_mapping chains, status_code_mapping and the
 * reference's FormatMatchingModelName. None of them allocates. */
#include "gateway/relay/routing.h"

#include <stdio.h>
#include <string.h>

#include "gateway/core/err.h"
#include "gateway/core/str.h"

/* xorshift64* (Vigna). Not cryptographic: it spreads load, nothing more. */
static uint64_t rand_next(uint64_t *s)
{
    uint64_t x = *s;
    if (x == 0)
        x = 0x9E3779B97F4A7C15ull;      /* the all-zero state would stay zero */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t gw_rand_below(uint64_t *rng, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Rejection of the 2^64 mod n lowest values keeps the draw exactly
     * uniform, as Go's rand.Intn is. */
    uint64_t threshold = (0 - n) % n, v;
    do
        v = rand_next(rng);
    while (v < threshold);
    return v % n;
}

const char *gw_channel_pick_key(struct gw_channel *ch, uint64_t *rng, int *index)
{
    int n = ch->nkeys, enabled = 0, i;

    if (!ch->multi_key) {
        if (n < 1)
            return NULL;
        if (index)
            *index = 0;
        return ch->keys[0];
    }
    for (i = 0; i < n; i++)
        enabled += !ch->key_disabled[i];
    if (enabled == 0)
        return NULL;

    int pick = -1;
    if (ch->multi_key_mode == GW_MULTI_KEY_RANDOM) {
        int k = (int)gw_rand_below(rng, (uint64_t)enabled);
        for (i = 0; i < n && pick < 0; i++)
            if (!ch->key_disabled[i] && k-- == 0)
                pick = i;
    } else if (ch->multi_key_mode == GW_MULTI_KEY_POLLING) {
        unsigned start = ch->polling < (unsigned)n ? ch->polling : 0;
        for (i = 0; i < n && pick < 0; i++) {
            int idx = (int)((start + (unsigned)i) % (unsigned)n);
            if (!ch->key_disabled[idx])
                pick = idx;
        }
        ch->polling = (unsigned)(pick + 1) % (unsigned)n;
    } else {
        for (i = 0; i < n && pick < 0; i++)
            if (!ch->key_disabled[i])
                pick = i;
    }
    if (index)
        *index = pick;
    return ch->keys[pick];
}

int gw_model_map(const json_t *mapping, const char *model, char *out, size_t cap)
{
    const char *cur = model;
    size_t steps = 0, limit = mapping ? json_object_size(mapping) : 0;

    /* Without a visited set: every step but a self-mapping moves to a key of
     * the object, so a walk longer than the object has keys revisits one,
     * which in a map (one target per key) means it loops forever: a cycle. A
     * model mapped to itself ends the chain, as in the reference. */
    while (mapping) {
        const char *next = json_string_value(json_object_get(mapping, cur));
        if (next == NULL || *next == '\0' || strcmp(next, cur) == 0)
            break;
        if (++steps > limit)
            return GW_EINVAL;
        cur = next;
    }
    size_t len = strlen(cur);
    if (len >= cap)
        return GW_ETOOBIG;
    memcpy(out, cur, len + 1);
    return GW_OK;
}

int gw_status_map(const json_t *mapping, int status)
{
    char code[16];
    long long to;

    if (mapping == NULL || status == 200)
        return status;
    snprintf(code, sizeof code, "%d", status);
    const char *v = json_string_value(json_object_get(mapping, code));
    if (v == NULL || gw_str_to_ll(gw_str_c(v), 100, 599, &to) != GW_OK)
        return status;
    return (int)to;
}
