/* Ledger persister: a supervisor thread that applies the Redis ledger streams
 * (scripts/README.md) to SQL, exactly once.
 *
 * Streams: tf:{s0}:ledger ... tf:{s15}:ledger, read with the consumer group
 * "persister" (created with MKSTREAM), consumer name hostname:pid. Each batch is one
 * SQL transaction: the `logs` rows, the deltas on users / tokens / channels (summed
 * per row over the batch: one UPDATE per distinct id), and the stream's row in
 * ledger_cursors. XACK only after COMMIT. Reads are paced (flush_ms below) so that a
 * batch holds many entries even at a low request rate.
 *
 * The rule that makes it exactly once, with any number of replicas and crashes:
 *   inside the transaction, with the cursor row locked (SELECT ... FOR UPDATE; SQLite's
 *   BEGIN IMMEDIATE), the persister applies exactly the stream entries in
 *   (cursor, max id it was delivered] read with XRANGE, in stream order, and moves the
 *   cursor to the last one. The applied range therefore always starts right after the
 *   cursor and has no holes, whoever received which entries from the group: entries at
 *   or below the cursor are replays (a crash between COMMIT and XACK, another replica
 *   got there first) and are only acknowledged. Applying "the entries this consumer was
 *   delivered" alone would be wrong: a consumer group splits a stream between
 *   consumers, and a replica that commits ids 11..20 first would make ids 1..10, held by
 *   another replica, look like replays.
 * Delivered entries come from XREADGROUP "0" (this consumer's own pending entries after
 * a restart), XAUTOCLAIM (entries pending on a dead consumer for claim_idle_ms) and
 * XREADGROUP ">" with a short BLOCK, so stop is prompt.
 *
 * Failures: SQL errors roll back and the same range is retried with backoff (100 ms
 * doubling to 5 s); nothing is acknowledged before it is committed, nothing is dropped.
 * A malformed entry (missing or non-numeric field, unknown type) applies nothing but the
 * cursor still moves past it, in the same transaction; it is logged and counted, so a
 * poison entry never blocks its stream. Text fields are made safe for every dialect
 * before they reach SQL (valid UTF-8, no NUL, cut to the column size), so a batch that
 * SQL rejects is a systemic problem (schema, permissions): it is retried, never skipped.
 *
 * Trimming: every trim_interval_ms each stream is trimmed (XTRIM MINID ~) below
 * min(cursor, the group's last-delivered id): only entries already applied to SQL and
 * already delivered go. The cursor is one row per stream shared by all replicas, so it
 * is the lowest cursor there is.
 *
 * Logging: this is a thread with no caller to return to, so it logs (gateway/core/log.h)
 * SQL and Redis failures (once per outage, then on recovery) and every malformed entry. */
#ifndef GW_PERSIST_PERSISTER_H
#define GW_PERSIST_PERSISTER_H
#include <pthread.h>
#include <stddef.h>
#include <hiredis/hiredis.h>
#include "gateway/core/err.h"
#include "gateway/state/redis.h"   /* struct gw_redis_addr only: gwpersist does not link
                                      gwstate, so nothing declared there is called */

#define GW_LEDGER_SHARDS 16
#define GW_LEDGER_GROUP "persister"

typedef struct gw_persister gw_persister;

struct gw_persister_opts {
    const char *sql_dsn;            /* SQL_DSN conventions (store.h); NULL/"" = SQLite */
    const char *sqlite_path;        /* SQLite file; NULL = store default */
    struct gw_redis_addr redis;     /* copied; e.g. from gw_redis_parse_url() */
    const char *consumer;           /* NULL = "hostname:pid" */
    unsigned batch_max;             /* entries per transaction; 0 = 64 */
    unsigned block_ms;              /* XREADGROUP BLOCK; 0 = 200 */
    /* Pacing: after a read that delivered entries but no stream's full batch_max, the
     * thread waits flush_ms (stop still interrupts it) before reading again, so that
     * under load a transaction carries many entries instead of one. This is the most
     * an applied entry waits beyond the read itself. 0 = 50; no_pacing = 1 reads
     * again at once. */
    unsigned flush_ms;
    int no_pacing;
    unsigned claim_idle_ms;         /* XAUTOCLAIM min idle; 0 = 30000 */
    unsigned backoff_min_ms;        /* 0 = 100 */
    unsigned backoff_max_ms;        /* 0 = 5000 */
    unsigned trim_interval_ms;      /* 0 = 10000 */
    int no_trim;                    /* 1: never XTRIM */
    unsigned stats_interval_ms;     /* lag refresh; 0 = 1000 */
    /* Test hook, NULL in production: called after each COMMIT and before its XACK.
     * Returning non-zero makes the thread exit on the spot without acknowledging,
     * as if the process had died between COMMIT and XACK. */
    int (*on_commit)(void *arg, int shard, size_t applied);
    void *hook_arg;
};

struct gw_persister_stats {
    /* Entries not yet applied, per stream: the group's pending count plus its lag
     * (entries not yet delivered), as of the last refresh; -1 before the first. */
    long long pending[GW_LEDGER_SHARDS];
    long long pending_total;
    long long max_age_ms;           /* age of the oldest unapplied entry; 0 = none */
    unsigned long long batches;     /* committed transactions that applied something */
    unsigned long long last_batch;  /* entries in the last committed batch */
    unsigned long long applied;     /* entries applied (malformed ones excluded) */
    unsigned long long replays;     /* delivered entries already at or below the cursor */
    unsigned long long malformed;   /* entries skipped as malformed (cursor moved past) */
    unsigned long long sql_errors;  /* failed SQL calls (each rolls the batch back) */
    unsigned long long retries;     /* batches retried after a failure */
    unsigned long long redis_errors;
    unsigned long long trimmed;     /* entries removed by XTRIM */
    int sql_up, redis_up;           /* last known state of each connection */
};

/* Copies *o (strings included) and starts the thread. It connects to SQL and Redis by
 * itself and keeps retrying both, so a server that is down at start is not an error.
 * GW_EINVAL for a bad option (no Redis target), GW_ENOMEM, GW_EIO if the thread
 * cannot be created. On success the caller stops it with gw_persister_stop(). */
int gw_persister_start(const struct gw_persister_opts *o, gw_persister **out);

/* Asks the thread to stop, joins it and frees everything. The thread notices within
 * about block_ms (or the current SQL/Redis call's timeout, at most ~3 s). A batch that
 * was not committed is simply not acknowledged: its entries are replayed by the next
 * start. NULL is a no-op. */
void gw_persister_stop(gw_persister *p);

/* A consistent snapshot of the counters; thread-safe. */
void gw_persister_stats(gw_persister *p, struct gw_persister_stats *out);

/* ---- Shared by persister.c, warm.c and reaper.c (persist/ only; in ledger_stream.c) */

/* Blocking hiredis connection with a connect timeout, timeout_ms as the read/write
 * timeout, then AUTH and SELECT when set. NULL with a message in err on failure.
 * (gateway/state has the same helper, but gwpersist cannot link gwstate.) */
redisContext *gw__persist_redis_connect(const struct gw_redis_addr *a, unsigned timeout_ms,
                                        char *err, size_t errlen);
/* "tf:{sN}:ledger" into buf (>= 32 bytes). */
void gw__ledger_key(int shard, char *buf, size_t len);
/* Stream ids "ms-seq" as two 64-bit numbers. parse: GW_EINVAL unless "ms" or "ms-seq"
 * of decimal digits. cmp: <0, 0, >0. */
struct gw_stream_id { unsigned long long ms, seq; };
int gw__stream_id_parse(const char *s, size_t len, struct gw_stream_id *out);
int gw__stream_id_cmp(struct gw_stream_id a, struct gw_stream_id b);
void gw__stream_id_fmt(struct gw_stream_id id, char *buf, size_t len);
/* Waits up to ms on cv (with mu) unless *stopping is or becomes set; returns
 * *stopping. Shared by the persister and reaper threads. */
int gw__nap(pthread_mutex_t *mu, pthread_cond_t *cv, const int *stopping, unsigned ms);

#endif
