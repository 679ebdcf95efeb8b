/* Hourly usage aggregates (quota_data.h). */
#include <stdlib.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"
#include "persist/quota_data.h"

#define QD_TEXT_MAX 64              /* varchar(64) of username, model_name, use_group */

static char *clean(const char *s, size_t n)
{
    size_t m = n < QD_TEXT_MAX ? n : QD_TEXT_MAX;
    char *out = gw_malloc(m + 1);

    if (out != NULL)
        gw_str_utf8_clean(out, m, s ? s : "", s ? n : 0, 0);
    return out;
}

static void row_free(struct gw__qd_row *r)
{
    gw_free(r->uname);
    gw_free(r->model);
    gw_free(r->group);
}

int gw__qd_add(struct gw__qd_acc *a, long long uid, long long tid, long long cid, long long ts,
               const char *uname, size_t unlen, const char *model, size_t mlen,
               const char *group, size_t glen, long long quota, long long tokens)
{
    struct gw__qd_row r = {
        .uid = uid, .tid = tid, .cid = cid,
        .hour = ts > 0 ? ts - ts % 3600 : 0,        /* rounded down to the hour */
        .count = 1, .quota = quota, .tokens = tokens,
    };

    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        struct gw__qd_row *v = gw_realloc(a->v, cap * sizeof *v);
        if (v == NULL)
            return GW_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    r.uname = clean(uname, unlen);
    r.model = clean(model, mlen);
    r.group = clean(group, glen);
    if (!r.uname || !r.model || !r.group) {
        row_free(&r);
        return GW_ENOMEM;
    }
    a->v[a->n++] = r;
    return GW_OK;
}

static int ll_cmp(long long x, long long y)
{
    return x < y ? -1 : x > y;
}

static int row_cmp(const void *pa, const void *pb)
{
    const struct gw__qd_row *x = pa, *y = pb;
    int c;

    if ((c = ll_cmp(x->uid, y->uid)) || (c = ll_cmp(x->hour, y->hour)) ||
        (c = strcmp(x->model, y->model)) || (c = strcmp(x->uname, y->uname)) ||
        (c = strcmp(x->group, y->group)) || (c = ll_cmp(x->tid, y->tid)))
        return c;
    return ll_cmp(x->cid, y->cid);
}

/* Adds y into x; 0 (x unchanged) when a sum would overflow. */
static int merge(struct gw__qd_row *x, const struct gw__qd_row *y)
{
    long long c, q, t;

    if (__builtin_add_overflow(x->count, y->count, &c) ||
        __builtin_add_overflow(x->quota, y->quota, &q) ||
        __builtin_add_overflow(x->tokens, y->tokens, &t))
        return 0;
    x->count = c;
    x->quota = q;
    x->tokens = t;
    return 1;
}

static int enabled(gw_store *db, int *on)
{
    gw_sql_arg k = GW_SQL_TEXT("DataExportEnabled");
    gw_rows *rows = NULL;
    int rc = gw_store_query(db, "SELECT `value` FROM `options` WHERE `key` = ?", &k, 1, &rows);

    *on = 1;
    if (rc == GW_OK && gw_rows_count(rows) == 1) {
        const char *v = gw_rows_get(rows, 0, 0);
        *on = v != NULL && strcmp(v, "true") == 0; /* the reference: value == "true" */
    }
    gw_rows_free(rows);
    return rc;
}

/* The oldest row of x's key gets the sums, or a new row is made. */
static int add_row(gw_store *db, const struct gw__qd_row *x)
{
    gw_sql_arg k[] = {
        GW_SQL_INT(x->uid), GW_SQL_INT(x->hour), GW_SQL_TEXT(x->model),
        GW_SQL_TEXT(x->uname), GW_SQL_TEXT(x->group), GW_SQL_INT(x->tid), GW_SQL_INT(x->cid),
    };
    gw_rows *rows = NULL;
    long long id = 0;
    int rc = gw_store_query(db,
        "SELECT `id` FROM `quota_data` WHERE `user_id` = ? AND `created_at` = ? AND "
        "`model_name` = ? AND `username` = ? AND `use_group` = ? AND `token_id` = ? AND "
        "`channel_id` = ? AND `node_name` = '' ORDER BY `id` LIMIT 1",
        k, sizeof k / sizeof k[0], &rows);

    if (rc == GW_OK && gw_rows_count(rows) == 1 && gw_rows_int(rows, 0, 0, &id) != GW_OK)
        id = 0;
    gw_rows_free(rows);
    if (rc != GW_OK)
        return rc;
    if (id > 0) {
        gw_sql_arg u[] = { GW_SQL_INT(x->count), GW_SQL_INT(x->quota), GW_SQL_INT(x->tokens),
                           GW_SQL_INT(id) };
        return gw_store_exec(db,
            "UPDATE `quota_data` SET `count` = `count` + ?, `quota` = `quota` + ?, "
            "`token_used` = `token_used` + ? WHERE `id` = ?", u, 4, NULL);
    }
    gw_sql_arg i[] = {
        GW_SQL_INT(x->uid), GW_SQL_TEXT(x->uname), GW_SQL_TEXT(x->model), GW_SQL_INT(x->hour),
        GW_SQL_TEXT(x->group), GW_SQL_INT(x->tid), GW_SQL_INT(x->cid), GW_SQL_INT(x->tokens),
        GW_SQL_INT(x->count), GW_SQL_INT(x->quota),
    };
    return gw_store_insert(db,
        "INSERT INTO `quota_data` (`user_id`, `username`, `model_name`, `created_at`, "
        "`use_group`, `token_id`, `channel_id`, `node_name`, `token_used`, `count`, `quota`) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)", i, sizeof i / sizeof i[0], NULL);
}

int gw__qd_flush(struct gw__qd_acc *a, gw_store *db)
{
    int rc = GW_OK, on = 1;
    size_t i = 0;

    if (a->n == 0)
        return GW_OK;
    rc = enabled(db, &on);
    /* Sorted, equal keys are adjacent; a fixed order also makes replicas on MySQL or
     * PostgreSQL lock rows in the same order. */
    if (rc == GW_OK && on && a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, row_cmp);
    while (rc == GW_OK && on && i < a->n) {
        struct gw__qd_row x = a->v[i++];
        while (i < a->n && row_cmp(&x, &a->v[i]) == 0 && merge(&x, &a->v[i]))
            i++;
        rc = add_row(db, &x);
    }
    gw__qd_reset(a);
    return rc;
}

void gw__qd_reset(struct gw__qd_acc *a)
{
    for (size_t i = 0; i < a->n; i++)
        row_free(&a->v[i]);
    a->n = 0;
}

void gw__qd_free(struct gw__qd_acc *a)
{
    gw__qd_reset(a);
    gw_free(a->v);
    *a = (struct gw__qd_acc){ 0 };
}
