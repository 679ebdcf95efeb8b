/* WebSocket upgrade routing. Upgrades are accepted only for paths in the
 * WebSocket route table (struct gw_http_app, set by gateway/app/); others are refused with 404 before the
 * handshake completes. */
#ifndef GW_HTTP_WS_H
#define GW_HTTP_WS_H

#include <stddef.h>

struct lws;
struct gw_worker;
typedef struct gw_ws gw_ws;

struct gw_ws_route {
    const char *path;
    /* Called once the handshake is done; return non-zero to close. */
    int (*on_open)(gw_ws *c);
    /* One complete (reassembled) message. */
    int (*on_message)(gw_ws *c, const void *data, size_t len, int binary);
    void (*on_close)(gw_ws *c);
};

/* Queues a message (copied). GW_ECLOSED once closed, GW_ETOOBIG when the
 * peer is not reading and the queue is full. */
int gw_ws_send(gw_ws *c, const void *data, size_t len, int binary);
/* Sends a close frame with status and reason, then closes. */
void gw_ws_close(gw_ws *c, int status, const char *reason);
void *gw_ws_user(gw_ws *c);
/* The worker serving this connection. */
struct gw_worker *gw_ws_worker(gw_ws *c);
void gw_ws_set_user(gw_ws *c, void *user);

/* Called by lws_glue.c for the WebSocket reasons; slot is per-connection
 * storage for the gw_ws pointer. */
int gw_ws_callback(struct lws *wsi, int reason, void **slot, void *in, size_t len);

#endif
