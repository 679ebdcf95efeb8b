#include "gateway/core/config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gateway/core/alloc.h"
#include "gateway/core/cidr.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"

#define SECRET_LEN 32

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- validators: value is the final string (default already applied) ---- */

static int v_ipv4(const char *value, char *err, size_t errlen)
{
    struct in_addr a;

    if (inet_pton(AF_INET, value, &a) == 1)
        return GW_OK;
    set_err(err, errlen, "must be an IPv4 address such as 0.0.0.0 or 127.0.0.1");
    return GW_EINVAL;
}

static int v_nonempty(const char *value, char *err, size_t errlen)
{
    if (value[0] != '\0')
        return GW_OK;
    set_err(err, errlen, "must not be empty");
    return GW_EINVAL;
}

static enum gw_sql_kind sql_kind(const char *dsn)
{
    gw_str s = gw_str_c(dsn);

    if (s.len == 0 || gw_str_eq(s, GW_STRLIT("local")))
        return GW_SQL_SQLITE;
    if (gw_str_has_prefix(s, GW_STRLIT("postgres://")) ||
        gw_str_has_prefix(s, GW_STRLIT("postgresql://")))
        return GW_SQL_POSTGRES;
    return GW_SQL_MYSQL;
}

static int v_sql_dsn(const char *value, char *err, size_t errlen)
{
    /* Go's mysql driver requires the slash before the database name
     * ("invalid DSN: missing the slash separating the database name"). */
    if (sql_kind(value) != GW_SQL_MYSQL || strchr(value, '/') != NULL)
        return GW_OK;
    set_err(err, errlen, "not a postgres:// URL and not a MySQL DSN "
            "like user:pass@tcp(host:3306)/dbname (missing '/dbname')");
    return GW_EINVAL;
}

static int v_redis(const char *value, char *err, size_t errlen)
{
    gw_str s = gw_str_c(value);

    if (s.len == 0 || gw_str_has_prefix(s, GW_STRLIT("redis://")) ||
        gw_str_has_prefix(s, GW_STRLIT("unix://")))
        return GW_OK;
    set_err(err, errlen, "must start with redis:// or unix://");
    return GW_EINVAL;
}

static int v_log_level(const char *value, char *err, size_t errlen)
{
    int lvl;

    if (gw_log_level_parse(value, &lvl) == GW_OK)
        return GW_OK;
    set_err(err, errlen, "must be one of debug, info, warn, error");
    return GW_EINVAL;
}

static int v_node_type(const char *value, char *err, size_t errlen)
{
    if (strcmp(value, "master") == 0 || strcmp(value, "slave") == 0)
        return GW_OK;
    set_err(err, errlen, "must be master or slave");
    return GW_EINVAL;
}

static int v_session_secret(const char *value, char *err, size_t errlen)
{
    /* The reference refuses to start with its documentation's example. */
    if (strcmp(value, "random_string") != 0)
        return GW_OK;
    set_err(err, errlen, "is set to the example value \"random_string\"; "
            "set it to a long random string");
    return GW_EINVAL;
}

/* "ip[/bits]" entries separated by commas (spaces allowed), each parsed by
 * the one CIDR parser (cidr.h) the limiter uses at run time. Stricter than
 * that parser about the list itself: commas only, and no empty item ("a,,b"
 * is a typo, not a list of two). */
static int v_proxies(const char *value, char *err, size_t errlen)
{
    gw_cidr_list *l = NULL;
    for (const char *p = value; *p != '\0';) {
        size_t n = strcspn(p, ","), k = 0;
        while (k < n && p[k] == ' ')
            k++;
        if (k == n || memchr(p, '\n', n) != NULL)
            goto bad;
        p += n;
        if (*p == ',')
            p++;
    }
    int rc = gw_cidr_list_parse(value, strlen(value), &l, NULL, 0);
    if (rc == GW_ENOMEM) { /* the check itself allocates */
        set_err(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    if (rc != GW_OK)
        goto bad;
    gw_cidr_list_free(l);
    return GW_OK;
bad:
    set_err(err, errlen, "must be a comma-separated list of IP addresses or CIDRs "
            "such as 127.0.0.1,10.0.0.0/8");
    return GW_EINVAL;
}

/* ---- the table ---- */

#define OFF(f) offsetof(struct gw_config, f)
#define STR(name, f, def, v, help)  { name, GW_CFG_STR, def, 0, 0, OFF(f), v, help }
#define INT(name, f, def, lo, hi, help) { name, GW_CFG_INT, def, lo, hi, OFF(f), NULL, help }
#define BOOL(name, f, def, help) { name, GW_CFG_BOOL, def, 0, 1, OFF(f), NULL, help }

static const struct gw_config_entry entries[] = {
    INT("PORT", port, "3000", 1, 65535, "TCP port the gateway listens on."),
    STR("BIND_ADDRESS", bind_address, "0.0.0.0", v_ipv4,
        "IPv4 address to listen on."),
    STR("DATA_DIR", data_dir, "./data", v_nonempty,
        "Directory for local state (the SQLite database by default)."),
    STR("SQL_DSN", sql_dsn, "", v_sql_dsn,
        "Database. Empty or `local`: SQLite. `postgres://` or `postgresql://`: "
        "PostgreSQL. Anything else: a MySQL/MariaDB DSN such as "
        "`user:pass@tcp(host:3306)/dbname`."),
    STR("SQLITE_PATH", sqlite_path, "", NULL,
        "SQLite database file. Empty: `$DATA_DIR/token-factory.db`."),
    STR("REDIS_CONN_STRING", redis_conn_string, "", v_redis,
        "Redis to use (`redis://` or `unix://`). Empty: start an embedded "
        "Redis (see REDIS_SERVER)."),
    STR("REDIS_SERVER", redis_server, "redis-server", NULL,
        "redis-server binary used for the embedded Redis."),
    INT("WORKERS", workers, "0", 0, 256,
        "Worker processes. 0: one per online CPU."),
    INT("SHUTDOWN_TIMEOUT", shutdown_timeout, "30", 0, 3600,
        "Seconds to drain in-flight requests on shutdown."),
    INT("MAX_REQUEST_BODY_MB", max_request_body_mb, "128", 1, 4096,
        "Largest accepted request body, in MiB."),
    STR("SESSION_SECRET", session_secret, "", v_session_secret,
        "Secret for console sign-in tokens. Empty: 32 random characters per "
        "start (sessions do not survive a restart, and replicas must share "
        "one value). `random_string` is refused."),
    BOOL("SESSION_COOKIE_SECURE", session_cookie_secure, "false",
         "Mark the console's refresh cookie Secure (set when served over HTTPS)."),
    STR("CRYPTO_SECRET", crypto_secret, "", NULL,
        "Secret for encrypting stored data. Empty: SESSION_SECRET."),
    INT("STREAMING_TIMEOUT", streaming_timeout, "300", 0, 86400,
        "Seconds without data before a streaming upstream response is "
        "abandoned. 0: no limit."),
    STR("AZURE_DEFAULT_API_VERSION", azure_default_api_version, "2025-04-01-preview", v_nonempty,
        "api-version for Azure OpenAI channels whose `other` field names none."),
    INT("RESERVATION_TTL", reservation_ttl, "900", 2, 86400,
        "Seconds a relayed call's quota reservation lives without news; active "
        "streams renew it, and the reaper refunds it after a worker died."),
    BOOL("SPECULATIVE_AUTH", speculative_auth, "false",
         "Opt-in latency trade: start the upstream call while the quota check runs, "
         "for keys whose last check in this worker left ten times the reservation. "
         "Nothing reaches the client or is billed before the check passes, but a "
         "refused call has already reached the upstream, which bills the operator "
         "for it (a budget race can exceed its paid calls). false: check first, then call."),
    INT("RELAY_TIMEOUT", relay_timeout, "0", 0, 86400,
        "Overall upstream request timeout in seconds. 0: no limit."),
    STR("LOG_LEVEL", log_level, "info", v_log_level,
        "Minimum log level: debug, info, warn or error."),
    BOOL("ACCESS_LOG", access_log, "true", "Write one access line per request."),
    BOOL("ERROR_LOG_ENABLED", error_log_enabled, "false",
         "Record failed relay requests in the log table."),
    STR("STATIC_DIR", static_dir, "admin-ui/dist", NULL,
        "Directory of the admin console files; a plain page is served when "
        "absent."),
    STR("NODE_TYPE", node_type, "master", v_node_type,
        "`master` or `slave`. A slave skips database migrations."),
    INT("REDIS_TIMEOUT_MS", redis_timeout_ms, "2000", 10, 60000,
        "Per-command Redis timeout in milliseconds."),
    BOOL("GLOBAL_API_RATE_LIMIT_ENABLE", global_api_rl_enable, "true",
         "Limit requests to `/api/*` per client IP (the reference's `GA` limiter)."),
    INT("GLOBAL_API_RATE_LIMIT", global_api_rl, "180", 1, 1000000000,
        "Requests per client IP per window on `/api/*`."),
    INT("GLOBAL_API_RATE_LIMIT_DURATION", global_api_rl_duration, "180", 1, 86400,
        "Window of GLOBAL_API_RATE_LIMIT, in seconds."),
    BOOL("GLOBAL_WEB_RATE_LIMIT_ENABLE", global_web_rl_enable, "true",
         "Limit requests for the console's pages and files per client IP (`GW`)."),
    INT("GLOBAL_WEB_RATE_LIMIT", global_web_rl, "60", 1, 1000000000,
        "Console requests per client IP per window."),
    INT("GLOBAL_WEB_RATE_LIMIT_DURATION", global_web_rl_duration, "180", 1, 86400,
        "Window of GLOBAL_WEB_RATE_LIMIT, in seconds."),
    BOOL("CRITICAL_RATE_LIMIT_ENABLE", critical_rl_enable, "true",
         "Limit sign-in, registration, setup, top-up and key reveal per client IP (`CT`)."),
    INT("CRITICAL_RATE_LIMIT", critical_rl, "20", 1, 1000000000,
        "Critical requests per client IP per window."),
    INT("CRITICAL_RATE_LIMIT_DURATION", critical_rl_duration, "1200", 1, 86400,
        "Window of CRITICAL_RATE_LIMIT, in seconds."),
    STR("TRUSTED_PROXIES", trusted_proxies, "", v_proxies,
        "Comma-separated proxy IPs/CIDRs whose X-Forwarded-For names the client. Empty: "
        "the peer address is the client and X-Forwarded-For is ignored."),
    BOOL("GW_TEST_HOOKS", test_hooks, "false",
         "Enables /__test routes used by the integration tests; never in "
         "production."),
};

#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

const struct gw_config_entry *gw_config_entries(size_t *n)
{
    *n = N_ENTRIES;
    return entries;
}

int gw_config_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
    static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return GW_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return GW_OK;
        }
    }
    return GW_EINVAL;
}

/* ---- loading ---- */

static int load_entry(struct gw_config *c, const struct gw_config_entry *e,
                      char *err, size_t errlen)
{
    const char *env = getenv(e->name);
    const char *value = env != NULL && env[0] != '\0' ? env : e->def;
    char *field = (char *)c + e->offset;
    char why[160];
    long long ll;
    int b, rc;

    switch (e->type) {
    case GW_CFG_INT:
        if (gw_str_to_ll(gw_str_c(value), e->min, e->max, &ll) != GW_OK) {
            set_err(err, errlen, "%s: must be an integer in %lld..%lld, got \"%s\"",
                    e->name, e->min, e->max, value);
            return GW_EINVAL;
        }
        *(int *)(void *)field = (int)ll;
        return GW_OK;
    case GW_CFG_BOOL:
        if (gw_config_parse_bool(value, &b) != GW_OK) {
            set_err(err, errlen, "%s: must be a boolean (true/false/1/0), got \"%s\"",
                    e->name, value);
            return GW_EINVAL;
        }
        *(int *)(void *)field = b;
        return GW_OK;
    case GW_CFG_STR:
        if (e->validate != NULL && (rc = e->validate(value, why, sizeof(why))) != GW_OK) {
            set_err(err, errlen, "%s: %s", e->name, why);
            return rc == GW_ENOMEM ? GW_ENOMEM : GW_EINVAL;
        }
        *(char **)(void *)field = gw_strdup(value);
        if (*(char **)(void *)field == NULL) {
            set_err(err, errlen, "%s: out of memory", e->name);
            return GW_ENOMEM;
        }
        return GW_OK;
    }
    return GW_EINVAL;
}

/* Replace an owned string field. */
static int set_str(char **field, char *value)
{
    if (value == NULL)
        return GW_ENOMEM;
    gw_free(*field);
    *field = value;
    return GW_OK;
}

static int derive(struct gw_config *c, char *err, size_t errlen)
{
    char secret[SECRET_LEN + 1];
    gw_buf b;
    long ncpu;
    int rc;

    if (c->sqlite_path[0] == '\0') {
        gw_buf_init(&b, 4096 + 32);
        rc = gw_buf_appendf(&b, "%s/token-factory.db", c->data_dir);
        if (rc != GW_OK) {
            gw_buf_free(&b);
            set_err(err, errlen, "DATA_DIR: %s", rc == GW_ETOOBIG ? "too long"
                                                                : "out of memory");
            return rc == GW_ETOOBIG ? GW_EINVAL : rc;
        }
        set_str(&c->sqlite_path, gw_buf_steal(&b));
    }
    if (c->workers == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
    }
    if (c->session_secret[0] == '\0') {
        if (gw_random_alnum(secret, SECRET_LEN) != GW_OK) {
            set_err(err, errlen, "SESSION_SECRET: cannot generate a random secret");
            return GW_EIO;
        }
        rc = set_str(&c->session_secret, gw_strdup(secret));
        OPENSSL_cleanse(secret, sizeof(secret));
        if (rc != GW_OK)
            goto oom;
        c->session_secret_generated = 1;
    }
    if (c->crypto_secret[0] == '\0' &&
        set_str(&c->crypto_secret, gw_strdup(c->session_secret)) != GW_OK)
        goto oom;
    c->sql_kind = sql_kind(c->sql_dsn);
    gw_log_level_parse(c->log_level, &c->log_level_value);   /* validated */
    c->is_slave = strcmp(c->node_type, "slave") == 0;
    c->max_request_body = (size_t)c->max_request_body_mb * 1024 * 1024;
    return GW_OK;
oom:
    set_err(err, errlen, "out of memory");
    return GW_ENOMEM;
}

int gw_config_load(struct gw_config *c, char *err, size_t errlen)
{
    size_t i;
    int rc = GW_OK;

    memset(c, 0, sizeof(*c));
    set_err(err, errlen, "%s", "");
    for (i = 0; i < N_ENTRIES && rc == GW_OK; i++)
        rc = load_entry(c, &entries[i], err, errlen);
    if (rc == GW_OK)
        rc = derive(c, err, errlen);
    if (rc != GW_OK)
        gw_config_free(c);
    return rc;
}

void gw_config_free(struct gw_config *c)
{
    size_t i;

    if (c == NULL)
        return;
    /* Secrets should not linger in freed heap memory. */
    if (c->session_secret != NULL)
        OPENSSL_cleanse(c->session_secret, strlen(c->session_secret));
    if (c->crypto_secret != NULL)
        OPENSSL_cleanse(c->crypto_secret, strlen(c->crypto_secret));
    for (i = 0; i < N_ENTRIES; i++)
        if (entries[i].type == GW_CFG_STR)
            gw_free(*(char **)(void *)((char *)c + entries[i].offset));
    memset(c, 0, sizeof(*c));
}

/* ---- README generator ---- */

/* Table cells: '|' would end the cell and a newline the row. */
static int md_cell(gw_buf *out, const char *s)
{
    int rc = GW_OK;

    for (; *s != '\0' && rc == GW_OK; s++) {
        if (*s == '|')
            rc = gw_buf_appends(out, "\\|");
        else if (*s == '\n')
            rc = gw_buf_appends(out, " ");
        else
            rc = gw_buf_append(out, s, 1);
    }
    return rc;
}

static int md_row(gw_buf *out, const struct gw_config_entry *e)
{
    int rc = gw_buf_appendf(out, "| `%s` | ", e->name);

    if (rc == GW_OK)
        rc = e->def[0] == '\0' ? gw_buf_appends(out, "*(empty)*")
                                : gw_buf_appendf(out, "`%s`", e->def);
    if (rc != GW_OK)
        return rc;
    switch (e->type) {
    case GW_CFG_INT:
        rc = gw_buf_appendf(out, " | integer %lld..%lld | ", e->min, e->max);
        break;
    case GW_CFG_BOOL:
        rc = gw_buf_appends(out, " | boolean | ");
        break;
    case GW_CFG_STR:
        rc = gw_buf_appends(out, " | string | ");
        break;
    }
    if (rc == GW_OK)
        rc = md_cell(out, e->help);
    if (rc == GW_OK)
        rc = gw_buf_appends(out, " |\n");
    return rc;
}

int gw_config_markdown(gw_buf *out)
{
    size_t i;
    int rc;

    rc = gw_buf_appends(out, "| Variable | Default | Type | Description |\n"
                             "|---|---|---|---|\n");
    for (i = 0; i < N_ENTRIES && rc == GW_OK; i++)
        rc = md_row(out, &entries[i]);
    return rc;
}
