#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "gateway/api/apictx.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
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
    json_object_set_new(j, "message", gw_json_text(msg));
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
    json_t *j = json_pack("{s:b, s:o, s:s}", "success", 0, "message", gw_json_text(msg), "code",
                          code);
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

static json_t *page_data(const struct gw_page *pg, long long total, json_t *items)
{
    return json_pack("{s:I, s:I, s:I, s:o}", "page", (json_int_t)pg->p, "page_size",
                     (json_int_t)pg->size, "total", (json_int_t)total, "items",
                     items ? items : json_array());
}

int gw_api_paged(gw_req *r, const struct gw_page *pg, long long total, json_t *items,
                 json_t *extra)
{
    json_t *d = page_data(pg, total, items);
    if (d && extra)
        json_object_update(d, extra);
    json_decref(extra);
    return d ? gw_api_ok(r, d) : GW_ENOMEM;
}

int gw_api_page_query(gw_store *st, const struct gw_page *pg, const char *table,
                      const char *cols, const char *where, gw_sql_arg *a, size_t na,
                      gw_api_row_cb row_json, json_t **out)
{
    gw_rows *rows = NULL;
    long long total = 0;
    char sql[1024];
    *out = NULL;
    if ((size_t)snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE %s", table, where) >=
        sizeof sql)
        return GW_EINVAL;
    int rc = gw_store_query(st, sql, a, na, &rows);
    if (rc == GW_OK)
        rc = gw_rows_int(rows, 0, 0, &total);
    gw_rows_free(rows);
    rows = NULL;
    if (rc != GW_OK)
        return rc;
    if ((size_t)snprintf(sql, sizeof sql,
                         "SELECT %s FROM %s WHERE %s ORDER BY id DESC LIMIT ? OFFSET ?", cols,
                         table, where) >= sizeof sql)
        return GW_EINVAL;
    a[na] = GW_SQL_INT(pg->size);
    a[na + 1] = GW_SQL_INT(pg->offset);
    if ((rc = gw_store_query(st, sql, a, na + 2, &rows)) != GW_OK)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; items && i < gw_rows_count(rows); i++)
        json_array_append_new(items, row_json(rows, i));
    gw_rows_free(rows);
    *out = page_data(pg, total, items);
    return *out ? GW_OK : GW_ENOMEM;
}

void gw_api_like_literal(const char *pre, const char *in, const char *post, char *out,
                         size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "%s", pre), room = strlen(post) + 3;
    for (; *in && k + room <= cap; in++) {
        if (*in == '%' || *in == '_' || *in == '!')
            out[k++] = '!';
        out[k++] = *in;
    }
    snprintf(out + k, cap - k, "%s", post);
}

const char *gw_api_like_sanitize(const char *in, char *out, size_t cap, int *wildcard)
{
    size_t k = 0, pct = 0, other = 0;
    for (const char *p = in; *p; p++) {
        if (k + 3 >= cap)
            return "search text too long";
        if (*p == '%') {
            if (p[1] == '%')
                return "consecutive % wildcards are not allowed";
            pct++;
        } else {
            other++;
        }
        if (*p == '!' || *p == '_')
            out[k++] = '!';
        out[k++] = *p;
    }
    out[k] = '\0';
    if (pct > 2)
        return "at most 2 % wildcards are allowed";
    if (pct && other < 2)
        return "a fuzzy search needs at least 2 characters besides %";
    *wildcard |= pct > 0;
    return NULL;
}

int gw_api_param_id(gw_req *r, long long *id)
{
    return r->nparams > 0 && gw_str_to_ll(r->params[0], 1, 9007199254740991LL, id) == GW_OK;
}

int gw_api_opt_int(const json_t *b, const char *k, long long lo, long long hi, long long *out,
                   char *err, size_t errlen)
{
    const json_t *v = json_object_get(b, k);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "invalid request: %s must be an integer", k);
        return -1;
    }
    long long x = (long long)json_integer_value(v);
    if (x < lo || x > hi) {
        snprintf(err, errlen, "%s must be between %lld and %lld", k, lo, hi);
        return -1;
    }
    *out = x;
    return 1;
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

struct sendwait {
    gw_req *r;
    size_t pending; /* replies outstanding, plus one while sending */
    gw_api_then_cb then;
    void *ctx;
};

static void sendwait_one(struct sendwait *s)
{
    if (--s->pending)
        return;
    gw_req *r = s->r;
    s->then(r, s->ctx);
    gw_free(s);
    gw_req_unref(r);
}

static void sendwait_done(int status, redisReply *reply, void *data)
{
    struct sendwait *s = data;
    if (status != GW_OK || !reply || reply->type == REDIS_REPLY_ERROR)
        GW_ERROR("redis write-through failed (%s) rid=%s",
                 status != GW_OK ? gw_strerror(status) : reply ? reply->str : "no reply",
                 s->r->rid);
    sendwait_one(s);
}

void gw_api_redis_send_then(gw_req *r, struct gw_rcmds *b, gw_api_then_cb then, void *ctx)
{
    struct sendwait *s = b->n ? gw_calloc(1, sizeof *s) : NULL;
    if (!s) {
        gw_api_redis_send(r, b); /* nothing to wait for (or no memory: do not wait) */
        then(r, ctx);
        return;
    }
    s->r = r;
    s->then = then;
    s->ctx = ctx;
    s->pending = 1;
    gw_req_ref(r);
    for (size_t i = 0; i < b->n; i++) {
        if (gw_redis_command_argv(r->worker->redis, sendwait_done, s, b->cmd[i].argc,
                                  (const char **)b->cmd[i].argv, b->cmd[i].len) == GW_OK)
            s->pending++;
        else
            GW_ERROR("redis write-through not sent rid=%s", r->rid);
    }
    gw_rcmds_free(b);
    sendwait_one(s);
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
