#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/ledger_proc.h"
#include "persist/persister.h"
#include "persist/reaper.h"

#define STATS_EVERY_S 2

static void publish(const struct gw_redis_addr *redis, const char *node, gw_persister *p,
                    gw_reaper *rp)
{
    struct gw_persister_stats ps;
    struct gw_reaper_stats rs;
    char err[128];
    gw_persister_stats(p, &ps);
    memset(&rs, 0, sizeof rs);
    if (rp)
        gw_reaper_stats(rp, &rs);
    gw_json_init();
    json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:I}",
                          "updated_at", (json_int_t)time(NULL), "pending",
                          (json_int_t)ps.pending_total, "max_age_ms", (json_int_t)ps.max_age_ms,
                          "batches", (json_int_t)ps.batches, "last_batch",
                          (json_int_t)ps.last_batch, "applied", (json_int_t)ps.applied,
                          "replays", (json_int_t)ps.replays, "malformed",
                          (json_int_t)ps.malformed, "sql_errors", (json_int_t)ps.sql_errors,
                          "retries", (json_int_t)ps.retries, "sql_up", ps.sql_up != 0,
                          "redis_up", ps.redis_up != 0, "reaped", (json_int_t)rs.reaped);
    char *json = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!json)
        return;
    redisContext *c = gw_redis_sync_connect(redis, 500, err, sizeof err);
    if (c) {
        freeReplyObject(redisCommand(c, "HSET tf:nodes %s %s", node, json));
        redisFree(c);
    }
    gw_free(json); /* jansson allocates through gw_malloc (gw_json_init) */
}

static void forget(const struct gw_redis_addr *redis, const char *node)
{
    char err[128];
    redisContext *c = gw_redis_sync_connect(redis, 500, err, sizeof err);
    if (!c)
        return;
    freeReplyObject(redisCommand(c, "HDEL tf:nodes %s", node));
    redisFree(c);
}

int gw_ledger_main(const struct gw_config *cfg, const struct gw_redis_addr *redis,
                   const char *node)
{
    struct gw_persister_opts po;
    struct gw_reaper_opts ro;
    gw_persister *p = NULL;
    gw_reaper *rp = NULL;
    sigset_t stop;

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    prctl(PR_SET_NAME, "tf-ledger"); /* shows in ps and /proc/<pid>/comm */
    gw_log_set_process("ledger");
    memset(&po, 0, sizeof po);
    po.sql_dsn = cfg->sql_dsn;
    po.sqlite_path = cfg->sqlite_path;
    po.redis = *redis;
    po.consumer = node;
    if (gw_persister_start(&po, &p) != GW_OK) {
        GW_ERROR("cannot start the ledger persister");
        return 1;
    }
    memset(&ro, 0, sizeof ro);
    ro.redis = *redis;
    if (gw_reaper_start(&ro, &rp) != GW_OK)
        GW_ERROR("cannot start the reservation reaper; expired reservations are not refunded");

    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL); /* taken synchronously below */
    for (;;) {
        struct timespec tick = {STATS_EVERY_S, 0};
        publish(redis, node, p, rp);
        int sig = sigtimedwait(&stop, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
    }
    gw_reaper_stop(rp);
    gw_persister_stop(p); /* applies what it holds, bounded */
    forget(redis, node);
    return 0;
}
