/* Console sign-in (reference Aug tree): password login issuing a 15-minute
 * access JWT and a rotating refresh cookie `new_api_refresh` (HttpOnly,
 * SameSite=Strict, Path=/api/user/auth); refresh with rotation and reuse
 * detection; logout; session listing and revocation; personal access tokens.
 * Only HMACs of refresh secrets are stored (user_sessions.refresh_hash). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/worker.h"

#define COOKIE "new_api_refresh"
#define SECRET_LEN 43

struct sess {
    const struct gw_config *cfg;
    /* input */
    char username[128], password[128];
    char cookie[160];     /* "<sid>.<secret>" */
    char ip[64], ua[256];
    struct gw_caller who; /* authed routes */
    char target_sid[65];
    /* output */
    const char *fail;
    int deny;             /* 401 instead of an envelope error */
    long long uid, role, status, auth_version, now, expires_at, access_exp, created_at;
    char display[128], uname[64], group[65], sid[65], secret[SECRET_LEN + 1];
    char *jwt;
    char pat[33];
    json_t *list;
};

static void refresh_hash(const struct gw_config *cfg, const char *secret, char out[65])
{
    unsigned char key[32], mac[32];
    gw_auth_key(cfg, "refresh", key);
    gw_hmac_sha256(key, sizeof key, secret, strlen(secret), mac);
    gw_hex_encode(mac, sizeof mac, out);
    OPENSSL_cleanse(key, sizeof key);
}

static void sess_free(struct sess *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s->password, sizeof s->password);
    OPENSSL_cleanse(s->secret, sizeof s->secret);
    free(s->jwt); /* libjwt allocates with malloc */
    json_decref(s->list);
    gw_free(s);
}

static struct sess *sess_new(gw_req *r)
{
    struct sess *s = gw_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = r->worker->cfg;
    s->now = (long long)time(NULL);
    snprintf(s->ip, sizeof s->ip, "%s", gw_req_peer(r));
    const char *ua = gw_req_header(r, "user-agent");
    snprintf(s->ua, sizeof s->ua, "%s", ua ? ua : "");
    return s;
}

/* New refresh secret for session s->sid; the caller stores its hash. */
static void new_secret(struct sess *s) { gw_random_alnum(s->secret, SECRET_LEN); }

static int issue(struct sess *s)
{
    return gw_auth_issue_access(s->cfg, s->uid, s->sid, s->auth_version, s->now, &s->jwt,
                                &s->access_exp);
}

static void set_cookie(gw_req *r, const struct sess *s, int clear)
{
    const char *v = clear ? gw_arena_printf(r->arena,
                                            COOKIE "=; Path=/api/user/auth; Max-Age=0; HttpOnly; "
                                                   "SameSite=Strict%s",
                                            s->cfg->session_cookie_secure ? "; Secure" : "")
                          : gw_arena_printf(r->arena,
                                            COOKIE "=%s.%s; Path=/api/user/auth; Max-Age=%d; "
                                                   "HttpOnly; SameSite=Strict%s",
                                            s->sid, s->secret, GW_REFRESH_TTL_S,
                                            s->cfg->session_cookie_secure ? "; Secure" : "");
    if (v)
        gw_resp_header(r, "set-cookie", v);
}

/* The login/refresh answer: the Aug tree's fields, plus the user's fields at
 * the top level as older consoles read them. */
static void answer_session(gw_req *r, struct sess *s)
{
    json_t *user = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s}", "id", (json_int_t)s->uid, "username",
                             s->uname, "display_name", s->display, "role", (json_int_t)s->role,
                             "status", (json_int_t)s->status, "group", s->group);
    json_t *d = json_pack(
        "{s:s, s:s, s:I, s:O, s:{s:s, s:b, s:s, s:s, s:s, s:I, s:I, s:I}}", "access_token",
        s->jwt, "token_type", "Bearer", "access_expires_at", (json_int_t)s->access_exp, "user",
        user, "session", "sid", s->sid, "current", 1, "login_method", "password", "ip", s->ip,
        "user_agent", s->ua, "created_at", (json_int_t)s->created_at, "last_active_at",
        (json_int_t)s->now, "expires_at", (json_int_t)s->expires_at);
    if (d)
        json_object_update(d, user);
    json_decref(user);
    set_cookie(r, s, 0);
    gw_api_ok(r, d);
}

static void copy_col(char *dst, size_t cap, const gw_rows *rows, size_t col)
{
    const char *v = gw_rows_get(rows, 0, col);
    snprintf(dst, cap, "%s", v ? v : "");
}

/* ---- login ---------------------------------------------------------------- */

static int insert_session(gw_store *st, struct sess *s, const char *method)
{
    unsigned char rnd[16];
    char hash[65];
    gw_random_bytes(rnd, sizeof rnd);
    gw_hex_encode(rnd, sizeof rnd, s->sid);
    new_secret(s);
    refresh_hash(s->cfg, s->secret, hash);
    s->created_at = s->now;
    s->expires_at = s->now + GW_REFRESH_TTL_S;
    gw_sql_arg a[10] = {GW_SQL_TEXT(s->sid),      GW_SQL_INT(s->uid),   GW_SQL_INT(s->auth_version),
                        GW_SQL_TEXT(hash),        GW_SQL_TEXT(method),  GW_SQL_TEXT(s->ip),
                        GW_SQL_TEXT(s->ua),       GW_SQL_INT(s->now),   GW_SQL_INT(s->now),
                        GW_SQL_INT(s->expires_at)};
    return gw_store_exec(st,
                         "INSERT INTO user_sessions (sid, user_id, version, user_auth_version, "
                         "status, refresh_hash, login_method, ip, user_agent, created_at, "
                         "last_active_at, expires_at) VALUES (?, ?, 1, ?, 'active', ?, ?, ?, ?, ?, ?, ?)",
                         a, 10, NULL);
}

/* A real bcrypt hash to verify against when the user does not exist, so the
 * answer takes as long as for a wrong password. */
static char dummy_hash[GW_BCRYPT_LEN + 4];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    char pw[17];
    gw_random_alnum(pw, 16);
    if (gw_bcrypt_hash(pw, 10, dummy_hash) != GW_OK)
        dummy_hash[0] = '\0';
}

static int login_work(gw_store *st, void *ctx)
{
    struct sess *s = ctx;
    gw_rows *rows = NULL;
    gw_sql_arg a[2] = {GW_SQL_TEXT(s->username), GW_SQL_TEXT(s->username)};
    int rc = gw_store_query(st,
                            "SELECT id, username, password, display_name, role, status, `group`, "
                            "auth_version FROM users WHERE (username = ? OR (email = ? AND email "
                            "<> '')) AND deleted_at IS NULL",
                            a, 2, &rows);
    if (rc != GW_OK)
        return rc;
    /* Verify even when the user is missing, so timing does not reveal names. */
    pthread_once(&dummy_once, make_dummy);
    const char *hash = gw_rows_count(rows) == 1 ? gw_rows_get(rows, 0, 2) : dummy_hash;
    int ok = gw_bcrypt_verify(s->password, hash ? hash : dummy_hash) == GW_OK &&
             gw_rows_count(rows) == 1;
    if (!ok) {
        gw_rows_free(rows);
        s->fail = "username or password is wrong";
        return GW_OK;
    }
    gw_rows_int(rows, 0, 0, &s->uid);
    copy_col(s->uname, sizeof s->uname, rows, 1);
    copy_col(s->display, sizeof s->display, rows, 3);
    gw_rows_int(rows, 0, 4, &s->role);
    gw_rows_int(rows, 0, 5, &s->status);
    copy_col(s->group, sizeof s->group, rows, 6);
    s->auth_version = 1;
    gw_rows_int(rows, 0, 7, &s->auth_version);
    gw_rows_free(rows);
    if (s->status != 1) {
        s->fail = "this user has been disabled";
        return GW_OK;
    }
    if ((rc = insert_session(st, s, "password")) != GW_OK)
        return rc;
    gw_sql_arg u[2] = {GW_SQL_INT(s->now), GW_SQL_INT(s->uid)};
    gw_store_exec(st, "UPDATE users SET last_login_at = ? WHERE id = ?", u, 2, NULL);
    return issue(s);
}

static void login_done(gw_req *r, int rc, void *ctx)
{
    struct sess *s = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (s->fail)
        gw_api_fail(r, s->fail);
    else
        answer_session(r, s);
    sess_free(s);
}

void gw_api_login(gw_req *r)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    const char *u = json_string_value(json_object_get(body, "username"));
    const char *p = json_string_value(json_object_get(body, "password"));
    struct sess *s = NULL;
    if (!u || !*u || !p || !*p)
        gw_api_fail(r, "username and password are required");
    else if (strlen(u) >= 128 || strlen(p) >= 128)
        gw_api_fail(r, "username or password is wrong");
    else if (!(s = sess_new(r)))
        gw_api_fail(r, "out of memory");
    else {
        snprintf(s->username, sizeof s->username, "%s", u);
        snprintf(s->password, sizeof s->password, "%s", p);
        if (gw_api_sql(r, login_work, login_done, s) != GW_OK) {
            sess_free(s);
            gw_api_fail(r, "internal error");
        }
    }
    json_decref(body);
}

void gw_api_login_2fa(gw_req *r) { gw_api_todo(r); }

/* ---- refresh and logout ------------------------------------------------------ */

/* Finds "new_api_refresh=<sid>.<secret>" in the Cookie header. */
static int read_cookie(gw_req *r, struct sess *s)
{
    const char *c = gw_req_header(r, "cookie");
    gw_str rest = gw_str_c(c), tok;
    while (c && gw_str_split(&rest, ';', &tok)) {
        tok = gw_str_trim(tok);
        size_t n = sizeof COOKIE; /* name plus '=' */
        if (tok.len > n && memcmp(tok.base, COOKIE "=", n) == 0 && tok.len - n < sizeof s->cookie) {
            memcpy(s->cookie, tok.base + n, tok.len - n);
            s->cookie[tok.len - n] = '\0';
            char *dot = strchr(s->cookie, '.');
            if (!dot || dot - s->cookie >= (long)sizeof s->sid || strlen(dot + 1) > SECRET_LEN)
                return GW_EINVAL;
            memcpy(s->sid, s->cookie, (size_t)(dot - s->cookie));
            s->sid[dot - s->cookie] = '\0';
            snprintf(s->secret, sizeof s->secret, "%s", dot + 1);
            return GW_OK;
        }
    }
    return GW_ENOTFOUND;
}

/* GW_ENOTFOUND when uid has no such active session (another user's sid
 * included): nothing was revoked. */
static int revoke_session(gw_store *st, const char *sid, long long uid, const char *why, long long now)
{
    gw_sql_arg a[4] = {GW_SQL_INT(now), GW_SQL_TEXT(why), GW_SQL_TEXT(sid), GW_SQL_INT(uid)};
    long long n = 0;
    int rc = gw_store_exec(st,
                           "UPDATE user_sessions SET status = 'revoked', revoked_at = ?, "
                           "revoked_reason = ? WHERE sid = ? AND user_id = ? AND status = 'active'",
                           a, 4, &n);
    return rc == GW_OK && n != 1 ? GW_ENOTFOUND : rc;
}

static int refresh_work(gw_store *st, void *ctx)
{
    struct sess *s = ctx;
    gw_rows *rows = NULL;
    char presented[65], fresh[65];
    long long uav = 0;
    refresh_hash(s->cfg, s->secret, presented);
    gw_sql_arg a[1] = {GW_SQL_TEXT(s->sid)};
    int rc = gw_store_query(st,
                            "SELECT s.user_id, s.refresh_hash, s.previous_refresh_hash, s.status, "
                            "s.expires_at, s.user_auth_version, s.created_at, u.username, "
                            "u.display_name, u.role, u.status, u.`group`, u.auth_version FROM "
                            "user_sessions s JOIN users u ON u.id = s.user_id AND u.deleted_at IS "
                            "NULL WHERE s.sid = ?",
                            a, 1, &rows);
    if (rc != GW_OK)
        return rc;
    s->deny = 1;
    s->fail = "session revoked or expired, sign in again";
    if (gw_rows_count(rows) != 1)
        goto out;
    const char *cur = gw_rows_get(rows, 0, 1), *prev = gw_rows_get(rows, 0, 2);
    gw_rows_int(rows, 0, 0, &s->uid);
    const char *st_status = gw_rows_get(rows, 0, 3);
    gw_rows_int(rows, 0, 4, &s->expires_at);
    gw_rows_int(rows, 0, 5, &uav);
    gw_rows_int(rows, 0, 6, &s->created_at);
    copy_col(s->uname, sizeof s->uname, rows, 7);
    copy_col(s->display, sizeof s->display, rows, 8);
    gw_rows_int(rows, 0, 9, &s->role);
    gw_rows_int(rows, 0, 10, &s->status);
    copy_col(s->group, sizeof s->group, rows, 11);
    gw_rows_int(rows, 0, 12, &s->auth_version);
    if (!st_status || strcmp(st_status, "active") != 0 || s->expires_at <= s->now)
        goto out;
    if (prev && gw_ct_equal(prev, presented, 64) && !(cur && gw_ct_equal(cur, presented, 64))) {
        /* A rotated-out secret came back: someone else holds the newer one. */
        revoke_session(st, s->sid, s->uid, "refresh_reuse", s->now);
        goto out;
    }
    if (!cur || strlen(cur) != 64 || !gw_ct_equal(cur, presented, 64) || s->status != 1 ||
        uav != s->auth_version)
        goto out;
    new_secret(s);
    refresh_hash(s->cfg, s->secret, fresh);
    gw_sql_arg u[5] = {GW_SQL_TEXT(presented), GW_SQL_TEXT(fresh), GW_SQL_INT(s->now),
                       GW_SQL_TEXT(s->sid), GW_SQL_TEXT(presented)};
    long long n = 0;
    rc = gw_store_exec(st,
                       "UPDATE user_sessions SET previous_refresh_hash = ?, refresh_hash = ?, "
                       "last_active_at = ?, version = version + 1 WHERE sid = ? AND refresh_hash = ?",
                       u, 5, &n);
    if (rc != GW_OK || n != 1) /* a concurrent refresh won */
        goto out;
    s->deny = 0;
    s->fail = NULL;
    rc = issue(s);
out:
    gw_rows_free(rows);
    return rc;
}

static void refresh_done(gw_req *r, int rc, void *ctx)
{
    struct sess *s = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (s->deny) {
        set_cookie(r, s, 1);
        gw_api_deny(r, 401, "AUTH_SESSION_REVOKED", s->fail);
    } else
        answer_session(r, s);
    sess_free(s);
}

void gw_api_refresh(gw_req *r)
{
    struct sess *s = sess_new(r);
    if (!s) {
        gw_api_fail(r, "out of memory");
        return;
    }
    if (read_cookie(r, s) != GW_OK) {
        sess_free(s);
        gw_api_deny(r, 401, "AUTH_UNAUTHORIZED", "no refresh cookie");
        return;
    }
    if (gw_api_sql(r, refresh_work, refresh_done, s) != GW_OK) {
        sess_free(s);
        gw_api_fail(r, "internal error");
    }
}

static int logout_work(gw_store *st, void *ctx)
{
    struct sess *s = ctx;
    char presented[65];
    refresh_hash(s->cfg, s->secret, presented);
    gw_sql_arg a[3] = {GW_SQL_INT(s->now), GW_SQL_TEXT(s->sid), GW_SQL_TEXT(presented)};
    return gw_store_exec(st,
                         "UPDATE user_sessions SET status = 'revoked', revoked_at = ?, revoked_reason = "
                         "'logout' WHERE sid = ? AND refresh_hash = ?",
                         a, 3, NULL);
}

static void logout_done(gw_req *r, int rc, void *ctx)
{
    struct sess *s = ctx;
    set_cookie(r, s, 1);
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else
        gw_api_ok(r, NULL);
    sess_free(s);
}

void gw_api_logout(gw_req *r)
{
    struct sess *s = sess_new(r);
    if (!s) {
        gw_api_fail(r, "out of memory");
        return;
    }
    if (read_cookie(r, s) != GW_OK) { /* nothing to revoke: still clear the cookie */
        set_cookie(r, s, 1);
        gw_api_ok(r, NULL);
        sess_free(s);
        return;
    }
    if (gw_api_sql(r, logout_work, logout_done, s) != GW_OK) {
        sess_free(s);
        gw_api_fail(r, "internal error");
    }
}

/* ---- sessions of the signed-in user ---------------------------------------- */

static const struct gw_col session_cols[] = {
    {"created_at", GW_COL_INT}, {"last_active_at", GW_COL_INT}, {"expires_at", GW_COL_INT}};

static int list_work(gw_store *st, void *ctx)
{
    struct sess *s = ctx;
    gw_rows *rows = NULL;
    gw_sql_arg a[2] = {GW_SQL_INT(s->who.id), GW_SQL_INT(s->now)};
    int rc = gw_store_query(st,
                            "SELECT sid, login_method, ip, user_agent, created_at, last_active_at, "
                            "expires_at FROM user_sessions WHERE user_id = ? AND status = 'active' AND "
                            "expires_at > ? ORDER BY last_active_at DESC",
                            a, 2, &rows);
    if (rc != GW_OK)
        return rc;
    s->list = gw_api_rows_json(rows, session_cols, 3);
    size_t i;
    json_t *o;
    json_array_foreach(s->list, i, o)
    {
        const char *sid = json_string_value(json_object_get(o, "sid"));
        json_object_set_new(o, "current", json_boolean(sid && strcmp(sid, s->who.sid) == 0));
    }
    gw_rows_free(rows);
    return GW_OK;
}

static void list_done(gw_req *r, int rc, void *ctx)
{
    struct sess *s = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else {
        gw_api_ok(r, s->list);
        s->list = NULL;
    }
    sess_free(s);
}

static void simple_done(gw_req *r, int rc, void *ctx)
{
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else
        gw_api_ok(r, NULL);
    sess_free(ctx);
}

static int revoke_one_work(gw_store *st, void *ctx)
{
    struct sess *s = ctx;
    if (!s->target_sid[0]) /* none, or longer than any sid: never cut to match one */
        return GW_ENOTFOUND;
    return revoke_session(st, s->target_sid, s->who.id, "user", s->now);
}

/* As the reference's DeleteLoginSession: 404 AUTH_SESSION_NOT_FOUND when the
 * caller has no such active session, so another user's sid is not revoked
 * and does not look revoked. */
static void revoke_one_done(gw_req *r, int rc, void *ctx)
{
    if (rc == GW_ENOTFOUND)
        gw_api_deny(r, 404, "AUTH_SESSION_NOT_FOUND", "session not found");
    else
        simple_done(r, rc, NULL);
    sess_free(ctx);
}

static int revoke_others_work(gw_store *st, void *ctx)
{
    struct sess *s = ctx;
    gw_sql_arg a[3] = {GW_SQL_INT(s->now), GW_SQL_INT(s->who.id), GW_SQL_TEXT(s->who.sid)};
    return gw_store_exec(st,
                         "UPDATE user_sessions SET status = 'revoked', revoked_at = ?, revoked_reason = "
                         "'revoke_others' WHERE user_id = ? AND sid <> ? AND status = 'active'",
                         a, 3, NULL);
}

static int pat_work(gw_store *st, void *ctx)
{
    struct sess *s = ctx;
    gw_random_alnum(s->pat, 32);
    gw_sql_arg a[2] = {GW_SQL_TEXT(s->pat), GW_SQL_INT(s->who.id)};
    return gw_store_exec(st, "UPDATE users SET access_token = ? WHERE id = ?", a, 2, NULL);
}

static void pat_done(gw_req *r, int rc, void *ctx)
{
    struct sess *s = ctx;
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else
        gw_api_ok(r, json_string(s->pat));
    sess_free(s);
}

static void run_authed(gw_req *r, const struct gw_caller *who, gw_api_sql_cb work,
                       gw_api_done_cb done)
{
    struct sess *s = sess_new(r);
    if (!s) {
        gw_api_fail(r, "out of memory");
        return;
    }
    s->who = *who;
    if (r->nparams > 0 && r->params[0].len < sizeof s->target_sid &&
        !memchr(r->params[0].base, 0, r->params[0].len)) {
        memcpy(s->target_sid, r->params[0].base, r->params[0].len);
        s->target_sid[r->params[0].len] = '\0';
    }
    if (gw_api_sql(r, work, done, s) != GW_OK) {
        sess_free(s);
        gw_api_fail(r, "internal error");
    }
}

void gw_api_sessions_list(gw_req *r, const struct gw_caller *who)
{
    run_authed(r, who, list_work, list_done);
}

void gw_api_sessions_revoke(gw_req *r, const struct gw_caller *who)
{
    run_authed(r, who, revoke_one_work, revoke_one_done);
}

void gw_api_sessions_revoke_others(gw_req *r, const struct gw_caller *who)
{
    run_authed(r, who, revoke_others_work, simple_done);
}

void gw_api_access_token(gw_req *r, const struct gw_caller *who)
{
    run_authed(r, who, pat_work, pat_done);
}
