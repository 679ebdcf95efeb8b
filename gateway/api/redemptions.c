/* Redemption codes (reference controller/redemption.go, model/redemption.go) and
 * POST /api/user/topup, which redeems one.
 *
 * Admin routes: create 1..100 codes at once (key = a UUIDv4's 32 hex digits, name
 * 1..20 characters, quota, expired_time 0 = never), list, search, get, update
 * (partial; ?status_only toggles 1/2), soft delete, and DELETE /api/redemption/invalid
 * (used, disabled, or enabled but expired: the reference's set).
 *
 * Redeeming exactly once, with any number of replicas:
 *  1. claim in SQL: UPDATE ... SET status = 3 ... WHERE key = ? AND status = 1 AND live
 *     AND not expired. Only the request whose UPDATE matched one row goes on.
 *  2. credit through adjust.lua redeem with op id "redeem:<id>": the script is atomic
 *     and idempotent, writes the ledger entry, and the persister applies it to
 *     users.quota and writes the log row (users.quota is never touched here).
 *  If the script definitely wrote nothing (user_not_found), the claim is undone. If
 *  the outcome is unknown (timeout, connection lost) the claim stays: the same user
 *  sending the code again between REDRIVE_MIN_S and REDRIVE_S later re-runs step 2
 *  with the same op id, which credits it if the first call never ran and is a no-op
 *  replay ("already used") if it did. Before REDRIVE_MIN_S the first request may
 *  still be crediting, so a second one is simply refused: a race of many requests
 *  has exactly one success. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define NAME_MAX_CHARS 20
#define COUNT_MAX 100
#define QUOTA_MAX 2147483647LL
#define EXPIRY_MAX 253402300799LL
#define KEY_MAX 64
#define SEARCH_MAX 256
#define REDRIVE_MIN_S 30 /* older than any in-flight credit (Redis deadline ~1 s, 2 tries) */
#define REDRIVE_S 600
#define ADJUST_TRIES 2

#define RD_COLS                                                                         \
    "id, user_id, `key`, status, name, quota, created_time, redeemed_time, used_user_id, " \
    "expired_time"

static const struct gw_col rd_spec[] = {
    {"id", GW_COL_INT},           {"user_id", GW_COL_INT},       {"status", GW_COL_INT},
    {"quota", GW_COL_INT},        {"created_time", GW_COL_INT},  {"redeemed_time", GW_COL_INT},
    {"used_user_id", GW_COL_INT}, {"expired_time", GW_COL_INT}};
#define NSPEC (sizeof rd_spec / sizeof rd_spec[0])

enum { F_NAME = 1, F_QUOTA = 2, F_EXPIRED = 4 };
enum { M_NONE, M_FRESH, M_REDRIVE };

struct rd {
    struct gw_caller who;
    long long now, id;
    unsigned set;
    char name[4 * NAME_MAX_CHARS + 1];
    long long count, quota, expired, status;
    int status_only;
    char keyword[SEARCH_MAX + 1], filter[16];
    struct gw_page pg;
    char key[KEY_MAX + 1];  /* topup */
    int mode, tries;
    gw_req *r;              /* held (gw_req_ref) while adjust runs */
    /* output */
    const char *fail;
    char msg[200];
    json_t *data;
};

static void rd_free(struct rd *d)
{
    if (d) {
        json_decref(d->data);
        gw_free(d);
    }
}

static int failf(struct rd *d, const char *msg)
{
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    d->fail = d->msg;
    return GW_OK;
}

static void rd_done(gw_req *r, int rc, void *ctx)
{
    struct rd *d = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (d->fail)
        gw_api_fail(r, d->fail);
    else {
        gw_api_ok(r, d->data);
        d->data = NULL;
    }
    rd_free(d);
}

static struct rd *rd_new(gw_req *r, const struct gw_caller *who)
{
    struct rd *d = gw_calloc(1, sizeof *d);
    if (!d) {
        gw_api_fail(r, "out of memory");
        return NULL;
    }
    d->who = *who;
    d->now = (long long)time(NULL);
    return d;
}

static void run(gw_req *r, struct rd *d, gw_api_sql_cb work, gw_api_done_cb done)
{
    if (gw_api_sql(r, work, done, d) != GW_OK) {
        rd_free(d);
        gw_api_fail(r, "internal error");
    }
}

static void refuse(gw_req *r, struct rd *d, const char *msg)
{
    gw_api_fail(r, msg);
    rd_free(d);
}

/* ---- input ---------------------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* name, quota, expired_time of a create or update body. */
static int read_fields(const json_t *b, struct rd *d, char *err, size_t n)
{
    const json_t *v = json_object_get(b, "name");
    int rc;
    if (v && !json_is_null(v)) {
        const char *s = json_string_value(v);
        if (!s) {
            snprintf(err, n, "invalid request: name must be a string");
            return -1;
        }
        size_t c = utf8_chars(s);
        if (c == 0 || c > NAME_MAX_CHARS) {
            snprintf(err, n, "兑换码名称长度必须在1-20之间 (the name must be 1-20 characters)");
            return -1;
        }
        snprintf(d->name, sizeof d->name, "%s", s);
        d->set |= F_NAME;
    }
    if ((rc = gw_api_opt_int(b, "quota", 1, QUOTA_MAX, &d->quota, err, n)) < 0)
        return -1;
    if (rc)
        d->set |= F_QUOTA;
    if ((rc = gw_api_opt_int(b, "expired_time", 0, EXPIRY_MAX, &d->expired, err, n)) < 0)
        return -1;
    if (rc)
        d->set |= F_EXPIRED;
    if ((d->set & F_EXPIRED) && d->expired != 0 && d->expired < d->now) {
        snprintf(err, n, "过期时间不能早于当前时间 (expired_time must be 0 or in the future)");
        return -1;
    }
    return 0;
}

/* A UUIDv4 as 32 lower-case hex digits (the reference's common.GetUUID). */
static int new_code(char out[33])
{
    unsigned char b[16];
    if (gw_random_bytes(b, sizeof b) != GW_OK)
        return GW_EIO;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    gw_hex_encode(b, sizeof b, out);
    return GW_OK;
}

static json_t *rd_json(const gw_rows *rows, size_t i)
{
    json_t *o = gw_api_row_json(rows, i, rd_spec, NSPEC);
    json_object_set_new(o, "count", json_integer(0)); /* request-only field, as serialised */
    return o;
}

/* ---- create ---------------------------------------------------------------- */

static int create_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    json_t *keys = json_array();
    if (!keys)
        return GW_ENOMEM;
    int rc = gw_store_begin(st);
    for (long long i = 0; rc == GW_OK && i < d->count; i++) {
        char code[33];
        if ((rc = new_code(code)) != GW_OK)
            break;
        gw_sql_arg a[6] = {GW_SQL_INT(d->who.id), GW_SQL_TEXT(code), GW_SQL_TEXT(d->name),
                           GW_SQL_INT(d->quota),  GW_SQL_INT(d->now), GW_SQL_INT(d->expired)};
        long long id;
        rc = gw_store_insert(st,
                             "INSERT INTO redemptions (user_id, `key`, status, name, quota, "
                             "created_time, redeemed_time, used_user_id, expired_time) VALUES "
                             "(?, ?, 1, ?, ?, ?, 0, 0, ?)",
                             a, 6, &id);
        if (rc == GW_OK)
            json_array_append_new(keys, json_string(code));
    }
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    if (rc != GW_OK) {
        gw_store_rollback(st);
        json_decref(keys);
        return rc;
    }
    d->data = keys;
    return GW_OK;
}

void gw_api_redemption_create(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    char err[200];
    struct rd *d = rd_new(r, who);
    if (!d) {
        json_decref(body);
        return;
    }
    int bad = read_fields(body, d, err, sizeof err);
    int rc = bad ? 0 : gw_api_opt_int(body, "count", 1, COUNT_MAX, &d->count, err, sizeof err);
    json_decref(body);
    if (bad || rc < 0)
        return refuse(r, d, err);
    if (!(d->set & F_NAME))
        return refuse(r, d, "兑换码名称长度必须在1-20之间 (the name must be 1-20 characters)");
    if (rc == 0)
        return refuse(r, d, "count is required (1-100)");
    if (!(d->set & F_QUOTA))
        return refuse(r, d, "quota is required and must be greater than 0");
    run(r, d, create_work, rd_done);
}

/* ---- list, search, get ------------------------------------------------------- */

static int page_of(gw_store *st, struct rd *d, const char *where, gw_sql_arg *a, size_t na)
{
    return gw_api_page_query(st, &d->pg, "redemptions", RD_COLS, where, a, na, rd_json,
                             &d->data);
}

static int list_work(gw_store *st, void *ctx)
{
    gw_sql_arg a[2];
    return page_of(st, ctx, "deleted_at IS NULL", a, 0);
}

void gw_api_redemption_list(gw_req *r, const struct gw_caller *who)
{
    struct rd *d = rd_new(r, who);
    if (!d)
        return;
    gw_api_page(r, &d->pg);
    run(r, d, list_work, rd_done);
}

static int is_hex32(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
            return 0;
    return n == 32;
}

/* Reference SearchRedemptions: keyword matches the id (when numeric), a name prefix,
 * or the whole key (32 hex digits, dashes ignored); status "1" | "2" | "3" | "expired". */
static int search_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    char where[400] = "deleted_at IS NULL", like[2 * SEARCH_MAX + 4], key[SEARCH_MAX + 1];
    gw_sql_arg a[8];
    size_t na = 0, k = 0, w = strlen(where);
    long long id;
    if (d->keyword[0]) {
        gw_api_like_literal("", d->keyword, "%", like, sizeof like);
        for (const char *p = d->keyword; *p; p++)
            if (*p != '-' && *p != ' ')
                key[k++] = *p;
        key[k] = '\0';
        int numeric = gw_str_to_ll(gw_str_c(d->keyword), 1, 9007199254740991LL, &id) == GW_OK;
        w += (size_t)snprintf(where + w, sizeof where - w, " AND (name LIKE ? ESCAPE '!'%s%s)",
                              numeric ? " OR id = ?" : "", is_hex32(key) ? " OR `key` = ?" : "");
        a[na++] = GW_SQL_TEXT(like);
        if (numeric)
            a[na++] = GW_SQL_INT(id);
        if (is_hex32(key)) {
            for (char *p = key; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char)(*p - 'A' + 'a');
            a[na++] = GW_SQL_TEXT(key);
        }
    }
    if (strcmp(d->filter, "expired") == 0) {
        snprintf(where + w, sizeof where - w,
                 " AND status = 1 AND expired_time <> 0 AND expired_time < ?");
        a[na++] = GW_SQL_INT(d->now);
    } else if (strcmp(d->filter, "1") == 0) {
        snprintf(where + w, sizeof where - w,
                 " AND status = 1 AND (expired_time = 0 OR expired_time >= ?)");
        a[na++] = GW_SQL_INT(d->now);
    } else if (strcmp(d->filter, "2") == 0 || strcmp(d->filter, "3") == 0) {
        snprintf(where + w, sizeof where - w, " AND status = ?");
        a[na++] = GW_SQL_INT(d->filter[0] - '0');
    }
    return page_of(st, d, where, a, na);
}

void gw_api_redemption_search(gw_req *r, const struct gw_caller *who)
{
    const char *kw = gw_req_query(r, "keyword"), *status = gw_req_query(r, "status");
    if (kw && strlen(kw) > SEARCH_MAX) {
        gw_api_fail(r, "search text too long");
        return;
    }
    struct rd *d = rd_new(r, who);
    if (!d)
        return;
    snprintf(d->keyword, sizeof d->keyword, "%s", kw ? kw : "");
    snprintf(d->filter, sizeof d->filter, "%s", status ? status : "");
    gw_api_page(r, &d->pg);
    run(r, d, search_work, rd_done);
}

static int select_one(gw_store *st, long long id, gw_rows **rows)
{
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    int rc = gw_store_query(st,
                            "SELECT " RD_COLS " FROM redemptions WHERE id = ? AND deleted_at IS NULL",
                            a, 1, rows);
    if (rc == GW_OK && gw_rows_count(*rows) != 1) {
        gw_rows_free(*rows);
        *rows = NULL;
    }
    return rc;
}

static int get_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    gw_rows *rows = NULL;
    int rc = select_one(st, d->id, &rows);
    if (rc == GW_OK && !rows)
        return failf(d, "redemption code not found");
    if (rc == GW_OK && !(d->data = rd_json(rows, 0)))
        rc = GW_ENOMEM;
    gw_rows_free(rows);
    return rc;
}

static int delete_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    long long n = 0;
    gw_sql_arg a[1] = {GW_SQL_INT(d->id)};
    int rc = gw_store_exec(st,
                           "UPDATE redemptions SET deleted_at = CURRENT_TIMESTAMP WHERE id = ? AND "
                           "deleted_at IS NULL",
                           a, 1, &n);
    if (rc == GW_OK && n != 1)
        return failf(d, "redemption code not found");
    return rc;
}

static void by_id(gw_req *r, const struct gw_caller *who, gw_api_sql_cb work)
{
    long long id;
    if (!gw_api_param_id(r, &id)) {
        gw_api_fail(r, "invalid redemption id");
        return;
    }
    struct rd *d = rd_new(r, who);
    if (!d)
        return;
    d->id = id;
    run(r, d, work, rd_done);
}

void gw_api_redemption_get(gw_req *r, const struct gw_caller *who) { by_id(r, who, get_work); }
void gw_api_redemption_delete(gw_req *r, const struct gw_caller *who)
{
    by_id(r, who, delete_work);
}

static int delete_invalid_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    long long n = 0;
    gw_sql_arg a[1] = {GW_SQL_INT(d->now)};
    int rc = gw_store_exec(st,
                           "UPDATE redemptions SET deleted_at = CURRENT_TIMESTAMP WHERE deleted_at "
                           "IS NULL AND (status IN (2, 3) OR (status = 1 AND expired_time <> 0 AND "
                           "expired_time < ?))",
                           a, 1, &n);
    if (rc == GW_OK && !(d->data = json_integer(n)))
        rc = GW_ENOMEM;
    return rc;
}

void gw_api_redemption_delete_invalid(gw_req *r, const struct gw_caller *who)
{
    struct rd *d = rd_new(r, who);
    if (d)
        run(r, d, delete_invalid_work, rd_done);
}

/* ---- update ------------------------------------------------------------------ */

static int update_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    gw_rows *row = NULL;
    int rc = select_one(st, d->id, &row);
    if (rc != GW_OK)
        return rc;
    if (!row)
        return failf(d, "redemption code not found");
    long long cur = 1;
    gw_rows_int(row, 0, 3, &cur);
    if (d->status_only) {
        gw_rows_free(row);
        if (cur == 3) /* "used" is final: re-enabling would let the code redeem twice */
            return failf(d, "this redemption code has been used; its status cannot change");
        gw_sql_arg a[2] = {GW_SQL_INT(d->status), GW_SQL_INT(d->id)};
        rc = gw_store_exec(st, "UPDATE redemptions SET status = ? WHERE id = ? AND status <> 3",
                           a, 2, NULL);
    } else {
        long long quota = 0, expired = 0;
        gw_rows_int(row, 0, 5, &quota);
        gw_rows_int(row, 0, 9, &expired);
        const char *name = gw_rows_get(row, 0, 4);
        gw_sql_arg a[4] = {GW_SQL_TEXT((d->set & F_NAME) ? d->name : name ? name : ""),
                           GW_SQL_INT((d->set & F_QUOTA) ? d->quota : quota),
                           GW_SQL_INT((d->set & F_EXPIRED) ? d->expired : expired),
                           GW_SQL_INT(d->id)};
        rc = gw_store_exec(st,
                           "UPDATE redemptions SET name = ?, quota = ?, expired_time = ? WHERE "
                           "id = ? AND deleted_at IS NULL",
                           a, 4, NULL);
        gw_rows_free(row);
    }
    row = NULL;
    if (rc == GW_OK && (rc = select_one(st, d->id, &row)) == GW_OK && row)
        d->data = rd_json(row, 0);
    gw_rows_free(row);
    return rc;
}

void gw_api_redemption_update(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    char err[200];
    struct rd *d = rd_new(r, who);
    if (!d) {
        json_decref(body);
        return;
    }
    const char *so = gw_req_query(r, "status_only");
    d->status_only = so && *so;
    int rc = gw_api_opt_int(body, "id", 1, 9007199254740991LL, &d->id, err, sizeof err);
    if (rc == 0)
        snprintf(err, sizeof err, "id is required");
    int bad = rc != 1;
    if (!bad && d->status_only) {
        rc = gw_api_opt_int(body, "status", 1, 2, &d->status, err, sizeof err);
        if (rc == 0)
            snprintf(err, sizeof err, "status is required (1 enabled, 2 disabled)");
        bad = rc != 1;
    } else if (!bad)
        bad = read_fields(body, d, err, sizeof err);
    json_decref(body);
    if (bad)
        return refuse(r, d, err);
    run(r, d, update_work, rd_done);
}

/* ---- topup --------------------------------------------------------------------- */

static int topup_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    gw_rows *rows = NULL;
    long long n = 0, status = 0, used_by = 0, redeemed = 0, expired = 0;
    gw_sql_arg a[5] = {GW_SQL_INT(d->who.id), GW_SQL_INT(d->now), GW_SQL_TEXT(d->key),
                       GW_SQL_INT(d->now)};
    int rc = gw_store_exec(st,
                           "UPDATE redemptions SET status = 3, used_user_id = ?, redeemed_time = ? "
                           "WHERE `key` = ? AND status = 1 AND deleted_at IS NULL AND "
                           "(expired_time IS NULL OR expired_time = 0 OR expired_time > ?)",
                           a, 4, &n);
    if (rc != GW_OK)
        return rc;
    gw_sql_arg k[1] = {GW_SQL_TEXT(d->key)};
    rc = gw_store_query(st,
                        "SELECT id, quota, status, used_user_id, redeemed_time, expired_time FROM "
                        "redemptions WHERE `key` = ? AND deleted_at IS NULL",
                        k, 1, &rows);
    if (rc != GW_OK)
        return rc;
    if (gw_rows_count(rows) != 1) {
        gw_rows_free(rows);
        return failf(d, "invalid redemption code");
    }
    gw_rows_int(rows, 0, 0, &d->id);
    gw_rows_int(rows, 0, 1, &d->quota);
    gw_rows_int(rows, 0, 2, &status);
    gw_rows_int(rows, 0, 3, &used_by);
    gw_rows_int(rows, 0, 4, &redeemed);
    gw_rows_int(rows, 0, 5, &expired);
    gw_rows_free(rows);
    if (n == 1)
        d->mode = M_FRESH;
    else if (status == 3 && used_by == d->who.id && redeemed <= d->now - REDRIVE_MIN_S &&
             redeemed >= d->now - REDRIVE_S)
        d->mode = M_REDRIVE; /* ours, settled in time: finish a credit left unknown */
    else if (status == 3)
        return failf(d, "this redemption code has already been used");
    else if (status == 2)
        return failf(d, "this redemption code is disabled");
    else if (expired != 0)
        return failf(d, "this redemption code has expired");
    else
        return failf(d, "invalid redemption code");
    return GW_OK;
}

/* Undoes a claim whose credit definitely did not happen. */
static int unclaim_work(gw_store *st, void *ctx)
{
    struct rd *d = ctx;
    gw_sql_arg a[2] = {GW_SQL_INT(d->id), GW_SQL_INT(d->who.id)};
    return gw_store_exec(st,
                         "UPDATE redemptions SET status = 1, used_user_id = 0, redeemed_time = 0 "
                         "WHERE id = ? AND status = 3 AND used_user_id = ?",
                         a, 2, NULL);
}

static void unclaim_done(gw_req *r, int rc, void *ctx)
{
    struct rd *d = ctx;
    if (rc != GW_OK)
        GW_ERROR("redemption %lld: claim by user %lld not undone (%s) rid=%s", d->id, d->who.id,
                 gw_strerror(rc), r->rid);
    gw_api_fail(r, "your account is not loaded yet; the code was not used, try again shortly");
    rd_free(d);
}

static int credit(gw_req *r, struct rd *d);

static void on_redeem(const struct gw_adjust_result *res, void *arg)
{
    struct rd *d = arg;
    gw_req *r = d->r;
    int unknown = res->status == GW_ETIMEDOUT || res->status == GW_ECLOSED ||
                  res->status == GW_EIO;
    if (unknown && ++d->tries < ADJUST_TRIES && credit(r, d) == GW_OK) {
        gw_req_unref(r); /* credit() took its own reference */
        return;
    }
    if (res->status == GW_OK && res->ok) {
        if (res->replay && d->mode == M_REDRIVE)
            gw_api_fail(r, "this redemption code has already been used");
        else
            gw_api_ok(r, json_integer(d->quota));
        rd_free(d);
    } else if (res->status == GW_OK) {
        /* Refused (user_not_found): the script wrote nothing, so give the code back. */
        GW_WARN("redemption %lld: user %lld %s, claim undone rid=%s", d->id, d->who.id,
                gw_ledger_reason_name(res->reason), r->rid);
        if (gw_api_sql(r, unclaim_work, unclaim_done, d) != GW_OK) {
            gw_api_fail(r, "internal error");
            rd_free(d);
        }
    } else {
        GW_ERROR("redemption %lld: credit of %lld to user %lld %s (%s) rid=%s", d->id, d->quota,
                 d->who.id, unknown ? "unknown" : "refused", res->error, r->rid);
        gw_api_fail(r, unknown ? "the redemption is still being processed; if your balance has "
                                 "not changed, submit the same code again in a minute"
                               : "the redemption failed");
        rd_free(d);
    }
    gw_req_unref(r);
}

static int credit(gw_req *r, struct rd *d)
{
    char op[48], content[128];
    snprintf(op, sizeof op, "redeem:%lld", d->id);
    snprintf(content, sizeof content, "redemption code #%lld: +%lld quota", d->id, d->quota);
    struct gw_adjust_req q = {.op = GW_ADJUST_REDEEM, .uid = d->who.id, .value = d->quota,
                              .now_ms = (long long)time(NULL) * 1000, .op_id = op,
                              .content = content, .code = d->key};
    d->r = r;
    gw_req_ref(r);
    int rc = gw_ledger_adjust(r->worker->redis, &q, on_redeem, d);
    if (rc != GW_OK)
        gw_req_unref(r);
    return rc;
}

static void topup_done(gw_req *r, int rc, void *ctx)
{
    struct rd *d = ctx;
    if (rc != GW_OK || d->fail || d->mode == M_NONE) {
        rd_done(r, rc, d);
        return;
    }
    if (d->quota < 1) { /* an imported zero-quota code: nothing to credit */
        gw_api_ok(r, json_integer(0));
        rd_free(d);
        return;
    }
    if (credit(r, d) != GW_OK) {
        GW_ERROR("redemption %lld: credit to user %lld not sent rid=%s", d->id, d->who.id, r->rid);
        gw_api_fail(r, "the redemption is still being processed; if your balance has not "
                       "changed, submit the same code again in a minute");
        rd_free(d);
    }
}

void gw_api_topup(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    const json_t *v = json_object_get(body, "key");
    gw_str key = gw_str_trim(gw_str_c(json_string_value(v)));
    const char *err = NULL;
    if (!json_is_string(v) || !key.len)
        err = "未提供兑换码 (key is required)";
    else if (key.len > KEY_MAX)
        err = "invalid redemption code";
    struct rd *d = err ? NULL : rd_new(r, who);
    if (d)
        snprintf(d->key, sizeof d->key, "%.*s", (int)key.len, key.base);
    json_decref(body);
    if (err)
        gw_api_fail(r, err);
    else if (d)
        run(r, d, topup_work, topup_done);
}
