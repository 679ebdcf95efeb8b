/* The /api/user job plumbing and the helpers shared by users.c and
 * users_admin.c (users.h): the job's answer path (Redis mirror, then the
 * ledger adjust or the envelope), body readers with the reference's
 * length rules, user rows as JSON, the Redis mirror of a user, insertion. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "gateway/api/live.h"
#include "gateway/api/users.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/state/redis.h"
#include "gateway/worker.h"

#define AFF_LEN 4
#define AFF_TRIES 8

/* ---- job plumbing ---------------------------------------------------------- */

struct gw__ujob *gw__ujob_new(gw_req *r, const struct gw_caller *who)
{
    struct gw__ujob *u = gw_calloc(1, sizeof *u);
    if (!u) {
        gw_api_fail(r, "out of memory");
        return NULL;
    }
    if (who)
        u->who = *who;
    u->cfg = r->worker->cfg;
    u->now = (long long)time(NULL);
    u->frole = u->fstatus = -1;
    return u;
}

void gw__ujob_free(struct gw__ujob *u)
{
    if (!u)
        return;
    OPENSSL_cleanse(u->password, sizeof u->password);
    OPENSSL_cleanse(u->original, sizeof u->original);
    json_decref(u->data);
    gw_rcmds_free(&u->cmds);
    gw_free(u);
}

int gw__ujob_failf(struct gw__ujob *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->msg, sizeof u->msg, fmt, ap);
    va_end(ap);
    u->fail = u->msg;
    return GW_OK;
}

void gw__ujob_refuse(gw_req *r, struct gw__ujob *u, const char *msg)
{
    gw_api_fail(r, msg);
    gw__ujob_free(u);
}

/* A user row in the answer shows the live money fields (live.h). */
static void answer(gw_req *r, struct gw__ujob *u)
{
    gw_api_ok_live(r, GW_LIVE_USER, u->data);
    u->data = NULL;
}

static void on_adjust(const struct gw_adjust_result *res, void *arg)
{
    struct gw__ujob *u = arg;
    gw_req *r = u->r;
    if (res->status == GW_OK && !res->ok && res->reason == GW_REFUSE_USER_NOT_FOUND &&
        u->adj_same_as_sql) {
        answer(r, u); /* not in Redis, and SQL already holds that value */
    } else if (res->status != GW_OK || !res->ok) {
        GW_ERROR("user %lld: quota change (%lld) not applied (%s) rid=%s", u->id, u->adj_value,
                 res->status != GW_OK ? res->error : gw_ledger_reason_name(res->reason), r->rid);
        gw_api_fail(r, res->status == GW_ETIMEDOUT
                           ? "the quota change is pending, reload the user to check it"
                       : res->status == GW_OK && res->reason == GW_REFUSE_QUOTA_RANGE
                           ? (u->set & ~(unsigned)GW_UF_QUOTA
                                  ? "the other changes were saved, but the quota change was "
                                    "refused: the quota would leave -1000000000000000.."
                                    "1000000000000000"
                                  : "the quota change was refused: the quota would leave "
                                    "-1000000000000000..1000000000000000")
                       : u->set & ~(unsigned)GW_UF_QUOTA
                           ? "the other changes were saved, but the quota change failed"
                           : "the quota change failed");
    } else {
        answer(r, u);
    }
    gw__ujob_free(u);
    gw_req_unref(r);
}

static void finish(gw_req *r, struct gw__ujob *u)
{
    if (u->rc != GW_OK) {
        gw_api_fail(r, gw_api_store_msg(u->rc));
    } else if (u->fail) {
        gw_api_fail(r, u->fail);
    } else if (u->adjust) {
        /* The op id is the request id: a replay of this script call is the same
         * operation, a new request is another one. */
        struct gw_adjust_req q = {.op = u->op, .uid = u->id, .value = u->adj_value,
                                  .now_ms = u->now * 1000, .content = u->content,
                                  .op_id = gw_arena_printf(r->arena, "user:%s", r->rid)};
        u->r = r;
        gw_req_ref(r);
        if (q.op_id && gw_ledger_adjust(r->worker->redis, &q, on_adjust, u) == GW_OK)
            return;
        gw_req_unref(r);
        gw_api_fail(r, "the quota change failed: the state store is unavailable");
    } else {
        answer(r, u);
    }
    gw__ujob_free(u);
}

/* One mirror command (or the initial count) is done; the last one answers. */
static void mirrored(struct gw__ujob *u)
{
    gw_req *r = u->r;
    if (--u->pending > 0)
        return;
    finish(r, u);
    gw_req_unref(r);
}

static void on_mirror(int status, redisReply *reply, void *data)
{
    struct gw__ujob *u = data;
    if (status != GW_OK || !reply || reply->type == REDIS_REPLY_ERROR)
        GW_ERROR("redis write-through of user %lld failed (%s) rid=%s", u->id,
                 status != GW_OK ? gw_strerror(status) : reply ? reply->str : "no reply",
                 u->r->rid);
    mirrored(u);
}

static void ujob_done(gw_req *r, int rc, void *ctx)
{
    struct gw__ujob *u = ctx;
    u->rc = rc;
    /* Committed: the mirror follows even if the client left. One reference
     * covers every pending command; the last reply answers. */
    u->r = r;
    gw_req_ref(r);
    u->pending = 1;
    for (size_t i = 0; i < u->cmds.n; i++) {
        struct gw_rcmd *c = &u->cmds.cmd[i];
        u->pending++;
        if (gw_redis_command_argv(r->worker->redis, on_mirror, u, c->argc,
                                  (const char **)c->argv, c->len) != GW_OK) {
            GW_ERROR("redis write-through of user %lld not sent rid=%s", u->id, r->rid);
            u->pending--;
        }
    }
    gw_rcmds_free(&u->cmds);
    mirrored(u); /* drops the initial count */
}

void gw__ujob_run(gw_req *r, struct gw__ujob *u, gw_api_sql_cb work)
{
    if (gw_api_sql(r, work, ujob_done, u) != GW_OK)
        gw__ujob_refuse(r, u, "internal error");
}

/* ---- input ----------------------------------------------------------------- */

static size_t runes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int gw__user_str(struct gw__ujob *u, const json_t *b, const char *k, size_t max_runes,
                 char *out, size_t cap)
{
    const json_t *v = json_object_get(b, k);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        gw__ujob_failf(u, "invalid request: %s must be a string", k);
        return -1;
    }
    const char *s = json_string_value(v);
    if (json_string_length(v) >= cap || strlen(s) != json_string_length(v) ||
        runes(s) > max_runes) {
        gw__ujob_failf(u, "%s must be at most %zu characters", k, max_runes);
        return -1;
    }
    memcpy(out, s, strlen(s) + 1);
    return 1;
}

int gw__user_int(struct gw__ujob *u, const json_t *b, const char *k, long long lo,
                 long long hi, long long *out)
{
    char err[200];
    int rc = gw_api_opt_int(b, k, lo, hi, out, err, sizeof err);
    if (rc < 0)
        gw__ujob_failf(u, "%s", err);
    return rc;
}

const char *gw__user_pw_check(const char *pw)
{
    size_t n = runes(pw);
    if (n < GW_USER_PW_MIN)
        return "password must be at least 8 characters";
    if (n > GW_USER_PW_MAX)
        return "password must be at most 20 characters";
    return NULL;
}


/* ---- rows ------------------------------------------------------------------- */

static const struct gw_col user_spec[] = {
    {"id", GW_COL_INT},          {"role", GW_COL_INT},          {"status", GW_COL_INT},
    {"quota", GW_COL_INT},       {"used_quota", GW_COL_INT},    {"request_count", GW_COL_INT},
    {"aff_count", GW_COL_INT},   {"aff_quota", GW_COL_INT},     {"aff_history", GW_COL_INT},
    {"inviter_id", GW_COL_INT},  {"created_at", GW_COL_INT},    {"last_login_at", GW_COL_INT},
    {"auth_version", GW_COL_SKIP}, {"deleted_at", GW_COL_SKIP}};

/* gorm.DeletedAt marshals as null or an RFC 3339 time; the backends print
 * "YYYY-MM-DD HH:MM:SS[.fff][+00]" in UTC. */
static json_t *deleted_at(const char *v)
{
    char t[32];
    if (!v || strlen(v) < 19)
        return json_null();
    snprintf(t, sizeof t, "%.10sT%.8sZ", v, v + 11);
    return json_string(t);
}

json_t *gw__user_json(const gw_rows *rows, size_t i)
{
    json_t *o = gw_api_row_json(rows, i, user_spec, sizeof user_spec / sizeof user_spec[0]);
    if (!o)
        return NULL;
    /* JSON names of the reference's model.User that differ from the column. */
    json_object_set(o, "aff_history_quota", json_object_get(o, "aff_history"));
    json_object_del(o, "aff_history");
    json_object_set_new(o, "DeletedAt", deleted_at(gw_rows_get(rows, i, GW_UC_DELETED)));
    const char *remark = gw_rows_get(rows, i, GW_UC_REMARK);
    if (!remark || !*remark) /* `json:"remark,omitempty"` */
        json_object_del(o, "remark");
    return o;
}

int gw__user_load(gw_store *st, long long id, int with_deleted, gw_rows **rows)
{
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    *rows = NULL;
    int rc = gw_store_query(st,
                            with_deleted ? "SELECT " GW_USER_COLS " FROM users WHERE id = ?"
                                         : "SELECT " GW_USER_COLS
                                           " FROM users WHERE id = ? AND deleted_at IS NULL",
                            a, 1, rows);
    if (rc == GW_OK && gw_rows_count(*rows) != 1) {
        gw_rows_free(*rows);
        *rows = NULL;
    }
    return rc;
}

int gw__user_mirror(gw_store *st, struct gw__ujob *u, long long id, int with_money)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    int rc = gw_store_query(st, "SELECT " GW_RR_USER_COLS " FROM users WHERE id = ?", a, 1,
                            &rows);
    if (rc == GW_OK && gw_rows_count(rows) == 1)
        rc = gw_rr_user(&u->cmds, rows, 0, with_money);
    gw_rows_free(rows);
    return rc;
}

int gw__user_unmirror(gw_store *st, struct gw__ujob *u, long long id)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    int rc = gw_store_query(st,
                            "SELECT id, `key` FROM tokens WHERE user_id = ? AND deleted_at IS NULL",
                            a, 1, &rows);
    for (size_t i = 0; rc == GW_OK && i < gw_rows_count(rows); i++) {
        long long tid = 0;
        const char *k = gw_rows_get(rows, i, 1);
        gw_rows_int(rows, i, 0, &tid);
        if (k && *k)
            gw_rr_token_del(&u->cmds, id, tid, k);
    }
    gw_rows_free(rows);
    return rc == GW_OK ? gw_rr_user_del(&u->cmds, id) : rc;
}

static int exists(gw_store *st, const char *sql, const char *v, int *yes)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[1] = {GW_SQL_TEXT(v)};
    int rc = gw_store_query(st, sql, a, 1, &rows);
    *yes = rc == GW_OK && gw_rows_count(rows) > 0;
    gw_rows_free(rows);
    return rc;
}

int gw__user_insert(gw_store *st, struct gw__ujob *u, long long role, long long quota,
                    long long inviter, long long *id)
{
    char hash[64], aff[AFF_LEN + 1];
    int taken = 0, rc;
    /* Deleted users keep their name (reference CheckUserExistOrDeleted). */
    rc = exists(st, "SELECT id FROM users WHERE username = ?", u->username, &taken);
    if (rc != GW_OK)
        return rc;
    if (taken)
        return gw__ujob_failf(u, "username \"%s\" already exists or belonged to a deleted user",
                              u->username);
    if (gw_bcrypt_hash(u->password, GW_USER_BCRYPT_COST, hash) != GW_OK)
        return GW_EIO;
    for (int i = 0; i < AFF_TRIES; i++) {
        if (gw_random_alnum(aff, AFF_LEN) != GW_OK)
            return GW_EIO;
        gw_sql_arg a[9] = {GW_SQL_TEXT(u->username), GW_SQL_TEXT(hash),
                           GW_SQL_TEXT(u->display[0] ? u->display : u->username),
                           GW_SQL_INT(role), GW_SQL_INT(quota), GW_SQL_TEXT(aff),
                           GW_SQL_INT(inviter), GW_SQL_INT(u->now),
                           GW_SQL_TEXT(u->email)};
        rc = gw_store_insert(st,
                             "INSERT INTO users (username, password, display_name, role, status, "
                             "quota, used_quota, request_count, `group`, aff_code, aff_count, "
                             "aff_quota, aff_history, inviter_id, setting, remark, created_at, "
                             "auth_version, email) VALUES (?, ?, ?, ?, 1, ?, 0, 0, 'default', ?, "
                             "0, 0, 0, ?, '', '', ?, 1, ?)",
                             a, 9, id);
        if (rc != GW_ECONFLICT)
            break;
        /* A race on the username, or a taken aff code: only the latter is retried. */
        if ((rc = exists(st, "SELECT id FROM users WHERE username = ?", u->username, &taken)) !=
            GW_OK)
            return rc;
        if (taken)
            return gw__ujob_failf(u, "username \"%s\" already exists", u->username);
        rc = GW_ECONFLICT;
    }
    OPENSSL_cleanse(hash, sizeof hash);
    return rc;
}
