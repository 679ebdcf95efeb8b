/* /api/user: registration and the caller's own account (reference
 * controller/user.go and model/user.go; Aug tree where the trees differ),
 * plus the job plumbing shared with users_admin.c (users.h).
 *
 *  POST   /api/user/register     gated by RegisterEnabled and
 *                                PasswordRegisterEnabled; quota QuotaForNewUser
 *                                (+ QuotaForInvitee with an inviter's aff_code)
 *  GET    /api/user/self         the reference's buildSelfUserData
 *  PUT    /api/user/self         sidebar_modules | language | username,
 *                                display_name, password (needs original_password
 *                                and a console session; answers a new access
 *                                token, other sessions are revoked). Role, quota
 *                                and status in the body are ignored.
 *  DELETE /api/user/self         soft delete; root cannot delete itself
 *  GET    /api/user/aff          the caller's aff code, created when missing
 *  GET    /api/user/self/models  enabled models of the caller's usable groups
 *  GET    /api/user/self/groups  usable groups with ratio and description
 *
 * Passwords are hashed and checked with bcrypt on the thread pool, inside the
 * SQL job; they never appear in an answer, nor does access_token. The job
 * plumbing shared with users_admin.c is in users_common.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "gateway/api/api.h"
#include "gateway/state/options.h"
#include "gateway/api/users.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/worker.h"

#define AFF_LEN 4
#define AFF_TRIES 8
#define MODELS_GROUPS_MAX 64

/* Trims ASCII whitespace in place (the reference trims usernames). */
static void trim(char *s)
{
    gw_str t = gw_str_trim(gw_str_c(s));
    memmove(s, t.base, t.len);
    s[t.len] = '\0';
}

/* ---- register ------------------------------------------------------------------ */

static int register_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    long long inviter = 0, id = 0;
    if (u->aff[0]) { /* the inviter's code; an unknown code is ignored, as in the reference */
        gw_rows *rows = NULL;
        gw_sql_arg a[1] = {GW_SQL_TEXT(u->aff)};
        int rc = gw_store_query(st, "SELECT id FROM users WHERE aff_code = ? AND deleted_at IS NULL",
                                a, 1, &rows);
        if (rc == GW_OK && gw_rows_count(rows) == 1)
            gw_rows_int(rows, 0, 0, &inviter);
        gw_rows_free(rows);
        if (rc != GW_OK)
            return rc;
    }
    long long quota = u->quota_new + (inviter ? u->quota_invitee : 0);
    int rc = gw__user_insert(st, u, 1, quota, inviter, &id);
    if (rc != GW_OK || u->fail)
        return rc;
    u->id = id;
    if (inviter && u->quota_inviter > 0) { /* reference inviteUser: affiliate credit, not quota */
        gw_sql_arg a[3] = {GW_SQL_INT(u->quota_inviter), GW_SQL_INT(u->quota_inviter),
                           GW_SQL_INT(inviter)};
        rc = gw_store_exec(st,
                           "UPDATE users SET aff_count = aff_count + 1, aff_quota = aff_quota + ?, "
                           "aff_history = aff_history + ? WHERE id = ?",
                           a, 3, NULL);
        if (rc != GW_OK)
            GW_WARN("register: inviter %lld not credited: %s", inviter, gw_store_errmsg(st));
    }
    return gw__user_mirror(st, u, id, 1); /* a new user: money fields too */
}

void gw_api_register(gw_req *r)
{
    struct gw_worker *w = r->worker;
    if (!gw_options_bool(w->cfgwatch, "RegisterEnabled", 1)) {
        gw_api_fail(r, "registration is disabled by the administrator");
        return;
    }
    if (!gw_options_bool(w->cfgwatch, "PasswordRegisterEnabled", 1)) {
        gw_api_fail(r, "registration with a password is disabled by the administrator");
        return;
    }
    if (gw_options_bool(w->cfgwatch, "EmailVerificationEnabled", 0)) {
        gw_api_fail(r, "registration needs email verification, which this gateway does not offer");
        return;
    }
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    struct gw__ujob *u = gw__ujob_new(r, NULL);
    if (!u) {
        json_decref(body);
        return;
    }
    int bad = gw__user_str(u, body, "username", GW_USER_NAME_MAX, u->username,
                           sizeof u->username) < 0 ||
              gw__user_str(u, body, "password", GW_USER_PW_MAX, u->password,
                           sizeof u->password) < 0 ||
              gw__user_str(u, body, "aff_code", 32, u->aff, sizeof u->aff) < 0 ||
              gw__user_str(u, body, "email", GW_USER_EMAIL_MAX, u->email, sizeof u->email) < 0;
    json_decref(body);
    if (bad)
        return gw__ujob_refuse(r, u, u->msg);
    u->email[0] = '\0'; /* stored only after a verification, which is not offered */
    trim(u->username);
    if (!u->username[0])
        return gw__ujob_refuse(r, u, "username is required");
    const char *why = gw__user_pw_check(u->password);
    if (why)
        return gw__ujob_refuse(r, u, why);
    u->quota_new = gw_options_int(w->cfgwatch, "QuotaForNewUser", 0);
    u->quota_invitee = gw_options_int(w->cfgwatch, "QuotaForInvitee", 0);
    u->quota_inviter = gw_options_int(w->cfgwatch, "QuotaForInviter", 0);
    gw__ujob_run(r, u, register_work);
}

/* ---- self ------------------------------------------------------------------------ */

static json_t *permissions(long long role)
{
    if (role >= 100)
        return json_pack("{s:b, s:{}}", "sidebar_settings", 0, "sidebar_modules");
    if (role >= 10)
        return json_pack("{s:b, s:{s:{s:b}}}", "sidebar_settings", 1, "sidebar_modules", "admin",
                         "setting", 0);
    return json_pack("{s:b, s:{s:b}}", "sidebar_settings", 1, "sidebar_modules", "admin", 0);
}

static int self_get_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    gw_rows *rows = NULL;
    int rc = gw__user_load(st, u->who.id, 0, &rows);
    if (rc != GW_OK || !rows)
        return rc != GW_OK ? rc : gw__ujob_failf(u, "user not found");
    json_t *o = gw__user_json(rows, 0);
    const char *setting = gw_rows_get(rows, 0, GW_UC_SETTING);
    json_t *s = setting && *setting ? gw_json_parse(setting, strlen(setting), 8, NULL, 0) : NULL;
    const char *side = json_string_value(json_object_get(s, "sidebar_modules"));
    gw_rows_free(rows);
    if (o) { /* buildSelfUserData: no remark, no DeletedAt */
        json_object_del(o, "remark");
        json_object_del(o, "DeletedAt");
        json_object_del(o, "created_at");
        json_object_del(o, "last_login_at");
        json_object_set_new(o, "sidebar_modules", json_string(side ? side : ""));
        json_object_set_new(o, "permissions", permissions(u->who.role));
    }
    json_decref(s);
    u->data = o;
    return o ? GW_OK : GW_ENOMEM;
}

void gw_api_self_get(gw_req *r, const struct gw_caller *who)
{
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (u)
        gw__ujob_run(r, u, self_get_work);
}

/* sidebar_modules / language live in the user's `setting` JSON. */
static int setting_work(gw_store *st, struct gw__ujob *u)
{
    gw_rows *rows = NULL;
    int rc = gw__user_load(st, u->who.id, 0, &rows);
    if (rc != GW_OK || !rows)
        return rc != GW_OK ? rc : gw__ujob_failf(u, "user not found");
    const char *cur = gw_rows_get(rows, 0, GW_UC_SETTING);
    json_t *s = cur && *cur ? gw_json_parse(cur, strlen(cur), 8, NULL, 0) : NULL;
    gw_rows_free(rows);
    if (!json_is_object(s)) {
        json_decref(s);
        s = json_object();
    }
    if (u->set & GW_UF_SIDEBAR)
        json_object_set_new(s, "sidebar_modules", json_string(u->sidebar));
    if (u->set & GW_UF_LANGUAGE)
        json_object_set_new(s, "language", json_string(u->language));
    char *text = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    if (!text)
        return GW_ENOMEM;
    gw_sql_arg a[2] = {GW_SQL_TEXT(text), GW_SQL_INT(u->who.id)};
    rc = gw_store_exec(st, "UPDATE users SET setting = ? WHERE id = ? AND deleted_at IS NULL", a,
                       2, NULL);
    gw_free(text); /* jansson allocates through gw_alloc (gw_json_init) */
    return rc;
}

/* The answer of a password change: a new access token for the current
 * session at the new auth_version (Aug AdvanceCurrentSessionToUserVersion). */
static int reissue(gw_store *st, struct gw__ujob *u, long long av)
{
    gw_rows *rows = NULL;
    char *jwt = NULL;
    long long exp = 0;
    gw_sql_arg a[1] = {GW_SQL_TEXT(u->who.sid)};
    int rc = gw_store_query(st,
                            "SELECT sid, login_method, ip, user_agent, created_at, last_active_at, "
                            "expires_at FROM user_sessions WHERE sid = ?",
                            a, 1, &rows);
    if (rc != GW_OK)
        return rc;
    static const struct gw_col spec[] = {
        {"created_at", GW_COL_INT}, {"last_active_at", GW_COL_INT}, {"expires_at", GW_COL_INT}};
    json_t *sess = gw_rows_count(rows) == 1 ? gw_api_row_json(rows, 0, spec, 3) : json_object();
    gw_rows_free(rows);
    if (sess)
        json_object_set_new(sess, "current", json_true());
    if (gw_auth_issue_access(u->cfg, u->who.id, u->who.sid, av, u->now, &jwt, &exp) != GW_OK ||
        !sess) {
        json_decref(sess);
        free(jwt);
        return GW_ENOMEM;
    }
    u->data = json_pack("{s:s, s:s, s:I, s:o}", "access_token", jwt, "token_type", "Bearer",
                        "access_expires_at", (json_int_t)exp, "session", sess);
    OPENSSL_cleanse(jwt, strlen(jwt));
    free(jwt); /* libjwt allocates with malloc */
    return u->data ? GW_OK : GW_ENOMEM;
}

/* Checks original_password and hashes the new one (bcrypt: before any
 * transaction, so no lock is held for its ~60 ms). */
static int password_check(gw_store *st, struct gw__ujob *u, char hash[64], long long *av)
{
    gw_rows *rows = NULL;
    gw_sql_arg a[1] = {GW_SQL_INT(u->who.id)};
    int rc = gw_store_query(st,
                            "SELECT password, auth_version FROM users WHERE id = ? AND "
                            "deleted_at IS NULL",
                            a, 1, &rows);
    if (rc != GW_OK)
        return rc;
    const char *cur = gw_rows_count(rows) == 1 ? gw_rows_get(rows, 0, 0) : NULL;
    *av = 1;
    gw_rows_int(rows, 0, 1, av);
    int unset = !cur || !*cur;
    int ok = !unset && gw_bcrypt_verify(u->original, cur) == GW_OK;
    gw_rows_free(rows);
    if (unset)
        return gw__ujob_failf(u, "this account has no password yet");
    if (!ok)
        return gw__ujob_failf(u, "the original password is incorrect");
    return gw_bcrypt_hash(u->password, GW_USER_BCRYPT_COST, hash) == GW_OK ? GW_OK : GW_EIO;
}

/* Sets the password and moves auth_version on: every other session ends, the
 * current one follows the new version. In the caller's transaction. */
static int password_set(gw_store *st, struct gw__ujob *u, const char *hash, long long av)
{
    gw_sql_arg p[4] = {GW_SQL_TEXT(hash), GW_SQL_INT(av), GW_SQL_INT(u->who.id),
                       GW_SQL_INT(av - 1)};
    long long n = 0;
    int rc = gw_store_exec(st,
                           "UPDATE users SET password = ?, auth_version = ? WHERE id = ? AND "
                           "auth_version = ?",
                           p, 4, &n);
    if (rc == GW_OK && n != 1)
        return gw__ujob_failf(u, "the account changed meanwhile, try again");
    gw_sql_arg s[3] = {GW_SQL_INT(u->now), GW_SQL_INT(u->who.id), GW_SQL_TEXT(u->who.sid)};
    if (rc == GW_OK)
        rc = gw_store_exec(st,
                           "UPDATE user_sessions SET status = 'revoked', revoked_at = ?, revoked_reason = "
                           "'password_changed' WHERE user_id = ? AND sid <> ? AND status = 'active'",
                           s, 3, NULL);
    if (rc == GW_OK) {
        gw_sql_arg c[2] = {GW_SQL_INT(av), GW_SQL_TEXT(u->who.sid)};
        rc = gw_store_exec(st, "UPDATE user_sessions SET user_auth_version = ? WHERE sid = ?", c,
                           2, NULL);
    }
    return rc;
}

static int self_update_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    char hash[64] = "";
    long long av = 0;
    int rc;
    if (u->set & (GW_UF_SIDEBAR | GW_UF_LANGUAGE))
        return setting_work(st, u);
    if ((u->set & GW_UF_PASSWORD) &&
        ((rc = password_check(st, u, hash, &av)) != GW_OK || u->fail))
        return rc;
    av++;
    rc = gw_store_begin(st);
    if (rc == GW_OK && (u->set & GW_UF_PASSWORD))
        rc = password_set(st, u, hash, av);
    OPENSSL_cleanse(hash, sizeof hash);
    if (rc == GW_OK && !u->fail && (u->set & (GW_UF_USERNAME | GW_UF_DISPLAY))) {
        gw_sql_arg a[5] = {GW_SQL_TEXT(u->username), GW_SQL_TEXT(u->username),
                           GW_SQL_TEXT(u->display), GW_SQL_TEXT(u->display),
                           GW_SQL_INT(u->who.id)};
        rc = gw_store_exec(st,
                           "UPDATE users SET username = CASE WHEN ? = '' THEN username ELSE ? END, "
                           "display_name = CASE WHEN ? = '' THEN display_name ELSE ? END "
                           "WHERE id = ? AND deleted_at IS NULL",
                           a, 5, NULL);
        if (rc == GW_ECONFLICT) {
            gw_store_rollback(st);
            return gw__ujob_failf(u, "username \"%s\" is already taken", u->username);
        }
    }
    if (rc == GW_OK && !u->fail)
        rc = gw_store_commit(st);
    if (rc != GW_OK || u->fail) {
        gw_store_rollback(st);
        return rc;
    }
    if ((u->set & GW_UF_PASSWORD) && (rc = reissue(st, u, av)) != GW_OK)
        return rc;
    return gw__user_mirror(st, u, u->who.id, 0);
}

void gw_api_self_update(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (!u) {
        json_decref(body);
        return;
    }
    int bad;
    const json_t *side = json_object_get(body, "sidebar_modules");
    const json_t *lang = json_object_get(body, "language");
    if (side || lang) { /* settings only, as the reference's UpdateSelf */
        bad = (side && gw__user_str(u, body, "sidebar_modules", sizeof u->sidebar - 1,
                                    u->sidebar, sizeof u->sidebar) < 0) ||
              (!side && gw__user_str(u, body, "language", sizeof u->language - 1, u->language,
                                     sizeof u->language) < 0);
        u->set |= side ? GW_UF_SIDEBAR : GW_UF_LANGUAGE;
    } else {
        bad = gw__user_str(u, body, "username", GW_USER_NAME_MAX, u->username,
                           sizeof u->username) < 0 ||
              gw__user_str(u, body, "display_name", GW_USER_NAME_MAX, u->display,
                           sizeof u->display) < 0 ||
              gw__user_str(u, body, "password", GW_USER_PW_MAX, u->password,
                           sizeof u->password) < 0 ||
              gw__user_str(u, body, "original_password", GW_USER_PW_MAX * 4, u->original,
                           sizeof u->original) < 0;
    }
    json_decref(body);
    if (bad)
        return gw__ujob_refuse(r, u, u->msg);
    if (u->set)
        return gw__ujob_run(r, u, self_update_work);
    trim(u->username);
    if (u->username[0])
        u->set |= GW_UF_USERNAME;
    if (u->display[0])
        u->set |= GW_UF_DISPLAY;
    if (u->password[0]) {
        const char *why = gw__user_pw_check(u->password);
        if (why)
            return gw__ujob_refuse(r, u, why);
        if (!who->sid[0])
            return gw__ujob_refuse(r, u, "changing the password needs a console session: "
                                         "sign in with the password, not an access token");
        u->set |= GW_UF_PASSWORD;
    }
    if (!u->set)
        return gw__ujob_refuse(r, u, "nothing to update: send display_name, username or password");
    gw__ujob_run(r, u, self_update_work);
}

static int self_delete_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    long long n = 0;
    gw_sql_arg a[1] = {GW_SQL_INT(u->who.id)};
    int rc = gw_store_begin(st);
    if (rc == GW_OK)
        rc = gw_store_exec(st,
                           "UPDATE users SET deleted_at = CURRENT_TIMESTAMP WHERE id = ? AND "
                           "deleted_at IS NULL AND role < 100",
                           a, 1, &n);
    if (rc == GW_OK && n == 1) {
        gw_sql_arg s[2] = {GW_SQL_INT(u->now), GW_SQL_INT(u->who.id)};
        rc = gw_store_exec(st,
                           "UPDATE user_sessions SET status = 'revoked', revoked_at = ?, revoked_reason = "
                           "'user_deleted' WHERE user_id = ? AND status = 'active'",
                           s, 2, NULL);
    }
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    if (rc != GW_OK) {
        gw_store_rollback(st);
        return rc;
    }
    if (n != 1)
        return gw__ujob_failf(u, "the root user cannot be deleted");
    return gw__user_unmirror(st, u, u->who.id);
}

void gw_api_self_delete(gw_req *r, const struct gw_caller *who)
{
    if (who->role >= 100) {
        gw_api_fail(r, "the root user cannot be deleted");
        return;
    }
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (u)
        gw__ujob_run(r, u, self_delete_work);
}

static int aff_work(gw_store *st, void *ctx)
{
    struct gw__ujob *u = ctx;
    char code[AFF_LEN + 1];
    for (int i = 0; i <= AFF_TRIES; i++) {
        gw_rows *rows = NULL;
        int rc = gw__user_load(st, u->who.id, 0, &rows);
        if (rc != GW_OK || !rows)
            return rc != GW_OK ? rc : gw__ujob_failf(u, "user not found");
        const char *cur = gw_rows_get(rows, 0, GW_UC_AFF);
        if (cur && *cur) {
            u->data = json_string(cur);
            gw_rows_free(rows);
            return u->data ? GW_OK : GW_ENOMEM;
        }
        gw_rows_free(rows);
        if (i == AFF_TRIES || gw_random_alnum(code, AFF_LEN) != GW_OK)
            break;
        gw_sql_arg a[2] = {GW_SQL_TEXT(code), GW_SQL_INT(u->who.id)};
        rc = gw_store_exec(st,
                           "UPDATE users SET aff_code = ? WHERE id = ? AND (aff_code IS NULL OR "
                           "aff_code = '')",
                           a, 2, NULL);
        if (rc != GW_OK && rc != GW_ECONFLICT) /* a taken code: draw another */
            return rc;
    }
    return gw__ujob_failf(u, "could not create an affiliate code, try again");
}

void gw_api_self_aff(gw_req *r, const struct gw_caller *who)
{
    struct gw__ujob *u = gw__ujob_new(r, who);
    if (u)
        gw__ujob_run(r, u, aff_work);
}

/* ---- models and groups --------------------------------------------------------- */

struct models_job {
    char *groups[MODELS_GROUPS_MAX];
    size_t n;
    json_t *data;
};

static int models_work(gw_store *st, void *ctx)
{
    struct models_job *m = ctx;
    gw_sql_arg a[MODELS_GROUPS_MAX];
    char sql[160 + 2 * MODELS_GROUPS_MAX];
    size_t k = (size_t)snprintf(sql, sizeof sql,
                                "SELECT DISTINCT model FROM abilities WHERE enabled = TRUE AND "
                                "`group` IN (");
    for (size_t i = 0; i < m->n; i++) {
        memcpy(sql + k, i ? ",?" : "?", i ? 3 : 2);
        k += i ? 2 : 1;
        a[i] = GW_SQL_TEXT(m->groups[i]);
    }
    snprintf(sql + k, sizeof sql - k, ") ORDER BY model");
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, sql, a, m->n, &rows);
    if (rc != GW_OK)
        return rc;
    m->data = json_array();
    for (size_t i = 0; m->data && i < gw_rows_count(rows); i++) {
        json_t *s = json_string(gw_rows_get(rows, i, 0) ? gw_rows_get(rows, i, 0) : "");
        if (s)
            json_array_append_new(m->data, s);
    }
    gw_rows_free(rows);
    return m->data ? GW_OK : GW_ENOMEM;
}

static void models_free(struct models_job *m)
{
    for (size_t i = 0; i < m->n; i++)
        gw_free(m->groups[i]);
    json_decref(m->data);
    gw_free(m);
}

static void models_done(gw_req *r, int rc, void *ctx)
{
    struct models_job *m = ctx;
    if (rc != GW_OK) {
        gw_api_fail(r, gw_api_store_msg(rc));
    } else {
        gw_api_ok(r, m->data);
        m->data = NULL;
    }
    models_free(m);
}

void gw_api_self_models(gw_req *r, const struct gw_caller *who)
{
    json_t *usable = gw__usable_groups(r->worker, who->group);
    struct models_job *m = usable ? gw_calloc(1, sizeof *m) : NULL;
    const char *g;
    json_t *v;
    if (!m) {
        json_decref(usable);
        gw_api_fail(r, "out of memory");
        return;
    }
    json_object_foreach(usable, g, v) {
        if (m->n < MODELS_GROUPS_MAX && (m->groups[m->n] = gw_strdup(g)))
            m->n++;
    }
    json_decref(usable);
    if (m->n == 0) {
        models_free(m);
        gw_api_ok(r, json_array());
        return;
    }
    if (gw_api_sql(r, models_work, models_done, m) != GW_OK) {
        models_free(m);
        gw_api_fail(r, "internal error");
    }
}

void gw_api_self_groups(gw_req *r, const struct gw_caller *who)
{
    json_t *d = gw__groups_answer(r->worker, who->group);
    if (d)
        gw_api_ok(r, d);
    else
        gw_api_fail(r, "out of memory");
}
