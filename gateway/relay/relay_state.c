/* Per-worker relay state: routing table and ratios kept in step with the
 * options snapshot (config version in Redis), and the token-key cache. */
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <uv.h>
#include "adapters/adapter.h"
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/relay/relay_int.h"
#include "gateway/state/config_watch.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define KEY_BUCKETS 4096
#define KEY_MAX 100000
/* Token and user fields read before authorize (groups, IP list, model
 * limits, role) are cached this long; authorize itself always reads the
 * live status and quota, and refuses when the settings version the entry was
 * read with is no longer the live one (the entry is then read again), so a
 * change applies to the next call. Any config change flushes the cache too. */
#define KEY_TTL_US (5 * 1000000ull)

struct key_node {
    struct key_node *next;
    char hash[65];
    uint64_t expires_us;
    struct gw_key_info info;
};

struct gw_relay_worker *gw__relay(struct gw_worker *w) { return w->relay; }

void gw__key_info_retain(struct gw_key_info *info)
{
    if (info->lists)
        info->lists->refs++;
}

void gw__key_info_release(struct gw_key_info *info)
{
    struct gw_key_lists *l = info->lists;
    info->lists = NULL;
    if (l && --l->refs == 0) {
        gw_cidr_list_free(l->ips);
        gw_free(l->model_limits);
        gw_free(l);
    }
}

int gw__key_ip_allowed(const struct gw_key_info *info, const char *ip)
{
    const struct gw_key_lists *l = info->lists;
    if (!l || l->ips_bad)
        return 0;
    return gw_cidr_list_match(l->ips, ip);
}

static void node_free(struct key_node *n)
{
    gw__key_info_release(&n->info);
    gw_free(n);
}

static void keys_flush(struct gw_relay_worker *rw)
{
    for (size_t i = 0; i < KEY_BUCKETS; i++) {
        struct key_node *n = rw->keys[i];
        while (n) {
            struct key_node *next = n->next;
            node_free(n);
            n = next;
        }
        rw->keys[i] = NULL;
    }
    rw->nkeys = 0;
}

static size_t bucket(const char *hash)
{
    size_t h = 0;
    for (int i = 0; i < 12 && hash[i]; i++)
        h = h * 31 + (unsigned char)hash[i];
    return h % KEY_BUCKETS;
}

int gw__relay_key_get(struct gw_worker *w, const char *hash, struct gw_key_info *out)
{
    struct key_node **pp = &w->relay->keys[bucket(hash)];
    for (struct key_node *n = *pp; n; pp = &n->next, n = n->next) {
        if (strcmp(n->hash, hash) != 0)
            continue;
        if (gw_clock_mono_us() >= n->expires_us) { /* stale: drop, the caller looks it up again */
            *pp = n->next;
            node_free(n);
            w->relay->nkeys--;
            return GW_ENOTFOUND;
        }
        *out = n->info;
        gw__key_info_retain(out);
        return GW_OK;
    }
    return GW_ENOTFOUND;
}

void gw__relay_key_put(struct gw_worker *w, const char *hash, const struct gw_key_info *in)
{
    struct gw_relay_worker *rw = w->relay;
    if (rw->nkeys >= KEY_MAX)
        keys_flush(rw); /* bounded memory; a miss costs one Redis round trip */
    struct key_node *n = gw_calloc(1, sizeof *n);
    if (!n)
        return;
    snprintf(n->hash, sizeof n->hash, "%s", hash);
    n->info = *in;
    gw__key_info_retain(&n->info);
    n->expires_us = gw_clock_mono_us() + KEY_TTL_US;
    size_t b = bucket(hash);
    n->next = rw->keys[b];
    rw->keys[b] = n;
    rw->nkeys++;
}

void gw__relay_key_drop(struct gw_worker *w, const char *hash)
{
    struct key_node **pp = &w->relay->keys[bucket(hash)];
    for (struct key_node *n = *pp; n; pp = &n->next, n = n->next)
        if (strcmp(n->hash, hash) == 0) {
            *pp = n->next;
            node_free(n);
            w->relay->nkeys--;
            return;
        }
}

void gw__relay_key_hint(struct gw_worker *w, const char *hash, int spec_ok)
{
    for (struct key_node *n = w->relay->keys[bucket(hash)]; n; n = n->next)
        if (strcmp(n->hash, hash) == 0) {
            n->info.spec_ok = spec_ok;
            return;
        }
}

/* ---- routing table ---------------------------------------------------------- */

struct gw_route_ref *gw__relay_route_ref(struct gw_worker *w)
{
    struct gw_route_ref *ref = w->relay->route;
    if (ref)
        ref->refs++;
    return ref;
}

void gw__relay_route_unref(struct gw_route_ref *ref)
{
    if (ref && --ref->refs == 0) {
        gw_routing_free(ref->table);
        gw_free(ref);
    }
}

static void swap_table(struct gw_worker *w, gw_routing *t)
{
    struct gw_route_ref *ref = gw_calloc(1, sizeof *ref);
    if (!ref) {
        gw_routing_free(t);
        return;
    }
    ref->table = t;
    ref->refs = 1; /* the worker's own */
    gw__relay_route_unref(w->relay->route);
    w->relay->route = ref;
    w->relay->ndown = 0; /* the new table knows their status */
}

int gw__relay_channel_down(long long channel_id, void *data)
{
    struct gw_relay_worker *rw = ((struct gw_worker *)data)->relay;
    for (int i = 0; i < rw->ndown; i++)
        if (rw->down[i] == channel_id)
            return 1;
    return 0;
}

void gw__relay_mark_down(struct gw_worker *w, long long channel_id)
{
    struct gw_relay_worker *rw = w->relay;
    if (!gw__relay_channel_down(channel_id, w) && rw->ndown < (int)(sizeof rw->down / sizeof rw->down[0]))
        rw->down[rw->ndown++] = channel_id;
}

enum { FRESH_IDLE, FRESH_GET, FRESH_LOAD }; /* gw_relay_worker.fresh_state */

struct load_job {
    uv_work_t work;
    struct gw_worker *w;
    gw_routing *table;
    long long ver; /* the config version read before the load; -1 unknown */
    char err[256];
    int rc;
};

static void load_run(uv_work_t *wk)
{
    struct load_job *j = wk->data;
    gw_store *st;
    j->rc = gw_store_pool_get(j->w->pool, &st);
    if (j->rc != GW_OK)
        return;
    j->rc = gw_routing_load(st, &j->table, j->err, sizeof j->err);
    gw_store_pool_put(j->w->pool, st);
}

static void start_load(struct gw_worker *w, long long ver);
static void fresh_part_done(struct gw_worker *w);

static void load_done(uv_work_t *wk, int status)
{
    struct load_job *j = wk->data;
    struct gw_worker *w = j->w;
    struct gw_relay_worker *rw = w->relay;
    long long ver = j->ver;
    /* The worker frees its relay state only once the loop has drained (so
     * after this callback), but check before the first use, not after it. */
    if (!rw) {
        gw_routing_free(j->table);
        gw_free(j);
        return;
    }
    rw->reloading = 0;
    if (j->rc == GW_OK && j->table) {
        swap_table(w, j->table);
        if (ver > rw->route_ver)
            rw->route_ver = ver;
    } else {
        GW_ERROR("routing table reload failed: %s", j->err[0] ? j->err : gw_strerror(j->rc));
        gw_routing_free(j->table);
    }
    gw_free(j);
    if (ver >= 0 && rw->fresh_state == FRESH_LOAD && !rw->fresh_queued)
        fresh_part_done(w); /* the forced load is in */
    if (rw->reloading)
        return;
    if (rw->fresh_queued) {
        rw->fresh_queued = 0;
        if (rw->stopping)
            fresh_part_done(w); /* its calls end now */
        else
            start_load(w, rw->fresh_ver);
    } else if (rw->reload_again && !rw->stopping) {
        rw->reload_again = 0;
        start_load(w, -1);
    }
}

/* One load at a time: a table swapped in was read after the one it replaces. */
static void start_load(struct gw_worker *w, long long ver)
{
    struct gw_relay_worker *rw = w->relay;
    struct load_job *j = gw_calloc(1, sizeof *j);
    if (!j) {
        if (ver >= 0 && rw->fresh_state == FRESH_LOAD)
            fresh_part_done(w);
        return;
    }
    j->w = w;
    j->ver = ver;
    j->work.data = j;
    rw->reloading = 1;
    if (uv_queue_work(&w->loop, &j->work, load_run, load_done) != 0) {
        rw->reloading = 0;
        gw_free(j);
        if (ver >= 0 && rw->fresh_state == FRESH_LOAD)
            fresh_part_done(w);
    }
}

static void reload_routing(struct gw_worker *w)
{
    if (w->relay->reloading)
        w->relay->reload_again = 1; /* that load may predate the change: one more after it */
    else
        start_load(w, -1);
}

/* ---- reload on a miss ------------------------------------------------------------ */

struct fresh_wait {
    struct fresh_wait *next;
    struct rcall *c;
    void (*then)(struct rcall *c);
};

static void fresh_begin(struct gw_worker *w);

/* The calls of this round look again (or, while the worker stops, end). */
static void fresh_finish(struct gw_worker *w)
{
    struct gw_relay_worker *rw = w->relay;
    struct fresh_wait *list = rw->fresh_inflight;
    rw->fresh_inflight = NULL;
    rw->fresh_state = FRESH_IDLE;
    if (rw->stopping) { /* everyone ends now */
        struct fresh_wait **tail = &list;
        while (*tail)
            tail = &(*tail)->next;
        *tail = rw->fresh_pending;
        rw->fresh_pending = NULL;
    } else if (rw->fresh_pending) {
        fresh_begin(w); /* calls that came after this round's version read */
    }
    while (list) {
        struct fresh_wait *next = list->next;
        if (rw->stopping) {
            gw__relay_fail(list->c, 503, "new_api_error", "model_not_found",
                           "the gateway is shutting down, retry shortly");
            gw__relay_to(list->c, GW_RS_DONE);
        } else {
            list->then(list->c);
        }
        gw_free(list);
        list = next;
    }
}

/* One of the round's loads (routing table, options snapshot) is in; after the
 * last the ratios follow the new snapshot and the calls look again. */
static void fresh_part_done(struct gw_worker *w)
{
    struct gw_relay_worker *rw = w->relay;
    if (--rw->fresh_parts > 0)
        return;
    if (!rw->stopping)
        gw__relay_refresh(w);
    fresh_finish(w);
}

static void fresh_options_done(void *data) { fresh_part_done(data); }

static void on_fresh_version(int status, redisReply *reply, void *data)
{
    struct gw_worker *w = data;
    struct gw_relay_worker *rw = w->relay;
    long long v = -1;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_NIL)
        v = 0;
    else if (status == GW_OK && reply && reply->type == REDIS_REPLY_STRING)
        gw_str_to_ll(gw_str_c(reply->str), 0, 1LL << 62, &v);
    if (v < 0 || rw->stopping) { /* the version is unknown: nothing to catch up to */
        fresh_finish(w);
        return;
    }
    rw->fresh_state = FRESH_LOAD;
    rw->fresh_ver = v;
    rw->fresh_parts = 3; /* routing table, options snapshot, and this function */
    if (v <= rw->route_ver)
        rw->fresh_parts--; /* the table already holds v */
    else if (rw->reloading)
        rw->fresh_queued = 1; /* the load in flight may predate v */
    else
        start_load(w, v);
    /* The options (prices) too: the snapshot follows at once when it holds v. */
    if (gw_cfgwatch_catch_up(w->cfgwatch, v, fresh_options_done, w) != GW_OK)
        fresh_part_done(w);
    fresh_part_done(w);
}

static void fresh_begin(struct gw_worker *w)
{
    struct gw_relay_worker *rw = w->relay;
    rw->fresh_inflight = rw->fresh_pending;
    rw->fresh_pending = NULL;
    rw->fresh_state = FRESH_GET;
    if (gw_redis_command(w->redis, on_fresh_version, w, "GET %s", GW_CFGWATCH_VERSION_KEY) !=
        GW_OK)
        fresh_finish(w);
}

void gw__relay_freshen(struct rcall *c, void (*then)(struct rcall *c))
{
    struct gw_relay_worker *rw = c->w->relay;
    struct fresh_wait *f = rw->stopping ? NULL : gw_calloc(1, sizeof *f);
    c->freshened = 1;
    if (!f) {
        then(c);
        return;
    }
    f->c = c;
    f->then = then;
    f->next = rw->fresh_pending;
    rw->fresh_pending = f;
    if (rw->fresh_state == FRESH_IDLE)
        fresh_begin(c->w);
}

/* Only what an admin saved: an unset ratio option means the reference's
 * built-in table (billing_defaults.c), not the registry's "{}" placeholder. */
static const char *opt_get(const char *key, void *data)
{
    struct gw_worker *w = data;
    return gw_cfgwatch_get(w->cfgwatch, key);
}

void gw__relay_refresh(struct gw_worker *w)
{
    struct gw_relay_worker *rw = w->relay;
    struct gw_cfgwatch_stats st;
    char err[256];
    gw_cfgwatch_get_stats(w->cfgwatch, &st);
    if (st.loads == rw->seen_loads && rw->route)
        return;
    if (st.loads != rw->seen_loads || !rw->ratios) {
        gw_ratios *r = NULL;
        if (gw_ratios_build(opt_get, w, &r, err, sizeof err) == GW_OK) {
            gw_ratios_free(rw->ratios);
            rw->ratios = r;
        } else {
            GW_ERROR("ratio options invalid, keeping the previous tables: %s", err);
        }
        keys_flush(rw); /* token groups, limits or IP lists may have changed */
    }
    rw->seen_loads = st.loads;
    reload_routing(w);
}

static void health_done(const struct gw_health_result *res, void *data)
{
    if (res->status != GW_OK)
        GW_WARN("channel health not recorded: %s", res->error);
}

static void health_send(struct gw_worker *w, long long cid, int ok, long long uses)
{
    struct gw_health_req h = {.cid = cid, .op = ok ? GW_HEALTH_SUCCESS : GW_HEALTH_FAILURE,
                              .now_ms = gw_clock_wall_ms(), .threshold = 0,
                              .half_life_ms = 60000, .uses = uses};
    gw_ledger_channel_health(w->redis, &h, health_done, NULL);
}

void gw__relay_health_flush(struct gw_worker *w)
{
    struct gw_relay_worker *rw = w->relay;
    for (int i = 0; i < rw->noks; i++)
        health_send(w, rw->oks[i].cid, 1, rw->oks[i].n);
    rw->noks = 0;
}

void gw__relay_health(struct gw_worker *w, long long cid, int ok)
{
    struct gw_relay_worker *rw = w->relay;
    if (!ok) {
        health_send(w, cid, 0, 1);
        return;
    }
    for (int i = 0; i < rw->noks; i++)
        if (rw->oks[i].cid == cid) {
            if (++rw->oks[i].n >= 1000000) /* the script's bound */
                gw__relay_health_flush(w);
            return;
        }
    if (rw->noks == (int)(sizeof rw->oks / sizeof rw->oks[0]))
        gw__relay_health_flush(w);
    rw->oks[rw->noks].cid = cid;
    rw->oks[rw->noks].n = 1;
    rw->noks++;
}

/* glibc keeps freed heap pages: after thousands of streams close, RSS would
 * stay at its peak. Once the live request count has fallen well below its
 * peak, malloc_trim gives the free pages back (also those inside the heap). */
static void trim_heap(struct gw_worker *w)
{
    struct gw_relay_worker *rw = w->relay;
    uint64_t live = w->stats.live_reqs;
    if (live > rw->live_peak)
        rw->live_peak = live;
    if (rw->live_peak >= live + 256 && live <= rw->live_peak / 2) {
        malloc_trim(0);
        rw->live_peak = live;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct gw_worker *w = t->data;
    gw__relay_refresh(w);
    gw__relay_settle_tick(w);
    if (++w->relay->ticks % 10 == 0) {
        gw__relay_health_flush(w);
        trim_heap(w);
    }
}

int gw_relay_worker_init(struct gw_worker *w)
{
    struct gw_relay_worker *rw = gw_calloc(1, sizeof *rw);
    if (!rw)
        return GW_ENOMEM;
    rw->keys = gw_calloc(KEY_BUCKETS, sizeof *rw->keys);
    if (!rw->keys) {
        gw_free(rw);
        return GW_ENOMEM;
    }
    rw->rng = w->rng ^ 0x2545F4914F6CDD1Dull;
    gw_azure_set_default_api_version(w->cfg->azure_default_api_version);
    w->relay = rw;
    char err[256];
    gw_ratios_build(opt_get, w, &rw->ratios, err, sizeof err);
    rw->route_ver = -1;
    reload_routing(w); /* the first table arrives before most clients do */
    uv_timer_init(&w->loop, &rw->tick);
    rw->tick.data = w;
    uv_timer_start(&rw->tick, on_tick, 100, 100);
    gw_channel_tests_start(w, &rw->chtest);
    return GW_OK;
}

void gw_relay_worker_stop(struct gw_worker *w)
{
    if (w->relay) {
        w->relay->stopping = 1; /* calls waiting for a reload end with a 503 */
        if (w->relay->fresh_state == FRESH_IDLE && w->relay->fresh_pending)
            fresh_finish(w); /* else when the version read or the load comes back */
        gw__relay_health_flush(w); /* Redis is still connected here */
        uv_timer_stop(&w->relay->tick);
        uv_close((uv_handle_t *)&w->relay->tick, NULL);
        uv_timer_stop(&w->relay->chtest);
        uv_close((uv_handle_t *)&w->relay->chtest, NULL);
        gw_channel_tests_abort(w); /* before the upstream goes */
        gw__relay_settle_stop(w);  /* before Redis goes: its replies come back closed */
    }
}

void gw_relay_worker_free(struct gw_worker *w)
{
    struct gw_relay_worker *rw = w->relay;
    if (!rw)
        return;
    keys_flush(rw);
    gw_free(rw->keys);
    gw__relay_route_unref(rw->route);
    gw_ratios_free(rw->ratios);
    gw_free(rw);
    w->relay = NULL;
}
