/* The /api/log endpoints (reference controller/log.go, model/log.go): the SQL `logs`
 * table that the ledger persister writes.
 *
 *   GET /api/log/ and /api/log/search (admin)   every user's rows
 *   GET /api/log/self and /api/log/self/search  the caller's rows
 *     filters type, start_timestamp, end_timestamp, token_name, model_name,
 *     group, request_id, and for admins username and channel; `keyword` (the
 *     one-api search: type = keyword, or for admins content starting with
 *     it); paged {page, page_size, total, items}, order id desc.
 *   GET /api/log/stat, /api/log/self/stat       {quota, rpm, tpm}: quota is
 *     the consume rows' quota over the filtered range; rpm/tpm count the
 *     consume rows (and their tokens) of the last 60 s with the same filters.
 *   DELETE /api/log/?target_timestamp=          rows created before it, in
 *     batches of 1000; data = rows deleted.
 *
 * As the reference: model_name is a LIKE pattern with '!' as the escape
 * ('_' and '!' are literal, at most two '%', not "%%", a wildcard pattern
 * needs 2 other characters); self rows are renumbered from the page offset,
 * lose other.admin_info and other.stream_status and carry no channel_name.
 * Every value is bound; the WHERE clause is assembled from fixed fragments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/alloc.h"
#include "gateway/core/arena.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"

#define LOG_TYPE_CONSUME 2
#define STR_MAX 191
#define DELETE_BATCH 1000
#define MAX_ARGS 16

enum { Q_LIST, Q_STAT, Q_DELETE };

struct log_q {
    int kind, self;
    long long uid, type, start, end, channel, kw_type, target;
    const char *username, *token_name, *model, *group, *request_id, *keyword, *kw_like;
    struct gw_page pg;
    /* results */
    long long total, quota, rpm, tpm, deleted;
    gw_rows *rows;
};

struct where {
    char sql[1024];
    size_t len;
    gw_sql_arg a[MAX_ARGS];
    size_t n;
};

/* frag is a literal from this file, never input. */
static void w_add(struct where *w, const char *frag, gw_sql_arg arg)
{
    size_t n = strlen(frag);
    if (w->len + n < sizeof w->sql && w->n < MAX_ARGS) {
        memcpy(w->sql + w->len, frag, n + 1);
        w->len += n;
        w->a[w->n++] = arg;
    }
}

static void build_where(const struct log_q *q, struct where *w, int with_time)
{
    w->len = (size_t)snprintf(w->sql, sizeof w->sql, " WHERE 1 = 1");
    w->n = 0;
    if (q->self)
        w_add(w, " AND logs.user_id = ?", GW_SQL_INT(q->uid));
    if (q->kind == Q_STAT)
        w_add(w, " AND logs.type = ?", GW_SQL_INT(LOG_TYPE_CONSUME));
    else if (q->type)
        w_add(w, " AND logs.type = ?", GW_SQL_INT(q->type));
    if (q->keyword && q->self)
        w_add(w, " AND logs.type = ?", GW_SQL_INT(q->kw_type));
    if (q->keyword && !q->self) {
        w_add(w, " AND (logs.type = ?", GW_SQL_INT(q->kw_type));
        w_add(w, " OR logs.content LIKE ? ESCAPE '!')", GW_SQL_TEXT(q->kw_like));
    }
    if (q->model)
        w_add(w, " AND logs.model_name LIKE ? ESCAPE '!'", GW_SQL_TEXT(q->model));
    if (q->username)
        w_add(w, " AND logs.username = ?", GW_SQL_TEXT(q->username));
    if (q->token_name)
        w_add(w, " AND logs.token_name = ?", GW_SQL_TEXT(q->token_name));
    if (q->request_id && q->kind != Q_STAT)
        w_add(w, " AND logs.request_id = ?", GW_SQL_TEXT(q->request_id));
    if (q->channel)
        w_add(w, " AND logs.channel_id = ?", GW_SQL_INT(q->channel));
    if (q->group)
        w_add(w, " AND logs.`group` = ?", GW_SQL_TEXT(q->group));
    if (with_time && q->start)
        w_add(w, " AND logs.created_at >= ?", GW_SQL_INT(q->start));
    if (with_time && q->end)
        w_add(w, " AND logs.created_at <= ?", GW_SQL_INT(q->end));
}

static int one_int(gw_store *st, const char *sql, const gw_sql_arg *a, size_t n, long long *out,
                   long long *out2)
{
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, sql, a, n, &rows);
    *out = 0;
    if (rc == GW_OK && gw_rows_count(rows) == 1) {
        gw_rows_int(rows, 0, 0, out); /* SUM over no rows is NULL: stays 0 */
        if (out2 && gw_rows_int(rows, 0, 1, out2) != GW_OK)
            *out2 = 0;
    }
    gw_rows_free(rows);
    return rc;
}

#define LOG_COLS                                                                             \
    "logs.id, logs.user_id, logs.created_at, logs.type, logs.content, logs.username, "      \
    "logs.token_name, logs.model_name, logs.quota, logs.prompt_tokens, "                   \
    "logs.completion_tokens, logs.use_time, logs.is_stream, logs.channel_id AS channel, "  \
    "logs.token_id, logs.`group`, logs.ip, logs.request_id, logs.other"

static int list_work(gw_store *st, struct log_q *q)
{
    struct where w;
    char sql[2048];
    build_where(q, &w, 1);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM logs%s", w.sql);
    int rc = one_int(st, sql, w.a, w.n, &q->total, NULL);
    if (rc != GW_OK)
        return rc;
    snprintf(sql, sizeof sql,
             q->self ? "SELECT " LOG_COLS " FROM logs%s ORDER BY logs.id DESC LIMIT ? OFFSET ?"
                     : "SELECT " LOG_COLS ", channels.name AS channel_name FROM logs "
                       "LEFT JOIN channels ON channels.id = logs.channel_id%s "
                       "ORDER BY logs.id DESC LIMIT ? OFFSET ?",
             w.sql);
    w.a[w.n++] = GW_SQL_INT(q->pg.size);
    w.a[w.n++] = GW_SQL_INT(q->pg.offset);
    return gw_store_query(st, sql, w.a, w.n, &q->rows);
}

static int stat_work(gw_store *st, struct log_q *q)
{
    struct where w;
    char sql[2048];
    build_where(q, &w, 1);
    snprintf(sql, sizeof sql, "SELECT COALESCE(SUM(logs.quota), 0) FROM logs%s", w.sql);
    int rc = one_int(st, sql, w.a, w.n, &q->quota, NULL);
    if (rc != GW_OK)
        return rc;
    build_where(q, &w, 0);
    w_add(&w, " AND logs.created_at >= ?", GW_SQL_INT((long long)time(NULL) - 60));
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*), COALESCE(SUM(logs.prompt_tokens), 0) + "
             "COALESCE(SUM(logs.completion_tokens), 0) FROM logs%s",
             w.sql);
    return one_int(st, sql, w.a, w.n, &q->rpm, &q->tpm);
}

/* Batches keep each statement (and its lock) short on a big table. */
static int delete_work(gw_store *st, struct log_q *q)
{
    gw_sql_arg a[2] = {GW_SQL_INT(q->target), GW_SQL_INT(0)};
    for (;;) {
        gw_rows *rows = NULL;
        long long edge = 0, n = 0;
        int rc = gw_store_query(st, "SELECT id FROM logs WHERE created_at < ? ORDER BY id "
                                    "LIMIT 1 OFFSET 999", a, 1, &rows);
        int more = rc == GW_OK && gw_rows_count(rows) == 1 && gw_rows_int(rows, 0, 0, &edge) == GW_OK;
        gw_rows_free(rows);
        if (rc != GW_OK)
            return rc;
        a[1] = GW_SQL_INT(edge);
        rc = more ? gw_store_exec(st, "DELETE FROM logs WHERE created_at < ? AND id <= ?", a, 2, &n)
                  : gw_store_exec(st, "DELETE FROM logs WHERE created_at < ?", a, 1, &n);
        if (rc != GW_OK)
            return rc;
        q->deleted += n;
        if (!more)
            return GW_OK;
    }
}

static int work(gw_store *st, void *ctx)
{
    struct log_q *q = ctx;
    switch (q->kind) {
    case Q_LIST: return list_work(st, q);
    case Q_STAT: return stat_work(st, q);
    default: return delete_work(st, q);
    }
}

static const struct gw_col cols[] = {
    {"id", GW_COL_INT},          {"user_id", GW_COL_INT},           {"created_at", GW_COL_INT},
    {"type", GW_COL_INT},        {"quota", GW_COL_INT},             {"prompt_tokens", GW_COL_INT},
    {"completion_tokens", GW_COL_INT}, {"use_time", GW_COL_INT},    {"is_stream", GW_COL_BOOL},
    {"channel", GW_COL_INT},     {"token_id", GW_COL_INT},
};

/* The reference's formatUserLogs: no admin-only fields for users. */
static void format_self(json_t *o, long long id)
{
    json_object_set_new(o, "id", json_integer((json_int_t)id));
    json_object_set_new(o, "channel_name", json_string(""));
    const char *other = json_string_value(json_object_get(o, "other"));
    json_t *m = other && *other ? json_loads(other, 0, NULL) : NULL;
    if (json_is_object(m)) {
        json_object_del(m, "admin_info");
        json_object_del(m, "stream_status");
        char *s = json_dumps(m, JSON_COMPACT);
        if (s)
            json_object_set_new(o, "other", json_string(s));
        gw_free(s); /* jansson allocates through gw_alloc (gw_json_init) */
    }
    json_decref(m);
}

static void done(gw_req *r, int rc, void *ctx)
{
    struct log_q *q = ctx;
    if (rc != GW_OK) {
        gw_api_fail(r, gw_api_store_msg(rc));
    } else if (q->kind == Q_STAT) {
        gw_api_ok(r, json_pack("{s:I, s:I, s:I}", "quota", (json_int_t)q->quota, "rpm",
                               (json_int_t)q->rpm, "tpm", (json_int_t)q->tpm));
    } else if (q->kind == Q_DELETE) {
        gw_api_ok(r, json_integer((json_int_t)q->deleted));
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < gw_rows_count(q->rows); i++) {
            json_t *o = gw_api_row_json(q->rows, i, cols, sizeof cols / sizeof cols[0]);
            const char *rid = json_string_value(json_object_get(o, "request_id"));
            if (!rid || !*rid) /* json:"request_id,omitempty" */
                json_object_del(o, "request_id");
            if (q->self)
                format_self(o, q->pg.offset + (long long)i + 1);
            json_array_append_new(items, o);
        }
        gw_api_paged(r, &q->pg, q->total, items, NULL);
    }
    gw_rows_free(q->rows);
}

/* ---- query parameters ------------------------------------------------------- */

/* An integer parameter; empty or absent = 0. */
static int q_int(gw_req *r, const char *name, long long max, long long *out, char *err,
                 size_t errlen)
{
    const char *v = gw_req_query(r, name);
    *out = 0;
    if (!v || !*v || gw_str_to_ll(gw_str_c(v), 0, max, out) == GW_OK)
        return GW_OK;
    snprintf(err, errlen, "invalid %s: must be an integer between 0 and %lld", name, max);
    return GW_EINVAL;
}

static int q_str(gw_req *r, const char *name, size_t max, const char **out, char *err,
                 size_t errlen)
{
    const char *v = gw_req_query(r, name);
    *out = v && *v ? v : NULL;
    if (!*out || strlen(v) <= max)
        return GW_OK;
    snprintf(err, errlen, "invalid %s: longer than %zu characters", name, max);
    return GW_EINVAL;
}

/* model/log.go sanitizeLikePattern (gw_api_like_sanitize). */
static const char *like_pattern(gw_arena *a, const char *in, const char **err)
{
    size_t cap = 2 * strlen(in) + 2;
    char *out = gw_arena_alloc(a, cap);
    int wildcard = 0;
    if (!out) {
        *err = "out of memory";
        return NULL;
    }
    *err = gw_api_like_sanitize(in, out, cap, &wildcard);
    return *err ? NULL : out;
}

static int parse(gw_req *r, struct log_q *q, char *err, size_t errlen)
{
    const char *model = NULL, *why = NULL;
    if (q_int(r, "type", 1000, &q->type, err, errlen) ||
        q_int(r, "start_timestamp", 100000000000000LL, &q->start, err, errlen) ||
        q_int(r, "end_timestamp", 100000000000000LL, &q->end, err, errlen) ||
        q_str(r, "token_name", STR_MAX, &q->token_name, err, errlen) ||
        q_str(r, "model_name", STR_MAX, &model, err, errlen) ||
        q_str(r, "group", 64, &q->group, err, errlen) ||
        q_str(r, "request_id", 64, &q->request_id, err, errlen) ||
        q_str(r, "keyword", STR_MAX, &q->keyword, err, errlen))
        return GW_EINVAL;
    if (!q->self && (q_int(r, "channel", 2147483647LL, &q->channel, err, errlen) ||
                     q_str(r, "username", STR_MAX, &q->username, err, errlen)))
        return GW_EINVAL;
    if (model && !(q->model = like_pattern(r->arena, model, &why))) {
        snprintf(err, errlen, "invalid model_name: %s", why);
        return GW_EINVAL;
    }
    if (q->keyword) {
        /* one-api: `type = keyword` (a non-number matches no type) or, for
         * admins, content LIKE keyword% with the keyword taken literally. */
        if (gw_str_to_ll(gw_str_c(q->keyword), 0, 1000, &q->kw_type) != GW_OK)
            q->kw_type = -1;
        size_t cap = 2 * strlen(q->keyword) + 4;
        char *k = gw_arena_alloc(r->arena, cap);
        if (!k) {
            snprintf(err, errlen, "out of memory");
            return GW_ENOMEM;
        }
        gw_api_like_literal("", q->keyword, "%", k, cap); /* every wildcard literal here */
        q->kw_like = k;
    }
    gw_api_page(r, &q->pg);
    return GW_OK;
}

static void run(gw_req *r, const struct gw_caller *who, int kind, int self)
{
    char err[200];
    struct log_q *q = gw_arena_calloc(r->arena, sizeof *q);
    if (!q) {
        gw_api_fail(r, "out of memory");
        return;
    }
    q->kind = kind;
    q->self = self;
    q->uid = who->id;
    if (kind == Q_DELETE) {
        if (q_int(r, "target_timestamp", 100000000000000LL, &q->target, err, sizeof err) != GW_OK) {
            gw_api_fail(r, err);
            return;
        }
        if (!q->target) {
            gw_api_fail(r, "target timestamp is required");
            return;
        }
    } else if (parse(r, q, err, sizeof err) != GW_OK) {
        gw_api_fail(r, err);
        return;
    }
    if (gw_api_sql(r, work, done, q) != GW_OK)
        gw_api_fail(r, "internal error");
}

void gw_api_log_list(gw_req *r, const struct gw_caller *who) { run(r, who, Q_LIST, 0); }
void gw_api_log_self(gw_req *r, const struct gw_caller *who) { run(r, who, Q_LIST, 1); }
void gw_api_log_stat(gw_req *r, const struct gw_caller *who) { run(r, who, Q_STAT, 0); }
void gw_api_log_self_stat(gw_req *r, const struct gw_caller *who) { run(r, who, Q_STAT, 1); }
void gw_api_log_delete(gw_req *r, const struct gw_caller *who) { run(r, who, Q_DELETE, 0); }
