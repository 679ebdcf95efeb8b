/* The in-process routing table: which channels serve a (group, model), in
 * priority tiers, and the reference's weighted draw inside a tier
 * (new-api-behaviour.md §3 "Channel selection").
 *
 * A table is an immutable snapshot loaded from SQL (channels + abilities) on
 * the thread pool, then swapped in on the worker's loop when the config
 * version changes. Lookups are lock-free and allocation-free. Live health
 * (Redis tf:ch:<id>) is applied by the caller through `skip`.
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
#include "persist/store.h"

enum gw_multi_key_mode { GW_MULTI_KEY_RANDOM = 0, GW_MULTI_KEY_POLLING = 1 };

/* One channel, as configured (channels table). Owned by its table. */
struct gw_channel {
    long long id;
    int type;                 /* reference channel type (§7) */
    int status;               /* 1 enabled, 2 manual off, 3 auto off */
    char *name;
    char **keys;              /* the key split on newlines (or a JSON array for Vertex) */
    int nkeys;
    int multi_key_mode;       /* enum gw_multi_key_mode */
    int *key_disabled;        /* per key: 1 when channel_info marks it disabled */
    unsigned polling;         /* next key for polling mode (per worker) */
    char *base_url;           /* "" → the type's default */
    char *other;              /* API version / region, depends on type */
    char *openai_organization;
    char *test_model;
    char *group;              /* comma list */
    char *models;             /* comma list */
    long long priority;
    unsigned weight;
    int auto_ban;
    char *tag;
    json_t *model_mapping;    /* object or NULL */
    json_t *status_code_mapping; /* object or NULL */
    json_t *param_override;   /* object or NULL */
    json_t *header_override;  /* object or NULL */
    json_t *setting;          /* object or NULL: proxy, system_prompt, ... */
    json_t *settings;         /* object or NULL: other settings */
};

typedef struct gw_routing gw_routing;

/* Thread pool: reads every channel and enabled ability. */
int gw_routing_load(gw_store *st, gw_routing **out, char *err, size_t errlen);
void gw_routing_free(gw_routing *t);

/* Channel by id (pinned channels, tests), or NULL. */
struct gw_channel *gw_routing_channel(const gw_routing *t, long long id);

/* Picks a channel for (group, model). tried/ntried: ids to skip. skip(): an
 * extra veto (e.g. disabled in Redis health), may be NULL. rng: per-worker
 * state. NULL when nothing is left. */
typedef int (*gw_routing_skip_cb)(long long channel_id, void *data);
struct gw_channel *gw_routing_pick(const gw_routing *t, const char *group, const char *model,
                                   int attempt, const long long *tried, int ntried,
                                   gw_routing_skip_cb skip, void *skip_data, uint64_t *rng);

/* Models with at least one enabled channel in group, sorted, deduplicated;
 * the array is owned by the table. */
const char *const *gw_routing_models(const gw_routing *t, const char *group, size_t *n);

/* A key of the channel for one request: random among enabled keys, or
 * round-robin in polling mode. NULL when every key is disabled. */
const char *gw_channel_pick_key(struct gw_channel *ch, uint64_t *rng, int *index);

/* Follows model_mapping as a chain ({"a":"b","b":"c"}: a → c). GW_EINVAL on
 * a cycle (model_mapping_contains_cycle); out = model when unmapped. */
int gw_model_map(const json_t *mapping, const char *model, char *out, size_t cap);

/* status_code_mapping ({"429":"500"}) applied to a non-200 status. */
int gw_status_map(const json_t *mapping, int status);

#endif
