/* GET /api/status: the reference's public status object (controller/misc.go
 * GetStatus) plus the health of Redis and SQL. Features that do not exist yet
 * report their "off" defaults. Redis is checked with a PING on the worker's
 * async connection, SQL on the thread pool (never on the loop). */
#include <string.h>
#include <time.h>
#include <uv.h>
#include "gateway/api/api.h"
#include "gateway/api/auth.h"
#include "gateway/state/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/state/redis.h"
#include "gateway/worker.h"
#include "persist/store.h"

struct status_ctx {
    gw_req *r;
    uv_work_t work;
    int pending;
    int redis_ok, sql_ok, setup;
    long long redis_us;
    uint64_t t0;
    const char *db_kind;
    json_t *ledger; /* admins only: per-replica ledger counters from tf:nodes */
};

/* Fields that come from the runtime options (this worker's snapshot, kept
 * fresh by gateway/state/config_watch.c). */
static json_t *num(double v)
{
    int whole = v > -9e15 && v < 9e15 && v == (double)(long long)v;
    return whole ? json_integer((json_int_t)v) : json_real(v);
}

static void option_fields(json_t *d, struct gw_worker *w)
{
    static const char *const strs[][2] = {
        {"system_name", "SystemName"}, {"logo", "Logo"}, {"footer_html", "Footer"},
        {"server_address", "ServerAddress"}, {"top_up_link", "TopUpLink"},
        {"docs_link", "general_setting.docs_link"},
        {"quota_display_type", "general_setting.quota_display_type"},
        {"custom_currency_symbol", "general_setting.custom_currency_symbol"},
        {"data_export_default_time", "DataExportDefaultTime"},
        {"HeaderNavModules", "HeaderNavModules"}, /* the stored text, as the reference */
    };
    static const char *const bools[][2] = {
        {"display_in_currency", "DisplayInCurrencyEnabled"}, {"enable_drawing", "DrawingEnabled"},
        {"enable_task", "TaskEnabled"}, {"enable_data_export", "DataExportEnabled"},
        {"default_collapse_sidebar", "DefaultCollapseSidebar"},
        {"mj_notify_enabled", "MjNotifyEnabled"}, {"demo_site_enabled", "DemoSiteEnabled"},
        {"self_use_mode_enabled", "SelfUseModeEnabled"},
        {"default_use_auto_group", "DefaultUseAutoGroup"},
        {"register_enabled", "RegisterEnabled"}, {"password_login_enabled", "PasswordLoginEnabled"},
        {"password_register_enabled", "PasswordRegisterEnabled"},
    };
    static const char *const nums[][2] = {
        {"quota_per_unit", "QuotaPerUnit"},
        {"custom_currency_exchange_rate", "general_setting.custom_currency_exchange_rate"},
        {"usd_exchange_rate", "USDExchangeRate"}, {"price", "Price"},
        {"stripe_unit_price", "StripeUnitPrice"},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        json_t *v = json_string(gw_options_value(w->cfgwatch, strs[i][1]));
        json_object_set_new(d, strs[i][0], v ? v : json_string(""));
    }
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
        json_object_set_new(d, bools[i][0],
                            json_boolean(gw_options_bool(w->cfgwatch, bools[i][1], 0)));
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        json_object_set_new(d, nums[i][0], num(gw_options_float(w->cfgwatch, nums[i][1], 0)));
    const char *chats = gw_options_value(w->cfgwatch, "Chats");
    json_t *a = chats ? json_loads(chats, 0, NULL) : NULL;
    json_object_set_new(d, "chats", json_is_array(a) ? a : json_array());
    if (a && !json_is_array(a))
        json_decref(a);
}

static json_t *status_data(struct status_ctx *c)
{
    struct gw_worker *w = c->r->worker;
    json_t *d = json_object();
    /* general */
    json_object_set_new(d, "version", json_string(GW_VERSION));
    json_object_set_new(d, "start_time", json_integer((json_int_t)w->start_time));
    /* auth toggles (none of these sign-in methods is built yet) */
    static const char *const off[] = {
        "email_verification", "github_oauth", "discord_oauth", "linuxdo_oauth", "telegram_oauth",
        "wechat_login", "turnstile_check", "enable_batch_update", "api_info_enabled",
        "uptime_kuma_enabled", "announcements_enabled", "faq_enabled",
        "oidc_enabled", "passkey_login", "passkey_allow_insecure", "user_agreement_enabled",
        "privacy_policy_enabled", "checkin_enabled",
    };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        json_object_set_new(d, off[i], json_false());
    static const char *const empty[] = {
        "github_client_id", "discord_client_id", "linuxdo_client_id", "telegram_bot_name",
        "wechat_qrcode", "turnstile_site_key", "oidc_client_id", "oidc_authorization_endpoint",
        "passkey_display_name", "passkey_rp_id", "passkey_origins", "passkey_user_verification",
        "passkey_attachment", "SidebarModulesAdmin",
    };
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
        json_object_set_new(d, empty[i], json_string(""));
    json_object_set_new(d, "linuxdo_minimum_trust_level", json_integer(0));
    option_fields(d, w);
    json_object_set_new(d, "setup", json_boolean(c->setup));
    json_object_set_new(d, "_qn", json_string("new-api"));
    /* ours: health of the state stores */
    json_object_set_new(d, "redis", json_pack("{s:b, s:I}", "ok", c->redis_ok, "latency_us",
                                              (json_int_t)c->redis_us));
    json_object_set_new(d, "sql", json_pack("{s:b, s:s}", "ok", c->sql_ok, "type", c->db_kind));
    if (c->ledger) {
        json_object_set_new(d, "ledger", c->ledger);
        c->ledger = NULL;
    }
    return d;
}

static void finish(struct status_ctx *c)
{
    if (--c->pending)
        return;
    gw_req *r = c->r;
    if (gw_req_alive(r)) {
        int healthy = c->redis_ok && c->sql_ok;
        json_t *j = json_pack("{s:b, s:s, s:o}", "success", healthy, "message",
                              healthy ? "" : (!c->redis_ok ? "redis unavailable" : "database unavailable"),
                              "data", status_data(c));
        gw_resp_json(r, 200, j);
        json_decref(j);
    }
    json_decref(c->ledger);
    gw_free(c);
    gw_req_unref(r);
}

/* tf:nodes holds one JSON blob per replica (gateway/ledger_proc.c). */
static void on_nodes(int status, redisReply *reply, void *data)
{
    struct status_ctx *c = data;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_ARRAY) {
        json_t *nodes = json_object();
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            redisReply *k = reply->element[i], *v = reply->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            json_t *blob = json_loadb(v->str, v->len, 0, NULL);
            if (blob)
                json_object_setn_new(nodes, k->str, k->len, blob);
        }
        c->ledger = json_pack("{s:o}", "nodes", nodes);
    }
    finish(c);
}

static void on_caller(gw_req *r, const struct gw_caller *who)
{
    struct status_ctx *c = r->handler_data;
    if (who && who->role >= GW_ROLE_ADMIN &&
        gw_redis_command(r->worker->redis, on_nodes, c, "HGETALL tf:nodes") == GW_OK)
        return;
    finish(c);
}

static void on_ping(int status, redisReply *reply, void *data)
{
    struct status_ctx *c = data;
    c->redis_ok = status == GW_OK && reply && reply->type == REDIS_REPLY_STATUS;
    c->redis_us = (long long)(gw_clock_mono_us() - c->t0);
    finish(c);
}

/* Thread pool: a pooled connection, a ping and the setup marker. */
static void sql_work(uv_work_t *wk)
{
    struct status_ctx *c = wk->data;
    gw_store *st;
    gw_rows *rows = NULL;
    long long n = 0;
    if (gw_store_pool_get(c->r->worker->pool, &st) != GW_OK)
        return;
    c->db_kind = gw_db_kind_name(gw_store_kind(st));
    if (gw_store_ping(st) == GW_OK &&
        gw_store_query(st, "SELECT COUNT(*) FROM setups", NULL, 0, &rows) == GW_OK) {
        c->sql_ok = 1;
        if (gw_rows_count(rows) == 1 && gw_rows_int(rows, 0, 0, &n) == GW_OK)
            c->setup = n > 0;
    }
    gw_rows_free(rows);
    gw_store_pool_put(c->r->worker->pool, st);
}

static void sql_done(uv_work_t *wk, int status) { finish(wk->data); }

void gw_api_status(gw_req *r)
{
    struct status_ctx *c = gw_calloc(1, sizeof *c);
    if (!c) {
        gw_resp_api_error(r, 500, "out of memory");
        return;
    }
    c->r = r;
    c->t0 = gw_clock_mono_us();
    c->db_kind = gw_db_kind_name(gw_store_dsn_kind(r->worker->cfg->sql_dsn));
    c->pending = 4; /* redis, sql, the caller check, and this function */
    gw_req_ref(r);
    r->handler_data = c;
    gw_api_try_auth(r, on_caller);
    if (gw_redis_command(r->worker->redis, on_ping, c, "PING") != GW_OK)
        c->pending--; /* not connected: redis_ok stays 0 */
    c->work.data = c;
    if (uv_queue_work(&r->worker->loop, &c->work, sql_work, sql_done) != 0)
        c->pending--;
    finish(c);
}
