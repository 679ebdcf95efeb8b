/* The gateway's route tables: every HTTP and WebSocket endpoint is listed
 * here, in match order. */
#include "gateway/api/api.h"
#include "gateway/http/router.h"
#include "gateway/http/ws.h"

#define ALL (GW_M_GET | GW_M_POST | GW_M_PUT | GW_M_PATCH | GW_M_DELETE | GW_M_HEAD)

static const struct gw_route routes[] = {
    {GW_M_GET | GW_M_HEAD, "/api/status", gw_api_status},
    {GW_M_GET, "/api/setup", gw_api_setup_get},
    {GW_M_POST, "/api/setup", gw_api_setup_post},
    {GW_M_GET, "/__test/stats", gw_test_stats},
    {GW_M_GET, "/__test/stream", gw_test_stream},
    {GW_M_GET, "/__test/delay", gw_test_delay},
    {ALL, "/__test/echo", gw_test_echo},
};

const struct gw_route *gw_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

static const struct gw_ws_route ws_routes[] = {
    {"/v1/realtime", gw_ws_realtime_open, NULL, NULL},
    {"/__test/ws-echo", gw_test_ws_open, gw_test_ws_message, NULL},
};

const struct gw_ws_route *gw_ws_routes(size_t *n)
{
    *n = sizeof ws_routes / sizeof ws_routes[0];
    return ws_routes;
}
