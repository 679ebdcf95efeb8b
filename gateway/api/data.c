/* The dashboard's usage data (reference controller/usedata.go, model/usedata.go):
 * hourly sums of new-api's `quota_data` table, which the ledger persister fills
 * (persist/quota_data.h).
 *
 *   GET /api/data/ (admin)        start_timestamp, end_timestamp, username
 *     without username: one row per (model_name, created_at) over every user;
 *     with it: one row per (user_id, username, model_name, created_at) of that
 *     username.
 *   GET /api/data/users (admin)   one row per (username, created_at).
 *   GET /api/data/self (user)     the caller's rows per (user_id, username,
 *     model_name, created_at); the range is at most 30 days, as the reference.
 *
 * Rows have every field of the reference's QuotaData, those the grouping does
 * not select at their zero value (id 0, "" ...), as GORM fills them; count,
 * quota and token_used are sums. created_at is the hour (unix seconds).
 * Timestamps are required here, integers of at least 1 with end >= start (the
 * reference's flow endpoints' rule; its older endpoints read a bad value as 0
 * and answered nothing). Rows come ordered by hour, then name. */
#include <stdio.h>
#include <string.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/arena.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"

#define TS_MAX 253402300799LL       /* 9999-12-31: beyond it no hour exists in SQL */
#define SELF_SPAN_MAX 2592000LL     /* 30 days, the reference's GetUserQuotaDates */
#define NAME_MAX_LEN 191

enum { D_ALL, D_USERS, D_SELF };

struct data_q {
    int kind;
    long long uid, start, end;
    const char *username;           /* D_ALL only; NULL = every user */
    gw_rows *rows;
};

#define SUMS "SUM(`count`), SUM(`quota`), SUM(`token_used`) FROM `quota_data` WHERE "
#define RANGE "`created_at` >= ? AND `created_at` <= ?"

/* Every query selects user_id, username, model_name, created_at, then the sums;
 * what its grouping leaves out is a constant zero value. */
static int work(gw_store *st, void *ctx)
{
    struct data_q *q = ctx;
    gw_sql_arg a[3];
    size_t n = 0;
    const char *sql;

    if (q->kind == D_SELF || q->username) {
        a[n++] = q->kind == D_SELF ? GW_SQL_INT(q->uid) : GW_SQL_TEXT(q->username);
        sql = q->kind == D_SELF
                  ? "SELECT `user_id`, `username`, `model_name`, `created_at`, " SUMS
                    "`user_id` = ? AND " RANGE " GROUP BY `user_id`, `username`, "
                    "`model_name`, `created_at` ORDER BY `created_at`, `model_name`, `username`"
                  : "SELECT `user_id`, `username`, `model_name`, `created_at`, " SUMS
                    "`username` = ? AND " RANGE " GROUP BY `user_id`, `username`, "
                    "`model_name`, `created_at` ORDER BY `created_at`, `model_name`, `user_id`";
    } else if (q->kind == D_USERS) {
        sql = "SELECT 0, `username`, '', `created_at`, " SUMS RANGE
              " GROUP BY `username`, `created_at` ORDER BY `created_at`, `username`";
    } else {
        sql = "SELECT 0, '', `model_name`, `created_at`, " SUMS RANGE
              " GROUP BY `model_name`, `created_at` ORDER BY `created_at`, `model_name`";
    }
    a[n++] = GW_SQL_INT(q->start);
    a[n++] = GW_SQL_INT(q->end);
    return gw_store_query(st, sql, a, n, &q->rows);
}

static long long col_int(const gw_rows *rows, size_t i, size_t c)
{
    long long v = 0;
    return gw_rows_int(rows, i, c, &v) == GW_OK ? v : 0;
}

static json_t *col_str(const gw_rows *rows, size_t i, size_t c)
{
    const char *v = gw_rows_get(rows, i, c);
    json_t *s = json_string(v ? v : "");
    return s ? s : json_string(""); /* not UTF-8: keep the row readable */
}

/* One row as the reference's QuotaData serializes, in its field order. */
static json_t *row_json(const gw_rows *rows, size_t i)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(0));
    json_object_set_new(o, "user_id", json_integer((json_int_t)col_int(rows, i, 0)));
    json_object_set_new(o, "username", col_str(rows, i, 1));
    json_object_set_new(o, "model_name", col_str(rows, i, 2));
    json_object_set_new(o, "created_at", json_integer((json_int_t)col_int(rows, i, 3)));
    json_object_set_new(o, "use_group", json_string(""));
    json_object_set_new(o, "token_id", json_integer(0));
    json_object_set_new(o, "channel_id", json_integer(0));
    json_object_set_new(o, "node_name", json_string(""));
    json_object_set_new(o, "token_used", json_integer((json_int_t)col_int(rows, i, 6)));
    json_object_set_new(o, "count", json_integer((json_int_t)col_int(rows, i, 4)));
    json_object_set_new(o, "quota", json_integer((json_int_t)col_int(rows, i, 5)));
    return o;
}

static void done(gw_req *r, int rc, void *ctx)
{
    struct data_q *q = ctx;
    if (rc != GW_OK) {
        gw_api_fail(r, gw_api_store_msg(rc));
    } else {
        json_t *list = json_array();
        for (size_t i = 0; list && i < gw_rows_count(q->rows); i++)
            json_array_append_new(list, row_json(q->rows, i));
        if (list)
            gw_api_ok(r, list);
        else
            gw_api_fail(r, "out of memory");
    }
    gw_rows_free(q->rows);
    q->rows = NULL;
}

/* A required timestamp: decimal digits, 1 .. TS_MAX. */
static int q_ts(gw_req *r, const char *name, long long *out)
{
    const char *v = gw_req_query(r, name);
    return v && *v && gw_str_to_ll(gw_str_c(v), 1, TS_MAX, out) == GW_OK ? GW_OK : GW_EINVAL;
}

static void run(gw_req *r, const struct gw_caller *who, int kind)
{
    struct data_q *q = gw_arena_calloc(r->arena, sizeof *q);
    if (!q) {
        gw_api_fail(r, "out of memory");
        return;
    }
    q->kind = kind;
    q->uid = who->id;
    if (q_ts(r, "start_timestamp", &q->start) != GW_OK) {
        gw_api_fail(r, "invalid start_timestamp");
        return;
    }
    if (q_ts(r, "end_timestamp", &q->end) != GW_OK) {
        gw_api_fail(r, "invalid end_timestamp");
        return;
    }
    if (q->end < q->start) {
        gw_api_fail(r, "invalid time range");
        return;
    }
    if (kind == D_SELF && q->end - q->start > SELF_SPAN_MAX) {
        gw_api_fail(r, "时间跨度不能超过 1 个月 (the time range cannot exceed 1 month)");
        return;
    }
    if (kind == D_ALL) {
        const char *u = gw_req_query(r, "username");
        if (u && strlen(u) > NAME_MAX_LEN) {
            gw_api_fail(r, "invalid username: longer than 191 characters");
            return;
        }
        q->username = u && *u ? u : NULL;
    }
    if (gw_api_sql(r, work, done, q) != GW_OK)
        gw_api_fail(r, "internal error");
}

void gw_api_data_all(gw_req *r, const struct gw_caller *who) { run(r, who, D_ALL); }
void gw_api_data_users(gw_req *r, const struct gw_caller *who) { run(r, who, D_USERS); }
void gw_api_data_self(gw_req *r, const struct gw_caller *who) { run(r, who, D_SELF); }
