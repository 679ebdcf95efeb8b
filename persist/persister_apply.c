/* One ledger entry: parsed from the stream and applied to SQL (persister_apply.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway/core/alloc.h"
#include "gateway/core/str.h"
#include "gateway/core/err.h"
#include "persist/persister_apply.h"

static const redisReply *field(const redisReply *f, const char *name)
{
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, name) == 0)
            return f->element[i + 1]->type == REDIS_REPLY_STRING ? f->element[i + 1] : NULL;
    return NULL;
}

/* A signed 64-bit decimal. required: a missing or empty field is an error; otherwise
 * it reads as 0. */
static int num(const redisReply *f, const char *name, int required, long long *out)
{
    const redisReply *v = field(f, name);
    char *end;

    *out = 0;
    if (v == NULL || v->len == 0)
        return required ? GW_EINVAL : GW_OK;
    if (v->len > 20 || strlen(v->str) != v->len)
        return GW_EINVAL;
    errno = 0;
    *out = strtoll(v->str, &end, 10);
    return errno == 0 && *end == '\0' && end != v->str && v->str[0] != ' ' ? GW_OK
                                                                           : GW_EINVAL;
}

int gw__ledger_entry_parse(const redisReply *f, struct gw__ledger_entry *e, const char **why)
{
    static const char *const types[] = { "consume", "refund", "topup", "manage", "redeem",
                                         "reap" };
    static const char *const dn[6] = { "dq", "du", "drc", "dtr", "dtu", "dcu" };
    const redisReply *t = f && f->type == REDIS_REPLY_ARRAY ? field(f, "type") : NULL;
    size_t i;

    memset(e, 0, sizeof *e);
    e->f = f;
    *why = "missing or unknown type";
    for (i = 0; t && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(t->str, types[i]) == 0)
            break;
    if (t == NULL || i == sizeof types / sizeof types[0])
        return GW_EINVAL;
    e->consume = i == 0;
    *why = "bad uid/tid/cid/ts/log";
    if (num(f, "uid", 1, &e->uid) || num(f, "tid", 0, &e->tid) || num(f, "cid", 0, &e->cid) ||
        num(f, "ts", 1, &e->ts) || num(f, "log", 1, &e->log) || e->uid < 0 || e->tid < 0 ||
        e->cid < 0 || e->log < 0)
        return GW_EINVAL;
    *why = "bad delta";
    for (i = 0; i < 6; i++)
        if (num(f, dn[i], 0, &e->d[i]))
            return GW_EINVAL;
    *why = "bad pt/ct/quota/stream/ut";
    if (num(f, "pt", 0, &e->pt) || num(f, "ct", 0, &e->ct) || num(f, "quota", 0, &e->quota) ||
        num(f, "stream", 0, &e->stream) || num(f, "ut", 0, &e->ut))
        return GW_EINVAL;
    return GW_OK;
}


/* A copy every dialect accepts: invalid UTF-8 and NUL become '?', cut at max bytes on
 * a character boundary. max is the column size in characters, so bytes <= chars. */
static char *clean_text(const redisReply *v, size_t max)
{
    size_t n = v ? v->len : 0;
    char *out = gw_malloc((n < max ? n : max) + 1);

    if (out != NULL)
        gw_str_utf8_clean(out, n < max ? n : max, v ? v->str : "", n, 0);
    return out;
}

static int insert_log(gw_store *db, const struct gw__ledger_entry *e)
{
    /* Column sizes of schema/001_core.sql; TEXT is 64 KiB in MySQL. */
    static const struct { const char *field; size_t max; } tx[] = {
        { "content", 65535 }, { "uname", 191 }, { "tname", 191 }, { "model", 191 },
        { "group", 191 }, { "ip", 191 }, { "rid", 64 }, { "other", 65535 },
    };
    char *t[8] = { 0 };
    int rc = GW_OK;

    for (size_t i = 0; i < 8 && rc == GW_OK; i++)
        if ((t[i] = clean_text(field(e->f, tx[i].field), tx[i].max)) == NULL)
            rc = GW_ENOMEM;
    if (rc == GW_OK) {
        gw_sql_arg a[] = {
            GW_SQL_INT(e->uid), GW_SQL_INT(e->ts), GW_SQL_INT(e->log), GW_SQL_TEXT(t[0]),
            GW_SQL_TEXT(t[1]), GW_SQL_TEXT(t[2]), GW_SQL_TEXT(t[3]), GW_SQL_INT(e->quota),
            GW_SQL_INT(e->pt), GW_SQL_INT(e->ct), GW_SQL_INT(e->ut),
            GW_SQL_INT(e->stream != 0), GW_SQL_INT(e->cid), GW_SQL_INT(e->tid),
            GW_SQL_TEXT(t[4]), GW_SQL_TEXT(t[5]), GW_SQL_TEXT(t[6]), GW_SQL_TEXT(t[7]),
        };
        rc = gw_store_exec(db,
            "INSERT INTO `logs` (`user_id`, `created_at`, `type`, `content`, `username`, "
            "`token_name`, `model_name`, `quota`, `prompt_tokens`, `completion_tokens`, "
            "`use_time`, `is_stream`, `channel_id`, `token_id`, `group`, `ip`, "
            "`request_id`, `other`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?)", a, sizeof a / sizeof a[0], NULL);
    }
    for (size_t i = 0; i < 8; i++)
        gw_free(t[i]);
    return rc;
}

/* ---- deltas, summed per row over a batch ------------------------------------------ */

static const char *const tables[3] = { "users", "tokens", "channels" };
static const char *const cols[3][3] = {
    { "quota", "used_quota", "request_count" }, { "remain_quota", "used_quota" },
    { "used_quota" },
};
static const size_t ncols[3] = { 3, 2, 1 };

void gw__ledger_acc_init(struct gw__ledger_acc *a)
{
    *a = (struct gw__ledger_acc){ 0 };
}

#define LOG_CONSUME 2

/* One call of quota_data: quota charged, tokens = prompt + completion. */
static int add_call(struct gw__ledger_acc *a, const struct gw__ledger_entry *e)
{
    if (!e->consume || e->log != LOG_CONSUME)
        return GW_OK;
    const redisReply *u = field(e->f, "uname"), *m = field(e->f, "model"),
                     *g = field(e->f, "group");
    long long tokens;
    if (__builtin_add_overflow(e->pt, e->ct, &tokens))
        tokens = e->pt > 0 ? LLONG_MAX : LLONG_MIN;
    return gw__qd_add(&a->qd, e->uid, e->tid, e->cid, e->ts, u ? u->str : "", u ? u->len : 0,
                      m ? m->str : "", m ? m->len : 0, g ? g->str : "", g ? g->len : 0,
                      e->quota, tokens);
}

int gw__ledger_acc_add(struct gw__ledger_acc *a, const struct gw__ledger_entry *e)
{
    const long long ids[3] = { e->uid, e->tid, e->cid };
    const long long *d[3] = { &e->d[0], &e->d[3], &e->d[5] };

    if (add_call(a, e) != GW_OK)
        return GW_ENOMEM;
    if (a->n + 3 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct gw__ledger_delta *v = gw_realloc(a->v, cap * sizeof *v);
        if (v == NULL)
            return GW_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    for (int t = 0; t < 3; t++) {
        struct gw__ledger_delta x = { .table = t, .id = ids[t] };
        int any = 0;
        for (size_t c = 0; c < ncols[t]; c++)
            any |= (x.d[c] = d[t][c]) != 0;
        if (any && ids[t] > 0)
            a->v[a->n++] = x;
    }
    return GW_OK;
}

static int delta_cmp(const void *pa, const void *pb)
{
    const struct gw__ledger_delta *x = pa, *y = pb;
    if (x->table != y->table)
        return x->table < y->table ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* UPDATE table SET c = c + ?, ... WHERE id = ? over the non-zero deltas only. */
static int update_row(gw_store *db, const struct gw__ledger_delta *x)
{
    char sql[256];
    gw_sql_arg a[4];
    size_t na = 0, off;

    off = (size_t)snprintf(sql, sizeof sql, "UPDATE `%s` SET ", tables[x->table]);
    for (size_t i = 0; i < ncols[x->table]; i++) {
        if (x->d[i] == 0)
            continue;
        off += (size_t)snprintf(sql + off, sizeof sql - off, "%s`%s` = `%s` + ?",
                                na ? ", " : "", cols[x->table][i], cols[x->table][i]);
        a[na++] = GW_SQL_INT(x->d[i]);
    }
    if (na == 0)
        return GW_OK;
    snprintf(sql + off, sizeof sql - off, " WHERE `id` = ?");
    a[na++] = GW_SQL_INT(x->id);
    return gw_store_exec(db, sql, a, na, NULL);
}

/* Adds y into x; 0 (x unchanged) when a column would overflow. */
static int merge(struct gw__ledger_delta *x, const struct gw__ledger_delta *y)
{
    long long sum[3];
    for (size_t i = 0; i < 3; i++)
        if (__builtin_add_overflow(x->d[i], y->d[i], &sum[i]))
            return 0;
    memcpy(x->d, sum, sizeof sum);
    return 1;
}

int gw__ledger_acc_flush(struct gw__ledger_acc *a, gw_store *db)
{
    int rc = GW_OK;
    size_t i = 0;

    /* Sorted, equal rows are adjacent; a fixed order also makes replicas on MySQL or
     * PostgreSQL lock rows in the same order. */
    if (a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, delta_cmp);
    while (i < a->n && rc == GW_OK) {
        struct gw__ledger_delta x = a->v[i++];
        while (i < a->n && a->v[i].table == x.table && a->v[i].id == x.id && merge(&x, &a->v[i]))
            i++;
        rc = update_row(db, &x);
    }
    a->n = 0;
    if (rc == GW_OK)
        return gw__qd_flush(&a->qd, db);
    gw__qd_reset(&a->qd);
    return rc;
}

void gw__ledger_acc_reset(struct gw__ledger_acc *a)
{
    a->n = 0;
    gw__qd_reset(&a->qd);
}

void gw__ledger_acc_free(struct gw__ledger_acc *a)
{
    gw_free(a->v);
    gw__qd_free(&a->qd);
    gw__ledger_acc_init(a);
}

int gw__ledger_entry_apply(gw_store *db, struct gw__ledger_acc *a,
                           const struct gw__ledger_entry *e)
{
    int rc = GW_OK;

    if (e->log != 0)
        rc = insert_log(db, e);
    return rc == GW_OK ? gw__ledger_acc_add(a, e) : rc;
}
