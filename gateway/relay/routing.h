/* The in-process routing table: which channels serve a (group, model), in
 * priority tiers, and the reference's weighted draw inside a tier
 * (new-api-behaviour.md §3 "Channel selection").
 *
 * A table is an immutable snapshot loaded from SQL (channels + abilities) on
 * the thread pool, then swapped in on the worker's loop when the config
 * version changes. Lookups are lock-free and allocation-free. Live health
 * (Redis tf:ch:<id>) is applied by the caller through `skip`. One table
 * belongs to one worker: gw_channel_pick_key() writes the channel's polling
 * counter, so a table is not shared between threads once it is in use.
 *
 * Membership: a channel serves (group, model) when an `abilities` row with
 * enabled true names it and the channel's status is 1. Priority and weight
 * are the channel's own columns (the reference's memory cache reads them
 * from the channel, not from the ability copy).
 *
 * Retry semantics (ours, deliberately not the reference's): attempt k starts
 * at tier min(k, ntiers-1) counted from the highest priority, and channels
 * already tried in this request are skipped; when that tier has no untried
 * channel, lower tiers are searched, then higher ones. */
#ifndef GW_RELAY_ROUTING_H
#define GW_RELAY_ROUTING_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "gateway/relay/model_name.h" /* gw_model_matching_name, the fallback name */
#include "persist/store.h"

/* channel_info.multi_key_mode: "random", "polling"; anything else (unset)
 * makes the reference hand out the first enabled key, and so do we. */
enum gw_multi_key_mode { GW_MULTI_KEY_RANDOM = 0, GW_MULTI_KEY_POLLING = 1,
                         GW_MULTI_KEY_FIRST = 2 };

/* One channel, as configured (channels table). Owned by its table. */
struct gw_channel {
    long long id;
    int type;                 /* reference channel type (§7) */
    int status;               /* 1 enabled, 2 manual off, 3 auto off */
    char *name;
    /* Keys. Single-key channel (channel_info.is_multi_key false): one key,
     * the column with surrounding whitespace trimmed. Multi-key: the column
     * as a JSON array when it starts with '[' and parses (string elements
     * as their value, others as compact JSON), else split on '\n' after
     * trimming newlines at both ends; each key is whitespace-trimmed but
     * indexes are the reference's, so multi_key_status_list lines up. */
    char **keys;
    int nkeys;                /* 0 for a multi-key channel with an empty key */
    int multi_key;            /* channel_info.is_multi_key */
    int multi_key_mode;       /* enum gw_multi_key_mode */
    int *key_disabled;        /* per key: 1 when multi_key_status_list has a
                                 status other than 1 for it, or it is empty */
    unsigned polling;         /* next key for polling mode (per worker); starts
                                 at channel_info.multi_key_polling_index */
    char *base_url;           /* "" → the type's default */
    char *other;              /* API version / region, depends on type */
    char *openai_organization;
    char *test_model;
    char *group;              /* comma list */
    char *models;             /* comma list */
    long long priority;       /* NULL reads as 0 */
    unsigned weight;          /* NULL or negative reads as 0 */
    int auto_ban;             /* 1 only when the column is 1 (NULL: 0) */
    int dest_set_by_root;     /* 1 only when channel_destinations.set_by_root is 1:
                                 root set the destination, so loopback and private
                                 addresses are allowed (gateway/core/dest.h) */
    char *tag;
    /* JSON columns: NULL when the column is NULL, blank, "null" or "{}".
     * Anything else that is not a JSON object leaves the channel out of the
     * table (see gw_routing_bad). */
    json_t *model_mapping;    /* object or NULL */
    json_t *status_code_mapping; /* object or NULL */
    json_t *param_override;   /* object or NULL */
    json_t *header_override;  /* object or NULL */
    json_t *setting;          /* object or NULL: proxy, system_prompt, ... */
    json_t *settings;         /* object or NULL: other settings */
};

typedef struct gw_routing gw_routing;

/* Thread pool: reads every channel and every ability (two queries, no
 * transaction: a channel changed between them is caught by the next
 * reload). On success the caller owns *out (gw_routing_free). On failure
 * *out is NULL, err holds the reason and the store's error code is
 * returned (GW_ENOMEM on allocation failure). A channel whose JSON column
 * or id is unusable does not fail the load: it is left out and reported by
 * gw_routing_bad() for the caller to log. */
int gw_routing_load(gw_store *st, gw_routing **out, char *err, size_t errlen);
void gw_routing_free(gw_routing *t);            /* NULL is a no-op */

/* Channels left out of the table: how many, and the i-th one's id (nullable
 * out) and reason, e.g. "model_mapping: invalid JSON at line 1 ...". The
 * string is owned by the table. NULL when i is out of range. */
size_t gw_routing_nbad(const gw_routing *t);
const char *gw_routing_bad(const gw_routing *t, size_t i, long long *channel_id);

/* Channel by id, whatever its status (pinned channels, tests), or NULL
 * (unknown, or left out as bad). */
struct gw_channel *gw_routing_channel(const gw_routing *t, long long id);
/* Every usable channel of the table (any status), i < gw_routing_count(). */
size_t gw_routing_count(const gw_routing *t);
struct gw_channel *gw_routing_at(const gw_routing *t, size_t i);

/* Picks a channel for (group, model). tried/ntried: ids to skip. skip(): an
 * extra veto (e.g. disabled in Redis health), may be NULL; nonzero vetoes.
 * It may be called more than once per channel in one pick and should answer
 * the same each time. rng: per-worker xorshift64* state (0 is replaced by a
 * fixed seed). NULL when nothing is left.
 *
 * When the exact model has no channel in the group, the bucket of
 * gw_model_matching_name(model) is used (the reference's fallback).
 * Inside a tier the reference's memory-cache draw: sum = Σ weight over the
 * candidates; all zero → each counts 100; sum/n < 10 → weights × 100; a
 * uniform r < total picks the first channel whose running cost exceeds r,
 * so a weight-0 channel never wins against a positive one. */
typedef int (*gw_routing_skip_cb)(long long channel_id, void *data);
struct gw_channel *gw_routing_pick(const gw_routing *t, const char *group, const char *model,
                                   int attempt, const long long *tried, int ntried,
                                   gw_routing_skip_cb skip, void *skip_data, uint64_t *rng);

/* Models with at least one enabled channel in group, sorted, deduplicated;
 * the array is owned by the table. */
const char *const *gw_routing_models(const gw_routing *t, const char *group, size_t *n);

/* A uniform draw in [0, n) from an xorshift64* state (n > 0; 0 when n is 0). */
uint64_t gw_rand_below(uint64_t *rng, uint64_t n);

/* A key of the channel for one request (the reference's GetNextEnabledKey):
 * a single-key channel always gives its key; multi-key gives a random
 * enabled key, the next enabled one round-robin (polling), or the first
 * enabled one (mode unset). *index (nullable) gets the key's index. NULL
 * when no key is enabled (the reference's channel:no_available_key). */
const char *gw_channel_pick_key(struct gw_channel *ch, uint64_t *rng, int *index);

/* Follows model_mapping as a chain ({"a":"b","b":"c"}: a → c). GW_EINVAL on
 * a cycle (model_mapping_contains_cycle); out = model when unmapped. As in
 * the reference, a model mapped to itself ends the chain, and an empty or
 * non-string value counts as unmapped. mapping may be NULL. GW_ETOOBIG
 * when the result does not fit cap bytes with its NUL. */
int gw_model_map(const json_t *mapping, const char *model, char *out, size_t cap);

/* status_code_mapping ({"429":"500"}) applied to a non-200 status. An
 * entry whose value is not a string holding a whole number in 100..599 is
 * ignored (the reference drops the whole mapping when any value is not a
 * string). mapping may be NULL. */
int gw_status_map(const json_t *mapping, int status);

#endif
