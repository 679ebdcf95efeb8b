/* Ratio tables, price lookup, reservation and quota (new-api-behaviour.md
 * §4). The lookups follow the reference's setting/ratio_setting
 * (model_ratio.go, cache_ratio.go, group_ratio.go) and relay/helper/price.go
 * at the Feb tree (f4f144bc); the quota follows relay/compatible_handler.go
 * postConsumeQuota and service/quota.go calculateAudioQuota. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/billing.h"
#include "gateway/relay/billing_dec.h"
#include "gateway/relay/billing_defaults.h"
#include "gateway/relay/model_name.h"

/* Values above this are config mistakes, and the bound keeps the exact
 * decimal products inside billing_dec's fixed size. */
#define RATIO_MAX 1e9
/* Token counts beyond this are nonsense from upstream; clamp, don't wrap. */
#define TOKENS_MAX 1000000000000000LL
/* Reference GetModelRatio fallback under SelfUseModeEnabled. */
#define SELF_USE_RATIO 37.5
#define COMPACT_SUFFIX "-openai-compact"
#define COMPACT_WILDCARD "*-openai-compact"
/* A built-in table as JSON text is about 10 KB; this bounds a typo. */
#define DEFAULT_JSON_MAX (1024 * 1024)

enum {
    T_MODEL_RATIO,
    T_MODEL_PRICE,
    T_COMPLETION,
    T_CACHE,
    T_CREATE_CACHE,
    T_IMAGE,
    T_AUDIO,
    T_AUDIO_COMPLETION,
    T_GROUP,
    T_NTABLES
};

static const struct {
    const char *option;
    const struct gw__ratio_entry *defaults;
} tables[T_NTABLES] = {
    [T_MODEL_RATIO] = { "ModelRatio", gw__default_model_ratio },
    [T_MODEL_PRICE] = { "ModelPrice", gw__default_model_price },
    [T_COMPLETION] = { "CompletionRatio", gw__default_completion_ratio },
    [T_CACHE] = { "CacheRatio", gw__default_cache_ratio },
    [T_CREATE_CACHE] = { "CreateCacheRatio", gw__default_create_cache_ratio },
    [T_IMAGE] = { "ImageRatio", gw__default_image_ratio },
    [T_AUDIO] = { "AudioRatio", gw__default_audio_ratio },
    [T_AUDIO_COMPLETION] = { "AudioCompletionRatio", gw__default_audio_completion_ratio },
    [T_GROUP] = { "GroupRatio", gw__default_group_ratio },
};

struct gw_ratios {
    json_t *t[T_NTABLES]; /* objects of name → number */
    json_t *group_group;  /* object of user group → object of group → number */
};

/* ---- building ---- */

static int check_value(const char *option, const char *outer, const char *key,
                       const json_t *v, char *err, size_t errlen)
{
    double d;

    if (!json_is_number(v)) {
        snprintf(err, errlen, "%s: value of \"%s%s%s\" is not a number", option,
                 outer ? outer : "", outer ? "." : "", key);
        return GW_EINVAL;
    }
    d = json_number_value(v);
    if (!(d >= 0 && d <= RATIO_MAX)) {
        snprintf(err, errlen, "%s: value of \"%s%s%s\" must be between 0 and 1e9", option,
                 outer ? outer : "", outer ? "." : "", key);
        return GW_EINVAL;
    }
    return GW_OK;
}

/* Parses the option text (must be a JSON object); depth 2 for
 * GroupGroupRatio. */
static int parse_table(const char *option, const char *text, int depth, json_t **out,
                       char *err, size_t errlen)
{
    json_error_t jerr;
    const char *k, *k2;
    json_t *v, *v2;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

    *out = NULL;
    if (!o) {
        snprintf(err, errlen, "%s: invalid JSON: %s", option, jerr.text);
        return GW_EINVAL;
    }
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s: must be a JSON object", option);
        json_decref(o);
        return GW_EINVAL;
    }
    json_object_foreach(o, k, v) {
        if (depth == 1) {
            if (check_value(option, NULL, k, v, err, errlen) != GW_OK)
                goto fail;
            continue;
        }
        if (!json_is_object(v)) {
            snprintf(err, errlen, "%s: value of \"%s\" must be an object", option, k);
            goto fail;
        }
        json_object_foreach(v, k2, v2) {
            if (check_value(option, k, k2, v2, err, errlen) != GW_OK)
                goto fail;
        }
    }
    *out = o;
    return GW_OK;
fail:
    json_decref(o);
    return GW_EINVAL;
}

int gw_ratios_check(const char *option_key, const char *text, char *err, size_t errlen)
{
    int depth = 0;
    json_t *o = NULL;

    for (int i = 0; i < T_NTABLES; i++)
        if (strcmp(option_key, tables[i].option) == 0)
            depth = 1;
    if (strcmp(option_key, "GroupGroupRatio") == 0)
        depth = 2;
    if (depth == 0)
        return GW_ENOTFOUND;
    int rc = parse_table(option_key, text ? text : "", depth, &o, err, errlen);
    json_decref(o);
    return rc;
}

static int table_from_defaults(const struct gw__ratio_entry *e, json_t **out)
{
    json_t *o = json_object();

    if (!o)
        return GW_ENOMEM;
    for (; e->name; e++) {
        if (json_object_set_new(o, e->name, json_real(e->value)) != 0) {
            json_decref(o);
            return GW_ENOMEM;
        }
    }
    *out = o;
    return GW_OK;
}

static const char *option_text(gw_option_get_cb get, void *data, const char *key)
{
    const char *s = get ? get(key, data) : NULL;
    return s && *s ? s : NULL;
}

int gw_ratios_build(gw_option_get_cb get, void *data, gw_ratios **out, char *err, size_t errlen)
{
    gw_ratios *r = gw_calloc(1, sizeof *r);
    const char *text;
    int i, rc = GW_OK;

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (!r)
        return GW_ENOMEM;
    for (i = 0; i < T_NTABLES && rc == GW_OK; i++) {
        text = option_text(get, data, tables[i].option);
        rc = text ? parse_table(tables[i].option, text, 1, &r->t[i], err, errlen)
                  : table_from_defaults(tables[i].defaults, &r->t[i]);
    }
    if (rc == GW_OK) {
        text = option_text(get, data, "GroupGroupRatio");
        rc = text ? parse_table("GroupGroupRatio", text, 2, &r->group_group, err, errlen)
                  : ((r->group_group = json_object()) ? GW_OK : GW_ENOMEM);
    }
    if (rc != GW_OK) {
        if (rc == GW_ENOMEM && errlen)
            snprintf(err, errlen, "out of memory building ratio tables");
        gw_ratios_free(r);
        return rc;
    }
    *out = r;
    return GW_OK;
}

void gw_ratios_free(gw_ratios *r)
{
    int i;

    if (!r)
        return;
    for (i = 0; i < T_NTABLES; i++)
        json_decref(r->t[i]);
    json_decref(r->group_group);
    gw_free(r);
}

/* ---- the built-in tables as option text ---- */

/* Shortest of %.15g..%.17g that parses back to v: the admin reads 0.075,
 * not 0.074999999999999997, and saving it changes nothing. */
static int append_number(gw_buf *b, double v)
{
    char num[32];
    int prec;

    for (prec = 15; prec < 17; prec++) {
        snprintf(num, sizeof num, "%.*g", prec, v);
        if (strtod(num, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(num, sizeof num, "%.17g", v);
    return gw_buf_appends(b, num);
}

char *gw_ratios_default_json(const char *option_key)
{
    const struct gw__ratio_entry *e = NULL;
    gw_buf b;
    int i, rc;

    for (i = 0; i < T_NTABLES && option_key && !e; i++)
        if (strcmp(tables[i].option, option_key) == 0)
            e = tables[i].defaults;
    if (!e)
        return NULL;
    gw_buf_init(&b, DEFAULT_JSON_MAX);
    rc = gw_buf_appends(&b, "{");
    for (; e->name && rc == GW_OK; e++) {
        json_t *name = json_string(e->name);

        rc = name ? gw_json_dump_buf(name, &b, JSON_ENCODE_ANY) : GW_ENOMEM;
        json_decref(name);
        if (rc == GW_OK)
            rc = gw_buf_appends(&b, ":");
        if (rc == GW_OK)
            rc = append_number(&b, e->value);
        if (rc == GW_OK && e[1].name)
            rc = gw_buf_appends(&b, ",");
    }
    if (rc == GW_OK)
        rc = gw_buf_appends(&b, "}");
    if (rc != GW_OK) {
        gw_buf_free(&b);
        return NULL;
    }
    return gw_buf_steal(&b);
}

/* ---- lookups ---- */

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

static int get(const gw_ratios *r, int t, const char *name, double *v)
{
    const json_t *j = json_object_get(r->t[t], name);

    if (!j)
        return 0;
    *v = json_number_value(j);
    return 1;
}

/* getHardcodedCompletionModelRatio: *locked says the value beats the
 * CompletionRatio option; an unlocked value is the fallback when the option
 * has no entry. */
static double hard_completion_ratio(const char *n, int *locked)
{
    *locked = 1;
    if (has_suffix(n, "-all") || has_suffix(n, "-gizmo-*"))
        return *locked = 0, 2;
    if (has_prefix(n, "gpt-")) {
        if (has_prefix(n, "gpt-4o")) {
            if (strcmp(n, "gpt-4o-2024-05-13") == 0)
                return 3;
            *locked = 0;
            return has_prefix(n, "gpt-4o-mini-tts") ? 20 : 4;
        }
        if (has_prefix(n, "gpt-5"))
            return 8;
        if (has_prefix(n, "gpt-4.5-preview"))
            return 2;
        if (has_prefix(n, "gpt-4-turbo") || has_suffix(n, "gpt-4-1106") || has_suffix(n, "gpt-4-1105"))
            return 3;
        return *locked = 0, 2;
    }
    if (has_prefix(n, "o1") || has_prefix(n, "o3"))
        return 4;
    if (strcmp(n, "chatgpt-4o-latest") == 0)
        return 3;
    if (strstr(n, "claude-3") || strstr(n, "claude-sonnet-4") || strstr(n, "claude-opus-4") ||
        strstr(n, "claude-haiku-4"))
        return 5;
    if (has_prefix(n, "gpt-3.5")) { /* unreachable after "gpt-", kept as in the reference */
        if (strcmp(n, "gpt-3.5-turbo") == 0 || has_suffix(n, "0125"))
            return 3;
        return has_suffix(n, "1106") ? 2 : 4.0 / 3.0;
    }
    if (has_prefix(n, "mistral-"))
        return 3;
    if (has_prefix(n, "gemini-")) {
        if (has_prefix(n, "gemini-1.5") || has_prefix(n, "gemini-2.0"))
            return 4;
        *locked = 0;
        if (has_prefix(n, "gemini-2.5-pro"))
            return 8;
        if (has_prefix(n, "gemini-2.5-flash")) {
            if (has_prefix(n, "gemini-2.5-flash-preview"))
                return has_suffix(n, "-nothinking") ? 4 : 3.5 / 0.15;
            if (has_prefix(n, "gemini-2.5-flash-lite"))
                return 4;
            return 2.5 / 0.3;
        }
        if (has_prefix(n, "gemini-robotics-er-1.5"))
            return 2.5 / 0.3;
        if (has_prefix(n, "gemini-3-pro"))
            return has_prefix(n, "gemini-3-pro-image") ? 60 : 6;
        return 4;
    }
    if (has_prefix(n, "command")) {
        if (strcmp(n, "command-r") == 0)
            return 3;
        if (strcmp(n, "command-r-plus") == 0)
            return 5;
        if (strcmp(n, "command-r-08-2024") == 0 || strcmp(n, "command-r-plus-08-2024") == 0)
            return 4;
        return *locked = 0, 4;
    }
    if (has_prefix(n, "ERNIE-Speed-") || has_prefix(n, "ERNIE-Lite-") ||
        has_prefix(n, "ERNIE-Character") || has_prefix(n, "ERNIE-Functions"))
        return 2;
    /* Go folds 0.8/0.64 exactly to 1.25; in C it would be 1.2499999999999998. */
    if (strcmp(n, "llama2-70b-4096") == 0)
        return 1.25;
    if (strcmp(n, "llama3-8b-8192") == 0)
        return 2;
    if (strcmp(n, "llama3-70b-8192") == 0)
        return 79.0 / 59.0;
    return *locked = 0, 1;
}

/* GetCompletionRatio. */
static double completion_ratio(const gw_ratios *r, const char *n)
{
    double v, hard;
    int locked;

    if (strchr(n, '/') && get(r, T_COMPLETION, n, &v))
        return v;
    hard = hard_completion_ratio(n, &locked);
    if (locked)
        return hard;
    return get(r, T_COMPLETION, n, &v) ? v : hard;
}

/* GetModelPrice (Feb tree: a compact-suffixed name only matches the
 * compact wildcard). */
static int model_price(const gw_ratios *r, const char *n, double *v)
{
    if (has_suffix(n, COMPACT_SUFFIX))
        return get(r, T_MODEL_PRICE, COMPACT_WILDCARD, v);
    return get(r, T_MODEL_PRICE, n, v);
}

static double group_ratio(const gw_ratios *r, const char *user_group, const char *using_group,
                          double *special)
{
    const json_t *g = json_object_get(r->group_group, user_group ? user_group : "");
    const json_t *v = g ? json_object_get(g, using_group ? using_group : "") : NULL;
    double d;

    *special = -1;
    if (v) {
        *special = json_number_value(v);
        return *special;
    }
    return get(r, T_GROUP, using_group ? using_group : "", &d) ? d : 1;
}

int gw_price_lookup(const gw_ratios *r, const char *model, const char *user_group,
                    const char *using_group, int self_use_mode, struct gw_price *out)
{
    const char *n;
    double v;

    memset(out, 0, sizeof *out);
    if (!r || !model)
        return GW_EINVAL;
    n = gw_model_matching_name(model); /* thinking Gemini names, GPTs: one entry each */
    out->group_ratio = group_ratio(r, user_group, using_group, &out->group_special_ratio);
    if (model_price(r, n, &v)) {
        out->use_price = 1;
        out->model_price = v;
        out->free = v == 0 || out->group_ratio == 0;
        return GW_OK;
    }
    if (get(r, T_MODEL_RATIO, n, &v)) {
        out->model_ratio = v;
    } else if (has_suffix(n, COMPACT_SUFFIX) && get(r, T_MODEL_RATIO, COMPACT_WILDCARD, &v)) {
        out->model_ratio = v;
    } else if (self_use_mode) {
        out->model_ratio = SELF_USE_RATIO;
    } else {
        memset(out, 0, sizeof *out);
        return GW_ENOTFOUND;
    }
    out->completion_ratio = completion_ratio(r, n);
    /* Cache and image ratios are looked up by the unformatted name, as the
     * reference does. */
    out->cache_ratio = get(r, T_CACHE, model, &v) ? v : 1;
    out->cache_write_ratio = get(r, T_CREATE_CACHE, model, &v) ? v : 1.25;
    out->image_ratio = get(r, T_IMAGE, model, &v) ? v : 1;
    out->audio_ratio = 1;
    out->audio_completion_ratio = 1;
    if (get(r, T_AUDIO, n, &out->audio_ratio))
        out->has_audio_ratio = 1;
    if (get(r, T_AUDIO_COMPLETION, n, &out->audio_completion_ratio))
        out->has_audio_ratio = 1;
    out->free = out->model_ratio == 0 || out->group_ratio == 0;
    return GW_OK;
}

/* ---- arithmetic ---- */

static long long clamp_tokens(long long t)
{
    return t < 0 ? 0 : t > TOKENS_MAX ? TOKENS_MAX : t;
}

static gw__dec dec_d(double v)
{
    gw__dec x;
    gw__dec_from_double(&x, v);
    return x;
}

static gw__dec dec_i(long long v)
{
    gw__dec x;
    gw__dec_from_u64(&x, (uint64_t)clamp_tokens(v));
    return x;
}

/* acc += tokens × ratio */
static void add_term(gw__dec *acc, long long tokens, double ratio)
{
    gw__dec t = dec_i(tokens), rd = dec_d(ratio);
    gw__dec_mul(&t, &t, &rd);
    gw__dec_add(acc, acc, &t);
}

/* price × 500000 × group ratio, exact. */
static gw__dec price_quota(const struct gw_price *p)
{
    gw__dec q = dec_d(p->model_price), u = dec_i(GW_QUOTA_PER_UNIT), g = dec_d(p->group_ratio);
    gw__dec_mul(&q, &q, &u);
    gw__dec_mul(&q, &q, &g);
    return q;
}

long long gw_billing_reserve(const struct gw_price *p, long long prompt_estimate,
                             long long max_tokens, long long pre_consumed_min)
{
    long long tokens;
    double q;

    if (p->free)
        return 0;
    if (p->use_price) {
        gw__dec d = price_quota(p);
        return gw__dec_to_i64(&d, 1);
    }
    tokens = clamp_tokens(prompt_estimate);
    if (tokens < pre_consumed_min)
        tokens = clamp_tokens(pre_consumed_min);
    if (max_tokens > 0)
        tokens += clamp_tokens(max_tokens);
    else
        tokens += (long long)ceil(GW_BILLING_DEFAULT_MAX_TOKENS * p->completion_ratio);
    /* int(float64(preConsumedTokens) × (modelRatio × groupRatio)) */
    q = (double)tokens * (p->model_ratio * p->group_ratio);
    if (!(q > 0))
        return 0;
    return q >= 9.2e18 ? LLONG_MAX : (long long)q;
}

/* calculateAudioQuota. */
static long long audio_quota(const struct gw_price *p, const struct gw_usage *u, const gw__dec *ratio)
{
    gw__dec q, t;

    gw__dec_from_u64(&q, 0);
    t = dec_i(u->text_in);
    gw__dec_add(&q, &q, &t);
    add_term(&q, u->text_out, p->completion_ratio);
    add_term(&q, u->audio_in, p->audio_ratio);
    t = dec_i(u->audio_out);
    gw__dec ar = dec_d(p->audio_ratio), acr = dec_d(p->audio_completion_ratio);
    gw__dec_mul(&t, &t, &ar);
    gw__dec_mul(&t, &t, &acr);
    gw__dec_add(&q, &q, &t);
    gw__dec_mul(&q, &q, ratio);
    if (!gw__dec_is_zero(ratio) && gw__dec_is_zero(&q))
        return 1;
    return gw__dec_to_i64(&q, 1);
}

double gw_billing_cache_write_1h_ratio(const struct gw_price *p)
{
    return p->cache_write_ratio * (6 / 3.75);
}

long long gw_billing_quota(const struct gw_price *p, const struct gw_usage *u)
{
    gw__dec ratio = dec_d(p->model_ratio), g = dec_d(p->group_ratio), q;
    long long prompt = clamp_tokens(u->prompt), completion = clamp_tokens(u->completion);
    long long cached = clamp_tokens(u->cached), cw = clamp_tokens(u->cache_write);
    long long image = clamp_tokens(u->image), quota;

    gw__dec_mul(&ratio, &ratio, &g);
    if (p->use_price) {
        /* Our one divergence: the reference's audio path truncates a
         * fractional price here; we round everywhere, so the reservation
         * (gw_billing_reserve) always equals the charge. */
        if (prompt + completion == 0)
            return 0;
        q = price_quota(p);
        return gw__dec_to_i64(&q, 1);
    }
    if ((u->audio_in > 0 || u->audio_out > 0) && p->has_audio_ratio)
        return audio_quota(p, u, &ratio);
    if (prompt + completion == 0)
        return 0;
    long long base = prompt - cached - cw - image;
    gw__dec_from_u64(&q, (uint64_t)(base > 0 ? base : 0));
    add_term(&q, cached, p->cache_ratio);
    /* Claude's 1-hour writes: CreateCacheRatio × 6/3.75 (the reference's
     * claudeCacheCreation1hMultiplier, a float product as there) */
    long long cw1h = clamp_tokens(u->cache_write_1h) < cw ? clamp_tokens(u->cache_write_1h) : cw;
    add_term(&q, cw - cw1h, p->cache_write_ratio);
    add_term(&q, cw1h, gw_billing_cache_write_1h_ratio(p));
    add_term(&q, image, p->image_ratio);
    add_term(&q, completion, p->completion_ratio);
    gw__dec_mul(&q, &q, &ratio);
    quota = gw__dec_to_i64(&q, 1);
    if (!gw__dec_is_zero(&ratio) && quota == 0)
        quota = 1;
    return quota;
}
