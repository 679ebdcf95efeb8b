/* Internals shared by the relay's files (not for other modules). */
#ifndef GW_RELAY_RELAY_INT_H
#define GW_RELAY_RELAY_INT_H

#include <stdint.h>
#include <uv.h>
#include "gateway/core/cidr.h"
#include "gateway/core/str.h"
#include "gateway/relay/billing.h"
#include "gateway/relay/routing.h"
#include "gateway/state/ledger.h"

struct gw_worker;
struct gw_dest_policy;
struct rcall;

/* A routing table with the references of the calls that use its channels:
 * a reload swaps in a new one; the old is freed when its last call ends. */
struct gw_route_ref {
    gw_routing *table;
    int refs;
};

/* The parts of a key's settings too large to copy into every call: shared,
 * read-only, by the cache entry and the calls that copied it; the last
 * reference frees them (gw__key_info_release). */
struct gw_key_lists {
    int refs;
    gw_cidr_list *ips;      /* parsed allow_ips; empty = any; NULL when ips_bad */
    int ips_bad;            /* the stored text does not parse: every IP is denied */
    char *model_limits;     /* comma list, whole; "" none */
};

/* What the worker remembers about a token key (flushed on config changes,
 * and replaced when authorize reports another settings version). Nothing
 * here is cut to fit: a group longer than its field makes the key `bad`,
 * which refuses its calls (fail closed) instead of truncating it. */
struct gw_key_info {
    long long uid, tid;
    char token_group[65];
    char user_group[65];
    int role;               /* the owner's role: pinning a channel needs admin */
    int model_limits_enabled;
    int spec_ok;            /* last authorize here left ample budget: speculate */
    int bad;                /* GW_KEY_BAD_*: refuse the call, never cached */
    char ver[GW_KEY_VER_MAX]; /* settings version: token sv "|" user sv */
    struct gw_key_lists *lists; /* a reference; NULL until the token fields came */
};

enum { GW_KEY_GOOD, GW_KEY_BAD_DATA /* a stored field is unusable */,
       GW_KEY_BAD_LOOKUP /* a field could not be read */ };

/* Drops info's reference to its lists (NULL-safe; leaves info->lists NULL). */
void gw__key_info_release(struct gw_key_info *info);
/* Takes one more reference for a copy of info. */
void gw__key_info_retain(struct gw_key_info *info);
/* 1 when ip may use the key: its allow-list is empty or matches, and it
 * parsed (an unparsable stored list denies everyone). */
int gw__key_ip_allowed(const struct gw_key_info *info, const char *ip);

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
    /* Reload on a miss (gw__relay_freshen). One routing load at a time, so a
     * table swapped in was always read after the one it replaces. */
    int reload_again;             /* a snapshot came while a load was in flight */
    long long route_ver;          /* the table holds every change whose version
                                     bump is <= this (-1: not known) */
    int fresh_state;              /* idle, reading the version, loading */
    int fresh_queued;             /* a forced load waits for the one in flight */
    long long fresh_ver;          /* version the forced load is for */
    int fresh_parts;              /* loads of this round still out */
    struct fresh_wait *fresh_pending, *fresh_inflight;
    struct rcall *settle_retries; /* calls whose settle waits for a retry (relay_settle.c) */
    int stopping;                 /* the worker stops: no more settle retries, and calls
                                     waiting for a reload end */
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
/* A call found no channel (or no price) for its model. Reads the config
 * version (tf:cfgver); when this worker's routing table or options snapshot
 * is older, loads it now, then calls then(c) (which looks again, once:
 * c->freshened).
 * Concurrent misses share one read and one load. Since a channel change bumps
 * the version before its API call answers, a call made after that answer
 * finds the channel on every worker of every replica. */
struct rcall;
void gw__relay_freshen(struct rcall *c, void (*then)(struct rcall *c));
/* A reference to the current table (NULL when none); release with unref. */
struct gw_route_ref *gw__relay_route_ref(struct gw_worker *w);
void gw__relay_route_unref(struct gw_route_ref *ref);

/* A copy of the cached entry in *out, holding its own reference to the lists
 * (release it with gw__key_info_release). GW_ENOTFOUND when absent or stale. */
int gw__relay_key_get(struct gw_worker *w, const char *hash, struct gw_key_info *out);
/* Caches a copy of *in (taking its own reference). */
void gw__relay_key_put(struct gw_worker *w, const char *hash, const struct gw_key_info *in);
/* Forgets the entry of hash (its settings changed). */
void gw__relay_key_drop(struct gw_worker *w, const char *hash);
/* Records whether the next call of this key may start upstream before its
 * authorize reply (SPECULATIVE_AUTH); keeps the entry's expiry. */
void gw__relay_key_hint(struct gw_worker *w, const char *hash, int spec_ok);

/* The destination policy of an attempt on ch (relay_dest.c): root's
 * channel_destination_setting options and ch->dest_set_by_root, into *p
 * for gw_xfer_opts.dest; then the static check of proxy and url (the
 * target behind a proxy is resolved by the proxy). GW_EPERM with the
 * reason in why when refused. */
int gw__relay_dest(struct gw_worker *w, const struct gw_channel *ch, const char *url,
                   const char *proxy, struct gw_dest_policy *p, char *why, size_t whylen);

/* Channels to skip now (routing skip callback; data is the worker). */
int gw__relay_channel_down(long long channel_id, void *data);
void gw__relay_mark_down(struct gw_worker *w, long long channel_id);
/* Records an attempt's outcome in the shared channel health (tf:ch:<cid>):
 * failures at once, successes batched per worker and flushed every second
 * (so a relayed call costs two Redis round trips, not three). */
void gw__relay_health(struct gw_worker *w, long long channel_id, int ok);
void gw__relay_health_flush(struct gw_worker *w);


/* Records which channel served a Responses response (responses_ops.c):
 * json is a Responses body (non-stream) or the response.created event's
 * data; its id → "channel_id:uid" in Redis for 30 days, fire and forget.
 * Call it when a Responses client's call went upstream as Responses. */
void gw__responses_remember(struct gw_worker *w, const char *json, size_t len,
                            long long channel_id, long long uid);

#endif
