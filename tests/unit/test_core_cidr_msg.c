/* gw_cidr_list_parse's message quotes the bad entry; it goes into the API's
 * JSON reply and the log, so it must be valid UTF-8 whatever the entry holds
 * (found by tests/fuzz/fuzz_cidr.c: raw bytes and a character cut by the
 * 64-byte quote limit were copied as they were). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/cidr.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"

static int utf8_ok(const char *s)
{
    char copy[512];
    size_t n = strlen(s);
    assert_true(n < sizeof copy);
    memcpy(copy, s, n + 1);
    gw_str_utf8_fix(copy); /* changes nothing in valid text */
    return strcmp(copy, s) == 0;
}

static void message_is_valid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "10.0\xd2\xd0.1/-[",
        "\xff\xfe",
        /* 63 ASCII bytes then a 3-byte character across the 64-byte cut */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x82\xac",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_cidr_list *l = NULL;
        char err[256] = "";
        assert_int_equal(gw_cidr_list_parse(bad[i], strlen(bad[i]), &l, err, sizeof err),
                         GW_EINVAL);
        assert_null(l);
        assert_non_null(strstr(err, "is not an IP address or CIDR"));
        assert_true(utf8_ok(err));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(message_is_valid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
