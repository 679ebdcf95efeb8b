#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/alloc.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/worker.h"

#define JWT_ISS "new-api"
#define JWT_AUD "new-api-dashboard"

void gw_auth_key(const struct gw_config *cfg, const char *purpose, unsigned char out[32])
{
    char label[64];
    snprintf(label, sizeof label, "new-api/auth/%s/v1", purpose);
    gw_hmac_sha256(cfg->session_secret, strlen(cfg->session_secret), label, strlen(label), out);
}

int gw_auth_issue_access(const struct gw_config *cfg, long long uid, const char *sid,
                         long long auth_version, long long now, char **out,
                         long long *expires_at)
{
    unsigned char key[32];
    char sub[24];
    jwt_t *j = NULL;
    gw_auth_key(cfg, "access", key);
    snprintf(sub, sizeof sub, "%lld", uid);
    *out = NULL;
    *expires_at = now + GW_ACCESS_TTL_S;
    if (jwt_new(&j) != 0)
        return GW_ENOMEM;
    int bad = jwt_add_grant(j, "iss", JWT_ISS) || jwt_add_grant(j, "aud", JWT_AUD) ||
              jwt_add_grant(j, "sub", sub) || jwt_add_grant(j, "sid", sid) ||
              jwt_add_grant(j, "token_use", "access") ||
              jwt_add_grant_int(j, "uv", (long)auth_version) ||
              jwt_add_grant_int(j, "iat", (long)now) ||
              jwt_add_grant_int(j, "exp", (long)*expires_at) ||
              jwt_set_alg(j, JWT_ALG_HS256, key, sizeof key);
    if (!bad)
        *out = jwt_encode_str(j);
    jwt_free(j);
    OPENSSL_cleanse(key, sizeof key);
    return *out ? GW_OK : GW_ENOMEM;
}

/* ---- verification --------------------------------------------------------- */

struct auth_job {
    int optional; /* gw_api_try_auth: failures call cb with NULL */
    int openai;   /* gw_api_auth_relay: OpenAI-shaped refusals, console sessions only */
    int min_role;
    gw_authed_cb cb;
    /* input */
    long long uid, uv;
    char sid[65];
    char pat[129];
    long long claimed_user; /* New-Api-User, 0 when absent */
    /* output */
    struct gw_caller who;
    int found, session_ok;
};

static int fit(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        return GW_ETOOBIG;
    memcpy(dst, v, n + 1);
    return GW_OK;
}

static int lookup(gw_store *st, void *ctx)
{
    struct auth_job *a = ctx;
    gw_rows *rows = NULL;
    long long now = (long long)time(NULL);
    int rc;
    if (a->pat[0]) {
        gw_sql_arg arg[1] = {GW_SQL_TEXT(a->pat)};
        rc = gw_store_query(st,
                            "SELECT id, username, role, status, `group`, auth_version FROM users "
                            "WHERE access_token = ? AND deleted_at IS NULL",
                            arg, 1, &rows);
        a->session_ok = 1;
    } else {
        gw_sql_arg arg[3] = {GW_SQL_TEXT(a->sid), GW_SQL_INT(now), GW_SQL_INT(a->uid)};
        rc = gw_store_query(st,
                            "SELECT u.id, u.username, u.role, u.status, u.`group`, "
                            "u.auth_version, s.sid FROM users u LEFT JOIN user_sessions s ON "
                            "s.sid = ? AND s.user_id = u.id AND s.status = 'active' AND s.expires_at > ? "
                            "WHERE u.id = ? AND u.deleted_at IS NULL",
                            arg, 3, &rows);
    }
    if (rc != GW_OK)
        return rc;
    if (gw_rows_count(rows) == 1) {
        long long v = 0;
        a->found = 1;
        gw_rows_int(rows, 0, 0, &a->who.id);
        /* Never cut to fit: a cut group would name another group (token
         * groups are checked against it). Such a row is refused. */
        const char *name = gw_rows_get(rows, 0, 1), *group = gw_rows_get(rows, 0, 4);
        if (fit(a->who.username, sizeof a->who.username, name ? name : "") != GW_OK ||
            fit(a->who.group, sizeof a->who.group, group ? group : "default") != GW_OK) {
            gw_rows_free(rows);
            GW_ERROR("user %lld: username or group longer than the gateway accepts; refused",
                     a->who.id);
            return GW_ETOOBIG;
        }
        gw_rows_int(rows, 0, 2, &v);
        a->who.role = (int)v;
        gw_rows_int(rows, 0, 3, &v);
        a->who.status = (int)v;
        a->who.auth_version = 1;
        gw_rows_int(rows, 0, 5, &a->who.auth_version);
        if (!a->pat[0]) {
            a->session_ok = gw_rows_get(rows, 0, 6) != NULL && a->who.auth_version == a->uv;
            snprintf(a->who.sid, sizeof a->who.sid, "%s", a->sid);
        }
    }
    gw_rows_free(rows);
    return GW_OK;
}

/* A refusal in the caller's shape: the management envelope, or for relay
 * routes OpenAI's error object with the AUTH_* code (a console can still
 * tell an expired session from the rest). */
static void deny(gw_req *r, int openai, int status, const char *code, const char *msg)
{
    if (!openai) {
        gw_api_deny(r, status, code, msg);
        return;
    }
    json_t *j = json_pack("{s:{s:o, s:s, s:s}}", "error", "message", gw_json_text(msg), "type",
                          "invalid_request_error", "code", code);
    if (j)
        gw_resp_json(r, status, j);
    json_decref(j);
}

static void looked_up(gw_req *r, int rc, void *ctx)
{
    struct auth_job *a = ctx;
    if (!gw_req_alive(r))
        goto out;
    if (a->optional) {
        int ok = rc == GW_OK && a->found && a->session_ok && a->who.status == 1 &&
                 (!a->claimed_user || a->claimed_user == a->who.id);
        a->cb(r, ok ? &a->who : NULL);
        goto out;
    }
    int o = a->openai;
    if (rc != GW_OK)
        deny(r, o, 500, "AUTH_INTERNAL_ERROR", "authentication backend unavailable");
    else if (!a->found)
        deny(r, o, 401, a->pat[0] ? "AUTH_UNAUTHORIZED" : "AUTH_USER_INVALID",
             a->pat[0] ? "invalid access token" : "user no longer exists");
    else if (!a->session_ok)
        deny(r, o, 401, "AUTH_SESSION_REVOKED", "session revoked or expired, sign in again");
    else if (a->who.status != 1)
        deny(r, o, 403, "AUTH_USER_DISABLED", "user is disabled");
    else if (a->claimed_user && a->claimed_user != a->who.id)
        deny(r, o, 401, "AUTH_UNAUTHORIZED", "New-Api-User does not match the signed-in user");
    else if (a->who.role < a->min_role)
        deny(r, o, 403, "AUTH_INSUFFICIENT_PRIVILEGE", "insufficient privilege");
    else if (o && a->pat[0]) /* the reference's Playground: "暂不支持使用 access token" */
        deny(r, o, 403, "access_denied",
             "an access token cannot be used here: sign in to the console (暂不支持使用 access "
             "token)");
    else
        a->cb(r, &a->who);
out:
    gw_free(a);
}

/* Verifies an access JWT; fills uid/sid/uv. Returns 0, or the reason. */
static const char *verify_jwt(const struct gw_config *cfg, const char *tok, struct auth_job *a,
                              int *expired)
{
    unsigned char key[32];
    jwt_t *j = NULL;
    gw_auth_key(cfg, "access", key);
    int rc = jwt_decode(&j, tok, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    if (rc != 0 || !j)
        return "invalid token";
    const char *why = NULL;
    const char *iss = jwt_get_grant(j, "iss"), *aud = jwt_get_grant(j, "aud");
    const char *use = jwt_get_grant(j, "token_use"), *sub = jwt_get_grant(j, "sub");
    const char *sid = jwt_get_grant(j, "sid");
    long long uid = 0;
    errno = 0;
    long exp = jwt_get_grant_int(j, "exp");
    int exp_ok = errno == 0;
    errno = 0;
    long uv = jwt_get_grant_int(j, "uv");
    int uv_ok = errno == 0;
    if (jwt_get_alg(j) != JWT_ALG_HS256) /* libjwt accepts HS384/512 with the same key */
        why = "invalid token algorithm";
    else if (!iss || strcmp(iss, JWT_ISS) != 0 || !aud || strcmp(aud, JWT_AUD) != 0 || !use ||
             strcmp(use, "access") != 0)
        why = "invalid token";
    else if (!sub || gw_str_to_ll(gw_str_c(sub), 1, (long long)1 << 53, &uid) != GW_OK || !sid ||
             strlen(sid) >= sizeof a->sid || !uv_ok)
        why = "invalid token claims";
    else if (!exp_ok || exp <= (long)time(NULL)) {
        why = "token expired";
        *expired = 1;
    } else {
        a->uid = uid;
        a->uv = uv;
        snprintf(a->sid, sizeof a->sid, "%s", sid);
    }
    jwt_free(j);
    return why;
}

/* Answers a failure, or for an optional check hands NULL to cb. */
static void refuse(gw_req *r, int optional, int openai, gw_authed_cb cb, int status,
                   const char *code, const char *msg)
{
    if (optional)
        cb(r, NULL);
    else
        deny(r, openai, status, code, msg);
}

static void authenticate(gw_req *r, int min_role, gw_authed_cb cb, int optional, int openai)
{
    const char *h = gw_req_header(r, "authorization");
    if (!h || !*h) {
        refuse(r, optional, openai, cb, 401, "AUTH_UNAUTHORIZED",
               "not signed in: send Authorization: Bearer <token>");
        return;
    }
    if (strncasecmp(h, "Bearer ", 7) == 0)
        h += 7;
    while (*h == ' ')
        h++;
    struct auth_job *a = gw_calloc(1, sizeof *a);
    if (!a) {
        refuse(r, optional, openai, cb, 500, "AUTH_INTERNAL_ERROR", "out of memory");
        return;
    }
    a->optional = optional;
    a->openai = openai;
    a->min_role = min_role;
    a->cb = cb;
    const char *claimed = gw_req_header(r, "new-api-user");
    if (claimed && *claimed &&
        gw_str_to_ll(gw_str_c(claimed), 1, (long long)1 << 53, &a->claimed_user) != GW_OK) {
        gw_free(a);
        refuse(r, optional, openai, cb, 401, "AUTH_UNAUTHORIZED", "malformed New-Api-User header");
        return;
    }
    const char *dot = strchr(h, '.');
    if (dot && strchr(dot + 1, '.')) {
        int expired = 0;
        const char *why = verify_jwt(r->worker->cfg, h, a, &expired);
        if (why) {
            gw_free(a);
            refuse(r, optional, openai, cb, 401,
                   expired ? "AUTH_TOKEN_EXPIRED" : "AUTH_UNAUTHORIZED", why);
            return;
        }
    } else {
        size_t n = strlen(h);
        if (n == 0 || n >= sizeof a->pat) {
            gw_free(a);
            refuse(r, optional, openai, cb, 401, "AUTH_UNAUTHORIZED", "invalid access token");
            return;
        }
        memcpy(a->pat, h, n + 1);
    }
    if (gw_api_sql(r, lookup, looked_up, a) != GW_OK) {
        gw_free(a);
        refuse(r, optional, openai, cb, 500, "AUTH_INTERNAL_ERROR", "cannot queue the lookup");
    }
}

void gw_api_auth(gw_req *r, int min_role, gw_authed_cb cb) { authenticate(r, min_role, cb, 0, 0); }

void gw_api_auth_relay(gw_req *r, int min_role, gw_authed_cb cb)
{
    authenticate(r, min_role, cb, 0, 1);
}

void gw_api_try_auth(gw_req *r, gw_authed_cb cb) { authenticate(r, 0, cb, 1, 0); }
