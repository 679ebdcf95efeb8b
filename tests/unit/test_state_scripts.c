/* the Lua scripts (scripts/) against a real redis-server, through the blocking hiredis
 * client: every branch of every script, bad arguments included (each returns
 * an error and a DUMP of every key the script could touch is unchanged), and
 * the ledger entries field by field. Time comes from ARGV, so all values are
 * exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include "gateway/core/err.h"
#include "gateway/state/ledger.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"
#include "tests/unit/support/redis_server.h"

static struct gw_test_redis server;
static redisContext *rc;

#define UID 23 /* shard 7 */
#define TID 105
#define NOW 1700000000000LL /* a minute boundary + 20 s: window 28333333 */
#define WIN 28333333LL

/* Keys of user 23 / token 105, built by the ledger's own builders. */
static char K_U[GW_KEY_MAX], K_T[GW_KEY_MAX], K_RES[GW_KEY_MAX], K_DL[GW_KEY_MAX],
    K_SEQ[GW_KEY_MAX], K_RLU[GW_KEY_MAX], K_RLT[GW_KEY_MAX], K_CCU[GW_KEY_MAX],
    K_CCT[GW_KEY_MAX], K_LED[GW_KEY_MAX], K_IDEM[GW_KEY_MAX], K_T0[GW_KEY_MAX];

/* ---- helpers -------------------------------------------------------------- */

static redisReply *cmdv(const char *fmt, va_list ap)
{
    redisReply *r = redisvCommand(rc, fmt, ap);

    if (r == NULL)
        fail_msg("redis: %s", rc->errstr);
    return r;
}

static redisReply *cmd(const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = cmdv(fmt, ap);
    va_end(ap);
    return r;
}

static void run(const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = cmdv(fmt, ap);
    va_end(ap);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", fmt, r->str);
    freeReplyObject(r);
}

/* HGET as a number; LLONG_MIN when absent. */
static long long hnum(const char *key, const char *field)
{
    redisReply *r = cmd("HGET %s %s", key, field);
    long long v = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : LLONG_MIN;

    freeReplyObject(r);
    return v;
}

static long long getnum(const char *key)
{
    redisReply *r = cmd("GET %s", key);
    long long v = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : LLONG_MIN;

    freeReplyObject(r);
    return v;
}

static long long intcmd(const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    long long v;

    va_start(ap, fmt);
    r = cmdv(fmt, ap);
    va_end(ap);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static void assert_hstr(const char *key, const char *field, const char *want)
{
    redisReply *r = cmd("HGET %s %s", key, field);

    if (want == NULL)
        assert_int_equal(r->type, REDIS_REPLY_NIL);
    else {
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_string_equal(r->str, want);
    }
    freeReplyObject(r);
}

/* EVALSHA name with nkeys keys followed by args. */
static redisReply *script(const char *name, int nkeys, int argc, const char *const *argv)
{
    const struct gw_script *s = gw_script_find(name);
    const char *v[48];
    char nk[8];

    assert_non_null(s);
    assert_true(argc + 3 <= 48);
    snprintf(nk, sizeof nk, "%d", nkeys);
    v[0] = "EVALSHA";
    v[1] = s->sha;
    v[2] = nk;
    for (int i = 0; i < argc; i++)
        v[3 + i] = argv[i];
    redisReply *r = redisCommandArgv(rc, argc + 3, v, NULL);
    if (r == NULL)
        fail_msg("redis: %s", rc->errstr);
    return r;
}

static long long el_int(const redisReply *r, size_t i)
{
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_true(i < r->elements);
    assert_int_equal(r->element[i]->type, REDIS_REPLY_INTEGER);
    return r->element[i]->integer;
}

static const char *el_str(const redisReply *r, size_t i)
{
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_true(i < r->elements);
    assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
    return r->element[i]->str;
}

/* Asserts {0, reason[, retry, which]} and frees r. */
static void expect_refusal(redisReply *r, const char *reason, long long retry, const char *which)
{
    assert_int_equal(el_int(r, 0), 0);
    assert_string_equal(el_str(r, 1), reason);
    if (which != NULL) {
        assert_int_equal(r->elements, 4);
        assert_int_equal(el_int(r, 2), retry);
        assert_string_equal(el_str(r, 3), which);
    } else {
        assert_int_equal(r->elements, 2);
    }
    freeReplyObject(r);
}

static void expect_error(redisReply *r, const char *msg)
{
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, msg);
    freeReplyObject(r);
}

/* DUMP of every key a script may touch, concatenated: equal snapshots mean
 * nothing was written (absent keys included). */
#define SNAP_MAX 65536
struct snap {
    size_t len;
    char buf[SNAP_MAX];
};

static void snapshot(struct snap *s)
{
    const char *keys[] = {K_U, K_T, K_RES, K_DL, K_SEQ, K_RLU, K_RLT, K_CCU, K_CCT, K_LED, K_IDEM,
                          K_T0, "tf:rl:x", "tf:ch:9"};

    s->len = 0;
    /* And how many keys exist: a call must not create any (an op record, say). */
    s->len += (size_t)snprintf(s->buf, 32, "%lld|", intcmd("DBSIZE"));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        redisReply *r = cmd("DUMP %s", keys[i]);
        size_t n = r->type == REDIS_REPLY_STRING ? r->len : 0;
        assert_true(s->len + n + 2 < SNAP_MAX);
        s->buf[s->len++] = r->type == REDIS_REPLY_STRING ? 'S' : 'N';
        if (n)
            memcpy(s->buf + s->len, r->str, n);
        s->len += n;
        s->buf[s->len++] = '|';
        freeReplyObject(r);
        /* PTTL too: a bad call must not touch expiry either. */
        long long ttl = intcmd("PTTL %s", keys[i]);
        s->buf[s->len++] = ttl == -2 ? 'a' : ttl == -1 ? 'p' : 't';
    }
}

static void assert_unchanged(const struct snap *before)
{
    static struct snap after;

    snapshot(&after);
    assert_int_equal(before->len, after.len);
    assert_memory_equal(before->buf, after.buf, before->len);
}

/* The newest ledger entry, as field/value pairs, compared exactly. */
static void expect_last_entry(const char *const *pairs)
{
    redisReply *r = cmd("XREVRANGE %s + - COUNT 1", K_LED);
    size_t n = 0;

    while (pairs[n] != NULL)
        n++;
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    redisReply *f = r->element[0]->element[1];
    if (f->elements != n) {
        for (size_t i = 0; i + 1 < f->elements; i += 2)
            print_message("  %s=%s\n", f->element[i]->str, f->element[i + 1]->str);
        fail_msg("entry has %zu fields, want %zu", f->elements, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f->element[i]->str, pairs[i]) != 0)
            fail_msg("field %zu: got '%s', want '%s' (after %s)", i, f->element[i]->str, pairs[i],
                     i ? pairs[i - 1] : "");
    }
    freeReplyObject(r);
}

static long long xlen(void)
{
    return intcmd("XLEN %s", K_LED);
}

/* ---- fixtures ---------------------------------------------------------------- */

static void seed(void)
{
    run("FLUSHALL");
    run("HSET %s quota 1000 reserved 0 used_quota 0 request_count 0 status 1 group %s "
        "username bob rpm 0 tpm 0 concurrency 0",
        K_U, "");
    run("HSET %s uid 23 status 1 name tk expired_time -1 remain_quota 500 unlimited_quota 0 "
        "used_quota 0 reserved 0 model_limits_enabled 0 model_limits %s group %s rpm 0 tpm 0 "
        "concurrency 0",
        K_T, "", "");
}

/* rpm, tpm and concurrency on both the user and the token, far above what
 * any test reaches: every request is counted (flags 15) and never refused. */
static void limit_all(void)
{
    run("HSET %s rpm 1000 tpm 1000000 concurrency 100", K_U);
    run("HSET %s rpm 1000 tpm 1000000 concurrency 100", K_T);
}

static int setup(void **state)
{
    seed();
    return 0;
}

static int group_setup(void **state)
{
    char err[128];
    struct gw_redis_addr a;
    char url[200];

    signal(SIGPIPE, SIG_IGN);
    if (gw_scripts_init() != GW_OK || gw_test_redis_start(&server, NULL) != 0)
        return -1;
    snprintf(url, sizeof url, "unix://%s", server.sock);
    if (gw_redis_parse_url(url, &a, err, sizeof err) != GW_OK)
        return -1;
    rc = gw_redis_sync_connect(&a, 5000, err, sizeof err);
    if (rc == NULL || gw_redis_sync_load_scripts(rc, err, sizeof err) != GW_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    gw_key_user(K_U, GW_KEY_MAX, UID);
    gw_key_token(K_T, GW_KEY_MAX, UID, TID);
    gw_key_shard(K_RES, GW_KEY_MAX, 7, "res");
    gw_key_shard(K_DL, GW_KEY_MAX, 7, "resdl");
    gw_key_shard(K_SEQ, GW_KEY_MAX, 7, "resseq");
    gw_key_shard(K_LED, GW_KEY_MAX, 7, "ledger");
    gw_key_shard(K_IDEM, GW_KEY_MAX, 7, "idem");
    gw_key_rl_user(K_RLU, GW_KEY_MAX, UID);
    gw_key_rl_token(K_RLT, GW_KEY_MAX, UID, TID);
    gw_key_cc_user(K_CCU, GW_KEY_MAX, UID);
    gw_key_cc_token(K_CCT, GW_KEY_MAX, UID, TID);
    snprintf(K_T0, sizeof K_T0, "tf:{s7}:t:0");
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

/* ---- script callers with string arguments -------------------------------------- */

#define NUMS(x) (snprintf(nb[nn], sizeof nb[0], "%lld", (long long)(x)), nb[nn++])

static redisReply *authorize_v(const char *const args[7])
{
    const char *v[16] = {K_U, K_T, K_RES, K_DL, K_SEQ, K_RLU, K_RLT, K_CCU, K_CCT};

    memcpy(v + 9, args, 7 * sizeof *args);
    return script("authorize", 9, 16, v);
}

static redisReply *authorize(const char *model, long long amount, long long est, long long now)
{
    char nb[8][24];
    int nn = 0;
    const char *a[7] = {"23", "105", model, NUMS(amount), NUMS(est), "60000", NUMS(now)};

    return authorize_v(a);
}

/* Authorizes amount, asserting success; returns the reservation id. */
static long long reserve(long long amount, long long est)
{
    redisReply *r = authorize("gpt-4", amount, est, NOW);

    if (el_int(r, 0) != 1)
        fail_msg("authorize refused: %s", el_str(r, 1));
    long long id = el_int(r, 1);
    freeReplyObject(r);
    return id;
}

static redisReply *settle_v(const char *const args[17])
{
    const char *v[26] = {K_U, K_T, K_RES, K_DL, K_LED, K_RLU, K_RLT, K_CCU, K_CCT};

    memcpy(v + 9, args, 17 * sizeof *args);
    return script("settle", 9, 26, v);
}

static redisReply *settle(long long id, long long actual, long long tokens, long long now,
                          const char *other)
{
    char nb[8][24];
    int nn = 0;
    const char *a[17] = {"23", "105", NUMS(id), NUMS(actual), NUMS(tokens), NUMS(now), "3",
                         "gpt-4", "10", "20", "1", "2", "vip", "1.2.3.4", "req-1", "", other};

    return settle_v(a);
}

static redisReply *extend_v(const char *const args[6])
{
    const char *v[10] = {K_U, K_T, K_RES, K_DL};

    memcpy(v + 4, args, 6 * sizeof *args);
    return script("extend", 4, 10, v);
}

/* KEYS[3] is the op's own record, tf:{s7}:idem:<op_id>. */
static char K_OP[GW_KEY_MAX + 200];

static redisReply *adjust_v(const char *tkey, const char *const args[8])
{
    snprintf(K_OP, sizeof K_OP, "%s:%s", K_IDEM, args[4]);
    const char *v[12] = {K_U, tkey, K_OP, K_LED};

    memcpy(v + 4, args, 8 * sizeof *args);
    return script("adjust", 4, 12, v);
}

/* ---- authorize ----------------------------------------------------------------- */

static void test_authorize_reserves(void **state)
{
    redisReply *r = authorize("gpt-4", 100, 50, NOW);

    assert_int_equal(r->elements, 6);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), 1);
    assert_int_equal(el_int(r, 2), NOW + 60000);
    assert_int_equal(el_int(r, 3), 900);
    assert_int_equal(el_int(r, 4), 400);
    assert_string_equal(el_str(r, 5), "default");
    freeReplyObject(r);

    assert_int_equal(hnum(K_U, "quota"), 900);
    assert_int_equal(hnum(K_U, "reserved"), 100);
    assert_int_equal(hnum(K_U, "used_quota"), 0);
    assert_int_equal(hnum(K_T, "remain_quota"), 400);
    assert_int_equal(hnum(K_T, "reserved"), 100);
    /* No limits: counted in nothing (flags 0), no window or counter exists. */
    assert_hstr(K_RES, "1", "23:105:100:1700000060000:50:28333333:0:0");
    redisReply *z = cmd("ZSCORE %s 1", K_DL);
    assert_string_equal(z->str, "1700000060000");
    freeReplyObject(z);
    assert_int_equal(intcmd("EXISTS %s %s %s %s", K_RLU, K_RLT, K_CCU, K_CCT), 0);
    assert_int_equal(xlen(), 0); /* reserving is not spending */

    /* With limits: both windows and both counters (flags 15). */
    limit_all();
    assert_int_equal(reserve(100, 50), 2);
    assert_hstr(K_RES, "2", "23:105:100:1700000060000:50:28333333:0:15");
    assert_int_equal(hnum(K_RLU, "w"), WIN);
    assert_int_equal(hnum(K_RLU, "req"), 1);
    assert_int_equal(hnum(K_RLU, "tok"), 50);
    assert_int_equal(hnum(K_RLT, "req"), 1);
    assert_int_equal(hnum(K_RLT, "tok"), 50);
    long long ttl = intcmd("PTTL %s", K_RLU);
    assert_true(ttl > 100000 && ttl <= 120000);
    ttl = intcmd("PTTL %s", K_RLT);
    assert_true(ttl > 100000 && ttl <= 120000);
    assert_int_equal(getnum(K_CCU), 1);
    assert_int_equal(getnum(K_CCT), 1);

    /* The next reservation gets the next id and counts in the same window. */
    assert_int_equal(reserve(100, 50), 3);
    assert_int_equal(hnum(K_RLU, "req"), 2);
    assert_int_equal(hnum(K_RLU, "tok"), 100);
    assert_int_equal(getnum(K_CCU), 2);
    assert_int_equal(hnum(K_U, "quota"), 700);
    assert_int_equal(hnum(K_U, "reserved"), 300);
}

/* A setup step: a command format with one %s, applied to the key named by k:
 * 'u' user, 't' token, 'U' rl:u, 'T' rl:t, 'c' cc:u, 'C' cc:t. */
struct step {
    char k;
    const char *fmt;
};

static const char *key_of(char k)
{
    switch (k) {
    case 'u': return K_U;
    case 't': return K_T;
    case 'U': return K_RLU;
    case 'T': return K_RLT;
    case 'c': return K_CCU;
    case 'C': return K_CCT;
    }
    fail_msg("bad step key %c", k);
    return NULL;
}

static void apply(const struct step *s)
{
    for (; s != NULL && s->fmt != NULL; s++)
        run(s->fmt, key_of(s->k));
}

#define STEPS(...) ((const struct step[]){__VA_ARGS__, {0, NULL}})

static void test_authorize_refusals(void **state)
{
    static const long long retry = (WIN + 1) * 60000 - NOW; /* 40 s */
    const struct {
        const char *name;
        const struct step *setup;
        const char *model;
        const char *reason;
        long long retry;
        const char *which;
    } cases[] = {
        {"no token", STEPS({'t', "DEL %s"}), "gpt-4", "token_not_found", 0, NULL},
        {"token of another user", STEPS({'t', "HSET %s uid 24"}), "gpt-4", "token_not_found", 0, NULL},
        {"token disabled", STEPS({'t', "HSET %s status 2"}), "gpt-4", "token_disabled", 0, NULL},
        {"token status expired", STEPS({'t', "HSET %s status 3"}), "gpt-4", "token_expired", 0, NULL},
        {"token status exhausted", STEPS({'t', "HSET %s status 4"}), "gpt-4", "token_exhausted", 0, NULL},
        {"token unknown status", STEPS({'t', "HSET %s status 9"}), "gpt-4", "token_disabled", 0, NULL},
        {"token past expiry", STEPS({'t', "HSET %s expired_time 1699999999"}), "gpt-4", "token_expired", 0, NULL},
        {"token remain 0", STEPS({'t', "HSET %s remain_quota 0"}), "gpt-4", "token_exhausted", 0, NULL},
        {"no user", STEPS({'u', "DEL %s"}), "gpt-4", "user_not_found", 0, NULL},
        {"user disabled", STEPS({'u', "HSET %s status 2"}), "gpt-4", "user_disabled", 0, NULL},
        {"model not in limits", STEPS({'t', "HSET %s model_limits_enabled 1 model_limits a,gpt-4o"}), "gpt-4", "model_not_allowed", 0, NULL},
        {"model limits empty", STEPS({'t', "HSET %s model_limits_enabled 1 model_limits ,"}), "gpt-4", "model_not_allowed", 0, NULL},
        {"user quota short", STEPS({'u', "HSET %s quota 99"}), "gpt-4", "user_quota_insufficient", 0, NULL},
        {"token quota short", STEPS({'t', "HSET %s remain_quota 99"}), "gpt-4", "token_quota_insufficient", 0, NULL},
        {"user rpm", STEPS({'u', "HSET %s rpm 2"}, {'U', "HSET %s w 28333333 req 2 tok 0"}), "gpt-4", "rate_limited", retry, "user_rpm"},
        {"user tpm", STEPS({'u', "HSET %s tpm 100"}, {'U', "HSET %s w 28333333 req 1 tok 51"}), "gpt-4", "rate_limited", retry, "user_tpm"},
        {"token rpm", STEPS({'t', "HSET %s rpm 1"}, {'T', "HSET %s w 28333333 req 1 tok 0"}), "gpt-4", "rate_limited", retry, "token_rpm"},
        {"token tpm", STEPS({'t', "HSET %s tpm 60"}, {'T', "HSET %s w 28333333 req 1 tok 11"}), "gpt-4", "rate_limited", retry, "token_tpm"},
        {"user concurrency", STEPS({'u', "HSET %s concurrency 2"}, {'c', "SET %s 2"}), "gpt-4", "concurrency_limited", 0, "user"},
        {"token concurrency", STEPS({'t', "HSET %s concurrency 1"}, {'C', "SET %s 1"}), "gpt-4", "concurrency_limited", 0, "token"},
    };
    static struct snap before;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        seed();
        apply(cases[i].setup);
        snapshot(&before);
        expect_refusal(authorize(cases[i].model, 100, 50, NOW), cases[i].reason, cases[i].retry,
                       cases[i].which);
        assert_unchanged(&before);
    }
}

static void test_authorize_passes(void **state)
{
    const struct {
        const char *name;
        const struct step *setup;
        const char *model;
        const char *group;
        long long token_left;
    } cases[] = {
        {"expires this very second", STEPS({'t', "HSET %s expired_time 1700000000"}), "gpt-4", "default", 400},
        {"model in limits (spaces trimmed)", STEPS({'t', "HSET %s model_limits_enabled 1 model_limits a,\tgpt-4\t,b"}), "gpt-4", "default", 400},
        {"limits disabled", STEPS({'t', "HSET %s model_limits_enabled 0 model_limits a"}), "gpt-4", "default", 400},
        {"token group wins", STEPS({'t', "HSET %s group vip"}, {'u', "HSET %s group svip"}), "gpt-4", "vip", 400},
        {"user group", STEPS({'u', "HSET %s group svip"}), "gpt-4", "svip", 400},
        {"quota exactly enough", STEPS({'u', "HSET %s quota 100"}, {'t', "HSET %s remain_quota 100"}), "gpt-4", "default", 0},
        {"unlimited token with no remain", STEPS({'t', "HSET %s unlimited_quota 1 remain_quota 0"}), "gpt-4", "default", -1},
        {"rpm not yet reached", STEPS({'u', "HSET %s rpm 2"}, {'U', "HSET %s w 28333333 req 1 tok 0"}), "gpt-4", "default", 400},
        {"stale window counts as empty", STEPS({'u', "HSET %s rpm 1 tpm 10"}, {'U', "HSET %s w 28333332 req 9 tok 900"}), "gpt-4", "default", 400},
        {"empty window admits a big request", STEPS({'u', "HSET %s tpm 10"}), "gpt-4", "default", 400},
        {"tpm exactly reached", STEPS({'u', "HSET %s tpm 100"}, {'U', "HSET %s w 28333333 req 1 tok 50"}), "gpt-4", "default", 400},
        {"concurrency below cap", STEPS({'u', "HSET %s concurrency 2"}, {'c', "SET %s 1"}), "gpt-4", "default", 400},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        seed();
        apply(cases[i].setup);
        redisReply *r = authorize(cases[i].model, 100, 50, NOW);
        assert_int_equal(el_int(r, 0), 1);
        assert_int_equal(el_int(r, 4), cases[i].token_left);
        assert_string_equal(el_str(r, 5), cases[i].group);
        freeReplyObject(r);
    }
    /* After the stale-window case the window was reset, not added to. */
    seed();
    limit_all();
    run("HSET %s w 28333332 req 9 tok 900", K_RLU);
    assert_int_equal(reserve(10, 7), 1);
    assert_int_equal(hnum(K_RLU, "w"), WIN);
    assert_int_equal(hnum(K_RLU, "req"), 1);
    assert_int_equal(hnum(K_RLU, "tok"), 7);
}

static void test_authorize_unlimited(void **state)
{
    run("HSET %s unlimited_quota 1 remain_quota 7", K_T);
    assert_int_equal(reserve(100, 50), 1);
    assert_int_equal(hnum(K_T, "remain_quota"), 7); /* untouched */
    assert_int_equal(hnum(K_T, "reserved"), 0);
    assert_int_equal(hnum(K_U, "quota"), 900); /* still reserved against the user */
    assert_int_equal(hnum(K_U, "reserved"), 100);
    assert_hstr(K_RES, "1", "23:105:100:1700000060000:50:28333333:1:0");
    /* The user's quota still bounds an unlimited token. */
    expect_refusal(authorize("gpt-4", 901, 0, NOW), "user_quota_insufficient", 0, NULL);
}

static void test_authorize_bad_args(void **state)
{
    char longm[300];
    const struct {
        int i;
        const char *v;
        const char *err;
    } cases[] = {
        {0, "0", "ERR_BAD_ARG uid"},         {0, "-1", "ERR_BAD_ARG uid"},
        {0, "abc", "ERR_BAD_ARG uid"},       {0, "", "ERR_BAD_ARG uid"},
        {0, "1e3", "ERR_BAD_ARG uid"},       {0, "12345678901234567", "ERR_BAD_ARG uid"},
        {1, "0", "ERR_BAD_ARG tid"},         {1, " 5", "ERR_BAD_ARG tid"},
        {2, "a,b", "ERR_BAD_ARG model"},     {2, longm, "ERR_BAD_ARG model"},
        {3, "-1", "ERR_BAD_ARG amount"},     {3, "1.5", "ERR_BAD_ARG amount"},
        {3, "1000000000000001", "ERR_BAD_ARG amount"},
        {4, "-5", "ERR_BAD_ARG est_tokens"}, {5, "0", "ERR_BAD_ARG ttl_ms"},
        {5, "86400001", "ERR_BAD_ARG ttl_ms"}, {6, "0", "ERR_BAD_ARG now_ms"},
        {6, "x", "ERR_BAD_ARG now_ms"},
    };
    static struct snap before;

    memset(longm, 'm', sizeof longm - 1);
    longm[sizeof longm - 1] = '\0';
    snapshot(&before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[7] = {"23", "105", "gpt-4", "100", "50", "60000", "1700000000000"};
        a[cases[i].i] = cases[i].v;
        expect_error(authorize_v(a), cases[i].err);
        assert_unchanged(&before);
    }
    /* Wrong KEYS or ARGV counts. */
    const char *few[] = {K_U, "23"};
    expect_error(script("authorize", 1, 2, few), "ERR_BAD_ARG keys");
    const char *many[18] = {K_U, K_T, K_RES, K_DL, K_SEQ, K_RLU, K_RLT, K_CCU, K_CCT,
                            "23", "105", "gpt-4", "100", "50", "60000", "1700000000000", "x|",
                            "y"};
    /* A ninth argument (the group) only goes with tid 0 (no token). */
    expect_error(script("authorize", 9, 18, many), "ERR_BAD_ARG group");
    const char *more[19] = {K_U, K_T, K_RES, K_DL, K_SEQ, K_RLU, K_RLT, K_CCU, K_CCT,
                            "23", "105", "gpt-4", "100", "50", "60000", "1700000000000", "x|",
                            "y", "z"};
    expect_error(script("authorize", 9, 19, more), "ERR_BAD_ARG argc");
    more[16] = "";
    expect_error(script("authorize", 9, 18, more), "ERR_BAD_ARG settings_ver");
    many[16] = "";
    expect_error(script("authorize", 9, 17, many), "ERR_BAD_ARG settings_ver");
    char longv[101];
    memset(longv, 'v', 100);
    longv[100] = '\0';
    many[16] = longv;
    expect_error(script("authorize", 9, 17, many), "ERR_BAD_ARG settings_ver");
    assert_unchanged(&before);
}

/* ARGV 8: the settings version the gateway cached the token's and user's
 * fields with. Another live value refuses, writing nothing; the same passes. */
static void test_authorize_settings_version(void **state)
{
    static struct snap before;
    const char *v[17] = {K_U, K_T, K_RES, K_DL, K_SEQ, K_RLU, K_RLT, K_CCU, K_CCT,
                         "23", "105", "gpt-4", "100", "50", "60000", "1700000000000", NULL};
    const struct {
        const char *name;
        const struct step *setup;
        const char *ver;
        int ok;
    } cases[] = {
        {"neither has sv", STEPS({'t', "HSET %s group g"}), "|", 1},
        {"both match", STEPS({'t', "HSET %s sv t1"}, {'u', "HSET %s sv u1"}), "t1|u1", 1},
        {"token changed", STEPS({'t', "HSET %s sv t2"}, {'u', "HSET %s sv u1"}), "t1|u1", 0},
        {"user changed", STEPS({'t', "HSET %s sv t1"}, {'u', "HSET %s sv u2"}), "t1|u1", 0},
        {"token sv appeared", STEPS({'t', "HSET %s sv t1"}), "|", 0},
        {"halves swapped", STEPS({'t', "HSET %s sv a"}, {'u', "HSET %s sv b"}), "b|a", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        seed();
        apply(cases[i].setup);
        v[16] = cases[i].ver;
        snapshot(&before);
        redisReply *r = script("authorize", 9, 17, v);
        if (cases[i].ok) {
            assert_int_equal(el_int(r, 0), 1);
            freeReplyObject(r);
        } else {
            expect_refusal(r, "settings_changed", 0, NULL);
            assert_unchanged(&before);
        }
    }
}

/* ---- settle ------------------------------------------------------------------------ */

static void test_settle_refund(void **state)
{
    limit_all();
    long long id = reserve(100, 50);
    redisReply *r = settle(id, 60, 80, NOW + 1500, "{\"ratio\":1.5}");

    assert_int_equal(r->elements, 6);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), 60);  /* charged */
    assert_int_equal(el_int(r, 2), 0);   /* shortfall */
    assert_int_equal(el_int(r, 3), 940); /* user left */
    assert_int_equal(el_int(r, 4), 440); /* token left */
    char lid[48];
    snprintf(lid, sizeof lid, "%s", el_str(r, 5));
    freeReplyObject(r);

    assert_int_equal(hnum(K_U, "quota"), 940);
    assert_int_equal(hnum(K_U, "reserved"), 0);
    assert_int_equal(hnum(K_U, "used_quota"), 60);
    assert_int_equal(hnum(K_U, "request_count"), 1);
    assert_int_equal(hnum(K_T, "remain_quota"), 440);
    assert_int_equal(hnum(K_T, "reserved"), 0);
    assert_int_equal(hnum(K_T, "used_quota"), 60);
    /* Back at 0 the in-flight counters are gone: nothing stays behind. */
    assert_int_equal(intcmd("EXISTS %s %s", K_CCU, K_CCT), 0);
    assert_int_equal(hnum(K_RLU, "tok"), 80); /* 50 estimated, 80 used */
    assert_int_equal(hnum(K_RLT, "tok"), 80);
    assert_int_equal(hnum(K_RLU, "req"), 1);
    assert_int_equal(intcmd("HLEN %s", K_RES), 0);
    assert_int_equal(intcmd("ZCARD %s", K_DL), 0);
    assert_int_equal(xlen(), 1);
    expect_last_entry((const char *const[]){
        "type", "consume", "uid", "23", "tid", "105", "cid", "3", "ts", "1700000001",
        "dq", "-60", "du", "60", "drc", "1", "dtr", "-60", "dtu", "60", "dcu", "60", "log", "2",
        "uname", "bob", "tname", "tk", "model", "gpt-4", "pt", "10", "ct", "20", "quota", "60",
        "stream", "1", "ut", "2", "group", "vip", "ip", "1.2.3.4", "rid", "req-1", "content", "",
        "other", "{\"ratio\":1.5}", "res", "1", NULL});
    redisReply *x = cmd("XREVRANGE %s + - COUNT 1", K_LED);
    assert_string_equal(x->element[0]->element[0]->str, lid);
    freeReplyObject(x);

    /* Settling again finds nothing and changes nothing (idempotent). */
    static struct snap before;
    snapshot(&before);
    expect_refusal(settle(id, 60, 80, NOW + 2000, ""), "reservation_not_found", 0, NULL);
    assert_unchanged(&before);
}

/* tid 0: a call without a token (the console's playground). Only the user's
 * checks, limits and quota apply; no token key is read or written (a
 * disabled, exhausted token of the same user changes nothing); the group is
 * the caller's; the log's token name is the caller's, and dtr/dtu are 0. */
static void test_no_token_round_trip(void **state)
{
    char nb[8][24];
    int nn = 0;
    run("HSET %s rpm 1000 tpm 1000000 concurrency 100", K_U);
    run("HSET %s status 2 remain_quota 0", K_T); /* another token's state is irrelevant */
    run("HSET %s sv s1", K_U);
    const char *a[18] = {K_U, K_T0, K_RES, K_DL, K_SEQ, K_RLU, K_RLT, K_CCU, K_CCT,
                         "23", "0", "gpt-4", "100", "50", "60000", NUMS(NOW), "|s1", "vip"};
    redisReply *r = script("authorize", 9, 18, a);
    assert_int_equal(el_int(r, 0), 1);
    long long id = el_int(r, 1);
    assert_int_equal(el_int(r, 3), 900); /* user left */
    assert_int_equal(el_int(r, 4), -1);  /* no token budget */
    assert_string_equal(el_str(r, 5), "vip");
    freeReplyObject(r);
    assert_int_equal(intcmd("EXISTS %s", K_T0), 0);
    assert_int_equal(hnum(K_U, "reserved"), 100);
    assert_int_equal(getnum(K_CCU), 1);

    /* A stale user settings version is refused, writing nothing. */
    a[16] = "|old";
    expect_refusal(script("authorize", 9, 18, a), "settings_changed", 0, NULL);
    a[16] = "|s1";

    /* extend grows it from the user's quota alone */
    const char *e[10] = {K_U, K_T0, K_RES, K_DL, "23", "0", NUMS(id), "40", "60000", NUMS(NOW)};
    r = script("extend", 4, 10, e);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), 140);
    freeReplyObject(r);

    /* settle without the token name is refused; with it, charged to the user */
    const char *v[27] = {K_U, K_T0, K_RES, K_DL, K_LED, K_RLU, K_RLT, K_CCU, K_CCT,
                         "23", "0", NUMS(id), "70", "80", NUMS(NOW + 1000), "3", "gpt-4", "10",
                         "20", "1", "2", "vip", "1.2.3.4", "req-1", "", "", "playground-vip"};
    expect_error(script("settle", 9, 26, v), "ERR_BAD_ARG tid");
    r = script("settle", 9, 27, v);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), 70);
    assert_int_equal(el_int(r, 3), 930);
    freeReplyObject(r);
    assert_int_equal(hnum(K_U, "quota"), 930);
    assert_int_equal(hnum(K_U, "reserved"), 0);
    assert_int_equal(hnum(K_U, "used_quota"), 70);
    assert_int_equal(intcmd("EXISTS %s %s", K_T0, K_CCU), 0);
    assert_int_equal(hnum(K_T, "used_quota"), 0);
    expect_last_entry((const char *const[]){
        "type", "consume", "uid", "23", "tid", "0", "cid", "3", "ts", "1700000001",
        "dq", "-70", "du", "70", "drc", "1", "dtr", "0", "dtu", "0", "dcu", "70", "log", "2",
        "uname", "bob", "tname", "playground-vip", "model", "gpt-4", "pt", "10", "ct", "20",
        "quota", "70", "stream", "1", "ut", "2", "group", "vip", "ip", "1.2.3.4", "rid",
        "req-1", "content", "", "other", "", "res", NUMS(id), NULL});
    /* A token id with a token name is refused as well. */
    v[10] = "105";
    expect_error(script("settle", 9, 27, v), "ERR_BAD_ARG tid");
}

static void test_settle_extra_and_zero(void **state)
{
    limit_all();
    long long id = reserve(100, 50);
    redisReply *r = settle(id, 150, 50, NOW, "");

    assert_int_equal(el_int(r, 1), 150);
    assert_int_equal(el_int(r, 2), 0);
    assert_int_equal(el_int(r, 3), 850);
    assert_int_equal(el_int(r, 4), 350);
    freeReplyObject(r);
    assert_int_equal(hnum(K_U, "quota"), 850);
    assert_int_equal(hnum(K_U, "used_quota"), 150);

    /* A zero cost still records the request. */
    id = reserve(100, 50);
    r = settle(id, 0, 0, NOW, "");
    assert_int_equal(el_int(r, 1), 0);
    freeReplyObject(r);
    assert_int_equal(hnum(K_U, "quota"), 850);
    assert_int_equal(hnum(K_U, "request_count"), 2);
    assert_int_equal(hnum(K_RLU, "tok"), 50); /* 50 + 50 estimated, then -50 */
    assert_int_equal(xlen(), 2);
    expect_last_entry((const char *const[]){
        "type", "consume", "uid", "23", "tid", "105", "cid", "3", "ts", "1700000000",
        "dq", "0", "du", "0", "drc", "1", "dtr", "0", "dtu", "0", "dcu", "0", "log", "2",
        "uname", "bob", "tname", "tk", "model", "gpt-4", "pt", "10", "ct", "20", "quota", "0",
        "stream", "1", "ut", "2", "group", "vip", "ip", "1.2.3.4", "rid", "req-1", "content", "",
        "other", "", "res", "2", NULL});
}

static void test_settle_shortfall(void **state)
{
    const struct {
        const char *name;
        const struct step *setup;
        const char *other, *want_other;
        long long charged, shortfall, user_left, token_left;
    } cases[] = {
        {"user budget", STEPS({'u', "HSET %s quota 120"}), "{\"a\":1}",
         "{\"a\":1,\"shortfall\":30}", 120, 30, 0, 380},
        {"user budget, empty other", STEPS({'u', "HSET %s quota 100"}), "", "{\"shortfall\":50}",
         100, 50, 0, 400},
        {"user budget, {}", STEPS({'u', "HSET %s quota 100"}), " { } ", "{\"shortfall\":50}",
         100, 50, 0, 400},
        {"token budget", STEPS({'t', "HSET %s remain_quota 110"}), "{\"a\":[1,2]}\n",
         "{\"a\":[1,2],\"shortfall\":40}", 110, 40, 890, 0},
        {"unlimited token: user budget only", STEPS({'t', "HSET %s unlimited_quota 1 remain_quota 0"}, {'u', "HSET %s quota 130"}),
         "", "{\"shortfall\":20}", 130, 20, 0, -1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        seed();
        apply(cases[i].setup);
        long long id = reserve(100, 50);
        redisReply *r = settle(id, 150, 50, NOW, cases[i].other);
        assert_int_equal(el_int(r, 0), 1);
        assert_int_equal(el_int(r, 1), cases[i].charged);
        assert_int_equal(el_int(r, 2), cases[i].shortfall);
        assert_int_equal(el_int(r, 3), cases[i].user_left);
        assert_int_equal(el_int(r, 4), cases[i].token_left);
        freeReplyObject(r);
        assert_int_equal(hnum(K_U, "quota"), cases[i].user_left);
        assert_int_equal(hnum(K_U, "reserved"), 0);
        assert_int_equal(hnum(K_U, "used_quota"), cases[i].charged);
        assert_int_equal(hnum(K_T, "used_quota"), cases[i].charged);
        redisReply *x = cmd("XREVRANGE %s + - COUNT 1", K_LED);
        redisReply *f = x->element[0]->element[1];
        assert_string_equal(f->element[f->elements - 3]->str, cases[i].want_other);
        char dq[24];
        snprintf(dq, sizeof dq, "%lld", -cases[i].charged);
        assert_string_equal(f->element[11]->str, dq);
        assert_string_equal(f->element[17]->str, cases[i].token_left == -1 ? "0" : dq); /* dtr */
        freeReplyObject(x);
    }
}

static void test_settle_unlimited(void **state)
{
    run("HSET %s unlimited_quota 1 remain_quota 0", K_T);
    long long id = reserve(100, 50);
    redisReply *r = settle(id, 70, 50, NOW, "");

    assert_int_equal(el_int(r, 4), -1);
    freeReplyObject(r);
    assert_int_equal(hnum(K_T, "remain_quota"), 0);
    assert_int_equal(hnum(K_T, "used_quota"), 70); /* every charge is recorded */
    assert_int_equal(hnum(K_U, "quota"), 930);
    expect_last_entry((const char *const[]){
        "type", "consume", "uid", "23", "tid", "105", "cid", "3", "ts", "1700000000",
        "dq", "-70", "du", "70", "drc", "1", "dtr", "0", "dtu", "70", "dcu", "70", "log", "2",
        "uname", "bob", "tname", "tk", "model", "gpt-4", "pt", "10", "ct", "20", "quota", "70",
        "stream", "1", "ut", "2", "group", "vip", "ip", "1.2.3.4", "rid", "req-1", "content", "",
        "other", "", "res", "1", NULL});
}

static void test_settle_window_moved_on(void **state)
{
    limit_all();
    long long id = reserve(100, 50);

    /* Settled in the next minute: the old window limits nothing, leave it. */
    redisReply *r = settle(id, 100, 500, NOW + 60000, "");
    assert_int_equal(el_int(r, 0), 1);
    freeReplyObject(r);
    assert_int_equal(hnum(K_RLU, "w"), WIN);
    assert_int_equal(hnum(K_RLU, "tok"), 50);
    /* Fewer tokens than estimated never drive a window below 0. */
    run("HSET %s w 28333333 tok 10", K_RLU);
    id = reserve(100, 50);
    r = settle(id, 100, 0, NOW, "");
    freeReplyObject(r);
    assert_int_equal(hnum(K_RLU, "tok"), 10); /* 60 - 50 */
    run("HSET %s tok 5", K_RLU);
    id = reserve(100, 50);
    run("HSET %s tok 20", K_RLU);
    r = settle(id, 100, 0, NOW, "");
    freeReplyObject(r);
    assert_int_equal(hnum(K_RLU, "tok"), 0);
}

static void test_settle_bad_args(void **state)
{
    char big[4200];
    const struct {
        int i;
        const char *v;
        const char *err;
    } cases[] = {
        {0, "0", "ERR_BAD_ARG uid"},          {1, "x", "ERR_BAD_ARG tid"},
        {2, "0", "ERR_BAD_ARG res_id"},       {3, "-1", "ERR_BAD_ARG actual"},
        {4, "-1", "ERR_BAD_ARG actual_tokens"}, {5, "", "ERR_BAD_ARG now_ms"},
        {6, "-1", "ERR_BAD_ARG cid"},         {7, big, "ERR_BAD_ARG model"},
        {8, "-1", "ERR_BAD_ARG pt"},          {9, "a", "ERR_BAD_ARG ct"},
        {10, "2", "ERR_BAD_ARG stream"},      {11, "-1", "ERR_BAD_ARG ut"},
        {12, big, "ERR_BAD_ARG group"},       {13, big, "ERR_BAD_ARG ip"},
        {14, big, "ERR_BAD_ARG rid"},         {15, big, "ERR_BAD_ARG content"},
        {16, "not json", "ERR_BAD_ARG other"}, {16, "[1,2]", "ERR_BAD_ARG other"},
        {16, "{\"a\":", "ERR_BAD_ARG other"}, {16, "\"s\"", "ERR_BAD_ARG other"},
        {1, "106", "ERR_BAD_ARG reservation owner"},
    };
    static struct snap before;

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(reserve(100, 50), 1);
    snapshot(&before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[17] = {"23", "105", "1", "60", "80", "1700000000000", "3", "gpt-4", "10",
                             "20", "1", "2", "vip", "1.2.3.4", "req-1", "", "{}"};
        a[cases[i].i] = cases[i].v;
        print_message("case: arg %d\n", cases[i].i);
        expect_error(settle_v(a), cases[i].err);
        assert_unchanged(&before);
    }
    const char *few[] = {K_U, "23"};
    expect_error(script("settle", 1, 2, few), "ERR_BAD_ARG keys");
    const char *a16[25] = {K_U, K_T, K_RES, K_DL, K_LED, K_RLU, K_RLT, K_CCU, K_CCT};
    for (int i = 9; i < 25; i++)
        a16[i] = "1";
    expect_error(script("settle", 9, 25, a16), "ERR_BAD_ARG argc");
    /* A corrupt reservation record is an error, not a guess. */
    const char *corrupt[] = {"garbage", "23:105:100:1700000060000:50:28333333:0:16",
                             "23:105:100:1700000060000:50:28333333:0:x",
                             "23:105:100:1700000060000:50:28333333:0:-1",
                             "23:105:100:1700000060000:50:28333333:0:1.5",
                             "23:105:100:1700000060000:50:28333333:0:0:0",
                             "23:105:100:1700000060000:50:28333333"};
    for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++) {
        print_message("case: record %s\n", corrupt[i]);
        run("HSET %s 1 %s", K_RES, corrupt[i]);
        snapshot(&before);
        redisReply *r = settle(1, 60, 80, NOW, "");
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        assert_string_equal(r->str, "ERR_CORRUPT reservation 1");
        freeReplyObject(r);
        assert_unchanged(&before);
    }
}

static redisReply *extend(long long id, long long extra, long long ttl, long long now);
static long long reap_n(long long now, long long max);

/* ---- limits: counted only when set ---------------------------------------------------- */

/* Each limit makes authorize count the request in that subject's window or
 * in-flight counter, and nothing else; settle undoes exactly what was counted. */
static void test_limits_counted_only_when_set(void **state)
{
    const struct {
        const char *name;
        const struct step *setup;
        const char *flags;
        int rlu, rlt, ccu, cct; /* 1: the key exists after authorize */
    } cases[] = {
        {"no limits", NULL, "0", 0, 0, 0, 0},
        {"user rpm", STEPS({'u', "HSET %s rpm 5"}), "1", 1, 0, 0, 0},
        {"user tpm", STEPS({'u', "HSET %s tpm 500"}), "1", 1, 0, 0, 0},
        {"token rpm", STEPS({'t', "HSET %s rpm 5"}), "2", 0, 1, 0, 0},
        {"token tpm", STEPS({'t', "HSET %s tpm 500"}), "2", 0, 1, 0, 0},
        {"user concurrency", STEPS({'u', "HSET %s concurrency 3"}), "4", 0, 0, 1, 0},
        {"token concurrency", STEPS({'t', "HSET %s concurrency 3"}), "8", 0, 0, 0, 1},
        {"user all", STEPS({'u', "HSET %s rpm 5 tpm 500 concurrency 3"}), "5", 1, 0, 1, 0},
        {"token all", STEPS({'t', "HSET %s rpm 5 tpm 500 concurrency 3"}), "10", 0, 1, 0, 1},
        {"negative limits are none", STEPS({'u', "HSET %s rpm -1 tpm -1 concurrency -1"}), "0",
         0, 0, 0, 0},
        {"fields absent", STEPS({'u', "HDEL %s rpm tpm concurrency"},
                                {'t', "HDEL %s rpm tpm concurrency"}), "0", 0, 0, 0, 0},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[80];
        print_message("case: %s\n", cases[i].name);
        seed();
        apply(cases[i].setup);
        long long id = reserve(100, 50);
        snprintf(want, sizeof want, "23:105:100:1700000060000:50:28333333:0:%s", cases[i].flags);
        assert_hstr(K_RES, "1", want);
        assert_int_equal(intcmd("EXISTS %s", K_RLU), cases[i].rlu);
        assert_int_equal(intcmd("EXISTS %s", K_RLT), cases[i].rlt);
        assert_int_equal(intcmd("EXISTS %s", K_CCU), cases[i].ccu);
        assert_int_equal(intcmd("EXISTS %s", K_CCT), cases[i].cct);
        if (cases[i].rlu)
            assert_int_equal(hnum(K_RLU, "req"), 1);
        if (cases[i].ccu)
            assert_int_equal(getnum(K_CCU), 1);

        redisReply *r = settle(id, 60, 80, NOW + 1000, "");
        assert_int_equal(el_int(r, 0), 1);
        freeReplyObject(r);
        /* Counters back to 0, windows corrected by 80 - 50; nothing new created. */
        assert_int_equal(intcmd("EXISTS %s", K_CCU), 0); /* released: back at 0, deleted */
        assert_int_equal(intcmd("EXISTS %s", K_CCT), 0);
        assert_int_equal(hnum(K_RLU, "tok"), cases[i].rlu ? 80 : LLONG_MIN);
        assert_int_equal(hnum(K_RLT, "tok"), cases[i].rlt ? 80 : LLONG_MIN);
        assert_int_equal(hnum(K_U, "quota"), 940);
        assert_int_equal(hnum(K_U, "reserved"), 0);
        assert_int_equal(hnum(K_U, "used_quota"), 60);
        assert_int_equal(hnum(K_U, "request_count"), 1);
        assert_int_equal(hnum(K_T, "remain_quota"), 440);
        assert_int_equal(hnum(K_T, "reserved"), 0);
        assert_int_equal(hnum(K_T, "used_quota"), 60);
    }
}

/* A limit set while requests are in flight counts only the requests authorized
 * from then on: settling an earlier request neither releases a slot it never
 * took nor corrects a window it was never counted in. */
static void test_limit_set_in_flight(void **state)
{
    long long early = reserve(100, 50); /* flags 0 */

    run("HSET %s concurrency 1 tpm 1000", K_U);
    run("HSET %s concurrency 1", K_T);
    long long late = reserve(100, 50);
    assert_hstr(K_RES, "2", "23:105:100:1700000060000:50:28333333:0:13"); /* 1 + 4 + 8 */
    assert_int_equal(getnum(K_CCU), 1);
    assert_int_equal(getnum(K_CCT), 1);
    assert_int_equal(hnum(K_RLU, "tok"), 50);
    assert_int_equal(intcmd("EXISTS %s", K_RLT), 0);
    expect_refusal(authorize("gpt-4", 100, 50, NOW), "concurrency_limited", 0, "user");

    redisReply *r = settle(early, 10, 500, NOW, "");
    assert_int_equal(el_int(r, 0), 1);
    freeReplyObject(r);
    assert_int_equal(getnum(K_CCU), 1); /* still held by the late request */
    assert_int_equal(getnum(K_CCT), 1);
    assert_int_equal(hnum(K_RLU, "tok"), 50);
    expect_refusal(authorize("gpt-4", 100, 50, NOW), "concurrency_limited", 0, "user");

    r = settle(late, 10, 80, NOW, "");
    assert_int_equal(el_int(r, 0), 1);
    freeReplyObject(r);
    assert_int_equal(intcmd("EXISTS %s", K_CCU), 0);
    assert_int_equal(intcmd("EXISTS %s", K_CCT), 0);
    assert_int_equal(hnum(K_RLU, "tok"), 80);
    assert_int_equal(reserve(100, 50), 3);
}

/* A limit removed while requests are in flight: what was counted is still
 * released, and the counter never goes below 0. */
static void test_limit_removed_in_flight(void **state)
{
    run("HSET %s concurrency 1", K_U);
    long long a = reserve(100, 50); /* flags 4 */
    run("HSET %s concurrency 0", K_U);
    long long b = reserve(100, 50); /* flags 0: not counted */
    assert_hstr(K_RES, "2", "23:105:100:1700000060000:50:28333333:0:0");
    assert_int_equal(getnum(K_CCU), 1);

    redisReply *r = settle(a, 10, 50, NOW, "");
    freeReplyObject(r);
    assert_int_equal(intcmd("EXISTS %s", K_CCU), 0);
    r = settle(b, 10, 50, NOW, "");
    assert_int_equal(el_int(r, 0), 1);
    freeReplyObject(r);
    assert_int_equal(intcmd("EXISTS %s", K_CCU), 0);
    /* The cap back on: the counter is right, one request is admitted. */
    run("HSET %s concurrency 1", K_U);
    reserve(100, 50);
    expect_refusal(authorize("gpt-4", 100, 50, NOW), "concurrency_limited", 0, "user");
}

/* Reservations written before flags existed ("...:window:unlimited", 7 fields)
 * were counted everywhere: settle and reap release both counters and settle
 * corrects both windows, still never below 0; extend keeps 7 fields. */
static void test_old_records(void **state)
{
    /* Two old reservations of 100 in flight; the token's counter was lost. */
    run("HSET %s quota 800 reserved 200", K_U);
    run("HSET %s remain_quota 300 reserved 200", K_T);
    run("HSET %s 1 23:105:100:1700000060000:50:28333333:0 2 23:105:100:1700000060000:50:28333333:0",
        K_RES);
    run("ZADD %s 1700000060000 1 1700000060000 2", K_DL);
    run("SET %s 2", K_CCU);
    run("HSET %s w 28333333 req 2 tok 100", K_RLU);
    run("SET %s 2", K_SEQ);

    redisReply *r = settle(1, 60, 80, NOW + 1000, "");
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), 60);
    assert_int_equal(el_int(r, 3), 840);
    assert_int_equal(el_int(r, 4), 340);
    freeReplyObject(r);
    assert_int_equal(getnum(K_CCU), 1);
    assert_int_equal(intcmd("EXISTS %s", K_CCT), 0); /* GET nil: nothing to release */
    assert_int_equal(hnum(K_RLU, "tok"), 130);
    assert_int_equal(intcmd("EXISTS %s", K_RLT), 0); /* no current window: left alone */
    assert_int_equal(hnum(K_U, "reserved"), 100);
    assert_int_equal(hnum(K_T, "reserved"), 100);

    /* extend rewrites the record in its own format. */
    r = extend(2, 10, 1000, NOW + 2000);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), 110);
    freeReplyObject(r);
    assert_hstr(K_RES, "2", "23:105:110:1700000060000:50:28333333:0");

    run("SET %s 0", K_CCU); /* lost too: the reaper must not go below 0 */
    assert_int_equal(reap_n(NOW + 60001, 100), 1);
    assert_int_equal(getnum(K_CCU), 0);
    assert_int_equal(intcmd("EXISTS %s", K_CCT), 0);
    assert_int_equal(hnum(K_U, "quota"), 840 + 100);
    assert_int_equal(hnum(K_U, "reserved"), 0);
    assert_int_equal(hnum(K_T, "remain_quota"), 340 + 100);
    assert_int_equal(hnum(K_T, "reserved"), 0);
    assert_int_equal(intcmd("HLEN %s", K_RES), 0);

    /* An old record with a counter still held: reap releases it. */
    run("HSET %s 3 23:105:10:1700000060000:5:28333333:1", K_RES);
    run("ZADD %s 1700000060000 3", K_DL);
    run("HINCRBY %s quota -10", K_U);
    run("HINCRBY %s reserved 10", K_U);
    run("SET %s 1", K_CCT);
    assert_int_equal(reap_n(NOW + 60001, 100), 1);
    assert_int_equal(intcmd("EXISTS %s", K_CCT), 0);
    assert_int_equal(hnum(K_U, "quota"), 940);
    assert_int_equal(hnum(K_T, "remain_quota"), 440); /* unlimited: not credited */
}

/* The reaper releases only the counters a new-format record names. */
static void test_reap_flags(void **state)
{
    run("HSET %s concurrency 5", K_T);
    reserve(100, 50); /* flags 8 */
    run("SET %s 3", K_CCU); /* someone else's slots: not this request's */
    assert_int_equal(reap_n(NOW + 60001, 100), 1);
    assert_int_equal(intcmd("EXISTS %s", K_CCT), 0); /* back at 0: deleted */
    assert_int_equal(getnum(K_CCU), 3);
    assert_int_equal(hnum(K_U, "quota"), 1000);
    assert_int_equal(hnum(K_T, "remain_quota"), 500);
}

/* Commands run since CONFIG RESETSTAT (INFO commandstats), not counting
 * EVALSHA itself and the CONFIG/INFO calls of the test. */
static long long commands_run(void)
{
    redisReply *r = cmd("INFO commandstats");
    long long n = 0;

    assert_int_equal(r->type, REDIS_REPLY_STRING);
    for (const char *p = r->str; (p = strstr(p, "cmdstat_")) != NULL; p++) {
        const char *c = strstr(p, ":calls=");
        if (c == NULL)
            break;
        if (strncmp(p, "cmdstat_evalsha:", 16) != 0 && strncmp(p, "cmdstat_config", 14) != 0 &&
            strncmp(p, "cmdstat_info:", 13) != 0)
            n += strtoll(c + 7, NULL, 10);
    }
    freeReplyObject(r);
    return n;
}

/* The common request, with no limits anywhere, is cheap: authorize is HMGET
 * token, HMGET user, INCR resseq, HSET user, HSET token, HSET res, ZADD resdl;
 * settle is HGET res, HMGET user, HMGET token, HSET user, HSET token, HDEL,
 * ZREM, XADD. Regression guard for the benchmark's Redis cost. */
static void test_unlimited_request_is_cheap(void **state)
{
    run("CONFIG RESETSTAT");
    long long id = reserve(100, 50);
    assert_int_equal(commands_run(), 7);
    run("CONFIG RESETSTAT");
    redisReply *r = settle(id, 60, 80, NOW, "");
    assert_int_equal(el_int(r, 0), 1);
    freeReplyObject(r);
    assert_int_equal(commands_run(), 8);
}

/* ---- extend ------------------------------------------------------------------------- */

static redisReply *extend(long long id, long long extra, long long ttl, long long now)
{
    char nb[8][24];
    int nn = 0;
    const char *a[6] = {"23", "105", NUMS(id), NUMS(extra), NUMS(ttl), NUMS(now)};

    return extend_v(a);
}

static void test_extend(void **state)
{
    long long id = reserve(100, 50);
    redisReply *r = extend(id, 50, 120000, NOW + 1000);

    assert_int_equal(r->elements, 5);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), 150);
    assert_int_equal(el_int(r, 2), NOW + 121000);
    assert_int_equal(el_int(r, 3), 850);
    assert_int_equal(el_int(r, 4), 350);
    freeReplyObject(r);
    assert_int_equal(hnum(K_U, "quota"), 850);
    assert_int_equal(hnum(K_U, "reserved"), 150);
    assert_int_equal(hnum(K_T, "remain_quota"), 350);
    assert_int_equal(hnum(K_T, "reserved"), 150);
    assert_hstr(K_RES, "1", "23:105:150:1700000121000:50:28333333:0:0");
    redisReply *z = cmd("ZSCORE %s 1", K_DL);
    assert_string_equal(z->str, "1700000121000");
    freeReplyObject(z);

    /* A shorter ttl never pulls the deadline in; extra 0 is allowed. */
    r = extend(id, 0, 1, NOW + 2000);
    assert_int_equal(el_int(r, 1), 150);
    assert_int_equal(el_int(r, 2), NOW + 121000);
    freeReplyObject(r);

    /* Settling the grown reservation at its full size refunds nothing. */
    r = settle(id, 150, 50, NOW + 3000, "");
    assert_int_equal(el_int(r, 1), 150);
    assert_int_equal(el_int(r, 3), 850);
    freeReplyObject(r);
    assert_int_equal(hnum(K_U, "reserved"), 0);
    assert_int_equal(hnum(K_T, "reserved"), 0);
}

static void test_extend_refusals(void **state)
{
    const struct {
        const char *name;
        const struct step *setup;
        long long extra;
        const char *reason;
    } cases[] = {
        {"user quota", STEPS({'u', "HSET %s quota 0"}), 50, "user_quota_insufficient"},
        {"user quota below 0", STEPS({'u', "HSET %s quota -5"}), 50, "user_quota_insufficient"},
        {"token quota", STEPS({'t', "HSET %s remain_quota 0"}), 50, "token_quota_insufficient"},
        {"gone", STEPS({'u', "HSET %s quota 900"}), -1, "reservation_not_found"},
    };
    static struct snap before;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case: %s\n", cases[i].name);
        seed();
        long long id = reserve(100, 50);
        apply(cases[i].setup);
        snapshot(&before);
        if (cases[i].extra < 0)
            expect_refusal(extend(id + 1, 10, 1000, NOW), cases[i].reason, 0, NULL);
        else
            expect_refusal(extend(id, cases[i].extra, 1000, NOW), cases[i].reason, 0, NULL);
        assert_unchanged(&before);
    }
    /* What is left, when it is less than asked: the user's, or the token's. */
    const struct {
        const char *set;
        char who;
        long long granted, user_left, token_left;
    } partial[] = {
        {"HSET %s quota 49", 'u', 49, 0, 351},
        {"HSET %s remain_quota 30", 't', 30, 870, 0},
    };
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
        seed();
        long long pid = reserve(100, 50);
        run(partial[i].set, partial[i].who == 'u' ? K_U : K_T);
        redisReply *pr = extend(pid, 50, 1000, NOW);
        assert_int_equal(el_int(pr, 0), 1);
        assert_int_equal(el_int(pr, 1), 100 + partial[i].granted);
        assert_int_equal(el_int(pr, 3), partial[i].user_left);
        assert_int_equal(el_int(pr, 4), partial[i].token_left);
        freeReplyObject(pr);
        assert_int_equal(hnum(K_U, "reserved"), 100 + partial[i].granted);
        assert_int_equal(hnum(K_T, "reserved"), 100 + partial[i].granted);
        /* Spent: the next ask is refused and writes nothing. */
        snapshot(&before);
        expect_refusal(extend(pid, 50, 1000, NOW),
                       partial[i].who == 'u' ? "user_quota_insufficient"
                                             : "token_quota_insufficient", 0, NULL);
        assert_unchanged(&before);
    }
    /* An unlimited token only needs the user's quota. */
    seed();
    run("HSET %s unlimited_quota 1 remain_quota 0", K_T);
    long long id = reserve(100, 50);
    redisReply *r = extend(id, 900, 1000, NOW);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 3), 0);
    assert_int_equal(el_int(r, 4), -1);
    freeReplyObject(r);
    assert_int_equal(hnum(K_T, "remain_quota"), 0);
    expect_refusal(extend(id, 1, 1000, NOW), "user_quota_insufficient", 0, NULL);
}

static void test_extend_bad_args(void **state)
{
    const struct {
        int i;
        const char *v;
        const char *err;
    } cases[] = {
        {0, "0", "ERR_BAD_ARG uid"},   {1, "-2", "ERR_BAD_ARG tid"},
        {2, "x", "ERR_BAD_ARG res_id"}, {3, "-1", "ERR_BAD_ARG extra"},
        {4, "0", "ERR_BAD_ARG ttl_ms"}, {5, "0", "ERR_BAD_ARG now_ms"},
        {0, "24", "ERR_BAD_ARG reservation owner"},
    };
    static struct snap before;

    assert_int_equal(reserve(100, 50), 1);
    snapshot(&before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[6] = {"23", "105", "1", "10", "1000", "1700000000000"};
        a[cases[i].i] = cases[i].v;
        expect_error(extend_v(a), cases[i].err);
        assert_unchanged(&before);
    }
    const char *few[] = {K_U, "23"};
    expect_error(script("extend", 1, 2, few), "ERR_BAD_ARG keys");
    const char *seven[] = {K_U, K_T, K_RES, K_DL, "23", "105", "1", "10", "1000", "1", "x"};
    expect_error(script("extend", 4, 11, seven), "ERR_BAD_ARG argc");
    const char *a[6] = {"23", "105", "1", "10", "1000", "1700000000000"};
    const char *corrupt[] = {"1:2:3", "23:105:100:1700000060000:50:28333333:0:16",
                             "23:105:100:1700000060000:50:28333333:0:0:0"};
    for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++) {
        run("HSET %s 1 %s", K_RES, corrupt[i]);
        snapshot(&before);
        expect_error(extend_v(a), "ERR_CORRUPT reservation 1");
        assert_unchanged(&before);
    }
}

/* ---- adjust -------------------------------------------------------------------------- */

static redisReply *adjust(const char *op, long long tid, long long value, const char *opid,
                          const char *content, const char *code)
{
    char nb[8][24];
    int nn = 0;
    const char *a[8] = {op, "23", NUMS(tid), NUMS(value), opid, "1700000000000", content, code};

    return adjust_v(tid ? K_T : K_T0, a);
}

static void expect_adjust(redisReply *r, long long delta, long long newv, long long replay)
{
    assert_int_equal(r->elements, 4);
    assert_int_equal(el_int(r, 0), 1);
    assert_int_equal(el_int(r, 1), delta);
    assert_int_equal(el_int(r, 2), newv);
    assert_int_equal(el_int(r, 3), replay);
    freeReplyObject(r);
}

static void test_adjust_user(void **state)
{
    reserve(100, 50); /* in flight: quota 900, reserved 100 */

    /* Set: the SQL-visible 1000 becomes 5000; the reservation stays. */
    expect_adjust(adjust("user_set", 0, 5000, "op-1", "set to 5000", ""), 4000, 4900, 0);
    assert_int_equal(hnum(K_U, "quota"), 4900);
    assert_int_equal(hnum(K_U, "reserved"), 100);
    expect_last_entry((const char *const[]){
        "type", "manage", "uid", "23", "tid", "0", "cid", "0", "ts", "1700000000",
        "dq", "4000", "du", "0", "drc", "0", "dtr", "0", "dtu", "0", "dcu", "0", "log", "3",
        "uname", "bob", "tname", "", "model", "", "pt", "0", "ct", "0", "quota", "4000",
        "stream", "0", "ut", "0", "group", "", "ip", "", "rid", "", "content", "set to 5000",
        "other", "", "op", "op-1", NULL});
    /* Below what is in flight: quota goes negative, the reservation survives. */
    expect_adjust(adjust("user_set", 0, 40, "op-2", "", ""), -4960, -60, 0);
    assert_int_equal(hnum(K_U, "reserved"), 100);
    expect_adjust(adjust("user_add", 0, -40, "op-3", "", ""), -40, -100, 0);
    expect_adjust(adjust("user_add", 0, 1100, "op-4", "", ""), 1100, 1000, 0);
    expect_adjust(adjust("topup", 0, 500, "op-5", "paid 1$", ""), 500, 1500, 0);
    expect_last_entry((const char *const[]){
        "type", "topup", "uid", "23", "tid", "0", "cid", "0", "ts", "1700000000",
        "dq", "500", "du", "0", "drc", "0", "dtr", "0", "dtu", "0", "dcu", "0", "log", "1",
        "uname", "bob", "tname", "", "model", "", "pt", "0", "ct", "0", "quota", "500",
        "stream", "0", "ut", "0", "group", "", "ip", "", "rid", "", "content", "paid 1$",
        "other", "", "op", "op-5", NULL});
    expect_adjust(adjust("redeem", 0, 250, "op-6", "", "CODE-42"), 250, 1750, 0);
    expect_last_entry((const char *const[]){
        "type", "redeem", "uid", "23", "tid", "0", "cid", "0", "ts", "1700000000",
        "dq", "250", "du", "0", "drc", "0", "dtr", "0", "dtu", "0", "dcu", "0", "log", "1",
        "uname", "bob", "tname", "", "model", "", "pt", "0", "ct", "0", "quota", "250",
        "stream", "0", "ut", "0", "group", "", "ip", "", "rid", "",
        "content", "redemption code CODE-42: +250", "other", "{\"code\":\"CODE-42\"}",
        "op", "op-6", NULL});
    assert_int_equal(xlen(), 6);
    assert_int_equal(hnum(K_U, "quota"), 1750);

    /* Replays return the first result and write nothing. */
    static struct snap before;
    snapshot(&before);
    expect_adjust(adjust("user_set", 0, 5000, "op-1", "set to 5000", ""), 4000, 4900, 1);
    expect_adjust(adjust("redeem", 0, 250, "op-6", "other text", "CODE-42"), 250, 1750, 1);
    assert_unchanged(&before);
    expect_error(adjust("user_set", 0, 5001, "op-1", "", ""),
                 "ERR_BAD_ARG op_id reused with other arguments");
    expect_error(adjust("topup", 0, 4000, "op-1", "", ""),
                 "ERR_BAD_ARG op_id reused with other arguments");
    assert_unchanged(&before);
}

/* One bound, inclusive: a balance may reach exactly +-1e15 (GW_LEDGER_QUOTA_MAX)
 * and no further, whatever the op; a refusal writes nothing. */
static void test_adjust_quota_bound(void **state)
{
    static struct snap before;
    const long long M = 1000000000000000LL;
    /* seed: quota 1000, nothing reserved. */
    expect_adjust(adjust("user_add", 0, M - 1000, "b-1", "", ""), M - 1000, M, 0);
    snapshot(&before);
    expect_refusal(adjust("user_add", 0, 1, "b-2", "", ""), "quota_out_of_range", 0, NULL);
    expect_refusal(adjust("topup", 0, 1, "b-3", "", ""), "quota_out_of_range", 0, NULL);
    expect_refusal(adjust("redeem", 0, M, "b-4", "", "C"), "quota_out_of_range", 0, NULL);
    assert_unchanged(&before);
    /* Subtracting exactly 1e15 (17 characters with its sign) reaches 0. */
    expect_adjust(adjust("user_add", 0, -M, "b-5", "", ""), -M, 0, 0);
    expect_adjust(adjust("user_add", 0, -M, "b-6", "", ""), -M, -M, 0);
    snapshot(&before);
    expect_refusal(adjust("user_add", 0, -1, "b-7", "", ""), "quota_out_of_range", 0, NULL);
    assert_unchanged(&before);
    expect_adjust(adjust("user_set", 0, M, "b-8", "", ""), 2 * M, M, 0);
    /* What is reserved counts: quota 1e15 - 100 + 100 reserved is at the bound. */
    expect_adjust(adjust("user_set", 0, 1000, "b-9", "", ""), 1000 - M, 1000, 0);
    reserve(100, 50);
    expect_adjust(adjust("user_add", 0, M - 1000, "b-10", "", ""), M - 1000, M - 100, 0);
    snapshot(&before);
    expect_refusal(adjust("topup", 0, 1, "b-11", "", ""), "quota_out_of_range", 0, NULL);
    assert_unchanged(&before);
    /* Tokens: remain 400 + 100 reserved. */
    expect_adjust(adjust("token_add", 105, M - 500, "b-12", "", ""), M - 500, M - 100, 0);
    snapshot(&before);
    expect_refusal(adjust("token_add", 105, 1, "b-13", "", ""), "quota_out_of_range", 0, NULL);
    assert_unchanged(&before);
    expect_adjust(adjust("token_add", 105, -M, "b-14", "", ""), -M, -100, 0);
    expect_error(adjust("user_add", 0, -M - 1, "b-15", "", ""), "ERR_BAD_ARG value");
}

/* The op records expire (IDEM_TTL_MS, one hour): whatever users do, what
 * they leave in Redis is bounded. A replay within the hour is still one. */
static void test_adjust_records_expire(void **state)
{
    for (int i = 0; i < 50; i++) {
        char op[16];
        snprintf(op, sizeof op, "e-%d", i);
        expect_adjust(adjust("user_add", 0, 1, op, "", ""), 1, 1001 + i, 0);
        long long ttl = intcmd("PTTL %s", K_OP);
        assert_true(ttl > 3500000 && ttl <= 3600000);
    }
    expect_adjust(adjust("user_add", 0, 1, "e-7", "", ""), 1, 1008, 1);
    /* Only the records and the shard's own keys exist: nothing else grows. */
    redisReply *r = cmd("KEYS *");
    size_t records = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const char *k = r->element[i]->str;
        if (strncmp(k, K_IDEM, strlen(K_IDEM)) == 0) {
            assert_int_equal(k[strlen(K_IDEM)], ':');
            assert_true(intcmd("PTTL %s", k) > 0);
            records++;
        }
    }
    freeReplyObject(r);
    assert_int_equal(records, 50);
    assert_int_equal(intcmd("EXISTS %s", K_IDEM), 0); /* the old unbounded hash */
}

static void test_adjust_token(void **state)
{
    reserve(100, 50); /* token remain 400, reserved 100 */

    expect_adjust(adjust("token_set", TID, 1000, "t-1", "", ""), 500, 900, 0);
    assert_int_equal(hnum(K_T, "remain_quota"), 900);
    assert_int_equal(hnum(K_T, "reserved"), 100);
    assert_int_equal(hnum(K_U, "quota"), 900); /* the user is untouched */
    expect_last_entry((const char *const[]){
        "type", "manage", "uid", "23", "tid", "105", "cid", "0", "ts", "1700000000",
        "dq", "0", "du", "0", "drc", "0", "dtr", "500", "dtu", "0", "dcu", "0", "log", "0",
        "uname", "bob", "tname", "tk", "model", "", "pt", "0", "ct", "0", "quota", "500",
        "stream", "0", "ut", "0", "group", "", "ip", "", "rid", "", "content", "",
        "other", "", "op", "t-1", NULL});
    expect_adjust(adjust("token_add", TID, -300, "t-2", "", ""), -300, 600, 0);
    assert_int_equal(hnum(K_T, "remain_quota"), 600);
}

static void test_adjust_refusals(void **state)
{
    static struct snap before;

    run("HSET %s uid 24", K_T);
    snapshot(&before);
    expect_refusal(adjust("token_set", TID, 5, "x-1", "", ""), "token_not_found", 0, NULL);
    run("DEL %s", K_T);
    snapshot(&before);
    expect_refusal(adjust("token_add", TID, 5, "x-2", "", ""), "token_not_found", 0, NULL);
    run("DEL %s", K_U);
    snapshot(&before);
    expect_refusal(adjust("topup", 0, 5, "x-3", "", ""), "user_not_found", 0, NULL);
    assert_unchanged(&before);
    /* A refusal is not remembered. */
    assert_int_equal(intcmd("EXISTS %s:x-1 %s:x-2 %s:x-3", K_IDEM, K_IDEM, K_IDEM), 0);
}

static void test_adjust_bad_args(void **state)
{
    char big[4200], opid[130];
    const struct {
        int i;
        const char *op, *v;
        const char *err;
    } cases[] = {
        {0, "user_set", "steal", "ERR_BAD_ARG op"},
        {1, "user_set", "0", "ERR_BAD_ARG uid"},
        {2, "user_set", "105", "ERR_BAD_ARG tid"},
        {2, "token_set", "0", "ERR_BAD_ARG tid"},
        {3, "user_set", "-1", "ERR_BAD_ARG value"},
        {3, "token_set", "-1", "ERR_BAD_ARG value"},
        {3, "topup", "0", "ERR_BAD_ARG value"},
        {3, "redeem", "-5", "ERR_BAD_ARG value"},
        {3, "user_add", "1000000000000001", "ERR_BAD_ARG value"},
        {3, "user_add", "x", "ERR_BAD_ARG value"},
        {4, "user_add", "", "ERR_BAD_ARG op_id"},
        {4, "user_add", opid, "ERR_BAD_ARG op_id"},
        {5, "user_add", "-3", "ERR_BAD_ARG now_ms"},
        {6, "user_add", big, "ERR_BAD_ARG content"},
        {7, "user_add", "CODE", "ERR_BAD_ARG code"},
        {7, "redeem", "", "ERR_BAD_ARG code"},
    };
    static struct snap before;

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memset(opid, 'o', sizeof opid - 1);
    opid[sizeof opid - 1] = '\0';
    snapshot(&before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int tok = strncmp(cases[i].op, "token", 5) == 0;
        const char *a[8] = {cases[i].op, "23", tok ? "105" : "0", "10", "op", "1700000000000",
                            "", strcmp(cases[i].op, "redeem") == 0 ? "C" : ""};
        a[cases[i].i] = cases[i].v;
        print_message("case %zu\n", i);
        expect_error(adjust_v(tok ? K_T : K_T0, a), cases[i].err);
        assert_unchanged(&before);
    }
    const char *few[] = {K_U, "23"};
    expect_error(script("adjust", 1, 2, few), "ERR_BAD_ARG keys");
    const char *nine[] = {K_U, K_T0, K_IDEM, K_LED, "topup", "23", "0", "1", "o", "1", "", "", "x"};
    expect_error(script("adjust", 4, 13, nine), "ERR_BAD_ARG argc");
    /* KEYS[3] must be this op's record. */
    char other[GW_KEY_MAX + 8];
    snprintf(other, sizeof other, "%s:p", K_IDEM);
    const char *wrong[][12] = {
        {K_U, K_T0, K_IDEM, K_LED, "topup", "23", "0", "1", "o", "1", "", ""},
        {K_U, K_T0, other, K_LED, "topup", "23", "0", "1", "o", "1", "", ""},
        {K_U, K_T0, K_LED, K_LED, "topup", "23", "0", "1", "o", "1", "", ""},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        expect_error(script("adjust", 4, 12, wrong[i]), "ERR_BAD_ARG keys");
    assert_unchanged(&before);
}

/* ---- ratelimit ------------------------------------------------------------------------ */

static redisReply *ratelimit_s(const char *limit, const char *window, const char *now,
                               const char *cost)
{
    const char *a[5] = {"tf:rl:x", limit, window, now, cost};

    return script("ratelimit", 1, 5, a);
}

static void expect_rl(redisReply *r, long long allowed, long long remaining, long long retry)
{
    assert_int_equal(r->elements, 3);
    assert_int_equal(el_int(r, 0), allowed);
    assert_int_equal(el_int(r, 1), remaining);
    assert_int_equal(el_int(r, 2), retry);
    freeReplyObject(r);
}

static void test_ratelimit(void **state)
{
    /* window 10 s; now 1000 s + 2.5 s: the window is [1000000, 1010000). */
    expect_rl(ratelimit_s("3", "10000", "1002500", "1"), 1, 2, 0);
    long long ttl = intcmd("PTTL tf:rl:x");
    assert_true(ttl > 0 && ttl <= 7500);
    expect_rl(ratelimit_s("3", "10000", "1003000", "2"), 1, 0, 0);
    expect_rl(ratelimit_s("3", "10000", "1004000", "1"), 0, 0, 6000);
    expect_rl(ratelimit_s("3", "10000", "1004000", "0"), 1, 0, 0); /* a look counts nothing */
    assert_int_equal(hnum("tf:rl:x", "n"), 3);
    /* The next window starts from zero. */
    expect_rl(ratelimit_s("3", "10000", "1010000", "1"), 1, 2, 0);
    assert_int_equal(hnum("tf:rl:x", "w"), 1010000);
    /* A cost above what is left is refused whole. */
    expect_rl(ratelimit_s("3", "10000", "1010001", "3"), 0, 2, 9999);
    assert_int_equal(hnum("tf:rl:x", "n"), 1);
}

static void test_ratelimit_bad_args(void **state)
{
    const struct {
        const char *a[4];
        const char *err;
    } cases[] = {
        {{"0", "1000", "1", "1"}, "ERR_BAD_ARG limit"},
        {{"1000000001", "1000", "1", "1"}, "ERR_BAD_ARG limit"},
        {{"5", "0", "1", "1"}, "ERR_BAD_ARG window_ms"},
        {{"5", "86400001", "1", "1"}, "ERR_BAD_ARG window_ms"},
        {{"5", "1000", "0", "1"}, "ERR_BAD_ARG now_ms"},
        {{"5", "1000", "1", "-1"}, "ERR_BAD_ARG cost"},
    };
    static struct snap before;

    expect_rl(ratelimit_s("3", "10000", "1002500", "1"), 1, 2, 0);
    snapshot(&before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(ratelimit_s(cases[i].a[0], cases[i].a[1], cases[i].a[2], cases[i].a[3]),
                     cases[i].err);
        assert_unchanged(&before);
    }
    const char *two[] = {"tf:rl:x", "tf:rl:y", "1", "1", "1", "1"};
    expect_error(script("ratelimit", 2, 6, two), "ERR_BAD_ARG keys");
    const char *three[] = {"tf:rl:x", "1", "1", "1"};
    expect_error(script("ratelimit", 1, 4, three), "ERR_BAD_ARG argc");
    assert_unchanged(&before);
}

/* ---- channel_health ---------------------------------------------------------------------- */

static redisReply *health(const char *op, long long now, long long threshold)
{
    char nb[4][24];
    int nn = 0;
    const char *a[5] = {"tf:ch:9", op, NUMS(now), NUMS(threshold), "1000"};

    return script("channel_health", 1, 5, a);
}

static void expect_h(redisReply *r, long long just, long long ok, long long fail,
                     long long consec, long long heat, long long disabled)
{
    assert_int_equal(r->elements, 6);
    assert_int_equal(el_int(r, 0), just);
    assert_int_equal(el_int(r, 1), ok);
    assert_int_equal(el_int(r, 2), fail);
    assert_int_equal(el_int(r, 3), consec);
    assert_int_equal(el_int(r, 4), heat);
    assert_int_equal(el_int(r, 5), disabled);
    freeReplyObject(r);
}

static void test_channel_health(void **state)
{
    /* half-life 1000 ms */
    expect_h(health("get", 5000, 3), 0, 0, 0, 0, 0, 0);
    assert_int_equal(intcmd("EXISTS tf:ch:9"), 0); /* get writes nothing */
    expect_h(health("success", 5000, 3), 0, 1, 0, 0, 1000, 0);
    expect_h(health("get", 6000, 3), 0, 1, 0, 0, 500, 0);     /* one half-life */
    expect_h(health("get", 4000, 3), 0, 1, 0, 0, 1000, 0);    /* clock backwards: no decay */
    expect_h(health("failure", 6000, 3), 0, 1, 1, 1, 1500, 0);
    expect_h(health("failure", 7000, 3), 0, 1, 2, 2, 1750, 0);
    expect_h(health("success", 8000, 3), 0, 2, 2, 0, 1875, 0); /* resets the run */
    expect_h(health("failure", 8000, 3), 0, 2, 3, 1, 2875, 0);
    expect_h(health("failure", 8000, 3), 0, 2, 4, 2, 3875, 0);
    expect_h(health("failure", 8000, 3), 1, 2, 5, 3, 4875, 1); /* crosses: disable once */
    expect_h(health("failure", 8000, 3), 0, 2, 6, 4, 5875, 1);
    expect_h(health("success", 8000, 3), 0, 3, 6, 0, 6875, 1); /* stays disabled */
    assert_hstr("tf:ch:9", "heat_ts", "8000");
    expect_h(health("reset", 8000, 3), 0, 0, 0, 0, 0, 0);
    assert_int_equal(intcmd("EXISTS tf:ch:9"), 0);
    /* A worker's batch of successes: one call, ok += 5 and heat += 5. */
    {
        const char *a[6] = {"tf:ch:9", "success", "8000", "3", "1000", "5"};
        expect_h(script("channel_health", 1, 6, a), 0, 5, 0, 0, 5000, 0);
        freeReplyObject(health("reset", 8000, 3));
    }
    /* threshold 0: never disabled. */
    for (int i = 0; i < 5; i++)
        freeReplyObject(health("failure", 9000, 0));
    expect_h(health("get", 9000, 0), 0, 0, 5, 5, 5000, 0);
}

static void test_channel_health_bad_args(void **state)
{
    const struct {
        const char *a[4];
        const char *err;
    } cases[] = {
        {{"boom", "1", "1", "1"}, "ERR_BAD_ARG op"},
        {{"success", "0", "1", "1"}, "ERR_BAD_ARG now_ms"},
        {{"failure", "1", "-1", "1"}, "ERR_BAD_ARG threshold"},
        {{"failure", "1", "1000001", "1"}, "ERR_BAD_ARG threshold"},
        {{"reset", "1", "1", "0"}, "ERR_BAD_ARG half_life_ms"},
    };
    static struct snap before;

    freeReplyObject(health("failure", 1000, 5));
    snapshot(&before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[5] = {"tf:ch:9", cases[i].a[0], cases[i].a[1], cases[i].a[2], cases[i].a[3]};
        expect_error(script("channel_health", 1, 5, a), cases[i].err);
        assert_unchanged(&before);
    }
    const char *bad_uses[][6] = {{"tf:ch:9", "success", "1", "1", "1", "0"},
                                 {"tf:ch:9", "success", "1", "1", "1", "1000001"},
                                 {"tf:ch:9", "failure", "1", "1", "1", "2"}};
    for (size_t i = 0; i < 3; i++)
        expect_error(script("channel_health", 1, 6, bad_uses[i]), "ERR_BAD_ARG uses");
    assert_unchanged(&before);
    const char *few[] = {"tf:ch:9", "get", "1", "1"};
    expect_error(script("channel_health", 1, 4, few), "ERR_BAD_ARG argc");
    expect_error(script("channel_health", 0, 4, few), "ERR_BAD_ARG keys");
    assert_unchanged(&before);
}

/* ---- reap ------------------------------------------------------------------------------ */

static redisReply *reap_s(const char *shard, const char *now, const char *max)
{
    const char *a[6] = {K_RES, K_DL, K_LED, shard, now, max};

    return script("reap", 3, 6, a);
}

static long long reap_n(long long now, long long max)
{
    char n[24], m[24];

    snprintf(n, sizeof n, "%lld", now);
    snprintf(m, sizeof m, "%lld", max);
    redisReply *r = reap_s("7", n, m);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void test_reap(void **state)
{
    limit_all();
    long long a = reserve(100, 50); /* deadline NOW + 60 s */
    redisReply *r = authorize("gpt-4", 30, 5, NOW + 30000);
    long long b = el_int(r, 1);     /* deadline NOW + 90 s */
    freeReplyObject(r);

    assert_int_equal(reap_n(NOW + 60000, 100), 0); /* a deadline is not yet past at itself */
    assert_int_equal(reap_n(NOW + 60001, 100), 1);
    assert_int_equal(hnum(K_U, "quota"), 970);
    assert_int_equal(hnum(K_U, "reserved"), 30);
    assert_int_equal(hnum(K_T, "remain_quota"), 470);
    assert_int_equal(hnum(K_T, "reserved"), 30);
    assert_int_equal(getnum(K_CCU), 1);
    assert_int_equal(getnum(K_CCT), 1);
    assert_int_equal(hnum(K_U, "used_quota"), 0);
    assert_int_equal(hnum(K_U, "request_count"), 0);
    expect_last_entry((const char *const[]){
        "type", "reap", "uid", "23", "tid", "105", "cid", "0", "ts", "1700000060",
        "dq", "0", "du", "0", "drc", "0", "dtr", "0", "dtu", "0", "dcu", "0", "log", "4",
        "uname", "bob", "tname", "tk", "model", "", "pt", "0", "ct", "0", "quota", "100",
        "stream", "0", "ut", "0", "group", "", "ip", "", "rid", "",
        "content", "reservation 1 expired: worker died or never settled; refunded 100",
        "other", "{\"res\":1,\"amount\":100,\"deadline_ms\":1700000060000}", "res", "1", NULL});
    /* The worker that comes back late finds nothing to settle. */
    expect_refusal(settle(a, 100, 50, NOW + 70000, ""), "reservation_not_found", 0, NULL);
    r = settle(b, 30, 5, NOW + 70000, "");
    assert_int_equal(el_int(r, 0), 1);
    freeReplyObject(r);
    assert_int_equal(hnum(K_U, "quota"), 970);
    assert_int_equal(hnum(K_U, "reserved"), 0);
    assert_int_equal(reap_n(NOW + 999999, 100), 0);
    assert_int_equal(xlen(), 2);
}

static void test_reap_edge_cases(void **state)
{
    /* max_count bounds one call; oldest first. */
    limit_all();
    for (int i = 0; i < 5; i++)
        reserve(10, 1);
    assert_int_equal(reap_n(NOW + 60001, 2), 2);
    assert_int_equal(intcmd("HLEN %s", K_RES), 3);
    assert_int_equal(intcmd("HEXISTS %s 1", K_RES), 0);
    assert_int_equal(intcmd("HEXISTS %s 3", K_RES), 1);
    assert_int_equal(reap_n(NOW + 60001, 100), 3);
    assert_int_equal(hnum(K_U, "quota"), 1000);
    assert_int_equal(hnum(K_U, "reserved"), 0);
    assert_int_equal(intcmd("EXISTS %s", K_CCU), 0);

    /* Unlimited token: the token is not credited; a deleted user is not recreated. */
    seed();
    run("HSET %s unlimited_quota 1 remain_quota 0", K_T);
    reserve(100, 1);
    run("DEL %s", K_U);
    assert_int_equal(reap_n(NOW + 60001, 100), 1);
    assert_int_equal(intcmd("EXISTS %s", K_U), 0);
    assert_int_equal(hnum(K_T, "remain_quota"), 0);
    redisReply *x = cmd("XREVRANGE %s + - COUNT 1", K_LED);
    assert_string_equal(x->element[0]->element[1]->element[25]->str, ""); /* uname */
    freeReplyObject(x);

    /* A corrupt record leaves the index (it cannot block the reaper) but
     * stays in res for an operator; nothing is refunded for it. */
    seed();
    run("HSET %s 77 garbage 79 23:105:100:5:50:28333333:0:99", K_RES);
    run("ZADD %s 5 77 5 79", K_DL);
    assert_int_equal(reap_n(NOW, 100), 0);
    assert_int_equal(intcmd("ZCARD %s", K_DL), 0);
    assert_hstr(K_RES, "77", "garbage");
    assert_hstr(K_RES, "79", "23:105:100:5:50:28333333:0:99");
    assert_int_equal(hnum(K_U, "quota"), 1000);
    /* An index entry without a record is dropped. */
    run("ZADD %s 5 78", K_DL);
    assert_int_equal(reap_n(NOW, 100), 0);
    assert_int_equal(intcmd("ZCARD %s", K_DL), 0);
    assert_int_equal(xlen(), 0);
}

static void test_reap_bad_args(void **state)
{
    const struct {
        const char *a[3];
        const char *err;
    } cases[] = {
        {{"16", "1", "1"}, "ERR_BAD_ARG shard"},
        {{"-1", "1", "1"}, "ERR_BAD_ARG shard"},
        {{"6", "1", "1"}, "ERR_BAD_ARG keys"}, /* KEYS are shard 7's */
        {{"7", "0", "1"}, "ERR_BAD_ARG now_ms"},
        {{"7", "1", "0"}, "ERR_BAD_ARG max_count"},
        {{"7", "1", "10001"}, "ERR_BAD_ARG max_count"},
    };
    static struct snap before;

    reserve(100, 1);
    snapshot(&before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(reap_s(cases[i].a[0], cases[i].a[1], cases[i].a[2]),
                     cases[i].err);
        assert_unchanged(&before);
    }
    const char *few[] = {K_RES, "7", "1", "1"};
    expect_error(script("reap", 1, 4, few), "ERR_BAD_ARG keys");
    const char *more[] = {K_RES, K_DL, K_LED, "7", "1", "1", "1"};
    expect_error(script("reap", 3, 7, more), "ERR_BAD_ARG argc");
    assert_unchanged(&before);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, setup)
    const struct CMUnitTest tests[] = {
        T(test_authorize_reserves),  T(test_authorize_refusals),    T(test_authorize_passes),
        T(test_authorize_unlimited), T(test_authorize_bad_args),    T(test_settle_refund),
        T(test_authorize_settings_version), T(test_adjust_quota_bound),
        T(test_adjust_records_expire),
        T(test_settle_extra_and_zero), T(test_settle_shortfall),    T(test_settle_unlimited),
        T(test_no_token_round_trip),
        T(test_settle_window_moved_on), T(test_settle_bad_args),
        T(test_limits_counted_only_when_set), T(test_limit_set_in_flight),
        T(test_limit_removed_in_flight), T(test_old_records),        T(test_reap_flags),
        T(test_unlimited_request_is_cheap), T(test_extend),
        T(test_extend_refusals),     T(test_extend_bad_args),       T(test_adjust_user),
        T(test_adjust_token),        T(test_adjust_refusals),       T(test_adjust_bad_args),
        T(test_ratelimit),           T(test_ratelimit_bad_args),    T(test_channel_health),
        T(test_channel_health_bad_args), T(test_reap),              T(test_reap_edge_cases),
        T(test_reap_bad_args),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
