/* IP allow-list parser and matcher (gateway/core/cidr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/cidr.h"
#include "gateway/core/err.h"

static gw_cidr_list *parse_ok(const char *s)
{
    gw_cidr_list *l = NULL;
    char err[256] = "";
    int rc = gw_cidr_list_parse(s, strlen(s), &l, err, sizeof err);
    if (rc != GW_OK)
        print_error("unexpected refusal of \"%s\": %s\n", s, err);
    assert_int_equal(rc, GW_OK);
    assert_non_null(l);
    return l;
}

static void test_valid_lists(void **state)
{
    (void)state;
    static const struct { const char *text; size_t count; } cases[] = {
        {"", 0},
        {"\n\n , ,\r\n", 0},
        {"10.0.0.1", 1},
        {"10.0.0.1\n192.168.0.0/24\n ::1 \n2001:db8::/32", 4},
        {"10.0.0.1,10.0.0.2, 10.0.0.3\r\n10.0.0.4", 4},
        {"0.0.0.0/0", 1},
        {"::/0", 1},
        {"10.0.0.1/32", 1},
        {"::1/128", 1},
        {"\t1.2.3.4/8\t", 1},
        {"::ffff:10.0.0.0/104", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_cidr_list *l = parse_ok(cases[i].text);
        assert_int_equal(gw_cidr_list_count(l), cases[i].count);
        gw_cidr_list_free(l);
    }
}

static void test_bad_entries_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "10.0.0.1/-0",   /* read as /0 by the old parser */
        "10.0.0.1/+8",   "+10.0.0.1",    "10.0.0.1/",      "10.0.0.1/33",
        "::1/129",       "10.0.0.1/08",  "10.0.0.1/8x",    "10.0.0.1x",
        "10.0.0.1 /8",   "10.0.0.1/ 8",  "10.0.0",         "10.0.0.256",
        "010.0.0.1",     "1.2.3.4/8/8",  "/8",             "fe80::1%eth0",
        "::1::2",        "not-an-ip",    "10.0.0.1/1000",  "10.0.0.1/0x8",
        "1.2.3.4 5.6.7.8",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128ffff", /* too long */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256], err[256] = "";
        /* Alone, and as the last entry after a good one. */
        for (int pass = 0; pass < 2; pass++) {
            snprintf(text, sizeof text, "%s%s", pass ? "10.1.1.1\n" : "", bad[i]);
            gw_cidr_list *l = (gw_cidr_list *)1;
            int rc = gw_cidr_list_parse(text, strlen(text), &l, err, sizeof err);
            if (rc != GW_EINVAL)
                print_error("accepted: \"%s\"\n", text);
            assert_int_equal(rc, GW_EINVAL);
            assert_null(l);
            /* The message names the entry. */
            char quoted[80];
            snprintf(quoted, sizeof quoted, "\"%.60s", bad[i]);
            assert_non_null(strstr(err, quoted));
        }
    }
}

static void test_nul_byte_refused(void **state)
{
    (void)state;
    gw_cidr_list *l = NULL;
    char err[128];
    static const char text[] = "10.0.0.1\0/0";
    assert_int_equal(gw_cidr_list_parse(text, sizeof text - 1, &l, err, sizeof err), GW_EINVAL);
    assert_null(l);
    assert_non_null(strstr(err, "10.0.0.1?/0"));
}

static void test_match(void **state)
{
    (void)state;
    static const struct { const char *list, *ip; int allowed; } cases[] = {
        {"", "1.2.3.4", 1},
        {"", "garbage", 1},
        {"10.0.0.1", "10.0.0.1", 1},
        {"10.0.0.1", "10.0.0.2", 0},
        {"10.0.0.0/8", "10.255.1.2", 1},
        {"10.0.0.0/8", "11.0.0.1", 0},
        {"10.0.0.1/8", "10.9.9.9", 1},       /* host bits ignored */
        {"127.255.255.0/24", "127.0.0.1", 0},
        {"127.255.255.0/2", "127.0.0.1", 1},
        {"192.168.1.128/25", "192.168.1.200", 1},
        {"192.168.1.128/25", "192.168.1.100", 0},
        {"10.0.0.1/31", "10.0.0.0", 1},
        {"10.0.0.1/31", "10.0.0.2", 0},
        {"0.0.0.0/0", "8.8.8.8", 1},
        {"0.0.0.0/0", "::1", 0},              /* families do not mix */
        {"::/0", "1.2.3.4", 0},
        {"::/0", "2001:db8::1", 1},
        {"2001:db8::/32", "2001:db8:ffff::1", 1},
        {"2001:db8::/32", "2001:db9::1", 0},
        {"2001:db8::/33", "2001:db8:8000::1", 0},
        {"::1", "::1", 1},
        {"10.0.0.0/8", "::ffff:10.1.2.3", 1}, /* IPv4-mapped client */
        {"10.0.0.0/8", "::ffff:11.1.2.3", 0},
        {"::ffff:10.0.0.0/104", "10.2.3.4", 1},
        {"::ffff:10.0.0.0/104", "::ffff:10.2.3.4", 1},
        {"10.0.0.1", "", 0},
        {"10.0.0.1", "not an ip", 0},
        {"10.0.0.1", "10.0.0.1 ", 0},
        {"1.1.1.1,2.2.2.2\n3.3.3.3", "3.3.3.3", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_cidr_list *l = parse_ok(cases[i].list);
        int got = gw_cidr_list_match(l, cases[i].ip);
        if (got != cases[i].allowed)
            print_error("list \"%s\" ip \"%s\": got %d\n", cases[i].list, cases[i].ip, got);
        assert_int_equal(got, cases[i].allowed);
        gw_cidr_list_free(l);
    }
    assert_int_equal(gw_cidr_list_match(NULL, "1.2.3.4"), 1);
    gw_cidr_list *l = parse_ok("10.0.0.1");
    assert_int_equal(gw_cidr_list_match(l, NULL), 0);
    gw_cidr_list_free(l);
    gw_cidr_list_free(NULL);
}

/* The defect of issue 10: an entry starting at byte 496 of a long list is
 * kept whole (the old cache cut the text at 511 bytes). */
/* gw_cidr_ip_valid: a plain address the matcher reads (X-Forwarded-For hops). */
static void test_ip_valid(void **state)
{
    static const char *const good[] = {"127.0.0.1", "10.1.2.3", "::1", "fd00::1",
                                       "::ffff:10.0.0.1"};
    static const char *const bad[] = {"", "10.0.0.0/8", "10.1", "01.2.3.4", "1.2.3.4 ",
                                      "fe80::1%eth0", "::1/128", "host", "+1.2.3.4"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(gw_cidr_ip_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(gw_cidr_ip_valid(bad[i]));
    assert_false(gw_cidr_ip_valid(NULL));
}

static void test_long_list_kept_whole(void **state)
{
    (void)state;
    char text[16384];
    size_t k = 0;
    int i = 0;
    while (k < 496) {
        int n = snprintf(text + k, sizeof text - k, "10.%d.%d.1\n", i / 250, i % 250);
        k += (size_t)n;
        i++;
    }
    /* Pad with spaces to put the last entry exactly at 496 when we overshot. */
    assert_true(k <= 496 + 12);
    if (k < 496) {
        memset(text + k, ' ', 496 - k);
        k = 496;
    }
    snprintf(text + k, sizeof text - k, "127.255.255.0/24");
    gw_cidr_list *l = parse_ok(text);
    assert_int_equal(gw_cidr_list_match(l, "127.0.0.1"), 0);
    assert_int_equal(gw_cidr_list_match(l, "127.255.255.9"), 1);
    assert_int_equal(gw_cidr_list_match(l, "10.0.0.1"), 1);
    gw_cidr_list_free(l);

    /* Thousands of entries, the last one used. */
    k = 0;
    for (i = 0; k + 32 < sizeof text; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "10.%d.%d.0/24,", i / 250, i % 250);
    snprintf(text + k, sizeof text - k, "::1");
    l = parse_ok(text);
    assert_int_equal(gw_cidr_list_count(l), (size_t)i + 1);
    assert_int_equal(gw_cidr_list_match(l, "::1"), 1);
    assert_int_equal(gw_cidr_list_match(l, "::2"), 0);
    gw_cidr_list_free(l);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    gw_cidr_list *l = (gw_cidr_list *)1;
    char err[64];
    gw_alloc_fail_after(0);
    int rc = gw_cidr_list_parse("10.0.0.1", 8, &l, err, sizeof err);
    gw_alloc_fail_after(-1);
    assert_int_equal(rc, GW_ENOMEM);
    assert_null(l);
    /* errlen 0: err is not touched. */
    assert_int_equal(gw_cidr_list_parse("x", 1, &l, NULL, 0), GW_EINVAL);
    assert_null(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_lists),
        cmocka_unit_test(test_bad_entries_refused),
        cmocka_unit_test(test_nul_byte_refused),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_long_list_kept_whole),
        cmocka_unit_test(test_ip_valid),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
