/* persist/warm: cold start of Redis from SQL against a real redis-server and SQLite
 * (or GW_TEST_DSN: a THROWAWAY MySQL/MariaDB or PostgreSQL database). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include "gateway/core/crypto.h"
#include "persist/persister.h"
#include "persist/store.h"
#include "persist/warm.h"
#include "tests/unit/support/redis_server.h"

static const char *dsn;
static char tmpdir[64], dbpath[128];
static gw_store *db;
static struct gw_test_redis server;
static redisContext *rc;

static void ok(int r)
{
    if (r != GW_OK)
        fail_msg("store: %s (%s)", gw_strerror(r), gw_store_errmsg(db));
}

static redisReply *R(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r ? r->str : rc->errstr);
    return r;
}

static void expect_str(const char *cmd, const char *want)
{
    redisReply *r = R(cmd);
    if (want == NULL)
        assert_int_equal(r->type, REDIS_REPLY_NIL);
    else if (r->type != REDIS_REPLY_STRING || strcmp(r->str, want) != 0)
        fail_msg("%s: got %s, want %s", cmd, r->type == REDIS_REPLY_STRING ? r->str : "(nil)",
                 want);
    freeReplyObject(r);
}

static redisContext *connect_redis(void)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectUnixWithTimeout(server.sock, tv);
    assert_true(c && !c->err);
    return c;
}

static int group_setup(void **state)
{
    static const char *const tables[] = { "users", "tokens", "channels", "logs", "abilities",
        "options", "redemptions", "setups", "top_ups", "quota_data", "models", "vendors",
        "checkins", "ledger_cursors", "schema_migrations" };
    char err[256], sql[96];
    dsn = getenv("GW_TEST_DSN");
    if (dsn && !*dsn)
        dsn = NULL;
    if (dsn == NULL) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/gw-warm-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
            return -1;
        snprintf(dbpath, sizeof dbpath, "%s/test.db", tmpdir);
    }
    if (gw_store_open(dsn, dbpath, &db, err, sizeof err) != GW_OK)
        return -1;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`", tables[i]);
        if (gw_store_exec(db, sql, NULL, 0, NULL) != GW_OK)
            return -1;
    }
    if (gw_store_migrate(db, NULL, err, sizeof err) != GW_OK ||
        gw_test_redis_start(&server, NULL) != 0)
        return -1;
    rc = connect_redis();
    return 0;
}

static int group_teardown(void **state)
{
    char path[160];
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

/* Users 1 (alice), 2 (deleted), 18 (bob, group vip); tokens 5 (alice), 6 (deleted),
 * 7 (bob, unlimited, model limits); channels 3 and 4; plus `extra` filler users. */
static void fill(int extra)
{
    static const char *const wipe[] = { "users", "tokens", "channels", "logs",
                                        "ledger_cursors" };
    char sql[64];
    freeReplyObject(R("FLUSHALL"));
    for (size_t i = 0; i < 5; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM `%s`", wipe[i]);
        ok(gw_store_exec(db, sql, NULL, 0, NULL));
    }
    ok(gw_store_exec(db, "INSERT INTO `users` (`id`, `username`, `password`, `role`, `status`, "
                         "`quota`, `used_quota`, `request_count`, `group`) VALUES "
                         "(1, 'alice', 'x', 1, 1, 1000, 50, 3, 'default')", NULL, 0, NULL));
    ok(gw_store_exec(db, "INSERT INTO `users` (`id`, `username`, `password`, `quota`, "
                         "`deleted_at`) VALUES (2, 'gone', 'x', 9, '2024-01-01 00:00:00')",
                     NULL, 0, NULL));
    ok(gw_store_exec(db, "INSERT INTO `users` (`id`, `username`, `password`, `role`, `status`, "
                         "`quota`, `used_quota`, `request_count`, `group`) VALUES "
                         "(18, 'bob', 'x', 100, 2, 77, 0, 0, 'vip')", NULL, 0, NULL));
    for (int i = 0; i < extra; i++) {
        char name[24];
        snprintf(name, sizeof name, "filler%d", i);
        gw_sql_arg a[] = { GW_SQL_INT(1000 + i), GW_SQL_TEXT(name) };
        ok(gw_store_exec(db, "INSERT INTO `users` (`id`, `username`, `password`, `quota`) "
                             "VALUES (?, ?, 'x', 1)", a, 2, NULL));
    }
    gw_sql_arg f = GW_SQL_INT(0), t = GW_SQL_INT(1);
    ok(gw_store_exec(db, "INSERT INTO `tokens` (`id`, `user_id`, `key`, `status`, `name`, "
                         "`expired_time`, `remain_quota`, `unlimited_quota`, `used_quota`, "
                         "`model_limits_enabled`, `model_limits`, `group`) VALUES "
                         "(5, 1, 'keyAlice', 1, 'main', -1, 400, ?, 10, ?, '', '')",
                     (gw_sql_arg[]){ f, f }, 2, NULL));
    ok(gw_store_exec(db, "INSERT INTO `tokens` (`id`, `user_id`, `key`, `name`, `deleted_at`) "
                         "VALUES (6, 1, 'keyGone', 'old', '2024-01-01 00:00:00')", NULL, 0,
                     NULL));
    ok(gw_store_exec(db, "INSERT INTO `tokens` (`id`, `user_id`, `key`, `status`, `name`, "
                         "`expired_time`, `remain_quota`, `unlimited_quota`, `used_quota`, "
                         "`model_limits_enabled`, `model_limits`, `group`) VALUES "
                         "(7, 18, 'keyBob', 2, 'b', 1900000000, 0, ?, 0, ?, 'gpt-4o,o3', 'vip')",
                     (gw_sql_arg[]){ t, t }, 2, NULL));
    ok(gw_store_exec(db, "INSERT INTO `channels` (`id`, `type`, `key`, `status`, `name`, "
                         "`weight`, `priority`, `models`, `group`, `base_url`, `model_mapping`, "
                         "`tag`, `auto_ban`) VALUES (3, 1, 'sk-up', 1, 'openai', 10, 5, "
                         "'gpt-4o,o3', 'default,vip', 'https://api.example', '{\"a\":\"b\"}', "
                         "'t1', 0)", NULL, 0, NULL));
    ok(gw_store_exec(db, "INSERT INTO `channels` (`id`, `key`, `name`) VALUES (4, 'k', 'min')",
                     NULL, 0, NULL));
}

static void tk_key(const char *key, char out[80])
{
    unsigned char sha[GW_SHA256_LEN];
    gw_sha256(key, strlen(key), sha);
    memcpy(out, "tf:tk:", 6);
    gw_hex_encode(sha, sizeof sha, out + 6);
}

static void test_cold_load(void **state)
{
    struct gw_warm_result res;
    char k[80], cmd[128];
    fill(0);
    assert_int_equal(gw_warm_run(db, rc, NULL, &res), GW_OK);
    assert_int_equal(res.loaded, 1);
    assert_int_equal(res.users, 2);
    assert_int_equal(res.tokens, 2);
    assert_int_equal(res.channels, 2);

    expect_str("HGET tf:{s1}:u:1 quota", "1000");
    expect_str("HGET tf:{s1}:u:1 reserved", "0");
    expect_str("HGET tf:{s1}:u:1 used_quota", "50");
    expect_str("HGET tf:{s1}:u:1 request_count", "3");
    expect_str("HGET tf:{s1}:u:1 username", "alice");
    expect_str("HGET tf:{s1}:u:1 group", "default");
    expect_str("HGET tf:{s2}:u:18 role", "100");
    expect_str("HGET tf:{s2}:u:18 status", "2");
    expect_str("HGET tf:{s2}:u:18 group", "vip");
    expect_str("HGET tf:{s2}:u:2 quota", NULL);             /* deleted */

    expect_str("HGET tf:{s1}:t:5 uid", "1");
    expect_str("HGET tf:{s1}:t:5 remain_quota", "400");
    expect_str("HGET tf:{s1}:t:5 reserved", "0");
    expect_str("HGET tf:{s1}:t:5 unlimited_quota", "0");
    expect_str("HGET tf:{s1}:t:5 expired_time", "-1");
    expect_str("HGET tf:{s1}:t:5 name", "main");
    expect_str("HGET tf:{s2}:t:7 unlimited_quota", "1");   /* postgres reads "t" */
    expect_str("HGET tf:{s2}:t:7 model_limits_enabled", "1");
    expect_str("HGET tf:{s2}:t:7 model_limits", "gpt-4o,o3");
    expect_str("HGET tf:{s2}:t:7 expired_time", "1900000000");
    expect_str("HGET tf:{s2}:t:7 status", "2");
    expect_str("HGET tf:{s2}:t:7 group", "vip");
    expect_str("HGET tf:{s1}:t:6 uid", NULL);               /* deleted */
    tk_key("keyAlice", k);
    snprintf(cmd, sizeof cmd, "GET %s", k);
    expect_str(cmd, "1:5");
    tk_key("keyBob", k);
    snprintf(cmd, sizeof cmd, "GET %s", k);
    expect_str(cmd, "18:7");
    tk_key("keyGone", k);
    snprintf(cmd, sizeof cmd, "GET %s", k);
    expect_str(cmd, NULL);

    expect_str("HGET tf:chcfg:3 type", "1");
    expect_str("HGET tf:chcfg:3 name", "openai");
    expect_str("HGET tf:chcfg:3 weight", "10");
    expect_str("HGET tf:chcfg:3 priority", "5");
    expect_str("HGET tf:chcfg:3 models", "gpt-4o,o3");
    expect_str("HGET tf:chcfg:3 group", "default,vip");
    expect_str("HGET tf:chcfg:3 base_url", "https://api.example");
    expect_str("HGET tf:chcfg:3 model_mapping", "{\"a\":\"b\"}");
    expect_str("HGET tf:chcfg:3 tag", "t1");
    expect_str("HGET tf:chcfg:3 auto_ban", "0");
    expect_str("HGET tf:chcfg:3 key", NULL);                /* secrets stay in SQL */
    expect_str("HGET tf:chcfg:4 tag", "");
    expect_str("HGET tf:chcfg:4 status", "1");
    redisReply *r = R("SMEMBERS tf:chcfg:ids");
    assert_int_equal(r->elements, 2);
    freeReplyObject(r);
    expect_str("GET tf:warm:lock", NULL);
    r = R("GET tf:warm");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);

    /* marker present: a second call does nothing */
    ok(gw_store_exec(db, "UPDATE `users` SET `quota` = 1 WHERE `id` = 1", NULL, 0, NULL));
    assert_int_equal(gw_warm_run(db, rc, NULL, &res), GW_OK);
    assert_int_equal(res.loaded, 0);
    expect_str("HGET tf:{s1}:u:1 quota", "1000");
}

/* The ledger has an entry SQL has not seen: no load until the cursor passes it. */
static void test_waits_for_ledger(void **state)
{
    struct gw_warm_result res;
    struct gw_warm_opts o = { .wait_ms = 300 };
    fill(0);
    redisReply *r = R("XADD tf:{s1}:ledger * type topup uid 1 ts 1 log 0 dq 5");
    char id[64];
    snprintf(id, sizeof id, "%s", r->str);
    freeReplyObject(r);
    assert_int_equal(gw_warm_run(db, rc, &o, &res), GW_ETIMEDOUT);
    assert_int_equal(res.loaded, 0);
    assert_true(res.waited_ms >= 250);
    expect_str("GET tf:warm", NULL);
    expect_str("GET tf:warm:lock", NULL);
    expect_str("HGET tf:{s1}:u:1 quota", NULL);

    /* the persister applied it (here: SQL and cursor by hand) */
    ok(gw_store_exec(db, "UPDATE `users` SET `quota` = `quota` + 5 WHERE `id` = 1", NULL, 0,
                     NULL));
    gw_sql_arg a = GW_SQL_TEXT(id);
    ok(gw_store_exec(db, "INSERT INTO `ledger_cursors` (`stream`, `last_id`, `updated_at`) "
                         "VALUES ('tf:{s1}:ledger', ?, 0)", &a, 1, NULL));
    assert_int_equal(gw_warm_run(db, rc, &o, &res), GW_OK);
    assert_int_equal(res.loaded, 1);
    expect_str("HGET tf:{s1}:u:1 quota", "1005");
}

struct racer {
    gw_store *db;
    redisContext *rc;
    int rc_warm;
    struct gw_warm_result res;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct gw_warm_opts o = { .chunk = 50, .wait_ms = 60000 };
    r->rc_warm = gw_warm_run(r->db, r->rc, &o, &r->res);
    return NULL;
}

/* Two replicas at once: one loads, the other waits for the marker. */
static void test_race(void **state)
{
    struct racer rs[2];
    pthread_t th[2];
    char err[256];
    fill(1500);
    for (int i = 0; i < 2; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        assert_int_equal(gw_store_open(dsn, dbpath, &rs[i].db, err, sizeof err), GW_OK);
        rs[i].rc = connect_redis();
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(rs[0].rc_warm, GW_OK);
    assert_int_equal(rs[1].rc_warm, GW_OK);
    assert_int_equal(rs[0].res.loaded + rs[1].res.loaded, 1);
    struct racer *loader = rs[0].res.loaded ? &rs[0] : &rs[1];
    assert_int_equal(loader->res.users, 1502);
    expect_str("HGET tf:{s8}:u:1000 username", "filler0");   /* 1000 % 16 = 8 */
    expect_str("HGET tf:{s3}:u:2499 username", "filler1499");  /* 2499 % 16 = 3 */
    for (int i = 0; i < 2; i++) {
        gw_store_close(rs[i].db);
        redisFree(rs[i].rc);
    }
}

/* A lock held by a loader that died: the marker never comes, the lock expires, and
 * the next caller loads. */
static void test_dead_loader(void **state)
{
    struct gw_warm_result res;
    struct gw_warm_opts o = { .wait_ms = 5000 };
    fill(0);
    freeReplyObject(R("SET tf:warm:lock someone-dead PX 300"));
    assert_int_equal(gw_warm_run(db, rc, &o, &res), GW_OK);
    assert_int_equal(res.loaded, 1);
    assert_true(res.waited_ms >= 200);
    expect_str("HGET tf:{s1}:u:1 quota", "1000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cold_load),
        cmocka_unit_test(test_waits_for_ledger),
        cmocka_unit_test(test_race),
        cmocka_unit_test(test_dead_loader),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
