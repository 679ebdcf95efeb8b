#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/buf.h"
#include "gateway/core/err.h"

static void test_append_and_nul(void **state)
{
    gw_buf b;

    gw_buf_init(&b, 1024);
    assert_null(b.base);
    assert_int_equal(gw_buf_append(&b, NULL, 0), GW_OK);
    assert_int_equal(gw_buf_append(&b, "abc", 3), GW_OK);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.base, "abc");
    assert_int_equal(gw_buf_appends(&b, "def"), GW_OK);
    assert_string_equal(b.base, "abcdef");
    assert_true(b.cap > b.len);
    gw_buf_free(&b);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 1024);
}

static void test_max_enforced(void **state)
{
    gw_buf b;

    gw_buf_init(&b, 10);
    assert_int_equal(gw_buf_append(&b, "0123456789", 10), GW_OK);
    /* Exactly full; one more byte is refused and nothing changes. */
    assert_int_equal(gw_buf_append(&b, "x", 1), GW_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.base, "0123456789");
    assert_true(b.cap <= 11);   /* growth is capped at max + NUL */
    assert_int_equal(gw_buf_appendf(&b, "%d", 1), GW_ETOOBIG);
    assert_string_equal(b.base, "0123456789");
    gw_buf_free(&b);

    gw_buf_init(&b, 5);
    assert_int_equal(gw_buf_append(&b, "abcdef", 6), GW_ETOOBIG);
    assert_int_equal(b.len, 0);
    assert_int_equal(gw_buf_reserve(&b, 6), GW_ETOOBIG);
    assert_int_equal(gw_buf_reserve(&b, 5), GW_OK);
    gw_buf_free(&b);
}

static void test_appendf(void **state)
{
    gw_buf b;
    char big[3000];
    int i;

    gw_buf_init(&b, 1 << 20);
    assert_int_equal(gw_buf_appendf(&b, "%s=%d;", "a", 1), GW_OK);
    assert_int_equal(gw_buf_appendf(&b, "%s=%d;", "bb", 22), GW_OK);
    assert_string_equal(b.base, "a=1;bb=22;");
    assert_int_equal(b.len, strlen("a=1;bb=22;"));
    /* Larger than the spare room: the second pass must produce it whole. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(gw_buf_appendf(&b, "[%s]", big), GW_OK);
    assert_int_equal(b.len, 10 + 2 + sizeof(big) - 1);
    assert_int_equal(b.base[b.len - 1], ']');
    assert_int_equal(b.base[b.len], '\0');
    for (i = 0; i < 1000; i++)
        assert_int_equal(gw_buf_appendf(&b, "%d,", i), GW_OK);
    assert_int_equal(strlen(b.base), b.len);
    gw_buf_free(&b);
}

static void test_consume_reset_steal(void **state)
{
    gw_buf b;
    char *s;
    size_t cap;

    gw_buf_init(&b, 100);
    assert_int_equal(gw_buf_appends(&b, "hello world"), GW_OK);
    gw_buf_consume(&b, 6);
    assert_string_equal(b.base, "world");
    assert_int_equal(b.len, 5);
    gw_buf_consume(&b, 99);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.base, "");

    assert_int_equal(gw_buf_appends(&b, "again"), GW_OK);
    cap = b.cap;
    gw_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.base, "");

    assert_int_equal(gw_buf_appends(&b, "mine"), GW_OK);
    s = gw_buf_steal(&b);
    assert_string_equal(s, "mine");
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    gw_free(s);
    assert_null(gw_buf_steal(&b));
    gw_buf_free(NULL);
}

static void test_enomem_leaves_buffer(void **state)
{
    gw_buf b;

    gw_buf_init(&b, 1 << 20);
    assert_int_equal(gw_buf_appends(&b, "keep"), GW_OK);
    gw_alloc_fail_after(0);
    assert_int_equal(gw_buf_reserve(&b, 4096), GW_ENOMEM);
    assert_int_equal(gw_buf_appendf(&b, "%4096s", "x"), GW_ENOMEM);
    gw_alloc_fail_after(-1);
    assert_string_equal(b.base, "keep");
    assert_int_equal(b.len, 4);
    gw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_nul),
        cmocka_unit_test(test_max_enforced),
        cmocka_unit_test(test_appendf),
        cmocka_unit_test(test_consume_reset_steal),
        cmocka_unit_test(test_enomem_leaves_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
