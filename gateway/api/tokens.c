/* /api/token (reference controller/token.go and model/token.go, Aug tree): the
 * caller's API keys. Every route works on the caller's own tokens only — admins
 * included, as the reference's /api/token/ does — so another user's token answers
 * "token not found", exactly like a missing one.
 *
 * Keys are 48 characters of [0-9A-Za-z], stored without "sk-". Reads mask them
 * (first 4 + "**********" + last 4); POST /api/token/:id/key and /batch/keys reveal
 * them to their owner, without "sk-" (the reference's GetFullKey). Creation answers
 * {"success":true,"message":""} with no data, as the reference does.
 *
 * Updates are partial: fields absent from the body keep their value (the reference
 * overwrote them with Go zero values, so an expired_time left out became 0, i.e.
 * expired). With ?status_only only `status` is read. Status moves between 1 and 2;
 * an expired (3) or exhausted (4) token is enabled only once its expiry or quota is
 * fixed.
 *
 * Redis write-through (persist/redis_rows.h): after each SQL change the same
 * thread-pool job SELECTs the row and builds the mirror commands; `done` sends them
 * from the loop. remain_quota is money: it is mirrored at creation only; afterwards
 * it changes through adjust.lua token_set, whose ledger entry the persister applies
 * to tokens.remain_quota (never an SQL overwrite here).
 *
 * This file: input parsing, the shared job (tokens.h), create, list, search and
 * get. tokens_update.c: update, delete, key reveal and the batch routes. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/api/live.h"
#include "gateway/api/tokens.h"
#include "gateway/core/alloc.h"
#include "gateway/core/cidr.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"
#include "persist/redis_rows.h"

#define KEY_LEN 48
#define LIST_MAX 16384              /* model_limits, allow_ips */
#define QUOTA_MAX 2147483647LL      /* Aug: quota saturates to the int32 range */
#define EXPIRY_MAX 253402300799LL   /* 9999-12-31 */
#define MAX_TOKENS_DEFAULT 1000
#define USABLE_GROUPS_DEFAULT "{\"default\":\"默认分组\",\"vip\":\"vip分组\"}"

static const struct gw_col tk_spec[] = {
    {"id", GW_COL_INT},           {"user_id", GW_COL_INT},      {"status", GW_COL_INT},
    {"created_time", GW_COL_INT}, {"accessed_time", GW_COL_INT}, {"expired_time", GW_COL_INT},
    {"remain_quota", GW_COL_INT}, {"used_quota", GW_COL_INT},   {"unlimited_quota", GW_COL_BOOL},
    {"model_limits_enabled", GW_COL_BOOL}, {"cross_group_retry", GW_COL_BOOL}};
#define NSPEC (sizeof tk_spec / sizeof tk_spec[0])

static void tk_free(struct gw__tk *t)
{
    if (!t)
        return;
    gw_free(t->in.ml);
    gw_free(t->in.ips);
    json_decref(t->data);
    gw_rcmds_free(&t->cmds);
    gw_free(t);
}

int gw__tk_fail(struct gw__tk *t, const char *msg)
{
    snprintf(t->msg, sizeof t->msg, "%s", msg);
    t->fail = t->msg;
    return GW_OK;
}

/* ---- input ---------------------------------------------------------------- */

static int opt_bool(const json_t *b, const char *k, int *out, char *err, size_t n)
{
    const json_t *v = json_object_get(b, k);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        snprintf(err, n, "invalid request: %s must be true or false", k);
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

static int opt_str(const json_t *b, const char *k, size_t max, const char **out, char *err,
                   size_t n)
{
    const json_t *v = json_object_get(b, k);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, n, "invalid request: %s must be a string", k);
        return -1;
    }
    if (json_string_length(v) > max) {
        snprintf(err, n, "%s must be at most %zu bytes", k, max);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* model_limits: comma list; items trimmed, empty items dropped. */
static char *norm_models(const char *s, char *err, size_t n)
{
    char *out = gw_malloc(strlen(s) + 1);
    if (!out) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    size_t k = 0;
    gw_str rest = gw_str_c(s), tok;
    while (gw_str_split(&rest, ',', &tok)) {
        tok = gw_str_trim(tok);
        if (!tok.len)
            continue;
        if (tok.len > 255) {
            snprintf(err, n, "model_limits: a model name is longer than 255 bytes");
            gw_free(out);
            return NULL;
        }
        if (k)
            out[k++] = ',';
        memcpy(out + k, tok.base, tok.len);
        k += tok.len;
    }
    out[k] = '\0';
    return out;
}

/* allow_ips: parsed strictly once, here (gateway/core/cidr.h); the text is
 * stored as sent, and the relay caches the parsed networks. */
static int valid_ips(const char *s, size_t len, char *err, size_t n)
{
    gw_cidr_list *l = NULL;
    char why[200];
    int rc = gw_cidr_list_parse(s, len, &l, why, sizeof why);
    gw_cidr_list_free(l);
    if (rc != GW_OK) {
        snprintf(err, n, "allow_ips: %s", why);
        return -1;
    }
    return 0;
}

/* Reads the token fields of a create/update body into in. */
int gw__tk_read_fields(const json_t *b, struct gw__tk_in *in, char *err, size_t n)
{
    const char *s;
    int rc;
    if ((rc = opt_str(b, "name", NAME_MAX_BYTES, &s, err, n)) < 0)
        return -1;
    if (rc) {
        snprintf(in->name, sizeof in->name, "%s", s);
        in->set |= F_NAME;
    }
    if ((rc = gw_api_opt_int(b, "expired_time", -1, EXPIRY_MAX, &in->expired, err, n)) < 0)
        return -1;
    if (rc)
        in->set |= F_EXPIRED;
    if ((rc = gw_api_opt_int(b, "remain_quota", 0, QUOTA_MAX, &in->remain, err, n)) < 0)
        return -1;
    if (rc)
        in->set |= F_REMAIN;
    if ((rc = opt_bool(b, "unlimited_quota", &in->unlimited, err, n)) < 0)
        return -1;
    if (rc)
        in->set |= F_UNLIMITED;
    if ((rc = opt_bool(b, "model_limits_enabled", &in->mle, err, n)) < 0)
        return -1;
    if (rc)
        in->set |= F_MLE;
    if ((rc = opt_bool(b, "cross_group_retry", &in->cgr, err, n)) < 0)
        return -1;
    if (rc)
        in->set |= F_CGR;
    if ((rc = opt_str(b, "group", GROUP_MAX, &s, err, n)) < 0)
        return -1;
    if (rc) {
        snprintf(in->group, sizeof in->group, "%s", s);
        in->set |= F_GROUP;
    }
    if ((rc = opt_str(b, "model_limits", LIST_MAX, &s, err, n)) < 0)
        return -1;
    if (rc) {
        if (!(in->ml = norm_models(s, err, n)))
            return -1;
        in->set |= F_ML;
    }
    const json_t *ips = json_object_get(b, "allow_ips");
    if (json_is_null(ips)) { /* the reference's *string: null clears the list */
        in->ips = gw_strdup("");
        in->set |= F_IPS;
    } else if ((rc = opt_str(b, "allow_ips", LIST_MAX, &s, err, n)) < 0)
        return -1;
    else if (rc) {
        if (valid_ips(s, json_string_length(ips), err, n) != 0)
            return -1;
        in->ips = gw_strdup(s);
        in->set |= F_IPS;
    }
    if ((in->set & F_IPS) && !in->ips) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    return 0;
}

int gw__tk_future_or_never(long long t, long long now) { return t == -1 || t > now; }

/* ---- thread-pool helpers -------------------------------------------------- */

static void mask_key(const char *k, char *out, size_t cap)
{
    size_t n = strlen(k);
    if (n <= 4)
        snprintf(out, cap, "%.*s", (int)n, "****");
    else if (n <= 8)
        snprintf(out, cap, "%.2s****%s", k, k + n - 2);
    else
        snprintf(out, cap, "%.4s**********%s", k, k + n - 4);
}

/* One token row as the reference's tokenResponse: key masked, auto_groups null. */
json_t *gw__tk_json(const gw_rows *rows, size_t i)
{
    json_t *o = gw_api_row_json(rows, i, tk_spec, NSPEC);
    const char *k = gw_rows_get(rows, i, C_KEY);
    char masked[160];
    mask_key(k && strlen(k) < 128 ? k : "", masked, sizeof masked);
    json_object_set_new(o, "key", json_string(masked));
    json_object_set_new(o, "auto_groups", json_null());
    return o;
}

/* The caller's live token id (or NULL rows when absent). */
int gw__tk_select_own(gw_store *st, struct gw__tk *t, long long id, gw_rows **rows)
{
    gw_sql_arg a[2] = {GW_SQL_INT(id), GW_SQL_INT(t->who.id)};
    int rc = gw_store_query(st,
                            "SELECT " TK_COLS " FROM tokens WHERE id = ? AND user_id = ? AND "
                            "deleted_at IS NULL",
                            a, 2, rows);
    if (rc == GW_OK && gw_rows_count(*rows) != 1) {
        gw_rows_free(*rows);
        *rows = NULL;
    }
    return rc;
}

int gw__tk_mirror(gw_store *st, struct gw__tk *t, long long id, int with_money)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    int rc = gw_store_query(st, "SELECT " GW_RR_TOKEN_COLS " FROM tokens WHERE id = ?", a, 1,
                            &rows);
    if (rc == GW_OK && gw_rows_count(rows) == 1)
        rc = gw_rr_token(&t->cmds, rows, 0, with_money);
    gw_rows_free(rows);
    return rc;
}

int gw__tk_group_allowed(gw_store *st, const struct gw__tk *t, const char *g, int *ok)
{
    *ok = !*g || strcmp(g, t->who.group) == 0;
    if (*ok)
        return GW_OK;
    char *buf = gw_malloc(LIST_MAX);
    if (!buf)
        return GW_ENOMEM;
    int rc = gw_option_get(st, "UserUsableGroups", USABLE_GROUPS_DEFAULT, buf, LIST_MAX);
    if (rc == GW_OK) {
        json_t *o = gw_json_parse(buf, strlen(buf), 4, NULL, 0);
        *ok = json_is_object(o) && json_object_get(o, g) != NULL;
        json_decref(o);
    }
    gw_free(buf);
    return rc;
}

static long long max_tokens(gw_store *st)
{
    char v[32];
    long long n;
    if (gw_option_get(st, "token_setting.max_user_tokens", "", v, sizeof v) != GW_OK ||
        gw_str_to_ll(gw_str_c(v), 1, 1000000000, &n) != GW_OK)
        return MAX_TOKENS_DEFAULT;
    return n;
}

static int count_tokens(gw_store *st, long long uid, long long *n)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[1] = {GW_SQL_INT(uid)};
    int rc = gw_store_query(st,
                            "SELECT COUNT(*) FROM tokens WHERE user_id = ? AND deleted_at IS NULL",
                            a, 1, &rows);
    if (rc == GW_OK)
        rc = gw_rows_int(rows, 0, 0, n);
    gw_rows_free(rows);
    return rc;
}

static void on_token_set(const struct gw_adjust_result *res, void *arg)
{
    struct gw__tk *t = arg;
    gw_req *r = t->r;
    if (res->status == GW_OK && !res->ok && t->remain_same_as_sql &&
        (res->reason == GW_REFUSE_TOKEN_NOT_FOUND || res->reason == GW_REFUSE_USER_NOT_FOUND)) {
        gw_api_ok_live(r, GW_LIVE_TOKEN, t->data); /* not in Redis; SQL has that value */
        t->data = NULL;
    } else if (res->status != GW_OK || !res->ok) {
        GW_ERROR("token %lld: remain_quota change to %lld not applied (%s) rid=%s", t->id,
                 t->remain, res->status != GW_OK ? res->error : gw_ledger_reason_name(res->reason),
                 r->rid);
        gw_api_fail(r, res->status == GW_ETIMEDOUT
                           ? "the quota change is pending, reload the token to check it"
                           : "the other changes were saved, but the quota change failed");
    } else {
        gw_api_ok_live(r, GW_LIVE_TOKEN, t->data); /* live money fields */
        t->data = NULL;
    }
    tk_free(t);
    gw_req_unref(r);
}

static void tk_done(gw_req *r, int rc, void *ctx)
{
    struct gw__tk *t = ctx;
    gw_api_redis_send(r, &t->cmds); /* committed: mirror even if the client left */
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (t->fail)
        gw_api_fail(r, t->fail);
    else if (t->set_remain) {
        /* Sent after the HSET above on the same connection, so it applies to the
         * mirrored token. The op id is the request id: a retry of this request is
         * another operation, a replay of the script call is not. */
        struct gw_adjust_req q = {.op = GW_ADJUST_TOKEN_SET, .uid = t->uid, .tid = t->id,
                                  .value = t->remain, .now_ms = t->now * 1000,
                                  .op_id = gw_arena_printf(r->arena, "token_set:%s", r->rid)};
        t->r = r;
        gw_req_ref(r);
        if (q.op_id && gw_ledger_adjust(r->worker->redis, &q, on_token_set, t) == GW_OK)
            return;
        gw_req_unref(r);
        gw_api_fail(r, "the other changes were saved, but the quota change failed");
    } else {
        gw_api_ok_live(r, GW_LIVE_TOKEN, t->data); /* live money fields */
        t->data = NULL;
    }
    tk_free(t);
}

struct gw__tk *gw__tk_new(gw_req *r, const struct gw_caller *who)
{
    struct gw__tk *t = gw_calloc(1, sizeof *t);
    if (!t) {
        gw_api_fail(r, "out of memory");
        return NULL;
    }
    t->who = *who;
    t->now = (long long)time(NULL);
    t->in.expired = -1;
    return t;
}

void gw__tk_run(gw_req *r, struct gw__tk *t, gw_api_sql_cb work)
{
    if (gw_api_sql(r, work, tk_done, t) != GW_OK) {
        tk_free(t);
        gw_api_fail(r, "internal error");
    }
}

void gw__tk_refuse(gw_req *r, struct gw__tk *t, const char *msg)
{
    gw_api_fail(r, msg);
    tk_free(t);
}

/* ---- create --------------------------------------------------------------- */

static int create_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    int ok;
    char key[KEY_LEN + 1];
    long long n = 0, id = 0, max;
    int rc = gw__tk_group_allowed(st, t, t->in.group, &ok);
    if (rc != GW_OK)
        return rc;
    if (!ok) {
        snprintf(t->msg, sizeof t->msg, "group \"%s\" is not available to this user", t->in.group);
        t->fail = t->msg;
        return GW_OK;
    }
    max = max_tokens(st);
    if (gw_random_alnum(key, KEY_LEN) != GW_OK)
        return GW_EIO;
    if ((rc = gw_store_begin(st)) != GW_OK)
        return rc;
    /* The cap holds under concurrent creates: the owner's row is locked first
     * (SQLite's BEGIN IMMEDIATE already serialises writers). */
    if (gw_store_kind(st) != GW_DB_SQLITE) {
        gw_rows *lk = NULL;
        gw_sql_arg u[1] = {GW_SQL_INT(t->who.id)};
        rc = gw_store_query(st, "SELECT id FROM users WHERE id = ? FOR UPDATE", u, 1, &lk);
        gw_rows_free(lk);
    }
    if (rc == GW_OK)
        rc = count_tokens(st, t->who.id, &n);
    if (rc == GW_OK && n >= max) {
        gw_store_rollback(st);
        snprintf(t->msg, sizeof t->msg, "已达到最大令牌数量限制 (%lld)", max);
        t->fail = t->msg;
        return GW_OK;
    }
    if (rc == GW_OK) {
        gw_sql_arg a[13] = {
            GW_SQL_INT(t->who.id),     GW_SQL_TEXT(key),            GW_SQL_TEXT(t->in.name),
            GW_SQL_INT(t->now),        GW_SQL_INT(t->now),          GW_SQL_INT(t->in.expired),
            GW_SQL_INT(t->in.remain),  GW_SQL_INT(t->in.unlimited), GW_SQL_INT(t->in.mle),
            GW_SQL_TEXT(t->in.ml),     GW_SQL_TEXT(t->in.ips),      GW_SQL_TEXT(t->in.group),
            GW_SQL_INT(t->in.cgr)};
        rc = gw_store_insert(st,
                             "INSERT INTO tokens (user_id, `key`, status, name, created_time, "
                             "accessed_time, expired_time, remain_quota, unlimited_quota, "
                             "used_quota, model_limits_enabled, model_limits, allow_ips, `group`, "
                             "cross_group_retry, auto_groups) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, "
                             "0, ?, ?, ?, ?, ?, '')",
                             a, 13, &id);
    }
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    if (rc != GW_OK) {
        gw_store_rollback(st);
        return rc;
    }
    return gw__tk_mirror(st, t, id, 1); /* a new token: its money fields too */
}

void gw_api_token_create(gw_req *r, const struct gw_caller *who)
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
    int bad = gw__tk_read_fields(body, &t->in, err, sizeof err);
    json_decref(body);
    if (bad)
        return gw__tk_refuse(r, t, err);
    if (!(t->in.set & F_NAME))
        return gw__tk_refuse(r, t, "name is required");
    if (!t->in.name[0])
        return gw__tk_refuse(r, t, "name must not be empty");
    if (!gw__tk_future_or_never(t->in.expired, t->now))
        return gw__tk_refuse(r, t, "expired_time must be -1 (never) or a time in the future");
    if ((!t->in.ml && !(t->in.ml = gw_strdup(""))) || (!t->in.ips && !(t->in.ips = gw_strdup(""))))
        return gw__tk_refuse(r, t, "out of memory");
    if (strcmp(t->in.group, "auto") != 0)
        t->in.cgr = 0; /* cross-group retry means something only for "auto" */
    gw__tk_run(r, t, create_work);
}

/* ---- list, search, get ------------------------------------------------------ */

static int page_of(gw_store *st, struct gw__tk *t, const char *where, gw_sql_arg *a, size_t na)
{
    return gw_api_page_query(st, &t->pg, "tokens", TK_COLS, where, a, na, gw__tk_json, &t->data);
}

static int list_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    gw_sql_arg a[3] = {GW_SQL_INT(t->who.id)};
    return page_of(st, t, "user_id = ? AND deleted_at IS NULL", a, 1);
}

void gw_api_token_list(gw_req *r, const struct gw_caller *who)
{
    struct gw__tk *t = gw__tk_new(r, who);
    if (!t)
        return;
    gw_api_page(r, &t->pg);
    gw__tk_run(r, t, list_work);
}

static int search_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    char kw[2 * SEARCH_MAX + 4], tok[2 * SEARCH_MAX + 4], where[256];
    int fuzzy = 0;
    const char *e = NULL, *token = t->token;
    if (strncmp(token, "sk-", 3) == 0)
        token += 3;
    if (t->keyword[0])
        e = gw_api_like_sanitize(t->keyword, kw, sizeof kw, &fuzzy);
    if (!e && token[0])
        e = gw_api_like_sanitize(token, tok, sizeof tok, &fuzzy);
    if (e)
        return gw__tk_fail(t, e);
    if (fuzzy) { /* over-cap users may only search exactly, as in the reference */
        long long n = 0;
        int rc = count_tokens(st, t->who.id, &n);
        if (rc != GW_OK)
            return rc;
        if (n > max_tokens(st))
            return gw__tk_fail(t, "too many tokens for a fuzzy search: search without %");
    }
    gw_sql_arg a[5] = {GW_SQL_INT(t->who.id)};
    size_t na = 1;
    snprintf(where, sizeof where, "user_id = ? AND deleted_at IS NULL%s%s",
             t->keyword[0] ? " AND name LIKE ? ESCAPE '!'" : "",
             token[0] ? " AND `key` LIKE ? ESCAPE '!'" : "");
    if (t->keyword[0])
        a[na++] = GW_SQL_TEXT(kw);
    if (token[0])
        a[na++] = GW_SQL_TEXT(tok);
    return page_of(st, t, where, a, na);
}

void gw_api_token_search(gw_req *r, const struct gw_caller *who)
{
    const char *kw = gw_req_query(r, "keyword"), *tok = gw_req_query(r, "token");
    if ((kw && strlen(kw) > SEARCH_MAX) || (tok && strlen(tok) > SEARCH_MAX)) {
        gw_api_fail(r, "search text too long");
        return;
    }
    struct gw__tk *t = gw__tk_new(r, who);
    if (!t)
        return;
    snprintf(t->keyword, sizeof t->keyword, "%s", kw ? kw : "");
    snprintf(t->token, sizeof t->token, "%s", tok ? tok : "");
    gw_api_page(r, &t->pg);
    gw__tk_run(r, t, search_work);
}

static int get_work(gw_store *st, void *ctx)
{
    struct gw__tk *t = ctx;
    gw_rows *rows = NULL;
    int rc = gw__tk_select_own(st, t, t->id, &rows);
    if (rc == GW_OK && !rows)
        return gw__tk_fail(t, "token not found");
    if (rc == GW_OK && !(t->data = gw__tk_json(rows, 0)))
        rc = GW_ENOMEM;
    gw_rows_free(rows);
    return rc;
}

void gw__tk_by_id(gw_req *r, const struct gw_caller *who, gw_api_sql_cb work)
{
    long long id;
    if (!gw_api_param_id(r, &id)) {
        gw_api_fail(r, "invalid token id");
        return;
    }
    struct gw__tk *t = gw__tk_new(r, who);
    if (!t)
        return;
    t->id = id;
    gw__tk_run(r, t, work);
}

void gw_api_token_get(gw_req *r, const struct gw_caller *who) { gw__tk_by_id(r, who, get_work); }
