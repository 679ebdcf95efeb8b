/* The application layer, above http/, api/ and relay/: the route tables and
 * the guards every request passes (per-IP limits, then authentication for
 * guarded routes). The HTTP layer knows none of it; the worker hands it
 * gw_app() with gw_http_set_app() before serving. */
#ifndef GW_APP_APP_H
#define GW_APP_APP_H

#include "gateway/http/http.h"

/* The gateway's routes and guards (routes.c); static, never freed. */
const struct gw_http_app *gw_app(void);

#endif
