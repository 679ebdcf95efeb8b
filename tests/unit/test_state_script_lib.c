/* The Lua helpers the scripts share (scripts/lib/common.lua): how the loader
 * puts them into each script, that no script keeps its own copy, and what
 * each helper accepts, run in a real redis-server through probe scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include "gateway/core/embed.h"
#include "gateway/core/err.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"
#include "tests/unit/support/redis_server.h"

static struct gw_test_redis server;
static redisContext *rc;

static const struct gw_embedded_file *embedded(const char *path)
{
    for (size_t i = 0; i < gw_embedded_count; i++)
        if (strcmp(gw_embedded_files[i].path, path) == 0)
            return &gw_embedded_files[i];
    return NULL;
}

/* How many times needle (len n) occurs in hay (len h). */
static int occurrences(const char *hay, size_t h, const char *needle, size_t n)
{
    int k = 0;
    for (size_t i = 0; n <= h && i + n <= h; i++)
        if (memcmp(hay + i, needle, n) == 0)
            k++;
    return k;
}

/* Each loaded script: its own contract comment first, then the lib exactly
 * once, then its body; and no scripts/NAME.lua file defines a lib helper again. */
static void test_composed(void **state)
{
    static const char *const helpers[] = {
        "local function int(",     "local function bad(",     "local function I(",
        "local function record(",  "local function counted(", "local function release(",
        "local MAXQ",
    };
    const struct gw_embedded_file *lib = embedded(GW_SCRIPTS_LIB);
    size_t nscripts = 0;
    assert_non_null(lib);
    for (size_t i = 0; i < gw_embedded_count; i++) {
        const struct gw_embedded_file *f = &gw_embedded_files[i];
        const char *p = f->path;
        size_t pl = strlen(p);
        if (strncmp(p, "scripts/", 8) != 0 || strchr(p + 8, '/') || pl < 5 ||
            strcmp(p + pl - 4, ".lua") != 0)
            continue;
        nscripts++;
        const char *raw = (const char *)f->data;
        for (size_t h = 0; h < sizeof helpers / sizeof helpers[0]; h++)
            if (occurrences(raw, f->len, helpers[h], strlen(helpers[h])) != 0)
                fail_msg("%s defines %s again (it is in %s)", p, helpers[h], GW_SCRIPTS_LIB);

        char name[GW_SCRIPT_NAME_MAX];
        snprintf(name, sizeof name, "%.*s", (int)(pl - 12), p + 8);
        const struct gw_script *s = gw_script_find(name);
        assert_non_null(s);
        assert_int_equal(s->len, f->len + lib->len + 1);
        assert_int_equal(occurrences(s->text, s->len, (const char *)lib->data, lib->len), 1);
        const char *at = strstr(s->text, (const char *)lib->data);
        const char *end = strstr(s->text, "\n]]\n");
        assert_memory_equal(s->text, "--[[", 4); /* the contract stays on top */
        assert_non_null(end);
        assert_ptr_equal(at, end + 4);
    }
    assert_int_equal(nscripts, 7);
}

static redisReply *probe(const char *name, const char *const *argv, int argc)
{
    const struct gw_script *s = gw_script_find(name);
    const char *v[8] = {"EVALSHA", s->sha, "0"};
    assert_true(argc <= 5);
    for (int i = 0; i < argc; i++)
        v[3 + i] = argv[i];
    redisReply *r = redisCommandArgv(rc, argc + 3, v, NULL);
    assert_non_null(r);
    return r;
}

/* int(): digits after an optional minus, at most 16 of them (so -1e15, the
 * quota bound, parses everywhere: adjust.lua's rule, the one copy that had
 * been fixed while the six others still counted the sign), then the range. */
static void test_int(void **state)
{
    static const struct {
        const char *s, *lo, *hi;
        const char *want; /* NULL: refused */
    } t[] = {
        {"0", "0", "1", "0"},
        {"42", "1", "100", "42"},
        {"-1000000000000000", "-1000000000000000", "1000000000000000", "-1000000000000000"},
        {"1000000000000000", "0", "1000000000000000", "1000000000000000"},
        {"0000000000000007", "0", "9", "7"},
        {"-10000000000000000", "-100000000000000000", "0", NULL}, /* 17 digits */
        {"10000000000000000", "0", "100000000000000000", NULL},
        {"1000000000000001", "0", "1000000000000000", NULL}, /* out of range */
        {"-1", "0", "5", NULL},
        {"6", "0", "5", NULL},
        {"1.5", "0", "5", NULL},
        {"1e3", "0", "5000", NULL},
        {" 1", "0", "5", NULL},
        {"1 ", "0", "5", NULL},
        {"", "0", "5", NULL},
        {"-", "-5", "5", NULL},
        {"--1", "-5", "5", NULL},
        {"0x10", "0", "100", NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *a[3] = {t[i].s, t[i].lo, t[i].hi};
        redisReply *r = probe("gw_test_lib_int", a, 3);
        if (t[i].want) {
            assert_int_equal(r->type, REDIS_REPLY_STRING);
            assert_string_equal(r->str, t[i].want);
        } else {
            assert_int_equal(r->type, REDIS_REPLY_NIL);
        }
        freeReplyObject(r);
    }
}

/* bad() is the ERR_BAD_ARG error; I() prints integers without exponent. */
static void test_bad_and_I(void **state)
{
    const char *a[1] = {"what"};
    redisReply *r = probe("gw_test_lib_bad", a, 1);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, "ERR_BAD_ARG what");
    freeReplyObject(r);
    r = probe("gw_test_lib_I", NULL, 0);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "1000000000000000 -1000000000000000 0");
    freeReplyObject(r);
}

/* record(): 8 numbers (flags 15 for a 7-field record) and how many fields
 * were stored; nil for anything malformed. */
static void test_record(void **state)
{
    static const struct {
        const char *rec, *want; /* want: "f1:..:f8/stored", or NULL */
    } t[] = {
        {"3:4:500:9000:10:28000000:0:5", "3:4:500:9000:10:28000000:0:5/8"},
        {"3:4:500:9000:10:28000000:1", "3:4:500:9000:10:28000000:1:15/7"},
        {"3:4:500:9000:10:28000000:0:16", NULL},
        {"3:4:500:9000:10:28000000:0:1.5", NULL},
        {"3:4:500:9000:10:28000000:0:-1", NULL},
        {"3:4:500:9000:10:28000000", NULL},
        {"3:4:500:9000:10:28000000:0:5:1", NULL},
        {"3:4:x:9000:10:28000000:0:5", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *a[1] = {t[i].rec};
        redisReply *r = probe("gw_test_lib_record", a, 1);
        if (t[i].want) {
            assert_int_equal(r->type, REDIS_REPLY_STRING);
            assert_string_equal(r->str, t[i].want);
        } else {
            assert_int_equal(r->type, REDIS_REPLY_NIL);
        }
        freeReplyObject(r);
    }
}

/* release(): only a counted slot, never below 0, the key gone at 0. */
static void test_release(void **state)
{
    redisReply *r = redisCommand(rc, "SET gw:cc 2");
    freeReplyObject(r);
    const char *a1[2] = {"4", "8"}; /* flags 4, bit 8: not counted there */
    r = probe("gw_test_lib_release", a1, 2);
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    const char *a2[2] = {"12", "8"};
    for (int want = 1; want >= 0; want--) {
        r = probe("gw_test_lib_release", a2, 2);
        assert_int_equal(r->integer, want);
        freeReplyObject(r);
    }
    r = redisCommand(rc, "EXISTS gw:cc");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    r = probe("gw_test_lib_release", a2, 2); /* nothing to release: stays absent */
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
}

static int group_setup(void **state)
{
    static const struct {
        const char *name, *text;
    } probes[] = {
        {"gw_test_lib_int",
         "local n = int(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))\n"
         "if n == nil then return nil end\nreturn I(n)\n"},
        {"gw_test_lib_bad", "return bad(ARGV[1])\n"},
        {"gw_test_lib_I", "return I(MAXQ) .. ' ' .. I(-MAXQ) .. ' ' .. I(0)\n"},
        {"gw_test_lib_record",
         "local r, n = record(ARGV[1])\nif not r then return nil end\n"
         "local p = {}\nfor i = 1, 8 do p[i] = I(r[i]) end\n"
         "return table.concat(p, ':') .. '/' .. I(n)\n"},
        {"gw_test_lib_release",
         "release('gw:cc', tonumber(ARGV[1]), tonumber(ARGV[2]))\n"
         "return tonumber(redis.call('GET', 'gw:cc')) or 0\n"},
    };
    char err[128], url[200];
    struct gw_redis_addr a;
    signal(SIGPIPE, SIG_IGN);
    if (gw_scripts_init() != GW_OK)
        return -1;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        if (gw_scripts_add_with_lib(probes[i].name, probes[i].text) != GW_OK)
            return -1;
    if (gw_test_redis_start(&server, NULL) != 0)
        return -1;
    snprintf(url, sizeof url, "unix://%s", server.sock);
    if (gw_redis_parse_url(url, &a, err, sizeof err) != GW_OK)
        return -1;
    rc = gw_redis_sync_connect(&a, 5000, err, sizeof err);
    if (rc == NULL || gw_redis_sync_load_scripts(rc, err, sizeof err) != GW_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    if (rc)
        redisFree(rc);
    gw_test_redis_cleanup(&server);
    gw_scripts_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_composed),  cmocka_unit_test(test_int),
        cmocka_unit_test(test_bad_and_I), cmocka_unit_test(test_record),
        cmocka_unit_test(test_release),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
