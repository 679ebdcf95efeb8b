/* Glue between the worker and the HTTP layer. */
#ifndef GW_HTTP_HTTP_H
#define GW_HTTP_HTTP_H

#include "gateway/http/router.h"
#include "gateway/http/server.h"

struct lws_protocols;
struct gw_ws_route;

/* What the layer above (gateway/app/) plugs into the HTTP layer: the route
 * tables and the guards. http/ applies them in this order: CORS preflight,
 * admit, route lookup, then guard (guarded routes) or handler (public ones),
 * else 404/405 in the caller's format or a static file. */
struct gw_http_app {
    const struct gw_route *routes; /* HTTP routes, in match order */
    size_t nroutes;
    const struct gw_ws_route *ws_routes; /* WebSocket upgrade paths */
    size_t nws_routes;
    /* Runs first for every routed request (not for preflights): calls
     * next(r) when r may proceed, else answers r itself. NULL: none. */
    void (*admit)(gw_req *r, gw_handler_cb next);
    /* Runs a guarded route (route->authed set): establishes the caller,
     * checks route->min_role, then calls route->authed; answers r itself
     * when the caller is refused. */
    void (*guard)(gw_req *r, const struct gw_route *route);
};

/* Sets the application for this process (the worker, before its loop
 * runs); app is borrowed and must outlive every request. Until it is set,
 * every request is 404/405 or a static file. */
void gw_http_set_app(const struct gw_http_app *app);
const struct gw_http_app *gw_http_app(void);

/* lws protocol table: [0] "gw" serves HTTP and WebSocket (lws_glue.c). */
const struct lws_protocols *gw_http_protocols(void);
/* Takes an accepted, non-blocking socket (accept.c): reads until the first
 * request head is complete, then hands it to lws, in the raw role for HTTP
 * or in lws's HTTP role for a WebSocket upgrade. On error the fd is closed. */
int gw_http_adopt(struct gw_worker *w, int fd);
/* Closes the sockets still waiting for their first request head (shutdown). */
void gw_http_close_pending(struct gw_worker *w);

/* Internal, between accept.c and lws_glue.c. The adopt functions take the
 * bytes already read (first is left empty) and the fd, which lws closes on
 * error. gw__http_lws_trips is 1 for a header name lws 4.1.6 misparses. */
int gw__http_adopt_raw(struct gw_worker *w, int fd, gw_buf *first);
int gw__http_adopt_ws(struct gw_worker *w, int fd, gw_buf *first);
int gw__http_lws_trips(gw_str name);
/* Middleware and routing for a request whose body is complete (http.c):
 * CORS preflight, route lookup, 404/405, static files and SPA fallback. */
void gw_http_dispatch(gw_req *r);
/* 1 for /api, /v1, /v1beta, /mj, /suno, /kling, /jimeng, /dashboard and below. */
int gw_http_is_api_path(const char *path);

#endif
