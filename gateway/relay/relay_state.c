/* Per-worker relay state: routing table and ratios kept in step with the
 * options snapshot (config version in Redis), and the token-key cache. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <uv.h>
#include "adapters/adapter.h"
#include "gateway/api/options.h"
#include "gateway/core/alloc.h"
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
 * live status and quota. Any config change flushes the cache too. */
#define KEY_TTL_US (5 * 1000000ull)

struct key_node {
    struct key_node *next;
    char hash[65];
    uint64_t expires_us;
    struct gw_key_info info;
};

struct gw_relay_worker *gw__relay(struct gw_worker *w) { return w->relay; }

static void keys_flush(struct gw_relay_worker *rw)
{
    for (size_t i = 0; i < KEY_BUCKETS; i++) {
        struct key_node *n = rw->keys[i];
        while (n) {
            struct key_node *next = n->next;
            gw_free(n);
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
        if (gw__now_us() >= n->expires_us) { /* stale: drop, the caller looks it up again */
            *pp = n->next;
            gw_free(n);
            w->relay->nkeys--;
            return GW_ENOTFOUND;
        }
        *out = n->info;
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
    n->expires_us = gw__now_us() + KEY_TTL_US;
    size_t b = bucket(hash);
    n->next = rw->keys[b];
    rw->keys[b] = n;
    rw->nkeys++;
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

struct load_job {
    uv_work_t work;
    struct gw_worker *w;
    gw_routing *table;
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

static void load_done(uv_work_t *wk, int status)
{
    struct load_job *j = wk->data;
    /* The worker frees its relay state only once the loop has drained (so
     * after this callback), but check before the first use, not after it. */
    if (j->w->relay)
        j->w->relay->reloading = 0;
    if (j->rc == GW_OK && j->table && j->w->relay)
        swap_table(j->w, j->table);
    else {
        GW_ERROR("routing table reload failed: %s", j->err[0] ? j->err : gw_strerror(j->rc));
        gw_routing_free(j->table);
    }
    gw_free(j);
}

static void reload_routing(struct gw_worker *w)
{
    struct load_job *j = gw_calloc(1, sizeof *j);
    if (!j)
        return;
    j->w = w;
    j->work.data = j;
    w->relay->reloading = 1;
    if (uv_queue_work(&w->loop, &j->work, load_run, load_done) != 0) {
        w->relay->reloading = 0;
        gw_free(j);
    }
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
    if (!rw->reloading)
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
                              .now_ms = gw__now_ms_wall(), .threshold = 0,
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

/* ---- IP allow-lists ----------------------------------------------------------- */

static int cidr_match(const char *spec, const char *ip)
{
    char net[64];
    int bits = -1;
    const char *slash = strchr(spec, '/');
    size_t n = slash ? (size_t)(slash - spec) : strlen(spec);
    if (n >= sizeof net)
        return 0;
    memcpy(net, spec, n);
    net[n] = '\0';
    long long v;
    if (slash && gw_str_to_ll(gw_str_c(slash + 1), 0, 128, &v) == GW_OK)
        bits = (int)v;
    unsigned char a[16], b[16];
    int fam = strchr(net, ':') ? AF_INET6 : AF_INET;
    size_t len = fam == AF_INET ? 4 : 16;
    if (inet_pton(fam, net, a) != 1 || inet_pton(fam, ip, b) != 1)
        return 0;
    if (bits < 0 || bits > (int)len * 8)
        bits = (int)len * 8;
    for (int i = 0; i < bits; i++) {
        unsigned m = 0x80u >> (i % 8);
        if ((a[i / 8] & m) != (b[i / 8] & m))
            return 0;
    }
    return 1;
}

int gw__ip_allowed(const char *allow_ips, const char *ip)
{
    if (!allow_ips || !*allow_ips)
        return 1;
    gw_str rest = gw_str_c(allow_ips), tok;
    while (gw_str_split(&rest, '\n', &tok)) {
        tok = gw_str_trim(tok);
        char spec[80];
        if (!tok.len || tok.len >= sizeof spec)
            continue;
        memcpy(spec, tok.base, tok.len);
        spec[tok.len] = '\0';
        if (cidr_match(spec, ip))
            return 1;
    }
    return 0;
}
