#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "gateway/core/crypto.h"
#include "gateway/core/err.h"

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    gw_hex_encode(d, n, out);
}

static void test_sha256_vectors(void **state)
{
    /* FIPS 180-2 examples. */
    static const struct { const char *msg, *hex; } cases[] = {
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    unsigned char md[GW_SHA256_LEN];
    char hex[2 * GW_SHA256_LEN + 1];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_sha256(cases[i].msg, strlen(cases[i].msg), md);
        hex_of(md, sizeof(md), hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

static void test_hmac_rfc4231(void **state)
{
    unsigned char k1[20], k6[131], md[GW_SHA256_LEN];
    char hex[2 * GW_SHA256_LEN + 1];
    const struct {
        const void *key;
        size_t klen;
        const char *msg, *hex;
    } cases[] = {
        { k1, sizeof(k1), "Hi There",                                   /* 4.2 */
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "Jefe", 4, "what do ya want for nothing?",                    /* 4.3 */
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { k6, sizeof(k6), "Test Using Larger Than Block-Size Key - Hash Key First",
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" }, /* 4.7 */
    };
    size_t i;

    memset(k1, 0x0b, sizeof(k1));
    memset(k6, 0xaa, sizeof(k6));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_hmac_sha256(cases[i].key, cases[i].klen, cases[i].msg, strlen(cases[i].msg), md);
        hex_of(md, sizeof(md), hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

static void test_hex_and_ct_equal(void **state)
{
    static const unsigned char in[] = { 0x00, 0x0f, 0xa5, 0xff };
    char out[9];

    gw_hex_encode(in, sizeof(in), out);
    assert_string_equal(out, "000fa5ff");
    gw_hex_encode(in, 0, out);
    assert_string_equal(out, "");
    assert_int_equal(gw_ct_equal("abcd", "abcd", 4), 1);
    assert_int_equal(gw_ct_equal("abcd", "abce", 4), 0);
    assert_int_equal(gw_ct_equal("x", "y", 0), 1);
}

static int is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void test_random(void **state)
{
    char s[4001], t[33];
    unsigned char r1[32], r2[32];
    int seen[256] = { 0 };
    size_t i, distinct = 0;

    assert_int_equal(gw_random_alnum(s, 4000), GW_OK);
    assert_int_equal(strlen(s), 4000);
    for (i = 0; i < 4000; i++) {
        assert_true(is_alnum(s[i]));
        seen[(unsigned char)s[i]]++;
    }
    for (i = 0; i < 256; i++)
        distinct += seen[i] > 0;
    assert_int_equal(distinct, 62);            /* ~65 expected per symbol */
    /* Bias check, loose: no symbol below 20 or above 140 of 4000. */
    for (i = 0; i < 256; i++)
        if (seen[i])
            assert_in_range(seen[i], 20, 140);
    assert_int_equal(gw_random_alnum(t, 0), GW_OK);
    assert_string_equal(t, "");
    assert_int_equal(gw_random_alnum(t, 32), GW_OK);
    assert_int_equal(strlen(t), 32);

    assert_int_equal(gw_random_bytes(r1, sizeof(r1)), GW_OK);
    assert_int_equal(gw_random_bytes(r2, sizeof(r2)), GW_OK);
    assert_false(gw_ct_equal(r1, r2, sizeof(r1)));
}

/* Openwall crypt_blowfish test vector ($2a$, cost 5). */
static const char OW_HASH[] = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
/* Generated with gw_bcrypt_hash; the $2a$ twin computed with crypt_r on a
 * "$2a$10$<same salt>" setting (identical output for ASCII passwords). */
static const char PW[] = "correct horse battery staple";
static const char H2B[] = "$2b$10$2kmI0xSlwRV9rDsHJCg5zOemhfC00LBDD4VZdUs9OeavthsWQ0WaS";
static const char H2A[] = "$2a$10$2kmI0xSlwRV9rDsHJCg5zOemhfC00LBDD4VZdUs9OeavthsWQ0WaS";

static void test_bcrypt_verify_known(void **state)
{
    static const struct { const char *pw, *hash; int rc; } cases[] = {
        { "U*U", OW_HASH, GW_OK },
        { "U*V", OW_HASH, GW_EINVAL },
        { PW, H2B, GW_OK },
        { PW, H2A, GW_OK },
        { "correct horse battery stapler", H2B, GW_EINVAL },
        { "", H2A, GW_EINVAL },
        /* malformed */
        { PW, "", GW_EINVAL },
        { PW, "$2b$10$short", GW_EINVAL },
        { PW, "$1$abcdefgh$abcdefghijklmnopqrstuv", GW_EINVAL },
        { PW, "$2b$99$2kmI0xSlwRV9rDsHJCg5zOemhfC00LBDD4VZdUs9OeavthsWQ0WaS", GW_EINVAL },
        { PW, "$2x$10$2kmI0xSlwRV9rDsHJCg5zOemhfC00LBDD4VZdUs9OeavthsWQ0WaS", GW_EINVAL },
        { PW, "*0", GW_EINVAL },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = gw_bcrypt_verify(cases[i].pw, cases[i].hash);

        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
    }
    assert_int_equal(gw_bcrypt_verify(NULL, H2B), GW_EINVAL);
    assert_int_equal(gw_bcrypt_verify(PW, NULL), GW_EINVAL);
}

static void test_bcrypt_hash_roundtrip(void **state)
{
    char h1[64], h2[64];

    assert_int_equal(gw_bcrypt_hash("s3cret", 4, h1), GW_OK);
    assert_int_equal(strlen(h1), GW_BCRYPT_LEN);
    assert_memory_equal(h1, "$2b$04$", 7);
    assert_int_equal(gw_bcrypt_verify("s3cret", h1), GW_OK);
    assert_int_equal(gw_bcrypt_verify("s3cres", h1), GW_EINVAL);
    assert_int_equal(gw_bcrypt_hash("s3cret", 4, h2), GW_OK);
    assert_string_not_equal(h1, h2);           /* fresh salt each time */
    assert_int_equal(gw_bcrypt_hash("x", 3, h1), GW_EINVAL);
    assert_string_equal(h1, "");
    assert_int_equal(gw_bcrypt_hash("x", 32, h1), GW_EINVAL);
}

struct async_result {
    int calls;
    int rc;
    char hash[64];
};

static void on_done(int result, const char *hash, void *data)
{
    struct async_result *r = data;

    r->calls++;
    r->rc = result;
    if (hash != NULL)
        memcpy(r->hash, hash, strlen(hash) + 1);
}

static void test_bcrypt_async(void **state)
{
    uv_loop_t loop;
    struct async_result ok = { 0 }, bad = { 0 }, made = { 0 };
    char pw[] = "U*U";

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(gw_bcrypt_verify_async(&loop, pw, OW_HASH, on_done, &ok), GW_OK);
    memset(pw, 0, sizeof(pw));                 /* inputs were copied */
    assert_int_equal(gw_bcrypt_verify_async(&loop, "nope", H2A, on_done, &bad), GW_OK);
    assert_int_equal(gw_bcrypt_hash_async(&loop, "fresh", 4, on_done, &made), GW_OK);
    assert_int_equal(gw_bcrypt_verify_async(&loop, NULL, H2A, on_done, &bad), GW_EINVAL);
    assert_int_equal(ok.calls, 0);             /* never synchronous */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.rc, GW_OK);
    assert_int_equal(bad.calls, 1);            /* the EINVAL call never called back */
    assert_int_equal(bad.rc, GW_EINVAL);
    assert_int_equal(made.calls, 1);
    assert_int_equal(made.rc, GW_OK);
    assert_int_equal(strlen(made.hash), GW_BCRYPT_LEN);
    assert_int_equal(gw_bcrypt_verify("fresh", made.hash), GW_OK);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hex_and_ct_equal),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_bcrypt_verify_known),
        cmocka_unit_test(test_bcrypt_hash_roundtrip),
        cmocka_unit_test(test_bcrypt_async),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
