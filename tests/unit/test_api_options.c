/* The option registry: lookups, secrets, and gw_option_normalize per type
 * (table-driven: value in, stored text or the error's words out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "gateway/api/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/relay/billing.h"

static void test_registry(void **state)
{
    size_t n;
    const struct gw_option_def *t = gw_option_table(&n);
    (void)state;
    assert_true(n > 100);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(gw_option_find(t[i].key), &t[i]); /* no duplicate keys */
        assert_non_null(t[i].def);
    }
    assert_null(gw_option_find("NoSuchKey"));
    assert_null(gw_option_find(NULL));
    assert_string_equal(gw_option_default("QuotaPerUnit"), "500000");
    assert_string_equal(gw_option_default("general_setting.ping_interval_enabled"), "false");
    assert_null(gw_option_default("nope"));
    /* Price tables show billing's built-in tables, not "{}". */
    assert_non_null(strstr(gw_option_default("ModelRatio"), "\"gpt-4o\":1.25,"));
    assert_non_null(strstr(gw_option_default("ModelPrice"), "\"dall-e-3\":0.04"));
    assert_string_equal(gw_option_default("GroupRatio"), "{\"default\":1,\"vip\":1,\"svip\":1}");
    static const char *const secret[] = {"SMTPToken", "GitHubClientSecret", "EpayKey",
                                         "client_secret", "x.api_key"};
    static const char *const open[] = {"SystemName", "TokenLimit", "KeyWords", "api_keys"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        assert_true(gw_option_is_secret(secret[i]));
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        assert_false(gw_option_is_secret(open[i]));
}

static const struct {
    const char *key, *json, *stored; /* stored NULL: refused, json holds... */
    const char *words;               /* ...and the message contains this */
} cases[] = {
    {"RegisterEnabled", "true", "true", NULL},
    {"RegisterEnabled", "\"false\"", "false", NULL},
    {"RegisterEnabled", "1", NULL, "true or false"},
    {"RegisterEnabled", "\"TRUE\"", NULL, "true or false"},
    {"QuotaForNewUser", "42", "42", NULL},
    {"QuotaForNewUser", "\"42\"", "42", NULL},
    {"QuotaForNewUser", "4.0", "4", NULL},
    {"QuotaForNewUser", "4.5", NULL, "integer"},
    {"QuotaForNewUser", "-1", NULL, "between"},
    {"QuotaForNewUser", "1e300", NULL, "between"},
    {"QuotaForNewUser", "\"\"", NULL, "integer"},
    {"QuotaForNewUser", "\" 5\"", NULL, "integer"},
    {"QuotaForNewUser", "\"5;\"", NULL, "integer"},
    {"QuotaForNewUser", "[5]", NULL, "integer"},
    {"QuotaPerUnit", "0.1", "0.1", NULL},
    {"QuotaPerUnit", "\"2.5\"", "2.5", NULL},
    {"QuotaPerUnit", "\"nan\"", NULL, "number"},
    {"QuotaPerUnit", "0", NULL, "between"},
    {"SystemName", "\"a'b\\\"c\"", "a'b\"c", NULL},
    {"SystemName", "7", "7", NULL},
    {"SystemName", "false", "false", NULL},
    {"SystemName", "{}", NULL, "string"},
    {"SystemName", "null", NULL, "required"},
    {"SystemName", "\"a\\u0000b\"", NULL, "NUL"},
    {"ModelRatio", "\"{\\\"m\\\": 1.5}\"", "{\"m\": 1.5}", NULL},
    {"ModelRatio", "{\"m\": 2}", "{\"m\":2}", NULL},
    {"ModelRatio", "\"{\\\"m\\\": \\\"x\\\"}\"", NULL, "number"},
    {"ModelRatio", "\"{\\\"m\\\": -1}\"", NULL, "number"},
    {"ModelRatio", "\"[]\"", NULL, "object"},
    {"ModelRatio", "\"{\"", NULL, "JSON"},
    {"ModelRatio", "3", NULL, "JSON"},
    {"GroupGroupRatio", "\"{\\\"a\\\": {\\\"b\\\": 0.5}}\"", "{\"a\": {\"b\": 0.5}}", NULL},
    {"GroupGroupRatio", "\"{\\\"a\\\": 1}\"", NULL, "object"},
    {"UserUsableGroups", "\"{\\\"a\\\": 1}\"", NULL, "string"},
    {"Chats", "\"[{\\\"x\\\": 1}]\"", "[{\"x\": 1}]", NULL},
    {"Chats", "\"{}\"", NULL, "array"},
    /* Found by tests/fuzz/fuzz_api_json.c: price tables the API accepted
     * but billing (gw_ratios_build) refused, so the workers silently kept
     * the old prices. The API now checks with billing's own rules. */
    {"ModelPrice", "\"{\\\"dall-e-3\\\":0.04,\\\"dall-e-3\\\":0.08}\"", NULL, "duplicate"},
    {"ModelRatio", "{\"gpt-4o\":2e9}", NULL, "between 0 and 1e9"},
    {"GroupGroupRatio", "{\"vip\":{\"default\":1000000001}}", NULL, "between 0 and 1e9"},
    {"ModelRatio", "{\"gpt-4o\":1e9}", "{\"gpt-4o\":1000000000.0}", NULL},
    {"TopupGroupRatio", "{\"vip\":2e9}", "{\"vip\":2000000000.0}", NULL},
    /* HeaderNavModules: a JSON object, or empty (every module on) */
    {"HeaderNavModules", "\"\"", "", NULL},
    {"HeaderNavModules", "\"  \\n\"", "", NULL},
    {"HeaderNavModules", "\"{\\\"pricing\\\":false}\"", "{\"pricing\":false}", NULL},
    {"HeaderNavModules", "{\"pricing\":{\"enabled\":true,\"requireAuth\":true}}",
     "{\"pricing\":{\"enabled\":true,\"requireAuth\":true}}", NULL},
    {"HeaderNavModules", "\"[]\"", NULL, "must be a JSON object"},
    {"HeaderNavModules", "\"true\"", NULL, "not valid JSON"},
    {"HeaderNavModules", "\"{pricing\"", NULL, "not valid JSON"},
    {"HeaderNavModules", "false", NULL, "JSON"},
    {"HeaderNavModules", "[1]", NULL, "must be a JSON object"},
};

static void test_normalize(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "", *out = (char *)1;
        json_error_t je;
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        const struct gw_option_def *d = gw_option_find(cases[i].key);
        assert_non_null(d);
        if (!v)
            fail_msg("case %zu: bad test JSON %s", i, cases[i].json);
        int rc = gw_option_normalize(d, v, &out, err, sizeof err);
        if (cases[i].stored) {
            if (rc != GW_OK)
                fail_msg("case %zu (%s %s): refused: %s", i, cases[i].key, cases[i].json, err);
            assert_string_equal(out, cases[i].stored);
        } else {
            assert_int_equal(rc, GW_EINVAL);
            assert_null(out);
            if (!strstr(err, cases[i].words) || !strstr(err, cases[i].key))
                fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err, cases[i].words);
        }
        gw_free(out);
        json_decref(v);
    }
}

static void test_long_string(void **state)
{
    static char big[1024 * 1024 + 2];
    char err[128], *out = NULL;
    (void)state;
    memset(big, 'x', sizeof big - 1);
    json_t *v = json_string(big);
    assert_int_equal(gw_option_normalize(gw_option_find("HomePageContent"), v, &out, err,
                                         sizeof err), GW_EINVAL);
    assert_non_null(strstr(err, "too long"));
    json_decref(v);
}

/* The reference's parsing rules (middleware/header_nav.go). */
static void test_nav_access(void **state)
{
    static const struct {
        const char *raw;
        int enabled, require_auth;
    } navs[] = {
        {NULL, 1, 0},
        {"", 1, 0},
        {"  ", 1, 0},
        {"not json", 1, 0},
        {"[false]", 1, 0},
        {"null", 1, 0},
        {"{}", 1, 0},
        {"{\"home\":false}", 1, 0},
        {"{\"pricing\":false}", 0, 0},
        {"{\"pricing\":true}", 1, 0},
        {"{\"pricing\":\"false\"}", 0, 0},
        {"{\"pricing\":\" FALSE \"}", 0, 0},
        {"{\"pricing\":\"0\"}", 0, 0},
        {"{\"pricing\":\"1\"}", 1, 0},
        {"{\"pricing\":\"no\"}", 1, 0},
        {"{\"pricing\":0}", 0, 0},
        {"{\"pricing\":0.0}", 0, 0},
        {"{\"pricing\":1}", 1, 0},
        {"{\"pricing\":2}", 1, 0},
        {"{\"pricing\":null}", 1, 0},
        {"{\"pricing\":[false]}", 1, 0},
        {"{\"pricing\":{}}", 1, 0},
        {"{\"pricing\":{\"enabled\":false}}", 0, 0},
        {"{\"pricing\":{\"requireAuth\":true}}", 1, 1},
        {"{\"pricing\":{\"enabled\":\"0\",\"requireAuth\":1}}", 0, 1},
        {"{\"pricing\":{\"enabled\":\"x\",\"requireAuth\":\"TRUE\"}}", 1, 1},
        {"{\"pricing\":{\"enabled\":1,\"requireAuth\":\"false\"}}", 1, 0},
        {"{\"pricing\":{\"enabled\":null,\"requireAuth\":2}}", 1, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof navs / sizeof navs[0]; i++) {
        struct gw_nav_access a = gw_nav_access_parse(navs[i].raw, "pricing");
        if (a.enabled != navs[i].enabled || a.require_auth != navs[i].require_auth)
            fail_msg("case %zu (%s): enabled %d requireAuth %d", i,
                     navs[i].raw ? navs[i].raw : "NULL", a.enabled, a.require_auth);
    }
    /* The default (nothing stored) is empty: every module on. */
    assert_string_equal(gw_option_default("HeaderNavModules"), "");
    struct gw_nav_access a = gw_options_nav_access(NULL, "pricing");
    assert_true(a.enabled && !a.require_auth);
}

int main(void)
{
    gw_option_set_builtin(gw_ratios_default_json);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_long_string),
        cmocka_unit_test(test_nav_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
