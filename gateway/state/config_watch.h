/* A worker's snapshot of the SQL `options` table, kept fresh through a
 * version counter in Redis.
 *
 * Why a polled counter: the async Redis client has no pub/sub (one reply per
 * command), and the reference's answer — reload every SYNC_FREQUENCY
 * seconds — is too slow for an admin who just saved a setting. A writer
 * commits its SQL change and then INCRs GW_CFGWATCH_VERSION_KEY
 * (gw_cfgwatch_bump). Every worker of every replica GETs that key every
 * poll_ms on its own loop (one cheap command) and, when it differs from the
 * version of its snapshot, reloads the whole table on the thread pool and
 * swaps the snapshot in on the loop.
 *
 * Ordering: the version is read BEFORE the table, and the writer bumps AFTER
 * its commit, so a snapshot tagged with version v holds at least every
 * change whose bump produced a value <= v. A change racing a reload is
 * picked up by the next poll. Without Redis the table is still reloaded
 * every GW_CFGWATCH_FALLBACK_MS, so replicas converge anyway.
 *
 * Threading: everything here is called on the loop the watcher was started
 * on; only the SQL load runs on the thread pool. */
#ifndef GW_STATE_CONFIG_WATCH_H
#define GW_STATE_CONFIG_WATCH_H

#include <stdint.h>
#include <uv.h>
#include "gateway/state/redis.h"
#include "persist/store.h"

#define GW_CFGWATCH_VERSION_KEY "tf:cfgver" /* string counter, INCR by writers */
#define GW_CFGWATCH_POLL_MS 250
#define GW_CFGWATCH_FALLBACK_MS 60000       /* reload even without a version change */

typedef struct gw_cfgwatch gw_cfgwatch;

/* Starts polling at once (the first load is queued on the first tick).
 * redis and pool are borrowed: they must outlive the watcher's stop. NULL on
 * allocation failure or NULL arguments. */
gw_cfgwatch *gw_cfgwatch_start(uv_loop_t *loop, gw_redis *redis, gw_store_pool *pool,
                               unsigned poll_ms);

/* Stops polling. The memory is released once the timer is closed and any
 * Redis reply or SQL load in flight has come back (so call this before
 * gw_redis_free, and run the loop afterwards). NULL is a no-op. */
void gw_cfgwatch_stop(gw_cfgwatch *cw);

/* The value of key in the current snapshot, NULL when the table has no such
 * row (or nothing was loaded yet). Valid until control returns to the loop. */
const char *gw_cfgwatch_get(const gw_cfgwatch *cw, const char *key);

/* Applies one change to this worker's snapshot at once (the writer's own
 * worker need not wait for its next poll). GW_ENOMEM on failure. */
int gw_cfgwatch_set(gw_cfgwatch *cw, const char *key, const char *value);

/* Catching up on demand (the relay's reload on a miss): ver is a value of
 * GW_CFGWATCH_VERSION_KEY the caller has just read. When the snapshot already
 * holds it, cb(data) runs before this returns; otherwise a load starts now
 * (or right after the one in flight) and cb(data) runs on the loop once a
 * snapshot read after ver was read is in place, or the load failed, or the
 * watcher stops. GW_OK, or GW_ENOMEM / GW_EINVAL (cb not called). */
int gw_cfgwatch_catch_up(gw_cfgwatch *cw, long long ver, void (*cb)(void *data), void *data);

/* INCRs the version so every worker reloads. Fire and forget: a failure is
 * logged and leaves the fallback reload to converge. GW_OK when sent. */
int gw_cfgwatch_bump(gw_cfgwatch *cw);

/* Counters (tests, logs). */
struct gw_cfgwatch_stats {
    uint64_t loads;        /* snapshots swapped in */
    uint64_t load_errors;  /* SQL loads that failed */
    uint64_t polls;        /* version GETs sent */
    int loaded;            /* a snapshot exists */
};
void gw_cfgwatch_get_stats(const gw_cfgwatch *cw, struct gw_cfgwatch_stats *out);

#endif
