/* /api/token writes and key reveals (see tokens.c for the rules every route
 * keeps): PUT /api/token (update), DELETE /api/token/:id, POST /api/token/:id/key
 * and the batch routes (/batch delete, /batch/keys). */
#include <stdio.h>
#include <string.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/tokens.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

/* ---- key reveal --------------------------------------------------------------- */

static int key_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    gw_rows *rows = NULL;
    int rc = gw__tk_select_own(st, t, t->id, &rows);
    if (rc == GW_OK && !rows)
        return gw__tk_fail(t, "token not found");
    if (rc == GW_OK) {
        const char *k = gw_rows_get(rows, 0, C_KEY);
        if (!(t->data = json_pack("{s:s}", "key", k ? k : "")))
            rc = GW_ENOMEM;
    }
    gw_rows_free(rows);
    return rc;
}

void gw_api_token_key(gw_req *r, const struct gw_caller *who)
{
    gw__tk_by_id(r, who, key_work);
}

/* ---- update ------------------------------------------------------------------ */

static long long cell_int(const gw_rows *rows, size_t c, long long def)
{
    long long v;
    return gw_rows_int(rows, 0, c, &v) == GW_OK ? v : def;
}

static const char *cell(const gw_rows *rows, size_t c)
{
    const char *v = gw_rows_get(rows, 0, c);
    return v ? v : "";
}

/* Refusals that depend on the stored token; NULL when the update may go on. */
static const char *check_update(struct gw__tk *t, const gw_rows *row, long long *status,
                                long long *expired)
{
    struct gw__tk_in *in = &t->in;
    long long cur = cell_int(row, C_STATUS, 1), exp0 = cell_int(row, C_EXPIRED, -1);
    long long remain = (in->set & F_REMAIN) ? in->remain : cell_int(row, C_REMAIN, 0);
    int unlimited = (in->set & F_UNLIMITED) ? in->unlimited : (int)cell_int(row, C_UNLIMITED, 0);
    *expired = (in->set & F_EXPIRED) ? in->expired : exp0;
    *status = (in->set & F_STATUS) ? in->status : cur;
    if ((in->set & F_EXPIRED) && in->expired != exp0 &&
        !gw__tk_future_or_never(in->expired, t->now))
        return "expired_time must be -1 (never) or a time in the future";
    if (*status == 1 && cur != 1) {
        if (!gw__tk_future_or_never(*expired, t->now))
            return "the token has expired: extend expired_time before enabling it";
        if (cur == 4 && remain <= 0 && !unlimited)
            return "the token's quota is used up: raise remain_quota before enabling it";
    }
    return NULL;
}

static int update_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    struct gw__tk_in *in = &t->in;
    gw_rows *row = NULL;
    long long status, expired;
    int ok = 1, rc;
    if ((in->set & F_GROUP) && (rc = gw__tk_group_allowed(st, t, in->group, &ok)) != GW_OK)
        return rc;
    if (!ok) {
        snprintf(t->msg, sizeof t->msg, "group \"%s\" is not available to this user", in->group);
        t->fail = t->msg;
        return GW_OK;
    }
    rc = gw__tk_select_own(st, t, t->id, &row);
    if (rc != GW_OK)
        return rc;
    if (!row)
        return gw__tk_fail(t, "token not found");
    const char *why = check_update(t, row, &status, &expired);
    if (why) {
        gw_rows_free(row);
        return gw__tk_fail(t, why);
    }
    const char *group = (in->set & F_GROUP) ? in->group : cell(row, C_GROUP);
    int cgr = (in->set & F_CGR) ? in->cgr : (int)cell_int(row, C_CGR, 0);
    gw_sql_arg a[11] = {
        GW_SQL_TEXT((in->set & F_NAME) ? in->name : cell(row, C_NAME)),
        GW_SQL_INT(expired),
        GW_SQL_INT((in->set & F_UNLIMITED) ? in->unlimited : cell_int(row, C_UNLIMITED, 0)),
        GW_SQL_INT((in->set & F_MLE) ? in->mle : cell_int(row, C_MLE, 0)),
        GW_SQL_TEXT((in->set & F_ML) ? in->ml : cell(row, C_ML)),
        GW_SQL_TEXT((in->set & F_IPS) ? in->ips : cell(row, C_IPS)),
        GW_SQL_TEXT(group),
        GW_SQL_INT(strcmp(group, "auto") == 0 ? cgr : 0),
        GW_SQL_INT(status),
        GW_SQL_INT(t->id),
        GW_SQL_INT(t->who.id)};
    rc = gw_store_exec(st,
                       "UPDATE tokens SET name = ?, expired_time = ?, unlimited_quota = ?, "
                       "model_limits_enabled = ?, model_limits = ?, allow_ips = ?, `group` = ?, "
                       "cross_group_retry = ?, status = ? WHERE id = ? AND user_id = ? AND "
                       "deleted_at IS NULL",
                       a, 11, NULL);
    /* remain_quota is money: a change is a token_set through the ledger.
     * Always when sent: SQL may still show an older value than Redis, and
     * token_set of the current value writes nothing (adjust.lua). */
    t->set_remain = rc == GW_OK && (in->set & F_REMAIN);
    t->remain_same_as_sql = in->remain == cell_int(row, C_REMAIN, 0);
    t->remain = in->remain;
    t->uid = t->who.id;
    gw_rows_free(row);
    row = NULL;
    if (rc == GW_OK)
        rc = gw__tk_mirror(st, t, t->id, 0);
    if (rc == GW_OK && (rc = gw__tk_select_own(st, t, t->id, &row)) == GW_OK && row) {
        t->data = gw__tk_json(row, 0);
        if (t->set_remain && t->data)
            json_object_set_new(t->data, "remain_quota", json_integer(t->remain));
    }
    gw_rows_free(row);
    return rc;
}

void gw_api_token_update(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    char err[200];
    struct gw__tk *t = gw__tk_new(r, who);
    if (!t) {
        json_decref(body);
        return;
    }
    const char *so = gw_req_query(r, "status_only");
    t->status_only = so && *so;
    /* As in the reference, status changes only with ?status_only; the full edit
     * ignores it (consoles send back whatever status they loaded, 3 and 4 included). */
    int rc = gw_api_opt_int(body, "id", 1, 9007199254740991LL, &t->id, err, sizeof err);
    if (rc == 0)
        snprintf(err, sizeof err, "id is required");
    int bad = rc != 1;
    if (!bad && t->status_only) {
        rc = gw_api_opt_int(body, "status", 1, 2, &t->in.status, err, sizeof err);
        if (rc == 0)
            snprintf(err, sizeof err, "status is required");
        bad = rc != 1;
        t->in.set |= F_STATUS;
    } else if (!bad)
        bad = gw__tk_read_fields(body, &t->in, err, sizeof err);
    json_decref(body);
    if (bad)
        return gw__tk_refuse(r, t, err);
    if ((t->in.set & F_NAME) && !t->in.name[0])
        return gw__tk_refuse(r, t, "name must not be empty");
    gw__tk_run(r, t, update_work);
}

/* ---- delete ------------------------------------------------------------------ */

/* "id IN (?, ?, ...)" for t->nids ids, args filled from a[first]. */
static char *in_list(struct gw__tk *t, gw_sql_arg *a, size_t first)
{
    char *s = gw_malloc(16 + 3 * t->nids);
    if (!s)
        return NULL;
    size_t k = (size_t)snprintf(s, 16, "id IN (");
    for (size_t i = 0; i < t->nids; i++) {
        memcpy(s + k, i ? ",?" : "?", i ? 2 : 1);
        k += i ? 2 : 1;
        a[first + i] = GW_SQL_INT(t->ids[i]);
    }
    memcpy(s + k, ")", 2);
    return s;
}

/* ---- answers -------------------------------------------------------------- */

/* Soft-deletes the caller's tokens in t->ids and removes their mirrors. */
static int delete_ids(gw_store *st, struct gw__tk *t)
{
    gw_sql_arg a[BATCH_DELETE_MAX + 1];
    gw_rows *rows = NULL;
    long long n = 0;
    char *in = in_list(t, a, 1), *sql;
    if (!in)
        return GW_ENOMEM;
    a[0] = GW_SQL_INT(t->who.id);
    size_t cap = strlen(in) + 128;
    int rc = gw_store_begin(st);
    if (rc == GW_OK && (sql = gw_malloc(cap))) {
        snprintf(sql, cap,
                 "SELECT id, `key` FROM tokens WHERE user_id = ? AND deleted_at IS NULL AND %s", in);
        rc = gw_store_query(st, sql, a, 1 + t->nids, &rows);
        if (rc == GW_OK) {
            snprintf(sql, cap, "UPDATE tokens SET deleted_at = CURRENT_TIMESTAMP WHERE user_id = ? "
                               "AND deleted_at IS NULL AND %s", in);
            rc = gw_store_exec(st, sql, a, 1 + t->nids, &n);
        }
        gw_free(sql);
    } else if (rc == GW_OK)
        rc = GW_ENOMEM;
    gw_free(in);
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    if (rc != GW_OK) {
        gw_store_rollback(st);
        gw_rows_free(rows);
        return rc;
    }
    for (size_t i = 0; i < gw_rows_count(rows); i++) {
        long long id = 0;
        gw_rows_int(rows, i, 0, &id);
        gw_rr_token_del(&t->cmds, t->who.id, id, gw_rows_get(rows, i, 1));
    }
    gw_rows_free(rows);
    t->total = n;
    return GW_OK;
}

static int delete_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    t->ids[0] = t->id;
    t->nids = 1;
    int rc = delete_ids(st, t);
    if (rc == GW_OK && t->total != 1)
        return gw__tk_fail(t, "token not found");
    return rc;
}

void gw_api_token_delete(gw_req *r, const struct gw_caller *who)
{
    gw__tk_by_id(r, who, delete_work);
}

static int batch_delete_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    int rc = delete_ids(st, t);
    if (rc == GW_OK && !(t->data = json_integer(t->total)))
        rc = GW_ENOMEM;
    return rc;
}

static int batch_keys_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    gw_sql_arg a[BATCH_KEYS_MAX + 1];
    gw_rows *rows = NULL;
    char *in = in_list(t, a, 1), sql[128 + 4 * BATCH_KEYS_MAX];
    if (!in)
        return GW_ENOMEM;
    a[0] = GW_SQL_INT(t->who.id);
    snprintf(sql, sizeof sql,
             "SELECT id, `key` FROM tokens WHERE user_id = ? AND deleted_at IS NULL AND %s", in);
    gw_free(in);
    int rc = gw_store_query(st, sql, a, 1 + t->nids, &rows);
    if (rc != GW_OK)
        return rc;
    json_t *keys = json_object();
    for (size_t i = 0; keys && i < gw_rows_count(rows); i++) {
        const char *id = gw_rows_get(rows, i, 0), *k = gw_rows_get(rows, i, 1);
        json_object_set_new(keys, id ? id : "0", json_string(k ? k : ""));
    }
    gw_rows_free(rows);
    if (!keys || !(t->data = json_pack("{s:o}", "keys", keys)))
        return GW_ENOMEM;
    return GW_OK;
}

/* Body {"ids":[...]}: 1..max integers. */
static void batch(gw_req *r, const struct gw_caller *who, size_t max, gw_api_sql_cb work)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    const json_t *ids = json_object_get(body, "ids");
    size_t n = json_array_size(ids), i;
    const json_t *v;
    char msg[80];
    const char *err = NULL;
    if (!json_is_array(ids) || n == 0)
        err = "invalid request: ids must be a non-empty array of token ids";
    else if (n > max)
        err = (snprintf(msg, sizeof msg, "at most %zu ids at once", max), msg);
    json_array_foreach(ids, i, v) {
        if (!err && (!json_is_integer(v) || json_integer_value(v) < 1))
            err = "invalid request: ids must be a non-empty array of token ids";
    }
    struct gw__tk *t = err ? NULL : gw__tk_new(r, who);
    if (t) {
        json_array_foreach(ids, i, v) {
            t->ids[i] = (long long)json_integer_value(v);
        }
        t->nids = n;
    }
    json_decref(body);
    if (err)
        gw_api_fail(r, err);
    else if (t)
        gw__tk_run(r, t, work);
}

void gw_api_token_batch_delete(gw_req *r, const struct gw_caller *who)
{
    batch(r, who, BATCH_DELETE_MAX, batch_delete_work);
}

void gw_api_token_batch_keys(gw_req *r, const struct gw_caller *who)
{
    batch(r, who, BATCH_KEYS_MAX, batch_keys_work);
}
