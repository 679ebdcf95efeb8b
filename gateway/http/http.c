/* Middleware and dispatch: CORS, routing, the transport-level error shapes,
 * and the static-file fallback. The request id and access log are applied in
 * lws_glue.c because they wrap every response, routed or not. */
#include <stdio.h>
#include <string.h>
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/http/http.h"
#include "gateway/http/router.h"
#include "gateway/http/static.h"

static const struct gw_http_app no_app;
static const struct gw_http_app *app = &no_app;

void gw_http_set_app(const struct gw_http_app *a)
{
    app = a ? a : &no_app;
}

const struct gw_http_app *gw_http_app(void)
{
    return app;
}

/* Paths that never fall back to the console's index.html. Only the billing
 * part of /dashboard is an API (the OpenAI-style /dashboard/billing/...): the
 * console's own /dashboard page must load on a reload or a deep link. */
static const char *const api_prefixes[] = {"/api",   "/v1",   "/v1beta", "/mj",
                                           "/suno",  "/kling", "/jimeng", "/dashboard/billing"};

static int has_prefix_segment(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int gw_http_is_api_path(const char *path)
{
    for (size_t i = 0; i < sizeof api_prefixes / sizeof api_prefixes[0]; i++)
        if (has_prefix_segment(path, api_prefixes[i]))
            return 1;
    return 0;
}

int gw_resp_json(gw_req *r, int status, const json_t *j)
{
    gw_buf b;
    gw_buf_init(&b, (size_t)1 << 30);
    if (gw_json_dump_buf(j, &b, JSON_COMPACT | JSON_REAL_PRECISION(15)) != GW_OK) {
        gw_buf_free(&b);
        return gw_resp_send(r, 500, "application/json",
                            "{\"success\":false,\"message\":\"response encoding failed\"}", 54);
    }
    int rc = gw_resp_send(r, status, "application/json", b.base, b.len);
    gw_buf_free(&b);
    return rc;
}

int gw_resp_api_error(gw_req *r, int status, const char *msg)
{
    json_t *j = json_pack("{s:b, s:o}", "success", 0, "message", gw_json_text(msg));
    int rc = j ? gw_resp_json(r, status, j) : GW_ENOMEM;
    json_decref(j);
    return rc;
}

int gw_resp_openai_error(gw_req *r, int status, const char *type, const char *msg)
{
    char full[512];
    snprintf(full, sizeof full, "%s (request id: %s)", msg, r->rid);
    json_t *j = json_pack("{s:{s:o, s:s, s:s, s:n}}", "error", "message", gw_json_text(full),
                          "type", type, "param", "", "code");
    int rc = j ? gw_resp_json(r, status, j) : GW_ENOMEM;
    json_decref(j);
    return rc;
}

/* 404/405 in the caller's API format. */
static void not_routed(gw_req *r, int status)
{
    const char *what = status == 405 ? "method not allowed" : "not found";
    if (has_prefix_segment(r->path, "/api") || has_prefix_segment(r->path, "/dashboard/billing")) {
        gw_resp_api_error(r, status, what);
        return;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "Invalid URL (%s %.*s)", r->method_name,
             (int)gw_str_utf8_cut(gw_str_c(r->path), 200), r->path);
    gw_resp_openai_error(r, status, "invalid_request_error", msg);
}

static void preflight(gw_req *r)
{
    const char *req_hdrs = gw_req_header(r, "access-control-request-headers");
    gw_resp_header(r, "access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    gw_resp_header(r, "access-control-allow-headers", req_hdrs && *req_hdrs ? req_hdrs : "*");
    gw_resp_header(r, "access-control-max-age", "43200");
    gw_resp_send(r, 204, NULL, NULL, 0);
}

static void route_request(gw_req *r)
{
    const struct gw_route *route = NULL;
    int rc = gw_router_match(app->routes, app->nroutes, r->method, r->path, &route, r->params,
                             &r->nparams);
    if (rc == GW_OK) {
        r->route = route;
        if (route->authed)
            app->guard(r, route);
        else
            route->handler(r);
        return;
    }
    if (gw_http_is_api_path(r->path)) {
        not_routed(r, rc == GW_ENOTSUP ? 405 : 404);
        return;
    }
    if (r->method & (GW_M_GET | GW_M_HEAD)) {
        gw_static_serve(r);
        return;
    }
    not_routed(r, 405);
}

void gw_http_dispatch(gw_req *r)
{
    if (r->method == GW_M_OPTIONS && r->is_cors) {
        preflight(r);
        return;
    }
    if (app->admit)
        app->admit(r, route_request);
    else
        route_request(r);
}
