/* Route table lookup with path parameters.
 *
 * Patterns are literal segments, ":name" (exactly one non-empty segment) and a
 * trailing "*" (the rest of the path, possibly empty). Tables are searched in
 * order, so list specific routes before general ones. Matching is allocation
 * free: parameters are views into the path. */
#ifndef GW_HTTP_ROUTER_H
#define GW_HTTP_ROUTER_H

#include "gateway/http/server.h"

typedef void (*gw_handler_cb)(gw_req *r);
struct gw_caller;
typedef void (*gw_authed_cb)(gw_req *r, const struct gw_caller *who);

/* A route either has a plain handler (public), or an authed handler that
 * runs only after the application's guard (struct gw_http_app, http.h)
 * established a caller with at least min_role. The guard's argument is part
 * of the table, so tests can walk it; the roles and struct gw_caller are
 * defined above this layer (gateway/api/auth.h). */
struct gw_route {
    int methods;              /* mask of enum gw_method */
    const char *pattern;
    gw_handler_cb handler;    /* public routes */
    int min_role;             /* authed routes: the least role (GW_ROLE_*) */
    gw_authed_cb authed;
};

/* Returns GW_OK and the route, GW_ENOTFOUND when no pattern matches the path,
 * or GW_ENOTSUP when a pattern matches but not for this method (405).
 * params[] receives up to GW_MAX_PARAMS views into path. */
int gw_router_match(const struct gw_route *routes, size_t n, int method, const char *path,
                    const struct gw_route **out, gw_str *params, int *nparams);

#endif
