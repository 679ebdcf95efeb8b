/* persist/persister (and the reaper driver): the ledger applied to SQL exactly once,
 * against a real redis-server and SQL: a fresh SQLite file, or GW_TEST_DSN (a THROWAWAY
 * MySQL/MariaDB or PostgreSQL database; the core tables are dropped and migrated).
 * tests/integration/test_ledger.py runs this binary per dialect; with GW_TEST_SQL_CTL
 * ("rfd,wfd", pipes to that script) it also runs the SQL-server outage case. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include "gateway/core/embed.h"
#include "persist/persister.h"
#include "persist/persister_apply.h"
#include "persist/reaper.h"
#include "persist/store.h"
#include "tests/unit/support/redis_server.h"

static const char *dsn;             /* NULL: SQLite */
static char tmpdir[64], dbpath[128];
static gw_store *db;
static struct gw_test_redis server;
static redisContext *rc;

#define NUSERS 3
static const long long uids[NUSERS] = { 1, 2, 17 };    /* 1 and 17 share shard 1 */

/* ---- helpers ----------------------------------------------------------------------- */

static void ok(int r)
{
    if (r != GW_OK)
        fail_msg("store call failed: %s (%s)", gw_strerror(r), db ? gw_store_errmsg(db) : "");
}

static long long q_int(const char *sql, const gw_sql_arg *args, size_t n)
{
    gw_rows *r = NULL;
    long long v = -12345;
    ok(gw_store_query(db, sql, args, n, &r));
    assert_int_equal(gw_rows_count(r), 1);
    if (gw_rows_int(r, 0, 0, &v) != GW_OK)
        v = 0;              /* NULL: SUM over no rows */
    gw_rows_free(r);
    return v;
}

static redisReply *R(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    if (r == NULL)
        fail_msg("redis: %s", rc->errstr);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis error: %s", r->str);
    return r;
}

static long long R_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("expected an integer reply, got type %d (%s)", r->type,
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void msleep(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deltas and log fields of one entry; the expected SQL totals are summed from these. */
struct ent {
    long long uid, tid, cid, dq, du, drc, dtr, dtu, dcu, log, quota;
};

static struct {
    long long uq[NUSERS], uu[NUSERS], urc[NUSERS], tr[NUSERS], tu[NUSERS], cu;
    long long logs, n;
    long long qn[NUSERS], qq[NUSERS], qt[NUSERS];  /* quota_data: calls, quota, tokens */
} want;

static int uidx(long long uid)
{
    for (int i = 0; i < NUSERS; i++)
        if (uids[i] == uid)
            return i;
    fail_msg("unknown uid %lld", uid);
    return 0;
}

/* XADD one entry with exactly the fields of scripts/README.md; returns its id in id. */
static void xadd(const struct ent *e, char *id, size_t idlen)
{
    char key[32], v[10][24];
    gw__ledger_key((int)(e->uid % 16), key, sizeof key);
    long long nums[10] = { e->uid, e->tid, e->cid, e->dq, e->du, e->drc, e->dtr, e->dtu,
                           e->dcu, e->log };
    for (int i = 0; i < 10; i++)
        snprintf(v[i], sizeof v[i], "%lld", nums[i]);
    char q[24];
    snprintf(q, sizeof q, "%lld", e->quota);
    const char *argv[] = {
        "XADD", key, "*", "type", "consume", "uid", v[0], "tid", v[1], "cid", v[2],
        "ts", "1700000000", "dq", v[3], "du", v[4], "drc", v[5], "dtr", v[6], "dtu", v[7],
        "dcu", v[8], "log", v[9], "uname", "user", "tname", "tok", "model", "gpt-4o",
        "pt", "10", "ct", "20", "quota", q, "stream", "1", "ut", "2", "group", "default",
        "ip", "127.0.0.1", "rid", "req-1", "content", "c\xff\x00x", "other", "{\"a\":1}",
    };
    size_t n = sizeof argv / sizeof argv[0], len[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < n; i++)
        len[i] = strlen(argv[i]);
    len[n - 3] = 4;         /* content: invalid UTF-8 and a NUL the persister must clean */
    redisReply *r = redisCommandArgv(rc, (int)n, argv, len);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    if (id)
        snprintf(id, idlen, "%s", r->str);
    freeReplyObject(r);
    int i = uidx(e->uid);
    want.uq[i] += e->dq;
    want.uu[i] += e->du;
    want.urc[i] += e->drc;
    want.tr[i] += e->dtr;
    want.tu[i] += e->dtu;
    want.cu += e->dcu;
    want.logs += e->log != 0;
    if (e->log == 2) {          /* a consume log row: one call of the hour (pt + ct = 30) */
        want.qn[i]++;
        want.qq[i] += e->quota;
        want.qt[i] += 30;
    }
    want.n++;
}

/* A consume entry of user uids[k] on its own token (id 100 + uid) and channel 7. */
static void xadd_consume(int k, long long amount, char *id, size_t idlen)
{
    struct ent e = { .uid = uids[k], .tid = 100 + uids[k], .cid = 7, .dq = -amount,
                     .du = amount, .drc = 1, .dtr = -amount, .dtu = amount, .dcu = amount,
                     .log = 2, .quota = amount };
    xadd(&e, id, idlen);
}

static void check_sql(void)
{
    for (int i = 0; i < NUSERS; i++) {
        gw_sql_arg u = GW_SQL_INT(uids[i]), t = GW_SQL_INT(100 + uids[i]);
        assert_int_equal(q_int("SELECT `quota` FROM `users` WHERE `id` = ?", &u, 1),
                         1000000 + want.uq[i]);
        assert_int_equal(q_int("SELECT `used_quota` FROM `users` WHERE `id` = ?", &u, 1),
                         want.uu[i]);
        assert_int_equal(q_int("SELECT `request_count` FROM `users` WHERE `id` = ?", &u, 1),
                         want.urc[i]);
        assert_int_equal(q_int("SELECT `remain_quota` FROM `tokens` WHERE `id` = ?", &t, 1),
                         500000 + want.tr[i]);
        assert_int_equal(q_int("SELECT `used_quota` FROM `tokens` WHERE `id` = ?", &t, 1),
                         want.tu[i]);
        /* quota_data: every call counted once, in the hour of ts 1700000000, keyed as
         * the reference (username, model, group, token, channel); replays add nothing */
        gw_sql_arg k[] = { GW_SQL_INT(uids[i]), GW_SQL_INT(100 + uids[i]) };
        assert_int_equal(q_int("SELECT COALESCE(SUM(`count`), 0) FROM `quota_data` WHERE "
                               "`user_id` = ? AND `token_id` = ? AND `created_at` = 1699999200 "
                               "AND `username` = 'user' AND `model_name` = 'gpt-4o' AND "
                               "`use_group` = 'default' AND `channel_id` = 7 AND "
                               "`node_name` = ''", k, 2), want.qn[i]);
        assert_int_equal(q_int("SELECT COALESCE(SUM(`quota`), 0) FROM `quota_data` WHERE "
                               "`user_id` = ?", &u, 1), want.qq[i]);
        assert_int_equal(q_int("SELECT COALESCE(SUM(`token_used`), 0) FROM `quota_data` "
                               "WHERE `user_id` = ?", &u, 1), want.qt[i]);
        assert_int_equal(q_int("SELECT COALESCE(SUM(`count`), 0) FROM `quota_data` WHERE "
                               "`user_id` = ?", &u, 1), want.qn[i]);
    }
    /* one row per key when a single persister applied everything */
    assert_true(q_int("SELECT COUNT(*) FROM `quota_data`", NULL, 0) <= NUSERS);
    assert_int_equal(q_int("SELECT `used_quota` FROM `channels` WHERE `id` = 7", NULL, 0),
                     want.cu);
    assert_int_equal(q_int("SELECT COUNT(*) FROM `logs`", NULL, 0), want.logs);
    assert_int_equal(q_int("SELECT COALESCE(SUM(`quota`), 0) FROM `logs`", NULL, 0),
                     want.uu[0] + want.uu[1] + want.uu[2]);
}

static long long pending_in_group(void)
{
    long long total = 0;
    for (int s = 0; s < 16; s++) {
        char key[32];
        gw__ledger_key(s, key, sizeof key);
        redisReply *r = redisCommand(rc, "XPENDING %s persister", key);
        assert_non_null(r);
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            r->element[0]->type == REDIS_REPLY_INTEGER)
            total += r->element[0]->integer;
        freeReplyObject(r);
    }
    return total;
}

static struct gw_persister_opts popts(const char *consumer)
{
    struct gw_persister_opts o;
    memset(&o, 0, sizeof o);
    o.sql_dsn = dsn;
    o.sqlite_path = dbpath;
    snprintf(o.redis.unix_path, sizeof o.redis.unix_path, "%s", server.sock);
    o.consumer = consumer;
    o.block_ms = 50;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    o.stats_interval_ms = 50;
    o.batch_max = 16;
    return o;
}

static gw_persister *start(const struct gw_persister_opts *o)
{
    gw_persister *p = NULL;
    assert_int_equal(gw_persister_start(o, &p), GW_OK);
    assert_non_null(p);
    return p;
}

/* Waits (at most 30 s) until applied + malformed over the given persisters reaches n. */
static void wait_applied(gw_persister **ps, int np, unsigned long long n)
{
    long long end = mono_ms() + 30000;
    for (;;) {
        unsigned long long got = 0;
        for (int i = 0; i < np; i++) {
            struct gw_persister_stats st;
            gw_persister_stats(ps[i], &st);
            got += st.applied + st.malformed;
        }
        if (got >= n)
            return;
        if (mono_ms() > end)
            fail_msg("only %llu of %llu entries applied after 30 s", got, n);
        msleep(10);
    }
}

/* 1 when every stream's last entry is at or below its SQL cursor. */
static int all_applied(void)
{
    for (int s = 0; s < 16; s++) {
        char key[32];
        gw__ledger_key(s, key, sizeof key);
        redisReply *r = redisCommand(rc, "XREVRANGE %s + - COUNT 1", key);
        assert_non_null(r);
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            continue;
        }
        struct gw_stream_id top, cur = {0, 0};
        assert_int_equal(gw__stream_id_parse(r->element[0]->element[0]->str,
                                             r->element[0]->element[0]->len, &top), GW_OK);
        freeReplyObject(r);
        gw_sql_arg k = GW_SQL_TEXT(key);
        gw_rows *rows = NULL;
        ok(gw_store_query(db, "SELECT `last_id` FROM `ledger_cursors` WHERE `stream` = ?", &k,
                          1, &rows));
        const char *v = gw_rows_count(rows) ? gw_rows_get(rows, 0, 0) : NULL;
        if (v)
            gw__stream_id_parse(v, strlen(v), &cur);
        gw_rows_free(rows);
        if (gw__stream_id_cmp(top, cur) > 0)
            return 0;
    }
    return 1;
}

/* Waits (at most 30 s) until every entry is applied and acknowledged. */
static void wait_no_pending(void)
{
    long long end = mono_ms() + 30000;
    while (!all_applied() || pending_in_group() != 0) {
        if (mono_ms() > end)
            fail_msg("not drained after 30 s (%lld pending)", pending_in_group());
        msleep(10);
    }
}

/* ---- fixtures ------------------------------------------------------------------- */

static const char *const tables[] = { "users", "tokens", "channels", "logs", "abilities",
    "options", "redemptions", "setups", "top_ups", "quota_data", "models", "vendors",
    "checkins", "ledger_cursors", "schema_migrations" };

static int group_setup(void **state)
{
    char err[256] = "", sql[128];
    dsn = getenv("GW_TEST_DSN");
    if (dsn && !*dsn)
        dsn = NULL;
    if (dsn == NULL) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/gw-persister-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
            return -1;
        snprintf(dbpath, sizeof dbpath, "%s/test.db", tmpdir);
    }
    if (gw_store_open(dsn, dbpath, &db, err, sizeof err) != GW_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`", tables[i]);
        if (gw_store_exec(db, sql, NULL, 0, NULL) != GW_OK)
            return -1;
    }
    if (gw_store_migrate(db, NULL, err, sizeof err) != GW_OK) {
        fprintf(stderr, "migrate: %s\n", err);
        return -1;
    }
    if (gw_test_redis_start(&server, NULL) != 0)
        return -1;
    struct timeval tv = {5, 0};
    rc = redisConnectUnixWithTimeout(server.sock, tv);
    return rc && !rc->err ? 0 : -1;
}

static int group_teardown(void **state)
{
    char path[160];
    if (rc)
        redisFree(rc);
    gw_test_redis_cleanup(&server);
    gw_store_close(db);
    if (dsn == NULL) {
        static const char *const sfx[] = { "", "-wal", "-shm" };
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s%s", dbpath, sfx[i]);
            unlink(path);
        }
        rmdir(tmpdir);
    }
    return 0;
}

/* Empty Redis and tables; users 1, 2, 17 with tokens 101, 102, 117 and channel 7. */
static int setup(void **state)
{
    static const char *const wipe[] = { "users", "tokens", "channels", "logs",
                                        "ledger_cursors", "quota_data", "options" };
    char sql[96];
    freeReplyObject(R("FLUSHALL"));
    for (size_t i = 0; i < sizeof wipe / sizeof wipe[0]; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM `%s`", wipe[i]);
        ok(gw_store_exec(db, sql, NULL, 0, NULL));
    }
    for (int i = 0; i < NUSERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%lld", uids[i]);
        gw_sql_arg u[] = { GW_SQL_INT(uids[i]), GW_SQL_TEXT(name) };
        ok(gw_store_exec(db, "INSERT INTO `users` (`id`, `username`, `password`, `quota`, "
                             "`used_quota`, `request_count`) VALUES (?, ?, 'x', 1000000, 0, 0)",
                         u, 2, NULL));
        gw_sql_arg t[] = { GW_SQL_INT(100 + uids[i]), GW_SQL_INT(uids[i]), GW_SQL_TEXT(name) };
        ok(gw_store_exec(db, "INSERT INTO `tokens` (`id`, `user_id`, `key`, `remain_quota`, "
                             "`used_quota`) VALUES (?, ?, ?, 500000, 0)", t, 3, NULL));
    }
    ok(gw_store_exec(db, "INSERT INTO `channels` (`id`, `key`, `name`, `used_quota`) "
                         "VALUES (7, 'k', 'c7', 0)", NULL, 0, NULL));
    memset(&want, 0, sizeof want);
    return 0;
}

/* ---- stream ids ------------------------------------------------------------------ */

static void test_stream_ids(void **state)
{
    static const struct { const char *a, *b; int cmp; } cases[] = {
        { "9-1", "10-0", -1 },          /* as strings "9-1" > "10-0" */
        { "10-0", "9-1", 1 },
        { "5-10", "5-9", 1 },
        { "5-0", "5-0", 0 },
        { "5", "5-0", 0 },
        { "18446744073709551615-18446744073709551615", "0-0", 1 },
    };
    static const char *const bad[] = { "", "-", "1-", "-1", "a-1", "1-b", "1-2-3",
                                       "18446744073709551616-0", " 1-0" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_stream_id a, b;
        assert_int_equal(gw__stream_id_parse(cases[i].a, strlen(cases[i].a), &a), GW_OK);
        assert_int_equal(gw__stream_id_parse(cases[i].b, strlen(cases[i].b), &b), GW_OK);
        int c = gw__stream_id_cmp(a, b);
        assert_int_equal(c < 0 ? -1 : c > 0, cases[i].cmp);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_stream_id a;
        if (gw__stream_id_parse(bad[i], strlen(bad[i]), &a) != GW_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

/* ---- exactly once ------------------------------------------------------------- */

static void test_apply_exactly_once(void **state)
{
    char last[64] = "";
    for (int i = 0; i < 60; i++)
        xadd_consume(i % NUSERS, 10 + i, i % NUSERS == 2 ? last : NULL, sizeof last);
    /* a top-up without a log row and without a token */
    struct ent topup = { .uid = 2, .dq = 5000, .log = 0 };
    xadd(&topup, NULL, 0);

    struct gw_persister_opts o = popts("c1");
    gw_persister *p = start(&o);
    wait_applied(&p, 1, (unsigned long long)want.n);
    wait_no_pending();
    struct gw_persister_stats st;
    long long end = mono_ms() + 5000;
    do {                                /* lag is refreshed every stats_interval_ms */
        msleep(20);
        gw_persister_stats(p, &st);
    } while ((st.pending_total != 0 || st.max_age_ms != 0) && mono_ms() < end);
    assert_int_equal(st.applied, want.n);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.replays, 0);
    assert_int_equal(st.sql_errors, 0);
    assert_true(st.batches >= 4);       /* 61 entries in batches of at most 16 */
    assert_true(st.last_batch >= 1 && st.last_batch <= 16);
    assert_int_equal(st.pending_total, 0);
    assert_int_equal(st.max_age_ms, 0);
    assert_true(st.sql_up && st.redis_up);
    gw_persister_stop(p);
    check_sql();

    /* the cursor of shard 1 (users 1 and 17) is the last id of that stream */
    gw_sql_arg k = GW_SQL_TEXT("tf:{s1}:ledger");
    gw_rows *r = NULL;
    ok(gw_store_query(db, "SELECT `last_id` FROM `ledger_cursors` WHERE `stream` = ?", &k, 1,
                      &r));
    assert_int_equal(gw_rows_count(r), 1);
    assert_string_equal(gw_rows_get(r, 0, 0), last);
    gw_rows_free(r);

    /* the log row: fields as sent, content made safe (0xff and NUL became '?') */
    ok(gw_store_query(db, "SELECT `content`, `username`, `model_name`, `prompt_tokens`, "
                          "`channel_id`, `token_id`, `group`, `request_id`, `other`, "
                          "`is_stream` FROM `logs` WHERE `user_id` = 2 ORDER BY `id` LIMIT 1",
                      NULL, 0, &r));
    assert_int_equal(gw_rows_count(r), 1);
    assert_string_equal(gw_rows_get(r, 0, 0), "c??x");
    assert_string_equal(gw_rows_get(r, 0, 1), "user");
    assert_string_equal(gw_rows_get(r, 0, 2), "gpt-4o");
    assert_string_equal(gw_rows_get(r, 0, 3), "10");
    assert_string_equal(gw_rows_get(r, 0, 4), "7");
    assert_string_equal(gw_rows_get(r, 0, 5), "102");
    assert_string_equal(gw_rows_get(r, 0, 6), "default");
    assert_string_equal(gw_rows_get(r, 0, 7), "req-1");
    assert_string_equal(gw_rows_get(r, 0, 8), "{\"a\":1}");
    long long is_stream = 0;
    ok(gw_rows_int(r, 0, 9, &is_stream));
    assert_int_equal(is_stream, 1);
    gw_rows_free(r);

    /* a second run finds everything acknowledged: nothing applied twice */
    p = start(&o);
    msleep(300);
    gw_persister_stats(p, &st);
    assert_int_equal(st.applied, 0);
    gw_persister_stop(p);
    check_sql();
}

/* DataExportEnabled off: log rows and deltas as always, no quota_data (the
 * reference stops recording); back on, the next calls count again. */
static void test_quota_data_export_off(void **state)
{
    gw_sql_arg off[] = { GW_SQL_TEXT("DataExportEnabled"), GW_SQL_TEXT("false") };
    ok(gw_store_exec(db, "INSERT INTO `options` (`key`, `value`) VALUES (?, ?)", off, 2, NULL));
    for (int i = 0; i < 5; i++)
        xadd_consume(0, 10, NULL, 0);
    struct gw_persister_opts o = popts("c1");
    gw_persister *p = start(&o);
    wait_applied(&p, 1, 5);
    wait_no_pending();
    gw_persister_stop(p);
    assert_int_equal(q_int("SELECT COUNT(*) FROM `logs`", NULL, 0), 5);
    assert_int_equal(q_int("SELECT COUNT(*) FROM `quota_data`", NULL, 0), 0);

    ok(gw_store_exec(db, "UPDATE `options` SET `value` = 'true' WHERE "
                         "`key` = 'DataExportEnabled'", NULL, 0, NULL));
    memset(want.qn, 0, sizeof want.qn);     /* the five before are not in quota_data */
    memset(want.qq, 0, sizeof want.qq);
    memset(want.qt, 0, sizeof want.qt);
    for (int i = 0; i < 4; i++)
        xadd_consume(i % NUSERS, 7, NULL, 0);
    p = start(&o);
    wait_applied(&p, 1, 4);
    wait_no_pending();
    gw_persister_stop(p);
    check_sql();
}

/* Two replicas on the same streams: the group splits entries between them, and the
 * contiguous-range rule still applies each exactly once. */
static void test_two_replicas(void **state)
{
    struct gw_persister_opts a = popts("ra"), b = popts("rb");
    gw_persister *ps[2] = { start(&a), start(&b) };
    for (int i = 0; i < 400; i++) {
        xadd_consume(i % NUSERS, 1 + i % 7, NULL, 0);
        if (i % 50 == 0)
            msleep(5);
    }
    wait_no_pending();
    msleep(100);
    struct gw_persister_stats s0, s1;
    gw_persister_stats(ps[0], &s0);
    gw_persister_stats(ps[1], &s1);
    gw_persister_stop(ps[0]);
    gw_persister_stop(ps[1]);
    assert_int_equal(s0.applied + s1.applied, 400);
    check_sql();
}

/* ---- deltas summed per row, pacing ------------------------------------------------ */

static size_t hook_entries;

static int record_then_die(void *arg, int shard, size_t n)
{
    hook_entries = n;
    return 1;
}

/* Many entries on the same user, token and channel in ONE batch: their deltas are
 * summed per row (cancelling ones, zero ones, rows that do not exist), nothing lost
 * or counted twice; then the same batch replayed after a crash before XACK changes
 * nothing. */
static void test_batch_sums_per_row(void **state)
{
    for (int i = 0; i < 6; i++)
        xadd_consume(0, 10 + i, NULL, 0);               /* users 1 and 17: shard 1 */
    for (int i = 0; i < 4; i++)
        xadd_consume(2, 100 * (i + 1), NULL, 0);
    struct ent plus = { .uid = 1, .tid = 101, .dq = 7, .dtr = 7 },
               minus = { .uid = 1, .tid = 101, .dq = -7, .dtr = -7 },
               chan = { .uid = 17, .cid = 7, .dcu = 3 },
               zero = { .uid = 1, .tid = 101, .cid = 7, .log = 2 };
    xadd(&plus, NULL, 0);
    xadd(&minus, NULL, 0);
    xadd(&chan, NULL, 0);
    xadd(&zero, NULL, 0);
    /* rows that do not exist: applied, matches nothing */
    freeReplyObject(R("XADD tf:{s1}:ledger * type topup uid 33 tid 999 cid 8 ts 1 log 0 "
                      "dq 5 du 5 dtr -5 dcu 5"));
    const long long n = want.n + 1;

    struct gw_persister_opts o = popts("summer");
    o.batch_max = 64;
    o.on_commit = record_then_die;
    hook_entries = 0;
    gw_persister *p = start(&o);
    struct gw_persister_stats st;
    long long end = mono_ms() + 10000;
    do {
        msleep(10);
        gw_persister_stats(p, &st);
    } while (st.batches == 0 && mono_ms() < end);
    msleep(50);
    gw_persister_stop(p);
    assert_int_equal(st.batches, 1);                    /* all of them in one batch */
    assert_int_equal(hook_entries, n);
    assert_int_equal(st.applied, n);
    assert_int_equal(pending_in_group(), n);            /* committed, not acknowledged */
    check_sql();

    o.on_commit = NULL;                                 /* same consumer: replays */
    p = start(&o);
    end = mono_ms() + 10000;
    do {
        msleep(10);
        gw_persister_stats(p, &st);
    } while (st.replays < (unsigned long long)n && mono_ms() < end);
    wait_no_pending();
    gw_persister_stop(p);
    assert_int_equal(st.replays, n);
    assert_int_equal(st.applied, 0);
    check_sql();
}

/* The accumulator on its own: sums per (table, id), leaves out ids <= 0, splits a sum
 * that would overflow 64 bits, and is empty after flush and after reset. */
static void test_delta_accumulator(void **state)
{
    static const struct gw__ledger_entry es[] = {
        { .uid = 1, .tid = 101, .cid = 7, .d = { -10, 10, 1, -10, 10, 10 } },
        { .uid = 1, .tid = 101, .cid = 7, .d = { -20, 20, 1, -20, 20, 20 } },
        { .uid = 2, .tid = 0, .cid = 0, .d = { 500, 0, 0, 9, 0, 9 } },  /* no token/channel */
        { .uid = 17, .tid = 117, .d = { 0, INT64_MAX, 0, 0, 0, 0 } },
        { .uid = 17, .tid = 117, .d = { 0, 5, 1, 0, 0, 0 } },           /* would overflow */
        { .uid = 17, .tid = 117, .d = { 0, -INT64_MAX, 0, 0, 3, 0 } },
        { .uid = 1, .tid = 101, .cid = 7, .d = { 0 } },                 /* nothing */
    };
    struct gw__ledger_acc a;
    gw__ledger_acc_init(&a);
    ok(gw_store_begin(db));
    for (size_t i = 0; i < sizeof es / sizeof es[0]; i++)
        ok(gw__ledger_acc_add(&a, &es[i]));
    assert_int_equal(a.n, 11);
    ok(gw__ledger_acc_flush(&a, db));
    assert_int_equal(a.n, 0);
    ok(gw__ledger_acc_flush(&a, db));                   /* flushing twice adds nothing */
    struct gw__ledger_entry more = { .uid = 2, .d = { 1000 } };
    ok(gw__ledger_acc_add(&a, &more));
    gw__ledger_acc_reset(&a);
    ok(gw__ledger_acc_flush(&a, db));
    ok(gw_store_commit(db));
    gw__ledger_acc_free(&a);
    gw__ledger_acc_free(&a);

    static const struct { const char *sql; long long id, v; } want_rows[] = {
        { "SELECT `quota` FROM `users` WHERE `id` = ?", 1, 1000000 - 30 },
        { "SELECT `used_quota` FROM `users` WHERE `id` = ?", 1, 30 },
        { "SELECT `request_count` FROM `users` WHERE `id` = ?", 1, 2 },
        { "SELECT `remain_quota` FROM `tokens` WHERE `id` = ?", 101, 500000 - 30 },
        { "SELECT `used_quota` FROM `tokens` WHERE `id` = ?", 101, 30 },
        { "SELECT `used_quota` FROM `channels` WHERE `id` = ?", 7, 30 },
        { "SELECT `quota` FROM `users` WHERE `id` = ?", 2, 1000000 + 500 },
        { "SELECT `remain_quota` FROM `tokens` WHERE `id` = ?", 102, 500000 },
        { "SELECT `used_quota` FROM `users` WHERE `id` = ?", 17, 5 },
        { "SELECT `request_count` FROM `users` WHERE `id` = ?", 17, 1 },
        { "SELECT `used_quota` FROM `tokens` WHERE `id` = ?", 117, 3 },
    };
    for (size_t i = 0; i < sizeof want_rows / sizeof want_rows[0]; i++) {
        gw_sql_arg id = GW_SQL_INT(want_rows[i].id);
        assert_int_equal(q_int(want_rows[i].sql, &id, 1), want_rows[i].v);
    }
}

/* Pacing: entries that trickle in are gathered into few batches; a full read is
 * followed at once by the next, and stop interrupts the pause. */
static void test_pacing(void **state)
{
    struct gw_persister_opts o = popts("pacer");
    o.flush_ms = 200;
    gw_persister *p = start(&o);
    struct gw_persister_stats st;
    for (int i = 0; i < 30; i++) {          /* about 300 ms, one entry at a time */
        xadd_consume(0, 1, NULL, 0);
        msleep(10);
    }
    wait_applied(&p, 1, 30);
    wait_no_pending();
    gw_persister_stats(p, &st);
    gw_persister_stop(p);
    assert_true(st.batches <= 10);          /* one per entry without pacing */
    check_sql();

    /* 40 waiting entries, batches of 16, a 10 s pause: 16 and 16 are full reads, so
     * only the pause after the last 8 is taken, and stop cuts it short. */
    o.flush_ms = 10000;
    for (int i = 0; i < 40; i++)
        xadd_consume(0, 2, NULL, 0);
    long long t0 = mono_ms();
    p = start(&o);
    wait_applied(&p, 1, 40);
    assert_true(mono_ms() - t0 < 5000);
    wait_no_pending();
    t0 = mono_ms();
    gw_persister_stop(p);
    assert_true(mono_ms() - t0 < 1000);
    check_sql();
}

/* ---- crash between COMMIT and XACK --------------------------------------------- */

static int die_after_commit(void *arg, int shard, size_t n)
{
    return 1;
}

static void crash_then_replay(const char *second_consumer)
{
    for (int i = 0; i < 12; i++)
        xadd_consume(0, 100, NULL, 0);          /* one stream: shard 1 */
    struct gw_persister_opts o = popts("crashy");
    o.on_commit = die_after_commit;
    gw_persister *p = start(&o);
    long long end = mono_ms() + 10000;
    struct gw_persister_stats st;
    do {
        msleep(10);
        gw_persister_stats(p, &st);
    } while (st.batches == 0 && mono_ms() < end);
    msleep(50);
    gw_persister_stop(p);                       /* the thread already "died" */
    assert_int_equal(st.applied, 12);
    assert_int_equal(pending_in_group(), 12);  /* committed, never acknowledged */
    check_sql();

    o = popts(second_consumer);
    o.claim_idle_ms = 1;                        /* the crashed consumer is idle at once */
    p = start(&o);
    end = mono_ms() + 10000;
    do {
        msleep(10);
        gw_persister_stats(p, &st);
    } while (st.replays < 12 && mono_ms() < end);
    wait_no_pending();
    gw_persister_stop(p);
    assert_int_equal(st.replays, 12);
    assert_int_equal(st.applied, 0);
    check_sql();
}

/* The same consumer restarts: XREADGROUP "0" hands back its own pending entries. */
static void test_crash_replay_same_consumer(void **state)
{
    crash_then_replay("crashy");
}

/* Another replica: XAUTOCLAIM takes the dead consumer's entries. */
static void test_crash_replay_other_consumer(void **state)
{
    crash_then_replay("survivor");
}

/* kill -9 of a whole process running the persister, at random moments, while
 * entries keep arriving: the final totals are exact. */
static void test_kill9_mid_batch(void **state)
{
    srand((unsigned)time(NULL));
    for (int round = 0; round < 5; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct gw_persister_opts o = popts("victim");
            o.batch_max = 8;
            gw_persister *p = NULL;
            if (gw_persister_start(&o, &p) != GW_OK)
                _exit(3);
            for (;;)
                pause();
        }
        for (int i = 0; i < 40; i++) {
            xadd_consume(i % NUSERS, 3, NULL, 0);
            if (i % 10 == 0)
                msleep((unsigned)(rand() % 20));
        }
        msleep((unsigned)(rand() % 60));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
    }
    struct gw_persister_opts o = popts("victim");
    o.claim_idle_ms = 1;
    gw_persister *p = start(&o);
    wait_no_pending();
    msleep(100);
    gw_persister_stop(p);
    check_sql();
}

/* ---- poison entries ------------------------------------------------------------- */

static void test_poison_entries(void **state)
{
    char last[64];
    xadd_consume(0, 50, NULL, 0);
    /* Poison, all in stream 1 (uid 1): missing uid, non-numeric delta, unknown type,
     * an out-of-range number, a delta with trailing junk. */
    freeReplyObject(R("XADD tf:{s1}:ledger * type consume tid 0 cid 0 ts 1 log 2"));
    freeReplyObject(R("XADD tf:{s1}:ledger * type consume uid 1 ts 1 log 2 dq abc"));
    freeReplyObject(R("XADD tf:{s1}:ledger * type steal uid 1 ts 1 log 0 dq 5"));
    freeReplyObject(R("XADD tf:{s1}:ledger * type consume uid 1 ts 1 log 0 "
                      "dq 99999999999999999999"));
    freeReplyObject(R("XADD tf:{s1}:ledger * type consume uid 1 ts 1 log 0 dq 5x"));
    xadd_consume(0, 70, last, sizeof last);

    struct gw_persister_opts o = popts("c1");
    gw_persister *p = start(&o);
    wait_applied(&p, 1, 7);
    wait_no_pending();
    struct gw_persister_stats st;
    gw_persister_stats(p, &st);
    gw_persister_stop(p);
    assert_int_equal(st.applied, 2);
    assert_int_equal(st.malformed, 5);
    check_sql();
    gw_sql_arg k = GW_SQL_TEXT("tf:{s1}:ledger");
    gw_rows *r = NULL;
    ok(gw_store_query(db, "SELECT `last_id` FROM `ledger_cursors` WHERE `stream` = ?", &k, 1,
                      &r));
    assert_string_equal(gw_rows_get(r, 0, 0), last);
    gw_rows_free(r);
}

/* ---- SQL failures ---------------------------------------------------------------- */

/* SQL rejects every batch (the logs table is gone) and comes back: the batch is
 * retried, rolled back each time, and applied once. */
static void test_sql_rejects_then_recovers(void **state)
{
    struct gw_persister_opts o = popts("c1");
    gw_persister *p = start(&o);
    for (int i = 0; i < 5; i++)
        xadd_consume(i % NUSERS, 20, NULL, 0);
    wait_applied(&p, 1, 5);
    ok(gw_store_exec(db, "ALTER TABLE `logs` RENAME TO `logs_off`", NULL, 0, NULL));
    for (int i = 0; i < 5; i++)
        xadd_consume(i % NUSERS, 30, NULL, 0);
    struct gw_persister_stats st;
    long long end = mono_ms() + 10000;
    do {
        msleep(10);
        gw_persister_stats(p, &st);
    } while (st.retries < 3 && mono_ms() < end);
    assert_true(st.retries >= 3);
    assert_true(st.sql_errors >= 3);
    assert_int_equal(st.applied, 5);
    assert_true(pending_in_group() >= 1);       /* delivered, not acknowledged */
    assert_int_equal(q_int("SELECT COUNT(*) FROM `logs_off`", NULL, 0), 5);
    ok(gw_store_exec(db, "ALTER TABLE `logs_off` RENAME TO `logs`", NULL, 0, NULL));
    wait_applied(&p, 1, 10);
    wait_no_pending();
    gw_persister_stop(p);
    check_sql();
}

/* SQL is unreachable when the persister starts (the SQLite directory does not exist
 * yet): it keeps retrying and applies everything once the database appears. */
static void test_sql_down_at_start(void **state)
{
    if (dsn) {
        skip();     /* the server outage case is test_sql_server_outage */
        return;
    }
    char dir[96], path[128], err[256];
    snprintf(dir, sizeof dir, "%s/later", tmpdir);
    snprintf(path, sizeof path, "%s/db.sqlite", dir);
    struct gw_persister_opts o = popts("c1");
    o.sqlite_path = path;
    gw_persister *p = start(&o);
    for (int i = 0; i < 6; i++)
        xadd_consume(i % NUSERS, 10, NULL, 0);
    struct gw_persister_stats st;
    long long end = mono_ms() + 5000;
    do {
        msleep(10);
        gw_persister_stats(p, &st);
    } while (st.sql_errors < 3 && mono_ms() < end);
    assert_true(st.sql_errors >= 3);
    assert_false(st.sql_up);
    assert_int_equal(st.applied, 0);

    /* bring "the server" up: the same data as the main database */
    gw_store *main_db = db, *other = NULL;
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(gw_store_open(NULL, path, &other, err, sizeof err), GW_OK);
    assert_int_equal(gw_store_migrate(other, NULL, err, sizeof err), GW_OK);
    db = other;
    setup(NULL);                /* wipes Redis too: add the entries again */
    for (int i = 0; i < 6; i++)
        xadd_consume(i % NUSERS, 10, NULL, 0);
    wait_applied(&p, 1, 6);
    wait_no_pending();
    gw_persister_stop(p);
    check_sql();
    gw_store_close(other);
    db = main_db;
    unlink(path);
    snprintf(path, sizeof path, "%s/db.sqlite-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/db.sqlite-shm", dir);
    unlink(path);
    rmdir(dir);
}

/* With GW_TEST_SQL_CTL="rfd,wfd" (test_ledger.py): asks the script to stop the SQL
 * server for a few seconds while entries keep arriving, then to start it again. */
static int ctl(const char *what)
{
    const char *env = getenv("GW_TEST_SQL_CTL");
    int rfd, wfd;
    char buf[16] = "";
    struct pollfd pf;

    if (env == NULL || sscanf(env, "%d,%d", &rfd, &wfd) != 2)
        return -1;
    if (write(wfd, what, strlen(what)) != (ssize_t)strlen(what))
        return -1;
    pf.fd = rfd;
    pf.events = POLLIN;
    if (poll(&pf, 1, 120000) != 1 || read(rfd, buf, sizeof buf - 1) <= 0)
        return -1;
    return strncmp(buf, "ok", 2) == 0 ? 0 : -1;
}

static void test_sql_server_outage(void **state)
{
    if (getenv("GW_TEST_SQL_CTL") == NULL || dsn == NULL) {
        skip();
        return;
    }
    struct gw_persister_opts o = popts("c1");
    gw_persister *p = start(&o);
    for (int i = 0; i < 30; i++)
        xadd_consume(i % NUSERS, 5, NULL, 0);
    wait_applied(&p, 1, 30);
    gw_store_close(db);
    db = NULL;
    assert_int_equal(ctl("stop\n"), 0);
    /* The check: SQL down for 30 s under load (GW_TEST_SQL_OUTAGE_MS
     * shortens it for a quick local run). */
    const char *ms = getenv("GW_TEST_SQL_OUTAGE_MS");
    long long outage = ms ? strtoll(ms, NULL, 10) : 30000;
    long long end = mono_ms() + (outage > 0 ? outage : 30000);
    int i = 0;
    while (mono_ms() < end) {                   /* entries keep arriving */
        xadd_consume(i++ % NUSERS, 7, NULL, 0);
        msleep(20);
    }
    struct gw_persister_stats st;
    gw_persister_stats(p, &st);
    assert_true(st.sql_errors > 0);
    assert_int_equal(st.applied, 30);
    assert_int_equal(ctl("start\n"), 0);
    char err[256];
    assert_int_equal(gw_store_open(dsn, NULL, &db, err, sizeof err), GW_OK);
    wait_applied(&p, 1, (unsigned long long)want.n);
    wait_no_pending();
    gw_persister_stats(p, &st);
    gw_persister_stop(p);
    assert_int_equal(st.applied, want.n);
    check_sql();
}

/* ---- stop ---------------------------------------------------------------------------- */

static void test_stop_is_prompt(void **state)
{
    struct gw_persister_opts o = popts("c1");
    o.block_ms = 200;
    gw_persister *p = start(&o);
    msleep(300);
    long long t0 = mono_ms();
    gw_persister_stop(p);
    assert_true(mono_ms() - t0 < 1000);

    /* while backing off on a dead SQL path too */
    o.sqlite_path = "/nonexistent-dir/x.db";
    o.sql_dsn = NULL;
    o.backoff_min_ms = 3000;
    o.backoff_max_ms = 5000;
    if (dsn == NULL) {
        p = start(&o);
        msleep(200);
        t0 = mono_ms();
        gw_persister_stop(p);
        assert_true(mono_ms() - t0 < 1000);
    }
    gw_persister_stop(NULL);
    assert_int_equal(gw_persister_start(&(struct gw_persister_opts){ 0 }, &p), GW_EINVAL);
}

/* ---- reaper ---------------------------------------------------------------------- */

static void test_reaper_refunds_expired(void **state)
{
    struct gw_reaper_opts o;
    gw_reaper *r = NULL;
    memset(&o, 0, sizeof o);
    snprintf(o.redis.unix_path, sizeof o.redis.unix_path, "%s", server.sock);
    o.interval_ms = 50;
    if (gw_embedded_find("scripts/reap.lua") == NULL) {
        assert_int_equal(gw_reaper_start(&o, &r), GW_ENOTFOUND);
        fprintf(stderr, "SKIP reaper: scripts/reap.lua is not embedded in this build\n");
        skip();
        return;
    }
    /* user 17 (shard 1) with two reservations: one expired, one not */
    long long now = (long long)time(NULL) * 1000;
    freeReplyObject(R("HSET tf:{s1}:u:17 quota 700 reserved 300 username u17"));
    freeReplyObject(R("HSET tf:{s1}:res 5 17:117:100:%lld:0:0:0", now - 1000));
    freeReplyObject(R("ZADD tf:{s1}:resdl %lld 5", now - 1000));
    freeReplyObject(R("HSET tf:{s1}:res 6 17:117:200:%lld:0:0:0", now + 600000));
    freeReplyObject(R("ZADD tf:{s1}:resdl %lld 6", now + 600000));
    assert_int_equal(gw_reaper_start(&o, &r), GW_OK);
    struct gw_reaper_stats st;
    long long end = mono_ms() + 5000;
    do {
        msleep(10);
        gw_reaper_stats(r, &st);
    } while (st.reaped < 1 && mono_ms() < end);
    /* NOSCRIPT after a flush of the script cache: reloaded */
    freeReplyObject(R("SCRIPT FLUSH"));
    freeReplyObject(R("HSET tf:{s1}:res 8 17:117:50:%lld:0:0:0", now - 10));
    freeReplyObject(R("ZADD tf:{s1}:resdl %lld 8", now - 10));
    end = mono_ms() + 5000;
    do {
        msleep(10);
        gw_reaper_stats(r, &st);
    } while (st.reaped < 2 && mono_ms() < end);
    gw_reaper_stop(r);
    assert_int_equal(st.reaped, 2);
    assert_true(st.ticks >= 2);
    assert_int_equal(R_int("XLEN tf:{s1}:ledger"), 2);
    redisReply *q = R("HMGET tf:{s1}:u:17 quota reserved");
    assert_string_equal(q->element[0]->str, "850");
    assert_string_equal(q->element[1]->str, "150");
    freeReplyObject(q);
    gw_reaper_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_ids),
        cmocka_unit_test_setup(test_apply_exactly_once, setup),
        cmocka_unit_test_setup(test_quota_data_export_off, setup),
        cmocka_unit_test_setup(test_two_replicas, setup),
        cmocka_unit_test_setup(test_batch_sums_per_row, setup),
        cmocka_unit_test_setup(test_delta_accumulator, setup),
        cmocka_unit_test_setup(test_pacing, setup),
        cmocka_unit_test_setup(test_crash_replay_same_consumer, setup),
        cmocka_unit_test_setup(test_crash_replay_other_consumer, setup),
        cmocka_unit_test_setup(test_kill9_mid_batch, setup),
        cmocka_unit_test_setup(test_poison_entries, setup),
        cmocka_unit_test_setup(test_sql_rejects_then_recovers, setup),
        cmocka_unit_test_setup(test_sql_down_at_start, setup),
        cmocka_unit_test_setup(test_sql_server_outage, setup),
        cmocka_unit_test_setup(test_stop_is_prompt, setup),
        cmocka_unit_test_setup(test_reaper_refunds_expired, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
