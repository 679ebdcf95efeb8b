/* Internals shared by the relay's files (not for other modules). */
#ifndef GW_RELAY_RELAY_INT_H
#define GW_RELAY_RELAY_INT_H

#include <stdint.h>
#include <uv.h>
#include "gateway/relay/billing.h"
#include "gateway/relay/routing.h"

struct gw_worker;
struct rcall;

/* A routing table with the references of the calls that use its channels:
 * a reload swaps in a new one; the old is freed when its last call ends. */
struct gw_route_ref {
    gw_routing *table;
    int refs;
};

/* What the worker remembers about a token key (flushed on config changes). */
struct gw_key_info {
    long long uid, tid;
    char token_group[65];
    char user_group[65];
    char allow_ips[512];    /* newline list; "" = any */
    int role;               /* the owner's role: pinning a channel needs admin */
    int model_limits_enabled;
    char model_limits[1024];/* comma list */
    int spec_ok;            /* last authorize here left ample budget: speculate */
};

struct gw_relay_worker {
    struct gw_route_ref *route;   /* current table; NULL until loaded */
    gw_ratios *ratios;
    uint64_t seen_loads;          /* options snapshots seen (cfgwatch loads) */
    int reloading;
    uint64_t rng;
    struct key_node **keys;       /* hash of sha256 hex → info */
    size_t nkeys;
    uv_timer_t tick;              /* notices new snapshots without waiting for a request */
    struct {
        long long cid, n;
    } oks[64];                    /* successes per channel, sent to Redis once a second */
    int noks, ticks;
    uint64_t live_peak; /* most requests alive since the last heap trim */
    long long down[32];           /* channels this worker just disabled; skipped until the
                                     reloaded table shows their status */
    int ndown;
    uv_timer_t chtest;            /* scheduled channel tests (channel_test.c) */
    struct ctest *ctests;         /* channel tests with a transfer in flight */
    struct rcall *settle_retries; /* calls whose settle waits for a retry (relay_settle.c) */
    int stopping;                 /* the worker stops: no more settle retries */
};

/* Arms the scheduled channel tests on timer (closed by the relay's stop). */
void gw_channel_tests_start(struct gw_worker *w, uv_timer_t *timer);
/* Shutdown: aborts the channel tests whose transfer is still in flight (a
 * background "test all" has no client whose close would end it). */
void gw_channel_tests_abort(struct gw_worker *w);

struct gw_relay_worker *gw__relay(struct gw_worker *w);
/* Settles whose retry is due are sent again (from the 100 ms tick). */
void gw__relay_settle_tick(struct gw_worker *w);
/* Shutdown: the settles still waiting to be retried are given up (logged). */
void gw__relay_settle_stop(struct gw_worker *w);
/* Notices a new options snapshot: rebuilds ratios and reloads routing. */
void gw__relay_refresh(struct gw_worker *w);
/* A reference to the current table (NULL when none); release with unref. */
struct gw_route_ref *gw__relay_route_ref(struct gw_worker *w);
void gw__relay_route_unref(struct gw_route_ref *ref);

int gw__relay_key_get(struct gw_worker *w, const char *hash, struct gw_key_info *out);
void gw__relay_key_put(struct gw_worker *w, const char *hash, const struct gw_key_info *in);
/* Records whether the next call of this key may start upstream before its
 * authorize reply (SPECULATIVE_AUTH); keeps the entry's expiry. */
void gw__relay_key_hint(struct gw_worker *w, const char *hash, int spec_ok);

/* Channels to skip now (routing skip callback; data is the worker). */
int gw__relay_channel_down(long long channel_id, void *data);
void gw__relay_mark_down(struct gw_worker *w, long long channel_id);
/* Records an attempt's outcome in the shared channel health (tf:ch:<cid>):
 * failures at once, successes batched per worker and flushed every second
 * (so a relayed call costs two Redis round trips, not three). */
void gw__relay_health(struct gw_worker *w, long long channel_id, int ok);
void gw__relay_health_flush(struct gw_worker *w);

/* 1 when ip is allowed by the newline list of IPs/CIDRs (empty = any). */
int gw__ip_allowed(const char *allow_ips, const char *ip);

#endif
