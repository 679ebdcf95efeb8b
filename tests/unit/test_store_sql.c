/* persist/store: DSN parsing, migrations, the core schema and round trips per table.
 * Runs against GW_TEST_DSN when set (a THROWAWAY MySQL/MariaDB or PostgreSQL database:
 * every table is dropped first), else against a fresh SQLite file in a temp dir.
 * tests/integration/test_storage.py starts real servers and runs this binary per dialect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>
#include "gateway/core/embed.h"
#include "persist/store.h"

static const char *dsn;         /* NULL: SQLite */
static char tmpdir[64], dbpath[128];
static gw_store *s;

static const char *const all_tables[] = {
    "users", "tokens", "channels", "abilities", "logs", "options", "redemptions", "setups",
    "top_ups", "quota_data", "models", "vendors", "checkins", "ledger_cursors",
    "user_sessions", "tf_user_sessions_new", "schema_migrations",
};
#define NTABLES (sizeof all_tables / sizeof all_tables[0])

/* gw_store_migrate() with its message on failure. */
static void migrate_ok(int *applied)
{
    char err[512] = "";
    if (gw_store_migrate(s, applied, err, sizeof err) != GW_OK)
        fail_msg("migrate: %s", err);
}

static void ok(int rc)
{
    if (rc != GW_OK)
        fail_msg("store call failed: %s (%s)", gw_strerror(rc), s ? gw_store_errmsg(s) : "");
}

static gw_rows *q(const char *sql, const gw_sql_arg *args, size_t n)
{
    gw_rows *r = NULL;
    ok(gw_store_query(s, sql, args, n, &r));
    return r;
}

static long long q_int(const char *sql, const gw_sql_arg *args, size_t n)
{
    gw_rows *r = q(sql, args, n);
    long long v = -12345;
    assert_int_equal(gw_rows_count(r), 1);
    ok(gw_rows_int(r, 0, 0, &v));
    gw_rows_free(r);
    return v;
}

static void drop_all(gw_store *st)
{
    char sql[128];
    for (size_t i = 0; i < NTABLES; i++) {
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`", all_tables[i]);
        if (gw_store_exec(st, sql, NULL, 0, NULL) != GW_OK)
            fail_msg("%s: %s", sql, gw_store_errmsg(st));
    }
}

static size_t migration_files(gw_db_kind kind)
{
    char prefix[64];
    size_t n = 0, plen = (size_t)snprintf(prefix, sizeof prefix, "schema/%s/",
                                          gw_db_kind_name(kind));
    for (size_t i = 0; i < gw_embedded_count; i++)
        if (strncmp(gw_embedded_files[i].path, prefix, plen) == 0)
            n++;
    return n;
}

static int group_setup(void **state)
{
    char err[256] = "";
    dsn = getenv("GW_TEST_DSN");
    if (dsn && *dsn == '\0')
        dsn = NULL;
    if (dsn == NULL) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/gw-store-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
            return -1;
        snprintf(dbpath, sizeof dbpath, "%s/test.db?_busy_timeout=30000", tmpdir);
    }
    if (gw_store_open(dsn, dbpath, &s, err, sizeof err) != GW_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    drop_all(s);
    return 0;
}

static int group_teardown(void **state)
{
    char path[160];
    gw_store_close(s);
    s = NULL;
    if (dsn == NULL) {
        static const char *const sfx[] = { "", "-wal", "-shm" };
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/test.db%s", tmpdir, sfx[i]);
            unlink(path);
        }
        rmdir(tmpdir);
    }
    return 0;
}

/* ---- DSN ---- */

static void test_dsn_kind(void **state)
{
    static const struct { const char *dsn; gw_db_kind kind; } cases[] = {
        { NULL, GW_DB_SQLITE },
        { "", GW_DB_SQLITE },
        { "local", GW_DB_SQLITE },
        { "local-whatever", GW_DB_SQLITE },
        { "postgres://u:p@h:5432/db", GW_DB_POSTGRES },
        { "postgresql://u:p@h/db?sslmode=disable", GW_DB_POSTGRES },
        { "root:123456@tcp(localhost:3306)/new-api", GW_DB_MYSQL },
        { "user@unix(/run/mysqld/mysqld.sock)/db", GW_DB_MYSQL },
        { "/db", GW_DB_MYSQL },
        { "Postgres://x", GW_DB_MYSQL },     /* the reference's prefix test is exact */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(gw_store_dsn_kind(cases[i].dsn), cases[i].kind);
    assert_string_equal(gw_db_kind_name(GW_DB_SQLITE), "sqlite");
    assert_string_equal(gw_db_kind_name(GW_DB_MYSQL), "mysql");
    assert_string_equal(gw_db_kind_name(GW_DB_POSTGRES), "postgres");
}

static void test_mysql_dsn_parse(void **state)
{
    static const struct {
        const char *dsn;
        int rc;
        const char *user, *pass, *host;
        unsigned port;
        const char *sock, *db, *charset;
        unsigned timeout;
        int tls;
    } cases[] = {
        { "root:123456@tcp(localhost:3306)/new-api", GW_OK, "root", "123456", "localhost",
          3306, "", "new-api", "utf8mb4", 0, 0 },
        { "u:p@tcp(10.0.0.5)/db?charset=utf8mb4,utf8&parseTime=true&loc=Local", GW_OK, "u",
          "p", "10.0.0.5", 3306, "", "db", "utf8mb4", 0, 0 },
        { "u:p@w:rd@tcp(h:1)/db", GW_OK, "u", "p@w:rd", "h", 1, "", "db", "utf8mb4", 0, 0 },
        { "u:p/w@tcp(h:3307)/db?timeout=1500ms", GW_OK, "u", "p/w", "h", 3307, "", "db",
          "utf8mb4", 2, 0 },
        { "u@unix(/run/mysqld/mysqld.sock)/db", GW_OK, "u", "", "", 0,
          "/run/mysqld/mysqld.sock", "db", "utf8mb4", 0, 0 },
        { "u:p@/db", GW_OK, "u", "p", "127.0.0.1", 3306, "", "db", "utf8mb4", 0, 0 },
        { "/db", GW_OK, "", "", "127.0.0.1", 3306, "", "db", "utf8mb4", 0, 0 },
        { "u:p@tcp([::1]:3310)/d%2Fb?tls=skip-verify&timeout=1m", GW_OK, "u", "p", "::1",
          3310, "", "d/b", "utf8mb4", 60, 2 },
        { "u:p@tcp(h:3306)/", GW_OK, "u", "p", "h", 3306, "", "", "utf8mb4", 0, 0 },
        { "u:p@tcp(h:3306)/db?tls=true&charset=utf8", GW_OK, "u", "p", "h", 3306, "", "db",
          "utf8", 0, 1 },
        { .dsn = "no-slash", .rc = GW_EINVAL },
        { .dsn = "u:p@tcp(h:3306/db", .rc = GW_EINVAL },
        { .dsn = "u:p@tcp(h:99999)/db", .rc = GW_EINVAL },
        { .dsn = "u:p@tcp(h:)/db", .rc = GW_EINVAL },
        { .dsn = "u:p@tcp(h)/db?charset", .rc = GW_EINVAL },
        { .dsn = "u:p@tcp(h)/db?timeout=soon", .rc = GW_EINVAL },
        { .dsn = "u:p@tcp(h)/db?tls=custom", .rc = GW_ENOTSUP },
        { .dsn = "u:p@udp(h)/db", .rc = GW_ENOTSUP },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_mysql_dsn d;
        int rc = gw_mysql_dsn_parse(cases[i].dsn, &d);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].dsn, rc, cases[i].rc);
        if (rc != GW_OK)
            continue;
        assert_string_equal(d.user, cases[i].user);
        assert_string_equal(d.pass, cases[i].pass);
        assert_string_equal(d.host, cases[i].host);
        assert_int_equal(d.port, cases[i].port);
        assert_string_equal(d.socket, cases[i].sock);
        assert_string_equal(d.db, cases[i].db);
        assert_string_equal(d.charset, cases[i].charset);
        assert_int_equal(d.connect_timeout_s, cases[i].timeout);
        assert_int_equal(d.tls, cases[i].tls);
    }
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "u:", 2);
    big[400] = '@';
    big[401] = '/';
    struct gw_mysql_dsn d;
    assert_int_equal(gw_mysql_dsn_parse(big, &d), GW_ETOOBIG);
}

/* ---- migrations ---- */

static void test_migrate_concurrent(void **state)
{
    size_t files = migration_files(gw_store_kind(s));
    pid_t pids[2];
    assert_true(files >= 1);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            /* Child: a connection of its own. The parent's is left untouched (closing a
             * MySQL handle here would send COM_QUIT on the shared socket). */
            gw_store *c;
            char err[256] = "";
            int applied = -1, rc = gw_store_open(dsn, dbpath, &c, err, sizeof err);
            if (rc == GW_OK)
                rc = gw_store_migrate(c, &applied, err, sizeof err);
            if (rc != GW_OK)
                fprintf(stderr, "child %d: %s\n", i, err);
            _exit(rc == GW_OK ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(q_int("SELECT COUNT(*) FROM schema_migrations", NULL, 0), (long long)files);
    assert_int_equal(q_int("SELECT COUNT(DISTINCT version) FROM schema_migrations", NULL, 0),
                     (long long)files);
    gw_rows *r = q("SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
                   NULL, 0);
    assert_int_equal(gw_rows_count(r), files);
    assert_string_equal(gw_rows_get(r, 0, 1), "001_core");
    assert_non_null(gw_rows_get(r, 0, 2));
    gw_rows_free(r);
}

static void test_migrate_twice(void **state)
{
    int applied = -1;
    /* Drop and migrate again in-process: all files apply, then none. */
    drop_all(s);
    migrate_ok(&applied);
    assert_int_equal(applied, (int)migration_files(gw_store_kind(s)));
    migrate_ok(&applied);
    assert_int_equal(applied, 0);
}

/* A database made by an older reference: 001 keeps its tables, 002 adds the columns the
 * newer reference introduced, and existing rows survive. */
static void test_migrate_reference_db(void **state)
{
    int applied = -1;
    long long v = 0;
    drop_all(s);
    ok(gw_store_exec(s, "CREATE TABLE users (id BIGINT PRIMARY KEY, username VARCHAR(191), "
                     "password TEXT NOT NULL, display_name VARCHAR(191), email VARCHAR(191), "
                     "github_id VARCHAR(191), discord_id VARCHAR(191), oidc_id VARCHAR(191), "
                     "wechat_id VARCHAR(191), telegram_id VARCHAR(191), linux_do_id "
                     "VARCHAR(191), inviter_id BIGINT, stripe_customer VARCHAR(64), "
                     "deleted_at VARCHAR(32), access_token CHAR(32), aff_code VARCHAR(32), "
                     "quota BIGINT)", NULL, 0, NULL));
    ok(gw_store_exec(s, "CREATE TABLE logs (id BIGINT PRIMARY KEY, user_id BIGINT, created_at "
                     "BIGINT, type BIGINT, content TEXT, username VARCHAR(191), token_name "
                     "VARCHAR(191), model_name VARCHAR(191), channel_id BIGINT, token_id BIGINT, "
                     "`group` VARCHAR(191), ip VARCHAR(191), request_id VARCHAR(64))",
                     NULL, 0, NULL));
    gw_sql_arg a[] = { GW_SQL_TEXT("old"), GW_SQL_INT(42) };
    ok(gw_store_exec(s, "INSERT INTO users (id, username, password, quota) VALUES (1, ?, 'x', ?)",
                     a, 2, NULL));

    migrate_ok(&applied);
    assert_int_equal(applied, (int)migration_files(gw_store_kind(s)));
    gw_rows *r = q("SELECT username, quota, created_at, last_login_at, auth_version FROM users",
                   NULL, 0);
    assert_int_equal(gw_rows_count(r), 1);
    assert_string_equal(gw_rows_get(r, 0, 0), "old");
    assert_string_equal(gw_rows_get(r, 0, 1), "42");
    assert_null(gw_rows_get(r, 0, 2));
    assert_null(gw_rows_get(r, 0, 3));
    ok(gw_rows_int(r, 0, 4, &v));
    assert_int_equal(v, 1);
    gw_rows_free(r);
    gw_rows_free(q("SELECT upstream_request_id FROM logs WHERE 1 = 0", NULL, 0));
    migrate_ok(&applied);
    assert_int_equal(applied, 0);

    /* Back to a database made by us for the tests that follow. */
    drop_all(s);
    migrate_ok(&applied);
}

/* ---- schema ---- */

static void test_tables_have_columns(void **state)
{
    static const struct { const char *table, *cols; } t[] = {
        { "users", "id, username, password, display_name, role, status, email, github_id, "
          "discord_id, oidc_id, wechat_id, telegram_id, linux_do_id, access_token, quota, "
          "used_quota, request_count, `group`, aff_code, aff_count, aff_quota, aff_history, "
          "inviter_id, deleted_at, setting, remark, stripe_customer, created_at, "
          "last_login_at, auth_version" },
        { "tokens", "id, user_id, `key`, status, name, created_time, accessed_time, "
          "expired_time, remain_quota, unlimited_quota, used_quota, model_limits_enabled, "
          "model_limits, allow_ips, `group`, cross_group_retry, auto_groups, deleted_at" },
        { "channels", "id, type, `key`, open_ai_organization, test_model, status, name, weight, "
          "created_time, test_time, response_time, base_url, other, balance, "
          "balance_updated_time, models, `group`, used_quota, model_mapping, "
          "status_code_mapping, priority, auto_ban, other_info, tag, setting, param_override, "
          "header_override, remark, channel_info, settings" },
        { "abilities", "`group`, model, channel_id, enabled, priority, weight, tag" },
        { "logs", "id, user_id, created_at, type, content, username, token_name, model_name, "
          "quota, prompt_tokens, completion_tokens, use_time, is_stream, is_retry_attempt, "
          "channel_id, channel_name, token_id, `group`, ip, request_id, upstream_request_id, "
          "other" },
        { "options", "`key`, value" },
        { "redemptions", "id, user_id, `key`, status, name, quota, created_time, redeemed_time, "
          "used_user_id, deleted_at, expired_time" },
        { "setups", "id, version, initialized_at" },
        { "top_ups", "id, user_id, amount, money, trade_no, payment_method, payment_provider, "
          "create_time, complete_time, status" },
        { "quota_data", "id, user_id, username, model_name, created_at, use_group, token_id, "
          "channel_id, node_name, token_used, count, quota" },
        { "user_sessions", "sid, user_id, version, user_auth_version, status, refresh_hash, "
          "previous_refresh_hash, previous_valid_until, login_method, ip, user_agent, "
          "created_at, last_active_at, expires_at, revoked_at, revoked_reason" },
        { "models", "id, model_name, description, icon, tags, vendor_id, endpoints, status, "
          "sync_official, created_time, updated_time, deleted_at, name_rule" },
        { "vendors", "id, name, description, icon, status, created_time, updated_time, "
          "deleted_at" },
        { "checkins", "id, user_id, checkin_date, quota_awarded, created_at" },
        { "ledger_cursors", "stream, last_id, updated_at" },
        { "schema_migrations", "version, name, applied_at" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char sql[1024];
        size_t commas = 0;
        gw_rows *r = NULL;
        snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE 1 = 0", t[i].cols, t[i].table);
        if (gw_store_query(s, sql, NULL, 0, &r) != GW_OK)
            fail_msg("%s: %s", t[i].table, gw_store_errmsg(s));
        for (const char *p = t[i].cols; *p; p++)
            commas += *p == ',';
        assert_int_equal(gw_rows_cols(r), commas + 1);
        assert_int_equal(gw_rows_count(r), 0);
        gw_rows_free(r);
    }
}

/* ---- round trips ---- */

#define BIG_QUOTA 9007199254740993LL       /* 2^53 + 1: not representable as a double */
#define HANZI "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x9a\x80"

static void test_users(void **state)
{
    long long id = 0, n = 0;
    gw_sql_arg a[] = { GW_SQL_TEXT("alice"), GW_SQL_TEXT("$2a$10$hash"), GW_SQL_TEXT(HANZI),
                       GW_SQL_INT(BIG_QUOTA), GW_SQL_TEXT("vip"), GW_SQL_TEXT("AbCd"),
                       GW_SQL_NULL };
    ok(gw_store_insert(s, "INSERT INTO users (username, password, display_name, quota, "
                       "`group`, aff_code, email) VALUES (?, ?, ?, ?, ?, ?, ?)", a, 7, &id));
    assert_true(id > 0);

    gw_sql_arg k[] = { GW_SQL_INT(id) };
    gw_rows *r = q("SELECT username, display_name, quota, `group`, email, role, status, "
                   "used_quota, auth_version, deleted_at FROM users WHERE id = ?", k, 1);
    assert_int_equal(gw_rows_count(r), 1);
    assert_string_equal(gw_rows_name(r, 3), "group");
    assert_string_equal(gw_rows_get(r, 0, 0), "alice");
    assert_string_equal(gw_rows_get(r, 0, 1), HANZI);
    assert_int_equal(gw_rows_len(r, 0, 1), strlen(HANZI));
    assert_string_equal(gw_rows_get(r, 0, 2), "9007199254740993");
    assert_string_equal(gw_rows_get(r, 0, 3), "vip");
    assert_null(gw_rows_get(r, 0, 4));                                  /* NULL */
    assert_int_equal(gw_rows_int(r, 0, 4, &n), GW_ENOTFOUND);
    ok(gw_rows_int(r, 0, 5, &n));
    assert_int_equal(n, 1);                                             /* defaults */
    ok(gw_rows_int(r, 0, 6, &n));
    assert_int_equal(n, 1);
    ok(gw_rows_int(r, 0, 7, &n));
    assert_int_equal(n, 0);
    ok(gw_rows_int(r, 0, 8, &n));
    assert_int_equal(n, 1);
    assert_null(gw_rows_get(r, 0, 9));
    gw_rows_free(r);

    /* 64-bit arithmetic in SQL, and affected counts. */
    long long affected = 0;
    gw_sql_arg u[] = { GW_SQL_INT(BIG_QUOTA), GW_SQL_INT(id) };
    ok(gw_store_exec(s, "UPDATE users SET quota = quota + ?, used_quota = used_quota + 1 "
                     "WHERE id = ?", u, 2, &affected));
    assert_int_equal(affected, 1);
    assert_int_equal(q_int("SELECT quota FROM users WHERE id = ?", k, 1), 2 * BIG_QUOTA);
    ok(gw_store_exec(s, "UPDATE users SET `group` = `group` WHERE id = ?", k, 1, &affected));
    assert_int_equal(affected, 1);                      /* matched, not changed, rows */

    /* Unique username -> GW_ECONFLICT; the failed statement leaves no row. */
    gw_sql_arg dup[] = { GW_SQL_TEXT("alice"), GW_SQL_TEXT("x") };
    assert_int_equal(gw_store_insert(s, "INSERT INTO users (username, password) VALUES (?, ?)",
                                     dup, 2, &id), GW_ECONFLICT);
    assert_true(strlen(gw_store_errmsg(s)) > 0);

    /* Soft delete, then hard delete. */
    gw_sql_arg del[] = { GW_SQL_TEXT("2024-05-01 12:00:00"), GW_SQL_TEXT("alice") };
    ok(gw_store_exec(s, "UPDATE users SET deleted_at = ? WHERE username = ?", del, 2, NULL));
    assert_int_equal(q_int("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL", NULL, 0), 0);
    ok(gw_store_exec(s, "DELETE FROM users WHERE username = ?", &del[1], 1, &affected));
    assert_int_equal(affected, 1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM users", NULL, 0), 0);
}

static void test_tokens(void **state)
{
    const char *key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijkl";
    long long id = 0, v = 0;
    gw_sql_arg a[] = { GW_SQL_INT(7), GW_SQL_TEXT(key), GW_SQL_TEXT("my token"),
                       GW_SQL_INT(1700000000), GW_SQL_INT(-1), GW_SQL_INT(BIG_QUOTA),
                       GW_SQL_INT(1), GW_SQL_TEXT(""), GW_SQL_TEXT("10.0.0.0/8\n::1"),
                       GW_SQL_INT(0) };
    /* GORM gives booleans no default, so every insert names them (as tokens.c does). */
    ok(gw_store_insert(s, "INSERT INTO tokens (user_id, `key`, name, created_time, expired_time, "
                       "remain_quota, unlimited_quota, `group`, allow_ips, model_limits_enabled) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", a, 10, &id));
    gw_sql_arg k[] = { GW_SQL_TEXT(key) };
    gw_rows *r = q("SELECT id, `key`, remain_quota, unlimited_quota, model_limits_enabled, "
                   "status, `group`, allow_ips, deleted_at FROM tokens WHERE `key` = ? AND "
                   "deleted_at IS NULL", k, 1);
    assert_int_equal(gw_rows_count(r), 1);
    ok(gw_rows_int(r, 0, 0, &v));
    assert_int_equal(v, id);
    assert_string_equal(gw_rows_get(r, 0, 1), key);
    ok(gw_rows_int(r, 0, 2, &v));
    assert_int_equal(v, BIG_QUOTA);
    ok(gw_rows_int(r, 0, 3, &v));                       /* "1" or "t" */
    assert_int_equal(v, 1);
    ok(gw_rows_int(r, 0, 4, &v));                       /* false */
    assert_int_equal(v, 0);
    ok(gw_rows_int(r, 0, 5, &v));
    assert_int_equal(v, 1);
    assert_string_equal(gw_rows_get(r, 0, 6), "");      /* empty string is not NULL */
    assert_string_equal(gw_rows_get(r, 0, 7), "10.0.0.0/8\n::1");
    gw_rows_free(r);

    /* Keys are case-sensitive secrets: a different case is another key. */
    char lower[64];
    snprintf(lower, sizeof lower, "%s", key);
    lower[0] = 'a';
    gw_sql_arg lk[] = { GW_SQL_TEXT(lower) };
    assert_int_equal(q_int("SELECT COUNT(*) FROM tokens WHERE `key` = ?", lk, 1), 0);

    /* Booleans in WHERE: bound as integers. */
    gw_sql_arg b[] = { GW_SQL_INT(1) };
    assert_int_equal(q_int("SELECT COUNT(*) FROM tokens WHERE unlimited_quota = ?", b, 1), 1);
    assert_int_equal(q_int("SELECT COUNT(*) FROM tokens WHERE model_limits_enabled = FALSE",
                           NULL, 0), 1);

    /* Duplicate key -> conflict. */
    assert_int_equal(gw_store_insert(s, "INSERT INTO tokens (user_id, `key`, name, created_time, "
                                     "expired_time, remain_quota, unlimited_quota, `group`, "
                                     "allow_ips) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", a, 9, &id),
                     GW_ECONFLICT);

    /* Concurrent-safe quota debit: UPDATE ... WHERE remain_quota >= ?. */
    long long affected = 0;
    gw_sql_arg d[] = { GW_SQL_INT(1000), GW_SQL_INT(1000), GW_SQL_TEXT(key), GW_SQL_INT(1000) };
    ok(gw_store_exec(s, "UPDATE tokens SET remain_quota = remain_quota - ?, used_quota = "
                     "used_quota + ? WHERE `key` = ? AND remain_quota >= ?", d, 4, &affected));
    assert_int_equal(affected, 1);
    assert_int_equal(q_int("SELECT remain_quota FROM tokens WHERE `key` = ?", k, 1),
                     BIG_QUOTA - 1000);
    ok(gw_store_exec(s, "DELETE FROM tokens WHERE `key` = ?", k, 1, &affected));
    assert_int_equal(affected, 1);
}

static void test_channels_abilities(void **state)
{
    long long id = 0, v = 0;
    double bal = 0;
    gw_sql_arg a[] = { GW_SQL_INT(1), GW_SQL_TEXT("sk-upstream\nsk-second"),
                       GW_SQL_TEXT("openai-1"), GW_SQL_TEXT("gpt-4o,gpt-4o-mini"),
                       GW_SQL_TEXT("default,vip"), GW_SQL_DOUBLE(12.5), GW_SQL_INT(10),
                       GW_SQL_TEXT("{\"is_multi_key\":true,\"multi_key_size\":2}"), GW_SQL_NULL };
    ok(gw_store_insert(s, "INSERT INTO channels (type, `key`, name, models, `group`, balance, "
                       "priority, channel_info, tag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       a, 9, &id));
    gw_sql_arg k[] = { GW_SQL_INT(id) };
    gw_rows *r = q("SELECT `key`, `group`, balance, priority, base_url, status, auto_ban, tag, "
                   "weight, channel_info FROM channels WHERE id = ?", k, 1);
    assert_int_equal(gw_rows_count(r), 1);
    assert_string_equal(gw_rows_get(r, 0, 0), "sk-upstream\nsk-second");
    assert_string_equal(gw_rows_get(r, 0, 1), "default,vip");
    ok(gw_rows_double(r, 0, 2, &bal));
    assert_true(bal == 12.5);
    ok(gw_rows_int(r, 0, 3, &v));
    assert_int_equal(v, 10);
    assert_string_equal(gw_rows_get(r, 0, 4), "");
    ok(gw_rows_int(r, 0, 5, &v));
    assert_int_equal(v, 1);
    ok(gw_rows_int(r, 0, 6, &v));
    assert_int_equal(v, 1);
    assert_null(gw_rows_get(r, 0, 7));
    ok(gw_rows_int(r, 0, 8, &v));
    assert_int_equal(v, 0);
    assert_non_null(strstr(gw_rows_get(r, 0, 9), "multi_key_size"));
    gw_rows_free(r);

    static const char *const groups[] = { "default", "vip" }, *const models[] = { "gpt-4o",
                                                                               "gpt-4o-mini" };
    for (int g = 0; g < 2; g++)
        for (int m = 0; m < 2; m++) {
            gw_sql_arg ab[] = { GW_SQL_TEXT(groups[g]), GW_SQL_TEXT(models[m]), GW_SQL_INT(id),
                                GW_SQL_INT(1), GW_SQL_INT(10) };
            ok(gw_store_exec(s, "INSERT INTO abilities (`group`, model, channel_id, enabled, "
                             "priority) VALUES (?, ?, ?, ?, ?)", ab, 5, NULL));
        }
    gw_sql_arg dup[] = { GW_SQL_TEXT("vip"), GW_SQL_TEXT("gpt-4o"), GW_SQL_INT(id),
                         GW_SQL_INT(1), GW_SQL_INT(10) };
    assert_int_equal(gw_store_exec(s, "INSERT INTO abilities (`group`, model, channel_id, "
                                   "enabled, priority) VALUES (?, ?, ?, ?, ?)", dup, 5, NULL),
                     GW_ECONFLICT);
    gw_sql_arg sel[] = { GW_SQL_TEXT("vip"), GW_SQL_TEXT("gpt-4o"), GW_SQL_INT(1) };
    r = q("SELECT channel_id, priority, weight FROM abilities WHERE `group` = ? AND model = ? "
          "AND enabled = ? ORDER BY priority DESC", sel, 3);
    assert_int_equal(gw_rows_count(r), 1);
    ok(gw_rows_int(r, 0, 0, &v));
    assert_int_equal(v, id);
    gw_rows_free(r);

    /* Status change disables every ability of the channel; channels are hard-deleted. */
    long long affected = 0;
    gw_sql_arg off[] = { GW_SQL_INT(0), GW_SQL_INT(id) };
    ok(gw_store_exec(s, "UPDATE abilities SET enabled = ? WHERE channel_id = ?", off, 2,
                     &affected));
    assert_int_equal(affected, 4);
    assert_int_equal(q_int("SELECT COUNT(*) FROM abilities WHERE enabled = TRUE", NULL, 0), 0);
    ok(gw_store_exec(s, "DELETE FROM abilities WHERE channel_id = ?", k, 1, &affected));
    assert_int_equal(affected, 4);
    ok(gw_store_exec(s, "DELETE FROM channels WHERE id = ?", k, 1, &affected));
    assert_int_equal(affected, 1);
}

static const char *option_upsert_sql(void)
{
    return gw_store_kind(s) == GW_DB_MYSQL
        ? "INSERT INTO options (`key`, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE "
          "value = VALUES(value)"
        : "INSERT INTO options (`key`, value) VALUES (?, ?) ON CONFLICT (`key`) DO UPDATE "
          "SET value = excluded.value";
}

static void test_options(void **state)
{
    gw_sql_arg a[] = { GW_SQL_TEXT("QuotaPerUnit"), GW_SQL_TEXT("500000") };
    ok(gw_store_exec(s, option_upsert_sql(), a, 2, NULL));
    a[1] = GW_SQL_TEXT("500000.5");
    ok(gw_store_exec(s, option_upsert_sql(), a, 2, NULL));

    static const char *const cols[] = { "key", "value" };
    gw_sql_arg b[] = { GW_SQL_TEXT("Notice"), GW_SQL_TEXT(HANZI) };
    ok(gw_store_upsert(s, "options", cols, 2, 1, b));
    b[1] = GW_SQL_TEXT("second " HANZI);
    ok(gw_store_upsert(s, "options", cols, 2, 1, b));
    assert_int_equal(gw_store_upsert(s, "options", cols, 2, 2, b), GW_EINVAL);
    static const char *const bad[] = { "key", "value; DROP TABLE users" };
    assert_int_equal(gw_store_upsert(s, "options", bad, 2, 1, b), GW_EINVAL);

    gw_rows *r = q("SELECT `key`, value FROM options ORDER BY `key`", NULL, 0);
    assert_int_equal(gw_rows_count(r), 2);
    assert_string_equal(gw_rows_get(r, 0, 0), "Notice");
    assert_string_equal(gw_rows_get(r, 0, 1), "second " HANZI);
    assert_string_equal(gw_rows_get(r, 1, 0), "QuotaPerUnit");
    assert_string_equal(gw_rows_get(r, 1, 1), "500000.5");
    gw_rows_free(r);
}

static void test_logs(void **state)
{
    long long id = 0, v = 0;
    char big[20000];            /* longer than any inline fetch buffer */
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    gw_sql_arg a[] = { GW_SQL_INT(3), GW_SQL_INT(1700000000), GW_SQL_INT(2),
                       GW_SQL_TEXT(HANZI), GW_SQL_TEXT("alice"), GW_SQL_TEXT("tok"),
                       GW_SQL_TEXT("gpt-4o"), GW_SQL_INT(BIG_QUOTA), GW_SQL_INT(11),
                       GW_SQL_INT(22), GW_SQL_INT(1), GW_SQL_INT(5), GW_SQL_TEXT("default"),
                       GW_SQL_TEXT("req-1"), GW_SQL_TEXT("up-1"), GW_SQL_TEXT(big) };
    ok(gw_store_insert(s, "INSERT INTO logs (user_id, created_at, type, content, username, "
                       "token_name, model_name, quota, prompt_tokens, completion_tokens, "
                       "is_stream, channel_id, `group`, request_id, upstream_request_id, other) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", a, 16, &id));
    gw_sql_arg k[] = { GW_SQL_INT(3) };
    gw_rows *r = q("SELECT id, content, quota, `group`, upstream_request_id, other, ip, "
                   "is_stream FROM logs WHERE user_id = ? ORDER BY id DESC", k, 1);
    assert_int_equal(gw_rows_count(r), 1);
    ok(gw_rows_int(r, 0, 0, &v));
    assert_int_equal(v, id);
    assert_string_equal(gw_rows_get(r, 0, 1), HANZI);
    assert_string_equal(gw_rows_get(r, 0, 2), "9007199254740993");
    assert_string_equal(gw_rows_get(r, 0, 3), "default");
    assert_string_equal(gw_rows_get(r, 0, 4), "up-1");
    assert_int_equal(gw_rows_len(r, 0, 5), sizeof big - 1);
    assert_string_equal(gw_rows_get(r, 0, 5), big);
    assert_string_equal(gw_rows_get(r, 0, 6), "");
    ok(gw_rows_int(r, 0, 7, &v));
    assert_int_equal(v, 1);
    gw_rows_free(r);
    assert_int_equal(q_int("SELECT SUM(quota) FROM logs WHERE user_id = ?", k, 1), BIG_QUOTA);
    ok(gw_store_exec(s, "DELETE FROM logs WHERE user_id = ?", k, 1, NULL));
}

static void test_redemptions_setups_cursors(void **state)
{
    long long id = 0, v = 0;
    gw_sql_arg a[] = { GW_SQL_INT(1), GW_SQL_TEXT("0123456789abcdef0123456789abcdef"),
                       GW_SQL_TEXT("gift"), GW_SQL_INT(500000), GW_SQL_INT(1700000000) };
    ok(gw_store_insert(s, "INSERT INTO redemptions (user_id, `key`, name, quota, created_time) "
                       "VALUES (?, ?, ?, ?, ?)", a, 5, &id));
    assert_int_equal(gw_store_insert(s, "INSERT INTO redemptions (user_id, `key`, name, quota, "
                                     "created_time) VALUES (?, ?, ?, ?, ?)", a, 5, &v),
                     GW_ECONFLICT);
    gw_sql_arg u[] = { GW_SQL_INT(3), GW_SQL_INT(42), GW_SQL_INT(id), GW_SQL_INT(1) };
    long long affected = 0;
    ok(gw_store_exec(s, "UPDATE redemptions SET status = ?, used_user_id = ? WHERE id = ? AND "
                     "status = ?", u, 4, &affected));
    assert_int_equal(affected, 1);
    ok(gw_store_exec(s, "UPDATE redemptions SET status = ?, used_user_id = ? WHERE id = ? AND "
                     "status = ?", u, 4, &affected));
    assert_int_equal(affected, 0);                      /* already used */

    gw_sql_arg st[] = { GW_SQL_TEXT("v0.1.0"), GW_SQL_INT(1700000000) };
    ok(gw_store_insert(s, "INSERT INTO setups (version, initialized_at) VALUES (?, ?)", st, 2,
                       &id));
    assert_int_equal(q_int("SELECT COUNT(*) FROM setups", NULL, 0), 1);
    gw_rows *r = q("SELECT version FROM setups", NULL, 0);
    assert_string_equal(gw_rows_get(r, 0, 0), "v0.1.0");
    gw_rows_free(r);

    /* Ledger cursor: advanced in the same transaction as the entries it covers. */
    static const char *const cols[] = { "stream", "last_id", "updated_at" };
    gw_sql_arg c1[] = { GW_SQL_TEXT("gw:ledger:0"), GW_SQL_TEXT("1700000000000-0"),
                        GW_SQL_INT(1) };
    ok(gw_store_begin(s));
    ok(gw_store_upsert(s, "ledger_cursors", cols, 3, 1, c1));
    ok(gw_store_commit(s));
    gw_sql_arg c2[] = { GW_SQL_TEXT("gw:ledger:0"), GW_SQL_TEXT("1700000000001-5"),
                        GW_SQL_INT(2) };
    ok(gw_store_begin(s));
    ok(gw_store_upsert(s, "ledger_cursors", cols, 3, 1, c2));
    ok(gw_store_rollback(s));
    gw_sql_arg k[] = { GW_SQL_TEXT("gw:ledger:0") };
    r = q("SELECT last_id, updated_at FROM ledger_cursors WHERE stream = ?", k, 1);
    assert_int_equal(gw_rows_count(r), 1);
    assert_string_equal(gw_rows_get(r, 0, 0), "1700000000000-0");
    gw_rows_free(r);

    /* The smaller tables take a row each. */
    gw_sql_arg t[] = { GW_SQL_INT(1), GW_SQL_INT(BIG_QUOTA), GW_SQL_DOUBLE(9.99),
                       GW_SQL_TEXT("T123"), GW_SQL_TEXT("stripe"), GW_SQL_TEXT("pending") };
    ok(gw_store_insert(s, "INSERT INTO top_ups (user_id, amount, money, trade_no, "
                       "payment_method, status) VALUES (?, ?, ?, ?, ?, ?)", t, 6, &id));
    assert_int_equal(gw_store_insert(s, "INSERT INTO top_ups (user_id, amount, money, trade_no, "
                                     "payment_method, status) VALUES (?, ?, ?, ?, ?, ?)", t, 6,
                                     &id), GW_ECONFLICT);
    gw_sql_arg qd[] = { GW_SQL_INT(1), GW_SQL_TEXT("alice"), GW_SQL_TEXT("gpt-4o"),
                        GW_SQL_INT(1700000000), GW_SQL_INT(100), GW_SQL_INT(1), GW_SQL_INT(7) };
    ok(gw_store_insert(s, "INSERT INTO quota_data (user_id, username, model_name, created_at, "
                       "token_used, count, quota) VALUES (?, ?, ?, ?, ?, ?, ?)", qd, 7, &id));
    gw_sql_arg ven[] = { GW_SQL_TEXT("OpenAI"), GW_SQL_INT(1) };
    ok(gw_store_insert(s, "INSERT INTO vendors (name, status) VALUES (?, ?)", ven, 2, &id));
    gw_sql_arg mo[] = { GW_SQL_TEXT("gpt-4o"), GW_SQL_INT(id), GW_SQL_INT(0) };
    ok(gw_store_insert(s, "INSERT INTO models (model_name, vendor_id, name_rule) VALUES "
                       "(?, ?, ?)", mo, 3, &id));
    gw_sql_arg ck[] = { GW_SQL_INT(1), GW_SQL_TEXT("2024-05-01"), GW_SQL_INT(1000) };
    ok(gw_store_insert(s, "INSERT INTO checkins (user_id, checkin_date, quota_awarded) VALUES "
                       "(?, ?, ?)", ck, 3, &id));
    assert_int_equal(gw_store_insert(s, "INSERT INTO checkins (user_id, checkin_date, "
                                     "quota_awarded) VALUES (?, ?, ?)", ck, 3, &id),
                     GW_ECONFLICT);
}

static void test_transactions(void **state)
{
    gw_sql_arg a[] = { GW_SQL_TEXT("txuser"), GW_SQL_TEXT("pw") };
    long long id;
    ok(gw_store_begin(s));
    assert_true(gw_store_in_tx(s));
    assert_int_equal(gw_store_begin(s), GW_EINVAL);     /* no nesting */
    ok(gw_store_insert(s, "INSERT INTO users (username, password) VALUES (?, ?)", a, 2, &id));
    assert_int_equal(q_int("SELECT COUNT(*) FROM users WHERE username = ?", a, 1), 1);
    ok(gw_store_rollback(s));
    assert_false(gw_store_in_tx(s));
    assert_int_equal(q_int("SELECT COUNT(*) FROM users WHERE username = ?", a, 1), 0);
    assert_int_equal(gw_store_commit(s), GW_EINVAL);

    ok(gw_store_begin(s));
    ok(gw_store_insert(s, "INSERT INTO users (username, password) VALUES (?, ?)", a, 2, &id));
    ok(gw_store_commit(s));
    assert_int_equal(q_int("SELECT COUNT(*) FROM users WHERE username = ?", a, 1), 1);
    ok(gw_store_exec(s, "DELETE FROM users WHERE username = ?", a, 1, NULL));
}

static void test_sql_text_and_errors(void **state)
{
    /* '?' and backticks inside string literals are data, not placeholders. */
    gw_sql_arg a[] = { GW_SQL_TEXT("it's") };
    gw_rows *r = q("SELECT '?`x''', ? -- trailing ? comment\n", a, 1);
    assert_int_equal(gw_rows_count(r), 1);
    assert_string_equal(gw_rows_get(r, 0, 0), "?`x'");
    assert_string_equal(gw_rows_get(r, 0, 1), "it's");
    gw_rows_free(r);

    /* Argument count mismatch and syntax errors are GW_EINVAL with a message. */
    assert_int_equal(gw_store_exec(s, "DELETE FROM users WHERE id = ?", NULL, 0, NULL),
                     GW_EINVAL);
    assert_int_equal(gw_store_exec(s, "SELEC nonsense", NULL, 0, NULL), GW_EINVAL);
    assert_true(strlen(gw_store_errmsg(s)) > 0);
    assert_int_equal(gw_store_exec(s, "DELETE FROM setups WHERE id = -1; DELETE FROM setups",
                                   NULL, 0, NULL), GW_EINVAL);
    assert_int_equal(q_int("SELECT COUNT(*) FROM setups", NULL, 0), 1);
    gw_rows *none = (gw_rows *)1;
    assert_int_equal(gw_store_query(s, "SELECT nope FROM nowhere", NULL, 0, &none), GW_EINVAL);
    assert_null(none);
    ok(gw_store_ping(s));

    /* gw_rows_int on non-integers. */
    r = q("SELECT 'abc', '12x', '-9223372036854775808'", NULL, 0);
    long long v;
    assert_int_equal(gw_rows_int(r, 0, 0, &v), GW_EINVAL);
    assert_int_equal(gw_rows_int(r, 0, 1, &v), GW_EINVAL);
    ok(gw_rows_int(r, 0, 2, &v));
    assert_true(v == INT64_MIN);
    assert_int_equal(gw_rows_int(r, 0, 9, &v), GW_ENOTFOUND);
    assert_null(gw_rows_name(r, 9));
    gw_rows_free(r);
    gw_rows_free(NULL);
    gw_store_close(NULL);
}

/* A connection the server drops is reported as GW_EIO; ping reconnects it once. */
static void test_ping_reconnect(void **state)
{
    const char *kill_self;
    gw_rows *r = NULL;
    switch (gw_store_kind(s)) {
    case GW_DB_MYSQL: kill_self = "KILL CONNECTION_ID()"; break;
    case GW_DB_POSTGRES: kill_self = "SELECT pg_terminate_backend(pg_backend_pid())"; break;
    default: skip(); return;
    }
    ok(gw_store_begin(s));
    int rc = gw_store_exec(s, kill_self, NULL, 0, NULL);
    assert_true(rc == GW_EIO || rc == GW_OK);
    rc = gw_store_query(s, "SELECT 1", NULL, 0, &r);
    assert_int_equal(rc, GW_EIO);
    assert_false(gw_store_in_tx(s));            /* the transaction died with the session */
    ok(gw_store_ping(s));
    assert_int_equal(q_int("SELECT 1", NULL, 0), 1);
}

/* ---- statement cache ---- */

/* SQLite keeps prepared statements per connection, keyed by their text (32 of them,
 * least recently used evicted). Whatever ran before, a call must get the answer of its
 * own text and arguments. Every dialect runs this; only sqlite caches. */
static void test_stmt_cache(void **state)
{
    static const char ins[] = "INSERT INTO ledger_cursors (stream, last_id, updated_at) "
                              "VALUES (?, ?, ?)";
    static const char sel[] = "SELECT last_id FROM ledger_cursors WHERE stream = ?";
    static const char cnt[] = "SELECT COUNT(*) FROM ledger_cursors WHERE stream LIKE 'cache-%'";
    gw_sql_arg c1[] = { GW_SQL_TEXT("cache-a"), GW_SQL_TEXT("1-0"), GW_SQL_INT(1) };
    gw_sql_arg c2[] = { GW_SQL_TEXT("cache-b"), GW_SQL_TEXT("2-0"), GW_SQL_INT(2) };
    gw_sql_arg c3[] = { GW_SQL_TEXT("cache-c"), GW_SQL_TEXT("3-0"), GW_SQL_INT(3) };
    char sql[64], err[256] = "";
    gw_store *s2 = NULL;
    gw_rows *r;

    /* The same text with other arguments; texts of one length that differ at the end. */
    for (long long i = 0; i < 5; i++) {
        gw_sql_arg a = GW_SQL_INT(i * 7);
        assert_int_equal(q_int("SELECT ? + 1", &a, 1), i * 7 + 1);
        assert_int_equal(q_int("SELECT ? + 2", &a, 1), i * 7 + 2);
    }
    /* Many more texts than the cache holds, in both orders: evicted statements are
     * prepared again, never mixed up. */
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < 80; k++) {
            int j = round == 1 ? 79 - k : k;
            gw_sql_arg a = GW_SQL_INT(1000 * round + k);
            snprintf(sql, sizeof sql, "SELECT ? + %d", j);
            assert_int_equal(q_int(sql, &a, 1), 1000 * round + k + j);
        }

    /* A statement that failed (conflict, wrong argument count) works next time. */
    ok(gw_store_exec(s, ins, c1, 3, NULL));
    assert_int_equal(gw_store_exec(s, ins, c1, 3, NULL), GW_ECONFLICT);
    assert_int_equal(gw_store_exec(s, ins, c2, 2, NULL), GW_EINVAL);
    ok(gw_store_begin(s));
    ok(gw_store_exec(s, ins, c2, 3, NULL));
    ok(gw_store_commit(s));
    gw_rows *none = (gw_rows *)1;
    assert_int_equal(gw_store_query(s, sel, c1, 2, &none), GW_EINVAL);
    assert_null(none);
    r = q(sel, c1, 1);
    assert_string_equal(gw_rows_get(r, 0, 0), "1-0");
    gw_rows_free(r);
    r = q(sel, c2, 1);
    assert_string_equal(gw_rows_get(r, 0, 0), "2-0");
    gw_rows_free(r);
    for (int i = 0; i < 2; i++)         /* rejected every time: never cached */
        assert_int_equal(gw_store_exec(s, "SELECT 1; SELECT 2", NULL, 0, NULL), GW_EINVAL);

    /* Cached statements hold no snapshot: each connection sees the other's commits. */
    ok(gw_store_open(dsn, dbpath, &s2, err, sizeof err));
    assert_int_equal(q_int(cnt, NULL, 0), 2);
    ok(gw_store_exec(s2, ins, c3, 3, NULL));
    assert_int_equal(q_int(cnt, NULL, 0), 3);
    ok(gw_store_exec(s, "DELETE FROM ledger_cursors WHERE stream LIKE 'cache-%'", NULL, 0, NULL));
    ok(gw_store_query(s2, cnt, NULL, 0, &r));
    assert_string_equal(gw_rows_get(r, 0, 0), "0");
    gw_rows_free(r);
    gw_store_close(s2);                 /* finalizes its cached statements (ASan: no leak) */

    /* A cached statement whose table goes away fails, and works when it is back. */
    ok(gw_store_exec(s, "CREATE TABLE cache_t (a INTEGER)", NULL, 0, NULL));
    assert_int_equal(q_int("SELECT COUNT(*) FROM cache_t", NULL, 0), 0);
    ok(gw_store_exec(s, "DROP TABLE cache_t", NULL, 0, NULL));
    assert_int_equal(gw_store_query(s, "SELECT COUNT(*) FROM cache_t", NULL, 0, &none),
                     GW_EINVAL);
    ok(gw_store_exec(s, "CREATE TABLE cache_t (a INTEGER)", NULL, 0, NULL));
    ok(gw_store_exec(s, "INSERT INTO cache_t (a) VALUES (1)", NULL, 0, NULL));
    assert_int_equal(q_int("SELECT COUNT(*) FROM cache_t", NULL, 0), 1);
    ok(gw_store_exec(s, "DROP TABLE cache_t", NULL, 0, NULL));
}

/* ---- pool ---- */

#define POOL_THREADS 4
#define POOL_INSERTS 50

struct worker { gw_store_pool *pool; int n; int failures; long long ids[POOL_INSERTS]; };

static void *pool_worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < POOL_INSERTS; i++) {
        gw_store *c;
        char content[64];
        snprintf(content, sizeof content, "pool-%d-%d", w->n, i);
        gw_sql_arg a[] = { GW_SQL_INT(900 + w->n), GW_SQL_TEXT(content) };
        if (gw_store_pool_get(w->pool, &c) != GW_OK) {
            w->failures++;
            continue;
        }
        if (gw_store_insert(c, "INSERT INTO logs (user_id, content) VALUES (?, ?)", a, 2,
                            &w->ids[i]) != GW_OK) {
            fprintf(stderr, "pool insert: %s\n", gw_store_errmsg(c));
            w->failures++;
        }
        gw_store_pool_put(w->pool, c);
    }
    return NULL;
}

static void test_pool_threads(void **state)
{
    gw_store_pool *pool;
    char err[256] = "";
    pthread_t th[POOL_THREADS];
    static struct worker w[POOL_THREADS];
    /* Fewer connections than threads, so gw_store_pool_get() must wait. */
    ok(gw_store_pool_new(dsn, dbpath, 2, &pool, err, sizeof err));
    for (int i = 0; i < POOL_THREADS; i++) {
        w[i] = (struct worker){ .pool = pool, .n = i };
        assert_int_equal(pthread_create(&th[i], NULL, pool_worker, &w[i]), 0);
    }
    for (int i = 0; i < POOL_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < POOL_THREADS; i++)
        assert_int_equal(w[i].failures, 0);
    assert_int_equal(q_int("SELECT COUNT(*) FROM logs WHERE user_id >= 900 AND user_id < 910",
                           NULL, 0), POOL_THREADS * POOL_INSERTS);
    assert_int_equal(q_int("SELECT COUNT(DISTINCT id) FROM logs WHERE user_id >= 900",
                           NULL, 0), POOL_THREADS * POOL_INSERTS);
    for (int i = 0; i < POOL_THREADS; i++)
        for (int j = 0; j < POOL_INSERTS; j++)
            assert_true(w[i].ids[j] > 0);

    /* A transaction left open is rolled back when the connection goes back. */
    gw_store *c;
    gw_sql_arg a[] = { GW_SQL_INT(999), GW_SQL_TEXT("left-open") };
    ok(gw_store_pool_get(pool, &c));
    ok(gw_store_begin(c));
    ok(gw_store_insert(c, "INSERT INTO logs (user_id, content) VALUES (?, ?)", a, 2, NULL));
    gw_store_pool_put(pool, c);
    assert_int_equal(q_int("SELECT COUNT(*) FROM logs WHERE user_id = 999", NULL, 0), 0);
    gw_store_pool_free(pool);
    gw_store_pool_free(NULL);

    assert_int_equal(gw_store_pool_new(dsn, dbpath, 0, &pool, err, sizeof err), GW_EINVAL);
    assert_int_equal(gw_store_pool_new("u:p@tcp(h:99999)/db", NULL, 2, &pool, err, sizeof err),
                     GW_EINVAL);
    assert_null(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dsn_kind),
        cmocka_unit_test(test_mysql_dsn_parse),
        cmocka_unit_test(test_migrate_concurrent),
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_migrate_reference_db),
        cmocka_unit_test(test_tables_have_columns),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_channels_abilities),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_redemptions_setups_cursors),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_sql_text_and_errors),
        cmocka_unit_test(test_stmt_cache),
        cmocka_unit_test(test_pool_threads),
        cmocka_unit_test(test_ping_reconnect),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
