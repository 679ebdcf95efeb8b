/* /api/user admin endpoints (reference controller/user.go, Aug tree):
 *
 *  GET    /api/user/          every user, deleted ones included (Unscoped),
 *                             id desc, paged
 *  GET    /api/user/search    keyword (id, or part of username, email,
 *                             display_name), group, role, status
 *  GET    /api/user/:id       a live user
 *  POST   /api/user/          create {username, password, display_name, role}
 *  PUT    /api/user/          partial update {id, username, display_name,
 *                             password, group, remark, quota}
 *  DELETE /api/user/:id       hard delete, as the reference's DeleteUser
 *                             (HardDeleteUserById); manage "delete" is soft
 *  POST   /api/user/manage    {id, action: disable|enable|delete|promote|
 *                             demote|add_quota, mode: add|subtract|override,
 *                             value}
 *
 * Roles (canManageTargetRole): an admin acts on users below its own role;
 * root acts on everyone. Nobody creates a user at or above its own role;
 * only root promotes; root is never disabled, demoted or deleted.
 *
 * Quota is money: an edit or add_quota goes through adjust.lua (users.h),
 * user_set for an absolute value so quota in flight is never overwritten.
 * Status and role changes reach the Redis mirror before the answer, so the
 * next relay call of a disabled user is refused. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "gateway/api/api.h"
#include "gateway/state/options.h"
#include "gateway/api/users.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/worker.h"

#define ROLE_USER 1
#define ROLE_ADMIN 10
#define ROLE_ROOT 100
#define ID_MAX 9007199254740991LL

static int can_manage(long long mine, long long target)
{
    return mine == ROLE_ROOT || mine > target;
}

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

/* ---- list and search ------------------------------------------------------------ */

static int page_of(gw_store *st, struct gw__ujob *u, const char *where, gw_sql_arg *a, size_t na)
{
    return gw_api_page_query(st, &u->pg, "users", GW_USER_COLS, where, a, na, gw__user_json,
                             &u->data);
}

static int list_work(gw_store *st, void *ctx)
{
    gw_sql_arg a[2];
    return page_of(st, ctx, "1 = 1", a, 0);
}

void gw_api_user_list(gw_req *r, const struct gw_caller *who)
{
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (!u)
        return;
    gw_api_page(r, &u->pg);
    gw__ujob_run(r, u, list_work);
}

static int search_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    char pat[2 * sizeof u->keyword + 4], where[512];
    gw_sql_arg a[10];
    size_t na = 0;
    long long id = 0;
    int numeric = gw_str_to_ll(gw_str_c(u->keyword), 1, ID_MAX, &id) == GW_OK;
    gw_api_like_literal("%", u->keyword, "%", pat, sizeof pat); /* the keyword is text */
    snprintf(where, sizeof where,
             "(%susername LIKE ? ESCAPE '!' OR email LIKE ? ESCAPE '!' OR display_name LIKE ? "
             "ESCAPE '!')%s%s%s",
             numeric ? "id = ? OR " : "", u->sgroup[0] ? " AND `group` = ?" : "",
             u->frole >= 0 ? " AND role = ?" : "", u->fstatus >= 0 ? " AND status = ?" : "");
    if (numeric)
        a[na++] = GW_SQL_INT(id);
    a[na++] = GW_SQL_TEXT(pat);
    a[na++] = GW_SQL_TEXT(pat);
    a[na++] = GW_SQL_TEXT(pat);
    if (u->sgroup[0])
        a[na++] = GW_SQL_TEXT(u->sgroup);
    if (u->frole >= 0)
        a[na++] = GW_SQL_INT(u->frole);
    if (u->fstatus >= 0)
        a[na++] = GW_SQL_INT(u->fstatus);
    return page_of(st, u, where, a, na);
}

/* An optional integer filter; the reference ignores one that does not parse. */
static long long filter(gw_req *r, const char *name)
{
    const char *v = gw_req_query(r, name);
    long long n;
    return v && gw_str_to_ll(gw_str_c(v), 0, 1000, &n) == GW_OK ? n : -1;
}

void gw_api_user_search(gw_req *r, const struct gw_caller *who)
{
    const char *kw = gw_req_query(r, "keyword"), *g = gw_req_query(r, "group");
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (!u)
        return;
    if ((kw && strlen(kw) >= sizeof u->keyword) || (g && strlen(g) >= sizeof u->sgroup))
        return gw__ujob_refuse(r, u, "search text too long");
    snprintf(u->keyword, sizeof u->keyword, "%s", kw ? kw : "");
    snprintf(u->sgroup, sizeof u->sgroup, "%s", g ? g : "");
    u->frole = filter(r, "role");
    u->fstatus = filter(r, "status");
    gw_api_page(r, &u->pg);
    gw__ujob_run(r, u, search_work);
}

/* ---- get, delete ---------------------------------------------------------------- */

static int get_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    gw_rows *rows = NULL;
    int rc = gw__user_load(st, u->id, 0, &rows);
    if (rc != GW_OK || !rows)
        return rc != GW_OK ? rc : gw__ujob_failf(u, "user not found");
    if (!can_manage(u->who.role, cell_int(rows, GW_UC_ROLE, ROLE_USER)))
        gw__ujob_failf(u, "no permission to view a user of the same or a higher role");
    else if (!(u->data = gw__user_json(rows, 0)))
        rc = GW_ENOMEM;
    gw_rows_free(rows);
    return rc;
}

static int delete_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    gw_rows *rows = NULL;
    int rc = gw__user_load(st, u->id, 0, &rows);
    if (rc != GW_OK || !rows)
        return rc != GW_OK ? rc : gw__ujob_failf(u, "user not found");
    long long role = cell_int(rows, GW_UC_ROLE, ROLE_USER);
    gw_rows_free(rows);
    if (u->who.role <= role) /* not even root deletes root here */
        return gw__ujob_failf(u, "no permission to delete a user of the same or a higher role");
    gw_sql_arg a[1] = {GW_SQL_INT(u->id)};
    if ((rc = gw__user_unmirror(st, u, u->id)) != GW_OK)
        return rc;
    if ((rc = gw_store_begin(st)) == GW_OK)
        rc = gw_store_exec(st, "DELETE FROM user_sessions WHERE user_id = ?", a, 1, NULL);
    if (rc == GW_OK)
        rc = gw_store_exec(st, "DELETE FROM users WHERE id = ?", a, 1, NULL);
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    if (rc != GW_OK) {
        gw_store_rollback(st);
        gw_rcmds_free(&u->cmds); /* nothing was deleted: keep the mirror */
    }
    return rc;
}

static void by_id(gw_req *r, const struct gw_caller *who, gw_api_sql_cb work)
{
    long long id;
    if (!gw_api_param_id(r, &id)) {
        gw_api_fail(r, "invalid user id");
        return;
    }
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (!u)
        return;
    u->id = id;
    gw__ujob_run(r, u, work);
}

void gw_api_user_get(gw_req *r, const struct gw_caller *who) { by_id(r, who, get_work); }
void gw_api_user_delete(gw_req *r, const struct gw_caller *who) { by_id(r, who, delete_work); }

/* ---- create ------------------------------------------------------------------------ */

static int create_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    long long id = 0;
    int rc = gw__user_insert(st, u, u->role, u->quota_new, 0, &id);
    if (rc != GW_OK || u->fail)
        return rc;
    u->id = id;
    return gw__user_mirror(st, u, id, 1); /* a new user: money fields too */
}

void gw_api_user_create(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (!u) {
        json_decref(body);
        return;
    }
    u->role = ROLE_USER;
    int bad = gw__user_str(u, body, "username", GW_USER_NAME_MAX, u->username,
                           sizeof u->username) < 0 ||
              gw__user_str(u, body, "password", GW_USER_PW_MAX, u->password,
                           sizeof u->password) < 0 ||
              gw__user_str(u, body, "display_name", GW_USER_NAME_MAX, u->display,
                           sizeof u->display) < 0 ||
              gw__user_int(u, body, "role", 0, ROLE_ROOT, &u->role) < 0;
    json_decref(body);
    if (bad)
        return gw__ujob_refuse(r, u, u->msg);
    gw_str t = gw_str_trim(gw_str_c(u->username));
    memmove(u->username, t.base, t.len);
    u->username[t.len] = '\0';
    if (!u->username[0])
        return gw__ujob_refuse(r, u, "username is required");
    if (!u->password[0])
        return gw__ujob_refuse(r, u, "password is required");
    const char *why = gw__user_pw_check(u->password);
    if (why)
        return gw__ujob_refuse(r, u, why);
    if (u->role != ROLE_USER && u->role != ROLE_ADMIN && u->role != ROLE_ROOT)
        return gw__ujob_refuse(r, u, "role must be 1 (user) or 10 (admin)");
    if (u->role >= who->role)
        return gw__ujob_refuse(r, u, "cannot create a user with a role at or above your own");
    u->quota_new = gw_options_int(r->worker->cfgwatch, "QuotaForNewUser", 0);
    gw__ujob_run(r, u, create_work);
}

/* ---- update ------------------------------------------------------------------------ */

static int update_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    gw_rows *row = NULL;
    char hash[64] = "";
    int rc = gw__user_load(st, u->id, 0, &row);
    if (rc != GW_OK || !row)
        return rc != GW_OK ? rc : gw__ujob_failf(u, "user not found");
    long long role = cell_int(row, GW_UC_ROLE, ROLE_USER);
    long long quota = cell_int(row, GW_UC_QUOTA, 0);
    if (!can_manage(u->who.role, role))
        rc = gw__ujob_failf(u, "no permission to edit a user of the same or a higher role");
    else if ((u->set & GW_UF_ROLE) && u->role >= u->who.role && u->who.role != ROLE_ROOT)
        rc = gw__ujob_failf(u, "cannot give a role at or above your own");
    else if ((u->set & GW_UF_PASSWORD) &&
             gw_bcrypt_hash(u->password, GW_USER_BCRYPT_COST, hash) != GW_OK)
        rc = GW_EIO;
    if (rc != GW_OK || u->fail) {
        gw_rows_free(row);
        return rc;
    }
    int pw = (u->set & GW_UF_PASSWORD) != 0;
    gw_sql_arg a[6] = {
        GW_SQL_TEXT((u->set & GW_UF_USERNAME) ? u->username : cell(row, GW_UC_USERNAME)),
        GW_SQL_TEXT((u->set & GW_UF_DISPLAY) ? u->display : cell(row, GW_UC_DISPLAY)),
        GW_SQL_TEXT((u->set & GW_UF_GROUP) ? u->group : cell(row, GW_UC_GROUP)),
        GW_SQL_TEXT((u->set & GW_UF_REMARK) ? u->remark : cell(row, GW_UC_REMARK)),
        GW_SQL_INT(u->id), GW_SQL_TEXT(hash)};
    /* A new password ends every session of the user (Aug: auth_version moves on). */
    rc = gw_store_begin(st);
    if (rc == GW_OK)
        rc = gw_store_exec(st,
                           "UPDATE users SET username = ?, display_name = ?, `group` = ?, "
                           "remark = ? WHERE id = ? AND deleted_at IS NULL",
                           a, 5, NULL);
    if (rc == GW_OK && pw) {
        gw_sql_arg p[2] = {a[5], a[4]};
        rc = gw_store_exec(st,
                           "UPDATE users SET password = ?, auth_version = auth_version + 1 "
                           "WHERE id = ?",
                           p, 2, NULL);
    }
    OPENSSL_cleanse(hash, sizeof hash);
    if (rc == GW_OK && pw) {
        gw_sql_arg s[2] = {GW_SQL_INT(u->now), GW_SQL_INT(u->id)};
        rc = gw_store_exec(st,
                           "UPDATE user_sessions SET status = 'revoked', revoked_at = ?, revoked_reason = "
                           "'admin_user_update' WHERE user_id = ? AND status = 'active'",
                           s, 2, NULL);
    }
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    gw_rows_free(row);
    if (rc != GW_OK) {
        gw_store_rollback(st);
        return rc == GW_ECONFLICT ? gw__ujob_failf(u, "username \"%s\" is already taken",
                                                   u->username)
                                  : rc;
    }
    /* Always when sent: SQL may still show an older value than Redis, and
     * user_set of the current value writes nothing (adjust.lua). */
    if (u->set & GW_UF_QUOTA) {
        u->adjust = 1;
        u->adj_same_as_sql = u->quota == quota;
        u->op = GW_ADJUST_USER_SET;
        u->adj_value = u->quota;
        snprintf(u->content, sizeof u->content, "admin set the user's quota to %lld",
                 u->quota); /* SQL's "from" may lag; the ledger entry has the delta */
    }
    return gw__user_mirror(st, u, u->id, 0);
}

void gw_api_user_update(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (!u) {
        json_decref(body);
        return;
    }
    struct {
        const char *key;
        unsigned bit;
        size_t max;
        char *out;
        size_t cap;
    } strs[] = {
        {"username", GW_UF_USERNAME, GW_USER_NAME_MAX, u->username, sizeof u->username},
        {"display_name", GW_UF_DISPLAY, GW_USER_NAME_MAX, u->display, sizeof u->display},
        {"password", GW_UF_PASSWORD, GW_USER_PW_MAX, u->password, sizeof u->password},
        {"group", GW_UF_GROUP, GW_USER_GROUP_MAX, u->group, sizeof u->group},
        {"remark", GW_UF_REMARK, GW_USER_REMARK_MAX, u->remark, sizeof u->remark},
    };
    int rc = gw__user_int(u, body, "id", 1, ID_MAX, &u->id), bad = rc < 0;
    if (rc == 0)
        bad = gw__ujob_failf(u, "id is required") == GW_OK;
    for (size_t i = 0; !bad && i < sizeof strs / sizeof strs[0]; i++) {
        rc = gw__user_str(u, body, strs[i].key, strs[i].max, strs[i].out, strs[i].cap);
        bad = rc < 0;
        if (rc > 0)
            u->set |= strs[i].bit;
    }
    if (!bad && (rc = gw__user_int(u, body, "quota", 0, GW_USER_QUOTA_MAX, &u->quota)) > 0)
        u->set |= GW_UF_QUOTA;
    bad |= rc < 0;
    if (!bad && (rc = gw__user_int(u, body, "role", 0, 1000, &u->role)) > 0)
        u->set |= GW_UF_ROLE;
    bad |= rc < 0;
    json_decref(body);
    if (bad)
        return gw__ujob_refuse(r, u, u->msg);
    /* The console sends every field back: empty username or password mean "keep". */
    gw_str t = gw_str_trim(gw_str_c(u->username));
    memmove(u->username, t.base, t.len);
    u->username[t.len] = '\0';
    if (!u->username[0])
        u->set &= ~(unsigned)GW_UF_USERNAME;
    if (!u->password[0])
        u->set &= ~(unsigned)GW_UF_PASSWORD;
    if ((u->set & GW_UF_GROUP) && !u->group[0])
        return gw__ujob_refuse(r, u, "group must not be empty");
    const char *why = (u->set & GW_UF_PASSWORD) ? gw__user_pw_check(u->password) : NULL;
    if (why)
        return gw__ujob_refuse(r, u, why);
    gw__ujob_run(r, u, update_work);
}

/* ---- manage ------------------------------------------------------------------------ */

static int manage_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    gw_rows *row = NULL;
    int rc = gw__user_load(st, u->id, 1, &row); /* reference: Unscoped */
    if (rc != GW_OK || !row)
        return rc != GW_OK ? rc : gw__ujob_failf(u, "user does not exist");
    long long role = cell_int(row, GW_UC_ROLE, ROLE_USER);
    long long status = cell_int(row, GW_UC_STATUS, 1);
    int deleted = gw_rows_get(row, 0, GW_UC_DELETED) != NULL;
    gw_rows_free(row);
    const char *a = u->action, *no = NULL;
    if (!can_manage(u->who.role, role))
        no = "no permission to manage a user of the same or a higher role";
    else if (strcmp(a, "disable") == 0)
        no = role == ROLE_ROOT ? "the root user cannot be disabled" : (status = 2, NULL);
    else if (strcmp(a, "enable") == 0)
        status = 1;
    else if (strcmp(a, "delete") == 0)
        no = role == ROLE_ROOT ? "the root user cannot be deleted" : NULL;
    else if (strcmp(a, "promote") == 0)
        no = u->who.role != ROLE_ROOT ? "only the root user can promote users to admin"
             : role >= ROLE_ADMIN     ? "the user is already an admin"
                                      : (role = ROLE_ADMIN, NULL);
    else if (strcmp(a, "demote") == 0)
        no = role == ROLE_ROOT   ? "the root user cannot be demoted"
             : role == ROLE_USER ? "the user is already a common user"
                                 : (role = ROLE_USER, NULL);
    if (no)
        return gw__ujob_failf(u, "%s", no);
    gw_sql_arg id[1] = {GW_SQL_INT(u->id)};
    if (strcmp(a, "add_quota") == 0) {
        if (deleted)
            return gw__ujob_failf(u, "user does not exist");
        u->adjust = 1;
        u->op = strcmp(u->mode, "override") == 0 ? GW_ADJUST_USER_SET : GW_ADJUST_USER_ADD;
        u->adj_value = strcmp(u->mode, "subtract") == 0 ? -u->value : u->value;
        snprintf(u->content, sizeof u->content, "admin %s quota: %lld",
                 u->op == GW_ADJUST_USER_SET ? "set" : "changed", u->adj_value);
        return GW_OK;
    }
    if (strcmp(a, "delete") == 0) {
        long long n = 0;
        rc = gw_store_exec(st,
                           "UPDATE users SET deleted_at = CURRENT_TIMESTAMP WHERE id = ? AND "
                           "deleted_at IS NULL",
                           id, 1, &n);
        return rc == GW_OK && n == 1 ? gw__user_unmirror(st, u, u->id) : rc;
    }
    gw_sql_arg s[3] = {GW_SQL_INT(status), GW_SQL_INT(role), GW_SQL_INT(u->id)};
    rc = gw_store_exec(st, "UPDATE users SET status = ?, role = ? WHERE id = ?", s, 3, NULL);
    if (rc == GW_OK && strcmp(a, "demote") == 0) { /* Aug: RevokeAllUserSessions */
        gw_sql_arg v[2] = {GW_SQL_INT(u->now), GW_SQL_INT(u->id)};
        rc = gw_store_exec(st,
                           "UPDATE user_sessions SET status = 'revoked', revoked_at = ?, revoked_reason = "
                           "'admin_demote' WHERE user_id = ? AND status = 'active'",
                           v, 2, NULL);
    }
    if (rc != GW_OK)
        return rc;
    if (!(u->data = json_pack("{s:I, s:I}", "role", (json_int_t)role, "status", (json_int_t)status)))
        return GW_ENOMEM;
    return deleted ? GW_OK : gw__user_mirror(st, u, u->id, 0); /* no mirror of a deleted user */
}

void gw_api_user_manage(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (!u) {
        json_decref(body);
        return;
    }
    static const char *const actions[] = {"disable", "enable", "delete", "promote", "demote",
                                          "add_quota"};
    int rc = gw__user_int(u, body, "id", 1, ID_MAX, &u->id), bad = rc < 0, known = 0;
    if (rc == 0)
        bad = gw__ujob_failf(u, "user does not exist") == GW_OK;
    if (!bad && (rc = gw__user_str(u, body, "action", 16, u->action, sizeof u->action)) <= 0)
        bad = rc < 0 || gw__ujob_failf(u, "action is required") == GW_OK;
    for (size_t i = 0; !bad && i < sizeof actions / sizeof actions[0]; i++)
        known |= strcmp(u->action, actions[i]) == 0;
    if (!bad && !known)
        bad = gw__ujob_failf(u, "unknown action \"%s\"", u->action) == GW_OK;
    if (!bad && strcmp(u->action, "add_quota") == 0) {
        bad = gw__user_str(u, body, "mode", 15, u->mode, sizeof u->mode) < 0 ||
              gw__user_int(u, body, "value", -GW_USER_QUOTA_MAX, GW_USER_QUOTA_MAX, &u->value) < 0;
        int over = strcmp(u->mode, "override") == 0;
        if (!bad && !over && strcmp(u->mode, "add") != 0 && strcmp(u->mode, "subtract") != 0)
            bad = gw__ujob_failf(u, "mode must be add, subtract or override") == GW_OK;
        else if (!bad && !over && u->value <= 0)
            bad = gw__ujob_failf(u, "the quota change must be a positive number") == GW_OK;
        else if (!bad && over && u->value < 0)
            bad = gw__ujob_failf(u, "quota must not be negative") == GW_OK;
    }
    json_decref(body);
    if (bad)
        return gw__ujob_refuse(r, u, u->msg);
    gw__ujob_run(r, u, manage_work);
}
