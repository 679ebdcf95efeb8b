/* Ledger persister: see persister.h for the contract and the exactly-once rule.
 * This file is the thread: connections, batches over the cursor, the sources of
 * delivered entries, acknowledging, trimming and stats. One entry is parsed and
 * applied to SQL in persister_apply.c; the stream helpers shared with warm.c and
 * reaper.c are in ledger_stream.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/log.h"
#include "persist/persister.h"
#include "persist/persister_apply.h"
#include "persist/store.h"

#define NS GW_LEDGER_SHARDS

struct gw_persister {
    struct gw_persister_opts o;
    char *dsn, *sqlite_path;
    char consumer[300];
    pthread_t thread;
    pthread_mutex_t mu;             /* guards stopping and st */
    pthread_cond_t cv;
    int stopping;
    struct gw_persister_stats st;

    /* Owned by the thread. */
    redisContext *rc;
    gw_store *db;
    struct gw__ledger_acc acc;              /* the current batch's summed deltas */
    char key[NS][32];
    struct gw_stream_id cursor[NS];         /* last committed, as far as we know */
    struct gw_stream_id delivered[NS];      /* group's last-delivered-id (XINFO) */
    int recovering[NS];                     /* reading our own pending entries ("0") */
    struct gw_stream_id recover_from[NS];
    char claim_from[NS][48];                /* XAUTOCLAIM cursor, "0-0" = start over */
    long long next_claim, next_trim, next_stats;
    unsigned backoff;
    int crashed;                            /* the test hook asked us to die */
    int sql_warned, redis_warned;
};

/* ---- thread plumbing ------------------------------------------------------------ */

static int stopping(gw_persister *p)
{
    pthread_mutex_lock(&p->mu);
    int s = p->stopping;
    pthread_mutex_unlock(&p->mu);
    return s || p->crashed;
}

/* Sleeps ms unless stop is asked first; returns 1 when stopping. */
static int nap(gw_persister *p, unsigned ms)
{
    return gw__nap(&p->mu, &p->cv, &p->stopping, ms);
}

static void back_off(gw_persister *p)
{
    nap(p, p->backoff);
    p->backoff = p->backoff * 2 > p->o.backoff_max_ms ? p->o.backoff_max_ms : p->backoff * 2;
}

#define STAT(p, stmt)                       \
    do {                                    \
        pthread_mutex_lock(&(p)->mu);       \
        stmt;                               \
        pthread_mutex_unlock(&(p)->mu);     \
    } while (0)

static void redis_lost(gw_persister *p, const char *what)
{
    if (!p->redis_warned)
        GW_ERROR("persister: redis %s: %s; retrying", what,
                 p->rc && p->rc->errstr[0] ? p->rc->errstr : "error");
    p->redis_warned = 1;
    if (p->rc)
        redisFree(p->rc);
    p->rc = NULL;
    STAT(p, (p->st.redis_errors++, p->st.redis_up = 0));
}

static void sql_failed(gw_persister *p, const char *what, int rc)
{
    if (!p->sql_warned)
        GW_ERROR("persister: SQL %s: %s (%s); retrying with backoff", what, gw_strerror(rc),
                 p->db ? gw_store_errmsg(p->db) : "");
    p->sql_warned = 1;
    STAT(p, (p->st.sql_errors++, p->st.sql_up = rc == GW_EIO ? 0 : p->st.sql_up));
    if (p->db && gw_store_in_tx(p->db))
        gw_store_rollback(p->db);
    if (p->db && rc == GW_EIO) {     /* reopen from scratch next time */
        gw_store_close(p->db);
        p->db = NULL;
    }
}

/* Runs a command given as NUL-terminated strings. NULL on I/O failure (the
 * connection is dropped then); error replies are returned for the caller to check. */
static redisReply *cmd(gw_persister *p, int argc, const char **argv, const char *what)
{
    size_t len[64];
    redisReply *r;

    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    r = redisCommandArgv(p->rc, argc, argv, len);
    if (r == NULL)
        redis_lost(p, what);
    return r;
}

static int ensure_redis(gw_persister *p)
{
    char err[300];

    if (p->rc)
        return GW_OK;
    p->rc = gw__persist_redis_connect(&p->o.redis, p->o.block_ms + 3000, err, sizeof err);
    if (p->rc == NULL) {
        if (!p->redis_warned)
            GW_ERROR("persister: %s; retrying", err);
        p->redis_warned = 1;
        STAT(p, p->st.redis_up = 0);
        return GW_EIO;
    }
    for (int s = 0; s < NS; s++) {
        const char *argv[] = { "XGROUP", "CREATE", p->key[s], GW_LEDGER_GROUP, "0",
                               "MKSTREAM" };
        redisReply *r = cmd(p, 6, argv, "XGROUP CREATE");
        if (r == NULL)
            return GW_EIO;
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
            GW_ERROR("persister: XGROUP CREATE %s: %s", p->key[s], r->str);
            freeReplyObject(r);
            redis_lost(p, "XGROUP CREATE");
            return GW_EIO;
        }
        freeReplyObject(r);
        /* After any (re)connect, first collect what this consumer was delivered and
         * did not acknowledge, then claim what dead consumers hold. */
        p->recovering[s] = 1;
        p->recover_from[s] = (struct gw_stream_id){0, 0};
        snprintf(p->claim_from[s], sizeof p->claim_from[s], "0-0");
    }
    p->next_claim = 0;
    if (p->redis_warned)
        GW_INFO("persister: redis connected");
    p->redis_warned = 0;
    STAT(p, p->st.redis_up = 1);
    return GW_OK;
}

static const char *cursor_select(gw_store *db)
{
    return gw_store_kind(db) == GW_DB_SQLITE
               ? "SELECT `last_id` FROM `ledger_cursors` WHERE `stream` = ?"
               : "SELECT `last_id` FROM `ledger_cursors` WHERE `stream` = ? FOR UPDATE";
}

static int read_cursor(gw_persister *p, int s, struct gw_stream_id *out)
{
    gw_sql_arg a = GW_SQL_TEXT(p->key[s]);
    gw_rows *rows = NULL;
    int rc = gw_store_query(p->db, cursor_select(p->db), &a, 1, &rows);
    const char *v;

    *out = (struct gw_stream_id){0, 0};
    if (rc != GW_OK)
        return rc;
    if (gw_rows_count(rows) > 0 && (v = gw_rows_get(rows, 0, 0)) != NULL &&
        gw__stream_id_parse(v, strlen(v), out) != GW_OK)
        GW_ERROR("persister: bad cursor %s for %s; treating it as 0-0", v, p->key[s]);
    gw_rows_free(rows);
    return GW_OK;
}

static int ensure_store(gw_persister *p)
{
    char err[300];
    int rc;

    if (p->db)
        return GW_OK;
    if (gw_store_open(p->dsn, p->sqlite_path, &p->db, err, sizeof err) != GW_OK) {
        if (!p->sql_warned)
            GW_ERROR("persister: SQL open: %s; retrying", err);
        p->sql_warned = 1;
        STAT(p, (p->st.sql_errors++, p->st.sql_up = 0));
        return GW_EIO;
    }
    /* Each cursor row exists before any batch, so SELECT ... FOR UPDATE always has a
     * row to lock (InnoDB would otherwise take gap locks and deadlock two replicas). */
    for (int s = 0; s < NS; s++) {
        gw_sql_arg a[] = { GW_SQL_TEXT(p->key[s]), GW_SQL_INT(gw_clock_wall_ms() / 1000) };
        rc = gw_store_exec(p->db,
                           "INSERT INTO `ledger_cursors` (`stream`, `last_id`, `updated_at`) "
                           "VALUES (?, '0-0', ?)", a, 2, NULL);
        if (rc == GW_OK || rc == GW_ECONFLICT)
            rc = read_cursor(p, s, &p->cursor[s]);
        if (rc != GW_OK) {
            sql_failed(p, "cursor setup", rc);
            gw_store_close(p->db);
            p->db = NULL;
            return rc;
        }
    }
    if (p->sql_warned)
        GW_INFO("persister: SQL connected");
    p->sql_warned = 0;
    STAT(p, p->st.sql_up = 1);
    return GW_OK;
}

/* ---- one batch ------------------------------------------------------------------- */

static int id_cmp(const void *a, const void *b)
{
    return gw__stream_id_cmp(*(const struct gw_stream_id *)a, *(const struct gw_stream_id *)b);
}

static void xack(gw_persister *p, int s, const struct gw_stream_id *ids, size_t n,
                 const redisReply *x)
{
    size_t nx = x ? x->elements : 0, argc = 0;
    const char **argv = gw_malloc((n + nx + 3) * sizeof *argv);
    size_t *len = gw_malloc((n + nx + 3) * sizeof *len);
    char (*buf)[48] = gw_malloc((n ? n : 1) * sizeof *buf);
    redisReply *r;

    if (argv == NULL || len == NULL || buf == NULL)
        goto out;   /* left pending: acknowledged as replays later */
    argv[argc++] = "XACK";
    argv[argc++] = p->key[s];
    argv[argc++] = GW_LEDGER_GROUP;
    for (size_t i = 0; i < n; i++) {
        gw__stream_id_fmt(ids[i], buf[i], sizeof buf[i]);
        argv[argc++] = buf[i];
    }
    for (size_t i = 0; i < nx; i++)
        argv[argc++] = x->element[i]->element[0]->str;
    for (size_t i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    if (argc > 3) {
        r = redisCommandArgv(p->rc, (int)argc, argv, len);
        if (r == NULL)
            redis_lost(p, "XACK");
        else
            freeReplyObject(r);
    }
out:
    gw_free(argv);
    gw_free(len);
    gw_free(buf);
}

/* True if r is a well-formed XRANGE reply: [[id, [f, v, ...] or nil], ...]. */
static int xrange_ok(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            return 0;
    }
    return 1;
}

/* One transaction over (cursor, max(ids)]; *done gets the new cursor. GW_ECLOSED when
 * the test hook simulated a crash. */
static int batch_once(gw_persister *p, int s, const struct gw_stream_id *ids, size_t n,
                      struct gw_stream_id *done)
{
    struct gw_stream_id c, last, maxd = ids[n - 1];
    char from[56], to[48], count[16], cur[48];
    redisReply *x = NULL;
    unsigned long long replays = 0, good = 0, bad = 0;
    int rc;

    if ((rc = gw_store_begin(p->db)) != GW_OK || (rc = read_cursor(p, s, &c)) != GW_OK) {
        sql_failed(p, "begin", rc);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        replays += gw__stream_id_cmp(ids[i], c) <= 0;
    last = c;
    if (gw__stream_id_cmp(maxd, c) > 0) {
        gw__stream_id_fmt(c, cur, sizeof cur);
        snprintf(from, sizeof from, "(%s", cur);
        gw__stream_id_fmt(maxd, to, sizeof to);
        snprintf(count, sizeof count, "%u", p->o.batch_max);
        const char *argv[] = { "XRANGE", p->key[s], from, to, "COUNT", count };
        if ((x = cmd(p, 6, argv, "XRANGE")) == NULL || !xrange_ok(x)) {
            if (x)
                GW_ERROR("persister: XRANGE %s: %s", p->key[s],
                         x->type == REDIS_REPLY_ERROR ? x->str : "unexpected reply");
            if (x)
                freeReplyObject(x);
            gw_store_rollback(p->db);
            return GW_EIO;
        }
        gw__ledger_acc_reset(&p->acc);      /* a failed attempt may have left some */
        for (size_t i = 0; i < x->elements; i++) {
            const redisReply *e = x->element[i];
            struct gw__ledger_entry en;
            const char *why;
            if (gw__ledger_entry_parse(e->element[1], &en, &why) != GW_OK) {
                GW_ERROR("persister: malformed ledger entry %s %s (%s): skipped",
                         p->key[s], e->element[0]->str, why);
                bad++;
                continue;
            }
            if ((rc = gw__ledger_entry_apply(p->db, &p->acc, &en)) != GW_OK) {
                sql_failed(p, "apply", rc);
                freeReplyObject(x);
                return rc;
            }
            good++;
        }
        if ((rc = gw__ledger_acc_flush(&p->acc, p->db)) != GW_OK) {
            sql_failed(p, "apply", rc);
            freeReplyObject(x);
            return rc;
        }
        /* A short reply covers everything up to maxd (holes are deleted entries); a full
         * one ends at its last entry and the rest waits for the next batch. */
        last = maxd;
        if (x->elements == p->o.batch_max &&
            gw__stream_id_parse(x->element[x->elements - 1]->element[0]->str,
                                x->element[x->elements - 1]->element[0]->len, &last) != GW_OK)
            last = maxd;
        static const char *const cols[] = { "stream", "last_id", "updated_at" };
        gw__stream_id_fmt(last, cur, sizeof cur);
        gw_sql_arg a[] = { GW_SQL_TEXT(p->key[s]), GW_SQL_TEXT(cur),
                           GW_SQL_INT(gw_clock_wall_ms() / 1000) };
        if ((rc = gw_store_upsert(p->db, "ledger_cursors", cols, 3, 1, a)) != GW_OK) {
            sql_failed(p, "cursor", rc);
            freeReplyObject(x);
            return rc;
        }
    }
    if ((rc = gw_store_commit(p->db)) != GW_OK) {
        sql_failed(p, "commit", rc);
        if (x)
            freeReplyObject(x);
        return rc;
    }
    p->cursor[s] = last;
    *done = last;
    pthread_mutex_lock(&p->mu);
    p->st.replays += replays;
    p->st.applied += good;
    p->st.malformed += bad;
    if (good + bad > 0) {
        p->st.batches++;
        p->st.last_batch = good + bad;
    }
    p->st.sql_up = 1;
    pthread_mutex_unlock(&p->mu);
    if (p->o.on_commit && p->o.on_commit(p->o.hook_arg, s, (size_t)(good + bad))) {
        p->crashed = 1;
        if (x)
            freeReplyObject(x);
        return GW_ECLOSED;
    }
    size_t nack = 0;
    while (nack < n && gw__stream_id_cmp(ids[nack], last) <= 0)
        nack++;
    xack(p, s, ids, nack, x);
    if (x)
        freeReplyObject(x);
    return GW_OK;
}

/* Applies until every id in ids[0..n) is at or below the committed cursor, retrying
 * with backoff. Returns GW_OK, or GW_ECLOSED when stopping. ids is sorted here. */
static int batch(gw_persister *p, int s, struct gw_stream_id *ids, size_t n)
{
    int failed = 0;

    qsort(ids, n, sizeof *ids, id_cmp);
    while (n > 0) {
        struct gw_stream_id done;
        int rc;
        if (stopping(p))
            return GW_ECLOSED;
        if (ensure_store(p) != GW_OK || ensure_redis(p) != GW_OK)
            rc = GW_EIO;
        else
            rc = batch_once(p, s, ids, n, &done);
        if (rc == GW_ECLOSED)
            return rc;
        if (rc != GW_OK) {
            failed++;
            STAT(p, p->st.retries++);
            back_off(p);
            continue;
        }
        if (failed && p->sql_warned == 0)
            GW_INFO("persister: %s applied after %d attempts", p->key[s], failed + 1);
        failed = 0;
        p->backoff = p->o.backoff_min_ms;
        size_t k = 0;
        while (k < n && gw__stream_id_cmp(ids[k], done) <= 0)
            k++;
        memmove(ids, ids + k, (n - k) * sizeof *ids);
        n -= k;
    }
    return GW_OK;
}

/* ids of the entries in an array reply; returns how many (0 on a malformed reply). */
static size_t collect_ids(const redisReply *r, struct gw_stream_id *ids, size_t max)
{
    size_t n = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < r->elements && n < max; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
            e->element[0]->type == REDIS_REPLY_STRING &&
            gw__stream_id_parse(e->element[0]->str, e->element[0]->len, &ids[n]) == GW_OK)
            n++;
    }
    return n;
}

/* ---- sources of delivered entries --------------------------------------------- */

/* XREADGROUP over our own pending entries ("0", then after the last one seen). */
static int recover(gw_persister *p, int s, struct gw_stream_id *ids)
{
    char from[48], count[16];
    const char *argv[] = { "XREADGROUP", "GROUP", GW_LEDGER_GROUP, p->consumer, "COUNT",
                           count, "STREAMS", p->key[s], from };
    redisReply *r;
    size_t n = 0;

    gw__stream_id_fmt(p->recover_from[s], from, sizeof from);
    snprintf(count, sizeof count, "%u", p->o.batch_max);
    if ((r = cmd(p, 9, argv, "XREADGROUP")) == NULL)
        return GW_EIO;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        n = collect_ids(r->element[0]->element[1], ids, p->o.batch_max);
    freeReplyObject(r);
    if (n == 0) {
        p->recovering[s] = 0;
        return GW_OK;
    }
    p->recover_from[s] = ids[n - 1];
    return batch(p, s, ids, n);
}

/* One XAUTOCLAIM page of entries idle on other (dead) consumers. *more: another page. */
static int claim(gw_persister *p, int s, struct gw_stream_id *ids, int *more)
{
    char idle[16], count[16];
    const char *argv[] = { "XAUTOCLAIM", p->key[s], GW_LEDGER_GROUP, p->consumer, idle,
                           p->claim_from[s], "COUNT", count };
    redisReply *r;
    size_t n = 0;

    snprintf(idle, sizeof idle, "%u", p->o.claim_idle_ms);
    snprintf(count, sizeof count, "%u", p->o.batch_max);
    *more = 0;
    if ((r = cmd(p, 8, argv, "XAUTOCLAIM")) == NULL)
        return GW_EIO;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(p->claim_from[s], sizeof p->claim_from[s], "%s", r->element[0]->str);
        *more = strcmp(r->element[0]->str, "0-0") != 0;
        n = collect_ids(r->element[1], ids, p->o.batch_max);
    }
    freeReplyObject(r);
    if (n > 0) {
        GW_WARN("persister: claimed %zu pending entries of %s from another consumer", n,
                p->key[s]);
        return batch(p, s, ids, n);
    }
    return GW_OK;
}

/* XREADGROUP ">" on all streams at once; blocks up to block_ms when block is set.
 * *most gets the largest number of entries one stream delivered. */
static int read_new(gw_persister *p, struct gw_stream_id *ids, int block, size_t *most)
{
    const char *argv[10 + 2 * NS];
    char count[16], blk[16];
    int argc = 0, rc = GW_OK;
    redisReply *r;

    *most = 0;
    snprintf(count, sizeof count, "%u", p->o.batch_max);
    snprintf(blk, sizeof blk, "%u", p->o.block_ms);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = GW_LEDGER_GROUP;
    argv[argc++] = p->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    if (block) {
        argv[argc++] = "BLOCK";
        argv[argc++] = blk;
    }
    argv[argc++] = "STREAMS";
    for (int s = 0; s < NS; s++)
        argv[argc++] = p->key[s];
    for (int s = 0; s < NS; s++)
        argv[argc++] = ">";
    if ((r = cmd(p, argc, argv, "XREADGROUP")) == NULL)
        return GW_EIO;
    if (r->type == REDIS_REPLY_ERROR) {
        GW_ERROR("persister: XREADGROUP: %s", r->str);
        freeReplyObject(r);
        redis_lost(p, "XREADGROUP");   /* e.g. NOGROUP after a flush: recreate groups */
        return GW_EIO;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == GW_OK; i++) {
        const redisReply *st = r->element[i];
        if (st->type != REDIS_REPLY_ARRAY || st->elements != 2)
            continue;
        for (int s = 0; s < NS; s++) {
            if (strcmp(st->element[0]->str, p->key[s]) != 0)
                continue;
            size_t n = collect_ids(st->element[1], ids, p->o.batch_max);
            *most = n > *most ? n : *most;
            if (n > 0)
                rc = batch(p, s, ids, n);
        }
    }
    freeReplyObject(r);
    return rc;
}

/* ---- lag, trimming ------------------------------------------------------------- */

static const redisReply *kv(const redisReply *m, const char *name)
{
    for (size_t i = 0; m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements; i += 2)
        if (m->element[i]->type == REDIS_REPLY_STRING && strcmp(m->element[i]->str, name) == 0)
            return m->element[i + 1];
    return NULL;
}

/* XINFO GROUPS: pending + lag of our group, and its last-delivered-id. */
static int group_info(gw_persister *p, int s, long long *pending)
{
    const char *argv[] = { "XINFO", "GROUPS", p->key[s] };
    redisReply *r = cmd(p, 3, argv, "XINFO");
    const redisReply *v;

    *pending = -1;
    if (r == NULL)
        return GW_EIO;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *g = r->element[i];
        if ((v = kv(g, "name")) == NULL || v->type != REDIS_REPLY_STRING ||
            strcmp(v->str, GW_LEDGER_GROUP) != 0)
            continue;
        *pending = (v = kv(g, "pending")) && v->type == REDIS_REPLY_INTEGER ? v->integer : 0;
        if ((v = kv(g, "lag")) && v->type == REDIS_REPLY_INTEGER)
            *pending += v->integer;
        if ((v = kv(g, "last-delivered-id")) && v->type == REDIS_REPLY_STRING)
            gw__stream_id_parse(v->str, v->len, &p->delivered[s]);
    }
    freeReplyObject(r);
    return GW_OK;
}

/* Age of the oldest entry after the cursor, 0 if none. */
static long long oldest_age(gw_persister *p, int s)
{
    char from[56], cur[48];
    gw__stream_id_fmt(p->cursor[s], cur, sizeof cur);
    snprintf(from, sizeof from, "(%s", cur);
    const char *argv[] = { "XRANGE", p->key[s], from, "+", "COUNT", "1" };
    redisReply *r = cmd(p, 6, argv, "XRANGE");
    struct gw_stream_id id;
    long long age = 0;

    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && collect_ids(r, &id, 1)) {
        age = gw_clock_wall_ms() - (long long)id.ms;
        age = age < 0 ? 0 : age;
    }
    if (r)
        freeReplyObject(r);
    return age;
}

static void refresh_cursors(gw_persister *p)
{
    gw_rows *rows = NULL;

    if (p->db == NULL ||
        gw_store_query(p->db, "SELECT `stream`, `last_id` FROM `ledger_cursors`", NULL, 0,
                       &rows) != GW_OK)
        return;
    for (size_t i = 0; i < gw_rows_count(rows); i++) {
        const char *k = gw_rows_get(rows, i, 0), *v = gw_rows_get(rows, i, 1);
        struct gw_stream_id id;
        for (int s = 0; k && v && s < NS; s++)
            if (strcmp(k, p->key[s]) == 0 && gw__stream_id_parse(v, strlen(v), &id) == GW_OK &&
                gw__stream_id_cmp(id, p->cursor[s]) > 0)
                p->cursor[s] = id;   /* another replica moved it */
    }
    gw_rows_free(rows);
}

static void housekeeping(gw_persister *p)
{
    long long now = gw_clock_wall_ms(), pend[NS], total = 0, maxage = 0;
    unsigned long long trimmed = 0;
    int trim = !p->o.no_trim && now >= p->next_trim;

    if (now < p->next_stats && !trim)
        return;
    refresh_cursors(p);
    for (int s = 0; s < NS && p->rc; s++) {
        long long age;
        if (group_info(p, s, &pend[s]) != GW_OK)
            return;
        total += pend[s] > 0 ? pend[s] : 0;
        if ((age = oldest_age(p, s)) > maxage)
            maxage = age;
        if (trim && p->rc && (p->cursor[s].ms || p->cursor[s].seq)) {
            struct gw_stream_id min = gw__stream_id_cmp(p->cursor[s], p->delivered[s]) < 0
                                          ? p->cursor[s] : p->delivered[s];
            char id[48];
            gw__stream_id_fmt(min, id, sizeof id);
            const char *argv[] = { "XTRIM", p->key[s], "MINID", "~", id };
            redisReply *r = cmd(p, 5, argv, "XTRIM");
            if (r && r->type == REDIS_REPLY_INTEGER)
                trimmed += (unsigned long long)r->integer;
            if (r)
                freeReplyObject(r);
        }
    }
    if (p->rc == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    memcpy(p->st.pending, pend, sizeof pend);
    p->st.pending_total = total;
    p->st.max_age_ms = maxage;
    p->st.trimmed += trimmed;
    pthread_mutex_unlock(&p->mu);
    p->next_stats = now + p->o.stats_interval_ms;
    if (trim)
        p->next_trim = now + p->o.trim_interval_ms;
}

/* ---- the thread ------------------------------------------------------------------ */

static void *run(void *arg)
{
    gw_persister *p = arg;
    struct gw_stream_id *ids = gw_xcalloc(p->o.batch_max, sizeof *ids);

    /* the process tag is the ledger process's ("ledger"), set by gw_ledger_main */
    while (!stopping(p)) {
        int busy = 0, rc = GW_OK;
        if (ensure_store(p) != GW_OK || ensure_redis(p) != GW_OK) {
            back_off(p);
            continue;
        }
        p->backoff = p->o.backoff_min_ms;
        for (int s = 0; s < NS && rc == GW_OK && p->rc; s++)
            if (p->recovering[s]) {
                rc = recover(p, s, ids);
                busy = 1;
            }
        if (rc == GW_OK && p->rc && !busy && gw_clock_wall_ms() >= p->next_claim) {
            int more = 0, any = 0;
            for (int s = 0; s < NS && rc == GW_OK && p->rc; s++) {
                rc = claim(p, s, ids, &more);
                any |= more;
            }
            busy = any;
            if (!any)
                p->next_claim = gw_clock_wall_ms() + p->o.claim_idle_ms / 2;
        }
        if (rc == GW_OK && p->rc && p->db)
            housekeeping(p);
        if (rc == GW_OK && p->rc) {
            size_t most = 0;
            rc = read_new(p, ids, !busy, &most);
            /* A short read means the streams are drained: let entries gather, so the
             * next transaction (and its fsync) carries many of them. A full one means a
             * backlog: read again at once. */
            if (rc == GW_OK && most > 0 && most < p->o.batch_max && !p->o.no_pacing)
                nap(p, p->o.flush_ms);
        }
    }
    gw_free(ids);
    gw__ledger_acc_free(&p->acc);
    if (p->rc)
        redisFree(p->rc);
    p->rc = NULL;
    gw_store_close(p->db);
    p->db = NULL;
    return NULL;
}

int gw_persister_start(const struct gw_persister_opts *o, gw_persister **out)
{
    gw_persister *p;
    pthread_condattr_t ca;
    char host[256] = "localhost";

    *out = NULL;
    if (o == NULL || (o->redis.unix_path[0] == '\0' && o->redis.host[0] == '\0'))
        return GW_EINVAL;
    if ((p = gw_calloc(1, sizeof *p)) == NULL)
        return GW_ENOMEM;
    p->o = *o;
    p->o.batch_max = o->batch_max ? o->batch_max : 64; /* bounds each XREADGROUP/XRANGE: Redis stays responsive */
    p->o.flush_ms = o->flush_ms ? o->flush_ms : 50;
    p->o.block_ms = o->block_ms ? o->block_ms : 200;
    p->o.claim_idle_ms = o->claim_idle_ms ? o->claim_idle_ms : 30000;
    p->o.backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : 100;
    p->o.backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 5000;
    p->o.trim_interval_ms = o->trim_interval_ms ? o->trim_interval_ms : 10000;
    p->o.stats_interval_ms = o->stats_interval_ms ? o->stats_interval_ms : 1000;
    p->backoff = p->o.backoff_min_ms;
    gw__ledger_acc_init(&p->acc);
    p->dsn = o->sql_dsn ? gw_strdup(o->sql_dsn) : NULL;
    p->sqlite_path = o->sqlite_path ? gw_strdup(o->sqlite_path) : NULL;
    if ((o->sql_dsn && !p->dsn) || (o->sqlite_path && !p->sqlite_path)) {
        gw_free(p->dsn);
        gw_free(p->sqlite_path);
        gw_free(p);
        return GW_ENOMEM;
    }
    p->o.sql_dsn = p->dsn;
    p->o.sqlite_path = p->sqlite_path;
    if (o->consumer) {
        snprintf(p->consumer, sizeof p->consumer, "%s", o->consumer);
    } else {
        gethostname(host, sizeof host - 1);
        snprintf(p->consumer, sizeof p->consumer, "%s:%ld", host, (long)getpid());
    }
    p->o.consumer = p->consumer;
    for (int s = 0; s < NS; s++) {
        gw__ledger_key(s, p->key[s], sizeof p->key[s]);
        p->st.pending[s] = -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        gw_free(p->dsn);
        gw_free(p->sqlite_path);
        gw_free(p);
        return GW_EIO;
    }
    *out = p;
    return GW_OK;
}

void gw_persister_stop(gw_persister *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    gw_free(p->dsn);
    gw_free(p->sqlite_path);
    gw_free(p);
}

void gw_persister_stats(gw_persister *p, struct gw_persister_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}
