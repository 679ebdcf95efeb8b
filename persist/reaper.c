/* Reservation reaper driver: see reaper.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/embed.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "persist/persister.h"
#include "persist/reaper.h"

#define ROUNDS_PER_TICK 10      /* a shard at max_count is called again, this often */

struct gw_reaper {
    struct gw_reaper_opts o;
    char *script;                   /* reap.lua with the shared helpers (gw_embedded_lua) */
    size_t script_len;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    struct gw_reaper_stats st;
    redisContext *rc;               /* thread only */
    char sha[41];
    int warned;
};

static int nap(gw_reaper *r, unsigned ms)
{
    return gw__nap(&r->mu, &r->cv, &r->stopping, ms);
}

static void failed(gw_reaper *r, const char *what, const char *why)
{
    if (!r->warned)
        GW_ERROR("reaper: %s: %s", what, why);
    r->warned = 1;
    pthread_mutex_lock(&r->mu);
    r->st.errors++;
    pthread_mutex_unlock(&r->mu);
}

static void drop(gw_reaper *r)
{
    if (r->rc)
        redisFree(r->rc);
    r->rc = NULL;
}

static int load(gw_reaper *r)
{
    redisReply *rep = redisCommand(r->rc, "SCRIPT LOAD %b", r->script, r->script_len);

    if (rep == NULL || rep->type != REDIS_REPLY_STRING || rep->len != 40) {
        failed(r, "SCRIPT LOAD reap.lua", rep && rep->type == REDIS_REPLY_ERROR
                                              ? rep->str : r->rc->errstr);
        if (rep)
            freeReplyObject(rep);
        drop(r);
        return GW_EIO;
    }
    memcpy(r->sha, rep->str, 40);
    r->sha[40] = '\0';
    freeReplyObject(rep);
    return GW_OK;
}

static int ensure(gw_reaper *r)
{
    char err[300];

    if (r->rc)
        return GW_OK;
    if ((r->rc = gw__persist_redis_connect(&r->o.redis, 2000, err, sizeof err)) == NULL) {
        failed(r, "connect", err);
        return GW_EIO;
    }
    return load(r);
}

/* One EVALSHA on shard s: the number reaped, or <0. */
static long long reap(gw_reaper *r, int s)
{
    char k[3][32], shard[8], now[24], max[16];
    const char *argv[9];
    size_t len[9];
    redisReply *rep;
    long long n = -1;

    snprintf(k[0], sizeof k[0], "tf:{s%d}:res", s);
    snprintf(k[1], sizeof k[1], "tf:{s%d}:resdl", s);
    gw__ledger_key(s, k[2], sizeof k[2]);
    snprintf(shard, sizeof shard, "%d", s);
    snprintf(now, sizeof now, "%lld", gw_clock_wall_ms());
    snprintf(max, sizeof max, "%u", r->o.max_count);
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *a[] = { "EVALSHA", r->sha, "3", k[0], k[1], k[2], shard, now, max };
        memcpy(argv, a, sizeof a);
        for (int i = 0; i < 9; i++)
            len[i] = strlen(argv[i]);
        if ((rep = redisCommandArgv(r->rc, 9, argv, len)) == NULL) {
            failed(r, "EVALSHA reap.lua", r->rc->errstr);
            drop(r);
            return -1;
        }
        if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(rep);
            if (load(r) != GW_OK)
                return -1;
            continue;
        }
        if (rep->type == REDIS_REPLY_INTEGER)
            n = rep->integer;
        else
            failed(r, "reap.lua", rep->type == REDIS_REPLY_ERROR ? rep->str : "bad reply");
        freeReplyObject(rep);
        break;
    }
    return n;
}

static void *run(void *arg)
{
    gw_reaper *r = arg;

    /* the process tag is the ledger process's ("ledger"), set by gw_ledger_main */
    do {
        unsigned long long got = 0;
        int ok = ensure(r) == GW_OK;
        for (int s = 0; ok && s < 16; s++) {
            for (int round = 0; round < ROUNDS_PER_TICK; round++) {
                long long n = reap(r, s);
                if (n < 0) {
                    ok = r->rc != NULL;
                    break;
                }
                got += (unsigned long long)n;
                if ((unsigned long long)n < r->o.max_count)
                    break;
            }
        }
        if (ok && r->warned) {
            GW_INFO("reaper: working again");
            r->warned = 0;
        }
        if (got)
            GW_INFO("reaper: refunded %llu expired reservations", got);
        pthread_mutex_lock(&r->mu);
        r->st.reaped += got;
        r->st.ticks += ok;
        pthread_mutex_unlock(&r->mu);
    } while (!nap(r, r->o.interval_ms));
    drop(r);
    return NULL;
}

int gw_reaper_start(const struct gw_reaper_opts *o, gw_reaper **out)
{
    const struct gw_embedded_file *f = gw_embedded_find("scripts/reap.lua");
    pthread_condattr_t ca;
    gw_reaper *r;

    *out = NULL;
    if (f == NULL)
        return GW_ENOTFOUND;
    if (o == NULL || (o->redis.unix_path[0] == '\0' && o->redis.host[0] == '\0'))
        return GW_EINVAL;
    if ((r = gw_calloc(1, sizeof *r)) == NULL)
        return GW_ENOMEM;
    r->o = *o;
    r->o.interval_ms = o->interval_ms ? o->interval_ms : 1000;
    r->o.max_count = o->max_count ? o->max_count : 1000;
    if (r->o.max_count > 10000) /* reap.lua refuses more per call */
        r->o.max_count = 10000;
    if (gw_embedded_lua((const char *)f->data, f->len, &r->script, &r->script_len) != GW_OK) {
        gw_free(r);
        return GW_ENOMEM;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        gw_free(r->script);
        gw_free(r);
        return GW_EIO;
    }
    *out = r;
    return GW_OK;
}

void gw_reaper_stop(gw_reaper *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    gw_free(r->script);
    gw_free(r);
}

void gw_reaper_stats(gw_reaper *r, struct gw_reaper_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}
