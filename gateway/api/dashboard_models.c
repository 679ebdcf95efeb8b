/* GET /api/models (user): the reference's DashboardListModels,
 * {"success":true,"data":{"<channel type>":["model", ...], ...}}, the models each
 * channel type knows without asking its upstream (the console fills a new
 * channel's model list from it).
 *
 * The reference keeps a hand-written list per adaptor. Here the names come from
 * the built-in price tables (billing's ModelRatio and ModelPrice, so every name is
 * one the gateway can bill), given to a type by the provider's name prefixes
 * below; an OpenAI-compatible type without a family of its own gets OpenAI's, as
 * the reference's OpenAI adaptor answers for them. A type with an adapter but no
 * known family (Ollama, OpenRouter, SiliconFlow, Xinference: their models are
 * whatever the operator runs) has an empty list; types without an adapter are
 * not listed. Built once per worker: the tables are compiled in. */
#include <stdio.h>
#include <string.h>
#include "adapters/adapter.h"
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/core/alloc.h"
#include "gateway/relay/billing.h"

#define TYPE_MAX 64

static const char *const openai[] = { "gpt-", "chatgpt-", "o1", "o3", "o4", "text-embedding-3",
                                      "text-embedding-ada", "text-moderation",
                                      "omni-moderation", "dall-e", "whisper", "tts-",
                                      "davinci", "babbage", NULL };
static const char *const anthropic[] = { "claude-", NULL };
static const char *const gemini[] = { "gemini-", "gemma-", NULL };
static const char *const moonshot[] = { "moonshot-", "kimi-", NULL };
static const char *const lingyi[] = { "yi-", NULL };
static const char *const q360[] = { "360", NULL };
static const char *const perplexity[] = { "sonar", "llama-3-sonar", "llama-3.1-sonar", NULL };
static const char *const mistral[] = { "mistral-", "open-mistral", "open-mixtral", "codestral",
                                       "pixtral", "ministral", NULL };
static const char *const deepseek[] = { "deepseek-", NULL };
static const char *const xai[] = { "grok-", NULL };
static const char *const none[] = { NULL };

static const struct {
    int type;
    const char *const *prefixes;
} families[] = {
    {3, openai}, {4, none}, {14, anthropic}, {19, q360}, {20, none}, {24, gemini},
    {25, moonshot}, {27, perplexity}, {31, lingyi}, {40, none}, {42, mistral},
    {43, deepseek}, {47, none}, {48, xai},
};

static const char *const *prefixes_of(const struct gw_channel_type *ct)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].type == ct->type)
            return families[i].prefixes;
    return ct->adapter == &gw_adapter_openai ? openai : none;
}

static int matches(const char *name, const char *const *p)
{
    if (strchr(name, '*')) /* a pattern of the price table, not a model */
        return 0;
    for (; *p; p++)
        if (strncmp(name, *p, strlen(*p)) == 0)
            return 1;
    return 0;
}

/* Appends the names of table (a built-in price option) that match p, once. */
static void add_names(json_t *list, const json_t *table, const char *const *p)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)table, name, v) {
        int seen = 0;
        size_t i;
        json_t *x;
        if (!matches(name, p))
            continue;
        json_array_foreach(list, i, x) {
            if (strcmp(json_string_value(x), name) == 0) {
                seen = 1;
                break;
            }
        }
        if (!seen)
            json_array_append_new(list, json_string(name));
    }
}

static json_t *load(const char *key)
{
    char *text = gw_ratios_default_json(key);
    json_t *j = text ? json_loads(text, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    gw_free(text);
    return j;
}

static json_t *build(void)
{
    json_t *ratio = load("ModelRatio"), *price = load("ModelPrice");
    json_t *out = ratio && price ? json_object() : NULL;
    for (int t = 1; out && t <= TYPE_MAX; t++) {
        const struct gw_channel_type *ct = gw_channel_type(t);
        if (!ct)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%d", t);
        json_t *list = json_array();
        add_names(list, ratio, prefixes_of(ct));
        add_names(list, price, prefixes_of(ct));
        json_object_set_new(out, key, list);
    }
    json_decref(ratio);
    json_decref(price);
    return out;
}

void gw_api_dashboard_models(gw_req *r, const struct gw_caller *who)
{
    static json_t *cache; /* per worker process, loop thread only */
    (void)who;
    if (!cache)
        cache = build();
    if (!cache) {
        gw_api_fail(r, "out of memory");
        return;
    }
    /* The reference's answer has no "message". */
    json_t *j = json_pack("{s:b, s:O}", "success", 1, "data", cache);
    gw_resp_json(r, 200, j);
    json_decref(j);
}
