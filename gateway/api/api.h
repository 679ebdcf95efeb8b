/* Handlers of the management API and gateway endpoints (one file per
 * resource). Each is a gw_handler_cb: it answers r now or later. */
#ifndef GW_API_API_H
#define GW_API_API_H

#include <stddef.h>
#include "gateway/http/server.h"
#include "gateway/http/ws.h"

/* status.c */
void gw_api_status(gw_req *r);

/* setup.c */
void gw_api_setup_get(gw_req *r);
void gw_api_setup_post(gw_req *r);

/* realtime.c: the Realtime WebSocket API is not built yet; says so. */
int gw_ws_realtime_open(gw_ws *c);

/* test_hooks.c: only when GW_TEST_HOOKS is on; 404 otherwise. */
void gw_test_stats(gw_req *r);
void gw_test_stream(gw_req *r);
void gw_test_delay(gw_req *r);
void gw_test_echo(gw_req *r);
int gw_test_ws_open(gw_ws *c);
int gw_test_ws_message(gw_ws *c, const void *data, size_t len, int binary);

#endif
