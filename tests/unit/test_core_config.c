#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/core/buf.h"
#include "gateway/core/config.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"

static int clear_env(void **state)
{
    const struct gw_config_entry *e;
    size_t i, n;

    e = gw_config_entries(&n);
    for (i = 0; i < n; i++)
        unsetenv(e[i].name);
    return 0;
}

static void test_defaults(void **state)
{
    struct gw_config c;
    char err[256];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    assert_int_equal(gw_config_load(&c, err, sizeof(err)), GW_OK);
    assert_int_equal(c.port, 3000);
    assert_string_equal(c.bind_address, "0.0.0.0");
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.sql_dsn, "");
    assert_int_equal(c.sql_kind, GW_SQL_SQLITE);
    assert_string_equal(c.sqlite_path, "./data/token-factory.db");
    assert_string_equal(c.redis_conn_string, "");
    assert_string_equal(c.redis_server, "redis-server");
    assert_int_equal(c.workers, ncpu < 1 ? 1 : ncpu);
    assert_int_equal(c.shutdown_timeout, 30);
    assert_int_equal(c.max_request_body_mb, 128);
    assert_true(c.max_request_body == (size_t)128 << 20);
    assert_int_equal(strlen(c.session_secret), 32);
    assert_int_equal(c.session_secret_generated, 1);
    assert_string_equal(c.crypto_secret, c.session_secret);
    assert_int_equal(c.streaming_timeout, 300);
    assert_int_equal(c.relay_timeout, 0);
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.log_level_value, GW_LOG_INFO);
    assert_int_equal(c.access_log, 1);
    assert_int_equal(c.error_log_enabled, 0);
    assert_string_equal(c.static_dir, "admin-ui/dist");
    assert_string_equal(c.node_type, "master");
    assert_int_equal(c.is_slave, 0);
    assert_int_equal(c.redis_timeout_ms, 2000);
    assert_int_equal(c.test_hooks, 0);
    gw_config_free(&c);
    assert_null(c.data_dir);
    gw_config_free(&c);                        /* second free harmless */
    gw_config_free(NULL);
}

/* One environment variable set to one value; then either a field check or
 * an error naming the variable. */
struct case_ {
    const char *var, *value;
    int rc;
    size_t offset;     /* field to check when rc == GW_OK */
    enum { NONE, INT, STR } kind;
    long long want_int;
    const char *want_str;
};

#define OK_INT(var, val, f, want) { var, val, GW_OK, offsetof(struct gw_config, f), INT, want, NULL }
#define OK_STR(var, val, f, want) { var, val, GW_OK, offsetof(struct gw_config, f), STR, 0, want }
#define BAD(var, val) { var, val, GW_EINVAL, 0, NONE, 0, NULL }

static const struct case_ cases[] = {
    /* INT parsing and ranges */
    OK_INT("PORT", "8080", port, 8080),
    OK_INT("PORT", "1", port, 1),
    OK_INT("PORT", "65535", port, 65535),
    OK_INT("PORT", "", port, 3000),            /* empty means default */
    BAD("PORT", "0"), BAD("PORT", "65536"), BAD("PORT", "80a"), BAD("PORT", " 80"),
    BAD("PORT", "0x50"), BAD("PORT", "-1"),
    OK_INT("WORKERS", "3", workers, 3),
    BAD("WORKERS", "257"),
    OK_INT("SHUTDOWN_TIMEOUT", "0", shutdown_timeout, 0),
    BAD("SHUTDOWN_TIMEOUT", "3601"),
    BAD("MAX_REQUEST_BODY_MB", "0"),
    OK_INT("MAX_REQUEST_BODY_MB", "4096", max_request_body_mb, 4096),
    OK_INT("STREAMING_TIMEOUT", "86400", streaming_timeout, 86400),
    BAD("RELAY_TIMEOUT", "86401"),
    BAD("REDIS_TIMEOUT_MS", "9"),
    OK_INT("REDIS_TIMEOUT_MS", "60000", redis_timeout_ms, 60000),
    /* BOOL: Go strconv.ParseBool */
    OK_INT("ACCESS_LOG", "false", access_log, 0),
    OK_INT("ACCESS_LOG", "0", access_log, 0),
    OK_INT("ACCESS_LOG", "F", access_log, 0),
    OK_INT("ACCESS_LOG", "FALSE", access_log, 0),
    OK_INT("ACCESS_LOG", "False", access_log, 0),
    OK_INT("ERROR_LOG_ENABLED", "1", error_log_enabled, 1),
    OK_INT("ERROR_LOG_ENABLED", "t", error_log_enabled, 1),
    OK_INT("ERROR_LOG_ENABLED", "T", error_log_enabled, 1),
    OK_INT("ERROR_LOG_ENABLED", "TRUE", error_log_enabled, 1),
    OK_INT("ERROR_LOG_ENABLED", "True", error_log_enabled, 1),
    OK_INT("GW_TEST_HOOKS", "true", test_hooks, 1),
    BAD("GW_TEST_HOOKS", "yes"), BAD("ACCESS_LOG", "tRUE"), BAD("ACCESS_LOG", "2"),
    BAD("ERROR_LOG_ENABLED", "on"),
    /* STR with validation */
    OK_STR("BIND_ADDRESS", "127.0.0.1", bind_address, "127.0.0.1"),
    BAD("BIND_ADDRESS", "localhost"), BAD("BIND_ADDRESS", "::1"), BAD("BIND_ADDRESS", "1.2.3"),
    OK_STR("SQL_DSN", "local", sql_dsn, "local"),
    OK_STR("SQL_DSN", "postgres://u:p@h/db", sql_dsn, "postgres://u:p@h/db"),
    OK_STR("SQL_DSN", "root:pw@tcp(localhost:3306)/oneapi", sql_dsn,
           "root:pw@tcp(localhost:3306)/oneapi"),
    BAD("SQL_DSN", "root:pw@tcp(localhost:3306)"),
    OK_STR("REDIS_CONN_STRING", "redis://localhost:6379/0", redis_conn_string,
           "redis://localhost:6379/0"),
    OK_STR("REDIS_CONN_STRING", "unix:///tmp/redis.sock", redis_conn_string,
           "unix:///tmp/redis.sock"),
    BAD("REDIS_CONN_STRING", "localhost:6379"),
    OK_STR("LOG_LEVEL", "debug", log_level, "debug"),
    OK_INT("LOG_LEVEL", "warn", log_level_value, GW_LOG_WARN),
    BAD("LOG_LEVEL", "loud"),
    OK_STR("NODE_TYPE", "slave", node_type, "slave"),
    OK_INT("NODE_TYPE", "slave", is_slave, 1),
    BAD("NODE_TYPE", "replica"),
    BAD("SESSION_SECRET", "random_string"),
    OK_STR("SESSION_SECRET", "s3cr3t", crypto_secret, "s3cr3t"),   /* derived */
    OK_INT("SESSION_SECRET", "s3cr3t", session_secret_generated, 0),
    OK_STR("REDIS_SERVER", "/usr/bin/redis-server", redis_server, "/usr/bin/redis-server"),
    OK_STR("STATIC_DIR", "/srv/ui", static_dir, "/srv/ui"),
    OK_STR("DATA_DIR", "/var/lib/tf", sqlite_path, "/var/lib/tf/token-factory.db"),
    OK_STR("SQLITE_PATH", "/tmp/x.db", sqlite_path, "/tmp/x.db"),
    /* TRUSTED_PROXIES: the CIDR parser of core/cidr.h, commas, no empty item */
    OK_STR("TRUSTED_PROXIES", "", trusted_proxies, ""),
    OK_STR("TRUSTED_PROXIES", "127.0.0.1, ::1", trusted_proxies, "127.0.0.1, ::1"),
    OK_STR("TRUSTED_PROXIES", "10.0.0.0/8,fd00::/8", trusted_proxies, "10.0.0.0/8,fd00::/8"),
    BAD("TRUSTED_PROXIES", "not-an-ip"), BAD("TRUSTED_PROXIES", "10.0.0.0/33"),
    BAD("TRUSTED_PROXIES", "1.2.3.4,,5.6.7.8"), OK_STR("TRUSTED_PROXIES", "1.2.3.4,", trusted_proxies, "1.2.3.4,"),
    BAD("TRUSTED_PROXIES", "10.0.0.0/-0"), BAD("TRUSTED_PROXIES", "10.0.0.0/08"),
    BAD("TRUSTED_PROXIES", "1.2.3.4\n5.6.7.8"), BAD("TRUSTED_PROXIES", "::1/129"),
};

static void test_table(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct case_ *t = &cases[i];
        struct gw_config c;
        char err[256];
        int rc;

        clear_env(state);
        setenv(t->var, t->value, 1);
        rc = gw_config_load(&c, err, sizeof(err));
        if (rc != t->rc)
            fail_msg("case %zu %s=\"%s\": rc %d (%s), want %d", i, t->var, t->value,
                     rc, rc ? err : "", t->rc);
        if (rc != GW_OK) {
            /* The message starts with the variable's name. */
            if (strncmp(err, t->var, strlen(t->var)) != 0 || err[strlen(t->var)] != ':')
                fail_msg("case %zu: error does not name %s: %s", i, t->var, err);
            assert_null(c.data_dir);           /* nothing left allocated */
            continue;
        }
        if (t->kind == INT)
            assert_int_equal(*(int *)(void *)((char *)&c + t->offset), t->want_int);
        else if (t->kind == STR)
            assert_string_equal(*(char **)(void *)((char *)&c + t->offset), t->want_str);
        gw_config_free(&c);
    }
    clear_env(state);
}

static void test_derived(void **state)
{
    struct gw_config c, d;
    char err[256];

    setenv("SESSION_SECRET", "sess", 1);
    setenv("CRYPTO_SECRET", "crypt", 1);
    setenv("SQL_DSN", "postgresql://db/x", 1);
    setenv("WORKERS", "0", 1);
    assert_int_equal(gw_config_load(&c, err, sizeof(err)), GW_OK);
    assert_string_equal(c.session_secret, "sess");
    assert_string_equal(c.crypto_secret, "crypt");
    assert_int_equal(c.sql_kind, GW_SQL_POSTGRES);
    assert_true(c.workers >= 1);
    gw_config_free(&c);

    setenv("SQL_DSN", "u:p@tcp(h:3306)/db", 1);
    assert_int_equal(gw_config_load(&c, err, sizeof(err)), GW_OK);
    assert_int_equal(c.sql_kind, GW_SQL_MYSQL);
    gw_config_free(&c);

    /* Generated secrets: alphanumeric and different on every load. */
    clear_env(state);
    assert_int_equal(gw_config_load(&c, err, sizeof(err)), GW_OK);
    assert_int_equal(gw_config_load(&d, err, sizeof(err)), GW_OK);
    assert_int_equal(strspn(c.session_secret, "0123456789abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 32);
    assert_string_not_equal(c.session_secret, d.session_secret);
    gw_config_free(&c);
    gw_config_free(&d);
}

static void test_bool_parse(void **state)
{
    int v = -1;

    assert_int_equal(gw_config_parse_bool("True", &v), GW_OK);
    assert_int_equal(v, 1);
    assert_int_equal(gw_config_parse_bool("0", &v), GW_OK);
    assert_int_equal(v, 0);
    assert_int_equal(gw_config_parse_bool("", &v), GW_EINVAL);
    assert_int_equal(gw_config_parse_bool("Yes", &v), GW_EINVAL);
}

static void test_markdown(void **state)
{
    const struct gw_config_entry *e;
    gw_buf b;
    size_t i, n, lines = 0;
    const char *prev = NULL;

    gw_buf_init(&b, 1 << 16);
    assert_int_equal(gw_config_markdown(&b), GW_OK);
    assert_memory_equal(b.base, "| Variable | Default | Type | Description |\n", 44);
    e = gw_config_entries(&n);
    assert_int_equal(n, 35);
    for (i = 0; i < n; i++) {
        char needle[64];
        const char *at;

        snprintf(needle, sizeof(needle), "| `%s` |", e[i].name);
        at = strstr(b.base, needle);
        if (at == NULL)
            fail_msg("markdown lacks %s", e[i].name);
        assert_true(prev == NULL || at > prev);  /* table order */
        prev = at;
    }
    for (i = 0; i < b.len; i++)
        lines += b.base[i] == '\n';
    assert_int_equal(lines, n + 2);            /* header, rule, one per entry */
    assert_non_null(strstr(b.base, "| `PORT` | `3000` | integer 1..65535 |"));
    assert_non_null(strstr(b.base, "| `ACCESS_LOG` | `true` | boolean |"));
    assert_non_null(strstr(b.base, "| `SQL_DSN` | *(empty)* | string |"));
    assert_non_null(strstr(b.base, "never in production"));
    gw_buf_free(&b);

    gw_buf_init(&b, 100);                      /* bounded: refuses cleanly */
    assert_int_equal(gw_config_markdown(&b), GW_ETOOBIG);
    gw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_table, clear_env),
        cmocka_unit_test_setup(test_derived, clear_env),
        cmocka_unit_test(test_bool_parse),
        cmocka_unit_test(test_markdown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
