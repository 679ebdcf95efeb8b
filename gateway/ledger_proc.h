/* The ledger process (one per replica): the persister thread that applies
 * the Redis ledger streams to SQL exactly once, and the reaper thread that
 * refunds reservations whose deadline passed. A child of the supervisor, so
 * that the supervisor itself never runs threads across its forks. */
#ifndef GW_LEDGER_PROC_H
#define GW_LEDGER_PROC_H

#include "gateway/core/config.h"
#include "gateway/state/redis.h"

/* Runs until SIGTERM/SIGINT (which the caller keeps blocked: they are taken
 * with sigtimedwait), publishing this replica's counters every 2 s to
 * HSET tf:nodes <node> <json> for GET /api/status. Returns the exit status. */
int gw_ledger_main(const struct gw_config *cfg, const struct gw_redis_addr *redis,
                   const char *node);

#endif
