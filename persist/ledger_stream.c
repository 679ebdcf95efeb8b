/* Ledger stream helpers shared by persister.c, warm.c and reaper.c: stream keys,
 * stream ids, the clock and the blocking Redis connection (declared in the internal
 * section of persister.h). */
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "persist/persister.h"
#include "persist/store.h"
#include "gateway/core/clock.h"

void gw__ledger_key(int shard, char *buf, size_t len)
{
    snprintf(buf, len, "tf:{s%d}:ledger", shard);
}

static int parse_u64(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = 0;

    if (len == 0 || len > 20)
        return GW_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || v > (ULLONG_MAX - d) / 10)
            return GW_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return GW_OK;
}

int gw__stream_id_parse(const char *s, size_t len, struct gw_stream_id *out)
{
    const char *dash = memchr(s, '-', len);
    struct gw_stream_id id = {0, 0};

    if (dash == NULL)
        return parse_u64(s, len, &id.ms) == GW_OK ? (*out = id, GW_OK) : GW_EINVAL;
    if (parse_u64(s, (size_t)(dash - s), &id.ms) != GW_OK ||
        parse_u64(dash + 1, len - (size_t)(dash - s) - 1, &id.seq) != GW_OK)
        return GW_EINVAL;
    *out = id;
    return GW_OK;
}

int gw__stream_id_cmp(struct gw_stream_id a, struct gw_stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

void gw__stream_id_fmt(struct gw_stream_id id, char *buf, size_t len)
{
    snprintf(buf, len, "%llu-%llu", id.ms, id.seq);
}

redisContext *gw__persist_redis_connect(const struct gw_redis_addr *a, unsigned timeout_ms,
                                        char *err, size_t errlen)
{
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    redisContext *c = a->unix_path[0] ? redisConnectUnixWithTimeout(a->unix_path, tv)
                                      : redisConnectWithTimeout(a->host, a->port, tv);
    redisReply *r = NULL;

    if (c == NULL) {
        gw__store_err(err, errlen, "redis: out of memory");
        return NULL;
    }
    if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        gw__store_err(err, errlen, "redis connect %s: %s",
                      a->unix_path[0] ? a->unix_path : a->host, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (a->password[0])
        r = redisCommand(c, "AUTH %s", a->password);
    if (r == NULL && a->password[0])
        goto io;
    if (r && r->type == REDIS_REPLY_ERROR) {
        gw__store_err(err, errlen, "redis AUTH: %s", r->str);
        goto fail;
    }
    if (r)
        freeReplyObject(r);
    r = NULL;
    if (a->db) {
        if ((r = redisCommand(c, "SELECT %d", a->db)) == NULL)
            goto io;
        if (r->type == REDIS_REPLY_ERROR) {
            gw__store_err(err, errlen, "redis SELECT: %s", r->str);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
io:
    gw__store_err(err, errlen, "redis: %s", c->errstr);
fail:
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return NULL;
}

int gw__nap(pthread_mutex_t *mu, pthread_cond_t *cv, const int *stopping, unsigned ms)
{
    struct timespec ts;
    int s;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(mu);
    while (!*stopping && pthread_cond_timedwait(cv, mu, &ts) != ETIMEDOUT)
        ;
    s = *stopping;
    pthread_mutex_unlock(mu);
    return s;
}
