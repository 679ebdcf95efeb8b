#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static void test_parse_table(void **state)
{
    static const struct {
        const char *in;
        size_t depth;
        int ok;
        const char *err_has;    /* substring expected in the message */
    } cases[] = {
        { "{}", 1, 1, NULL },
        { "[]", 1, 1, NULL },
        { "{\"a\":[1,{\"b\":2}]}", 3, 1, NULL },
        { "{\"a\":[1,{\"b\":2}]}", 2, 0, "deeper than 2" },
        { "[[[]]]", 3, 1, NULL },
        { "[[[]]]", 2, 0, "deeper" },
        /* brackets inside strings do not count, escaped quotes included */
        { "{\"a\":\"[[[[{{{{\"}", 1, 1, NULL },
        { "{\"a\":\"\\\"[[[[\"}", 1, 1, NULL },
        { "{\"a\\\\\":[1]}", 2, 1, NULL },
        { "42", 4, 0, NULL },          /* scalars rejected */
        { "\"str\"", 4, 0, NULL },
        { "{\"a\":1} x", 4, 0, "line 1" },
        { "{\"a\":}", 4, 0, "invalid JSON" },
        { "", 4, 0, NULL },
        /* \u0000 is refused: values stay usable as C strings */
        { "{\"a\":\"x\\u0000y\"}", 4, 0, "NUL" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[200] = "untouched";
        json_t *j = gw_json_parse(cases[i].in, strlen(cases[i].in), cases[i].depth,
                                  err, sizeof(err));

        if ((j != NULL) != cases[i].ok)
            fail_msg("case %zu \"%s\": got %s (%s)", i, cases[i].in,
                     j ? "ok" : "error", err);
        if (!cases[i].ok)
            assert_string_not_equal(err, "untouched");
        if (cases[i].err_has != NULL)
            assert_non_null(strstr(err, cases[i].err_has));
        json_decref(j);
    }
}

static void test_parse_default_depth_and_len(void **state)
{
    char deep[2 * (GW_JSON_DEFAULT_DEPTH + 1) + 1];
    json_t *j;
    size_t n = GW_JSON_DEFAULT_DEPTH + 1;

    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    assert_null(gw_json_parse(deep, 2 * n, 0, NULL, 0));
    assert_non_null(j = gw_json_parse(deep + 1, 2 * n - 2, 0, NULL, 0));
    json_decref(j);
    /* Only len bytes are parsed: trailing junk beyond len is invisible. */
    j = gw_json_parse("{\"a\":1}garbage", 7, 4, NULL, 0);
    assert_non_null(j);
    json_decref(j);
}

/* Found by tests/fuzz/fuzz_relay_request.c: jansson quotes the bad input
 * ("near '...'") raw, so the message, which the relay and the API put into
 * the client's JSON error, could hold invalid UTF-8 or a character cut in
 * two. It is now valid UTF-8 without control characters, whatever errlen. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t k = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC2 ? 1 : 9;
        if (k == 9 || (*p < 0x80 && *p < 0x20))
            return 0;
        for (size_t i = 1; i <= k; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += k + 1;
    }
    return 1;
}

static void test_parse_error_is_clean_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"\\u\xf4\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8f\x8fru",
        "{\"a\": tru\xc3",
        "{\"a\": \"x\ny\"}",
        "[\"\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\", \xff]",
    };
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t cap = 1; cap <= sizeof err; cap++) {
            memset(err, 'x', sizeof err);
            assert_null(gw_json_parse(bad[i], strlen(bad[i]), 0, err, cap));
            assert_true(strlen(err) < cap);
            assert_true(utf8_ok(err));
        }
        json_t *m = json_string(err);   /* what the error reply does with it */
        assert_non_null(m);
        json_decref(m);
    }
    /* the message itself is unchanged in form */
    assert_null(gw_json_parse("[\"\xe6\x97\xa5\" x]", 9, 0, err, sizeof err));
    assert_non_null(strstr(err, "invalid JSON at line 1"));
}

static void test_getters(void **state)
{
    static const char doc[] =
        "{\"s\":\"hi\",\"i\":42,\"neg\":-7,\"r\":3.0,\"e\":1e3,"
        "\"f\":2.5,\"big\":1e300,\"t\":true,\"no\":false,\"n\":null}";
    json_t *j = gw_json_parse(doc, sizeof(doc) - 1, 4, NULL, 0);
    gw_str s;
    long long v;
    int b;

    assert_non_null(j);
    assert_int_equal(gw_json_get_str(j, "s", &s), GW_OK);
    assert_true(gw_str_eq(s, GW_STRLIT("hi")));
    assert_int_equal(gw_json_get_str(j, "i", &s), GW_EINVAL);
    assert_int_equal(gw_json_get_str(j, "missing", &s), GW_ENOTFOUND);

    static const struct { const char *key; int rc; long long want; } ints[] = {
        { "i", GW_OK, 42 }, { "neg", GW_OK, -7 }, { "r", GW_OK, 3 }, { "e", GW_OK, 1000 },
        { "f", GW_EINVAL, 0 }, { "big", GW_EINVAL, 0 }, { "s", GW_EINVAL, 0 },
        { "t", GW_EINVAL, 0 }, { "n", GW_EINVAL, 0 }, { "nope", GW_ENOTFOUND, 0 },
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        v = -12345;
        assert_int_equal(gw_json_get_int(j, ints[i].key, &v), ints[i].rc);
        assert_true(v == (ints[i].rc == GW_OK ? ints[i].want : -12345));
    }

    assert_int_equal(gw_json_get_bool(j, "t", &b), GW_OK);
    assert_int_equal(b, 1);
    assert_int_equal(gw_json_get_bool(j, "no", &b), GW_OK);
    assert_int_equal(b, 0);
    assert_int_equal(gw_json_get_bool(j, "i", &b), GW_EINVAL);
    assert_int_equal(gw_json_get_bool(j, "nope", &b), GW_ENOTFOUND);
    /* Not an object: treated as absent. */
    json_t *arr = json_array();
    assert_int_equal(gw_json_get_str(arr, "s", &s), GW_ENOTFOUND);
    json_decref(arr);
    json_decref(j);
}

static void test_dump_buf(void **state)
{
    json_t *j = json_pack("{s:s, s:[i,b]}", "k", "v\"q", "a", 1, 1);
    json_t *str;
    gw_buf b;

    gw_buf_init(&b, 64);
    assert_int_equal(gw_buf_appends(&b, "data: "), GW_OK);
    assert_int_equal(gw_json_dump_buf(j, &b, JSON_SORT_KEYS), GW_OK);
    assert_string_equal(b.base, "data: {\"a\":[1,true],\"k\":\"v\\\"q\"}");
    /* Too big for the buffer: refused and rolled back to the previous len. */
    gw_buf_free(&b);
    gw_buf_init(&b, 10);
    assert_int_equal(gw_buf_appends(&b, "x:"), GW_OK);
    assert_int_equal(gw_json_dump_buf(j, &b, 0), GW_ETOOBIG);
    assert_string_equal(b.base, "x:");
    assert_int_equal(b.len, 2);
    /* A bare string needs JSON_ENCODE_ANY. */
    str = gw_json_strn((gw_str){ "abcdef", 3 });
    assert_non_null(str);
    assert_string_equal(json_string_value(str), "abc");
    gw_buf_reset(&b);
    assert_int_equal(gw_json_dump_buf(str, &b, 0), GW_EINVAL);
    assert_int_equal(gw_json_dump_buf(str, &b, JSON_ENCODE_ANY), GW_OK);
    assert_string_equal(b.base, "\"abc\"");
    json_decref(str);
    str = gw_json_strn(GW_STRLIT(""));
    assert_non_null(str);
    assert_int_equal(json_string_length(str), 0);
    json_decref(str);
    assert_null(gw_json_strn(GW_STRLIT("\xff\xfe")));   /* invalid UTF-8 */
    gw_buf_free(&b);
    json_decref(j);
}

static void test_alloc_routed(void **state)
{
    /* jansson allocates through gw_malloc, so injection reaches it. */
    gw_json_init();
    gw_alloc_fail_after(0);
    assert_null(gw_json_parse("{\"a\":1}", 7, 4, NULL, 0));
    assert_null(json_object());
    gw_alloc_fail_after(-1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_default_depth_and_len),
        cmocka_unit_test(test_parse_error_is_clean_utf8),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_dump_buf),
        cmocka_unit_test(test_alloc_routed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
