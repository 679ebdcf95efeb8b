/* gateway/state/ledger.c: the typed async calls on a real uv loop against a
 * real redis-server. Every loop run is bounded by a watchdog timer. Covers
 * the happy path of each call, refusals, the status mapping (bad arguments,
 * error replies, timeouts, closed clients) and malformed replies (scripts of
 * the wrong shape registered under the real names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <cmocka.h>
#include <uv.h>
#include "gateway/core/err.h"
#include "gateway/state/ledger.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"
#include "tests/unit/support/redis_server.h"
#include "tests/unit/support/uv_dog.h"

static struct gw_test_redis server;
static redisContext *sc; /* blocking client for seeding and checking */

#define NOW 1700000000000LL

struct fx {
    uv_loop_t loop;
    struct gw_test_dog dog;
    gw_redis *r;
};

#define RUN_UNTIL(f, cond, ms) GW_RUN_UNTIL(&(f)->loop, &(f)->dog, cond, ms)

static void run_for(struct fx *f, unsigned ms) { gw_test_run_for(&f->loop, &f->dog, ms); }

static struct gw_redis_addr server_addr(void)
{
    struct gw_redis_addr a;
    char url[200], err[128];

    snprintf(url, sizeof url, "unix://%s", server.sock);
    if (gw_redis_parse_url(url, &a, err, sizeof err) != GW_OK)
        fail_msg("url: %s", err);
    return a;
}

static void connect_fx(struct fx *f, unsigned timeout_ms)
{
    struct gw_redis_addr a = server_addr();

    f->r = gw_redis_new(&f->loop, &a, timeout_ms);
    assert_non_null(f->r);
    RUN_UNTIL(f, gw_redis_connected(f->r), 3000);
}

static void sync_run(const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = redisvCommand(sc, fmt, ap);
    va_end(ap);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", fmt, r ? r->str : sc->errstr);
    freeReplyObject(r);
}

static long long hnum(const char *key, const char *field)
{
    redisReply *r = redisCommand(sc, "HGET %s %s", key, field);
    long long v = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -999999;

    if (r)
        freeReplyObject(r);
    return v;
}

static void seed(void)
{
    sync_run("FLUSHALL");
    sync_run("HSET tf:{s7}:u:23 quota 1000 reserved 0 used_quota 0 request_count 0 status 1 "
             "group vip username bob");
    sync_run("HSET tf:{s7}:t:105 uid 23 status 1 name tk expired_time -1 remain_quota 500 "
             "unlimited_quota 0 used_quota 0 reserved 0");
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    if (f == NULL || uv_loop_init(&f->loop) != 0)
        return -1;
    gw_test_dog_init(&f->loop, &f->dog);
    *state = f;
    seed();
    connect_fx(f, 1000);
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    int rc;

    gw_redis_free(f->r);
    uv_close((uv_handle_t *)&f->dog.timer, NULL);
    for (int i = 0; i < 1000 && uv_loop_alive(&f->loop); i++) {
        struct timespec ts = {0, 2000000};
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (uv_loop_alive(&f->loop))
            nanosleep(&ts, NULL);
    }
    rc = uv_loop_close(&f->loop);
    free(f);
    return rc == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    struct gw_redis_addr a;
    char err[128];

    signal(SIGPIPE, SIG_IGN);
    if (gw_scripts_init() != GW_OK || gw_test_redis_start(&server, NULL) != 0)
        return -1;
    a = server_addr();
    sc = gw_redis_sync_connect(&a, 5000, err, sizeof err);
    return sc == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    if (sc)
        redisFree(sc);
    gw_test_redis_cleanup(&server);
    gw_scripts_free();
    return 0;
}

/* ---- recorders: one per result type ------------------------------------------ */

#define RECORDER(type, name)                                                                       \
    struct rec_##name {                                                                            \
        int calls;                                                                                 \
        struct type res;                                                                           \
    };                                                                                             \
    static void on_##name(const struct type *res, void *data)                                      \
    {                                                                                              \
        struct rec_##name *rec = data;                                                             \
        rec->calls++;                                                                              \
        rec->res = *res;                                                                           \
    }
RECORDER(gw_auth_result, auth)
RECORDER(gw_settle_result, settle)
RECORDER(gw_extend_result, extend)
RECORDER(gw_adjust_result, adjust)
RECORDER(gw_ratelimit_result, rl)
RECORDER(gw_health_result, health)
RECORDER(gw_reap_result, reap)

/* Issues call (which must accept) and waits for its one callback. */
#define CALL(f, rec, call)                                                                         \
    do {                                                                                           \
        memset(&(rec), 0, sizeof(rec));                                                            \
        assert_int_equal((call), GW_OK);                                                           \
        RUN_UNTIL((f), (rec).calls > 0, 3000);                                                     \
        assert_int_equal((rec).calls, 1);                                                          \
    } while (0)

static const struct gw_auth_req auth_req = {
    .uid = 23, .tid = 105, .model = "gpt-4", .amount = 100, .est_tokens = 50,
    .ttl_ms = 60000, .now_ms = NOW};

/* ---- happy paths ----------------------------------------------------------------- */

static void test_authorize_extend_settle(void **state)
{
    struct fx *f = *state;
    struct rec_auth a;
    struct rec_extend e;
    struct rec_settle s;

    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.status, GW_OK);
    assert_string_equal(a.res.error, "");
    assert_int_equal(a.res.ok, 1);
    assert_int_equal(a.res.reason, GW_LEDGER_OK);
    assert_int_equal(a.res.res_id, 1);
    assert_int_equal(a.res.deadline_ms, NOW + 60000);
    assert_int_equal(a.res.user_left, 900);
    assert_int_equal(a.res.token_left, 400);
    assert_string_equal(a.res.group, "vip");
    assert_string_equal(a.res.limit, "");

    struct gw_extend_req er = {.uid = 23, .tid = 105, .res_id = a.res.res_id, .extra = 50,
                               .ttl_ms = 120000, .now_ms = NOW + 1000};
    CALL(f, e, gw_ledger_extend(f->r, &er, on_extend, &e));
    assert_int_equal(e.res.status, GW_OK);
    assert_int_equal(e.res.ok, 1);
    assert_int_equal(e.res.amount, 150);
    assert_int_equal(e.res.deadline_ms, NOW + 121000);
    assert_int_equal(e.res.user_left, 850);
    assert_int_equal(e.res.token_left, 350);

    struct gw_settle_req sr = {.uid = 23, .tid = 105, .res_id = a.res.res_id, .actual = 120,
                               .actual_tokens = 70, .now_ms = NOW + 2000, .cid = 4,
                               .model = "gpt-4", .group = "vip", .request_id = "r1",
                               .other = "{\"x\":1}", .prompt_tokens = 30,
                               .completion_tokens = 40, .use_time_s = 2, .stream = 1};
    CALL(f, s, gw_ledger_settle(f->r, &sr, on_settle, &s));
    assert_int_equal(s.res.status, GW_OK);
    assert_int_equal(s.res.ok, 1);
    assert_int_equal(s.res.charged, 120);
    assert_int_equal(s.res.shortfall, 0);
    assert_int_equal(s.res.user_left, 880);
    assert_int_equal(s.res.token_left, 380);
    assert_true(strchr(s.res.ledger_id, '-') != NULL);
    assert_int_equal(hnum("tf:{s7}:u:23", "used_quota"), 120);
    assert_int_equal(hnum("tf:{s7}:u:23", "reserved"), 0);

    /* NULL strings went as "": the entry's ip and content are empty. */
    redisReply *x = redisCommand(sc, "XRANGE tf:{s7}:ledger - +");
    assert_int_equal(x->elements, 1);
    redisReply *fl = x->element[0]->element[1];
    assert_string_equal(x->element[0]->element[0]->str, s.res.ledger_id);
    assert_string_equal(fl->element[42]->str, "ip");
    assert_string_equal(fl->element[43]->str, "");
    assert_string_equal(fl->element[45]->str, "r1");
    assert_string_equal(fl->element[47]->str, ""); /* content */
    freeReplyObject(x);

    /* Settling again: a refusal, not an error. */
    CALL(f, s, gw_ledger_settle(f->r, &sr, on_settle, &s));
    assert_int_equal(s.res.status, GW_OK);
    assert_int_equal(s.res.ok, 0);
    assert_int_equal(s.res.reason, GW_REFUSE_RES_NOT_FOUND);
    CALL(f, e, gw_ledger_extend(f->r, &er, on_extend, &e));
    assert_int_equal(e.res.ok, 0);
    assert_int_equal(e.res.reason, GW_REFUSE_RES_NOT_FOUND);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    struct rec_auth a;

    sync_run("HSET tf:{s7}:t:105 status 2");
    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.status, GW_OK);
    assert_int_equal(a.res.ok, 0);
    assert_int_equal(a.res.reason, GW_REFUSE_TOKEN_DISABLED);
    assert_string_equal(gw_ledger_reason_name(a.res.reason), "token_disabled");

    sync_run("HSET tf:{s7}:t:105 status 1 rpm 1");
    sync_run("HSET tf:{s7}:rl:t:105 w 28333333 req 1");
    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.reason, GW_REFUSE_RATE_LIMITED);
    assert_int_equal(a.res.retry_after_ms, 40000);
    assert_string_equal(a.res.limit, "token_rpm");

    sync_run("HSET tf:{s7}:t:105 rpm 0");
    sync_run("HSET tf:{s7}:u:23 concurrency 1");
    sync_run("SET tf:{s7}:cc:u:23 1");
    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.reason, GW_REFUSE_CONCURRENCY);
    assert_string_equal(a.res.limit, "user");
    assert_int_equal(a.res.retry_after_ms, 0);

    sync_run("SET tf:{s7}:cc:u:23 0");
    sync_run("HSET tf:{s7}:u:23 quota 10");
    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.reason, GW_REFUSE_USER_QUOTA);

    /* Every reason has its script string. */
    assert_string_equal(gw_ledger_reason_name(GW_LEDGER_OK), "ok");
    assert_string_equal(gw_ledger_reason_name(GW_REFUSE_RES_NOT_FOUND), "reservation_not_found");
    assert_string_equal(gw_ledger_reason_name((enum gw_ledger_reason)99), "unknown");
}

static void test_adjust_ratelimit_health_reap(void **state)
{
    struct fx *f = *state;
    struct rec_adjust ad;
    struct rec_rl rl;
    struct rec_health h;
    struct rec_reap rp;
    struct rec_auth a;

    struct gw_adjust_req q = {.op = GW_ADJUST_USER_SET, .uid = 23, .value = 5000, .now_ms = NOW,
                              .op_id = "admin-1", .content = "set"};
    CALL(f, ad, gw_ledger_adjust(f->r, &q, on_adjust, &ad));
    assert_int_equal(ad.res.status, GW_OK);
    assert_int_equal(ad.res.ok, 1);
    assert_int_equal(ad.res.delta, 4000);
    assert_int_equal(ad.res.new_value, 5000);
    assert_int_equal(ad.res.replay, 0);
    CALL(f, ad, gw_ledger_adjust(f->r, &q, on_adjust, &ad));
    assert_int_equal(ad.res.replay, 1);
    assert_int_equal(ad.res.delta, 4000);
    q = (struct gw_adjust_req){.op = GW_ADJUST_REDEEM, .uid = 23, .value = 7, .now_ms = NOW,
                               .op_id = "r-1", .code = "ABC"};
    CALL(f, ad, gw_ledger_adjust(f->r, &q, on_adjust, &ad));
    assert_int_equal(ad.res.new_value, 5007);
    q = (struct gw_adjust_req){.op = GW_ADJUST_TOKEN_ADD, .uid = 23, .tid = 105, .value = -5,
                               .now_ms = NOW, .op_id = "t-1"};
    CALL(f, ad, gw_ledger_adjust(f->r, &q, on_adjust, &ad));
    assert_int_equal(ad.res.new_value, 495);
    q.tid = 106;
    q.op_id = "t-2";
    CALL(f, ad, gw_ledger_adjust(f->r, &q, on_adjust, &ad));
    assert_int_equal(ad.res.status, GW_OK);
    assert_int_equal(ad.res.ok, 0);
    assert_int_equal(ad.res.reason, GW_REFUSE_TOKEN_NOT_FOUND);

    char key[GW_KEY_MAX];
    assert_int_equal(gw_key_ratelimit(key, sizeof key, "ip:GA", "10.0.0.1"), GW_OK);
    assert_string_equal(key, "tf:rl:ip:GA:10.0.0.1");
    struct gw_ratelimit_req rr = {.key = key, .limit = 2, .window_ms = 1000, .now_ms = 5500, .cost = 1};
    CALL(f, rl, gw_ledger_ratelimit(f->r, &rr, on_rl, &rl));
    assert_int_equal(rl.res.status, GW_OK);
    assert_int_equal(rl.res.allowed, 1);
    assert_int_equal(rl.res.remaining, 1);
    rr.cost = 2;
    CALL(f, rl, gw_ledger_ratelimit(f->r, &rr, on_rl, &rl));
    assert_int_equal(rl.res.allowed, 0);
    assert_int_equal(rl.res.remaining, 1);
    assert_int_equal(rl.res.retry_after_ms, 500);

    struct gw_health_req hr = {.cid = 9, .op = GW_HEALTH_FAILURE, .now_ms = 1000, .threshold = 1,
                               .half_life_ms = 1000};
    CALL(f, h, gw_ledger_channel_health(f->r, &hr, on_health, &h));
    assert_int_equal(h.res.status, GW_OK);
    assert_int_equal(h.res.just_disabled, 1);
    assert_int_equal(h.res.disabled, 1);
    assert_int_equal(h.res.fail, 1);
    assert_int_equal(h.res.consec_fail, 1);
    assert_int_equal(h.res.heat_milli, 1000);
    hr.op = GW_HEALTH_GET;
    hr.now_ms = 2000;
    CALL(f, h, gw_ledger_channel_health(f->r, &hr, on_health, &h));
    assert_int_equal(h.res.just_disabled, 0);
    assert_int_equal(h.res.heat_milli, 500);
    hr.op = GW_HEALTH_RESET;
    CALL(f, h, gw_ledger_channel_health(f->r, &hr, on_health, &h));
    assert_int_equal(h.res.disabled, 0);
    assert_int_equal(h.res.fail, 0);

    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.ok, 1);
    struct gw_reap_req pr = {.shard = 7, .now_ms = NOW + 60000, .max_count = 10};
    CALL(f, rp, gw_ledger_reap(f->r, &pr, on_reap, &rp));
    assert_int_equal(rp.res.status, GW_OK);
    assert_int_equal(rp.res.reaped, 0);
    pr.now_ms++;
    CALL(f, rp, gw_ledger_reap(f->r, &pr, on_reap, &rp));
    assert_int_equal(rp.res.reaped, 1);
    assert_int_equal(hnum("tf:{s7}:u:23", "quota"), 5007);
    pr.shard = 3; /* an empty shard */
    CALL(f, rp, gw_ledger_reap(f->r, &pr, on_reap, &rp));
    assert_int_equal(rp.res.reaped, 0);
}

/* ---- keys ------------------------------------------------------------------------ */

static void test_keys(void **state)
{
    char k[GW_KEY_MAX], small[12];

    assert_int_equal(gw_key_shard_of(23), 7);
    assert_int_equal(gw_key_shard_of(16), 0);
    assert_int_equal(gw_key_shard_of(0), -1);
    assert_int_equal(gw_key_user(k, sizeof k, 23), GW_OK);
    assert_string_equal(k, "tf:{s7}:u:23");
    assert_int_equal(gw_key_token(k, sizeof k, 23, 105), GW_OK);
    assert_string_equal(k, "tf:{s7}:t:105");
    assert_int_equal(gw_key_rl_user(k, sizeof k, 32), GW_OK);
    assert_string_equal(k, "tf:{s0}:rl:u:32");
    assert_int_equal(gw_key_rl_token(k, sizeof k, 31, 9), GW_OK);
    assert_string_equal(k, "tf:{s15}:rl:t:9");
    assert_int_equal(gw_key_cc_user(k, sizeof k, 1), GW_OK);
    assert_string_equal(k, "tf:{s1}:cc:u:1");
    assert_int_equal(gw_key_cc_token(k, sizeof k, 1, 2), GW_OK);
    assert_string_equal(k, "tf:{s1}:cc:t:2");
    assert_int_equal(gw_key_shard(k, sizeof k, 15, "ledger"), GW_OK);
    assert_string_equal(k, "tf:{s15}:ledger");
    assert_int_equal(gw_key_channel(k, sizeof k, 12), GW_OK);
    assert_string_equal(k, "tf:ch:12");
    assert_int_equal(gw_key_token_lookup(k, sizeof k,
                                         "0123456789abcdef0123456789abcdef"
                                         "0123456789abcdef0123456789abcdef"),
                     GW_OK);
    assert_string_equal(k, "tf:tk:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    assert_int_equal(gw_key_user(k, sizeof k, 9223372036854775807LL), GW_OK);
    assert_string_equal(k, "tf:{s15}:u:9223372036854775807");

    assert_int_equal(gw_key_user(k, sizeof k, 0), GW_EINVAL);
    assert_int_equal(gw_key_token(k, sizeof k, 23, 0), GW_EINVAL);
    assert_int_equal(gw_key_shard(k, sizeof k, 16, "res"), GW_EINVAL);
    assert_int_equal(gw_key_shard(k, sizeof k, -1, "res"), GW_EINVAL);
    assert_int_equal(gw_key_shard(k, sizeof k, 1, ""), GW_EINVAL);
    assert_int_equal(gw_key_channel(k, sizeof k, 0), GW_EINVAL);
    assert_int_equal(gw_key_token_lookup(k, sizeof k, "abc"), GW_EINVAL);
    assert_int_equal(gw_key_ratelimit(k, sizeof k, "", "x"), GW_EINVAL);
    assert_int_equal(gw_key_user(NULL, 10, 1), GW_EINVAL);
    assert_int_equal(gw_key_user(small, sizeof small, 123456), GW_ETOOBIG);
    assert_string_equal(small, "");
}

/* ---- status mapping ------------------------------------------------------------- */

static void test_call_rejected_without_callback(void **state)
{
    struct fx *f = *state;
    struct rec_auth a = {0};
    struct rec_settle s = {0};
    struct rec_reap rp = {0};
    struct rec_health h = {0};
    struct rec_adjust ad = {0};
    struct rec_rl rl = {0};
    struct gw_auth_req q = auth_req;

    q.uid = 0;
    assert_int_equal(gw_ledger_authorize(f->r, &q, on_auth, &a), GW_EINVAL);
    q = auth_req;
    q.tid = -1;
    assert_int_equal(gw_ledger_authorize(f->r, &q, on_auth, &a), GW_EINVAL);
    assert_int_equal(gw_ledger_authorize(NULL, &auth_req, on_auth, &a), GW_EINVAL);
    assert_int_equal(gw_ledger_authorize(f->r, NULL, on_auth, &a), GW_EINVAL);
    assert_int_equal(gw_ledger_authorize(f->r, &auth_req, NULL, &a), GW_EINVAL);
    struct gw_settle_req sr = {.uid = 23, .tid = 0};
    assert_int_equal(gw_ledger_settle(f->r, &sr, on_settle, &s), GW_EINVAL);
    struct gw_reap_req pr = {.shard = 16, .now_ms = 1, .max_count = 1};
    assert_int_equal(gw_ledger_reap(f->r, &pr, on_reap, &rp), GW_EINVAL);
    struct gw_health_req hr = {.cid = 0, .op = GW_HEALTH_GET};
    assert_int_equal(gw_ledger_channel_health(f->r, &hr, on_health, &h), GW_EINVAL);
    hr = (struct gw_health_req){.cid = 1, .op = (enum gw_health_op)7};
    assert_int_equal(gw_ledger_channel_health(f->r, &hr, on_health, &h), GW_EINVAL);
    struct gw_adjust_req aq = {.op = (enum gw_adjust_op)42, .uid = 23, .op_id = "x"};
    assert_int_equal(gw_ledger_adjust(f->r, &aq, on_adjust, &ad), GW_EINVAL);
    struct gw_ratelimit_req rr = {.key = NULL, .limit = 1};
    assert_int_equal(gw_ledger_ratelimit(f->r, &rr, on_rl, &rl), GW_EINVAL);
    run_for(f, 50);
    assert_int_equal(a.calls + s.calls + rp.calls + h.calls + ad.calls + rl.calls, 0);
}

static void test_bad_arg_and_error_replies(void **state)
{
    struct fx *f = *state;
    struct rec_auth a;
    struct rec_adjust ad;
    struct rec_extend e;
    struct gw_auth_req q = auth_req;

    /* A quota the scripts would refuse never leaves: GW_EINVAL at once. */
    const long long bad_quota[] = {-1, GW_LEDGER_QUOTA_MAX + 1, LLONG_MAX};
    for (size_t i = 0; i < sizeof bad_quota / sizeof bad_quota[0]; i++) {
        q.amount = bad_quota[i];
        assert_int_equal(gw_ledger_authorize(f->r, &q, on_auth, &a), GW_EINVAL);
        q.amount = auth_req.amount;
        q.est_tokens = bad_quota[i];
        assert_int_equal(gw_ledger_authorize(f->r, &q, on_auth, &a), GW_EINVAL);
        q.est_tokens = auth_req.est_tokens;
        struct gw_extend_req er = {.uid = 23, .tid = 105, .res_id = 1, .extra = bad_quota[i],
                                   .ttl_ms = 1000, .now_ms = NOW};
        assert_int_equal(gw_ledger_extend(f->r, &er, on_extend, &e), GW_EINVAL);
    }
    q.model = "a,b"; /* authorize.lua's model limits are comma-separated */
    assert_int_equal(gw_ledger_authorize(f->r, &q, on_auth, &a), GW_EINVAL);
    q.model = auth_req.model;
    q.ttl_ms = 0;
    assert_int_equal(gw_ledger_authorize(f->r, &q, on_auth, &a), GW_EINVAL);
    q.ttl_ms = auth_req.ttl_ms;
    q.amount = GW_LEDGER_QUOTA_MAX; /* the bound itself is sent: the user cannot pay it */
    CALL(f, a, gw_ledger_authorize(f->r, &q, on_auth, &a));
    assert_int_equal(a.res.status, GW_OK);
    assert_int_equal(a.res.ok, 0);
    assert_int_equal(a.res.reason, GW_REFUSE_USER_QUOTA);

    /* The script refuses the arguments: GW_EINVAL, nothing written. */
    q = auth_req;
    q.now_ms = 0;
    CALL(f, a, gw_ledger_authorize(f->r, &q, on_auth, &a));
    assert_int_equal(a.res.status, GW_EINVAL);
    assert_string_equal(a.res.error, "ERR_BAD_ARG now_ms");
    assert_int_equal(a.res.ok, 0);
    assert_int_equal(hnum("tf:{s7}:u:23", "quota"), 1000);
    struct gw_adjust_req aq = {.op = GW_ADJUST_TOPUP, .uid = 23, .value = 5, .now_ms = NOW,
                               .op_id = NULL};
    /* No op id (it names the op's record key): refused before any call. */
    assert_int_equal(gw_ledger_adjust(f->r, &aq, on_adjust, &ad), GW_EINVAL);
    char longid[130];
    memset(longid, 'o', 129);
    longid[129] = '\0';
    aq.op_id = longid;
    assert_int_equal(gw_ledger_adjust(f->r, &aq, on_adjust, &ad), GW_EINVAL);

    /* Any other error reply: GW_EIO with Redis's text. */
    sync_run("DEL tf:{s7}:t:105");
    sync_run("SET tf:{s7}:t:105 not-a-hash");
    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.status, GW_EIO);
    assert_non_null(strstr(a.res.error, "WRONGTYPE"));
}

static void test_timeout_and_closed(void **state)
{
    struct fx *f = *state;
    struct rec_auth a;

    /* A short deadline while the server is paused: GW_ETIMEDOUT once, and the
     * late reply (the script does run) is dropped without a second call. */
    gw_redis_free(f->r);
    connect_fx(f, 100);
    sync_run("CLIENT PAUSE 400 ALL");
    CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
    assert_int_equal(a.res.status, GW_ETIMEDOUT);
    assert_int_equal(a.res.ok, 0);
    assert_string_equal(a.res.error, gw_strerror(GW_ETIMEDOUT));
    run_for(f, 700);
    assert_int_equal(a.calls, 1);
    /* It ran: the reaper will refund it at its deadline. */
    assert_int_equal(hnum("tf:{s7}:u:23", "reserved"), 100);

    /* Freeing the client with a call in flight: GW_ECLOSED, synchronously. */
    memset(&a, 0, sizeof a);
    assert_int_equal(gw_ledger_authorize(f->r, &auth_req, on_auth, &a), GW_OK);
    gw_redis_free(f->r);
    f->r = NULL;
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.res.status, GW_ECLOSED);
}

/* ---- malformed replies -------------------------------------------------------------- */

/* Registers text under the real name of a script, in place of the real one. */
static void fake(const char *name, const char *text)
{
    gw_scripts_free();
    assert_int_equal(gw_scripts_add(name, text), GW_OK);
}

static void test_malformed_replies(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *script, *text;
    } cases[] = {
        {"authorize", "return 5"},
        {"authorize", "return {}"},
        {"authorize", "return {2}"},
        {"authorize", "return {'1'}"},
        {"authorize", "return {0}"},
        {"authorize", "return {0, 'no_such_reason'}"},
        {"authorize", "return {0, 'rate_limited', 'soon', 'user_rpm'}"},
        {"authorize", "return {0, 'rate_limited', 5, string.rep('w', 40)}"},
        {"authorize", "return {1, 1, 2, 3, 4}"},
        {"authorize", "return {1, 1, 2, 3, 4, string.rep('g', 65)}"},
        {"authorize", "return {1, 1, 2, 3, {4}, 'default'}"},
        {"settle", "return {1, 1, 2, 3, 4}"},
        {"settle", "return {1, 1, 2, 3, 4, string.rep('i', 48)}"},
        {"settle", "return 'OK'"},
        {"extend", "return {1, 1, 2, 3}"},
        {"adjust", "return {1, 1, 2, 2}"},
        {"adjust", "return {1, 1, 2}"},
        {"ratelimit", "return {2, 0, 0}"},
        {"ratelimit", "return {1, 0}"},
        {"channel_health", "return {0, 1, 2, 3, 4, 5}"},
        {"channel_health", "return {0, 1, 2, 3, 4}"},
        {"reap", "return -1"},
        {"reap", "return {1}"},
        {"reap", "return redis.status_reply('OK')"},
    };
    struct gw_settle_req sr = {.uid = 23, .tid = 105, .res_id = 1};
    struct gw_extend_req er = {.uid = 23, .tid = 105, .res_id = 1};
    struct gw_adjust_req aq = {.op = GW_ADJUST_TOPUP, .uid = 23, .op_id = "x"};
    struct gw_ratelimit_req rr = {.key = "tf:rl:x"};
    struct gw_health_req hr = {.cid = 1};
    struct gw_reap_req pr = {.shard = 1};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *s = cases[i].script;
        int status = 0;
        char error[128] = "";

        print_message("case: %s: %s\n", s, cases[i].text);
        fake(s, cases[i].text);
        if (strcmp(s, "authorize") == 0) {
            struct rec_auth a;
            CALL(f, a, gw_ledger_authorize(f->r, &auth_req, on_auth, &a));
            status = a.res.status;
            memcpy(error, a.res.error, sizeof error);
            assert_int_equal(a.res.ok, 0);
            assert_int_equal(a.res.res_id, 0);
            assert_string_equal(a.res.group, "");
        } else if (strcmp(s, "settle") == 0) {
            struct rec_settle r;
            CALL(f, r, gw_ledger_settle(f->r, &sr, on_settle, &r));
            status = r.res.status;
            memcpy(error, r.res.error, sizeof error);
            assert_int_equal(r.res.charged, 0);
        } else if (strcmp(s, "extend") == 0) {
            struct rec_extend r;
            CALL(f, r, gw_ledger_extend(f->r, &er, on_extend, &r));
            status = r.res.status;
            memcpy(error, r.res.error, sizeof error);
        } else if (strcmp(s, "adjust") == 0) {
            struct rec_adjust r;
            CALL(f, r, gw_ledger_adjust(f->r, &aq, on_adjust, &r));
            status = r.res.status;
            memcpy(error, r.res.error, sizeof error);
            assert_int_equal(r.res.delta, 0);
        } else if (strcmp(s, "ratelimit") == 0) {
            struct rec_rl r;
            CALL(f, r, gw_ledger_ratelimit(f->r, &rr, on_rl, &r));
            status = r.res.status;
            memcpy(error, r.res.error, sizeof error);
            assert_int_equal(r.res.allowed, 0); /* a malformed answer never allows */
        } else if (strcmp(s, "channel_health") == 0) {
            struct rec_health r;
            CALL(f, r, gw_ledger_channel_health(f->r, &hr, on_health, &r));
            status = r.res.status;
            memcpy(error, r.res.error, sizeof error);
        } else {
            struct rec_reap r;
            CALL(f, r, gw_ledger_reap(f->r, &pr, on_reap, &r));
            status = r.res.status;
            memcpy(error, r.res.error, sizeof error);
        }
        assert_int_equal(status, GW_EIO);
        assert_string_equal(error, "malformed reply");
    }
    /* A call to a script that is not registered is refused up front. */
    struct rec_reap r = {0};
    fake("other", "return 1");
    assert_int_equal(gw_ledger_reap(f->r, &pr, on_reap, &r), GW_ENOTFOUND);
    run_for(f, 20);
    assert_int_equal(r.calls, 0);
    gw_scripts_free();
    assert_int_equal(gw_scripts_init(), GW_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_authorize_extend_settle),
        T(test_refusals),
        T(test_adjust_ratelimit_health_reap),
        T(test_keys),
        T(test_call_rejected_without_callback),
        T(test_bad_arg_and_error_replies),
        T(test_timeout_and_closed),
        T(test_malformed_replies),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
