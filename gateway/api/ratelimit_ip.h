/* Per-client-IP request limits of the reference (middleware/rate-limit.go,
 * new-api-behaviour.md §5), shared by every worker and replica through one
 * Redis fixed window each (scripts/ratelimit.lua, key tf:rl:ip:<mark>:<ip>):
 *
 *   GA  every request under /api, /dashboard   GLOBAL_API_RATE_LIMIT*  180 / 180 s
 *   CT  critical routes, on top of GA: login,    CRITICAL_RATE_LIMIT*     20 / 1200 s
 *       register, 2FA, password reset, OAuth, setup (POST), top-up,
 *       channel and token key reveal
 *   GW  console pages and files (everything     GLOBAL_WEB_RATE_LIMIT*   60 / 180 s
 *       that is not an API path)
 * The relay (/v1 ...) and the /__test hooks are not limited here.
 *
 * The client IP is the peer address. Only when the peer is listed in
 * TRUSTED_PROXIES is X-Forwarded-For read: from the right, the first
 * address that is not a trusted proxy is the client.
 *
 * A refusal is HTTP 429 with Retry-After (whole seconds, at least 1) and a
 * JSON body in the caller's format: {"success":false,"message":...} under
 * /api and /dashboard, the OpenAI error shape elsewhere. Redis trouble fails
 * open: the request proceeds and a warning is logged (at most once a
 * second), as the reference keeps serving when its limiter store fails. */
#ifndef GW_API_RATELIMIT_IP_H
#define GW_API_RATELIMIT_IP_H

#include "gateway/http/server.h"

typedef void (*gw_ratelimit_next_cb)(gw_req *r);

/* Checks the limits that apply to r and calls next(r) when it may proceed:
 * at once when no limit applies, else from the Redis reply (if the client
 * is still there). When refused, answers 429 itself and never calls next. */
void gw_ratelimit_ip(gw_req *r, gw_ratelimit_next_cb next);

/* The client address used for limiting (an arena copy; "" if unknown). */
const char *gw_client_ip(gw_req *r);

#endif
