/* Ledger benchmark (issue 3): authorize+settle pairs per second through the
 * production client (gateway/state/ledger.c on a libuv loop) against bare
 * INCR round trips on the same Redis, in one run, as ratios. Sequential (one
 * call in flight: latency) and pipelined (64 in flight: throughput).
 *
 * usage: bench_ledger [pairs] [results.md]
 * Starts its own redis-server on a unix socket in a temp dir and stops it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include <hiredis/hiredis.h>
#include "gateway/core/err.h"
#include "gateway/state/ledger.h"
#include "gateway/state/redis.h"
#include "gateway/state/scripts.h"
#include "tests/unit/support/redis_server.h"

#define UID 7
#define TID 70

struct run {
    uv_loop_t *loop;
    gw_redis *r;
    long long todo, started, done, failed;
    int incr;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void next(struct run *b);

static void finished(struct run *b, int ok)
{
    b->done++;
    if (!ok)
        b->failed++;
    if (b->done == b->todo)
        uv_stop(b->loop);
    else
        next(b);
}

static void settled(const struct gw_settle_result *res, void *data)
{
    finished(data, res->status == GW_OK && res->ok);
}

static void authorized(const struct gw_auth_result *res, void *data)
{
    struct run *b = data;
    if (res->status != GW_OK || !res->ok) {
        finished(b, 0);
        return;
    }
    struct gw_settle_req s = {.uid = UID, .tid = TID, .res_id = res->res_id, .actual = 9,
                              .actual_tokens = 12, .now_ms = wall_ms(), .cid = 1,
                              .model = "gpt-4o-mini", .group = "default", .ip = "127.0.0.1",
                              .request_id = "bench", .content = "", .other = "",
                              .prompt_tokens = 10, .completion_tokens = 2, .use_time_s = 0};
    if (gw_ledger_settle(b->r, &s, settled, b) != GW_OK)
        finished(b, 0);
}

static void incr_done(int status, redisReply *reply, void *data)
{
    finished(data, status == GW_OK && reply && reply->type == REDIS_REPLY_INTEGER);
}

static void next(struct run *b)
{
    if (b->started >= b->todo)
        return;
    b->started++;
    if (b->incr) {
        if (gw_redis_command(b->r, incr_done, b, "INCR bench:counter") != GW_OK)
            finished(b, 0);
        return;
    }
    struct gw_auth_req a = {.uid = UID, .tid = TID, .model = "gpt-4o-mini", .amount = 10,
                            .est_tokens = 12, .ttl_ms = 60000, .now_ms = wall_ms()};
    if (gw_ledger_authorize(b->r, &a, authorized, b) != GW_OK)
        finished(b, 0);
}

static double measure(uv_loop_t *loop, gw_redis *r, int incr, long long n, int inflight,
                      long long *failed)
{
    struct run b = {.loop = loop, .r = r, .todo = n, .incr = incr};
    double t0 = now_s();
    for (int i = 0; i < inflight && i < n; i++)
        next(&b);
    uv_run(loop, UV_RUN_DEFAULT);
    *failed += b.failed;
    return n / (now_s() - t0);
}

int main(int argc, char **argv)
{
    long long pairs = argc > 1 ? strtoll(argv[1], NULL, 10) : 20000;
    const char *out = argc > 2 ? argv[2] : NULL;
    struct gw_test_redis t;
    struct gw_redis_addr addr;
    char err[256], url[200], uk[64], tk[64];
    long long failed = 0;
    if (pairs < 100 || gw_test_redis_start(&t, NULL) != 0)
        return 1;
    snprintf(url, sizeof url, "unix://%s", t.sock);
    gw_redis_parse_url(url, &addr, err, sizeof err);
    redisContext *c = gw_redis_sync_connect(&addr, 2000, err, sizeof err);
    if (!c || gw_scripts_init() != GW_OK || gw_redis_sync_load_scripts(c, err, sizeof err) != GW_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    gw_key_user(uk, sizeof uk, UID);
    gw_key_token(tk, sizeof tk, UID, TID);
    freeReplyObject(redisCommand(c, "HSET %s quota 100000000000 reserved 0 used_quota 0 "
                                    "request_count 0 status 1 group default role 1 username b",
                                 uk));
    freeReplyObject(redisCommand(c, "HSET %s uid %d status 1 name t expired_time -1 "
                                    "remain_quota 0 unlimited_quota 1 used_quota 0 reserved 0 "
                                    "model_limits_enabled 0 model_limits %s group %s",
                                 tk, UID, "", ""));
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_redis *r = gw_redis_new(&loop, &addr, 5000);
    /* warm up the connection and the scripts */
    measure(&loop, r, 1, 200, 1, &failed);
    measure(&loop, r, 0, 200, 1, &failed);
    double incr1 = measure(&loop, r, 1, 2 * pairs, 1, &failed);
    double pair1 = measure(&loop, r, 0, pairs, 1, &failed);
    double incr64 = measure(&loop, r, 1, 2 * pairs, 64, &failed);
    double pair64 = measure(&loop, r, 0, pairs, 64, &failed);
    redisReply *x = redisCommand(c, "XLEN tf:{s%d}:ledger", UID % 16);
    long long entries = x && x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
    freeReplyObject(x);

    char table[2048];
    snprintf(table, sizeof table,
             "| in flight | INCR round trips/s | authorize+settle pairs/s | pair cost in INCR round trips |\n"
             "|---|---|---|---|\n"
             "| 1 | %.0f | %.0f | %.2f |\n"
             "| 64 | %.0f | %.0f | %.2f |\n\n"
             "%lld pairs per row; %lld ledger entries written; %lld failed calls.\n",
             incr1, pair1, incr1 / pair1, incr64, pair64, incr64 / pair64, pairs,
             entries, failed);
    fputs(table, stdout);
    if (out) {
        FILE *f = fopen(out, "w");
        if (f) {
            fprintf(f,
                    "# Ledger benchmark\n\nCommand: `make bench-ledger` "
                    "(`build/release/bench_ledger %lld %s`), Redis 7 on a unix socket, the "
                    "production async client (gateway/state/ledger.c) on one libuv loop.\n"
                    "A pair is one authorize.lua and one settle.lua (reservation, refund, "
                    "ledger XADD); the last column is how many bare INCR round trips one pair "
                    "costs, measured in the same run. Ratios, not timings: the machine is "
                    "shared.\n\n%s",
                    pairs, out, table);
            fclose(f);
        }
    }
    gw_redis_free(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    redisFree(c);
    gw_test_redis_stop(&t);
    gw_test_redis_cleanup(&t);
    gw_scripts_free();
    return failed ? 1 : 0;
}
