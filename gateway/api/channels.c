/* /api/channel reads (reference controller/channel.go): list with filters
 * and type_counts, search, one channel, its key (root), the models known
 * across channels, export. Writes are in channel_ops.c; rows, abilities and
 * the Redis mirror in abilities.c. GET /api/channel/test[/:id] need the
 * relay and answer 501 until it exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/channels.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"

#define SEARCH_PAGE_SIZE 20 /* reference SearchChannels default */

struct gw__chjob *gw__ch_job(gw_req *r, const struct gw_caller *who)
{
    struct gw__chjob *j = gw_calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (who)
        j->who = *who;
    j->status_filter = -1;
    j->type_filter = -1;
    gw_rcmds_init(&j->cmds);
    gw__ch_dest_snapshot(r, j);
    return j;
}

void gw__ch_job_free(struct gw__chjob *j)
{
    if (!j)
        return;
    json_decref(j->in);
    json_decref(j->rows);
    json_decref(j->vals);
    json_decref(j->out);
    gw_rcmds_free(&j->cmds);
    gw_free(j->keyword);
    gw_free(j->group);
    gw_free(j->model);
    gw_free(j->tag);
    gw_free(j);
}

static void answer(gw_req *r, void *ctx)
{
    struct gw__chjob *j = ctx;
    int rc = j->rc;
    if (j->fail[0] && rc == GW_EINVAL) /* a refusal the job explained */
        gw_api_fail(r, j->fail);
    else if (rc == GW_ENOTFOUND)
        gw_api_fail(r, "channel not found");
    else if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (j->fail[0])
        gw_api_fail(r, j->fail);
    else {
        gw_api_ok(r, j->out);
        j->out = NULL;
    }
    gw__ch_job_free(j);
}

static void done(gw_req *r, int rc, void *ctx)
{
    struct gw__chjob *j = ctx;
    j->rc = rc;
    /* cmds is empty unless a change committed; its mirror and config-version
     * bump land in Redis before the answer, so a call made once the admin has
     * the answer finds the channel on every worker (relay_state.c). */
    gw_api_redis_send_then(r, &j->cmds, answer, j);
}

void gw__ch_run(gw_req *r, struct gw__chjob *j, gw_api_sql_cb work)
{
    if (gw_api_sql(r, work, done, j) != GW_OK) {
        gw__ch_job_free(j);
        gw_api_fail(r, "internal error");
    }
}

long long gw__ch_path_id(gw_req *r)
{
    long long id = 0;
    if (r->nparams < 1 || gw_str_to_ll(r->params[0], 1, (1LL << 53), &id) != GW_OK) {
        gw_api_fail(r, "invalid channel id");
        return 0;
    }
    return id;
}

static char *qdup(gw_req *r, const char *name)
{
    const char *v = gw_req_query(r, name);
    return gw_strdup(v ? v : "");
}

static int qbool(gw_req *r, const char *name)
{
    const char *v = gw_req_query(r, name);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "TRUE") == 0 ||
                 strcmp(v, "True") == 0 || strcmp(v, "t") == 0 || strcmp(v, "T") == 0);
}

/* Filters and order shared by list and search (reference parseStatusFilter,
 * NewChannelSortOptions). Unknown values mean "no filter", as there. */
static int read_filters(gw_req *r, struct gw__chjob *j)
{
    const char *st = gw_req_query(r, "status");
    if (st && (strcmp(st, "enabled") == 0 || strcmp(st, "1") == 0))
        j->status_filter = 1;
    else if (st && (strcmp(st, "disabled") == 0 || strcmp(st, "0") == 0))
        j->status_filter = 0;
    const char *ty = gw_req_query(r, "type");
    long long t;
    if (ty && gw_str_to_ll(gw_str_c(ty), 0, 1000000, &t) == GW_OK)
        j->type_filter = t;
    j->id_sort = qbool(r, "id_sort");
    j->tag_mode = qbool(r, "tag_mode");
    static const char *const cols[] = {"id", "name", "priority", "balance", "response_time",
                                       "test_time"};
    const char *by = gw_req_query(r, "sort_by"), *ord = gw_req_query(r, "sort_order");
    const char *col = NULL;
    for (size_t i = 0; by && i < sizeof cols / sizeof cols[0]; i++)
        if (strcmp(by, cols[i]) == 0)
            col = cols[i];
    if (col)
        snprintf(j->order, sizeof j->order, "%s %s, id DESC", col,
                 ord && strcmp(ord, "asc") == 0 ? "ASC" : "DESC");
    else
        snprintf(j->order, sizeof j->order, "%s", j->id_sort ? "id DESC" : "priority DESC, id DESC");
    j->group = qdup(r, "group");
    j->keyword = qdup(r, "keyword");
    j->model = qdup(r, "model");
    return j->group && j->keyword && j->model ? GW_OK : GW_ENOMEM;
}

/* A WHERE clause under construction; every value is a bound argument. */
#define QB_ARGS 160
struct qb {
    char sql[4096];
    size_t len;
    gw_sql_arg a[QB_ARGS];
    size_t n;
    char like[4][800]; /* storage for LIKE patterns */
    int nlike;
};

static void qb_add(struct qb *q, const char *s)
{
    int k = snprintf(q->sql + q->len, sizeof q->sql - q->len, "%s", s);
    if (k > 0 && (size_t)k < sizeof q->sql - q->len)
        q->len += (size_t)k;
}

static void qb_arg(struct qb *q, gw_sql_arg a)
{
    if (q->n < QB_ARGS)
        q->a[q->n++] = a;
}

static const char *qb_like(struct qb *q, const char *pre, const char *s, const char *post)
{
    char *o = q->like[q->nlike++ & 3];
    gw_api_like_literal(pre, s, post, o, sizeof q->like[0]);
    return o;
}

static void where_common(gw_store *st, struct qb *q, const struct gw__chjob *j, int with_type)
{
    qb_add(q, " WHERE 1 = 1");
    if (j->status_filter == 1)
        qb_add(q, " AND status = 1");
    else if (j->status_filter == 0)
        qb_add(q, " AND status <> 1");
    if (with_type && j->type_filter >= 0) {
        qb_add(q, " AND type = ?");
        qb_arg(q, GW_SQL_INT(j->type_filter));
    }
    if (j->group[0] && strcmp(j->group, "null") != 0) {
        qb_add(q, gw_store_kind(st) == GW_DB_MYSQL
                      ? " AND CONCAT(',', `group`, ',') LIKE ? ESCAPE '!'"
                      : " AND (',' || `group` || ',') LIKE ? ESCAPE '!'");
        const char *pat = qb_like(q, "%,", j->group, ",%"); /* GW_SQL_TEXT evaluates twice */
        qb_arg(q, GW_SQL_TEXT(pat));
    }
}

/* Reference SearchChannels: (id = kw OR name LIKE %kw% OR key = kw OR
 * base_url LIKE %kw%) AND models LIKE %model%. The key is compared, never
 * answered. */
static void where_search(gw_store *st, struct qb *q, const struct gw__chjob *j, int with_type)
{
    where_common(st, q, j, with_type);
    long long kid = 0;
    if (gw_str_to_ll(gw_str_c(j->keyword), 0, (1LL << 53), &kid) != GW_OK)
        kid = 0;
    qb_add(q, " AND (id = ? OR name LIKE ? ESCAPE '!' OR `key` = ? OR base_url LIKE ? "
              "ESCAPE '!') AND models LIKE ? ESCAPE '!'");
    const char *kw = qb_like(q, "%", j->keyword, "%"), *mp = qb_like(q, "%", j->model, "%");
    qb_arg(q, GW_SQL_INT(kid));
    qb_arg(q, GW_SQL_TEXT(kw));
    qb_arg(q, GW_SQL_TEXT(j->keyword));
    qb_arg(q, GW_SQL_TEXT(kw));
    qb_arg(q, GW_SQL_TEXT(mp));
}

typedef void (*where_fn)(gw_store *, struct qb *, const struct gw__chjob *, int);

static int count(gw_store *st, const char *sql, const gw_sql_arg *a, size_t n, long long *out)
{
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, sql, a, n, &rows);
    if (rc == GW_OK && gw_rows_int(rows, 0, 0, out) != GW_OK)
        *out = 0;
    gw_rows_free(rows);
    return rc;
}

static int type_counts(gw_store *st, struct gw__chjob *j, where_fn where, json_t *out)
{
    struct qb q = {.len = 0};
    qb_add(&q, "SELECT type, COUNT(*) FROM channels");
    where(st, &q, j, 0);
    qb_add(&q, " GROUP BY type");
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, q.sql, q.a, q.n, &rows);
    for (size_t i = 0; rc == GW_OK && i < gw_rows_count(rows); i++) {
        long long n = 0;
        const char *t = gw_rows_get(rows, i, 0);
        gw_rows_int(rows, i, 1, &n);
        json_object_set_new(out, t ? t : "0", json_integer((json_int_t)n));
    }
    gw_rows_free(rows);
    return rc;
}

/* Tag mode: a page of distinct tags, then every channel carrying them. */
static int tag_page(gw_store *st, struct gw__chjob *j, where_fn where, long long *total,
                    gw_rows **items)
{
    struct qb q = {.len = 0};
    qb_add(&q, "SELECT COUNT(DISTINCT tag) FROM channels");
    where(st, &q, j, 1);
    qb_add(&q, " AND tag IS NOT NULL AND tag <> ''");
    int rc = count(st, q.sql, q.a, q.n, total);
    if (rc != GW_OK)
        return rc;
    q.len = 0, q.n = 0;
    qb_add(&q, "SELECT DISTINCT tag FROM channels");
    where(st, &q, j, 1);
    qb_add(&q, " AND tag IS NOT NULL AND tag <> '' ORDER BY tag LIMIT ? OFFSET ?");
    qb_arg(&q, GW_SQL_INT(j->pg.size));
    qb_arg(&q, GW_SQL_INT(j->pg.offset));
    gw_rows *tags = NULL;
    if ((rc = gw_store_query(st, q.sql, q.a, q.n, &tags)) != GW_OK)
        return rc;
    q.len = 0, q.n = 0;
    qb_add(&q, "SELECT " GW__CH_OUT_COLS " FROM channels");
    where(st, &q, j, 1);
    qb_add(&q, " AND tag IN (''");
    for (size_t i = 0; i < gw_rows_count(tags) && q.n < QB_ARGS; i++) {
        qb_add(&q, ", ?");
        qb_arg(&q, GW_SQL_TEXT(gw_rows_get(tags, i, 0)));
    }
    qb_add(&q, ") ORDER BY tag, ");
    qb_add(&q, j->order);
    rc = gw_store_query(st, q.sql, q.a, q.n, items);
    gw_rows_free(tags);
    return rc;
}

static int plain_page(gw_store *st, struct gw__chjob *j, where_fn where, long long *total,
                      gw_rows **items)
{
    struct qb q = {.len = 0};
    qb_add(&q, "SELECT COUNT(*) FROM channels");
    where(st, &q, j, 1);
    int rc = count(st, q.sql, q.a, q.n, total);
    if (rc != GW_OK)
        return rc;
    q.len = 0, q.n = 0;
    qb_add(&q, "SELECT " GW__CH_OUT_COLS " FROM channels");
    where(st, &q, j, 1);
    qb_add(&q, " ORDER BY ");
    qb_add(&q, j->order);
    qb_add(&q, " LIMIT ? OFFSET ?");
    qb_arg(&q, GW_SQL_INT(j->pg.size));
    qb_arg(&q, GW_SQL_INT(j->pg.offset));
    return gw_store_query(st, q.sql, q.a, q.n, items);
}

static int page_work(gw_store *st, struct gw__chjob *j, where_fn where)
{
    long long total = 0;
    gw_rows *items = NULL;
    int rc = j->tag_mode ? tag_page(st, j, where, &total, &items)
                         : plain_page(st, j, where, &total, &items);
    json_t *tc = json_object();
    if (rc == GW_OK)
        rc = type_counts(st, j, where, tc);
    if (rc == GW_OK)
        j->out = json_pack("{s:o, s:I, s:I, s:I, s:o}", "items", gw__ch_rows_json(items), "total",
                           (json_int_t)total, "page", (json_int_t)j->pg.p, "page_size",
                           (json_int_t)j->pg.size, "type_counts", tc);
    else
        json_decref(tc);
    gw_rows_free(items);
    return rc == GW_OK && !j->out ? GW_ENOMEM : rc;
}

static int list_work(gw_store *st, void *ctx) { return page_work(st, ctx, where_common); }
static int search_work(gw_store *st, void *ctx) { return page_work(st, ctx, where_search); }

static void paged(gw_req *r, const struct gw_caller *who, int search)
{
    struct gw__chjob *j = gw__ch_job(r, who);
    if (!j || read_filters(r, j) != GW_OK) {
        gw__ch_job_free(j);
        gw_api_fail(r, "internal error");
        return;
    }
    gw_api_page(r, &j->pg);
    if (search && !gw_req_query(r, "page_size") && !gw_req_query(r, "ps") &&
        !gw_req_query(r, "size")) {
        j->pg.size = SEARCH_PAGE_SIZE;
        j->pg.offset = (j->pg.p - 1) * j->pg.size;
    }
    gw__ch_run(r, j, search ? search_work : list_work);
}

void gw_api_channel_list(gw_req *r, const struct gw_caller *who) { paged(r, who, 0); }
void gw_api_channel_search(gw_req *r, const struct gw_caller *who) { paged(r, who, 1); }

static int get_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    gw_sql_arg a[1] = {GW_SQL_INT(j->id)};
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, "SELECT " GW__CH_OUT_COLS " FROM channels WHERE id = ?", a, 1,
                            &rows);
    if (rc == GW_OK && gw_rows_count(rows) == 0)
        rc = GW_ENOTFOUND;
    if (rc == GW_OK && !(j->out = gw__ch_row_json(rows, 0)))
        rc = GW_ENOMEM;
    gw_rows_free(rows);
    return rc;
}

static int key_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    gw_sql_arg a[1] = {GW_SQL_INT(j->id)};
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, "SELECT `key` FROM channels WHERE id = ?", a, 1, &rows);
    if (rc == GW_OK && gw_rows_count(rows) == 0)
        rc = GW_ENOTFOUND;
    if (rc == GW_OK) {
        const char *k = gw_rows_get(rows, 0, 0);
        j->out = json_pack("{s:s}", "key", k ? k : "");
        if (!j->out)
            rc = GW_ENOMEM;
    }
    gw_rows_free(rows);
    return rc;
}

static void by_id(gw_req *r, const struct gw_caller *who, gw_api_sql_cb work)
{
    long long id = gw__ch_path_id(r);
    if (!id)
        return;
    struct gw__chjob *j = gw__ch_job(r, who);
    if (!j) {
        gw_api_fail(r, "internal error");
        return;
    }
    j->id = id;
    gw__ch_run(r, j, work);
}

void gw_api_channel_get(gw_req *r, const struct gw_caller *who) { by_id(r, who, get_work); }
/* Root only (route guard). The reference's Aug tree also wants a fresh
 * X-Security-Proof here; we have no 2FA yet, the root role is the gate. */
void gw_api_channel_key(gw_req *r, const struct gw_caller *who) { by_id(r, who, key_work); }

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every model named by any channel, sorted, as OpenAI model objects. The
 * reference answers the adapters' built-in list here; ours is the list the
 * operator actually configured. */
static int models_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, "SELECT models FROM channels", NULL, 0, &rows);
    gw_buf all;
    gw_buf_init(&all, 64u << 20);
    for (size_t i = 0; rc == GW_OK && i < gw_rows_count(rows); i++) {
        const char *m = gw_rows_get(rows, i, 0);
        if (m && *m && ((all.len && gw_buf_append(&all, ",", 1) != GW_OK) ||
                        gw_buf_appends(&all, m) != GW_OK))
            rc = GW_ENOMEM;
    }
    gw_rows_free(rows);
    char **v = NULL;
    size_t n = 0;
    if (rc == GW_OK) {
        char *s = gw_strndup(all.base ? all.base : "", all.len);
        rc = s ? gw__ch_split(s, (size_t)-1, &v, &n) : GW_ENOMEM;
        gw_free(s);
    }
    gw_buf_free(&all);
    if (rc != GW_OK)
        return rc;
    qsort(v, n, sizeof *v, cmp_str);
    j->out = json_array();
    for (size_t i = 0; j->out && i < n; i++)
        json_array_append_new(j->out, json_pack("{s:s, s:s, s:i, s:s, s:s, s:n}", "id", v[i],
                                                "object", "model", "created", 1626777600,
                                                "owned_by", "custom", "root", v[i], "parent"));
    gw_free(v);
    return j->out ? GW_OK : GW_ENOMEM;
}

void gw_api_channel_models(gw_req *r, const struct gw_caller *who)
{
    struct gw__chjob *j = gw__ch_job(r, who);
    if (!j) {
        gw_api_fail(r, "internal error");
        return;
    }
    gw__ch_run(r, j, models_work);
}

/* Export: {version, exported_at, channels:[...]} of the given ids, or of every
 * channel. Keys are left out unless a root caller asks with include_keys:
 * an admin can read and move channels, only root can read their keys (the
 * same line as POST /api/channel/:id/key). The entries are what
 * POST /api/channel/import takes. */
static int export_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    struct qb q = {.len = 0};
    qb_add(&q, j->with_keys ? "SELECT " GW__CH_OUT_COLS ", `key` FROM channels"
                            : "SELECT " GW__CH_OUT_COLS " FROM channels");
    const json_t *ids = json_object_get(j->in, "ids");
    if (json_array_size(ids)) {
        qb_add(&q, " WHERE id IN (0");
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v) {
            qb_add(&q, ", ?");
            qb_arg(&q, GW_SQL_INT((long long)json_integer_value(v)));
        }
        qb_add(&q, ")");
    }
    qb_add(&q, " ORDER BY id");
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, q.sql, q.a, q.n, &rows);
    if (rc != GW_OK)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; list && i < gw_rows_count(rows); i++) {
        json_t *o = gw__ch_row_json(rows, i);
        if (o && j->with_keys) {
            const char *k = gw_rows_get(rows, i, gw_rows_cols(rows) - 1);
            json_object_set_new(o, "key", json_string(k ? k : ""));
        }
        json_array_append_new(list, o);
    }
    gw_rows_free(rows);
    j->out = json_pack("{s:i, s:I, s:b, s:o}", "version", 1, "exported_at",
                       (json_int_t)time(NULL), "include_keys", j->with_keys, "channels",
                       list ? list : json_array());
    return j->out ? GW_OK : GW_ENOMEM;
}

void gw_api_channel_export(gw_req *r, const struct gw_caller *who)
{
    json_t *in = r->body.len ? gw_api_body(r) : json_object();
    if (!in)
        return;
    const json_t *ids = json_object_get(in, "ids"), *inc = json_object_get(in, "include_keys");
    const char *err = NULL;
    if (ids && !json_is_array(ids))
        err = "ids must be an array of channel ids";
    else if (json_array_size(ids) > 100)
        err = "at most 100 ids per export; omit ids to export every channel";
    else if (inc && !json_is_boolean(inc))
        err = "include_keys must be a boolean";
    else if (json_is_true(inc) && who->role < 100)
        err = "only root may export channel keys";
    for (size_t i = 0; !err && i < json_array_size(ids); i++) {
        const json_t *v = json_array_get(ids, i);
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            err = "ids must be an array of channel ids";
    }
    struct gw__chjob *j = err ? NULL : gw__ch_job(r, who);
    if (!j) {
        gw_api_fail(r, err ? err : "internal error");
        json_decref(in);
        return;
    }
    j->in = in;
    j->with_keys = json_is_true(inc);
    gw__ch_run(r, j, export_work);
}

/* Channel tests send a real upstream request: they need the relay. */
/* GET /api/channel/test and /test/:id: gateway/relay/channel_test.c */
