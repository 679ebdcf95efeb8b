/* Glue between the worker and the HTTP layer. */
#ifndef GW_HTTP_HTTP_H
#define GW_HTTP_HTTP_H

#include "gateway/http/server.h"

struct lws_protocols;

/* lws protocol table: [0] "gw" serves HTTP and WebSocket (lws_glue.c). */
const struct lws_protocols *gw_http_protocols(void);
/* Hands an accepted, non-blocking socket to lws. On error lws has closed it. */
int gw_http_adopt(struct gw_worker *w, int fd);
/* Middleware and routing for a request whose body is complete (http.c):
 * CORS preflight, route lookup, 404/405, static files and SPA fallback. */
void gw_http_dispatch(gw_req *r);
/* 1 for /api, /v1, /v1beta, /mj, /suno, /kling, /jimeng, /dashboard and below. */
int gw_http_is_api_path(const char *path);

#endif
