/* Configuration: ONE table of every environment variable the gateway reads
 * (name, default, type, range/validation, help), like Redis's
 * createBoolConfig table or nginx's ngx_command_t. gw_config_load fills a
 * typed struct from it; gw_config_markdown generates the README section
 * from the same table, so documentation cannot drift from the code.
 *
 * Adding a variable = one field in struct gw_config + one row in the table
 * in config.c (+ a test row in tests/unit/test_core_config.c).
 *
 * Parsing rules, for every variable:
 *   - unset or empty ("") means "use the default";
 *   - INT: strict decimal (gw_str_to_ll), range-checked against min..max;
 *   - BOOL: like Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE
 *     false False; anything else is an error;
 *   - STR: copied as is, then checked by the entry's validate function.
 * Errors name the variable: "PORT: must be an integer in 1..65535, got \"x\"". */
#ifndef GW_CORE_CONFIG_H
#define GW_CORE_CONFIG_H
#include <stddef.h>

#include "gateway/core/buf.h"

enum gw_config_type { GW_CFG_STR, GW_CFG_INT, GW_CFG_BOOL };

/* Which SQL backend SQL_DSN selects (derived by gw_config_load). */
enum gw_sql_kind {
    GW_SQL_SQLITE = 0,   /* SQL_DSN "" or "local": file at sqlite_path */
    GW_SQL_POSTGRES,     /* postgres:// or postgresql:// URL */
    GW_SQL_MYSQL         /* anything else: Go-style DSN user:pass@tcp(host:port)/db */
};

/* Loaded configuration. Strings are owned by the struct (NUL-terminated,
 * never NULL after a successful load) and released by gw_config_free.
 * BOOL fields hold 0 or 1. */
struct gw_config {
    int port;                  /* PORT */
    char *bind_address;        /* BIND_ADDRESS, IPv4 literal */
    char *data_dir;            /* DATA_DIR */
    char *sql_dsn;             /* SQL_DSN as given */
    char *sqlite_path;         /* SQLITE_PATH, or DATA_DIR "/token-factory.db" */
    char *redis_conn_string;   /* REDIS_CONN_STRING; "" = start embedded Redis */
    char *redis_server;        /* REDIS_SERVER binary for the embedded Redis */
    int workers;               /* WORKERS; 0 in the env becomes the online CPU count */
    int shutdown_timeout;      /* SHUTDOWN_TIMEOUT, seconds */
    int max_request_body_mb;   /* MAX_REQUEST_BODY_MB */
    char *session_secret;      /* SESSION_SECRET, generated if unset */
    char *crypto_secret;       /* CRYPTO_SECRET, defaults to session_secret */
    int streaming_timeout;     /* STREAMING_TIMEOUT, seconds, 0 = none */
    int relay_timeout;         /* RELAY_TIMEOUT, seconds, 0 = none */
    char *azure_default_api_version; /* AZURE_DEFAULT_API_VERSION */
    int reservation_ttl;       /* RESERVATION_TTL, seconds */
    int speculative_auth;      /* SPECULATIVE_AUTH */
    char *log_level;           /* LOG_LEVEL as given ("info") */
    int access_log;            /* ACCESS_LOG */
    int error_log_enabled;     /* ERROR_LOG_ENABLED */
    char *static_dir;          /* STATIC_DIR */
    char *node_type;           /* NODE_TYPE: "master" or "slave" */
    int redis_timeout_ms;      /* REDIS_TIMEOUT_MS */
    int test_hooks;            /* GW_TEST_HOOKS */
    int session_cookie_secure; /* SESSION_COOKIE_SECURE */
    int global_api_rl_enable;  /* GLOBAL_API_RATE_LIMIT_ENABLE */
    int global_api_rl;         /* GLOBAL_API_RATE_LIMIT, requests per window */
    int global_api_rl_duration; /* GLOBAL_API_RATE_LIMIT_DURATION, seconds */
    int global_web_rl_enable;  /* GLOBAL_WEB_RATE_LIMIT_ENABLE */
    int global_web_rl;         /* GLOBAL_WEB_RATE_LIMIT */
    int global_web_rl_duration; /* GLOBAL_WEB_RATE_LIMIT_DURATION */
    int critical_rl_enable;    /* CRITICAL_RATE_LIMIT_ENABLE */
    int critical_rl;           /* CRITICAL_RATE_LIMIT */
    int critical_rl_duration;  /* CRITICAL_RATE_LIMIT_DURATION */
    char *trusted_proxies;     /* TRUSTED_PROXIES: comma list of IPs/CIDRs */

    /* Derived by gw_config_load, not read from the environment. */
    enum gw_sql_kind sql_kind;
    int log_level_value;       /* GW_LOG_* parsed from log_level */
    int is_slave;              /* node_type == "slave": skip migrations */
    int session_secret_generated; /* 1 if SESSION_SECRET was unset: the
                                   * caller may warn that sessions will not
                                   * survive a restart */
    size_t max_request_body;   /* max_request_body_mb in bytes */
};

/* One row of the table. For STR the default is the literal string; for INT
 * a decimal; for BOOL "true"/"false". min/max apply to INT only. validate
 * (optional) checks the final string value of a STR entry and writes a
 * message (without the variable name, which the loader prepends) into err.
 * offset is offsetof(struct gw_config, field): an int for INT/BOOL, a
 * char * for STR. */
struct gw_config_entry {
    const char *name;
    enum gw_config_type type;
    const char *def;
    long long min, max;
    size_t offset;
    int (*validate)(const char *value, char *err, size_t errlen);
    const char *help;
};

/* Read every variable with getenv, apply defaults, validate and derive.
 * On success returns GW_OK and c owns its strings. On bad input returns
 * GW_EINVAL with a message naming the variable in err (NUL-terminated if
 * errlen > 0); GW_ENOMEM / GW_EIO (random secret) likewise. On any error c
 * holds no memory (gw_config_free on it is harmless). Logs nothing. Uses
 * getenv: call before starting threads. */
int gw_config_load(struct gw_config *c, char *err, size_t errlen);

/* Free the strings of c and zero it. NULL is a no-op. */
void gw_config_free(struct gw_config *c);

/* Append the README's environment-variable section to out: a Markdown
 * table "| Variable | Default | Type | Description |" with one row per
 * entry in table order, ending with a newline. Errors from gw_buf_append
 * (GW_ETOOBIG, GW_ENOMEM); out may then hold a partial table. */
int gw_config_markdown(gw_buf *out);

/* The table itself (for tests and tools); *n receives the row count. */
const struct gw_config_entry *gw_config_entries(size_t *n);

/* Parse a boolean as Go's strconv.ParseBool does. GW_EINVAL otherwise. */
int gw_config_parse_bool(const char *s, int *out);

#endif
