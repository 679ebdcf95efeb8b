/* Options snapshot refreshed on a Redis version counter (config_watch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
#include "gateway/state/config_watch.h"

#define VER_MAX 32

struct kv {
    char *key, *value;
};

/* Sorted by key, so lookups are a binary search. */
struct snap {
    struct kv *v;
    size_t n, cap;
};

struct catch_up {
    struct catch_up *next;
    long long ver;
    void (*cb)(void *data);
    void *data;
};

struct gw_cfgwatch {
    uv_loop_t *loop;
    gw_redis *redis;
    gw_store_pool *pool;
    uv_timer_t timer;
    uv_work_t work;
    struct snap cur;
    struct snap next;     /* filled on the thread pool */
    int next_rc;
    char ver[VER_MAX];    /* version of cur; "" = unknown */
    char want[VER_MAX];   /* version read before the load in flight */
    uint64_t last_load_ms;
    int get_inflight, load_inflight, timer_open, stopping;
    struct catch_up *waiters; /* gw_cfgwatch_catch_up callers */
    struct gw_cfgwatch_stats st;
};

static void snap_free(struct snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        gw_free(s->v[i].key);
        gw_free(s->v[i].value);
    }
    gw_free(s->v);
    memset(s, 0, sizeof *s);
}

/* Index of key, or of where it would go (*found = 0). */
static size_t snap_find(const struct snap *s, const char *key, int *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int snap_put(struct snap *s, const char *key, const char *value)
{
    int found;
    size_t at = snap_find(s, key, &found);
    char *v = gw_strdup(value ? value : "");
    if (!v)
        return GW_ENOMEM;
    if (found) {
        gw_free(s->v[at].value);
        s->v[at].value = v;
        return GW_OK;
    }
    char *k = gw_strdup(key);
    if (k && s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        struct kv *nv = gw_realloc(s->v, nc * sizeof *nv);
        if (nv) {
            s->v = nv;
            s->cap = nc;
        }
    }
    if (!k || s->n == s->cap) {
        gw_free(k);
        gw_free(v);
        return GW_ENOMEM;
    }
    memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof *s->v);
    s->v[at].key = k;
    s->v[at].value = v;
    s->n++;
    return GW_OK;
}

/* The snapshot's version as a number; -1 when unknown. */
static long long ver_num(const char *v)
{
    long long n;
    return *v && gw_str_to_ll(gw_str_c(v), 0, 1LL << 62, &n) == GW_OK ? n : -1;
}

/* ---- the load, on the thread pool ----------------------------------------- */

static void load_run(uv_work_t *w)
{
    gw_cfgwatch *cw = w->data;
    gw_store *st;
    gw_rows *rows = NULL;
    cw->next_rc = gw_store_pool_get(cw->pool, &st);
    if (cw->next_rc != GW_OK)
        return;
    cw->next_rc = gw_store_query(st, "SELECT `key`, value FROM options", NULL, 0, &rows);
    gw_store_pool_put(cw->pool, st);
    for (size_t i = 0; cw->next_rc == GW_OK && i < gw_rows_count(rows); i++) {
        const char *k = gw_rows_get(rows, i, 0);
        if (k)
            cw->next_rc = snap_put(&cw->next, k, gw_rows_get(rows, i, 1));
    }
    gw_rows_free(rows);
}

static void maybe_release(gw_cfgwatch *cw)
{
    if (cw->stopping && !cw->get_inflight && !cw->load_inflight && !cw->timer_open) {
        snap_free(&cw->cur);
        snap_free(&cw->next);
        gw_free(cw);
    }
}

static void start_load(gw_cfgwatch *cw, const char *ver);

/* Calls back the waiters the snapshot now covers (all of them when the load
 * failed or the watcher stops); loads again for the others. */
static void wake_waiters(gw_cfgwatch *cw, int all)
{
    long long have = ver_num(cw->ver), need = -1;
    struct catch_up **pp = &cw->waiters, *done = NULL;
    while (*pp) {
        struct catch_up *c = *pp;
        if (all || c->ver <= have) {
            *pp = c->next;
            c->next = done;
            done = c;
        } else {
            need = c->ver > need ? c->ver : need;
            pp = &c->next;
        }
    }
    if (need >= 0 && !cw->load_inflight && !cw->stopping) {
        char v[VER_MAX];
        snprintf(v, sizeof v, "%lld", need);
        start_load(cw, v);
    }
    while (done) {
        struct catch_up *next = done->next;
        done->cb(done->data);
        gw_free(done);
        done = next;
    }
}

static void load_after(uv_work_t *w, int status)
{
    gw_cfgwatch *cw = w->data;
    int failed = !(status == 0 && cw->next_rc == GW_OK && !cw->stopping);
    cw->load_inflight = 0;
    if (status == 0 && cw->next_rc == GW_OK && !cw->stopping) {
        snap_free(&cw->cur);
        cw->cur = cw->next;
        memset(&cw->next, 0, sizeof cw->next);
        memcpy(cw->ver, cw->want, sizeof cw->ver);
        cw->st.loads++;
        cw->st.loaded = 1;
    } else {
        snap_free(&cw->next);
        if (!cw->stopping) {
            cw->st.load_errors++;
            GW_WARN("options reload failed (%s); keeping the previous values",
                    gw_strerror(cw->next_rc));
        }
    }
    wake_waiters(cw, failed || cw->stopping);
    maybe_release(cw);
}

static void start_load(gw_cfgwatch *cw, const char *ver)
{
    snprintf(cw->want, sizeof cw->want, "%s", ver);
    cw->last_load_ms = gw_clock_mono_ms();
    cw->work.data = cw;
    if (uv_queue_work(cw->loop, &cw->work, load_run, load_after) == 0)
        cw->load_inflight = 1;
}

/* ---- polling on the loop --------------------------------------------------- */

static void on_version(int status, redisReply *reply, void *data)
{
    gw_cfgwatch *cw = data;
    char ver[VER_MAX] = "";
    int known = 0;
    cw->get_inflight = 0;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_NIL) {
        snprintf(ver, sizeof ver, "0");
        known = 1;
    } else if (status == GW_OK && reply && reply->type == REDIS_REPLY_STRING &&
               reply->len < VER_MAX) {
        memcpy(ver, reply->str, reply->len);
        ver[reply->len] = '\0';
        known = 1;
    }
    if (!cw->stopping && !cw->load_inflight) {
        int stale = gw_clock_mono_ms() - cw->last_load_ms >= GW_CFGWATCH_FALLBACK_MS;
        if ((known && strcmp(ver, cw->ver) != 0) || !cw->st.loaded || stale)
            start_load(cw, known ? ver : ""); /* "" forces a reload once Redis is back */
    }
    maybe_release(cw);
}

static void on_tick(uv_timer_t *t)
{
    gw_cfgwatch *cw = t->data;
    if (cw->get_inflight || cw->load_inflight)
        return;
    if (gw_redis_command(cw->redis, on_version, cw, "GET %s", GW_CFGWATCH_VERSION_KEY) == GW_OK) {
        cw->get_inflight = 1;
        cw->st.polls++;
    } else if (!cw->st.loaded || gw_clock_mono_ms() - cw->last_load_ms >= GW_CFGWATCH_FALLBACK_MS) {
        start_load(cw, ""); /* Redis is down: SQL alone still converges */
    }
}

gw_cfgwatch *gw_cfgwatch_start(uv_loop_t *loop, gw_redis *redis, gw_store_pool *pool,
                               unsigned poll_ms)
{
    if (!loop || !redis || !pool)
        return NULL;
    gw_cfgwatch *cw = gw_calloc(1, sizeof *cw);
    if (!cw)
        return NULL;
    cw->loop = loop;
    cw->redis = redis;
    cw->pool = pool;
    uv_timer_init(loop, &cw->timer);
    cw->timer.data = cw;
    cw->timer_open = 1;
    uv_timer_start(&cw->timer, on_tick, 0, poll_ms ? poll_ms : GW_CFGWATCH_POLL_MS);
    return cw;
}

static void on_timer_closed(uv_handle_t *h)
{
    gw_cfgwatch *cw = h->data;
    cw->timer_open = 0;
    maybe_release(cw);
}

void gw_cfgwatch_stop(gw_cfgwatch *cw)
{
    if (!cw || cw->stopping)
        return;
    cw->stopping = 1;
    wake_waiters(cw, 1); /* nobody waits on a watcher that stops */
    uv_timer_stop(&cw->timer);
    uv_close((uv_handle_t *)&cw->timer, on_timer_closed);
}

const char *gw_cfgwatch_get(const gw_cfgwatch *cw, const char *key)
{
    int found;
    if (!cw || !key || !cw->cur.n)
        return NULL;
    size_t at = snap_find(&cw->cur, key, &found);
    return found ? cw->cur.v[at].value : NULL;
}

int gw_cfgwatch_set(gw_cfgwatch *cw, const char *key, const char *value)
{
    if (!cw || !key)
        return GW_EINVAL;
    return snap_put(&cw->cur, key, value);
}

int gw_cfgwatch_catch_up(gw_cfgwatch *cw, long long ver, void (*cb)(void *data), void *data)
{
    if (!cw || !cb || cw->stopping)
        return GW_EINVAL;
    if (cw->st.loaded && ver_num(cw->ver) >= ver) {
        cb(data);
        return GW_OK;
    }
    struct catch_up *c = gw_calloc(1, sizeof *c);
    if (!c)
        return GW_ENOMEM;
    c->ver = ver;
    c->cb = cb;
    c->data = data;
    c->next = cw->waiters;
    cw->waiters = c;
    if (!cw->load_inflight) {
        char v[VER_MAX];
        snprintf(v, sizeof v, "%lld", ver);
        start_load(cw, v);
        if (!cw->load_inflight) /* could not queue it: do not leave c waiting */
            wake_waiters(cw, 1);
    }
    return GW_OK;
}

static void on_bumped(int status, redisReply *reply, void *data)
{
    (void)data;
    if (status != GW_OK || !reply || reply->type != REDIS_REPLY_INTEGER)
        GW_WARN("options version bump failed (%s); other workers catch up within %d s",
                status != GW_OK ? gw_strerror(status) : reply ? reply->str : "no reply",
                GW_CFGWATCH_FALLBACK_MS / 1000);
}

int gw_cfgwatch_bump(gw_cfgwatch *cw)
{
    if (!cw)
        return GW_EINVAL;
    int rc = gw_redis_command(cw->redis, on_bumped, NULL, "INCR %s", GW_CFGWATCH_VERSION_KEY);
    if (rc != GW_OK)
        GW_WARN("options version bump not sent (%s); other workers catch up within %d s",
                gw_strerror(rc), GW_CFGWATCH_FALLBACK_MS / 1000);
    return rc;
}

void gw_cfgwatch_get_stats(const gw_cfgwatch *cw, struct gw_cfgwatch_stats *out)
{
    memset(out, 0, sizeof *out);
    if (cw)
        *out = cw->st;
}
