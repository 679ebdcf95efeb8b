#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/arena.h"
#include "gateway/core/err.h"

static void test_alignment_and_reuse(void **state)
{
    gw_arena *a = gw_arena_new(0);
    static const size_t sizes[] = { 1, 3, 16, 17, 100, 0, 7, 1000, 5000, 33 };
    void *p[sizeof(sizes) / sizeof(sizes[0])];
    size_t i;

    assert_non_null(a);
    assert_int_equal(gw_arena_bytes(a), 0);   /* first block is lazy */
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        p[i] = gw_arena_alloc(a, sizes[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        memset(p[i], (int)i, sizes[i]);      /* ASan catches overruns */
    }
    /* Distinct, non-overlapping results: the fills were not clobbered. */
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (sizes[i] > 0)
            assert_int_equal(((unsigned char *)p[i])[sizes[i] - 1], i);
    assert_true(p[0] != p[5]);
    /* Everything fits one 4096 block except 5000 (> 4096 / 4), which gets a
     * dedicated block of its rounded-up size. */
    assert_int_equal(gw_arena_bytes(a), 4096 + 5008);
    gw_arena_free(a);
    gw_arena_free(NULL);
}

static void test_small_allocs_share_block(void **state)
{
    gw_arena *a = gw_arena_new(1024);
    size_t i;

    for (i = 0; i < 64; i++)
        assert_non_null(gw_arena_alloc(a, 16));
    assert_int_equal(gw_arena_bytes(a), 1024);
    assert_non_null(gw_arena_alloc(a, 16));   /* block full: a second one */
    assert_int_equal(gw_arena_bytes(a), 2048);
    gw_arena_free(a);
}

static void test_strings(void **state)
{
    gw_arena *a = gw_arena_new(64);
    char *s;
    unsigned char *z;
    size_t i;

    assert_string_equal(gw_arena_strdup(a, "hello"), "hello");
    assert_string_equal(gw_arena_strndup(a, "hello", 3), "hel");
    assert_string_equal(gw_arena_strndup(a, "hi", 10), "hi");
    assert_null(gw_arena_strdup(a, NULL));
    s = gw_arena_printf(a, "%s-%d-%05.1f", "req", 42, 3.14159);
    assert_string_equal(s, "req-42-003.1");
    s = gw_arena_printf(a, "%0200d", 7);        /* bigger than the block */
    assert_int_equal(strlen(s), 200);
    assert_int_equal(s[199], '7');
    z = gw_arena_calloc(a, 300);
    for (i = 0; i < 300; i++)
        assert_int_equal(z[i], 0);
    gw_arena_free(a);
}

static int seen[8];
static int n_seen;

static void record(void *data)
{
    seen[n_seen++] = *(int *)data;
}

static void test_cleanups_reverse_order(void **state)
{
    static int tags[3] = { 0, 1, 2 };
    gw_arena *a = gw_arena_new(0);
    char *mem = gw_arena_strdup(a, "still readable");
    int i;

    n_seen = 0;
    for (i = 0; i < 3; i++)
        assert_int_equal(gw_arena_on_cleanup(a, record, &tags[i]), GW_OK);
    assert_non_null(mem);
    gw_arena_free(a);
    assert_int_equal(n_seen, 3);
    assert_int_equal(seen[0], 2);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 0);
}

static void bump(void *data)
{
    (*(int *)data)++;
}

static void test_cleanup_oom_not_called(void **state)
{
    gw_arena *a = gw_arena_new(0);
    int calls = 0;

    /* No block yet, so registering needs an allocation: make it fail. */
    gw_alloc_fail_after(0);
    assert_int_equal(gw_arena_on_cleanup(a, bump, &calls), GW_ENOMEM);
    assert_null(gw_arena_alloc(a, 10));
    gw_alloc_fail_after(-1);
    assert_int_equal(gw_arena_on_cleanup(a, bump, &calls), GW_OK);
    gw_arena_free(a);
    assert_int_equal(calls, 1);   /* only the registration that succeeded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_reuse),
        cmocka_unit_test(test_small_allocs_share_block),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_cleanups_reverse_order),
        cmocka_unit_test(test_cleanup_oom_not_called),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
