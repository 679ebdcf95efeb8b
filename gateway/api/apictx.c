#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "gateway/api/apictx.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/state/redis.h"
#include "gateway/worker.h"
#include "persist/redis_rows.h"

#define API_MAX_DEPTH 32

static int envelope(gw_req *r, int http, int ok, const char *msg, json_t *data)
{
    json_t *j = json_object();
    if (!j) {
        json_decref(data);
        return GW_ENOMEM;
    }
    json_object_set_new(j, "success", json_boolean(ok));
    json_object_set_new(j, "message", json_string(msg ? msg : ""));
    if (data)
        json_object_set_new(j, "data", data);
    int rc = gw_resp_json(r, http, j);
    json_decref(j);
    return rc;
}

int gw_api_ok(gw_req *r, json_t *data) { return envelope(r, 200, 1, "", data); }
int gw_api_ok_msg(gw_req *r, const char *msg, json_t *data) { return envelope(r, 200, 1, msg, data); }
int gw_api_fail(gw_req *r, const char *msg) { return envelope(r, 200, 0, msg, NULL); }

int gw_api_deny(gw_req *r, int http_status, const char *code, const char *msg)
{
    json_t *j = json_pack("{s:b, s:s, s:s}", "success", 0, "message", msg, "code", code);
    if (!j)
        return GW_ENOMEM;
    int rc = gw_resp_json(r, http_status, j);
    json_decref(j);
    return rc;
}

static long long query_int(gw_req *r, const char *name, long long def)
{
    const char *v = gw_req_query(r, name);
    long long n;
    if (!v || gw_str_to_ll(gw_str_c(v), -1000000000LL, 1000000000LL, &n) != GW_OK)
        return def;
    return n;
}

void gw_api_page(gw_req *r, struct gw_page *pg)
{
    pg->p = query_int(r, "p", 1);
    if (pg->p < 1)
        pg->p = 1;
    long long size = query_int(r, "page_size", 0);
    if (size <= 0)
        size = query_int(r, "ps", 0);
    if (size <= 0)
        size = query_int(r, "size", 0);
    if (size <= 0)
        size = 10;
    if (size > 100)
        size = 100;
    pg->size = size;
    pg->offset = (pg->p - 1) * size;
}

int gw_api_paged(gw_req *r, const struct gw_page *pg, long long total, json_t *items,
                 json_t *extra)
{
    json_t *d = json_pack("{s:I, s:I, s:I, s:o}", "page", (json_int_t)pg->p, "page_size",
                          (json_int_t)pg->size, "total", (json_int_t)total, "items",
                          items ? items : json_array());
    if (d && extra)
        json_object_update(d, extra);
    json_decref(extra);
    return d ? gw_api_ok(r, d) : GW_ENOMEM;
}

json_t *gw_api_body(gw_req *r)
{
    char err[160];
    if (!r->body.len) {
        gw_api_fail(r, "invalid request: empty body, expected a JSON object");
        return NULL;
    }
    json_t *j = gw_json_parse(r->body.base, r->body.len, API_MAX_DEPTH, err, sizeof err);
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON body: %s", err);
        gw_api_fail(r, msg);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        gw_api_fail(r, "invalid request: expected a JSON object");
        return NULL;
    }
    return j;
}

struct sql_job {
    uv_work_t work;
    gw_req *r;
    gw_api_sql_cb fn;
    gw_api_done_cb done;
    void *ctx;
    int rc;
};

static void sql_run(uv_work_t *w)
{
    struct sql_job *j = w->data;
    gw_store *st;
    if (gw_store_pool_get(j->r->worker->pool, &st) != GW_OK) {
        j->rc = GW_EIO;
        return;
    }
    j->rc = j->fn(st, j->ctx);
    gw_store_pool_put(j->r->worker->pool, st);
}

static void sql_after(uv_work_t *w, int status)
{
    struct sql_job *j = w->data;
    gw_req *r = j->r;
    j->done(r, status == UV_ECANCELED ? GW_ECLOSED : j->rc, j->ctx);
    gw_free(j);
    gw_req_unref(r);
}

int gw_api_sql(gw_req *r, gw_api_sql_cb work, gw_api_done_cb done, void *ctx)
{
    struct sql_job *j = gw_calloc(1, sizeof *j);
    if (!j)
        return GW_ENOMEM;
    j->r = r;
    j->fn = work;
    j->done = done;
    j->ctx = ctx;
    j->work.data = j;
    gw_req_ref(r);
    if (uv_queue_work(&r->worker->loop, &j->work, sql_run, sql_after) != 0) {
        gw_req_unref(r);
        gw_free(j);
        return GW_EIO;
    }
    return GW_OK;
}

static enum gw_col_type col_type(const char *name, const struct gw_col *spec, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(spec[i].name, name) == 0)
            return spec[i].type;
    return GW_COL_STR;
}

json_t *gw_api_row_json(const gw_rows *rows, size_t row, const struct gw_col *spec, size_t nspec)
{
    json_t *o = json_object();
    for (size_t c = 0; o && c < gw_rows_cols(rows); c++) {
        const char *name = gw_rows_name(rows, c);
        const char *v = gw_rows_get(rows, row, c);
        long long n = 0;
        double d = 0;
        json_t *val;
        switch (col_type(name, spec, nspec)) {
        case GW_COL_SKIP:
            continue;
        case GW_COL_INT:
            gw_rows_int(rows, row, c, &n);
            val = json_integer((json_int_t)n);
            break;
        case GW_COL_BOOL:
            gw_rows_int(rows, row, c, &n);
            val = json_boolean(n != 0);
            break;
        case GW_COL_REAL:
            gw_rows_double(rows, row, c, &d);
            val = json_real(d);
            break;
        default:
            val = json_string(v ? v : "");
            if (!val) /* not UTF-8: keep the row readable rather than fail it */
                val = json_string("");
        }
        json_object_set_new(o, name, val);
    }
    return o;
}

json_t *gw_api_rows_json(const gw_rows *rows, const struct gw_col *spec, size_t nspec)
{
    json_t *a = json_array();
    for (size_t i = 0; a && rows && i < gw_rows_count(rows); i++)
        json_array_append_new(a, gw_api_row_json(rows, i, spec, nspec));
    return a;
}

struct wt {
    char rid[64];
};

static void wt_done(int status, redisReply *reply, void *data)
{
    struct wt *w = data;
    if (status != GW_OK || !reply || reply->type == REDIS_REPLY_ERROR)
        GW_ERROR("redis write-through failed (%s) rid=%s",
                 status != GW_OK ? gw_strerror(status) : reply ? reply->str : "no reply", w->rid);
    gw_free(w);
}

void gw_api_redis_send(gw_req *r, struct gw_rcmds *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct wt *w = gw_calloc(1, sizeof *w);
        if (!w)
            break;
        snprintf(w->rid, sizeof w->rid, "%s", r->rid);
        if (gw_redis_command_argv(r->worker->redis, wt_done, w, b->cmd[i].argc,
                                  (const char **)b->cmd[i].argv, b->cmd[i].len) != GW_OK) {
            GW_ERROR("redis write-through not sent rid=%s", r->rid);
            gw_free(w);
        }
    }
    gw_rcmds_free(b);
}

const char *gw_api_store_msg(int rc)
{
    switch (rc) {
    case GW_ECONFLICT: return "already exists";
    case GW_ENOTFOUND: return "not found";
    case GW_EIO: return "database unavailable, try again";
    case GW_EAGAIN: return "database busy, try again";
    case GW_EINVAL: return "invalid value";
    default: return "internal error";
    }
}
