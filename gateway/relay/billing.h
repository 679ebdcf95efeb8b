/* Prices and quota arithmetic with the reference's formulas
 * (new-api-behaviour.md §4). 500,000 quota = 1 USD; ratio 1 = $0.002 / 1K
 * tokens.
 *
 * The ratio tables come from the options (ModelRatio, CompletionRatio,
 * ModelPrice, GroupRatio, GroupGroupRatio, CacheRatio, CreateCacheRatio),
 * each a JSON object text; unset options take the reference's defaults.
 * A gw_ratios is immutable once built and shared by a worker's requests. */
#ifndef GW_RELAY_BILLING_H
#define GW_RELAY_BILLING_H

#include <stddef.h>
#include <jansson.h>

#define GW_QUOTA_PER_UNIT 500000

typedef struct gw_ratios gw_ratios;

/* get(key) returns the option's current text or NULL when unset. */
typedef const char *(*gw_option_get_cb)(const char *key, void *data);
int gw_ratios_build(gw_option_get_cb get, void *data, gw_ratios **out, char *err, size_t errlen);
void gw_ratios_free(gw_ratios *r);

struct gw_price {
    int use_price;            /* ModelPrice set: a fixed price per call */
    double model_price;       /* USD per call */
    double model_ratio, completion_ratio, group_ratio, cache_ratio, cache_write_ratio;
    int free;                 /* ratio or price is 0: nothing is reserved */
};

/* Price of model for a user in user_group calling through using_group.
 * GW_ENOTFOUND when neither a ratio nor a price is configured and
 * self_use_mode is off (reference: "倍率或价格未配置"); with self_use_mode the
 * reference's fallback ratio 37.5 applies. */
int gw_price_lookup(const gw_ratios *r, const char *model, const char *user_group,
                    const char *using_group, int self_use_mode, struct gw_price *out);

struct gw_usage {
    long long prompt, completion, total;
    long long cached, cache_write;  /* prompt tokens read from / written to cache */
    int present;                    /* the upstream reported usage */
};

/* Reservation before the call: price mode → exactly the price;
 * ratio mode → (max(prompt_estimate, pre_consumed_min) + max_tokens) ×
 * model_ratio × group_ratio. max_tokens 0 → the caller's default. */
long long gw_billing_reserve(const struct gw_price *p, long long prompt_estimate,
                             long long max_tokens, long long pre_consumed_min);

/* Actual quota for the usage (OpenAI chat formula, rounded half up; a
 * non-zero ratio gives at least 1; no tokens at all gives 0). */
long long gw_billing_quota(const struct gw_price *p, const struct gw_usage *u);

/* Token estimates used when the upstream reports no usage. Bounded work,
 * no allocation proportional to the text. */
long long gw_estimate_text_tokens(const char *model, const char *text, size_t len);
/* OpenAI chat request: messages, names, tools, images (reference rules). */
long long gw_estimate_request_tokens(const char *model, const json_t *request);

#endif
