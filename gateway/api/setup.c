/* /api/setup (reference controller/setup.go): first-run creation of the root
 * user. GET reports whether the system is initialised; POST creates the root
 * (role 100, status 1, "Root User", quota 100000000, bcrypt password), stores
 * SelfUseModeEnabled / DemoSiteEnabled and inserts the setups row — in one
 * transaction, so two replicas racing the first setup create one root. */
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/worker.h"
#include "gateway/state/config_watch.h"
#include "persist/redis_rows.h"

#define ROOT_QUOTA 100000000LL
#define BCRYPT_COST 10

struct setup_ctx {
    int setup_done, root_exists;
    gw_db_kind kind;
    /* POST */
    char *username, *password;
    int self_use, demo;
    const char *fail; /* business error for the envelope */
    long long root_id;
    struct gw_rcmds cmds; /* Redis write-through of the new root */
};

static int count(gw_store *st, const char *sql, long long *n)
{
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, sql, NULL, 0, &rows);
    if (rc == GW_OK)
        rc = gw_rows_int(rows, 0, 0, n);
    gw_rows_free(rows);
    return rc;
}

static int read_state(gw_store *st, struct setup_ctx *c)
{
    long long setups = 0, roots = 0;
    c->kind = gw_store_kind(st);
    int rc = count(st, "SELECT COUNT(*) FROM setups", &setups);
    if (rc == GW_OK)
        rc = count(st, "SELECT COUNT(*) FROM users WHERE role = 100 AND deleted_at IS NULL",
                   &roots);
    c->setup_done = setups > 0;
    c->root_exists = roots > 0;
    return rc;
}

static int get_work(gw_store *st, void *ctx) { return read_state(st, ctx); }

static void get_done(gw_req *r, int rc, void *ctx)
{
    struct setup_ctx *c = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (c->setup_done)
        gw_api_ok(r, json_pack("{s:b, s:b, s:s}", "status", 1, "root_init", 0, "database_type", ""));
    else
        gw_api_ok(r, json_pack("{s:b, s:b, s:s}", "status", 0, "root_init", c->root_exists,
                               "database_type", gw_db_kind_name(c->kind)));
    gw_free(c);
}

void gw_api_setup_get(gw_req *r)
{
    struct setup_ctx *c = gw_calloc(1, sizeof *c);
    if (!c || gw_api_sql(r, get_work, get_done, c) != GW_OK) {
        gw_free(c);
        gw_api_fail(r, "internal error");
    }
}

static int set_option(gw_store *st, const char *key, int on)
{
    static const char *const cols[] = {"key", "value"};
    gw_sql_arg v[2] = {GW_SQL_TEXT(key), GW_SQL_TEXT(on ? "true" : "false")};
    return gw_store_upsert(st, "options", cols, 2, 1, v);
}

static int post_work(gw_store *st, void *ctx)
{
    struct setup_ctx *c = ctx;
    char hash[GW_BCRYPT_LEN + 4], aff[5];
    int rc = read_state(st, c);
    if (rc != GW_OK)
        return rc;
    if (c->setup_done) {
        c->fail = "the system is already initialized";
        return GW_OK;
    }
    if (!c->root_exists && gw_bcrypt_hash(c->password, BCRYPT_COST, hash) != GW_OK)
        return GW_EIO;
    long long now = (long long)time(NULL);
    if ((rc = gw_store_begin(st)) != GW_OK)
        return rc;
    /* id 1 is the race guard: the second of two concurrent setups conflicts. */
    gw_sql_arg s[2] = {GW_SQL_TEXT(GW_VERSION), GW_SQL_INT(now)};
    rc = gw_store_exec(st, "INSERT INTO setups (id, version, initialized_at) VALUES (1, ?, ?)",
                       s, 2, NULL);
    if (rc == GW_OK && !c->root_exists) {
        gw_random_alnum(aff, 4);
        gw_sql_arg u[5] = {GW_SQL_TEXT(c->username), GW_SQL_TEXT(hash), GW_SQL_INT(ROOT_QUOTA),
                           GW_SQL_TEXT(aff), GW_SQL_INT(now)};
        rc = gw_store_insert(st,
                             "INSERT INTO users (username, password, display_name, role, status, "
                             "quota, `group`, aff_code, created_at) VALUES (?, ?, 'Root User', "
                             "100, 1, ?, 'default', ?, ?)",
                             u, 5, &c->root_id);
    }
    if (rc == GW_OK)
        rc = set_option(st, "SelfUseModeEnabled", c->self_use);
    if (rc == GW_OK)
        rc = set_option(st, "DemoSiteEnabled", c->demo);
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    if (rc == GW_OK && c->root_id) { /* mirror the new user into Redis, money included */
        gw_rows *rows = NULL;
        gw_sql_arg id[1] = {GW_SQL_INT(c->root_id)};
        if (gw_store_query(st, "SELECT " GW_RR_USER_COLS " FROM users WHERE id = ?", id, 1,
                           &rows) == GW_OK &&
            gw_rows_count(rows) == 1)
            gw_rr_user(&c->cmds, rows, 0, 1);
        gw_rows_free(rows);
    }
    if (rc != GW_OK) {
        gw_store_rollback(st);
        if (rc == GW_ECONFLICT) {
            c->fail = "the system is already initialized";
            return GW_OK;
        }
    }
    return rc;
}

static void post_done(gw_req *r, int rc, void *ctx)
{
    struct setup_ctx *c = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (c->fail)
        gw_api_fail(r, c->fail);
    else
        gw_api_ok_msg(r, "系统初始化成功", NULL); /* the reference's message, kept for its clients */
    gw_api_redis_send(r, &c->cmds);
    if (rc == GW_OK && !c->fail) /* options were written: every worker reloads them */
        gw_cfgwatch_bump(r->worker->cfgwatch);
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    gw_free(c->username);
    gw_free(c->password);
    gw_free(c);
}

static int json_flag(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);
    return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

void gw_api_setup_post(gw_req *r)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *pw = json_string_value(json_object_get(body, "password"));
    const char *confirm = json_string_value(json_object_get(body, "confirmPassword"));
    const char *err = NULL;
    if (!user || !*user)
        err = "username is required";
    else if (strlen(user) > 12)
        err = "username must be at most 12 characters";
    else if (!pw || strlen(pw) < 8)
        err = "password must be at least 8 characters";
    else if (strlen(pw) > 72)
        err = "password must be at most 72 characters"; /* bcrypt ignores the rest */
    else if (!confirm || strcmp(pw, confirm) != 0)
        err = "the two passwords do not match";
    if (err) {
        gw_api_fail(r, err);
        json_decref(body);
        return;
    }
    struct setup_ctx *c = gw_calloc(1, sizeof *c);
    if (c) {
        c->username = gw_strdup(user);
        c->password = gw_strdup(pw);
        c->self_use = json_flag(body, "SelfUseModeEnabled");
        c->demo = json_flag(body, "DemoSiteEnabled");
    }
    json_decref(body);
    if (!c || !c->username || !c->password || gw_api_sql(r, post_work, post_done, c) != GW_OK) {
        if (c) {
            gw_free(c->username);
            gw_free(c->password);
        }
        gw_free(c);
        gw_api_fail(r, "internal error");
    }
}
