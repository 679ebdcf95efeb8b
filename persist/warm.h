/* Cold start: load users, tokens and channels from SQL into a Redis that has no warm
 * marker. Called by the supervisor before it forks workers, with the persister already
 * running (this replica's or another's): a load waits for the ledger to drain.
 *
 * Keys written (scripts/README.md):
 *   tf:{sN}:u:<uid>   quota, reserved (0), used_quota, request_count, status, group,
 *                     role, username                          (N = uid % 16)
 *   tf:{sN}:t:<tid>   uid, status, name, expired_time, remain_quota, reserved (0),
 *                     unlimited_quota (0/1),
 *                     used_quota, model_limits_enabled (0/1), model_limits, group
 *                                                             (N = the owner's uid % 16)
 *   tf:tk:<sha256 hex of tokens.key as stored, without "sk-">  = "<uid>:<tid>"
 *   tf:chcfg:<cid>    channel configuration for routing: type, status, name, weight,
 *                     priority, models, group, base_url, model_mapping, tag, auto_ban
 *                     (SQL NULL reads as "" for text, 0 for numbers; the channel's API
 *                     key is NOT copied to Redis)
 *   tf:chcfg:ids      set of every channel id loaded (so the router need not SCAN)
 *   tf:warm           unix ms of the load, set last
 * Users and tokens with deleted_at set are skipped. tf:ch:<cid> (channel health) is not
 * touched. Rows go in pipelined batches of `chunk`.
 *
 * Consistency rule (why the persister never double-applies): a load happens only across
 * a quiet ledger. Before reading SQL, every ledger stream must have no entry after its
 * SQL cursor (ledger_cursors), so SQL already holds every money movement; and after
 * Redis is written, no stream may have a new entry (XINFO STREAM last-generated-id
 * unchanged), so nothing moved money while the snapshot was read. Otherwise the load
 * waits for the persister and runs again. Quota is loaded as the SQL quota with
 * reserved 0, which is the live invariant (SQL quota = Redis quota + reserved) with
 * nothing reserved. Entries appended later are applied by the persister to SQL only;
 * Redis already made the same change, so both stay equal.
 *
 * Locking: SET tf:warm:lock <token> NX PX lock_ttl_ms, renewed (compare and PEXPIRE)
 * between batches and while waiting for the ledger, released (compare and DEL) at the
 * end. A replica that finds the lock held polls for the marker; if the lock vanishes
 * without a marker (the loader died), it takes the lock and loads itself. */
#ifndef GW_PERSIST_WARM_H
#define GW_PERSIST_WARM_H
#include <hiredis/hiredis.h>
#include "persist/store.h"

struct gw_warm_opts {
    unsigned wait_ms;       /* bound on waiting for the marker or the ledger; 0 = 120000 */
    unsigned lock_ttl_ms;   /* 0 = 30000 */
    unsigned chunk;         /* rows per SQL page and Redis pipeline; 0 = 500 */
};

struct gw_warm_result {
    int loaded;             /* 1: this call loaded; 0: the marker was there or appeared */
    long long users, tokens, channels;
    long long waited_ms;    /* spent waiting for the lock holder or the ledger */
};

/* Ensures Redis is warm. db and rc are the caller's (a connection each, used only by
 * this call while it runs; rc's timeout should be a few seconds). o may be NULL.
 * Returns GW_OK (res says whether this call loaded), GW_ETIMEDOUT (no marker and no
 * quiet ledger within wait_ms), GW_ECONFLICT (the lock was lost mid-load: the marker
 * is not set), GW_EIO (Redis or SQL failed; SQL text in gw_store_errmsg(db)). On
 * failure the marker is not set, so the next call loads again. */
int gw_warm_run(gw_store *db, redisContext *rc, const struct gw_warm_opts *o,
                struct gw_warm_result *res);

#endif
