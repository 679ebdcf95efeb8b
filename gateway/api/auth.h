/* Authentication of /api callers (reference Aug tree, docs/authentication.md).
 *
 * Accepted credentials, in the Authorization header ("Bearer x" or raw "x"):
 *  - a console access token: an HS256 JWT valid 15 minutes, signed with
 *    HMAC-SHA256(SESSION_SECRET, "new-api/auth/access/v1"); claims sub (user
 *    id), sid (session), uv (the user's auth_version), token_use "access",
 *    iss "new-api", aud "new-api-dashboard", exp/iat. The algorithm is pinned
 *    and exp is checked here (libjwt 1.10 checks neither);
 *  - a personal access token (users.access_token, GET /api/user/token).
 * Then the user's current row decides: deleted → 401, status 2 → 403, a
 * revoked or expired session or a changed auth_version → 401. A
 * New-Api-User header, when present (older consoles), must equal the
 * caller's id, else 401. Failures answer 401/403 with the Aug tree's codes
 * (AUTH_UNAUTHORIZED, AUTH_TOKEN_EXPIRED, AUTH_SESSION_REVOKED,
 * AUTH_USER_INVALID, AUTH_USER_DISABLED, AUTH_INSUFFICIENT_PRIVILEGE). */
#ifndef GW_API_AUTH_H
#define GW_API_AUTH_H

#include "gateway/core/config.h"
#include "gateway/http/router.h"

/* Roles (reference common/constants.go); routes name the least one. */
#define GW_ROLE_GUEST 0
#define GW_ROLE_USER 1
#define GW_ROLE_ADMIN 10
#define GW_ROLE_ROOT 100

#define GW_ACCESS_TTL_S (15 * 60)
#define GW_REFRESH_TTL_S (30 * 24 * 3600)

struct gw_caller {
    long long id;
    int role;
    int status;
    long long auth_version;
    char username[64];
    char group[65];
    char sid[65]; /* console session; "" for a personal access token */
};

/* Establishes the caller, checks min_role, then calls cb on the loop. On
 * failure it answers the request itself and cb is never called. */
void gw_api_auth(gw_req *r, int min_role, gw_authed_cb cb);

/* The same for relay routes the console calls with its session (POST
 * /pg/chat/completions): refusals in OpenAI's error shape
 * {"error":{"message","type":"invalid_request_error","code":"AUTH_..."}}
 * with the statuses above, and a personal access token is refused (403,
 * code access_denied), as the reference's playground refuses it. */
void gw_api_auth_relay(gw_req *r, int min_role, gw_authed_cb cb);

/* For endpoints that show more to signed-in callers: cb gets the caller,
 * or NULL when there is no valid credential (never answers itself). */
void gw_api_try_auth(gw_req *r, gw_authed_cb cb);

/* Derived keys (32 bytes) for a purpose: "access", "refresh". */
void gw_auth_key(const struct gw_config *cfg, const char *purpose, unsigned char out[32]);

/* Issues an access JWT; *jwt is malloc'd (free with free()). */
int gw_auth_issue_access(const struct gw_config *cfg, long long uid, const char *sid,
                         long long auth_version, long long now, char **jwt,
                         long long *expires_at);

#endif
