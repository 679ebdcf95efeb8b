/* Reservation reaper driver: a supervisor thread that, every interval, runs
 * scripts/reap.lua on each of the 16 shards, so reservations abandoned by a dead or
 * stuck worker are refunded (the script writes a "reap" ledger entry for each).
 *
 * reap.lua's contract: KEYS tf:{sN}:res, tf:{sN}:resdl, tf:{sN}:ledger; ARGV shard N,
 * now_ms, max_count; returns the number reaped. The script text comes from the embedded
 * files (scripts/reap.lua), is loaded with SCRIPT LOAD and called with EVALSHA; a
 * NOSCRIPT reply (Redis restarted or flushed) reloads it. When a shard returns
 * max_count, it is called again at once (bounded per tick), so a backlog drains fast.
 * Redis failures are logged once per outage and retried on the next tick. */
#ifndef GW_PERSIST_REAPER_H
#define GW_PERSIST_REAPER_H
#include "gateway/state/redis.h"    /* struct gw_redis_addr only */

typedef struct gw_reaper gw_reaper;

struct gw_reaper_opts {
    struct gw_redis_addr redis;     /* copied */
    unsigned interval_ms;           /* 0 = 1000 */
    unsigned max_count;             /* per call; 0 = 1000 */
};

struct gw_reaper_stats {
    unsigned long long reaped;      /* reservations refunded */
    unsigned long long ticks;       /* completed passes over the 16 shards */
    unsigned long long errors;      /* failed calls (Redis down, script error) */
};

/* Starts the thread. GW_ENOTFOUND when scripts/reap.lua is not embedded in this build,
 * GW_EINVAL without a Redis target, GW_ENOMEM, GW_EIO if the thread cannot start.
 * Redis being down is not an error here: the thread keeps trying. */
int gw_reaper_start(const struct gw_reaper_opts *o, gw_reaper **out);
/* Stops and joins (within about one Redis timeout, 2 s) and frees. NULL is a no-op. */
void gw_reaper_stop(gw_reaper *r);
void gw_reaper_stats(gw_reaper *r, struct gw_reaper_stats *out);

#endif
