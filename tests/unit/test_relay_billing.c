/* Ratio tables, price lookup, reservation and quota against the reference's
 * defaults and formulas (new-api-behaviour.md §4). Expected quotas are
 * worked by hand in the comments: (prompt_q + completion × CR) × MR × GR,
 * rounded half up. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/relay/billing.h"

/* Options as a NULL-terminated key/value list. */
struct opts {
    const char *kv[24];
};

static const char *opt_get(const char *key, void *data)
{
    const struct opts *o = data;
    int i;

    for (i = 0; o && o->kv[i]; i += 2) {
        if (strcmp(o->kv[i], key) == 0)
            return o->kv[i + 1];
    }
    return NULL;
}

static gw_ratios *build(const struct opts *o)
{
    gw_ratios *r = NULL;
    char err[256];

    assert_int_equal(gw_ratios_build(opt_get, (void *)o, &r, err, sizeof err), GW_OK);
    assert_non_null(r);
    return r;
}

static void test_default_lookups(void **state)
{
    static const struct {
        const char *model;
        int use_price;
        double price, mr, cr, cache, cw;
    } cases[] = {
        { "gpt-4o", 0, 0, 1.25, 4, 0.5, 1.25 },       /* CR 4 unlocked, no option entry */
        { "gpt-4o-2024-05-13", 0, 0, 2.5, 3, 1, 1.25 },
        { "gpt-4o-mini", 0, 0, 0.075, 4, 0.5, 1.25 },
        { "gpt-4.1", 0, 0, 1.0, 2, 0.25, 1.25 },      /* "gpt-" family default 2 */
        { "gpt-5", 0, 0, 0.625, 8, 0.1, 1.25 },
        { "gpt-5-mini", 0, 0, 0.125, 8, 0.1, 1.25 },
        { "gpt-4-turbo", 0, 0, 5, 3, 1, 1.25 },
        { "gpt-4.5-preview", 0, 0, 37.5, 2, 0.5, 1.25 },
        /* The gpt-3.5 branch of GetCompletionRatio sits after the "gpt-"
         * branch, which answers 2 first: the real value is 2, not 3. */
        { "gpt-3.5-turbo", 0, 0, 0.25, 2, 1, 1.25 },
        { "o1", 0, 0, 7.5, 4, 0.5, 1.25 },
        { "o3-mini", 0, 0, 0.55, 4, 0.5, 1.25 },
        { "o4-mini", 0, 0, 0.55, 1, 1, 1.25 },        /* only o1/o3 are locked */
        { "chatgpt-4o-latest", 0, 0, 2.5, 3, 1, 1.25 },
        { "text-embedding-3-small", 0, 0, 0.01, 1, 1, 1.25 },
        { "text-embedding-3-large", 0, 0, 0.065, 1, 1, 1.25 },
        { "claude-3-5-sonnet-20241022", 0, 0, 1.5, 5, 0.1, 1.25 },
        { "claude-sonnet-4-20250514", 0, 0, 1.5, 5, 0.1, 1.25 },
        { "claude-opus-4-1-20250805", 0, 0, 7.5, 5, 0.1, 1.25 },
        { "claude-3-haiku-20240307", 0, 0, 0.125, 5, 0.1, 1.25 },
        { "gemini-1.5-pro-latest", 0, 0, 1.25, 4, 1, 1.25 },
        { "gemini-2.0-flash", 0, 0, 0.05, 4, 1, 1.25 },
        { "gemini-2.5-pro", 0, 0, 0.625, 8, 1, 1.25 },
        { "gemini-2.5-flash", 0, 0, 0.15, 2.5 / 0.3, 1, 1.25 },
        /* FormatMatchingModelName collapses thinking budgets. */
        { "gemini-2.5-pro-thinking-512", 0, 0, 0.625, 8, 1, 1.25 },
        { "gemini-2.5-flash-thinking-1024", 0, 0, 0.075, 2.5 / 0.3, 1, 1.25 },
        { "deepseek-chat", 0, 0, 0.135, 1, 0.25, 1.25 },
        { "deepseek-reasoner", 0, 0, 0.275, 1, 0.25, 1.25 },
        { "ERNIE-4.0-8K", 0, 0, 600.0 / 73, 1, 1, 1.25 },  /* 0.120 × 500 / 7.3 */
        { "command-r", 0, 0, 0.25, 3, 1, 1.25 },
        { "dall-e-3", 1, 0.04, 0, 0, 0, 0 },
        { "gpt-4-gizmo-g-abc123", 1, 0.1, 0, 0, 0, 0 },     /* → gpt-4-gizmo-* */
        { "suno_music", 1, 0.1, 0, 0, 0, 0 },
    };
    gw_ratios *r = build(NULL);
    struct gw_price p;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(gw_price_lookup(r, cases[i].model, "default", "default", 0, &p), GW_OK);
        assert_int_equal(p.use_price, cases[i].use_price);
        assert_true(p.model_price == cases[i].price);
        assert_true(p.model_ratio == cases[i].mr);
        assert_true(p.completion_ratio == cases[i].cr);
        assert_true(p.cache_ratio == cases[i].cache);
        assert_true(p.cache_write_ratio == cases[i].cw);
        assert_true(p.group_ratio == 1);
        assert_true(p.group_special_ratio == -1);
        assert_false(p.free);
    }
    gw_ratios_free(r);
}

static void test_unset_and_free(void **state)
{
    gw_ratios *r = build(NULL);
    struct gw_price p;

    assert_int_equal(gw_price_lookup(r, "no-such-model", "default", "default", 0, &p), GW_ENOTFOUND);
    assert_int_equal(gw_price_lookup(r, "no-such-model", "default", "default", 1, &p), GW_OK);
    assert_true(p.model_ratio == 37.5);
    assert_true(p.completion_ratio == 1);
    assert_false(p.free);
    /* glm-4-flash has ratio 0, mj_inpaint price 0. */
    assert_int_equal(gw_price_lookup(r, "glm-4-flash", "default", "default", 0, &p), GW_OK);
    assert_true(p.free);
    assert_int_equal(gw_price_lookup(r, "mj_inpaint", "default", "default", 0, &p), GW_OK);
    assert_true(p.use_price && p.free);
    assert_int_equal(gw_price_lookup(NULL, "gpt-4o", "default", "default", 0, &p), GW_EINVAL);
    gw_ratios_free(r);
    gw_ratios_free(NULL);
}

static void test_option_forms(void **state)
{
    struct opts o = { {
        "ModelRatio", "{\"m1\":2,\"gpt-4o\":1.25,\"gpt-5\":0.625,\"x/claude-3-opus\":7.5,"
                      "\"glm\":0}",
        "ModelPrice", "{\"m1\":0.5,\"flat\":0.07,\"*-openai-compact\":0.01}",
        "CompletionRatio", "{\"gpt-4o\":5,\"gpt-5\":2,\"x/claude-3-opus\":7}",
        "CacheRatio", "{\"gpt-4o\":0.2}",
        "CreateCacheRatio", "{\"gpt-4o\":2}",
        "GroupRatio", "{\"default\":1,\"vip\":0.5,\"zero\":0}",
        "GroupGroupRatio", "{\"vip\":{\"default\":0.8}}",
        NULL } };
    gw_ratios *r = build(&o);
    struct gw_price p;

    /* A set ModelRatio replaces the defaults entirely. */
    assert_int_equal(gw_price_lookup(r, "claude-3-haiku-20240307", "default", "default", 0, &p),
                     GW_ENOTFOUND);
    /* ModelPrice wins over ModelRatio. */
    assert_int_equal(gw_price_lookup(r, "m1", "default", "default", 0, &p), GW_OK);
    assert_true(p.use_price && p.model_price == 0.5 && p.model_ratio == 0);
    /* gpt-4o's 4 is unlocked: the option overrides it; gpt-5's 8 is locked. */
    assert_int_equal(gw_price_lookup(r, "gpt-4o", "default", "default", 0, &p), GW_OK);
    assert_true(p.completion_ratio == 5 && p.cache_ratio == 0.2 && p.cache_write_ratio == 2);
    assert_int_equal(gw_price_lookup(r, "gpt-5", "default", "default", 0, &p), GW_OK);
    assert_true(p.completion_ratio == 8);
    /* A name with '/' takes the option's value first. */
    assert_int_equal(gw_price_lookup(r, "x/claude-3-opus", "default", "default", 0, &p), GW_OK);
    assert_true(p.completion_ratio == 7);
    /* Compact suffix: the price wildcard. */
    assert_int_equal(gw_price_lookup(r, "gpt-5-openai-compact", "default", "default", 0, &p), GW_OK);
    assert_true(p.use_price && p.model_price == 0.01);
    /* Group ratios: GroupGroupRatio[user][using] first, then GroupRatio,
     * then 1. */
    assert_int_equal(gw_price_lookup(r, "gpt-4o", "vip", "default", 0, &p), GW_OK);
    assert_true(p.group_ratio == 0.8 && p.group_special_ratio == 0.8);
    assert_int_equal(gw_price_lookup(r, "gpt-4o", "default", "vip", 0, &p), GW_OK);
    assert_true(p.group_ratio == 0.5 && p.group_special_ratio == -1);
    assert_int_equal(gw_price_lookup(r, "gpt-4o", "vip", "vip", 0, &p), GW_OK);
    assert_true(p.group_ratio == 0.5);
    assert_int_equal(gw_price_lookup(r, "gpt-4o", "default", "nosuch", 0, &p), GW_OK);
    assert_true(p.group_ratio == 1);
    assert_int_equal(gw_price_lookup(r, "gpt-4o", "default", "zero", 0, &p), GW_OK);
    assert_true(p.free);
    assert_int_equal(gw_price_lookup(r, "glm", "default", "default", 0, &p), GW_OK);
    assert_true(p.free);
    gw_ratios_free(r);
}

static void test_invalid_options(void **state)
{
    static const struct {
        const char *key, *text, *needle;
    } cases[] = {
        { "ModelRatio", "{bad", "ModelRatio: invalid JSON" },
        { "ModelPrice", "[1,2]", "ModelPrice: must be a JSON object" },
        { "CompletionRatio", "{\"a\":\"x\"}", "CompletionRatio: value of \"a\" is not a number" },
        { "GroupRatio", "{\"vip\":-1}", "GroupRatio: value of \"vip\" must be between 0 and 1e9" },
        { "CacheRatio", "{\"a\":1e12}", "CacheRatio: value of \"a\" must be" },
        { "GroupGroupRatio", "{\"vip\":1}", "GroupGroupRatio: value of \"vip\" must be an object" },
        { "GroupGroupRatio", "{\"vip\":{\"d\":true}}", "GroupGroupRatio: value of \"vip.d\"" },
        { "CreateCacheRatio", "{\"a\":1,\"a\":2}", "CreateCacheRatio: invalid JSON" },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct opts o = { { cases[i].key, cases[i].text, NULL } };
        gw_ratios *r = (gw_ratios *)1;
        char err[256];
        assert_int_equal(gw_ratios_build(opt_get, &o, &r, err, sizeof err), GW_EINVAL);
        assert_null(r);
        assert_non_null(strstr(err, cases[i].needle));
    }
    /* An empty text counts as unset. */
    struct opts empty = { { "ModelRatio", "", NULL } };
    gw_ratios *r = build(&empty);
    struct gw_price p;
    assert_int_equal(gw_price_lookup(r, "gpt-4o", "default", "default", 0, &p), GW_OK);
    gw_ratios_free(r);
}

/* The built-in tables as option text: shortest decimals, and saved back as
 * the options they price exactly as the unset options do. */
static void test_default_json(void **state)
{
    static const char *const keys[] = { "ModelRatio", "ModelPrice", "CompletionRatio",
                                        "CacheRatio", "CreateCacheRatio", "ImageRatio",
                                        "AudioRatio", "AudioCompletionRatio", "GroupRatio" };
    static const char *const models[] = { "gpt-4o", "gpt-4o-mini", "dall-e-3", "gpt-5",
                                          "claude-3-5-sonnet-20241022", "gemini-2.5-pro",
                                          "gpt-4o-mini-tts", "glm-4-flash", "no-such-model" };
    char *text[9];
    struct opts o = { { NULL } };
    size_t i;

    for (i = 0; i < 9; i++) {
        text[i] = gw_ratios_default_json(keys[i]);
        assert_non_null(text[i]);
        o.kv[2 * i] = keys[i];
        o.kv[2 * i + 1] = text[i];
    }
    assert_non_null(strstr(text[0], "\"gpt-4o-mini\":0.075,"));
    assert_string_equal(text[8], "{\"default\":1,\"vip\":1,\"svip\":1}");
    assert_null(gw_ratios_default_json("GroupGroupRatio"));
    assert_null(gw_ratios_default_json("Nope"));
    assert_null(gw_ratios_default_json(NULL));

    gw_ratios *saved = build(&o), *unset = build(NULL);
    for (i = 0; i < sizeof models / sizeof models[0]; i++) {
        struct gw_price a, b;
        assert_int_equal(gw_price_lookup(saved, models[i], "default", "vip", 1, &a), GW_OK);
        assert_int_equal(gw_price_lookup(unset, models[i], "default", "vip", 1, &b), GW_OK);
        assert_memory_equal(&a, &b, sizeof a);
    }
    gw_ratios_free(saved);
    gw_ratios_free(unset);
    for (i = 0; i < 9; i++)
        gw_free(text[i]);
}

static void test_reserve(void **state)
{
    gw_ratios *r = build(NULL);
    struct gw_price p;

    assert_int_equal(gw_price_lookup(r, "gpt-4o", "default", "default", 0, &p), GW_OK);
    /* (max(100, 500) + 1000) × 1.25 = 1875 */
    assert_int_equal(gw_billing_reserve(&p, 100, 1000, 500), 1875);
    /* (800 + 200) × 1.25 = 1250 */
    assert_int_equal(gw_billing_reserve(&p, 800, 200, 500), 1250);
    /* no max_tokens: (500 + 4096 × 4) × 1.25 = 16884 × 1.25 = 21105 */
    assert_int_equal(gw_billing_reserve(&p, 100, 0, 500), 21105);
    assert_int_equal(gw_price_lookup(r, "deepseek-chat", "default", "default", 0, &p), GW_OK);
    /* (501 + 4096) × 0.135 = 620.595, truncated as the reference */
    assert_int_equal(gw_billing_reserve(&p, 501, 0, 500), 620);
    /* free: nothing */
    assert_int_equal(gw_price_lookup(r, "glm-4-flash", "default", "default", 0, &p), GW_OK);
    assert_int_equal(gw_billing_reserve(&p, 1000, 1000, 500), 0);
    gw_ratios_free(r);
}

/* Price mode: the reservation is exactly the charge, so N × price funds N
 * calls. */
static void test_reserve_price_equals_charge(void **state)
{
    static const struct {
        double price, group;
        long long want;
    } cases[] = {
        { 0.04, 1, 20000 },
        { 0.07, 1, 35000 },       /* 0.07 × 500000 is 35000.000000000004 in doubles */
        { 0.07, 0.9, 31500 },
        { 0.1, 0.3, 15000 },
        { 0.0000033, 1, 2 },      /* 1.65 → 2 */
        { 0.000003, 1, 2 },       /* 1.5 → 2, half up */
        { 0.0000029, 1, 1 },      /* 1.45 → 1 */
    };
    struct gw_usage u = { .prompt = 10, .completion = 5, .total = 15, .present = 1 };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_price p = { .use_price = 1, .model_price = cases[i].price,
                              .group_ratio = cases[i].group, .group_special_ratio = -1 };
        assert_int_equal(gw_billing_reserve(&p, 100, 100, 500), cases[i].want);
        assert_int_equal(gw_billing_quota(&p, &u), cases[i].want);
    }
}

static void test_quota(void **state)
{
    static const struct {
        const char *model, *user_group;
        struct gw_usage u;
        long long want;
    } cases[] = {
        /* gpt-4o MR 1.25 CR 4: (1000 + 500×4) × 1.25 = 3750 */
        { "gpt-4o", "default", { .prompt = 1000, .completion = 500 }, 3750 },
        /* cached 400 at 0.5: (600 + 200 + 2000) × 1.25 = 3500 */
        { "gpt-4o", "default", { .prompt = 1000, .completion = 500, .cached = 400 }, 3500 },
        /* claude-sonnet-4 MR 1.5 CR 5, cache 0.1, write 1.25:
         * base 1000−200−300 = 500; 500 + 20 + 375 + 100×5 = 1395;
         * × 1.5 = 2092.5 → 2093 (half up) */
        { "claude-sonnet-4-20250514", "default",
          { .prompt = 1000, .completion = 100, .cached = 200, .cache_write = 300 }, 2093 },
        /* 1-hour cache writes at CreateCacheRatio × 6/3.75 = 2 (the
         * reference's claudeCacheCreation1hMultiplier): 100 of the 300
         * writes are 1h: 500 + 20 + 200×1.25 + 100×2 + 100×5 = 1470;
         * × 1.5 = 2205 */
        { "claude-sonnet-4-20250514", "default",
          { .prompt = 1000, .completion = 100, .cached = 200, .cache_write = 300,
            .cache_write_1h = 100 }, 2205 },
        /* all writes 1h: 500 + 20 + 600 + 500 = 1620 × 1.5 = 2430 */
        { "claude-sonnet-4-20250514", "default",
          { .prompt = 1000, .completion = 100, .cached = 200, .cache_write = 300,
            .cache_write_1h = 300 }, 2430 },
        /* a 1h count above the writes is cut to them: the same 2430 */
        { "claude-sonnet-4-20250514", "default",
          { .prompt = 1000, .completion = 100, .cached = 200, .cache_write = 300,
            .cache_write_1h = 900 }, 2430 },
        /* base clamps at 0: (0 + 150×0.5) × 1.25 = 93.75 → 94 */
        { "gpt-4o", "default", { .prompt = 100, .cached = 150 }, 94 },
        /* 10 × 0.01 = 0.1 → 0 → floor 1 */
        { "text-embedding-3-small", "default", { .prompt = 10 }, 1 },
        /* no tokens at all: 0 */
        { "gpt-4o", "default", { .prompt = 0, .completion = 0 }, 0 },
        /* free model: ratio 0, no floor */
        { "glm-4-flash", "default", { .prompt = 1000, .completion = 1000 }, 0 },
        /* GroupGroupRatio vip→default 0.7 (below): 3750 × 0.7 = 2625 */
        { "gpt-4o", "vip", { .prompt = 1000, .completion = 500 }, 2625 },
        /* gpt-5 MR 0.625 × GR 0.7 × 72 = 31.5 exactly → 32; doubles
         * give 31.499999999999996 → 31 */
        { "gpt-5", "vip", { .prompt = 72 }, 32 },
        /* deepseek-chat 100 × 0.135 = 13.5 → 14 */
        { "deepseek-chat", "default", { .prompt = 100 }, 14 },
        /* gemini-2.5-flash CR 8.333333333333334 (2.5/0.3 as float64):
         * 3 × 8.333333333333334 × 0.15 = 3.7500000000000003 → 4 */
        { "gemini-2.5-flash", "default", { .completion = 3 }, 4 },
        /* gpt-image-1 MR 2.5, CR 8 (option default), image ratio 2:
         * base 100−60 = 40; 40 + 120 + 80 = 240; × 2.5 = 600 */
        { "gpt-image-1", "default", { .prompt = 100, .completion = 10, .image = 60 }, 600 },
        /* gpt-4o-audio-preview MR 1.25 CR 4 AR 16 ACR 1:
         * (100 + 20×4 + 50×16 + 10×16×1) × 1.25 = 1140 × 1.25 = 1425 */
        { "gpt-4o-audio-preview", "default",
          { .prompt = 150, .completion = 30, .text_in = 100, .audio_in = 50, .text_out = 20,
            .audio_out = 10 }, 1425 },
        /* same usage without audio tokens: text formula (150 + 120) × 1.25 */
        { "gpt-4o-audio-preview", "default", { .prompt = 150, .completion = 30 }, 338 },
        /* price mode: 0.04 × 500000 = 20000; no tokens → 0 */
        { "dall-e-3", "default", { .prompt = 1 }, 20000 },
        { "dall-e-3", "default", { .prompt = 0 }, 0 },
        /* absurd counts clamp instead of overflowing: 1e15 × 7.5 */
        { "o1", "default", { .prompt = 9000000000000000000LL }, 7500000000000000LL },
        /* negative counts from a broken upstream count as 0 */
        { "gpt-4o", "default", { .prompt = -5, .completion = 4 }, 20 },
    };
    struct opts o = { { "GroupGroupRatio", "{\"vip\":{\"default\":0.7}}", NULL } };
    gw_ratios *r = build(&o);
    struct gw_price p;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(gw_price_lookup(r, cases[i].model, cases[i].user_group, "default", 0, &p),
                         GW_OK);
        long long got = gw_billing_quota(&p, &cases[i].u);
        if (got != cases[i].want)
            fail_msg("case %zu (%s): got %lld want %lld", i, cases[i].model, got, cases[i].want);
    }
    /* the 1h ratio is the reference's float product */
    assert_int_equal(gw_price_lookup(r, "claude-sonnet-4-20250514", "default", "default", 0, &p),
                     GW_OK);
    assert_true(gw_billing_cache_write_1h_ratio(&p) == 2.0);
    gw_ratios_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_lookups),
        cmocka_unit_test(test_unset_and_free),
        cmocka_unit_test(test_option_forms),
        cmocka_unit_test(test_invalid_options),
        cmocka_unit_test(test_default_json),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_reserve_price_equals_charge),
        cmocka_unit_test(test_quota),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
