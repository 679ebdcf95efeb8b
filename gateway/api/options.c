/* GET/PUT /api/option/ (root; reference controller/option.go).
 *
 * GET lists every registry key plus any other key found in the table (an
 * imported reference database keeps its options visible), value from SQL
 * else the default, except secrets (options.h gw_option_is_secret).
 * PUT {key, value} validates by the key's type, upserts the text, applies it
 * on this worker at once and bumps the config version so every other worker
 * and replica reloads (gateway/state/config_watch.h). */
#include <string.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/api/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
#include "gateway/state/config_watch.h"
#include "gateway/worker.h"
#include "persist/redis_rows.h"

#define KEY_MAX 191 /* options.key is VARCHAR(191) */

struct list_ctx {
    gw_rows *rows;
};

static int list_work(gw_store *st, void *ctx)
{
    struct list_ctx *c = ctx;
    return gw_store_query(st, "SELECT `key`, value FROM options ORDER BY `key`", NULL, 0,
                          &c->rows);
}

static const char *row_value(const gw_rows *rows, const char *key)
{
    for (size_t i = 0; rows && i < gw_rows_count(rows); i++) {
        const char *k = gw_rows_get(rows, i, 0);
        if (k && strcmp(k, key) == 0) {
            const char *v = gw_rows_get(rows, i, 1);
            return v ? v : "";
        }
    }
    return NULL;
}

static void add(json_t *a, const char *key, const char *value)
{
    json_t *v = json_string(value);
    if (!v) /* not UTF-8 (a hand-edited row): list it rather than fail the page */
        v = json_string("");
    json_array_append_new(a, json_pack("{s:s, s:o}", "key", key, "value", v));
}

static void list_done(gw_req *r, int rc, void *ctx)
{
    struct list_ctx *c = ctx;
    if (rc != GW_OK) {
        gw_api_fail(r, gw_api_store_msg(rc));
    } else {
        size_t n;
        const struct gw_option_def *t = gw_option_table(&n);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            if (gw_option_is_secret(t[i].key))
                continue;
            const char *v = row_value(c->rows, t[i].key);
            add(a, t[i].key, v ? v : t[i].def);
        }
        for (size_t i = 0; i < gw_rows_count(c->rows); i++) {
            const char *k = gw_rows_get(c->rows, i, 0);
            if (k && !gw_option_find(k) && !gw_option_is_secret(k))
                add(a, k, gw_rows_get(c->rows, i, 1) ? gw_rows_get(c->rows, i, 1) : "");
        }
        gw_api_ok(r, a);
    }
    gw_rows_free(c->rows);
    gw_free(c);
}

void gw_api_option_list(gw_req *r, const struct gw_caller *who)
{
    (void)who;
    struct list_ctx *c = gw_calloc(1, sizeof *c);
    if (!c || gw_api_sql(r, list_work, list_done, c) != GW_OK) {
        gw_free(c);
        gw_api_fail(r, "internal error");
    }
}

/* ---- PUT ------------------------------------------------------------------- */

struct put_ctx {
    char key[KEY_MAX + 1];
    char *value;
};

static int put_work(gw_store *st, void *ctx)
{
    struct put_ctx *c = ctx;
    static const char *const cols[] = {"key", "value"};
    gw_sql_arg v[2] = {GW_SQL_TEXT(c->key), GW_SQL_TEXT(c->value)};
    return gw_store_upsert(st, "options", cols, 2, 1, v);
}

static void put_answer(gw_req *r, void *ctx) { gw_api_ok(r, NULL); }

static void put_done(gw_req *r, int rc, void *ctx)
{
    struct put_ctx *c = ctx;
    if (rc == GW_OK) {
        /* Durable now: this worker sees it at once, the others on their next
         * poll, or at once when a call misses a price (relay_state.c): the
         * version bump has landed before the answer. */
        struct gw_cfgwatch *cw = r->worker->cfgwatch;
        struct gw_rcmds bump;
        const char *incr[] = {"INCR", GW_CFGWATCH_VERSION_KEY};
        if (gw_cfgwatch_set(cw, c->key, c->value) != GW_OK)
            GW_WARN("option %s saved but not applied locally (out of memory) rid=%s", c->key,
                    r->rid);
        GW_INFO("option %s updated rid=%s", c->key, r->rid);
        gw_rcmds_init(&bump);
        if (gw_rcmds_add(&bump, 2, incr) != GW_OK)
            gw_cfgwatch_bump(cw); /* out of memory: fire and forget, as before */
        gw_api_redis_send_then(r, &bump, put_answer, NULL);
    } else {
        gw_api_fail(r, gw_api_store_msg(rc));
    }
    gw_free(c->value);
    gw_free(c);
}

void gw_api_option_update(gw_req *r, const struct gw_caller *who)
{
    (void)who;
    char err[256];
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    const json_t *k = json_object_get(body, "key");
    const json_t *v = json_object_get(body, "value");
    const struct gw_option_def *d;
    struct put_ctx *c = NULL;
    if (!json_is_string(k) || !json_string_length(k)) {
        gw_api_fail(r, "invalid request: key must be a non-empty string");
    } else if (!(d = gw_option_find(json_string_value(k)))) {
        snprintf(err, sizeof err, "unknown option key: %.*s",
                 (int)gw_str_utf8_cut(gw_str_c(json_string_value(k)), 100), json_string_value(k));
        gw_api_fail(r, err);
    } else if (!(c = gw_calloc(1, sizeof *c))) {
        gw_api_fail(r, "out of memory");
    } else if (gw_option_normalize(d, v, &c->value, err, sizeof err) != GW_OK) {
        gw_api_fail(r, err);
    } else {
        snprintf(c->key, sizeof c->key, "%s", d->key);
        if (gw_api_sql(r, put_work, put_done, c) == GW_OK)
            c = NULL;
        else
            gw_api_fail(r, "internal error");
    }
    if (c) {
        gw_free(c->value);
        gw_free(c);
    }
    json_decref(body);
}
