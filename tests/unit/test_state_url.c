/* gw_redis_parse_url(): table of good and bad connection strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "gateway/core/err.h"
#include "gateway/state/redis.h"

struct good {
    const char *url;
    const char *host;
    int port;
    const char *unix_path;
    const char *password;
    int db;
    int note; /* a note is expected in err */
};

static const struct good goods[] = {
    {"redis://localhost:6379", "localhost", 6379, "", "", 0, 0},
    {"redis://127.0.0.1:6380/2", "127.0.0.1", 6380, "", "", 2, 0},
    {"redis://redis", "redis", 6379, "", "", 0, 0},
    {"REDIS://h:1/", "h", 1, "", "", 0, 0},
    {"redis://:secret@h:7000/15", "h", 7000, "", "secret", 15, 0},
    {"redis://default:secret@h:7000", "h", 7000, "", "secret", 0, 0},
    {"redis://alice:secret@h:7000/3", "h", 7000, "", "secret", 3, 1},
    {"redis://alice@h", "h", 6379, "", "", 0, 1},
    {"redis://:p%40ss%3Aw%2Fd@h", "h", 6379, "", "p@ss:w/d", 0, 0},
    {"redis://:p@ss@h:1", "h", 1, "", "p@ss", 0, 0},
    {"redis://[::1]:6379/1", "::1", 6379, "", "", 1, 0},
    {"redis://[fe80::1]", "fe80::1", 6379, "", "", 0, 0},
    {"redis://:6390", "localhost", 6390, "", "", 0, 0},
    {"redis://h?db=4", "h", 6379, "", "", 4, 0},
    {"redis://h:1?password=x%20y", "h", 1, "", "x y", 0, 0},
    {"unix:///tmp/redis.sock", "", 0, "/tmp/redis.sock", "", 0, 0},
    {"unix:///run/r.sock?db=3", "", 0, "/run/r.sock", "", 3, 0},
    {"unix:///run/r.sock?db=3&password=pw", "", 0, "/run/r.sock", "pw", 3, 0},
};

struct bad {
    const char *url;
    int rc;
    const char *msg; /* substring of the message */
};

static const struct bad bads[] = {
    {"", GW_EINVAL, "empty"},
    {"localhost:6379", GW_EINVAL, "must start with"},
    {"http://h:1", GW_EINVAL, "must start with"},
    {"rediss://h:6380", GW_ENOTSUP, "TLS"},
    {"redis://h:", GW_EINVAL, "bad port"},
    {"redis://h:abc", GW_EINVAL, "bad port"},
    {"redis://h:0", GW_EINVAL, "bad port"},
    {"redis://h:65536", GW_EINVAL, "bad port"},
    {"redis://h:6379x", GW_EINVAL, "bad port"},
    {"redis://h/x", GW_EINVAL, "bad db"},
    {"redis://h/-1", GW_EINVAL, "bad db"},
    {"redis://h/1/2", GW_EINVAL, "bad db"},
    {"redis://h/1?db=2", GW_EINVAL, "twice"},
    {"redis://h?timeout=5", GW_EINVAL, "unknown option"},
    {"redis://::1:6379", GW_EINVAL, "brackets"},
    {"redis://[::1", GW_EINVAL, "unterminated"},
    {"redis://[::1]x", GW_EINVAL, "junk"},
    {"redis://[zz]:1", GW_EINVAL, "IPv6"},
    {"redis://:%zz@h", GW_EINVAL, "password"},
    {"redis://:%4@h", GW_EINVAL, "password"},
    {"redis://:a%00b@h", GW_EINVAL, "password"},
    {"redis://h#frag", GW_EINVAL, "'#'"},
    {"redis://h 1", GW_EINVAL, "whitespace"},
    {"redis://h\\x:1", GW_EINVAL, "bad character"},
    {"unix://", GW_EINVAL, "absolute"},
    {"unix://relative/sock", GW_EINVAL, "absolute"},
    {"unix:///s?db=x", GW_EINVAL, "bad db"},
    {"unix:///s?user=x", GW_EINVAL, "unknown option"},
};

static void test_good(void **state)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        const struct good *g = &goods[i];
        struct gw_redis_addr a;
        char err[256] = "junk";

        int rc = gw_redis_parse_url(g->url, &a, err, sizeof err);
        if (rc != GW_OK)
            print_error("url %s: %s\n", g->url, err);
        assert_int_equal(rc, GW_OK);
        assert_string_equal(a.host, g->host);
        assert_int_equal(a.port, g->port);
        assert_string_equal(a.unix_path, g->unix_path);
        assert_string_equal(a.password, g->password);
        assert_int_equal(a.db, g->db);
        if (g->note)
            assert_non_null(strstr(err, "ignored"));
        else
            assert_string_equal(err, "");
    }
}

static void test_bad(void **state)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const struct bad *b = &bads[i];
        struct gw_redis_addr a;
        char err[256] = "";

        memset(&a, 'x', sizeof a);
        int rc = gw_redis_parse_url(b->url, &a, err, sizeof err);
        if (rc != b->rc || strstr(err, b->msg) == NULL)
            print_error("url '%s': rc %d, err '%s'\n", b->url, rc, err);
        assert_int_equal(rc, b->rc);
        assert_non_null(strstr(err, b->msg));
        /* Nothing half-parsed (a password, say) is left behind. */
        assert_string_equal(a.password, "");
        assert_string_equal(a.host, "");
    }
}

static void test_limits(void **state)
{
    struct gw_redis_addr a;
    char url[400], err[128];

    /* The unix path must fit sockaddr_un.sun_path (108 with the NUL). */
    snprintf(url, sizeof url, "unix:///%0107d", 0);
    assert_int_equal(gw_redis_parse_url(url, &a, err, sizeof err), GW_EINVAL);
    assert_non_null(strstr(err, "longer"));
    snprintf(url, sizeof url, "unix:///%0106d", 0);
    assert_int_equal(gw_redis_parse_url(url, &a, err, sizeof err), GW_OK);
    assert_int_equal(strlen(a.unix_path), 107);

    /* A 300-byte host does not fit. */
    memcpy(url, "redis://", 8);
    memset(url + 8, 'h', 300);
    url[308] = '\0';
    assert_int_equal(gw_redis_parse_url(url, &a, err, sizeof err), GW_EINVAL);
    assert_non_null(strstr(err, "too long"));

    /* err may be omitted. */
    assert_int_equal(gw_redis_parse_url("redis://h:x", &a, NULL, 0), GW_EINVAL);
    assert_int_equal(gw_redis_parse_url(NULL, &a, NULL, 0), GW_EINVAL);
    /* A short err buffer is truncated, not overrun. */
    char tiny[4];
    assert_int_equal(gw_redis_parse_url("redis://h:x", &a, tiny, sizeof tiny), GW_EINVAL);
    assert_int_equal(strlen(tiny), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
