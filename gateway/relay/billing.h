/* Prices and quota arithmetic with the reference's formulas
 * (new-api-behaviour.md §4). 500,000 quota = 1 USD; ratio 1 = $0.002 / 1K
 * tokens.
 *
 * The ratio tables come from the options (ModelRatio, CompletionRatio,
 * ModelPrice, GroupRatio, GroupGroupRatio, CacheRatio, CreateCacheRatio,
 * ImageRatio, AudioRatio, AudioCompletionRatio), each a JSON object text; a
 * set option replaces the whole default table, as the reference's
 * LoadFromJsonString does; unset options take the reference's defaults
 * (billing_defaults.c). A gw_ratios is immutable once built and may be read
 * from any thread; it owns everything it points to.
 *
 * Model names are matched exactly after the reference's
 * FormatMatchingModelName collapse (gpt-4-gizmo* → "gpt-4-gizmo-*",
 * gpt-4o-gizmo* → "gpt-4o-gizmo-*", gemini-2.5-{flash,flash-lite,pro}…
 * containing "-thinking-" → "gemini-2.5-…-thinking-*"). */
#ifndef GW_RELAY_BILLING_H
#define GW_RELAY_BILLING_H

#include <stddef.h>
#include <jansson.h>

#define GW_QUOTA_PER_UNIT 500000
/* The reference's PreConsumedQuota default (tokens, not quota). */
#define GW_BILLING_PRE_CONSUMED_MIN 500
/* Completion allowance reserved when the request sets no max_tokens: the
 * reference reserves none and lets the call run into the red; we reserve
 * this many completion tokens at the completion ratio and let the relay
 * extend the reservation mid-stream. */
#define GW_BILLING_DEFAULT_MAX_TOKENS 4096

typedef struct gw_ratios gw_ratios;

/* get(key) returns the option's current text or NULL when unset; an empty
 * text counts as unset. On failure returns GW_EINVAL with err naming the
 * option (and key) — not JSON, not an object, a value that is not a
 * number, negative or above 1e9 (GroupGroupRatio: an object of such
 * objects) — or GW_ENOMEM; *out is then NULL. */
typedef const char *(*gw_option_get_cb)(const char *key, void *data);
int gw_ratios_build(gw_option_get_cb get, void *data, gw_ratios **out, char *err, size_t errlen);
void gw_ratios_free(gw_ratios *r);
/* Checks one price-table option's text exactly as gw_ratios_build reads it
 * (ModelRatio ... GroupRatio, GroupGroupRatio): the option API validates
 * with it, so that a value it accepts is never one the workers refuse.
 * GW_OK, GW_EINVAL with the reason in err, GW_ENOTFOUND for any other key. */
int gw_ratios_check(const char *option_key, const char *text, char *err, size_t errlen);

/* The built-in table that stands for option_key (one of the option names
 * above, GroupGroupRatio excepted) while the option is unset, as compact
 * JSON text in the table's order with each value in its shortest
 * round-trip form: {"gpt-4-gizmo-*":15,...,"gpt-4o-mini":0.075,...}.
 * Saved back as the option, it prices exactly as the unset option does.
 * Returns text to free with gw_free; NULL for any other key or on
 * allocation failure. */
char *gw_ratios_default_json(const char *option_key);

struct gw_price {
    int use_price;            /* ModelPrice set: a fixed price per call */
    double model_price;       /* USD per call (price mode; else 0) */
    /* Ratio mode only (all 0 in price mode, as in the reference's logs). */
    double model_ratio, completion_ratio, cache_ratio, cache_write_ratio;
    double image_ratio, audio_ratio, audio_completion_ratio;
    int has_audio_ratio;      /* AudioRatio or AudioCompletionRatio lists the model */
    double group_ratio;       /* always set */
    double group_special_ratio; /* GroupGroupRatio value used, or -1 */
    int free;                 /* ratio, price or group ratio is 0: nothing is reserved */
};

/* Price of model for a user in user_group calling through using_group
 * (the token's group, or the group "auto" resolved to).
 * Group ratio: GroupGroupRatio[user_group][using_group] if present, else
 * GroupRatio[using_group], else 1 (the reference logs and uses 1).
 * ModelPrice wins over ModelRatio. GW_ENOTFOUND when neither is configured
 * and self_use_mode is off (reference: "倍率或价格未配置"); with self_use_mode
 * (pass it also for the user setting AcceptUnsetRatioModel) the reference's
 * fallback ratio 37.5 applies. Completion ratio: the reference's
 * GetCompletionRatio, i.e. hard-coded "locked" values for known families
 * win over the option. out is fully written on success. */
int gw_price_lookup(const gw_ratios *r, const char *model, const char *user_group,
                    const char *using_group, int self_use_mode, struct gw_price *out);

/* Usage in OpenAI semantics: prompt includes cached, cache-write, image and
 * audio input tokens. Unknown details are 0. */
/* Upper bound of each count an upstream reports (adapters clamp to it): no
 * call is that large, and sums of counts stay far from overflow. */
#define GW_USAGE_TOKENS_MAX 1000000000LL

struct gw_usage {
    long long prompt, completion, total;
    long long cached, cache_write;  /* prompt tokens read from / written to cache */
    long long cache_write_1h;       /* the part of cache_write with the 1-hour TTL
                                       (Claude): billed at CreateCacheRatio x 6/3.75 */
    long long reasoning;            /* completion_tokens_details.reasoning_tokens (part of
                                       completion: Gemini thoughts are billed as completion) */
    long long image;                /* prompt_tokens_details.image_tokens */
    long long text_in, audio_in;    /* prompt_tokens_details.{text,audio}_tokens */
    long long text_out, audio_out;  /* completion_tokens_details.{text,audio}_tokens */
    int present;                    /* the upstream reported usage */
};

/* Reservation before the call, in quota.
 * Price mode: exactly what gw_billing_quota charges for the call,
 * round_half_up(price × 500000 × group_ratio) — so a budget for exactly N
 * calls serves exactly N (the reference truncates here; we must not, or
 * reservation and charge would differ).
 * Ratio mode, as the reference (truncated):
 *   int((max(prompt_estimate, pre_consumed_min) + max_tokens) ×
 *       (model_ratio × group_ratio))
 * and when max_tokens ≤ 0, GW_BILLING_DEFAULT_MAX_TOKENS × completion_ratio
 * (rounded up) stands in for it. 0 for a free model. Never negative. */
long long gw_billing_reserve(const struct gw_price *p, long long prompt_estimate,
                             long long max_tokens, long long pre_consumed_min);

/* Actual quota for the usage, in exact decimal arithmetic on the shortest
 * decimal form of each ratio (as shopspring/decimal.NewFromFloat), rounded
 * half up — the reference's postConsumeQuota:
 *   base   = max(0, prompt − cached − cache_write − image)
 *   prompt_q = base + cached×CacheRatio + (cache_write − cache_write_1h)×CreateCacheRatio
 *              + cache_write_1h×CreateCacheRatio×6/3.75 + image×ImageRatio
 *   quota  = (prompt_q + completion×CompletionRatio) × ModelRatio × GroupRatio
 * ModelRatio×GroupRatio ≠ 0 gives at least 1. Price mode:
 * price × 500000 × group_ratio. prompt + completion == 0 gives 0 in both
 * modes (reference: "上游没有返回计费信息"); a caller without upstream usage
 * fills prompt/completion from the estimates first.
 * When the usage has audio tokens and the model has an audio ratio, the
 * reference's audio formula applies instead:
 *   (text_in + text_out×CR + audio_in×AR + audio_out×AR×ACR) × MR × GR
 * (price mode there truncates, as the reference). */
long long gw_billing_quota(const struct gw_price *p, const struct gw_usage *u);

/* The ratio of Claude's 1-hour cache writes: CreateCacheRatio × 6/3.75
 * (the reference's claudeCacheCreation1hMultiplier), computed in double as
 * the reference does before its decimal arithmetic. */
double gw_billing_cache_write_1h_ratio(const struct gw_price *p);

/* Token estimates used when the upstream reports no usage: the reference's
 * heuristic (service/token_estimator.go) with the weights of the provider
 * the model name selects ("gemini", "claude", else OpenAI). We have no BPE
 * vocabularies, so OpenAI models use the OpenAI weights where the
 * reference runs tiktoken. One pass, no allocation; text may be NULL when
 * len is 0. */
long long gw_estimate_text_tokens(const char *model, const char *text, size_t len);

/* The same estimator fed piece by piece (stream deltas): the result is
 * identical to one gw_estimate_text_tokens over the concatenation, however
 * the text is split, including inside a UTF-8 sequence. Constant memory. */
struct gw_estimator {
    const void *w;            /* the provider's weights */
    double count;
    int word;                 /* inside a run of letters (1) or digits (2) */
    unsigned char pending[4]; /* an incomplete UTF-8 sequence at a chunk end */
    unsigned npending;
};
void gw_estimator_init(struct gw_estimator *e, const char *model);
void gw_estimator_feed(struct gw_estimator *e, const char *text, size_t len);
long long gw_estimator_result(struct gw_estimator *e);

/* Prompt estimate for an OpenAI-style request body (chat, completions,
 * embeddings), the reference's EstimateRequestToken: texts (prompt, input
 * strings, each message's role, name and text parts, each tool's name,
 * description and parameters as compact JSON) joined by "\n" and
 * estimated once; + 3 per message, 3 per name, 8 per tool and 3 more when
 * the body has "messages" or "prompt" (the OpenAI relay format); images
 * per gw_estimate_image_tokens without a size (we never fetch them),
 * input_audio 256, file 4096, video_url 8192. 0 for a NULL body. */
long long gw_estimate_request_tokens(const char *model, const json_t *request);

/* One image: for OpenAI text models (name contains gpt-, o1, o3, o4 or
 * chatgpt) the reference's getImageToken — tile formula (fit in 2048²,
 * shortest side to 768, base + tile × 512-px tiles, per-model base/tile),
 * the 32-px patch formula for the mini/nano families, detail "low" → base;
 * width or height 0 (size unknown) → 3 × base as the reference counts when
 * it does not fetch the image. Other models: 520. */
long long gw_estimate_image_tokens(const char *model, int width, int height, const char *detail);

#endif
