/* Failure injection: the allocation entry point fails on demand, and the
 * modules built on it fail cleanly (no crash, no leak: ASan's leak checker
 * runs at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/arena.h"
#include "gateway/core/buf.h"
#include "gateway/core/config.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static int reset(void **state)
{
    gw_alloc_fail_after(-1);
    return 0;
}

static void clear_config_env(void)
{
    const struct gw_config_entry *e;
    size_t i, n;

    e = gw_config_entries(&n);
    for (i = 0; i < n; i++)
        unsetenv(e[i].name);
}

static void test_countdown(void **state)
{
    void *p1, *p2, *p3;

    gw_alloc_fail_after(2);
    p1 = gw_malloc(8);
    p2 = gw_calloc(2, 8);
    p3 = gw_malloc(8);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_null(p3);
    assert_null(gw_strdup("x"));
    assert_null(gw_strndup("xyz", 2));
    assert_null(gw_realloc(p1, 64));           /* p1 still valid */
    /* The aborting variants are exempt: they are for fixed small sizes. */
    p3 = gw_xmalloc(8);
    assert_non_null(p3);
    gw_free(p3);
    gw_alloc_fail_after(-1);
    p1 = gw_realloc(p1, 64);
    assert_non_null(p1);
    gw_free(p1);
    gw_free(p2);
    gw_free(NULL);
}

static void test_basic_semantics(void **state)
{
    char *s = gw_strndup("hello", 3);
    char *x = gw_xstrdup("abc");
    unsigned char *z = gw_xcalloc(4, 4);
    size_t i;

    assert_string_equal(s, "hel");
    assert_string_equal(x, "abc");
    for (i = 0; i < 16; i++)
        assert_int_equal(z[i], 0);
    assert_null(gw_strdup(NULL));
    assert_null(gw_calloc((size_t)-1, 16));    /* overflow refused */
    gw_free(s);
    gw_free(x);
    gw_free(z);
}

static void test_buf_append_fails_cleanly(void **state)
{
    gw_buf b;

    gw_buf_init(&b, 1 << 20);
    gw_alloc_fail_after(0);
    assert_int_equal(gw_buf_append(&b, "abc", 3), GW_ENOMEM);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    gw_alloc_fail_after(-1);
    assert_int_equal(gw_buf_append(&b, "abc", 3), GW_OK);
    assert_string_equal(b.base, "abc");
    gw_buf_free(&b);
}

static void test_arena_new_fails_cleanly(void **state)
{
    gw_arena *a;

    gw_alloc_fail_after(0);
    assert_null(gw_arena_new(0));
    gw_alloc_fail_after(1);                    /* the arena, not its block */
    a = gw_arena_new(0);
    assert_non_null(a);
    assert_null(gw_arena_alloc(a, 10));
    assert_null(gw_arena_strdup(a, "x"));
    assert_null(gw_arena_printf(a, "%d", 1));
    gw_alloc_fail_after(-1);
    assert_non_null(gw_arena_alloc(a, 10));
    gw_arena_free(a);
}

/* Torture loop (curl style): fail the k-th allocation for every k until the
 * operation succeeds; every failure must be reported, never crash or leak. */
static void test_torture_json_and_config(void **state)
{
    static const char doc[] = "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}";
    long k;
    int ok = 0;

    for (k = 0; k < 200 && !ok; k++) {
        json_t *j;
        gw_buf b;

        gw_buf_init(&b, 4096);
        gw_alloc_fail_after(k);
        j = gw_json_parse(doc, sizeof(doc) - 1, 0, NULL, 0);
        if (j != NULL) {
            if (gw_json_dump_buf(j, &b, 0) == GW_OK) {
                assert_string_equal(b.base, doc);
                ok = 1;
            }
            json_decref(j);
        }
        gw_alloc_fail_after(-1);
        gw_buf_free(&b);
    }
    assert_true(ok);
    assert_true(k > 1);                        /* some runs really failed */

    clear_config_env();
    for (ok = 0, k = 0; k < 200 && !ok; k++) {
        struct gw_config c;
        char err[256];
        int rc;

        gw_alloc_fail_after(k);
        rc = gw_config_load(&c, err, sizeof(err));
        gw_alloc_fail_after(-1);
        if (rc == GW_OK) {
            ok = 1;
            gw_config_free(&c);
        } else {
            assert_int_equal(rc, GW_ENOMEM);
        }
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_countdown, reset),
        cmocka_unit_test_teardown(test_basic_semantics, reset),
        cmocka_unit_test_teardown(test_buf_append_fails_cleanly, reset),
        cmocka_unit_test_teardown(test_arena_new_fails_cleanly, reset),
        cmocka_unit_test_teardown(test_torture_json_and_config, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
