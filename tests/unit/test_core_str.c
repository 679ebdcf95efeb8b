#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"
#include <jansson.h>

static void test_str_c_and_eq(void **state)
{
    gw_str e = gw_str_c(NULL);

    assert_int_equal(e.len, 0);
    assert_non_null(e.base);
    assert_true(gw_str_eq(e, GW_STRLIT("")));
    assert_true(gw_str_eq(gw_str_c("abc"), GW_STRLIT("abc")));
    assert_false(gw_str_eq(gw_str_c("abc"), GW_STRLIT("abd")));
    assert_false(gw_str_eq(gw_str_c("abc"), GW_STRLIT("ab")));
    assert_int_equal(GW_STRLIT("hello").len, 5);
}

static void test_ieq(void **state)
{
    static const struct { const char *a, *b; int eq; } cases[] = {
        { "Content-Type", "content-type", 1 },
        { "ABC", "abc", 1 },
        { "", "", 1 },
        { "abc", "abd", 0 },
        { "abc", "abcd", 0 },
        { "[", "{", 0 },            /* 0x5b vs 0x7b: not letters */
        { "\xc3\x84", "\xc3\xa4", 0 }, /* non-ASCII compared exactly */
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(gw_str_ieq(gw_str_c(cases[i].a), gw_str_c(cases[i].b)),
                         cases[i].eq);
}

static void test_prefix(void **state)
{
    assert_true(gw_str_has_prefix(GW_STRLIT("postgres://x"), GW_STRLIT("postgres://")));
    assert_true(gw_str_has_prefix(GW_STRLIT("abc"), GW_STRLIT("")));
    assert_true(gw_str_has_prefix(GW_STRLIT(""), GW_STRLIT("")));
    assert_false(gw_str_has_prefix(GW_STRLIT("ab"), GW_STRLIT("abc")));
    assert_false(gw_str_has_prefix(GW_STRLIT("xbc"), GW_STRLIT("ab")));
}

static void test_to_ll(void **state)
{
    static const struct {
        const char *in;
        long long min, max;
        int rc;
        long long want;
    } cases[] = {
        { "0", 0, 10, GW_OK, 0 },
        { "42", 0, 100, GW_OK, 42 },
        { "-17", -100, 100, GW_OK, -17 },
        { "-0", -1, 1, GW_OK, 0 },
        { "007", 0, 10, GW_OK, 7 },
        { "9223372036854775807", LLONG_MIN, LLONG_MAX, GW_OK, LLONG_MAX },
        { "-9223372036854775808", LLONG_MIN, LLONG_MAX, GW_OK, LLONG_MIN },
        { "9223372036854775808", LLONG_MIN, LLONG_MAX, GW_EINVAL, 0 },
        { "-9223372036854775809", LLONG_MIN, LLONG_MAX, GW_EINVAL, 0 },
        { "99999999999999999999", LLONG_MIN, LLONG_MAX, GW_EINVAL, 0 },
        { "", 0, 10, GW_EINVAL, 0 },
        { "-", 0, 10, GW_EINVAL, 0 },
        { "+5", 0, 10, GW_EINVAL, 0 },
        { " 5", 0, 10, GW_EINVAL, 0 },
        { "5 ", 0, 10, GW_EINVAL, 0 },
        { "0x10", 0, 100, GW_EINVAL, 0 },
        { "1e3", 0, 10000, GW_EINVAL, 0 },
        { "12a", 0, 100, GW_EINVAL, 0 },
        { "11", 0, 10, GW_EINVAL, 0 },
        { "-1", 0, 10, GW_EINVAL, 0 },
        { "65535", 1, 65535, GW_OK, 65535 },
        { "65536", 1, 65535, GW_EINVAL, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = 12345;
        int rc = gw_str_to_ll(gw_str_c(cases[i].in), cases[i].min, cases[i].max, &v);

        if (rc != cases[i].rc)
            fail_msg("case %zu \"%s\": rc %d, want %d", i, cases[i].in, rc, cases[i].rc);
        assert_true(v == (rc == GW_OK ? cases[i].want : 12345));
    }
    /* Only len bytes are read: "123" viewed as "12". */
    {
        long long v;
        gw_str s = { "123", 2 };

        assert_int_equal(gw_str_to_ll(s, 0, 1000, &v), GW_OK);
        assert_int_equal(v, 12);
    }
}

static void test_trim(void **state)
{
    static const struct { const char *in, *want; } cases[] = {
        { "  a b \t\r\n", "a b" },
        { "abc", "abc" },
        { "   ", "" },
        { "", "" },
        { "\v\fx\f", "x" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_true(gw_str_eq(gw_str_trim(gw_str_c(cases[i].in)), gw_str_c(cases[i].want)));
}

static void test_dup(void **state)
{
    gw_str s = { "hello world", 5 };
    char *d = gw_str_dup(s);

    assert_string_equal(d, "hello");
    gw_free(d);
    d = gw_str_dup(GW_STRLIT(""));
    assert_string_equal(d, "");
    gw_free(d);
    gw_alloc_fail_after(0);
    assert_null(gw_str_dup(s));
    gw_alloc_fail_after(-1);
}

static void test_split(void **state)
{
    static const struct {
        const char *in;
        char sep;
        const char *want[6];   /* NULL-terminated */
    } cases[] = {
        { "a,b,c", ',', { "a", "b", "c", NULL } },
        { "a,,b", ',', { "a", "", "b", NULL } },
        { "a,", ',', { "a", NULL } },
        { ",a", ',', { "", "a", NULL } },
        { "", ',', { NULL } },
        { "abc", ',', { "abc", NULL } },
        { "gpt-4 gpt-3.5", ' ', { "gpt-4", "gpt-3.5", NULL } },
    };
    size_t i, k;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_str rest = gw_str_c(cases[i].in), tok;

        for (k = 0; cases[i].want[k] != NULL; k++) {
            assert_int_equal(gw_str_split(&rest, cases[i].sep, &tok), 1);
            assert_true(gw_str_eq(tok, gw_str_c(cases[i].want[k])));
        }
        assert_int_equal(gw_str_split(&rest, cases[i].sep, &tok), 0);
        assert_int_equal(gw_str_split(&rest, cases[i].sep, &tok), 0);
    }
}

static void test_utf8_cut(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t max, want;
    } cases[] = {
        {"abc", 10, 3},
        {"abc", 2, 2},
        {"a\xc3\xa9z", 1, 1},           /* before é */
        {"a\xc3\xa9z", 2, 1},           /* inside é: é goes */
        {"a\xc3\xa9z", 3, 3},           /* after é */
        {"\xe2\x82\xac\xe2\x82\xac", 4, 3}, /* inside the second € */
        {"\xe2\x82\xac\xe2\x82\xac", 5, 3},
        {"\xe2\x82\xac\xe2\x82\xac", 6, 6},
        {"\xf0\x9f\x98\x80!", 3, 0},    /* inside a 4-byte emoji */
        {"\xf0\x9f\x98\x80!", 4, 4},
        {"x\x80\x80\x80\x80y", 4, 4},   /* stray continuations: cut anywhere */
        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case %zu\n", i);
        assert_int_equal(gw_str_utf8_cut(gw_str_c(cases[i].s), cases[i].max), cases[i].want);
    }
}

static void test_utf8_fix(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"cut \xe2\x82", "cut "},               /* a character cut at the end goes */
        {"cut \xf0\x9f\x98", "cut "},
        {"latin1 \xe9t\xe9!", "latin1 ?t?!"},   /* not UTF-8: '?' */
        {"\xc3\xa9\xc3", "\xc3\xa9"},
        {"\xc0\xaf", "??"},                     /* overlong '/' */
        {"\xe0\x80\xaf", "???"},                /* overlong, 3 bytes */
        {"\xed\xa0\x80", "???"},                /* a surrogate */
        {"\xf4\x90\x80\x80", "????"},           /* past U+10FFFF */
        {"\xff\xfe", "??"},
        {"a\x80z", "a?z"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        print_message("case %zu\n", i);
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        assert_ptr_equal(gw_str_utf8_fix(buf), buf);
        assert_string_equal(buf, cases[i].out);
        json_t *j = json_string(buf); /* jansson takes it */
        assert_non_null(j);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_c_and_eq),
        cmocka_unit_test(test_ieq),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_to_ll),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_dup),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_utf8_cut),
        cmocka_unit_test(test_utf8_fix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
